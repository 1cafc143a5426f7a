"""Plate-reader export files as instruments write them -> plates, channels, reads, cells.

A reader export is a spreadsheet or text file with metadata around one or more data blocks.
The blocks come in four shapes, and every instrument we read writes some mix of them:

- a tidy table: a `Well` (or `Well positions`) column and one column per channel, optionally a
  `Plate` column and a `Time`/`Cycle` column (Magellan, hand-made tables); or a per-label list
  `Well, Mean, StDev, 1;1, ...` (Tecan i-control multiple reads, SparkControl `Well, Value`);
- an 8x12 or 16x24 grid with rows A..H and columns 1..12 (`01..12`, `1.0..12.0` in xlsx),
  titled by its corner cell, a `Label: ...` line or the line above (i-control, SMART Control,
  EnVision), or with several reads interleaved, each row ending in its label (Gen5);
- wells as columns, one row per read (kinetic: i-control `Cycle Nr., Time [s], Temp. [°C], A1..`,
  Gen5 `Time, T° ..., A1..`), or one row per channel when the row header is `Well`; or reads as
  columns (`Cycle Nr. 1 2 ..`, then a row per well: i-control kinetic sheets);
- SoftMax Pro plate blocks: a `Plate:` line, then rows without letters holding one grid per
  wavelength side by side, one group of rows per read.

Cells are kept as text with where they stood, so a bad value is reported at its cell; numbers
are read later (`parse_number`) with the file's own decimal and thousands separators.
Text files are decoded by their byte-order mark, else UTF-8, else Windows-1252; xlsx through
openpyxl (the first sheet that holds plate data).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from utrflow.errors import InputError, first_line
from utrflow.geometry import FORMATS, normalize_well

Row = tuple[int, list[str]]  # line (or sheet row) number, cells stripped of spaces

_DELIMITERS = (",", "\t", ";")
_WELL_ISH = re.compile(r"^[A-Za-z]{1,2}0*\d{1,3}$")  # looks like a well name, valid or not
_WELL_HEADERS = {"well", "wells", "well position", "well positions", "well id", "wellid"}
_PLATE_KEYS = {"plate", "plate number", "plate name", "plate id", "plate-id", "plate-id (stacker)"}
_TIME_HEADER = re.compile(r"^(time|kinetic time|read time)\b", re.IGNORECASE)
_CYCLE_HEADER = re.compile(r"^(cycle( nr\.?| no\.?| number)?|read( number)?|kinetic read)$", re.I)
_SUBREAD = re.compile(r"^\d+;\d+$")  # i-control's x;y position of one read within a well
_LIST_VALUES = {"mean", "value", "values", "average"}
_LIST_IGNORED = {"stdev", "std dev", "sd", "cv", "cv %", "cv%", "median", "min", "max"}
_LABEL_LINE = re.compile(r"^label:\s*(.+)$", re.IGNORECASE)
_WAVELENGTH_KEY = re.compile(r"wavelength", re.IGNORECASE)
_WAVELENGTH = re.compile(
    r"(?<![\d.])([2-9]\d{2}|1[01]\d{2})(?![\d.])(?:\s*nm)?(?:[-/]\d{1,2}(?!\d))?"
)
_DETECTOR_MAX = re.compile(
    r"^(detector\s+)?(max(imum)?|overflow|saturation)(\s+(value|signal|count|counts|level))?"
    r"(\s*\[[^\]]*\])?\s*:?\s*([0-9][0-9.,]*)?$",
    re.IGNORECASE,
)
_NUMBERING = re.compile(r"^\d+\.\s+")  # '4. Raw Data (...)' in SMART Control titles
_TIME_HMS = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_TIME_MS = re.compile(r"^(\d+):(\d{1,2}(?:\.\d+)?)$")
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
)


@dataclass(frozen=True)
class Cell:
    """One reading as written in the file, with where it stood (for error messages)."""

    text: str
    line: int
    sheet: str = ""

    @property
    def where(self) -> str:
        return f"sheet {self.sheet!r} row {self.line}" if self.sheet else f"line {self.line}"


@dataclass
class Read:
    """One read of a channel: its name (a number, `Mean`), time if kinetic, and per well the
    cells read (several for sub-reads, averaged)."""

    name: str
    time_s: float | None
    cells: dict[str, list[Cell]] = field(default_factory=dict)


@dataclass
class Channel:
    """A label of the file (`GFP`, `OD600:600`, `Raw Data (480-14/520-30)`) and its reads."""

    label: str
    wavelengths: tuple[int, ...]
    reads: list[Read]
    where: str


@dataclass(frozen=True)
class NumberFormat:
    """The file's decimal mark, and whether it visibly groups thousands with the other mark."""

    decimal: str = "."
    grouped: bool = False


