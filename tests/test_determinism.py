"""A killed job leaves nothing that looks finished: atomic outputs, and a demultiplexing job
killed while its reads stream.

(The same config giving the same bytes, and no read lost, are checked in test_reruns.py on its
uninterrupted run and its killed-and-resumed run of one experiment: two whole runs fewer.)
"""

from __future__ import annotations

import gzip
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import BIN, TINY_MODEL, write_config

from utrflow import io
from utrflow.simulate.run import simulate_run
from utrflow.simulate.run_settings import RunSimulation

EMPTY_PLATE = "P03"


def reads_experiment(workdir: Path, run: Path) -> None:
    """Copy the simulated inputs into `workdir` and point a reads config at them."""
    shutil.copytree(run, workdir / "run")
    plates = pd.read_csv(workdir / "run" / "plates.tsv", sep="\t", keep_default_na=False)
    for column in ("reads", "fluorescence"):
        plates[column] = "run/" + plates[column].map(lambda p: Path(p).relative_to(run).as_posix())
    plates.to_csv(workdir / "run" / "plates.tsv", sep="\t", index=False)
    construct = yaml.safe_load((run / "construct.yaml").read_text())
    write_config(
        workdir,
        {
            "source": "reads",
            "plates": "run/plates.tsv",
            "wells": "run/wells.tsv",
            "library": "run/library.csv",
            "construct": construct,
            "demux": {"threads": 2, "chunk_reads": 500},
            "model": dict(TINY_MODEL),
            "baselines": {"kmer_max": 2},
            "design": {"n_designs": 0},  # proposing a library is not what is compared here
        },
    )


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    """A small three-plate run whose third plate's reads file holds no reads."""
    run = tmp_path_factory.mktemp("sim") / "run"
    simulate_run(
        RunSimulation(n_variants=300, n_plates=3, reads_per_well_mean=12, seed=21),
        run,
    )
    plates = pd.read_csv(run / "plates.tsv", sep="\t")
    empty = Path(plates.loc[plates["plate"] == EMPTY_PLATE, "reads"].item())
    empty.write_bytes(gzip.compress(b""))
    return run


# --------------------------------------------------------------------------------------------
# Atomic outputs


def test_a_failing_writer_leaves_neither_the_file_nor_its_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out" / "table.tsv"
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("half a table")
        raise RuntimeError("killed")
    assert not target.exists() and list(target.parent.iterdir()) == []
    io.write_tsv(pd.DataFrame({"a": [1]}), target)
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("a newer half")
        raise RuntimeError("killed")
    assert target.read_text() == "a\n1\n"  # the complete old file stays, untouched


def test_a_killed_demultiplexing_job_leaves_no_output_that_looks_complete(
    tmp_path: Path, simulated: Path
) -> None:
    """SIGKILL while the reads stream: no finally block runs, yet no output has its final name."""
    reads_experiment(tmp_path, simulated)
    plates = tmp_path / "run" / "plates.tsv"
    frame = pd.read_csv(plates, sep="\t")
    big = tmp_path / "run" / "many.fastq.gz"
    source = tmp_path / frame.loc[frame["plate"] == "P01", "reads"].item()
    with gzip.open(source, "rb") as handle:
        data = handle.read()
    lines = data.split(b"\n")
    with gzip.open(big, "wb", compresslevel=1) as handle:
        for copy in range(30):  # about 40,000 reads: seconds of work on one core
            # each copy's reads renamed: a file that repeats its own reads is refused
            renamed = [
                line.split(b" ")[0] + b"_%d" % copy if i % 4 == 0 and line else line
                for i, line in enumerate(lines)
            ]
            handle.write(b"\n".join(renamed).rstrip(b"\n") + b"\n")
    frame.loc[frame["plate"] == "P01", "reads"] = "run/many.fastq.gz"
    frame.to_csv(plates, sep="\t", index=False)
    out = tmp_path / "results" / "demux" / "P01"
    command = ["demux", "--plates", str(plates), "--wells", "run/wells.tsv", "--group", "P01"]
    job = subprocess.Popen(
        [str(BIN / "utrflow"), *command, "--out-dir", str(out), "--threads", "1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not any(out.glob(".assignments.tsv.gz.*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # well into the stream
    assert job.poll() is None, "the job ended before it could be killed: give it more reads"
    job.send_signal(signal.SIGKILL)
    job.wait(timeout=30)
    finished = {"assignments.tsv.gz", "regions.tsv.gz", "well_counts.tsv", "funnel.json"}
    left = {p.name for p in out.iterdir()}
    assert not left & finished, left
    assert left and all(name.startswith(".") and ".tmp" in name for name in left)
