"""Human labels for the Scoring lab: feature names and rep names instead of stored codes.

A small local display layer for this page only; the shared one (``dashboard/display.py``)
can replace it when it exists. No ``_`` code reaches the screen through these.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

FEATURE_LABELS: dict[str, str] = {
    "senior_title": "Senior job title",
    "employees_200plus": "200+ employees",
    "employees_1000plus": "1,000+ employees",
    "corporate_email": "Corporate email",
    "target_region": "Target region",
    "target_industry": "Target industry",
    "pricing_page": "Pricing page",
    "demo_request": "Demo request",
    "careers_only": "Careers page only",
    "blog_over_hour": "Blog reading ≥ 1 hour",
    "case_study": "Case study",
    "product_page": "Product page",
    "tofu_download": "Top-of-funnel download",
    "mofu_download": "Mid-funnel download",
    "bofu_download": "Bottom-of-funnel download",
    "webinar": "Webinar",
    "email_click": "Email click",
    "email_open": "Email open",
    "form_submit": "Form submitted",
    "chat": "Chat",
}
"""Short labels of the built-in features (:data:`analysis.scoring.features.FEATURES`)."""


def words(code: object) -> str:
    """A stored code in words: ``paid_search`` -> ``paid search``; None -> ``(not set)``."""
    if code is None or (isinstance(code, float) and pd.isna(code)):
        return "(not set)"
    return str(code).replace("_", " ").strip()


def feature_label(name: str) -> str:
    """``pricing_page`` -> ``Pricing page``; ``source=paid_search`` -> ``Source: paid search``."""
    if name in FEATURE_LABELS:
        return FEATURE_LABELS[name]
    prop, sep, value = name.partition("=")
    if sep:
        return f"{words(prop).capitalize()}: {words(value)}"
    text = words(name)
    return text[:1].upper() + text[1:]


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