@dataclass
class Export:
    """Everything a reader file holds: plates (name -> channels, '' for an unnamed plate)."""

    instrument: str
    plates: dict[str, dict[str, Channel]]
    numbers: NumberFormat = field(default_factory=NumberFormat)
    encoding: str = ""
    detector_max: float | None = None
    repeats: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # labels seen again


class AmbiguousNumber(ValueError):
    """A number whose thousands/decimal reading the file's separators don't settle."""


def parse_number(text: str, numbers: NumberFormat) -> float:
    """A cell's number read with the file's separators; ValueError if it is no number,
    AmbiguousNumber if `3.203` could be three thousand or three (decimal-comma files)."""
    text = text.strip().replace("\u2212", "-")
    thousands = "," if numbers.decimal == "." else "."
    if _grouped(text, thousands):
        if not numbers.grouped:
            raise AmbiguousNumber(text)
        text = text.replace(thousands, "")
    elif _grouped_with_decimal(text, thousands, numbers.decimal):
        text = text.replace(thousands, "")
    if numbers.decimal == ",":
        text = text.replace(",", ".")
    elif "," in text:
        raise ValueError(text)
    return float(text)


def _grouped(text: str, mark: str) -> bool:
    """`3.203`, `12,345,678`: digits grouped by three with `mark`, nothing else."""
    return re.fullmatch(rf"[+-]?[1-9]\d{{0,2}}(\{mark}\d{{3}})+", text) is not None


def _grouped_with_decimal(text: str, mark: str, decimal: str) -> bool:
    return re.fullmatch(rf"[+-]?[1-9]\d{{0,2}}(\{mark}\d{{3}})+\{decimal}\d+", text) is not None


def number_format(rows: list[Row], delimiter: str) -> NumberFormat:
    """Decimal commas in semicolon files, or where a cell like `0,512` can be nothing else;
    thousands grouping only when a cell shows it unambiguously (`1.234,5`, `1.234.567`)."""
    cells = [c for _, row in rows for c in row if c and c[0] in "+-0123456789"]
    decimal = "," if delimiter == ";" else "."
    if delimiter != "," and any(
        re.fullmatch(r"[+-]?\d+,\d+", c) and not _grouped(c, ",") for c in cells
    ):
        decimal = ","
    thousands = "," if decimal == "." else "."
    grouped = any(
        _grouped_with_decimal(c, thousands, decimal)
        or re.fullmatch(rf"[+-]?[1-9]\d{{0,2}}(\{thousands}\d{{3}}){{2,}}", c)
        for c in cells
    )
    return NumberFormat(decimal, grouped)


