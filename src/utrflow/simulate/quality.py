"""Checks on simulated data against its hidden truth: how close a model gets to the noise
ceiling, and how the designs of the next library really express.

Only tests, benchmarks and the commands' simulated-data paths use these; the runtime stages
never import the simulator (the import-linter contract in pyproject.toml)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utrflow import pipeline
from utrflow.simulate import table as simulate
from utrflow.simulate import truth


def simulated_quality(cfg: dict[str, Any], threads: int = 1) -> dict[str, Any]:
    """Test r² of one model of `cfg` on its simulated table, as a fraction of the noise ceiling.

    The workflow's own simulate-table, encode, train and evaluate stages (`utrflow.pipeline`),
    through the workflow's files: labels rounded to 6 significant digits in the TSV train a
    little differently from unrounded ones, so the figures are the workflow's, not a near twin.
    """
    sim_cfg = cfg["simulate"]
    if (sim_cfg["level"], sim_cfg["kind"]) != ("table", "utr"):
        raise ValueError("simulated_quality needs simulate.level table and simulate.kind utr")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        labelled, truth = work / "labelled.tsv", work / "truth.tsv"
        simulate.run(sim_cfg, cfg["seed"], labelled, truth, work / "simulation.json")
        metrics = pipeline.train_and_evaluate(labelled, work, cfg, threads, truth)
    test = metrics["test"]
    ceiling = metrics["noise_ceiling"]["r2"]["test"]
    info = metrics["training"]
    return {
        "preset": info["preset"],
        "parameters": info["parameters"],
        "epochs_run": info["epochs_run"],
        "test": test,
        "noise_ceiling_r2": ceiling,
        "fraction_of_ceiling": test["r2"] / ceiling,
    }


def truth_check(
    designs: pd.DataFrame, measured: pd.DataFrame, truth_wells: pd.DataFrame
) -> dict[str, object]:
    """Simulated data only: the hidden expression of each bin's designs beside the true
    expression of the measured library's top 5 % by label (what a lab would pick from)."""
    true = truth.expression(designs["sequence"].tolist()) if len(designs) else np.zeros(0)
    known = measured.merge(truth_wells[["plate", "well", "true_label"]], on=["plate", "well"])
    top = known[known["label"] >= known["label"].quantile(0.95)]
    by_bin = pd.Series(true).groupby(designs["target_bin"].to_numpy()).mean()
    return {
        "design_true_mean": {str(k): float(v) for k, v in by_bin.items()},
        "design_true": [float(v) for v in true],
        "measured_top5_true_mean": float(top["true_label"].mean()),
        "measured_true_max": float(known["true_label"].max()),
    }
