"""The self-contained HTML evaluation report: what users read first and show their group.

Figures are drawn with matplotlib and embedded as base64 PNG; styles are inline; nothing is
fetched from the network, so the file opens offline and can be mailed as it is.
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml
from jinja2 import Environment, PackageLoader, Undefined, select_autoescape
from sklearn.metrics import precision_recall_curve, roc_curve

from utrflow import io
from utrflow.report import contest as report_contest
from utrflow.report import design as report_design
from utrflow.report import interpret as report_interpret
from utrflow.report import plates as report_table
from utrflow.report.figures import PALETTE, SPLIT_COLORS, corner_note, figure_to_data_uri, style

NOT_COMPUTABLE = "not computable"


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
    crossval: dict[str, Any] | None = None
    plate_qc: pd.DataFrame | None = None  # plates only: results/table/plate_qc.tsv
    table_summary: dict[str, Any] | None = None  # plates only: results/table/summary.json
    funnels: list[dict[str, Any]] | None = None  # plates only: results/demux/*/funnel.json
    interpretation: dict[str, Any] | None = None  # results/interpret/interpretation.json
    designs: pd.DataFrame | None = None  # results/design/next_library.csv
    design_summary: dict[str, Any] | None = None  # results/design/summary.json
    leaderboard: pd.DataFrame | None = None  # preset auto: results/model/leaderboard.tsv
    learning_curve: pd.DataFrame | None = None  # preset auto: results/model/learning_curve.tsv
    next_round: dict[str, Any] | None = None  # preset auto: results/model/next_round.json


def number(value: float | Undefined | None, digits: int = 3) -> str:
    """A metric for a table cell: fixed digits, never '-0.000'; a dash when the input has no
    such value, "not computable" when it has one that could not be computed (JSON null, NaN:
    one test row, or labels that do not vary), never the text 'nan'."""
    if isinstance(value, Undefined):
        return "–"
    if value is None or not math.isfinite(value):
        return NOT_COMPUTABLE
    text = f"{value:.{digits}f}"
    return text.lstrip("-") if float(text) == 0 else text


def learning_curve(history: pd.DataFrame, best_epoch: int) -> str:
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
    ax.legend(frameon=False, fontsize=8)
    return figure_to_data_uri(fig)


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
        corner_note(
            ax,
            f"n = {m['n']}\nr² = {m['r2']:.3f}\nR² = {m['r2_score']:.3f}\n"
            f"Spearman ρ = {m['spearman']:.3f}",
        )
    style(
        ax,
        f"Predicted vs measured ({split_name} set)",
        "measured label (log2 expression)",
        "predicted label (log2 expression)",
    )
    ax.set_aspect("equal", adjustable="datalim")
    return figure_to_data_uri(fig)


def residuals(predictions: pd.DataFrame, split_name: str) -> str:
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


def roc_pr_curves(predictions: pd.DataFrame, split_name: str) -> str:
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
    right.legend(frameon=False, fontsize=8)
    return figure_to_data_uri(fig)


def label_histogram(split: pd.DataFrame) -> str:
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
    ax.legend(frameon=False, fontsize=8)
    return figure_to_data_uri(fig)


def metric_bars(metrics: dict[str, Any], key: str, label: str) -> str:
    """Test score of the model against the baselines; for regression the noise ceiling too."""
    entries = [("CNN", metrics.get("test", {}), PALETTE["model"])]
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
        ax.text(v + 0.01, yi, f"{v:.3f}", va="center", fontsize=9)
    ceiling = metrics.get("noise_ceiling", {}).get("r2", {}).get("test")
    if ceiling and key == "r2":
        ax.axvline(
            ceiling,
            color=PALETTE["ceiling"],
            ls="--",
            lw=1.5,
            label=f"noise ceiling ({ceiling:.3f})",
        )
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_yticks(y, names)
    ax.set_xlim(0, 1.1)
    style(ax, f"Test {label} against baselines", f"{label} on the test set", "")
    return figure_to_data_uri(fig)


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


REGRESSION_COLUMNS = [
    ("n", "n"),
    ("pearson_r", "Pearson r"),
    ("r2", "r²"),
    ("r2_score", "R²"),
    ("spearman", "Spearman ρ"),
    ("rmse", "RMSE"),
]
CLASSIFICATION_COLUMNS = [
    ("n", "n"),
    ("positives", "positives"),
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("accuracy", "accuracy"),
]


def headline_key(task: str) -> tuple[str, str]:
    """The one number a task is judged by, and its name."""
    return ("roc_auc", "ROC-AUC") if task == "classification" else ("r2", "r²")


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(model, split, metrics) rows: the CNN, its members, the no-covariate CNN, baselines."""
    rows: list[tuple[str, str, dict[str, Any]]] = [
        ("CNN" + (" ensemble" if "members" in metrics else ""), split, metrics[split])
        for split in ("validation", "test")
        if split in metrics
    ]
    rows += [(f"CNN member {i}", "test", m) for i, m in enumerate(metrics.get("members", []))]
    without = metrics.get("without_covariates", {})
    rows += [
        ("CNN without covariates", split, without[split])
        for split in ("validation", "test")
        if split in without
    ]
    for baseline in metrics.get("baselines", {}).values():
        rows += [
            (baseline["description"], split, baseline[split])
            for split in ("validation", "test")
            if split in baseline
        ]
    return rows


