"""Funnel, Monthly review and Home as a meeting uses them (AppTest on the small demo):

every control in the URL, one named definition with the same November numbers on Funnel and
Review, immature periods marked, words instead of stored codes, one format per number.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from analysis.definitions import data_as_of, last_complete_month, month_start

FUNNEL = "app_pages/funnel.py"
REVIEW = "app_pages/review.py"


@pytest.fixture(scope="module")
def months(demo_db: Path) -> tuple[date, date]:
    """(last complete month, the running month) of the demo history."""
    con = duckdb.connect(str(demo_db), read_only=True)
    as_of = data_as_of(con)
    con.close()
    return last_complete_month(as_of), month_start(as_of)


def param(at, name: str) -> str | list[str] | None:
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def test_every_funnel_control_round_trips_through_the_url(app_at):
    """A link with every Funnel control opens with each of them set (the controls of the
    section named by ``?section=``, the others kept in the link), and changing each
    control writes its new value back to the URL."""
    query = {
        "period": "last_quarter",
        "basis": "created",
        "grain": "week",
        "window": "60",
        "breakdown": "region",
        "step": "sql-opportunity",
    }
    # section -> its controls: (widget kind, key, URL name, value in the link, new value)
    controls = {
        "volumes": [("button_group", "fu_grain", "grain", "week", "month")],
        "trends": [("selectbox", "fu_window", "window", 60, 14)],
        "breakdown": [
            ("selectbox", "fu_dim", "breakdown", "region", "team"),
            ("selectbox", "fu_step", "step", "sql-opportunity", "mql-sql"),
        ],
    }
    for code, widgets in controls.items():
        at = app_at(FUNNEL, query={**query, "section": code})
        assert at.selectbox(key="f_preset").value == "last_quarter"
        assert at.button_group(key="fu_basis").value == "created"
        for kind, key, _name, value, _new in widgets:
            assert getattr(at, kind)(key=key).value == value, key
        for name, value in query.items():
            assert param(at, name) == value, name
        assert param(at, "section") == code
        for kind, key, _name, _value, new in widgets:
            getattr(at, kind)(key=key).set_value(new).run()
        assert not at.exception
        assert [param(at, w[2]) for w in widgets] == [str(w[4]) for w in widgets]
    at.button_group(key="fu_basis").set_value("entered").run()
    at.selectbox(key="f_preset").set_value("year_to_date").run()
    assert not at.exception
    assert [param(at, "period"), param(at, "basis")] == ["year_to_date", "entered"]


def test_every_review_control_round_trips_through_the_url(app_at, months):
    """The review's month, definition, conversion window, thresholds and planner window come
    from the URL and go back to it when changed."""
    last, _running = months
    earlier = date(last.year - (last.month == 1), (last.month - 2) % 12 + 1, 1)
    query = {
        "month": earlier.strftime("%Y-%m"),
        "basis": "created",
        "window": "45",
        "shortfall": "80",
        "noise": "off",
        "trailing": "12",
    }
    at = app_at(REVIEW, query=query)
    assert at.selectbox(key="rv_month").value == earlier
    assert at.button_group(key="rv_basis").value == "created"
    assert at.number_input(key="rv_window").value == 45
    assert at.slider(key="rv_shortfall").value == 80
    assert at.toggle(key="rv_noise").value is False
    assert at.selectbox(key="rv_trailing").value == 12
    for name, value in query.items():
        assert param(at, name) == value, name
    at.selectbox(key="rv_month").set_value(last).run()
    at.number_input(key="rv_window").set_value(30).run()
    at.toggle(key="rv_noise").set_value(True).run()
    assert not at.exception
    assert param(at, "month") == last.strftime("%Y-%m")
    assert param(at, "window") == "30" and param(at, "noise") == "on"


def _funnel_table_k_n(at) -> dict[str, tuple[int, int]]:
    """Stage label -> (k, n) of the step to the next stage, from the Funnel's table."""
    table = next(d.value for d in at.dataframe if "Reached the next stage (k)" in d.value)
    return {
        row["Stage"]: (_int(row["Reached the next stage (k)"]), _int(row["of (n)"]))
        for _, row in table.iterrows()
        if row["of (n)"] != "–"  # the last stage has no next step
    }


