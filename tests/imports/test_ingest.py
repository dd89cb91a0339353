"""Native-format import: file reading, row validation, upserts, strict mode, row numbers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from analysis import store
from analysis.imports import ingest
from tests.paths import SAMPLES

SAMPLE_FILES = sorted(SAMPLES.glob("*.csv"))
DIRTY = SAMPLES / "dirty" / "stage_changes.csv"

# Data rows per sample file, counted by hand from data/samples/*.csv.
SAMPLE_COUNTS = {
    "leads": 8,
    "touchpoints": 12,
    "stage_changes": 20,
    "sales_activities": 6,
    "dispositions": 4,
    "opportunities": 2,
    "reps": 3,
    "targets": 5,
    "sla_policies": 2,
    "scoring_models": 1,
}


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Run a read-only query against the database file and return all rows."""
    con = store.connect_read_only(db)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def table_frame(db: Path, table: str) -> pd.DataFrame:
    """A table's full contents, sorted on every column so two snapshots compare equal."""
    con = store.connect_read_only(db)
    try:
        df = con.execute(f"SELECT * FROM {table}").df()
    finally:
        con.close()
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def write(path: Path, text: str) -> Path:
    """Write a CSV file from a text block (leading indentation and blank edges removed)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    """A database holding two leads: L1 created 2024-02-03 10:00 and L2 on 2024-01-01 00:00."""
    path = tmp_path / "h.duckdb"
    seed = write(
        tmp_path / "seed" / "leads.csv",
        """
        lead_id,created_at
        L1,2024-02-03 10:00
        L2,2024-01-01 00:00
        """,
    )
    result = ingest.import_files(path, [seed])
    assert result.accepted == {"leads": 2} and result.exit_code == 0
    return path


# --- file names and reading ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("leads.csv", "leads"),
        ("leads_2024.parquet", "leads"),
        ("Leads-March.CSV", "leads"),
        ("sales_activities_q1.csv", "sales_activities"),
        ("stage_changes.csv.gz", "stage_changes"),
        ("sla_policies.pq", "sla_policies"),
    ],
)
def test_table_for_file_reads_the_name(name: str, table: str) -> None:
    """It maps a file name (stem, or stem plus a suffix after _ or -) to its table."""
    assert ingest.table_for_file(Path(name)) == table


def test_table_for_file_prefers_the_explicit_table() -> None:
    """--table wins over the file name, and an unknown table is refused by name."""
    assert ingest.table_for_file(Path("export.csv"), "reps") == "reps"
    with pytest.raises(ingest.UnusableInput, match="unknown table 'widgets'"):
        ingest.table_for_file(Path("leads.csv"), "widgets")
    with pytest.raises(ingest.UnusableInput, match="leadsheet.csv: cannot tell which table"):
        ingest.table_for_file(Path("leadsheet.csv"))


def test_read_input_keeps_text_and_spreadsheet_row_numbers(tmp_path: Path) -> None:
    """Every cell stays text, header names are trimmed and lower-cased, rows are numbered
    from 2 (header = 1) and an empty line is skipped without shifting later numbers."""
    path = tmp_path / "leads.csv"
    path.write_text(" Lead_ID ,created_at,employees\nL1,2024-01-01,007\n\nL2,2024-01-02,\n")
    df = ingest.read_input(path)
    assert list(df.columns) == ["lead_id", "created_at", "employees"]
    assert list(df.index) == [2, 4]
    assert df.loc[2, "employees"] == "007"
    assert df.loc[4, "employees"] == ""


# --- the samples -----------------------------------------------------------------------------


def test_samples_import_cleanly(tmp_path: Path) -> None:
    """Every sample file imports with no refusal, and each table holds its file's rows."""
    db = tmp_path / "h.duckdb"
    result = ingest.import_files(db, SAMPLE_FILES)
    assert result.exit_code == 0 and result.applied and result.refused.empty
    assert result.accepted == SAMPLE_COUNTS
    for table, n in SAMPLE_COUNTS.items():
        assert query(db, f"SELECT count(*) FROM {table}") == [(n,)], table
    batches = query(db, "SELECT batch_id, kind, accepted, refused FROM import_batches")
    assert batches == [(result.batch_id, "import", sum(SAMPLE_COUNTS.values()), 0)]


