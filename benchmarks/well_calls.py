"""Accuracy of the whole reads -> well path against the run simulator's truth, per error preset.

    .venv/bin/python benchmarks/well_calls.py --plates 8 --threads 2

Prints, for R10 (~3 %/base) and R9 (~8 %/base) reads, two layouts:

- `default`: the simulator's defaults (~60 reads per colony well). Read-to-well precision and
  recall of intact full-length reads, chimeras assigned, the share of non-mixed wells with >= 5
  reads whose sequence is right, mixed wells flagged, and wells wrongly flagged mixed.
- `hard`: a layout we did not tune on: every UTR starts with the upstream flank's last base and
  ends with the downstream flank's first (`shared_boundary_bases`), exactly 5 reads per colony
  well. Right sequence among the called non-mixed wells (`qc` pass or `purity_unproven`), with
  the wrong calls split into boundary (an edit within 2 bases of a UTR end) and interior; the
  same without the check that holds back calls the reads do not confirm (`variant_unconfirmed`,
  `sequence_unconfirmed`), and how many of those held back were right; mixed wells passing.
  The same reads are called three ways (WAYS): weighed by their base qualities with the flank
  ends kept (the default), as from FASTA (no qualities), and from their regions alone, so every
  way is measured on the same runs; each seed's run is one, and `--hard-seeds` are pooled.
- `close`: a library of close variants (`close_variants`: each design 1-5 edits from its
  family's parent) with 30 % of wells mixed from one family at a minor share of 35, 25 and
  10 % (`mixed_ratio` 0.65, 0.75, 0.9): mixed wells with >= 10 regions flagged (any qc but
  pass) and flagged `mixed`, the same of the mixed wells whose regions are at least 25 % the
  minor colony's (each read is drawn from the minor at the mixture's share, so a well's reads
  may hold fewer), pure wells flagged `mixed`, and right sequence of the pure wells that pass
  (`--close` runs this layout alone).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from collections import Counter
from pathlib import Path

import edlib
import pandas as pd
from rapidfuzz.distance import Levenshtein

from utrflow import pipeline
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation

CALLED = ("pass", "purity_unproven")  # a sequence called, the well not mixed or short of reads
UNCONFIRMED = ("variant_unconfirmed", "sequence_unconfirmed")  # held back: the reads are split
# How the hard layout's reads are called: (flank ends kept, base qualities weighed)
WAYS = {
    "flank ends, base qualities": (True, True),
    "flank ends, no qualities (as FASTA)": (True, False),
    "region alone, no qualities": (False, False),
}


def evaluate(preset: str, n_plates: int, threads: int, seed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        simulate_run(
            RunSimulation(n_variants=5000, n_plates=n_plates, error_preset=preset, seed=seed), run
        )
        started = time.perf_counter()
        called = pipeline.call_wells(run, run, threads)
        seconds = time.perf_counter() - started
        truth_reads = pd.read_csv(run / "truth_reads.tsv.gz", sep="\t", keep_default_na=False)
        truth_wells = pd.read_csv(run / "truth_wells.tsv", sep="\t", keep_default_na=False)
    got = truth_reads.merge(called.assignments, on="read_id", suffixes=("_true", ""))
    assigned = got["status"] == "assigned"
    correct = assigned & (got["plate"] == got["plate_true"]) & (got["well"] == got["well_true"])
    full = got["kind"] == "full"
    wells_ = truth_wells.merge(called.calls, on=["plate", "well"], suffixes=("_true", ""))
    pure = (wells_["sequence_true"] != "") & ~wells_["mixed"] & (wells_["n_regions"] >= 5)
    mixed = wells_["mixed"]
    return {
        "reads": len(got),
        "seconds": seconds,
        "precision": correct.sum() / assigned.sum(),
        "recall": (correct & full).sum() / full.sum(),
        "chimeras_assigned": int((assigned & (got["kind"] == "chimera")).sum()),
        "pure_wells": int(pure.sum()),
        "right_sequence": (wells_["sequence"] == wells_["sequence_true"])[pure].mean(),
        "mixed_wells": int(mixed.sum()),
        "mixed_flagged": (wells_["qc"] == "mixed")[mixed].mean(),
        "false_mixed": int(((wells_["qc"] == "mixed") & pure).sum()),
        "mixed_passing": int(((wells_["qc"] == "pass") & mixed).sum()),
        "purity_unproven": int((wells_["qc"] == "purity_unproven").sum()),
        "unconfirmed": int((pure & (wells_["qc"] == "variant_unconfirmed")).sum()),
    }


def where(call: str, truth: str) -> str:
    """'boundary' when an edit of the call lies within 2 bases of either end, else 'interior'."""
    path = edlib.align(call, truth, mode="NW", task="path")
    marks = edlib.getNiceAlignment(path, call, truth)["matched_aligned"]
    edits = [i for i, mark in enumerate(marks) if mark != "|"]
    return "boundary" if any(i < 2 or i >= len(marks) - 2 for i in edits) else "interior"


def score_hard(truth_wells: pd.DataFrame, calls: pd.DataFrame) -> dict[str, float]:
    """Right sequence among called non-mixed wells, wrong calls by place, mixed wells passing."""
    wells_ = truth_wells.merge(calls, on=["plate", "well"], suffixes=("_true", ""))
    pure = (wells_["sequence_true"] != "") & ~wells_["mixed"] & wells_["qc"].isin(CALLED)
    wrong = wells_[pure & (wells_["sequence"] != wells_["sequence_true"])]
    places = [where(c, t) for c, t in zip(wrong["sequence"], wrong["sequence_true"], strict=True)]
    passing = pure & (wells_["qc"] == "pass")
    held = (wells_["sequence_true"] != "") & ~wells_["mixed"]
    held &= wells_["qc"].isin(UNCONFIRMED)
    right = wells_["sequence"] == wells_["sequence_true"]
    return {
        "unconfirmed": int(held.sum()),
        "unconfirmed_right": int(right[held].sum()),
        "right_unchecked": int(right[pure | held].sum()),
        "called": int(pure.sum()),
        "wrong": len(wrong),
        "boundary": places.count("boundary"),
        "interior": places.count("interior"),
        "passing": int(passing.sum()),
        "mixed_passing": int((wells_["mixed"] & (wells_["qc"] == "pass")).sum()),
        "mixed": int(wells_["mixed"].sum()),
    }


def evaluate_hard(preset: str, n_plates: int, threads: int, seed: int) -> dict[str, dict]:
    """The shared-boundary, 5-reads-per-well layout, called each of the WAYS."""
    params = RunSimulation(
        n_variants=5000,
        n_plates=n_plates,
        error_preset=preset,
        seed=seed,
        shared_boundary_bases=True,
        reads_per_well_mean=5,
        reads_per_well_dispersion=0,
    )
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        simulate_run(params, run)
        truth_wells = pd.read_csv(run / "truth_wells.tsv", sep="\t", keep_default_na=False)
        scores = {}
        for n, (way, (context, qualities)) in enumerate(WAYS.items()):
            calls = pipeline.call_wells(
                run, run / str(n), threads, flank_context=context, base_qualities=qualities
            ).calls
            scores[way] = score_hard(truth_wells, calls)
        return scores


CLOSE_RATIOS = (0.65, 0.75, 0.9)  # the major colony's share in a mixed well


def evaluate_close(
    preset: str, n_plates: int, threads: int, seed: int, ratio: float
) -> dict[str, float]:
    """The close-variant layout at one mixture ratio (see the module's docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        params = RunSimulation(
            n_variants=2000, n_plates=n_plates, error_preset=preset, seed=seed,
            close_variants=5, mixed_fraction=0.3, mixed_ratio=ratio,
        )  # fmt: skip
        simulate_run(params, run)
        started = time.perf_counter()
        called = pipeline.call_wells(run, run, threads)
        seconds = time.perf_counter() - started
        truth_wells = pd.read_csv(run / "truth_wells.tsv", sep="\t", keep_default_na=False)
        shares = read_shares(run, truth_wells)
    wells = truth_wells.merge(called.calls, on=["plate", "well"], suffixes=("_true", ""))
    wells = wells.merge(shares, on=["plate", "well"], how="left")
    deep = wells["n_regions"] >= 10
    mixed = wells["mixed"] & deep
    quarter = mixed & (wells["read_share"] >= 0.25)
    pure = (wells["sequence_true"] != "") & ~wells["mixed"] & deep
    passing = pure & (wells["qc"] == "pass")
    return {
        "seconds": seconds,
        "mixed_wells": int(mixed.sum()),
        "mixed_flagged": float((wells["qc"] != "pass")[mixed].mean()),
        "mixed_called_mixed": float((wells["qc"] == "mixed")[mixed].mean()),
        "quarter_wells": int(quarter.sum()),
        "quarter_flagged": float((wells["qc"] != "pass")[quarter].mean()),
        "pure_wells": int(pure.sum()),
        "pure_flagged_mixed": float((wells["qc"] == "mixed")[pure].mean()),
        "pure_passing": int(passing.sum()),
        "right_sequence": float((wells["sequence"] == wells["sequence_true"])[passing].mean()),
    }


