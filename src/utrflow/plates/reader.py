"""Plate-reader files -> one normalized signal per well, with the reasons a reading can't be used.

Readers export either a tidy table (a `well` column, one column per channel) or grids (an 8x12
or 16x24 block per channel, rows lettered, columns numbered). Both are read here into one shape.
Normalization follows what a bench scientist does by hand, each step switchable: subtract the
plate's blank (medium-only) wells, divide by the normalizer channel (OD600), take log2. A reading
that can't carry a label is flagged (`saturated`, `low_od`, `nonpositive`, `no_fluorescence`),
never dropped, so the labelled table can say why each well is out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from utrflow import io, sheets
from utrflow.config import section_defaults
from utrflow.errors import InputError
from utrflow.plates.calibration import PlateCalibration, Reading, calibrate_plate
from utrflow.plates.channels import ChannelReading, channel_reading
from utrflow.plates.channels import channel_values as channel_values  # re-exported
from utrflow.plates.channels import read_seconds as read_seconds  # re-exported
from utrflow.plates.exports import Channel, NumberFormat, read_export
from utrflow.plates.ties import choose_block
from utrflow.plates.workbook import read_plate_export

log = logging.getLogger(__name__)

# blank_unusable: the plate has blank wells but none gives a usable reading (every one saturated
# or empty), so nothing could be subtracted: its labels are not what the settings ask for.
FLAGS = ("no_fluorescence", "saturated", "low_od", "nonpositive", "blank_unusable")
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
EXACT_COLUMNS = ("signal_raw", "normalizer_raw")  # written with every digit the file had


_DEFAULTS = section_defaults("fluorescence")


@dataclass(frozen=True)
class FluorescenceSettings:
    """How readings become labels (config key `fluorescence`)."""

    signal: str = _DEFAULTS["signal"]
    normalize_by: str = _DEFAULTS["normalize_by"]
    read: str = _DEFAULTS["read"]
    loop: str = _DEFAULTS["loop"]
    plate_format: str = _DEFAULTS["plate_format"]
    blank_subtract: bool = _DEFAULTS["blank_subtract"]
    saturated_at: float | None = _DEFAULTS["saturated_at"]
    min_od: float = _DEFAULTS["min_od"]
    log2: bool = _DEFAULTS["log2"]
    plate_centering: str = _DEFAULTS["plate_centering"]
    plate_flag_log2: float = _DEFAULTS["plate_flag_log2"]


@dataclass
class PlateReadings(Mapping[str, Channel]):
    """One plate of a reader file: its channels by label as the file names them, and what the
    file says about the instrument, its numbers and its detector."""

    channels: dict[str, Channel]
    path: Path
    instrument: str = ""
    plate: str = ""
    numbers: NumberFormat = field(default_factory=NumberFormat)
    detector_max: float | None = None
    encoding: str = ""
    repeats: dict[str, list[str]] = field(default_factory=dict)  # labels the file repeats

    def __getitem__(self, label: str) -> Channel:
        return self.channels[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self.channels)

    def __len__(self) -> int:
        return len(self.channels)


def parse_reader(path: str | Path, reader_plate: str = "", plate: str = "") -> PlateReadings:
    """Every channel of one plate of a reader file, as written (numbers are checked later)."""
    path = Path(path)
    export = read_plate_export(path)
    chosen = choose_block(export, path, str(reader_plate), plate).block
    return PlateReadings(
        export.plates[chosen],
        path,
        export.instrument,
        chosen,
        export.numbers,
        export.detector_max,
        export.encoding,
        export.repeats.get(chosen, {}),
    )


def check_reader_wells(
    readings: Mapping[str, Channel], layout_wells: Iterable[str], path: str | Path
) -> list[str]:
    """Layout wells the reader must have (an error lists them); returns reader wells the layout
    does not list, which are only reported (readers measure the whole plate)."""
    measured = {w for c in readings.values() for r in c.reads for w in r.cells}
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


def check_plate_format(
    readings: Mapping[str, Channel], layout_wells: Iterable[str], path: str | Path, said: object
) -> None:
    """A reader plate of another format than the layout's stops: a 384-well grid (or wells past
    H12) for a layout whose wells all fit a 96-well plate, unless `fluorescence.plate_format`
    says 384; the file's format comes from its blocks, the layout's from its wells."""
    found = max((c.plate_format for c in readings.values()), default=0)
    wells = list(layout_wells)
    beyond = [w for w in wells if w[0] > "H" or int(w[1:]) > 12]
    said = str(said).strip().lower()
    if beyond and said == "96":
        raise InputError(
            f"{path}: fluorescence.plate_format is 96 but the layout has wells past H12 "
            f"({', '.join(beyond[:3])})"
        )
    layout = 384 if beyond or said == "384" else 96
    if found and found != layout:
        why = "its wells all fit A1..H12" if layout == 96 else "fluorescence.plate_format"
        raise InputError(
            f"{path}: the reader file's plate has {found} wells but the layout's has {layout} "
            f"({why}); is this another plate's file? If the plate is {found}-well, set "
            f"fluorescence.plate_format: {found}"
        )


def _blank_level(values: np.ndarray, blanks: np.ndarray) -> float:
    """Robust (median) level of the plate's usable blank readings; 0 when there are none."""
    usable = values[blanks & np.isfinite(values)]
    return float(np.median(usable)) if usable.size else 0.0


