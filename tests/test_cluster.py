"""The SLURM profile on a real (single-node) SLURM, and the profiles themselves.

The cluster is started by tests/slurm_cluster.py. Where SLURM can't be installed or started the
test is skipped with the reason; with UTRFLOW_REQUIRE_SLURM=1 (as .ci/run sets it) it fails instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
import yaml
from conftest import REPO, TINY_MODEL, run_workflow, workflow_env, write_config
from slurm_cluster import SlurmCluster, unavailable
from workflow_checks import METRIC_KEYS, jobs_planned

PROFILES = REPO / "workflow" / "profiles"
SLURM_PROFILE = PROFILES / "slurm"
METRICS = "results/model/metrics.json"


def profile(name: str) -> dict:
    return yaml.safe_load((PROFILES / name / "config.yaml").read_text())


def skip_or_fail(reason: str) -> None:
    if os.environ.get("UTRFLOW_REQUIRE_SLURM") == "1":
        pytest.fail(f"UTRFLOW_REQUIRE_SLURM=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def slurm():
    """A running single-node cluster for this module; its daemons stop at the end, whatever
    happened."""
    reason = unavailable()
    if reason:
        skip_or_fail(reason)
    cluster = SlurmCluster(fake_gpus=1)
    try:
        try:
            cluster.start()
        except RuntimeError as error:
            skip_or_fail(f"the SLURM test cluster did not start: {error}")
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
    assert not cluster.alive(), f"still running after stop: {cluster.alive()}"


def test_profiles_name_only_real_rules_and_the_slurm_executor():
    # Every rule the workflow can have: some exist only for a source (demux for reads).
    sources = [REPO / "workflow" / "Snakefile", *(REPO / "workflow" / "rules").glob("*.smk")]
    rules = {m for f in sources for m in re.findall(r"^\s*rule (\w+):", f.read_text(), re.M)}
    assert {"demux", "train", "report"} <= rules
    slurm = profile("slurm")
    assert slurm["executor"] == "slurm"
    assert slurm["default-resources"]["mem_mb"] > 0 and slurm["default-resources"]["runtime"] > 0
    for name in ("default", "slurm"):
        overrides = profile(name)
        named = set(overrides.get("set-threads", {})) | set(overrides.get("set-resources", {}))
        # Snakemake ignores a rule name it doesn't know: a typo would silently do nothing.
        assert named <= rules, f"{name} profile names unknown rules {named - rules}"


def test_slurm_profile_is_accepted_by_snakemake_and_the_plugin(tmp_path, tiny_config):
    write_config(tmp_path, tiny_config)
    # A dry run parses every option of the profile (the plugin's own included) and plans jobs.
    dry = run_workflow(tmp_path, "--workflow-profile", str(SLURM_PROFILE), "-n", timeout=120)
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert f"workflow specific profile {SLURM_PROFILE}" in dry.stderr


def test_default_profile_is_used_without_asking(tmp_path, tiny_config):
    write_config(tmp_path, tiny_config)
    # A fresh dry run plans up to the model_status checkpoint (what follows it depends on it).
    assert {"model_status", "report", "all"} <= set(jobs_planned(tmp_path))
    dry = run_workflow(tmp_path, "-n", timeout=120)
    assert f"workflow specific profile {PROFILES / 'default'}" in dry.stderr


@pytest.mark.slow
def test_tiny_workflow_runs_through_sbatch_with_a_gpu_for_training(slurm, tmp_path, tiny_config):
    write_config(tmp_path, {**tiny_config, "model": {**TINY_MODEL, "gpus": 1}})
    # Up to the metrics: every stage of the model (simulate, encode, train with its GPU,
    # baselines, ensemble, evaluate). Each SLURM job costs ~10-30 s here, so the stages after
    # (interpretation, design, report: the same kind of job) are left to the local tests.
    planned = jobs_planned(tmp_path, METRICS)
    run = run_workflow(
        tmp_path,
        METRICS,
        "--workflow-profile",
        str(SLURM_PROFILE),
        # This cluster has no accounting database, so job states come from squeue.
        "--slurm-status-command=squeue",
        "--slurm-init-seconds-before-status-checks=1",
        "--seconds-between-status-checks=2",
        "--slurm-keep-successful-logs",
        # The rules ask for up to 8 cores; one each lets the small node run jobs side by side.
        "--max-threads=1",
        "--latency-wait=5",
        timeout=480,
        env=slurm.client_env(workflow_env(cluster=True)),
    )
    assert run.returncode == 0, f"rc {run.returncode}: {run.stderr[-3000:]}"
    metrics = json.loads((tmp_path / METRICS).read_text())
    assert set(metrics["test"]) >= METRIC_KEYS["regression"] and metrics["test"]["n"] > 0
    assert (tmp_path / "results/model/model.keras").stat().st_size > 0

    # Every job went through sbatch: the controller knows one completed job per planned rule.
    run_id = re.search(r"SLURM run ID: (\S+)", run.stderr).group(1)
    jobs = [job for job in slurm.jobs() if job["name"] == run_id]
    rules = {job["id"]: job["comment"].split("_wildcards_")[0] for job in jobs}
    expected = [f"rule_{rule}" for rule, count in planned.items() for _ in range(count)]
    assert sorted(rules.values()) == sorted(expected)
    assert {job["state"] for job in jobs} == {"COMPLETED"}
    for job in jobs:
        assert f"SLURM jobid {job['id']}" in run.stderr
        logs = tmp_path / ".snakemake" / "slurm_logs" / rules[job["id"]]
        assert list(logs.rglob(f"{job['id']}.log")), f"no SLURM log for {rules[job['id']]}"
    # sbatch got each rule's resources: the training job its GPU (scheduled on the node's one
    # fake GPU: SLURM refuses a GPU job that no node can hold), its memory and time limit.
    records = {rules[job["id"]]: slurm.job(job["id"]) for job in jobs}
    assert records["rule_train"]["TresPerJob"] == "gres:gpu:1"
    assert records["rule_train"]["MinMemoryNode"] == "8000M"
    assert records["rule_train"]["TimeLimit"] == "04:00:00"
    assert "TresPerJob" not in records["rule_encode"]
    assert jobs_planned(tmp_path, METRICS) == {}
