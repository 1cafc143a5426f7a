"""Next-library design against the simulator's hidden truth, on a small and a large run.

    .venv/bin/python benchmarks/design_truth.py --small 350 --large 6000 --designs 96

For each size, a simulated table (80 / 10 / 10 % split) goes through the `model.preset: auto`
search (the default candidates and the baselines, chosen on validation), then the design step
as the workflow runs it: it refuses when the selected model's held-out r² (cross-validated over
train + validation below `model.search.crossval_below` rows, else the validation split's) is
under `design.min_model_r2` or rests on fewer than `design.min_validation_rows` rows; a refused
run is designed again forced, where every design must be exploratory. Every design is scored
with the simulator's hidden expression function. The plain way, with the same number of model calls:
random mutants (up to `max_edits` edits) of the measured sequences the model puts highest, the
best-predicted kept under the same distance rules. Printed per size: the contest's choice,
validation r², refusal, the true mean of the top-bin designs, of the plain way's picks and of
the measured library's top 5 % (by label).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import pandas as pd

from utrflow import config
from utrflow.design import next_library as design
from utrflow.model import evaluate
from utrflow.model.encode import Encoded
from utrflow.model.select import search_in_process
from utrflow.sequences import edit_distance, one_hot
from utrflow.simulate import truth
from utrflow.simulate.quality import truth_check
from utrflow.simulate.table import simulate_table


def plain_mutants(
    measured: list[str], score: design.Scorer, settings: design.DesignSettings, budget: int,
    keep: int,
) -> list[str]:  # fmt: skip
    """Random mutants (1..max_edits edits) of the top-predicted measured sequences, picked
    best-predicted first under the same distance rules as the designs."""
    rng = np.random.default_rng(settings.seed)
    predicted, _ = score(measured)
    parents = np.argsort(-predicted)[:keep]
    lengths = [len(s) for s in measured]
    rows = []
    for i in range(budget):
        parent = int(parents[i % len(parents)])
        seq = measured[parent]
        for _ in range(int(rng.integers(1, settings.max_edits + 1))):
            seq = design.mutate(seq, rng, min(lengths), max(lengths))
        distance = edit_distance(seq, measured[parent])
        rows.append((1, seq, 0.0, parent, distance))
    candidates = pd.DataFrame(
        rows, columns=["bin", "sequence", "energy", "start", "start_distance"]
    ).drop_duplicates("sequence")
    candidates["energy"] = -score(candidates["sequence"].tolist())[0]
    picked = design.pick(candidates, {1: keep}, settings, design.Measured(measured))
    return picked["sequence"].tolist()


def run_size(
    n: int, designs: int, threads: int, seed: int = 11, model: dict[str, Any] | None = None,
    plain: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Search, then design (or refuse, then design forced) on a simulated table of `n` rows."""
    sim = simulate_table(n, 30, 60, 0.4, seed=seed)
    table = sim.labelled
    draw = np.random.default_rng(0).random(len(table))
    split = np.where(draw < 0.8, "train", np.where(draw < 0.9, "validation", "test"))
    rows = table[["sequence", "label"]].assign(split=split)
    cfg = config.validate({"seed": seed, "model": model or {}, "baselines": {"kmer_max": 4}})
    started = time.perf_counter()
    searched = search_in_process(Encoded(one_hot(rows["sequence"].tolist()), rows, None), cfg,
                                 threads)  # fmt: skip
    searched_seconds = time.perf_counter() - started
    scored = searched.predictions.assign(
        selected=np.mean([searched.predictions[c] for c in searched.chosen], axis=0)
    )
    metrics = evaluate.split_metrics(scored, "selected")
    settings = design.DesignSettings(n_designs=designs)
    gate, how = design.gate_score({"selection": searched.ranking, **metrics})
    reason = design.refusal(settings, gate, how)
    score = design.ensemble_scorer(searched.top, searched.model)
    started = time.perf_counter()
    library, summary = design.design_library(
        table.assign(name=table["variant_id"]), score, settings,
        model_error=gate["rmse"], all_exploratory=reason is not None,
        predict_mean=design.mean_scorer(searched.top, searched.model),
    )  # fmt: skip
    designed = time.perf_counter() - started
    report = truth_check(library, table, sim.truth)
    top_bin = summary["bins"][-1]["label"]
    out: dict[str, Any] = {
        "rows": n,
        "selected": "+".join(searched.chosen),
        "scored_by": how,
        "validation_r2": round(gate["r2"], 3),
        "validation_n": gate["n"],
        "test_r2": round(metrics["test"]["r2"], 3),
        "best_baseline_test_r2": round(
            max(
                evaluate.split_metrics(scored, b)["test"]["r2"]
                for b in ("ridge_onehot", "ridge_kmer", "gbt_kmer")
            ),
            3,
        ),
        "refused": reason,
        "search_seconds": round(searched_seconds, 1),
        "design_seconds": round(designed, 1),
        "designs": len(library),
        "bins": len(summary["bins"]),
        "exploratory": int(library["exploratory"].sum()),
        "all_constraints_kept": all(
            design.constraints_for(settings, table["sequence"].tolist(), "", "").ok(s)
            for s in library["sequence"]
        ),
        "true_mean_per_bin": {k: round(v, 2) for k, v in report["design_true_mean"].items()},
        "top_bin_true_mean": round(report["design_true_mean"][top_bin], 2),
        "measured_top5_true_mean": round(report["measured_top5_true_mean"], 2),
        "measured_true_max": round(report["measured_true_max"], 2),
    }
    if plain:
        n_top = int((library["target_bin"] == top_bin).sum())
        budget = settings.steps * settings.chains_per_design * n_top
        picks = plain_mutants(table["sequence"].tolist(), score, settings, budget, n_top)
        out["plain_mutants_true_mean"] = round(float(np.mean(truth.expression(picks))), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=350)
    parser.add_argument("--large", type=int, default=6000)
    parser.add_argument("--designs", type=int, default=96)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    results = {
        "small": run_size(args.small, args.designs, args.threads),
        "large": run_size(args.large, args.designs, args.threads),
    }
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
