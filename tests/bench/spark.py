"""Benchmark: the headline metrics (``handoff metrics --json``) on DuckDB and on Spark.

For each size in ``BENCH_SPARK_LEADS`` (comma list, default ``1000000,10000000``): generate
the demo history (24 months, in a child process), export it as Parquet (``handoff
export``), then time :func:`analysis.lifecycle.metrics.headline` on the DuckDB file and on
Spark ``local[2]`` over the Parquet copy. "Cold" is the first call on a fresh connection
(Spark: the session is already up, its start is printed apart); "warm" the median of the
next ``BENCH_SPARK_REPEAT`` calls (default 2). The ratio is Spark warm / DuckDB warm.
"""

from __future__ import annotations

import os
import time

from analysis import store
from analysis.engines import parquet
from analysis.lifecycle import metrics
from tests.bench.sections import Context, timed


def run(ctx: Context) -> None:
    """Print, per size: generate/export seconds, headline cold/warm on both engines, ratio."""
    from analysis.engines import spark

    if "spark" not in os.environ.get("BENCH_SECTIONS", "").split(","):
        print("skipped (Spark at 1M/10M leads takes long): run `make bench-spark`")
        return
    sizes = [int(s) for s in os.environ.get("BENCH_SPARK_LEADS", "1000000,10000000").split(",")]
    repeat = int(os.environ.get("BENCH_SPARK_REPEAT", "2"))
    master = os.environ.get("BENCH_SPARK_MASTER", "local[2]")
    t0 = time.perf_counter()
    spark.session(master)
    print(f"spark session {master}: started in {time.perf_counter() - t0:.1f} s")
    rows = []
    for n in sizes:
        db = ctx.workdir / f"bench-{n}.duckdb"
        if not db.exists():
            seconds, rss = ctx.run_child(
                ["-m", "handoff", "generate", "--db", str(db), "--leads", str(n)]
            )
            print(f"generate {n:>11,} leads: {seconds:7.1f} s (peak RSS {rss:,.0f} MiB)")
        directory = ctx.workdir / f"bench-{n}.parquet"
        t0 = time.perf_counter()
        _snap, counts = parquet.export(db, directory)
        print(
            f"export   {n:>11,} leads: {time.perf_counter() - t0:7.1f} s "
            f"({counts.get('touchpoints', 0):,} touchpoints)"
        )
        duck = store.connect_read_only(db)
        d_cold, d_warm = timed(lambda c=duck: metrics.headline(c, None, None), repeat)
        duck.close()
        t0 = time.perf_counter()
        con = spark.SparkConnection(directory, master)
        views = time.perf_counter() - t0
        s_cold, s_warm = timed(lambda c=con: metrics.headline(c, None, None), repeat)
        rows.append((n, d_cold, d_warm, views, s_cold, s_warm))
    print()
    head = ["leads", "DuckDB cold s", "DuckDB warm s", "Spark views s", "Spark cold s"]
    head += ["Spark warm s", "Spark/DuckDB (warm)"]
    print("| " + " | ".join(head) + " |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, d_cold, d_warm, views, s_cold, s_warm in rows:
        print(
            f"| {n:,} | {d_cold:.2f} | {d_warm:.2f} | {views:.1f} | {s_cold:.1f} | {s_warm:.1f} "
            f"| {s_warm / d_warm:.0f}x |"
        )