def best_baseline(metrics: dict[str, Any], key: str) -> tuple[str, float | None]:
    """The baseline with the highest test score."""
    scored = [
        (b["description"], b.get("test", {}).get(key))
        for b in metrics.get("baselines", {}).values()
    ]
    scored = [(name, value) for name, value in scored if value is not None]
    return max(scored, key=lambda item: item[1]) if scored else ("none", None)


def summary_cards(metrics: dict[str, Any], task: str) -> list[tuple[str, str, bool]]:
    """(value, caption, highlight) cards for the top of the report."""
    test = metrics.get("test", {})
    key, name = headline_key(task)
    baseline_name, baseline_value = best_baseline(metrics, key)
    if task == "classification":
        cards = [
            (number(test.get("roc_auc")), "test ROC-AUC", False),
            (number(test.get("pr_auc")), "test PR-AUC", False),
            (number(test.get("accuracy")), f"test accuracy at {test.get('threshold', 0.5)}", False),
        ]
    else:
        cards = [
            (number(test.get("r2")), "test r² (squared Pearson r)", False),
            (number(test.get("r2_score")), "test R² (coefficient of determination)", False),
            (number(test.get("spearman")), "test Spearman ρ", False),
        ]
        ceiling = metrics.get("noise_ceiling", {})
        if ceiling.get("r2", {}).get("test"):
            reached = ceiling.get("test_fraction_reached", 0.0)
            cards += [
                (number(ceiling["r2"]["test"]), "noise ceiling (best reachable test r²)", False),
                (f"{100 * reached:.0f}%", "of the noise ceiling reached", reached >= 0.8),
            ]
    cards.append(
        (number(baseline_value), f"test {name} of the best baseline ({baseline_name})", False)
    )
    if "ensemble_spread" in metrics:
        cards.append(
            (
                number(metrics["ensemble_spread"]["test_mean_sd"]),
                f"mean sd between the {len(metrics['members'])} members' test predictions",
                False,
            )
        )
    return cards


