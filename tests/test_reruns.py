"""Incremental reruns, resuming a killed run, and the same config giving the same bytes, on one
small simulated reads experiment (two plates with reads, a third whose reads file is empty,
demultiplexed over 2 processes).

Each rerun case edits the config, asks Snakemake for the jobs it would run (a dry run), and puts
the config back. A new plate is tested in test_workflow_reads.py; here: nothing changed, a model
parameter, the ensemble size, the GPU request, a demultiplexing threshold, a consensus threshold
and a plate's new reader file. Resume: SIGKILL the whole run during demultiplexing, then again
during training, finish with --rerun-incomplete in a second directory, and compare with the
uninterrupted run: the same config gives byte-identical tables and metrics, and no read is lost.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import run_workflow, workflow_command, workflow_env, write_config
from workflow_checks import jobs_planned, reads_config

from utrflow.reads.files import iter_records
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation

pytestmark = pytest.mark.slow  # one whole run of the reads pipeline, and a killed one

PLATES = ("P01", "P02", "P03")
EMPTY_PLATE = "P03"
SIMULATION = RunSimulation(n_variants=150, n_plates=len(PLATES), reads_per_well_mean=8, seed=5)


def make_experiment(workdir: Path) -> None:
    """A simulated reads experiment under `workdir` (paths in its sheets relative to it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with contextlib.chdir(workdir):
        simulate_run(SIMULATION, Path("run"))
        plates = pd.read_csv(Path("run/plates.tsv"), sep="\t")
        empty = Path(plates.loc[plates["plate"] == EMPTY_PLATE, "reads"].item())
        empty.write_bytes(gzip.compress(b""))
    config = reads_config(workdir / "run")
    # Without the next-library design: a minute less, and nothing here is about it.
    demux = {**config["demux"], "chunk_reads": 500}  # several chunks on 2 processes
    write_config(workdir, {**config, "demux": demux, "design": {"n_designs": 0}})


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[Path, str]:
    """The experiment, run once to the end without interruption: its directory and stderr."""
    workdir = tmp_path_factory.mktemp("reruns")
    make_experiment(workdir)
    run = run_workflow(workdir)
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir, run.stderr


@pytest.fixture(scope="module")
def experiment(uninterrupted: tuple[Path, str]) -> Path:
    return uninterrupted[0]


@contextlib.contextmanager
def edited_config(workdir: Path, edit: Callable[[dict], None]) -> Iterator[None]:
    path = workdir / "config" / "config.yaml"
    original = path.read_text()
    config = yaml.safe_load(original)
    edit(config)
    path.write_text(yaml.safe_dump(config))
    try:
        yield
    finally:
        path.write_text(original)


def planned_after(workdir: Path, edit: Callable[[dict], None]) -> dict[str, int]:
    with edited_config(workdir, edit):
        return jobs_planned(workdir)


def set_key(section: str, key: str, value) -> Callable[[dict], None]:
    return lambda config: config.setdefault(section, {}).__setitem__(key, value)


def rerun_from(workdir: Path, rule: str) -> dict[str, int]:
    """The jobs of `rule` and of everything downstream of it (the DAG's own answer)."""
    return jobs_planned(workdir, "--forcerun", rule)


def test_nothing_changed_nothing_runs(experiment):
    assert jobs_planned(experiment) == {}


def test_a_model_parameter_reruns_only_training_evaluation_and_report(experiment):
    planned = planned_after(experiment, set_key("model", "epochs", 3))
    # preset auto: the search candidates train first, then the contest, then the members
    assert planned == rerun_from(experiment, "candidate")
    assert {"train", "ensemble", "evaluate", "report"} <= planned.keys()
    # Not the encoding, the baselines, or anything before the labelled table.
    assert not planned.keys() & {"encode", "baselines", "demux", "consensus", "link"}


def test_a_larger_ensemble_trains_only_the_new_member(experiment):
    planned = planned_after(experiment, set_key("model", "ensemble", 2))
    assert planned["train"] == 1
    assert planned == rerun_from(experiment, "train")


def test_a_gpu_request_retrains_nothing(experiment):
    # Where a job runs is not what it computes: at most the report, which prints the settings.
    assert planned_after(experiment, set_key("model", "gpus", 1)).keys() <= {"report", "all"}


def test_more_demultiplexing_threads_rerun_nothing(experiment):
    # Thread counts say how a job runs, not what it computes (they were params once).
    assert planned_after(experiment, set_key("demux", "threads", 1)).keys() <= {"report", "all"}


def test_a_classification_threshold_retrains_no_candidate(experiment):
    # Training was passed model.threshold once, and reran for it. The contest and evaluation
    # score with it (under preset auto the members follow the contest's choice); the search's
    # candidates, the encoding and the baselines do not read it.
    planned = planned_after(experiment, set_key("model", "threshold", 0.4))
    assert not planned.keys() & {"candidate", "encode", "baselines", "demux"}
    assert {"select", "evaluate"} <= planned.keys()


def test_a_demultiplexing_threshold_reruns_demultiplexing_onward(experiment):
    planned = planned_after(experiment, set_key("demux", "max_barcode_distance", 2))
    assert planned == rerun_from(experiment, "demux")
    assert planned["demux"] == planned["consensus"] == len(PLATES)
    # The table changes, so the model_status checkpoint runs again, and a dry run cannot see
    # past it (test_workflow_reads checks that the run itself then runs every model job).
    assert {"link", "model_status", "report"} <= planned.keys()


def test_a_consensus_threshold_reruns_consensus_onward(experiment):
    planned = planned_after(experiment, set_key("consensus", "min_reads", 4))
    assert planned == rerun_from(experiment, "consensus")
    assert planned["consensus"] == len(PLATES) and {"link", "report"} <= planned.keys()
    assert "demux" not in planned


def test_a_new_reading_of_one_plate_reruns_the_gather_not_the_reads(experiment):
    # The link job reads every plate's reader file; the reads jobs never read them.
    reader = experiment / "run" / "reader" / "P01.csv"
    before, original = reader.stat(), reader.read_text()
    lines = original.splitlines(keepends=True)
    reader.write_text("".join([*lines[:-1], lines[-1].replace(",", ",1", 1)]))  # one new value
    try:
        planned = jobs_planned(experiment)
    finally:
        reader.write_text(original)
        os.utime(reader, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert planned == rerun_from(experiment, "link")
    assert planned["link"] == 1 and not planned.keys() & {"demux", "consensus"}


# -- resume -----------------------------------------------------------------------------------


def start_workflow(workdir: Path, *extra: str) -> subprocess.Popen:
    """snakemake in a session of its own: its process group holds every job it starts."""
    log = (workdir / "snakemake.out").open("a")
    return subprocess.Popen(
        workflow_command(workdir, *extra, timeout=300),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=workflow_env(),
        start_new_session=True,
    )


def kill_when_running(run: subprocess.Popen, workdir: Path, job_log: str, output: str) -> None:
    """SIGKILL the run's whole process group once the job logging to `job_log` has started and
    before it wrote `output`; return when every process of the group is gone."""
    deadline = time.monotonic() + 240
    while not (workdir / job_log).exists():
        if run.poll() is not None:
            said = " | ".join((workdir / "snakemake.out").read_text().splitlines()[-15:])
            pytest.fail(f"the run ended (exit {run.returncode}) before {job_log}: {said}")
        assert time.monotonic() < deadline, f"{job_log} never appeared"
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    while True:  # the jobs die with it: none is left to finish its output later
        try:
            os.killpg(run.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "processes of the killed run are still alive"
        time.sleep(0.02)
    assert not (workdir / output).exists(), f"{output} was written before the kill"


def unlock(workdir: Path) -> None:
    """A killed snakemake leaves its lock on the directory: the next run needs --unlock first."""
    unlocked = run_workflow(workdir, "--unlock", timeout=120)
    assert unlocked.returncode == 0, unlocked.stderr[-2000:]


def counted(funnel: Path) -> dict:
    """A demux funnel without its absolute file paths (the two runs are in two directories)."""
    return {k: v for k, v in json.loads(funnel.read_text()).items() if k != "files"}


def gunzipped(path: Path) -> bytes:
    with gzip.open(path) as handle:
        return handle.read()


@pytest.fixture(scope="module")
def resumed(tmp_path_factory) -> Path:
    """The same experiment in a second directory: killed during demultiplexing, resumed,
    killed during training, and resumed to the end."""
    workdir = tmp_path_factory.mktemp("killed")
    make_experiment(workdir)
    results = workdir / "results"

    run = start_workflow(workdir)
    kill_when_running(run, workdir, "results/logs/demux/P01.log", "results/demux/P01/funnel.json")
    unlock(workdir)
    run = start_workflow(workdir, "--rerun-incomplete")
    kill_when_running(
        run, workdir, "results/logs/train_member0.log", "results/model/members/0/training.json"
    )
    assert (results / "demux/P01/funnel.json").exists()  # the first resume got past demux
    unlock(workdir)

    finished = run_workflow(workdir, "--rerun-incomplete")
    assert finished.returncode == 0, finished.stderr[-3000:]
    return workdir


def test_a_run_killed_during_demux_and_training_resumes_to_the_same_outputs(experiment, resumed):
    assert jobs_planned(resumed) == {}
    results, reference = resumed / "results", experiment / "results"
    for plate in PLATES:
        demux = Path("demux") / plate
        counts = demux / "well_counts.tsv"
        assert (results / counts).read_bytes() == (reference / counts).read_bytes()
        assignments = demux / "assignments.tsv.gz"
        assert gunzipped(results / assignments) == gunzipped(reference / assignments)
        funnel = demux / "funnel.json"
        assert counted(results / funnel) == counted(reference / funnel)
    for table in ("table/labelled.tsv", "encode/split.tsv", "model/predictions.tsv"):
        assert (results / table).read_bytes() == (reference / table).read_bytes(), table
    metrics = json.loads((results / "model/metrics.json").read_text())
    assert metrics == json.loads((reference / "model/metrics.json").read_text())


# -- the same config, the same bytes; no read lost ---------------------------------------------


def test_the_same_config_gives_byte_identical_tables_and_metrics(experiment, resumed) -> None:
    """Two runs of one config in two directories (the second killed and resumed twice)."""
    for output in (
        "results/table/labelled.tsv",
        "results/model/metrics.json",
        "results/model/predictions.tsv",
        "results/encode/split.tsv",
        "results/demux/P01/assignments.tsv.gz",
        "results/consensus/P02.tsv",
    ):
        assert (experiment / output).read_bytes() == (resumed / output).read_bytes(), output
    metrics = json.loads((experiment / "results/model/metrics.json").read_text())
    assert metrics["test"]["n"] > 0  # a real model was scored, not two empty files compared


def test_every_read_appears_exactly_once_in_the_assignments(experiment) -> None:
    truth = pd.read_csv(experiment / "run" / "truth_reads.tsv.gz", sep="\t", keep_default_na=False)
    plates = pd.read_csv(experiment / "run" / "plates.tsv", sep="\t")
    total = 0
    for plate, reads in zip(plates["plate"], plates["reads"], strict=True):
        given = [name for name, _ in iter_records(experiment / reads)]
        assignments = pd.read_csv(
            experiment / f"results/demux/{plate}/assignments.tsv.gz",
            sep="\t",
            keep_default_na=False,
        )
        funnel = json.loads((experiment / f"results/demux/{plate}/funnel.json").read_text())
        assert assignments["read_id"].tolist() == given  # each once, in file order
        assert funnel["reads"] == len(given) == sum(funnel["status"].values())
        total += len(given)
    emptied = truth["plate"] == EMPTY_PLATE
    assert total == (~emptied).sum() > 0


def test_an_empty_reads_file_is_warned_about_and_reported(uninterrupted) -> None:
    workdir, stderr = uninterrupted
    warnings = [line for line in stderr.splitlines() if line.startswith("utrflow: warning:")]
    assert len(warnings) == 1 and "holds no reads; plate(s) P03" in warnings[0]
    table = pd.read_csv(workdir / "results/table/labelled.tsv", sep="\t", keep_default_na=False)
    assert table.loc[table["plate"] == EMPTY_PLATE, "qc"].isin(["no_reads", "blank"]).all()
    report = (workdir / "results/report/report.html").read_text()
    assert f"Plate {EMPTY_PLATE}: no reads at all" in report