def _unusable_blanks(
    plate: str,
    path: str | Path,
    blanks: np.ndarray,
    settings: FluorescenceSettings,
    *channels: tuple[np.ndarray, np.ndarray],
) -> bool:
    """Are there blank wells to subtract, none of them usable in some channel (every one
    saturated or empty)? Said in the log; the plate's wells are then flagged blank_unusable,
    where a blank level of 0 would pass them with nothing subtracted."""
    if not settings.blank_subtract or not blanks.any():
        return False
    used = channels if settings.normalize_by else channels[:1]
    for values, saturated in used:
        if not (blanks & ~saturated & np.isfinite(values)).any():
            log.warning(
                "%s: plate %s: every one of its %d blank wells is saturated or empty: nothing "
                "can be subtracted, its wells are flagged blank_unusable",
                path,
                plate,
                int(blanks.sum()),
            )
            return True
    return False


@dataclass(frozen=True)
class PlateReading:
    """One plate's normalized table, the reader wells its layout lacks, and what was read."""

    table: pd.DataFrame
    unlisted: list[str]
    details: dict[str, object]


def normalize_plate(
    plate: str,
    wells: pd.DataFrame,
    readings: Mapping[str, Channel],
    settings: FluorescenceSettings,
    path: str | Path,
) -> pd.DataFrame:
    """One plate's wells (rows of the wells sheet: well, role) -> FLUORESCENCE_COLUMNS.

    `signal` is the blank-subtracted signal per normalizer unit and `label` its log2, both empty
    where no label can be had; `flags` lists (';') every reason the label can't be trusted.
    """
    return _normalize(plate, wells, readings, settings, path)[0]


def _channels(
    wells: pd.DataFrame,
    readings: Mapping[str, Channel],
    settings: FluorescenceSettings,
    path: str | Path,
) -> tuple[ChannelReading, ChannelReading | None]:
    """The signal channel's reading at the plate's wells, and the normalizer's (None without)."""
    names = wells["well"].tolist()
    chosen = [settings.signal] + ([settings.normalize_by] if settings.normalize_by else [])
    found = [
        channel_reading(
            readings, name, names, path, settings.saturated_at, settings.read, settings.loop
        )
        for name in chosen
    ]
    return found[0], found[1] if len(found) > 1 else None


def _normalize(
    plate: str,
    wells: pd.DataFrame,
    readings: Mapping[str, Channel],
    settings: FluorescenceSettings,
    path: str | Path,
) -> tuple[pd.DataFrame, dict[str, object]]:
    """`normalize_plate`'s table, and what was read and fitted (the plate's summary)."""
    signal, normalizer = _channels(wells, readings, settings, path)
    details: dict[str, object] = {"signal": signal.describe(), "normalizer": None}
    n = len(wells)
    if normalizer is not None:
        norm = Reading(normalizer.label, normalizer.values, normalizer.saturated, 0.0)
        details["normalizer"] = normalizer.describe()
    else:
        norm = Reading("", np.ones(n), np.zeros(n, dtype=bool), 0.0)
    blanks = wells["role"].to_numpy() == "blank"
    sig = Reading(signal.label, signal.values, signal.saturated, 0.0)
    sig, norm = _blank_levels(plate, path, blanks, settings, sig, norm)
    unusable_blank = _unusable_blanks(
        plate, path, blanks, settings, (sig.values, sig.saturated), (norm.values, norm.saturated)
    )
    calibration = calibrate_plate(plate, wells, sig, norm if normalizer else None, path)
    if calibration is not None:
        details["calibration"] = calibration.describe()
    else:
        calibration = PlateCalibration(None, None, sig.label, norm.label)
    details["label_unit"] = calibration.label_unit(settings.log2)
    no_blank = np.full(n, unusable_blank) & ~blanks
    return _table(plate, wells, sig, norm, calibration, settings, no_blank), details


