"""Shared look for every plotly figure: one palette, readable fonts, labelled axes."""

from __future__ import annotations

import pandas as pd
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


# Funnel labels and small text formats shared by the funnel and cohort charts.

STAGE_LABEL = {
    "lead": "Lead",
    "mql": "MQL",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "customer": "Customer",
}
STAGE_PLURAL = {
    "lead": "Leads",
    "mql": "MQLs",
    "sql": "SQLs",
    "opportunity": "Opportunities",
    "customer": "Customers",
}
STAGE_PLURAL_LOWER = {
    "lead": "leads",
    "mql": "MQLs",
    "sql": "SQLs",
    "opportunity": "opportunities",
    "customer": "customers",
}
DIMENSION_LABEL = {
    "source": "Source",
    "campaign": "Campaign",
    "region": "Region",
    "country": "Country",
    "industry": "Industry",
    "size_band": "Company size",
    "team": "Team",
    "rep": "Rep",
}
GRAIN_UNIT = {"day": "day", "week": "week", "month": "month", "quarter": "quarter"}
IMMATURE_GREY = "#d9d9d9"
HEAT_SCALE = [[0.0, "#f7fbff"], [0.5, "#6baed6"], [1.0, "#08306b"]]


def step_label(from_stage: str, to_stage: str) -> str:
    """``"MQL → SQL"``."""
    return f"{STAGE_LABEL[from_stage]} → {STAGE_LABEL[to_stage]}"


def pct(value: float, digits: int = 1) -> str:
    """A share 0-1 as ``"54.1%"``; ``"–"`` when undefined."""
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}%}"


def k_of_n(k: float, n: float) -> str:
    """``"411 of 760"``."""
    return f"{int(k):,} of {int(n):,}"


def interval(low: float, high: float) -> str:
    """``"95% CI 50.5–57.6%"``; empty when undefined."""
    if pd.isna(low) or pd.isna(high):
        return ""
    return f"95% CI {low * 100:.1f}–{high * 100:.1f}%"


def rate_text(k: float, n: float, rate: float, low: float, high: float) -> str:
    """``"54.1% (411 of 760; 95% CI 50.5–57.6%)"``, the way every rate is quoted."""
    if not n:
        return "– (0 of 0)"
    return f"{pct(rate)} ({k_of_n(k, n)}; {interval(low, high)})"


def month_label(ts: pd.Timestamp) -> str:
    """``"Sep 2026"``."""
    return pd.Timestamp(ts).strftime("%b %Y")


# --------------------------------------------------------------------------- funnel
