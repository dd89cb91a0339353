"""The Scoring lab page through Streamlit's AppTest, against the small demo database.

Every expected number is computed straight from the engine (``analysis.whatif.what_if``
on the same feature matrix) and compared with what the page shows. The imported lead
properties section runs against a copy of the demo database with three planted
properties: one that leaks the outcome and two that carry no signal.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis import store
from analysis.scoring import features, leakage, properties, whatif
from analysis.scoring import model as scoring
from dashboard import scoring_ui
from tests.paths import APP

PAGE = "app_pages/scoring.py"


@pytest.fixture(scope="module")
def engine(demo_db: Path) -> dict:
    """The demo database's feature matrix, current rule and reps, built once."""
    con = store.connect_read_only(demo_db)
    try:
        fm = features.build_features(con)
        current = scoring.load_config(con)
        reps = whatif.load_reps(con)
    finally:
        con.close()
    return {"fm": fm, "current": current, "reps": reps}


@pytest.fixture()
def db_copy(tmp_path: Path, demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo database (for writes), set as HANDOFF_DB."""
    path = tmp_path / "copy.duckdb"
    shutil.copyfile(demo_db, path)
    monkeypatch.setenv("HANDOFF_DB", str(path))
    return path


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def replay(engine: dict, proposed: scoring.ScoringConfig) -> whatif.WhatIf:
    return whatif.what_if(engine["fm"], engine["current"], proposed, "sql", engine["reps"])


def per_complete_month(counts: np.ndarray, months: np.ndarray, as_of: np.datetime64) -> float:
    """Mean of monthly counts over complete months, by a plain loop: a month is complete
    when the data reaches the first instant of the next month."""
    total, n = 0, 0
    for month, count in zip(months, counts, strict=True):
        y, m = int(str(month)[:4]), int(str(month)[5:7])
        following = np.datetime64(f"{y + m // 12:04d}-{m % 12 + 1:02d}-01T00:00", "us")
        if as_of >= following:
            total, n = total + int(count), n + 1
    return total / n


def shown_like_the_page(w: whatif.WhatIf, as_of: np.datetime64) -> dict[str, str]:
    """The proposed rule's headline numbers formatted as the page formats them."""
    p = w.proposed
    return {
        "MQLs per month": f"{per_complete_month(p.mqls_by_month, w.months, as_of):,.1f}",
        "Precision": f"{p.precision:.1%}",
        "Recall": f"{p.recall:.1%}",
        "Leads that change side": f"{w.changed_in + w.changed_out:,}",
        "MQLs with unknown outcome": f"{p.n_unobserved:,}",
    }


def values(array: list | dict) -> np.ndarray:
    """A trace's data array from a plotly spec (plain list, or typed array: dtype + bdata)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array, dtype=float)


def open_tab(at: AppTest, label: str) -> AppTest:
    at.session_state["sl_tab"] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_starts_from_the_current_rule(app_at, engine) -> None:
    """Unedited, the proposed rule is the current rule: the same numbers, no lead changes
    side, and the first tab draws two charts with titled axes; the Rep load tab draws the
    third and lists as many reps over capacity as the card counts."""
    at = app_at(PAGE)
    shown = metrics(at)
    same = replay(engine, engine["current"])
    for label, value in shown_like_the_page(same, engine["fm"].as_of).items():
        assert shown[label] == value, label
    assert shown["Leads that change side"] == "0"
    assert at.slider(key="sl_threshold").value == engine["current"].threshold
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    # Every would-be MQL of the demo's current rule was handed to sales: no warning that
    # would read "0 of the proposed rule's ... MQLs were never handed to sales".
    assert same.proposed.n_unobserved == same.current.n_unobserved == 0
    assert not [w for w in at.warning if "never handed to sales" in w.value]
    open_tab(at, "Rep load")
    charts += at.get("plotly_chart")
    assert len(charts) == 3
    for chart in charts:
        layout = json.loads(chart.proto.spec)["layout"]
        assert layout["xaxis"]["title"]["text"]
        assert layout["yaxis"]["title"]["text"]
    over = same.proposed.reps_over_capacity
    assert over > 0 and shown["Reps over capacity"] == f"{over:,}"
    assert any(f"**{over} reps would be over capacity**" in m.value for m in at.markdown)
    assert len(at.dataframe[-1].value) == over


def test_a_lower_threshold_warns_of_mqls_nobody_handed_to_sales(app_at, engine) -> None:
    """Twenty points lower, the proposed rule makes MQLs of leads the current rule left
    with marketing (never handed to sales, so their outcome is unknown): the warning counts
    them as the engine does, against the current rule's."""
    at = app_at(PAGE)
    lowered = engine["current"].threshold - 20
    at.slider(key="sl_threshold").set_value(lowered).run()
    assert not at.exception
    w = replay(engine, engine["current"].with_changes(threshold=lowered))
    assert w.proposed.n_unobserved > 0
    (warning,) = [x.value for x in at.warning if "never handed to sales" in x.value]
    assert warning.startswith(
        f"**{w.proposed.n_unobserved:,} of the proposed rule's {w.proposed.mqls:,} MQLs"
    )
    assert f"The current rule: {w.current.n_unobserved:,} of {w.current.mqls:,}." in warning


def test_raising_the_threshold_lowers_the_proposed_mqls_as_the_engine_says(app_at, engine) -> None:
    """Ten more points of threshold: the proposed MQLs per month fall to exactly what
    what_if computes, and every lead that changes side leaves (same points, higher bar)."""
    at = app_at(PAGE)
    before = float(metrics(at)["MQLs per month"].replace(",", ""))
    raised = engine["current"].threshold + 10
    at.slider(key="sl_threshold").set_value(raised).run()
    assert not at.exception

    expected = replay(engine, engine["current"].with_changes(threshold=raised))
    shown = metrics(at)
    for label, value in shown_like_the_page(expected, engine["fm"].as_of).items():
        assert shown[label] == value, label
    assert float(shown["MQLs per month"].replace(",", "")) < before
    assert expected.changed_in == 0 < expected.changed_out
    assert next(m for m in at.metric if m.label == "Leads that change side").delta == (
        f"0 in, {expected.changed_out:,} out"
    )
    # The numbers went out first, then the run was repeated for the rest: the open tab's
    # two charts are drawn and the request is used up.
    assert len(at.get("plotly_chart")) == 2
    assert "sl_numbers_first" not in at.session_state


def test_editing_a_weight_replays_the_new_points(app_at, engine) -> None:
    """Setting the pricing page's proposed points to 0 in the editor gives the numbers of
    the current rule without those points."""
    at = app_at(PAGE)
    fm = engine["fm"]
    row = list(fm.offered).index("pricing_page")
    at.session_state[scoring_ui.editor_key(0)] = {
        "edited_rows": {row: {"proposed": 0}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    expected = replay(engine, engine["current"].with_changes({"pricing_page": 0.0}))
    assert expected.changed_out > 0  # pricing points were worth 25: some leads drop out
    shown = metrics(at)
    for label, value in shown_like_the_page(expected, engine["fm"].as_of).items():
        assert shown[label] == value, label


def test_edits_pile_up_on_a_steady_editor_and_outlive_a_page_switch(app_at, engine) -> None:
    """Two edits in a row replay both; the editor's data stays the points it started
    from meanwhile (the browser keeps its grid and sends no edit again); after another
    page and back, the editor starts from the edited points, which are still replayed."""
    at = app_at(PAGE)
    offered = list(engine["fm"].offered)
    pricing, demo = offered.index("pricing_page"), offered.index("demo_request")
    key = scoring_ui.editor_key(0)
    sent = at.data_editor[0].proto.arrow_data  # the grid's data as shipped to the browser
    edits = {pricing: {"proposed": 0}}
    for step in ({}, {demo: {"proposed": 5}}):
        edits |= step
        at.session_state[key] = {"edited_rows": edits, "added_rows": [], "deleted_rows": []}
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.data_editor[0].proto.arrow_data == sent
    both = engine["current"].with_changes({"pricing_page": 0.0, "demo_request": 5.0})
    assert both.weights != engine["current"].weights
    for label, value in shown_like_the_page(replay(engine, both), engine["fm"].as_of).items():
        assert metrics(at)[label] == value, label

    at.switch_page("app_pages/funnel.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.data_editor[0].proto.arrow_data != sent
    table = editor_rows(at).set_index("feature")
    assert table.loc["pricing_page", "proposed"] == 0
    assert table.loc["demo_request", "proposed"] == 5
    for label, value in shown_like_the_page(replay(engine, both), engine["fm"].as_of).items():
        assert metrics(at)[label] == value, label


def test_use_suggested_points_fills_the_proposed_column(app_at, engine) -> None:
    """The button puts the model's suggested points into the proposed column and its
    threshold on the slider; the headline numbers are those of the suggested rule."""
    at = app_at(PAGE)
    at.button(key="sl_suggest").click().run()
    assert not at.exception, [e.value for e in at.exception]
    report = scoring.fit_model(engine["fm"], "sql", current=engine["current"])
    table = at.data_editor[0].value
    proposed = dict(zip(table["feature"], table["proposed"], strict=True))
    assert proposed == report.suggested.weights
    assert dict(zip(table["feature"], table["suggested"], strict=True)) == report.suggested.weights
    assert at.slider(key="sl_threshold").value == report.suggested.threshold
    shown = metrics(at)
    for label, value in shown_like_the_page(
        replay(engine, report.suggested), engine["fm"].as_of
    ).items():
        assert shown[label] == value, label


def test_threshold_curve_marks_both_thresholds(app_at, engine) -> None:
    """The curve tab draws precision, recall and MQLs per month against the threshold; at
    the proposed threshold its precision and MQLs per month are the what-if's, and both
    thresholds are marked."""
    at = app_at(PAGE)
    current = engine["current"]
    at.slider(key="sl_threshold").set_value(current.threshold + 5).run()
    spec = json.loads(open_tab(at, "Threshold curve").get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["xaxis"]["title"]["text"] == "MQL threshold (points)"
    marks = sorted(shape["x0"] for shape in spec["layout"]["shapes"])
    assert marks == [current.threshold, current.threshold + 5]
    precision = next(t for t in spec["data"] if t["name"].startswith("precision"))
    at_threshold = dict(zip(values(precision["x"]), values(precision["y"]), strict=True))
    expected = replay(engine, current.with_changes(threshold=current.threshold + 5))
    assert at_threshold[current.threshold + 5] == pytest.approx(expected.proposed.precision)
    volume = next(t for t in spec["data"] if t["name"].startswith("MQLs per month"))
    per_month = dict(zip(values(volume["x"]), values(volume["y"]), strict=True))
    fm = engine["fm"]
    assert per_month[current.threshold + 5] == pytest.approx(
        per_complete_month(expected.proposed.mqls_by_month, expected.months, fm.as_of)
    )


def test_model_and_changed_leads_tabs(app_at, engine) -> None:
    """The model tab shows the test AUC and three charts; the changed-leads tab counts the
    leads by direction as the what-if does and offers them as CSV."""
    at = app_at(PAGE)
    at.slider(key="sl_threshold").set_value(engine["current"].threshold + 10).run()
    open_tab(at, "Model quality")
    report = scoring.fit_model(engine["fm"], "sql", current=engine["current"])
    ev = report.evaluation
    assert ev.method == "time split"  # the demo history is dated
    assert metrics(at)["AUC (newer leads)"] == f"{ev.auc:.3f} ± {ev.auc_std:.3f}"
    assert metrics(at)["Leads evaluated"] == f"{ev.n_leads:,}"
    assert any(f"Evaluated by {ev.method}" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 3

    open_tab(at, "Leads that change side")
    expected = replay(engine, engine["current"].with_changes(threshold=at.slider[0].value))
    tables = [d.value for d in at.dataframe if "direction" in d.value.columns]
    counts = tables[0].set_index("direction")["total"]
    assert counts.tolist() == [expected.changed_in, expected.changed_out]
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == [f"Download all {expected.changed_in + expected.changed_out:,} as CSV"]


def test_saving_a_configuration_adds_a_row(db_copy: Path, writable: None) -> None:
    """Saving the proposed rule under a name writes one scoring_models row with that name,
    note and threshold, and the saved list shows it after the file version changes."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(PAGE).run()
    at.slider(key="sl_threshold").set_value(70).run()
    open_tab(at, "Saved rules")
    before = len(at.selectbox(key="sl_load").options)
    at.text_input(key="sl_save_name").input("Stricter trial")
    at.text_area(key="sl_save_note").input("threshold 70")
    at.button(key="sl_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Saved as" in at.success[0].value

    con = duckdb.connect(str(db_copy), read_only=True)
    rows = con.execute(
        "SELECT name, note, threshold, origin FROM scoring_models WHERE name = 'Stricter trial'"
    ).fetchall()
    con.close()
    assert rows == [("Stricter trial", "threshold 70", 70.0, "manual")]
    assert len(at.selectbox(key="sl_load").options) == before + 1
    # Two saved rules now: the comparison (newest first) shows both thresholds.
    compare = at.table[-1].value
    assert list(compare.columns) == ["first: Stricter trial", "second: Current rule"]
    assert compare.loc["Threshold (points)"].tolist() == ["70", "60"]


def test_a_read_only_dashboard_does_not_offer_to_save(db_copy: Path) -> None:
    """Served without --allow-writes, the Save button is disabled and the page says how
    to enable it; nothing is written."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(PAGE).run()
    open_tab(at, "Saved rules")
    assert at.button(key="sl_save").disabled
    assert any("--allow-writes" in i.value for i in at.info)


def test_empty_database_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database without leads shows a message instead of charts or an exception."""
    path = tmp_path / "empty.duckdb"
    with store.write_session(path, create=True):
        pass
    monkeypatch.setenv("HANDOFF_DB", str(path))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "no leads yet" in at.info[0].value
    assert not at.get("plotly_chart")


# --- imported lead properties as features ----------------------------------------------

LEAKY = "Lead Status"
HARMLESS = ("Partner Tier", "Web Visits")


@pytest.fixture(scope="module")
def props_db(tmp_path_factory: pytest.TempPathFactory, demo_db: Path, engine: dict) -> Path:
    """A copy of the demo database with three planted lead properties.

    - "Lead Status": what sales set after the handoff: "Qualified" for handed-off leads that
      reached SQL, "Unqualified" for the other handed-off leads, missing for leads never
      handed off. It splits the outcome perfectly (AUC 1.0) and is missing only before
      the handoff: it must be flagged.
    - "Partner Tier" (Gold/Silver/Bronze) and "Web Visits" (0-49, numeric): drawn at
      random for every lead, so they carry no signal and are not flagged.
    """
    path = tmp_path_factory.mktemp("props") / "props.duckdb"
    shutil.copyfile(demo_db, path)
    fm = engine["fm"]
    rng = np.random.default_rng(5)
    ids = fm.lead_ids.astype(object)
    status = np.where(fm.reached_sql, "Qualified", "Unqualified")[fm.handed_off]
    visits = rng.integers(0, 50, fm.n)
    rows = pd.concat(
        [
            pd.DataFrame(
                {
                    "lead_id": ids[fm.handed_off],
                    "name": LEAKY,
                    "value": status,
                    "value_number": None,
                }
            ),
            pd.DataFrame(
                {
                    "lead_id": ids,
                    "name": HARMLESS[0],
                    "value": rng.choice(["Gold", "Silver", "Bronze"], fm.n),
                    "value_number": None,
                }
            ),
            pd.DataFrame(
                {
                    "lead_id": ids,
                    "name": HARMLESS[1],
                    "value": visits.astype(str),
                    "value_number": visits.astype(float),
                }
            ),
        ],
        ignore_index=True,
    ).astype({"lead_id": object, "name": object, "value": object, "value_number": float})
    with store.write_session(path) as con:
        con.register("planted", rows)
        con.execute(
            "INSERT INTO lead_properties SELECT lead_id, name, value, value_number FROM planted"
        )
    return path


@pytest.fixture()
def props_at(props_db: Path, monkeypatch: pytest.MonkeyPatch):
    """The Scoring lab run against the properties database."""
    monkeypatch.setenv("HANDOFF_DB", str(props_db))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def with_properties(props_db: Path, engine: dict, names: list[str]):
    """The engine's matrix with ``names`` appended and the model fitted on it."""
    con = store.connect_read_only(props_db)
    try:
        fm = properties.add_properties(engine["fm"], con, names)
    finally:
        con.close()
    return fm, scoring.fit_model(fm, "sql", current=engine["current"])


def property_expanders(at: AppTest) -> list:
    return [e for e in at.main.expander if e.label.startswith("Imported lead properties")]


def editor_rows(at: AppTest) -> pd.DataFrame:
    return at.data_editor[0].value


def evidence_shown(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "verdict" in d.value.columns)


def test_default_page_has_no_property_section(app_at, engine) -> None:
    """Without imported properties the page says so in one line and the points editor
    holds exactly the built-in features, under its usual key."""
    at = app_at(PAGE)
    assert any("No lead properties were imported" in c.value for c in at.caption)
    assert not property_expanders(at)
    assert "sl_props" not in [w.key for w in at.get("multiselect")]
    assert at.data_editor[0].key == scoring_ui.editor_key(0) == "sl_points_0"
    assert editor_rows(at)["feature"].tolist() == list(engine["fm"].offered)


def test_leaking_property_is_flagged_with_its_auc(props_at, props_db) -> None:
    """The evidence table lists the planted status first as likely leakage with AUC 1.00
    (it splits reached-SQL from not perfectly) and the random ones as ok; nothing is
    added until chosen."""
    at = props_at
    con = store.connect_read_only(props_db)
    try:
        expected = leakage.property_leakage(con, "sql").set_index("name")
    finally:
        con.close()
    assert expected.loc[LEAKY, "auc"] == 1.0  # planted: Qualified exactly when reached SQL
    shown = evidence_shown(at)
    assert shown["property"].iloc[0] == LEAKY
    row = shown.set_index("property").loc[LEAKY]
    assert row["verdict"] == "likely leakage" and row["auc"] == 1.0
    assert row["missing_never_handed_off"] == 1.0 and row["missing_handed_off"] == 0.0
    assert "AUC 1.00 on its own" in row["evidence"]
    for name in HARMLESS:
        assert shown.set_index("property").loc[name, "verdict"] == "ok"
        # shown floored to two decimals: 0.5092 -> 0.50, never rounded up
        floored = np.floor(expected.loc[name, "auc"] * 100) / 100
        assert shown.set_index("property").loc[name, "auc"] == pytest.approx(floored)
    assert "1 flagged" in property_expanders(at)[0].label
    assert at.multiselect(key="sl_props").value == []


def test_flagged_property_waits_for_confirmation(props_at, props_db, engine) -> None:
    """Selecting the leaking status shows a warning naming it with its evidence and leaves
    the features unchanged; ticking "use it anyway" adds its columns, with 0 current points
    and the points of the model refitted with them."""
    at = props_at
    at.multiselect(key="sl_props").select(LEAKY).run()
    assert not at.exception, [e.value for e in at.exception]
    warning = next(w.value for w in at.warning if LEAKY in w.value)
    assert "AUC 1.00 on its own" in warning
    assert "missing for 100% of leads never handed off vs 0% of handed-off leads" in warning
    assert editor_rows(at)["feature"].tolist() == list(engine["fm"].offered)
    assert any("Not added until confirmed: Lead Status" in c.value for c in at.caption)

    at.checkbox(key=scoring_ui.confirm_key(LEAKY)).check().run()
    assert not at.exception, [e.value for e in at.exception]
    fm, report = with_properties(props_db, engine, [LEAKY])
    table = editor_rows(at)
    assert table["feature"].tolist() == list(fm.offered)
    added = table.set_index("feature").loc[[f"{LEAKY}=Qualified", f"{LEAKY}=Unqualified"]]
    assert (added["current"] == 0).all() and (added["proposed"] == 0).all()
    suggested = report.suggested.weights
    # Leads never handed off have no status: "(not set)" is the most frequent value, so it
    # is the reference level (no points) and both real values are scored against it.
    assert fm.reference_levels() == (f"{LEAKY}=(not set)",)
    assert added["suggested"].tolist() == [suggested[n] for n in added.index]
    # A perfect leak: the model leans on it far more than on any built-in feature.
    gap = abs(suggested[f"{LEAKY}=Qualified"] - suggested[f"{LEAKY}=Unqualified"])
    assert gap > max(abs(suggested[n]) for n in engine["fm"].offered)


def test_harmless_properties_are_added_and_replayed(props_at, props_db, engine) -> None:
    """Selecting the two unflagged properties adds their columns straight away (no warning
    about them); with 0 points the replay is the current rule's, and the model tab reports
    the model refitted with them."""
    at = props_at
    at.multiselect(key="sl_props").set_value(list(HARMLESS)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any(name in w.value for w in at.warning for name in HARMLESS)
    fm, report = with_properties(props_db, engine, sorted(HARMLESS))
    table = editor_rows(at)
    assert table["feature"].tolist() == list(fm.offered)
    new = table.iloc[len(engine["fm"].offered) :].set_index("feature")
    # Tiers: one column per value; visits 0-49, every lead has one: the number itself.
    tiers = sorted(n for n in new.index if n.startswith("Partner Tier="))
    assert tiers == ["Partner Tier=Bronze", "Partner Tier=Gold", "Partner Tier=Silver"]
    assert "Web Visits" in new.index and "Web Visits (missing)" not in new.index
    assert (new["current"] == 0).all() and (new["proposed"] == 0).all()
    scored = [n for n in new.index if n not in fm.reference_levels()]
    assert new.loc[scored, "suggested"].tolist() == [report.suggested.weights[n] for n in scored]
    assert new["description"].str.startswith("Imported property").all()
    shown = metrics(at)
    for label, value in shown_like_the_page(
        replay(engine, engine["current"]), engine["fm"].as_of
    ).items():
        assert shown[label] == value, label
    open_tab(at, "Model quality")
    assert metrics(at)["AUC (newer leads)"].startswith(f"{report.evaluation.auc:.3f} ± ")


def test_split_choice_and_rule_properties_by_hand() -> None:
    """Only flagged properties wait for confirmation; a rule's weights name its properties."""
    evidence = pd.DataFrame(
        {"name": ["Status", "Tier", "Visits"], "verdict": ["likely leakage", "check", "ok"]}
    )
    assert scoring_ui.split_choice(["Visits", "Status", "Tier"], evidence, {}) == (
        ("Tier", "Visits"),
        ["Status"],
    )
    assert scoring_ui.split_choice(["Status"], evidence, {"Status": True}) == (("Status",), [])
    weights = {"pricing_page": 25.0, "Tier=Gold": 5.0, "Visits": 0.0}
    assert scoring_ui.rule_properties(weights, ["Status", "Tier", "Visits"]) == ["Tier"]
    weights = {"Visits": 0.5, "Score (missing)": -3.0, "Scoreboard": 0.0}
    assert scoring_ui.rule_properties(weights, ["Score", "Visits"]) == ["Score", "Visits"]


def test_an_edit_survives_adding_a_property(props_at, engine) -> None:
    """Points edited before a property is added are kept: the editor restarts under a new
    key (its rows changed) from the proposed points, so the replay still has them."""
    at = props_at
    at.session_state[scoring_ui.editor_key(0)] = {
        "edited_rows": {list(engine["fm"].offered).index("pricing_page"): {"proposed": 0}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.multiselect(key="sl_props").select(HARMLESS[0]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.data_editor[0].key == scoring_ui.editor_key(0, [HARMLESS[0]]) != "sl_points_0"
    table = editor_rows(at).set_index("feature")
    assert table.loc["pricing_page", "proposed"] == 0
    assert table.loc["pricing_page", "current"] == engine["current"].weights["pricing_page"]
    expected = replay(engine, engine["current"].with_changes({"pricing_page": 0.0}))
    shown = metrics(at)
    for label, value in shown_like_the_page(expected, engine["fm"].as_of).items():
        assert shown[label] == value, label


@pytest.fixture(scope="module")
def undated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The undated export with a planted signal (tests/scoring/undated.py), 2,000 leads."""
    from tests.scoring.undated import undated_leads, write_undated_db

    return write_undated_db(tmp_path_factory.mktemp("undated") / "u.duckdb", undated_leads())


def test_undated_export_is_scored_on_its_properties_by_cross_validation(
    undated_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On an undated export the page renders, offers no built-in without data, flags the
    grade, says why no model fits without properties, and with the visits and origin
    chosen shows the stratified k-fold AUC the engine computes."""
    from tests.scoring.undated import GRADE, ORIGIN, VISITS

    monkeypatch.setenv("HANDOFF_DB", str(undated_db))
    at = AppTest.from_file(APP, default_timeout=90).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert editor_rows(at).empty  # no touchpoints, titles, sizes: nothing built in offered
    assert any("No built-in feature has data in this history" in i.value for i in at.info)
    assert property_expanders(at)[0].proto.expanded  # the properties are all there is
    assert any(
        "pricing_page" in c.value and "this history has no touchpoints" in c.value
        for c in at.caption
    )
    shown = evidence_shown(at).set_index("property")
    assert shown.loc[GRADE, "verdict"] == "likely leakage"
    open_tab(at, "Model quality")
    assert any("no feature has data in this history" in w.value for w in at.warning)

    at.multiselect(key="sl_props").set_value([VISITS, ORIGIN]).run()
    assert not at.exception, [e.value for e in at.exception]
    con = store.connect_read_only(undated_db)
    try:
        fm = features.build_features(con, properties=[ORIGIN, VISITS])
    finally:
        con.close()
    ev = scoring.fit_model(fm, "sql").evaluation
    assert ev.method == "stratified k-fold cross-validation"
    assert metrics(at)["AUC (cross-validated)"] == f"{ev.auc:.3f} ± {ev.auc_std:.3f}"
    assert metrics(at)["Leads evaluated"] == "2,000"
    assert any("Evaluated by stratified k-fold cross-validation" in m.value for m in at.markdown)
    assert VISITS in editor_rows(at)["feature"].tolist()
