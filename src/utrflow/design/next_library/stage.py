"""The design step from files: the gate (has the model earned a design?), the scorers from the
saved models, the next library, and the oligo order with its flanks."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utrflow import config as config_module
from utrflow import io
from utrflow.design.next_library.anneal import ConstraintsUnmet, MeanScorer
from utrflow.design.next_library.library import NEXT_LIBRARY_COLUMNS, Scorer, design_library
from utrflow.design.next_library.settings import DesignSettings
from utrflow.errors import InputError
from utrflow.model import network as model_module
from utrflow.model.encode import passing_rows
from utrflow.model.predict import predict_sequences
from utrflow.model.settings import model_settings
from utrflow.model.smalldata import Intervals

ORDER_COLUMNS = ["name", "oligo", "length", "utr"]


class Refused(Exception):
    """The model has not earned a design (`refusal`)."""


def refusal(
    settings: DesignSettings, validation: dict[str, Any], how: str = "validation"
) -> str | None:
    """Why the model has not earned a design (None when it has): a held-out r² under
    `min_model_r2` (a classifier's ROC-AUC under `min_model_auc`: it has no r²), too few
    held-out rows for the score to mean anything, or (regression) no gain over the mean of the
    labels (R² at or under 0, or its 95 % interval reaching 0); with what helps. `how` names
    the score: `validation` (the split) or `cross-validated` (every train + validation row)."""
    n = int(validation.get("n") or 0)
    if "roc_auc" in validation:
        name, score, key = "ROC-AUC", validation["roc_auc"], "min_model_auc"
    else:
        name, score, key = "r²", validation.get("r2"), "min_model_r2"
    force = "design.force: true for an exploratory library"
    if n < settings.min_validation_rows:
        return (
            f"the model's {how} {name} rests on {n} rows (design.min_validation_rows "
            f"{settings.min_validation_rows}); measure more wells (about "
            f"{int(np.ceil(settings.min_validation_rows / max(n, 1)))}x as many) or set {force}"
        )
    threshold = getattr(settings, key)
    if score is None or float(score) < threshold:
        shown = "none" if score is None else f"{float(score):.3f}"
        return (
            f"the model's {how} {name} {shown} is under design.{key} {threshold}; more "
            f"wells (see the learning curve), replicate wells to cut the noise, or {force}"
        )
    gain = validation.get("r2_score", 1.0)
    low = (validation.get("r2_score_ci95") or [gain])[0]
    if name == "r²" and (gain is None or low is None or float(low) <= 0):
        shown = "none" if gain is None else f"{float(gain):.3f} (95 % down to {float(low):.3f})"
        return (
            f"the model's {how} R² {shown} does not beat the mean of the labels; a design "
            f"from it would be a random one: more wells, or {force}"
        )
    return None


def gate_score(metrics: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The score the design gate reads, and its name: the contest's cross-validated score over
    every train + validation row when it ranked by cross-validation, else the validation
    split's."""
    selection = metrics.get("selection", {})
    if selection.get("scored_by") == "crossval" and selection.get("crossval"):
        return dict(selection["crossval"]), "cross-validated"
    return dict(metrics.get("validation", {})), "validation"


def measured_names(table: pd.DataFrame) -> list[str]:
    """What `nearest_measured` calls each row of the labelled table: its variant id, else its
    plate:well, else (a user's table without plates) its row in the table, header being row 1."""

    def text(value: object) -> str:
        return "" if value is None or value != value else str(value)  # NaN != NaN

    return [
        text(v) or (f"{text(p)}:{text(w)}" if text(p) and text(w) else f"row {i + 2}")
        for i, (v, p, w) in enumerate(
            zip(table["variant_id"], table["plate"], table["well"], strict=True)
        )
    ]


def ensemble_scorer(members: Sequence[object], model: object | None = None) -> Scorer:
    """Mean and sd over the members' predictions (table units) of a list of sequences; with
    `model`, the mean is that model's prediction (the selected model) and the members give the
    spread only."""

    predict_mean = mean_scorer(members, model)

    def score(sequences: list[str]) -> tuple[np.ndarray, np.ndarray]:
        mean, sd = predict_sequences(sequences, members)
        return (mean if model is None else predict_mean(sequences)), sd

    return score


def mean_scorer(members: Sequence[object], model: object | None = None) -> MeanScorer:
    """`ensemble_scorer`'s mean alone: the model's prediction, without running the members
    (with no model, the members' mean)."""

    def predict_mean(sequences: list[str]) -> np.ndarray:
        return predict_sequences(sequences, [model] if model is not None else members)[0]

    return predict_mean


TruthCheck = Callable[[pd.DataFrame, pd.DataFrame], dict[str, Any]]  # (designs, measured)


def run_design(
    cfg: Mapping[str, Any],
    table_path: Path,
    model_path: Path,
    member_paths: Sequence[Path],
    metrics: dict[str, Any],
    outputs: tuple[Path, Path, Path],
    default_flanks: tuple[str, str] = ("", ""),
    truth: TruthCheck | None = None,
) -> dict[str, Any]:
    """The design step from files, writing `outputs` (next library, oligo order, summary):
    refuse (empty library, the reason in the summary and one line on stderr) when the model has
    not earned a design, unless forced (then every design is exploratory); bins no narrower than
    the validation RMSE. `truth` (simulated data) scores the designs against the hidden truth."""
    settings = config_module.settings_from(DesignSettings, {**cfg["design"], "seed": cfg["seed"]})
    table, model, members = _load_inputs(settings, table_path, model_path, member_paths)
    validation, how = gate_score(metrics)
    preset = model_settings(cfg["model"]).preset
    model_info = _model_info(metrics, validation, how, preset, len(members))
    reason = refusal(settings, validation, how)
    prefix, suffix = oligo_flanks(settings, cfg["construct"], default_flanks)
    summary: dict[str, Any]
    try:
        if reason and not settings.force:
            raise Refused(reason)
        designs, summary = design_library(
            table,
            ensemble_scorer(members, model),
            settings,
            prefix,
            suffix,
            model_error=float(validation.get("rmse") or 0.0),
            all_exploratory=reason is not None,
            predict_mean=mean_scorer(members, model),
            intervals=_intervals(metrics),
        )
        summary = {**summary, "refused": None, "forced": reason, "model": model_info}
        if truth is not None:
            summary["simulated_truth"] = truth(designs, table)
    except (Refused, ConstraintsUnmet) as why:  # the run and its report go on without designs
        designs, summary = _refused(str(why), model_info)
    _write_outputs(designs, summary, outputs, prefix, suffix)
    return summary


def _load_inputs(
    settings: DesignSettings, table_path: Path, model_path: Path, member_paths: Sequence[Path]
) -> tuple[pd.DataFrame, Any, list[Any]]:
    """The passing measured rows (named), the model and its members, refused in one line
    before any annealing when the model needs covariates or is narrower than the designs."""
    labelled = io.read_tsv(table_path)
    table = passing_rows(labelled.assign(name=measured_names(labelled)), str(table_path))
    model = model_module.load(model_path)
    members = [model_module.load(p) for p in member_paths]
    if len(model.inputs) > 1:
        raise InputError("design: the model needs covariates; design works on sequence alone")
    width = model.inputs[0].shape[1]
    if settings.max_length > width:
        raise InputError(f"design.max_length {settings.max_length} exceeds the model's {width} nt")
    return table, model, members


def _model_info(
    metrics: Mapping[str, Any],
    validation: Mapping[str, Any],
    how: str,
    preset: str,
    spread_from: int,
) -> dict[str, Any]:
    """What the summary says of the model behind the designs, so the report can show how far
    they may be trusted (refused or not)."""
    return {
        "selected": metrics.get("selection", {}).get("selected", preset),
        "scored_by": how,
        "why": metrics.get("selection", {}).get("why"),
        "validation_r2": validation.get("r2"),
        "validation_r2_ci95": validation.get("ci95"),
        "validation_r2_score": validation.get("r2_score"),
        "validation_roc_auc": validation.get("roc_auc"),
        "validation_rmse": validation.get("rmse"),
        "validation_n": validation.get("n"),
        "spread_from": spread_from,
        "intervals": metrics.get("intervals"),
    }


def _refused(why: str, model_info: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """An empty library and a summary naming the reason (one line on stderr too): a refusal
    is a result of the run, not its failure."""
    said = why.removeprefix("design: ")
    sys.stderr.write(f"utrflow: design refused: {said}\n")
    designs = pd.DataFrame(columns=NEXT_LIBRARY_COLUMNS)
    summary = {"refused": said, "designed": 0, "exploratory": 0, "bins": [],
               "model": model_info, "status": "not_run", "reason": said}  # fmt: skip
    return designs, summary


def _write_outputs(
    designs: pd.DataFrame,
    summary: Mapping[str, Any],
    outputs: tuple[Path, Path, Path],
    prefix: str,
    suffix: str,
) -> None:
    """The next library, its oligo order and the summary, each written whole or not at all."""
    next_library, oligo_order_path, summary_path = outputs
    with io.atomic_path(next_library) as tmp:
        designs.to_csv(tmp, index=False, float_format="%.4f", lineterminator="\n")
    with io.atomic_path(oligo_order_path) as tmp:
        oligo_order(designs, prefix, suffix).to_csv(tmp, index=False, lineterminator="\n")
    io.write_json(summary, summary_path)


def _intervals(metrics: Mapping[str, Any]) -> Intervals | None:
    """The model's calibrated prediction intervals from the metrics (None without)."""
    given = metrics.get("intervals")
    if not given:
        return None
    fields = {f.name for f in dataclasses.fields(Intervals)}
    return Intervals(**{k: v for k, v in given.items() if k in fields})


def oligo_flanks(
    settings: DesignSettings, construct: Mapping[str, str], default: tuple[str, str] = ("", "")
) -> tuple[str, str]:
    """Bases around the UTR in the ordered oligo: the settings', else the construct's flanks,
    else `default` (on simulated data the caller passes the simulated construct's)."""
    prefix = settings.oligo_prefix or construct.get("upstream_flank", "") or default[0]
    suffix = settings.oligo_suffix or construct.get("downstream_flank", "") or default[1]
    return prefix.upper(), suffix.upper()


def oligo_order(designs: pd.DataFrame, prefix: str, suffix: str) -> pd.DataFrame:
    """The designs with the flanks synthesis and cloning need, ready to send."""
    oligos = [prefix + s + suffix for s in designs["sequence"]]
    return pd.DataFrame(
        {
            "name": designs["id"],
            "oligo": oligos,
            "length": [len(o) for o in oligos],
            "utr": designs["sequence"],
        },
        columns=ORDER_COLUMNS,
    )
