"""Flat imports under hostile or implausible input (issue 14): mapping dates, deep TOML,
personal columns kept out of refused rows."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from analysis import store
from analysis.imports import flat, tomltext
from tests.paths import EXAMPLES, ROOT

TODAY = date(2026, 12, 1)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "value",
    [
        '"0001-01-01"',
        "0001-01-01",
        '"1969-12-31"',
        '"9999-12-31"',
        "2999-01-01",
        '"now"',
        '"today"',
        '"yesterday"',
        "12",
    ],
)
def test_implausible_or_relative_fallback_is_refused(tmp_path: Path, value: str) -> None:
    """created_at_fallback outside 1970-01-01 .. today + 1 year, or a word, is a MappingError."""
    path = write(tmp_path / "m.toml", f'created_at_fallback = {value}\n[fields]\nlead_id = "id"\n')
    with pytest.raises(flat.MappingError, match="created_at_fallback"):
        flat.load_mapping(path)


def test_plausible_fallback_edges_are_accepted() -> None:
    """The range's edges are accepted: 1970-01-01 and exactly one year (366 days) ahead."""
    assert flat.mapping_date("1970-01-01", "k", "m", TODAY) == date(1970, 1, 1)
    assert flat.mapping_date(date(2027, 12, 2), "k", "m", TODAY) == date(2027, 12, 2)
    with pytest.raises(flat.MappingError, match="outside the plausible range"):
        flat.mapping_date(date(2027, 12, 3), "k", "m", TODAY)


def test_cli_refuses_an_implausible_fallback_with_exit_2(tmp_path: Path) -> None:
    """`handoff import` exits 2 with a one-line reason naming the key; nothing is created."""
    mapping = write(tmp_path / "m.toml", 'extends = "hubspot"\ncreated_at_fallback = 0001-01-01\n')
    db = tmp_path / "h.duckdb"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "handoff",
            "import",
            "--db",
            str(db),
            "--mapping",
            str(mapping),
            str(EXAMPLES / "hubspot_contacts_undated.csv"),
        ],  # fmt: skip
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert "created_at_fallback" in run.stderr and "Traceback" not in run.stderr
    assert not db.exists()


@pytest.mark.parametrize(
    "text",
    [
        "x = " + "[" * 5000 + "]" * 5000,  # nested arrays: tomllib recurses on these
        "[" + ".".join(f"t{i}" for i in range(3000)) + "]\nk = 1",  # a 3000-level table
        "[values.source]\n" + "\n".join(f'"v{i}" = "w"' for i in range(90_000)),  # > 1 MB
    ],
    ids=["deep-arrays", "deep-tables", "huge"],
)
def test_deep_or_huge_toml_is_a_mapping_error(tmp_path: Path, text: str) -> None:
    """A deeply nested or huge mapping gives a clear MappingError, never RecursionError."""
    path = write(tmp_path / "deep.toml", text)
    with pytest.raises(flat.MappingError, match="deep.toml: (nested deeper|larger than)"):
        flat.load_mapping(path)


def test_toml_depth_limit_keeps_real_mappings() -> None:
    """Every shipped preset and example mapping is within the limits."""
    for path in [*(ROOT / "analysis/imports/presets").glob("*.toml"),
                 *(EXAMPLES / "real").glob("*.toml")]:  # fmt: skip
        assert tomltext.loads(path.read_text())


def test_refused_rows_keep_no_excluded_columns(tmp_path: Path) -> None:
    """A refused row's raw text holds the mapped and kept columns only: the phone number
    the preset excludes is neither stored in import_rejects nor returned.

    By hand: row 2 has an unreadable create date (refused, leads), row 3 repeats row 2's
    id (refused, duplicate key); both rows carry a phone number.
    """
    csv = (
        "Record ID,Email,Phone Number,Create Date,Industry\n"
        "7001,a@x.com,+1 555 0100,not a date,Software\n"
        "7001,b@x.com,+1 555 0199,2024-03-01,Retail\n"
    )
    src = write(tmp_path / "contacts.csv", csv)
    db = tmp_path / "h.duckdb"
    result = flat.import_flat(db, [src], preset="hubspot")
    assert len(result.refused) == 1  # row 2; row 3 is then the first 7001 and is kept
    con = store.connect_read_only(db)
    try:
        raws = [r[0] for r in con.execute("SELECT raw FROM import_rejects").fetchall()]
    finally:
        con.close()
    assert len(raws) == 1 and "555" not in raws[0] and "a@x.com" in raws[0]
    assert not result.refused["raw"].str.contains("555").any()
    assert raws[0] == "7001,a@x.com,not a date,Software"


def test_refused_deals_keep_no_unkept_columns(tmp_path: Path) -> None:
    """A refused deal row stores its mapped deal columns, not the others in the file.

    By hand: the deal's lead L9 is unknown -> refused; its `Notes` column is not mapped
    and not kept as a property.
    """
    leads = write(tmp_path / "leads.csv", "Lead ID,Created Date\nL1,2024-01-02\n")
    deals = write(
        tmp_path / "opportunities.csv",
        "Opportunity ID,Lead ID,Created Date,Stage,Notes\nO1,L9,2024-02-01,Open,call +1 555 0100\n",
    )
    result = flat.import_flat(tmp_path / "h.duckdb", [leads, deals], preset="salesforce")
    refused = result.refused.set_index("table").loc["opportunities"]
    assert refused["raw"] == "O1,L9,2024-02-01,Open"


def test_deal_without_a_create_date_takes_its_close_date(tmp_path: Path) -> None:
    """A deal row whose create date is blank uses its close date (not the fallback day),
    so it is neither refused nor moved.

    By hand: O1 created blank, closed 2024-03-01, won -> created_at = closed_at =
    2024-03-01; its lead was created 2024-01-02, so nothing is out of order.
    """
    leads = write(tmp_path / "leads.csv", "Lead ID,Created Date\nL1,2024-01-02\n")
    deals = write(
        tmp_path / "opportunities.csv",
        "Opportunity ID,Lead ID,Created Date,Close Date,Stage\nO1,L1,,2024-03-01,Closed Won\n",
    )
    db = tmp_path / "h.duckdb"
    result = flat.import_flat(db, [leads, deals], preset="salesforce", today=TODAY)
    assert result.refused.empty
    con = store.connect_read_only(db)
    try:
        row = con.execute("SELECT created_at, closed_at, outcome FROM opportunities").fetchone()
    finally:
        con.close()
    assert [str(v) for v in row] == ["2024-03-01 00:00:00", "2024-03-01 00:00:00", "won"]
