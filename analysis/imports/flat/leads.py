"""Rows of the history tables from one leads file: leads, stage entries, properties.

One lead row per input row (``[fields]``), one stage entry per dated stage column,
undated entries from flags, stage values and ``every_lead_reached``, and one property
row per kept column; see "From each lead row" in ``docs/importing.md``. Each step below
is one of those; :func:`leads_parts` runs them in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from analysis.imports import ingest
from analysis.imports.flat.dates import DATE_EXAMPLE, DateColumn
from analysis.imports.flat.rows import (
    Reader,
    clamp_to_created,
    flag_values,
    make_part,
    standardise,
)
from analysis.imports.flat.values import (
    _iso,
    _number_text,
    clean_ids,
    parse_employees,
    parse_number,
)
from analysis.imports.flat.vocab import (
    ALL_STAGES,
    FREE_EMAIL_DOMAINS,
    LEAD_FIELDS,
    STAGE_WORDS,
    STAGES,
    norm_name,
    value_key,
)
from analysis.imports.quality import region_of, standard_region

ENTRY_COLUMNS = ["lead_id", "stage", "at"]
_PLACEHOLDER_TIME = pd.Timestamp("2000-01-01")  # stands in for a refused date


@dataclass
class LeadsOut:
    """What a leads file gives: its parts, its stage entries and its leads' creation."""

    parts: list[ingest.Part]
    entries: pd.DataFrame
    created: pd.Series  # lead_id -> created_at (first row of each id, readable dates only)


@dataclass
class _Leads:
    """The state shared by the steps of one leads file."""

    r: Reader
    lead_id: pd.Series  # positional
    pos: pd.RangeIndex
    native: dict[str, pd.Series] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    faults: list[pd.DataFrame] = field(default_factory=list)
    missing_cols: list[str] = field(default_factory=list)
    parts: list[ingest.Part] = field(default_factory=list)
    entries: list[pd.DataFrame] = field(default_factory=list)

    @property
    def index(self) -> pd.Index:
        """Spreadsheet row numbers of the file's rows."""
        return self.r.src.data.index

    @property
    def ids(self) -> pd.Series:
        """Lead ids indexed by row number."""
        return self.lead_id.set_axis(self.index)

    def col_text(self, fld: str) -> pd.Series | None:
        """The text of lead field ``fld`` (several columns joined by a space), positional."""
        spec = self.r.mapping.fields.get(fld)
        if spec is None:
            return None
        cols = (spec,) if isinstance(spec, str) else spec
        have = [c for c in cols if self.r.has(c)]
        self.missing_cols.extend(c for c in cols if not self.r.has(c))
        if not have:
            return None
        self.sources[fld] = " + ".join(self.r.name(c) for c in have)
        out = self.r.text(have[0])
        for c in have[1:]:
            out = (out + " " + self.r.text(c)).str.strip()
        return out.reset_index(drop=True)

    def add_entries(self, idx: pd.Index, stage: str, when: pd.Series) -> None:
        """Remember stage entries (for de-duplicating the ones deals imply)."""
        self.entries.append(
            pd.DataFrame({"lead_id": self.ids[idx], "stage": stage, "at": when.to_numpy()})
        )


def _stage_date_columns(s: _Leads) -> dict[str, DateColumn]:
    """Parsed ``[stage_dates]`` columns, positional."""
    out: dict[str, DateColumn] = {}
    for stage, col in s.r.mapping.stage_dates.items():
        if not s.r.has(col):
            s.missing_cols.append(col)
            continue
        parsed = s.r.dates(col)
        out[stage] = DateColumn(
            parsed.values.reset_index(drop=True),
            parsed.bad.reset_index(drop=True),
            parsed.detected,
        )
    return out


