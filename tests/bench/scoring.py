"""Benchmark section for the Scoring lab: features, fit, what-if, and the page in chromium.

``run(ctx)`` prints, on the database of ``ctx.leads`` leads made by the generate section:
the feature build (cold, first in this process), the model fit, the numpy what-if after a
weight change and after a threshold change (median of 20 each), the threshold curve and
the changed-leads list, and in headless chromium the page's first load and the time from
a key press on the threshold slider, or a new point typed into the points editor, to the
proposed "MQLs per month" changing on screen.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tests.bench.sections import Context

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

REPEAT = 20
"""What-if recomputations per measurement (the median is printed)."""

PRESSES = 6
"""Slider key presses timed in the browser (alternately right and left)."""

METRIC_JS = """
() => {
    for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
        if (m.innerText.startsWith('MQLs per month')) {
            const v = m.querySelector('[data-testid="stMetricValue"]');
            return v ? v.innerText : null;
        }
    }
    return null;
}
"""
"""Text of the proposed rule's "MQLs per month" metric on the Scoring lab page."""

GRADE_JS = """
() => {
    for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
        if (m.innerText.startsWith('A:')) {
            const v = m.querySelector('[data-testid="stMetricValue"]');
            return v ? v.innerText : null;
        }
    }
    return null;
}
"""
"""Text of the Grades tab's "A" card (its lead count)."""


def _median_ms(fn: Callable[[int], object], repeat: int = REPEAT) -> float:
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _median_cpu_ms(fn: Callable[[int], object], repeat: int = REPEAT) -> float:
    """Median CPU time of this thread per call: what the call costs whatever else runs (on a
    shared machine the wall time stretches with the load; this does not)."""
    times = []
    for i in range(repeat):
        t0 = time.thread_time()
        fn(i)
        times.append(time.thread_time() - t0)
    return statistics.median(times) * 1000


def engine(ctx: Context) -> None:
    """Feature build, fit and what-if timings in this process."""
    from analysis import store
    from analysis.scoring import features, whatif
    from analysis.scoring import model as scoring

    con = store.connect_read_only(ctx.db)
    con.execute("SET enable_progress_bar = false")
    try:
        t0 = time.perf_counter()
        fm = features.build_features(con)
        build = time.perf_counter() - t0
        current = scoring.load_config(con)
        reps = whatif.load_reps(con)
    finally:
        con.close()
    print(
        f"feature matrix (cold): {build:6.2f} s for {fm.n:,} leads x {len(fm.names)} features "
        f"({fm.X.nbytes / 2**20:.0f} MiB float32)"
    )
    t0 = time.perf_counter()
    report = scoring.fit_model(fm, "sql", current=current)
    print(
        f"model fit (sql):       {time.perf_counter() - t0:6.2f} s "
        f"({report.n_train:,} train / {report.n_test:,} test leads, test AUC "
        f"{report.auc_test:.3f})"
    )
    feature = max(current.weights, key=lambda k: abs(current.weights[k]))
    whatif.what_if(fm, current, current, "sql", reps)  # the page's first run, before a change

    def weight_change(i: int) -> None:
        points = current.weights[feature] + (i % 7) - 3 or 1.0
        whatif.what_if(fm, current, current.with_changes({feature: points}), "sql", reps)

    def threshold_change(i: int) -> None:
        proposed = current.with_changes(threshold=current.threshold + (i % 9) - 4)
        whatif.what_if(fm, current, proposed, "sql", reps)

    print(
        f"what-if after a weight change:    {_median_ms(weight_change):7.1f} ms (median of 20; "
        f"CPU {_median_cpu_ms(weight_change):.1f} ms)"
    )
    print(
        f"what-if after a threshold change: {_median_ms(threshold_change):7.1f} ms (median of 20)"
    )
    print(
        "threshold curve (new points):     "
        f"{_median_ms(lambda i: whatif.config_threshold_curve(fm, current, 'sql'), 5):7.1f} ms"
    )
    w = whatif.what_if(fm, current, report.suggested, "sql", reps)
    ms = _median_ms(lambda i: w.changed(fm), 3)
    print(
        f"leads changing side (suggested):  {ms:7.1f} ms for {w.changed_in + w.changed_out:,} leads"
    )
    newer(ctx, fm, current, report, reps)


