"""Benchmark sections, in the order `make bench` runs them."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Context:
    """What every section gets: history size, a work folder, a child-process runner."""

    leads: int
    workdir: Path
    run_child: Callable[[list[str]], tuple[float, float]]

    @property
    def db(self) -> Path:
        """The benchmark database at the requested size (made by the generate section)."""
        return self.workdir / f"bench-{self.leads}.duckdb"


def timed(fn: Callable[[], object], repeat: int = 5) -> tuple[float, float]:
    """(first call seconds, median of the following calls in seconds; the first when none)."""
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    return cold, statistics.median(warm) if warm else cold


def generate(ctx: Context) -> None:
    """Generate the demo history at 50k leads and at the benchmark size."""
    for n in sorted({50_000, ctx.leads}):
        path = ctx.workdir / f"bench-{n}.duckdb"
        if path.exists():
            path.unlink()
        seconds, rss = ctx.run_child(
            ["-m", "handoff", "generate", "--db", str(path), "--leads", str(n)]
        )
        size = path.stat().st_size / 2**20
        print(
            f"generate {n:>9,} leads: {seconds:6.1f} s, peak RSS {rss:7.0f} MiB, "
            f"file {size:.0f} MiB"
        )


def pages(ctx: Context) -> None:
    """Each dashboard page in headless chromium beside the floor page (:mod:`tests.bench.pages`).

    ``BENCH_PAGES`` (comma list of URL paths, e.g. ``/,/funnel``) limits the pages.
    """
    import os

    from tests.bench import memory
    from tests.bench import pages as bench_pages

    if not ctx.db.exists():
        print(f"no database {ctx.db}: run the generate section first")
        return
    chosen = [p for p in os.environ.get("BENCH_PAGES", "").split(",") if p]
    memory.gc_pause(ctx.db, Path(__file__).resolve().parents[2])
    bench_pages.run(ctx.db, chosen or None)


def import_(ctx: Context) -> None:
    """Export leads and touchpoints of the benchmark database to CSV and import them fresh."""
    import duckdb

    from analysis.imports import ingest

    if not ctx.db.exists():
        print(f"no database {ctx.db}: run the generate section first")
        return
    folder = ctx.workdir / "import"
    folder.mkdir(exist_ok=True)
    con = duckdb.connect(str(ctx.db), read_only=True)
    rows = 0
    for table in ("leads", "touchpoints"):
        con.execute(f"COPY {table} TO '{folder / (table + '.csv')}' (HEADER)")
        rows += con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    con.close()
    target = folder / "imported.duckdb"
    target.unlink(missing_ok=True)
    t0 = time.perf_counter()
    result = ingest.import_files(target, [folder / "leads.csv", folder / "touchpoints.csv"])
    seconds = time.perf_counter() - t0
    print(
        f"import leads+touchpoints CSV: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} "
        f"rows/s ({len(result.refused):,} refused)"
    )
    t0 = time.perf_counter()
    ingest.import_files(target, [folder / "leads.csv", folder / "touchpoints.csv"])
    seconds = time.perf_counter() - t0
    print(f"re-import (every row upserted): {seconds:.1f} s = {rows / seconds:,.0f} rows/s")


def import_memory(ctx: Context) -> None:
    """Peak RSS and wall time of importing a large leads CSV (``BENCH_IMPORT_ROWS``)."""
    from tests.bench import memory

    memory.run(ctx.workdir, Path(__file__).resolve().parents[2])


def scoring(ctx: Context) -> None:
    """Scoring lab: feature build, fit, what-if recompute, slider update in the browser."""
    from tests.bench import scoring as bench_scoring

    bench_scoring.run(ctx)


def analysis(ctx: Context) -> None:
    """Analysis functions cold and warm, and the DuckDB/pandas ratio."""
    from tests.bench import analysis as bench_analysis

    bench_analysis.run(ctx)


def spark(ctx: Context) -> None:
    """Headline metrics on DuckDB vs Spark local[2] at BENCH_SPARK_LEADS (not in `make bench`)."""
    from tests.bench import spark as bench_spark

    bench_spark.run(ctx)


SECTIONS: dict[str, Callable[[Context], None]] = {
    "generate": generate,
    "import": import_,
    "import-memory": import_memory,
    "analysis": analysis,
    "scoring": scoring,
    "pages": pages,
    "spark": spark,
}
