"""Response times, SLA compliance, the breach queue and speed to lead, worked by hand.

Dates used below: 2024-01-08 is a Monday, 2024-01-12 a Friday, 2024-01-13/14 a weekend.
America/New_York moved to EDT on Sunday 2024-03-10; Europe/Berlin to CEST on Sunday
2024-03-31 and back to CET on Sunday 2024-10-27.
"""

from __future__ import annotations

import math

import duckdb
import pandas as pd
import pytest

from analysis import filters as flt
from analysis.lifecycle import sla
from tests.journeys import build

ALL = flt.Filters()
UTC_9_17 = {"timezone": "UTC", "work_start": "09:00:00", "work_end": "17:00:00"}


def one_response(
    handoff: str, activity: str, rep: dict | None = None, owner: str | None = "R"
) -> pd.Series:
    """The response_times row of a single lead handed off at ``handoff``."""
    con = build(
        {"x": [("lead", "2024-01-01 00:00"), ("mql", handoff)]},
        leads={"x": {"owner_rep_id": owner}},
        reps={"R": rep or UTC_9_17},
        activities={"x": [(activity, "call")]},
    )
    rows = sla.response_times(con, ALL)
    assert len(rows) == 1
    return rows.iloc[0]


@pytest.mark.parametrize(
    ("handoff", "activity", "rep", "wall", "business"),
    [
        pytest.param("2024-01-08 10:00", "2024-01-08 10:30", None, 30, 30, id="same-day"),
        # Mon 16:30 -> Tue 09:30: 30 minutes on Monday + 30 on Tuesday
        pytest.param("2024-01-08 16:30", "2024-01-09 09:30", None, 1020, 60, id="overnight"),
        # Fri 16:00 -> Mon 10:00: 60 + 60, the weekend does not count
        pytest.param("2024-01-12 16:00", "2024-01-15 10:00", None, 3960, 120, id="weekend"),
        pytest.param("2024-01-13 10:00", "2024-01-14 15:00", None, 1740, 0, id="sat-to-sun"),
        pytest.param("2024-01-13 12:00", "2024-01-15 09:15", None, 2715, 15, id="sat-to-mon"),
        pytest.param("2024-01-08 07:00", "2024-01-08 08:00", None, 60, 0, id="before-hours"),
        pytest.param("2024-01-08 18:00", "2024-01-09 08:59", None, 899, 0, id="after-hours"),
        # a whole week: five working days of 480 minutes
        pytest.param("2024-01-08 09:00", "2024-01-15 09:00", None, 10080, 2400, id="week"),
        # 21:00Z is 16:00 EST on Friday; 14:00Z on Monday is 10:00 EDT (not 09:00 EST)
        pytest.param(
            "2024-03-08 21:00",
            "2024-03-11 14:00",
            {"timezone": "America/New_York"},
            3900,
            120,
            id="new-york-dst",
        ),
        # Thu 16:00 CET -> Tue 09:30 CEST: 60 + 480 (Fri) + 480 (Mon) + 30 = 1050;
        # a fixed CET offset would read Tuesday as 08:30 and give 1020
        pytest.param(
            "2024-03-28 15:00",
            "2024-04-02 07:30",
            {"timezone": "Europe/Berlin"},
            6750,
            1050,
            id="berlin-dst-spring",
        ),
        # Fri 16:00 CEST -> Mon 09:30 CET: 60 + 30
        pytest.param(
            "2024-10-25 14:00",
            "2024-10-28 08:30",
            {"timezone": "Europe/Berlin"},
            3990,
            90,
            id="berlin-dst-autumn",
        ),
        # 08:30-17:00 New York: 13:00Z = 08:00 EST, 14:00Z = 09:00 EST -> 30 minutes
        pytest.param(
            "2024-01-08 13:00",
            "2024-01-08 14:00",
            {"timezone": "America/New_York", "work_start": "08:30:00", "work_end": "17:00:00"},
            60,
            30,
            id="custom-hours",
        ),
        # unknown zone or a night shift: measured in UTC, 09:00-17:00
        pytest.param(
            "2024-01-08 16:00",
            "2024-01-09 10:00",
            {"timezone": "Mars/Olympus"},
            1080,
            120,
            id="invalid-zone",
        ),
        pytest.param(
            "2024-01-08 16:00",
            "2024-01-09 10:00",
            {"work_start": "22:00:00", "work_end": "06:00:00"},
            1080,
            120,
            id="night-shift-unsupported",
        ),
    ],
)
def test_business_minutes(
    handoff: str, activity: str, rep: dict | None, wall: int, business: int
) -> None:
    """It counts wall-clock minutes and the owner's working minutes, weekends excluded."""
    row = one_response(handoff, activity, {**UTC_9_17, **(rep or {})})
    assert row["status"] == "responded"
    assert row["response_minutes"] == pytest.approx(wall)
    assert row["response_business_minutes"] == pytest.approx(business)


