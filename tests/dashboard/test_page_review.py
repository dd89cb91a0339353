"""The Monthly review page through Streamlit's AppTest, against the small demo database."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from analysis import store
from analysis.lifecycle import metrics, review
from dashboard import review_sections as sections
from tests.paths import APP

PAGE = "app_pages/review.py"


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def headline_of(db, month) -> dict:
    con = store.connect_read_only(db)
    try:
        return metrics.headline(con, month, review.month_end(month))
    finally:
        con.close()


@pytest.fixture(scope="module")
def months(demo_db) -> list:
    con = store.connect_read_only(demo_db)
    try:
        return review.available_months(con)
    finally:
        con.close()


def test_page_shows_the_last_complete_month(app_at, demo_db, months) -> None:
    """It opens on the last complete month with data, with its MQLs, four health checks
    and three charts (goals, and the open Outcomes tab's status and reasons). The demo
    ends on 2026-10-31 (before 1 November), so October is still immature and the page
    opens on September 2026 (the newest month is still listed).
    """
    at = app_at(PAGE)
    assert months[0] == review.parse_month("2026-10")
    assert at.selectbox(key="rv_month").value == review.parse_month("2026-09")
    head = headline_of(demo_db, review.parse_month("2026-09"))
    assert metric_values(at)["MQLs"] == f"{head['volumes']['mql']:,}"
    assert len(at.get("plotly_chart")) == 3
    assert at.query_params.get("section", "outcomes") == "outcomes"
    text = " ".join(m.value for m in at.markdown)
    for name in ("MQLs not contacted within SLA", "MQLs not sales-ready", "Not enough MQLs"):
        assert name in text
    assert "Too many MQLs" in text


def test_changing_the_month_changes_the_numbers(app_at, demo_db, demo_truth) -> None:
    """Choosing a planted breach month shows that month's MQLs and SLA compliance, and
    the SLA check reports a problem.
    """
    at = app_at(PAGE)
    before = metric_values(at)
    month = review.parse_month(demo_truth["sla_breach"]["months"][1])
    at.selectbox(key="rv_month").set_value(month).run()
    assert not at.exception, [e.value for e in at.exception]
    after = metric_values(at)
    head = headline_of(demo_db, month)
    assert after["MQLs"] == f"{head['volumes']['mql']:,}"
    k = sum(t["k"] for t in head["sla"])
    n = sum(t["n"] for t in head["sla"])
    assert after["Contacted within SLA"] == f"{k / n:.1%}"
    assert after != before
    sla_text = next(m.value for m in at.markdown if "MQLs not contacted within SLA" in m.value)
    assert "problem" in sla_text


def test_saving_targets_in_the_editor_adds_rows(
    demo_db, demo_truth, tmp_path, monkeypatch, writable
):
    """In the Targets tab, editing an empty cell (November's leads) and saving writes one
    targets row to the database (a copy: the shared demo database stays as it is), and
    the page reloads it. The editor is drawn only while its tab is open."""
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(demo_db, db)
    monkeypatch.setenv("HANDOFF_DB", str(db))

    def count(where: str = "TRUE") -> int:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return con.execute(f"SELECT count(*) FROM targets WHERE {where}").fetchone()[0]
        finally:
            con.close()

    before = count()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.data_editor  # the outcomes' tab is open first
    at.session_state["rv_section"] = "Targets"
    at.run()
    assert at.query_params["section"] == "targets"
    editor = at.data_editor[0]
    grid = editor.value
    year = review.parse_month(demo_truth["end"]).year
    row = grid.index[grid["month"] == f"{year}-11"][0]
    assert grid.loc[row, "leads"] != grid.loc[row, "leads"]  # NaN: no target yet
    at.session_state["rv_targets_editor_0"] = {
        "edited_rows": {int(row): {"leads": 512}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    save = at.button(key="rv_targets_save")
    assert save.label == "Save 1 change" and not save.disabled
    save.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert count() == before + 1
    assert count(f"month = DATE '{year}-11-01' AND metric = 'leads' AND value = 512") == 1
    assert any("1 target(s) set" in s.value for s in at.success)
    grid_after = at.data_editor[0].value
    assert grid_after.loc[row, "leads"] == 512


def test_the_plan_keeps_its_goal_while_its_tab_is_closed(app_at, demo_db) -> None:
    """A revenue goal and window set in the plan's tab are what the report uses
    (``plan_choice``), and they are still there after the Targets tab was open (the
    plan's widgets were not drawn meanwhile)."""
    at = app_at(PAGE, query={"section": "plan"})
    month_iso = at.selectbox(key="rv_month").value.strftime("%Y-%m")
    goal_key = f"rv_goal_{month_iso}"
    default_goal = at.number_input(key=goal_key).value
    at.number_input(key=goal_key).set_value(default_goal + 100_000).run()
    at.selectbox(key="rv_trailing").set_value(12).run()
    assert at.session_state[sections.PLAN_CHOICE][month_iso] == default_goal + 100_000
    at.session_state["rv_section"] = "Targets"
    at.run()
    assert not [n for n in at.number_input if n.key == goal_key]
    assert at.data_editor  # the targets editor instead
    at.session_state["rv_section"] = "Reverse-funnel plan"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key=goal_key).value == default_goal + 100_000
    assert at.selectbox(key="rv_trailing").value == 12
    assert at.session_state[sections.PLAN_CHOICE]["trailing"] == 12
