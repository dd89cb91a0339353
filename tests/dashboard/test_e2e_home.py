"""The leader's question in a real browser: "how did last month go, better or worse, and why".

Served by `handoff serve`, rendered by chromium. Home answers the first two parts on the first
screen (last complete month vs target and vs the month before, with verdicts); one click on
"Why?" opens that month's review with its health checks and what changed.
"""

from __future__ import annotations

import time

import duckdb
import pytest
from playwright.sync_api import expect

from analysis.definitions import data_as_of, last_complete_month
from analysis.lifecycle import metrics
from analysis.lifecycle import review as rv
from tests.browser import assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.e2e


def test_leader_answers_last_month_from_home_in_one_click(served_app, page, demo_db):
    """Home shows last month's leads (the engine's count) with the change vs the month before
    and its target; one click ("Why?") opens that month's review showing the health checks
    and what changed. At most 3 clicks; the time it took is printed."""
    con = duckdb.connect(str(demo_db), read_only=True)
    month = last_complete_month(data_as_of(con))
    leads = metrics.headline(con, month, rv.month_end(month))["volumes"]["lead"]
    con.close()
    label = rv.month_label(month)
    previous = f"{rv.add_months(month, -1):%b %Y}"

    clicks, started = 0, time.monotonic()
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(served_app)
    wait_for_app(page)
    expect(page.get_by_role("heading", name=f"{label} at a glance")).to_be_visible()
    values = page.get_by_test_id("stMetricValue")
    expect(values.first).to_have_text(f"{leads:,}")
    deltas = page.get_by_test_id("stMetricDelta")
    expect(deltas.first).to_contain_text(f"vs {previous}")  # better or worse
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("target")  # against the goal
    expect(main).to_contain_text("Health checks")
    assert_no_exception(page)
    home_seconds = time.monotonic() - started
    screenshot(page, "home")

    page.get_by_role("link", name=f"Why? Open the monthly review of {label}").click()
    clicks += 1
    expect(page.get_by_role("heading", name="Monthly review")).to_be_visible()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Health checks")).to_be_visible()
    expect(page.get_by_role("heading", name="What changed since last month")).to_be_visible()
    expect(page.get_by_role("combobox", name="Month")).to_have_value(label)
    assert_no_exception(page)
    total = time.monotonic() - started
    assert clicks <= 3
    print(f"leader's job: {clicks} click(s), Home {home_seconds:.1f} s, answer {total:.1f} s")
