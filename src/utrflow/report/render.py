"""The self-contained HTML evaluation report: what users read first and show their group.

It renders after any stage: the QC of reads, wells and plates alone (`results/report/qc.html`,
the first look at new data), or with the model; when the model could not run (a pilot plate),
it says in the model's place why and what would let it. Figures are matplotlib PNGs embedded as
data URIs; styles and the one script (the well table's filter and sort, the plate maps' views)
are inline; nothing is fetched from the network, so the file opens offline and can be mailed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from jinja2 import Environment, PackageLoader, select_autoescape

from utrflow import io
from utrflow.report import calibration as report_calibration
from utrflow.report import claims
from utrflow.report import contest as report_contest
from utrflow.report import coverage as report_coverage
from utrflow.report import design as report_design
from utrflow.report import interpret as report_interpret
from utrflow.report import model as report_model
from utrflow.report import plates as report_table
from utrflow.report import provenance as report_provenance
from utrflow.report import wells as report_wells
from utrflow.report.claims import NOT_COMPUTABLE, number

__all__ = ["NOT_COMPUTABLE", "ModelInputs", "ReportInputs", "has_wells", "number", "render", "run"]


@dataclass(frozen=True)
class ModelInputs:
    """What the model stages wrote, already loaded."""

    split: pd.DataFrame
    metrics: dict[str, Any]
    predictions: pd.DataFrame
    history: pd.DataFrame
    training: dict[str, Any]
    crossval: dict[str, Any] | None = None
    interpretation: dict[str, Any] | None = None  # results/interpret/interpretation.json
    designs: pd.DataFrame | None = None  # results/design/next_library.csv
    design_summary: dict[str, Any] | None = None  # results/design/summary.json
    leaderboard: pd.DataFrame | None = None  # preset auto: results/model/leaderboard.tsv
    learning_curve: pd.DataFrame | None = None  # preset auto: results/model/learning_curve.tsv
    next_round: dict[str, Any] | None = None  # preset auto: results/model/next_round.json


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report draws from, already loaded. `model` is None when the model did
    not run: `model_status` then says why (None too: a QC-only report)."""

    config: dict[str, Any]
    table: pd.DataFrame
    model: ModelInputs | None = None
    model_status: dict[str, Any] | None = None  # results/model/status.json
    simulation: dict[str, Any] | None = None
    plate_qc: pd.DataFrame | None = None  # plates only: results/table/plate_qc.tsv
    table_summary: dict[str, Any] | None = None  # plates only: results/table/summary.json
    funnels: list[dict[str, Any]] | None = None  # plates only: results/demux/*/funnel.json
    construct_check: dict[str, Any] | None = None  # results/qc/construct_check.json
    run_times: list[dict[str, Any]] = field(default_factory=list)  # results/benchmarks


def data_summary(inputs: ReportInputs) -> dict[str, Any]:
    """The labelled table in a few lines (and the split, when the model ran)."""
    table = inputs.table[inputs.table["qc"] == "pass"]
    lengths = table["sequence"].str.len()
    out: dict[str, Any] = {
        "wells in the labelled table": len(inputs.table),
        "rows passing QC (used for training)": len(table),
        "distinct sequences": int(table["sequence"].nunique()),
    }
    if len(table):
        out["sequence length"] = (
            f"{lengths.min()}–{lengths.max()} nt (median {lengths.median():.0f})"
        )
        out["label range"] = f"{table['label'].min():.2f} to {table['label'].max():.2f} (log2)"
    if inputs.model is not None:
        counts = inputs.model.split["split"].value_counts()
        out["train / validation / test"] = " / ".join(
            str(int(counts.get(s, 0))) for s in ("train", "validation", "test")
        )
        out["split method"] = inputs.config["split"]["method"]
    if inputs.config["model"]["covariates"]:
        out["covariates"] = ", ".join(inputs.config["model"]["covariates"])
    return out


def model_context(inputs: ReportInputs) -> dict[str, Any]:
    """The template's model sections (summary cards, metrics, figures, what it learned, the
    contest and the next library); empty when the model did not run."""
    m = inputs.model
    if m is None:
        return {}
    metrics, task = m.metrics, inputs.config["model"]["task"]
    key, name = claims.headline_key(task)
    if task == "classification":
        metrics = claims.with_auc_intervals(metrics, m.predictions)
        performance = [report_model.roc_pr_curves(m.predictions, "test")]
    else:
        performance = [
            report_model.scatter(m.predictions, s, metrics) for s in ("test", "validation")
        ]
        performance.append(report_model.residuals(m.predictions, "test"))
    ceiling = metrics.get("noise_ceiling", {})
    return {
        "metrics": metrics,
        "model_name": claims.model_name(metrics),
        "cards": claims.summary_cards(metrics, task, m.predictions),
        "columns": claims.CLASSIFICATION_COLUMNS
        if task == "classification"
        else claims.REGRESSION_COLUMNS,
        "metric_rows": claims.metric_rows(metrics),
        "interval_for": claims.interval_for,
        "with_interval": claims.with_interval,
        "ceiling": ceiling.get("r2", {}),
        "ceiling_ci": ceiling.get("ci95"),
        "crossval": m.crossval,
        "training": m.training,
        "design": report_design.section(m.designs, m.design_summary, m.predictions),
        "interpretation": report_interpret.section(
            m.interpretation, claims.learned_claims_trusted(metrics, task)
        ),
        "contest": report_contest.section(m.leaderboard, m.learning_curve, m.next_round, metrics),
        "coverage": report_coverage.section(metrics) if task == "regression" else None,
        "figures": {
            "learning": report_model.learning_curve(m.history, m.training.get("best_epoch", 1))
            if len(m.history)
            else None,
            "performance": performance,
            "labels": report_model.label_histogram(m.split),
            "bars": report_model.metric_bars(metrics, key, name),
        },
    }


