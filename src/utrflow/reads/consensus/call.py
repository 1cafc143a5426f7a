"""One well's call: consensus, polishing, the posterior or counted backing, purity and any
second allele (`call_well`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from utrflow.library_index import LibraryIndex
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
    """Consensus, purity and any second allele of one well's regions.

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
    """
    kept_reads = [
        (region, qualities[i] if i < len(qualities) else "")
        for i, region in enumerate(regions[: settings.max_reads])
        if region
    ]
    if not kept_reads:
        return WellCall("", 0.0, "", 0)
    seqs = [region for region, _ in kept_reads]
    weighed = len(seqs) <= SETTLE_READS and all(len(q) == len(r) for r, q in kept_reads)
    chosen = best_indices(seqs, settings.consensus_reads)
    sample = [seqs[i] for i in chosen]
    call = _poa(sample)

    def wrap(design: str) -> str:
        return flanks[0] + design + flanks[1]

    def nearest(candidate: str) -> list[str]:
        if library is None:
            return []
        return [
            wrap(library.sequences[i]) for _, i in library.nearest(trim_flanks(candidate, flanks))
        ]

    def tolerance(seq: str) -> int:
        return max(3, math.ceil(settings.read_tolerance * len(seq)))

    distances = _within(sample, call, tolerance(call))
    inlying = [i for i, d in zip(chosen, distances, strict=True) if d >= 0]
    inliers = [seqs[i] for i in inlying]
    margin = None
    if len(inliers) >= 2:
        call = polish(inliers[: settings.polish_reads], call, nearest(call))
        near = nearest(call)
        if weighed:
            reads = [weigh(*kept_reads[i]) for i in inlying]
            rate = settings.synthesis_error_rate
            edit_cost = math.log10((1 - rate) / rate) if near and rate > 0 else 0.0
            call, margin = settle(reads, call, near, edit_cost)
        elif near:
            call = toward_design(inliers, call, near[0], settings.homopolymer_design_ratio)
    distances = _within(seqs, call, tolerance(call))
    kept = [s for s, d in zip(seqs, distances, strict=True) if d >= 0]
    outliers = [s for s, d in zip(seqs, distances, strict=True) if d < 0]
    # differences inside the UTR only: the reported call between the construct's flank ends
    reported = trim_flanks(call, flanks)
    near = nearest(call)
    scored = kept[: settings.polish_reads]
    counted = margin is None  # not settled by the posterior: the reads' backing is counted
    backing = variant_backing(scored, wrap(reported), near[0]) if near and counted else None
    explained = len(seqs) - len(outliers)
    needed = max(2, math.ceil(settings.min_allele_share * len(seqs)))
    minor = ""
    if len(outliers) >= needed:
        second = _poa(best_reads(outliers, settings.consensus_reads))
        support = sum(d >= 0 for d in _within(outliers, second, tolerance(second)))
        if support >= needed and edit_distance(second, call) > tolerance(call):
            minor = second
    trimmed_minor = trim_flanks(minor, flanks) if minor else ""
    return WellCall(
        reported,
        explained / len(seqs),
        trimmed_minor,
        len(seqs),
        backing,
        len(scored) if counted else 0,
        margin,
        bool(near) and wrap(reported) != near[0],
    )
