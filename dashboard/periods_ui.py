"""The period's definition control, its maturity banner and the comparison cards.

Shared by Funnel, Monthly review and Home so a period number reads the same everywhere: one
named definition (:data:`analysis.lifecycle.metrics.BASES`), the period's maturity said in
words, and each headline card compared with the previous period and the same period last
year at the same age (:mod:`analysis.lifecycle.periods`), with the verdict in words and an
arrow (never colour alone).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analysis.lifecycle import metrics
from analysis.lifecycle.measurable import NOT_MEASURABLE
from analysis.lifecycle.periods import Period
from dashboard import display, urlstate
from dashboard.charts.common import STAGE_PLURAL

VERDICT_WORDS = {
    "up": "▲ up, beyond noise",
    "down": "▼ down, beyond noise",
    "within noise": "within noise",
    "no data": "nothing to compare",
    NOT_MEASURABLE: NOT_MEASURABLE,
}
"""A comparison's verdict in words (the arrow is there for readers who cannot see colour)."""


def basis_control(key: str, container: Any = None) -> str:
    """The "count leads that …" choice (URL ``?basis=``); returns ``entered`` or ``created``."""
    urlstate.restore(key, "basis", options=metrics.BASES)
    where = container or st
    basis = where.segmented_control(
        "Count leads that",
        list(metrics.BASES),
        default=None if key in st.session_state else "entered",
        format_func={"entered": "entered the stage", "created": "were created"}.get,
        key=key,
        required=True,
        help="Entered the stage: each stage counts the leads that entered it in the period "
        "(the month's MQLs), and a step rate follows those leads. Created: one cohort of "
        "leads created in the period, followed down the funnel.",
    )
    urlstate.mirror(key, "basis")
    return basis or "entered"


def definition_caption(basis: str) -> str:
    """The sentence naming the definition of every count and rate on the cards and tables."""
    return (
        f"**Definition: {metrics.BASIS_NAMES[basis].lower()}.** Each stage count is the leads "
        + (
            "that entered that stage in the period; "
            if basis == "entered"
            else "created in the period that reached that stage; "
        )
        + "each step rate is the "
        + metrics.basis_sentence(basis, "a stage", "the next stage")
        + "."
    )


def maturity_text(period: Period) -> tuple[str, bool]:
    """A sentence on how much of the period the data covers, and whether it is immature."""
    as_of = f"{period.as_of:%d %b %Y %H:%M} UTC"
    if not period.complete:
        return (
            f"**{period.label} is still running (immature)**: the data covers "
            f"{period.observed_days:.1f} of its {period.days} days (up to {as_of}). Its counts "
            "are still growing and its leads have had little time to convert, so it is compared "
            "with the previous period and last year *at the same age* (as they stood the same "
            "time after their start).",
            True,
        )
    return (
        f"**{period.label}** is complete (data up to {as_of}). Conversions are still maturing "
        "for its latest leads, so comparisons are made at the same age: the earlier periods "
        "as they stood the same time after their start.",
        False,
    )


def count_delta(row: pd.Series, previous: str) -> tuple[str | None, str]:
    """The delta text and colour of a count card (its verdict goes in the caption)."""
    if row["verdict"] == NOT_MEASURABLE or pd.isna(row["change"]):
        # no change to show (none in the previous period): no delta, whose arrow would
        # read as a rise; the caption says what the previous period held
        return None, "off"
    text = f"{row['change']:+.1%} vs {previous}"
    return text, "normal" if row["verdict"] in ("up", "down") else "off"


def short_label(period: Period) -> str:
    """``Oct 2026`` for a month, else the period's label."""
    return f"{period.start:%b %Y}" if period.months == 1 else period.label


def against(row: pd.Series, previous: str, prefix: str = "") -> str:
    """A count's comparison in words: ``within noise (p 0.345) · 1,019 in Oct 2026``, or
    ``not measurable vs Oct 2026`` when the history does not cover that period (no count
    shown: it would be a zero that means "not recorded"). ``prefix`` picks the comparison
    (``""`` the previous period, ``"year_"`` last year)."""
    verdict = count_verdict(row, previous, prefix)
    if row[f"{prefix}verdict"] == NOT_MEASURABLE:
        return verdict
    value = row[f"{'year_' if prefix else 'prev_'}value"]
    return f"{verdict} · {display.fmt_count(value)} in {previous}"