def test_samples_store_typed_values(tmp_path: Path) -> None:
    """Sample values land typed: offsets converted to UTC, booleans, TIME, JSON, DATE."""
    db = tmp_path / "h.duckdb"
    ingest.import_files(db, SAMPLE_FILES)
    # leads.csv: L-0004 created 2024-01-08T16:45:00-05:00 = 21:45 UTC.
    assert query(db, "SELECT created_at FROM leads WHERE lead_id = 'L-0004'") == [
        (datetime(2024, 1, 8, 21, 45),)
    ]
    assert query(db, "SELECT tier, business_hours FROM sla_policies ORDER BY tier") == [
        ("hot", False),
        ("standard", True),
    ]
    assert query(db, "SELECT CAST(work_start AS VARCHAR) FROM reps WHERE rep_id = 'R-02'") == [
        ("08:30:00",)
    ]
    assert query(db, "SELECT weights->>'$.pricing_page' FROM scoring_models") == [("25",)]
    assert query(db, "SELECT count(*) FROM targets WHERE month = DATE '2024-01-01'") == [(4,)]
    # The quoted note with an embedded comma and doubled quotes survives intact.
    assert query(db, "SELECT note FROM dispositions WHERE lead_id = 'L-0002'") == [
        ('Budget frozen until Q3, "call back in July"',)
    ]


def test_dirty_sample_refuses_each_planted_fault(tmp_path: Path) -> None:
    """The dirty stage_changes sample has six planted faults on rows 3-8; rows 2 and 9 pass."""
    db = tmp_path / "h.duckdb"
    ingest.import_files(db, [SAMPLES / "leads.csv"])
    result = ingest.import_files(db, [DIRTY])
    assert result.exit_code == 1 and result.applied
    assert result.accepted == {"stage_changes": 2}
    got = result.refused[["row_number", "column", "problem"]].to_records(index=False).tolist()
    assert got == [
        (3, "changed_at", "relative time"),
        (4, "lead_id", "empty required value"),
        (5, "stage", "value not allowed"),
        (6, "lead_id", "unknown lead"),
        (7, "changed_at", "before the lead's creation"),
        (8, "lead_id, stage, changed_at", "duplicate key"),
    ]
    summary = result.summary()
    assert summary.iloc[0].to_dict() == {
        "table": "stage_changes",
        "status": "accepted",
        "column": "",
        "problem": "",
        "rows": 2,
    }
    assert summary.loc[summary.status == "refused", "rows"].sum() == 6


# --- one parametrised case per rule ----------------------------------------------------------

RULE_CASES = {
    # name: (file name, CSV text, bad row number, column, exact reason)
    "bad timestamp": (
        "stage_changes.csv",
        """
        lead_id,stage,changed_at
        L1,lead,2024-02-03 10:00
        L1,mql,2024-02-30 10:00
        L1,sql,2024-03-01 10:00
        """,
        3,
        "changed_at",
        "changed_at '2024-02-30 10:00' is not an ISO 8601 timestamp "
        "(e.g. 2024-03-01 14:30 or 2024-03-01T14:30:00+01:00)",
    ),
    "missing required value": (
        "touchpoints.csv",
        """
        lead_id,occurred_at,kind,detail
        L1,2024-03-01 10:00,page_view,pricing
        L1,2024-03-01 11:00,page_view,blog
        L1,2024-03-01 12:00,,blog
        """,
        4,
        "kind",
        "kind is empty",
    ),
    "value not allowed": (
        "dispositions.csv",
        """
        lead_id,decided_at,outcome,reason
        L1,2024-03-01 10:00,maybe,
        L2,2024-03-01 10:00,rejected,no_budget
        """,
        2,
        "outcome",
        "outcome 'maybe' is not one of: accepted, rejected, nurture, bad_data",
    ),
    "unknown lead": (
        "sales_activities.csv",
        """
        lead_id,rep_id,occurred_at,kind
        L9,R1,2024-03-01 10:00,call
        L2,R1,2024-03-01 10:00,call
        """,
        2,
        "lead_id",
        "lead_id 'L9' is neither in the database nor among the leads accepted in this batch",
    ),
    "stage change before creation": (
        "stage_changes.csv",
        """
        lead_id,stage,changed_at
        L1,lead,2024-02-03 10:00
        L1,mql,2024-01-01 00:00
        """,
        3,
        "changed_at",
        "changed_at 2024-01-01 00:00 UTC is before the lead's created_at 2024-02-03 10:00 UTC",
    ),
    "closed before created": (
        "opportunities.csv",
        """
        opportunity_id,lead_id,created_at,amount,closed_at,outcome
        O1,L2,2024-03-05,100,2024-03-01,lost
        O2,L2,2024-03-05,100,2024-03-07,won
        """,
        2,
        "closed_at",
        "closed_at 2024-03-01 00:00 UTC is before created_at 2024-03-05 00:00 UTC",
    ),
    "duplicate key": (
        "leads.csv",
        """
        lead_id,created_at
        L5,2024-03-01
        L6,2024-03-01
        L5,2024-04-01
        """,
        4,
        "lead_id",
        "duplicate key (lead_id=L5): row 2 of leads.csv has the same key and is the one imported",
    ),
    "bad boolean": (
        "sla_policies.csv",
        """
        tier,target_minutes,business_hours
        hot,15,sometimes
        standard,1440,YES
        """,
        2,
        "business_hours",
        "business_hours 'sometimes' is not one of yes/no/true/false/1/0",
    ),
    "bad date": (
        "targets.csv",
        """
        month,metric,value
        03/2024,leads,10
        2024-03-01,leads,10
        """,
        2,
        "month",
        "month '03/2024' is not a date YYYY-MM-DD",
    ),
    "bad time": (
        "reps.csv",
        """
        rep_id,work_start
        R1,9am
        R2,09:00
        """,
        2,
        "work_start",
        "work_start '9am' is not a time HH:MM or HH:MM:SS",
    ),
    "bad json": (
        "scoring_models.csv",
        """
        model_id,name,weights,threshold
        M1,one,"{""a"": 1",50
        M2,two,"{""a"": 1}",50
        """,
        2,
        "weights",
        """weights '{"a": 1' is not valid JSON""",
    ),
    "not a number": (
        "sla_policies.csv",
        """
        tier,target_minutes
        hot,fifteen
        standard,1440
        """,
        2,
        "target_minutes",
        "target_minutes 'fifteen' is not a number",
    ),
}


