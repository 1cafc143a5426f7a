"""Barcode scoring at one read end: next to a primer hit, or anywhere in the end window."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from utrflow.reads.barcodes import EndFit
from utrflow.reads.demux.align import MISS, WILDCARD, equalities_for, search, search_distance
from utrflow.sequences import single_edits

EXACT_TABLE_MAX = 400  # barcodes per end up to which exact reads skip the alignments
ANCHOR = 6  # bases after a barcode's core (constant part, then primer) scored with it


@dataclass(frozen=True)
class _End:
    """One read end after barcode scoring."""

    barcode: int  # accepted barcode index, -1 if none
    distance: int  # best distance (bound + 1 when none is within the bound)
    ambiguous: bool  # a barcode under the threshold but not clear of the runner-up
    second: int = -1  # runner-up distance (bound + 1 when none)
    start: int = 0  # where the best barcode lies in the window (ends searched without a primer)
    end: int = 0
    clipped: bool = False  # the read ends inside the barcode: scored over the bases present

    @property
    def found(self) -> bool:
        """The best barcode is within the threshold (whether or not it beat the runner-up)."""
        return self.barcode >= 0 or self.ambiguous


class EndScorer:
    """One end's barcodes, scored either right 5' of the primer hit or (without a primer) in the
    whole end window; the thresholds are the end's `EndFit`.

    Next to a primer, each barcode's variable core is aligned together with the first ANCHOR
    bases that follow it (its constant 3' part, then the primer): that pins the core's 3' end to
    the primer's sequence, so a wrong barcode cannot win by sliding along the slack, and the
    anchor's bases cost every barcode alike.

    Most reads show their barcode without an error or with one; for those a dictionary look-up
    (and, with an error, one alignment) replaces the alignments (see `_exact_table` and
    `_one_edit_table`), with the same call.
    """

    def __init__(
        self,
        fit: EndFit,
        barcodes: tuple[str, ...],
        slack: int,
        primer: str,
        set_distance: int = 3,
    ) -> None:
        self.fit = fit
        self.set_distance = set_distance  # what the start-up check asks of whole barcodes
        cut5, cut3 = (len(fit.constant_5), len(fit.constant_3)) if primer else (0, 0)
        anchor = (fit.constant_3 + primer)[:ANCHOR] if primer else ""
        self.cores = [b[cut5 : len(b) - cut3] for b in barcodes]
        self.queries = [core + anchor for core in self.cores]
        self.offset_3 = cut3  # constant bases between the core and the primer
        self.anchor = len(anchor)
        self.equalities = equalities_for(anchor)
        self.slack = slack
        self.threshold = fit.max_distance
        self.margin = fit.margin
        self.bound = fit.max_distance + fit.margin
        self.exact = self._exact_table() if primer and self.equalities is None else {}
        self.exact_lengths = sorted({len(q) for q in self.exact})
        self.one_edit = self._one_edit_table()
        self.one_edit_lengths = sorted({len(b) for b in self.one_edit})

    def _nearest(self, i: int, widen: int = 0) -> int:
        """The least distance any other barcode can reach in the bases searched when barcode
        `i` is read without error: its query with every other base around it a wildcard (an N
        matching anything), so the real bases can only be farther; `widen` more wildcards each
        side cover a read whose error shifted the bases around it."""
        longest = max(len(c) for c in self.cores)
        pad = self.slack + longest - len(self.cores[i]) + widen
        around = "N" * pad + self.queries[i] + "N" * (self.slack + widen)
        distances = [
            search_distance(other, around, self.bound, WILDCARD)
            for j, other in enumerate(self.queries)
            if j != i
        ]
        return min((self.bound + 1 if d < 0 else d for d in distances), default=self.bound + 1)

    def _exact_table(self) -> dict[str, tuple[int, int]]:
        """{query: (index, nearest)}: when `nearest` (`_nearest`) clears the margin, a read
        showing the query exactly next to its primer needs no alignment at all."""
        if len(self.queries) > EXACT_TABLE_MAX or len(set(self.queries)) < len(self.queries):
            return {}
        return {query: (i, self._nearest(i)) for i, query in enumerate(self.queries)}

    def _one_edit_table(self) -> dict[str, tuple[int, int]]:
        """{bases: (index, bound)} for a barcode read with one error (a base changed, lost or
        gained) next to its primer. Every other barcode is then at least `bound` away: its
        distance to the error-free read less one, which is at least `_nearest` with a wildcard
        more each side, less one. So the call takes one alignment (the read's distance to its
        own barcode) instead of one per barcode, and comes out the same. Bases one edit from
        two barcodes, or equal to one, are left out."""
        if not self.exact:
            return {}
        table: dict[str, tuple[int, int]] = {}
        shared: set[str] = set(self.queries)
        for i, query in enumerate(self.queries):
            bound = self._nearest(i, widen=1) - 1
            for bases in single_edits(query):
                if bases in table and table[bases][0] != i:
                    shared.add(bases)
                table[bases] = (i, bound)
        return {bases: hit for bases, hit in table.items() if bases not in shared}

    def next_to(self, window: str, primer_start: int) -> _End:
        """Best and runner-up barcode in the bases right 5' of a primer hit."""
        right = primer_start - self.offset_3
        stop = right + self.anchor
        for length in self.exact_lengths:
            if stop - length >= 0:
                index, nearest = self.exact.get(window[stop - length : stop], (-1, 0))
                if nearest >= self.margin:  # the runner-up reported is that lower bound
                    return _End(index, 0, False, nearest)
        end = max(0, right + self.anchor + self.slack)  # the primer hit may start indels off
        for length in self.one_edit_lengths:
            if stop - length < 0:
                continue
            index, bound = self.one_edit.get(window[stop - length : stop], (-1, 0))
            if index >= 0:
                region = window[max(0, right - len(self.cores[index]) - self.slack) : end]
                d = search_distance(self.queries[index], region, self.bound, self.equalities)
                if 0 <= d <= self.threshold and bound - d >= self.margin:
                    return _End(index, d, False, bound)  # the runner-up: that lower bound
        best = self._best(
            [window[max(0, right - len(c) - self.slack) : end] for c in self.cores], False
        )
        if best.barcode < 0 and 0 <= right < self.longest and right >= self.clip_length:
            return self._clipped(window[:end], right, best)
        return best

    @cached_property
    def longest(self) -> int:
        return max((len(c) for c in self.cores), default=0)

    def part_threshold(self, length: int) -> int:
        """The accepted distance of a barcode's `length`-base part: the whole barcode's, scaled
        to the part (the same tolerance per base)."""
        return round(self.threshold * min(length, self.longest) / max(self.longest, 1))

    @cached_property
    def clip_length(self) -> int:
        """The fewest core bases a read cut inside its barcode must show to be scored over them:
        the shortest 3' part of every core whose set keeps the distance the start-up check asks
        of whole barcodes (`demux.min_barcode_set_distance`, and more than the margin). Each
        clipped read must then still be within its part's threshold and the margin clear of the
        runner-up, as every read is. Longer than every core when no part qualifies (such reads
        stay unassigned)."""
        if len(self.cores) < 2:
            return self.longest + 1
        low, high = 1, self.longest + 1  # the distance grows with the part's length
        while low < high:
            mid = (low + high) // 2
            parts = [core[-mid:] for core in self.cores]
            need = max(self.set_distance, self.margin + 1)
            pairs = process.cdist(parts, parts, scorer=Levenshtein.distance, dtype=np.int32)
            np.fill_diagonal(pairs, need)
            if len(set(parts)) == len(parts) and int(pairs.min()) >= need:
                high = mid
            else:
                low = mid + 1
        return low

    def _clipped(self, window: str, right: int, unclipped: _End) -> _End:
        """A barcode cut by the read's end (`right` core bases left before its 3' end), each
        barcode scored over its part the read still shows; the unclipped call when none is
        accepted."""
        parts = [
            core[-right:] + query[len(core) :]
            for core, query in zip(self.cores, self.queries, strict=True)
        ]
        threshold = self.part_threshold(right)
        bound = threshold + self.margin
        best, second, index = bound + 1, bound + 1, -1
        for i, part in enumerate(parts):
            d = search_distance(part, window, bound, self.equalities)
            if d < 0:
                continue
            if d < best:
                best, second, index = d, best, i
            elif d < second:
                second = d
        if best <= threshold and second - best >= self.margin:
            return _End(index, best, False, second, clipped=True)
        return unclipped

    def anywhere(self, window: str) -> _End:
        """Best and runner-up barcode anywhere in an end window (no primer to anchor them).
        A barcode cut by the read's end is not scored over its part here: without a primer
        to pin it, a short part matches the read's end bases by chance too often (on
        nano_tools' reads it made a clipped 'barcode' of the wrong end's set, i.e. chimeras,
        three times as often)."""
        return self._best([window] * len(self.queries), True)

    def _best(self, regions: list[str], locate: bool, equalities: list | None = None) -> _End:
        if not self.queries:
            return _End(-1, -1, False)
        bound = self.bound
        best, second, best_index, where = bound + 1, bound + 1, -1, MISS
        for index, (query, region) in enumerate(zip(self.queries, regions, strict=True)):
            if locate:
                hit = search(query, region, bound)
                d = hit[0]
            else:
                d = search_distance(query, region, bound, self.equalities)
            if d < 0:
                continue
            if d < best:
                best, second, best_index = d, best, index
                if locate:
                    where = hit
            elif d < second:
                second = d
        start, end = where[1], where[2]
        if best > self.threshold:
            return _End(-1, best, False, second, start, end)
        if second - best < self.margin:
            return _End(-1, best, True, second, start, end)
        return _End(best_index, best, False, second, start, end)
