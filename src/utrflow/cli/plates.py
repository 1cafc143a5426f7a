"""The plate-reader commands: one plate's reader file by hand, and the gather (link) that reads
every plate's file and joins it with the well calls into the labelled table."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from utrflow import config as config_module
from utrflow.cli.framework import command, path, paths
from utrflow.errors import InputError


@command(
    "fluorescence",
    "normalize one plate's reader file by hand (the workflow's link job does every plate): "
    "blank subtraction, division by OD, log2, flags",
    ("--plate", {"required": True, "help": "plate to normalize"}),
    path("--reader", "the plate's reader file (an instrument's export: CSV, text or xlsx)"),
    path("--wells", "wells sheet (TSV)"),
    path("--output", "per-well readings and labels to write (TSV)"),
    path("--summary", "what was read, blank levels, reader wells not in the layout (JSON)"),
    ("--reader-plate", {"default": "", "help": "the file's plate block (name or number)"}),
)
def fluorescence(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.plates import reader

    reader.run(
        plate=args.plate,
        reader=args.reader,
        wells_path=args.wells,
        settings=config_module.settings_from(reader.FluorescenceSettings, cfg["fluorescence"]),
        output=args.output,
        summary=args.summary,
        reader_plate=args.reader_plate,
    )


def _pairs(given: list[str], flag: str) -> dict[str, str]:
    """`PLATE=VALUE` arguments by plate (a plate name holds no '=')."""
    pairs: dict[str, str] = {}
    for item in given:
        plate, sep, value = item.partition("=")
        if not sep or not plate or not value:
            raise InputError(f"{flag}: expected PLATE=VALUE, got {item!r}")
        if plate in pairs:
            raise InputError(f"{flag}: plate {plate!r} given twice")
        pairs[plate] = value
    return pairs


@command(
    "link",
    "normalize every plate's reader file and join it with the well calls: labelled table, "
    "replicates, noise ceiling, plate QC",
    paths("--consensus", "per-plate calls (TSV)"),
    (
        "--readers",
        {"nargs": "*", "default": [], "help": "each plate's reader file, as PLATE=FILE"},
    ),
    (
        "--reader-plates",
        {
            "nargs": "*",
            "default": [],
            "help": "a plate's block in a reader file holding several, as PLATE=BLOCK",
        },
    ),
    path("--wells", "wells sheet (TSV), needed with --readers", required=False),
    path(
        "--readings-dir",
        "folder for each plate's readings (<plate>.tsv, .json), needed with --readers",
        required=False,
    ),
    path("--labelled", "labelled table to write (TSV)"),
    path("--replicates", "sequences in several passing wells to write (TSV)"),
    path("--plate-qc", "one row per plate to write (TSV)"),
    path("--summary", "QC counts, noise ceiling and flagged plates to write (JSON)"),
)
def link(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.plates import link as stage
    from utrflow.plates.reader import FluorescenceSettings

    files = _pairs(args.readers, "--readers")
    blocks = _pairs(args.reader_plates, "--reader-plates")
    if files and args.readings_dir is None:
        raise InputError("--readers: give --readings-dir, the folder for each plate's readings")
    strays = sorted(blocks.keys() - files.keys())
    if strays:
        raise InputError(f"--reader-plates: plate {strays[0]!r} has no file in --readers")
    readers = [
        stage.ReaderFile(plate, Path(f), blocks.get(plate, "")) for plate, f in files.items()
    ]
    stage.run(
        consensus=args.consensus,
        readers=readers,
        wells_path=args.wells,
        settings=config_module.settings_from(FluorescenceSettings, cfg["fluorescence"]),
        seed=cfg["seed"],
        labelled=args.labelled,
        replicates_path=args.replicates,
        plate_qc=args.plate_qc,
        summary=args.summary,
        readings_dir=args.readings_dir,
    )
