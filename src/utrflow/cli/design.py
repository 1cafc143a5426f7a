"""The design command: the next library proposed with the selected model."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping
from typing import Any

from utrflow import config as config_module
from utrflow import io
from utrflow.cli.framework import command, path, paths


@command(
    "design",
    "propose the next library with the selected model: designs per target bin and the oligo order",
    path("--table", "labelled table (TSV): its passing rows are the measured library"),
    path("--model", "the selected model (.keras): the designs' predicted mean"),
    paths("--members", "models whose spread is the uncertainty (members, or top contenders)"),
    path("--metrics", "metrics (JSON): the model's validation r² and error"),
    path("--truth", "true labels per well (TSV), simulated data only", required=False),
    path("--next-library", "designs to write (CSV)"),
    path("--oligo-order", "oligos with their flanks to write (CSV)"),
    path("--summary", "bins, constraints and (simulated data) true expression (JSON)"),
)
def design(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.design import next_library as stage

    judge = None
    if args.truth:  # simulated data: the hidden truth scores the designs
        from utrflow.simulate.quality import truth_check

        truth_wells = io.read_tsv(args.truth)

        def judge(designs: Any, measured: Any) -> dict[str, Any]:
            return truth_check(designs, measured, truth_wells)

    default_flanks = ("", "")
    if cfg["source"] == "simulate":  # the simulated construct's flanks, from its defaults
        run = config_module.section_defaults("simulate", "run")
        default_flanks = (run["upstream_flank"], run["downstream_flank"])
    summary = stage.run_design(
        cfg=cfg,
        table_path=args.table,
        model_path=args.model,
        member_paths=args.members,
        metrics=io.read_json(args.metrics),
        outputs=(args.next_library, args.oligo_order, args.summary),
        default_flanks=default_flanks,
        truth=judge,
    )
    logging.getLogger("utrflow.design").info(
        "%d designs (%d exploratory)", summary["designed"], summary["exploratory"]
    )
