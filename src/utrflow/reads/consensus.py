"""Each well's UTR: partial-order consensus of its reads' regions, purity, and the library match.

Per well, abPOA (pyabpoa) builds up to two consensus sequences from the oriented regions. Two
consensuses that differ mean two colonies grew in the well: the larger one is called and the
well's purity (the top allele's share of reads) says how mixed it is. Reads farther from the
call than a per-base-error tolerance also count against purity, which catches minor alleles too
rare for abPOA to split off.

In a shallow well whose reads carry base qualities, the call is then settled by its posterior:
each read's differences from a candidate cost their base qualities, each edit away from the
nearest design costs the synthesis prior, and the call passes only when its odds against its
one-edit neighbours are high enough (`settle`, `well_qc`). Deeper wells, and FASTA reads, are
judged by counting reads (`toward_design`, `variant_backing`).

The consensus is then matched to the designed library: designs within a few edits are found by
the pigeonhole rule (a sequence within d edits of a design shares one of its d + 1 segments
exactly, shifted by at most d), and the gap between the best and the second-best design decides
between `exact`, `synthesis_variant`, `ambiguous` and `unmatched` - mapping quality would be
useless here, designs often differ by a single base.

Cost does not grow with depth: the consensus and its polishing use a bounded sample of each
well's reads (those of most typical length), while purity and the mixed-well test measure every
read kept. Edit distances of many reads against many candidates are one C call (rapidfuzz's
`cdist`, the same unit-cost Levenshtein distance as edlib's global mode), and a plate's wells
are called across a pool of worker processes.
"""

from __future__ import annotations

import gzip
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import edlib
import numpy as np
import pyabpoa
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from utrflow import io, sheets
from utrflow.config import section_defaults
from utrflow.io import reading_output
from utrflow.parallel import pool_context
from utrflow.reads.demux import REGION_COLUMNS, REGION_CONTEXT
from utrflow.sequences import edit_distance, single_edits

MATCHES = ("exact", "synthesis_variant", "ambiguous", "unmatched")
CONSENSUS_COLUMNS = [
    "plate",
    "well",
    "role",
    "n_reads",
    "n_regions",
    "sequence",
    "purity",
    "minor_sequence",
    "variant_id",
    "match",
    "edit_distance",
    "differences",
    "second_variant_id",
    "second_distance",
    "qc",
]


_DEFAULTS = section_defaults("consensus")


@dataclass(frozen=True)
class ConsensusSettings:
    """Thresholds of the well calls (config key `consensus`)."""

    min_reads: int = _DEFAULTS["min_reads"]
    min_purity: float = _DEFAULTS["min_purity"]
    max_reads: int = _DEFAULTS["max_reads"]
    consensus_reads: int = _DEFAULTS["consensus_reads"]
    polish_reads: int = _DEFAULTS["polish_reads"]
    homopolymer_design_ratio: float = _DEFAULTS["homopolymer_design_ratio"]
    read_tolerance: float = _DEFAULTS["read_tolerance"]
    min_allele_share: float = _DEFAULTS["min_allele_share"]
    max_variant_distance: int = _DEFAULTS["max_variant_distance"]
    min_match_margin: int = _DEFAULTS["min_match_margin"]
    max_minor_fraction: float = _DEFAULTS["max_minor_fraction"]
    variant_confidence: float = _DEFAULTS["variant_confidence"]
    call_confidence: float = _DEFAULTS["call_confidence"]
    synthesis_error_rate: float = _DEFAULTS["synthesis_error_rate"]


PURITY_CONFIDENCE = 0.95  # how sure a passing well is that no larger second colony hides in it


def purity_established(n_reads: int, n_other: int, max_minor: float) -> bool:
    """Do `n_reads` reads, `n_other` of them off the call, exclude a second colony making up
    `max_minor` or more of the well, at PURITY_CONFIDENCE? One-sided binomial bound: were the
    minor share `max_minor`, as few off-call reads would come up less often than 1 - confidence.

    A few agreeing reads cannot rule out a sizeable minor colony: 6 of 6, or 7 of 8, leave a
    35 % one open (0.65**6 = 0.075); 7 of 7 exclude it (0.049).
    """
    if max_minor <= 0 or n_reads <= 0:
        return max_minor <= 0 and n_reads > 0
    return at_most(n_other, n_reads, max_minor) < 1 - PURITY_CONFIDENCE


