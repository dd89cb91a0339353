"""The Data page through Streamlit's AppTest: quality findings, upload -> preview -> check ->
import, refused rows, against a private copy of the small demo database."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis import store
from analysis.imports import quality
from tests.paths import APP, EXAMPLES

PAGE = "app_pages/data.py"


@pytest.fixture()
def db(demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo database the page may write to (the shared one stays as it is)."""
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, path)
    monkeypatch.setenv("HANDOFF_DB", str(path))
    return path


def open_page(section: str = "import") -> AppTest:
    """The Data page on one of its sections (the importer unless told)."""
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return go_to(at, section)


def go_to(at: AppTest, section: str) -> AppTest:
    if at.session_state["data_tab"] != section:
        at.segmented_control(key="data_tab").set_value(section).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, *names: str) -> AppTest:
    files = [(n, (EXAMPLES / n).read_bytes(), "text/csv") for n in names]
    at.file_uploader(key="data_upload").set_value(files).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def count(db: Path, sql: str) -> int:
    con = store.connect_read_only(db)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def plain(at: AppTest) -> str:
    """The page's Markdown with the escapes of user text removed (as a reader sees it)."""
    return re.sub(r"\\(.)", r"\1", markdown(at))


def test_quality_tab_shows_the_findings(db: Path) -> None:
    """The metrics repeat what analysis/quality.py finds on the same database."""
    con = store.connect_read_only(db)
    try:
        dups = quality.duplicate_summary(con).set_index("rule").loc["either", "extra"]
        variants = len(quality.label_variants(con))
    finally:
        con.close()
    at = open_page("quality")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Leads"] == "4,000"
    assert metrics["Duplicate leads"] == f"{dups:,}"
    assert metrics["Labels to standardise"] == f"{variants:,}"
    assert metrics["Refused rows (all imports)"] == "0"
    assert [s.value for s in at.subheader][:3] == [
        "Duplicates",
        "Missing fields",
        "Inconsistent labels",
    ]
    # The proposals table can be downloaded as the [values] tables of a mapping.
    assert at.data_editor(key="data_variants").value.shape[0] == variants


def test_upload_preview_check_import(db: Path, writable: None) -> None:
    """Uploading the dirty HubSpot export shows the detected preset and the roles; Import
    is disabled until the check has run; the check writes nothing and says per table what
    the file would give; the import adds the rows, stays on the importer, and the refused
    rows appear per batch.

    By hand (tests/imports/test_flat.py): 8 leads + 24 properties + 7 stage entries
    written; 2 lead rows and 1 stage entry refused; 1 employee count ("lots") left empty.
    """
    at = upload(open_page(), "hubspot_contacts_dirty.csv")
    text = markdown(at)
    assert r"hubspot\_contacts\_dirty\.csv · 10 rows · read as a **leads** file" in text
    assert any(c.value == "Mapping in use: **hubspot**." for c in at.caption)
    roles = next(e for e in at.data_editor if e.key.startswith("data_roles_")).value
    got = dict(zip(roles["column"], roles["role"], strict=True))
    assert got["Record ID"] == "lead: lead_id" and got["Lead Status"] == "property"
    assert got["Became a Sales Qualified Lead Date"] == "stage date: sql"

    before = digest(db)
    assert at.button(key="data_import").disabled
    at = click(at, "data_check")
    assert not at.button(key="data_import").disabled
    assert (
        "hubspot_contacts_dirty.csv: 10 rows → would write 8 leads, 24 properties, "
        "7 stage changes; refused 2 leads, 1 stage change; 1 value left empty"
    ) in plain(at)
    assert digest(db) == before

    at = click(at, "data_import")
    assert "wrote 8 leads, 24 properties, 7 stage changes" in at.success[0].value
    assert at.session_state["data_tab"] == "import"
    assert at.segmented_control(key="data_tab").value == "import"
    assert count(db, "SELECT count(*) FROM leads") == 4_008
    assert count(db, "SELECT count(*) FROM import_rejects") == 3
    assert count(db, "SELECT count(*) FROM import_warnings") == 1
    at = go_to(at, "quality")
    assert {m.label: m.value for m in at.metric}["Refused rows (all imports)"] == "3"
    # The MQL the export dated before its lead's creation is listed as a finding.
    assert "Facts dated before their lead" in [h.value for h in at.subheader]
    found = next(d.value for d in at.dataframe if "Given at" in d.value.columns)
    assert found["Lead"].tolist() == ["1004"] and found["Stage"].tolist() == ["MQL"]
    # The refused rows section lists the batch's rows and the value left empty.
    at = go_to(at, "refused")
    tables = [d.value for d in at.dataframe if "Row as read" in d.value.columns]
    assert len(tables) == 1 and sorted(tables[0]["Row"]) == [6, 8, 9]
    empty = next(d.value for d in at.dataframe if "Value" in d.value.columns)
    assert empty[["Row", "Column", "Value"]].values.tolist() == [
        [10, "Number of Employees", "lots"]
    ]
    # The audit section names the write: the newest row records this import's batch.
    at = go_to(at, "audit")
    log = next(d.value for d in at.dataframe if "Who" in d.value.columns)
    assert log.iloc[0]["Import batches"] == at.session_state["data_imported"]["batch_id"]
    assert log.iloc[0]["Who"]


