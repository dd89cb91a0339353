"""Warm caches: `handoff serve` fills them before the server answers, and a new version of
the file gets the recent calls replayed on it."""

from __future__ import annotations

import gc
import time
import weakref
from collections import OrderedDict
from pathlib import Path

import duckdb
import pytest

from analysis import store
from analysis.lifecycle import journey
from dashboard import state, warm
from tests.conftest import SERVED_PIDS, serve_dashboard
from tests.journeys import build, save
from tests.paths import ARTIFACTS

CALLS: list[tuple[str, int]] = []
"""Every real (uncached) run of :func:`counted`: (database file name and version, x)."""


def counted(con: duckdb.DuckDBPyConnection, x: int) -> int:
    """A cached call that records each time it really runs, and reads the database."""
    ((n,),) = con.execute("SELECT count(*) FROM write_log").fetchall()
    CALLS.append((f"log{n}", x))
    return x * 2


def _wait_for(condition, seconds: float = 60.0) -> None:
    """Poll ``condition`` until true (a ceiling, not a fixed wait)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture()
def small_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = save(build({"a": [("mql", "2024-01-02 09:00")]}), tmp_path / "small.duckdb")
    with store.write_session(db):
        pass  # written once through the write path: journey tables and one log row
    monkeypatch.setenv("HANDOFF_DB", str(db))
    return db


def test_a_new_file_version_gets_the_recent_calls_replayed(
    small_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call made on version 1 runs once; after a write swaps version 2 in, the next call
    (of anything) replays it on version 2 in the background, so asking it again on version
    2 runs nothing: two real runs in all, one per version (log1, log2).

    The process starts with no recent calls, so the replay holds only this test's calls and
    not whatever pages earlier tests of the same worker ran (a busy machine took over a
    minute replaying those)."""
    monkeypatch.setattr(state, "_recent", OrderedDict())
    monkeypatch.setattr(state, "_last_key", [None])
    CALLS.clear()
    assert state.call(counted, 21) == 42
    assert state.call(counted, 21) == 42
    assert CALLS == [("log1", 21)]
    with store.write_session(small_db):
        pass
    state.call(store.table_summary)  # any call notices the new version
    _wait_for(lambda: len(CALLS) == 2, seconds=180.0)
    assert state.call(counted, 21) == 42
    assert CALLS == [("log1", 21), ("log2", 21)]


def test_cached_calls_read_the_journey_tables_of_a_fresh_file(
    small_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside a cached call the journey tables are in use on a file written by this
    version, and not on one whose stamp no longer matches its write log."""
    stale = small_db.with_name("stale.duckdb")
    stale.write_bytes(small_db.read_bytes())
    raw = duckdb.connect(str(stale))  # a write that did not rebuild (an older version)
    raw.execute("INSERT INTO write_log VALUES (now()::TIMESTAMP, 'old', 'h', 1, NULL)")
    raw.close()
    assert state.call(active_flag) is True
    monkeypatch.setenv("HANDOFF_DB", str(stale))
    assert state.call(active_flag) is False


def active_flag(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the journey tables are in use inside this cached call."""
    return journey.active()


def test_warm_up_fills_the_first_calls(small_db: Path) -> None:
    """warm() opens the file and computes the sidebar's and home page's first calls; it
    takes well under the page ceilings on a tiny file."""
    seconds = warm.warm()
    assert 0 < seconds < 60
    assert state._journey_fresh(state.db_key()) is True


def test_serve_prints_how_long_the_warm_up_took(small_db: Path) -> None:
    """`handoff serve` says how long warming took, before the server answers (the log is
    read as soon as the health check answers)."""
    with serve_dashboard(small_db, "serve_warm") as url:
        text = (ARTIFACTS / "serve_warm.log").read_text()
        args = Path(f"/proc/{SERVED_PIDS[url]}/cmdline").read_bytes().split(b"\0")
    assert "warmed caches in " in text
    # The server does not collect garbage after every script run (settle_memory instead).
    assert args[args.index(b"--runner.postScriptGC") + 1] == b"false"
    # Nor does it watch its sources (a scan of every module at each new browser session).
    assert args[args.index(b"--server.fileWatcherType") + 1] == b"none"


class Cycle:
    """An object that refers to itself: only the garbage collector can free it."""

    def __init__(self) -> None:
        self.me = self


def test_settle_memory_freezes_what_is_alive_and_frees_what_an_earlier_freeze_kept() -> None:
    """After a warm-up, the live objects are exempt from collections; the next settle
    first undoes that, so cyclic garbage left from the previous warm-up is freed."""
    try:
        kept = Cycle()
        alive = weakref.ref(kept)
        warm.settle_memory()
        assert gc.get_freeze_count() > 0
        del kept  # now garbage, but frozen: a collection does not see it
        gc.collect()
        assert alive() is not None
        warm.settle_memory()  # unfreeze, collect, freeze again
        assert alive() is None
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