def _int(text: str) -> int:
    """``1,019`` -> 1019 (tables show counts with a thousands separator)."""
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", text), text
    return int(text.replace(",", ""))


def _review_table_k_n(at) -> dict[str, tuple[int, int]]:
    table = next(d.value for d in at.dataframe if {"label", "k", "n"} <= set(d.value.columns))
    stage_words = {"Leads": "Lead", "MQLs": "MQL", "SQLs": "SQL", "Opportunities": "Opportunity"}
    return {
        stage_words[row["label"]]: (_int(row["k"]), _int(row["n"]))
        for _, row in table.iterrows()
        if row["n"] != "–" and row["label"] in stage_words
    }


@pytest.mark.parametrize("basis", ["entered", "created"])
def test_funnel_and_review_agree_on_last_month(app_at, months, basis):
    """Under the same definition the Funnel (period: last month) and the Monthly review of
    that month show the same stage counts and the same k of n for every step."""
    last, _running = months
    funnel_at = app_at(FUNNEL, query={"period": "last_month", "basis": basis})
    review_at = app_at(REVIEW, query={"month": last.strftime("%Y-%m"), "basis": basis})
    funnel_steps, review_steps = _funnel_table_k_n(funnel_at), _review_table_k_n(review_at)
    assert funnel_steps == review_steps
    assert set(funnel_steps) == {"Lead", "MQL", "SQL", "Opportunity"}
    # and the cards on both pages (same labels, same values)
    cards = {m.label: m.value for m in funnel_at.metric}
    review_cards = {m.label: m.value for m in review_at.metric}
    for label in ("Leads", "MQLs", "SQLs", "Opportunities", "Customers"):
        assert cards[label] == review_cards[label], label
    # each page names its definition
    name = "entered the stage in the period" if basis == "entered" else "created in the period"
    for at in (funnel_at, review_at):
        assert any(f"Definition: {name}" in m.value for m in at.markdown)


def test_a_running_month_is_marked_immature_everywhere_on_the_funnel(app_at, months):
    """Month to date: a warning says the period is still running and is compared at the same
    age, and the newest bar of each volume panel is drawn hatched and pale."""
    at = app_at(FUNNEL, query={"period": "month_to_date"})
    assert any("still running (immature)" in w.value for w in at.warning)
    assert any("at the same age" in w.value for w in at.warning)
    figure = next(
        json.loads(c.proto.spec) for c in at.get("plotly_chart") if "fu_volumes_chart" in c.proto.id
    )
    for bar in figure["data"]:
        assert bar["marker"]["pattern"]["shape"][-1] == "/"
        assert "immature" in bar["customdata"][-1]


def test_the_review_of_the_running_month_says_it_is_immature(app_at, months):
    """The running month's review warns it is in progress and compares at the same age."""
    _last, running = months
    at = app_at(REVIEW, query={"month": running.strftime("%Y-%m")})
    assert any("still in progress (immature)" in w.value for w in at.warning)
    assert any("at the same age" in w.value for w in at.warning)


_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")
_BACKTICKS = re.compile(r"`[^`]*`|:material/[a-z_]+:")


def _visible_texts(at) -> list[str]:
    texts = [m.value for m in [*at.markdown, *at.caption, *at.info, *at.warning]]
    texts += [m.label for m in at.metric] + [m.value for m in at.metric]
    for frame in at.dataframe:
        df = frame.value
        config = json.loads(frame.proto.columns or "{}")
        # a column's visible name is its configured label, else the column name
        texts += [str(config.get(str(c), {}).get("label", c)) for c in df.columns]
        for col in df.columns:
            if df[col].dtype == object or str(df[col].dtype).startswith("str"):
                texts += [str(v) for v in df[col].dropna()]
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        for trace in spec["data"]:
            for axis in ("x", "y"):
                values = trace.get(axis)
                if isinstance(values, list):
                    texts += [v for v in values if isinstance(v, str)]
    return [_BACKTICKS.sub("", t) for t in texts]


