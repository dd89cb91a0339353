"""Figures and display tables of the Rejections page.

Every function takes a table the page got from ``analysis.rejections`` and returns a styled
plotly figure or a table reshaped for display (a pivot, one row per outcome); the counts,
shares and intervals themselves come from the engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.store import DISPOSITION_OUTCOMES
from dashboard.charts.common import (
    BAD,
    GOOD,
    NEUTRAL,
    PALETTE,
    TEXT,
    TEXT_MUTED,
    pct_axis,
    status_mark,
    style,
)
from dashboard.charts.memo import figure_cache
from dashboard.display import fmt_share, label

OUTCOME_COLORS = {
    "accepted": GOOD,
    "rejected": BAD,
    "nurture": PALETTE[6],
    "bad_data": NEUTRAL,
}
GROUP_COLORS = {"recycled": PALETTE[1], "not recycled": PALETTE[0]}
NON_ACCEPTED: tuple[str, ...] = tuple(o for o in DISPOSITION_OUTCOMES if o != "accepted")


REASON_HEAT_SCALE = [[0.0, "#ffffff"], [1.0, "#ef8a7f"]]
"""Reason shares, white (0%) to light red: dark cell text reads on every cell (5:1+)."""


def group_label(value: object, dim: str) -> str:
    """A group's words: codes (sources, bands) labelled, names the company gave
    (campaigns, teams) as written."""
    if dim in ("campaign", "team", "rep"):
        return label(value) if value is None or value != value else str(value)
    return label(value)


def outcome_name(outcome: str) -> str:
    """An outcome with its status symbol: ``✓ Accepted``, ``✗ Rejected``, ``Nurture``."""
    mark = status_mark(outcome) if outcome in ("accepted", "rejected") else ""
    return f"{mark} {label(outcome)}".strip()


def _ci(low: pd.Series, high: pd.Series) -> list[str]:
    return [f"{lo:.0%}–{hi:.0%}" for lo, hi in zip(low, high, strict=True)]


@figure_cache
def pareto(table: pd.DataFrame) -> go.Figure:
    """Reasons of non-accepted dispositions, most frequent first, with the cumulative share.

    ``table`` is :func:`analysis.rejections.reason_pareto`. Bars: dispositions per reason
    (left axis); line: cumulative share of all non-accepted dispositions (right axis),
    with the 80% mark.
    """
    x = [label(r) for r in table["reason"]]
    fig = go.Figure()
    fig.add_bar(
        x=x,
        y=table["count"],
        name="dispositions with this reason",
        marker_color=BAD,
        customdata=np.stack([table["share"], _ci(table["low"], table["high"])], axis=-1),
        hovertemplate=(
            "%{x}: %{y:,} dispositions, %{customdata[0]:.1%} of non-accepted"
            "<br>95% CI %{customdata[1]}<extra></extra>"
        ),
    )
    fig.add_scatter(
        x=x,
        y=table["cumulative_share"],
        name="cumulative share (right axis)",
        mode="lines+markers",
        yaxis="y2",
        line={"color": NEUTRAL, "width": 2},
        hovertemplate="up to %{x}: %{y:.1%} of non-accepted dispositions<extra></extra>",
    )
    fig.add_hline(
        y=0.8,
        yref="y2",
        line={"color": NEUTRAL, "dash": "dot", "width": 1},
        annotation_text="80% of non-accepted",
        annotation_position="top right",
    )
    fig.update_layout(
        yaxis={"title": "non-accepted dispositions", "tickformat": ",", "rangemode": "tozero"},
        yaxis2={
            "title": "cumulative share (%)",
            "overlaying": "y",
            "side": "right",
            "range": [0, 1.05],
            "tickvals": [0, 0.2, 0.4, 0.6, 0.8, 1.0],
            "tickformat": ".0%",
            "showgrid": False,
        },
    )
    fig.update_xaxes(title="reason given by sales", tickangle=-30)
    return style(fig, height=400)


@figure_cache
def reason_heatmap(matrix: pd.DataFrame, dim: str, reasons: list[str]) -> go.Figure:
    """Reason shares per group: which sources (campaigns, ...) bring which objections.

    ``matrix`` is :func:`analysis.rejections.reason_shares`; ``reasons`` gives the column
    order (e.g. the Pareto order). Each row adds up to 100%; the hover gives the count.
    """
    groups = sorted(matrix[dim].astype(str).unique())
    keyed = matrix.assign(_g=matrix[dim].astype(str)).set_index(["_g", "reason"])
    totals = matrix.assign(_g=matrix[dim].astype(str)).groupby("_g")["total"].first()
    z, custom, text = [], [], []
    for g in groups:
        zr, cr, tr = [], [], []
        for r in reasons:
            if (g, r) in keyed.index:
                row = keyed.loc[(g, r)]
                zr.append(float(row["share"]))
                tr.append(f"{row['share']:.0%}")
                cr.append([int(row["count"]), int(row["total"])])
            else:
                zr.append(0.0)
                tr.append("")
                cr.append([0, int(totals[g])])
        z.append(zr)
        custom.append(cr)
        text.append(tr)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[label(r) for r in reasons],
            y=[f"{group_label(g, dim)} ({int(totals[g]):,})" for g in groups],
            text=text,
            texttemplate="%{text}",
            textfont={"size": 11, "color": TEXT},
            customdata=custom,
            colorscale=REASON_HEAT_SCALE,
            zmin=0,
            xgap=2,
            ygap=2,
            colorbar={"title": "share", "tickformat": ".0%"},
            hovertemplate=(
                "%{y}: %{z:.1%} %{x}<br>%{customdata[0]:,} of %{customdata[1]:,} "
                "dispositions<extra></extra>"
            ),
        )
    )
    fig.update_xaxes(title="reason given by sales", tickangle=-30, side="bottom")
    fig.update_yaxes(title=None, autorange="reversed", automargin=True)
    return style(fig, height=max(300, 34 * len(groups) + 150))


@figure_cache
def outcome_trend(mix: pd.DataFrame, period: str) -> go.Figure:
    """Share of each disposition outcome per period, stacked to 100%.

    ``mix`` is :func:`analysis.rejections.disposition_mix` by ``period`` (``month`` ...).
    A period still in progress (``complete`` False) is drawn pale, labelled "in progress"
    and named so in the hover: its few decisions so far are no verdict on the period.
    """
    t = mix.drop_duplicates([period, "outcome"])
    complete = t["complete"].astype(bool) if "complete" in t.columns else pd.Series(True, t.index)
    fig = go.Figure()
    for outcome in DISPOSITION_OUTCOMES:
        s = t[t["outcome"] == outcome]
        if s.empty:
            continue
        done = complete[s.index]
        fig.add_bar(
            x=s[period],
            y=s["outcome_share"],
            name=outcome_name(outcome),
            marker_color=OUTCOME_COLORS.get(outcome, NEUTRAL),
            marker_opacity=[1.0 if d else 0.35 for d in done],
            customdata=np.stack(
                [s["outcome_count"], s["total"], np.where(done, "", " (in progress)")], axis=-1
            ),
            hovertemplate=(
                f"%{{x|%b %Y}}%{{customdata[2]}}: %{{y:.1%}} {label(outcome).lower()} "
                "(%{customdata[0]:,} of %{customdata[1]:,} dispositions)<extra></extra>"
            ),
        )
    for start in t.loc[~complete, period].unique():
        fig.add_annotation(
            x=start, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
            text="in progress", font={"size": 11, "color": TEXT_MUTED},
        )  # fmt: skip
    fig.update_layout(barmode="stack")
    dtick = "M3" if period == "quarter" else "M1"
    fig.update_xaxes(title=f"{period} of the decision", tickformat="%b\n%Y", dtick=dtick)
    pct_axis(fig, "y", "share of dispositions (%)")
    fig.update_yaxes(range=[0, 1])
    return style(fig, height=360)


def outcome_table(mix: pd.DataFrame, period: str) -> pd.DataFrame:
    """Per period and outcome: count, the period's dispositions and the share (for CSV)."""
    t = mix.drop_duplicates([period, "outcome"])
    keep = [period, "outcome", "outcome_count", "total", "outcome_share"]
    keep += ["complete"] if "complete" in t.columns else []
    t = t[keep].assign(outcome=t["outcome"].map(label))
    return t.rename(columns={"outcome_count": "count", "outcome_share": "share"}).reset_index(
        drop=True
    )


