"""Figures and display tables of the SLA & response page.

Every function takes a table the page got from ``analysis.sla`` and returns a styled
plotly figure (or a table shaped for display); none computes a metric. Response times are
heavy-tailed, so time axes are logarithmic and hovers give medians and p90s.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.common import BAD, GOOD, NEUTRAL, PALETTE, pct_axis, style

CLOCK_LABELS: dict[str, str] = {
    "policy": "Each tier's own clock",
    "wall": "Wall clock",
    "business": "Business hours",
}
"""Radio labels of the clocks of :data:`analysis.sla.CLOCKS`."""

CLOCK_UNITS: dict[str, str] = {
    "policy": "minutes on each tier's clock",
    "wall": "wall-clock minutes",
    "business": "business minutes (owner's working hours)",
}

TIME_TICKS: list[tuple[float, str]] = [
    (1, "1 min"),
    (5, "5 min"),
    (15, "15 min"),
    (60, "1 h"),
    (240, "4 h"),
    (1440, "1 d"),
    (4320, "3 d"),
    (10080, "1 wk"),
    (43200, "30 d"),
    (259200, "180 d"),
]
"""Tick positions (minutes) and labels of logarithmic time axes."""

MIN_GROUP_N = 10
"""Cells with fewer decided handoffs than this are marked: their rate is a guess."""

MIN_LOG_MINUTES = 0.5
"""Responses faster than this are drawn at this value: a log axis has no zero."""

ECDF_POINTS = 300
"""Points per tier of the response-time ECDF (quantiles), whatever the number of MQLs."""

TIER_COLORS = [PALETTE[1], PALETTE[0], PALETTE[3], PALETTE[2]]
OUTCOME_COLORS = {"sql": PALETTE[0], "opportunity": PALETTE[2], "customer": PALETTE[3]}
DISPOSITION_COLORS = {
    "accepted": GOOD,
    "rejected": BAD,
    "nurture": PALETTE[6],
    "bad_data": NEUTRAL,
}


def fmt_pct(rate: float) -> str:
    """A share 0-1 as the page prints it: ``54.9%``; ``–`` when undefined."""
    return "–" if rate is None or (isinstance(rate, float) and math.isnan(rate)) else f"{rate:.1%}"


def fmt_minutes(minutes: float) -> str:
    """A duration in minutes as a readable text: ``7.8 min``, ``3.2 h``, ``2.1 d``."""
    if minutes is None or (isinstance(minutes, float) and math.isnan(minutes)):
        return "–"
    m = float(minutes)
    if m < 60:
        return f"{m:.1f} min" if m < 10 else f"{m:.0f} min"
    if m < 1440:
        return f"{m / 60:.1f} h"
    return f"{m / 1440:.1f} d"


def fmt_target(minutes: float) -> str:
    """An SLA target as people say it: ``15 min``, ``24 h``, ``3 d``."""
    m = float(minutes)
    if m < 60:
        return f"{m:g} min"
    if m <= 2880 and m % 60 == 0:
        return f"{m / 60:g} h"
    if m % 1440 == 0:
        return f"{m / 1440:g} d"
    return fmt_minutes(m)


def _log_time_axis(fig: go.Figure, axis: str, title: str, top: float) -> None:
    """A log time axis from :data:`MIN_LOG_MINUTES` to ``top`` minutes, ticks in words."""
    high = max(top, 60.0) * 1.3
    ticks = [(v, t) for v, t in TIME_TICKS if v <= high]
    fig.update_layout(
        {
            f"{axis}axis": {
                "type": "log",
                "title": title,
                "range": [math.log10(MIN_LOG_MINUTES), math.log10(high)],
                "tickvals": [v for v, _ in ticks],
                "ticktext": [t for _, t in ticks],
                "tickangle": 0,
            }
        }
    )


def response_column(clock: str, business_hours: bool) -> str:
    """Column of :func:`analysis.sla.response_times` holding the response on ``clock``."""
    business = clock == "business" or (clock == "policy" and bool(business_hours))
    return "response_business_minutes" if business else "response_minutes"


def response_ecdf(rows: pd.DataFrame, clock: str) -> go.Figure:
    """Share of responded MQLs answered within x minutes, per tier, with each tier's target.

    ``rows`` is :func:`analysis.sla.response_times`. The curve of a tier at its target line
    is the share of its *responded* handoffs answered in time; handoffs not answered yet
    (open or closed without a touch) are counted in the hover, not in the curve. The curve
    is drawn through :data:`ECDF_POINTS` quantiles so it stays light for any volume.
    """
    fig = go.Figure()
    top = 60.0
    tiers = rows[["tier", "target_minutes", "business_hours"]].drop_duplicates("tier")
    tiers = tiers.sort_values("target_minutes")
    for i, (tier, target, business) in enumerate(tiers.itertuples(index=False)):
        sub = rows[rows["tier"] == tier]
        values = sub[response_column(clock, business)].dropna().to_numpy(dtype="float64")
        color = TIER_COLORS[i % len(TIER_COLORS)]
        unanswered = len(sub) - len(values)
        if len(values):
            probs = np.linspace(0, 1, min(ECDF_POINTS, len(values)))
            x = np.maximum(np.quantile(values, probs), MIN_LOG_MINUTES)
            top = max(top, float(x[-1]))
            fig.add_scatter(
                x=x,
                y=probs,
                mode="lines",
                name=f"{tier} ({len(values):,} answered, {unanswered:,} not yet)",
                line={"color": color, "width": 3, "shape": "hv"},
                customdata=[fmt_minutes(v) for v in x],
                hovertemplate=(
                    f"{tier}: %{{y:.0%}} of answered MQLs within %{{customdata}}"
                    f"<br>{unanswered:,} handed off but not answered<extra></extra>"
                ),
            )
        x_target = max(float(target), MIN_LOG_MINUTES)
        fig.add_vline(x=x_target, line={"color": color, "dash": "dash", "width": 2})
        # annotations on a log axis take log10 positions (shapes take data values)
        fig.add_annotation(
            x=math.log10(x_target),
            y=0.06 + 0.1 * i,
            yref="paper",
            text=f"{tier} target {fmt_target(target)}",
            showarrow=False,
            xanchor="left",
            xshift=4,
            font={"color": color},
            bgcolor="rgba(255,255,255,0.8)",
        )
    _log_time_axis(fig, "x", f"time to first sales activity ({CLOCK_UNITS[clock]}, log scale)", top)
    pct_axis(fig, "y", "share of answered MQLs (%)")
    fig.update_yaxes(range=[0, 1.02])
    return style(fig, height=380)


def _ci_text(low: float, high: float) -> str:
    return f"{fmt_pct(low)}–{fmt_pct(high)}"


def compliance_bars(table: pd.DataFrame, dim: str, overall: float) -> go.Figure:
    """SLA compliance per group with 95% Wilson intervals, worst first.

    ``table`` is :func:`analysis.sla.sla_compliance` by ``dim``; ``overall`` the overall
    compliance, drawn as a reference line. Groups whose whole interval lies below it are
    coloured as problems.
    """
    t = table[table["n"] > 0].sort_values(["rate", dim], ascending=[False, True])
    below = t["high"] < overall
    fig = go.Figure()
    fig.add_bar(
        y=t[dim].astype(str),
        x=t["rate"],
        orientation="h",
        marker_color=np.where(below, BAD, PALETTE[0]),
        error_x={
            "type": "data",
            "symmetric": False,
            "array": t["high"] - t["rate"],
            "arrayminus": t["rate"] - t["low"],
            "color": "#444",
        },
        text=[f"{r:.0%} ({k:,}/{n:,})" for r, k, n in zip(t["rate"], t["k"], t["n"], strict=True)],
        textposition="inside",
        insidetextanchor="start",
        customdata=np.stack(
            [
                t["k"],
                t["n"],
                [_ci_text(lo, hi) for lo, hi in zip(t["low"], t["high"], strict=True)],
                [fmt_minutes(m) for m in t["median_minutes"]],
                [fmt_minutes(m) for m in t["p90_minutes"]],
            ],
            axis=-1,
        ),
        hovertemplate=(
            "%{y}: %{x:.1%} within SLA (%{customdata[0]:,} of %{customdata[1]:,})"
            "<br>95% CI %{customdata[2]}"
            "<br>first response: median %{customdata[3]}, p90 %{customdata[4]}<extra></extra>"
        ),
        showlegend=False,
    )
    if not math.isnan(overall):
        fig.add_vline(
            x=overall,
            line={"color": NEUTRAL, "dash": "dot", "width": 2},
            annotation_text=f"all MQLs {overall:.0%}",
            annotation_position="top",
        )
    pct_axis(fig, "x", "handoffs answered within SLA (%)")
    fig.update_xaxes(range=[0, 1.05])
    fig.update_yaxes(title=None, automargin=True)
    return style(fig, height=max(260, 34 * len(t) + 90))


def compliance_heatmap(table: pd.DataFrame, dim: str, order: list[str]) -> go.Figure:
    """SLA compliance per group and month: red cells are months a group broke its SLA.

    ``table`` is :func:`analysis.sla.sla_compliance` by ``[dim, "month"]``; ``order``
    lists the groups top to bottom. Cells print the rate; the hover adds ``k of n`` and
    the 95% interval; ``*`` marks cells with fewer than :data:`MIN_GROUP_N` decided
    handoffs. Empty cells had none. A month the data does not cover to its end (the
    table's ``complete`` column, from
    :func:`analysis.definitions.is_complete_month`) is labelled "in progress"
    and its cells are read with care: its late handoffs are still pending.
    """
    t = table[table["n"] > 0]
    rows = [g for g in order if g in set(t[dim].astype(str))]
    months = sorted(t["month"].unique())
    keyed = t.assign(_g=t[dim].astype(str)).set_index(["_g", "month"])
    z, text, custom = [], [], []
    for g in rows:
        zr, tr, cr = [], [], []
        for m in months:
            if (g, m) in keyed.index:
                r = keyed.loc[(g, m)]
                zr.append(float(r["rate"]))
                small = "*" if r["n"] < MIN_GROUP_N else ""
                tr.append(f"{r['rate']:.0%}{small}")
                cr.append([int(r["k"]), int(r["n"]), _ci_text(r["low"], r["high"])])
            else:
                zr.append(None)
                tr.append("")
                cr.append([0, 0, "no decided handoff"])
        z.append(zr)
        text.append(tr)
        custom.append(cr)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[pd.Timestamp(m) for m in months],
            y=rows,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 11},
            customdata=custom,
            colorscale="RdYlGn",
            zmin=0,
            zmax=1,
            xgap=2,
            ygap=2,
            colorbar={"title": "within SLA", "tickformat": ".0%"},
            hovertemplate=(
                "%{y}, %{x|%b %Y}: %{z:.1%} within SLA"
                "<br>%{customdata[0]:,} of %{customdata[1]:,} decided handoffs"
                "<br>95% CI %{customdata[2]}<extra></extra>"
            ),
        )
    )
    fig.update_xaxes(title="month of the handoff", dtick="M1", tickformat="%b\n%Y")
    if "complete" in t.columns:
        for m in t.loc[~t["complete"].astype(bool), "month"].unique():
            fig.add_annotation(
                x=pd.Timestamp(m), y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                text="in progress", font={"size": 10, "color": "#52606d"},
            )  # fmt: skip
    fig.update_yaxes(title=None, autorange="reversed", automargin=True)
    return style(fig, height=max(260, 36 * len(rows) + 120))


def speed_to_lead(curves: dict[str, pd.DataFrame]) -> go.Figure:
    """Conversion of handoffs by response band, one bar group per outcome, with 95% intervals.

    ``curves`` maps an outcome (``sql``, ``opportunity``) to
    :func:`analysis.sla.speed_to_lead`; the hover gives ``k of n`` and the band's median
    and p90 response time.
    """
    fig = go.Figure()
    for outcome, t in curves.items():
        label = {"sql": "MQL → SQL", "opportunity": "MQL → opportunity"}.get(outcome, outcome)
        fig.add_bar(
            x=t["bucket"],
            y=t["rate"],
            name=label,
            marker_color=OUTCOME_COLORS.get(outcome, NEUTRAL),
            error_y={
                "type": "data",
                "symmetric": False,
                "array": t["high"] - t["rate"],
                "arrayminus": t["rate"] - t["low"],
                "color": "#444",
            },
            customdata=np.stack(
                [
                    t["k"],
                    t["n"],
                    [_ci_text(lo, hi) for lo, hi in zip(t["low"], t["high"], strict=True)],
                    [fmt_minutes(m) for m in t["median_minutes"]],
                    [fmt_minutes(m) for m in t["p90_minutes"]],
                ],
                axis=-1,
            ),
            hovertemplate=(
                f"{label}, answered %{{x}}: %{{y:.1%}} (%{{customdata[0]:,}} of "
                "%{customdata[1]:,})<br>95% CI %{customdata[2]}"
                "<br>response in band: median %{customdata[3]}, p90 %{customdata[4]}"
                "<extra></extra>"
            ),
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="time to first sales activity (response band)")
    pct_axis(fig, "y", "handoffs that converted (%)")
    return style(fig, height=380)


def attempts(table: pd.DataFrame) -> go.Figure:
    """Sales attempts before each disposition, as a share of that outcome's dispositions.

    ``table`` is :func:`analysis.sla.attempts_before_disposition` with ``by="outcome"``.
    """
    fig = go.Figure()
    present = set(table["outcome"])
    for outcome in [o for o in DISPOSITION_COLORS if o in present]:
        t = table[table["outcome"] == outcome]
        name = outcome.replace("_", " ")
        fig.add_bar(
            x=t["attempts"],
            y=t["share"],
            name=name,
            marker_color=DISPOSITION_COLORS[outcome],
            customdata=np.stack([t["dispositions"], t["cumulative_share"]], axis=-1),
            hovertemplate=(
                f"{name}: %{{y:.1%}} decided after %{{x}} attempts "
                "(%{customdata[0]:,} dispositions)<br>%{customdata[1]:.0%} after at most "
                "%{x}<extra></extra>"
            ),
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="sales activities between handoff and disposition", dtick=1)
    pct_axis(fig, "y", "share of the outcome's dispositions (%)")
    return style(fig, height=340)


def breach_table(queue: pd.DataFrame, max_age_days: float | None) -> pd.DataFrame:
    """The breach queue as shown: readable waits, newest context, MQLs older than the cap out.

    ``queue`` is :func:`analysis.sla.breach_queue` (oldest first). ``max_age_days`` drops
    MQLs that have waited longer than that many days (wall clock); None keeps all.
    """
    q = queue
    if max_age_days is not None:
        q = q[q["minutes_waiting"] <= max_age_days * 1440]
    return pd.DataFrame(
        {
            "lead_id": q["lead_id"],
            "handed_off": q["handoff_at"],
            "waiting": [fmt_minutes(m) for m in q["minutes_waiting"]],
            "minutes_waiting": q["minutes_waiting"].round(0),
            "tier": q["tier"],
            "source": q["source"],
            "score": q["score"],
            "rep": q["rep"],
            "team": q["team"],
            "last_touchpoints": q["last_touchpoints"],
            "campaign": q["campaign"],
            "business_minutes_waiting": q["business_minutes_waiting"].round(0),
            "minutes_over_target": q["minutes_over_target"].round(0),
        }
    ).reset_index(drop=True)


def speed_table(curves: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per response band: handoffs, each outcome's ``k``, rate and interval.

    ``curves`` maps an outcome to :func:`analysis.sla.speed_to_lead` (same bands in the
    same order); the response-time columns come from the first.
    """
    first = next(iter(curves.values()))
    out = first[["bucket", "n"]].rename(columns={"n": "handoffs"})
    for outcome, t in curves.items():
        for col in ("k", "rate", "low", "high"):
            out[f"{outcome}_{col}"] = t[col].to_numpy()
    out["median_minutes"] = first["median_minutes"].to_numpy()
    out["p90_minutes"] = first["p90_minutes"].to_numpy()
    return out
