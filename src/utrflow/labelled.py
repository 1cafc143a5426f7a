"""The labelled table: its column contract, and reading a user's own (source: table) into it.

Lab tables come from spreadsheets: byte-order marks, stray spaces, lowercase bases and Windows
line ends are normalized; anything that would silently corrupt the labels stops the run with
one line naming the file, the row and the problem.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from utrflow import io
from utrflow.errors import InputError
from utrflow.io import read_text_table
from utrflow.model.settings import ModelSettings
from utrflow.sequences import invalid_characters, normalize

log = logging.getLogger(__name__)

# The labelled table, one row per well (docs: README, What comes out).
LABELLED_COLUMNS = [
    "plate",
    "well",
    "sequence",
    "variant_id",
    "match",
    "n_reads",
    "n_regions",
    "purity",
    "signal",
    "label",
    "qc",
]  # the output contract: the workflow's, the simulated and the imported tables all follow it
# after the contract: the well's role, every QC reason, its differences from the design, and
# its second allele (the consensus table's minor_sequence) with the reads nearer that allele,
# and how the consensus was called (`posterior` on base qualities, or `counting`); then the
# regions left out of the call as artefacts and those taken from tandem inserts
LINK_COLUMNS = [
    *LABELLED_COLUMNS, "role", "qc_detail", "differences", "allele2", "allele2_reads",
    "called_by", "artefact_regions", "tandem_inserts",
]  # fmt: skip
# First reason wins `qc`; the order runs from what the well is, to its sequence, to its reading.
QC_REASONS = (
    "blank",
    "calibrant",
    "control",
    "negative",
    "no_reads",
    "low_reads",
    "mixed",
    "variant_unconfirmed",
    "sequence_unconfirmed",
    "purity_unproven",
    "unmatched",
    "ambiguous",
    "no_fluorescence",
    "saturated",
    "low_od",
    "nonpositive",
    "blank_unusable",
)

RESERVED = {"sequence", "label", "split", "id", "variant_id", "plate", "well"}
SPLITS = {"train", "validation", "test"}


def _separator(path: Path) -> str:
    """Tab for .tsv/.txt files, comma otherwise (after an optional .gz)."""
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    return "\t" if suffixes and suffixes[-1] in {".tsv", ".txt", ".tab"} else ","


def _sequences(column: pd.Series, path: Path, row_of: Callable[[int], int]) -> pd.Series:
    """The table's sequences, normalized (trimmed, upper case, U as T); the first empty one or one
    with characters outside IUPAC stops the run naming its row."""
    sequences = column.map(normalize)
    for i, seq in enumerate(sequences):
        if not seq:
            raise InputError(f"{path}: row {row_of(i)}: empty sequence")
        bad = invalid_characters(seq)
        if bad:
            raise InputError(
                f"{path}: row {row_of(i)}: sequence has non-IUPAC characters "
                f"{''.join(sorted(bad))!r}"
            )
    return sequences


def read_user_table(path: str | Path) -> pd.DataFrame:
    """Load a labelled CSV/TSV with `sequence` and `label` (+ numeric covariates, optional `split`).

    Returns a frame with the labelled-table columns first (plate/well empty when the table has
    none), then `split` if given, then the covariate columns in their original order.
    """
    path = Path(path)
    raw = read_text_table(path, _separator(path))
    for column in ("sequence", "label"):
        if column not in raw.columns:
            raise InputError(
                f"{path}: missing column '{column}' (columns: {', '.join(raw.columns)})"
            )
    if raw.empty:
        raise InputError(f"{path}: the table has a header but no rows")

    def row_of(i: int) -> int:
        return i + 2  # 1-based line number in the file, after the header

    sequences = _sequences(raw["sequence"], path, row_of)
    labels = _numeric(raw["label"], path, "label", row_of)
    out = pd.DataFrame(
        {
            "plate": raw.get("plate", pd.Series([""] * len(raw))).to_numpy(),
            "well": raw.get("well", pd.Series([""] * len(raw))).to_numpy(),
            "sequence": sequences.to_numpy(),
            "variant_id": raw.get(
                "variant_id", raw.get("id", pd.Series([""] * len(raw)))
            ).to_numpy(),
            "match": "",
            "n_reads": pd.array([pd.NA] * len(raw), dtype="Int64"),
            "n_regions": pd.array([pd.NA] * len(raw), dtype="Int64"),
            "purity": np.nan,
            "signal": np.nan,
            "label": labels,
            "qc": "pass",
        },
        columns=LABELLED_COLUMNS,
    )
    if "split" in raw.columns:
        split = raw["split"].str.lower()
        bad_rows = [row_of(i) for i, s in enumerate(split) if s not in SPLITS]
        if bad_rows:
            raise InputError(
                f"{path}: row {bad_rows[0]}: split must be one of train, validation, test"
            )
        out["split"] = split.to_numpy()
    for column in raw.columns:
        if column in RESERVED:
            continue
        if _is_text(raw[column]):
            log.info("%s: column %r holds text: kept out of the model (a note)", path, column)
            continue
        out[column] = _numeric(raw[column], path, column, row_of)
    return out


def _is_text(values: pd.Series) -> bool:
    """A column of notes (strain names, dates, comments): not one filled cell is a number.
    One typo in a column of numbers is not this; it stops the run naming its row."""
    filled = values[values.str.len() > 0]
    return bool(len(filled)) and bool(pd.to_numeric(filled, errors="coerce").isna().all())


def _numeric(
    values: pd.Series, path: Path, column: str, row_of: Callable[[int], int]
) -> np.ndarray:
    """Parse a numeric column; the first non-number stops the run naming its row."""
    parsed = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy() | ~np.isfinite(parsed.to_numpy(dtype=float)))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{path}: row {row_of(i)}: column '{column}' value {values.iloc[i]!r} is not a number"
        )
    return parsed.to_numpy(dtype=float)


def check_for_model(
    table: pd.DataFrame, model: ModelSettings, path: str | Path, source: str = "config"
) -> None:
    """What the model settings ask of a user table, checked before any job: the covariate
    columns exist, and classification labels are 0 or 1 (row numbers are the file's)."""
    present = covariate_columns(table)
    for name in model.covariates:
        if name not in present:
            raise InputError(
                f"{source}: key 'model.covariates': column {name!r} is not in {path} "
                f"(numeric columns: {', '.join(present) or 'none'})"
            )
    if model.task == "classification":
        bad = np.flatnonzero(~np.isin(table["label"].to_numpy(), (0.0, 1.0)))
        if bad.size:
            i = int(bad[0])
            raise InputError(
                f"{path}: row {i + 2}: label {table['label'].iloc[i]:g} is not 0 or 1 "
                "(model.task: classification)"
            )


def covariate_columns(table: pd.DataFrame) -> list[str]:
    """Numeric columns beyond the labelled-table contract (and `split`): the model's covariates."""
    return [c for c in table.columns if c not in set(LABELLED_COLUMNS) | {"split"}]


def import_table(path: Path, labelled: Path) -> None:
    """The `import-table` stage: a user's table in the labelled-table format."""
    io.write_tsv(read_user_table(path), labelled)