@figure_cache
def recycle_outcomes(outcomes: pd.DataFrame) -> go.Figure:
    """What recycled leads reached after coming back, against leads never recycled.

    ``outcomes`` is :attr:`analysis.rejections.RecycleSummary.outcomes`.
    """
    fig = go.Figure()
    for group, t in outcomes.groupby("group", sort=False):
        fig.add_bar(
            x=[label(s) for s in t["stage"]],
            y=t["rate"],
            name=f"{str(group).capitalize()} ({int(t['n'].iloc[0]):,} leads)",
            marker_color=GROUP_COLORS.get(str(group), NEUTRAL),
            error_y={
                "type": "data",
                "symmetric": False,
                "array": t["high"] - t["rate"],
                "arrayminus": t["rate"] - t["low"],
                "color": "#444",
            },
            customdata=np.stack([t["k"], t["n"], _ci(t["low"], t["high"])], axis=-1),
            hovertemplate=(
                f"{group}: %{{y:.1%}} reached %{{x}} (%{{customdata[0]:,}} of "
                "%{customdata[1]:,})<br>95% CI %{customdata[2]}<extra></extra>"
            ),
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="stage reached after the (latest) handoff")
    pct_axis(fig, "y", "leads that reached the stage (%)")
    return style(fig, height=340)


