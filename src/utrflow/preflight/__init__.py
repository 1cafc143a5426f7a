"""The start-up check: everything about a config and the files it names that can be known before
any job runs, so bad input stops the run with one line naming the key or the file and row.

The schema checks each key alone (`utrflow.config`); here: keys that must agree with each other
(`keys`), the user's table and the sequences to score (`table`), and the reads sheets, reads
files and reader files of `source: reads` (`reads_setup`). A simulated run's own settings are the
simulator's to check (`utrflow.simulate.run_settings`): the runtime never imports the simulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from utrflow import config as config_module
from utrflow.errors import InputError
from utrflow.labelled import check_for_model, read_user_table
from utrflow.model.settings import model_settings
from utrflow.preflight.commands import check_commands
from utrflow.preflight.keys import SEED_LIMIT, check_keys
from utrflow.preflight.reads_setup import load_reads_setup
from utrflow.preflight.table import check_predict_input, check_table
from utrflow.reads.library_checks import check_task

__all__ = [
    "SEED_LIMIT",
    "check",
    "check_commands",
    "check_keys",
    "check_predict_input",
    "check_table",
    "load",
]


def _named_file(config: Mapping[str, Any], key: str, base_dir: Path, source: str) -> Path:
    """The file a dotted config key names (relative to base_dir); one line when absent."""
    section, _, name = key.rpartition(".")
    value = config[section][name] if section else config[name]
    if not value:
        raise InputError(
            f"{source}: key '{key}' must name a file when source is {config['source']!r}"
        )
    if not (base_dir / value).is_file():
        raise InputError(f"{source}: key '{key}': file not found: {value}")
    return base_dir / value


def check(
    config: Mapping[str, Any], base_dir: Path, source: str = "config"
) -> dict[str, Any] | None:
    """Stop early when a file the chosen source needs is missing or bad (paths relative to
    base_dir): the reads sheets, or the whole user table, are read here, before any job.

    Returns the reads set-up (read groups, wells, readers, warnings) with `source: reads`.
    """
    check_keys(config, config_module.schema(), source)
    check_task(config, source)
    setup = None
    if config["source"] == "reads":
        setup = load_reads_setup(config, base_dir, source)
    if config["source"] == "table":
        path = _named_file(config, "table", base_dir, source)
        table = read_user_table(path)
        check_for_model(table, model_settings(config["model"]), path, source)
        check_table(table, config, path, source)
    if config["predict"]["input"]:
        check_predict_input(_named_file(config, "predict.input", base_dir, source))
    return setup


def load(path: str | Path, base_dir: str | Path | None = None) -> dict[str, Any]:
    """Read, validate and check a config file; relative paths resolve against `base_dir`."""
    config = config_module.read(path)
    check(config, Path(base_dir) if base_dir else Path.cwd(), source=str(path))
    return config
