"""Shared fixtures: the repository paths and a runner for the workflow in a scratch directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


def workflow_env(**extra: str) -> dict[str, str]:
    """The environment for a workflow run: the test's Python (and `utrflow`) first on PATH."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


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
        # 400 rows leave 40 for validation: too few to earn a design (design.min_validation_rows),
        # so the plumbing is tested forced (every design exploratory)
        "design": {"n_designs": 8, "steps": 40, "force": True},
    }


@pytest.fixture
def tiny_config() -> dict:
    """A fresh copy of tiny_settings() for one test."""
    return tiny_settings()
