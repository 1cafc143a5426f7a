"""The labelled table against the run simulator's truth: label ranks, QC, and the noise ceiling.

    .venv/bin/python benchmarks/labelled_table.py --plates 8 --threads 2

Simulates plates with replicate wells, runs reads -> wells -> consensus -> fluorescence -> link
in-process (utrflow.pipeline), and prints, per error preset: passing wells, Spearman and squared
Pearson r of passing labels against the true expression, blank/empty/mixed wells that passed,
saturated wells flagged, and the replicate noise ceiling (ICC) beside the truth's ceiling (the
squared correlation of passing labels with the true expression).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd
from scipy import stats

from utrflow import pipeline
from utrflow.plates import link
from utrflow.plates.reader import FluorescenceSettings
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation


def evaluate(preset: str, n_plates: int, threads: int, seed: int) -> dict[str, object]:
    params = RunSimulation(
        n_variants=3000,
        n_plates=n_plates,
        error_preset=preset,
        replicate_fraction=0.2,
        reader_gain=80.0,  # a few wells reach the detector maximum
        seed=seed,
    )
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        simulate_run(params, run)
        pipeline.call_wells(run, run, threads)
        # the simulated reader writes its maximum for an overflow: it is its saturation level
        settings = FluorescenceSettings(saturated_at=params.reader_max)
        table = pipeline.label_wells(run, run, settings)
        truth = pd.read_csv(run / "truth_wells.tsv", sep="\t", keep_default_na=False)
    merged = table.merge(truth, on=["plate", "well"], suffixes=("", "_true"), validate="1:1")
    passing = merged[merged["qc"] == "pass"]
    true_label = passing["true_label"].astype(float)
    ceiling = link.noise_ceiling(table)
    saturated = merged["saturated"].astype(str) == "True"
    return {
        "wells": len(table),
        "colony_wells": int((truth["role"] == "sample").sum()),
        "passing": len(passing),
        "qc": link.qc_counts(table),
        "spearman_vs_truth": float(stats.spearmanr(passing["label"], true_label)[0]),
        "truth_ceiling_r2": float(stats.pearsonr(passing["label"], true_label)[0] ** 2),
        "replicate_ceiling_r2": ceiling["r2"],
        "replicate_ceiling_ci95": ceiling.get("ci95"),
        "replicate_sequences": ceiling["sequences"],
        "blank_or_empty_passed": int(passing["role_true"].isin(["blank", "empty"]).sum()),
        "mixed_passed": int((passing["mixed"].astype(str) == "True").sum()),
        "saturated_wells": int(saturated.sum()),
        "saturated_flagged": int(
            merged.loc[saturated, "qc_detail"].str.contains("saturated").sum()
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plates", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    for preset in ("r10", "r9"):
        result = evaluate(preset, args.plates, args.threads, args.seed)
        print(json.dumps({"preset": preset, **result}, indent=1))


if __name__ == "__main__":
    main()
