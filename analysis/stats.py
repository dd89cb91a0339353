"""Small, vectorised statistics for rates: Wilson intervals and two-proportion tests.

Query intuition
---------------
Every rate the product shows is ``k of n`` with a 95% Wilson score interval, because the
interval stays inside [0, 1] and behaves sensibly for small ``n`` and for rates near 0 or
1, where the textbook normal ("Wald") interval does not. A change between two rates (this
month against last month, one source against another) is called out only when a pooled
two-proportion z-test says it is distinguishable from noise. Both work element-wise on
numpy arrays or pandas Series, so a grouped DataFrame of counts gets its intervals in one
call without a Python loop.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

Z95 = 1.959963984540054
"""Two-sided 95% normal quantile."""

_erfc = np.frompyfunc(math.erfc, 1, 1)


def _as_float_array(values: Any) -> np.ndarray:
    return np.asarray(values, dtype="float64")


def _wrap(values: np.ndarray, like: Any) -> Any:
    """Return ``values`` shaped like ``like``: a Series keeps its index, a scalar stays scalar."""
    if isinstance(like, pd.Series):
        return pd.Series(values, index=like.index)
    if np.ndim(like) == 0:
        return float(values)
    return values


def wilson_interval(k: Any, n: Any, z: float = Z95) -> tuple[Any, Any]:
    """95% (by default) Wilson score interval for the proportion ``k / n``.

    Parameters
    ----------
    k : int, array-like or Series
        Successes, ``0 <= k <= n``.
    n : int, array-like or Series
        Trials. Where ``n`` is 0 the interval is undefined and both bounds are NaN.
    z : float
        Normal quantile of the interval (1.96 gives a two-sided 95% interval).

    Returns
    -------
    (low, high)
        Lower and upper bound, each a float (scalar input), a numpy array, or a Series
        aligned with ``k`` when ``k`` is a Series. The interval is
        ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` with ``p = k/n``;
        for k = 8, n = 10 it is (0.490, 0.943).
    """
    like = k if isinstance(k, pd.Series) else n
    ka, na = _as_float_array(k), _as_float_array(n)
    if np.any(ka < 0) or np.any(ka > na):
        raise ValueError(f"wilson_interval expects 0 <= k <= n, got k={k!r}, n={n!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = ka / na
        z2 = z * z
        denom = 1.0 + z2 / na
        centre = (p + z2 / (2.0 * na)) / denom
        half = (z / denom) * np.sqrt(p * (1.0 - p) / na + z2 / (4.0 * na * na))
        low = np.where(na > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(na > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return _wrap(low, like), _wrap(high, like)


def two_proportion_test(k1: Any, n1: Any, k2: Any, n2: Any) -> tuple[Any, Any]:
    """Pooled two-proportion z-test of ``k1/n1`` against ``k2/n2``.

    The test pools both samples to estimate the common rate under the null hypothesis of
    equal proportions: ``p = (k1 + k2) / (n1 + n2)``, ``se = sqrt(p(1-p)(1/n1 + 1/n2))``,
    ``z = (k2/n2 - k1/n1) / se``. The p-value is two-sided, ``P(|Z| >= |z|)``.

    Parameters
    ----------
    k1, n1 : int or array-like
        Successes and trials of the first (earlier, or reference) sample.
    k2, n2 : int or array-like
        Successes and trials of the second sample.

    Returns
    -------
    (z, p_value)
        ``z`` is positive when the second rate is higher. NaN when either ``n`` is 0.
        When both rates are 0 or both are 1 the pooled standard error is 0 and there is no
        evidence of a change: ``z`` is 0 and the p-value 1. For 30/100 against 20/100,
        z = -1.633 and p = 0.102.
    """
    like = k1
    a1, b1, a2, b2 = (_as_float_array(v) for v in (k1, n1, k2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (a1 + a2) / (b1 + b2)
        se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / b1 + 1.0 / b2))
        diff = a2 / b2 - a1 / b1
        z = np.where(se > 0, diff / se, 0.0)
        valid = (b1 > 0) & (b2 > 0)
        z = np.where(valid, z, np.nan)
        p = np.asarray(_erfc(np.abs(z) / math.sqrt(2.0)), dtype="float64")
        p = np.where(valid, p, np.nan)
    return _wrap(z, like), _wrap(p, like)


def add_rate_columns(
    df: pd.DataFrame,
    k: str = "k",
    n: str = "n",
    prefix: str = "",
    z: float = Z95,
) -> pd.DataFrame:
    """Return a copy of ``df`` with the rate ``k / n`` and its Wilson interval added.

    Parameters
    ----------
    df : DataFrame
        Has integer count columns ``k`` (successes) and ``n`` (trials).
    k, n : str
        Names of the count columns.
    prefix : str
        Prepended to the new column names, e.g. ``"step_"`` gives ``step_rate``,
        ``step_low`` and ``step_high``.
    z : float
        Normal quantile of the interval.

    Returns
    -------
    DataFrame
        ``df`` plus ``{prefix}rate`` (share, NaN when n is 0), ``{prefix}low`` and
        ``{prefix}high`` (95% Wilson bounds, NaN when n is 0).
    """
    out = df.copy()
    kk = out[k].to_numpy(dtype="float64")
    nn = out[n].to_numpy(dtype="float64")
    low, high = wilson_interval(kk, nn, z=z)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[f"{prefix}rate"] = np.where(nn > 0, kk / nn, np.nan)
    out[f"{prefix}low"] = low
    out[f"{prefix}high"] = high
    return out


def count_change_test(c1: Any, c2: Any) -> tuple[Any, Any]:
    """Test whether two event counts over equally long periods differ beyond noise.

    Under the null hypothesis both counts come from Poisson processes with the same rate, so
    given their total the second count is Binomial(c1 + c2, 1/2). The normal approximation
    with a continuity correction gives ``z = (|c2 - c1| - 1) / sqrt(c1 + c2)`` (signed like
    ``c2 - c1``, 0 when the counts differ by at most 1) and a two-sided p-value.

    Parameters
    ----------
    c1 : int or array-like
        Count of the earlier (reference) period.
    c2 : int or array-like
        Count of the later period, observed over the same length of time.

    Returns
    -------
    (z, p_value)
        NaN when both counts are 0 (nothing to compare). 100 against 130 gives
        z = 29 / sqrt(230) = 1.912 and p = 0.056.
    """
    like = c1
    a, b = _as_float_array(c1), _as_float_array(c2)
    with np.errstate(divide="ignore", invalid="ignore"):
        total = a + b
        gap = np.maximum(np.abs(b - a) - 1.0, 0.0)
        z = np.where(total > 0, np.sign(b - a) * gap / np.sqrt(total), np.nan)
        p = np.asarray(_erfc(np.abs(z) / math.sqrt(2.0)), dtype="float64")
        p = np.where(total > 0, p, np.nan)
    return _wrap(z, like), _wrap(p, like)
