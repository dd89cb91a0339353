"""Data-quality findings: duplicates, missing fields, label variants, refused rows."""

from __future__ import annotations

import tomllib
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analysis import store
from analysis.imports import flat, quality
from tests.paths import EXAMPLES


def leads_db(rows: list[dict], stages: list[tuple] = ()) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding the given leads (and stage changes)."""
    con = duckdb.connect(":memory:")
    store.create_schema(con)
    cols = store.TABLES["leads"].column_names
    frame = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    con.register("rows_in", frame)
    con.execute("INSERT INTO leads SELECT * FROM rows_in")
    for lead_id, stage, at in stages:
        con.execute("INSERT INTO stage_changes VALUES (?, ?, ?, 'test')", [lead_id, stage, at])
    return con


# --- planted truth in the demo history --------------------------------------------------


def test_demo_dirty_records_are_found(demo_db: Path, demo_truth: dict) -> None:
    """The demo's planted dirty records are recovered exactly: duplicates by e-mail,
    misspelt industries and countries, missing job titles."""
    dirty = demo_truth["dirty"]
    con = store.connect_read_only(demo_db)
    try:
        dups = quality.duplicate_summary(con).set_index("rule")
        variants = quality.label_variants(con)
        missing = quality.missing_fields(con).set_index("field")
    finally:
        con.close()
    assert dups.loc["email", "extra"] == dirty["duplicate_leads"]
    # Distinct people can share a name at one company: that rule finds at least as many.
    assert dups.loc["name + company", "extra"] >= dirty["duplicate_leads"]
    assert dups.loc["either", "extra"] >= dups.loc["name + company", "extra"]
    by_column = variants.groupby("column")["leads"].sum()
    assert by_column["industry"] == dirty["industry_variants"]
    assert by_column["country"] == dirty["country_variants"]
    # Every proposal points at a canonical label of the generator.
    assert set(variants.loc[variants["column"] == "country", "proposed"]) <= set(
        quality.COUNTRY_REFERENCE
    )
    assert missing.loc["job_title", "missing"] == dirty["missing_job_title"]


# --- duplicates ---------------------------------------------------------------------


def test_duplicate_groups_join_both_rules() -> None:
    """A=B by e-mail (case and spaces ignored) and B=C by name + company make one group
    of three whose original is the first created; D alone is no duplicate."""
    con = leads_db(
        [
            {"lead_id": "B", "created_at": "2024-01-02", "email": " Ann@X.com", "name": "Ann Lee"},
            {"lead_id": "A", "created_at": "2024-01-01", "email": "ann@x.com"},
            {
                "lead_id": "C",
                "created_at": "2024-01-03",
                "email": "ann.lee@gmail.com",
                "name": "ann  lee",
                "company": "X Corp",
            },
            {"lead_id": "B2", "created_at": "2024-01-04", "name": "Ann Lee", "company": "x corp"},
            {"lead_id": "D", "created_at": "2024-01-05", "email": "d@y.com", "name": "Ann Lee"},
        ]
    )
    # B has no company, so name + company joins only C and B2; e-mail joins A and B.
    # Groups: {A, B} by e-mail, {C, B2} by name + company -> two groups.
    dups = quality.duplicate_leads(con)
    assert dups[["group", "lead_id", "original"]].values.tolist() == [
        [1, "A", True],
        [1, "B", False],
        [2, "C", True],
        [2, "B2", False],
    ]
    assert dups["match"].tolist() == ["email", "email", "name + company", "name + company"]
    con.execute("UPDATE leads SET company = 'X Corp' WHERE lead_id = 'B'")
    # Now B = C = B2 by name + company, and A = B by e-mail: one group of four.
    dups = quality.duplicate_leads(con)
    assert dups["group"].tolist() == [1, 1, 1, 1]
    assert dups["lead_id"].tolist() == ["A", "B", "C", "B2"]
    assert dups.loc[dups["lead_id"] == "B", "match"].item() == "email, name + company"
    summary = quality.duplicate_summary(con).set_index("rule")
    assert summary.loc["email", ["groups", "leads", "extra"]].tolist() == [1, 2, 1]
    assert summary.loc["name + company", ["groups", "leads", "extra"]].tolist() == [1, 3, 2]
    assert summary.loc["either", ["groups", "leads", "extra"]].tolist() == [1, 4, 3]


def test_no_duplicates() -> None:
    """Leads without shared e-mails or names give empty findings, not errors."""
    con = leads_db([{"lead_id": "A", "created_at": "2024-01-01", "email": "a@x.com"}])
    assert quality.duplicate_leads(con).empty
    assert quality.duplicate_summary(con)["groups"].tolist() == [0, 0, 0]


# --- labels -----------------------------------------------------------------------


def test_label_key() -> None:
    """Keys ignore case, '&' vs 'and', punctuation, a leading 'the' and spaces."""
    assert quality.label_key("Health Care") == quality.label_key("healthcare")
    assert quality.label_key("U.S.") == quality.label_key("us")
    assert quality.label_key("The Netherlands") == "netherlands"
    assert quality.label_key("Media & Entertainment") == quality.label_key(
        "media and entertainment"
    )
    assert quality.label_key("The") == "the"


def test_propose_labels_rules() -> None:
    """Case/spacing and alias groups take their most frequent spelling; a label holding
    every word of a much more frequent label is proposed to become it."""
    counts = pd.Series(
        {
            "Software": 40,
            "software": 3,
            "SaaS & Software": 2,
            "Software Services": 30,  # not 2x as rare as Software: no proposal
            "Health Care": 5,
            "Healthcare": 9,
            "Finance": 1,
            "Financial Services": 10,
            "Retail": 1,
        }
    )
    out = quality.propose_labels(counts, "industry")
    got = {r.label: (r.proposed, r.rule) for r in out.itertuples()}
    assert got == {
        "software": ("Software", "case/spacing"),
        "SaaS & Software": ("Software", "contains"),
        "Health Care": ("Healthcare", "case/spacing"),
        "Finance": ("Financial Services", "alias"),
    }
    assert out.set_index("label").loc["software", "proposed_leads"] == 40


def test_country_aliases_and_ties() -> None:
    """Country codes and names group together; a tie goes to the reference name; nested
    country names are never merged by containment."""
    counts = pd.Series({"US": 2, "USA": 2, "United States": 2, "Guinea": 9, "Papua New Guinea": 1})
    out = quality.propose_labels(counts, "country")
    assert dict(zip(out["label"], out["proposed"], strict=True)) == {
        "US": "United States",
        "USA": "United States",
    }
    regions = quality.region_of(pd.Series(["U.S.", "uk", "Deutschland", "Mars", None]))
    assert regions.tolist() == ["North America", "EMEA", "EMEA", None, None]


def test_standardisation_toml_applies_at_the_next_import(tmp_path: Path) -> None:
    """Proposals written as a mapping's [values] tables make the next import store the
    standard spellings."""
    db = tmp_path / "h.duckdb"
    flat.import_flat(db, [EXAMPLES / "hubspot_contacts_dirty.csv"], preset="hubspot")
    con = store.connect_read_only(db)
    try:
        proposals = quality.label_variants(con, ["industry", "country"])
    finally:
        con.close()
    # Industry: Software x2 (1001, 1010), software (1002), SaaS & Software (1006).
    # Country: United States x2 (1001, 1008), USA (1003), US (1006) -> United States;
    # UK (1002) and United Kingdom (1010) tie -> the reference name United Kingdom.
    got = sorted(zip(proposals["label"], proposals["proposed"], strict=True))
    assert got == [
        ("SaaS & Software", "Software"),
        ("UK", "United Kingdom"),
        ("US", "United States"),
        ("USA", "United States"),
        ("software", "Software"),
    ]
    text = quality.standardisation_toml(proposals)
    assert tomllib.loads(text)["values"]["industry"] == {
        "software": "Software",
        "SaaS & Software": "Software",
    }
    mapping = tmp_path / "m.toml"
    mapping.write_text('extends = "hubspot"\n' + text)
    db2 = tmp_path / "h2.duckdb"
    flat.import_flat(db2, [EXAMPLES / "hubspot_contacts_dirty.csv"], mapping=mapping)
    con = store.connect_read_only(db2)
    try:
        assert quality.label_variants(con, ["industry", "country"]).empty
    finally:
        con.close()


def test_label_variants_rejects_other_columns() -> None:
    """Only lead columns can be checked."""
    con = leads_db([])
    with pytest.raises(ValueError, match="lead columns"):
        quality.label_variants(con, ["industry; DROP TABLE leads"])
    assert quality.label_variants(con).empty


# --- missing fields -------------------------------------------------------------------


def test_missing_fields_by_hand() -> None:
    """Missing = NULL or blank; the owner counts only among handed-off leads.

    By hand: job_title is NULL for B and blank for C -> 2 of 4; owner_rep_id is missing
    for B and D, but only A and B were handed off (an mql change) -> 1 of 2.
    """
    con = leads_db(
        [
            {"lead_id": "A", "created_at": "2024-01-01", "job_title": "CTO", "owner_rep_id": "R"},
            {"lead_id": "B", "created_at": "2024-01-01"},
            {"lead_id": "C", "created_at": "2024-01-01", "job_title": "  ", "owner_rep_id": "R"},
            {"lead_id": "D", "created_at": "2024-01-01", "job_title": "VP"},
        ],
        stages=[
            ("A", "mql", "2024-01-02"),
            ("B", "sql", "2024-01-03"),
            ("C", "lead", "2024-01-01"),
        ],
    )
    out = quality.missing_fields(con, ["job_title", "owner_rep_id"]).set_index("field")
    assert out.loc["job_title", ["missing", "leads", "among"]].tolist() == [2, 4, "all leads"]
    assert out.loc["owner_rep_id", ["missing", "leads", "among"]].tolist() == [
        1,
        2,
        "handed-off leads",
    ]
    assert out.loc["job_title", "share"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="lead columns"):
        quality.missing_fields(con, ["shoe_size"])


# --- refused rows -------------------------------------------------------------------


def test_refusals_per_batch(tmp_path: Path) -> None:
    """Refused rows are listed and counted per batch, table and column.

    By hand (see test_flat): the dirty HubSpot file refuses 2 rows at Record ID (rows 6
    and 8) and 1 at the SQL "Became" column (its MQL date before creation is kept, and
    the "lots" employee count is left empty: neither is refused); the clean file in a
    second batch refuses nothing.
    """
    db = tmp_path / "h.duckdb"
    first = flat.import_flat(db, [EXAMPLES / "hubspot_contacts_dirty.csv"], preset="hubspot")
    flat.import_flat(db, [EXAMPLES / "hubspot_contacts.csv"], preset="hubspot")
    con = store.connect_read_only(db)
    try:
        batches = quality.import_batches(con)
        groups = quality.refusal_groups(con)
        rows = quality.refused_rows(con, first.batch_id)
        none = quality.refused_rows(con, "no-such-batch")
    finally:
        con.close()
    assert len(batches) == 2 and batches["refused"].tolist() == [0, 3]
    assert set(batches["kind"]) == {"flat import"}
    got = {(g.column, g.rows, g.first_row) for g in groups.itertuples()}
    assert got == {
        ("Record ID", 2, 6),
        ("Became a Sales Qualified Lead Date", 1, 9),
    }
    assert rows["row_number"].tolist() == [6, 8, 9]
    assert rows.loc[rows["row_number"] == 8, "reason"].item() == "Record ID: lead_id is empty"
    assert none.empty


def test_undated_stage_entries(tmp_path: Path) -> None:
    """Stage entries placed without a date of their own are counted per system and stage."""
    db = tmp_path / "h.duckdb"
    flat.import_flat(db, [EXAMPLES / "salesforce_leads.csv"], preset="salesforce")
    con = store.connect_read_only(db)
    try:
        out = quality.undated_stage_entries(con)
    finally:
        con.close()
    # Lead Status: Working (02) and Open (05) -> mql; 04, 07 disqualified; 06 nurture.
    assert dict(zip(out["stage"], out["entries"], strict=True)) == {
        "disqualified": 2,
        "mql": 2,
        "nurture": 1,
    }


def test_mask_personal_hides_names_and_addresses() -> None:
    """Names keep their first letter, e-mails their first letter and domain; missing stays."""
    df = pd.DataFrame({"name": ["Ada Lovelace", None], "email": ["ada@x.com", None], "n": [1, 2]})
    out = quality.mask_personal(df)
    assert out["name"].tolist() == ["A•••", None]
    assert out["email"].tolist() == ["a•••@x.com", None]
    assert out["n"].tolist() == [1, 2] and df["name"].iloc[0] == "Ada Lovelace"
    raw = quality.mask_personal(pd.DataFrame({"raw": ['7001,"ada.l@x.com",Software', None]}))
    assert raw["raw"].tolist() == ['7001,"a•••@x.com",Software', None]
