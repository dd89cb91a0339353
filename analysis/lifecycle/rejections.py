"""The sales feedback loop: disposition mix, reasons Pareto, recycled leads.

Query intuition
---------------
A disposition is sales' decision on an MQL: ``accepted``, ``rejected``, ``nurture`` or
``bad_data``, with a reason category. Every disposition row counts (a recycled lead can
be decided on more than once), in the period of its decision: the date range applies to
``decided_at``. The mix is a grouped count per (group, outcome, reason), with each count
divided by its group's total by a window function, so the shares of a group add up to 1.
The Pareto keeps the dispositions that carry a verdict against the lead (everything but
``accepted``), sorts reasons by count and runs a cumulative sum.

Recycling: a lead is *nurtured* when, after its first handoff (first ``mql`` change),
it goes to ``nurture`` (a ``nurture`` stage change or a ``nurture`` disposition), and
*recycled* when it becomes an MQL again after that. The recycle summary is one pass of
grouped ``min`` aggregates per lead over ``stage_changes`` and ``dispositions`` (first
handoff, first nurture after it, first ``mql`` change after that, first entry of
``sql``/``opportunity``/``customer`` or later stage after that), then counts. Inside
:func:`analysis.lifecycle.journey.reading` on a fresh file those per-lead facts were
derived when the file was written (``journey_entries``), and the summary is one small
GROUP BY over that table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from analysis import filters as flt
from analysis import stats
from analysis.definitions import data_as_of, is_complete_month
from analysis.lifecycle import journey
from analysis.lifecycle.funnel import by_names
from analysis.store import DISPOSITION_OUTCOMES, STAGES

_TIME_GROUPS = ("month", "week", "quarter")
NO_REASON = flt.NOT_SET
"""Reason label of dispositions recorded without a reason."""


def dispositions_from(with_score: bool = False) -> tuple[str, str]:
    """(FROM clause, alias of the disposition columns) of dispositions with their leads.

    On the base tables ``dispositions d`` joined to the lead relation ``l``; inside
    :func:`analysis.lifecycle.journey.reading` the derived ``journey_dispositions`` (the
    same rows, carrying the lead columns) aliased ``l`` for both.
    """
    if journey.active():
        return journey.lead_from_sql(journey.DISPOSITIONS, with_score), "l"
    lead = flt.lead_from_sql(with_score=with_score)
    return f"dispositions d JOIN {lead} ON l.lead_id = d.lead_id", "d"


def _group_select(names: Sequence[str], d: str = "d") -> str:
    parts = []
    for name in names:
        if name in _TIME_GROUPS:
            parts.append(f"date_trunc('{name}', {d}.decided_at) AS \"{name}\"")
        else:
            parts.append(f'{flt.dimension_sql(name)} AS "{name}"')
    return "".join(f"{p}, " for p in parts)


def disposition_mix(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Disposition outcomes and reasons, with counts and shares, overall or per group.

    Every disposition whose ``decided_at`` lies in the date range counts once. A missing
    reason is labelled ``(not set)``.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection (or cursor) on a Handoff Health database.
    filters : Filters
        Dimension filters; the date range applies to ``decided_at``.
    by : str or list of str, optional
        ``month``, ``week``, ``quarter`` (of the decision) or a dimension of
        :data:`analysis.filters.DIMENSIONS`, ``score_band`` included (the current rule's
        score at the lead's first handoff).

    Returns
    -------
    DataFrame
        Group columns, ``outcome``, ``reason``, ``count`` (dispositions with that outcome
        and reason), ``total`` (dispositions in the group), ``share`` (count / total) with
        ``low``/``high`` (95% Wilson), ``outcome_count`` (dispositions with that outcome
        in the group) and ``outcome_share`` (outcome_count / total). Sorted by group, then
        outcome in :data:`analysis.store.DISPOSITION_OUTCOMES` order, then count. Grouped
        by a time period, also ``complete``: False for a period the data does not cover to
        its end (the one holding the latest recorded fact), whose mix is not comparable yet.
    """
    allowed = [*_TIME_GROUPS, *flt.DIMENSIONS]
    names = by_names(by, allowed)
    source, d = dispositions_from(with_score="score_band" in names)
    where, params = filters.sql(f"{d}.decided_at")
    quoted = [f'"{n}"' for n in names]
    part = "PARTITION BY " + ", ".join(quoted) if names else ""
    part_o = "PARTITION BY " + ", ".join([*quoted, "outcome"])
    order = "".join(f"{q}, " for q in quoted)
    sql = f"""
    WITH c AS (
        SELECT {_group_select(names, d)} {d}.outcome,
            coalesce(nullif({d}.reason, ''), '{NO_REASON}') AS reason, count(*) AS count
        FROM {source}
        WHERE {where}
        GROUP BY ALL
    )
    SELECT *, sum(count) OVER ({part})::BIGINT AS total,
        sum(count) OVER ({part_o})::BIGINT AS outcome_count
    FROM c
    ORDER BY {order}
        list_position(['accepted', 'rejected', 'nurture', 'bad_data'], outcome),
        count DESC, reason
    """
    df = flt.query_df(con, sql, params)
    df = stats.add_rate_columns(df, k="count", n="total")
    df = df.rename(columns={"rate": "share"})
    df["outcome_share"] = df["outcome_count"] / df["total"]
    cols = [*names, "outcome", "reason", "count", "total", "share", "low", "high"]
    cols += ["outcome_count", "outcome_share"]
    period = next((n for n in names if n in _TIME_GROUPS), None)
    if period is not None:
        as_of = data_as_of(con)
        df["complete"] = [_is_complete(period, pd.Timestamp(p), as_of) for p in df[period]]
        cols.append("complete")
    return df[cols].reset_index(drop=True)


