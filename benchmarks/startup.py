"""Start-up of the reads and plates jobs: what each job pays before its work.

    .venv/bin/python benchmarks/startup.py [--repo /tmp/before] [--repeats 9]

A run has a demux and a consensus job per read group and one link job, so their start-up is paid
tens of times per run. This simulates one 96-well plate with about one read per well, so each
job's own work takes milliseconds, and times each command as the workflow runs it (a fresh
interpreter, settings as `--params`) --repeats times, interleaved: median and best wall seconds
and CPU seconds. Beside them, in the same run: the floor (`python -c pass`) and `import pandas`
alone. --repo times another checkout's package (`git worktree add /tmp/before REV`) on the same
files, so before and after are measured side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from utrflow import cli
from utrflow import config as config_module
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation

REPO = Path(__file__).resolve().parents[1]


def jobs(run: Path, out: Path) -> dict[str, list[str]]:
    """The demux, consensus and link jobs of a one-plate run, as their rules call them."""
    config = config_module.validate(
        {
            "source": "reads",
            "plates": str(run / "plates.tsv"),
            "wells": str(run / "wells.tsv"),
            "library": str(run / "library.csv"),
            "construct": yaml.safe_load((run / "construct.yaml").read_text()),
        }
    )

    def job(*argv: str) -> list[str]:
        chosen = config_module.select(config, cli.COMMANDS[argv[0]].settings)
        return [*argv, "--params", json.dumps(chosen)]

    demux = out / "demux"
    return {
        "demux": job(
            "demux",
            *("--plates", str(run / "plates.tsv"), "--wells", str(run / "wells.tsv")),
            *("--group", "P01", "--out-dir", str(demux)),
        ),
        "consensus": job(
            "consensus",
            *("--plate", "P01", "--counts", str(demux / "well_counts.tsv")),
            *("--regions", str(demux / "regions.tsv.gz"), "--library", str(run / "library.csv")),
            *("--output", str(out / "consensus.tsv")),
        ),
        "link": job(
            "link",
            *("--consensus", str(out / "consensus.tsv")),
            *("--readers", f"P01={run / 'reader' / 'P01.csv'}", "--wells", str(run / "wells.tsv")),
            *("--readings-dir", str(out / "readings"), "--labelled", str(out / "labelled.tsv")),
            *("--replicates", str(out / "replicates.tsv"), "--plate-qc", str(out / "qc.tsv")),
            *("--summary", str(out / "summary.json")),
        ),
    }


def timed(argv: list[str], src: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one process, run with the package from `src`."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, action="append", default=[], help="other checkout")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    releases = {"this": REPO / "src"} | {str(r): r.resolve() / "src" for r in args.repo}
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        simulate_run(RunSimulation(n_variants=50, n_plates=1, reads_per_well_mean=1.0), run)
        python = [sys.executable]
        cases: dict[tuple[str, str], list[str]] = {
            ("python -c pass", "-"): [*python, "-c", "pass"],
            ("import pandas", "-"): [*python, "-c", "import pandas"],
        }
        for name in releases:
            for command, argv in jobs(run, Path(tmp) / name).items():
                cases[(command, name)] = [*python, "-m", "utrflow", *argv]
        times: dict[tuple[str, str], list[tuple[float, float]]] = {key: [] for key in cases}
        for name, src in releases.items():  # once untimed: outputs in place, caches warm
            for key, argv in cases.items():
                if key[1] in (name, "-"):
                    timed(argv, src)
        for _ in range(args.repeats):
            for key, argv in cases.items():
                times[key].append(timed(argv, releases.get(key[1], REPO / "src")))
    header = ("job", "package", "median wall s", "best wall s", "median CPU s")
    print("{:<16} {:<22} {:>13} {:>11} {:>12}".format(*header))
    for (command, name), found in times.items():
        walls, cpus = [w for w, _ in found], [c for _, c in found]
        print(
            f"{command:<16} {name:<22} {statistics.median(walls):>13.3f} {min(walls):>11.3f} "
            f"{statistics.median(cpus):>12.3f}"
        )


if __name__ == "__main__":
    main()
