"""The one write path: one writer at a time, a copy of the live file, one transaction, a swap.

DuckDB refuses a read-write open while any other process holds the file read-only, and the
dashboard holds it read-only for as long as it runs. So a write never happens in place:
:func:`write_session` copies the live file to a temporary file beside it, applies the batch
there in one transaction, closes it, and atomically renames it over the live path. A batch
that fails leaves the live file untouched.

Rules that keep every write (and the file itself) safe:

- **One writer at a time.** A session holds an OS lock (``flock``) on ``<database>.lock``
  beside the file from before the copy until after the swap. A second writer waits (saying
  so on stderr) up to :data:`LOCK_WAIT_SECONDS` (``$HANDOFF_LOCK_WAIT`` overrides it) and
  then raises :class:`WriterBusy`; it never copies a version another writer is replacing.
- **The file stays the same file.** The new version gets the live file's mode, owner and
  group before it is swapped in; a symlinked path is written through to its target (the
  link stays a link); the new file and its directory are fsynced.
- **Leftovers are cleaned.** Temporary copies of a killed writer (``.<name>.*.tmp``) are
  removed by the next writer, only while it holds the lock, so never a live writer's file.
- **Who and when.** Each session appends one row to ``write_log``: time (UTC), actor (the
  OS user unless told otherwise), host, process and the import batches it recorded.
- **Derived once.** Before the commit the session rebuilds the journey tables every page
  reads (:mod:`analysis.lifecycle.journey`), stamped with the ``write_log`` count, so
  readers never recompute per-lead stage entries and SLA clocks on each view.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import getpass
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from analysis.store.schema import SchemaError, check_schema, create_schema

LOCK_WAIT_SECONDS = 60.0
"""How long a writer waits for another writer of the same file before giving up."""

INSERT_LOG_SQL = "INSERT INTO write_log VALUES (?, ?, ?, ?, ?)"


class WriterBusy(RuntimeError):
    """Another writer held the database's lock for longer than the wait allows."""


def default_actor() -> str:
    """Who a write is recorded as: ``$HANDOFF_ACTOR``, else the OS user, else ``unknown``."""
    actor = os.environ.get("HANDOFF_ACTOR", "").strip()
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def lock_wait_seconds() -> float:
    """The writer's wait in seconds: ``$HANDOFF_LOCK_WAIT`` when it is a number >= 0."""
    try:
        wait = float(os.environ.get("HANDOFF_LOCK_WAIT", LOCK_WAIT_SECONDS))
    except ValueError:
        return LOCK_WAIT_SECONDS
    return wait if wait >= 0 else LOCK_WAIT_SECONDS


def live_path(path: Path | str) -> Path:
    """The file a write replaces: ``path`` with every symlink resolved."""
    return Path(os.path.realpath(path))


def lock_path(path: Path | str) -> Path:
    """The lock file beside the (resolved) database: ``<database>.lock``."""
    target = live_path(path)
    return target.with_name(target.name + ".lock")


def _say_on_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def writer_lock(
    path: Path | str,
    *,
    wait: float | None = None,
    say: Callable[[str], None] | None = None,
) -> Iterator[Path]:
    """Hold the database's writer lock for the block; yields the lock file's path.

    The lock is ``flock`` on ``<database>.lock``. The lock file is removed on release while
    still held; a waiter that then locks the removed file notices (the path no longer names
    the file it locked) and tries again, so two writers never both believe they hold it.
    Raises :class:`WriterBusy` after ``wait`` seconds (default :func:`lock_wait_seconds`).
    """
    lock = lock_path(path)
    wait = lock_wait_seconds() if wait is None else wait
    say = say or _say_on_stderr
    deadline = time.monotonic() + wait
    told = False
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise WriterBusy(
                    f"{live_path(path)}: another write to this database is still running "
                    f"(waited {wait:g}s for {lock.name}); try again when it has finished"
                ) from None
            if not told:
                say(f"waiting for another write to {live_path(path).name} to finish ...")
                told = True
            time.sleep(0.05)
            continue
        try:
            current = os.stat(lock)
            mine = os.fstat(fd)
            same = (current.st_ino, current.st_dev) == (mine.st_ino, mine.st_dev)
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield lock
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        os.close(fd)


