"""Funnel metrics on small declarative journeys, with the expected numbers worked by hand."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pandas as pd
import pytest

from analysis import filters as flt
from analysis.lifecycle import funnel
from tests.journeys import build

ALL = flt.Filters()

# Five leads (first entries after the skip rule in brackets):
#   a  lead 01-05, mql 01-10, sql 01-12, opportunity 01-20, customer 03-01
#   b  lead 01-08, mql 01-15, opportunity 02-03           [sql = 02-03: skipped]
#   c  lead 01-20, mql 02-01, nurture 02-10, mql 03-05     [one mql re-entry]
#   d  lead 02-02                                          [never handed off]
#   e  lead 02-10, sql 02-11                               [mql = 02-11: skipped]
# The latest fact is c's second mql, 2024-03-05 10:00: the default as_of.
JOURNEYS = {
    "a": [
        ("lead", "2024-01-05 09:00"),
        ("mql", "2024-01-10 10:00"),
        ("sql", "2024-01-12 10:00"),
        ("opportunity", "2024-01-20 10:00"),
        ("customer", "2024-03-01 10:00"),
    ],
    "b": [
        ("lead", "2024-01-08 09:00"),
        ("mql", "2024-01-15 10:00"),
        ("opportunity", "2024-02-03 10:00"),
    ],
    "c": [
        ("lead", "2024-01-20 09:00"),
        ("mql", "2024-02-01 10:00"),
        ("nurture", "2024-02-10 10:00"),
        ("mql", "2024-03-05 10:00"),
    ],
    "d": [("lead", "2024-02-02 09:00")],
    "e": [("lead", "2024-02-10 09:00"), ("sql", "2024-02-11 10:00")],
}
LEADS = {
    "a": {"source": "webinar", "employees": 250, "owner_rep_id": "R1"},
    "b": {"source": "webinar", "employees": 40, "owner_rep_id": "R2"},
    "c": {"source": "ads"},
    "d": {"source": "ads", "employees": 5000, "owner_rep_id": "R1"},
    "e": {},
}
REPS = {"R1": {"team": "Inbound"}, "R2": {"team": "Outbound"}}


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return build(JOURNEYS, leads=LEADS, reps=REPS)


def entries(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    cte, params = funnel.entries_cte(ALL)
    return flt.query_df(con, f"WITH {cte} SELECT * FROM entries ORDER BY lead_id", params)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def test_entries_take_the_next_stage_time_for_skipped_stages(con) -> None:
    """It gives a skipped stage the entry time of the next stage the lead reached."""
    e = entries(con).set_index("lead_id")
    assert e.loc["b", "sql_at"] == ts("2024-02-03 10:00")  # skipped sql -> opportunity time
    assert e.loc["e", "mql_at"] == ts("2024-02-11 10:00")  # skipped mql -> sql time
    assert pd.isna(e.loc["d", "mql_at"])
    assert e.loc["a", "customer_at"] == ts("2024-03-01 10:00")


def test_entries_count_first_entry_and_recycles(con) -> None:
    """It keeps the first mql entry and counts the later one as a re-entry."""
    e = entries(con).set_index("lead_id")
    assert e.loc["c", "mql_at"] == ts("2024-02-01 10:00")
    assert e.loc["c", "mql_reentries"] == 1
    assert e["mql_reentries"].sum() == 1


def test_entries_stay_monotone_when_history_is_out_of_order() -> None:
    """It dates mql no later than sql when an sql change is stamped before the mql change."""
    c = build(
        {
            "x": [
                ("lead", "2024-01-01 09:00"),
                ("mql", "2024-01-05 10:00"),
                ("sql", "2024-01-03 10:00"),
            ]
        }
    )
    e = entries(c).set_index("lead_id")
    assert e.loc["x", "mql_at"] == e.loc["x", "sql_at"] == ts("2024-01-03 10:00")


def test_period_volumes_by_month(con) -> None:
    """It counts first entries per stage in the month they happened, zero-filled."""
    v = funnel.period_volumes(con, ALL)
    wide = v.pivot(index="period", columns="stage", values="entries")[list(funnel.STAGES)]
    # Jan: leads a b c; mql a b; sql a; opp a.  Feb: leads d e; mql c e; sql b e; opp b.
    # Mar: a's customer; c's second mql is a re-entry and is not counted.
    assert wide.loc[ts("2024-01-01")].tolist() == [3, 2, 1, 1, 0]
    assert wide.loc[ts("2024-02-01")].tolist() == [2, 2, 2, 1, 0]
    assert wide.loc[ts("2024-03-01")].tolist() == [0, 0, 0, 0, 1]
    assert len(v) == 15


def test_period_volumes_date_range_applies_to_each_entry(con) -> None:
    """It counts a lead created in January as a February MQL when filtering February."""
    feb = flt.Filters(start=date(2024, 2, 1), end=date(2024, 2, 29))
    v = funnel.period_volumes(con, feb).set_index("stage")["entries"]
    assert v.to_dict() == {"lead": 2, "mql": 2, "sql": 2, "opportunity": 1, "customer": 0}


def test_period_volumes_weeks_start_on_monday(con) -> None:
    """It puts a Friday 2024-01-05 lead in the week starting Monday 2024-01-01."""
    v = funnel.period_volumes(con, ALL, grain="week")
    first = v[(v["stage"] == "lead") & (v["entries"] > 0)].iloc[0]
    assert first["period"] == ts("2024-01-01")


def test_period_volumes_by_dimension(con) -> None:
    """It splits volumes by a breakdown."""
    v = funnel.period_volumes(con, ALL, by="source")
    leads = v[v["stage"] == "lead"].groupby("source")["entries"].sum().to_dict()
    assert leads == {"ads": 2, "(not set)": 1, "webinar": 2}


def test_stage_conversion_is_the_funnel(con) -> None:
    """It counts leads reaching each stage with step and overall rates and Wilson bounds."""
    f = funnel.stage_conversion(con, ALL).set_index("stage")
    # reached: lead 5, mql 4 (a b c e), sql 3 (a b e), opportunity 2 (a b), customer 1 (a)
    assert f["reached"].tolist() == [5, 4, 3, 2, 1]
    assert f["step_n"].tolist() == [5, 5, 4, 3, 2]
    assert f.loc["sql", "step_rate"] == 0.75
    assert f.loc["customer", "overall_rate"] == 0.2
    assert f.loc["customer", "step_low"] == pytest.approx(0.0945, abs=1e-4)  # 1 of 2


def test_stage_conversion_date_range_is_on_lead_creation(con) -> None:
    """It keeps leads created in the range (d and e from February 1st)."""
    f = funnel.stage_conversion(con, flt.Filters(start=date(2024, 2, 1)))
    assert f["reached"].tolist() == [2, 1, 1, 0, 0]


def test_stage_conversion_from_mql(con) -> None:
    """It starts the funnel at another stage when asked."""
    f = funnel.stage_conversion(con, ALL, base_stage="mql")
    assert f["stage"].tolist() == ["mql", "sql", "opportunity", "customer"]
    assert f["overall_n"].unique().tolist() == [4]


@pytest.mark.parametrize(
    ("filters", "leads"),
    [
        (flt.Filters(sources=("webinar",)), 2),
        (flt.Filters(sources=("(not set)",)), 1),  # e has no source
        (flt.Filters(size_bands=("(not set)",)), 2),  # c and e have no employee count
        (flt.Filters(size_bands=("1000+", "1-49")), 2),  # d (5000) and b (40)
        (flt.Filters(teams=("Outbound",)), 1),
        (flt.Filters(teams=("(not set)",)), 2),  # c and e have no owner
        (flt.Filters(reps=("R1",)), 2),
        (flt.Filters(sources=("webinar",), teams=("Inbound",)), 1),
        (flt.Filters(regions=("EMEA",)), 0),
    ],
)
def test_dimension_filters(con, filters: flt.Filters, leads: int) -> None:
    """It keeps only leads whose dimension values are among the chosen ones."""
    f = funnel.stage_conversion(con, filters)
    assert (int(f["reached"].iloc[0]) if not f.empty else 0) == leads


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        # Jan cohort a (sql 2 d after mql), b (19 d); Feb cohort c (none), e (0 d)
        (None, [(2, 2, True), (1, 2, True)]),
        # with 7 days, Feb is immature: Mar 1 + 7 d = Mar 8 is after as_of (Mar 5)
        (7, [(1, 2, True), (1, 2, False)]),
        (19, [(2, 2, True), (1, 2, False)]),
    ],
)
def test_cohort_conversion(con, window: int | None, expected: list) -> None:
    """It reports k of n per cohort month within the window, and marks immature cohorts."""
    c = funnel.cohort_conversion(con, ALL, "mql", "sql", window_days=window)
    assert c["cohort"].tolist() == [ts("2024-01-01"), ts("2024-02-01")]
    assert list(zip(c["k"], c["n"], c["mature"], strict=True)) == expected
    # age: Feb 1 (end of January) to Mar 5 10:00
    assert c["age_days"].iloc[0] == pytest.approx(33 + 10 / 24)


@pytest.mark.parametrize(
    ("sql_at", "window", "k"),
    [
        ("2024-01-08 10:00:00", 7, 1),  # exactly 7 days: in
        ("2024-01-08 10:00:01", 7, 0),  # one second later: out
        ("2024-01-08 09:59:59", 7, 1),
        ("2024-01-01 10:00:00", 0, 1),  # equal timestamps, zero window: in
        ("2024-01-08 10:00:01", None, 1),  # no window
    ],
)
def test_conversion_window_boundary(sql_at: str, window: float | None, k: int) -> None:
    """It counts a conversion exactly W days after entry as inside the window."""
    c = build({"x": [("lead", "2024-01-01 09:00"), ("mql", "2024-01-01 10:00"), ("sql", sql_at)]})
    got = funnel.cohort_conversion(c, ALL, "mql", "sql", window_days=window)
    assert got["k"].tolist() == [k]
    assert got["n"].tolist() == [1]


@pytest.mark.parametrize(
    ("as_of", "mature"),
    [
        (datetime(2024, 3, 2, 0, 0), True),  # Jan cohort ends Feb 1; + 30 days = Mar 2
        (datetime(2024, 3, 1, 23, 59), False),
    ],
)
def test_maturity_boundary(as_of: datetime, mature: bool) -> None:
    """It calls a cohort mature once period end + window has passed, not before."""
    c = build({"x": [("lead", "2024-01-01 09:00"), ("mql", "2024-01-15 10:00")]})
    got = funnel.cohort_conversion(c, ALL, "mql", "sql", window_days=30, as_of=as_of)
    assert got["mature"].tolist() == [mature]


def test_cohort_conversion_ignores_events_after_as_of(con) -> None:
    """It replays what was known at as_of: later entries neither join cohorts nor convert."""
    c = funnel.cohort_conversion(con, ALL, "mql", "sql", as_of="2024-02-01")
    # only the January cohort exists by then; b's sql (Feb 3) had not happened
    assert list(zip(c["k"], c["n"], strict=True)) == [(1, 2)]
    # January ends at Feb 1 00:00, which is as_of itself: the period is over, so mature
    assert c["mature"].tolist() == [True]


def test_cohort_conversion_by_dimension(con) -> None:
    """It splits cohorts by a breakdown."""
    c = funnel.cohort_conversion(con, ALL, "lead", "mql", by="team")
    got = {(r.cohort.month, r.team): (r.k, r.n) for r in c.itertuples()}
    # Jan: a (Inbound) b (Outbound) c (unassigned); Feb: d (Inbound, no mql), e (unassigned)
    assert got == {
        (1, "Inbound"): (1, 1),
        (1, "Outbound"): (1, 1),
        (1, "(not set)"): (1, 1),
        (2, "Inbound"): (0, 1),
        (2, "(not set)"): (1, 1),
    }


def test_cohort_matrix(con) -> None:
    """It gives cumulative conversion by months since entry, last running month immature."""
    m = funnel.cohort_matrix(con, ALL)
    got = [(r.cohort.month, r.months_since, r.k, r.n, r.mature) for r in m.itertuples()]
    # Jan cohort a (sql in Jan), b (sql in Feb); Feb cohort e (sql in Feb), c (none)
    assert got == [
        (1, 0, 1, 2, True),
        (1, 1, 2, 2, True),
        (1, 2, 2, 2, False),  # March is still running at as_of (Mar 5)
        (2, 0, 1, 2, True),
        (2, 1, 1, 2, False),
    ]


def test_velocity_quantiles() -> None:
    """It reports n, mean, median, p75 and p90 in days for leads that made it."""
    days = {"v1": 1, "v2": 2, "v3": 3, "v4": 10}
    journeys = {
        k: [
            ("lead", "2024-01-01 00:00"),
            ("mql", "2024-01-01 00:00"),
            ("sql", f"2024-01-{1 + d:02d} 00:00"),
        ]
        for k, d in days.items()
    }
    journeys["never"] = [("lead", "2024-01-01 00:00"), ("mql", "2024-01-01 00:00")]
    v = funnel.velocity(build(journeys), ALL, "mql", "sql").iloc[0]
    # sorted 1, 2, 3, 10: median 2.5; p75 at position 2.25 -> 3 + 0.25 * 7; p90 at 2.7
    assert v["n"] == 4
    assert v["mean_days"] == 4.0
    assert v["median_days"] == 2.5
    assert v["p75_days"] == pytest.approx(4.75)
    assert v["p90_days"] == pytest.approx(7.9)


def test_velocity_of_equal_timestamps_is_zero() -> None:
    """It gives zero days when two stages share a timestamp."""
    c = build(
        {
            "x": [
                ("lead", "2024-01-01 09:00"),
                ("mql", "2024-01-01 10:00"),
                ("sql", "2024-01-01 10:00"),
            ]
        }
    )
    assert funnel.velocity(c, ALL, "mql", "sql")["median_days"].tolist() == [0.0]


def test_sales_cycle_is_mql_to_customer(con) -> None:
    """It measures a's 51 days from handoff (Jan 10) to customer (Mar 1, leap year)."""
    s = funnel.sales_cycle(con, ALL)
    assert s["n"].tolist() == [1]
    assert s["median_days"].tolist() == [51.0]


