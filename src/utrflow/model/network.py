"""The Conv1D CNN: architecture presets, a free layer list, the task head and the export.

Model code uses Keras layers and `keras.ops` only, so the TensorFlow, JAX and PyTorch backends
all run it. The network takes the one-hot as uint8 (a Rescaling layer casts it), so data stays
a quarter of float32 size on its way in. The exported model undoes the label standardization
itself (a Rescaling to the label scale) and standardizes covariates itself (a Normalization
layer): a plain Keras file that predicts in the units of the table, with nothing beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from utrflow.errors import InputError, first_line
from utrflow.model.portable import tree_ensemble_class
from utrflow.model.settings import ModelSettings, model_settings

if TYPE_CHECKING:  # Keras is imported where it is used: loading it takes seconds
    import keras

OPTIMUS_LAYERS: list[dict[str, Any]] = [
    {"conv": {"filters": 120, "kernel_size": 8, "dilation": 1}},
    {"conv": {"filters": 120, "kernel_size": 8, "dilation": 1}},
    {"conv": {"filters": 120, "kernel_size": 8, "dilation": 1}},
    {"dense": 40},
    {"dropout": 0.2},
]


@dataclass(frozen=True)
class Scaler:
    """Standardization of the label: z = (y - mean) / sd."""

    mean: float
    sd: float

    @classmethod
    def fit(cls, y: np.ndarray, weights: np.ndarray | None = None) -> Scaler:
        mean = float(np.average(y, weights=weights))
        sd = float(np.sqrt(np.average((y - mean) ** 2, weights=weights)))
        return cls(mean, sd if sd > 0 else 1.0)

    @classmethod
    def identity(cls) -> Scaler:
        return cls(0.0, 1.0)

    def transform(self, y: np.ndarray) -> np.ndarray:
        return ((y - self.mean) / self.sd).astype(np.float32)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return z * self.sd + self.mean

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


# The lecture's plain stack (seed 000): Conv1D(10 filters, width 5, ReLU) -> MaxPooling(4) ->
# Flatten -> the output unit. Kept as the floor every configuration should clear.
LECTURE_LAYERS: list[dict[str, Any]] = [
    {"conv": {"filters": 10, "kernel_size": 5, "dilation": 1}},
    {"pool": 4},
]


def residual_layers(
    filters: int, kernel_size: int, dilations: Sequence[int], dropout: float, dense: int
) -> list[dict[str, Any]]:
    """A Conv1D stem, then residual blocks of dilated convolutions (each adds its input back),
    so the receptive field grows with depth without pooling away positions."""
    specs: list[dict[str, Any]] = [{"conv": {"filters": filters, "kernel_size": kernel_size}}]
    for dilation in dilations:
        specs.append({"residual": {"filters": filters, "kernel_size": 3, "dilation": dilation}})
        specs.append({"dropout": dropout})
    if dense:
        specs += [{"dense": dense}, {"dropout": dropout}]
    return specs


def layer_specs(model_cfg: ModelSettings | Mapping[str, Any]) -> list[dict[str, Any]]:
    """The layer list of the configured preset (seed, optimus, lecture, residual) or the user's
    list. `auto` outside the search trains its first candidate, the configured seed stack."""
    settings = model_settings(model_cfg)
    preset = settings.preset
    if preset == "residual":
        return residual_layers(
            max(settings.conv_filters),
            settings.kernel_size,
            settings.dilations,
            settings.dropout,
            settings.dense_units,
        )
    if preset == "optimus":
        return [dict(spec) for spec in OPTIMUS_LAYERS]
    if preset == "lecture":
        return [dict(spec) for spec in LECTURE_LAYERS]
    if preset == "custom":
        if not settings.layers:
            raise ValueError("model.preset custom needs model.layers")
        return [dict(spec) for spec in settings.layers]
    specs: list[dict[str, Any]] = []
    for filters in settings.conv_filters:
        specs.append({"conv": {"filters": filters, "kernel_size": settings.kernel_size}})
        if settings.pool_size > 1:
            specs.append({"pool": settings.pool_size})
        specs.append({"dropout": settings.dropout})
    if settings.dense_units:
        specs += [{"dense": settings.dense_units}, {"dropout": settings.dropout}]
    return specs


class _Stack:
    """What a network under construction keeps between its layers: its inputs (the covariates
    join at Flatten), the count of each layer kind (layer names: conv1, conv2, ...) and whether
    it is flat yet. Layers are made in the specs' order, so names and weights do not move."""

    def __init__(self, inputs: list[Any], covariate_mean: Any, covariate_variance: Any) -> None:
        self.inputs, self.mean, self.variance = inputs, covariate_mean, covariate_variance
        self.counts: dict[str, int] = {}
        self.flattened = False

    def named(self, kind: str) -> str:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"{kind}{self.counts[kind]}"

    def flatten(self, x: Any) -> Any:
        """Flatten, then the standardized covariates joined on (when there are any)."""
        import keras
        from keras import layers

        self.flattened = True
        x = layers.Flatten(name="flatten")(x)
        if self.mean is not None and len(self.mean):
            covariates = keras.Input(shape=(len(self.mean),), name="covariates")
            self.inputs.append(covariates)
            scaled = layers.Normalization(
                mean=self.mean, variance=self.variance, name="covariate_scaling"
            )(covariates)
            x = layers.Concatenate(name="with_covariates")([x, scaled])
        return x

    def add(self, kind: str, value: Any, x: Any) -> Any:
        """`x` through one layer of the specs (a dense layer flattens first)."""
        from keras import layers

        if kind == "conv":
            return _conv(value, self.named("conv"))(x)
        if kind == "residual":
            block = self.named("residual")
            shortcut = x
            if x.shape[-1] != value["filters"]:
                shortcut = layers.Conv1D(value["filters"], 1, name=f"{block}_project")(x)
            return layers.Add(name=f"{block}_add")([shortcut, _conv(value, f"{block}_conv")(x)])
        if kind == "pool":
            return layers.MaxPooling1D(value, padding="same", name=self.named("pool"))(x)
        if kind == "dropout":
            return layers.Dropout(value, name=self.named("dropout"))(x)
        if kind == "batchnorm":
            return layers.BatchNormalization(name=self.named("batchnorm"))(x)
        if kind == "dense":
            if not self.flattened:
                x = self.flatten(x)
            return layers.Dense(value, activation="relu", name=self.named("dense"))(x)
        raise ValueError(f"unknown layer kind {kind!r}")


