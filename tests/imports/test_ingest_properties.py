"""Property tests for the import: malformed rows mixed into good ones never crash it, every
input row is accounted for, accepted rows obey the rules, and failing batches write nothing."""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import store
from analysis.imports import ingest

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

STORED_LEADS = ["D0", "D1", "D2"]
"""Leads already in the template database, all created 2024-01-01 00:00 UTC."""
BATCH_LEADS = ["N0", "N1", "N2", "N3"]
"""Lead ids the generated leads files use (some rows of them are malformed)."""
UNKNOWN_LEADS = ["X0", "X1"]

# Free text: letters, digits, punctuation and symbols, plus the characters CSV must quote.
junk = st.text(
    alphabet=st.one_of(st.characters(categories=("L", "N", "P", "S")), st.sampled_from(' ,"\n')),
    max_size=12,
)
blank = st.sampled_from(["", " ", "  "])
good_ts = st.builds(
    lambda d, h, m, tz: f"2024-{d // 28 + 1:02d}-{d % 28 + 1:02d}T{h:02d}:{m:02d}:00{tz}",
    st.integers(0, 330),
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(["", "Z", "+02:00", "-05:00"]),
)
bad_ts = st.sampled_from(
    ["2024-02-30 10:00", "yesterday", "31/12/2024", "2024-13-01", "10:00", "0001-01-01"]
)
timestamp = st.one_of(good_ts, good_ts, good_ts, bad_ts, blank, junk)
number = st.one_of(
    st.integers(-50, 5000).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.2f}"),
    blank,
    junk,
)


