"""The derived journey tables give the same numbers as the direct queries.

Every lifecycle function runs twice on the same connection: once on the base tables
(:func:`analysis.lifecycle.journey.direct`) and once reading the journey tables
(:func:`analysis.lifecycle.journey.reading`), with and without filters, breakdowns and an
earlier ``as_of``, on the generated demo, on small declarative journeys with the edge
cases (skipped stages, recycles, hot leads, activities before and after a new handoff,
events after ``as_of``), on the export-shaped fixtures and on the real example exports
imported through ``handoff import``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from analysis import filters as flt
from analysis import store
from analysis.lifecycle import deals, funnel, journey, metrics, rejections, review, sla
from tests.journeys import add, build, save
from tests.lifecycle import exports
from tests.paths import EXAMPLES, ROOT


def _norm(value: Any) -> Any:
    """A comparable form: frames sorted by every column, dataclasses as dicts, NaN as None."""
    if isinstance(value, pd.DataFrame):
        frame = value.reset_index(drop=True)
        keys = [c for c in frame.columns if not any(isinstance(v, list | tuple) for v in frame[c])]
        if len(frame) and keys:
            frame = frame.sort_values(keys, kind="stable", na_position="last")
        return frame.reset_index(drop=True)
    if is_dataclass(value) and not isinstance(value, type):
        return json.loads(json.dumps(asdict(value), default=str))
    if isinstance(value, dict):
        return json.loads(json.dumps(value, default=str))
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def assert_same(direct: Any, derived: Any, label: str) -> None:
    a, b = _norm(direct), _norm(derived)
    if isinstance(a, pd.DataFrame):
        # Counts and labels exactly; float means within 1e-12 relative (a mean over the same
        # values summed in another order can differ in its last bit).
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=0, obj=label)
    else:
        assert a == b, label


def calls(con: duckdb.DuckDBPyConnection) -> dict[str, Callable[[], Any]]:
    """The lifecycle functions the pages call, under a few filters and as-of times."""
    as_of = flt.data_as_of(con)
    early = as_of - (as_of - datetime(2000, 1, 1)) * 0.02 if as_of else None
    sources = tuple(flt.filter_options(con)["sources"][:1])
    out: dict[str, Callable[[], Any]] = {}
    for tag, f in {
        "all": flt.Filters(),
        "source": flt.Filters(sources=sources),
        "dates": flt.Filters(start=date(2000, 1, 1), end=(as_of or datetime(2030, 1, 1)).date()),
    }.items():
        out |= {
            f"{tag} period_volumes": lambda f=f: funnel.period_volumes(con, f, "month", "source"),
            f"{tag} stage_conversion": lambda f=f: funnel.stage_conversion(con, f, by="team"),
            f"{tag} cohort_conversion": lambda f=f: funnel.cohort_conversion(
                con, f, "mql", "sql", window_days=30
            ),
            f"{tag} cohort_matrix": lambda f=f: funnel.cohort_matrix(con, f),
            f"{tag} velocity": lambda f=f: funnel.velocity(con, f, "mql", "sql"),
            f"{tag} breakdown": lambda f=f: funnel.breakdown(con, f, "region"),
            f"{tag} breakdown by score": lambda f=f: funnel.breakdown(con, f, "score_band"),
            f"{tag} cohort_steps": lambda f=f: funnel.cohort_step_conversions(con, f),
            f"{tag} response_times": lambda f=f: sla.response_times(con, f),
            f"{tag} response_curve": lambda f=f: sla.response_curve(con, f, "business", 7),
            f"{tag} compliance": lambda f=f: sla.sla_compliance(con, f, by=("team", "month")),
            f"{tag} speed_to_lead": lambda f=f: sla.speed_to_lead(con, f),
            f"{tag} deal_summary": lambda f=f: deals.deal_summary(con, f, by="source"),
            f"{tag} recycle_summary": lambda f=f: rejections.recycle_summary(con, f),
            f"{tag} disposition_mix": lambda f=f: rejections.disposition_mix(con, f, by="team"),
            f"{tag} disposition_mix month": lambda f=f: rejections.disposition_mix(
                con, f, by="month"
            ),
            f"{tag} reason_pareto": lambda f=f: rejections.reason_pareto(con, f),
            f"{tag} headline": lambda f=f: metrics.headline(con, f.start, f.end, filters=f),
        }
    if as_of is not None:
        out |= {
            "early response_times": lambda: sla.response_times(con, flt.Filters(), as_of=early),
            "early compliance": lambda: sla.sla_compliance(con, flt.Filters(), as_of=early),
            "early breach_queue": lambda: sla.breach_queue(con, early, flt.Filters()),
            "breach_queue": lambda: sla.breach_queue(con, as_of, flt.Filters()),
            "breach_queue top 2": lambda: sla.breach_queue(con, as_of, flt.Filters(), limit=2),
            "breach_count": lambda: sla.breach_count(con, as_of, flt.Filters()),
            "early breach_count": lambda: sla.breach_count(con, early, flt.Filters()),
            "breach_queue by source, 30 d": lambda: sla.breach_queue(
                con, as_of, flt.Filters(sources=sources), max_age_days=30, limit=3
            ),
            "breach_count by source, 30 d": lambda: sla.breach_count(
                con, as_of, flt.Filters(sources=sources), max_age_days=30
            ),
            "early cohort_matrix": lambda: funnel.cohort_matrix(con, flt.Filters(), as_of=early),
            # leads with an opportunity time after it are aggregated again
            "early deal_summary": lambda: deals.deal_summary(
                con, flt.Filters(), by="source", as_of=early
            ),
            "early closed_deals": lambda: deals.closed_deals(
                con, date(2000, 1, 1), early.date(), as_of=early
            ),
            "headline": lambda: metrics.headline(con, None, None),
            "headline by team": lambda: metrics.headline(con, None, None, by="team"),
        }
    out["filter_options"] = lambda: flt.filter_options(con)
    return out


def compare_paths(con: duckdb.DuckDBPyConnection) -> int:
    """Run every call both ways on ``con`` (whose journey tables are fresh); count them."""
    assert journey.is_fresh(con)
    n = 0
    for label, fn in calls(con).items():
        with journey.direct():
            direct = fn()
        with journey.reading(con) as used:
            assert used
            derived = fn()
        assert_same(direct, derived, label)
        n += 1
    return n


def with_journey(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Stamp a write-log row and build the journey tables on an in-memory fixture."""
    con.execute("INSERT INTO write_log VALUES (now()::TIMESTAMP, 'test', 'host', 1, NULL)")
    journey.build(con)
    return con


