"""Training: devices, data feeding from uint8 memory maps, early stopping, one ensemble member.

Data up to `model.in_memory_gb` (as uint8) is handed to Keras in memory; larger data streams
from the memory-mapped .npy in shuffled batches, so a float32 copy of the whole set never
exists. In memory, training peaks at about 4.6 times the uint8 set above the runtime (our copy
of the train rows and those Keras' array adapter makes); streaming at about 1.4 times, as fast
(benchmarks/train_scale.py): hence a 1 GB default, inside the training job's 8 GB request.
On a GPU, bfloat16 mixed precision and, with several GPUs, data-parallel training
(TensorFlow's MirroredStrategy or Keras' JAX DataParallel) are used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from utrflow import io
from utrflow.model import evaluate
from utrflow.model import network as model_module
from utrflow.model.encode import Encoded
from utrflow.model.settings import ModelSettings, model_settings
from utrflow.model.splits import carve_validation

if TYPE_CHECKING:  # Keras is imported where it is used: loading it takes seconds
    import keras

log = logging.getLogger(__name__)

# Batches per compiled training call. Keras otherwise returns to Python after every batch
# (callbacks, logs, the next dispatch): about a millisecond per step on a CPU, several per cent
# of an epoch at batch size 64. Running 32 batches inside one call computes the same steps in
# the same order (epoch-level callbacks are unaffected); PyTorch's trainer allows only 1.
STEPS_PER_EXECUTION = 32

# A network whose output no longer depends on its input (every unit of a ReLU layer dead, as a
# wide Flatten -> Dense under Adam's first steps can leave it) cannot learn again: the guard
# stops it at the end of the epoch where its output over a probe of validation rows has
# collapsed to one value and trains it anew at a lower learning rate, at most twice.
DEAD_OUTPUT_SD = 1e-5
PROBE_ROWS = 512
RESTART_LEARNING_RATE_FACTOR = 0.3
MAX_RESTARTS = 2

# A batch's model inputs: the one-hot alone, or with the covariates.
Inputs = np.ndarray | tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Device:
    """Where training runs, in words for the report, and how many accelerators."""

    description: str
    accelerators: int


def configure_backend(
    threads: int, seed: int, deterministic: bool, mixed_precision: bool
) -> Device:
    """Seed every generator, cap CPU threads at the job's share, pick precision and device."""
    import keras

    keras.utils.set_random_seed(seed)
    backend = keras.backend.backend()
    accelerators = 0
    if backend == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(max(threads, 1))
            tf.config.threading.set_inter_op_parallelism_threads(max(min(threads, 2), 1))
        except RuntimeError:  # TensorFlow already started in this process: keep its threads
            log.info("TensorFlow is already initialized; thread counts left as they are")
        gpus = tf.config.list_physical_devices("GPU")
        accelerators = len(gpus)
        names = ", ".join(g.name for g in gpus)
        if deterministic:
            tf.config.experimental.enable_op_determinism()
    elif backend == "jax":
        import jax

        devices = [d for d in jax.devices() if d.platform != "cpu"]
        accelerators = len(devices)
        names = ", ".join(str(d) for d in devices)
    else:  # torch
        import torch

        torch.set_num_threads(max(threads, 1))
        accelerators = torch.cuda.device_count()
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(accelerators))
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
    if accelerators and mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    else:
        keras.mixed_precision.set_global_policy("float32")
    if accelerators:
        precision = "bfloat16 mixed precision" if mixed_precision else "float32"
        return Device(f"gpu x{accelerators} ({names}; {precision})", accelerators)
    return Device(f"cpu ({threads} threads)", 0)


def distribution_scope(device: Device) -> contextlib.AbstractContextManager[Any]:
    """A context in which to build the model so that training spreads over all GPUs."""
    import keras

    if device.accelerators < 2:
        return contextlib.nullcontext()
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    if keras.backend.backend() == "jax":
        keras.distribution.set_distribution(keras.distribution.DataParallel())
    return contextlib.nullcontext()


def steps_per_execution() -> int:
    """Batches per compiled call on this backend (PyTorch's trainer runs one at a time)."""
    import keras

    return 1 if keras.backend.backend() == "torch" else STEPS_PER_EXECUTION


