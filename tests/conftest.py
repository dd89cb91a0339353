"""Shared fixtures: a small generated demo database, a served app, a real chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.paths import APP, ARTIFACTS, ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_END = date(2026, 10, 31)
"""Fixed end of the small demo history, so tests do not depend on today's date."""


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated demo database (4,000 leads over 12 months), built once per run."""
    from analysis.demo import synth

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    synth.generate_database(path, leads=4_000, months=12, seed=11, end=DEMO_END)
    return path


@pytest.fixture(scope="session")
def demo_truth(demo_db: Path) -> dict:
    """The planted truth written beside :func:`demo_db`."""
    import json

    from analysis import config

    return json.loads(config.truth_path(demo_db).read_text())


SERVE_WAIT_SECONDS = 180
"""Ceiling of the wait for `handoff serve` to answer its health check (warm-up included)."""

SERVED_PIDS: dict[str, int] = {}
"""URL -> process id of each server :func:`serve_dashboard` started (the Streamlit server:
`handoff serve` replaces itself with it)."""


STOP_WAIT_SECONDS = 90
"""Ceiling of the wait for a server a test started to exit after SIGTERM (then SIGKILL).

A ceiling, not a wait: a server exits within a second on a quiet machine, but with other
jobs on the cores its shutdown took over 20 s once and failed a test whose assertions had
all passed."""


def stop_process(proc: subprocess.Popen) -> None:
    """Stop a process a test started: SIGTERM, then SIGKILL past :data:`STOP_WAIT_SECONDS`."""
    proc.terminate()
    try:
        proc.wait(timeout=STOP_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_WAIT_SECONDS)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_dashboard(
    db: Path, log_name: str = "serve", *, allow_writes: bool = False
) -> Iterator[str]:
    """Run `handoff serve` against ``db`` on a free port until the block ends; yields the URL.

    ``allow_writes`` serves it with ``--allow-writes`` (imports and saves from the browser).

    The server's output goes to ``artifacts/<log_name>.log``.
    """
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"{log_name}.log"
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "handoff", "serve", "--db", str(db), "--port", str(port)]
            + (["--allow-writes"] if allow_writes else []),
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        url = f"http://127.0.0.1:{port}"
        SERVED_PIDS[url] = proc.pid
        # A ceiling, not a wait: serve warms its caches before the server answers.
        deadline = time.monotonic() + SERVE_WAIT_SECONDS
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"dashboard did not start; see {log}")
            time.sleep(0.3)
        try:
            yield url
        finally:
            stop_process(proc)


@pytest.fixture(scope="session")
def served_app(demo_db: Path) -> Iterator[str]:
    """`handoff serve` on a free port against the demo database; yields the base URL."""
    with serve_dashboard(demo_db) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (no browser download)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is missing: run `make setup` (installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    """A fresh browser page sized like a laptop screen; console errors are collected."""
    from tests.browser import WAIT_MS

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    yield pg
    context.close()


@pytest.fixture()
def writable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard may write, as when served with ``handoff serve --allow-writes``."""
    monkeypatch.setenv("HANDOFF_ALLOW_WRITES", "1")


@pytest.fixture()
def app_at(demo_db: Path, monkeypatch: pytest.MonkeyPatch):
    """Factory for AppTest runs of the dashboard against the demo database.

    ``app_at("app_pages/funnel.py")`` returns an AppTest that has run the app and
    switched to that page (None stays on the home page); it fails on any exception.
    """
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("HANDOFF_DB", str(demo_db))

    def make(page: str | None = None, query: dict[str, str] | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        if query:
            at.query_params.update(query)
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return make
