"""Monthly review: goals vs actuals, health checks, changes, outcomes and the revenue plan."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from analysis import config, store
from analysis.imports import ingest
from analysis.lifecycle import periods
from analysis.lifecycle import review as rv
from analysis.store import settings as company_settings
from dashboard import display, state, urlstate
from dashboard import periods_ui as ui
from dashboard import report as rp
from dashboard.charts import review as charts
from dashboard.tables import HIGH_95, LOW_95, show_table

ss = st.session_state
PCT = st.column_config.NumberColumn(format="percent")
COUNT = st.column_config.NumberColumn(format="localized")
STATE_BADGE = {
    "fired": ":red-badge[:material/error: problem]",
    "ok": ":green-badge[:material/check_circle: healthy]",
    "unassessed": ":gray-badge[:material/help: not assessed]",
}
WINDOWS = [3, 6, 12]

st.title("Monthly review")
st.caption(
    "The smarketing meeting in one page: goals against actuals, the four classic handoff "
    "failures, what changed beyond noise, where the month's MQLs are now, and what the "
    "revenue goal needs at recent conversion rates. The review covers the whole company "
    "(targets are company-wide), so it has no sidebar filters."
)

state.require_database()
months = state.call(rv.available_months)
currency = state.call(company_settings.load).currency

if not months:
    st.info("The database has no history yet: import files with `handoff import`.")
    st.stop()

# --- controls ---------------------------------------------------------------------------
c_month, c_basis, c_thresholds = st.columns([1, 1.2, 1.8])
default = state.call(rv.default_month)
urlstate.restore("rv_month", "month", parse=rv.parse_month, options=months)
month: date = c_month.selectbox(
    "Month",
    months,
    index=None if "rv_month" in ss else (months.index(default) if default in months else 0),
    format_func=lambda m: (
        rv.month_label(m) + ("" if m != months[0] or m == default else " (running)")
    ),
    key="rv_month",
    help="Calendar month, UTC. Opens on the last complete month that has data.",
)
urlstate.mirror("rv_month", "month", fmt=lambda m: m.strftime("%Y-%m"))
basis = ui.basis_control("rv_basis", c_basis)
with c_thresholds.expander("Check thresholds"):
    t1, t2 = st.columns(2)
    sla_floor = t1.number_input(
        "SLA compliance floor (%)",
        min_value=0.0,
        max_value=100.0,
        value=None,
        step=1.0,
        placeholder="the month's target",
        key="rv_sla_floor",
        help="Empty: the month's pct_contacted_in_sla target, else 80%.",
    )
    urlstate.restore("rv_window", "window", parse=int, options=range(1, 181))
    window = t2.number_input(
        "Conversion window (days)",
        min_value=1,
        max_value=180,
        value=None if "rv_window" in ss else 30,
        key="rv_window",
        help="MQL→SQL and the cohort rates under 'What changed' count conversions within "
        "this many days; a month is judged once all its MQLs have had that long.",
    )
    urlstate.mirror("rv_window", "window")
    urlstate.restore("rv_shortfall", "shortfall", parse=int, options=range(50, 101))
    shortfall = t1.slider(
        "Not enough MQLs below (% of target)",
        50,
        100,
        None if "rv_shortfall" in ss else 90,
        key="rv_shortfall",
    )
    urlstate.mirror("rv_shortfall", "shortfall")
    urlstate.restore("rv_noise", "noise", parse=lambda t: t == "on")
    beyond_noise = t2.toggle(
        "Flag shortfalls only beyond noise",
        value=ss.get("rv_noise", True),
        key="rv_noise",
        help="On: a rate counts as below its floor only when its whole 95% interval is below.",
    )
    urlstate.mirror("rv_noise", "noise", fmt=lambda v: "on" if v else "off")
settings = rv.ReviewSettings(
    sla_min_compliance=None if sla_floor is None else sla_floor / 100,
    conversion_window_days=float(window),
    mql_shortfall=1 - shortfall / 100,
    beyond_noise=beyond_noise,
)
month_iso = month.strftime("%Y-%m")
review: rv.Review = state.call(rv.build_review, month_iso, settings, None, 6, basis)

if not review.complete:
    st.warning(
        f"**{review.label} is still in progress (immature)**: the data covers "
        f"{review.elapsed:.0%} of it (up to {review.as_of:%Y-%m-%d %H:%M} UTC). Volume targets "
        "are pro-rated in the checks, and the comparison below is made at the same age.",
        icon=":material/hourglass_top:",
    )

# --- summary tiles ----------------------------------------------------------------------
goals = review.goals.set_index("metric")
sla_goal = goals.loc["pct_contacted_in_sla"]
deals = review.deals.iloc[0]
cols = st.columns(4)
cols[0].metric(
    "Health problems",
    f"{len(review.fired)} of {len(review.checks)}",
    help="Health checks that fired this month (details below).",
)
avail = review.availability
mql_target = goals.loc["mqls", "target"]
cols[1].metric(
    "MQLs entered this month",
    rp.fmt_count(goals.loc["mqls", "actual"])
    if goals.loc["mqls", "measurable"]
    else rp.NOT_MEASURABLE,
    delta=None if np.isnan(mql_target) else f"{goals.loc['mqls', 'pct_of_target']:.0%} of target",
    delta_color="off",
    delta_arrow="off",
    help="Leads that first became MQL this month."
    if goals.loc["mqls", "measurable"]
    else f"Not measurable: {goals.loc['mqls', 'reason']}",
)
cols[2].metric(
    "Contacted within SLA",
    rp.fmt_share(sla_goal["actual"]) if avail.sla.measurable else rp.NOT_MEASURABLE,
    help=f"{rp.fmt_k_of_n(sla_goal['k'], sla_goal['n'])} decided handoffs answered within "
    "their tier's target."
    if avail.sla.measurable
    else f"Not measurable: {avail.sla.reason}",
)
cols[3].metric(
    (f"Won revenue ({currency})" if currency else "Won revenue")
    if avail.revenue.measurable
    else "Deals won",
    rp.fmt_money(deals["won_revenue"]) if avail.revenue.measurable else rp.fmt_count(deals["won"]),
    help=f"{int(deals['won'])} deals won this month (leads that reached the customer stage)."
    if avail.revenue.measurable
    else f"Won revenue not measurable: {avail.revenue.reason}",
)
for reason in dict.fromkeys(avail.reasons().values()):
    st.caption(f"Not measurable: {reason}")

# --- goals vs actuals -------------------------------------------------------------------
st.header("Goals vs actuals")
prev, last_year = rv.add_months(month, -1), rv.add_months(month, -12)
goal_rows = pd.DataFrame(
    {
        "goal": review.goals["label"],
        "actual": [rp.goal_actual_text(g) for g in review.goals.itertuples(index=False)],
        "target": [
            rp.fmt_value(t, u)
            for t, u in zip(review.goals["target"], review.goals["unit"], strict=True)
        ],
        "pct_of_target": [rp.fmt_share(x, 0) for x in review.goals["pct_of_target"]],
        "previous": [
            rp.fmt_value(v, u)
            for v, u in zip(review.goals["previous_month"], review.goals["unit"], strict=True)
        ],
        "last_year": [
            rp.fmt_value(v, u)
            for v, u in zip(review.goals["last_year"], review.goals["unit"], strict=True)
        ],
    }
)
show_table(
    goal_rows,
    "rv_goals",
    f"goals_{month_iso}.csv",
    goal="Goal",
    actual="Actual",
    target="Target",
    pct_of_target="% of target",
    previous=f"{prev:%b %Y}",
    last_year=f"{last_year:%b %Y}",
)
if avail.goals.measurable:
    st.plotly_chart(charts.goals_chart(review.goals), key="rv_goals_chart")
else:
    st.caption(f"Not measurable: {avail.goals.reason}")

h = review.headline
st.subheader("The month's funnel, against last month and last year at the same age")
st.markdown(ui.definition_caption(basis))
month_period = state.call(periods.period_of, rv.month_filters(month))
compare = state.call(periods.compare_funnel, rv.month_filters(month), basis)
if month_period is not None:
    st.caption(ui.maturity_text(month_period)[0])
    shown = [s for s in rv.STAGE_LABELS if review.funnel.set_index("stage").loc[s, "measurable"]]
    ui.comparison_cards(compare, month_period, basis, shown)
show_table(
    ui.formatted_steps(
        review.funnel[
            ["label", "entered", "step", "k", "n", "rate", "low", "high"]
            + ([] if review.funnel["measurable"].all() else ["reason"])
        ],
        counts=("entered", "k", "n"),
    ),
    "rv_funnel",
    f"funnel_{month_iso}.csv",
    label="Stage",
    entered="Entered this month" if basis == "entered" else "Created this month, reached it",
    step="Next step",
    k="Reached so far",
    n="of",
    rate="Rate",
    low="95% low",
    high="95% high",
    reason=st.column_config.TextColumn("Not measurable because", width="medium"),
)
st.subheader("Response to handoffs")
sla_rows = pd.DataFrame(h["sla"] or [])
if h["sla"] is None:
    st.info(f"Not measurable: {h['sla_reason']}")
elif sla_rows.empty:
    st.caption("No MQL handoffs this month.")
else:
    show_table(
        sla_rows[["tier", "target_minutes", "k", "n", "rate", "low", "high", "pending"]].assign(
            tier=sla_rows["tier"].map(display.label)
        ),
        "rv_sla",
        f"sla_{month_iso}.csv",
        tier="SLA tier",
        target_minutes=st.column_config.NumberColumn("Target (min)", format="%.0f"),
        k=st.column_config.NumberColumn("Within target", format="localized"),
        n=st.column_config.NumberColumn("Decided", format="localized"),
        rate=st.column_config.NumberColumn("Compliance", format="percent"),
        low=LOW_95,
        high=HIGH_95,
        pending="Pending",
    )
    resp = h["response_minutes"]
    st.caption(
        f"{rp.fmt_count(resp['responded'])} handoffs answered; median first response "
        f"{rp.fmt_minutes(resp['median'])} (p90 {rp.fmt_minutes(resp['p90'])}), wall clock."
    )

# --- health checks ----------------------------------------------------------------------
st.header("Health checks")
grid = st.columns(2)
for i, check in enumerate(review.checks):
    status = "fired" if check.fired else ("ok" if check.assessed else "unassessed")
    with grid[i % 2].container(border=True, key=f"rv_check_{check.key}"):
        st.markdown(f"##### {check.name} &nbsp; {STATE_BADGE[status]}")
        st.markdown(check.finding)
        with st.expander("Evidence"):
            st.markdown(
                "| evidence | value |\n|---|---:|\n"
                + "\n".join(
                    f"| {e.label} | {rp.fmt_value(e.value, e.unit)} |" for e in check.evidence
                )
            )
        st.caption(f"Rule: {check.rule}.")

# --- what changed -----------------------------------------------------------------------
st.header("What changed since last month")
ch = review.changes
show_table(
    pd.DataFrame(
        {
            "rate": ch["label"],
            "previous": [
                f"{rp.fmt_share(r)} ({rp.fmt_k_of_n(k, n)})"
                for r, k, n in zip(ch["prev_rate"], ch["prev_k"], ch["prev_n"], strict=True)
            ],
            "this_month": [
                f"{rp.fmt_share(r)} ({rp.fmt_k_of_n(k, n)})"
                for r, k, n in zip(ch["rate"], ch["k"], ch["n"], strict=True)
            ],
            "change": [rp.fmt_points(x) for x in ch["change"]],
            "p_value": [rp.fmt_p(x) for x in ch["p_value"]],
            "verdict": ch["verdict"].map(rp.VERDICT_TEXT),
        }
    ),
    "rv_changes",
    f"changes_{month_iso}.csv",
    rate=st.column_config.TextColumn("Rate", width="large"),
    previous="Previous month",
    this_month="This month",
    change="Change",
    p_value="p-value",
    verdict=st.column_config.TextColumn("Verdict", width="medium"),
)
significant = review.changes[review.changes["significant"]]
if len(significant):
    st.markdown(
        "**Changed beyond noise:** "
        + "; ".join(
            f"{c.label} {rp.fmt_share(c.prev_rate)} → {rp.fmt_share(c.rate)} "
            f"(p = {rp.fmt_p(c.p_value)})"
            for c in significant.itertuples(index=False)
        )
    )
else:
    st.caption(
        "No rate moved beyond noise (pooled two-proportion test, p < "
        f"{settings.alpha:g}). Cohort rates are compared only once both months' cohorts have "
        f"had {settings.conversion_window_days:g} days to convert."
    )

# --- outcomes ---------------------------------------------------------------------------
st.header("Outcomes")
st.subheader("Where this month's MQLs are now")
if not avail.handoffs.measurable:
    st.info(f"Not measurable: {avail.handoffs.reason}")
else:
    o1, o2 = st.columns([4, 5])
    with o1:
        show_table(
            review.status[["label", "leads", "share"]].assign(
                share=review.status["share"].map(display.fmt_share)
            ),
            "rv_status",
            f"mql_status_{month_iso}.csv",
            label="Status now",
            leads=st.column_config.NumberColumn("MQLs", format="localized"),
            share="Share",
        )
    with o2:
        st.plotly_chart(charts.status_chart(review.status), key="rv_status_chart")
st.subheader("Deals closed this month")
d = st.columns(5)
d[0].metric("Won", rp.fmt_count(deals["won"]))
d[1].metric(
    f"Won revenue ({currency})" if currency else "Won revenue",
    rp.fmt_money(deals["won_revenue"]) if avail.revenue.measurable else rp.NOT_MEASURABLE,
    help=None if avail.revenue.measurable else avail.revenue.reason,
)
d[2].metric(
    "Lost",
    rp.fmt_count(deals["lost"]) if avail.win_rate.measurable else rp.NOT_MEASURABLE,
    help=None if avail.win_rate.measurable else avail.win_rate.reason,
)
d[3].metric(
    "Win rate",
    rp.fmt_share(deals["win_rate"]) if avail.win_rate.measurable else rp.NOT_MEASURABLE,
    help=f"95% interval {rp.fmt_share(deals['win_low'])} – {rp.fmt_share(deals['win_high'])}"
    if avail.win_rate.measurable
    else avail.win_rate.reason,
)
d[4].metric(
    f"Average won amount ({currency})" if currency else "Average won amount",
    rp.fmt_money(deals["avg_won_amount"]) if avail.revenue.measurable else rp.NOT_MEASURABLE,
)
st.subheader("Why sales turned MQLs down")
rs = review.reasons
if not avail.rejections.measurable:
    st.info(f"Not measurable: {avail.rejections.reason}")
show_table(
    pd.DataFrame(
        {
            "reason": rs["reason"].map(display.label),
            "count": rs["count"],
            "share": [rp.fmt_share(x) for x in rs["share"]],
            "prev_count": rs["prev_count"],
            "prev_share": [rp.fmt_share(x) for x in rs["prev_share"]],
            "change": [rp.fmt_points(x) for x in rs["change"]],
            "p_value": [rp.fmt_p(x) for x in rs["p_value"]],
        }
    ),
    "rv_reasons",
    f"rejection_reasons_{month_iso}.csv",
    reason="Reason",
    count=st.column_config.NumberColumn("This month", format="localized"),
    share="Share",
    prev_count=st.column_config.NumberColumn("Previous month", format="localized"),
    prev_share="Share ",
    change="Change",
    p_value="p-value",
)
moved = review.reasons[review.reasons["significant"]]
if len(moved):
    st.markdown(
        "**Moved beyond noise:** "
        + "; ".join(
            f"{display.label(x.reason)} {rp.fmt_share(x.prev_share)} → {rp.fmt_share(x.share)}"
            for x in moved.itertuples(index=False)
        )
    )
st.plotly_chart(charts.reasons_chart(review.reasons), key="rv_reasons_chart")

# --- planner ----------------------------------------------------------------------------
st.header("Reverse-funnel plan")
st.caption(
    "Revenue goal ÷ average won amount ÷ win rate ÷ SQL→opportunity ÷ MQL→SQL ÷ lead→MQL "
    "= the volumes needed per month. The range divides by the rates' 95% interval bounds."
)
p1, p2 = st.columns(2)
default_goal = float(review.plan.revenue_goal)
goal = p1.number_input(
    "Revenue goal per month",
    min_value=0.0,
    value=default_goal,
    step=10_000.0,
    format="%.0f",
    key=f"rv_goal_{month_iso}",
    help=f"Default: {review.plan.goal_source} for {review.label}.",
)
urlstate.restore("rv_trailing", "trailing", parse=int, options=WINDOWS)
trailing = p2.selectbox(
    "Rates measured over the last",
    WINDOWS,
    index=None if "rv_trailing" in ss else WINDOWS.index(6),
    format_func=lambda m: f"{m} months",
    key="rv_trailing",
)
urlstate.mirror("rv_trailing", "trailing")
revenue_goal = None if goal == default_goal else float(goal)
plan: rv.Plan = state.call(rv.plan, month_iso, revenue_goal, trailing, settings)
if plan.reason:
    st.info(f"Not measurable: {plan.reason}")
st.markdown(
    f"Goal **{rp.fmt_money(plan.revenue_goal, currency)}** a month at an average won amount of "
    f"**{rp.fmt_money(plan.avg_won_amount, currency)}** ({plan.won_deals:,} won deals). {plan.note}"
)
q1, q2 = st.columns(2)
with q1:
    show_table(
        plan.rates[["label", "k", "n", "rate", "low", "high"]],
        "rv_plan_rates",
        f"plan_rates_{month_iso}.csv",
        label="Rate",
        k=st.column_config.NumberColumn("k", format="localized"),
        n=st.column_config.NumberColumn("n", format="localized"),
        rate=st.column_config.NumberColumn("Rate", format="percent"),
        low=LOW_95,
        high=HIGH_95,
    )
with q2:
    needed = plan.needed.assign(
        low=np.ceil(plan.needed["low"] - 1e-9), high=np.ceil(plan.needed["high"] - 1e-9)
    )
    show_table(
        needed[["label", "needed_whole", "low", "high", "actual", "gap"]],
        "rv_plan_needed",
        f"plan_needed_{month_iso}.csv",
        label="Per month",
        needed_whole=st.column_config.NumberColumn("Needed", format="localized"),
        low=st.column_config.NumberColumn("Range low", format="localized"),
        high=st.column_config.NumberColumn("Range high", format="localized"),
        actual=st.column_config.NumberColumn("This month", format="localized"),
        gap=st.column_config.NumberColumn("Gap", format="%+.0f"),
    )
st.plotly_chart(charts.plan_chart(plan.needed), key="rv_plan_chart")

# --- report -----------------------------------------------------------------------------
st.header("Report")


def report_bytes() -> bytes:
    """The HTML report with the page's settings (run when the button is clicked), read
    through the page's engine connection (the DuckDB file, or Spark over Parquet)."""
    con = state.cursor()
    try:
        return rp.report_html(con, month_iso, settings, revenue_goal, trailing, basis).encode(
            "utf-8"
        )
    finally:
        con.close()


