"""Handoff Health dashboard entry point: page config, navigation, shared state."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Handoff Health", page_icon="🤝", layout="wide")

pages = {
    "Overview": [
        st.Page("app_pages/home.py", title="Home", icon="🏠", default=True),
    ],
}

st.navigation(pages).run()
