"""The search itself: target bins, annealing chains from measured sequences, and the greedy pick
of designs far enough from each other and from the measured library."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from utrflow.design.next_library.settings import Constraints, DesignSettings
from utrflow.errors import InputError
from utrflow.library_index import LibraryIndex
from utrflow.sequences import edit_distance

MeanScorer = Callable[[list[str]], np.ndarray]  # sequences -> mean
_BASES = np.array(list("ACGT"))


def mutate(seq: str, rng: np.random.Generator, min_length: int, max_length: int) -> str:
    """One random edit: a substitution (70 %), an insertion or a deletion within the bounds."""
    kind = rng.random()
    at = int(rng.integers(0, len(seq)))
    if kind < 0.15 and len(seq) < max_length:
        return seq[:at] + str(rng.choice(_BASES)) + seq[at:]
    if kind < 0.30 and len(seq) > min_length:
        return seq[:at] + seq[at + 1 :]
    others = [b for b in "ACGT" if b != seq[at]]
    return seq[:at] + others[int(rng.integers(0, 3))] + seq[at + 1 :]


class Measured:
    """The measured library, for the nearest measured sequence of a design within a bound.

    A design is within `bound` of the measured sequence its chain started from, so only closer
    ones need looking for: small bounds use the pigeonhole index (a few candidates each), larger
    ones a length-filtered scan.
    """

    _INDEXED = 3  # bounds up to this use a pigeonhole index

    def __init__(self, sequences: Sequence[str]) -> None:
        self.sequences = list(sequences)
        self.lengths = np.array([len(s) for s in self.sequences])
        self.position = {s: i for i, s in enumerate(self.sequences)}
        self._indexes: dict[int, LibraryIndex] = {}

    def nearest(self, seq: str, start: int, bound: int) -> tuple[int, int]:
        """(distance, index) of the nearest measured sequence; `start` is one `bound` away."""
        if seq in self.position:
            return 0, self.position[seq]
        best = (bound, start)
        if bound <= 1:
            return best
        if bound - 1 <= self._INDEXED:
            index = self._indexes.get(bound - 1)
            if index is None:
                index = LibraryIndex(self.sequences, self.sequences, bound - 1)
                self._indexes[bound - 1] = index
            hits = index.nearest(seq)
            return hits[0] if hits and hits[0][0] < bound else best
        for i in np.flatnonzero(np.abs(self.lengths - len(seq)) < best[0]):
            d = edit_distance(seq, self.sequences[i], best[0] - 1)
            if d < best[0]:
                best = (d, int(i))
        return best


@dataclass(frozen=True)
class Target:
    """One chain's goal: a bin of predicted values; open ends minimize or maximize."""

    bin: int
    low: float  # -inf for the open bottom bin
    high: float  # +inf for the open top bin

    def energy(self, predicted: np.ndarray) -> np.ndarray:
        """Lower is better: distance outside the bin, pulled toward its centre when finite."""
        if np.isinf(self.high):
            return -predicted
        if np.isinf(self.low):
            return predicted
        centre = 0.5 * (self.low + self.high)
        outside = np.maximum(self.low - predicted, 0) + np.maximum(predicted - self.high, 0)
        return outside + 0.1 * np.abs(predicted - centre)

    def label(self) -> str:
        if np.isinf(self.low):
            return f"{self.bin} (< {self.high:.2f})"
        if np.isinf(self.high):
            return f"{self.bin} (> {self.low:.2f})"
        return f"{self.bin} ({self.low:.2f} to {self.high:.2f})"


def targets(
    settings: DesignSettings, measured_predictions: np.ndarray, min_width: float = 0.0
) -> list[Target]:
    """The bins designs aim at, from the model's predictions on the measured library; fewer
    bins than asked when an inner bin would be narrower than `min_width` (the model's own
    validation error: it cannot tell narrower bins apart)."""
    if settings.objective == "max":
        return [Target(1, float(np.max(measured_predictions)), np.inf)]
    if settings.objective == "min":
        return [Target(1, -np.inf, float(np.min(measured_predictions)))]
    k = settings.bins
    edges = np.quantile(measured_predictions, np.linspace(0, 1, k + 1)[1:-1])
    while k > 2 and len(edges) > 1 and np.diff(edges).min() < min_width:
        k -= 1
        edges = np.quantile(measured_predictions, np.linspace(0, 1, k + 1)[1:-1])
    bounds = [-np.inf, *edges.tolist(), np.inf]
    return [Target(i + 1, bounds[i], bounds[i + 1]) for i in range(k)]


