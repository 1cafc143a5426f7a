"""One settings contract: the schema holds every default, each command declares the config keys
it reads, each rule passes exactly those, and the command reads every one of them.

A key a job reads but is not passed makes a config change silently not rerun it (and the job
runs on a default); a key passed but not read reruns it for nothing. The audit reads the
session's shared whole-workflow runs (conftest), small configs that together reach every command
and branch, made with every command noting the keys it read (UTRFLOW_SETTINGS_AUDIT), and holds
each rule's params to those notes.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from conftest import AUDIT_LOG, REPO, TINY_MODEL, workflow_env, write_config

from utrflow import cli, config
from utrflow import settings as settings_module
from utrflow.design.next_library import DesignSettings
from utrflow.model.network import Scaler, build_network, export, layer_specs
from utrflow.model.settings import ModelSettings, SearchSettings, model_settings
from utrflow.plates.reader import FluorescenceSettings
from utrflow.reads.consensus import ConsensusSettings
from utrflow.reads.demux import DemuxSettings
from utrflow.resources import Resources
from utrflow.simulate.run_settings import RunSimulation

RULES = REPO / "workflow" / "rules"
SETTINGS_TYPES = [
    (DemuxSettings, ("demux",)),
    (ConsensusSettings, ("consensus",)),
    (FluorescenceSettings, ("fluorescence",)),
    (DesignSettings, ("design",)),
    (RunSimulation, ("simulate", "run")),
    (ModelSettings, ("model",)),
    (SearchSettings, ("model", "search")),
    (Resources, ("resources",)),
]


@pytest.mark.parametrize(("cls", "section"), SETTINGS_TYPES, ids=lambda v: str(v))
def test_every_settings_type_is_its_schema_section(cls, section):
    """Fields and defaults come from the schema: nothing is written twice."""
    defaults = config.section_defaults(*section)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    expected = set(defaults)
    assert set(fields) - {"seed"} == expected
    for name in expected:
        field = fields[name]
        missing = field.default is dataclasses.MISSING
        default = field.default_factory() if missing else field.default
        if dataclasses.is_dataclass(default):  # a nested section (model.search): its own defaults
            assert dataclasses.asdict(default) == config.section_defaults(*section, name), name
            continue
        assert (list(default) if isinstance(default, tuple) else default) == defaults[name], name


def rule_blocks() -> dict[str, str]:
    """Rule name -> its text, from every rules file."""
    blocks = {}
    for smk in RULES.glob("*.smk"):
        for block in re.split(r"\n\s*rule ", smk.read_text())[1:]:
            blocks[block.split(":", 1)[0].strip()] = block
    return blocks


def test_each_rule_passes_the_settings_of_the_command_it_runs():
    """A rule that calls `utrflow X` passes settings_for("X") when X reads settings, and no
    settings otherwise: the rule's params and the command's declaration cannot drift apart."""
    blocks = rule_blocks()
    assert {"demux", "consensus", "train", "crossval", "report", "ensemble"} <= blocks.keys()
    for rule, block in blocks.items():
        called = set(re.findall(r'"utrflow ([a-z-]+)', block))
        if not called:
            continue
        (command,) = called
        passed = re.findall(r'settings_for\("([a-z-]+)"\)', block)
        if "settings=candidate_settings" in block:  # a search candidate: train's keys, its values
            passed.append("train")
        expected = [command] if cli.COMMANDS[command].settings else []
        assert passed == expected, f"rule {rule} runs `utrflow {command}`, passes {passed}"
        assert ("--params" in block) is bool(expected), rule


def test_commands_without_settings_take_no_config():
    """ensemble, predict and import-table read no settings: they run outside a workflow
    folder and under --configfile, where config/config.yaml does not exist."""
    parser = cli.build_parser()
    for name in ("ensemble", "predict", "import-table"):
        assert not cli.COMMANDS[name].settings
        with pytest.raises(SystemExit):  # argparse refuses the option
            parser.parse_args([name, "--config", "c.yaml"])


def tiny_model(path: Path) -> None:
    specs = layer_specs(config.validate({"model": TINY_MODEL})["model"])
    network = build_network(12, specs, "regression")
    export(network, Scaler(0.0, 1.0), "regression").save(path)


def test_predict_runs_anywhere_without_a_config(tmp_path):
    """The README's `utrflow predict` example, in a folder with no config/config.yaml."""
    tiny_model(tmp_path / "m.keras")
    (tmp_path / "new.csv").write_text("sequence\nACGTACGTACGT\nGGGGCCCCAAAA\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "utrflow",
            "predict",
            "--input",
            "new.csv",
            "--members",
            "m.keras",
            "--output",
            "out.tsv",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert len((tmp_path / "out.tsv").read_text().splitlines()) == 3


def test_params_holding_a_key_the_command_does_not_read_are_refused(capsys):
    """Passed but not read would rerun the job for nothing: the command names the key."""
    params = {"seed": 1, "simulate": {"run": {}}}
    outputs = ["--labelled", "l.tsv", "--truth", "t.tsv", "--summary", "s.json"]
    assert cli.main(["simulate-table", "--params", json.dumps(params), *outputs]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error == ["utrflow: error: --params: key 'simulate.run' is not read by `simulate-table`"]


def test_crossval_gets_the_users_validation_share(monkeypatch, tmp_path):
    """The old crossval rule passed no `split`: a user's split.validation was ignored there."""
    user = config.validate({"split": {"validation": 0.3, "folds": 3}})
    params = config.select(user, cli.COMMANDS["crossval"].settings)
    seen = {}
    monkeypatch.setattr(
        "utrflow.model.training.cross_validate",
        lambda encoded, model_cfg, seed, validation, threads, output: seen.update(v=validation),
    )
    monkeypatch.setattr("utrflow.model.encode.load_encoded", lambda *paths: None)
    args = ["--onehot", "a", "--split", "b", "--features", "c", "--output", "d"]
    assert cli.main(["crossval", "--params", json.dumps(params), *args]) == 0
    assert seen["v"] == 0.3


def test_custom_preset_without_layers_stops_before_any_job(tmp_path):
    write_config(tmp_path, {"model": {"preset": "custom"}})
    run = subprocess.run(
        [sys.executable, "-m", "utrflow", "check-config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "layers" in lines[0] and "Traceback" not in run.stderr


# Keys that shape one preset's network only: a job training another preset is passed them and
# does not read them, so changing one reruns the other presets' training too (a known limit of
# whole-section settings; a preset-aware declaration would lift it).
PRESET_SHAPE = {
    "model.conv_filters",
    "model.kernel_size",
    "model.pool_size",
    "model.dropout",
    "model.dense_units",
    "model.dilations",
    "model.layers",
}

# -- the audit --------------------------------------------------------------------------------

# The session's shared runs (conftest), each run once with every command noting its settings
# (conftest.AUDIT_LOG); together they reach every command and branch:
AUDITED_RUNS = {
    # reads and plates: simulated plates through demux, consensus and link; preset auto (a
    # search of two candidates), two members, interpretation, a design
    "tiny_whole_run": {"source": "simulate", "simulate.level": "run", "resources.ensemble": 2},
    # a pilot plate too small to train on: the model stage's not-run records
    "pilot_run": {"simulate.level": "run"},
    # a user's table: two members, k-fold, new sequences scored, a design
    "table_run": {"source": "table", "split.folds": 2, "predict.input": "new.fa"},
    # a simulated table (the UTR simulator), a forced design, new sequences scored
    "tiny_table_run": {"simulate.kind": "utr", "design.force": True, "predict.input": "new.fa"},
    # a custom stack with a covariate (and the model without it), a split by cluster, k-fold
    "covariates_run": {"model.preset": "custom", "model.covariates": ["access"], "split.folds": 2},
    # classification with a covariate (the TF-binding simulator): the threshold, ROC-AUC
    "tf_demo_run": {"simulate.kind": "tf_binding", "model.task": "classification"},
}


def configured(workdir: Path, dotted: str) -> object:
    """A key of the run's config/config.yaml as validated (defaults filled in)."""
    written = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    value: object = config.validate(written)
    for part in dotted.split("."):
        value = value[part]  # type: ignore[index]
    return value


@pytest.fixture(scope="module")
def audit(request: pytest.FixtureRequest) -> dict[str, dict[str, set[str]]]:
    """command -> {"given": keys passed, "read": keys read}, over all audited runs."""
    notes: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"given": set(), "read": set()})
    for name in AUDITED_RUNS:
        workdir = request.getfixturevalue(name)
        for line in (workdir / AUDIT_LOG).read_text().splitlines():
            note = json.loads(line)
            notes[note["command"]]["given"] |= set(note["given"])
            notes[note["command"]]["read"] |= set(note["read"])
    return dict(notes)


@pytest.mark.slow
def test_the_audited_runs_reach_every_branch_they_are_audited_for(request):
    """The audit is only as wide as the shared runs' configs: each still holds the branch it
    is audited for (a shared run made smaller would silently narrow the audit)."""
    for name, branch in AUDITED_RUNS.items():
        workdir = request.getfixturevalue(name)
        for key, value in branch.items():
            assert configured(workdir, key) == value, (name, key)


# Commands for use by hand that no rule runs (the link job normalizes every plate itself).
BY_HAND = {"check-config", "fluorescence"}


def test_the_commands_for_use_by_hand_are_run_by_no_rule():
    rules = "\n".join(p.read_text() for p in RULES.glob("*.smk"))
    run = {m.group(1) for m in re.finditer(r'"utrflow ([a-z-]+)', rules)}
    assert run and not run & BY_HAND
    assert run | BY_HAND >= {n for n, c in cli.COMMANDS.items() if c.settings}


@pytest.mark.slow
def test_every_command_with_settings_ran_in_the_audit(audit):
    with_settings = {n for n, c in cli.COMMANDS.items() if c.settings and n not in BY_HAND}
    assert with_settings <= audit.keys()


@pytest.mark.slow
def test_each_job_reads_every_key_its_rule_passes(audit):
    """Passed but not read: every declared key, and every key of a section passed whole, is
    read by some run (a key read in one branch, e.g. `layers` by the custom preset, counts)."""
    unread_by_command = {}
    for command, note in audit.items():
        if cli.COMMANDS[command].settings == cli.ALL:
            continue
        unread = {
            key
            for key in note["given"]
            if key.count(".") <= 1 and key not in note["read"] and key not in PRESET_SHAPE
        }
        if unread:
            unread_by_command[command] = sorted(unread)
    assert not unread_by_command, f"passed but never read: {unread_by_command}"


@pytest.mark.slow
def test_no_job_reads_a_key_its_rule_leaves_out(audit):
    """Read but not passed: a job never asks for a key its rule does not pass (it would run on
    the default, and a change to that key would not rerun it)."""
    for command, note in audit.items():
        assert note["read"] <= note["given"], command


@pytest.mark.slow
def test_resources_never_enter_params(audit):
    """Threads, GPUs, the ensemble size and the search budget change which jobs run and what
    they take, never what one job computes."""
    for command, note in audit.items():
        if cli.COMMANDS[command].settings != cli.ALL:
            assert not any(key.startswith("resources") for key in note["given"]), command


def test_declarations_are_plain_sections_and_keys_of_the_schema():
    """No exclusion language: each declared name is a schema section or one key of one, and no
    command but the whole-config ones reads `resources`."""
    sections = config.schema()["properties"]
    for name, declared in settings_module.DECLARED.items():
        if declared == settings_module.ALL:
            continue
        for key in declared:
            section, _, sub = key.partition(".")
            assert section in sections and section != "resources", (name, key)
            assert not sub or sub in sections[section]["properties"], (name, key)


def test_every_model_key_is_read_by_some_command():
    """A model key no declaration names would reach no job: its value would never matter."""
    named = {k for d in settings_module.DECLARED.values() if d != settings_module.ALL for k in d}
    model_keys = config.section_defaults("model")
    assert {f"model.{k}" for k in model_keys} <= named


def test_the_audit_notes_each_model_field_a_stage_reads(tmp_path):
    """Building ModelSettings reads no key; each field read is noted (`model.search.folds`
    under its section too), so a model key passed and never read shows in the audit again.
    A ModelSettings built from anything but the audited config (a candidate's settings from
    selection.json) notes nothing."""
    from utrflow.cli.audit import Audit

    given = config.select(config.validate({}), settings_module.declared("select"))
    audit = Audit(tmp_path / "audit.jsonl", "select", given)
    watched = audit.watched()
    settings = model_settings(watched["model"])
    assert settings.batch_size == 64 and settings.search.folds == 5
    assert model_settings({"epochs": 3}).epochs == 3
    audit.stop()
    audit.write()
    assert model_settings(given["model"]).epochs == 80  # no longer watched
    note = json.loads((tmp_path / "audit.jsonl").read_text())
    model_read = {k for k in note["read"] if k.startswith("model.")}
    assert model_read == {"model.batch_size", "model.search", "model.search.folds"}
    assert "model.epochs" in note["given"] and "model.epochs" not in note["read"]
    assert config.settings_built is None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"demux": {"threads": 2}}, ("demux_threads", 2)),
        ({"consensus": {"threads": 3}}, ("consensus_threads", 3)),
        ({"model": {"gpus": 1}}, ("gpus", 1)),
        ({"model": {"ensemble": 5}}, ("ensemble", 5)),
        ({"model": {"search": {"candidates": 2}}}, ("candidates", 2)),
        ({"model": {"search": {"gpu_candidates": 4, "folds": 3}}}, ("gpu_candidates", 4)),
    ],
)
def test_the_old_names_of_the_resources_are_read_as_the_new(old, new, caplog):
    """Configs written before the resources section keep working: read as the new key, one
    warning naming both, and nothing left under the old name."""
    validated = config.validate(old, source="c.yaml")
    name, value = new
    assert validated["resources"][name] == value
    assert name not in validated["model"] and "threads" not in validated["demux"]
    assert "candidates" not in validated["model"]["search"]
    assert validated["model"]["search"]["folds"] == (3 if name == "gpu_candidates" else 5)
    moved = [r.getMessage() for r in caplog.records if "is now" in r.getMessage()]
    assert len(moved) == 1 and f"'resources.{name}'" in moved[0] and "c.yaml" in moved[0]


