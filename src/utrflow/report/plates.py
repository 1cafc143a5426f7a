"""The report's "Plates and labels" section: where wells were lost, how each plate looks, and the
replicate noise ceiling the model is measured against."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from utrflow.geometry import FORMATS, normalize_well
from utrflow.labelled import QC_REASONS
from utrflow.report import wells as report_wells
from utrflow.report.figures import PALETTE, SERIES, Png, corner_note, figure_to_data_uri, style
from utrflow.report.wells import QC_COLORS

_MIXED_SHARE_WARNING = 0.2


def plate_grid(wells: pd.DataFrame, column: str, plate_format: int) -> np.ndarray:
    """One plate's values of `column` as a rows x columns array (NaN where a well is absent)."""
    rows, cols = FORMATS[plate_format]
    grid = np.full((rows, cols), np.nan)
    for well, value in zip(wells["well"], wells[column], strict=True):
        name = normalize_well(str(well), plate_format)
        if name is not None and pd.notna(value):
            grid[ord(name[0]) - ord("A"), int(name[1:]) - 1] = float(value)
    return grid


def plate_format_of(table: pd.DataFrame) -> int:
    """96 unless a well lies outside A1..H12."""
    return 96 if all(normalize_well(str(w), 96) for w in table["well"]) else 384


