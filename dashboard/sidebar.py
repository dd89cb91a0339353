"""The global sidebar filters, shared by every page and mirrored in the URL.

The filter state lives in ``st.session_state`` (widget keys prefixed ``f_``) and is written
to ``st.query_params`` on every run, so a copied link reproduces the view: ``?period=custom
&from=2025-01-01&to=2025-06-30&source=paid_search&source=email&region=EMEA``. A preset
(``?period=last_month``) is re-read against the data, so the link keeps meaning "last month".
The filters are drawn only on the pages they apply to (``dashboard/app.py`` says which).
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from analysis import filters as flt
from analysis.lifecycle import periods
from dashboard import display, state, urlstate

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


def _preset_dates(preset: str, first: date, last: date) -> tuple[date, date]:
    """The days of ``preset`` for data from ``first`` to ``last``, kept inside the data."""
    start, end = periods.preset_range(preset, last, first)
    return max(first, min(start, last)), min(last, max(end, first))


def _init_from_url(options: dict[str, list[str]], first: date, last: date, default: str) -> None:
    """Seed the widget state from the URL once per session.

    ``?period=last_month`` (a preset) wins; ``?from=&to=`` without it is a custom period;
    neither opens on ``default``.
    """
    if st.session_state.get("f_initialised"):
        return
    qp = st.query_params
    preset = qp.get("period")
    if preset not in periods.PRESETS:
        preset = "custom" if (qp.get("from") or qp.get("to")) else default
    if preset == "custom":
        start = _parse_date(qp.get("from")) or first
        end = _parse_date(qp.get("to")) or last
        start, end, note = fit_period(start, end, first, last)
        if note:
            st.session_state["f_note"] = (note, (start, end))
    else:
        start, end = _preset_dates(preset, first, last)
    st.session_state["f_preset"] = preset
    st.session_state["f_range"] = (start, end)
    for field, param, _label, _main in DIMENSIONS:
        known = set(options.get(field, []))
        st.session_state[f"f_{param}"] = [v for v in qp.get_all(param) if v in known]
    # "More filters" opens on a link that sets one of them (fixed for the session: the
    # expander's identity includes it)
    st.session_state["f_more_open"] = bool(_more_in_use())
    st.session_state["f_initialised"] = True


def _more_in_use() -> list[str]:
    """Labels of the "More filters" that have a value chosen, in sidebar order."""
    return [
        label
        for _field, param, label, main in DIMENSIONS
        if not main and st.session_state.get(f"f_{param}")
    ]


def _keep_alive() -> None:
    """Keep the filters' values while a page that does not draw them is shown.

    Streamlit forgets a widget's value on a run that does not draw it; writing the value back
    to the session state keeps it for the next page that does.
    """
    urlstate.keep(["f_preset", "f_range", *(f"f_{p}" for _f, p, _l, _m in DIMENSIONS)])


def period_note() -> str | None:
    """The sentence saying the chosen period was adjusted to the data, while it applies."""
    note, fitted = st.session_state.get("f_note") or ("", None)
    rng = st.session_state.get("f_range")
    if note and rng is not None and tuple(rng) == fitted:
        return note
    return None


def global_filters(
    show: bool = True, default_preset: str = periods.DEFAULT_PRESET
) -> flt.Filters | None:
    """Draw the sidebar filters and return them; None when the database cannot be read.

    ``show`` False (a page the filters do not apply to) draws no filter, only a line saying
    where they apply, and keeps their values and URL parameters for the pages that use them.
    ``default_preset`` is the period a session opens on when the URL names none.
    """
    try:
        options = state.call(flt.filter_options)
    except FileNotFoundError:
        return None
    first, last = options.get("first_date"), options.get("last_date")
    if first is None or last is None:
        return flt.Filters()
    if not show:
        # the filters are seeded by the first page that uses them (its default period)
        _keep_alive()
        with st.sidebar:
            st.caption(
                "This page covers the whole company: the period and filters apply on "
                "Funnel, SLA & response and Rejections."
            )
        return flt.Filters()
    _init_from_url(options, first, last, default_preset)
    _keep_period_inside(first, last)
    with st.sidebar:
        st.header("Filters")
        st.selectbox(
            "Period",
            list(periods.PRESETS),
            format_func=periods.PRESETS.get,
            key="f_preset",
            on_change=_apply_preset,
            args=(first, last),
            help="Last month and last quarter are complete calendar months; 'to date' periods "
            "are still running (marked immature, compared at the same age).",
        )
        st.date_input(
            "Dates",
            key="f_range",
            min_value=first,
            max_value=last,
            on_change=_custom_dates,
            format="YYYY-MM-DD",
            help="Leads, stage entries and events are counted in the period they happened "
            "(UTC days, both ends included). Changing the dates makes the period custom.",
        )
        note = period_note()
        if note:
            st.warning(note, icon=":material/warning:")  # shown until the period is changed
        for field, param, label, main in DIMENSIONS:
            if main:
                _filter_box(label, options.get(field, []), param)
        # Drawn only while open: five multiselects with their options cost the browser
        # about 0.2 s on every page load, and most visits never open them.
        more = st.expander(
            "More filters",
            expanded=st.session_state.get("f_more_open", False),
            key="f_more",
            on_change="rerun",
        )
        if more.open:
            with more:
                for field, param, label, main in DIMENSIONS:
                    if not main:
                        _filter_box(label, options.get(field, []), param)
        else:
            urlstate.keep([f"f_{p}" for _f, p, _l, main in DIMENSIONS if not main])
            if in_use := _more_in_use():
                st.caption(f"Also filtered by {', '.join(in_use).lower()} (More filters).")
        st.button("Clear filters", key="f_clear", on_click=_clear, args=(first, last))
    rng = tuple(st.session_state["f_range"]) or (first, last)
    start, end = rng[0], rng[-1]
    chosen = {field: tuple(st.session_state[f"f_{param}"]) for field, param, _, _ in DIMENSIONS}
    # Only the sidebar's own parameters are written: a page's controls keep theirs.
    st.query_params["period"] = st.session_state["f_preset"]
    st.query_params["from"], st.query_params["to"] = start.isoformat(), end.isoformat()
    for field, param, _label, _main in DIMENSIONS:
        if chosen[field]:
            st.query_params[param] = list(chosen[field])
        elif param in st.query_params:
            del st.query_params[param]
    return flt.Filters(start=start, end=end, **chosen)


def _filter_box(label: str, values: list[str], param: str) -> None:
    """One dimension's multiselect, keyed ``f_<param>`` (empty means all)."""
    st.multiselect(label, values, key=f"f_{param}", placeholder="All", format_func=display.label)


def _apply_preset(first: date, last: date) -> None:
    preset = st.session_state["f_preset"]
    if preset != "custom":
        st.session_state["f_range"] = _preset_dates(preset, first, last)


def _custom_dates() -> None:
    st.session_state["f_preset"] = "custom"


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
    st.session_state["f_preset"] = periods.DEFAULT_PRESET
    st.session_state["f_range"] = _preset_dates(periods.DEFAULT_PRESET, first, last)
    for _field, param, _label, _main in DIMENSIONS:
        st.session_state[f"f_{param}"] = []
