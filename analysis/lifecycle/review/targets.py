"""Monthly targets: read, edit grid, write through the write path; goals vs actuals."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis import filters as flt
from analysis import store
from analysis.lifecycle import measurable
from analysis.lifecycle.review.common import GOAL_BY_METRIC, GOALS, add_months, parse_month
from analysis.store import STAGES

# --------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------

TARGETS_SQL = """
SELECT date_trunc('month', month)::DATE AS month, metric, arg_max(value, month) AS value
FROM targets
WHERE ($first IS NULL OR month >= $first) AND ($end IS NULL OR month < $end)
GROUP BY ALL
ORDER BY month, metric
"""


def load_targets(
    con: duckdb.DuckDBPyConnection, first: date | None = None, last: date | None = None
) -> pd.DataFrame:
    """Targets of the months ``first`` to ``last`` (inclusive; None: open).

    A target dated inside a month counts for that month; when one month has several rows
    for a metric, the latest-dated wins.

    Returns
    -------
    DataFrame
        ``month`` (first day, datetime64), ``metric``, ``value`` (float: a count, an
        amount, or a share 0-1 for ``pct_contacted_in_sla``).
    """
    params = {
        "first": parse_month(first) if first else None,
        "end": add_months(parse_month(last), 1) if last else None,
    }
    df = flt.query_df(con, TARGETS_SQL, params)
    df["month"] = pd.to_datetime(df["month"])
    return df.astype({"value": "float64"})


def targets_grid(con: duckdb.DuckDBPyConnection, first: date, last: date) -> pd.DataFrame:
    """Targets of the months ``first`` to ``last`` as a grid for editing.

    Returns
    -------
    DataFrame
        One row per month (``month`` as ``YYYY-MM`` text) and one float column per goal
        metric of :data:`GOALS`, NaN where no target is set.
    """
    first, last = parse_month(first), parse_month(last)
    long = load_targets(con, first, last)
    months, m = [], first
    while m <= last:
        months.append(m.strftime("%Y-%m"))
        m = add_months(m, 1)
    wide = pd.DataFrame({"month": months})
    for goal in GOALS:
        sel = long[long["metric"] == goal.metric]
        values = dict(zip(sel["month"].dt.strftime("%Y-%m"), sel["value"], strict=True))
        wide[goal.metric] = [values.get(m, np.nan) for m in months]
    return wide.astype({g.metric: "float64" for g in GOALS})


_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

DELETE_TARGET_SQL = "DELETE FROM targets WHERE date_trunc('month', month) = ?::DATE AND metric = ?"
INSERT_TARGET_SQL = "INSERT INTO targets (month, metric, value) VALUES (?, ?, ?)"
TARGET_BATCH_SQL = "INSERT INTO import_batches VALUES (?, ?, ?, 'targets', '', ?, 0, ?)"


@dataclass(frozen=True)
class TargetsWrite:
    """What :func:`set_targets` did: rows upserted and (month, metric) targets removed."""

    upserted: int
    deleted: int


def _target_rows(rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[tuple]:
    """Checked ``(month, metric, value or None)`` tuples; raises ValueError on a bad row."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    missing = {"month", "metric", "value"} - set(frame.columns)
    if missing:
        raise ValueError(
            f"targets need columns month, metric and value; missing {', '.join(sorted(missing))}"
        )
    out, seen = [], set()
    for i, rec in enumerate(frame[["month", "metric", "value"]].to_dict("records"), start=1):
        month = parse_month(rec["month"])
        metric = str(rec["metric"]).strip()
        if metric not in GOAL_BY_METRIC:
            raise ValueError(
                f"row {i}: metric must be one of {', '.join(GOAL_BY_METRIC)}, got {metric!r}"
            )
        value = rec["value"]
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            value = None
        else:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"row {i}: value must be a number, got {value!r}") from None
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"row {i}: value must be a finite number >= 0, got {value}")
            if GOAL_BY_METRIC[metric].unit == "share" and value > 1:
                raise ValueError(
                    f"row {i}: {metric} is a share between 0 and 1 (0.85 = 85%), got {value:g}"
                )
        key = (month, metric)
        if key in seen:
            raise ValueError(f"row {i}: {metric} for {month:%Y-%m} appears twice")
        seen.add(key)
        out.append((month, metric, value))
    return out


