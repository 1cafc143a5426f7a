"""`model.preset: auto`: a small search over architectures and settings, the baselines in the
same contest, chosen on the validation split only.

Each candidate is a full model configuration (the configured one with a few keys changed), so
each trains as its own workflow job with `training.train_member`. The contest ranks every
candidate and every baseline by the validation score (regression: coefficient of determination
R², which punishes bias and scale as the squared loss does; classification: ROC-AUC), then tries
the mean of the top two and three: the best of these is the selected model. The test split is
never looked at here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from utrflow.model.settings import ModelSettings, model_settings
from utrflow.resources import Resources

# Keys a candidate may change; what the search leaves alone (task, batch size, ...) is the
# user's. `ensemble` and `gpus` (now `resources`) never reach a candidate: they change what
# runs, not a model.
NOT_A_MODEL_SETTING = ("ensemble", "gpus", "search", "interval")
DEFAULT_RESOURCES = Resources()
BASELINES = ("ridge_onehot", "ridge_kmer", "gbt_kmer")
TOP_ENSEMBLE = (2, 3)  # means of the top two and top three contenders are contenders too ...
NEAR_BEST = 0.1  # ... of those within this share of the best score (a weak one only dilutes)


@dataclass(frozen=True)
class Candidate:
    """One configuration of the search: a name, what it tries, and its changed keys."""

    name: str
    description: str
    changes: Mapping[str, Any]


def _scaled(filters: Sequence[int], factor: float) -> list[int]:
    return [max(round(f * factor), 4) for f in filters]


def catalogue(model_cfg: ModelSettings | Mapping[str, Any]) -> list[Candidate]:
    """Every candidate in the order the budget takes them: the configured stack first, then a
    residual dilated one (positions far apart) and the Optimus 5-Prime stack (the CPU default
    budget takes these three: on the README's two real sets the selected mean took `optimus`
    on one, `residual` on the other), then a narrow, more regularized one and the wider
    choices a GPU budget reaches."""
    settings = model_settings(model_cfg)
    filters = list(settings.conv_filters)
    width = max(filters)
    lr, dropout, kernel = settings.learning_rate, settings.dropout, settings.kernel_size
    return [
        Candidate("seed", "the configured Conv1D stack", {"preset": "seed"}),
        Candidate(
            "residual",
            f"Conv1D {max(width // 2, 4)} then residual blocks dilated 2 and 4",
            {"preset": "residual", "conv_filters": [max(width // 2, 4)], "dilations": [2, 4]},
        ),
        Candidate(
            "optimus", "Optimus 5-Prime: 3 x Conv1D 120, k 8, Dense 40", {"preset": "optimus"}
        ),
        Candidate(
            "narrow",
            "half the filters, dropout 0.3 (small data)",
            {"preset": "seed", "conv_filters": _scaled(filters, 0.5), "dropout": 0.3},
        ),
        Candidate(
            "lr_half", f"learning rate {lr / 2:g}", {"preset": "seed", "learning_rate": lr / 2}
        ),
        Candidate("kernel12", "kernel 12", {"preset": "seed", "kernel_size": max(kernel, 12)}),
        Candidate("dropout03", "dropout 0.3", {"preset": "seed", "dropout": max(dropout, 0.3)}),
        Candidate(
            "residual_deep",
            f"Conv1D {width} then residual blocks dilated 2, 4 and 8",
            {"preset": "residual", "conv_filters": [width], "dilations": [2, 4, 8]},
        ),
        Candidate(
            "wide", "twice the filters", {"preset": "seed", "conv_filters": _scaled(filters, 2)}
        ),
        Candidate(
            "deep",
            "one more Conv1D layer",
            {"preset": "seed", "conv_filters": [*filters, filters[-1]]},
        ),
        Candidate("pool2", "max-pooling by 2 after each block", {"preset": "seed", "pool_size": 2}),
        Candidate("lecture", "the lecture's Conv1D 10, k 5, pool 4", {"preset": "lecture"}),
    ]


def candidates(
    model_cfg: ModelSettings | Mapping[str, Any], spend: Resources = DEFAULT_RESOURCES
) -> list[Candidate]:
    """The candidates this configuration searches (empty unless `preset: auto`): the first
    `spend.search_budget` of the catalogue."""
    settings = model_settings(model_cfg)
    if settings.preset != "auto":
        return []
    return catalogue(settings)[: spend.search_budget]


def candidate_settings(model_cfg: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The full model settings of one candidate (what its training job depends on), as a
    config section: the given section's keys, in its order, with the candidate's changes."""
    found = {c.name: c for c in catalogue(model_cfg)}
    if name not in found:
        raise ValueError(f"no search candidate {name!r}")
    base = {k: v for k, v in model_cfg.items() if k not in NOT_A_MODEL_SETTING}
    settings = {**base, **found[name].changes}
    patience = model_cfg.get("search", {}).get("patience", 0)
    if patience:
        settings["patience"] = patience
    return settings