def report_pdf() -> bytes:
    """The same report printed to PDF by headless chromium."""
    with tempfile.TemporaryDirectory(prefix="hh-report-") as tmp:
        html_path = Path(tmp) / "review.html"
        html_path.write_bytes(report_bytes())
        return rp.render_pdf(html_path, Path(tmp) / "review.pdf").read_bytes()


b1, b2, _ = st.columns([3, 2, 4])
b1.download_button(
    "Download HTML report",
    data=report_bytes,
    file_name=f"monthly_review_{month_iso}.html",
    mime="text/html",
    key="rv_report_html",
    icon=":material/download:",
    on_click="ignore",
    help="One self-contained file with these sections and numbers; opens offline.",
)
if rp.chromium_path():
    b2.download_button(
        "Download PDF",
        data=report_pdf,
        file_name=f"monthly_review_{month_iso}.pdf",
        mime="application/pdf",
        key="rv_report_pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
        help="The HTML report printed by headless chromium (takes a few seconds).",
    )

# --- targets ----------------------------------------------------------------------------
st.header("Targets")
year_first = date(month.year, 1, 1)
year_last = date(month.year, 12, 1)
grid_df = state.call(rv.targets_grid, year_first, year_last)
st.caption(
    f"Monthly goals for {month.year}. Counts are per month; won revenue in the currency of "
    "your opportunity amounts; SLA share as a fraction (0.85 = 85%). Clear a cell to remove "
    "that target. Saving writes a new version of the database; the dashboard reloads it."
)
version = ss.get("rv_targets_version", 0)
count_col = {"min_value": 0.0, "step": 1.0, "format": "%.0f"}
edited = st.data_editor(
    grid_df,
    key=f"rv_targets_editor_{version}",
    hide_index=True,
    width="stretch",
    num_rows="fixed",
    height=(len(grid_df) + 1) * 35 + 3,
    disabled=["month"],
    column_config={
        "month": st.column_config.TextColumn("Month"),
        **{
            g.metric: st.column_config.NumberColumn(g.label, **count_col)
            for g in rv.GOALS
            if g.unit == "count"
        },
        "won_revenue": st.column_config.NumberColumn(
            "Won revenue", min_value=0.0, step=1000.0, format="%.0f"
        ),
        "pct_contacted_in_sla": st.column_config.NumberColumn(
            "SLA share (0-1)", min_value=0.0, max_value=1.0, step=0.01, format="%.2f"
        ),
    },
)
pending = rv.pending_target_changes(grid_df, edited)
if not state.writes_enabled():
    st.caption(state.READ_ONLY_NOTE)
