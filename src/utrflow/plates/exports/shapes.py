"""The block shapes: grids, wells as columns, reads as columns, tables with a well column."""

from __future__ import annotations

import re
from dataclasses import dataclass

from utrflow.errors import InputError
from utrflow.geometry import FORMATS, normalize_well
from utrflow.plates.exports.base import (
    CYCLE_HEADER,
    LIST_IGNORED,
    LIST_VALUES,
    NUMBER_ISH,
    SUBREAD,
    TIME_HEADER,
    WELL_HEADERS,
    WELL_ISH,
    Channel,
    Context,
    Read,
    Row,
    Scan,
    at,
    int_text,
    put,
    seconds,
    time_unit,
    title_of,
    wavelengths_of,
    words,
)


def grid_width(cells: list[str]) -> int:
    """The plate width when this row is a grid header (corner, then 1..12 or 1..24)."""
    for cols in (FORMATS[384][1], FORMATS[96][1]):
        numbers = cells[1 : 1 + cols]
        if len(numbers) == cols and all(int_text(c) == i + 1 for i, c in enumerate(numbers)):
            after = cells[1 + cols] if len(cells) > 1 + cols else ""
            if int_text(after) != cols + 1:
                return cols
    return 0


def well_columns(cells: list[str]) -> tuple[int, list[str]]:
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


def grid(rows: list[Row], i: int, cols: int, ctx: Context, scan: Scan) -> int:
    """A plate grid from its header row; several reads per row (Gen5) when rows end in labels.
    Returns the index of the row after it."""
    line, header = rows[i]
    if header[0] not in ("", "<>") and ctx.title and ctx.block_wavelengths:
        ctx.plate = ctx.title  # SkanIt: 'Wavelength: 260 nm', the plate's name, its grids
    title, wavelengths = title_of(ctx, header[0], line, scan)
    if not wavelengths and len(ctx.block_wavelengths) == 1:  # SkanIt: 'Wavelength: 214 nm'
        wavelengths = tuple(ctx.block_wavelengths)
        title = f"{title}:{wavelengths[0]}"
    ctx.block_wavelengths = []
    n_rows = FORMATS[96][0] if cols == FORMATS[96][1] else FORMATS[384][0]
    blocks: dict[str, Read] = {}
    order: list[str] = []
    j = i + 1
    r = 0
    skipped: tuple[int, str, str] | None = None  # the first row left out: its line, letter, found
    while r < n_rows:
        letter = chr(ord("A") + r)
        if (j >= len(rows) or not at(rows[j][1], 0)) and _sparse(order, blocks, letter):
            break  # past the last row of a plate read on a row pattern
        if j >= len(rows):
            raise InputError(
                f"{scan.path}: {scan.where(line)}: grid {title!r} ends before row {letter}"
            )
        row_line, cells = rows[j]
        found = cells[0].upper() if cells else ""
        if len(found) == 1 and letter < found < chr(ord("A") + n_rows) and not _a_layout(blocks):
            skipped = skipped or (row_line, letter, found)
            r, letter = ord(found) - ord("A"), found  # rows left out: a pattern (EnVision)
        if found != letter and _a_layout(blocks):
            scan.summaries.append(f"{title!r} ({scan.where(line)}): a layout, rows cut short")
            ctx.title = ""
            return j  # a layout of sample names written over several lines per row (SkanIt)
        if found != letter:
            raise _wrong_row(scan, title, row_line, letter, found)
        while True:
            label = cells[1 + cols] if len(cells) > 1 + cols and cells[1 + cols] else title
            if label not in blocks:
                blocks[label] = Read("1", None)
                order.append(label)
            for c in range(cols):
                text = cells[c + 1] if c + 1 < len(cells) else ""
                put(blocks[label], f"{letter}{c + 1}", scan.cell(text, row_line), scan.path, label)
            j += 1
            following = rows[j][1] if j < len(rows) else []
            if not (following and not following[0] and len(following) > 1 + cols):
                break
            if not following[1 + cols]:
                break  # a continuation row names its read in its last cell (Gen5)
            row_line, cells = rows[j]
        r += 1
    if skipped and not _row_pattern(order, blocks, n_rows):
        raise _wrong_row(scan, title, *skipped)  # a row lost, not a plate read on a pattern
    for label in order:
        own = wavelengths if label == title else wavelengths_of(label)
        scan.add(ctx.plate, Channel(label, own, [blocks[label]], scan.where(line), n_rows * cols))
    ctx.title = ""
    return j


