"""Period presets, the two named definitions, and comparisons at the same age (hand-worked)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from analysis import filters as flt
from analysis import stats
from analysis.lifecycle import metrics, periods
from tests.journeys import build

AS_OF = datetime(2026, 12, 3, 12, 0)  # a Thursday, three and a half days into December


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("last_month", (date(2026, 11, 1), date(2026, 11, 30))),
        ("last_quarter", (date(2026, 7, 1), date(2026, 9, 30))),
        ("month_to_date", (date(2026, 12, 1), date(2026, 12, 3))),
        ("quarter_to_date", (date(2026, 10, 1), date(2026, 12, 3))),
        ("year_to_date", (date(2026, 1, 1), date(2026, 12, 3))),
        ("last_12_months", (date(2025, 12, 1), date(2026, 11, 30))),
        ("all_history", (date(2024, 5, 6), date(2026, 12, 3))),
    ],
)
def test_presets_are_calendar_periods_ending_with_the_data(preset, expected):
    """Each preset is the calendar period a leader means, as of 3 Dec 2026 (data from 6 May
    2024): "last" presets end with the last complete month, "to date" ones on the data's day."""
    assert periods.preset_range(preset, AS_OF, date(2024, 5, 6)) == expected


def test_custom_is_not_a_preset():
    """ "custom" has no dates of its own: asking for them is an error that names the choices."""
    with pytest.raises(ValueError, match="last_month"):
        periods.preset_range("custom", AS_OF)


def test_month_to_date_is_compared_at_the_same_age():
    """December to date (data up to 3 Dec 12:00) is immature; the previous period is all of
    November counted as of 3 Nov 12:00 and last year is December 2025 as of 3 Dec 2025 12:00."""
    p = periods.make_period(date(2026, 12, 1), date(2026, 12, 3), AS_OF)
    assert (p.months, p.complete, p.days, p.label) == (1, False, 31, "December 2026")
    assert p.observed_days == pytest.approx(2.5)  # 1 Dec 00:00 -> 3 Dec 12:00
    prev, year = p.previous(), p.last_year()
    assert (prev.start, prev.end, prev.as_of) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
        datetime(2026, 11, 3, 12, 0),
    )
    assert (year.start, year.end, year.as_of) == (
        date(2025, 12, 1),
        date(2025, 12, 31),
        datetime(2025, 12, 3, 12, 0),
    )


def test_a_custom_week_moves_back_by_its_length():
    """A Monday-to-Sunday week that is not month-aligned is compared with the week before
    (7 days earlier, as of 7 days earlier) and with the same days 52 weeks earlier."""
    p = periods.make_period(date(2026, 11, 16), date(2026, 11, 22), AS_OF)
    assert p.months == 0 and p.complete and p.label == "16 Nov 2026 – 22 Nov 2026"
    prev = p.previous()
    assert (prev.start, prev.end, prev.as_of) == (
        date(2026, 11, 9),
        date(2026, 11, 15),
        datetime(2026, 11, 26, 12, 0),
    )
    assert p.last_year().start == date(2025, 11, 17)  # 364 days: the same weekday


# Two Novembers and Octobers, worked by hand. Data ends 3 Dec 2026 12:00.
# November 2026: leads n1..n3 created; n1 MQL 2 Nov -> SQL 2 Nov 20:00 (same day); n2 MQL
# 10 Nov and no further; n3 never an MQL.
# o9 was created in October but became an MQL in November (counts under "entered" only).
# October 2026: o1 MQL 1 Oct -> SQL 2 Nov 10:00 (one month later), o2 MQL 3 Oct -> SQL
# 4 Oct. As of 3 Nov 12:00 (October's same age), o1's SQL (2 Nov 10:00) is known.
JOURNEYS = {
    "n1": [("lead", "2026-11-01 09:00"), ("mql", "2026-11-02 09:00"), ("sql", "2026-11-02 20:00")],
    "n2": [("lead", "2026-11-05 09:00"), ("mql", "2026-11-10 09:00")],
    "n3": [("lead", "2026-11-20 09:00")],
    "o9": [("lead", "2026-10-25 09:00"), ("mql", "2026-11-15 09:00")],
    "o1": [("lead", "2026-10-01 08:00"), ("mql", "2026-10-01 09:00"), ("sql", "2026-11-02 10:00")],
    "o2": [("lead", "2026-10-02 08:00"), ("mql", "2026-10-03 09:00"), ("sql", "2026-10-04 09:00")],
    "d1": [("lead", "2026-12-03 12:00")],  # the data's end
}


@pytest.fixture()
def con():
    c = build(JOURNEYS)
    yield c
    c.close()


NOVEMBER = flt.Filters(start=date(2026, 11, 1), end=date(2026, 11, 30))


def test_the_two_definitions_count_november_differently(con):
    """Entered: 3 MQLs entered in November (n1, n2, o9), 1 of them an SQL (n1): 1 of 3.
    Created: 3 leads created (n1..n3), 2 of them reached MQL (n1, n2), 1 an SQL: 1 of 2."""
    entered = metrics.funnel_counts(con, NOVEMBER, "entered").set_index("stage")
    created = metrics.funnel_counts(con, NOVEMBER, "created").set_index("stage")
    assert entered.loc["mql", ["count", "k", "n"]].tolist() == [3, 1, 3]
    assert created.loc["mql", ["count", "k", "n"]].tolist() == [2, 1, 2]
    assert created.loc["lead", ["count", "k", "n"]].tolist() == [3, 2, 3]
    # volumes are entries in the period whatever the definition
    assert created.loc["mql", "entered"] == entered.loc["mql", "entered"] == 3