def score_name(task: str) -> str:
    return "roc_auc" if task == "classification" else "r2_score"


def contest(
    predictions: pd.DataFrame,
    entries: Sequence[Mapping[str, Any]],
    task: str = "regression",
    threshold: float = 0.5,
) -> tuple[pd.DataFrame, list[str]]:
    """Rank every contender on the validation split and pick the selected model.

    `predictions` has `split`, `label` and one column per contender; `entries` one mapping per
    contender (`name`, `kind`, `description`, `parameters`, `seconds`, `epochs`). Returns the
    leaderboard (best first, the means of the top contenders among the rows, `selected` marking
    the winner) and the names the selected model averages (one name: a single model). Means
    are formed only of contenders within `NEAR_BEST` of the best score.
    """
    key = score_name(task)
    validation = predictions[predictions["split"] == "validation"]
    rows = []
    for entry in entries:
        scores = _validation_scores(validation, entry["name"], task, threshold)
        rows.append({**entry, **scores})
    board = pd.DataFrame(rows)
    board = board.sort_values(
        f"validation_{key}", ascending=False, kind="stable", na_position="last"
    )
    best = board[f"validation_{key}"].iloc[0]
    near = board[board[f"validation_{key}"] >= best - NEAR_BEST * abs(best)]
    ranked = near["name"].tolist()
    means = []
    for k in TOP_ENSEMBLE:
        if len(ranked) < k:
            continue
        names = ranked[:k]
        column = validation[names].mean(axis=1)
        scores = _validation_scores(validation.assign(_mean=column), "_mean", task, threshold)
        picked = board.set_index("name").loc[names]
        means.append(
            {
                "name": "mean_of_" + "+".join(names),
                "kind": "ensemble",
                "description": f"mean of the top {k}",
                "parameters": int(picked["parameters"].sum()),
                "seconds": float(picked["seconds"].sum()),
                "epochs": None,
                **scores,
            }
        )
    board = pd.concat([board, pd.DataFrame(means)], ignore_index=True)
    board = board.sort_values(
        f"validation_{key}", ascending=False, kind="stable", na_position="last"
    )
    board = board.reset_index(drop=True)
    winner = board.iloc[0]
    chosen = (
        winner["name"].removeprefix("mean_of_").split("+")
        if winner["kind"] == "ensemble"
        else [winner["name"]]
    )
    board["selected"] = board.index == 0
    return board, chosen


def _validation_scores(
    validation: pd.DataFrame, column: str, task: str, threshold: float
) -> dict[str, Any]:
    # here, not at the top: the Snakefile reads the candidates from this module at every start
    # (on a cluster, in every job), and evaluate's SciPy import alone takes a second
    from utrflow.model import evaluate

    part = validation[["label", column]].rename(columns={column: "p"})
    if task == "classification":
        m = evaluate.classification_metrics(
            part["label"].to_numpy(), part["p"].to_numpy(), threshold
        )
        return {"validation_roc_auc": m["roc_auc"], "validation_pr_auc": m["pr_auc"]}
    m = evaluate.regression_metrics(part["label"].to_numpy(), part["p"].to_numpy())
    return {
        "validation_r2_score": m["r2_score"],
        "validation_r2": m["r2"],
        "validation_spearman": m["spearman"],
        "validation_rmse": m["rmse"],
    }


def training_fractions() -> tuple[float, ...]:
    """Shares of the training rows the learning curve trains on."""
    return (0.25, 0.5, 0.75, 1.0)


