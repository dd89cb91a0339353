"""The SLA & response page in a real browser: charts render and the clock toggle re-computes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from analysis import filters as flt
from analysis import store
from analysis.lifecycle import sla
from dashboard.charts.sla import fmt_pct
from tests.browser import assert_no_exception, open_page, screenshot, wait_for_app

pytestmark = pytest.mark.e2e

CHARTS = 5


def expected_hot(demo_db, clock: str) -> str:
    """The hot tier's compliance the page should show for the sidebar's default filters."""
    con = store.connect_read_only(demo_db)
    try:
        opts = flt.filter_options(con)
        filters = flt.Filters(start=opts["first_date"], end=opts["last_date"])
        table = sla.sla_compliance(con, filters, by="tier", clock=clock).set_index("tier")
    finally:
        con.close()
    return fmt_pct(table.loc["hot", "rate"])


def test_clock_toggle_updates_compliance(served_app, page, demo_db):
    """All five charts render; choosing business hours changes the hot tier's compliance to
    the engine's business-hours figure; no exception box; a full-page screenshot is left."""
    before, after = expected_hot(demo_db, "policy"), expected_hot(demo_db, "business")
    assert before != after

    charts = open_page(page, served_app + "/sla", "SLA & response", CHARTS)

    hot = (
        page.get_by_test_id("stMetric")
        .filter(has_text="Within SLA: hot")
        .get_by_test_id("stMetricValue")
    )
    expect(hot).to_have_text(before)
    page.get_by_test_id("stRadio").get_by_text("Business hours", exact=True).click()
    expect(hot).to_have_text(after)
    expect(charts).to_have_count(CHARTS)
    wait_for_app(page)
    assert_no_exception(page)
    assert not [e for e in page.console_errors if "plotly" in e.lower()]

    assert screenshot(page, "sla").stat().st_size > 50_000
