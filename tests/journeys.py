"""Declarative journeys -> a real in-memory DuckDB database with the store's schema.

    con = build(
        {"lead1": [("lead", "2024-01-01 09:00"), ("mql", "2024-01-01 10:00")]},
        leads={"lead1": {"source": "webinar", "owner_rep_id": "R1"}},
        reps={"R1": {"timezone": "Europe/Berlin"}},
        activities={"lead1": [("2024-01-01 10:05", "call")]},
    )

Times are naive UTC text. A lead's ``created_at`` is its ``lead`` event, else its earliest
event, unless ``leads`` sets it. Every mapping is keyed by lead id (or rep id for reps).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import duckdb

from analysis import store

Event = tuple[str, str]

REP_DEFAULTS: dict[str, Any] = {
    "team": "Inbound",
    "role": "sdr",
    "territory": None,
    "capacity": 40,
    "timezone": "UTC",
    "work_start": "09:00:00",
    "work_end": "17:00:00",
}


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    names = ", ".join(f'"{c}"' for c in cols)
    marks = ", ".join("?" for _ in cols)
    con.executemany(
        f"INSERT INTO {table} ({names}) VALUES ({marks})", [[r[c] for c in cols] for r in rows]
    )


def _padded(values: Iterable[Any], size: int) -> list[Any]:
    values = list(values)
    return values + [None] * (size - len(values))


def build(
    journeys: Mapping[str, list[Event]] | None = None,
    *,
    leads: Mapping[str, Mapping[str, Any]] | None = None,
    reps: Mapping[str, Mapping[str, Any]] | None = None,
    touches: Mapping[str, list[tuple]] | None = None,
    activities: Mapping[str, list[tuple]] | None = None,
    dispositions: Mapping[str, list[tuple]] | None = None,
    policies: list[tuple] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Build an in-memory database from declarative journeys and return its connection.

    journeys      {lead: [(stage, time), ...]}  -> stage_changes (and one leads row each)
    leads         {lead: {column: value}}        -> extra lead columns (created_at too)
    reps          {rep: {column: value}}         -> reps rows (defaults: UTC, 09:00-17:00)
    touches       {lead: [(time, kind, detail?, value?)]}
    activities    {lead: [(time, kind, rep?)]}   (rep defaults to the lead's owner)
    dispositions  {lead: [(time, outcome, reason?, note?)]}
    policies      [(tier, rule, target_minutes, business_hours)]
    """
    journeys = dict(journeys or {})
    leads = {k: dict(v) for k, v in (leads or {}).items()}
    con = duckdb.connect(":memory:")
    store.create_schema(con)

    lead_rows, stage_rows = [], []
    for lead_id in [*journeys, *[k for k in leads if k not in journeys]]:
        events = journeys.get(lead_id, [])
        attrs = leads.get(lead_id, {})
        created = attrs.get("created_at")
        if created is None:
            lead_events = [t for s, t in events if s == "lead"]
            if not lead_events and not events:
                raise ValueError(f"lead {lead_id!r} needs a created_at or at least one event")
            created = lead_events[0] if lead_events else min(t for _, t in events)
        lead_rows.append({"lead_id": lead_id, **attrs, "created_at": created})
        for stage, at in events:
            stage_rows.append(
                {"lead_id": lead_id, "stage": stage, "changed_at": at, "source_system": "test"}
            )
    # one column set for every row: the union of the columns any lead sets
    lead_cols = list(dict.fromkeys(c for r in lead_rows for c in r))
    _insert(con, "leads", [{c: r.get(c) for c in lead_cols} for r in lead_rows])
    _insert(con, "stage_changes", stage_rows)

    owner = {r["lead_id"]: r.get("owner_rep_id") for r in lead_rows}
    _insert(
        con,
        "reps",
        [
            {"rep_id": rep_id, "name": attrs.get("name", rep_id), **{**REP_DEFAULTS, **attrs}}
            for rep_id, attrs in (reps or {}).items()
        ],
    )
    rows = []
    for lead_id, items in (touches or {}).items():
        for item in items:
            at, kind, detail, value = _padded(item, 4)
            rows.append(
                {
                    "lead_id": lead_id,
                    "occurred_at": at,
                    "kind": kind,
                    "detail": detail,
                    "value": value,
                }
            )
    _insert(con, "touchpoints", rows)
    rows = []
    for lead_id, items in (activities or {}).items():
        for item in items:
            at, kind, rep = _padded(item, 3)
            rows.append(
                {
                    "lead_id": lead_id,
                    "rep_id": rep or owner.get(lead_id),
                    "occurred_at": at,
                    "kind": kind,
                }
            )
    _insert(con, "sales_activities", rows)
    rows = []
    for lead_id, items in (dispositions or {}).items():
        for item in items:
            at, outcome, reason, note = _padded(item, 4)
            rows.append(
                {
                    "lead_id": lead_id,
                    "rep_id": owner.get(lead_id),
                    "decided_at": at,
                    "outcome": outcome,
                    "reason": reason,
                    "note": note,
                }
            )
    _insert(con, "dispositions", rows)
    _insert(
        con,
        "sla_policies",
        [
            {"tier": t, "rule": r, "target_minutes": m, "business_hours": b}
            for t, r, m, b in (policies or [])
        ],
    )
    return con


def add(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (one mapping per row, the same keys in each) into ``table``.

    For tables :func:`build` has no argument for (``opportunities``, ``targets``).
    """
    _insert(con, table, rows)


def save(con: duckdb.DuckDBPyConnection, path: Any) -> Any:
    """Write the database behind ``con`` (e.g. from :func:`build`) to the file ``path``.

    The file is a complete Handoff Health database (schema and rows), ready for
    ``HANDOFF_DB``, AppTest or the command line. Returns ``path``.
    """
    con.execute(f"ATTACH '{path}' AS target_db")
    try:
        (name,) = con.execute("SELECT current_database()").fetchone()
        con.execute(f"COPY FROM DATABASE {name} TO target_db")
    finally:
        con.execute("DETACH target_db")
    return path
