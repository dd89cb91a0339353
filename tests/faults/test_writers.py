"""Writers under faults: concurrent imports, a held lock, killed writers, file identity.

Every case is run with real processes and real files; "lost data" means a writer that
exited 0 whose rows are not in the file afterwards, which must never happen.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from analysis import store
from analysis.imports import ingest
from tests.faults.helpers import (
    count_leads,
    handoff,
    leads_file,
    one_line_error,
    start_handoff,
    temp_files,
)
from tests.paths import ROOT

TRIES = 3


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    """A database holding 10 leads S-0..S-9."""
    path = tmp_path / "h.duckdb"
    seed = leads_file(tmp_path / "leads_seed.csv", "S", 10)
    assert ingest.import_files(path, [seed]).exit_code == 0
    return path


@pytest.mark.parametrize("attempt", range(TRIES))
def test_two_concurrent_imports_both_land(db: Path, tmp_path: Path, attempt: int) -> None:
    """Two `handoff import`s into one file at once: the second waits for the lock, so both
    batches are in the file (5,000 + 5,000 leads) and the 10 seed leads survive."""
    a = leads_file(tmp_path / "leads_a.csv", "A", 5_000)
    b = leads_file(tmp_path / "leads_b.csv", "B", 5_000)
    procs = [start_handoff("import", "--db", str(db), str(f)) for f in (a, b)]
    outcomes = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for (code, stderr), prefix in zip(outcomes, "AB", strict=True):
        if code == 0:
            assert count_leads(db, prefix) == 5_000, stderr
        else:  # a refusal is allowed, a silent loss is not
            assert code == 2, stderr
            one_line_error(stderr)
            assert count_leads(db, prefix) == 0
    # with the default wait (60 s) neither is refused on this small batch
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert count_leads(db, "S") == 10
    con = store.connect_read_only(db)
    (written,) = con.execute("SELECT count(*) FROM write_log").fetchone()
    con.close()
    assert written == 3  # seed + A + B, one row per write session
    assert temp_files(db.parent) == []
    assert not store.lock_path(db).exists()


def test_a_writer_that_cannot_get_the_lock_exits_2_and_writes_nothing(
    db: Path, tmp_path: Path
) -> None:
    """While another writer holds the lock, an import says it is waiting, gives up after
    HANDOFF_LOCK_WAIT seconds with exit 2 and one line, and the file is unchanged."""
    before = db.read_bytes()
    extra = leads_file(tmp_path / "leads_late.csv", "L", 5)
    with store.writer_lock(db, wait=0):
        result = handoff("import", "--db", str(db), str(extra), env={"HANDOFF_LOCK_WAIT": "1"})
    assert result.returncode == 2, result.stderr
    assert "waiting for another write" in result.stderr
    assert "another write to this database is still running" in one_line_error(result.stderr)
    assert db.read_bytes() == before


def test_write_log_records_who_and_which_batch(db: Path, tmp_path: Path) -> None:
    """Each write names its actor: HANDOFF_ACTOR for the CLI, the actor= argument in code."""
    extra = leads_file(tmp_path / "leads_x.csv", "X", 2)
    assert (
        handoff("import", "--db", str(db), str(extra), env={"HANDOFF_ACTOR": "ops-bot"}).returncode
        == 0
    )
    with store.write_session(db, actor="alice"):
        pass
    con = store.connect_read_only(db)
    rows = con.execute(
        "SELECT actor, batches FROM write_log ORDER BY written_at DESC LIMIT 2"
    ).fetchall()
    (batch,) = con.execute(
        "SELECT batch_id FROM import_batches ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    con.close()
    assert rows == [("alice", None), ("ops-bot", batch)]


def test_mode_owner_and_group_survive_a_write(db: Path) -> None:
    """A chmod 600 file owned by another user and group keeps mode, owner and group."""
    os.chmod(db, 0o600)
    if os.geteuid() == 0:
        os.chown(db, 4321, 4322)
    before = db.stat()
    with store.write_session(db) as con:
        con.execute("INSERT INTO reps (rep_id) VALUES ('r1')")
    after = db.stat()
    assert after.st_ino != before.st_ino  # a new file was swapped in ...
    assert oct(after.st_mode & 0o7777) == "0o600"  # ... with the same mode
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)


def test_a_symlinked_database_is_written_through_to_its_target(db: Path, tmp_path: Path) -> None:
    """Writing through a symlink replaces the target and keeps the link; the dashboard's
    file_signature of the link path changes, so it reconnects and sees the write."""
    link = tmp_path / "link.duckdb"
    link.symlink_to(db)
    seen = store.file_signature(link)
    extra = leads_file(tmp_path / "leads_y.csv", "Y", 3)
    assert handoff("import", "--db", str(link), str(extra)).returncode == 0
    assert link.is_symlink() and os.readlink(link) == str(db)
    assert store.file_signature(link) != seen
    assert store.file_signature(link) == store.file_signature(db)
    assert count_leads(link, "Y") == 3


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from analysis import store
    with store.write_session(sys.argv[1]) as con:
        con.execute("INSERT INTO reps (rep_id) SELECT 'k' || i FROM range(50000) t(i)")
        print("inside", flush=True)
        time.sleep(60)
    """
)


def test_a_killed_writer_leaves_the_file_intact_and_its_copy_is_cleaned(db: Path) -> None:
    """SIGKILL inside the batch: the live file is byte-identical, and the next write removes
    the killed writer's temporary copy (and takes the lock the dead writer held)."""
    before = db.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "inside"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert db.read_bytes() == before
    assert temp_files(db.parent)  # the dead writer's copy is still there ...
    with store.write_session(db, wait=5):
        pass
    assert temp_files(db.parent) == []  # ... until the next write
    assert count_leads(db, "S") == 10


@pytest.mark.parametrize("delay", [0.3, 1.0, 2.0])
def test_an_import_killed_at_any_moment_never_damages_the_file(
    db: Path, tmp_path: Path, delay: float
) -> None:
    """A real `handoff import` killed after 0.3, 1 or 2 seconds (reading, checking or
    writing): the live file is the old one or the complete new one, and readable."""
    before = db.read_bytes()
    big = leads_file(tmp_path / "leads_k.csv", "K", 60_000)
    proc = start_handoff("import", "--db", str(db), str(big))
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    after = count_leads(db, "K")
    assert after in (0, 60_000)
    if after == 0:
        assert db.read_bytes() == before
    assert count_leads(db, "S") == 10
    with store.write_session(db, wait=5):
        pass
    assert temp_files(db.parent) == []