def subsample_train(rows: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """The same split with only `fraction` of the training rows kept as `train` (the rest
    marked `unused`); nested: a smaller share is inside every larger one."""
    train = np.flatnonzero(rows["split"].to_numpy() == "train")
    order = np.random.default_rng(seed).permutation(len(train))
    keep = train[order[: max(round(fraction * len(train)), 2)]]
    split = np.where(rows["split"].to_numpy() == "train", "unused", rows["split"].to_numpy())
    split[keep] = "train"
    return rows.assign(split=split)


MAX_EXTRAPOLATION = 16  # rows for a gain are promised up to this multiple of today's rows


def _saturating_fit(n: np.ndarray, y: np.ndarray, top: float) -> tuple[float, float, float] | None:
    """(a, b, c) of the inverse power law y = a - b n^-c (a: where the curve levels off, at
    most `top`) fitted to a learning curve, or None when it does not converge."""
    from scipy.optimize import curve_fit

    def law(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
        return a - b * np.power(x, -c)

    start = (min(top, float(y.max()) + 0.05), 1.0, 0.5)
    try:
        params, _ = curve_fit(
            law, n, y, p0=start, bounds=([float(y.max()), 0.0, 0.05], [top, np.inf, 2.0]),
            maxfev=5000,
        )  # fmt: skip
    except (RuntimeError, ValueError):
        return None
    a, b, c = (float(v) for v in params)
    return (a, b, c) if np.all(np.isfinite(params)) else None


def suggest_sizes(n_train: Sequence[int], scores: Sequence[float], ceiling: float | None) -> dict:
    """What more data buys, never promised beyond what the curve supports. Two readings of the
    curve: a line of the score against log2(training rows) (its slope: the gain per doubling),
    and the inverse power law a - b n^-c that learning curves follow, which levels off at `a`
    (at most the noise ceiling, or 1 for r² and ROC-AUC). The rows for +0.05 and +0.10 are the
    larger of the two readings (a line through a bending curve over-promises), and none past
    the plateau or MAX_EXTRAPOLATION times today's rows. A flat or falling curve says more of
    the same data won't help."""
    n = np.asarray(n_train, dtype=float)
    y = np.asarray(scores, dtype=float)
    ok = np.isfinite(y) & (n > 0)
    n, y = n[ok], y[ok]
    if len(n) < 2:
        return {"gain_per_doubling": None, "rows_for": {}}
    slope, intercept = np.polyfit(np.log2(n), y, 1)
    current = float(n.max())
    now = float(intercept + slope * np.log2(current))
    out: dict[str, Any] = {
        "gain_per_doubling": float(slope),
        "current_rows": int(current),
        "rows_for": {},
    }
    if slope <= 0.005:
        out["advice"] = "the curve is flat: more rows of the same kind will hardly help"
        return out
    top = 1.0 if ceiling is None else float(ceiling)
    fit = _saturating_fit(n, y, top) if len(n) >= 3 else None
    if fit is not None:
        out["levels_off_at"] = fit[0]
    beyond = []
    for gain in (0.05, 0.10):
        target = now + gain
        rows = current * 2 ** (gain / slope)
        if fit is not None:  # the same gain over the law's own value today
            a, b, c = fit
            aim = a - b * current**-c + gain
            rows = max(rows, (b / (a - aim)) ** (1 / c) if aim < a else np.inf)
        if target > top or rows > MAX_EXTRAPOLATION * current:
            beyond.append(f"+{gain:.2f}")
            continue
        out["rows_for"][f"+{gain:.2f}"] = int(np.ceil(rows - 1e-6))
    advice = [f"each doubling of the training rows adds about {slope:.3f}"]
    advice += [f"{v:,} rows for {k}" for k, v in out["rows_for"].items()]
    if beyond:
        limits = [f"promised up to {MAX_EXTRAPOLATION}x today's rows"]
        limits += [f"the curve levels off near {fit[0]:.2f}"] if fit is not None else []
        limits += [f"the noise ceiling is {ceiling:.2f}"] if ceiling is not None else []
        advice.append(
            f"{' or '.join(beyond)} is out of reach of more rows of the same kind "
            f"({'; '.join(limits)})"
        )
    out["advice"] = ", ".join(advice)
    return out