@pytest.mark.parametrize("case", list(RULE_CASES))
def test_each_rule_refuses_exactly_the_bad_row(db: Path, tmp_path: Path, case: str) -> None:
    """It refuses only the planted bad row, naming its row, column and reason; every other
    row of the file is applied."""
    name, text, row, column, reason = RULE_CASES[case]
    path = write(tmp_path / name, text)
    table = ingest.table_for_file(path)
    before = query(db, f"SELECT count(*) FROM {table}")[0][0]
    n_rows = len(text.strip().splitlines()) - 1
    result = ingest.import_files(db, [path])
    assert result.exit_code == 1 and result.applied
    refused = result.refused.to_dict("records")
    assert len(refused) == 1
    assert refused[0]["row_number"] == row
    assert refused[0]["column"] == column
    assert refused[0]["reason"] == reason
    assert refused[0]["file"] == name and refused[0]["table"] == table
    assert result.accepted == {table: n_rows - 1}
    assert query(db, f"SELECT count(*) FROM {table}")[0][0] == before + n_rows - 1
    stored = query(
        db,
        'SELECT "table", file, row_number, "column", reason FROM import_rejects WHERE batch_id = ?',
        [result.batch_id],
    )
    assert stored == [(table, name, row, column, reason)]


def test_a_row_with_several_faults_is_refused_once(tmp_path: Path) -> None:
    """A row with two bad values is one refusal: the first column at fault, both reasons."""
    path = write(
        tmp_path / "leads.csv",
        """
        lead_id,created_at,employees,email_domain_kind
        L1,,-3,gmail
        """,
    )
    result = ingest.import_files(tmp_path / "h.duckdb", [path])
    (row,) = result.refused.to_dict("records")
    assert row["column"] == "created_at"
    assert row["reason"] == (
        "created_at is empty; employees '-3' is below the minimum 0; "
        "email_domain_kind 'gmail' is not one of: corporate, free, unknown"
    )
    assert result.accepted == {"leads": 0}


# --- cross-table rules inside one batch ------------------------------------------------------


