"""Warm the server before the first visit: imports, the connection, the data caches.

``handoff serve`` starts the server through :func:`main` (``python -m dashboard.warm``
followed by Streamlit's own arguments): it imports what every page needs, opens the
database, reads the journey tables once (so DuckDB holds their pages) and computes the
calls every page makes first (the sidebar's filter options, the home page's summaries),
then runs each analytics page once with its default controls (:func:`warm_pages`, through
Streamlit's AppTest, in this process), prints how long that took, and only then starts
Streamlit in the same process, so the caches it filled are the ones the pages read: the
first visit to a page after ``handoff serve`` is as quick as a reload.

Once the server is starting, :func:`warm_review_months_in_background` computes the Monthly
review of the months a user is likely to pick next (the running month and the months
before the default one) in a background thread, so a month change finds them cached;
``ready`` does not wait for it.

After an import swaps a new file in, :mod:`dashboard.state` notices the new version on
the next call and :func:`rewarm_in_background` replays the calls made recently on the old
version against the new one, in a background thread, while the first page draws.

What the warm-up leaves alive (modules, cached tables) is moved out of the garbage
collector's sight (:func:`settle_memory`), and the server runs with Streamlit's collection
after every script run switched off (``handoff serve`` passes ``runner.postScriptGC``):
with these caches a full collection took 0.2 s of the script thread and of the
interpreter lock after every run, fragment runs included, so it held back the next rerun
and the messages of every session.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis import filters as flt
from analysis import store
from analysis.lifecycle import journey, measurable

if TYPE_CHECKING:  # dashboard.state is imported inside _quiet(): its import warns
    from dashboard.state import DbKey

FIRST_CALLS: tuple[tuple[Callable[..., Any], tuple], ...] = (
    (flt.filter_options, ()),
    (store.table_summary, ()),
    (store.import_batches, (10,)),
    (measurable.availability, ()),
)
"""Calls every visit makes first (sidebar and home page), with their arguments."""

WARM_PAGES: tuple[str, ...] = (
    "app_pages/home.py",
    "app_pages/funnel.py",
    "app_pages/sla.py",
    "app_pages/rejections.py",
    "app_pages/review.py",
    "app_pages/data.py",
)
"""Pages run once at start-up with their default controls (:func:`warm_pages`), so the
first visit to each finds its numbers computed."""

WARM_PAGES_ENV = "HANDOFF_WARM_PAGES"
"""``0`` skips running the pages at start-up (the first calls are still warmed); a comma
list of page names (``funnel,sla``) runs only those; unset or ``1`` runs
:data:`WARM_PAGES`."""

REVIEW_MONTHS_ENV = "HANDOFF_WARM_REVIEW_MONTHS"
"""How many months before the review's default month are warmed in the background after
start-up (default :data:`REVIEW_MONTHS`; ``0`` none). The running month, newer than the
default, is always warmed too."""

REVIEW_MONTHS = 3

PAGE_TIMEOUT_S = 600.0
"""Ceiling of one page's warm-up run (a slow machine only makes the start slower)."""

QUIET_LOGGERS = (
    "streamlit",
    "streamlit.runtime.caching.cache_data_api",
    "streamlit.runtime.caching.cache_resource_api",
    "streamlit.runtime.scriptrunner_utils.script_run_context",
)
"""Loggers that warn about caching outside a script run, which warming does on purpose."""

_warming: set[DbKey] = set()
_warming_lock = threading.Lock()


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence Streamlit's "no runtime / no script context" warnings while warming."""
    import streamlit.runtime.caching  # noqa: F401  (creates the loggers with their levels)

    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _import_pages() -> None:
    """Import the heavy libraries the pages draw with (a few seconds on a cold process)."""
    import plotly.express  # noqa: F401
    import plotly.graph_objects  # noqa: F401

    import analysis.lifecycle.funnel  # noqa: F401
    import analysis.lifecycle.metrics  # noqa: F401
    import analysis.lifecycle.review  # noqa: F401
    import analysis.lifecycle.sla  # noqa: F401
    import dashboard.charts  # noqa: F401


