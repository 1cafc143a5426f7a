"""Every well findable: one table of every well (sortable and filterable in the page by the
report's inline script), the wells per reason, and plate maps of every plate drawn as HTML small
multiples, one colour scale per quantity across all plates, each well's reasons on hover."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd

from utrflow.geometry import FORMATS, normalize_well
from utrflow.labelled import QC_REASONS

QC_COLORS = {
    "pass": "#2f855a",
    "blank": "#cbd5e0",
    "calibrant": "#e2e8f0",
    "control": "#a0aec0",
    "negative": "#718096",
    "no_reads": "#4a5568",
    "low_reads": "#f6ad55",
    "mixed": "#805ad5",
    "variant_unconfirmed": "#fbb6ce",
    "sequence_unconfirmed": "#fed7e2",
    "purity_unproven": "#b794f4",
    "unmatched": "#e53e3e",
    "ambiguous": "#ed64a6",
    "no_fluorescence": "#90cdf4",
    "saturated": "#ecc94b",
    "low_od": "#975a16",
    "nonpositive": "#319795",
}
SEQUENCES = {"sequence", "allele2"}  # long words: they break anywhere
NUMERIC = {"n_reads", "n_regions", "purity", "signal", "label", "allele2_reads"}
NUMERIC |= {"artefact_regions", "tandem_inserts"}
ABSENT = "#ffffff"  # a well of the plate with no row
# The well table's columns: (column of labelled.tsv, heading); absent columns are left out.
COLUMNS = [
    ("plate", "plate"),
    ("well", "well"),
    ("role", "role"),
    ("sequence", "sequence"),
    ("variant_id", "variant"),
    ("match", "match"),
    ("n_reads", "reads"),
    ("n_regions", "regions"),
    ("purity", "purity"),
    ("allele2", "allele 2"),
    ("allele2_reads", "allele 2 reads"),
    ("called_by", "called by"),
    ("artefact_regions", "artefacts"),
    ("tandem_inserts", "tandem"),
    ("signal", "signal"),
    ("label", "label (log2)"),
    ("qc", "qc"),
    ("qc_detail", "every reason"),
]


@dataclass(frozen=True)
class Quantity:
    """One quantity the plate maps colour by, with one scale for all plates."""

    column: str
    title: str
    cmap: str
    log10: bool


QUANTITIES = (
    Quantity("n_reads", "reads per well (log10)", "viridis", True),
    Quantity("signal", "signal / OD (log10)", "magma", True),
    Quantity("label", "label (log2 expression)", "RdYlBu_r", False),
)


def reasons_of(row: pd.Series) -> list[str]:
    """Every reason a well is out: `qc_detail` split, else its `qc` (none for a passing well)."""
    detail = str(row.get("qc_detail", "") or "")
    found = [r for r in re.split(r"[;,|\s]+", detail) if r and r != "nan"]
    qc = str(row.get("qc", ""))
    if qc != "pass" and qc not in found:
        found.insert(0, qc)
    return found


def cell(value: object) -> str:
    """A table cell: integers as they are, other numbers to 4 significant digits, a dash if none."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return "–"
    if isinstance(value, (int, np.integer)) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{value:.0f}" if abs(float(value)) >= 1000 else f"{value:.4g}"
    return str(value)


def reason_counts(table: pd.DataFrame) -> list[tuple[str, int]]:
    """(reason, wells) for passing wells and every reason any well has, a well counted under
    each of its reasons; in QC_REASONS order."""
    counts: dict[str, int] = {"pass": int((table["qc"] == "pass").sum())}
    for _, row in table.iterrows():
        for reason in reasons_of(row):
            counts[reason] = counts.get(reason, 0) + 1
    order = {r: i for i, r in enumerate(("pass", *QC_REASONS))}
    return sorted(((r, n) for r, n in counts.items() if n), key=lambda item: order.get(item[0], 99))


COUNTED_ONLY_WHEN_SEEN = {"artefact_regions", "tandem_inserts"}


def _all_zero(table: pd.DataFrame, column: str) -> bool:
    """A count most runs never see (artefact regions, tandem inserts) gets no column of zeros:
    the table stays narrow enough for a laptop screen."""
    if column not in COUNTED_ONLY_WHEN_SEEN:
        return False
    return not pd.to_numeric(table[column], errors="coerce").fillna(0).any()