# --------------------------------------------------------------------------------------------
# Files -> rows


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """Text and encoding: a byte-order mark (UTF-8, UTF-16), else UTF-8, else Windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif len(data) > 1 and data[1:200:2].count(0) > 0.9 * len(data[1:200:2]):
        candidates = ["utf-16-le"]  # UTF-16 without its mark: every other byte zero
    else:
        candidates = ["utf-8", "cp1252"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text[:20000] if ord(ch) < 32 and ch not in "\t\r\n\f")
        if controls <= len(text[:20000]) // 100:
            return text, encoding
    raise InputError(f"{path}: not a text file (export the reader data as CSV) nor xlsx")


def text_rows(text: str) -> tuple[list[Row], str]:
    """Rows of a delimited text (comma, tab or semicolon: the most used) and the delimiter."""
    lines = text.splitlines()
    sample = "\n".join(lines[:200])
    delimiter = max(_DELIMITERS, key=sample.count)
    rows = [
        (n, [c.strip() for c in cells])
        for n, cells in enumerate(csv.reader(lines, delimiter=delimiter), start=1)
    ]
    return rows, delimiter


def _cell_text(value: object) -> str:
    """A spreadsheet value as the text a CSV export would hold; floats keep every digit."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return str(value).strip()


def xlsx_sheets(path: Path, data: bytes) -> list[tuple[str, list[Row]]]:
    """Every sheet of a workbook as rows of text cells (values, not formulas); read from its
    bytes, so an xlsx saved under another extension is read too."""
    from openpyxl import load_workbook  # optional heavy import: only xlsx files need it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # a damaged workbook fails anywhere in the zip and XML layers
        raise InputError(
            f"{path}: not a text file (export the reader data as CSV) nor a readable xlsx "
            f"workbook ({first_line(err)})"
        ) from None
    try:
        return [
            (
                sheet.title,
                [
                    (n, [_cell_text(v) for v in values])
                    for n, values in enumerate(sheet.iter_rows(values_only=True), start=1)
                ],
            )
            for sheet in book.worksheets
        ]
    finally:
        book.close()


# --------------------------------------------------------------------------------------------
# Rows -> blocks


def _words(text: str) -> str:
    return " ".join(text.strip().rstrip(":").split()).lower()


def wavelengths_of(text: str) -> tuple[int, ...]:
    """Wavelengths (nm) a label names: `485/20,530/25` -> (485, 530), `OD600` -> (600,)."""
    return tuple(dict.fromkeys(int(m.group(1)) for m in _WAVELENGTH.finditer(text)))


def _grid_width(cells: list[str]) -> int:
    """The plate width when this row is a grid header (corner, then 1..12 or 1..24)."""
    for cols in (FORMATS[384][1], FORMATS[96][1]):
        numbers = cells[1 : 1 + cols]
        if len(numbers) == cols and all(_int_text(c) == i + 1 for i, c in enumerate(numbers)):
            after = cells[1 + cols] if len(cells) > 1 + cols else ""
            if _int_text(after) != cols + 1:
                return cols
    return 0


def _int_text(text: str) -> int | None:
    """'7', '07' and '7.0' (xlsx) -> 7; anything else None."""
    match = re.fullmatch(r"0*(\d+)(\.0+)?", text)
    return int(match.group(1)) if match else None


def _well_columns(cells: list[str]) -> tuple[int, list[str]]:
    """(first column, wells) when this row names two or more wells, one per column, after
    some descriptor columns (kinetic or transposed layouts); (0, []) otherwise."""
    for start, text in enumerate(cells):
        if normalize_well(text) is None:
            continue
        if start == 0:
            return 0, []
        wells = []
        for c in cells[start:]:
            well = normalize_well(c)
            if well is None:
                break
            wells.append(well)
        rest = cells[start + len(wells) :]
        if len(wells) >= 2 and not any(rest):
            return start, wells
        return 0, []
    return 0, []


def _seconds(text: str, unit: str) -> float | None:
    """A read time as written: `0:06:17`, `6:17`, or a number in the header's unit."""
    hms = _TIME_HMS.match(text)
    if hms:
        return int(hms.group(1)) * 3600 + int(hms.group(2)) * 60 + float(hms.group(3))
    ms = _TIME_MS.match(text)
    if ms:
        return int(ms.group(1)) * 60 + float(ms.group(2))
    try:
        value = float(text)
    except ValueError:
        return None
    return value * {"s": 1.0, "min": 60.0, "h": 3600.0}.get(unit, 1.0)


