"""Shared look for every plotly figure: one palette, readable text, labelled axes, status marks.

Accessibility is settled here once for every page:

- every chart text (tick labels, axis titles, legend, annotations, colour-bar ticks) is drawn
  in :data:`TEXT` or :data:`TEXT_MUTED`, both at least 4.5:1 on white (WCAG AA), and set
  explicitly, so Streamlit's own plotly theme (grey #808495 ticks, 3.7:1) cannot lighten it;
- the palette's colours reach 4.5:1 on white, so they can be used as text and carry white
  text inside bars;
- colour never carries a status alone: :func:`status_mark` gives the symbol and word that
  go with a good/bad colour (goal bars, significance markers, accepted/rejected bars, SLA
  cells), and :func:`status_color` the colour of the same status.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dashboard import display

TEXT = "#1f2329"
"""Chart text (titles, legend, annotations): 15.6:1 on white."""
TEXT_MUTED = "#4a5260"
"""Tick labels and secondary chart text: 7.9:1 on white."""
GRID = "#e3e6ea"
"""Gridlines: light on purpose (they guide, they carry no information)."""
AXIS_LINE = "#8a929e"
"""Axis and zero lines."""

STAGE_COLORS = {
    "lead": "#9ecae1",
    "mql": "#4292c6",
    "sql": "#2171b5",
    "opportunity": "#08519c",
    "customer": "#08306b",
}
PALETTE = ["#2171b5", "#c2410c", "#15803d", "#756bb1", "#c62828", "#5f6368", "#fdae6b", "#74c476"]
"""Series colours. The first six reach 4.5:1 on white (usable as text, and white text inside
them reads); the last two are light fills only, never text."""
GOOD = "#15803d"
"""Good status (met, accepted, above goal): 5.0:1 on white."""
BAD = "#c62828"
"""Bad status (breached, rejected, below goal): 5.6:1 on white."""
NEAR = "#b45309"
"""Close to the goal: 5.0:1 on white."""
NEUTRAL = "#5f6368"

STATUS: dict[str, tuple[str, str, str]] = {
    "good": ("✓", "met", GOOD),
    "near": ("≈", "close", NEAR),
    "bad": ("✗", "missed", BAD),
    "better": ("▲", "significantly better", GOOD),
    "worse": ("▼", "significantly worse", BAD),
    "same": ("", "within noise", NEUTRAL),
    "accepted": ("✓", "accepted", GOOD),
    "rejected": ("✗", "rejected", BAD),
    "immature": ("…", "in progress", NEUTRAL),
}
"""Status -> (symbol, word, colour): what a colour means, said without the colour."""


def status_mark(status: str, *, word: bool = False) -> str:
    """The symbol of a status (``✓``, ``✗``, ``▲``, ``▼`` …), with its word when ``word``.

    Use it in bar texts, cell texts and legend names next to the colour of
    :func:`status_color`, so the status reads without colour vision: goal bars
    (good/near/bad), significance markers (better/worse), accepted/rejected bars, SLA cells.
    """
    symbol, text, _ = STATUS[status]
    if word:
        return f"{symbol} {text}".strip()
    return symbol


def status_color(status: str) -> str:
    """The colour of a status of :data:`STATUS`."""
    return STATUS[status][2]


def _axis_look() -> dict[str, Any]:
    return {
        "tickfont": {"color": TEXT_MUTED},
        "title": {"font": {"color": TEXT}},
        "gridcolor": GRID,
        "linecolor": AXIS_LINE,
        "zerolinecolor": AXIS_LINE,
    }


def _set_template(fig: go.Figure, name: str) -> None:
    """Give ``fig`` the registered plotly template ``name``, without re-validating it.

    Assigning a template through ``update_layout`` validates and copies every property
    of the template, about a tenth of a second per figure here (a page draws several
    per rerun); the registered template is valid by construction, so it is assigned the
    way plotly assigns its own default template, with validation off for that one
    property. The figure's JSON is the same either way (tests/dashboard/test_charts_style.py).
    """
    layout = fig.layout
    if not hasattr(layout, "_validate"):  # a plotly without the switch: the plain way
        fig.update_layout(template=name)
        return
    before = layout._validate
    layout._validate = False
    try:
        layout.template = pio.templates[name]
    finally:
        layout._validate = before


def style(fig: go.Figure, *, title: str | None = None, height: int = 380) -> go.Figure:
    """Apply the house layout: white background, legend on top, compact margins, AA text.

    Text colours are set on the figure itself (layout font, every axis, legend, colour
    bars), so they win over Streamlit's plotly theme.
    """
    _set_template(fig, "plotly_white")
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "x": 0,
            "font": {"color": TEXT},
        },
        font={"size": 13, "color": TEXT},
        title_font_color=TEXT,
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        colorway=PALETTE,
        hoverlabel={"namelength": -1, "font": {"color": TEXT}, "bgcolor": "#ffffff"},
    )
    fig.update_xaxes(**_axis_look())
    fig.update_yaxes(**_axis_look())
    for trace in fig.data:
        if "colorbar" in trace:
            trace.update(
                colorbar={"tickfont": {"color": TEXT_MUTED}, "title": {"font": {"color": TEXT}}}
            )
    for note in fig.layout.annotations or ():
        if note.font is None or note.font.color is None:
            note.update(font={"color": TEXT})
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
    d: display.LABELS[d]
    for d in ("source", "campaign", "region", "country", "industry", "size_band", "team", "rep")
}
GRAIN_UNIT = {"day": "day", "week": "week", "month": "month", "quarter": "quarter"}
IMMATURE_GREY = "#d9d9d9"
HEAT_SCALE = [[0.0, "#f7fbff"], [0.5, "#6baed6"], [1.0, "#08306b"]]


def step_label(from_stage: str, to_stage: str) -> str:
    """``"MQL → SQL"``."""
    return f"{STAGE_LABEL[from_stage]} → {STAGE_LABEL[to_stage]}"


def pct(value: float, digits: int = 1) -> str:
    """A share 0-1 as ``"54.1%"``; ``"–"`` when undefined (:func:`dashboard.display.fmt_share`)."""
    return display.fmt_share(value, digits)


def k_of_n(k: float, n: float) -> str:
    """``"411 of 760"``."""
    return f"{display.fmt_count(k)} of {display.fmt_count(n)}"


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
