"""End to end: the workflow runs from another directory and writes every contracted output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import LABELLED_COLUMNS, REPO, TINY_MODEL, run_workflow, write_config

METRIC_KEYS = {"n", "pearson_r", "r2", "r2_score", "spearman", "rmse"}


def check_contract(workdir: Path) -> dict:
    """Assert the output contract of DESIGN.md §3 and return the metrics."""
    results = workdir / "results"
    table = pd.read_csv(results / "table" / "labelled.tsv", sep="\t")
    assert list(table.columns[: len(LABELLED_COLUMNS)]) == LABELLED_COLUMNS
    metrics = json.loads((results / "model" / "metrics.json").read_text())
    for split in ("validation", "test"):
        assert set(metrics[split]) >= METRIC_KEYS
        assert metrics[split]["n"] > 0
        for baseline in ("mean", "ridge_kmer"):
            assert set(metrics["baselines"][baseline][split]) >= METRIC_KEYS
    predictions = pd.read_csv(results / "model" / "predictions.tsv", sep="\t")
    assert list(predictions.columns) == ["sequence", "split", "label", "prediction"]
    assert len(predictions) == (table["qc"] == "pass").sum()
    assert np.isfinite(predictions["prediction"]).all()
    split = pd.read_csv(results / "encode" / "split.tsv", sep="\t")
    assert (split.groupby("sequence")["split"].nunique() == 1).all()
    assert (results / "model" / "model.keras").stat().st_size > 0
    report = (results / "report" / "report.html").read_text()
    assert "<h2>Metrics against baselines" in report
    assert len(re.findall(r'<img src="data:image/png;base64,', report)) >= 4
    # Self-contained: no resource is fetched from anywhere.
    assert not re.search(r'(src|href)="(https?:)?//', report)
    for rule in ("encode", "train", "baselines", "evaluate", "report"):
        assert (results / "logs" / f"{rule}.log").exists()
        assert (results / "benchmarks" / f"{rule}.tsv").exists()
    return metrics


@pytest.mark.slow
def test_simulated_workflow_from_another_directory(tmp_path, tiny_config):
    write_config(tmp_path, tiny_config)
    run = run_workflow(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = check_contract(tmp_path)
    ceiling = metrics["noise_ceiling"]["r2"]["test"]
    assert 0.5 < ceiling <= 1.0
    assert metrics["noise_ceiling"]["test_fraction_reached"] == pytest.approx(
        metrics["test"]["r2"] / ceiling
    )
    truth = pd.read_csv(tmp_path / "results" / "simulated" / "truth_wells.tsv", sep="\t")
    assert {"plate", "well", "variant_id", "sequence", "mixed", "role", "true_label"} <= set(truth)
    assert "noise ceiling" in (tmp_path / "results" / "report" / "report.html").read_text()
    # Nothing changed: nothing reruns.
    again = run_workflow(tmp_path, "--dry-run")
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_user_table_with_relative_path(tmp_path):
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), rng.integers(15, 25))) for _ in range(300)]
    labels = [s.count("GG") + rng.normal(0, 0.3) for s in seqs]
    (tmp_path / "data").mkdir()
    pd.DataFrame({"sequence": seqs, "label": labels}).to_csv(
        tmp_path / "data" / "lab.csv", index=False
    )
    write_config(
        tmp_path,
        {
            "source": "table",
            "table": "data/lab.csv",
            "model": dict(TINY_MODEL),
            "baselines": {"kmer_max": 2},
        },
    )
    run = run_workflow(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = check_contract(tmp_path)
    assert "noise_ceiling" not in metrics
    assert not (tmp_path / "results" / "simulated").exists()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"modle": {}}, "utrflow: error: config/config.yaml: unknown key 'modle'"),
        ({"model": {"epochs": "many"}}, "key 'model.epochs': 'many' is not of type integer"),
        ({"source": "table", "table": "missing.csv"}, "key 'table': file not found: missing.csv"),
    ],
)
def test_bad_config_stops_before_any_job_with_one_line(tmp_path, config, message):
    write_config(tmp_path, config)
    run = run_workflow(tmp_path, timeout=120)
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if line.startswith("utrflow: error:")]
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "results").exists()


def test_workflow_lint_is_clean():
    run = run_workflow(REPO, "--lint", timeout=120)
    assert run.returncode == 0
    assert "Congratulations" in run.stdout + run.stderr
