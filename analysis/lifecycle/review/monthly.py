"""Every month's review headline in one pass: stage volumes, funnel, SLA and closed deals.

Query intuition
---------------
The review's headline (goals vs actuals, the month's funnel table, the response-to-handoffs
table) quotes :func:`analysis.lifecycle.metrics.headline` for the month, the month before
and the same month a year earlier. Each of those ranges is a calendar month, and every
number in them is a count over one event time (a stage entry, a lead's creation, a
handoff, a deal's outcome), so the numbers of *all* months come out of one GROUP BY on
that time's month, over the same relations the headline reads:

- per stage S, over :func:`analysis.lifecycle.funnel.entries_cte` (the journey table when
  fresh), grouped by the month of S's first entry: the stage volume (leads that first
  entered S in the month, by the data's end) and, of them, those that reached each later
  stage T by the data's end (the ``entered`` conversions); and grouped by the month of the
  lead's creation: the leads of that month that reached S and T (the ``created`` basis);
- over :func:`analysis.lifecycle.handoffs.handoffs_cte`, grouped by the handoff's month
  and SLA tier (and by month over all tiers): met of decided handoffs, pending, and the
  response-time quantiles;
- :func:`analysis.lifecycle.deals.closed_deals` over every month (one query).

The date range of a headline is a WHERE on the same event time, and no relation above
depends on the range (the handoff numbering and the clocks run over the whole history),
so a month's slice of these tables is that month's headline: :func:`month_headline`
rebuilds its blocks with the headline's own builders, and the tests compare both on the
demo and on the journey fixtures. A month change then reads cached tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from analysis import filters as flt
from analysis.definitions import data_as_of
from analysis.lifecycle import deals, funnel, measurable, metrics, sla
from analysis.lifecycle.review.common import month_end
from analysis.store import STAGES

PAIR_COLUMNS: tuple[str, ...] = tuple(f"k{i}" for i in range(len(metrics.PAIRS)))
"""``k<i>``: of the leads counted at the pair's first stage, those that reached its second."""


@dataclass(frozen=True)
class MonthFigures:
    """The review headline's numbers for every month of the history (one pass each).

    Attributes
    ----------
    as_of : datetime or None
        The data's end (None: no history).
    first, last : date or None
        First and last month (first days) covered.
    entered : DataFrame
        One row per (``stage``, ``month`` of its first entry): ``c`` (the stage volume) and
        ``k<i>`` per pair of :data:`analysis.lifecycle.metrics.PAIRS` (NaN when the pair
        does not start at ``stage``).
    created : DataFrame
        One row per ``month`` of the leads' creation: ``c_<stage>`` (leads created in the
        month that reached the stage) and ``k<i>`` per pair.
    sla : DataFrame
        One row per ``month`` and ``tier`` (``is_tier``) and per month over all tiers:
        the columns of the headline's SLA query.
    deals : DataFrame
        :func:`analysis.lifecycle.deals.monthly_deal_counts` over the whole history (one
        row per month with a closed deal; :func:`month_deals` frames any months).
    availability : Measurability
        What this history can measure.
    first_day : date or None
        The history's first day (the earliest lead's): a month that starts before it is
        only partly recorded, so it is not quoted beside another (None: not known).
    """

    as_of: datetime | None
    first: date | None
    last: date | None
    entered: pd.DataFrame
    created: pd.DataFrame
    sla: pd.DataFrame
    deals: pd.DataFrame
    availability: measurable.Measurability
    first_day: date | None = None


def _reached(stage: str) -> str:
    """SQL: the lead reached ``stage`` by ``$as_of`` (an undated entry counts)."""
    at = funnel.STAGE_AT[stage]
    return f"({stage}_reached AND ({at} IS NULL OR {at} <= $as_of))"


def _entered_sql(stage: str, where: str = "TRUE") -> str:
    """One stage's volume and its conversions per month of its (dated) first entry.

    ``where`` may narrow the entries further (``{at}`` is the stage's entry time).
    """
    at = funnel.STAGE_AT[stage]
    ks = ", ".join(
        f"count(*) FILTER (WHERE {_reached(t)}) AS k{i}" if s == stage else f"NULL AS k{i}"
        for i, (s, t) in enumerate(metrics.PAIRS)
    )
    return f"""
    SELECT '{stage}' AS stage, date_trunc('month', {at})::DATE AS month, count(*) AS c, {ks}
    FROM entries
    WHERE {stage}_reached AND {at} IS NOT NULL AND {at} <= $as_of AND {where.format(at=at)}
    GROUP BY ALL"""


def _created_sql() -> str:
    """Per month of the lead's creation: leads that reached each stage and each pair."""
    cs = ", ".join(f"count(*) FILTER (WHERE {_reached(s)}) AS c_{s}" for s in STAGES)
    ks = ", ".join(
        f"count(*) FILTER (WHERE {_reached(s)} AND {_reached(t)}) AS k{i}"
        for i, (s, t) in enumerate(metrics.PAIRS)
    )
    return f"""
    SELECT date_trunc('month', lead_at)::DATE AS month, {cs}, {ks}
    FROM entries
    WHERE {_reached("lead")} AND lead_at IS NOT NULL
    GROUP BY ALL"""


def _sla_sql(con: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, Any]]:
    """The headline's SLA aggregates per handoff month and tier, and per month."""
    cte, params = sla.handoffs_cte(flt.Filters(), sla.policies(con))
    sql = f"""
    WITH {cte},
    d AS (
        SELECT *, date_trunc('month', handoff_at)::DATE AS month,
            status = 'responded' AS responded,
            sla_outcome = 'met' AS ok,
            sla_outcome IN {sla.DECIDED_OUTCOMES} AS decided
        FROM handoffs
        WHERE handoff_at IS NOT NULL
    )
    SELECT month, tier, grouping(tier) = 0 AS is_tier,
        {metrics.SLA_AGGREGATES}
    FROM d
    GROUP BY GROUPING SETS ((month, tier), (month))
    """
    return sql, params