# --------------------------------------------------------------------------------------
# One-sentence summaries (the charts' text alternatives, shown under each chart)
# --------------------------------------------------------------------------------------


def pareto_summary(table: pd.DataFrame) -> str:
    """The two most frequent reasons and how many reasons make up 80%."""
    top = table.head(2)
    parts = [f"{label(r.reason)} {fmt_share(r.share)}" for r in top.itertuples(index=False)]
    to80 = int((table["cumulative_share"] < 0.8).sum()) + 1
    return (
        f"Most frequent reasons: {' and '.join(parts)} of the "
        f"{int(table['total'].iloc[0]):,} non-accepted dispositions; "
        f"{min(to80, len(table))} of {len(table)} reasons make up 80%."
    )


def heatmap_summary(matrix: pd.DataFrame, dim: str) -> str:
    """The largest group's most frequent reason."""
    biggest = matrix.sort_values(["total", "count"], ascending=False).iloc[0]
    return (
        f"Reasons per {label(dim).lower()}, each row adding up to 100%; the largest, "
        f"{group_label(biggest[dim], dim)} ({int(biggest['total']):,} dispositions), mostly "
        f"gives {label(biggest['reason'])} ({fmt_share(biggest['share'])})."
    )


def trend_summary(mix: pd.DataFrame, period: str) -> str:
    """The newest complete period's rejected share (the one in progress left aside)."""
    t = mix.drop_duplicates([period, "outcome"])
    done = t[t["complete"].astype(bool)] if "complete" in t.columns else t
    tail = (
        " The newest period is still in progress (pale): its few decisions are no verdict."
        if len(done) < len(t)
        else ""
    )
    if done.empty:
        return "Every period shown is still in progress." + tail
    last = done[done[period] == done[period].max()]
    rejected = last[last["outcome"] == "rejected"]
    share = float(rejected["outcome_share"].iloc[0]) if len(rejected) else 0.0
    when = pd.Timestamp(last[period].iloc[0])
    name = f"{when:%b %Y}" if period == "month" else f"the {period} from {when:%b %Y}"
    return (
        f"In {name}, {fmt_share(share)} of {int(last['total'].iloc[0]):,} dispositions were "
        f"rejected (✗, red); accepted are marked ✓.{tail}"
    )


def recycle_chart_summary(outcomes: pd.DataFrame) -> str:
    """Recycled vs not recycled: share that reached SQL."""
    sql = outcomes[outcomes["stage"] == "sql"].set_index("group")
    if not {"recycled", "not recycled"} <= set(sql.index):
        return "What leads reached after their handoff."
    return (
        f"After coming back, {fmt_share(sql.loc['recycled', 'rate'])} of recycled leads "
        f"reached SQL, against {fmt_share(sql.loc['not recycled', 'rate'])} of the others "
        "after their first handoff; bars show 95% intervals."
    )
