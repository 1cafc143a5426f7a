"""Alignment primitives of the demultiplexer: edlib infix searches that never hand back
None, and IUPAC-aware equalities for primers.
"""

from __future__ import annotations

import edlib

from utrflow.sequences import invalid_characters

# IUPAC codes as edlib equalities: a primer's R matches a read's A or G, and so on.
_IUPAC_BASES = {
    "R": "AG",
    "Y": "CT",
    "S": "CG",
    "W": "AT",
    "K": "GT",
    "M": "AC",
    "B": "CGT",
    "D": "AGT",
    "H": "ACT",
    "V": "ACG",
    "N": "ACGT",
}
EQUALITIES = [(code, base) for code, bases in _IUPAC_BASES.items() for base in bases]


def equalities_for(query: str) -> list[tuple[str, str]] | None:
    """The IUPAC equalities a query needs: none when it is plain ACGT. edlib converts the list
    on every call (about 11 us, five times a 100-nt window's alignment), so plain primers skip it;
    a read's own N then counts as a mismatch, as it does everywhere else in the workflow."""
    return EQUALITIES if invalid_characters(query, "ACGT") else None


WILDCARD = [("N", base) for base in "ACGT"]


Hit = tuple[int, int, int]  # (distance, start, end) of an infix hit; distance -1 when none
MISS: Hit = (-1, 0, 0)


def search(query: str, target: str, k: int, equalities: list | None = None) -> Hit:
    """The best infix hit of `query` in `target` within `k` edits, or MISS.

    Every edlib call of the demultiplexer goes through here, because edlib says "nothing" in
    several ways: distance -1; a distance above `k` (an empty or too short target); a location
    `(None, -1)` (an empty target, or a query matched by deletions alone). All come back as MISS,
    so no read, however cut or garbled, can hand a caller a None to add to.
    """
    if not query or not target or k < 0:
        return MISS
    hit = edlib.align(
        query, target, mode="HW", task="locations", k=k, additionalEqualities=equalities
    )
    distance = hit["editDistance"]
    if not 0 <= distance <= k or not hit["locations"]:
        return MISS
    start, end = hit["locations"][0]
    if start is None or end is None or end < start:
        return MISS
    return distance, start, end


def search_distance(query: str, target: str, k: int, equalities: list | None = None) -> int:
    """Like `search`, the distance only (cheaper: no traceback of the location); -1 for none."""
    if not query or not target or k < 0:
        return -1
    d = edlib.align(query, target, mode="HW", task="distance", k=k, additionalEqualities=equalities)
    distance = d["editDistance"]
    return distance if 0 <= distance <= k else -1
