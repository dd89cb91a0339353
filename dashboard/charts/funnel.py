"""Figures and display tables of the Funnel page.

Every function takes frames exactly as :mod:`analysis.funnel` returns them and only
reshapes, labels and draws: no metric is computed here. Rates always travel with their
counts (``k of n``) and 95% Wilson intervals, and immature cohorts are drawn differently
from mature ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from dashboard.charts.axes import count_axis, time_axis
from dashboard.charts.cohorts import (  # noqa: F401  (the page's cohort charts)
    change_callouts,
    cohort_heatmap,
    comparable_months,
    trend_chart,
)
from dashboard.charts.common import (
    DIMENSION_LABEL,
    GRAIN_UNIT,
    NEUTRAL,
    PALETTE,
    STAGE_COLORS,
    STAGE_LABEL,
    STAGE_PLURAL,
    STAGE_PLURAL_LOWER,
    interval,
    k_of_n,
    pct,
    pct_axis,
    rate_text,
    step_label,
    style,
)
from dashboard.charts.memo import figure_cache
from dashboard.display import label as code_label


def _entered_text(stage: str) -> str:
    """``created in the period`` for leads, ``that became MQL in the period`` otherwise."""
    if stage == "lead":
        return "created in the period"
    return f"that entered the {STAGE_LABEL[stage]} stage in the period"


def stage_captions(conv: pd.DataFrame) -> dict[str, str]:
    """Stage -> one line under its count: the step rate from the previous stage.

    ``conv`` is :func:`analysis.funnel.stage_conversion` without breakdown.
    """
    out: dict[str, str] = {}
    prev = None
    for rec in conv.to_dict("records"):
        if prev is None:
            out[rec["stage"]] = _entered_text(rec["stage"]) + " (the cohort)"
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
            hovers.append(f"<b>{name}</b>: {int(rec['reached']):,} {_entered_text(rec['stage'])}")
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
    base = conv["stage"].iloc[0] if len(conv) else "lead"
    style(fig, title=f"Funnel: leads {_entered_text(base)} that reached each stage", height=360)
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


def immature_periods(periods: pd.Series, grain: str, as_of: Any) -> pd.Series:
    """True for each period start whose period had not ended by ``as_of`` (still running)."""
    if as_of is None:
        return pd.Series(False, index=periods.index)
    step = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1)}.get(
        grain, pd.DateOffset(months={"month": 1, "quarter": 3, "year": 12}.get(grain, 1))
    )
    ends = pd.to_datetime(periods) + step
    return ends > pd.Timestamp(as_of)


def volumes_summary(vol: pd.DataFrame, grain: str, as_of: Any = None) -> str:
    """One sentence for the volumes chart: the newest complete period's MQLs."""
    mql = vol[vol["stage"] == "mql"].sort_values("period")
    done = mql[~immature_periods(mql["period"], grain, as_of)]
    if done.empty:
        return f"No {grain} in the period is complete yet: every bar is still growing."
    last = done.iloc[-1]
    peak = done.loc[done["entries"].idxmax()]
    when = "%b %Y" if grain != "day" and grain != "week" else "%d %b %Y"
    return (
        f"{int(last['entries']):,} MQLs in the {grain} of {last['period']:{when}} (the newest "
        f"complete one); the most in a {grain} was {int(peak['entries']):,} "
        f"({peak['period']:{when}})."
    )


