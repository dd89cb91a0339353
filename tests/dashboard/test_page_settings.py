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
    return dict(zip(frame.index, frame["Value"], strict=True))


def stored(path) -> st.CompanySettings:
    con = store.connect_read_only(path)
    try:
        return st.load(con)
    finally:
        con.close()


def test_shows_the_stored_settings_with_their_meaning(app_at):
    """Every setting is listed by name in words with its stored value and what it means;
    the currency shows how an amount reads (USD 1,639,000), the size a count; unset shows
    (not set); no label is a stored code."""
    at = app_at(PAGE)
    table = settings_table(at)
    assert list(table) == [
        "Target industries",
        "Target regions",
        "Company size for a good fit",
        "Senior job title pattern",
        "Currency",
        "CRM record link",
        "Show personal data",
    ]
    assert table["Target industries"] == "Software, Financial Services, Manufacturing"
    assert table["Target regions"] == "North America, EMEA"
    assert table["Company size for a good fit"] == "200 employees or more"
    assert table["Senior job title pattern"] == rule.DEMO_SETTINGS.senior_title_pattern
    assert table["Currency"] == "USD (amounts read like USD 1,639,000)"
    assert table["CRM record link"] == "(not set)"
    assert table["Show personal data"] == "No"
    meanings = at.table[0].value["What it means"]
    assert meanings.tolist() == [st.DESCRIPTIONS[k] for k in st.KEYS]
    labels = [*at.table[0].value.columns, *table, at.selectbox(key="settings_key").label]
    labels += list(at.selectbox(key="settings_key").options)
    assert not [t for t in labels if "_" in t]


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
    assert "Amounts will read like EUR 1,639,000." in [c.value for c in at.caption]
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
    assert settings_table(at)["Company size for a good fit"] == "1,000 employees or more"
    assert "Saved: Company size for a good fit = 1,000 employees or more" in at.success[0].value
