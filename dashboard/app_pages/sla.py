"""SLA & response: how fast sales answers handoffs, who breaks the SLA, and what speed is worth."""

from __future__ import annotations

import streamlit as st

from analysis import filters as flt
from analysis.lifecycle import measurable, sla
from analysis.store import settings as company_settings
from dashboard import display, sections, state, urlstate
from dashboard.charts import sla as charts
from dashboard.display import fmt_count, fmt_duration, fmt_share, fmt_target, label
from dashboard.tables import HIGH_95, LOW_95, show_table

BREAKDOWNS = {"team": "Team", "rep": "Rep", "source": "Source", "campaign": "Campaign"}
MAX_AGES = {7: "7 days", 30: "30 days", 90: "90 days", 365: "1 year", 0: "no limit"}
DEFAULT_MAX_AGE = 30
QUEUE_ROWS = 500  # the worklist's rows shipped to the browser (the first to call)
WINDOWS = {0: "any time so far", 30: "30 days", 90: "90 days"}
LOW, HIGH = LOW_95, HIGH_95
DURATION = "Shown as minutes (min), hours (h) or days (d)."

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
urlstate.restore("sla_clock", "clock", options=list(charts.CLOCK_LABELS))
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
urlstate.mirror("sla_clock", "clock")
tiers = state.call(sla.sla_compliance, filters, by=("tier",), clock=clock)
overall = state.call(sla.sla_compliance, filters, by=None, clock=clock)
open_count = state.call(sla.breach_count, None, filters)
as_of = state.call(flt.data_as_of)

# --- headline: compliance per tier ------------------------------------------------------
cols = st.columns(len(tiers) + 2)
for col, row in zip(cols, tiers.itertuples(index=False), strict=False):
    target = fmt_target(row.target_minutes)
    col.metric(
        f"Within SLA: {label(row.tier)} ({target})",
        fmt_share(row.rate),
        help=f"{row.k:,} of {row.n:,} decided handoffs answered within {target}; 95% "
        f"interval {display.fmt_ci(row.low, row.high)}; {row.pending:,} pending.",
    )
    col.caption(
        f"{row.k:,} of {row.n:,} · first response median "
        f"{fmt_duration(row.median_minutes)}, p90 {fmt_duration(row.p90_minutes)}, "
        f"p95 {fmt_duration(row.p95_minutes)}"
    )
if len(overall):
    total = overall.iloc[0]
    cols[-2].metric(
        "Within SLA: all MQLs",
        fmt_share(total["rate"]),
        help=f"{int(total['k']):,} of {int(total['n']):,} decided handoffs.",
    )
    cols[-2].caption(
        f"{int(total['handoffs']):,} handoffs · median "
        f"{fmt_duration(total['median_minutes'])}, p90 {fmt_duration(total['p90_minutes'])}"
    )
cols[-1].metric(
    "Open MQLs past SLA",
    fmt_count(open_count),
    help="Handed off, never touched, nothing closed them, and already past the tier's "
    "target, however long ago. Ignores the sidebar period (an MQL waiting since before it "
    "still waits).",
)
cols[-1].caption(f"as of {as_of:%Y-%m-%d %H:%M} UTC" if as_of else "no data yet")

has_handoffs = len(overall) > 0
if not has_handoffs:
    st.info(
        "No MQL was handed off in the selected period with these filters: widen the period "
        "or clear a filter in the sidebar. The open-breach queue below ignores the period."
    )


# --- the open-breach queue: whom to call first -----------------------------------------
# A fragment: changing the horizon reruns the queue only, not the cards above it.
@st.fragment
def queue_section() -> None:
    """The open breaches within the chosen horizon, whom to call first."""
    st.header("Open MQLs past their SLA: whom to call first")
    urlstate.restore("sla_max_age", "age", parse=int, options=list(MAX_AGES))
    st.session_state.setdefault("sla_max_age", DEFAULT_MAX_AGE)
    max_age = st.columns(3)[0].selectbox(
        "Handed off in the last",
        list(MAX_AGES),
        format_func=MAX_AGES.get,
        key="sla_max_age",
        help="The queue's horizon. Very old untouched MQLs are often abandoned; a horizon keeps "
        "the ones that can still be saved on top of the list.",
    )
    urlstate.mirror("sla_max_age", "age")
    in_horizon = state.call(sla.breach_count, None, filters, max_age_days=max_age or None)
    queue = state.call(
        sla.breach_queue, None, filters, max_age_days=max_age or None, limit=QUEUE_ROWS
    )
    company = state.call(company_settings.load)
    if open_count == 0:
        st.success("No open MQL is past its SLA target with these filters.")
    else:
        hidden = open_count - in_horizon
        st.caption(
            f"{in_horizon:,} open MQLs past target handed off in the last {MAX_AGES[max_age]}"
            + (f" ({hidden:,} older ones hidden: widen the horizon to see them)" if hidden else "")
            + (
                f"; the first {len(queue):,} to call are listed (and in the CSV)"
                if len(queue) < in_horizon
                else ""
            )
            + ". Call from the top: the tightest tier first (demo requests), then the longest "
            f"past its target. Waits are measured to {as_of:%Y-%m-%d %H:%M} UTC, the latest "
            "recorded fact; score is the current scoring rule's points at the handoff."
            + ("" if company.show_personal_data else " Names are shown as initials (Settings).")
        )
        shown = charts.breach_table(
            queue,
            show_personal_data=company.show_personal_data,
            crm_record_url=company.crm_record_url,
        )
        show_table(
            shown,
            "sla_table_queue",
            "sla_open_breaches.csv",
            **{
                **{k: v for k, v in charts.QUEUE_COLUMNS.items() if k in shown.columns},
                "crm": st.column_config.LinkColumn("CRM record", display_text="Open in CRM"),
                "handed_off": st.column_config.DatetimeColumn(
                    "Handed off (UTC)", format="YYYY-MM-DD HH:mm"
                ),
                "past_target": st.column_config.TextColumn("Past target", help=DURATION),
                "waiting": st.column_config.TextColumn("Waiting", help=DURATION),
                "last_touchpoints": st.column_config.TextColumn("Last touchpoints", width="large"),
                "score": st.column_config.NumberColumn("Score", format="%d"),
            },
        )


