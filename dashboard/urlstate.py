"""Every control that changes the view lives in the URL, so a copied link reproduces the view.

A page binds a widget's session key to a URL parameter with :func:`restore` before it draws the
widget (the URL seeds the widget once per session) and :func:`mirror` after it (the widget's
value is written back). Values that do not parse, or are not among the widget's options, are
ignored: a stale or hand-edited link opens the default view rather than failing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import streamlit as st


def restore(
    key: str,
    param: str,
    *,
    parse: Callable[[str], Any] = str,
    options: Collection[Any] | None = None,
    multi: bool = False,
) -> None:
    """Seed ``st.session_state[key]`` from ``?param=`` once per session.

    ``parse`` turns the URL text into the widget's value (a ``ValueError`` drops it);
    ``options`` lists the values the widget accepts; ``multi`` reads a repeated parameter
    (``?source=a&source=b``) into a list.
    """
    flag = f"_url_restored_{key}"
    if st.session_state.get(flag):
        return
    st.session_state[flag] = True
    raw = st.query_params.get_all(param)
    if not raw:
        return
    values = []
    for text in raw if multi else raw[:1]:
        try:
            value = parse(text)
        except (ValueError, TypeError):
            continue
        if options is None or value in options:
            values.append(value)
    if multi:
        st.session_state[key] = values
    elif values:
        st.session_state[key] = values[0]


def mirror(key: str, param: str, *, fmt: Callable[[Any], str] = str) -> None:
    """Write ``st.session_state[key]`` to ``?param=`` (a list repeats it; no value drops it)."""
    value = st.session_state.get(key)
    if value is None or (isinstance(value, list | tuple) and not value):
        if param in st.query_params:
            del st.query_params[param]
        return
    text: str | list[str] = (
        [fmt(v) for v in value] if isinstance(value, list | tuple) else fmt(value)
    )
    if st.query_params.get_all(param) != (text if isinstance(text, list) else [text]):
        st.query_params[param] = text


def keep(keys: Collection[str]) -> None:
    """Keep the values of the widgets ``keys`` through a run that does not draw them.

    Streamlit forgets a widget's value at the end of a run that did not draw it (a section
    drawn only while open, filters on a page that does not show them); writing the value
    back to the session state keeps it for the run that draws the widget again.
    """
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
