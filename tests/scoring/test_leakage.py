"""Leakage evidence for lead properties: single-feature AUC, missingness by handoff, names."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from analysis import store
from analysis.imports import flat
from analysis.scoring import leakage

# Twelve leads: 1-4 reached SQL, 5-8 were MQLs only, 9-12 were never handed off.
HEADER = "Record ID,Create Date,Lifecycle Stage,Lead Status,Rating,Partner Tier,Colour,Visits"
ROWS = [
    "1,2024-01-01,Sales Qualified Lead,Qualified,Hot,Gold,red,10",
    "2,2024-01-01,Sales Qualified Lead,Qualified,Hot,Gold,blue,20",
    "3,2024-01-01,Sales Qualified Lead,Qualified,Hot,Gold,red,30",
    "4,2024-01-01,Sales Qualified Lead,Qualified,Cold,Silver,blue,40",
    "5,2024-01-01,Marketing Qualified Lead,Unqualified,Hot,Gold,red,5",
    "6,2024-01-01,Marketing Qualified Lead,Unqualified,Cold,Silver,blue,15",
    "7,2024-01-01,Marketing Qualified Lead,Unqualified,Cold,Silver,red,25",
    "8,2024-01-01,Marketing Qualified Lead,Unqualified,Cold,Silver,blue,35",
    "9,2024-01-01,Lead,,Cold,Silver,green,1",
    "10,2024-01-01,Lead,,Cold,Silver,green,2",
    "11,2024-01-01,Lead,,Cold,Silver,red,3",
    "12,2024-01-01,Lead,,Cold,Silver,blue,4",
]


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n")
    db = tmp_path / "h.duckdb"
    result = flat.import_flat(db, [path], preset="hubspot")
    assert result.accepted["leads"] == 12 and result.refused.empty
    return db


def evidence(db: Path, **kwargs) -> dict:
    con = store.connect_read_only(db)
    try:
        out = leakage.property_leakage(con, min_leads=8, **kwargs)
    finally:
        con.close()
    return out.set_index("name").to_dict("index")


def test_auc_by_hand() -> None:
    """AUC counts the (positive, negative) pairs ranked right, ties as half."""
    # Positives 10, 20, 30, 40 vs negatives 5, 15, 25, 35: 1 + 2 + 3 + 4 = 10 of 16.
    assert leakage.auc(np.array([10, 20, 30, 40, 5, 15, 25, 35]), [1] * 4 + [0] * 4) == 0.625
    # One tie (0.75 vs 0.75) counts half: (3 x 3.5 + 1.5) / 16 = 0.75.
    scores = [0.75, 0.75, 0.75, 0.25, 0.75, 0.25, 0.25, 0.25]
    assert leakage.auc(np.array(scores), [1] * 4 + [0] * 4) == 0.75
    assert np.isnan(leakage.auc(np.array([1.0, 2.0]), [1, 1]))


def test_property_leakage_by_hand(db: Path) -> None:
    """A status sales set after the handoff is flagged; noise is not.

    By hand, among the 8 handed-off leads (1-4 reached SQL):
    - Lead Status: Qualified exactly for 1-4 -> AUC 1.0; missing for all 4 leads never
      handed off and none handed off -> gap 1.0; name says "status" -> likely leakage.
    - Rating: Hot for 1, 2, 3, 5 (rate 3/4), Cold for 4, 6, 7, 8 (rate 1/4) -> AUC 0.75
      (see test_auc_by_hand); filled for everyone -> gap 0; name says "rating" -> the
      hint plus a moderate AUC -> likely leakage.
    - Partner Tier: the same split as Rating, no hint -> check.
    - Colour: red for 1, 3 and 5, 7; blue for 2, 4 and 6, 8 -> rates 1/2 and 1/2 -> AUC 0.5.
      With 4 + 4 leads its 95% interval is wide: Hanley-McNeil Q1 = Q2 = 1/3,
      se^2 = (0.25 + 3(1/3 - 1/4) + 3(1/3 - 1/4)) / 16 = 0.75 / 16, se = 0.2165, so
      0.5 +- 1.96 se = 0.08-0.92: the cut 0.80 cannot be ruled out -> check, not ok.
    - Visits: numeric; 10, 20, 30, 40 vs 5, 15, 25, 35 -> AUC 0.625, interval reaching
      0.80 as well -> check.
    """
    got = evidence(db, min_count=1)
    status = got["Lead Status"]
    assert status["verdict"] == "likely leakage" and status["auc"] == 1.0
    assert status["missing_not_handed_off"] == 1.0 and status["missing_handed_off"] == 0.0
    assert status["missing_gap"] == 1.0 and status["name_hints"] == "status"
    assert status["auc_leads"] == 8 and status["kind"] == "categorical"
    assert "missing for 100% of leads never handed off vs 0%" in status["evidence"]
    assert got["Rating"]["auc"] == 0.75 and got["Rating"]["verdict"] == "likely leakage"
    assert got["Rating"]["missing_gap"] == 0.0
    assert got["Partner Tier"]["auc"] == 0.75 and got["Partner Tier"]["verdict"] == "check"
    assert got["Colour"]["auc"] == 0.5 and got["Colour"]["verdict"] == "check"
    assert got["Colour"]["auc_low"] == pytest.approx(0.5 - 1.959964 * (0.75 / 16) ** 0.5)
    assert got["Colour"]["auc_high"] == pytest.approx(0.5 + 1.959964 * (0.75 / 16) ** 0.5)
    assert "AUC 0.50 on its own (95% 0.07-0.92, 8 handed-off leads)" in got["Colour"]["evidence"]
    assert got["Visits"]["kind"] == "numeric" and got["Visits"]["auc"] == 0.625
    assert got["Visits"]["verdict"] == "check"


def test_auc_is_shown_floored_never_rounded_up_to_the_cut() -> None:
    """0.7997 shows as 0.79 (the cut is 0.80); exact values keep their two decimals."""
    assert leakage.floor2(0.7997) == 0.79
    assert leakage.floor2(0.8) == 0.8 and leakage.floor2(0.625) == 0.62
    assert np.isnan(leakage.floor2(float("nan")))


def test_rare_values_are_pooled(db: Path) -> None:
    """Values held by fewer than min_count handed-off leads are pooled, so a property with
    only rare values shows no signal (its in-sample rates would flatter it)."""
    got = evidence(db, min_count=5)
    # Qualified and Unqualified are held by 4 handed-off leads each: both pooled -> 0.5.
    assert got["Lead Status"]["auc"] == 0.5
    # The missingness and the name still give it away.
    assert got["Lead Status"]["verdict"] == "likely leakage"


def test_order_and_outcomes(db: Path) -> None:
    """Rows come most suspicious first; another outcome changes the AUC population's labels."""
    con = store.connect_read_only(db)
    try:
        out = leakage.property_leakage(con, min_leads=8, min_count=1)
        # Nobody reached an opportunity: one class only -> no AUC.
        opp = leakage.property_leakage(con, "opportunity", min_leads=8, min_count=1)
        with pytest.raises(ValueError, match="outcome must be one of"):
            leakage.property_leakage(con, "won")
    finally:
        con.close()
    # With 8 handed-off leads every AUC interval reaches 0.80: the rest are "check".
    assert out["verdict"].tolist() == [
        "likely leakage",
        "likely leakage",
        "check",
        "check",
        "check",
    ]
    assert out["name"].tolist()[:2] == ["Lead Status", "Rating"]
    assert opp["auc"].isna().all() and (opp["auc_leads"] == 0).all()
    assert "no handed-off lead reached the opportunity stage" in opp["evidence"].iloc[0]
    assert opp.set_index("name").loc["Lead Status", "verdict"] == "likely leakage"  # gap


