"""The monthly review engine: health checks, planner, outcomes, changes and targets.

Hand-built databases use March 2024 as the review month (31 days; 2024-03-04 is a Monday)
unless a test says otherwise. The SLA policies are the defaults: hot (demo request) 15
minutes, standard 24 hours, both wall-clock.
"""

from __future__ import annotations

import math
from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis import filters as flt
from analysis import store
from analysis.imports import ingest
from analysis.lifecycle import funnel, metrics, review
from tests.journeys import build

MARCH = date(2024, 3, 1)
SETTINGS = review.ReviewSettings()


def add_targets(con: duckdb.DuckDBPyConnection, month: str, **values: float) -> None:
    """Insert targets for ``month`` (``YYYY-MM-DD``)."""
    for metric, value in values.items():
        con.execute("INSERT INTO targets VALUES (?, ?, ?)", [month, metric, value])


def add_opportunity(
    con: duckdb.DuckDBPyConnection,
    opp_id: str,
    lead: str,
    created: str,
    outcome: str,
    amount: float | None = None,
    closed: str | None = None,
) -> None:
    """Insert one opportunity row."""
    con.execute(
        "INSERT INTO opportunities VALUES (?, ?, ?, ?, ?, ?, NULL)",
        [opp_id, lead, created, amount, closed, outcome],
    )


def later_lead() -> dict:
    """A lead created in June 2024: moves the data's end past March + 30 days."""
    return {"late": [("lead", "2024-06-15 12:00")]}


def mqls_with_response(n: int, minutes: int, prefix: str, owner: str = "R1") -> tuple:
    """``n`` MQLs handed off 2024-03-04 09:00, each first called ``minutes`` later."""
    journeys, leads, acts = {}, {}, {}
    respond = pd.Timestamp("2024-03-04 09:00") + pd.Timedelta(minutes=minutes)
    for i in range(n):
        lead = f"{prefix}{i}"
        journeys[lead] = [("lead", "2024-03-01 08:00"), ("mql", "2024-03-04 09:00")]
        leads[lead] = {"owner_rep_id": owner}
        acts[lead] = [(respond.strftime("%Y-%m-%d %H:%M"), "call")]
    return journeys, leads, acts


# --------------------------------------------------------------------------------------
# Months
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03", date(2024, 3, 1)),
        ("2024-3", date(2024, 3, 1)),
        ("2024-03-17", date(2024, 3, 1)),
        (date(2024, 12, 31), date(2024, 12, 1)),
        (datetime(2024, 2, 29, 13, 0), date(2024, 2, 1)),
    ],
)
def test_parse_month(value, expected) -> None:
    """It reads YYYY-MM, an ISO date or a date as the first day of that month."""
    assert review.parse_month(value) == expected


@pytest.mark.parametrize("value", ["2024-13", "March", "", "2024/03"])
def test_parse_month_refuses_other_text(value) -> None:
    """It refuses text that is not a month and says what it expected."""
    with pytest.raises(ValueError, match="YYYY-MM"):
        review.parse_month(value)


def test_month_arithmetic() -> None:
    """Months add across year ends and month_end is the last calendar day."""
    assert review.add_months(date(2024, 11, 1), 3) == date(2025, 2, 1)
    assert review.add_months(date(2024, 1, 1), -1) == date(2023, 12, 1)
    assert review.month_end(date(2024, 2, 1)) == date(2024, 2, 29)


def test_settings_refuse_impossible_thresholds() -> None:
    """A share threshold outside 0-1 is refused with the value that arrived."""
    with pytest.raises(ValueError, match="got 85"):
        review.ReviewSettings(sla_min_compliance=85)


# --------------------------------------------------------------------------------------
# Health check: MQLs not contacted within SLA
# --------------------------------------------------------------------------------------


def sla_con(slow: int, fast: int) -> duckdb.DuckDBPyConnection:
    """``slow`` MQLs of team Slow answered after 2 days, ``fast`` of team Fast in 10 min."""
    j1, l1, a1 = mqls_with_response(slow, 2 * 1440, "s", owner="R1")
    j2, l2, a2 = mqls_with_response(fast, 10, "f", owner="R2")
    con = build(
        {**j1, **j2, **later_lead()},
        leads={**l1, **l2},
        reps={"R1": {"team": "Slow"}, "R2": {"team": "Fast"}},
        activities={**a1, **a2},
    )
    add_targets(con, "2024-03-01", pct_contacted_in_sla=0.8)
    return con


