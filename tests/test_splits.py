"""Leakage-free splits: identical, near-identical or same-plate rows never straddle splits."""

import edlib
import numpy as np
import pandas as pd

from utrflow.model.splits import assign_splits, carve_validation, kfold, sequence_clusters


def mutate(rng: np.random.Generator, seq: str, edits: int) -> str:
    s = list(seq)
    for _ in range(edits):
        op, p = rng.integers(3), rng.integers(len(s))
        if op == 0:
            s[p] = "ACGT"[rng.integers(4)]
        elif op == 1:
            del s[p]
        else:
            s.insert(p, "ACGT"[rng.integers(4)])
    return "".join(s)


def brute_force_clusters(seqs: list[str], d: int) -> np.ndarray:
    parent = list(range(len(seqs)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(seqs)):
        for j in range(i + 1, len(seqs)):
            if edlib.align(seqs[i], seqs[j], task="distance", k=d)["editDistance"] >= 0:
                a, b = find(i), find(j)
                parent[max(a, b)] = min(a, b)
    return np.array([find(i) for i in range(len(seqs))])


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    table = pd.crosstab(a, b).gt(0)
    return bool((table.sum(axis=0) == 1).all() and (table.sum(axis=1) == 1).all())


def test_clusters_match_all_pairs_alignment():
    rng = np.random.default_rng(0)
    bases = ["".join(rng.choice(list("ACGT"), rng.integers(30, 60))) for _ in range(150)]
    seqs = [mutate(rng, b, int(rng.integers(0, 4))) for b in bases for _ in range(3)]
    for d in (0, 2, 3):
        assert same_partition(sequence_clusters(seqs, d), brute_force_clusters(seqs, d))


def test_clusters_of_short_sequences_fall_back_to_all_pairs():
    seqs = ["ACGTAC", "ACGTAA", "TTTTTT", "ACGAAC"]
    assert same_partition(sequence_clusters(seqs, 2), brute_force_clusters(seqs, 2))


def test_by_cluster_keeps_near_duplicates_together():
    rng = np.random.default_rng(1)
    bases = ["".join(rng.choice(list("ACGT"), 40)) for _ in range(200)]
    seqs = [mutate(rng, b, 1) for b in bases for _ in range(5)]
    split = assign_splits(seqs, 0.1, 0.2, seed=3, method="by_cluster", cluster_distance=2)
    family = np.repeat(np.arange(200), 5)
    frame = pd.DataFrame({"family": family, "split": split})
    # Members of one family are within 2 edits of each other, so they share a split.
    assert (frame.groupby("family")["split"].nunique() == 1).all()
    random_split = assign_splits(seqs, 0.1, 0.2, seed=3, method="random")
    mixed = (
        pd.DataFrame({"family": family, "split": random_split}).groupby("family")["split"].nunique()
    )
    assert (mixed > 1).any()  # the plain random split would have leaked


def test_by_plate_keeps_plates_whole():
    plates = np.repeat([f"P{i}" for i in range(20)], 96)
    seqs = [f"S{i}" for i in range(len(plates))]
    split = assign_splits(seqs, 0.1, 0.1, seed=0, method="by_plate", plates=plates)
    assert (pd.DataFrame({"p": plates, "s": split}).groupby("p")["s"].nunique() == 1).all()
    assert {"train", "validation", "test"} == set(split)


def test_identical_sequences_never_straddle_splits():
    rng = np.random.default_rng(3)
    pool = ["".join(rng.choice(list("ACGT"), 12)) for _ in range(300)]
    sequences = [pool[i] for i in rng.integers(0, 300, size=2000)]
    split = assign_splits(sequences, 0.1, 0.2, seed=5)
    frame = pd.DataFrame({"sequence": sequences, "split": split})
    assert (frame.groupby("sequence")["split"].nunique() == 1).all()


def test_split_fractions_are_close_to_the_requested_ones():
    split = assign_splits([f"ACGT{i:05d}" for i in range(5000)], 0.1, 0.2, seed=1)
    fractions = pd.Series(split).value_counts(normalize=True)
    assert abs(fractions["test"] - 0.2) < 0.01
    assert abs(fractions["validation"] - 0.1) < 0.01


def test_split_is_reproducible_by_seed_and_independent_of_row_order():
    sequences = [f"S{i}" for i in range(500)]
    a = assign_splits(sequences, 0.1, 0.1, seed=2)
    b = assign_splits(sequences[::-1], 0.1, 0.1, seed=2)[::-1]
    c = assign_splits(sequences, 0.1, 0.1, seed=3)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_tiny_tables_still_get_every_split():
    assert set(assign_splits(["A", "C", "G", "T"], 0.1, 0.1, seed=0)) == {
        "train",
        "validation",
        "test",
    }


def test_validation_is_carved_from_train_when_a_user_split_has_none():
    split = np.array(["train"] * 900 + ["test"] * 100)
    groups = np.array([f"S{i // 2}" for i in range(1000)])  # pairs of identical sequences
    carved = carve_validation(split, groups, 0.1, seed=0)
    assert (carved[900:] == "test").all()
    assert abs((carved == "validation").mean() - 0.1) < 0.01
    frame = pd.DataFrame({"g": groups, "s": carved})
    assert (frame.groupby("g")["s"].nunique() == 1).all()
    given = np.array(["train", "validation", "test"])
    np.testing.assert_array_equal(carve_validation(given, given, 0.1, 0), given)


def test_kfold_gives_balanced_folds_of_whole_groups():
    groups = np.array([f"S{i // 3}" for i in range(3000)])
    folds = kfold(groups, 5, seed=0)
    assert set(folds) == set(range(5))
    assert np.bincount(folds).min() > 550
    assert (pd.DataFrame({"g": groups, "f": folds}).groupby("g")["f"].nunique() == 1).all()
