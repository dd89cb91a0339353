"""The floor page of the page benchmark: a bare Streamlit page with 6 plotly line charts
and 3 small tables, no database and no computation.

What plotly and Streamlit cost in this browser on this machine; the page table prints each
dashboard page's whole-page time as a ratio to this page's, measured in the same run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="Floor", layout="wide")
st.title("Floor page")
rng = np.random.default_rng(7)
months = pd.date_range("2025-01-01", periods=24, freq="MS")
cols = st.columns(3)
for i in range(6):
    fig = go.Figure()
    for j in range(3):
        fig.add_scatter(x=months, y=rng.normal(100, 10, len(months)).cumsum(), name=f"s{j}")
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, title=f"Chart {i}")
    cols[i % 3].plotly_chart(fig, key=f"floor_chart_{i}")
for i in range(3):
    st.dataframe(
        pd.DataFrame(rng.integers(0, 1000, size=(12, 6)), columns=list("abcdef")),
        key=f"floor_table_{i}",
    )
