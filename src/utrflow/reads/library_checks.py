"""The library against the config, before any job: what would otherwise stop a run six jobs in.

A library exported with its flanks (the whole oligo, not the variable region) matches no well's
call, every well ends `unmatched`, and the link job's table has nothing to train on; a design
longer than `encode.max_length` stops the encode job after demultiplexing and consensus have
run; classification asked of plates, whose labels are log2 ratios, stops the training job.
Each is said here in one line naming the file and row, or the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from utrflow.errors import InputError

# A flank shorter than this may begin or end a UTR by chance (ATG itself, a short spacer).
MIN_FLANK = 8


def check_library(
    library: Sequence[Mapping[str, str]],
    config: Mapping[str, Any],
    path: str | Path,
    source: str = "config",
) -> None:
    """Designs (`sheets.load_library` rows) against the construct and the encoder's limit."""
    construct = config["construct"]
    flanked = []
    for key, at_end in (("upstream_flank", False), ("downstream_flank", True)):
        flank = str(construct.get(key, "")).strip().upper()
        if len(flank) < MIN_FLANK:
            continue
        holding = [
            row
            for row in library
            if (row["sequence"].endswith(flank) if at_end else row["sequence"].startswith(flank))
        ]
        if len(holding) * 2 > len(library):
            flanked.append((key, holding))
    if flanked:
        key, holding = flanked[0]
        both = " and construct." + flanked[1][0] if len(flanked) > 1 else ""
        raise InputError(
            f"{path}: {len(holding)} of {len(library)} designs (the first {holding[0]['id']!r}) "
            f"hold construct.{key}{both} at their end: the library lists the variable region "
            "alone (every call is of the region between the flanks); cut the flanks off the "
            "sequences, or set the flanks to the constant sequence outside them"
        )
    encode = config["encode"]
    if encode["truncate"]:
        return
    longest = max(library, key=lambda row: len(row["sequence"]), default=None)
    if longest is not None and len(longest["sequence"]) > encode["max_length"]:
        raise InputError(
            f"{source}: key 'encode.max_length' ({encode['max_length']}) is below the library's "
            f"longest design, {longest['id']!r} of {len(longest['sequence'])} nt in {path}: "
            "the encode job would stop after demultiplexing; raise encode.max_length, or set "
            "encode.truncate: true to keep each sequence's 3' end"
        )


def check_task(config: Mapping[str, Any], source: str = "config") -> None:
    """Classification needs 0/1 labels; a plate run's labels are log2 fluorescence ratios."""
    plates = config["source"] == "reads" or (
        config["source"] == "simulate" and config["simulate"]["level"] == "run"
    )
    if plates and config["model"]["task"] == "classification":
        raise InputError(
            f"{source}: key 'model.task': classification needs labels of 0 and 1, and a plate "
            "run's labels are log2 fluorescence ratios; use regression, or bring a table of "
            "0/1 labels (source: table)"
        )
