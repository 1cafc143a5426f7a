"""Reads -> labelled table through the whole workflow at the size of a real run, on few cores.

    .venv/bin/python benchmarks/run_scale.py --reads 250000 --plates 16 --cores 2
    .venv/bin/python benchmarks/run_scale.py --reads 1000000 --plates 16 --cores 2

Simulates a run (--plates plates of --format wells, one read file per plate, --error-rate per
base), then times `snakemake ... results/table/labelled.tsv --cores N` from the reads to the
labelled table, Snakemake's own start included. Prints reads/s end to end, per-stage seconds
(summed job wall time from the jobs' benchmark files) with each stage's largest job peak memory,
and the accuracy against the simulator's truth: read -> well precision and recall (recall over
intact full-length reads), and the right sequence among wells called `pass`. Beside it, the plain
way on the same reads: cutadapt demultiplexing alone (one linked adapter per well pair, as in
demux_vs_cutadapt.py) on the first --cutadapt-sample reads of the first plate.

`--close-variants 5 --clipped-fraction 0.2` simulates the close-variant layout (docs/alleles.md).

--repo runs another checkout's workflow and package (e.g. `git worktree add /tmp/before REV`),
so before and after are measured the same way on the same simulated reads (--workdir keeps
them: a second run with --reuse skips the simulation).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml
from demux_vs_cutadapt import run_cutadapt, score

from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation

REPO = Path(__file__).resolve().parents[1]
STAGES = ("demux", "consensus", "fluorescence", "link")


def simulate(workdir: Path, args: argparse.Namespace) -> None:
    """The run's sheets, reads, reader files and truth under workdir/run, and its config."""
    wells = args.plates * args.format
    # reads_per_well_mean counts colony reads; junk, chimeras and empty wells come on top
    per_well = args.reads / wells * (1 - 0.05 - 0.02 - 0.03)
    simulate_run(
        RunSimulation(
            n_variants=args.variants,
            n_plates=args.plates,
            plate_format=args.format,
            reads_per_well_mean=per_well,
            error_rate=args.error_rate,
            seed=args.seed,
            close_variants=args.close_variants,
            mixed_fraction=0.3 if args.close_variants else RunSimulation().mixed_fraction,
            clipped_fraction=args.clipped_fraction,
        ),
        workdir / "run",
    )
    construct = yaml.safe_load((workdir / "run" / "construct.yaml").read_text())
    config = {
        "source": "reads",
        "plates": "run/plates.tsv",
        "wells": "run/wells.tsv",
        "library": "run/library.csv",
        "construct": construct,
    }
    (workdir / "config").mkdir(exist_ok=True)
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))


