"""Simulated design campaigns against a hidden truth: does utrflow's next library find better
UTRs over rounds than the plain ways a lab would pick its next plate?

    nice -n 10 .venv/bin/python benchmarks/campaign.py --seeds 5 --out campaign.json

Round 1 is a random library (the simulator's library generator: random backgrounds with planted
Shine-Dalgarno sites, upstream ATGs and U-rich enhancers) of `--first` colonies; then `--rounds`
rounds of `--batch` designs each, every colony measured with the simulator's noise (log2 label +
N(0, `--noise`)). Strategies, at equal colonies per round:

- `random`: new draws from the same library generator;
- `mutants`: 1-3 random edits of the 32 best-measured sequences (the lab's plain way);
- `gp_ucb`: a Gaussian process on 1..3-mer counts, the batch picked greedily by upper confidence
  bound (mean + 2 sd) from 2,000 candidates (mutants of the best and random draws), at least 3
  edits apart (the model-guided RBS campaigns' recipe);
- `utrflow_max` and `utrflow_bins`: utrflow's own loop: the small-data contest (the baselines
  ranked by cross-validation over every measured colony, the winner refitted on all of them)
  and `design_library` with `objective: max` or `bins` (the annealing, the trust region of
  `max_edits` and the distance rules of the design step);
- `utrflow_ucb`: the same with `acquisition: ucb`: the annealing climbs the upper end of each
  sequence's 90 % conformal interval, scaled by the top three contenders' spread.

Two truths: `simulator` (utrflow.simulate.truth.expression) and `epistatic`, a different grammar:
additive position effects, 40 random pairwise interactions between positions and two motifs
that only help together (fixed, seeded landscape). Reported per strategy, truth and round: the
best true expression found so far, the batch's mean truth, the share of designs that landed in
their target bin (utrflow), and the r² (squared Pearson) of the strategy's model on its own
batch and on 500 random library sequences; mean and sd over seeds.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from utrflow.design import next_library as design
from utrflow.model import baselines, smalldata
from utrflow.sequences import edit_distance, one_hot
from utrflow.simulate import truth

MIN_LENGTH, MAX_LENGTH = 30, 60
KMAX = 3  # k-mer counts up to 3: the fast models of a campaign on 2 shared cores
Truth = Callable[[Sequence[str]], np.ndarray]


def _landscape() -> dict[str, Any]:
    rng = np.random.default_rng(2024)
    pairs = rng.choice(30, size=(40, 2))
    return {
        "additive": rng.normal(0, 0.25, (30, 4)),
        "pairs": pairs[pairs[:, 0] != pairs[:, 1]],
        "tables": rng.normal(0, 0.5, (40, 4, 4)),
    }


LANDSCAPE = _landscape()


def epistatic(seqs: Sequence[str]) -> np.ndarray:
    """A second hidden truth: the last 30 nt (next to the start codon) carry additive position
    effects and 40 pairwise interactions; motifs GATC and CCAAT each do little alone and add
    2.0 together (epistasis between motifs)."""
    x = one_hot(list(seqs), 30).astype(float)  # 3'-aligned, (n, 30, 4)
    base = x.argmax(axis=2)
    value = 8.0 + np.einsum("npb,pb->n", x, LANDSCAPE["additive"])
    for (i, j), table in zip(LANDSCAPE["pairs"], LANDSCAPE["tables"], strict=False):
        value += table[base[:, i], base[:, j]]
    has_a = np.array(["GATC" in s for s in seqs])
    has_b = np.array(["CCAAT" in s for s in seqs])
    return value + 0.3 * (has_a ^ has_b) + 2.0 * (has_a & has_b)


TRUTHS: dict[str, Truth] = {"simulator": truth.expression, "epistatic": epistatic}


def library(rng: np.random.Generator, n: int) -> list[str]:
    return truth.design_library(rng, n, MIN_LENGTH, MAX_LENGTH)


def features(name: str, seqs: Sequence[str]) -> np.ndarray:
    if name == "ridge_onehot":
        return one_hot(list(seqs), MAX_LENGTH).reshape(len(seqs), -1).astype(np.float32)
    return baselines.kmer_counts(seqs, KMAX)


class Fitted:
    """Baselines fitted on every measured colony; the mean of `chosen` predicts any batch, the
    sd over `spread` (the top contenders: the workflow's `top/` models) is its spread."""

    def __init__(self, chosen: Sequence[str], spread: Sequence[str], seqs: list[str],
                 labels: np.ndarray, seed: int):  # fmt: skip
        models = baselines._models("regression", seed)
        self.chosen, self.spread = list(chosen), list(spread)
        names = dict.fromkeys([*chosen, *spread])
        self.models = {n: models[n].fit(features(n, seqs), labels) for n in names}

    def scored(self, batch: list[str]) -> tuple[np.ndarray, np.ndarray]:
        each = {n: m.predict(features(n, batch)) for n, m in self.models.items()}
        mean = np.mean([each[n] for n in self.chosen], axis=0)
        return mean, np.std([each[n] for n in self.spread], axis=0)

    def __call__(self, batch: list[str]) -> np.ndarray:
        return np.mean([self.models[n].predict(features(n, batch)) for n in self.chosen], axis=0)


def contest_model(
    seqs: list[str], labels: np.ndarray, seed: int, spread: bool = False
) -> tuple[Fitted, smalldata.Intervals | None]:
    """utrflow's small-data contest: the baselines by 5-fold cross-validation over every
    measured colony (once: a campaign round has no time for repeats), refitted on all; with
    `spread`, the intervals the workflow calibrates on the out-of-fold residuals, scaled by
    the top three contenders' out-of-fold spread."""
    rows = pd.DataFrame({"sequence": seqs, "label": labels, "split": "train"})
    oof = smalldata.out_of_fold(rows, KMAX, "regression", None, seed, 5, 1)
    _, ranked = smalldata.cv_rank(labels, oof, seed=seed)
    chosen = ranked[0].removeprefix("mean_of_").split("+")
    top = [n for n in ranked if n in oof][: smalldata.SPREAD_OF]
    if not spread:
        return Fitted(chosen, [], seqs, labels, seed), None
    board = pd.DataFrame({"name": top, "kind": "baseline"})
    intervals = smalldata.held_out_intervals(board, chosen, rows, oof, 0.9)
    return Fitted(chosen, top, seqs, labels, seed), intervals


def mutants(parents: list[str], n: int, rng: np.random.Generator, measured: set[str]) -> list[str]:
    """`n` distinct sequences, each 1-3 random edits from a random parent, none measured."""
    out: dict[str, None] = {}
    while len(out) < n:
        seq = parents[int(rng.integers(0, len(parents)))]
        for _ in range(int(rng.integers(1, 4))):
            seq = design.mutate(seq, rng, MIN_LENGTH, MAX_LENGTH)
        if seq not in measured:
            out[seq] = None
    return list(out)


@dataclass
class Batch:
    sequences: list[str]
    predicted: np.ndarray | None = None  # the strategy's model on its batch
    model: Callable[[list[str]], np.ndarray] | None = None
    bins: list[tuple[float, float]] = field(default_factory=list)  # target per design


def plain_random(measured: pd.DataFrame, rng: np.random.Generator, n: int, seed: int) -> Batch:
    seen = set(measured["sequence"])
    return Batch([s for s in library(rng, 2 * n) if s not in seen][:n])


def plain_mutants(measured: pd.DataFrame, rng: np.random.Generator, n: int, seed: int) -> Batch:
    best = measured.nlargest(32, "label")["sequence"].tolist()
    return Batch(mutants(best, n, rng, set(measured["sequence"])))


def gp_ucb(measured: pd.DataFrame, rng: np.random.Generator, n: int, seed: int) -> Batch:
    """A Gaussian process on standardized 1..3-mer counts; greedy UCB batch, 3 edits apart."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    from sklearn.preprocessing import StandardScaler

    seqs = measured["sequence"].tolist()
    scaler = StandardScaler().fit(baselines.kmer_counts(seqs, KMAX))
    kernel = ConstantKernel() * RBF(length_scale=10.0) + WhiteKernel(0.1)
    gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=seed)
    gp.fit(scaler.transform(baselines.kmer_counts(seqs, KMAX)), measured["label"].to_numpy())
    best = measured.nlargest(50, "label")["sequence"].tolist()
    pool = mutants(best, 1500, rng, set(seqs)) + library(rng, 500)
    mean, sd = gp.predict(scaler.transform(baselines.kmer_counts(pool, KMAX)), return_std=True)
    picked: list[int] = []
    for i in np.argsort(-(mean + 2 * sd)):
        if len(picked) == n:
            break
        if all(edit_distance(pool[i], pool[j], 3) >= 3 for j in picked):
            picked.append(int(i))

    def model(batch: list[str]) -> np.ndarray:
        return gp.predict(scaler.transform(baselines.kmer_counts(batch, KMAX)))

    return Batch([pool[i] for i in picked], mean[picked], model)


def utrflow(objective: str, steps: int, acquisition: str = "mean") -> Callable[..., Batch]:
    """utrflow's loop; `acquisition: ucb` anneals the upper end of each sequence's interval
    (scaled by the top contenders' spread), as the design step does with the same key."""
    ucb = acquisition == "ucb"

    def propose(measured: pd.DataFrame, rng: np.random.Generator, n: int, seed: int) -> Batch:
        seqs = measured["sequence"].tolist()
        model, intervals = contest_model(seqs, measured["label"].to_numpy(), seed, spread=ucb)
        settings = design.DesignSettings(n_designs=n, objective=objective, steps=steps,
                                         seed=seed, acquisition=acquisition)  # fmt: skip

        def score(batch: list[str]) -> tuple[np.ndarray, np.ndarray]:
            return model.scored(batch) if ucb else (model(batch), np.zeros(len(batch)))

        table, summary = design.design_library(
            measured.assign(name=[f"m{i}" for i in range(len(measured))]), score, settings,
            predict_mean=model, intervals=intervals,
        )  # fmt: skip
        bounds = {b["label"]: (b["low"], b["high"]) for b in summary["bins"]}  # type: ignore[attr-defined]
        targets = [bounds[t] for t in table["target_bin"]]
        return Batch(table["sequence"].tolist(), table["predicted"].to_numpy(), model, targets)

    return propose


def r2(a: np.ndarray, b: np.ndarray) -> float | None:
    return float(np.corrcoef(a, b)[0, 1] ** 2) if len(a) > 2 and np.ptp(b) > 0 else None


def in_bin(values: np.ndarray, bins: list[tuple[float | None, float | None]]) -> float | None:
    if not bins:
        return None
    inside = [
        (low is None or v >= low) and (high is None or v <= high)
        for v, (low, high) in zip(values, bins, strict=True)
    ]
    return float(np.mean(inside))


def campaign(
    strategy: Callable[..., Batch], hidden: Truth, seed: int, first: int, rounds: int, batch: int,
    noise: float, probe: list[str],
) -> list[dict[str, Any]]:  # fmt: skip
    """One campaign: round 1 random, then `rounds` batches by `strategy`, each measured."""
    rng = np.random.default_rng(seed)
    first_seqs = library(rng, first)
    true = hidden(first_seqs)
    measured = pd.DataFrame({"sequence": first_seqs, "label": true + rng.normal(0, noise, first),
                             "true": true})  # fmt: skip
    probe_true = hidden(probe)
    out = []
    for r in range(1, rounds + 1):
        started = time.perf_counter()
        made = strategy(measured[["sequence", "label"]], rng, batch, seed + r)
        made_true = hidden(made.sequences)
        labels = made_true + rng.normal(0, noise, len(made_true))
        new = pd.DataFrame({"sequence": made.sequences, "label": labels, "true": made_true})
        measured = pd.concat([measured, new], ignore_index=True)
        out.append(
            {
                "round": r + 1,
                "best_true": float(measured["true"].max()),
                "batch_true_mean": float(made_true.mean()),
                "in_target_bin": in_bin(made_true, made.bins),
                "r2_batch": None if made.predicted is None else r2(made.predicted, made_true),
                "r2_random": None if made.model is None else r2(made.model(probe), probe_true),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    return out


STRATEGIES = ("random", "mutants", "gp_ucb", "utrflow_max", "utrflow_bins", "utrflow_ucb")


def strategies(steps: int) -> dict[str, Callable[..., Batch]]:
    return {
        "random": plain_random,
        "mutants": plain_mutants,
        "gp_ucb": gp_ucb,
        "utrflow_max": utrflow("max", steps),
        "utrflow_bins": utrflow("bins", steps),
        "utrflow_ucb": utrflow("max", steps, "ucb"),
    }


def summarize(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Mean and sd over seeds per truth, strategy and round."""
    frame = pd.DataFrame(records)
    values = ["best_true", "batch_true_mean", "in_target_bin", "r2_batch", "r2_random"]
    grouped = frame.groupby(["truth", "strategy", "round"], sort=False)[values]
    return grouped.agg(["mean", "std"]).round(3)


def run(
    seeds: int, first: int, rounds: int, batch: int, noise: float, steps: int,
    names: Sequence[str] = STRATEGIES, truths: Sequence[str] = tuple(TRUTHS),
    log: str = "",
) -> list[dict[str, Any]]:  # fmt: skip
    """Every campaign, seed by seed (each seed's strategies side by side, so a run cut short
    still compares them on the same seeds); with `log`, each campaign's rows are appended to
    that JSON-lines file as it ends."""
    probe = library(np.random.default_rng(999), 500)
    chosen = strategies(steps)
    records = []
    for seed in range(seeds):
        for truth_name in truths:
            for name in names:
                rows = campaign(chosen[name], TRUTHS[truth_name], seed, first, rounds, batch,
                                noise, probe)  # fmt: skip
                start = {"truth": truth_name, "strategy": name, "seed": seed, "first": first}
                made = [{**start, **row} for row in rows]
                records += made
                if log:
                    with open(log, "a") as handle:
                        handle.writelines(json.dumps(r) + "\n" for r in made)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=96)
    parser.add_argument("--noise", type=float, default=0.4)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--strategies", nargs="*", default=list(STRATEGIES))
    parser.add_argument("--truths", nargs="*", default=list(TRUTHS))
    parser.add_argument("--out", default="")
    parser.add_argument("--log", default="", help="append each campaign's rows (JSON lines)")
    args = parser.parse_args()
    records = run(args.seeds, args.first, args.rounds, args.batch, args.noise, args.steps,
                  args.strategies, args.truths, args.log)  # fmt: skip
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(records, handle, indent=1)
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(summarize(records))


if __name__ == "__main__":
    main()