def test_mql_without_owner_uses_utc_office_hours() -> None:
    """It measures an MQL without an owner in UTC, 09:00-17:00."""
    row = one_response("2024-01-08 16:00", "2024-01-09 10:00", owner=None)
    assert row["response_business_minutes"] == pytest.approx(120)


# Two UTC reps, policies written the way the sample file writes them.
POLICIES = [("hot", "demo request", 15, False), ("standard", "any other MQL", 60, True)]
MON = "2024-01-08"


def handoff(at: str, *later: tuple[str, str]) -> list[tuple[str, str]]:
    return [("lead", "2024-01-01 00:00"), ("mql", at), *later]


JOURNEYS = {
    "h1": handoff(f"{MON} 10:00"),  # hot, answered in exactly 15 min
    "h2": handoff(f"{MON} 10:00"),  # hot (demo at the handoff instant), 15 min 1 s
    "s1": handoff(f"{MON} 16:30"),  # standard, 50 business min (16 h 50 wall)
    "s2": handoff(f"{MON} 10:00"),  # demo only after the handoff: standard, 90 min
    "o1": handoff(f"{MON} 10:00"),  # never touched: open
    "c1": handoff(f"{MON} 10:00"),  # rejected after 30 min without a touch: closed
    "c2": handoff(f"{MON} 10:00", ("disqualified", "2024-01-09 10:00")),  # closed, 480
    "r1": handoff(f"{MON} 10:00", ("nurture", "2024-01-09 10:00"), ("mql", "2024-01-15 10:00")),
    "x1": handoff(f"{MON} 10:00"),  # touched at the handoff instant: 0 min
    "x2": handoff(f"{MON} 10:00"),  # only touched before the handoff: open
}
LEADS = {k: {"owner_rep_id": "R1" if k[0] in "hso" else "R2", "source": "web"} for k in JOURNEYS}
TOUCHES = {
    "h1": [(f"{MON} 09:59", "demo_request")],
    "h2": [(f"{MON} 10:00", "demo_request")],
    "s1": [(f"{MON} 09:00", "page_view", "pricing", 30)],
    "s2": [(f"{MON} 11:00", "demo_request")],
    "o1": [
        ("2024-01-05 12:00", "page_view", "pricing", 40),
        ("2024-01-06 12:00", "content_download", "bofu"),
        ("2024-01-07 12:00", "email_click"),
        (f"{MON} 09:00", "webinar"),
    ],
}
ACTIVITIES = {
    "h1": [(f"{MON} 10:15:00", "call")],
    "h2": [(f"{MON} 10:15:01", "call")],
    "s1": [("2024-01-09 09:20", "call")],
    "s2": [(f"{MON} 11:30", "email")],
    "r1": [("2024-01-15 10:05", "call")],
    "x1": [(f"{MON} 10:00", "call")],
    "x2": [(f"{MON} 09:00", "call")],
}
DISPOSITIONS = {"c1": [(f"{MON} 10:30", "rejected", "no_need")]}


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return build(
        JOURNEYS,
        leads=LEADS,
        reps={"R1": {**UTC_9_17, "team": "Inbound"}, "R2": {**UTC_9_17, "team": "Outbound"}},
        touches=TOUCHES,
        activities=ACTIVITIES,
        dispositions=DISPOSITIONS,
        policies=POLICIES,
    )


@pytest.fixture(scope="module")
def rows(con) -> pd.DataFrame:
    return sla.response_times(con, ALL).set_index(["lead_id", "handoff_no"])


