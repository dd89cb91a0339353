"""The headline funnel numbers without groups read only the leads with an entry in range.

:func:`analysis.lifecycle.metrics._funnel_numbers` without a breakdown drops the leads
with no stage entry in the date range before counting; with a breakdown it does the same
and adds a row of zeros for each value no counted lead has. The reference is the query
they replaced: the grouping sets over every lead, which keep such values by themselves.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import filters as flt
from analysis import store
from analysis.lifecycle import funnel, journey, metrics
from tests.journeys import build


def _every_lead(con, f: flt.Filters, by: str, as_of: datetime, basis: str) -> pd.DataFrame:
    """The replaced grouped query: every lead counted, grouping sets over all of them."""
    cte, params = funnel.entries_cte(f, [by])
    aggs, date_params = metrics._numbers_aggs(f, basis)
    sql = f"""
    WITH {cte}
    SELECT "{by}" AS grp, grouping("{by}") = 0 AS is_group, {aggs}
    FROM entries GROUP BY GROUPING SETS ((), ("{by}"))
    """
    return flt.query_df(con, sql, {**params, **date_params, "as_of": as_of})


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["is_group", "grp"]).reset_index(drop=True)


def _demo_ranges(con) -> list[flt.Filters]:
    """A month, a quarter with a source filter and an open-ended range of the demo."""
    source = flt.filter_options(con)["sources"][0]
    return [
        flt.Filters(start=date(2026, 9, 1), end=date(2026, 9, 30)),
        flt.Filters(start=date(2026, 4, 1), end=date(2026, 6, 30), sources=(source,)),
        flt.Filters(start=date(2026, 8, 1)),
    ]


def _total_row(con, f: flt.Filters, basis: str, as_of: datetime) -> dict:
    grouped = _every_lead(con, f, "source", as_of, basis)
    row = grouped[~grouped["is_group"]].drop(columns=["grp", "is_group"]).iloc[0]
    return {k: int(v) for k, v in row.items()}


def _single_row(con, f: flt.Filters, basis: str, as_of: datetime) -> dict:
    row = metrics._funnel_numbers(con, f, None, as_of, basis).iloc[0]
    return {k: int(v) for k, v in row.items()}


@pytest.mark.parametrize("basis", ["entered", "created"])
@pytest.mark.parametrize("reading", [False, True])
def test_prefiltered_numbers_equal_the_grouped_total_on_the_demo(
    demo_db: Path, basis: str, reading: bool
) -> None:
    """On the demo, for a month, a quarter, an open-ended range and a source filter, the
    prefiltered numbers equal the grand total of the grouped query, both on the base
    tables and on the journey tables."""
    con = store.connect_read_only(demo_db)
    try:
        as_of = flt.data_as_of(con)
        cases = [*_demo_ranges(con), flt.Filters(end=date(2026, 3, 31))]
        ctx = journey.reading(con) if reading else journey.direct()
        with ctx:
            for f in cases:
                assert _single_row(con, f, basis, as_of) == _total_row(con, f, basis, as_of), f
    finally:
        con.close()


def test_prefiltered_numbers_by_hand() -> None:
    """Four leads, January 2024: a (created Dec, MQL Jan 5, SQL Feb 1), b (created Jan 3,
    MQL Jan 10, SQL Jan 20), c (created Jan 4, nothing else), d (created Nov, MQL Dec).
    Entered in January: 2 leads (b, c), 2 MQLs (a, b), 1 SQL (b); of the 2 January MQLs,
    both reached SQL by as_of (Feb 2): k = 2 of 2."""
    con = build(
        {
            "a": [("mql", "2024-01-05 09:00"), ("sql", "2024-02-01 09:00")],
            "b": [("mql", "2024-01-10 09:00"), ("sql", "2024-01-20 09:00")],
            "d": [("mql", "2023-12-10 09:00")],
        },
        leads={
            "a": {"created_at": "2023-12-20 09:00"},
            "b": {"created_at": "2024-01-03 09:00"},
            "c": {"created_at": "2024-01-04 09:00"},
            "d": {"created_at": "2023-11-01 09:00"},
        },
    )
    f = flt.Filters(start=date(2024, 1, 1), end=date(2024, 1, 31))
    row = _single_row(con, f, "entered", datetime(2024, 2, 2))
    assert (row["v_lead"], row["v_mql"], row["v_sql"]) == (2, 2, 1)
    pair = metrics.PAIRS.index(("mql", "sql"))
    assert (row[f"k{pair}"], row["c_mql"]) == (2, 2)
    assert row == _total_row(con, f, "entered", datetime(2024, 2, 2))


@pytest.mark.parametrize("basis", ["entered", "created"])
def test_several_periods_in_one_query_equal_one_query_each(demo_db: Path, basis: str) -> None:
    """A period, the one before and an older one (the demo starts in November 2025),
    each with its own as_of, counted in one query give the frames of one single-period
    query each (with and without a source filter, on the journey and base tables)."""
    con = store.connect_read_only(demo_db)
    try:
        source = flt.filter_options(con)["sources"][0]
        asked = [
            (date(2026, 9, 1), date(2026, 9, 30), datetime(2026, 10, 1)),
            (date(2026, 8, 1), date(2026, 8, 31), datetime(2026, 9, 1)),
            (date(2025, 11, 1), date(2025, 11, 30), datetime(2025, 12, 1)),
        ]
        for dims in ({}, {"sources": (source,)}):
            for ctx in (journey.direct(), journey.reading(con)):
                with ctx:
                    periods = [(flt.Filters(start=a, end=b, **dims), t) for a, b, t in asked]
                    many = metrics.funnel_counts_many(con, periods, basis)
                    for (f, as_of), got in zip(periods, many, strict=True):
                        one = metrics._funnel_numbers(con, f, None, as_of, basis)
                        expected = metrics._counts_frame(one.iloc[0].to_dict())
                        pd.testing.assert_frame_equal(got, expected)
                        assert got["count"].sum() > 0
    finally:
        con.close()


def test_periods_with_different_dimension_filters_are_refused() -> None:
    """Only the dates may differ between the periods of one query."""
    con = build({"a": [("mql", "2024-01-05 09:00")]})
    with pytest.raises(ValueError, match="same dimension filters"):
        metrics.funnel_counts_many(
            con, [(flt.Filters(sources=("x",)), None), (flt.Filters(), None)]
        )


def _counts_frame_row_by_row(rec: dict) -> pd.DataFrame:
    """The frame as funnel_counts built it before (row by row, then patched)."""
    from analysis import stats
    from analysis.store import STAGES

    rows = []
    for i, s in enumerate(STAGES):
        nxt = STAGES[i + 1] if i + 1 < len(STAGES) else None
        count = int(rec.get(f"c_{s}", 0))
        rows.append(
            {
                "stage": s,
                "count": count,
                "entered": int(rec.get(f"v_{s}", 0)),
                "next_stage": nxt,
                "k": int(rec.get(f"k{metrics.PAIRS.index((s, nxt))}", 0)) if nxt else 0,
                "n": count if nxt else 0,
            }
        )
    out = stats.add_rate_columns(pd.DataFrame(rows))
    out[["k", "n"]] = out[["k", "n"]].astype("float64")
    out.loc[out["next_stage"].isna(), ["k", "n", "rate", "low", "high"]] = np.nan
    return out


@pytest.mark.parametrize(
    "rec",
    [
        {},  # nothing counted: every rate NaN
        {"c_lead": 10, "v_lead": 10, "c_mql": 4, "v_mql": 5, "k0": 4, "k1": 1, "c_sql": 1},
        {"c_lead": 100, "c_mql": 30, "c_sql": 12, "c_opportunity": 6, "c_customer": 2,
         "k0": 30, "k1": 12, "k2": 6, "k3": 2, "v_customer": 3},
    ],
)  # fmt: skip
def test_the_counts_frame_is_the_one_built_row_by_row(rec: dict) -> None:
    """The column-wise frame equals the row-by-row one (values, NaN, dtypes), e.g. 4 of
    10 leads became MQLs: rate 0.4 with the same Wilson bounds."""
    got = metrics._counts_frame(rec)
    pd.testing.assert_frame_equal(got, _counts_frame_row_by_row(rec))
    if rec.get("c_lead") == 10:
        assert got.loc[0, "rate"] == 0.4


def test_a_period_without_dates_among_dated_ones_counts_every_lead() -> None:
    """January 2024 and an open period counted together: January has 2 MQLs (a, b), the
    open period all 3 (a, b, d), as each counts alone."""
    con = build(
        {
            "a": [("mql", "2024-01-05 09:00")],
            "b": [("mql", "2024-01-10 09:00")],
            "d": [("mql", "2023-12-10 09:00")],
        }
    )
    jan = flt.Filters(start=date(2024, 1, 1), end=date(2024, 1, 31))
    as_of = datetime(2024, 2, 1)
    both = metrics.funnel_counts_many(con, [(jan, as_of), (flt.Filters(), as_of)])
    mqls = [int(frame.set_index("stage").loc["mql", "entered"]) for frame in both]
    assert mqls == [2, 3]
    alone = [metrics.funnel_counts(con, f, as_of=as_of) for f in (jan, flt.Filters())]
    for got, expected in zip(both, alone, strict=True):
        pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("reading", [False, True])
def test_grouped_numbers_equal_every_lead_counted_on_the_demo(demo_db: Path, reading: bool):
    """On the demo, by source, campaign and rep, for a month, a quarter with a source
    filter, an open-ended range and a range before any lead (every group all zeros), the
    prefiltered grouped rows equal the grouping sets over every lead, zero rows included."""
    con = store.connect_read_only(demo_db)
    try:
        as_of = flt.data_as_of(con)
        cases = [*_demo_ranges(con), flt.Filters(start=date(2020, 1, 1), end=date(2020, 1, 31))]
        zero_rows = 0
        with journey.reading(con) if reading else journey.direct():
            for by in ("source", "campaign", "rep"):
                for f in cases:
                    for basis in ("entered", "created"):
                        got = metrics._funnel_numbers(con, f, by, as_of, basis)
                        expected = _every_lead(con, f, by, as_of, basis)
                        pd.testing.assert_frame_equal(_sorted(got), _sorted(expected))
                        counts = got.drop(columns=["grp", "is_group"])
                        zero_rows += int((counts.sum(axis=1) == 0).sum())
        assert zero_rows > 0  # the cases do reach values with nothing in range
    finally:
        con.close()


def test_a_value_with_nothing_in_range_gets_a_row_of_zeros() -> None:
    """Three leads: a (web, MQL Jan 5), b (web, created Jan 7), c (event, created and
    MQL in November). January by source: the total and web count a and b; event has no
    entry in January and still gets its row, all zeros."""
    con = build(
        {"a": [("mql", "2024-01-05 09:00")], "c": [("mql", "2023-11-03 09:00")]},
        leads={
            "a": {"created_at": "2023-12-20 09:00", "source": "web"},
            "b": {"created_at": "2024-01-07 09:00", "source": "web"},
            "c": {"created_at": "2023-11-02 09:00", "source": "event"},
        },
    )
    f = flt.Filters(start=date(2024, 1, 1), end=date(2024, 1, 31))
    got = metrics._funnel_numbers(con, f, "source", datetime(2024, 2, 1), "entered")
    total = got[~got["is_group"]].iloc[0]
    groups = got[got["is_group"]].set_index("grp")
    assert len(got) == 3 and sorted(groups.index) == ["event", "web"]
    assert (total["v_lead"], total["v_mql"]) == (1, 1)  # b created, a MQL
    assert (groups.loc["web", "v_lead"], groups.loc["web", "v_mql"]) == (1, 1)
    event = got[got["grp"] == "event"].drop(columns=["grp", "is_group"]).iloc[0]
    assert event.sum() == 0
