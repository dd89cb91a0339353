"""Labels and number formats of the monthly review, shared by its page and its report."""

from __future__ import annotations

from collections.abc import Sequence
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
NOT_MEASURABLE = display.NOT_MEASURABLE
VERDICT_TEXT = {
    "up": "▲ up, beyond noise",
    "down": "▼ down, beyond noise",
    "within noise": "within noise",
    "unchanged": "unchanged",
    "not comparable yet": "too early to compare",
    "no data": "no data",
    NOT_MEASURABLE: NOT_MEASURABLE,
}


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


def health_text(checks: Sequence[Any]) -> tuple[str, str]:
    """The "Health problems" tile of the page and the report: its value and its note.

    Only the checks this history can assess count: "1 of 3" is one fired of the three
    assessed, and a month where none can be assessed reads "not measurable", never
    "0 of 4" (nothing fired only because nothing could be checked).
    """
    assessed = [c for c in checks if c.assessed]
    if not assessed:
        return NOT_MEASURABLE, (
            f"None of the {len(checks)} health checks can be assessed on this history: "
            "each one below says what it lacks."
        )
    fired = sum(bool(c.fired) for c in assessed)
    note = "Health checks that fired this month, of those this history can assess."
    skipped = [c.name for c in checks if not c.assessed]
    if skipped:
        note += " Not assessed (see below): " + "; ".join(skipped) + "."
    return f"{fired} of {len(assessed)}", note


def month_caveat(review: Any) -> tuple[str, str] | None:
    """What a reader must know about the month before its numbers, for the page and the report.

    ``review`` is a review or its head (``availability``, ``label``, ``complete``,
    ``elapsed``, ``as_of``). Returns ``("undated", text)`` when the history has no dates
    (an export without them puts every lead and stage entry on one day, so the month holds
    the whole history; saying the month "covers 0%" would be wrong), ``("running", text)``
    while the month is still in progress, and None for a complete month of a dated history.
    The text is markdown.
    """
    if not review.availability.dates.measurable:
        return "undated", (
            f"**This history has no dates**: every lead and stage entry sits on "
            f"{review.as_of:%d %b %Y}, so {review.label} holds all of it. The numbers below "
            "count the whole history and none is compared with an earlier month. Map a "
            "created date or stage dates when importing to review months."
        )
    if not review.complete:
        return "running", (
            f"**{review.label} is still in progress (immature)**: the data covers "
            f"{review.elapsed:.0%} of it (up to {review.as_of:%Y-%m-%d %H:%M} UTC). Volume "
            "targets are pro-rated in the checks, and the comparison below is made at the "
            "same age."
        )
    return None


def goal_actual_text(goal: Any) -> str:
    """A goals-table row's actual (``80.0% (77 of 96)`` for shares; not measurable says so)."""
    if not goal.measurable:
        return NOT_MEASURABLE
    text = fmt_value(goal.actual, goal.unit)
    return text + (f" ({fmt_k_of_n(goal.k, goal.n)})" if goal.unit == "share" else "")


def change_cells(change: Any) -> dict[str, str]:
    """One row of "What changed since last month" in words, as the page and report show it.

    ``change`` is a row of :func:`analysis.lifecycle.review.changes.what_changed`. Keys:
    ``previous`` and ``this_month`` (``80.0% (77 of 96)``), ``change`` (points),
    ``p_value`` and ``verdict``. A rate the history cannot support (its verdict is
    ``not measurable``, e.g. a win rate from an export that records no lost deals) reads
    "not measurable" in every cell: its counts would show a share of the wrong leads.
    """
    if change.verdict == NOT_MEASURABLE:
        return dict.fromkeys(["previous", "this_month", "verdict"], NOT_MEASURABLE) | {
            "change": "–",
            "p_value": "–",
        }
    return {
        "previous": f"{fmt_share(change.prev_rate)} ({fmt_k_of_n(change.prev_k, change.prev_n)})",
        "this_month": f"{fmt_share(change.rate)} ({fmt_k_of_n(change.k, change.n)})",
        "change": fmt_points(change.change),
        "p_value": fmt_p(change.p_value),
        "verdict": VERDICT_TEXT.get(change.verdict, change.verdict),
    }


def not_measurable_notes(changes: Any) -> list[str]:
    """``Label: reason`` for each row of ``changes`` that is not measurable, in order."""
    return [
        f"{c.label}: {c.reason}"
        for c in changes.itertuples(index=False)
        if c.verdict == NOT_MEASURABLE
    ]


NONE_COMPARABLE = (
    "No rate can be compared with the month before on this history: each one's reason is "
    "given above."
)
"""What "What changed" says when every rate is not measurable (rather than "no rate moved")."""


def none_comparable(changes: Any) -> bool:
    """True when ``changes`` has rows and every one is not measurable."""
    return len(changes) > 0 and bool((changes["verdict"] == NOT_MEASURABLE).all())


def fmt_k_of_n(k: Any, n: Any) -> str:
    """``77 of 96``."""
    if _missing(k) or _missing(n):
        return "–"
    return f"{int(k):,} of {int(n):,}"