@pytest.mark.parametrize(
    "page",
    [None, FUNNEL, REVIEW],
    ids=["home", "funnel", "review"],
)
def test_no_stored_code_reaches_the_screen(app_at, page):
    """No text, table cell, column name or chart category on Home, Funnel or Review is a
    stored code with an underscore (paid_search, no_budget, ...): they are shown in words.
    Text in `code` spans (file formats, commands) is allowed."""
    at = app_at(page, query={"period": "all_history"} if page == FUNNEL else None)
    found = sorted({m for t in _visible_texts(at) for m in _CODE.findall(t)})
    assert not found, found


@pytest.mark.parametrize("page", [None, FUNNEL, REVIEW], ids=["home", "funnel", "review"])
def test_numbers_have_one_format(app_at, page):
    """Counts of a thousand or more carry a thousands separator (1,019 not 1019) and every
    share on a card or under it has exactly one decimal."""
    at = app_at(page, query={"period": "all_history"} if page == FUNNEL else None)
    values = [m.value for m in at.metric]
    assert not [v for v in values if re.fullmatch(r"\d{4,}", v.replace("USD ", ""))], values
    shares = [s for m in at.metric for s in re.findall(r"\d+(?:\.\d+)?%", m.value)]
    shares += [
        s
        for c in at.caption
        if c.value.startswith("**→")
        for s in re.findall(r"\d+(?:\.\d+)?%", c.value)
    ]
    assert shares
    assert [s for s in shares if not re.fullmatch(r"\d+\.\d%", s)] == []


def test_review_thresholds_are_built_only_while_open_and_keep_their_values(app_at, months):
    """A plain visit folds the check thresholds away (no controls built) and says which apply;
    a link that sets one opens them; folded again, the link's values still apply and stay in
    the URL."""
    at = app_at(REVIEW)
    keys = ["rv_sla_floor", "rv_window", "rv_shortfall", "rv_noise"]
    built = [w.key for w in (*at.number_input, *at.slider, *at.toggle) if w.key in keys]
    assert built == []
    line = "conversion window 30 days · too few MQLs below 90% of target · beyond noise only"
    assert any(line in c.value for c in at.caption)

    at = app_at(REVIEW, query={"window": "45", "noise": "off"})
    assert at.number_input(key="rv_window").value == 45
    at.session_state["rv_thresholds"] = False  # folded by the user
    at.run()
    assert not at.exception
    assert [w.key for w in at.number_input if w.key in keys] == []
    line = "conversion window 45 days · too few MQLs below 90% of target · any shortfall"
    assert any(line in c.value for c in at.caption)
    assert param(at, "window") == "45" and param(at, "noise") == "off"
    at.run()
    assert param(at, "window") == "45"


def test_a_count_card_shows_no_delta_without_a_change_to_show():
    """A delta string is drawn with an up arrow unless it starts with a minus: "0 in Sep
    2017" under 0 customers read as a rise. Against a period with none (no relative change)
    or one the history does not cover, the card has no delta; a real change keeps it."""
    import pandas as pd

    from dashboard import periods_ui

    def row(change: float, prev: float, verdict: str) -> pd.Series:
        return pd.Series({"change": change, "prev_value": prev, "verdict": verdict})

    nan = float("nan")
    assert periods_ui.count_delta(row(nan, 0.0, "up"), "Sep 2017") == (None, "off")
    assert periods_ui.count_delta(row(nan, nan, "not measurable"), "Sep 2017") == (None, "off")
    assert periods_ui.count_delta(row(-0.25, 4.0, "within noise"), "Sep 2017") == (
        "-25.0% vs Sep 2017",
        "off",
    )
    assert periods_ui.count_delta(row(0.5, 40.0, "up"), "Sep 2017") == (
        "+50.0% vs Sep 2017",
        "normal",
    )