def test_child_rows_may_use_leads_from_the_same_batch(tmp_path: Path) -> None:
    """A stage change is accepted when its lead is accepted in the same batch, and refused
    when that lead was refused (and is not in the database)."""
    leads = write(
        tmp_path / "leads.csv",
        """
        lead_id,created_at
        N1,2024-05-01 09:00
        N2,not-a-date
        """,
    )
    changes = write(
        tmp_path / "stage_changes.csv",
        """
        lead_id,stage,changed_at
        N1,mql,2024-05-02 09:00
        N2,mql,2024-05-02 09:00
        """,
    )
    result = ingest.import_files(tmp_path / "h.duckdb", [changes, leads])
    assert result.accepted == {"leads": 1, "stage_changes": 1}
    assert result.refused[["table", "row_number", "problem"]].values.tolist() == [
        ["leads", 3, "not a timestamp"],
        ["stage_changes", 3, "unknown lead"],
    ]


def test_a_lead_in_the_batch_replaces_the_stored_created_at(db: Path, tmp_path: Path) -> None:
    """When the batch moves L2's created_at later, a stage change between the old and the
    new creation time is refused, because the batch's lead replaces the stored one."""
    leads = write(tmp_path / "leads.csv", "lead_id,created_at\nL2,2024-06-01 00:00")
    changes = write(
        tmp_path / "stage_changes.csv", "lead_id,stage,changed_at\nL2,mql,2024-03-01 00:00"
    )
    result = ingest.import_files(db, [leads, changes])
    assert result.refused["reason"].tolist() == [
        "changed_at 2024-03-01 00:00 UTC is before the lead's created_at 2024-06-01 00:00 UTC"
    ]


def test_duplicate_keys_across_files_of_one_table(db: Path, tmp_path: Path) -> None:
    """Two files for one table: a key already seen in the first file is refused in the second,
    and the refusal names the file and row it repeats."""
    a = write(tmp_path / "reps_a.csv", "rep_id,team\nR1,Inbound")
    b = write(tmp_path / "reps_b.csv", "rep_id,team\nR2,Inbound\nR1,Outbound")
    result = ingest.import_files(db, [a, b])
    assert result.accepted == {"reps": 2}
    (row,) = result.refused.to_dict("records")
    assert (row["file"], row["row_number"]) == ("reps_b.csv", 3)
    assert "row 2 of reps_a.csv" in row["reason"]
    assert query(db, "SELECT rep_id, team FROM reps ORDER BY rep_id") == [
        ("R1", "Inbound"),
        ("R2", "Inbound"),
    ]


# --- upserts, strict mode, timezones ---------------------------------------------------------


def test_reimporting_the_same_files_is_idempotent(tmp_path: Path) -> None:
    """Importing the samples twice leaves every table exactly as after the first import."""
    db = tmp_path / "h.duckdb"
    ingest.import_files(db, SAMPLE_FILES)
    first = {t: table_frame(db, t) for t in SAMPLE_COUNTS}
    again = ingest.import_files(db, SAMPLE_FILES)
    assert again.accepted == SAMPLE_COUNTS
    for table in SAMPLE_COUNTS:
        pd.testing.assert_frame_equal(table_frame(db, table), first[table], obj=table)
    assert query(db, "SELECT count(*) FROM import_batches") == [(2,)]


def test_upsert_replaces_the_row_with_the_same_key(db: Path, tmp_path: Path) -> None:
    """A re-imported key replaces the stored row (here a touchpoint whose detail is empty,
    so the NULL part of the key must match too)."""
    path = tmp_path / "touchpoints.csv"
    path.write_text("lead_id,occurred_at,kind,detail,value\nL1,2024-03-01 10:00,chat,,5\n")
    ingest.import_files(db, [path])
    path.write_text("lead_id,occurred_at,kind,detail,value\nL1,2024-03-01 10:00,chat,,7\n")
    ingest.import_files(db, [path])
    assert query(db, "SELECT detail, value FROM touchpoints") == [(None, 7.0)]


def test_strict_mode_with_refusals_leaves_the_database_unchanged(db: Path) -> None:
    """Strict mode refuses the whole batch: nothing is written, not even the rejects, and
    the file is byte-for-byte the same."""
    before = db.read_bytes()
    result = ingest.import_files(db, [SAMPLES / "leads.csv", DIRTY], strict=True)
    assert not result.applied and result.exit_code == 1
    assert result.accepted == {"leads": 0, "stage_changes": 0}
    assert len(result.refused) == 6
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir() if p.is_file()) == ["h.duckdb"]


def test_strict_mode_without_refusals_applies_the_batch(tmp_path: Path) -> None:
    """Strict mode applies a batch that has no refused row."""
    db = tmp_path / "h.duckdb"
    result = ingest.import_files(db, SAMPLE_FILES, strict=True)
    assert result.applied and result.accepted == SAMPLE_COUNTS


