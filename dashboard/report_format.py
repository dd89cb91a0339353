"""Labels and number formats of the monthly review, shared by its page and its report."""

from __future__ import annotations

from typing import Any

from dashboard import display

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
# Number formats: the display layer's, so the page, the report and every other page agree
# --------------------------------------------------------------------------------------

fmt_count = display.fmt_count
fmt_share = display.fmt_share
fmt_points = display.fmt_points
fmt_p = display.fmt_p
fmt_minutes = display.fmt_duration
fmt_money = display.fmt_money
_missing = display.is_missing


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
