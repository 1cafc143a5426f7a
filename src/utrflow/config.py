"""Load and validate config/config.yaml against the JSON schema, filling defaults.

The schema is the single description of every key; validation happens before any job runs so a
typo costs a second, not an hour of compute. Every error is one line naming the key or file.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from utrflow.errors import InputError
from utrflow.yamlio import load_yaml, parse_yaml

if TYPE_CHECKING:
    import jsonschema

SCHEMA_NAME = "config.schema.yaml"
Settings = TypeVar("Settings")
log = logging.getLogger(__name__)

# Keys that moved into `resources` (#31): what a run spends is no stage's setting, so a job's
# settings are plain sections and keys. A config that still names one is read as the new key
# (one warning each); the two names with different values stop the run.
MOVED_TO_RESOURCES = {
    ("demux", "threads"): "demux_threads",
    ("consensus", "threads"): "consensus_threads",
    ("model", "gpus"): "gpus",
    ("model", "ensemble"): "ensemble",
    ("model", "search", "candidates"): "candidates",
    ("model", "search", "gpu_candidates"): "gpu_candidates",
}


@functools.cache
def _shipped_schema() -> dict[str, Any]:
    """Parsed once per process: parsing the YAML is most of what validating a config costs."""
    text = resources.files("utrflow").joinpath("schemas", SCHEMA_NAME).read_text()
    return parse_yaml(text, SCHEMA_NAME)


def schema() -> dict[str, Any]:
    """The configuration JSON schema shipped with the package (a copy the caller may change)."""
    return copy.deepcopy(_shipped_schema())


@functools.cache
def _validator_class() -> Any:
    """Draft 2020-12 that also fills schema defaults in, the recipe from the jsonschema docs.

    Built on first use: importing jsonschema costs a job a tenth of a second, and the settings
    dataclasses import this module for `section_defaults` alone."""
    import jsonschema

    validator_class = jsonschema.Draft202012Validator
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(
        validator: Any, properties: dict[str, Any], instance: Any, schema_: Any
    ) -> Iterator[jsonschema.ValidationError]:
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema_)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _describe(error: jsonschema.ValidationError) -> str:
    """One line for one schema violation, naming the dotted key."""
    key = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        schema_: Any = error.schema
        allowed = sorted(schema_.get("properties", {}))
        instance: Any = error.instance
        extra = sorted(str(k) for k in set(instance) - set(allowed))  # YAML keys: any type
        where = f" in '{key}'" if key else ""
        return f"unknown key '{extra[0]}'{where} (allowed: {', '.join(allowed)})"
    if error.validator == "enum":
        values: Any = error.validator_value
        options = ", ".join(str(o) for o in values)
        return f"key '{key}': {error.instance!r} is not one of {options}"
    if error.validator == "type":
        return f"key '{key}': {error.instance!r} is not of type {error.validator_value}"
    if error.validator == "oneOf":
        return f"key '{key}': {error.instance!r} is not {_options(error.validator_value)}"
    return f"key '{key}': {error.message}"


def _options(choices: Any) -> str:
    """A `oneOf` of a bounded integer and words (`max_barcode_distance`), said as a person
    would: 'a whole number from 0 to 100, or auto'."""
    said = []
    for choice in choices:
        if "const" in choice:
            said.append(str(choice["const"]))
        elif choice.get("type") == "integer":
            low, high = choice.get("minimum"), choice.get("maximum")
            said.append(f"a whole number from {low} to {high}" if high is not None else "a number")
        else:
            said.append(str(choice.get("type", choice)))
    return ", or ".join(said)


def _forgive(node: Any, schema_: Mapping[str, Any]) -> None:
    """Values people type for a `oneOf` of a number and a word, taken as meant: 'Auto' and
    ' auto ' are auto, '3' is 3 (YAML reads `max_barcode_distance: '3'` as text)."""
    if not isinstance(node, dict):
        return
    for name, sub in schema_.get("properties", {}).items():
        value = node.get(name)
        if isinstance(value, dict):
            _forgive(value, sub)
        elif isinstance(value, str) and "oneOf" in sub:
            text = value.strip()
            words = {str(c["const"]).lower(): c["const"] for c in sub["oneOf"] if "const" in c}
            integer = any(c.get("type") == "integer" for c in sub["oneOf"])
            if text.lower() in words:
                node[name] = words[text.lower()]
            elif integer and text.isdigit():
                node[name] = int(text)


def _move_to_resources(instance: dict[str, Any], source: str) -> dict[str, str]:
    """Read the old names of the resources (`model.gpus`) as the new ones (`resources.gpus`),
    in place, so configs written before the resources section keep working. Returns new dotted
    name -> old, so an error names the key as the user wrote it."""
    moved = {}
    for path, name in MOVED_TO_RESOURCES.items():
        node: Any = instance
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        resources = instance.get("resources", {})
        if not isinstance(node, dict) or path[-1] not in node or not isinstance(resources, dict):
            continue  # not given, or a section of the wrong type: the schema names it
        old, value = ".".join(path), node.pop(path[-1])
        if name in resources and resources[name] != value:
            raise InputError(
                f"{source}: key '{old}' ({value!r}) and 'resources.{name}' "
                f"({resources[name]!r}) disagree: '{old}' is the old name, keep one"
            )
        instance["resources"] = {**resources, name: value}
        moved[f"resources.{name}"] = old
    return moved


def validate(config: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """Return a validated copy of `config` with every default filled in.

    Raises InputError with one line naming `source` and the offending key.
    """
    instance = copy.deepcopy(dict(config))
    moved = _move_to_resources(instance, source)
    _forgive(instance, _shipped_schema())
    validator = _validator_class()(_shipped_schema())
    errors = sorted(
        validator.iter_errors(instance), key=lambda e: (list(e.absolute_path), e.message)
    )
    if errors:
        said = _describe(errors[0])
        for new, old in moved.items():
            said = said.replace(f"'{new}'", f"'{old}'")
        raise InputError(f"{source}: {said}")
    simulate = instance["simulate"]
    if simulate["min_length"] > simulate["max_length"]:
        raise InputError(
            f"{source}: key 'simulate.min_length' ({simulate['min_length']}) is larger than "
            f"'simulate.max_length' ({simulate['max_length']})"
        )
    for new, old in moved.items():  # after the checks, so an error stays the one line printed
        log.warning("%s: key '%s' is now '%s' (read as that)", source, old, new)
    return instance


def read(path: str | Path) -> dict[str, Any]:
    """Read and validate a config file (defaults filled in); the files it names are checked by
    `utrflow.preflight`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: config file not found")
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping of keys, got {type(raw).__name__}")
    return validate(raw, source=str(path))


