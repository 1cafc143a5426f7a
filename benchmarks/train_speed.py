"""Training throughput: utrflow's data path against the seeds' plain `Model.fit` on float32.

Both train the same default network (same seed, batch size and epochs, validation after every
epoch) on the same simulated table. utrflow's path is `train_member` exactly as the workflow
calls it: uint8 one-hot handed to Keras (cast inside the model) or streamed from the memory map.
The plain way converts the whole set to float32 NumPy first and calls `Model.fit` with Keras'
defaults. Each run is a fresh process, so neither inherits the other's TensorFlow state or
memory; the two paths alternate (ours first, then plain first, ...) and each is repeated.
Reported: samples/s per epoch at the median epoch time over all runs of a path (an epoch's
wall time includes its validation; each run's first epoch, which traces and compiles, is left
out) and at its best epoch, each run's own figure, each path's peak resident memory, and the
ratios ours / plain.

On a shared (or virtual) machine single epochs now and then take twice as long, from other
jobs or from the host's own neighbours. Hence alternation, repeats and pooled medians; each
run also records the share of this machine's CPU that other processes used meanwhile (from
/proc/stat), and `--wait-idle` holds each run back until the machine has been idle for a few
seconds.

    .venv/bin/python benchmarks/train_speed.py --sequences 20000 --epochs 4 --repeats 3
    .venv/bin/python benchmarks/train_speed.py --repeats 3 --wait-idle 3600
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

PATHS = ("utrflow", "plain")


def epoch_timer(seconds: list[float]):
    """A Keras callback appending the wall time of each epoch (validation included)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    return EpochTimer()


def plain_fit(
    onehot: np.ndarray, label: np.ndarray, train: np.ndarray, cfg: dict, epochs: int, callbacks
):
    """The seeds' way: the whole set as float32 in memory, Keras defaults, `Model.fit`."""
    import keras

    from utrflow.model.network import build_network, layer_specs

    keras.utils.set_random_seed(1)
    x = onehot.astype(np.float32)
    y = ((label - label[train].mean()) / label[train].std()).astype(np.float32)
    plain = build_network(x.shape[1], layer_specs(cfg), "regression", input_dtype="float32")
    plain.compile(optimizer=keras.optimizers.Adam(cfg["learning_rate"]), loss="mse")
    return plain.fit(
        x[train],
        y[train],
        validation_data=(x[~train], y[~train]),
        epochs=epochs,
        batch_size=cfg["batch_size"],
        callbacks=callbacks,
        verbose=0,
    )


