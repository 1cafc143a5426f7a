# Shared set-up: validate the config before any job runs, and helpers for the rules.
import json
import sys
from pathlib import Path

from utrflow import config as utrflow_config
from utrflow.errors import InputError

CONFIG_SOURCE = ", ".join(str(p) for p in workflow.configfiles) or "config"

try:
    _validated = utrflow_config.validate(config, source=CONFIG_SOURCE)
    utrflow_config.check_files(_validated, Path.cwd(), source=CONFIG_SOURCE)
except InputError as _error:
    sys.stderr.write(f"utrflow: error: {_error}\n")
    sys.exit(1)
config.clear()
config.update(_validated)

ENV = "../envs/utrflow.yaml"
LOGS = "results/logs"
BENCH = "results/benchmarks"
SIMULATED = config["source"] == "simulate"
TRUTH_WELLS = "results/simulated/truth_wells.tsv"
SIMULATION_SUMMARY = "results/simulated/simulation.json"


def settings(*sections):
    """The config sections a rule uses, as the JSON its `utrflow --params` takes.

    Passing them as params (not the config file) makes Snakemake rerun a rule exactly when
    one of its own settings changes.
    """
    return json.dumps({name: config[name] for name in sections}, sort_keys=True)


def optional_input(flag, path):
    """A command-line flag for an input that exists only for simulated data."""
    return f"{flag} {path}" if SIMULATED else ""
