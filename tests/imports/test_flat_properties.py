"""Property tests for flat imports: random exports never crash the importer, every lead row
is accepted or refused with a reason, stored rows obey the rules, failures write nothing."""

from __future__ import annotations

import csv
import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from analysis import store
from analysis.imports import flat
from analysis.imports.ingest import UnusableInput

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

STORED = ["S1", "S2"]
"""Leads in the template database, created 2024-01-01 00:00 UTC."""

junk = st.text(
    alphabet=st.one_of(st.characters(categories=("L", "N", "P", "S")), st.sampled_from(' ,"\n')),
    max_size=10,
)
placeholder = st.sampled_from(["", " ", "Select", "--", "N/A", "null", "(blank)"])


def cell(good: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly good values, sometimes a placeholder or random text."""
    return st.one_of(good, good, good, placeholder, junk)


day = st.integers(0, 330)
iso = st.builds(
    lambda d, h, m: f"2024-{d // 28 + 1:02d}-{d % 28 + 1:02d} {h:02d}:{m:02d}",
    day,
    st.integers(0, 23),
    st.integers(0, 59),
)
day_first = st.builds(lambda d: f"{d % 28 + 1:02d}-{d // 28 + 1:02d}-2024", day)
month_first = st.builds(lambda d: f"{d // 28 + 1}/{d % 28 + 1}/2024 3:15 PM", day)
# One column mixes ISO with either day-first or month-first values (or both: unusable).
date_cell = cell(st.one_of(iso, iso, day_first, month_first))
ids = cell(st.sampled_from(["101", "102", "103", "104", "101.0", "5f3a9c", "S1"]))
employees = cell(st.sampled_from(["12", "1,000", "51-200", "10001+", "-5", "lots"]))
lifecycle = cell(
    st.sampled_from(
        ["Lead", "Marketing Qualified Lead", "Sales Qualified Lead", "Customer", "Other", "Odd"]
    )
)
flag = cell(st.sampled_from(["yes", "no", "TRUE", "0", "maybe"]))
counter = cell(st.sampled_from(["0", "7", "1,234", "12.5", "many"]))

HEADER = [
    "Record ID",
    "Create Date",
    "Number of Employees",
    "Lifecycle Stage",
    "Became a Marketing Qualified Lead Date",
    "Became a Sales Qualified Lead Date",
    "Converted",
    "Number of Pageviews",
    "Lead Status",
]
rows = st.lists(
    st.tuples(ids, date_cell, employees, lifecycle, date_cell, date_cell, flag, counter, junk),
    max_size=8,
)
DEAL_HEADER = ["Record ID", "Associated Contact ID", "Create Date", "Deal Stage", "Amount"]
deal_rows = st.lists(
    st.tuples(
        cell(st.sampled_from(["D1", "D2", "D3"])),
        cell(st.sampled_from(["101", "102", "S1", "S9"])),
        cell(iso),
        cell(st.sampled_from(["closedwon", "closedlost", "qualified"])),
        cell(st.sampled_from(["100", "-3", "$2,000", "x"])),
    ),
    max_size=5,
)
MAPPING = """
extends = "hubspot"
[flags]
"Converted" = "sql"
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("flat-template")
    path = folder / "seed.csv"
    path.write_text("Record ID,Create Date\n" + "".join(f"{i},2024-01-01\n" for i in STORED))
    db = folder / "template.duckdb"
    assert flat.import_flat(db, [path], preset="hubspot").exit_code == 0
    (folder / "mapping.toml").write_text(MAPPING)
    return db


@contextmanager
def workspace(template: Path, leads: list[tuple], deals: list[tuple]) -> Iterator[tuple]:
    folder = Path(tempfile.mkdtemp(prefix="flat-prop-"))
    try:
        db = folder / "h.duckdb"
        shutil.copyfile(template, db)
        files = []
        for name, header, body in (
            ("contacts.csv", HEADER, leads),
            ("deals.csv", DEAL_HEADER, deals),
        ):
            path = folder / name
            with path.open("w", newline="") as f:
                csv.writer(f).writerows([header, *body])
            files.append(path)
        yield db, files
    finally:
        shutil.rmtree(folder)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_rows(body: list[tuple]) -> list[int]:
    """Spreadsheet row numbers of the rows that are not entirely blank."""
    return [i + 2 for i, row in enumerate(body) if any(str(v).strip() for v in row)]


@SETTINGS
@given(leads=rows, deals=deal_rows)
def test_every_lead_row_is_accounted_for(template: Path, leads: list, deals: list) -> None:
    """Whatever an export holds, the import either refuses the file (nothing written) or
    accounts for every lead and deal row: accepted, or refused once with a reason; the
    stored history obeys the rules and holds nothing of a refused row."""
    with workspace(template, leads, deals) as (db, files):
        before = digest(db)
        mapping = template.parent / "mapping.toml"
        try:
            result = flat.import_flat(db, files, mapping=mapping)
        except UnusableInput as exc:
            event("unusable file")
            assert str(exc)
            assert digest(db) == before
            return
        event("imported")
        refused = result.refused
        assert (refused["reason"].str.len() > 0).all()
        for table, file, body in (
            ("leads", "contacts.csv", leads),
            ("opportunities", "deals.csv", deals),
        ):
            expected = data_rows(body)
            mine = refused.loc[
                (refused["table"] == table) & (refused["file"] == file), "row_number"
            ].tolist()
            assert len(set(mine)) == len(mine) and set(mine) <= set(expected)
            assert result.accepted.get(table, 0) + len(mine) == len(expected), table
        con = store.connect_read_only(db)
        try:
            (orphans,) = con.execute(
                """
                SELECT (SELECT count(*) FROM stage_changes s ANTI JOIN leads l USING (lead_id))
                     + (SELECT count(*) FROM lead_properties p ANTI JOIN leads l USING (lead_id))
                     + (SELECT count(*) FROM opportunities o ANTI JOIN leads l USING (lead_id))
                """
            ).fetchone()
            assert orphans == 0
            (early,) = con.execute(
                """
                SELECT count(*) FROM stage_changes s JOIN leads l USING (lead_id)
                WHERE s.changed_at < l.created_at
                """
            ).fetchone()
            assert early == 0
            (bad_amounts,) = con.execute(
                "SELECT count(*) FROM opportunities WHERE amount < 0"
            ).fetchone()
            assert bad_amounts == 0
            (rejects,) = con.execute("SELECT count(*) FROM import_rejects").fetchone()
            assert rejects == len(refused)
            # Refused lead rows leave no trace: ids stored are the stored ones plus the ids
            # of accepted rows.
            stored_ids = {r[0] for r in con.execute("SELECT lead_id FROM leads").fetchall()}
        finally:
            con.close()
        refused_rows = set(refused.loc[refused["table"] == "leads", "row_number"])
        accepted_ids = {
            flat.clean_ids(pd.Series([row[0]])).iloc[0]
            for n, row in zip(range(2, 2 + len(leads)), leads, strict=True)
            if n in data_rows(leads) and n not in refused_rows
        }
        assert stored_ids == set(STORED) | accepted_ids


@SETTINGS
@given(leads=rows)
def test_failed_imports_leave_the_file_unchanged(template: Path, leads: list) -> None:
    """A strict import with any refused row, and a dry run, leave the database byte for
    byte as it was."""
    with workspace(template, leads, []) as (db, files):
        before = digest(db)
        mapping = template.parent / "mapping.toml"
        try:
            dry = flat.import_flat(db, files[:1], mapping=mapping, dry_run=True)
        except UnusableInput:
            assert digest(db) == before
            return
        assert digest(db) == before and not dry.applied
        result = flat.import_flat(db, files[:1], mapping=mapping, strict=True)
        if len(result.refused):
            assert not result.applied and digest(db) == before
        else:
            assert result.applied and result.accepted == dry.accepted