def _remove_stale_temps(path: Path) -> None:
    """Delete temporary copies left by killed writers (call only while holding the lock)."""
    for leftover in path.parent.glob(f".{path.name}.*.tmp*"):
        if leftover.name.endswith((".tmp", ".tmp.wal")):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
                leftover.unlink()


def _copy_live(path: Path, tmp: Path) -> None:
    """Copy the live file to ``tmp`` with the live file's mode, owner and group."""
    st = path.stat()
    with path.open("rb") as src, tmp.open("xb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    with contextlib.suppress(PermissionError):
        os.chown(tmp, st.st_uid, st.st_gid)
    with contextlib.suppress(PermissionError):
        os.chown(tmp, -1, st.st_gid)
    os.chmod(tmp, st.st_mode & 0o7777)


def _fsync(path: Path, directory: bool = False) -> None:
    """Flush a file (or a directory's entries) to disk."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if not (directory and exc.errno == errno.EINVAL):  # some filesystems refuse it
            raise
    finally:
        os.close(fd)


def _open_copy(tmp: Path, shown: Path, existed: bool) -> duckdb.DuckDBPyConnection:
    """Connect to the copy; a file DuckDB cannot open is a :class:`SchemaError`."""
    try:
        con = duckdb.connect(str(tmp))
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SchemaError(f"{shown}: not a Handoff Health database ({first})") from exc
    if existed:
        try:
            check_schema(con, shown)
        except BaseException:
            con.close()
            raise
    return con


def _batches(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT batch_id FROM import_batches").fetchall()}


def _derive(con: duckdb.DuckDBPyConnection, rebuild: bool) -> None:
    """Rebuild (or, for a write without history changes, re-stamp) the journey tables."""
    # The journey tables belong to the lifecycle layer above the store; imported here so
    # that every writer builds them in the same transaction as its rows.
    from analysis.lifecycle import journey

    if rebuild or not journey.restamp(con):  # nothing fresh to keep: build them now
        journey.build(con)


@contextlib.contextmanager
def write_session(
    path: Path | str,
    *,
    create: bool = False,
    actor: str | None = None,
    wait: float | None = None,
    derive: bool = True,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the next version of the database for writing; swap it in when the block ends.

    Under the writer lock, the live file is copied beside itself (or a new file is made
    when ``create`` is true and none exists), the block runs inside one transaction on the
    copy, and on success the copy is checkpointed, closed, given the live file's mode,
    owner and group, fsynced and renamed over the live file in one atomic step. When the
    block raises, the copy is thrown away and the live file is as it was.

    Parameters
    ----------
    path : Path or str
        The database file (a symlink is written through to its target).
    create : bool
        Make a new database when none exists (else ``FileNotFoundError``).
    actor : str, optional
        Who writes, recorded in ``write_log`` (default :func:`default_actor`).
    wait : float, optional
        Seconds to wait for another writer (default :func:`lock_wait_seconds`); then
        :class:`WriterBusy`.
    derive : bool
        Rebuild the derived journey tables (:mod:`analysis.lifecycle.journey`) before the
        commit (default). A write that changes no history (settings, targets, saved
        scoring rules) passes False: fresh journey tables then stay fresh as they are
        (a file without fresh ones, e.g. from an older version, gets them built).
    """
    shown = Path(path)
    path = live_path(shown)
    if path.is_dir():
        raise SchemaError(f"{shown}: is a directory, not a database file")
    if not path.exists() and not create:
        raise FileNotFoundError(f"database not found: {shown}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with writer_lock(path, wait=wait):
        _remove_stale_temps(path)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        tmp.unlink()
        try:
            existed = path.exists()
            if existed:
                _copy_live(path, tmp)
            elif not create:
                raise FileNotFoundError(f"database not found: {shown}")
            con = _open_copy(tmp, shown, existed)
            try:
                con.execute("BEGIN TRANSACTION")
                create_schema(con)
                before = _batches(con)
                yield con
                when = datetime.now(UTC).replace(tzinfo=None)
                recorded = ", ".join(sorted(_batches(con) - before)) or None
                con.execute(
                    INSERT_LOG_SQL,
                    [when, actor or default_actor(), socket.gethostname(), os.getpid(), recorded],
                )
                _derive(con, derive)
                con.execute("COMMIT")
                con.execute("CHECKPOINT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
            finally:
                con.close()
            _fsync(tmp)
            os.replace(tmp, path)
            _fsync(path.parent, directory=True)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