def settings_from(cls: type[Settings], section: Mapping[str, Any]) -> Settings:
    """A settings dataclass from a validated config section; keys it has no field for are
    another reader's (a section a rule passes whole to jobs that read different parts)."""
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in section.items() if k in known})


# The settings audit's hook (set by utrflow.cli.audit, never in a production run): told of each
# Settings value and the section it was built from, so that the value notes each field as read.
settings_built: Callable[[Any, Mapping[str, Any]], None] | None = None


def section_items(section: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A section's keys and values as a Settings builder takes them. Copying a section into a
    Settings value is not reading its keys: the value notes each field as the stage reads it
    (`built`, the settings audit), so a key passed to a job and never read still shows. A dict's
    own items are taken, past a subclass's bookkeeping."""
    return list(dict.items(section)) if isinstance(section, dict) else list(section.items())


def built(settings: Settings, section: Mapping[str, Any]) -> Settings:
    """`settings`, built from `section`, handed to the settings audit's hook when one is set."""
    if settings_built is not None:
        settings_built(settings, section)
    return settings


def overlay(config: Mapping[str, Any], derived: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `config` with `derived` laid over it, section by section: the settings a job
    receives where the workflow decides some keys itself (a simulated run's sheets), kept apart
    from the config so the config stays what its files say."""
    merged = copy.deepcopy(dict(config))
    for key, value in derived.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = overlay(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def section_defaults(*path: str) -> dict[str, Any]:
    """The schema's defaults of one config section (`section_defaults("simulate", "run")`).

    Settings dataclasses take their field defaults from here, so the schema is the one place a
    default is written; tests/test_settings_contract.py checks that every field has one.
    """
    node = _shipped_schema()
    for name in path:
        node = node["properties"][name]
    return {
        name: copy.deepcopy(sub["default"])
        for name, sub in node.get("properties", {}).items()
        if "default" in sub
    }


def select(config: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The part of a validated config that one command reads.

    `keys` names whole sections (`model`) and single keys (`split.validation`); a command gets
    exactly these, and its rule passes exactly these, so a change reruns only the jobs that
    read it. `*` is the whole config (the report prints it). A section named key by key keeps
    the config's order, as the whole section less the others would: what a job echoes of its
    settings (a candidate's in selection.json) does not depend on how it was declared.
    """
    if "*" in keys:
        return copy.deepcopy(dict(config))
    chosen: dict[str, Any] = {}
    single: dict[str, set[str]] = {}
    for key in keys:
        section, _, name = key.partition(".")
        if name:
            chosen.setdefault(section, {})
            single.setdefault(section, set()).add(name)
        else:
            chosen[section] = copy.deepcopy(config[section])
    for section, names in single.items():
        missing = sorted(names - set(config[section]))
        if missing:
            raise KeyError(f"{section}.{missing[0]}")
        chosen[section] = {
            name: copy.deepcopy(value) for name, value in config[section].items() if name in names
        }
    return chosen


def unread_keys(given: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    """Dotted keys in `given` (what a caller passed) that a command declaring `keys` never reads."""
    if "*" in keys:
        return []
    whole = {k for k in keys if "." not in k}
    single = {k for k in keys if "." in k}
    unread = []
    for section, value in given.items():
        if section in whole:
            continue
        if isinstance(value, Mapping) and any(k.startswith(f"{section}.") for k in single):
            unread += [f"{section}.{k}" for k in value if f"{section}.{k}" not in single]
        else:
            unread.append(section)
    return unread
