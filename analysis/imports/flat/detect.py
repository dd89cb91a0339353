"""Guessing a mapping from a flat export's header, and telling leads from deals files.

:func:`detect_mapping` picks a shipped preset when the header carries most of its columns,
else matches column names against known synonyms; :func:`classify` says whether a file
is a leads, deals or reps file under a mapping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from analysis.imports.flat.mapping import DealMapping, Mapping, lookup, preset
from analysis.imports.flat.values import missing_mask
from analysis.imports.flat.vocab import PRESETS, STAGE_WORDS, norm_name, value_key

_NAME_HINTS = ("deal", "opportunit", "opp")

PRESET_SHARE = 0.4
""":func:`detect_mapping` picks a preset when the header has at least this share of the
columns the preset maps (for the file's kind)."""

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "lead_id": ("lead id", "record id", "contact id", "leadid", "lead_id", "id", "contact_id"),
    "created_at": (
        "create date",
        "created date",
        "created at",
        "created_at",
        "created",
        "createdate",
        "date created",
        "creation date",
    ),
    "source": ("original source", "lead source", "source", "utm source", "channel"),
    "campaign": ("campaign", "utm campaign", "campaign name", "original source drill-down 2"),
    "country": ("country/region", "country", "country region"),
    "region": ("region", "sales region", "territory"),
    "industry": ("industry",),
    "employees": (
        "number of employees",
        "no. of employees",
        "employees",
        "employee count",
        "company size",
        "num employees",
    ),
    "job_title": ("job title", "title", "job_title"),
    "owner_rep_id": (
        "contact owner",
        "lead owner",
        "owner",
        "hubspot owner",
        "owner id",
        "owner_rep_id",
        "sales rep",
    ),
    "email_domain_kind": ("email_domain_kind",),
    "email": ("email", "email address", "e-mail"),
    "company": ("company name", "company", "company / account", "account name"),
    "name": ("full name", "name"),
}
_DEAL_SYNONYMS: dict[str, tuple[str, ...]] = {
    "opportunity_id": ("opportunity id", "deal id", "opportunity_id", "record id"),
    "lead_id": (
        "lead id",
        "associated contact id",
        "contact id",
        "converted lead id",
        "lead_id",
    ),
    "created_at": ("created date", "create date", "created at", "created_at", "created"),
    "amount": ("amount", "deal amount", "amount (usd)", "value"),
    "closed_at": ("close date", "closed date", "closed at", "closed_at", "closedate"),
    "outcome": ("stage", "deal stage", "opportunity stage", "outcome", "status"),
    "won": ("won", "is won", "closed won"),
    "closed": ("closed", "is closed"),
    "lost_reason": ("loss reason", "lost reason", "closed lost reason", "lost_reason"),
}
_STAGE_DATE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"became an? marketing qualified lead date|mql date|became mql", "mql"),
    (r"became an? sales qualified lead date|sql date|became sql", "sql"),
    (r"became an? opportunity date|opportunity date", "opportunity"),
    (r"became an? customer date|customer date|closed won date", "customer"),
    (r"converted date|conversion date", "sql"),
    (r"disqualified date|unqualified date", "disqualified"),
)


def _find(columns: Sequence[str], names: Sequence[str], taken: set[str]) -> str | None:
    by_key = {norm_name(c): c for c in columns}
    for name in names:
        col = by_key.get(name)
        if col is not None and norm_name(col) not in taken:
            return col
    return None


def _present(mapping: Mapping, columns: Sequence[str], kind: str) -> float:
    """Share of the mapping's columns of that kind present in ``columns``."""
    used = mapping.deal_columns() if kind == "deals" else mapping.lead_columns()
    if not used:
        return 0.0
    have = {norm_name(c) for c in columns}
    return len(used & have) / len(used)


def classify(columns: Sequence[str], mapping: Mapping, file_name: str = "") -> str | None:
    """Whether a file is a 'leads', 'deals' or 'reps' file under ``mapping`` (None: neither).

    A deals file has the deals mapping's lead-id column and more of the deals mapping's
    own columns than of the leads mapping's (columns both use do not count); a file name
    mentioning deals or opportunities breaks a tie. A leads file has the leads mapping's
    lead-id column; a reps file, being neither, has the ``[reps]`` rep-id column.
    """
    have = {norm_name(c) for c in columns}
    lead_id = mapping.fields.get("lead_id")
    is_lead = isinstance(lead_id, str) and norm_name(lead_id) in have
    if mapping.deals is not None and norm_name(mapping.deals.columns["lead_id"]) in have:
        deal_own = mapping.deal_columns() - mapping.lead_columns()
        lead_own = mapping.lead_columns() - mapping.deal_columns()
        d, ld = len(deal_own & have), len(lead_own & have)
        named = any(h in file_name.lower() for h in _NAME_HINTS)
        if d > ld or (d == ld and (named or not is_lead)):
            return "deals"
    if is_lead:
        return "leads"
    if mapping.reps and norm_name(mapping.reps["rep_id"]) in have:
        return "reps"
    return None


