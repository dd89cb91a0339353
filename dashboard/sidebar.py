"""The global sidebar filters, shared by every page and mirrored in the URL.

The filter state lives in ``st.session_state`` (widget keys prefixed ``f_``) and is written
to ``st.query_params`` on every run, so a copied link reproduces the view: ``?from=2025-01-01
&to=2025-06-30&source=paid_search&source=email&region=EMEA``.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from analysis import filters as flt
from dashboard import state

# (Filters field, URL parameter, label, shown outside the "More filters" expander)
DIMENSIONS: list[tuple[str, str, str, bool]] = [
    ("sources", "source", "Source", True),
    ("regions", "region", "Region", True),
    ("teams", "team", "Team", True),
    ("campaigns", "campaign", "Campaign", False),
    ("countries", "country", "Country", False),
    ("industries", "industry", "Industry", False),
    ("size_bands", "size", "Company size", False),
    ("reps", "rep", "Rep", False),
]


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def fit_period(start: date, end: date, first: date, last: date) -> tuple[date, date, str | None]:
    """The period ``start``..``end`` made valid for data from ``first`` to ``last``.

    A reversed period is swapped, and each end is moved inside ``first``..``last``.
    Returns the new (start, end) and a sentence saying what changed (None when nothing did).
    """
    asked = (start, end)
    notes = []
    if start > end:
        start, end = end, start
        notes.append("its start was after its end, so they were swapped")
    start, end = max(first, min(start, last)), min(last, max(end, first))
    if (start, end) != tuple(sorted(asked)):
        notes.append(f"the data covers {first} to {last} only")
    if not notes:
        return start, end, None
    return start, end, f"The period {asked[0]} to {asked[1]} was adjusted ({'; '.join(notes)})."


def _init_from_url(options: dict[str, list[str]], first: date, last: date) -> None:
    """Seed the widget state from the URL once per session."""
    if st.session_state.get("f_initialised"):
        return
    qp = st.query_params
    start = _parse_date(qp.get("from")) or first
    end = _parse_date(qp.get("to")) or last
    start, end, note = fit_period(start, end, first, last)
    if note:
        st.session_state["f_note"] = (note, (start, end))
    st.session_state["f_range"] = (start, end)
    for field, param, _label, _main in DIMENSIONS:
        known = set(options.get(field, []))
        st.session_state[f"f_{param}"] = [v for v in qp.get_all(param) if v in known]
    st.session_state["f_initialised"] = True


def global_filters() -> flt.Filters | None:
    """Draw the sidebar filters and return them; None when the database cannot be read."""
    try:
        options = state.call(flt.filter_options)
    except FileNotFoundError:
        return None
    first, last = options.get("first_date"), options.get("last_date")
    if first is None or last is None:
        return flt.Filters()
    _init_from_url(options, first, last)
    _keep_period_inside(first, last)
    with st.sidebar:
        st.header("Filters")
        note, fitted = st.session_state.get("f_note") or ("", None)
        if note and tuple(st.session_state["f_range"]) == fitted:
            st.caption(note)  # shown until the period is changed
        st.date_input(
            "Period",
            key="f_range",
            min_value=first,
            max_value=last,
            help="Leads, stage entries and events are counted in the period they happened.",
        )
        for field, param, label, main in DIMENSIONS:
            if main:
                st.multiselect(label, options.get(field, []), key=f"f_{param}", placeholder="All")
        with st.expander("More filters"):
            for field, param, label, main in DIMENSIONS:
                if not main:
                    st.multiselect(
                        label, options.get(field, []), key=f"f_{param}", placeholder="All"
                    )
        st.button("Clear filters", key="f_clear", on_click=_clear, args=(first, last))
    rng = tuple(st.session_state["f_range"]) or (first, last)
    start, end = rng[0], rng[-1]
    chosen = {field: tuple(st.session_state[f"f_{param}"]) for field, param, _, _ in DIMENSIONS}
    # Only the sidebar's own parameters are written: a page's controls keep theirs.
    st.query_params["from"], st.query_params["to"] = start.isoformat(), end.isoformat()
    for field, param, _label, _main in DIMENSIONS:
        if chosen[field]:
            st.query_params[param] = list(chosen[field])
        elif param in st.query_params:
            del st.query_params[param]
    return flt.Filters(start=start, end=end, **chosen)


def _keep_period_inside(first: date, last: date) -> None:
    """Fit the chosen period to the data (a new database may cover other dates)."""
    rng = tuple(st.session_state.get("f_range") or (first, last))
    start, end = (rng[0], rng[-1]) if rng else (first, last)
    start, end, note = fit_period(start, end, first, last)
    if (start, end) != (rng[0], rng[-1]) or len(rng) not in (1, 2):
        st.session_state["f_range"] = (start, end)
        if note:
            st.session_state["f_note"] = (note, (start, end))


def _clear(first: date, last: date) -> None:
    st.session_state["f_range"] = (first, last)
    for _field, param, _label, _main in DIMENSIONS:
        st.session_state[f"f_{param}"] = []
