"""Wilson intervals and the pooled two-proportion test, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import stats


def test_wilson_matches_hand_value() -> None:
    """It gives (0.490, 0.943) for 8 of 10.

    p = 0.8, z^2 = 3.8415, denominator 1 + z^2/10 = 1.38415;
    centre = (0.8 + 0.19208) / 1.38415 = 0.71680;
    half = 1.96 / 1.38415 * sqrt(0.016 + 0.0096037) = 1.41602 * 0.16001 = 0.22658.
    """
    low, high = stats.wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    assert isinstance(low, float)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # k = 0: low is exactly 0, high = z^2/n / (1 + z^2/n) = 0.38415 / 1.38415
        (0, 10, 0.0, 0.27753),
        # k = n: the mirror image
        (10, 10, 0.72247, 1.0),
        # 1 of 2: centre 0.5, half = 1.96/2.92 * sqrt(0.125 + 0.24) = 0.40547
        (1, 2, 0.09453, 0.90547),
    ],
)
def test_wilson_edges(k: int, n: int, low: float, high: float) -> None:
    """It stays inside [0, 1] and is exact at the edges k = 0 and k = n."""
    got = stats.wilson_interval(k, n)
    assert got[0] == pytest.approx(low, abs=1e-5)
    assert got[1] == pytest.approx(high, abs=1e-5)


def test_wilson_is_nan_for_empty_samples_and_vectorised() -> None:
    """It returns NaN bounds where n = 0, element-wise over arrays."""
    low, high = stats.wilson_interval(np.array([8, 0, 0]), np.array([10, 0, 5]))
    assert low[0] == pytest.approx(0.4902, abs=1e-4)
    assert math.isnan(low[1]) and math.isnan(high[1])
    assert low[2] == 0.0 and high[2] == pytest.approx(0.43448, abs=1e-5)


def test_wilson_keeps_a_series_index() -> None:
    """It returns Series aligned with a Series input."""
    k = pd.Series([8, 1], index=["a", "b"])
    n = pd.Series([10, 2], index=["a", "b"])
    low, high = stats.wilson_interval(k, n)
    assert list(low.index) == ["a", "b"]
    assert high["b"] == pytest.approx(0.90547, abs=1e-5)


@pytest.mark.parametrize(("k", "n"), [(11, 10), (-1, 10)])
def test_wilson_refuses_impossible_counts(k: int, n: int) -> None:
    """It refuses k outside 0..n and says what it got."""
    with pytest.raises(ValueError, match="0 <= k <= n"):
        stats.wilson_interval(k, n)


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "z", "p"),
    [
        # pooled 0.25, se = sqrt(0.25 * 0.75 * (1/100 + 1/100)) = 0.061237, diff -0.1
        (30, 100, 20, 100, -1.63299, 0.10247),
        # pooled 0.6, se = sqrt(0.6 * 0.4 * 0.02) = 0.069282, diff +0.2
        (50, 100, 70, 100, 2.88675, 0.003892),
        # pooled 0.5, se = sqrt(0.25 * (1/10 + 1/10)) = 0.223607, diff -0.6
        (8, 10, 2, 10, -2.68328, 0.007290),
    ],
)
def test_two_proportion_matches_hand_values(
    k1: int, n1: int, k2: int, n2: int, z: float, p: float
) -> None:
    """It gives the pooled z statistic and two-sided p-value worked out by hand."""
    got_z, got_p = stats.two_proportion_test(k1, n1, k2, n2)
    assert got_z == pytest.approx(z, abs=1e-4)
    assert got_p == pytest.approx(p, rel=1e-3)
    # swapping the samples flips the sign and keeps the p-value
    back_z, back_p = stats.two_proportion_test(k2, n2, k1, n1)
    assert back_z == pytest.approx(-z, abs=1e-4)
    assert back_p == pytest.approx(p, rel=1e-3)


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "z", "p"),
    [
        (0, 10, 0, 5, 0.0, 1.0),  # both rates 0: no evidence of change
        (10, 10, 5, 5, 0.0, 1.0),  # both rates 1
        (3, 0, 1, 5, math.nan, math.nan),  # an empty sample: undefined
    ],
)
def test_two_proportion_degenerate_cases(
    k1: int, n1: int, k2: int, n2: int, z: float, p: float
) -> None:
    """It returns z = 0, p = 1 when both rates are equal at 0 or 1, and NaN for n = 0."""
    got_z, got_p = stats.two_proportion_test(k1, n1, k2, n2)
    if math.isnan(z):
        assert math.isnan(got_z) and math.isnan(got_p)
    else:
        assert (got_z, got_p) == (z, p)


def test_add_rate_columns_with_prefix() -> None:
    """It adds rate, low and high (NaN for n = 0) and leaves the input untouched."""
    df = pd.DataFrame({"k": [8, 0], "n": [10, 0]})
    out = stats.add_rate_columns(df, prefix="step_")
    assert list(out.columns) == ["k", "n", "step_rate", "step_low", "step_high"]
    assert out.loc[0, "step_rate"] == 0.8
    assert out.loc[0, "step_low"] == pytest.approx(0.4902, abs=1e-4)
    assert out.loc[1, ["step_rate", "step_low", "step_high"]].isna().all()
    assert list(df.columns) == ["k", "n"]