def _is_complete(period: str, start: pd.Timestamp, as_of: object) -> bool:
    """Whether the ``period`` (month, quarter, week) starting at ``start`` is over.

    A month or quarter is over when its last month is complete by ``as_of``
    (:func:`analysis.definitions.is_complete_month`); a week seven days after its start.
    """
    if as_of is None or pd.isna(start):
        return False
    if period == "week":
        return pd.Timestamp(as_of) >= start + pd.Timedelta(days=7)
    last_month = start + pd.DateOffset(months=2 if period == "quarter" else 0)
    return is_complete_month(last_month.date(), as_of)


def reason_pareto(con: duckdb.DuckDBPyConnection, filters: flt.Filters) -> pd.DataFrame:
    """Reasons behind non-accepted dispositions, most frequent first, with cumulative share.

    Counts the dispositions with outcome ``rejected``, ``nurture`` or ``bad_data`` decided
    in the date range, by reason (``(not set)`` when missing).

    Returns
    -------
    DataFrame
        ``reason``, ``count``, ``total`` (all non-accepted dispositions), ``share``
        (count / total) with ``low``/``high`` (95% Wilson) and ``cumulative_share``
        (share of this reason and all more frequent ones). Ties are broken by reason.
    """
    source, d = dispositions_from()
    where, params = filters.sql(f"{d}.decided_at")
    sql = f"""
    WITH c AS (
        SELECT coalesce(nullif({d}.reason, ''), '{NO_REASON}') AS reason, count(*) AS count
        FROM {source}
        WHERE {d}.outcome <> 'accepted' AND {where}
        GROUP BY ALL
    )
    SELECT reason, count, sum(count) OVER ()::BIGINT AS total,
        sum(count) OVER (ORDER BY count DESC, reason ROWS UNBOUNDED PRECEDING)
            / sum(count) OVER () AS cumulative_share
    FROM c
    ORDER BY count DESC, reason
    """
    df = flt.query_df(con, sql, params)
    df = stats.add_rate_columns(df, k="count", n="total").rename(columns={"rate": "share"})
    cols = ["reason", "count", "total", "share", "low", "high", "cumulative_share"]
    return df[cols].reset_index(drop=True)


