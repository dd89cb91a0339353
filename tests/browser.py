"""Helpers for real-browser tests: wait for Streamlit to finish a run, check for exceptions."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.paths import ARTIFACTS

WAIT_MS = 90_000
"""Ceiling of every wait on the browser: generous, so a busy machine only makes a test slower.

Tests wait for a condition (a text, a number, the app idle), never for a fixed time."""
expect.set_options(timeout=WAIT_MS)


def wait_for_app(page: Page, timeout_ms: int = WAIT_MS) -> None:
    """Wait until the app has rendered and no element is stale or running."""
    expect(page.get_by_test_id("stApp")).to_be_visible(timeout=timeout_ms)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            if (!app) return false;
            if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
            if (document.querySelector('[data-stale="true"]')) return false;
            // placeholders of elements a run has not sent yet (between reruns)
            if (document.querySelector('[data-testid="stSkeleton"]')) return false;
            const grids = document.querySelectorAll('[data-testid="stDataFrame"]');
            for (const g of grids) {
                if (!g.checkVisibility()) continue;  // hidden tab or closed expander
                if (g.querySelectorAll('[role="row"]').length < 2) return false;
            }
            const charts = document.querySelectorAll('[data-testid="stPlotlyChart"]');
            for (const c of charts) { if (!c.querySelector('.main-svg')) return false; }
            return document.querySelectorAll('[data-testid="stMainBlockContainer"] *').length > 5;
        }""",
        timeout=timeout_ms,
    )


def assert_no_exception(page: Page) -> None:
    """Fail when Streamlit shows an exception box."""
    boxes = page.get_by_test_id("stException")
    assert boxes.count() == 0, boxes.first.inner_text()


def cut_metric_values(page: Page) -> list[str]:
    """The metric cards on screen whose value the card cuts short (drawn as "not measura…").

    A value is cut when its text, or an element inside it, is wider than the box that
    clips it (Streamlit ends such text with an ellipsis).
    """
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid="stMetricValue"]'))
            .filter(v => v.checkVisibility())
            .filter(v => [v, ...v.querySelectorAll('*')]
                .some(e => e.scrollWidth > e.clientWidth + 1))
            .map(v => v.innerText)"""
    )


def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot of the whole page under artifacts/ and return its path.

    Streamlit scrolls inside its own container, so Playwright's ``full_page`` alone only
    captures the first screen: the viewport first grows to the content's height.
    """
    height = page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]');
            return Math.max(main ? main.scrollHeight : 0, document.body.scrollHeight);
        }"""
    )
    width = page.viewport_size["width"] if page.viewport_size else 1400
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 12_000)})
    wait_for_app(page)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_page(page: Page, url: str, heading: str, charts: int) -> Locator:
    """Open ``url``, wait until ``charts`` plotly charts are drawn and the run is over, and
    check the heading is shown and no exception box is; returns the charts' locator.

    A cold server computes before it draws, so the first wait is generous.
    """
    page.goto(url)
    located = page.get_by_test_id("stPlotlyChart")
    expect(located).to_have_count(charts)
    wait_for_app(page)
    assert_no_exception(page)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    for i in range(charts):
        expect(located.nth(i).locator(".main-svg").first).to_be_attached()
    return located


def type_points(page: Page, row: int, value: float) -> Locator:
    """Open the Scoring lab's "proposed" cell of the points editor's ``row`` (0 = first
    feature) and type ``value`` into it, not yet committed.

    The grid is drawn on a canvas: a double click on the cell opens its editor, an input
    in the page's portal. Returns that input; pressing Enter on it commits the edit, and
    Streamlit's grid sends it 150 ms later (its own debounce).
    """
    from dashboard.scoring_ui import EDITOR_ROW_PX, EDITOR_WIDTHS

    grid = page.get_by_test_id("stDataFrame").first.bounding_box()
    assert grid is not None, "the points editor is not on screen"
    # the middle of the "proposed" column, right of feature, kind and current
    x = sum(EDITOR_WIDTHS[c] for c in ("label", "kind", "current")) + EDITOR_WIDTHS["proposed"] / 2
    y = EDITOR_ROW_PX * (1 + row) + EDITOR_ROW_PX / 2  # below the header
    page.mouse.dblclick(grid["x"] + x, grid["y"] + y)
    cell = page.locator("#portal input, #portal textarea").first
    cell.wait_for(timeout=WAIT_MS)
    cell.fill(f"{value:g}")
    return cell
