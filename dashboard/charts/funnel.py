"""Figures and display tables of the Funnel page.

Every function takes frames exactly as :mod:`analysis.funnel` returns them and only
reshapes, labels and draws: no metric is computed here. Rates always travel with their
counts (``k of n``) and 95% Wilson intervals, and immature cohorts are drawn differently
from mature ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from dashboard.charts.common import BAD, GOOD, NEUTRAL, PALETTE, STAGE_COLORS, pct_axis, style

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


def stage_captions(conv: pd.DataFrame) -> dict[str, str]:
    """Stage -> one line under its count: the step rate from the previous stage.

    ``conv`` is :func:`analysis.funnel.stage_conversion` without breakdown.
    """
    out: dict[str, str] = {}
    prev = None
    for rec in conv.to_dict("records"):
        if prev is None:
            out[rec["stage"]] = "created in the period (the cohort)"
        elif not rec["step_n"]:
            out[rec["stage"]] = f"no {STAGE_PLURAL_LOWER[prev]} to convert (0 of 0)"
        else:
            out[rec["stage"]] = (
                f"{pct(rec['step_rate'])} of {STAGE_PLURAL_LOWER[prev]} · "
                f"{k_of_n(rec['reached'], rec['step_n'])} · "
                f"{interval(rec['step_low'], rec['step_high'])}"
            )
        prev = rec["stage"]
    return out


def funnel_chart(conv: pd.DataFrame) -> go.Figure:
    """The funnel: leads of the cohort that reached each stage, with step rates.

    ``conv`` is :func:`analysis.funnel.stage_conversion` without breakdown. Each bar is
    labelled with its count and the step rate from the previous stage (k of n); the hover
    adds the 95% Wilson intervals and the share of the whole cohort.
    """
    labels, hovers = [], []
    prev = None
    for rec in conv.to_dict("records"):
        name = STAGE_PLURAL[rec["stage"]]
        if prev is None:
            labels.append(f"{int(rec['reached']):,} leads")
            hovers.append(f"<b>{name}</b>: {int(rec['reached']):,} created in the period")
        else:
            step = rate_text(
                rec["reached"], rec["step_n"], rec["step_rate"], rec["step_low"], rec["step_high"]
            )
            overall = rate_text(
                rec["reached"],
                rec["overall_n"],
                rec["overall_rate"],
                rec["overall_low"],
                rec["overall_high"],
            )
            labels.append(
                f"{int(rec['reached']):,} · {pct(rec['step_rate'])} of "
                f"{STAGE_PLURAL_LOWER[prev]} ({k_of_n(rec['reached'], rec['step_n'])})"
            )
            hovers.append(
                f"<b>{name}</b>: {int(rec['reached']):,} leads reached this stage<br>"
                f"step from {STAGE_PLURAL[prev]}: {step}<br>share of all leads: {overall}"
            )
        prev = rec["stage"]
    fig = go.Figure(
        go.Funnel(
            y=[STAGE_PLURAL[s] for s in conv["stage"]],
            x=conv["reached"],
            text=labels,
            textinfo="text",
            textposition="outside",
            customdata=hovers,
            hovertemplate="%{customdata}<extra></extra>",
            marker={"color": [STAGE_COLORS[s] for s in conv["stage"]]},
            connector={"line": {"color": NEUTRAL, "width": 1}},
            cliponaxis=False,
        )
    )
    style(fig, title="Funnel: leads created in the period that reached each stage", height=360)
    fig.update_layout(margin={"l": 10, "r": 260, "t": 50, "b": 10})
    fig.update_yaxes(title=None)
    return fig


def funnel_table(conv: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The funnel as a table plus its column labels for :func:`dashboard.tables.show_table`."""
    config = {
        "stage": "stage",
        "reached": st_number("reached (k)", "Leads of the cohort that reached this stage"),
        "step_n": st_number("previous stage (n)", "Leads that reached the previous stage"),
        "step_rate": st_pct("step rate", "k / n: share of the previous stage that got here"),
        "step_low": st_pct("step 95% low", "Lower bound of the 95% Wilson interval"),
        "step_high": st_pct("step 95% high", "Upper bound of the 95% Wilson interval"),
        "overall_n": st_number("cohort (leads)", "Leads created in the period"),
        "overall_rate": st_pct("share of cohort", "reached / leads created"),
        "overall_low": st_pct("cohort 95% low"),
        "overall_high": st_pct("cohort 95% high"),
    }
    return conv, config


