"""The lead-level relation every lifecycle number starts from: first entry per stage.

Query intuition
---------------
``entries`` (:func:`entries_cte`) has one row per lead: ``leads`` (with its owner in
``reps``, for filters and breakdowns) joined to its ``stage_changes`` and grouped by lead,
with, per stage S, ``S_at`` (first entry under the skip rule:
:func:`analysis.definitions.reached_at_sql`) and ``S_reached`` (reached at all,
dated or not: :func:`analysis.definitions.reached_sql`). The funnel, deals and
metrics modules build on it; the small argument checks shared by them live here too.
Inside :func:`analysis.lifecycle.journey.reading` on a fresh file, the per-lead
aggregates come from the derived ``journey_entries`` table instead (same rows, same
numbers, no GROUP BY over ``stage_changes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from analysis import filters as flt
from analysis.definitions import HANDOFF_STAGE, reached_at_sql, reached_sql
from analysis.lifecycle import journey
from analysis.store import STAGES

STAGE_AT: dict[str, str] = {s: f"{s}_at" for s in STAGES}
"""Funnel stage -> its entry-time column in the ``entries`` relation."""


def check_grain(grain: str) -> str:
    """Return ``grain`` when it is one of :data:`analysis.filters.TIME_GRAINS`."""
    if grain not in flt.TIME_GRAINS:
        raise ValueError(f"grain must be one of {', '.join(flt.TIME_GRAINS)}, got {grain!r}")
    return grain


def check_stage(stage: str) -> str:
    """Return ``stage`` when it is a funnel stage (``lead`` ... ``customer``)."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    return stage


def check_step(from_stage: str, to_stage: str) -> None:
    """Raise ValueError unless ``to_stage`` comes after ``from_stage`` in the funnel."""
    check_stage(from_stage)
    check_stage(to_stage)
    if STAGES.index(to_stage) <= STAGES.index(from_stage):
        raise ValueError(
            f"to_stage must come after from_stage in {' -> '.join(STAGES)}, "
            f"got {from_stage!r} -> {to_stage!r}"
        )


def by_names(by: str | Sequence[str] | None, allowed: Sequence[str] | None = None) -> list[str]:
    """Normalise a breakdown argument (None, a name or names) into a checked list."""
    if by is None:
        return []
    names = [by] if isinstance(by, str) else list(by)
    allowed = list(allowed) if allowed is not None else list(flt.DIMENSIONS)
    for name in names:
        if name not in allowed:
            raise ValueError(f"unknown breakdown {name!r}; expected one of {', '.join(allowed)}")
    return names


def entries_cte(filters: flt.Filters, by: Sequence[str] = ()) -> tuple[str, dict[str, Any]]:
    """CTE text ``entries AS (...)`` and its parameters.

    ``entries`` has one row per lead passing the dimension filters (dates are not applied
    here; each caller filters the entry time it counts): ``lead_id``, one column per
    breakdown in ``by`` (named as the breakdown), ``lead_at``, ``mql_at``, ``sql_at``,
    ``opportunity_at``, ``customer_at`` (first entry, naive UTC, NULL when never reached;
    skipped stages take the next reached stage's entry) and ``mql_reentries`` (number of
    ``mql`` changes after the first), and ``deal_candidate``: FALSE only for a lead known
    to have no deal outcome (neither a ``customer`` entry nor an ``opportunities`` row;
    known from the journey tables, else TRUE for every lead), so the deals relation can
    skip it before its join.
    """
    where, params = filters.lead_sql()
    if journey.active():
        return _journey_entries_cte(where, by), params
    dims = "".join(f'any_value({flt.dimension_sql(b)}) AS "{b}", ' for b in by)
    reach = ",\n            ".join(
        f"{reached_at_sql(st)} AS {st}_at, {reached_sql(st)} AS {st}_reached" for st in STAGES[1:]
    )
    sql = f"""
    entries AS (
        SELECT l.lead_id, {dims}
            least(any_value(l.created_at), min(sc.changed_at)) AS lead_at,
            TRUE AS lead_reached,
            {reach},
            greatest(count(*) FILTER (WHERE sc.stage = '{HANDOFF_STAGE}') - 1, 0)
                AS mql_reentries,
            TRUE AS deal_candidate
        FROM {flt.lead_from_sql(with_score="score_band" in by)}
        LEFT JOIN stage_changes sc ON sc.lead_id = l.lead_id
        WHERE {where}
        GROUP BY l.lead_id
    )"""
    return sql, params


def _journey_entries_cte(where: str, by: Sequence[str]) -> str:
    """``entries`` read from the derived ``journey_entries`` (same columns, same rows).

    One row per lead already, carrying the lead columns the filters read: no GROUP BY
    and no join with ``leads``, only the owner's ``reps`` row. It also carries the lead's
    opportunity facts (:data:`analysis.lifecycle.journey.OPPORTUNITY_COLUMNS`) for the
    deals relation.
    """
    dims = "".join(f'{flt.dimension_sql(b)} AS "{b}", ' for b in by)
    reach = ", ".join(f"l.{st}_at, l.{st}_reached" for st in STAGES[1:])
    opps = ", ".join(f"l.{c}" for c in journey.OPPORTUNITY_COLUMNS)
    return f"""
    entries AS (
        SELECT l.lead_id, {dims}
            l.lead_at, TRUE AS lead_reached, {reach}, l.mql_reentries,
            l.deal_candidate, {opps}
        FROM {journey.lead_from_sql(journey.ENTRIES, with_score="score_band" in by)}
        WHERE {where}
    )"""


def resolve_as_of(con: duckdb.DuckDBPyConnection, as_of: Any) -> datetime | None:
    """``as_of`` as a naive UTC datetime, or the latest recorded fact when it is None."""
    return flt.as_datetime(as_of) if as_of is not None else flt.data_as_of(con)


def quoted(names: Sequence[str]) -> str:
    """Breakdown columns as the start of a SELECT list: ``"a", "b", `` (empty for none)."""
    return "".join(f'"{n}", ' for n in names)


def empty_frame(columns: Sequence[str]) -> pd.DataFrame:
    """An empty frame with float64 ``columns`` (the shape of "nothing matched")."""
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
