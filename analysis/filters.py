"""Global filters and breakdown dimensions, as parameterised SQL over the lead relation.

Query intuition
---------------
Every metric starts from leads: a lead belongs to a source, a campaign, a place, a
company-size band and, through its owner (``leads.owner_rep_id`` joined to ``reps``), to a
team and a rep. So a filter is a ``WHERE`` fragment over ``leads l LEFT JOIN reps r ON
r.rep_id = l.owner_rep_id``, and a breakdown is a ``GROUP BY`` over one of the
expressions in :data:`DIMENSIONS`. Missing values become the visible label
:data:`NOT_SET` (``(not set)``), which can never equal a real value such as the literal
``unknown``, so filtering and grouping never silently drop or merge leads.

Dates are different: each metric counts something that happened at a particular moment,
and the date range applies to *that* moment. Funnel cohorts filter on the entry time of
the cohort's stage, period volumes on each stage entry, SLA figures on the handoff time,
dispositions on the decision time. Each function says which; :meth:`Filters.date_sql`
builds the fragment for whatever time expression the caller passes. ``start`` and ``end``
are inclusive calendar dates in UTC: a row counts when ``start 00:00 <= t < end + 1 day``.

All values are bound as named parameters (``$f_sources``, ``$f_start``, ...); only the
fixed expressions of this module become SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pandas as pd
import pyarrow.compute as pc

from analysis.definitions import data_as_of
from analysis.scoring.bands import SCORE_BANDS  # noqa: F401  (the bands of score_band)

NOT_SET = "(not set)"
"""The label of a missing dimension value (never merged with a real value)."""

SIZE_BANDS: tuple[str, ...] = ("1-49", "50-199", "200-999", "1000+", NOT_SET)
"""Company-size bands by number of employees, in display order (0 or missing: not set)."""

DIMENSIONS: dict[str, str] = {
    "source": f"coalesce(nullif(l.source, ''), '{NOT_SET}')",
    "campaign": f"coalesce(nullif(l.campaign, ''), '{NOT_SET}')",
    "region": f"coalesce(nullif(l.region, ''), '{NOT_SET}')",
    "country": f"coalesce(nullif(l.country, ''), '{NOT_SET}')",
    "industry": f"coalesce(nullif(l.industry, ''), '{NOT_SET}')",
    "size_band": (
        f"CASE WHEN l.employees IS NULL OR l.employees < 1 THEN '{NOT_SET}' "
        "WHEN l.employees < 50 THEN '1-49' WHEN l.employees < 200 THEN '50-199' "
        "WHEN l.employees < 1000 THEN '200-999' ELSE '1000+' END"
    ),
    "team": f"coalesce(nullif(r.team, ''), '{NOT_SET}')",
    "rep": f"coalesce(nullif(r.name, ''), l.owner_rep_id, '{NOT_SET}')",
    "score_band": "coalesce(sb.score_band, 'not handed off')",
}
"""Breakdown name -> SQL expression over ``leads l``, ``reps r`` (the owner) and, for
``score_band`` only, ``sb`` (:func:`rule_score_sql`, joined by :func:`lead_from_sql`).

``rep`` is the owner's name (its id when the name is missing), ``size_band`` follows
:data:`SIZE_BANDS`, ``score_band`` follows :data:`SCORE_BANDS` (the saved current rule's
score at handoff, :mod:`analysis.scoring.bands`)."""

FIELD_DIMENSION: dict[str, str] = {
    "sources": "source",
    "campaigns": "campaign",
    "regions": "region",
    "countries": "country",
    "industries": "industry",
    "size_bands": "size_band",
    "teams": "team",
    "reps": "rep",
}
"""Filters field -> the dimension it filters on."""

TIME_GRAINS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")
"""Periods a time axis can be truncated to (weeks start on Monday)."""


@dataclass(frozen=True)
class Filters:
    """The sidebar's global filters: a date range plus allowed values per dimension.

    Hashable, so Streamlit can cache on it. An empty tuple means "no restriction"; a
    non-empty one keeps only leads whose dimension value (as in :data:`DIMENSIONS`) is
    one of its values. ``start`` and ``end`` are inclusive UTC dates applied to the event
    time each metric documents; None leaves that side open.
    """

    start: date | None = None
    end: date | None = None
    sources: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    size_bands: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    reps: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in FIELD_DIMENSION:
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(
                    f"Filters.{name} must be a tuple of strings, got the string {value!r}"
                )
            object.__setattr__(self, name, tuple(str(v) for v in value))
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, datetime):
                object.__setattr__(self, name, value.date())
            elif isinstance(value, str):
                object.__setattr__(self, name, date.fromisoformat(value))
            elif value is not None and not isinstance(value, date):
                raise TypeError(f"Filters.{name} must be a date or None, got {value!r}")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"Filters.start must not be after end, got {self.start} > {self.end}")

    def with_dates(self, start: date | None, end: date | None) -> Filters:
        """The same dimension filters over another date range."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(start=start, end=end)
        return Filters(**values)

    def lead_sql(self) -> tuple[str, dict[str, Any]]:
        """WHERE fragment over ``leads l`` / ``reps r`` for the dimension filters.

        Returns
        -------
        (sql, params)
            ``sql`` is ``TRUE`` or a conjunction such as
            ``list_contains($f_sources, coalesce(...))``; ``params`` binds the values.
        """
        parts, params = ["TRUE"], {}
        for name, dim in FIELD_DIMENSION.items():
            values = getattr(self, name)
            if values:
                parts.append(f"list_contains($f_{name}, {DIMENSIONS[dim]})")
                params[f"f_{name}"] = list(values)
        return " AND ".join(parts), params

    def date_sql(self, time_expr: str) -> tuple[str, dict[str, Any]]:
        """WHERE fragment keeping rows whose ``time_expr`` lies in the date range.

        ``time_expr`` is a naive UTC TIMESTAMP expression chosen by the caller (never user
        input). The range is ``start 00:00 <= t < (end + 1 day) 00:00``.
        """
        parts, params = ["TRUE"], {}
        if self.start is not None:
            parts.append(f"{time_expr} >= $f_start")
            params["f_start"] = datetime.combine(self.start, datetime.min.time())
        if self.end is not None:
            parts.append(f"{time_expr} < $f_end")
            params["f_end"] = datetime.combine(self.end + timedelta(days=1), datetime.min.time())
        return " AND ".join(parts), params

    def sql(self, time_expr: str | None = None) -> tuple[str, dict[str, Any]]:
        """Dimension filters plus, when ``time_expr`` is given, the date range on it."""
        where, params = self.lead_sql()
        if time_expr is not None:
            date_where, date_params = self.date_sql(time_expr)
            where = f"{where} AND {date_where}"
            params = {**params, **date_params}
        return where, params


