"""Home: how did last month go, better or worse, and why — with a link to the page behind each.

The last complete month's headline numbers against their target and against the month before
(at the same age, with the verdict of a significance test), the four handoff health checks,
what moved beyond noise, and what this history cannot measure or should be cleaned. The table
inventory lives under Data.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.lifecycle import measurable, periods
from analysis.lifecycle import review as rv
from analysis.store import settings as company_settings
from dashboard import display, state
from dashboard import periods_ui as ui

REVIEW_PAGE = "app_pages/review.py"
# The page that shows the evidence behind each health check (a comment: Streamlit prints a
# bare string).
CHECK_PAGE = {
    "sla": ("app_pages/sla.py", "SLA & response", ":material/timer:"),
    "not_sales_ready": ("app_pages/rejections.py", "Rejections", ":material/block:"),
    "too_few_mqls": ("app_pages/funnel.py", "Funnel", ":material/filter_alt:"),
    "too_many_mqls": ("app_pages/sla.py", "SLA & response", ":material/timer:"),
}
BADGE = {
    "fired": ":red-badge[:material/error: problem]",
    "ok": ":green-badge[:material/check_circle: healthy]",
    "unassessed": ":gray-badge[:material/help: not assessed]",
}
STAGE_GOALS = {"leads": "lead", "mqls": "mql", "sqls": "sql", "opportunities": "opportunity"}
# The Monthly review page's default thresholds, so both pages share one cached review.
SETTINGS = rv.ReviewSettings(
    sla_min_compliance=None, conversion_window_days=30.0, mql_shortfall=1 - 90 / 100
)

st.title("Handoff Health")
state.require_database()
avail = state.call(measurable.availability)
if avail.funnel_start != "lead":
    st.info(
        f"The funnel starts at the **{avail.funnel_start}** stage: this history has no "
        "earlier stages, so numbers about them are not measurable."
    )
month = state.call(rv.default_month)
if month is None or not avail.dates.measurable:
    st.info(
        "There is no month to review: "
        + (
            f"not measurable: {avail.dates.reason}"
            if not avail.dates.measurable
            else "the database has no leads yet. Import files on the Data page or with "
            "`handoff import`."
        )
    )
    st.page_link("app_pages/funnel.py", label="Open the funnel", icon=":material/filter_alt:")
    st.page_link("app_pages/data.py", label="Open Data", icon=":material/database:")
    st.stop()

month_iso = month.strftime("%Y-%m")
currency = state.call(company_settings.load).currency
review: rv.Review = state.call(rv.build_review, month_iso, SETTINGS, None, 6, "entered")
period = state.call(periods.period_of, rv.month_filters(month))
compare = state.call(periods.compare_funnel, rv.month_filters(month), "entered")
previous = rv.month_label(rv.add_months(month, -1))
short_previous = f"{rv.add_months(month, -1):%b %Y}"
st.caption(
    f"{review.label}, the last complete month (data up to {review.as_of:%d %b %Y %H:%M} UTC), "
    f"against its targets and against {previous}. Counts are leads that **entered** each stage "
    "in the month; comparisons with the month before are made at the same age and called up "
    "or down only beyond noise (p < 0.05)."
)

# ------------------------------------------------------------------ headline numbers
st.subheader(f"{review.label} at a glance")
goals = review.goals.set_index("metric")
counts = compare[compare["measure"] == "count"].set_index("stage")


def home_cards(goals: pd.DataFrame) -> list[str]:
    """The goals Home shows as cards: the first three volumes this history can measure
    (leads, MQLs, SQLs on a full funnel; opportunities and deals won on an opportunity-only
    export, not three "not measurable" cards), won revenue (deals won when it has no
    amounts and deals won is not a card yet) and the SLA share."""
    volumes = ["leads", "mqls", "sqls", "opportunities", "deals_won"]
    cards = [m for m in volumes if goals.loc[m, "measurable"]][:3] or volumes[:3]
    if goals.loc["won_revenue", "measurable"]:
        cards.append("won_revenue")
    elif "deals_won" not in cards:
        cards.append("deals_won")
    return [*cards, "pct_contacted_in_sla"]


def goal_card(col: st.delta_generator.DeltaGenerator, metric: str) -> None:
    """One headline number: the value, the change vs last month, the share of target."""
    g = goals.loc[metric]
    if not g["measurable"]:
        col.metric(g["label"], display.card_value(display.NOT_MEASURABLE), help=g["reason"])
        return
    # money: the currency goes in the label so the amount fits the card
    value = display.fmt_money(g["actual"]) if g["unit"] == "money" else None
    if g["unit"] == "share":
        value = display.fmt_share(g["actual"])
    value = value or display.fmt_count(g["actual"])
    stage = STAGE_GOALS.get(metric)
    if stage is not None and stage in counts.index:
        row = counts.loc[stage]
        delta, color = ui.count_delta(row, short_previous)
        verdict = ui.count_verdict(row, short_previous)
    elif g["unit"] == "share" and not pd.isna(g["previous_month"]):
        delta = f"{display.fmt_points(g['actual'] - g['previous_month'])} vs {short_previous}"
        color, verdict = "off", "change not tested"
    elif not pd.isna(g["previous_month"]) and g["previous_month"]:
        delta = f"{g['actual'] / g['previous_month'] - 1:+.1%} vs {short_previous}"
        color, verdict = "off", "change not tested"
    else:
        delta, color, verdict = None, "off", ""
    name = f"{g['label']} ({currency})" if g["unit"] == "money" and currency else g["label"]
    col.metric(name, value, delta=delta, delta_color=color)
    if verdict:
        col.caption(verdict)
    if pd.isna(g["target"]):
        col.caption("no target set")
    else:
        reached = g["pct_of_target"] >= 1
        target = {"share": display.fmt_share, "money": lambda v: display.fmt_money(v, currency)}
        col.caption(
            f"{'✓ on target' if reached else '✗ below target'}: "
            f"{display.fmt_share(g['pct_of_target'])} of "
            f"{target.get(g['unit'], display.fmt_count)(g['target'])} target"
        )


cards = home_cards(goals)
for col, metric in zip(st.columns(len(cards)), cards, strict=True):
    goal_card(col, metric)
mql = compare[(compare["stage"] == "mql") & (compare["measure"] == "rate")]
short_last_year = f"{rv.add_months(month, -12):%b %Y}"
if len(mql) and avail.handoffs.measurable:  # no MQL -> SQL line when the funnel starts later
    st.caption(ui.rate_line(mql.iloc[0], "mql", short_previous, short_last_year))
for note in ui.coverage_notes(compare, short_previous, short_last_year):
    st.caption(note)
st.page_link(
    REVIEW_PAGE,
    label=f"Why? Open the monthly review of {review.label}",
    icon=":material/calendar_month:",
    query_params={"month": month_iso},
)

# ------------------------------------------------------------------ why: checks and changes
left, right = st.columns(2)
with left:
    st.subheader("Health checks")
    for check in review.checks:
        status = "fired" if check.fired else ("ok" if check.assessed else "unassessed")
        with st.container(border=True):
            st.markdown(f"**{check.name}** &nbsp; {BADGE[status]}")
            st.markdown(check.finding)
            page, title, icon = CHECK_PAGE.get(check.key, (REVIEW_PAGE, "Monthly review", None))
            st.page_link(page, label=f"See it on {title}", icon=icon)
with right:
    st.subheader("What moved beyond noise")
    moved = review.changes[review.changes["significant"]]
    reasons = review.reasons[review.reasons["significant"]]
    if moved.empty:
        # a rejection reason's share can move while no funnel rate does: say which is which
        st.markdown(
            f"No {'funnel ' if len(reasons) else ''}rate moved beyond noise between {previous} "
            f"and {review.label} (pooled two-proportion test, p < 0.05)"
            + ("; these reasons' shares of rejections did:" if len(reasons) else ".")
        )
    for c in moved.itertuples(index=False):
        arrow = "▲ up" if c.change > 0 else "▼ down"
        st.markdown(
            f"- **{c.label}** {arrow}: {display.fmt_share(c.prev_rate)} → "
            f"{display.fmt_share(c.rate)} (p {display.fmt_p(c.p_value)})"
        )
    for x in reasons.itertuples(index=False):
        st.markdown(
            f"- Rejections for **{display.label(x.reason).lower()}**: "
            f"{display.fmt_share(x.prev_share)} → {display.fmt_share(x.share)} of rejections "
            f"(p {display.fmt_p(x.p_value)})"
        )
    st.page_link(
        REVIEW_PAGE,
        label="All changes, with their tests",
        icon=":material/calendar_month:",
        query_params={"month": month_iso},
    )

    st.subheader("Data health")
    gaps = list(dict.fromkeys(avail.reasons().values()))
    if gaps:
        st.markdown(
            "Numbers that need data this history lacks are shown as *not measurable*, never 0:"
        )
        for reason in gaps:
            st.markdown(f"- Not measurable: {reason}")
    else:
        st.markdown("✓ Every number is measurable on this history.")
    st.page_link(
        "app_pages/data.py",
        label="Duplicates, missing fields, labels to standardise, refused rows",
        icon=":material/database:",
    )
