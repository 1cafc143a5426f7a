"""Demultiplex nanopore reads to plate wells and cut out each read's variable region.

Per read (either strand, adapter junk at both ends):

1. Look for both primers in a window at each end (edlib infix alignment, IUPAC-aware). The end
   windows are taken as they come (head) and reverse-complemented (tail), so the forward-
   orientation amplicon reads `fwd_barcode fwd_primer ...` in the head and `rev_barcode
   rev_primer ...` in the reverse-complemented tail; a reverse-strand read the other way round.
2. The orientation with more (then closer) primer hits wins; a primer at both ends, or a primer
   in the read's interior, is a chimera.
3. Score every barcode of the end's set in the few bases 5' of its primer; accept the best only
   under `max_barcode_distance` and `min_barcode_margin` ahead of the runner-up. Each end is
   decided on its own, then the pair must name a well of the layout.
4. Assigned reads, turned to the forward strand, give the bases between the two flanks.

Every read gets exactly one status (STATUSES), so the funnel accounts for every read.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import edlib

from utrflow import sheets
from utrflow.config import section_defaults
from utrflow.errors import InputError
from utrflow.io import open_gzip_out, write_json, write_rows
from utrflow.parallel import pool_context
from utrflow.reads.barcodes import EndFit, check_group_barcodes, fit_end
from utrflow.reads.files import Read, iter_chunks
from utrflow.sequences import invalid_characters, reverse_complement, single_edits
from utrflow.sheets import Construct, ReadGroup

STATUSES = (
    "assigned",
    "one_end",
    "no_barcode",
    "ambiguous",
    "pair_not_in_layout",
    "chimera",
    "too_short",
)

ASSIGNMENT_COLUMNS = [
    "read_id",
    "plate",
    "well",
    "status",
    "strand",
    "fwd_distance",
    "rev_distance",
]
REGION_COLUMNS = [
    "plate", "well", "read_id", "region", "left", "right", "quality", "region_quality"
]  # fmt: skip
# Read bases kept beside each region (`left`, `right`: the flanks' ends as read), so the consensus
# places the flank-UTR boundaries on all reads at once and a base shared by a flank and the UTR
# cannot move them (one read's flank alignment may take the UTR's first base; the majority won't).
REGION_CONTEXT = 6

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


LOG = logging.getLogger(__name__)
WILDCARD = [("N", base) for base in "ACGT"]
EXACT_TABLE_MAX = 400  # barcodes per end up to which exact reads skip the alignments
ANCHOR = 6  # bases after a barcode's core (constant part, then primer) scored with it


_DEFAULTS = section_defaults("demux")


@dataclass(frozen=True)
class DemuxSettings:
    """Thresholds of the demultiplexer (config key `demux`); defaults suit R10 and R9 reads."""

    end_window: int = _DEFAULTS["end_window"]
    max_primer_error: float = _DEFAULTS["max_primer_error"]
    max_barcode_distance: int | str = _DEFAULTS["max_barcode_distance"]
    min_barcode_margin: int = _DEFAULTS["min_barcode_margin"]
    barcode_slack: int = _DEFAULTS["barcode_slack"]
    min_read_length: int = _DEFAULTS["min_read_length"]
    require_both_ends: bool = _DEFAULTS["require_both_ends"]
    chimera_check: bool = _DEFAULTS["chimera_check"]
    max_interior_primer_error: float = _DEFAULTS["max_interior_primer_error"]
    max_flank_error: float = _DEFAULTS["max_flank_error"]
    min_barcode_set_distance: int = _DEFAULTS["min_barcode_set_distance"]
    chunk_reads: int = _DEFAULTS["chunk_reads"]
    include_failed: bool = _DEFAULTS["include_failed"]


@dataclass(frozen=True)
class Layout:
    """One read group's wells as barcode indices: what a pair of barcodes means."""

    plates: tuple[str, ...]
    wells: tuple[tuple[str, str], ...]  # (plate, well) per layout row
    fwd: tuple[str, ...]  # distinct forward barcodes
    rev: tuple[str, ...]  # distinct reverse barcodes (empty for single-barcode designs)
    pair_well: dict[tuple[int, int], int] = field(hash=False)
    fwd_wells: dict[int, tuple[int, ...]] = field(hash=False)
    rev_wells: dict[int, tuple[int, ...]] = field(hash=False)

    @classmethod
    def from_wells(cls, wells: Iterable[Mapping[str, Any]], plates: Iterable[str]) -> Layout:
        """The layout of the wells of `plates` (wells sheet rows as `sheets.load_wells` gives
        them)."""
        plates = tuple(plates)
        rows = sheets.group_wells(wells, plates)
        fwd = tuple(dict.fromkeys(row["fwd_barcode"] for row in rows))
        rev = tuple(dict.fromkeys(row["rev_barcode"] for row in rows if row["rev_barcode"]))
        f_index = {b: i for i, b in enumerate(fwd)}
        r_index = {b: i for i, b in enumerate(rev)}
        pair_well: dict[tuple[int, int], int] = {}
        fwd_wells: dict[int, list[int]] = {}
        rev_wells: dict[int, list[int]] = {}
        names = []
        for i, (plate, well, f, r) in enumerate(
            (row["plate"], row["well"], row["fwd_barcode"], row["rev_barcode"]) for row in rows
        ):
            names.append((plate, well))
            fi, ri = f_index[f], r_index.get(r, -1)
            pair_well[(fi, ri)] = i
            fwd_wells.setdefault(fi, []).append(i)
            if ri >= 0:
                rev_wells.setdefault(ri, []).append(i)
        return cls(
            plates=plates,
            wells=tuple(names),
            fwd=fwd,
            rev=rev,
            pair_well=pair_well,
            fwd_wells={k: tuple(v) for k, v in fwd_wells.items()},
            rev_wells={k: tuple(v) for k, v in rev_wells.items()},
        )


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


