"""The SLA page's aggregates equal what it used to compute from one row per handoff.

:func:`analysis.lifecycle.sla.response_curve` replaces the per-handoff frame of
:func:`analysis.lifecycle.sla.response_times` plus ``numpy.quantile`` in the chart, and
:func:`analysis.lifecycle.sla.breach_count` / ``breach_queue(limit=...)`` replace the whole
queue the page counted and cut. Each is compared with the old computation on the demo, on
the edge-case journeys and on the export-shaped fixtures, on both read paths.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis import filters as flt
from analysis import store
from analysis.lifecycle import journey, sla
from tests.journeys import build
from tests.lifecycle import exports
from tests.lifecycle.test_journey import edge_journeys, with_journey

CLOCK_COLUMN = {"wall": "response_minutes", "business": "response_business_minutes"}


def old_curve(con: duckdb.DuckDBPyConnection, f: flt.Filters, clock: str, points: int):
    """{tier: (handoffs, answered, shares, minutes)} the way the chart computed it from
    ``response_times`` before (quantiles of the answered rows, linear interpolation)."""
    rows = sla.response_times(con, f)
    out = {}
    for tier, sub in rows.groupby("tier", sort=False):
        business = clock == "business" or (
            clock == "policy" and bool(sub["business_hours"].iloc[0])
        )
        values = sub[CLOCK_COLUMN["business" if business else "wall"]].dropna().to_numpy(float)
        probs = np.linspace(0, 1, min(points, len(values)))
        x = np.quantile(values, probs) if len(values) else np.array([])
        out[tier] = (len(sub), len(values), probs, x)
    return out


def assert_curve_matches(con: duckdb.DuckDBPyConnection, f: flt.Filters, points: int) -> int:
    """Compare the aggregate with the old computation on every clock; count the points."""
    seen = 0
    for clock in sla.CLOCKS:
        expected = old_curve(con, f, clock, points)
        curve = sla.response_curve(con, f, clock, points)
        assert sorted(curve["tier"].unique()) == sorted(expected)
        for tier, (handoffs, answered, probs, x) in expected.items():
            sub = curve[curve["tier"] == tier]
            assert sub["handoffs"].iloc[0] == handoffs
            assert sub["answered"].iloc[0] == answered
            if answered == 0:
                assert len(sub) == 1 and sub["minutes"].isna().all()
                continue
            np.testing.assert_allclose(sub["share"].to_numpy(float), probs, rtol=0, atol=1e-15)
            np.testing.assert_allclose(sub["minutes"].to_numpy(float), x, rtol=1e-12, atol=1e-9)
            seen += len(sub)
    return seen


def assert_queue_matches(con: duckdb.DuckDBPyConnection) -> None:
    """The count is the whole queue's length and a limited queue is its first rows."""
    for days in (None, 30):
        whole = sla.breach_queue(con, max_age_days=days)
        assert sla.breach_count(con, max_age_days=days) == len(whole)
        for limit in (1, 3, 10_000):
            top = sla.breach_queue(con, max_age_days=days, limit=limit)
            pd.testing.assert_frame_equal(top, whole.head(limit).reset_index(drop=True))


@pytest.fixture(scope="module")
def demo(demo_db: Path):
    c = store.connect_read_only(demo_db)
    yield c
    c.close()


@pytest.mark.parametrize("derived", [False, True], ids=["direct", "journey"])
def test_demo_curve_and_queue_equal_the_per_handoff_computation(demo, derived: bool) -> None:
    """On the demo (whole and one source), every tier's 300 quantiles on every clock
    equal numpy's over the per-handoff frame (to 1e-12), with the same handoff and
    answered counts; the breach count is the queue's length and a limited queue its
    first rows."""
    with journey.reading(demo, fresh=derived) as used:
        assert used == derived
        sources = tuple(flt.filter_options(demo)["sources"][:1])
        for f in (flt.Filters(), flt.Filters(sources=sources)):
            assert assert_curve_matches(demo, f, 300) > 300
        assert_queue_matches(demo)
        assert sla.breach_count(demo) > 3  # the limits above really cut


@pytest.mark.parametrize("derived", [False, True], ids=["direct", "journey"])
@pytest.mark.parametrize(
    "fixture", [edge_journeys, exports.marketplace, exports.undated, exports.pipeline]
)
def test_small_histories_ship_their_sorted_responses(fixture, derived: bool) -> None:
    """With fewer answered handoffs than points, the curve is the sorted responses
    themselves at evenly spaced shares, as numpy's quantiles were; histories without
    activities give tiers with no answered handoff (one NaN row each)."""
    con = with_journey(fixture())
    with journey.reading(con, fresh=derived):
        assert_curve_matches(con, flt.Filters(), 300)
        assert_queue_matches(con)


def test_curve_of_three_planted_responses() -> None:
    """Three standard MQLs answered after 10, 30 and 90 wall minutes and one never
    answered: with 3 points the curve is (0, 10), (0.5, 30), (1, 90); with 5 points
    still the three responses (fewer answered than points); 4 handoffs, 3 answered."""
    con = build(
        {f"l{i}": [("mql", "2024-01-02 09:00")] for i in range(4)},
        activities={
            "l0": [("2024-01-02 09:10", "call")],
            "l1": [("2024-01-02 09:30", "call")],
            "l2": [("2024-01-02 10:30", "call")],
        },  # fmt: skip
    )
    for points in (3, 5):
        curve = sla.response_curve(con, flt.Filters(), "wall", points)
        assert curve["tier"].unique().tolist() == ["standard"]
        assert curve["minutes"].tolist() == [10.0, 30.0, 90.0]
        assert curve["share"].tolist() == [0.0, 0.5, 1.0]
        assert (curve["handoffs"] == 4).all() and (curve["answered"] == 3).all()
    with pytest.raises(ValueError, match="at least 2"):
        sla.response_curve(con, flt.Filters(), "wall", 1)
