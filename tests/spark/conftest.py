"""One Spark session (local[2]) for every Spark test, and the demo history as Parquet.

Spark starts in 10-20 s, so the session is built once per test run (and all Spark tests
run on one xdist worker: they carry the ``xdist_group("spark")`` mark). Small data (the
4,000-lead demo of tests/conftest.py), two shuffle partitions, no web UI, UTC session
time zone: that is what :func:`analysis.engines.spark.session` sets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import store
from analysis.engines import parquet


@pytest.fixture(scope="session")
def parquet_source(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database exported with ``parquet.export`` (what ``handoff export`` does)."""
    directory = tmp_path_factory.mktemp("parquet") / "history"
    parquet.export(demo_db, directory)
    return directory


@pytest.fixture(scope="session")
def spark_con(parquet_source: Path):
    """A Spark connection over the exported demo (local[2])."""
    from analysis.engines.spark import SparkConnection

    return SparkConnection(parquet_source, "local[2]")


@pytest.fixture(scope="session")
def duck_con(demo_db: Path):
    """A read-only DuckDB connection on the same demo database."""
    con = store.connect_read_only(demo_db)
    yield con
    con.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/spark/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.spark)
            item.add_marker(pytest.mark.xdist_group("spark"))
