"""The sidebar's global filters, seeded from the URL, as the Funnel page sees them (AppTest)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from analysis import filters as flt
from analysis.lifecycle import funnel, periods

PAGE = "app_pages/funnel.py"
CREATED = {"basis": "created"}
"""Count created-lead cohorts on the funnel's cards: what stage_conversion counts."""
ALL = {"period": "all_history", **CREATED}
PLURAL = {"lead": "Leads", "mql": "MQLs", "sql": "SQLs", "opportunity": "Opportunities"}
PLURAL["customer"] = "Customers"


@pytest.fixture(scope="module")
def con(demo_db: Path):
    c = duckdb.connect(str(demo_db), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def history(con) -> tuple[date, date]:
    """The sidebar's default period: first lead date to the date of the last fact."""
    opts = flt.filter_options(con)
    return opts["first_date"], opts["last_date"]


def shown_counts(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def expected_counts(con, filters: flt.Filters) -> dict[str, str]:
    conv = funnel.stage_conversion(con, filters)
    return {PLURAL[s]: f"{int(r):,}" for s, r in zip(conv["stage"], conv["reached"], strict=True)}


def test_source_in_the_url_filters_the_funnel(app_at, con, history):
    """?source=paid_search gives the paid-search funnel: fewer leads, equal to the engine's."""
    first, last = history
    at = app_at(PAGE, query={**ALL, "source": "paid_search"})
    assert at.multiselect(key="f_source").value == ["paid_search"]
    filtered = expected_counts(con, flt.Filters(start=first, end=last, sources=("paid_search",)))
    unfiltered = expected_counts(con, flt.Filters(start=first, end=last))
    assert shown_counts(at) == filtered
    assert filtered != unfiltered
    assert int(filtered["Leads"].replace(",", "")) < int(unfiltered["Leads"].replace(",", ""))
    # the sidebar writes the filter back into the URL, so the link reproduces the view
    assert at.query_params["source"] in ("paid_search", ["paid_search"])


def test_date_range_in_the_url_sets_the_period(app_at, con):
    """?from=2026-03-01&to=2026-03-31 counts only leads created in March 2026."""
    at = app_at(PAGE, query={**CREATED, "from": "2026-03-01", "to": "2026-03-31"})
    assert at.selectbox(key="f_preset").value == "custom"  # dates without a preset
    march = flt.Filters(start=date(2026, 3, 1), end=date(2026, 3, 31))
    assert at.date_input(key="f_range").value == (march.start, march.end)
    assert shown_counts(at) == expected_counts(con, march)
    (created,) = con.execute(
        "SELECT count(*) FROM leads WHERE created_at >= '2026-03-01' AND created_at < '2026-04-01'"
    ).fetchone()
    assert shown_counts(at)["Leads"] == f"{created:,}"


def test_unknown_value_in_the_url_is_ignored(app_at, con, history):
    """?source=carrier_pigeon (no such source) leaves the funnel unfiltered, without error."""
    first, last = history
    at = app_at(PAGE, query={**ALL, "source": "carrier_pigeon"})
    assert at.multiselect(key="f_source").value == []
    assert shown_counts(at) == expected_counts(con, flt.Filters(start=first, end=last))
    assert "source" not in at.query_params


def test_filters_with_no_leads_show_a_message(app_at, con):
    """A team with a rep from another team matches no lead: a clear message, no exception."""
    (rep,) = con.execute(
        "SELECT r.name FROM leads l JOIN reps r ON r.rep_id = l.owner_rep_id "
        "WHERE r.team = 'EMEA' ORDER BY r.name LIMIT 1"
    ).fetchone()
    at = app_at(PAGE, query={**ALL, "team": "APAC", "rep": rep})
    assert at.multiselect(key="f_rep").value == [rep]
    assert not at.exception
    assert "No leads match these filters" in at.info[0].value
    assert len(at.metric) == 0
    assert len(at.get("plotly_chart")) == 0


def test_reversed_period_in_the_url_is_swapped_and_said(app_at, con):
    """?from=2026-06-30&to=2026-03-01 shows March to June, says it swapped them, no exception."""
    at = app_at(PAGE, query={**CREATED, "from": "2026-06-30", "to": "2026-03-01"})
    assert at.date_input(key="f_range").value == (date(2026, 3, 1), date(2026, 6, 30))
    notes = [w.value for w in at.sidebar.warning]  # a visible warning, not a grey caption
    assert any("2026-06-30 to 2026-03-01 was adjusted" in n and "swapped" in n for n in notes)
    spring = flt.Filters(start=date(2026, 3, 1), end=date(2026, 6, 30))
    assert shown_counts(at) == expected_counts(con, spring)
    assert at.query_params["from"] in ("2026-03-01", ["2026-03-01"])


FILTERED_PAGES = ["app_pages/funnel.py", "app_pages/sla.py", "app_pages/rejections.py"]
UNFILTERED_PAGES = [None, "app_pages/review.py", "app_pages/scoring.py", "app_pages/data.py"]


@pytest.mark.parametrize("page", FILTERED_PAGES)
def test_reversed_out_of_range_period_never_raises(app_at, history, page):
    """?from=2999-01-01&to=1900-01-01 (reversed, both outside the data) on every page that
    uses the filters: the period becomes the whole history, the page says the period was
    adjusted (visibly, in the sidebar) and renders without an exception."""
    first, last = history
    at = app_at(page, query={"from": "2999-01-01", "to": "1900-01-01"})
    assert not at.exception
    assert at.date_input(key="f_range").value == (first, last)
    notes = [w.value for w in at.sidebar.warning]
    assert any(f"the data covers {first} to {last} only" in n for n in notes), notes


@pytest.mark.parametrize("page", UNFILTERED_PAGES, ids=lambda p: p or "home")
def test_pages_that_ignore_the_filters_do_not_draw_them(app_at, page):
    """Home, Review, Scoring lab and Data draw no period or filter widget (they would do
    nothing there); the sidebar says where the filters apply instead."""
    at = app_at(page, query={"from": "2999-01-01", "to": "1900-01-01", "source": "email"})
    assert not at.exception
    keys = {w.key for w in [*at.sidebar.date_input, *at.sidebar.multiselect]}
    assert not {k for k in keys if k and k.startswith("f_")}
    assert any("filters apply on Funnel" in c.value for c in at.sidebar.caption)


def test_filters_survive_a_visit_to_a_page_without_them(app_at):
    """A source chosen on Funnel is still chosen after a visit to Home (which draws no filter)."""
    at = app_at(PAGE, query={"source": "email", "period": "last_quarter"})
    at.switch_page("app_pages/home.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.multiselect(key="f_source").value == ["email"]
    assert at.selectbox(key="f_preset").value == "last_quarter"


def test_funnel_opens_on_the_last_complete_month(app_at, con):
    """With nothing in the URL the Funnel opens on "Last month": the last complete calendar
    month before the data's end, written to the URL as ?period=last_month."""
    from analysis.definitions import data_as_of, last_complete_month
    from analysis.lifecycle.review import month_end

    month = last_complete_month(data_as_of(con))
    at = app_at(PAGE)
    assert at.selectbox(key="f_preset").value == "last_month"
    assert at.date_input(key="f_range").value == (month, month_end(month))
    assert at.query_params["period"] in ("last_month", ["last_month"])


@pytest.mark.parametrize("preset", ["last_quarter", "month_to_date", "year_to_date"])
def test_choosing_a_preset_sets_its_dates_and_the_url(app_at, con, preset):
    """Picking a preset in the sidebar moves the dates to that preset's days and writes it to
    the URL; editing the dates afterwards makes the period custom."""
    from analysis.definitions import data_as_of

    at = app_at(PAGE)
    at.selectbox(key="f_preset").set_value(preset).run()
    assert not at.exception
    first = flt.filter_options(con)["first_date"]
    start, end = periods.preset_range(preset, data_as_of(con), first)
    assert at.date_input(key="f_range").value == (max(start, first), end)
    assert at.query_params["period"] in (preset, [preset])
    at.date_input(key="f_range").set_value((date(2026, 2, 1), date(2026, 2, 28))).run()
    assert at.selectbox(key="f_preset").value == "custom"
    assert at.query_params["from"] in ("2026-02-01", ["2026-02-01"])


MORE = ["f_campaign", "f_country", "f_industry", "f_size", "f_rep"]
"""Keys of the filters under "More filters"."""


def drawn(at, keys: list[str]) -> list[str]:
    """Which of the multiselect ``keys`` the run drew."""
    return [m.key for m in at.sidebar.multiselect if m.key in keys]


def test_more_filters_are_drawn_only_while_open(app_at):
    """A visit without such a link draws the three main filters and not the five under
    "More filters" (the browser would build them on every page load); opening it draws
    them, all empty."""
    at = app_at(PAGE, query=ALL)
    assert drawn(at, ["f_source", "f_region", "f_team"]) == ["f_source", "f_region", "f_team"]
    assert drawn(at, MORE) == []
    assert at.expander[0].label == "More filters"
    at.session_state["f_more"] = True  # the user opens it
    at.run()
    assert drawn(at, MORE) == MORE
    assert all(at.multiselect(key=k).value == [] for k in MORE)


def test_a_closed_more_filters_keeps_its_values_and_says_so(app_at, con, history):
    """A link with a rep opens "More filters" on that rep; closed, the rep still filters the
    funnel (the same counts as before) and the sidebar says the funnel is also filtered by
    rep."""
    first, last = history
    (rep,) = con.execute(
        "SELECT r.name FROM leads l JOIN reps r ON r.rep_id = l.owner_rep_id "
        "GROUP BY r.name ORDER BY count(*) DESC, r.name LIMIT 1"
    ).fetchone()
    at = app_at(PAGE, query={**ALL, "rep": rep})
    assert drawn(at, MORE) == MORE and at.multiselect(key="f_rep").value == [rep]
    expected = expected_counts(con, flt.Filters(start=first, end=last, reps=(rep,)))
    assert shown_counts(at) == expected
    assert expected != expected_counts(con, flt.Filters(start=first, end=last))
    at.session_state["f_more"] = False  # the user closes it
    at.run()
    assert drawn(at, MORE) == []
    assert shown_counts(at) == expected
    assert at.query_params["rep"] == rep  # the link keeps it
    assert any("Also filtered by rep" in c.value for c in at.sidebar.caption)
    at.run()  # and on the run after
    assert shown_counts(at) == expected
