"""Numbers as the file writes them: its decimal mark and thousands grouping."""

from __future__ import annotations

import re

from utrflow.plates.exports.base import NumberFormat, Row


class AmbiguousNumber(ValueError):
    """A number whose thousands/decimal reading the file's separators don't settle."""


def parse_number(text: str, numbers: NumberFormat) -> float:
    """A cell's number read with the file's separators; ValueError if it is no number,
    AmbiguousNumber if `3.203` could be three thousand or three (decimal-comma files)."""
    text = text.strip().replace("\u2212", "-")
    if _SPACE_GROUPED.fullmatch(text):  # `1 200`, `12 345,6`: a space can only group
        text = re.sub(r"\s", "", text)
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


# Thousands grouped by a space (plain, no-break or narrow no-break: French and other locales'
# spreadsheets), with a decimal part after either mark.
_SPACE_GROUPED = re.compile(r"[+-]?[1-9]\d{0,2}([ \u00a0\u202f\u2009]\d{3})+([.,]\d+)?")


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