def _time_unit(header: str) -> str:
    unit = re.search(r"\[(s|sec|min|h)\]|\((s|sec|min|h)\)", header, re.IGNORECASE)
    if not unit:
        return "s"
    text = (unit.group(1) or unit.group(2)).lower()
    return "s" if text == "sec" else text


@dataclass
class _Context:
    """What the metadata above a block says about it."""

    label: str = ""  # an i-control 'Label: X' line: names the blocks until the next one
    label_wavelengths: list[int] = field(default_factory=list)
    title: str = ""  # the last line with a single text cell
    plate: str = ""
    wavelengths: list[int] = field(default_factory=list)  # every stated wavelength
    detector_max: float | None = None
    softmax: tuple[str, list[int]] | None = None  # a SoftMax Pro 'Plate:' line: mode, wavelengths


@dataclass
class _Scan:
    """Blocks found so far: plate -> label -> channel."""

    path: Path
    sheet: str
    plates: dict[str, dict[str, Channel]] = field(default_factory=dict)
    repeats: dict[str, dict[str, list[str]]] = field(
        default_factory=dict
    )  # plate -> label -> where

    def cell(self, text: str, line: int) -> Cell:
        return Cell(text, line, self.sheet)

    def where(self, line: int) -> str:
        return Cell("", line, self.sheet).where

    def add(self, plate: str, channel: Channel) -> None:
        """A block's channel; a label seen before in this plate is kept aside as a repeat, so
        only choosing it stops the run (group tables repeat column names)."""
        channels = self.plates.setdefault(plate, {})
        if channel.label in channels:
            seen = self.repeats.setdefault(plate, {}).setdefault(channel.label, [])
            seen.append(channel.where)
            return
        channels[channel.label] = channel


def _title(ctx: _Context, corner: str, line: int, scan: _Scan) -> tuple[str, tuple[int, ...]]:
    """A block's channel label and wavelengths: its corner cell, else the 'Label:' line
    above, else the title line above."""
    if corner and corner != "<>":
        label = corner
    elif ctx.label:
        label = ctx.label
    elif ctx.title:
        label = ctx.title
    else:
        label = f"block at {scan.where(line)}"
    label = _NUMBERING.sub("", label.strip().rstrip(":").strip())
    own = wavelengths_of(label)
    if not own and ctx.label and label == ctx.label:
        own = tuple(ctx.label_wavelengths)
    return label, own


def _put(read: Read, well: str, cell: Cell, path: Path, label: str) -> None:
    if well in read.cells:
        first = read.cells[well][0]
        raise InputError(
            f"{path}: {cell.where}: well {well} already read on {first.where}"
            + (f" (channel {label!r})" if label else "")
        )
    read.cells[well] = [cell]


def _grid(rows: list[Row], i: int, cols: int, ctx: _Context, scan: _Scan) -> int:
    """A plate grid from its header row; several reads per row (Gen5) when rows end in labels.
    Returns the index of the row after it."""
    line, header = rows[i]
    title, wavelengths = _title(ctx, header[0], line, scan)
    n_rows = FORMATS[96][0] if cols == FORMATS[96][1] else FORMATS[384][0]
    blocks: dict[str, Read] = {}
    order: list[str] = []
    j = i + 1
    for r in range(n_rows):
        letter = chr(ord("A") + r)
        if j >= len(rows):
            raise InputError(
                f"{scan.path}: {scan.where(line)}: grid {title!r} ends before row {letter}"
            )
        row_line, cells = rows[j]
        found = cells[0].upper() if cells else ""
        if found != letter:
            raise InputError(
                f"{scan.path}: {scan.where(row_line)}: grid {title!r} expects row {letter}, "
                f"found {found or 'an empty cell'!r}"
            )
        while True:
            label = cells[1 + cols] if len(cells) > 1 + cols and cells[1 + cols] else title
            if label not in blocks:
                blocks[label] = Read("1", None)
                order.append(label)
            for c in range(cols):
                text = cells[c + 1] if c + 1 < len(cells) else ""
                _put(blocks[label], f"{letter}{c + 1}", scan.cell(text, row_line), scan.path, label)
            j += 1
            following = rows[j][1] if j < len(rows) else []
            if not (following and not following[0] and len(following) > 1 + cols):
                break
            if not following[1 + cols]:
                break  # a continuation row names its read in its last cell (Gen5)
            row_line, cells = rows[j]
    for label in order:
        own = wavelengths if label == title else wavelengths_of(label)
        scan.add(ctx.plate, Channel(label, own, [blocks[label]], scan.where(line)))
    ctx.title = ""
    return j


