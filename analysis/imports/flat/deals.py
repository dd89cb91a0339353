"""Rows of the history tables from one deals file: opportunities and the entries they imply.

One ``opportunities`` row per deal row, an ``opportunity`` stage entry at the deal's
create date and a ``customer`` entry at its close date when won; see "From each deal
row" in ``docs/importing.md``. Facts dated before their lead's creation are kept at the
creation time and marked (:func:`~analysis.imports.flat.rows.clamp_to_created`); deals
without any date are kept as open pipeline on the fallback day, marked undated. With
``creates_leads`` a deal whose lead is nowhere else creates its lead row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from analysis.imports import ingest
from analysis.imports.flat.dates import DATE_EXAMPLE
from analysis.imports.flat.leads import kept_columns, property_part
from analysis.imports.flat.rows import Reader, clamp_to_created, flag_values, make_part
from analysis.imports.flat.values import _iso, _number_text, clean_ids, parse_number
from analysis.imports.flat.vocab import value_key
from analysis.imports.ingest import UnusableInput
from analysis.store import TABLES

_PLACEHOLDER_TIME = pd.Timestamp("2000-01-01")  # stands in for a refused date


@dataclass
class _Deals:
    """The state shared by the steps of one deals file."""

    r: Reader
    lead_id: pd.Series  # positional
    pos: pd.RangeIndex
    sources: dict[str, str]
    faults: list[pd.DataFrame]

    @property
    def cols(self) -> dict[str, str]:
        assert self.r.mapping.deals is not None
        return self.r.mapping.deals.columns

    @property
    def index(self) -> pd.Index:
        return self.r.src.data.index

    def text(self, fld: str) -> pd.Series | None:
        """Cells of deal field ``fld``, positional; None when not mapped or not in the file."""
        col = self.cols.get(fld)
        if col is None or not self.r.has(col):
            return None
        return self.r.text(col).reset_index(drop=True)

    def dates(self, fld: str) -> tuple[pd.Series, pd.Series]:
        """(dates, unreadable) of deal field ``fld``; a fault per unreadable cell."""
        col = self.cols.get(fld)
        if col is None or not self.r.has(col):
            nat = pd.Series(pd.NaT, index=self.pos, dtype="datetime64[us]")
            return nat, pd.Series(False, index=self.pos)
        parsed = self.r.dates(col)
        v, b = parsed.values.reset_index(drop=True), parsed.bad.reset_index(drop=True)
        t = self.r.text(col).reset_index(drop=True)
        order = TABLES["opportunities"].column_names.index(fld)
        says = ingest._value_says(fld, t, f"is not a date ({DATE_EXAMPLE})")
        self.faults.append(ingest._fault(b, order, fld, "not a date", says))
        return v, b


def _check_columns(r: Reader) -> None:
    """Refuse a deals file without its lead id or any date column; note absent columns."""
    assert r.mapping.deals is not None
    cols, file = r.mapping.deals.columns, r.src.file
    if not r.has(cols["lead_id"]):
        raise UnusableInput(f"{file}: no lead id column {cols['lead_id']!r} for the deals")
    if not any(f in cols and r.has(cols[f]) for f in ("created_at", "closed_at")):
        raise UnusableInput(
            f"{file}: a deals file needs a created or close date column; the mapping names "
            f"{', '.join(cols.get(f, '-') for f in ('created_at', 'closed_at'))}"
        )
    absent = [c for c in cols.values() if not r.has(c)]
    if absent:
        r.notes.append(f"{file}: mapped deal column(s) not in the file: {', '.join(absent)}")


def _read_outcome(d: _Deals, closed: pd.Series) -> pd.Series:
    """'won', 'lost' or 'open' per deal: a constant, the won/closed flags, or a column."""
    deals = d.r.mapping.deals
    assert deals is not None
    if deals.every_row_outcome:
        d.r.notes.append(f"{d.r.src.file}: every deal is {deals.every_row_outcome} (the mapping)")
        return pd.Series(deals.every_row_outcome, index=d.pos, dtype=object)
    won_t, closed_t, outcome_t = d.text("won"), d.text("closed"), d.text("outcome")
    if won_t is not None:
        won, bad = flag_values(won_t)
        says = ingest._value_says("won", won_t, "is not a yes/no value")
        d.faults.append(ingest._fault(bad, 5, "outcome", "not yes/no", says))
        d.sources.setdefault("outcome", d.r.name(d.cols["won"]))
        is_closed = won.copy()
        if closed_t is not None:
            c, bad_c = flag_values(closed_t)
            says = ingest._value_says("closed", closed_t, "is not a yes/no value")
            d.faults.append(ingest._fault(bad_c, 5, "outcome", "not yes/no", says))
            is_closed |= c
        return pd.Series(np.where(won, "won", np.where(is_closed, "lost", "open")), index=d.pos)
    if outcome_t is not None:
        lookup = {value_key(k): v for k, v in deals.outcome_values.items()}

        def read(k: str) -> str:
            if k in lookup:
                return lookup[k]
            if k in ("won", "closedwon") or k.endswith("closedwon"):
                return "won"
            if k in ("lost", "closedlost") or k.endswith("closedlost"):
                return "lost"
            return "open"

        return outcome_t.map(value_key).map(read).astype(object)
    if closed.notna().any():
        d.r.notes.append(f"{d.r.src.file}: no outcome column: every deal is read as open")
    return pd.Series("open", index=d.pos, dtype=object)


def _deal_ids(d: _Deals) -> pd.Series:
    """The deal id column, or "<lead id>/<n>" (the lead's n-th deal in the file)."""
    if d.text("opportunity_id") is not None:
        return clean_ids(d.text("opportunity_id"))
    nth = d.lead_id.groupby(d.lead_id).cumcount() + 1
    d.r.notes.append(f"{d.r.src.file}: no deal id column: deals are called <lead id>/<n>")
    return (d.lead_id + "/" + nth.astype(str)).where(d.lead_id != "", "")


@dataclass
class _Times:
    """A deal's dates after the order rules: what is stored and how entries are marked."""

    created: pd.Series
    closed: pd.Series
    created_bad: pd.Series
    closed_bad: pd.Series
    undated: pd.Series  # no date at all: kept on the fallback day
    opp_system: pd.Series  # source_system of the opportunity entry
    won_system: pd.Series  # source_system of the customer entry


def _times(d: _Deals, floor: pd.Series, fallback: pd.Timestamp) -> _Times:
    """Create and close dates with the stand-ins and the "not before the lead" rule.

    Without a create date (column or cell) the close date stands in; a deal with no date
    at all sits on ``fallback`` (its date unknown). A date before the lead's creation
    (``floor``) moves up to it and its stage entry is marked out of order; a close date
    keeps its order.
    """
    system = d.r.mapping.source_system
    created, created_bad = d.dates("created_at")
    closed, closed_bad = d.dates("closed_at")
    if d.text("created_at") is None:
        created = closed
        d.sources["created_at"] = d.sources.get("closed_at", "created_at")
        d.r.notes.append(
            f"{d.r.src.file}: no deal create date column: a deal's close date stands in"
        )
    else:  # a row without a create date: its close date stands in
        created = created.where(created.notna() | created_bad, closed)
    undated = created.isna() & ~created_bad & ~closed_bad
    created = created.where(~undated, np.maximum(fallback, floor.fillna(fallback)))
    if undated.any():
        d.r.notes.append(
            f"{d.r.src.file}: {int(undated.sum()):,} deals without any date kept as pipeline "
            f"with created_at {fallback:%Y-%m-%d} (date unknown, marked undated)"
        )
    in_order = ~(closed < created).fillna(False).astype(bool)
    new_created, opp_system = clamp_to_created(created, floor.where(~undated), system)
    opp_system = opp_system.where(~undated, f"{system} (undated)")
    moved_close = in_order & (closed < new_created).fillna(False).astype(bool)
    new_closed, won_system = clamp_to_created(closed, new_created.where(moved_close), system)
    return _Times(new_created, new_closed, created_bad, closed_bad, undated, opp_system, won_system)


def _lead_rows(d: _Deals, times: _Times, known: pd.Index) -> list[ingest.Part]:
    """Lead rows for deals whose lead is nowhere else (``creates_leads``)."""
    new = (d.lead_id != "") & ~d.lead_id.isin(known) & ~times.created_bad
    if not new.any():
        return []
    first = new & ~d.lead_id.where(new).duplicated(keep="first")
    earliest = times.created.where(new).groupby(d.lead_id).transform("min")
    owner = d.text("owner_rep_id")
    native = {"lead_id": d.lead_id, "created_at": _iso(earliest)}
    if owner is not None:
        native["owner_rep_id"] = owner
    rows = first.to_numpy()
    idx = d.index[rows]
    native = {k: v[rows].set_axis(idx) for k, v in native.items()}
    sources = {"lead_id": d.r.name(d.cols["lead_id"])}
    d.r.notes.append(
        f"{d.r.src.file}: {int(rows.sum()):,} leads created from their deals (an "
        "opportunity-only history: the funnel starts at the opportunity stage; no lead, MQL "
        "or SQL entries are written)"
    )
    raw = d.r.raw(*d.cols.values()).loc[idx]
    return [make_part("leads", d.r.src.file, native, raw, sources=sources)]


def _implied_entries(
    d: _Deals, times: _Times, outcome: pd.Series, lead_entries: pd.DataFrame
) -> list[ingest.Part]:
    """Stage entries the deals imply, minus those the leads files already give."""
    cols, r = d.cols, d.r
    ok = (~times.created_bad & ~times.closed_bad & times.created.notna()).to_numpy()
    won = (outcome == "won").to_numpy()
    has_close = times.closed.notna().to_numpy()
    system = r.mapping.source_system
    undated_won = pd.Series(f"{system} (undated)", index=d.pos)
    implied = [
        ("opportunity", ok, times.created, times.opp_system, "created_at"),
        ("customer", ok & won & has_close, times.closed, times.won_system, "closed_at"),
        ("customer", ok & won & ~has_close, times.created, undated_won, "created_at"),
    ]
    seen = set(
        zip(
            lead_entries["lead_id"].astype(str),
            lead_entries["stage"].astype(str),
            pd.to_datetime(lead_entries["at"]).astype("datetime64[us]"),
            strict=True,
        )
    )
    date_col = next(cols[f] for f in ("created_at", "closed_at") if f in cols and r.has(cols[f]))
    parts = []
    for stage, rows, when, systems, fld in implied:
        when = when.astype("datetime64[us]")
        keys = list(zip(d.lead_id.astype(str), [stage] * len(d.lead_id), when, strict=True))
        keep = np.zeros(len(rows), dtype=bool)
        for i in np.flatnonzero(rows):
            if keys[i] not in seen:
                seen.add(keys[i])
                keep[i] = True
        if not keep.any():
            continue
        idx = d.index[keep]
        col = cols.get(fld) if fld in cols and r.has(cols[fld]) else date_col
        parts.append(
            make_part(
                "stage_changes",
                r.src.file,
                {
                    "lead_id": d.lead_id.set_axis(d.index)[idx],
                    "stage": pd.Series(stage, index=idx),
                    "changed_at": _iso(when.set_axis(d.index)[idx]),
                    "source_system": systems.set_axis(d.index)[idx],
                },
                r.raw(cols["lead_id"], col).loc[idx],
                follows="opportunities",
                sources={"changed_at": r.name(col)},
            )
        )
    return parts


def _property_parts(d: _Deals) -> list[ingest.Part]:
    """Deal columns kept as lead properties (``[deals] properties``), last deal per lead."""
    deals = d.r.mapping.deals
    assert deals is not None
    if not deals.properties:
        return []
    r = d.r
    last = d.index[((d.lead_id != "") & ~d.lead_id.duplicated(keep="last")).to_numpy()]
    ids = d.lead_id.set_axis(d.index)
    parts, kept = [], []
    for col in kept_columns(r, r.mapping.deal_columns(), deals.properties):
        if not (r.text(col).loc[last] != "").any():
            continue
        kept.append(col)
        parts.append(property_part(r, ids, d.cols["lead_id"], col, "opportunities", last))
    if kept:
        r.notes.append(f"{r.src.file}: {len(kept)} deal column(s) kept as lead properties")
    return parts


def deal_owners(r: Reader) -> pd.Series | None:
    """lead_id -> the owner rep of its last deal with one (``[deals] owner_rep_id``)."""
    deals = r.mapping.deals
    col = deals.columns.get("owner_rep_id") if deals else None
    if deals is None or col is None or not r.has(col) or not r.has(deals.columns["lead_id"]):
        return None
    ids = clean_ids(r.text(deals.columns["lead_id"]))
    owner = clean_ids(r.text(col))
    have = (ids != "") & (owner != "")
    return pd.Series(owner[have].to_numpy(), index=ids[have].to_numpy()).groupby(level=0).last()


def deals_parts(
    r: Reader, lead_entries: pd.DataFrame, lead_created: pd.Series, today: date
) -> list[ingest.Part]:
    """Parts for one deals file (see the module docstring).

    Parameters
    ----------
    r : Reader
        The file under its mapping.
    lead_entries : DataFrame
        Stage entries of the batch's leads files (``lead_id``, ``stage``, ``at``).
    lead_created : Series
        lead_id -> ``created_at`` of the leads known (the batch's leads files and the
        database): a deal fact dated before it moves up to it.
    today : date
        The import day (the date of deals without any date, when the mapping names no
        ``created_at_fallback``).
    """
    m = r.mapping
    assert m.deals is not None
    _check_columns(r)
    pos = pd.RangeIndex(len(r.src.data))
    cols = m.deals.columns
    sources = {
        f: r.name(c)
        for f, c in cols.items()
        if r.has(c) and f in TABLES["opportunities"].column_names
    }
    d = _Deals(r, clean_ids(r.text(cols["lead_id"])).reset_index(drop=True), pos, sources, [])
    found = pd.to_datetime(lead_created).reindex(d.lead_id.to_numpy())
    floor = pd.Series(found.to_numpy(), index=pos).astype("datetime64[us]")
    fallback = pd.Timestamp(m.created_at_fallback or today)
    times = _times(d, floor, fallback)
    outcome = _read_outcome(d, times.closed)
    closed_at = times.closed.where(outcome.isin(["won", "lost"]))
    amount_t = d.text("amount")
    amount = None
    if amount_t is not None:
        num = parse_number(amount_t)
        amount = amount_t.where(num.isna(), num.map(_number_text))
    native = {
        "opportunity_id": _deal_ids(d),
        "lead_id": d.lead_id,
        "created_at": _iso(times.created.where(~times.created_bad, _PLACEHOLDER_TIME)),
        "amount": amount,
        "closed_at": _iso(closed_at.where(~times.closed_bad, pd.NaT)),
        "outcome": outcome,
        "lost_reason": d.text("lost_reason"),
    }
    native = {k: v.set_axis(d.index) for k, v in native.items() if v is not None}
    parts = _lead_rows(d, times, lead_created.index) if m.deals.creates_leads else []
    raw = r.raw_allowed(m.deal_columns(), m.deals.properties)
    parts.append(make_part("opportunities", r.src.file, native, raw, d.faults, sources=sources))
    parts += _implied_entries(d, times, outcome, lead_entries)
    parts += _property_parts(d)
    return parts
