"""Training at scale: 1 million 100-nt sequences, one epoch, peak memory of each data path.

The encode step writes the one-hot set to disk as a uint8 `.npy` (`encode.write_onehot`, chunk by
chunk); training memory-maps it (`encode.load_onehot`). utrflow's two paths are timed and
measured in fresh processes: `uint8 in memory` (the train rows copied into RAM as uint8, the
default while the set is under `model.in_memory_gb`) and `memmap stream` (`in_memory_gb: 0`,
batches read from the map). The plain way converts the whole set to float32 first, as the seeds
do. Labels: a planted Shine-Dalgarno-like motif plus noise, so the epoch is real learning.

    .venv/bin/python benchmarks/train_scale.py [--sequences 1000000] [--length 100]
        [--paths inmemory stream plain] [--workdir /tmp/utrflow_scale]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from train_speed import epoch_timer, plain_fit

MOTIF = "AGGAGG"
PATHS = ("inmemory", "stream", "plain")


def write_set(workdir: Path, n: int, length: int, seed: int = 1) -> None:
    """Random sequences with a planted motif; one-hot to onehot.npy, labels to labels.npy."""
    from utrflow.model.encode import write_onehot

    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    codes = rng.integers(0, 4, size=(n, length), dtype=np.uint8)
    sequences = [row.tobytes().decode("ascii") for row in letters[codes]]
    del codes
    plant = rng.random(n) < 0.5
    position = rng.integers(0, length - len(MOTIF), size=n)
    for i in np.flatnonzero(plant):
        p = position[i]
        sequences[i] = sequences[i][:p] + MOTIF + sequences[i][p + len(MOTIF) :]
    label = plant * (1.0 + position / length) + rng.normal(0, 0.3, n)
    write_onehot(sequences, length, workdir / "onehot.npy")
    np.save(workdir / "labels.npy", label.astype(np.float32))


def worker(path: str, workdir: Path, threads: int) -> dict:
    """One epoch of one path in this process: samples/s and peak resident memory."""
    import pandas as pd

    from utrflow import config
    from utrflow.model.encode import load_onehot
    from utrflow.model.training import train_member

    onehot = load_onehot(workdir / "onehot.npy")
    label = np.load(workdir / "labels.npy")
    n = len(label)
    split = np.where(np.arange(n) < n - n // 10, "train", "validation")
    cfg = config.validate({"model": {"epochs": 1, "patience": 2}})["model"]
    seconds: list[float] = []
    start = time.perf_counter()
    if path in ("inmemory", "stream"):
        cfg["in_memory_gb"] = 0 if path == "stream" else 4
        rows = pd.DataFrame({"split": split, "label": label})
        member = train_member(
            onehot, rows, None, cfg, seed=1, threads=threads, extra_callbacks=[epoch_timer(seconds)]
        )
        val_loss = float(member.history["val_loss"].iloc[-1])
    else:
        fit = plain_fit(onehot, label, split == "train", cfg, 1, [epoch_timer(seconds)])
        val_loss = float(fit.history["val_loss"][-1])
    n_train = int((split == "train").sum())
    return {
        "path": path,
        "sequences": n,
        "length": int(onehot.shape[1]),
        "epoch_seconds": round(seconds[0], 1),
        "samples_per_s": round(n_train / seconds[0]),
        "total_seconds": round(time.perf_counter() - start, 1),
        "val_loss_standardized": round(val_loss, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=1_000_000)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/utrflow_scale"))
    parser.add_argument("--worker", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.workdir, args.threads)))
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    write_set(args.workdir, args.sequences, args.length)
    encode_seconds = time.perf_counter() - start
    encode_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    float32_mb = args.sequences * args.length * 4 * 4 / 2**20
    print(
        f"encoded {args.sequences:,} x {args.length} nt in {encode_seconds:.0f} s "
        f"(uint8 on disk {float32_mb / 4:,.0f} MB; as float32 {float32_mb:,.0f} MB); "
        f"peak {encode_rss:,.0f} MB while simulating and encoding",
        file=sys.stderr,
    )
    results = []
    for path in args.paths:
        command = [sys.executable, __file__, "--worker", path, "--workdir", str(args.workdir)]
        command += ["--threads", str(args.threads)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            sys.exit(f"{path} run failed:\n{done.stderr[-3000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), file=sys.stderr)
    summary = {"float32_set_mb": round(float32_mb), "uint8_set_mb": round(float32_mb / 4)}
    print(json.dumps({**summary, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
