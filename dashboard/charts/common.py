"""Shared look for every plotly figure: one palette, readable fonts, labelled axes."""

from __future__ import annotations

import plotly.graph_objects as go

STAGE_COLORS = {
    "lead": "#9ecae1",
    "mql": "#4292c6",
    "sql": "#2171b5",
    "opportunity": "#08519c",
    "customer": "#08306b",
}
PALETTE = ["#2171b5", "#e6550d", "#31a354", "#756bb1", "#de2d26", "#636363", "#fdae6b", "#74c476"]
GOOD = "#31a354"
BAD = "#de2d26"
NEUTRAL = "#636363"


def style(fig: go.Figure, *, title: str | None = None, height: int = 380) -> go.Figure:
    """Apply the house layout: white background, legend on top, compact margins."""
    fig.update_layout(
        title=title,
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        font={"size": 13},
        colorway=PALETTE,
        hoverlabel={"namelength": -1},
    )
    return fig


def pct_axis(fig: go.Figure, axis: str = "y", title: str = "share (%)") -> go.Figure:
    """Format an axis holding shares 0–1 as percentages."""
    fig.update_layout({f"{axis}axis": {"tickformat": ".0%", "title": title, "rangemode": "tozero"}})
    return fig