@pytest.mark.parametrize(
    ("lead", "no", "tier", "status", "met", "breached"),
    [
        ("h1", 1, "hot", "responded", True, False),  # 15.0 <= 15
        ("h2", 1, "hot", "responded", False, True),  # 15.017 > 15
        ("s1", 1, "standard", "responded", True, False),  # 30 + 20 business minutes
        ("s2", 1, "standard", "responded", False, True),  # 90 business minutes
        ("o1", 1, "standard", "open", False, True),
        ("c1", 1, "standard", "closed", False, False),  # closed after 30 min: pending
        ("c2", 1, "standard", "closed", False, True),  # closed after 480 min
        ("r1", 1, "standard", "closed", False, True),  # nurtured after 480 min, untouched
        ("r1", 2, "standard", "responded", True, False),  # recycled: a new clock, 5 min
        ("x1", 1, "standard", "responded", True, False),
        ("x2", 1, "standard", "open", False, True),
    ],
)
def test_each_handoff(
    rows, lead: str, no: int, tier: str, status: str, met: bool, breached: bool
) -> None:
    """It sets tier, status, met and breached per handoff as worked out by hand."""
    row = rows.loc[(lead, no)]
    assert (row["tier"], row["status"], row["met"], row["breached"]) == (
        tier,
        status,
        met,
        breached,
    )


def test_response_minutes(rows) -> None:
    """It measures from the handoff to the first activity at or after it."""
    assert rows.loc[("h2", 1), "response_minutes"] == pytest.approx(15 + 1 / 60)
    assert rows.loc[("s1", 1), "response_minutes"] == 1010  # wall clock 16 h 50
    assert rows.loc[("s1", 1), "response_business_minutes"] == 50
    assert rows.loc[("x1", 1), "response_minutes"] == 0
    assert rows.loc[("r1", 2), "response_minutes"] == 5
    assert math.isnan(rows.loc[("x2", 1), "response_minutes"])  # the 09:00 call came before
    # open since Mon 10:00 until as_of (Mon 2024-01-15 10:05, the latest fact):
    # 420 (Mon) + 4 x 480 + 65 business minutes; 7 days and 5 minutes wall clock
    assert rows.loc[("o1", 1), "elapsed_business_minutes"] == 2405
    assert rows.loc[("o1", 1), "elapsed_minutes"] == 7 * 1440 + 5
    assert len(rows) == 11


@pytest.mark.parametrize(
    ("by", "clock", "expected"),
    [
        # hot: h1 met, h2 late. standard: met s1 r1#2 x1; late s2 o1 c2 r1#1 x2; c1 pending
        (("tier",), "policy", {"hot": (1, 2, 0), "standard": (3, 8, 1)}),
        ("team", "policy", {"Inbound": (2, 5, 0), "Outbound": (2, 5, 1)}),
        ("month", "policy", {pd.Timestamp("2024-01-01"): (4, 10, 1)}),
        # wall clock for everyone: s1 (1010 min) becomes late
        (None, "wall", {None: (3, 10, 1)}),
    ],
)
def test_sla_compliance(con, by, clock: str, expected: dict) -> None:
    """It counts k met of n decided handoffs, leaving pending ones out of n."""
    c = sla.sla_compliance(con, ALL, by=by, clock=clock)
    key = [by] if isinstance(by, str) else list(by or [])
    got = {(r[key[0]] if key else None): (r["k"], r["n"], r["pending"]) for _, r in c.iterrows()}
    assert got == expected


def test_sla_compliance_percentiles(con) -> None:
    """It reports response-time percentiles of responded handoffs on the tier's clock."""
    c = sla.sla_compliance(con, ALL).set_index("tier")
    # standard, business minutes: 0 (x1), 5 (r1#2), 50 (s1), 90 (s2)
    assert c.loc["standard", "median_minutes"] == 27.5
    assert c.loc["standard", "target_minutes"] == 60
    assert c.loc["hot", "median_minutes"] == pytest.approx(15 + 0.5 / 60)
    assert c.loc["standard", "rate"] == 3 / 8
    assert c.loc["hot", "low"] == pytest.approx(0.0945, abs=1e-4)  # 1 of 2


