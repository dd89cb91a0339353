"""The Rejections page in a real browser: charts render and the sidebar filter re-computes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from analysis import filters as flt
from analysis import store
from analysis.lifecycle import rejections
from tests.browser import assert_no_exception, open_page, screenshot, wait_for_app

pytestmark = pytest.mark.e2e

CHARTS = 2
"""Charts of a first visit: the Pareto and the open tab's (reasons by source)."""
SOURCE = "paid_social"
SOURCE_WORDS = "Paid social"  # the sidebar offers values in words; the URL keeps the code


def dispositions(demo_db, sources: tuple[str, ...]) -> str:
    """The "Dispositions" figure the page should show for the default period and sources."""
    con = store.connect_read_only(demo_db)
    try:
        opts = flt.filter_options(con)
        filters = flt.Filters(start=opts["first_date"], end=opts["last_date"], sources=sources)
        mix = rejections.disposition_mix(con, filters)
    finally:
        con.close()
    return f"{int(mix['total'].iloc[0]):,}"


def test_source_filter_updates_the_dispositions(served_app, page, demo_db):
    """The first visit's two charts render; picking one source in the sidebar changes the number of
    dispositions to the engine's count for that source; no exception box; a screenshot."""
    before, after = dispositions(demo_db, ()), dispositions(demo_db, (SOURCE,))
    assert before != after

    charts = open_page(page, served_app + "/rejections", "Rejections", CHARTS)

    total = (
        page.get_by_test_id("stMetric")
        .filter(has_text="Dispositions")
        .get_by_test_id("stMetricValue")
    )
    expect(total).to_have_text(before)
    source = (
        page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="Source")
    )
    source.click()
    page.get_by_role("option", name=SOURCE_WORDS, exact=True).click()
    page.keyboard.press("Escape")
    expect(total).to_have_text(after)
    expect(charts).to_have_count(CHARTS)
    wait_for_app(page)
    assert_no_exception(page)

    assert screenshot(page, "rejections").stat().st_size > 50_000
    page.get_by_role("tab", name="Recycling").click()
    expect(page.get_by_test_id("stMetric").filter(has_text="Recycle rate")).to_be_visible()
    expect(charts).to_have_count(CHARTS)
    wait_for_app(page)
    assert_no_exception(page)
    assert "section=recycling" in page.url
