"""The display layer turns stored codes into words and numbers into one format."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dashboard import display


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("paid_search", "Paid search"),
        ("no_budget", "No budget"),
        ("senior_title", "Senior title"),
        ("mql", "MQL"),
        ("pct_contacted_in_sla", "Share contacted within SLA"),
        ("first_touch_utm_source", "First touch UTM source"),
        ("Software & Internet", "Software & Internet"),
        ("EMEA", "EMEA"),
        ("unknown", "Unknown"),
        (None, "(not set)"),
        ("", "(not set)"),
        (math.nan, "(not set)"),
    ],
)
def test_label_turns_codes_into_words(code: object, words: str) -> None:
    """A code in the table uses its entry, any other loses its underscores; missing is (not set)."""
    assert display.label(code) == words


def test_label_frame_relabels_code_columns_and_names() -> None:
    """Code columns and column names come out with no underscore; other values are kept."""
    frame = pd.DataFrame({"source": ["paid_search", None], "lead_count": [3, 4]})
    out = display.label_frame(frame, code_columns=["source"], names={"lead_count": "Leads"})
    assert list(out.columns) == ["Source", "Leads"]
    assert out["Source"].tolist() == ["Paid search", "(not set)"]
    assert out["Leads"].tolist() == [3, 4]
    assert not any("_" in c for c in out.columns)


def test_formats_read_the_same_everywhere() -> None:
    """Counts get thousands separators, shares one decimal, durations a unit, money a currency."""
    assert display.fmt_count(1019) == "1,019"
    assert display.fmt_count(None) == "–"
    assert display.fmt_share(0.4382) == "43.8%"
    assert display.fmt_points(0.111) == "+11.1 pts"
    assert display.fmt_money(1639000, "USD") == "USD 1,639,000"
    assert display.fmt_money(1639000) == "1,639,000"
    # 2654.7 min = 44.2 h ≥ 24 h, so days: 2654.7 / 1440 = 1.84 → "1.8 d"
    assert display.fmt_duration(2654.7) == "1.8 d"
    assert display.fmt_duration(42) == "42 min"
    assert display.fmt_duration(90) == "1.5 h"
    assert display.fmt_p(0.0004) == "<0.001"