def _blank_levels(
    plate: str,
    path: str | Path,
    blanks: np.ndarray,
    settings: FluorescenceSettings,
    sig: Reading,
    norm: Reading,
) -> tuple[Reading, Reading]:
    """Both channels with the plate's blank level to subtract (0 where nothing is subtracted:
    blank subtraction off, no normalizer, or no usable blank well)."""
    blank_signal = blank_norm = 0.0
    if settings.blank_subtract:
        if not blanks.any():
            log.warning("%s: plate %s has no blank wells: nothing subtracted", path, plate)
        blank_signal = _blank_level(sig.values, blanks & ~sig.saturated)
        if settings.normalize_by:
            blank_norm = _blank_level(norm.values, blanks & ~norm.saturated)
    return replace(sig, blank=blank_signal), replace(norm, blank=blank_norm)


def _table(
    plate: str,
    wells: pd.DataFrame,
    sig: Reading,
    norm: Reading,
    calibration: PlateCalibration,
    settings: FluorescenceSettings,
    no_blank: np.ndarray,
) -> pd.DataFrame:
    """FLUORESCENCE_COLUMNS: net readings, the (calibrated) ratio and its label where usable,
    and every flag that says why a well's label can't be trusted."""
    names = wells["well"].tolist()
    per_signal, per_normalizer = calibration.scales()
    signal_net = sig.values - sig.blank
    norm_net = norm.values - norm.blank
    missing = np.isnan(sig.values) & ~sig.saturated | np.isnan(norm.values) & ~norm.saturated
    too_bright = sig.saturated | norm.saturated
    low_od = (
        (norm_net < settings.min_od) & ~missing & ~too_bright
        if settings.normalize_by
        else np.zeros(len(names), dtype=bool)
    )
    nonpositive = (signal_net <= 0) & ~missing & ~too_bright
    with np.errstate(divide="ignore", invalid="ignore"):
        # calibrated: MEFL per particle; else the plain ratio of reader units
        ratio = np.where(
            norm_net > 0, signal_net * per_signal / (norm_net * per_normalizer), np.nan
        )
        usable = (ratio > 0) & ~too_bright & ~missing
        label = np.where(usable, np.log2(ratio) if settings.log2 else ratio, np.nan)
    masks = (missing, too_bright, low_od, nonpositive, no_blank)
    flag_masks = dict(zip(FLAGS, masks, strict=True))
    flags = [
        ";".join(name for name, mask in flag_masks.items() if mask[i]) for i in range(len(names))
    ]
    return pd.DataFrame(
        {
            "plate": plate,
            "well": names,
            "role": wells["role"].to_numpy(),
            "signal_raw": sig.values,
            "normalizer_raw": norm.values if settings.normalize_by else np.nan,
            "blank_signal": sig.blank if settings.blank_subtract else np.nan,
            "blank_normalizer": (
                norm.blank if settings.blank_subtract and settings.normalize_by else np.nan
            ),
            "signal_net": signal_net,
            "normalizer_net": norm_net if settings.normalize_by else np.nan,
            "signal": np.where(usable, ratio, np.nan),
            "label": label,
            "flags": flags,
        },
        columns=FLUORESCENCE_COLUMNS,
    )


