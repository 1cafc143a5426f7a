"""The reads commands: demultiplex a read group, check the construct against the reads, call
each well of a plate."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping
from typing import Any

from utrflow import config as config_module
from utrflow import io
from utrflow.cli.framework import THREADS, command, path


@command(
    "demux",
    "demultiplex one read group's reads to wells and extract each read's variable region",
    path("--plates", "plates sheet (TSV)"),
    path("--wells", "wells sheet (TSV)"),
    ("--group", {"required": True, "help": "read group: a plate, or plates sharing files (A+B)"}),
    path(
        "--out-dir", "folder for assignments.tsv.gz, regions.tsv.gz, well_counts.tsv, funnel.json"
    ),
    THREADS,
)
def demux(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.reads import demux as stage

    funnel = stage.run(
        plates_path=args.plates,
        wells_path=args.wells,
        group_name=args.group,
        construct_cfg=cfg["construct"],
        settings=config_module.settings_from(stage.DemuxSettings, cfg["demux"]),
        out_dir=args.out_dir,
        threads=args.threads,
    )
    logging.getLogger("utrflow.demux").info("funnel: %s", json.dumps(funnel["status"]))


@command(
    "check-construct",
    "check the construct against a sample of the reads: flanks found, reversed or missing; "
    "propose flanks from the reads",
    path("--plates", "plates sheet"),
    path("--wells", "wells sheet"),
    path("--output", "construct_check.json"),
)
def check_construct(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.reads import construct_check as stage
    from utrflow.reads.demux import DemuxSettings

    result = stage.run(
        plates_path=args.plates,
        wells_path=args.wells,
        construct_cfg=cfg["construct"],
        settings=config_module.settings_from(DemuxSettings, cfg["demux"]),
    )
    for line in result["messages"]:
        logging.getLogger("utrflow.construct").warning(line)
    io.write_json(result, args.output)  # for a run of the command alone: snakemake removes it
    stage.raise_on_error(result)


@command(
    "consensus",
    "call each well's UTR from its reads' regions and match it to the library",
    ("--plate", {"required": True, "help": "plate to call"}),
    path("--counts", "well_counts.tsv of the plate's read group"),
    path("--regions", "regions.tsv.gz of the plate's read group"),
    path("--library", "designed library (CSV: id, sequence)", required=False),
    path("--output", "per-well consensus table to write (TSV)"),
    THREADS,
)
def consensus(args: argparse.Namespace, cfg: Mapping[str, Any]) -> None:
    from utrflow.reads import consensus as stage

    construct = cfg["construct"]
    stage.run(
        plate=args.plate,
        counts=args.counts,
        regions=args.regions,
        library=args.library,
        settings=config_module.settings_from(stage.ConsensusSettings, cfg["consensus"]),
        output=args.output,
        threads=args.threads,
        flanks=stage.construct_ends(construct["upstream_flank"], construct["downstream_flank"]),
    )
