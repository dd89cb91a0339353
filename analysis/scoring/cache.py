"""A disk cache for the scoring lab's slow results: the feature matrix and the fitted model.

Query intuition
---------------
Building the feature matrix (one query over every lead and touchpoint) and fitting the
model take seconds at a million leads; the dashboard keeps them in memory per database
version, but a freshly started server would redo both on its first visit. This module
keeps them on disk too, keyed by:

- the **database version**: the file's absolute path, inode, modification time (ns) and
  size (:func:`file_version`). An import swaps a new file in (new inode and mtime), so a
  stale entry is never read for new data;
- a **settings hash**: the arguments that shape the result (horizon, properties, outcome,
  window, decay, the current rule), and :data:`CACHE_VERSION` plus the scikit-learn
  version, so a code or library change never reads an old layout.

Entries are pickles written atomically (a temporary file, then ``os.replace``) in
``$HANDOFF_CACHE_DIR`` or ``~/.cache/handoff-health/scoring``; at most :data:`MAX_ENTRIES`
of each kind are kept, the least recently used removed first (a read counts as a use), so
a session that tries many decays (a model each) does not push out the feature matrix every
restart reads. Pickles are only ever read from that directory, which only this
user writes. Any failure to read or write (read-only home, full disk) falls back to
computing the result: the cache can only make a load faster, never wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import sklearn

T = TypeVar("T")

CACHE_VERSION = 1
"""Bump when the layout of a cached object changes."""

MAX_ENTRIES = 8
"""Files kept per kind ("matrix", "model", ...); the least recently used go first."""

CACHE_ENV = "HANDOFF_CACHE_DIR"


def cache_dir() -> Path:
    """``$HANDOFF_CACHE_DIR``, else ``~/.cache/handoff-health/scoring``."""
    env = os.environ.get(CACHE_ENV, "").strip()
    return Path(env) if env else Path.home() / ".cache" / "handoff-health" / "scoring"


def file_version(path: str | os.PathLike) -> tuple[str, int, int, int]:
    """(absolute path, inode, mtime in ns, size) of a database file."""
    p = Path(path).resolve()
    st = p.stat()
    return (str(p), st.st_ino, st.st_mtime_ns, st.st_size)


def entry_name(kind: str, version: tuple, settings: tuple) -> str:
    """File name of one entry: the kind and a digest of version, settings and code."""
    text = repr((CACHE_VERSION, sklearn.__version__, kind, version, settings))
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:24]}.pkl"


def cached(kind: str, version: tuple, settings: tuple, build: Callable[[], T]) -> tuple[T, bool]:
    """(result, whether it came from disk): ``build()`` unless a matching entry exists.

    Parameters
    ----------
    kind : str
        What is cached ("matrix", "model"), part of the file name.
    version : tuple
        :func:`file_version` of the database the result is computed from.
    settings : tuple
        Every argument that shapes the result (plain values with a stable ``repr``).
    build : callable
        Computes the result when no entry matches.
    """
    hit = peek(kind, version, settings)
    if hit is not None:
        return hit, True
    result = build()
    put(kind, version, settings, result)
    return result, False


def peek(kind: str, version: tuple, settings: tuple) -> object | None:
    """The stored entry of (kind, version, settings), or None when there is none."""
    path = cache_dir() / entry_name(kind, version, settings)
    try:
        with path.open("rb") as f:
            value = pickle.load(f)  # noqa: S301 - our own files in our own cache dir
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # used now: the trim removes the least recently used first
    return value


def put(kind: str, version: tuple, settings: tuple, value: object) -> None:
    """Store ``value`` as the entry of (kind, version, settings); failures are ignored."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(f.name, folder / entry_name(kind, version, settings))
        _trim(folder, kind)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass


def _trim(folder: Path, kind: str) -> None:
    """Keep the :data:`MAX_ENTRIES` most recently used entries of ``kind``."""
    entries = sorted(folder.glob(f"{kind}-*.pkl"), key=lambda p: p.stat().st_mtime_ns)
    for old in entries[:-MAX_ENTRIES]:
        old.unlink(missing_ok=True)
