"""The one write path: a copy of the live file, one transaction, an atomic swap.

DuckDB refuses a read-write open while any other process holds the file read-only, and the
dashboard holds it read-only for as long as it runs. So a write never happens in place:
:func:`write_session` copies the live file to a temporary file beside it, applies the batch
there in one transaction, closes it, and atomically renames it over the live path. A batch
that fails leaves the live file untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from analysis.store.schema import check_schema, create_schema


@contextlib.contextmanager
def write_session(path: Path | str, *, create: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the next version of the database for writing; swap it in when the block ends.

    The live file is copied beside itself (or a new file is made when ``create`` is true
    and none exists), the block runs inside one transaction on the copy, and on success
    the copy is checkpointed, closed and renamed over the live file in one atomic step.
    When the block raises, the copy is thrown away and the live file is as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        if path.exists():
            shutil.copyfile(path, tmp)
        elif not create:
            raise FileNotFoundError(f"database not found: {path}")
        con = duckdb.connect(str(tmp))
        try:
            if path.exists():
                check_schema(con, path)
            con.execute("BEGIN TRANSACTION")
            create_schema(con)
            yield con
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
