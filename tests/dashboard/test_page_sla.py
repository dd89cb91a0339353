"""The SLA & response page through Streamlit's AppTest, against the small demo database."""

from __future__ import annotations

import json

import pytest

from analysis import filters as flt
from analysis import store
from analysis.lifecycle import sla
from dashboard.charts.sla import fmt_pct

PAGE = "app_pages/sla.py"


def chart(at, key: str) -> dict:
    """The plotly spec of the chart drawn with widget key ``key``."""
    found = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, [c.proto.id for c in at.get("plotly_chart")]
    return json.loads(found[0].proto.spec)


def table_with(at, column: str):
    """The one data grid on the page that has ``column``."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1
    return found[0]


def tier_metrics(at) -> dict[str, str]:
    """Displayed compliance per tier: {"hot": "54.9%", ...}."""
    out = {}
    for m in at.metric:
        if m.label.startswith("Within SLA: ") and "all MQLs" not in m.label:
            out[m.label.removeprefix("Within SLA: ").split(" (")[0]] = m.value
    return out


@pytest.fixture(scope="module")
def con(demo_db):
    c = store.connect_read_only(demo_db)
    yield c
    c.close()


def test_page_draws_every_section(app_at, con):
    """It draws the five charts and lists exactly the open MQLs past target, oldest first."""
    at = app_at(PAGE)
    keys = {c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")}
    assert keys == {
        "sla_chart_ecdf",
        "sla_chart_heatmap",
        "sla_chart_bars",
        "sla_chart_speed",
        "sla_chart_attempts",
    }
    queue = sla.breach_queue(con)
    shown = table_with(at, "last_touchpoints")
    assert len(queue) > 0
    assert shown["lead_id"].tolist() == queue["lead_id"].tolist()
    assert [m.value for m in at.metric if m.label == "Open MQLs past SLA"] == [f"{len(queue):,}"]


def test_clock_toggle_changes_compliance_to_the_engine_numbers(app_at, con):
    """Switching wall clock -> business hours changes each tier's compliance, and every
    displayed figure equals sla_compliance on that clock with the page's filters."""
    at = app_at(PAGE)
    filters = at.session_state["filters"]
    shown = {}
    for clock in ("wall", "business"):
        at.radio(key="sla_clock").set_value(clock).run()
        assert not at.exception
        expected = sla.sla_compliance(con, filters, by="tier", clock=clock)
        shown[clock] = tier_metrics(at)
        assert shown[clock] == {r.tier: fmt_pct(r.rate) for r in expected.itertuples()}
    # business minutes never exceed wall minutes, and the demo's nights and weekends
    # make the difference visible for both tiers
    assert all(shown["wall"][t] != shown["business"][t] for t in shown["wall"])


def test_planted_breach_team_is_on_top_of_the_heatmap(app_at, demo_truth):
    """The planted breach team is the worst team: first heatmap row, red bar, and its
    lowest cells are the breach months."""
    at = app_at(PAGE)
    breach = demo_truth["sla_breach"]
    heat = chart(at, "sla_chart_heatmap")["data"][0]
    assert heat["y"][0] == breach["team"]
    row = heat["z"][0]
    months = [m[:7] for m in heat["x"]]
    lowest = sorted(range(len(row)), key=lambda i: (row[i] is None, row[i] or 0.0))
    # the worst three cells of the row with at least 10 decided handoffs
    big = [i for i in lowest if row[i] is not None and heat["customdata"][0][i][1] >= 10][:3]
    assert sorted(months[i] for i in big) == breach["months"]
    bars = chart(at, "sla_chart_bars")["data"][0]
    assert bars["y"][-1] == breach["team"]  # horizontal bars: the last one is on top


def test_empty_period_says_so(app_at):
    """A period without handoffs shows a message instead of charts, and no exception."""
    at = app_at(PAGE, query={"from": "2025-11-01", "to": "2025-11-01"})
    assert any("No MQL was handed off" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_breach_queue_max_age_hides_older_mqls(app_at, con):
    """The max-age option keeps only open breaches that have waited at most that long."""
    at = app_at(PAGE)
    at.selectbox(key="sla_max_age").set_value(30).run()
    queue = sla.breach_queue(con)
    young = queue[queue["minutes_waiting"] <= 30 * 1440]
    assert 0 < len(young) < len(queue)
    assert table_with(at, "last_touchpoints")["lead_id"].tolist() == young["lead_id"].tolist()


def test_filters_reach_the_speed_to_lead_table(app_at, con):
    """The speed-to-lead table follows the sidebar's team filter (handoffs per band)."""
    at = app_at(PAGE, query={"team": "EMEA"})
    filters = at.session_state["filters"]
    assert filters.teams == ("EMEA",)
    expected = sla.speed_to_lead(con, filters)
    shown = table_with(at, "sql_rate")
    assert shown["handoffs"].tolist() == expected["n"].tolist()
    assert shown["sql_k"].tolist() == expected["k"].tolist()
    everyone = sla.speed_to_lead(con, flt.Filters(start=filters.start, end=filters.end))
    assert shown["handoffs"].sum() < everyone["n"].sum()