def _wrong_row(scan: Scan, title: str, line: int, letter: str, found: str) -> InputError:
    """The line that stops a grid whose rows are not the plate's, in order."""
    return InputError(
        f"{scan.path}: {scan.where(line)}: grid {title!r} expects row {letter}, "
        f"found {found or 'an empty cell'!r}"
    )


def _row_pattern(order: list[str], blocks: dict[str, Read], n_rows: int) -> bool:
    """Are the grid's rows a whole regular pattern from A (EnVision's A, E, I, M of 16)? Rows
    left out any other way (A, C and no more) are a row lost in the file, which must stop."""
    rows = sorted({ord(well[0]) - ord("A") for label in order for well in blocks[label].cells})
    if len(rows) < 2:
        return False
    stride = rows[1] - rows[0]
    return stride > 1 and rows == list(range(0, n_rows, stride))


def _sparse(order: list[str], blocks: dict[str, Read], letter: str) -> bool:
    """Has the grid so far left out a row before `letter` (a plate read on a row pattern)?"""
    rows = {well[0] for label in order for well in blocks[label].cells}
    return len(rows) < ord(letter) - ord("A")


def _a_layout(blocks: dict[str, Read]) -> bool:
    """Whether the rows of a grid read so far are mostly text: sample names, not readings."""
    texts = [c.text for r in blocks.values() for cells in r.cells.values() for c in cells if c.text]
    return bool(texts) and sum(1 for x in texts if NUMBER_ISH.match(x)) < len(texts) / 2


def wells_as_columns(
    rows: list[Row], i: int, start: int, wells: list[str], ctx: Context, scan: Scan
) -> int:
    """Wells as columns: one row per read (kinetic), or one row per channel (header `Well`)."""
    line, header = rows[i]
    descriptors = [words(h) for h in header[:start]]
    j = i + 1
    named = [k for k, d in enumerate(descriptors) if d in WELL_HEADERS]
    if named:  # a `Well` header: each row is a channel named in that column (Gen5 xlsx)
        while j < len(rows) and any(rows[j][1]):
            row_line, cells = rows[j]
            label = at(cells, named[0]) or next((c for c in cells[:start] if c), "")
            label = label or f"row {row_line}"
            read = Read("1", None)
            for k, well in enumerate(wells):
                put(read, well, scan.cell(at(cells, start + k), row_line), scan.path, label)
            scan.add(ctx.plate, Channel(label, wavelengths_of(label), [read], scan.where(row_line)))
            j += 1
        return j
    label, wavelengths = title_of(ctx, "", line, scan)
    time_at = next((k for k, d in enumerate(descriptors) if TIME_HEADER.match(d)), None)
    cycle_at = next((k for k, d in enumerate(descriptors) if CYCLE_HEADER.match(d)), None)
    unit = time_unit(header[time_at]) if time_at is not None else "s"
    reads: list[Read] = []
    while j < len(rows):
        row_line, cells = rows[j]
        if not any(cells) or (cells[0] and cycle_at != 0 and time_at != 0):
            break
        values = [cells[start + k] if start + k < len(cells) else "" for k in range(len(wells))]
        if cycle_at == 0 and int_text(cells[0]) is None:
            break
        j += 1
        if not any(values):
            continue  # a planned read the run never made
        name = at(cells, cycle_at) if cycle_at is not None else str(len(reads) + 1)
        if cycle_at is None and time_at is None:
            name = cells[0] or at(cells, start - 1) or name  # e.g. a spectrum's wavelength
        time_s = seconds(at(cells, time_at), unit) if time_at is not None else None
        read = Read(name, time_s)
        for well, text in zip(wells, values, strict=True):
            put(read, well, scan.cell(text, row_line), scan.path, label)
        reads.append(read)
    if cycle_at is None and time_at is None:
        _reads_or_channels(reads, label, scan.where(line), scan)
    if reads:
        scan.add(ctx.plate, Channel(label, wavelengths, reads, scan.where(line)))
    ctx.title = ""
    return j


