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

from dashboard import display
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
from dashboard.display import fmt_duration, fmt_share, fmt_target, label

CLOCK_LABELS: dict[str, str] = {
    "policy": "Each tier's own clock",
    "wall": "Wall clock",
    "business": "Business hours",
}
"""Radio labels of the clocks of :data:`analysis.sla.CLOCKS`."""

SLA_HEAT_SCALE = [[0.0, "#ef9a9a"], [0.5, "#fff1a8"], [1.0, "#a5d6a7"]]
"""Compliance cells, red (0%) to green (100%), light enough that dark text reads on every
cell (at least 7:1); a symbol in the cell says what the colour says."""
IMMATURE_FILL = "#eceff1"
"""Cells of a month still in progress: no colour verdict yet."""

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


@figure_cache
def response_ecdf(curve: pd.DataFrame, clock: str) -> go.Figure:
    """Share of responded MQLs answered within x minutes, per tier, with each tier's target.

    ``curve`` is :func:`analysis.sla.response_curve` (at most :data:`ECDF_POINTS` quantiles
    per tier, so the figure stays light for any volume). The curve of a tier at its target
    line is the share of its *responded* handoffs answered in time; handoffs not answered
    yet (open or closed without a touch) are counted in the hover, not in the curve.
    """
    fig = go.Figure()
    top = 60.0
    tiers = curve.drop_duplicates("tier").sort_values("target_minutes", kind="stable")
    for i, t in enumerate(tiers.itertuples(index=False)):
        tier, target = t.tier, t.target_minutes
        sub = curve[(curve["tier"] == tier) & curve["minutes"].notna()]
        color = TIER_COLORS[i % len(TIER_COLORS)]
        tier = label(tier)
        unanswered = int(t.handoffs) - int(t.answered)
        if len(sub):
            x = np.maximum(sub["minutes"].to_numpy(dtype="float64"), MIN_LOG_MINUTES)
            probs = sub["share"].to_numpy(dtype="float64")
            top = max(top, float(x[-1]))
            fig.add_scatter(
                x=x,
                y=probs,
                mode="lines",
                name=f"{tier} ({int(t.answered):,} answered, {unanswered:,} not yet)",
                line={"color": color, "width": 3, "shape": "hv"},
                customdata=[fmt_duration(v) for v in x],
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
    return display.fmt_ci(low, high)


def significance(low: float, high: float, overall: float) -> str:
    """``worse`` when the interval lies wholly under ``overall``, ``better`` wholly above,
    else ``same`` (a status of :data:`dashboard.charts.common.STATUS`)."""
    if math.isnan(overall) or display.is_missing(low) or display.is_missing(high):
        return "same"
    if high < overall:
        return "worse"
    if low > overall:
        return "better"
    return "same"


@figure_cache
def compliance_bars(table: pd.DataFrame, dim: str, overall: float) -> go.Figure:
    """SLA compliance per group with 95% Wilson intervals, worst first.

    ``table`` is :func:`analysis.sla.sla_compliance` by ``dim``; ``overall`` the overall
    compliance, drawn as a reference line. Groups whose whole interval lies below it are
    coloured as problems and marked ``▼``; those whose whole interval lies above it are
    marked ``▲`` (the mark says it without the colour).
    """
    t = table[table["n"] > 0].sort_values(["rate", dim], ascending=[False, True])
    marks = [significance(lo, hi, overall) for lo, hi in zip(t["low"], t["high"], strict=True)]
    fig = go.Figure()
    fig.add_bar(
        y=[label(g) for g in t[dim]],
        x=t["rate"],
        orientation="h",
        marker_color=[
            BAD if m == "worse" else GOOD if m == "better" else PALETTE[0] for m in marks
        ],
        error_x={
            "type": "data",
            "symmetric": False,
            "array": t["high"] - t["rate"],
            "arrayminus": t["rate"] - t["low"],
            "color": "#444",
        },
        text=[
            f"{status_mark(m)} {r:.0%} ({k:,}/{n:,})".strip()
            for m, r, k, n in zip(marks, t["rate"], t["k"], t["n"], strict=True)
        ],
        textposition="inside",
        insidetextanchor="start",
        customdata=np.stack(
            [
                t["k"],
                t["n"],
                [_ci_text(lo, hi) for lo, hi in zip(t["low"], t["high"], strict=True)],
                [fmt_duration(m) for m in t["median_minutes"]],
                [fmt_duration(m) for m in t["p90_minutes"]],
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
            annotation_text=f"all MQLs {overall:.0%} (▼ / ▲ significantly below / above)",
            annotation_position="top",
        )
    pct_axis(fig, "x", "handoffs answered within SLA (%)")
    fig.update_xaxes(range=[0, 1.05])
    fig.update_yaxes(title=None, automargin=True)
    return style(fig, height=max(260, 34 * len(t) + 90))


def _heat_cell(r: pd.Series, overall: float, complete: bool) -> tuple[str, list]:
    """Text and hover data of one heatmap cell."""
    small = "*" if r["n"] < MIN_GROUP_N else ""
    if not complete:
        text = "…"  # the value so far is in the hover: a few days are no verdict
    else:
        mark = status_mark(significance(r["low"], r["high"], overall))
        text = f"{mark} {r['rate']:.0%}{small}".strip()
    return text, [int(r["k"]), int(r["n"]), _ci_text(r["low"], r["high"])]


# compliance_heatmap runs past 80 lines: the cell grid, its two traces (months with a
# verdict, months in progress) and their hovers belong together.
@figure_cache
def compliance_heatmap(
    table: pd.DataFrame, dim: str, order: list[str], overall: float = math.nan
) -> go.Figure:
    """SLA compliance per group and month: red cells are months a group broke its SLA.

    ``table`` is :func:`analysis.sla.sla_compliance` by ``[dim, "month"]``; ``order``
    lists the groups top to bottom (their labels). Cells print the rate with ``▼`` (``▲``)
    when its 95% interval lies wholly under (over) ``overall``, so the verdict reads without
    colour; the hover adds ``k of n`` and the interval; ``*`` marks cells with fewer than
    :data:`MIN_GROUP_N` decided handoffs. Empty cells had none. A month the data does not
    cover to its end (the ``complete`` column, from
    :func:`analysis.definitions.is_complete_month`) is drawn grey with ``…`` and no colour
    verdict (the hover gives its count so far): its late handoffs are still pending.
    """
    t = table[table["n"] > 0].copy()
    t["_g"] = [label(g) for g in t[dim]]
    if "complete" not in t.columns:
        t["complete"] = True
    rows = [g for g in order if g in set(t["_g"])]
    months = sorted(t["month"].unique())
    open_months = set(t.loc[~t["complete"].astype(bool), "month"])
    keyed = t.set_index(["_g", "month"])
    z, z_open, text, custom = [], [], [], []
    for g in rows:
        zr, zo, tr, cr = [], [], [], []
        for m in months:
            if (g, m) in keyed.index:
                r = keyed.loc[(g, m)]
                cell_text, data = _heat_cell(r, overall, m not in open_months)
                zr.append(None if m in open_months else float(r["rate"]))
                zo.append(0.0 if m in open_months else None)
                tr.append(cell_text)
                cr.append(data)
            else:
                zr.append(None)
                zo.append(None)
                tr.append("")
                cr.append([0, 0, "no decided handoff"])
        z.append(zr)
        z_open.append(zo)
        text.append(tr)
        custom.append(cr)
    x = [pd.Timestamp(m) for m in months]
    hover = (
        "%{y}, %{x|%b %Y}: %{text} within SLA"
        "<br>%{customdata[0]:,} of %{customdata[1]:,} decided handoffs"
        "<br>95% CI %{customdata[2]}<extra></extra>"
    )
    fig = go.Figure()
    fig.add_heatmap(
        z=z,
        x=x,
        y=rows,
        text=text,
        texttemplate="%{text}",
        textfont={"size": 11, "color": TEXT},
        customdata=custom,
        colorscale=SLA_HEAT_SCALE,
        zmin=0,
        zmax=1,
        xgap=2,
        ygap=2,
        colorbar={"title": "within SLA", "tickformat": ".0%"},
        hovertemplate=hover,
    )
    if open_months:
        fig.add_heatmap(
            z=z_open,
            x=x,
            y=rows,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 11, "color": TEXT_MUTED},
            customdata=custom,
            colorscale=[[0, IMMATURE_FILL], [1, IMMATURE_FILL]],
            showscale=False,
            xgap=2,
            ygap=2,
            hovertemplate=hover.replace("%{text} within SLA<br>", "month in progress<br>"),
        )
        for m in open_months:
            fig.add_annotation(
                x=pd.Timestamp(m), y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                text="in progress", font={"size": 11, "color": TEXT_MUTED},
            )  # fmt: skip
    fig.update_xaxes(title="month of the handoff", dtick="M1", tickformat="%b\n%Y")
    fig.update_yaxes(title=None, autorange="reversed", automargin=True)
    return style(fig, height=max(260, 36 * len(rows) + 120))


@figure_cache
def speed_to_lead(curves: dict[str, pd.DataFrame]) -> go.Figure:
    """Conversion of handoffs by response band, one bar group per outcome, with 95% intervals.

    ``curves`` maps an outcome (``sql``, ``opportunity``) to
    :func:`analysis.sla.speed_to_lead`; the hover gives ``k of n`` and the band's median
    and p90 response time.
    """
    fig = go.Figure()
    for outcome, t in curves.items():
        step = {"sql": "MQL → SQL", "opportunity": "MQL → opportunity"}.get(outcome, outcome)
        fig.add_bar(
            x=t["bucket"],
            y=t["rate"],
            name=step,
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
                    [fmt_duration(m) for m in t["median_minutes"]],
                    [fmt_duration(m) for m in t["p90_minutes"]],
                ],
                axis=-1,
            ),
            hovertemplate=(
                f"{step}, answered %{{x}}: %{{y:.1%}} (%{{customdata[0]:,}} of "
                "%{customdata[1]:,})<br>95% CI %{customdata[2]}"
                "<br>response in band: median %{customdata[3]}, p90 %{customdata[4]}"
                "<extra></extra>"
            ),
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="time to first sales activity (response band)")
    pct_axis(fig, "y", "handoffs that converted (%)")
    return style(fig, height=380)