def at_most(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def variant_confirmed(backing: int, n_reads: int, confidence: float) -> bool:
    """Do `backing` of `n_reads` reads confirm a difference from the design, at `confidence`?
    One-sided binomial test against reads that lean no more to the call than to the design
    (half of them): 5 of 5 confirm at 0.95 (0.5**5 = 0.031), 4 of 5 do not; 15 of 20 do."""
    return confidence <= 0 or at_most(n_reads - backing, n_reads, 0.5) < 1 - confidence


def confidence_odds(confidence: float) -> float:
    """The posterior log10-odds a call needs to be right at `confidence`."""
    return math.log10(confidence / (1 - confidence))


def well_qc(n_reads: int, call: WellCall, settings: ConsensusSettings) -> str:
    """`pass` or why not, from the well's reads and its call: no reads, too few regions, a
    second allele (`mixed`), a difference from the design too few reads confirm
    (`variant_unconfirmed`), a call its reads do not single out from a one-edit neighbour
    (`sequence_unconfirmed`, base qualities only), or too few reads to exclude a second allele
    (`purity_unproven`)."""
    if n_reads == 0:
        return "no_reads"
    if call.n_used < settings.min_reads:
        return "low_reads"
    if call.purity < settings.min_purity or call.minor_sequence:
        return "mixed"
    if call.margin is not None:
        sure = settings.call_confidence <= 0 or call.margin >= confidence_odds(
            settings.call_confidence
        )
        if not sure:
            return "variant_unconfirmed" if call.off_design else "sequence_unconfirmed"
    elif call.variant_backing is not None and not variant_confirmed(
        call.variant_backing, call.n_backing, settings.variant_confidence
    ):
        return "variant_unconfirmed"
    off_call = call.n_used - round(call.purity * call.n_used)
    if not purity_established(call.n_used, off_call, settings.max_minor_fraction):
        return "purity_unproven"
    return "pass"


@dataclass(frozen=True)
class WellCall:
    """The consensus of one well."""

    sequence: str
    purity: float
    minor_sequence: str  # the second allele of a mixed well, else ''
    n_used: int  # regions the call and its purity rest on
    # when the call differs from its nearest design: reads backing the least-backed difference,
    # of the reads scored (see variant_backing)
    variant_backing: int | None = None
    n_backing: int = 0
    # with base qualities: the call's posterior log10-odds against its nearest alternatives
    # (see `settle`), and whether it differs from its nearest design
    margin: float | None = None
    off_design: bool = False


def _poa(seqs: Sequence[str]) -> str:
    """abPOA's single consensus of the sequences (all reads weigh alike)."""
    if len(seqs) == 1:
        return seqs[0]
    result = pyabpoa.msa_aligner().msa(list(seqs), out_cons=True, out_msa=False)
    return result.cons_seq[0]


def _distances(targets: Sequence[str], seqs: Sequence[str], bound: int | None = None) -> np.ndarray:
    """Edit distances, one row per target and one column per sequence (bound + 1 past `bound`)."""
    return process.cdist(
        targets, seqs, scorer=Levenshtein.distance, score_cutoff=bound, dtype=np.int32
    )


def _within(seqs: Sequence[str], target: str, tolerance: int) -> list[int]:
    """Edit distance of each sequence to `target`, -1 beyond `tolerance`."""
    distances = _distances([target], seqs, tolerance)[0]
    return np.where(distances > tolerance, -1, distances).tolist()


def best_reads(seqs: Sequence[str], n: int) -> list[str]:
    """`n` regions for the consensus: the first, in the order given (`read_plate_regions`: the
    best by mean read quality first), whose length is within 10 % (at least 3 nt) of the well's
    median, then if need be the others in that order.

    A region far longer or shorter than most is a mis-cut or a chimera remnant; among the rest
    the reads the basecaller trusts most carry the fewest errors, and the order is
    reproducible. (Ranking by nearness to the median would favour the reads that share
    nanopore's typical one-base deletion, and tilt the call.) A well with `n` reads or fewer
    keeps them all, as they came.
    """
    return [seqs[i] for i in best_indices(seqs, n)]


def best_indices(seqs: Sequence[str], n: int) -> list[int]:
    """Where `best_reads`'s regions lie in `seqs`, in order."""
    if len(seqs) <= n:
        return list(range(len(seqs)))
    median = sorted(len(s) for s in seqs)[len(seqs) // 2]
    slack = max(3, math.ceil(0.1 * median))
    ranked = sorted(range(len(seqs)), key=lambda i: (abs(len(seqs[i]) - median) > slack, i))
    return sorted(ranked[:n])


def shown_edits(seqs: Sequence[str], seq: str) -> set[str]:
    """The sequences one edit from `seq` toward the reads: each read's own edits from `seq`
    (one optimal alignment, rapidfuzz's `editops`), applied one at a time, kept when at least
    n // 20 of the n reads show them (every one below 40 reads).

    An edit can lower the reads' summed distance only when it lowers more reads' distances than
    it raises, and a read whose distance it lowers shows it in an optimal alignment. An edit
    that one read alone shows, among 40 or more, would have to leave all the others' distances
    as they were: it is that read's own error. Equal strings merge, so a base lost anywhere in
    a homopolymer is one candidate however each read's alignment placed it.
    """
    min_reads = max(1, len(seqs) // 20)
    votes: Counter[str] = Counter()
    for read in seqs:
        shown = set()
        for op in Levenshtein.editops(seq, read):
            tag, i, j = op.tag, op.src_pos, op.dest_pos
            if tag == "replace":
                shown.add(seq[:i] + read[j] + seq[i + 1 :])
            elif tag == "insert":
                shown.add(seq[:i] + read[j] + seq[i:])
            else:
                shown.add(seq[:i] + seq[i + 1 :])
        votes.update(shown)
    return {candidate for candidate, n in votes.items() if n >= min_reads}


def polish(seqs: Sequence[str], start: str, extra: Iterable[str] = (), rounds: int = 3) -> str:
    """The sequence nearest to the reads in summed edit distance, searched from `start` one
    edit at a time (the edits the reads show, see `shown_edits`, plus `extra` candidates, e.g.
    nearby designs).

    POA consensus slips at homopolymers and at the region ends where flank alignments wobble;
    the reads' own majority, scored base by base, fixes both. Scoring the edits the reads show
    (tens) rather than every single edit (about 12 per base) costs a tenth as much.
    """
    best = start
    best_total = int(_distances([best], seqs).sum())
    candidates = set(extra)
    for _ in range(rounds):
        improved = False
        ordered = sorted(candidates | shown_edits(seqs, best))
        if not ordered:
            break
        totals = _distances(ordered, seqs).sum(axis=1).tolist()
        for candidate, total in zip(ordered, totals, strict=True):
            if total < best_total:
                best, best_total, improved = candidate, total, True
        candidates = set()
        if not improved:
            break
    return best


def homopolymer_steps(seq: str) -> set[str]:
    """Sequences one base longer in a run of 2 or more, or one base shorter in a run of 3+."""
    out: set[str] = set()
    start = 0
    for end in range(1, len(seq) + 1):
        if end < len(seq) and seq[end] == seq[start]:
            continue
        length = end - start
        if length >= 2:
            out.add(seq[:end] + seq[start] + seq[end:])
        if length >= 3:
            out.add(seq[:start] + seq[start + 1 :])
        start = end
    return out


def design_steps(seq: str, design: str) -> set[str]:
    """The single edits of `seq` that bring it one edit closer to `design`."""
    if not design or seq == design:
        return set()
    steps = sorted(single_edits(seq))
    closer = _distances(steps, [design])[:, 0] < edit_distance(seq, design)
    return {step for step, nearer in zip(steps, closer, strict=True) if nearer}


def variant_backing(seqs: Sequence[str], call: str, design: str) -> int | None:
    """How many reads back each difference between `call` and its nearest `design`: those
    closer to the call than to the call with one edit undone toward the design, at the
    least-backed edit (None when call and design are equal).

    At low depth a difference from the design is as often the reads' shared error (3 or 4 of 5
    reads slipping at one homopolymer) as a real synthesis error, which shows in nearly every
    read; and a real variant can carry a shared slip beside it. A read as far from both backs
    neither.
    """
    if call == design or not seqs:
        return None
    distances = _distances([call, *sorted(design_steps(call, design))], seqs)
    return int((distances[0] < distances[1:]).sum(axis=1).min())


def reads_prefer(seqs: Sequence[str], candidate: str, call: str, min_ratio: float) -> bool:
    """Do at least `min_ratio` as many reads sit closer to `candidate` as to `call`?"""
    to_candidate, to_call = _distances([candidate, call], seqs)
    closer_candidate = int((to_candidate < to_call).sum())
    closer_call = int((to_call < to_candidate).sum())
    return closer_candidate >= min_ratio * closer_call


def toward_design(seqs: Sequence[str], call: str, design: str, min_ratio: float) -> str:
    """Give the call the design's homopolymer lengths where the reads allow it.

    Nanopore reads shorten long runs often enough that their majority can be a base short; a
    true synthesis error in a run leaves few reads with the design's length. So each one-base
    run step that brings the call closer to the design is taken when the reads closer to it are
    at least `min_ratio` as many as those closer to the call. Other differences (real synthesis
    errors elsewhere) stay.
    """
    distance = edit_distance(call, design)
    for _ in range(distance):
        steps = [
            candidate
            for candidate in sorted(homopolymer_steps(call))
            if edit_distance(candidate, design) < distance
        ]
        chosen = next((c for c in steps if reads_prefer(seqs, c, call, min_ratio)), None)
        if chosen is None:
            break
        call, distance = chosen, edit_distance(chosen, design)
    return call


BOUNDARY_SLACK = 3  # bases beyond a flank end's expected place where trim_flanks looks for it


def trim_flanks(seq: str, flanks: tuple[str, str]) -> str:
    """`seq` without the flank ends around it: the upstream flank's end found near the start,
    the downstream flank's start near the end, each where the alignment puts it closest to
    where it belongs (a consensus over many reads carries the flank ends as designed, so a
    base the flank shares with the UTR stays with the UTR)."""
    up, down = flanks
    start, stop = 0, len(seq)
    if up:
        window = seq[: len(up) + BOUNDARY_SLACK]
        hit = edlib.align(up, window, mode="HW", task="locations", k=len(up) // 2)
        ends = [end for _, end in hit["locations"]] if hit["editDistance"] >= 0 else []
        start = min(ends, key=lambda end: abs(end - (len(up) - 1))) + 1 if ends else len(up)
    if down:
        offset = max(start, len(seq) - len(down) - BOUNDARY_SLACK)
        hit = edlib.align(down, seq[offset:], mode="HW", task="locations", k=len(down) // 2)
        starts = [offset + s for s, _ in hit["locations"]] if hit["editDistance"] >= 0 else []
        expected = len(seq) - len(down)
        stop = min(starts, key=lambda s: abs(s - expected)) if starts else expected
    return seq[start : max(start, stop)]


# -- calls weighed by base quality ---------------------------------------------------------------

MIN_PHRED, MAX_PHRED = 3, 40  # base qualities are taken within these (no error is free or sure)
# The most reads a well may have to be settled by the posterior (`settle`); deeper wells are
# called by counting reads. The posterior treats reads as independent, and where they share a
# bias their qualities do not show (nanopore reads lose a base of a long homopolymer far more
# often than they gain one), its certainty grows with every read while the call is wrong. On
# 16 plates at ~37 reads a well and 6 % errors (benchmarks/run_scale.py), settling wells of up
# to 20 regions called 4 more wrong than counting, of up to 10 none more. With few reads the
# qualities carry what counting cannot (README, well calls).
SETTLE_READS = 10
ALTERNATIVES = 12  # nearest alternatives whose posterior counts against the call
SETTLE_ROUNDS = 4


@dataclass(frozen=True)
class WeighedRead:
    """A region with the log10 cost of each kind of error at each of its positions."""

    seq: str
    wrong: np.ndarray  # a wrong base at read position j: its Phred / 10
    extra: np.ndarray  # an extra base at read position j: see `weigh`
    slip: np.ndarray  # a base missing before read position j (0..len): see `weigh`


def weigh(seq: str, quality: str) -> WeighedRead:
    """A read's error costs from its base qualities (Phred+33, one per base).

    A wrong base costs its own quality. Which base of a homopolymer is the extra one no
    alignment can tell, so an extra base costs the lowest quality of its run. A missing base
    shows no quality of its own: basecallers mark a slip with low qualities around it, and in
    a homopolymer anywhere along the run, so a base missing next to position j costs the
    lowest quality over the run(s) touching j and one base either side.
    """
    phred = np.clip(
        np.frombuffer(quality.encode("ascii"), dtype=np.uint8) - 33, MIN_PHRED, MAX_PHRED
    )
    wrong = phred.astype(np.float64) / 10
    n = len(seq)
    extra, around = wrong.copy(), wrong.copy()
    start = 0
    for end in range(1, n + 1):
        if end < n and seq[end] == seq[start]:
            continue
        extra[start:end] = wrong[start:end].min()
        around[start:end] = wrong[max(0, start - 1) : min(n, end + 1)].min()
        start = end
    padded = np.concatenate(([MAX_PHRED / 10], around, [MAX_PHRED / 10]))
    slip = np.minimum(padded[:-1], padded[1:])
    return WeighedRead(seq, wrong, extra, slip)


def read_cost(candidate: str, read: WeighedRead) -> float:
    """-log10 of how likely `read` is, were `candidate` the well's sequence (up to a constant):
    the summed costs of the read's errors along one optimal alignment (rapidfuzz's editops)."""
    cost = 0.0
    for op in Levenshtein.editops(candidate, read.seq):
        if op.tag == "delete":
            cost += read.slip[op.dest_pos]
        elif op.tag == "insert":
            cost += read.extra[op.dest_pos]
        else:
            cost += read.wrong[op.dest_pos]
    return cost


def settle(
    reads: Sequence[WeighedRead],
    start: str,
    designs: Sequence[str] = (),
    edit_cost: float = 0.0,
) -> tuple[str, float]:
    """The most likely sequence near `start` and its posterior log10-odds against the
    ALTERNATIVES likeliest one-edit neighbours.

    The posterior weighs each read's errors by its base qualities (`read_cost`) and, with the
    `designs` near the call, a prior of `edit_cost` per edit away from the nearest of them
    (log10 of how much likelier a base is synthesized right than wrong; two designs a base
    apart are alike to it). Candidates are the edits the reads show (`shown_edits`),
    homopolymer steps and steps toward the designs, taken one at a time while one is likelier.
    A base lost by three of five reads at a low-quality run then weighs less than the design
    and the other two reads; the same loss in five high-quality reads is a real variant.
    """
    seqs = [read.seq for read in reads]

    def score(candidate: str) -> float:
        prior = edit_cost * min(edit_distance(candidate, d) for d in designs) if designs else 0.0
        return prior + sum(read_cost(candidate, read) for read in reads)

    best, best_score = start, score(start)
    for moves in range(SETTLE_ROUNDS + 1):
        neighbours = sorted(
            shown_edits(seqs, best).union(
                homopolymer_steps(best), *(design_steps(best, d) for d in designs)
            )
            - {best}
        )
        scores = [score(candidate) for candidate in neighbours]
        if not scores:
            return best, math.inf
        low = min(range(len(scores)), key=scores.__getitem__)
        if scores[low] >= best_score or moves == SETTLE_ROUNDS:
            break  # (a likelier neighbour left after the last round makes the odds negative)
        best, best_score = neighbours[low], scores[low]
    nearest = sorted(scores)[:ALTERNATIVES]
    odds = sum(10 ** (best_score - other) for other in nearest)
    return best, -math.log10(odds)


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


def construct_ends(
    upstream_flank: str, downstream_flank: str, length: int = REGION_CONTEXT
) -> tuple[str, str]:
    """The flank ends the demultiplexer keeps beside each region: the upstream flank's last
    and the downstream flank's first `length` bases."""
    return upstream_flank[max(0, len(upstream_flank) - length) :], downstream_flank[:length]


class WellReads(NamedTuple):
    """One well's regions and, beside each, its base qualities (Phred+33; '' for FASTA)."""

    regions: list[str]
    qualities: list[str]


def best_first(reads: Sequence[tuple[float, str, str]], sample: int) -> WellReads:
    """A well's (mean quality, region, base qualities) reads: with more than `sample`, the
    `sample` of best quality first (the consensus sample, `best_reads`, takes the first), then
    the others; each part in file order (the order abPOA meets them in stays the file's), ties
    in quality to the earlier read. A well of `sample` reads or fewer stays as it came."""
    order = list(range(len(reads)))
    if len(reads) > sample:
        best = sorted(sorted(order, key=lambda i: -reads[i][0])[:sample])
        chosen = set(best)
        order = best + [i for i in order if i not in chosen]
    return WellReads([reads[i][1] for i in order], [reads[i][2] for i in order])


def read_plate_regions(
    paths: Iterable[str | Path],
    plate: str,
    max_reads: int,
    context: bool = False,
    sample: int | None = None,
    qualities: bool = True,
) -> dict[str, WellReads]:
    """Regions of one plate's wells from regions.tsv.gz files (as the demultiplexer writes them:
    REGION_COLUMNS, tab-joined, never quoted; a file from before the `quality` or the
    `region_quality` column reads too), at most `max_reads` per well in file order, read line
    by line so a pooled file of millions of reads never sits in memory. With `sample` (the
    consensus sample's size), each well's best reads by mean quality come first (`best_first`;
    FASTA reads have none). With `context`, each region comes with the read's flank ends around
    it (`left` + region + `right`), for `call_well`'s `flanks`; its base qualities cover the
    same bases (none with `qualities=False`, to call as from FASTA)."""
    kept: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for path in paths:
        with reading_output(path), gzip.open(path, "rt", newline="\n") as handle:
            header = handle.readline().rstrip("\n").split("\t")
            if header not in (REGION_COLUMNS, REGION_COLUMNS[:-1], REGION_COLUMNS[:-2]):
                raise ValueError(f"its header is not {' '.join(REGION_COLUMNS)}")
            columns = len(header)
            for number, line in enumerate(handle, start=2):
                cells = line.rstrip("\n").split("\t")
                if len(cells) != columns:
                    raise ValueError(f"line {number} has {len(cells)} cells, not {columns}")
                if cells[0] != plate:
                    continue
                well = kept[cells[1]]
                if len(well) < max_reads:
                    quality = float(cells[6]) if columns > 6 and cells[6] else 0.0
                    left, region, right = cells[4], cells[3], cells[5]
                    bases = cells[7] if columns > 7 and qualities else ""
                    if context:
                        region = left + region + right
                    elif bases:
                        bases = bases[len(left) : len(left) + len(region)]
                    well.append((quality, region, bases))
    return {well: best_first(reads, sample or len(reads)) for well, reads in kept.items()}


def call_and_match(
    well: WellReads,
    settings: ConsensusSettings,
    library: LibraryIndex | None,
    flanks: tuple[str, str] = ("", ""),
) -> tuple[WellCall, Match | None]:
    """One well's call and, with a library, its match."""
    call = call_well(well.regions, settings, library, flanks, well.qualities)
    match = (
        match_library(call.sequence, library, settings.min_match_margin)
        if library is not None and call.sequence
        else None
    )
    return call, match


_WORKER: tuple[ConsensusSettings, LibraryIndex | None, tuple[str, str]] | None = None


def _init_worker(
    settings: ConsensusSettings, library: LibraryIndex | None, flanks: tuple[str, str]
) -> None:
    global _WORKER
    _WORKER = (settings, library, flanks)


def _worker_call(well: WellReads) -> tuple[WellCall, Match | None]:
    assert _WORKER is not None
    return call_and_match(well, *_WORKER)


def call_wells(
    wells: Sequence[WellReads],
    settings: ConsensusSettings,
    library: LibraryIndex | None,
    threads: int = 1,
    flanks: tuple[str, str] = ("", ""),
) -> list[tuple[WellCall, Match | None]]:
    """Every well's call and match, in order, over `threads` processes (1: in this one).

    Wells are independent and each costs about the same (the consensus sample is bounded), so
    handing them out a few at a time keeps every core busy to the end.
    """
    if threads <= 1 or len(wells) < 2:
        return [call_and_match(well, settings, library, flanks) for well in wells]
    context = pool_context()
    with context.Pool(min(threads, len(wells)), _init_worker, (settings, library, flanks)) as pool:
        return pool.map(_worker_call, wells, chunksize=max(1, len(wells) // (8 * threads)))


def call_plate(
    plate: str,
    counts: Iterable[Mapping[str, str]],
    regions: Mapping[str, WellReads],
    library: LibraryIndex | None,
    settings: ConsensusSettings,
    threads: int = 1,
    flanks: tuple[str, str] = ("", ""),
) -> list[dict[str, Any]]:
    """One row per well of the plate (CONSENSUS_COLUMNS), every well of the layout (the rows
    of well_counts.tsv) listed; wells are called over `threads` processes; `flanks` as
    `call_well` takes them (`construct_ends`) when the regions carry flank ends."""
    rows = []
    layout = [
        (row["well"], row["role"], row["reads"], row["regions"])
        for row in counts
        if row["plate"] == plate
    ]
    wells = [regions.get(well, WellReads([], [])) for well, *_ in layout]
    results = call_wells(wells, settings, library, threads, flanks)
    for (well, role, n_reads, n_regions), (call, match) in zip(layout, results, strict=True):
        qc = well_qc(int(n_reads), call, settings)
        rows.append(
            {
                "plate": plate,
                "well": well,
                "role": role,
                "n_reads": int(n_reads),
                "n_regions": int(n_regions),
                "sequence": call.sequence,
                "purity": round(call.purity, 4) if call.n_used else None,
                "minor_sequence": call.minor_sequence,
                "variant_id": match.variant_id if match else "",
                "match": match.match if match else "",
                "edit_distance": match.distance if match and match.distance >= 0 else None,
                "differences": match.differences if match else "",
                "second_variant_id": match.second_variant_id if match else "",
                "second_distance": (
                    match.second_distance if match and match.second_distance >= 0 else None
                ),
                "qc": qc,
            }
        )
    return rows


def library_index(path: Path | None, settings: ConsensusSettings) -> LibraryIndex | None:
    """The designed library, indexed for matching calls (None without a library)."""
    if not path:
        return None
    designs = sheets.load_library(path)
    return LibraryIndex(
        [row["id"] for row in designs],
        [row["sequence"] for row in designs],
        settings.max_variant_distance,
    )


def run(
    plate: str,
    counts: Path,
    regions: Path,
    library: Path | None,
    settings: ConsensusSettings,
    output: Path,
    threads: int = 1,
    flanks: tuple[str, str] = ("", ""),
    base_qualities: bool = True,
) -> list[dict[str, Any]]:
    """The `consensus` stage for one plate: each well's call, purity and library match
    (written to `output`, and returned as rows), wells across `threads` processes; with
    `flanks` (`construct_ends`), over flank end - UTR - flank end (see `call_well`);
    `base_qualities=False` calls as from FASTA (to measure what the qualities bring)."""
    index = library_index(library, settings)
    well_counts = io.read_rows(counts)
    plate_regions = read_plate_regions(
        [regions], plate, settings.max_reads, any(flanks), settings.consensus_reads, base_qualities
    )
    calls = call_plate(plate, well_counts, plate_regions, index, settings, threads, flanks)
    io.write_rows(calls, CONSENSUS_COLUMNS, output)
    return calls
