"""The breach queue as a worklist: whom to call first, how far back, with whose name.

All waits are wall clock (both policies on the wall clock); "now" is the latest fact,
the touch of the anchor lead ``z`` at 2024-03-01 12:00.
"""

from __future__ import annotations

import pytest

from analysis.lifecycle import sla
from tests.journeys import build

NOW = "2024-03-01 12:00"
POLICIES = [("hot", "demo request", 15, False), ("standard", "any other MQL", 1440, False)]


def handoff(at: str) -> list[tuple[str, str]]:
    return [("lead", "2024-01-01 00:00"), ("mql", at)]


JOURNEYS = {
    # waits to NOW, minus the tier's target = time past target
    "std_old": handoff("2024-01-10 12:00"),  # 51 d = 73,440 min; over 72,000
    "std_mid": handoff("2024-02-25 12:00"),  # 5 d = 7,200 min; over 5,760
    "std_new": handoff("2024-02-29 06:00"),  # 30 h = 1,800 min; over 360
    "hot_new": handoff("2024-03-01 11:00"),  # 60 min; over 45
    "hot_old": handoff("2024-02-20 12:00"),  # 10 d = 14,400 min; over 14,385
    "std_in_time": handoff("2024-03-01 00:00"),  # 12 h < 24 h: not yet breached
    "z": handoff("2024-01-02 00:00"),  # answered: not in the queue, sets "now"
}
TOUCHES = {
    "hot_new": [("2024-03-01 10:59", "demo_request")],
    "hot_old": [("2024-02-20 11:00", "demo_request")],
}
LEADS = {
    "std_old": {"name": "Ada Lovelace", "company": "Engines Ltd"},
    "hot_new": {"name": "Grace Hopper", "company": "Navy Labs"},
    "hot_old": {"name": "  ", "company": None},
}


@pytest.fixture(scope="module")
def con():
    return build(
        JOURNEYS,
        leads=LEADS,
        touches=TOUCHES,
        activities={"z": [(NOW, "call")]},
        policies=POLICIES,
    )


def test_queue_orders_hot_first_then_longest_past_target(con) -> None:
    """It lists the demo-request tier first (tightest target), each tier most overdue first:
    hot_old (14,385 min over) > hot_new (45) > std_old (72,000) > std_mid (5,760) >
    std_new (360)."""
    q = sla.breach_queue(con)
    assert q["lead_id"].tolist() == ["hot_old", "hot_new", "std_old", "std_mid", "std_new"]
    assert q["minutes_over_target"].tolist() == [14_385, 45, 72_000, 5_760, 360]
    assert q["tier"].tolist() == ["hot", "hot", "standard", "standard", "standard"]


def test_queue_horizon_keeps_recent_handoffs(con) -> None:
    """With a 30-day horizon the 51-day-old MQL leaves; 10 days keeps hot_old (exactly
    14,400 min = 10 d waited) and drops std_old; a horizon must be positive."""
    thirty = sla.breach_queue(con, max_age_days=30)
    assert thirty["lead_id"].tolist() == ["hot_old", "hot_new", "std_mid", "std_new"]
    ten = sla.breach_queue(con, max_age_days=10)
    assert ten["lead_id"].tolist() == ["hot_old", "hot_new", "std_mid", "std_new"]
    one = sla.breach_queue(con, max_age_days=1)
    assert one["lead_id"].tolist() == ["hot_new"]  # std_new waited 30 h > 24 h
    with pytest.raises(ValueError, match="positive"):
        sla.breach_queue(con, max_age_days=0)


def test_queue_carries_name_and_company_when_the_history_has_them(con) -> None:
    """It gives each lead's name and company; blanks and missing values are None."""
    q = sla.breach_queue(con).set_index("lead_id")
    assert q.loc["std_old", "name"] == "Ada Lovelace"
    assert q.loc["hot_new", "company"] == "Navy Labs"
    assert q.loc["hot_old", ["name", "company"]].isna().all()
    assert q.loc["std_mid", ["name", "company"]].isna().all()
