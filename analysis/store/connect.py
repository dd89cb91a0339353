"""Read-only connections, the way the dashboard and the reports open the file.

Readers key their connection on :func:`file_signature` (inode, mtime) and reconnect when a
write has swapped a new version of the file in.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from analysis.store.schema import TABLES, SchemaError, check_schema

ATTACHED = "hh"
"""Name under which :func:`connect_read_only` attaches the database file."""

T = TypeVar("T")

_POOL_PREFIX = "handoff-read"
_SIDE_BY_SIDE = ThreadPoolExecutor(max_workers=4, thread_name_prefix=_POOL_PREFIX)
"""The threads :func:`side_by_side` runs calls on (DuckDB releases the GIL while a query
runs, so two small queries share the two cores instead of waiting for each other)."""


def file_signature(path: Path | str) -> tuple[int, int]:
    """(inode, mtime in ns) of the live file; changes whenever a write swaps it in."""
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns)


def connect_read_only(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Open the database read-only, the way the dashboard and the reports do.

    The file is attached to an in-memory connection, which sidesteps DuckDB's per-path
    instance cache so that a swapped-in file is really re-read. Raises
    ``FileNotFoundError`` when the file is missing and :class:`SchemaError` when its
    schema is newer than this code, or the path is a directory, not a DuckDB file (empty,
    corrupt, foreign) or not a Handoff Health database.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"database not found: {path}")
    if path.is_dir():
        raise SchemaError(f"{path}: is a directory, not a database file")
    con = duckdb.connect(":memory:")
    try:
        # DuckDB's allocator keeps the memory a large query freed until told to purge it:
        # with its background threads on, it goes back to the system (a server that had
        # built the Scoring lab's engagement ages held ~0.5 GB more without them).
        con.execute("SET allocator_background_threads = true")
        try:
            con.execute(f"ATTACH ? AS {ATTACHED} (READ_ONLY)", [str(path)])
            con.execute(f"USE {ATTACHED}")
        except duckdb.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise SchemaError(f"{path}: not a Handoff Health database ({first})") from exc
        check_schema(con, path)
    except BaseException:
        con.close()
        raise
    return con


def read_cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor on a :func:`connect_read_only` connection, for one thread or one query.

    A DuckDB cursor does not inherit its parent's ``USE``, so this sets it again.
    """
    cur = con.cursor()
    cur.execute(f"USE {ATTACHED}")
    return cur


def table_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Row count and date range per table.

    Returns a DataFrame with columns ``table``, ``rows`` (number of rows), ``first`` and
    ``last`` (earliest and latest value of the table's main timestamp column, NaT when the
    table has none or is empty).
    """
    rows = []
    for table in [*TABLES.values()]:
        if table.time_column:
            n, first, last = con.execute(
                f'SELECT count(*), min("{table.time_column}"), max("{table.time_column}") '
                f"FROM {table.name}"
            ).fetchone()
        else:
            (n,) = con.execute(f"SELECT count(*) FROM {table.name}").fetchone()
            first = last = None
        rows.append({"table": table.name, "rows": n, "first": first, "last": last})
    (rejects,) = con.execute("SELECT count(*) FROM import_rejects").fetchone()
    rows.append({"table": "import_rejects", "rows": rejects, "first": None, "last": None})
    out = pd.DataFrame(rows)
    out["first"] = pd.to_datetime(out["first"])
    out["last"] = pd.to_datetime(out["last"])
    return out


def import_batches(con: duckdb.DuckDBPyConnection, limit: int = 20) -> pd.DataFrame:
    """The most recent import batches, newest first.

    Columns: ``batch_id``, ``started_at``, ``finished_at`` (UTC), ``kind`` (generate or
    import), ``files``, ``accepted`` and ``refused`` (row counts), ``note``.
    """
    return con.execute(
        "SELECT * FROM import_batches ORDER BY finished_at DESC LIMIT ?", [limit]
    ).df()


WRITE_LOG_COLUMNS = ["written_at", "actor", "host", "pid", "batches"]


def write_log(con: duckdb.DuckDBPyConnection, limit: int = 20) -> pd.DataFrame:
    """Who wrote the file and when, newest first (the audit trail of every write session).

    Columns: ``written_at`` (UTC), ``actor`` (OS user, ``$HANDOFF_ACTOR`` or the
    dashboard's user), ``host``, ``pid`` and ``batches`` (the ``import_batches`` ids the
    write recorded, comma-separated; empty for writes such as a saved setting). A file
    written before the log existed gives an empty frame.
    """
    try:
        return con.execute("SELECT * FROM write_log ORDER BY written_at DESC LIMIT ?", [limit]).df()
    except duckdb.CatalogException:
        return pd.DataFrame(columns=WRITE_LOG_COLUMNS)


def side_by_side(con: Any, calls: Sequence[Callable[[duckdb.DuckDBPyConnection], T]]) -> list[T]:
    """Run independent read-only ``calls`` at once, each on its own cursor of ``con``.

    Each call gets a cursor on ``con``'s database set to ``con``'s current catalog and
    schema (a cursor does not inherit ``USE``), and runs in a copy of the caller's context
    (so :func:`analysis.lifecycle.journey.reading` holds in it). A cursor reads committed
    data only, so use it for reads outside a write session. For a few small queries whose
    parsing, planning and conversion to pandas leave a core idle, the slowest call sets
    the time instead of their sum. The results come in the order of ``calls``; the first
    error is raised. A connection that is not DuckDB's (the Spark engine's) runs the calls
    one after the other on ``con``, and so does a call made from one of the pool's threads
    (it would otherwise wait for threads that wait for it).
    """
    nested = threading.current_thread().name.startswith(_POOL_PREFIX)
    if nested or not isinstance(con, duckdb.DuckDBPyConnection) or len(calls) < 2:
        return [call(con) for call in calls]
    (catalog, schema) = con.execute("SELECT current_database(), current_schema()").fetchone()

    def run(call: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        cur = con.cursor()
        try:
            cur.execute(f'USE "{catalog}"."{schema}"')
            return call(cur)
        finally:
            cur.close()

    futures = [_SIDE_BY_SIDE.submit(contextvars.copy_context().run, run, call) for call in calls]
    return [f.result() for f in futures]