def _batches_class() -> type[keras.utils.PyDataset]:
    import keras

    class MemmapBatches(keras.utils.PyDataset):
        """Shuffled uint8 batches read from a memory-mapped one-hot array."""

        def __init__(
            self,
            onehot: np.ndarray,
            rows: np.ndarray,
            targets: np.ndarray,
            covariates: np.ndarray | None,
            weights: np.ndarray,
            batch_size: int,
            seed: int,
            shuffle: bool,
            reverse_complement: bool = False,
        ) -> None:
            super().__init__()
            self.onehot, self.rows, self.targets = onehot, rows, targets
            self.covariates, self.weights = covariates, weights
            self.batch_size, self.shuffle, self.rc = batch_size, shuffle, reverse_complement
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(rows)) if shuffle else np.arange(len(rows))

        def __len__(self) -> int:
            return int(np.ceil(len(self.rows) / self.batch_size))

        def __getitem__(self, index: int) -> tuple[Inputs, np.ndarray, np.ndarray]:
            pick = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
            rows = self.rows[pick]
            x = np.asarray(self.onehot[rows])
            if self.rc:
                flip = self.rng.random(len(x)) < 0.5
                x[flip] = x[flip, ::-1, ::-1]
            inputs = (x, self.covariates[rows]) if self.covariates is not None else x
            return inputs, self.targets[pick], self.weights[pick]

        def on_epoch_end(self) -> None:
            if self.shuffle:
                self.order = self.rng.permutation(len(self.rows))

    return MemmapBatches


@dataclass
class Member:
    """One trained, exported model with its history and summary."""

    model: Any
    scaler: model_module.Scaler
    history: pd.DataFrame
    info: dict[str, Any]


def _dead_output_guard(probe: Inputs) -> Any:
    """A Keras callback that stops the fit once the network's output over `probe` is one value
    (a dead network: no gradient reaches its weights again) and says so in `dead`."""
    import keras

    class Guard(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.dead, self.dead_epoch = False, 0

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            output = np.asarray(self.model.predict_on_batch(probe), dtype=np.float64)
            if float(output.std()) < DEAD_OUTPUT_SD:
                self.dead, self.dead_epoch = True, epoch + 1
                self.model.stop_training = True

    return Guard()


def _fit(
    network: keras.Model,
    train_data: Any,
    val_data: Any,
    batch_size: int,
    settings: ModelSettings,
    callbacks: Sequence[Any],
) -> Any:
    """One early-stopped fit (best weights restored, learning rate halved on plateaus), from
    arrays in memory or from a streaming PyDataset."""
    import keras

    patience = settings.patience
    schedule = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=True
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.5, patience=max(patience // 2, 1)
        ),
        *callbacks,
    ]
    if isinstance(train_data, tuple):
        x, y, w = train_data
        return network.fit(
            x=x,
            y=y,
            sample_weight=w,
            validation_data=val_data,
            epochs=settings.epochs,
            batch_size=batch_size,
            callbacks=schedule,
            shuffle=True,
            verbose=2,
        )
    return network.fit(
        train_data,
        validation_data=val_data,
        epochs=settings.epochs,
        callbacks=schedule,
        verbose=2,
    )


def _targets(
    rows: pd.DataFrame, task: str, train_rows: np.ndarray
) -> tuple[model_module.Scaler, np.ndarray, np.ndarray]:
    """The label scaler (fit on the train rows: regression only), the scaled targets and each
    row's weight (1 without a `weight` column)."""
    labels = rows["label"].to_numpy(dtype=np.float64)
    weights = (
        rows["weight"].to_numpy(dtype=np.float32)
        if "weight" in rows
        else np.ones(len(rows), np.float32)
    )
    scaler = (
        model_module.Scaler.fit(labels[train_rows], weights[train_rows])
        if task == "regression"
        else model_module.Scaler.identity()
    )
    return scaler, scaler.transform(labels), weights


def _fit_restarting(
    build: Callable[[], Any],
    device: Any,
    settings: ModelSettings,
    probe_inputs: Any,
    data: tuple[Any, Any, int],
    extra_callbacks: Sequence[Any],
) -> tuple[Any, Any, float, int, bool]:
    """Build (`build()`), compile and fit a network; one whose output collapses to one value is
    built and trained anew at a lower learning rate, up to MAX_RESTARTS times. Returns the
    network, its fit, the learning rate it ended at, its restarts and whether it stayed
    collapsed."""
    import keras

    train_data, val_data, batch_size = data
    task = settings.task
    learning_rate = float(settings.learning_rate)
    loss = "binary_crossentropy" if task == "classification" else "mse"
    for restart in range(MAX_RESTARTS + 1):
        with distribution_scope(device):
            network = build()
            network.compile(
                optimizer=keras.optimizers.Adam(learning_rate),
                loss=loss,
                steps_per_execution=steps_per_execution(),
            )
        guard = _dead_output_guard(probe_inputs)
        fit = _fit(network, train_data, val_data, batch_size, settings, [guard, *extra_callbacks])
        if not guard.dead:
            break
        if restart == MAX_RESTARTS:
            log.warning(
                "the network's output is one value for every input even at learning rate %g: "
                "it predicts the mean",
                learning_rate,
            )
            break
        log.warning(
            "the network's output stopped depending on its input at epoch %d (learning rate "
            "%g): training it anew at %g",
            guard.dead_epoch,
            learning_rate,
            learning_rate * RESTART_LEARNING_RATE_FACTOR,
        )
        learning_rate *= RESTART_LEARNING_RATE_FACTOR
    return network, fit, learning_rate, restart, bool(guard.dead)


