"""Response to handoffs: response times, SLA compliance, the breach queue, speed to lead.

Query intuition
---------------
A *handoff* is one ``mql`` stage change: the first is the handoff DESIGN.md means, and a
recycled lead that becomes an MQL again is handed off again, so each later ``mql``
change is a new handoff with its own clock (``handoff_no`` 1, 2, ...). Leads whose
history skips ``mql`` (sales took them straight to ``sql`` or beyond) were never handed
over by marketing and have no handoff here.

One query builds the per-handoff relation inside DuckDB:

1. handoffs: ``mql`` changes up to ``as_of``, numbered per lead with a window function;
   ``next_handoff_at`` is the lead's following ``mql`` change (LEAD over the lead);
2. one join of the handoffs to the lead's later events (sales activities; dispositions
   and stage changes to ``sql`` ... ``customer``, ``disqualified`` or ``nurture``; demo
   requests), folded per handoff with filtered aggregates: the first sales activity (any
   rep) at or after the handoff and before the next handoff; the first event that ended
   the handoff; whether a demo request came at or before the handoff;
3. status: *responded* when there is an activity; otherwise *closed* when a disposition,
   stage change or the next handoff ended it; otherwise *open*, with its clock running
   until ``as_of``;
4. the SLA tier: ``demo_request`` MQLs (a demo-request touchpoint at or before the
   handoff) get the demo-request policy, the rest the default policy (see
   :func:`policies`);
5. both clocks. Wall-clock minutes are the plain difference. Business minutes count only
   the owner rep's working hours on Monday to Friday in the rep's own IANA time zone:
   every instant is converted to local wall time with DuckDB's ICU ``timezone()`` (so DST
   is handled per instant), and a closed form ``B(t)`` gives the business minutes since a
   fixed Monday, ``B(t) = (weekdays before t's local date) * day_length + minutes of t's
   local day inside [work_start, work_end]`` (0 on weekends). Business minutes between
   two instants are ``B(end) - B(start)``: no per-day or per-minute loop, one expression
   per row. The count is exact for working windows that do not contain a DST switch
   (switches happen at night in every zone with DST in use).

Reps without a valid IANA time zone are measured in UTC; reps without working hours, or
with an end not after the start (night shifts are not supported), on 09:00-17:00. MQLs
without an owner are measured in UTC, 09:00-17:00.

Statuses: *responded* (clock stopped at the first activity), *closed* (no activity, but
a disposition, stage change or new handoff ended the handoff; clock stopped there),
*open* (no activity yet; clock running to ``as_of``). A handoff has *met* its target when
it was responded to within ``target_minutes`` on its tier's clock, and is *breached* when
its clock (response, close or wait so far) exceeds the target. Everything else is
*pending*: open or closed without a touch, but not past the target, so not yet decidable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd

from analysis import filters as flt
from analysis import stats
from analysis.definitions import is_complete_month
from analysis.lifecycle import journey
from analysis.lifecycle.funnel import by_names, resolve_as_of
from analysis.lifecycle.handoffs import (
    CLOCKS,
    DECIDED_OUTCOMES,
    DEFAULT_BUCKETS,
    DEFAULT_POLICIES,
    DEFAULT_WORK_END_MIN,
    DEFAULT_WORK_START_MIN,
    SLA_OUTCOMES,
    Policy,
    _clock_column,
    handoffs_cte,
    policies,
    rule_kind,
    sla_outcome_sql,
)
from analysis.store import STAGES

__all__ = [
    "CLOCKS",
    "DECIDED_OUTCOMES",
    "DEFAULT_BUCKETS",
    "DEFAULT_POLICIES",
    "DEFAULT_WORK_END_MIN",
    "DEFAULT_WORK_START_MIN",
    "SLA_OUTCOMES",
    "Policy",
    "attempts_before_disposition",
    "breach_count",
    "breach_queue",
    "bucket_labels",
    "handoffs_cte",
    "policies",
    "response_curve",
    "response_times",
    "rule_kind",
    "sla_compliance",
    "sla_outcome_sql",
    "speed_to_lead",
]


RESPONSE_COLUMNS = [
    "lead_id",
    "handoff_no",
    "handoff_at",
    "tier",
    "target_minutes",
    "business_hours",
    "status",
    "first_activity_at",
    "response_minutes",
    "response_business_minutes",
    "elapsed_minutes",
    "elapsed_business_minutes",
    "met",
    "breached",
    "sla_outcome",
    "owner_rep_id",
    "rep",
    "team",
    "source",
    "campaign",
]


def response_times(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    as_of: date | datetime | str | None = None,
) -> pd.DataFrame:
    """One row per handoff (``mql`` change) in the date range, with its response.

    The date range applies to the handoff time; ``as_of`` (default: the latest recorded
    fact) is "now": later handoffs and activities are ignored and open MQLs have waited
    until then.

    Returns
    -------
    DataFrame
        ``lead_id``, ``handoff_no`` (1 = first handoff, 2+ = recycled), ``handoff_at``
        (naive UTC), ``tier``, ``target_minutes``, ``business_hours`` (the target's
        clock), ``status`` (responded / closed / open), ``first_activity_at`` (NaT unless
        responded), ``response_minutes`` (float, wall-clock minutes from handoff to the
        first sales activity, NaN when not responded), ``response_business_minutes``
        (the same in the owner's business minutes), ``elapsed_minutes`` and
        ``elapsed_business_minutes`` (the clock so far: to the response, to the close,
        or to ``as_of`` for open MQLs), ``met`` and ``breached`` (bool, on the tier's
        clock; both False means pending), ``sla_outcome`` (:data:`SLA_OUTCOMES`),
        ``owner_rep_id``, ``rep``, ``team``,
        ``source``, ``campaign``. Sorted by handoff time.
    """
    as_of_dt = resolve_as_of(con, as_of)
    if as_of_dt is None:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in RESPONSE_COLUMNS})
    cte, params = handoffs_cte(filters, policies(con))
    sql = f"""
    WITH {cte}
    SELECT lead_id, handoff_no, handoff_at, tier, target_minutes, business_hours, status,
        CASE WHEN status = 'responded' THEN first_activity_at END AS first_activity_at,
        CASE WHEN status = 'responded' THEN wall_minutes END AS response_minutes,
        CASE WHEN status = 'responded' THEN business_minutes END AS response_business_minutes,
        wall_minutes AS elapsed_minutes, business_minutes AS elapsed_business_minutes,
        sla_outcome = 'met' AS met,
        sla_outcome IN ('breached', 'open_in_breach') AS breached,
        sla_outcome, owner_rep_id, rep, team, source, campaign
    FROM handoffs
    """
    df = flt.query_df(con, sql, {**params, "as_of": as_of_dt}, sort_by=("handoff_at", "lead_id"))
    return df[RESPONSE_COLUMNS]


CURVE_COLUMNS = [
    "tier",
    "target_minutes",
    "business_hours",
    "handoffs",
    "answered",
    "share",
    "minutes",
]


def response_curve(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    clock: str = "policy",
    points: int = 300,
    as_of: date | datetime | str | None = None,
) -> pd.DataFrame:
    """The response-time distribution per tier, as at most ``points`` quantiles.

    The same curve as the quantiles of :func:`response_times`' responses computed in
    pandas (``numpy.quantile(values, numpy.linspace(0, 1, min(points, len(values))))``,
    linear interpolation). Query intuition: one row per tier with its counts and its
    answered response times sorted (``list(m ORDER BY m)``); ``numpy.quantile`` then
    takes ``points`` evenly spaced shares of them, and a tier with fewer answered
    handoffs than ``points`` keeps its sorted responses themselves, which are exactly
    those quantiles. (DuckDB's ``quantile_cont`` with 300 shares spent ~55 ms of a year
    at 1M in its aggregate, sorting aside; numpy takes 0.3 ms from the sorted list.)

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection (or cursor) on a Handoff Health database.
    filters : Filters
        Dimension filters; the date range applies to the handoff time.
    clock : str
        ``policy`` (each tier's own clock), ``wall`` or ``business``.
    points : int
        Most quantiles per tier (at least 2).
    as_of : date or datetime, optional
        "Now"; default the latest recorded fact.

    Returns
    -------
    DataFrame
        One row per (tier, point), tiers by target then name: ``tier``,
        ``target_minutes``, ``business_hours``, ``handoffs`` (the tier's handoffs),
        ``answered`` (of them, responded), ``share`` (0-1, the quantile's probability)
        and ``minutes`` (response time on ``clock`` at that share). A tier with no
        answered handoff has one row with NaN ``share`` and ``minutes``.
    """
    if points < 2:
        raise ValueError(f"points must be at least 2, got {points!r}")
    col = _clock_column(clock)
    as_of_dt = resolve_as_of(con, as_of)
    if as_of_dt is None:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in CURVE_COLUMNS})
    cte, params = handoffs_cte(filters, policies(con))
    probs = np.linspace(0, 1, points).tolist()
    sql = f"""
    WITH {cte},
    d AS (SELECT *, CASE WHEN status = 'responded' THEN {col} END AS m FROM handoffs)
    SELECT tier, any_value(target_minutes) AS target_minutes,
        any_value(business_hours) AS business_hours, count(*) AS handoffs,
        count(m) AS answered, list(m ORDER BY m) FILTER (WHERE m IS NOT NULL) AS xs
    FROM d GROUP BY tier ORDER BY target_minutes, tier
    """
    df = flt.query_df(con, sql, {**params, "as_of": as_of_dt})
    rows = []
    for r in df.itertuples(index=False):
        n = int(r.answered)
        if n == 0:
            x, share = [math.nan], [math.nan]
        elif n < points:
            x, share = np.asarray(r.xs, dtype=float).tolist(), np.linspace(0, 1, n).tolist()
        else:
            x, share = np.quantile(np.asarray(r.xs, dtype=float), probs).tolist(), probs
        head = (r.tier, float(r.target_minutes), bool(r.business_hours), int(r.handoffs), n)
        rows += [(*head, p, float(v)) for p, v in zip(share, x, strict=True)]
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


_GROUP_TIME = {"month": "month", "week": "week", "day": "day", "quarter": "quarter"}


def _group_exprs(names: Sequence[str]) -> list[tuple[str, str]]:
    """(output name, SQL over the handoffs relation) for sla breakdowns."""
    out = []
    for name in names:
        if name in _GROUP_TIME:
            out.append((name, f"date_trunc('{_GROUP_TIME[name]}', handoff_at)"))
        else:
            out.append((name, f'"{name}"'))
    return out


def sla_compliance(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    by: str | Sequence[str] | None = ("tier",),
    clock: str = "policy",
    as_of: date | datetime | str | None = None,
) -> pd.DataFrame:
    """SLA compliance: share of decided handoffs first touched within their tier's target.

    ``k`` = handoffs responded to within the target; ``n`` = ``k`` + handoffs breached
    (responded late, or closed or still open past the target). Handoffs not yet past
    their target without a response are *pending* and left out of ``n``. The date range
    applies to the handoff time.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection (or cursor) on a Handoff Health database.
    filters : Filters
        Dimension filters; the date range applies to the handoff time.
    by : str or list of str, optional
        ``tier``, ``month``, ``week``, ``day``, ``quarter`` (of the handoff) or any
        dimension of :data:`analysis.filters.DIMENSIONS` except ``score_band``
        (``team``, ``rep``, ``source`` ...). None gives one overall row.
    clock : str
        ``policy`` (each tier's own clock, default), ``wall`` or ``business``: the clock
        both the target and the response-time percentiles are read on.
    as_of : date or datetime, optional
        "Now" for open MQLs; default the latest recorded fact.

    Returns
    -------
    DataFrame
        Breakdown columns (``tier`` adds ``target_minutes``), ``handoffs`` (all handoffs),
        ``responded``, ``pending``, ``k``, ``n``, ``rate``, ``low``, ``high`` (95%
        Wilson), ``median_minutes``, ``p90_minutes``, ``p95_minutes`` (response time of
        responded handoffs, on ``clock``; NaN when none). By ``month``, also ``complete``
        (:func:`analysis.definitions.is_complete_month`: False for the month the
        data ends in, whose recent handoffs are still pending).
    """
    # Long on purpose: a docstring and one SQL statement.
    allowed = [*_GROUP_TIME, "tier", *(d for d in flt.DIMENSIONS if d != "score_band")]
    names = by_names(by, allowed)
    col = _clock_column(clock)
    as_of_dt = resolve_as_of(con, as_of)
    extra = ["target_minutes"] if "tier" in names else []
    columns = [*names, *extra, "handoffs", "responded", "pending", "k", "n", "rate", "low"]
    columns += ["high", "median_minutes", "p90_minutes", "p95_minutes"]
    if as_of_dt is None:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    dims = [n for n in names if n not in _GROUP_TIME and n != "tier"]
    cte, params = handoffs_cte(filters, policies(con), dims)
    groups = _group_exprs(names)
    select = "".join(f'{expr} AS "{name}", ' for name, expr in groups)
    select += "any_value(target_minutes) AS target_minutes, " if extra else ""
    group_by = ", ".join(str(i + 1) for i in range(len(groups)))
    sql = f"""
    WITH {cte},
    d AS (
        SELECT *, {col} AS minutes, {sla_outcome_sql(col)} AS outcome_on_clock
        FROM handoffs
    )
    SELECT {select}
        count(*) AS handoffs,
        count(*) FILTER (WHERE status = 'responded') AS responded,
        count(*) FILTER (WHERE outcome_on_clock NOT IN {DECIDED_OUTCOMES}) AS pending,
        count(*) FILTER (WHERE outcome_on_clock = 'met') AS k,
        count(*) FILTER (WHERE outcome_on_clock IN {DECIDED_OUTCOMES}) AS n,
        quantile_cont(minutes, 0.5) FILTER (WHERE status = 'responded') AS median_minutes,
        quantile_cont(minutes, 0.9) FILTER (WHERE status = 'responded') AS p90_minutes,
        quantile_cont(minutes, 0.95) FILTER (WHERE status = 'responded') AS p95_minutes
    FROM d
    {f"GROUP BY {group_by} ORDER BY {group_by}" if groups else ""}
    """
    df = flt.query_df(con, sql, {**params, "as_of": as_of_dt})
    if not groups and int(df["handoffs"].iloc[0]) == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    df = stats.add_rate_columns(df)
    if "month" in names:
        df["complete"] = [is_complete_month(pd.Timestamp(m).date(), as_of_dt) for m in df["month"]]
        columns.append("complete")
    return df[columns].reset_index(drop=True)


BREACH_COLUMNS = [
    "lead_id",
    "handoff_no",
    "handoff_at",
    "tier",
    "target_minutes",
    "business_hours",
    "minutes_waiting",
    "business_minutes_waiting",
    "minutes_over_target",
    "name",
    "company",
    "source",
    "campaign",
    "owner_rep_id",
    "rep",
    "team",
    "last_touchpoints",
    "score",
]


# breach_queue runs past 80 lines: its docstring and one SQL statement (queue, touchpoint
# lines, scores), whose CTEs share names.
def breach_queue(
    con: duckdb.DuckDBPyConnection,
    as_of: date | datetime | str | None = None,
    filters: flt.Filters | None = None,
    max_age_days: float | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Open MQLs past their SLA target at ``as_of``, in the order to call them: the worklist.

    An open MQL has no sales activity since its latest handoff and nothing (disposition,
    stage change) has closed it. It is in the queue when its wait, on its tier's clock,
    exceeds the tier's target. The filters' dimension values apply; their date range does
    not (an MQL waiting since long before the period is still waiting).

    Order (what to call next): the tier with the tightest target first (the demo-request
    tier, 15 minutes in the default policies, before standard MQLs), then within a tier
    the longest time past its target first, then ``lead_id``.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection (or cursor) on a Handoff Health database.
    as_of : date or datetime, optional
        "Now"; default the latest recorded fact.
    filters : Filters, optional
        Dimension filters (their date range is ignored).
    max_age_days : float, optional
        Keep only MQLs handed off at most this many days (wall clock) before ``as_of``:
        the horizon of the worklist. None keeps every open breach, however old.
    limit : int, optional
        Keep only the first ``limit`` rows of the order below (the rows a page shows);
        their touchpoints and scores are looked up for those rows only. None keeps all.
        :func:`breach_count` counts the whole queue.

    Returns
    -------
    DataFrame
        ``lead_id``, ``handoff_no``, ``handoff_at``, ``tier``, ``target_minutes``,
        ``business_hours``, ``minutes_waiting`` (wall clock since the handoff),
        ``business_minutes_waiting``, ``minutes_over_target`` (wait minus target, on the
        tier's clock), ``name`` and ``company`` (the lead's, None when the history has
        none), ``source``, ``campaign``, ``owner_rep_id``, ``rep``, ``team``,
        ``last_touchpoints`` (up to three most recent touchpoints at or before ``as_of``,
        newest first, as ``YYYY-MM-DD HH:MM kind detail`` joined by ``; ``:
        :func:`last_touchpoints_sql`) and ``score``
        (the current rule's score, :func:`analysis.filters.rule_score_sql`, as of the
        lead's first handoff).
    """
    filters = filters or flt.Filters()
    as_of_dt = resolve_as_of(con, as_of)
    if as_of_dt is None:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in BREACH_COLUMNS})
    if max_age_days is not None and not max_age_days > 0:
        raise ValueError(f"max_age_days must be a positive number of days, got {max_age_days!r}")
    if limit is not None and not (isinstance(limit, int) and limit > 0):
        raise ValueError(f"limit must be a positive whole number of rows, got {limit!r}")
    cte, params = handoffs_cte(filters, policies(con), use_dates=False, open_only=True)
    max_age_minutes = None if max_age_days is None else float(max_age_days) * 1440.0
    # the call order, applied before the touchpoint lookup when only the top rows are wanted
    top = "" if limit is None else f"ORDER BY {QUEUE_ORDER} LIMIT {int(limit)}"
    if journey.active():
        # the lines and the lead's fields were derived at write time over all history;
        # only a lead touched after as_of has its lines built again from touchpoints
        contacts = f"""ql AS MATERIALIZED (
        SELECT * FROM {journey.CONTACTS} WHERE lead_id IN (SELECT lead_id FROM q)
    ),
    tp AS MATERIALIZED (
        SELECT * FROM touchpoints
        WHERE lead_id IN (SELECT lead_id FROM ql WHERE last_touch_at > $as_of)
          AND occurred_at <= $as_of
    )"""
        last = (
            "CASE WHEN l.last_touch_at > $as_of THEN lines.last_touchpoints "
            "ELSE l.last_touchpoints END"
        )
    else:
        contacts = """tp AS MATERIALIZED (
        SELECT * FROM touchpoints
        WHERE lead_id IN (SELECT lead_id FROM q) AND occurred_at <= $as_of
    ),
    ql AS MATERIALIZED (SELECT * FROM leads WHERE lead_id IN (SELECT lead_id FROM q))"""
        last = "lines.last_touchpoints"
    sql = f"""
    WITH {cte},
    q AS MATERIALIZED (
        SELECT * FROM handoffs
        WHERE sla_outcome = 'open_in_breach'
          AND ($max_age_minutes IS NULL OR wall_minutes <= $max_age_minutes)
        {top}
    ),
    {contacts},
    lines AS ({last_touchpoints_sql("tp")}),
    scores AS ({flt.rule_score_sql(only="q", touchpoints="tp", leads="ql")})
    SELECT q.lead_id, q.handoff_no, q.handoff_at, q.tier, q.target_minutes, q.business_hours,
        q.wall_minutes AS minutes_waiting, q.business_minutes AS business_minutes_waiting,
        q.policy_minutes - q.target_minutes AS minutes_over_target,
        nullif(trim(l.name), '') AS name, nullif(trim(l.company), '') AS company,
        q.source, q.campaign, q.owner_rep_id, q.rep, q.team,
        coalesce({last}, '') AS last_touchpoints, scores.score
    FROM q
    JOIN ql l ON l.lead_id = q.lead_id
    LEFT JOIN lines ON lines.lead_id = q.lead_id
    LEFT JOIN scores ON scores.lead_id = q.lead_id
    ORDER BY q.target_minutes, minutes_over_target DESC, q.lead_id
    """
    df = flt.query_df(con, sql, {**params, "as_of": as_of_dt, "max_age_minutes": max_age_minutes})
    return df[BREACH_COLUMNS]


def last_touchpoints_sql(touchpoints: str) -> str:
    """SQL (a SELECT) of ``lead_id``, ``last_touch_at`` and ``last_touchpoints`` per lead.

    Over the leads and rows of ``touchpoints`` (a CTE of the caller, or the table; rows
    with a time): ``last_touch_at`` is the lead's latest touchpoint time and
    ``last_touchpoints`` its three most recent touchpoints, newest first (ties by kind,
    then detail, both descending), each as ``YYYY-MM-DD HH:MM kind detail``, joined by
    ``; ``: the breach queue's column. One ``max(..., 3)`` per lead picks the three, so
    only they are formatted.
    """
    lines = ", ".join(
        f"strftime(top[{i}].at, '%Y-%m-%d %H:%M') || ' ' || top[{i}].kind"
        f" || coalesce(' ' || top[{i}].detail, '')"
        for i in (1, 2, 3)
    )
    return f"""
        SELECT lead_id, last_touch_at, concat_ws('; ', {lines}) AS last_touchpoints
        FROM (
            SELECT lead_id, max(occurred_at) AS last_touch_at,
                max({{'at': occurred_at, 'kind': kind, 'detail': detail}}, 3) AS top
            FROM {touchpoints}
            WHERE occurred_at IS NOT NULL
            GROUP BY lead_id
        )"""


QUEUE_ORDER = "target_minutes, policy_minutes - target_minutes DESC, lead_id"
"""The breach queue's call order over the handoffs relation (tightest tier, longest past
target, then lead): unique, since only a lead's latest handoff can still be open."""


def breach_count(
    con: duckdb.DuckDBPyConnection,
    as_of: date | datetime | str | None = None,
    filters: flt.Filters | None = None,
    max_age_days: float | None = None,
) -> int:
    """How many open MQLs are past their SLA target at ``as_of``.

    ``len(breach_queue(...))`` with the same arguments, without building the rows (no
    touchpoint or score lookup).
    """
    filters = filters or flt.Filters()
    as_of_dt = resolve_as_of(con, as_of)
    if as_of_dt is None:
        return 0
    if max_age_days is not None and not max_age_days > 0:
        raise ValueError(f"max_age_days must be a positive number of days, got {max_age_days!r}")
    cte, params = handoffs_cte(filters, policies(con), use_dates=False, open_only=True)
    max_age_minutes = None if max_age_days is None else float(max_age_days) * 1440.0
    sql = f"""
    WITH {cte}
    SELECT count(*) AS n FROM handoffs
    WHERE sla_outcome = 'open_in_breach'
      AND ($max_age_minutes IS NULL OR wall_minutes <= $max_age_minutes)
    """
    df = flt.query_df(con, sql, {**params, "as_of": as_of_dt, "max_age_minutes": max_age_minutes})
    return int(df["n"].iloc[0])


def attempts_before_disposition(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    by: str | None = None,
) -> pd.DataFrame:
    """Distribution of the number of sales activities before each disposition.

    For each disposition (date range on ``decided_at``), the attempts are the sales
    activities on the lead, by any rep, at or after the handoff the disposition answers
    (the latest ``mql`` change at or before the decision; the lead's creation when there
    is none) and at or before the decision itself.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection (or cursor) on a Handoff Health database.
    filters : Filters
        Dimension filters; the date range applies to ``decided_at``.
    by : str, optional
        ``outcome`` to get one distribution per disposition outcome.

    Returns
    -------
    DataFrame
        ``outcome`` when ``by="outcome"``, ``attempts`` (int), ``dispositions`` (how many
        dispositions had exactly that many attempts), ``share`` (of the dispositions in
        the group) and ``cumulative_share`` (at most that many attempts). Sorted by
        attempts.
    """
    if by not in (None, "outcome"):
        raise ValueError(f"by must be None or 'outcome', got {by!r}")
    where, params = filters.sql("d.decided_at")
    group = ["outcome"] if by else []
    sel = "".join(f"{g}, " for g in group)
    part = f"PARTITION BY {', '.join(group)}" if group else ""
    sql = f"""
    WITH d AS (
        SELECT d.lead_id, d.decided_at, d.outcome,
            coalesce((SELECT max(s.changed_at) FROM stage_changes s
                      WHERE s.lead_id = d.lead_id AND s.stage = 'mql'
                        AND s.changed_at <= d.decided_at), l.created_at) AS since
        FROM dispositions d
        JOIN leads l ON l.lead_id = d.lead_id
        LEFT JOIN reps r ON r.rep_id = l.owner_rep_id
        WHERE {where}
    ),
    n AS (
        SELECT d.lead_id, d.decided_at, any_value(d.outcome) AS outcome,
            count(a.occurred_at) AS attempts
        FROM d
        LEFT JOIN sales_activities a
          ON a.lead_id = d.lead_id AND a.occurred_at >= d.since
         AND a.occurred_at <= d.decided_at
        GROUP BY d.lead_id, d.decided_at
    ),
    c AS (SELECT {sel} attempts, count(*) AS dispositions FROM n GROUP BY ALL)
    SELECT {sel} attempts, dispositions,
        dispositions / sum(dispositions) OVER ({part}) AS share,
        sum(dispositions) OVER ({part} ORDER BY attempts) / sum(dispositions) OVER ({part})
            AS cumulative_share
    FROM c
    ORDER BY {sel} attempts
    """
    df = flt.query_df(con, sql, params)
    return df.astype({"attempts": "int64", "dispositions": "int64"})


def _minutes_label(m: float) -> tuple[float, str]:
    if m < 60:
        return m, "min"
    if m < 1440:
        return m / 60, "h"
    return m / 1440, "d"


def bucket_labels(edges: Sequence[float]) -> list[str]:
    """Readable labels of response bands: ``0-5 min``, ``1-4 h``, ``4 h-1 d``, ``3 d+``."""
    labels = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        a, ua = _minutes_label(lo) if lo > 0 else (0, None)
        if math.isinf(hi):
            labels.append(f"{a:g} {ua or 'min'}+")
            continue
        b, ub = _minutes_label(hi)
        if ua in (None, ub):
            labels.append(f"{a:g}-{b:g} {ub}")
        else:
            labels.append(f"{a:g} {ua}-{b:g} {ub}")
    return labels


# speed_to_lead runs past 80 lines: its docstring and its one SQL query (bands, conversions
# per handoff) are most of it; splitting the query would hide how a band is counted.
def speed_to_lead(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    buckets: Sequence[float] = DEFAULT_BUCKETS,
    outcome: str = "sql",
    clock: str = "wall",
    window_days: float | None = None,
    as_of: date | datetime | str | None = None,
) -> pd.DataFrame:
    """Conversion of handoffs by response-time band: the speed-to-lead curve.

    Each handoff in the date range (handoff time) falls in the band of its response time
    on ``clock``: bands are ``(lo, hi]`` minutes, the first one ``[0, hi]``, so a response
    in exactly 5 minutes is in ``0-5 min``. Handoffs without a response (open or closed
    without a touch) form a last ``no response`` row. A handoff *converted* when the lead
    reached ``outcome`` (or a later stage: a change to it or any later funnel stage) at or
    after the handoff, before any next handoff, by ``as_of`` and, with ``window_days``,
    within that many days of the handoff. Recent handoffs have had less time to convert;
    use a window and an old enough period to compare like with like.

    Returns
    -------
    DataFrame
        ``bucket`` (label), ``lower_minutes``, ``upper_minutes`` (band edges; NaN for
        ``no response``), ``k`` (converted), ``n`` (handoffs), ``rate``, ``low``,
        ``high`` (95% Wilson), ``median_minutes`` and ``p90_minutes`` (response times
        inside the band). Bands with no handoffs have n = 0.
    """
    # Long on purpose: a docstring and one SQL statement.
    if outcome not in STAGES[2:]:
        raise ValueError(f"outcome must be one of {', '.join(STAGES[2:])}, got {outcome!r}")
    edges = [float(b) for b in buckets]
    if (
        len(edges) < 2
        or edges[0] != 0
        or any(b <= a for a, b in zip(edges[:-1], edges[1:], strict=True))
    ):
        raise ValueError(f"buckets must start at 0 and increase, got {tuple(buckets)}")
    if not math.isinf(edges[-1]):
        edges.append(math.inf)
    col = _clock_column(clock)
    columns = ["bucket", "lower_minutes", "upper_minutes", "k", "n", "rate", "low", "high"]
    columns += ["median_minutes", "p90_minutes"]
    labels = [*bucket_labels(edges), "no response"]
    as_of_dt = resolve_as_of(con, as_of)
    cte, params = handoffs_cte(filters, policies(con))
    inner = edges[1:-1]
    case = " ".join(f"WHEN {col} <= $e{i} THEN {i}" for i in range(len(inner)))
    params.update({f"e{i}": v for i, v in enumerate(inner)})
    reached = ", ".join(f"'{s}'" for s in STAGES[STAGES.index(outcome) :])
    window_us = None if window_days is None else int(round(window_days * 86_400e6))
    sql = f"""
    WITH {cte},
    conv AS (
        SELECT h.lead_id, h.handoff_at
        FROM handoffs h
        JOIN stage_changes s
          ON s.lead_id = h.lead_id AND s.stage IN ({reached})
         AND s.changed_at >= h.handoff_at AND s.changed_at <= $as_of
         AND (h.next_handoff_at IS NULL OR s.changed_at < h.next_handoff_at)
         AND ($window_us IS NULL OR epoch_us(s.changed_at) - epoch_us(h.handoff_at) <= $window_us)
        GROUP BY h.lead_id, h.handoff_at
    ),
    b AS (
        SELECT h.{col} AS minutes, conv.lead_id IS NOT NULL AS converted,
            CASE WHEN h.status <> 'responded' THEN {len(edges) - 1}
                 {case} ELSE {len(edges) - 2} END AS bucket_no
        FROM handoffs h
        LEFT JOIN conv ON conv.lead_id = h.lead_id AND conv.handoff_at = h.handoff_at
    )
    SELECT bucket_no, count(*) FILTER (WHERE converted) AS k, count(*) AS n,
        quantile_cont(minutes, 0.5) AS median_minutes,
        quantile_cont(minutes, 0.9) AS p90_minutes
    FROM b GROUP BY bucket_no
    """
    if as_of_dt is None:  # an empty database: every band with n = 0
        got = pd.DataFrame(columns=["k", "n", "median_minutes", "p90_minutes"], dtype="float64")
    else:
        got = flt.query_df(
            con, sql, {**params, "as_of": as_of_dt, "window_us": window_us}
        ).set_index("bucket_no")
    out = pd.DataFrame(
        {
            "bucket": labels,
            "lower_minutes": [*edges[:-1], np.nan],
            "upper_minutes": [*edges[1:], np.nan],
        }
    )
    got = got.reindex(range(len(labels)))
    out["k"] = got["k"].fillna(0).astype("int64").to_numpy()
    out["n"] = got["n"].fillna(0).astype("int64").to_numpy()
    out["median_minutes"] = got["median_minutes"].to_numpy(dtype="float64")
    out["p90_minutes"] = got["p90_minutes"].to_numpy(dtype="float64")
    # the no-response row has no response time: its clock is a wait, not a response
    out.loc[len(labels) - 1, ["median_minutes", "p90_minutes"]] = np.nan
    out = stats.add_rate_columns(out)
    return out[columns]
