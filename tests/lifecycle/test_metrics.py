"""Headline numbers: a small January worked by hand, per source, and as strict JSON."""

from __future__ import annotations

import json

import duckdb
import pytest

from analysis import filters as flt
from analysis.lifecycle import metrics
from tests.journeys import build

# Jan 8 2024 is a Monday. Policies: demo requests 15 wall-clock minutes, others 60
# business minutes. a: hot, answered in 10 min; b: 90 min (late); c: 20 min; d never an
# MQL; e created in January but handed off in February.
JOURNEYS = {
    "a": [("lead", "2024-01-02 09:00"), ("mql", "2024-01-08 10:00"), ("sql", "2024-01-09 10:00")],
    "b": [("lead", "2024-01-03 09:00"), ("mql", "2024-01-08 11:00")],
    "c": [("lead", "2024-01-04 09:00"), ("mql", "2024-01-08 12:00")],
    "d": [("lead", "2024-01-05 09:00")],
    "e": [("lead", "2024-01-20 09:00"), ("mql", "2024-02-01 10:00")],
}
LEADS = {
    "a": {"source": "webinar", "owner_rep_id": "R1"},
    "b": {"source": "webinar", "owner_rep_id": "R1"},
    "c": {"source": "ads", "owner_rep_id": "R2"},
    "d": {"source": "ads", "owner_rep_id": "R2"},
    "e": {"source": "ads", "owner_rep_id": "R2"},
}
ACTIVITIES = {
    "a": [("2024-01-08 10:10", "call")],
    "b": [("2024-01-08 12:30", "call")],
    "c": [("2024-01-08 12:20", "call")],
    "e": [("2024-02-01 10:30", "call")],
}
DISPOSITIONS = {
    "a": [("2024-01-09 10:00", "accepted")],
    "b": [("2024-01-09 11:00", "rejected", "no_budget")],
    "c": [("2024-01-10 11:00", "rejected", "no_need")],
    "e": [("2024-02-02 11:00", "rejected", "no_budget")],
}


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return build(
        JOURNEYS,
        leads=LEADS,
        reps={"R1": {"team": "Inbound"}, "R2": {"team": "Outbound"}},
        touches={"a": [("2024-01-08 09:50", "demo_request")]},
        activities=ACTIVITIES,
        dispositions=DISPOSITIONS,
        policies=[("hot", "demo_request", 15, False), ("standard", "default", 60, True)],
    )


def test_headline_january(con) -> None:
    """It reports volumes, conversions, SLA, response times and top reasons for January."""
    h = metrics.headline(con, "2024-01-01", "2024-01-31")
    assert (h["start"], h["end"], h["as_of"]) == ("2024-01-01", "2024-01-31", "2024-02-02T11:00:00")
    assert h["volumes"] == {"lead": 5, "mql": 3, "sql": 1, "opportunity": 0, "customer": 0}
    conv = {k: (v["k"], v["n"]) for k, v in h["conversions"].items()}
    # lead->mql: a b c e of the five January leads; mql->sql: a of the January MQLs a b c
    # lead->sql: a of the five January leads; mql->customer: none of a b c
    assert conv == {
        "lead_to_mql": (4, 5),
        "lead_to_sql": (1, 5),
        "lead_to_opportunity": (0, 5),
        "lead_to_customer": (0, 5),
        "mql_to_sql": (1, 3),
        "mql_to_opportunity": (0, 3),
        "mql_to_customer": (0, 3),
        "sql_to_opportunity": (0, 1),
        "sql_to_customer": (0, 1),
        "opportunity_to_customer": (0, 0),
    }
    assert h["conversions"]["opportunity_to_customer"]["rate"] is None
    assert h["conversions"]["lead_to_mql"]["low"] == pytest.approx(0.3755, abs=1e-4)
    tiers = {t["tier"]: (t["k"], t["n"], t["pending"], t["median_minutes"]) for t in h["sla"]}
    # standard on business minutes: c 20 (met), b 90 (late) -> median 55
    assert tiers == {"hot": (1, 1, 0, 10.0), "standard": (1, 2, 0, 55.0)}
    # responses 10, 20, 90: median 20, p90 at position 1.8 -> 20 + 0.8 * 70
    assert h["response_minutes"] == {
        "responded": 3,
        "median": 20.0,
        "p90": 76.0,
        "business_median": 20.0,
        "business_p90": 76.0,
    }
    assert h["top_rejection_reasons"] == [
        {"reason": "no_budget", "count": 1, "share": 0.5},
        {"reason": "no_need", "count": 1, "share": 0.5},
    ]


def test_headline_by_source(con) -> None:
    """It gives the same numbers per source, most leads first, adding up to the total."""
    h = metrics.headline(con, "2024-01-01", "2024-01-31", by="source")
    assert h["by"] == "source"
    assert [g["value"] for g in h["groups"]] == ["ads", "webinar"]
    ads, webinar = h["groups"]
    assert ads["volumes"] == {"lead": 3, "mql": 1, "sql": 0, "opportunity": 0, "customer": 0}
    assert (ads["conversions"]["lead_to_mql"]["k"], ads["conversions"]["lead_to_mql"]["n"]) == (
        2,
        3,
    )
    assert [(t["tier"], t["k"], t["n"]) for t in webinar["sla"]] == [
        ("hot", 1, 1),
        ("standard", 0, 1),
    ]
    assert webinar["response_minutes"]["median"] == 50.0  # 10 and 90
    assert [r["reason"] for r in ads["top_rejection_reasons"]] == ["no_need"]
    for stage, total in h["volumes"].items():
        assert sum(g["volumes"][stage] for g in h["groups"]) == total


def test_headline_applies_dimension_filters(con) -> None:
    """It narrows every number to the filtered leads and replaces their dates."""
    f = flt.Filters(start=None, end=None, teams=("Inbound",))
    h = metrics.headline(con, "2024-01-01", "2024-01-31", filters=f)
    assert h["volumes"]["lead"] == 2
    assert [r["reason"] for r in h["top_rejection_reasons"]] == ["no_budget"]


def test_headline_is_strict_json(con) -> None:
    """It holds only JSON values: no NaN, no numpy or pandas types."""
    for by in (None, "team"):
        h = metrics.headline(con, None, None, by=by)
        assert json.loads(json.dumps(h, allow_nan=False)) == h


def test_headline_of_an_empty_database() -> None:
    """It reports zeros and nulls, not an exception, when there is no history.

    An empty history has no sales activities either, so SLA is null with its reason.
    """
    h = metrics.headline(build(), "2024-01-01", "2024-01-31", by="source")
    assert h["volumes"]["lead"] == 0 and h["groups"] == [] and h["sla"] is None
    assert "no sales activities" in h["sla_reason"]
    assert h["conversions"]["mql_to_sql"] == {
        "from": "mql",
        "to": "sql",
        "k": 0,
        "n": 0,
        "rate": None,
        "low": None,
        "high": None,
    }
    json.dumps(h, allow_nan=False)


@pytest.mark.parametrize("by", ["colour", "score_band"])
def test_headline_refuses_unknown_breakdowns(con, by: str) -> None:
    """It says which breakdowns it accepts."""
    with pytest.raises(ValueError, match="by must be one of"):
        metrics.headline(con, None, None, by=by)
