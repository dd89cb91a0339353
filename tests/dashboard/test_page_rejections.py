"""The Rejections page through Streamlit's AppTest, against the small demo database."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest

from analysis import store
from analysis.lifecycle import rejections
from dashboard.display import label

PAGE = "app_pages/rejections.py"


def chart(at, key: str) -> dict:
    """The plotly spec of the chart drawn with widget key ``key``."""
    found = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, [c.proto.id for c in at.get("plotly_chart")]
    return json.loads(found[0].proto.spec)


def values(arr) -> list:
    """A plotly data array as a list: plotly encodes numpy arrays as base64 typed arrays."""
    if isinstance(arr, dict) and "bdata" in arr:
        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=arr["dtype"]).tolist()
    return list(arr)


def table_with(at, *columns: str) -> pd.DataFrame:
    """The one data grid on the page that has all of ``columns``."""
    found = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


@pytest.fixture(scope="module")
def con(demo_db):
    c = store.connect_read_only(demo_db)
    yield c
    c.close()


SECTION_CHART = {
    "reasons": "rj_chart_heatmap",
    "trend": "rj_chart_trend",
    "recycling": "rj_chart_recycle",
}


@pytest.mark.parametrize("code", list(SECTION_CHART))
def test_page_draws_the_pareto_and_the_open_section(app_at, code: str):
    """It draws the Pareto and the open tab's chart only (reasons by source on a first
    visit); the other sections run when their tab is opened (``?section=``)."""
    at = app_at(PAGE) if code == "reasons" else app_at(PAGE, query={"section": code})
    keys = [c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")]
    assert keys == ["rj_chart_pareto", SECTION_CHART[code]]
    assert at.query_params["section"] == code


def test_pareto_table_is_reason_pareto(app_at, con):
    """The Pareto grid (and so its CSV) is reason_pareto for the page's filters, row for row
    (reasons in words), and the chart's bars and cumulative line carry the same numbers and
    the same words."""
    at = app_at(PAGE)
    expected = rejections.reason_pareto(con, at.session_state["filters"])
    bars, line = chart(at, "rj_chart_pareto")["data"]
    assert bars["x"] == [label(r) for r in expected["reason"]]
    expected["reason"] = expected["reason"].map(label)
    shown = table_with(at, "cumulative_share")
    pd.testing.assert_frame_equal(
        shown.reset_index(drop=True), expected, check_dtype=False, check_exact=False
    )
    assert values(bars["y"]) == expected["count"].tolist()
    assert values(line["y"]) == pytest.approx(expected["cumulative_share"].tolist())
    assert values(line["y"])[-1] == pytest.approx(1.0)


def test_reason_heatmap_rows_count_the_non_accepted_dispositions(app_at, con):
    """Per source, the reason grid adds up to the non-accepted dispositions of that source
    (counted here straight from the tables), and each source's shares add up to 1."""
    at = app_at(PAGE)
    direct = dict(
        con.execute(
            """
            SELECT coalesce(nullif(l.source, ''), '(not set)'), count(*)
            FROM dispositions d JOIN leads l USING (lead_id)
            WHERE d.outcome <> 'accepted' GROUP BY 1
            """
        ).fetchall()
    )
    direct = {label(k): v for k, v in direct.items()}
    shown = table_with(at, "source", "reason", "share")
    assert shown.groupby("source")["count"].sum().to_dict() == direct
    assert shown.groupby("source")["share"].sum().to_numpy() == pytest.approx(1.0)
    heat = chart(at, "rj_chart_heatmap")["data"][0]
    assert [y.split(" (")[0] for y in heat["y"]] == sorted(direct)


def test_breakdown_and_outcome_controls(app_at, con):
    """Choosing campaign and 'rejected' redraws the grid per campaign over rejected ones."""
    at = app_at(PAGE)
    at.selectbox(key="rj_by").set_value("campaign").run()
    at.selectbox(key="rj_outcomes").set_value("rejected").run()
    assert not at.exception
    ((rejected,),) = con.execute(
        "SELECT count(*) FROM dispositions WHERE outcome = 'rejected'"
    ).fetchall()
    shown = table_with(at, "campaign", "reason", "share")
    assert shown["count"].sum() == rejected


def test_recycle_rate_is_the_engine_number(app_at, con):
    """The recycle-rate metric is recycle_summary's rate with the page's filters."""
    at = app_at(PAGE, query={"section": "recycling"})
    rec = rejections.recycle_summary(con, at.session_state["filters"])
    assert rec.recycled > 0
    values = {m.label: m.value for m in at.metric}
    assert values["Recycle rate"] == f"{rec.recycle_rate:.1%}"
    assert values["Sent to nurture"] == f"{rec.nurtured:,}"


