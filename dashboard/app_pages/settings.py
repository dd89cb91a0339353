"""Settings: what the company says about itself (fit targets, title pattern, currency, CRM link).

Shows the stored settings with what each means. Changing one is allowed only when the
dashboard may write (``dashboard.state.writes_enabled()``); otherwise, and always alongside,
the page shows the equivalent ``handoff settings set`` command.
"""

from __future__ import annotations

import shlex

import pandas as pd
import streamlit as st

from analysis.store import settings as company
from dashboard import state

st.title("Settings")
st.caption(
    "Your company's own facts: who is a good fit, how money is shown, where CRM records live. "
    "Scoring features and pages read them from here."
)

key = state.require_database()
db_path = key[0]
try:
    current = state.call(company.load)
except ValueError as exc:
    st.error(f"A stored setting cannot be read: {exc}. Fix it with `handoff settings set`.")
    st.stop()

writable = state.writes_enabled()
if "settings_saved" in st.session_state:
    st.success(st.session_state.pop("settings_saved"))

st.table(
    pd.DataFrame(
        {
            "setting": list(company.KEYS),
            "value": [company.to_text(current, k) or "(not set)" for k in company.KEYS],
            "what it means": [company.DESCRIPTIONS[k] for k in company.KEYS],
        }
    ).set_index("setting")
)

st.subheader("Change a setting")
if not writable:
    st.info(
        "This dashboard is read-only: change settings from the command line with the "
        "command below (or `handoff settings import FILE.toml` for several at once)."
    )
chosen = st.selectbox("Setting", company.KEYS, key="settings_key")
st.caption(company.DESCRIPTIONS[chosen])
text = st.text_input(
    "New value (lists: comma-separated labels or a JSON array; true/false for yes/no)",
    value=company.to_text(current, chosen),
    key=f"settings_value_{chosen}",
)
command = shlex.join(["handoff", "settings", "set", "--db", db_path, chosen, text])
st.code(command, language="bash", wrap_lines=True)

if writable and st.button("Save", key="settings_save", type="primary"):
    try:
        saved = company.update(db_path, {chosen: company.parse_value(chosen, text)})
    except (ValueError, FileNotFoundError) as exc:
        st.error(str(exc))
    else:
        shown = company.to_text(saved, chosen) or "(not set)"
        st.session_state["settings_saved"] = f"Saved: {chosen} = {shown}"
        st.rerun()
