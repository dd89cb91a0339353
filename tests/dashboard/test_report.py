"""The offline HTML report of the monthly review (and its PDF) on the demo history."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from analysis import store
from analysis.lifecycle import metrics, review
from analysis.store import STAGES
from dashboard import report
from tests.journeys import build


class DataCells(HTMLParser):
    """Collects ``data-key`` -> (``data-value``, visible text) from the report."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, tuple[str, str]] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        key = a.get("data-key")
        if key is not None:
            self.cells[key] = (a.get("data-value", ""), "")
        self._open.append(key)

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        for key in reversed(self._open):
            if key is not None:
                value, text = self.cells[key]
                self.cells[key] = (value, text + data)
                break


@pytest.fixture(scope="module")
def month(demo_truth) -> str:
    """The demo's last month, the one a review would be run for."""
    return demo_truth["end"][:7]


@pytest.fixture(scope="module")
def report_file(demo_db, month, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "review.html"
    con = store.connect_read_only(demo_db)
    try:
        report.render_report(con, month, out)
    finally:
        con.close()
    return out


@pytest.fixture(scope="module")
def headline(demo_db, month) -> dict:
    con = store.connect_read_only(demo_db)
    try:
        first = review.parse_month(month)
        return metrics.headline(con, first, review.month_end(first))
    finally:
        con.close()


@pytest.fixture(scope="module")
def cells(report_file) -> dict[str, tuple[str, str]]:
    parser = DataCells()
    parser.feed(report_file.read_text(encoding="utf-8"))
    return parser.cells


def test_report_numbers_equal_the_headline(cells, headline) -> None:
    """Every volume, conversion, SLA tier and top rejection reason in the report carries
    the headline's value and shows it formatted.
    """
    for stage, v in headline["volumes"].items():
        assert cells[f"volume.{stage}"] == (str(v), f"{v:,}"), stage
    # the month's funnel table shows each adjacent step (lead -> mql ... opportunity -> won)
    for s, t in zip(STAGES, STAGES[1:], strict=False):
        step, c = f"{s}_to_{t}", headline["conversions"][f"{s}_to_{t}"]
        assert cells[f"conv.{step}.k"] == (str(c["k"]), f"{c['k']:,} of {c['n']:,}"), step
        assert cells[f"conv.{step}.rate"][1] == f"{c['rate']:.1%}"
    for tier in headline["sla"]:
        assert cells[f"sla.{tier['tier']}.k"][1] == f"{tier['k']:,} of {tier['n']:,}"
        assert cells[f"sla.{tier['tier']}.rate"][1] == f"{tier['rate']:.1%}"
    for reason in headline["top_rejection_reasons"]:
        assert cells[f"reason.{reason['reason']}.count"][0] == str(reason["count"])
    assert cells["goal.mqls.actual"] == (
        str(headline["volumes"]["mql"]),
        f"{headline['volumes']['mql']:,}",
    )
    k = sum(t["k"] for t in headline["sla"])
    n = sum(t["n"] for t in headline["sla"])
    assert cells["goal.pct_contacted_in_sla.actual"][1] == f"{k / n:.1%} ({k:,} of {n:,})"


def test_report_is_self_contained(report_file) -> None:
    """plotly.js is embedded exactly once, four figures use it, and nothing is loaded
    from the network (no http(s) src or href, no CDN script).
    """
    text = report_file.read_text(encoding="utf-8")
    assert text.count("window.PlotlyConfig") == 1
    assert len(re.findall(r"plotly\.js v\d", text)) == 1
    assert len(re.findall(r'id="fig-[a-z]+"', text)) == 4
    markup = re.sub(r"<script>.*?</script>", "", text, flags=re.S)
    assert "<script" not in markup
    assert not re.search(r'(?:src|href)="https?://', markup)
    assert "cdn.plot.ly" not in markup
    assert 1_000_000 < report_file.stat().st_size < 10_000_000


def test_report_has_every_section(cells, report_file) -> None:
    """The page's sections are all there, with the four health checks."""
    text = report_file.read_text(encoding="utf-8")
    for section in ("summary", "goals", "health", "changes", "outcomes", "plan"):
        assert f'<section id="{section}">' in text
    assert len(re.findall(r'data-check="[a-z_]+"', text)) == 4
    assert "plan.needed.leads" in cells and "status.mql" in cells


def test_report_of_an_empty_database_is_refused(tmp_path) -> None:
    """An empty database has nothing to review: it says so instead of writing a page."""
    con = build({})
    with pytest.raises(ValueError, match="no history"):
        report.render_report(con, "2024-03", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_report_cli_writes_the_file(demo_db, month, tmp_path) -> None:
    """``report_cli`` opens the database read-only and writes the HTML where asked."""
    out = tmp_path / "nested" / "review.html"
    written = report.report_cli(demo_db, month, out)
    assert written == [out]
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.e2e
def test_report_loads_offline_in_chromium(browser, report_file) -> None:
    """Opened from file:// with every other request aborted, the report draws its four
    charts and logs no console error.
    """
    from tests.browser import WAIT_MS  # imports playwright: only for the browser test

    context = browser.new_context(viewport={"width": 1300, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    try:
        page.goto(report_file.as_uri())
        page.wait_for_function(
            "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4",
            timeout=WAIT_MS,  # a ceiling: a busy machine only makes the test slower
        )
        assert page.locator("h1").inner_text().startswith("Monthly smarketing review")
    finally:
        context.close()
    assert errors == []
    assert outside == []


@pytest.mark.skipif(report.chromium_path() is None, reason="PDF export needs chromium")
def test_report_prints_to_pdf(report_file, tmp_path) -> None:
    """Headless chromium prints the report to a multi-page PDF."""
    pdf = report.render_pdf(report_file, tmp_path / "review.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 2


def test_report_on_a_won_deals_export_says_not_measurable(tmp_path) -> None:
    """On fixture (a) (MQLs + won deals, no activities, amounts, targets) the February
    report counts 2 deals won (m1 Feb 15, m4 Feb 8), and says "not measurable" for SLA,
    won revenue and goals instead of 0.
    """
    from tests.lifecycle import exports

    out = tmp_path / "a.html"
    report.render_report(exports.marketplace(), "2024-02", out)
    parser = DataCells()
    text = out.read_text(encoding="utf-8")
    parser.feed(text)
    cells = parser.cells
    assert cells["deals.won"] == ("2", "2") and cells["tile.deals_won"][0] == "2"
    assert cells["tile.won_revenue"] == ("", "not measurable")
    assert cells["deals.won_revenue"] == ("", "not measurable")
    assert cells["tile.sla"][1] == "not measurable"
    assert "Not measurable: this history has no sales activities" in text
    assert "Not measurable: this history has no targets" in text
    assert cells["volume.lead"][1] == "not measurable" and cells["volume.mql"][0] == "2"
    # What changed: 2 won and 0 lost deals are no 100% win rate; the reason is printed.
    assert cells["change.win_rate.rate"][1] == "not measurable"
    assert cells["change.win_rate.verdict"][1] == "not measurable"
    assert cells["change.mql_to_sql.rate"][1] == "50.0% (1 of 2)"
    assert "Not measurable: Win rate of deals closed: this history records no lost deals" in text
    assert "Not measurable: this history has no sales dispositions" in text
    assert "No rejections recorded" not in text  # no empty reasons chart under that note


def _check(name: str, fired: bool, assessed: bool):
    from analysis.lifecycle import review as rv

    return rv.HealthCheck(name, name.title(), fired, assessed, (), None, "rule", "finding")


def test_health_tile_counts_only_the_checks_this_history_can_assess() -> None:
    """One fired of two assessed reads "1 of 2" and names the two left out; none assessed
    reads "not measurable", never "0 of 4"."""
    checks = [
        _check("sla", True, True),
        _check("too few", False, True),
        _check("too many", False, False),
        _check("not ready", False, False),
    ]
    value, note = report.health_text(checks)
    assert value == "1 of 2"
    assert note.endswith("Not assessed (see below): Too Many; Not Ready.")
    value, note = report.health_text([_check(k, False, False) for k in "abcd"])
    assert value == "not measurable" and "None of the 4 health checks" in note
    assert report.health_text([_check("a", False, True)]) == (
        "0 of 1",
        "Health checks that fired this month, of those this history can assess.",
    )


def test_month_caveat_names_a_running_month_or_a_history_without_dates() -> None:
    """A complete month of a dated history needs no caveat; a running one says how much
    of it the data covers (10 of 31 days = 32%); an undated history says the month holds
    all of it, whether or not the month is complete."""
    from datetime import date, datetime
    from types import SimpleNamespace

    def head(dated: bool, complete: bool, as_of: datetime) -> SimpleNamespace:
        avail = SimpleNamespace(dates=SimpleNamespace(measurable=dated))
        elapsed = (as_of - datetime(2024, 5, 1)) / (datetime(2024, 6, 1) - datetime(2024, 5, 1))
        return SimpleNamespace(
            availability=avail, label="May 2024", month=date(2024, 5, 1),
            complete=complete, elapsed=min(elapsed, 1.0), as_of=as_of,
        )  # fmt: skip

    assert report.month_caveat(head(True, True, datetime(2024, 6, 3))) is None
    kind, text = report.month_caveat(head(True, False, datetime(2024, 5, 11)))
    assert kind == "running"
    assert text.startswith("**May 2024 is still in progress (immature)**: the data covers 32%")
    assert "(up to 2024-05-11 00:00 UTC)" in text
    for complete, as_of in ((False, datetime(2024, 5, 1)), (True, datetime(2024, 6, 2))):
        kind, text = report.month_caveat(head(False, complete, as_of))
        assert kind == "undated" and "in progress" not in text
        assert f"sits on {as_of:%d %b %Y}, so May 2024 holds all of it" in text


def test_report_on_an_undated_export_does_not_count_unassessed_checks(tmp_path) -> None:
    """Fixture (b) (no dates, no activities, targets or capacities): none of the four
    checks can be assessed, so the tile says "not measurable" and the summary says why
    instead of "No health check fired"."""
    from tests.lifecycle import exports

    out = tmp_path / "b.html"
    report.render_report(exports.undated(), "2024-05", out)
    parser = DataCells()
    text = out.read_text(encoding="utf-8")
    parser.feed(text)
    assert parser.cells["checks.fired"] == ("", "not measurable")
    assert "None of the 4 health checks can be assessed on this history" in text
    assert "No health check fired this month" not in text
    # every entry sits on 2024-05-01 00:00: no dates, not "in progress, 0% covered"
    assert "This history has no dates: every lead and stage entry sits on 01 May 2024" in text
    assert "still in progress" not in text
    # no lost deals or dispositions recorded: those statuses are left out, not 0
    assert parser.cells["status.won"][1] == "4" and "status.lost" not in parser.cells
    assert "Not measurable: rejected and nurture: this history has no sales dispositions" in text
    # every rate of "What changed" is not measurable: not "no rate moved beyond noise"
    assert "No rate can be compared with the month before on this history" in text
    assert "No rate moved beyond noise" not in text