def test_too_few_handed_off_leads(db: Path) -> None:
    """With fewer handed-off leads than min_leads the AUC is not computed."""
    con = store.connect_read_only(db)
    try:
        out = leakage.property_leakage(con, min_leads=9)
    finally:
        con.close()
    assert out["auc"].isna().all()
    evidence = out.set_index("name").loc["Colour", "evidence"]
    assert "AUC not computed (only 8 handed-off leads; at least 9 are needed)" in evidence


def test_no_properties() -> None:
    """A database without lead properties (or written before the table existed) gives an
    empty frame."""
    con = duckdb.connect(":memory:")
    store.create_schema(con)
    assert leakage.property_leakage(con).empty
    con.execute("DROP TABLE lead_properties")
    assert leakage.property_leakage(con).empty
    assert list(leakage.property_leakage(con).columns) == leakage.LEAKAGE_COLUMNS


def test_name_hints() -> None:
    """Name hints are found in any case, with underscores or dashes."""
    assert leakage.name_hints("Lead_Status") == ["status"]
    assert leakage.name_hints("Disqualification Reason") == ["reason", "disqualif", "qualif"]
    assert leakage.name_hints("Favourite colour") == []
    assert leakage.name_hints("Lead Quality") == ["quality"]
    assert leakage.name_hints("Lead Grade") == ["grade"]
    assert leakage.name_hints("Tags") == ["tag"]


def test_property_overview(db: Path) -> None:
    """The catalogue of properties carries each one's verdict and AUC."""
    con = store.connect_read_only(db)
    try:
        out = leakage.property_overview(con, min_leads=8, min_count=1).set_index("name")
    finally:
        con.close()
    assert list(out.index) == ["Colour", "Lead Status", "Partner Tier", "Rating", "Visits"]
    assert out.loc["Lead Status", "leads"] == 8 and out.loc["Lead Status", "verdict"] == (
        "likely leakage"
    )
    assert out.loc["Visits", "kind"] == "numeric" and out.loc["Visits", "auc"] == 0.625