def dimension_sql(name: str) -> str:
    """SQL expression of the breakdown ``name``; raises ValueError for an unknown name."""
    try:
        return DIMENSIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown breakdown {name!r}; expected one of {', '.join(DIMENSIONS)}"
        ) from None


def rule_score_sql(
    points: dict[str, float] | None = None,
    only: str | None = None,
    touchpoints: str = "touchpoints",
    leads: str = "leads",
) -> str:
    """SQL (a SELECT) of ``lead_id``, ``score``, ``score_band`` of every handed-off lead.

    The score is the saved current rule's (the starter points until one is saved) at the
    lead's handoff, built from the scoring lab's one feature definition: see
    :func:`analysis.scoring.bands.score_band_sql` for the parameters.
    """
    from analysis.scoring.bands import score_band_sql

    return score_band_sql(points, only, touchpoints, leads)


def lead_from_sql(with_score: bool = False) -> str:
    """FROM clause of the lead relation the dimension expressions refer to."""
    sql = "leads l LEFT JOIN reps r ON r.rep_id = l.owner_rep_id"
    if with_score:
        sql += f" LEFT JOIN ({rule_score_sql()}) sb ON sb.lead_id = l.lead_id"
    return sql


_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def query_df(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict[str, Any],
    sort_by: Sequence[str] = (),
) -> pd.DataFrame:
    """Run ``sql`` with the named ``params`` it references (others are left out).

    The result goes through Arrow, which is markedly faster than ``.df()`` for wide
    string columns (pandas 3 keeps them Arrow-backed). DuckDB refuses ``con.sql`` while
    the caller still holds an unfinished ``execute`` result on the same connection; then
    the query runs through ``execute`` (which abandons that result) and ``.df()``.

    ``sort_by`` names columns to order the rows by (ascending, NULLs last, ties in the
    next column), for a long, wide result: DuckDB's ``ORDER BY`` moves every column of
    every row through its sort, while Arrow sorts the keys alone and then takes the rows
    (about 20 ms instead of 50 for 200k rows of 16 columns).
    """
    used = set(_PARAM.findall(sql))
    bound = {k: v for k, v in params.items() if k in used}
    try:
        table = con.sql(sql, params=bound or None).to_arrow_table()
    except duckdb.ResourceInUseException:
        df = con.execute(sql, bound).df()
        if not sort_by:
            return df
        return df.sort_values(list(sort_by), kind="stable", ignore_index=True)
    if sort_by:
        table = table.take(pc.sort_indices(table, sort_keys=[(c, "ascending") for c in sort_by]))
    return table.to_pandas()


def filter_options(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Distinct values per filter, for the sidebar widgets.

    Returns
    -------
    dict
        One key per :class:`Filters` field (``sources``, ``campaigns``, ...) mapping to the
        sorted list of values present (``size_bands`` in :data:`SIZE_BANDS` order), plus
        ``first_date`` (date of the earliest lead) and ``last_date`` (date of
        :func:`data_as_of`), None when the database is empty. Inside
        :func:`analysis.lifecycle.journey.reading` on a fresh file, the options recorded
        when the file was written (the same values, no scan of ``leads``).
    """
    from analysis.lifecycle import journey  # it builds on this module

    if journey.active():
        return journey.stamped_options(con)
    aggs = ", ".join(
        f"list(DISTINCT {DIMENSIONS[dim]}) AS {name}" for name, dim in FIELD_DIMENSION.items()
    )
    (row,) = con.execute(f"SELECT {aggs} FROM {lead_from_sql()}").fetchall()
    out: dict[str, Any] = {}
    for name, values in zip(FIELD_DIMENSION, row, strict=True):
        values = [v for v in (values or []) if v is not None]
        if name == "size_bands":
            out[name] = [b for b in SIZE_BANDS if b in values]
        else:
            out[name] = sorted(values)
    ((first,),) = con.execute("SELECT min(created_at) FROM leads").fetchall()
    last = data_as_of(con)
    out["first_date"] = first.date() if first is not None else None
    out["last_date"] = last.date() if last is not None else None
    return out


def as_datetime(value: date | datetime | str | pd.Timestamp | None) -> datetime | None:
    """``value`` as a naive UTC datetime (a date means its midnight); None stays None.

    Time-zone-aware values are converted to UTC first. Raises ValueError for text that is
    not an ISO date or time.
    """
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"expected a date or timestamp, got {value!r}") from exc
    if ts is pd.NaT:
        return None
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()
