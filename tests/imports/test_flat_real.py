"""Real-export shapes imported through `handoff import` with their mappings (issue 9).

The fixtures in data/examples/real/ are written by the project in the shapes of three real
exports: a marketplace's MQL list + won-deals list, an education company's undated lead
export with a 0/1 converted column, and an opportunity pipeline with a teams file. Each
expected number below is counted by hand from those files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import store
from analysis.imports import flat, quality
from tests.paths import EXAMPLES, ROOT

REAL = EXAMPLES / "real"


def handoff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "handoff", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


def said(run: subprocess.CompletedProcess) -> str:
    """Everything the command printed, with line wrapping undone."""
    return " ".join((run.stdout + run.stderr).split())


def frame(db: Path, sql: str) -> pd.DataFrame:
    con = store.connect_read_only(db)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def one(db: Path, sql: str):
    return frame(db, sql).iloc[0, 0]


def rows_per_table(db: Path) -> dict[str, int]:
    tables = ["leads", "lead_properties", "stage_changes", "opportunities", "reps"]
    return {t: int(one(db, f"SELECT count(*) FROM {t}")) for t in tables}


def customers(db: Path) -> int:
    """Leads that reached the customer stage."""
    return int(
        one(db, "SELECT count(DISTINCT lead_id) FROM stage_changes WHERE stage = 'customer'")
    )


@pytest.fixture(scope="module")
def marketplace(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    db = tmp_path_factory.mktemp("real") / "marketplace.duckdb"
    files = [REAL / "marketplace_mqls.csv", REAL / "marketplace_won_deals.csv"]
    run = handoff("import", "--db", str(db), "--mapping", str(REAL / "marketplace.toml"),
                  *map(str, files))  # fmt: skip
    return db, run


def test_marketplace_imports_every_row(marketplace) -> None:
    """The MQL list and the won-deals list import whole, with every deal won.

    By hand: 20 MQL rows -> 20 leads. Properties: landing_page_id (20) + 7 deal columns
    with a value somewhere (seller_id, sdr_id, business_segment, lead_type,
    lead_behaviour_profile, business_type, declared_product_catalog_size; has_company,
    has_gtin and average_stock are empty everywhere) x 6 deals = 42 -> 62. Stage entries:
    20 MQLs (every_lead_reached) + 6 opportunity + 6 customer = 32. Won amount:
    50000 + 0 + 120000 + 30000 + 15000 + 80000 = 295000; no open deal.
    """
    db, run = marketplace
    assert run.returncode == 0, run.stderr + run.stdout
    assert rows_per_table(db) == {
        "leads": 20,
        "lead_properties": 62,
        "stage_changes": 32,
        "opportunities": 6,
        "reps": 0,
    }
    assert customers(db) == 6
    assert one(db, "SELECT sum(amount) FROM opportunities WHERE outcome = 'won'") == 295000
    assert one(db, "SELECT count(*) FROM opportunities WHERE outcome = 'open'") == 0
    assert "every row of the deals file is a won deal" in said(run)


def test_marketplace_keeps_blank_apart_from_unknown(marketplace) -> None:
    """Blank origins are NULL (shown as (not set)); the literal `unknown` stays a value.

    By hand: origin `unknown` on rows of 9a41d2e5, 77c4e9a2, a8f7e6d5, 5a6b7c8d = 4;
    blank on e7b0c3f1, c0e5f7d3, 2b3c4d5e = 3.
    """
    db, _ = marketplace
    counts = frame(db, "SELECT source, count(*) AS n FROM leads GROUP BY 1")
    by = dict(zip(counts["source"].fillna(flat.NOT_SET), counts["n"], strict=True))
    assert by["unknown"] == 4 and by[flat.NOT_SET] == 3
    blank = frame(db, "SELECT lead_id FROM leads WHERE source IS NULL ORDER BY 1")
    assert blank["lead_id"].tolist() == ["2b3c4d5e", "c0e5f7d3", "e7b0c3f1"]


def test_marketplace_deal_columns_are_kept(marketplace) -> None:
    """The closer becomes the lead's owner; segment and revenue are kept.

    By hand: sr_a1 closed 5f2a81c0, 77c4e9a2, 8f9a0b1c (3); sr_b2 2; sr_c3 1; 14 MQLs
    without a deal have no owner. 2b3c4d5e's lead_behaviour_profile is blank -> NULL.
    """
    db, _ = marketplace
    owners = frame(db, "SELECT owner_rep_id, count(*) AS n FROM leads GROUP BY 1")
    got = dict(zip(owners["owner_rep_id"].fillna("-"), owners["n"], strict=True))
    assert got == {"sr_a1": 3, "sr_b2": 2, "sr_c3": 1, "-": 14}
    props = frame(db, "SELECT * FROM lead_properties WHERE lead_id = '2b3c4d5e'")
    values = dict(zip(props["name"], props["value"], strict=True))
    assert values["business_segment"] == "pet" and values["sdr_id"] == "sdr_11"
    assert pd.isna(values["lead_behaviour_profile"])
    assert props.set_index("name").loc["declared_product_catalog_size", "value_number"] == 45


def test_marketplace_out_of_order_deal_is_kept_and_listed(marketplace) -> None:
    """A won date 1.42 days before the date-only first contact is kept, counted and listed.

    By hand: f4d3c2b1 first contact 2018-02-10 (00:00), won 2018-02-08 14:00: 34 hours
    early = 1.42 days. Its opportunity and customer entries sit at 2018-02-10.
    """
    db, _ = marketplace
    con = store.connect_read_only(db)
    try:
        found = quality.out_of_order_history(con)
    finally:
        con.close()
    assert found["lead_id"].tolist() == ["f4d3c2b1", "f4d3c2b1"]
    assert sorted(found["stage"]) == ["customer", "opportunity"]
    assert set(found["given_at"]) == {pd.Timestamp("2018-02-08 14:00")}
    assert set(found["stored_at"]) == {pd.Timestamp("2018-02-10")}
    assert found["days_early"].tolist() == [pytest.approx(34 / 24, abs=0.01)] * 2
    deal = frame(db, "SELECT * FROM opportunities WHERE lead_id = 'f4d3c2b1'").iloc[0]
    assert deal["outcome"] == "won" and deal["amount"] == 30000


def test_education_undated_converted_export(tmp_path: Path) -> None:
    """An undated export of handed-off leads with a 0/1 Converted column imports as MQLs
    whose outcome is the flag; `Select` is missing.

    By hand: 20 rows, Converted = 1 on 7 -> 20 undated MQL entries + 7 undated customer
    entries = 27; 14 unmapped columns each with a value somewhere -> 14 x 20 = 280
    properties; Specialization reads `Select` on 9 rows -> 9 NULL values.
    """
    db = tmp_path / "edu.duckdb"
    run = handoff("import", "--db", str(db), "--mapping", str(REAL / "education.toml"),
                  str(REAL / "education_leads.csv"))  # fmt: skip
    assert run.returncode == 0, run.stderr + run.stdout
    assert rows_per_table(db) == {
        "leads": 20,
        "lead_properties": 280,
        "stage_changes": 27,
        "opportunities": 0,
        "reps": 0,
    }
    assert customers(db) == 7
    handed = one(db, "SELECT count(DISTINCT lead_id) FROM stage_changes WHERE stage = 'mql'")
    assert handed == 20
    nulls = one(
        db,
        "SELECT count(*) FROM lead_properties WHERE name = 'Specialization' AND value IS NULL",
    )
    assert nulls == 9
    assert "'Converted' yes/1 means the lead reached customer" in said(run)
    assert "warning:" not in said(run)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_dry_run_warns_when_only_converted_leads_are_handed_off(tmp_path: Path) -> None:
    """`handoff import --dry-run` warns when the flag alone makes leads handed off, and
    when nothing is handed off at all; nothing is written.

    By hand: without every_lead_reached only the 7 converted leads reach a stage after
    lead (customer), so every handed-off lead has the outcome; without the flag no lead
    reaches MQL.
    """
    base = (REAL / "education.toml").read_text()
    only_flag = write(tmp_path / "flag.toml", base.replace('every_lead_reached = "mql"', ""))
    db = tmp_path / "edu.duckdb"
    run = handoff("import", "--db", str(db), "--mapping", str(only_flag), "--dry-run",
                  str(REAL / "education_leads.csv"))  # fmt: skip
    assert run.returncode == 0 and not db.exists()
    assert "warning: every handed-off lead (7) also reached an outcome" in said(run)
    no_flag = base.replace('every_lead_reached = "mql"', "").replace('Converted = "customer"', "")
    nothing = write(tmp_path / "none.toml", no_flag)
    result = flat.import_flat(db, [REAL / "education_leads.csv"], mapping=nothing, dry_run=True)
    warnings = flat.warnings_of(result.notes)
    assert len(warnings) == 1 and warnings[0].startswith("no lead is handed off")


def test_pipeline_opportunity_only_with_teams(tmp_path: Path) -> None:
    """An opportunity pipeline with a teams file imports as a history starting at the
    opportunity stage, undated rows kept as open pipeline, reps with team and region.

    By hand: 24 opportunities -> 24 leads (one per opportunity), no lead/MQL/SQL entries;
    24 opportunity entries (20 at their engage date, 4 Prospecting rows undated on
    2017-12-31) + 8 customer entries = 32. Won 8: 1054 + 4514 + 50 + 588 + 517 + 461 +
    5169 + 3180 = 15533; lost 6; open 6 Engaging + 4 Prospecting = 10. Properties:
    product and account x 24 = 48. Teams: 5 reps.
    """
    db = tmp_path / "pipe.duckdb"
    files = [REAL / "pipeline_opportunities.csv", REAL / "pipeline_teams.csv"]
    run = handoff("import", "--db", str(db), "--mapping", str(REAL / "pipeline.toml"),
                  *map(str, files))  # fmt: skip
    assert run.returncode == 0, run.stderr + run.stdout
    assert rows_per_table(db) == {
        "leads": 24,
        "lead_properties": 48,
        "stage_changes": 32,
        "opportunities": 24,
        "reps": 5,
    }
    stages = frame(db, "SELECT stage, count(*) AS n FROM stage_changes GROUP BY 1")
    assert dict(zip(stages["stage"], stages["n"], strict=True)) == {
        "opportunity": 24,
        "customer": 8,
    }
    assert customers(db) == 8
    outcomes = frame(db, "SELECT outcome, count(*) AS n, sum(amount) AS v FROM opportunities "
                         "GROUP BY 1 ORDER BY 1")  # fmt: skip
    assert outcomes["n"].tolist() == [6, 10, 8]  # lost, open, won
    assert outcomes["v"].tolist()[2] == 15533
    undated = frame(db, "SELECT * FROM stage_changes WHERE source_system = 'pipeline (undated)'")
    assert len(undated) == 4 and set(undated["changed_at"]) == {pd.Timestamp("2017-12-31")}
    lead = frame(db, "SELECT * FROM leads WHERE lead_id = '5CSCYSDB'").iloc[0]
    assert (
        lead["created_at"] == pd.Timestamp("2017-06-12") and lead["owner_rep_id"] == "Anna Snelling"
    )
    # Win rate by team through the reps table: Dustin Brinkmann's team (Anna, Cecily) won
    # 1C1I7A6R, Z063OYW0, FO6ENGOP and lost ZZY4516W, 7ZPBJKMV, DB7GSBY3 -> 3 of 6.
    by_team = frame(
        db,
        "SELECT r.team, count(*) FILTER (WHERE o.outcome = 'won') AS won, "
        "count(*) FILTER (WHERE o.outcome IN ('won', 'lost')) AS closed "
        "FROM opportunities o JOIN leads l USING (lead_id) "
        "JOIN reps r ON r.rep_id = l.owner_rep_id GROUP BY 1 ORDER BY 1",
    ).set_index("team")
    assert by_team.loc["Dustin Brinkmann"].tolist() == [3, 6]
    assert frame(db, "SELECT territory FROM reps WHERE rep_id = 'Zane Levy'").iloc[0, 0] == "West"


def test_values_can_relabel_blanks_and_literal_not_set_is_blank(tmp_path: Path) -> None:
    """A `[values.source]` key "" relabels blank origins; a cell reading `(not set)` is
    blank; a spelling relabelled `(not set)` is stored missing.

    By hand: 3 blank origins -> "direct"; `unknown` (4) untouched; 1 referral -> NULL.
    """
    text = (REAL / "marketplace.toml").read_text()
    text += '\n[values.source]\n"" = "direct"\nreferral = "(not set)"\n'
    mapping = write(tmp_path / "m.toml", text)
    mqls = tmp_path / "mqls.csv"
    mqls.write_text((REAL / "marketplace_mqls.csv").read_text().replace(",email\n", ",(not set)\n"))
    db = tmp_path / "m.duckdb"
    flat.import_flat(db, [mqls], mapping=mapping)
    counts = frame(db, "SELECT source, count(*) AS n FROM leads GROUP BY 1")
    by = dict(zip(counts["source"].fillna("NULL"), counts["n"], strict=True))
    # e1f2a3b4's "(not set)" is blank too -> relabelled: 3 + 1 = 4 direct; "referral"
    # relabelled "(not set)" becomes missing (NULL), never the text "(not set)".
    assert by["direct"] == 4 and by["unknown"] == 4 and by["NULL"] == 1
    assert flat.NOT_SET not in by


def test_every_row_outcome_refuses_a_second_outcome_source() -> None:
    """A mapping naming both every_row_outcome and an outcome column is refused."""
    data = {"deals": {"lead_id": "id", "outcome": "Stage", "every_row_outcome": "won"}}
    with pytest.raises(flat.MappingError, match="keep one"):
        flat.Mapping.from_dict(data)
    with pytest.raises(flat.MappingError, match="every_row_outcome"):
        flat.Mapping.from_dict({"deals": {"lead_id": "id", "every_row_outcome": "maybe"}})
    with pytest.raises(flat.MappingError, match="every_lead_reached"):
        flat.Mapping.from_dict({"every_lead_reached": "lead"})


def test_describe_puts_the_mapping_into_words() -> None:
    """The mapping preview says what the outcome columns mean."""
    lines = flat.describe(flat.load_mapping(REAL / "education.toml"))
    assert lines == [
        "every row of the leads file is a lead that reached mql (handed to sales)",
        "'Converted' yes/1 means the lead reached customer; no/0 or empty says nothing",
    ]
    pipeline = flat.describe(flat.load_mapping(REAL / "pipeline.toml"))
    assert any("funnel starts at the opportunity stage" in line for line in pipeline)


@pytest.mark.parametrize("name", ["marketplace", "education", "pipeline"])
def test_real_mappings_round_trip_through_toml(tmp_path: Path, name: str) -> None:
    """The Data page's mapping download reads back as the same mapping, new keys included."""
    mapping = flat.load_mapping(REAL / f"{name}.toml")
    again = flat.load_mapping(write(tmp_path / "again.toml", mapping.to_toml()))
    assert again == mapping


