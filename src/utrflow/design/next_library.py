"""Design the next library: new UTRs that the trained model expects to cover the expression range.

One turn of design -> build -> test -> learn ends here. Chains of simulated annealing start from
measured sequences and take one edit at a time, scored by the model (or ensemble) in batches;
every proposal must keep the synthesis and cloning constraints, and stay within `max_edits` of
its start, so designs stay where the model has seen data. Target levels are quantile bins of the
model's predictions on the measured library; the lowest and highest bins are open-ended (their
chains minimize or maximize), so the library reaches beyond what was measured. Designs are then
picked greedily per bin, at least `min_distance_designs` apart and `min_distance_measured` from
anything measured, and marked exploratory when far from the data or uncertain.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utrflow import config as config_module
from utrflow import io
from utrflow.config import section_defaults
from utrflow.errors import InputError
from utrflow.library_index import LibraryIndex
from utrflow.model import network as model_module
from utrflow.model.encode import passing_rows
from utrflow.model.predict import predict_sequences
from utrflow.sequences import edit_distance, gc_fraction, reverse_complement

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
]
ORDER_COLUMNS = ["name", "oligo", "length", "utr"]
Scorer = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]  # sequences -> (mean, sd)
MeanScorer = Callable[[list[str]], np.ndarray]  # sequences -> mean
_BASES = np.array(list("ACGT"))


_DEFAULTS = section_defaults("design")


@dataclass(frozen=True)
class DesignSettings:
    """What to design and under which constraints (config key `design`)."""

    n_designs: int = _DEFAULTS["n_designs"]
    objective: str = _DEFAULTS["objective"]
    bins: int = _DEFAULTS["bins"]
    steps: int = _DEFAULTS["steps"]
    chains_per_design: int = _DEFAULTS["chains_per_design"]
    temperature: float = _DEFAULTS["temperature"]
    max_edits: int = _DEFAULTS["max_edits"]
    distance_weight: float = _DEFAULTS["distance_weight"]
    min_length: int = _DEFAULTS["min_length"]
    max_length: int = _DEFAULTS["max_length"]
    gc_min: float = _DEFAULTS["gc_min"]
    gc_max: float = _DEFAULTS["gc_max"]
    max_homopolymer: int = _DEFAULTS["max_homopolymer"]
    forbidden_motifs: tuple[str, ...] = tuple(_DEFAULTS["forbidden_motifs"])
    no_upstream_atg: bool = _DEFAULTS["no_upstream_atg"]
    min_distance_designs: int = _DEFAULTS["min_distance_designs"]
    min_distance_measured: int = _DEFAULTS["min_distance_measured"]
    exploratory_distance: int = _DEFAULTS["exploratory_distance"]
    exploratory_sd: float = _DEFAULTS["exploratory_sd"]
    min_model_r2: float = _DEFAULTS["min_model_r2"]
    min_model_auc: float = _DEFAULTS["min_model_auc"]
    min_validation_rows: int = _DEFAULTS["min_validation_rows"]
    force: bool = _DEFAULTS["force"]
    oligo_prefix: str = _DEFAULTS["oligo_prefix"]
    oligo_suffix: str = _DEFAULTS["oligo_suffix"]
    seed: int = section_defaults()["seed"]
    motifs: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        if self.objective not in ("bins", "maximize", "minimize"):
            raise InputError(f"design.objective: {self.objective!r} is not bins/maximize/minimize")
        if self.bins < 2:
            raise InputError(f"design.bins: {self.bins} bins; 2 or more (one low, one high)")
        motifs = tuple(m.strip().upper() for m in self.forbidden_motifs if m.strip())
        for motif in motifs:
            if set(motif) - set("ACGT"):
                raise InputError(f"design.forbidden_motifs: {motif!r} has characters besides ACGT")
        both = {m for motif in motifs for m in (motif, reverse_complement(motif))}
        object.__setattr__(self, "motifs", tuple(sorted(both)))


@dataclass(frozen=True)
class Constraints:
    """The checks every design passes, with the flanks it will sit between."""

    min_length: int
    max_length: int
    gc_min: float
    gc_max: float
    max_homopolymer: int
    motifs: tuple[str, ...]
    no_upstream_atg: bool
    prefix: str
    suffix: str

    def violations(self, seq: str) -> list[str]:
        """Every rule `seq` breaks, in words (empty when it is a valid design)."""
        out = []
        if not self.min_length <= len(seq) <= self.max_length:
            out.append(f"length {len(seq)} outside {self.min_length}-{self.max_length}")
        gc = (seq.count("G") + seq.count("C")) / len(seq) if seq else 0.0  # designs are ACGT
        if not self.gc_min <= gc <= self.gc_max:
            out.append(f"GC {gc:.2f} outside {self.gc_min}-{self.gc_max}")
        if self._too_long_run.search(seq):
            out.append(f"homopolymer of {longest_run(seq)}")
        context = self._context(seq, max((len(m) for m in self.motifs), default=1) - 1)
        out += [f"motif {m}" for m in self.motifs if m in context]
        if self.no_upstream_atg and "ATG" in self.prefix[-2:] + seq:
            out.append("upstream ATG")
        return out

    @cached_property
    def _too_long_run(self) -> re.Pattern[str]:
        """One search finds any run longer than allowed (the check runs for every proposal)."""
        n = self.max_homopolymer + 1
        return re.compile("|".join(f"{base}{{{n}}}" for base in "ACGT"))

    def _context(self, seq: str, overlap: int) -> str:
        """The UTR with as much flank as a motif could reach into."""
        left = self.prefix[len(self.prefix) - overlap :] if overlap else ""
        return left + seq + self.suffix[:overlap]

    def ok(self, seq: str) -> bool:
        return not self.violations(seq)


_RUNS = re.compile(r"(A+|C+|G+|T+)")


def longest_run(seq: str) -> int:
    """Length of the longest single-base run."""
    return max((len(m) for m in _RUNS.findall(seq)), default=0)


def constraints_for(
    settings: DesignSettings, measured: Sequence[str], prefix: str, suffix: str
) -> Constraints:
    """Length bounds default to the measured library's."""
    lengths = [len(s) for s in measured]
    return Constraints(
        min_length=settings.min_length or min(lengths),
        max_length=settings.max_length or max(lengths),
        gc_min=settings.gc_min,
        gc_max=settings.gc_max,
        max_homopolymer=settings.max_homopolymer,
        motifs=settings.motifs,
        no_upstream_atg=settings.no_upstream_atg,
        prefix=prefix,
        suffix=suffix,
    )


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


