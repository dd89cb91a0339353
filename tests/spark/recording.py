"""A DuckDB connection that writes down every SQL statement sent through it.

Wraps a real connection (no mocking): each ``execute`` / ``sql`` runs on DuckDB as usual
and its text and parameters are kept, so a test can replay every statement the engine
runs on another engine.
"""

from __future__ import annotations

from typing import Any


class RecordingConnection:
    """Pass-through to a DuckDB connection that appends ``(sql, params)`` to ``log``."""

    def __init__(self, con: Any, log: list[tuple[str, Any]] | None = None) -> None:
        self._con = con
        self.log: list[tuple[str, Any]] = [] if log is None else log

    def execute(self, sql: str, params: Any = None) -> Any:
        self.log.append((sql, params))
        self._con.execute(sql, params) if params is not None else self._con.execute(sql)
        return self

    def sql(self, sql: str, params: Any = None) -> Any:
        self.log.append((sql, params))
        return self._con.sql(sql, params=params)

    def cursor(self) -> RecordingConnection:
        from analysis import store

        return RecordingConnection(store.read_cursor(self._con), self.log)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)
