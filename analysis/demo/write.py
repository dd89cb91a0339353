"""Writing the generated arrays into the Handoff Health tables (Arrow frames, bulk inserts)."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analysis import store
from analysis.demo.arrays import Progress, _dict_array, _ts, _World
from analysis.demo.opportunities import LOST_REASONS
from analysis.demo.rule import DEMO_RULE
from analysis.demo.sales import _NOTE_LABELS, REASONS, SOURCE_SYSTEMS, STAGE_CODES, _History
from analysis.demo.touchpoints import _DETAIL_LABELS, _KINDS
from analysis.demo.world import REGIONS, SOURCES, TEAMS

INSERT_LEADS_SQL = """
INSERT INTO leads
SELECT 'L' || lpad(CAST(i AS VARCHAR), $w, '0'), created_at, source, campaign, country,
       region, industry, employees, job_title, owner_rep_id, email_domain_kind,
       first || ' ' || last,
       lower(first) || '.' || lower(last)
           || CASE WHEN num > 0 THEN CAST(num AS VARCHAR) ELSE '' END || '@' || domain,
       company
FROM leads_frame
"""
INSERT_TOUCHPOINTS_SQL = """
INSERT INTO touchpoints
SELECT 'L' || lpad(CAST(i AS VARCHAR), $w, '0'), occurred_at, kind, detail, value
FROM touchpoints_frame
"""
INSERT_STAGES_SQL = """
INSERT INTO stage_changes
SELECT 'L' || lpad(CAST(i AS VARCHAR), $w, '0'), stage, changed_at, source_system
FROM stages_frame
"""
INSERT_ACTIVITIES_SQL = """
INSERT INTO sales_activities
SELECT 'L' || lpad(CAST(i AS VARCHAR), $w, '0'), rep_id, occurred_at, kind
FROM activities_frame
"""
INSERT_DISPOSITIONS_SQL = """
INSERT INTO dispositions
SELECT 'L' || lpad(CAST(i AS VARCHAR), $w, '0'), rep_id, decided_at, outcome, reason, note
FROM dispositions_frame
"""
INSERT_OPPORTUNITIES_SQL = """
INSERT INTO opportunities
SELECT 'O' || lpad(CAST(o AS VARCHAR), $w, '0'), 'L' || lpad(CAST(i AS VARCHAR), $w, '0'),
       created_at, amount, closed_at, outcome, lost_reason
FROM opportunities_frame
"""
INSERT_SLA_SQL = """
INSERT INTO sla_policies VALUES
    ('hot', 'demo_request', 15, false),
    ('standard', 'default', 1440, false)
