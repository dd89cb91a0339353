"""The scoring lab on an undated lead export with a planted signal (tests/scoring/undated.py).

Every lead sits on one import day, so no time split is possible: the lab must evaluate by
stratified k-fold cross-validation, agree with a plain scikit-learn pipeline, recover the
planted effects, flag the sales-entered grade, and say all of it through the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from analysis import store
from analysis.scoring import features, leakage
from analysis.scoring import model as scoring
from analysis.scoring.evaluate import CROSS_VALIDATION
from tests.scoring.undated import (
    DAY,
    GRADE,
    NOISE,
    ORIGIN,
    VISITS,
    undated_leads,
    write_undated_db,
)


@pytest.fixture(scope="module")
def export() -> pd.DataFrame:
    return undated_leads(n=2000, seed=7)


@pytest.fixture(scope="module")
def undated_db(tmp_path_factory: pytest.TempPathFactory, export: pd.DataFrame) -> Path:
    return write_undated_db(tmp_path_factory.mktemp("undated") / "undated.duckdb", export)


def lab_report(db: Path, props: list[str], outcome: str = "customer") -> scoring.ModelReport:
    con = store.connect_read_only(db)
    try:
        fm = features.build_features(con, properties=props)
    finally:
        con.close()
    return scoring.fit_model(fm, outcome)


def plain_sklearn_cv_auc(export: pd.DataFrame, seed: int = 0) -> list[float]:
    """Fold AUCs of a plain pipeline: impute + scale visits, one-hot the origin.

    Rows in lead_id order (the lab's row order), the same StratifiedKFold(5, shuffle=True,
    random_state=seed), so both see the same folds.
    """
    data = export.sort_values("lead_id").reset_index(drop=True)
    X, y = data[["visits", "origin"]], data["converted"].astype(int).to_numpy()
    pipe = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        (
                            "number",
                            make_pipeline(
                                SimpleImputer(strategy="median", add_indicator=True),
                                StandardScaler(),
                            ),
                            ["visits"],
                        ),
                        ("category", OneHotEncoder(handle_unknown="ignore"), ["origin"]),
                    ]
                ),
            ),
            ("model", LogisticRegression(max_iter=1000)),
        ]
    )
    aucs = []
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    for train, test in folds.split(X, y):
        pipe.fit(X.iloc[train], y[train])
        aucs.append(roc_auc_score(y[test], pipe.predict_proba(X.iloc[test])[:, 1]))
    return aucs


def test_undated_history_is_evaluated_by_cross_validation_like_plain_sklearn(
    undated_db: Path, export: pd.DataFrame
) -> None:
    """CV (said so), 2,000 leads and their outcomes, AUC within 0.02 of plain scikit-learn."""
    report = lab_report(undated_db, [VISITS, ORIGIN])
    ev = report.evaluation
    assert ev.method == CROSS_VALIDATION == "stratified k-fold cross-validation"
    assert "share one decision time" in ev.reason
    assert ev.n_leads == 2000 and ev.n_outcomes == int(export["converted"].sum())
    assert len(ev.fold_aucs) == 5 and np.isnat(ev.split_at)
    assert ev.auc == pytest.approx(np.mean(ev.fold_aucs))
    assert ev.auc_std == pytest.approx(np.std(ev.fold_aucs, ddof=1))
    assert ev.auc_low < ev.auc < ev.auc_high
    expected = float(np.mean(plain_sklearn_cv_auc(export)))
    assert abs(ev.auc - expected) < 0.02
    assert any("cross-validation" in note for note in report.notes)


def test_planted_effects_come_back_with_missing_visits_shown(undated_db: Path) -> None:
    """Visits per unit ~ +0.35 log-odds; Lead Add Form above and Import below the reference.

    The reference (most frequent origin, Landing Page, planted +0.8) gets no coefficient:
    planted relative effects are Lead Add Form +0.7, API -0.8, Import -1.8.
    """
    report = lab_report(undated_db, [VISITS, ORIGIN])
    coef = report.coefficients.set_index("feature")["coef"]
    assert f"{ORIGIN}=Landing Page" not in coef.index
    assert coef[VISITS] == pytest.approx(0.35, abs=0.1)
    assert coef[f"{ORIGIN}=Lead Add Form"] == pytest.approx(0.7, abs=0.35)
    assert coef[f"{ORIGIN}=Import"] == pytest.approx(-1.8, abs=0.45)
    assert f"{VISITS} (missing)" in coef.index  # blanks imputed and shown as their own column
    # built-ins without source data are not offered (no touchpoints, no titles, ...)
    assert not any(f.name in coef.index for f in features.FEATURES)


def test_sales_entered_grade_is_flagged_and_noise_is_not(undated_db: Path) -> None:
    """The grade, set from the outcome, is likely leakage; the colour carries nothing."""
    con = store.connect_read_only(undated_db)
    try:
        got = leakage.property_leakage(con, "customer").set_index("name")
    finally:
        con.close()
    assert got.loc[GRADE, "verdict"] == "likely leakage"
    assert got.loc[GRADE, "auc"] > 0.75 and "grade" in got.loc[GRADE, "name_hints"]
    assert got.loc[NOISE, "verdict"] == "ok" and got.loc[NOISE, "auc_high"] < 0.7


def handoff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "handoff", *args], capture_output=True, text=True, timeout=300
    )


def test_cli_model_fit_json_has_the_documented_fields(undated_db: Path) -> None:
    """`handoff model fit --json`: method, AUC and spread, n, coefficients, points, verdicts."""
    done = handoff("model", "fit", "--db", str(undated_db), "--outcome", "won", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    ev = out["evaluation"]
    assert out["outcome"] == "customer"
    assert ev["method"] == CROSS_VALIDATION and ev["n_leads"] == 2000
    assert 0.6 < ev["auc"] < 0.85 and ev["auc_std"] > 0 and ev["auc_low"] < ev["auc_high"]
    assert len(ev["fold_aucs"]) == 5
    features_used = {row["feature"] for row in out["coefficients"]}
    assert VISITS in features_used and not any(f.startswith(GRADE) for f in features_used)
    assert set(out["suggested"]) >= {"threshold", "points", "mqls"}
    used = {p["name"]: p["verdict"] for p in out["properties"]}
    assert used == {NOISE: "ok", ORIGIN: "ok", VISITS: "ok"}  # the grade is left out
    named = handoff("model", "fit", "--db", str(undated_db), "--property", GRADE, "--json")
    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout)["properties"][0]["verdict"] == "likely leakage"


def test_cli_model_fit_exits_2_with_the_real_cause(tmp_path: Path) -> None:
    """A history where nobody was handed off cannot carry a model: exit 2, one line, why."""
    frame = undated_leads(n=50, seed=1)
    db = write_undated_db(tmp_path / "none.duckdb", frame)
    with store.write_session(db) as con:
        con.execute("DELETE FROM stage_changes")
    done = handoff("model", "fit", "--db", str(db), "--outcome", "sql")
    assert done.returncode == 2
    assert "no lead was handed off: map a handoff/MQL date" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert str(DAY.year) not in done.stdout


def test_only_converted_leads_handed_off_is_explained(tmp_path: Path) -> None:
    """Mapping the converted flag so that only converted leads count as handed off leaves
    nothing to tell apart: the fit and the leakage evidence both say so and what to do."""
    frame = undated_leads(n=300, seed=2)
    db = write_undated_db(tmp_path / "converted-only.duckdb", frame)
    with store.write_session(db) as con:
        con.execute(
            "DELETE FROM stage_changes WHERE stage = 'mql' AND lead_id NOT IN "
            "(SELECT lead_id FROM stage_changes WHERE stage = 'customer')"
        )
    converted = int(frame["converted"].sum())
    with pytest.raises(scoring.FitImpossible) as caught:
        lab_report(db, [VISITS])
    assert str(caught.value).startswith(
        f"only 0 of the {converted:,} handed-off leads did not reach the customer stage"
    )
    assert "mark every row of the export as handed off" in str(caught.value)
    con = store.connect_read_only(db)
    try:
        evidence = leakage.property_leakage(con, "customer").set_index("name")["evidence"]
    finally:
        con.close()
    assert "every handed-off lead reached customer" in evidence[VISITS]
