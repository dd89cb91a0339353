"""Handoffs and their SLA clocks: one row per MQL handoff, each with its SLA outcome.

This is the relation every response-time number is built from (:func:`handoffs_cte`):
the handoff (an ``mql`` change, :data:`analysis.definitions.HANDOFF_STAGE`),
its first sales activity, its SLA tier (:func:`policies`), both clocks (wall and business
minutes) and its SLA outcome (:func:`sla_outcome_sql`, the one definition of met and
breached). :mod:`analysis.lifecycle.sla` explains the algorithm and aggregates it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from analysis import filters as flt
from analysis.definitions import HANDOFF_STAGE
from analysis.lifecycle import journey
from analysis.store import STAGES


@dataclass(frozen=True)
class Policy:
    """One SLA tier: its name, target in minutes, and whether the target is in business time."""

    tier: str
    target_minutes: float
    business_hours: bool


DEFAULT_POLICIES: dict[str, Policy] = {
    "demo_request": Policy("hot", 15.0, False),
    "default": Policy("standard", 1440.0, False),
}
"""DESIGN.md's common-practice tiers, used for a rule missing from ``sla_policies``:
demo-request MQLs 15 minutes, other MQLs 24 hours, both wall-clock."""

CLOCKS: tuple[str, ...] = ("policy", "wall", "business")
"""Clocks a compliance figure can use: each tier's own, wall-clock or business time."""

DEFAULT_WORK_START_MIN = 9 * 60
DEFAULT_WORK_END_MIN = 17 * 60

DEFAULT_BUCKETS: tuple[float, ...] = (0, 5, 15, 60, 240, 1440, 4320, math.inf)
"""Speed-to-lead response bands in minutes: 0-5, 5-15, 15-60 min, 1-4 h, 4-24 h, 1-3 d, 3 d+."""


def rule_kind(rule: str | None) -> str:
    """Which MQLs a ``sla_policies.rule`` text covers: ``demo_request`` or ``default``.

    A rule naming a demo request (``demo_request``, ``demo request``, ``Demo-request
    MQLs``) covers MQLs with a demo-request touchpoint at or before the handoff; any other
    text (``default``, ``any other MQL``, empty) covers the rest.
    """
    text = (rule or "").lower().replace("_", " ").replace("-", " ")
    return "demo_request" if "demo" in text else "default"


def policies(con: duckdb.DuckDBPyConnection) -> dict[str, Policy]:
    """The policy per rule kind (``demo_request``, ``default``) from ``sla_policies``.

    When several rows cover the same kind, the strictest (smallest target) wins; a kind
    with no row falls back to :data:`DEFAULT_POLICIES`.
    """
    rows = con.execute(
        "SELECT tier, rule, target_minutes, coalesce(business_hours, false) FROM sla_policies "
        "ORDER BY target_minutes, tier"
    ).fetchall()
    found: dict[str, Policy] = {}
    for tier, rule, target, business in rows:
        found.setdefault(rule_kind(rule), Policy(str(tier), float(target), bool(business)))
    return {kind: found.get(kind, DEFAULT_POLICIES[kind]) for kind in DEFAULT_POLICIES}


SLA_OUTCOMES: tuple[str, ...] = (
    "met",
    "breached",
    "open_in_breach",
    "open_within",
    "not_measurable",
)
"""The SLA outcome of one handoff (:func:`sla_outcome_sql`), the only definition of met
and breached: ``met`` answered within target; ``breached`` answered late, or closed
without a touch after the target passed; ``open_in_breach`` no touch yet and already past
target; ``open_within`` no touch yet, still inside target; ``not_measurable`` closed (a
decision, a later stage or a new handoff) before the target passed without any touch.
Compliance is ``met`` ÷ (``met`` + ``breached`` + ``open_in_breach``); the other two are
*pending*."""


def sla_outcome_sql(minutes: str = "policy_minutes") -> str:
    """SQL CASE giving :data:`SLA_OUTCOMES` of a handoff row, with its clock ``minutes``.

    Uses the handoff relation's ``status`` and ``target_minutes`` columns; ``minutes`` is
    one of its clock columns (``policy_minutes``, ``wall_minutes``, ``business_minutes``).
    """
    return f"""CASE
        WHEN status = 'responded' AND {minutes} <= target_minutes THEN 'met'
        WHEN status = 'open' AND {minutes} > target_minutes THEN 'open_in_breach'
        WHEN {minutes} > target_minutes THEN 'breached'
        WHEN status = 'open' THEN 'open_within'
        ELSE 'not_measurable' END"""


