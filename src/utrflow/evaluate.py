"""Metrics, baselines and the noise ceiling: how good the model is, and compared with what.

Both squared Pearson r (`r2`, what the literature on UTR models quotes) and the coefficient of
determination (`r2_score`, which also punishes bias and scale errors) are reported: they differ,
and a model can have a high r2 with a poor r2_score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from utrflow.sequences import one_hot


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """n, Pearson r, squared Pearson r, coefficient of determination, Spearman rho, RMSE."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    n = len(y_true)
    if n < 2 or np.ptp(y_true) == 0:
        return {
            "n": n,
            "pearson_r": None,
            "r2": None,
            "r2_score": None,
            "spearman": None,
            "rmse": float(np.sqrt(np.mean((y_true - y_pred) ** 2))) if n else None,
        }
    constant = np.ptp(y_pred) == 0
    pearson = 0.0 if constant else float(stats.pearsonr(y_true, y_pred)[0])
    spearman = 0.0 if constant else float(stats.spearmanr(y_true, y_pred)[0])
    residual = np.sum((y_true - y_pred) ** 2)
    total = np.sum((y_true - y_true.mean()) ** 2)
    return {
        "n": n,
        "pearson_r": pearson,
        "r2": pearson**2,
        "r2_score": float(1 - residual / total),
        "spearman": spearman,
        "rmse": float(np.sqrt(residual / n)),
    }


def split_metrics(frame: pd.DataFrame, column: str) -> dict[str, dict[str, Any]]:
    """Metrics of one prediction column on the validation and test splits."""
    return {
        name: regression_metrics(part["label"], part[column])
        for name in ("validation", "test")
        if not (part := frame[frame["split"] == name]).empty
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


def baseline_predictions(rows: pd.DataFrame, k_max: int) -> pd.DataFrame:
    """Mean predictor and ridge regression on k-mer counts, both fitted on the train split only."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train = (rows["split"] == "train").to_numpy()
    y = rows["label"].to_numpy(dtype=float)
    features = kmer_counts(rows["sequence"].tolist(), k_max)
    ridge = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 5, 15)))
    ridge.fit(features[train], y[train])
    return pd.DataFrame(
        {
            "sequence": rows["sequence"],
            "split": rows["split"],
            "label": y,
            "mean": float(y[train].mean()),
            "ridge_kmer": ridge.predict(features),
        }
    )


BASELINE_COLUMNS = {"mean": "mean of the training labels", "ridge_kmer": "ridge on k-mer counts"}


def noise_ceiling(rows: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    """Best r2 any model could reach on each split: squared Pearson r of measured vs true labels."""
    merged = rows.merge(truth[["plate", "well", "true_label"]], on=["plate", "well"], how="left")
    if merged["true_label"].isna().any():
        raise ValueError("every evaluated well needs a true label to compute the noise ceiling")
    return {
        name: float(stats.pearsonr(part["label"], part["true_label"])[0] ** 2)
        for name in ("validation", "test")
        if len(part := merged[merged["split"] == name]) > 2
    }
