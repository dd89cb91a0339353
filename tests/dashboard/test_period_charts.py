"""Toy edges of the period charts: one-month slices and tiny counts read cleanly."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import funnel as charts
from dashboard.charts.axes import count_axis, time_axis


def _one_month_volumes() -> pd.DataFrame:
    """October only: one lead created, nothing else."""
    stages = ["lead", "mql", "sql", "opportunity", "customer"]
    return pd.DataFrame(
        {
            "period": [pd.Timestamp("2026-10-01")] * 5,
            "stage": stages,
            "entries": [1, 0, 0, 0, 0],
        }
    )


def test_a_one_month_slice_has_one_tick_per_month_and_whole_counts():
    """A one-month slice steps the time axis by a calendar month (no "Oct 2026, Oct 2026")
    and a count axis topping at 1 by whole numbers (no "1, 1, 1, 0")."""
    fig = charts.volumes_chart(_one_month_volumes(), "month")
    layout = fig.to_plotly_json()["layout"]
    xaxes = [v for k, v in layout.items() if k.startswith("xaxis")]
    yaxes = [v for k, v in layout.items() if k.startswith("yaxis")]
    assert len(xaxes) == len(yaxes) == 5
    assert all(x["dtick"] == "M1" and x["tickformat"] == "%b<br>%Y" for x in xaxes)
    assert all(y["dtick"] == 1 and y["tickformat"] == ",d" for y in yaxes)
    assert yaxes[0]["range"] == [0, 1.15]


def test_long_series_step_ticks_by_whole_months_and_counts_scale_freely():
    """24 months tick every 3 months (at most 8 labels); 1,000s keep plotly's own steps."""
    fig = time_axis(go.Figure(), "month", 24)
    assert fig.layout.xaxis.dtick == "M3"
    fig = time_axis(go.Figure(), "week", 30)
    assert fig.layout.xaxis.dtick == 4 * 7 * 86_400_000  # ceil(30 / 8) = 4 weeks
    fig = count_axis(go.Figure(), 1019)
    assert fig.layout.yaxis.dtick is None and fig.layout.yaxis.tickformat == ",d"


def test_immature_periods_are_hatched():
    """With data up to 15 Oct 2026 the October bar is hatched and pale, September's is not."""
    vol = pd.concat(
        [_one_month_volumes().assign(period=pd.Timestamp("2026-09-01")), _one_month_volumes()]
    )
    fig = charts.volumes_chart(vol, "month", pd.Timestamp("2026-10-15"))
    lead = fig.data[0]
    assert list(lead.marker.pattern.shape) == ["", "/"]
    assert list(lead.marker.opacity) == [1.0, 0.45]
    summary = charts.volumes_summary(vol, "month", pd.Timestamp("2026-10-15"))
    assert "Sep 2026" in summary and "newest complete" in summary
