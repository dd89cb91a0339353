"""Flat CRM exports: presets, example files end to end, dates, placeholders, mappings."""

from __future__ import annotations

import hashlib
import tomllib
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import filters as flt
from analysis import store
from analysis.imports import flat
from analysis.imports.ingest import UnusableInput
from analysis.lifecycle import funnel
from analysis.scoring import features
from tests.paths import EXAMPLES

TODAY = date(2024, 6, 1)


def frame(db: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    con = store.connect_read_only(db)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def one(db: Path, sql: str, params: list | None = None):
    return frame(db, sql, params).iloc[0, 0]


def write(path: Path, text: str) -> Path:
    lines = [line.strip() for line in text.strip().splitlines()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def funnel_frame(db: Path) -> pd.DataFrame:
    """The funnel of all leads (whole history), from the funnel module, indexed by stage."""
    con = store.connect_read_only(db)
    try:
        return funnel.stage_conversion(con, flt.Filters()).set_index("stage")
    finally:
        con.close()


def stage_counts(db: Path) -> dict[str, int]:
    """Leads that reached each funnel stage (whole history)."""
    return funnel_frame(db)["reached"].to_dict()


# --- the example exports, end to end -------------------------------------------------------


def test_hubspot_example(tmp_path: Path) -> None:
    """It imports the HubSpot example: 10 leads, 12 stage entries, 4 properties per lead.

    By hand (data/examples/hubspot_contacts.csv): dated "Became ..." cells: 501 has 4,
    502 has 2, 503 has 1, 506 has 3, 510 has 1 -> 11. Lifecycle stages add an undated
    entry only where no dated entry of that stage or a later one exists: 507 is a
    Marketing Qualified Lead without an MQL date -> 1. "Lead"/"Subscriber" never write an
    entry (created_at says it), "Other" has no stage -> 12. Properties: every column
    not mapped or excluded: Lead Status, Number of Pageviews, Number of Sessions,
    Product Interest -> 4 x 10 rows (missing values stored as NULL).
    """
    db = tmp_path / "h.duckdb"
    result = flat.import_flat(db, [EXAMPLES / "hubspot_contacts.csv"], preset="hubspot")
    assert result.accepted == {"leads": 10, "lead_properties": 40, "stage_changes": 12}
    assert result.refused.empty and result.applied
    names = frame(db, "SELECT DISTINCT name FROM lead_properties ORDER BY 1")["name"].tolist()
    assert names == ["Lead Status", "Number of Pageviews", "Number of Sessions", "Product Interest"]
    # Lead Status is empty for 505 and 509: 8 values of 10.
    assert one(db, "SELECT count(value) FROM lead_properties WHERE name = 'Lead Status'") == 8
    assert (
        one(
            db,
            "SELECT value_number FROM lead_properties WHERE lead_id = '501' AND name = ?",
            ["Number of Pageviews"],
        )
        == 42.0
    )
    # The undated MQL of 507 sits at its creation, marked undated.
    row = frame(db, "SELECT * FROM stage_changes WHERE lead_id = '507'").iloc[0]
    assert row["stage"] == "mql" and row["source_system"] == "hubspot (undated)"
    assert row["changed_at"] == pd.Timestamp("2024-01-22 14:25")
    leads = frame(db, "SELECT * FROM leads ORDER BY lead_id").set_index("lead_id")
    assert leads.loc["501", "source"] == "organic_search"  # [values.source] of the preset
    assert leads.loc["509", "source"] == "events"  # "Offline Sources"
    assert leads.loc["502", "region"] == "EMEA" and leads.loc["501", "region"] == "North America"
    assert leads.loc["505", "email_domain_kind"] == "free"
    assert leads.loc["501", "name"] == "Ada Lovelace"
    assert pd.isna(leads.loc["505", "employees"])
    # Funnel by hand: MQL or later = 501, 502, 503, 506, 507, 510 (510 skipped MQL) = 6;
    # SQL or later = 501, 502, 506, 510 = 4; opportunity = 501, 506; customer = 501.
    # Lead -> MQL 6/10 = 60%, MQL -> SQL 4/6.
    assert stage_counts(db) == {"lead": 10, "mql": 6, "sql": 4, "opportunity": 2, "customer": 1}
    steps = funnel_frame(db)
    assert steps.loc["mql", "step_rate"] == pytest.approx(0.6)
    assert steps.loc["sql", "step_rate"] == pytest.approx(4 / 6)
    assert steps.loc["customer", "overall_rate"] == pytest.approx(0.1)


def test_hubspot_dirty_example(tmp_path: Path) -> None:
    """It imports the dirty HubSpot export, refusing 3 rows with their reasons, keeping
    an MQL dated before its lead's creation (moved up to it, marked out of order) and a
    lead whose employee count reads "lots" (the count left empty, a warning recorded).

    By hand (rows numbered like a spreadsheet, row 11 is blank and skipped):
    leads: row 6 repeats Record ID 1001 (duplicate), row 8 has no Record ID -> 8 of 10
    accepted (row 10's "lots" employees is left empty). Stage entries: MQL dates of rows 2, 3, 9
    accepted, row 5's MQL (2024-01-21) precedes its creation (2024-01-22) -> kept at
    2024-01-22, marked; row 6's entries go with its refused lead row. SQL dates: row 2
    accepted, row 9's "31-02-2024" is no date -> refused. Undated: row 9 is an SQL per
    lifecycle with no readable SQL date -> 1; row 12 an MQL without date -> 1.
    4 + 1 + 2 = 7 accepted. Properties: 3 columns x 8 accepted leads = 24.
    """
    db = tmp_path / "h.duckdb"
    result = flat.import_flat(db, [EXAMPLES / "hubspot_contacts_dirty.csv"], preset="hubspot")
    assert result.accepted == {"leads": 8, "lead_properties": 24, "stage_changes": 7}
    got = result.refused[["table", "row_number", "column", "problem"]].values.tolist()
    assert got == [
        ["leads", 6, "Record ID", "duplicate key"],
        ["leads", 8, "Record ID", "empty required value"],
        ["stage_changes", 9, "Became a Sales Qualified Lead Date", "not a date"],
    ]
    warned = result.warnings[["table", "row_number", "column", "value"]].values.tolist()
    assert warned == [["leads", 10, "Number of Employees", "lots"]]
    reasons = result.refused["reason"].tolist()
    assert "'31-02-2024 11:00' is not a date" in reasons[2]
    stored = frame(db, "SELECT count(*) AS n FROM import_rejects")["n"].iloc[0]
    assert stored == 3
    early = frame(db, "SELECT * FROM stage_changes WHERE lead_id = '1004'").iloc[0]
    assert early["stage"] == "mql" and early["changed_at"] == pd.Timestamp("2024-01-22 16:40")
    assert early["source_system"] == "hubspot (out of order, was 2024-01-21 08:00:00)"
    leads = frame(db, "SELECT * FROM leads").set_index("lead_id")
    assert sorted(leads.index) == ["1001", "1002", "1003", "1004", "1006", "1008", "1009", "1010"]
    assert pd.isna(leads.loc["1009", "employees"])
    # "1003.0" is the spreadsheet's 1003; "N/A", "Select", "--" are missing.
    assert pd.isna(leads.loc["1003", "job_title"]) and pd.isna(leads.loc["1003", "industry"])
    assert pd.isna(leads.loc["1004", "country"]) and pd.isna(leads.loc["1004", "owner_rep_id"])
    assert leads.loc["1003", "employees"] == 1000 and leads.loc["1002", "employees"] == 51
    assert leads.loc["1003", "region"] == "North America"  # USA
    # Day-first cells read day-first; 1008 has no create date: its MQL date stands in.
    assert leads.loc["1002", "created_at"] == pd.Timestamp("2024-01-15 10:30")
    assert leads.loc["1010", "created_at"] == pd.Timestamp("2024-02-20 14:25")
    assert leads.loc["1008", "created_at"] == pd.Timestamp("2024-02-12 09:30")
    assert any("1 leads without a create date" in n for n in result.notes)
    assert any("'Create Date' read ISO + day first" in n for n in result.notes)
    # Funnel: MQL or later = 1001, 1002, 1004 (kept, out of order), 1008, 1010;
    # SQL = 1001, 1008 -> MQL -> SQL 2/5.
    assert stage_counts(db) == {"lead": 8, "mql": 5, "sql": 2, "opportunity": 0, "customer": 0}


def test_salesforce_example_with_opportunities(tmp_path: Path) -> None:
    """It imports the Salesforce leads report with its opportunities report.

    By hand: Converted Date gives dated SQLs for 01, 03, 08; Lead Status adds undated
    MQLs for 02 ("Working") and 05 ("Open - Not Contacted"), disqualified for 04 and 07
    and nurture for 06 -> 8. The opportunities add an "opportunity" entry each (3) and a
    "customer" entry for the won deal -> 12. Outcomes from the Won/Closed flags:
    XyZ01 won, XyZ02 lost (closed, not won), XyZ03 open, whose Close Date is an expected
    one and is not kept. Funnel: MQL or later = 01, 02, 03, 05, 08 = 5; SQL = 01, 03, 08;
    opportunity = the same 3; customer = 01.
    """
    db = tmp_path / "h.duckdb"
    files = [EXAMPLES / "salesforce_leads.csv", EXAMPLES / "salesforce_opportunities.csv"]
    result = flat.import_flat(db, files, preset="salesforce")
    assert result.accepted == {
        "leads": 8,
        "lead_properties": 24,
        "stage_changes": 12,
        "opportunities": 3,
    }
    assert result.refused.empty
    opps = frame(db, "SELECT * FROM opportunities ORDER BY opportunity_id")
    assert opps["outcome"].tolist() == ["won", "lost", "open"]
    assert opps["amount"].tolist() == [48000.0, 120000.0, 75500.0]
    assert opps["closed_at"].iloc[0] == pd.Timestamp("2024-03-14")
    assert pd.isna(opps["closed_at"].iloc[2])
    assert opps["lost_reason"].iloc[1] == "Price"
    lead = frame(db, "SELECT * FROM leads WHERE lead_id = '00Q5g00000AbC02'").iloc[0]
    assert lead["created_at"] == pd.Timestamp("2024-01-16 14:05")  # 1/16/2024 2:05 PM
    assert lead["region"] == "EMEA" and lead["source"] == "events"  # Trade Show
    assert stage_counts(db) == {"lead": 8, "mql": 5, "sql": 3, "opportunity": 3, "customer": 1}
    # MQL -> SQL 3/5 = 60%; SQL -> opportunity 3/3; opportunity -> customer 1/3.
    steps = funnel_frame(db)
    assert steps.loc["sql", "step_rate"] == pytest.approx(0.6)
    assert steps.loc["customer", "step_rate"] == pytest.approx(1 / 3)
    side = frame(db, "SELECT stage, count(*) AS n FROM stage_changes GROUP BY 1 ORDER BY 1")
    assert dict(zip(side["stage"], side["n"], strict=True))["disqualified"] == 2


def test_salesforce_dirty_examples(tmp_path: Path) -> None:
    """It refuses the dirty Salesforce rows (a bad flag, an unknown lead, a negative amount
    closed before it was created) and keeps the facts dated before their lead.

    By hand: all 6 lead rows are fine (day-first dates, "--None--" is missing, "UAE" and
    "Deutschland" get their region). Stage entries: row 6's Converted "maybe" is no flag
    -> refused; row 7's Converted Date 2024-02-10 precedes its creation 2024-02-20 10:00
    -> kept there, marked; dated SQLs 01, 03 and undated MQLs 02, 04, 05 -> 6. Deals:
    row 4's lead is unknown, row 5 has amount -500 and closes before it was created -> 2
    refused; row 6 (created 2024-02-01, before its lead) is kept at 2024-02-20 10:00 ->
    3 accepted, whose implied entries add opportunity x3 + customer x1 -> 10 entries.
    """
    db = tmp_path / "h.duckdb"
    files = [
        EXAMPLES / "salesforce_leads_dirty.csv",
        EXAMPLES / "salesforce_opportunities_dirty.csv",
    ]
    result = flat.import_flat(db, files, preset="salesforce")
    assert result.accepted == {
        "leads": 6,
        "lead_properties": 12,
        "stage_changes": 10,
        "opportunities": 3,
    }
    got = result.refused[["table", "row_number", "column", "problem"]].values.tolist()
    assert sorted(got) == [
        ["opportunities", 4, "Lead ID", "unknown lead"],
        ["opportunities", 5, "Amount", "below minimum"],
        ["stage_changes", 6, "Converted", "not yes/no"],
    ]
    moved = frame(db, "SELECT * FROM stage_changes WHERE source_system LIKE '%out of order%'")
    assert sorted(moved["stage"]) == ["opportunity", "sql"]
    assert set(moved["changed_at"]) == {pd.Timestamp("2024-02-20 10:00")}
    both = result.refused.loc[result.refused["row_number"] == 5, "reason"].iloc[0]
    assert "amount '-500' is below the minimum 0" in both
    assert "Close Date: closed_at 2024-02-01 00:00 UTC is before created_at" in both
    leads = frame(db, "SELECT * FROM leads").set_index("lead_id")
    assert leads.loc["00Q5g00000DrT04", "created_at"] == pd.Timestamp("2024-02-03 10:00")
    assert pd.isna(leads.loc["00Q5g00000DrT02", "industry"])
    assert leads.loc["00Q5g00000DrT03", "employees"] == 2200
    assert leads.loc["00Q5g00000DrT02", "region"] == "EMEA"
    opps = frame(db, "SELECT * FROM opportunities ORDER BY 1")
    assert opps["amount"].isna().tolist() == [False, True, False]  # "n/a" is missing
    # Funnel: MQL or later = T01..T06; SQL = T01, T03, T06 (kept at its creation);
    # opportunity = T01, T03, T06; customer = T01 (the won deal).
    assert stage_counts(db) == {"lead": 6, "mql": 6, "sql": 3, "opportunity": 3, "customer": 1}


def test_undated_export(tmp_path: Path) -> None:
    """A file without any date imports: leads take the import day, stages sit on it, and
    the feature matrix still builds (the lifecycle gives the outcomes).

    By hand: 6 leads; lifecycle Customer, SQL, MQL and Opportunity give 4 undated
    entries (Lead and Subscriber none). Handed off = 4, reached SQL = 3 (Customer, SQL,
    Opportunity)."""
    db = tmp_path / "h.duckdb"
    result = flat.import_flat(
        db, [EXAMPLES / "hubspot_contacts_undated.csv"], preset="hubspot", today=TODAY
    )
    assert result.accepted == {"leads": 6, "lead_properties": 12, "stage_changes": 4}
    assert any("6 leads without any date get created_at 2024-06-01" in n for n in result.notes)
    created = frame(db, "SELECT DISTINCT created_at FROM leads")["created_at"].tolist()
    assert created == [pd.Timestamp("2024-06-01")]
    assert sorted(frame(db, "SELECT lead_id FROM leads")["lead_id"]) == [
        "a1f3",
        "b2e4",
        "c3d5",
        "d4c6",
        "e5b7",
        "f6a8",
    ]
    con = store.connect_read_only(db)
    try:
        fm = features.build_features(con)
    finally:
        con.close()
    assert fm.n == 6 and int(fm.handed_off.sum()) == 4 and int(fm.reached_sql.sum()) == 3
    # Never handed off: decision point created + 30 days, after the end of the data.
    assert int(fm.decided.sum()) == 4


def test_created_at_fallback_from_the_mapping(tmp_path: Path) -> None:
    """A mapping's created_at_fallback dates the leads of a file without dates."""
    mapping = write(
        tmp_path / "m.toml",
        """
        extends = "hubspot"
        created_at_fallback = "2023-12-01"
        """,
    )
    db = tmp_path / "h.duckdb"
    result = flat.import_flat(db, [EXAMPLES / "hubspot_contacts_undated.csv"], mapping=mapping)
    assert result.refused.empty
    assert one(db, "SELECT max(created_at) FROM leads") == pd.Timestamp("2023-12-01")
    assert any("created_at_fallback" in n for n in result.notes)


# --- atomic batches, strict mode, dry runs, re-imports ------------------------------------


def test_strict_refusal_leaves_the_database_unchanged(tmp_path: Path) -> None:
    """In strict mode a batch with a refused row writes nothing: the file is unchanged."""
    db = tmp_path / "h.duckdb"
    flat.import_flat(db, [EXAMPLES / "hubspot_contacts.csv"], preset="hubspot")
    before = digest(db)
    result = flat.import_flat(
        db, [EXAMPLES / "hubspot_contacts_dirty.csv"], preset="hubspot", strict=True
    )
    assert not result.applied and len(result.refused) == 3
    assert set(result.accepted.values()) == {0}
    assert digest(db) == before


def test_dry_run_writes_nothing_and_predicts_the_import(tmp_path: Path) -> None:
    """A dry run reports what the import would do and leaves the file as it was."""
    db = tmp_path / "h.duckdb"
    flat.import_flat(db, [EXAMPLES / "salesforce_leads.csv"], preset="salesforce")
    before = digest(db)
    files = [EXAMPLES / "salesforce_opportunities_dirty.csv"]
    dry = flat.import_flat(db, files, preset="salesforce", dry_run=True)
    assert digest(db) == before and not dry.applied
    real = flat.import_flat(db, files, preset="salesforce")
    assert dry.accepted == real.accepted
    # Against the clean leads every dirty deal points at an unknown lead (other ids).
    assert dry.accepted["opportunities"] == 0 and len(dry.refused) == 5
    assert dry.refused["problem"].tolist() == real.refused["problem"].tolist()


def test_dry_run_without_a_database(tmp_path: Path) -> None:
    """A dry run against a missing database checks the file and creates nothing."""
    db = tmp_path / "none.duckdb"
    result = flat.import_flat(
        db, [EXAMPLES / "hubspot_contacts.csv"], preset="hubspot", dry_run=True
    )
    assert result.accepted["leads"] == 10 and not db.exists()


def test_reimport_is_idempotent_and_clears_removed_values(tmp_path: Path) -> None:
    """Importing the same export twice leaves the same tables; a value removed in a newer
    export is cleared (its property row becomes NULL)."""
    db = tmp_path / "h.duckdb"
    src = EXAMPLES / "hubspot_contacts.csv"
    flat.import_flat(db, [src], preset="hubspot")
    snap = {
        t: frame(db, f"SELECT * FROM {t} ORDER BY ALL")
        for t in ("leads", "stage_changes", "lead_properties")
    }
    flat.import_flat(db, [src], preset="hubspot")
    for t, before in snap.items():
        pd.testing.assert_frame_equal(frame(db, f"SELECT * FROM {t} ORDER BY ALL"), before)
    newer = tmp_path / "newer.csv"
    newer.write_text(src.read_text().replace(",Connected,2024-01-03", ",,2024-01-03"))
    flat.import_flat(db, [newer], preset="hubspot")
    value = one(
        db, "SELECT value FROM lead_properties WHERE lead_id = '501' AND name = ?", ["Lead Status"]
    )
    assert value is None or pd.isna(value)


def test_deal_entries_repeating_the_lead_file_are_not_refused(tmp_path: Path) -> None:
    """A deal created at the lead's "Became an Opportunity Date" adds no second entry."""
    leads = write(
        tmp_path / "contacts.csv",
        """
        Record ID,Create Date,Became an Opportunity Date
        7,2024-01-01 09:00,2024-01-10 12:00
        """,
    )
    deals = write(
        tmp_path / "deals.csv",
        """
        Record ID,Associated Contact ID,Create Date,Deal Stage,Amount,Close Date
        D1,7,2024-01-10 12:00,closedwon,"1,500",2024-02-01
        D2,8,2024-01-11,appointmentscheduled,100,2024-03-01
        """,
    )
    db = tmp_path / "h.duckdb"
    result = flat.import_flat(db, [leads, deals], preset="hubspot")
    assert result.accepted == {"leads": 1, "stage_changes": 2, "opportunities": 1}
    # Only the deal for the unknown contact 8 is refused; its entries go with it.
    assert result.refused[["table", "row_number"]].values.tolist() == [["opportunities", 3]]
    stages = frame(db, "SELECT stage FROM stage_changes ORDER BY changed_at")["stage"].tolist()
    assert stages == ["opportunity", "customer"]


# --- files that cannot be used ---------------------------------------------------------


def test_ambiguous_date_column_is_refused_unless_named(tmp_path: Path) -> None:
    """A column whose dates read both ways is refused as a whole; naming the order fixes it."""
    path = write(
        tmp_path / "leads.csv",
        """
        Lead ID,Created Date
        L1,03/04/2024
        L2,05/06/2024 10:00
        L3,07/07/2024
        """,
    )
    db = tmp_path / "h.duckdb"
    with pytest.raises(UnusableInput, match=r"'Created Date' has dates such as '03/04/2024'"):
        flat.import_flat(db, [path], preset="salesforce")
    assert not db.exists()
    mapping = write(tmp_path / "m.toml", 'extends = "salesforce"\ndate_order = "mdy"')
    result = flat.import_flat(db, [path], mapping=mapping)
    created = frame(db, "SELECT created_at FROM leads ORDER BY lead_id")["created_at"]
    assert created.tolist() == [
        pd.Timestamp("2024-03-04"),
        pd.Timestamp("2024-05-06 10:00"),
        pd.Timestamp("2024-07-07"),
    ]
    assert result.refused.empty


def test_contradictory_date_column_is_refused(tmp_path: Path) -> None:
    """A column with day-first and month-first evidence is refused; a named format then
    refuses only the rows that do not fit it."""
    path = write(
        tmp_path / "leads.csv",
        """
        Lead ID,Created Date
        L1,31/01/2024
        L2,01/31/2024
        """,
    )
    with pytest.raises(UnusableInput, match="mixes day-first dates.*row 2.*month-first.*row 3"):
        flat.import_flat(tmp_path / "h.duckdb", [path], preset="salesforce")
    mapping = write(
        tmp_path / "m.toml",
        """
        extends = "salesforce"
        [date_formats]
        "Created Date" = "dmy"
        """,
    )
    result = flat.import_flat(tmp_path / "h.duckdb", [path], mapping=mapping)
    assert result.accepted["leads"] == 1
    assert result.refused[["row_number", "column", "problem"]].values.tolist() == [
        [3, "Created Date", "not a date"]
    ]


def test_file_of_neither_kind_is_unusable(tmp_path: Path) -> None:
    """A file without the mapping's id column is refused, naming the columns expected."""
    path = write(tmp_path / "x.csv", "Name,Email\nA,a@b.c")
    with pytest.raises(UnusableInput, match="a leads file needs the column 'Lead ID'"):
        flat.import_flat(tmp_path / "h.duckdb", [path], preset="salesforce")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[fields]\nlead_idd = "X"', "unknown lead field"),
        ('[stage_dates]\nmqll = "X"', "unknown stage"),
        ('[date_formats]\n"X" = "ymd"', "expected one of iso, dmy, mdy"),
        ('date_order = "iso"', 'date_order must be "dmy" or "mdy"'),
        ('timezone = "Mars/Olympus"', "not an IANA time zone"),
        ('extends = "pipedrive"', "unknown preset"),
        ("[fields\n", "not a readable TOML file"),
        ('colour = "blue"', "unknown key"),
        ('[deals]\namount = "Amount"', "needs lead_id"),
    ],
)
def test_bad_mapping_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    """A mapping with unknown fields, stages, formats or keys is refused before reading."""
    mapping = write(tmp_path / "m.toml", text)
    with pytest.raises(flat.MappingError, match=message):
        flat.load_mapping(mapping)


