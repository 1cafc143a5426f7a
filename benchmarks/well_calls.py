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
  same without the check that holds back calls too few reads confirm (`variant_unconfirmed`),
  and how many of those held back were right; mixed wells passing; and the same reads called
  from their regions alone (as before the flank ends were kept), so both ways are measured on
  the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import edlib
import pandas as pd

from utrflow import pipeline
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation

CALLED = ("pass", "purity_unproven")  # a sequence called, the well not mixed or short of reads


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
    held &= wells_["qc"] == "variant_unconfirmed"
    return {
        "unconfirmed": int(held.sum()),
        "unconfirmed_right": (wells_["sequence"] == wells_["sequence_true"])[held].mean(),
        "right_unchecked": (wells_["sequence"] == wells_["sequence_true"])[pure | held].mean(),
        "called": int(pure.sum()),
        "right": 1 - len(wrong) / max(int(pure.sum()), 1),
        "boundary": places.count("boundary"),
        "interior": places.count("interior"),
        "passing": int(passing.sum()),
        "mixed_passing": int((wells_["mixed"] & (wells_["qc"] == "pass")).sum()),
        "mixed": int(wells_["mixed"].sum()),
    }


def evaluate_hard(preset: str, n_plates: int, threads: int, seed: int) -> dict[str, dict]:
    """The shared-boundary, 5-reads-per-well layout, called with and without the flank ends."""
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
        return {
            way: score_hard(
                truth_wells,
                pipeline.call_wells(run, run / way, threads, flank_context=context).calls,
            )
            for way, context in (("flank ends", True), ("region alone", False))
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plates", type=int, default=8)
    parser.add_argument("--hard-plates", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    for preset in ("r10", "r9"):
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
        for way, hard in evaluate_hard(preset, args.hard_plates, args.threads, args.seed).items():
            print(
                f"{preset} hard, {way}: right sequence {hard['right']:.2%} of {hard['called']} "
                f"called wells (wrong: {hard['boundary']} at a boundary, {hard['interior']} "
                f"inside); {hard['right_unchecked']:.2%} of {hard['called'] + hard['unconfirmed']} "
                f"without the variant check: variant_unconfirmed {hard['unconfirmed']} "
                f"({hard['unconfirmed_right']:.0%} of them right); passing {hard['passing']}; "
                f"mixed passing {hard['mixed_passing']} of {hard['mixed']}"
            )


if __name__ == "__main__":
    main()
