"""Model factory, export, ensembles and training: known answers on planted motifs."""

import numpy as np
import pandas as pd
import pytest

from utrflow import config
from utrflow.model.network import (
    OPTIMUS_LAYERS,
    Scaler,
    build_network,
    ensemble,
    export,
    layer_specs,
    load,
    predict,
)
from utrflow.model.training import MAX_RESTARTS, RESTART_LEARNING_RATE_FACTOR, train_member
from utrflow.sequences import one_hot, random_sequences


def model_config(**model) -> dict:
    return config.validate({"model": model})["model"]


def test_seed_preset_builds_the_configured_stack_with_a_linear_output():
    cfg = model_config(conv_filters=[12, 6], kernel_size=5, dropout=0.2, dense_units=4)
    network = build_network(30, layer_specs(cfg), "regression")
    convs = [layer for layer in network.layers if layer.__class__.__name__ == "Conv1D"]
    assert [c.filters for c in convs] == [12, 6]
    assert all(c.kernel_size == (5,) for c in convs)
    assert network.input_shape == (None, 30, 4)
    assert network.output_shape == (None, 1)
    assert network.layers[-1].get_config()["activation"] == "linear"
    # conv1: 5*4*12+12, conv2: 5*12*6+6, dense: 30*6*4+4, out: 4+1
    assert network.count_params() == (5 * 4 * 12 + 12) + (5 * 12 * 6 + 6) + (180 * 4 + 4) + 5


def test_optimus_preset_is_the_published_architecture():
    specs = layer_specs(model_config(preset="optimus"))
    assert specs == OPTIMUS_LAYERS
    network = build_network(50, specs, "regression")
    convs = [layer for layer in network.layers if layer.__class__.__name__ == "Conv1D"]
    assert [(c.filters, c.kernel_size) for c in convs] == [(120, (8,))] * 3
    dense = [layer for layer in network.layers if layer.__class__.__name__ == "Dense"]
    assert [d.units for d in dense] == [40, 1]


def test_lecture_preset_is_the_lectures_plain_stack():
    specs = layer_specs(model_config(preset="lecture"))
    network = build_network(20, specs, "classification")  # the lecture's 20-nt TF-binding task
    (conv,) = [layer for layer in network.layers if layer.__class__.__name__ == "Conv1D"]
    assert (conv.filters, conv.kernel_size) == (10, (5,))
    (pool,) = [layer for layer in network.layers if layer.__class__.__name__ == "MaxPooling1D"]
    assert pool.pool_size == (4,)
    # conv 5*4*10+10 = 210 as in the lecture's summary; 5 pooled positions x 10 filters -> 1 unit
    assert network.count_params() == 210 + (5 * 10 + 1)


def test_custom_layers_pooling_and_classification_head():
    cfg = model_config(
        preset="custom",
        task="classification",
        layers=[
            {"conv": {"filters": 8, "kernel_size": 3}},
            {"pool": 2},
            {"batchnorm": True},
            {"dropout": 0.1},
            {"dense": 5},
        ],
    )
    network = build_network(20, layer_specs(cfg), "classification")
    kinds = [layer.__class__.__name__ for layer in network.layers]
    assert kinds[2:] == [
        "Conv1D",
        "MaxPooling1D",
        "BatchNormalization",
        "Dropout",
        "Flatten",
        "Dense",
        "Dense",
    ]
    assert network.get_layer("pool1").output.shape[1] == 10
    assert network.layers[-1].get_config()["activation"] == "sigmoid"


def test_seed_preset_pooling_halves_the_length():
    network = build_network(
        40, layer_specs(model_config(conv_filters=[4], pool_size=4)), "regression"
    )
    assert network.get_layer("pool1").output.shape[1] == 10


def test_covariates_join_after_flatten_and_are_standardized_inside():
    network = build_network(
        10,
        layer_specs(model_config(conv_filters=[3], dense_units=0)),
        "regression",
        np.array([5.0]),
        np.array([4.0]),
    )
    assert [i.name for i in network.inputs] == ["onehot", "covariates"]
    scaling = network.get_layer("covariate_scaling")
    out = np.asarray(scaling(np.array([[9.0]], dtype=np.float32)))
    assert out[0, 0] == pytest.approx(2.0)  # (9 - 5) / sqrt(4)


def test_scaler_round_trip_and_weights():
    y = np.array([1.0, 3.0, 5.0])
    s = Scaler.fit(y)
    np.testing.assert_allclose(s.inverse(s.transform(y)), y, rtol=1e-6)
    assert Scaler.fit(np.array([2.0, 2.0])).sd == 1.0
    assert Scaler.fit(np.array([0.0, 10.0]), np.array([1.0, 0.0])).mean == 0.0


def test_export_bakes_the_label_scale_into_the_model(tmp_path):
    network = build_network(
        8, layer_specs(model_config(conv_filters=[2], dense_units=0)), "regression"
    )
    x = one_hot(["ACGTACGT", "GGGGCCCC"])
    z = np.asarray(network.predict_on_batch(x)).ravel()
    exported = export(network, Scaler(10.0, 2.0), "regression")
    exported.save(tmp_path / "m.keras")
    loaded = load(tmp_path / "m.keras")  # safe mode on
    np.testing.assert_allclose(predict(loaded, x), 10.0 + 2.0 * z, rtol=1e-5)


