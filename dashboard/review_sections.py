"""Monthly review sections: the headline (tiles, goals, the month's funnel and SLA) drawn
from the month's :class:`analysis.lifecycle.review.ReviewHead`, then each secondary section
from its own cached call, so a month change shows the headline before the rest is computed.

:func:`month_calls` lists the calls the page makes for a month with given controls;
:mod:`dashboard.warm` replays them for the months a user is likely to pick next.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analysis.lifecycle import periods
from analysis.lifecycle import review as rv
from dashboard import display, state, urlstate
from dashboard import periods_ui as ui
from dashboard import report as rp
from dashboard.charts import review as charts
from dashboard.tables import HIGH_95, LOW_95, show_table

ss = st.session_state
STATE_BADGE = {
    "fired": ":red-badge[:material/error: problem]",
    "ok": ":green-badge[:material/check_circle: healthy]",
    "unassessed": ":gray-badge[:material/help: not assessed]",
}
WINDOWS = [3, 6, 12]
DEFAULT_TRAILING = 6
PLAN_CHOICE = "rv_plan_choice"
"""Session key of the plan's goal per month and its window, kept while the plan's tab is
closed (its widgets are not drawn then, so their own keys are dropped)."""


def page_settings(
    sla_floor: float | None = None,
    window: int = 30,
    shortfall: int = 90,
    beyond_noise: bool = True,
) -> rv.ReviewSettings:
    """The thresholds the page's controls give (defaults: the controls' defaults)."""
    return rv.ReviewSettings(
        sla_min_compliance=None if sla_floor is None else sla_floor / 100,
        conversion_window_days=float(window),
        mql_shortfall=1 - shortfall / 100,
        beyond_noise=beyond_noise,
    )


def thresholds_text(
    sla_floor: float | None, window: int, shortfall: int, beyond_noise: bool
) -> str:
    """The check thresholds in one line, shown while their controls are folded away."""
    floor = "the month's target" if sla_floor is None else f"{sla_floor:g}%"
    noise = "beyond noise only" if beyond_noise else "any shortfall"
    return (
        f"SLA floor {floor} · conversion window {window} days · too few MQLs below "
        f"{shortfall}% of target · {noise}"
    )


def month_calls(
    month: date, settings: rv.ReviewSettings, basis: str, mqls: int | None
) -> list[tuple[Callable[..., Any], tuple]]:
    """The cached calls the page makes for a month after its headline, with their
    arguments: the page makes exactly these, and :mod:`dashboard.warm` replays them for
    the months a user is likely to pick next. ``mqls`` is the headline's MQL volume."""
    f, month_iso = rv.month_filters(month), month.strftime("%Y-%m")
    return [
        (periods.period_of, (f,)),
        (periods.compare_funnel, (f, basis)),
        (rv.checks_of, (month_iso, settings, mqls)),
        (rv.what_changed, (month_iso, settings)),
        (rv.pipeline_status, (month_iso,)),
        (rv.reason_changes, (month_iso, settings.alpha)),
        (rv.plan, (month_iso, None, DEFAULT_TRAILING, settings)),
    ]


class MonthCalls:
    """:func:`month_calls` made through the data cache when first read (``calls[fn]``), so
    the page computes each section just before it draws it, in drawing order."""

    def __init__(
        self, month: date, settings: rv.ReviewSettings, basis: str, mqls: int | None
    ) -> None:
        self._args = dict(month_calls(month, settings, basis, mqls))
        self._got: dict[Callable[..., Any], Any] = {}

    def __getitem__(self, fn: Callable[..., Any]) -> Any:
        if fn not in self._got:
            self._got[fn] = state.call(fn, *self._args[fn])
        return self._got[fn]


def head_of(month: date, basis: str) -> rv.ReviewHead:
    """The month's headline from the cached figures of every month (no query of its own)."""
    figs = state.call(rv.month_figures)
    targets = state.call(rv.load_targets, month, month)
    return rv.review_head(figs, month, targets, basis)


