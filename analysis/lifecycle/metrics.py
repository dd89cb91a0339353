"""Headline numbers for a date range, as plain JSON-ready data (``handoff metrics``).

Query intuition
---------------
The headline is the page of numbers a monthly review quotes. It reuses the engine's
relations and definitions rather than inventing new ones, with ``GROUP BY GROUPING
SETS`` so that the overall figures and, with a breakdown, the per-value figures come out
of the same pass:

1. funnel, over :func:`analysis.lifecycle.entries.entries_cte`: stage volumes (first
   entries of each stage in the range, as :func:`analysis.lifecycle.funnel.period_volumes`
   counts them) and the conversion of every pair S -> T (:data:`PAIRS`, lead -> MQL ...
   MQL -> customer) for the cohort that entered S in the range (the ``cohort`` meaning,
   as :func:`analysis.lifecycle.funnel.cohort_step_conversions`);
2. deals, over :func:`analysis.lifecycle.deals.deal_summary` (the one definition of won):
   won, lost, open, won amount, win rate; and the sales cycle (MQL -> customer,
   :func:`analysis.lifecycle.funnel.sales_cycle`);
3. SLA, over :func:`analysis.lifecycle.handoffs.handoffs_cte`: compliance per tier (each
   handoff's SLA outcome, :func:`analysis.lifecycle.handoffs.sla_outcome_sql`) and
   response-time percentiles of responded handoffs on both clocks;
4. rejection reasons: non-accepted dispositions decided in the range, by reason (as
   :func:`analysis.lifecycle.rejections.reason_pareto`).

Every rate carries ``k``, ``n`` and its 95% Wilson interval; the result holds only plain
Python ints, floats (None when undefined), strings and lists/dicts of them. What the
history cannot support (:mod:`analysis.lifecycle.measurable`) is ``null`` with a sibling
``<key>_reason``, never a 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis import filters as flt
from analysis import stats, store
from analysis.definitions import (
    CONVERSION_BASIS,
    HANDOFF_STAGE,
    WON_STAGE,
    data_as_of,
)
from analysis.lifecycle import deals, funnel, measurable, rejections, sla
from analysis.store import STAGES

TOP_REASONS = 5
"""How many rejection reasons the headline lists."""


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


PAIRS: tuple[tuple[str, str], ...] = tuple(
    (s, t) for i, s in enumerate(STAGES) for t in STAGES[i + 1 :]
)
"""Every stage-to-later-stage conversion the headline reports (lead -> mql ... mql -> customer)."""


BASES: dict[str, str] = {
    "entered": "cohort",
    "created": "created_cohort",
}
"""The two meanings a period's stage count and conversion can have, by name, and the
:data:`analysis.definitions.CONVERSION_BASIS` entry each one is:

