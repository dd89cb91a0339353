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


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(15, "15 min"), (1440, "24 h"), (2880, "48 h"), (4320, "3 d"), (90, "1.5 h"), (None, "–")],
)
def test_an_sla_target_reads_one_way(minutes, text) -> None:
    """It writes a target as people say it (15 min, 24 h, 3 d), never 0.88 or 1440.0."""
    assert display.fmt_target(minutes) == text


def test_durations_never_print_raw_minutes() -> None:
    """2654.7 minutes reads 1.8 d (2654.7 / 1440 = 1.84); 42.4 min and 3.5 h stay short."""
    assert display.fmt_duration(2654.7) == "1.8 d"
    assert display.fmt_duration(42.4) == "42 min"
    assert display.fmt_duration(210) == "3.5 h"


def test_crm_link_fills_the_template_and_escapes_the_id() -> None:
    """The setting's {lead_id} takes the id, URL-escaped; no template means no link."""
    template = "https://crm.example.com/lead/{lead_id}"
    assert display.crm_link(template, "L000042") == "https://crm.example.com/lead/L000042"
    assert display.crm_link(template, "a b/c") == "https://crm.example.com/lead/a%20b%2Fc"
    assert display.crm_link("", "L1") is None
    assert display.crm_link(template, None) is None


def test_names_are_initials_unless_personal_data_may_be_shown() -> None:
    """A masked name keeps only initials; a missing one is (not set)."""
    assert display.mask_name("Grace Brewster Hopper") == "G. B. H."
    assert display.mask_name(None) == display.NOT_SET
    assert display.mask_name("  ") == display.NOT_SET


def test_share_interval_reads_as_two_shares() -> None:
    """A 95% interval is two shares with one decimal: 50.5%–57.6%."""
    assert display.fmt_ci(0.505, 0.576) == "50.5%–57.6%"
    assert display.fmt_ci(float("nan"), 0.5) == "–"


def test_every_status_colour_has_a_symbol_and_a_word() -> None:
    """Status colours never stand alone: each status has a symbol (except "within noise")
    and a word, and good and bad differ in symbol, not only in colour."""
    from dashboard.charts import common

    for status in common.STATUS:
        assert common.status_mark(status, word=True)
    assert common.status_mark("good") != common.status_mark("bad")
    assert common.status_mark("better") == "▲" and common.status_mark("worse") == "▼"
    assert common.status_mark("accepted", word=True) == "✓ accepted"
    assert common.status_color("bad") == common.BAD
