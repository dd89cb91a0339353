"""The monthly smarketing review: goals vs actuals, health checks, changes, outcomes, plan.

Query intuition
---------------
The review answers, for one calendar month (UTC), the questions a sales + marketing
meeting asks, and reuses the engine's definitions for every number it shares with the
other pages:

- **Goals vs actuals.** Targets come from the ``targets`` table (one value per month and
  metric). Actual volumes and SLA compliance are :func:`analysis.metrics.headline` for the
  month (stage volumes = first entries in the month; SLA compliance = handoffs answered
  within their tier's target over decided handoffs, all tiers pooled). Deals won and won
  revenue are opportunities closed *won* in the month (:func:`closed_deals`). Each goal
  row also shows the previous month and the same month a year earlier.
- **Health checks**, the four classic handoff failures (:func:`health_checks`), each with
  its evidence and threshold from :class:`ReviewSettings`.
- **What changed** (:func:`what_changed`): this month's rates against last month's with the
  pooled two-proportion test (:func:`analysis.funnel.rate_change`). Cohort rates use a
  conversion window and are only compared when both cohorts are mature
  (:func:`analysis.funnel.month_over_month`); rates of events (SLA compliance, sales
  decisions, closed deals) are comparable at once.
- **Outcomes**: where this month's MQLs are now (:func:`pipeline_status`, one status per
  lead), deals closed in the month, and rejection reasons against last month
  (:func:`reason_changes`, over :func:`analysis.rejections.reason_pareto`).
- **Reverse-funnel plan** (:func:`plan`): revenue goal ÷ average won amount ÷ win rate ÷
  SQL→opportunity ÷ MQL→SQL ÷ lead→MQL, with rates from a trailing window of months and
  ranges from their 95% Wilson intervals (:func:`reverse_funnel` is the arithmetic).

Targets are written only through :func:`analysis.store.write_session`
(:func:`set_targets`), or imported with :func:`analysis.ingest.import_files`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis import filters as flt
from analysis import stats, store
from analysis.lifecycle import funnel, metrics, rejections, sla


@dataclass(frozen=True)
class Goal:
    """A metric that can have a monthly target: its ``targets.metric`` name, label and unit.

    ``unit`` is ``count`` (a number of leads or deals), ``money`` (won amount, in the
    currency of ``opportunities.amount``) or ``share`` (a fraction 0-1).
    """

    metric: str
    label: str
    unit: str


GOALS: tuple[Goal, ...] = (
    Goal("leads", "Leads", "count"),
    Goal("mqls", "MQLs", "count"),
    Goal("sqls", "SQLs", "count"),
    Goal("opportunities", "Opportunities created", "count"),
    Goal("deals_won", "Deals won", "count"),
    Goal("won_revenue", "Won revenue", "money"),
    Goal("pct_contacted_in_sla", "MQLs contacted within SLA", "share"),
)
"""The review's goal metrics, in display order (``targets.metric`` values)."""
GOAL_BY_METRIC: dict[str, Goal] = {g.metric: g for g in GOALS}

DEFAULT_SLA_COMPLIANCE = 0.80
"""SLA compliance floor used when neither the settings nor the month's targets give one."""

STATUSES: tuple[tuple[str, str], ...] = (
    ("mql", "still MQL"),
    ("sql", "SQL"),
    ("opportunity", "open opportunity"),
    ("won", "won"),
    ("lost", "lost"),
    ("rejected", "rejected"),
    ("nurture", "nurture"),
)
"""Pipeline statuses of an MQL (key, label), in display order."""


@dataclass(frozen=True)
class ReviewSettings:
    """Thresholds of the health checks and comparisons (documented defaults).

    Attributes
    ----------
    sla_min_compliance : float, optional
        Share (0-1) of decided handoffs that must be contacted within their SLA target.
        None: the month's ``pct_contacted_in_sla`` target, else
        :data:`DEFAULT_SLA_COMPLIANCE` (0.80).
    mql_to_sql_min : float, optional
        Lowest acceptable MQL→SQL rate (within ``conversion_window_days``). None: the rate
        the month's targets imply, target SQLs ÷ target MQLs; not checked without them.
    conversion_window_days : float
        Conversion window (days from entering the first stage) of the cohort rates the
        checks and "what changed" compare: 30 days. A month's cohort is mature, and
        compared, once its last member has had the whole window.
    rejection_baseline_months : int
        Months before the review month pooled as the baseline of the rejection share: 3.
    alpha : float
        Significance level of the two-proportion tests: 0.05.
    beyond_noise : bool
        True (default): a rate counts as below its threshold only when its whole 95%
        Wilson interval is below it (the shortfall is not noise). False: when the rate
        itself is below.
    mql_shortfall : float
        "Not enough MQLs" fires when MQLs < (1 - mql_shortfall) × target: 0.10.
    capacity_tolerance : float
        "Too many MQLs" fires when MQL handoffs > (1 + capacity_tolerance) × the combined
        monthly capacity of the SDRs (``reps.capacity``, read as handoffs a rep can work
        in a month): 0.0.
    min_team_handoffs : int
        A team needs this many decided handoffs to be named as the worst for SLA: 5.
    planner_maturity_days : float
        The planner's trailing window ends at the latest month whose cohorts have had this
        many days since the month ended (younger cohorts are still converting): 30.
    """

    sla_min_compliance: float | None = None
    mql_to_sql_min: float | None = None
    conversion_window_days: float = 30.0
    rejection_baseline_months: int = 3
    alpha: float = 0.05
    beyond_noise: bool = True
    mql_shortfall: float = 0.10
    capacity_tolerance: float = 0.0
    min_team_handoffs: int = 5
    planner_maturity_days: float = 30.0

    def __post_init__(self) -> None:
        for name in ("sla_min_compliance", "mql_to_sql_min"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"{name} must be a share between 0 and 1, got {value}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha}")
        if not 0 <= self.mql_shortfall < 1:
            raise ValueError(f"mql_shortfall must be in [0, 1), got {self.mql_shortfall}")
        if self.capacity_tolerance < 0:
            raise ValueError(f"capacity_tolerance must be >= 0, got {self.capacity_tolerance}")
        if self.rejection_baseline_months < 1:
            raise ValueError(
                f"rejection_baseline_months must be >= 1, got {self.rejection_baseline_months}"
            )
        if self.conversion_window_days < 0 or self.planner_maturity_days < 0:
            raise ValueError(
                "conversion_window_days and planner_maturity_days must be >= 0, got "
                f"{self.conversion_window_days} and {self.planner_maturity_days}"
            )


