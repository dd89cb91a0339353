"""Rate changes: whether a new rate differs from the old one beyond noise.

A change between two rates ``k1/n1`` (before) and ``k2/n2`` (after) is tested with the
pooled two-proportion z-test (:func:`analysis.stats.two_proportion_test`); it is called
out only when the two-sided p-value is below ``alpha``. The funnel's month-over-month
trends and the monthly review's "what changed" both use :func:`rate_change`.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis import stats


@dataclass(frozen=True)
class RateChange:
    """A change between two rates and whether it is distinguishable from noise.

    ``before_rate = k1/n1``, ``after_rate = k2/n2``, ``change = after - before`` (as a
    fraction: 0.05 is five percentage points); ``z`` and ``p_value`` from the pooled
    two-proportion z-test (two-sided); ``significant`` when ``p_value < alpha``.
    """

    before_k: int
    before_n: int
    after_k: int
    after_n: int
    before_rate: float
    after_rate: float
    change: float
    z: float
    p_value: float
    significant: bool


def rate_change(k1: int, n1: int, k2: int, n2: int, alpha: float = 0.05) -> RateChange:
    """Compare ``k2/n2`` (after) with ``k1/n1`` (before) with a pooled two-proportion test.

    The change is called significant only when the two-sided p-value is below ``alpha``;
    with an empty sample (n = 0) the rates and test are NaN and it is never significant.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    z, p = stats.two_proportion_test(k1, n1, k2, n2)
    r1 = k1 / n1 if n1 else float("nan")
    r2 = k2 / n2 if n2 else float("nan")
    return RateChange(
        before_k=int(k1),
        before_n=int(n1),
        after_k=int(k2),
        after_n=int(n2),
        before_rate=r1,
        after_rate=r2,
        change=r2 - r1,
        z=float(z),
        p_value=float(p),
        significant=bool(p < alpha),
    )