def _touch_journey(key: DbKey) -> None:
    """Read every journey column once, so the first page's scans hit DuckDB's buffers."""
    from dashboard import state

    con = store.read_cursor(state._connection(key))
    try:
        if journey.is_fresh(con):
            for table in (journey.ENTRIES, journey.HANDOFFS):
                cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
                aggs = ", ".join(f'count("{c}")' for c in cols)
                con.execute(f"SELECT {aggs} FROM {table}").fetchall()
    finally:
        con.close()


def warm(key: DbKey | None = None) -> float:
    """Fill the caches for the database version ``key`` (default: the live file).

    Returns the seconds it took. Errors (no file, a foreign file) are left for the pages
    to explain: warming never stops the server from starting.
    """
    t0 = time.perf_counter()
    with _quiet():
        from dashboard import state

        _import_pages()
        try:
            key = key or state.db_key()
            state._journey_fresh(key)
            _touch_journey(key)
            for fn, args in FIRST_CALLS:
                state._cached_call(f"{fn.__module__}.{fn.__qualname__}", key, args, {}, fn)
            warm_scoring(key)
        except (OSError, store.SchemaError):
            pass
    return time.perf_counter() - t0


def warm_pages(pages: tuple[str, ...] = WARM_PAGES) -> dict[str, float]:
    """Run each page of ``pages`` once, as a first visit does, to fill the data caches.

    Each page runs in a fresh :class:`streamlit.testing.v1.AppTest` session of the app
    (so it gets the sidebar defaults a new visitor gets, including its own default
    period), in this process, before the server starts: the calls it makes through
    :func:`dashboard.state.call` land in the caches the served pages read. Returns the
    seconds per page; a page that fails or stops (no database, sign-in required) is
    skipped, its own visit will say why.
    """
    import os

    chosen = os.environ.get(WARM_PAGES_ENV, "1").strip()
    if chosen == "0":
        return {}
    if chosen not in ("", "1"):
        names = {n.strip().strip("/") or "home" for n in chosen.split(",")}
        pages = tuple(p for p in pages if Path(p).stem in names)
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent / "app.py")
    seconds: dict[str, float] = {}
    with _quiet():
        for page in pages:
            t0 = time.perf_counter()
            try:
                at = AppTest.from_file(app, default_timeout=PAGE_TIMEOUT_S)
                at.switch_page(page).run()
            except Exception:  # noqa: BLE001 - the page reports its own errors when visited
                continue
            seconds[page] = time.perf_counter() - t0
    return seconds


def warm_scoring(key: DbKey) -> None:
    """The Scoring lab's feature matrix and fitted model for its default settings.

    Read from the disk cache (:mod:`analysis.scoring.cache`) when this file version was
    seen before, else built and fitted (seconds at a million leads), so the lab's first
    visit finds both in memory. A history the model cannot be fitted on is left to the page.
    """
    from dashboard import scoring_ui

    try:
        fm = scoring_ui.feature_matrix(key)
        if fm.n:
            scoring_ui.model_report(*scoring_ui.default_model_args(key), wait=True)
    except Exception:  # noqa: BLE001 - the page reports its own errors when it runs
        return


def review_months(key: DbKey, before: int = REVIEW_MONTHS) -> list:
    """The review months worth warming: newer than the default month, then ``before``
    months before it (the default month itself is warmed by its page run)."""
    from analysis.lifecycle import review as rv
    from dashboard import state

    def call(fn: Callable[..., Any]) -> Any:
        return state._cached_call(f"{fn.__module__}.{fn.__qualname__}", key, (), {}, fn)

    months, default = call(rv.available_months), call(rv.default_month)
    if default not in months:
        return []
    i = months.index(default)
    return months[:i] + months[i + 1 : i + 1 + before]


