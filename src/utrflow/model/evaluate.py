"""Metrics, baselines and the noise ceiling: how good the model is, and compared with what.

Both squared Pearson r (`r2`, what the literature on UTR models quotes) and the coefficient of
determination (`r2_score`, which also punishes bias and scale errors) are reported: they differ,
and a model can have a high r2 with a poor r2_score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import average_precision_score, roc_auc_score

from utrflow import io
from utrflow.model import baselines as bl
from utrflow.model import network, smalldata
from utrflow.model.encode import Encoded


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


def classification_metrics(
    y_true: np.ndarray, probability: np.ndarray, threshold: float = 0.5
) -> dict[str, Any]:
    """n, positives, ROC-AUC, PR-AUC (average precision), accuracy and the confusion matrix."""
    y_true = np.asarray(y_true).astype(int)
    probability = np.asarray(probability, dtype=float)
    called = probability >= threshold
    both_classes = len(np.unique(y_true)) == 2
    return {
        "n": len(y_true),
        "positives": int(y_true.sum()),
        "roc_auc": float(roc_auc_score(y_true, probability)) if both_classes else None,
        "pr_auc": float(average_precision_score(y_true, probability)) if both_classes else None,
        "accuracy": float((called == y_true.astype(bool)).mean()) if len(y_true) else None,
        "threshold": threshold,
        "confusion": {
            "true_positive": int((called & (y_true == 1)).sum()),
            "false_positive": int((called & (y_true == 0)).sum()),
            "true_negative": int((~called & (y_true == 0)).sum()),
            "false_negative": int((~called & (y_true == 1)).sum()),
        },
    }


def split_metrics(
    frame: pd.DataFrame, column: str, task: str = "regression", threshold: float = 0.5
) -> dict[str, dict[str, Any]]:
    """Metrics of one prediction column on the validation and test splits."""

    def score(part: pd.DataFrame) -> dict[str, Any]:
        if task == "classification":
            return classification_metrics(
                part["label"].to_numpy(), part[column].to_numpy(), threshold
            )
        return regression_metrics(part["label"].to_numpy(), part[column].to_numpy())

    return {
        name: score(part)
        for name in ("validation", "test")
        if not (part := frame[frame["split"] == name]).empty
    }


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


def _ceiling(
    rows: pd.DataFrame, truth: Path | None, table_summary: Path | None
) -> dict[str, Any] | None:
    """The noise ceiling: from the simulator's truth, or from replicate wells."""
    if truth:
        return {"r2": noise_ceiling(rows, io.read_tsv(truth)), "source": "truth"}
    if table_summary:
        replicate = io.read_json(table_summary)["noise_ceiling"]
        if replicate.get("r2") is not None:
            value = replicate["r2"]
            return {
                "r2": {"validation": value, "test": value},
                "source": "replicate wells",
                "ci95": replicate.get("ci95"),
            }
    return None


def run(
    encoded: Encoded,
    model: Path,
    members: Sequence[Path],
    without_covariates: Path | None,
    baselines: Path | None,
    truth: Path | None,
    table_summary: Path | None,
    task: str,
    threshold: float,
    metrics_path: Path,
    predictions_path: Path,
    selection: Path | None = None,
    level: float = 0.9,
    spread: Sequence[Path] = (),
) -> None:
    """The `evaluate` stage: the model, its members and the baselines scored on every split,
    the noise ceiling beside them, and (regression) the prediction intervals with their
    coverage (per row as wide as the sd over the `spread` models asks, when normalized)."""
    onehot, rows, covariates = encoded.onehot, encoded.rows, encoded.covariates
    member_predictions = np.stack(
        [network.predict(network.load(p), onehot, covariates) for p in members]
    )
    predictions = rows[["sequence", "split", "label"]].copy()
    predictions["prediction"] = network.predict(network.load(model), onehot, covariates)
    if len(member_predictions) > 1:
        predictions["prediction_sd"] = member_predictions.std(axis=0)

    def scores(frame: pd.DataFrame, column: str) -> dict[str, Any]:
        return split_metrics(frame, column, task, threshold)

    metrics: dict[str, Any] = {"task": task, **scores(predictions, "prediction")}
    if len(member_predictions) > 1:
        metrics.update(_member_scores(predictions, member_predictions, scores))
    if without_covariates:
        plain = network.predict(network.load(without_covariates), onehot, None)
        metrics["without_covariates"] = scores(predictions.assign(plain=plain), "plain")
    if baselines:
        metrics["baselines"] = _baseline_scores(baselines, task, scores)
    if task == "regression":
        _add_ceiling(metrics, rows, truth, table_summary)
    chosen = io.read_json(selection) if selection else {}
    if chosen:  # preset auto: what the contest chose, and on what
        metrics["selection"] = {k: chosen[k] for k in _SELECTION_KEYS if k in chosen}
    if task == "regression":
        calibrated = chosen.get("intervals")
        if calibrated and len(members) >= smalldata.SPREAD_OF:  # scaled by the members' spread,
            calibrated = smalldata.Intervals(**calibrated).plain().to_dict()  # not the contest's
        scale = None
        if not calibrated or calibrated.get("normalized"):  # only these read a scale
            scale = _spread(spread, members, member_predictions, encoded)
        metrics["intervals"] = add_intervals(predictions, level, calibrated, scale)
    io.write_json(metrics, metrics_path)
    io.write_tsv(predictions, predictions_path)