def test_velocity_by_dimension(con) -> None:
    """It reports velocity per breakdown value."""
    v = funnel.velocity(con, ALL, "mql", "opportunity", by="source").set_index("source")
    # webinar: a 10 days (Jan 10 -> Jan 20), b 19 days (Jan 15 -> Feb 3)
    assert v.loc["webinar", "n"] == 2
    assert v.loc["webinar", "median_days"] == 14.5


def test_breakdown_by_source(con) -> None:
    """It gives funnel counts and step rates per value, largest first."""
    b = funnel.breakdown(con, ALL, "source")
    assert b["source"].tolist() == ["ads", "webinar", "(not set)"]
    b = b.set_index("source")
    assert b.loc["webinar", ["leads", "mqls", "sqls", "opportunities", "customers"]].tolist() == [
        2,
        2,
        2,
        2,
        1,
    ]
    assert b.loc["webinar", "opportunity_to_customer"] == 0.5
    assert b.loc["ads", "lead_to_mql"] == 0.5
    assert pd.isna(b.loc["ads", "sql_to_opportunity"])  # nobody reached sql
    assert b.loc["(not set)", "mql_to_sql_low"] == pytest.approx(0.2065, abs=1e-4)  # 1 of 1


def test_step_conversions_use_each_steps_own_cohort(con) -> None:
    """It counts, per step, the leads that entered its first stage in the range."""
    s = funnel.step_conversions(con, flt.Filters(start=date(2024, 2, 1)))
    got = {(r.from_stage, r.to_stage): (r.k, r.n) for r in s.itertuples()}
    # from Feb 1: leads d e; mqls c e; sqls b e; opportunities b; mql->customer: c e
    assert got == {
        ("lead", "mql"): (1, 2),
        ("mql", "sql"): (1, 2),
        ("sql", "opportunity"): (1, 2),
        ("opportunity", "customer"): (0, 1),
        ("mql", "customer"): (0, 2),
    }


