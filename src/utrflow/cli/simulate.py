"""The simulator's commands: a labelled table from a hidden truth, or a whole wet-lab run."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from utrflow.cli.framework import command, path


@command(
    "simulate-table",
    "simulate a labelled table from the hidden ground truth (no plates, no reads)",
    path("--labelled", "labelled table to write (TSV)"),
    path("--truth", "true labels per well to write (TSV)"),
    path("--summary", "simulation summary with the noise ceiling (JSON)"),
)
def simulate_table(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.simulate import table

    table.run(
        simulate_cfg=cfg["simulate"],
        seed=cfg["seed"],
        labelled=args.labelled,
        truth_path=args.truth,
        summary=args.summary,
    )


@command(
    "simulate-run",
    "simulate a whole wet-lab run: library, plates, plate reader, nanopore reads, and the truth",
    path("--out-dir", "folder to write the input sheets, reads, reader files and truth to"),
)
def simulate_run(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.simulate import run, run_settings

    params = run_settings.from_config({"seed": cfg["seed"], **cfg["simulate"]["run"]})
    print(json.dumps(run.simulate_run(params, args.out_dir), indent=2))
