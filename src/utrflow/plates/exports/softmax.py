"""SoftMax Pro plate blocks: a `Plate:` line, then grids side by side, one row group per read."""

from __future__ import annotations

from utrflow.geometry import FORMATS, normalize_well
from utrflow.plates.exports.base import (
    Channel,
    Context,
    Read,
    Row,
    Scan,
    SoftMaxPlate,
    at,
    int_text,
    put,
    seconds,
)


def softmax_plate(cells: list[str], ctx: Context) -> None:
    """A SoftMax Pro `Plate:` line: name, format (`PlateFormat` grids or `TimeFormat` wells as
    columns), read mode, then the number of wavelengths and their list (emission for
    fluorescence), first column, columns, wells, and for fluorescence the excitation list."""
    ctx.plate = at(cells, 1)
    mode = at(cells, 5) if at(cells, 5) else "Plate"
    k = next(
        (
            k
            for k in range(9, len(cells) - 1)
            if int_text(cells[k])
            and len(cells[k + 1].split()) == int_text(cells[k])
            and all(w.isdigit() for w in cells[k + 1].split())
        ),
        0,
    )
    emission = [int(w) for w in cells[k + 1].split()] if k else []
    first, columns, wells = (int_text(at(cells, k + n)) or 0 for n in (2, 3, 4))
    excitation = at(cells, k + 5).split() if mode.lower().startswith("fluor") and k else []
    labels: list[str] = []
    own: list[tuple[int, ...]] = []
    for n, w in enumerate(emission):
        x = int(excitation[n]) if len(excitation) == len(emission) else 0
        own.append((x, w) if x else (w,) if w else ())
        labels.append(f"{mode} {x}/{w}" if x else f"{mode} {w}" if w else mode)
    if len(set(labels)) < len(labels):  # the same wavelengths read twice: number them
        labels = [f"{label} #{n + 1}" for n, label in enumerate(labels)]
    spectrum = at(cells, 4) == "Spectrum"
    if spectrum or at(cells, 6) == "Reduced":  # one block: a scan, or values computed
        labels, own = [f"{mode} {'spectrum' if spectrum else 'reduced'}"], [()]
    whole = k and first == 1 and columns in (12, 24) and wells in FORMATS
    ctx.softmax = SoftMaxPlate(
        labels,
        own,
        wells if whole else 0,
        first or 1,
        columns if k else 0,
        wells // columns if k and columns else 0,
        spectrum,
    )
    ctx.title = ""


def _labels(found: SoftMaxPlate | None, blocks: int) -> tuple[list[str], list[tuple[int, ...]]]:
    """One label per block of data: the plate line's, else numbered ones."""
    if found and len(found.labels) == blocks:
        return found.labels, found.wavelengths
    label = found.labels[0].split()[0] if found and found.labels else "Plate"
    return [f"{label} #{n + 1}" for n in range(blocks)], [()] * blocks


def softmax_runs(cells: list[str], found: SoftMaxPlate) -> tuple[int, list[int]]:
    """(columns, first cell of each grid) of a SoftMax Pro header: an empty cell, then
    `Temperature` or time columns, then one run of column numbers per wavelength (`1..12`,
    or the plate line's columns of a partial plate), side by side."""
    widths = [(found.columns, found.first_column)] if found.columns else []
    for cols, first in [*widths, (FORMATS[384][1], 1), (FORMATS[96][1], 1)]:
        starts = [
            k
            for k in range(1, len(cells) - cols + 1)
            if all(int_text(cells[k + c]) == first + c for c in range(cols))
            and int_text(at(cells, k + cols)) != first + cols
        ]
        if starts and not cells[0]:
            found.first_column = first
            if (cols, first) not in widths:
                found.rows = 0  # a whole plate's grid although the plate line said less
            return cols, starts
    return 0, []


