"""What the report claims, said honestly: the selected model named as it is, intervals beside
every correlation resting on few rows, claims of what a model learned only when it earned them,
and warnings in plain language."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Undefined

NOT_COMPUTABLE = "not computable"
FEW_ROWS = 100  # below this many rows a correlation is shown with its 95 % interval
MIN_TEST_FOR_CLAIMS = 50  # test rows a claim of what the model learned needs


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


def correlation_interval(r: float, n: int, rank: bool = False) -> tuple[float, float] | None:
    """95 % interval of a Pearson (or, `rank`, Spearman) correlation from n pairs, by Fisher's z
    (Spearman: Fieller's standard error 1.06/sqrt(n-3)); None below 4 pairs."""
    if n < 4 or not math.isfinite(r):
        return None
    z = math.atanh(max(min(r, 0.999999), -0.999999))
    half = 1.96 * (1.06 if rank else 1.0) / math.sqrt(n - 3)
    return math.tanh(z - half), math.tanh(z + half)


def squared_interval(r2: float, n: int, sign: float = 1.0) -> tuple[float, float] | None:
    """95 % interval of a squared Pearson r (from the interval of r; 0 when r's spans 0)."""
    if r2 is None or not math.isfinite(r2):
        return None
    found = correlation_interval(math.copysign(math.sqrt(max(r2, 0.0)), sign), n)
    if found is None:
        return None
    low, high = found
    if low <= 0 <= high:
        return 0.0, max(low**2, high**2)
    return min(low**2, high**2), max(low**2, high**2)


def interval_text(interval: Any) -> str:
    """'95 % CI 0.10-0.68', or '' without an interval."""
    if interval is None:
        return ""
    return f"95 % CI {number(interval[0], 2)}–{number(interval[1], 2)}"


def with_interval(value: float | None, interval: Any) -> str:
    """'0.412 (95 % CI 0.10-0.68)' when an interval is given, else the number alone."""
    text = number(value)
    if interval is None or text == NOT_COMPUTABLE:
        return text
    return f"{text} ({interval_text(interval)})"


def auc_interval(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float] | None:
    """DeLong's 95 % interval of the ROC-AUC of `scores` for 0/1 `labels`: the AUC's variance
    from each positive's and each negative's share of the pairs it wins (ties count half);
    None with fewer than 2 of either class."""
    labels = np.asarray(labels, dtype=float)
    scores = np.asarray(scores, dtype=float)
    positive, negative = scores[labels == 1], scores[labels == 0]
    if len(positive) < 2 or len(negative) < 2:
        return None
    wins = (positive[:, None] > negative[None, :]) + 0.5 * (positive[:, None] == negative)
    auc = float(wins.mean())
    variance = wins.mean(axis=1).var(ddof=1) / len(positive)
    variance += wins.mean(axis=0).var(ddof=1) / len(negative)
    half = 1.96 * math.sqrt(variance)
    return max(0.0, auc - half), min(1.0, auc + half)


def hanley_mcneil_se(auc: float, positives: int, negatives: int) -> float:
    """The standard error of a ROC-AUC from the AUC and the class sizes alone (Hanley & McNeil
    1982): for rows whose predictions the report does not have (the baselines')."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)
    ) / (positives * negatives)
    return math.sqrt(max(variance, 0.0))


def hanley_mcneil_interval(auc: float, positives: int, negatives: int) -> tuple[float, float]:
    """The 95 % interval of a ROC-AUC by Hanley-McNeil's standard error, within 0 and 1."""
    half = 1.96 * hanley_mcneil_se(auc, positives, negatives)
    return max(0.0, auc - half), min(1.0, auc + half)


def interval_for(metrics: dict[str, Any], key: str) -> tuple[float, float] | None:
    """The 95 % interval of a split's r², Pearson r, Spearman rho or ROC-AUC when it rests on
    fewer than FEW_ROWS rows; None otherwise (or for other metrics). ROC-AUC: DeLong's from
    the predictions when `with_auc_intervals` added it (`roc_auc_ci95`), else Hanley-McNeil's."""
    n, value = metrics.get("n") or 0, metrics.get(key)
    if value is None or n >= FEW_ROWS:
        return None
    if key == "roc_auc":
        positives = int(metrics.get("positives") or 0)
        if metrics.get("roc_auc_ci95") is not None:
            low, high = metrics["roc_auc_ci95"]
            return float(low), float(high)
        if 0 < positives < n:
            return hanley_mcneil_interval(value, positives, n - positives)
        return None
    if key == "r2":
        return squared_interval(value, n, sign=metrics.get("pearson_r") or 1.0)
    if key in ("pearson_r", "spearman"):
        return correlation_interval(value, n, rank=key == "spearman")
    return None


def r2_score_interval(
    label: np.ndarray, prediction: np.ndarray, draws: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """95 % bootstrap interval of the coefficient of determination R² (rows resampled with
    replacement; None below 4 rows or when the labels do not vary)."""
    n = len(label)
    if n < 4 or np.ptp(label) == 0:
        return None
    rows = np.random.default_rng(seed).integers(0, n, size=(draws, n))
    y, p = label[rows], prediction[rows]
    total = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    keep = total > 0
    scores = 1 - ((y - p) ** 2).sum(axis=1)[keep] / total[keep]
    low, high = np.percentile(scores, [2.5, 97.5])
    return float(low), float(high)


def with_auc_intervals(metrics: dict[str, Any], predictions: pd.DataFrame) -> dict[str, Any]:
    """`metrics` with DeLong's interval (`roc_auc_ci95`) beside the model's validation and test
    ROC-AUC when they rest on fewer than FEW_ROWS rows (classification)."""
    out = dict(metrics)
    for split in ("validation", "test"):
        scores = metrics.get(split)
        if not scores or scores.get("roc_auc") is None or (scores.get("n") or 0) >= FEW_ROWS:
            continue
        part = predictions[predictions["split"] == split]
        found = auc_interval(part["label"].to_numpy(), part["prediction"].to_numpy())
        out[split] = {**scores, "roc_auc_ci95": found}
    return out


def model_name(metrics: dict[str, Any]) -> str:
    """The model as it is: the contest's choice (a mean of which contenders, each said as CNN
    or baseline), and the seeds averaged; "CNN" only when it is one."""
    selection = metrics.get("selection")
    seeds = len(metrics.get("members", []))
    if selection:
        baselines = metrics.get("baselines", {})
        parts = [
            f"{n} ({'baseline: ' + baselines[n]['description'] if n in baselines else 'CNN'})"
            for n in selection.get("averages", [selection["selected"]])
        ]
        name = parts[0] if len(parts) == 1 else "mean of " + " + ".join(parts)
    else:
        name = "CNN"
    return name + (f", {seeds} members (seeds) averaged" if seeds > 1 else "")


def learned_claims_trusted(metrics: dict[str, Any], task: str) -> tuple[bool, str]:
    """Whether claims of what the model learned (a motif recovered) may stand: only when the
    model beats its best baseline on a test set of MIN_TEST_FOR_CLAIMS rows or more."""
    key, name = headline_key(task)
    test = metrics.get("test", {})
    n, value = test.get("n") or 0, test.get(key)
    baseline_name, baseline = best_baseline(metrics, key)
    if value is None:
        return False, f"the test {name} could not be computed"
    if n < MIN_TEST_FOR_CLAIMS:
        return False, f"the test set holds {n} rows (at least {MIN_TEST_FOR_CLAIMS} are needed)"
    if baseline is not None and value <= baseline:
        return False, (
            f"the model (test {name} {value:.3f}) does not beat the {baseline_name} baseline "
            f"({baseline:.3f})"
        )
    return True, ""


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
        (model_name(metrics), split, metrics[split])
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


def ceiling_interval(metrics: dict[str, Any]) -> Any:
    """The noise ceiling's 95 % interval (replicate wells), when it has one."""
    return metrics.get("noise_ceiling", {}).get("ci95")


def summary_cards(
    metrics: dict[str, Any], task: str, predictions: pd.DataFrame | None = None
) -> list[tuple[str, str, str, bool]]:
    """(value, its 95 % interval or '', caption, highlight) cards for the top of the report:
    each score resting on fewer than FEW_ROWS rows with its interval (R²: bootstrap over the
    test rows of `predictions`)."""
    test = metrics.get("test", {})
    r2_score_ci = None
    if predictions is not None and 0 < (test.get("n") or 0) < FEW_ROWS:
        part = predictions[predictions["split"] == "test"]
        r2_score_ci = r2_score_interval(
            part["label"].to_numpy(dtype=float), part["prediction"].to_numpy(dtype=float)
        )
    key, name = headline_key(task)
    baseline_name, baseline_value = best_baseline(metrics, key)
    n = f" (n = {test['n']})" if test.get("n") else ""
    if task == "classification":
        cards = [
            (number(test.get("roc_auc")), interval_text(interval_for(test, "roc_auc")),
             f"test ROC-AUC{n}", False),
            (number(test.get("pr_auc")), "", "test PR-AUC", False),
            (number(test.get("accuracy")), "", f"test accuracy at {test.get('threshold', 0.5)}",
             False),
        ]  # fmt: skip
    else:
        cards = [
            (number(test.get("r2")), interval_text(interval_for(test, "r2")),
             f"test r² (squared Pearson r){n}", False),
            (number(test.get("r2_score")), interval_text(r2_score_ci),
             "test R² (coefficient of determination)", False),
            (number(test.get("spearman")), interval_text(interval_for(test, "spearman")),
             "test Spearman ρ", False),
        ]  # fmt: skip
        ceiling = metrics.get("noise_ceiling", {})
        if ceiling.get("r2", {}).get("test"):
            reached = ceiling.get("test_fraction_reached", 0.0)
            cards += [
                (number(ceiling["r2"]["test"]), interval_text(ceiling_interval(metrics)),
                 "noise ceiling (best reachable test r²)", False),
                (f"{100 * reached:.0f}%", "", "of the noise ceiling reached", reached >= 0.8),
            ]  # fmt: skip
    cards.append(
        (number(baseline_value), "", f"test {name} of the best baseline ({baseline_name})", False)
    )
    if "ensemble_spread" in metrics:
        cards.append(
            (
                number(metrics["ensemble_spread"]["test_mean_sd"]),
                "",
                f"mean sd between the {len(metrics['members'])} members' test predictions",
                False,
            )
        )
    return cards


def warnings_for(
    config: dict[str, Any], metrics: dict[str, Any], training: dict[str, Any]
) -> list[str]:
    """Plain-language warnings where something looks wrong with the model."""
    out = []
    task = config["model"]["task"]
    key, name = headline_key(task)
    test = metrics.get("test", {})
    ceiling = metrics.get("noise_ceiling", {}).get("r2", {}).get("test")
    if ceiling and test.get("r2") is not None and test["r2"] < 0.8 * ceiling:
        out.append(
            f"The model's test r² ({test['r2']:.3f}) is below 80% of the noise ceiling "
            f"({ceiling:.3f}): more data, more epochs or another architecture may help."
        )
    baseline_name, baseline_value = best_baseline(metrics, key)
    if baseline_value is not None and test.get(key) is not None and baseline_value >= test[key]:
        out.append(
            f"A baseline ({baseline_name}) does as well as the model on the test set "
            f"({name} {baseline_value:.3f} against {test[key]:.3f}): the model adds nothing "
            "here yet."
        )
    without = metrics.get("without_covariates", {}).get("test", {}).get(key)
    if without is not None and test.get(key) is not None and without >= test[key]:
        out.append(
            f"The covariates do not help: without them the CNN reaches {name} {without:.3f}."
        )
    members = training.get("members", [training])
    if any(m.get("epochs_run") == config["model"]["epochs"] for m in members):
        out.append(
            "Training stopped at the epoch limit, not by early stopping: "
            "raise model.epochs and the model may improve."
        )
    n_test = test.get("n", 0)
    if n_test and n_test < FEW_ROWS:
        out.append(
            f"The test set has only {n_test} sequences: its metrics are uncertain (their 95 % "
            "intervals are shown beside them)."
        )
    return out