def _wells_as_columns(
    rows: list[Row], i: int, start: int, wells: list[str], ctx: _Context, scan: _Scan
) -> int:
    """Wells as columns: one row per read (kinetic), or one row per channel (header `Well`)."""
    line, header = rows[i]
    descriptors = [_words(h) for h in header[:start]]
    j = i + 1
    if descriptors[0] in _WELL_HEADERS:  # transposed tidy table: each row is a channel
        while j < len(rows) and any(rows[j][1]):
            row_line, cells = rows[j]
            label = cells[0] or f"row {row_line}"
            read = Read("1", None)
            for k, well in enumerate(wells):
                text = cells[start + k] if start + k < len(cells) else ""
                _put(read, well, scan.cell(text, row_line), scan.path, label)
            scan.add(ctx.plate, Channel(label, wavelengths_of(label), [read], scan.where(row_line)))
            j += 1
        return j
    label, wavelengths = _title(ctx, "", line, scan)
    time_at = next((k for k, d in enumerate(descriptors) if _TIME_HEADER.match(d)), None)
    cycle_at = next((k for k, d in enumerate(descriptors) if _CYCLE_HEADER.match(d)), None)
    unit = _time_unit(header[time_at]) if time_at is not None else "s"
    reads: list[Read] = []
    while j < len(rows):
        row_line, cells = rows[j]
        if not any(cells) or (cells[0] and cycle_at != 0 and time_at != 0):
            break
        values = [cells[start + k] if start + k < len(cells) else "" for k in range(len(wells))]
        if cycle_at == 0 and _int_text(cells[0]) is None:
            break
        j += 1
        if not any(values):
            continue  # a planned read the run never made
        name = _at(cells, cycle_at) if cycle_at is not None else str(len(reads) + 1)
        if cycle_at is None and time_at is None:
            name = cells[0] or _at(cells, start - 1) or name  # e.g. a spectrum's wavelength
        time_s = _seconds(_at(cells, time_at), unit) if time_at is not None else None
        read = Read(name, time_s)
        for well, text in zip(wells, values, strict=True):
            _put(read, well, scan.cell(text, row_line), scan.path, label)
        reads.append(read)
    if reads:
        scan.add(ctx.plate, Channel(label, wavelengths, reads, scan.where(line)))
    ctx.title = ""
    return j


def _at(cells: list[str], k: int) -> str:
    return cells[k] if 0 <= k < len(cells) else ""