def well_table(table: pd.DataFrame) -> dict[str, Any]:
    """Every well as table rows (with its reasons for the filter), and the counts per reason."""
    columns = [(c, h) for c, h in COLUMNS if c in table and not _all_zero(table, c)]
    rows = []
    for _, row in table.iterrows():
        reasons = reasons_of(row)
        cells = [  # a line may break after an underscore or between reasons
            cell(row[c]).replace("_", "_\u200b").replace(";", "; ") for c, _ in columns
        ]
        rows.append(
            {
                "cells": cells,
                "reasons": " ".join(reasons or ["pass"]),
                "key": f"{row['plate']}:{row['well']}",
            }
        )
    return {
        "headings": [h for _, h in columns],
        "numeric": [c in NUMERIC for c, _ in columns],
        "kinds": ["seq" if c in SEQUENCES else "" if c in NUMERIC else "t" for c, _ in columns],
        "rows": rows,
        "counts": reason_counts(table),
    }


def _hex(rgba: Any) -> str:
    return mpl.colors.to_hex(rgba)


def colour_scale(values: pd.Series, quantity: Quantity) -> tuple[pd.Series, dict[str, Any]]:
    """Each value's colour on one scale for all plates (2nd to 98th percentile), and the scale's
    legend: its CSS gradient and end values."""
    numbers = pd.to_numeric(values, errors="coerce")
    if quantity.log10:
        numbers = np.log10(numbers.where(numbers > 0))
    finite = numbers.dropna()
    low, high = (
        (float(np.percentile(finite, 2)), float(np.percentile(finite, 98)))
        if len(finite)
        else (0.0, 1.0)
    )
    high = high if high > low else low + 1.0
    cmap = mpl.colormaps[quantity.cmap]
    scaled = ((numbers - low) / (high - low)).clip(0, 1)
    colours = scaled.map(lambda v: ABSENT if pd.isna(v) else _hex(cmap(float(v))))
    stops = ", ".join(_hex(cmap(x)) for x in np.linspace(0, 1, 6))
    legend = {
        "title": quantity.title,
        "gradient": f"linear-gradient(to right, {stops})",
        "low": f"{low:.3g}",
        "high": f"{high:.3g}",
    }
    return colours, legend


def _title(row: pd.Series, reasons: list[str]) -> str:
    """A well's hover text: where it is, what it holds, and every reason it is out."""
    parts = [f"{row['plate']} {row['well']}"]
    if str(row.get("variant_id", "") or "") not in ("", "nan"):
        parts.append(f"variant {row['variant_id']}")
    parts.append("qc: pass" if not reasons else "qc: " + ", ".join(reasons))
    parts.append(f"reads {cell(row.get('n_reads'))}")
    parts.append(f"label {cell(row.get('label'))}")
    return " · ".join(parts)


def plate_maps(table: pd.DataFrame, plate_format: int) -> dict[str, Any]:
    """Every plate as a grid of wells: per well its place, hover text and one colour per view
    (QC outcome, then each quantity on its one scale across plates)."""
    rows_n, cols_n = FORMATS[plate_format]
    views: list[dict[str, Any]] = [{"key": "qc", "title": "QC outcome", "legend": None}]
    colours = {"qc": table["qc"].map(lambda q: QC_COLORS.get(str(q), "#718096"))}
    for quantity in QUANTITIES:
        if quantity.column not in table:
            continue
        colours[quantity.column], legend = colour_scale(table[quantity.column], quantity)
        views.append({"key": quantity.column, "title": quantity.title, "legend": legend})
    plates = []
    for plate, wells in table.groupby(table["plate"].astype(str), sort=True):
        grid: list[list[dict[str, Any] | None]] = [[None] * cols_n for _ in range(rows_n)]
        for index, row in zip(wells.index, (r for _, r in wells.iterrows()), strict=True):
            name = normalize_well(str(row["well"]), plate_format)
            if name is None:
                continue
            reasons = reasons_of(row)
            grid[ord(name[0]) - ord("A")][int(name[1:]) - 1] = {
                "key": f"{row['plate']}:{row['well']}",
                "title": _title(row, reasons),
                "fail": row["qc"] != "pass",
                "colours": [colours[v["key"]][index] for v in views],
            }
        plates.append({"name": plate, "grid": grid})
    return {
        "plates": plates,
        "views": views,
        "rows": [chr(ord("A") + r) for r in range(rows_n)],
        "columns": list(range(1, cols_n + 1)),
        "qc_legend": [(q, QC_COLORS[q]) for q in ("pass", *QC_REASONS) if (table["qc"] == q).any()],
    }
