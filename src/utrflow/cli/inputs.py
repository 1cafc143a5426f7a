"""The commands about a user's inputs: check-config, import-table and init (a new project)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
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


@command(
    "init",
    "write a new project folder: config, sheets, folders for the reads and reader files",
    ("folder", {"type": Path, "help": "the new project folder"}),
    ("--plates", {"type": int, "default": 1, "help": "plates (default 1)"}),
    ("--format", {"type": int, "default": 96, "help": "wells per plate, 96 or 384"}),
    path("--barcodes", "barcode table: barcode, end (F/R), optional name", required=False),
)
def init(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow import project

    commands = project.init(
        folder=args.folder, n_plates=args.plates, plate_format=args.format, barcodes=args.barcodes
    )
    print(f"A new project in {args.folder}. Put each plate's reads under reads/, its reader file")
    print("under reader/, the barcodes in sheets/wells.tsv and the construct in")
    print(f"config/config.yaml; then, in the project (cd {args.folder}):")
    for line in commands:
        print(f"  {line}")
