"""SLA & response: how fast sales answers handoffs, who breaks the SLA, and what speed is worth."""

from __future__ import annotations

import streamlit as st

from analysis import filters as flt
from analysis.lifecycle import measurable, sla
from dashboard import state
from dashboard.charts import sla as charts
from dashboard.tables import HIGH_95, LOW_95, PERCENT, show_table

BREAKDOWNS = {"team": "Team", "rep": "Rep", "source": "Source", "campaign": "Campaign"}
MAX_AGES = {0: "no limit", 7: "7 days", 30: "30 days", 90: "90 days", 365: "1 year"}
WINDOWS = {0: "any time so far", 30: "30 days", 90: "90 days"}
PCT, LOW, HIGH = PERCENT, LOW_95, HIGH_95
MEDIAN = st.column_config.NumberColumn("median (min)", format="%.1f")
P90 = st.column_config.NumberColumn("p90 (min)", format="%.1f")
P95 = st.column_config.NumberColumn("p95 (min)", format="%.1f")

st.title("SLA & response")
st.caption(
    "Response time = first sales activity at or after the handoff (MQL entry) minus the "
    "handoff time. Compliance = share of decided handoffs answered within their tier's "
    "target; handoffs still inside their target without an answer are *pending* and left "
    "out. The sidebar period applies to the handoff time."
)

state.require_database()
filters: flt.Filters = st.session_state.get("filters") or flt.Filters()
avail = state.call(measurable.availability)
if not avail.sla.measurable:
    st.info(f"Not measurable: {avail.sla.reason}")
    st.stop()
clock = st.radio(
    "Clock",
    list(charts.CLOCK_LABELS),
    format_func=charts.CLOCK_LABELS.get,
    horizontal=True,
    key="sla_clock",
    help="Each tier's own clock follows the SLA policy (wall clock or business hours). "
    "Business hours count only the owner's working hours, Monday to Friday, in the "
    "owner's time zone.",
)
tiers = state.call(sla.sla_compliance, filters, by=("tier",), clock=clock)
overall = state.call(sla.sla_compliance, filters, by=None, clock=clock)
queue = state.call(sla.breach_queue, None, filters)
as_of = state.call(flt.data_as_of)

# --- headline: compliance per tier ------------------------------------------------------
cols = st.columns(len(tiers) + 2)
for col, row in zip(cols, tiers.itertuples(index=False), strict=False):
    col.metric(
        f"Within SLA: {row.tier} ({charts.fmt_target(row.target_minutes)})",
        charts.fmt_pct(row.rate),
        help=f"{row.k:,} of {row.n:,} decided handoffs answered within "
        f"{charts.fmt_target(row.target_minutes)}; 95% interval "
        f"{charts.fmt_pct(row.low)}–{charts.fmt_pct(row.high)}; {row.pending:,} pending.",
    )
    col.caption(
        f"{row.k:,} of {row.n:,} · first response median "
        f"{charts.fmt_minutes(row.median_minutes)}, p90 {charts.fmt_minutes(row.p90_minutes)}, "
        f"p95 {charts.fmt_minutes(row.p95_minutes)}"
    )
if len(overall):
    total = overall.iloc[0]
    cols[-2].metric(
        "Within SLA: all MQLs",
        charts.fmt_pct(total["rate"]),
        help=f"{int(total['k']):,} of {int(total['n']):,} decided handoffs.",
    )
    cols[-2].caption(
        f"{int(total['handoffs']):,} handoffs · median "
        f"{charts.fmt_minutes(total['median_minutes'])}, p90 "
        f"{charts.fmt_minutes(total['p90_minutes'])}"
    )
cols[-1].metric(
    "Open MQLs past SLA",
    f"{len(queue):,}",
    help="Handed off, never touched, nothing closed them, and already past the tier's "
    "target. Ignores the sidebar period (an MQL waiting since before it still waits).",
)
cols[-1].caption(f"as of {as_of:%Y-%m-%d %H:%M} UTC" if as_of else "no data yet")

has_handoffs = len(overall) > 0
if not has_handoffs:
    st.info(
        "No MQL was handed off in the selected period with these filters: widen the period "
        "or clear a filter in the sidebar. The open-breach queue below ignores the period."
    )

# --- response-time distribution ---------------------------------------------------------
if has_handoffs:
    st.subheader("How fast are handoffs answered?")
    rows = state.call(sla.response_times, filters)
    st.plotly_chart(charts.response_ecdf(rows, clock), key="sla_chart_ecdf")
    st.caption(
        "Cumulative share of answered handoffs by time to first sales activity, per tier, "
        "with each tier's target (dashed). Read a curve where it crosses its target: that "
        "share was answered in time. Log scale: response times are heavy-tailed."
    )