def _spread(
    spread: Sequence[Path], members: Sequence[Path], member_predictions: np.ndarray, data: Encoded
) -> np.ndarray | None:
    """The per-row sd over the `spread` models: their predictions are the members' when they
    are the members (a fixed preset's ensemble), so those are not made twice."""
    if [str(p) for p in spread] == [str(p) for p in members]:
        return smalldata.spread_of(list(member_predictions))
    return smalldata.spread_of(
        [network.predict(network.load(p), data.onehot, data.covariates) for p in spread]
    )


# what the metrics repeat of the contest's selection (preset auto) for the report
_SELECTION_KEYS = ("selected", "kind", "averages", "baseline_won", "metric", "validation",
                   "scored_by", "why", "refit_on", "crossval", "intervals")  # fmt: skip


def _baseline_scores(
    baselines: Path, task: str, scores: Callable[[pd.DataFrame, str], dict[str, Any]]
) -> dict[str, Any]:
    """Each baseline's scores on every split, beside its description: the bar the model has
    to clear."""
    base = io.read_tsv(baselines)
    names = bl.CLASSIFIER_DESCRIPTIONS if task == "classification" else bl.DESCRIPTIONS
    return {name: {"description": text, **scores(base, name)} for name, text in names.items()}


def _add_ceiling(
    metrics: dict[str, Any], rows: pd.DataFrame, truth: Path | None, table_summary: Path | None
) -> None:
    """The noise ceiling in `metrics` (when there is one), with the fraction of it the model
    reached on test: how much of what the noise allows was learnt."""
    ceiling = _ceiling(rows, truth, table_summary)
    if ceiling:
        metrics["noise_ceiling"] = ceiling
        if metrics.get("test", {}).get("r2") is not None and ceiling["r2"].get("test"):
            ceiling["test_fraction_reached"] = metrics["test"]["r2"] / ceiling["r2"]["test"]


def _member_scores(
    predictions: pd.DataFrame,
    member_predictions: np.ndarray,
    scores: Callable[[pd.DataFrame, str], dict[str, Any]],
) -> dict[str, Any]:
    """Each ensemble member's test scores, and the members' mean spread on the test rows: how
    much the ensemble's members disagree where nothing was fitted."""
    test = (predictions["split"] == "test").to_numpy()
    spread = member_predictions[:, test].std(axis=0).mean()
    return {
        "members": [
            scores(predictions.assign(member=m), "member")["test"] for m in member_predictions
        ],
        "ensemble_spread": {"test_mean_sd": float(spread)},
    }


def add_intervals(
    predictions: pd.DataFrame,
    level: float,
    calibrated: dict[str, Any] | None,
    scale: np.ndarray | None = None,
) -> dict[str, Any]:
    """`lower` and `upper` columns on `predictions` and their empirical coverage per split: the
    contest's conformal intervals (`calibrated`, from held-out residuals), else calibrated here
    on the validation residuals (then only the test coverage is out of sample); normalized by
    `scale` (the spread models' sd per row) where the contest was, or here when given."""
    if calibrated:
        intervals = smalldata.Intervals(**calibrated)
        if intervals.normalized and scale is None:  # no spread given (or none to read):
            intervals = intervals.plain()  # the constant width from the same residuals
        if not intervals.normalized:
            scale = None
    else:
        held = (predictions["split"] == "validation").to_numpy()
        source = f"validation residuals of {int(held.sum())} rows"
        intervals = smalldata.calibrate(
            predictions["label"].to_numpy()[held], predictions["prediction"].to_numpy()[held],
            level, None if scale is None else scale[held], source,
            "the spread of the ensemble's members" if scale is not None else "",
        )  # fmt: skip
    low, high = intervals.bounds(predictions["prediction"].to_numpy(), scale)
    predictions["lower"], predictions["upper"] = low, high
    inside = (predictions["label"] >= low) & (predictions["label"] <= high)
    calibrated_ok = not np.isnan(low).all()
    out = {
        **intervals.to_dict(),
        "coverage": {
            name: float(inside[predictions["split"] == name].mean())
            for name in ("train", "validation", "test")
            if (predictions["split"] == name).any() and calibrated_ok
        },
        "n": {name: int(n) for name, n in predictions["split"].value_counts().items()},
    }
    test = (predictions["split"] == "test").to_numpy()
    if intervals.normalized and calibrated_ok and test.sum() >= 30:
        # per-row widths are only honest if the narrow ones cover as well as the wide ones
        width = (high - low)[test]
        thirds = np.array_split(np.argsort(width, kind="stable"), 3)
        out["test_coverage_by_width"] = {
            part: float(inside.to_numpy()[test][rows].mean())
            for part, rows in zip(("narrow", "middle", "wide"), thirds, strict=True)
        }
    return out
