"""The Scoring lab in a real browser: charts render and the threshold slider re-scores."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from analysis import store
from analysis.scoring import features, whatif
from analysis.scoring import model as scoring
from tests.browser import assert_no_exception, screenshot, type_points, wait_for_app

pytestmark = pytest.mark.e2e

STEPS = 5
"""Arrow presses on the threshold slider (one point each)."""


def demo_engine(demo_db) -> tuple:
    """(feature matrix, current rule, reps) of the demo database, as the page loads them."""
    con = store.connect_read_only(demo_db)
    try:
        return features.build_features(con), scoring.load_config(con), whatif.load_reps(con)
    finally:
        con.close()


def expected_per_month(demo_db, extra_points: int) -> tuple[str, str]:
    """The page's "MQLs per month" text at the current threshold and ``extra_points`` above.

    Computed straight from the engine: the current rule replayed with the threshold raised.
    """
    fm, current, reps = demo_engine(demo_db)
    raised = current.with_changes(threshold=current.threshold + extra_points)
    w = whatif.what_if(fm, current, raised, "sql", reps)
    return per_month_text(w, w.current, fm), per_month_text(w, w.proposed, fm)


def open_lab(page: Page, url: str) -> Locator:
    """Open the Scoring lab at ``url``, wait for it; the proposed "MQLs per month" value."""
    page.goto(url + "/scoring")
    wait_for_app(page)
    return (
        page.get_by_test_id("stMetric")
        .filter(has_text="MQLs per month")
        .get_by_test_id("stMetricValue")
    )


def per_month_text(w: whatif.WhatIf, rule: whatif.ConfigResult, fm) -> str:
    """A rule's "MQLs per month" as the page shows it: the mean over the complete months
    (every month before the one holding ``fm``'s end of the data)."""
    complete = w.months < fm.as_of.astype("datetime64[M]")
    return f"{rule.mqls_by_month[complete].sum() / complete.sum():,.1f}"


def test_threshold_slider_updates_the_proposed_numbers(served_app, page, demo_db):
    """Five ArrowRight presses raise the threshold by 5 points; the proposed MQLs per month
    change to what the engine computes for that threshold, with charts and no exception."""
    before, after = expected_per_month(demo_db, STEPS)
    assert before != after  # the demo rule's points are multiples of 5: +5 moves MQLs

    per_month = open_lab(page, served_app)
    assert_no_exception(page)
    expect(page.get_by_role("heading", name="Scoring lab")).to_be_visible()
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    # the second chart (quadrants) sits below the fold: wait for it, do not count too early
    expect(page.get_by_test_id("stPlotlyChart").nth(1)).to_be_attached()
    expect(per_month).to_have_text(before)

    thumb = page.get_by_test_id("stSlider").get_by_role("slider")
    thumb.focus()
    for _ in range(STEPS):
        thumb.press("ArrowRight")
    expect(per_month).not_to_have_text(before)
    expect(per_month).to_have_text(after)
    wait_for_app(page)
    assert_no_exception(page)
    # Streamlit scrolls inside its own container, so a full-page shot needs a tall window.
    page.set_viewport_size({"width": 1400, "height": 2600})
    wait_for_app(page)
    assert screenshot(page, "scoring").stat().st_size > 50_000


def test_points_typed_into_the_editor_are_replayed(served_app, page, demo_db):
    """Two points typed in a row into the editor (pricing page 0, then demo request 5):
    the proposed MQLs per month become the engine's for both changes, and stay so once the
    page is idle (the editor sends neither edit again, and neither is lost)."""
    fm, current, reps = demo_engine(demo_db)
    offered = list(fm.offered)
    first = current.with_changes({"pricing_page": 0.0})
    both = first.with_changes({"demo_request": 5.0})
    texts = []
    for rule in (current, first, both):
        w = whatif.what_if(fm, current, rule, "sql", reps)
        texts.append(per_month_text(w, w.proposed, fm))
    assert len(set(texts)) == 3  # each edit moves the number

    per_month = open_lab(page, served_app)
    expect(per_month).to_have_text(texts[0])
    for (feature, value), text in zip(
        [("pricing_page", 0), ("demo_request", 5)], texts[1:], strict=True
    ):
        type_points(page, offered.index(feature), value).press("Enter")
        expect(per_month).to_have_text(text)
        wait_for_app(page)
    expect(per_month).to_have_text(texts[2])
    assert_no_exception(page)


def test_undated_export_renders_in_a_browser(page, tmp_path):
    """On an undated export (no touchpoints, no dates) the lab renders with no exception,
    says which built-in features it cannot offer, and flags the sales-entered grade."""
    from tests.conftest import serve_dashboard
    from tests.scoring.undated import undated_leads, write_undated_db

    db = write_undated_db(tmp_path / "undated.duckdb", undated_leads())
    with serve_dashboard(db, "serve-undated") as url:
        page.goto(url + "/scoring")
        expect(page.get_by_role("heading", name="Scoring lab")).to_be_visible()
        wait_for_app(page)
        assert_no_exception(page)
        expect(page.get_by_text("this history has no touchpoints").first).to_be_visible()
        expect(page.get_by_text("1 flagged as likely filled in by sales").first).to_be_visible()
        assert screenshot(page, "scoring-undated").stat().st_size > 20_000


def test_dragging_a_grade_cut_point_recounts_the_top_band(served_app, page, demo_db):
    """On the Grades tab, five ArrowRight presses on A's cut point raise it by 5 points; the
    A card then shows the engine's count of decided leads scoring at least that much."""
    from analysis.scoring import grades

    con = store.connect_read_only(demo_db)
    try:
        fm = features.build_features(con)
        current = scoring.load_config(con)
    finally:
        con.close()
    s = scoring.score(fm, current)
    cut = int(grades.suggest_cuts(s[fm.decided], (0.1, 0.2, 0.3, 0.4))[0])
    before = f"{int(((s >= cut) & fm.decided).sum()):,} leads"
    after = f"{int(((s >= cut + STEPS) & fm.decided).sum()):,} leads"
    assert before != after

    page.goto(served_app + "/scoring")
    wait_for_app(page)
    page.get_by_role("tab", name="Grades").click()
    card = page.get_by_test_id("stMetric").filter(has_text="A:").get_by_test_id("stMetricValue")
    expect(card).to_have_text(before)
    thumb = page.get_by_test_id("stSlider").filter(has_text="A from").get_by_role("slider")
    thumb.focus()
    for _ in range(STEPS):
        thumb.press("ArrowRight")
    expect(card).to_have_text(after)
    wait_for_app(page)
    assert_no_exception(page)
    assert screenshot(page, "scoring-grades").stat().st_size > 30_000


def test_a_decay_change_replays_the_faded_engagement(served_app, page, demo_db):
    """Choosing a 21-day half-life shows the engine's proposed MQLs per month on the faded
    matrix, and says the decay's effect."""
    from analysis.scoring import decay

    con = store.connect_read_only(demo_db)
    try:
        fm = features.build_features(con)
        current = scoring.load_config(con)
        reps = whatif.load_reps(con)
        ages = decay.engagement_ages(con)
    finally:
        con.close()
    faded = decay.decayed(fm, ages, decay.Decay("half-life", 21))
    w = whatif.what_if(faded, current, current, "sql", reps)
    expected = per_month_text(w, w.proposed, fm)
    before, _ = expected_per_month(demo_db, 0)
    assert expected != before  # fading lowers the engagement points: fewer MQLs

    per_month = open_lab(page, served_app)
    expect(per_month).to_have_text(before)
    page.get_by_test_id("stSelectbox").filter(has_text="Engagement points fade").click()
    page.get_by_role("option", name="by half every N days").click()
    days = page.get_by_test_id("stNumberInput").filter(has_text="N (days)").locator("input")
    expect(days).to_be_enabled()
    wait_for_app(page)
    days.fill("21")
    days.press("Enter")
    expect(per_month).to_have_text(expected)
    expect(page.get_by_text("half-life 21 days").first).to_be_visible()
    wait_for_app(page)
    assert_no_exception(page)
