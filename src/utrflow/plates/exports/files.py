"""Files -> rows of text cells: text in its encoding and delimiter, or every sheet of an xlsx."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from utrflow.errors import InputError, first_line
from utrflow.plates.exports.base import Row

_DELIMITERS = (",", "\t", ";")


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
