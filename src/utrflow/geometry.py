"""Plate geometry: well names for 96- and 384-well plates."""

from __future__ import annotations

import re

FORMATS = {96: (8, 12), 384: (16, 24)}
_WELL = re.compile(r"^([A-Pa-p])0*([1-9][0-9]?)$")


def well_names(plate_format: int = 96) -> list[str]:
    """Well names in row-major order: A1, A2, ... H12 (96) or ... P24 (384)."""
    rows, cols = FORMATS[plate_format]
    return [f"{chr(ord('A') + r)}{c + 1}" for r in range(rows) for c in range(cols)]


def normalize_well(name: str, plate_format: int = 384) -> str | None:
    """Canonical well name ('a01' -> 'A1'), or None when it is not a well of that format."""
    match = _WELL.match(name.strip())
    if not match:
        return None
    rows, cols = FORMATS[plate_format]
    row, col = match.group(1).upper(), int(match.group(2))
    if ord(row) - ord("A") >= rows or col > cols:
        return None
    return f"{row}{col}"


def plate_name(index: int) -> str:
    """Name of the index-th simulated plate (0-based): P01, P02, ..."""
    return f"P{index + 1:02d}"