def edge_journeys() -> duckdb.DuckDBPyConnection:
    """Handoffs that exercise every branch of the SLA clock and the skip rule.

    l1 recycled: MQL, nurture, MQL again with activities in both clocks; l2 skipped MQL
    (lead -> sql); l3 a hot lead (demo request before its MQL) never touched; l4 MQL with
    a disposition before any activity; l5 an activity after the data's as-of of an earlier
    replay; l6 no stage changes at all.
    """
    return build(
        {
            "l1": [
                ("mql", "2024-01-02 09:00"),
                ("nurture", "2024-01-10 09:00"),
                ("mql", "2024-02-01 10:00"),
                ("sql", "2024-02-03 10:00"),
            ],
            "l2": [("sql", "2024-01-05 12:00"), ("opportunity", "2024-02-05 12:00")],
            "l3": [("mql", "2024-01-20 08:00")],
            "l4": [("mql", "2024-01-21 08:00"), ("disqualified", "2024-01-25 08:00")],
            "l5": [("mql", "2024-03-01 08:00"), ("customer", "2024-04-01 08:00")],
        },
        leads={
            "l1": {"source": "paid", "owner_rep_id": "r1"},
            "l3": {"source": "organic", "owner_rep_id": "r2"},
            "l4": {"owner_rep_id": "r1"},
            "l5": {"source": "paid", "owner_rep_id": "r2"},
            "l6": {"created_at": "2024-01-03 10:00"},
        },
        reps={
            "r1": {"team": "east", "timezone": "America/New_York"},
            "r2": {"team": "west", "timezone": "Not/AZone"},
        },
        activities={
            "l1": [
                ("2024-01-02 09:10", "call"),
                ("2024-02-01 09:59", "call"),
                ("2024-02-02 10:00", "email"),
            ],
            "l5": [("2024-03-20 08:00", "call")],
        },  # fmt: skip
        touches={
            "l3": [("2024-01-19 08:00", "demo_request")],
            "l1": [("2024-01-15 08:00", "demo_request")],
        },  # fmt: skip
        dispositions={"l4": [("2024-01-22 08:00", "rejected", "no_budget")]},
        policies=[("hot", "demo_request", 15, False), ("standard", "default", 480, True)],
    )


