"""The Scoring lab's grades, reasons, decay and back-test tabs in Streamlit's AppTest.

Every number on screen is recomputed straight from the engine on the same demo database
and compared with what the page shows.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from analysis.scoring import decay, grades, reasons
from analysis.scoring.configs import score
from analysis.scoring.routing import routing_of
from tests.dashboard import test_page_scoring as lab
from tests.dashboard.test_page_scoring import PAGE, metrics, open_tab

engine = lab.engine  # the same module-scoped fixture: the demo's matrix, rule and reps


def test_grades_tab_shows_the_engine_bands_and_suggests_cut_points(app_at, engine) -> None:
    """The default A-D cuts are the 10/20/30/40 suggestion on the current rule; the table's
    lead counts are the engine's; typing 25/25/25/25 and pressing "Suggest cut points" moves
    the sliders to the engine's suggestion; the exports carry the bands."""
    at = app_at(PAGE)
    open_tab(at, "Grades")
    fm, current, reps = engine["fm"], engine["current"], engine["reps"]
    s = score(fm, current)
    cuts = grades.suggest_cuts(s[fm.decided], (0.1, 0.2, 0.3, 0.4))
    assert [at.slider(key=f"sl_grade_cut_{i}").value for i in range(3)] == [int(c) for c in cuts]
    table = grades.band_table(
        fm, s, grades.GradeScheme(("A", "B", "C", "D"), cuts), "sql", None, routing_of(fm, reps)
    )
    shown = next(d.value for d in at.dataframe if "grade" in d.value.columns)
    assert shown["grade"].tolist() == ["A", "B", "C", "D"]
    assert shown["leads"].tolist() == [
        f"{n:,} ({share:.1%})"
        for n, share in zip(table["leads"], table["share_of_leads"], strict=True)
    ]
    at.text_input(key="sl_grade_target_4").input("25/25/25/25").run()
    at.button(key="sl_grade_suggest").click().run()
    even = grades.suggest_cuts(s[fm.decided], (0.25, 0.25, 0.25, 0.25))
    assert [at.slider(key=f"sl_grade_cut_{i}").value for i in range(3)] == [int(c) for c in even]
    assert not at.exception
    assert len(at.get("download_button")) >= 2


def test_dragging_a_cut_point_recounts_the_band(app_at, engine) -> None:
    """Setting A's cut to 80 points puts exactly the decided leads scoring >= 80 in A."""
    at = app_at(PAGE)
    open_tab(at, "Grades")
    at.slider(key="sl_grade_cut_0").set_value(80).run()
    fm = engine["fm"]
    s = score(fm, engine["current"])
    n = int(((s >= 80) & fm.decided).sum())
    shown = next(d.value for d in at.dataframe if "grade" in d.value.columns)
    assert shown.loc[0, "leads"].startswith(f"{n:,} (")


def test_reasons_tab_explains_a_searched_lead(app_at, engine) -> None:
    """Searching a lead id shows its proposed-rule points (the engine's score) and the
    model's chance, with reasons in words and no code names."""
    fm, current = engine["fm"], engine["current"]
    row = int(np.argmax(score(fm, current)))
    lead = str(fm.lead_ids[row])
    at = app_at(PAGE)
    open_tab(at, "Reasons per lead")
    at.text_input(key="sl_reason_q").input(lead).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert f"Proposed rule: {score(fm, current)[row]:,.0f} points" in text
    assert "requested a demo" in text and "Model:" in text
    assert "demo_request" not in text


def test_changed_side_table_carries_reasons(app_at, engine) -> None:
    """The changed-side table's reasons equal the engine's for its first lead."""
    at = app_at(PAGE)
    at.slider(key="sl_threshold").set_value(engine["current"].threshold + 10).run()
    open_tab(at, "Leads that change side")
    table = next(d.value for d in at.dataframe if "points for" in d.value.columns)
    proposed = engine["current"].with_changes(threshold=engine["current"].threshold + 10)
    row = reasons.rows_of(engine["fm"], table["lead_id"].head(1).to_numpy(dtype=object))
    expected = reasons.reasons_for_rows(engine["fm"], proposed, row)
    assert table.loc[0, "points for"] == expected.loc[0, "rule_up"]
    assert table.loc[0, "points for"]