def detect_mapping(df: pd.DataFrame, file_name: str = "") -> Mapping:
    """Guess the mapping of a flat export from its column names (and a few values).

    A header that carries most columns of a preset (leads or deals part) gets that
    preset; otherwise each lead (or deal) field takes the first column whose name is a
    known synonym ("Lead ID", "Record ID", "Create Date", "Lead Source", ...), "became X
    date" columns become stage dates, a "Lifecycle Stage" / "Lead Status" column gives
    stage values (read with :data:`STAGE_WORDS`), a "Converted" column is a flag for
    ``sql``, and every other column is kept as a property. A file that looks like deals
    (a deal id, an amount or a close date next to a lead id) gets a ``[deals]`` table.

    Parameters
    ----------
    df : DataFrame
        The export as read by :func:`read_export` (header as written).
    file_name : str
        The file's name (a name mentioning deals or opportunities hints at a deals file).

    Returns
    -------
    Mapping
        Check it (:meth:`Mapping.roles`) before importing: it is a guess.
    """
    columns = [str(c) for c in df.columns]
    best = _best_preset(columns, file_name)
    if best is not None:
        return preset(best)
    lower = {norm_name(c) for c in columns}
    deal_like = any(h in file_name.lower() for h in _NAME_HINTS) or bool(
        lower & {"opportunity id", "deal id", "amount", "deal stage", "close date"}
    )
    if deal_like and _find(columns, _DEAL_SYNONYMS["lead_id"], set()) is not None:
        return _detect_deals(columns)
    return _detect_leads(columns)


def _best_preset(columns: Sequence[str], file_name: str) -> str | None:
    """The preset whose leads or deals part the header carries most of, or None.

    A preset qualifies with at least :data:`PRESET_SHARE` of its columns.
    """
    best: tuple[float, str] | None = None
    for name in PRESETS:
        p = preset(name)
        for kind in ("leads", "deals"):
            share = _present(p, columns, kind)
            if classify(columns, p, file_name) == kind and share >= PRESET_SHARE:
                if best is None or share > best[0]:
                    best = (share, name)
    return best[1] if best else None


def _detect_deals(columns: Sequence[str]) -> Mapping:
    """A deals-only mapping: each deal field from the first synonym column."""
    lead_id_col = _find(columns, _DEAL_SYNONYMS["lead_id"], set())
    assert lead_id_col is not None
    cols: dict[str, str] = {"lead_id": lead_id_col}
    taken = {norm_name(lead_id_col)}
    for fld, names in _DEAL_SYNONYMS.items():
        if fld == "lead_id":
            continue
        col = _find(columns, names, taken)
        if col is not None:
            cols[fld] = col
            taken.add(norm_name(col))
    return Mapping(name="detected", deals=DealMapping(cols, {}), fields={})


def _detect_leads(columns: Sequence[str]) -> Mapping:
    """A leads mapping: fields by synonym, stage dates, stage values and flags by name."""
    taken: set[str] = set()
    fields_: dict[str, str | tuple[str, ...]] = {}
    for fld, names in _SYNONYMS.items():
        col = _find(columns, names, taken)
        if col is not None:
            fields_[fld] = col
            taken.add(norm_name(col))
    if "name" not in fields_:
        first = _find(columns, ("first name", "firstname", "first_name"), taken)
        last = _find(columns, ("last name", "lastname", "last_name"), taken)
        if first and last:
            fields_["name"] = (first, last)
            taken.update({norm_name(first), norm_name(last)})
    stage_dates: dict[str, str] = {}
    for col in columns:
        key = norm_name(col)
        if key in taken:
            continue
        for pattern, stage in _STAGE_DATE_PATTERNS:
            if re.search(pattern, key) and stage not in stage_dates:
                stage_dates[stage] = col
                taken.add(key)
                break
    stage_values: dict[str, dict[str, str]] = {}
    flags: dict[str, str] = {}
    for col in columns:
        key = norm_name(col)
        if key in taken:
            continue
        if key in ("lifecycle stage", "lifecyclestage", "lead status"):
            stage_values[col] = {}
        elif key in ("converted", "is converted", "isconverted"):
            flags[col] = "sql"
    return Mapping(
        name="detected",
        fields=fields_,
        stage_dates=stage_dates,
        stage_values=stage_values,
        flags=flags,
    )


def detect_files_mapping(frames: Sequence[tuple[str, pd.DataFrame]]) -> Mapping:
    """One mapping for a set of exports, guessed from their headers.

    A preset when any file's header matches one; otherwise the leads part detected from
    the first leads-like file and the deals part from the first deals-like file (see
    :func:`detect_mapping`).

    Parameters
    ----------
    frames : sequence of (file name, DataFrame)
        The exports as read by :func:`read_export`.
    """
    found = [detect_mapping(df, name) for name, df in frames]
    for m in found:
        if m.name in PRESETS:
            return m
    leads = next((m for m in found if "lead_id" in m.fields), None)
    deals = next((m for m in found if m.deals is not None), None)
    base = leads or Mapping(name="detected")
    return replace(base, deals=deals.deals if deals else None)


def stage_value_table(mapping: Mapping, column: str, values: pd.Series) -> pd.DataFrame:
    """The stage each distinct value of a stage-values column gives, for review.

    Parameters
    ----------
    mapping : Mapping
        Its ``[stage_values]`` table for ``column`` wins; other values are read with
        :data:`STAGE_WORDS`.
    column : str
        The input column (a lifecycle stage or lead status).
    values : Series of str
        The column's cells.

    Returns
    -------
    DataFrame
        ``value``, ``leads`` (rows with that value) and ``stage`` ('' for none), most
        frequent first; placeholders are left out.
    """
    text = values.astype(str).str.strip()
    text = text[~missing_mask(text, mapping.placeholders)]
    counts = text.value_counts()
    table = {value_key(k): v for k, v in (lookup(mapping.stage_values, column) or {}).items()}
    stages = [table.get(value_key(v), STAGE_WORDS.get(value_key(v), "")) for v in counts.index]
    return pd.DataFrame(
        {"value": counts.index.astype(str), "leads": counts.to_numpy(), "stage": stages}
    )