def st_number(label: str, help: str | None = None) -> Any:
    """A count column."""
    return st.column_config.NumberColumn(label, help=help, format="localized")


def st_pct(label: str, help: str | None = None) -> Any:
    """A share column shown as a percentage (the CSV keeps the fraction)."""
    return st.column_config.NumberColumn(label, help=help, format="percent")


def st_days(label: str, help: str | None = None) -> Any:
    """A duration column in days."""
    return st.column_config.NumberColumn(label, help=help, format="%.1f")


# --------------------------------------------------------------------------- volumes


def volumes_chart(vol: pd.DataFrame, grain: str) -> go.Figure:
    """Stage entries per period, one small panel per stage (each with its own scale).

    ``vol`` is :func:`analysis.funnel.period_volumes` without breakdown.
    """
    stages = list(STAGE_LABEL)
    unit = GRAIN_UNIT.get(grain, grain)
    titles = ["Leads created", "MQLs", "SQLs", "Opportunities", "Customers (won)"]
    fig = make_subplots(rows=1, cols=len(stages), subplot_titles=titles, horizontal_spacing=0.04)
    for i, stage in enumerate(stages, start=1):
        part = vol[vol["stage"] == stage]
        fig.add_bar(
            x=part["period"],
            y=part["entries"],
            name=STAGE_PLURAL[stage],
            marker_color=STAGE_COLORS[stage],
            showlegend=False,
            hovertemplate=(
                f"{unit} of %{{x|%d %b %Y}}: %{{y:,}} {STAGE_PLURAL_LOWER[stage]}<extra></extra>"
            ),
            row=1,
            col=i,
        )
    style(fig, height=300)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, bargap=0.15)
    fig.update_xaxes(tickformat="%b<br>%Y" if grain != "day" else "%d %b", nticks=5)
    fig.update_yaxes(rangemode="tozero", tickformat=",d")
    fig.update_yaxes(title=f"entries per {unit} (leads)", row=1, col=1)
    return fig


# --------------------------------------------------------------------------- trends


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


def trend_chart(trends: Mapping[tuple[str, str], pd.DataFrame], window_days: float) -> go.Figure:
    """Monthly cohort conversion per step with 95% bands; immature cohorts hollow and dotted.

    ``trends`` maps a step ``(from_stage, to_stage)`` to its
    :func:`analysis.funnel.month_over_month` frame (cohort rates with ``mature`` and
    ``significant``). Months whose change from the month before is significant get a
    ring (green up, red down).
    """
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
        fig.update_xaxes(tickformat="%b<br>%Y", title="cohort month", row=1, col=i)
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


def cohort_heatmap(
    matrix: pd.DataFrame, from_stage: str = "mql", to_stage: str = "sql"
) -> go.Figure:
    """Cohort month x months since entry, cumulative share reached ``to_stage``.

    ``matrix`` is :func:`analysis.funnel.cohort_matrix` (long form). Mature cells use the
    blue scale; immature cells (calendar month not over at the data's as-of date) are
    grey with their value in italics, and a legend entry says what grey means.
    """
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

BREAKDOWN_STEPS: tuple[tuple[str, str], ...] = (
    ("lead", "mql"),
    ("mql", "sql"),
    ("sql", "opportunity"),
    ("opportunity", "customer"),
    ("mql", "customer"),
)
_COUNT = {"lead": "leads", "mql": "mqls", "sql": "sqls"}
_COUNT.update({"opportunity": "opportunities", "customer": "customers"})


