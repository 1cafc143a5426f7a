"""What the end-to-end tests check on a finished run: the output contract, the jobs a dry run
plans, a reads config over a simulated run. Shared by the test_workflow* modules, test_reruns
and test_cluster (split into modules so that pytest-xdist can run them side by side)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from conftest import LABELLED_COLUMNS, TINY_MODEL, run_workflow

METRIC_KEYS = {
    "regression": {"n", "pearson_r", "r2", "r2_score", "spearman", "rmse"},
    "classification": {"n", "roc_auc", "pr_auc", "accuracy", "confusion"},
}


def check_contract(workdir: Path, task: str = "regression") -> dict:
    """Assert the output contract (docs/contracts.md §2) and return the metrics."""
    results = workdir / "results"
    table = pd.read_csv(results / "table" / "labelled.tsv", sep="\t")
    assert list(table.columns[: len(LABELLED_COLUMNS)]) == LABELLED_COLUMNS
    metrics = json.loads((results / "model" / "metrics.json").read_text())
    for split in ("validation", "test"):
        assert set(metrics[split]) >= METRIC_KEYS[task]
        assert metrics[split]["n"] > 0
        for baseline in ("mean", "ridge_onehot", "ridge_kmer", "gbt_kmer"):
            assert set(metrics["baselines"][baseline][split]) >= METRIC_KEYS[task]
    predictions = pd.read_csv(results / "model" / "predictions.tsv", sep="\t")
    assert list(predictions.columns[:4]) == ["sequence", "split", "label", "prediction"]
    assert len(predictions) == (table["qc"] == "pass").sum()
    assert np.isfinite(predictions["prediction"]).all()
    split = pd.read_csv(results / "encode" / "split.tsv", sep="\t")
    assert (split.groupby("sequence")["split"].nunique() == 1).all()
    assert (results / "model" / "model.keras").stat().st_size > 0
    report = (results / "report" / "report.html").read_text()
    assert "<h2>Metrics against baselines" in report
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', report)) >= 4
    # Self-contained: no resource is fetched from anywhere.
    assert not re.search(r'(src|href)="(https?:)?//', report)
    for rule in ("encode", "train_member0", "ensemble", "baselines", "evaluate", "report"):
        assert (results / "logs" / f"{rule}.log").exists()
        assert (results / "benchmarks" / f"{rule}.tsv").exists()
    return metrics


def reads_config(run: Path) -> dict:
    construct = yaml.safe_load((run / "construct.yaml").read_text())
    return {
        "source": "reads",
        "plates": "run/plates.tsv",
        "wells": "run/wells.tsv",
        "library": "run/library.csv",
        "construct": construct,
        "demux": {"threads": 2},
        "model": dict(TINY_MODEL),
        "baselines": {"kmer_max": 3},
        "design": {"n_designs": 8, "steps": 40},
    }


def jobs_run(stderr: str) -> dict[str, int]:
    """Rule -> how many of its jobs a finished Snakemake run ran, from its log."""
    return dict(Counter(re.findall(r"^\s*(?:local)?(?:rule|checkpoint) (\w+):$", stderr, re.M)))


def jobs_planned(workdir: Path, *extra: str) -> dict[str, int]:
    """Rule -> job count of a dry run (with `extra` options, e.g. --forcerun RULE)."""
    dry = run_workflow(workdir, "-n", *extra, timeout=120)
    assert dry.returncode == 0, dry.stderr
    counts = {}
    for line in (dry.stdout + dry.stderr).splitlines():
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if match and match.group(1) not in ("total", "job", "count"):
            counts[match.group(1)] = int(match.group(2))
    return counts


# Jobs after the labelled table: they rerun whenever the table changes.
MODEL_JOBS = {
    "model_status": 1,  # the checkpoint: does the table hold enough to train on?
    "encode": 1,
    "train": 1,
    "ensemble": 1,
    "baselines": 1,
    "evaluate": 1,
    "interpret": 1,
    "design": 1,
    "report": 1,
    "report_qc": 1,
    # preset auto: the search (two tiny candidates), the contest, the learning curve
    "candidate": 2,
    "select": 1,
    "learning_curve": 1,
}
# What a dry run plans of them when the table changes: the model_status checkpoint must run
# again before Snakemake knows the jobs after it, so a dry run stops there (and at the reports
# that wait for it); the run itself runs MODEL_JOBS (jobs_run).
MODEL_JOBS_PLANNED = {"model_status": 1, "report": 1, "report_qc": 1}
