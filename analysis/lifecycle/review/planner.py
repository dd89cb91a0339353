"""The reverse-funnel planner: what a revenue goal needs per month at recent rates."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from analysis import stats
from analysis.definitions import data_as_of
from analysis.lifecycle import funnel, measurable
from analysis.lifecycle.deals import monthly_deal_counts, monthly_frame
from analysis.lifecycle.review import monthly
from analysis.lifecycle.review.common import (
    DEFAULT_SETTINGS,
    ReviewSettings,
    add_months,
    month_filters,
    parse_month,
)
from analysis.lifecycle.review.targets import load_targets, target_value

# --------------------------------------------------------------------------------------
# Reverse-funnel planner
# --------------------------------------------------------------------------------------

PLAN_STEPS: tuple[tuple[str, str], ...] = (
    ("win_rate", "Win rate (deals closed)"),
    ("sql_to_opportunity", "SQL → opportunity"),
    ("mql_to_sql", "MQL → SQL"),
    ("lead_to_mql", "Lead → MQL"),
)
"""The planner's rates, from the deal back to the lead."""

PLAN_STAGES: tuple[tuple[str, str], ...] = (
    ("deals_won", "Deals won"),
    ("opportunities", "Opportunities"),
    ("sqls", "SQLs"),
    ("mqls", "MQLs"),
    ("leads", "Leads"),
)
"""What the planner says is needed per month, from the deal back to the lead."""


def reverse_funnel(
    revenue_goal: float,
    avg_won_amount: float,
    rates: Mapping[str, tuple[float, float, float]],
) -> pd.DataFrame:
    """Volumes needed per month to reach ``revenue_goal`` at the given rates.

    ``deals = goal / avg_won_amount``, ``opportunities = deals / win_rate``,
    ``sqls = opportunities / sql_to_opportunity``, ``mqls = sqls / mql_to_sql``,
    ``leads = mqls / lead_to_mql``. The range uses each rate's interval: ``low`` (fewest
    needed) divides by every rate's high bound, ``high`` by every low bound. The average
    amount is taken as exact.

    Parameters
    ----------
    revenue_goal : float
        Won revenue to reach in a month (the currency of ``opportunities.amount``).
    avg_won_amount : float
        Average amount of a won deal.
    rates : mapping
        For each key of :data:`PLAN_STEPS`: ``(rate, low, high)`` as fractions.

    Returns
    -------
    DataFrame
        One row per stage of :data:`PLAN_STAGES`: ``stage``, ``label``, ``needed``,
        ``low``, ``high`` (floats; ``inf`` when a rate on the way is 0, NaN when a rate
        or the amount is unknown).
    """
    if revenue_goal < 0 or not math.isfinite(revenue_goal):
        raise ValueError(f"revenue_goal must be a finite amount >= 0, got {revenue_goal}")
    missing = [k for k, _ in PLAN_STEPS if k not in rates]
    if missing:
        raise ValueError(f"rates needs {', '.join(k for k, _ in PLAN_STEPS)}; missing {missing}")

    def div(a: float, b: float) -> float:
        if a is None or b is None or math.isnan(a) or math.isnan(b):
            return float("nan")
        if b == 0:
            return float("inf") if a > 0 else 0.0
        return a / b

    deals = div(revenue_goal, avg_won_amount)
    needed, low, high = [deals], [deals], [deals]
    for key, _ in PLAN_STEPS:
        rate, r_low, r_high = rates[key]
        needed.append(div(needed[-1], rate))
        low.append(div(low[-1], r_high))
        high.append(div(high[-1], r_low))
    return pd.DataFrame(
        {
            "stage": [s for s, _ in PLAN_STAGES],
            "label": [label for _, label in PLAN_STAGES],
            "needed": needed,
            "low": low,
            "high": high,
        }
    )


@dataclass(frozen=True)
class Plan:
    """The reverse-funnel plan: what the revenue goal needs per month at recent rates.

    Attributes
    ----------
    revenue_goal : float
        Won revenue per month the plan aims at.
    goal_source : str
        Where the goal came from (``input``, ``target`` or ``trailing average``).
    window_first, window_last : date
        First and last month (first days) of the trailing window the rates come from.
    months : int
        Length of the window in months.
    avg_won_amount : float
        Average amount of won deals closed in the window (NaN when none).
    won_deals : int
        Won deals with an amount closed in the window (the average's sample).
    rates : DataFrame
        ``step``, ``label``, ``k``, ``n``, ``rate``, ``low``, ``high`` (95% Wilson): the
        win rate of deals closed in the window, and the cohort conversions (leads that
        entered the first stage in the window, reached the next by the data's end).
    needed : DataFrame
        :func:`reverse_funnel` plus ``actual`` (the review month's volume: leads, MQLs,
        SQLs, opportunities entered and deals won), ``needed_whole`` (``needed`` rounded
        up to a whole lead or deal) and ``gap`` (actual - needed_whole; negative means
        short of plan).
    note : str
        How the window was chosen, in words.
    reason : str
        Why the plan cannot be computed (no deal amounts), else "".
    """

    revenue_goal: float
    goal_source: str
    window_first: date
    window_last: date
    months: int
    avg_won_amount: float
    won_deals: int
    rates: pd.DataFrame
    needed: pd.DataFrame
    note: str
    reason: str = ""