@figure_cache
def volumes_chart(vol: pd.DataFrame, grain: str, as_of: Any = None) -> go.Figure:
    """Stage entries per period, one small panel per stage (each with its own scale).

    ``vol`` is :func:`analysis.funnel.period_volumes` without breakdown. Periods still
    running at ``as_of`` are drawn hatched and pale (immature).
    """
    stages = list(STAGE_LABEL)
    unit = GRAIN_UNIT.get(grain, grain)
    titles = ["Leads created", "MQLs", "SQLs", "Opportunities", "Customers (won)"]
    fig = make_subplots(rows=1, cols=len(stages), subplot_titles=titles, horizontal_spacing=0.04)
    for i, stage in enumerate(stages, start=1):
        part = vol[vol["stage"] == stage]
        young = immature_periods(part["period"], grain, as_of)
        fig.add_bar(
            x=part["period"],
            y=part["entries"],
            name=STAGE_PLURAL[stage],
            marker_color=STAGE_COLORS[stage],
            marker_opacity=[0.45 if y else 1.0 for y in young],
            marker_pattern_shape=["/" if y else "" for y in young],
            customdata=["immature: period still running" if y else "" for y in young],
            showlegend=False,
            hovertemplate=(
                f"{unit} of %{{x|%d %b %Y}}: %{{y:,}} {STAGE_PLURAL_LOWER[stage]}"
                "<br>%{customdata}<extra></extra>"
            ),
            row=1,
            col=i,
        )
    style(fig, height=300)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, bargap=0.15)
    for i, stage in enumerate(stages, start=1):
        part = vol[vol["stage"] == stage]
        time_axis(fig, grain, part["period"].nunique(), row=1, col=i)
        count_axis(fig, part["entries"].max(), row=1, col=i)
    fig.update_yaxes(title=f"entries per {unit} (leads)", row=1, col=1)
    return fig


# --------------------------------------------------------------------------- trends


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
    table = bd[[dim, *counts, *rates, *bounds]].copy()
    table[dim] = table[dim].map(code_label)
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


@figure_cache
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
    y = df[dim].map(code_label)
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


@figure_cache
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


# --------------------------------------------------------------------------- the period's funnel


@figure_cache
def basis_funnel_chart(counts: pd.DataFrame, basis_name: str, period_label: str) -> go.Figure:
    """The period's funnel under one definition: a bar per stage and its step rate.

    ``counts`` is :func:`analysis.lifecycle.metrics.funnel_counts`. Each bar carries its count
    and, from the second stage on, the step rate into it (k of n of the previous stage).
    """
    labels, hovers = [], []
    prev = None
    for rec in counts.to_dict("records"):
        text = f"{int(rec['count']):,}"
        hover = f"<b>{STAGE_PLURAL[rec['stage']]}</b>: {text} ({basis_name.lower()})"
        if prev is not None and prev["n"]:
            step = rate_text(prev["k"], prev["n"], prev["rate"], prev["low"], prev["high"])
            text += (
                f" · {pct(prev['rate'])} of {STAGE_PLURAL_LOWER[prev['stage']]} "
                f"({k_of_n(prev['k'], prev['n'])})"
            )
            hover += f"<br>{STAGE_PLURAL[prev['stage']]} that reached it: {step}"
        labels.append(text)
        hovers.append(hover)
        prev = rec
    fig = go.Figure(
        go.Funnel(
            y=[STAGE_PLURAL[s] for s in counts["stage"]],
            x=counts["count"],
            text=labels,
            textinfo="text",
            textposition="outside",
            customdata=hovers,
            hovertemplate="%{customdata}<extra></extra>",
            marker={"color": [STAGE_COLORS[s] for s in counts["stage"]]},
            connector={"line": {"color": NEUTRAL, "width": 1}},
            cliponaxis=False,
        )
    )
    style(fig, title=f"{period_label}: {basis_name.lower()}", height=340)
    fig.update_layout(margin={"l": 10, "r": 300, "t": 50, "b": 10})
    fig.update_yaxes(title=None)
    return fig


def basis_funnel_summary(counts: pd.DataFrame, period_label: str) -> str:
    """One sentence for the period's funnel chart (its text alternative)."""
    first, last = counts.iloc[0], counts.iloc[-1]
    text = f"{period_label}: {int(first['count']):,} {STAGE_PLURAL_LOWER[first['stage']]}"
    by_stage = counts.set_index("stage")
    if "mql" in by_stage.index and first["stage"] != "mql":
        text += f", {int(by_stage.loc['mql', 'count']):,} MQLs"
    if first["n"]:
        text += (
            f", of which {pct(first['rate'])} reached {STAGE_LABEL[first['next_stage']]} "
            f"({k_of_n(first['k'], first['n'])})"
        )
    return text + f", and {int(last['count']):,} won."