def month_figures(con: duckdb.DuckDBPyConnection) -> MonthFigures:
    """The review headline's numbers for every month, as of the data's end.

    Three GROUP BYs over the lead and handoff relations and one closed-deals query
    (see the module's query intuition); :func:`month_headline` slices one month.
    """
    avail = measurable.availability(con)
    as_of = data_as_of(con)
    empty = pd.DataFrame()
    if as_of is None:
        return MonthFigures(None, None, None, empty, empty, empty, empty, avail)
    cte, params = funnel.entries_cte(flt.Filters())
    params["as_of"] = as_of
    union = " UNION ALL ".join(_entered_sql(s) for s in STAGES)
    entered = flt.query_df(con, f"WITH {cte} {union}", params)
    created = flt.query_df(con, f"WITH {cte} {_created_sql()}", params)
    for df in (entered, created):
        df["month"] = pd.to_datetime(df["month"])
    if avail.sla.measurable:
        sql, sla_params = _sla_sql(con)
        sla_df = flt.query_df(con, sql, {**sla_params, "as_of": as_of})
        sla_df["month"] = pd.to_datetime(sla_df["month"])
    else:
        sla_df = empty
    months = [m.date() for df in (entered, created) for m in df["month"].dropna()]
    first = min(months) if months else as_of.date().replace(day=1)
    last = max([*months, as_of.date().replace(day=1)])
    closed = deals.monthly_deal_counts(con, None, None, as_of)
    first_day = flt.filter_options(con)["first_date"]
    return MonthFigures(as_of, first, last, entered, created, sla_df, closed, avail, first_day)


def month_volumes(con: duckdb.DuckDBPyConnection, month: date) -> dict[str, Any]:
    """The headline's ``volumes`` of one month alone (leads that first entered each stage).

    The same numbers as :func:`month_headline`'s, from one month's slice of the same
    GROUP BY (for callers that need a month's volumes and not the whole history's).
    """
    avail = measurable.availability(con)
    as_of = data_as_of(con)
    if as_of is None:
        return metrics._plain(metrics._funnel_block(None, avail)["volumes"])
    cte, params = funnel.entries_cte(flt.Filters())
    f = flt.Filters(start=month, end=month_end(month))
    where, date_params = f.date_sql("{at}")
    union = " UNION ALL ".join(_entered_sql(s, where) for s in STAGES)
    entered = flt.query_df(con, f"WITH {cte} {union}", {**params, **date_params, "as_of": as_of})
    entered["month"] = pd.to_datetime(entered["month"])
    empty = pd.DataFrame()
    figs = MonthFigures(as_of, month, month, entered, empty, empty, empty, avail)
    return metrics._plain(metrics._funnel_block(_funnel_row(figs, month, "entered"), avail))[
        "volumes"
    ]


def _funnel_row(figs: MonthFigures, month: date, basis: str) -> pd.Series:
    """The headline's funnel row (``v_<stage>``, ``c_<stage>``, ``k<i>``) for one month."""
    ts = pd.Timestamp(month)
    ent = (
        figs.entered[figs.entered["month"] == ts].set_index("stage") if len(figs.entered) else None
    )
    row: dict[str, float] = {}
    for s in STAGES:
        row[f"v_{s}"] = int(ent.loc[s, "c"]) if ent is not None and s in ent.index else 0
    if basis == "entered":
        for s in STAGES:
            row[f"c_{s}"] = row[f"v_{s}"]
        for i, (s, _) in enumerate(metrics.PAIRS):
            has = ent is not None and s in ent.index
            row[f"k{i}"] = int(ent.loc[s, f"k{i}"]) if has else 0
    else:
        created = figs.created[figs.created["month"] == ts] if len(figs.created) else figs.created
        rec = created.iloc[0] if len(created) else None
        for s in STAGES:
            row[f"c_{s}"] = int(rec[f"c_{s}"]) if rec is not None else 0
        for i in range(len(metrics.PAIRS)):
            row[f"k{i}"] = int(rec[f"k{i}"]) if rec is not None else 0
    return pd.Series(row)


def month_headline(figs: MonthFigures, month: date, basis: str = "entered") -> dict[str, Any]:
    """The review's part of :func:`analysis.lifecycle.metrics.headline` for one month.

    Returns the keys the review reads, with the headline's meaning and shape:
    ``volumes``, ``stage_counts``, ``conversions`` (under ``basis``), ``sla`` and
    ``response_minutes`` (or ``None`` with ``<key>_reason`` when not measurable),
    ``start``, ``end``, ``as_of``, ``basis`` and ``funnel_start``.
    """
    metrics.check_basis(basis)
    avail = figs.availability
    out: dict[str, Any] = {
        "start": month,
        "end": month_end(month),
        "as_of": figs.as_of,
        "funnel_start": avail.funnel_start,
        "basis": basis,
    }
    fun = _funnel_row(figs, month, basis) if figs.as_of is not None else None
    out.update(metrics._funnel_block(fun, avail))
    if avail.sla.measurable and len(figs.sla):
        rows = figs.sla[figs.sla["month"] == pd.Timestamp(month)].to_dict("records")
        out.update(metrics._sla_block(rows, avail))
    else:
        out.update(metrics._sla_block([], avail))
    return metrics._plain(out)


def month_deals(figs: MonthFigures, first: date, last: date) -> pd.DataFrame:
    """:func:`analysis.lifecycle.deals.closed_deals` of ``first`` to ``last`` (any months)."""
    return deals.monthly_frame(figs.deals, first, last)
