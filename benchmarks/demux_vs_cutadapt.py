"""Demultiplexing + extraction throughput and accuracy, utrflow against cutadapt, in one run.

    .venv/bin/python benchmarks/demux_vs_cutadapt.py --reads 200000 --threads 2 --sample 2000
    .venv/bin/python benchmarks/demux_vs_cutadapt.py --reads 850000 --cli --baseline OLD/src

One simulated 96-well plate (row x column barcodes, so 96 well pairs) with about --reads reads.
utrflow demultiplexes and extracts all of them with --threads processes; cutadapt (the plain
tool users reach for) demultiplexes the first --sample reads with one linked adapter per well
pair (barcode+primer ... rc(primer)+rc(barcode), both required), --revcomp, -e 0.2, on the same
number of cores. Precision: assigned reads that went to their true well; recall: intact
full-length reads assigned to their true well (the simulator's truth).

With --cli, utrflow runs as the workflow runs it (`utrflow demux --threads N`, a process of its
own, timed from start to exit); --baseline SRC also runs another checkout's package (e.g. the
previous commit) on the same reads, so a shared machine's load hits both alike and the ratio of
the two stays meaningful.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import yaml

from utrflow import sheets
from utrflow.reads import demux
from utrflow.reads.files import iter_records
from utrflow.sequences import reverse_complement
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation


def score(truth: pd.DataFrame, read_ids: list[str], wells: list[str]) -> dict[str, float]:
    """Precision and recall of (read, well) calls; '' means unassigned."""
    got = pd.DataFrame({"read_id": read_ids, "call": wells})
    merged = truth.merge(got, on="read_id", validate="one_to_one")
    assigned = merged["call"] != ""
    correct = assigned & (merged["call"] == merged["well"])
    full = merged["kind"] == "full"
    return {
        "reads": len(merged),
        "precision": correct.sum() / max(assigned.sum(), 1),
        "recall": (correct & full).sum() / max(full.sum(), 1),
    }


def run_utrflow(run: Path, threads: int, _source: Path) -> tuple[float, pd.DataFrame]:
    plates = sheets.load_plates(run / "plates.tsv", Path("/"))
    wells = sheets.load_wells(run / "wells.tsv")
    construct = sheets.load_construct(yaml.safe_load((run / "construct.yaml").read_text()))
    (group,) = sheets.read_groups(plates)
    out = run / "utrflow"
    started = time.perf_counter()
    demux.run_group(group, wells, construct, demux.DemuxSettings(), out, threads)
    seconds = time.perf_counter() - started
    return seconds, pd.read_csv(out / "assignments.tsv.gz", sep="\t", keep_default_na=False)


def run_cli(run: Path, threads: int, source: Path) -> tuple[float, pd.DataFrame]:
    """`utrflow demux` as a process, with the package from `source` (a checkout's src/)."""
    construct = yaml.safe_load((run / "construct.yaml").read_text())
    out = run / f"cli_{abs(hash(str(source)))}"
    env = {**os.environ, "PYTHONPATH": str(source)}
    command = [sys.executable, "-m", "utrflow.cli", "demux", "--params",
               json.dumps({"construct": construct}), "--plates", str(run / "plates.tsv"),
               "--wells", str(run / "wells.tsv"), "--group", "P01", "--out-dir", str(out),
               "--threads", str(threads)]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd="/")
    seconds = time.perf_counter() - started
    return seconds, pd.read_csv(out / "assignments.tsv.gz", sep="\t", keep_default_na=False)


