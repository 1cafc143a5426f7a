"""Shared fixtures: the repository paths and a runner for the workflow in a scratch directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "workflow" / "Snakefile"
BIN = Path(sys.executable).parent
# The read-only shared data: beside the checkout, or where this project's machines keep it.
SHARED = next(
    (p for p in (REPO.parent / "shared", Path("/work/shared")) if p.is_dir()), Path("shared")
)

# The labelled-table contract (docs/contracts.md §2), written out here as the specification.
LABELLED_COLUMNS = [
    "plate",
    "well",
    "sequence",
    "variant_id",
    "match",
    "n_reads",
    "n_regions",
    "purity",
    "signal",
    "label",
    "qc",
]


def workflow_command(workdir: Path, *extra: str, timeout: int = 600) -> list[str]:
    """snakemake on `workdir`, under `timeout -k 10`: past `timeout` seconds its whole process
    group (jobs included) gets SIGTERM, and SIGKILL 10 s later; the exit status is then 124."""
    snakemake = [str(BIN / "snakemake"), "-s", str(SNAKEFILE), "--directory", str(workdir)]
    return ["timeout", "-k", "10", str(timeout), *snakemake, "--cores", "2", *extra]


# snakemake-executor-plugin-slurm asks `scontrol show config` (10-s timeout) whenever Snakemake
# starts, whatever the executor. With SLURM installed and no controller running (CI installs it
# for tests/test_cluster.py) that costs up to 10 s per start: the local runs get an `scontrol`
# that says at once that no cluster is here. test_cluster's runs use the real one.
NO_CLUSTER = Path(__file__).resolve().parent / "no_cluster"


def workflow_env(cluster: bool = False, **extra: str) -> dict[str, str]:
    """The environment for a workflow run: the test's Python (and `utrflow`) first on PATH,
    and, unless `cluster`, no SLURM controller to wait for."""
    first = [str(BIN)] if cluster else [str(BIN), str(NO_CLUSTER)]
    path = os.pathsep.join([*first, os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, **extra}


def run_workflow(
    workdir: Path, *extra: str, timeout: int = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run snakemake on `workdir` (which holds config/config.yaml) with the test's Python."""
    return subprocess.run(
        workflow_command(workdir, *extra, timeout=timeout),
        capture_output=True,
        text=True,
        env=env or workflow_env(),
        timeout=timeout + 30,  # a backstop: `timeout -k 10` ends the run before this
        check=False,
    )


def python_json(
    script: str, *args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600
) -> dict:
    """Run `script` in a fresh interpreter (argv: `args`); it must exit 0 and print a JSON
    object on its last line, which is returned."""
    run = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def write_config(workdir: Path, config: dict) -> Path:
    """Write config/config.yaml under `workdir`."""
    path = workdir / "config" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


TINY_MODEL = {
    "conv_filters": [16, 16],
    "kernel_size": 5,
    "dense_units": 8,
    "epochs": 4,
    "patience": 2,
    "batch_size": 32,
    # preset auto (the default) searches two tiny candidates, on CPUs and GPUs alike
    "search": {"candidates": 2, "gpu_candidates": 2, "patience": 2},
}


def tiny_settings() -> dict:
    """A configuration that runs the whole simulated workflow in well under a minute."""
    return {
        "seed": 7,
        "simulate": {"n_sequences": 400, "min_length": 20, "max_length": 40},
        "model": dict(TINY_MODEL),
        "baselines": {"kmer_max": 3},
        # 400 rows: the small-table contest cross-validates over every train + validation row,
        # and the design is forced should the model not earn it (exploratory designs)
        "design": {"n_designs": 8, "steps": 40, "force": True},
    }


@pytest.fixture
def tiny_config() -> dict:
    """A fresh copy of tiny_settings() for one test."""
    return tiny_settings()


