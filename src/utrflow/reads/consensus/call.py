"""One well's call: consensus, polishing, the posterior or counted backing, purity and any
second allele (`call_well`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from utrflow.library_index import LibraryIndex
from utrflow.reads.consensus.alleles import (
    ALLELE_READS,
    Shared,
    Split,
    observed_sites,
    quality_error,
    seeds_of,
    shared_edits,
    split_alleles,
)
from utrflow.reads.consensus.background import SiteCounts, SiteRates, site_rates
from utrflow.reads.consensus.poa import (
    _poa,
    _within,
    best_indices,
    best_reads,
    polish,
    toward_design,
    trim_flanks,
    variant_backing,
)
from utrflow.reads.consensus.posterior import SETTLE_READS, settle, weigh
from utrflow.reads.consensus.qc import ConsensusSettings, WellCall
from utrflow.sequences import edit_distance


def call_well(
    regions: Sequence[str],
    settings: ConsensusSettings,
    library: LibraryIndex | None = None,
    flanks: tuple[str, str] = ("", ""),
    qualities: Sequence[str] = (),
) -> WellCall:
    """Consensus, purity and any second allele of one well's regions (see `observe_well`)."""
    return observe_well(regions, settings, library, flanks, qualities)[0]


@dataclass(frozen=True)
class Observed:
    """What a well's first call leaves for a second look against its plate's background: the
    call before any split and its odds, and the reads' edits from that call by site
    (`alleles.observed_sites`)."""

    call: str
    margin: float | None
    sites: SiteCounts
    allele: str = ""  # the second allele the first look found near the call
    # the reads counted for seeds, their quality floor and the edits enough of them share
    # (`alleles.seeds_of`): a second look seeds no allele without reading the reads again
    seeding: tuple[int, float, Shared] | None = None
    grown: dict[str, str] = field(default_factory=dict)  # each seed's allele, as grown
    near: tuple[int, ...] = ()  # the reads within tolerance of the call


def observe_well(
    regions: Sequence[str],
    settings: ConsensusSettings,
    library: LibraryIndex | None = None,
    flanks: tuple[str, str] = ("", ""),
    qualities: Sequence[str] = (),
    background: SiteCounts | None = None,
    first: Observed | None = None,
    count: bool = True,
) -> tuple[WellCall, Observed]:
    """Consensus, purity and any second allele of one well's regions, and what the call
    leaves for a second look (`Observed`).

    One consensus over `consensus_reads` of the well's reads (see best_reads; abPOA's own
    two-allele split takes homopolymer-length noise for alleles). Every read farther from it
    than the tolerance is a candidate for a second allele; it is real when their own consensus
    explains enough of them.

    With `flanks` (the upstream flank's last and the downstream flank's first bases), each
    region comes with the read's bases of those flank ends around it: the consensus is called
    over flank end - UTR - flank end, and the flank ends are cut off after (`trim_flanks`).

    With `qualities` (each region's base qualities, Phred+33) and at most SETTLE_READS regions,
    the polished call is settled by its posterior under the reads' base qualities and the
    design (`settle`), and the call keeps its odds against its nearest alternatives
    (`WellCall.margin`, judged by `well_qc`). Without them (FASTA), or deeper, a one-base
    homopolymer step toward the design is taken when enough reads prefer it (`toward_design`)
    and the reads' backing of each difference is counted (`variant_backing`).

    With `background` (the plate's edits by site, `background.SiteCounts`) and this well's
    `first` look, the consensus is not made again and a second allele is judged against each
    site's own error rate on the plate, less this well's reads (`background.site_rates`).
    `count=False`: the well's edits are not counted by site (not part of its plate's
    background).
    """
    kept_reads = _kept(regions, qualities, settings.max_reads)
    if not kept_reads:
        return WellCall("", 0.0, "", 0), Observed("", None, SiteCounts())
    seqs = [region for region, _ in kept_reads]
    well = _Well(settings, library, flanks)
    first_call = (first.call, first.margin) if first else well.consensus(kept_reads)
    needed = max(2, math.ceil(settings.min_allele_share * len(seqs)))
    rates = None
    if background is not None:
        rates = site_rates(background, first.sites if first else None, _ends(flanks))
    near, split, (error, shared), grown = well.split(
        kept_reads, first_call[0], needed, rates, first
    )
    call, margin, minor, minor_reads = well.alleles(kept_reads, *first_call, near, split)
    if first:
        observed = first
    else:
        sites = well.sites(kept_reads, first_call[0], near, shared) if count else SiteCounts()
        seeding = (min(len(near), ALLELE_READS), error, _enough(shared, needed))
        observed = Observed(*first_call, sites, split.allele, seeding, grown, tuple(near))
    distances = _within(seqs, call, well.tolerance(call))
    outliers = [s for s, d in zip(seqs, distances, strict=True) if d < 0]
    own = [
        s
        for i, (s, d) in enumerate(zip(seqs, distances, strict=True))
        if d >= 0 and i not in minor_reads
    ]
    support = len(minor_reads)
    if not minor:
        minor, support = well.far_allele(outliers, call, needed)
    return well.result(call, margin, own, len(seqs), minor, support), observed


