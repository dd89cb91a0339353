"""One way to show a table on any page: an interactive grid plus its CSV download.

Every table the dashboard shows is downloadable, and the file holds exactly the rows and
columns shown (raw values: shares as fractions 0-1, times as ISO timestamps), so a number
quoted from the CSV matches the screen. One exception keeps a spreadsheet safe: a text cell
(or header) that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading apostrophe, so imported text can never run as a formula (numbers stay numbers).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

MAX_VISIBLE_ROWS = 15
"""Rows shown before the grid scrolls."""

ROW_PX = 35

PERCENT = st.column_config.NumberColumn(format="percent")
"""A share 0–1 shown as a percentage."""
LOW_95 = st.column_config.NumberColumn("95% low", format="percent")
"""Lower end of a 95% Wilson interval."""
HIGH_95 = st.column_config.NumberColumn("95% high", format="percent")
"""Upper end of a 95% Wilson interval."""


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make a spreadsheet read a text cell as a formula."""


def defuse(value: object) -> object:
    """``value`` with a leading apostrophe when it is text starting with a formula prefix."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The CSV the download button serves for ``df``: UTF-8, header row, no index, CRLF rows.

    Text cells and headers starting with a formula prefix (:data:`FORMULA_PREFIXES`) get a
    leading apostrophe; numbers, dates and booleans are written as they are.
    """
    safe = df.rename(columns=lambda c: defuse(str(c)) if isinstance(c, str) else c)
    for i in range(safe.shape[1]):
        col = safe.iloc[:, i]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            if safe is df:
                safe = df.copy()
            safe.isetitem(i, col.map(defuse, na_action="ignore"))
    # CRLF rows (RFC 4180) also make the writer quote a cell holding a bare carriage return.
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def _with_count_format(df: pd.DataFrame, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` plus a thousands separator for every whole-number column it leaves
    plain (no entry, or only a label): counts read ``4,219`` in grids as in metrics."""
    out = dict(config)
    for column in (c for c in df.columns if isinstance(c, str)):
        entry = out.get(column)
        if (entry is None or isinstance(entry, str)) and pd.api.types.is_integer_dtype(
            df[column].dtype
        ):
            out[column] = st.column_config.NumberColumn(entry, format="localized")
    return out


def show_table(df: pd.DataFrame, key: str, filename: str, **column_config: Any) -> None:
    """Draw ``df`` as a grid with a "Download CSV" button below it.

    Parameters
    ----------
    df : DataFrame
        The table exactly as it should be shown and downloaded (the index is dropped).
    key : str
        Unique, page-prefixed key (e.g. ``"fu_breakdown"``). Grid and button sit in a
        container with this key (the browser sees the CSS class ``st-key-{key}``); the
        button's key is ``f"{key}_csv"``.
    filename : str
        Name of the downloaded file, e.g. ``"funnel_by_source.csv"``.
    **column_config
        Column name -> ``st.column_config`` entry or a label string, passed to
        ``st.dataframe`` (display only: the CSV keeps raw values and column names). For
        names that are not Python identifiers, pass ``**{"a name": ...}``.
    """
    rows = min(max(len(df), 1), MAX_VISIBLE_ROWS)
    with st.container(key=key):
        st.dataframe(
            df,
            hide_index=True,
            width="stretch",
            height=(rows + 1) * ROW_PX + 3,
            column_config=_with_count_format(df, column_config) or None,
        )
        st.download_button(
            "Download CSV",
            data=csv_bytes(df),
            file_name=filename,
            mime="text/csv",
            key=f"{key}_csv",
            icon=":material/download:",
            on_click="ignore",
        )