@figure_cache
def attempts(table: pd.DataFrame) -> go.Figure:
    """Sales attempts before each disposition, as a share of that outcome's dispositions.

    ``table`` is :func:`analysis.sla.attempts_before_disposition` with ``by="outcome"``.
    """
    fig = go.Figure()
    present = set(table["outcome"])
    for outcome in [o for o in DISPOSITION_COLORS if o in present]:
        t = table[table["outcome"] == outcome]
        mark = status_mark(outcome) if outcome in ("accepted", "rejected") else ""
        name = f"{mark} {label(outcome)}".strip()
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


QUEUE_COLUMNS = {
    "lead": "Lead",
    "crm": "CRM record",
    "name": "Name",
    "company": "Company",
    "tier": "Tier",
    "past_target": "Past target",
    "waiting": "Waiting",
    "handed_off": "Handed off (UTC)",
    "owner": "Owner",
    "team": "Team",
    "source": "Source",
    "campaign": "Campaign",
    "score": "Score",
    "last_touchpoints": "Last touchpoints",
}
"""Columns of the breach queue as shown, in order (keys are the frame's column names)."""


def detail_words(detail: str) -> str:
    """A touchpoint detail in words when it is a code (``case_study``, ``bofu``); a
    name the company gave (a campaign, ``nurture-series``) stays as written."""
    if detail in display.LABELS or "_" in detail or detail in ("tofu", "mofu", "bofu"):
        return label(detail)
    return detail


