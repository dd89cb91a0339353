"""Monthly review benchmark: the page, and a month change, in headless chromium.

One ``handoff serve`` (warming the review page, as a real serve does) is started on the
benchmark database; figures, in seconds:

- **ready**, **cold**, **warm** (median of 3 reloads), **head** (headline on the warm
  reloads: first metric and first chart/table) and **÷floor** (warm ÷ the floor page's
  warm, measured first in the same run), as :mod:`tests.bench.pages` measures them;
- **settled**: serve started → the background warm-up of the likely review months
  printed that it finished (``—`` for a server without it);
- per month change (picking a month in the Month box): **head**: the pick → the MQL tile
  shows the new month's number (nothing stale on it); **last**: the pick → the last change
  of the main area once the page is rendered. Three picks: a month before the default one
  (warmed in the background), one far back (not warmed) and back to the default month.

``BENCH_REVIEW_ROOT`` runs the server from another source tree (e.g. an export of an
older commit), for before/after figures in the same conditions.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.bench.pages import (
    FLOOR_ARGS,
    OBSERVER_JS,
    WAIT_MS,
    _headline,
    _measure,
    _rendered,
    wait_healthy,
)

SETTLED_LINE = "warmed the review of"
"""What the server prints (stderr) when the background month warm-up is done."""

TILE = "MQLs entered this month"

TILE_JS = """(label) => {
    const m = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stMetric"]')]
        .find(e => e.innerText.includes(label));
    if (!m || m.closest('[data-stale="true"]')) return null;
    const v = m.querySelector('[data-testid="stMetricValue"]');
    return v ? v.innerText : null;
}"""
"""The MQL tile's value when it is on screen and not stale, else null."""


@contextlib.contextmanager
def _serve(db: Path, root: Path, log: Path) -> Iterator[tuple[str, float, subprocess.Popen]]:
    """``handoff serve`` from ``root`` (stderr to ``log``); yield (URL, ready s, process)."""
    from tests.conftest import free_port

    port = free_port()
    env = {**os.environ, "HANDOFF_WARM_PAGES": "review", "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-m", "handoff", "serve", "--db", str(db.resolve()), "--port", str(port)]
    t0 = time.perf_counter()
    with log.open("w") as err:
        proc = subprocess.Popen(
            cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc, t0, cmd)
    try:
        yield url, time.perf_counter() - t0, proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


def _settled(log: Path, root: Path, started: float) -> float:
    """Seconds from serve start until the background month warm-up finished (NaN: none)."""
    if "warm_review_months" not in (root / "dashboard" / "warm.py").read_text():
        return math.nan
    while time.perf_counter() - started < WAIT_MS / 1000:
        if SETTLED_LINE in log.read_text(errors="replace"):
            return time.perf_counter() - started
        time.sleep(0.5)
    return math.nan


def _pick_month(page, label: str) -> tuple[float, float]:
    """Pick ``label`` (``August 2026``) in the Month box: (to the MQL tile, to the last change)."""
    before = page.evaluate(TILE_JS, TILE)
    box = page.get_by_test_id("stMain").get_by_test_id("stSelectbox").first
    box.click()
    page.keyboard.type(label)
    option = page.get_by_role("option", name=label, exact=False).first
    option.wait_for(timeout=WAIT_MS)
    page.evaluate("window.__t0 = performance.now(); window.__lastMain = 0")
    option.click()
    page.wait_for_function(
        f"""() => {{
            const v = ({TILE_JS})({TILE!r});
            if (v === null || v === {before!r}) return false;
            window.__head = performance.now(); return true;
        }}""",
        timeout=WAIT_MS,
        polling=50,
    )
    page.wait_for_function("() => window.__lastMain > window.__t0", timeout=WAIT_MS, polling=50)
    _rendered(page)
    head, last, t0 = page.evaluate("[window.__head, window.__lastMain, window.__t0]")
    return (head - t0) / 1000, (last - t0) / 1000


def _fmt(x: float) -> str:
    return f"{'—':>6}" if math.isnan(x) else f"{x:6.2f}"


def run(db: Path, root: Path | None = None) -> None:
    """Print the review page's figures and its month changes for the database ``db``."""
    from playwright.sync_api import sync_playwright

    from analysis import store
    from analysis.lifecycle import review as rv
    from tests.bench.pages import served
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    root = Path(root or os.environ.get("BENCH_REVIEW_ROOT") or Path(__file__).parents[2])
    con = store.connect_read_only(db)
    try:
        default = rv.default_month(con)
    finally:
        con.close()
    picks = [rv.add_months(default, -1), rv.add_months(default, -8), default]
    log = Path(tempfile.mkstemp(prefix="hh-review-bench-", suffix=".log")[1])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with served(FLOOR_ARGS) as (url, _):
            floor = _measure(browser, url, with_filter=False)["warm"]
        t_start = time.perf_counter()
        with _serve(db, root, log) as (url, ready, _):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_init_script(OBSERVER_JS)
            page = context.new_page()
            page.goto(url + "/review", timeout=WAIT_MS)
            cold = _rendered(page)
            warm, heads = [], []
            for _ in range(3):
                page.reload(timeout=WAIT_MS)
                warm.append(_rendered(page))
                heads.append(_headline(page))
            settled = _settled(log, root, t_start)
            changes = [(m, *_pick_month(page, rv.month_label(m))) for m in picks]
            context.close()
        browser.close()
    log.unlink(missing_ok=True)
    print(f"server from {root}")
    print(f"{'ready':>6} {'cold':>6} {'warm':>6} {'head':>6} {'÷floor':>6} {'settled':>7}")
    w = statistics.median(warm)
    print(
        f"{_fmt(ready)} {_fmt(cold)} {_fmt(w)} {_fmt(statistics.median(heads))} "
        f"{_fmt(w / floor)} {_fmt(settled):>7}  (floor warm {floor:.2f} s)"
    )
    print("month change      head   last")
    kinds = {picks[0]: "warmed", picks[1]: "not warmed", picks[2]: "default"}
    for m, head, last in changes:
        print(f"{m:%Y-%m} {kinds[m]:<10} {_fmt(head)} {_fmt(last)}")


def bench(ctx) -> None:
    """`make bench` section: the review page and month changes (``BENCH_SECTIONS=review``)."""
    if not ctx.db.exists():
        print(f"no database {ctx.db}: run the generate section first")
        return
    run(ctx.db)


if __name__ == "__main__":
    run(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
