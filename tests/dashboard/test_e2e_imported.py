"""Every page in a real browser on histories imported from real-export shapes (not generated).

The three example exports in data/examples/real/ go through `handoff import --mapping` into
fresh files; each is served and every page is opened. A page must render with no exception
box, and where the history lacks what a number needs it must say "not measurable" rather
than draw a zero. Screenshots land in artifacts/imported-<export>-<page>.png.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import assert_no_exception, cut_metric_values, screenshot, wait_for_app
from tests.conftest import serve_dashboard
from tests.paths import EXAMPLES, ROOT

pytestmark = pytest.mark.e2e

REAL = EXAMPLES / "real"
EXPORTS = {
    "marketplace": ["marketplace_mqls.csv", "marketplace_won_deals.csv"],
    "education": ["education_leads.csv"],
    "pipeline": ["pipeline_opportunities.csv", "pipeline_teams.csv"],
}
PAGES = {
    "": "Handoff Health",
    "funnel": "Funnel",
    "sla": "SLA & response",
    "rejections": "Rejections",
    "review": "Monthly review",
    "scoring": "Scoring lab",
    "data": "Data",
}


def import_export(name: str, db: Path) -> None:
    """Import one example export through its mapping, as a new user would."""
    files = [str(REAL / f) for f in EXPORTS[name]]
    run = subprocess.run(
        [sys.executable, "-m", "handoff", "import", "--db", str(db)]
        + ["--mapping", str(REAL / f"{name}.toml"), *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode in (0, 1), run.stdout + run.stderr


@pytest.fixture(scope="module", params=sorted(EXPORTS))
def imported_app(request, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(export name, URL) of `handoff serve` on a history imported from that export."""
    db = tmp_path_factory.mktemp("imported") / f"{request.param}.duckdb"
    import_export(request.param, db)
    with serve_dashboard(db, log_name=f"serve-imported-{request.param}") as url:
        yield request.param, url


@pytest.mark.parametrize("path", sorted(PAGES))
def test_every_page_renders_on_an_imported_history(imported_app, page, path):
    """Each page renders on an imported history with its heading and no exception box, and
    every card's value fits its card (at 1400 px "not measurable" once read "not measura…")."""
    name, url = imported_app
    page.goto(f"{url}/{path}")
    wait_for_app(page)
    expect(page.get_by_role("heading", name=PAGES[path]).first).to_be_visible()
    assert_no_exception(page)
    assert cut_metric_values(page) == []
    screenshot(page, f"imported-{name}-{path or 'home'}")


def test_sla_page_says_not_measurable_without_sales_activities(page, tmp_path):
    """The marketplace export has no sales activities: the SLA page says so, no 0% shown."""
    db = tmp_path / "marketplace.duckdb"
    import_export("marketplace", db)
    with serve_dashboard(db, log_name="serve-imported-sla") as url:
        page.goto(f"{url}/sla")
        wait_for_app(page)
        expect(page.get_by_text("not measurable", exact=False).first).to_be_visible()
        assert "0.0%" not in page.get_by_test_id("stMain").inner_text()
        assert_no_exception(page)
