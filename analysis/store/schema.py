"""The history tables: one column spec per table, the bookkeeping tables, the schema version.

Tables hold history as facts (leads, touchpoints, stage changes, sales activities,
dispositions, opportunities, reps, targets, SLA policies, scoring models) plus bookkeeping
(``meta`` for the schema version, ``import_batches`` and ``import_rejects``). Metrics are
computed from the facts and never stored. All timestamps are stored as naive ``TIMESTAMP``
values in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

SCHEMA_VERSION = 1

STAGES: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "customer")
"""Lifecycle stages in funnel order."""
SIDE_STAGES: tuple[str, ...] = ("disqualified", "nurture")
"""Side exits: rejected for good, or handed back to marketing."""
TOUCHPOINT_KINDS = (
    "page_view",
    "content_download",
    "email_open",
    "email_click",
    "webinar",
    "form_submit",
    "demo_request",
    "chat",
)
ACTIVITY_KINDS = ("call", "email", "meeting", "demo")
DISPOSITION_OUTCOMES = ("accepted", "rejected", "nurture", "bad_data")
REJECTION_REASONS = (
    "no_budget",
    "not_decision_maker",
    "no_need",
    "bad_timing",
    "competitor",
    "student_or_job_seeker",
    "duplicate",
    "wrong_contact_data",
    "existing_customer",
    "other",
)
OPPORTUNITY_OUTCOMES = ("open", "won", "lost")
EMAIL_DOMAIN_KINDS = ("corporate", "free", "unknown")
REP_ROLES = ("sdr", "ae")


@dataclass(frozen=True)
class Column:
    """One column of a history table.

    ``allowed`` lists the only values an import accepts; ``minimum`` is a lower bound for
    numbers; ``required`` columns must be present in an import file and non-empty;
    ``shape`` is the structure a JSON value must have (``"object of numbers"``: a JSON
    object whose values are all finite numbers).
    """

    name: str
    type: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    shape: str | None = None


@dataclass(frozen=True)
class Table:
    """A history table: its columns, its natural key, and its main timestamp column."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    time_column: str | None = None
    needs_lead: bool = field(default=False)

    @property
    def column_names(self) -> list[str]:
        """Column names in schema order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")


C = Column
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "leads",
            (
                C("lead_id", "VARCHAR", required=True),
                C("created_at", "TIMESTAMP", required=True),
                C("source", "VARCHAR"),
                C("campaign", "VARCHAR"),
                C("country", "VARCHAR"),
                C("region", "VARCHAR"),
                C("industry", "VARCHAR"),
                C("employees", "INTEGER", minimum=0),
                C("job_title", "VARCHAR"),
                C("owner_rep_id", "VARCHAR"),
                C("email_domain_kind", "VARCHAR", allowed=EMAIL_DOMAIN_KINDS),
                C("name", "VARCHAR"),
                C("email", "VARCHAR"),
                C("company", "VARCHAR"),
            ),
            key=("lead_id",),
            time_column="created_at",
        ),
        Table(
            "lead_properties",
            (
                C("lead_id", "VARCHAR", required=True),
                C("name", "VARCHAR", required=True),
                C("value", "VARCHAR"),
                C("value_number", "DOUBLE"),
            ),
            key=("lead_id", "name"),
            needs_lead=True,
        ),
        Table(
            "touchpoints",
            (
                C("lead_id", "VARCHAR", required=True),
                C("occurred_at", "TIMESTAMP", required=True),
                C("kind", "VARCHAR", required=True, allowed=TOUCHPOINT_KINDS),
                C("detail", "VARCHAR"),
                C("value", "DOUBLE"),
            ),
            key=("lead_id", "occurred_at", "kind", "detail"),
            time_column="occurred_at",
            needs_lead=True,
        ),
        Table(
            "stage_changes",
            (
                C("lead_id", "VARCHAR", required=True),
                C("stage", "VARCHAR", required=True, allowed=STAGES + SIDE_STAGES),
                C("changed_at", "TIMESTAMP", required=True),
                C("source_system", "VARCHAR"),
            ),
            key=("lead_id", "stage", "changed_at"),
            time_column="changed_at",
            needs_lead=True,
        ),
        Table(
            "sales_activities",
            (
                C("lead_id", "VARCHAR", required=True),
                C("rep_id", "VARCHAR"),
                C("occurred_at", "TIMESTAMP", required=True),
                C("kind", "VARCHAR", required=True, allowed=ACTIVITY_KINDS),
            ),
            key=("lead_id", "rep_id", "occurred_at", "kind"),
            time_column="occurred_at",
            needs_lead=True,
        ),
        Table(
            "dispositions",
            (
                C("lead_id", "VARCHAR", required=True),
                C("rep_id", "VARCHAR"),
                C("decided_at", "TIMESTAMP", required=True),
                C("outcome", "VARCHAR", required=True, allowed=DISPOSITION_OUTCOMES),
                C("reason", "VARCHAR", allowed=REJECTION_REASONS),
                C("note", "VARCHAR"),
            ),
            key=("lead_id", "decided_at"),
            time_column="decided_at",
            needs_lead=True,
        ),
        Table(
            "opportunities",
            (
                C("opportunity_id", "VARCHAR", required=True),
                C("lead_id", "VARCHAR", required=True),
                C("created_at", "TIMESTAMP", required=True),
                C("amount", "DOUBLE", minimum=0),
                C("closed_at", "TIMESTAMP"),
                C("outcome", "VARCHAR", required=True, allowed=OPPORTUNITY_OUTCOMES),
                C("lost_reason", "VARCHAR"),
            ),
            key=("opportunity_id",),
            time_column="created_at",
            needs_lead=True,
        ),
        Table(
            "reps",
            (
                C("rep_id", "VARCHAR", required=True),
                C("name", "VARCHAR"),
                C("team", "VARCHAR"),
                C("role", "VARCHAR", allowed=REP_ROLES),
                C("territory", "VARCHAR"),
                C("capacity", "INTEGER", minimum=0),
                C("timezone", "VARCHAR"),
                C("work_start", "TIME"),
                C("work_end", "TIME"),
            ),
            key=("rep_id",),
        ),
        Table(
            "targets",
            (
                C("month", "DATE", required=True),
                C("metric", "VARCHAR", required=True),
                C("value", "DOUBLE", required=True),
            ),
            key=("month", "metric"),
            time_column="month",
        ),
        Table(
            "sla_policies",
            (
                C("tier", "VARCHAR", required=True),
                C("rule", "VARCHAR"),
                C("target_minutes", "DOUBLE", required=True, minimum=0),
                C("business_hours", "BOOLEAN"),
            ),
            key=("tier",),
        ),
        Table(
            "scoring_models",
            (
                C("model_id", "VARCHAR", required=True),
                C("name", "VARCHAR", required=True),
                C("created_at", "TIMESTAMP"),
                C("author", "VARCHAR"),
                C("weights", "JSON", required=True, shape="object of numbers"),
                C("threshold", "DOUBLE", required=True),
                C("origin", "VARCHAR", allowed=("manual", "fitted")),
                C("note", "VARCHAR"),
            ),
            key=("model_id",),
            time_column="created_at",
        ),
    )
}
"""The importable history tables, in the order an import applies them."""

BOOKKEEPING_DDL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS import_batches (
    batch_id VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, kind VARCHAR,
    files VARCHAR, accepted BIGINT, refused BIGINT, note VARCHAR
);
CREATE TABLE IF NOT EXISTS import_rejects (
    batch_id VARCHAR, "table" VARCHAR, file VARCHAR, row_number BIGINT,
    "column" VARCHAR, reason VARCHAR, raw VARCHAR
);
CREATE TABLE IF NOT EXISTS write_log (
    written_at TIMESTAMP, actor VARCHAR, host VARCHAR, pid INTEGER, batches VARCHAR
);
CREATE TABLE IF NOT EXISTS import_warnings (
    batch_id VARCHAR, "table" VARCHAR, file VARCHAR, row_number BIGINT,
    "column" VARCHAR, value VARCHAR, reason VARCHAR
);
CREATE TABLE IF NOT EXISTS label_aliases (
    "column" VARCHAR, original VARCHAR, standard VARCHAR, leads BIGINT,
    accepted_at TIMESTAMP, actor VARCHAR
);
"""
"""Bookkeeping: schema version, import batches, refused rows, and who wrote when
(``write_log``: one row per write session, UTC time, actor, host, process id and the
``import_batches`` ids the session recorded), values an import left empty in rows it kept
(``import_warnings``) and accepted label merges (``label_aliases``, applied to ``leads``)."""