@dataclass(frozen=True)
class Call:
    """What one read became."""

    status: str
    well: int = -1  # layout row, -1 when unassigned
    strand: str = ""  # '+' the read is the forward amplicon strand, '-' the reverse
    fwd_distance: int = -1  # best barcode distance at the forward end, -1 without a primer
    rev_distance: int = -1
    region: str | None = None  # bases between the flanks, forward strand; None if not found
    fwd_second: int = -1  # runner-up distance at the forward end, -1 when not scored
    rev_second: int = -1
    context: tuple[str, str] = ("", "")  # up to REGION_CONTEXT read bases before and after it
    # where context + region + context lie in the oriented read (start, stop), for their qualities
    read_span: tuple[int, int] | None = None


@dataclass(frozen=True)
class _End:
    """One read end after barcode scoring."""

    barcode: int  # accepted barcode index, -1 if none
    distance: int  # best distance (bound + 1 when none is within the bound)
    ambiguous: bool  # a barcode under the threshold but not clear of the runner-up
    second: int = -1  # runner-up distance (bound + 1 when none)
    start: int = 0  # where the best barcode lies in the window (ends searched without a primer)
    end: int = 0

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

    def __init__(self, fit: EndFit, barcodes: tuple[str, ...], slack: int, primer: str) -> None:
        self.fit = fit
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
        return self._best(
            [window[max(0, right - len(c) - self.slack) : end] for c in self.cores], False
        )

    def anywhere(self, window: str) -> _End:
        """Best and runner-up barcode anywhere in an end window (no primer to anchor them)."""
        return self._best([window] * len(self.queries), True)

    def _best(self, regions: list[str], locate: bool) -> _End:
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


