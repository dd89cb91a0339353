"""The Settings page through Streamlit's AppTest, against the small demo database."""

from __future__ import annotations

import shutil

import pytest

from analysis import store
from analysis.demo import rule
from analysis.store import settings as st
from dashboard import state

PAGE = "app_pages/settings.py"


def settings_table(at) -> dict[str, str]:
    assert len(at.table) == 1
    frame = at.table[0].value
    return dict(zip(frame.index, frame["value"], strict=True))


def stored(path) -> st.CompanySettings:
    con = store.connect_read_only(path)
    try:
        return st.load(con)
    finally:
        con.close()


def test_shows_the_stored_settings_with_their_meaning(app_at):
    """Every setting is listed with its stored value and what it means; unset shows (not set)."""
    at = app_at(PAGE)
    table = settings_table(at)
    assert list(table) == list(st.KEYS)
    assert table["target_industries"] == "Software, Financial Services, Manufacturing"
    assert table["target_regions"] == "North America, EMEA"
    assert table["min_employees"] == "200"
    assert table["senior_title_pattern"] == rule.DEMO_SETTINGS.senior_title_pattern
    assert table["crm_record_url"] == "(not set)"
    meanings = at.table[0].value["what it means"]
    assert meanings.tolist() == [st.DESCRIPTIONS[k] for k in st.KEYS]


def test_read_only_by_default_shows_the_equivalent_command(app_at, demo_db):
    """Without write permission there is no Save button; the page shows the CLI command,
    which follows the chosen setting and the typed value."""
    at = app_at(PAGE)
    assert not [b for b in at.button if b.key == "settings_save"]
    assert "read-only" in at.info[0].value
    assert at.code[0].value == (
        f"handoff settings set --db {demo_db} target_industries "
        "'Software, Financial Services, Manufacturing'"
    )
    at.selectbox(key="settings_key").set_value("currency").run()
    at.text_input(key="settings_value_currency").input("EUR").run()
    assert at.code[0].value == f"handoff settings set --db {demo_db} currency EUR"
    assert stored(demo_db) == rule.DEMO_SETTINGS


@pytest.fixture()
def writable_copy(demo_db, tmp_path, monkeypatch):
    """A copy of the demo database that the page is allowed to change."""
    path = tmp_path / "copy.duckdb"
    shutil.copyfile(demo_db, path)
    monkeypatch.setattr(state, "writes_enabled", lambda: True, raising=False)
    return path


def test_when_writes_are_enabled_save_changes_the_file(app_at, writable_copy, monkeypatch):
    """With write permission, Save stores the value through the write path and the table
    shows it; a refused value shows its reason naming the setting and writes nothing."""
    monkeypatch.setenv("HANDOFF_DB", str(writable_copy))
    at = app_at(PAGE)
    at.selectbox(key="settings_key").set_value("min_employees").run()
    at.text_input(key="settings_value_min_employees").input("lots").run()
    before = writable_copy.read_bytes()
    at.button(key="settings_save").click().run()
    assert "min_employees must be a whole number" in at.error[0].value
    assert writable_copy.read_bytes() == before

    at.text_input(key="settings_value_min_employees").input("1000").run()
    at.button(key="settings_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert stored(writable_copy).min_employees == 1000
    assert stored(writable_copy).target_regions == rule.DEMO_SETTINGS.target_regions
    assert settings_table(at)["min_employees"] == "1000"
    assert "Saved: min_employees = 1000" in at.success[0].value
