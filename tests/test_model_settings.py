"""The model's typed settings: built from the config's `model` section (or a search candidate's),
defaults from the schema, a misspelt key refused, nothing changeable under a run."""

from __future__ import annotations

import dataclasses

import pytest

from utrflow import config
from utrflow.model import search
from utrflow.model.network import layer_specs
from utrflow.model.settings import ModelSettings, SearchSettings, model_settings


def test_the_default_section_gives_the_default_settings() -> None:
    assert model_settings(config.validate({})["model"]) == ModelSettings()


def test_values_are_typed_and_nested() -> None:
    section = config.validate({"model": {"conv_filters": [8, 4], "search": {"folds": 4}}})["model"]
    settings = model_settings(section)
    assert settings.conv_filters == (8, 4)
    assert settings.search == SearchSettings(folds=4)
    assert model_settings(settings) is settings


def test_a_misspelt_key_is_refused() -> None:
    with pytest.raises(KeyError, match="batch_sise"):
        model_settings({"batch_sise": 32})


def test_the_settings_cannot_change_under_a_run() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ModelSettings().epochs = 3  # type: ignore[misc]


def test_a_candidates_section_reads_as_its_changes() -> None:
    """What a search candidate's job is given (a config section) reads back typed, with the
    candidate's changes and the search's patience."""
    section = config.validate({"model": {"conv_filters": [64, 32]}})["model"]
    narrow = model_settings(search.candidate_settings(section, "narrow"))
    assert (narrow.conv_filters, narrow.dropout, narrow.patience) == ((32, 16), 0.3, 4)
    residual = model_settings(search.candidate_settings(section, "residual"))
    assert layer_specs(residual) == layer_specs(search.candidate_settings(section, "residual"))
    assert layer_specs(residual)[0] == {"conv": {"filters": 32, "kernel_size": 8}}