@pytest.fixture(scope="module")
def monthly() -> duckdb.DuckDBPyConnection:
    """January: 10 MQLs, 8 became SQL. February: 10 MQLs, 2 became SQL."""
    journeys = {}
    for month, sqls in ((1, 8), (2, 2)):
        for i in range(10):
            events = [("lead", f"2024-{month:02d}-09 10:00"), ("mql", f"2024-{month:02d}-10 10:00")]
            if i < sqls:
                events.append(("sql", f"2024-{month:02d}-11 10:00"))
            journeys[f"m{month}-{i}"] = events
    return build(journeys)


def test_month_over_month_flags_a_real_drop(monthly) -> None:
    """It calls 8/10 -> 2/10 significant (p = 0.0073) once both months are mature."""
    m = funnel.month_over_month(monthly, ALL, "mql", "sql", as_of="2024-03-15")
    first, second = m.iloc[0], m.iloc[1]
    assert pd.isna(first["p_value"]) and not first["significant"]
    assert second["change"] == pytest.approx(-0.6)
    assert second["z"] == pytest.approx(-2.6833, abs=1e-4)
    assert second["p_value"] == pytest.approx(0.00729, abs=1e-4)
    assert second["comparable"] and second["significant"]


def test_month_over_month_never_compares_an_immature_month(monthly) -> None:
    """It does not call a change while the later month is still running."""
    m = funnel.month_over_month(monthly, ALL, "mql", "sql", as_of="2024-02-20")
    assert not m.iloc[1]["mature"]
    assert not m.iloc[1]["comparable"] and not m.iloc[1]["significant"]


