"""Handoff Health dashboard entry point: page config, navigation, shared sidebar filters."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import auth, display, sidebar

st.set_page_config(page_title="Handoff Health", page_icon="🤝", layout="wide")
auth.require_sign_in()

HERE = Path(__file__).resolve().parent
SECTIONS: dict[str, list[tuple[str, str, str]]] = {
    "Overview": [("app_pages/home.py", "Home", ":material/home:")],
    "Funnel health": [
        ("app_pages/funnel.py", "Funnel", ":material/filter_alt:"),
        ("app_pages/sla.py", "SLA & response", ":material/timer:"),
        ("app_pages/rejections.py", "Rejections", ":material/block:"),
    ],
    "Review": [("app_pages/review.py", "Monthly review", ":material/calendar_month:")],
    "Tuning": [("app_pages/scoring.py", "Scoring lab", ":material/tune:")],
    "Data": [("app_pages/data.py", "Data", ":material/database:")],
    "Settings": [("app_pages/settings.py", "Settings", ":material/settings:")],
}

pages = {
    section: [
        st.Page(path, title=title, icon=icon, default=path.endswith("home.py"))
        for path, title, icon in entries
        if (HERE / path).exists()
    ]
    for section, entries in SECTIONS.items()
}
# Pages the sidebar's period and filters apply to, with the period a session opens on there
# (the funnel on the last complete month; SLA and rejections over the whole history, whose
# month-by-month charts need it). Every other page draws no filter: it says where they apply.
# (A comment, not a docstring: Streamlit prints a bare string on the page.)
FILTERED: dict[str, str] = {
    "funnel": "last_month",
    "sla": "all_history",
    "rejections": "all_history",
}

nav = st.navigation({k: v for k, v in pages.items() if v})
st.session_state["filters"] = sidebar.global_filters(
    show=nav.url_path in FILTERED, default_preset=FILTERED.get(nav.url_path, "last_month")
)
display.accessibility_fixes()  # theme + nav markup: every page passes axe-core
nav.run()
