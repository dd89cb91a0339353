"""The Data page in a real browser: upload a flat export, preview the mapping, check, import."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from analysis import store
from tests.browser import assert_no_exception, screenshot, wait_for_app
from tests.conftest import ROOT, serve_dashboard

pytestmark = pytest.mark.e2e

EXAMPLES = ROOT / "data" / "examples"


@pytest.fixture(scope="module")
def data_app(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`handoff serve` on a private copy of the demo database (this test writes to it)."""
    db = tmp_path_factory.mktemp("e2e-data") / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    with serve_dashboard(db, "serve_data", allow_writes=True) as url:
        yield url, db


def leads_in(db: Path) -> int:
    con = store.connect_read_only(db)
    try:
        return con.execute("SELECT count(*) FROM leads").fetchone()[0]
    finally:
        con.close()


def test_upload_preview_check_import(data_app, page) -> None:
    """Uploading the dirty HubSpot export through the file input shows the detected
    mapping; Import is disabled until the check has run; the check says per table what
    the file gives (8 leads, 24 properties, 7 stage changes; 1 employee count "lots" left
    empty) without writing; the import adds the 8 leads and the page stays on the
    importer (see tests/imports/test_flat.py for the counts by hand)."""
    url, db = data_app
    failed: list[str] = []
    page.on("response", lambda r: r.status >= 400 and failed.append(r.url))
    page.goto(url + "/data")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("4,000")
    assert_no_exception(page)

    page.get_by_role("radio", name="Import a CRM export").click()
    expect(page).to_have_url(re.compile(r"tab=import"))
    uploader = page.get_by_test_id("stFileUploader").first
    uploader.locator("input[type=file]").set_input_files(
        str(EXAMPLES / "hubspot_contacts_dirty.csv")
    )
    expect(page.get_by_text("read as a leads file")).to_be_visible()
    expect(page.get_by_text("Mapping in use: hubspot.")).to_be_visible()
    wait_for_app(page)
    importer = page.get_by_role("button", name="Import into the database")
    expect(importer).to_be_disabled()

    page.get_by_role("button", name="Check (dry run)").click()
    expect(
        page.get_by_text("would write 8 leads, 24 properties, 7 stage changes", exact=False)
    ).to_be_visible()
    expect(importer).to_be_enabled()
    wait_for_app(page)
    assert leads_in(db) == 4_000
    assert_no_exception(page)
    assert screenshot(page, "data").stat().st_size > 20_000

    importer.click()
    expect(page.get_by_text("wrote 8 leads, 24 properties, 7 stage changes").first).to_be_visible()
    assert leads_in(db) == 4_008
    # The page stays on the importer after the rerun.
    expect(page.get_by_text("CRM export files (CSV or Parquet)")).to_be_visible()
    expect(page).to_have_url(re.compile(r"tab=import"))
    wait_for_app(page)
    page.get_by_role("radio", name="Refused rows").click()
    expect(page.get_by_text("Values left empty", exact=True)).to_be_visible()
    wait_for_app(page)
    assert_no_exception(page)
    page.get_by_role("radio", name="Data quality").click()
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("4,008")
    wait_for_app(page)
    screenshot(page, "data_quality")
    # A deep link makes Streamlit probe /data/_stcore/... first (404, then the root): those
    # are the only failed requests, and the only console errors.
    assert all("/data/_stcore/" in u for u in failed), failed
    others = [e for e in page.console_errors if "Failed to load resource" not in e]
    assert not others, others