def set_targets(
    db_path: Path | str, rows: pd.DataFrame | Iterable[Mapping[str, Any]]
) -> TargetsWrite:
    """Write monthly targets: an upsert on (month, metric), in one batch.

    Parameters
    ----------
    db_path : Path or str
        The database file. It is written through :func:`analysis.store.write_session`
        (a new version swapped in atomically; readers keep working).
    rows : DataFrame or iterable of mappings
        ``month`` (``YYYY-MM``, a date or an ISO date: its month counts), ``metric`` (one
        of :data:`GOALS`) and ``value`` (>= 0; a share 0-1 for ``pct_contacted_in_sla``).
        An empty value (None or NaN) removes that month's target for the metric.

    Returns
    -------
    TargetsWrite
        Rows upserted and targets removed. The batch is recorded in ``import_batches``
        (kind ``targets``). Nothing is written when any row is invalid (ValueError names
        the row, counting from 1).
    """
    checked = _target_rows(rows)
    upserts = [r for r in checked if r[2] is not None]
    deleted = 0
    started = datetime.now().replace(microsecond=0)
    with store.write_session(db_path, derive=False) as con:
        for month, metric, value in checked:
            (n,) = con.execute(
                "SELECT count(*) FROM targets WHERE date_trunc('month', month) = ?::DATE "
                "AND metric = ?",
                [month, metric],
            ).fetchone()
            con.execute(DELETE_TARGET_SQL, [month, metric])
            if value is None:
                deleted += int(n > 0)
        if upserts:
            con.executemany(INSERT_TARGET_SQL, [list(r) for r in upserts])
        note = f"targets: {len(upserts)} set, {deleted} removed"
        batch = f"targets-{started:%Y%m%dT%H%M%S}"
        con.execute(TARGET_BATCH_SQL, [batch, started, datetime.now(), len(upserts), note])
    return TargetsWrite(upserted=len(upserts), deleted=deleted)


# --------------------------------------------------------------------------------------
# Goals vs actuals
# --------------------------------------------------------------------------------------


def _sla_total(block: Mapping[str, Any]) -> tuple[int, int]:
    """(k, n) of SLA compliance over all tiers of a headline block (0, 0 when unmeasurable)."""
    tiers = block.get("sla") or []
    return sum(int(t["k"]) for t in tiers), sum(int(t["n"]) for t in tiers)


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _actuals(block: Mapping[str, Any], deals: pd.Series | None) -> dict[str, float]:
    """Actual value per goal metric from a headline block and a closed-deals row.

    A number the history cannot support is NaN (the goals table says why).
    """
    v = block["volumes"]
    k, n = _sla_total(block)
    return {
        "leads": _num(v.get("lead")),
        "mqls": _num(v.get("mql")),
        "sqls": _num(v.get("sql")),
        "opportunities": _num(v.get("opportunity")),
        "deals_won": float(deals["won"]) if deals is not None else 0.0,
        "won_revenue": float(deals["won_revenue"]) if deals is not None else 0.0,
        "pct_contacted_in_sla": k / n if n else float("nan"),
    }


def goal_availability(
    avail: measurable.Measurability,
) -> dict[str, measurable.Availability]:
    """Whether each goal metric of :data:`GOALS` is measurable on this history."""
    start = STAGES.index(avail.funnel_start)
    stage_of = {"leads": "lead", "mqls": "mql", "sqls": "sql", "opportunities": "opportunity"}
    out = {}
    for goal in GOALS:
        if goal.metric in stage_of and STAGES.index(stage_of[goal.metric]) < start:
            out[goal.metric] = measurable.Availability(
                False, f"this history starts at the {avail.funnel_start} stage."
            )
        elif goal.metric == "won_revenue":
            out[goal.metric] = avail.revenue
        elif goal.metric == "pct_contacted_in_sla":
            out[goal.metric] = avail.sla
        else:
            out[goal.metric] = measurable.Availability(True)
    return out


