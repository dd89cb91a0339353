"""The Data page in a real browser: upload a flat export, preview the mapping, check, import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from analysis import store
from tests.browser import assert_no_exception
from tests.conftest import ARTIFACTS, ROOT, free_port

pytestmark = pytest.mark.e2e

EXAMPLES = ROOT / "data" / "examples"


@pytest.fixture(scope="module")
def data_app(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`handoff serve` on a private copy of the demo database (this test writes to it)."""
    db = tmp_path_factory.mktemp("e2e-data") / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "serve_data.log"
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "analysis.cli", "serve", "--db", str(db), "--port", str(port)],
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
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
            yield url, db
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_for_run(page, timeout_ms: int = 30_000) -> None:
    """Wait until no element is stale or running and every *visible* grid has rows.

    Like tests/browser.wait_for_app, but grids in a hidden tab or a closed expander
    render no rows, so only visible ones are waited for.
    """
    expect(page.get_by_test_id("stApp")).to_be_visible(timeout=timeout_ms)
    page.wait_for_function(
        """() => {
            if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
            if (document.querySelector('[data-stale="true"]')) return false;
            const grids = document.querySelectorAll('[data-testid="stDataFrame"]');
            for (const g of grids) {
                if (!g.checkVisibility() || g.getBoundingClientRect().height === 0) continue;
                if (g.querySelectorAll('[role="row"]').length < 2) return false;
            }
            return document.querySelectorAll('[data-testid="stMainBlockContainer"] *').length > 5;
        }""",
        timeout=timeout_ms,
    )


def screenshot(page, name: str) -> Path:
    """A full-height screenshot under artifacts/, as tests/browser.screenshot takes it,
    waiting with :func:`wait_for_run` (this page keeps grids in hidden tabs)."""
    height = page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]');
            return Math.max(main ? main.scrollHeight : 0, document.body.scrollHeight);
        }"""
    )
    width = page.viewport_size["width"] if page.viewport_size else 1400
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 12_000)})
    wait_for_run(page)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": 1000})
    return path


def leads_in(db: Path) -> int:
    con = store.connect_read_only(db)
    try:
        return con.execute("SELECT count(*) FROM leads").fetchone()[0]
    finally:
        con.close()


def test_upload_preview_check_import(data_app, page) -> None:
    """Uploading the dirty HubSpot export through the file input shows the detected
    mapping, the check reports 34 rows to apply and 5 refused without writing, and the
    import adds the 7 leads (see tests/test_flat.py for the counts by hand)."""
    url, db = data_app
    failed: list[str] = []
    page.on("response", lambda r: r.status >= 400 and failed.append(r.url))
    page.goto(url + "/data")
    wait_for_run(page)
    expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("4,000")
    assert_no_exception(page)

    page.get_by_role("tab", name="Import a CRM export").click()
    uploader = page.get_by_test_id("stFileUploader").first
    uploader.locator("input[type=file]").set_input_files(
        str(EXAMPLES / "hubspot_contacts_dirty.csv")
    )
    expect(page.get_by_text("read as a leads file")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Mapping in use: hubspot.")).to_be_visible()
    wait_for_run(page)

    page.get_by_role("button", name="Check (dry run)").click()
    expect(page.get_by_text("34 rows would be applied, 5 refused")).to_be_visible(timeout=30_000)
    wait_for_run(page)
    assert leads_in(db) == 4_000
    assert_no_exception(page)
    assert screenshot(page, "data").stat().st_size > 20_000

    page.get_by_role("button", name="Import into the database").click()
    expect(page.get_by_text("34 rows applied, 5 refused")).to_be_visible(timeout=30_000)
    assert leads_in(db) == 4_007
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("4,007")
    wait_for_run(page)
    page.get_by_role("tab", name="Refused rows").click()
    expect(page.get_by_text("Record ID: lead_id is empty").first).to_be_attached()
    assert_no_exception(page)
    page.get_by_role("tab", name="Data quality").click()
    wait_for_run(page)
    screenshot(page, "data_quality")
    # A deep link makes Streamlit probe /data/_stcore/... first (404, then the root): those
    # are the only failed requests, and the only console errors.
    assert all("/data/_stcore/" in u for u in failed), failed
    others = [e for e in page.console_errors if "Failed to load resource" not in e]
    assert not others, others
