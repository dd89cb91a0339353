"""A page's controls round-trip through the URL without erasing each other's parameters."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page() -> None:
    import streamlit as st

    from dashboard import urlstate

    urlstate.restore("grain", "grain", options=["week", "month"])
    st.selectbox("Grain", ["week", "month"], key="grain")
    urlstate.mirror("grain", "grain")
    urlstate.restore("days", "days", parse=int)
    st.number_input("Days", min_value=1, value=30, key="days")
    urlstate.mirror("days", "days")
    urlstate.restore("tags", "tag", multi=True, options=["a", "b", "c"])
    st.multiselect("Tags", ["a", "b", "c"], key="tags")
    urlstate.mirror("tags", "tag")


def test_controls_are_seeded_from_the_url_and_written_back() -> None:
    """A link's values open the view; a changed control rewrites only its own parameter."""
    at = AppTest.from_function(_page)
    at.query_params.update(
        {"grain": "month", "days": "45", "tag": ["a", "c"], "from": "2026-01-01"}
    )
    at.run()
    assert at.selectbox(key="grain").value == "month"
    assert at.number_input(key="days").value == 45
    assert at.multiselect(key="tags").value == ["a", "c"]
    at.selectbox(key="grain").set_value("week").run()
    assert at.query_params["grain"] in ("week", ["week"])
    assert at.query_params["days"] in ("45", ["45"])
    assert at.query_params["tag"] == ["a", "c"]
    assert at.query_params["from"] in (
        "2026-01-01",
        ["2026-01-01"],
    )  # another control's parameter is kept


def test_a_stale_link_opens_the_default_view() -> None:
    """Values that do not parse or are not offered are ignored rather than failing the page."""
    at = AppTest.from_function(_page)
    at.query_params.update({"grain": "year", "days": "many", "tag": ["z", "b"]})
    at.run()
    assert not at.exception
    assert at.selectbox(key="grain").value == "week"
    assert at.number_input(key="days").value == 30
    assert at.multiselect(key="tags").value == ["b"]
    at.multiselect(key="tags").set_value([]).run()
    assert "tag" not in at.query_params
