"""The settings audit (UTRFLOW_SETTINGS_AUDIT=FILE): each command notes the keys it was given
and the keys it read, for the contract test that holds every rule's params to what its command
reads (tests/test_settings_contract.py). Imported only when the variable is set: no production
run loads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


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


class Audit:
    """One command's audit: hand `watch(cfg)` to the handler, then `write` the note."""

    def __init__(self, log: str | Path, command: str, cfg: Mapping[str, Any]) -> None:
        self.log, self.command = Path(log), command
        self.given = sorted(keys(cfg))
        self.read: set[str] = set()
        self.cfg = cfg

    def watched(self) -> Audited:
        return Audited(self.cfg, self.read)

    def write(self) -> None:
        note = {"command": self.command, "given": self.given, "read": sorted(self.read)}
        with open(self.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(note) + "\n")