@dataclass(frozen=True)
class RecycleSummary:
    """How many MQL'd leads were sent back to nurture and came back, and what they did next.

    ``mql_leads``: leads whose first handoff (first ``mql`` change) is in the date range.
    ``nurtured``: of those, leads sent to nurture after it. ``recycled``: of those, leads
    that became an MQL again later. ``recycle_rate`` = recycled / mql_leads and
    ``return_rate`` = recycled / nurtured, each with a 95% Wilson interval (NaN when the
    denominator is 0). ``outcomes`` compares what recycled leads did after coming back
    with what the other MQL'd leads did after their first handoff (see
    :func:`recycle_summary`).
    """

    mql_leads: int
    nurtured: int
    recycled: int
    recycle_rate: float
    recycle_low: float
    recycle_high: float
    return_rate: float
    return_low: float
    return_high: float
    outcomes: pd.DataFrame


# recycle_summary runs past 80 lines: one query and its documented columns.
def recycle_summary(con: duckdb.DuckDBPyConnection, filters: flt.Filters) -> RecycleSummary:
    """Recycle rate, and what recycled leads did next.

    The population is the leads whose first ``mql`` change lies in the date range. A lead
    is recycled when, after its first handoff, it went to nurture (stage change or
    disposition) and later had another ``mql`` change. A recycled lead *reached* S next
    when it has a change to S or a later funnel stage at or after its second handoff; a
    lead that was not recycled reached S when it did so at or after its first handoff.

    Returns
    -------
    RecycleSummary
        Its ``outcomes`` DataFrame has ``group`` (``recycled`` / ``not recycled``),
        ``stage`` (sql, opportunity, customer), ``k`` (leads of the group that reached
        it), ``n`` (group size), ``rate``, ``low``, ``high`` (95% Wilson).
    """
    # Long on purpose: a docstring and one SQL statement.
    if journey.active():
        where, params = filters.sql("l.first_mql_at")
        counts = ", ".join(f"count(l.next_{t}_at) AS {t}" for t in STAGES[2:])
        sql = f"""
        SELECT l.recycled_at IS NOT NULL AS recycled, count(*) AS n,
            count(l.nurtured_at) AS nurtured, {counts}
        FROM {journey.lead_from_sql(journey.ENTRIES)}
        WHERE l.mql_changed AND {where}
        GROUP BY ALL
        """
        return _recycle_result(flt.query_df(con, sql, params))
    where, params = filters.sql("m.first_mql")
    after = {s: ", ".join(f"'{t}'" for t in STAGES[STAGES.index(s) :]) for s in STAGES[2:]}
    reached = ",\n            ".join(
        f"min(s.changed_at) FILTER (WHERE s.stage IN ({after[t]})"
        f" AND s.changed_at >= coalesce(rc.recycled_at, m.first_mql)) AS {t}_at"
        for t in STAGES[2:]
    )
    sql = f"""
    WITH m AS (
        SELECT lead_id, min(changed_at) AS first_mql
        FROM stage_changes WHERE stage = 'mql' GROUP BY lead_id
    ),
    pop AS (
        SELECT m.lead_id, m.first_mql
        FROM m JOIN {flt.lead_from_sql()} ON l.lead_id = m.lead_id
        WHERE {where}
    ),
    nurt AS (
        SELECT p.lead_id, min(e.at) AS nurtured_at
        FROM pop p
        JOIN (
            SELECT lead_id, changed_at AS at FROM stage_changes WHERE stage = 'nurture'
            UNION ALL
            SELECT lead_id, decided_at FROM dispositions WHERE outcome = 'nurture'
        ) e ON e.lead_id = p.lead_id AND e.at >= p.first_mql
        GROUP BY p.lead_id
    ),
    rc AS (
        SELECT n.lead_id, min(s.changed_at) AS recycled_at
        FROM nurt n
        JOIN stage_changes s
          ON s.lead_id = n.lead_id AND s.stage = 'mql' AND s.changed_at > n.nurtured_at
        GROUP BY n.lead_id
    ),
    per_lead AS (
        SELECT m.lead_id, nurt.lead_id IS NOT NULL AS nurtured,
            rc.lead_id IS NOT NULL AS recycled,
            {reached}
        FROM pop m
        LEFT JOIN nurt ON nurt.lead_id = m.lead_id
        LEFT JOIN rc ON rc.lead_id = m.lead_id
        LEFT JOIN stage_changes s ON s.lead_id = m.lead_id
        GROUP BY m.lead_id, nurt.lead_id, rc.lead_id
    )
    SELECT recycled, count(*) AS n, count(*) FILTER (WHERE nurtured) AS nurtured,
        {", ".join(f"count({t}_at) AS {t}" for t in STAGES[2:])}
    FROM per_lead GROUP BY recycled
    """
    return _recycle_result(flt.query_df(con, sql, params))


