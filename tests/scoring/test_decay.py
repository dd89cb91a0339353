"""Decay of engagement points: ages by hand, factors against plain loops, planted recovery."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.scoring.configs import ScoringConfig, score
from analysis.scoring.decay import (
    Decay,
    EngagementAges,
    decayed,
    engagement_ages,
    suggest_half_life,
)
from analysis.scoring.features import build_features
from tests.journeys import build
from tests.scoring.test_model import make_matrix


def test_ages_are_measured_to_the_decision_point_by_hand() -> None:
    """L1 handed off 2024-03-20 10:00: its last pricing view 2024-03-10 10:00 is 10 days old,
    its demo request at the handoff 0 days; a webinar after the handoff does not count.
    L2 never handed off: decision point = created 2024-01-01 + 30 days; its email click on
    2024-01-21 00:00 is 10 days old."""
    con = build(
        {
            "L1": [("lead", "2024-03-01 09:00"), ("mql", "2024-03-20 10:00")],
            "L2": [("lead", "2024-01-01 00:00")],
        },
        touches={
            "L1": [
                ("2024-03-02 10:00", "page_view", "pricing", 30),
                ("2024-03-10 10:00", "page_view", "Pricing", 30),
                ("2024-03-20 10:00", "demo_request", None, None),
                ("2024-03-25 10:00", "webinar", None, None),
            ],
            "L2": [("2024-01-21 00:00", "email_click", None, None)],
        },
    )
    ages = engagement_ages(con)
    assert ages.lead_ids.tolist() == ["L1", "L2"]
    col = {n: j for j, n in enumerate(ages.names)}
    assert ages.days[0, col["pricing_page"]] == pytest.approx(10.0)
    assert ages.days[0, col["demo_request"]] == pytest.approx(0.0)
    assert math.isnan(ages.days[0, col["webinar"]])
    assert ages.days[1, col["email_click"]] == pytest.approx(10.0)
    fm = build_features(con)
    half = decayed(fm, ages, Decay("half-life", 10))
    # pricing 10 days old at half-life 10 -> 0.5; demo request 0 days -> 1
    assert half.column("pricing_page")[0] == pytest.approx(0.5)
    assert half.column("demo_request")[0] == pytest.approx(1.0)
    lin = decayed(fm, ages, Decay("linear", 40))
    assert lin.column("pricing_page")[0] == pytest.approx(0.75)  # 1 - 10/40
    assert decayed(fm, ages, Decay("none")) is fm


@pytest.mark.parametrize("decay", [Decay("linear", 30), Decay("half-life", 14)])
def test_decayed_scores_equal_a_plain_loop(decay: Decay) -> None:
    """Score under decay = fit points + sum of engagement points x factor(age), lead by lead."""
    rng = np.random.default_rng(3)
    n = 300
    names = ["senior_title", "pricing_page", "demo_request", "webinar"]
    X = (rng.random((n, 4)) < 0.5).astype(np.float32)
    fm = make_matrix(X, names, ["fit", "engagement", "engagement", "engagement"])
    eng = ("pricing_page", "demo_request", "webinar")
    days = np.where(X[:, 1:] > 0, rng.random((n, 3)) * 90, np.nan).astype(np.float32)
    ages = EngagementAges(fm.lead_ids, eng, days)
    config = ScoringConfig(
        {"senior_title": 10, "pricing_page": 25, "demo_request": 50, "webinar": 5}, 40
    )
    got = score(decayed(fm, ages, decay), config)
    for i in range(n):
        total = 10 * X[i, 0]
        for j, pts in enumerate((25, 50, 5)):
            if X[i, j + 1]:
                age = float(days[i, j])
                f = (
                    max(0.0, 1 - age / decay.days)
                    if decay.kind == "linear"
                    else 0.5 ** (age / decay.days)
                )
                total += pts * f
        assert got[i] == pytest.approx(total, rel=1e-5, abs=1e-4)


def test_bad_decay_is_refused() -> None:
    """A decay says what is wrong."""
    with pytest.raises(ValueError, match="decay must be one of"):
        Decay("exponential", 3)
    with pytest.raises(ValueError, match="positive"):
        Decay("half-life", 0)


def test_a_planted_half_life_is_recovered() -> None:
    """Leads whose outcome follows engagement faded with a 30-day half-life: the held-out
    log-loss over a grid is lowest within [20, 45] days (tolerance: the neighbouring grid
    points of 30 with 20,000 leads), and no decay does worse than the planted one."""
    rng = np.random.default_rng(5)
    n = 20_000
    names = ["pricing_page", "demo_request", "webinar"]
    X = (rng.random((n, 3)) < 0.5).astype(np.float32)
    days = np.where(X > 0, rng.random((n, 3)) * 150, np.nan).astype(np.float32)
    faded = np.where(X > 0, 0.5 ** (np.nan_to_num(days) / 30.0), 0.0)
    logit = -1.0 + faded @ np.array([2.5, 2.0, 1.5])
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    fm = make_matrix(X, names, reached_sql=y)
    ages = EngagementAges(fm.lead_ids, tuple(names), days)
    grid = (None, 7, 14, 20, 25, 30, 35, 45, 60, 90, 180)
    table = suggest_half_life(fm, ages, "sql", grid=grid)
    best = table.loc[table["best"], "half_life"].iloc[0]
    assert 20 <= best <= 45
    none = table.loc[table["half_life"].isna(), "log_loss"].iloc[0]
    assert none > table.loc[table["half_life"] == 30, "log_loss"].iloc[0]
    assert (table["method"] == "time split").all()