def _reads_as_columns(rows: list[Row], i: int, ctx: _Context, scan: _Scan) -> int:
    """A kinetic block with one column per cycle: `Cycle Nr. 1 2 …`, `Time [s] …`, then one
    row per well (i-control and SparkControl xlsx)."""
    line, header = rows[i]
    label, wavelengths = _title(ctx, "", line, scan)
    columns = [k for k in range(1, len(header)) if header[k]]
    reads = [Read(header[k], None) for k in columns]
    j = i + 1
    while j < len(rows) and any(rows[j][1]):
        row_line, cells = rows[j]
        well = normalize_well(cells[0])
        if well is None and _TIME_HEADER.match(_words(cells[0])):
            unit = _time_unit(cells[0])
            for read, k in zip(reads, columns, strict=True):
                read.time_s = _seconds(_at(cells, k), unit)
        elif well is not None:
            for read, k in zip(reads, columns, strict=True):
                _put(read, well, scan.cell(_at(cells, k), row_line), scan.path, label)
        elif _WELL_ISH.match(cells[0]) or not re.match(r"^temp", _words(cells[0])):
            break
        j += 1
    kept = [r for r in reads if any(c.text for cells in r.cells.values() for c in cells)]
    if kept:
        scan.add(ctx.plate, Channel(label, wavelengths, kept, scan.where(line)))
    ctx.title = ""
    return j


def _tidy(rows: list[Row], i: int, well_at: int, ctx: _Context, scan: _Scan) -> int:
    """A table with a well column: channel columns, or one label's `Mean`/sub-read columns."""
    line, header = rows[i]
    names = [_words(h) for h in header]
    plate_at = next((k for k, n in enumerate(names) if n == "plate" and k != well_at), None)
    time_at = next((k for k, n in enumerate(names) if _TIME_HEADER.match(n)), None)
    cycle_at = next((k for k, n in enumerate(names) if _CYCLE_HEADER.match(n)), None)
    skip = {well_at, plate_at, time_at, cycle_at}
    columns = [k for k, n in enumerate(names) if n and k not in skip]
    as_list = bool(columns) and all(
        names[k] in _LIST_VALUES | _LIST_IGNORED or _SUBREAD.match(names[k]) for k in columns
    )
    if as_list:
        label, wavelengths = _title(ctx, "", line, scan)
        mean_at = [k for k in columns if names[k] in _LIST_VALUES]
        sub_at = [k for k in columns if _SUBREAD.match(names[k])]
        parts = {label: (mean_at[:1] or sub_at, wavelengths)}
    else:
        seen = [names[k] for k in sorted([well_at, *columns])]
        twice = [n for m, n in enumerate(seen) if n in seen[:m]]
        if twice:  # the dict below would keep one of the two without a word
            raise InputError(
                f"{scan.path}: {scan.where(line)}: column {twice[0]!r} given twice; keep one"
            )
        parts = {header[k].rstrip(":").strip(): ([k], wavelengths_of(header[k])) for k in columns}
    unit = _time_unit(header[time_at]) if time_at is not None else "s"
    # plate -> label -> read key -> read
    found: dict[str, dict[str, dict[str, Read]]] = {}
    plate = ctx.plate
    j = i + 1
    while j < len(rows):
        row_line, cells = rows[j]
        text = cells[well_at] if well_at < len(cells) else ""
        if not text or not _WELL_ISH.match(text):
            break
        well = normalize_well(text)
        if well is None:
            raise InputError(
                f"{scan.path}: {scan.where(row_line)}: {text!r} is not a well name (A1 ... P24)"
            )
        if plate_at is not None and plate_at < len(cells) and cells[plate_at]:
            plate = cells[plate_at]
        key = cells[cycle_at] if cycle_at is not None and cycle_at < len(cells) else ""
        time_text = cells[time_at] if time_at is not None and time_at < len(cells) else ""
        key = key or time_text or "1"
        for label, (at, _) in parts.items():
            reads = found.setdefault(plate, {}).setdefault(label, {})
            if key not in reads:
                name = key if (cycle_at is not None or time_at is not None) else "1"
                reads[key] = Read(name, _seconds(time_text, unit) if time_text else None)
            cells_here = [scan.cell(cells[k] if k < len(cells) else "", row_line) for k in at]
            if as_list and len(at) > 1:
                cells_here = [c for c in cells_here if c.text] or cells_here[:1]
            _put(reads[key], well, cells_here[0], scan.path, label)
            reads[key].cells[well] = cells_here
        j += 1
    for plate_name, labels in found.items():
        for label, reads in labels.items():
            scan.add(
                plate_name, Channel(label, parts[label][1], list(reads.values()), scan.where(line))
            )
    ctx.title = ""
    return j


