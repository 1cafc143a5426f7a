"""The commands that read a user's inputs whole: check-config and import-table."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from utrflow.cli.framework import command, path


@command("check-config", "validate a config file and print it with defaults filled in")
def check_config(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    if cfg["source"] == "simulate":  # the simulator checks its own settings: preflight never
        # imports it (the workflow's common.smk runs the same check)
        from utrflow.simulate import run_settings

        source = "--params" if args.params is not None else str(args.config)
        run_settings.from_config({"seed": cfg["seed"], **cfg["simulate"]["run"]}, source)
    print(json.dumps(cfg, indent=2))


@command(
    "import-table",
    "read a user's labelled CSV/TSV into the labelled-table format",
    path("--input", "user table with sequence, label and optional covariates"),
    path("--labelled", "labelled table to write (TSV)"),
)
def import_table(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow import labelled

    labelled.import_table(path=args.input, labelled=args.labelled)
