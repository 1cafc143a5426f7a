"""The start-up check: what the schema cannot say about a config, checked before any job.

The schema checks each key alone. Here: keys that must agree with each other (a signal channel
divided by itself, a seed whose ensemble members overflow, a fixed width above the longest
sequence allowed), whole numbers given as decimals, and, for a user's table, whether the table
can train and test the model the config asks for (enough distinct sequences in every split and
fold, labels that vary, usable weights, sequences no longer than `encode.max_length`). Each
problem is one line naming the key or the file and row, and what to change.

It also reads what the config names: the reads sheets and their files, the user's table, the
sequences to score, the simulated run's settings (`check`, `load`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from utrflow import config as config_module
from utrflow.errors import InputError
from utrflow.labelled import check_for_model, read_user_table
from utrflow.model.encode import build_features
from utrflow.model.predict import read_sequences
from utrflow.reads.library_checks import check_task
from utrflow.reads.sheets import load_reads_setup

SEED_LIMIT = 2**32 - 1  # NumPy's and Keras's global seeds take 32 bits


def _decimals_for_integers(
    schema: Mapping[str, Any], value: Any, key: str
) -> Iterator[tuple[str, float]]:
    """(key, value) of every decimal given where the schema wants an integer: JSON Schema
    counts 5.0 as an integer, Python's range() and Keras do not."""
    if schema.get("type") == "integer" and isinstance(value, float):
        yield key, value
    if isinstance(value, Mapping):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                yield from _decimals_for_integers(sub, value[name], f"{key}.{name}".lstrip("."))
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            yield from _decimals_for_integers(schema["items"], item, f"{key}[{i}]")


def _fluorescence_matters(config: Mapping[str, Any]) -> bool:
    """Plate-reader settings turn readings into labels only for plates, real or simulated."""
    simulated_run = config["source"] == "simulate" and config["simulate"]["level"] == "run"
    return config["source"] == "reads" or simulated_run


def check_keys(config: Mapping[str, Any], schema: Mapping[str, Any], source: str) -> None:
    """Cross-key checks on a schema-valid config with its defaults filled in."""
    for key, value in _decimals_for_integers(schema, config, ""):
        raise InputError(f"{source}: key '{key}': {value!r} is not a whole number")
    last_seed = config["seed"] + config["model"]["ensemble"] - 1
    if last_seed > SEED_LIMIT:
        raise InputError(
            f"{source}: key 'seed': {config['seed']} with model.ensemble "
            f"{config['model']['ensemble']} gives member seeds up to {last_seed}, above "
            f"{SEED_LIMIT} (2**32 - 1); use a smaller seed"
        )
    if config["model"]["preset"] == "custom" and not config["model"]["layers"]:
        raise InputError(
            f"{source}: key 'model.layers': the custom preset is built from model.layers, and "
            "it lists none; add layers or choose another preset"
        )
    fluorescence = config["fluorescence"]
    same = fluorescence["signal"].strip().lower() == fluorescence["normalize_by"].strip().lower()
    if same and _fluorescence_matters(config):
        raise InputError(
            f"{source}: key 'fluorescence.normalize_by': {fluorescence['normalize_by']!r} is "
            "the signal channel itself, so every label would be 0; name the OD channel "
            "(e.g. od600) or leave it empty for none"
        )
    encode = config["encode"]
    if encode["length"] > encode["max_length"]:
        raise InputError(
            f"{source}: key 'encode.length' ({encode['length']}) is larger than "
            f"'encode.max_length' ({encode['max_length']})"
        )
    simulate = config["simulate"]
    long_simulated = simulate["max_length"] > encode["max_length"] and not encode["length"]
    if config["source"] == "simulate" and long_simulated and not encode["truncate"]:
        raise InputError(
            f"{source}: key 'simulate.max_length' ({simulate['max_length']}) is larger than "
            f"'encode.max_length' ({encode['max_length']}); raise encode.max_length"
        )
    design = config["design"]
    if (
        design["min_length"]
        and design["max_length"]
        and design["min_length"] > design["max_length"]
    ):
        raise InputError(
            f"{source}: key 'design.min_length' ({design['min_length']}) is larger than "
            f"'design.max_length' ({design['max_length']})"
        )
    if design["gc_min"] > design["gc_max"]:
        raise InputError(
            f"{source}: key 'design.gc_min' ({design['gc_min']}) is larger than "
            f"'design.gc_max' ({design['gc_max']})"
        )


def check_table(
    table: pd.DataFrame, config: Mapping[str, Any], path: str | Path, source: str
) -> None:
    """A user's table (read whole) against what the config asks of it: it is split and its
    features built exactly as the encode job will, so every problem that job would meet stops
    the run now, naming the file (and `source`, the config, for a key)."""
    plates = table["plate"].fillna("").astype(str)
    if config["split"]["method"] == "by_plate" and plates.nunique() < 3:
        raise InputError(
            f"{source}: key 'split.method': by_plate needs a 'plate' column in {path} naming "
            f"at least 3 plates (it names {plates[plates != ''].nunique()}); use random or "
            "by_cluster"
        )
    build_features(table, dict(config), source=str(path))


def check_predict_input(path: Path) -> None:
    """The sequences to score (`predict.input`) are read whole now, not after training."""
    read_sequences(path)


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
        check_for_model(table, config["model"], path, source)
        check_table(table, config, path, source)
    if config["predict"]["input"]:
        check_predict_input(_named_file(config, "predict.input", base_dir, source))
    if config["source"] == "simulate":
        # The simulator is imported for simulated runs alone: real runs never load it.
        from utrflow.simulate.run_settings import from_config

        from_config(config["simulate"]["run"], source)
    return setup


def load(path: str | Path, base_dir: str | Path | None = None) -> dict[str, Any]:
    """Read, validate and check a config file; relative paths resolve against `base_dir`."""
    config = config_module.read(path)
    check(config, Path(base_dir) if base_dir else Path.cwd(), source=str(path))
    return config
