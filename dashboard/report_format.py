"""Labels and number formats of the monthly review, shared by its page and its report."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

STEP_LABELS = {
    "lead_to_mql": "Lead → MQL",
    "mql_to_sql": "MQL → SQL",
    "sql_to_opportunity": "SQL → opportunity",
    "opportunity_to_customer": "Opportunity → won",
}
STAGE_LABELS = {
    "lead": "Leads",
    "mql": "MQLs",
    "sql": "SQLs",
    "opportunity": "Opportunities",
    "customer": "Customers (won)",
}
VERDICT_TEXT = {
    "up": "▲ up, beyond noise",
    "down": "▼ down, beyond noise",
    "within noise": "within noise",
    "unchanged": "unchanged",
    "not comparable yet": "too early to compare",
    "no data": "no data",
}
NOT_MEASURABLE = "not measurable"
"""What a number the history cannot support shows instead of 0 (page and report alike)."""


# --------------------------------------------------------------------------------------
# Number formats (shared with the page)
# --------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def fmt_count(value: Any) -> str:
    """A count as ``1,234`` (``–`` when missing; fractions rounded)."""
    if _missing(value):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return f"{value:,.0f}"


def fmt_money(value: Any) -> str:
    """An amount as ``852,800`` (the currency of ``opportunities.amount``)."""
    return fmt_count(value)


def fmt_share(value: Any, digits: int = 1) -> str:
    """A share 0-1 as ``80.2%``."""
    if _missing(value):
        return "–"
    return f"{value:.{digits}%}"


def fmt_points(change: Any) -> str:
    """A change between two shares in percentage points: ``+11.1 pts``."""
    if _missing(change):
        return "–"
    return f"{change * 100:+.1f} pts"


def fmt_p(p: Any) -> str:
    """A p-value: ``0.017``, ``<0.001``."""
    if _missing(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_minutes(minutes: Any) -> str:
    """Minutes as ``42 min``, ``3.5 h`` or ``2.1 d``."""
    if _missing(minutes):
        return "–"
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 1440:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


def fmt_value(value: Any, unit: str) -> str:
    """``value`` in its unit: ``count``, ``money``, ``share``, ``ratio``, ``p`` or ``text``."""
    if unit == "share":
        return fmt_share(value)
    if unit in ("count", "money"):
        return fmt_count(value)
    if unit == "ratio":
        return "–" if _missing(value) else f"{value:,.1f}"
    if unit == "p":
        return fmt_p(value)
    return "–" if _missing(value) else str(value)


def goal_actual_text(goal: Any) -> str:
    """A goals-table row's actual (``80.0% (77 of 96)`` for shares; not measurable says so)."""
    if not goal.measurable:
        return NOT_MEASURABLE
    text = fmt_value(goal.actual, goal.unit)
    return text + (f" ({fmt_k_of_n(goal.k, goal.n)})" if goal.unit == "share" else "")


def fmt_k_of_n(k: Any, n: Any) -> str:
    """``77 of 96``."""
    if _missing(k) or _missing(n):
        return "–"
    return f"{int(k):,} of {int(n):,}"
