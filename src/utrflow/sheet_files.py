"""Sheets as people save them: the cells of a small table, whatever made the file.

A spreadsheet saves "tab-separated" as CSV, Excel saves UTF-16 text or xlsx, a header is typed
`Fwd Barcode`: none of that should cost a lab a failed run. The encoding and the separator are
read from the content, never the file's extension; headers are compared in one spelling.
"""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path
from typing import Any

from utrflow.errors import InputError, first_line

Cells = list[tuple[int, list[str]]]  # (line or spreadsheet row, stripped cells), blank rows kept
SEPARATORS = "\t,;"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # in no sheet saved as text
SEP_HINT = re.compile(r"sep=([\t,;])")  # Excel's first line naming the separator
HEADER_SEARCH = 10  # rows looked through for the header (titles above it)
EXPECTED = "a table with a header row: tab-, comma- or semicolon-separated text, or xlsx"


def header_key(name: str) -> str:
    """One spelling of a column name: `Fwd Barcode`, ` fwd-barcode ` -> `fwd_barcode`."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _decode(raw: bytes, path: Path) -> str:
    """The text of a sheet: UTF-8 (a BOM or not), UTF-16 (a BOM or not), else Windows-1252."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    head = raw[:200]
    if len(head) >= 4 and head[1::2].count(0) > len(head) // 4:
        return raw.decode("utf-16-le", errors="strict")
    if len(head) >= 4 and head[0::2].count(0) > len(head) // 4:
        return raw.decode("utf-16-be", errors="strict")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _separator(text: str, required: tuple[str, ...] = ()) -> str:
    """The separator Excel's hint line names (`sep=;`, its first line), else the one that splits
    a line among the first few into the `required` columns (the header under a title), else
    the one the first line uses most (a tab wins ties: names rarely hold one)."""
    lines = [line for line in text.splitlines() if line.strip()]
    hint = SEP_HINT.fullmatch(lines[0].strip()) if lines else None
    if hint:
        return hint.group(1)
    for line in lines[:HEADER_SEARCH] if required else []:
        for sep in SEPARATORS:
            if set(required) <= {header_key(cell) for cell in line.split(sep)}:
                return sep
    header = lines[0] if lines else ""
    return max(SEPARATORS, key=lambda sep: (header.count(sep), sep == "\t"))


def header_row(cells: Cells, required: tuple[str, ...]) -> int:
    """Where the header is: the first of the first rows naming every `required` column (a
    student's title rows, or Excel's `sep=` line, above it), else the first row."""
    for i, (_, row) in enumerate(cells[:HEADER_SEARCH]):
        if set(required) <= {header_key(cell) for cell in row}:
            return i
    return 0


def _fill_merged(sheet: Any) -> None:
    """Cells merged down a column (a student's `P1` spanning its plate's rows) hold their value
    in the top cell only, the rest read empty: give each row the value, as the sheet shows it.
    Merges along one row (a title across columns) are left as they are."""
    for merged in list(sheet.merged_cells.ranges):
        if merged.min_row == merged.max_row:
            continue
        value = sheet.cell(merged.min_row, merged.min_col).value
        sheet.unmerge_cells(str(merged))
        for row in range(merged.min_row, merged.max_row + 1):
            for col in range(merged.min_col, merged.max_col + 1):
                sheet.cell(row, col).value = value


def _xlsx_cells(path: Path) -> Cells:
    """The first worksheet's cells as text (whole numbers without a trailing `.0`)."""
    from openpyxl import load_workbook  # optional heavy import: only xlsx sheets need it

    try:
        book = load_workbook(path, data_only=True)  # not read-only: that hides merged cells
    except Exception as err:  # openpyxl raises many kinds for a damaged file
        raise InputError(f"{path}: not a readable xlsx file ({first_line(err)})") from None
    sheet = book.worksheets[0]
    _fill_merged(sheet)
    cells: Cells = []
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        texts = [
            str(int(v)) if isinstance(v, float) and v.is_integer() else "" if v is None else str(v)
            for v in row
        ]
        cells.append((number, [t.strip() for t in texts]))
    book.close()
    return cells


def read_cells(path: Path, required: tuple[str, ...] = ()) -> Cells:
    """Every row of a sheet file as stripped cells with its line, one line if unreadable;
    `required` columns help find the separator of a header under a title."""
    raw = path.read_bytes()
    if raw.startswith(b"PK\x03\x04"):
        return _xlsx_cells(path)
    try:
        text = _decode(raw, path)
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not readable text ({first_line(err)}; {EXPECTED})") from None
    if CONTROL.search(text):
        raise InputError(f"{path}: not a text table ({EXPECTED})")
    try:
        reader = csv.reader(text.splitlines(), delimiter=_separator(text, required))
        return [(reader.line_num, [c.strip() for c in row]) for row in reader]
    except csv.Error as err:
        raise InputError(f"{path}: not a readable table ({first_line(err)}; {EXPECTED})") from None
