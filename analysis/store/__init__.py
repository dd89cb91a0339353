"""The DuckDB history store: the schema, read-only connections and the one write path.

``schema`` holds one column spec per table, ``connect`` opens the file read-only the way
the dashboard does, and ``write`` is the only way anything is written: a copy of the live
file, one transaction, an atomic swap. The names most callers need are re-exported here,
so ``from analysis import store`` then ``store.write_session(...)`` reads naturally.
"""

from analysis.store.connect import (
    ATTACHED,
    connect_read_only,
    file_signature,
    import_batches,
    read_cursor,
    table_summary,
    write_log,
)
from analysis.store.schema import (
    ACTIVITY_KINDS,
    BOOKKEEPING_DDL,
    DISPOSITION_OUTCOMES,
    EMAIL_DOMAIN_KINDS,
    OPPORTUNITY_OUTCOMES,
    REJECTION_REASONS,
    REP_ROLES,
    SCHEMA_VERSION,
    SIDE_STAGES,
    STAGES,
    TABLES,
    TOUCHPOINT_KINDS,
    Column,
    SchemaError,
    Table,
    check_schema,
    create_schema,
    has_table,
    schema_version,
    table_ddl,
)
from analysis.store.write import (
    WriterBusy,
    default_actor,
    live_path,
    lock_path,
    write_session,
    writer_lock,
)

__all__ = [
    "ACTIVITY_KINDS",
    "ATTACHED",
    "BOOKKEEPING_DDL",
    "DISPOSITION_OUTCOMES",
    "EMAIL_DOMAIN_KINDS",
    "OPPORTUNITY_OUTCOMES",
    "REJECTION_REASONS",
    "REP_ROLES",
    "SCHEMA_VERSION",
    "SIDE_STAGES",
    "STAGES",
    "TABLES",
    "TOUCHPOINT_KINDS",
    "Column",
    "SchemaError",
    "Table",
    "check_schema",
    "connect_read_only",
    "create_schema",
    "file_signature",
    "has_table",
    "import_batches",
    "read_cursor",
    "schema_version",
    "table_ddl",
    "table_summary",
    "write_session",
    "writer_lock",
    "write_log",
    "WriterBusy",
    "default_actor",
    "live_path",
    "lock_path",
]
