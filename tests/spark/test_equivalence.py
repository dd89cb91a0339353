"""Same numbers on both engines: every function behind the pages, `handoff metrics --json`
and the scoring lab's feature matrix, on DuckDB and on Spark over the exported Parquet.

Tolerances are those of tests/spark/compare.py: counts and labels identical, floats and
quantiles within 1e-9 relative.
"""

from __future__ import annotations

import pytest

from analysis import store
from tests.spark.compare import differences
from tests.spark.workload import SLOW, WORKLOAD

FUNCTIONS = dict(WORKLOAD)
KNOWN: dict[str, str] = {}
"""Differences found by this test and not yet fixed: they fail visibly as xfail."""
NAMES = [
    pytest.param(name, marks=pytest.mark.xfail(reason=KNOWN[name])) if name in KNOWN else name
    for name, _ in WORKLOAD
    if name not in SLOW
]


@pytest.mark.parametrize("name", NAMES)
def test_same_result_on_duckdb_and_spark(name: str, duck_con, spark_con) -> None:
    """It returns the same result on Spark as on DuckDB (the page's table, the metrics JSON,
    the feature matrix), to the stated tolerance."""
    fn = FUNCTIONS[name]
    expected = fn(store.read_cursor(duck_con))
    got = fn(spark_con.cursor())
    assert differences(expected, got, name) == []


def test_headline_is_not_trivially_empty(duck_con) -> None:
    """The history the comparison runs on has volumes, SLA tiers and reasons to compare
    (a comparison of two empty results would prove nothing)."""
    payload = FUNCTIONS["metrics.headline"](store.read_cursor(duck_con))
    # The 4,000-lead demo (tests/conftest.py): every lead counts once at the lead stage.
    assert payload["volumes"]["lead"] == 4_000
    assert payload["volumes"]["mql"] > 0 and payload["volumes"]["customer"] > 0
    assert payload["sla"] and payload["top_rejection_reasons"]
