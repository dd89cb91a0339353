"""A Spark connection with the small surface the engine uses of a DuckDB connection.

The analysis functions take a connection and call ``execute(sql, params)`` then
``.df()`` / ``.fetchall()`` / ``.fetchone()`` / ``.fetchnumpy()``, ``sql(sql, params)``
then ``.to_arrow_table()`` / ``.df()``, ``cursor()``, ``register`` / ``unregister`` and
``close()``. :class:`SparkConnection` offers exactly that over a Spark session whose
temporary views are the Parquet tables of a source directory, so every function of
analysis/ runs unchanged on Spark: the SQL goes through :func:`dialect.to_spark`, the
work runs on the cluster (or ``local[2]``), and only the result (aggregates, or the
feature matrix's columns) comes back, through Arrow.

Results are shaped like DuckDB's: DECIMAL columns (Spark types ``0.5`` as DECIMAL) come
back as float64, timestamps as naive UTC ``datetime64[us]``, NULL integers in ``df()`` as
float NaN the way DuckDB's pandas conversion gives them. Errors are raised as
``duckdb.Error`` subclasses (a missing table as ``duckdb.CatalogException``) so callers'
existing handling applies; the message carries Spark's first line.
"""

from __future__ import annotations

import threading
import zoneinfo
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.engines import dialect, parquet

DEFAULT_MASTER = "local[2]"

_LOCK = threading.Lock()
_SESSIONS: dict[str, Any] = {}


class SparkQueryError(duckdb.Error):
    """A statement Spark refused or failed; the message has Spark's reason and the SQL."""


def session(master: str | None = None) -> Any:
    """The process's Spark session for ``master`` (started once; ~10-20 s in local mode).

    ``sc://host:port`` connects to a Spark Connect server (needs ``pyspark[connect]``);
    anything else is a master URL (``local[2]``, ``spark://host:7077``, ``yarn``). The
    session time zone is UTC so timestamps read as DuckDB reads them; the web UI is off.
    """
    from pyspark.sql import SparkSession

    master = master or DEFAULT_MASTER
    with _LOCK:
        if master in _SESSIONS:
            return _SESSIONS[master]
        if master.startswith("sc://"):
            builder = SparkSession.builder.remote(master)
        else:
            builder = (
                SparkSession.builder.master(master)
                .appName("handoff-health")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config(
                    "spark.sql.shuffle.partitions", "2" if master.startswith("local") else "200"
                )
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                .config("spark.driver.extraJavaOptions", "-Dderby.system.home=/tmp")
            )
        builder = builder.config("spark.sql.session.timeZone", "UTC")
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR") if hasattr(spark, "sparkContext") else None
        _SESSIONS[master] = spark
        return spark


def time_columns(table: str) -> list[str]:
    """Columns of ``table`` whose DuckDB type is TIME (exported as ``HH:MM:SS`` text)."""
    from analysis.store import TABLES

    spec = TABLES.get(table)
    return [c.name for c in spec.columns if c.type.upper() == "TIME"] if spec else []


def _time_of_day(column: Any) -> Any:
    """A TIME value as a timestamp on 1970-01-01.

    Its epoch() is then seconds since midnight, as DuckDB's epoch(TIME) is.
    """
    from pyspark.sql import functions as F  # noqa: N812

    return F.to_timestamp(F.concat(F.lit("1970-01-01 "), column))


def _normalise(table: pa.Table) -> pa.Table:
    """DECIMAL -> float64, zoned timestamps -> naive UTC microseconds (as DuckDB gives)."""
    cols = []
    for col, field in zip(table.columns, table.schema, strict=True):
        t = field.type
        if pa.types.is_decimal(t):
            col = pc.cast(col, pa.float64())
        elif pa.types.is_timestamp(t) and (t.tz is not None or t.unit != "us"):
            col = pc.cast(col, pa.timestamp("us", tz="UTC")) if t.tz else col
            col = pc.cast(col, pa.timestamp("us"))
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def _numpy(col: pa.ChunkedArray) -> np.ndarray:
    """A column as DuckDB's fetchnumpy gives it: masked where NULL, numbers keep their type."""
    t = col.type
    mask = col.is_null().to_numpy(zero_copy_only=False) if col.null_count else None
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        values = np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
    elif mask is not None and (pa.types.is_integer(t) or pa.types.is_boolean(t)):
        fill = pa.scalar(False if pa.types.is_boolean(t) else 0, type=t)
        values = pc.fill_null(col, fill).to_numpy(zero_copy_only=False)
    else:
        values = col.to_numpy(zero_copy_only=False)
    return np.ma.masked_array(values, mask=mask) if mask is not None else values


