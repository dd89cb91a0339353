"""Page benchmark: each dashboard page in headless chromium, beside a floor page.

For every page (found by URL path) a fresh ``handoff serve`` is started, so the first
visit is the first after serve, as a user meets it. Figures, in seconds from navigation:

- **cold**: the first visit, until the page is rendered (:data:`RENDERED_JS`: no status
  widget, nothing stale, every chart drawn and table filled, then :data:`QUIET_MS` without
  any DOM change; the time is that last change), in a browser that never loaded the app;
- **cold, cached** (``cc.head`` / ``c.cach``): the first visit after another fresh serve, from a
  browser that already holds the app's static files (as a returning user's does after a
  restart or an import), headline and whole page;
- **warm**: the median of three reloads, the same way;
- **headline**: on the warm reloads, when the first metric value and the first drawn chart
  or filled table are both on the main area (only what the page has: a page without
  metrics waits for its first chart or table);
- **after filter**: picking one value of the sidebar's first multiselect (the source
  filter), from the click to the last change of the main area;
- **filter → headline** (``f.head``): from the same click until the first metric card of
  the main area shows another text than before it (the headline updated);
- **÷ floor**: warm whole page ÷ the floor page's warm time in the same run
  (:mod:`tests.bench.floor_app`: 6 plotly line charts and 3 small tables, no data);
- **÷ beside**: warm whole page ÷ the floor page reloaded in another tab right after each
  of the page's warm reloads (``fl.bes``, the median): the two are measured in the same
  minute, so the ratio does not move when the machine gets busier or quieter during the
  run (the floor's own reload moved by 20% between runs).

Then one more server visits every page in turn and the peak resident memory (``VmHWM``)
of its process tree is printed.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

QUIET_MS = 1000
"""A page counts as rendered after this long without any DOM change."""

WAIT_MS = 180_000
"""Ceiling of every wait (a slow page only makes the run slower)."""

FILTER_WAIT_MS = 30_000
"""Ceiling of the wait for a filter change to reach the main area (else "no change")."""

PAGE_PATHS: list[str] = ["/", "/funnel", "/sla", "/rejections", "/review", "/scoring", "/data"]
"""URL paths of the dashboard pages, as st.navigation names them."""

OBSERVER_JS = """
window.__last = 0; window.__lastMain = 0; window.__metric = null; window.__visual = null;
window.__headBefore = null; window.__headChanged = null;
const inMain = (n) => { const m = document.querySelector('[data-testid="stMain"]');
    return m && n && m.contains(n.nodeType === 1 ? n : n.parentNode); };
