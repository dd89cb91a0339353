"""Deals: won, lost and open, one outcome per lead, with one definition of "won".

Query intuition
---------------
A lead is **won** when it reached the ``customer`` stage (:data:`WON_STAGE`), whether or
not an ``opportunities`` row exists; a lead with an opportunity closed *won* is won too
(its customer entry may simply be missing). Otherwise it is **lost** when it has an
opportunity closed *lost* and none still open, and **open** when it has an open
opportunity. The outcome time is the customer entry (else the won deal's close date) for
a won lead, the latest lost close date for a lost one. The won amount of a lead is the
sum of its won opportunities' amounts (NULL when none has an amount: unknown, not 0).

One relation, ``deals``, holds this per lead on top of
:func:`analysis.lifecycle.funnel.entries_cte` (so filters and breakdowns work the same
way); :func:`deal_summary` aggregates it over a date range on the outcome time, and
:func:`closed_deals` per calendar month. Funnel, review, report and ``handoff metrics``
all count won deals from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis import filters as flt
from analysis import stats
from analysis.definitions import WON_STAGE, month_start, next_month
from analysis.lifecycle import funnel, journey


def deals_cte(filters: flt.Filters, by: Sequence[str] = ()) -> tuple[str, dict[str, Any]]:
    """CTE text ending in ``deals AS (...)`` (one row per lead with a deal outcome).

    Needs ``$as_of``. Columns: ``lead_id``, breakdown columns, ``outcome`` (``won``,
    ``lost``, ``open``), ``outcome_at`` (NULL for open deals and undated outcomes),
    ``won_amount`` (NULL unless won with an amount), ``mql_at``, ``customer_at``.
    """
    cte, params = funnel.entries_cte(filters, by)
    cols = "".join(f'e."{b}", ' for b in by)
    won = f"(e.{WON_STAGE}_reached AND (e.{WON_STAGE}_at IS NULL OR e.{WON_STAGE}_at <= $as_of))"
    if journey.active():
        return f"{cte},\n{_journey_deals(cols, won)}", params
    sql = f"""{cte},
    deal_opps AS (
        SELECT lead_id,
            {_OPP_AGGREGATES}
        FROM opportunities
        WHERE created_at IS NULL OR created_at <= $as_of
        GROUP BY lead_id
    ),
    deals AS (
        SELECT e.lead_id, {cols}
            {_outcome_columns(won, "o")}
        FROM entries e
        LEFT JOIN deal_opps o ON o.lead_id = e.lead_id
        WHERE e.deal_candidate AND ({won} OR o.lead_id IS NOT NULL)
    )"""
    return sql, params


def _outcome_columns(won: str, opp: str) -> str:
    """The deals relation's outcome columns, for the direct and the journey path.

    The lead is ``e``; its opportunity facts (``won_opps``, ``lost_opps``, ``open_opps``,
    ``won_closed``, ``lost_closed``, ``won_amount``) are read from the alias ``opp``;
    ``won`` is the lead's customer-entry condition.
    """
    o = opp
    return f"""CASE WHEN {won} OR coalesce({o}.won_opps, 0) > 0 THEN 'won'
                 WHEN coalesce({o}.lost_opps, 0) > 0 AND coalesce({o}.open_opps, 0) = 0 THEN 'lost'
                 WHEN coalesce({o}.open_opps, 0) > 0 THEN 'open' END AS outcome,
            CASE WHEN {won} OR coalesce({o}.won_opps, 0) > 0
                     THEN coalesce(CASE WHEN {won} THEN e.{WON_STAGE}_at END, {o}.won_closed)
                 WHEN coalesce({o}.lost_opps, 0) > 0 AND coalesce({o}.open_opps, 0) = 0
                     THEN {o}.lost_closed END AS outcome_at,
            CASE WHEN {won} OR coalesce({o}.won_opps, 0) > 0 THEN {o}.won_amount END
                AS won_amount,
            e.mql_at, e.{WON_STAGE}_at AS customer_at"""


_OPP_AGGREGATES = """count(*) FILTER (
                WHERE outcome = 'won' AND coalesce(closed_at, $as_of) <= $as_of) AS won_opps,
            max(closed_at) FILTER (WHERE outcome = 'won' AND closed_at <= $as_of) AS won_closed,
            count(*) FILTER (WHERE outcome = 'lost' AND coalesce(closed_at, $as_of) <= $as_of)
                AS lost_opps,
            max(closed_at) FILTER (WHERE outcome = 'lost' AND closed_at <= $as_of) AS lost_closed,
            count(*) FILTER (WHERE coalesce(outcome, 'open') = 'open'
                OR closed_at > $as_of) AS open_opps,
            sum(amount) FILTER (WHERE outcome = 'won') AS won_amount"""
"""Per lead, its opportunities as known at ``$as_of`` (rows created by then)."""


def _journey_deals(cols: str, won: str) -> str:
    """``deal_opps`` and ``deals`` read from the opportunity facts in ``journey_entries``.

    Query intuition: a lead's opportunity facts are derived over the whole history; they
    are its facts as of ``$as_of`` when no time of its opportunities is later
    (``opp_last_at``). Only the leads with a later time (none when ``$as_of`` is the end
    of the data) are aggregated again from ``opportunities``, so the deals relation
    needs no join of every candidate on its text key.
    """
    late = "e.opp_last_at > $as_of"
    pick = {
        c: f"CASE WHEN {late} THEN o.{c} ELSE e.opp_{c.removesuffix('_opps')} END"
        for c in ("won_opps", "lost_opps", "open_opps")
    }
    pick |= {
        "won_closed": f"CASE WHEN {late} THEN o.won_closed ELSE e.opp_won_closed END",
        "lost_closed": f"CASE WHEN {late} THEN o.lost_closed ELSE e.opp_lost_closed END",
        "won_amount": f"CASE WHEN {late} THEN o.won_amount ELSE e.opp_won_amount END",
        "has_opps": f"CASE WHEN {late} THEN o.lead_id IS NOT NULL ELSE e.opp_rows > 0 END",
    }
    chosen = ",\n            ".join(f"{v} AS {k}" for k, v in pick.items())
    return f"""
    late_opps AS (
        SELECT lead_id,
            {_OPP_AGGREGATES}
        FROM opportunities
        WHERE (created_at IS NULL OR created_at <= $as_of)
          AND lead_id IN (
              SELECT lead_id FROM opportunities WHERE created_at > $as_of OR closed_at > $as_of)
        GROUP BY lead_id
    ),
    deal_opps AS (
        SELECT e.*, {chosen}
        FROM entries e
        LEFT JOIN late_opps o ON o.lead_id = e.lead_id
        WHERE e.deal_candidate
    ),
    deals AS (
        SELECT e.lead_id, {cols}
            {_outcome_columns(won, "e")}
        FROM deal_opps e
        WHERE {won} OR e.has_opps
    )"""


SUMMARY_COLUMNS = ["won", "lost", "open", "won_amount", "won_with_amount"]


def deal_summary(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    by: str | None = None,
    as_of: date | datetime | str | None = None,
) -> pd.DataFrame:
    """Won, lost and open deals (leads), with the won amount, over the date range.

    The date range applies to the outcome time of won and lost deals (a won deal with an
    unknown date counts only when the range is open); ``open`` counts every deal still
    open at ``as_of`` (an open deal has no outcome time).

    Returns
    -------
    DataFrame
        One row (per value of ``by``, plus the overall row with ``by`` = None when
        ``by`` is given): ``won``, ``lost``, ``open`` (counts of leads), ``won_amount``
        (sum of known amounts; NaN when no won deal has one), ``won_with_amount``, then
        ``win_k``, ``win_n``, ``win_rate``, ``win_low``, ``win_high`` (won ÷ (won +
        lost), 95% Wilson).
    """
    as_of_dt = funnel.resolve_as_of(con, as_of)
    names = funnel.by_names(by) if by else []
    if as_of_dt is None:
        as_of_dt = datetime.max.replace(microsecond=0)
    cte, params = deals_cte(filters, names)
    in_range, date_params = filters.date_sql("outcome_at")
    has_range = filters.start is not None or filters.end is not None
    closed = f"(outcome_at IS NOT NULL AND {in_range})" if has_range else "TRUE"
    group = f'"{names[0]}" AS grp, grouping("{names[0]}") = 0 AS is_group, ' if names else ""
    sql = f"""
    WITH {cte}
    SELECT {group}
        count(*) FILTER (WHERE outcome = 'won' AND {closed}) AS won,
        count(*) FILTER (WHERE outcome = 'lost' AND {closed}) AS lost,
        count(*) FILTER (WHERE outcome = 'open') AS open,
        sum(won_amount) FILTER (WHERE outcome = 'won' AND {closed}) AS won_amount,
        count(won_amount) FILTER (WHERE outcome = 'won' AND {closed}) AS won_with_amount
    FROM deals
    {f'GROUP BY GROUPING SETS ((), ("{names[0]}"))' if names else ""}
    """
    df = flt.query_df(con, sql, {**params, **date_params, "as_of": as_of_dt})
    df = df.astype({"won": "int64", "lost": "int64", "open": "int64", "won_with_amount": "int64"})
    df["won_amount"] = df["won_amount"].astype("float64")
    df["win_k"] = df["won"]
    df["win_n"] = df["won"] + df["lost"]
    return stats.add_rate_columns(df, k="win_k", n="win_n", prefix="win_")


MONTHLY_SQL = """
WITH {cte}
SELECT date_trunc('month', outcome_at)::DATE AS month,
    count(*) FILTER (WHERE outcome = 'won') AS won,
    count(*) FILTER (WHERE outcome = 'lost') AS lost,
    coalesce(sum(won_amount) FILTER (WHERE outcome = 'won'), 0)::DOUBLE AS won_revenue,
    count(won_amount) FILTER (WHERE outcome = 'won') AS won_with_amount
