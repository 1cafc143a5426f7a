"""The settings audit (UTRFLOW_SETTINGS_AUDIT=FILE): each command notes the keys it was given
and the keys it read, for the contract test that holds every rule's params to what its command
reads (tests/test_settings_contract.py). Imported only when the variable is set: no production
run loads it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from utrflow import config


def keys(mapping: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Every dotted key of a nested mapping, sections included."""
    for key, value in mapping.items():
        dotted = f"{prefix}{key}"
        yield dotted
        if isinstance(value, Mapping):
            yield from keys(value, f"{dotted}.")


class Audited(dict[str, Any]):
    """A settings mapping that notes every key read."""

    def __init__(self, data: Mapping[str, Any], read: set[str], prefix: str = "") -> None:
        super().__init__(data)
        self._read, self._prefix = read, prefix

    def __getitem__(self, key: str) -> Any:
        self._read.add(f"{self._prefix}{key}")
        value = super().__getitem__(key)
        if isinstance(value, dict):
            return Audited(value, self._read, f"{self._prefix}{key}.")
        return value

    def __iter__(self) -> Iterator[str]:  # unpacking (`{**cfg}`) then reads through getitem
        return iter(list(dict.keys(self)))

    def items(self) -> Any:
        return [(k, self[k]) for k in dict.keys(self)]

    def get(self, key: str, default: Any = None) -> Any:
        return self.__getitem__(key) if dict.__contains__(self, key) else default


# Settings values built from an audited section: id -> (the value, the read set, its prefix).
# The value is kept so that its id is not reused while the command runs.
_WATCHED: dict[int, tuple[object, set[str], str]] = {}
_RECORDING: set[type] = set()


def _watch(settings: object, read: set[str], prefix: str) -> None:
    """Note each field of `settings` as `prefix + field` in `read` when a stage reads it (a
    nested Settings value, `model.search`, is watched in turn under its own prefix)."""
    _WATCHED[id(settings)] = (settings, read, prefix)
    cls = type(settings)
    if cls in _RECORDING:
        return
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    plain = cls.__getattribute__

    def getattribute(obj: object, name: str) -> Any:
        value = plain(obj, name)
        watched = _WATCHED.get(id(obj))
        if watched is not None and name in fields:
            _, into, at = watched
            into.add(f"{at}{name}")
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                _watch(value, into, f"{at}{name}.")
        return value

    cls.__getattribute__ = getattribute  # type: ignore[method-assign]
    _RECORDING.add(cls)


def _built(settings: object, section: Mapping[str, Any]) -> None:
    """The config's hook: a Settings value built from an audited section is watched."""
    if isinstance(section, Audited):
        _watch(settings, section._read, section._prefix)


class Audit:
    """One command's audit: hand `watch(cfg)` to the handler, then `write` the note. Keys are
    read through the mapping, or, for a section built into a Settings value, field by field."""

    def __init__(self, log: str | Path, command: str, cfg: Mapping[str, Any]) -> None:
        self.log, self.command = Path(log), command
        self.given = sorted(keys(cfg))
        self.read: set[str] = set()
        self.cfg = cfg

    def watched(self) -> Audited:
        config.settings_built = _built
        return Audited(self.cfg, self.read)

    def stop(self) -> None:
        """Stop watching (the command returned or raised)."""
        config.settings_built = None
        _WATCHED.clear()

    def write(self) -> None:
        note = {"command": self.command, "given": self.given, "read": sorted(self.read)}
        with open(self.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(note) + "\n")