s1, s2 = st.columns([1, 4])
if s1.button(
    f"Save {len(pending)} change{'s' if len(pending) != 1 else ''}",
    key="rv_targets_save",
    type="primary",
    disabled=pending.empty or not state.writes_enabled(),
):
    try:
        result = rv.set_targets(config.db_path(), pending)
    except (ValueError, store.SchemaError, FileNotFoundError) as exc:
        ss["rv_targets_msg"] = ("error", f"Targets not saved: {exc}")
    else:
        ss["rv_targets_msg"] = (
            "success",
            f"Saved: {result.upserted} target(s) set, {result.deleted} removed.",
        )
        ss["rv_targets_version"] = version + 1
    st.rerun()
if "rv_targets_msg" in ss:
    kind, text = ss.pop("rv_targets_msg")
    (st.success if kind == "success" else st.error)(text)

with st.expander("Import targets from a CSV file"):
    st.markdown(
        "Columns `month` (first day of the month, `YYYY-MM-DD`), `metric` (one of "
        + ", ".join(f"`{g.metric}`" for g in rv.GOALS)
        + ") and `value`. A row replaces the target with the same month and metric."
    )
    long = rv.targets_long(grid_df)
    st.download_button(
        "Download these targets as CSV (a template)",
        data=long.to_csv(index=False).encode("utf-8"),
        file_name=f"targets_{month.year}.csv",
        mime="text/csv",
        key="rv_targets_template",
        on_click="ignore",
    )
    upload = st.file_uploader("Targets CSV", type=["csv"], key="rv_targets_csv")
    if upload is not None and st.button("Import", key="rv_targets_import"):
        with tempfile.TemporaryDirectory(prefix="hh-targets-") as tmp:
            path = Path(tmp) / "targets.csv"
            path.write_bytes(upload.getvalue())
            try:
                res = ingest.import_files(config.db_path(), [path], table="targets")
            except (ingest.UnusableInput, store.SchemaError, FileNotFoundError) as exc:
                ss["rv_import_result"] = (str(exc), None)
            else:
                accepted = sum(res.accepted.values())
                ss["rv_import_result"] = (
                    f"{accepted:,} target row(s) imported, {len(res.refused):,} refused.",
                    res.refused[["row_number", "column", "reason"]],
                )
                ss["rv_targets_version"] = version + 1
        st.rerun()
    if "rv_import_result" in ss:
        text, refused = ss.pop("rv_import_result")
        if refused is None:
            st.error(text)
        else:
            (st.warning if len(refused) else st.success)(text)
            if len(refused):
                show_table(refused, "rv_targets_refused", "targets_refused.csv")
