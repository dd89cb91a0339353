"""The history as a directory of Parquet tables: export, snapshots and the atomic pointer.

Layout of a Parquet source directory (what ``handoff export --parquet DIR`` writes)::

    DIR/CURRENT                      one line: the name of the live snapshot
    DIR/snapshots/<name>/leads.parquet
    DIR/snapshots/<name>/touchpoints/2026-01.parquet   one file per month of occurred_at
    DIR/snapshots/<name>/touchpoints/undated.parquet   touchpoints without a date, if any
    DIR/snapshots/<name>/<table>.parquet               every other table, one file each

A write (an export, or an import into the directory) never touches the live snapshot: it
writes a complete new snapshot directory, fsyncs it, then replaces ``CURRENT`` with
``os.replace`` (atomic on POSIX). Readers resolve ``CURRENT`` once when they connect, so
a running reader keeps its snapshot and the next connection sees the new one. A failed
write leaves ``CURRENT`` as it was; its half-written snapshot is removed.

A directory without ``CURRENT`` whose ``*.parquet`` files or folders are named after the
tables (a lakehouse export made by other tools) is read as it is.

Touchpoints, the largest table by far, are split by calendar month of ``occurred_at``
(one file per month, no partition column is added, so both engines read the same
columns); each file's min/max statistics let a query on a date range skip whole months.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from analysis.store import connect_read_only, file_signature

POINTER = "CURRENT"
SNAPSHOTS = "snapshots"
MONTH_SPLIT = {"touchpoints": "occurred_at"}
"""Tables written as one Parquet file per calendar month of the named column."""


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name = current_schema() "
        "ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows]


def _select_list(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """``*``, with TIME columns as ``HH:MM:SS`` text (Spark has no TIME type).

    Readers turn them back: DuckDB casts the text on insert, the Spark adapter reads them
    as a time on 1970-01-01 (see :func:`analysis.engines.spark.time_columns`).
    """
    times = [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = current_schema() AND table_name = ? AND data_type = 'TIME'",
            [table],
        ).fetchall()
    ]
    if not times:
        return "*"
    replaced = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in times)
    return f"* REPLACE ({replaced})"


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def write_tables(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, int]:
    """Write every table of ``con``'s database into the new directory ``out``.

    Returns the number of rows written per table. Paths are not SQL parameters in DuckDB's
    ``COPY``, so they are quoted literals (our own temporary paths, never user text alone).
    """
    out.mkdir(parents=True)
    counts: dict[str, int] = {}
    for table in _tables(con):
        (counts[table],) = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        column, cols = MONTH_SPLIT.get(table), _select_list(con, table)
        if column is None:
            con.execute(
                f'COPY (SELECT {cols} FROM "{table}") TO {_quoted(out / f"{table}.parquet")} '
                "(FORMAT PARQUET)"
            )
            continue
        folder = out / table
        folder.mkdir()
        months = con.execute(
            f'SELECT DISTINCT date_trunc(\'month\', "{column}") AS m FROM "{table}" ORDER BY m'
        ).fetchall()
        for (month,) in months:
            if month is None:
                where, name = f'"{column}" IS NULL', "undated"
            else:
                where, name = f"date_trunc('month', \"{column}\") = ?", f"{month:%Y-%m}"
            con.execute(
                f'COPY (SELECT {cols} FROM "{table}" WHERE {where} ORDER BY "{column}") '
                f"TO {_quoted(folder / f'{name}.parquet')} (FORMAT PARQUET)",
                [month] if month is not None else [],
            )
        if not months:  # keep the columns: an empty file still carries the schema
            con.execute(
                f'COPY (SELECT {cols} FROM "{table}" LIMIT 0) TO '
                f"{_quoted(folder / 'empty.parquet')} (FORMAT PARQUET)"
            )
    return counts


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _switch(directory: Path, name: str) -> None:
    """Point ``directory/CURRENT`` at snapshot ``name`` atomically."""
    tmp = directory / f".{POINTER}.{os.getpid()}.tmp"
    tmp.write_text(name + "\n", encoding="utf-8")
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, directory / POINTER)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def new_snapshot(directory: Path | str) -> Iterator[Path]:
    """Yield an empty snapshot folder; on success make it the live one, on failure remove it.

    The snapshot's name is the UTC time plus the process id, so names sort by age and two
    writers never share one. Older snapshots are kept (a reader may still be using one);
    :func:`prune` removes them.
    """
    directory = Path(directory)
    (directory / SNAPSHOTS).mkdir(parents=True, exist_ok=True)
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{os.getpid()}"
    path = directory / SNAPSHOTS / name
    try:
        yield path
        _fsync_tree(path)
        _switch(directory, name)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def current_snapshot(directory: Path | str) -> Path:
    """The folder holding the live tables of a Parquet source directory.

    ``directory/CURRENT`` names it when present; otherwise the directory itself must hold
    the tables (``leads.parquet`` or ``leads/``). Raises FileNotFoundError otherwise.
    """
    directory = Path(directory)
    pointer = directory / POINTER
    if pointer.is_file():
        name = pointer.read_text(encoding="utf-8").strip()
        path = directory / SNAPSHOTS / name
        if not name or "/" in name or not path.is_dir():
            raise FileNotFoundError(f"{pointer} names a missing snapshot {name!r}")
        return path
    if (directory / "leads.parquet").exists() or (directory / "leads").is_dir():
        return directory
    raise FileNotFoundError(
        f"no Parquet history at {directory} (expected {POINTER} or leads.parquet; "
        "write one with `handoff export --db FILE --parquet DIR`)"
    )


def table_paths(snapshot: Path) -> dict[str, Path]:
    """Table name -> its Parquet file or folder in ``snapshot``."""
    out: dict[str, Path] = {}
    for path in sorted(snapshot.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_file() and path.suffix == ".parquet":
            out[path.stem] = path
        elif path.is_dir() and any(path.glob("*.parquet")):
            out[path.name] = path
    return out


def export(db: Path | str, directory: Path | str) -> tuple[Path, dict[str, int]]:
    """Write the database ``db`` as a new live snapshot of the Parquet ``directory``.

    Returns the snapshot folder and the rows written per table.
    """
    con = connect_read_only(db)
    try:
        with new_snapshot(directory) as snap:
            counts = write_tables(con, snap)
    finally:
        con.close()
    return snap, counts


def load_into_duckdb(snapshot: Path, db: Path) -> None:
    """Create the DuckDB file ``db`` holding the tables of ``snapshot`` (same columns)."""
    from analysis.store import create_schema
    from analysis.store.settings import SETTINGS_DDL

    con = duckdb.connect(str(db))
    try:
        create_schema(con)  # the keys INSERT OR REPLACE relies on come with the DDL
        con.execute(SETTINGS_DDL)
        known = set(_tables(con))
        con.execute("DELETE FROM meta")
        for table, path in table_paths(snapshot).items():
            source = f"read_parquet({_quoted(path / '*.parquet' if path.is_dir() else path)})"
            if table in known:
                con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM {source}')
            else:
                con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM {source}')
    finally:
        con.close()


def write_through_duckdb(directory: Path | str, write: Callable[[Path], object]) -> object:
    """Apply ``write(db_path)`` (an import, a settings change) to a Parquet directory.

    The live snapshot is loaded into a private DuckDB file, ``write`` runs the ordinary
    write path on it (same validation, same all-or-nothing batch), and the result becomes
    a new snapshot that replaces the live one atomically. When ``write`` raises, or
    returns an object whose ``applied`` attribute is false, nothing is switched. Returns
    what ``write`` returned.

    Every write copies the whole history once; that is right for the single-machine
    sizes this runs at, while a warehouse appends partition files with its own tools.
    """
    directory = Path(directory)
    with tempfile.TemporaryDirectory(prefix=".import-", dir=directory) as tmp:
        db = Path(tmp) / "history.duckdb"
        load_into_duckdb(current_snapshot(directory), db)
        before = file_signature(db)
        result = write(db)
        if getattr(result, "applied", True) is False or file_signature(db) == before:
            return result
        con = duckdb.connect(str(db), read_only=True)
        try:
            with new_snapshot(directory) as snap:
                write_tables(con, snap)
        finally:
            con.close()
    return result


def prune(directory: Path | str, keep: int = 2, older_than_s: float = 3600.0) -> list[str]:
    """Remove snapshots beyond the newest ``keep`` that are older than ``older_than_s``."""
    directory = Path(directory)
    live = current_snapshot(directory).name
    snaps = sorted((directory / SNAPSHOTS).iterdir(), reverse=True)
    removed = []
    for path in snaps[keep:]:
        if path.name != live and time.time() - path.stat().st_mtime > older_than_s:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed
