"""Where the queries run: the embedded DuckDB file (default) or Apache Spark over Parquet.

Every analysis function takes a connection and sends it DuckDB SQL. With the DuckDB
engine that connection is :func:`analysis.store.connect_read_only`'s. With the Spark
engine it is :class:`analysis.engines.spark.SparkConnection`, which offers the same small
surface (``execute`` / ``df`` / ``fetchall`` / ``fetchone`` / ``fetchnumpy`` / ``sql`` /
``cursor`` / ``register``) over the Parquet tables of a source directory
(:mod:`analysis.engines.parquet`), translating each statement with
:mod:`analysis.engines.dialect`. Only results travel back to this process.

The engine is chosen by configuration: ``$HANDOFF_ENGINE`` (``duckdb`` or ``spark``) and,
for Spark, ``$HANDOFF_SPARK_MASTER`` (a master URL such as ``spark://host:7077`` or a
Spark Connect address ``sc://host:15002``; ``local[2]`` by default). The path is the
usual database path (``--db`` / ``$HANDOFF_DB``), which for Spark is the Parquet
directory. ``handoff ... --engine spark --source DIR [--spark-master URL]`` sets them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENGINE_ENV = "HANDOFF_ENGINE"
MASTER_ENV = "HANDOFF_SPARK_MASTER"
ENGINES = ("duckdb", "spark")
SPARK_READ_ONLY = (
    "This dashboard reads a Parquet history through Spark, so it cannot write from the "
    "browser: import with `handoff import --parquet DIR FILE...`, which writes a new "
    "snapshot and switches to it atomically."
)
"""Why writes stay off on the Spark engine (shown where a write widget would be)."""


def engine() -> str:
    """The configured engine: ``$HANDOFF_ENGINE``, ``duckdb`` when unset.

    Raises ValueError for any other value.
    """
    name = os.environ.get(ENGINE_ENV, "").strip().lower() or "duckdb"
    if name not in ENGINES:
        raise ValueError(f"{ENGINE_ENV} must be one of {', '.join(ENGINES)}, got {name!r}")
    return name


def spark_master() -> str | None:
    """``$HANDOFF_SPARK_MASTER`` or None (then ``local[2]``)."""
    return os.environ.get(MASTER_ENV, "").strip() or None


def connect_read_only(path: Path | str) -> Any:
    """A read-only connection on ``path`` through the configured engine.

    DuckDB: :func:`analysis.store.connect_read_only` (a database file). Spark: a
    :class:`~analysis.engines.spark.SparkConnection` on the Parquet directory ``path``;
    FileNotFoundError when it holds no history, RuntimeError when pyspark is missing.
    """
    if engine() == "duckdb":
        from analysis.store import connect_read_only as duck

        return duck(path)
    from analysis.engines import parquet

    parquet.current_snapshot(path)  # fail fast, before starting Spark
    try:
        from analysis.engines.spark import SparkConnection
    except ImportError as exc:
        raise RuntimeError(
            f"the Spark engine needs pyspark and sqlglot: pip install 'handoff-health[spark]' "
            f"({exc})"
        ) from exc
    return SparkConnection(path, spark_master())
