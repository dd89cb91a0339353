"""Rejections: why sales turns MQLs down, where those MQLs come from, and what recycling gives."""

from __future__ import annotations

import streamlit as st

from analysis import filters as flt
from analysis.lifecycle import measurable, rejections
from dashboard import display, sections, state, urlstate
from dashboard.charts import rejections as charts
from dashboard.display import fmt_count, fmt_share, label
from dashboard.tables import HIGH_95, LOW_95, PERCENT, show_table

BREAKDOWNS = {
    "source": "Source",
    "campaign": "Campaign",
    "score_band": "Score band (current rule)",
    "region": "Region",
    "size_band": "Company size",
    "team": "Team",
}
OUTCOME_SETS = {
    "non_accepted": "All non-accepted",
    "rejected": "Rejected",
    "nurture": "Sent to nurture",
    "bad_data": "Bad data",
}
OUTCOMES_OF = {
    "non_accepted": charts.NON_ACCEPTED,
    "rejected": ("rejected",),
    "nurture": ("nurture",),
    "bad_data": ("bad_data",),
}
OUTCOME_PHRASES = {
    "non_accepted": "non-accepted",
    "rejected": "rejected",
    "nurture": "nurtured",
    "bad_data": "bad-data",
}
PERIODS = {"month": "Month", "quarter": "Quarter"}
PCT, LOW, HIGH = PERCENT, LOW_95, HIGH_95

st.title("Rejections")
st.caption(
    "Sales' decision on each MQL (accepted, rejected, nurture, bad data) and the reason "
    "given. Every disposition counts in the period of its decision date; a recycled lead "
    "can be decided on more than once."
)

state.require_database()
filters: flt.Filters = st.session_state.get("filters") or flt.Filters()
avail = state.call(measurable.availability)
if not avail.rejections.measurable:
    st.info(f"Not measurable: {avail.rejections.reason}")
    st.stop()
overall = state.call(rejections.disposition_mix, filters)
pareto = state.call(rejections.reason_pareto, filters)

if overall.empty:
    st.info(
        "No disposition was recorded in the selected period with these filters: widen the "
        "period or clear a filter in the sidebar."
    )
    st.stop()

# --- headline: outcome shares -----------------------------------------------------------
summary = rejections.outcome_summary(overall)
cols = st.columns(len(summary) + 1)
cols[0].metric("Dispositions", fmt_count(summary["total"].iloc[0]))
for col, row in zip(cols[1:], summary.itertuples(index=False), strict=True):
    col.metric(
        charts.outcome_name(row.outcome),
        fmt_share(row.share),
        help=f"{row.count:,} of {row.total:,} dispositions; 95% interval "
        f"{display.fmt_ci(row.low, row.high)}.",
    )
    col.caption(f"{row.count:,} of {row.total:,}")

# --- Pareto of reasons ------------------------------------------------------------------
st.header("Why are MQLs turned down?")
if pareto.empty:
    st.info("Every disposition in the selection was an acceptance: no reasons to show.")
else:
    display.chart(charts.pareto(pareto), charts.pareto_summary(pareto), key="rj_chart_pareto")
    st.caption(
        "Reasons of rejected, nurtured and bad-data dispositions, most frequent first; the "
        "line adds them up. The few reasons left of the 80% mark are where fixing the MQL "
        "definition pays most."
    )
    show_table(
        pareto.assign(reason=pareto["reason"].map(label)),
        "rj_table_pareto",
        "rejection_reasons_pareto.csv",
        reason="Reason",
        count="Dispositions",
        total="Non-accepted",
        share=st.column_config.NumberColumn("Share", format="percent"),
        low=LOW,
        high=HIGH,
        cumulative_share=st.column_config.NumberColumn("Cumulative share", format="percent"),
    )


def reasons_section() -> None:
    """Reasons split by source (or another breakdown)."""
    st.header("Which reasons come from where?")
    c1, c2 = st.columns(2)
    urlstate.restore("rj_by", "by", options=list(BREAKDOWNS))
    dim = c1.selectbox("Break down by", list(BREAKDOWNS), format_func=BREAKDOWNS.get, key="rj_by")
    urlstate.mirror("rj_by", "by")
    urlstate.restore("rj_outcomes", "outcomes", options=list(OUTCOME_SETS))
    chosen = c2.selectbox(
        "Dispositions", list(OUTCOME_SETS), format_func=OUTCOME_SETS.get, key="rj_outcomes"
    )
    urlstate.mirror("rj_outcomes", "outcomes")
    by_group = state.call(rejections.disposition_mix, filters, by=(dim,))
    matrix = rejections.reason_shares(by_group, dim, OUTCOMES_OF[chosen])
    if matrix.empty:
        st.info(f"No {OUTCOME_PHRASES[chosen]} dispositions in the selection.")
    else:
        reasons = [r for r in pareto["reason"] if r in set(matrix["reason"])]
        reasons += sorted(set(matrix["reason"]) - set(reasons))
        display.chart(
            charts.reason_heatmap(matrix, dim, reasons),
            charts.heatmap_summary(matrix, dim),
            key="rj_chart_heatmap",
        )
        st.caption(
            f"Each row splits one {BREAKDOWNS[dim].lower()}'s {OUTCOME_PHRASES[chosen]} "
            "dispositions by reason: rows add up to 100%, the row label gives their number. "
            "Hover a cell for its count."
        )
        show_table(
            matrix.assign(
                reason=matrix["reason"].map(label),
                **{dim: [charts.group_label(g, dim) for g in matrix[dim]]},
            ),
            "rj_table_reasons",
            f"rejection_reasons_by_{dim}.csv",
            **{dim: BREAKDOWNS[dim]},
            reason="Reason",
            count="Dispositions",
            total=f"{OUTCOME_SETS[chosen]} in the group",
            share=st.column_config.NumberColumn("Share", format="percent"),
            low=LOW,
            high=HIGH,
        )


