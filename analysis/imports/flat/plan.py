"""What a mapping means for the funnel, and the warnings a dry run gives before writing.

:func:`describe` puts a mapping's outcome-related choices into words (the Data page's
mapping preview and the import notes). :func:`outcome_warnings` looks at the rows a batch
would write and warns when no lead is handed off, when nothing reaches an outcome, or when
only the leads with the outcome count as handed off: each of those leaves the scoring
lab nothing to learn from, and is better found at the dry run than on the scoring page.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.imports import ingest
from analysis.imports.flat.mapping import Mapping
from analysis.store import STAGES

WARNING = "warning: "
"""Prefix of the notes that are warnings (see :func:`warnings_of`)."""

HANDED_OFF = tuple(STAGES[1:])
"""Stages that mean a lead was handed to sales (MQL or any later one, by the skip rule)."""

OUTCOMES = tuple(STAGES[2:])
"""Stages after the handoff that a scoring outcome can be (SQL, opportunity, customer)."""


def describe(mapping: Mapping) -> list[str]:
    """One line per outcome-related choice of the mapping, in words.

    Returns
    -------
    list of str
        E.g. "every row of the leads file is a lead that reached mql (handed to sales)",
        "'Converted' yes/1 means the lead reached customer", "every row of the deals file
        is a won deal".
    """
    lines: list[str] = []
    if mapping.every_lead_reached:
        lines.append(
            f"every row of the leads file is a lead that reached {mapping.every_lead_reached}"
            + (" (handed to sales)" if mapping.every_lead_reached == "mql" else "")
        )
    for col, stage in mapping.flags.items():
        lines.append(f"{col!r} yes/1 means the lead reached {stage}; no/0 or empty says nothing")
    deals = mapping.deals
    if deals is not None:
        if deals.every_row_outcome:
            lines.append(f"every row of the deals file is a {deals.every_row_outcome} deal")
        if deals.creates_leads:
            lines.append(
                "deals create their leads: the funnel starts at the opportunity stage "
                "(no lead, MQL or SQL entries are written)"
            )
        if "owner_rep_id" in deals.columns:
            lines.append(f"{deals.columns['owner_rep_id']!r} of the deal is the lead's owner")
    if mapping.reps:
        lines.append(f"a reps file gives {', '.join(mapping.reps)} per rep")
    return lines


def _clean_rows(part: ingest.Part) -> pd.DataFrame:
    """The part's rows without a value fault."""
    return part.values.loc[~part.values.index.isin(part.faults["pos"].unique())]


def outcome_warnings(parts: Sequence[ingest.Part]) -> list[str]:
    """Warnings about handoff and outcomes in the rows a batch would write.

    Parameters
    ----------
    parts : sequence of Part
        The batch's parts before the cross-table checks.

    Returns
    -------
    list of str
        Each starting with :data:`WARNING`; empty when some leads are handed off, some
        reach an outcome and some handed-off leads do not.
    """
    leads: set[str] = set()
    reached: dict[str, set[str]] = {s: set() for s in STAGES}
    for part in parts:
        rows = _clean_rows(part)
        if part.table.name == "leads":
            leads |= set(rows["lead_id"].dropna().astype(str))
        elif part.table.name == "stage_changes":
            for stage, ids in rows.groupby("stage")["lead_id"]:
                if stage in reached:
                    reached[str(stage)] |= set(ids.astype(str))
        elif part.table.name == "opportunities":
            reached["opportunity"] |= set(rows["lead_id"].dropna().astype(str))
    if not leads:
        return []
    handed = set().union(*(reached[s] for s in HANDED_OFF))
    outcome = set().union(*(reached[s] for s in OUTCOMES))
    fix = 'set every_lead_reached = "mql" when every row was handed to sales'
    if not handed:
        return [
            f"{WARNING}no lead is handed off: nothing reaches MQL or a later stage under this "
            f"mapping (map a stage date, stage values or a flag, or {fix}); response times, "
            "rejections and the scoring lab's outcomes need handed-off leads"
        ]
    if not outcome:
        return [
            f"{WARNING}no outcome: no lead reaches SQL, opportunity or customer under this "
            "mapping (map a converted flag, a stage column or a deals file); the scoring lab "
            "has nothing to predict"
        ]
    if handed == outcome and len(leads) > len(handed):
        return [
            f"{WARNING}every handed-off lead ({len(handed):,}) also reached an outcome: only "
            "leads with the outcome count as handed off, so the scoring lab cannot tell "
            f"handed-off leads that convert from those that do not ({fix})"
        ]
    return []


def warnings_of(notes: Sequence[str]) -> list[str]:
    """The warnings among an import's notes, without their prefix."""
    return [n.split(WARNING, 1)[1] for n in notes if WARNING in n]
