"""Figures of the Monthly review (page and HTML report share them).

Every function takes a table of :class:`analysis.review.Review` and returns a styled
plotly figure; none computes a metric beyond a display ratio. This module imports plotly
only (no Streamlit), so :mod:`analysis.report` can draw the same figures offline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.common import BAD, GOOD, NEUTRAL, PALETTE, style
from dashboard.charts.memo import figure_cache
from dashboard.display import label

STATUS_COLORS = {
    "mql": "#9ecae1",
    "sql": "#4292c6",
    "opportunity": "#08519c",
    "won": GOOD,
    "lost": "#fd8d3c",
    "rejected": BAD,
    "nurture": "#9e9ac8",
}
NEAR = "#f0a30a"
"""Colour of a goal at 90-100% of target."""
THIS_MONTH = PALETTE[0]
PREVIOUS = "#9e9e9e"


def _fmt_value(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "money":
        return f"{value:,.0f}"
    return f"{value:,.0f}"


@figure_cache
def goals_chart(goals: pd.DataFrame) -> go.Figure:
    """Actual as a share of target per goal, with the 100% line.

    ``goals`` is :attr:`analysis.review.Review.goals`; goals without a target are left
    out. Bars at or above target are green, from 90% amber, below that red.
    """
    g = goals[goals["pct_of_target"].notna()].iloc[::-1]
    fig = go.Figure()
    if g.empty:
        fig.add_annotation(text="No targets set for this month", showarrow=False)
        return style(fig, height=220)
    text = [
        f"{p:.0%}  ({_fmt_value(a, u)} of {_fmt_value(t, u)})"
        for p, a, t, u in zip(g["pct_of_target"], g["actual"], g["target"], g["unit"], strict=True)
    ]
    fig.add_bar(
        y=g["label"],
        x=g["pct_of_target"],
        orientation="h",
        marker_color=[GOOD if p >= 1 else NEAR if p >= 0.9 else BAD for p in g["pct_of_target"]],
        text=text,
        textposition="auto",
        insidetextanchor="end",
        cliponaxis=False,
        hovertemplate="%{y}: %{x:.1%} of target<extra></extra>",
        showlegend=False,
    )
    fig.add_vline(x=1, line_dash="dash", line_color=NEUTRAL, layer="below")
    top = max(1.15, float(g["pct_of_target"].max()) * 1.08)
    fig.update_xaxes(tickformat=".0%", title="actual as a share of target", range=[0, top])
    fig.update_yaxes(automargin=True)
    return style(fig, height=60 + 38 * len(g))


@figure_cache
def status_chart(status: pd.DataFrame) -> go.Figure:
    """Where the month's MQLs are now: leads per pipeline status (horizontal bars)."""
    s = status.iloc[::-1]
    text = [
        f"{n:,} ({sh:.0%})" if not np.isnan(sh) else f"{n:,}"
        for n, sh in zip(s["leads"], s["share"].astype(float), strict=True)
    ]
    fig = go.Figure()
    fig.add_bar(
        y=s["label"],
        x=s["leads"],
        orientation="h",
        marker_color=[STATUS_COLORS.get(k, NEUTRAL) for k in s["status"]],
        text=text,
        textposition="outside",
        cliponaxis=False,
        hovertemplate="%{y}: %{x:,} MQLs<extra></extra>",
        showlegend=False,
    )
    top = max(1, int(s["leads"].max())) * 1.25
    fig.update_xaxes(title="MQLs of the month", range=[0, top], rangemode="tozero")
    fig.update_yaxes(automargin=True)
    return style(fig, height=300)


@figure_cache
def reasons_chart(reasons: pd.DataFrame, top: int = 8) -> go.Figure:
    """Share of each rejection reason, this month against the previous month."""
    r = reasons.head(top).iloc[::-1].assign(reason=lambda d: d["reason"].map(label))
    fig = go.Figure()
    if r.empty:
        fig.add_annotation(text="No rejections recorded in these two months", showarrow=False)
        return style(fig, height=220)
    fig.add_bar(
        y=r["reason"],
        x=r["prev_share"],
        orientation="h",
        name="previous month",
        marker_color=PREVIOUS,
        customdata=r["prev_count"],
        hovertemplate="%{y}: %{x:.1%} (%{customdata} rejections)<extra>previous month</extra>",
    )
    fig.add_bar(
        y=r["reason"],
        x=r["share"],
        orientation="h",
        name="this month",
        marker_color=THIS_MONTH,
        customdata=r["count"],
        text=[f"{c}" for c in r["count"]],
        textposition="outside",
        cliponaxis=False,
        hovertemplate="%{y}: %{x:.1%} (%{customdata} rejections)<extra>this month</extra>",
    )
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_xaxes(tickformat=".0%", title="share of rejections (not accepted)")
    fig.update_yaxes(automargin=True)
    return style(fig, height=80 + 42 * len(r))


@figure_cache
def plan_chart(needed: pd.DataFrame) -> go.Figure:
    """This month's volumes as a share of what the revenue goal needs, per stage.

    The bar is actual ÷ needed (rounded up to whole leads or deals); the error bar spans
    actual ÷ the plan's high and low estimates (the rates' 95% intervals). Stages the plan
    cannot size (a rate of 0 or unknown) are left out.
    """
    n = needed[np.isfinite(needed["needed"].astype(float)) & (needed["needed"] > 0)].iloc[::-1]
    fig = go.Figure()
    if n.empty:
        fig.add_annotation(text="The plan cannot be sized with these rates", showarrow=False)
        return style(fig, height=220)
    ratio = n["actual"] / n["needed_whole"]
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = n["actual"] / np.ceil(n["high"] - 1e-9)
        hi = n["actual"] / np.ceil(n["low"] - 1e-9)
    text = [
        f"{r:.0%}  ({a:,.0f} of {nd:,.0f} needed)"
        for r, a, nd in zip(ratio, n["actual"], n["needed_whole"], strict=True)
    ]
    fig.add_bar(
        y=n["label"],
        x=ratio,
        orientation="h",
        marker_color=[GOOD if r >= 1 else NEAR if r >= 0.9 else BAD for r in ratio],
        error_x={
            "type": "data",
            "symmetric": False,
            "array": (hi - ratio).clip(lower=0),
            "arrayminus": (ratio - lo).clip(lower=0),
            "color": NEUTRAL,
        },
        text=text,
        textposition="inside",
        insidetextanchor="start",
        hovertemplate="%{y}: %{x:.0%} of what the goal needs<extra></extra>",
        showlegend=False,
    )
    fig.add_vline(x=1, line_dash="dash", line_color=NEUTRAL, layer="below")
    finite = np.r_[ratio.to_numpy(dtype=float), hi.to_numpy(dtype=float)]
    finite = finite[np.isfinite(finite)]
    top = min(max(1.2, float(finite.max()) * 1.05 if finite.size else 1.2), 3.0)
    fig.update_xaxes(tickformat=".0%", title="this month's volume ÷ volume needed", range=[0, top])
    fig.update_yaxes(automargin=True)
    return style(fig, height=80 + 44 * len(n))
