"""Funnel: stage counts and step rates, cohort conversion over time, breakdowns, velocity."""

from __future__ import annotations

import streamlit as st

from analysis import filters as flt
from analysis.definitions import conversion_label
from analysis.lifecycle import funnel, measurable, metrics, periods
from dashboard import display, sections, state, urlstate
from dashboard import periods_ui as ui
from dashboard.charts import funnel as charts
from dashboard.tables import show_table

TREND_STEPS = (("mql", "sql"), ("sql", "opportunity"))
WINDOWS = (7, 14, 30, 60, 90)
ALPHA = 0.05

st.title("Funnel")
st.caption(
    "How many leads became MQLs, SQLs, opportunities and customers, what share moved from "
    "each stage to the next, how fast, and where. Every rate is quoted as k of n with its "
    "95% Wilson interval. A lead that skipped a stage counts as having reached it when it "
    "reached a later one."
)

state.require_database()
filters = st.session_state.get("filters") or flt.Filters()
avail = state.call(measurable.availability)
dated = avail.dates.measurable
conv = state.call(funnel.stage_conversion, filters, base_stage=avail.funnel_start)
if avail.funnel_start != "lead":
    st.info(
        f"This history starts at the {charts.STAGE_LABEL[avail.funnel_start]} stage (an "
        "export without earlier stages): the funnel begins there, and earlier stages are "
        "not measurable."
    )

if conv.empty:
    st.info(
        "No leads match these filters: no lead was created in the chosen period with this "
        "combination of source, region, team and the other filters. Widen the period or "
        "remove a filter (the sidebar's **Clear filters** resets them)."
    )
    st.stop()

# ------------------------------------------------------------------ the period's funnel
period = state.call(periods.period_of, filters)
st.subheader(f"{period.label}: the funnel against the previous period" if period else "Funnel")
basis = ui.basis_control("fu_basis")
st.markdown(ui.definition_caption(basis))
counts = state.call(metrics.funnel_counts, filters, basis)
counts = counts[counts["stage"].isin(conv["stage"])].reset_index(drop=True)
if period is not None and dated:
    text, immature = ui.maturity_text(period)
    (st.warning if immature else st.caption)(text)
    compare = state.call(periods.compare_funnel, filters, basis)
    ui.comparison_cards(compare, period, basis, list(counts["stage"]))
else:
    st.caption("Not compared with earlier periods: this history has no dates.")
    for col, rec in zip(st.columns(len(counts)), counts.to_dict("records"), strict=True):
        col.metric(charts.STAGE_PLURAL[rec["stage"]], display.fmt_count(rec["count"]))
label = period.label if period else "All history"
display.chart(
    charts.basis_funnel_chart(counts, metrics.BASIS_NAMES[basis], label),
    charts.basis_funnel_summary(counts, label),
    key="fu_funnel_chart",
)
show_table(
    display.label_frame(
        ui.formatted_steps(counts, ("count", "entered", "k", "n")),
        code_columns=("stage", "next_stage"),
        names={
            "count": f"Leads ({metrics.BASIS_NAMES[basis].lower()})",
            "entered": "Entered the stage in the period",
            "next_stage": "Next stage",
            "k": "Reached the next stage (k)",
            "n": "of (n)",
            "rate": "Step rate",
            "low": "95% low",
            "high": "95% high",
        },
    ).replace({"Next stage": {display.NOT_SET: "–"}}),
    "fu_funnel",
    f"funnel_{basis}.csv",
)

SECTIONS = {
    "volumes": "Stage entries",
    "trends": "Cohort trends",
    "heatmap": "Cohort heatmap",
    "breakdown": "Breakdown",
    "velocity": "Velocity",
}
# a link naming one section's control opens that section
IMPLIED = {"grain": "volumes", "window": "trends", "breakdown": "breakdown", "step": "breakdown"}


def volumes_section() -> None:
    """Stage entries per month or week, one panel per stage."""
    st.subheader("Stage entries per period")
    urlstate.restore("fu_grain", "grain", options=("month", "week"))
    grain = (
        st.segmented_control(
            "Count per",
            ["month", "week"],
            default=None if "fu_grain" in st.session_state else "month",
            key="fu_grain",
            required=True,
            format_func=str.capitalize,
        )
        or "month"
    )
    urlstate.mirror("fu_grain", "grain")
    st.caption(
        "Leads created, and leads entering each later stage, counted in the period they entered "
        "it (a December lead that became an MQL in January is a January MQL). Each panel has "
        "its own scale. **Hatched, pale bars are immature**: that period had not ended by the "
        "data's last date, so its count is still growing."
    )
    volumes = state.call(funnel.period_volumes, filters, grain)
    if volumes.empty:
        st.info("No stage entries in the chosen period.")
        return
    as_of = period.as_of if period else None
    display.chart(
        charts.volumes_chart(volumes, grain, as_of),
        charts.volumes_summary(volumes, grain, as_of),
        key="fu_volumes_chart",
    )


