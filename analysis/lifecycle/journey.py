"""The journey tables: what every page recomputes, derived once when the file is written.

Query intuition
---------------
Every write rebuilds the whole file (:func:`analysis.store.write_session` copies it and
swaps it in), so the lead-level facts every funnel and SLA number starts from are derived
there, once, instead of on every page view:

- ``journey_entries``: one row per lead with its first entry per stage under the skip
  rule (``S_at``, ``S_reached``) and its number of MQL re-entries: exactly the aggregates
  of :func:`analysis.lifecycle.entries.entries_cte`, before filters and breakdowns (those
  stay a join with ``leads`` and ``reps`` at query time, so a renamed rep shows at once),
  plus the recycle facts of :func:`analysis.lifecycle.rejections.recycle_summary`
  (:func:`recycle_sql`): ``mql_changed`` (the lead has an ``mql`` change), its first
  ``mql`` change ``first_mql_at``, the first nurture after it ``nurtured_at``, the next
  ``mql`` change after that ``recycled_at``, and ``next_S_at`` for S in sql, opportunity,
  customer: the first change to S or a later funnel stage at or after the handoff that
  counts (the recycled one when there is one, else the first); and ``deal_candidate``
  (the lead reached ``customer`` or has an ``opportunities`` row), so the deals relation
  (:func:`analysis.lifecycle.deals.deals_cte`) joins the few leads that can have a deal
  outcome instead of every lead; and the lead's opportunity facts over the whole history
  (:func:`opportunities_sql`: won, lost and open counts, the latest won and lost close,
  the won amount, and ``opp_last_at``, its latest opportunity time), so the deals
  relation reads them from the same row and aggregates ``opportunities`` again only for
  the leads with a time after ``as_of``.
- ``journey_handoffs``: one row per recorded MQL change with the times its SLA clock
  needs, taken over the *whole* history: the next handoff, the first sales activity at or
  after it (before the next handoff), the first closing event (a later stage, a side
  exit, a disposition) and the lead's first demo request, plus the business-minute clock
  (:func:`analysis.lifecycle.handoffs.business_clock_sql`, in the owner's zone and
  working hours) at the handoff and at each of those times: the zone conversions were
  most of an SLA query's cost. A metric "as of" an earlier
  moment keeps a time only when it is at or before that moment: the first event of a set
  that is at or before ``as_of`` is the first event of the whole set when that one is,
  and none otherwise, so the numbers are the same as the direct query's for every
  ``as_of`` (:func:`analysis.lifecycle.handoffs.handoffs_cte`).

- ``journey_dispositions``: every ``dispositions`` row of a known lead with the lead's
  :data:`LEAD_COLUMNS`, so the Rejections page's mixes read one table (the join with
  ``leads`` on its text key was most of their cost).
- ``journey_touches``: per lead with a first handoff, the touchpoint counts up to it that
  the current rule's score reads (:func:`analysis.scoring.bands.touch_counts_sql`), so a
  score-band filter or breakdown, and the breach queue's scores, no longer aggregate the
  touchpoints on every query.
- ``journey_contacts``: per lead with an MQL change, its ``leads`` row, ``last_touch_at``
  (its latest touchpoint time) and ``last_touchpoints`` (the breach queue's three latest
  touchpoints, :func:`analysis.lifecycle.sla.last_touchpoints_sql`, over all history), so
  the queue reads a few rows of one table instead of scanning every lead and touchpoint;
  a lead touched after ``as_of`` has its lines built again from ``touchpoints``.

``journey_stamp`` records :data:`VERSION` (the derivation's version), the number of
``write_log`` rows when the tables were built, the end of the data
(:func:`analysis.definitions.data_as_of`), what the history can measure
(:func:`analysis.lifecycle.measurable.facts`) and the sidebar's filter options
(:func:`analysis.filters.filter_options`): each scans whole tables, on every page.
Every write session appends one log row, so a file changed by a writer that did not
rebuild (an older Handoff Health) no longer matches, and readers fall back to the
direct queries. Readers opt in per block with :func:`reading`: inside it,
:func:`active` tells ``entries_cte`` and ``handoffs_cte`` that the connection's journey
tables are fresh. Outside it (tests on in-memory journeys, a file from an older
version) everything runs on the base tables as before.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import time
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import duckdb

from analysis import filters as flt
from analysis.definitions import (
    HANDOFF_STAGE,
    WON_STAGE,
    data_as_of,
    known_as_of,
    reached_at_sql,
    reached_sql,
)
from analysis.store import STAGES, has_table

VERSION = 8
"""Version of the derivation; a file stamped with another one is read the direct way."""

ENTRIES = "journey_entries"
HANDOFFS = "journey_handoffs"
DISPOSITIONS = "journey_dispositions"
TOUCHES = "journey_touches"
CONTACTS = "journey_contacts"
STAMP = "journey_stamp"

LEAD_COLUMNS: tuple[str, ...] = (
    "source",
    "campaign",
    "region",
    "country",
    "industry",
    "employees",
    "owner_rep_id",
)
"""The ``leads`` columns the filters and breakdowns read (:data:`analysis.filters.DIMENSIONS`),
copied into both journey tables so a query reads one table aliased ``l`` instead of
joining ``leads`` on its text key (the join cost more than the whole aggregate)."""

_ACTIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("journey_active", default=False)


def entries_sql() -> str:
    """SELECT of ``journey_entries``: per lead, first entry and reached flag per stage."""
    reach = ",\n        ".join(
        f"{reached_at_sql(st)} AS {st}_at, {reached_sql(st)} AS {st}_reached" for st in STAGES[1:]
    )
    lead_cols = "".join(f"any_value(l.{c}) AS {c}, " for c in LEAD_COLUMNS)
    return f"""
    SELECT l.lead_id, {lead_cols}
        least(any_value(l.created_at), min(sc.changed_at)) AS lead_at,
        {reach},
        greatest(count(*) FILTER (WHERE sc.stage = '{HANDOFF_STAGE}') - 1, 0) AS mql_reentries
    FROM leads l
    LEFT JOIN stage_changes sc ON sc.lead_id = l.lead_id
    GROUP BY l.lead_id"""


def recycle_sql() -> str:
    """SELECT of the recycle facts per lead with an ``mql`` change, over the whole history.

    Query intuition: the direct query of
    :func:`analysis.lifecycle.rejections.recycle_summary` without its filters (they apply
    to ``first_mql_at`` and the lead's columns, both kept): first handoff per lead, first
    nurture (stage change or disposition) at or after it, first ``mql`` change after that,
    then one pass over the lead's changes for the first later-stage entry at or after the
    handoff that counts.
    """
    after = {s: ", ".join(f"'{t}'" for t in STAGES[STAGES.index(s) :]) for s in STAGES[2:]}
    reached = ",\n            ".join(
        f"min(s.changed_at) FILTER (WHERE s.stage IN ({after[t]})"
        f" AND s.changed_at >= coalesce(rc.recycled_at, m.first_mql)) AS next_{t}_at"
        for t in STAGES[2:]
    )
    return f"""
    WITH m AS (
        SELECT lead_id, min(changed_at) AS first_mql
        FROM stage_changes WHERE stage = '{HANDOFF_STAGE}' GROUP BY lead_id
    ),
    nurt AS (
        SELECT m.lead_id, min(e.at) AS nurtured_at
        FROM m
        JOIN (
            SELECT lead_id, changed_at AS at FROM stage_changes WHERE stage = 'nurture'
            UNION ALL
            SELECT lead_id, decided_at FROM dispositions WHERE outcome = 'nurture'
        ) e ON e.lead_id = m.lead_id AND e.at >= m.first_mql
        GROUP BY m.lead_id
    ),
    rc AS (
        SELECT n.lead_id, min(s.changed_at) AS recycled_at
        FROM nurt n
        JOIN stage_changes s ON s.lead_id = n.lead_id AND s.stage = '{HANDOFF_STAGE}'
            AND s.changed_at > n.nurtured_at
        GROUP BY n.lead_id
    )
    SELECT m.lead_id, m.first_mql AS first_mql_at, nurt.nurtured_at, rc.recycled_at,
        {reached}
    FROM m
    LEFT JOIN nurt ON nurt.lead_id = m.lead_id
    LEFT JOIN rc ON rc.lead_id = m.lead_id
    LEFT JOIN stage_changes s ON s.lead_id = m.lead_id
    GROUP BY m.lead_id, m.first_mql, nurt.nurtured_at, rc.recycled_at"""


def dispositions_sql() -> str:
    """SELECT of ``journey_dispositions``: dispositions of known leads, with their columns."""
    lead_cols = ", ".join(f"l.{c}" for c in LEAD_COLUMNS)
    return f"""
    SELECT d.*, {lead_cols}
    FROM dispositions d JOIN leads l ON l.lead_id = d.lead_id"""


def opportunities_sql() -> str:
    """SELECT of the per-lead opportunity facts kept in ``journey_entries``.

    Query intuition: the ``deal_opps`` aggregates of
    :func:`analysis.lifecycle.deals.deals_cte` with every time bound removed (the end of
    time as ``as_of``), plus ``opp_last_at``, the latest non-NULL ``created_at`` or
    ``closed_at`` of the lead's opportunities. A time compares with ``as_of`` only when it
    is not NULL, so for any ``as_of`` at or after ``opp_last_at`` the bounded aggregates
    are these; a lead with a later time is aggregated again from ``opportunities``.
    """
    return """
    SELECT lead_id,
        count(*) AS opp_rows,
        count(*) FILTER (WHERE outcome = 'won') AS opp_won,
        max(closed_at) FILTER (WHERE outcome = 'won') AS opp_won_closed,
        count(*) FILTER (WHERE outcome = 'lost') AS opp_lost,
        max(closed_at) FILTER (WHERE outcome = 'lost') AS opp_lost_closed,
        count(*) FILTER (WHERE coalesce(outcome, 'open') = 'open') AS opp_open,
        sum(amount) FILTER (WHERE outcome = 'won') AS opp_won_amount,
        max(greatest(created_at, closed_at)) AS opp_last_at
    FROM opportunities
    GROUP BY lead_id"""


OPPORTUNITY_COLUMNS: tuple[str, ...] = (
    "opp_rows",
    "opp_won",
    "opp_won_closed",
    "opp_lost",
    "opp_lost_closed",
    "opp_open",
    "opp_won_amount",
    "opp_last_at",
)
"""The opportunity facts of :func:`opportunities_sql` kept in ``journey_entries``."""


def entries_table_sql() -> str:
    """SELECT of ``journey_entries``: :func:`entries_sql` with two sets of facts.

    The :func:`recycle_sql` facts, and the :func:`opportunities_sql` facts (NULL for a
    lead without opportunities).
    """
    facts = ", ".join(f"rc.{c}" for c in RECYCLE_COLUMNS)
    opps = ", ".join(f"op.{c}" for c in OPPORTUNITY_COLUMNS)
    return f"""
    SELECT e.*, rc.lead_id IS NOT NULL AS mql_changed, {facts},
        e.{WON_STAGE}_reached OR op.lead_id IS NOT NULL AS deal_candidate, {opps}
    FROM ({entries_sql()}) e
    LEFT JOIN ({recycle_sql()}) rc ON rc.lead_id = e.lead_id
    LEFT JOIN ({opportunities_sql()}) op ON op.lead_id = e.lead_id"""


RECYCLE_COLUMNS: tuple[str, ...] = (
    "first_mql_at",
    "nurtured_at",
    "recycled_at",
    *(f"next_{s}_at" for s in STAGES[2:]),
)
"""The recycle facts of :func:`recycle_sql` kept in ``journey_entries``."""


def handoffs_sql() -> str:
    """SELECT of ``journey_handoffs``: per MQL change, the clock's times over all history.

    Query intuition: the handoffs are numbered per lead by a window; all events of a lead
    (activities, closing events, demo requests) are joined once and folded with filtered
    ``min`` aggregates, as in the direct query but with no ``as_of`` bound.
    """
    from analysis.lifecycle import handoffs as ho  # it reads this module's tables

    times = {
        "handoff_at": "b_handoff",
        "first_activity_at": "b_first_activity",
        "ended_at": "b_ended",
        "next_handoff_at": "b_next",
    }
    return f"""
    WITH {ho.REP_CLOCK_CTE.strip()},
    h AS (
        SELECT lead_id, changed_at AS handoff_at,
            row_number() OVER w AS handoff_no,
            lead(changed_at) OVER w AS next_handoff_at
        FROM stage_changes
        WHERE stage = '{HANDOFF_STAGE}' AND changed_at IS NOT NULL
        WINDOW w AS (PARTITION BY lead_id ORDER BY changed_at)
    ),
    {ho.EVENTS_CTE},
    hl AS (SELECT DISTINCT lead_id FROM h),
    demo AS (
        SELECT ev.lead_id, min(ev.at) AS first_demo_at
        FROM ev JOIN hl ON hl.lead_id = ev.lead_id
        WHERE ev.what = 3
        GROUP BY ev.lead_id
    ),
    x AS (
        SELECT h.lead_id, h.handoff_no,
            min(ev.at) FILTER (
                WHERE ev.what = 1 AND ev.at >= h.handoff_at
                  AND (h.next_handoff_at IS NULL OR ev.at < h.next_handoff_at))
                AS first_activity_at,
            min(ev.at) FILTER (WHERE ev.what = 2 AND ev.at >= h.handoff_at) AS ended_at
        FROM h JOIN ev ON ev.lead_id = h.lead_id AND ev.what < 3
        GROUP BY h.lead_id, h.handoff_no
    ),
    base AS (
        SELECT h.lead_id, {", ".join(f"l.{c}" for c in LEAD_COLUMNS)},
            h.handoff_no, h.handoff_at, h.next_handoff_at,
            x.first_activity_at, x.ended_at, demo.first_demo_at,
            {ho.owner_clock_sql(str(ho.DEFAULT_WORK_START_MIN), str(ho.DEFAULT_WORK_END_MIN))}
        FROM h
        JOIN leads l ON l.lead_id = h.lead_id
        LEFT JOIN x ON x.lead_id = h.lead_id AND x.handoff_no = h.handoff_no
        LEFT JOIN demo ON demo.lead_id = h.lead_id
        LEFT JOIN rp ON rp.rep_id = l.owner_rep_id
    ),
    local AS (
        SELECT *, {", ".join(f"timezone(tz, timezone('UTC', {c})) AS {c}_local" for c in times)}
        FROM base
    )
    SELECT * EXCLUDE ({", ".join(f"{c}_local" for c in times)}, tz, ws, we),
        {", ".join(f"{ho.business_clock_sql(f'{c}_local')} AS {b}" for c, b in times.items())}
    FROM local"""


def contacts_sql() -> str:
    """SELECT of ``journey_contacts``: per lead with an MQL change, its row and latest touches.

    The ``leads`` row, with ``last_touch_at`` and ``last_touchpoints`` of
    :func:`analysis.lifecycle.sla.last_touchpoints_sql` (NULL when the lead has no dated
    touchpoint).
    """
    from analysis.lifecycle.sla import last_touchpoints_sql  # it reads this module's tables

    return f"""
    WITH hl AS (SELECT DISTINCT lead_id FROM stage_changes WHERE stage = '{HANDOFF_STAGE}')
    SELECT l.*, lt.last_touch_at, lt.last_touchpoints
    FROM leads l
    SEMI JOIN hl ON hl.lead_id = l.lead_id
    LEFT JOIN (
        {last_touchpoints_sql("(SELECT t.* FROM touchpoints t SEMI JOIN hl USING (lead_id))")}
    ) lt ON lt.lead_id = l.lead_id"""


def lead_from_sql(table: str, with_score: bool = False) -> str:
    """FROM clause like :func:`analysis.filters.lead_from_sql` over a journey table.

    The journey table is aliased ``l`` (it carries :data:`LEAD_COLUMNS`), so every
    dimension and filter expression reads it unchanged; the owner's ``reps`` row is still
    joined at query time.
    """
    base = flt.lead_from_sql(with_score)
    if not base.startswith("leads l "):
        raise RuntimeError(f"unexpected lead relation: {base[:60]!r}")
    return f"{table} l " + base.removeprefix("leads l ")


def log_rows(con: duckdb.DuckDBPyConnection) -> int:
    """Number of ``write_log`` rows (one per finished write session)."""
    ((rows,),) = con.execute("SELECT count(*) FROM write_log").fetchall()
    return int(rows)


def build(con: duckdb.DuckDBPyConnection) -> float:
    """(Re)build the journey tables and their stamp inside an open write session.

    Call after the session's ``write_log`` row is inserted, so the stamp counts it.
    Returns the seconds it took.
    """
    t0 = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TABLE {ENTRIES} AS {entries_table_sql()}")
    con.execute(f"CREATE OR REPLACE TABLE {HANDOFFS} AS {handoffs_sql()}")
    con.execute(f"CREATE OR REPLACE TABLE {DISPOSITIONS} AS {dispositions_sql()}")
    con.execute(f"CREATE OR REPLACE TABLE {CONTACTS} AS {contacts_sql()}")
    from analysis.lifecycle import measurable
    from analysis.scoring.bands import touch_counts_sql

    with direct():
        con.execute(f"CREATE OR REPLACE TABLE {TOUCHES} AS {touch_counts_sql()}")
        facts = measurable.facts(con)
        options = flt.filter_options(con)
    seconds = time.perf_counter() - t0
    con.execute(
        f"CREATE OR REPLACE TABLE {STAMP} AS "
        "SELECT ? AS version, ? AS log_rows, now()::TIMESTAMP AS built_at, ? AS seconds, "
        "? AS as_of, ? AS facts, ? AS options",
        [
            VERSION,
            log_rows(con),
            seconds,
            data_as_of(con),
            json.dumps(facts),
            json.dumps(options, default=str),
        ],
    )
    return seconds


def stamped_options(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The filter options (:func:`analysis.filters.filter_options`) recorded at build time."""
    ((text,),) = con.execute(f"SELECT options FROM {STAMP}").fetchall()
    out = json.loads(text)
    for key in ("first_date", "last_date"):
        if out[key] is not None:
            out[key] = date.fromisoformat(out[key])
    return out


def stamped(con: duckdb.DuckDBPyConnection) -> tuple[datetime | None, dict[str, Any]]:
    """(``as_of``, measurability facts) recorded when the journey tables were built."""
    # fetchall, not fetchone: a half-read result would make the next con.sql refuse
    ((as_of, facts),) = con.execute(f"SELECT as_of, facts FROM {STAMP}").fetchall()
    return as_of, json.loads(facts)


def restamp(con: duckdb.DuckDBPyConnection) -> bool:
    """Keep fresh journey tables fresh after a write that changed none of their inputs.

    For writes of settings only: called after the session's ``write_log`` row, it moves
    the stamp to the new log count when the tables were fresh before this session's row.
    Returns whether it did (False: there was nothing fresh to keep).
    """
    if not has_table(con, STAMP):
        return False
    rows = con.execute(
        f"UPDATE {STAMP} SET log_rows = $now WHERE version = $v AND log_rows = $now - 1 "
        "RETURNING log_rows",
        {"now": log_rows(con), "v": VERSION},
    ).fetchall()
    return len(rows) == 1


def is_fresh(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con``'s journey tables match this code's :data:`VERSION` and the file."""
    if not all(has_table(con, t) for t in (STAMP, ENTRIES, HANDOFFS, DISPOSITIONS, TOUCHES)):
        return False
    rows = con.execute(f"SELECT version, log_rows FROM {STAMP}").fetchall()
    return len(rows) == 1 and rows[0][0] == VERSION and rows[0][1] == log_rows(con)


def active() -> bool:
    """Whether the queries built now may read the journey tables (inside :func:`reading`)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def reading(con: duckdb.DuckDBPyConnection, fresh: bool | None = None) -> Iterator[bool]:
    """Let the queries built in this block read ``con``'s journey tables when fresh.

    ``fresh`` skips the check when the caller already knows (e.g. cached per file
    version). Yields whether the journey tables are used; when they are, the end of the
    data (:func:`analysis.definitions.data_as_of`) is the one recorded with them.
    """
    use = is_fresh(con) if fresh is None else fresh
    token = _ACTIVE.set(use)
    try:
        if use:
            with known_as_of(stamped(con)[0]):
                yield use
        else:
            yield use
    finally:
        _ACTIVE.reset(token)


@contextlib.contextmanager
def direct() -> Iterator[None]:
    """Build every query of this block on the base tables (the reference path)."""
    token = _ACTIVE.set(False)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
