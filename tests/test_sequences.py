import numpy as np

from utrflow.sequences import gc_fraction, normalize, one_hot, random_sequences, reverse_complement


def test_one_hot_left_pads_so_sequences_align_at_the_3prime_end():
    x = one_hot(["ACGT", "GG"])
    assert x.shape == (2, 4, 4)
    assert x.dtype == np.uint8
    np.testing.assert_array_equal(x[0], np.eye(4, dtype=np.uint8))
    # "GG" sits in the last two columns; the first two are padding (all zero).
    np.testing.assert_array_equal(x[1, :2], 0)
    np.testing.assert_array_equal(x[1, 2:], [[0, 0, 1, 0], [0, 0, 1, 0]])


def test_one_hot_n_and_iupac_codes_are_all_zero_and_case_and_u_are_accepted():
    x = one_hot(["aNRu"])
    np.testing.assert_array_equal(x[0], [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]])


def test_one_hot_truncates_long_sequences_from_the_5prime_end():
    x = one_hot(["AAAACG"], length=2)
    np.testing.assert_array_equal(x[0], [[0, 1, 0, 0], [0, 0, 1, 0]])


def test_one_hot_matches_a_per_base_reference_on_random_sequences():
    rng = np.random.default_rng(0)
    seqs = random_sequences(rng, 50, 5, 30)
    x = one_hot(seqs, length=30)
    for row, seq in zip(x, seqs, strict=True):
        decoded = "".join("ACGT"[i] for i in row.argmax(axis=1)[30 - len(seq) :])
        assert decoded == seq
        assert row[: 30 - len(seq)].sum() == 0


def test_one_hot_of_nothing_is_empty():
    assert one_hot([]).shape == (0, 0, 4)


def test_reverse_complement_is_iupac_aware_and_an_involution():
    assert reverse_complement("AACGTN") == "NACGTT"
    assert reverse_complement("RYKM") == "KMRY"
    seq = "ACGTRYSWKMBDHVN"
    assert reverse_complement(reverse_complement(seq)) == seq


def test_normalize_and_gc_fraction():
    assert normalize("  acgu\r") == "ACGT"
    np.testing.assert_allclose(gc_fraction(["GGCC", "ATGC", "NNAT"]), [1.0, 0.5, 0.0])


def test_random_sequences_respect_length_range_and_gc():
    seqs = random_sequences(np.random.default_rng(1), 2000, 10, 20, gc=0.7)
    lengths = np.array([len(s) for s in seqs])
    assert lengths.min() >= 10 and lengths.max() <= 20
    assert abs(gc_fraction(seqs).mean() - 0.7) < 0.02
