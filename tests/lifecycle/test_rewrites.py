"""Queries rewritten for speed give the numbers of the queries they replaced.

Each test keeps the replaced query as the reference and compares it with the current
function on the demo, on the edge-case journeys and on the export-shaped fixtures, on
both read paths (base tables and journey tables).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analysis import filters as flt
from analysis import store
from analysis.lifecycle import funnel, journey
from analysis.lifecycle.entries import STAGE_AT, entries_cte, quoted
from tests.lifecycle import exports
from tests.lifecycle.test_journey import edge_journeys, with_journey


def old_period_volumes_sql(con, filters: flt.Filters, grain: str, names: list[str]):
    """The replaced query: every lead unpivoted into one row per stage, then grouped."""
    cte, params = entries_cte(filters, names)
    date_where, date_params = filters.date_sql("entered_at")
    cols = ", ".join(STAGE_AT.values())
    sql = f"""
    WITH {cte},
    long AS (
        UNPIVOT (SELECT {quoted(names)} {cols} FROM entries)
        ON {cols} INTO NAME stage_col VALUE entered_at
    )
    SELECT date_trunc('{grain}', entered_at) AS period, {quoted(names)}
        replace(stage_col, '_at', '') AS stage, count(*) AS entries
    FROM long
    WHERE {date_where}
    GROUP BY ALL
    """
    return flt.query_df(con, sql, {**params, **date_params})


def assert_period_volumes_match(con: duckdb.DuckDBPyConnection) -> int:
    """Compare the grouped counts (before the zero fill) under a few filters; count rows."""
    as_of = flt.data_as_of(con)
    sources = tuple(flt.filter_options(con)["sources"][:1])
    cases = [flt.Filters(), flt.Filters(sources=sources)]
    if as_of is not None:
        cases.append(flt.Filters(start=date(as_of.year - 1, 1, 1), end=as_of.date()))
    seen = 0
    for f in cases:
        for grain, names in (("month", []), ("week", ["source"])):
            old = old_period_volumes_sql(con, f, grain, names)
            new = funnel.period_volumes(con, f, grain, names or None)
            new = new[new["entries"] > 0]
            key = ["period", *names, "stage"]
            a = old.sort_values(key).reset_index(drop=True)
            b = new.sort_values(key).reset_index(drop=True)[a.columns]
            pd.testing.assert_frame_equal(a, b, check_dtype=False)
            seen += len(a)
    return seen


@pytest.mark.parametrize("derived", [False, True], ids=["direct", "journey"])
def test_period_volumes_equal_the_unpivot_query_on_the_demo(demo_db: Path, derived: bool):
    """On the demo, every (period, stage) count and every (week, source, stage) count of
    the per-stage GROUP BYs equals the unpivot query's, with and without filters."""
    con = store.connect_read_only(demo_db)
    try:
        with journey.reading(con, fresh=derived):
            assert assert_period_volumes_match(con) > 100
    finally:
        con.close()


@pytest.mark.parametrize(
    "fixture", [edge_journeys, exports.marketplace, exports.undated, exports.pipeline]
)
def test_period_volumes_equal_the_unpivot_query_on_small_histories(fixture):
    """Skipped stages, recycles, undated and opportunity-only histories: same counts."""
    con = with_journey(fixture())
    for derived in (False, True):
        with journey.reading(con, fresh=derived):
            assert_period_volumes_match(con)


def test_query_df_sorts_by_the_named_columns_like_order_by() -> None:
    """sort_by orders ascending, NULLs last, ties by the next column, as ORDER BY would,
    on the Arrow path and on the ``.df()`` path taken while a result is still open."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES "
        "(TIMESTAMP '2024-01-02 10:00', 'b', 1), (NULL, 'a', 2), "
        "(TIMESTAMP '2024-01-01 09:00', 'z', 3), (TIMESTAMP '2024-01-02 10:00', 'a', 4), "
        "(TIMESTAMP '2024-01-01 09:00', NULL, 5)) v(ts, id, n)"
    )
    sql = "SELECT ts, id, n FROM t WHERE n >= $lo"
    # worked by hand: 01-01 (z, then NULL id), 01-02 (a, then b), the NULL time last
    expected = [3, 5, 4, 1, 2]
    arrow = flt.query_df(con, sql, {"lo": 0, "unused": 1}, sort_by=("ts", "id"))
    assert arrow["n"].tolist() == expected
    assert arrow.index.tolist() == list(range(5))
    con.execute("SELECT * FROM range(3)")  # an unfinished result: query_df falls back
    fallback = flt.query_df(con, sql, {"lo": 0}, sort_by=("ts", "id"))
    assert fallback["n"].tolist() == expected
    assert fallback.index.tolist() == list(range(5))
