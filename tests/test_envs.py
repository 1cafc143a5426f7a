"""The three dependency lists agree: pyproject.toml (pip), environment.yml (conda, whole project)
and workflow/envs/*.yaml (conda, per rule with `--sdm conda`), and every rule names an env."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from packaging.requirements import Requirement

ENVS = REPO / "workflow" / "envs"
RULES = REPO / "workflow" / "rules"
# conda-forge names of PyPI packages, where they differ.
CONDA_NAMES = {"python-edlib": "edlib", "matplotlib-base": "matplotlib"}
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def pip_requirements(entries: list[str]) -> dict[str, str]:
    """PyPI name -> version range, normalized (`>=1.3.9,<2`)."""
    ranges = {}
    for entry in entries:
        requirement = Requirement(entry)
        ranges[requirement.name.lower()] = ",".join(sorted(map(str, requirement.specifier)))
    return ranges


def conda_requirements(path: Path) -> dict[str, str]:
    """The conda packages of an environment file, under their PyPI names, with their ranges."""
    ranges = {}
    for entry in yaml.safe_load(path.read_text())["dependencies"]:
        if not isinstance(entry, str) or entry == "pip":
            continue  # the pip: section installs utrflow itself
        name, _, spec = entry.partition(" ")
        name = CONDA_NAMES.get(name, name)
        ranges.update(pip_requirements([f"{name}{spec.replace(' ', '')}"]))
    return ranges


RUNTIME = pip_requirements(PYPROJECT["dependencies"])
EXTRAS = {
    name: pip_requirements(entries) for name, entries in PYPROJECT["optional-dependencies"].items()
}
# The workflow runner (snakemake): not a runtime dependency, as the package never imports it.
WORKFLOW = EXTRAS["workflow"]
RULE_ENVS = sorted(ENVS.glob("*.yaml"))


def assert_python_within_requires_python(conda: dict[str, str], where: str) -> None:
    """The conda python range is requires-python, perhaps with an upper bound added."""
    python = set(conda.pop("python").split(","))
    required = set(pip_requirements([f"python{PYPROJECT['requires-python']}"])["python"].split(","))
    assert required <= python, f"{where}: python {python} drops requires-python {required}"


def assert_same_ranges(conda: dict[str, str], pip: dict[str, str], where: str) -> None:
    differ = {
        name: (conda[name], pip[name])
        for name in conda.keys() & pip.keys()
        if conda[name] != pip[name]
    }
    assert not differ, f"{where}: ranges differ from pyproject.toml (conda, pip): {differ}"


def test_environment_yml_has_every_dependency_with_the_same_range():
    conda = conda_requirements(REPO / "environment.yml")
    assert_python_within_requires_python(conda, "environment.yml")
    missing = (RUNTIME.keys() | WORKFLOW.keys()) - conda.keys()  # the conda route runs the rules
    assert not missing, f"environment.yml lacks {sorted(missing)}"
    dev = {name: spec for extra in EXTRAS.values() for name, spec in extra.items()}
    unknown = conda.keys() - RUNTIME.keys() - dev.keys()
    assert not unknown, f"environment.yml has {sorted(unknown)}, which pyproject.toml does not"
    assert_same_ranges(conda, {**dev, **RUNTIME}, "environment.yml")


@pytest.mark.parametrize("env", RULE_ENVS, ids=[p.name for p in RULE_ENVS])
def test_rule_env_matches_pyproject(env):
    conda = conda_requirements(env)
    assert_python_within_requires_python(conda, env.name)
    unknown = conda.keys() - RUNTIME.keys()
    assert not unknown, f"{env.name} has {sorted(unknown)}, not a utrflow dependency"
    assert_same_ranges(conda, RUNTIME, env.name)
    pip = yaml.safe_load(env.read_text())["dependencies"][-1]["pip"]
    assert pip == ["-e ../.."] and (env.parent / "../..").resolve() == REPO


def test_rule_envs_together_hold_every_runtime_dependency():
    covered = set().union(*(conda_requirements(env).keys() for env in RULE_ENVS))
    missing = RUNTIME.keys() - covered
    assert not missing, f"no rule env has {sorted(missing)}"


def test_the_workflow_runner_is_an_extra_the_tests_install_too():
    assert "snakemake" in WORKFLOW and "snakemake" not in RUNTIME
    differ = {name: spec for name, spec in WORKFLOW.items() if EXTRAS["dev"].get(name) != spec}
    assert not differ, f"the dev extra lacks the workflow extra's {differ}"


def test_every_rule_runs_in_a_conda_env_that_exists():
    common = (RULES / "common.smk").read_text()
    variables = dict(re.findall(r'^(\w+) = "([^"]+\.yaml)"$', common, re.M))
    for smk in sorted(RULES.glob("*.smk")):
        # A rule's block runs from `rule name:` to the next rule (or the end of the file).
        blocks = re.split(r"^\s*rule (\w+):", smk.read_text(), flags=re.M)[1:]
        for name, body in zip(blocks[::2], blocks[1::2], strict=True):
            found = re.search(r"^\s*conda:\s*\n\s*(\S+)", body, re.M)
            assert found, f"{smk.name}: rule {name} has no conda: directive"
            path = variables.get(found.group(1), found.group(1).strip("\"'"))
            assert (RULES / path).resolve().is_file(), f"rule {name}: no env file {path}"
