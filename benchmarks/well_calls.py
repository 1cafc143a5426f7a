"""Accuracy of the whole reads -> well path against the run simulator's truth, per error preset.

    .venv/bin/python benchmarks/well_calls.py --plates 8 --threads 2

Prints, for R10 (~3 %/base) and R9 (~8 %/base) reads: read-to-well precision and recall of
intact full-length reads, chimeras assigned, the share of non-mixed wells with >= 5 reads whose
sequence is right, mixed wells flagged, and wells wrongly flagged mixed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from utrflow import pipeline
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation


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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plates", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    for preset in ("r10", "r9"):
        figures = evaluate(preset, args.plates, args.threads, args.seed)
        print(
            f"{preset}: {figures['reads']:,} reads in {figures['seconds']:.1f} s; "
            f"precision {figures['precision']:.4%}, recall {figures['recall']:.4%}, "
            f"chimeras assigned {figures['chimeras_assigned']}; "
            f"right sequence {figures['right_sequence']:.2%} of {figures['pure_wells']} wells; "
            f"mixed flagged {figures['mixed_flagged']:.0%} of {figures['mixed_wells']}; "
            f"pure wells flagged mixed {figures['false_mixed']}"
        )


if __name__ == "__main__":
    main()