def test_sla_check_fires_when_compliance_is_clearly_below_target() -> None:
    """0 of 10 within SLA: the whole interval (0-27.8%) is under the 80% target."""
    con = sla_con(slow=10, fast=0)
    check = review.health_checks(con, MARCH)[0]
    assert check.key == "sla" and check.fired and check.assessed
    assert check.threshold == 0.8
    ev = {e.label: e.value for e in check.evidence}
    assert (ev["contacted within SLA"], ev["decided handoffs"]) == (0, 10)
    assert ev["worst team"] == "Slow"
    assert "0 of 10" in check.finding and "Slow" in check.finding


def test_sla_check_is_silent_when_everyone_is_answered_in_time() -> None:
    """10 of 10 answered in 10 minutes (target 24 hours): healthy."""
    check = review.health_checks(sla_con(slow=0, fast=10), MARCH)[0]
    assert check.assessed and not check.fired


def test_sla_check_ignores_a_shortfall_within_noise_unless_told() -> None:
    """7 of 10 = 70% < 80%, but the 95% interval (39.7%-89.2%) contains 80%.

    With ``beyond_noise`` (default) the check stays silent; without it, it fires.
    """
    con = sla_con(slow=3, fast=7)
    assert not review.health_checks(con, MARCH)[0].fired
    strict = review.ReviewSettings(beyond_noise=False)
    assert review.health_checks(con, MARCH, strict)[0].fired


def test_sla_check_floor_from_settings_wins_over_the_target() -> None:
    """A 50% floor in the settings replaces the 80% target: 7 of 10 is then healthy."""
    con = sla_con(slow=3, fast=7)
    check = review.health_checks(
        con, MARCH, review.ReviewSettings(sla_min_compliance=0.5, beyond_noise=False)
    )[0]
    assert check.threshold == 0.5 and not check.fired


def test_sla_check_default_floor_without_a_target() -> None:
    """Without a target or setting, the floor is the documented default, 80%."""
    j, lds, acts = mqls_with_response(4, 10, "x")
    con = build({**j, **later_lead()}, leads=lds, reps={"R1": {}}, activities=acts)
    check = review.health_checks(con, MARCH)[0]
    assert check.threshold == review.DEFAULT_SLA_COMPLIANCE == 0.8


# --------------------------------------------------------------------------------------
# Health check: MQLs not sales-ready
# --------------------------------------------------------------------------------------


def conversion_con(to_sql: int, mqls: int = 10, end_event: str = "2024-06-15 12:00"):
    """``mqls`` March MQLs, ``to_sql`` of them SQL 5 days later; targets imply 60%."""
    journeys = {}
    for i in range(mqls):
        events = [("lead", "2024-03-01 08:00"), ("mql", "2024-03-05 09:00")]
        if i < to_sql:
            events.append(("sql", "2024-03-10 09:00"))
        journeys[f"m{i}"] = events
    journeys["late"] = [("lead", end_event)]
    con = build(journeys)
    add_targets(con, "2024-03-01", mqls=10, sqls=6)  # floor 6 / 10 = 60%
    return con


def test_not_sales_ready_fires_on_low_mql_to_sql() -> None:
    """1 of 10 MQLs became SQL within 30 days (interval high 40.4%) against a 60% floor."""
    check = review.health_checks(conversion_con(to_sql=1), MARCH)[1]
    assert check.key == "not_sales_ready"
    assert check.threshold == pytest.approx(0.6)
    assert check.fired
    assert "1 of 10" in check.finding


def test_not_sales_ready_is_silent_when_conversion_meets_target() -> None:
    """8 of 10 became SQL: above the 60% floor, and no dispositions at all."""
    check = review.health_checks(conversion_con(to_sql=8), MARCH)[1]
    assert not check.fired and check.assessed


def test_not_sales_ready_waits_for_a_mature_cohort() -> None:
    """With data only to 2024-04-10, March MQLs have not all had 30 days: not judged."""
    check = review.health_checks(conversion_con(to_sql=1, end_event="2024-04-10 12:00"), MARCH)[1]
    assert not check.fired
    assert "not judged" in check.finding