def refusal(settings: DesignSettings, validation: dict[str, Any]) -> str | None:
    """Why the model has not earned a design (None when it has): a validation r² under
    `min_model_r2` (a classifier's ROC-AUC under `min_model_auc`: it has no r²), or too few
    validation rows for the score to mean anything; with what helps."""
    n = int(validation.get("n") or 0)
    if "roc_auc" in validation:
        name, score, key = "ROC-AUC", validation["roc_auc"], "min_model_auc"
    else:
        name, score, key = "r²", validation.get("r2"), "min_model_r2"
    if n < settings.min_validation_rows:
        return (
            f"the model's validation {name} rests on {n} rows (design.min_validation_rows "
            f"{settings.min_validation_rows}); measure more wells (about "
            f"{int(np.ceil(settings.min_validation_rows / max(n, 1)))}x as many) or set "
            "design.force: true for an exploratory library"
        )
    threshold = getattr(settings, key)
    if score is None or float(score) < threshold:
        shown = "none" if score is None else f"{float(score):.3f}"
        return (
            f"the model's validation {name} {shown} is under design.{key} {threshold}; more "
            "wells (see the learning curve), replicate wells to cut the noise, or "
            "design.force: true for an exploratory library"
        )
    return None


def targets(
    settings: DesignSettings, measured_predictions: np.ndarray, min_width: float = 0.0
) -> list[Target]:
    """The bins designs aim at, from the model's predictions on the measured library; fewer
    bins than asked when an inner bin would be narrower than `min_width` (the model's own
    validation error: it cannot tell narrower bins apart)."""
    if settings.objective == "maximize":
        return [Target(1, float(np.max(measured_predictions)), np.inf)]
    if settings.objective == "minimize":
        return [Target(1, -np.inf, float(np.min(measured_predictions)))]
    k = settings.bins
    edges = np.quantile(measured_predictions, np.linspace(0, 1, k + 1)[1:-1])
    while k > 2 and len(edges) > 1 and np.diff(edges).min() < min_width:
        k -= 1
        edges = np.quantile(measured_predictions, np.linspace(0, 1, k + 1)[1:-1])
    bounds = [-np.inf, *edges.tolist(), np.inf]
    return [Target(i + 1, bounds[i], bounds[i + 1]) for i in range(k)]


