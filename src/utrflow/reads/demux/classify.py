"""One read's classification: primers, orientation, chimeras, both ends' barcodes, the
well, and the region between the flanks.
"""

from __future__ import annotations

import math
from itertools import pairwise

from utrflow.reads.barcodes import EndFit, fit_end
from utrflow.reads.demux.align import Hit, equalities_for, search, search_distance
from utrflow.reads.demux.ends import ANCHOR, EndScorer, _End
from utrflow.reads.demux.layout import REGION_CONTEXT, Call, DemuxSettings, Layout
from utrflow.sequences import reverse_complement
from utrflow.sheets import Construct

TANDEM_GAP = 12  # most bases between a copy's downstream flank and the next copy's upstream one


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
        distance = settings.min_barcode_set_distance
        self.fwd_end = EndScorer(self.fits[0], layout.fwd, slack, self.fwd_primer, distance)
        self.rev_end = EndScorer(self.fits[1], layout.rev, slack, self.rev_primer, distance)
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

    def _region(self, interior: str) -> tuple[int, int, int] | None:
        """Where the bases between the upstream and downstream flank lie, and how many copies
        of the insert the read holds; None if a flank is missing.

        A read of tandem inserts (upstream flank - insert - downstream flank repeated) gives the
        copy next to the downstream construct, the one expressed: the last pair of flanks, each
        next one starting right after the one before. A region holding a flank (inserts between
        repeated upstream flanks alone) stays a chimera's (`holds_flank`): a damaged junction
        of two amplicons looks the same."""
        spans = self._copies(interior)
        return (*spans[-1], len(spans)) if spans else None

    def _copies(self, interior: str, first: bool = False) -> list[tuple[int, int]]:
        """Each tandem copy's bases between its flanks, in order (one for most reads; none
        when a flank is missing); `first` as `_pair` takes it."""
        if not self.upstream and not self.downstream:
            return []
        span = self._pair(interior, 0, len(interior), first)
        spans = [span] if span is not None else []
        # a next copy's upstream flank must end right after this copy's downstream flank: a
        # second amplicon (a chimera) has its spacers, primers and barcodes between them
        while span is not None and self.upstream and self.downstream:
            limit = span[1] + len(self.downstream) + len(self.upstream) + TANDEM_GAP + self.k_up
            span = self._pair(interior, span[1] + 1, limit, first)
            spans += [span] if span is not None else []
        return spans

    def _tandem(self, interior: str, span: tuple[int, int]) -> tuple[int, int, int] | None:
        """A region holding a flank, read as tandem copies whose first downstream flank read
        errors made a worse hit than a later copy's: the copies chained again, each ending at
        its first downstream flank (`_pair`'s `first`). The last copy and the count when the
        chain ends at the same downstream flank as `span` and that copy holds no flank; None
        otherwise (a chimera's junction is too wide to chain, and stays a chimera)."""
        spans = self._copies(interior, first=True)
        if len(spans) < 2 or spans[-1][1] != span[1]:
            return None
        if self.holds_flank(interior[spans[-1][0] : spans[-1][1]]):
            return None
        return (*spans[-1], len(spans))

    def _without_junctions(self, interior: str) -> str:
        """`interior` less the bases joining its tandem copies (a copy's downstream flank and
        the next one's upstream flank), which read errors can bring near a primer's loose
        threshold; a chimera's junction, with its primers, is no tandem junction and stays."""
        spans = self._copies(interior)
        kept, start = [], 0
        for (_, end), (begin, _) in pairwise(spans):
            kept.append(interior[start:end])
            start = begin
        return "".join(kept) + interior[start:]

    def _pair(
        self, interior: str, position: int, limit: int, first: bool = False
    ) -> tuple[int, int] | None:
        """The first upstream flank in `interior[position:limit]` and the downstream flank
        after it: the bases between them, or None. The downstream flank is the best hit after
        the upstream one; with `first`, the first hit within its threshold (in a read of
        tandem copies the best may be a later copy's)."""
        start = position
        if position >= min(limit, len(interior)):
            return None
        if self.upstream:
            d, _, end = search(self.upstream, interior[position:limit], self.k_up)
            if d < 0:
                return None
            start = position + end + 1
        stop = len(interior)
        if self.downstream:
            d, s, _ = search(self.downstream, interior[start:], self.k_down)
            if d < 0:
                return None
            while first and s > 0:  # an earlier hit, wholly before this one
                d, earlier, _ = search(self.downstream, interior[start : start + s], self.k_down)
                if d < 0:
                    break
                s = earlier
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
        if (
            self.settings.chimera_check
            and self._chimeric(interior)
            and self._chimeric(self._without_junctions(interior))
        ):
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
        found = self._region(interior) if status == "assigned" else None
        span = found[:2] if found is not None else None
        region = interior[span[0] : span[1]] if span is not None else None
        if region is not None and self.settings.chimera_check and self.holds_flank(region):
            assert span is not None
            found = self._tandem(interior, span)
            if found is None:
                return Call("chimera", strand=strand)  # a junction too damaged to show primers
            span = found[:2]
            region = interior[span[0] : span[1]]
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
            status == "assigned" and any(end is not None and end.clipped for end in (fwd, rev)),
            found is not None and found[2] > 1,
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