def rejection_con(rejected_now: int) -> duckdb.DuckDBPyConnection:
    """Baseline Dec-Feb: 20 decisions, 2 rejected; March: 10, ``rejected_now`` rejected."""
    journeys, disp = {}, {}
    for i in range(20):
        month = ("2023-12", "2024-01", "2024-02")[i % 3]
        journeys[f"b{i}"] = [("lead", f"{month}-01 08:00"), ("mql", f"{month}-05 09:00")]
        disp[f"b{i}"] = [(f"{month}-06 09:00", "rejected" if i < 2 else "accepted", "no_budget")]
    for i in range(10):
        journeys[f"n{i}"] = [("lead", "2024-03-01 08:00"), ("mql", "2024-03-05 09:00")]
        disp[f"n{i}"] = [("2024-03-06 09:00", "rejected" if i < rejected_now else "accepted")]
    journeys.update(later_lead())
    return build(journeys, dispositions=disp)


def test_not_sales_ready_fires_when_rejections_rise_significantly() -> None:
    """Rejection share 8/10 against 2/20 before: pooled z-test p < 0.001, so it fires.

    No SQL/MQL targets exist, so only the rejection part can fire.
    """
    check = review.health_checks(rejection_con(rejected_now=8), MARCH)[1]
    ev = {e.label: e.value for e in check.evidence}
    assert ev["rejection share"] == pytest.approx(0.8)
    assert ev["baseline share (previous 3 months)"] == pytest.approx(0.1)
    assert ev["p-value of the rise"] < 0.001
    assert check.threshold is None
    assert check.fired


def test_not_sales_ready_is_silent_when_rejections_hold_steady() -> None:
    """1/10 now against 2/20 before: the same share, no fire."""
    assert not review.health_checks(rejection_con(rejected_now=1), MARCH)[1].fired


# --------------------------------------------------------------------------------------
# Health checks: not enough / too many MQLs
# --------------------------------------------------------------------------------------


def volume_con(mqls: int, end: str = "2024-06-15 12:00", day: str = "2024-03-04"):
    """``mqls`` MQLs owned by two SDRs (capacity 2 each) and an AE; MQL target 10."""
    journeys, leads = {}, {}
    for i in range(mqls):
        journeys[f"v{i}"] = [("lead", f"{day} 08:00"), ("mql", f"{day} 09:00")]
        leads[f"v{i}"] = {"owner_rep_id": "S1" if i % 2 == 0 else "S2"}
    journeys["late"] = [("lead", end)]
    con = build(
        journeys,
        leads=leads,
        reps={
            "S1": {"role": "sdr", "capacity": 2, "name": "First SDR"},
            "S2": {"role": "sdr", "capacity": 2, "name": "Second SDR"},
            "A1": {"role": "ae", "capacity": 100},
        },
    )
    add_targets(con, "2024-03-01", mqls=10)
    return con


@pytest.mark.parametrize(("mqls", "fired"), [(8, True), (9, False), (12, False)])
def test_not_enough_mqls(mqls: int, fired: bool) -> None:
    """Floor = 90% of the target 10 = 9: 8 fires, 9 (not below 9) and 12 do not."""
    check = review.health_checks(volume_con(mqls), MARCH)[2]
    assert check.key == "too_few_mqls"
    assert check.threshold == pytest.approx(9.0)
    assert check.fired is fired


@pytest.mark.parametrize(("mqls", "fired"), [(4, True), (5, False)])
def test_not_enough_mqls_pro_rates_a_month_in_progress(mqls: int, fired: bool) -> None:
    """Data to 2024-03-16 12:00 = 15.5 of 31 days = half of March: target 10 -> 5 due.

    The floor is 90% of 5 = 4.5, so 4 MQLs fire and 5 do not.
    """
    con = volume_con(mqls, end="2024-03-16 12:00")
    check = review.health_checks(con, MARCH)[2]
    assert check.threshold == pytest.approx(4.5)
    assert check.fired is fired


def test_not_enough_mqls_needs_a_target() -> None:
    """Without an MQL target the check is not assessed and cannot fire."""
    con = volume_con(3)
    con.execute("DELETE FROM targets")
    check = review.health_checks(con, MARCH)[2]
    assert not check.assessed and not check.fired