def planner_window(
    month: date, months: int, as_of: datetime, maturity_days: float
) -> tuple[date, date]:
    """(first, last) month of the trailing window for the planner's rates.

    The window is ``months`` long and ends at the review month, or earlier at the latest
    month whose cohorts have had ``maturity_days`` since the month ended by ``as_of``.
    """
    if months < 1:
        raise ValueError(f"the trailing window must be at least 1 month, got {months}")
    last = parse_month(month)
    while True:
        end = datetime.combine(add_months(last, 1), datetime.min.time())
        if end + timedelta(days=maturity_days) <= as_of or last.year < 1900:
            break
        last = add_months(last, -1)
    return add_months(last, -(months - 1)), last


def plan_rates(
    con: duckdb.DuckDBPyConnection, deals: pd.DataFrame, window: object, as_of: datetime
) -> pd.DataFrame:
    """The planner's rates over the window: win rate of closed deals and cohort steps.

    ``deals`` is :func:`closed_deals` of the window's months; ``window`` its Filters.
    Columns ``step``, ``label``, ``k``, ``n``, ``rate`` (NaN when n = 0), ``low``, ``high``.
    """
    won, closed = int(deals["won"].sum()), int((deals["won"] + deals["lost"]).sum())
    steps = funnel.cohort_step_conversions(
        con, window, steps=(("sql", "opportunity"), ("mql", "sql"), ("lead", "mql")), as_of=as_of
    )
    kn = {"win_rate": (won, closed)}
    for r in steps.itertuples(index=False):
        kn[f"{r.from_stage}_to_{r.to_stage}"] = (int(r.k), int(r.n))
    rows = []
    for key, label in PLAN_STEPS:
        k, n = kn.get(key, (0, 0))
        low, high = stats.wilson_interval(k, n)
        rate = k / n if n else float("nan")
        rows.append({"step": key, "label": label, "k": k, "n": n, "rate": rate, "low": low,
                     "high": high})  # fmt: skip
    return pd.DataFrame(rows)


def _with_actuals(
    con: duckdb.DuckDBPyConnection, needed: pd.DataFrame, month: date, this_deals: pd.DataFrame
) -> pd.DataFrame:
    """``needed`` plus ``actual`` (the month's volumes and deals won) and ``needed_whole``.

    ``this_deals`` is :func:`closed_deals` of the month; the volumes are the headline's
    (:func:`analysis.lifecycle.review.monthly.month_volumes`).
    """
    needed = needed.copy()
    v = monthly.month_volumes(con, month)
    actual = {
        "deals_won": int(this_deals["won"].iloc[0]),
        "opportunities": v["opportunity"],
        "sqls": v["sql"],
        "mqls": v["mql"],
        "leads": v["lead"],
    }
    needed["actual"] = needed["stage"].map(actual).astype("float64")
    whole = needed["needed"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        needed["needed_whole"] = np.where(np.isfinite(whole), np.ceil(whole - 1e-9), whole)
    return needed


def plan(
    con: duckdb.DuckDBPyConnection,
    month: date | str,
    revenue_goal: float | None = None,
    trailing_months: int = 6,
    settings: ReviewSettings = DEFAULT_SETTINGS,
    as_of: datetime | None = None,
) -> Plan:
    """The reverse-funnel plan for the review month.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection (or cursor) on a Handoff Health database.
    month : date or ``YYYY-MM``
        The review month: its actual volumes are compared with what the plan needs.
    revenue_goal : float, optional
        Won revenue to reach per month. None: the month's ``won_revenue`` target, else the
        average monthly won revenue of the trailing window.
    trailing_months : int
        Months the rates are measured over (see :func:`planner_window`).
    settings : ReviewSettings
        ``planner_maturity_days`` decides where the window ends.
    as_of : datetime, optional
        "Now" of the analysis (naive UTC); default the latest recorded fact.

    Returns
    -------
    Plan
    """
    month = parse_month(month)
    as_of = as_of or data_as_of(con)
    if as_of is None:
        raise ValueError("the database holds no history yet: nothing to plan from")
    first, last = planner_window(month, trailing_months, as_of, settings.planner_maturity_days)
    counts = monthly_deal_counts(con, first, month, as_of)
    deals = monthly_frame(counts, first, last)
    won_amount = int(deals["won_with_amount"].sum())
    revenue = float(deals["won_revenue"].sum())
    avg_amount = revenue / won_amount if won_amount else float("nan")
    rates = plan_rates(con, deals, month_filters(first, last), as_of)
    if revenue_goal is not None:
        goal, source = float(revenue_goal), "input"
    else:
        target = target_value(load_targets(con, month, month), month, "won_revenue")
        if target is not None:
            goal, source = target, "target"
        else:
            goal, source = revenue / trailing_months, "trailing average"
    needed = reverse_funnel(
        goal,
        avg_amount,
        {r.step: (r.rate, r.low, r.high) for r in rates.itertuples(index=False)},
    )
    needed = _with_actuals(con, needed, month, monthly_frame(counts, month, month))
    needed["gap"] = needed["actual"] - needed["needed_whole"]
    span = f"{first:%b %Y}–{last:%b %Y}" if first != last else f"{first:%b %Y}"
    note = f"Rates from {span} ({trailing_months} months)"
    if last < month:
        note += (
            f"; the window ends before {month:%b %Y} because cohorts younger than "
            f"{settings.planner_maturity_days:g} days are still converting"
        )
    note += "."
    revenue_ok = measurable.availability(con).revenue
    if not revenue_ok.measurable:
        note = f"Not measurable: {revenue_ok.reason} {note}"
    return Plan(
        revenue_goal=goal,
        goal_source=source,
        window_first=first,
        window_last=last,
        months=trailing_months,
        avg_won_amount=avg_amount,
        won_deals=won_amount,
        rates=rates,
        needed=needed,
        note=note,
        reason=revenue_ok.reason,
    )
