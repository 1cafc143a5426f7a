"""The baselines as plain Keras models: when one wins the model contest it is saved, predicts
and designs exactly like a CNN, without pickle.

Ridge on the one-hot sequence is a Dense unit on the flattened one-hot; k-mer counts are Conv1D
filters that fire only on a full match (bias 1 - k, ReLU) summed over positions; ridge on
k-mers is a Dense unit on those counts; gradient-boosted trees are a `TreeEnsemble` layer whose
weights hold the node arrays (feature, threshold, children, value) that sklearn's trees keep.
The standardization of the ridge pipeline is folded into the Dense weights. Every export is
checked against the fitted estimator's own predictions by tests/test_portable.py.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np


@functools.cache
def tree_ensemble_class() -> Any:
    """The TreeEnsemble layer class, registered once so safe-mode loading finds it."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="utrflow")
    class TreeEnsemble(keras.layers.Layer):
        """Sum of decision trees over a feature vector; node arrays are (non-trainable) weights.

        `left`/`right` hold global node indices (a leaf points at itself), so every tree walks
        `depth` steps from its root in parallel.
        """

        def __init__(
            self,
            n_nodes: int,
            n_trees: int,
            depth: int,
            activation: str | None = None,
            **kwargs: Any,
        ) -> None:
            super().__init__(**kwargs)
            self.n_nodes, self.n_trees, self.depth = n_nodes, n_trees, depth
            self.activation = activation
            self.feature = self.add_weight(
                shape=(n_nodes,), dtype="int32", trainable=False, name="feature"
            )
            self.threshold = self.add_weight(
                shape=(n_nodes,), dtype="float32", trainable=False, name="threshold"
            )
            self.left = self.add_weight(
                shape=(n_nodes,), dtype="int32", trainable=False, name="left"
            )
            self.right = self.add_weight(
                shape=(n_nodes,), dtype="int32", trainable=False, name="right"
            )
            self.value = self.add_weight(
                shape=(n_nodes,), dtype="float32", trainable=False, name="value"
            )
            self.roots = self.add_weight(
                shape=(n_trees,), dtype="int32", trainable=False, name="roots"
            )
            self.offset = self.add_weight(
                shape=(1,), dtype="float32", trainable=False, name="offset"
            )

        def call(self, x: Any) -> Any:
            x = ops.cast(x, "float32")
            nodes = ops.broadcast_to(
                ops.expand_dims(self.roots, 0), (ops.shape(x)[0], self.n_trees)
            )
            for _ in range(self.depth):
                features = ops.take(self.feature, nodes)
                values = ops.take_along_axis(x, features, axis=1)
                go_left = values <= ops.take(self.threshold, nodes)
                nodes = ops.where(go_left, ops.take(self.left, nodes), ops.take(self.right, nodes))
            raw = ops.sum(ops.take(self.value, nodes), axis=1, keepdims=True) + self.offset
            return ops.sigmoid(raw) if self.activation == "sigmoid" else raw

        def compute_output_shape(self, input_shape: Any) -> tuple[Any, int]:
            return (input_shape[0], 1)

        def get_config(self) -> dict[str, Any]:
            return {
                **super().get_config(),
                "n_nodes": self.n_nodes,
                "n_trees": self.n_trees,
                "depth": self.depth,
                "activation": self.activation,
            }

    return TreeEnsemble