@pytest.mark.parametrize(("mqls", "fired"), [(5, True), (4, False)])
def test_too_many_mqls_against_sdr_capacity(mqls: int, fired: bool) -> None:
    """Two SDRs with capacity 2 can work 4 a month (the AE's 100 does not count).

    5 handoffs exceed 4 and fire; 4 do not. With 5, the first SDR has 3 (over 2).
    """
    check = review.health_checks(volume_con(mqls), MARCH)[3]
    assert check.key == "too_many_mqls"
    assert check.threshold == pytest.approx(4.0)
    assert check.fired is fired
    if fired:
        assert "First SDR (3 for 2)" in check.finding


def test_too_many_needs_capacities() -> None:
    """Reps without a capacity: not assessed."""
    con = volume_con(5)
    con.execute("UPDATE reps SET capacity = NULL")
    check = review.health_checks(con, MARCH)[3]
    assert not check.assessed and not check.fired


# --------------------------------------------------------------------------------------
# Reverse-funnel planner
# --------------------------------------------------------------------------------------

RATES = {
    "win_rate": (0.25, 0.2, 0.5),
    "sql_to_opportunity": (0.5, 0.4, 0.625),
    "mql_to_sql": (0.4, 0.25, 0.5),
    "lead_to_mql": (0.1, 0.08, 0.125),
}


def test_reverse_funnel_arithmetic() -> None:
    """Goal 100,000 at 10,000 a deal = 10 deals; / 0.25 = 40 opportunities; / 0.5 = 80
    SQLs; / 0.4 = 200 MQLs; / 0.1 = 2,000 leads.

    Low (every rate at its high bound): 10, 10/0.5 = 20, 20/0.625 = 32, 32/0.5 = 64,
    64/0.125 = 512. High (low bounds): 10, 50, 125, 500, 6,250.
    """
    out = review.reverse_funnel(100_000, 10_000, RATES).set_index("stage")
    assert list(out.index) == ["deals_won", "opportunities", "sqls", "mqls", "leads"]
    assert out["needed"].tolist() == pytest.approx([10, 40, 80, 200, 2000])
    assert out["low"].tolist() == pytest.approx([10, 20, 32, 64, 512])
    assert out["high"].tolist() == pytest.approx([10, 50, 125, 500, 6250])


def test_reverse_funnel_zero_rate_needs_infinitely_many() -> None:
    """A step nobody converted on makes the earlier stages impossible to size: inf.

    The low estimate still uses the rate's high bound: 32 SQLs (as above) / 0.3.
    """
    rates = {**RATES, "mql_to_sql": (0.0, 0.0, 0.3)}
    out = review.reverse_funnel(100_000, 10_000, rates).set_index("stage")
    assert math.isinf(out.loc["mqls", "needed"]) and math.isinf(out.loc["leads", "high"])
    assert out.loc["mqls", "low"] == pytest.approx(32 / 0.3)


def test_reverse_funnel_refuses_a_negative_goal() -> None:
    """It says what it expected."""
    with pytest.raises(ValueError, match="revenue_goal"):
        review.reverse_funnel(-1, 10_000, RATES)


def test_planner_window_skips_immature_months() -> None:
    """As of 2024-06-20, June and May cohorts have not had 30 days since their month
    ended (July 1, June 1 + 30 days = July 1 > June 20); April has (May 31 <= June 20).
    A 3-month window then covers February to April.
    """
    first, last = review.planner_window(date(2024, 6, 1), 3, datetime(2024, 6, 20), 30)
    assert (first, last) == (date(2024, 2, 1), date(2024, 4, 1))


def plan_con() -> duckdb.DuckDBPyConnection:
    """January 2024: 10 leads, 5 MQLs, 4 SQLs, 4 opportunities; 2 won (10k, 30k), 2 lost."""
    journeys = {}
    for i in range(10):
        events = [("lead", "2024-01-02 08:00")]
        if i < 5:
            events.append(("mql", "2024-01-03 09:00"))
        if i < 4:
            events += [("sql", "2024-01-04 09:00"), ("opportunity", "2024-01-05 09:00")]
        journeys[f"p{i}"] = events
    journeys.update(later_lead())
    con = build(journeys)
    add_opportunity(con, "o0", "p0", "2024-01-05 09:00", "won", 10_000, "2024-02-10 09:00")
    add_opportunity(con, "o1", "p1", "2024-01-05 09:00", "won", 30_000, "2024-02-11 09:00")
    add_opportunity(con, "o2", "p2", "2024-01-05 09:00", "lost", 5_000, "2024-02-12 09:00")
    add_opportunity(con, "o3", "p3", "2024-01-05 09:00", "lost", None, "2024-02-13 09:00")
    return con