def has_wells(inputs: ReportInputs) -> bool:
    """Whether the table's rows are wells to list: not a user's table without plates (its plate
    column is empty), nor a table simulated directly, whose plate and well columns only lay its
    rows out one per sequence (the table demo's 12,000 made-up wells were 4 of its 4.8 MB, and
    the table offered a click on plate maps it did not have)."""
    if (inputs.simulation or {}).get("level") == "table":
        return False
    return {"plate", "well"} <= set(inputs.table.columns) and bool(
        inputs.table["plate"].notna().any()
    )


def render(inputs: ReportInputs) -> str:
    """The whole report as one HTML string."""
    env = Environment(
        loader=PackageLoader("utrflow.report", "templates"), autoescape=select_autoescape()
    )
    env.filters["num"] = number
    model = model_context(inputs)
    warnings = (
        claims.warnings_for(inputs.config, inputs.model.metrics, inputs.model.training)
        if inputs.model
        else []
    )
    warnings += report_table.table_warnings(inputs.table, inputs.plate_qc, inputs.table_summary)
    return env.get_template("report.html").render(
        title=inputs.config["report"]["title"],
        source=inputs.config["source"],
        task=inputs.config["model"]["task"],
        model=model,
        model_status=inputs.model_status,
        qc_only=inputs.model is None and inputs.model_status is None,
        simulation=inputs.simulation,
        provenance=report_provenance.versions(inputs.model.training if inputs.model else None),
        run_times=inputs.run_times,
        checks=report_provenance.construct_check(inputs.construct_check),
        data_summary=data_summary(inputs),
        config_yaml=yaml.safe_dump(inputs.config, sort_keys=False),
        warnings=warnings,
        plates=report_table.section(
            inputs.table, inputs.plate_qc, inputs.table_summary, inputs.funnels
        ),
        calibration=report_calibration.section(inputs.table_summary),
        wells=report_wells.well_table(inputs.table) if has_wells(inputs) else None,
        design_off_reason=(
            "the model uses covariates, and designs are scored on sequence alone"
            if inputs.config["model"]["covariates"]
            else "design.n_designs is 0"
        ),
    )


def _optional(path: Path | None, read: Any) -> Any:
    return read(path) if path else None


def load_model(paths: dict[str, Any]) -> ModelInputs | None:
    """The model stages' files (`metrics` and the others), loaded; None without `metrics`."""
    if not paths.get("metrics"):
        return None
    return ModelInputs(
        split=io.read_tsv(paths["split"]),
        metrics=io.read_json(paths["metrics"]),
        predictions=io.read_tsv(paths["predictions"]),
        history=io.read_tsv(paths["history"]),
        training=io.read_json(paths["training"]),
        crossval=_optional(paths.get("crossval"), io.read_json),
        interpretation=_optional(paths.get("interpretation"), io.read_json),
        designs=_optional(paths.get("designs"), pd.read_csv),
        design_summary=_optional(paths.get("design_summary"), io.read_json),
        leaderboard=_optional(paths.get("leaderboard"), io.read_tsv),
        learning_curve=_optional(paths.get("learning_curve"), io.read_tsv),
        next_round=_optional(paths.get("next_round"), io.read_json),
    )


def run(
    config: dict[str, Any],
    output: Path,
    table: Path,
    model: dict[str, Any] | None = None,
    model_status: Path | None = None,
    simulation: Path | None = None,
    plate_qc: Path | None = None,
    table_summary: Path | None = None,
    funnels: Sequence[Path] = (),
    construct_check: Path | None = None,
    benchmarks: Path | None = None,
) -> None:
    """The `report` stage: every output of the run there is, loaded and drawn into one HTML
    file. `model` maps the model stages' file names (`metrics`, `split`, ...) to paths."""
    inputs = ReportInputs(
        config=config,
        table=io.read_tsv(table),
        model=load_model(model or {}),
        model_status=_optional(model_status, io.read_json),
        simulation=_optional(simulation, io.read_json),
        plate_qc=_optional(plate_qc, io.read_tsv),
        table_summary=_optional(table_summary, io.read_json),
        funnels=[io.read_json(p) for p in funnels] or None,
        construct_check=_optional(construct_check, io.read_json),
        run_times=report_provenance.run_times(benchmarks),
    )
    with io.atomic_path(output) as tmp:
        tmp.write_text(render(inputs), encoding="utf-8")