DECIDED_OUTCOMES = ("met", "breached", "open_in_breach")
"""SLA outcomes that count in the compliance denominator (decided handoffs)."""


def business_clock_sql(local: str) -> str:
    """SQL: business minutes from a fixed Monday (1970-01-05) to local wall time ``local``.

    ``local`` is a naive timestamp in the rep's own zone; uses the columns ``ws`` and
    ``we`` (working window, minutes of the local day) of the per-handoff relation.
    """
    days = f"(({local})::DATE - DATE '1970-01-05')"
    weeks = f"floor({days} / 7)"
    rem = f"({days} - 7 * {weeks})"
    minute = f"((epoch_us({local}) - epoch_us(({local})::DATE::TIMESTAMP)) / 60e6)"
    return (
        f"(({weeks} * 5 + least({rem}, 5)) * (we - ws) + "
        f"CASE WHEN {rem} < 5 THEN least(greatest({minute} - ws, 0), we - ws) ELSE 0 END)"
    )


REP_CLOCK_CTE = """
    rp AS (
        SELECT rep_id,
            CASE WHEN timezone IN (SELECT name FROM pg_timezone_names())
                 THEN timezone ELSE 'UTC' END AS tz,
            epoch(work_start) / 60 AS ws0, epoch(work_end) / 60 AS we0
        FROM reps
    )"""
"""Each rep's time zone (UTC when unknown) and working window in minutes of the day."""


def owner_clock_sql(def_ws: str = "$def_ws", def_we: str = "$def_we") -> str:
    """The owner's zone and working window (``tz``, ``ws``, ``we``) from ``rp`` joined."""
    return f"""coalesce(rp.tz, 'UTC') AS tz,
            CASE WHEN rp.we0 > rp.ws0 THEN rp.ws0 ELSE {def_ws} END AS ws,
            CASE WHEN rp.we0 > rp.ws0 THEN rp.we0 ELSE {def_we} END AS we"""


def _lead_columns(dims_sql: str) -> str:
    """The handoff's lead columns: breakdowns, owner, the owner's zone and working window."""
    return f"""{dims_sql}
            l.owner_rep_id, {owner_clock_sql()}"""


_LATER = ", ".join(f"'{s}'" for s in (*STAGES[2:], "disqualified", "nurture"))
EVENTS_CTE = f"""ev AS (
        SELECT lead_id, occurred_at AS at, 1 AS what FROM sales_activities
        UNION ALL
        SELECT lead_id, changed_at, 2 FROM stage_changes WHERE stage IN ({_LATER})
        UNION ALL
        SELECT lead_id, decided_at, 2 FROM dispositions
        UNION ALL
        SELECT lead_id, occurred_at, 3 FROM touchpoints WHERE kind = 'demo_request'
    )"""
"""What can end a handoff's wait, per lead: ``what`` 1 a sales activity (its first
response), 2 a later stage or a disposition (the handoff closed), 3 a demo request (the
hot tier's trigger). Shared by the live handoff query and the journey tables built at write
time, so both read the same events."""


def _direct_head(where: str, dims_sql: str) -> str:
    """CTEs up to ``h2`` (handoff, first activity, status, clock end) from the base tables.

    Query intuition: ``mql`` changes up to ``$as_of`` numbered per lead; all events of a
    lead up to ``$as_of`` joined once and folded per handoff with filtered ``min``.
    """
    return f"""{REP_CLOCK_CTE},
    h0 AS (
        SELECT lead_id, changed_at AS handoff_at,
            row_number() OVER w AS handoff_no,
            lead(changed_at) OVER w AS next_handoff_at
        FROM stage_changes
        WHERE stage = '{HANDOFF_STAGE}' AND changed_at <= $as_of
        WINDOW w AS (PARTITION BY lead_id ORDER BY changed_at)
    ),
    h AS MATERIALIZED (
        SELECT h0.lead_id, h0.handoff_no, h0.handoff_at, h0.next_handoff_at,
               {_lead_columns(dims_sql)}
        FROM h0
        JOIN leads l ON l.lead_id = h0.lead_id
        LEFT JOIN reps r ON r.rep_id = l.owner_rep_id
        LEFT JOIN rp ON rp.rep_id = l.owner_rep_id
        WHERE {where}
    ),
    {EVENTS_CTE},
    x AS (
        SELECT h.lead_id, h.handoff_no,
            min(ev.at) FILTER (
                WHERE ev.what = 1 AND ev.at >= h.handoff_at
                  AND (h.next_handoff_at IS NULL OR ev.at < h.next_handoff_at))
                AS first_activity_at,
            min(ev.at) FILTER (WHERE ev.what = 2 AND ev.at >= h.handoff_at) AS ended_at,
            bool_or(ev.what = 3 AND ev.at <= h.handoff_at) AS is_hot
        FROM h
        JOIN ev ON ev.lead_id = h.lead_id AND ev.at <= $as_of
        GROUP BY h.lead_id, h.handoff_no
    ),
    h2 AS (
        SELECT h.*, x.first_activity_at, coalesce(x.is_hot, false) AS is_hot,
            CASE WHEN x.first_activity_at IS NOT NULL THEN 'responded'
                 WHEN least(x.ended_at, h.next_handoff_at) IS NOT NULL THEN 'closed'
                 ELSE 'open' END AS status,
            coalesce(x.first_activity_at, least(x.ended_at, h.next_handoff_at), $as_of)
                AS clock_end_at
        FROM h
        LEFT JOIN x ON x.lead_id = h.lead_id AND x.handoff_no = h.handoff_no
    )"""


