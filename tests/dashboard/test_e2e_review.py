"""The Monthly review page in a real browser: served by `handoff serve`, drawn by chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from analysis import store
from analysis.lifecycle import metrics, review
from tests.browser import assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.e2e

ALL_DRAWN = """() => {
    const q = (s) => document.querySelectorAll(s).length;
    return q('[data-testid="stPlotlyChart"] .main-svg') >= 6
        && q('[data-testid="stMetricValue"]') >= 9
        && q('[data-testid="stDataFrame"]') >= 6;
}"""


def test_review_page_renders(served_app, page, demo_db) -> None:
    """The page shows the MQLs of the month it opens on (the last complete month with
    data), draws its three charts (the open Outcomes tab's included) and six tables
    without an exception box, serves the HTML report from its download button, and
    leaves a full-page screenshot in artifacts/review.png.
    """
    con = store.connect_read_only(demo_db)
    try:
        month = review.default_month(con)
        mqls = metrics.headline(con, month, review.month_end(month))["volumes"]["mql"]
    finally:
        con.close()
    page.goto(served_app + "/review")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Monthly review")).to_be_visible()
    page.wait_for_function(ALL_DRAWN)
    assert_no_exception(page)
    mql_metric = page.get_by_test_id("stMetric").filter(has_text="MQLs").first
    expect(mql_metric.get_by_test_id("stMetricValue")).to_have_text(f"{mqls:,}")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download HTML report").click()
    html = info.value.path().read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert f"Monthly smarketing review: {review.month_label(month)}" in html

    # Streamlit scrolls inside its own container: grow the window to the content's height
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight"
    )
    page.set_viewport_size({"width": 1400, "height": int(height) + 200})
    page.wait_for_function(ALL_DRAWN)
    wait_for_app(page)
    assert_no_exception(page)
    assert screenshot(page, "review").stat().st_size > 50_000