- ``entered``: the leads that *entered* stage S in the period (S's period volume), and the
  share of them that reached T by the end of the data (each step its own cohort);
- ``created``: the leads *created* in the period that reached S, and the share of them that
  also reached T (one lead cohort followed down the funnel)."""

BASIS_NAMES: dict[str, str] = {
    "entered": "Entered the stage in the period",
    "created": "Created in the period",
}
"""Short names of :data:`BASES` for controls, cards and table captions."""


def check_basis(basis: str) -> str:
    """``basis`` when it is one of :data:`BASES`; ValueError otherwise."""
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}, got {basis!r}")
    return basis


def basis_sentence(basis: str, from_label: str = "S", to_label: str = "T") -> str:
    """The sentence that says what a count and an S → T rate under ``basis`` mean."""
    return CONVERSION_BASIS[BASES[check_basis(basis)]].format(
        from_label=from_label, to_label=to_label
    )


def _entered(f: flt.Filters, stage: str) -> tuple[str, dict[str, Any]]:
    """SQL condition: the lead entered ``stage`` in the range, by ``$as_of``.

    Without a date range an undated entry counts (the lead reached the stage, when is
    unknown); with one only dated entries inside it do.
    """
    at = funnel.STAGE_AT[stage]
    where, params = f.date_sql(at)
    return f"({stage}_reached AND ({at} IS NULL OR {at} <= $as_of) AND {where})", params


def _in_cohort(f: flt.Filters, stage: str, basis: str) -> tuple[str, dict[str, Any]]:
    """SQL condition: the lead counts at ``stage`` under ``basis`` (see :data:`BASES`)."""
    if basis == "entered":
        return _entered(f, stage)
    created, params = _entered(f, "lead")
    at = funnel.STAGE_AT[stage]
    return f"({created} AND {stage}_reached AND ({at} IS NULL OR {at} <= $as_of))", params


def _funnel_numbers(
    con: duckdb.DuckDBPyConnection,
    f: flt.Filters,
    by: str | None,
    as_of: datetime,
    basis: str = "entered",
) -> pd.DataFrame:
    """Per group: volumes ``v_<stage>``, stage counts ``c_<stage>`` and ``k<i>`` per pair.

    ``c_<stage>`` counts under ``basis``; ``k<i>`` (reached T) is per pair in :data:`PAIRS`.
    The cohort of a pair S -> T is the stage count of S under ``basis``, ``k`` those of them
    that reached T by ``as_of`` (no window). Volumes are always entries in the range.
    """
    names = [by] if by else []
    cte, params = funnel.entries_cte(f, names)
    aggs, date_params = _numbers_aggs(f, basis)
    params.update(date_params)
    where = _in_range_sql(f)
    if by:
        sql = _grouped_numbers_sql(cte, aggs, by, where)
    else:
        sql = f"WITH {cte} SELECT {aggs} FROM entries {where}"
    return flt.query_df(con, sql, {**params, "as_of": as_of})


def _grouped_numbers_sql(cte: str, aggs: str, by: str, where: str) -> str:
    """The grouped query of :func:`_funnel_numbers`: a total row and one row per value.

    Only the leads with an entry in the range are counted (``where``, see
    :func:`_in_range_sql`): a lead with none adds nothing to any count. Every value of
    ``by`` among the filtered leads still gets its row: the values no counted lead has
    get one of zeros, as when every lead was counted (at 1M, a month by source 95-110 ->
    45-63 ms).
    """
    group_col = f'"{by}" AS grp, grouping("{by}") = 0 AS is_group'
    counted = (
        f'SELECT {group_col}, {aggs} FROM entries {where} GROUP BY GROUPING SETS ((), ("{by}"))'
    )
    if not where:
        return f"WITH {cte} {counted}"
    zeros = ", ".join(f'0 AS "{name}"' for name in _count_names())
    return f"""
    WITH {cte}, counted AS ({counted})
    SELECT * FROM counted
    UNION ALL
    SELECT grp, TRUE AS is_group, {zeros}
    FROM (SELECT "{by}" AS grp FROM entries EXCEPT SELECT grp FROM counted WHERE is_group)
    """


def _count_names() -> list[str]:
    """The count columns of :func:`_numbers_aggs`, in its order."""
    names = [n for s in STAGES for n in (f"v_{s}", f"c_{s}")]
    return names + [f"k{i}" for i in range(len(PAIRS))]


def _numbers_aggs(f: flt.Filters, basis: str) -> tuple[str, dict[str, Any]]:
    """The conditional counts of :func:`_funnel_numbers` as a SELECT list, and its params."""
    aggs, params = [], {}
    for s in STAGES:
        cond, date_params = _entered(f, s)
        params.update(date_params)
        aggs.append(f'count(*) FILTER (WHERE {cond}) AS "v_{s}"')
        cond, _ = _in_cohort(f, s, basis)
        aggs.append(f'count(*) FILTER (WHERE {cond}) AS "c_{s}"')
    for i, (s, t) in enumerate(PAIRS):
        cond, _ = _in_cohort(f, s, basis)
        t_at = funnel.STAGE_AT[t]
        aggs.append(
            f"count(*) FILTER (WHERE {cond} AND {t}_reached "
            f"AND ({t_at} IS NULL OR {t_at} <= $as_of)) AS k{i}"
        )
    return ", ".join(aggs), params


def _in_range_sql(f: flt.Filters) -> str:
    """``WHERE`` keeping the leads with some stage entry in ``f``'s dates ("" without dates).

    Every count of :func:`_funnel_numbers` requires an entry in the range (its stage's, or
    the creation for the ``created`` basis), so without groups (one output row whatever
    matches) dropping the other leads first changes no number and spares most of the
    conditional counts over the whole history.
    """
    if f.start is None and f.end is None:
        return ""
    return "WHERE " + " OR ".join(f"({f.date_sql(funnel.STAGE_AT[s])[0]})" for s in STAGES)


def funnel_counts(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    basis: str = "entered",
    as_of: date | datetime | str | None = None,
) -> pd.DataFrame:
    """The period's funnel under one definition: a count per stage and each step's rate.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection (or cursor) on a Handoff Health database.
    filters : Filters
        Dimension filters and the period (``start``..``end``, inclusive UTC days).
    basis : str
        ``entered`` or ``created`` (:data:`BASES`): what a stage count means.
    as_of : date or datetime, optional
        The "now": entries and conversions after it are ignored (default the data's end;
        with no dated fact at all, every recorded entry); a past ``as_of`` replays what was
        known then (comparisons at the same age).

    Returns
    -------
    DataFrame
        One row per stage in funnel order: ``stage``, ``count`` (leads counted at the stage
        under ``basis``), ``entered`` (leads that first entered it in the period),
        ``next_stage`` (None for the last), ``k`` (of the ``count`` leads, those that reached
        the next stage by ``as_of``), ``n`` (= ``count``), ``rate``, ``low``, ``high``
        (95% Wilson; NaN for the last stage).
    """
    return funnel_counts_many(con, [(filters, as_of)], basis)[0]


def _renamed(sql: str, params: dict[str, Any], suffix: str) -> tuple[str, dict[str, Any]]:
    """``sql`` and ``params`` with the date parameters ``$f_start``/``$f_end`` suffixed."""
    for name in ("f_start", "f_end"):
        sql = sql.replace(f"${name}", f"${name}{suffix}")
    return sql, {f"{k}{suffix}" if k in ("f_start", "f_end") else k: v for k, v in params.items()}


def funnel_counts_many(
    con: duckdb.DuckDBPyConnection,
    periods: list[tuple[flt.Filters, date | datetime | str | None]],
    basis: str = "entered",
) -> list[pd.DataFrame]:
    """:func:`funnel_counts` of several (filters, as_of) at once, in one query.

    Every filters must have the same dimension filters (only the dates differ), as a
    period and its comparison periods do. Query intuition: each period's counts are the
    conditional counts of :func:`_funnel_numbers` with its own date and ``as_of``
    parameters (suffixed ``_0``, ``_1``, ...) and columns prefixed ``p0_``, ``p1_``, ...,
    over the leads with an entry in any of the ranges (:func:`_in_range_sql`), so the
    lead relation is read and the query planned once.
    """
    check_basis(basis)
    if len({f.with_dates(None, None) for f, _ in periods}) > 1:
        raise ValueError("funnel_counts_many needs the same dimension filters for every period")
    cte, params = funnel.entries_cte(periods[0][0], [])
    aggs: list[str] = []
    ranges: list[str] | None = []  # None once a period has no dates: every lead counts
    for j, (f, as_of) in enumerate(periods):
        sfx = f"_{j}"
        # an undated history has no "now": every recorded entry counts
        params[f"as_of{sfx}"] = funnel.resolve_as_of(con, as_of) or datetime(9999, 12, 31)
        part, part_params = _numbers_aggs(f, basis)
        part = part.replace("$as_of", f"$as_of{sfx}")
        part = part.replace(' AS "v_', f' AS "p{j}_v_').replace(' AS "c_', f' AS "p{j}_c_')
        part = part.replace(" AS k", f" AS p{j}_k")
        part, part_params = _renamed(part, part_params, sfx)
        aggs.append(part)
        params.update(part_params)
        where = _in_range_sql(f)
        if not where:
            ranges = None
        elif ranges is not None:
            ranges.append(_renamed(where.removeprefix("WHERE "), {}, sfx)[0])
    where = "WHERE " + " OR ".join(ranges) if ranges else ""
    sql = f"WITH {cte} SELECT {', '.join(aggs)} FROM entries {where}"
    rec = flt.query_df(con, sql, params).iloc[0].to_dict()
    return [
        _counts_frame(
            {k.removeprefix(f"p{j}_"): v for k, v in rec.items() if k.startswith(f"p{j}_")}
        )
        for j in range(len(periods))
    ]


def _counts_frame(rec: dict[str, Any]) -> pd.DataFrame:
    """The :func:`funnel_counts` frame from one period's ``v_``, ``c_`` and ``k`` counts.

    Built column by column (the Wilson bounds as arrays): a frame built row by row and
    patched with ``.loc`` cost more than the query here.
    """
    nxt = [*STAGES[1:], None]
    count = np.array([int(rec.get(f"c_{s}", 0)) for s in STAGES], dtype="int64")
    k = np.array(
        [
            int(rec.get(f"k{PAIRS.index((s, t))}", 0)) if t else np.nan
            for s, t in zip(STAGES, nxt, strict=True)
        ],
        dtype="float64",
    )
    n = np.where([t is not None for t in nxt], count.astype("float64"), np.nan)
    low, high = stats.wilson_interval(np.nan_to_num(k), np.nan_to_num(n))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, k / n, np.nan)
    last = np.isnan(n)
    return pd.DataFrame(
        {
            "stage": list(STAGES),
            "count": count,
            "entered": np.array([int(rec.get(f"v_{s}", 0)) for s in STAGES], dtype="int64"),
            "next_stage": nxt,
            "k": k,
            "n": n,
            "rate": np.where(last, np.nan, rate),
            "low": np.where(last, np.nan, low),
            "high": np.where(last, np.nan, high),
        }
    )


SLA_AGGREGATES = """any_value(target_minutes) AS target_minutes,
        count(*) FILTER (WHERE ok) AS k,
        count(*) FILTER (WHERE decided) AS n,
        count(*) FILTER (WHERE NOT decided) AS pending,
        count(*) FILTER (WHERE responded) AS responded,
        quantile_cont(policy_minutes, 0.5) FILTER (WHERE responded) AS median_minutes,
        quantile_cont(policy_minutes, 0.9) FILTER (WHERE responded) AS p90_minutes,
        quantile_cont(wall_minutes, 0.5) FILTER (WHERE responded) AS wall_median,
        quantile_cont(wall_minutes, 0.9) FILTER (WHERE responded) AS wall_p90,
        quantile_cont(business_minutes, 0.5) FILTER (WHERE responded) AS business_median,
        quantile_cont(business_minutes, 0.9) FILTER (WHERE responded) AS business_p90"""
"""The SELECT list of the SLA headline per group: compliance k of n (met of decided),
pending, responded, and the median and 90th percentile response on the policy's clock and
on both clocks; over a ``d`` relation with the ``ok``/``decided``/``responded`` flags."""


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
            sla_outcome = 'met' AS ok,
            sla_outcome IN {sla.DECIDED_OUTCOMES} AS decided
        FROM handoffs
    )
    SELECT {group_col} tier, grouping(tier) = 0 AS is_tier,
        {SLA_AGGREGATES}
    FROM d
    GROUP BY GROUPING SETS ({", ".join(sets)})
    """
    return flt.query_df(con, sql, {**params, "as_of": as_of})


def _reason_numbers(con: duckdb.DuckDBPyConnection, f: flt.Filters, by: str | None) -> pd.DataFrame:
    """Per group and reason: non-accepted dispositions decided in the range."""
    source, d = rejections.dispositions_from()
    where, params = f.sql(f"{d}.decided_at")
    group_col = (
        f"{flt.dimension_sql(by)} AS grp, grouping({flt.dimension_sql(by)}) = 0 AS is_group, "
        if by
        else ""
    )
    reason = f"coalesce(nullif({d}.reason, ''), '{rejections.NO_REASON}')"
    sets = f"(({reason})" + (f", ({flt.dimension_sql(by)}, {reason}))" if by else ")")
    sql = f"""
    SELECT {group_col} {reason} AS reason, count(*) AS count
    FROM {source}
    WHERE {d}.outcome <> 'accepted' AND {where}
    GROUP BY GROUPING SETS {sets}
    """
    return flt.query_df(con, sql, params)


def _null(out: dict[str, Any], key: str, reason: str) -> None:
    """Mark ``out[key]`` not measurable: ``None`` plus ``<key>_reason``."""
    out[key] = None
    out[f"{key}_reason"] = reason


def _start_reason(start: str) -> str:
    return (
        f"this history starts at the {start} stage, so earlier stages and conversions "
        "from them cannot be measured."
    )


def _funnel_block(fun: Mapping[str, Any] | None, avail: measurable.Measurability) -> dict[str, Any]:
    """Volumes and every pair's cohort conversion from one row of :func:`_funnel_numbers`."""
    start = STAGES.index(avail.funnel_start)
    volumes: dict[str, Any] = {}
    counts: dict[str, Any] = {}
    for i, s in enumerate(STAGES):
        if i < start:
            _null(volumes, s, _start_reason(avail.funnel_start))
            _null(counts, s, _start_reason(avail.funnel_start))
        else:
            volumes[s] = int(fun[f"v_{s}"]) if fun is not None else 0
            counts[s] = int(fun[f"c_{s}"]) if fun is not None else 0
    conversions: dict[str, Any] = {}
    for i, (s, t) in enumerate(PAIRS):
        key = f"{s}_to_{t}"
        if STAGES.index(s) < start:
            _null(conversions, key, _start_reason(avail.funnel_start))
            continue
        k = int(fun[f"k{i}"]) if fun is not None else 0
        n = int(fun[f"c_{s}"]) if fun is not None else 0
        conversions[key] = {"from": s, "to": t, **_rate(k, n)}
    return {"volumes": volumes, "stage_counts": counts, "conversions": conversions}


def _sla_block(rows: list[dict[str, Any]], avail: measurable.Measurability) -> dict[str, Any]:
    """SLA compliance per tier and response-time percentiles, or null with the reason.

    ``rows`` are one group's records of an SLA grouping (:func:`_sla_numbers`, or the
    review's per-month figures): a row per tier (``is_tier``) and the row over all tiers.
    """
    out: dict[str, Any] = {}
    if not avail.sla.measurable:
        _null(out, "sla", avail.sla.reason)
        _null(out, "response_minutes", avail.sla.reason)
        return out
    tiers = [r for r in rows if r["is_tier"]]
    total = next((r for r in rows if not r["is_tier"]), None)
    out["sla"] = [
        {
            "tier": r["tier"],
            "target_minutes": r["target_minutes"],
            **_rate(int(r["k"]), int(r["n"])),
            "pending": int(r["pending"]),
            "median_minutes": r["median_minutes"],
            "p90_minutes": r["p90_minutes"],
        }
        for r in sorted(tiers, key=lambda r: r["tier"])
    ]
    out["response_minutes"] = {
        "responded": int(total["responded"]) if total is not None else 0,
        "median": total["wall_median"] if total is not None else None,
        "p90": total["wall_p90"] if total is not None else None,
        "business_median": total["business_median"] if total is not None else None,
        "business_p90": total["business_p90"] if total is not None else None,
    }
    return out


def _deals_block(
    deals: Mapping[str, Any] | None,
    cycle: Mapping[str, Any] | None,
    avail: measurable.Measurability,
) -> dict[str, Any]:
    """Won deals, win rate, won amount, open deals and sales cycle (or null + reason)."""
    out: dict[str, Any] = {"won": int(deals["won"]) if deals is not None else 0}
    if avail.win_rate.measurable:
        k, n = (int(deals["win_k"]), int(deals["win_n"])) if deals is not None else (0, 0)
        out["win_rate"] = _rate(k, n)
    else:
        _null(out, "win_rate", avail.win_rate.reason)
    if avail.revenue.measurable:
        amount = deals["won_amount"] if deals is not None else None
        out["won_amount"] = 0.0 if amount is None or pd.isna(amount) else float(amount)
        out["won_with_amount"] = int(deals["won_with_amount"]) if deals is not None else 0
    else:
        _null(out, "won_amount", avail.revenue.reason)
    if avail.open_deals.measurable:
        out["open_deals"] = int(deals["open"]) if deals is not None else 0
    else:
        _null(out, "open_deals", avail.open_deals.reason)
    if not avail.dates.measurable:
        _null(out, "sales_cycle", avail.dates.reason)
    elif not avail.handoffs.measurable:
        _null(out, "sales_cycle", avail.handoffs.reason)
    else:
        n = int(cycle["n"]) if cycle is not None else 0
        out["sales_cycle"] = {
            "from": HANDOFF_STAGE,
            "to": WON_STAGE,
            "n": n,
            "median_days": cycle["median_days"] if n else None,
            "p90_days": cycle["p90_days"] if n else None,
        }
    return out


def _reasons_block(
    reasons: list[dict[str, Any]], avail: measurable.Measurability
) -> dict[str, Any]:
    """Top rejection reasons with their shares, or null with the reason."""
    out: dict[str, Any] = {}
    if not avail.rejections.measurable:
        _null(out, "top_rejection_reasons", avail.rejections.reason)
        return out
    top = sorted(((r["reason"], r["count"]) for r in reasons), key=lambda rc: (-rc[1], rc[0]))
    n = sum(c for _, c in top)
    out["top_rejection_reasons"] = [
        {"reason": r, "count": int(c), "share": c / n} for r, c in top[:TOP_REASONS]
    ]
    return out


def _by_group(df: pd.DataFrame) -> Callable[[Any | None], list[dict[str, Any]]]:
    """The rows of ``df`` for one group (``None``: the overall rows), as records.

    A frame without grouping columns is every group's rows. The frame is turned into
    records and split once, so a breakdown costs a dictionary look-up per group rather
    than a pass over the frame (by rep at 1M, 230 groups: the headline 1.2-1.4 -> 0.35 s).
    """
    records = df.to_dict("records")
    if df.empty or "is_group" not in df.columns:
        return lambda group: records
    overall: list[dict[str, Any]] = []
    parts: dict[Any, list[dict[str, Any]]] = {}
    for r in records:
        if r["is_group"]:
            parts.setdefault(r["grp"], []).append(r)
        else:
            overall.append(r)
    return lambda group: overall if group is None else parts.get(group, [])


def _first(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first of ``rows``, or None when there is none."""
    return rows[0] if rows else None


def _velocity_rows(con: duckdb.DuckDBPyConnection, f: flt.Filters, by: str | None) -> pd.DataFrame:
    """Sales cycle rows (overall, and per value of ``by``) shaped like the grouping sets."""
    overall = funnel.sales_cycle(con, f).assign(is_group=False, grp=None)
    if not by:
        return overall
    per = funnel.sales_cycle(con, f, by=by).rename(columns={by: "grp"}).assign(is_group=True)
    return pd.concat([overall, per], ignore_index=True)


def _range_filters(
    start: date | str | None, end: date | str | None, by: str | None, filters: flt.Filters | None
) -> flt.Filters:
    """The filters of :func:`headline`: ``filters`` over ``start``..``end``; checks ``by``."""
    start_d = flt.as_datetime(start).date() if start is not None else None
    end_d = flt.as_datetime(end).date() if end is not None else None
    if by is not None and (by not in flt.DIMENSIONS or by == "score_band"):
        allowed = ", ".join(d for d in flt.DIMENSIONS if d != "score_band")
        raise ValueError(f"by must be one of {allowed}, got {by!r}")
    return (filters or flt.Filters()).with_dates(start_d, end_d)


# headline runs a little past 80 lines: half of it is the documented JSON shape.
def headline(
    con: duckdb.DuckDBPyConnection,
    start: date | str | None,
    end: date | str | None,
    by: str | None = None,
    filters: flt.Filters | None = None,
    basis: str = "entered",
) -> dict[str, Any]:
    """Headline numbers for the dates ``start`` to ``end`` (inclusive, UTC).

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection (or cursor) on a Handoff Health database.
    start, end : date or ISO text, optional
        The range; each number applies it to its own event time (stage entries, cohort
        entries, handoffs, decisions, deal outcomes). None leaves that side open.
    by : str, optional
        A dimension of :data:`analysis.filters.DIMENSIONS` (not ``score_band``): the
        same numbers per value under ``groups``.
    filters : Filters, optional
        Dimension filters to apply as well (their own dates are replaced by the range).
    basis : str
        What a stage count and a conversion mean (:data:`BASES`): ``entered`` (leads that
        entered the stage in the range; the default) or ``created`` (leads created in the
        range that reached it).

    Returns
    -------
    dict
        ``start``, ``end``, ``as_of`` (ISO text; the latest recorded fact),
        ``funnel_start`` (the first stage this history shows), ``basis`` and
        ``basis_name`` (the definition chosen), ``conversion_basis`` (what the stage counts
        and conversions mean, in words), ``volumes`` (per stage: leads that first entered
        it in the range, whatever the basis), ``stage_counts`` (per stage: leads counted
        there under the basis), ``conversions`` (every pair ``S_to_T`` of :data:`PAIRS`:
        ``from``, ``to``, ``k`` of the ``n`` leads counted at S reached T by ``as_of``,
        ``rate``, ``low``, ``high``), ``won`` (deals won in the range, one
        definition: :mod:`analysis.lifecycle.deals`), ``win_rate`` (won ÷ (won + lost)
        with k, n, interval), ``won_amount`` and ``won_with_amount``, ``open_deals``
        (open now), ``sales_cycle`` (MQL -> customer: ``n``, ``median_days``,
        ``p90_days``), ``sla`` (per tier: ``target_minutes``, ``k`` met of ``n`` decided
        handoffs, ``rate``, ``low``, ``high``, ``pending``, ``median_minutes``,
        ``p90_minutes``), ``response_minutes`` (``responded``, wall-clock ``median`` /
        ``p90``, ``business_median`` / ``business_p90``), ``top_rejection_reasons`` (up to
        five: ``reason``, ``count``, ``share``). A number this history cannot support is
        ``null`` with a sibling ``<key>_reason`` saying why
        (:mod:`analysis.lifecycle.measurable`); ``not_measurable`` lists every such
        group. With ``by``, also ``by`` and ``groups``: a list of ``{"value": ..., <the
        same keys>}``, most leads first.
    """
    # Long on purpose: a docstring listing every block of the JSON, then one call per block.
    check_basis(basis)
    f = _range_filters(start, end, by, filters)
    start_d, end_d = f.start, f.end
    as_of = data_as_of(con)
    avail = measurable.availability(con)
    out: dict[str, Any] = {
        "start": start_d,
        "end": end_d,
        "as_of": as_of,
        "funnel_start": avail.funnel_start,
        "basis": basis,
        "basis_name": BASIS_NAMES[basis],
        "conversion_basis": basis_sentence(basis),
        "not_measurable": avail.reasons(),
    }
    empty = pd.DataFrame(columns=["is_group", "grp"])
    if as_of is None:
        fun = sla_df = reasons = deals_df = cycle = empty
    else:
        # five independent queries: side by side, the slowest sets the time
        fun, sla_df, reasons, deals_df, cycle = store.side_by_side(
            con,
            [
                lambda c: _funnel_numbers(c, f, by, as_of, basis),
                lambda c: _sla_numbers(c, f, by, as_of) if avail.sla.measurable else empty,
                lambda c: _reason_numbers(c, f, by),
                lambda c: deals.deal_summary(c, f, by=by, as_of=as_of),
                lambda c: _velocity_rows(c, f, by),
            ],
        )

    fun_of, sla_of, reasons_of, deals_of, cycle_of = map(
        _by_group, (fun, sla_df, reasons, deals_df, cycle)
    )

    def block(group: Any | None) -> dict[str, Any]:
        return {
            **_funnel_block(_first(fun_of(group)), avail),
            **_deals_block(_first(deals_of(group)), _first(cycle_of(group)), avail),
            **_sla_block(sla_of(group), avail),
            **_reasons_block(reasons_of(group), avail),
        }

    out.update(block(None))
    if by:
        values = []
        if len(fun):
            groups = fun[fun["is_group"]].sort_values(["v_lead", "grp"], ascending=[False, True])
            values = list(groups["grp"])
        for df in (sla_df, reasons, deals_df):
            if len(df):
                values += [v for v in df.loc[df["is_group"], "grp"].unique() if v not in values]
        out["by"] = by
        out["groups"] = [{"value": v, **block(v)} for v in values]
    return _plain(out)
