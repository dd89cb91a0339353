"""Secondary sections of a page as tabs that run only when opened.

A page shows its headline numbers first and puts the rest in tabs
(:func:`lazy_tabs`): only the open tab's code runs, so a visit, a reload or a filter change
computes and draws one section instead of all of them. The open tab lives in the URL
(``?section=``) like every other control; a link that names a control of one section
(``?breakdown=region``) opens that section. :func:`draw_open` runs the open section as a
fragment (``st.fragment``): a change of one of its own controls (a breakdown, a window)
reruns that section only, not the page's headline above it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import urlstate


def lazy_tabs(
    key: str,
    sections: Mapping[str, str],
    implied: Mapping[str, str] | None = None,
    param: str = "section",
) -> dict[str, DeltaGenerator | None]:
    """Draw one tab per section; return {code: its container when open, else None}.

    Parameters
    ----------
    key : str
        Page-prefixed widget key of the tabs (``fu_section``).
    sections : mapping
        Section code (the URL value, e.g. ``breakdown``) -> tab label, in tab order.
    implied : mapping, optional
        URL parameter -> section code: a link without ``?section=`` but with one of these
        parameters opens that section (the first one found, in this mapping's order).
    param : str
        The URL parameter holding the open section.
    """
    codes = {label: code for code, label in sections.items()}
    if not st.session_state.get(f"_url_restored_{key}") and param not in st.query_params:
        for name, code in (implied or {}).items():
            if name in st.query_params and code in sections:
                st.session_state[key] = sections[code]
                break
    urlstate.restore(key, param, parse=lambda c: sections[c], options=list(sections.values()))
    tabs = st.tabs(list(sections.values()), key=key, on_change="rerun")
    urlstate.mirror(key, param, fmt=lambda label: codes.get(label, label))
    return {code: tab if tab.open else None for code, tab in zip(sections, tabs, strict=True)}


def draw_open(
    tabs: Mapping[str, DeltaGenerator | None], draw: Mapping[str, Callable[[], None]]
) -> None:
    """Draw each open section (``tabs`` from :func:`lazy_tabs`) in its tab, as a fragment."""
    for code, tab in tabs.items():
        if tab is not None:
            with tab:
                st.fragment(draw[code])()
