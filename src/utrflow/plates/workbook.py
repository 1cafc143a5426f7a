"""Workbooks as labs save them: one sheet per plate, and formulas without saved values.

The export reader takes a workbook's first sheet that holds plate data (later ones repeat it as
tables, or hold the protocol). A workbook a student assembled may hold a sheet per plate
instead: read as one, every plate would take the first sheet's readings. Here each sheet whose
readings are not a repeat of an earlier sheet's becomes a plate block named by its sheet, so a
plate is read from the sheet named like it (or the one `reader_plate` names), and a workbook
whose sheets name no plate of the sheet stops asking which. A workbook written by a script
(openpyxl, pandas with formulas) holds formulas whose values no spreadsheet program has saved:
read as values they are empty cells, so it stops with one line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from pathlib import Path

from utrflow.errors import InputError
from utrflow.plates.exports import Export, read_export, scan_rows, xlsx_sheets

_XLSX_MAGIC = b"PK\x03\x04"


def _column_letter(index: int) -> str:
    """A 0-based column as a spreadsheet names it: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _formulas_without_values(data: bytes) -> list[tuple[str, str]]:
    """(sheet, cell) of every formula whose value the workbook does not hold."""
    from openpyxl import load_workbook

    found: list[tuple[str, str]] = []
    formulas = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    values = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for with_formulas, with_values in zip(formulas.worksheets, values.worksheets, strict=True):
            rows = zip(
                with_formulas.iter_rows(values_only=True),
                with_values.iter_rows(values_only=True),
                strict=False,
            )
            for r, (formula_row, value_row) in enumerate(rows, start=1):
                for c, (formula, value) in enumerate(zip(formula_row, value_row, strict=False)):
                    if isinstance(formula, str) and formula.startswith("=") and value is None:
                        found.append((with_formulas.title, f"{_column_letter(c)}{r}"))
    finally:
        formulas.close()
        values.close()
    return found


def _signature(export_plates: dict[str, dict]) -> frozenset[tuple[str, str]]:
    """What a sheet reads, whatever its layout: every (well, cell text) of every channel."""
    return frozenset(
        (well, cell.text)
        for channels in export_plates.values()
        for channel in channels.values()
        for read in channel.reads
        for well, cells in read.cells.items()
        for cell in cells
    )


def _distinct_sheets(path: Path, data: bytes) -> dict[str, dict[str, dict]]:
    """A workbook's sheets that hold readings no earlier sheet holds: title -> plate blocks
    (block name, as the sheet's own metadata names it, -> channels)."""
    sheets: dict[str, dict] = {}
    seen: set[tuple[str, str]] = set()
    for title, rows in xlsx_sheets(path, data):
        scan, _ = scan_rows(rows, path, title)
        signature = _signature(scan.plates)
        if not scan.plates or signature <= seen:
            continue  # no plate data, or a repeat of earlier sheets' readings
        seen |= signature
        sheets[title] = scan.plates
    return sheets


def sheet_plate_names(path: str | Path) -> dict[str, str]:
    """For a workbook read as a sheet per plate: each one-block sheet's title -> the plate name
    its own metadata gives (`Plate ID`, Gen5's `Plate`...), where it gives one; else empty.
    A student renames or reorders sheets; the metadata is what the reader wrote."""
    path = Path(path)
    data = path.read_bytes()
    if not data.startswith(_XLSX_MAGIC):
        return {}
    sheets = _distinct_sheets(path, data)
    if len(sheets) < 2:
        return {}
    return {
        title: next(iter(blocks))
        for title, blocks in sheets.items()
        if len(blocks) == 1 and next(iter(blocks))
    }


def read_plate_export(path: str | Path) -> Export:
    """A reader file's plates (`read_export`), with a workbook's sheets of distinct readings as
    plate blocks named by their sheet; a workbook's formulas without saved values stop."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError:
        data = b""  # read_export names it
    missing = []
    if data.startswith(_XLSX_MAGIC):
        with contextlib.suppress(Exception):  # a damaged workbook: read_export names it
            missing = _formulas_without_values(data)
    if missing:
        sheet, cell = missing[0]
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise InputError(
            f"{path}: sheet {sheet!r} cell {cell}{more}: a formula without a saved value (a "
            "workbook written by a script, never saved by a spreadsheet program): open and save "
            "it in Excel or LibreOffice, or export the readings as CSV"
        )
    export = read_export(path)
    if not data.startswith(_XLSX_MAGIC):
        return export
    sheets = _distinct_sheets(path, data)
    if len(sheets) < 2:
        return export
    plates = {}
    for title, blocks in sheets.items():
        for name, channels in blocks.items():
            plates[title if len(blocks) == 1 or not name else f"{title} {name}"] = channels
    return dataclasses.replace(export, plates=plates, repeats={})
