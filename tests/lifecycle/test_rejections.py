"""Disposition mix, reason Pareto and recycling on a small hand-checked history."""

from __future__ import annotations

import math
from datetime import date

import duckdb
import pandas as pd
import pytest

from analysis import filters as flt
from analysis.lifecycle import rejections
from tests.journeys import build

ALL = flt.Filters()


def mql_at(at: str, *later: tuple[str, str]) -> list[tuple[str, str]]:
    return [("lead", "2024-01-01 00:00"), ("mql", at), *later]


JOURNEYS = {
    "a": mql_at(
        "2024-01-10 10:00", ("sql", "2024-01-11 10:00"), ("opportunity", "2024-01-20 10:00")
    ),
    "b": mql_at("2024-01-12 10:00"),
    "c": mql_at("2024-01-15 10:00"),
    "d": mql_at("2024-02-03 10:00"),
    "e": mql_at("2024-02-10 10:00"),
    # f: nurtured (stage change and disposition), MQL again, then SQL: recycled
    "f": mql_at(
        "2024-01-20 10:00",
        ("nurture", "2024-01-25 10:00"),
        ("mql", "2024-03-01 10:00"),
        ("sql", "2024-03-05 10:00"),
    ),
    # g: nurtured by disposition only, MQL again: recycled
    "g": mql_at("2024-01-22 10:00", ("mql", "2024-02-20 10:00")),
    # h: MQL twice without a nurture in between: not a recycle
    "h": mql_at("2024-01-25 10:00", ("mql", "2024-01-28 10:00"), ("sql", "2024-02-01 10:00")),
    "i": [("lead", "2024-01-01 00:00")],
    # j: nurtured before its first handoff, which does not count; MQL again without nurture
    "j": [
        ("lead", "2024-01-01 00:00"),
        ("nurture", "2024-01-02 10:00"),
        ("mql", "2024-01-05 10:00"),
        ("mql", "2024-01-08 10:00"),
    ],
}
SOURCES = {
    "a": "webinar",
    "b": "webinar",
    "c": "ads",
    "d": "ads",
    "e": "ads",
    "f": "events",
    "g": "events",
    "h": "events",
}
TOUCHES = {
    "a": [
        ("2024-01-09 10:00", "page_view", "pricing", 60),
        ("2024-01-10 10:00", "demo_request"),
    ],  # 25 + 50 = 75
    "b": [("2024-01-11 10:00", "page_view", "careers", 100)],  # careers only: -10
    "c": [
        ("2024-01-13 10:00", "page_view", "blog", 2000),
        ("2024-01-14 10:00", "page_view", "blog", 1600),  # an hour of blog: +10
        ("2024-01-14 11:00", "page_view", "Pricing", 5),
    ],  # +25 -> 35
    "d": [("2024-02-04 10:00", "demo_request")],  # after the handoff: 0
}
DISPOSITIONS = {
    "a": [("2024-01-11 10:00", "accepted")],
    "b": [("2024-01-13 10:00", "rejected", "student_or_job_seeker")],
    "c": [("2024-02-01 10:00", "rejected", "no_budget")],
    "d": [("2024-02-05 10:00", "rejected", "no_budget")],
    "e": [("2024-02-11 10:00", "bad_data")],
    "f": [("2024-01-25 10:00", "nurture", "bad_timing"), ("2024-03-04 10:00", "accepted")],
    "g": [("2024-01-23 10:00", "nurture", "no_need")],
}


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return build(
        JOURNEYS,
        leads={k: {"source": v} for k, v in SOURCES.items()},
        touches=TOUCHES,
        dispositions=DISPOSITIONS,
    )


def test_disposition_mix_overall(con) -> None:
    """It counts every disposition by outcome and reason, with shares of the total."""
    m = rejections.disposition_mix(con, ALL)
    rows = list(zip(m["outcome"], m["reason"], m["count"], strict=True))
    assert rows == [
        ("accepted", "(not set)", 2),
        ("rejected", "no_budget", 2),
        ("rejected", "student_or_job_seeker", 1),
        ("nurture", "bad_timing", 1),
        ("nurture", "no_need", 1),
        ("bad_data", "(not set)", 1),  # no reason recorded
    ]
    assert set(m["total"]) == {8}
    assert m.loc[1, "share"] == 0.25
    assert m.loc[1, "outcome_count"] == 3 and m.loc[1, "outcome_share"] == 3 / 8
    assert m.loc[1, "low"] == pytest.approx(0.0715, abs=1e-4)  # 2 of 8


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("source", {"webinar": 2, "ads": 3, "events": 3}),
        (
            "month",
            {
                pd.Timestamp("2024-01-01"): 4,
                pd.Timestamp("2024-02-01"): 3,
                pd.Timestamp("2024-03-01"): 1,
            },
        ),
        # starter points at the first handoff: a 75, c 35, everyone else below 25
        ("score_band", {"75+": 1, "25-49": 1, "<25": 6}),
    ],
)
def test_disposition_mix_by(con, by: str, expected: dict) -> None:
    """It splits dispositions by source, decision month or score band; shares per group."""
    m = rejections.disposition_mix(con, ALL, by=by)
    totals = m.groupby(by)["total"].first().to_dict()
    assert totals == expected
    assert m.groupby(by)["share"].sum().round(12).eq(1).all()


