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
    """(first call seconds, median of the following calls in seconds)."""
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    return cold, statistics.median(warm)


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
    """Time each dashboard page in headless chromium: first load (cold) and reload (warm)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import wait_for_app
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, serve_dashboard

    if not ctx.db.exists():
        print(f"no database {ctx.db}: run the generate section first")
        return
    with serve_dashboard(ctx.db, "bench_serve") as url:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            # Record the time of the last DOM change; a page is rendered when the app is
            # idle and nothing has changed for QUIET_MS. Its time is that last change.
            page.add_init_script(
                "window.__last = 0; new MutationObserver(() => "
                "{ window.__last = performance.now(); }).observe(document, "
                "{subtree: true, childList: true, attributes: true, characterData: true});"
            )

            def rendered() -> float:
                wait_for_app(page, timeout_ms=120_000)
                page.wait_for_function(
                    f"() => performance.now() - window.__last > {QUIET_MS} && "
                    "!document.querySelector('[data-testid=\"stStatusWidget\"]')",
                    timeout=180_000,
                    polling=100,
                )
                return page.evaluate("window.__last") / 1000

            for path in PAGE_PATHS:
                page.goto(url + path)
                cold = rendered()
                warm = []
                for _ in range(3):
                    page.reload()
                    warm.append(rendered())
                print(
                    f"page {path or '/':<14} cold {cold:6.2f} s, warm median "
                    f"{statistics.median(warm):6.2f} s (navigation to last change on screen)"
                )
            browser.close()


QUIET_MS = 2000
"""A page counts as rendered after this long without any change on screen."""

PAGE_PATHS: list[str] = ["/", "/funnel", "/sla", "/rejections", "/review", "/scoring", "/data"]
"""URL paths of the dashboard pages, as st.navigation names them."""


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
