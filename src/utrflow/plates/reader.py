"""Plate-reader files -> one normalized signal per well, with the reasons a reading can't be used.

Readers export either a tidy table (a `well` column, one column per channel) or grids (an 8x12
or 16x24 block per channel, rows lettered, columns numbered). Both are read here into one shape.
Normalization follows what a bench scientist does by hand, each step switchable: subtract the
plate's blank (medium-only) wells, divide by the normalizer channel (OD600), take log2. A reading
that can't carry a label is flagged (`saturated`, `low_od`, `nonpositive`, `no_fluorescence`),
never dropped, so the labelled table can say why each well is out.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from utrflow.errors import InputError
from utrflow.plates.geometry import FORMATS, normalize_well

log = logging.getLogger(__name__)

# Words readers write instead of a number when the detector overflowed (BioTek, Tecan, BMG).
_OVERFLOW = re.compile(r"^(ov(e)?r(flo?w)?|ovrflw|sat(urated)?\.?|>.*)$", re.IGNORECASE)
_DELIMITERS = (",", "\t", ";")
_DECIMAL_COMMA = re.compile(r"^\s*([+-]?\d+),(\d+)\s*$")  # 0,512 in semicolon-separated exports
FLAGS = ("no_fluorescence", "saturated", "low_od", "nonpositive")
FLUORESCENCE_COLUMNS = [
    "plate",
    "well",
    "role",
    "signal_raw",
    "normalizer_raw",
    "blank_signal",
    "blank_normalizer",
    "signal_net",
    "normalizer_net",
    "signal",
    "label",
    "flags",
]


@dataclass(frozen=True)
class FluorescenceSettings:
    """How readings become labels (config key `fluorescence`)."""

    signal: str = "gfp"  # reader channel that measures expression
    normalize_by: str = "od600"  # channel the signal is divided by; '' for none
    blank_subtract: bool = True  # subtract the median of the plate's blank wells (each channel)
    saturated_at: float = 65535.0  # readings at or above are saturated; 0: overflow words only
    min_od: float = 0.05  # normalizer (after blank subtraction) below this is low_od
    log2: bool = True  # label = log2(signal); false keeps the linear ratio
    plate_centering: str = (
        "none"  # none, or median: shift each plate's passing labels to one median
    )
    plate_flag_log2: float = 1.0  # a plate whose median label is this far off the others is flagged


@dataclass(frozen=True)
class Cell:
    """One reading as written in the file, with the line it came from (for error messages)."""

    text: str
    line: int


Readings = dict[str, dict[str, Cell]]  # channel -> well -> cell


def _delimiter(lines: list[str]) -> str:
    """The separator used most often: readers write commas, tabs or (European locale) semicolons."""
    sample = "\n".join(lines[:200])
    return max(_DELIMITERS, key=sample.count)


def _channel_name(name: str) -> str:
    return name.strip().rstrip(":").strip().lower()


def _grid_columns(cells: list[str]) -> int:
    """The plate width when this row is a grid header (empty cell, then 1..12 or 1..24)."""
    numbers = [c.strip() for c in cells[1:]]
    while numbers and not numbers[-1]:
        numbers.pop()
    for cols in (FORMATS[96][1], FORMATS[384][1]):
        if numbers == [str(i + 1) for i in range(cols)]:
            return cols
    return 0


def _tidy(rows: list[tuple[int, list[str]]], path: Path) -> Readings:
    header = rows[0][1]
    names = [_channel_name(c) for c in header]
    well_at = names.index("well")
    readings: Readings = {name: {} for i, name in enumerate(names) if i != well_at and name}
    for line, cells in rows[1:]:
        if not any(c.strip() for c in cells):
            continue
        well = _well(cells[well_at] if well_at < len(cells) else "", path, line)
        for i, name in enumerate(names):
            if i == well_at or not name:
                continue
            _put(readings[name], well, Cell(cells[i].strip() if i < len(cells) else "", line), path)
    return readings


def _grid(rows: list[tuple[int, list[str]]], path: Path) -> Readings:
    readings: Readings = {}
    title = ""
    i = 0
    while i < len(rows):
        line, cells = rows[i]
        cols = _grid_columns(cells)
        if not cols:
            if cells and cells[0].strip() and not any(c.strip() for c in cells[1:]):
                title = cells[0]  # a channel name on its own line above its grid
            i += 1
            continue
        name = _channel_name(cells[0] or title)
        if not name:
            raise InputError(f"{path}: line {line}: a plate grid without a channel name above it")
        if name in readings:
            raise InputError(f"{path}: line {line}: channel {name!r} appears twice")
        block: dict[str, Cell] = {}
        n_rows = FORMATS[96][0] if cols == FORMATS[96][1] else FORMATS[384][0]
        for r in range(n_rows):
            if i + 1 + r >= len(rows):
                raise InputError(f"{path}: line {line}: grid {name!r} ends before row {_row(r)}")
            row_line, row_cells = rows[i + 1 + r]
            letter = row_cells[0].strip().upper() if row_cells else ""
            if letter != _row(r):
                raise InputError(
                    f"{path}: line {row_line}: grid {name!r} expects row {_row(r)}, "
                    f"found {letter or 'an empty cell'!r}"
                )
            for c in range(cols):
                text = row_cells[c + 1].strip() if c + 1 < len(row_cells) else ""
                block[f"{letter}{c + 1}"] = Cell(text, row_line)
        readings[name] = block
        title = ""
        i += 1 + n_rows
    return readings


def _row(index: int) -> str:
    return chr(ord("A") + index)


def _well(name: str, path: Path, line: int) -> str:
    well = normalize_well(name)
    if well is None:
        raise InputError(f"{path}: line {line}: {name.strip()!r} is not a well name (A1 ... P24)")
    return well


def _put(channel: dict[str, Cell], well: str, cell: Cell, path: Path) -> None:
    if well in channel:
        raise InputError(
            f"{path}: line {cell.line}: well {well} already read on line {channel[well].line}"
        )
    channel[well] = cell


def parse_reader(path: str | Path) -> Readings:
    """Every channel of a reader file, tidy or grid, as written (numbers are checked later)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: plate-reader file not found") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (export the reader data as CSV)") from None
    lines = text.splitlines()
    delimiter = _delimiter(lines)
    rows = [
        (n, [_DECIMAL_COMMA.sub(r"\1.\2", c) for c in cells] if delimiter == ";" else cells)
        for n, cells in enumerate(csv.reader(lines, delimiter=delimiter), start=1)
        if any(c.strip() for c in cells)
    ]
    if not rows:
        raise InputError(f"{path}: the plate-reader file is empty")
    if "well" in (_channel_name(c) for c in rows[0][1]):
        readings = _tidy(rows, path)
    else:
        readings = _grid(rows, path)
    if not readings:
        raise InputError(
            f"{path}: neither a tidy table (a 'well' column) nor plate grids "
            "(a header 1..12 or 1..24 and rows A..H or A..P)"
        )
    return readings


