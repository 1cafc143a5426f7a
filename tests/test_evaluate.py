import numpy as np
import pandas as pd
import pytest

from utrflow.model.baselines import baseline_predictions, kmer_counts
from utrflow.model.evaluate import classification_metrics, noise_ceiling, regression_metrics


def test_perfect_predictions_score_one_everywhere():
    y = np.array([1.0, 2.0, 3.0, 5.0])
    m = regression_metrics(y, y)
    assert m["n"] == 4
    assert m["pearson_r"] == pytest.approx(1.0)
    assert m["r2"] == pytest.approx(1.0)
    assert m["r2_score"] == pytest.approx(1.0)
    assert m["spearman"] == pytest.approx(1.0)
    assert m["rmse"] == pytest.approx(0.0)


def test_squared_pearson_and_coefficient_of_determination_differ_under_scale_error():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    m = regression_metrics(y, 2 * y + 1)  # perfectly correlated, badly calibrated
    assert m["r2"] == pytest.approx(1.0)
    # R² = 1 - SS_res/SS_tot = 1 - sum((y+1)^2)/5 = 1 - 30/5 = -5
    assert m["r2_score"] == pytest.approx(-5.0)
    assert m["rmse"] == pytest.approx(np.sqrt(30 / 4))


def test_metrics_known_answer_against_numpy():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    p = y + rng.normal(scale=0.5, size=200)
    m = regression_metrics(y, p)
    assert m["pearson_r"] == pytest.approx(np.corrcoef(y, p)[0, 1])
    ranks = lambda v: np.argsort(np.argsort(v))  # noqa: E731
    assert m["spearman"] == pytest.approx(np.corrcoef(ranks(y), ranks(p))[0, 1])


def test_constant_predictions_have_zero_correlation_not_nan():
    m = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0]))
    assert m["pearson_r"] == 0.0 and m["r2_score"] == pytest.approx(0.0)


def test_kmer_counts_known_answer():
    x = kmer_counts(["ACGTA", "AN"], k_max=2)
    assert x.shape == (2, 4 + 16)
    np.testing.assert_array_equal(x[0, :4], [2, 1, 1, 1])
    dimers = dict(zip([a + b for a in "ACGT" for b in "ACGT"], x[0, 4:], strict=True))
    assert {k for k, v in dimers.items() if v} == {"AC", "CG", "GT", "TA"}
    np.testing.assert_array_equal(x[1], [1] + [0] * 19)  # N breaks every k-mer through it


def test_ridge_baseline_recovers_an_additive_kmer_signal_and_never_sees_test_labels():
    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(1500)]
    label = np.array([s.count("GA") - 0.5 * s.count("T") for s in seqs], dtype=float)
    split = np.array(["train"] * 1200 + ["validation"] * 150 + ["test"] * 150)
    rows = pd.DataFrame({"sequence": seqs, "label": label, "split": split})
    scrambled = rows.copy()
    scrambled.loc[scrambled["split"] == "test", "label"] = 0.0  # test labels must not matter
    a = baseline_predictions(rows, k_max=2)
    b = baseline_predictions(scrambled, k_max=2)
    np.testing.assert_allclose(a["ridge_kmer"], b["ridge_kmer"])
    test = a[a["split"] == "test"]
    assert regression_metrics(test["label"], test["ridge_kmer"])["r2"] > 0.98
    assert regression_metrics(test["label"], test["gbt_kmer"])["r2"] > 0.8
    assert a["mean"].nunique() == 1


def test_noise_ceiling_is_the_squared_correlation_with_the_truth_per_split():
    rows = pd.DataFrame(
        {
            "plate": "P1",
            "well": [f"A{i}" for i in range(8)],
            "label": [1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0],
            "split": ["test"] * 4 + ["validation"] * 4,
        }
    )
    truth = rows[["plate", "well"]].assign(true_label=[1.0, 2.0, 3.0, 4.0, 4.0, 3.0, 2.0, 1.0])
    ceiling = noise_ceiling(rows, truth)
    assert ceiling["test"] == pytest.approx(1.0)
    assert ceiling["validation"] == pytest.approx(1.0)  # r = -1, squared
    with pytest.raises(ValueError):
        noise_ceiling(rows, truth.iloc[:5])


def test_classification_metrics_known_answer():
    y = np.array([0, 0, 1, 1])
    m = classification_metrics(y, np.array([0.1, 0.6, 0.4, 0.9]), threshold=0.5)
    assert m["roc_auc"] == pytest.approx(0.75)  # 3 of 4 positive-negative pairs ordered
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["confusion"] == {
        "true_positive": 1,
        "false_positive": 1,
        "true_negative": 1,
        "false_negative": 1,
    }
    assert m["positives"] == 2
    assert classification_metrics(y, np.array([0.1, 0.2, 0.8, 0.9]))["pr_auc"] == pytest.approx(1.0)
    assert classification_metrics(np.array([1, 1]), np.array([0.2, 0.9]))["roc_auc"] is None