def test_suggested_points_say_that_the_threshold_moved(app_at, engine) -> None:
    """After "Use the model's suggested points" the page says the threshold moved, from and
    to which value."""
    at = app_at(PAGE)
    before = at.slider(key="sl_threshold").value
    at.button(key="sl_suggest").click().run()
    after = at.slider(key="sl_threshold").value
    notes = " ".join(i.value for i in at.info)
    if after != before:
        assert f"the threshold moved from {before:g} to {after:g} points" in notes
    else:
        assert f"the threshold stays at {after:g} points" in notes


def test_decay_changes_the_replay_as_the_engine_says(app_at, engine, demo_db) -> None:
    """A 30-day half-life: the proposed MQLs per month are the engine's on the faded matrix,
    and the page states the effect against no decay."""
    from analysis import store

    at = app_at(PAGE)
    at.selectbox(key="sl_decay").set_value("half-life").run()
    assert not at.exception
    con = store.connect_read_only(demo_db)
    try:
        ages = decay.engagement_ages(con)
    finally:
        con.close()
    fade = decay.Decay("half-life", 30)
    faded = decay.decayed(engine["fm"], ages, fade)
    without, with_decay = decay.volume_effect(engine["fm"], faded, engine["current"])
    captions = " ".join(c.value for c in at.caption)
    assert f"makes {with_decay:,.1f} MQLs per month with it, {without:,.1f} without it" in captions
    assert with_decay < without  # fading only lowers positive engagement points


def test_editor_and_rep_labels_are_words(app_at) -> None:
    """The points editor's feature column and the rep-load chart show no code names."""
    at = app_at(PAGE)
    labels = at.data_editor[0].value["label"].tolist()
    assert labels and not any("_" in x for x in labels)
    spec = json.loads(at.get("plotly_chart")[-1].proto.spec)
    xs = [x for t in spec["data"] for x in (t.get("x") or []) if isinstance(x, str)]
    assert xs and not any(x.startswith("R0") for x in xs)


def test_backtest_runs_in_the_background_then_shows_results(app_at) -> None:
    """The back-test tab starts a background job (progress first), and once it is done it
    shows the per-month chart, both AUCs of the ceiling and the half-life table."""
    at = app_at(PAGE)
    open_tab(at, "Back-test")
    assert any(p for p in at.get("progress")) or any(
        "Computed in the background" in c.value for c in at.caption
    )
    # The job is cached per (database version, settings): wait for it, then rerun.
    for _ in range(600):  # at most ~5 minutes on a busy machine
        at.run()
        if any("Computed in the background" in c.value for c in at.caption):
            break
        time.sleep(0.5)
    assert not at.exception
    assert any("Computed in the background" in c.value for c in at.caption)
    assert "AUC, gradient-boosted ceiling" in metrics(at)
    assert any("half-life" in d.value.columns for d in at.dataframe)
    titles = [
        json.loads(c.proto.spec)["layout"].get("annotations", []) for c in at.get("plotly_chart")
    ]
    assert any("AUC on the test month" in a.get("text", "") for t in titles for a in t)


@pytest.mark.parametrize("n_bands", [2, 3])
def test_fewer_bands(app_at, n_bands: int) -> None:
    """Two or three bands draw one or two cut sliders and as many table rows."""
    at = app_at(PAGE)
    open_tab(at, "Grades")
    at.selectbox(key="sl_grade_n").set_value(n_bands).run()
    assert not at.exception
    shown = next(d.value for d in at.dataframe if "grade" in d.value.columns)
    assert len(shown) == n_bands


def test_a_large_history_fits_a_new_model_in_the_background(app_at, monkeypatch) -> None:
    """From BACKGROUND_FIT_LEADS leads (lowered to 0 here) a new outcome shows the numbers at
    once, says the model is being fitted and disables its suggestion; once the fit is done a
    rerun shows the model (the suggestion button is enabled, the note is gone)."""
    from dashboard import scoring_ui

    at = app_at(PAGE)
    monkeypatch.setattr(scoring_ui, "BACKGROUND_FIT_LEADS", 0)
    at.selectbox(key="sl_outcome").set_value("opportunity").run()
    assert not at.exception
    assert "MQLs per month" in " ".join(metrics(at))  # the numbers do not wait for the fit

    def fitting() -> bool:
        return any("being fitted in the background" in c.value for c in at.caption)

    assert fitting() and at.button(key="sl_suggest").disabled
    for _ in range(600):  # at most ~2 minutes on a busy machine
        time.sleep(0.2)
        at.run()
        if not fitting():
            break
    assert not fitting() and not at.button(key="sl_suggest").disabled
    assert not at.exception