def warm_review_months(
    key: DbKey | None = None, before: int = REVIEW_MONTHS
) -> list[tuple[Callable[..., Any], tuple]]:
    """Compute the Monthly review of :func:`review_months` with the page's default controls.

    Returns the calls made (function, arguments), in order: the page makes the same calls
    (:func:`dashboard.review_sections.month_calls`) when one of these months is picked, so
    they are answered from the cache. A failing call is skipped (the page shows its error).
    """
    from analysis.lifecycle import review as rv
    from dashboard import review_sections, state

    made: list[tuple[Callable[..., Any], tuple]] = []

    def call(fn: Callable[..., Any], *args: Any) -> Any:
        made.append((fn, args))
        return state._cached_call(f"{fn.__module__}.{fn.__qualname__}", key, args, {}, fn)

    with _quiet():
        try:
            key = key or state.db_key()
            months = review_months(key, before)
            figs = call(rv.month_figures)
        except Exception:  # noqa: BLE001 - the page reports its own errors when visited
            return made
        settings = review_sections.page_settings()
        for month in months:
            try:
                head = rv.review_head(figs, month, call(rv.load_targets, month, month))
                mqls = head.headline["volumes"].get("mql")
                for fn, args in review_sections.month_calls(month, settings, "entered", mqls):
                    call(fn, *args)
            except Exception:  # noqa: BLE001
                continue
    return made


def warm_review_months_in_background() -> threading.Thread | None:
    """Run :func:`warm_review_months` in a daemon thread (``HANDOFF_WARM_REVIEW_MONTHS``)."""
    import os

    try:
        before = int(os.environ.get(REVIEW_MONTHS_ENV, str(REVIEW_MONTHS)))
    except ValueError:
        before = REVIEW_MONTHS
    if before <= 0 or os.environ.get(WARM_PAGES_ENV, "1").strip() == "0":
        return None

    def work() -> None:
        t0 = time.perf_counter()
        made = warm_review_months(before=before)
        print(
            f"warmed the review of {len(review_months_done(made))} more months "
            f"in {time.perf_counter() - t0:.1f} s (background)",
            file=sys.stderr,
            flush=True,
        )

    thread = threading.Thread(target=work, name="handoff-review-months", daemon=True)
    thread.start()
    return thread


def review_months_done(made: list[tuple[Callable[..., Any], tuple]]) -> set:
    """The months :func:`warm_review_months` computed, from the calls it made."""
    from analysis.lifecycle import review as rv

    return {args[0] for fn, args in made if fn is rv.load_targets}


def replay(key: DbKey) -> int:
    """Run the recently made calls (:func:`dashboard.state.recent_calls`) on ``key``.

    Returns how many ran; a call that fails on the new version is skipped (its page will
    show the error when it asks).
    """
    from dashboard import state

    done = 0
    with _quiet():
        for fn, args, kwargs in state.recent_calls():
            try:
                state._cached_call(f"{fn.__module__}.{fn.__qualname__}", key, args, kwargs, fn)
                done += 1
            except Exception:  # noqa: BLE001 - a page reports its own errors when it runs
                continue
    return done


def settle_memory() -> float:
    """Collect garbage once, then exempt every object alive now from later collections.

    Returns the seconds it took. Called after a warm-up: the caches and modules alive then
    stay alive, so the garbage collector need not walk them again on every collection
    (:func:`gc.freeze`). Frozen objects are still freed when nothing refers to them; an
    earlier freeze is undone first, so what a previous warm-up left and is no longer used
    is collected here.
    """
    t0 = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - t0


def rewarm_in_background(key: DbKey) -> threading.Thread | None:
    """Warm the new file version ``key`` in a daemon thread (once per version)."""
    with _warming_lock:
        if key in _warming:
            return None
        _warming.add(key)

    def work() -> None:
        t0 = time.perf_counter()
        warm(key)
        n = replay(key)
        settle_memory()
        print(
            f"new database version: warmed {n} cached calls in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    thread = threading.Thread(target=work, name="handoff-rewarm", daemon=True)
    thread.start()
    return thread


def main() -> None:
    """``python -m dashboard.warm <streamlit run arguments>``: warm, then serve."""
    seconds = warm()
    t0 = time.perf_counter()
    pages = warm_pages()
    seconds += time.perf_counter() - t0
    settle_memory()
    each = ", ".join(f"{Path(p).stem} {s:.1f} s" for p, s in pages.items())
    print(
        f"warmed caches in {seconds:.1f} s"
        + (f" (pages: {each})" if each else "")
        + "; starting the server",
        flush=True,
    )
    from streamlit.web import cli as stcli

    warm_review_months_in_background()
    sys.argv = ["streamlit", *sys.argv[1:]]
    sys.exit(stcli.main())


if __name__ == "__main__":
    main()