# --- values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "kwargs", "expected", "detected"),
    [
        (["2024-03-14", "2024/03/15 9:05"], {}, ["2024-03-14", "2024-03-15 09:05"], "iso"),
        (["14-03-2024", "01-02-2024 10:00"], {}, ["2024-03-14", "2024-02-01 10:00"], "dmy"),
        (["3/14/2024 2:35 PM", "1/2/2024 12:00 AM"], {}, ["2024-03-14 14:35", "2024-01-02"], "mdy"),
        (
            ["2024-03-14T10:00:00+02:00", "2024-03-14T10:00Z"],
            {},
            ["2024-03-14 08:00", "2024-03-14 10:00"],
            "iso",
        ),
        (["01/01/2024", "05/05/2024"], {}, ["2024-01-01", "2024-05-05"], "dmy"),
        (["03/04/2024"], {"fmt": "mdy"}, ["2024-03-04"], "mdy"),
        (["03/04/2024"], {"order": "dmy"}, ["2024-04-03"], "dmy"),
        (["2024-07-01 12:00"], {"timezone": "Europe/Berlin"}, ["2024-07-01 10:00"], "iso"),
        (["2024-07-01T12:00Z"], {"timezone": "Europe/Berlin"}, ["2024-07-01 12:00"], "iso"),
        # Clocks go back: 02:30 happens twice, read as standard time (UTC+1); clocks go
        # forward: 02:30 never happens, moved to 03:00 summer time (UTC+2).
        (
            ["2024-10-27 02:30", "2024-03-31 02:30"],
            {"timezone": "Europe/Berlin"},
            ["2024-10-27 01:30", "2024-03-31 01:00"],
            "iso",
        ),
    ],
)
def test_date_formats(cells, kwargs, expected, detected) -> None:
    """Dates are read per column in ISO, day-first or month-first, with times and offsets."""
    parsed = flat.parse_dates(pd.Series(cells, index=range(2, 2 + len(cells))), "c", **kwargs)
    assert parsed.values.tolist() == [pd.Timestamp(e) for e in expected]
    assert not parsed.bad.any() and parsed.detected == detected


