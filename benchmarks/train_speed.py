"""Training throughput: utrflow's data path against the seeds' plain `Model.fit` on float32.

Both train the same default network for the same epochs on the same simulated table. utrflow
hands Keras uint8 one-hot (cast inside the model) or streams it from the memory map; the plain
way converts the whole set to float32 NumPy first. Reported: samples/s per epoch (first epoch,
which compiles, left out) and peak resident memory of each path.

    .venv/bin/python benchmarks/train_speed.py --sequences 20000 --epochs 4
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np


class EpochTimer:
    """A Keras callback recording the wall time of each epoch."""

    def __init__(self) -> None:
        import keras

        class _Timer(keras.callbacks.Callback):
            def on_epoch_begin(inner, epoch, logs=None):
                inner.start = time.perf_counter()

            def on_epoch_end(inner, epoch, logs=None):
                self.seconds.append(time.perf_counter() - inner.start)

        self.seconds: list[float] = []
        self.callback = _Timer()

    def samples_per_second(self, n: int) -> float:
        steady = self.seconds[1:] or self.seconds
        return n / float(np.median(steady))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--stream", action="store_true", help="utrflow streams from the memmap")
    args = parser.parse_args()

    import keras

    from utrflow import config
    from utrflow.model import build_network, layer_specs
    from utrflow.sequences import one_hot
    from utrflow.simulate import simulate_table
    from utrflow.training import configure_backend, train_member

    cfg = config.validate({"model": {"epochs": args.epochs, "patience": args.epochs + 1}})["model"]
    if args.stream:
        cfg["in_memory_gb"] = 0
    sim = simulate_table(args.sequences, 30, 60, 0.4, seed=1)
    rows = sim.labelled.assign(weight=1.0, split="train")
    rows.loc[rows.index[-args.sequences // 10 :], "split"] = "validation"
    n_train = int((rows["split"] == "train").sum())
    onehot = one_hot(rows["sequence"].tolist())

    # utrflow's path: train_member, exactly as the workflow calls it.
    ours = EpochTimer()
    original_fit = keras.Model.fit

    def fit_with_timer(self, *a, **k):
        k["callbacks"] = [*k.get("callbacks", []), ours.callback]
        return original_fit(self, *a, **k)

    keras.Model.fit = fit_with_timer
    train_member(onehot, rows, None, cfg, seed=1, threads=args.threads)
    keras.Model.fit = original_fit
    ours_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The plain way (the seeds): float32 arrays in memory, model.fit.
    configure_backend(args.threads, 1, True, True)
    train = (rows["split"] == "train").to_numpy()
    x = onehot.astype(np.float32)
    y = ((rows["label"] - rows["label"][train].mean()) / rows["label"][train].std()).to_numpy(
        np.float32
    )
    plain = build_network(x.shape[1], layer_specs(cfg), "regression", input_dtype="float32")
    plain.compile(optimizer=keras.optimizers.Adam(cfg["learning_rate"]), loss="mse")
    timer = EpochTimer()
    plain.fit(
        x[train],
        y[train],
        validation_data=(x[~train], y[~train]),
        epochs=args.epochs,
        batch_size=cfg["batch_size"],
        callbacks=[timer.callback],
        verbose=0,
    )
    plain_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    result = {
        "sequences": args.sequences,
        "train_rows": n_train,
        "length": int(x.shape[1]),
        "backend": keras.backend.backend(),
        "threads": args.threads,
        "utrflow_path": "memmap stream" if args.stream else "uint8 in memory",
        "utrflow_samples_per_s": round(ours.samples_per_second(n_train)),
        "plain_fit_float32_samples_per_s": round(timer.samples_per_second(n_train)),
        "peak_rss_mb_after_utrflow": round(ours_rss),
        "peak_rss_mb_after_plain": round(plain_rss),
    }
    result["ratio"] = round(
        result["utrflow_samples_per_s"] / result["plain_fit_float32_samples_per_s"], 3
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