def test_an_old_and_a_new_name_that_disagree_stop_the_run():
    with pytest.raises(config.InputError, match=r"'model.gpus' \(1\) and 'resources.gpus' \(0\)"):
        config.validate({"model": {"gpus": 1}, "resources": {"gpus": 0}})
    same = config.validate({"model": {"gpus": 1}, "resources": {"gpus": 1}})
    assert same["resources"]["gpus"] == 1
    with pytest.raises(config.InputError, match=r"key 'model\.ensemble': 1000 is greater"):
        config.validate({"model": {"ensemble": 1000}})  # the error names the key as written


def test_settings_for_is_select_of_the_declaration():
    """The rules' helper and the command use one function on one declaration, and what it
    gives a command is what that command accepts."""
    text = (RULES / "common.smk").read_text()
    assert "utrflow_settings.declared(command)" in text
    assert 'utrflow_settings.declared("train")' in text  # candidate_settings
    assert "utrflow_config.select(SETTINGS, keys)" in text  # the config with DERIVED over it
    full = config.validate({})
    for command in cli.COMMANDS.values():
        assert config.unread_keys(config.select(full, command.settings), command.settings) == []


def test_every_command_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`utrflow --help` and each `utrflow COMMAND --help` print (a '%' in a help text once made
    argparse raise instead)."""
    for argv in (["--help"], *([name, "--help"] for name in cli.COMMANDS)):
        with pytest.raises(SystemExit) as stop:
            cli.build_parser().parse_args(argv)
        assert stop.value.code == 0, argv
        assert "usage: utrflow" in capsys.readouterr().out
    assert "25/50/75/100 % of the training rows" in cli.build_parser().format_help()


def test_the_declarations_name_registered_commands_and_the_workflow_reads_them_there():
    """The declarations live beside the Settings types (utrflow.settings), not in the command
    line: the workflow never imports utrflow.cli, and no declaration names a command that is
    gone."""
    assert set(settings_module.DECLARED) <= set(cli.COMMANDS)
    for name, command in cli.COMMANDS.items():
        assert command.settings == settings_module.declared(name)
    rules = "\n".join(p.read_text() for p in [*RULES.glob("*.smk"), REPO / "workflow/Snakefile"])
    assert "utrflow.cli" not in rules and "import cli" not in rules


def test_the_settings_audit_is_loaded_only_when_asked_for(tmp_path):
    """The audit's key-noting mapping is the contract test's, not a production path."""
    probe = (
        "import sys; from utrflow import cli; "
        "status = cli.main(['check-config', '--config', sys.argv[1]]); "
        "print('utrflow.cli.audit' in sys.modules, status)"
    )
    (tmp_path / "c.yaml").write_text("seed: 3\n")
    for audit, loaded in ((None, "False"), (str(tmp_path / "audit.jsonl"), "True")):
        env = {**workflow_env(), **({"UTRFLOW_SETTINGS_AUDIT": audit} if audit else {})}
        run = subprocess.run(
            [sys.executable, "-c", probe, str(tmp_path / "c.yaml")],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        assert run.stdout.split()[-2:] == [loaded, "0"], run.stderr[-2000:]
    note = json.loads((tmp_path / "audit.jsonl").read_text())
    assert note["command"] == "check-config" and "seed" in note["read"]
