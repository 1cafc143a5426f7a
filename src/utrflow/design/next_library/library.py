"""One library from a scorer: targets, chains, annealing, the pick, and the table and summary
the design step writes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from utrflow.design.next_library.anneal import (
    Chain,
    MeanScorer,
    Measured,
    Target,
    anneal,
    pick,
    starts_for,
    targets,
)
from utrflow.design.next_library.settings import Constraints, DesignSettings, constraints_for
from utrflow.model.smalldata import Intervals
from utrflow.sequences import gc_fraction

NEXT_LIBRARY_COLUMNS = [
    "id",
    "sequence",
    "predicted",
    "predicted_sd",
    "target_bin",
    "nearest_measured",
    "distance",
    "exploratory",
    "length",
    "gc",
    "lower",
    "upper",
]
Scorer = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]  # sequences -> (mean, sd)


def design_library(
    measured: pd.DataFrame,
    score: Scorer,
    settings: DesignSettings,
    prefix: str = "",
    suffix: str = "",
    model_error: float = 0.0,
    all_exploratory: bool = False,
    predict_mean: MeanScorer | None = None,
    intervals: Intervals | None = None,
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Propose `settings.n_designs` UTRs from the passing rows of a labelled table.

    `measured` holds `sequence` and a name per row (`name`); `score` maps sequences to the
    model's (mean, sd), `predict_mean` to the mean alone, as cheaply as it can be had (the
    annealing's thousands of batches need no spread; default: `score`'s mean). Bins are never
    narrower than `model_error` (the validation RMSE);
    `all_exploratory` marks every design exploratory (a forced design from a model that did
    not earn it). `intervals` are the model's calibrated prediction intervals (`lower`,
    `upper`; NaN when there are none), scaled by `score`'s sd where normalized; then
    `acquisition: ucb` anneals the upper (min: lower) bound instead of the mean. Returns
    NEXT_LIBRARY_COLUMNS and a summary with the bins.
    """
    rng = np.random.default_rng(settings.seed)
    sequences = measured["sequence"].tolist()
    predictions, spreads = score(sequences)
    constraints = constraints_for(settings, sequences, prefix, suffix)
    acquire, acquired_by = _acquisition(settings, score, intervals)
    if acquire is not None:  # the bound is what the chains climb, from where it is best
        predictions = acquire(sequences)
    goals = targets(settings, predictions, model_error)
    per_bin = _per_bin(settings.n_designs, goals)
    chosen = _search(sequences, predictions, goals, per_bin, constraints, settings, rng,
                     acquire or predict_mean or (lambda batch: score(batch)[0]))  # fmt: skip
    mean, sd = score(chosen["sequence"].tolist()) if len(chosen) else (np.zeros(0), np.zeros(0))
    exploratory, sd_limit = _exploratory(chosen, sd, spreads, settings, all_exploratory)
    labels = {t.bin: t.label() for t in goals}
    table = _design_table(chosen, mean, sd, labels, measured["name"].tolist(), exploratory)
    plain = intervals or Intervals(0.9, None)
    table["lower"], table["upper"] = plain.bounds(mean, sd)
    summary = {
        "objective": settings.objective,
        "requested": settings.n_designs,
        "designed": len(table),
        "bins_requested": settings.bins if settings.objective == "bins" else None,
        "min_bin_width": model_error,
        "bins": [_bin_summary(t, per_bin[t.bin], chosen, mean) for t in goals],
        "measured_predicted": _spread_summary(predictions),
        "exploratory": int(table["exploratory"].sum()),
        "exploratory_sd_limit": sd_limit,
        **_interval_summary(intervals),
        "acquisition": acquired_by,
        "constraints": _constraint_summary(constraints, settings),
    }
    return table, summary


def _exploratory(
    chosen: pd.DataFrame,
    sd: np.ndarray,
    spreads: np.ndarray,
    settings: DesignSettings,
    all_exploratory: bool,
) -> tuple[np.ndarray, float]:
    """Which designs are a guess (far from anything measured, or the model unsure of them:
    an sd above the limit, by default the measured library's 90th percentile), and the limit."""
    sd_limit = settings.exploratory_sd or float(np.quantile(spreads, 0.9))
    exploratory = (
        (chosen["distance"].to_numpy() > settings.exploratory_distance)
        | ((sd > sd_limit) if sd_limit > 0 else False)
        | all_exploratory
    )
    return exploratory, sd_limit


def _per_bin(n_designs: int, goals: Sequence[Target]) -> dict[int, int]:
    """How many designs each bin asks for: an even share, the first bins taking the rest, so
    the library has exactly `n_designs`."""
    return {
        t.bin: n_designs // len(goals) + (i < n_designs % len(goals)) for i, t in enumerate(goals)
    }


