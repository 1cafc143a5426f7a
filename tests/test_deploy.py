"""The workflow where it is deployed: as a Snakemake module, as `snakedeploy deploy-workflow`
sets it up, and with or without `utrflow` on PATH."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import (
    NO_CLUSTER,
    REPO,
    SNAKEFILE,
    TINY_MODEL,
    run_workflow,
    workflow_env,
    write_config,
)

from utrflow.errors import InputError
from utrflow.preflight import check_commands

MODULE = f'''configfile: "config/config.yaml"


module utrflow:
    snakefile:
        "{SNAKEFILE}"
    config:
        config


use rule * from utrflow as utrflow_*
'''


def test_a_module_of_the_workflow_plans_a_whole_simulated_run(tmp_path: Path) -> None:
    (tmp_path / "workflow").mkdir()
    (tmp_path / "workflow" / "Snakefile").write_text(MODULE)
    tiny_run = {"n_variants": 60, "n_plates": 1, "reads_per_well_mean": 6}
    write_config(tmp_path, {"simulate": {"level": "run", "run": tiny_run}, "model": TINY_MODEL})
    # run_workflow names the repository's Snakefile; the module's own is this folder's
    plan = run_workflow(tmp_path, "-n", "-s", str(tmp_path / "workflow" / "Snakefile"), timeout=120)
    assert plan.returncode == 0, plan.stderr[-2000:]
    jobs = plan.stdout + plan.stderr
    for rule in ("simulate_run", "construct_check", "demux", "link", "report", "all"):
        assert f"utrflow_{rule} " in jobs, rule


def test_the_catalog_file_names_the_deployment_and_the_report() -> None:
    catalog = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())
    usage = catalog["usage"]
    assert usage["software-stack-deployment"]["conda"] is True and usage["report"] is True
    assert "utrflow init" in usage["mandatory-flags"]["desc"]


def test_utrflow_missing_from_path_stops_before_any_job_in_one_line(tmp_path: Path) -> None:
    write_config(tmp_path, {"simulate": {"n_sequences": 60}})
    # snakemake by its path, no venv active (and no SLURM controller to wait for: NO_CLUSTER)
    env = {**workflow_env(), "PATH": f"{NO_CLUSTER}:/usr/bin:/bin"}
    run = run_workflow(tmp_path, "-n", env=env, timeout=120)
    assert run.returncode == 1
    lines = [line for line in run.stderr.splitlines() if line.startswith("utrflow:")]
    assert len(lines) == 1 and "`utrflow` command the rules call is not on PATH" in lines[0]
    assert "source .venv/bin/activate" in lines[0] and "Traceback" not in run.stderr


def test_per_rule_environments_need_no_utrflow_on_path() -> None:
    check_commands(True, which=lambda name: None)
    with pytest.raises(InputError, match="not on PATH"):
        check_commands(False, which=lambda name: None)
    check_commands(False, which=lambda name: f"/usr/bin/{name}")
