"""End to end, the lecture's TF-binding classification task: the shipped demo, and a classifier
that earned its design."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from conftest import REPO, run_workflow, write_config
from workflow_checks import check_contract


@pytest.mark.slow
def test_tf_binding_classification_demo(tf_demo_run):
    """The shipped demo as it is, run once per session (conftest.tf_demo_run)."""
    metrics = check_contract(tf_demo_run, task="classification")
    auc = metrics["test"]["roc_auc"]
    assert auc > 0.95  # the lecture's motif plus the accessibility gate is learnable
    # Accessibility carries what the sequence cannot: without it the CNN must do worse.
    assert auc > metrics["without_covariates"]["test"]["roc_auc"] + 0.03
    report = (tf_demo_run / "results" / "report" / "report.html").read_text()
    assert "ROC" in report and "Confusion matrix" in report


@pytest.mark.slow
def test_a_classifier_that_earned_it_designs_toward_its_motif(tmp_path):
    """The TF-binding task without its covariate: a classifier has no r², so the design gate
    reads its validation ROC-AUC (it refused every classifier when it read the r²). The top
    bin's designs carry the planted CCGGAA (either strand); the bottom bin's do not."""
    example = yaml.safe_load(
        (REPO / "examples" / "tf_binding" / "config" / "config.yaml").read_text()
    )
    example["simulate"]["accessibility"] = False
    example["model"] |= {"covariates": [], "epochs": 30}
    design = {"n_designs": 24, "steps": 100, "objective": "bins"}
    write_config(tmp_path, {**example, "design": design})
    run = run_workflow(tmp_path, "results/design/summary.json")
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((tmp_path / "results" / "design" / "summary.json").read_text())
    assert summary["refused"] is None and summary["forced"] is None
    assert summary["model"]["validation_roc_auc"] >= 0.75
    assert summary["model"]["validation_r2"] is None
    designs = pd.read_csv(tmp_path / "results" / "design" / "next_library.csv")
    assert len(designs) == 24
    motif = designs["sequence"].str.contains("CCGGAA|TTCCGG")
    by_bin = motif.groupby(designs["target_bin"].str[0]).mean()
    assert by_bin["4"] >= 0.8 and by_bin["1"] == 0.0
