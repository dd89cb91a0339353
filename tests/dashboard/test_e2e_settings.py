"""The Settings page in a real browser: served by `handoff serve` (read-only), in chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def test_settings_page_reads_in_full_and_offers_the_command(served_app, page, demo_db):
    """Every setting and its whole meaning are readable; the served dashboard is read-only,
    so there is no Save button and the equivalent command is shown."""
    page.goto(served_app + "/settings")
    code = page.get_by_test_id("stCode").first
    expect(code).to_contain_text("handoff settings set --db")
    wait_for_app(page)
    assert_no_exception(page)
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    table = page.get_by_test_id("stTable")
    expect(table).to_contain_text("Software, Financial Services, Manufacturing")
    expect(table).to_contain_text("the target_industry fit feature. Empty: the feature is not")
    expect(code).to_contain_text(str(demo_db))
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    assert screenshot(page, "settings").stat().st_size > 10_000
