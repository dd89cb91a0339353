"""The disk cache: a second load reads the stored result; a new file version rebuilds."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from analysis import store
from analysis.scoring import cache, features


def test_matrix_is_read_back_and_a_new_file_version_rebuilds(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """First call builds (from_disk False), the second reads the same arrays from disk;
    after the file's mtime changes (an import swapped a new version in) it builds again."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    db = tmp_path / "copy.duckdb"
    db.write_bytes(demo_db.read_bytes())
    builds = []

    def build():  # noqa: ANN202
        builds.append(1)
        con = store.connect_read_only(db)
        try:
            return features.build_features(con)
        finally:
            con.close()

    first, hit1 = cache.cached("matrix", cache.file_version(db), (30,), build)
    second, hit2 = cache.cached("matrix", cache.file_version(db), (30,), build)
    assert (hit1, hit2, len(builds)) == (False, True, 1)
    assert np.array_equal(first.X, second.X)
    assert np.array_equal(first.lead_ids, second.lead_ids)
    assert first.names == second.names and first.absent == second.absent
    st = db.stat()
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    _, hit3 = cache.cached("matrix", cache.file_version(db), (30,), build)
    assert (hit3, len(builds)) == (False, 2)
    _, hit4 = cache.cached("matrix", cache.file_version(db), (60,), build)  # other settings
    assert (hit4, len(builds)) == (False, 3)


def test_an_unwritable_cache_only_costs_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A cache directory that cannot be created (a file is in the way) never fails a load."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker / "cache"))
    value, hit = cache.cached("x", ("p", 1, 2, 3), (), lambda: {"a": 1})
    assert (value, hit) == ({"a": 1}, False)


def test_old_entries_are_trimmed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At most MAX_ENTRIES files of a kind are kept."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    for i in range(cache.MAX_ENTRIES + 3):
        cache.cached("x", ("p", i, 0, 0), (), lambda i=i: i)
    assert len(list(tmp_path.glob("*.pkl"))) == cache.MAX_ENTRIES


def test_a_used_entry_outlives_newer_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The trim removes the least recently used entry of the written kind: a matrix read
    at the start survives any number of models (another kind), and among models the one
    read again outlives those written after it but not read since."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    cache.cached("matrix", ("p", 0, 0, 0), (), lambda: "matrix")
    for i in range(cache.MAX_ENTRIES):
        cache.cached("model", ("p", i, 0, 0), (), lambda i=i: i)
        # one second apart, in the past: a coarse file clock cannot tie them
        entry = tmp_path / cache.entry_name("model", ("p", i, 0, 0), ())
        os.utime(entry, (1_000_000 + i, 1_000_000 + i))
    assert cache.cached("model", ("p", 0, 0, 0), (), lambda: "rebuilt") == (0, True)
    for i in range(cache.MAX_ENTRIES, cache.MAX_ENTRIES + 3):  # three more models
        cache.cached("model", ("p", i, 0, 0), (), lambda i=i: i)
    assert cache.peek("matrix", ("p", 0, 0, 0), ()) == "matrix"
    assert cache.peek("model", ("p", 0, 0, 0), ()) == 0  # read again: kept
    assert [cache.peek("model", ("p", i, 0, 0), ()) for i in (1, 2, 3)] == [None] * 3
    assert len(list(tmp_path.glob("model-*.pkl"))) == cache.MAX_ENTRIES