def channel_values(
    readings: Readings, name: str, wells: Iterable[str], path: str | Path, saturated_at: float
) -> tuple[np.ndarray, np.ndarray]:
    """(values, saturated) of one channel for `wells`; NaN where the file has no reading.

    Overflow words ('OVRFLW', 'OVER', '>65000') and values at or above `saturated_at` count as
    saturated (value NaN for words); any other text stops with the file, line and well.
    """
    key = _channel_name(name)
    if key not in readings:
        raise InputError(
            f"{path}: no channel {name!r} (has: {', '.join(readings)}); "
            "set fluorescence.signal / fluorescence.normalize_by"
        )
    channel = readings[key]
    wells = list(wells)
    values = np.full(len(wells), np.nan)
    saturated = np.zeros(len(wells), dtype=bool)
    for i, well in enumerate(wells):
        cell = channel.get(well)
        if cell is None or not cell.text:
            continue
        if _OVERFLOW.match(cell.text):
            saturated[i] = True
            continue
        try:
            values[i] = float(cell.text)
        except ValueError:
            raise InputError(
                f"{path}: line {cell.line}: well {well}, channel {name!r}: "
                f"{cell.text!r} is not a number"
            ) from None
        if not np.isfinite(values[i]):
            raise InputError(
                f"{path}: line {cell.line}: well {well}, channel {name!r}: {cell.text!r} "
                "is not a finite number"
            )
    if saturated_at > 0:
        saturated |= values >= saturated_at
    return values, saturated