def test_rate_change() -> None:
    """It reports rates, change, z and p, and significance at alpha."""
    r = funnel.rate_change(30, 100, 20, 100)
    assert (r.before_rate, r.after_rate) == (0.3, 0.2)
    assert r.change == pytest.approx(-0.1)
    assert r.p_value == pytest.approx(0.1025, abs=1e-4)
    assert not r.significant
    assert funnel.rate_change(30, 100, 20, 100, alpha=0.2).significant
    with pytest.raises(ValueError, match="alpha"):
        funnel.rate_change(1, 2, 1, 2, alpha=5)


def test_filter_options(con) -> None:
    """It lists distinct values per filter, size bands in band order, and the date span."""
    o = flt.filter_options(con)
    assert o["sources"] == ["(not set)", "ads", "webinar"]
    assert o["size_bands"] == ["1-49", "200-999", "1000+", "(not set)"]
    assert o["teams"] == ["(not set)", "Inbound", "Outbound"]
    assert (o["first_date"], o["last_date"]) == (date(2024, 1, 5), date(2024, 3, 5))


def test_filters_are_hashable_and_checked() -> None:
    """It hashes equal filters alike and refuses a reversed range or a bare string."""
    a = flt.Filters(start=date(2024, 1, 1), sources=["x"])
    assert hash(a) == hash(flt.Filters(start=date(2024, 1, 1), sources=("x",)))
    with pytest.raises(ValueError, match="start must not be after end"):
        flt.Filters(start=date(2024, 2, 1), end=date(2024, 1, 1))
    with pytest.raises(TypeError, match="tuple of strings"):
        flt.Filters(sources="webinar")