class ConstraintsUnmet(InputError):
    """No measured sequence meets the design constraints: the design is refused (its summary
    says why), the run and its report go on."""


def starts_for(target: Target, measured: Sequence[str], predictions: np.ndarray, n: int,
               ok: Callable[[str], bool], rng: np.random.Generator) -> list[str]:  # fmt: skip
    """Measured sequences that keep the constraints, those the model puts best for the target
    first (a chain needs few edits from them)."""
    order = np.argsort(target.energy(predictions), kind="stable")
    chosen = [measured[i] for i in order[: 5 * n] if ok(measured[i])]
    if not chosen:
        raise ConstraintsUnmet(
            "design: no measured sequence meets the design constraints; loosen design.gc_min, "
            "gc_max, max_homopolymer, forbidden_motifs or no_upstream_atg"
        )
    return [chosen[int(i)] for i in rng.integers(0, min(len(chosen), 2 * n), size=n)]


@dataclass
class Chain:
    """One annealing chain: where it started, where it is, and the best distinct states seen."""

    start: str
    target: Target
    current: str
    energy: float
    distance: int = 0  # edits from the start
    archive: dict[str, tuple[float, int]] = field(default_factory=dict)  # seq: energy, distance

    def remember(self, seq: str, energy: float, distance: int, keep: int = 4) -> None:
        self.archive[seq] = (energy, distance)
        if len(self.archive) > keep:
            worst = max(self.archive, key=lambda k: self.archive[k][0])
            del self.archive[worst]


def anneal(
    chains: list[Chain],
    predict_mean: MeanScorer,
    constraints: Constraints,
    settings: DesignSettings,
    measured_set: set[str],
    rng: np.random.Generator,
) -> None:
    """All chains one edit per step, scored together in one batch per step (Metropolis). Only
    the predicted mean moves a chain, so the spread's members are not run here."""
    for step in range(settings.steps):
        temperature = settings.temperature * 0.01 ** (step / max(settings.steps - 1, 1))
        proposals, distances = [], []
        for chain in chains:
            proposal, distance = chain.current, chain.distance
            for _ in range(10):  # a few tries for an edit that keeps every rule
                candidate = mutate(
                    chain.current, rng, constraints.min_length, constraints.max_length
                )
                if candidate in measured_set or not constraints.ok(candidate):
                    continue
                d = edit_distance(candidate, chain.start, settings.max_edits)
                if d <= settings.max_edits:
                    proposal, distance = candidate, d
                    break
            proposals.append(proposal)
            distances.append(distance)
        predicted = predict_mean(proposals)
        energies = [
            float(chain.target.energy(np.array([value]))[0]) + settings.distance_weight * d
            for chain, value, d in zip(chains, predicted, distances, strict=True)
        ]
        for chain, proposal, energy, d in zip(chains, proposals, energies, distances, strict=True):
            accept = energy <= chain.energy or rng.random() < np.exp(
                (chain.energy - energy) / max(temperature, 1e-9)
            )
            if accept and proposal != chain.current:
                chain.current, chain.energy, chain.distance = proposal, energy, d
                chain.remember(proposal, energy, d)


def pick(
    candidates: pd.DataFrame,
    per_bin: dict[int, int],
    settings: DesignSettings,
    measured: Measured,
) -> pd.DataFrame:
    """Greedy per bin, best energy first: each design `min_distance_designs` from those kept
    and `min_distance_measured` from every measured sequence (searched only for the candidates
    looked at); adds the nearest measured sequence and its distance."""
    kept: list[str] = []
    rows = []
    gap = settings.min_distance_designs
    for target_bin, wanted in per_bin.items():
        taken = 0
        pool = candidates[candidates["bin"] == target_bin].sort_values("energy", kind="stable")
        for row in pool.to_dict("records"):
            if taken == wanted:
                break
            sequence = row["sequence"]
            if any(edit_distance(sequence, k, gap) < gap for k in kept):
                continue
            distance, nearest = measured.nearest(sequence, row["start"], row["start_distance"])
            if distance < settings.min_distance_measured:
                continue
            kept.append(sequence)
            rows.append({**row, "distance": distance, "nearest": nearest})
            taken += 1
    return pd.DataFrame(rows, columns=[*candidates.columns, "distance", "nearest"])
