"""Home: what is in the database (row counts, date range, last imports)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import store
from analysis.lifecycle import measurable
from dashboard import state

st.title("Handoff Health")
st.caption("The marketing → sales handoff, from your own history.")

key = state.require_database()
summary = state.call(store.table_summary)
batches = state.call(store.import_batches, 10)

counts = dict(zip(summary["table"], summary["rows"], strict=True))
st.markdown(f"**Database** `{key[0]}`")
cols = st.columns(5)
for col, (label, table) in zip(
    cols,
    [
        ("Leads", "leads"),
        ("Touchpoints", "touchpoints"),
        ("Stage changes", "stage_changes"),
        ("Sales activities", "sales_activities"),
        ("Opportunities", "opportunities"),
    ],
    strict=True,
):
    col.metric(label, f"{counts[table]:,}")

leads_row = summary.loc[summary["table"] == "leads"].iloc[0]
if counts["leads"]:
    if pd.notna(leads_row["first"]):
        st.markdown(
            f"History from **{leads_row['first']:%Y-%m-%d}** to "
            f"**{leads_row['last']:%Y-%m-%d}** (lead creation dates, UTC)."
        )
    else:
        st.markdown("The leads carry no creation dates (an undated export).")
else:
    st.info("The database has no leads yet: import files with `handoff import`.")

avail = state.call(measurable.availability)
gaps = avail.reasons()
if counts["leads"] and gaps:
    st.subheader("What this history can measure")
    st.caption(
        f"The funnel starts at the **{avail.funnel_start}** stage. Numbers that need data "
        "this history lacks are shown as *not measurable*, never as 0:"
    )
    for reason in dict.fromkeys(gaps.values()):
        st.markdown(f"- Not measurable: {reason}")

st.subheader("Tables")
st.dataframe(
    summary,
    hide_index=True,
    width="stretch",
    height=(len(summary) + 1) * 35 + 3,
    column_config={
        "rows": st.column_config.NumberColumn("rows", format="localized"),
        "first": st.column_config.DatetimeColumn("first event", format="YYYY-MM-DD HH:mm"),
        "last": st.column_config.DatetimeColumn("last event", format="YYYY-MM-DD HH:mm"),
    },
)

st.subheader("Last imports")
if len(batches):
    st.dataframe(batches, hide_index=True, width="stretch")
else:
    st.caption("No import batches recorded.")