def test_journey_tables_hold_one_row_per_lead_and_per_handoff() -> None:
    """It derives six leads (l6 without any change) and five MQL handoffs (l1 twice, l2
    none: it skipped MQL), with l1's second clock first touched 2024-02-02 10:00 (the
    09:59 call came before that handoff) and l3 hot (demo request before its MQL)."""
    con = with_journey(edge_journeys())
    assert con.execute(f"SELECT count(*) FROM {journey.ENTRIES}").fetchone()[0] == 6
    rows = con.execute(
        f"SELECT lead_id, handoff_no, first_activity_at, first_demo_at <= handoff_at "
        f"FROM {journey.HANDOFFS} ORDER BY lead_id, handoff_no"
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [("l1", 1), ("l1", 2), ("l3", 1), ("l4", 1), ("l5", 1)]
    assert rows[0][2] == datetime(2024, 1, 2, 9, 10)
    assert rows[1][2] == datetime(2024, 2, 2, 10, 0)
    assert rows[2][3] is True


def test_journey_touches_count_the_touchpoints_up_to_the_first_handoff() -> None:
    """Five leads have a first handoff (l2 by skipping to SQL on 01-05); l6 has none, so
    it has no row. l3's demo request (01-19) came before its MQL (01-20) and counts; l1's
    (01-15) came after its first MQL (01-02), so its count is 0 even though l1 was handed
    off again later."""
    con = with_journey(edge_journeys())
    rows = dict(con.execute(f"SELECT lead_id, demo_requests FROM {journey.TOUCHES}").fetchall())
    assert rows == {"l1": 0, "l2": 0, "l3": 1, "l4": 0, "l5": 0}


def test_journey_entries_carry_the_recycle_facts() -> None:
    """l1 (MQL 01-02, nurture 01-10, MQL again 02-01 10:00, SQL 02-03) is nurtured and
    recycled with its next SQL the 02-03 one; l4 (MQL, disqualified) is neither; l2
    skipped MQL, so it has no MQL change and no recycle facts; l5's next customer entry
    (04-01, after its only handoff) also counts as its next SQL and opportunity."""
    con = with_journey(edge_journeys())
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            f"SELECT lead_id, mql_changed, first_mql_at, nurtured_at, recycled_at, next_sql_at, "
            f"next_opportunity_at, next_customer_at FROM {journey.ENTRIES}"
        ).fetchall()
    }
    ts = datetime.fromisoformat
    assert rows["l1"] == (
        True,
        ts("2024-01-02 09:00"),
        ts("2024-01-10 09:00"),
        ts("2024-02-01 10:00"),
        ts("2024-02-03 10:00"),
        None,
        None,
    )
    assert rows["l4"] == (True, ts("2024-01-21 08:00"), None, None, None, None, None)
    assert rows["l2"] == (False, None, None, None, None, None, None)
    assert rows["l5"][4:] == (ts("2024-04-01 08:00"),) * 3


