"""Figures of the Scoring lab: volume, quadrants, rep load, threshold curve, model quality.

Every function takes the tables the page already has (from analysis/ or
``dashboard.scoring_ui``) and returns a styled plotly figure; none computes a metric.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts.common import BAD, NEUTRAL, PALETTE, style
from dashboard.charts.memo import figure_cache

CURRENT_COLOR = "#9e9e9e"
PROPOSED_COLOR = PALETTE[0]
ACTUAL_COLOR = PALETTE[1]
KIND_COLORS = {"fit": PALETTE[3], "engagement": PALETTE[2]}


@figure_cache
def monthly_mqls(
    monthly: pd.DataFrame, labels: tuple[str, str] = ("current rule", "proposed rule")
) -> go.Figure:
    """Would-be MQLs per month under two rules, beside the leads actually handed off.

    ``monthly`` is :meth:`analysis.whatif.WhatIf.monthly` (``month``, ``actual``,
    ``current``, ``proposed``, ``complete_month``); the month in progress is shaded.
    """
    fig = go.Figure()
    x = monthly["month"]
    fig.add_scatter(
        x=x,
        y=monthly["actual"],
        name="actually handed off",
        mode="lines",
        line={"color": ACTUAL_COLOR, "dash": "dot", "width": 2},
        hovertemplate="%{x|%b %Y}: %{y:,} handed off<extra></extra>",
    )
    for column, label, color, width in (
        ("current", labels[0], CURRENT_COLOR, 3),
        ("proposed", labels[1], PROPOSED_COLOR, 3),
    ):
        fig.add_scatter(
            x=x,
            y=monthly[column],
            name=label,
            mode="lines+markers",
            line={"color": color, "width": width},
            marker={"size": 5},
            hovertemplate=f"%{{x|%b %Y}}: %{{y:,}} MQLs ({label})<extra></extra>",
        )
    partial = monthly.loc[~monthly["complete_month"], "month"]
    if len(partial):
        start = partial.iloc[0] - pd.Timedelta(days=15)
        fig.add_vrect(
            x0=start,
            x1=partial.iloc[-1] + pd.Timedelta(days=15),
            fillcolor=NEUTRAL,
            opacity=0.1,
            line_width=0,
        )
        # Anchored at the shaded band's left edge and extending left, so the label stays
        # inside the data range (plotly widens the axis to fit annotations).
        fig.add_annotation(
            x=start,
            y=1,
            yref="paper",
            xanchor="right",
            yanchor="top",
            text="month in progress →",
            showarrow=False,
            font={"size": 11, "color": NEUTRAL},
        )
    fig.update_xaxes(title="month of the decision point", tickformat="%b\n%Y")
    fig.update_yaxes(title="MQLs per month (leads)", rangemode="tozero", tickformat=",")
    return style(fig, height=360)


@figure_cache
def quadrants(table: pd.DataFrame, thresholds: list[tuple[str, float, float]]) -> go.Figure:
    """The fit x engagement 2x2 for each rule: MQLs (and decided leads) per quadrant.

    ``table`` is :meth:`analysis.whatif.WhatIf.quadrant_table` (quadrant order of
    ``analysis.scoring.QUADRANTS``); ``thresholds`` holds (prefix, fit threshold,
    engagement threshold) per rule, prefix ``current`` or ``proposed``.
    """
    titles = [
        f"{prefix.capitalize()} rule: fit ≥ {ft:g}, engagement ≥ {et:g} points"
        for prefix, ft, et in thresholds
    ]
    fig = make_subplots(rows=1, cols=len(thresholds), subplot_titles=titles, horizontal_spacing=0.1)
    # grid[row][col]: rows poor fit / good fit (bottom to top), cols not ready / sales-ready
    grid = [[3, 1], [2, 0]]
    names = table["quadrant"].tolist()
    for i, (prefix, _ft, _et) in enumerate(thresholds, start=1):
        mqls = table[f"{prefix}_mqls"].to_numpy()
        leads = table[f"{prefix}_leads"].to_numpy()
        z = [[int(mqls[q]) for q in row] for row in grid]
        text = [
            [f"<b>{mqls[q]:,}</b> MQLs<br>of {leads[q]:,} leads<br><i>{names[q]}</i>" for q in row]
            for row in grid
        ]
        fig.add_heatmap(
            z=z,
            x=["not ready", "sales-ready"],
            y=["poor fit", "good fit"],
            text=text,
            texttemplate="%{text}",
            textfont={"size": 13},
            colorscale="Blues",
            zmin=0,
            zmax=max(1, int(table[[f"{p}_mqls" for p, _, _ in thresholds]].to_numpy().max())),
            showscale=False,
            hovertemplate="%{y}, %{x}: %{z:,} MQLs<extra></extra>",
            row=1,
            col=i,
        )
        fig.update_xaxes(title="engagement (what they did)", row=1, col=i)
        fig.update_yaxes(title="fit (who they are)" if i == 1 else None, row=1, col=i)
    fig = style(fig, height=340)
    fig.update_layout(margin={"t": 40})
    fig.update_annotations(font_size=13)
    return fig


@figure_cache
def rep_load(reps: pd.DataFrame) -> go.Figure:
    """Mean MQLs per rep per month under both rules, against each rep's capacity.

    ``reps`` is ``dashboard.scoring_readout.rep_comparison``. A proposed bar is labelled with
    the number of complete months the rep would be over capacity.
    """
    who = reps["rep"] if "rep" in reps.columns else reps["rep_id"]
    label = who.astype(str) + " · " + reps["territory"].fillna("no territory")
    fig = go.Figure()
    fig.add_bar(
        x=label,
        y=reps["current_mean"],
        name="current rule",
        marker_color=CURRENT_COLOR,
        customdata=np.column_stack([reps["current_max"], reps["current_months_over"]]),
        hovertemplate="%{x}<br>current: %{y:,.1f} MQLs/month (max %{customdata[0]:,.0f}), "
        "over capacity in %{customdata[1]} months<extra></extra>",
    )
    over = reps["proposed_months_over"].to_numpy()
    fig.add_bar(
        x=label,
        y=reps["proposed_mean"],
        name="proposed rule",
        marker_color=[BAD if m > 0 else PROPOSED_COLOR for m in over],
        text=[f"over {m} mo" if m > 0 else "" for m in over],
        textposition="outside",
        constraintext="none",
        cliponaxis=False,
        textfont={"color": BAD, "size": 12},
        customdata=np.column_stack([reps["proposed_max"], over]),
        hovertemplate="%{x}<br>proposed: %{y:,.1f} MQLs/month (max %{customdata[0]:,.0f}), "
        "over capacity in %{customdata[1]} months<extra></extra>",
    )
    fig.add_scatter(
        x=label,
        y=reps["capacity"],
        name="capacity (MQLs a rep can work per month)",
        mode="markers",
        marker={
            "symbol": "line-ew-open",
            "size": 26,
            "color": "black",
            "line": {"width": 3, "color": "black"},
        },
        hovertemplate="%{x}<br>capacity %{y:,.0f} MQLs/month<extra></extra>",
    )
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_xaxes(title="rep · territory", tickangle=-40)
    fig.update_yaxes(title="MQLs per rep per month (mean of complete months)", tickformat=",")
    fig = style(fig, height=420)
    fig.add_annotation(
        text="red bar = over capacity in at least one month under the proposed rule",
        xref="paper",
        yref="paper",
        x=1,
        y=1.08,
        showarrow=False,
        font={"size": 11, "color": BAD},
        xanchor="right",
    )
    return fig


@figure_cache
def threshold_curve(
    curve: pd.DataFrame,
    current_threshold: float,
    proposed_threshold: float,
    outcome_label: str,
) -> go.Figure:
    """Precision, recall and MQLs per month against the threshold, both thresholds marked.

    ``curve`` is ``analysis.scoring.whatif.config_threshold_curve`` of the proposed points.
    """
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x = curve["threshold"]
    fig.add_scatter(
        x=x,
        y=curve["mqls_per_month"],
        name="MQLs per month (right axis)",
        mode="lines",
        line={"color": NEUTRAL, "shape": "vh", "width": 2},
        fill="tozeroy",
        fillcolor="rgba(99,99,99,0.08)",
        hovertemplate="threshold %{x:g}: %{y:,.1f} MQLs/month<extra></extra>",
        secondary_y=True,
    )
    fig.add_scatter(
        x=x,
        y=curve["precision"],
        name=f"precision (share of MQLs that {outcome_label})",
        mode="lines",
        line={"color": PALETTE[0], "shape": "vh", "width": 3},
        hovertemplate="threshold %{x:g}: precision %{y:.1%}<extra></extra>",
    )
    fig.add_scatter(
        x=x,
        y=curve["recall"],
        name=f"recall (share of leads that {outcome_label} that were MQLs)",
        mode="lines",
        line={"color": PALETTE[2], "shape": "vh", "width": 3},
        hovertemplate="threshold %{x:g}: recall %{y:.1%}<extra></extra>",
    )
    same = current_threshold == proposed_threshold
    marks = [(proposed_threshold, "current = proposed" if same else "proposed", PROPOSED_COLOR)]
    if not same:
        marks.append((current_threshold, "current", "black"))
    for value, text, color in marks:
        # The label of the lower threshold extends left of its line, the other one right,
        # so that two close thresholds do not print over each other.
        lower = not same and value == min(current_threshold, proposed_threshold)
        fig.add_vline(
            x=value,
            line={"color": color, "dash": "dash", "width": 2},
            annotation_text=f"{text}: {value:g}",
            annotation_position="top left" if lower else "top right",
            annotation_font={"color": color, "size": 12},
        )
    fig.update_xaxes(title="MQL threshold (points)")
    fig.update_yaxes(
        title="precision, recall (%)", tickformat=".0%", range=[0, 1.05], secondary_y=False
    )
    fig.update_yaxes(
        title="MQLs per month (leads)",
        rangemode="tozero",
        tickmode="auto",
        tickformat=",.0f",
        showgrid=False,
        secondary_y=True,
    )
    fig = style(fig, height=420)
    fig.update_layout(legend={"y": 1.06}, margin={"t": 60})
    return fig


@figure_cache
def calibration(table: pd.DataFrame, outcome_label: str) -> go.Figure:
    """Observed share against mean predicted probability per tenth of the test leads."""
    top = float(max(table["mean_predicted"].max(), table["observed_rate"].max(), 0.05)) * 1.05
    fig = go.Figure()
    fig.add_scatter(
        x=[0, top],
        y=[0, top],
        mode="lines",
        name="perfectly calibrated",
        line={"color": NEUTRAL, "dash": "dash", "width": 1},
        hoverinfo="skip",
    )
    fig.add_scatter(
        x=table["mean_predicted"],
        y=table["observed_rate"],
        mode="lines+markers",
        name="test leads, by tenth of predicted probability",
        marker={"size": 9, "color": PALETTE[0]},
        customdata=np.column_stack([table["decile"], table["n"], table["positives"]]),
        hovertemplate="tenth %{customdata[0]}: predicted %{x:.1%}, observed %{y:.1%} "
        "(%{customdata[2]:,} of %{customdata[1]:,})<extra></extra>",
    )
    fig.update_xaxes(title="mean predicted probability (%)", tickformat=".0%", range=[0, top])
    fig.update_yaxes(
        title=f"observed share that {outcome_label} (%)", tickformat=".0%", range=[0, top]
    )
    return style(fig, height=380)


@figure_cache
def lift(table: pd.DataFrame) -> go.Figure:
    """Lift per tenth of test leads ranked by predicted probability (1 = top tenth)."""
    fig = go.Figure()
    fig.add_bar(
        x=table["decile"],
        y=table["lift"],
        name="lift",
        marker_color=PALETTE[0],
        customdata=np.column_stack([table["observed_rate"], table["cumulative_recall"]]),
        text=[f"{v:.2f}×" if np.isfinite(v) else "" for v in table["lift"]],
        textposition="outside",
        hovertemplate="tenth %{x}: lift %{y:.2f}× (rate %{customdata[0]:.1%}; "
        "cumulative recall %{customdata[1]:.0%})<extra></extra>",
    )
    fig.add_hline(
        y=1,
        line={"color": NEUTRAL, "dash": "dash"},
        annotation_text="base rate",
        annotation_position="bottom right",
    )
    fig.update_xaxes(title="tenth of test leads by predicted probability (1 = highest)", dtick=1)
    fig.update_yaxes(title="lift (observed rate ÷ base rate)", rangemode="tozero")
    fig = style(fig, height=380)
    fig.update_layout(showlegend=False)
    return fig


@figure_cache
def coefficients(table: pd.DataFrame) -> go.Figure:
    """Coefficients (log-odds when the lead has the feature) with 95% intervals."""
    t = table.sort_values("coef").reset_index(drop=True)
    fig = go.Figure()
    for kind, color in KIND_COLORS.items():
        part = t.loc[t["kind"] == kind]
        if part.empty:
            continue
        learnt = part["se"].notna()
        fig.add_scatter(
            x=part["coef"],
            y=part["feature"],
            mode="markers",
            name=f"{kind} feature",
            marker={
                "size": 10,
                "color": [color if ok else "white" for ok in learnt],
                "line": {"color": color, "width": 2},
            },
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (part["ci_high"] - part["coef"]).fillna(0),
                "arrayminus": (part["coef"] - part["ci_low"]).fillna(0),
                "color": color,
                "thickness": 2,
            },
            customdata=np.column_stack(
                [part["odds_ratio"], part["suggested_points"], part["share_train"]]
            ),
            hovertemplate="%{y}: %{x:+.2f} log-odds (odds ×%{customdata[0]:.2f}), "
            "suggested %{customdata[1]:+.0f} points; %{customdata[2]:.0%} of training leads "
            "have it<extra></extra>",
        )
    fig.add_vline(x=0, line={"color": NEUTRAL, "width": 1})
    fig.update_xaxes(title="change in log-odds when the lead has the feature (95% interval)")
    fig.update_yaxes(title=None, categoryorder="array", categoryarray=t["feature"].tolist())
    return style(fig, height=max(300, 26 * len(t) + 110))


@figure_cache
def grade_bands(table: pd.DataFrame) -> go.Figure:
    """Share of leads and share of conversions per grade, with the conversion rate on top.

    ``table`` is :func:`analysis.scoring.grades.band_table`, best grade first.
    """
    fig = go.Figure()
    fig.add_bar(
        x=table["grade"],
        y=table["share_of_leads"],
        name="share of leads",
        marker_color=CURRENT_COLOR,
        hovertemplate="%{x}: %{y:.1%} of leads<extra></extra>",
    )
    fig.add_bar(
        x=table["grade"],
        y=table["share_of_conversions"],
        name="share of all conversions",
        marker_color=PROPOSED_COLOR,
        text=[f"conv. {v:.0%}" if np.isfinite(v) else "conv. unknown" for v in table["conversion"]],
        textposition="outside",
        cliponaxis=False,
        hovertemplate="%{x}: %{y:.1%} of conversions<extra></extra>",
    )
    fig.update_layout(barmode="group", bargap=0.3)
    fig.update_yaxes(title="share (%)", tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(title="grade (best first)")
    return style(fig, height=340)


BACKTEST_COLORS = {
    "current rule": CURRENT_COLOR,
    "proposed rule": PROPOSED_COLOR,
    "model": PALETTE[2],
}


@figure_cache
def backtest(table: pd.DataFrame) -> go.Figure:
    """AUC, precision at the chosen volume and calibration gap per test period, one panel each.

    ``table`` is :func:`analysis.scoring.backtest.backtest_table`; the x axis is the first
    test month; one line per rule and one for the model.
    """
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        subplot_titles=(
            "AUC on the test month (0.5 = chance)",
            "Precision at the chosen volume",
            "Calibration: expected minus observed rate (0 = on target)",
        ),
    )
    for who, part in table.groupby("who", sort=False):
        color = BACKTEST_COLORS.get(str(who), NEUTRAL)
        x = part["test_start"]
        common = {"name": str(who), "legendgroup": str(who), "line": {"color": color}}
        fig.add_scatter(x=x, y=part["auc"], mode="lines+markers", **common, row=1, col=1)
        fig.add_scatter(
            x=x,
            y=part["precision"],
            mode="lines+markers",
            showlegend=False,
            customdata=np.column_stack([part["precision_k"], part["precision_n"], part["volume"]]),
            hovertemplate="%{y:.1%} (%{customdata[0]:,} of %{customdata[1]:,}; "
            "%{customdata[2]:,} MQLs)<extra>" + str(who) + "</extra>",
            **common,
            row=2,
            col=1,
        )
        fig.add_scatter(
            x=x,
            y=part["expected"] - part["observed"],
            mode="lines+markers",
            showlegend=False,
            **common,
            row=3,
            col=1,
        )
    fig.add_hline(y=0, line={"color": NEUTRAL, "dash": "dot", "width": 1}, row=3, col=1)
    fig.update_yaxes(tickformat=".2f", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    fig.update_yaxes(tickformat="+.0%", row=3, col=1)
    fig.update_xaxes(title="(first) test month", tickformat="%b %Y", row=3, col=1)
    fig = style(fig, height=620)
    fig.update_annotations(font_size=13)
    return fig
