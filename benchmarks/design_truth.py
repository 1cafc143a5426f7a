"""Next-library design against the simulator's hidden truth, beside the plain way.

    .venv/bin/python benchmarks/design_truth.py --sequences 6000 --designs 96

Trains the default CNN on a simulated table, designs a library (utrflow.design, 4 bins), and
scores every design with the simulator's hidden expression function. The plain way, with the
same number of model calls: random mutants (up to `max_edits` edits) of the measured sequences
the model puts highest, the best-predicted kept under the same distance rules. Printed: true
mean of the top-bin designs, of the plain way's picks, and of the measured library's top 5 %
(by label); the designs' spread over the bins; and that every design keeps every constraint.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from utrflow import config
from utrflow.design import next_library as design
from utrflow.model.training import train_member
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=6000)
    parser.add_argument("--designs", type=int, default=96)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    sim = simulate_table(args.sequences, 30, 60, 0.4, seed=11)
    table = sim.labelled
    split = np.where(np.random.default_rng(0).random(len(table)) < 0.85, "train", "validation")
    rows = table[["sequence", "label"]].assign(split=split)
    model_cfg = config.validate({})["model"]
    started = time.perf_counter()
    member = train_member(
        one_hot(rows["sequence"].tolist()), rows, None, model_cfg, 1, args.threads
    )
    trained = time.perf_counter() - started
    score = design.ensemble_scorer([member.model])
    settings = design.DesignSettings(n_designs=args.designs)
    started = time.perf_counter()
    designs, summary = design.design_library(
        table.assign(name=table["variant_id"]), score, settings
    )
    designed = time.perf_counter() - started
    report = truth_check(designs, table, sim.truth)
    top_bin = summary["bins"][-1]["label"]
    n_top = int((designs["target_bin"] == top_bin).sum())
    budget = settings.steps * settings.chains_per_design * n_top
    plain = plain_mutants(table["sequence"].tolist(), score, settings, budget, n_top)
    rules = design.constraints_for(settings, table["sequence"].tolist(), "", "")
    print(
        json.dumps(
            {
                "training_seconds": round(trained, 1),
                "design_seconds": round(designed, 1),
                "designs": len(designs),
                "all_constraints_kept": all(rules.ok(s) for s in designs["sequence"]),
                "true_mean_per_bin": report["design_true_mean"],
                "predicted_mean_per_bin": {
                    b["label"]: b["predicted_mean"] for b in summary["bins"]
                },
                "top_bin_true_mean": report["design_true_mean"][top_bin],
                "plain_mutants_true_mean": float(np.mean(truth.expression(plain))),
                "measured_top5_true_mean": report["measured_top5_true_mean"],
                "measured_true_max": report["measured_true_max"],
                "exploratory": summary["exploratory"],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