# The modules that start first, in this order: the longest single tests (the noise ceiling's
# training, the resumed runs, SLURM), then the modules that build the session's shared runs
# (finished_run), so that both workers build them side by side, then the ones that only read
# them: last of all the settings audit, which reads every shared run (were it first, one worker
# would build them all one after the other while the other waited on their locks).
FIRST = (
    "test_quality.py",
    "test_reruns.py",
    "test_cluster.py",
    "test_workflow.py",
    "test_report_browser.py",
    "test_workflow_tf.py",
    "test_workflow_reads.py",
    "test_design_truth.py",
    "test_no_nan_text.py",
    "test_settings_contract.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """FIRST, then the modules with the most whole-workflow (`slow`) tests, each module's tests
    in their own order: `make test` hands whole modules to its workers in this order
    (--dist loadscope --no-loadscope-reorder), so the long ones start at once instead of
    ending the run alone on one core."""
    module = {item: item.nodeid.split("::")[0] for item in items}
    slow = Counter(module[item] for item in items if item.get_closest_marker("slow"))
    first_seen = {name: i for i, name in enumerate(dict.fromkeys(module.values()))}

    def rank(name: str) -> tuple[int, int, int]:
        base = Path(name).name
        first = FIRST.index(base) if base in FIRST else len(FIRST)
        return first, -slow[name], first_seen[name]

    items.sort(key=lambda item: rank(module[item]))


def pytest_terminal_summary(terminalreporter) -> None:
    """Under pytest-xdist (`make test`): each worker's busy seconds and when its last test
    ended, counted from the session's first test. A worker that ends long before the other
    shows a tail that the order above should cure (a long module started too late)."""
    busy: Counter[str] = Counter()
    ended: dict[str, float] = {}
    began = float("inf")
    for reports in terminalreporter.stats.values():
        for report in reports:
            node, stop = getattr(report, "node", None), getattr(report, "stop", 0.0)
            if node is None or not stop:
                continue
            worker = node.gateway.id
            busy[worker] += report.duration
            ended[worker] = max(ended.get(worker, 0.0), stop)
            began = min(began, report.start)
    if busy:
        terminalreporter.write_sep("=", "pytest-xdist workers")
        for worker in sorted(busy):
            at = ended[worker] - began
            terminalreporter.write_line(f"{worker}: busy {busy[worker]:.0f} s, done at {at:.0f} s")


@pytest.fixture(scope="session")
def shared_runs(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """One folder for the whole test session, the same for every pytest-xdist worker."""
    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / "shared_runs"
    root.mkdir(exist_ok=True)
    return root


# Each shared run notes the settings its commands were given and read (UTRFLOW_SETTINGS_AUDIT,
# utrflow/cli/audit.py) in this file of its working directory: the settings audit
# (test_settings_contract) reads the session's shared runs instead of making runs of its own.
AUDIT_LOG = "settings_audit.jsonl"


def finished_run(root: Path, name: str, make: Callable[[Path], None], *targets: str) -> Path:
    """The working directory of workflow run `name`, made by `make(workdir)` and run once per
    test session, whichever worker asks first (the others wait for it, then read it). Its
    commands note their settings in AUDIT_LOG.

    Tests that only read outputs share it; a test that edits or kills a run works on a copy
    (`shutil.copytree`). A failed run is remembered, so every test that needs it fails at once
    with its message instead of running it again.
    """
    from filelock import FileLock

    workdir = root / name
    done, failed = root / f"{name}.done", root / f"{name}.failed"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists() and not failed.exists():
            try:
                workdir.mkdir()
                make(workdir)
                audit = workflow_env(UTRFLOW_SETTINGS_AUDIT=str(workdir / AUDIT_LOG))
                run = run_workflow(workdir, *targets, env=audit)
            except Exception as error:  # a broken set-up or a run past its backstop
                failed.write_text(f"{type(error).__name__}: {error}")
                raise
            if run.returncode != 0:
                failed.write_text(f"rc {run.returncode}: {run.stderr[-3000:]}")
            else:
                done.write_text(run.stderr)
    if failed.exists():
        pytest.fail(f"the shared run {name} failed: {failed.read_text()}")
    return workdir


def make_tiny_whole_run(workdir: Path) -> None:
    """A tiny simulated wet-lab run through the whole chain: reads, wells, plate reader,
    an ensemble, interpretation, design, report."""
    config = tiny_settings()
    config["model"]["ensemble"] = 2
    config["simulate"] = {
        "level": "run",
        "run": {"n_variants": 400, "n_plates": 3, "reads_per_well_mean": 12,
                "replicate_fraction": 0.3},
    }  # fmt: skip
    write_config(workdir, config)


@pytest.fixture(scope="session")
def tiny_whole_run(shared_runs: Path) -> Path:
    """make_tiny_whole_run's run, finished once per session for the tests that read it (the
    report in a browser, no NaN written); a test that changes it works on a copy."""
    return finished_run(shared_runs, "tiny_whole_run", make_tiny_whole_run)


def make_pilot_run(workdir: Path) -> None:
    """A one-plate pilot of an 8-variant library: too few distinct sequences to train on."""
    config = tiny_settings()
    config["simulate"] = {
        "level": "run",
        "run": {"n_variants": 8, "n_plates": 1, "reads_per_well_mean": 12},
    }
    write_config(workdir, config)


@pytest.fixture(scope="session")
def pilot_run(shared_runs: Path) -> Path:
    """make_pilot_run's run, finished once per session (it must end well, with its report)."""
    return finished_run(shared_runs, "pilot_run", make_pilot_run)