def test_plan_on_a_small_history() -> None:
    """Window Jan-Mar 2024 (mature by June): win 2/4, SQL->opp 4/4, MQL->SQL 4/5,
    lead->MQL 5/10, average won amount (10k + 30k) / 2 = 20k.

    Goal 40,000: 2 deals, 2/0.5 = 4 opportunities, 4/1 = 4 SQLs, 4/0.8 = 5 MQLs,
    5/0.5 = 10 leads. March had no volume, so every gap is minus the need.
    """
    p = review.plan(plan_con(), "2024-03", revenue_goal=40_000, trailing_months=3)
    assert (p.window_first, p.window_last) == (date(2024, 1, 1), date(2024, 3, 1))
    assert p.avg_won_amount == pytest.approx(20_000) and p.won_deals == 2
    rates = p.rates.set_index("step")
    assert rates.loc["win_rate", ["k", "n"]].tolist() == [2, 4]
    assert rates.loc["lead_to_mql", ["k", "n"]].tolist() == [5, 10]
    needed = p.needed.set_index("stage")
    assert needed["needed"].tolist() == pytest.approx([2, 4, 4, 5, 10])
    assert needed["gap"].tolist() == pytest.approx([-2, -4, -4, -5, -10])
    assert p.goal_source == "input"


def test_plan_goal_defaults_to_the_months_target() -> None:
    """Without an input goal the month's won_revenue target is used."""
    con = plan_con()
    add_targets(con, "2024-03-01", won_revenue=60_000)
    p = review.plan(con, "2024-03", trailing_months=3)
    assert p.revenue_goal == 60_000 and p.goal_source == "target"
    assert p.needed.set_index("stage").loc["deals_won", "needed"] == pytest.approx(3)


# --------------------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------------------


def status_con() -> duckdb.DuckDBPyConnection:
    """Nine January MQLs with every kind of fate, plus one February MQL."""
    mql = [("lead", "2024-01-02 08:00"), ("mql", "2024-01-03 09:00")]
    opp = [*mql, ("sql", "2024-01-04 09:00"), ("opportunity", "2024-01-05 09:00")]
    con = build(
        {
            "waiting": mql,
            "accepted": [*mql, ("sql", "2024-01-04 09:00")],
            "open_deal": opp,
            "won_deal": [*opp, ("customer", "2024-02-01 09:00")],
            "lost_deal": opp,
            "rejected": mql,
            "nurtured": mql,
            "recycled": [*mql, ("nurture", "2024-01-10 09:00"), ("mql", "2024-02-10 09:00")],
            "disqualified": [*mql, ("disqualified", "2024-01-06 09:00")],
            "february": [("lead", "2024-02-01 08:00"), ("mql", "2024-02-02 09:00")],
        },
        dispositions={
            "rejected": [("2024-01-04 09:00", "rejected", "no_need")],
            "nurtured": [("2024-01-04 09:00", "nurture", "bad_timing")],
            "recycled": [("2024-01-10 09:00", "nurture", "bad_timing")],
        },
    )
    add_opportunity(con, "o1", "open_deal", "2024-01-05 09:00", "open")
    add_opportunity(con, "o2", "won_deal", "2024-01-05 09:00", "won", 1000, "2024-02-01 09:00")
    add_opportunity(con, "o3", "lost_deal", "2024-01-05 09:00", "lost", 1000, "2024-02-01 09:00")
    return con


def test_pipeline_status_of_the_months_mqls() -> None:
    """Each January MQL gets one status; the recycled lead is an MQL again; February's
    MQL is not counted. Total 9 = January's MQL volume in the headline.
    """
    con = status_con()
    got = review.pipeline_status(con, "2024-01").set_index("status")["leads"].to_dict()
    assert got == {
        "mql": 2,  # waiting, recycled
        "sql": 1,
        "opportunity": 1,
        "won": 1,
        "lost": 1,
        "rejected": 2,  # rejected disposition, disqualified stage
        "nurture": 1,
    }
    head = metrics.headline(con, "2024-01-01", "2024-01-31")
    assert sum(got.values()) == head["volumes"]["mql"] == 9


