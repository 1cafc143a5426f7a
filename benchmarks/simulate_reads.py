"""Benchmark the run simulator on one core: reads per second, and the speed-up over a plain loop.

    .venv/bin/python benchmarks/simulate_reads.py --reads 1000000

Two figures:
1. the whole `simulate_run` (library, plates, reader, read plan, errors, FASTQ.gz, truth), sized
   to about --reads reads, pinned to one CPU;
2. the error model + FASTQ.gz stage alone, ours (vectorized over a chunk) against the plain way
   (a per-read, per-base Python loop with `random`) on the same --sample true reads.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from utrflow.simulate import nanopore
from utrflow.simulate.library import _stage_rngs, pick_colonies, plate_layout
from utrflow.simulate.reads import build_templates, plan_reads, true_reads, well_read_counts
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation
from utrflow.simulate.truth import design_library


def pin_one_core() -> None:
    """Run on a single CPU so the figure means 'per core'."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def params_for(n_reads: int, seed: int) -> RunSimulation:
    """Four 384-well plates, reads per well chosen so the run holds about n_reads reads."""
    base = RunSimulation(n_plates=4, plate_format=384, seed=seed)
    colony_wells = 4 * (384 - base.blank_wells_per_plate) * (1 - base.empty_fraction)
    kept = 1 - base.chimera_fraction - base.junk_fraction
    mean = n_reads * kept / colony_wells
    return RunSimulation(n_plates=4, plate_format=384, reads_per_well_mean=mean, seed=seed)


def plain_errors(true: list[str], model: nanopore.ErrorModel, seed: int) -> bytes:
    """The plain way: one Python decision per base, then one formatted record per read."""
    rnd = random.Random(seed)
    p_sub = model.rate * model.substitution
    p_ins = p_sub + model.rate * model.insertion
    p_del = p_ins + model.rate * model.deletion
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz:
        for i, seq in enumerate(true):
            bases, quals = [], []
            for base in seq:
                u = rnd.random()
                if u < p_sub:
                    bases.append(rnd.choice([b for b in "ACGT" if b != base]))
                    quals.append(rnd.gauss(model.q_error, model.q_error_sd))
                elif u < p_ins:
                    bases += [base, rnd.choice("ACGT")]
                    quals += [
                        rnd.gauss(model.q_correct, model.q_correct_sd),
                        rnd.gauss(model.q_error, model.q_error_sd),
                    ]
                elif u < p_del:
                    continue
                else:
                    bases.append(base)
                    quals.append(rnd.gauss(model.q_correct, model.q_correct_sd))
            qual = "".join(chr(33 + min(max(round(q), 1), model.q_max)) for q in quals)
            gz.write(f"@read{i}\n{''.join(bases)}\n+\n{qual}\n".encode())
    return out.getvalue()


def sample_true_reads(params: RunSimulation, n: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` true reads (adapters, junk, amplicons) drawn exactly as the simulator draws them."""
    rngs = _stage_rngs(params.seed)
    designs = design_library(
        rngs["library"], params.n_variants, params.min_length, params.max_length
    )
    layout = plate_layout(params, rngs["layout"])
    colonies, major, minor = pick_colonies(layout, designs, params, rngs["colonies"])
    wells = layout.assign(fwd_barcode="ACGTACGTACGT", rev_barcode="TGCATGCATGCA")
    templates = build_templates(wells, colonies, major, minor, params, rngs["reads"])
    counts = well_read_counts(wells, templates, params, rngs["reads"])
    ratio = np.where(minor >= 0, params.mixed_ratio, 1.0)
    plan = plan_reads(np.arange(len(wells)), counts, ratio, templates, params, rngs["reads"])
    from dataclasses import fields

    head = type(plan)(*(getattr(plan, f.name)[:n] for f in fields(plan)))
    return true_reads(head, templates, params, rngs["reads"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1_000_000, help="reads in the full run")
    parser.add_argument("--sample", type=int, default=20_000, help="reads for the loop comparison")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    pin_one_core()
    params = params_for(args.reads, args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = simulate_run(params, Path(tmp) / "run")
        seconds = time.perf_counter() - start
        size = sum(f.stat().st_size for f in (Path(tmp) / "run" / "reads").iterdir())
    n = summary["reads"]
    print(
        f"full run: {n:,} reads, {summary['errors']['template_length'] / n:.0f} nt/read, "
        f"{size / 1e6:.0f} MB FASTQ.gz, {seconds:.1f} s"
    )
    print(f"  {n / seconds:,.0f} reads/s, {seconds / n * 1e6:.1f} s per million reads (one core)")

    seq, lengths = sample_true_reads(params, args.sample)
    model = params.error_model()
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    reads = nanopore.apply_errors(rng, seq, lengths, model)
    ours = gzip.compress(nanopore.fastq_bytes(nanopore.read_names(rng, lengths.size), reads), 1)
    ours_s = time.perf_counter() - start
    true = nanopore.split_text(seq, lengths)
    start = time.perf_counter()
    plain = plain_errors(true, model, args.seed)
    plain_s = time.perf_counter() - start
    k = lengths.size
    print(
        f"error model + FASTQ.gz on {k:,} reads: ours {k / ours_s:,.0f} reads/s, "
        f"plain loop {k / plain_s:,.0f} reads/s, speed-up {plain_s / ours_s:.0f}x "
        f"({len(ours) / 1e6:.1f} vs {len(plain) / 1e6:.1f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
