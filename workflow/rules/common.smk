# Shared set-up: validate the config before any job runs, and helpers for the rules.
import json
import sys
from pathlib import Path

from utrflow import config as utrflow_config
from utrflow.model import search as utrflow_search
from utrflow.errors import InputError
from utrflow.yamlio import load_yaml

CONFIG_SOURCE = ", ".join(str(p) for p in workflow.configfiles) or "config"

try:
    for _file in workflow.configfiles:  # Snakemake's own reading keeps the last of a key twice
        load_yaml(_file)
    _validated = utrflow_config.validate(config, source=CONFIG_SOURCE)
    if _validated["source"] != "reads":  # the reads sheets are checked once, below
        utrflow_config.check_files(_validated, Path.cwd(), source=CONFIG_SOURCE)
except InputError as _error:
    sys.stderr.write(f"utrflow: error: {_error}\n")
    sys.exit(1)
config.clear()
config.update(_validated)

SIMULATED = config["source"] == "simulate"
# simulate.level run: the simulated plates go through the same jobs as real ones.
SIMULATED_RUN = SIMULATED and config["simulate"]["level"] == "run"
SIMULATED_RUN_DIR = "results/simulated/run"
READS = config["source"] == "reads" or SIMULATED_RUN
READ_GROUPS = {}
PLATE_GROUP = {}
READERS = {}
# plate -> its block in a several-plate reader file ('': the one named like it, or the only one)
READER_PLATES = {}
_WELLS = None
RUN_LAYOUT = None
if SIMULATED:  # only a simulated run needs the simulator: real runs never import it
    from utrflow.simulate import run as utrflow_simulate_run
    from utrflow.simulate import run_settings as utrflow_run_settings

    _RUN = utrflow_run_settings.from_config(
        {"seed": config["seed"], **config["simulate"]["run"]}
    )
    # Where `simulate_run` writes its reads and reader files: known before it runs.
    RUN_LAYOUT = utrflow_simulate_run.run_layout(_RUN, SIMULATED_RUN_DIR)
    if config["fluorescence"]["saturated_at"] is None:
        # the simulated reader writes its maximum, not an overflow word: say which it is
        config["fluorescence"]["saturated_at"] = _RUN.reader_max
if SIMULATED_RUN:
    from utrflow.reads.sheets import ReadGroup

    READ_GROUPS = {
        name: ReadGroup(name, plates, (reads,))
        for name, (plates, reads) in RUN_LAYOUT.groups.items()
    }
    PLATE_GROUP = {plate: name for name, group in READ_GROUPS.items() for plate in group.plates}
    READERS = RUN_LAYOUT.readers
    for _key in ("plates", "wells", "library"):
        config[_key] = f"{SIMULATED_RUN_DIR}/{_key}.{'csv' if _key == 'library' else 'tsv'}"
    config["construct"] = RUN_LAYOUT.construct
elif READS:
    from utrflow.reads import sheets as utrflow_sheets

    try:
        _setup = utrflow_sheets.load_reads_setup(config, Path.cwd(), CONFIG_SOURCE)
    except InputError as _error:
        sys.stderr.write(f"utrflow: error: {_error}\n")
        sys.exit(1)
    for _warning in _setup["warnings"]:  # valid but empty inputs: said once, up front
        sys.stderr.write(f"utrflow: warning: {_warning}\n")
    READ_GROUPS = {group.name: group for group in _setup["groups"]}
    PLATE_GROUP = {plate: group.name for group in _setup["groups"] for plate in group.plates}
    _WELLS = _setup["wells"]
    READERS = _setup["readers"]
    READER_PLATES = _setup["reader_plates"]


wildcard_constraints:
    group=r"[^/]+",
    plate=r"[^/+]+",


def layout_digest(plates):
    """Hash of some plates' wells rows: their jobs rerun when (only) those rows change (a
    simulated run's rows change only with its settings, which its jobs depend on already)."""
    if _WELLS is None:
        return ""
    return utrflow_sheets.layout_digest(_WELLS, tuple(plates))

ENV = "../envs/utrflow.yaml"
LOGS = "results/logs"
BENCH = "results/benchmarks"
# Table-level simulation: the true label of every row is known, so is the noise ceiling.
SIMULATED_TABLE = SIMULATED and not SIMULATED_RUN
TRUTH_WELLS = "results/simulated/truth_wells.tsv"
RUN_TRUTH_WELLS = f"{SIMULATED_RUN_DIR}/truth_wells.tsv"
SIMULATION_SUMMARY = "results/simulated/simulation.json"
TABLE_SUMMARY = "results/table/summary.json"
PLATE_QC = "results/table/plate_qc.tsv"


def settings(*sections, **parts):
    """The settings of one step, as the JSON `utrflow --params` takes - whole `sections`, and
    of the sections named in `parts` only the listed keys.

    Passing exactly these as params (not the config file) makes Snakemake rerun a rule when,
    and only when, one of its own settings changes.
    """
    chosen = {name: config[name] for name in sections}
    chosen.update({name: {k: config[name][k] for k in keys} for name, keys in parts.items()})
    return json.dumps(chosen, sort_keys=True)


def optional_input(flag, path, present=SIMULATED_TABLE):
    """A command-line flag for an input that exists only for some sources (simulated data)."""
    return f"{flag} {path}" if present else ""


def candidate_settings(wildcards):
    """preset auto: one search candidate's full settings (its job reruns when, and only when,
    they change)."""
    chosen = utrflow_search.candidate_settings(config["model"], wildcards.candidate)
    return json.dumps({"seed": config["seed"], "model": chosen}, sort_keys=True)