def test_headline_json_names_its_definition(con):
    """handoff metrics' headline says which definition its conversions use, in words, and its
    MQL -> SQL conversion is the one funnel_counts gives (one definition, one number)."""
    out = metrics.headline(con, "2026-11-01", "2026-11-30", basis="created")
    assert out["basis"] == "created" and out["basis_name"] == "Created in the period"
    assert "created in the period" in out["conversion_basis"]
    assert (out["conversions"]["mql_to_sql"]["k"], out["conversions"]["mql_to_sql"]["n"]) == (1, 2)
    assert out["volumes"]["mql"] == 3 and out["stage_counts"]["mql"] == 2
    with pytest.raises(ValueError, match="basis must be one of entered, created"):
        metrics.headline(con, None, None, basis="ever")


def test_november_is_compared_with_october_at_the_same_age(con):
    """As of 3 Dec 12:00, November's MQL -> SQL is 1 of 3. October counted as of 3 Nov 12:00
    (the same age) has o1 and o2 as MQLs, both SQLs by then: 2 of 2. MQL counts 3 vs 2:
    z = (|3-2|-1)/sqrt(5) = 0, within noise."""
    cmp = periods.compare_funnel(con, NOVEMBER, "entered").set_index(["stage", "measure"])
    mql_count, mql_rate = cmp.loc[("mql", "count")], cmp.loc[("mql", "rate")]
    assert (mql_count["value"], mql_count["prev_value"]) == (3, 2)
    assert mql_count["change"] == pytest.approx(0.5)
    assert mql_count["verdict"] == "within noise"
    assert (mql_rate["k"], mql_rate["n"], mql_rate["prev_k"], mql_rate["prev_n"]) == (1, 3, 2, 2)
    assert mql_rate["change"] == pytest.approx(1 / 3 - 1)
    # October starts on the history's first day (o1, 1 Oct 08:00): covered, compared
    assert cmp["prev_reason"].isna().all()
    # November 2025 is before the history starts: not a zero, not measurable, not counted
    for measure in ("count", "rate"):
        row = cmp.loc[("mql", measure)]
        assert row["year_verdict"] == "not measurable"
        assert (
            row["year_reason"]
            == "the history starts on 01 Oct 2026, after the start of November 2025"
        )
        assert pd.isna(row["year_value"]) and pd.isna(row["year_change"])


def test_a_period_the_history_covers_only_partly_is_not_compared(con):
    """The history starts on 1 Oct 2026 08:00. A custom range 15 Oct - 14 Nov (31 days) has
    as its previous period 14 Sep - 14 Oct, which starts before that: not measurable (its
    zeros before 1 Oct are not recorded, so 3 MQLs would read as "up" against them). The
    period's own numbers stay: MQLs entered 15 Oct - 14 Nov are n1 and n2 = 2."""
    cmp = periods.compare_funnel(
        con, flt.Filters(start=date(2026, 10, 15), end=date(2026, 11, 14)), "entered"
    ).set_index(["stage", "measure"])
    row = cmp.loc[("mql", "count")]
    assert row["value"] == 2
    assert (row["verdict"], row["year_verdict"]) == ("not measurable", "not measurable")
    assert row["prev_reason"] == (
        "the history starts on 01 Oct 2026, after the start of 14 Sep 2026 – 14 Oct 2026"
    )
    assert pd.isna(row["prev_value"]) and pd.isna(row["p_value"])
    assert cmp.loc[("mql", "rate"), ["k", "n"]].tolist() == [1, 2]  # n1 reached SQL


def test_an_undated_history_compares_no_period():
    """Every entry on one day (an export without dates): May 2024 holds the whole history
    and April 2024 is not a month of zeros; both comparisons give the dates reason."""
    from tests.lifecycle import exports

    c = exports.undated()
    try:
        may = flt.Filters(start=date(2024, 5, 1), end=date(2024, 5, 31))
        cmp = periods.compare_funnel(c, may, "entered").set_index(["stage", "measure"])
    finally:
        c.close()
    assert cmp.loc[("mql", "count"), "value"] == 10
    assert set(cmp["verdict"]) == set(cmp["year_verdict"]) == {"not measurable"}
    assert cmp["prev_reason"].str.startswith("this history has no dates").all()
    assert cmp["prev_value"].isna().all() and cmp["year_value"].isna().all()


def test_the_same_age_cuts_conversions_known_later():
    """October seen one day younger (as of 2 Nov 09:00, data ending 2 Dec 09:00) does not yet
    know o1's SQL of 2 Nov 10:00: 1 of 2, not 2 of 2."""
    journeys = {k: v for k, v in JOURNEYS.items() if k != "d1"}
    journeys["d2"] = [("lead", "2026-12-02 09:00")]
    c = build(journeys)
    try:
        cmp = periods.compare_funnel(c, NOVEMBER, "entered").set_index(["stage", "measure"])
        rate = cmp.loc[("mql", "rate")]
        assert (rate["prev_k"], rate["prev_n"]) == (1, 2)
    finally:
        c.close()


def test_count_change_test_worked_example():
    """100 against 130 over equal time: z = 29 / sqrt(230) = 1.912, p = 0.056 (not below
    0.05); 10 against 40: z = 29 / sqrt(50) = 4.10, p < 0.001."""
    z, p = stats.count_change_test(100, 130)
    assert z == pytest.approx(1.9122, abs=1e-4) and p == pytest.approx(0.0559, abs=1e-3)
    z, p = stats.count_change_test(10, 40)
    assert z == pytest.approx(4.1012, abs=1e-4) and p < 0.001