def newer(ctx: Context, fm, current, report, reps) -> None:  # noqa: ANN001
    """Grades, decay, the whole back-test tab, its cache entry, and the training cap's AUC."""
    from analysis import store
    from analysis.scoring import decay, grades, whatif

    proposed = report.suggested
    cuts = grades.suggest_cuts(whatif.scores(fm, proposed)[fm.decided])

    def grade_change(i: int) -> None:  # the page's path: the what-if's kept tables
        moved = (cuts[0] + (i % 5) + 1, *cuts[1:])
        scheme = grades.GradeScheme(grades.DEFAULT_NAMES, moved)
        grades.rule_bands(fm, proposed, scheme, "sql", reps)

    print(f"grade cut change (bands):         {_median_ms(grade_change):7.1f} ms (median of 20)")
    con = store.connect_read_only(ctx.db)
    try:
        t0 = time.perf_counter()
        ages = decay.engagement_ages(con)
        print(f"engagement ages (once per file):  {(time.perf_counter() - t0) * 1000:7.0f} ms")
    finally:
        con.close()
    decay.decayed(fm, ages, decay.Decay("half-life", 5))  # non-zero rows gathered once

    def decay_change(i: int) -> None:
        faded = decay.decayed(fm, ages, decay.Decay("half-life", 10 + i))
        whatif.what_if(faded, current, proposed, "sql", reps)

    print(f"decay change (fade + what-if):    {_median_ms(decay_change, 5):7.1f} ms (median of 5)")
    validation(fm, ages, current, proposed)


def validation(fm, ages, current, proposed) -> None:  # noqa: ANN001
    """The back-test tab's background job as the page runs it, its disk entry, and the AUC
    of the back-test's model with and without the training cap on the same test months."""
    import pickle

    from analysis.scoring import backtest, ceiling, decay

    rules = {"current rule": current, "proposed rule": proposed}
    t_all = time.perf_counter()
    bt = backtest.model_folds(fm, "sql")
    t_bt = time.perf_counter() - t_all
    t0 = time.perf_counter()
    c = ceiling.fit_ceiling(fm, "sql")
    t_ceiling = time.perf_counter() - t0
    t0 = time.perf_counter()
    half = decay.suggest_half_life(fm, ages, "sql")
    t_half = time.perf_counter() - t0
    total = time.perf_counter() - t_all
    print(
        f"back-test tab, whole job:         {total:7.2f} s (back-test {t_bt:.2f} s, "
        f"{len(bt.folds)} folds; ceiling {t_ceiling:.2f} s; half-life search {t_half:.2f} s)"
    )
    table = backtest.backtest_table(bt, fm, rules, "proposed rule")
    ms = _median_ms(lambda i: backtest.backtest_table(bt, fm, rules, "proposed rule"), 3)
    print(f"  rules re-scored on the folds:   {ms:7.0f} ms")
    for who, part in table.groupby("who", sort=False):
        print(f"  {who:14s} AUC median {part['auc'].median():.3f}, precision median "
              f"{part['precision'].median():.1%}")  # fmt: skip
    print(f"  ceiling: AUC logistic {c.auc_logistic:.3f}, boosted {c.auc_boosted:.3f}")
    entry = pickle.dumps(({"backtest": bt, "ceiling": c, "half_life": half}, {}, total))
    print(f"back-test disk cache entry:       {len(entry) / 2**10:7.0f} KiB")
    t0 = time.perf_counter()
    full = backtest.model_folds(fm, "sql", max_train=None)
    uncapped = backtest.backtest_table(full, fm, rules, "proposed rule")
    most = max((f.n_train for f in bt.folds), default=0)
    capped_auc = table.loc[table["who"] == "model", "auc"]
    full_auc = uncapped.loc[uncapped["who"] == "model", "auc"]
    print(
        f"training cap {bt.max_train:,} vs every training lead (largest origin: {most:,} "
        f"leads): model AUC median {capped_auc.median():.4f} vs {full_auc.median():.4f}, "
        f"largest difference on a test month {(capped_auc - full_auc).abs().max():.4f} "
        f"({time.perf_counter() - t0:.1f} s uncapped)"
    )


