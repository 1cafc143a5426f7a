"""Encode the passing rows of the labelled table for the model, and split them.

One-hot arrays are stored as uint8 .npy (a quarter of float32, memory-mappable); the split is
written beside them so every model and baseline sees the same rows in the same split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from utrflow.sequences import one_hot

SPLIT_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class Encoded:
    """One-hot sequences, labels and the per-row split table (row i of each belongs together)."""

    onehot: np.ndarray  # (n, length, 4) uint8
    labels: np.ndarray  # (n,) float32
    rows: pd.DataFrame  # plate, well, sequence, label, split


def assign_splits(
    sequences: pd.Series | list[str], validation: float, test: float, seed: int
) -> np.ndarray:
    """Random train/validation/test split in which identical sequences always share a split.

    Unique sequences are shuffled with the seed and dealt into test, then validation, until each
    holds its fraction of rows; replicates of a sequence can therefore never leak across splits.
    """
    seqs = np.asarray(sequences, dtype=object)
    unique, inverse, counts = np.unique(seqs.astype(str), return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(unique))
    cumulative = np.cumsum(counts[order]) / len(seqs)
    group_split = np.empty(len(unique), dtype=object)
    group_split[order] = np.where(
        cumulative <= test, "test", np.where(cumulative <= test + validation, "validation", "train")
    )
    # Tiny tables: make sure no split is empty when there are enough distinct sequences.
    if len(unique) >= 3:
        for position, name in zip((0, 1), ("test", "validation"), strict=True):
            if not (group_split == name).any():
                group_split[order[position]] = name
    return group_split[inverse].astype(str)


def encode_table(
    table: pd.DataFrame, length: int, validation: float, test: float, seed: int
) -> Encoded:
    """Keep rows with qc == 'pass', one-hot encode them (left-padded) and split them.

    `length` 0 means the longest sequence. A `split` column in the table is honoured as given.
    """
    passing = table[table["qc"] == "pass"].reset_index(drop=True)
    width = int(passing["sequence"].str.len().max()) if length == 0 else length
    if "split" in passing.columns:
        split = passing["split"].to_numpy(dtype=str)
    else:
        split = assign_splits(passing["sequence"], validation, test, seed)
    rows = pd.DataFrame(
        {
            "plate": passing["plate"],
            "well": passing["well"],
            "sequence": passing["sequence"],
            "label": passing["label"].astype(float),
            "split": split,
        }
    )
    return Encoded(
        onehot=one_hot(passing["sequence"].tolist(), width),
        labels=passing["label"].to_numpy(dtype=np.float32),
        rows=rows,
    )