def test_empty_selection_says_so(app_at):
    """A period without dispositions shows a message, no chart and no exception."""
    at = app_at(PAGE, query={"from": "2025-11-01", "to": "2025-11-01"})
    assert any("No disposition was recorded" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_every_control_round_trips_through_the_url(app_at):
    """A link with breakdown, outcome set and period opens those controls; changing each
    writes it back to the URL; values the page does not offer are ignored."""
    query = {"by": "campaign", "outcomes": "nurture", "grain": "quarter"}
    at = app_at(PAGE, query=query)  # by and outcomes open the reasons section
    assert at.selectbox(key="rj_by").value == "campaign"
    assert at.selectbox(key="rj_outcomes").value == "nurture"
    assert {k: at.query_params[k] for k in query} == {**query}
    at.selectbox(key="rj_by").set_value("region").run()
    at.selectbox(key="rj_outcomes").set_value("bad_data").run()
    assert {k: at.query_params[k] for k in ("by", "outcomes")} == {
        "by": "region",
        "outcomes": "bad_data",
    }
    at = app_at(PAGE, query={**query, "section": "trend"})
    assert at.radio(key="rj_period").value == "quarter"
    at.radio(key="rj_period").set_value("month").run()
    assert at.query_params["grain"] == "month"
    stale = app_at(PAGE, query={"by": "planet", "outcomes": "all", "grain": "decade"})
    assert stale.selectbox(key="rj_by").value == "source"
    assert stale.selectbox(key="rj_outcomes").value == "non_accepted"
    stale = app_at(PAGE, query={"grain": "decade", "section": "trend"})
    assert stale.radio(key="rj_period").value == "month"


def test_reasons_read_the_same_in_charts_and_tables(app_at):
    """No chart axis, legend or table cell shows an underscore code; the heatmap's columns
    and the reason table use the same words as the Pareto."""
    at = app_at(PAGE)
    pareto = set(chart(at, "rj_chart_pareto")["data"][0]["x"])
    heat = chart(at, "rj_chart_heatmap")["data"][0]
    assert set(heat["x"]) <= pareto and "No budget" in pareto
    assert set(table_with(at, "source", "reason", "share")["reason"]) <= pareto
    texts = []
    for c in at.get("plotly_chart"):
        for t in json.loads(c.proto.spec)["data"]:
            texts.append(t.get("name") or "")
            texts += [str(v) for k in ("x", "y") if isinstance(t.get(k), list) for v in t[k]]
    assert not [t for t in texts if "_" in t]
    for d in at.dataframe:
        cells = d.value.select_dtypes(include="object").astype(str).to_numpy().ravel()
        assert not [c for c in cells if "_" in c or c == "None"], list(d.value.columns)
    names = [m.label for m in at.metric]
    assert "✓ Accepted" in names and "✗ Rejected" in names
    for code in ("trend", "recycling"):  # the other sections' charts too
        other = app_at(PAGE, query={"section": code})
        for c in other.get("plotly_chart"):
            for t in json.loads(c.proto.spec)["data"]:
                assert "_" not in (t.get("name") or ""), code


def test_the_month_in_progress_is_marked_not_judged(app_at, con):
    """The small demo's latest fact falls inside October 2026, so October is the one month
    not over: its bars are pale, the chart says "in progress", the table flags it, and the
    summary sentence quotes the newest complete month instead."""
    at = app_at(PAGE, query={"section": "trend"})
    shown = table_with(at, "month", "outcome", "share")
    mix = rejections.disposition_mix(con, at.session_state["filters"], by="month")
    open_months = set(mix.loc[~mix["complete"], "month"])
    assert [f"{pd.Timestamp(m):%Y-%m}" for m in open_months] == ["2026-10"]
    assert set(shown.loc[~shown["complete"], "month"]) == open_months
    spec = chart(at, "rj_chart_trend")
    if open_months:
        assert any(a["text"] == "in progress" for a in spec["layout"]["annotations"])
        opacities = spec["data"][0]["marker"]["opacity"]
        assert values(opacities)[-1] == pytest.approx(0.35)
    newest_done = max(set(mix["month"]) - open_months)
    assert f"In {pd.Timestamp(newest_done):%b %Y}," in spec["layout"]["meta"]["summary"]


def test_every_chart_has_a_one_sentence_summary(app_at):
    """Each chart carries its summary (its text alternative) and shows it under the chart."""
    for code in SECTION_CHART:
        at = app_at(PAGE, query={"section": code})
        captions = {c.value for c in at.caption}
        assert len(at.get("plotly_chart")) == 2
        for c in at.get("plotly_chart"):
            summary = json.loads(c.proto.spec)["layout"]["meta"]["summary"]
            assert summary in captions and len(summary) > 30
