"""End to end: the workflow runs from another directory and writes every contracted output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import LABELLED_COLUMNS, REPO, TINY_MODEL, run_workflow, write_config

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
    assert len(re.findall(r'<img src="data:image/png;base64,', report)) >= 4
    # Self-contained: no resource is fetched from anywhere.
    assert not re.search(r'(src|href)="(https?:)?//', report)
    for rule in ("encode", "train_member0", "ensemble", "baselines", "evaluate", "report"):
        assert (results / "logs" / f"{rule}.log").exists()
        assert (results / "benchmarks" / f"{rule}.tsv").exists()
    return metrics


@pytest.mark.slow
def test_simulated_workflow_from_another_directory(tmp_path, tiny_config):
    (tmp_path / "new.fa").write_text(">a\nACGTAGGAGGATATACATG\n>b\nCCCCCCCCCCCCCCC\n")
    write_config(tmp_path, {**tiny_config, "predict": {"input": "new.fa"}})
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
    report = (tmp_path / "results" / "report" / "report.html").read_text()
    assert "noise ceiling" in report
    designs = pd.read_csv(tmp_path / "results" / "design" / "next_library.csv")
    assert len(designs) == tiny_config["design"]["n_designs"]
    assert {"id", "sequence", "predicted", "predicted_sd", "target_bin", "nearest_measured",
            "distance"} <= set(designs)  # fmt: skip
    order = pd.read_csv(tmp_path / "results" / "design" / "oligo_order.csv")
    assert all(u in o for u, o in zip(order["utr"], order["oligo"], strict=True))
    assert (order["length"] > order["utr"].str.len()).all()  # flanks added
    summary = json.loads((tmp_path / "results" / "design" / "summary.json").read_text())
    assert "measured_top5_true_mean" in summary["simulated_truth"]
    assert '<section id="design">' in report
    # preset auto (the default): two tiny candidates and the three baselines in the contest
    board = pd.read_csv(tmp_path / "results" / "model" / "leaderboard.tsv", sep="\t")
    assert (board["kind"] == "cnn").sum() == 2 and (board["kind"] == "baseline").sum() == 3
    assert board["selected"].sum() == 1 and board["validation_r2_score"].is_monotonic_decreasing
    curve = pd.read_csv(tmp_path / "results" / "model" / "learning_curve.tsv", sep="\t")
    assert sorted(set(curve["fraction"])) == [0.25, 0.5, 0.75, 1.0]
    assert "Learning curve over training-set size" in report and "Model contest" in report
    # forced from a model validated on 40 rows: every design is exploratory
    assert designs["exploratory"].all() and summary["forced"]
    scored = pd.read_csv(tmp_path / "results" / "predict" / "predictions.tsv", sep="\t")
    assert scored["id"].tolist() == ["a", "b"]
    assert np.isfinite(scored["prediction"]).all() and (scored["prediction_sd"] == 0).all()
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


@pytest.mark.slow
def test_covariates_ensemble_cluster_split_and_crossvalidation(tmp_path):
    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGT"), rng.integers(15, 25))) for _ in range(400)]
    access = rng.random(400)
    labels = [s.count("GG") + 2 * a + rng.normal(0, 0.3) for s, a in zip(seqs, access, strict=True)]
    pd.DataFrame({"sequence": seqs, "label": labels, "access": access}).to_csv(
        tmp_path / "lab.tsv", sep="\t", index=False
    )
    # A fixed architecture: under preset auto a baseline may win here, and the members of a
    # baseline are one deterministic refit (no spread to assert).
    model = {**TINY_MODEL, "preset": "seed", "covariates": ["access"], "ensemble": 2}
    write_config(
        tmp_path,
        {
            "source": "table",
            "table": "lab.tsv",
            "model": model,
            "split": {"method": "by_cluster", "cluster_distance": 2, "folds": 2},
            "baselines": {"kmer_max": 2},
        },
    )
    run = run_workflow(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = check_contract(tmp_path)
    assert len(metrics["members"]) == 2
    assert metrics["ensemble_spread"]["test_mean_sd"] > 0
    assert set(metrics["without_covariates"]["test"]) >= METRIC_KEYS["regression"]
    predictions = pd.read_csv(tmp_path / "results" / "model" / "predictions.tsv", sep="\t")
    assert (predictions["prediction_sd"] >= 0).all()
    crossval = json.loads((tmp_path / "results" / "model" / "crossval.json").read_text())
    assert [f["fold"] for f in crossval["folds"]] == [0, 1]
    assert set(crossval["summary"]) == {"r2_mean", "r2_sd"}
    report = (tmp_path / "results" / "report" / "report.html").read_text()
    assert "Cross-validation (2 folds)" in report and "CNN without covariates" in report


@pytest.mark.slow
def test_tf_binding_classification_demo(tmp_path):
    example = yaml.safe_load(
        (REPO / "examples" / "tf_binding" / "config" / "config.yaml").read_text()
    )
    write_config(tmp_path, example)  # the shipped demo as it is (about 40 s on 2 cores)
    run = run_workflow(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = check_contract(tmp_path, task="classification")
    auc = metrics["test"]["roc_auc"]
    assert auc > 0.95  # the lecture's motif plus the accessibility gate is learnable
    # Accessibility carries what the sequence cannot: without it the CNN must do worse.
    assert auc > metrics["without_covariates"]["test"]["roc_auc"] + 0.03
    report = (tmp_path / "results" / "report" / "report.html").read_text()
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
    write_config(tmp_path, {**example, "design": {"n_designs": 24, "steps": 100}})
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
    "encode": 1,
    "train": 1,
    "ensemble": 1,
    "baselines": 1,
    "evaluate": 1,
    "interpret": 1,
    "design": 1,
    "report": 1,
    # preset auto: the search (two tiny candidates), the contest, the learning curve
    "candidate": 2,
    "select": 1,
    "learning_curve": 1,
}


@pytest.mark.slow
def test_reads_to_the_model_and_a_new_plate_reruns_only_its_jobs(tmp_path):
    from utrflow.simulate.run import simulate_run
    from utrflow.simulate.run_settings import RunSimulation

    run = tmp_path / "run"
    simulate_run(
        RunSimulation(
            # 25 reads per well: wells with fewer than 7 regions can't rule out a second
            # colony (purity_unproven), and the negative binomial leaves some at any mean
            n_variants=400,
            n_plates=3,
            reads_per_well_mean=25,
            seed=2,
            reader_format="grid",
        ),
        run,
    )
    plates = pd.read_csv(run / "plates.tsv", sep="\t")
    wells = pd.read_csv(run / "wells.tsv", sep="\t")
    # paths in plates.tsv are relative to the working directory: make them so
    for column in ("reads", "fluorescence"):
        plates[column] = plates[column].map(lambda p: str(Path(p).relative_to(tmp_path)))
    plates.loc[1, "fluorescence"] = None  # a plate not read yet: sequences only
    plates.iloc[:2].to_csv(run / "plates.tsv", sep="\t", index=False)
    wells[wells["plate"] != "P03"].to_csv(run / "wells.tsv", sep="\t", index=False)
    write_config(tmp_path, reads_config(run))

    first = run_workflow(tmp_path)
    assert first.returncode == 0, first.stderr
    for plate in ("P01", "P02"):
        table = pd.read_csv(tmp_path / f"results/consensus/{plate}.tsv", sep="\t")
        assert len(table) == 96 and table["qc"].eq("pass").mean() > 0.8
        assert table.loc[table["qc"] == "pass", "match"].isin(["exact", "synthesis_variant"]).all()
        funnel = json.loads((tmp_path / f"results/demux/{plate}/funnel.json").read_text())
        assert funnel["status"]["assigned"] == table["n_reads"].sum()
    labelled = check_contract(tmp_path)
    table = pd.read_csv(tmp_path / "results/table/labelled.tsv", sep="\t", keep_default_na=False)
    assert len(table) == 192
    by_plate = table.groupby("plate")["qc"]
    assert by_plate.apply(lambda q: (q == "pass").mean())["P01"] > 0.8
    assert set(by_plate.get_group("P02")) <= {
        "no_fluorescence",
        "blank",
        "no_reads",
        "low_reads",
        "mixed",
        "variant_unconfirmed",
        "sequence_unconfirmed",
        "purity_unproven",
    }
    assert table.loc[table["role"] == "blank", "qc"].eq("blank").all()
    assert labelled["test"]["n"] > 0
    summary = json.loads((tmp_path / "results/table/summary.json").read_text())
    assert sum(summary["qc"].values()) == 192
    report = (tmp_path / "results/report/report.html").read_text()
    assert '<section id="plates">' in report and report.count('data-plate="') == 2
    for figure in ("Demultiplexing funnel", "Read length and quality", "Purity and library match"):
        assert f'alt="{figure}"' in report
    assert "<code>n_regions</code>, those of them whose" in report  # the calls say which count

    # The third plate arrives: its rows join the sheets, and only its jobs and the gathers run.
    plates.to_csv(run / "plates.tsv", sep="\t", index=False)
    wells.to_csv(run / "wells.tsv", sep="\t", index=False)
    per_plate = {"demux": 1, "consensus": 1, "link": 1}  # link reads the new reader file
    assert jobs_planned(tmp_path) == {"all": 1, **per_plate, **MODEL_JOBS}
    second = run_workflow(tmp_path)
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "results/consensus/P03.tsv").is_file()
    assert jobs_planned(tmp_path) == {}

    # Plate centring is the gather's setting: the per-plate jobs stay as they are.
    config = reads_config(run)
    config["fluorescence"] = {"plate_centering": "median"}
    write_config(tmp_path, config)
    assert jobs_planned(tmp_path) == {"all": 1, "link": 1, **MODEL_JOBS}
    write_config(tmp_path, reads_config(run))

    # Editing one row of P01 reruns P01's jobs only, and the gathers after them.
    wells.loc[0, "role"] = "control"
    wells.to_csv(run / "wells.tsv", sep="\t", index=False)
    assert jobs_planned(tmp_path) == {"all": 1, **per_plate, **MODEL_JOBS}


def test_reads_sheet_errors_stop_before_any_job(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "construct.yaml").write_text("fwd_primer: ACGTACGTAC\nrev_primer: TTGGCCAATT\n")
    (run / "plates.tsv").write_text("plate\treads\nP1\treads/*.fastq.gz\n")
    (run / "wells.tsv").write_text("plate\twell\tfwd_barcode\nP1\tA1\tACGT\n")
    (run / "library.csv").write_text("id,sequence\nv1,ACGT\n")
    write_config(tmp_path, reads_config(run))
    result = run_workflow(tmp_path, timeout=120)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("utrflow: error:")]
    assert len(lines) == 1
    assert (
        "plates.tsv: row 2 (plate P1): reads pattern 'reads/*.fastq.gz' matches no file" in lines[0]
    )
    assert not (tmp_path / "results").exists()