# --------------------------------------------------------------------------------------
# Months
# --------------------------------------------------------------------------------------

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-(\d{1,2}))?\s*$")


def parse_month(value: date | datetime | str) -> date:
    """The first day of the month ``value`` names (``YYYY-MM``, an ISO date, or a date)."""
    if isinstance(value, datetime):
        return date(value.year, value.month, 1)
    if isinstance(value, date):
        return value.replace(day=1)
    m = _MONTH.match(str(value))
    if m:
        year, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12:
            return date(year, month, 1)
    raise ValueError(f"month must be YYYY-MM (e.g. 2026-10), got {value!r}")


def add_months(month: date, n: int) -> date:
    """First day of the month ``n`` months after ``month`` (negative: before)."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    """Last day of ``month`` (inclusive)."""
    return add_months(month, 1) - timedelta(days=1)


def month_label(month: date) -> str:
    """``October 2026``."""
    return month.strftime("%B %Y")


def month_filters(first: date, last: date | None = None) -> flt.Filters:
    """Filters covering the months ``first`` to ``last`` (inclusive; default ``first``)."""
    return flt.Filters(start=first, end=month_end(last or first))


def available_months(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Months from the first lead to the latest recorded fact, newest first (empty: none)."""
    options = flt.filter_options(con)
    first, last = options.get("first_date"), options.get("last_date")
    if first is None or last is None:
        return []
    months, m = [], parse_month(last)
    while m >= parse_month(first):
        months.append(m)
        m = add_months(m, -1)
    return months


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
    with store.write_session(db_path) as con:
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
# Deals and pipeline
# --------------------------------------------------------------------------------------

CLOSED_DEALS_SQL = """
SELECT date_trunc('month', closed_at)::DATE AS month,
    count(*) FILTER (WHERE outcome = 'won') AS won,
    count(*) FILTER (WHERE outcome = 'lost') AS lost,
    coalesce(sum(amount) FILTER (WHERE outcome = 'won'), 0)::DOUBLE AS won_revenue,
    count(amount) FILTER (WHERE outcome = 'won') AS won_with_amount
FROM opportunities
WHERE outcome IN ('won', 'lost') AND closed_at >= $start AND closed_at < $end
  AND closed_at <= $as_of
GROUP BY ALL
"""


def closed_deals(
    con: duckdb.DuckDBPyConnection,
    first: date,
    last: date,
    as_of: datetime | None = None,
) -> pd.DataFrame:
    """Opportunities closed won or lost per month, ``first`` to ``last`` (inclusive).

    Returns
    -------
    DataFrame
        One row per month (zeros when nothing closed): ``month`` (first day, datetime64),
        ``won`` and ``lost`` (deals closed with that outcome in the month, by
        ``closed_at`` up to ``as_of``), ``won_revenue`` (sum of ``amount`` of the won
        deals; deals without an amount add nothing), ``won_with_amount`` (won deals that
        have an amount), ``avg_won_amount`` (won_revenue / won_with_amount, NaN when 0),
        ``win_rate`` (won / (won + lost)) with ``win_low``/``win_high`` (95% Wilson).
    """
    first, last = parse_month(first), parse_month(last)
    as_of = as_of or flt.data_as_of(con) or datetime.max
    months = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="MS")
    params = {"start": first, "end": add_months(last, 1), "as_of": as_of}
    df = flt.query_df(con, CLOSED_DEALS_SQL, params)
    df["month"] = pd.to_datetime(df["month"])
    cols = ["won", "lost", "won_revenue", "won_with_amount"]
    out = df.set_index("month")[cols].reindex(months, fill_value=0)
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


PIPELINE_STATUS_SQL = """
WITH {entries},
c AS MATERIALIZED (
    SELECT lead_id, mql_at, sql_at, opportunity_at, customer_at
    FROM entries
    WHERE mql_at IS NOT NULL AND mql_at <= $as_of AND {in_month}
),
o AS (
    SELECT lead_id, count(*) AS opps,
        count(*) FILTER (WHERE outcome = 'won' AND closed_at <= $as_of) AS won,
        count(*) FILTER (WHERE outcome = 'lost' AND closed_at <= $as_of) AS lost
    FROM opportunities
    WHERE created_at <= $as_of AND lead_id IN (SELECT lead_id FROM c)
    GROUP BY lead_id
),
ev AS (
    SELECT lead_id, changed_at AS at,
        CASE stage WHEN 'disqualified' THEN 'rejected' ELSE stage END AS status,
        CASE stage WHEN 'mql' THEN 0 WHEN 'sql' THEN 1 WHEN 'nurture' THEN 2 ELSE 3 END AS p
    FROM stage_changes
    WHERE stage IN ('mql', 'sql', 'disqualified', 'nurture')
      AND lead_id IN (SELECT lead_id FROM c)
    UNION ALL
    SELECT lead_id, decided_at,
        CASE outcome WHEN 'accepted' THEN 'sql' WHEN 'nurture' THEN 'nurture'
             ELSE 'rejected' END,
        CASE outcome WHEN 'accepted' THEN 1 WHEN 'nurture' THEN 2 ELSE 3 END
    FROM dispositions
    WHERE lead_id IN (SELECT lead_id FROM c)
),
latest AS (
    SELECT c.lead_id, arg_max(ev.status, {{'at': ev.at, 'p': ev.p}}) AS status
    FROM c
    JOIN ev ON ev.lead_id = c.lead_id AND ev.at >= c.mql_at AND ev.at <= $as_of
    GROUP BY c.lead_id
)
SELECT CASE
        WHEN c.customer_at <= $as_of OR coalesce(o.won, 0) > 0 THEN 'won'
        WHEN coalesce(o.opps, 0) > 0 AND o.lost = o.opps THEN 'lost'
        WHEN c.opportunity_at <= $as_of OR coalesce(o.opps, 0) > 0 THEN 'opportunity'
        ELSE coalesce(latest.status, 'mql')
    END AS status,
    count(*) AS leads
FROM c
LEFT JOIN o ON o.lead_id = c.lead_id
LEFT JOIN latest ON latest.lead_id = c.lead_id
GROUP BY 1
"""


