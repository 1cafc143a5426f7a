import numpy as np
import pandas as pd

from utrflow.encode import assign_splits, encode_table
from utrflow.simulate import simulate_table


def test_identical_sequences_never_straddle_splits():
    rng = np.random.default_rng(3)
    pool = ["".join(rng.choice(list("ACGT"), 12)) for _ in range(300)]
    sequences = [pool[i] for i in rng.integers(0, 300, size=2000)]  # many replicates
    split = assign_splits(sequences, 0.1, 0.2, seed=5)
    frame = pd.DataFrame({"sequence": sequences, "split": split})
    assert (frame.groupby("sequence")["split"].nunique() == 1).all()


def test_split_fractions_are_close_to_the_requested_ones():
    sequences = [f"ACGT{i:05d}" for i in range(5000)]
    split = assign_splits(sequences, 0.1, 0.2, seed=1)
    fractions = pd.Series(split).value_counts(normalize=True)
    assert abs(fractions["test"] - 0.2) < 0.01
    assert abs(fractions["validation"] - 0.1) < 0.01
    assert abs(fractions["train"] - 0.7) < 0.01


def test_split_is_reproducible_by_seed_and_independent_of_row_order():
    sequences = [f"S{i}" for i in range(500)]
    a = assign_splits(sequences, 0.1, 0.1, seed=2)
    b = assign_splits(sequences[::-1], 0.1, 0.1, seed=2)[::-1]
    c = assign_splits(sequences, 0.1, 0.1, seed=3)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_tiny_tables_still_get_every_split():
    split = assign_splits(["A", "C", "G", "T"], 0.1, 0.1, seed=0)
    assert set(split) == {"train", "validation", "test"}


def test_encode_keeps_only_passing_rows_and_honours_a_given_split():
    table = simulate_table(60, 10, 20, 0.1, seed=0).labelled
    table.loc[:9, "qc"] = "mixed"
    table["split"] = ["train"] * 40 + ["validation"] * 10 + ["test"] * 10
    encoded = encode_table(table, length=0, validation=0.1, test=0.1, seed=0)
    assert len(encoded.rows) == 50
    assert encoded.onehot.shape == (50, 20, 4)
    np.testing.assert_array_equal(encoded.rows["split"], table["split"][10:])
    np.testing.assert_allclose(encoded.labels, table["label"][10:].to_numpy(), rtol=1e-6)
