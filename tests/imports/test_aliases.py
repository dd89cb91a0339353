"""Label merges: proposed from the stored spellings, accepted into label_aliases, applied to the
leads (so filters and counts see one value) and to later imports; also from `handoff labels`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from analysis import filters, store
from analysis.imports import aliases, ingest


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).strip() + "\n")
    return path


LEADS = """
lead_id,created_at,industry,source
L1,2024-03-01,Software,paid_search
L2,2024-03-01,Software,paid_search
L3,2024-03-01,Software,organic_search
L4,2024-03-01,software,organic_search
L5,2024-03-01,software,organic_search
L6,2024-03-01,SaaS & Software,organic_search
L7,2024-03-01,Healthcare,organic_search
L8,2024-03-01,Healthcare,organic_search
L9,2024-03-01,Retail,organic_search
"""


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "h.duckdb"
    ingest.import_files(path, [write(tmp_path / "leads.csv", LEADS)])
    return path


def read(db: Path, fn, *args):
    con = store.connect_read_only(db)
    try:
        return fn(con, *args)
    finally:
        con.close()


def industries(con) -> dict[str, int]:
    rows = con.execute("SELECT industry, count(*) FROM leads GROUP BY 1").fetchall()
    return dict(rows)


def test_variants_are_proposed_by_hand_computed_grouping(db: Path) -> None:
    """Software (3 leads) heads its group: software differs only by case; SaaS & Software
    holds Software's words and Software has at least twice its leads (3 >= 2 x 1), so it
    joins too. Healthcare and Retail have one spelling each: nothing to merge."""
    got = read(db, aliases.proposals)
    assert got[["column", "label", "leads", "proposed", "rule"]].values.tolist() == [
        ["industry", "software", 2, "Software", "case/spacing"],
        ["industry", "SaaS & Software", 1, "Software", "contains"],
    ]


def test_accepting_merges_gives_one_value_everywhere(db: Path, tmp_path: Path) -> None:
    """After accepting, the filter options list Software once and it counts 3 + 2 + 1 = 6
    leads; the aliases keep the original spellings with the leads each rewrote, and who
    accepted them; the write is logged."""
    merges = read(db, aliases.proposals)
    done = aliases.accept(db, merges, actor="tester")
    assert done[["original", "leads"]].values.tolist() == [["software", 2], ["SaaS & Software", 1]]
    assert read(db, filters.filter_options)["industries"] == ["Healthcare", "Retail", "Software"]
    assert read(db, industries) == {"Software": 6, "Healthcare": 2, "Retail": 1}
    stored = read(db, aliases.accepted)
    assert stored[["original", "standard", "leads", "actor"]].values.tolist() == [
        ["SaaS & Software", "Software", 1, "tester"],
        ["software", "Software", 2, "tester"],
    ]
    assert read(db, lambda con: con.execute("SELECT actor FROM write_log").fetchall())[-1] == (
        "tester",
    )
    # No variant is left to propose.
    assert read(db, aliases.proposals).empty


def test_later_imports_are_merged_too(db: Path, tmp_path: Path) -> None:
    """A lead imported after the merge with industry 'software' is stored as 'Software'."""
    aliases.accept(
        db, pd.DataFrame([["industry", "software", "Software"]], columns=aliases.MERGE_COLUMNS)
    )
    more = write(
        tmp_path / "leads_more.csv", "lead_id,created_at,industry\nL10,2024-04-01,software"
    )
    ingest.import_files(db, [more])
    # 3 Software + 2 software (merged) + 1 new software = 6; SaaS & Software untouched.
    assert read(db, industries) == {
        "Software": 6,
        "SaaS & Software": 1,
        "Healthcare": 2,
        "Retail": 1,
    }


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["stage", "a", "b"]], "column must be one of"),
        ([["industry", "", "Software"]], "both the spelling and its standard"),
        ([["industry", "a", "b"], ["industry", "a", "c"]], "more than one standard"),
        ([["industry", "a", "b"], ["industry", "b", "c"]], "is itself merged"),
    ],
)
def test_bad_merges_are_refused(db: Path, rows: list, message: str) -> None:
    """A merge of another column, an empty spelling, two standards for one spelling, or a
    chain is refused before anything is written."""
    before = Path(db).read_bytes()
    with pytest.raises(ValueError, match=message):
        aliases.accept(db, pd.DataFrame(rows, columns=aliases.MERGE_COLUMNS))
    assert Path(db).read_bytes() == before


def test_remerging_a_standard_carries_its_aliases(db: Path) -> None:
    """software -> Software, then Software -> Software & Internet: the first alias now points
    at the final spelling, and all 5 leads read it."""
    cols = aliases.MERGE_COLUMNS
    aliases.accept(db, pd.DataFrame([["industry", "software", "Software"]], columns=cols))
    aliases.accept(
        db, pd.DataFrame([["industry", "Software", "Software & Internet"]], columns=cols)
    )
    assert read(db, industries)["Software & Internet"] == 5
    stored = read(db, aliases.accepted)
    assert set(stored["standard"]) == {"Software & Internet"}


def handoff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "handoff", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_lists_and_accepts(db: Path) -> None:
    """`handoff labels` lists the two proposals; `labels accept --all` merges them (6 leads
    read Software); a malformed --merge exits 2 naming the expected form."""
    shown = handoff("labels", "--db", str(db), "--json")
    assert shown.returncode == 0, shown.stderr
    listed = [(p["label"], p["proposed"]) for p in json.loads(shown.stdout)["proposed"]]
    assert listed == [("software", "Software"), ("SaaS & Software", "Software")]
    done = handoff("labels", "accept", "--db", str(db), "--all")
    assert done.returncode == 0, done.stderr
    assert "industry 'software' -> 'Software' (2 leads)" in done.stderr
    assert read(db, industries)["Software"] == 6
    bad = handoff("labels", "accept", "--db", str(db), "--merge", "industry-software")
    assert bad.returncode == 2 and "COLUMN:SPELLING=STANDARD" in bad.stderr