def pipeline_status(
    con: duckdb.DuckDBPyConnection, month: date | str, as_of: datetime | None = None
) -> pd.DataFrame:
    """Where the month's MQLs are now: one status per lead, as of ``as_of``.

    The population is the leads that first became MQL in the month (the same count as
    the month's MQL volume). Each lead gets the first status that applies:

    1. ``won``: it reached ``customer`` or has an opportunity closed won;
    2. ``lost``: it has opportunities and all of them closed lost;
    3. ``opportunity``: it reached ``opportunity`` (an open deal);
    4. otherwise its latest event at or after its first handoff decides: a ``sql`` stage
       change or an ``accepted`` disposition → ``sql``; ``nurture`` (stage or
       disposition) → ``nurture``; ``disqualified``, a ``rejected`` or ``bad_data``
       disposition → ``rejected``; a new ``mql`` change (recycled) → ``mql``; at equal
       times a decision outranks a stage change;
    5. ``mql``: nothing happened yet since the handoff (still waiting for sales).

    Returns
    -------
    DataFrame
        One row per status of :data:`STATUSES` in that order: ``status``, ``label``,
        ``leads`` (count, 0 when none) and ``share`` (of the month's MQLs; NaN when none).
    """
    month = parse_month(month)
    as_of = as_of or flt.data_as_of(con)
    keys = [s for s, _ in STATUSES]
    if as_of is None:
        got = pd.Series(dtype="int64")
    else:
        f = month_filters(month)
        cte, params = funnel.entries_cte(f)
        in_month, date_params = f.date_sql("mql_at")
        sql = PIPELINE_STATUS_SQL.format(entries=cte, in_month=in_month)
        got = flt.query_df(con, sql, {**params, **date_params, "as_of": as_of}).set_index("status")[
            "leads"
        ]
    leads = np.array([int(got.get(k, 0)) for k in keys], dtype="int64")
    total = leads.sum()
    return pd.DataFrame(
        {
            "status": keys,
            "label": [label for _, label in STATUSES],
            "leads": leads,
            "share": leads / total if total else np.nan,
        }
    )


# --------------------------------------------------------------------------------------
# Goals vs actuals
# --------------------------------------------------------------------------------------


def _sla_total(block: Mapping[str, Any]) -> tuple[int, int]:
    """(k, n) of SLA compliance over all tiers of a headline block."""
    k = sum(int(t["k"]) for t in block.get("sla", []))
    n = sum(int(t["n"]) for t in block.get("sla", []))
    return k, n


def _actuals(block: Mapping[str, Any], deals: pd.Series | None) -> dict[str, float]:
    """Actual value per goal metric from a headline block and a closed-deals row."""
    v = block["volumes"]
    k, n = _sla_total(block)
    return {
        "leads": float(v["lead"]),
        "mqls": float(v["mql"]),
        "sqls": float(v["sql"]),
        "opportunities": float(v["opportunity"]),
        "deals_won": float(deals["won"]) if deals is not None else 0.0,
        "won_revenue": float(deals["won_revenue"]) if deals is not None else 0.0,
        "pct_contacted_in_sla": k / n if n else float("nan"),
    }


