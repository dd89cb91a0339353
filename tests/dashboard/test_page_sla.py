"""The SLA & response page through Streamlit's AppTest, against the small demo database."""

from __future__ import annotations

import json

import pytest

from analysis import filters as flt
from analysis import store
from analysis.lifecycle import sla
from dashboard.display import fmt_share as fmt_pct

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
            out[m.label.removeprefix("Within SLA: ").split(" (")[0].lower()] = m.value
    return out


@pytest.fixture(scope="module")
def con(demo_db):
    c = store.connect_read_only(demo_db)
    yield c
    c.close()


def chart_keys(at) -> list[str]:
    return [c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")]


def test_page_lists_the_queue_and_draws_the_open_section(app_at, con):
    """A first visit draws the response-time chart only (the other sections are tabs that
    run when opened) and lists exactly the open MQLs past target handed off in the last 30
    days (the default horizon), in the engine's call order; the headline counts every open
    breach."""
    at = app_at(PAGE)
    assert chart_keys(at) == ["sla_chart_ecdf"]
    queue = sla.breach_queue(con, max_age_days=30)
    shown = table_with(at, "last_touchpoints")
    assert len(queue) > 0
    assert shown["lead"].tolist() == queue["lead_id"].tolist()
    every = sla.breach_queue(con)
    assert len(every) > len(queue)
    assert [m.value for m in at.metric if m.label == "Open MQLs past SLA"] == [f"{len(every):,}"]


@pytest.mark.parametrize(
    ("code", "keys"),
    [
        ("response", ["sla_chart_ecdf"]),
        ("compliance", ["sla_chart_heatmap", "sla_chart_bars"]),
        ("speed", ["sla_chart_speed"]),
        ("attempts", ["sla_chart_attempts"]),
    ],
)
def test_each_section_draws_its_charts_when_opened(app_at, code: str, keys: list[str]):
    """Opening a section's tab (``?section=``) draws that section's charts and no other."""
    at = app_at(PAGE, query={"section": code})
    assert chart_keys(at) == keys
    assert at.query_params["section"] == code


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
    at = app_at(PAGE, query={"section": "compliance"})
    breach = demo_truth["sla_breach"]
    heat = chart(at, "sla_chart_heatmap")["data"][0]  # the months with a verdict
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
    """The horizon option keeps only open breaches handed off at most that long ago; "no
    limit" lists them all, still tightest tier first."""
    at = app_at(PAGE)
    at.selectbox(key="sla_max_age").set_value(90).run()
    queue = sla.breach_queue(con)
    young = queue[queue["minutes_waiting"] <= 90 * 1440]
    assert 0 < len(young) < len(queue)
    assert table_with(at, "last_touchpoints")["lead"].tolist() == young["lead_id"].tolist()
    at.selectbox(key="sla_max_age").set_value(0).run()
    shown = table_with(at, "last_touchpoints")
    assert shown["lead"].tolist() == queue["lead_id"].tolist()
    tiers = shown["tier"].tolist()
    assert tiers == sorted(tiers, key=lambda t: t != "Hot")  # every Hot row before the rest


def test_filters_reach_the_speed_to_lead_table(app_at, con):
    """The speed-to-lead table follows the sidebar's team filter (handoffs per band)."""
    at = app_at(PAGE, query={"team": "EMEA", "section": "speed"})
    filters = at.session_state["filters"]
    assert filters.teams == ("EMEA",)
    expected = sla.speed_to_lead(con, filters)
    shown = table_with(at, "sql_rate")
    assert shown["handoffs"].tolist() == expected["n"].tolist()
    assert shown["sql_k"].tolist() == expected["k"].tolist()
    everyone = sla.speed_to_lead(con, flt.Filters(start=filters.start, end=filters.end))
    assert shown["handoffs"].sum() < everyone["n"].sum()


def test_every_control_round_trips_through_the_url(app_at):
    """A link with clock, horizon, breakdown and window opens those controls, and changing
    each control writes it back to the URL."""
    query = {"clock": "business", "age": "90", "by": "rep", "window": "30"}
    # section -> its control: (key, URL name, value in the link, new value, its URL text)
    controls = {
        "compliance": ("sla_by", "by", "rep", "source", "source"),
        "speed": ("sla_window", "window", 30, 0, "0"),
    }
    for code, (key, name, value, new, text) in controls.items():
        at = app_at(PAGE, query={**query, "section": code})
        assert at.radio(key="sla_clock").value == "business"
        assert at.selectbox(key="sla_max_age").value == 90
        assert at.selectbox(key=key).value == value
        assert {k: at.query_params[k] for k in query} == query
        at.selectbox(key=key).set_value(new).run()
        assert at.query_params[name] == text
    at.radio(key="sla_clock").set_value("wall").run()
    at.selectbox(key="sla_max_age").set_value(7).run()
    assert not at.exception
    assert {k: at.query_params[k] for k in ("clock", "age")} == {"clock": "wall", "age": "7"}