def _serve(db: Path, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    from tests.conftest import free_port

    port = free_port()
    # A session of its own, so that the streamlit child of `serve` is stopped with it.
    proc = subprocess.Popen(
        [sys.executable, "-m", "handoff", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                break
        except OSError:
            time.sleep(0.3)
    return proc, url


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def _server_rss_mib(proc: subprocess.Popen) -> float:
    import psutil

    parent = psutil.Process(proc.pid)
    return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20


@contextmanager
def _opened(
    ctx: Context, env: dict, path: Path | None = None
) -> Iterator[tuple[subprocess.Popen, Page, float]]:
    """Serve ``path`` (default ``ctx.db``; a fresh server), open /scoring in chromium, wait.

    Yields (server process, page, seconds from navigation to the page fully rendered).
    """
    from playwright.sync_api import sync_playwright

    from tests.browser import wait_for_app
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    t_serve = time.perf_counter()
    proc, url = _serve(path or ctx.db, env)
    print(f"  server ready (warm-up included) in {time.perf_counter() - t_serve:6.2f} s")
    try:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(url + "/scoring")
            wait_for_app(page, timeout_ms=300_000)
            yield proc, page, time.perf_counter() - t0
            chromium.close()
    finally:
        _stop(proc)


def _new_text(read_js: str) -> str:
    """A JS predicate of ``before``: ``read_js`` reads a text other than ``before``.

    Not merely a different value: while a rerun redraws the page the card can be missing
    for a moment (``read_js`` gives null), which is not the new number being shown.
    """
    return f"(before) => {{ const v = ({read_js.strip()})(); return v !== null && v !== before; }}"


def _timed(page: Page, read_js: str, change: Callable[[int], Callable[[], object]]) -> tuple:
    """Median seconds from a change's commit to ``read_js``'s text changing, and to the
    page fully re-rendered, over :data:`PRESSES` changes. ``change(i)`` prepares the i-th
    change (untimed: typing a value) and returns what commits it (timed: a key press)."""
    from tests.browser import wait_for_app

    shown, rendered = [], []
    for i in range(PRESSES):
        before = page.evaluate(read_js)
        commit = change(i)
        t0 = time.perf_counter()
        commit()
        page.wait_for_function(_new_text(read_js), arg=before, polling="raf", timeout=60_000)
        shown.append(time.perf_counter() - t0)
        wait_for_app(page, timeout_ms=60_000)
        rendered.append(time.perf_counter() - t0)
    return statistics.median(shown), statistics.median(rendered)


def _presses(page: Page, slider: Locator, read_js: str) -> tuple:
    """A key press on ``slider`` (alternately ArrowRight and ArrowLeft): :func:`_timed`."""
    slider.focus()
    return _timed(
        page, read_js, lambda i: lambda: slider.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
    )


def _decay_changes(page: Page) -> tuple:
    """A new half-life typed, then Enter (every value new: no cached fade): :func:`_timed`
    on the proposed "MQLs per month"."""
    from playwright.sync_api import expect

    from tests.browser import wait_for_app

    choice = page.get_by_test_id("stSelectbox").filter(has_text="Engagement points fade")
    choice.click()
    page.keyboard.type("by half")
    page.keyboard.press("Enter")
    box = page.get_by_test_id("stNumberInput").filter(has_text="N (days)").locator("input")
    expect(box).to_be_enabled(timeout=300_000)  # enabled once a decay is chosen
    wait_for_app(page, timeout_ms=300_000)

    def change(i: int) -> Callable[[], object]:
        box.fill(str(21 + i if i % 2 == 0 else 61 + i))
        return lambda: box.press("Enter")

    return _timed(page, METRIC_JS, change)


def _weight_edits(page: Page) -> tuple:
    """A new point typed into the points editor (one of its first three features), then
    Enter: :func:`_timed` on the proposed "MQLs per month". Streamlit's grid waits 150 ms
    after an edit before it sends it (its own debounce), which is part of what this times."""
    from tests.browser import type_points

    def change(i: int) -> Callable[[], object]:
        cell = type_points(page, i % 3, 5 + i)
        return lambda: cell.press("Enter")

    return _timed(page, METRIC_JS, change)


def _print_presses(what: str, times: tuple) -> None:
    print(
        f"{what}: median {times[0] * 1000:6.0f} ms to the number, {times[1] * 1000:6.0f} ms "
        f"to the page fully re-rendered ({PRESSES} presses)"
    )


def browser(ctx: Context) -> None:
    """The page in headless chromium: first load cold, warm, after a restart; slider moves."""
    import tempfile

    from tests.browser import wait_for_app

    env = {**os.environ, "HANDOFF_CACHE_DIR": tempfile.mkdtemp(prefix="bench-scoring-cache-")}
    with _opened(ctx, env) as (proc, page, seconds):
        print(
            f"page /scoring first load, cold (empty disk cache; serve warmed it): {seconds:6.2f} s"
            f"; server RSS {_server_rss_mib(proc):,.0f} MiB"
        )
        t0 = time.perf_counter()
        page.reload()
        wait_for_app(page, timeout_ms=300_000)
        print(f"page /scoring reload, warm: {time.perf_counter() - t0:6.2f} s")
        thumb = page.get_by_test_id("stSlider").filter(has_text="MQL threshold")
        _print_presses("threshold key press -> proposed MQLs/month", _presses(
            page, thumb.get_by_role("slider"), METRIC_JS))  # fmt: skip
        _print_presses("points edit + Enter -> proposed MQLs/month", _weight_edits(page))
        page.get_by_role("tab", name="Grades").click()
        wait_for_app(page, timeout_ms=300_000)
        cut = page.get_by_test_id("stSlider").filter(has_text="A from").get_by_role("slider")
        _print_presses("grade cut key press -> A card", _presses(page, cut, GRADE_JS))
        _print_presses("decay N days + Enter -> proposed MQLs/month", _decay_changes(page))
        page.get_by_role("tab", name="Back-test").click()
        t0 = time.perf_counter()
        page.get_by_text("Rolling-origin back-test").first.wait_for(timeout=300_000)
        print(
            f"back-test tab -> back-test shown (background job): {time.perf_counter() - t0:6.2f} s"
        )
        page.get_by_text("Which decay fits best").first.wait_for(timeout=300_000)
        print(f"  -> ceiling and half-life search shown too: {time.perf_counter() - t0:6.2f} s")
        print(f"server RSS after the tabs: {_server_rss_mib(proc):,.0f} MiB")
    # A restarted server: the matrix and the model come from the disk cache.
    with _opened(ctx, env) as (_, _page, seconds):
        print(f"page /scoring first load after a restart (disk cache): {seconds:6.2f} s")


def run(ctx: Context) -> None:
    """Scoring lab figures at ``ctx.leads`` leads."""
    if not ctx.db.exists():
        print(f"no database {ctx.db}: run the generate section first")
        return
    engine(ctx)
    browser(ctx)


def screens(db: str, out: str = "docs/screens") -> None:
    """PNG screenshots of the Grades and the Back-test tabs on ``db`` (for the closing note).

    ``python -m tests.bench.scoring DB``: serves ``db``, opens the lab in headless chromium
    and saves ``scoring-grades-<size>.png`` and ``scoring-backtest-<size>.png`` in ``out``.
    """
    from analysis import store
    from tests.browser import wait_for_app

    con = store.connect_read_only(db)
    try:
        n = con.execute("SELECT count(*) FROM leads").fetchone()[0]
    finally:
        con.close()
    size = f"{n // 1_000_000}m" if n >= 1_000_000 else f"{n // 1000}k"
    ctx = Context(leads=n, workdir=Path(db).parent, run_child=lambda a: (0.0, 0.0))
    Path(out).mkdir(parents=True, exist_ok=True)
    with _opened(ctx, {**os.environ}, path=Path(db)) as (_, page, _seconds):
        page.set_viewport_size({"width": 1400, "height": 2400})
        for tab, ready, name in (
            ("Grades", "Download grades (CSV)", "grades"),
            ("Back-test", "Which decay fits best", "backtest"),
        ):
            page.get_by_role("tab", name=tab).click()
            page.get_by_text(ready).first.wait_for(timeout=600_000)
            wait_for_app(page, timeout_ms=300_000)
            print(f"{tab}: proposed {page.evaluate(METRIC_JS)} MQLs per month")
            target = Path(out) / f"scoring-{name}-{size}.png"
            page.get_by_test_id("stTabs").first.screenshot(path=str(target))
            print(f"saved {target}")


if __name__ == "__main__":
    screens(*sys.argv[1:])