def test_filter_values_are_bound_never_spliced() -> None:
    """It binds user values as parameters: a quote in a value stays data."""
    where, params = flt.Filters(sources=("x'); DROP TABLE leads; --",)).sql("l.created_at")
    assert "DROP" not in where
    assert params["f_sources"] == ["x'); DROP TABLE leads; --"]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: funnel.period_volumes(c, ALL),
        lambda c: funnel.cohort_conversion(c, ALL, "mql", "sql", 30),
        lambda c: funnel.cohort_matrix(c, ALL),
        lambda c: funnel.stage_conversion(c, ALL),
        lambda c: funnel.step_conversions(c, ALL),
        lambda c: funnel.breakdown(c, ALL, "source"),
        lambda c: funnel.month_over_month(c, ALL, "mql", "sql"),
    ],
)
def test_empty_database_gives_empty_frames(call) -> None:
    """It returns an empty DataFrame, not an exception, when there is no history."""
    out = call(build())
    assert isinstance(out, pd.DataFrame) and out.empty


def test_empty_population_velocity_is_n_zero() -> None:
    """It reports n = 0 and NaN durations when nobody made the step."""
    v = funnel.velocity(build(), ALL, "mql", "sql")
    assert v["n"].tolist() == [0] and v["median_days"].isna().all()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: funnel.cohort_conversion(c, ALL, "sql", "mql"), "after from_stage"),
        (lambda c: funnel.cohort_conversion(c, ALL, "mql", "won"), "stage must be one of"),
        (lambda c: funnel.period_volumes(c, ALL, grain="fortnight"), "grain must be one of"),
        (lambda c: funnel.breakdown(c, ALL, "colour"), "unknown breakdown"),
        (lambda c: funnel.cohort_conversion(c, ALL, "mql", "sql", -1), "window_days"),
    ],
)
def test_bad_arguments_are_refused(call, message: str) -> None:
    """It says what it expected and what arrived."""
    with pytest.raises(ValueError, match=message):
        call(build())


def test_works_while_the_caller_holds_an_unfinished_result(con) -> None:
    """It still answers when the connection has a half-fetched result of the caller's."""
    con.execute("SELECT lead_id FROM leads").fetchone()
    assert funnel.stage_conversion(con, ALL)["reached"].iloc[0] == 5
