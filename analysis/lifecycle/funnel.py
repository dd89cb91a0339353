"""The lifecycle funnel: stage entries, cohort conversion, velocity and breakdowns.

Query intuition
---------------
Everything here starts from one lead-level relation, ``entries``
(:func:`analysis.lifecycle.entries.entries_cte`): one row per lead with the time it first
entered each funnel stage. It is built in one pass: ``leads`` (with
the owner in ``reps``, for filters and breakdowns; filters apply before the join) joined
to its ``stage_changes`` and grouped by lead, one ``min(changed_at) FILTER (WHERE stage
IN (...))`` per stage:

- ``lead_at`` is the lead's creation time (or an earlier stage change, if one exists);
- for a later stage S, ``S_at`` is the earliest change to S *or any later stage*. When the
  history is in order this is exactly DESIGN.md's rule: the first entry of S, and when S
  was skipped, the first entry of the next stage the lead did reach (a lead that went
  ``mql -> opportunity`` reached ``sql`` at its opportunity time). When the history is out
  of order (an ``sql`` change stamped before the ``mql`` change) the entries stay
  monotone, because reaching a later stage implies having reached the earlier ones.
- only the first entry counts; every further ``mql`` change is a re-entry, counted in
  ``mql_reentries`` (recycles, see :mod:`analysis.rejections`).

Funnel steps are thus ordered per lead, and all metrics are grouped aggregates over
``entries`` done inside DuckDB, returning a few rows:

- period volumes: entries per stage per period (one GROUP BY period per stage);
- cohort conversion S->T: leads that entered S in a period, and the share of them that
  reached T (within W days of entering S, when a window is given). A conversion window is
  measured from the cohort's own entry into S. The window is inclusive: a lead that
  reaches T exactly W days after entering S counts. A cohort is *mature* when every
  member has had the full window by ``as_of``: ``cohort period end + W <= as_of``.
- velocity S->T: days between the two entries for leads that reached T, with mean,
  median, p75 and p90 (``quantile_cont``).

``as_of`` defaults to the latest recorded fact (:func:`analysis.filters.data_as_of`);
events after it are ignored, so a past ``as_of`` replays what was known then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd

from analysis import filters as flt
from analysis import stats
from analysis.definitions import is_complete_month
from analysis.lifecycle.changes import RateChange, rate_change
from analysis.lifecycle.entries import (
    STAGE_AT,
    by_names,
    check_grain,
    check_stage,
    check_step,
    empty_frame,
    entries_cte,
    quoted,
    resolve_as_of,
)
from analysis.store import STAGES

__all__ = [
    "STAGE_AT",
    "STEPS",
    "RateChange",
    "breakdown",
    "by_names",
    "check_grain",
    "check_stage",
    "check_step",
    "cohort_conversion",
    "cohort_matrix",
    "entries_cte",
    "month_over_month",
    "period_volumes",
    "rate_change",
    "resolve_as_of",
    "sales_cycle",
    "stage_conversion",
    "cohort_step_conversions",
    "step_conversions",
    "velocity",
]

_PANDAS_FREQ = {"day": "D", "week": "W-MON", "month": "MS", "quarter": "QS", "year": "YS"}


def period_volumes(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    grain: str = "month",
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Number of stage entries per stage per period.

    A lead counts once per stage, in the period of its first entry of that stage (a
    skipped stage counts in the period of the next stage reached). The date range applies
    to each entry time: a lead created in December that became an MQL in January counts
    as a January MQL.

    Returns
    -------
    DataFrame
        Columns ``period`` (start of the period, naive UTC timestamp), one column per
        breakdown in ``by``, ``stage`` (funnel order within a period) and ``entries``
        (number of leads entering that stage in that period). Every period between the
        first and the last one present appears for every stage, with 0 when nothing
        entered. Empty when nothing matches.
    """
    grain = check_grain(grain)
    names = by_names(by)
    cte, params = entries_cte(filters, names)
    # One small GROUP BY per stage over its own entry column (a NULL entry is never in
    # range), instead of unpivoting every lead into one row per stage first.
    parts = []
    for stage, col in STAGE_AT.items():
        date_where, date_params = filters.date_sql(col)
        parts.append(
            f"SELECT date_trunc('{grain}', {col}) AS period, {quoted(names)}"
            f"'{stage}' AS stage, count(*) AS entries FROM entries "
            f"WHERE {col} IS NOT NULL AND {date_where} GROUP BY ALL"
        )
    sql = f"WITH {cte}\n" + "\nUNION ALL\n".join(parts)
    df = flt.query_df(con, sql, {**params, **date_params})
    columns = ["period", *names, "stage", "entries"]
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns}).astype(
            {"entries": "int64", "period": "datetime64[us]"}
        )
    periods = pd.date_range(df["period"].min(), df["period"].max(), freq=_PANDAS_FREQ[grain])
    groups = (
        [tuple(g) for g in df[names].drop_duplicates().itertuples(index=False)] if names else [()]
    )
    full = pd.MultiIndex.from_tuples(
        [(p, *g, s) for p in periods for g in groups for s in STAGES],
        names=["period", *names, "stage"],
    )
    out = (
        df.set_index(["period", *names, "stage"])["entries"]
        .reindex(full, fill_value=0)
        .astype("int64")
        .reset_index()
    )
    return out[columns]