def test_the_breach_queue_reads_the_stored_lines_and_rebuilds_a_later_touched_lead() -> None:
    """l3 (hot, handed off 2024-01-20 08:00, never answered) gets three more touchpoints,
    two of them in the same minute. At the end of the data its line is the stored one: the
    three latest, newest first, the tie by kind descending. As of 2024-01-25 only its
    demo request had happened, so its line is built again from that one touchpoint. Both
    ways give these same lines."""
    con = edge_journeys()
    later = [
        ("2024-02-10 08:00", "webinar", "q1-launch"),
        ("2024-02-12 09:30", "email_open", "newsletter"),
        ("2024-02-12 09:30", "page_view", "pricing"),
    ]
    add(
        con,
        "touchpoints",
        [
            {"lead_id": "l3", "occurred_at": at, "kind": kind, "detail": detail, "value": None}
            for at, kind, detail in later
        ],
    )
    with_journey(con)
    stored = con.execute(
        f"SELECT last_touch_at, last_touchpoints FROM {journey.CONTACTS} WHERE lead_id = 'l3'"
    ).fetchone()
    assert stored == (
        datetime(2024, 2, 12, 9, 30),
        "2024-02-12 09:30 page_view pricing; 2024-02-12 09:30 email_open newsletter; "
        "2024-02-10 08:00 webinar q1-launch",
    )
    expected = {None: stored[1], "2024-01-25 09:00": "2024-01-19 08:00 demo_request"}
    for as_of, line in expected.items():
        with journey.direct():
            direct = sla.breach_queue(con, as_of).set_index("lead_id")
        with journey.reading(con) as used:
            assert used
            derived = sla.breach_queue(con, as_of).set_index("lead_id")
        assert direct.loc["l3", "last_touchpoints"] == line
        assert derived.loc["l3", "last_touchpoints"] == line


def test_only_leads_with_a_customer_entry_or_an_opportunity_are_deal_candidates() -> None:
    """Of four leads, c reached customer with no opportunity row, o has an open
    opportunity and no customer entry, w has a won one, n has neither: c, o and w are
    deal candidates, n is not; the deals read from the journey tables are still c won, o
    open, w won (three deals, the same as the direct query gives)."""
    con = build(
        {
            "c": [("mql", "2024-01-02 09:00"), ("customer", "2024-02-01 09:00")],
            "o": [("mql", "2024-01-03 09:00")],
            "w": [("mql", "2024-01-04 09:00")],
            "n": [("mql", "2024-01-05 09:00")],
        }
    )
    opp = {"created_at": "2024-01-10 09:00", "amount": 100.0}
    add(
        con,
        "opportunities",
        [
            {"opportunity_id": "p1", "lead_id": "o", **opp, "closed_at": None, "outcome": "open"},
            {"opportunity_id": "p2", "lead_id": "w", **opp, "closed_at": "2024-02-02 09:00",
             "outcome": "won"},
        ],
    )  # fmt: skip
    with_journey(con)
    flags = dict(con.execute(f"SELECT lead_id, deal_candidate FROM {journey.ENTRIES}").fetchall())
    assert flags == {"c": True, "o": True, "w": True, "n": False}
    for fresh in (True, False):
        with journey.reading(con, fresh=fresh):
            summary = deals.deal_summary(con, flt.Filters()).iloc[0]
        assert (summary["won"], summary["lost"], summary["open"]) == (2, 0, 1)


def test_edge_journeys_give_the_same_numbers_both_ways() -> None:
    """Every lifecycle number on the edge-case journeys is the same from the journey
    tables as from the base tables, including as of an earlier moment."""
    assert compare_paths(with_journey(edge_journeys())) > 30


