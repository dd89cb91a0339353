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
from dashboard import display, state

TITLES = {
    "target_industries": "Target industries",
    "target_regions": "Target regions",
    "min_employees": "Company size for a good fit",
    "senior_title_pattern": "Senior job title pattern",
    "currency": "Currency",
    "crm_record_url": "CRM record link",
    "show_personal_data": "Show personal data",
}

EXAMPLE_AMOUNT = 1_639_000


def shown(settings: company.CompanySettings, key: str) -> str:
    """A setting's value as a reader wants it: amounts with their currency, counts with
    thousands separators, yes/no, lists comma-separated, ``(not set)`` when empty."""
    value = getattr(settings, key)
    if key == "currency":
        return f"{value} (amounts read like {display.fmt_money(EXAMPLE_AMOUNT, value)})"
    if key == "min_employees":
        return f"{display.fmt_count(value)} employees or more"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return company.to_text(settings, key) or display.NOT_SET


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
            "Setting": [TITLES.get(k, display.label(k)) for k in company.KEYS],
            "Value": [shown(current, k) for k in company.KEYS],
            "What it means": [company.DESCRIPTIONS[k] for k in company.KEYS],
        }
    ).set_index("Setting")
)

st.subheader("Change a setting")
if not writable:
    st.info(
        "This dashboard is read-only: change settings from the command line with the "
        "command below (or `handoff settings import FILE.toml` for several at once)."
    )
chosen = st.selectbox(
    "Setting",
    company.KEYS,
    format_func=lambda k: TITLES.get(k, display.label(k)),
    key="settings_key",
)
st.caption(company.DESCRIPTIONS[chosen])
HINTS = {
    tuple: "comma-separated labels, or a JSON array",
    bool: "true or false",
    int: "a whole number",
}
hint = HINTS.get(type(getattr(current, chosen)), "text")
text = st.text_input(
    f"New value of “{TITLES.get(chosen, display.label(chosen))}” ({hint})",
    value=company.to_text(current, chosen),
    key=f"settings_value_{chosen}",
)
if chosen == "currency" and text.strip():
    st.caption(f"Amounts will read like {display.fmt_money(EXAMPLE_AMOUNT, text.strip().upper())}.")
command = shlex.join(["handoff", "settings", "set", "--db", db_path, chosen, text])
st.code(command, language="bash", wrap_lines=True)

if writable and st.button("Save", key="settings_save", type="primary"):
    try:
        saved = company.update(db_path, {chosen: company.parse_value(chosen, text)})
    except (ValueError, FileNotFoundError) as exc:
        st.error(str(exc))
    else:
        st.session_state["settings_saved"] = (
            f"Saved: {TITLES.get(chosen, display.label(chosen))} = {shown(saved, chosen)}"
        )
        st.rerun()