const check = () => {
    const main = document.querySelector('[data-testid="stMain"]');
    if (!main) return;
    const first = main.querySelector('[data-testid="stMetricValue"]');
    if (window.__metric === null && first) window.__metric = performance.now();
    if (window.__headBefore !== null && window.__headChanged === null && first
        && first.textContent !== window.__headBefore)
        window.__headChanged = performance.now();
    if (window.__visual === null) {
        const chart = main.querySelector('[data-testid="stPlotlyChart"] .main-svg');
        const grid = [...main.querySelectorAll('[data-testid="stDataFrame"]')]
            .some(g => g.querySelectorAll('[role="row"]').length >= 2);
        const table = main.querySelector('[data-testid="stTable"] td');
        if (chart || grid || table) window.__visual = performance.now();
    }
};
new MutationObserver((records) => {
    const now = performance.now();
    window.__last = now;
    if (records.some(r => inMain(r.target))) window.__lastMain = now;
    check();
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
"""Init script: time of the last DOM change (anywhere, and in the main area) and of the
first metric value and first drawn chart or filled table in the main area; after a filter
pick (``__headBefore`` holds the first metric's text before it), the time the first
metric shows another text (``__headChanged``)."""

RENDERED_JS = f"""() => {{
    if (!document.querySelector('[data-testid="stApp"]')) return false;
    if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
    if (document.querySelector('[data-stale="true"]')) return false;
    for (const g of document.querySelectorAll('[data-testid="stDataFrame"]')) {{
        if (g.checkVisibility() && g.querySelectorAll('[role="row"]').length < 2) return false;
    }}
    for (const c of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {{
        if (!c.querySelector('.main-svg')) return false;
    }}
    if (document.querySelectorAll('[data-testid="stMainBlockContainer"] *').length <= 5)
        return false;
    return performance.now() - window.__last > {QUIET_MS};
}}"""
"""Whether the page is rendered: idle, nothing stale, charts drawn, tables filled, quiet."""


FLOOR_ARGS: list[str] = [
    "-m",
    "streamlit",
    "run",
    str(Path(__file__).resolve().parent / "floor_app.py"),
    "--server.headless",
    "true",
    "--server.address",
    "127.0.0.1",
    "--browser.gatherUsageStats",
    "false",
    # served like the dashboard (``handoff serve``): no scan of the loaded modules' paths
    # at each new browser session
    "--server.fileWatcherType",
    "none",
]
"""Arguments of ``python`` that serve the floor page (:mod:`tests.bench.floor_app`)."""


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc/<pid>/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return out


def peak_rss_mib(pid: int) -> float:
    """Sum of the peak resident memory (``VmHWM``) of ``pid``'s process tree, in MiB."""
    total = 0
    for p in _tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    return total / 1024


def wait_healthy(url: str, proc: subprocess.Popen, t0: float, cmd: list[str]) -> None:
    """Poll the server's health check until it answers; fail when it died or took longer
    than :data:`WAIT_MS` since ``t0`` (``cmd`` names it in the error)."""
    while True:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return
        if proc.poll() is not None or time.perf_counter() - t0 > WAIT_MS / 1000:
            proc.kill()
            raise RuntimeError(f"server did not start: {' '.join(cmd)}")
        time.sleep(0.2)


@contextlib.contextmanager
def served(
    args: list[str], env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[tuple[str, int]]:
    """Run a server (``python args... --server.port N`` or ``handoff serve --port N``) on
    ``port`` (default a free one); yield (URL, pid) once its health check answers."""
    from tests.conftest import free_port

    port = port or free_port()
    cmd = [sys.executable, *args, "--port" if "handoff" in args else "--server.port", str(port)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc, t0, cmd)
    ready = time.perf_counter() - t0
    try:
        yield url, proc.pid
    finally:
        served.last_ready = ready  # type: ignore[attr-defined]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


def _rendered(page) -> float:
    """Wait until rendered; seconds from navigation to the last DOM change."""
    page.wait_for_function(RENDERED_JS, timeout=WAIT_MS, polling=100)
    return page.evaluate("window.__last") / 1000


def _headline(page) -> float:
    """Seconds from navigation to the headline (first metric and first chart/table)."""
    metric, visual = page.evaluate("[window.__metric, window.__visual]")
    found = [t for t in (metric, visual) if t is not None]
    return max(found) / 1000 if found else math.nan


def _after_filter(page) -> tuple[float, float]:
    """Seconds from picking a value of the sidebar's first multiselect to the last change
    of the main area, and to the first metric card showing another number; NaN when the
    page has no such filter, no card, or nothing changed."""
    nan = (math.nan, math.nan)
    box = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").first
    if box.count() == 0:
        return nan
    box.click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=WAIT_MS)
    # options are shown in words ("Paid search"); a "Select all" entry may come first
    names = [o.strip().lower().replace(" ", "_") for o in options.all_inner_texts()]
    real = [i for i, n in enumerate(names) if not n.startswith("select_all")]
    pick = names.index("paid_search") if "paid_search" in names else real[0]
    choice = options.nth(pick)
    t0 = page.evaluate(
        "() => { const m = document.querySelector("
        '\'[data-testid="stMain"] [data-testid="stMetricValue"]\');'
        " window.__headBefore = m ? m.textContent : null; window.__headChanged = null;"
        " return window.__t0 = performance.now(); }"
    )
    choice.click()
    page.keyboard.press("Escape")
    try:
        page.wait_for_function(
            "() => window.__lastMain > window.__t0", timeout=FILTER_WAIT_MS, polling=50
        )
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError: the page did not react
        return nan
    _rendered(page)
    last, head = page.evaluate("[window.__lastMain, window.__headChanged]")
    return (last - t0) / 1000, (head - t0) / 1000 if head is not None else math.nan


def _context(browser):  # noqa: ANN001, ANN202 - playwright objects
    """A new browser context of the bench's window size, with :data:`OBSERVER_JS`."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(OBSERVER_JS)
    return context


def _opened(browser, url: str):  # noqa: ANN001, ANN202 - playwright objects
    """A tab in a new browser context on ``url``, rendered once (the tab is returned)."""
    page = _context(browser).new_page()
    page.goto(url, timeout=WAIT_MS)
    _rendered(page)
    return page


def _measure(browser, url: str, with_filter: bool, floor=None) -> dict[str, float]:  # noqa: ANN001
    """Cold, warm (median of 3), headline (median of the warm ones), after filter.

    ``floor`` (a tab on the floor page) is reloaded after each warm reload of the page:
    ``floor_beside`` is the median of those, measured in the same minute as the page.
    """
    context = _context(browser)
    page = context.new_page()
    try:
        page.goto(url, timeout=WAIT_MS)
        cold = _rendered(page)
        cold_head = _headline(page)
        warm, heads, beside = [], [], []
        for _ in range(3):
            page.reload(timeout=WAIT_MS)
            warm.append(_rendered(page))
            heads.append(_headline(page))
            if floor is not None:
                floor.reload(timeout=WAIT_MS)
                beside.append(_rendered(floor))
        after, after_head = _after_filter(page) if with_filter else (math.nan, math.nan)
    finally:
        context.close()
    return {
        "cold": cold,
        "cold_headline": cold_head,
        "warm": statistics.median(warm),
        "floor_beside": statistics.median(beside) if beside else math.nan,
        "headline": statistics.median(heads),
        "after_filter": after,
        "filter_headline": after_head,
    }


def _cached_cold(context, url: str) -> tuple[float, float]:
    """Whole page and headline of a first visit in ``context`` (whose cache already holds
    the app's static files): seconds from navigation."""
    page = context.new_page()
    try:
        page.goto(url, timeout=WAIT_MS)
        return _rendered(page), _headline(page)
    finally:
        page.close()


def _fmt(x: float, width: int = 6) -> str:
    return f"{'—':>{width}}" if math.isnan(x) else f"{x:{width}.2f}"


def run(db: Path, paths: list[str] | None = None) -> None:
    """Print the page table for the database ``db``."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, free_port

    paths = paths or PAGE_PATHS
    serve_args = ["-m", "handoff", "serve", "--db", str(db)]
    rows: dict[str, dict[str, float]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # one port for the cached visits, so the browser's cache keys match every server's
        cached = _context(browser)
        cached_port = free_port()
        beside = contextlib.ExitStack()  # a floor server up for the whole run
        floor_url, _ = beside.enter_context(served(FLOOR_ARGS))
        floor_tab = _opened(browser, floor_url)
        with served(FLOOR_ARGS) as (url, pid):
            rows["floor"] = _measure(browser, url, with_filter=False, floor=floor_tab)
            rows["floor"]["rss"] = peak_rss_mib(pid)
        rows["floor"]["ready"] = served.last_ready  # type: ignore[attr-defined]
        with served(FLOOR_ARGS, port=cached_port) as (url, _):
            _cached_cold(cached, url)  # loads the static files into the cache
        with served(FLOOR_ARGS, port=cached_port) as (url, _):
            rows["floor"]["cached"], rows["floor"]["cached_head"] = _cached_cold(cached, url)
        for path in paths:
            # the server warms the page under test only (a real serve warms them all)
            warm_env = {"HANDOFF_WARM_PAGES": path.strip("/") or "home"}
            with served(serve_args, env=warm_env) as (url, pid):
                rows[path] = _measure(browser, url + path, with_filter=True, floor=floor_tab)
                rows[path]["rss"] = peak_rss_mib(pid)
            rows[path]["ready"] = served.last_ready  # type: ignore[attr-defined]
            with served(serve_args, env=warm_env, port=cached_port) as (url, _):
                rows[path]["cached"], rows[path]["cached_head"] = _cached_cold(cached, url + path)
            r = rows[path]
            print(
                f"{path}: ready {r['ready']:.1f} s, cold {r['cold']:.2f} s, warm {r['warm']:.2f} s",
                flush=True,
            )
        with served(serve_args) as (url, pid):
            context = _context(browser)
            page = context.new_page()
            for path in paths:
                page.goto(url + path, timeout=WAIT_MS)
                _rendered(page)
            context.close()
            all_rss = peak_rss_mib(pid)
        floor_tab.context.close()
        beside.close()
        cached.close()
        browser.close()
    floor = rows["floor"]["warm"]
    print(
        f"{'page':<12} {'ready':>6} {'cold':>6} {'c.head':>6} {'c.cach':>6} {'cc.head':>7} "
        f"{'warm':>6} {'head':>6} {'filter':>6} {'f.head':>6} {'÷floor':>6} {'fl.bes':>6} "
        f"{'÷beside':>7} {'RSS MiB':>8}"
    )
    for name, r in rows.items():
        print(
            f"{name:<12} {_fmt(r['ready'])} {_fmt(r['cold'])} {_fmt(r['cold_headline'])} "
            f"{_fmt(r['cached'])} {_fmt(r['cached_head'], 7)} "
            f"{_fmt(r['warm'])} {_fmt(r['headline'])} {_fmt(r['after_filter'])} "
            f"{_fmt(r.get('filter_headline', math.nan))} "
            f"{_fmt(r['warm'] / floor)} {_fmt(r['floor_beside'])} "
            f"{_fmt(r['warm'] / r['floor_beside'], 7)} {r['rss']:8.0f}"
        )
    print(
        "ready: serve started -> health ok (includes the warm-up); cold: first visit after "
        "serve, browser without the app's files; c.cach/cc.head: first visit after another "
        "serve, browser holding the app's static files (whole page / headline); c.head/head: "
        "headline (first metric + first chart/table) on the first visit / warm; warm: median "
        "of 3 reloads; filter: sidebar source pick -> last change of the main area; "
        "f.head: source pick -> the first card shows the new number; ÷floor: warm ÷ the "
        "floor row's warm; fl.bes: the floor reloaded in another tab after each of the "
        "page's warm reloads (median), ÷beside: warm ÷ fl.bes (the same minute, so a "
        "machine that got busier or quieter during the run moves both); seconds; "
        f"rendered = idle, nothing stale, {QUIET_MS} ms without DOM "
        "changes.\n"
        f"peak server RSS (VmHWM of the process tree) after visiting all pages: {all_rss:,.0f} MiB"
    )