def _journey_head(where: str, dims_sql: str) -> str:
    """The same CTEs up to ``h2`` read from the derived ``journey_handoffs`` table.

    Query intuition: the derived times cover the whole history; as of ``$as_of`` a time
    counts only when it is at or before it (the first event up to ``as_of`` is the first
    event overall when that one is, else there is none), so no event join is needed.
    """

    def upto(col: str) -> str:
        return f"CASE WHEN l.{col} <= $as_of THEN l.{col} END"

    return f"""{REP_CLOCK_CTE},
    h AS (
        SELECT l.lead_id, l.handoff_no, l.handoff_at, {upto("next_handoff_at")} AS next_handoff_at,
            {_lead_columns(dims_sql)},
            {upto("first_activity_at")} AS x_first_activity_at,
            {upto("ended_at")} AS x_ended_at,
            coalesce(l.first_demo_at <= l.handoff_at, false) AS x_is_hot,
            l.b_handoff, l.b_first_activity, l.b_ended, l.b_next
        FROM {journey.lead_from_sql(journey.HANDOFFS)}
        LEFT JOIN rp ON rp.rep_id = l.owner_rep_id
        WHERE l.handoff_at <= $as_of AND {where}
    ),
    h2 AS (
        SELECT h.* EXCLUDE (x_first_activity_at, x_ended_at, x_is_hot,
                b_first_activity, b_ended, b_next),
            x_first_activity_at AS first_activity_at, x_is_hot AS is_hot,
            CASE WHEN x_first_activity_at IS NOT NULL THEN 'responded'
                 WHEN least(x_ended_at, next_handoff_at) IS NOT NULL THEN 'closed'
                 ELSE 'open' END AS status,
            coalesce(x_first_activity_at, least(x_ended_at, next_handoff_at), $as_of)
                AS clock_end_at,
            CASE WHEN x_first_activity_at IS NOT NULL THEN b_first_activity
                 WHEN x_ended_at IS NOT NULL
                      AND (next_handoff_at IS NULL OR x_ended_at <= next_handoff_at)
                      THEN b_ended
                 WHEN next_handoff_at IS NOT NULL THEN b_next END AS b_end_pre
        FROM h
    )"""


def _journey_clocks(b_end: str) -> str:
    """``h3``, ``h4`` of the journey path: the business clock's ends come derived.

    The business-minute clock of a handoff's start and of every event that can end it is
    stored with the journey; only an open handoff's end (``$as_of``) is converted to
    the owner's zone here, the costly part of the direct query (``b_end`` is the
    business clock SQL of ``end_local``).
    """
    return f"""
    h3 AS MATERIALIZED (
        SELECT * EXCLUDE (is_hot),
            {TIER_COLUMNS},
            CASE WHEN b_end_pre IS NULL
                 THEN timezone(tz, timezone('UTC', clock_end_at)) END AS end_local
        FROM h2
    ),
    h4 AS (
        SELECT * EXCLUDE (b_handoff, b_end_pre, end_local),
            coalesce(b_end_pre, {b_end}) - b_handoff AS business_minutes
        FROM h3
    )"""