# wells of more reads are looked at again only to drop an allele the first look found: a
# quarter minor there has reads enough to pass the base qualities' floor (and a second look
# at every deep well cost a fifth of the consensus stage's time at run size)
SECOND_LOOK_READS = 40


def recheck_well(
    regions: Sequence[str],
    settings: ConsensusSettings,
    library: LibraryIndex | None,
    flanks: tuple[str, str],
    qualities: Sequence[str],
    background: SiteCounts,
    first: Observed,
) -> WellCall | None:
    """The well's call judged against its plate's background (`observe_well`), or None when
    the second allele it finds is the first look's (most wells: then nothing changes, and
    nothing more is computed)."""
    kept_reads = _kept(regions, qualities, settings.max_reads)
    ends = _ends(flanks)
    rates = site_rates(background, first.sites, ends)
    if not kept_reads or rates is None or first.seeding is None:
        return None
    needed = max(2, math.ceil(settings.min_allele_share * len(kept_reads)))
    n, error, shared = first.seeding
    if not first.allele and (
        not 2 * needed <= n <= SECOND_LOOK_READS
        or not seeds_of(n, first.call, ends, needed, error, rates, shared)[0]
    ):
        return None  # no seed (or reads enough that the first look's floor cost nothing)
    well = _Well(settings, library, flanks)
    _, split, _, _ = well.split(kept_reads, first.call, needed, rates, first)
    if split.allele == first.allele:
        return None
    return observe_well(regions, settings, library, flanks, qualities, background, first)[0]


