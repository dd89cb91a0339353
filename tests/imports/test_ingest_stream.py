"""Native imports stream files in chunks: the result does not depend on the chunk size."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import store
from analysis.imports import ingest

LEADS = """
lead_id,created_at,source,employees
L1,2024-01-01,webinar,10
L2,2024-01-02,webinar,20
L3,2024-01-03,webinar,30
L4,not a date,webinar,40
L3,2024-02-03,event,31
L5,2024-01-05,webinar,50

L6,2024-01-06,webinar,-5
L5,2024-02-05,event,51
L7,2024-01-07,webinar,70
"""
# Spreadsheet rows: header 1, L1..L3 rows 2-4, L4 row 5, second L3 row 6, L5 row 7,
# blank row 8, L6 row 9, second L5 row 10, L7 row 11. With 3 rows a chunk the chunks are
# rows 2-4, 5-7, 8-10 and 11: L3 repeats across the first boundary (row 6 repeats row 4),
# L5 across the second (row 10 repeats row 7); the refused row 5 sits in chunk 2, and row
# 9's employee count -5 (below the minimum) is left empty in chunk 3, the lead kept.

TOUCHPOINTS = """
lead_id,occurred_at,kind,detail
L7,2024-01-08,form_submit,contact
L1,2024-01-02,page_view,pricing
L9,2024-01-02,page_view,pricing
L7,2024-01-08,form_submit,contact
"""
# L7 is the last lead of the batch (last chunk of leads.csv); L9 is nowhere; row 5 (the
# second chunk, with 3 rows a chunk) repeats row 2 of the first.


def write(path: Path, text: str) -> Path:
    """Write a CSV file from a text block, keeping its blank lines inside."""
    path.write_text(text.strip("\n") + "\n")
    return path


def tables(db: Path) -> dict[str, pd.DataFrame]:
    """leads and touchpoints, sorted, so two databases compare equal."""
    con = store.connect_read_only(db)
    try:
        return {
            name: con.execute(f"SELECT * FROM {name} ORDER BY ALL").df()
            for name in ("leads", "touchpoints")
        }
    finally:
        con.close()


@pytest.fixture()
def files(tmp_path: Path) -> list[Path]:
    return [write(tmp_path / "leads.csv", LEADS), write(tmp_path / "touchpoints.csv", TOUCHPOINTS)]


def test_chunked_import_equals_one_chunk_import(tmp_path: Path, files: list[Path]) -> None:
    """Read three rows at a time, the batch refuses the same rows (with the right row
    numbers of the file), keeps the first of each duplicated key across chunk boundaries,
    sees leads from the last chunk for touchpoints, and stores the same tables as read in
    one chunk."""
    small = ingest.import_files(tmp_path / "small.duckdb", files, chunk_rows=3)
    whole = ingest.import_files(tmp_path / "whole.duckdb", files)

    refused = small.refused[["table", "row_number", "problem"]].values.tolist()
    assert refused == [
        ["leads", 5, "not a timestamp"],
        ["leads", 6, "duplicate key"],
        ["leads", 10, "duplicate key"],
        ["touchpoints", 4, "unknown lead"],
        ["touchpoints", 5, "duplicate key"],
    ]
    reasons = small.refused.set_index(["table", "row_number"])["reason"]
    assert reasons["leads", 6] == (
        "duplicate key (lead_id=L3): row 4 of leads.csv has the same key and is the one imported"
    )
    assert reasons["leads", 10].startswith("duplicate key (lead_id=L5): row 7 of leads.csv")
    assert reasons["touchpoints", 5].startswith("duplicate key (lead_id=L7, occurred_at=")
    assert "row 2 of touchpoints.csv" in reasons["touchpoints", 5]
    # leads: 10 data lines - 1 blank - 3 refused = 6 (L1, L2, L3, L5, L6, L7); touchpoints 4 - 2.
    assert small.accepted == {"leads": 6, "touchpoints": 2}
    warned = small.warnings[["row_number", "column", "value"]].values.tolist()
    assert warned == [[9, "employees", "-5"]]
    pd.testing.assert_frame_equal(small.warnings, whole.warnings)
    assert small.written["rows"].tolist() == [6, 2] == whole.written["rows"].tolist()
    assert small.file_rows == {"leads.csv": 9, "touchpoints.csv": 4}
    pd.testing.assert_frame_equal(
        small.refused.drop(columns="raw"), whole.refused.drop(columns="raw")
    )
    assert small.refused["raw"].tolist() == whole.refused["raw"].tolist()
    assert small.accepted == whole.accepted
    got, want = tables(tmp_path / "small.duckdb"), tables(tmp_path / "whole.duckdb")
    for name in got:
        pd.testing.assert_frame_equal(got[name], want[name])
    # The first L3 (row 4, webinar, 30 employees) is the stored one, not the later row 6.
    leads = got["leads"].set_index("lead_id")
    assert (leads.loc["L3", "source"], leads.loc["L3", "employees"]) == ("webinar", 30)


def test_strict_chunked_import_writes_nothing(tmp_path: Path, files: list[Path]) -> None:
    """In strict mode a refusal in a later chunk throws away the chunks already applied:
    the database file is not even created."""
    db = tmp_path / "strict.duckdb"
    result = ingest.import_files(db, files, strict=True, chunk_rows=3)
    assert not result.applied
    assert result.accepted == {"leads": 0, "touchpoints": 0}
    assert len(result.refused) == 5
    assert not db.exists()


def test_a_bad_row_late_in_the_file_aborts_the_batch(tmp_path: Path) -> None:
    """A row with too many fields in the third chunk makes the file unusable after two
    chunks were applied inside the transaction: nothing is written."""
    db = tmp_path / "h.duckdb"
    ingest.import_files(db, [write(tmp_path / "reps.csv", "rep_id,name\nR0,Zoe\n")])
    lines = ["lead_id,created_at"] + [f"L{i},2024-01-0{1 + i % 9}" for i in range(7)]
    lines.append("L8,2024-01-01,extra,field")
    path = tmp_path / "leads.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ingest.UnusableInput, match="leads.csv: not a readable CSV file"):
        ingest.import_files(db, [path], chunk_rows=3)
    con = store.connect_read_only(db)
    try:
        assert con.execute("SELECT count(*) FROM leads").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM import_batches").fetchone() == (1,)
    finally:
        con.close()


def test_parquet_is_read_in_row_chunks(tmp_path: Path, files: list[Path]) -> None:
    """A Parquet file streamed by record batches numbers its rows across chunks."""
    frame = pd.read_csv(files[0], dtype=str, keep_default_na=False, skip_blank_lines=False)
    path = tmp_path / "leads.parquet"
    frame.to_parquet(path)
    result = ingest.import_files(tmp_path / "p.duckdb", [path], chunk_rows=3)
    assert result.refused["row_number"].tolist() == [5, 6, 10]
    assert result.warnings["row_number"].tolist() == [9]
    assert result.accepted == {"leads": 6}
