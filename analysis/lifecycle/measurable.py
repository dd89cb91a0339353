"""Which numbers a history can support, and why not when it cannot.

Query intuition
---------------
A user's history is whatever their CRM exported: some have no sales activities, no
dispositions, no deal amounts, no targets, no dates, or start at the opportunity stage.
Every metric declares what it needs (:data:`NEEDS`), and one pass of cheap counts over the
tables (:data:`FACTS_SQL`) answers, for each, whether it is measurable on this history and,
if not, a sentence saying what is missing and what to import. Pages, ``handoff metrics``
and the HTML report show that sentence instead of a 0 that would mean "no data".

The funnel's first stage is the earliest stage any lead entered: ``lead`` when some lead
has no later stage recorded (it is a lead only), else the earliest stage recorded in
``stage_changes`` or implied by an ``opportunities`` row. An opportunity-only export
starts at ``opportunity``: no invented leads or MQLs are shown as real.

A history is *dated* when its lead creations and dated stage entries fall on at least two
different days; an export without dates puts everything on one day (the importer marks
such stage entries ``(undated)`` in ``source_system``), where cohorts, trends and cycle
times mean nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from analysis.definitions import HANDOFF_STAGE
from analysis.lifecycle import journey
from analysis.store import STAGES

NOT_MEASURABLE = "not measurable"
"""The verdict of a comparison or figure the history cannot support (a period it does not
cover, an outcome it does not record): shown with its reason, never as a zero."""


@dataclass(frozen=True)
class Availability:
    """Whether one metric can be computed on this history; ``reason`` says why not."""

    measurable: bool
    reason: str = ""


REASONS: dict[str, str] = {
    "sla": (
        "this history has no sales activities, so response times and SLA compliance "
        "cannot be computed. Import sales_activities (native file) or map an activity "
        "date to see them."
    ),
    "rejections": (
        "this history has no sales dispositions, so the rejection mix and its reasons "
        "cannot be computed. Import dispositions (native file) or map a disposition and "
        "reason column to see them."
    ),
    "revenue": (
        "this history has no deal amounts, so won revenue and the average won amount "
        "cannot be computed. Map an amount column of the deals file (or import "
        "opportunities with amount) to see them."
    ),
    "goals": (
        "this history has no targets, so goals against actuals cannot be compared. Set "
        "monthly targets under Targets (or import targets.csv) to see them."
    ),
    "win_rate": (
        "this history records no lost deals, so the win rate of closed deals (won ÷ "
        "(won + lost)) cannot be computed. Import opportunities with their lost outcome "
        "to see it."
    ),
    "open_deals": (
        "this history has no opportunities table rows, so open deals cannot be counted. "
        "Import opportunities (or a deals file) to see them."
    ),
    "dates": (
        "this history has no dates (every lead and stage entry sits on one day), so "
        "cohorts, trends and cycle times cannot be computed. Map a created date or "
        "stage dates to see them."
    ),
    "handoffs": (
        "this history starts at the {start} stage: it records no MQL handoff, so "
        "handoff-based numbers (response times, SLA, MQL conversions) cannot be computed."
    ),
    "capacity": (
        "this history has no rep capacities, so MQL load against capacity cannot be "
        "judged. Import reps with a capacity to see it."
    ),
}
"""Why each metric group is not measurable, in words a user can act on."""

NEEDS: dict[str, str] = {
    "sla": "sales_activities rows and MQL handoffs",
    "rejections": "dispositions rows",
    "revenue": "opportunities.amount on won deals",
    "goals": "targets rows",
    "win_rate": "lost deals (opportunities.outcome = 'lost')",
    "open_deals": "opportunities rows",
    "dates": "lead or stage dates on two or more days",
    "handoffs": "stage entries at or before the MQL stage",
    "capacity": "reps.capacity",
}
"""What each metric group needs from the history (documentation and tests)."""

FACTS_SQL = """
SELECT
    (SELECT count(*) FROM sales_activities) AS activities,
    (SELECT count(*) FROM dispositions) AS dispositions,
    (SELECT count(*) FROM opportunities) AS opportunities,
    (SELECT count(*) FROM opportunities WHERE outcome = 'lost') AS lost,
    (SELECT count(amount) FROM opportunities WHERE outcome = 'won') AS amounts,
    (SELECT count(*) FROM targets) AS targets,
    (SELECT count(capacity) FROM reps) AS capacities,
    (SELECT count(DISTINCT d) FROM (
        SELECT created_at::DATE AS d FROM leads WHERE created_at IS NOT NULL
        UNION ALL
        SELECT changed_at::DATE FROM stage_changes
        WHERE changed_at IS NOT NULL AND coalesce(source_system, '') NOT LIKE '%(undated)'
    )) AS dated_days,
    (SELECT count(*) FROM leads) AS leads