def user_value(value: object) -> str:
    """A value the company named (campaign, team, rep): as written, ``(not set)`` when
    missing."""
    return display.NOT_SET if display.is_missing(value) or value == "" else str(value)


def durations_as_text(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A copy of ``table`` whose minute ``columns`` read as durations (``2.1 d``)."""
    return table.assign(**{c: table[c].map(fmt_duration) for c in columns if c in table})


def touchpoint_words(lines: str) -> str:
    """``2024-01-08 09:00 content_download bofu; …`` → ``2024-01-08 09:00 Content download
    (BOFU); …``: the queue's touchpoint lines in words."""
    out = []
    for line in (lines or "").split("; "):
        parts = line.split(" ", 3)
        if len(parts) < 3:
            continue
        when = f"{parts[0]} {parts[1]}"
        detail = f" ({detail_words(parts[3])})" if len(parts) == 4 and parts[3] else ""
        out.append(f"{when} {label(parts[2])}{detail}")
    return "; ".join(out)


def breach_table(
    queue: pd.DataFrame,
    *,
    show_personal_data: bool = False,
    crm_record_url: str = "",
) -> pd.DataFrame:
    """The breach queue as shown, in the engine's order (what to call next first).

    ``queue`` is :func:`analysis.sla.breach_queue`. Waits read as durations (``2.1 d``),
    codes as words, the owner by name (``(not set)`` for an MQL without one). Names are
    shown only when the company allows personal data (else initials); companies always,
    when the history has them. A column the history leaves empty everywhere (no names, no
    companies) is left out, and the CRM link only when ``crm_record_url`` is set.
    """
    q = queue.reset_index(drop=True)
    names = q["name"] if "name" in q.columns else pd.Series([None] * len(q))
    companies = q["company"] if "company" in q.columns else pd.Series([None] * len(q))
    shown = pd.DataFrame(
        {
            "lead": q["lead_id"],
            "crm": [display.crm_link(crm_record_url, i) for i in q["lead_id"]],
            "name": [
                (n if show_personal_data else display.mask_name(n))
                if not display.is_missing(n)
                else display.NOT_SET
                for n in names
            ],
            "company": [display.NOT_SET if display.is_missing(c) else c for c in companies],
            "tier": [label(t) for t in q["tier"]],
            "past_target": [fmt_duration(m) for m in q["minutes_over_target"]],
            "waiting": [fmt_duration(m) for m in q["minutes_waiting"]],
            "handed_off": q["handoff_at"],
            "owner": [user_value(r) for r in q["rep"]],
            "team": [user_value(t) for t in q["team"]],
            "source": [label(v) for v in q["source"]],
            "campaign": [user_value(v) for v in q["campaign"]],
            "score": q["score"],
            "last_touchpoints": [touchpoint_words(t) for t in q["last_touchpoints"]],
        }
    )
    drop = []
    if not crm_record_url:
        drop.append("crm")
    if names.isna().all():
        drop.append("name")
    if companies.isna().all():
        drop.append("company")
    return shown.drop(columns=drop)


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


# --------------------------------------------------------------------------------------
# One-sentence summaries (the charts' text alternatives, shown under each chart)
# --------------------------------------------------------------------------------------


def ecdf_summary(tiers: pd.DataFrame) -> str:
    """``Within SLA: Hot 54.9% of decided handoffs (target 15 min), Standard …``."""
    parts = [
        f"{label(r.tier)} {fmt_share(r.rate)} (target {fmt_target(r.target_minutes)}, "
        f"median first response {fmt_duration(r.median_minutes)})"
        for r in tiers.itertuples(index=False)
    ]
    return (
        "Within SLA: "
        + "; ".join(parts)
        + ". Each curve is the share of answered handoffs by time to first sales activity "
        "(log scale), the dashed line its tier's target."
    )


def bars_summary(table: pd.DataFrame, dim: str, overall: float) -> str:
    """The worst group and how many groups are significantly below all MQLs."""
    t = table[table["n"] > 0].sort_values(["rate", dim])
    if t.empty:
        return "No decided handoff in the selection."
    worst = t.iloc[0]
    below = sum(
        significance(lo, hi, overall) == "worse" for lo, hi in zip(t["low"], t["high"], strict=True)
    )
    return (
        f"Lowest: {label(worst[dim])} at {fmt_share(worst['rate'])} within SLA "
        f"({int(worst['k']):,} of {int(worst['n']):,}) against {fmt_share(overall)} for all "
        f"MQLs; {below} of {len(t)} marked ▼ (red) are significantly below, bars show 95% "
        "intervals."
    )


def heatmap_summary(table: pd.DataFrame, dim: str) -> str:
    """The newest complete month's lowest group, and which month is still in progress."""
    t = table[table["n"] > 0]
    if t.empty:
        return "No decided handoff in the selection."
    done = t[t["complete"].astype(bool)] if "complete" in t.columns else t
    open_months = sorted(set(t["month"]) - set(done["month"]))
    tail = (
        f" {pd.Timestamp(open_months[-1]):%b %Y} is still in progress: grey, no verdict yet."
        if open_months
        else ""
    )
    if done.empty:
        return "Compliance per month: every month shown is still in progress." + tail
    last = done[done["month"] == done["month"].max()].sort_values(["rate", dim]).iloc[0]
    return (
        f"Compliance per {label(dim).lower()} and month of the handoff; in "
        f"{pd.Timestamp(last['month']):%b %Y} the lowest was {label(last[dim])} at "
        f"{fmt_share(last['rate'])} (▼ significantly below all MQLs, * fewer than "
        f"{MIN_GROUP_N} decided handoffs).{tail}"
    )


def speed_summary(curves: dict[str, pd.DataFrame]) -> str:
    """MQL → SQL of the fastest answered band against the slowest answered band."""
    t = curves.get("sql")
    if t is None:
        return "Conversion by response time."
    answered = t[(t["bucket"] != "no response") & (t["n"] > 0)]
    if len(answered) < 2:
        return "Too few answered handoffs to compare response bands."
    first, last = answered.iloc[0], answered.iloc[-1]
    return (
        f"MQL → SQL was {fmt_share(first['rate'])} for handoffs answered within "
        f"{first['bucket']} ({int(first['k']):,} of {int(first['n']):,}) and "
        f"{fmt_share(last['rate'])} for those answered after {last['bucket']} "
        f"({int(last['k']):,} of {int(last['n']):,}); bars show 95% intervals."
    )


def attempts_summary(table: pd.DataFrame) -> str:
    """Attempts by which half of each outcome's dispositions were made."""
    parts = []
    for outcome in [o for o in DISPOSITION_COLORS if o in set(table["outcome"])]:
        t = table[table["outcome"] == outcome]
        half = t.loc[t["cumulative_share"] >= 0.5, "attempts"]
        if len(half):
            parts.append(f"{label(outcome).lower()} after at most {int(half.iloc[0])}")
    return (
        "Half of the dispositions were made: " + ", ".join(parts) + " sales activities."
        if parts
        else "No disposition in the selection."
    )
