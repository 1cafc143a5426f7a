"""A call against the designed library: the nearest designs and the edits between them."""

from __future__ import annotations

from dataclasses import dataclass

import edlib

from utrflow.library_index import LibraryIndex


def differences(consensus: str, design: str) -> str:
    """Edits from the design to the consensus, 1-based design positions: '12A>G;30delT'."""
    cigar = edlib.align(consensus, design, mode="NW", task="path")["cigar"] or ""
    edits = []
    pos = 0  # design bases consumed
    at = 0  # consensus bases consumed
    number = ""
    for char in cigar:
        if char.isdigit():
            number += char
            continue
        count, number = int(number), ""
        if char == "=":
            pos += count
            at += count
        elif char == "X":
            for k in range(count):
                edits.append(f"{pos + k + 1}{design[pos + k]}>{consensus[at + k]}")
            pos += count
            at += count
        elif char == "I":  # bases in the consensus only
            edits.append(f"{pos}_{pos + 1}ins{consensus[at : at + count]}")
            at += count
        elif char == "D":  # design bases missing from the consensus
            edits.append(f"{pos + 1}del{design[pos : pos + count]}")
            pos += count
    return ";".join(edits)


@dataclass(frozen=True)
class Match:
    """A consensus against the library."""

    variant_id: str
    match: str
    distance: int
    differences: str
    second_variant_id: str
    second_distance: int


def match_library(sequence: str, library: LibraryIndex, margin: int) -> Match:
    """exact / synthesis_variant / ambiguous / unmatched, with the two nearest designs."""
    exact = library.exact.get(sequence)
    near = library.nearest(sequence)
    if exact is not None:
        second = next(((d, i) for d, i in near if i != exact), None)
        return Match(
            library.ids[exact],
            "exact",
            0,
            "",
            library.ids[second[1]] if second else "",
            second[0] if second else -1,
        )
    if not near or near[0][0] > library.max_distance:
        return Match("", "unmatched", -1, "", "", -1)
    best_d, best = near[0]
    second = near[1] if len(near) > 1 else None
    close = second is not None and second[0] - best_d < margin
    return Match(
        library.ids[best],
        "ambiguous" if close else "synthesis_variant",
        best_d,
        differences(sequence, library.sequences[best]),
        library.ids[second[1]] if second else "",
        second[0] if second else -1,
    )