def cell(good: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly good values, sometimes a blank or random text."""
    return st.one_of(good, good, good, blank, junk)


lead_rows = st.lists(
    st.tuples(
        cell(st.sampled_from(BATCH_LEADS)),
        timestamp,
        number,
        cell(st.sampled_from(["corporate", "free", "unknown", "Corporate"])),
    ),
    max_size=8,
)
child_lead = cell(st.sampled_from(STORED_LEADS + BATCH_LEADS + UNKNOWN_LEADS))
stage_rows = st.lists(
    st.tuples(child_lead, cell(st.sampled_from(["lead", "mql", "sql", "won"])), timestamp),
    max_size=10,
)
opportunity_rows = st.lists(
    st.tuples(
        cell(st.sampled_from(["O1", "O2", "O3"])),
        child_lead,
        timestamp,
        number,
        st.one_of(timestamp, blank),
        cell(st.sampled_from(["open", "won", "lost", "pending"])),
    ),
    max_size=6,
)
HEADERS = {
    "leads": ["lead_id", "created_at", "employees", "email_domain_kind"],
    "stage_changes": ["lead_id", "stage", "changed_at"],
    "opportunities": ["opportunity_id", "lead_id", "created_at", "amount", "closed_at", "outcome"],
}
batches = st.fixed_dictionaries(
    {"leads": lead_rows, "stage_changes": stage_rows, "opportunities": opportunity_rows}
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the stored leads D0-D2."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "leads.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(
            [["lead_id", "created_at"]] + [[i, "2024-01-01"] for i in STORED_LEADS]
        )
    db = folder / "template.duckdb"
    assert ingest.import_files(db, [path]).exit_code == 0
    return db


@contextmanager
def workspace(template: Path, batch: dict[str, list[tuple]]) -> Iterator[tuple[Path, list[Path]]]:
    """A fresh copy of the template database plus the batch written as CSV files."""
    folder = Path(tempfile.mkdtemp(prefix="ingest-prop-"))
    try:
        db = folder / "h.duckdb"
        shutil.copyfile(template, db)
        files = []
        for table, rows in batch.items():
            path = folder / f"{table}.csv"
            with path.open("w", newline="") as f:
                csv.writer(f).writerows([HEADERS[table], *rows])
            files.append(path)
        yield db, files
    finally:
        shutil.rmtree(folder)


def input_rows(rows: list[tuple]) -> list[int]:
    """Spreadsheet row numbers of the rows the import must account for (not all-blank)."""
    return [i + 2 for i, row in enumerate(rows) if any(v.strip() for v in row)]


@contextmanager
def reader(db: Path) -> Iterator:
    con = store.connect_read_only(db)
    try:
        yield con
    finally:
        con.close()


@SETTINGS
@given(batch=batches)
def test_every_row_is_accounted_for_and_obeys_the_rules(
    template: Path, batch: dict[str, list[tuple]]
) -> None:
    """Whatever the rows hold, the import does not crash; per table, accepted + refused equals
    the input rows, refused row numbers are distinct input rows, import_rejects holds exactly
    the refusals, the tables hold exactly the accepted rows, and every stored row obeys the
    rules (known lead, not before it, amount >= 0, closed not before created, unique keys)."""
    with workspace(template, batch) as (db, files):
        try:
            result = ingest.import_files(db, files)
        except ingest.UnusableInput:
            return
        refused = result.refused
        for table, rows in batch.items():
            expected = input_rows(rows)
            mine = refused.loc[refused["table"] == table, "row_number"].tolist()
            assert result.accepted[table] + len(mine) == len(expected), table
            assert len(set(mine)) == len(mine)
            assert set(mine) <= set(expected)
        assert result.exit_code == (1 if len(refused) else 0)
        # The accepted leads are the input rows that were not refused.
        refused_leads = set(refused.loc[refused["table"] == "leads", "row_number"])
        accepted_ids = [
            row[0].strip()
            for n, row in enumerate(batch["leads"], start=2)
            if n in input_rows(batch["leads"]) and n not in refused_leads
        ]
        assert len(accepted_ids) == result.accepted["leads"]

        with reader(db) as con:
            stored_rejects = con.execute(
                'SELECT "table", row_number FROM import_rejects'
            ).fetchall()
            assert sorted(stored_rejects) == sorted(
                refused[["table", "row_number"]].itertuples(index=False, name=None)
            )
            stored_ids = [r[0] for r in con.execute("SELECT lead_id FROM leads").fetchall()]
            assert sorted(stored_ids) == sorted(set(STORED_LEADS) | set(accepted_ids))
            counts = con.execute(
                "SELECT (SELECT count(*) FROM stage_changes), (SELECT count(*) FROM opportunities)"
            ).fetchall()
            assert counts == [(result.accepted["stage_changes"], result.accepted["opportunities"])]
            broken_changes = con.execute(
                """
                SELECT count(*) FROM stage_changes s LEFT JOIN leads l USING (lead_id)
                WHERE l.lead_id IS NULL OR s.changed_at < l.created_at
                   OR s.stage NOT IN ('lead', 'mql', 'sql')
                """
            ).fetchall()
            assert broken_changes == [(0,)]
            broken_opportunities = con.execute(
                """
                SELECT count(*) FROM opportunities o LEFT JOIN leads l USING (lead_id)
                WHERE l.lead_id IS NULL OR o.created_at < l.created_at OR o.amount < 0
                   OR o.closed_at < o.created_at OR o.outcome NOT IN ('open', 'won', 'lost')
                """
            ).fetchall()
            assert broken_opportunities == [(0,)]
            assert con.execute(
                "SELECT count(DISTINCT opportunity_id) = count(*) FROM opportunities"
            ).fetchall() == [(True,)]


@settings(max_examples=20, deadline=None)
@given(batch=batches)
def test_strict_batch_with_refusals_changes_nothing(
    template: Path, batch: dict[str, list[tuple]]
) -> None:
    """In strict mode a batch with any refused row leaves the database byte-for-byte as it
    was; one without refusals is applied."""
    with workspace(template, batch) as (db, files):
        before = db.read_bytes()
        result = ingest.import_files(db, files, strict=True)
        if len(result.refused):
            assert not result.applied
            assert set(result.accepted.values()) == {0}
            assert db.read_bytes() == before
        else:
            assert result.applied
            assert db.read_bytes() != before


@settings(max_examples=15, deadline=None)
@given(
    batch=batches,
    victim=st.sampled_from(
        [("leads", "created_at"), ("stage_changes", "stage"), ("opportunities", "outcome")]
    ),
)
def test_unusable_batch_changes_nothing(
    template: Path, batch: dict[str, list[tuple]], victim: tuple[str, str]
) -> None:
    """A batch where one file lacks a required column raises UnusableInput and leaves the
    database byte-for-byte as it was, whatever the other files hold."""
    table, column = victim
    with workspace(template, batch) as (db, files):
        path = next(p for p in files if p.stem == table)
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
        drop = rows[0].index(column)
        with path.open("w", newline="") as f:
            csv.writer(f).writerows([r[:drop] + r[drop + 1 :] for r in rows])
        before = db.read_bytes()
        with pytest.raises(ingest.UnusableInput, match=f"missing required column.*{column}"):
            ingest.import_files(db, files)
        assert db.read_bytes() == before