# --- compliance by group and month ------------------------------------------------------
if has_handoffs:
    st.subheader("Who keeps the SLA?")
    dim = st.columns(3)[0].selectbox(
        "Break down by",
        list(BREAKDOWNS),
        format_func=BREAKDOWNS.get,
        key="sla_by",
    )
    by_group = state.call(sla.sla_compliance, filters, by=(dim,), clock=clock)
    by_month = state.call(sla.sla_compliance, filters, by=(dim, "month"), clock=clock)
    bars = charts.compliance_bars(by_group, dim, float(overall.iloc[0]["rate"]))
    order = list(bars.data[0].y)[::-1] if bars.data else []
    st.plotly_chart(charts.compliance_heatmap(by_month, dim, order), key="sla_chart_heatmap")
    st.caption(
        "Compliance per month of the handoff, worst group on top; hover a cell for its count "
        f"(* fewer than {charts.MIN_GROUP_N} decided handoffs: read with care)."
    )
    st.plotly_chart(bars, key="sla_chart_bars")
    st.caption(
        "Compliance over the whole period with its 95% interval; red bars are significantly "
        "below all MQLs (the whole interval lies under the dotted line)."
    )
    show_table(
        by_group,
        "sla_table_groups",
        f"sla_compliance_by_{dim}.csv",
        responded="answered",
        k="in time",
        n="decided",
        rate=st.column_config.NumberColumn("within SLA", format="percent"),
        low=LOW,
        high=HIGH,
        median_minutes=MEDIAN,
        p90_minutes=P90,
        p95_minutes=P95,
    )

# --- the open-breach queue --------------------------------------------------------------
st.subheader("Open MQLs past their SLA")
max_age = st.columns(3)[0].selectbox(
    "Hide MQLs that have waited longer than",
    list(MAX_AGES),
    format_func=MAX_AGES.get,
    key="sla_max_age",
    help="Very old untouched MQLs are often abandoned; hide them to focus on the ones that "
    "can still be saved.",
)
shown = charts.breach_table(queue, max_age or None)
if len(queue) == 0:
    st.success("No open MQL is past its SLA target with these filters.")
else:
    st.caption(
        f"{len(shown):,} of {len(queue):,} open MQLs past target shown, oldest handoff first "
        f"(waits measured to {as_of:%Y-%m-%d %H:%M} UTC, the latest recorded fact). Score: "
        "the current scoring rule's points at the handoff. Last touchpoints: newest first."
    )
    show_table(
        shown,
        "sla_table_queue",
        "sla_open_breaches.csv",
        handed_off=st.column_config.DatetimeColumn("handed off (UTC)", format="YYYY-MM-DD HH:mm"),
        minutes_waiting=st.column_config.NumberColumn("minutes waiting", format="localized"),
        business_minutes_waiting=st.column_config.NumberColumn(
            "business minutes waiting", format="localized"
        ),
        minutes_over_target=st.column_config.NumberColumn(
            "minutes over target", format="localized"
        ),
        last_touchpoints=st.column_config.TextColumn("last touchpoints", width="large"),
    )

# --- speed to lead ----------------------------------------------------------------------
if has_handoffs:
    st.subheader("Is speed worth it? Conversion by response time")
    window = st.columns(3)[0].selectbox(
        "Count a conversion reached within",
        list(WINDOWS),
        format_func=WINDOWS.get,
        key="sla_window",
        help="Recent handoffs have had less time to convert; a window compares like with "
        "like (pick a period that ended at least that long ago).",
    )
    curves = {
        outcome: state.call(
            sla.speed_to_lead, filters, outcome=outcome, clock=clock, window_days=window or None
        )
        for outcome in ("sql", "opportunity")
    }
    st.plotly_chart(charts.speed_to_lead(curves), key="sla_chart_speed")
    st.caption(
        f"Handoffs grouped by time to first sales activity ({charts.CLOCK_UNITS[clock]}); "
        "bars show the share that reached SQL / an opportunity, with 95% intervals. Hover a "
        "bar for its count and the band's median and p90 response."
    )
    show_table(
        charts.speed_table(curves),
        "sla_table_speed",
        "sla_speed_to_lead.csv",
        sql_k="SQLs",
        sql_rate=st.column_config.NumberColumn("MQL→SQL", format="percent"),
        sql_low=LOW,
        sql_high=HIGH,
        opportunity_k="opportunities",
        opportunity_rate=st.column_config.NumberColumn("MQL→opportunity", format="percent"),
        opportunity_low=LOW,
        opportunity_high=HIGH,
        median_minutes=MEDIAN,
        p90_minutes=P90,
    )

# --- attempts before disposition --------------------------------------------------------
st.subheader("How many attempts before sales decides?")
tries = state.call(sla.attempts_before_disposition, filters, by="outcome")
if len(tries) == 0:
    st.info("No disposition was recorded in the selected period with these filters.")
else:
    st.plotly_chart(charts.attempts(tries), key="sla_chart_attempts")
    st.caption("Sales activities between the handoff and the disposition (period: decision date).")
    show_table(
        tries,
        "sla_table_attempts",
        "sla_attempts_before_disposition.csv",
        share=PCT,
        cumulative_share=st.column_config.NumberColumn("at most this many", format="percent"),
    )