def goals_table(
    headlines: Mapping[str, Mapping[str, Any]],
    deals: pd.DataFrame,
    targets: pd.DataFrame,
    month: date,
) -> pd.DataFrame:
    """Goals vs actuals from precomputed headline blocks, closed deals and targets.

    ``headlines`` maps ``"month"``, ``"previous"`` and ``"last_year"`` to
    :func:`analysis.metrics.headline` results of the month, the month before and the same
    month a year earlier; ``deals`` is :func:`closed_deals` covering those months.

    Returns
    -------
    DataFrame
        One row per goal of :data:`GOALS`: ``metric``, ``label``, ``unit``, ``actual``,
        ``target`` (NaN without one), ``pct_of_target`` (actual / target; NaN without a
        target or with target 0), ``previous_month``, ``last_year`` (actuals of those
        months; NaN when that month has no data), and ``k``/``n`` (SLA compliance counts;
        NaN for the other metrics).
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
    has_data = {key: headlines[key]["volumes"]["lead"] > 0 or key == "month" for key in months}
    tmap = {(pd.Timestamp(r.month), r.metric): r.value for r in targets.itertuples(index=False)}
    k, n = _sla_total(headlines["month"])
    rows = []
    for goal in GOALS:
        target = tmap.get((pd.Timestamp(month), goal.metric), np.nan)
        value = actual["month"][goal.metric]
        rows.append(
            {
                "metric": goal.metric,
                "label": goal.label,
                "unit": goal.unit,
                "actual": value,
                "target": target,
                "pct_of_target": value / target if target and not np.isnan(target) else np.nan,
                "previous_month": actual["previous"][goal.metric]
                if has_data["previous"]
                else np.nan,
                "last_year": actual["last_year"][goal.metric] if has_data["last_year"] else np.nan,
                "k": float(k) if goal.unit == "share" else np.nan,
                "n": float(n) if goal.unit == "share" else np.nan,
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# What changed
# --------------------------------------------------------------------------------------

CHANGE_COLUMNS = [
    "key",
    "label",
    "basis",
    "k",
    "n",
    "rate",
    "low",
    "high",
    "prev_k",
    "prev_n",
    "prev_rate",
    "change",
    "p_value",
    "comparable",
    "significant",
    "verdict",
]


def _change_row(
    key: str,
    label: str,
    basis: str,
    now: tuple[int, int],
    before: tuple[int, int],
    comparable: bool,
    alpha: float,
) -> dict[str, Any]:
    rc = funnel.rate_change(before[0], before[1], now[0], now[1], alpha=alpha)
    low, high = stats.wilson_interval(now[0], now[1])
    significant = bool(comparable and rc.significant)
    if now[1] == 0 or before[1] == 0:
        verdict = "no data"
    elif not comparable:
        verdict = "not comparable yet"
    elif significant:
        verdict = "up" if rc.change > 0 else "down"
    elif rc.change == 0:
        verdict = "unchanged"
    else:
        verdict = "within noise"
    return {
        "key": key,
        "label": label,
        "basis": basis,
        "k": now[0],
        "n": now[1],
        "rate": rc.after_rate,
        "low": low,
        "high": high,
        "prev_k": before[0],
        "prev_n": before[1],
        "prev_rate": rc.before_rate,
        "change": rc.change,
        "p_value": rc.p_value,
        "comparable": bool(comparable),
        "significant": significant,
        "verdict": verdict,
    }


def _cohort_pair(
    con: duckdb.DuckDBPyConnection,
    month: date,
    from_stage: str,
    to_stage: str,
    window_days: float,
    as_of: datetime,
) -> tuple[tuple[int, int], tuple[int, int], bool]:
    """(k, n) of the month's and the previous month's cohorts, and whether comparable."""
    prev = add_months(month, -1)
    df = funnel.month_over_month(
        con, month_filters(prev, month), from_stage, to_stage, window_days, as_of
    )
    rows = {pd.Timestamp(c).date(): r for c, r in zip(df["cohort"], df.itertuples(), strict=True)}
    now, before = rows.get(month), rows.get(prev)
    kn_now = (int(now.k), int(now.n)) if now is not None else (0, 0)
    kn_before = (int(before.k), int(before.n)) if before is not None else (0, 0)
    mature = bool(now is not None and now.mature and before is not None and before.mature)
    return kn_now, kn_before, mature


def _decisions(con: duckdb.DuckDBPyConnection, first: date, last: date) -> pd.DataFrame:
    """Per month: all dispositions decided (``total``) and the accepted ones."""
    mix = rejections.disposition_mix(con, month_filters(first, last), by="month")
    months = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="MS")
    if mix.empty:
        return pd.DataFrame({"month": months, "total": 0, "accepted": 0})
    mix["month"] = pd.to_datetime(mix["month"])
    total = mix.groupby("month")["total"].first()
    accepted = mix[mix["outcome"] == "accepted"].groupby("month")["count"].sum()
    out = pd.DataFrame({"total": total, "accepted": accepted}).reindex(months).fillna(0)
    out.index.name = "month"
    return out.astype("int64").reset_index()


def what_changed(
    con: duckdb.DuckDBPyConnection,
    month: date | str,
    settings: ReviewSettings = ReviewSettings(),
    as_of: datetime | None = None,
) -> pd.DataFrame:
    """Compare the month's rates with the previous month's, each tested for noise.

    Rates compared (``basis`` says which kind):

    - ``cohort``: lead→MQL, MQL→SQL and SQL→opportunity for the leads that entered the
      first stage in each month, converted within ``settings.conversion_window_days``
      (:func:`analysis.funnel.month_over_month`). Only compared when both cohorts are
      mature, i.e. every member has had the whole window.
    - ``events``: SLA compliance of the handoffs of each month (decided handoffs), the
      share of sales decisions (dispositions) that accepted the MQL, and the win rate of
      deals closed in each month (won / (won + lost)). Always comparable.

    Returns
    -------
    DataFrame
        ``key``, ``label``, ``basis``, ``k``, ``n``, ``rate``, ``low``, ``high`` (this
        month, 95% Wilson), ``prev_k``, ``prev_n``, ``prev_rate``, ``change`` (rate minus
        prev_rate, as a fraction), ``p_value`` (pooled two-proportion test, two-sided),
        ``comparable``, ``significant`` (comparable and p < alpha) and ``verdict``
        (``up``, ``down``, ``within noise``, ``unchanged``, ``not comparable yet`` or
        ``no data``).
    """
    month = parse_month(month)
    as_of = as_of or flt.data_as_of(con)
    if as_of is None:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    prev = add_months(month, -1)
    w = settings.conversion_window_days
    rows = []
    for s, t in (("lead", "mql"), ("mql", "sql"), ("sql", "opportunity")):
        now, before, mature = _cohort_pair(con, month, s, t, w, as_of)
        label = f"{_STAGE_LABEL[s]} → {_STAGE_LABEL[t]} within {w:g} days"
        rows.append(
            _change_row(f"{s}_to_{t}", label, "cohort", now, before, mature, settings.alpha)
        )
    sla_df = sla.sla_compliance(con, month_filters(prev, month), by="month", as_of=as_of)
    sla_rows = {
        pd.Timestamp(m).date(): r for m, r in zip(sla_df["month"], sla_df.itertuples(), strict=True)
    }

    def kn(row: Any) -> tuple[int, int]:
        return (int(row.k), int(row.n)) if row is not None else (0, 0)

    rows.append(
        _change_row(
            "sla_compliance",
            "MQLs contacted within SLA",
            "events",
            kn(sla_rows.get(month)),
            kn(sla_rows.get(prev)),
            True,
            settings.alpha,
        )
    )
    dec = _decisions(con, prev, month).set_index("month")
    rows.append(
        _change_row(
            "acceptance",
            "Sales decisions that accepted the MQL",
            "events",
            (
                int(dec.loc[pd.Timestamp(month), "accepted"]),
                int(dec.loc[pd.Timestamp(month), "total"]),
            ),
            (
                int(dec.loc[pd.Timestamp(prev), "accepted"]),
                int(dec.loc[pd.Timestamp(prev), "total"]),
            ),
            True,
            settings.alpha,
        )
    )
    deals = closed_deals(con, prev, month, as_of).set_index("month")
    d_now, d_prev = deals.loc[pd.Timestamp(month)], deals.loc[pd.Timestamp(prev)]
    rows.append(
        _change_row(
            "win_rate",
            "Win rate of deals closed",
            "events",
            (int(d_now["won"]), int(d_now["won"] + d_now["lost"])),
            (int(d_prev["won"]), int(d_prev["won"] + d_prev["lost"])),
            True,
            settings.alpha,
        )
    )
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


_STAGE_LABEL = {
    "lead": "Lead",
    "mql": "MQL",
    "sql": "SQL",
    "opportunity": "opportunity",
    "customer": "won",
}


# --------------------------------------------------------------------------------------
# Rejection reasons
# --------------------------------------------------------------------------------------


def reason_changes(
    con: duckdb.DuckDBPyConnection, month: date | str, alpha: float = 0.05
) -> pd.DataFrame:
    """Rejection reasons of the month against the previous month.

    Both months come from :func:`analysis.rejections.reason_pareto` (dispositions other
    than ``accepted`` decided in the month, by reason). A reason's share is its count over
    all non-accepted dispositions of that month; the change in share is tested with the
    pooled two-proportion test.

    Returns
    -------
    DataFrame
        ``reason``, ``count``, ``share`` (this month), ``prev_count``, ``prev_share``,
        ``change`` (share minus prev_share), ``p_value``, ``significant`` (p < alpha)
        and ``direction`` (``up``/``down`` when significant, else ``""``). Sorted by
        count, then previous count, largest first.
    """
    month = parse_month(month)
    prev = add_months(month, -1)
    now = rejections.reason_pareto(con, month_filters(month))
    before = rejections.reason_pareto(con, month_filters(prev))
    n_now = int(now["count"].sum())
    n_before = int(before["count"].sum())
    df = pd.merge(
        now[["reason", "count"]],
        before[["reason", "count"]].rename(columns={"count": "prev_count"}),
        on="reason",
        how="outer",
    )
    cols = ["reason", "count", "share", "prev_count", "prev_share", "change", "p_value"]
    if df.empty:
        return pd.DataFrame(columns=[*cols, "significant", "direction"])
    df = df.fillna({"count": 0, "prev_count": 0}).astype({"count": "int64", "prev_count": "int64"})
    with np.errstate(divide="ignore", invalid="ignore"):
        df["share"] = df["count"] / n_now if n_now else np.nan
        df["prev_share"] = df["prev_count"] / n_before if n_before else np.nan
    df["change"] = df["share"] - df["prev_share"]
    _, p = stats.two_proportion_test(df["prev_count"], n_before, df["count"], n_now)
    df["p_value"] = np.asarray(p, dtype="float64")
    df["significant"] = df["p_value"] < alpha
    df["direction"] = np.where(df["significant"], np.where(df["change"] > 0, "up", "down"), "")
    df = df.sort_values(["count", "prev_count", "reason"], ascending=[False, False, True])
    return df[[*cols, "significant", "direction"]].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Health checks
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """One number behind a health check: its label, value and unit.

    ``unit`` is ``count``, ``share`` (fraction 0-1), ``money``, ``ratio`` (a plain
    number such as MQLs per rep), ``p`` (a p-value) or ``text``.
    """

    label: str
    value: Any
    unit: str


@dataclass(frozen=True)
class HealthCheck:
    """One of the four classic handoff failures, checked for the month.

    Attributes
    ----------
    key : str
        ``sla``, ``not_sales_ready``, ``too_few_mqls`` or ``too_many_mqls``.
    name : str
        The failure in words ("MQLs not contacted within SLA").
    fired : bool
        True when the month shows the failure.
    assessed : bool
        False when a number or target the check needs is missing; then it cannot fire.
    evidence : tuple of Evidence
        The numbers the verdict rests on.
    threshold : float or None
        The threshold compared with (a share, or a count for MQL volumes).
    rule : str
        The firing rule in words.
    finding : str
        Plain-language finding for the meeting.
    """

    key: str
    name: str
    fired: bool
    assessed: bool
    evidence: tuple[Evidence, ...]
    threshold: float | None
    rule: str
    finding: str


def _below(k: int, n: int, threshold: float, beyond_noise: bool) -> bool:
    """Whether k/n is below ``threshold`` (its whole Wilson interval, when beyond_noise)."""
    if n == 0:
        return False
    if beyond_noise:
        _, high = stats.wilson_interval(k, n)
        return bool(high < threshold)
    return k / n < threshold


def pct(x: float | None, digits: int = 0) -> str:
    """A share 0-1 as ``55%`` (``n/a`` for None or NaN)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}%}"