@pytest.mark.parametrize(
    "cell", ["31/02/2024", "2024-13-01", "yesterday", "13:00 PM", "1/1/24", "0001-01-01"]
)
def test_bad_dates_are_flagged(cell: str) -> None:
    """Cells that are not dates in the column's format are flagged, not guessed."""
    parsed = flat.parse_dates(pd.Series(["2024-03-14", cell]), "c", fmt="dmy")
    assert parsed.bad.tolist() == [False, True]


def test_placeholders_ids_numbers() -> None:
    """Placeholders mean missing; float-looking ids lose their '.0'; numbers and employee
    bands are read."""
    cells = pd.Series(["Select", " -- ", "N/A", "", "none", "Selected", "0"])
    assert flat.missing_mask(cells).tolist() == [True, True, True, True, True, False, False]
    assert flat.missing_mask(pd.Series(["Unknown"]), ["unknown"]).tolist() == [True]
    ids = flat.clean_ids(pd.Series([" 1003.0", "00123", "5f3a9c", "1e5", "00Q5g00000AbC01"]))
    assert ids.tolist() == ["1003", "00123", "5f3a9c", "1e5", "00Q5g00000AbC01"]
    nums = flat.parse_number(pd.Series(["1,234.5", "$1,200", "12%", "-3", "1,2", "x"]))
    assert nums.tolist()[:4] == [1234.5, 1200.0, 12.0, -3.0] and nums.iloc[4:].isna().all()
    emp = flat.parse_employees(pd.Series(["51-200", "10,001+", "1.000", "1 to 10", "lots"]))
    assert emp.tolist()[:4] == [51.0, 10001.0, 1000.0, 1.0] and np.isnan(emp.iloc[4])