def test_breach_queue_is_oldest_first_with_context(con) -> None:
    """It lists open MQLs past target, with owner, last touchpoints and rule score."""
    q = sla.breach_queue(con)
    assert q["lead_id"].tolist() == ["o1", "x2"]
    o1 = q.iloc[0]
    assert o1["team"] == "Inbound" and o1["rep"] == "R1" and o1["source"] == "web"
    assert o1["last_touchpoints"] == (
        "2024-01-08 09:00 webinar; 2024-01-07 12:00 email_click; "
        "2024-01-06 12:00 content_download bofu"
    )
    assert o1["score"] == 25  # pricing page before the handoff
    assert o1["minutes_over_target"] == 2405 - 60
    assert q.iloc[1]["last_touchpoints"] == "" and q.iloc[1]["score"] == 0


def test_breach_queue_replays_an_earlier_moment(con) -> None:
    """It ignores what happened after as_of: at Mon 11:01 five MQLs had waited 61 minutes."""
    q = sla.breach_queue(con, as_of=f"{MON} 11:01")
    # s2's 11:30 email and c2's Tuesday disqualification had not happened yet;
    # c1 was already rejected (10:30), h1/h2/x1 answered; s1 not yet handed off
    assert q["lead_id"].tolist() == ["c2", "o1", "r1", "s2", "x2"]
    assert q["minutes_waiting"].tolist() == [61.0] * 5
    assert q["minutes_over_target"].tolist() == [1.0] * 5


def test_breach_queue_filters(con) -> None:
    """It applies dimension filters but not the date range."""
    assert sla.breach_queue(con, None, flt.Filters(teams=("Inbound",)))["lead_id"].tolist() == [
        "o1"
    ]
    later = flt.Filters(start=pd.Timestamp("2024-06-01").date())
    assert len(sla.breach_queue(con, None, later)) == 2


@pytest.mark.parametrize(
    ("handoff_at", "as_of", "breached"),
    [
        (f"{MON} 10:00", f"{MON} 10:59", False),
        (f"{MON} 10:00", f"{MON} 11:00", False),  # exactly the target: not yet late
        (f"{MON} 10:00", f"{MON} 11:01", True),
        # Fri 16:30 -> Mon 09:29 is 65 hours, but only 30 + 29 business minutes
        ("2024-01-12 16:30", "2024-01-15 09:29", False),
        ("2024-01-12 16:30", "2024-01-15 09:31", True),
    ],
)
def test_open_mql_breaches_once_past_target(handoff_at: str, as_of: str, breached: bool) -> None:
    """It puts an untouched MQL in breach only when its wait exceeds the target."""
    c = build(
        {"o": handoff(handoff_at)},
        leads={"o": {"owner_rep_id": "R"}},
        reps={"R": UTC_9_17},
        policies=POLICIES,
    )
    row = sla.response_times(c, ALL, as_of=as_of).iloc[0]
    assert row["status"] == "open"
    assert row["breached"] == breached
    assert len(sla.breach_queue(c, as_of)) == int(breached)
    comp = sla.sla_compliance(c, ALL, as_of=as_of).iloc[0]
    assert (comp["n"], comp["pending"]) == ((1, 0) if breached else (0, 1))


def test_hot_tier_runs_on_the_wall_clock() -> None:
    """It breaches a demo-request MQL 16 minutes after handoff, even at night."""
    c = build(
        {"d": handoff(f"{MON} 23:00")},
        touches={"d": [(f"{MON} 23:00", "demo_request")]},
        policies=POLICIES,
    )
    row = sla.response_times(c, ALL, as_of="2024-01-08 23:16").iloc[0]
    assert (row["tier"], row["breached"]) == ("hot", True)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], {"demo_request": ("hot", 15.0, False), "default": ("standard", 1440.0, False)}),
        (
            [
                ("vip", "demo_request", 5, False),
                ("fast", "Demo-request MQLs", 10, True),
                ("normal", "default", 240, True),
            ],
            {"demo_request": ("vip", 5.0, False), "default": ("normal", 240.0, True)},
        ),
        (
            [("standard", "any other MQL", 480, True)],
            {"demo_request": ("hot", 15.0, False), "default": ("standard", 480.0, True)},
        ),
    ],
)
def test_policies(rows: list, expected: dict) -> None:
    """It maps rule text to demo-request or default, strictest first, with fallbacks."""
    got = sla.policies(build(policies=rows))
    assert {k: (p.tier, p.target_minutes, p.business_hours) for k, p in got.items()} == expected


