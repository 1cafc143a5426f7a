"""The report command: the self-contained HTML evaluation report."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from utrflow.cli.framework import command, path, paths


@command(
    "report",
    "render the self-contained HTML evaluation report",
    path("--table", "labelled table (TSV)"),
    path("--split", "per-row split (TSV)"),
    path("--metrics", "metrics (JSON)"),
    path("--predictions", "model predictions (TSV)"),
    path("--history", "training history (TSV)"),
    path("--training", "training summary (JSON)"),
    path("--simulation", "simulation summary (JSON)", required=False),
    path("--crossval", "cross-validation metrics (JSON)", required=False),
    path("--plate-qc", "per-plate QC of the labelled table (TSV), plates only", required=False),
    path("--table-summary", "labelled-table summary (JSON), plates only", required=False),
    path("--interpretation", "filters and mutagenesis (JSON)", required=False),
    paths("--funnels", "demux funnel.json files", required=False),
    path("--designs", "the next library (CSV)", required=False),
    path("--design-summary", "the design summary (JSON)", required=False),
    path("--leaderboard", "preset auto: the model contest (TSV)", required=False),
    path("--learning-curve", "preset auto: scores over training-set size (TSV)", required=False),
    path("--next-round", "preset auto: sizes suggested for the next round (JSON)", required=False),
    path("--output", "report to write (HTML)"),
)
def report(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.report import render

    render.run(
        config=json.loads(json.dumps(cfg)),  # a plain copy of every key: the report prints all
        output=args.output,
        table=args.table,
        split=args.split,
        metrics=args.metrics,
        predictions=args.predictions,
        history=args.history,
        training=args.training,
        simulation=args.simulation,
        crossval=args.crossval,
        plate_qc=args.plate_qc,
        table_summary=args.table_summary,
        interpretation=args.interpretation,
        funnels=args.funnels,
        designs=args.designs,
        design_summary=args.design_summary,
        leaderboard=args.leaderboard,
        learning_curve=args.learning_curve,
        next_round=args.next_round,
    )