def _reads_or_channels(reads: list[Read], label: str, where: str, scan: Scan) -> None:
    """Rows under a wells header without a time or cycle column, named by text: they could be
    reads of one channel or channels of their own; stop rather than guess."""
    names = [r.name for r in reads]
    texts = [n for n in names if not NUMBER_ISH.match(n)]
    if len(reads) > 1 and texts:
        shown = ", ".join(repr(n) for n in names[:4]) + (" ..." if len(names) > 4 else "")
        raise InputError(
            f"{scan.path}: {where}: {len(names)} rows named {shown} under one wells header "
            f"({label!r}) could be channels or reads of one channel; write 'Well' in the "
            "header cell above their names if they are channels, or add a 'Time' column if "
            "they are reads"
        )


def reads_as_columns(rows: list[Row], i: int, ctx: Context, scan: Scan) -> int:
    """A kinetic block with one column per cycle: `Cycle Nr. 1 2 …`, `Time [s] …`, then one
    row per well (i-control and SparkControl xlsx)."""
    line, header = rows[i]
    label, wavelengths = title_of(ctx, "", line, scan)
    columns = [k for k in range(1, len(header)) if header[k]]
    reads = [Read(header[k], None) for k in columns]
    j = i + 1
    while j < len(rows) and any(rows[j][1]):
        row_line, cells = rows[j]
        well = normalize_well(cells[0])
        if well is None and TIME_HEADER.match(words(cells[0])):
            unit = time_unit(cells[0])
            for read, k in zip(reads, columns, strict=True):
                read.time_s = seconds(at(cells, k), unit)
        elif well is not None:
            for read, k in zip(reads, columns, strict=True):
                put(read, well, scan.cell(at(cells, k), row_line), scan.path, label)
        elif WELL_ISH.match(cells[0]) or not re.match(r"^temp", words(cells[0])):
            break
        j += 1
    kept = [r for r in reads if any(c.text for cells in r.cells.values() for c in cells)]
    if kept:
        scan.add(ctx.plate, Channel(label, wavelengths, kept, scan.where(line)))
    ctx.title = ""
    return j


# Rows between a well table's header and its first well that only describe the columns: each
# label's time and temperature, the plate format, a legend (Magellan: `0s`, `24.8 °C`,
# `384 well`, `Label2=700`).
COLUMN_NOTE = re.compile(
    r"^(\d+(\.\d+)?\s*(s|min|h|ms)|-?\d+(\.\d+)?\s*°\s*[CF]|\d+\s*wells?|label\s*\d+\s*=\s*\d+)$",
    re.I,
)


def _column_notes(rows: list[Row], j: int) -> int:
    """The first row after `j`'s column notes (at most three rows of them)."""
    for _ in range(3):
        notes = [c.strip() for c in rows[j][1] if c.strip()] if j < len(rows) else []
        if not notes or not all(COLUMN_NOTE.match(c) for c in notes):
            break
        j += 1
    return j


Parts = dict[str, tuple[list[int], tuple[int, ...]]]  # label -> (its value columns, wavelengths)
Found = dict[str, dict[str, dict[str, Read]]]  # plate -> label -> read key -> read


@dataclass(frozen=True)
class _Columns:
    """Where a well table's columns are: the well, the plate, the read's time and cycle, and
    each label's value columns; `as_list` for one label's `Mean`/sub-read list."""

    well_at: int
    plate_at: int | None
    time_at: int | None
    cycle_at: int | None
    as_list: bool
    parts: Parts
    unit: str  # of the time column