FROM deals
WHERE outcome IN ('won', 'lost') AND outcome_at IS NOT NULL
  AND ($start IS NULL OR outcome_at >= $start) AND ($end IS NULL OR outcome_at < $end)
GROUP BY ALL
"""


def monthly_deal_counts(
    con: duckdb.DuckDBPyConnection,
    first: date | None,
    last: date | None,
    as_of: datetime,
) -> pd.DataFrame:
    """Won and lost deals per month of their outcome, ``first`` to ``last`` (None: open).

    Only months with a closed deal have a row: ``month`` (datetime64), ``won``, ``lost``,
    ``won_revenue``, ``won_with_amount``; :func:`monthly_frame` fills and derives the rest.
    """
    cte, params = deals_cte(flt.Filters())
    params.update(
        start=month_start(first) if first else None,
        end=next_month(month_start(last)) if last else None,
        as_of=as_of,
    )
    df = flt.query_df(con, MONTHLY_SQL.format(cte=cte), params)
    df["month"] = pd.to_datetime(df["month"])
    return df


def monthly_frame(counts: pd.DataFrame, first: date, last: date) -> pd.DataFrame:
    """The :func:`closed_deals` frame of ``first`` to ``last`` from count rows.

    ``counts`` is :func:`monthly_deal_counts` output; months without a row get zeros.
    """
    months = pd.date_range(
        pd.Timestamp(month_start(first)), pd.Timestamp(month_start(last)), freq="MS"
    )
    cols = ["won", "lost", "won_revenue", "won_with_amount"]
    out = counts.set_index("month")[cols].reindex(months, fill_value=0)
    out.index.name = "month"
    out = out.reset_index().astype({"won": "int64", "lost": "int64", "won_with_amount": "int64"})
    out["won_revenue"] = out["won_revenue"].astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["avg_won_amount"] = np.where(
            out["won_with_amount"] > 0, out["won_revenue"] / out["won_with_amount"], np.nan
        )
    out["closed"] = out["won"] + out["lost"]
    out = stats.add_rate_columns(out, k="won", n="closed", prefix="win_")
    return out.drop(columns="closed")


def closed_deals(
    con: duckdb.DuckDBPyConnection,
    first: date,
    last: date,
    as_of: datetime | None = None,
) -> pd.DataFrame:
    """Deals won or lost per calendar month, ``first`` to ``last`` (inclusive).

    Won and lost follow the module's definition (a lead that reached ``customer`` is won
    with or without an opportunities row), counted in the month of their outcome time.

    Returns
    -------
    DataFrame
        One row per month (zeros when nothing closed): ``month`` (first day, datetime64),
        ``won``, ``lost``, ``won_revenue`` (sum of known amounts of the won deals; check
        :func:`analysis.lifecycle.measurable.availability` before showing it: 0 also
        when no amount exists at all), ``won_with_amount``, ``avg_won_amount``
        (won_revenue / won_with_amount, NaN when 0), ``win_rate`` (won / (won + lost))
        with ``win_low``/``win_high`` (95% Wilson).
    """
    as_of = as_of or flt.data_as_of(con) or datetime.max.replace(microsecond=0)
    return monthly_frame(monthly_deal_counts(con, first, last, as_of), first, last)