def test_statuses_the_history_cannot_record_are_left_out_not_zero() -> None:
    """The undated export (10 May MQLs, 4 won) records no lost deals and no dispositions:
    lost, rejected and nurture would read 0 only because nothing records them, so they are
    left out with their reasons; still MQL 6 and won 4 stay, and so do SQL and open
    opportunity (0, but this history records stages). Where every kind is recorded
    (status_con), nothing is left out.
    """
    from analysis.lifecycle import measurable
    from tests.lifecycle import exports

    con = exports.undated()
    avail = measurable.availability(con)
    shown, notes = review.recorded_statuses(review.pipeline_status(con, "2024-05"), avail)
    assert shown.set_index("status")["leads"].to_dict() == {
        "mql": 6,
        "sql": 0,
        "opportunity": 0,
        "won": 4,
    }
    assert notes == [
        f"Not measurable: lost: {avail.win_rate.reason}",
        f"Not measurable: rejected and nurture: {avail.rejections.reason}",
    ]
    # a disqualified stage change records a rejection without any disposition: it stays
    con = build(
        {
            "a": [("lead", "2024-01-02 08:00"), ("mql", "2024-01-03 09:00")],
            "b": [("mql", "2024-01-03 09:00"), ("disqualified", "2024-01-04 09:00")],
        }
    )
    avail = measurable.availability(con)
    assert not avail.rejections.measurable
    shown, notes = review.recorded_statuses(review.pipeline_status(con, "2024-01"), avail)
    assert shown.set_index("status")["leads"].to_dict()["rejected"] == 1
    assert "nurture" not in set(shown["status"]) and "nurture" in notes[-1]
    con = status_con()
    status = review.pipeline_status(con, "2024-01")
    shown, notes = review.recorded_statuses(status, measurable.availability(con))
    assert shown.equals(status) and notes == []


def test_closed_deals_per_month() -> None:
    """February 2024: 2 won (10k + 30k), 2 lost (one without an amount); win rate 50%."""
    deals = review.closed_deals(plan_con(), date(2024, 1, 1), date(2024, 2, 1))
    jan, feb = deals.iloc[0], deals.iloc[1]
    assert (jan["won"], jan["lost"], jan["won_revenue"]) == (0, 0, 0.0)
    assert (feb["won"], feb["lost"], feb["won_revenue"]) == (2, 2, 40_000.0)
    assert feb["avg_won_amount"] == 20_000.0 and feb["win_rate"] == 0.5


def test_reason_changes_flag_a_significant_shift() -> None:
    """no_budget: 2 of 10 rejections in February, 8 of 10 in March.

    Pooled test: p = 0.5, se = sqrt(0.25 * 0.2) = 0.2236, z = 0.6 / 0.2236 = 2.68,
    two-sided p = 0.0073: up, significant. "other" moves the opposite way.
    """
    journeys, disp = {}, {}
    for month in ("2024-02", "2024-03"):
        for i in range(10):
            lead = f"{month}-{i}"
            journeys[lead] = [("lead", f"{month}-01 08:00"), ("mql", f"{month}-02 09:00")]
            budget = i < 2 if month == "2024-02" else i < 8
            disp[lead] = [(f"{month}-03 09:00", "rejected", "no_budget" if budget else "other")]
    out = review.reason_changes(build(journeys, dispositions=disp), "2024-03").set_index("reason")
    nb = out.loc["no_budget"]
    assert (nb["count"], nb["prev_count"]) == (8, 2)
    assert nb["change"] == pytest.approx(0.6)
    assert nb["p_value"] == pytest.approx(0.0073, abs=2e-4)
    assert nb["direction"] == "up" and out.loc["other", "direction"] == "down"