class _Result:
    """One statement's result, read the ways DuckDB results are read."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def to_arrow_table(self) -> pa.Table:
        return self.table

    def df(self) -> pd.DataFrame:
        return self.table.to_pandas(types_mapper=None, date_as_object=False)

    fetchdf = df

    def fetchall(self) -> list[tuple]:
        cols = [c.to_pylist() for c in self.table.columns]
        return list(zip(*cols, strict=True)) if cols else []

    def fetchone(self) -> tuple | None:
        rows = self.fetchall()
        return rows[0] if rows else None

    def fetchnumpy(self) -> dict[str, np.ndarray]:
        return {
            name: _numpy(col)
            for name, col in zip(self.table.column_names, self.table.columns, strict=True)
        }


class SparkConnection:
    """DuckDB-connection look-alike over the Parquet tables of one snapshot, run by Spark.

    Parameters
    ----------
    source : path
        A Parquet source directory (:mod:`analysis.engines.parquet`); its live snapshot is
        resolved once, here, so this connection reads one consistent version.
    master : str, optional
        Spark master URL or Spark Connect address; ``local[2]`` by default.
    """

    def __init__(self, source: Path | str, master: str | None = None, *, _parent: Any = None):
        if _parent is not None:
            self._spark, self.snapshot, self.tables = _parent
        else:
            self.snapshot = parquet.current_snapshot(source)
            base = session(master)
            try:
                self._spark = base.newSession()  # own temporary views, shared cluster
            except Exception:  # noqa: BLE001 - Spark Connect has no newSession
                self._spark = base
            self.tables = parquet.table_paths(self.snapshot)
            for name, path in self.tables.items():
                frame = self._spark.read.parquet(str(path))
                for col in time_columns(name):
                    if col in frame.columns:  # 'HH:MM:SS' -> that time on 1970-01-01
                        frame = frame.withColumn(col, _time_of_day(frame[col]))
                frame.createOrReplaceTempView(name)
            zones = sorted(zoneinfo.available_timezones())
            self._spark.createDataFrame(
                [(z,) for z in zones], "name string"
            ).createOrReplaceTempView(dialect.TIMEZONES_VIEW)
        self.source = Path(source)
        self._last: _Result | None = None
        self.statements = 0

    # -- the DuckDB surface ------------------------------------------------------------
    def execute(self, sql: str, params: Any = None) -> SparkConnection:
        """Run ``sql`` (DuckDB dialect) with ``params`` bound; read it with df()/fetch*()."""
        self._last = self._run(sql, params)
        return self

    def sql(self, sql: str, params: Any = None) -> _Result:
        """Run ``sql`` and return its result (``to_arrow_table()``, ``df()``, ``fetchall()``)."""
        return self._run(sql, params)

    def df(self) -> pd.DataFrame:
        """The last result as a pandas frame."""
        return self._result().df()

    fetchdf = df

    def fetchall(self) -> list[tuple]:
        """The last result's rows as tuples."""
        return self._result().fetchall()

    def fetchone(self) -> tuple | None:
        """The last result's first row, None when it has none."""
        return self._result().fetchone()

    def fetchnumpy(self) -> dict[str, np.ndarray]:
        """The last result's columns as numpy arrays (masked where NULL)."""
        return self._result().fetchnumpy()

    def cursor(self) -> SparkConnection:
        """A connection of its own on the same session and views (one per thread)."""
        return SparkConnection(self.source, _parent=(self._spark, self.snapshot, self.tables))

    def register(self, name: str, frame: Any) -> SparkConnection:
        """Make a pandas frame (or Arrow table) queryable as view ``name``."""
        if isinstance(frame, pa.Table):
            frame = frame.to_pandas()
        self._spark.createDataFrame(frame).createOrReplaceTempView(name)
        return self

    def unregister(self, name: str) -> SparkConnection:
        """Drop the view :meth:`register` made."""
        self._spark.catalog.dropTempView(name)
        return self

    def close(self) -> None:
        """Forget the last result; the shared session stays up for other connections."""
        self._last = None

    def analyse(self, sql: str, params: Any = None) -> list[str]:
        """Translate and let Spark analyse ``sql`` without running it; its column names.

        Spark resolves every table, column, function and type when a query is analysed,
        so this checks a statement as the real run would, at a fraction of the cost.
        """
        text = dialect.to_spark(sql, params, tuple(self.tables))
        try:
            return list(self._spark.sql(text).columns)
        except Exception as exc:  # noqa: BLE001 - py4j / Spark errors have no common base
            raise SparkQueryError(
                f"Spark: {str(exc).strip()[:400]}\n-- Spark SQL:\n{text}"
            ) from exc

    # -- internals ---------------------------------------------------------------------
    def _result(self) -> _Result:
        if self._last is None:
            raise SparkQueryError("no statement has been executed on this connection")
        return self._last

    def _run(self, sql: str, params: Any) -> _Result:
        if sql.strip().rstrip(";").strip().upper().startswith("USE "):
            return _Result(pa.table({}))  # read_cursor's USE: the views are the database
        try:
            text = dialect.to_spark(sql, params, tuple(self.tables))
        except Exception as exc:  # noqa: BLE001 - a parse error is the query's fault
            raise SparkQueryError(f"cannot translate for Spark: {exc}\n{sql}") from exc
        self.statements += 1
        try:
            frame = self._spark.sql(text)
            table = frame.toArrow()
        except Exception as exc:  # noqa: BLE001 - py4j / Spark errors have no common base
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            cls = (
                duckdb.CatalogException if "TABLE_OR_VIEW_NOT_FOUND" in message else SparkQueryError
            )
            raise cls(f"Spark: {message}\n-- Spark SQL:\n{text}") from exc
        return _Result(_normalise(table))