def qc_bars(table: pd.DataFrame) -> Png:
    """Wells per QC outcome, per plate stacked: where wells were lost."""
    order = [q for q in ("pass", *QC_REASONS) if (table["qc"] == q).any()]
    counts = table.groupby(["plate", "qc"]).size().unstack(fill_value=0)[order]
    fig, ax = plt.subplots(figsize=(7.0, 0.35 * len(counts) + 1.6))
    left = np.zeros(len(counts))
    for q in order:
        ax.barh(counts.index.astype(str), counts[q], left=left, color=QC_COLORS[q], label=q,
                height=0.7)  # fmt: skip
        left += counts[q].to_numpy()
    ax.invert_yaxis()
    style(ax, "Wells per QC outcome and plate", "wells", "")
    ax.legend(title="QC outcome", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure_to_data_uri(fig)


def replicate_pairs(table: pd.DataFrame) -> pd.DataFrame:
    """Every pair of passing wells holding the same sequence (first, second label)."""
    passing = table[(table["qc"] == "pass") & table["label"].notna()]
    pairs = []
    for _, labels in passing.groupby("sequence")["label"]:
        values = labels.to_numpy()
        for i in range(len(values)):
            for j in range(i + 1, len(values)):
                pairs.append((values[i], values[j]))
    return pd.DataFrame(pairs, columns=["first", "second"])


def replicate_scatter(table: pd.DataFrame, ceiling: dict[str, Any]) -> Png | None:
    """One replicate well's label against another's: the spread no model can explain."""
    pairs = replicate_pairs(table)
    if pairs.empty:
        return None
    fig, ax = plt.subplots(figsize=(4.8, 4.6))
    ax.scatter(pairs["first"], pairs["second"], s=12, alpha=0.6, color=PALETTE["model"], lw=0)
    low = float(pairs.min().min())
    high = float(pairs.max().max())
    ax.plot([low, high], [low, high], color="#2d3748", lw=1, ls="--")
    if ceiling.get("r2") is not None:
        interval = ceiling.get("ci95")
        extra = f"\n95 % CI {interval[0]:.2f}–{interval[1]:.2f}" if interval else ""
        corner_note(ax, f"{len(pairs)} pairs\nceiling r² = {ceiling['r2']:.3f}{extra}")
    style(ax, "Replicate wells", "label of one well (log2)", "label of another well (log2)")
    ax.set_aspect("equal", adjustable="datalim")
    return figure_to_data_uri(fig)


STATUS_COLORS = {
    "assigned": "#2f855a",
    "one_end": "#f6ad55",
    "no_barcode": "#a0aec0",
    "ambiguous": "#ed64a6",
    "pair_not_in_layout": "#805ad5",
    "chimera": "#e53e3e",
    "too_short": "#4a5568",
    # dorado duplex: a simplex read whose duplex read stands for the molecule
    "duplex_parent": "#90cdf4",
}
OTHER_STATUS = "#2d3748"  # a status this report does not know yet still gets its bar


def funnel_counts(funnels: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Reads per status and read group, for every status any funnel counts (the known ones in
    STATUS_COLORS order, then any other): the bars add up to every read of the group."""
    seen = {s for f in funnels for s, n in f["status"].items() if n}
    order = [s for s in STATUS_COLORS if s in seen] + sorted(seen - set(STATUS_COLORS))
    return {s: np.array([f["status"].get(s, 0) for f in funnels], dtype=float) for s in order}


def funnel_bars(funnels: list[dict[str, Any]]) -> Png:
    """Where every read went, per read group: the statuses of the demultiplexing funnel."""
    fig, ax = plt.subplots(figsize=(7.0, 0.45 * len(funnels) + 1.7))
    names = [f["group"] for f in funnels]
    left = np.zeros(len(funnels))
    for status, values in funnel_counts(funnels).items():
        color = STATUS_COLORS.get(status, OTHER_STATUS)
        ax.barh(names, values, left=left, color=color, label=status, height=0.6)
        left += values
    ax.invert_yaxis()
    style(ax, "Demultiplexing funnel: every read's status", "reads", "")
    ax.legend(title="read status", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure_to_data_uri(fig)


def _merged_histograms(funnels: list[dict[str, Any]], key: str) -> dict[str, dict[int, int]]:
    """{read group or plate: {value: reads}} of one read-QC histogram, over every funnel."""
    merged: dict[str, dict[int, int]] = {}
    for funnel in funnels:
        for name, histogram in funnel.get("read_qc", {}).get(key, {}).items():
            target = merged.setdefault(name, {})
            for value, n in histogram.items():
                target[int(value)] = target.get(int(value), 0) + int(n)
    return merged


def read_histograms(funnels: list[dict[str, Any]]) -> Png | None:
    """Read length and mean quality per plate (and of the reads no plate claimed): one line per
    plate, each named, up to eight plates; beyond that one row per plate in a heat map, so every
    plate keeps its name."""
    lengths = _merged_histograms(funnels, "lengths")
    if not lengths:
        return None
    qualities = _merged_histograms(funnels, "mean_quality")
    names = sorted(lengths, key=lambda k: (k == "unassigned", k))
    many = len(names) > len(SERIES)
    height = max(3.6, 0.22 * len(names) + 1.4) if many else 3.6
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, height))
    for ax, data, xlabel in (
        (left, lengths, "read length (nt)"),
        (right, qualities, "mean read quality (Phred)"),
    ):
        title = "Reads per " + ("length bin" if ax is left else "quality")
        if many:
            _histogram_rows(ax, data, names, xlabel, title, show_names=ax is left)
            continue
        for i, key in enumerate(names):
            xs = sorted(data.get(key, {}))
            ax.plot(xs, [data[key][x] for x in xs], lw=1.4, label=key, drawstyle="steps-mid",
                    color="#a0aec0" if key == "unassigned" else SERIES[i % len(SERIES)],
                    ls="--" if key == "unassigned" else "-")  # fmt: skip
        ax.set_yscale("log")
        style(ax, title, xlabel, "reads")
    if not many:
        right.legend(title="plate", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return figure_to_data_uri(fig)


def _histogram_rows(
    ax: Any, data: dict[str, dict[int, int]], names: list[str], xlabel: str, title: str,
    show_names: bool,
) -> None:  # fmt: skip
    """One row per plate: the share of its reads in each bin (a heat map)."""
    values = sorted({v for name in names for v in data.get(name, {})})
    if not values:
        ax.axis("off")
        return
    grid = np.zeros((len(names), len(values)))
    for i, name in enumerate(names):
        total = sum(data.get(name, {}).values()) or 1
        for j, value in enumerate(values):
            grid[i, j] = data.get(name, {}).get(value, 0) / total
    extent = (values[0], values[-1], len(names) - 0.5, -0.5)
    image = ax.imshow(grid, aspect="auto", cmap="Blues", extent=extent, interpolation="nearest")
    ax.set_yticks(range(len(names)), names if show_names else [""] * len(names))
    ax.grid(False)
    plt.colorbar(image, ax=ax, label="share of the plate's reads", pad=0.01)
    style(ax, title, xlabel, "plate" if show_names else "")


def consensus_figure(table: pd.DataFrame) -> Png | None:
    """Well calls: purity of the wells with reads, and how their sequences matched the library."""
    samples = table[(table.get("role", "sample") == "sample") & (table["n_reads"].fillna(0) > 0)]
    if samples.empty or samples["purity"].isna().all():
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.4, 3.4))
    left.hist(samples["purity"].dropna(), bins=np.linspace(0, 1, 21), color=PALETTE["model"])
    style(left, "Purity of sample wells", "top allele's share of reads", "wells")
    matches = samples["match"].fillna("").replace("", "no library / no call").value_counts()
    right.barh(matches.index.astype(str), matches.to_numpy(), color="#4a5568", height=0.6)
    right.invert_yaxis()
    style(right, "Library match of the calls", "wells", "")
    fig.tight_layout()
    return figure_to_data_uri(fig)


def table_warnings(
    table: pd.DataFrame, plate_qc: pd.DataFrame | None, summary: dict[str, Any] | None
) -> list[str]:
    """Plain-language warnings about the plates and labels."""
    out = []
    if plate_qc is not None:
        for plate, flag in zip(plate_qc["plate"], plate_qc["flag"].fillna(""), strict=True):
            if flag:
                out.append(
                    f"Plate {plate}: {flag}. Check its reader settings, or set "
                    "fluorescence.plate_centering: median."
                )
        for plate, reads in table.groupby("plate")["n_reads"]:
            if not reads.fillna(0).any():  # a valid but empty reads file, or no barcode found
                out.append(
                    f"Plate {plate!s}: no reads at all. Its reads file is empty, or none of its "
                    "reads carried its barcodes."
                )
    samples = table[table["role"] == "sample"] if "role" in table else table
    for plate, wells in samples.groupby("plate"):
        share = float((wells["qc"] == "mixed").mean())
        if share > _MIXED_SHARE_WARNING:
            out.append(
                f"Plate {plate!s}: {share:.0%} of its sample wells hold two sequences (mixed): "
                "pick single colonies, or check for cross-contamination."
            )
    ceiling = (summary or {}).get("noise_ceiling", {})
    if summary is not None and ceiling.get("r2") is None:
        out.append(
            f"No replicate noise ceiling: {ceiling.get('reason', 'too few replicate wells')}. "
            "Pick some colonies twice to learn how reproducible the measurement is."
        )
    out += _negative_control_warning((summary or {}).get("negative_controls"))
    return out


def _negative_control_warning(negatives: dict[str, Any] | None) -> list[str]:
    """Reads in negative-control wells (no colony behind their barcodes) came from other wells:
    cross-well contamination or barcode misreads, which every sample well carries too."""
    if not negatives or not negatives.get("reads"):
        return []
    share = negatives.get("max_share_of_sample")
    against = f" (the most, {share:.0%} of a median sample well's reads)" if share else ""
    return [
        f"Negative controls: {negatives['wells_with_reads']} of {negatives['wells']} wells hold "
        f"reads, {negatives['reads']:,} in all{against}: "
        f"{', '.join(negatives['wells_read'][:8])}. Each sample well may carry as much from "
        "its neighbours."
    ]


def _histogram_text(histogram: dict[str, int]) -> str:
    """'0: 812 · 1: 95 · 4+: 3' from {distance: reads}: the last value counts the rest."""
    return " · ".join(f"{d}: {n:,}" for d, n in histogram.items()) or "–"


def barcode_rows(funnels: list[dict[str, Any]]) -> list[list[str]]:
    """Per read group and end: the barcode set, the thresholds chosen for it, and the best and
    runner-up distances the reads showed, so a user can see whether the thresholds fit."""
    rows = []
    for funnel in funnels:
        for end, fit in funnel.get("barcodes", {}).items():
            shape = f"{fit['n']} × {fit['length']} nt"
            if fit["constant_5"] or fit["constant_3"]:
                shape += f" (+ constant {len(fit['constant_5'])}/{len(fit['constant_3'])} nt)"
            rows.append(
                [
                    funnel["group"],
                    end,
                    shape,
                    report_wells.cell(fit["min_distance"]),
                    f"{fit['max_distance']} ({fit['chosen']})",
                    str(fit["margin"]),
                    _histogram_text(fit.get("best", {})),
                    _histogram_text(fit.get("second", {})),
                ]
            )
    return rows


def length_rows(funnels: list[dict[str, Any]]) -> list[list[str]]:
    """Per read group and read-length bin: reads, and each status's share (where yield goes)."""
    rows = []
    for funnel in funnels:
        for name, block in funnel.get("status_by_length", {}).items():
            shares = [f"{100 * block['share'].get(s, 0.0):.1f}" for s in STATUS_COLORS]
            rows.append([funnel["group"], name, f"{block['reads']:,}", *shares])
    return rows


def call_evidence(table: pd.DataFrame) -> dict[str, Any]:
    """Reads behind the well calls, said apart: reads assigned (`n_reads`) and reads that gave
    the sequence (`n_regions`, a region found between the flanks), over sample wells with reads;
    `short` counts `low_reads` wells with more reads assigned than regions."""
    if "n_regions" not in table:
        return {}
    samples = table[(table.get("role", "sample") == "sample") & (table["n_reads"].fillna(0) > 0)]
    reads = pd.to_numeric(samples["n_reads"])
    regions = pd.to_numeric(samples["n_regions"])
    low = samples["qc"] == "low_reads"
    return {
        "wells": len(samples),
        "median_reads": float(reads.median()) if len(samples) else None,
        "median_regions": float(regions.median()) if len(samples) else None,
        "short": int((low & (reads > regions)).sum()),
        "unproven": int((samples["qc"] == "purity_unproven").sum()),
        "unconfirmed": int((samples["qc"] == "variant_unconfirmed").sum()),
        "unsettled": int((samples["qc"] == "sequence_unconfirmed").sum()),
    }


def plate_tables(plate_qc: pd.DataFrame) -> list[dict[str, Any]]:
    """The per-plate QC in two tables narrow enough for a laptop: wells per outcome (and the
    flag), then what each plate's reader file gave."""
    outcomes = ["plate", "wells", "pass"]
    outcomes += [q for q in QC_REASONS if q in plate_qc and plate_qc[q].sum() > 0]
    reader = ["plate", "median_reads", "median_regions", "median_label", "blank_signal"]
    reader += ["blank_normalizer", "instrument", "signal_read", "normalizer_read"]
    tables = []
    for title, columns in (
        ("Wells per QC outcome", [*outcomes, "flag"]),
        ("Reads and reader per plate", reader),
    ):
        present = [c for c in columns if c in plate_qc]
        tables.append(
            {
                "title": title,
                "columns": [c.replace("_", " ") for c in present],
                "rows": [
                    [report_wells.cell(v) for v in row]
                    for row in plate_qc[present].itertuples(index=False)
                ],
            }
        )
    return tables


def section(
    table: pd.DataFrame,
    plate_qc: pd.DataFrame | None,
    summary: dict[str, Any] | None,
    funnels: list[dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """What the template's plates section shows; None when the table did not come from plates."""
    if plate_qc is None or summary is None:
        return None
    return {
        "qc_counts": summary.get("qc", {}),
        "evidence": call_evidence(table),
        "ceiling": summary.get("noise_ceiling", {}),
        "plate_tables": plate_tables(plate_qc),
        "maps": report_wells.plate_maps(table, plate_format_of(table)),
        "funnels": [
            {
                "group": f["group"],
                "reads": f["reads"],
                "assigned": f["status"].get("assigned", 0),
                "share": f["status_fraction"].get("assigned", 0.0),
                "clipped": f.get("clipped_assigned", 0),
                "tandem": f.get("tandem_inserts", 0),
            }
            for f in funnels or []
        ],
        "barcode_rows": barcode_rows(funnels or []),
        "length_rows": length_rows(funnels or []),
        "statuses": [s.replace("_", " ") for s in STATUS_COLORS],
        "figures": {
            "funnel": funnel_bars(funnels) if funnels else None,
            "reads": read_histograms(funnels or []),
            "consensus": consensus_figure(table),
            "qc": qc_bars(table),
            "replicates": replicate_scatter(table, summary.get("noise_ceiling", {})),
        },
    }