def check_reader_wells(
    readings: Readings, layout_wells: Iterable[str], path: str | Path
) -> list[str]:
    """Layout wells the reader must have (an error lists them); returns reader wells the layout
    does not list, which are only reported (readers measure the whole plate)."""
    measured = set().union(*(set(c) for c in readings.values()))
    layout = list(layout_wells)
    missing = [w for w in layout if w not in measured]
    if missing:
        shown = ", ".join(missing[:8]) + (
            f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        )
        raise InputError(
            f"{path}: wells of the layout missing from the plate-reader file: {shown} "
            "(is this the file of another plate or plate format?)"
        )
    listed = set(layout)
    return sorted(measured - listed, key=lambda w: (w[0], int(w[1:])))


def _blank_level(values: np.ndarray, blanks: np.ndarray) -> float:
    """Robust (median) level of the plate's usable blank readings; 0 when there are none."""
    usable = values[blanks & np.isfinite(values)]
    return float(np.median(usable)) if usable.size else 0.0


def normalize_plate(
    plate: str,
    wells: pd.DataFrame,
    readings: Readings,
    settings: FluorescenceSettings,
    path: str | Path,
) -> pd.DataFrame:
    """One plate's wells (rows of the wells sheet: well, role) -> FLUORESCENCE_COLUMNS.

    `signal` is the blank-subtracted signal per normalizer unit and `label` its log2, both empty
    where no label can be had; `flags` lists (';') every reason the label can't be trusted.
    """
    names = wells["well"].tolist()
    role = wells["role"].to_numpy()
    raw, saturated = channel_values(readings, settings.signal, names, path, settings.saturated_at)
    if settings.normalize_by:
        norm_raw, norm_saturated = channel_values(
            readings, settings.normalize_by, names, path, settings.saturated_at
        )
    else:
        norm_raw, norm_saturated = np.ones(len(names)), np.zeros(len(names), dtype=bool)
    blanks = role == "blank"
    blank_signal = blank_norm = 0.0
    if settings.blank_subtract:
        if not blanks.any():
            log.warning("%s: plate %s has no blank wells: nothing subtracted", path, plate)
        blank_signal = _blank_level(raw, blanks & ~saturated)
        if settings.normalize_by:
            blank_norm = _blank_level(norm_raw, blanks & ~norm_saturated)
    signal_net = raw - blank_signal
    norm_net = norm_raw - blank_norm
    missing = np.isnan(raw) & ~saturated | np.isnan(norm_raw) & ~norm_saturated
    too_bright = saturated | norm_saturated
    low_od = (
        (norm_net < settings.min_od) & ~missing & ~too_bright
        if settings.normalize_by
        else np.zeros(len(names), dtype=bool)
    )
    nonpositive = (signal_net <= 0) & ~missing & ~too_bright
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(norm_net > 0, signal_net / norm_net, np.nan)
        usable = (ratio > 0) & ~too_bright & ~missing
        label = np.where(usable, np.log2(ratio) if settings.log2 else ratio, np.nan)
    flag_masks = dict(zip(FLAGS, (missing, too_bright, low_od, nonpositive), strict=True))
    flags = [
        ";".join(name for name, mask in flag_masks.items() if mask[i]) for i in range(len(names))
    ]
    return pd.DataFrame(
        {
            "plate": plate,
            "well": names,
            "role": role,
            "signal_raw": raw,
            "normalizer_raw": norm_raw if settings.normalize_by else np.nan,
            "blank_signal": blank_signal if settings.blank_subtract else np.nan,
            "blank_normalizer": (
                blank_norm if settings.blank_subtract and settings.normalize_by else np.nan
            ),
            "signal_net": signal_net,
            "normalizer_net": norm_net if settings.normalize_by else np.nan,
            "signal": np.where(usable, ratio, np.nan),
            "label": label,
            "flags": flags,
        },
        columns=FLUORESCENCE_COLUMNS,
    )


def load_plate(
    plate: str,
    wells: pd.DataFrame,
    path: str | Path,
    settings: FluorescenceSettings,
) -> tuple[pd.DataFrame, list[str]]:
    """Read, check and normalize one plate's reader file: (table, reader wells the layout lacks)."""
    readings = parse_reader(path)
    mine = wells[wells["plate"] == plate]
    unlisted = check_reader_wells(readings, mine["well"], path)
    return normalize_plate(plate, mine, readings, settings, path), unlisted