def run_cutadapt(
    run: Path, sample: int, threads: int, plate: str | None = None
) -> tuple[float, list[str], list[str]]:
    """cutadapt on the first `sample` reads of the first plate (or `plate`), its wells only."""
    construct = yaml.safe_load((run / "construct.yaml").read_text())
    wells = pd.read_csv(run / "wells.tsv", sep="\t")
    plates = pd.read_csv(run / "plates.tsv", sep="\t")
    plate = plate or str(plates["plate"].iloc[0])
    wells = wells[wells["plate"] == plate]
    plates = plates[plates["plate"] == plate].reset_index(drop=True)
    adapters = run / "linked.fasta"
    with open(adapters, "w") as handle:
        for well, fwd, rev in zip(
            wells["well"], wells["fwd_barcode"], wells["rev_barcode"], strict=True
        ):
            five = fwd + construct["fwd_primer"]
            three = reverse_complement(construct["rev_primer"]) + reverse_complement(rev)
            handle.write(f">{well}\n{five};required...{three};required\n")
    reads_in = run / "sample.fastq"
    ids = []
    with open(reads_in, "w") as handle:
        for i, (name, seq) in enumerate(iter_records(plates["reads"][0])):
            if i >= sample:
                break
            ids.append(name)
            handle.write(f"@{name}\n{seq}\n+\n{'I' * len(seq)}\n")
    out = run / "cutadapt.fastq"
    started = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "cutadapt"),
            "-g",
            f"file:{adapters}",
            "--revcomp",
            "-e",
            "0.2",
            "-j",
            str(threads),
            "--action",
            "none",
            "--discard-untrimmed",
            "--rename",
            "{id} {adapter_name}",
            "-o",
            str(out),
            str(reads_in),
        ],
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    calls = {}
    with open(out) as handle:
        for i, line in enumerate(handle):
            if i % 4 == 0:
                name, well = line[1:].split()[:2]
                calls[name] = well
    return seconds, ids, [calls.get(i, "") for i in ids]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sample", type=int, default=2000, help="reads given to cutadapt")
    parser.add_argument("--preset", default="r10", choices=["r10", "r9"])
    parser.add_argument("--cli", action="store_true", help="time `utrflow demux` as a process")
    parser.add_argument("--baseline", type=Path, help="another checkout's src/ to run as well")
    args = parser.parse_args()
    source = Path(__file__).resolve().parents[1] / "src"
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        per_well = args.reads / 96 / (1 - 0.05 - 0.02 - 0.03) * 0.9
        simulate_run(
            RunSimulation(
                n_plates=1,
                n_variants=2000,
                reads_per_well_mean=per_well,
                error_preset=args.preset,
                seed=1,
            ),
            run,
        )
        truth = pd.read_csv(run / "truth_reads.tsv.gz", sep="\t", keep_default_na=False)
        print(f"{args.preset} error preset, 96 well pairs, {args.threads} cores", flush=True)
        print(f"{'tool':<28}{'reads':>9}{'reads/s':>10}{'CPU-s':>8}{'precision':>11}{'recall':>9}")
        with timed() as clock:
            c_seconds, c_ids, c_calls = run_cutadapt(run, args.sample, args.threads)
        theirs = score(truth[truth["read_id"].isin(set(c_ids))], c_ids, c_calls)
        cut_rate = show("cutadapt (linked, --revcomp)", theirs, c_seconds, clock["cpu"])
        with timed() as clock:
            seconds, ours = (run_cli if args.cli else run_utrflow)(run, args.threads, source)
        calls = ours["well"].where(ours["status"] == "assigned", "")
        ours_rate = show("utrflow demux + extract", score(truth, ours["read_id"].tolist(),
                         calls.tolist()), seconds, clock["cpu"])  # fmt: skip
        first = ours["read_id"][: args.sample]
        sample = score(truth[truth["read_id"].isin(set(first))], first.tolist(),
                       calls[: args.sample].tolist())  # fmt: skip
        show("utrflow, cutadapt's sample", sample, None, None)
        print(f"utrflow / cutadapt reads/s: {ours_rate / cut_rate:.1f}x", flush=True)
        if args.baseline:
            with timed() as clock:
                b_seconds, before = run_cli(run, args.threads, args.baseline)
            b_calls = before["well"].where(before["status"] == "assigned", "")
            b_rate = show("baseline (--baseline)", score(truth, before["read_id"].tolist(),
                          b_calls.tolist()), b_seconds, clock["cpu"])  # fmt: skip
            print(f"utrflow / baseline reads/s: {ours_rate / b_rate:.2f}x", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the main process (simulation included): {peak:,.0f} MB")


@contextlib.contextmanager
def timed() -> Iterator[dict[str, float]]:
    """CPU seconds spent inside the block, by this process and the children it waited for
    (pool workers, subprocesses): unlike wall time, hardly changed by others' jobs."""

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    out = {"cpu": 0.0}
    before = cpu()
    yield out
    out["cpu"] = cpu() - before


def show(name: str, figures: dict[str, float], seconds: float | None, cpu: float | None) -> float:
    """Print one tool's row at once (a long run under load may be cut short); its reads/s."""
    rate = figures["reads"] / seconds if seconds else 0.0
    speed = f"{rate:,.0f}" if seconds else "-"
    used = f"{cpu:,.1f}" if cpu is not None else "-"
    print(f"{name:<28}{figures['reads']:>9,}{speed:>10}{used:>8}"
          f"{figures['precision']:>11.4f}{figures['recall']:>9.4f}", flush=True)  # fmt: skip
    return rate


if __name__ == "__main__":
    main()