def goals_table(
    headlines: Mapping[str, Mapping[str, Any]],
    deals: pd.DataFrame,
    targets: pd.DataFrame,
    month: date,
    avail: measurable.Measurability | None = None,
    first_day: date | None = None,
) -> pd.DataFrame:
    """Goals vs actuals from precomputed headline blocks, closed deals and targets.

    ``headlines`` maps ``"month"``, ``"previous"`` and ``"last_year"`` to
    :func:`analysis.metrics.headline` results of the month, the month before and the same
    month a year earlier; ``deals`` is :func:`closed_deals` covering those months;
    ``avail`` is what the history can measure (default: everything); ``first_day`` the
    history's first day: the month before or a year before that starts earlier is only
    partly recorded and is not quoted (NaN, as for a month without data).

    Returns
    -------
    DataFrame
        One row per goal of :data:`GOALS`: ``metric``, ``label``, ``unit``, ``actual``,
        ``target`` (NaN without one), ``pct_of_target`` (actual / target; NaN without a
        target or with target 0), ``previous_month``, ``last_year`` (actuals of those
        months; NaN when that month has no data), ``k``/``n`` (SLA compliance counts;
        NaN for the other metrics), ``measurable`` (bool) and ``reason`` (why not, else
        ""). A metric that is not measurable has NaN actuals, never 0.
    """
    by_month = deals.set_index("month")
    months = {
        "month": month,
        "previous": add_months(month, -1),
        "last_year": add_months(month, -12),
    }
    actual = {}
    for key, m in months.items():
        ts = pd.Timestamp(m)
        row = by_month.loc[ts] if ts in by_month.index else None
        actual[key] = _actuals(headlines[key], row)
    has_data = {
        key: key == "month"
        or (
            sum(v or 0 for v in headlines[key]["volumes"].values() if not isinstance(v, str)) > 0
            and (first_day is None or m >= first_day)
        )
        for key, m in months.items()
    }
    tmap = {(pd.Timestamp(r.month), r.metric): r.value for r in targets.itertuples(index=False)}
    k, n = _sla_total(headlines["month"])
    ok = goal_availability(avail) if avail is not None else {}
    rows = []
    for goal in GOALS:
        a = ok.get(goal.metric, measurable.Availability(True))
        target = tmap.get((pd.Timestamp(month), goal.metric), np.nan)
        value = actual["month"][goal.metric] if a.measurable else np.nan
        rows.append(
            {
                "metric": goal.metric,
                "label": goal.label,
                "unit": goal.unit,
                "actual": value,
                "target": target,
                "pct_of_target": value / target if target and not np.isnan(target) else np.nan,
                "previous_month": actual["previous"][goal.metric]
                if has_data["previous"] and a.measurable
                else np.nan,
                "last_year": actual["last_year"][goal.metric]
                if has_data["last_year"] and a.measurable
                else np.nan,
                "k": float(k) if goal.unit == "share" and a.measurable else np.nan,
                "n": float(n) if goal.unit == "share" and a.measurable else np.nan,
                "measurable": a.measurable,
                "reason": a.reason,
            }
        )
    return pd.DataFrame(rows)


def targets_long(grid: pd.DataFrame) -> pd.DataFrame:
    """A :func:`targets_grid` as the importable ``targets.csv`` shape.

    Returns ``month`` (``YYYY-MM-01``), ``metric``, ``value`` (NaN where unset), one row
    per month and goal metric.
    """
    long = grid.melt(id_vars="month", value_vars=[g.metric for g in GOALS], var_name="metric")
    long["month"] = long["month"] + "-01"
    return long


def pending_target_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The cells of an edited :func:`targets_grid` that differ from the original.

    Returns
    -------
    DataFrame
        ``month``, ``metric``, ``value`` (NaN: remove that target), one row per changed
        cell, ready for :func:`set_targets`.
    """
    metric_cols = [g.metric for g in GOALS]
    old = before.melt(id_vars="month", value_vars=metric_cols, var_name="metric")
    new = after.melt(id_vars="month", value_vars=metric_cols, var_name="metric")
    same = (old["value"] == new["value"]) | (old["value"].isna() & new["value"].isna())
    return new[~same.to_numpy()].reset_index(drop=True)


def target_value(targets: pd.DataFrame, month: date, metric: str) -> float | None:
    """The month's target of ``metric`` from :func:`load_targets` rows (None when unset)."""
    sel = targets[(targets["month"] == pd.Timestamp(month)) & (targets["metric"] == metric)]
    return float(sel["value"].iloc[0]) if len(sel) else None
