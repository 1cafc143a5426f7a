"""The consensus and its polishing: abPOA over a bounded sample, then the sequence nearest
the reads in summed edit distance, homopolymers toward the design, flank ends trimmed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import edlib
import numpy as np
import pyabpoa
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from utrflow.sequences import edit_distance, single_edits


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