def test_attempts_before_disposition() -> None:
    """It counts activities since the answered handoff, up to and including the decision."""
    journeys = {
        "p": handoff(f"{MON} 10:00"),
        "q": handoff(f"{MON} 10:00"),
        "r": handoff(f"{MON} 10:00"),
        "s": handoff(f"{MON} 10:00", ("mql", "2024-01-15 10:00")),
    }
    activities = {
        # 3 attempts; the 12:00 one is at the decision instant and counts, 13:00 does not
        "p": [
            (f"{MON} 10:05", "call"),
            (f"{MON} 11:00", "email"),
            (f"{MON} 12:00", "call"),
            (f"{MON} 13:00", "call"),
        ],
        "r": [(f"{MON} 09:00", "call"), (f"{MON} 10:10", "call")],  # 09:00 is before handoff
        "s": [
            (f"{MON} 10:10", "call"),
            ("2024-01-15 10:05", "call"),
            ("2024-01-15 10:06", "email"),
        ],
    }
    dispositions = {
        "p": [(f"{MON} 12:00", "rejected", "no_budget")],
        "q": [(f"{MON} 10:30", "bad_data", "wrong_contact_data")],
        "r": [(f"{MON} 11:00", "accepted")],
        "s": [(f"{MON} 12:00", "nurture", "bad_timing"), ("2024-01-15 11:00", "accepted")],
    }
    c = build(journeys, activities=activities, dispositions=dispositions)
    a = sla.attempts_before_disposition(c, ALL)
    # q: 0; r: 1; s first: 1; s second: 2 (its first call belongs to the first handoff); p: 3
    assert a["attempts"].tolist() == [0, 1, 2, 3]
    assert a["dispositions"].tolist() == [1, 2, 1, 1]
    assert a["cumulative_share"].tolist() == pytest.approx([0.2, 0.6, 0.8, 1.0])
    by = sla.attempts_before_disposition(c, ALL, by="outcome")
    accepted = by[by["outcome"] == "accepted"]
    assert accepted["attempts"].tolist() == [1, 2] and accepted["share"].tolist() == [0.5, 0.5]
    late = sla.attempts_before_disposition(c, flt.Filters(start=pd.Timestamp("2024-01-15").date()))
    assert a.shape[1] == late.shape[1] and late["attempts"].tolist() == [2]


def test_bucket_labels() -> None:
    """It names the default response bands in minutes, hours and days."""
    assert sla.bucket_labels(sla.DEFAULT_BUCKETS) == [
        "0-5 min",
        "5-15 min",
        "15 min-1 h",
        "1-4 h",
        "4 h-1 d",
        "1-3 d",
        "3 d+",
    ]


@pytest.fixture(scope="module")
def speed() -> duckdb.DuckDBPyConnection:
    journeys = {
        "t1": handoff(f"{MON} 10:00", ("sql", f"{MON} 12:00")),  # 0 min, converted
        "t2": handoff(f"{MON} 10:00"),  # exactly 5 min: first band
        "t3": handoff(f"{MON} 10:00", ("sql", "2024-01-09 09:00")),  # 5 min 1 s
        "t4": handoff(f"{MON} 10:00"),  # 30 min
        "t5": handoff(f"{MON} 10:00", ("opportunity", "2024-01-12 10:00")),  # 2 days
        "t6": handoff(f"{MON} 10:00"),  # never answered
        "t7": handoff(f"{MON} 10:00", ("sql", f"{MON} 11:00")),  # accepted, untouched
        # recycled: the sql after the second handoff belongs to the second handoff
        "t9": handoff(
            f"{MON} 10:00",
            ("nurture", "2024-01-09 10:00"),
            ("mql", "2024-01-15 10:00"),
            ("sql", "2024-01-16 09:00"),
        ),
    }
    activities = {
        "t1": [(f"{MON} 10:00", "call")],
        "t2": [(f"{MON} 10:05", "call")],
        "t3": [(f"{MON} 10:05:01", "call")],
        "t4": [(f"{MON} 10:30", "call")],
        "t5": [("2024-01-10 10:00", "call")],
        "t9": [(f"{MON} 10:01", "call"), ("2024-01-15 12:00", "call")],
    }
    return build(journeys, activities=activities)


