"""The SLA & response page in a real browser: the clock toggle re-computes, and the ops job
("who breaches the SLA, whom do I call first") is answered by the queue's first row."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from analysis import filters as flt
from analysis import store
from analysis.lifecycle import sla
from dashboard.display import fmt_share
from tests.browser import assert_no_exception, open_page, screenshot, wait_for_app
from tests.paths import ARTIFACTS

pytestmark = pytest.mark.e2e

CHARTS = 1
"""Charts of a first visit: the response-time curve (the other sections are tabs)."""


def expected_hot(demo_db, clock: str) -> str:
    """The hot tier's compliance the page should show for the sidebar's default filters."""
    con = store.connect_read_only(demo_db)
    try:
        opts = flt.filter_options(con)
        filters = flt.Filters(start=opts["first_date"], end=opts["last_date"])
        table = sla.sla_compliance(con, filters, by="tier", clock=clock).set_index("tier")
    finally:
        con.close()
    return fmt_share(table.loc["hot", "rate"])


def expected_queue(demo_db, days: int | None):
    """The engine's call order for the horizon (no sidebar filter applies by default)."""
    con = store.connect_read_only(demo_db)
    try:
        return sla.breach_queue(con, max_age_days=days)
    finally:
        con.close()


def first_queue_row(page: Page) -> list[str]:
    """The texts of the first data row of the breach queue grid."""
    row = page.locator('.st-key-sla_table_queue [role="row"]').nth(1)
    expect(row).to_be_attached()  # the grid draws on a canvas; its rows are for readers
    return [c.strip() for c in row.locator('[role="gridcell"]').all_text_contents()]


def test_clock_toggle_updates_compliance(served_app, page, demo_db):
    """The first visit's chart renders; choosing business hours changes the hot tier's
    compliance to the engine's business-hours figure; opening "Who keeps the SLA" draws its
    two charts; no exception box; a full-page screenshot is left."""
    before, after = expected_hot(demo_db, "policy"), expected_hot(demo_db, "business")
    assert before != after

    charts = open_page(page, served_app + "/sla", "SLA & response", CHARTS)

    hot = (
        page.get_by_test_id("stMetric")
        .filter(has_text="Within SLA: Hot")
        .get_by_test_id("stMetricValue")
    )
    expect(hot).to_have_text(before)
    page.get_by_test_id("stRadio").get_by_text("Business hours", exact=True).click()
    expect(hot).to_have_text(after)
    expect(page).to_have_url(re.compile(r"[?&]clock=business"))
    expect(charts).to_have_count(CHARTS)
    wait_for_app(page)
    assert_no_exception(page)
    assert not [e for e in page.console_errors if "plotly" in e.lower()]

    assert screenshot(page, "sla").stat().st_size > 50_000
    page.get_by_role("tab", name="Who keeps the SLA").click()
    expect(page).to_have_url(re.compile(r"[?&]section=compliance"))
    expect(charts).to_have_count(2)
    for i in range(2):
        expect(charts.nth(i).locator(".main-svg").first).to_be_attached()
    wait_for_app(page)
    assert_no_exception(page)


def test_ops_job_whom_to_call_first(served_app, page, demo_db, browser):
    """Ops opens the SLA page and reads whom to call first: the queue's first row is the
    engine's most urgent open MQL of the last 30 days (hot before standard, then most past
    target). Widening the horizon to 90 days re-orders to that horizon's first lead and
    writes age=90 in the URL; the copied URL opens the same horizon and the same first row
    in a new browser tab. The time to the answer is written to artifacts/ops_job.txt."""
    month, quarter = expected_queue(demo_db, 30), expected_queue(demo_db, 90)
    assert len(month) > 0 and len(quarter) > len(month)

    started = time.monotonic()
    page.goto(served_app + "/sla")
    expect(page.get_by_role("heading", name="whom to call first")).to_be_visible()
    first = first_queue_row(page)
    answered = time.monotonic() - started
    assert first[0] == month.iloc[0]["lead_id"]
    assert ("Hot" in first) == (month.iloc[0]["tier"] == "hot")
    wait_for_app(page)
    assert_no_exception(page)

    horizon = page.get_by_test_id("stSelectbox").filter(has_text="Handed off in the last")
    horizon.click()
    page.get_by_role("option", name="90 days", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]age=90"))
    expect(page.locator('.st-key-sla_table_queue [role="row"]').nth(1)).to_contain_text(
        quarter.iloc[0]["lead_id"]
    )
    wait_for_app(page)

    copied = page.url
    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:
        other.goto(copied)
        expect(other.get_by_role("combobox", name="Handed off in the last")).to_have_value(
            "90 days"
        )
        assert first_queue_row(other)[0] == quarter.iloc[0]["lead_id"]
        assert_no_exception(other)
    finally:
        other.context.close()

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "ops_job.txt").write_text(
        f"SLA page opened to the first row of the breach queue: {answered:.1f} s\n"
    )
