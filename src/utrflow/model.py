"""The Conv1D regression CNN: build it from config, train it on standardized targets, predict.

Model code uses Keras layers and `keras.ops` only, so the TensorFlow, JAX and PyTorch backends
all run it. The target is standardized with the training split's mean and sd (a linear output on
standardized targets trains well and does not compress the top of the range like a sigmoid); the
scaler is saved beside the model and undone at prediction time.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scaler:
    """Standardization of the label: z = (y - mean) / sd."""

    mean: float
    sd: float

    @classmethod
    def fit(cls, y: np.ndarray) -> Scaler:
        sd = float(np.std(y))
        return cls(float(np.mean(y)), sd if sd > 0 else 1.0)

    def transform(self, y: np.ndarray) -> np.ndarray:
        return ((y - self.mean) / self.sd).astype(np.float32)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return z * self.sd + self.mean

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Architecture:
    """Sizes of the seed's Conv1D stack (Conv1D -> ReLU -> Dropout per layer, Flatten, Dense)."""

    conv_filters: tuple[int, ...] = (128, 128, 64)
    kernel_size: int = 8
    dropout: float = 0.15
    dense_units: int = 32

    @classmethod
    def from_config(cls, model: dict[str, Any]) -> Architecture:
        return cls(
            conv_filters=tuple(model["conv_filters"]),
            kernel_size=model["kernel_size"],
            dropout=model["dropout"],
            dense_units=model["dense_units"],
        )


def configure_backend(threads: int, seed: int) -> str:
    """Seed every generator, cap CPU threads at the job's share, and name the training device."""
    import keras

    keras.utils.set_random_seed(seed)
    device = "cpu"
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(max(threads, 1))
            tf.config.threading.set_inter_op_parallelism_threads(max(min(threads, 2), 1))
        except RuntimeError:  # TensorFlow already started in this process: keep its threads
            log.info("TensorFlow is already initialized; thread counts left as they are")
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            device = f"gpu ({len(gpus)} visible: {', '.join(g.name for g in gpus)})"
        else:
            tf.config.experimental.enable_op_determinism()
    elif keras.backend.backend() == "jax":
        import jax

        accelerators = [d for d in jax.devices() if d.platform != "cpu"]
        device = f"gpu ({len(accelerators)} visible)" if accelerators else "cpu"
    elif keras.backend.backend() == "torch":
        import torch

        torch.set_num_threads(max(threads, 1))
        device = "gpu (cuda)" if torch.cuda.is_available() else "cpu"
    return device


def build_model(length: int, arch: Architecture, learning_rate: float):
    """A compiled Keras regression CNN over (length, 4) one-hot input with a linear output."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(length, 4), name="onehot")
    x = inputs
    for i, filters in enumerate(arch.conv_filters):
        x = layers.Conv1D(filters, arch.kernel_size, padding="same", name=f"conv{i + 1}")(x)
        x = layers.Activation("relu", name=f"relu{i + 1}")(x)
        x = layers.Dropout(arch.dropout, name=f"dropout{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    if arch.dense_units:
        x = layers.Dense(arch.dense_units, activation="relu", name="dense")(x)
        x = layers.Dropout(arch.dropout, name="dropout_dense")(x)
    outputs = layers.Dense(1, activation="linear", name="expression")(x)
    model = keras.Model(inputs, outputs, name="utrflow_cnn")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model


@dataclass
class TrainingResult:
    """The trained model with what it takes to use and judge it."""

    model: Any
    scaler: Scaler
    history: pd.DataFrame
    info: dict[str, Any]


def train(
    onehot: np.ndarray,
    labels: np.ndarray,
    split: np.ndarray,
    model_config: dict[str, Any],
    seed: int,
    threads: int = 1,
) -> TrainingResult:
    """Fit on the train split with early stopping on the validation split (best weights kept)."""
    import keras

    device = configure_backend(threads, seed)
    log.info("training on %s with the %s backend", device, keras.backend.backend())
    train_rows, val_rows = split == "train", split == "validation"
    if not train_rows.any() or not val_rows.any():
        raise ValueError("training needs rows in both the train and the validation split")
    scaler = Scaler.fit(labels[train_rows])
    x_train = onehot[train_rows].astype(np.float32)
    x_val = onehot[val_rows].astype(np.float32)
    y_train, y_val = scaler.transform(labels[train_rows]), scaler.transform(labels[val_rows])

    model = build_model(
        onehot.shape[1], Architecture.from_config(model_config), model_config["learning_rate"]
    )
    patience = model_config["patience"]
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=True
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.5, patience=max(patience // 2, 1)
        ),
    ]
    fit = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=model_config["epochs"],
        batch_size=model_config["batch_size"],
        callbacks=callbacks,
        shuffle=True,
        verbose=2,
    )
    history = pd.DataFrame(fit.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    best_epoch = int(history["val_loss"].idxmin()) + 1
    info = {
        "device": device,
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "best_val_loss": float(history["val_loss"].min()),
        "n_train": int(train_rows.sum()),
        "n_validation": int(val_rows.sum()),
        "parameters": int(model.count_params()),
        "input_length": int(onehot.shape[1]),
        "threads": threads,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
    }
    return TrainingResult(model, scaler, history, info)


def load(path: str | Path):
    """Load a saved model with Keras safe mode on (no arbitrary code from the file)."""
    import keras

    return keras.models.load_model(path, compile=False, safe_mode=True)


def predict(model, onehot: np.ndarray, scaler: Scaler, batch_size: int = 1024) -> np.ndarray:
    """Predictions on the label scale, in batches so memory stays flat."""
    out = np.empty(len(onehot), dtype=np.float64)
    for start in range(0, len(onehot), batch_size):
        batch = onehot[start : start + batch_size].astype(np.float32)
        out[start : start + batch_size] = np.asarray(model.predict_on_batch(batch)).reshape(-1)
    return scaler.inverse(out)
