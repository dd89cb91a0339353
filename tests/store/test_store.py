"""The store: schema creation, version check, read-only opening and the atomic write path."""

from __future__ import annotations

import contextvars
import threading

import duckdb
import pytest

from analysis import store


def test_write_session_creates_every_table(tmp_path):
    """It creates all tables of the data model and records the schema version."""
    db = tmp_path / "h.duckdb"
    with store.write_session(db, create=True):
        pass
    con = store.connect_read_only(db)
    names = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert set(store.TABLES) | {"meta", "import_rejects", "import_batches"} <= names
    assert store.schema_version(con) == store.SCHEMA_VERSION


def test_failed_write_leaves_file_unchanged(tmp_path):
    """A block that raises leaves the live file byte-for-byte as it was, with no temp files."""
    db = tmp_path / "h.duckdb"
    with store.write_session(db, create=True) as con:
        con.execute("INSERT INTO reps (rep_id) VALUES ('r1')")
    before = db.read_bytes()
    with pytest.raises(RuntimeError), store.write_session(db) as con:
        con.execute("INSERT INTO reps (rep_id) VALUES ('r2')")
        raise RuntimeError("boom")
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.duckdb"]


def test_write_swaps_under_an_open_reader(tmp_path):
    """A writer succeeds while a reader holds the file; the reader sees the old data until it
    reconnects, and a new reader sees the new data."""
    db = tmp_path / "h.duckdb"
    with store.write_session(db, create=True) as con:
        con.execute("INSERT INTO reps (rep_id) VALUES ('r1')")
    reader = store.connect_read_only(db)
    sig = store.file_signature(db)
    with store.write_session(db) as con:
        con.execute("INSERT INTO reps (rep_id) VALUES ('r2')")
    assert reader.execute("SELECT count(*) FROM reps").fetchone() == (1,)
    assert store.file_signature(db) != sig
    assert store.connect_read_only(db).execute("SELECT count(*) FROM reps").fetchone() == (2,)


def test_newer_schema_is_refused(tmp_path):
    """Opening a file written by a newer schema version gives a clear error."""
    db = tmp_path / "h.duckdb"
    with store.write_session(db, create=True) as con:
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(store.SchemaError, match="schema version 99"):
        store.connect_read_only(db)


def test_foreign_file_is_refused(tmp_path):
    """A DuckDB file that is not ours is refused rather than misread."""
    db = tmp_path / "other.duckdb"
    duckdb.connect(str(db)).execute("CREATE TABLE x (a INT)").close()
    with pytest.raises(store.SchemaError, match="not a Handoff Health database"):
        store.connect_read_only(db)


def test_missing_file_is_refused(tmp_path):
    """A missing file raises FileNotFoundError naming the path, and creates nothing."""
    db = tmp_path / "missing.duckdb"
    with pytest.raises(FileNotFoundError, match="missing.duckdb"):
        store.connect_read_only(db)
    with pytest.raises(FileNotFoundError), store.write_session(db):
        pass
    assert not db.exists()


def test_table_summary_counts_and_ranges(tmp_path):
    """It reports rows and the first/last event per table."""
    db = tmp_path / "h.duckdb"
    with store.write_session(db, create=True) as con:
        con.execute(
            "INSERT INTO leads (lead_id, created_at) VALUES "
            "('a', '2024-01-05 10:00'), ('b', '2024-03-01 08:30')"
        )
    summary = store.table_summary(store.connect_read_only(db)).set_index("table")
    assert summary.loc["leads", "rows"] == 2
    assert str(summary.loc["leads", "first"]) == "2024-01-05 10:00:00"
    assert str(summary.loc["leads", "last"]) == "2024-03-01 08:30:00"
    assert summary.loc["touchpoints", "rows"] == 0


def test_writer_lock_serialises_threads_and_leaves_no_lock_file(tmp_path):
    """Eight threads each add one rep through write_session at once: all eight rows land
    (8 + the seed row = 9), one write_log row per session, and no lock or temp file stays."""
    import threading

    db = tmp_path / "h.duckdb"
    with store.write_session(db, create=True) as con:
        con.execute("INSERT INTO reps (rep_id) VALUES ('seed')")
    errors: list[BaseException] = []

    def add(i: int) -> None:
        try:
            with store.write_session(db, wait=60) as con:
                con.execute("INSERT INTO reps (rep_id) VALUES (?)", [f"t{i}"])
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    con = store.connect_read_only(db)
    assert con.execute("SELECT count(*) FROM reps").fetchone() == (9,)
    assert con.execute("SELECT count(*) FROM write_log").fetchone() == (9,)
    con.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.duckdb"]


def test_a_held_lock_makes_the_next_writer_fail_with_writer_busy(tmp_path):
    """While the lock is held, write_session(wait=0.2) raises WriterBusy and changes nothing."""
    db = tmp_path / "h.duckdb"
    with store.write_session(db, create=True):
        pass
    before = db.read_bytes()
    said: list[str] = []
    with store.writer_lock(db, wait=0):
        with pytest.raises(store.WriterBusy, match="another write to this database"):
            with store.writer_lock(db, wait=0.2, say=said.append):
                pass
        with pytest.raises(store.WriterBusy):
            with store.write_session(db, wait=0.2) as con:
                con.execute("INSERT INTO reps (rep_id) VALUES ('lost')")
    assert said == ["waiting for another write to h.duckdb to finish ..."]
    assert db.read_bytes() == before


def test_readers_let_duckdb_give_freed_memory_back(tmp_path):
    """A reader connection runs DuckDB's allocator with its background threads, which
    return the memory of finished queries to the system instead of keeping it."""
    db = tmp_path / "h.duckdb"
    with store.write_session(db, create=True):
        pass
    con = store.connect_read_only(db)
    try:
        ((on,),) = con.execute("SELECT current_setting('allocator_background_threads')").fetchall()
    finally:
        con.close()
    assert on is True


def test_side_by_side_runs_each_call_on_a_cursor_of_the_same_file(tmp_path):
    """Each call reads the attached file (its own cursor, set to the reader's catalog), runs
    in the caller's context and on another thread; results keep the order of the calls, and
    a failing call raises its error."""
    db = tmp_path / "h.duckdb"
    with store.write_session(db, create=True) as con:
        con.execute("INSERT INTO reps (rep_id) VALUES ('r1'), ('r2')")
    con = store.connect_read_only(db)
    flag: contextvars.ContextVar[str] = contextvars.ContextVar("flag", default="unset")
    flag.set("caller")

    def reps(c):
        return c.execute("SELECT count(*) FROM reps").fetchone()[0], flag.get()

    def where(c):
        return c is not con, threading.current_thread() is not threading.main_thread()

    assert store.side_by_side(con, [reps, where, lambda c: 7]) == [(2, "caller"), (True, True), 7]
    # a call from a pool thread runs its own calls in turn there (no wait on a full pool)
    nested = [lambda c: store.side_by_side(c, [lambda d: d is c] * 2) for _ in range(6)]
    assert store.side_by_side(con, nested) == [[True, True]] * 6
    with pytest.raises(duckdb.CatalogException):
        store.side_by_side(con, [reps, lambda c: c.execute("SELECT * FROM no_such_table")])


def test_side_by_side_runs_in_turn_on_a_connection_that_is_not_duckdb():
    """A connection of another engine gets the calls one after the other, on itself."""
    seen = []
    other = object()
    assert store.side_by_side(other, [lambda c: seen.append(c) or 1, lambda c: 2]) == [1, 2]
    assert seen == [other]
