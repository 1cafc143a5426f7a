"""Binomial shares: the tail of a binomial and the exact (Clopper-Pearson) interval of a share
seen k times in n. One implementation for every share stated with an interval: a second
allele's share of a well's reads (reads/consensus) and a split's interval coverage over its
rows (report/coverage). Part of the shared base: it imports no stage, so the report reads it
without loading the reads stage (pyabpoa, edlib).
"""

from __future__ import annotations

import math
from collections.abc import Callable


def at_most(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p): the terms summed as they are (the sums every well call
    was made with) or, where a coefficient passes the largest float (C(n, i) over 1e308, from
    about n = 1030: the rows of a large test split), as logarithms."""
    try:
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))
    except OverflowError:
        pass
    if p <= 0.0 or p >= 1.0:  # every trial fails, or every one succeeds
        return float(k >= 0) if p <= 0.0 else float(k >= n)
    log_p, log_q, whole = math.log(p), math.log1p(-p), math.lgamma(n + 1)
    terms = (
        whole - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        for i in range(min(k, n) + 1)
    )
    return min(1.0, sum(math.exp(t) for t in terms))


def share_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a share seen `k` times in `n`, by bisection on the binomial
    tails (each side (1 - confidence) / 2). It always holds k / n: 0 of n starts at exactly 0,
    n of n ends at exactly 1."""
    if n <= 0:
        return 0.0, 1.0
    tail = (1 - confidence) / 2

    def solve(test: Callable[[float], bool]) -> float:
        low, high = 0.0, 1.0
        for _ in range(40):
            mid = (low + high) / 2
            low, high = (mid, high) if test(mid) else (low, mid)
        return (low + high) / 2

    lower = 0.0 if k == 0 else solve(lambda p: 1 - at_most(k - 1, n, p) < tail)
    upper = 1.0 if k == n else solve(lambda p: at_most(k, n, p) > tail)
    return lower, upper