TIER_COLUMNS = """CASE WHEN is_hot THEN $hot_tier ELSE $std_tier END AS tier,
            CASE WHEN is_hot THEN $hot_target ELSE $std_target END AS target_minutes,
            CASE WHEN is_hot THEN $hot_bh ELSE $std_bh END AS business_hours,
            (epoch_us(clock_end_at) - epoch_us(handoff_at)) / 60e6 AS wall_minutes"""
"""A handoff's tier, target and clock kind (hot: a demo request by then) and wall minutes."""


def _direct_clocks(b_end: str, b_start: str) -> str:
    """``h3``, ``h4`` of the direct path: tier, both clocks from the owner's local times."""
    return f"""
    h3 AS MATERIALIZED (
        SELECT * EXCLUDE (is_hot),
            {TIER_COLUMNS},
            timezone(tz, timezone('UTC', handoff_at)) AS handoff_local,
            timezone(tz, timezone('UTC', clock_end_at)) AS end_local
        FROM h2
    ),
    h4 AS (
        SELECT * EXCLUDE (handoff_local, end_local),
            {b_end} - {b_start} AS business_minutes
        FROM h3
    )"""


def handoffs_cte(
    filters: flt.Filters,
    pol: dict[str, Policy],
    dims: Sequence[str] = (),
    use_dates: bool = True,
    open_only: bool = False,
) -> tuple[str, dict[str, Any]]:
    """CTE text ending in ``handoffs AS (...)``, one row per handoff, and its parameters.

    Needs ``$as_of``. Columns: ``lead_id``, ``handoff_no``, ``handoff_at``,
    ``next_handoff_at``, breakdown columns, ``owner_rep_id``, ``rep``, ``team``,
    ``source``, ``campaign``, ``tier``, ``target_minutes``, ``business_hours``,
    ``status``, ``first_activity_at``, ``clock_end_at``, ``wall_minutes``,
    ``business_minutes`` (clock from handoff to clock end), ``policy_minutes`` (the one the
    tier's target uses), ``met``, ``breached``.

    ``open_only`` keeps only the handoffs still open at ``$as_of`` (``status`` ``open``:
    the breach queue's candidates). On the journey tables it is applied before anything
    else, so the relation is built for those few rows rather than for every handoff.
    """
    derived = journey.active()
    where, params = filters.lead_sql()
    if open_only and derived:
        where = f"{where} AND {_STILL_OPEN}"
    if use_dates:
        date_where, date_params = filters.date_sql("l.handoff_at" if derived else "h0.handoff_at")
        where = f"{where} AND {date_where}"
        params = {**params, **date_params}
    hot, std = pol["demo_request"], pol["default"]
    params.update(
        hot_tier=hot.tier,
        hot_target=hot.target_minutes,
        hot_bh=hot.business_hours,
        std_tier=std.tier,
        std_target=std.target_minutes,
        std_bh=std.business_hours,
        def_ws=DEFAULT_WORK_START_MIN,
        def_we=DEFAULT_WORK_END_MIN,
    )
    fixed = ("rep", "team", "source", "campaign")
    dims_sql = "".join(f'{flt.dimension_sql(d)} AS "{d}", ' for d in dict.fromkeys([*fixed, *dims]))
    b_end, b_start = business_clock_sql("end_local"), business_clock_sql("handoff_local")
    if derived:
        head = _journey_head(where, dims_sql) + "," + _journey_clocks(b_end)
    else:
        head = _direct_head(where, dims_sql) + "," + _direct_clocks(b_end, b_start)
    sql = f"""{head},
    h5 AS (
        SELECT *,
            CASE WHEN business_hours THEN business_minutes ELSE wall_minutes END
                AS policy_minutes
        FROM h4
    ),
    handoffs AS (
        SELECT *, {sla_outcome_sql("policy_minutes")} AS sla_outcome FROM h5
        {"WHERE status = 'open'" if open_only else ""}
    )"""
    return sql, params


_STILL_OPEN = " AND ".join(
    f"(l.{col} IS NULL OR l.{col} > $as_of)"
    for col in ("first_activity_at", "ended_at", "next_handoff_at")
)
"""A journey handoff with no response, no close and no next handoff by ``$as_of``: the
rows whose ``status`` is ``open`` (:func:`_journey_head`), tested before the join."""


def _clock_column(clock: str) -> str:
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, got {clock!r}")
    return {"policy": "policy_minutes", "wall": "wall_minutes", "business": "business_minutes"}[
        clock
    ]
