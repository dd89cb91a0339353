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

The package is split by section: :mod:`.common` (goal metrics, thresholds, months),
:mod:`.targets` (targets and goals vs actuals), :mod:`.checks` (health checks),
:mod:`.changes` (what changed), :mod:`.outcomes` (deals, pipeline status, reasons, the
month's funnel table), :mod:`.planner` and :mod:`.monthly` (every month's headline figures
in one pass: :func:`review_head` slices a month's goals, funnel and SLA out of them, which
is what the page shows first); everything is re-exported here, so
``review.<name>`` works for callers. What a history cannot measure (no activities, no
dispositions, no amounts, no targets) is carried in :attr:`Review.availability` and said
in words by every section instead of a 0.

Targets are written only through :func:`analysis.store.write_session`
(:func:`set_targets`), or imported with :func:`analysis.ingest.import_files`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import pandas as pd

from analysis.definitions import data_as_of, is_complete_month
from analysis.lifecycle import measurable, metrics
from analysis.lifecycle.deals import closed_deals
from analysis.lifecycle.review.changes import CHANGE_COLUMNS, what_changed
from analysis.lifecycle.review.checks import (
    REPS_SQL,
    Evidence,
    HealthCheck,
    check_sales_ready,
    check_sla,
    check_too_few,
    check_too_many,
    elapsed_share,
    health_checks,
    pct,
)
from analysis.lifecycle.review.common import (
    DEFAULT_SETTINGS,
    DEFAULT_SLA_COMPLIANCE,
    GOAL_BY_METRIC,
    GOALS,
    STATUSES,
    Goal,
    ReviewSettings,
    add_months,
    available_months,
    default_month,
    month_end,
    month_filters,
    month_label,
    parse_month,
)
from analysis.lifecycle.review.monthly import (
    MonthFigures,
    month_deals,
    month_figures,
    month_headline,
    month_volumes,
)
from analysis.lifecycle.review.outcomes import (
    FUNNEL_BASIS,
    FUNNEL_COLUMNS,
    STAGE_LABELS,
    funnel_table,
    pipeline_status,
    reason_changes,
    recorded_statuses,
)
from analysis.lifecycle.review.planner import (
    PLAN_STAGES,
    PLAN_STEPS,
    Plan,
    plan,
    planner_window,
    reverse_funnel,
)
from analysis.lifecycle.review.targets import (
    TargetsWrite,
    goals_table,
    load_targets,
    pending_target_changes,
    set_targets,
    target_value,
    targets_grid,
    targets_long,
)

__all__ = [
    "CHANGE_COLUMNS",
    "DEFAULT_SETTINGS",
    "DEFAULT_SLA_COMPLIANCE",
    "FUNNEL_BASIS",
    "FUNNEL_COLUMNS",
    "STAGE_LABELS",
    "GOALS",
    "GOAL_BY_METRIC",
    "PLAN_STAGES",
    "PLAN_STEPS",
    "REPS_SQL",
    "STATUSES",
    "Evidence",
    "Goal",
    "HealthCheck",
    "Plan",
    "MonthFigures",
    "Review",
    "ReviewHead",
    "ReviewSettings",
    "TargetsWrite",
    "add_months",
    "available_months",
    "build_review",
    "check_sales_ready",
    "check_sla",
    "check_too_few",
    "check_too_many",
    "checks_of",
    "closed_deals",
    "default_month",
    "elapsed_share",
    "funnel_table",
    "goals_table",
    "health_checks",
    "load_targets",
    "month_end",
    "month_deals",
    "month_figures",
    "month_filters",
    "month_headline",
    "month_label",
    "month_volumes",
    "parse_month",
    "pct",
    "pending_target_changes",
    "pipeline_status",
    "recorded_statuses",
    "plan",
    "planner_window",
    "review_head",
    "reason_changes",
    "reverse_funnel",
    "set_targets",
    "target_value",
    "targets_grid",
    "targets_long",
    "what_changed",
]


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
    funnel : DataFrame
        :func:`funnel_table` of the month (stage volumes and cohort conversions).
    basis : str
        The definition of :attr:`funnel` (``entered`` or ``created``).
    availability : Measurability
        What this history can measure (:func:`analysis.lifecycle.measurable.availability`);
        sections it cannot support say why instead of showing 0.
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
    funnel: pd.DataFrame
    availability: measurable.Measurability
    settings: ReviewSettings = field(default_factory=ReviewSettings)
    basis: str = "entered"

    @property
    def label(self) -> str:
        """``October 2026``."""
        return month_label(self.month)

    @property
    def fired(self) -> list[HealthCheck]:
        """The health checks that fired."""
        return [c for c in self.checks if c.fired]


