"""Each dialect gap, tested on both engines: the same DuckDB SQL on DuckDB and, translated
by analysis/engines/dialect.py, on Spark, with the expected value worked out by hand."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from analysis.engines import dialect
from tests.spark.compare import same_scalar

T = "FROM (VALUES (1, 10.0), (2, 20.0), (3, 30.0), (4, 40.0), (5, 50.0)) t(i, x)"
# x = 10, 20, 30, 40, 50.
CASES = [
    # quantile_cont: position (n-1)q = 4 * 0.9 = 3.6 -> 40 + 0.6 * 10 = 46.
    ("quantile", f"SELECT quantile_cont(x, 0.9) {T}", None, 46.0),
    # FILTER on an aggregate: x > 20 leaves 30, 40, 50; the median is 40.
    ("filter", f"SELECT quantile_cont(x, 0.5) FILTER (WHERE x > 20) {T}", None, 40.0),
    ("median", f"SELECT median(x) {T}", None, 30.0),
    # date_diff counts boundaries crossed: 10:00:59 -> 10:01:01 crosses one minute.
    (
        "date_diff minute",
        "SELECT date_diff('minute', TIMESTAMP '2026-01-01 10:00:59', "
        "TIMESTAMP '2026-01-01 10:01:01')",
        None,
        1,
    ),
    # 31 January -> 1 February crosses one month boundary.
    (
        "date_diff month",
        "SELECT date_diff('month', TIMESTAMP '2026-01-31 23:00:00', TIMESTAMP '2026-02-01')",
        None,
        1,
    ),
    # epoch of an interval: 1 h 30 min = 5400 s.
    (
        "epoch interval",
        "SELECT epoch(TIMESTAMP '2026-01-01 11:30:00' - TIMESTAMP '2026-01-01 10:00:00')",
        None,
        5400.0,
    ),
    # epoch_us of 1970-01-01 00:00:01 = 1,000,000 microseconds.
    ("epoch_us", "SELECT epoch_us(TIMESTAMP '1970-01-01 00:00:01')", None, 1_000_000),
    # DATE - DATE is a number of days: 2026-03-01 - 2026-02-01 = 28.
    ("date minus date", "SELECT DATE '2026-03-01' - DATE '2026-02-01'", None, 28),
    # regexp_matches with the 'i' flag: 'VP Sales' matches '^vp' case-insensitively.
    ("regexp i", "SELECT regexp_matches('VP Sales', $p, 'i')", {"p": "^vp"}, True),
    ("regexp", "SELECT regexp_matches('VP Sales', $p)", {"p": "^vp"}, False),
    # list_position is 1-based; a missing value is NULL.
    ("list_position", "SELECT list_position(['a', 'b', 'c'], 'c')", None, 3),
    ("list_position missing", "SELECT list_position(['a', 'b'], 'z')", None, None),
    # list_contains with a bound list parameter.
    ("list_contains", "SELECT list_contains($xs, 'b')", {"xs": ["a", "b"]}, True),
    # A list holding only NULL (how the engine binds an empty list) contains nothing: false.
    ("list_contains typed empty", "SELECT list_contains($xs, 'b')", {"xs": [None]}, False),
    # list(DISTINCT ...)[1:2]: distinct sorted values, the first two.
    (
        "list slice",
        "SELECT (list(DISTINCT v ORDER BY v))[1:2] FROM (VALUES ('b'), ('a'), ('b'), ('c')) t(v)",
        None,
        ["a", "b"],
    ),
    # 12:00 UTC is 13:00 in Berlin in January (UTC+1).
    (
        "timezone",
        "SELECT timezone('Europe/Berlin', timezone('UTC', TIMESTAMP '2026-01-15 12:00:00'))",
        None,
        datetime(2026, 1, 15, 13, 0),
    ),
    ("to_days", "SELECT TIMESTAMP '2026-01-01' + to_days(3)", None, datetime(2026, 1, 4)),
    # A string parameter holding quotes and a backslash is a value, never SQL.
    ("escaping", "SELECT $s", {"s": "it's \\ 'quoted'; DROP TABLE x --"}, None),
    # Positional parameters bind in text order.
    ("positional", "SELECT ? - ?", [10, 3], 7),
    # row_number() OVER (): ids 1..n, each once (sum 1+2+3+4+5 = 15).
    ("row_number", f"SELECT sum(id) FROM (SELECT row_number() OVER () AS id, i {T})", None, 15),
    # row_number() OVER w (a named window) numbers within its partition, as DuckDB does:
    # groups a (x = 1, 2) and b (x = 3, 4, 5) give 1, 2 and 1, 2, 3 -> sum 9 (a numbering
    # over all rows would give 15).
    (
        "row_number named window",
        "SELECT sum(n) FROM (SELECT row_number() OVER w AS n "
        "FROM (VALUES ('a', 1), ('a', 2), ('b', 3), ('b', 4), ('b', 5)) t(g, x) "
        "WINDOW w AS (PARTITION BY g ORDER BY x))",
        None,
        9,
    ),
    # max(x, n): the n largest, largest first; of structs, by their first field, then the
    # next: (3, 'a'), (3, 'b'), (1, 'z') -> (3, 'b') first, (3, 'a') second.
    ("max n", f"SELECT max(x, 2) {T}", None, [50.0, 40.0]),
    (
        "max n of structs",
        "SELECT max({'at': a, 'kind': k}, 2)[2].kind "
        "FROM (VALUES (3, 'a'), (3, 'b'), (1, 'z')) t(a, k)",
        None,
        "a",
    ),
    # list[i] past the end is NULL (Spark would raise): [7][2] -> NULL, [7, 8][2] -> 8.
    ("list index past the end", "SELECT [7][2]", None, None),
    ("list index", "SELECT [7, 8][2]", None, 8),
    # Floats stay DOUBLE (Spark types 0.1 as DECIMAL otherwise): 0.1 * 3 as a double.
    ("double param", "SELECT $f * 3", {"f": 0.1}, 0.1 * 3),
]


@pytest.mark.parametrize(("name", "sql", "params", "expected"), CASES, ids=[c[0] for c in CASES])
def test_gap_gives_the_same_value_on_both_engines(name, sql, params, expected, spark_con) -> None:
    """DuckDB gives the hand-worked value, and Spark gives DuckDB's value."""
    duck = duckdb.connect()
    (got_duck,) = duck.execute(sql, params).fetchone() if params else duck.execute(sql).fetchone()
    if name == "escaping":
        expected = params["s"]
    assert same_scalar(list(got_duck) if isinstance(got_duck, list) else got_duck, expected)
    (got_spark,) = spark_con.execute(sql, params).fetchone()
    assert same_scalar(got_spark, got_duck), (got_spark, got_duck, dialect.to_spark(sql, params))


def test_unpivot_leaves_out_nulls_on_both_engines(spark_con) -> None:
    """UNPIVOT gives one row per non-NULL value: (1, 5), (2, NULL) -> a:1, b:5, a:2."""
    sql = """
    WITH long AS (
        UNPIVOT (SELECT * FROM (VALUES (1, 5), (2, NULL)) t(a, b))
        ON a, b INTO NAME col VALUE v
    )
    SELECT col, count(*) AS n, sum(v) AS total FROM long GROUP BY col ORDER BY col
    """
    expected = [("a", 2, 3), ("b", 1, 5)]
    assert duckdb.connect().execute(sql).fetchall() == expected
    assert [tuple(r) for r in spark_con.execute(sql).fetchall()] == expected


def test_every_gap_is_documented() -> None:
    """The list of gaps names each construct this file tests (the docs quote it)."""
    text = " ".join(dialect.GAPS)
    for construct in (
        "quantile_cont",
        "regexp_matches",
        "date_diff",
        "epoch",
        "list_position",
        "timezone",
        "UNPIVOT",
        "row_number",
        "DATE - DATE",
        "TIME",
        "max(x, n)",
        "list[i]",
    ):
        assert construct in text