# --- mappings ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", flat.PRESETS)
def test_presets_round_trip_through_toml(name: str) -> None:
    """Each preset writes out as TOML that reads back to the same mapping."""
    m = flat.preset(name)
    assert flat.Mapping.from_dict(tomllib.loads(m.to_toml())) == m


def test_mapping_file_extends_a_preset(tmp_path: Path) -> None:
    """A mapping file on top of a preset overrides only what it names."""
    path = write(
        tmp_path / "m.toml",
        """
        extends = "hubspot"
        [fields]
        industry = "Branche"
        [values.industry]
        "SaaS" = "Software"
        """,
    )
    m = flat.load_mapping(path)
    assert m.fields["industry"] == "Branche" and m.fields["lead_id"] == "Record ID"
    assert m.values["industry"] == {"SaaS": "Software"} and "source" in m.values
    assert flat.load_mapping(path, "salesforce").fields["lead_id"] == "Lead ID"


@pytest.mark.parametrize(
    ("file", "preset", "kind"),
    [
        ("hubspot_contacts.csv", "hubspot", "leads"),
        ("hubspot_contacts_dirty.csv", "hubspot", "leads"),
        ("salesforce_leads.csv", "salesforce", "leads"),
        ("salesforce_opportunities.csv", "salesforce", "deals"),
    ],
)
def test_detect_mapping_recognises_the_presets(file: str, preset: str, kind: str) -> None:
    """The header of each example export is recognised as its preset and file kind."""
    df = flat.read_export(EXAMPLES / file)
    m = flat.detect_mapping(df, file)
    assert m.name == preset
    assert flat.classify(list(df.columns), m, file) == kind


