"""The one YAML reader of the project: strict about keys given twice.

PyYAML (like Snakemake's config loading) keeps the last of two equal keys and drops the first
without a word, so a config with `model:` twice trains a model the user never asked for. Every
YAML the project reads goes through `load_yaml`, which stops with one line naming both lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from utrflow.errors import InputError

# libyaml's parser where PyYAML was built with it: the schema alone takes 0.12 s in pure Python,
# paid by every job at start-up, against 0.02 s in C.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that refuses a mapping holding the same key twice."""


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A key given twice in one mapping."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *base` then a key of base: YAML's own way to override, allowed
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: let the constructor say so
            continue
        if first is not None:
            raise _DuplicateKey(
                None, None, f"key {key!r} given twice (first on line {first})", key_node.start_mark
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_yaml(text: str, source: str) -> Any:
    """YAML text as Python data; bad YAML or a key given twice is one line naming `source`."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except _DuplicateKey as err:
        line = f" line {err.problem_mark.line + 1}:" if err.problem_mark else ""
        raise InputError(
            f"{source}:{line} {err.problem}; keep one (YAML readers silently drop the first)"
        ) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise InputError(f"{source}:{line} is not valid YAML") from None


def load_yaml(path: str | Path) -> Any:
    """A YAML file (a byte-order mark is forgiven) as Python data, strictly (see parse_yaml)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: byte {err.start + 1} is not UTF-8 text") from None
    return parse_yaml(text, str(path))