def _enough(shared: Shared, needed: int) -> Shared:
    """The edits of `shared` shown by enough reads to seed (`seeds_of`), and every kind's
    count (the reads' error rates)."""
    votes, first, kinds = shared
    least = max(2, needed // 2)
    kept = Counter({seq: n for seq, n in votes.items() if n >= least})
    return kept, {seq: first[seq] for seq in kept}, kinds


def _ends(flanks: tuple[str, str]) -> tuple[int, int]:
    """Bases of flank at each end of a call (where no allele differs)."""
    return len(flanks[0]), len(flanks[1])


def _kept(regions: Sequence[str], qualities: Sequence[str], most: int) -> list[tuple[str, str]]:
    """The well's first `most` regions that are not empty, each with its qualities ('')."""
    return [
        (region, qualities[i] if i < len(qualities) else "")
        for i, region in enumerate(regions[:most])
        if region
    ]


@dataclass(frozen=True)
class _Well:
    """What a well's calls share: the settings, the library and the flank ends."""

    settings: ConsensusSettings
    library: LibraryIndex | None
    flanks: tuple[str, str]

    def wrap(self, design: str) -> str:
        return self.flanks[0] + design + self.flanks[1]

    def nearest(self, candidate: str) -> list[str]:
        """The designs nearest `candidate` (up to two), with the flank ends around them."""
        if self.library is None:
            return []
        library, flanks = self.library, self.flanks
        return [
            self.wrap(library.sequences[i])
            for _, i in library.nearest(trim_flanks(candidate, flanks))
        ]

    def tolerance(self, seq: str) -> int:
        return max(3, math.ceil(self.settings.read_tolerance * len(seq)))

    def consensus(self, kept_reads: Sequence[tuple[str, str]]) -> tuple[str, float | None]:
        """The polished call of these reads and, settled by the posterior, its odds."""
        settings = self.settings
        seqs = [region for region, _ in kept_reads]
        weighed = len(seqs) <= SETTLE_READS and all(len(q) == len(r) for r, q in kept_reads)
        chosen = best_indices(seqs, settings.consensus_reads)
        sample = [seqs[i] for i in chosen]
        call = _poa(sample)
        distances = _within(sample, call, self.tolerance(call))
        inlying = [i for i, d in zip(chosen, distances, strict=True) if d >= 0]
        inliers = [seqs[i] for i in inlying]
        margin = None
        if len(inliers) >= 2:
            call = polish(inliers[: settings.polish_reads], call, self.nearest(call))
            near = self.nearest(call)
            if weighed:
                reads = [weigh(*kept_reads[i]) for i in inlying]
                rate = settings.synthesis_error_rate
                edit_cost = math.log10((1 - rate) / rate) if near and rate > 0 else 0.0
                call, margin = settle(reads, call, near, edit_cost)
            elif near:
                call = toward_design(inliers, call, near[0], settings.homopolymer_design_ratio)
        return call, margin

    @property
    def ends(self) -> tuple[int, int]:
        return _ends(self.flanks)

    def split(
        self,
        kept_reads: Sequence[tuple[str, str]],
        call: str,
        needed: int,
        background: SiteRates | None = None,
        first: Observed | None = None,
    ) -> tuple[list[int], Split, tuple[float, Shared], dict[str, str]]:
        """The reads within tolerance of the call (indices into `kept_reads`), their split
        into the call's and a second allele's (`split_alleles`; indices into the first), the
        error their qualities imply with the edits they show (`shared_edits`), and the
        alleles grown from seeds; from the `first` look's where given."""
        seqs = [region for region, _ in kept_reads]
        if first is not None and first.seeding is not None:
            near = list(first.near)
            _, error, shared = first.seeding
        else:
            near = [i for i, d in enumerate(_within(seqs, call, self.tolerance(call))) if d >= 0]
            error = quality_error([kept_reads[i][1] for i in near])
            shared = shared_edits([seqs[i] for i in near][:ALLELE_READS], call)
        grown = dict(first.grown) if first is not None else {}
        split = split_alleles(
            [seqs[i] for i in near],
            call,
            needed,
            self.ends,
            self.nearest,
            self.settings.polish_reads,
            error,
            background,
            shared,
            grown,
        )
        return near, split, (error, shared), grown

    def sites(
        self, kept_reads: Sequence[tuple[str, str]], call: str, near: list[int], shared: Shared
    ) -> SiteCounts:
        """The edits from `call` by site of the reads near it (a second colony's among them:
        the plate's background is the sum over many wells, each judged without its own)."""
        return observed_sites([kept_reads[i][0] for i in near], call, self.ends, shared)

    def alleles(
        self,
        kept_reads: Sequence[tuple[str, str]],
        call: str,
        margin: float | None,
        near: list[int],
        split: Split,
    ) -> tuple[str, float | None, str, frozenset[int]]:
        """The call again on its own reads when the reads show a second allele near it (see
        `split`), so a mixed well's call is its larger allele, never a blend; with the second
        allele and its reads (indices into `kept_reads`), '' and none without one."""
        seqs = [region for region, _ in kept_reads]
        if not split.allele:
            return call, margin, "", frozenset()
        major = [near[i] for i in split.major]
        minor = [near[i] for i in split.minor]
        second = split.allele
        if len(minor) > len(major):  # the reads' larger allele is the call
            major, minor = minor, major
            own = [seqs[i] for i in minor][: self.settings.polish_reads]
            second = polish(own, call, self.nearest(call))
        call, margin = self.consensus([kept_reads[i] for i in major])
        return call, margin, second, frozenset(minor)

    def far_allele(self, outliers: Sequence[str], call: str, needed: int) -> tuple[str, int]:
        """A second allele beyond the tolerance: the outlying reads' own consensus, when at
        least `needed` of them lie within its tolerance; with its reads ('' and 0 without)."""
        if len(outliers) < needed:
            return "", 0
        second = _poa(best_reads(outliers, self.settings.consensus_reads))
        support = sum(d >= 0 for d in _within(outliers, second, self.tolerance(second)))
        if support >= needed and edit_distance(second, call) > self.tolerance(call):
            return second, support
        return "", 0

    def result(
        self,
        call: str,
        margin: float | None,
        own: Sequence[str],
        n_used: int,
        minor: str,
        support: int,
    ) -> WellCall:
        """The well's call: inside the UTR only (between the construct's flank ends), with
        its purity over `own` (the reads within tolerance that are the call's) and, not settled
        by the posterior, the reads' counted backing of each difference from the design."""
        reported = trim_flanks(call, self.flanks)
        near = self.nearest(call)
        scored = own[: self.settings.polish_reads]
        counted = margin is None  # not settled by the posterior: the reads' backing is counted
        backing = (
            variant_backing(scored, self.wrap(reported), near[0]) if near and counted else None
        )
        return WellCall(
            reported,
            len(own) / n_used,
            trim_flanks(minor, self.flanks) if minor else "",
            n_used,
            backing,
            len(scored) if counted else 0,
            margin,
            bool(near) and self.wrap(reported) != near[0],
            support if minor else 0,
        )
