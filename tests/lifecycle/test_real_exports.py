"""The engine on histories shaped like real exports: numbers right, or "not measurable".

The fixtures and their rows are in :mod:`tests.lifecycle.exports`; the arithmetic of
every expected number is in the comments here.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from analysis import filters as flt
from analysis.lifecycle import deals, funnel, measurable, metrics, review
from tests.lifecycle import exports


@pytest.fixture(scope="module")
def market():
    return exports.marketplace()


@pytest.fixture(scope="module")
def undated():
    return exports.undated()


@pytest.fixture(scope="module")
def pipeline():
    return exports.pipeline()


# --------------------------------------------------------------------------------------
# (a) MQL list + won deals
# --------------------------------------------------------------------------------------


def test_marketplace_says_what_it_cannot_measure(market) -> None:
    """No activities, dispositions, amounts, lost deals, targets or capacities: each of
    those is not measurable with its reason; dates, deals and handoffs are measurable.
    """
    a = measurable.availability(market)
    assert a.funnel_start == "mql"  # every lead has an mql entry
    gaps = a.reasons()
    assert set(gaps) == {"sla", "rejections", "revenue", "goals", "win_rate", "capacity"}
    assert "no sales activities" in gaps["sla"] and "Import sales_activities" in gaps["sla"]
    assert a.dates.measurable and a.open_deals.measurable and a.handoffs.measurable


def test_marketplace_headline(market) -> None:
    """Volumes, every conversion, won deals and the sales cycle, by hand:

    mql 6 (m1..m6); sql = opportunity = customer = 3 (m1, m2, m4: the won deals imply the
    skipped stages). MQL -> customer 3 of 6. Won 3 although no lost deal exists (the win
    rate is null, not 100%). Sales cycle MQL -> customer: m1 Jan 10 -> Feb 15 12:00 =
    36.5 days, m2 Jan 20 -> Mar 5 = 11 + 29 + 5 = 45 days, m4 won two days before its
    creation: its MQL entry is the won time (skip rule), 0 days. Median 36.5, p90 =
    36.5 + 0.8 * (45 - 36.5) = 43.3.
    """
    h = metrics.headline(market, None, None)
    reason = h["volumes"].pop("lead_reason")
    assert h["volumes"] == {"lead": None, "mql": 6, "sql": 3, "opportunity": 3, "customer": 3}
    assert "starts at the mql stage" in reason
    c = h["conversions"]["mql_to_customer"]
    assert (c["k"], c["n"], c["rate"]) == (3, 6, 0.5)
    assert c["low"] == pytest.approx(0.1876, abs=1e-4) and c["high"] == pytest.approx(
        0.8124, abs=1e-4
    )
    assert h["conversions"]["lead_to_mql"] is None and h["conversions"]["lead_to_mql_reason"]
    assert h["won"] == 3
    assert h["win_rate"] is None and "no lost deals" in h["win_rate_reason"]
    assert h["won_amount"] is None and "no deal amounts" in h["won_amount_reason"]
    assert h["open_deals"] == 0  # measured: every deal in the file is won
    assert h["sales_cycle"]["n"] == 3
    assert h["sales_cycle"]["median_days"] == pytest.approx(36.5)
    assert h["sales_cycle"]["p90_days"] == pytest.approx(43.3)
    assert h["sla"] is None and "no sales activities" in h["sla_reason"]
    assert h["response_minutes"] is None
    assert h["top_rejection_reasons"] is None and h["top_rejection_reasons_reason"]
    json.dumps(h, allow_nan=False)


def test_marketplace_keeps_blank_and_literal_unknown_apart(market) -> None:
    """By source: organic m1 m4, unknown (the literal label) m2, (not set) m3 m5, paid m6.

    Filtering on ``(not set)`` keeps exactly the two blank-source MQLs.
    """
    h = metrics.headline(market, None, None, by="source")
    got = {g["value"]: (g["volumes"]["mql"], g["won"]) for g in h["groups"]}
    assert got == {"organic": (2, 2), "(not set)": (2, 0), "unknown": (1, 1), "paid": (1, 0)}
    blank = funnel.stage_conversion(market, flt.Filters(sources=("(not set)",)), base_stage="mql")
    assert int(blank.loc[blank["stage"] == "mql", "reached"].iloc[0]) == 2


def test_marketplace_february(market) -> None:
    """February 2024: MQL entries m3 (Feb 3) and m4 (Feb 8 14:00: its won time, before its
    Feb 10 creation) = 2; won in February: m1 (Feb 15) and m4 (Feb 8) = 2.
    """
    h = metrics.headline(market, "2024-02-01", "2024-02-29")
    assert h["volumes"]["mql"] == 2 and h["won"] == 2
    monthly = deals.closed_deals(market, date(2024, 1, 1), date(2024, 3, 1)).set_index("month")
    # January nothing won; March m2 (Mar 5)
    assert monthly["won"].tolist() == [0, 2, 1] and monthly["lost"].sum() == 0


def test_marketplace_review_counts_won_deals_without_amounts(market) -> None:
    """The review opens on February (March is immature: the data ends on Mar 15), counts
    2 deals won, and marks won revenue and SLA compliance not measurable (NaN, not 0).
    """
    assert review.default_month(market) == date(2024, 2, 1)
    r = review.build_review(market, "2024-02")
    goals = r.goals.set_index("metric")
    assert goals.loc["deals_won", "actual"] == 2
    assert not goals.loc["won_revenue", "measurable"]
    assert goals.loc["won_revenue", "actual"] != goals.loc["won_revenue", "actual"]  # NaN
    assert not goals.loc["pct_contacted_in_sla", "measurable"]
    checks = {c.key: c for c in r.checks}
    assert not checks["sla"].assessed and "Not measurable" in checks["sla"].finding
    changes = r.changes.set_index("key")
    assert changes.loc["sla_compliance", "verdict"] == "not measurable"
    assert changes.loc["acceptance", "verdict"] == "not measurable"
    assert changes.loc["win_rate", "verdict"] == "not measurable"
    assert "no deal amounts" in r.plan.reason
    table = r.funnel.set_index("stage")
    assert not table.loc["lead", "measurable"] and table.loc["mql", "entered"] == 2


# --------------------------------------------------------------------------------------
# (b) undated export with a converted flag
# --------------------------------------------------------------------------------------


def test_undated_counts_what_needs_no_date(undated) -> None:
    """Ten handed-off leads, four converted: MQL -> customer 4 of 10 (Wilson 0.168 to
    0.687); won 4 with no opportunities table rows (won = reached customer). Cohorts,
    cycle times, open deals, SLA are not measurable: there are no dates.
    """
    a = measurable.availability(undated)
    assert not a.dates.measurable and "no dates" in a.dates.reason
    assert not a.open_deals.measurable
    h = metrics.headline(undated, None, None)
    c = h["conversions"]["mql_to_customer"]
    assert (c["k"], c["n"]) == (4, 10)
    assert (round(c["low"], 3), round(c["high"], 3)) == (0.168, 0.687)
    assert h["won"] == 4
    assert h["sales_cycle"] is None and "no dates" in h["sales_cycle_reason"]
    assert h["open_deals"] is None and h["open_deals_reason"]


def test_undated_review_says_cohorts_are_not_measurable(undated) -> None:
    """With one day of data the review opens on that month (May 2024) and compares no
    cohort: each cohort row is "not measurable", the 4 won deals are counted.
    """
    assert review.default_month(undated) == date(2024, 5, 1)
    r = review.build_review(undated, "2024-05")
    assert r.goals.set_index("metric").loc["deals_won", "actual"] == 4
    verdicts = r.changes.set_index("key")["verdict"]
    assert verdicts["mql_to_sql"] == "not measurable"
    assert verdicts["lead_to_mql"] == "not measurable"


# --------------------------------------------------------------------------------------
# (c) opportunity-only pipeline
# --------------------------------------------------------------------------------------


def test_pipeline_starts_at_the_opportunity(pipeline) -> None:
    """The funnel starts at the opportunity stage: no lead, MQL or SQL numbers, and
    nothing handoff-based (SLA, sales cycle) is measurable.

    Dated opportunities o1 o2 o3 o4 o5 o8 = 6, won o1 o3 o8 = 3: 3 of 6. Closed: won 3,
    lost o2 o4 = 2: win rate 3 of 5 = 0.6 (Wilson 0.231 to 0.882). Won amount 1000 + 3000
    + 2000 = 6000. Open deals o5, o6, o7 = 3: the two undated ones count (no date needed).
    """
    a = measurable.availability(pipeline)
    assert a.funnel_start == "opportunity" and not a.handoffs.measurable
    h = metrics.headline(pipeline, None, None)
    assert h["volumes"]["mql"] is None and h["volumes"]["opportunity"] == 6
    c = h["conversions"]["opportunity_to_customer"]
    assert (c["k"], c["n"]) == (3, 6)
    w = h["win_rate"]
    assert (w["k"], w["n"], w["rate"]) == (3, 5, 0.6)
    assert (round(w["low"], 3), round(w["high"], 3)) == (0.231, 0.882)
    assert h["won_amount"] == 6000.0 and h["open_deals"] == 3
    assert h["sla"] is None and "starts at the opportunity stage" in h["sla_reason"]
    assert h["sales_cycle"] is None


def test_pipeline_win_rate_by_team(pipeline) -> None:
    """By team (the teams file): East (R1) won o1, lost o2, open o5 o7 -> 1 of 2;
    West (R2) won o3 o8, lost o4, open o6 -> 2 of 3, 5000 won.
    """
    h = metrics.headline(pipeline, None, None, by="team")
    got = {
        g["value"]: (g["win_rate"]["k"], g["win_rate"]["n"], g["open_deals"], g["won_amount"])
        for g in h["groups"]
    }
    assert got == {"East": (1, 2, 2, 1000.0), "West": (2, 3, 1, 5000.0)}


def test_pipeline_funnel_and_review(pipeline) -> None:
    """The funnel page's call starts at the opportunity (6 reached, 3 won); the review of
    February (last complete month: data ends Mar 20) counts o1 won (Feb 1) and o2 lost
    (Feb 10), says the MQL checks are not measurable and shows no MQL count.
    """
    conv = funnel.stage_conversion(pipeline, flt.Filters(), base_stage="opportunity")
    assert conv["stage"].tolist() == ["opportunity", "customer"]
    assert conv["reached"].tolist() == [6, 3]
    assert review.default_month(pipeline) == date(2024, 2, 1)
    r = review.build_review(pipeline, "2024-02")
    d = r.deals.iloc[0]
    assert (d["won"], d["lost"], d["won_revenue"]) == (1, 1, 1000.0)
    checks = {c.key: c for c in r.checks}
    for key in ("sla", "too_few_mqls", "too_many_mqls"):
        assert not checks[key].assessed and "Not measurable" in checks[key].finding
    goals = r.goals.set_index("metric")
    assert not goals.loc["mqls", "measurable"]
    # the history starts on 5 Jan 2024 (o1): January is only partly recorded, so its
    # numbers are not quoted beside February's (o1 and o2 created there would read 2)
    assert goals["previous_month"].isna().all() and goals["last_year"].isna().all()
    # March (to date) against February, which the history covers: o3 and o4 created, o1
    # won for 1,000
    march = review.build_review(pipeline, "2024-03").goals.set_index("metric")
    assert march.loc["opportunities", "previous_month"] == 2
    assert march.loc["deals_won", "previous_month"] == 1
    assert march.loc["won_revenue", "previous_month"] == 1000.0


def test_marketplace_metrics_command(tmp_path) -> None:
    """``handoff metrics --json --by source`` (a real subprocess) on the saved fixture (a):
    null plus a reason for SLA, win rate and won amount, 3 won deals, MQL -> customer 3 of
    6, and the blank and literal-unknown sources as separate groups.
    """
    import subprocess
    import sys

    from tests.journeys import save
    from tests.paths import ROOT

    db = save(exports.marketplace(), tmp_path / "marketplace.duckdb")
    done = subprocess.run(
        [sys.executable, "-m", "handoff", "metrics", "--db", str(db), "--json", "--by", "source"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    h = json.loads(done.stdout)
    assert h["sla"] is None and "no sales activities" in h["sla_reason"]
    assert h["win_rate"] is None and h["won_amount"] is None and h["won"] == 3
    c = h["conversions"]["mql_to_customer"]
    assert (c["k"], c["n"]) == (3, 6)
    assert {g["value"] for g in h["groups"]} == {"organic", "unknown", "(not set)", "paid"}