COLUMNS = ["plate", "well", "region"]  # of regions.tsv.gz, read by `read_shares`


def read_shares(run: Path, truth_wells: pd.DataFrame) -> pd.DataFrame:
    """Each mixed well's share of regions nearer its minor colony's sequence than its major's
    (the reads drawn, where `mixed_ratio` is the chance of each: at 12 reads a 25 % minor
    colony gives 0 or 1 reads in 16 % of wells, which no reads can show)."""
    regions = pd.concat(
        pd.read_csv(path, sep="\t", keep_default_na=False, usecols=COLUMNS, quoting=csv.QUOTE_NONE)
        for path in sorted(run.glob("demux/*/regions.tsv.gz"))
    )
    mixed = truth_wells[truth_wells["mixed"]][["plate", "well", "sequence", "minor_sequence"]]
    got = regions.merge(mixed, on=["plate", "well"])
    rows = zip(got["region"], got["sequence"], got["minor_sequence"], strict=True)
    got["minor"] = [
        Levenshtein.distance(read, minor) < Levenshtein.distance(read, major)
        for read, major, minor in rows
    ]
    share = got.groupby(["plate", "well"])["minor"].mean().rename("read_share")
    return share.reset_index()


def report_close(preset: str, args: argparse.Namespace) -> None:
    for ratio in CLOSE_RATIOS:
        f = evaluate_close(preset, args.close_plates, args.threads, args.seed, ratio)
        print(
            f"{preset} close, minor {1 - ratio:.0%}: mixed wells (>= 10 regions) flagged "
            f"{f['mixed_flagged']:.1%} of {f['mixed_wells']} "
            f"(mixed {f['mixed_called_mixed']:.1%}); those whose regions are >= 25 % the "
            f"minor's {f['quarter_flagged']:.1%} of {f['quarter_wells']}; "
            f"pure wells flagged mixed {f['pure_flagged_mixed']:.2%} of {f['pure_wells']}; "
            f"right sequence {f['right_sequence']:.2%} of {f['pure_passing']} passing; "
            f"{f['seconds']:.0f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plates", type=int, default=8)
    parser.add_argument("--hard-plates", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--hard-seeds", type=int, nargs="+", default=[3, 5, 7], help="hard runs, pooled"
    )
    parser.add_argument("--close-plates", type=int, default=4)
    parser.add_argument("--close", action="store_true", help="the close-variant layout alone")
    args = parser.parse_args()
    for preset in ("r10", "r9"):
        report_close(preset, args)
        if args.close:
            continue
        figures = evaluate(preset, args.plates, args.threads, args.seed)
        print(
            f"{preset} default: {figures['reads']:,} reads in {figures['seconds']:.1f} s; "
            f"precision {figures['precision']:.4%}, recall {figures['recall']:.4%}, "
            f"chimeras assigned {figures['chimeras_assigned']}; "
            f"right sequence {figures['right_sequence']:.2%} of {figures['pure_wells']} wells; "
            f"mixed flagged {figures['mixed_flagged']:.0%} of {figures['mixed_wells']}, "
            f"passing {figures['mixed_passing']}; "
            f"pure wells flagged mixed {figures['false_mixed']}; "
            f"purity_unproven {figures['purity_unproven']}; "
            f"variant_unconfirmed {figures['unconfirmed']}"
        )
        pooled: dict[str, Counter] = {way: Counter() for way in WAYS}
        for seed in args.hard_seeds:
            for way, hard in evaluate_hard(preset, args.hard_plates, args.threads, seed).items():
                pooled[way].update(hard)
                print(f"{preset} hard, seed {seed}, {way}: {hard['called'] - hard['wrong']} "
                      f"right of {hard['called']} called")  # fmt: skip
        for way, hard in pooled.items():
            checked = hard["called"] + hard["unconfirmed"]
            print(
                f"{preset} hard, seeds {args.hard_seeds} pooled, {way}: right sequence "
                f"{1 - hard['wrong'] / hard['called']:.2%} of {hard['called']} called wells "
                f"(wrong: {hard['boundary']} at a boundary, {hard['interior']} inside); "
                f"{hard['right_unchecked'] / checked:.2%} of {checked} without the check: "
                f"held back {hard['unconfirmed']} ({hard['unconfirmed_right']} of them right); "
                f"passing {hard['passing']}; mixed passing {hard['mixed_passing']} of "
                f"{hard['mixed']}"
            )


if __name__ == "__main__":
    main()
