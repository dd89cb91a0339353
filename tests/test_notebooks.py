"""The worked analyses in notebooks/ run top to bottom against the demo database."""

from __future__ import annotations

import json
import runpy

import pytest

from tests.paths import NOTEBOOKS


@pytest.fixture()
def use_demo(demo_db, monkeypatch):
    monkeypatch.setenv("HANDOFF_DB", str(demo_db))
    return demo_db


def test_speed_to_lead_recovers_the_planted_effect(use_demo, demo_truth, capsys):
    """The notebook runs, and its adjusted speed coefficient is negative and near the planted
    one (within 0.15 at 4,000 leads), while the raw curve favours the fastest bucket."""
    ns = runpy.run_path(str(NOTEBOOKS / "speed_to_lead.py"))
    planted = demo_truth["speed_to_lead"]["coefficient_log1p_minutes"]
    assert ns["speed_coef"] < 0
    assert abs(ns["speed_coef"] - planted) < 0.15
    assert ns["raw_gap"] > 0
    assert "planted coefficient" in capsys.readouterr().out
    json.dumps(float(ns["odds_5_vs_30"]))