def _created_at(
    s: _Leads, stage_dates: dict[str, DateColumn], today: date
) -> tuple[pd.Series, pd.Series]:
    """``created_at`` per row and where it is unreadable; missing dates fall back.

    A lead without a create date takes its earliest stage date, then the mapping's
    ``created_at_fallback``, then the import day; the notes say how many.
    """
    m, r, file = s.r.mapping, s.r, s.r.src.file
    created = pd.Series(pd.NaT, index=s.pos, dtype="datetime64[us]")
    created_bad = pd.Series(False, index=s.pos)
    created_given = pd.Series(False, index=s.pos)
    if "created_at" in m.fields and r.has(str(m.fields["created_at"])):
        col = str(m.fields["created_at"])
        parsed = r.dates(col)
        created = parsed.values.reset_index(drop=True)
        created_bad = parsed.bad.reset_index(drop=True)
        created_given = created.notna() | created_bad
        s.sources["created_at"] = r.name(col)
        text = r.text(col).reset_index(drop=True)
        says = ingest._value_says("created_at", text, f"is not a date ({DATE_EXAMPLE})")
        s.faults.append(ingest._fault(created_bad, 1, "created_at", "not a date", says))
    elif "created_at" in m.fields:
        s.missing_cols.append(str(m.fields["created_at"]))
    earliest = pd.DataFrame({k: d.values for k, d in stage_dates.items()}, index=s.pos).min(axis=1)
    need = ~created_given
    from_stage = need & earliest.notna()
    created = created.where(~from_stage, earliest)
    fallback_day = pd.Timestamp(m.created_at_fallback or today)
    from_day = need & ~from_stage
    created = created.where(~from_day, fallback_day).astype("datetime64[us]")
    if from_stage.any():
        r.notes.append(
            f"{file}: {int(from_stage.sum()):,} leads without a create date take their earliest "
            "stage date as created_at"
        )
    if from_day.any():
        why = "the mapping's created_at_fallback" if m.created_at_fallback else "the import day"
        r.notes.append(
            f"{file}: {int(from_day.sum()):,} leads without any date get created_at "
            f"{fallback_day:%Y-%m-%d} ({why})"
        )
    return created, created_bad


def _lead_fields(s: _Leads, owners: pd.Series | None) -> None:
    """The lead row's other fields, standardised; region and e-mail kind derived."""
    m = s.r.mapping
    for fld in LEAD_FIELDS:
        if fld in ("lead_id", "created_at"):
            continue
        text = s.col_text(fld)
        if fld == "owner_rep_id" and owners is not None:
            from_deals = s.lead_id.map(owners).fillna("").astype(str)
            text = from_deals if text is None else text.where(text != "", from_deals)
            s.sources.setdefault(fld, "deals owner")
        if text is None:
            continue
        if fld == "employees":
            num = parse_employees(text)
            text = text.where(num.isna(), num.map(lambda v: f"{v:.0f}" if v == v else ""))
        elif fld == "region":
            text = pd.Series(standard_region(text.where(text != "")).fillna(""), dtype=object)
        s.native[fld] = standardise(text, m.values.get(fld))
    if "region" not in m.fields and "country" in s.native:
        country = s.native["country"]
        s.native["region"] = region_of(country.where(country != "")).fillna("")
    if "email_domain_kind" not in m.fields and "email" in s.native:
        domain = s.native["email"].str.lower().str.extract(r"@([^@\s]+)$", expand=False)
        kind = np.where(
            domain.isna(), "unknown", np.where(domain.isin(FREE_EMAIL_DOMAINS), "free", "corporate")
        )
        s.native["email_domain_kind"] = pd.Series(kind, index=s.pos)


def _dated_entries(s: _Leads, stage_dates: dict[str, DateColumn], created: pd.Series) -> None:
    """One stage entry per dated stage column; one dated before creation is kept there."""
    m, r = s.r.mapping, s.r
    id_col = str(m.fields["lead_id"])
    for stage, parsed in stage_dates.items():
        col = m.stage_dates[stage]
        rows = (parsed.values.notna() | parsed.bad).to_numpy()
        if not rows.any():
            continue
        idx = s.index[rows]
        text = r.text(col).reset_index(drop=True)[rows].reset_index(drop=True)
        bad = parsed.bad[rows].reset_index(drop=True)
        says = ingest._value_says("changed_at", text, f"is not a date ({DATE_EXAMPLE})")
        when = parsed.values[rows].reset_index(drop=True)
        floor = created[rows].reset_index(drop=True)
        when, systems = clamp_to_created(when, floor, m.source_system)
        s.parts.append(
            make_part(
                "stage_changes",
                r.src.file,
                {
                    "lead_id": s.ids[idx],
                    "stage": pd.Series(stage, index=idx),
                    "changed_at": _iso(when.where(~bad, _PLACEHOLDER_TIME)).set_axis(idx),
                    "source_system": systems.set_axis(idx),
                },
                r.raw(id_col, col).loc[idx],
                [ingest._fault(bad, 2, "changed_at", "not a date", says)],
                follows="leads",
                sources={"changed_at": r.name(col), "stage": r.name(col)},
            )
        )
        s.add_entries(idx, stage, when)