def _target_value(targets: pd.DataFrame, month: date, metric: str) -> float | None:
    sel = targets[(targets["month"] == pd.Timestamp(month)) & (targets["metric"] == metric)]
    return float(sel["value"].iloc[0]) if len(sel) else None


def check_sla(
    con: duckdb.DuckDBPyConnection,
    month: date,
    targets: pd.DataFrame,
    settings: ReviewSettings,
    as_of: datetime,
) -> HealthCheck:
    """MQLs not contacted within SLA: the month's compliance below the floor.

    Compliance is :func:`analysis.sla.sla_compliance` over the month's handoffs (all
    tiers, each on its own clock). The floor is ``settings.sla_min_compliance``, else the
    month's ``pct_contacted_in_sla`` target, else :data:`DEFAULT_SLA_COMPLIANCE`. The
    team with the lowest compliance (at least ``settings.min_team_handoffs`` decided
    handoffs) is named in the evidence.
    """
    name = "MQLs not contacted within SLA"
    f = month_filters(month)
    overall = sla.sla_compliance(con, f, by=None, as_of=as_of)
    target = _target_value(targets, month, "pct_contacted_in_sla")
    if settings.sla_min_compliance is not None:
        threshold, source = settings.sla_min_compliance, "settings"
    elif target is not None:
        threshold, source = target, "the month's target"
    else:
        threshold, source = DEFAULT_SLA_COMPLIANCE, "the default floor"
    noise = " and its 95% interval is entirely below it" if settings.beyond_noise else ""
    rule = f"fires when compliance is below {pct(threshold)} ({source}){noise}"
    if overall.empty or int(overall["n"].iloc[0]) == 0:
        return HealthCheck("sla", name, False, False, (), threshold, rule,
                           "No decided MQL handoffs this month: nothing to check.")  # fmt: skip
    r = overall.iloc[0]
    k, n = int(r["k"]), int(r["n"])
    fired = _below(k, n, threshold, settings.beyond_noise)
    teams = sla.sla_compliance(con, f, by="team", as_of=as_of)
    teams = teams[teams["n"] >= settings.min_team_handoffs].sort_values(["rate", "team"])
    evidence = [
        Evidence("compliance", k / n, "share"),
        Evidence("contacted within SLA", k, "count"),
        Evidence("decided handoffs", n, "count"),
        Evidence("95% interval low", float(r["low"]), "share"),
        Evidence("95% interval high", float(r["high"]), "share"),
        Evidence("floor", threshold, "share"),
        Evidence("pending (not yet decidable)", int(r["pending"]), "count"),
    ]
    worst = ""
    if len(teams):
        w = teams.iloc[0]
        evidence += [
            Evidence("worst team", str(w["team"]), "text"),
            Evidence("worst team compliance", float(w["rate"]), "share"),
            Evidence("worst team handoffs", int(w["n"]), "count"),
        ]
        worst = f" Lowest team: {w['team']}, {pct(w['rate'])} ({int(w['k'])} of {int(w['n'])})."
    interval = f"95% interval {pct(r['low'], 1)}–{pct(r['high'], 1)}"
    if fired:
        finding = (
            f"Only {pct(k / n)} of decided MQL handoffs ({k} of {n}) were contacted within "
            f"their SLA target, below the {pct(threshold)} floor ({interval}).{worst} "
            "Leads cool off while they wait: check routing, alerts and rep coverage."
        )
    elif k / n < threshold:
        finding = (
            f"{pct(k / n)} of decided MQL handoffs ({k} of {n}) were contacted within SLA, "
            f"under the {pct(threshold)} floor but within noise ({interval}).{worst}"
        )
    else:
        finding = (
            f"{pct(k / n)} of decided MQL handoffs ({k} of {n}) were contacted within SLA, "
            f"at or above the {pct(threshold)} floor.{worst}"
        )
    return HealthCheck("sla", name, fired, True, tuple(evidence), threshold, rule, finding)


