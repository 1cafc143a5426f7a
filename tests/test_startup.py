"""What a reads or plates job loads before its work: a run has one demux and one consensus job per
read group, so what they import is paid tens of times (issue 21). They run as the workflow runs
them (`--params`), in a fresh interpreter, on the small valid experiment of test_bad_inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import python_json
from test_bad_inputs import CONSENSUS, DEMUX, DEMUX_OUT, experiment

from utrflow import cli
from utrflow import config as config_module
from utrflow.preflight import load as load_config

MODEL_OR_PLOTS = ("tensorflow", "keras", "torch", "jax", "matplotlib", "sklearn", "logomaker")
TABLES = ("pandas",)
PROBE = """
import json, sys
from utrflow import cli
status = cli.main(sys.argv[2:])
loaded = sorted(m for m in json.loads(sys.argv[1]) if m in sys.modules)
print(json.dumps({"status": status, "loaded": loaded}))
"""


def as_job(workdir: Path, argv: list[str]) -> list[str]:
    """`argv` with the settings as the workflow's rule passes them: `--params` JSON."""
    keys = cli.COMMANDS[argv[0]].settings
    chosen = config_module.select(load_config(workdir / "config" / "config.yaml", workdir), keys)
    return [*argv, "--params", json.dumps(chosen)]


def loaded_by(workdir: Path, argv: list[str], watched: tuple[str, ...]) -> list[str]:
    """The `watched` modules a job has imported when it ends (it must succeed)."""
    result = python_json(PROBE, json.dumps(watched), *as_job(workdir, argv), cwd=workdir)
    assert result["status"] == 0, argv
    return result["loaded"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return experiment(tmp_path_factory.mktemp("startup"))


def test_the_reads_jobs_load_neither_pandas_nor_a_model_or_plotting_library(workdir: Path) -> None:
    """demux and consensus read and write their tables as plain rows: pandas alone would cost
    each job a third of a second, more than the rest of its start-up."""
    assert loaded_by(workdir, [*DEMUX, "--out-dir", DEMUX_OUT], TABLES + MODEL_OR_PLOTS) == []
    assert (workdir / DEMUX_OUT / "well_counts.tsv").is_file()
    assert loaded_by(workdir, CONSENSUS, TABLES + MODEL_OR_PLOTS) == []
    calls = (workdir / "results/consensus/P1.tsv").read_text().splitlines()
    assert calls[0].split("\t")[:3] == ["plate", "well", "role"] and len(calls) == 4


def test_the_plates_job_loads_no_model_or_plotting_library(workdir: Path) -> None:
    """The plate readers need pandas (instrument exports are spreadsheets); nothing heavier."""
    argv = ["fluorescence", "--plate", "P1", "--reader", "reader/p1.csv", "--wells", "wells.tsv"]
    argv += ["--output", "plates/P1.tsv", "--summary", "plates/P1.json"]
    assert loaded_by(workdir, argv, MODEL_OR_PLOTS) == []
    assert (workdir / "plates/P1.tsv").is_file()
