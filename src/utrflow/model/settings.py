"""The model's settings: one typed, frozen value built from the config's `model` section.

The model stages read `settings.batch_size`, not `model_cfg["batch_size"]`, so a misspelt key is
a mypy error, not a KeyError an hour into a run. Defaults come from the schema (the one place a
default is written, `utrflow.config.section_defaults`); a key a job was not passed (its rule
passes `model.task` alone) keeps its default. What the run spends (GPUs, ensemble members, the
number of search candidates) is `utrflow.resources`, not a model setting. Lists become tuples,
so the value is hashable and cannot be changed under a training run. Nothing here imports
Keras: the workflow plans its search candidates with it at start-up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from utrflow.config import built, section_defaults, section_items

_DEFAULTS = section_defaults("model")
_SEARCH = section_defaults("model", "search")


@dataclass(frozen=True)
class SearchSettings:
    """`preset: auto`: how the candidates train and the contest ranks them (see
    `utrflow.model.search`; how many candidates is `utrflow.resources`)."""

    patience: int = _SEARCH["patience"]
    learning_curve: bool = _SEARCH["learning_curve"]
    crossval_below: int = _SEARCH["crossval_below"]
    folds: int = _SEARCH["folds"]
    repeats: int = _SEARCH["repeats"]


@dataclass(frozen=True)
class ModelSettings:
    """Every key of the config's `model` section, typed."""

    task: str = _DEFAULTS["task"]
    preset: str = _DEFAULTS["preset"]
    dilations: tuple[int, ...] = tuple(_DEFAULTS["dilations"])
    search: SearchSettings = field(default_factory=SearchSettings)
    conv_filters: tuple[int, ...] = tuple(_DEFAULTS["conv_filters"])
    kernel_size: int = _DEFAULTS["kernel_size"]
    pool_size: int = _DEFAULTS["pool_size"]
    dropout: float = _DEFAULTS["dropout"]
    dense_units: int = _DEFAULTS["dense_units"]
    layers: tuple[Mapping[str, Any], ...] = tuple(_DEFAULTS["layers"])
    covariates: tuple[str, ...] = tuple(_DEFAULTS["covariates"])
    threshold: float = _DEFAULTS["threshold"]
    interval: float = _DEFAULTS["interval"]
    reverse_complement: bool = _DEFAULTS["reverse_complement"]
    learning_rate: float = _DEFAULTS["learning_rate"]
    batch_size: int = _DEFAULTS["batch_size"]
    epochs: int = _DEFAULTS["epochs"]
    patience: int = _DEFAULTS["patience"]
    in_memory_gb: float = _DEFAULTS["in_memory_gb"]
    mixed_precision: bool = _DEFAULTS["mixed_precision"]
    deterministic: bool = _DEFAULTS["deterministic"]


_SEQUENCES = ("dilations", "conv_filters", "layers", "covariates")


def model_settings(section: ModelSettings | Mapping[str, Any]) -> ModelSettings:
    """The settings of a validated config's `model` section (or of a search candidate's, as
    `search.candidate_settings` writes it); a ModelSettings is returned as it is. Building reads
    no key: each field is read where a stage uses it (what the settings audit notes)."""
    if isinstance(section, ModelSettings):
        return section
    items = section_items(section)
    known = {f.name for f in dataclasses.fields(ModelSettings)}
    unknown = sorted({name for name, _ in items} - known)
    if unknown:
        raise KeyError(f"model settings: unknown key {unknown[0]!r}")
    values: dict[str, Any] = {}
    for name, value in items:
        if name == "search":
            values[name] = SearchSettings(**dict(section_items(value)))
        elif name in _SEQUENCES:
            values[name] = tuple(value)
        else:
            values[name] = value
    return built(ModelSettings(**values), section)
