"""The baselines exported as Keras models predict what the fitted estimators predict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from utrflow.model import baselines, network, portable
from utrflow.sequences import one_hot, random_sequences


def toy_rows(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sequences = random_sequences(rng, n, 12, 20)
    label = np.array([s.count("GG") + 0.5 * s.count("A") for s in sequences]) + rng.normal(
        0, 0.3, n
    )
    split = np.where(np.arange(n) % 5 == 0, "validation", "train")
    return pd.DataFrame({"sequence": sequences, "label": label, "split": split})


def test_kmer_filters_count_what_kmer_counts_counts():
    import keras

    sequences = ["ACGTAC", "GGGA", "TTACG", "ANNCA"]
    x = one_hot(sequences, 8)
    onehot = keras.Input(shape=(8, 4), dtype="uint8")
    counts = portable._kmer_counts(keras.layers.Rescaling(1.0)(onehot), 3, 8)
    model = keras.Model(onehot, counts)
    np.testing.assert_allclose(
        model.predict_on_batch(x), baselines.kmer_counts(sequences, 3), atol=1e-5
    )


@pytest.mark.parametrize("task", ["regression", "classification"])
@pytest.mark.parametrize("name", ["ridge_onehot", "ridge_kmer", "gbt_kmer"])
def test_exported_baseline_predicts_as_the_estimator(tmp_path, name, task):
    rows = toy_rows()
    if task == "classification":
        rows["label"] = (rows["label"] > rows["label"].median()).astype(int)
    fitted, features, _ = baselines.fit_baselines(rows, 3, task, names=[name])
    estimator = fitted[name]
    x = features[name]
    expected = (
        estimator.predict_proba(x)[:, 1] if task == "classification" else estimator.predict(x)
    )
    width = 24  # wider than the longest sequence: the one-hot weights are padded at the 5' end
    model = portable.export_baseline(name, estimator, width, 3, task)
    model.save(tmp_path / "baseline.keras")
    loaded = network.load(tmp_path / "baseline.keras")
    got = network.predict(loaded, one_hot(rows["sequence"].tolist(), width))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert np.ptp(expected) > 0  # the check is not one of constants
