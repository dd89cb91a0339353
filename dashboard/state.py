"""Shared dashboard state: the read-only database connection and the cached calls into analysis/.

The connection is cached per (path, inode, mtime) of the database file, so when an import
swaps a new version of the file in, the next rerun opens it and cached results made from
the old file are not reused. Each query takes its own cursor: one DuckDB connection is not
thread-safe and Streamlit serves each session from its own thread.

Cached calls read the derived journey tables when the file's are fresh
(:mod:`analysis.lifecycle.journey`, checked once per file version). When a new version of
the file appears, the calls made on the previous one are replayed on it in a background
thread (:func:`dashboard.warm.rewarm`), so the first visit after an import is warm too.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import streamlit as st

from analysis import config, engines, store
from analysis.lifecycle import journey

DbKey = tuple[str, int, int]

WRITES_ENV = "HANDOFF_ALLOW_WRITES"
"""Set to 1 by ``handoff serve --allow-writes``; anything else leaves the dashboard read-only."""

READ_ONLY_NOTE = (
    "This dashboard is read-only. Writing from the browser (imports, targets, saved "
    "scoring rules) is enabled by starting it with `handoff serve --allow-writes`."
)
if engines.engine() == "spark":
    READ_ONLY_NOTE = engines.SPARK_READ_ONLY
"""What a page shows in place of a write widget when writes are off."""


def writes_enabled() -> bool:
    """True only when the server was started with ``handoff serve --allow-writes``.

    Pages hide or disable every widget that writes the database when this is false (the
    default, also under ``streamlit run`` and AppTest unless the variable is set).
    """
    if engines.engine() == "spark":
        return False  # a Parquet history is written by `handoff import --parquet`
    return os.environ.get(WRITES_ENV, "").strip().lower() in ("1", "true", "yes")


def write_actor() -> str:
    """Who a write from the browser is recorded as (``actor=`` of ``store.write_session``).

    The signed-in user's e-mail when Streamlit authentication is configured, else
    ``dashboard:<OS user running the server>``. Writes that do not pass it are recorded
    the same way, because ``handoff serve`` sets ``HANDOFF_ACTOR`` for the server.
    """
    try:
        user = st.user
        if user.get("is_logged_in") and user.get("email"):
            return f"dashboard:{user['email']}"
    except Exception:  # noqa: BLE001 - st.user is unavailable without auth configured
        pass
    actor = store.default_actor()  # `handoff serve` sets HANDOFF_ACTOR=dashboard:<user>
    return actor if actor.startswith("dashboard:") else f"dashboard:{actor}"


def db_key() -> DbKey:
    """(path, inode, mtime) of the live database; raises FileNotFoundError when missing."""
    path = config.db_path()
    ino, mtime = store.file_signature(path)
    return (str(path), ino, mtime)


@st.cache_resource(max_entries=2, show_spinner=False)
def _connection(key: DbKey) -> duckdb.DuckDBPyConnection:
    return engines.connect_read_only(Path(key[0]))  # $HANDOFF_ENGINE: duckdb or spark


@st.cache_resource(max_entries=4, show_spinner=False)
def _journey_fresh(key: DbKey) -> bool:
    """Whether the file version ``key`` carries fresh journey tables (checked once)."""
    con = store.read_cursor(_connection(key))
    try:
        return journey.is_fresh(con)
    finally:
        con.close()


RECENT_CALLS = 64
"""How many distinct recent calls are remembered for the replay after a file swap."""

_recent: OrderedDict[tuple, tuple[Callable[..., Any], tuple, dict]] = OrderedDict()
_recent_lock = threading.Lock()
_last_key: list[DbKey | None] = [None]


def recent_calls() -> list[tuple[Callable[..., Any], tuple, dict]]:
    """The distinct calls made recently (oldest first): what a warm-up replays."""
    with _recent_lock:
        return list(_recent.values())


def _remember(name: str, key: DbKey, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    with _recent_lock:
        ident = (name, args, tuple(sorted(kwargs.items())))
        _recent[ident] = (fn, args, kwargs)
        _recent.move_to_end(ident)
        while len(_recent) > RECENT_CALLS:
            _recent.popitem(last=False)
        previous, _last_key[0] = _last_key[0], key
    if previous is not None and previous != key:
        from dashboard import warm

        warm.rewarm_in_background(key)


def cursor() -> duckdb.DuckDBPyConnection:
    """A fresh cursor on the current version of the database."""
    return store.read_cursor(_connection(db_key()))


@st.cache_data(max_entries=512, show_spinner=False)
def _cached_call(
    qualname: str, key: DbKey, args: tuple, kwargs: dict, _fn: Callable[..., Any]
) -> Any:
    # ``qualname`` keys the cache; ``_fn`` (leading underscore: not hashed) is the function
    # itself, so readers and tools follow the call edge instead of a name lookup.
    con = store.read_cursor(_connection(key))
    try:
        with journey.reading(con, fresh=_journey_fresh(key)):
            return _fn(con, *args, **kwargs)
    finally:
        con.close()


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn(cursor, *args, **kwargs)`` through the data cache, keyed on the db version.

    ``fn`` must be a module-level function of analysis/; its arguments must be hashable
    values (dates, strings, tuples, frozen dataclasses). Do not mutate what it returns.
    """
    name, key = f"{fn.__module__}.{fn.__qualname__}", db_key()
    try:
        _remember(name, key, fn, args, kwargs)
    except TypeError:  # unhashable arguments: the cache below says so clearly
        pass
    return _cached_call(name, key, args, kwargs, fn)


MISSING_DATABASE = (
    "No database at `{path}`. Create the demo history with `handoff generate` (or "
    "`make demo`), or import your own files with `handoff import`."
)


def require_database() -> DbKey:
    """The live database's key; stops the page with a clear message when it cannot be read.

    A missing file says how to make one; a file from a newer version (or not ours) says so.
    """
    try:
        key = db_key()
        _connection(key)
    except FileNotFoundError:
        st.error(MISSING_DATABASE.format(path=config.db_path()))
        st.stop()
    except store.SchemaError as exc:
        st.error(str(exc))
        st.stop()
    except OSError as exc:
        st.error(f"The database at `{config.db_path()}` cannot be read: {exc}")
        st.stop()
    return key