def _undated_sources(s: _Leads) -> list[tuple[str, str, pd.Series, pd.Series | None]]:
    """(column, stage, reached, faulty) from flags, stage values and every_lead_reached."""
    m, r, file = s.r.mapping, s.r, s.r.src.file
    out: list[tuple[str, str, pd.Series, pd.Series | None]] = []
    if m.every_lead_reached:
        id_col = str(m.fields["lead_id"])
        out.append((id_col, m.every_lead_reached, pd.Series(True, index=s.pos), None))
    for col, stage in m.flags.items():
        if not r.has(col):
            s.missing_cols.append(col)
            continue
        yes, bad = flag_values(r.text(col).reset_index(drop=True))
        out.append((col, stage, yes, bad))
    for col, table in m.stage_values.items():
        if not r.has(col):
            s.missing_cols.append(col)
            continue
        text = r.text(col).reset_index(drop=True)
        known = {value_key(k): v for k, v in table.items()}
        stage_of = text.map(value_key).map(lambda k, known=known: known.get(k, STAGE_WORDS.get(k)))
        unknown = (text != "") & stage_of.isna()
        if unknown.any():
            counts = text[unknown].value_counts()
            shown = ", ".join(f"{v!r} ({c})" for v, c in counts.head(5).items())
            r.notes.append(
                f"{file}: {r.name(col)!r} values with no stage (not listed in the mapping): "
                f"{shown}{' …' if len(counts) > 5 else ''}"
            )
        out += [(col, st, stage_of == st, None) for st in ALL_STAGES if (stage_of == st).any()]
    return out


def _covered(s: _Leads, stage_dates: dict[str, DateColumn]) -> dict[str, pd.Series]:
    """Per stage, rows with a readable dated entry of that stage or a later funnel stage."""
    order = {st: i for i, st in enumerate(STAGES)}
    dated_ok = {st: d.values.notna() for st, d in stage_dates.items()}
    covered: dict[str, pd.Series] = {}
    for stage in ALL_STAGES:
        mask = pd.Series(False, index=s.pos)
        later = STAGES[order[stage] :] if stage in STAGES else (stage,)
        for st in later:
            if st in dated_ok:
                mask |= dated_ok[st]
        covered[stage] = mask
    return covered


def _undated_entries(s: _Leads, stage_dates: dict[str, DateColumn], created: pd.Series) -> None:
    """Undated entries at the latest date the row shows before them, marked undated."""
    m, r = s.r.mapping, s.r
    id_col = str(m.fields["lead_id"])
    order = {st: i for i, st in enumerate(STAGES)}
    covered = _covered(s, stage_dates)
    done = {st: pd.Series(False, index=s.pos) for st in ALL_STAGES}
    known_dates = pd.DataFrame({st: d.values for st, d in stage_dates.items()}, index=s.pos)
    for col, stage, yes, bad in _undated_sources(s):
        # An undated "lead" entry would only repeat created_at.
        want = yes & ~covered[stage] & ~done[stage] & (stage != "lead")
        done[stage] |= want
        rows = (want | (bad if bad is not None else False)).to_numpy()
        if not rows.any():
            continue
        earlier = (
            [st for st in STAGES[: order[stage]] if st in known_dates]
            if stage in STAGES
            else list(known_dates.columns)
        )
        bound = pd.concat([created, *(known_dates[st] for st in earlier)], axis=1).max(axis=1)
        idx = s.index[rows]
        bound = bound[rows].reset_index(drop=True).astype("datetime64[us]")
        flt = []
        if bad is not None:
            b = bad[rows].reset_index(drop=True)
            text = r.text(col).reset_index(drop=True)[rows].reset_index(drop=True)
            says = ingest._value_says(
                "flag", text, "is not a yes/no value (yes/no, true/false, y/n, 1/0)"
            )
            flt.append(ingest._fault(b, 1, "stage", "not yes/no", says))
        s.parts.append(
            make_part(
                "stage_changes",
                r.src.file,
                {
                    "lead_id": s.ids[idx],
                    "stage": pd.Series(stage, index=idx),
                    "changed_at": _iso(bound).set_axis(idx),
                    "source_system": pd.Series(f"{m.source_system} (undated)", index=idx),
                },
                r.raw(id_col, col).loc[idx],
                flt,
                follows="leads",
                sources={"stage": r.name(col), "changed_at": r.name(col)},
            )
        )
        s.add_entries(idx, stage, bound)


