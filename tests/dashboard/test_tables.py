"""The CSV every table downloads: exactly the rows shown, with formulas defused."""

from __future__ import annotations

import csv
import io

import pandas as pd

from dashboard import tables


def test_formula_prefixes_get_an_apostrophe_and_numbers_stay_numbers():
    """Text starting with =, +, -, @, tab or CR gets a leading apostrophe; plain text,
    negative numbers, dates and missing values are written unchanged."""
    df = pd.DataFrame(
        {
            "name": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "ok", None],
            "delta": [-1.5, 2.0, -3.0, 0.0, 1.0, 1.0, 1.0, 1.0],
            "when": pd.to_datetime(["2024-01-01"] * 8),
        }
    )
    text = tables.csv_bytes(df).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    back = pd.DataFrame(rows[1:], columns=rows[0])
    assert back["name"].tolist() == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "ok",
        "",
    ]
    assert back["delta"].tolist() == ["-1.5", "2.0", "-3.0", "0.0", "1.0", "1.0", "1.0", "1.0"]
    assert back["when"].tolist() == ["2024-01-01"] * 8
    assert df["name"].iloc[0] == '=HYPERLINK("http://x")'  # the shown frame is untouched


def test_a_formula_in_a_header_is_defused_too():
    """An imported property named '=cmd' becomes the header "'=cmd"."""
    df = pd.DataFrame({"=cmd": ["a"], "plain": ["b"]})
    header = tables.csv_bytes(df).decode("utf-8").splitlines()[0]
    assert header == "'=cmd,plain"


def test_writes_are_off_unless_the_server_was_started_with_allow_writes(monkeypatch):
    """writes_enabled() is false without HANDOFF_ALLOW_WRITES and for '0'; true for '1'."""
    from dashboard import state

    monkeypatch.delenv(state.WRITES_ENV, raising=False)
    assert state.writes_enabled() is False
    monkeypatch.setenv(state.WRITES_ENV, "0")
    assert state.writes_enabled() is False
    monkeypatch.setenv(state.WRITES_ENV, "1")
    assert state.writes_enabled() is True


def test_browser_writes_are_recorded_as_the_dashboard(monkeypatch):
    """write_actor() is 'dashboard:<user>' whether or not `serve` already set HANDOFF_ACTOR."""
    from dashboard import state

    monkeypatch.setenv("HANDOFF_ACTOR", "dashboard:ops")
    assert state.write_actor() == "dashboard:ops"
    monkeypatch.setenv("HANDOFF_ACTOR", "ops")
    assert state.write_actor() == "dashboard:ops"


def test_whole_number_columns_get_a_thousands_separator():
    """Plain integer columns (no config, or only a label) are shown localized (4,219);
    shares, text and columns a page configured itself are left as they are."""
    from dashboard.tables import PERCENT, _with_count_format

    df = pd.DataFrame({"n": [4219], "k": [12], "rate": [0.5], "who": ["a"], "own": [3]})
    config = _with_count_format(df, {"k": "In time", "rate": PERCENT, "own": PERCENT})
    assert config["n"]["type_config"]["format"] == "localized"
    assert config["k"]["label"] == "In time" and config["k"]["type_config"]["format"] == "localized"
    assert config["rate"] is PERCENT and config["own"] is PERCENT
    assert "who" not in config