@dataclass(frozen=True)
class ReviewHead:
    """The review's headline for one month: what the page shows first.

    Attributes are those of :class:`Review` with the same names (``month``, ``first``,
    ``last``, ``as_of``, ``complete``, ``elapsed``, ``headline``, ``goals``, ``deals``,
    ``funnel``, ``availability``, ``basis``), plus ``targets``
    (:func:`load_targets` of the month).
    """

    month: date
    first: date
    last: date
    as_of: datetime
    complete: bool
    elapsed: float
    headline: dict
    goals: pd.DataFrame
    deals: pd.DataFrame
    funnel: pd.DataFrame
    availability: measurable.Measurability
    targets: pd.DataFrame
    basis: str = "entered"

    @property
    def label(self) -> str:
        """``October 2026``."""
        return month_label(self.month)


def review_head(
    figs: MonthFigures, month: date | str, targets: pd.DataFrame, basis: str = "entered"
) -> ReviewHead:
    """The month's headline from every month's figures (:func:`month_figures`): no query.

    ``targets`` is :func:`load_targets` covering the month. Goals vs actuals quote the
    month, the month before and the same month a year earlier
    (:func:`month_headline`, the numbers of :func:`analysis.lifecycle.metrics.headline`);
    ``basis`` is the definition of the month's funnel table. Raises ValueError when the
    history is empty.
    """
    month = parse_month(month)
    if figs.as_of is None:
        raise ValueError("the database holds no history yet: nothing to review")
    prev, last_year = add_months(month, -1), add_months(month, -12)
    headlines = {
        "month": month_headline(figs, month, basis),
        "previous": month_headline(figs, prev),
        "last_year": month_headline(figs, last_year),
    }
    deals = month_deals(figs, last_year, month)
    goals = goals_table(headlines, deals, targets, month, figs.availability, figs.first_day)
    return ReviewHead(
        month=month,
        first=month,
        last=month_end(month),
        as_of=figs.as_of,
        complete=is_complete_month(month, figs.as_of),
        elapsed=elapsed_share(month, figs.as_of),
        headline=headlines["month"],
        goals=goals,
        deals=deals[deals["month"] == pd.Timestamp(month)].reset_index(drop=True),
        funnel=funnel_table(headlines["month"]),
        availability=figs.availability,
        targets=targets,
        basis=basis,
    )


def checks_of(
    con: duckdb.DuckDBPyConnection,
    month: date | str,
    settings: ReviewSettings,
    mqls: int | None,
) -> tuple[HealthCheck, ...]:
    """:func:`health_checks` of the month given its MQL volume (the headline's ``mql``).

    ``mqls`` None means the history has no MQL stage.
    """
    return health_checks(con, month, settings, None, {"volumes": {"mql": mqls}})


def build_review(
    con: duckdb.DuckDBPyConnection,
    month: date | str,
    settings: ReviewSettings = DEFAULT_SETTINGS,
    revenue_goal: float | None = None,
    trailing_months: int = 6,
    basis: str = "entered",
) -> Review:
    """The monthly review of ``month`` (``YYYY-MM``): every section, as of the data's end.

    ``basis`` is the definition of the month's funnel table (stage counts and step rates,
    :data:`analysis.lifecycle.metrics.BASES`); goals always count stage entries in the month.
    Raises ValueError when the database holds no history or the month is not
    ``YYYY-MM``.
    """
    month = parse_month(month)
    as_of = data_as_of(con)
    if as_of is None:
        raise ValueError("the database holds no history yet: nothing to review")
    head = review_head(month_figures(con), month, load_targets(con, month, month), basis)
    # the report quotes the whole headline (deals, reasons, cycle), not only the head's part
    headline = metrics.headline(con, month, head.last, basis=basis)
    return Review(
        month=month,
        first=month,
        last=head.last,
        as_of=as_of,
        complete=head.complete,
        elapsed=head.elapsed,
        headline=headline,
        goals=head.goals,
        checks=health_checks(con, month, settings, as_of, headline),
        changes=what_changed(con, month, settings, as_of),
        status=pipeline_status(con, month, as_of),
        deals=head.deals,
        reasons=reason_changes(con, month, settings.alpha),
        plan=plan(con, month, revenue_goal, trailing_months, settings, as_of),
        funnel=head.funnel,
        availability=head.availability,
        settings=settings,
        basis=basis,
    )
