"""utrflow.stats: the one binomial share interval (Clopper-Pearson) of the well calls and the
report, against known answers from scipy's beta quantiles, on few trials and on thousands."""

from __future__ import annotations

import math

import pytest
from scipy.stats import beta, binom

from utrflow.stats import at_most, share_interval


@pytest.mark.parametrize(("k", "n"), [(0, 10), (5, 10), (3, 47), (90, 100), (2700, 3000)])
def test_the_share_interval_is_the_beta_quantiles(k: int, n: int) -> None:
    low, high = share_interval(k, n)
    assert low == (0.0 if k == 0 else pytest.approx(beta.ppf(0.025, k, n - k + 1), abs=1e-9))
    assert high == (1.0 if k == n else pytest.approx(beta.ppf(0.975, k + 1, n - k), abs=1e-9))


@pytest.mark.parametrize("n", [1000, 1100, 5000])
def test_the_binomial_tail_is_right_where_the_plain_terms_overflow(n: int) -> None:
    """From about 1030 trials the plain terms overflow a float (C(1030, 515) > 1e308): the
    sum in logarithms takes over, with the same answers."""
    for k, p in ((n // 2, 0.5), (n // 10, 0.12), (n - 3, 0.999)):
        assert math.isclose(at_most(k, n, p), binom.cdf(k, n, p), rel_tol=1e-9), (k, p)
    assert at_most(n, n, 1.0) == 1.0 and at_most(n - 1, n, 1.0) == pytest.approx(0.0)
    assert at_most(0, n, 0.0) == 1.0


def test_a_share_of_all_or_none_holds_itself() -> None:
    for n in (1, 6, 1500):
        assert share_interval(n, n)[1] == 1.0 and share_interval(0, n)[0] == 0.0
    assert share_interval(0, 0) == (0.0, 1.0)
