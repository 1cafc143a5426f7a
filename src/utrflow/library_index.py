"""The designed library's nearest-neighbour index (pigeonhole rule), shared by the well calls
and the library design: a neutral module, so `design/` need not load the reads stage (abPOA,
rapidfuzz) for it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import edlib


class LibraryIndex:
    """Nearest designs of a sequence, within `max_distance` edits, by the pigeonhole rule."""

    def __init__(self, ids: Sequence[str], sequences: Sequence[str], max_distance: int) -> None:
        self.ids = list(ids)
        self.sequences = list(sequences)
        self.exact = {s: i for i, s in enumerate(self.sequences)}
        self.max_distance = max_distance
        pieces = max_distance + 1
        shortest = min(len(s) for s in self.sequences)
        self.size = max(shortest // pieces, 1)
        self.pieces = pieces
        self.index: dict[tuple[int, str], list[int]] = defaultdict(list)
        for i, seq in enumerate(self.sequences):
            for j in range(pieces):
                start = j * self.size
                self.index[(j, seq[start : start + self.size])].append(i)

    def candidates(self, query: str) -> set[int]:
        """Designs sharing a segment with `query` at a shift of at most max_distance."""
        found: set[int] = set()
        d, size = self.max_distance, self.size
        for j in range(self.pieces):
            start = j * size
            for shift in range(-d, d + 1):
                at = start + shift
                if at < 0 or at + size > len(query):
                    continue
                found.update(self.index.get((j, query[at : at + size]), ()))
        return found

    def nearest(self, query: str) -> list[tuple[int, int]]:
        """Up to two (distance, design index), best first, within max_distance (+1 for the
        runner-up, so a margin can be judged)."""
        bound = self.max_distance + 1
        scored = []
        for i in self.candidates(query):
            target = self.sequences[i]
            if abs(len(target) - len(query)) > bound:
                continue
            d = edlib.align(query, target, mode="NW", task="distance", k=bound)["editDistance"]
            if d >= 0:
                scored.append((d, i))
        scored.sort()
        return scored[:2]