class Demultiplexer:
    """Classifies reads of one read group; cheap to build, so each worker builds its own."""

    def __init__(
        self,
        construct: Construct,
        layout: Layout,
        settings: DemuxSettings,
        fits: tuple[EndFit, EndFit] | None = None,
    ) -> None:
        self.layout = layout
        self.settings = settings
        self.fwd_primer = construct.fwd_primer
        self.rev_primer = construct.rev_primer
        self.anchored = bool(self.fwd_primer and self.rev_primer)
        self.upstream = construct.upstream_flank
        self.downstream = construct.downstream_flank
        self.fits = fits or fit_thresholds(layout, settings, self.anchored)
        slack = settings.barcode_slack
        self.fwd_end = EndScorer(self.fits[0], layout.fwd, slack, self.fwd_primer)
        self.rev_end = EndScorer(self.fits[1], layout.rev, slack, self.rev_primer)
        self.fwd_equalities = equalities_for(self.fwd_primer)
        self.rev_equalities = equalities_for(self.rev_primer)
        self.k_fwd = math.floor(settings.max_primer_error * len(self.fwd_primer))
        self.k_rev = math.floor(settings.max_primer_error * len(self.rev_primer))
        # The interior search: both primers, both orientations, each with its threshold.
        inner = settings.max_interior_primer_error
        self.strict_fwd = math.floor(inner * len(self.fwd_primer))
        self.strict_rev = math.floor(inner * len(self.rev_primer))
        # Two hits must each stay under a quarter of the primer: looser ones turn up by chance
        # in kilobases of interior.
        self.interior_queries = [
            (query, math.floor(inner * len(query)), min(k, len(query) // 4), equalities_for(query))
            for primer, k in ((self.fwd_primer, self.k_fwd), (self.rev_primer, self.k_rev))
            if primer
            for query in (primer, reverse_complement(primer))
        ]
        self.k_up = math.floor(settings.max_flank_error * len(self.upstream))
        self.k_down = math.floor(settings.max_flank_error * len(self.downstream))
        self.flank_queries = [
            (query, k)
            for flank, k in ((self.upstream, self.k_up), (self.downstream, self.k_down))
            if flank
            for query in (flank, reverse_complement(flank))
        ]
        longest = max(len(b) for b in layout.fwd + layout.rev) if layout.fwd else 0
        self.min_length = settings.min_read_length or (
            len(self.fwd_primer) + len(self.rev_primer) + longest * (2 if layout.rev else 1)
        )

    # -- pieces -------------------------------------------------------------------------------

    def _chimeric(self, interior: str) -> bool:
        """Two amplicons joined: one primer inside the read under the strict threshold, or two
        different primers under the end threshold (a junction holds both, so erroneous
        chimeras still show; a construct that merely resembles one primer does not)."""
        loose_hits = 0
        for query, strict, loose, equalities in self.interior_queries:
            if len(interior) < len(query) - loose:
                return False
            d = search_distance(query, interior, loose, equalities)
            if 0 <= d <= strict:
                return True
            loose_hits += d >= 0
        return loose_hits >= 2

    @staticmethod
    def _both_strict(a: Hit, b: Hit, k: int) -> bool:
        """Both hits found and within the strict (interior) threshold."""
        return 0 <= a[0] <= k and 0 <= b[0] <= k

    def holds_flank(self, region: str) -> bool:
        """A flank inside an extracted region means it spans a second amplicon."""
        return any(
            len(region) >= len(query) - k and search_distance(query, region, k) >= 0
            for query, k in self.flank_queries
        )

    def _region(self, interior: str) -> tuple[int, int] | None:
        """Where the bases between the upstream and downstream flank lie, or None if a flank is
        missing."""
        if not self.upstream and not self.downstream:
            return None
        start = 0
        if self.upstream:
            d, _, end = search(self.upstream, interior, self.k_up)
            if d < 0:
                return None
            start = end + 1
        stop = len(interior)
        if self.downstream:
            d, s, _ = search(self.downstream, interior[start:], self.k_down)
            if d < 0:
                return None
            stop = start + s
        return start, stop

    # -- one read -------------------------------------------------------------------------------

    def classify(self, seq: str) -> Call:
        """The status (and well, strand, distances, region) of one read."""
        n = len(seq)
        if n < self.min_length or n == 0:
            return Call("too_short")
        w = min(self.settings.end_window, n)
        head = seq[:w]
        tail = reverse_complement(seq[n - w :])
        if not self.anchored:
            return self._classify_by_barcodes(seq, head, tail)
        f_head = search(self.fwd_primer, head, self.k_fwd, self.fwd_equalities)
        r_tail = search(self.rev_primer, tail, self.k_rev, self.rev_equalities)
        r_head = search(self.rev_primer, head, self.k_rev, self.rev_equalities)
        f_tail = search(self.fwd_primer, tail, self.k_fwd, self.fwd_equalities)
        forward = (f_head, r_tail)
        reverse = (f_tail, r_head)
        hits_f = sum(h[0] >= 0 for h in forward)
        hits_r = sum(h[0] >= 0 for h in reverse)
        if hits_f == 0 and hits_r == 0:
            return Call("no_barcode")
        if self.settings.chimera_check and (
            self._both_strict(f_head, f_tail, self.strict_fwd)
            or self._both_strict(r_head, r_tail, self.strict_rev)
        ):
            return Call("chimera")  # the same primer at both ends: an inverted dimer
        if (hits_f, -_total(forward)) >= (hits_r, -_total(reverse)):
            strand, (fwd_hit, rev_hit), fwd_window, rev_window = "+", forward, head, tail
        else:
            strand, (fwd_hit, rev_hit), fwd_window, rev_window = "-", reverse, tail, head
        oriented = seq if strand == "+" else reverse_complement(seq)
        # Interior of the oriented read: after the forward primer, before rc(reverse primer).
        start = fwd_hit[2] + 1 if fwd_hit[0] >= 0 else 0
        stop = n - 1 - rev_hit[2] if rev_hit[0] >= 0 else n
        interior = oriented[start:stop]
        if self.settings.chimera_check and self._chimeric(interior):
            return Call("chimera", strand=strand)
        fwd = self.fwd_end.next_to(fwd_window, fwd_hit[1]) if fwd_hit[0] >= 0 else None
        rev = self.rev_end.next_to(rev_window, rev_hit[1]) if rev_hit[0] >= 0 else None
        return self._finish(fwd, rev, strand, interior, start)

    def _classify_by_barcodes(self, seq: str, head: str, tail: str) -> Call:
        """No primers given: the barcodes themselves are searched in the end windows."""
        n = len(seq)
        f_head, r_tail = self.fwd_end.anywhere(head), self.rev_end.anywhere(tail)
        f_tail, r_head = self.fwd_end.anywhere(tail), self.rev_end.anywhere(head)
        forward, reverse = (f_head, r_tail), (f_tail, r_head)
        hits_f = sum(e.found for e in forward)
        hits_r = sum(e.found for e in reverse)
        if hits_f == 0 and hits_r == 0:
            return Call("no_barcode")
        if self.settings.chimera_check and (
            (f_head.barcode >= 0 and f_tail.barcode >= 0)
            or (r_head.barcode >= 0 and r_tail.barcode >= 0 and self.layout.rev)
        ):
            return Call("chimera")  # the same end's barcodes at both ends
        score_f = (hits_f, -sum(e.distance for e in forward if e.found))
        score_r = (hits_r, -sum(e.distance for e in reverse if e.found))
        strand, (fwd, rev) = ("+", forward) if score_f >= score_r else ("-", reverse)
        oriented = seq if strand == "+" else reverse_complement(seq)
        start = fwd.end + 1 if fwd.found else 0
        stop = n - 1 - rev.end if rev.found else n
        return self._finish(
            fwd if fwd.found or fwd.distance >= 0 else None,
            rev if rev.found or rev.distance >= 0 else None,
            strand,
            oriented[start:stop],
            start,
        )

    def _finish(
        self, fwd: _End | None, rev: _End | None, strand: str, interior: str, offset: int
    ) -> Call:
        """The call from the two ends' barcodes, with the region of an assigned read (the
        interior starts at `offset` in the oriented read)."""
        status, well = self._decide(fwd, rev)
        span = self._region(interior) if status == "assigned" else None
        region = interior[span[0] : span[1]] if span is not None else None
        if region is not None and self.settings.chimera_check and self.holds_flank(region):
            return Call("chimera", strand=strand)  # a junction too damaged to show its primers
        rev = rev if self.layout.rev else None
        return Call(
            status,
            well,
            strand,
            fwd.distance if fwd else -1,
            rev.distance if rev else -1,
            region,
            fwd.second if fwd else -1,
            rev.second if rev else -1,
            _context(interior, span),
            _read_span(span, offset, len(interior)),
        )

    def _decide(self, fwd: _End | None, rev: _End | None) -> tuple[str, int]:
        """Status and layout row from the two ends' barcode calls."""
        layout = self.layout
        f = fwd.barcode if fwd else -1
        if not layout.rev:  # single-barcode design: the forward end decides alone
            if f >= 0:
                return "assigned", layout.pair_well[(f, -1)]
            return ("ambiguous" if fwd and fwd.ambiguous else "no_barcode"), -1
        r = rev.barcode if rev else -1
        if f >= 0 and r >= 0:
            well = layout.pair_well.get((f, r), -1)
            return ("assigned", well) if well >= 0 else ("pair_not_in_layout", -1)
        if (fwd and fwd.ambiguous) or (rev and rev.ambiguous):
            return "ambiguous", -1
        if f >= 0 or r >= 0:
            if not self.settings.require_both_ends:
                candidates = layout.fwd_wells[f] if f >= 0 else layout.rev_wells[r]
                if len(candidates) == 1:
                    return "assigned", candidates[0]
            return "one_end", -1
        return "no_barcode", -1


def _context(interior: str, span: tuple[int, int] | None) -> tuple[str, str]:
    """The REGION_CONTEXT read bases on each side of a region (fewer at the interior's ends)."""
    if span is None:
        return "", ""
    start, stop = span
    return interior[max(0, start - REGION_CONTEXT) : start], interior[stop : stop + REGION_CONTEXT]


def _read_span(span: tuple[int, int] | None, offset: int, length: int) -> tuple[int, int] | None:
    """Where a region with its `_context` lies in the oriented read (None without a region)."""
    if span is None:
        return None
    start, stop = span
    return offset + max(0, start - REGION_CONTEXT), offset + min(length, stop + REGION_CONTEXT)


def region_qualities(phred: bytes, strand: str, span: tuple[int, int]) -> str:
    """The base qualities (Phred+33) of an oriented read's `span`, from the read's own
    qualities: reversed for a read of the '-' strand, as its bases are reverse-complemented;
    empty without qualities (FASTA)."""
    if not phred:
        return ""
    oriented = phred if strand == "+" else phred[::-1]
    return oriented[span[0] : span[1]].decode("ascii")


def _total(hits: tuple[Hit, ...]) -> int:
    """Summed distance of the found primers of one orientation."""
    return sum(h[0] for h in hits if h[0] >= 0)


def fit_thresholds(
    layout: Layout, settings: DemuxSettings, anchored: bool = True
) -> tuple[EndFit, EndFit]:
    """Each end's thresholds (`auto` or the configured number). Ends searched without a primer
    are scored whole, reverse complements included, since either strand may show them."""
    fwd, rev = (
        fit_end(end, codes, settings.max_barcode_distance, settings.min_barcode_margin,
                anchor=ANCHOR if anchored else 0, include_rc=not anchored,
                window=0 if anchored else settings.end_window)
        for end, codes in (("fwd", layout.fwd), ("rev", layout.rev))
    )  # fmt: skip
    return fwd, rev


# --------------------------------------------------------------------------------------------
# Chunks across cores


LENGTH_BIN = 10  # nt per bin of the read-length histograms
LENGTH_MAX = 5000  # longer reads count in the last bin
UNASSIGNED = "unassigned"  # the read-QC key of reads that reach no plate
# Read-length bins of the status shares (lower edges, nt): short PCR artefacts apart from
# full-length amplicons of a few hundred nt to several kb.
STATUS_LENGTH_EDGES = (0, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000)


def length_bin(length: int) -> int:
    """The lower edge of the status-share bin a read of `length` nt falls in."""
    return STATUS_LENGTH_EDGES[bisect.bisect_right(STATUS_LENGTH_EDGES, length) - 1]


@dataclass
class ChunkResult:
    """A chunk's output rows (already formatted) and its tallies."""

    assignments: bytes
    regions: bytes
    status: Counter
    reads_per_well: Counter
    regions_per_well: Counter
    lengths: Counter = field(default_factory=Counter)  # (plate or UNASSIGNED, length bin)
    qualities: Counter = field(default_factory=Counter)  # (plate or UNASSIGNED, mean Phred)
    status_lengths: Counter = field(default_factory=Counter)  # (status, length bin)
    distances: Counter = field(default_factory=Counter)  # (end, 'best'/'second', distance)


_WORKER: Demultiplexer | None = None


def _init_worker(
    construct: Construct, layout: Layout, settings: DemuxSettings, fits: tuple[EndFit, EndFit]
) -> None:
    global _WORKER
    _WORKER = Demultiplexer(construct, layout, settings, fits)


def _number(value: int) -> str:
    return "" if value < 0 else str(value)


def process_chunk(demux: Demultiplexer, records: list[Read]) -> ChunkResult:
    """Classify a chunk; rows as TSV bytes so little crosses between processes."""
    layout = demux.layout
    group_plate = layout.plates[0] if len(layout.plates) == 1 else ""
    lines: list[str] = []
    region_lines: list[str] = []
    status: Counter = Counter()
    reads_per_well: Counter = Counter()
    regions_per_well: Counter = Counter()
    lengths: Counter = Counter()
    qualities: Counter = Counter()
    status_lengths: Counter = Counter()
    distances: Counter = Counter()
    for name, seq, quality, phred in records:
        call = demux.classify(seq)
        status[call.status] += 1
        status_lengths[call.status, length_bin(len(seq))] += 1
        if call.fwd_distance >= 0:
            distances["fwd", "best", call.fwd_distance] += 1
            distances["fwd", "second", call.fwd_second] += 1
        if call.rev_distance >= 0:
            distances["rev", "best", call.rev_distance] += 1
            distances["rev", "second", call.rev_second] += 1
        plate, well = layout.wells[call.well] if call.well >= 0 else (group_plate, "")
        qc_key = plate if call.well >= 0 else UNASSIGNED
        lengths[qc_key, min(len(seq), LENGTH_MAX) // LENGTH_BIN * LENGTH_BIN] += 1
        if quality is not None:
            qualities[qc_key, int(quality)] += 1
        lines.append(
            f"{name}\t{plate}\t{well}\t{call.status}\t{call.strand}\t"
            f"{_number(call.fwd_distance)}\t{_number(call.rev_distance)}\n"
        )
        if call.well >= 0:
            reads_per_well[call.well] += 1
            if call.region is not None:
                regions_per_well[call.well] += 1
                left, right = call.context
                shown = "" if quality is None else f"{quality:.1f}"  # the read's mean Phred
                assert call.read_span is not None
                bases = region_qualities(phred, call.strand, call.read_span)
                region_lines.append(
                    f"{plate}\t{well}\t{name}\t{call.region}\t{left}\t{right}\t{shown}\t{bases}\n"
                )
    return ChunkResult(
        "".join(lines).encode(),
        "".join(region_lines).encode(),
        status,
        reads_per_well,
        regions_per_well,
        lengths,
        qualities,
        status_lengths,
        distances,
    )


def _worker_chunk(records: list[Read]) -> ChunkResult:
    assert _WORKER is not None
    return process_chunk(_WORKER, records)


def demultiplex_chunks(
    chunks: Iterable[list[Read]],
    construct: Construct,
    layout: Layout,
    settings: DemuxSettings,
    threads: int = 1,
    fits: tuple[EndFit, EndFit] | None = None,
) -> Iterator[ChunkResult]:
    """Results of every chunk, in input order, over `threads` processes (1: in this one)."""
    demux = Demultiplexer(construct, layout, settings, fits)
    if threads <= 1:
        for chunk in chunks:
            yield process_chunk(demux, chunk)
        return
    context = pool_context()
    initargs = (construct, layout, settings, demux.fits)
    with context.Pool(threads, _init_worker, initargs) as pool:
        # Pool.imap would read the whole file ahead into its queue; a window of two chunks per
        # worker keeps every core busy and memory flat, and popping in order keeps file order.
        window: deque = deque()
        for chunk in chunks:
            window.append(pool.apply_async(_worker_chunk, (chunk,)))
            if len(window) >= 2 * threads:
                yield window.popleft().get()
        while window:
            yield window.popleft().get()


# --------------------------------------------------------------------------------------------
# One read group, end to end


@dataclass
class GroupTally:
    """Counts over a whole read group."""

    status: Counter = field(default_factory=Counter)
    reads_per_well: Counter = field(default_factory=Counter)
    regions_per_well: Counter = field(default_factory=Counter)
    lengths: Counter = field(default_factory=Counter)
    qualities: Counter = field(default_factory=Counter)
    status_lengths: Counter = field(default_factory=Counter)
    distances: Counter = field(default_factory=Counter)

    def add(self, result: ChunkResult) -> None:
        self.status.update(result.status)
        self.reads_per_well.update(result.reads_per_well)
        self.regions_per_well.update(result.regions_per_well)
        self.lengths.update(result.lengths)
        self.qualities.update(result.qualities)
        self.status_lengths.update(result.status_lengths)
        self.distances.update(result.distances)


def run_group(
    group: ReadGroup,
    wells: list[sheets.Row],
    construct: Construct,
    settings: DemuxSettings,
    out_dir: Path,
    threads: int = 1,
) -> dict[str, Any]:
    """Demultiplex one read group into `out_dir`: assignments.tsv.gz, regions.tsv.gz,
    well_counts.tsv and funnel.json (returned too). Written atomically, so a killed job
    leaves nothing that looks finished."""
    layout = Layout.from_wells(wells, group.plates)
    if not layout.wells:
        raise InputError(f"wells: no wells listed for plate(s) {', '.join(group.plates)}")
    fits = fit_thresholds(layout, settings, bool(construct.fwd_primer and construct.rev_primer))
    for fit in fits if layout.rev else fits[:1]:
        LOG.info("demux %s: %s", group.name, fit.describe())
    tally = GroupTally()
    out_dir = Path(out_dir)
    with ExitStack() as stack:
        assignments = open_gzip_out(stack, out_dir / "assignments.tsv.gz")
        regions = open_gzip_out(stack, out_dir / "regions.tsv.gz")
        assignments.write(("\t".join(ASSIGNMENT_COLUMNS) + "\n").encode())
        regions.write(("\t".join(REGION_COLUMNS) + "\n").encode())
        chunks = iter_chunks(list(group.files), settings.chunk_reads)
        for result in demultiplex_chunks(chunks, construct, layout, settings, threads, fits):
            assignments.write(result.assignments)
            regions.write(result.regions)
            tally.add(result)
    write_rows(well_counts(layout, wells, tally), WELL_COUNT_COLUMNS, out_dir / "well_counts.tsv")
    funnel = group_funnel(group, layout, tally, settings, fits)
    write_json(funnel, out_dir / "funnel.json")
    return funnel


WELL_COUNT_COLUMNS = ("plate", "well", "role", "reads", "regions")


def well_counts(
    layout: Layout, wells: Iterable[Mapping[str, Any]], tally: GroupTally
) -> list[dict[str, Any]]:
    """Reads and extracted regions per well of the layout (WELL_COUNT_COLUMNS), zero-read
    wells included."""
    roles = {(row["plate"], row["well"]): row["role"] for row in wells}
    return [
        {
            "plate": plate,
            "well": well,
            "role": roles.get((plate, well), "sample"),
            "reads": tally.reads_per_well.get(i, 0),
            "regions": tally.regions_per_well.get(i, 0),
        }
        for i, (plate, well) in enumerate(layout.wells)
    ]


def _histograms(counts: Counter) -> dict[str, dict[str, int]]:
    """{plate or 'unassigned': {bin: reads}} from a Counter keyed by (plate, bin)."""
    out: dict[str, dict[str, int]] = {}
    for (key, value), n in sorted(counts.items()):
        out.setdefault(key, {})[str(value)] = int(n)
    return out


def status_by_length(status_lengths: Counter) -> dict[str, dict[str, Any]]:
    """Per read-length bin ('500-750', '5000+'): reads, and each status's share of them."""
    out: dict[str, dict[str, Any]] = {}
    uppers = dict(itertools.pairwise(STATUS_LENGTH_EDGES))
    for edge in STATUS_LENGTH_EDGES:
        counts = {s: int(status_lengths.get((s, edge), 0)) for s in STATUSES}
        total = sum(counts.values())
        if not total:
            continue
        name = f"{edge}-{uppers[edge]}" if edge in uppers else f"{edge}+"
        out[name] = {"reads": total, "share": {s: n / total for s, n in counts.items()}}
    return out


def barcode_fit(fits: tuple[EndFit, EndFit], distances: Counter) -> dict[str, Any]:
    """Each end's thresholds with the distances of the reads scored there: the best barcode's
    and the runner-up's (the highest value counts every read whose runner-up was farther)."""
    out = {}
    for fit in fits:
        if not fit.n:
            continue
        block = asdict(fit)
        for rank in ("best", "second"):
            values = {d: n for (e, r, d), n in distances.items() if (e, r) == (fit.end, rank)}
            block[rank] = {str(d): int(values[d]) for d in sorted(values)}
        out[fit.end] = block
    return out


def group_funnel(
    group: ReadGroup,
    layout: Layout,
    tally: GroupTally,
    settings: DemuxSettings,
    fits: tuple[EndFit, EndFit] | None = None,
) -> dict[str, Any]:
    """Reads in, then how many ended in each status, per plate for the assigned ones."""
    total = sum(tally.status.values())
    assigned_by_plate: Counter = Counter()
    regions_by_plate: Counter = Counter()
    for i, (plate, _) in enumerate(layout.wells):
        assigned_by_plate[plate] += tally.reads_per_well.get(i, 0)
        regions_by_plate[plate] += tally.regions_per_well.get(i, 0)
    return {
        "group": group.name,
        "plates": list(group.plates),
        "files": list(group.files),
        "reads": total,
        "status": {s: int(tally.status.get(s, 0)) for s in STATUSES},
        "status_fraction": {s: tally.status.get(s, 0) / max(total, 1) for s in STATUSES},
        "status_by_length": status_by_length(tally.status_lengths),
        "barcodes": barcode_fit(fits, tally.distances) if fits else {},
        "assigned_per_plate": {p: int(assigned_by_plate[p]) for p in group.plates},
        "regions_per_plate": {p: int(regions_by_plate[p]) for p in group.plates},
        "wells_with_reads": int(sum(1 for v in tally.reads_per_well.values() if v > 0)),
        "read_qc": {
            "length_bin": LENGTH_BIN,
            "lengths": _histograms(tally.lengths),
            "mean_quality": _histograms(tally.qualities),
        },
        "wells": len(layout.wells),
        "settings": asdict(settings),
    }


def run(
    plates_path: Path,
    wells_path: Path,
    group_name: str,
    construct_cfg: dict[str, str],
    settings: DemuxSettings,
    out_dir: Path,
    threads: int,
    base_dir: Path | None = None,
) -> dict[str, Any]:
    """The `demux` stage for one read group: its barcode set checked, every read assigned or
    told why not, the regions and counts written under `out_dir`. Returns the funnel. Reads
    paths in the plates sheet resolve against `base_dir` (default: the working directory)."""
    construct = sheets.load_construct(construct_cfg)
    plates = sheets.load_plates(plates_path, base_dir, settings.include_failed)
    wells = sheets.load_wells(wells_path, [row["plate"] for row in plates])
    groups = {g.name: g for g in sheets.read_groups(plates, str(plates_path))}
    if group_name not in groups:
        raise InputError(f"{plates_path}: no read group {group_name!r} (has: {', '.join(groups)})")
    group = groups[group_name]
    check_group_barcodes(wells, group, settings.min_barcode_set_distance, str(wells_path))
    return run_group(group, wells, construct, settings, out_dir, threads)
