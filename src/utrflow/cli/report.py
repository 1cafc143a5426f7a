"""The report commands: the self-contained HTML report (QC only, with the model, or saying why
the model did not run) and the QC-only first look at new data."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from utrflow.cli.framework import Argument, command, path, paths
from utrflow.errors import InputError

REPORT_MODEL_FILES = (
    "split",
    "metrics",
    "predictions",
    "history",
    "training",
    "crossval",
    "interpretation",
    "designs",
    "design_summary",
    "leaderboard",
    "learning_curve",
    "next_round",
)

# What both reports read: the table and the QC of the reads, wells and plates.
QC_INPUTS: tuple[Argument, ...] = (
    path("--table", "labelled table (TSV)"),
    path("--simulation", "simulation summary (JSON)", required=False),
    path("--plate-qc", "per-plate QC of the labelled table (TSV), plates only", required=False),
    path("--table-summary", "labelled-table summary (JSON), plates only", required=False),
    paths("--funnels", "demux funnel.json files", required=False),
    path("--construct-check", "the construct check (JSON)", required=False),
    path("--benchmarks", "Snakemake's benchmark folder: run times per stage", required=False),
)


@command(
    "report",
    "render the self-contained HTML report (QC only, or with the model, or saying why not)",
    *QC_INPUTS,
    path("--model-status", "whether the model ran, and if not why (JSON)", required=False),
    path("--split", "per-row split (TSV)", required=False),
    path("--metrics", "metrics (JSON); without it the report shows QC only", required=False),
    path("--predictions", "model predictions (TSV)", required=False),
    path("--history", "training history (TSV)", required=False),
    path("--training", "training summary (JSON)", required=False),
    path("--crossval", "cross-validation metrics (JSON)", required=False),
    path("--interpretation", "filters and mutagenesis (JSON)", required=False),
    path("--designs", "the next library (CSV)", required=False),
    path("--design-summary", "the design summary (JSON)", required=False),
    path("--leaderboard", "preset auto: the model contest (TSV)", required=False),
    path("--learning-curve", "preset auto: scores over training-set size (TSV)", required=False),
    path("--next-round", "preset auto: sizes suggested for the next round (JSON)", required=False),
    path("--output", "report to write (HTML)"),
)
def report(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    model = {name: getattr(args, name) for name in REPORT_MODEL_FILES}
    missing = [n for n in ("split", "predictions", "history", "training") if not model[n]]
    if model["metrics"] and missing:
        raise InputError(f"report: --metrics needs --{missing[0]} too")
    _render_report(args, cfg, model, args.model_status)


@command(
    "report-qc",
    "render the QC-only HTML report (reads, wells, plates, checks): the first look at new data",
    *QC_INPUTS,
    path("--output", "report to write (HTML)"),
)
def report_qc(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    _render_report(args, cfg, {}, None)


def _render_report(
    args: argparse.Namespace, cfg: Mapping[str, Any], model: dict[str, Any], status: Any
) -> None:
    from utrflow.report import render

    render.run(
        config=json.loads(json.dumps(cfg)),  # a plain copy of every key: the report prints all
        output=args.output,
        table=args.table,
        model=model,
        model_status=status,
        simulation=args.simulation,
        plate_qc=args.plate_qc,
        table_summary=args.table_summary,
        funnels=args.funnels,
        construct_check=args.construct_check,
        benchmarks=args.benchmarks,
    )