def breakdown_table(bd: pd.DataFrame, dim: str) -> tuple[pd.DataFrame, dict]:
    """The breakdown with counts first, then the step rates, then their 95% bounds.

    ``bd`` is :func:`analysis.funnel.breakdown` by ``dim``; the columns are reordered (not
    renamed, so the CSV keeps the engine's names) and labelled for display.
    """
    counts = [_COUNT[s] for s in STAGE_LABEL]
    rates = [f"{s}_to_{t}" for s, t in BREAKDOWN_STEPS]
    bounds = [f"{r}_{b}" for r in rates for b in ("low", "high")]
    table = bd[[dim, *counts, *rates, *bounds]]
    config: dict = {dim: DIMENSION_LABEL.get(dim, dim)}
    for s in STAGE_LABEL:
        config[_COUNT[s]] = st_number(STAGE_PLURAL[s], f"Leads of the cohort that reached {s}")
    for (s, t), r in zip(BREAKDOWN_STEPS, rates, strict=True):
        label = step_label(s, t)
        config[r] = st_pct(label, f"{STAGE_PLURAL[t]} ÷ {STAGE_PLURAL[s]} (k of n in the counts)")
        config[f"{r}_low"] = st_pct(f"{label} 95% low")
        config[f"{r}_high"] = st_pct(f"{label} 95% high")
    return table, config


def reference_rate(conv: pd.DataFrame, step: tuple[str, str]) -> float | None:
    """The step rate over all filtered leads, read from the funnel, when ``step`` is adjacent.

    ``conv`` is :func:`analysis.funnel.stage_conversion`; its ``step_rate`` of stage T is
    T over the stage before it, the same definition as :func:`analysis.funnel.breakdown`.
    Non-adjacent steps (MQL → Customer) return None.
    """
    s, t = step
    stages = list(conv["stage"])
    if s in stages and t in stages and stages.index(t) == stages.index(s) + 1:
        return float(conv.loc[conv["stage"] == t, "step_rate"].iloc[0])
    return None


def breakdown_chart(
    bd: pd.DataFrame, dim: str, step: tuple[str, str], reference: float | None = None
) -> go.Figure:
    """One step's rate per dimension value with 95% whiskers and ``k of n`` labels.

    Values are ordered by the step's denominator, largest on top; ``reference`` (the rate
    over all filtered leads) is drawn as a dashed line.
    """
    s, t = step
    col = f"{s}_to_{t}"
    k_col, n_col = _COUNT[t], _COUNT[s]
    df = bd.sort_values(n_col, ascending=False, kind="stable")
    has = df[n_col] > 0
    labels = [
        f"  {pct(r)} · {k_of_n(k, n)}" if n else "  no " + STAGE_PLURAL_LOWER[s]
        for k, n, r in zip(df[k_col], df[n_col], df[col], strict=True)
    ]
    hover = [
        f"<b>{v}</b>: {rate_text(k, n, r, lo, hi)}"
        for v, k, n, r, lo, hi in zip(
            df[dim], df[k_col], df[n_col], df[col], df[f"{col}_low"], df[f"{col}_high"], strict=True
        )
    ]
    y = df[dim].astype(str)
    fig = go.Figure()
    fig.add_scatter(
        x=df[col].where(has),
        y=y,
        mode="markers",
        marker={"size": 9, "color": STAGE_COLORS[t]},
        error_x={
            "type": "data",
            "symmetric": False,
            "array": (df[f"{col}_high"] - df[col]).where(has),
            "arrayminus": (df[col] - df[f"{col}_low"]).where(has),
            "color": STAGE_COLORS[t],
            "thickness": 1.5,
            "width": 4,
        },
        customdata=hover,
        hovertemplate="%{customdata}<extra></extra>",
        name=f"{step_label(s, t)} with 95% interval",
    )
    fig.add_scatter(
        x=df[f"{col}_high"].fillna(0.0),
        y=y,
        mode="text",
        text=labels,
        textposition="middle right",
        textfont={"size": 11, "color": NEUTRAL},
        hoverinfo="skip",
        cliponaxis=False,
    )
    if reference is not None and not pd.isna(reference):
        fig.add_vline(
            x=reference,
            line={"color": NEUTRAL, "dash": "dash", "width": 1},
            layer="below",
            annotation_text=f"all filtered leads {pct(reference)}",
            annotation_position="top",
        )
    style(
        fig,
        title=f"{step_label(s, t)} by {DIMENSION_LABEL.get(dim, dim).lower()} (95% interval)",
        height=max(260, 100 + 34 * len(df)),
    )
    pct_axis(fig, "x", f"{step_label(s, t)} ({STAGE_PLURAL[t]} ÷ {STAGE_PLURAL[s]}, %)")
    top = float(np.nanmax(df[f"{col}_high"].to_numpy(dtype="float64"), initial=0.0))
    fig.update_xaxes(range=[0, min(1.0, top + 0.05)], rangemode=None)
    fig.update_layout(margin={"l": 10, "r": 130, "t": 60, "b": 10})
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_layout(showlegend=False)
    return fig