def _spread_summary(predictions: np.ndarray) -> dict[str, float]:
    """The range of the measured library's predictions, against which the bins are read."""
    return {
        "min": float(predictions.min()),
        "median": float(np.median(predictions)),
        "max": float(predictions.max()),
    }


def _interval_summary(intervals: Intervals | None) -> dict[str, object]:
    """The intervals the designs' bounds come from (none: as wide as nothing calibrated)."""
    return {
        "interval_halfwidth": None if intervals is None else intervals.to_dict()["halfwidth"],
        "interval_normalized": bool(intervals is not None and intervals.normalized),
    }


def _acquisition(
    settings: DesignSettings, score: Scorer, intervals: Intervals | None
) -> tuple[MeanScorer | None, str]:
    """What the chains climb instead of the mean (None: the mean), and its name: the upper
    (min: lower) end of each sequence's interval, with `acquisition: ucb` and intervals that
    vary per sequence (a constant width ranks as the mean does). The bound needs the spread's
    models at every step: about one more prediction per spread model."""
    if settings.acquisition != "ucb" or settings.objective == "bins":
        return None, "mean"
    if intervals is None or not intervals.normalized or intervals.to_dict()["halfwidth"] is None:
        return None, "mean (ucb asked, but the intervals have one width for every sequence)"
    side = 1 if settings.objective == "max" else 0

    def bound(batch: list[str]) -> np.ndarray:
        return intervals.bounds(*score(batch))[side]

    return (
        bound,
        f"ucb (the {'upper' if side else 'lower'} end of the {intervals.level:.0%} interval)",
    )


def _search(
    sequences: list[str],
    predictions: np.ndarray,
    goals: list[Target],
    per_bin: dict[int, int],
    constraints: Constraints,
    settings: DesignSettings,
    rng: np.random.Generator,
    predict_mean: MeanScorer,
) -> pd.DataFrame:
    """Chains per target from the measured sequences, annealed, then the designs picked from
    every chain's best states (with `distance` and `nearest`, an index into `sequences`)."""
    chains = []
    for goal in goals:
        n = per_bin[goal.bin] * settings.chains_per_design
        for start in starts_for(goal, sequences, predictions, n, constraints.ok, rng):
            chains.append(Chain(start, goal, start, np.inf))
    anneal(chains, predict_mean, constraints, settings, set(sequences), rng)
    library = Measured(sequences)
    archived = [
        (c.target.bin, seq, energy, library.position[c.start], distance)
        for c in chains
        for seq, (energy, distance) in c.archive.items()
    ]
    candidates = pd.DataFrame(
        archived, columns=["bin", "sequence", "energy", "start", "start_distance"]
    ).drop_duplicates("sequence")
    return pick(candidates, per_bin, settings, library)


def _design_table(
    chosen: pd.DataFrame,
    mean: np.ndarray,
    sd: np.ndarray,
    labels: dict[int, str],
    names: list[str],
    exploratory: np.ndarray,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"design_{i + 1:04d}" for i in range(len(chosen))],
            "sequence": chosen["sequence"].to_numpy(),
            "predicted": mean,
            "predicted_sd": sd,
            "target_bin": [labels[b] for b in chosen["bin"]],
            "nearest_measured": [names[i] for i in chosen["nearest"]],
            "distance": chosen["distance"].to_numpy(),
            "exploratory": exploratory,
            "length": chosen["sequence"].str.len().to_numpy(),
            "gc": gc_fraction(chosen["sequence"].tolist()),
            "lower": np.nan,
            "upper": np.nan,
        },
        columns=NEXT_LIBRARY_COLUMNS,
    )


def _bin_summary(
    target: Target, requested: int, chosen: pd.DataFrame, mean: np.ndarray
) -> dict[str, Any]:
    inside = (chosen["bin"] == target.bin).to_numpy()
    return {
        "bin": target.bin,
        "label": target.label(),
        "low": None if np.isinf(target.low) else target.low,
        "high": None if np.isinf(target.high) else target.high,
        "requested": requested,
        "designed": int(inside.sum()),
        "predicted_mean": float(np.mean(mean[inside])) if inside.any() else None,
    }


def _constraint_summary(constraints: Constraints, settings: DesignSettings) -> dict[str, Any]:
    return {
        "length": [constraints.min_length, constraints.max_length],
        "gc": [constraints.gc_min, constraints.gc_max],
        "max_homopolymer": constraints.max_homopolymer,
        "forbidden_motifs": list(constraints.motifs),
        "no_upstream_atg": constraints.no_upstream_atg,
        "min_distance_designs": settings.min_distance_designs,
        "min_distance_measured": settings.min_distance_measured,
        "max_edits": settings.max_edits,
    }