def starts_for(target: Target, measured: Sequence[str], predictions: np.ndarray, n: int,
               ok: Callable[[str], bool], rng: np.random.Generator) -> list[str]:  # fmt: skip
    """Measured sequences that keep the constraints, those the model puts best for the target
    first (a chain needs few edits from them)."""
    order = np.argsort(target.energy(predictions), kind="stable")
    chosen = [measured[i] for i in order[: 5 * n] if ok(measured[i])]
    if not chosen:
        raise InputError(
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


def design_library(
    measured: pd.DataFrame,
    score: Scorer,
    settings: DesignSettings,
    prefix: str = "",
    suffix: str = "",
    model_error: float = 0.0,
    all_exploratory: bool = False,
    predict_mean: MeanScorer | None = None,
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Propose `settings.n_designs` UTRs from the passing rows of a labelled table.

    `measured` holds `sequence` and a name per row (`name`); `score` maps sequences to the
    model's (mean, sd), `predict_mean` to the mean alone, as cheaply as it can be had (the
    annealing's thousands of batches need no spread; default: `score`'s mean). Bins are never
    narrower than `model_error` (the validation RMSE);
    `all_exploratory` marks every design exploratory (a forced design from a model that did
    not earn it). Returns NEXT_LIBRARY_COLUMNS and a summary with the bins.
    """
    rng = np.random.default_rng(settings.seed)
    sequences = measured["sequence"].tolist()
    predictions, spreads = score(sequences)
    constraints = constraints_for(settings, sequences, prefix, suffix)
    goals = targets(settings, predictions, model_error)
    per_bin = {
        t.bin: settings.n_designs // len(goals) + (i < settings.n_designs % len(goals))
        for i, t in enumerate(goals)
    }
    chains = []
    for goal in goals:
        n = per_bin[goal.bin] * settings.chains_per_design
        for start in starts_for(goal, sequences, predictions, n, constraints.ok, rng):
            chains.append(Chain(start, goal, start, np.inf))
    mean_of = predict_mean or (lambda batch: score(batch)[0])
    anneal(chains, mean_of, constraints, settings, set(sequences), rng)
    library = Measured(sequences)
    archived = [
        (c.target.bin, seq, energy, library.position[c.start], distance)
        for c in chains
        for seq, (energy, distance) in c.archive.items()
    ]
    candidates = pd.DataFrame(
        archived, columns=["bin", "sequence", "energy", "start", "start_distance"]
    ).drop_duplicates("sequence")
    chosen = pick(candidates, per_bin, settings, library)
    mean, sd = score(chosen["sequence"].tolist()) if len(chosen) else (np.zeros(0), np.zeros(0))
    sd_limit = settings.exploratory_sd or float(np.quantile(spreads, 0.9))
    labels = {t.bin: t.label() for t in goals}
    names = measured["name"].tolist()
    table = pd.DataFrame(
        {
            "id": [f"design_{i + 1:04d}" for i in range(len(chosen))],
            "sequence": chosen["sequence"].to_numpy(),
            "predicted": mean,
            "predicted_sd": sd,
            "target_bin": [labels[b] for b in chosen["bin"]],
            "nearest_measured": [names[i] for i in chosen["nearest"]],
            "distance": chosen["distance"].to_numpy(),
            "exploratory": (chosen["distance"].to_numpy() > settings.exploratory_distance)
            | ((sd > sd_limit) if sd_limit > 0 else False)
            | all_exploratory,
            "length": chosen["sequence"].str.len().to_numpy(),
            "gc": gc_fraction(chosen["sequence"].tolist()),
        },
        columns=NEXT_LIBRARY_COLUMNS,
    )
    summary = {
        "objective": settings.objective,
        "requested": settings.n_designs,
        "designed": len(table),
        "bins_requested": settings.bins if settings.objective == "bins" else None,
        "min_bin_width": model_error,
        "bins": [
            {
                "bin": t.bin,
                "label": t.label(),
                "low": None if np.isinf(t.low) else t.low,
                "high": None if np.isinf(t.high) else t.high,
                "requested": per_bin[t.bin],
                "designed": int((chosen["bin"] == t.bin).sum()),
                "predicted_mean": float(np.mean(mean[(chosen["bin"] == t.bin).to_numpy()]))
                if (chosen["bin"] == t.bin).any()
                else None,
            }
            for t in goals
        ],
        "measured_predicted": {
            "min": float(predictions.min()),
            "median": float(np.median(predictions)),
            "max": float(predictions.max()),
        },
        "exploratory": int(table["exploratory"].sum()),
        "exploratory_sd_limit": sd_limit,
        "constraints": {
            "length": [constraints.min_length, constraints.max_length],
            "gc": [constraints.gc_min, constraints.gc_max],
            "max_homopolymer": constraints.max_homopolymer,
            "forbidden_motifs": list(constraints.motifs),
            "no_upstream_atg": constraints.no_upstream_atg,
            "min_distance_designs": settings.min_distance_designs,
            "min_distance_measured": settings.min_distance_measured,
            "max_edits": settings.max_edits,
        },
    }
    return table, summary


def measured_names(table: pd.DataFrame) -> list[str]:
    """What `nearest_measured` calls each row of the labelled table: its variant id, else its
    plate:well, else (a user's table without plates) its row in the table, header being row 1."""

    def text(value: object) -> str:
        return "" if value is None or value != value else str(value)  # NaN != NaN

    return [
        text(v) or (f"{text(p)}:{text(w)}" if text(p) and text(w) else f"row {i + 2}")
        for i, (v, p, w) in enumerate(
            zip(table["variant_id"], table["plate"], table["well"], strict=True)
        )
    ]


def ensemble_scorer(members: Sequence[object], model: object | None = None) -> Scorer:
    """Mean and sd over the members' predictions (table units) of a list of sequences; with
    `model`, the mean is that model's prediction (the selected model) and the members give the
    spread only."""

    predict_mean = mean_scorer(members, model)

    def score(sequences: list[str]) -> tuple[np.ndarray, np.ndarray]:
        mean, sd = predict_sequences(sequences, members)
        return (mean if model is None else predict_mean(sequences)), sd

    return score


def mean_scorer(members: Sequence[object], model: object | None = None) -> MeanScorer:
    """`ensemble_scorer`'s mean alone: the model's prediction, without running the members
    (with no model, the members' mean)."""

    def predict_mean(sequences: list[str]) -> np.ndarray:
        return predict_sequences(sequences, [model] if model is not None else members)[0]

    return predict_mean


TruthCheck = Callable[[pd.DataFrame, pd.DataFrame], dict[str, Any]]  # (designs, measured)


def run_design(
    cfg: Mapping[str, Any],
    table_path: Path,
    model_path: Path,
    member_paths: Sequence[Path],
    metrics: dict[str, Any],
    outputs: tuple[Path, Path, Path],
    default_flanks: tuple[str, str] = ("", ""),
    truth: TruthCheck | None = None,
) -> dict[str, Any]:
    """The design step from files, writing `outputs` (next library, oligo order, summary):
    refuse (empty library, the reason in the summary and one line on stderr) when the model has
    not earned a design, unless forced (then every design is exploratory); bins no narrower than
    the validation RMSE. `truth` (simulated data) scores the designs against the hidden truth."""
    next_library, oligo_order_path, summary_path = outputs
    settings = config_module.settings_from(DesignSettings, {**cfg["design"], "seed": cfg["seed"]})
    labelled = io.read_tsv(table_path)
    table = passing_rows(labelled.assign(name=measured_names(labelled)), str(table_path))
    model = model_module.load(model_path)
    members = [model_module.load(p) for p in member_paths]
    if len(model.inputs) > 1:
        raise InputError("design: the model needs covariates; design works on sequence alone")
    width = model.inputs[0].shape[1]
    if settings.max_length > width:
        raise InputError(f"design.max_length {settings.max_length} exceeds the model's {width} nt")
    validation = dict(metrics.get("validation", {}))
    model_info = {
        "selected": metrics.get("selection", {}).get("selected", cfg["model"]["preset"]),
        "validation_r2": validation.get("r2"),
        "validation_roc_auc": validation.get("roc_auc"),
        "validation_rmse": validation.get("rmse"),
        "validation_n": validation.get("n"),
        "spread_from": len(members),
    }
    reason = refusal(settings, validation)
    prefix, suffix = oligo_flanks(settings, cfg["construct"], default_flanks)
    summary: dict[str, Any]
    if reason and not settings.force:
        sys.stderr.write(f"utrflow: design refused: {reason}\n")
        designs = pd.DataFrame(columns=NEXT_LIBRARY_COLUMNS)
        summary = {"refused": reason, "designed": 0, "exploratory": 0, "bins": [],
                   "model": model_info}  # fmt: skip
    else:
        designs, summary = design_library(
            table,
            ensemble_scorer(members, model),
            settings,
            prefix,
            suffix,
            model_error=float(validation.get("rmse") or 0.0),
            all_exploratory=reason is not None,
            predict_mean=mean_scorer(members, model),
        )
        summary = {**summary, "refused": None, "forced": reason, "model": model_info}
        if truth is not None:
            summary["simulated_truth"] = truth(designs, table)
    with io.atomic_path(next_library) as tmp:
        designs.to_csv(tmp, index=False, float_format="%.4f", lineterminator="\n")
    with io.atomic_path(oligo_order_path) as tmp:
        oligo_order(designs, prefix, suffix).to_csv(tmp, index=False, lineterminator="\n")
    io.write_json(summary, summary_path)
    return summary


def oligo_flanks(
    settings: DesignSettings, construct: Mapping[str, str], default: tuple[str, str] = ("", "")
) -> tuple[str, str]:
    """Bases around the UTR in the ordered oligo: the settings', else the construct's flanks,
    else `default` (on simulated data the caller passes the simulated construct's)."""
    prefix = settings.oligo_prefix or construct.get("upstream_flank", "") or default[0]
    suffix = settings.oligo_suffix or construct.get("downstream_flank", "") or default[1]
    return prefix.upper(), suffix.upper()


def oligo_order(designs: pd.DataFrame, prefix: str, suffix: str) -> pd.DataFrame:
    """The designs with the flanks synthesis and cloning need, ready to send."""
    oligos = [prefix + s + suffix for s in designs["sequence"]]
    return pd.DataFrame(
        {
            "name": designs["id"],
            "oligo": oligos,
            "length": [len(o) for o in oligos],
            "utr": designs["sequence"],
        },
        columns=ORDER_COLUMNS,
    )
