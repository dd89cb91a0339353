"""The dashboard on the Spark engine (AppTest, same process as the shared Spark session):
the Funnel page draws from the Parquet history with the numbers the DuckDB file gives, and
write widgets give way to the stated reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis import engines
from tests.paths import APP


def metrics_of(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def open_funnel() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=900).run()
    at.switch_page("app_pages/funnel.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_funnel_page_shows_the_same_numbers_on_spark(
    demo_db: Path, parquet_source: Path, spark_con, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every headline metric of the Funnel page reads the same on Spark as on DuckDB."""
    monkeypatch.setenv("HANDOFF_DB", str(demo_db))
    monkeypatch.delenv(engines.ENGINE_ENV, raising=False)
    on_duckdb = metrics_of(open_funnel())
    monkeypatch.setenv(engines.ENGINE_ENV, "spark")
    monkeypatch.setenv("HANDOFF_DB", str(parquet_source))
    on_spark = metrics_of(open_funnel())
    assert on_duckdb and on_spark == on_duckdb


def test_writes_are_off_on_spark_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the Spark engine the dashboard never writes, even with writes allowed."""
    from dashboard import state

    monkeypatch.setenv(engines.ENGINE_ENV, "spark")
    monkeypatch.setenv(state.WRITES_ENV, "1")
    assert state.writes_enabled() is False
    assert "import --parquet" in engines.SPARK_READ_ONLY