def worker(path: str, sequences: int, epochs: int, threads: int, stream: bool) -> dict:
    """Train one path in this process; samples/s per steady epoch and peak memory."""
    from utrflow import config
    from utrflow.sequences import one_hot
    from utrflow.simulate.table import simulate_table

    cfg = config.validate({"model": {"epochs": epochs, "patience": epochs + 1}})["model"]
    sim = simulate_table(sequences, 30, 60, 0.4, seed=1)
    rows = sim.labelled.assign(weight=1.0, split="train")
    rows.loc[rows.index[-sequences // 10 :], "split"] = "validation"
    train = (rows["split"] == "train").to_numpy()
    onehot = one_hot(rows["sequence"].tolist())
    seconds: list[float] = []

    if path == "utrflow":
        from utrflow.model.training import train_member

        if stream:
            cfg["in_memory_gb"] = 0
        train_member(
            onehot, rows, None, cfg, seed=1, threads=threads, extra_callbacks=[epoch_timer(seconds)]
        )
    else:
        plain_fit(onehot, rows["label"].to_numpy(), train, cfg, epochs, [epoch_timer(seconds)])
    import keras

    steady = seconds[1:] or seconds
    return {
        "path": path,
        "backend": keras.backend.backend(),
        "samples_per_s": int(train.sum()) / float(np.median(steady)),
        "epoch_seconds": [round(s, 2) for s in seconds],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (None where /proc is missing)."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(timeout: float, window: float = 5.0, threshold: float = 0.1) -> None:
    """Return once a `window` of seconds passes with the machine under `threshold` busy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = busy_cpu_seconds()
        if before is None:
            return
        time.sleep(window)
        if (busy_cpu_seconds() - before) / (window * os.cpu_count()) < threshold:
            return
    print(f"machine not idle within {timeout:.0f} s; running anyway", file=sys.stderr)


def run_worker(path: str, args: argparse.Namespace) -> dict:
    """One path in a fresh Python process, with the CPU share others used meanwhile."""
    command = [
        sys.executable,
        __file__,
        "--worker",
        path,
        "--sequences",
        str(args.sequences),
        "--epochs",
        str(args.epochs),
        "--threads",
        str(args.threads),
        *(["--stream"] if args.stream else []),
    ]
    if args.wait_idle:
        wait_until_idle(args.wait_idle)
    busy, start = busy_cpu_seconds(), time.monotonic()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"{path} run failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if busy is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
        capacity = (time.monotonic() - start) * os.cpu_count()
        result["others_cpu_share"] = round(max(busy_cpu_seconds() - busy - ours, 0) / capacity, 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each path (>= 2)")
    parser.add_argument("--stream", action="store_true", help="utrflow streams from the memmap")
    parser.add_argument(
        "--wait-idle", type=float, default=0, help="wait up to this many s for an idle machine"
    )
    parser.add_argument("--worker", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeats < 2:
        parser.error("--repeats must be at least 2: one run per path is not a comparison")
    if args.worker:
        result = worker(args.worker, args.sequences, args.epochs, args.threads, args.stream)
        print(json.dumps(result))
        return

    runs: dict[str, list[dict]] = {p: [] for p in PATHS}
    for repeat in range(args.repeats):
        order = PATHS if repeat % 2 == 0 else PATHS[::-1]  # alternate who goes first
        for path in order:
            runs[path].append(run_worker(path, args))
            print(json.dumps(runs[path][-1]), file=sys.stderr)
    n_train = args.sequences - args.sequences // 10
    # Every steady epoch of every run of a path, pooled: the median shrugs off the odd epoch
    # that a busy neighbour doubles, and the best epoch is what the path does undisturbed.
    epochs = {p: np.array([s for r in runs[p] for s in r["epoch_seconds"][1:]]) for p in PATHS}
    median = {p: n_train / float(np.median(epochs[p])) for p in PATHS}
    best = {p: n_train / float(epochs[p].min()) for p in PATHS}
    result = {
        "sequences": args.sequences,
        "train_rows": n_train,
        "epochs": args.epochs,
        "repeats": args.repeats,
        "backend": runs["utrflow"][0]["backend"],
        "threads": args.threads,
        "utrflow_path": "memmap stream" if args.stream else "uint8 in memory",
        "utrflow_samples_per_s": round(median["utrflow"]),
        "plain_fit_float32_samples_per_s": round(median["plain"]),
        "ratio": round(median["utrflow"] / median["plain"], 3),
        "utrflow_best_epoch_samples_per_s": round(best["utrflow"]),
        "plain_best_epoch_samples_per_s": round(best["plain"]),
        "ratio_best": round(best["utrflow"] / best["plain"], 3),
        "utrflow_runs": [round(r["samples_per_s"]) for r in runs["utrflow"]],
        "plain_runs": [round(r["samples_per_s"]) for r in runs["plain"]],
        "peak_rss_mb_utrflow": round(max(r["peak_rss_mb"] for r in runs["utrflow"])),
        "peak_rss_mb_plain": round(max(r["peak_rss_mb"] for r in runs["plain"])),
        "others_cpu_share_utrflow": [r.get("others_cpu_share") for r in runs["utrflow"]],
        "others_cpu_share_plain": [r.get("others_cpu_share") for r in runs["plain"]],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