def test_ensemble_averages_its_members(tmp_path):
    specs = layer_specs(model_config(conv_filters=[2], dense_units=0))
    members = [
        export(build_network(8, specs, "regression"), Scaler(float(i), 1.0), "regression")
        for i in range(3)
    ]
    x = one_hot(["ACGTACGT", "GGGGCCCC", "ATATATAT"])
    expected = np.mean([predict(m, x) for m in members], axis=0)
    joined = ensemble(members)
    joined.save(tmp_path / "e.keras")
    np.testing.assert_allclose(predict(load(tmp_path / "e.keras"), x), expected, rtol=1e-5)


def planted_motif_rows(n: int, seed: int, task: str) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    seqs = random_sequences(rng, n, 24, 24)
    has_motif = rng.random(n) < 0.5
    seqs = [s[:8] + "CCGGAA" + s[14:] if m else s for s, m in zip(seqs, has_motif, strict=True)]
    label = has_motif * 1.0 if task == "classification" else has_motif * 2.0 + rng.normal(0, 0.2, n)
    split = np.array(["train"] * int(n * 0.75) + ["validation"] * int(n * 0.125))
    split = np.concatenate([split, ["test"] * (n - len(split))])
    rows = pd.DataFrame(
        {
            "sequence": seqs,
            "label": label + 5.0 * (task == "regression"),
            "split": split,
            "weight": 1.0,
        }
    )
    return one_hot(seqs), rows


FAST = {
    "conv_filters": [16],
    "kernel_size": 6,
    "dropout": 0.0,
    "dense_units": 8,
    "learning_rate": 3e-3,
    "batch_size": 32,
    "epochs": 30,
    "patience": 5,
}


@pytest.mark.parametrize("in_memory_gb", [4, 0])  # in memory, and streamed from the memory map
def test_cnn_learns_a_planted_motif(in_memory_gb):
    x, rows = planted_motif_rows(1200, 0, "regression")
    member = train_member(
        x, rows, None, model_config(**FAST, in_memory_gb=in_memory_gb), seed=1, threads=2
    )
    assert member.info["data_in_memory"] is (in_memory_gb > 0)
    test = (rows["split"] == "test").to_numpy()
    pred = predict(member.model, x[test])
    assert np.corrcoef(pred, rows["label"][test])[0, 1] > 0.95
    assert abs(pred.mean() - rows["label"][test].mean()) < 0.3  # predictions in table units
    assert member.info["best_epoch"] <= member.info["epochs_run"]
    assert list(member.history.columns[:3]) == ["epoch", "loss", "val_loss"]


def test_classifier_learns_the_lecture_motif_with_reverse_complement_augmentation():
    x, rows = planted_motif_rows(1200, 2, "classification")
    cfg = model_config(**FAST, task="classification", reverse_complement=True)
    member = train_member(x, rows, None, cfg, seed=1, threads=2)
    test = (rows["split"] == "test").to_numpy()
    probability = predict(member.model, x[test])
    assert ((probability >= 0) & (probability <= 1)).all()
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(rows["label"][test], probability) > 0.95


def test_a_covariate_that_moves_the_label_is_used():
    rng = np.random.default_rng(4)
    x, rows = planted_motif_rows(1600, 4, "regression")
    access = rng.random(len(rows)).astype(np.float32)
    rows["label"] = rows["label"] + 3.0 * access  # sequence and accessibility both count
    cov = access[:, None]
    test = (rows["split"] == "test").to_numpy()
    with_cov = train_member(x, rows, cov, model_config(**FAST), seed=1, threads=2)
    without = train_member(x, rows, None, model_config(**FAST), seed=1, threads=2)
    r_with = np.corrcoef(predict(with_cov.model, x[test], cov[test]), rows["label"][test])[0, 1]
    r_without = np.corrcoef(predict(without.model, x[test]), rows["label"][test])[0, 1]
    assert r_with > 0.95 and r_with > r_without + 0.05


def test_training_refuses_an_empty_validation_split():
    x = one_hot(["ACGT"] * 10)
    rows = pd.DataFrame({"sequence": ["ACGT"] * 10, "label": np.arange(10.0), "split": "train"})
    with pytest.raises(ValueError, match="validation"):
        train_member(x, rows, None, model_config(), seed=0)


def test_a_network_whose_output_collapses_is_trained_anew_at_a_lower_learning_rate():
    # At learning rate 0.3 Adam's first steps kill every ReLU unit of the dense layer: the
    # output is one value for every input and no gradient can revive it. The guard sees it at
    # the epoch's end and trains the network anew at 0.3x the rate until it learns.
    x, rows = planted_motif_rows(1200, 0, "regression")
    cfg = model_config(**{**FAST, "learning_rate": 0.3, "dense_units": 32})
    member = train_member(x, rows, None, cfg, seed=1, threads=2)
    restarts = member.info["restarts"]
    assert restarts >= 1
    assert member.info["learning_rate"] == pytest.approx(
        0.3 * RESTART_LEARNING_RATE_FACTOR**restarts
    )
    assert member.info["output_collapsed"] is False
    test = (rows["split"] == "test").to_numpy()
    assert np.corrcoef(predict(member.model, x[test]), rows["label"][test])[0, 1] > 0.9


def test_a_network_that_never_recovers_is_reported_as_collapsed():
    x, rows = planted_motif_rows(600, 1, "regression")
    cfg = model_config(**{**FAST, "learning_rate": 50.0, "dense_units": 32, "epochs": 3})
    member = train_member(x, rows, None, cfg, seed=1, threads=2)
    assert member.info["restarts"] == MAX_RESTARTS
    assert member.info["output_collapsed"] is True
    assert np.std(predict(member.model, x)) < 1e-4
