"""Every dashboard page through Streamlit's AppTest, against the small demo database."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from tests.paths import APP

# A card the history cannot support: the words in body-size type (at the number size a
# quarter-width card cuts them to "not measura…").
NOT_MEASURABLE_CARD = ":small[not measurable]"


def test_home_shows_last_months_headline_against_target_and_the_month_before(app_at, demo_db):
    """Home opens on the last complete month: its lead and MQL entries (the engine's
    headline volumes), each against the month before at the same age and its target, and a
    link to that month's review; the table inventory is not on Home any more."""
    from analysis.lifecycle import metrics
    from analysis.lifecycle import review as rv

    con = duckdb.connect(str(demo_db), read_only=True)
    month = rv.default_month(con)
    block = metrics.headline(con, month, rv.month_end(month))
    previous = metrics.headline(
        con, rv.add_months(month, -1), rv.month_end(rv.add_months(month, -1))
    )
    con.close()
    at = app_at()
    cards = {m.label: m for m in at.metric}
    assert cards["Leads"].value == f"{block['volumes']['lead']:,}"
    assert cards["MQLs"].value == f"{block['volumes']['mql']:,}"
    # a complete month compared with a complete month: the relative change of the volumes
    change = block["volumes"]["mql"] / previous["volumes"]["mql"] - 1
    assert cards["MQLs"].proto.delta == f"{change:+.1%} vs {rv.add_months(month, -1):%b %Y}"
    captions = " ".join(c.value for c in at.caption)
    assert "target" in captions and ("beyond noise" in captions or "within noise" in captions)
    links = [link.proto.label for link in at.get("page_link")]
    assert f"Why? Open the monthly review of {rv.month_label(month)}" in links
    assert "Touchpoints" not in cards  # the inventory moved under Data
    assert not at.dataframe
    # "What moved beyond noise": a rejection reason listed under "no rate moved" would
    # contradict itself; the sentence names funnel rates when only reasons moved
    md = [m.value for m in at.markdown]
    rates = [m for m in md if m.startswith("- **")]
    reasons = [m for m in md if m.startswith("- Rejections for")]
    quiet = [m for m in md if m.startswith(("No rate moved", "No funnel rate moved"))]
    assert bool(quiet) == (not rates)
    if quiet:
        assert quiet[0].startswith("No funnel rate moved" if reasons else "No rate moved")
    assert all("(p " in m for m in rates + reasons)