def test_detect_mapping_guesses_an_unknown_header(tmp_path: Path) -> None:
    """An unfamiliar export gets fields from column-name synonyms; the rest are properties."""
    path = write(
        tmp_path / "crm.csv",
        """
        ID,Date Created,Channel,E-mail,First_Name,Last_Name,Lifecycle Stage,MQL Date,Converted,Size
        1,2024-01-01,web,a@b.com,A,B,MQL,2024-01-02,no,42
        """,
    )
    df = flat.read_export(path)
    m = flat.detect_mapping(df, path.name)
    assert m.fields["lead_id"] == "ID" and m.fields["created_at"] == "Date Created"
    assert m.fields["source"] == "Channel" and m.fields["email"] == "E-mail"
    assert m.fields["name"] == ("First_Name", "Last_Name")
    assert m.stage_dates == {"mql": "MQL Date"} and m.flags == {"Converted": "sql"}
    assert list(m.stage_values) == ["Lifecycle Stage"]
    roles = m.roles(list(df.columns))
    assert dict(zip(roles["column"], roles["role"], strict=True))["Size"] == "property"
    db = tmp_path / "h.duckdb"
    result = flat.import_flat(db, [path])
    assert result.accepted == {"leads": 1, "lead_properties": 1, "stage_changes": 1}
    assert any("detected mapping" in n for n in result.notes)