def check_sales_ready(
    con: duckdb.DuckDBPyConnection,
    month: date,
    targets: pd.DataFrame,
    settings: ReviewSettings,
    as_of: datetime,
) -> HealthCheck:
    """MQLs not sales-ready: MQL→SQL below target, or the rejection share rising.

    Two signs that the MQL definition is too broad; either fires the check:

    - the month's MQL cohort converted to SQL within ``conversion_window_days`` below
      ``settings.mql_to_sql_min`` (default: target SQLs ÷ target MQLs). Judged only once
      the cohort is mature (every MQL has had the whole window);
    - the rejection share — dispositions decided in the month that did not accept the MQL
      (rejected, nurture, bad data) over all decided — is higher than in the previous
      ``rejection_baseline_months`` months pooled, and the pooled two-proportion test
      says so at ``alpha``.
    """
    name = "MQLs not sales-ready"
    w = settings.conversion_window_days
    t_sql = _target_value(targets, month, "sqls")
    t_mql = _target_value(targets, month, "mqls")
    if settings.mql_to_sql_min is not None:
        floor: float | None = settings.mql_to_sql_min
    elif t_sql is not None and t_mql:
        floor = min(t_sql / t_mql, 1.0)
    else:
        floor = None
    cohort = funnel.cohort_conversion(con, month_filters(month), "mql", "sql", w, "month", as_of)
    k = int(cohort["k"].sum()) if len(cohort) else 0
    n = int(cohort["n"].sum()) if len(cohort) else 0
    mature = bool(len(cohort) and cohort["mature"].all())
    low_conv = floor is not None and mature and _below(k, n, floor, settings.beyond_noise)

    base_first = add_months(month, -settings.rejection_baseline_months)
    dec = _decisions(con, base_first, month)
    this = dec[dec["month"] == pd.Timestamp(month)].iloc[0]
    base = dec[dec["month"] < pd.Timestamp(month)]
    rk, rn = int(this["total"] - this["accepted"]), int(this["total"])
    bk, bn = int((base["total"] - base["accepted"]).sum()), int(base["total"].sum())
    rc = funnel.rate_change(bk, bn, rk, rn, alpha=settings.alpha)
    rising = bool(rn and bn and rc.significant and rc.change > 0)

    fired = bool(low_conv or rising)
    assessed = bool((floor is not None and mature and n) or (rn and bn))
    evidence = [
        Evidence(f"MQL→SQL within {w:g} days", k / n if n else float("nan"), "share"),
        Evidence("MQLs converted", k, "count"),
        Evidence("MQLs in cohort", n, "count"),
        Evidence("cohort mature", "yes" if mature else "no (still converting)", "text"),
    ]
    if floor is not None:
        evidence.append(Evidence("MQL→SQL floor", floor, "share"))
    evidence += [
        Evidence("rejection share", rc.after_rate, "share"),
        Evidence("dispositions decided", rn, "count"),
        Evidence(
            f"baseline share (previous {settings.rejection_baseline_months} months)",
            rc.before_rate,
            "share",
        ),  # fmt: skip
        Evidence("baseline dispositions", bn, "count"),
        Evidence("p-value of the rise", rc.p_value, "p"),
    ]
    parts = []
    if floor is None:
        parts.append("No MQL→SQL floor: set SQL and MQL targets (or a floor) to check conversion.")
    elif not n:
        parts.append("No MQLs this month.")
    elif not mature:
        parts.append(
            f"MQL→SQL is {pct(k / n)} so far ({k} of {n}); the cohort has not had "
            f"{w:g} days yet, so it is not judged against the {pct(floor)} floor."
        )
    elif low_conv:
        parts.append(
            f"Only {pct(k / n)} of the month's MQLs ({k} of {n}) became SQL within {w:g} "
            f"days, below the {pct(floor)} the targets need."
        )
    else:
        parts.append(
            f"{pct(k / n)} of the month's MQLs ({k} of {n}) became SQL within {w:g} days "
            f"(floor {pct(floor)})."
        )
    if not rn:
        parts.append("Sales recorded no decisions this month.")
    elif not bn:
        parts.append(
            f"Sales turned down {pct(rc.after_rate)} of the MQLs it decided on ({rk} of {rn}); "
            "there are no earlier decisions to compare with."
        )
    elif rising:
        parts.append(
            f"Sales turned down {pct(rc.after_rate)} of the MQLs it decided on ({rk} of {rn}), "
            f"up from {pct(rc.before_rate)} over the previous "
            f"{settings.rejection_baseline_months} months (p = {rc.p_value:.3f})."
        )
    else:
        parts.append(
            f"Sales turned down {pct(rc.after_rate)} of the MQLs it decided on ({rk} of {rn}); "
            f"the previous {settings.rejection_baseline_months} months: "
            f"{pct(rc.before_rate)} — no significant rise."
        )
    if fired:
        parts.append("The MQL definition may be too broad: review the scoring threshold.")
    rule = (
        f"fires when MQL→SQL within {w:g} days is below "
        f"{pct(floor) if floor is not None else 'target SQLs ÷ target MQLs'} (mature cohorts"
        f"{', whole interval below' if settings.beyond_noise else ''}), or when the rejection "
        f"share rises significantly (p < {settings.alpha:g}) over the previous "
        f"{settings.rejection_baseline_months} months"
    )
    return HealthCheck(
        "not_sales_ready", name, fired, assessed, tuple(evidence), floor, rule, " ".join(parts)
    )


def _elapsed_share(month: date, as_of: datetime) -> float:
    start = datetime.combine(month, datetime.min.time())
    end = datetime.combine(add_months(month, 1), datetime.min.time())
    if as_of.date() >= month_end(month):
        return 1.0
    return float(min(max((as_of - start) / (end - start), 0.0), 1.0))


