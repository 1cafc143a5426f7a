"""The hidden ground truth of the simulated experiment: how a 5' UTR sets GFP expression.

A small, biologically shaped model of translation initiation in E. coli, in the spirit of the
lecture's PWM simulation: a Shine-Dalgarno (SD) motif scored with a position weight matrix whose
effect depends on its spacing to the start codon (a position effect) and is damped by GC-rich,
structured sequence near the start (an interaction), upstream ATGs that steal ribosomes, and a
U-rich enhancer. Expression is returned on a log2 scale. The simulators draw labels from it and
keep it beside their outputs, so every later stage can be scored against the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from utrflow.sequences import one_hot, random_sequences


@dataclass(frozen=True)
class Motif:
    """A motif as a position probability matrix around a consensus."""

    consensus: str
    match_probability: float = 0.7

    def probabilities(self) -> np.ndarray:
        """(len, 4) probabilities: the consensus base gets `match_probability`, the rest share."""
        other = (1 - self.match_probability) / 3
        p = np.full((len(self.consensus), 4), other)
        for i, base in enumerate(self.consensus):
            p[i, "ACGT".index(base)] = self.match_probability
        return p

    def log_odds(self) -> np.ndarray:
        """(len, 4) log2 odds against a uniform background: the PWM of the lecture."""
        return np.log2(self.probabilities() / 0.25)

    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        """Draw `n` instances of the motif from its probability matrix."""
        p = self.probabilities()
        cumulative = p.cumsum(axis=1)
        u = rng.random((n, len(self.consensus), 1))
        idx = (u > cumulative[None]).sum(axis=2)
        letters = np.frombuffer(b"ACGT", dtype=np.uint8)[idx]
        return [row.tobytes().decode("ascii") for row in letters]


SHINE_DALGARNO = Motif("AGGAGG")
U_RICH_ENHANCER = Motif("TTTTT", match_probability=0.85)


@dataclass(frozen=True)
class GroundTruth:
    """Effect sizes of the hidden expression function (log2 units)."""

    baseline: float = 9.0
    sd_effect: float = 3.0
    sd_optimal_spacing: float = 8.0  # distance of the SD's last base from the start codon
    sd_spacing_width: float = 2.0
    sd_score_midpoint: float = 5.0  # PWM score (bits) at half occupancy
    uatg_effect: float = -1.0
    uatg_max_counted: int = 2
    accessibility_window: int = 15
    accessibility_effect: float = 1.0
    enhancer_effect: float = 0.6
    enhancer_min_distance: int = 15


def _window_scores(x: np.ndarray, log_odds: np.ndarray) -> np.ndarray:
    """PWM score of every window of a (n, L, 4) one-hot array: (n, L - k + 1)."""
    k = log_odds.shape[0]
    n, width, _ = x.shape
    scores = np.zeros((n, max(width - k + 1, 0)))
    for j in range(k):  # loop over motif columns only (k <= 10), vectorized over sequences
        scores += x[:, j : width - k + 1 + j, :] @ log_odds[j]
    return scores


def _contains(x: np.ndarray, word: str) -> np.ndarray:
    """(n, L - k + 1) boolean: an exact occurrence of `word` starts at each position."""
    exact = Motif(word, match_probability=1.0).probabilities()
    return _window_scores(x.astype(np.float32), exact) >= len(word) - 1e-6


def expression(seqs: Sequence[str], truth: GroundTruth | None = None) -> np.ndarray:
    """True log2 expression of each 5' UTR (3' end next to the start codon)."""
    t = truth or GroundTruth()
    n = len(seqs)
    if n == 0:
        return np.zeros(0)
    x = one_hot(seqs).astype(np.float32)
    width = x.shape[1]

    # Accessibility: A/T fraction of the bases right before the start codon (less structure).
    tail = x[:, -t.accessibility_window :, :]
    tail_bases = tail.sum(axis=(1, 2))
    at_fraction = np.divide(
        tail[:, :, [0, 3]].sum(axis=(1, 2)), tail_bases, out=np.full(n, 0.5), where=tail_bases > 0
    )

    # Shine-Dalgarno occupancy: PWM score x spacing preference, best window wins.
    k = len(SHINE_DALGARNO.consensus)
    scores = _window_scores(x, SHINE_DALGARNO.log_odds())
    distance_of_last_base = width - (np.arange(scores.shape[1]) + k - 1)
    spacing = np.exp(
        -0.5 * ((distance_of_last_base - t.sd_optimal_spacing) / t.sd_spacing_width) ** 2
    )
    occupancy = 1 / (1 + np.exp(-(scores - t.sd_score_midpoint)))
    sd = (occupancy * spacing[None, :]).max(axis=1, initial=0.0)

    # Upstream ATGs compete for ribosomes.
    uatg = np.minimum(_contains(x, "ATG").sum(axis=1), t.uatg_max_counted)

    # A U-rich enhancer helps only far enough upstream (a position effect).
    hits = _contains(x, U_RICH_ENHANCER.consensus)
    hit_distance = width - (np.arange(hits.shape[1]) + len(U_RICH_ENHANCER.consensus) - 1)
    enhancer = (hits & (hit_distance >= t.enhancer_min_distance)[None, :]).any(axis=1)

    return (
        t.baseline
        + t.sd_effect * sd * (0.4 + 1.2 * at_fraction)  # SD effect damped by structure
        + t.accessibility_effect * (at_fraction - 0.5)
        + t.uatg_effect * uatg
        + t.enhancer_effect * enhancer
    )


def design_library(
    rng: np.random.Generator,
    n: int,
    min_len: int,
    max_len: int,
    p_sd: float = 0.6,
    p_uatg: float = 0.25,
    p_enhancer: float = 0.25,
) -> list[str]:
    """A designed UTR library: random backgrounds with planted SDs, uATGs and enhancers.

    Real libraries vary the features that matter (here SD strength and spacing), so the labels
    span a wide range; uniformly random sequences would almost never carry an SD.
    """
    seqs = random_sequences(rng, n, min_len, max_len)
    sd_sites = SHINE_DALGARNO.sample(rng, n)
    enhancers = U_RICH_ENHANCER.sample(rng, n)
    plant_sd = rng.random(n) < p_sd
    plant_uatg = rng.random(n) < p_uatg
    plant_enh = rng.random(n) < p_enhancer
    spacing = rng.integers(3, 17, size=n)
    u_pos = rng.random(n)
    u_pos2 = rng.random(n)
    out = []
    for i, s in enumerate(seqs):
        chars = list(s)
        length = len(chars)
        if plant_sd[i] and length >= spacing[i] + 6:
            end = length - spacing[i] + 1
            chars[end - 6 : end] = sd_sites[i]
        if plant_enh[i] and length >= 25:
            start = int(u_pos[i] * (length - 20 - 5))
            chars[start : start + 5] = enhancers[i]
        if plant_uatg[i] and length >= 6:
            start = int(u_pos2[i] * (length - 3))
            chars[start : start + 3] = "ATG"
        out.append("".join(chars))
    return out