def test_roles_table_round_trip_and_edits() -> None:
    """The roles table of a preset rebuilds the same leads mapping; an edit changes it."""
    m = flat.preset("hubspot")
    columns = list(flat.read_export(EXAMPLES / "hubspot_contacts.csv").columns)
    roles = m.roles(columns)
    again = m.with_roles(roles)
    assert again.fields == {k: v for k, v in m.fields.items() if k != "campaign"} | {
        "campaign": "Original Source Drill-Down 2"
    }
    assert again.stage_dates == m.stage_dates and list(again.stage_values) == ["Lifecycle Stage"]
    assert "Lead Status" in again.keep and "Phone Number" in again.exclude
    edited = roles.copy()
    edited.loc[edited["column"] == "Lead Status", "role"] = "ignore"
    edited.loc[edited["column"] == "Create Date", "date_format"] = "iso"
    changed = m.with_roles(edited)
    assert "Lead Status" in changed.exclude and changed.date_formats["Create Date"] == "iso"
    twice = roles.copy()
    twice.loc[twice["column"] == "Email", "role"] = "lead: lead_id"
    with pytest.raises(flat.MappingError, match="both have role 'lead: lead_id'"):
        m.with_roles(twice)


# --- properties as features ---------------------------------------------------------------


def test_property_catalogue_describes_the_imported_columns(tmp_path: Path) -> None:
    """Imported properties are listed with their kind: by hand (salesforce_leads.csv),
    Web Visits holds 8 numbers (numeric) and Rating the labels Cold/Hot/Warm (categorical)."""
    db = tmp_path / "h.duckdb"
    flat.import_flat(db, [EXAMPLES / "salesforce_leads.csv"], preset="salesforce")
    con = store.connect_read_only(db)
    try:
        cat = flat.property_catalogue(con).set_index("name")
    finally:
        con.close()
    assert cat.loc["Web Visits", "kind"] == "numeric"
    assert cat.loc["Web Visits", "leads"] == 8
    assert cat.loc["Rating", "kind"] == "categorical"
    assert cat.loc["Rating", "distinct_values"] == 3


def test_import_batch_is_recorded(tmp_path: Path) -> None:
    """The batch is recorded as a flat import with its notes."""
    db = tmp_path / "h.duckdb"
    flat.import_flat(db, [EXAMPLES / "hubspot_contacts.csv"], preset="hubspot")
    batch = frame(db, "SELECT * FROM import_batches").iloc[0]
    assert batch["kind"] == "flat import" and batch["accepted"] == 62 and batch["refused"] == 0
    assert batch["files"] == "hubspot_contacts.csv" and "mapping 'hubspot'" in batch["note"]
    assert isinstance(batch["finished_at"], datetime | pd.Timestamp)