def _recycle_result(df: pd.DataFrame) -> RecycleSummary:
    """The summary from the counts per ``recycled`` group (``n``, ``nurtured``, stages)."""
    df = df.set_index("recycled")
    rec = df.loc[True] if True in df.index else None
    rest = df.loc[False] if False in df.index else None
    mql_leads = int(df["n"].sum())
    nurtured = int(df["nurtured"].sum())
    recycled = int(rec["n"]) if rec is not None else 0
    r_low, r_high = stats.wilson_interval(recycled, mql_leads)
    b_low, b_high = stats.wilson_interval(recycled, nurtured)
    rows = []
    for label, row in (("recycled", rec), ("not recycled", rest)):
        n = int(row["n"]) if row is not None else 0
        for t in STAGES[2:]:
            rows.append({"group": label, "stage": t, "k": int(row[t]) if n else 0, "n": n})
    outcomes = stats.add_rate_columns(pd.DataFrame(rows))
    return RecycleSummary(
        mql_leads=mql_leads,
        nurtured=nurtured,
        recycled=recycled,
        recycle_rate=recycled / mql_leads if mql_leads else float("nan"),
        recycle_low=r_low,
        recycle_high=r_high,
        return_rate=recycled / nurtured if nurtured else float("nan"),
        return_low=b_low,
        return_high=b_high,
        outcomes=outcomes,
    )


def reason_shares(mix: pd.DataFrame, dim: str, outcomes: tuple[str, ...]) -> pd.DataFrame:
    """Reason counts per group, as shares of the group's dispositions with those outcomes.

    ``mix`` is :func:`disposition_mix` by ``dim``. Keeps the rows
    whose outcome is in ``outcomes``, adds up a reason's counts over them and divides by
    the group's total over them.

    Returns
    -------
    DataFrame
        ``dim``, ``reason``, ``count``, ``total`` (the group's dispositions with the chosen
        outcomes), ``share``, ``low``, ``high`` (95% Wilson); sorted by group and count.
    """
    t = mix[mix["outcome"].isin(outcomes)]
    cols = [dim, "reason", "count", "total", "share", "low", "high"]
    if t.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    c = t.groupby([dim, "reason"], as_index=False)["count"].sum()
    c["total"] = c.groupby(dim)["count"].transform("sum")
    c = stats.add_rate_columns(c, k="count", n="total").rename(columns={"rate": "share"})
    c = c.sort_values([dim, "count", "reason"], ascending=[True, False, True])
    return c[cols].reset_index(drop=True)


def outcome_summary(mix: pd.DataFrame) -> pd.DataFrame:
    """One row per disposition outcome from an overall :func:`disposition_mix`.

    Returns ``outcome``, ``count``, ``total``, ``share`` and its 95% Wilson ``low`` /
    ``high``, in :data:`analysis.store.DISPOSITION_OUTCOMES` order.
    """
    t = mix.drop_duplicates("outcome")[["outcome", "outcome_count", "total"]]
    t = t.rename(columns={"outcome_count": "count"})
    t = stats.add_rate_columns(t, k="count", n="total").rename(columns={"rate": "share"})
    order = {o: i for i, o in enumerate(DISPOSITION_OUTCOMES)}
    return t.sort_values("outcome", key=lambda s: s.map(order)).reset_index(drop=True)