# --------------------------------------------------------------------------- velocity

VELOCITY_STEPS: tuple[tuple[str, str], ...] = BREAKDOWN_STEPS


def velocity_table(frames: Mapping[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """Stack :func:`analysis.funnel.velocity` results (one row each) under a step label.

    Returns columns ``step``, ``n``, ``median_days``,
    ``p75_days``, ``p90_days``, ``mean_days``; MQL → Customer is labelled as the sales
    cycle.
    """
    rows = []
    for (s, t), df in frames.items():
        rec = df.iloc[0] if len(df) else pd.Series({"n": 0})
        label = step_label(s, t)
        if (s, t) == ("mql", "customer"):
            label = f"Sales cycle ({label})"
        rows.append(
            {
                "step": label,
                "n": int(rec.get("n", 0)),
                "median_days": rec.get("median_days", np.nan),
                "p75_days": rec.get("p75_days", np.nan),
                "p90_days": rec.get("p90_days", np.nan),
                "mean_days": rec.get("mean_days", np.nan),
            }
        )
    return pd.DataFrame(rows)


def velocity_columns() -> dict:
    """Column labels of :func:`velocity_table` for :func:`dashboard.tables.show_table`."""
    return {
        "step": "step",
        "n": st_number("leads (n)", "Leads that entered the first stage and reached the second"),
        "median_days": st_days("median (days)"),
        "p75_days": st_days("p75 (days)", "75% of these leads made the step within this time"),
        "p90_days": st_days("p90 (days)", "90% of these leads made the step within this time"),
        "mean_days": st_days("mean (days)", "Pulled up by slow leads; prefer the median"),
    }


def velocity_chart(vt: pd.DataFrame) -> go.Figure:
    """Median, p75 and p90 days per step on a log scale, one row per step.

    ``vt`` is :func:`velocity_table`; steps nobody made are left empty.
    """
    df = vt[vt["n"] > 0]
    y = [f"{s} (n={n:,})" for s, n in zip(df["step"], df["n"], strict=True)]
    fig = go.Figure()
    fig.add_scatter(
        x=np.column_stack([df["median_days"], df["p90_days"], np.full(len(df), np.nan)]).ravel(),
        y=np.repeat(y, 3),
        mode="lines",
        line={"color": "#bdbdbd", "width": 6},
        hoverinfo="skip",
        showlegend=False,
    )
    for col, name, symbol, color in (
        ("median_days", "median", "circle", PALETTE[0]),
        ("p75_days", "p75", "diamond", PALETTE[3]),
        ("p90_days", "p90", "triangle-right", PALETTE[1]),
    ):
        fig.add_scatter(
            x=df[col],
            y=y,
            mode="markers+text" if col == "median_days" else "markers",
            text=[f"{v:.1f} d" for v in df[col]] if col == "median_days" else None,
            textposition="top center",
            cliponaxis=False,
            marker={"symbol": symbol, "size": 12, "color": color},
            name=name,
            hovertemplate=f"%{{y}}<br>{name}: %{{x:.1f}} days<extra></extra>",
        )
    style(fig, title="Days per step: median, p75 and p90", height=max(260, 90 + 55 * len(df)))
    fig.update_xaxes(
        type="log",
        title="days from entering the first stage (log scale)",
        tickvals=[0.1, 0.3, 1, 3, 7, 14, 30, 60, 90, 180, 365, 730],
        ticktext=["0.1", "0.3", "1", "3", "7", "14", "30", "60", "90", "180", "365", "730"],
    )
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_layout(margin={"l": 10, "r": 20, "t": 80, "b": 10}, legend={"y": 1.04})
    return fig