def property_part(
    r: Reader, ids: pd.Series, id_col: str, col: str, follows: str, rows: pd.Index | None = None
) -> ingest.Part:
    """``lead_properties`` rows of one kept column: the text, and the number it reads as."""
    text = r.text(col) if rows is None else r.text(col).loc[rows]
    number = parse_number(text)
    # Plain numbers pass as written; decorated ones ($1,200) as the number read.
    plain = text.str.fullmatch(r"[+-]?\d+(?:\.\d+)?").fillna(False).astype(bool)
    number_text = text.where(plain, "")
    decorated = ~plain & number.notna()
    if decorated.any():
        number_text = number_text.where(~decorated, number[decorated].map(_number_text))
    raw = r.raw(id_col, col)
    return make_part(
        "lead_properties",
        r.src.file,
        {
            "lead_id": ids.loc[text.index],
            "name": pd.Series(r.name(col), index=text.index),
            "value": text,
            "value_number": number_text,
        },
        raw.loc[text.index],
        follows=follows,
        sources={"value": r.name(col), "value_number": r.name(col)},
    )


def kept_columns(r: Reader, used: set[str], keep: str | tuple[str, ...]) -> list[str]:
    """The columns kept as properties: every unmapped, not excluded one, or those listed."""
    excluded = {norm_name(c) for c in r.mapping.exclude}
    if keep == "rest":
        return [c for c in r.src.data.columns if norm_name(c) not in used | excluded]
    absent = [c for c in keep if not r.has(c)]
    if absent:
        r.notes.append(f"{r.src.file}: property column(s) not in the file: {', '.join(absent)}")
    return [r.name(c) for c in keep if r.has(c) and norm_name(c) not in excluded]


def _properties(s: _Leads) -> None:
    """One property row per kept column with a value somewhere; a missing value is NULL."""
    r, m = s.r, s.r.mapping
    empty, kept = [], []
    for col in kept_columns(r, m.lead_columns(), m.keep):
        if not (r.text(col) != "").any():
            empty.append(col)
            continue
        kept.append(col)
        s.parts.append(property_part(r, s.ids, str(m.fields["lead_id"]), col, "leads"))
    if kept:
        r.notes.append(f"{r.src.file}: {len(kept)} column(s) kept as lead properties")
    if empty:
        r.notes.append(f"{r.src.file}: empty in every row, not kept: {', '.join(empty)}")


def leads_parts(r: Reader, today: date, owners: pd.Series | None = None) -> LeadsOut:
    """Parts for one leads file (see the module docstring).

    Parameters
    ----------
    r : Reader
        The file under its mapping.
    today : date
        The import day (``created_at`` of leads without any date and no fallback).
    owners : Series, optional
        lead_id -> owner rep id from a deals file of the batch, used where the leads
        file gives no owner.
    """
    m = r.mapping
    id_col = m.fields["lead_id"]
    assert isinstance(id_col, str)
    pos = pd.RangeIndex(len(r.src.data))
    s = _Leads(r, clean_ids(r.text(id_col)).reset_index(drop=True), pos)
    s.native["lead_id"] = s.lead_id
    s.sources["lead_id"] = r.name(id_col)
    stage_dates = _stage_date_columns(s)
    created, created_bad = _created_at(s, stage_dates, today)
    s.native["created_at"] = _iso(created.where(~created_bad, _PLACEHOLDER_TIME))
    _lead_fields(s, owners)
    raw = r.raw_allowed(m.lead_columns(), m.keep)
    native = {k: v.set_axis(s.index) for k, v in s.native.items()}
    s.parts.append(make_part("leads", r.src.file, native, raw, s.faults, sources=s.sources))
    _dated_entries(s, stage_dates, created)
    _undated_entries(s, stage_dates, created)
    _properties(s)
    if s.missing_cols:
        r.notes.append(
            f"{r.src.file}: mapped column(s) not in the file: "
            f"{', '.join(dict.fromkeys(s.missing_cols))}"
        )
    entries = (
        pd.concat(s.entries, ignore_index=True)
        if s.entries
        else pd.DataFrame(columns=ENTRY_COLUMNS)
    )
    ok = ~created_bad & (s.lead_id != "")
    first = pd.Series(created[ok].to_numpy(), index=s.lead_id[ok].to_numpy())
    return LeadsOut(s.parts, entries, first[~first.index.duplicated(keep="first")])
