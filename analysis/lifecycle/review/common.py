"""Review vocabulary: goal metrics, thresholds (:class:`ReviewSettings`) and months."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from analysis import filters as flt
from analysis.definitions import data_as_of, month_start


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


DEFAULT_SETTINGS = ReviewSettings()
"""The documented default thresholds."""


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


LAST_DATA_MONTH_SQL = """
SELECT max(t) FROM (
    SELECT date_trunc('month', created_at) AS t FROM leads WHERE created_at < $before
    UNION ALL
    SELECT date_trunc('month', changed_at) FROM stage_changes WHERE changed_at < $before
)
"""


def default_month(con: duckdb.DuckDBPyConnection) -> date | None:
    """The month a review opens on: the last complete month that has data.

    Complete per :func:`analysis.definitions.is_complete_month` (the data
    reaches past its last day); "has data" means a lead was created or a stage entered in
    it. When no complete month has data (a history inside one month), the month of the
    data's end; None for an empty database. Never a month after the data ends.
    """
    as_of = data_as_of(con)
    if as_of is None:
        return None
    before = datetime.combine(month_start(as_of), datetime.min.time())
    ((found,),) = con.execute(LAST_DATA_MONTH_SQL, {"before": before}).fetchall()
    return month_start(found) if found is not None else month_start(as_of)


def pct(x: float | None, digits: int = 0) -> str:
    """A share 0-1 as ``55%`` (``n/a`` for None or NaN)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}%}"
