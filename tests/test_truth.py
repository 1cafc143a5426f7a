"""Known answers for the hidden ground truth and the table-level simulation."""

import numpy as np
from conftest import LABELLED_COLUMNS

from utrflow.simulate import truth
from utrflow.simulate.table import expected_noise_ceiling, simulate_table

BACKGROUND = "CACACACACACACACACACACACACACACA"  # no ATG, no SD, no U-run


def with_sd(spacing: int, site: str = "AGGAGG") -> str:
    """BACKGROUND with `site` whose last base lies `spacing` nt from the 3' end."""
    end = len(BACKGROUND) - spacing + 1
    return BACKGROUND[: end - len(site)] + site + BACKGROUND[end:]


def test_a_shine_dalgarno_at_the_optimal_spacing_raises_expression():
    y = truth.expression([BACKGROUND, with_sd(8), with_sd(16), with_sd(8, "ACCACC")])
    assert y[1] > y[0] + 1.5  # a consensus SD at the best spacing
    assert y[0] < y[2] < y[1]  # the same SD too far from the start codon helps less
    assert abs(y[3] - y[0]) < 0.1  # a non-SD word at the same place does nothing


def test_upstream_atgs_lower_expression_and_saturate():
    one = BACKGROUND[:10] + "ATG" + BACKGROUND[13:]
    two = one[:20] + "ATG" + one[23:]
    three = two[:2] + "ATG" + two[5:]
    y = truth.expression([BACKGROUND, one, two, three])
    assert y[1] < y[0] and y[2] < y[1]
    assert np.isclose(y[3], y[2])


def test_gc_rich_structure_damps_the_sd_effect():
    prefix = BACKGROUND[:-13]

    def sd_gain(spacer: str) -> float:
        with_site, without = prefix + "AGGAGG" + spacer, prefix + "CACACA" + spacer
        y = truth.expression([with_site, without])
        return float(y[0] - y[1])

    assert sd_gain("ATATATA") > sd_gain("GCGCGCG") > 0


def test_simulated_noise_ceiling_matches_its_expectation():
    sim = simulate_table(20000, 30, 60, noise_sd=0.5, seed=11)
    s = sim.summary
    assert abs(s["realized_noise_ceiling_r2"] - s["expected_noise_ceiling_r2"]) < 0.01
    noise = sim.labelled["label"] - sim.truth["true_label"]
    assert abs(noise.std() - 0.5) < 0.01
    assert abs(noise.mean()) < 0.02


def test_expected_noise_ceiling_known_values():
    values = np.array([-1.0, 1.0])  # variance 1
    assert expected_noise_ceiling(values, 0.0) == 1.0
    assert np.isclose(expected_noise_ceiling(values, 1.0), 0.5)


def test_simulated_table_follows_the_contract_and_is_deterministic():
    a = simulate_table(200, 20, 40, 0.3, seed=5, plate_format=96)
    b = simulate_table(200, 20, 40, 0.3, seed=5, plate_format=96)
    assert list(a.labelled.columns) == LABELLED_COLUMNS
    assert a.labelled.equals(b.labelled)
    assert set(a.labelled["plate"]) == {"P01", "P02", "P03"}
    assert not a.labelled.duplicated(["plate", "well"]).any()
    np.testing.assert_allclose(np.log2(a.labelled["signal"]), a.labelled["label"])


def test_designed_library_plants_sds_at_the_requested_rate():
    def strong_sd_fraction(p_sd: float) -> float:
        rng = np.random.default_rng(0)
        seqs = truth.design_library(rng, 6000, 30, 60, p_sd=p_sd, p_uatg=0.0, p_enhancer=0.0)
        x = truth.one_hot(seqs).astype(np.float32)
        best = truth._window_scores(x, truth.SHINE_DALGARNO.log_odds()).max(axis=1)
        return float((best > 6.0).mean())  # >= 5 of 6 consensus bases

    background = strong_sd_fraction(0.0)
    # A site sampled from the PWM (0.7 per base) keeps >= 5 consensus bases with this chance:
    p_strong_site = 6 * 0.7**5 * 0.3 + 0.7**6
    expected = background + 0.6 * p_strong_site * (1 - background)
    assert abs(strong_sd_fraction(0.6) - expected) < 0.03
