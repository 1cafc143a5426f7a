"""Cross-key checks: what the schema cannot say about a config, because it checks each key alone.

Keys that must agree with each other (a signal channel divided by itself, a seed whose ensemble
members overflow, a fixed width above the longest sequence allowed) and whole numbers given as
decimals. Each problem is one line naming the key and what to change.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from utrflow.errors import InputError
from utrflow.resources import resources

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
    members = resources(config).ensemble
    last_seed = config["seed"] + members - 1
    if last_seed > SEED_LIMIT:
        raise InputError(
            f"{source}: key 'seed': {config['seed']} with resources.ensemble "
            f"{members} gives member seeds up to {last_seed}, above "
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
