"""`handoff settings` and `handoff generate --force`, run as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from analysis import store
from analysis.demo import rule
from analysis.store import settings as st
from tests.paths import ROOT


def handoff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "handoff", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture()
def db(tmp_path):
    """An empty database as a new install creates it (no settings stored)."""
    path = tmp_path / "h.duckdb"
    with store.write_session(path, create=True):
        pass
    return path


def stored(path) -> st.CompanySettings:
    con = store.connect_read_only(path)
    try:
        return st.load(con)
    finally:
        con.close()


def test_show_prints_the_demo_settings_as_json(demo_db):
    """`settings --json` prints the stored settings of a demo database."""
    result = handoff("settings", "--db", str(demo_db), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == st.to_mapping(rule.DEMO_SETTINGS)


def test_show_table_says_what_each_setting_means(db):
    """The table lists every setting with its meaning; unset values read (not set)."""
    result = handoff("settings", "--db", str(db))
    assert result.returncode == 0, result.stderr
    flat = " ".join(result.stdout.split())
    for key in st.KEYS:
        assert key in flat
    assert "(not set)" in flat and "Company size (employees)" in flat


def test_set_changes_one_setting_through_the_write_path(db):
    """`set` takes comma-separated or JSON lists, numbers and booleans; others stay."""
    assert (
        handoff("settings", "set", "--db", str(db), "target_regions", "EMEA, APAC").returncode == 0
    )
    json_list = '["Software", "Retail, Wholesale"]'
    assert (
        handoff("settings", "set", "--db", str(db), "target_industries", json_list).returncode == 0
    )
    assert handoff("settings", "set", "--db", str(db), "min_employees", "50").returncode == 0
    result = handoff("settings", "set", "--db", str(db), "show_personal_data", "true")
    assert result.returncode == 0, result.stderr
    assert "show_personal_data = true" in result.stderr
    got = stored(db)
    assert got.target_regions == ("EMEA", "APAC")
    assert got.target_industries == ("Software", "Retail, Wholesale")
    assert got.min_employees == 50 and got.show_personal_data is True
    assert got.currency == "USD"


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("min_employees", "lots", "min_employees must be a whole number"),
        ("currency", "usd", "currency must be a 3-letter ISO code"),
        ("senior_title_pattern", "(VP", "senior_title_pattern must be a regular expression"),
        ("crm_record_url", "https://crm/x", "crm_record_url must contain {lead_id}"),
        ("show_personal_data", "maybe", "show_personal_data must be true or false"),
        ("colour", "blue", "unknown setting 'colour'"),
    ],
)
def test_bad_value_exits_2_naming_the_key_and_writes_nothing(db, key, value, named):
    """A refused value exits 2 with one line naming the setting; the file is unchanged."""
    before = db.read_bytes()
    result = handoff("settings", "set", "--db", str(db), key, value)
    assert result.returncode == 2
    assert named in one_line(result)
    assert db.read_bytes() == before


def test_import_changes_only_the_keys_in_the_file(db, tmp_path):
    """`import FILE.toml` sets the keys it names and keeps the others as stored."""
    assert handoff("settings", "set", "--db", str(db), "currency", "EUR").returncode == 0
    toml = tmp_path / "ours.toml"
    toml.write_text('target_regions = ["LATAM"]\nmin_employees = 1000\n')
    result = handoff("settings", "import", "--db", str(db), str(toml))
    assert result.returncode == 0, result.stderr
    got = stored(db)
    assert got.target_regions == ("LATAM",) and got.min_employees == 1000
    assert got.currency == "EUR"


def test_import_of_the_demo_example_stores_the_demo_settings(db):
    """Importing data/settings/demo.toml into a new database gives exactly DEMO_SETTINGS."""
    example = ROOT / "data" / "settings" / "demo.toml"
    result = handoff("settings", "import", "--db", str(db), str(example))
    assert result.returncode == 0, result.stderr
    assert stored(db) == rule.DEMO_SETTINGS


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("min_employees = \n", "not valid TOML"),
        ('currency = "dollars"\n', "currency must be a 3-letter ISO code"),
        ('colour = "blue"\n', "unknown setting(s) colour"),
    ],
)
def test_bad_import_exits_2_and_writes_nothing(db, tmp_path, text, named):
    """Unreadable TOML, a bad value or an unknown key: exit 2, one line, file unchanged."""
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    before = db.read_bytes()
    result = handoff("settings", "import", "--db", str(db), str(toml))
    assert result.returncode == 2
    line = one_line(result)
    assert named in line and "bad.toml" in line
    assert db.read_bytes() == before


def test_settings_of_a_missing_database_exit_2(tmp_path):
    """Showing or setting on a missing file exits 2 naming the file."""
    missing = str(tmp_path / "nope.duckdb")
    for args in (
        ("settings", "--db", missing),
        ("settings", "set", "--db", missing, "currency", "EUR"),
    ):
        result = handoff(*args)
        assert result.returncode == 2
        assert "nope.duckdb" in one_line(result)


def test_generate_refuses_an_existing_database_without_force(db):
    """`generate` on an existing file exits 2 with one line and leaves it untouched;
    with --force it replaces it with the demo history."""
    before = db.read_bytes()
    args = ("generate", "--db", str(db), "--leads", "300", "--months", "2", "--end", "2026-06-30")
    refused = handoff(*args)
    assert refused.returncode == 2
    line = one_line(refused)
    assert "already exists" in line and "--force" in line
    assert db.read_bytes() == before
    forced = handoff(*args, "--force")
    assert forced.returncode == 0, forced.stderr
    con = store.connect_read_only(db)
    try:
        assert con.execute("SELECT count(*) FROM leads").fetchone()[0] >= 300
    finally:
        con.close()


def test_generate_force_never_replaces_a_file_that_is_not_ours(tmp_path):
    """--force still refuses (exit 2, one line) a file that is not a Handoff Health database."""
    other = tmp_path / "notes.duckdb"
    other.write_text("my notes")
    result = handoff("generate", "--db", str(other), "--leads", "300", "--force")
    assert result.returncode == 2
    assert "not a Handoff Health database" in one_line(result)
    assert other.read_text() == "my notes"
