"""Interpretation: filter motifs from top-activating windows, a planted motif found, and
mutagenesis pointing at it."""

from __future__ import annotations

import numpy as np
import pytest
from test_model import FAST, model_config, planted_motif_rows

from utrflow.model import interpret
from utrflow.model.training import train_member
from utrflow.sequences import one_hot
from utrflow.simulate.table import planted_motifs


def test_filter_counts_take_the_windows_at_half_the_peak_or_more() -> None:
    onehot = one_hot(["AACCGGTT", "TTTTTTTT", "ACG"], length=8)  # the third is left-padded
    activations = np.zeros((3, 8, 2), dtype=np.float32)
    activations[0, 3, 0] = 4.0  # window of 'same' padding, kernel 3: positions 2..4 -> CCG
    activations[1, 3, 0] = 2.0  # exactly half the peak: counted (TTT)
    activations[1, 5, 0] = 1.9  # under half: not counted
    activations[2, 6, 0] = 4.0  # reaches into no base of the padded row? positions 5..7 -> ACG
    activations[2, 5, 1] = 3.0  # positions 4..6 touch the padding (column 4): skipped
    counts, sites = interpret.filter_counts(activations, onehot, kernel=3)
    assert sites.tolist() == [3, 0]
    expected = one_hot(["CCG"])[0] + one_hot(["TTT"])[0] + one_hot(["ACG"])[0]
    np.testing.assert_array_equal(counts[0], expected)


def test_similarity_is_one_for_the_motif_itself_and_a_quarter_for_a_flat_filter() -> None:
    exact = one_hot(["GGCCGGAAT"])[0].astype(float)
    assert interpret.similarity(exact, "CCGGAA") == pytest.approx(1.0)
    assert interpret.similarity(np.full((8, 4), 0.25), "CCGGAA") == pytest.approx(0.25)
    assert interpret.similarity(exact[2:6], "CCGGAAT") == pytest.approx(1.0)  # filter in motif


def test_planted_motifs_are_the_simulators() -> None:
    assert "Shine-Dalgarno" in planted_motifs("utr")
    assert list(planted_motifs("tf_binding").values()) == ["CCGGAA"]


def test_a_planted_motif_is_found_by_a_filter_and_mutagenesis_points_at_it() -> None:
    x, rows = planted_motif_rows(1200, 0, "regression")
    member = train_member(x, rows, None, model_config(**FAST), seed=1, threads=2)
    found = interpret.filter_motifs(member.model, x, {"site": "CCGGAA", "decoy": "TTTTTT"})
    assert found["planted"]["site"]["recovered"]
    assert found["planted"]["site"]["similarity"] > found["planted"]["decoy"]["similarity"]
    with_motif = rows.loc[rows["label"] > 6, "sequence"].iloc[0]
    (scan,) = interpret.saturation_mutagenesis(member.model, [with_motif], x.shape[1])
    deltas = np.array(scan["deltas"])
    assert deltas.shape == (24, 4)
    worst = np.argsort(deltas.min(axis=1))[:3]  # the positions whose change hurts most
    assert set(worst.tolist()) <= set(range(8, 14))  # all inside the planted CCGGAA
    assert deltas.min() < -0.5  # one change in the site costs at least a quarter of its +2