def check_too_few(
    month: date,
    mqls: int,
    targets: pd.DataFrame,
    settings: ReviewSettings,
    elapsed: float,
) -> HealthCheck:
    """Not enough MQLs: fewer than (1 - mql_shortfall) × the month's MQL target.

    For a month still in progress the target is pro-rated by the elapsed share of the
    month. Not assessed without an MQL target.
    """
    name = "Not enough MQLs"
    target = _target_value(targets, month, "mqls")
    if target is None:
        return HealthCheck(
            "too_few_mqls",
            name,
            False,
            False,
            (Evidence("MQLs", mqls, "count"),),
            None,
            f"fires when MQLs are below {1 - settings.mql_shortfall:.0%} of the MQL target",
            "No MQL target for this month: set one under Targets to check volume.",
        )
    due = target * elapsed
    floor = due * (1 - settings.mql_shortfall)
    fired = mqls < floor
    evidence = [
        Evidence("MQLs", mqls, "count"),
        Evidence("MQL target", target, "count"),
        Evidence("share of target", mqls / due if due else float("nan"), "share"),
        Evidence("floor", floor, "count"),
    ]
    if elapsed < 1:
        evidence.append(Evidence("share of month elapsed", elapsed, "share"))
    so_far = f" (pro-rated to {elapsed:.0%} of the month)" if elapsed < 1 else ""
    if fired:
        finding = (
            f"{mqls:,} MQLs against a target of {due:,.0f}{so_far}: {pct(mqls / due)} of "
            f"target, under the {1 - settings.mql_shortfall:.0%} floor. The MQL definition "
            "may be too rigid, or nurturing too weak to bring leads to the threshold."
        )
    else:
        finding = f"{mqls:,} MQLs against a target of {due:,.0f}{so_far} ({pct(mqls / due)})."
    rule = f"fires when MQLs are below {1 - settings.mql_shortfall:.0%} of the MQL target"
    return HealthCheck("too_few_mqls", name, fired, True, tuple(evidence), floor, rule, finding)


REPS_SQL = "SELECT rep_id, coalesce(nullif(name, ''), rep_id) AS name, role, capacity FROM reps"


def check_too_many(
    con: duckdb.DuckDBPyConnection,
    month: date,
    settings: ReviewSettings,
    elapsed: float,
    as_of: datetime,
) -> HealthCheck:
    """Too many MQLs: more handoffs than the SDRs' combined monthly capacity.

    Handoffs are the month's ``mql`` changes (recycled leads count again: each is work
    for a rep), from :func:`analysis.sla.response_times`. Capacity is ``reps.capacity``,
    read as the handoffs a rep can work in a month, summed over the reps with role
    ``sdr`` (all reps when none has that role), pro-rated for a month in progress. Reps
    whose own handoffs exceed their capacity are listed in the finding.
    """
    name = "Too many MQLs"
    handoffs = sla.response_times(con, month_filters(month), as_of=as_of)
    reps = con.execute(REPS_SQL).df()
    sdrs = reps[reps["role"] == "sdr"] if (reps["role"] == "sdr").any() else reps
    cap = sdrs["capacity"].dropna()
    total = len(handoffs)
    rule = "fires when MQL handoffs exceed the SDRs' combined monthly capacity" + (
        f" by more than {settings.capacity_tolerance:.0%}" if settings.capacity_tolerance else ""
    )
    if cap.empty:
        return HealthCheck(
            "too_many_mqls",
            name,
            False,
            False,
            (Evidence("MQL handoffs", total, "count"),),
            None,
            rule,
            "No rep has a capacity recorded: set reps.capacity to check load.",
        )
    capacity = float(cap.sum()) * elapsed
    limit = capacity * (1 + settings.capacity_tolerance)
    fired = total > limit
    per_rep = handoffs.groupby("owner_rep_id").size()
    load = sdrs.assign(handoffs=sdrs["rep_id"].map(per_rep).fillna(0).astype("int64"))
    load = load[load["capacity"].notna()]
    over = load[load["handoffs"] > load["capacity"] * elapsed].sort_values(
        "handoffs", ascending=False
    )
    unassigned = int(handoffs["owner_rep_id"].isna().sum())
    evidence = [
        Evidence("MQL handoffs", total, "count"),
        Evidence("SDRs with a capacity", len(cap), "count"),
        Evidence("combined capacity", capacity, "count"),
        Evidence("handoffs per SDR", total / len(cap), "ratio"),
        Evidence("capacity per SDR", capacity / len(cap), "ratio"),
        Evidence("SDRs over their own capacity", len(over), "count"),
        Evidence("handoffs without an owner", unassigned, "count"),
    ]
    names = ", ".join(
        f"{r.name} ({int(r.handoffs)} for {r.capacity * elapsed:.0f})"
        for r in over.head(5).itertuples()
    )
    over_text = f" Over their own capacity: {names}." if len(over) else ""
    if fired:
        finding = (
            f"{total:,} MQL handoffs for {len(cap)} SDRs who can work {capacity:,.0f} "
            f"({total / len(cap):.1f} per rep against {capacity / len(cap):.1f}): more MQLs "
            f"than sales can follow up.{over_text} Raise the threshold or add capacity."
        )
    else:
        finding = (
            f"{total:,} MQL handoffs for {len(cap)} SDRs who can work {capacity:,.0f} "
            f"({total / len(cap):.1f} per rep against {capacity / len(cap):.1f}).{over_text}"
        )
    return HealthCheck("too_many_mqls", name, fired, True, tuple(evidence), limit, rule, finding)


def health_checks(
    con: duckdb.DuckDBPyConnection,
    month: date | str,
    settings: ReviewSettings = ReviewSettings(),
    as_of: datetime | None = None,
) -> tuple[HealthCheck, ...]:
    """The four classic handoff failures for the month, in a fixed order.

    See :func:`check_sla`, :func:`check_sales_ready`, :func:`check_too_few` and
    :func:`check_too_many`. MQLs for the volume check are the month's MQL volume of
    :func:`analysis.metrics.headline` (leads that first became MQL in the month).
    """
    month = parse_month(month)
    as_of = as_of or flt.data_as_of(con)
    if as_of is None:
        raise ValueError("the database holds no history yet: nothing to review")
    targets = load_targets(con, month, month)
    elapsed = _elapsed_share(month, as_of)
    head = metrics.headline(con, month, month_end(month))
    return (
        check_sla(con, month, targets, settings, as_of),
        check_sales_ready(con, month, targets, settings, as_of),
        check_too_few(month, int(head["volumes"]["mql"]), targets, settings, elapsed),
        check_too_many(con, month, settings, elapsed, as_of),
    )


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


