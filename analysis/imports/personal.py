"""Personal data on pages: names, e-mail addresses and phone numbers masked by default.

The company's settings (:class:`analysis.store.settings.CompanySettings`,
``show_personal_data``) decide whether pages show them; this module only masks.
"""

from __future__ import annotations

import pandas as pd

PERSONAL_COLUMNS = ("name", "email", "phone")
"""Columns masked on pages unless the settings allow personal data."""


def mask_personal(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with personal columns masked: the first character kept, the rest hidden.

    An e-mail keeps its domain (``a•••@example.com``): free-mail vs corporate and company
    duplicates stay visible without the address. A ``raw`` column (a refused row as CSV
    text) has the e-mail addresses in it masked the same way. Missing values stay missing.

    Parameters
    ----------
    df : DataFrame
        Any table; columns named in :data:`PERSONAL_COLUMNS` are masked.
    """
    out = df.copy()
    if "raw" in out.columns:  # a refused row as CSV text: mask the e-mail addresses in it
        raw = out["raw"].astype("string")
        hidden = raw.str.replace(r"([^\s,;\"'<>@])[^\s,;\"'<>@]*@", r"\1•••@", regex=True)
        out["raw"] = hidden.astype(object).where(raw.notna().to_numpy(), None)
    for col in PERSONAL_COLUMNS:
        if col not in out.columns:
            continue
        text = out[col].astype("string")
        if col == "email":
            masked = text.str.replace(r"^(.)[^@]*", r"\1•••", regex=True)
        else:
            masked = text.str.slice(0, 1) + "•••"
        out[col] = masked.astype(object).where(text.notna().to_numpy(), None)
    return out
