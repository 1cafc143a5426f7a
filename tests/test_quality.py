"""Claims about the training path: it reaches the noise ceiling, and its speed-up is free.

On the default simulated table (config/config.yaml: 30,000 UTRs, seed 42) one model of the default
configuration is trained on the deterministic CPU path and scored on the test split. The noise
ceiling is the squared Pearson r of measured with true labels on that split: no model beats it
on average, so the fraction reached says how much learnable signal the model leaves behind.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO
from test_model import FAST, model_config, planted_motif_rows

from utrflow import preflight
from utrflow.model import training
from utrflow.model.network import predict
from utrflow.simulate.quality import simulated_quality


@pytest.mark.parametrize("in_memory_gb", [4, 0])  # in memory, and streamed from the memory map
def test_several_batches_per_call_train_exactly_as_one_batch_per_call(monkeypatch, in_memory_gb):
    x, rows = planted_motif_rows(600, 3, "regression")
    cfg = model_config(**{**FAST, "epochs": 4}, in_memory_gb=in_memory_gb)
    runs = []
    for batches_per_call in (1, training.STEPS_PER_EXECUTION):
        monkeypatch.setattr(training, "STEPS_PER_EXECUTION", batches_per_call)
        member = training.train_member(x, rows, None, cfg, seed=1, threads=2)
        runs.append((member.history["loss"].to_numpy(), predict(member.model, x)))
    assert training.STEPS_PER_EXECUTION > 1
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


@pytest.mark.slow
def test_default_configuration_reaches_the_noise_ceiling():
    cfg = preflight.load(REPO / "config" / "config.yaml", base_dir=REPO)  # `snakemake --cores all`
    assert cfg["source"] == "simulate" and cfg["simulate"]["level"] == "table"
    assert cfg["simulate"]["n_sequences"] == 30000 and cfg["model"]["deterministic"]
    result = simulated_quality(cfg, threads=2)
    assert result["test"]["n"] > 2500  # a tenth of the table, whole sequences per split
    assert result["test"]["r2"] >= 0.95 * result["noise_ceiling_r2"], result
