"""Baselines fitted on the same split as the CNN: what the CNN has to beat to be worth it.

Regression: the training mean, ridge regression on the one-hot sequence, ridge on k-mer counts
and gradient-boosted trees on k-mer counts (SAPIENs on 17-nt RBSs: trees reached r² 0.89 and
ridge 0.68). Classification: the training prevalence, logistic regression and boosted trees.
Covariates, when the model has them, are given to every baseline too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegressionCV, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from utrflow import io
from utrflow.model.encode import Encoded
from utrflow.sequences import one_hot

DESCRIPTIONS = {
    "mean": "mean of the training labels",
    "ridge_onehot": "ridge regression on the one-hot sequence",
    "ridge_kmer": "ridge regression on k-mer counts",
    "gbt_kmer": "gradient-boosted trees on k-mer counts",
}
CLASSIFIER_DESCRIPTIONS = {
    "mean": "training prevalence",
    "ridge_onehot": "logistic regression on the one-hot sequence",
    "ridge_kmer": "logistic regression on k-mer counts",
    "gbt_kmer": "gradient-boosted trees on k-mer counts",
}


def kmer_counts(sequences: Sequence[str], k_max: int) -> np.ndarray:
    """Counts of every k-mer for k = 1..k_max (k-mers with N skipped): (n, sum 4**k) float32."""
    x = one_hot(list(sequences))
    n, width, _ = x.shape
    base = np.where(x.any(axis=2), x.argmax(axis=2), -1)  # -1 marks padding and N
    blocks = []
    for k in range(1, k_max + 1):
        if width < k:
            blocks.append(np.zeros((n, 4**k), dtype=np.float32))
            continue
        windows = np.lib.stride_tricks.sliding_window_view(base, k, axis=1)  # (n, width-k+1, k)
        valid = (windows >= 0).all(axis=2)
        codes = (np.clip(windows, 0, 3) * (4 ** np.arange(k - 1, -1, -1))).sum(axis=2)
        rows = np.broadcast_to(np.arange(n)[:, None], codes.shape)
        flat = rows[valid] * 4**k + codes[valid]
        blocks.append(np.bincount(flat, minlength=n * 4**k).reshape(n, 4**k).astype(np.float32))
    return np.hstack(blocks)


def _models(task: str, seed: int) -> dict:
    if task == "classification":
        linear = lambda: make_pipeline(  # noqa: E731
            StandardScaler(), LogisticRegressionCV(Cs=8, max_iter=2000)
        )
        trees = HistGradientBoostingClassifier(random_state=seed, early_stopping=True)
    else:
        linear = lambda: make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 5, 15)))  # noqa: E731
        trees = HistGradientBoostingRegressor(random_state=seed, early_stopping=True, max_iter=500)
    return {"ridge_onehot": linear(), "ridge_kmer": linear(), "gbt_kmer": trees}


def baseline_features(
    rows: pd.DataFrame, k_max: int, covariates: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Each baseline's feature matrix: one-hot (flattened) or k-mer counts, then covariates."""
    sequences = rows["sequence"].tolist()
    extra = covariates if covariates is not None and covariates.size else np.zeros((len(rows), 0))
    kmers = np.hstack([kmer_counts(sequences, k_max), extra])
    onehot = np.hstack([one_hot(sequences).reshape(len(rows), -1).astype(np.float32), extra])
    return {"ridge_onehot": onehot, "ridge_kmer": kmers, "gbt_kmer": kmers}


def fit_baselines(
    rows: pd.DataFrame,
    k_max: int,
    task: str = "regression",
    covariates: np.ndarray | None = None,
    seed: int = 0,
    names: Sequence[str] | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, float]]:
    """Fit the named baselines (default: all but the mean) on the train split only; returns
    the fitted estimators, their feature matrices (all rows) and seconds spent fitting each."""
    train = (rows["split"] == "train").to_numpy()
    y = rows["label"].to_numpy(dtype=float)
    weight = rows["weight"].to_numpy(dtype=float) if "weight" in rows else np.ones(len(rows))
    features = baseline_features(rows, k_max, covariates)
    fitted: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for name, estimator in _models(task, seed).items():
        if names is not None and name not in names:
            continue
        started = time.perf_counter()
        x = features[name]
        last = estimator.steps[-1][0] if hasattr(estimator, "steps") else None
        fit_params = (
            {f"{last}__sample_weight": weight[train]} if last else {"sample_weight": weight[train]}
        )
        estimator.fit(
            x[train], y[train].astype(int) if task == "classification" else y[train], **fit_params
        )
        fitted[name] = estimator
        seconds[name] = time.perf_counter() - started
    return fitted, features, seconds


def sizes(fitted: dict[str, Any], seconds: dict[str, float]) -> dict[str, dict[str, float]]:
    """Size (coefficients, or tree nodes) and fitting time of each fitted baseline."""
    out = {}
    for name, estimator in fitted.items():
        if hasattr(estimator, "_predictors"):
            size = int(sum(len(p[0].nodes) for p in estimator._predictors))
        else:
            size = int(np.asarray(estimator.steps[-1][1].coef_).size + 1)
        out[name] = {"parameters": size, "seconds": round(seconds[name], 2)}
    return out


def baseline_predictions(
    rows: pd.DataFrame,
    k_max: int,
    task: str = "regression",
    covariates: np.ndarray | None = None,
    seed: int = 0,
    summary: dict | None = None,
) -> pd.DataFrame:
    """Fit every baseline on the train split only and predict all rows (`summary`, when
    given, receives each baseline's size and fitting time)."""
    train = (rows["split"] == "train").to_numpy()
    y = rows["label"].to_numpy(dtype=float)
    weight = rows["weight"].to_numpy(dtype=float) if "weight" in rows else np.ones(len(rows))
    out = pd.DataFrame({"sequence": rows["sequence"], "split": rows["split"], "label": y})
    out["mean"] = float(np.average(y[train], weights=weight[train]))
    fitted, features, seconds = fit_baselines(rows, k_max, task, covariates, seed)
    if summary is not None:
        summary.update(sizes(fitted, seconds))
    for name, estimator in fitted.items():
        out[name] = predict(estimator, features[name], task)
    return out


def predict(estimator: Any, x: np.ndarray, task: str) -> np.ndarray:
    """A fitted baseline's predictions (classification: the positive class's probability)."""
    if task == "classification":
        return np.asarray(estimator.predict_proba(x)[:, 1])
    return np.asarray(estimator.predict(x))


def run(
    encoded: Encoded,
    kmer_max: int,
    task: str,
    seed: int,
    predictions: Path,
    summary_path: Path | None = None,
) -> None:
    """The `baselines` stage: every baseline fitted on the train split, predicting every row
    (and, to `summary_path`, each one's size and fitting time)."""
    summary: dict[str, Any] = {}
    frame = baseline_predictions(encoded.rows, kmer_max, task, encoded.covariates, seed, summary)
    io.write_tsv(frame, predictions)
    if summary_path:
        io.write_json(summary, summary_path)
