"""A bad value in an optional field leaves that field empty and keeps the row, with a finding;
a bad required value still refuses the row. Also: what a batch writes, per file and table."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd

from analysis import store
from analysis.imports import counts, flat, ingest
from tests.paths import EXAMPLES


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).strip() + "\n")
    return path


def rows(db: Path, sql: str) -> list[tuple]:
    con = store.connect_read_only(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_native_lots_of_employees_keeps_the_lead(tmp_path: Path) -> None:
    """An employee count of "lots" keeps lead L2 with employees empty and records a warning
    naming the file, row 3, the column and the value; L3's empty created_at (required)
    still refuses it; the finding is stored in import_warnings."""
    path = write(
        tmp_path / "leads.csv",
        """
        lead_id,created_at,employees,email_domain_kind
        L1,2024-03-01,12,corporate
        L2,2024-03-02,lots,free
        L3,,7,corporate
        """,
    )
    db = tmp_path / "h.duckdb"
    result = ingest.import_files(db, [path])
    assert result.accepted == {"leads": 2}
    assert result.refused[["row_number", "column"]].values.tolist() == [[4, "created_at"]]
    (warning,) = result.warnings.to_dict("records")
    assert (warning["file"], warning["row_number"], warning["column"]) == (
        "leads.csv",
        3,
        "employees",
    )
    assert warning["value"] == "lots" and "not a whole number" in warning["reason"]
    assert rows(db, "SELECT lead_id, employees FROM leads ORDER BY 1") == [("L1", 12), ("L2", None)]
    stored = rows(db, 'SELECT file, row_number, "column", value FROM import_warnings')
    assert stored == [("leads.csv", 3, "employees", "lots")]
    # A warning is not a refusal: the batch exits 1 only for the refused row.
    assert result.exit_code == 1


def test_other_optional_fields_are_left_empty(tmp_path: Path) -> None:
    """A touchpoint value "long" and a negative deal amount are left empty (2 warnings);
    the touchpoint and the deal are kept. An unknown touchpoint kind (required) refuses."""
    leads = write(tmp_path / "leads.csv", "lead_id,created_at\nL1,2024-03-01")
    touch = write(
        tmp_path / "touchpoints.csv",
        """
        lead_id,occurred_at,kind,value
        L1,2024-03-02,page_view,long
        L1,2024-03-03,teleport,5
        """,
    )
    deals = write(
        tmp_path / "opportunities.csv",
        "opportunity_id,lead_id,created_at,amount,outcome\nO1,L1,2024-03-04,-5,open",
    )
    db = tmp_path / "h.duckdb"
    result = ingest.import_files(db, [leads, touch, deals])
    assert result.accepted == {"leads": 1, "touchpoints": 1, "opportunities": 1}
    assert result.refused[["table", "column"]].values.tolist() == [["touchpoints", "kind"]]
    got = result.warnings[["table", "row_number", "column", "value"]].values.tolist()
    assert got == [["touchpoints", 2, "value", "long"], ["opportunities", 2, "amount", "-5"]]
    assert rows(db, "SELECT amount FROM opportunities") == [(None,)]


def test_flat_export_lots_of_employees(tmp_path: Path) -> None:
    """The dirty HubSpot export's row 10 (1009, "lots" employees) is imported with no
    employee count, and the warning names the export's own column."""
    db = tmp_path / "h.duckdb"
    result = flat.import_flat(db, [EXAMPLES / "hubspot_contacts_dirty.csv"], preset="hubspot")
    (warning,) = result.warnings.to_dict("records")
    assert warning["file"] == "hubspot_contacts_dirty.csv" and warning["row_number"] == 10
    assert warning["column"] == "Number of Employees" and warning["value"] == "lots"
    assert rows(db, "SELECT employees FROM leads WHERE lead_id = '1009'") == [(None,)]
    # Row 8's empty Record ID (required) is still refused.
    refused = result.refused[["row_number", "column"]].values.tolist()
    assert [8, "Record ID"] in refused


TEN_LEADS = """
Record ID,Create Date,Became a Marketing Qualified Lead Date,Lead Status,Product Interest
1,2024-01-01,2024-01-02,New,A
2,2024-01-01,2024-01-02,New,
3,2024-01-01,2024-01-02,Open,B
4,2024-01-01,2024-01-02,Open,
5,2024-01-01,2024-01-02,Open,C
6,2024-01-01,2024-01-02,Open,
7,2024-01-01,2024-01-02,Open,
8,2024-01-01,2024-01-02,Open,
9,2024-01-01,2024-01-02,Open,
10,2024-01-01,2024-01-02,Open,
"""


def test_dry_run_counts_per_file_and_table(tmp_path: Path) -> None:
    """A 10-row leads file: 10 leads, 10 MQL stage changes, and properties for the two
    kept columns (Lead Status in 10 rows, Product Interest: a column with a value
    somewhere is kept for every lead) = 20 properties; said for the file, rows first."""
    path = write(tmp_path / "leads.csv", TEN_LEADS)
    result = flat.import_flat(tmp_path / "h.duckdb", [path], preset="hubspot", dry_run=True)
    assert result.file_rows == {"leads.csv": 10}
    table = counts.per_file(result)
    assert table[["table", "written"]].values.tolist() == [
        ["leads", 10],
        ["lead_properties", 20],
        ["stage_changes", 10],
    ]
    assert counts.file_lines(result, dry_run=True) == [
        "leads.csv: 10 rows → would write 10 leads, 20 properties, 10 stage changes"
    ]
    assert not (tmp_path / "h.duckdb").exists()


def test_counts_name_each_file(tmp_path: Path) -> None:
    """Two native files: each line names its own file and table, singular for one row."""
    leads = write(tmp_path / "leads.csv", "lead_id,created_at\nL1,2024-03-01\nL2,2024-03-01")
    changes = write(tmp_path / "stage_changes.csv", "lead_id,stage,changed_at\nL1,mql,2024-03-02")
    result = ingest.import_files(tmp_path / "h.duckdb", [leads, changes])
    assert counts.file_lines(result, dry_run=False) == [
        "leads.csv: 2 rows → wrote 2 leads",
        "stage_changes.csv: 1 row → wrote 1 stage change",
    ]
    assert isinstance(
        counts.stored_warnings(store.connect_read_only(tmp_path / "h.duckdb")), pd.DataFrame
    )