def plan(
    con: duckdb.DuckDBPyConnection,
    month: date | str,
    revenue_goal: float | None = None,
    trailing_months: int = 6,
    settings: ReviewSettings = ReviewSettings(),
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
    as_of = as_of or flt.data_as_of(con)
    if as_of is None:
        raise ValueError("the database holds no history yet: nothing to plan from")
    first, last = planner_window(month, trailing_months, as_of, settings.planner_maturity_days)
    deals = closed_deals(con, first, last, as_of)
    won_amount = int(deals["won_with_amount"].sum())
    revenue = float(deals["won_revenue"].sum())
    avg_amount = revenue / won_amount if won_amount else float("nan")
    won, closed = int(deals["won"].sum()), int((deals["won"] + deals["lost"]).sum())
    steps = funnel.step_conversions(
        con,
        month_filters(first, last),
        steps=(("sql", "opportunity"), ("mql", "sql"), ("lead", "mql")),
        as_of=as_of,
    )
    kn = {"win_rate": (won, closed)}
    for r in steps.itertuples(index=False):
        kn[f"{r.from_stage}_to_{r.to_stage}"] = (int(r.k), int(r.n))
    rows = []
    for key, label in PLAN_STEPS:
        k, n = kn.get(key, (0, 0))
        low, high = stats.wilson_interval(k, n)
        rows.append(
            {
                "step": key,
                "label": label,
                "k": k,
                "n": n,
                "rate": k / n if n else float("nan"),
                "low": low,
                "high": high,
            }  # fmt: skip
        )
    rates = pd.DataFrame(rows)
    if revenue_goal is not None:
        goal, source = float(revenue_goal), "input"
    else:
        target = _target_value(load_targets(con, month, month), month, "won_revenue")
        if target is not None:
            goal, source = target, "target"
        else:
            goal, source = revenue / trailing_months, "trailing average"
    needed = reverse_funnel(
        goal,
        avg_amount,
        {r.step: (r.rate, r.low, r.high) for r in rates.itertuples(index=False)},
    )
    head = metrics.headline(con, month, month_end(month))
    v = head["volumes"]
    this_deals = closed_deals(con, month, month, as_of)
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
    needed["gap"] = needed["actual"] - needed["needed_whole"]
    span = f"{first:%b %Y}–{last:%b %Y}" if first != last else f"{first:%b %Y}"
    note = f"Rates from {span} ({trailing_months} months)"
    if last < month:
        note += (
            f"; the window ends before {month:%b %Y} because cohorts younger than "
            f"{settings.planner_maturity_days:g} days are still converting"
        )
    note += "."
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
    )


# --------------------------------------------------------------------------------------
# The whole review
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Review:
    """Everything the Monthly review page and the HTML report show for one month.

    Attributes
    ----------
    month : date
        First day of the review month; ``first``/``last`` are its first and last days.
    as_of : datetime
        The latest recorded fact (naive UTC): the "now" of every number.
    complete : bool
        True when the data reaches the month's last day.
    elapsed : float
        Share of the month covered by the data (1.0 when complete).
    headline : dict
        :func:`analysis.metrics.headline` for the month.
    goals : DataFrame
        :func:`goals_table`.
    checks : tuple of HealthCheck
        :func:`health_checks`.
    changes : DataFrame
        :func:`what_changed`.
    status : DataFrame
        :func:`pipeline_status` of the month's MQLs.
    deals : DataFrame
        :func:`closed_deals` of the month (one row).
    reasons : DataFrame
        :func:`reason_changes`.
    plan : Plan
        :func:`plan`.
    settings : ReviewSettings
        The thresholds used.
    """

    month: date
    first: date
    last: date
    as_of: datetime
    complete: bool
    elapsed: float
    headline: dict
    goals: pd.DataFrame
    checks: tuple[HealthCheck, ...]
    changes: pd.DataFrame
    status: pd.DataFrame
    deals: pd.DataFrame
    reasons: pd.DataFrame
    plan: Plan
    settings: ReviewSettings = field(default_factory=ReviewSettings)

    @property
    def label(self) -> str:
        """``October 2026``."""
        return month_label(self.month)

    @property
    def fired(self) -> list[HealthCheck]:
        """The health checks that fired."""
        return [c for c in self.checks if c.fired]


def build_review(
    con: duckdb.DuckDBPyConnection,
    month: date | str,
    settings: ReviewSettings = ReviewSettings(),
    revenue_goal: float | None = None,
    trailing_months: int = 6,
) -> Review:
    """The monthly review of ``month`` (``YYYY-MM``): every section, as of the data's end.

    Raises ValueError when the database holds no history or the month is not
    ``YYYY-MM``.
    """
    month = parse_month(month)
    as_of = flt.data_as_of(con)
    if as_of is None:
        raise ValueError("the database holds no history yet: nothing to review")
    prev, last_year = add_months(month, -1), add_months(month, -12)
    headlines = {
        "month": metrics.headline(con, month, month_end(month)),
        "previous": metrics.headline(con, prev, month_end(prev)),
        "last_year": metrics.headline(con, last_year, month_end(last_year)),
    }
    deals = closed_deals(con, last_year, month, as_of)
    targets = load_targets(con, month, month)
    goals = goals_table(headlines, deals, targets, month)
    elapsed = _elapsed_share(month, as_of)
    checks = (
        check_sla(con, month, targets, settings, as_of),
        check_sales_ready(con, month, targets, settings, as_of),
        check_too_few(month, int(headlines["month"]["volumes"]["mql"]), targets, settings, elapsed),
        check_too_many(con, month, settings, elapsed, as_of),
    )
    return Review(
        month=month,
        first=month,
        last=month_end(month),
        as_of=as_of,
        complete=elapsed >= 1.0,
        elapsed=elapsed,
        headline=headlines["month"],
        goals=goals,
        checks=checks,
        changes=what_changed(con, month, settings, as_of),
        status=pipeline_status(con, month, as_of),
        deals=deals[deals["month"] == pd.Timestamp(month)].reset_index(drop=True),
        reasons=reason_changes(con, month, settings.alpha),
        plan=plan(con, month, revenue_goal, trailing_months, settings, as_of),
        settings=settings,
    )
