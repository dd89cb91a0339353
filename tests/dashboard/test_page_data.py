"""The Data page through Streamlit's AppTest: quality findings, upload -> preview -> check ->
import, refused rows, against a private copy of the small demo database."""

from __future__ import annotations

import hashlib
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


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.switch_page(PAGE).run()
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


def test_quality_tab_shows_the_findings(db: Path) -> None:
    """The metrics repeat what analysis/quality.py finds on the same database."""
    con = store.connect_read_only(db)
    try:
        dups = quality.duplicate_summary(con).set_index("rule").loc["either", "extra"]
        variants = len(quality.label_variants(con))
    finally:
        con.close()
    at = open_page()
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
    """Uploading the dirty HubSpot export shows the detected preset and the roles; the
    check writes nothing and predicts the import; the import adds the rows and the
    refused rows appear per batch.

    By hand (tests/imports/test_flat.py): 7 leads + 21 properties + 7 stage entries = 35
    rows applied, 4 refused (the MQL dated before its lead is kept, not refused).
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
    at = click(at, "data_check")
    assert "35 rows would be applied, 4 refused. Nothing was written." in markdown(at)
    assert digest(db) == before

    at = click(at, "data_import")
    assert "35 rows applied, 4 refused" in at.success[0].value
    assert count(db, "SELECT count(*) FROM leads") == 4_007
    assert count(db, "SELECT count(*) FROM import_rejects") == 4
    assert {m.label: m.value for m in at.metric}["Refused rows (all imports)"] == "4"
    # The MQL the export dated before its lead's creation is listed as a finding.
    assert "Facts dated before their lead" in [h.value for h in at.subheader]
    found = next(d.value for d in at.dataframe if "given_at" in d.value.columns)
    assert found["lead_id"].tolist() == ["1004"] and found["stage"].tolist() == ["mql"]
    # The refused rows tab lists the batch's rows (the only table with a raw column now).
    tables = [d.value for d in at.dataframe if "raw" in d.value.columns]
    assert len(tables) == 1 and sorted(tables[0]["row_number"]) == [6, 8, 9, 10]
    # The audit tab names the write: the newest row records this import's batch.
    log = next(d.value for d in at.dataframe if "actor" in d.value.columns)
    assert log.iloc[0]["batches"] == at.session_state["data_imported"]["batch_id"]
    assert log.iloc[0]["actor"]


def test_a_corrected_role_changes_the_import(db: Path) -> None:
    """Setting a column's role to 'ignore' in the editor drops it from the import:
    without Lead Status, 2 properties x 7 leads = 14 property rows -> 28 rows."""
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
    assert "28 rows would be applied, 4 refused" in markdown(at)


def test_example_with_its_opportunities(db: Path) -> None:
    """Picking the Salesforce leads example brings its opportunities report along, read as
    a deals file: 8 leads + 24 properties + 12 stage entries + 3 opportunities = 47."""
    at = open_page()
    at.selectbox(key="data_example").set_value("salesforce_leads.csv").run()
    text = markdown(at)
    assert r"salesforce\_opportunities\.csv · 3 rows · read as a **deals** file" in text
    at = click(at, "data_check")
    assert "47 rows would be applied, 0 refused" in markdown(at)


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
    at = open_page()
    assert "No database at" in at.info[0].value
    at = upload(at, "hubspot_contacts.csv")
    at = click(at, "data_import")
    assert count(path, "SELECT count(*) FROM leads") == 10
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
    assert "0 refused. Nothing was written." in markdown(at)
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
    assert "133 rows would be applied, 0 refused" in markdown(at)


def test_duplicate_groups_mask_personal_data(db: Path) -> None:
    """With the default settings the duplicate groups show no full name or e-mail."""
    at = open_page()
    groups = next(d.value for d in at.dataframe if "email" in d.value.columns)
    shown = groups["email"].dropna()
    assert len(shown) and shown.str.contains("•••@").all()
    assert groups["name"].dropna().str.fullmatch(r".•••").all()


def test_real_example_with_its_mapping(db: Path, writable: None) -> None:
    """Picking the marketplace example reads both files with the mapping beside them: the
    check predicts 20 leads + 62 properties + 32 stage entries + 6 opportunities = 120
    rows, and after the import the won deal dated before its MQL is listed."""
    at = open_page()
    at.selectbox(key="data_example").set_value("real/marketplace").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value == r"Mapping in use: **marketplace MQLs \+ won deals**." for c in at.caption)
    assert "every row of the deals file is a won deal" in markdown(at)
    at = click(at, "data_check")
    assert "120 rows would be applied, 0 refused" in markdown(at)
    at = click(at, "data_import")
    assert count(db, "SELECT count(*) FROM leads") == 4_020
    found = next(d.value for d in at.dataframe if "given_at" in d.value.columns)
    assert set(found["lead_id"]) == {"f4d3c2b1"}