def _conv(value: dict[str, Any], name: str) -> Any:
    """A same-padded ReLU Conv1D of a `conv` or `residual` spec (dilation 1 unless given)."""
    from keras import layers

    return layers.Conv1D(
        value["filters"],
        value["kernel_size"],
        dilation_rate=value.get("dilation", 1),
        padding="same",
        activation="relu",
        name=name,
    )


def build_network(
    length: int,
    specs: Sequence[dict[str, Any]],
    task: str,
    covariate_mean: np.ndarray | None = None,
    covariate_variance: np.ndarray | None = None,
    name: str = "utrflow_cnn",
    input_dtype: str = "uint8",
) -> keras.Model:
    """The uncompiled network: uint8 one-hot (and raw covariates) in, one standardized output.

    Regression ends in a linear unit on the standardized label; classification in a sigmoid.
    Covariates, when given, are standardized by a fixed Normalization layer and concatenated
    right after Flatten, as in the seed's chromatin-accessibility experiment.
    """
    import keras
    from keras import layers

    onehot = keras.Input(shape=(length, 4), dtype=input_dtype, name="onehot")
    stack = _Stack([onehot], covariate_mean, covariate_variance)
    x = layers.Rescaling(1.0, name="as_float")(onehot)
    for spec in specs:
        ((kind, value),) = spec.items()
        x = stack.add(kind, value, x)
    if not stack.flattened:
        x = stack.flatten(x)
    activation = "sigmoid" if task == "classification" else "linear"
    output = layers.Dense(1, activation=activation, dtype="float32", name="output")(x)
    return keras.Model(stack.inputs, output, name=name)


def export(
    network: keras.Model, scaler: Scaler, task: str, name: str = "utrflow_model"
) -> keras.Model:
    """The network with its label scaling baked in: predicts in the units of the table."""
    import keras
    from keras import layers

    if task == "classification":
        return network
    restored = layers.Rescaling(scaler.sd, offset=scaler.mean, dtype="float32", name="label_scale")
    return keras.Model(network.inputs, restored(network.outputs[0]), name=name)


def ensemble(members: Sequence[keras.Model]) -> keras.Model:
    """One model averaging the members' predictions (a plain Keras model of Keras models)."""
    import keras
    from keras import layers

    if len(members) == 1:
        return members[0]
    template = members[0]
    inputs = [keras.Input(shape=t.shape[1:], dtype=t.dtype, name=t.name) for t in template.inputs]
    outputs = []
    for i, member in enumerate(members):
        member.name = f"member_{i}"
        outputs.append(member(inputs if len(inputs) > 1 else inputs[0]))
    return keras.Model(inputs, layers.Average(name="mean")(outputs), name="utrflow_ensemble")


def load(path: str | Path) -> keras.Model:
    """Load a saved model with Keras safe mode on (no arbitrary code from the file); a file
    that holds code, or is no Keras model, stops with one line instead of a traceback."""
    import keras

    tree_ensemble_class()  # an exported boosted-trees baseline holds this one custom layer
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except (ValueError, OSError) as err:
        raise InputError(f"{path}: not loaded as a Keras model: {first_line(err)}") from None


def predict(
    model: keras.Model,
    onehot: np.ndarray,
    covariates: np.ndarray | None = None,
    batch_size: int = 4096,
) -> np.ndarray:
    """Predictions in table units, batch by batch from (possibly memory-mapped) uint8 data."""
    out = np.empty(len(onehot), dtype=np.float64)
    with_covariates = len(model.inputs) > 1
    if with_covariates and covariates is None:
        raise ValueError(f"model {model.name} takes covariates and none were given")
    for start in range(0, len(onehot), batch_size):
        batch = np.asarray(onehot[start : start + batch_size], dtype=np.uint8)
        inputs = (
            [batch, covariates[start : start + batch_size]]
            if with_covariates and covariates is not None
            else batch
        )
        out[start : start + batch_size] = np.asarray(model.predict_on_batch(inputs)).reshape(-1)
    return out
