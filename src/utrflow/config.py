"""Load and validate config/config.yaml against the JSON schema, filling defaults.

The schema is the single description of every key; validation happens before any job runs so a
typo costs a second, not an hour of compute. Every error is one line naming the key or file.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import jsonschema

from utrflow import preflight
from utrflow.errors import InputError
from utrflow.yamlio import load_yaml, parse_yaml

SCHEMA_NAME = "config.schema.yaml"
Settings = TypeVar("Settings")


@functools.cache
def _shipped_schema() -> dict[str, Any]:
    """Parsed once per process: parsing the YAML is most of what validating a config costs."""
    text = resources.files("utrflow").joinpath("schemas", SCHEMA_NAME).read_text()
    return parse_yaml(text, SCHEMA_NAME)


def schema() -> dict[str, Any]:
    """The configuration JSON schema shipped with the package (a copy the caller may change)."""
    return copy.deepcopy(_shipped_schema())


def _with_defaults(validator_class: type) -> type:
    """A validator that also fills schema defaults in, the recipe from the jsonschema docs."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema_):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema_)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _with_defaults(jsonschema.Draft202012Validator)


def _describe(error: jsonschema.ValidationError) -> str:
    """One line for one schema violation, naming the dotted key."""
    key = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(str(k) for k in set(error.instance) - set(allowed))  # YAML keys: any type
        where = f" in '{key}'" if key else ""
        return f"unknown key '{extra[0]}'{where} (allowed: {', '.join(allowed)})"
    if error.validator == "enum":
        options = ", ".join(str(o) for o in error.validator_value)
        return f"key '{key}': {error.instance!r} is not one of {options}"
    if error.validator == "type":
        return f"key '{key}': {error.instance!r} is not of type {error.validator_value}"
    return f"key '{key}': {error.message}"


def validate(config: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """Return a validated copy of `config` with every default filled in.

    Raises InputError with one line naming `source` and the offending key.
    """
    instance = copy.deepcopy(dict(config))
    validator = _Validator(_shipped_schema())
    errors = sorted(
        validator.iter_errors(instance), key=lambda e: (list(e.absolute_path), e.message)
    )
    if errors:
        raise InputError(f"{source}: {_describe(errors[0])}")
    from utrflow.simulate.run_settings import from_config

    from_config(instance["simulate"]["run"], source)  # the run simulation checks its own keys
    preflight.check_keys(instance, _shipped_schema(), source)
    simulate = instance["simulate"]
    if simulate["min_length"] > simulate["max_length"]:
        raise InputError(
            f"{source}: key 'simulate.min_length' ({simulate['min_length']}) is larger than "
            f"'simulate.max_length' ({simulate['max_length']})"
        )
    return instance


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


def check_files(config: Mapping[str, Any], base_dir: Path, source: str = "config") -> None:
    """Stop early when a file the chosen source needs is missing or bad (paths relative to
    base_dir): the reads sheets, or the whole user table, are read here, before any job."""
    if config["source"] == "reads":
        from utrflow.reads.sheets import load_reads_setup

        load_reads_setup(config, base_dir, source)
    if config["source"] == "table":
        from utrflow.labelled import check_for_model, read_user_table

        path = _named_file(config, "table", base_dir, source)
        table = read_user_table(path)
        check_for_model(table, config["model"], path, source)
        preflight.check_table(table, config, path, source)
    if config["predict"]["input"]:
        preflight.check_predict_input(_named_file(config, "predict.input", base_dir, source))


def load(path: str | Path, base_dir: str | Path | None = None) -> dict[str, Any]:
    """Read, validate and check a config file; relative paths resolve against `base_dir`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: config file not found")
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping of keys, got {type(raw).__name__}")
    config = validate(raw, source=str(path))
    check_files(config, Path(base_dir) if base_dir else Path.cwd(), source=str(path))
    return config


def settings_from(cls: type[Settings], section: Mapping[str, Any]) -> Settings:
    """A settings dataclass from a validated config section; keys it has no field for (such as a
    job's `threads`) are the workflow's, not the stage's."""
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in section.items() if k in known})
