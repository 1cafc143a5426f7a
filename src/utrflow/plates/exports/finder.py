"""The block finder: every well-addressed block of a sheet or text file, named from the labels
around it."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from utrflow.errors import InputError, first_line
from utrflow.geometry import normalize_well
from utrflow.plates.exports.base import (
    CYCLE_HEADER,
    DETECTOR_MAX,
    LABEL_LINE,
    PLATE_KEYS,
    WAVELENGTH_KEY,
    WELL_HEADERS,
    Channel,
    Context,
    Export,
    Row,
    Scan,
    at,
    int_text,
    wavelengths_of,
    words,
)
from utrflow.plates.exports.files import decode, text_rows, xlsx_sheets
from utrflow.plates.exports.numbers import number_format
from utrflow.plates.exports.shapes import (
    grid,
    grid_width,
    reads_as_columns,
    tidy,
    well_columns,
    wells_as_columns,
)
from utrflow.plates.exports.softmax import (
    softmax_block,
    softmax_plate,
    softmax_runs,
    softmax_wells,
)

_INSTRUMENTS = (  # (marker in the file, name); the first found names the software
    ("SparkControl", "Tecan SparkControl"),
    ("Tecan i-control", "Tecan i-control"),
    ("Magellan", "Tecan Magellan"),
    ("SMART Control", "BMG Labtech SMART Control"),
    ("MARS", "BMG Labtech MARS"),
    ("EnVision", "PerkinElmer EnVision"),
    ("SoftMax", "Molecular Devices SoftMax Pro"),
    ("##BLOCKS=", "Molecular Devices SoftMax Pro"),
    ("SkanIt", "Thermo SkanIt"),
    (".skax", "Thermo SkanIt"),
    ("\\BMG\\", "BMG Labtech MARS"),  # MARS writes the BMG program folder in its header
    ("EnSight", "Revvity Kaleido (EnSight)"),
)


def _metadata(cells: list[str], ctx: Context) -> None:
    """Learn from a metadata row: 'Label:' lines, plate names, wavelengths, detector range."""
    filled = [c for c in cells if c]
    key = words(filled[0])
    label = LABEL_LINE.match(filled[0])
    if label:
        ctx.label, ctx.label_wavelengths, ctx.title = label.group(1).strip(), [], ""
        return
    if key == "mode" and len(filled) == 2:
        ctx.mode = filled[1]  # SparkControl: a `Mode` line, then the label's `Name` line
    elif key == "name" and len(filled) == 2 and ctx.mode:
        ctx.named, ctx.mode, ctx.title = filled[1], "", ""
        return
    if key in PLATE_KEYS - {"plate"} and len(filled) >= 2:
        ctx.plate = filled[1]
    if WAVELENGTH_KEY.search(filled[0]):
        stated = [n for c in filled for n in wavelengths_of(c)]
        ctx.wavelengths.extend(stated)
        if ctx.label:
            ctx.label_wavelengths.extend(stated)
    detector = DETECTOR_MAX.match(filled[0])
    if detector:
        value = detector.group(7) or (filled[1] if len(filled) >= 2 else "")
        with contextlib.suppress(ValueError):
            ctx.detector_max = float(value.replace(",", ""))
    if len(filled) == 1 and re.fullmatch(r"plate\s*\d+", key):
        ctx.plate, ctx.title = filled[0], ""  # SkanIt: a 'Plate 1' line above each grid
    elif len(filled) == 1 and cells[0] and WAVELENGTH_KEY.match(key):
        ctx.block_wavelengths = list(wavelengths_of(filled[0]))
    elif len(filled) == 1:
        ctx.title = filled[0]  # a title line: names the next block unless one comes between


def _plate_row(rows: list[Row], i: int, ctx: Context) -> bool:
    """A `Plate, Repeat, Barcode, ...` header whose next row names the plate (EnVision)."""
    cells = rows[i][1]
    below = rows[i + 1][1] if i + 1 < len(rows) else []
    if words(cells[0]) != "plate" or sum(1 for c in cells if c) < 3 or not at(below, 0):
        return False
    if normalize_well(below[0]) is not None:
        return False  # a tidy table's row
    ctx.plate = below[0]
    return True


def scan_rows(rows: list[Row], path: Path, sheet: str = "") -> tuple[Scan, Context]:
    """Every data block of one sheet (or text file), in order."""
    scan, ctx = Scan(path, sheet), Context()
    i = 0
    while i < len(rows):
        cells = rows[i][1]
        if not any(cells):
            i += 1
            continue
        cols = grid_width(cells)
        start, wells = well_columns(cells)
        names = [words(c) for c in cells]
        well_at = next((k for k, n in enumerate(names) if n in WELL_HEADERS), None)
        if well_at is None and names[0] == "<>" and len(rows) > i + 1:
            well_at = 0 if normalize_well(at(rows[i + 1][1], 0)) else None  # Spark lists
        cycles = [int_text(at(cells, k)) for k in (1, 2)]
        softmax_cols, starts = softmax_runs(cells, ctx.softmax) if ctx.softmax else (0, [])
        if cells[0].startswith("Group:"):
            i = _skip_group(rows, i, scan)
        elif cells[0] == "Plate:" and len(cells) > 5:
            softmax_plate(cells, ctx)
            i += 1
        elif softmax_cols:
            i = softmax_block(rows, i, softmax_cols, starts, ctx, scan)
        elif ctx.softmax and wells:
            i = softmax_wells(rows, i, start, wells, ctx, scan)
        elif CYCLE_HEADER.match(words(cells[0])) and None not in cycles:
            i = reads_as_columns(rows, i, ctx, scan)
        elif cols:
            i = grid(rows, i, cols, ctx, scan)
        elif wells:
            i = wells_as_columns(rows, i, start, wells, ctx, scan)
        elif well_at is not None:
            i = tidy(rows, i, well_at, ctx, scan)
        elif _plate_row(rows, i, ctx):
            i += 2
        else:
            _metadata(cells, ctx)
            i += 1
    return scan, ctx


def _skip_group(rows: list[Row], i: int, scan: Scan) -> int:
    """A SoftMax Pro group section (`Group: Standards` ... `~End`): statistics of replicate
    groups (Sample, Concentration, MeanValue, Std.Dev., CV%), never channels."""
    j = i + 1
    while j < len(rows) and not at(rows[j][1], 0).startswith(("~End", "Group:", "Plate:")):
        j += 1
    if j == len(rows) or not at(rows[j][1], 0).startswith("~End"):
        return i + 1  # no section end: only the line itself is the group's
    scan.summaries.append(f"{rows[i][1][0]!r} ({scan.where(rows[i][0])})")
    return j + 1


def instrument_of(text: str, fallback: str) -> str:
    """The software (and reader) that wrote the file, from the markers it writes."""
    name = next((n for marker, n in _INSTRUMENTS if marker in text), "")
    reader = re.search(r"(?:Reader Type:|Device:)[\s,;\t]*([^\r\n,;\t]+)", text)
    if not name and "Software Version" in text and "Reader Type" in text:
        name = "Agilent BioTek Gen5"
    if not name:
        return fallback
    return f"{name} ({reader.group(1).strip()})" if reader else name


def read_export(path: str | Path) -> Export:
    """Every plate, channel and read of a plate-reader file (CSV/text in any common encoding,
    or xlsx), as written."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: plate-reader file not found") from None
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({first_line(err)})") from None
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(f"{path}: an old binary .xls workbook; save it as .xlsx or CSV")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(path, data)
    text, encoding = decode(data, path)
    rows, delimiter = text_rows(text)
    if not any(any(cells) for _, cells in rows):
        raise InputError(f"{path}: the plate-reader file is empty")
    scan, ctx = scan_rows(rows, path)
    return _export(scan, ctx, instrument_of(text, "text table"), encoding, rows, delimiter)


