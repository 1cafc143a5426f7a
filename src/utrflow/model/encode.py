"""Encode the passing rows of the labelled table for the model, and split them.

One-hot arrays are written as uint8 .npy in chunks (a quarter of float32, memory-mappable, so a
million sequences never sit in memory as floats); labels, covariates and sample weights go
beside them, and the split table says which row is in which split, for every model and baseline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.format import open_memmap

from utrflow import io
from utrflow.errors import InputError, NotEnoughData
from utrflow.io import atomic_path, reading_output
from utrflow.model import splits
from utrflow.model.settings import model_settings
from utrflow.sequences import one_hot

CHUNK = 100_000
# Distinct sequences a split needs: enough to fit the model and its baselines (train), to stop
# early on (validation) and to give a correlation (test, validation).
MIN_DISTINCT = {"train": 8, "validation": 2, "test": 2}
# Classification: the boosted-trees baseline stops early on a stratified tenth of the train
# split, which needs 2 rows of each class (so 11+ rows and 2+ of each class; 20 for margin).
MIN_CLASSIFIER_TRAIN, MIN_PER_CLASS = 20, 2


@dataclass(frozen=True)
class Features:
    """Everything but the one-hot array, row-aligned with it."""

    rows: pd.DataFrame  # plate, well, sequence, label, weight, split (and fold with k-fold)
    labels: np.ndarray  # (n,) float32
    covariates: np.ndarray  # (n, k) float32, k may be 0
    covariate_names: list[str]
    length: int


def passing_rows(table: pd.DataFrame, source: str = "labelled table") -> pd.DataFrame:
    """Rows with qc == 'pass'; an error naming the source when there are none."""
    passing = table[table["qc"] == "pass"].reset_index(drop=True)
    if passing.empty:
        raise NotEnoughData(f"{source}: no row has qc 'pass'; nothing to train on")
    return passing


def build_features(
    table: pd.DataFrame, cfg: Mapping[str, Any], source: str = "labelled table"
) -> Features:
    """Split passing rows and collect labels, covariates and weights (no one-hot yet)."""
    passing = passing_rows(table, source)
    split_cfg, model = cfg["split"], model_settings(cfg["model"])
    missing = [c for c in model.covariates if c not in passing.columns]
    if missing:
        raise InputError(
            f"{source}: covariate column '{missing[0]}' (model.covariates) is not in the table"
        )
    length = encoded_length(passing, np.flatnonzero(table["qc"] == "pass"), cfg["encode"], source)
    if model.task == "classification":
        bad = ~passing["label"].isin([0, 1])
        if bad.any():
            raise InputError(
                f"{source}: row {int(np.flatnonzero(bad)[0]) + 2}: label "
                f"{passing['label'][bad].iloc[0]!r} is not 0 or 1 (model.task: classification)"
            )
    seed = cfg["seed"]
    split = _split(passing, split_cfg, seed)
    weight = passing["weight"].astype(float) if "weight" in passing.columns else 1.0
    rows = pd.DataFrame(
        {
            "plate": passing["plate"],
            "well": passing["well"],
            "sequence": passing["sequence"],
            "label": passing["label"].astype(float),
            "weight": weight,
            "split": split,
        }
    )
    if split_cfg["folds"] >= 2:
        rows["fold"] = splits.kfold(
            rows["sequence"].to_numpy(dtype=object), split_cfg["folds"], seed
        )
    check_trainable(rows, model.task, split_cfg["folds"], source)
    covariates = (
        passing[list(model.covariates)].to_numpy(dtype=np.float32).reshape(len(passing), -1)
    )
    return Features(
        rows=rows,
        labels=passing["label"].to_numpy(dtype=np.float32),
        covariates=covariates,
        covariate_names=list(model.covariates),
        length=length,
    )


def _split(passing: pd.DataFrame, split_cfg: Mapping[str, Any], seed: int) -> np.ndarray:
    """Each passing row's split: a table that brings its own `split` column keeps it (with
    validation carved from its train rows when it has none); otherwise all three are dealt."""
    if "split" in passing.columns:
        groups = passing["sequence"].to_numpy(dtype=object)
        return splits.carve_validation(
            passing["split"].to_numpy(dtype=str), groups, split_cfg["validation"], seed
        )
    return splits.assign_splits(
        passing["sequence"].tolist(),
        split_cfg["validation"],
        split_cfg["test"],
        seed,
        method=split_cfg["method"],
        plates=passing["plate"].astype(str).tolist(),
        cluster_distance=split_cfg["cluster_distance"],
    )


def encoded_length(
    passing: pd.DataFrame, positions: np.ndarray, encode_cfg: dict[str, Any], source: str
) -> int:
    """The one-hot width: `encode.length`, else the longest sequence. One sequence far longer
    than the rest widens the network for all (a 100,000-nt row turns 0.3 M parameters into
    205 M), so beyond `encode.max_length` the run stops naming the row (`positions`: each
    passing row's place in the table), unless `encode.truncate` keeps their 3' ends."""
    lengths = passing["sequence"].str.len().to_numpy()
    fixed, limit, truncate = encode_cfg["length"], encode_cfg["max_length"], encode_cfg["truncate"]
    if fixed:
        return int(fixed)  # set by hand: longer sequences lose 5' bases
    longest = int(lengths.max())
    if longest <= limit:
        return longest
    if truncate:
        return int(limit)
    row = int(positions[int(np.argmax(lengths))]) + 2
    raise InputError(
        f"{source}: row {row}: a sequence of {longest} nt, longer than encode.max_length "
        f"({limit}); remove it, raise encode.max_length, or set encode.truncate: true to keep "
        f"the 3' {limit} nt of every longer sequence"
    )


def check_trainable(rows: pd.DataFrame, task: str, folds: int, source: str) -> None:
    """Stop, naming what to change, when the rows cannot train and test a model: labels that
    do not vary, weights that are negative or all zero, a split (or a cross-validation fold)
    with too few distinct sequences to fit or to score."""
    labels = rows["label"].to_numpy(dtype=float)
    if np.ptp(labels) == 0:
        raise NotEnoughData(
            f"{source}: every label is {labels[0]:g}: nothing to learn; the model needs labels "
            "that differ"
        )
    distinct, needed = rows["sequence"].nunique(), sum(MIN_DISTINCT.values())
    if distinct < needed:
        raise NotEnoughData(
            f"{source}: {distinct} distinct sequence(s); training and testing a model needs at "
            f"least {needed} ({', '.join(f'{n} {s}' for s, n in MIN_DISTINCT.items())})"
        )
    for split, least in MIN_DISTINCT.items():
        part = rows["sequence"][rows["split"] == split]
        have = part.nunique()
        if have < least:
            raise NotEnoughData(
                f"{source}: the {split} split holds {have} distinct sequence(s) of "
                f"{rows['sequence'].nunique()}; it needs at least {least}: give more distinct "
                f"sequences, or change split.validation / split.test (or the table's split column)"
            )
    weight = np.broadcast_to(rows["weight"].to_numpy(dtype=float), labels.shape)
    if (weight < 0).any():
        row = int(np.flatnonzero(weight < 0)[0]) + 2
        raise InputError(f"{source}: row {row}: weight {weight[row - 2]:g} is negative")
    train = rows["split"].to_numpy() == "train"
    if not (weight[train] > 0).any():
        raise InputError(f"{source}: every weight of the train split is 0: nothing to learn from")
    if task == "classification":
        classes = np.unique(labels[train])
        if len(classes) < 2:
            raise NotEnoughData(
                f"{source}: every label of the train split is {classes[0]:g}: a classifier "
                "needs both classes (0 and 1) to train on"
            )
        least = min(int((labels[train] == c).sum()) for c in classes)
        if least < MIN_PER_CLASS or train.sum() < MIN_CLASSIFIER_TRAIN:
            raise NotEnoughData(
                f"{source}: the train split holds {int(train.sum())} rows, {least} of the "
                f"rarer class; a classifier and its baselines need at least "
                f"{MIN_CLASSIFIER_TRAIN}, and {MIN_PER_CLASS} of each class"
            )
    if folds >= 2:
        smallest = rows.groupby("fold")["sequence"].nunique().reindex(range(folds), fill_value=0)
        rest = distinct - smallest.max()
        if smallest.min() < MIN_DISTINCT["test"] or rest < MIN_DISTINCT["train"]:
            raise InputError(
                f"{source}: key 'split.folds': {folds} folds of {distinct} distinct sequences "
                f"leave a fold with {int(smallest.min())}; each fold needs at least "
                f"{MIN_DISTINCT['test']} and the other folds {MIN_DISTINCT['train']}: use "
                "fewer folds, or more distinct sequences"
            )


def write_onehot(sequences: list[str], length: int, path: str | Path) -> None:
    """One-hot encode into a uint8 .npy on disk, chunk by chunk (memory stays flat)."""
    with atomic_path(path) as tmp:
        out = open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(sequences), length, 4))
        for start in range(0, len(sequences), CHUNK):
            out[start : start + CHUNK] = one_hot(sequences[start : start + CHUNK], length)
        out.flush()
        del out


def load_onehot(path: str | Path) -> np.ndarray:
    """Memory-map an encoded one-hot array (no copy, no pickle)."""
    with reading_output(path):
        return np.load(path, mmap_mode="r", allow_pickle=False)


@dataclass(frozen=True)
class Encoded:
    """What the encode stage wrote, loaded: one-hot (memory-mapped), rows and covariates."""

    onehot: np.ndarray
    rows: pd.DataFrame
    covariates: np.ndarray | None


def load_encoded(onehot: Path, split: Path, features: Path) -> Encoded:
    """The encode stage's three files, row-aligned."""
    rows = io.read_tsv(split)
    names = io.read_json(features)["covariates"]
    covariates = rows[names].to_numpy(dtype=np.float32) if names else None
    return Encoded(load_onehot(onehot), rows, covariates)


def run(table: Path, onehot: Path, split: Path, features: Path, cfg: Mapping[str, Any]) -> None:
    """The `encode` stage: split the passing rows, write the one-hot array, the split table
    (labels, weights, covariates) and the encoding summary. `cfg` holds `seed`, `encode`,
    `split`, `model.covariates` and `model.task`."""
    built = build_features(io.read_tsv(table), cfg, source=str(table))
    rows = built.rows.copy()
    for i, name in enumerate(built.covariate_names):
        rows[name] = built.covariates[:, i]
    write_onehot(rows["sequence"].tolist(), built.length, onehot)
    io.write_tsv(rows, split)
    io.write_json(
        {
            "length": built.length,
            "n": len(rows),
            "covariates": built.covariate_names,
            "task": model_settings(cfg["model"]).task,
        },
        features,
    )