def _softmax_plate(cells: list[str], ctx: _Context) -> None:
    """A SoftMax Pro `Plate:` line: the plate's name, its read mode and wavelengths (one field
    per list, e.g. `450 650` for two absorbance wavelengths)."""
    ctx.plate = _at(cells, 1)
    mode = next(
        (c for c in cells[2:9] if re.match(r"^(absorbance|fluorescence|lumi)", c, re.I)), ""
    )
    lists = [c for c in cells[2:] if re.fullmatch(r"\d{3}( \d{3})*", c.strip())]
    ctx.softmax = (mode, [int(w) for c in lists for w in c.split()])
    ctx.title = ""


def _softmax_runs(cells: list[str]) -> tuple[int, list[int]]:
    """(plate width, first column of each grid) of a SoftMax Pro header: an empty cell, then
    `Temperature` or time columns, then one `1..12` run per wavelength, side by side."""
    for cols in (FORMATS[384][1], FORMATS[96][1]):
        starts = [
            k
            for k in range(1, len(cells) - cols + 1)
            if all(_int_text(cells[k + c]) == c + 1 for c in range(cols))
            and _int_text(_at(cells, k + cols)) != cols + 1
        ]
        if starts and not cells[0]:
            return cols, starts
    return 0, []


def _softmax_block(
    rows: list[Row], i: int, cols: int, starts: list[int], ctx: _Context, scan: _Scan
) -> int:
    """SoftMax Pro plate data: rows without letters, a grid per wavelength side by side, one
    group of rows per read (kinetic groups start with their time)."""
    mode, wavelengths = ctx.softmax or ("", [])
    line = rows[i][0]
    own: list[tuple[int, ...]]
    if len(wavelengths) == len(starts):
        labels = [f"{mode} {w}".strip() for w in wavelengths]
        own = [(w,) for w in wavelengths]
    else:
        joined = "/".join(map(str, wavelengths))
        labels = [f"{mode} {joined} #{n + 1}".strip() for n in range(len(starts))]
        own = [tuple(wavelengths)] * len(starts)
        if len(starts) == 1:
            labels = [f"{mode} {joined}".strip()]
    n_rows = FORMATS[96][0] if cols == FORMATS[96][1] else FORMATS[384][0]
    reads: list[list[Read]] = [[] for _ in starts]
    j = i + 1
    while True:
        k = j
        while k < len(rows) and not any(rows[k][1]):
            k += 1
        if k + n_rows > len(rows):
            break
        group = rows[k : k + n_rows]
        first = group[0][1][0]
        time_s = _seconds(first, "s") if first else None
        if first and time_s is None:
            break  # '~End' or the next section
        for n, start in enumerate(starts):
            read = Read(str(len(reads[n]) + 1), time_s)
            for r, (row_line, cells) in enumerate(group):
                letter = chr(ord("A") + r)
                for c in range(cols):
                    text = _at(cells, start + c)
                    _put(read, f"{letter}{c + 1}", scan.cell(text, row_line), scan.path, labels[n])
            reads[n].append(read)
        j = k + n_rows
    for n, label in enumerate(labels):
        if reads[n]:
            scan.add(ctx.plate, Channel(label, own[n], reads[n], scan.where(line)))
    ctx.softmax = None
    return j


