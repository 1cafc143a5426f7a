"""The report's model contest (preset auto): the leaderboard on the validation split, and the
learning curve over training-set size with the sizes it suggests for the next round."""

from __future__ import annotations

import math
import warnings
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning

from utrflow.model.search import suggest_sizes
from utrflow.report.claims import FEW_ROWS, hanley_mcneil_se
from utrflow.report.figures import SPLIT_COLORS, Png, figure_to_data_uri, style

GAINS = (0.05, 0.10)  # the score gains next_round says the rows for


def size_curve(curve: pd.DataFrame, score: str) -> Png:
    """Validation and test score against training rows, one line pair per model."""
    fig, ax = plt.subplots(figsize=(5.4, 4.0))
    for i, (name, part) in enumerate(curve.groupby("model", sort=False)):
        marker = "o" if i == 0 else "s"
        for split in ("validation", "test"):
            column = f"{split}_{score}"
            if column in part and part[column].notna().any():
                ax.plot(part["n_train"], part[column], marker=marker, color=SPLIT_COLORS[split],
                        alpha=1.0 if i == 0 else 0.45, label=f"{name}, {split}")  # fmt: skip
    ax.set_xscale("log", base=2)
    style(ax, "Learning curve over training-set size", "training rows (log scale)", score)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure_to_data_uri(fig)


def score_draws(
    scores: np.ndarray, validation: dict[str, Any], auc: bool, draws: int, seed: int
) -> np.ndarray | None:
    """Draws of each curve point's validation score as its rows allow (draws x points): r² as a
    squared Pearson r with Fisher's z, ROC-AUC with Hanley-McNeil's standard error; None when
    the validation split is too small to say."""
    n = int(validation.get("n") or 0)
    rng = np.random.default_rng(seed)
    if auc:
        positives = int(validation.get("positives") or 0)
        if not 0 < positives < n:
            return None
        sd = [max(hanley_mcneil_se(v, positives, n - positives), 1e-9) for v in scores]
        return np.clip(rng.normal(scores, sd, size=(draws, len(scores))), 0.0, 1.0)
    if n < 4:
        return None
    z = np.arctanh(np.sqrt(np.clip(scores, 0.0, 0.999999)))
    return np.tanh(rng.normal(z, 1 / math.sqrt(n - 3), size=(draws, len(z)))) ** 2


def advice_interval(
    curve: pd.DataFrame,
    next_round: dict[str, Any],
    metrics: dict[str, Any],
    draws: int = 200,
    seed: int = 0,
) -> dict[str, Any] | None:
    """The 95 % interval of the learning curve's advice (gain per doubling, training rows for
    each gain) when the curve's validation scores rest on fewer than FEW_ROWS rows: each
    point's score redrawn as its rows allow (independently: the points share the validation
    rows, so this errs wide) and the advice worked out again on each draw, as next_round does
    (search.suggest_sizes: both readings of the curve, nothing past its plateau or the noise
    ceiling; 200 draws, as each fits the power law anew). A draw that puts a gain out of reach
    counts as infinitely many rows."""
    validation = metrics.get("validation", {})
    n = int(validation.get("n") or 0)
    column = str(next_round.get("score", ""))
    if not 0 < n < FEW_ROWS or column not in curve:
        return None
    part = curve[
        (curve["model"] == next_round.get("model")) & curve[column].notna() & (curve["n_train"] > 0)
    ]
    if len(part) < 2:
        return None
    auc = column.endswith("roc_auc")
    drawn = score_draws(part[column].to_numpy(dtype=float), validation, auc, draws, seed)
    if drawn is None:
        return None
    ceiling = 1.0 if auc else metrics.get("noise_ceiling", {}).get("r2", {}).get("validation")
    n_train = part["n_train"].tolist()
    with warnings.catch_warnings():  # a draw the power law fits loosely: its line still counts
        warnings.simplefilter("ignore", OptimizeWarning)
        advice = [suggest_sizes(n_train, row.tolist(), ceiling) for row in drawn]
    slopes = [a["gain_per_doubling"] for a in advice]
    rows = {}
    for gain in GAINS:
        needed = [a["rows_for"].get(f"+{gain:.2f}", math.inf) for a in advice]
        rows[f"+{gain:.2f}"] = tuple(np.quantile(needed, [0.025, 0.975], method="inverted_cdf"))
    low, high = np.percentile(slopes, [2.5, 97.5])
    return {"n": n, "slope": (float(low), float(high)), "rows_for": rows}


def interval_text(found: dict[str, Any]) -> str:
    """The advice interval in words."""
    low, high = found["slope"]
    parts = [f"gain per doubling 95 % CI {low:.3f} to {high:.3f}"]
    for gain, (few, many) in found["rows_for"].items():
        if math.isinf(few):
            parts.append(f"rows for {gain}: out of reach at either end")
        else:
            far = "out of reach" if math.isinf(many) else f"{math.ceil(many):,}"
            parts.append(f"rows for {gain}: {math.ceil(few):,} to {far}")
    return (
        "; ".join(parts)
        + f" (each point's validation score rests on {found['n']} rows; the advice worked out"
        " again on scores drawn within their intervals)"
    )


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with None for missing values (the template shows a dash)."""
    rows = frame.to_dict("records")
    return [{str(k): (None if pd.isna(v) else v) for k, v in row.items()} for row in rows]


def section(
    leaderboard: pd.DataFrame | None,
    curve: pd.DataFrame | None,
    next_round: dict[str, Any] | None,
    metrics: dict[str, Any],
) -> dict[str, Any] | None:
    """What the template's contest section shows; None without a search (a fixed preset)."""
    if leaderboard is None:
        return None
    score_columns = [c for c in leaderboard.columns if c.startswith(("cv_", "validation_"))]
    selection = metrics.get("selection", {})
    out: dict[str, Any] = {
        "rows": records(leaderboard),
        "scores": score_columns,
        "selection": selection,
        "next_round": next_round,
        "advice_interval": None,
        "curve_rows": None,
        "figure": None,
    }
    if curve is not None and len(curve):
        score = "roc_auc" if metrics.get("task") == "classification" else "r2"
        out["curve_rows"] = records(curve)
        out["curve_scores"] = [c for c in curve.columns if c.startswith(("validation_", "test_"))]
        out["figure"] = size_curve(curve, score)
        found = advice_interval(curve, next_round or {}, metrics)
        out["advice_interval"] = interval_text(found) if found else None
    return out
