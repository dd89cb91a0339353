"""Every SQL statement the engine sends on the demo translates to Spark SQL that Spark
accepts, with the same columns DuckDB returns.

The statements are recorded by a real DuckDB connection wrapped in
:class:`tests.spark.recording.RecordingConnection` while the whole workload runs (every
page's functions, the metrics, the review, the data page, the scoring lab). Spark then
analyses each one (tables, columns, functions and types are resolved as in a real run);
tests/spark/test_equivalence.py runs the headline ones and compares the numbers.
"""

from __future__ import annotations

import re

import pytest

from analysis import store
from tests.spark.recording import RecordingConnection
from tests.spark.workload import WORKLOAD


@pytest.fixture(scope="module")
def recorded(duck_con) -> dict[str, object]:
    """Distinct SQL text -> the parameters of its first use, over the whole workload."""
    rec = RecordingConnection(store.read_cursor(duck_con))
    for _name, fn in WORKLOAD:
        fn(rec)
    first: dict[str, object] = {}
    for sql, params in rec.log:
        first.setdefault(sql, params)
    return first


def test_the_workload_sends_many_distinct_statements(recorded) -> None:
    """The recording sees the engine's queries (a broken recorder would see none)."""
    assert len(recorded) >= 60
    assert any("quantile_cont" in sql for sql in recorded)
    # constructs the dialect layer rewrites (analysis/engines/dialect.py GAPS)
    for construct in ("row_number()", "timezone(", "list_contains"):
        assert any(construct in sql for sql in recorded), construct


def test_every_statement_is_accepted_by_spark(recorded, duck_con, spark_con) -> None:
    """Each statement translates, Spark analyses it, and it has DuckDB's column names."""
    failures = []
    for sql, params in recorded.items():
        if sql.strip().upper().startswith("USE "):
            continue
        try:
            columns = spark_con.analyse(sql, params)
        except Exception as exc:  # noqa: BLE001 - collect every failure, then report
            failures.append(f"{str(exc)[:300]}\n{sql[:300]}")
            continue
        cur = store.read_cursor(duck_con)
        expected = [d[0] for d in cur.execute(sql, params).description]
        named = [(i, c) for i, c in enumerate(expected) if re.fullmatch(r"[A-Za-z_]\w*", c)]
        if len(columns) != len(expected) or any(columns[i] != c for i, c in named):
            failures.append(f"columns {columns} vs DuckDB {expected}\n{sql[:300]}")
    assert failures == []
