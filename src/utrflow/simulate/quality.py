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

from utrflow import io
from utrflow.model import encode, evaluate, network, training
from utrflow.sequences import one_hot
from utrflow.simulate import truth
from utrflow.simulate.table import simulate_from_config


def simulated_quality(cfg: dict[str, Any], threads: int = 1) -> dict[str, Any]:
    """Test r² of one model of `cfg` on its simulated table, as a fraction of the noise ceiling.

    The workflow's simulate-table, encode, train and evaluate steps in one process, so that the
    claim "the default configuration reaches the noise ceiling" is a check anyone can rerun
    (tests/test_quality.py) and presets compare on the same table. The tables pass through the
    workflow's TSV files on the way, as labels rounded to 6 significant digits train a little
    differently from unrounded ones: the figures are then the workflow's own, not a near twin.
    """
    sim_cfg = cfg["simulate"]
    if (sim_cfg.get("level", "table"), sim_cfg["kind"]) != ("table", "utr"):
        raise ValueError("simulated_quality needs simulate.level table and simulate.kind utr")
    sim = simulate_from_config(sim_cfg, cfg["seed"])
    with tempfile.TemporaryDirectory() as scratch:

        def as_written(frame: pd.DataFrame, name: str) -> pd.DataFrame:
            io.write_tsv(frame, Path(scratch) / name)
            return io.read_tsv(Path(scratch) / name)

        features = encode.build_features(as_written(sim.labelled, "labelled.tsv"), cfg)
        rows = as_written(features.rows, "split.tsv")
        true_labels = as_written(sim.truth, "truth.tsv")
    onehot = one_hot(rows["sequence"].tolist(), features.length)
    member = training.train_member(onehot, rows, None, cfg["model"], cfg["seed"], threads)
    rows = rows.assign(prediction=network.predict(member.model, onehot))
    test = evaluate.split_metrics(rows, "prediction")["test"]
    ceiling = evaluate.noise_ceiling(rows, true_labels)["test"]
    return {
        "preset": member.info["preset"],
        "parameters": member.info["parameters"],
        "epochs_run": member.info["epochs_run"],
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
