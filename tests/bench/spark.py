"""Benchmark: the headline metrics (``handoff metrics --json``) on DuckDB and on Spark.

For each size in ``BENCH_SPARK_LEADS`` (comma list, default ``1000000,10000000``): generate
the demo history (24 months, in a child process) unless ``BENCH_DIR`` already holds
``bench-N.duckdb``, export it as Parquet (``handoff export``; an export newer than the
database is reused), then time :func:`analysis.lifecycle.metrics.headline` on the DuckDB
file and on Spark ``local[2]`` over the Parquet copy. "Cold" is the first call on a fresh
connection (Spark: the session is already up, its start is printed apart); "warm" the
median of the next ``BENCH_SPARK_REPEAT`` calls (default 2). The ratio is Spark warm /
DuckDB warm. The machine's 1-minute load average is printed beside every figure (the
cores are shared: a figure means little without it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from analysis import store
from analysis.engines import parquet
from analysis.lifecycle import metrics
from tests.bench.sections import Context, timed

HEAD = [
    "leads",
    "touchpoints",
    "DuckDB cold s",
    "DuckDB warm s",
    "load",
    "Spark views s",
    "Spark cold s",
    "Spark warm s",
    "load",
    "Spark/DuckDB (warm)",
]


def load() -> float:
    """The machine's 1-minute load average."""
    return os.getloadavg()[0]


def _parquet(db: Path, directory: Path, n: int) -> int:
    """Export ``db`` to ``directory`` unless a newer export is there; touchpoints written
    (0 when reused)."""
    current = directory / "CURRENT"
    if current.exists() and current.stat().st_mtime > db.stat().st_mtime:
        print(f"export   {n:>11,} leads: reused {directory}")
        return 0
    t0, l0 = time.perf_counter(), load()
    _snap, counts = parquet.export(db, directory)
    print(
        f"export   {n:>11,} leads: {time.perf_counter() - t0:7.1f} s "
        f"({counts.get('touchpoints', 0):,} touchpoints; load {l0:.1f} -> {load():.1f})",
        flush=True,
    )
    return counts.get("touchpoints", 0)


def _one_size(ctx: Context, n: int, master: str, repeat: int) -> tuple:
    """Generate (when missing) and export size ``n``, then time both engines: one row."""
    from analysis.engines import spark

    db = ctx.workdir / f"bench-{n}.duckdb"
    if not db.exists():
        seconds, rss = ctx.run_child(
            ["-m", "handoff", "generate", "--db", str(db), "--leads", str(n)]
        )
        print(f"generate {n:>11,} leads: {seconds:7.1f} s (peak RSS {rss:,.0f} MiB)")
    touchpoints = _parquet(db, ctx.workdir / f"bench-{n}.parquet", n)
    duck = store.connect_read_only(db)
    if not touchpoints:
        (touchpoints,) = duck.execute("SELECT count(*) FROM touchpoints").fetchone()
    l0 = load()
    d_cold, d_warm = timed(lambda c=duck: metrics.headline(c, None, None), repeat)
    d_load = max(l0, load())
    duck.close()
    print(f"duckdb   {n:>11,} leads: cold {d_cold:.2f} s, warm {d_warm:.2f} s (load {d_load:.1f})")
    t0, l0 = time.perf_counter(), load()
    con = spark.SparkConnection(ctx.workdir / f"bench-{n}.parquet", master)
    views = time.perf_counter() - t0
    s_cold, s_warm = timed(lambda c=con: metrics.headline(c, None, None), repeat)
    s_load = max(l0, load())
    print(f"spark    {n:>11,} leads: cold {s_cold:.1f} s, warm {s_warm:.1f} s (load {s_load:.1f})")
    return (n, touchpoints, d_cold, d_warm, d_load, views, s_cold, s_warm, s_load)


def run(ctx: Context) -> None:
    """Print, per size: generate/export seconds, headline cold/warm on both engines, ratio."""
    from analysis.engines import spark

    if "spark" not in os.environ.get("BENCH_SECTIONS", "").split(","):
        print("skipped (Spark at 1M/10M leads takes long): run `make bench-spark`")
        return
    sizes = [int(s) for s in os.environ.get("BENCH_SPARK_LEADS", "1000000,10000000").split(",")]
    repeat = int(os.environ.get("BENCH_SPARK_REPEAT", "2"))
    master = os.environ.get("BENCH_SPARK_MASTER", "local[2]")
    t0, l0 = time.perf_counter(), load()
    spark.session(master)
    print(f"spark session {master}: started in {time.perf_counter() - t0:.1f} s (load {l0:.1f})")
    rows = [_one_size(ctx, n, master, repeat) for n in sizes]
    print()
    print("| " + " | ".join(HEAD) + " |")
    print("|" + "---:|" * len(HEAD))
    for n, tps, d_cold, d_warm, d_load, views, s_cold, s_warm, s_load in rows:
        print(
            f"| {n:,} | {tps:,} | {d_cold:.2f} | {d_warm:.2f} | {d_load:.1f} | {views:.1f} "
            f"| {s_cold:.1f} | {s_warm:.1f} | {s_load:.1f} | {s_warm / d_warm:.1f}x |"
        )
