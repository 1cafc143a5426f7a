"""SoftMax Pro plate blocks: a `Plate:` line, then grids side by side, one row group per read."""

from __future__ import annotations

import re

from utrflow.plates.exports.base import (
    Channel,
    Context,
    Read,
    Row,
    Scan,
    at,
    int_text,
    put,
    seconds,
)
from utrflow.plates.geometry import FORMATS


def softmax_plate(cells: list[str], ctx: Context) -> None:
    """A SoftMax Pro `Plate:` line: the plate's name, its read mode and wavelengths (one field
    per list, e.g. `450 650` for two absorbance wavelengths)."""
    ctx.plate = at(cells, 1)
    mode = next(
        (c for c in cells[2:9] if re.match(r"^(absorbance|fluorescence|lumi)", c, re.I)), ""
    )
    lists = [c for c in cells[2:] if re.fullmatch(r"\d{3}( \d{3})*", c.strip())]
    ctx.softmax = (mode, [int(w) for c in lists for w in c.split()])
    ctx.title = ""


def softmax_runs(cells: list[str]) -> tuple[int, list[int]]:
    """(plate width, first column of each grid) of a SoftMax Pro header: an empty cell, then
    `Temperature` or time columns, then one `1..12` run per wavelength, side by side."""
    for cols in (FORMATS[384][1], FORMATS[96][1]):
        starts = [
            k
            for k in range(1, len(cells) - cols + 1)
            if all(int_text(cells[k + c]) == c + 1 for c in range(cols))
            and int_text(at(cells, k + cols)) != cols + 1
        ]
        if starts and not cells[0]:
            return cols, starts
    return 0, []


def softmax_block(
    rows: list[Row], i: int, cols: int, starts: list[int], ctx: Context, scan: Scan
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
        time_s = seconds(first, "s") if first else None
        if first and time_s is None:
            break  # '~End' or the next section
        for n, start in enumerate(starts):
            read = Read(str(len(reads[n]) + 1), time_s)
            for r, (row_line, cells) in enumerate(group):
                letter = chr(ord("A") + r)
                for c in range(cols):
                    text = at(cells, start + c)
                    put(read, f"{letter}{c + 1}", scan.cell(text, row_line), scan.path, labels[n])
            reads[n].append(read)
        j = k + n_rows
    for n, label in enumerate(labels):
        if reads[n]:
            scan.add(ctx.plate, Channel(label, own[n], reads[n], scan.where(line)))
    ctx.softmax = None
    return j