def warnings_for(inputs: ReportInputs) -> list[str]:
    """Plain-language warnings where something looks wrong."""
    out = []
    task = inputs.config["model"]["task"]
    key, name = headline_key(task)
    test = inputs.metrics.get("test", {})
    ceiling = inputs.metrics.get("noise_ceiling", {}).get("r2", {}).get("test")
    if ceiling and test.get("r2") is not None and test["r2"] < 0.8 * ceiling:
        out.append(
            f"The CNN's test r² ({test['r2']:.3f}) is below 80% of the noise ceiling "
            f"({ceiling:.3f}): more data, more epochs or another architecture may help."
        )
    baseline_name, baseline_value = best_baseline(inputs.metrics, key)
    if baseline_value is not None and test.get(key) is not None and baseline_value >= test[key]:
        out.append(
            f"A baseline ({baseline_name}) does as well as the CNN on the test set "
            f"({name} {baseline_value:.3f} against {test[key]:.3f}): the CNN adds nothing here yet."
        )
    without = inputs.metrics.get("without_covariates", {}).get("test", {}).get(key)
    if without is not None and test.get(key) is not None and without >= test[key]:
        out.append(
            f"The covariates do not help: without them the CNN reaches {name} {without:.3f}."
        )
    members = inputs.training.get("members", [inputs.training])
    if any(m.get("epochs_run") == inputs.config["model"]["epochs"] for m in members):
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
    metrics, task = inputs.metrics, inputs.config["model"]["task"]
    table = inputs.table[inputs.table["qc"] == "pass"]
    counts = inputs.split["split"].value_counts()
    lengths = table["sequence"].str.len()
    data_summary = {
        "wells in the labelled table": len(inputs.table),
        "rows passing QC (used for training)": len(table),
        "distinct sequences": int(table["sequence"].nunique()),
        "sequence length": f"{lengths.min()}–{lengths.max()} nt (median {lengths.median():.0f})",
        "train / validation / test": " / ".join(
            str(int(counts.get(s, 0))) for s in ("train", "validation", "test")
        ),
        "split method": inputs.config["split"]["method"],
        "label range": f"{table['label'].min():.2f} to {table['label'].max():.2f}",
    }
    if inputs.config["model"]["covariates"]:
        data_summary["covariates"] = ", ".join(inputs.config["model"]["covariates"])
    key, name = headline_key(task)
    if task == "classification":
        performance = [roc_pr_curves(inputs.predictions, "test")]
    else:
        performance = [scatter(inputs.predictions, s, metrics) for s in ("test", "validation")]
        performance.append(residuals(inputs.predictions, "test"))
    env = Environment(
        loader=PackageLoader("utrflow.report", "templates"), autoescape=select_autoescape()
    )
    env.filters["num"] = number
    template = env.get_template("report.html")
    return template.render(
        title=inputs.config["report"]["title"],
        source=inputs.config["source"],
        task=task,
        metrics=metrics,
        cards=summary_cards(metrics, task),
        columns=CLASSIFICATION_COLUMNS if task == "classification" else REGRESSION_COLUMNS,
        metric_rows=metric_rows(metrics),
        ceiling=metrics.get("noise_ceiling", {}).get("r2", {}),
        crossval=inputs.crossval,
        simulation=inputs.simulation,
        training=inputs.training,
        provenance=provenance(inputs.training),
        data_summary=data_summary,
        config_yaml=yaml.safe_dump(inputs.config, sort_keys=False),
        warnings=warnings_for(inputs)
        + report_table.table_warnings(inputs.table, inputs.plate_qc, inputs.table_summary),
        plates=report_table.section(
            inputs.table, inputs.plate_qc, inputs.table_summary, inputs.funnels
        ),
        design=report_design.section(inputs.designs, inputs.design_summary, inputs.predictions),
        interpretation=report_interpret.section(inputs.interpretation),
        contest=report_contest.section(
            inputs.leaderboard, inputs.learning_curve, inputs.next_round, metrics
        ),
        design_off_reason=(
            "the model uses covariates, and designs are scored on sequence alone"
            if inputs.config["model"]["covariates"]
            else "design.n_designs is 0"
        ),
        figures={
            "learning": learning_curve(inputs.history, inputs.training.get("best_epoch", 1))
            if len(inputs.history)
            else None,
            "performance": performance,
            "labels": label_histogram(inputs.split),
            "bars": metric_bars(metrics, key, name),
        },
    )


def run(
    config: dict[str, Any],
    output: Path,
    table: Path,
    split: Path,
    metrics: Path,
    predictions: Path,
    history: Path,
    training: Path,
    simulation: Path | None = None,
    crossval: Path | None = None,
    plate_qc: Path | None = None,
    table_summary: Path | None = None,
    interpretation: Path | None = None,
    funnels: Sequence[Path] = (),
    designs: Path | None = None,
    design_summary: Path | None = None,
    leaderboard: Path | None = None,
    learning_curve: Path | None = None,
    next_round: Path | None = None,
) -> None:
    """The `report` stage: every output of the run, loaded and drawn into one HTML file."""

    def optional_json(path: Path | None) -> Any:
        return io.read_json(path) if path else None

    inputs = ReportInputs(
        config=config,
        table=io.read_tsv(table),
        split=io.read_tsv(split),
        metrics=io.read_json(metrics),
        predictions=io.read_tsv(predictions),
        history=io.read_tsv(history),
        training=io.read_json(training),
        simulation=optional_json(simulation),
        crossval=optional_json(crossval),
        plate_qc=io.read_tsv(plate_qc) if plate_qc else None,
        table_summary=optional_json(table_summary),
        interpretation=optional_json(interpretation),
        funnels=[io.read_json(p) for p in funnels] or None,
        designs=pd.read_csv(designs) if designs else None,
        design_summary=optional_json(design_summary),
        leaderboard=io.read_tsv(leaderboard) if leaderboard else None,
        learning_curve=io.read_tsv(learning_curve) if learning_curve else None,
        next_round=optional_json(next_round),
    )
    with io.atomic_path(output) as tmp:
        tmp.write_text(render(inputs), encoding="utf-8")