def test_speed_to_lead_bands(speed) -> None:
    """It puts each handoff in its response band (upper edge inclusive) with its outcome."""
    s = sla.speed_to_lead(speed, ALL).set_index("bucket")
    got = {b: (r["k"], r["n"]) for b, r in s.iterrows()}
    assert got == {
        "0-5 min": (1, 3),  # t1 (0, converted), t2 (5), t9 first handoff (1)
        "5-15 min": (1, 1),  # t3
        "15 min-1 h": (0, 1),  # t4
        "1-4 h": (1, 1),  # t9 second handoff (120 min)
        "4 h-1 d": (0, 0),
        "1-3 d": (1, 1),  # t5: an opportunity counts as having reached sql
        "3 d+": (0, 0),
        "no response": (1, 2),  # t6 open; t7 taken to sql without a logged touch
    }
    # responses in the first band: 0, 1, 5 minutes
    assert s.loc["0-5 min", "median_minutes"] == 1
    assert s.loc["0-5 min", "p90_minutes"] == pytest.approx(4.2)
    assert math.isnan(s.loc["no response", "median_minutes"])
    assert math.isnan(s.loc["4 h-1 d", "rate"])


def test_speed_to_lead_outcome_and_window(speed) -> None:
    """It can target opportunities and count only conversions within a window."""
    opp = sla.speed_to_lead(speed, ALL, outcome="opportunity").set_index("bucket")
    assert opp["k"].sum() == 1 and opp.loc["1-3 d", "k"] == 1
    # within one day: t5's opportunity (4 days) no longer counts; the others did in < 1 day
    day = sla.speed_to_lead(speed, ALL, window_days=1).set_index("bucket")
    assert day.loc["1-3 d", "k"] == 0
    assert day["k"].sum() == 4


@pytest.mark.parametrize(
    "call",
    [
        lambda c: sla.response_times(c, ALL),
        lambda c: sla.sla_compliance(c, ALL),
        lambda c: sla.sla_compliance(c, ALL, by=None),
        lambda c: sla.breach_queue(c),
        lambda c: sla.attempts_before_disposition(c, ALL),
    ],
)
def test_empty_database_gives_empty_frames(call) -> None:
    """It returns an empty DataFrame, not an exception, when there is no history."""
    out = call(build())
    assert isinstance(out, pd.DataFrame) and out.empty


def test_empty_speed_to_lead_has_every_band() -> None:
    """It still lists every band, each with n = 0, when there is no history."""
    s = sla.speed_to_lead(build(), ALL)
    assert len(s) == 8 and s["n"].sum() == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: sla.sla_compliance(c, ALL, clock="sundial"), "clock must be one of"),
        (lambda c: sla.sla_compliance(c, ALL, by="score_band"), "unknown breakdown"),
        (lambda c: sla.speed_to_lead(c, ALL, buckets=(5, 10)), "start at 0"),
        (lambda c: sla.speed_to_lead(c, ALL, buckets=(0, 10, 10)), "increase"),
        (lambda c: sla.speed_to_lead(c, ALL, outcome="mql"), "outcome must be one of"),
        (lambda c: sla.attempts_before_disposition(c, ALL, by="team"), "by must be"),
    ],
)
def test_bad_arguments_are_refused(call, message: str) -> None:
    """It says what it expected and what arrived."""
    with pytest.raises(ValueError, match=message):
        call(build())


def test_compliance_by_month_marks_the_month_in_progress() -> None:
    """Handoffs on Jan 10 and Feb 5; the data ends Feb 10 (an activity): January is
    complete, February is not (is_complete_month), so only February is in progress.
    """
    con = build(
        {"a": [("mql", "2024-01-10 09:00")], "b": [("mql", "2024-02-05 09:00")]},
        activities={"a": [("2024-01-10 09:05", "call")], "b": [("2024-02-10 09:00", "call")]},
    )
    df = sla.sla_compliance(con, flt.Filters(), by=("month",))
    assert df["complete"].tolist() == [True, False]
