"""Score bands for breakdowns: the saved current rule's score at handoff, from one definition."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import filters
from analysis.scoring import bands, features
from analysis.scoring import model as scoring
from tests.journeys import build

HANDED = {
    "P": [("lead", "2024-01-01 09:00"), ("mql", "2024-01-02 10:00")],
    "D": [("lead", "2024-01-01 09:00"), ("sql", "2024-01-03 10:00")],  # mql skipped
    "B": [("lead", "2024-01-01 09:00"), ("mql", "2024-01-04 10:00")],
    "N": [("lead", "2024-01-01 09:00")],  # never handed off
}
TOUCHES = {
    "P": [("2024-01-01 10:00", "page_view", "pricing")],
    "D": [("2024-01-01 10:00", "demo_request"), ("2024-01-05 10:00", "page_view", "pricing")],
    "B": [("2024-01-01 10:00", "page_view", "blog", 4000), ("2024-01-01 11:00", "chat")],
    "N": [("2024-01-01 10:00", "demo_request")],
}


def bands_of(con, points=None) -> dict[str, tuple[float, str]]:
    rows = con.execute(filters.rule_score_sql(points)).fetchall()
    return {lead: (score, band) for lead, score, band in rows}


def test_without_a_saved_rule_the_starter_points_score_the_bands() -> None:
    """Starter points: pricing 25, demo 50, blog hour 10; touchpoints after handoff ignored.

    P: pricing before handoff -> 25 -> 25-49. D: demo before its (sql) handoff -> 50; its
    pricing view comes after -> 50-74. B: blog 4,000 s -> 10 -> <25. N: not handed off.
    """
    con = build(HANDED, touches=TOUCHES)
    assert bands_of(con) == {"P": (25, "25-49"), "D": (50, "50-74"), "B": (10, "<25")}
    assert filters.SCORE_BANDS == bands.SCORE_BANDS == ("<25", "25-49", "50-74", "75+")


def test_the_saved_current_rule_scores_the_bands() -> None:
    """A saved rule named current replaces the starter points; a newer draft does not.

    Current: pricing 80, chat 20, demo 0 -> P 80 (75+), D 0 (<25), B 20 (<25).
    """
    con = build(HANDED, touches=TOUCHES)
    con.executemany(
        "INSERT INTO scoring_models VALUES (?, ?, ?, 'ops', ?, ?, 'manual', NULL)",
        [
            ("rule-current", "Current", "2024-01-01", '{"pricing_page": 80, "chat": 20}', 50),
            ("draft", "Draft", "2024-02-01", '{"pricing_page": 1}', 10),
        ],
    )
    assert bands_of(con) == {"P": (80, "75+"), "D": (0, "<25"), "B": (20, "<25")}
    breakdown = con.execute(
        f"SELECT l.lead_id, {filters.dimension_sql('score_band')} "
        f"FROM {filters.lead_from_sql(with_score=True)} ORDER BY 1"
    ).fetchall()
    assert breakdown == [("B", "<25"), ("D", "<25"), ("N", "not handed off"), ("P", "75+")]


@pytest.mark.parametrize("seed", [1, 2])
def test_band_score_equals_the_scoring_lab_score_at_handoff(seed: int) -> None:
    """For random points on the band's features, SQL and the lab's X @ w agree per lead."""
    con = build(HANDED, touches=TOUCHES)
    rng = np.random.default_rng(seed)
    names = bands.band_features()
    points = {n: float(rng.integers(-20, 40)) for n in names}
    fm = features.build_features(con)
    lab = scoring.score(fm, scoring.ScoringConfig(points, 0))
    expected = {
        lead: float(s)
        for lead, s, handed in zip(fm.lead_ids, lab, fm.handed_off, strict=True)
        if handed
    }
    got = {lead: float(score) for lead, (score, _) in bands_of(con, points).items()}
    assert got == expected
    assert "senior_title" not in names and "pricing_page" in names