def _covariate_scaling(
    covariates: np.ndarray | None, train_rows: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """The covariates (None when there are no columns) and the mean and variance of the train
    rows that the network's input layer standardizes them with."""
    if covariates is None or not covariates.shape[1]:
        return None, None, None
    mean = covariates[train_rows].mean(axis=0)
    return covariates, mean, np.maximum(covariates[train_rows].var(axis=0), 1e-12)


def _feeder(
    onehot: np.ndarray,
    covariates: np.ndarray | None,
    targets: np.ndarray,
    weights: np.ndarray,
    settings: ModelSettings,
    batch_size: int,
    seed: int,
    in_memory: bool,
) -> Callable[[np.ndarray, bool], Any]:
    """How rows reach the fit: arrays when the one-hot data fits in memory (`in_memory`), else
    a Keras PyDataset streaming batches from disk (with reverse-complement augmentation)."""
    batches = _batches_class()
    uniform = bool((weights == weights[0]).all())  # no weighting: skip the per-sample multiply

    def feed(which: np.ndarray, shuffle: bool) -> Any:
        if in_memory:
            x = np.asarray(onehot[which])
            inputs = (x, covariates[which]) if covariates is not None else x
            return inputs, targets[which], None if uniform else weights[which]
        return batches(
            onehot,
            which,
            targets[which],
            covariates,
            weights[which],
            batch_size,
            seed,
            shuffle,
            settings.reverse_complement,
        )

    return feed


def _probe_inputs(onehot: np.ndarray, covariates: np.ndarray | None, rows: np.ndarray) -> Any:
    """The few validation rows the dead-output guard feeds the network after each epoch."""
    probe = np.asarray(onehot[rows])
    return (probe, covariates[rows]) if covariates is not None else probe


def _split_rows(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The train and the validation rows; training needs both."""
    split = rows["split"].to_numpy(dtype=str)
    train_rows, val_rows = np.flatnonzero(split == "train"), np.flatnonzero(split == "validation")
    if not len(train_rows) or not len(val_rows):
        raise ValueError("training needs rows in both the train and the validation split")
    return train_rows, val_rows


def _member_info(
    device: Any, settings: ModelSettings, seed: int, history: pd.DataFrame, **facts: Any
) -> dict[str, Any]:
    """training.json of one member: where and how it trained, how the fit went (`facts` holds
    what only the fit knows, in the file's order)."""
    import keras

    return {
        "device": device.description,
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "seed": seed,
        "task": settings.task,
        "preset": settings.preset,
        "epochs_run": len(history),
        "learning_rate": facts.pop("learning_rate"),
        "restarts": facts.pop("restarts"),
        "output_collapsed": facts.pop("output_collapsed"),
        "best_epoch": int(history["val_loss"].idxmin()) + 1,
        "best_val_loss": float(history["val_loss"].min()),
        **facts,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
    }


def train_member(
    onehot: np.ndarray,
    rows: pd.DataFrame,
    covariates: np.ndarray | None,
    model_cfg: ModelSettings | Mapping[str, Any],
    seed: int,
    threads: int = 1,
    extra_callbacks: Sequence[Any] = (),
) -> Member:
    """Fit one model on the train split, early-stopped on validation, best weights restored.

    A network whose output collapses to one value is trained anew at a lower learning rate
    (see MAX_RESTARTS); `info` records the rate it ended at, its restarts and whether its
    output stayed collapsed. `extra_callbacks` are Keras callbacks added to the fit
    (benchmarks time epochs with one).
    """
    import keras

    settings = model_settings(model_cfg)
    device = configure_backend(threads, seed, settings.deterministic, settings.mixed_precision)
    log.info("training on %s with the %s backend", device.description, keras.backend.backend())
    train_rows, val_rows = _split_rows(rows)
    task = settings.task
    scaler, targets, weights = _targets(rows, task, train_rows)
    covariates, cov_mean, cov_var = _covariate_scaling(covariates, train_rows)
    batch_size = settings.batch_size * max(device.accelerators, 1)
    in_memory = onehot.nbytes <= settings.in_memory_gb * 1e9 and not settings.reverse_complement
    feed = _feeder(onehot, covariates, targets, weights, settings, batch_size, seed, in_memory)
    probe_inputs = _probe_inputs(onehot, covariates, val_rows[:PROBE_ROWS])
    train_data, val_data = feed(train_rows, True), feed(val_rows, False)
    network, fit, learning_rate, restart, dead = _fit_restarting(
        lambda: model_module.build_network(
            onehot.shape[1], model_module.layer_specs(settings), task, cov_mean, cov_var
        ),
        device,
        settings,
        probe_inputs,
        (train_data, val_data, batch_size),
        extra_callbacks,
    )
    history = pd.DataFrame(fit.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    info = _member_info(
        device,
        settings,
        seed,
        history,
        learning_rate=learning_rate,
        restarts=restart,
        output_collapsed=bool(dead),
        n_train=len(train_rows),
        n_validation=len(val_rows),
        parameters=int(network.count_params()),
        input_length=int(onehot.shape[1]),
        covariates=int(0 if covariates is None else covariates.shape[1]),
        data_in_memory=bool(in_memory),
        threads=threads,
    )
    return Member(model_module.export(network, scaler, task), scaler, history, info)


def run_member(
    encoded: Encoded,
    model_cfg: ModelSettings | Mapping[str, Any],
    seed: int,
    member: int,
    threads: int,
    model: Path,
    history: Path,
    info: Path,
    candidate: str = "",
) -> None:
    """The `train` stage: one ensemble member (seed + member), or one search `candidate`,
    saved with its history and summary (its training time too)."""
    started = time.perf_counter()
    trained = train_member(
        encoded.onehot, encoded.rows, encoded.covariates, model_cfg, seed + member, threads
    )
    seconds = round(time.perf_counter() - started, 1)
    with io.atomic_path(model) as tmp:
        trained.model.save(tmp)
    io.write_tsv(trained.history, history)
    named = {"candidate": candidate} if candidate else {}
    io.write_json(
        {
            **trained.info,
            **named,
            "member": member,
            "seconds": seconds,
            "scaler": trained.scaler.to_dict(),
        },
        info,
    )


def join_members(
    members: Sequence[Path],
    infos: Sequence[Path],
    histories: Sequence[Path],
    model: Path,
    info: Path,
    history: Path,
) -> None:
    """The `ensemble` stage: one model that averages the members, with their summaries."""
    joined = model_module.ensemble([model_module.load(p) for p in members])
    with io.atomic_path(model) as tmp:
        joined.save(tmp)
    summaries = [io.read_json(p) for p in infos]
    io.write_json({**summaries[0], "ensemble": len(summaries), "members": summaries}, info)
    frames = [io.read_tsv(p).assign(member=i) for i, p in enumerate(histories)]
    io.write_tsv(pd.concat(frames, ignore_index=True), history)


def cross_validate(
    encoded: Encoded,
    model_cfg: ModelSettings | Mapping[str, Any],
    seed: int,
    validation: float,
    threads: int,
    output: Path,
) -> None:
    """The `crossval` stage: one model per fold, each fold the test set once; a `validation`
    share of the other folds early-stops it."""
    rows, onehot, covariates = encoded.rows, encoded.onehot, encoded.covariates
    settings = model_settings(model_cfg)
    task, threshold = settings.task, settings.threshold
    folds = []
    for fold in sorted(rows["fold"].unique()):
        split = np.where(rows["fold"] == fold, "test", "train")
        split = carve_validation(split, rows["sequence"].to_numpy(dtype=object), validation, seed)
        fold_rows = rows.assign(split=split)
        trained = train_member(onehot, fold_rows, covariates, settings, seed, threads)
        fold_rows["prediction"] = model_module.predict(trained.model, onehot, covariates)
        folds.append(
            {
                "fold": int(fold),
                **evaluate.split_metrics(fold_rows, "prediction", task, threshold)["test"],
            }
        )
    key = "roc_auc" if task == "classification" else "r2"
    values = np.array([f[key] for f in folds if f.get(key) is not None], dtype=float)
    summary = {f"{key}_mean": float(values.mean()), f"{key}_sd": float(values.std(ddof=1))}
    io.write_json({"folds": folds, "summary": summary}, output)