def tiles(review: rv.ReviewHead, currency: str) -> Any:
    """The four summary tiles; returns the place of the first one (the health problems,
    filled by :func:`health_tile` once the checks are computed)."""
    goals = review.goals.set_index("metric")
    sla_goal = goals.loc["pct_contacted_in_sla"]
    deals = review.deals.iloc[0]
    cols = st.columns(4)
    first = cols[0].empty()
    avail = review.availability
    mql_target = goals.loc["mqls", "target"]
    cols[1].metric(
        "MQLs entered this month",
        rp.fmt_count(goals.loc["mqls", "actual"])
        if goals.loc["mqls", "measurable"]
        else display.card_value(rp.NOT_MEASURABLE),
        delta=None
        if np.isnan(mql_target)
        else f"{goals.loc['mqls', 'pct_of_target']:.0%} of target",
        delta_color="off",
        delta_arrow="off",
        help="Leads that first became MQL this month."
        if goals.loc["mqls", "measurable"]
        else f"Not measurable: {goals.loc['mqls', 'reason']}",
    )
    cols[2].metric(
        "Contacted within SLA",
        rp.fmt_share(sla_goal["actual"])
        if avail.sla.measurable
        else display.card_value(rp.NOT_MEASURABLE),
        help=f"{rp.fmt_k_of_n(sla_goal['k'], sla_goal['n'])} decided handoffs answered within "
        "their tier's target."
        if avail.sla.measurable
        else f"Not measurable: {avail.sla.reason}",
    )
    cols[3].metric(
        (f"Won revenue ({currency})" if currency else "Won revenue")
        if avail.revenue.measurable
        else "Deals won",
        rp.fmt_money(deals["won_revenue"])
        if avail.revenue.measurable
        else rp.fmt_count(deals["won"]),
        help=f"{int(deals['won'])} deals won this month (leads that reached the customer stage)."
        if avail.revenue.measurable
        else f"Won revenue not measurable: {avail.revenue.reason}",
    )
    for reason in dict.fromkeys(avail.reasons().values()):
        st.caption(f"Not measurable: {reason}")
    return first


def health_tile(place: Any, checks: tuple[rv.HealthCheck, ...]) -> None:
    """The "Health problems" tile: checks that fired of those this history can assess."""
    value, note = rp.health_text(checks)
    place.metric("Health problems", display.card_value(value), help=note)


def goals_section(review: rv.ReviewHead, basis: str, got: MonthCalls) -> None:
    """Goals vs actuals, the month's funnel against earlier months, response to handoffs."""
    month, avail = review.month, review.availability
    month_iso = month.strftime("%Y-%m")
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
    month_period, compare = got[periods.period_of], got[periods.compare_funnel]
    if month_period is not None:
        if avail.dates.measurable:  # else the page's first banner says the month is all of it
            st.caption(ui.maturity_text(month_period)[0])
        shown = [
            s for s in rv.STAGE_LABELS if review.funnel.set_index("stage").loc[s, "measurable"]
        ]
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


def checks_section(checks: tuple[rv.HealthCheck, ...]) -> None:
    """The four health checks, each with its finding, evidence and rule."""
    st.header("Health checks")
    grid = st.columns(2)
    for i, check in enumerate(checks):
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


def changes_section(ch: pd.DataFrame, settings: rv.ReviewSettings, month_iso: str) -> None:
    """What changed since last month, with the changes beyond noise called out."""
    st.header("What changed since last month")
    cells = pd.DataFrame(
        [rp.change_cells(c) for c in ch.itertuples(index=False)],
        columns=["previous", "this_month", "change", "p_value", "verdict"],
    )
    show_table(
        pd.DataFrame({"rate": ch["label"].to_numpy()}).join(cells),
        "rv_changes",
        f"changes_{month_iso}.csv",
        rate=st.column_config.TextColumn("Rate", width="large"),
        previous="Previous month",
        this_month="This month",
        change="Change",
        p_value="p-value",
        verdict=st.column_config.TextColumn("Verdict", width="medium"),
    )
    for note in rp.not_measurable_notes(ch):
        st.caption(f"Not measurable: {note}")
    significant = ch[ch["significant"]]
    if len(significant):
        st.markdown(
            "**Changed beyond noise:** "
            + "; ".join(
                f"{c.label} {rp.fmt_share(c.prev_rate)} → {rp.fmt_share(c.rate)} "
                f"(p = {rp.fmt_p(c.p_value)})"
                for c in significant.itertuples(index=False)
            )
        )
    elif rp.none_comparable(ch):
        st.caption(rp.NONE_COMPARABLE)
    else:
        st.caption(
            "No rate moved beyond noise (pooled two-proportion test, p < "
            f"{settings.alpha:g}). Cohort rates are compared only once both months' cohorts have "
            f"had {settings.conversion_window_days:g} days to convert."
        )


