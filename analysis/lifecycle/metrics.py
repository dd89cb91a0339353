"""Headline numbers for a date range, as plain JSON-ready data (``handoff metrics``).

Query intuition
---------------
The headline is the page of numbers a monthly review quotes. It reuses the engine's
relations and definitions rather than inventing new ones, and answers in three queries,
each with ``GROUP BY GROUPING SETS`` so that the overall figures and, with a breakdown,
the per-value figures come out of the same pass:

1. funnel, over :func:`analysis.funnel.entries_cte`: stage volumes (first entries of each
   stage in the range, as :func:`analysis.funnel.period_volumes` counts them) and the
   conversion of each step S -> T for the cohort that entered S in the range (as
   :func:`analysis.funnel.step_conversions`);
2. SLA, over :func:`analysis.sla.handoffs_cte`: compliance per tier (as
   :func:`analysis.sla.sla_compliance` with the tier's own clock) and response-time
   percentiles of responded handoffs on both clocks;
3. rejection reasons: non-accepted dispositions decided in the range, by reason (as
   :func:`analysis.rejections.reason_pareto`).

Every rate carries ``k``, ``n`` and its 95% Wilson interval; the result holds only plain
Python ints, floats (None when undefined), strings and lists/dicts of them.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis import filters as flt
from analysis import stats
from analysis.lifecycle import funnel, rejections, sla
from analysis.store import STAGES

TOP_REASONS = 5
"""How many rejection reasons the headline lists."""

HEADLINE_STEPS = funnel.STEPS[:4]
"""The funnel steps the headline reports (lead -> mql -> sql -> opportunity -> customer)."""


def _plain(value: Any) -> Any:
    """``value`` as a JSON-serialisable Python value (NaN and NaT become None)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    if isinstance(value, np.floating | float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    return str(value)


def _rate(k: int, n: int) -> dict[str, Any]:
    low, high = stats.wilson_interval(k, n)
    return {"k": int(k), "n": int(n), "rate": k / n if n else None, "low": low, "high": high}


def _funnel_numbers(
    con: duckdb.DuckDBPyConnection, f: flt.Filters, by: str | None, as_of: datetime
) -> pd.DataFrame:
    """Per group: ``v_<stage>`` volumes and ``k<i>``/``n<i>`` of each headline step."""
    names = [by] if by else []
    cte, params = funnel.entries_cte(f, names)
    aggs = []
    for s in STAGES:
        where, date_params = f.date_sql(funnel.STAGE_AT[s])
        params.update(date_params)
        aggs.append(f'count(*) FILTER (WHERE {where} AND {s}_at <= $as_of) AS "v_{s}"')
    for i, (s, t) in enumerate(HEADLINE_STEPS):
        where, _ = f.date_sql(funnel.STAGE_AT[s])
        aggs.append(
            f"count(*) FILTER (WHERE {where} AND {s}_at <= $as_of AND {t}_at <= $as_of) AS k{i}"
        )
    group_col = f'"{by}" AS grp, grouping("{by}") = 0 AS is_group, ' if by else ""
    sql = f"""
    WITH {cte}
    SELECT {group_col} {", ".join(aggs)}
    FROM entries
    {f'GROUP BY GROUPING SETS ((), ("{by}"))' if by else ""}
    """
    return flt.query_df(con, sql, {**params, "as_of": as_of})


def _sla_numbers(
    con: duckdb.DuckDBPyConnection, f: flt.Filters, by: str | None, as_of: datetime
) -> pd.DataFrame:
    """Per group and tier (and per group over all tiers): compliance and percentiles."""
    names = [by] if by else []
    cte, params = sla.handoffs_cte(f, sla.policies(con), names)
    sets = ["(tier)", "()"]
    if by:
        sets += [f'("{by}", tier)', f'("{by}")']
    group_col = f'"{by}" AS grp, grouping("{by}") = 0 AS is_group, ' if by else ""
    sql = f"""
    WITH {cte},
    d AS (
        SELECT *, status = 'responded' AS responded,
            status = 'responded' AND policy_minutes <= target_minutes AS ok,
            policy_minutes > target_minutes AS late
        FROM handoffs
    )
    SELECT {group_col} tier, grouping(tier) = 0 AS is_tier,
        any_value(target_minutes) AS target_minutes,
        count(*) FILTER (WHERE ok) AS k,
        count(*) FILTER (WHERE ok OR late) AS n,
        count(*) FILTER (WHERE NOT ok AND NOT late) AS pending,
        count(*) FILTER (WHERE responded) AS responded,
        quantile_cont(policy_minutes, 0.5) FILTER (WHERE responded) AS median_minutes,
        quantile_cont(policy_minutes, 0.9) FILTER (WHERE responded) AS p90_minutes,
        quantile_cont(wall_minutes, 0.5) FILTER (WHERE responded) AS wall_median,
        quantile_cont(wall_minutes, 0.9) FILTER (WHERE responded) AS wall_p90,
        quantile_cont(business_minutes, 0.5) FILTER (WHERE responded) AS business_median,
        quantile_cont(business_minutes, 0.9) FILTER (WHERE responded) AS business_p90
    FROM d
    GROUP BY GROUPING SETS ({", ".join(sets)})
    """
    return flt.query_df(con, sql, {**params, "as_of": as_of})


def _reason_numbers(con: duckdb.DuckDBPyConnection, f: flt.Filters, by: str | None) -> pd.DataFrame:
    """Per group and reason: non-accepted dispositions decided in the range."""
    where, params = f.sql("d.decided_at")
    group_col = (
        f"{flt.dimension_sql(by)} AS grp, grouping({flt.dimension_sql(by)}) = 0 AS is_group, "
        if by
        else ""
    )
    reason = f"coalesce(nullif(d.reason, ''), '{rejections.NO_REASON}')"
    sets = f"(({reason})" + (f", ({flt.dimension_sql(by)}, {reason}))" if by else ")")
    sql = f"""
    SELECT {group_col} {reason} AS reason, count(*) AS count
    FROM dispositions d
    JOIN {flt.lead_from_sql()} ON l.lead_id = d.lead_id
    WHERE d.outcome <> 'accepted' AND {where}
    GROUP BY GROUPING SETS {sets}
    """
    return flt.query_df(con, sql, params)


def _section(
    fun: pd.Series | None, tiers: pd.DataFrame, total: pd.Series | None, reasons: pd.DataFrame
) -> dict[str, Any]:
    """One block of headline numbers from the rows of one group (or the overall rows)."""
    out: dict[str, Any] = {
        "volumes": {s: int(fun[f"v_{s}"]) if fun is not None else 0 for s in STAGES}
    }
    out["conversions"] = {
        f"{s}_to_{t}": _rate(
            int(fun[f"k{i}"]) if fun is not None else 0,
            int(fun[f"v_{s}"]) if fun is not None else 0,
        )
        for i, (s, t) in enumerate(HEADLINE_STEPS)
    }
    out["sla"] = [
        {
            "tier": r["tier"],
            "target_minutes": r["target_minutes"],
            **_rate(int(r["k"]), int(r["n"])),
            "pending": int(r["pending"]),
            "median_minutes": r["median_minutes"],
            "p90_minutes": r["p90_minutes"],
        }
        for _, r in tiers.sort_values("tier").iterrows()
    ]
    out["response_minutes"] = {
        "responded": int(total["responded"]) if total is not None else 0,
        "median": total["wall_median"] if total is not None else None,
        "p90": total["wall_p90"] if total is not None else None,
        "business_median": total["business_median"] if total is not None else None,
        "business_p90": total["business_p90"] if total is not None else None,
    }
    top = reasons.sort_values(["count", "reason"], ascending=[False, True])
    n = int(top["count"].sum())
    out["top_rejection_reasons"] = [
        {"reason": r["reason"], "count": int(r["count"]), "share": r["count"] / n}
        for _, r in top.head(TOP_REASONS).iterrows()
    ]
    return out


def _rows(df: pd.DataFrame, group: Any | None) -> pd.DataFrame:
    """Rows of ``df`` for one group (``group`` None: the overall rows)."""
    if df.empty or "is_group" not in df.columns:
        return df
    if group is None:
        return df[~df["is_group"]]
    return df[df["is_group"] & (df["grp"] == group)]


def headline(
    con: duckdb.DuckDBPyConnection,
    start: date | str | None,
    end: date | str | None,
    by: str | None = None,
    filters: flt.Filters | None = None,
) -> dict[str, Any]:
    """Headline numbers for the dates ``start`` to ``end`` (inclusive, UTC).

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection (or cursor) on a Handoff Health database.
    start, end : date or ISO text, optional
        The range; each number applies it to its own event time (stage entries, cohort
        entries, handoffs, decisions). None leaves that side open.
    by : str, optional
        A dimension of :data:`analysis.filters.DIMENSIONS` (not ``score_band``): the
        same numbers per value under ``groups``.
    filters : Filters, optional
        Dimension filters to apply as well (their own dates are replaced by the range).

    Returns
    -------
    dict
        ``start``, ``end``, ``as_of`` (ISO text; the latest recorded fact),
        ``volumes`` (per stage: leads that first entered it in the range),
        ``conversions`` (per step ``S_to_T``: ``k`` of the ``n`` leads that entered S in
        the range reached T by ``as_of``, ``rate``, ``low``, ``high``), ``sla`` (per
        tier: ``target_minutes``, ``k`` responded within target of ``n`` decided
        handoffs, ``rate``, ``low``, ``high``, ``pending``, ``median_minutes`` and
        ``p90_minutes`` of responses on the tier's clock), ``response_minutes``
        (responded handoffs: count, wall-clock ``median`` and ``p90``,
        ``business_median`` and ``business_p90``), ``top_rejection_reasons`` (up to
        five reasons of non-accepted dispositions: ``reason``, ``count``, ``share``).
        With ``by``, also ``by`` and ``groups``: a list of ``{"value": ..., <the same
        keys>}``, most leads first.
    """
    start_d = flt.as_datetime(start).date() if start is not None else None
    end_d = flt.as_datetime(end).date() if end is not None else None
    f = (filters or flt.Filters()).with_dates(start_d, end_d)
    if by is not None and (by not in flt.DIMENSIONS or by == "score_band"):
        allowed = ", ".join(d for d in flt.DIMENSIONS if d != "score_band")
        raise ValueError(f"by must be one of {allowed}, got {by!r}")
    as_of = flt.data_as_of(con)
    out: dict[str, Any] = {"start": start_d, "end": end_d, "as_of": as_of}
    if as_of is None:
        out.update(
            _section(
                None,
                pd.DataFrame(columns=["tier"]),
                None,
                pd.DataFrame(columns=["reason", "count"]),
            )
        )
        if by:
            out.update(by=by, groups=[])
        return _plain(out)
    fun = _funnel_numbers(con, f, by, as_of)
    sla_df = _sla_numbers(con, f, by, as_of)
    reasons = _reason_numbers(con, f, by)

    def block(group: Any | None) -> dict[str, Any]:
        fr = _rows(fun, group)
        s = _rows(sla_df, group)
        totals = s[~s["is_tier"]]
        return _section(
            fr.iloc[0] if not fr.empty else None,
            s[s["is_tier"]],
            totals.iloc[0] if not totals.empty else None,
            _rows(reasons, group),
        )

    out.update(block(None))
    if by:
        groups = fun[fun["is_group"]].sort_values(["v_lead", "grp"], ascending=[False, True])
        values = list(groups["grp"])
        for df in (sla_df, reasons):
            values += [v for v in df.loc[df["is_group"], "grp"].unique() if v not in values]
        out["by"] = by
        out["groups"] = [{"value": v, **block(v)} for v in values]
    return _plain(out)
