"""Handoff Health analysis engine: store, import, demo history and metrics (no Streamlit)."""