@pytest.mark.parametrize("fixture", [exports.marketplace, exports.undated, exports.pipeline])
def test_export_shaped_histories_give_the_same_numbers_both_ways(fixture) -> None:
    """The export-shaped histories (no activities, undated, opportunity-only) give the
    same numbers both ways."""
    assert compare_paths(with_journey(fixture())) > 10


def test_demo_gives_the_same_numbers_both_ways(demo_db: Path) -> None:
    """On the generated demo (written through the write session, so its journey tables
    were built there) every number and the monthly review are the same both ways."""
    con = store.connect_read_only(demo_db)
    try:
        assert compare_paths(con) > 30
        with journey.direct():
            direct = review.build_review(con, "2026-09")
        with journey.reading(con):
            derived = review.build_review(con, "2026-09")
        assert_same(
            json.loads(json.dumps(asdict(direct), default=str)),
            json.loads(json.dumps(asdict(derived), default=str)),
            "review",
        )
    finally:
        con.close()


@pytest.mark.parametrize(
    ("mapping", "files"),
    [
        ("marketplace", ["marketplace_mqls.csv", "marketplace_won_deals.csv"]),
        ("pipeline", ["pipeline_opportunities.csv", "pipeline_teams.csv"]),
        ("education", ["education_leads.csv"]),
    ],
)
def test_real_example_exports_give_the_same_numbers_both_ways(
    tmp_path: Path, mapping: str, files: list[str]
) -> None:
    """The real example exports, imported with ``handoff import --mapping``, come with
    fresh journey tables and the same numbers both ways."""
    real = EXAMPLES / "real"
    db = tmp_path / f"{mapping}.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "handoff", "import", "--db", str(db), "--mapping"]
        + [str(real / f"{mapping}.toml"), *(str(real / f) for f in files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert db.exists(), done.stdout + done.stderr
    con = store.connect_read_only(db)
    try:
        assert compare_paths(con) > 10
    finally:
        con.close()


def test_a_write_without_rebuild_leaves_the_tables_stale(tmp_path: Path) -> None:
    """A file changed by a writer that did not rebuild (as an older version would) is
    read the direct way; a settings-only write keeps fresh tables as they are (same build
    time) and builds stale ones (the older writer's seventh lead appears)."""
    db = save(edge_journeys(), tmp_path / "edge.duckdb")
    with store.write_session(db):
        pass  # rebuilds: the first write of this file

    def stamp() -> tuple:
        con = store.connect_read_only(db)
        try:
            built = con.execute(f"SELECT built_at FROM {journey.STAMP}").fetchall()[0][0]
            leads = con.execute(f"SELECT count(*) FROM {journey.ENTRIES}").fetchall()[0][0]
            return journey.is_fresh(con), built, leads
        finally:
            con.close()

    fresh, built, leads = stamp()
    assert (fresh, leads) == (True, 6)
    with store.write_session(db, derive=False):
        pass  # a settings-only write re-stamps
    assert stamp() == (True, built, 6)
    raw = duckdb.connect(str(db))  # an older writer: a new lead and a log row, no rebuild
    raw.execute("INSERT INTO leads (lead_id, created_at) VALUES ('l7', '2024-01-04')")
    raw.execute("INSERT INTO write_log VALUES (now()::TIMESTAMP, 'old', 'h', 1, NULL)")
    raw.close()
    con = store.connect_read_only(db)
    assert not journey.is_fresh(con)
    with journey.reading(con) as used:
        assert not used
    con.close()
    with store.write_session(db, derive=False):
        pass  # nothing fresh to keep: built
    fresh, rebuilt, leads = stamp()
    assert (fresh, leads) == (True, 7)
    assert rebuilt > built


def test_the_journey_tables_carry_every_lead_column_a_filter_reads() -> None:
    """Every ``l.<column>`` a dimension or filter expression reads is a journey column."""
    import re

    read = {m for expr in flt.DIMENSIONS.values() for m in re.findall(r"\bl\.(\w+)", expr)}
    assert read <= set(journey.LEAD_COLUMNS) | {"lead_id"}
