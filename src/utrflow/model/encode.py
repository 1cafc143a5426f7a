"""Encode the passing rows of the labelled table for the model, and split them.

One-hot arrays are written as uint8 .npy in chunks (a quarter of float32, memory-mappable, so a
million sequences never sit in memory as floats); labels, covariates and sample weights go
beside them, and the split table says which row is in which split, for every model and baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.format import open_memmap

from utrflow.errors import InputError
from utrflow.io import atomic_path
from utrflow.model import splits
from utrflow.sequences import one_hot

CHUNK = 100_000


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
        raise InputError(f"{source}: no row has qc 'pass'; nothing to train on")
    return passing


def build_features(
    table: pd.DataFrame, cfg: dict[str, Any], source: str = "labelled table"
) -> Features:
    """Split passing rows and collect labels, covariates and weights (no one-hot yet)."""
    passing = passing_rows(table, source)
    split_cfg, model_cfg = cfg["split"], cfg["model"]
    missing = [c for c in model_cfg["covariates"] if c not in passing.columns]
    if missing:
        raise InputError(
            f"{source}: covariate column '{missing[0]}' (model.covariates) is not in the table"
        )
    length = cfg["encode"]["length"] or int(passing["sequence"].str.len().max())
    if model_cfg["task"] == "classification":
        bad = ~passing["label"].isin([0, 1])
        if bad.any():
            raise InputError(
                f"{source}: row {int(np.flatnonzero(bad)[0]) + 2}: label "
                f"{passing['label'][bad].iloc[0]!r} is not 0 or 1 (model.task: classification)"
            )
    seed = cfg["seed"]
    if "split" in passing.columns:
        groups = passing["sequence"].to_numpy(dtype=object)
        split = splits.carve_validation(
            passing["split"].to_numpy(dtype=str), groups, split_cfg["validation"], seed
        )
    else:
        split = splits.assign_splits(
            passing["sequence"].tolist(),
            split_cfg["validation"],
            split_cfg["test"],
            seed,
            method=split_cfg["method"],
            plates=passing["plate"].astype(str).tolist(),
            cluster_distance=split_cfg["cluster_distance"],
        )
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
    covariates = (
        passing[model_cfg["covariates"]].to_numpy(dtype=np.float32).reshape(len(passing), -1)
    )
    return Features(
        rows=rows,
        labels=passing["label"].to_numpy(dtype=np.float32),
        covariates=covariates,
        covariate_names=list(model_cfg["covariates"]),
        length=length,
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
    return np.load(path, mmap_mode="r", allow_pickle=False)