def read_plate(
    plate: str,
    wells: pd.DataFrame,
    path: str | Path,
    settings: FluorescenceSettings,
    reader_plate: str = "",
) -> PlateReading:
    """Read, check and normalize one plate's reader file (its block `reader_plate`, else the
    one named like the plate, else the only one), saying what was read: the instrument, the
    file's plate, each channel's label and read, and the saturation level used."""
    readings = parse_reader(path, reader_plate, plate)
    mine = wells[wells["plate"] == plate]
    check_plate_format(readings, mine["well"], path, settings.plate_format)
    unlisted = check_reader_wells(readings, mine["well"], path)
    table, details = _normalize(plate, mine, readings, settings, path)
    blocks = {  # where in the file each channel used was read: 'sheet ... row ...' or 'line ...'
        used: readings[str(channel["channel"])].where
        for used in ("signal", "normalizer")
        if isinstance(channel := details[used], dict)
    }
    limit = settings.saturated_at if settings.saturated_at is not None else readings.detector_max
    details = {
        "instrument": readings.instrument,
        "reader_plate": readings.plate,
        "sheet": _sheet_of(readings),
        "blocks": blocks,
        "encoding": readings.encoding,
        **details,
        "saturated_at": limit,
        "saturated_at_from": (
            "config" if settings.saturated_at is not None else "file" if limit else "none"
        ),
    }
    return PlateReading(table, unlisted, details)


def _sheet_of(readings: PlateReadings) -> str:
    """The workbook sheet the plate's channels were read from ('' for a text file)."""
    found = {m.group(1) for c in readings.channels.values() if (m := _SHEET.match(c.where))}
    return found.pop() if len(found) == 1 else ", ".join(sorted(found))


_SHEET = re.compile(r"^sheet '(.*)' row \d+$")


def load_plate(
    plate: str,
    wells: pd.DataFrame,
    path: str | Path,
    settings: FluorescenceSettings,
    reader_plate: str = "",
) -> tuple[pd.DataFrame, list[str]]:
    """Read, check and normalize one plate's reader file: (table, reader wells the layout lacks)."""
    found = read_plate(plate, wells, path, settings, reader_plate)
    return found.table, found.unlisted


def tidy_readings(path: str | Path) -> pd.DataFrame:
    """Every reading of a reader file as one tidy table (plate, channel, wavelengths, read,
    time_s, well, text): what the file holds, for a look before choosing channels."""
    export = read_export(path)
    rows = [
        (plate, label, "/".join(map(str, c.wavelengths)), r.name, r.time_s, well, cell.text)
        for plate, channels in export.plates.items()
        for label, c in channels.items()
        for r in c.reads
        for well, cells in r.cells.items()
        for cell in cells
    ]
    columns = ["plate", "channel", "wavelengths", "read", "time_s", "well", "text"]
    return pd.DataFrame(rows, columns=columns)


def write_plate(
    plate: str,
    reader: Path,
    wells: pd.DataFrame,
    settings: FluorescenceSettings,
    output: Path,
    summary: Path,
    reader_plate: str = "",
    wells_source: str = "wells",
) -> pd.DataFrame:
    """One plate's reader file (block `reader_plate` of a file holding several) normalized
    against its layout (`wells`, read from `wells_source`): the per-well table (returned too)
    and a summary (what was read, blank wells, reader wells not in the layout, flags)."""
    if not (wells["plate"] == plate).any():
        raise InputError(f"{wells_source}: no wells of plate {plate!r}")
    found = read_plate(plate, wells, reader, settings, reader_plate)
    table, unlisted = found.table, found.unlisted
    if unlisted:
        log.warning(
            "%s: %d reader wells not in the layout, ignored: %s",
            reader,
            len(unlisted),
            ", ".join(unlisted),
        )
    io.write_tsv(table, output, exact=EXACT_COLUMNS)
    flags = table["flags"].str.split(";")
    io.write_json(
        {
            "plate": plate,
            "reader": str(reader),
            **found.details,
            "blank_wells": int((table["role"] == "blank").sum()),
            "unlisted_wells": unlisted,
            "flags": {flag: int(flags.apply(lambda f, k=flag: k in f).sum()) for flag in FLAGS},
        },
        summary,
    )
    return table


def load_layout(wells_path: Path) -> pd.DataFrame:
    """The wells sheet, checked (`sheets.load_wells`), as the table this module reads."""
    return pd.DataFrame(sheets.load_wells(wells_path))


def run(
    plate: str,
    reader: Path,
    wells_path: Path,
    settings: FluorescenceSettings,
    output: Path,
    summary: Path,
    reader_plate: str = "",
) -> pd.DataFrame:
    """The `fluorescence` command, one plate by hand (the workflow's link job reads every
    plate's file itself, see `write_plate`); returns the per-well table."""
    wells = load_layout(wells_path)
    return write_plate(
        plate, reader, wells, settings, output, summary, reader_plate, str(wells_path)
    )