def kmer_filters(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Conv1D kernel (k, 4, 4**k) and bias that give 1 exactly where a k-mer matches, in the
    order of `baselines.kmer_counts` (first base most significant)."""
    codes = np.arange(4**k)
    kernel = np.zeros((k, 4, 4**k), dtype=np.float32)
    for j in range(k):
        kernel[j, (codes // 4 ** (k - 1 - j)) % 4, codes] = 1.0
    return kernel, np.full(4**k, 1.0 - k, dtype=np.float32)


def _kmer_counts(x: Any, k_max: int, length: int) -> Any:
    """Keras tensors of all 1..k_max-mer counts of a float one-hot input (n, length, 4)."""
    from keras import layers

    blocks = []
    for k in range(1, k_max + 1):
        conv = layers.Conv1D(4**k, k, activation="relu", name=f"kmer{k}")
        hits = conv(x)
        conv.set_weights(list(kmer_filters(k)))
        conv.trainable = False
        mean = layers.GlobalAveragePooling1D(name=f"kmer{k}_mean")(hits)
        blocks.append(layers.Rescaling(float(length - k + 1), name=f"kmer{k}_count")(mean))
    return blocks[0] if len(blocks) == 1 else layers.Concatenate(name="kmers")(blocks)


def linear_parts(estimator: Any) -> tuple[np.ndarray, float]:
    """Weights and bias of a StandardScaler -> ridge/logistic pipeline on the raw features."""
    scaler, model = estimator.steps[0][1], estimator.steps[-1][1]
    coef = np.asarray(model.coef_, dtype=np.float64).reshape(-1) / scaler.scale_
    intercept = float(np.asarray(model.intercept_).reshape(-1)[0]) - float(coef @ scaler.mean_)
    return coef, intercept


def tree_arrays(estimator: Any) -> dict[str, Any]:
    """The node arrays of a fitted HistGradientBoosting model, concatenated over its trees."""
    trees = [predictors[0].nodes for predictors in estimator._predictors]
    sizes = np.array([len(t) for t in trees])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    nodes = np.concatenate(trees)
    leaf = nodes["is_leaf"].astype(bool)
    own = np.arange(len(nodes))
    shift = np.repeat(starts, sizes)
    left = np.where(leaf, own, nodes["left"].astype(np.int64) + shift)
    right = np.where(leaf, own, nodes["right"].astype(np.int64) + shift)
    if nodes["is_categorical"].any():
        raise ValueError("categorical splits cannot be exported")
    return {
        "feature": np.where(leaf, 0, nodes["feature_idx"]).astype(np.int32),
        "threshold": nodes["num_threshold"].astype(np.float32),
        "left": left.astype(np.int32),
        "right": right.astype(np.int32),
        "value": np.where(leaf, nodes["value"], 0.0).astype(np.float32),
        "roots": starts.astype(np.int32),
        "offset": np.asarray(estimator._baseline_prediction, dtype=np.float32).reshape(1),
        "depth": int(nodes["depth"].max()),
    }


def export_baseline(
    name: str,
    estimator: Any,
    length: int,
    k_max: int,
    task: str,
    n_covariates: int = 0,
) -> Any:
    """A fitted baseline (`ridge_onehot`, `ridge_kmer`, `gbt_kmer`) as a Keras model with the
    CNN's inputs (uint8 one-hot of width `length`, and covariates when there are some)."""
    import keras
    from keras import layers

    onehot = keras.Input(shape=(length, 4), dtype="uint8", name="onehot")
    inputs = [onehot]
    x = layers.Rescaling(1.0, name="as_float")(onehot)
    if name == "ridge_onehot":
        features = layers.Flatten(name="flatten")(x)
    else:
        features = _kmer_counts(x, k_max, length)
    if n_covariates:
        covariates = keras.Input(shape=(n_covariates,), name="covariates")
        inputs.append(covariates)
        features = layers.Concatenate(name="with_covariates")([features, covariates])
    activation = "sigmoid" if task == "classification" else None
    if name == "gbt_kmer":
        arrays = tree_arrays(estimator)
        layer = tree_ensemble_class()(
            len(arrays["feature"]), len(arrays["roots"]), arrays["depth"], activation,
            name="trees",
        )  # fmt: skip
        output = layer(features)
        layer.set_weights([arrays[k] for k in ("feature", "threshold", "left", "right", "value",
                                               "roots", "offset")])  # fmt: skip
    else:
        coef, intercept = linear_parts(estimator)
        if name == "ridge_onehot":  # fitted on the natural width: pad to the encoded one (5')
            coef = np.concatenate([np.zeros(length * 4 + n_covariates - len(coef)), coef])
        dense = layers.Dense(1, activation=activation or "linear", name="output")
        output = dense(features)
        dense.set_weights([coef.reshape(-1, 1).astype(np.float32), np.array([intercept], "f4")])
    return keras.Model(inputs, output, name=f"utrflow_{name}")
