"""Reasons per lead: contributions that add up, words, search, and recovery on the demo."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.scoring.configs import ScoringConfig, score
from analysis.scoring.model import fit_model
from analysis.scoring.reasons import (
    find_leads,
    in_words,
    lead_activity,
    model_contributions,
    reasons_for_rows,
    rule_contributions,
)
from tests.journeys import build
from tests.scoring.test_model import planted
from tests.scoring.test_whatif import random_config, random_matrix


@pytest.mark.parametrize("seed", [4, 5])
def test_rule_reasons_sum_to_the_score(seed: int) -> None:
    """For every lead, the point contributions add up to its score."""
    fm = random_matrix(seed, n=200)
    config = random_config(np.random.default_rng(seed), "rule")
    s = score(fm, config)
    for row in range(fm.n):
        assert rule_contributions(fm, config, row)["contribution"].sum() == pytest.approx(s[row])


def test_model_reasons_sum_to_the_log_odds() -> None:
    """Intercept plus the log-odds contributions equal the logit of the predicted
    probability, lead by lead."""
    fm, _ = planted(seed=2, n=3000)
    report = fit_model(fm, "sql")
    p = report.predict_proba(fm)
    for row in range(0, fm.n, 97):
        total = model_contributions(fm, report.coefficients, row)["contribution"].sum()
        assert report.intercept + total == pytest.approx(np.log(p[row] / (1 - p[row])), abs=1e-6)


def test_planted_coefficients_are_the_strongest_reasons() -> None:
    """Planted f0 (+2.0) leads the positive reasons and f1 (-1.2) the negative ones of a
    lead that has every feature."""
    fm, _ = planted(seed=7, n=20_000)
    report = fit_model(fm, "sql")
    fm.X[0] = 1  # after the fit: a lead with every feature
    table = model_contributions(fm, report.coefficients, 0)
    assert table.iloc[0]["feature"] == "f0"
    assert table.iloc[-1]["feature"] == "f1"


def test_demo_reasons_follow_the_planted_acceptance_model(demo_db) -> None:
    """On the demo history, the strongest model reasons of a lead with every fit and
    engagement feature are planted large effects: demo request (+1.0) or senior title
    (+0.9) first, and the top three among the planted large positive effects."""
    from analysis import store
    from analysis.scoring import features

    con = store.connect_read_only(demo_db)
    try:
        fm = features.build_features(con)
    finally:
        con.close()
    report = fit_model(fm, "sql")
    fm.X[0] = 1
    table = model_contributions(fm, report.coefficients, 0)
    top3 = set(table["feature"].head(3))
    # planted: demo_request 1.0, senior_title 0.9, employees_200plus 0.7 are the largest
    # positive effects the features measure (corporate_email, pricing, BOFU 0.6 next)
    assert table.iloc[0]["feature"] in {"demo_request", "senior_title"}
    assert top3 <= {"demo_request", "senior_title", "employees_200plus", "corporate_email",
                    "pricing_page", "bofu_download"}  # fmt: skip


def test_reasons_in_words_by_hand() -> None:
    """A lead with a demo request (+50), a pricing view (+25) and careers-only (-10): the
    words name each, with the counts of what the lead did."""
    con = build(
        {"L1": [("lead", "2024-03-01 09:00"), ("mql", "2024-03-20 10:00")]},
        touches={
            "L1": [
                ("2024-03-02 09:00", "page_view", "pricing", 30),
                ("2024-03-15 09:00", "page_view", "pricing", 30),
                ("2024-03-19 09:00", "page_view", "pricing", 30),
                ("2024-03-20 10:00", "demo_request", None, None),
                ("2024-03-25 10:00", "webinar", None, None),  # after the handoff: left out
            ]
        },
    )
    act = lead_activity(con, "L1").set_index("feature")
    # 3 pricing views, 2 of them within 7 days before 2024-03-20 10:00, last 1 day + 1 h ago
    assert act.loc["pricing_page", "count"] == 3
    assert act.loc["pricing_page", "last_week"] == 2
    assert act.loc["pricing_page", "days_ago"] == pytest.approx(25 / 24)
    assert "webinar" not in act.index
    from tests.scoring.test_model import make_matrix

    fm = make_matrix(
        np.array([[1, 1, 1]], dtype=np.float32), ["demo_request", "pricing_page", "careers_only"]
    )
    fm.described = {"pricing_page": "viewed the pricing page", "demo_request": "requested a demo"}
    config = ScoringConfig({"demo_request": 50, "pricing_page": 25, "careers_only": -10}, 60)
    up, down = in_words(rule_contributions(fm, config, 0), activity=act.reset_index())
    assert up == [
        "requested a demo 1×, 1 in the week before the decision point: +50",
        "viewed the pricing page 3×, 2 in the week before the decision point: +25",
    ]
    assert down == ["careers_only: -10"]
    table = reasons_for_rows(fm, config, np.array([0]))
    assert table.loc[0, "rule_up"] == "requested a demo: +50; viewed the pricing page: +25"
    assert table.loc[0, "rule_down"] == "careers_only: -10"


def test_find_leads_by_id_name_or_company() -> None:
    """The search matches id, name or company in any case, and treats % and _ literally."""
    con = build(
        leads={
            "L1": {"created_at": "2024-01-01 00:00", "name": "Ada Lovelace", "company": "Acme_Ltd"},
            "L2": {"created_at": "2024-01-01 00:00", "name": "Bob", "company": "Initech"},
            "L10": {"created_at": "2024-01-01 00:00", "name": "Cy", "company": "AcmeXLtd"},
        }
    )
    assert find_leads(con, "lovelace")["lead_id"].tolist() == ["L1"]
    assert find_leads(con, "initech")["lead_id"].tolist() == ["L2"]
    assert find_leads(con, "acme_")["lead_id"].tolist() == ["L1"]  # _ is not a wildcard
    assert find_leads(con, "L1")["lead_id"].tolist() == ["L1", "L10"]
    assert find_leads(con, "  ").empty