"""
INSERT_MODEL_SQL = (
    "INSERT INTO scoring_models VALUES ('demo-current', 'Current rule', ?, ?, ?, ?, 'manual', ?)"
)


def _write(
    con: duckdb.DuckDBPyConnection,
    world: _World,
    lead: dict,
    tp: dict,
    reps: dict,
    hist: _History,
    targets: pd.DataFrame,
    say: Progress,
) -> None:
    """Bulk-insert every table from Arrow frames (``register`` + ``INSERT ... SELECT``)."""
    width = max(6, len(str(len(lead["created"]))))
    _insert(con, width, "leads_frame", INSERT_LEADS_SQL, _leads_frame(lead, reps, hist))
    say("leads written")
    _insert(con, width, "touchpoints_frame", INSERT_TOUCHPOINTS_SQL, _touchpoints_frame(tp))
    say("touchpoints written")
    for name, sql, frame in _sales_frames(reps, hist):
        _insert(con, width, name, sql, frame)
    say("stage changes, activities, dispositions, opportunities written")
    _write_company(con, world, reps, targets)


def _insert(
    con: duckdb.DuckDBPyConnection, width: int, name: str, sql: str, table: pa.Table
) -> None:
    """Run ``sql`` (which reads the view ``name``) with ``table`` registered as that view."""
    con.register(name, table)
    try:
        con.execute(sql, {"w": width})
    finally:
        con.unregister(name)


def _leads_frame(lead: dict, reps: dict, hist: _History) -> pa.Table:
    """The ``leads_frame`` of :data:`INSERT_LEADS_SQL`: codes as dictionary arrays."""
    n = len(lead["created"])
    labels = lead["labels"]
    owner = hist.owner
    return pa.table(
        {
            "i": pa.array(np.arange(1, n + 1, dtype=np.int32)),
            "created_at": _ts(lead["created"]),
            "source": _dict_array(lead["source"], SOURCES),
            "campaign": _dict_array(lead["campaign"], labels["campaign"]),
            "country": _dict_array(lead["country"], labels["country"]),
            "region": _dict_array(lead["region"], REGIONS),
            "industry": _dict_array(lead["industry"], labels["industry"]),
            "employees": pa.array(lead["employees"].astype(np.int32)),
            "job_title": _dict_array(lead["title"], labels["title"], mask=lead["no_title"]),
            "owner_rep_id": _dict_array(np.maximum(owner, 0), reps["id"], mask=owner < 0),
            "email_domain_kind": _dict_array(lead["free"].astype(np.int8), ["corporate", "free"]),
            "first": _dict_array(lead["first"], np.array(labels["first"], dtype=object)),
            "last": _dict_array(lead["last"], labels["last"]),
            "num": pa.array(lead["email_num"].astype(np.int32)),
            "domain": _dict_array(lead["domain"], labels["domain"]),
            "company": _dict_array(lead["company"], labels["company"]),
        }
    )


def _touchpoints_frame(tp: dict) -> pa.Table:
    """The ``touchpoints_frame`` of :data:`INSERT_TOUCHPOINTS_SQL`."""
    detail = tp["detail"]
    return pa.table(
        {
            "i": pa.array(tp["lead"] + 1),
            "occurred_at": _ts(tp["t"]),
            "kind": _dict_array(tp["kind"], _KINDS),
            "detail": _dict_array(np.maximum(detail, 0), _DETAIL_LABELS, mask=detail < 0),
            "value": pa.array(tp["value"], from_pandas=True),
        }
    )


def _sales_frames(reps: dict, hist: _History) -> list[tuple[str, str, pa.Table]]:
    """(view name, insert SQL, frame) of stage changes, activities, dispositions, deals."""
    rep_ids = reps["id"]
    s, a, d, o = hist.stage_rows, hist.activities, hist.dispositions, hist.opps
    stages = {
        "i": pa.array(s["lead"].astype(np.int32) + 1),
        "stage": _dict_array(s["stage"], STAGE_CODES),
        "changed_at": _ts(s["t"]),
        "source_system": _dict_array(s["system"], SOURCE_SYSTEMS),
    }
    activities = {
        "i": pa.array(a["lead"].astype(np.int32) + 1),
        "rep_id": _dict_array(a["rep"], rep_ids),
        "occurred_at": _ts(a["t"]),
        "kind": _dict_array(a["kind"], store.ACTIVITY_KINDS),
    }
    dispositions = {
        "i": pa.array(d["lead"].astype(np.int32) + 1),
        "rep_id": _dict_array(d["rep"], rep_ids),
        "decided_at": _ts(d["t"]),
        "outcome": _dict_array(d["outcome"], store.DISPOSITION_OUTCOMES),
        "reason": _dict_array(np.maximum(d["reason"], 0), REASONS, mask=d["reason"] < 0),
        "note": _dict_array(np.maximum(d["note"], 0), _NOTE_LABELS, mask=d["note"] < 0),
    }
    lost = o["lost_reason"]
    opportunities = {
        "o": pa.array(np.arange(1, len(o["lead"]) + 1, dtype=np.int32)),
        "i": pa.array(o["lead"].astype(np.int32) + 1),
        "created_at": _ts(o["created"]),
        "amount": pa.array(o["amount"].astype(float)),
        "closed_at": _ts(np.maximum(o["closed"], 0), mask=o["closed"] < 0),
        "outcome": _dict_array(o["outcome"], store.OPPORTUNITY_OUTCOMES),
        "lost_reason": _dict_array(np.maximum(lost, 0), LOST_REASONS, mask=lost < 0),
    }
    return [
        ("stages_frame", INSERT_STAGES_SQL, pa.table(stages)),
        ("activities_frame", INSERT_ACTIVITIES_SQL, pa.table(activities)),
        ("dispositions_frame", INSERT_DISPOSITIONS_SQL, pa.table(dispositions)),
        ("opportunities_frame", INSERT_OPPORTUNITIES_SQL, pa.table(opportunities)),
    ]


def _write_company(
    con: duckdb.DuckDBPyConnection, world: _World, reps: dict, targets: pd.DataFrame
) -> None:
    """Reps, targets, SLA policies and the current scoring rule."""
    tz_names = reps["tz_names"]
    reps_frame = pd.DataFrame(
        {
            "rep_id": reps["id"],
            "name": reps["name"],
            "team": [TEAMS[k][0] for k in reps["team"]],
            "role": reps["role"],
            "territory": reps["territory"],
            "capacity": reps["capacity"].astype(np.int32),
            "timezone": [tz_names[k] for k in reps["tz"]],
            "work_start": [_clock(x) for x in reps["ws"]],
            "work_end": [_clock(x) for x in reps["we"]],
        }
    )
    con.register("reps_frame", reps_frame)
    con.execute("INSERT INTO reps SELECT * FROM reps_frame")
    con.unregister("reps_frame")
    con.register("targets_frame", targets)
    con.execute("INSERT INTO targets SELECT month, metric, value FROM targets_frame")
    con.unregister("targets_frame")
    con.execute(INSERT_SLA_SQL)
    created = datetime(1970, 1, 1) + timedelta(seconds=world.start_s)
    con.execute(
        INSERT_MODEL_SQL,
        [
            created,
            "Marketing Ops",
            json.dumps(DEMO_RULE["weights"]),
            DEMO_RULE["threshold"],
            "The rule in production: fit and engagement points; a demo request is always an MQL.",
        ],
    )


def _clock(minutes: float) -> time:
    """A ``datetime.time`` from minutes after midnight."""
    m = int(round(minutes))
    return time(m // 60, m % 60)