"""

START_SQL = """
WITH firsts AS (
    SELECT l.lead_id,
        min(CASE sc.stage {ranks} END) AS first_rank,
        bool_or(o.lead_id IS NOT NULL) AS has_opp
    FROM leads l
    LEFT JOIN stage_changes sc ON sc.lead_id = l.lead_id AND sc.stage IN ({stages})
    LEFT JOIN (SELECT DISTINCT lead_id FROM opportunities) o ON o.lead_id = l.lead_id
    GROUP BY l.lead_id
)
SELECT min(CASE
    WHEN first_rank IS NULL AND has_opp THEN {opp_rank}
    WHEN first_rank IS NULL THEN 0
    WHEN has_opp THEN least(first_rank, {opp_rank})
    ELSE first_rank END)
FROM firsts
"""


@dataclass(frozen=True)
class Measurability:
    """What this history can measure: one :class:`Availability` per metric group.

    Attributes
    ----------
    funnel_start : str
        The first funnel stage the history shows (``lead`` for a full history,
        ``opportunity`` for an opportunity-only export); ``lead`` when empty.
    sla, rejections, revenue, goals, win_rate, open_deals, dates, handoffs, capacity
        :class:`Availability` of response times / SLA, rejection mixes, won revenue,
        goals vs actuals, win rate of closed deals, open deals, cohorts / trends / cycle
        times, MQL handoffs, and rep capacity.
    """

    funnel_start: str
    sla: Availability
    rejections: Availability
    revenue: Availability
    goals: Availability
    win_rate: Availability
    open_deals: Availability
    dates: Availability
    handoffs: Availability
    capacity: Availability

    def get(self, name: str) -> Availability:
        """The availability of the metric group ``name`` (a field name)."""
        value = getattr(self, name, None)
        if not isinstance(value, Availability):
            raise ValueError(f"unknown metric group {name!r}; expected one of {', '.join(NEEDS)}")
        return value

    def reasons(self) -> dict[str, str]:
        """``{group: reason}`` of every group that is not measurable."""
        return {k: self.get(k).reason for k in NEEDS if not self.get(k).measurable}


def _avail(ok: bool, key: str, **fmt: str) -> Availability:
    return Availability(True) if ok else Availability(False, REASONS[key].format(**fmt))


def funnel_start(con: duckdb.DuckDBPyConnection) -> str:
    """The first funnel stage this history shows (see the module docstring)."""
    later = STAGES[1:]
    ranks = " ".join(f"WHEN '{s}' THEN {STAGES.index(s)}" for s in later)
    sql = START_SQL.format(
        ranks=ranks,
        stages=", ".join(f"'{s}'" for s in later),
        opp_rank=STAGES.index("opportunity"),
    )
    ((rank,),) = con.execute(sql).fetchall()
    return STAGES[int(rank)] if rank is not None else STAGES[0]


FACT_NAMES: tuple[str, ...] = (
    "activities",
    "dispositions",
    "opportunities",
    "lost",
    "amounts",
    "targets",
    "capacities",
    "dated_days",
    "leads",
    "funnel_start",
)
"""Keys of :func:`facts`: the counts of :data:`FACTS_SQL` and :func:`funnel_start`."""


def facts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The counts availability is decided from (:data:`FACT_NAMES`), read from the tables.

    Recorded with the journey tables when the file is written
    (:mod:`analysis.lifecycle.journey`), so pages do not rescan every table.
    """
    (row,) = con.execute(FACTS_SQL).fetchall()
    out: dict[str, Any] = {k: int(v) for k, v in zip(FACT_NAMES[:-1], row, strict=True)}
    out["funnel_start"] = funnel_start(con) if out["leads"] else STAGES[0]
    return out


def availability(con: duckdb.DuckDBPyConnection) -> Measurability:
    """What this history can measure, each group with the reason when it cannot.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection (or cursor) on a Handoff Health database.

    Returns
    -------
    Measurability
        A frozen (hashable) summary; :meth:`Measurability.reasons` lists the gaps.
    """
    if journey.active():
        found = journey.stamped(con)[1]
    else:
        found = facts(con)
    acts, disps, opps, lost, amounts, targets, caps, days = (found[k] for k in FACT_NAMES[:-2])
    start = found["funnel_start"]
    handoffs = STAGES.index(start) <= STAGES.index(HANDOFF_STAGE)
    return Measurability(
        funnel_start=start,
        sla=(_avail(acts > 0, "sla") if handoffs else _avail(False, "handoffs", start=start)),
        rejections=_avail(disps > 0, "rejections"),
        revenue=_avail(amounts > 0, "revenue"),
        goals=_avail(targets > 0, "goals"),
        win_rate=_avail(lost > 0, "win_rate"),
        open_deals=_avail(opps > 0, "open_deals"),
        dates=_avail(days >= 2, "dates"),
        handoffs=_avail(handoffs, "handoffs", start=start),
        capacity=_avail(caps > 0, "capacity"),
    )
