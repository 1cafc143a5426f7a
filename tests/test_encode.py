import numpy as np
import pytest

from utrflow import config
from utrflow.errors import InputError
from utrflow.model.encode import build_features, load_onehot, write_onehot
from utrflow.sequences import one_hot
from utrflow.simulate.table import simulate_table


def test_encode_keeps_only_passing_rows_and_honours_a_given_split():
    table = simulate_table(60, 10, 20, 0.1, seed=0).labelled
    table.loc[:9, "qc"] = "mixed"
    table["split"] = ["train"] * 40 + ["validation"] * 10 + ["test"] * 10
    features = build_features(table, config.validate({}))
    assert len(features.rows) == 50
    assert features.length == 20
    np.testing.assert_array_equal(features.rows["split"], table["split"][10:])
    np.testing.assert_allclose(features.labels, table["label"][10:].to_numpy(), rtol=1e-6)


def test_covariates_and_weights_are_carried_and_missing_ones_named():
    table = simulate_table(30, 10, 20, 0.1, seed=0).labelled
    table["access"] = np.linspace(0, 1, 30)
    table["weight"] = 2.0
    cfg = config.validate({"model": {"covariates": ["access"]}})
    features = build_features(table, cfg)
    np.testing.assert_allclose(features.covariates[:, 0], table["access"], rtol=1e-6)
    assert (features.rows["weight"] == 2.0).all()
    cfg = config.validate({"model": {"covariates": ["od"]}})
    with pytest.raises(InputError, match="covariate column 'od'"):
        build_features(table, cfg, source="t.tsv")


def test_classification_labels_must_be_zero_or_one():
    table = simulate_table(30, 10, 20, 0.1, seed=0).labelled
    with pytest.raises(InputError, match=r"row 2: label .* is not 0 or 1"):
        build_features(table, config.validate({"model": {"task": "classification"}}))


def test_nothing_passing_is_an_error():
    table = simulate_table(10, 10, 20, 0.1, seed=0).labelled.assign(qc="mixed")
    with pytest.raises(InputError, match="no row has qc 'pass'"):
        build_features(table, config.validate({}))


def test_onehot_is_written_in_chunks_and_memory_mapped(tmp_path, monkeypatch):
    import utrflow.model.encode as enc

    monkeypatch.setattr(enc, "CHUNK", 7)  # several chunks even for a small table
    seqs = simulate_table(50, 10, 30, 0.1, seed=1).labelled["sequence"].tolist()
    write_onehot(seqs, 30, tmp_path / "x.npy")
    x = load_onehot(tmp_path / "x.npy")
    assert isinstance(x, np.memmap) and x.dtype == np.uint8
    np.testing.assert_array_equal(x, one_hot(seqs, 30))
    assert [p.name for p in tmp_path.iterdir()] == ["x.npy"]  # no temporary file left behind
