"""The report's model contest (preset auto): the leaderboard on the validation split, and the
learning curve over training-set size with the sizes it suggests for the next round."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from utrflow.report.figures import SPLIT_COLORS, Png, figure_to_data_uri, style


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
        "curve_rows": None,
        "figure": None,
    }
    if curve is not None and len(curve):
        score = "roc_auc" if metrics.get("task") == "classification" else "r2"
        out["curve_rows"] = records(curve)
        out["curve_scores"] = [c for c in curve.columns if c.startswith(("validation_", "test_"))]
        out["figure"] = size_curve(curve, score)
    return out