def tidy(rows: list[Row], i: int, well_at: int, ctx: Context, scan: Scan) -> int:
    """A table with a well column: channel columns, or one label's `Mean`/sub-read columns."""
    line = rows[i][0]
    columns = _tidy_columns(rows[i], well_at, ctx, scan)
    found: Found = {}
    j = _tidy_rows(rows, _column_notes(rows, i + 1), columns, ctx.plate, found, scan)
    for plate_name, labels in found.items():
        for label, reads in labels.items():
            if not any(c.text for r in reads.values() for cs in r.cells.values() for c in cs):
                continue  # a header cell over no readings (Magellan's `Label1=535` legend)
            wavelengths = columns.parts[label][1]
            scan.add(
                plate_name, Channel(label, wavelengths, list(reads.values()), scan.where(line))
            )
    ctx.title = ""
    return j


def _tidy_columns(header_row: Row, well_at: int, ctx: Context, scan: Scan) -> _Columns:
    """What each column of a well table's header holds; a channel named twice stops here
    (one of the two would be lost without a word)."""
    line, header = header_row
    names = [words(h) for h in header]
    plate_at = next((k for k, n in enumerate(names) if n == "plate" and k != well_at), None)
    time_at = next((k for k, n in enumerate(names) if TIME_HEADER.match(n)), None)
    cycle_at = next((k for k, n in enumerate(names) if CYCLE_HEADER.match(n)), None)
    skip = {well_at, plate_at, time_at, cycle_at}
    columns = [k for k, n in enumerate(names) if n and k not in skip]
    as_list = bool(columns) and all(
        names[k] in LIST_VALUES | LIST_IGNORED or SUBREAD.match(names[k]) for k in columns
    )
    if as_list and cycle_at is None:
        time_at = None  # a list's time column is when each well was read, within one read
    parts: Parts
    if as_list:
        label, wavelengths = title_of(ctx, "", line, scan)
        mean_at = [k for k in columns if names[k] in LIST_VALUES]
        sub_at = [k for k in columns if SUBREAD.match(names[k])]
        parts = {label: (mean_at[:1] or sub_at, wavelengths)}
    else:
        seen = [names[k] for k in sorted([well_at, *columns])]
        twice = [n for m, n in enumerate(seen) if n in seen[:m]]
        if twice:  # the dict below would keep one of the two without a word
            raise InputError(
                f"{scan.path}: {scan.where(line)}: column {twice[0]!r} given twice; keep one"
            )
        parts = {header[k].rstrip(":").strip(): ([k], wavelengths_of(header[k])) for k in columns}
    unit = time_unit(header[time_at]) if time_at is not None else "s"
    return _Columns(well_at, plate_at, time_at, cycle_at, as_list, parts, unit)


def _tidy_rows(
    rows: list[Row], j: int, columns: _Columns, plate: str, found: Found, scan: Scan
) -> int:
    """The table's well rows from `j` into `found`, until a row without a well; returns the
    first row after them. A plate column switches the plate; cycle or time keys the read."""
    cycle_at, time_at = columns.cycle_at, columns.time_at
    while j < len(rows):
        row_line, cells = rows[j]
        text = cells[columns.well_at] if columns.well_at < len(cells) else ""
        if not text or not WELL_ISH.match(text):
            break
        well = normalize_well(text)
        if well is None:
            raise InputError(
                f"{scan.path}: {scan.where(row_line)}: {text!r} is not a well name (A1 ... P24)"
            )
        plate_at = columns.plate_at
        if plate_at is not None and plate_at < len(cells) and cells[plate_at]:
            plate = cells[plate_at]
        key = cells[cycle_at] if cycle_at is not None and cycle_at < len(cells) else ""
        time_text = cells[time_at] if time_at is not None and time_at < len(cells) else ""
        key = key or time_text or "1"
        for label, (columns_at, _) in columns.parts.items():
            reads = found.setdefault(plate, {}).setdefault(label, {})
            if key not in reads:
                name = key if (cycle_at is not None or time_at is not None) else "1"
                at_time = seconds(time_text, columns.unit) if time_text else None
                reads[key] = Read(name, at_time)
            cells_here = [scan.cell(at(cells, k), row_line) for k in columns_at]
            if columns.as_list and len(columns_at) > 1:
                cells_here = [c for c in cells_here if c.text] or cells_here[:1]
            put(reads[key], well, cells_here[0], scan.path, label)
            reads[key].cells[well] = cells_here
        j += 1
    return j