# cohort_conversion runs a little past 80 lines, most of it the numpydoc docstring.
def cohort_conversion(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    from_stage: str,
    to_stage: str,
    window_days: float | None = None,
    grain: str = "month",
    as_of: date | datetime | str | None = None,
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Cohort conversion from ``from_stage`` to ``to_stage``, per cohort period.

    A cohort is the leads that first entered ``from_stage`` in a period (the date range
    applies to that entry time, and entries after ``as_of`` are ignored). ``k`` of them
    reached ``to_stage`` by ``as_of`` and, when ``window_days`` is given, at most
    ``window_days`` days after entering ``from_stage`` (exactly W days still counts).
    ``rate = k / n`` with its 95% Wilson interval.

    A cohort is *mature* when all its members have had the whole window by ``as_of``:
    ``period end + window_days <= as_of``. Without a window, a cohort is mature once its
    period has ended; recent cohorts have still had less time to convert, which
    ``age_days`` shows. Immature cohorts must not be compared with mature ones.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection (or cursor) on a Handoff Health database.
    filters : Filters
        Dimension filters; the date range applies to the entry into ``from_stage``.
    from_stage, to_stage : str
        Funnel stages, ``to_stage`` after ``from_stage``.
    window_days : float, optional
        Conversion window in days, measured from the entry into ``from_stage``.
    grain : str
        Cohort period: day, week (starting Monday), month, quarter or year.
    as_of : date or datetime, optional
        The "now" of the analysis, naive UTC; default the latest recorded fact.
    by : str or list of str, optional
        Breakdowns from :data:`analysis.filters.DIMENSIONS`.

    Returns
    -------
    DataFrame
        ``cohort`` (period start), breakdown columns, ``k`` (converted), ``n`` (cohort
        size), ``rate``, ``low``, ``high``, ``mature`` (bool) and ``age_days`` (days from
        the end of the cohort period to ``as_of``; negative while the period runs).
    """
    # Long on purpose: a docstring and one SQL statement.
    check_step(from_stage, to_stage)
    grain = check_grain(grain)
    if window_days is not None and window_days < 0:
        raise ValueError(f"window_days must be >= 0 or None, got {window_days}")
    names = by_names(by)
    columns = ["cohort", *names, "k", "n", "rate", "low", "high", "mature", "age_days"]
    as_of_dt = resolve_as_of(con, as_of)
    if as_of_dt is None:
        return empty_frame(columns)
    cte, params = entries_cte(filters, names)
    f_at, t_at = STAGE_AT[from_stage], STAGE_AT[to_stage]
    date_where, date_params = filters.date_sql(f_at)
    sql = f"""
    WITH {cte},
    c AS (
        SELECT date_trunc('{grain}', {f_at}) AS cohort, {quoted(names)}
            ({t_at} IS NOT NULL AND {t_at} <= $as_of
             AND ($window_us IS NULL OR epoch_us({t_at}) - epoch_us({f_at}) <= $window_us))
                AS hit
        FROM entries
        WHERE {f_at} IS NOT NULL AND {f_at} <= $as_of AND {date_where}
    )
    SELECT cohort, {quoted(names)}
        count(*) FILTER (WHERE hit) AS k, count(*) AS n,
        (epoch_us($as_of) - epoch_us(cohort + INTERVAL 1 {grain})) / 86400e6 AS age_days
    FROM c
    GROUP BY ALL
    ORDER BY {quoted(names)} cohort
    """
    window_us = None if window_days is None else int(round(window_days * 86_400e6))
    df = flt.query_df(
        con, sql, {**params, **date_params, "as_of": as_of_dt, "window_us": window_us}
    )
    if df.empty:
        return empty_frame(columns)
    df = stats.add_rate_columns(df)
    df["mature"] = df["age_days"] >= (window_days or 0.0)
    return df[columns].reset_index(drop=True)


def cohort_matrix(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    from_stage: str = "mql",
    to_stage: str = "sql",
    as_of: date | datetime | str | None = None,
) -> pd.DataFrame:
    """Cumulative conversion by cohort month and months since entry, for a heatmap.

    The cohort is the leads that first entered ``from_stage`` in a calendar month (date
    range on that entry). Cell (cohort, m) is the share of the cohort that reached
    ``to_stage`` by the end of calendar month ``cohort + m`` (m = 0 is the entry month
    itself), counting only entries up to ``as_of``. Cells run from m = 0 to the month of
    ``as_of``; a cell is *mature* when its calendar month ended by ``as_of``, so the last
    cell of each row (the running month) is immature and may still grow.

    Returns
    -------
    DataFrame
        Long form: ``cohort`` (month start), ``months_since`` (int), ``k`` (reached
        ``to_stage`` by the end of that month, cumulative), ``n`` (cohort size), ``rate``,
        ``low``, ``high`` (95% Wilson) and ``mature`` (bool). Pivot ``rate`` on
        ``cohort`` x ``months_since`` for the heatmap.
    """
    check_step(from_stage, to_stage)
    columns = ["cohort", "months_since", "k", "n", "rate", "low", "high", "mature"]
    as_of_dt = resolve_as_of(con, as_of)
    if as_of_dt is None:
        return empty_frame(columns)
    cte, params = entries_cte(filters)
    f_at, t_at = STAGE_AT[from_stage], STAGE_AT[to_stage]
    date_where, date_params = filters.date_sql(f_at)
    sql = f"""
    WITH {cte},
    base AS (
        SELECT date_trunc('month', {f_at}) AS cohort,
            CASE WHEN {t_at} <= $as_of
                 THEN date_diff('month', date_trunc('month', {f_at}), date_trunc('month', {t_at}))
            END AS off
        FROM entries
        WHERE {f_at} IS NOT NULL AND {f_at} <= $as_of AND {date_where}
    ),
    sizes AS (SELECT cohort, count(*) AS n FROM base GROUP BY cohort),
    hits AS (SELECT cohort, off, count(*) AS c FROM base WHERE off IS NOT NULL GROUP BY ALL),
    grid AS (
        SELECT cohort, n,
            unnest(range(0, date_diff('month', cohort, date_trunc('month', $as_of)) + 1))
                AS months_since
        FROM sizes
    )
    SELECT g.cohort, g.months_since,
        sum(coalesce(h.c, 0)) OVER (PARTITION BY g.cohort ORDER BY g.months_since)::BIGINT AS k,
        g.n
    FROM grid g
    LEFT JOIN hits h ON h.cohort = g.cohort AND h.off = g.months_since
    ORDER BY g.cohort, g.months_since
    """
    df = flt.query_df(con, sql, {**params, **date_params, "as_of": as_of_dt})
    if df.empty:
        return empty_frame(columns)
    df = stats.add_rate_columns(df)
    # a cell is mature when its calendar month is complete (the one definition)
    df["mature"] = [
        is_complete_month((pd.Timestamp(c) + pd.DateOffset(months=int(m))).date(), as_of_dt)
        for c, m in zip(df["cohort"], df["months_since"], strict=True)
    ]
    return df[columns]


def stage_conversion(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    by: str | Sequence[str] | None = None,
    base_stage: str = "lead",
) -> pd.DataFrame:
    """The funnel: how many of a cohort reached each stage, step by step.

    The cohort is the leads that first entered ``base_stage`` (default ``lead``, i.e.
    leads created) in the date range. A lead reached stage S if its history shows S or
    any later stage, at any time recorded (an undated entry counts too; with a date range
    only leads whose ``base_stage`` entry is dated inside it are in the cohort). Pass
    :attr:`analysis.lifecycle.measurable.Measurability.funnel_start` as ``base_stage`` for
    a history that starts later (an opportunity-only export).

    Returns
    -------
    DataFrame
        One row per stage from ``base_stage`` to ``customer`` (per breakdown value):
        ``stage``; ``reached`` (k: leads of the cohort that reached it); ``step_n``
        (leads that reached the previous stage; the base stage is its own step, rate 1),
        ``step_rate``, ``step_low``, ``step_high`` (reached / step_n with 95% Wilson);
        ``overall_n`` (cohort size), ``overall_rate``, ``overall_low``, ``overall_high``
        (reached / cohort size, e.g. lead -> customer for the last row).
    """
    check_stage(base_stage)
    names = by_names(by)
    stages = list(STAGES[STAGES.index(base_stage) :])
    columns = [*names, "stage", "reached", "step_n", "step_rate", "step_low", "step_high"]
    columns += ["overall_n", "overall_rate", "overall_low", "overall_high"]
    cte, params = entries_cte(filters, names)
    date_where, date_params = filters.date_sql(STAGE_AT[base_stage])
    counts = ", ".join(f'count(*) FILTER (WHERE {s}_reached) AS "{s}"' for s in stages)
    sql = f"""
    WITH {cte}
    SELECT {quoted(names)} {counts}
    FROM entries
    WHERE {base_stage}_reached AND {date_where}
    GROUP BY ALL
    ORDER BY {quoted(names)} "{base_stage}" DESC
    """
    wide = flt.query_df(con, sql, {**params, **date_params})
    if wide.empty or (not names and int(wide[base_stage].iloc[0]) == 0):
        return empty_frame(columns)
    rows = []
    for rec in wide.to_dict("records"):
        prev = rec[base_stage]
        for s in stages:
            rows.append(
                {
                    **{n: rec[n] for n in names},
                    "stage": s,
                    "reached": rec[s],
                    "step_n": prev,
                    "overall_n": rec[base_stage],
                }
            )
            prev = rec[s]
    out = pd.DataFrame(rows)
    out = stats.add_rate_columns(out, k="reached", n="step_n", prefix="step_")
    out = stats.add_rate_columns(out, k="reached", n="overall_n", prefix="overall_")
    return out[columns]


def velocity(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    from_stage: str,
    to_stage: str,
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Time from entering ``from_stage`` to entering ``to_stage``, for leads that made it.

    The population is the leads that entered ``from_stage`` in the date range and have
    reached ``to_stage`` (a skipped stage takes the next reached stage's entry, so
    ``mql -> sql`` includes leads that went straight to an opportunity). Recent cohorts
    only show their fast converters yet; compare durations across mature periods only.

    Returns
    -------
    DataFrame
        One row (per breakdown value): ``n`` (leads that made it), ``mean_days``,
        ``median_days``, ``p75_days``, ``p90_days`` (days, fractional; quantiles are
        interpolated). An empty population gives n = 0 and NaN durations.
    """
    check_step(from_stage, to_stage)
    names = by_names(by)
    cte, params = entries_cte(filters, names)
    f_at, t_at = STAGE_AT[from_stage], STAGE_AT[to_stage]
    date_where, date_params = filters.date_sql(f_at)
    sql = f"""
    WITH {cte},
    d AS (
        SELECT {quoted(names)} (epoch_us({t_at}) - epoch_us({f_at})) / 86400e6 AS days
        FROM entries
        WHERE {f_at} IS NOT NULL AND {t_at} IS NOT NULL AND {date_where}
    )
    SELECT {quoted(names)} count(*) AS n, avg(days) AS mean_days,
        quantile_cont(days, 0.5) AS median_days, quantile_cont(days, 0.75) AS p75_days,
        quantile_cont(days, 0.9) AS p90_days
    FROM d
    {"GROUP BY ALL ORDER BY n DESC" if names else ""}
    """
    df = flt.query_df(con, sql, {**params, **date_params})
    return df.astype({"n": "int64"}).reset_index(drop=True)


def sales_cycle(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Sales cycle = :func:`velocity` from ``mql`` to ``customer`` (DESIGN.md).

    Population: leads handed off in the date range that became customers; durations in
    days from handoff to the customer entry.
    """
    return velocity(con, filters, "mql", "customer", by=by)


STEPS: tuple[tuple[str, str], ...] = (
    ("lead", "mql"),
    ("mql", "sql"),
    ("sql", "opportunity"),
    ("opportunity", "customer"),
    ("mql", "customer"),
)
"""Rates :func:`breakdown` reports: each funnel step, plus handoff-to-win."""

_PLURAL = {"lead": "leads", "mql": "mqls", "sql": "sqls", "opportunity": "opportunities"}
_PLURAL["customer"] = "customers"


def breakdown(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    by: str | Sequence[str],
) -> pd.DataFrame:
    """Funnel counts and step rates per value of a dimension (lead cohort view).

    Meaning (``CONVERSION_BASIS`` ``created_cohort``): of the leads created in the period
    that reached S, the share that also reached T.

    Population: leads created in the date range. For each value of ``by``: how many of
    them reached each stage (ever, as recorded), and the rate of each step in
    :data:`STEPS` as reached(T) / reached(S) with a 95% Wilson interval.

    Returns
    -------
    DataFrame
        Breakdown columns, ``leads``, ``mqls``, ``sqls``, ``opportunities``,
        ``customers`` (counts), then for each step ``{S}_to_{T}`` (rate, NaN when no lead
        reached S), ``{S}_to_{T}_low`` and ``{S}_to_{T}_high``. Sorted by leads,
        largest first.
    """
    names = by_names(by)
    if not names:
        raise ValueError("breakdown needs at least one dimension in by, got none")
    cte, params = entries_cte(filters, names)
    date_where, date_params = filters.date_sql("lead_at")
    counts = ", ".join(f'count(*) FILTER (WHERE {s}_reached) AS "{_PLURAL[s]}"' for s in STAGES)
    sql = f"""
    WITH {cte}
    SELECT {quoted(names)} {counts}
    FROM entries
    WHERE {date_where}
    GROUP BY ALL
    ORDER BY leads DESC, {", ".join(f'"{n}"' for n in names)}
    """
    df = flt.query_df(con, sql, {**params, **date_params})
    for s, t in STEPS:
        k = df[_PLURAL[t]].to_numpy(dtype="float64")
        n = df[_PLURAL[s]].to_numpy(dtype="float64")
        low, high = stats.wilson_interval(k, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            df[f"{s}_to_{t}"] = np.where(n > 0, k / n, np.nan)
        df[f"{s}_to_{t}_low"] = low
        df[f"{s}_to_{t}_high"] = high
    return df.reset_index(drop=True)


def cohort_step_conversions(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    by: str | Sequence[str] | None = None,
    steps: Sequence[tuple[str, str]] = STEPS,
    as_of: date | datetime | str | None = None,
) -> pd.DataFrame:
    """Cohort conversion of each step over the whole date range (the meeting numbers).

    Meaning (:data:`analysis.definitions.CONVERSION_BASIS` ``cohort``): of the
    leads that entered S in the period, the share that reached T by the end of the data.

    For a step S -> T the cohort is the leads that first entered S in the date range (and
    by ``as_of``), and ``k`` of them reached T by ``as_of``, without a window: "of the
    MQLs handed off in March, how many are SQLs now". Each step has its own cohort, so
    the rates do not multiply into a funnel; use :func:`stage_conversion` for that.

    Returns
    -------
    DataFrame
        Breakdown columns, ``from_stage``, ``to_stage``, ``k``, ``n``, ``rate``, ``low``,
        ``high`` (95% Wilson). One row per step in ``steps`` (per breakdown value).
    """
    for s, t in steps:
        check_step(s, t)
    names = by_names(by)
    columns = [*names, "from_stage", "to_stage", "k", "n", "rate", "low", "high"]
    as_of_dt = resolve_as_of(con, as_of)
    if as_of_dt is None:
        return empty_frame(columns)
    cte, params = entries_cte(filters, names)
    aggs = []
    for i, (s, t) in enumerate(steps):
        in_range, date_params = filters.date_sql(STAGE_AT[s])
        params.update(date_params)
        cohort = f"{STAGE_AT[s]} <= $as_of AND {in_range}"
        aggs.append(f"count(*) FILTER (WHERE {cohort}) AS n{i}")
        aggs.append(f"count(*) FILTER (WHERE {cohort} AND {STAGE_AT[t]} <= $as_of) AS k{i}")
    sql = f"""
    WITH {cte}
    SELECT {quoted(names)} {", ".join(aggs)}
    FROM entries
    {"GROUP BY ALL ORDER BY n0 DESC" if names else ""}
    """
    wide = flt.query_df(con, sql, {**params, "as_of": as_of_dt})
    rows = []
    for rec in wide.to_dict("records"):
        for i, (s, t) in enumerate(steps):
            rows.append(
                {
                    **{n: rec[n] for n in names},
                    "from_stage": s,
                    "to_stage": t,
                    "k": rec[f"k{i}"],
                    "n": rec[f"n{i}"],
                }
            )
    if not rows:
        return empty_frame(columns)
    return stats.add_rate_columns(pd.DataFrame(rows))[columns]


def month_over_month(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    from_stage: str,
    to_stage: str,
    window_days: float | None = None,
    as_of: date | datetime | str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Monthly cohort conversion, each month tested against the month before.

    Uses :func:`cohort_conversion` with monthly cohorts. ``change`` is this month's rate
    minus the previous month's; ``z`` and ``p_value`` come from the pooled two-proportion
    z-test. A change is ``significant`` only when both months are mature (so the two
    cohorts had the same chance to convert) and ``p_value < alpha``; ``comparable`` says
    whether both were mature.

    Returns
    -------
    DataFrame
        The :func:`cohort_conversion` columns plus ``prev_k``, ``prev_n``, ``prev_rate``,
        ``change``, ``z``, ``p_value``, ``comparable`` and ``significant``. The first
        month has no previous month (NaN, not significant).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    df = cohort_conversion(con, filters, from_stage, to_stage, window_days, "month", as_of)
    extra = ["prev_k", "prev_n", "prev_rate", "change", "z", "p_value"]
    if df.empty:
        return empty_frame([*df.columns, *extra, "comparable", "significant"])
    prev = df.shift(1)
    # the previous row is only "the month before" when it is exactly one month earlier
    adjacent = prev["cohort"] == (df["cohort"] - pd.DateOffset(months=1))
    df["prev_k"] = prev["k"].where(adjacent)
    df["prev_n"] = prev["n"].where(adjacent)
    df["prev_rate"] = prev["rate"].where(adjacent)
    df["change"] = df["rate"] - df["prev_rate"]
    z, p = stats.two_proportion_test(
        df["prev_k"].fillna(0), df["prev_n"].fillna(0), df["k"], df["n"]
    )
    df["z"] = np.where(adjacent, z, np.nan)
    df["p_value"] = np.where(adjacent, p, np.nan)
    df["comparable"] = adjacent & df["mature"] & prev["mature"].where(adjacent, False).astype(bool)
    df["significant"] = df["comparable"] & (df["p_value"] < alpha)
    return df


step_conversions = cohort_step_conversions
"""The former name of :func:`cohort_step_conversions` (kept for callers)."""
