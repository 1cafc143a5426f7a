"""End to end: the workflow runs from another directory and writes every contracted output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, run_workflow, write_config
from workflow_checks import METRIC_KEYS, check_contract


@pytest.mark.slow
def test_simulated_workflow_from_another_directory(tiny_table_run, tiny_config):
    """The session's run of tiny_settings() (conftest.tiny_table_run), run with --directory."""
    metrics = check_contract(tiny_table_run)
    ceiling = metrics["noise_ceiling"]["r2"]["test"]
    assert 0.5 < ceiling <= 1.0
    assert metrics["noise_ceiling"]["test_fraction_reached"] == pytest.approx(
        metrics["test"]["r2"] / ceiling
    )
    truth = pd.read_csv(tiny_table_run / "results" / "simulated" / "truth_wells.tsv", sep="\t")
    assert {"plate", "well", "variant_id", "sequence", "mixed", "role", "true_label"} <= set(truth)
    report = (tiny_table_run / "results" / "report" / "report.html").read_text()
    assert "noise ceiling" in report
    designs = pd.read_csv(tiny_table_run / "results" / "design" / "next_library.csv")
    assert len(designs) == tiny_config["design"]["n_designs"]
    assert {"id", "sequence", "predicted", "predicted_sd", "target_bin", "nearest_measured",
            "distance"} <= set(designs)  # fmt: skip
    order = pd.read_csv(tiny_table_run / "results" / "design" / "oligo_order.csv")
    assert all(u in o for u, o in zip(order["utr"], order["oligo"], strict=True))
    assert (order["length"] > order["utr"].str.len()).all()  # flanks added
    summary = json.loads((tiny_table_run / "results" / "design" / "summary.json").read_text())
    assert "measured_top5_true_mean" in summary["simulated_truth"]
    assert '<section id="design">' in report
    # preset auto (the default): two tiny candidates and the three baselines in the contest
    board = pd.read_csv(tiny_table_run / "results" / "model" / "leaderboard.tsv", sep="\t")
    assert (board["kind"] == "cnn").sum() == 2 and (board["kind"] == "baseline").sum() == 3
    # a small table is ranked by cross-validation (the CNNs, not cross-validated, after)
    ranked = (
        board["cv_r2_score"].dropna() if "cv_r2_score" in board else board["validation_r2_score"]
    )
    assert board["selected"].sum() == 1 and ranked.is_monotonic_decreasing
    curve = pd.read_csv(tiny_table_run / "results" / "model" / "learning_curve.tsv", sep="\t")
    assert sorted(set(curve["fraction"])) == [0.25, 0.5, 0.75, 1.0]
    assert "Learning curve over training-set size" in report and "Model contest" in report
    # A small table: the gate reads the contest's score cross-validated over every train and
    # validation row, not the 40-row validation split; a forced design is all exploratory.
    assert summary["model"]["scored_by"] == "cross-validated"
    assert summary["model"]["validation_n"] > 100  # design.min_validation_rows
    assert designs["exploratory"].all() or not summary["forced"]
    scored = pd.read_csv(tiny_table_run / "results" / "predict" / "predictions.tsv", sep="\t")
    assert scored["id"].tolist() == ["a", "b"]
    assert np.isfinite(scored["prediction"]).all() and (scored["prediction_sd"] == 0).all()
    # Nothing changed: nothing reruns.
    again = run_workflow(tiny_table_run, "--dry-run")
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_user_table_with_relative_path(table_run):
    """The session's user-table run (conftest.table_run): `table: data/lab.csv`."""
    assert yaml.safe_load((table_run / "config" / "config.yaml").read_text())["table"] == (
        "data/lab.csv"
    )
    metrics = check_contract(table_run)
    assert "noise_ceiling" not in metrics
    assert not (table_run / "results" / "simulated").exists()


@pytest.mark.slow
def test_covariates_ensemble_cluster_split_and_crossvalidation(covariates_run):
    """The session's covariates run (conftest.covariates_run)."""
    metrics = check_contract(covariates_run)
    assert len(metrics["members"]) == 2
    assert metrics["ensemble_spread"]["test_mean_sd"] > 0
    assert set(metrics["without_covariates"]["test"]) >= METRIC_KEYS["regression"]
    predictions = pd.read_csv(covariates_run / "results" / "model" / "predictions.tsv", sep="\t")
    assert (predictions["prediction_sd"] >= 0).all()
    crossval = json.loads((covariates_run / "results" / "model" / "crossval.json").read_text())
    assert [f["fold"] for f in crossval["folds"]] == [0, 1]
    assert set(crossval["summary"]) == {"r2_mean", "r2_sd"}
    report = (covariates_run / "results" / "report" / "report.html").read_text()
    assert "Cross-validation (2 folds)" in report and "CNN without covariates" in report


def test_whole_run_simulation_rule_writes_the_input_contract(tmp_path):
    run_settings = {"n_variants": 60, "n_plates": 1, "reads_per_well_mean": 4, "seed": 3}
    write_config(tmp_path, {"simulate": {"run": run_settings}})
    run = run_workflow(tmp_path, "simulate_run", timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    out = tmp_path / "results" / "simulated" / "run"
    plates = pd.read_csv(out / "plates.tsv", sep="\t")
    assert list(plates.columns) == ["plate", "reads", "fluorescence"]
    assert all((tmp_path / p).exists() for p in plates["reads"])  # relative to the workdir
    wells = pd.read_csv(out / "wells.tsv", sep="\t")
    assert list(wells.columns) == ["plate", "well", "fwd_barcode", "rev_barcode", "role"]
    summary = json.loads((out / "summary.json").read_text())
    truth_reads = pd.read_csv(out / "truth_reads.tsv.gz", sep="\t")
    assert len(truth_reads) == summary["reads"] > 0
    assert summary["barcode_min_distance"] >= 4


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"modle": {}}, "utrflow: error: config/config.yaml: unknown key 'modle'"),
        ({"model": {"epochs": "many"}}, "key 'model.epochs': 'many' is not of type integer"),
        ({"source": "table", "table": "missing.csv"}, "key 'table': file not found: missing.csv"),
        ({"source": "reads"}, "key 'plates' must name a file when source is 'reads'"),
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
