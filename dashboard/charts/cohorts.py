"""Cohort charts of the Funnel page: monthly trends with immature cohorts marked, the
month-over-month callouts, and the cohort heatmap (immature cells grey).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts.axes import time_axis as _time_axis
from dashboard.charts.common import (
    BAD,
    GOOD,
    HEAT_SCALE,
    IMMATURE_GREY,
    STAGE_COLORS,
    STAGE_LABEL,
    STAGE_PLURAL,
    k_of_n,
    month_label,
    pct,
    rate_text,
    step_label,
    style,
)
from dashboard.charts.memo import figure_cache


def _band(x: pd.Series, low: pd.Series, high: pd.Series, color: str) -> go.Scatter:
    return go.Scatter(
        x=list(x) + list(x[::-1]),
        y=list(high) + list(low[::-1]),
        fill="toself",
        fillcolor=_rgba(color, 0.15),
        line={"width": 0},
        hoverinfo="skip",
        name="95% interval",
        legendgroup="band",
    )


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


# trend_chart runs past 80 lines: one figure whose traces (bands, mature and immature
# cohorts, significance marks) share the loop over steps.
@figure_cache
def trend_chart(trends: Mapping[tuple[str, str], pd.DataFrame], window_days: float) -> go.Figure:
    """Monthly cohort conversion per step with 95% bands; immature cohorts hollow and dotted.

    ``trends`` maps a step ``(from_stage, to_stage)`` to its
    :func:`analysis.funnel.month_over_month` frame (cohort rates with ``mature`` and
    ``significant``). Months whose change from the month before is significant get a
    ring (green up, red down).
    """
    # Long on purpose: one figure whose traces (rate, interval band, immature markers,
    # labels) share the same axes and hover text; split, the pieces would pass the
    # figure and its styling back and forth.
    steps = list(trends)
    fig = make_subplots(
        rows=1,
        cols=len(steps),
        subplot_titles=[f"{step_label(s, t)} within {window_days:g} days" for s, t in steps],
        horizontal_spacing=0.08,
    )
    for i, (s, t) in enumerate(steps, start=1):
        df = trends[(s, t)]
        if df.empty:
            continue
        color = STAGE_COLORS[t]
        first = i == 1
        hover = [
            f"<b>{month_label(r['cohort'])} cohort</b> ({STAGE_PLURAL[s]} entered that month)<br>"
            f"{rate_text(r['k'], r['n'], r['rate'], r['low'], r['high'])} reached "
            f"{STAGE_LABEL[t]} within {window_days:g} days<br>"
            + (
                "mature: every member had the full window"
                if r["mature"]
                else f"<i>immature: the window is not over ({_days_left(r, window_days)})</i>"
            )
            for r in df.to_dict("records")
        ]
        df = df.assign(hover=hover)
        fig.add_trace(
            _band(df["cohort"], df["low"], df["high"], color).update(showlegend=first),
            row=1,
            col=i,
        )
        mature = df[df["mature"]]
        immature = df[~df["mature"]]
        fig.add_scatter(
            x=mature["cohort"],
            y=mature["rate"],
            customdata=mature["hover"],
            mode="lines+markers",
            line={"color": color, "width": 2},
            marker={"size": 7, "color": color},
            name="mature cohort",
            legendgroup="mature",
            showlegend=first,
            hovertemplate="%{customdata}<extra></extra>",
            row=1,
            col=i,
        )
        if len(immature):
            joined = pd.concat([mature.tail(1), immature])
            fig.add_scatter(
                x=joined["cohort"],
                y=joined["rate"],
                mode="lines",
                line={"color": color, "width": 2, "dash": "dot"},
                hoverinfo="skip",
                showlegend=False,
                row=1,
                col=i,
            )
            fig.add_scatter(
                x=immature["cohort"],
                y=immature["rate"],
                customdata=immature["hover"],
                mode="markers",
                marker={"size": 10, "color": color, "symbol": "circle-open", "line": {"width": 2}},
                name=f"immature cohort (younger than {window_days:g} days: may still rise)",
                legendgroup="immature",
                showlegend=first or not _has_immature(trends, steps[: i - 1]),
                hovertemplate="%{customdata}<extra></extra>",
                row=1,
                col=i,
            )
        sig = df[df["significant"].astype(bool)]
        if len(sig):
            fig.add_scatter(
                x=sig["cohort"],
                y=sig["rate"],
                mode="markers",
                marker={
                    "size": 18,
                    "symbol": "circle-open",
                    "color": [GOOD if c > 0 else BAD for c in sig["change"]],
                    "line": {"width": 2.5},
                },
                name="significant change vs month before (green up, red down)",
                legendgroup="sig",
                showlegend=not _has_sig(trends, steps[: i - 1]),
                hoverinfo="skip",
                row=1,
                col=i,
            )
    style(fig, height=380)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 80, "b": 10}, legend={"y": 1.12})
    fig.update_annotations(yshift=2)
    for i in range(1, len(steps) + 1):
        fig.update_yaxes(
            tickformat=".0%",
            rangemode="tozero",
            title="share of cohort (%)" if i == 1 else None,
            row=1,
            col=i,
        )
        fig.update_xaxes(title="cohort month", row=1, col=i)
        months = trends[steps[i - 1]]["cohort"].nunique() if steps[i - 1] in trends else 1
        _time_axis(fig, "month", months, row=1, col=i)
    return fig


def _days_left(rec: Mapping, window_days: float) -> str:
    left = window_days - rec["age_days"]
    return f"{left:.0f} more days to go" if left > 0 else "period still running"


def _has_immature(trends: Mapping, steps: Sequence) -> bool:
    return any((~trends[st]["mature"].astype(bool)).any() for st in steps if len(trends[st]))


def _has_sig(trends: Mapping, steps: Sequence) -> bool:
    return any(trends[st]["significant"].astype(bool).any() for st in steps if len(trends[st]))


def change_callouts(mom: pd.DataFrame, from_stage: str, to_stage: str) -> list[tuple[bool, str]]:
    """The significant month-over-month changes of one step, newest first.

    ``mom`` is :func:`analysis.funnel.month_over_month`; only rows flagged
    ``significant`` (both cohorts mature and p below alpha) are returned, each as
    ``(went_up, markdown sentence)`` quoting both rates with k of n and the p-value.
    """
    out = []
    if mom.empty:
        return out
    for r in mom[mom["significant"].astype(bool)].iloc[::-1].to_dict("records"):
        before = pd.Timestamp(r["cohort"]) - pd.DateOffset(months=1)
        up = r["change"] > 0
        out.append(
            (
                up,
                f"**{step_label(from_stage, to_stage)}, {month_label(r['cohort'])} cohort: "
                f"{'up' if up else 'down'} {abs(r['change']) * 100:.1f} points** — "
                f"{pct(r['rate'])} ({k_of_n(r['k'], r['n'])}) against "
                f"{pct(r['prev_rate'])} ({k_of_n(r['prev_k'], r['prev_n'])}) in "
                f"{month_label(before)}; z = {r['z']:.2f}, p = {r['p_value']:.3f}.",
            )
        )
    return out


def comparable_months(mom: pd.DataFrame) -> int:
    """How many month-over-month comparisons were tested (both cohorts mature)."""
    return 0 if mom.empty else int(mom["comparable"].astype(bool).sum())


# --------------------------------------------------------------------------- heatmap


# cohort_heatmap runs past 80 lines: one figure, the text, colour and hover grids built
# in one pass over the cells.
@figure_cache
def cohort_heatmap(
    matrix: pd.DataFrame, from_stage: str = "mql", to_stage: str = "sql"
) -> go.Figure:
    """Cohort month x months since entry, cumulative share reached ``to_stage``.

    ``matrix`` is :func:`analysis.funnel.cohort_matrix` (long form). Mature cells use the
    blue scale; immature cells (calendar month not over at the data's as-of date) are
    grey with their value in italics, and a legend entry says what grey means.
    """
    # Long on purpose: one figure; most lines are the cell text, the immature-cell
    # marking and the accessible hover text for each cell.
    wide = matrix.pivot(index="cohort", columns="months_since")
    cohorts = list(wide.index)
    months = [int(m) for m in wide["rate"].columns]
    sizes = wide["n"][0]  # the cohort size (every row has month 0)
    y = [f"{month_label(c)} (n={int(sizes[c]):,})" for c in cohorts]
    rate = wide["rate"].to_numpy(dtype="float64")
    mature = wide["mature"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    k, n = wide["k"].to_numpy(dtype="float64"), wide["n"].to_numpy(dtype="float64")
    low, high = wide["low"].to_numpy(dtype="float64"), wide["high"].to_numpy(dtype="float64")
    hover = np.empty(rate.shape, dtype=object)
    text = np.empty(rate.shape, dtype=object)
    for i, c in enumerate(cohorts):
        for j, m in enumerate(months):
            if np.isnan(rate[i, j]):
                hover[i, j], text[i, j] = "", ""
                continue
            state = "" if mature[i, j] else "<br><i>immature: this month is not over yet</i>"
            hover[i, j] = (
                f"<b>{month_label(c)} cohort</b>, by the end of month {m} after entry<br>"
                f"{rate_text(k[i, j], n[i, j], rate[i, j], low[i, j], high[i, j])} "
                f"reached {STAGE_LABEL[to_stage]}{state}"
            )
            text[i, j] = f"{rate[i, j]:.0%}" if mature[i, j] else f"<i>{rate[i, j]:.0%}</i>"
    z_mature = np.where(mature, rate, np.nan)
    z_immature = np.where(~mature & ~np.isnan(rate), rate, np.nan)
    common = {
        "x": months,
        "y": y,
        "texttemplate": "%{text}",
        "customdata": hover,
        "hovertemplate": "%{customdata}<extra></extra>",
        "hoverongaps": False,
        "xgap": 2,
        "ygap": 2,
        "zmin": 0,
        "zmax": 1,
    }
    fig = go.Figure()
    fig.add_heatmap(
        z=z_mature,
        text=np.where(mature, text, ""),
        colorscale=HEAT_SCALE,
        colorbar={"title": {"text": "reached<br>(%)"}, "tickformat": ".0%", "len": 0.9},
        textfont={"size": 12},
        **common,
    )
    fig.add_heatmap(
        z=z_immature,
        text=np.where(mature, "", text),
        colorscale=[[0, IMMATURE_GREY], [1, IMMATURE_GREY]],
        showscale=False,
        textfont={"size": 12, "color": "#404040"},
        **common,
    )
    fig.add_scatter(
        x=[None],
        y=[None],
        mode="markers",
        marker={"symbol": "square", "size": 14, "color": IMMATURE_GREY},
        name="immature: the month has not ended by the data's last date, so it can still grow",
    )
    fig.add_scatter(
        x=[None],
        y=[None],
        mode="markers",
        marker={"symbol": "square", "size": 14, "color": HEAT_SCALE[1][1]},
        name="mature",
    )
    style(
        fig,
        title=(
            f"Cumulative share of {STAGE_PLURAL[from_stage]} that reached {STAGE_LABEL[to_stage]}"
            ", by cohort month"
        ),
        height=max(320, 110 + 30 * len(cohorts)),
    )
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 90, "b": 10},
        legend={"y": 1.0, "yanchor": "bottom"},
        plot_bgcolor="white",
    )
    fig.update_xaxes(
        title=f"months since entering {STAGE_LABEL[from_stage]} (0 = the entry month)",
        tickmode="array",
        tickvals=months,
        showgrid=False,
        side="bottom",
    )
    fig.update_yaxes(title="cohort month (size)", autorange="reversed", showgrid=False)
    return fig


# --------------------------------------------------------------------------- breakdown