def test_strict_refusal_creates_no_database(tmp_path: Path) -> None:
    """A refused strict batch against a missing database does not create the file."""
    db = tmp_path / "new.duckdb"
    result = ingest.import_files(db, [DIRTY], strict=True)
    assert not result.applied
    assert not db.exists()


def test_timestamps_with_an_offset_are_stored_in_utc(tmp_path: Path) -> None:
    """+02:00 and Z are converted to UTC, a naive value is taken as UTC, and the
    before-creation rule compares the converted instants."""
    db = tmp_path / "h.duckdb"
    leads = write(
        tmp_path / "leads.csv",
        """
        lead_id,created_at
        A,2024-03-01T10:00:00+02:00
        B,2024-03-01T10:00:00Z
        C,2024-03-01 10:00
        """,
    )
    # 09:30+01:00 = 08:30 UTC is after A's 08:00 UTC; 09:30+00:00 is before B's 10:00.
    touches = write(
        tmp_path / "touchpoints.csv",
        """
        lead_id,occurred_at,kind
        A,2024-03-01T09:30:00+01:00,page_view
        B,2024-03-01T09:30:00+00:00,page_view
        """,
    )
    result = ingest.import_files(db, [leads, touches])
    assert query(db, "SELECT lead_id, created_at FROM leads ORDER BY lead_id") == [
        ("A", datetime(2024, 3, 1, 8, 0)),
        ("B", datetime(2024, 3, 1, 10, 0)),
        ("C", datetime(2024, 3, 1, 10, 0)),
    ]
    assert query(db, "SELECT lead_id, occurred_at FROM touchpoints") == [
        ("A", datetime(2024, 3, 1, 8, 30))
    ]
    assert result.refused["reason"].tolist() == [
        "occurred_at 2024-03-01 09:30 UTC is before the lead's created_at 2024-03-01 10:00 UTC"
    ]


# --- row numbers -----------------------------------------------------------------------------


def test_row_numbers_match_the_file_lines(tmp_path: Path) -> None:
    """Line row_number of the file (header = line 1) is exactly the refused row, also after
    an empty line; an all-empty row is skipped, not refused; L2's employee count "ten" is
    left empty (line 4), the lead kept."""
    text = (
        "lead_id,created_at,employees\n"
        "L1,2024-01-01,10\n"
        "\n"
        "L2,2024-01-02,ten\n"
        ",,\n"
        "L3,,5\n"
        "L4,2024-01-04,\n"
    )
    path = tmp_path / "leads.csv"
    path.write_text(text)
    result = ingest.import_files(tmp_path / "h.duckdb", [path])
    lines = text.splitlines()
    assert result.refused["row_number"].tolist() == [6]
    for rec in result.refused.itertuples():
        assert lines[rec.row_number - 1] == rec.raw
    assert result.warnings["row_number"].tolist() == [4]
    assert lines[3].endswith(result.warnings["value"].item())
    assert result.accepted == {"leads": 3}


def test_dirty_sample_row_numbers_match_its_lines(tmp_path: Path) -> None:
    """In the dirty sample, each refusal's raw text is the file's line at row_number."""
    db = tmp_path / "h.duckdb"
    ingest.import_files(db, [SAMPLES / "leads.csv"])
    result = ingest.import_files(db, [DIRTY])
    lines = DIRTY.read_text().splitlines()
    assert len(result.refused) == 6
    for rec in result.refused.itertuples():
        assert lines[rec.row_number - 1] == rec.raw


# --- unusable input --------------------------------------------------------------------------