def trend_section() -> None:
    """Disposition outcomes per month or quarter."""
    st.header("Outcomes over time")
    urlstate.restore("rj_period", "grain", options=list(PERIODS))
    period = st.radio(
        "Period", list(PERIODS), format_func=PERIODS.get, horizontal=True, key="rj_period"
    )
    urlstate.mirror("rj_period", "grain")
    by_period = state.call(rejections.disposition_mix, filters, by=(period,))
    display.chart(
        charts.outcome_trend(by_period, period),
        charts.trend_summary(by_period, period),
        key="rj_chart_trend",
    )
    st.caption(
        f"Share of each outcome among the dispositions decided in the {period}; hover a bar "
        "for its count. A partial first period holds fewer decisions; the one in progress is "
        "pale and marked."
    )
    show_table(
        charts.outcome_table(by_period, period),
        "rj_table_trend",
        f"disposition_outcomes_by_{period}.csv",
        **{period: st.column_config.DatetimeColumn(PERIODS[period], format="YYYY-MM")},
        outcome="Outcome",
        count="Dispositions",
        total="All dispositions",
        share=st.column_config.NumberColumn("Share", format="percent"),
        complete=st.column_config.CheckboxColumn("Period over"),
    )


def recycle_section() -> None:
    """Recycle rate and what recycled leads reached."""
    st.header("Recycled leads")
    rec = state.call(rejections.recycle_summary, filters)
    if rec.mql_leads == 0:
        st.info("No lead had its first handoff in the selected period with these filters.")
    else:
        m1, m2, m3 = st.columns(3)
        m1.metric(
            "Recycle rate",
            f"{rec.recycle_rate:.1%}",
            help=f"{rec.recycled:,} of {rec.mql_leads:,} leads first handed off in the period "
            f"were sent to nurture and became MQL again; 95% interval "
            f"{rec.recycle_low:.1%}–{rec.recycle_high:.1%}.",
        )
        m1.caption(
            f"{rec.recycled:,} of {rec.mql_leads:,} MQL'd leads · 95% CI "
            f"{rec.recycle_low:.1%}–{rec.recycle_high:.1%}"
        )
        m2.metric(
            "Sent to nurture",
            f"{rec.nurtured:,}",
            help="Leads handed back to marketing after their first handoff.",
        )
        m3.metric(
            "Came back from nurture",
            "–" if rec.nurtured == 0 else f"{rec.return_rate:.1%}",
            help=f"{rec.recycled:,} of {rec.nurtured:,} nurtured leads became MQL again.",
        )
        if rec.nurtured:
            m3.caption(
                f"{rec.recycled:,} of {rec.nurtured:,} · 95% CI "
                f"{rec.return_low:.1%}–{rec.return_high:.1%}"
            )
        display.chart(
            charts.recycle_outcomes(rec.outcomes),
            charts.recycle_chart_summary(rec.outcomes),
            key="rj_chart_recycle",
        )
        st.caption(
            "Recycled leads: what they reached after their second handoff. Not recycled: what "
            "the other MQL'd leads reached after their first. Recent recycles have had less "
            "time to progress."
        )
        show_table(
            rec.outcomes.assign(
                group=rec.outcomes["group"].str.capitalize(), stage=rec.outcomes["stage"].map(label)
            ),
            "rj_table_recycle",
            "recycled_lead_outcomes.csv",
            group="Leads",
            stage="Stage reached",
            k="Reached",
            n="In the group",
            rate=PCT,
            low=LOW,
            high=HIGH,
        )


# --- secondary sections: one tab at a time, only the open one runs -----------------------
SECTIONS = {"reasons": "Reasons by source", "trend": "Over time", "recycling": "Recycling"}
DRAW = {"reasons": reasons_section, "trend": trend_section, "recycling": recycle_section}
IMPLIED = {"by": "reasons", "outcomes": "reasons", "grain": "trend"}
sections.draw_open(sections.lazy_tabs("rj_section", SECTIONS, IMPLIED), DRAW)
