"""Every month's review figures in one pass, against the per-month headline they replace."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analysis import store
from analysis.definitions import data_as_of
from analysis.lifecycle import deals, journey, metrics
from analysis.lifecycle import review as rv
from tests.journeys import build
from tests.lifecycle import exports
from tests.lifecycle.test_journey import edge_journeys, with_journey

KEYS = ("volumes", "stage_counts", "conversions", "sla", "response_minutes")
"""The headline keys the review reads from :func:`rv.month_headline`."""


def same_as_headline(con: duckdb.DuckDBPyConnection, months: list[date]) -> int:
    """Assert month_headline == metrics.headline (review keys) and month_deals ==
    closed_deals for every month and basis; returns the comparisons made."""
    figs = rv.month_figures(con)
    n = 0
    for month in months:
        for basis in metrics.BASES:
            want = metrics.headline(con, month, rv.month_end(month), basis=basis)
            got = rv.month_headline(figs, month, basis)
            for key in KEYS:
                assert got.get(key) == want.get(key), (month, basis, key)
                reason = f"{key}_reason"
                assert got.get(reason) == want.get(reason), (month, basis, reason)
                n += 1
        assert rv.month_volumes(con, month) == want["volumes"], month
    first, last = months[-1], months[0]
    pd.testing.assert_frame_equal(
        rv.month_deals(figs, rv.add_months(first, -12), last),
        deals.closed_deals(con, rv.add_months(first, -12), last, data_as_of(con)),
    )
    return n


def test_hand_built_months_count_each_lead_in_the_month_it_entered() -> None:
    """a: created Jan 10, MQL Jan 15, SQL Feb 3; b: created and MQL Feb 1; c: created
    Feb 20. January: 1 lead, 1 MQL (a), 0 SQLs; February: 2 leads (b, c), 1 MQL (b),
    1 SQL (a). January's MQL cohort {a} reached SQL: 1 of 1; February's {b}: 0 of 1.
    Created basis, February: 2 leads created, 1 of them (b) reached MQL."""
    con = build(
        {
            "a": [("lead", "2024-01-10 09:00"), ("mql", "2024-01-15 09:00"),
                  ("sql", "2024-02-03 09:00")],
            "b": [("lead", "2024-02-01 08:00"), ("mql", "2024-02-01 09:00")],
            "c": [("lead", "2024-02-20 09:00")],
        }
    )  # fmt: skip
    figs = rv.month_figures(con)
    jan = rv.month_headline(figs, date(2024, 1, 1))
    feb = rv.month_headline(figs, date(2024, 2, 1))
    assert (jan["volumes"]["lead"], jan["volumes"]["mql"], jan["volumes"]["sql"]) == (1, 1, 0)
    assert (feb["volumes"]["lead"], feb["volumes"]["mql"], feb["volumes"]["sql"]) == (2, 1, 1)
    assert (jan["conversions"]["mql_to_sql"]["k"], jan["conversions"]["mql_to_sql"]["n"]) == (1, 1)
    assert (feb["conversions"]["mql_to_sql"]["k"], feb["conversions"]["mql_to_sql"]["n"]) == (0, 1)
    created = rv.month_headline(figs, date(2024, 2, 1), "created")
    assert created["stage_counts"]["lead"] == 2
    assert created["conversions"]["lead_to_mql"]["k"] == 1
    assert rv.month_volumes(con, date(2024, 2, 1)) == feb["volumes"]


def test_a_month_without_data_has_zero_volumes_like_the_headline() -> None:
    """A month before the history (December 2023) gives the headline's zeros, not a gap."""
    con = build({"a": [("lead", "2024-01-10 09:00"), ("mql", "2024-01-15 09:00")]})
    assert same_as_headline(con, [date(2024, 1, 1), date(2023, 12, 1)]) > 0


def test_edge_journeys_match_the_headline_both_ways() -> None:
    """On the SLA-clock edge cases (recycled, skipped, hot, untouched leads; business
    hours in a rep's zone) every month's figures equal the month's headline, from the
    base tables and from the journey tables."""
    con = with_journey(edge_journeys())
    months = [date(2024, m, 1) for m in (4, 3, 2, 1)]
    with journey.direct():
        assert same_as_headline(con, months) > 0
    with journey.reading(con) as used:
        assert used
        assert same_as_headline(con, months) > 0


@pytest.mark.parametrize("fixture", [exports.marketplace, exports.undated, exports.pipeline])
def test_export_shaped_histories_match_the_headline(fixture) -> None:
    """Histories without activities, dates or early stages give the headline's numbers
    and its not-measurable reasons, month by month."""
    con = with_journey(fixture())
    with journey.reading(con):
        months = rv.available_months(con) or [date(2024, 1, 1)]
        assert same_as_headline(con, months) > 0


def test_demo_months_match_the_headline(demo_db: Path) -> None:
    """On the generated demo every month's figures, under both bases, are the headline's
    (journey tables, as the dashboard reads them), and the review built from them keeps
    the numbers of the page's headline."""
    con = store.connect_read_only(demo_db)
    try:
        with journey.reading(con) as used:
            assert used
            months = rv.available_months(con)
            assert same_as_headline(con, months) >= len(months) * 2 * len(KEYS)
            review = rv.build_review(con, "2026-09")
            head = rv.review_head(
                rv.month_figures(con), "2026-09", rv.load_targets(con, review.month, review.month)
            )
            pd.testing.assert_frame_equal(head.goals, review.goals)
            pd.testing.assert_frame_equal(head.funnel, review.funnel)
            pd.testing.assert_frame_equal(head.deals, review.deals)
    finally:
        con.close()
