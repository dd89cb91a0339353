"""The Rejections page through Streamlit's AppTest, against the small demo database."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest

from analysis import store
from analysis.lifecycle import rejections

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


def test_page_draws_every_section(app_at):
    """It draws the Pareto, the reason heatmap, the trend and the recycle chart."""
    at = app_at(PAGE)
    keys = {c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")}
    assert keys == {"rj_chart_pareto", "rj_chart_heatmap", "rj_chart_trend", "rj_chart_recycle"}


def test_pareto_table_is_reason_pareto(app_at, con):
    """The Pareto grid (and so its CSV) is reason_pareto for the page's filters, row for row,
    and the chart's bars and cumulative line carry the same numbers."""
    at = app_at(PAGE)
    expected = rejections.reason_pareto(con, at.session_state["filters"])
    shown = table_with(at, "cumulative_share")
    pd.testing.assert_frame_equal(
        shown.reset_index(drop=True), expected, check_dtype=False, check_exact=False
    )
    bars, line = chart(at, "rj_chart_pareto")["data"]
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
    shown = table_with(at, "source", "reason", "share")
    assert shown.groupby("source")["count"].sum().to_dict() == direct
    assert shown.groupby("source")["share"].sum().to_numpy() == pytest.approx(1.0)
    heat = chart(at, "rj_chart_heatmap")["data"][0]
    assert [y.split(" (")[0] for y in heat["y"]] == sorted(direct)


def test_breakdown_and_outcome_controls(app_at, con):
    """Choosing campaign and 'rejected' redraws the grid per campaign over rejected ones."""
    at = app_at(PAGE)
    at.selectbox(key="rj_by").set_value("campaign").run()
    at.selectbox(key="rj_outcomes").set_value(("rejected",)).run()
    assert not at.exception
    ((rejected,),) = con.execute(
        "SELECT count(*) FROM dispositions WHERE outcome = 'rejected'"
    ).fetchall()
    shown = table_with(at, "campaign", "reason", "share")
    assert shown["count"].sum() == rejected


def test_recycle_rate_is_the_engine_number(app_at, con):
    """The recycle-rate metric is recycle_summary's rate with the page's filters."""
    at = app_at(PAGE)
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