def test_disposition_mix_shares_within_a_group(con) -> None:
    """It divides by the group's own total."""
    m = rejections.disposition_mix(con, ALL, by="source")
    ads = m[(m["source"] == "ads") & (m["reason"] == "no_budget")].iloc[0]
    assert (ads["count"], ads["total"], ads["share"]) == (2, 3, 2 / 3)


def test_disposition_mix_date_range_is_on_the_decision(con) -> None:
    """It keeps dispositions decided in the range (c, d, e in February)."""
    feb = flt.Filters(start=date(2024, 2, 1), end=date(2024, 2, 29))
    m = rejections.disposition_mix(con, feb)
    assert m["count"].sum() == 3 and set(m["total"]) == {3}


def test_reason_pareto(con) -> None:
    """It sorts reasons of non-accepted dispositions, ties by name, with cumulative share."""
    p = rejections.reason_pareto(con, ALL)
    # ties by name: "(not set)" (a missing reason) sorts before the letters
    assert p["reason"].tolist() == [
        "no_budget",
        "(not set)",
        "bad_timing",
        "no_need",
        "student_or_job_seeker",
    ]
    assert p["count"].tolist() == [2, 1, 1, 1, 1]
    assert p["cumulative_share"].tolist() == pytest.approx([2 / 6, 3 / 6, 4 / 6, 5 / 6, 1.0])
    assert set(p["total"]) == {6}


def test_reason_pareto_filters(con) -> None:
    """It applies dimension filters."""
    p = rejections.reason_pareto(con, flt.Filters(sources=("webinar",)))
    assert p["reason"].tolist() == ["student_or_job_seeker"]


def test_recycle_summary(con) -> None:
    """It finds f and g recycled among nine MQL'd leads, and what they did next."""
    r = rejections.recycle_summary(con, ALL)
    # MQL'd: a b c d e f g h j; nurtured after the first handoff: f g; both came back
    assert (r.mql_leads, r.nurtured, r.recycled) == (9, 2, 2)
    assert r.recycle_rate == pytest.approx(2 / 9)
    assert r.return_rate == 1.0
    assert r.recycle_low == pytest.approx(0.0632, abs=1e-4)
    got = {(o.group, o.stage): (o.k, o.n) for o in r.outcomes.itertuples()}
    assert got == {
        ("recycled", "sql"): (1, 2),  # f reached sql after coming back
        ("recycled", "opportunity"): (0, 2),
        ("recycled", "customer"): (0, 2),
        ("not recycled", "sql"): (2, 7),  # a and h
        ("not recycled", "opportunity"): (1, 7),  # a
        ("not recycled", "customer"): (0, 7),
    }


def test_recycle_summary_date_range_is_on_the_first_handoff(con) -> None:
    """It counts leads whose first handoff is in the range (f g h d e from Jan 20)."""
    r = rejections.recycle_summary(con, flt.Filters(start=date(2024, 1, 20)))
    assert (r.mql_leads, r.recycled) == (5, 2)


def test_empty_database() -> None:
    """It returns empty frames and NaN rates, not exceptions, when there is no history."""
    c = build()
    assert rejections.disposition_mix(c, ALL).empty
    assert rejections.disposition_mix(c, ALL, by="score_band").empty
    assert rejections.reason_pareto(c, ALL).empty
    r = rejections.recycle_summary(c, ALL)
    assert (r.mql_leads, r.recycled) == (0, 0)
    assert math.isnan(r.recycle_rate) and math.isnan(r.return_rate)
    assert r.outcomes["n"].eq(0).all()


def test_unknown_breakdown_is_refused(con) -> None:
    """It says which breakdowns it accepts."""
    with pytest.raises(ValueError, match="unknown breakdown 'colour'"):
        rejections.disposition_mix(con, ALL, by="colour")


def test_periods_not_over_are_flagged() -> None:
    """By month, quarter or week, each period says whether the data covers it to its end.

    The latest fact is the 2024-02-14 12:00 disposition: January is over, February is not;
    the first quarter is not over; the week of 2024-02-05 (Mon) ended 2024-02-12, the week
    of 2024-02-12 has not.
    """
    con = build(
        {"x": mql_at("2024-01-10 10:00"), "y": mql_at("2024-02-06 10:00")},
        dispositions={
            "x": [("2024-01-20 10:00", "rejected", "no_budget")],
            "y": [("2024-02-07 10:00", "accepted"), ("2024-02-14 12:00", "rejected", "no_need")],
        },
    )
    by_month = rejections.disposition_mix(con, ALL, by="month").drop_duplicates("month")
    assert dict(zip(by_month["month"].dt.strftime("%m"), by_month["complete"], strict=True)) == {
        "01": True,
        "02": False,
    }
    by_quarter = rejections.disposition_mix(con, ALL, by="quarter")
    assert not by_quarter["complete"].any()
    by_week = rejections.disposition_mix(con, ALL, by="week").drop_duplicates("week")
    weeks = dict(zip(by_week["week"].dt.strftime("%m-%d"), by_week["complete"], strict=True))
    assert weeks == {"01-15": True, "02-05": True, "02-12": False}
    assert "complete" not in rejections.disposition_mix(con, ALL, by="source").columns
