"""Every dashboard page through Streamlit's AppTest, against the small demo database."""

from __future__ import annotations

import duckdb
from streamlit.testing.v1 import AppTest

from tests.paths import APP


def test_home_shows_table_counts(app_at, demo_db):
    """The home page shows the real number of leads and touchpoints."""
    con = duckdb.connect(str(demo_db), read_only=True)
    leads, touches = con.execute(
        "SELECT (SELECT count(*) FROM leads), (SELECT count(*) FROM touchpoints)"
    ).fetchone()
    con.close()
    values = {m.label: m.value for m in app_at().metric}
    assert values["Leads"] == f"{leads:,}"
    assert values["Touchpoints"] == f"{touches:,}"


def test_home_explains_a_missing_database(tmp_path, monkeypatch):
    """With no database file the home page says how to make one instead of failing."""
    monkeypatch.setenv("HANDOFF_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "handoff generate" in at.error[0].value
