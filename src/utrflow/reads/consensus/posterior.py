"""Calls weighed by base quality: each read's errors cost their qualities, and the call's
posterior odds against its one-edit neighbours (`settle`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Levenshtein

from utrflow.reads.consensus.poa import design_steps, homopolymer_steps, shown_edits
from utrflow.sequences import edit_distance

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
