"""The home page in a real browser: served by `handoff serve`, rendered by chromium."""

from __future__ import annotations

import duckdb
import pytest
from playwright.sync_api import expect

from tests.browser import assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def test_home_shows_row_counts(served_app, page, demo_db):
    """It shows the leads count from the database, no exception box, and leaves a screenshot."""
    con = duckdb.connect(str(demo_db), read_only=True)
    (n_leads,) = con.execute("SELECT count(*) FROM leads").fetchone()
    con.close()
    page.goto(served_app)
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Handoff Health")).to_be_visible()
    values = page.get_by_test_id("stMetricValue")
    expect(values.first).to_have_text(f"{n_leads:,}")
    assert_no_exception(page)
    assert screenshot(page, "home").stat().st_size > 10_000
