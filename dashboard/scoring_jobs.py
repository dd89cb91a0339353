"""The Scoring lab's background work: back-test, gradient-boosted ceiling, half-life search.

These fit many models (one per back-test origin, two for the ceiling, one per half-life),
so they run in a thread while the page stays usable, and report their progress. A job is
kept with ``st.cache_resource`` per **database version** (the file's path, inode and
modification time: :data:`dashboard.state.DbKey`, which changes whenever an import swaps a
new file in) and **settings** (outcome, window, imported properties, decay): a revisit
reuses the finished result, and nothing refits while the file and settings are unchanged.
A finished job is also kept on disk (:mod:`analysis.scoring.cache`, same key), so a
restarted server shows it at once. The back-test runs first and is shown as soon as it is
done, while the ceiling and the half-life search go on.
The thread only calls ``analysis/`` functions with plain arguments and its own cursor.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st

from analysis import store
from analysis.scoring import backtest, cache, ceiling, decay
from analysis.scoring.evaluate import FitImpossible
from analysis.scoring.matrix import FeatureMatrix
from dashboard import state


@dataclass(eq=False)
class Job:
    """A background computation: its progress (0-1), current step, result or error."""

    progress: float = 0.0
    step: str = "starting"
    result: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    done: bool = False
    started: float = field(default_factory=time.perf_counter)
    seconds: float = float("nan")

    def update(self, share: float, text: str) -> None:
        """Progress callback for the analysis functions."""
        self.progress, self.step = min(max(share, 0.0), 1.0), text

    launch: Callable[[], None] | None = field(default=None, repr=False)

    def run(self) -> Job:
        """Start a job made with ``start(..., run=False)`` (once; later calls do nothing)."""
        with _LAUNCH_LOCK:
            launch, self.launch = self.launch, None
        if launch is not None:
            self.started = time.perf_counter()
            launch()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until done (tests); True when done. Starts a job not started yet."""
        self.run()
        end = None if timeout is None else time.perf_counter() + timeout
        while not self.done and (end is None or time.perf_counter() < end):
            time.sleep(0.05)
        return self.done


def lower_priority() -> None:
    """Give the calling thread a lower CPU priority (Linux: a thread is a task of its own).

    A background fit should take the cores a page rerun leaves, not compete with it: on a
    shared 2-core machine a slider move otherwise waits behind the fit. Harmless where the
    call is not supported.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


_LAUNCH_LOCK = threading.Lock()


def start(work: Callable[[Job], None], name: str, *, run: bool = True) -> Job:
    """A new :class:`Job` running ``work(job)`` in a daemon thread; done when it returns.

    With ``run=False`` the thread starts only at :meth:`Job.run` (or :meth:`Job.wait`): a
    page makes the job where it needs its key and starts it once its numbers are drawn.
    """
    job = Job()

    def body() -> None:
        lower_priority()
        try:
            work(job)
        finally:
            job.seconds = time.perf_counter() - job.started
            job.update(1.0, "done")
            job.done = True

    job.launch = threading.Thread(target=body, daemon=True, name=name).start
    return job.run() if run else job


def _scaled(job: Job, lo: float, hi: float, label: str) -> Callable[[float, str], None]:
    return lambda share, text: job.update(lo + (hi - lo) * share, f"{label}: {text}")


def _run(  # noqa: PLR0913 - the job's inputs, passed once to the thread
    job: Job,
    fm: FeatureMatrix,
    base: FeatureMatrix,
    key: state.DbKey,
    outcome: str,
    window,  # noqa: ANN001
    k: int,
    settings: tuple,
) -> None:
    lower_priority()
    steps = (
        ("backtest", 0.0, 0.55, "back-test",
         lambda p: backtest.model_folds(fm, outcome, window, k, progress=p)),
        ("ceiling", 0.55, 0.75, "gradient-boosted ceiling",
         lambda p: ceiling.fit_ceiling(fm, outcome, window)),
        ("half_life", 0.75, 1.0, "half-life search",
         lambda p: _half_life(base, key, outcome, window, p)),
    )  # fmt: skip
    try:
        for name, lo, hi, label, fn in steps:
            job.update(lo, label)
            try:
                job.result[name] = fn(_scaled(job, lo, hi, label))
            except FitImpossible as exc:
                job.errors[name] = str(exc)
            except Exception as exc:  # noqa: BLE001 - shown on the page, never kills the app
                job.errors[name] = f"{type(exc).__name__}: {exc}"
    finally:
        job.seconds = time.perf_counter() - job.started
        job.update(1.0, "done")
        job.done = True
    cache.put(
        "validation", cache.file_version(key[0]), settings, (job.result, job.errors, job.seconds)
    )


def _half_life(fm: FeatureMatrix, key: state.DbKey, outcome: str, window, progress):  # noqa: ANN001, ANN202
    def build() -> decay.EngagementAges:
        con = store.read_cursor(state._connection(key))
        try:
            return decay.engagement_ages(con, fm.horizon_days)
        finally:
            con.close()

    # the same disk entry as the page's faded matrix (dashboard.scoring_ui.engagement_ages)
    ages, _ = cache.cached("ages", cache.file_version(key[0]), (fm.horizon_days,), build)
    if not any(n in fm.offered for n in ages.names):
        raise FitImpossible("no engagement feature has data in this history, nothing to fade")
    return decay.suggest_half_life(fm, ages, outcome, window, progress=progress)


CACHE_LAYOUT = 2
"""Bump when what a finished job keeps (its result dict) changes shape."""


@st.cache_resource(max_entries=4, show_spinner=False)
def validation_job(
    key: state.DbKey,
    outcome: str,
    window: int | None,
    properties: tuple[str, ...],
    fade: decay.Decay,
    k: int,
    _fm: FeatureMatrix,
    _base: FeatureMatrix,
) -> Job:
    """The started background job for this database version and these settings.

    ``_fm`` (not hashed) is the feature matrix of exactly these settings (decay applied),
    ``_base`` the same without decay (the half-life search applies its own); ``k`` is
    the number of months tested after each back-test origin.
    """
    settings = (outcome, window, properties, fade, k, CACHE_LAYOUT)
    stored = cache.peek("validation", cache.file_version(key[0]), settings)
    if stored is not None:  # computed for this file version before (another server run)
        result, errors, seconds = stored
        return Job(1.0, "done", result, errors, True, seconds=seconds)
    job = Job()
    threading.Thread(
        target=_run,
        args=(job, _fm, _base, key, outcome, window, k, settings),
        daemon=True,
        name="scoring-validation",
    ).start()
    return job
