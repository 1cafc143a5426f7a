"""Train/validation/test splits that do not leak: identical or near-identical sequences, or
wells of one plate, never straddle the line between training and testing.

Every method works on groups: rows of a group always share a split. Groups are shuffled with
the seed and dealt into test, then validation, until each holds its fraction of rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from utrflow.sequences import edit_distance

METHODS = ("random", "by_plate", "by_cluster")


def deal_groups(groups: np.ndarray, validation: float, test: float, seed: int) -> np.ndarray:
    """Split rows by group label: whole groups go to test, validation or train."""
    unique, inverse, counts = np.unique(groups.astype(str), return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(unique))
    cumulative = np.cumsum(counts[order]) / len(groups)
    group_split = np.empty(len(unique), dtype=object)
    group_split[order] = np.where(
        cumulative <= test, "test", np.where(cumulative <= test + validation, "validation", "train")
    )
    # Small tables: no split may stay empty when there are enough groups.
    if len(unique) >= 3:
        for position, name in zip((0, 1), ("test", "validation"), strict=True):
            if not (group_split == name).any():
                group_split[order[position]] = name
    return group_split[inverse].astype(str)


def carve_validation(
    split: np.ndarray, groups: np.ndarray, fraction: float, seed: int
) -> np.ndarray:
    """A user's split without validation rows: carve them from train, whole groups at a time."""
    split = split.astype(object)  # a '<U5' array would truncate 'validation'
    train = split == "train"
    if (split == "validation").any() or not train.any():
        return split.astype(str)
    inner = deal_groups(groups[train], fraction / max(train.mean(), 1e-9), 0.0, seed)
    split[np.flatnonzero(train)[inner == "validation"]] = "validation"
    return split.astype(str)


def sequence_clusters(sequences: Sequence[str], max_distance: int) -> np.ndarray:
    """Cluster id per sequence: single-linkage over pairs within `max_distance` edits.

    All-pairs alignment is quadratic, so candidates are found first by the pigeonhole rule: two
    sequences within d edits share one of d + 1 segments of the first exactly, shifted by at most
    d. Only candidates are aligned (edlib, banded by d).
    """
    seqs = list(sequences)
    n = len(seqs)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    # Exact duplicates first: they are distance 0 whatever the rest says.
    first_seen: dict[str, int] = {}
    for i, s in enumerate(seqs):
        if s in first_seen:
            union(first_seen[s], i)
        else:
            first_seen[s] = i
    if max_distance > 0:
        d = max_distance
        index: dict[tuple[int, str], list[int]] = defaultdict(list)
        representatives = list(first_seen.values())
        # One segment size for all, so segments of different-length sequences can match;
        # too short to filter anything (< 4 nt) means every pair is a candidate.
        size = min(len(seqs[i]) for i in representatives) // (d + 1)
        size = size if size >= 4 else 0
        segments: dict[int, list[tuple[int, str]]] = {}
        for i in representatives:
            s = seqs[i]
            keys = []
            for j in range(d + 1):
                start = j * size
                keys.append((j, s[start : start + size]))
                # Index every shifted copy of segment j so indels in the other sequence still hit.
                for shift in range(-d, d + 1):
                    if start + shift >= 0 and start + shift + size <= len(s):
                        index[(j, s[start + shift : start + shift + size])].append(i)
            segments[i] = keys
        for i in representatives:
            candidates = {c for key in segments[i] for c in index.get(key, ()) if c > i}
            for c in candidates:
                if find(c) == find(i) or abs(len(seqs[i]) - len(seqs[c])) > d:
                    continue
                if edit_distance(seqs[i], seqs[c], d) <= d:
                    union(i, c)
    return np.array([find(i) for i in range(n)])


def assign_splits(
    sequences: Sequence[str],
    validation: float,
    test: float,
    seed: int,
    method: str = "random",
    plates: Sequence[str] | None = None,
    cluster_distance: int = 0,
) -> np.ndarray:
    """Per-row split by `method`: random (identical sequences grouped), by_plate, by_cluster."""
    seqs = np.asarray(sequences, dtype=object)
    if method == "by_plate":
        if plates is None:
            raise ValueError("by_plate splitting needs the plate of every row")
        groups = np.asarray(plates, dtype=object)
    elif method == "by_cluster":
        groups = sequence_clusters(list(seqs), cluster_distance)
    elif method == "random":
        groups = seqs
    else:
        raise ValueError(f"unknown split method {method!r}; use one of {', '.join(METHODS)}")
    return deal_groups(np.asarray(groups), validation, test, seed)


def kfold(groups: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold number (0..folds-1) per row, whole groups per fold, folds of similar row counts."""
    unique, inverse, counts = np.unique(groups.astype(str), return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(unique))
    cumulative = np.cumsum(counts[order]) / len(groups)
    fold_of_group = np.empty(len(unique), dtype=int)
    fold_of_group[order] = np.minimum((cumulative * folds - 1e-9).astype(int), folds - 1)
    return fold_of_group[inverse]