def test_what_changed_calls_out_only_distinguishable_changes() -> None:
    """SLA: February 10/10 within target, March 0/10: p < 0.001, verdict down.

    Cohort rates are not comparable while March MQLs are younger than 30 days; with no
    dispositions at all the acceptance row says "not measurable".
    """
    journeys, acts = {}, {}
    for month, minutes in (("2024-02", 10), ("2024-03", 3000)):
        for i in range(10):
            lead = f"{month}-{i}"
            journeys[lead] = [("lead", f"{month}-01 08:00"), ("mql", f"{month}-05 09:00")]
            at = pd.Timestamp(f"{month}-05 09:00") + pd.Timedelta(minutes=minutes)
            acts[lead] = [(at.strftime("%Y-%m-%d %H:%M"), "call")]
    con = build(journeys, activities=acts)
    out = review.what_changed(con, "2024-03").set_index("key")
    s = out.loc["sla_compliance"]
    assert (s["k"], s["n"], s["prev_k"], s["prev_n"]) == (0, 10, 10, 10)
    assert s["significant"] and s["verdict"] == "down" and s["p_value"] < 0.001
    assert out.loc["mql_to_sql", "verdict"] == "not comparable yet"
    # the history has no dispositions at all: not measurable, not "no data"
    assert out.loc["acceptance", "verdict"] == "not measurable"


# --------------------------------------------------------------------------------------
# Goals vs actuals and targets
# --------------------------------------------------------------------------------------


def test_goals_table_uses_headline_volumes_and_targets() -> None:
    """March: 8 MQLs against a target of 10 = 80%; leads 9 (8 + the late lead is June)."""
    con = volume_con(8)
    add_targets(con, "2024-03-01", leads=16)
    r = review.build_review(con, "2024-03")
    goals = r.goals.set_index("metric")
    assert goals.loc["mqls", ["actual", "target"]].tolist() == [8, 10]
    assert goals.loc["mqls", "pct_of_target"] == pytest.approx(0.8)
    assert goals.loc["leads", "pct_of_target"] == pytest.approx(0.5)
    assert math.isnan(goals.loc["sqls", "target"])
    assert r.headline == metrics.headline(con, "2024-03-01", "2024-03-31")


@pytest.fixture()
def db_file(tmp_path):
    """A database file with one lead in March 2024 (targets are written to it)."""
    path = tmp_path / "t.duckdb"
    with store.write_session(path, create=True) as con:
        con.execute("INSERT INTO leads (lead_id, created_at) VALUES ('a', '2024-03-02 10:00')")
    return path


def read_targets(path) -> pd.DataFrame:
    con = store.connect_read_only(path)
    try:
        return review.load_targets(con)
    finally:
        con.close()


def test_set_targets_upserts_on_month_and_metric(db_file) -> None:
    """Setting a target twice keeps one row with the latest value; months are normalised."""
    review.set_targets(db_file, [{"month": "2024-03", "metric": "mqls", "value": 50}])
    result = review.set_targets(
        db_file,
        pd.DataFrame(
            {"month": ["2024-03-15", "2024-04"], "metric": ["mqls", "leads"], "value": [60, 300]}
        ),
    )
    assert result == review.TargetsWrite(upserted=2, deleted=0)
    got = read_targets(db_file)
    assert got.to_dict("records") == [
        {"month": pd.Timestamp("2024-03-01"), "metric": "mqls", "value": 60.0},
        {"month": pd.Timestamp("2024-04-01"), "metric": "leads", "value": 300.0},
    ]


def test_set_targets_empty_value_removes_the_target(db_file) -> None:
    """A NaN value deletes that month's target for the metric (and only that one)."""
    review.set_targets(
        db_file,
        [
            {"month": "2024-03", "metric": "mqls", "value": 50},
            {"month": "2024-03", "metric": "sqls", "value": 20},
        ],
    )
    result = review.set_targets(db_file, [{"month": "2024-03", "metric": "mqls", "value": None}])
    assert result.deleted == 1
    assert read_targets(db_file)["metric"].tolist() == ["sqls"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"month": "2024-03", "metric": "mql", "value": 5}, "metric must be one of"),
        ({"month": "2024-03", "metric": "mqls", "value": -5}, ">= 0"),
        ({"month": "2024-03", "metric": "pct_contacted_in_sla", "value": 85}, "between 0 and 1"),
        ({"month": "March", "metric": "mqls", "value": 5}, "YYYY-MM"),
        ({"month": "2024-03", "metric": "mqls", "value": "many"}, "must be a number"),
    ],
)
def test_set_targets_refuses_a_bad_row_and_writes_nothing(db_file, row, message) -> None:
    """One bad row stops the batch before anything is written; the file is unchanged."""
    before = db_file.read_bytes()
    good = {"month": "2024-03", "metric": "leads", "value": 10}
    with pytest.raises(ValueError, match=message):
        review.set_targets(db_file, [good, row])
    assert db_file.read_bytes() == before