def _magellan_labels(channels: list[Channel], stated: list[int], instrument: str) -> None:
    """Magellan names its reads `Label1`, `Label2`... and states each one's wavelength in its
    footer, in order (`Measurement 1:` ... `Measurement wavelength: 485 nm`): tie them."""
    labels = [c.label for c in channels]
    if "Magellan" not in instrument or len(stated) != len(channels):
        return
    if labels != [f"Label{k}" for k in range(1, len(channels) + 1)]:
        return
    if all(not c.wavelengths for c in channels):
        for channel, nm in zip(channels, stated, strict=True):
            channel.wavelengths = (nm,)


def _export(
    scan: Scan,
    ctx: Context,
    instrument: str,
    encoding: str,
    rows: list[Row],
    delimiter: str,
) -> Export:
    plates = scan.plates
    if not plates:
        aside = f"; set aside as summaries or layouts: {'; '.join(scan.summaries)}"
        raise InputError(
            f"{scan.path}: neither a tidy table (a 'well' column) nor plate grids "
            "(a header 1..12 or 1..24 and rows A..H or A..P)" + (aside if scan.summaries else "")
        )
    channels = [c for chans in plates.values() for c in chans.values()]
    stated = sorted(set(ctx.wavelengths))
    if len(channels) == 1 and not channels[0].wavelengths and len(stated) == 1:
        channels[0].wavelengths = (stated[0],)  # Magellan: 'Measurement wavelength: 595 nm'
    _magellan_labels(channels, ctx.wavelengths, instrument)
    return Export(
        instrument,
        plates,
        number_format(rows, delimiter),
        encoding,
        ctx.detector_max,
        scan.repeats,
        scan.summaries,
    )


def _read_xlsx(path: Path, data: bytes) -> Export:
    """The first sheet that holds plate data (later ones repeat it as tables, or hold the
    protocol)."""
    sheets = xlsx_sheets(path, data)
    aside = Scan(path, "")  # what every sheet set aside, for the stop's line
    for title, rows in sheets:
        scan, ctx = scan_rows(rows, path, title)
        if scan.plates:
            text = "\n".join(",".join(cells) for _, cells in rows)
            return _export(scan, ctx, instrument_of(text, "xlsx table"), "xlsx", rows, ",")
        aside.summaries += [s for s in scan.summaries if s not in aside.summaries]
    if not any(any(cells) for _, rows in sheets for _, cells in rows):
        raise InputError(f"{path}: the plate-reader file is empty")
    return _export(aside, Context(), "", "xlsx", [], ",")