def unusable_cases(tmp: Path) -> dict[str, tuple[list[Path], dict, str]]:
    """Each case: files, keyword arguments, and a fragment the error message must contain."""
    missing_col = write(tmp / "stage_changes.csv", "lead_id,stage\nL1,mql")
    garbage_parquet = tmp / "leads.parquet"
    garbage_parquet.write_text("lead_id,created_at\nL1,2024-01-01\n")
    latin1 = tmp / "reps.csv"
    latin1.write_bytes("rep_id,name\nR1,Jos\xe9\n".encode("latin-1"))
    ragged = write(tmp / "targets.csv", "month,metric,value\n2024-01-01,leads,1,extra")
    unknown = write(tmp / "widgets.csv", "a,b\n1,2")
    good = write(tmp / "good" / "leads.csv", "lead_id,created_at\nL7,2024-01-01")
    xlsx = tmp / "leads.xlsx"
    xlsx.write_bytes(b"PK\x03\x04")
    return {
        "missing file": ([tmp / "nope" / "leads.csv"], {}, "leads.csv: file not found"),
        "missing required column": (
            [good, missing_col],
            {},
            "stage_changes.csv: missing required column(s) for table stage_changes: changed_at",
        ),
        "unreadable parquet": ([garbage_parquet], {}, "leads.parquet: not a readable Parquet"),
        "not utf-8": ([latin1], {}, "reps.csv: not UTF-8 text"),
        "ragged csv": ([ragged], {}, "targets.csv: not a readable CSV file"),
        "unsupported format": ([xlsx], {"table": "leads"}, "expected a .csv or .parquet file"),
        "unknown table from name": ([unknown], {}, "widgets.csv: cannot tell which table"),
        "unknown table option": ([good], {"table": "widgets"}, "unknown table 'widgets'"),
        "no files": ([], {}, "no files to import"),
    }


CASE_NAMES = [
    "missing file",
    "missing required column",
    "unreadable parquet",
    "not utf-8",
    "ragged csv",
    "unsupported format",
    "unknown table from name",
    "unknown table option",
    "no files",
]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_unusable_input_writes_nothing(db: Path, tmp_path: Path, case: str) -> None:
    """Unusable input raises UnusableInput naming the problem, before anything is written:
    the database is byte-for-byte unchanged even when other files of the batch were good."""
    files, kwargs, message = unusable_cases(tmp_path)[case]
    before = db.read_bytes()
    with pytest.raises(ingest.UnusableInput) as info:
        ingest.import_files(db, files, **kwargs)
    assert message in str(info.value)
    assert db.read_bytes() == before


def test_unusable_input_creates_no_database(tmp_path: Path) -> None:
    """A batch stopped by unusable input does not create a missing database."""
    path = write(tmp_path / "leads.csv", "lead_id\nL1")
    with pytest.raises(ingest.UnusableInput, match="created_at"):
        ingest.import_files(tmp_path / "new.duckdb", [path])
    assert not (tmp_path / "new.duckdb").exists()


def test_unknown_columns_are_ignored_with_a_note(tmp_path: Path) -> None:
    """A column the table does not have is ignored, and the batch says so."""
    db = tmp_path / "h.duckdb"
    path = write(tmp_path / "reps.csv", "rep_id,favourite_colour\nR1,green")
    result = ingest.import_files(db, [path])
    assert result.accepted == {"reps": 1} and result.exit_code == 0
    assert result.notes == ["reps.csv: ignored column(s) that reps does not have: favourite_colour"]
    assert query(db, "SELECT note FROM import_batches") == [(result.notes[0],)]


def test_parquet_files_import_like_csv(tmp_path: Path) -> None:
    """Typed Parquet columns (tz-aware timestamps, nullable integers, booleans) are read as
    text, validated the same way, and numbered like a sheet (first row = 2)."""
    frame = pd.DataFrame(
        {
            "lead_id": ["P1", "P2", "P3"],
            "created_at": pd.to_datetime(
                ["2024-01-01T10:00:00+02:00", "2024-01-02T00:00:00Z", None],
                utc=True,
                format="ISO8601",
            ),
            "employees": pd.array([10, None, 5], dtype="Int64"),
        }
    )
    path = tmp_path / "leads_2024.parquet"
    frame.to_parquet(path)
    db = tmp_path / "h.duckdb"
    result = ingest.import_files(db, [path])
    assert result.accepted == {"leads": 2}
    assert result.refused[["row_number", "reason"]].values.tolist() == [[4, "created_at is empty"]]
    assert query(db, "SELECT lead_id, created_at, employees FROM leads ORDER BY lead_id") == [
        ("P1", datetime(2024, 1, 1, 8, 0), 10),
        ("P2", datetime(2024, 1, 2, 0, 0), None),
    ]


def test_progress_reports_each_step(tmp_path: Path) -> None:
    """The progress callback hears about reading, checking and writing."""
    steps: list[str] = []
    ingest.import_files(tmp_path / "h.duckdb", [SAMPLES / "reps.csv"], progress=steps.append)
    assert steps[0] == "read reps.csv: 3 rows for reps"
    assert steps[1] == "checked reps: 3 accepted, 0 refused"
    assert steps[-1].startswith("wrote batch import-")
