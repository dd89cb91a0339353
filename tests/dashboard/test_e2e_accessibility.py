"""Every page of the app passes axe-core with no serious or critical violation.

axe-core (through ``axe-playwright-python``) runs in chromium on each page once it has
finished drawing: colour contrast of all text including captions, list and heading
structure, labels of controls, alt text. Moderate and minor findings are reported in the
failure message of a serious one but do not fail the test.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser import assert_no_exception, wait_for_app

pytestmark = pytest.mark.e2e

PAGES = {
    "Home": "",
    "Funnel": "funnel",
    "SLA & response": "sla",
    "Rejections": "rejections",
    "Monthly review": "review",
    "Scoring lab": "scoring",
    "Data": "data",
    "Settings": "settings",
}
BLOCKING = ("serious", "critical")


def describe(violations: list[dict]) -> str:
    """One line per violation: rule, impact, how many elements, the first target and why."""
    lines = []
    for v in violations:
        node = v["nodes"][0]
        why = " ".join(node.get("failureSummary", "").split())[:200]
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])}x) {node['target']}: {why}")
    return "\n".join(lines)


@pytest.mark.parametrize("path", list(PAGES.values()), ids=list(PAGES))
def test_page_has_no_serious_accessibility_violation(served_app, page, path):
    """The page draws without an exception and axe-core finds no serious or critical
    violation on it (contrast, lists, labels, names)."""
    page.goto(f"{served_app}/{path}")
    wait_for_app(page)
    assert_no_exception(page)
    # the app's repair of Streamlit's navigation markup runs with the sidebar
    expect(page.locator('[data-testid="stSidebarNavItems"][role="none"]')).to_be_attached()
    results = Axe().run(page).response
    blocking = [v for v in results["violations"] if v["impact"] in BLOCKING]
    assert not blocking, describe(results["violations"])
