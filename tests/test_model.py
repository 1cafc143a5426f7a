"""Model factory and training: known answers on a planted motif, as in the lecture."""

import numpy as np
import pytest

from utrflow.model import Architecture, Scaler, build_model, predict, train
from utrflow.sequences import one_hot, random_sequences


def test_factory_builds_the_configured_stack_with_a_linear_output():
    arch = Architecture(conv_filters=(12, 6), kernel_size=5, dropout=0.2, dense_units=4)
    model = build_model(30, arch, learning_rate=1e-3)
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv1D"]
    assert [c.filters for c in convs] == [12, 6]
    assert all(c.kernel_size == (5,) for c in convs)
    assert model.input_shape == (None, 30, 4)
    assert model.output_shape == (None, 1)
    assert model.layers[-1].get_config()["activation"] == "linear"
    # conv1: 5*4*12+12, conv2: 5*12*6+6, dense: 30*6*4+4, out: 4+1
    assert model.count_params() == (5 * 4 * 12 + 12) + (5 * 12 * 6 + 6) + (180 * 4 + 4) + 5


def test_factory_without_hidden_dense():
    model = build_model(10, Architecture(conv_filters=(3,), kernel_size=2, dense_units=0), 1e-3)
    assert [layer.name for layer in model.layers][-2:] == ["flatten", "expression"]


def test_scaler_round_trip():
    y = np.array([1.0, 3.0, 5.0])
    s = Scaler.fit(y)
    np.testing.assert_allclose(s.transform(y).mean(), 0.0, atol=1e-7)
    np.testing.assert_allclose(s.inverse(s.transform(y)), y, rtol=1e-6)
    assert Scaler.fit(np.array([2.0, 2.0])).sd == 1.0  # constant labels do not divide by zero


def test_cnn_learns_a_planted_motif_and_beats_chance():
    rng = np.random.default_rng(0)
    seqs = random_sequences(rng, 1200, 24, 24)
    has_motif = rng.random(1200) < 0.5
    seqs = [s[:8] + "CCGGAA" + s[14:] if m else s for s, m in zip(seqs, has_motif, strict=True)]
    labels = (has_motif * 2.0 + rng.normal(0, 0.2, 1200)).astype(np.float32)
    split = np.array(["train"] * 900 + ["validation"] * 150 + ["test"] * 150)
    config = {
        "conv_filters": [16],
        "kernel_size": 6,
        "dropout": 0.0,
        "dense_units": 8,
        "learning_rate": 3e-3,
        "batch_size": 32,
        "epochs": 30,
        "patience": 5,
    }
    result = train(one_hot(seqs), labels, split, config, seed=1, threads=2)
    test = split == "test"
    pred = predict(result.model, one_hot(seqs)[test], result.scaler)
    r = np.corrcoef(pred, labels[test])[0, 1]
    assert r > 0.95
    assert result.info["device"].startswith(("cpu", "gpu"))
    assert result.info["best_epoch"] <= result.info["epochs_run"]
    assert list(result.history.columns[:3]) == ["epoch", "loss", "val_loss"]


def test_training_refuses_an_empty_validation_split():
    x = one_hot(["ACGT"] * 10)
    with pytest.raises(ValueError, match="validation"):
        train(x, np.arange(10, dtype=np.float32), np.array(["train"] * 10), {}, seed=0)