def count_verdict(row: pd.Series, previous: str, prefix: str = "") -> str:
    """A count's verdict against an earlier period: ``within noise (p 0.345)``, or
    ``not measurable vs Oct 2026`` when the history does not cover that period."""
    verdict = row[f"{prefix}verdict"]
    if verdict == NOT_MEASURABLE:
        return f"{NOT_MEASURABLE} vs {previous}"
    return f"{VERDICT_WORDS[verdict]} (p {display.fmt_p(row[f'{prefix}p_value'])})"


def coverage_notes(compare: pd.DataFrame, previous: str, last_year: str) -> list[str]:
    """One sentence per reason a comparison is not measurable, naming the periods it hits:
    ``Not measurable: the comparisons with Oct 2026 and Nov 2025: the history starts …``."""
    periods_of: dict[str, list[str]] = {}
    for name, column in ((previous, "prev_reason"), (last_year, "year_reason")):
        for reason in compare[column].dropna().unique():
            periods_of.setdefault(str(reason).rstrip("."), []).append(name)
    return [
        f"Not measurable: the comparison{'s' if len(names) > 1 else ''} with "
        f"{' and '.join(names)}: {reason}."
        for reason, names in periods_of.items()
    ]


def comparison_cards(
    compare: pd.DataFrame, period: Period, basis: str, stages: list[str] | None = None
) -> None:
    """A card per stage: its count, the change against the previous period at the same age,
    and under it the step rate to the next stage with its change and the one against last year.
    A comparison with a period the history does not cover reads "not measurable", and why
    is said once under the cards.

    ``compare`` is :func:`analysis.lifecycle.periods.compare_funnel`.
    """
    previous, last_year = short_label(period.previous()), short_label(period.last_year())
    counts = compare[compare["measure"] == "count"].set_index("stage")
    rates = compare[compare["measure"] == "rate"].set_index("stage")
    stages = stages or list(counts.index)
    cols = st.columns(len(stages))
    for col, stage in zip(cols, stages, strict=True):
        row = counts.loc[stage]
        delta, color = count_delta(row, previous)
        col.metric(
            STAGE_PLURAL[stage],
            display.fmt_count(row["value"]),
            delta=delta,
            delta_color=color,
            help=f"{metrics.BASIS_NAMES[basis]}. Against {previous} and {last_year} at the "
            f"same age: {against(row, previous)}; {against(row, last_year, 'year_')}.",
        )
        col.caption(against(row, previous))
        if stage in rates.index:
            r = rates.loc[stage]
            col.caption(rate_line(r, stage, previous, last_year))
    for note in coverage_notes(compare, previous, last_year):
        st.caption(note)


def _rate_against(r: pd.Series, previous: str, prefix: str) -> str:
    """``+2.9 pts vs Oct 2026: within noise (p 0.345)``; ``vs Oct 2026: not measurable``."""
    verdict = r[f"{prefix}verdict"]
    if verdict == NOT_MEASURABLE:
        return f"vs {previous}: {NOT_MEASURABLE}"
    text = f"{display.fmt_points(r[f'{prefix}change'])} vs {previous}: {VERDICT_WORDS[verdict]}"
    return text + ("" if prefix else f" (p {display.fmt_p(r['p_value'])})")


def rate_line(r: pd.Series, stage: str, previous: str, last_year: str) -> str:
    """``→ SQL 49.1% (250 of 509) · +2.9 pts vs Oct 2026, within noise (p 0.345) · …``."""
    nxt = {"lead": "mql", "mql": "sql", "sql": "opportunity", "opportunity": "customer"}[stage]
    if not r["n"]:
        return f"→ {display.label(nxt)}: none to convert"
    return (
        f"**→ {display.label(nxt)} {display.fmt_share(r['value'])}** "
        f"({display.fmt_count(r['k'])} of {display.fmt_count(r['n'])})  \n"
        f"{_rate_against(r, previous, '')}  \n{_rate_against(r, last_year, 'year_')}"
    )


def formatted_steps(frame: pd.DataFrame, counts: tuple[str, ...] = ("k", "n")) -> pd.DataFrame:
    """A copy of a funnel table with counts as ``1,019`` and shares as ``49.1%`` (text).

    The last stage has no next step: its cells read ``–`` instead of an empty ``None``.
    """
    out = frame.copy()
    for col in counts:
        if col in out.columns:
            out[col] = out[col].map(display.fmt_count)
    for col in ("rate", "low", "high"):
        if col in out.columns:
            out[col] = out[col].map(display.fmt_share)
    return out