queue_section()


def response_section() -> None:
    """Response-time distribution per tier against its target."""
    st.header("How fast are handoffs answered?")
    curve = state.call(sla.response_curve, filters, clock, charts.ECDF_POINTS)
    display.chart(
        charts.response_ecdf(curve, clock), charts.ecdf_summary(tiers), key="sla_chart_ecdf"
    )


def compliance_section() -> None:
    """Compliance by team, rep, source or campaign, and by month."""
    st.header("Who keeps the SLA?")
    urlstate.restore("sla_by", "by", options=list(BREAKDOWNS))
    dim = st.columns(3)[0].selectbox(
        "Break down by",
        list(BREAKDOWNS),
        format_func=BREAKDOWNS.get,
        key="sla_by",
    )
    urlstate.mirror("sla_by", "by")
    by_group = state.call(sla.sla_compliance, filters, by=(dim,), clock=clock)
    by_month = state.call(sla.sla_compliance, filters, by=(dim, "month"), clock=clock)
    rate_all = float(overall.iloc[0]["rate"])
    bars = charts.compliance_bars(by_group, dim, rate_all)
    order = list(bars.data[0].y)[::-1] if bars.data else []
    display.chart(
        charts.compliance_heatmap(by_month, dim, order, rate_all),
        charts.heatmap_summary(by_month, dim),
        key="sla_chart_heatmap",
    )
    display.chart(bars, charts.bars_summary(by_group, dim, rate_all), key="sla_chart_bars")
    show_table(
        charts.durations_as_text(
            by_group.assign(**{dim: by_group[dim].map(label if dim == "source" else str)}),
            ["median_minutes", "p90_minutes", "p95_minutes"],
        ),
        "sla_table_groups",
        f"sla_compliance_by_{dim}.csv",
        **{dim: BREAKDOWNS[dim]},
        handoffs="Handoffs",
        responded="Answered",
        pending="Pending",
        k="In time",
        n="Decided",
        rate=st.column_config.NumberColumn("Within SLA", format="percent"),
        low=LOW,
        high=HIGH,
        median_minutes="First response: median",
        p90_minutes="p90",
        p95_minutes="p95",
    )


def speed_section() -> None:
    """Conversion by response-time band: what speed is worth."""
    st.header("Is speed worth it? Conversion by response time")
    urlstate.restore("sla_window", "window", parse=int, options=list(WINDOWS))
    window = st.columns(3)[0].selectbox(
        "Count a conversion reached within",
        list(WINDOWS),
        format_func=WINDOWS.get,
        key="sla_window",
        help="Recent handoffs have had less time to convert; a window compares like with "
        "like (pick a period that ended at least that long ago).",
    )
    urlstate.mirror("sla_window", "window")
    curves = {
        outcome: state.call(
            sla.speed_to_lead, filters, outcome=outcome, clock=clock, window_days=window or None
        )
        for outcome in ("sql", "opportunity")
    }
    display.chart(charts.speed_to_lead(curves), charts.speed_summary(curves), key="sla_chart_speed")
    show_table(
        charts.durations_as_text(charts.speed_table(curves), ["median_minutes", "p90_minutes"]),
        "sla_table_speed",
        "sla_speed_to_lead.csv",
        bucket="Response band",
        handoffs="Handoffs",
        sql_k="SQLs",
        sql_rate=st.column_config.NumberColumn("MQL → SQL", format="percent"),
        sql_low=LOW,
        sql_high=HIGH,
        opportunity_k="Opportunities",
        opportunity_rate=st.column_config.NumberColumn("MQL → opportunity", format="percent"),
        opportunity_low=LOW,
        opportunity_high=HIGH,
        median_minutes="Response in band: median",
        p90_minutes="p90",
    )


def attempts_section() -> None:
    """Sales activities before each disposition."""
    st.header("How many attempts before sales decides?")
    tries = state.call(sla.attempts_before_disposition, filters, by="outcome")
    if len(tries) == 0:
        st.info("No disposition was recorded in the selected period with these filters.")
    else:
        display.chart(
            charts.attempts(tries), charts.attempts_summary(tries), key="sla_chart_attempts"
        )
        st.caption(
            "Sales activities between the handoff and the disposition (period: decision date)."
        )
        show_table(
            tries.assign(outcome=tries["outcome"].map(label)),
            "sla_table_attempts",
            "sla_attempts_before_disposition.csv",
            outcome="Outcome",
            attempts="Attempts",
            dispositions="Dispositions",
            share=st.column_config.NumberColumn("Share", format="percent"),
            cumulative_share=st.column_config.NumberColumn("At most this many", format="percent"),
        )


# --- secondary sections: one tab at a time, only the open one runs -----------------------
SECTIONS = {
    "response": "Response times",
    "compliance": "Who keeps the SLA",
    "speed": "Speed to lead",
    "attempts": "Attempts",
}
DRAW = {
    "response": response_section,
    "compliance": compliance_section,
    "speed": speed_section,
    "attempts": attempts_section,
}
IMPLIED = {"by": "compliance", "window": "speed"}  # a link naming a section's control
shown = SECTIONS if has_handoffs else {"attempts": SECTIONS["attempts"]}
sections.draw_open(sections.lazy_tabs("sla_section", shown, IMPLIED), DRAW)
