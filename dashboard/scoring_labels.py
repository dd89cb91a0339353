"""Human labels for the Scoring lab: feature names and rep names instead of stored codes.

Feature names go through the shared display layer (:mod:`dashboard.display`, whose
``LABELS`` hold the built-in features); what is left here is the lab's own: codes in
lower-case words inside a sentence ("source is paid search"), one-hot columns, rep names.
No ``_`` code reaches the screen through these.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from dashboard import display


def words(code: object) -> str:
    """A stored code in words: ``paid_search`` -> ``paid search``; None -> ``(not set)``."""
    if code is None or (isinstance(code, float) and pd.isna(code)):
        return "(not set)"
    return str(code).replace("_", " ").strip()


def feature_label(name: str) -> str:
    """``pricing_page`` -> ``Pricing page``; ``source=paid_search`` -> ``Source: paid search``.

    A built-in feature's words come from the shared display layer (:func:`dashboard.display.
    label`, whose ``LABELS`` hold them); a one-hot column names its property and value.
    """
    prop, sep, value = name.partition("=")
    if sep:
        return f"{words(prop).capitalize()}: {words(value)}"
    return display.label(name)


def rep_names(reps: pd.DataFrame) -> dict[str, str]:
    """rep_id -> the rep's name (the id when the reps table has no name for it)."""
    if reps.empty or "name" not in reps.columns:
        return {}
    return {
        str(r): (str(n) if isinstance(n, str) and n.strip() else str(r))
        for r, n in zip(reps["rep_id"], reps["name"], strict=True)
    }


def with_rep_names(table: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """``table`` with a ``rep`` column (the rep's name) in front of ``rep_id``."""
    out = table.copy()
    out.insert(0, "rep", [names.get(str(r), str(r)) for r in out["rep_id"]])
    return out
