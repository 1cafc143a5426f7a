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
from utrflow.sheets import load_library

NEEDED = sum(MIN_DISTINCT.values())


def distinct_needed(split: Mapping[str, Any]) -> int:
    """Distinct passing sequences that fill every split's minimum (MIN_DISTINCT) at the
    configured split shares: 12 at least, 20 with a tenth each for validation and test."""
    shares = {"validation": split["validation"], "test": split["test"]}
    shares["train"] = max(1.0 - shares["validation"] - shares["test"], 1e-9)
    least = [math.ceil(MIN_DISTINCT[s] / share) for s, share in shares.items() if share > 0]
    return max([NEEDED, *least])


def advice(table: pd.DataFrame, needed: int, library_size: int | None = None) -> str:
    """What would let the model run, in wells to measure, from this table's yield so far and,
    when known, the size of the library the wells are picked from (wells of a small library
    keep repeating its designs: no number of them reaches more designs than it holds)."""
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
    if library_size is not None and library_size < needed:
        return too_small_library(passing, distinct, needed, library_size)
    if distinct == 0 or len(samples) == 0:
        return f"measure wells until {needed} distinct sequences pass QC"
    if library_size is not None:
        return library_wells(passing, len(samples), missing, library_size)
    per_well = distinct / len(samples)  # new distinct passing sequences per sample well so far
    wells = math.ceil(missing / per_well)
    return (
        f"measure about {wells} more wells ({missing} more distinct passing sequences at this "
        f"run's yield of {per_well:.0%} per well)"
    )


def designs_seen(passing: pd.DataFrame) -> int:
    """Distinct designs of the library among the passing wells (their variant_id)."""
    if "variant_id" not in passing:
        return int(passing["sequence"].nunique())
    ids = passing["variant_id"].fillna("").astype(str)
    return int(ids[~ids.isin(["", "nan"])].nunique())


def too_small_library(passing: pd.DataFrame, distinct: int, needed: int, size: int) -> str:
    """The advice when the library holds fewer designs than the model needs sequences."""
    copies = distinct - designs_seen(passing)
    extra = (
        f"; {copies} of the {distinct} distinct passing sequences are synthesis variants "
        "(close copies of its designs), which more wells add only by chance"
        if copies > 0
        else ""
    )
    return (
        f"the library holds {size} designs, fewer than the {needed} distinct sequences needed: "
        f"no number of wells picked from it can fill the splits{extra}. Measure a library of at "
        f"least {needed} designs (or add these wells to a run of a larger library)"
    )


def library_wells(passing: pd.DataFrame, samples: int, missing: int, size: int) -> str:
    """Wells to measure for `missing` more designs when each well picks one of `size` designs
    at random: the coupon collector's sum (each new design is rarer than the last), over the
    run's share of passing wells. The library holds at least the sequences needed, and the
    designs seen are no more than the distinct sequences, so enough designs are left."""
    seen = designs_seen(passing)
    draws = sum(size / (size - i) for i in range(seen, seen + missing))
    rate = len(passing) / samples  # passing wells per sample well so far
    wells = math.ceil(draws / rate)
    return (
        f"measure about {wells} more wells ({missing} more distinct passing sequences: "
        f"{seen} of the library's {size} designs pass so far, and each new well repeats one "
        f"more often as they are used up; at this run's pass rate of {rate:.0%} per well)"
    )


def status(
    table: pd.DataFrame, cfg: Mapping[str, Any], source: str, library_size: int | None = None
) -> dict[str, Any]:
    """`ok`, or `not_run` with the reason and the advice (in wells, against the library's
    `library_size` designs when known); bad input (not a small table) raises."""
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
        found = advice(table, needed, library_size)
        return {"status": "not_run", "reason": reason, "advice": found, **counts}
    return {"status": "ok", "reason": "", "advice": "", **counts}


def run(
    table: Path, output: Path, cfg: Mapping[str, Any], library: Path | None = None
) -> dict[str, Any]:
    """The `model-status` stage: write whether the model stages run, and if not, why (with
    the library the wells were picked from, if given, to size the advice)."""
    size = len(load_library(library)) if library else None
    result = status(io.read_tsv(table), cfg, source=str(table), library_size=size)
    result["library_designs"] = size
    io.write_json(result, output)
    return result