def softmax_block(
    rows: list[Row], i: int, cols: int, starts: list[int], ctx: Context, scan: Scan
) -> int:
    """SoftMax Pro plate data: rows without letters, a grid per wavelength side by side, one
    group of rows per read (kinetic groups start with their time)."""
    line = rows[i][0]
    labels, own = _labels(ctx.softmax, len(starts))
    found = ctx.softmax or SoftMaxPlate([], [], 0)
    n_rows = found.rows or (FORMATS[96][0] if cols == FORMATS[96][1] else FORMATS[384][0])
    reads: list[list[Read]] = [[] for _ in starts]
    j = i + 1
    while True:
        k = j
        while k > i + 1 and k < len(rows) and not any(rows[k][1]):
            k += 1  # blank lines between reads (a first group's blank rows are unread rows)
        if k + n_rows > len(rows):
            break
        group = rows[k : k + n_rows]
        first = group[0][1][0]
        time_s = seconds(first, "s") if first else None
        if first and time_s is None:
            break  # '~End' or the next section
        head = group[0][1]
        numbers = [int_text(at(head, starts[0] + c)) for c in range(cols)]
        if not head[0] and numbers == list(range(found.first_column, found.first_column + cols)):
            break  # the header of the reduced values' grid
        if found.spectrum:
            time_s = None  # a spectrum's rows start with their wavelength
        for n, start in enumerate(starts):
            read = Read(first if found.spectrum else str(len(reads[n]) + 1), time_s)
            for r, (row_line, cells) in enumerate(group):
                letter = chr(ord("A") + r)
                for c in range(cols):
                    text = at(cells, start + c)
                    well = f"{letter}{found.first_column + c}"
                    put(read, well, scan.cell(text, row_line), scan.path, labels[n])
            reads[n].append(read)
        j = k + n_rows
    for n, label in enumerate(labels):
        if reads[n]:
            channel = Channel(label, own[n], reads[n], scan.where(line), found.plate_format)
            scan.add(ctx.plate, channel)
    ctx.softmax = None
    return j


def softmax_wells(
    rows: list[Row], i: int, start: int, wells: list[str], ctx: Context, scan: Scan
) -> int:
    """SoftMax Pro `TimeFormat` data: wells as columns, one row per read, the rows of each
    wavelength apart from the next by blank lines; a second well header that follows holds
    reduced (calculated) values, not readings."""
    line = rows[i][0]
    groups: list[list[Row]] = [[]]
    j = i + 1
    while j < len(rows):
        row_line, cells = rows[j]
        if not any(cells):
            if groups[-1]:
                groups.append([])
            j += 1
            continue
        first = cells[0]
        if (first and seconds(first, "s") is None) or not any(cells[start:]):
            break
        if normalize_well(at(cells, start)):
            break  # the header of the reduced values
        groups[-1].append(rows[j])
        j += 1
    groups = [g for g in groups if g]
    found = ctx.softmax
    if found and len(groups) == 1 and len(found.labels) == len(groups[0]) > 1:
        groups = [[row] for row in groups[0]]  # one row per wavelength, no blank lines
    labels, own = _labels(found, len(groups))
    for label, wavelengths, group in zip(labels, own, groups, strict=True):
        reads: list[Read] = []
        for row_line, cells in group:
            read = Read(str(len(reads) + 1), seconds(cells[0], "s") if cells[0] else None)
            for k, well in enumerate(wells):
                put(read, well, scan.cell(at(cells, start + k), row_line), scan.path, label)
            reads.append(read)
        fmt = found.plate_format if found else 0
        scan.add(ctx.plate, Channel(label, wavelengths, reads, scan.where(line), fmt))
    reduced = found and not found.labels[0].endswith(" reduced")
    if reduced and j < len(rows) and not at(rows[j][1], 0) and not at(rows[j][1], 1):
        mode = found.labels[0].split()[0] if found and found.labels else "Plate"
        ctx.softmax = SoftMaxPlate([f"{mode} reduced"], [()], found.plate_format if found else 0)
        return j  # the reduced values' header: read next, as their own block
    ctx.softmax = None
    return j