def test_a_corrected_role_changes_the_import(db: Path) -> None:
    """Setting a column's role to 'ignore' in the editor drops it from the import:
    without Lead Status, 2 properties x 8 leads = 16 properties."""
    at = upload(open_page(), "hubspot_contacts_dirty.csv")
    editor = next(e for e in at.data_editor if e.key.startswith("data_roles_"))
    row = editor.value["column"].tolist().index("Lead Status")
    at.session_state[editor.key] = {
        "edited_rows": {row: {"role": "ignore"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at = click(at, "data_check")
    assert "would write 8 leads, 16 properties, 7 stage changes" in plain(at)


def test_example_with_its_opportunities(db: Path) -> None:
    """Picking the Salesforce leads example brings its opportunities report along, read as
    a deals file, each file said with its own rows: 8 leads, 24 properties and 8 stage
    entries from the leads file; 3 opportunities and the 4 stage entries they imply from
    the deals file (12 stage entries in all)."""
    at = open_page()
    at.selectbox(key="data_example").set_value("salesforce_leads.csv").run()
    text = markdown(at)
    assert r"salesforce\_opportunities\.csv · 3 rows · read as a **deals** file" in text
    at = click(at, "data_check")
    text = plain(at)
    assert (
        "salesforce_leads.csv: 8 rows → would write 8 leads, 24 properties, 8 stage changes" in text
    )
    assert (
        "salesforce_opportunities.csv: 3 rows → would write 4 stage changes, 3 opportunities"
        in text
    )


def test_unusable_file_is_explained(db: Path, tmp_path: Path) -> None:
    """A file whose dates read both ways gets the importer's message, and nothing is written."""
    at = open_page()
    body = b"Lead ID,Created Date\nL1,03/04/2024\n"
    at.file_uploader(key="data_upload").set_value(("odd_leads.csv", body, "text/csv")).run()
    before = digest(db)
    at = click(at, "data_check")
    assert "has dates such as '03/04/2024'" in at.error[0].value
    assert digest(db) == before


def test_without_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writable: None
) -> None:
    """Without a database the page says so, and an import creates one."""
    path = tmp_path / "new.duckdb"
    monkeypatch.setenv("HANDOFF_DB", str(path))
    at = open_page("quality")
    assert "No database at" in at.info[0].value
    at = upload(go_to(at, "import"), "hubspot_contacts.csv")
    at = click(click(at, "data_check"), "data_import")
    assert count(path, "SELECT count(*) FROM leads") == 10
    at = go_to(at, "quality")
    assert {m.label: m.value for m in at.metric}["Leads"] == "10"


def test_user_text_never_reaches_markdown_unescaped(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file and a column named like Markdown images are shown as text: no element's
    Markdown holds an image or a link, and the names still read the same once rendered."""
    evil = "![pic](http://127.0.0.1:9/x.png)"
    body = f"Lead ID,Create Date,{evil}\nL1,2024-03-14,[link](http://127.0.0.1:9/)\n".encode()
    at = open_page()
    at.file_uploader(key="data_upload").set_value(("[x](y) leads.csv", body, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    at = click(at, "data_check")
    texts = [m.value for m in (*at.markdown, *at.caption, *at.error, *at.warning, *at.info)]
    assert not any("![" in t or "](" in t for t in texts)
    shown = "\n".join(texts)
    assert r"\[x\]\(y\) leads\.csv" in shown  # the file name, escaped


def test_upload_folders_are_removed(db: Path, tmp_path: Path, monkeypatch) -> None:
    """Uploaded files are written to a temporary folder that is gone after every run."""
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    at = upload(open_page(), "hubspot_contacts.csv")
    at = click(at, "data_check")
    assert "read as a **leads** file" in markdown(at)
    assert "nothing was written. 0 rows would be refused" in markdown(at)
    assert list(scratch.iterdir()) == []


def test_mapping_meaning_and_warnings_are_shown(db: Path, tmp_path: Path) -> None:
    """The preview says what an education-style mapping means, and the check warns when
    only converted leads are handed off (7 of 20, see tests/imports/test_flat_real.py)."""
    real = EXAMPLES / "real"
    at = open_page()
    at.file_uploader(key="data_upload").set_value(
        ("education_leads.csv", (real / "education_leads.csv").read_bytes(), "text/csv")
    ).run()
    toml = (real / "education.toml").read_text().replace('every_lead_reached = "mql"', "")
    at.file_uploader(key="data_mapping_file").set_value(
        ("education.toml", toml.encode(), "application/toml")
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "'Converted' yes/1 means the lead reached customer" in markdown(at)
    at = click(at, "data_check")
    assert any("every handed\\-off lead \\(7\\)" in w.value for w in at.warning)


def test_pipeline_with_teams_through_the_page(db: Path) -> None:
    """The opportunity pipeline and its teams file, with their mapping, check on the page:
    24 leads + 48 properties + 32 stage entries + 24 opportunities + 5 reps = 133 rows
    (see tests/imports/test_flat_real.py), and the preview says the funnel starts at the
    opportunity stage."""
    real = EXAMPLES / "real"
    names = ["pipeline_opportunities.csv", "pipeline_teams.csv"]
    at = open_page()
    at.file_uploader(key="data_upload").set_value(
        [(n, (real / n).read_bytes(), "text/csv") for n in names]
    ).run()
    at.file_uploader(key="data_mapping_file").set_value(
        ("pipeline.toml", (real / "pipeline.toml").read_bytes(), "application/toml")
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    text = markdown(at)
    assert "read as a **deals** file" in text and "read as a **reps** file" in text
    assert "funnel starts at the opportunity stage" in text
    at = click(at, "data_check")
    assert not at.error, [e.value for e in at.error]
    text = plain(at)
    assert "pipeline_opportunities.csv: 24 rows → would write 24 leads, 48 properties" in text
    assert "pipeline_teams.csv: 5 rows → would write 5 reps" in text


def test_duplicate_groups_mask_personal_data(db: Path) -> None:
    """With the default settings the duplicate groups show no full name or e-mail."""
    at = open_page("quality")
    groups = next(d.value for d in at.dataframe if "Email" in d.value.columns)
    shown = groups["Email"].dropna()
    assert len(shown) and shown.str.contains("•••@").all()
    assert groups["Name"].dropna().str.fullmatch(r".•••").all()


def test_real_example_with_its_mapping(db: Path, writable: None) -> None:
    """Picking the marketplace example reads both files with the mapping beside them: the
    check predicts 20 leads + 62 properties + 32 stage entries + 6 opportunities, said per
    file (the won-deals file brings 42 of the properties and 12 of the stage entries), and
    after the import the won deal dated before its MQL is listed."""
    at = open_page()
    at.selectbox(key="data_example").set_value("real/marketplace").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value == r"Mapping in use: **marketplace MQLs \+ won deals**." for c in at.caption)
    assert "every row of the deals file is a won deal" in markdown(at)
    at = click(at, "data_check")
    text = plain(at)
    assert "would write 20 leads, 20 properties, 20 stage changes" in text
    assert (
        "marketplace_won_deals.csv: 6 rows → would write 42 properties, 12 stage changes, "
        "6 opportunities" in text
    )
    at = click(at, "data_import")
    assert count(db, "SELECT count(*) FROM leads") == 4_020
    at = go_to(at, "quality")
    found = next(d.value for d in at.dataframe if "Given at" in d.value.columns)
    assert set(found["Lead"]) == {"f4d3c2b1"}


TEN_ROWS = "\n".join(
    ["Record ID,Create Date,Became a Marketing Qualified Lead Date,Lead Status,Product Interest"]
    + [f"{i},2024-01-0{1 + i % 5},2024-01-09,{'New' if i % 2 else 'Open'}," for i in range(1, 11)]
).replace("1,2024-01-02,2024-01-09,New,", "1,2024-01-02,2024-01-09,New,Analytics")


def test_dry_run_counts_a_hand_written_file_per_table(db: Path, writable: None) -> None:
    """A 10-row leads file under the detected mapping: the check says 10 rows → 10 leads,
    10 properties (Product Interest, kept for every lead once any row has a value; Lead
    Status is read for stages), 10 stage changes (one MQL date each), not "30 rows";
    Import is disabled before the check, enabled after it, and disabled again when the
    file changes."""
    at = open_page()
    at.file_uploader(key="data_upload").set_value(
        ("leads.csv", TEN_ROWS.encode(), "text/csv")
    ).run()
    assert at.button(key="data_import").disabled
    at = click(at, "data_check")
    assert "leads.csv: 10 rows → would write 10 leads, 10 properties, 10 stage changes" in plain(at)
    assert "30 rows" not in plain(at)
    summary = next(d.value for d in at.dataframe if "Rows written" in d.value.columns)
    assert summary[["Table", "Rows written"]].values.tolist() == [
        ["Leads", "10"],
        ["Lead properties", "10"],
        ["Stage changes", "10"],
    ]
    assert not at.button(key="data_import").disabled
    changed = TEN_ROWS.replace("2024-01-09", "2024-01-10")
    at.file_uploader(key="data_upload").set_value(("leads.csv", changed.encode(), "text/csv")).run()
    assert at.button(key="data_import").disabled
    assert any("changed since the last check" in i.value for i in at.info)


def test_the_section_is_in_the_url_and_kept(db: Path) -> None:
    """?tab=tables opens the table inventory: table names in words and counts with
    thousands separators (4,000 leads); choosing another section writes it to the URL."""
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["tab"] = "tables"
    at.run()
    at.switch_page(PAGE).run()
    assert at.session_state["data_tab"] == "tables"
    inventory = next(d.value for d in at.dataframe if "First event" in d.value.columns)
    rows = dict(zip(inventory["Table"], inventory["Rows"], strict=True))
    assert rows["Leads"] == "4,000" and "Stage changes" in rows
    at = go_to(at, "audit")
    assert at.query_params["tab"] == "audit"


@pytest.mark.parametrize("section", ["quality", "tables", "refused", "audit"])
def test_labels_have_no_underscores(db: Path, section: str) -> None:
    """Every table heading, metric and widget label of a section is in words (no
    stored_code), and the table column of the inventory names tables in words."""
    at = open_page(section)
    headings = [str(c) for d in at.dataframe for c in d.value.columns]
    headings += [m.label for m in at.metric] + [s.label for s in at.selectbox]
    headings += [str(c) for e in at.data_editor for c in e.value.columns]
    assert headings
    assert not [h for h in headings if "_" in h]
    if section == "tables":
        inventory = next(d.value for d in at.dataframe if "First event" in d.value.columns)
        assert not inventory["Table"].str.contains("_").any()


def test_merging_labels_from_the_page(db: Path, writable: None) -> None:
    """Ticking only the industry proposals and merging rewrites the stored leads: each
    merged spelling is gone from the filter options, its leads counted under the standard
    (leads before = leads of the standard after), and the page stays on its section."""
    con = store.connect_read_only(db)
    try:
        proposals = quality.label_variants(con)
        before = dict(con.execute("SELECT industry, count(*) FROM leads GROUP BY 1").fetchall())
    finally:
        con.close()
    at = open_page("quality")
    editor = at.data_editor(key="data_variants")
    keep = {i: {"Merge": False} for i, c in enumerate(proposals["column"]) if c != "industry"}
    at.session_state["data_variants"] = {"edited_rows": keep, "added_rows": [], "deleted_rows": []}
    at.run()
    assert editor is not None
    n = int((proposals["column"] == "industry").sum())
    assert at.button(key="data_merge").label == f"Merge {n:,} spellings"
    at = click(at, "data_merge")
    assert at.session_state["data_tab"] == "quality"
    assert at.success and "Merged" in at.success[0].value
    merged = proposals.loc[proposals["column"] == "industry"]
    con = store.connect_read_only(db)
    try:
        after = dict(con.execute("SELECT industry, count(*) FROM leads GROUP BY 1").fetchall())
    finally:
        con.close()
    for standard, group in merged.groupby("proposed"):
        expected = before[standard] + sum(before[label] for label in group["label"])
        assert after[standard] == expected
        assert not set(group["label"]) & set(after)


def test_merging_is_read_only_without_writes(db: Path) -> None:
    """Read-only, the Merge button is disabled and the page offers the CLI command."""
    at = open_page("quality")
    assert at.button(key="data_merge").disabled
    assert any("handoff labels accept" in c.value for c in at.code)