def test_home_explains_a_missing_database(tmp_path, monkeypatch):
    """With no database file the home page says how to make one instead of failing."""
    monkeypatch.setenv("HANDOFF_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "handoff generate" in at.error[0].value


# --------------------------------------------------------------------------------------
# Histories shaped like real exports: every page renders, "not measurable" where due
# --------------------------------------------------------------------------------------

OWN_PAGES = (
    None,
    "app_pages/funnel.py",
    "app_pages/sla.py",
    "app_pages/rejections.py",
    "app_pages/review.py",
)


def _export_db(tmp_path_factory, name: str):
    from tests.journeys import save
    from tests.lifecycle import exports

    path = tmp_path_factory.mktemp(name) / f"{name}.duckdb"
    return save(getattr(exports, name)(), path)


@pytest.fixture(scope="module")
def export_dbs(tmp_path_factory) -> dict:
    return {n: _export_db(tmp_path_factory, n) for n in ("marketplace", "undated", "pipeline")}


def _render(db, page: str | None, monkeypatch) -> AppTest:
    monkeypatch.setenv("HANDOFF_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [x.value for x in at.info] + [x.value for x in at.warning]
    parts += [f"{m.label}: {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", OWN_PAGES)
@pytest.mark.parametrize("name", ["marketplace", "undated", "pipeline"])
def test_export_pages_render(export_dbs, monkeypatch, name: str, page: str | None) -> None:
    """Every page of the lifecycle renders on each export shape without an exception."""
    _render(export_dbs[name], page, monkeypatch)


def test_marketplace_sla_and_rejections_say_not_measurable(export_dbs, monkeypatch) -> None:
    """(a) has no sales activities and no dispositions: the SLA page shows no compliance
    percentage, no breach queue and no heatmap, only the reason; Rejections does not ask
    to widen the period.
    """
    at = _render(export_dbs["marketplace"], "app_pages/sla.py", monkeypatch)
    text = _text(at)
    assert "Not measurable: this history has no sales activities" in text
    assert not [m for m in at.metric if "Within SLA" in m.label or "past SLA" in m.label]
    assert not at.get("plotly_chart")
    at = _render(export_dbs["marketplace"], "app_pages/rejections.py", monkeypatch)
    text = _text(at)
    assert "Not measurable: this history has no sales dispositions" in text
    assert "widen" not in text


def test_marketplace_review_counts_deals_and_not_revenue(export_dbs, monkeypatch) -> None:
    """(a) The review opens on February 2024 (the last complete month with data), shows
    Deals won 2 (m1 Feb 15, m4 Feb 8) instead of "Won revenue 0", and SLA compliance as
    not measurable.
    """
    at = _render(export_dbs["marketplace"], "app_pages/review.py", monkeypatch)
    assert at.selectbox(key="rv_month").value == date(2024, 2, 1)
    values = {m.label: m.value for m in at.metric}
    assert values["Deals won"] == "2"
    assert values["Contacted within SLA"] == NOT_MEASURABLE_CARD
    assert values["Won revenue (USD)"] == NOT_MEASURABLE_CARD  # the deals-closed row
    assert values["Win rate"] == NOT_MEASURABLE_CARD
    assert values["MQLs entered this month"] == "2"  # m3 Feb 3, m4 Feb 8 (won time, skip rule)
    # no activities, floor, target or capacity: no check can be assessed, none counted
    assert values["Health problems"] == NOT_MEASURABLE_CARD
    assert "no deal amounts" in _text(at)
    # What changed: a rate the export cannot support reads "not measurable" in every cell
    # (the win rate of 2 won and 0 lost deals is not 100%), with the reason under the table.
    changes = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    rows = changes.set_index("rate")
    win = rows.loc["Win rate of deals closed"]
    assert win[["previous", "this_month", "verdict"]].tolist() == ["not measurable"] * 3
    assert rows.loc["Lead → MQL within 30 days", "verdict"] == "not measurable"
    assert rows.loc["MQL → SQL within 30 days", "this_month"] == "50.0% (1 of 2)"  # m4 of m3, m4
    assert changes["verdict"].notna().all()
    text = _text(at)
    assert "Not measurable: Win rate of deals closed: this history records no lost deals" in text
    # No dispositions: the rejection reasons are the reason only, no empty table or chart.
    assert "Not measurable: this history has no sales dispositions" in text
    assert not [d for d in at.dataframe if "prev_count" in d.value.columns]
    assert not [c for c in at.get("plotly_chart") if "No rejections recorded" in str(c.proto)]


def test_undated_funnel_says_trends_are_not_measurable(export_dbs, monkeypatch) -> None:
    """(b) The funnel shows the MQL-based counts (10 MQLs, 4 customers) and says that
    stage entries over time, cohort trends and velocity need dates.
    """
    at = _render(export_dbs["undated"], "app_pages/funnel.py", monkeypatch)
    values = {m.label: m.value for m in at.metric}
    assert values["MQLs"] == "10" and values["Customers"] == "4"
    assert "Leads" not in values  # the funnel starts at the MQL stage
    assert "Not measurable: this history has no dates" in _text(at)
    assert len(at.get("plotly_chart")) == 2  # the funnel and the breakdown only


def test_undated_review_says_the_month_holds_the_whole_history(export_dbs, monkeypatch) -> None:
    """(b) Every entry sits on 2024-05-01 00:00, so May 2024 is not "in progress, 0%
    covered": the page says the history has no dates and that May holds all of it, and the
    cards it cannot fill say so in words that fit (10 MQLs, 4 won: the whole history).
    """
    at = _render(export_dbs["undated"], "app_pages/review.py", monkeypatch)
    (info,) = [x.value for x in at.info if "no dates" in x.value]
    assert "every lead and stage entry sits on 01 May 2024" in info
    assert "May 2024 holds all of it" in info
    assert not [w for w in at.warning if "in progress" in w.value]
    values = {m.label: m.value for m in at.metric}
    assert values["MQLs entered this month"] == "10" and values["Deals won"] == "4"
    assert values["Contacted within SLA"] == NOT_MEASURABLE_CARD
    assert values["Health problems"] == NOT_MEASURABLE_CARD
    # April 2024 and May 2023 are not months of zeros: no "up, beyond noise" against them
    text = _text(at)
    assert "up, beyond noise" not in text
    assert "not measurable vs Apr 2024" in text
    assert (
        "Not measurable: the comparisons with Apr 2024 and May 2023: this history has no dates"
    ) in text
    assert "still running" not in text
    # where the MQLs are now: no lost, rejected or nurture row of zeros, the reason instead
    (status,) = [d.value for d in at.dataframe if {"leads", "share"} <= set(d.value.columns)]
    assert status["label"].tolist() == ["still MQL", "SQL", "open opportunity", "won"]
    assert status["leads"].tolist() == [6, 0, 0, 4]
    assert "Not measurable: lost: this history records no lost deals" in text
    assert "No rate can be compared with the month before on this history" in text
    assert "No rate moved beyond noise" not in text


def test_undated_scoring_lab_counts_the_history_not_months(export_dbs, monkeypatch) -> None:
    """(b) No dates: the lab shows the would-be MQLs of the whole history (no per-month
    mean of one import day), and reps over capacity as not measurable (no capacity is
    recorded), never 0."""
    at = _render(export_dbs["undated"], "app_pages/scoring.py", monkeypatch)
    values = {m.label: m.value for m in at.metric}
    assert "MQLs per month" not in values
    assert values["MQLs in the history"] == "0"  # no rule saved: the rule with no points
    assert values["Reps over capacity"] == NOT_MEASURABLE_CARD
    text = _text(at)
    assert "The proposed rule makes no MQL in this history" in text
    assert "never handed to sales" not in text  # not "0 of the proposed rule's 0 MQLs"
    # the side-by-side table below says the same as the cards: no 0.0 per month, no 0 reps
    (side,) = [t.value for t in at.table if "current rule" in t.value.columns]
    for measure in ("MQLs per month (complete months)", "Reps over capacity in a complete month"):
        assert side.loc[measure].tolist() == ["not measurable", "not measurable"]
    assert side.loc["MQLs in the whole history"].tolist() == ["0", "0"]
    # and no chart of months a history without dates does not have
    charts = [c.proto.id for c in at.get("plotly_chart")]
    assert any(c.endswith("sl_chart_quadrants") for c in charts)  # the tab is open
    assert not [c for c in charts if c.endswith("sl_chart_monthly")]
    assert "Not measurable: this history has no dates" in text


def test_pipeline_review_and_home(export_dbs, monkeypatch) -> None:
    """(c) The review of February 2024 shows o1 won and o2 lost (win rate 50.0%), MQLs as
    not measurable, and no MQL status table; Home says the funnel starts at opportunity.
    """
    at = _render(export_dbs["pipeline"], "app_pages/review.py", monkeypatch)
    values = {m.label: m.value for m in at.metric}
    assert values["MQLs entered this month"] == NOT_MEASURABLE_CARD
    assert "MQLs" not in values  # the month's funnel starts at the opportunity stage
    assert values["Won"] == "1" and values["Lost"] == "1" and values["Win rate"] == "50.0%"
    assert values["Won revenue (USD)"] == "1,000"  # the company's currency in the label
    assert "starts at the opportunity stage" in _text(at)
    home = _render(export_dbs["pipeline"], None, monkeypatch)
    assert "The funnel starts at the **opportunity** stage" in _text(home)
    # February 2024: o3 and o4 created, o1 won (1,000); no lead, MQL or SQL card, no MQL
    # rate line (the history records no MQL)
    cards = {m.label: m.value for m in home.metric}
    assert cards == {
        "Opportunities created": "2",
        "Deals won": "1",
        "Won revenue (USD)": "1,000",
        "MQLs contacted within SLA": NOT_MEASURABLE_CARD,
    }
    assert "→ SQL" not in _text(home)