def test_targets_imported_from_csv_are_read_by_the_review(db_file, tmp_path) -> None:
    """A targets CSV goes through the import; the review reads its rows per month."""
    csv = tmp_path / "goals.csv"
    csv.write_text("month,metric,value\n2024-03-01,mqls,40\n2024-03-01,won_revenue,90000\n")
    result = ingest.import_files(db_file, [csv], table="targets")
    assert result.accepted == {"targets": 2}
    grid = None
    con = store.connect_read_only(db_file)
    try:
        grid = review.targets_grid(con, date(2024, 2, 1), date(2024, 3, 1))
    finally:
        con.close()
    assert grid["month"].tolist() == ["2024-02", "2024-03"]
    assert grid.loc[1, "mqls"] == 40 and grid.loc[1, "won_revenue"] == 90_000
    assert math.isnan(grid.loc[0, "mqls"])


# --------------------------------------------------------------------------------------
# On the generated demo history
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_con(demo_db):
    con = store.connect_read_only(demo_db)
    yield con
    con.close()


def test_planted_breach_months_raise_the_sla_check(demo_con, demo_truth) -> None:
    """Every planted breach month fires the SLA check and names the breach team as the
    lowest; at least one month outside the breach stays silent (the check does not fire
    everywhere).
    """
    breach = demo_truth["sla_breach"]
    as_of = flt.data_as_of(demo_con)
    silent = []
    for month in review.available_months(demo_con):
        targets = review.load_targets(demo_con, month, month)
        check = review.check_sla(demo_con, month, targets, SETTINGS, as_of)
        if month.strftime("%Y-%m") in breach["months"]:
            ev = {e.label: e.value for e in check.evidence}
            assert check.fired, (month, check.finding)
            assert ev["worst team"] == breach["team"], (month, check.finding)
        elif not check.fired:
            silent.append(month)
    assert silent


def test_demo_review_is_consistent_with_the_engine(demo_con, demo_truth) -> None:
    """On the demo's last month: goal actuals are the headline's volumes, the MQL statuses
    add up to the month's MQLs, and the planner rates are step_conversions of its window.
    """
    month = review.parse_month(demo_truth["end"])
    r = review.build_review(demo_con, month)
    head = metrics.headline(demo_con, r.first, r.last)
    goals = r.goals.set_index("metric")["actual"]
    for metric, stage in (("leads", "lead"), ("mqls", "mql"), ("opportunities", "opportunity")):
        assert goals[metric] == head["volumes"][stage]
    assert r.status["leads"].sum() == head["volumes"]["mql"]
    steps = funnel.step_conversions(
        demo_con,
        review.month_filters(r.plan.window_first, r.plan.window_last),
        steps=(("mql", "sql"),),
    )
    rate = r.plan.rates.set_index("step").loc["mql_to_sql"]
    assert (rate["k"], rate["n"]) == (steps["k"].iloc[0], steps["n"].iloc[0])
    assert len(r.checks) == 4 and [c.key for c in r.checks] == [
        "sla",
        "not_sales_ready",
        "too_few_mqls",
        "too_many_mqls",
    ]


def test_pending_target_changes_lists_only_edited_cells() -> None:
    """Two months x seven goals: setting November's leads to 500 and clearing December's
    MQL target (600) gives exactly those two rows (the cleared one with NaN); the long
    template has 2 x 7 = 14 rows with first-of-month dates.
    """
    before = pd.DataFrame({"month": ["2024-11", "2024-12"]})
    for g in review.GOALS:
        before[g.metric] = np.nan
    before.loc[1, "mqls"] = 600.0
    after = before.copy()
    after.loc[0, "leads"] = 500.0
    after.loc[1, "mqls"] = np.nan
    got = review.pending_target_changes(before, after)
    assert list(zip(got["month"], got["metric"], strict=True)) == [
        ("2024-11", "leads"),
        ("2024-12", "mqls"),
    ]
    assert got["value"].iloc[0] == 500.0 and np.isnan(got["value"].iloc[1])
    long = review.targets_long(before)
    assert len(long) == 14 and set(long["month"]) == {"2024-11-01", "2024-12-01"}