def _metadata(cells: list[str], ctx: _Context) -> None:
    """Learn from a metadata row: 'Label:' lines, plate names, wavelengths, detector range."""
    filled = [c for c in cells if c]
    key = _words(filled[0])
    label = _LABEL_LINE.match(filled[0])
    if label:
        ctx.label, ctx.label_wavelengths, ctx.title = label.group(1).strip(), [], ""
        return
    if key in _PLATE_KEYS - {"plate"} and len(filled) >= 2:
        ctx.plate = filled[1]
    if _WAVELENGTH_KEY.search(filled[0]):
        stated = [n for c in filled for n in wavelengths_of(c)]
        ctx.wavelengths.extend(stated)
        if ctx.label:
            ctx.label_wavelengths.extend(stated)
    detector = _DETECTOR_MAX.match(filled[0])
    if detector:
        value = detector.group(7) or (filled[1] if len(filled) >= 2 else "")
        with contextlib.suppress(ValueError):
            ctx.detector_max = float(value.replace(",", ""))
    ctx.title = filled[0] if len(filled) == 1 else ""


def scan_rows(rows: list[Row], path: Path, sheet: str = "") -> tuple[_Scan, _Context]:
    """Every data block of one sheet (or text file), in order."""
    scan, ctx = _Scan(path, sheet), _Context()
    i = 0
    while i < len(rows):
        cells = rows[i][1]
        if not any(cells):
            i += 1
            continue
        cols = _grid_width(cells)
        start, wells = _well_columns(cells)
        names = [_words(c) for c in cells]
        well_at = next((k for k, n in enumerate(names) if n in _WELL_HEADERS), None)
        cycles = [_int_text(_at(cells, k)) for k in (1, 2)]
        softmax_cols, starts = _softmax_runs(cells) if ctx.softmax else (0, [])
        if cells[0] == "Plate:" and len(cells) > 5:
            _softmax_plate(cells, ctx)
            i += 1
        elif softmax_cols:
            i = _softmax_block(rows, i, softmax_cols, starts, ctx, scan)
        elif _CYCLE_HEADER.match(_words(cells[0])) and None not in cycles:
            i = _reads_as_columns(rows, i, ctx, scan)
        elif cols:
            i = _grid(rows, i, cols, ctx, scan)
        elif wells:
            i = _wells_as_columns(rows, i, start, wells, ctx, scan)
        elif well_at is not None:
            i = _tidy(rows, i, well_at, ctx, scan)
        else:
            _metadata(cells, ctx)
            i += 1
    return scan, ctx


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


def _export(
    scan: _Scan,
    ctx: _Context,
    instrument: str,
    encoding: str,
    rows: list[Row],
    delimiter: str,
) -> Export:
    plates = scan.plates
    if not plates:
        raise InputError(
            f"{scan.path}: neither a tidy table (a 'well' column) nor plate grids "
            "(a header 1..12 or 1..24 and rows A..H or A..P)"
        )
    channels = [c for chans in plates.values() for c in chans.values()]
    stated = sorted(set(ctx.wavelengths))
    if len(channels) == 1 and not channels[0].wavelengths and len(stated) == 1:
        channels[0].wavelengths = (stated[0],)  # Magellan: 'Measurement wavelength: 595 nm'
    return Export(
        instrument,
        plates,
        number_format(rows, delimiter),
        encoding,
        ctx.detector_max,
        scan.repeats,
    )


def _read_xlsx(path: Path, data: bytes) -> Export:
    """The first sheet that holds plate data (later ones repeat it as tables, or hold the
    protocol)."""
    sheets = xlsx_sheets(path, data)
    for title, rows in sheets:
        scan, ctx = scan_rows(rows, path, title)
        if scan.plates:
            text = "\n".join(",".join(cells) for _, cells in rows)
            return _export(scan, ctx, instrument_of(text, "xlsx table"), "xlsx", rows, ",")
    if not any(any(cells) for _, rows in sheets for _, cells in rows):
        raise InputError(f"{path}: the plate-reader file is empty")
    return _export(_Scan(path, ""), _Context(), "", "xlsx", [], ",")


def workbook_bytes(rows: list[list[object]]) -> bytes:
    """An xlsx workbook of one sheet holding `rows` (tests and examples write these)."""
    from openpyxl import Workbook  # optional heavy import

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