def test_reps_roles_rebuild_the_reps_part() -> None:
    """The roles editor reads a teams file as reps and rebuilds [reps] from its roles."""
    mapping = flat.load_mapping(REAL / "pipeline.toml")
    columns = ["sales_agent", "manager", "regional_office"]
    assert flat.classify(columns, mapping, "pipeline_teams.csv") == "reps"
    roles = mapping.roles(columns, "reps")
    assert roles["role"].tolist() == ["rep: rep_id", "rep: team", "rep: territory"]
    roles.loc[2, "role"] = "ignore"
    # sales_agent is both rep_id and name: its one role keeps both.
    assert mapping.with_roles(roles, "reps").reps == {
        "rep_id": "sales_agent",
        "team": "manager",
        "name": "sales_agent",
    }
    deal_cols = ["opportunity_id", "sales_agent", "deal_stage", "engage_date", "close_date"]
    rebuilt = mapping.with_roles(mapping.roles(deal_cols, "deals"), "deals").deals
    assert rebuilt.columns["lead_id"] == rebuilt.columns["opportunity_id"] == "opportunity_id"
    assert rebuilt.creates_leads


def test_deals_in_a_later_batch_are_ordered_against_stored_leads(tmp_path: Path) -> None:
    """Importing the won deals after the MQL list (two batches) keeps the early won deal
    the same way: its lead's stored creation time is the floor.

    By hand: batch 1 = 20 leads; batch 2 = 6 deals, 12 stage entries, 42 properties, none
    refused; f4d3c2b1's entries sit at 2018-02-10 and are listed as out of order.
    """
    db = tmp_path / "two.duckdb"
    mapping = REAL / "marketplace.toml"
    flat.import_flat(db, [REAL / "marketplace_mqls.csv"], mapping=mapping)
    second = flat.import_flat(db, [REAL / "marketplace_won_deals.csv"], mapping=mapping)
    assert second.refused.empty
    assert second.accepted == {"lead_properties": 42, "stage_changes": 12, "opportunities": 6}
    con = store.connect_read_only(db)
    try:
        found = quality.out_of_order_history(con)
    finally:
        con.close()
    assert set(found["lead_id"]) == {"f4d3c2b1"}
    assert set(found["stored_at"]) == {pd.Timestamp("2018-02-10")}
