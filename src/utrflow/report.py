"""The self-contained HTML evaluation report: what users read first and show their group.

Figures are drawn with matplotlib and embedded as base64 PNG; styles are inline; nothing is
fetched from the network, so the file opens offline and can be mailed as it is.
"""

from __future__ import annotations

import base64
import datetime as dt
import io as stdio
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml
from jinja2 import Environment, PackageLoader, Undefined, select_autoescape

PALETTE = {"model": "#2b6cb0", "ridge_kmer": "#dd6b20", "mean": "#718096", "ceiling": "#2f855a"}
SPLIT_COLORS = {"train": "#a0aec0", "validation": "#dd6b20", "test": "#2b6cb0"}


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report draws from, already loaded."""

    config: dict[str, Any]
    table: pd.DataFrame
    split: pd.DataFrame
    metrics: dict[str, Any]
    predictions: pd.DataFrame
    history: pd.DataFrame
    training: dict[str, Any]
    simulation: dict[str, Any] | None = None


def number(value: float | Undefined | None, digits: int = 3) -> str:
    """A metric for a table cell: fixed digits, a dash when missing, never '-0.000'."""
    if value is None or isinstance(value, Undefined):
        return "–"
    text = f"{value:.{digits}f}"
    return text.lstrip("-") if float(text) == 0 else text


def _figure_to_data_uri(fig) -> str:
    buffer = stdio.BytesIO()
    fig.savefig(buffer, format="png", dpi=144, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _style(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=11, loc="left", fontweight="bold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(alpha=0.25, linewidth=0.6)


def learning_curve(history: pd.DataFrame, best_epoch: int) -> str:
    """Training and validation loss per epoch, with the restored best epoch marked."""
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    ax.plot(history["epoch"], history["loss"], label="training", color=SPLIT_COLORS["train"], lw=2)
    ax.plot(
        history["epoch"],
        history["val_loss"],
        label="validation",
        color=SPLIT_COLORS["validation"],
        lw=2,
    )
    ax.axvline(
        best_epoch, color="#2d3748", ls="--", lw=1, label=f"best epoch ({best_epoch}, weights kept)"
    )
    ax.set_yscale("log")
    _style(ax, "Learning curves", "epoch", "MSE on standardized label (log scale)")
    ax.legend(frameon=False, fontsize=8)
    return _figure_to_data_uri(fig)


def scatter(predictions: pd.DataFrame, split_name: str, metrics: dict[str, Any]) -> str:
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
        ax.text(
            0.03,
            0.97,
            f"n = {m['n']}\nr² = {m['r2']:.3f}\nR² = {m['r2_score']:.3f}\n"
            f"Spearman ρ = {m['spearman']:.3f}",
            transform=ax.transAxes,
            va="top",
            fontsize=9,
            bbox={"facecolor": "white", "edgecolor": "#cbd5e0", "boxstyle": "round"},
        )
    _style(
        ax,
        f"Predicted vs measured ({split_name} set)",
        "measured label (log2 expression)",
        "predicted label (log2 expression)",
    )
    ax.set_aspect("equal", adjustable="datalim")
    return _figure_to_data_uri(fig)


def label_histogram(split: pd.DataFrame) -> str:
    """Label distribution of each split (they should look alike)."""
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    bins = np.histogram_bin_edges(split["label"], bins=40)
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
    _style(ax, "Label distribution per split", "label (log2 expression)", "density")
    ax.legend(frameon=False, fontsize=8)
    return _figure_to_data_uri(fig)


def r2_bars(metrics: dict[str, Any]) -> str:
    """Test r² of the model against the baselines, with the noise ceiling as the target line."""
    names, values, colors = [], [], []
    for name, block, color in [
        ("CNN", metrics.get("test", {}), PALETTE["model"]),
        *[
            (b["description"], b.get("test", {}), PALETTE.get(k, "#718096"))
            for k, b in metrics.get("baselines", {}).items()
        ],
    ]:
        names.append(name)
        values.append(block.get("r2") or 0.0)
        colors.append(color)
    fig, ax = plt.subplots(figsize=(6.2, 0.55 * len(names) + 1.2))
    y = np.arange(len(names))[::-1]
    ax.barh(y, values, color=colors, height=0.6)
    for yi, v in zip(y, values, strict=True):
        ax.text(v + 0.01, yi, f"{v:.3f}", va="center", fontsize=9)
    ceiling = metrics.get("noise_ceiling", {}).get("r2", {}).get("test")
    if ceiling:
        ax.axvline(
            ceiling,
            color=PALETTE["ceiling"],
            ls="--",
            lw=1.5,
            label=f"noise ceiling ({ceiling:.3f})",
        )
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_yticks(y, names)
    ax.set_xlim(0, 1.05)
    _style(ax, "Test r² against baselines", "squared Pearson r on the test set", "")
    return _figure_to_data_uri(fig)


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def provenance(training: dict[str, Any]) -> dict[str, str]:
    """Versions, commit, date and training device: what someone needs to reproduce the run."""
    versions = {}
    for package in (
        "utrflow",
        "snakemake",
        "keras",
        "tensorflow",
        "numpy",
        "pandas",
        "scikit-learn",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git commit": _git_commit(),
        "training device": training.get("device", "unknown"),
        "Keras backend": training.get("backend", "unknown"),
        **{f"{k} version": v for k, v in versions.items()},
    }


def warnings_for(inputs: ReportInputs) -> list[str]:
    """Plain-language warnings where something looks wrong."""
    out = []
    test = inputs.metrics.get("test", {})
    ceiling = inputs.metrics.get("noise_ceiling", {}).get("r2", {}).get("test")
    ridge = inputs.metrics.get("baselines", {}).get("ridge_kmer", {}).get("test", {})
    if ceiling and test.get("r2") is not None and test["r2"] < 0.8 * ceiling:
        out.append(
            f"The CNN's test r² ({test['r2']:.3f}) is below 80% of the noise ceiling "
            f"({ceiling:.3f}): more data, more epochs or another architecture may help."
        )
    if ridge.get("r2") is not None and test.get("r2") is not None and ridge["r2"] >= test["r2"]:
        out.append(
            "The ridge baseline on k-mer counts does as well as the CNN on the test set: "
            "the CNN adds nothing here yet."
        )
    if inputs.training.get("epochs_run") == inputs.config["model"]["epochs"]:
        out.append(
            "Training stopped at the epoch limit, not by early stopping: "
            "raise model.epochs and the model may improve."
        )
    n_test = test.get("n", 0)
    if n_test and n_test < 100:
        out.append(f"The test set has only {n_test} sequences: its metrics are uncertain.")
    return out


def render(inputs: ReportInputs) -> str:
    """The whole report as one HTML string."""
    metrics, table = inputs.metrics, inputs.table
    counts = inputs.split["split"].value_counts()
    lengths = table["sequence"].str.len()
    data_summary = {
        "wells in the labelled table": len(table),
        "rows passing QC (used for training)": int((table["qc"] == "pass").sum()),
        "distinct sequences": int(table["sequence"].nunique()),
        "sequence length": f"{lengths.min()}–{lengths.max()} nt (median {lengths.median():.0f})",
        "train / validation / test": " / ".join(
            str(int(counts.get(s, 0))) for s in ("train", "validation", "test")
        ),
        "label range": f"{table['label'].min():.2f} to {table['label'].max():.2f}",
    }
    rows = [("CNN", metrics)] + [
        (b["description"], b) for b in metrics.get("baselines", {}).values()
    ]
    ceiling = metrics.get("noise_ceiling", {}).get("r2", {})
    env = Environment(loader=PackageLoader("utrflow", "templates"), autoescape=select_autoescape())
    env.filters["num"] = number
    template = env.get_template("report.html")
    return template.render(
        title=inputs.config["report"]["title"],
        source=inputs.config["source"],
        metrics=metrics,
        metric_rows=rows,
        ceiling=ceiling,
        simulation=inputs.simulation,
        training=inputs.training,
        provenance=provenance(inputs.training),
        data_summary=data_summary,
        config_yaml=yaml.safe_dump(inputs.config, sort_keys=False),
        warnings=warnings_for(inputs),
        figures={
            "learning": learning_curve(inputs.history, inputs.training.get("best_epoch", 1)),
            "scatter_test": scatter(inputs.predictions, "test", metrics),
            "scatter_validation": scatter(inputs.predictions, "validation", metrics),
            "labels": label_histogram(inputs.split),
            "r2_bars": r2_bars(metrics),
        },
    )
