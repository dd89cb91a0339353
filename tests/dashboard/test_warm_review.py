"""The review months a user is likely to pick are computed in the background after serve."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from analysis.lifecycle import review as rv
from dashboard import state, warm


def test_the_running_month_and_three_before_the_default_are_warmed(
    app_at, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo ends 2026-10-31, so the review opens on September: the warm-up computes
    October (the running month) and June to August, and when the page then opens
    August every call it makes for that month is one the warm-up already made (answered
    from the cache)."""
    monkeypatch.setenv("HANDOFF_DB", str(demo_db))
    made = warm.warm_review_months()
    months = warm.review_months_done(made)
    assert months == {date(2026, 10, 1), date(2026, 8, 1), date(2026, 7, 1), date(2026, 6, 1)}
    at = app_at("app_pages/review.py")
    at.selectbox(key="rv_month").set_value(date(2026, 8, 1)).run()
    assert not at.exception, [e.value for e in at.exception]
    warmed = {(fn, args) for fn, args in made}
    page = [
        (fn, args)
        for fn, args, _ in state.recent_calls()
        if any(a in ("2026-08", date(2026, 8, 1), rv.month_filters(date(2026, 8, 1))) for a in args)
    ]
    assert len(page) >= 7
    assert set(page) <= warmed, set(page) - warmed


def test_no_months_are_warmed_when_page_warming_is_off(monkeypatch, demo_db: Path) -> None:
    """``HANDOFF_WARM_PAGES=0`` (or ``HANDOFF_WARM_REVIEW_MONTHS=0``) starts no thread."""
    monkeypatch.setenv("HANDOFF_DB", str(demo_db))
    monkeypatch.setenv("HANDOFF_WARM_PAGES", "0")
    assert warm.warm_review_months_in_background() is None
    monkeypatch.setenv("HANDOFF_WARM_PAGES", "1")
    monkeypatch.setenv("HANDOFF_WARM_REVIEW_MONTHS", "0")
    assert warm.warm_review_months_in_background() is None