class SchemaError(RuntimeError):
    """The database file was written by a newer version, or is not a Handoff Health file."""


def table_ddl(table: Table) -> str:
    """``CREATE TABLE`` statement for a history table (no constraints: keys are upserted)."""
    cols = ",\n    ".join(f'"{c.name}" {c.type}' for c in table.columns)
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n    {cols}\n)"


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table that is missing and record the schema version."""
    con.execute(BOOKKEEPING_DDL)
    for table in TABLES.values():
        con.execute(table_ddl(table))
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """Schema version recorded in the file, or None when it has no ``meta`` table.

    Raises :class:`SchemaError` when the recorded version is not a whole number.
    """
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except (duckdb.CatalogException, duckdb.BinderException):
        return None
    if not row:
        return None
    try:
        return int(str(row[0]).strip())
    except ValueError:
        raise SchemaError(
            f"not a Handoff Health database: schema version {str(row[0])[:40]!r} is not a number"
        ) from None


def check_schema(con: duckdb.DuckDBPyConnection, path: Path | str = "") -> int:
    """Raise :class:`SchemaError` unless the file's schema is one this code can read."""
    try:
        version = schema_version(con)
    except SchemaError as exc:
        raise SchemaError(f"{path}: {exc}") from None
    if version is None:
        raise SchemaError(f"{path}: not a Handoff Health database (no schema version)")
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{path}: written with schema version {version}, this code reads up to "
            f"{SCHEMA_VERSION}; upgrade Handoff Health to open it"
        )
    return version


HAS_TABLE_SQL = """
SELECT count(*) > 0 FROM duckdb_tables()
WHERE database_name = current_database() AND schema_name = current_schema()
  AND table_name = $name
"""


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the open database has table ``name`` (files from older versions may lack it).

    Asked of the catalogue, not tried: inside a write transaction a failed query would
    abort the whole transaction.
    """
    ((found,),) = con.execute(HAS_TABLE_SQL, {"name": name}).fetchall()
    return bool(found)
