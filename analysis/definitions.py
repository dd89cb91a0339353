"""The lifecycle definitions every number is built from, each written once.

Funnel, SLA, rejections, the monthly review, ``handoff metrics``, the HTML report and the
scoring lab call these and never restate them.

Query intuition
---------------
- **Reached a stage**: a lead reached stage S when its history shows S or any later stage;
  a skipped stage takes the entry time of the first later stage it did reach. So the entry
  time of S is ``min(changed_at)`` over the lead's changes to S *or any later stage*
  (:func:`reached_at_sql`). The lead stage is entered at creation (or at the first change,
  should one be recorded earlier).
- **Handoff time** is the lead's MQL entry time under that rule (:data:`HANDOFF_STAGE`):
  a lead that went straight to SQL was handed off when it became SQL. SLA clocks
  (:mod:`analysis.lifecycle.handoffs`) start at each recorded :data:`HANDOFF_STAGE`
  change instead: the first one is this handoff time for every lead that passed through
  MQL, a recycled lead gets a new clock per re-entry, and a lead that skipped MQL was
  never waiting for sales, so it has no SLA clock.
- **Won**: a lead is won when it reached the ``customer`` stage, whether or not an
  opportunities row exists (:data:`WON_STAGE`).
- **As of** ("now" of every metric): the latest timestamp recorded in any history table
  (:data:`AS_OF_SQL`), so a history exported months ago is read as of its own end.
- **Complete period**: a calendar month is complete when the data reaches past its last
  day (:func:`is_complete_month`); the newest, partly observed month is immature.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import date, datetime

import duckdb

from analysis.store import STAGES

HANDOFF_STAGE = "mql"
"""The stage whose entry is the handoff from marketing to sales."""
WON_STAGE = "customer"
"""The stage whose entry means a won deal."""


def later_stages(stage: str) -> tuple[str, ...]:
    """``stage`` and every stage after it in funnel order (``lead`` … ``customer``)."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    return STAGES[STAGES.index(stage) :]


def reached_at_sql(stage: str, alias: str = "sc") -> str:
    """Aggregate SQL for the first entry time of ``stage`` with the skip rule.

    Used inside ``GROUP BY lead_id`` over ``stage_changes`` aliased ``alias``: the earliest
    change to ``stage`` or any later stage, NULL when the lead never got that far.
    """
    stages = ", ".join(f"'{s}'" for s in later_stages(stage))
    return f"min({alias}.changed_at) FILTER (WHERE {alias}.stage IN ({stages}))"


def reached_sql(stage: str, alias: str = "sc") -> str:
    """Aggregate SQL: whether the lead reached ``stage`` at all (dated or not).

    Like :func:`reached_at_sql` but true also when the entry has no date (an undated
    export), so counts that need no date (how many reached SQL) still include it.
    """
    stages = ", ".join(f"'{s}'" for s in later_stages(stage))
    return f"coalesce(bool_or({alias}.stage IN ({stages})), false)"


CONVERSION_BASIS: dict[str, str] = {
    "cohort": (
        "cohort: of the leads that entered {from_label} in the period, the share that "
        "reached {to_label} by the end of the data"
    ),
    "cohort_window": (
        "cohort: of the leads that entered {from_label} in the period, the share that "
        "reached {to_label} within {window:g} days"
    ),
    "created_cohort": (
        "lead cohort: of the leads created in the period that reached {from_label}, the "
        "share that also reached {to_label}"
    ),
    "period": ("period: {to_label} entries ÷ {from_label} entries in the period (different leads)"),
}
"""The meanings "S → T" can have, named; every rate shown says which one it is."""


def conversion_label(basis: str, from_stage: str, to_stage: str, window: float = 0) -> str:
    """The sentence saying what a conversion rate ``from_stage`` → ``to_stage`` means."""
    if basis not in CONVERSION_BASIS:
        raise ValueError(f"basis must be one of {', '.join(CONVERSION_BASIS)}, got {basis!r}")
    labels = {s: s.upper() if s in ("mql", "sql") else s for s in STAGES}
    return CONVERSION_BASIS[basis].format(
        from_label=labels[from_stage], to_label=labels[to_stage], window=window
    )


AS_OF_SQL = """
SELECT greatest(
    (SELECT max(created_at) FROM leads),
    (SELECT max(occurred_at) FROM touchpoints),
    (SELECT max(changed_at) FROM stage_changes),
    (SELECT max(occurred_at) FROM sales_activities),
    (SELECT max(decided_at) FROM dispositions),
    (SELECT max(created_at) FROM opportunities),
    (SELECT max(closed_at) FROM opportunities))
"""
"""The end of the data: the latest timestamp recorded in any history table (one value)."""


_KNOWN_AS_OF: contextvars.ContextVar[tuple[datetime | None] | None] = contextvars.ContextVar(
    "known_as_of", default=None
)


@contextlib.contextmanager
def known_as_of(value: datetime | None) -> Iterator[None]:
    """Within the block, :func:`data_as_of` returns ``value`` without scanning the tables.

    For a reader that already knows the end of its data (the journey stamp records
    :data:`AS_OF_SQL`'s value when the file is written): the same value, no scan.
    """
    token = _KNOWN_AS_OF.set((value,))
    try:
        yield
    finally:
        _KNOWN_AS_OF.reset(token)


def data_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """Time of the latest recorded fact (naive UTC), the default "now" of every metric.

    The latest of: lead creation, touchpoint, stage change, sales activity, disposition,
    opportunity creation or close. None when the database holds none of them. Inside
    :func:`known_as_of` the value given there (recorded from the same query).
    """
    known = _KNOWN_AS_OF.get()
    if known is not None:
        return known[0]
    ((value,),) = con.execute(AS_OF_SQL).fetchall()
    return value


def month_start(day: date | datetime) -> date:
    """First day of the calendar month holding ``day``."""
    return date(day.year, day.month, 1)


def next_month(month: date) -> date:
    """First day of the month after ``month`` (any day of it)."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def is_complete_month(month: date, as_of: datetime | date | None) -> bool:
    """Whether the calendar month holding ``month`` is fully observed by ``as_of``.

    A month is complete when the data reaches its last moment, i.e. ``as_of`` is at or
    after the first instant of the next month. With no data (``as_of`` None) no month is.
    """
    if as_of is None:
        return False
    end = next_month(month_start(month))
    as_of_dt = (
        as_of if isinstance(as_of, datetime) else datetime(as_of.year, as_of.month, as_of.day)
    )
    return as_of_dt >= datetime(end.year, end.month, end.day)


def last_complete_month(as_of: datetime | date | None) -> date | None:
    """First day of the newest complete month as of ``as_of``; None with no data.

    The month holding ``as_of`` itself is never complete (the data ends inside it), so
    this is the month before it.
    """
    if as_of is None:
        return None
    current = month_start(as_of)
    return date(current.year - (current.month == 1), (current.month - 2) % 12 + 1, 1)