def run_workflow(workdir: Path, repo: Path, cores: int) -> float:
    """Seconds from `snakemake` to the labelled table (earlier results removed first)."""
    subprocess.run(["rm", "-rf", str(workdir / "results"), str(workdir / ".snakemake")], check=True)
    command = [
        str(Path(sys.executable).parent / "snakemake"),
        "-s",
        str(repo / "workflow" / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        str(cores),
        "--quiet",
        "all",
        "--",
        "results/table/labelled.tsv",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(repo / "src"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"snakemake failed:\n{done.stderr[-3000:]}")
    return seconds


def stage_figures(workdir: Path) -> pd.DataFrame:
    """Per stage: jobs, summed wall and CPU seconds (CPU time is what a shared machine's
    contention changes least) and the largest job's peak memory (MB)."""
    bench = workdir / "results" / "benchmarks"
    rows = []
    for stage in STAGES:
        files = sorted((bench / stage).glob("*.tsv")) or [bench / f"{stage}.tsv"]
        frames = [pd.read_csv(f, sep="\t") for f in files if f.is_file()]
        if not frames:
            continue
        jobs = pd.concat(frames)
        rows.append(
            {
                "stage": stage,
                "jobs": len(jobs),
                "seconds": float(jobs["s"].sum()),
                "cpu_seconds": float(pd.to_numeric(jobs["cpu_time"], errors="coerce").sum()),
                "peak_mb": float(pd.to_numeric(jobs["max_rss"], errors="coerce").max()),
            }
        )
    return pd.DataFrame(rows)


def accuracy(workdir: Path) -> dict[str, float]:
    """Read -> well precision and recall, and the right sequence among `pass` wells."""
    run, results = workdir / "run", workdir / "results"
    truth = pd.read_csv(run / "truth_reads.tsv.gz", sep="\t", keep_default_na=False)
    calls = pd.concat(
        pd.read_csv(p, sep="\t", keep_default_na=False, usecols=["read_id", "plate", "well"])
        for p in sorted((results / "demux").glob("*/assignments.tsv.gz"))
    )
    merged = truth.merge(calls, on="read_id", suffixes=("", "_call"), validate="one_to_one")
    assigned = merged["well_call"] != ""
    correct = assigned & (merged["plate_call"] == merged["plate"])
    correct &= merged["well_call"] == merged["well"]
    full = merged["kind"] == "full"
    wells = pd.read_csv(run / "truth_wells.tsv", sep="\t", keep_default_na=False)
    table = pd.read_csv(results / "table" / "labelled.tsv", sep="\t", keep_default_na=False)
    joined = table.merge(wells, on=["plate", "well"], suffixes=("", "_true"), validate="1:1")
    called = joined[joined["qc"] == "pass"]
    mixed = joined["mixed"] & (pd.to_numeric(joined["n_regions"], errors="coerce") >= 10)
    return {
        "mixed_wells": int(mixed.sum()),
        "mixed_flagged": float((joined["qc"] != "pass")[mixed].mean()) if mixed.any() else 0.0,
        "reads": len(merged),
        "precision": correct.sum() / max(assigned.sum(), 1),
        "recall": (correct & full).sum() / max(full.sum(), 1),
        "pass_wells": len(called),
        "right_sequence": (called["sequence"] == called["sequence_true"]).mean(),
    }


def plain_way(workdir: Path, sample: int, cores: int) -> dict[str, float]:
    """cutadapt demultiplexing alone on the first plate's first `sample` reads."""
    run = workdir / "run"
    plates = pd.read_csv(run / "plates.tsv", sep="\t")
    plate = str(plates["plate"].iloc[0])
    seconds, ids, wells = run_cutadapt(run, sample, cores, plate)
    truth = pd.read_csv(run / "truth_reads.tsv.gz", sep="\t", keep_default_na=False)
    figures = score(truth[truth["read_id"].isin(set(ids))], ids, wells)
    return {**figures, "reads_per_s": figures["reads"] / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=250_000, help="about this many reads")
    parser.add_argument("--plates", type=int, default=16)
    parser.add_argument("--format", type=int, default=384, choices=[96, 384])
    parser.add_argument("--variants", type=int, default=10_000, help="designed library size")
    parser.add_argument("--error-rate", type=float, default=0.06)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, required=True, help="run folder (kept)")
    parser.add_argument("--reuse", action="store_true", help="keep the simulated run there")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose workflow runs")
    parser.add_argument("--cutadapt-sample", type=int, default=2000, help="0: skip cutadapt")
    parser.add_argument(
        "--close-variants",
        type=int,
        default=0,
        help="the close-variant layout: designs 1..N edits from their family's parent, 30 %% of "
        "wells mixed within a family (docs/alleles.md); 0: the default library",
    )
    parser.add_argument(
        "--clipped-fraction",
        type=float,
        default=0.0,
        help="full-length reads cut inside their last barcode entry",
    )
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if not args.reuse:
        started = time.perf_counter()
        simulate(args.workdir, args)
        print(f"simulated in {time.perf_counter() - started:.0f} s")
    seconds = run_workflow(args.workdir, args.repo.resolve(), args.cores)
    found = accuracy(args.workdir)
    stages = stage_figures(args.workdir)
    print(
        f"{args.repo.resolve()}: {found['reads']:,} reads, {args.plates} x {args.format} wells, "
        f"{args.cores} cores"
    )
    print(f"reads -> labelled.tsv: {seconds:.1f} s, {found['reads'] / seconds:,.0f} reads/s")
    print(stages.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(
        f"read -> well precision {found['precision']:.4f}, recall {found['recall']:.4f}; "
        f"right sequence {found['right_sequence']:.4f} of {found['pass_wells']:,} pass wells; "
        f"mixed wells (>= 10 regions) flagged {found['mixed_flagged']:.3f} of "
        f"{found['mixed_wells']}"
    )
    if args.cutadapt_sample:
        plain = plain_way(args.workdir, args.cutadapt_sample, args.cores)
        print(
            f"plain way, cutadapt demultiplexing alone ({plain['reads']:,} reads of the first "
            f"plate): {plain['reads_per_s']:,.0f} reads/s, precision {plain['precision']:.4f}, "
            f"recall {plain['recall']:.4f}"
        )


if __name__ == "__main__":
    main()