def trends_section() -> None:
    """Month-by-month cohort conversion with the changes beyond noise."""
    st.subheader("Cohort conversion by month")
    urlstate.restore("fu_window", "window", parse=int, options=WINDOWS)
    window = st.columns([1, 3])[0].selectbox(
        "Conversion window",
        WINDOWS,
        index=None if "fu_window" in st.session_state else WINDOWS.index(30),
        format_func=lambda d: f"{d} days",
        key="fu_window",
        help="A cohort member counts as converted when it reached the next stage within this "
        "many days of entering the first one.",
    )
    urlstate.mirror("fu_window", "window")
    trends = {
        step: state.call(funnel.month_over_month, filters, *step, window, alpha=ALPHA)
        for step in TREND_STEPS
    }
    st.caption(
        "MQL → SQL here is the "
        + conversion_label("cohort_window", "mql", "sql", window)
        + ". Cohort = the leads that entered the first stage in that month. Hollow markers on a "
        f"dotted line are **immature** cohorts: younger than {window} days at the data's last "
        "date, so their rate can still rise and must not be compared with the solid ones. "
        "Shaded bands are 95% Wilson intervals."
    )
    if all(df.empty for df in trends.values()):
        st.info("No MQLs or SQLs entered in the chosen period, so there are no cohorts to show.")
        return
    st.plotly_chart(charts.trend_chart(trends, window), key="fu_trend_chart")
    tested = sum(charts.comparable_months(df) for df in trends.values())
    callouts = [c for step, df in trends.items() for c in charts.change_callouts(df, *step)]
    with st.container(border=True):
        st.markdown("**Month-over-month changes distinguishable from noise**")
        for went_up, text in callouts:
            st.markdown(f"{':green[▲]' if went_up else ':red[▼]'} {text}")
        if not callouts:
            st.markdown(
                "None: no month's rate differs from the month before by more than chance "
                "would explain."
            )
        st.caption(
            f"Test: pooled two-proportion z-test (two-sided, significant when p < {ALPHA}) of "
            "each cohort against the month before, only when both cohorts are mature. "
            f"{tested} comparisons were tested; at this level about 1 in 20 comparisons "
            "with no real change is still flagged by chance."
        )


def heatmap_section() -> None:
    """MQL -> SQL by months since handoff, one row per MQL cohort."""
    st.subheader("MQL → SQL by months since handoff")
    matrix = state.call(funnel.cohort_matrix, filters, "mql", "sql")
    if matrix.empty:
        st.info("No MQLs entered in the chosen period, so there is no cohort to show.")
        return
    st.caption(
        "Each row is the MQLs of one month; each cell the share of them that had become an "
        "SQL by the end of the n-th month after handoff (cumulative, so a row only grows). "
        "**Grey cells are immature**: that month had not ended by the data's last date, so "
        "the share can still grow. Hover a cell for k of n and the 95% interval."
    )
    st.plotly_chart(charts.cohort_heatmap(matrix, "mql", "sql"), key="fu_heatmap")


def breakdown_section() -> None:
    """Stage counts and step rates split by one dimension."""
    st.subheader("Breakdown")
    left, right = st.columns(2)
    urlstate.restore("fu_dim", "breakdown", options=charts.DIMENSION_LABEL)
    dim = left.selectbox(
        "Break down by",
        list(charts.DIMENSION_LABEL),
        format_func=charts.DIMENSION_LABEL.get,
        key="fu_dim",
    )
    urlstate.mirror("fu_dim", "breakdown")
    step_codes = {f"{a}-{b}": (a, b) for a, b in charts.BREAKDOWN_STEPS}
    urlstate.restore("fu_step", "step", options=step_codes)
    step = step_codes[
        right.selectbox(
            "Step to chart",
            list(step_codes),
            index=None if "fu_step" in st.session_state else 1,
            format_func=lambda code: charts.step_label(*step_codes[code]),
            key="fu_step",
        )
    ]
    urlstate.mirror("fu_step", "step")
    breakdown = state.call(funnel.breakdown, filters, dim)
    reference = charts.reference_rate(conv, step)
    st.caption(
        "Cohort: leads created in the period, split by "
        f"{charts.DIMENSION_LABEL[dim].lower()}; counts are leads that reached each stage, and "
        "each rate is the later count divided by the earlier one. Whiskers are 95% intervals: "
        "where two whiskers overlap widely, the difference may be noise."
    )
    st.plotly_chart(
        charts.breakdown_chart(breakdown, dim, step, reference), key="fu_breakdown_chart"
    )
    table, columns = charts.breakdown_table(breakdown, dim)
    show_table(table, "fu_breakdown", f"funnel_by_{dim}.csv", **columns)


def velocity_section() -> None:
    """Days between stages and the sales cycle."""
    st.subheader("Velocity and sales cycle")
    velocity = charts.velocity_table(
        {s: state.call(funnel.velocity, filters, *s) for s in charts.VELOCITY_STEPS}
    )
    cycle = velocity.iloc[-1]
    if cycle["n"]:
        st.markdown(
            f"**Sales cycle** (MQL → customer): median **{cycle['median_days']:.0f} days**, "
            f"p75 {cycle['p75_days']:.0f}, p90 {cycle['p90_days']:.0f} "
            f"(the {int(cycle['n']):,} leads handed off in the period that became customers)."
        )
    st.caption(
        "Days from entering the first stage to entering the second, for the leads that entered "
        "the first stage in the period and have made the step. Recent cohorts only show their "
        "fast converters so far, so recent periods look faster than they will end up."
    )
    if (velocity["n"] == 0).all():
        st.info("No lead in the chosen period has moved to a later stage yet.")
    else:
        st.plotly_chart(charts.velocity_chart(velocity), key="fu_velocity_chart")
    show_table(velocity, "fu_velocity", "funnel_velocity.csv", **charts.velocity_columns())


# ------------------------------------------------------------------ secondary sections
# One tab at a time: only the open one computes and draws (dashboard.sections).
DRAW = {
    "volumes": volumes_section,
    "trends": trends_section,
    "heatmap": heatmap_section,
    "breakdown": breakdown_section,
    "velocity": velocity_section,
}
shown = SECTIONS if dated else {"breakdown": SECTIONS["breakdown"]}
if not dated:
    st.subheader("Stage entries, cohort trends and velocity")
    st.info(f"Not measurable: {avail.dates.reason}")
sections.draw_open(sections.lazy_tabs("fu_section", shown, IMPLIED), DRAW)
