"""Can a model be trained and tested on this labelled table? Decided before any model job, so
that a pilot plate (too few distinct passing sequences, no plate-reader data) ends the run with
its QC and a report that says what would let the model run, instead of a failed job."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from utrflow import io
from utrflow.errors import NotEnoughData
from utrflow.model.encode import MIN_DISTINCT, build_features

NEEDED = sum(MIN_DISTINCT.values())


def distinct_needed(split: Mapping[str, Any]) -> int:
    """Distinct passing sequences that fill every split's minimum (MIN_DISTINCT) at the
    configured split shares: 12 at least, 20 with a tenth each for validation and test."""
    shares = {"validation": split["validation"], "test": split["test"]}
    shares["train"] = max(1.0 - shares["validation"] - shares["test"], 1e-9)
    least = [math.ceil(MIN_DISTINCT[s] / share) for s, share in shares.items() if share > 0]
    return max([NEEDED, *least])


def advice(table: pd.DataFrame, needed: int) -> str:
    """What would let the model run, in wells to measure, from this table's yield so far."""
    samples = table[table["role"] == "sample"] if "role" in table else table
    passing = samples[samples["qc"] == "pass"]
    if len(samples) and (samples["qc"] == "no_fluorescence").all():
        return (
            "no well has a plate-reader signal: add each plate's reader file (the fluorescence "
            "column of the plates sheet)"
        )
    distinct = int(passing["sequence"].nunique())
    missing = needed - distinct
    if missing <= 0:
        return (
            "the labels do not vary enough to learn from: measure more wells with different "
            "sequences"
        )
    if distinct == 0 or len(samples) == 0:
        return f"measure wells until {needed} distinct sequences pass QC"
    per_well = distinct / len(samples)  # new distinct passing sequences per sample well so far
    wells = math.ceil(missing / per_well)
    return (
        f"measure about {wells} more wells ({missing} more distinct passing sequences at this "
        f"run's yield of {per_well:.0%} per well)"
    )


def status(table: pd.DataFrame, cfg: Mapping[str, Any], source: str) -> dict[str, Any]:
    """`ok`, or `not_run` with the reason and the advice; bad input (not a small table) raises."""
    passing = table[table["qc"] == "pass"]
    needed = distinct_needed(cfg["split"])
    counts = {
        "wells": len(table),
        "passing_wells": len(passing),
        "distinct_passing": int(passing["sequence"].nunique()),
        "needed": needed,
    }
    try:
        build_features(table, cfg, source=source)
    except NotEnoughData as error:
        reason = str(error).removeprefix(f"{source}: ")
        if counts["distinct_passing"] < needed:
            reason = (
                f"{counts['distinct_passing']} distinct passing sequences; about {needed} are "
                f"needed to fill the splits (at least "
                f"{', '.join(f'{n} {s}' for s, n in MIN_DISTINCT.items())}, at split.validation "
                f"{cfg['split']['validation']} and split.test {cfg['split']['test']})"
            )
        return {"status": "not_run", "reason": reason, "advice": advice(table, needed), **counts}
    return {"status": "ok", "reason": "", "advice": "", **counts}


def run(table: Path, output: Path, cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The `model-status` stage: write whether the model stages run, and if not, why."""
    result = status(io.read_tsv(table), cfg, source=str(table))
    io.write_json(result, output)
    return result