def outcomes_section(
    review: rv.ReviewHead, status: pd.DataFrame, rs: pd.DataFrame, currency: str
) -> None:
    """Where the month's MQLs are now, deals closed, rejection reasons against last month."""
    avail, deals = review.availability, review.deals.iloc[0]
    month_iso = review.month.strftime("%Y-%m")
    st.header("Outcomes")
    st.subheader("Where this month's MQLs are now")
    if not avail.handoffs.measurable:
        st.info(f"Not measurable: {avail.handoffs.reason}")
    else:
        status, notes = rv.recorded_statuses(status, avail)
        o1, o2 = st.columns([4, 5])
        with o1:
            show_table(
                status[["label", "leads", "share"]].assign(
                    share=status["share"].map(display.fmt_share)
                ),
                "rv_status",
                f"mql_status_{month_iso}.csv",
                label="Status now",
                leads=st.column_config.NumberColumn("MQLs", format="localized"),
                share="Share",
            )
        with o2:
            st.plotly_chart(charts.status_chart(status), key="rv_status_chart")
        for note in notes:
            st.caption(note)
    st.subheader("Deals closed this month")
    d = st.columns(5)
    nm = display.card_value(rp.NOT_MEASURABLE)
    d[0].metric("Won", rp.fmt_count(deals["won"]))
    d[1].metric(
        f"Won revenue ({currency})" if currency else "Won revenue",
        rp.fmt_money(deals["won_revenue"]) if avail.revenue.measurable else nm,
        help=None if avail.revenue.measurable else avail.revenue.reason,
    )
    d[2].metric(
        "Lost",
        rp.fmt_count(deals["lost"]) if avail.win_rate.measurable else nm,
        help=None if avail.win_rate.measurable else avail.win_rate.reason,
    )
    d[3].metric(
        "Win rate",
        rp.fmt_share(deals["win_rate"]) if avail.win_rate.measurable else nm,
        help=f"95% interval {rp.fmt_share(deals['win_low'])} – {rp.fmt_share(deals['win_high'])}"
        if avail.win_rate.measurable
        else avail.win_rate.reason,
    )
    d[4].metric(
        # short enough for a fifth of the page with its help icon ("Average won amount (USD)"
        # was cut to "Average won amount (U…" at 1400 px)
        f"Avg won deal ({currency})" if currency else "Avg won deal",
        rp.fmt_money(deals["avg_won_amount"]) if avail.revenue.measurable else nm,
        help="Average amount of the deals won this month that have an amount (won revenue ÷ "
        "those deals)."
        if avail.revenue.measurable
        else avail.revenue.reason,
    )
    st.subheader("Why sales turned MQLs down")
    if not avail.rejections.measurable:  # the reason, not an empty table and chart
        st.info(f"Not measurable: {avail.rejections.reason}")
        return
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
    moved = rs[rs["significant"]]
    if len(moved):
        st.markdown(
            "**Moved beyond noise:** "
            + "; ".join(
                f"{display.label(x.reason)} {rp.fmt_share(x.prev_share)} → {rp.fmt_share(x.share)}"
                for x in moved.itertuples(index=False)
            )
        )
    st.plotly_chart(charts.reasons_chart(rs), key="rv_reasons_chart")


def plan_choice(month_iso: str) -> tuple[float | None, int]:
    """The plan's (revenue goal, months of rates) last set for ``month_iso`` on the page.

    The goal is None while it is the default (the month's target or trailing average);
    the window is the one last chosen for any month (default :data:`DEFAULT_TRAILING`).
    """
    chosen = ss.get(PLAN_CHOICE, {})
    return chosen.get(month_iso), chosen.get("trailing", DEFAULT_TRAILING)


def planner_section(
    month_iso: str, label: str, settings: rv.ReviewSettings, currency: str
) -> tuple[float | None, int]:
    """The reverse-funnel plan with its goal and window controls; returns (goal, months)
    as :func:`plan_choice` gives them from now on."""
    base: rv.Plan = state.call(rv.plan, month_iso, None, DEFAULT_TRAILING, settings)
    kept_goal, kept_trailing = plan_choice(month_iso)
    st.header("Reverse-funnel plan")
    st.caption(
        "Revenue goal ÷ average won amount ÷ win rate ÷ SQL→opportunity ÷ MQL→SQL ÷ lead→MQL "
        "= the volumes needed per month. The range divides by the rates' 95% interval bounds."
    )
    p1, p2 = st.columns(2)
    default_goal = float(base.revenue_goal)
    goal = p1.number_input(
        "Revenue goal per month",
        min_value=0.0,
        value=default_goal if kept_goal is None else kept_goal,
        step=10_000.0,
        format="%.0f",
        key=f"rv_goal_{month_iso}",
        help=f"Default: {base.goal_source} for {label}.",
    )
    urlstate.restore("rv_trailing", "trailing", parse=int, options=WINDOWS)
    trailing = p2.selectbox(
        "Rates measured over the last",
        WINDOWS,
        index=None if "rv_trailing" in ss else WINDOWS.index(kept_trailing),
        format_func=lambda m: f"{m} months",
        key="rv_trailing",
    )
    urlstate.mirror("rv_trailing", "trailing")
    revenue_goal = None if goal == default_goal else float(goal)
    ss[PLAN_CHOICE] = {**ss.get(PLAN_CHOICE, {}), month_iso: revenue_goal, "trailing": trailing}
    plan: rv.Plan = state.call(rv.plan, month_iso, revenue_goal, trailing, settings)
    if plan.reason:
        st.info(f"Not measurable: {plan.reason}")
    st.markdown(
        f"Goal **{rp.fmt_money(plan.revenue_goal, currency)}** a month at an average won "
        f"amount of **{rp.fmt_money(plan.avg_won_amount, currency)}** ({plan.won_deals:,} won "
        f"deals). {plan.note}"
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
    return revenue_goal, trailing