def labelled_rows(seed: int, n: int, covariate: str = "") -> pd.DataFrame:
    """`n` random 15-24 nt sequences labelled by their GG count plus noise (and, with
    `covariate`, plus twice a uniform covariate column of that name): a user's own table."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), rng.integers(15, 25))) for _ in range(n)]
    labels = np.array([s.count("GG") for s in seqs]) + rng.normal(0, 0.3, n)
    table = pd.DataFrame({"sequence": seqs, "label": labels})
    if covariate:
        table[covariate] = rng.random(n)
        table["label"] += 2 * table[covariate]
    return table


def make_table_run(workdir: Path) -> None:
    """A user's own table (source: table) at a relative path, nothing simulated: preset auto,
    two members, 2-fold cross-validation, a small design and new sequences to score."""
    (workdir / "data").mkdir()
    labelled_rows(3, 300).to_csv(workdir / "data" / "lab.csv", index=False)
    (workdir / "new.fa").write_text(">a\nACGTAGGAGGATATACATG\n")
    model = {**TINY_MODEL, "ensemble": 2}
    write_config(
        workdir,
        {
            "source": "table",
            "table": "data/lab.csv",
            "split": {"folds": 2},
            "model": model,
            "baselines": {"kmer_max": 2},
            "design": {"n_designs": 8, "steps": 40},
            "predict": {"input": "new.fa"},
        },
    )


@pytest.fixture(scope="session")
def table_run(shared_runs: Path) -> Path:
    """make_table_run's run (the user-table tests of test_workflow and test_no_nan_text)."""
    return finished_run(shared_runs, "table_run", make_table_run)


def make_tiny_table_run(workdir: Path) -> None:
    """tiny_settings() as it is (a simulated table, preset auto, a forced design) and two new
    sequences to score."""
    (workdir / "new.fa").write_text(">a\nACGTAGGAGGATATACATG\n>b\nCCCCCCCCCCCCCCC\n")
    write_config(workdir, {**tiny_settings(), "predict": {"input": "new.fa"}})


@pytest.fixture(scope="session")
def tiny_table_run(shared_runs: Path) -> Path:
    """make_tiny_table_run's run (test_workflow's simulated workflow)."""
    return finished_run(shared_runs, "tiny_table_run", make_tiny_table_run)


def make_covariates_run(workdir: Path) -> None:
    """A user's table with a numeric covariate: a custom stack of layers (a fixed architecture:
    under preset auto a baseline may win here, and the members of a baseline are one
    deterministic refit, with no spread to assert), two members, a split by sequence cluster
    and 2-fold cross-validation."""
    labelled_rows(1, 400, covariate="access").to_csv(workdir / "lab.tsv", sep="\t", index=False)
    conv = {"conv": {"filters": 16, "kernel_size": 5}}
    layers = [conv, conv, {"dense": 8}]
    model = {**TINY_MODEL, "preset": "custom", "layers": layers}
    write_config(
        workdir,
        {
            "source": "table",
            "table": "lab.tsv",
            "model": {**model, "covariates": ["access"], "ensemble": 2},
            "split": {"method": "by_cluster", "cluster_distance": 2, "folds": 2},
            "baselines": {"kmer_max": 2},
        },
    )


@pytest.fixture(scope="session")
def covariates_run(shared_runs: Path) -> Path:
    """make_covariates_run's run (test_workflow's covariates test)."""
    return finished_run(shared_runs, "covariates_run", make_covariates_run)


def make_tf_demo_run(workdir: Path) -> None:
    """The shipped TF-binding demo as it is (about 40 s on 2 cores): classification with the
    accessibility covariate."""
    example = REPO / "examples" / "tf_binding" / "config" / "config.yaml"
    write_config(workdir, yaml.safe_load(example.read_text()))


@pytest.fixture(scope="session")
def tf_demo_run(shared_runs: Path) -> Path:
    """make_tf_demo_run's run (test_workflow_tf's demo test)."""
    return finished_run(shared_runs, "tf_demo_run", make_tf_demo_run)
