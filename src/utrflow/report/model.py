"""The report's model figures: learning curves, predicted against measured, residuals, ROC and
precision-recall, label distributions and the score bars against the baselines."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from utrflow.report import claims
from utrflow.report.figures import (
    PALETTE,
    SPLIT_COLORS,
    Png,
    corner_note,
    figure_to_data_uri,
    style,
)


def learning_curve(history: pd.DataFrame, best_epoch: int) -> Png:
    """Training and validation loss per epoch (member 0 bold, others faint), best epoch marked."""
    fig, ax = plt.subplots(figsize=(5.4, 4.4))
    members = history["member"].unique() if "member" in history else [None]
    for member in members:
        part = history if member is None else history[history["member"] == member]
        first = member in (None, members[0])
        alpha, width = (1.0, 2.0) if first else (0.35, 1.0)
        for column, split, name in (
            ("loss", "train", "training"),
            ("val_loss", "validation", "validation"),
        ):
            ax.plot(part["epoch"], part[column], color=SPLIT_COLORS[split], lw=width, alpha=alpha,
                    label=name if first else None)  # fmt: skip
    ax.axvline(
        best_epoch, color="#2d3748", ls="--", lw=1, label=f"best epoch ({best_epoch}, weights kept)"
    )
    ax.set_yscale("log")
    title = "Learning curves" + (f" ({len(members)} members)" if len(members) > 1 else "")
    style(ax, title, "epoch", "training loss (log scale)")
    ax.legend()
    return figure_to_data_uri(fig)


def scatter(predictions: pd.DataFrame, split_name: str, metrics: dict[str, Any]) -> Png:
    """Predicted against measured label on one split, with the identity line."""
    part = predictions[predictions["split"] == split_name]
    fig, ax = plt.subplots(figsize=(4.8, 4.6))
    if len(part) > 3000:
        ax.hexbin(
            part["label"], part["prediction"], gridsize=60, cmap="Blues", mincnt=1, bins="log"
        )
    else:
        ax.scatter(part["label"], part["prediction"], s=9, alpha=0.55, color=PALETTE["model"], lw=0)
    low = float(min(part["label"].min(), part["prediction"].min()))
    high = float(max(part["label"].max(), part["prediction"].max()))
    ax.plot([low, high], [low, high], color="#2d3748", lw=1, ls="--", label="y = x")
    m = metrics.get(split_name, {})
    if m.get("r2") is not None:

        def ci(key: str) -> str:  # the 95 % interval on fewer than claims.FEW_ROWS rows
            found = claims.interval_for(m, key)
            return f" ({found[0]:.2f}–{found[1]:.2f})" if found else ""

        corner_note(
            ax,
            f"n = {m['n']}\nr² = {m['r2']:.3f}{ci('r2')}\nR² = {m['r2_score']:.3f}\n"
            f"Spearman ρ = {m['spearman']:.3f}{ci('spearman')}",
        )
    style(
        ax,
        f"Predicted vs measured ({split_name} set)",
        "measured label (log2 expression)",
        "predicted label (log2 expression)",
    )
    ax.set_aspect("equal", adjustable="datalim")
    return figure_to_data_uri(fig)


def residuals(predictions: pd.DataFrame, split_name: str) -> Png:
    """Measured minus predicted against predicted: bias, and where the model is least sure."""
    part = predictions[predictions["split"] == split_name]
    residual = part["label"] - part["prediction"]
    fig, ax = plt.subplots(figsize=(4.8, 4.6))
    if len(part) > 3000:
        ax.hexbin(part["prediction"], residual, gridsize=60, cmap="Blues", mincnt=1, bins="log")
    else:
        ax.scatter(part["prediction"], residual, s=9, alpha=0.55, color=PALETTE["model"], lw=0)
    ax.axhline(0, color="#2d3748", lw=1, ls="--")
    corner_note(ax, f"mean {residual.mean():+.3f}\nsd {residual.std():.3f}")
    style(ax, f"Residuals ({split_name} set)", "predicted label (log2 expression)",
          "measured − predicted (log2)")  # fmt: skip
    return figure_to_data_uri(fig)


def roc_pr_curves(predictions: pd.DataFrame, split_name: str) -> Png:
    """ROC and precision-recall curves of the classifier on one split."""
    part = predictions[predictions["split"] == split_name]
    y, p = part["label"].astype(int), part["prediction"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 4.2))
    if y.nunique() == 2:
        fpr, tpr, _ = roc_curve(y, p)
        precision, recall, _ = precision_recall_curve(y, p)
        left.plot(fpr, tpr, color=PALETTE["model"], lw=2)
        right.plot(recall, precision, color=PALETTE["model"], lw=2)
    left.plot([0, 1], [0, 1], color="#a0aec0", ls="--", lw=1)
    right.axhline(y.mean(), color="#a0aec0", ls="--", lw=1, label="prevalence")
    style(left, f"ROC curve ({split_name} set)", "false positive rate", "true positive rate")
    style(right, f"Precision-recall ({split_name} set)", "recall", "precision")
    right.legend()
    return figure_to_data_uri(fig)


def label_histogram(split: pd.DataFrame) -> Png:
    """Label distribution of each split (they should look alike)."""
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    bins = np.histogram_bin_edges(split["label"], bins=40).tolist()
    for name in ("train", "validation", "test"):
        part = split.loc[split["split"] == name, "label"]
        ax.hist(
            part,
            bins=bins,
            histtype="step",
            lw=1.8,
            density=True,
            color=SPLIT_COLORS[name],
            label=f"{name} (n = {len(part)})",
        )
    style(ax, "Label distribution per split", "label (log2 expression)", "density")
    ax.legend()
    return figure_to_data_uri(fig)


def metric_bars(metrics: dict[str, Any], key: str, label: str) -> Png:
    """Test score of the model against the baselines; for regression the noise ceiling too."""
    entries = [(claims.model_name(metrics), metrics.get("test", {}), PALETTE["model"])]
    if "without_covariates" in metrics:
        entries.append(
            ("CNN without covariates", metrics["without_covariates"].get("test", {}), "#63b3ed")
        )
    entries += [
        (b["description"], b.get("test", {}), PALETTE.get(k, "#718096"))
        for k, b in metrics.get("baselines", {}).items()
    ]
    names = [e[0] for e in entries]
    values = [e[1].get(key) or 0.0 for e in entries]
    fig, ax = plt.subplots(figsize=(7.0, 0.5 * len(names) + 1.3))
    y = np.arange(len(names))[::-1]
    ax.barh(y, values, color=[e[2] for e in entries], height=0.6)
    for yi, v in zip(y, values, strict=True):
        ax.text(v + 0.01, yi, f"{v:.3f}", va="center")
    ceiling = metrics.get("noise_ceiling", {}).get("r2", {}).get("test")
    if ceiling and key == "r2":
        ax.axvline(
            ceiling,
            color=PALETTE["ceiling"],
            ls="--",
            lw=1.5,
            label=f"noise ceiling ({ceiling:.3f})",
        )
        ax.legend(loc="lower right")
    ax.set_yticks(y, names)
    ax.set_xlim(0, 1.1)
    style(ax, f"Test {label} against baselines", f"{label} on the test set", "")
    return figure_to_data_uri(fig)
