"""Import flat CRM exports (one row per lead, optionally a deals file) through a mapping.

Query intuition
---------------
HubSpot contact exports and Salesforce lead reports hold one row per lead: an id, a
create date, source and firmographic columns, a lifecycle stage or lead status, "became X
date" columns, a converted flag, an owner, engagement counters and any number of custom
properties. A second file may hold deals keyed by the lead id. A :class:`Mapping` (a
TOML file, or a preset: :func:`preset`) says which column is which. The import turns
every row into native history rows and hands them to the native importer's batch core
(:func:`analysis.ingest.apply_parts`), so the rules there hold here too: the same value
checks, "not before the lead's creation", the duplicate-key rule, refused rows kept in
``import_rejects`` with their reason, one transaction per batch, strict mode, row
numbers counted like a spreadsheet (header = row 1).

From each lead row:

- one ``leads`` row from ``[fields]``; ``name`` may join several columns (first and last
  name). When the mapping does not give them, ``region`` is looked up from the country
  (:func:`analysis.quality.region_of`) and ``email_domain_kind`` from the e-mail domain
  (free-mail domains in :data:`FREE_EMAIL_DOMAINS` are ``free``, others ``corporate``,
  no e-mail ``unknown``). ``[values.<field>]`` replaces spellings (compared ignoring case
  and spacing) by a standard one.
- one ``stage_changes`` row per ``[stage_dates]`` column with a date (``source_system``
  = the mapping's ``source_system``);
- undated stage entries from ``[stage_values]`` columns (a lifecycle stage or a lead
  status, each value mapped to a stage; values the mapping does not list are read with
  :data:`STAGE_WORDS`, others noted) and ``[flags]`` columns (a true flag means the lead
  reached that stage). An undated entry is only written when the row has no dated entry
  of that stage or of a later funnel stage (DESIGN.md: a skipped stage takes the next
  reached stage's time), never for ``lead`` (``created_at`` says it), and it is placed
  at the latest date the row shows before it: its ``created_at`` or an earlier stage's
  date (for ``disqualified`` and ``nurture``, the latest date of the row). That is a
  lower bound, marked ``source_system`` = "<system> (undated)"; velocity that starts or
  ends there is understated.
- one ``lead_properties`` row per kept column (``[properties]``: every column not
  otherwise mapped by default): ``value`` the text, ``value_number`` the number when the
  text is one (``1,234``, ``$1,200.50``, ``12%`` -> 12). A missing value is stored as
  ``NULL``, so importing a newer export clears a value that was removed; a column that
  is empty in every row is not kept.

From each deal row: one ``opportunities`` row and the stage entries it implies
(``opportunity`` at the deal's create date; ``customer`` at its close date when won). A
deal's outcome comes from its ``won`` / ``closed`` flags when mapped, else from its
``outcome`` column (``[deals.outcome_values]``, default: values reading "won" / "closed
won" are won, "lost" / "closed lost" lost, anything else open). ``closed_at`` is kept
only for won or lost deals (an open deal's "close date" is the expected one). Without an
``opportunity_id`` column a deal is called "<lead_id>/<n>" (its n-th deal in the file).

Rows of derived tables follow their source row: when a lead row (or deal row) is
refused, its stage entries and properties are dropped with it, so each input row has one
refusal. A stage entry can be refused on its own (an unreadable date, a date before the
lead's creation, a flag that is not yes/no); the lead row is then still imported.

Values and formats
------------------
- **Placeholders** (:data:`PLACEHOLDERS`, plus the mapping's ``placeholders``) such as
  ``Select``, ``--``, ``N/A`` or an empty cell mean *missing*, in every column.
- **Ids** are text, trimmed; a whole number written as a decimal by a spreadsheet
  (``12345.0``) is read as ``12345``. Hex ids (``5f3a9c``), leading zeros and
  Salesforce ids are kept exactly (case-sensitive).
- **Dates**: ISO (``2024-03-14``, ``2024-03-14 14:35``, ``2024-03-14T14:35:00Z``,
  ``2024/03/14``) or day and month numbers followed by a 4-digit year (``14-03-2024``,
  ``14/03/2024``, ``3/14/2024 2:35 PM``), with or without a time. Whether ``a/b/yyyy``
  is day-first or month-first is detected **per column**: a value with a first number
  over 12 shows day-first, a second number over 12 month-first. A column with evidence
  both ways, or with no evidence at all while some value would read differently either
  way (``03/04/2024``), is refused as a whole (:class:`UnusableInput`, nothing written)
  unless ``[date_formats]`` names its format (``dmy``, ``mdy`` or ``iso``) or
  ``date_order`` names one for every column; with a named format, values that do not fit
  it are refused row by row. Times without an offset are in the mapping's ``timezone``
  (default UTC; a wall time repeated when clocks go back is read as standard time);
  everything is stored as naive UTC.
- **Flags**: yes/no, true/false, y/n, 1/0 (any case); a placeholder is "no".
- **Numbers**: employees may be a range or band (``51-200``, ``10,001+``: the lower
  bound is stored, so ``employees >= 200`` features stay right).

Missing create dates: a lead without one takes, in order, its earliest stage date in
the row, the mapping's ``created_at_fallback`` date, or the day of the import (00:00
UTC); the notes say how many. So a file without any dates still imports and can be
scored: every lead and its undated stage entries sit on that one day. Cohort and trend
views then show a single period, and the scoring lab's leads never handed off have
their decision point (``created_at`` + horizon) after the end of the data, so they count
as pending until later data arrives; name a ``created_at_fallback`` in the past to
place them.

Files and mappings
------------------
Each file is classified as a leads file or a deals file by its header
(:func:`classify`): a deals file has the deals lead-id column and more of the deals
mapping's own columns than of the leads mapping's. The mapping (see
``analysis/imports/presets/*.toml`` for complete examples)::

    name = "my export"              # shown in notes
    source_system = "hubspot"       # stage_changes.source_system
    extends = "hubspot"             # optional: start from a preset, override below
    date_order = "dmy"              # optional: for every ambiguous date column
    timezone = "Europe/Berlin"      # optional: zone of times without an offset
    created_at_fallback = "2024-01-01"
    placeholders = ["Unknown"]      # more values meaning missing

    [fields]                        # lead column -> input column
    lead_id = "Record ID"
    name = ["First Name", "Last Name"]

    [stage_dates]                   # stage -> input column holding its entry date
    mql = "Became a Marketing Qualified Lead Date"

    [stage_values."Lifecycle Stage"]  # input value -> stage ("" = no stage)
    "Marketing Qualified Lead" = "mql"

    [flags]                         # yes/no input column -> stage reached when yes
    "Converted" = "sql"

    [properties]
    keep = "rest"                   # or a list of input columns
    exclude = ["Phone Number"]

    [date_formats]
    "Create Date" = "mdy"

    [values.industry]               # spelling -> standard spelling
    "SaaS & Software" = "Software"

    [deals]                         # deal field -> input column
    lead_id = "Lead ID"
    opportunity_id = "Opportunity ID"
    created_at = "Created Date"
    [deals.outcome_values]
    "Closed Won" = "won"

A mapping column absent from a file is noted, not fatal, except the lead id (and the
deals' lead id and dates, for a deals file): exports rarely carry every column.
"""

from __future__ import annotations

import csv
import json
import re
import tomllib
from collections.abc import Callable, Sequence
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import numpy as np
import pandas as pd

from analysis.imports import ingest
from analysis.imports.ingest import ImportResult, UnusableInput
from analysis.imports.quality import region_of, standard_region
from analysis.store import SIDE_STAGES, STAGES, TABLES

PRESETS: tuple[str, ...] = ("hubspot", "salesforce")
"""Mapping presets shipped in ``analysis/imports/presets/<name>.toml``."""

PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "",
        "-",
        "--",
        "---",
        "n/a",
        "na",
        "#n/a",
        "null",
        "none",
        "nil",
        "nan",
        "select",
        "(select)",
        "-- select --",
        "--select--",
        "select...",
        "(blank)",
        "(none)",
        "(empty)",
        "--none--",
        "undefined",
    }
)
"""Cell values (compared trimmed and lower-cased) that mean *missing*."""

FREE_EMAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.ru",
        "yandex.ru",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "163.com",
    }
)
"""E-mail domains counted as ``free`` for ``email_domain_kind``."""

FLAG_WORDS: dict[str, bool] = {
    **ingest.BOOLEAN_WORDS,
    "y": True,
    "n": False,
    "checked": True,
    "unchecked": False,
}
"""Yes/no spellings a flag column may use (compared lower-cased)."""

STAGE_WORDS: dict[str, str] = {
    "subscriber": "lead",
    "lead": "lead",
    "new": "lead",
    "mql": "mql",
    "marketingqualifiedlead": "mql",
    "marketingqualified": "mql",
    "opennotcontacted": "mql",
    "workingcontacted": "mql",
    "attemptedtocontact": "mql",
    "connected": "mql",
    "inprogress": "mql",
    "sql": "sql",
    "sal": "sql",
    "salesqualifiedlead": "sql",
    "salesacceptedlead": "sql",
    "qualified": "sql",
    "converted": "sql",
    "closedconverted": "sql",
    "opportunity": "opportunity",
    "opendeal": "opportunity",
    "customer": "customer",
    "evangelist": "customer",
    "closedwon": "customer",
    "disqualified": "disqualified",
    "unqualified": "disqualified",
    "closednotconverted": "disqualified",
    "junk": "disqualified",
    "nurture": "nurture",
    "nurturing": "nurture",
    "recycled": "nurture",
    "badtiming": "nurture",
    "other": "",
    "open": "",
}
"""Stage of common lifecycle / lead-status values (keys: lower-cased, letters and digits
only), used for values a mapping's ``[stage_values]`` table does not list."""

LEAD_FIELDS: tuple[str, ...] = tuple(TABLES["leads"].column_names)
DEAL_FIELDS: tuple[str, ...] = (
    "opportunity_id",
    "lead_id",
    "created_at",
    "amount",
    "closed_at",
    "outcome",
    "won",
    "closed",
    "lost_reason",
)
"""Deal fields a mapping's ``[deals]`` table may name; ``won``/``closed`` are yes/no."""

ALL_STAGES: tuple[str, ...] = STAGES + SIDE_STAGES
DATE_FORMATS: dict[str, str] = {
    "iso": "ISO (YYYY-MM-DD)",
    "dmy": "day first (DD-MM-YYYY)",
    "mdy": "month first (MM/DD/YYYY)",
}
"""Date formats a mapping may name for a column."""

DATE_EXAMPLE = "e.g. 2024-03-14, 14-03-2024, 03/14/2024 or 3/14/2024 2:35 PM"

_ISO_RE = (
    r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
    r"(?:[T ]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d{1,9})?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_NUM_RE = (
    r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y>\d{4})"
    r"(?:[T ,]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d{1,9})?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?$"
)
_NUMBER_RE = r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?$|^[+-]?\.\d+$"
_EMPLOYEES_RE = r"^(?P<low>\d{1,3}(?:[,.]\d{3})+|\d+)\s*(?:(?:-|–|to)\s*[\d,.]+|\+)?$"
_NAME_HINTS = ("deal", "opportunit", "opp")


PRESET_SHARE = 0.4
""":func:`detect_mapping` picks a preset when the header has at least this share of the
columns the preset maps (for the file's kind)."""


class MappingError(UnusableInput):
    """A mapping file or table that cannot be used; raised before anything is read."""


# --------------------------------------------------------------------------------------
# The mapping
# --------------------------------------------------------------------------------------


def norm_name(name: object) -> str:
    """Header comparison key: trimmed and lower-cased (as :func:`ingest.read_input` does)."""
    return str(name).strip().lower()


def value_key(value: object) -> str:
    """Value comparison key: lower-cased, letters and digits only.

    ``Closed - Won`` and ``closedwon`` share the key ``closedwon``.
    """
    return re.sub(r"[^0-9a-z]", "", str(value).casefold())


@dataclass
class DealMapping:
    """Which deals-file column is which deal field.

    Attributes
    ----------
    columns : dict of str to str
        Deal field (:data:`DEAL_FIELDS`) -> input column.
    outcome_values : dict of str to str
        Value of the ``outcome`` column -> 'won', 'lost' or 'open'.
    """

    columns: dict[str, str] = field(default_factory=dict)
    outcome_values: dict[str, str] = field(default_factory=dict)


@dataclass
class Mapping:
    """How the columns of a flat export become history rows (see the module docstring).

    Attributes
    ----------
    name : str
        Shown in notes and batch records.
    source_system : str
        ``stage_changes.source_system`` of the stage entries.
    fields : dict of str to str or tuple of str
        Lead column -> input column (``name`` may join several columns).
    stage_dates : dict of str to str
        Stage -> input column holding the date the lead entered it.
    stage_values : dict of str to dict of str to str
        Input column -> {input value -> stage, or '' for none}.
    flags : dict of str to str
        Yes/no input column -> stage reached when yes.
    keep : 'rest' or tuple of str
        Input columns kept as lead properties: every column not otherwise mapped
        ('rest'), or the listed ones.
    exclude : tuple of str
        Input columns never kept as properties.
    date_formats : dict of str to str
        Input column -> 'iso', 'dmy' or 'mdy'.
    date_order : str, optional
        'dmy' or 'mdy' for every date column whose order cannot be detected.
    timezone : str
        IANA zone of times written without an offset.
    placeholders : tuple of str
        Values meaning missing, on top of :data:`PLACEHOLDERS`.
    values : dict of str to dict of str to str
        Lead column -> {spelling -> standard spelling}.
    created_at_fallback : date, optional
        Creation date of leads without any date (default: the import day).
    deals : DealMapping, optional
        The deals file's columns.
    """

    name: str = "custom"
    source_system: str = "flat"
    fields: dict[str, str | tuple[str, ...]] = field(default_factory=dict)
    stage_dates: dict[str, str] = field(default_factory=dict)
    stage_values: dict[str, dict[str, str]] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    keep: str | tuple[str, ...] = "rest"
    exclude: tuple[str, ...] = ()
    date_formats: dict[str, str] = field(default_factory=dict)
    date_order: str | None = None
    timezone: str = "UTC"
    placeholders: tuple[str, ...] = ()
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    created_at_fallback: date | None = None
    deals: DealMapping | None = None

    # ---- construction ------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: AbcMapping[str, Any], origin: str = "mapping") -> Mapping:
        """Build and check a mapping from parsed TOML (``extends`` already resolved)."""
        known = {
            "name",
            "source_system",
            "extends",
            "fields",
            "stage_dates",
            "stage_values",
            "flags",
            "properties",
            "date_formats",
            "date_order",
            "timezone",
            "placeholders",
            "values",
            "created_at_fallback",
            "deals",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise MappingError(
                f"{origin}: unknown key(s) {', '.join(unknown)}; "
                f"expected: {', '.join(sorted(known))}"
            )
        fields_ = _table(data, "fields", origin)
        bad = sorted(set(fields_) - set(LEAD_FIELDS))
        if bad:
            raise MappingError(
                f"{origin}: [fields] names unknown lead field(s) {', '.join(bad)}; "
                f"expected some of: {', '.join(LEAD_FIELDS)}"
            )
        mapped: dict[str, str | tuple[str, ...]] = {}
        for key, col in fields_.items():
            if isinstance(col, list) and key == "name" and all(isinstance(c, str) for c in col):
                mapped[key] = tuple(col)
            elif isinstance(col, str):
                mapped[key] = col
            else:
                raise MappingError(
                    f"{origin}: [fields] {key} must be a column name"
                    + (" or a list of column names" if key == "name" else "")
                    + f", got {col!r}"
                )
        stage_dates = _str_table(data, "stage_dates", origin)
        _check_stages(stage_dates.keys(), f"{origin}: [stage_dates]")
        stage_values: dict[str, dict[str, str]] = {}
        for col, table in _table(data, "stage_values", origin).items():
            if not isinstance(table, dict):
                raise MappingError(
                    f"{origin}: [stage_values.{col!r}] must be a table of value = stage, "
                    f"got {table!r}"
                )
            values = {str(k): str(v) for k, v in table.items()}
            _check_stages([v for v in values.values() if v], f"{origin}: [stage_values.{col!r}]")
            stage_values[col] = values
        flags = _str_table(data, "flags", origin)
        _check_stages(flags.values(), f"{origin}: [flags]")
        props = _table(data, "properties", origin)
        extra = sorted(set(props) - {"keep", "exclude"})
        if extra:
            raise MappingError(f"{origin}: [properties] takes keep and exclude, got {extra}")
        keep = props.get("keep", "rest")
        if keep != "rest" and not (
            isinstance(keep, list) and all(isinstance(c, str) for c in keep)
        ):
            raise MappingError(
                f'{origin}: [properties] keep must be "rest" or a list of columns, got {keep!r}'
            )
        exclude = props.get("exclude", [])
        if not isinstance(exclude, list) or not all(isinstance(c, str) for c in exclude):
            raise MappingError(f"{origin}: [properties] exclude must be a list of columns")
        date_formats = _str_table(data, "date_formats", origin)
        for col, fmt in date_formats.items():
            if fmt not in DATE_FORMATS:
                raise MappingError(
                    f"{origin}: [date_formats] {col!r} = {fmt!r}; expected one of "
                    f"{', '.join(DATE_FORMATS)}"
                )
        order = data.get("date_order")
        if order is not None and order not in ("dmy", "mdy"):
            raise MappingError(f'{origin}: date_order must be "dmy" or "mdy", got {order!r}')
        tz = str(data.get("timezone", "UTC"))
        _zone(tz, origin)
        placeholders = data.get("placeholders", [])
        if not isinstance(placeholders, list):
            raise MappingError(f"{origin}: placeholders must be a list of values")
        values: dict[str, dict[str, str]] = {}
        for key, table in _table(data, "values", origin).items():
            if key not in LEAD_FIELDS or not isinstance(table, dict):
                raise MappingError(
                    f"{origin}: [values.{key}] must be a lead field ({', '.join(LEAD_FIELDS)}) "
                    "holding spelling = standard spelling"
                )
            values[key] = {str(k): str(v) for k, v in table.items()}
        fallback = data.get("created_at_fallback")
        if fallback is not None:
            if isinstance(fallback, datetime):
                fallback = fallback.date()
            elif isinstance(fallback, str):
                try:
                    fallback = date.fromisoformat(fallback)
                except ValueError:
                    fallback = None
            if not isinstance(fallback, date):
                raise MappingError(
                    f"{origin}: created_at_fallback must be a date YYYY-MM-DD, "
                    f"got {data.get('created_at_fallback')!r}"
                )
        deals = None
        if "deals" in data:
            table = _table(data, "deals", origin)
            outcome_values = table.get("outcome_values", {})
            cols = {k: v for k, v in table.items() if k != "outcome_values"}
            bad = sorted(set(cols) - set(DEAL_FIELDS))
            if bad or not all(isinstance(v, str) for v in cols.values()):
                raise MappingError(
                    f"{origin}: [deals] maps deal fields ({', '.join(DEAL_FIELDS)}) to column "
                    f"names; got {', '.join(bad) or 'a value that is not a column name'}"
                )
            if "lead_id" not in cols:
                raise MappingError(f"{origin}: [deals] needs lead_id (the column with the lead id)")
            if not isinstance(outcome_values, dict) or not all(
                v in ("won", "lost", "open") for v in outcome_values.values()
            ):
                raise MappingError(
                    f'{origin}: [deals.outcome_values] maps values to "won", "lost" or "open"'
                )
            deals = DealMapping(dict(cols), {str(k): str(v) for k, v in outcome_values.items()})
        return cls(
            name=str(data.get("name", "custom")),
            source_system=str(data.get("source_system", "flat")),
            fields=mapped,
            stage_dates=stage_dates,
            stage_values=stage_values,
            flags=flags,
            keep="rest" if keep == "rest" else tuple(keep),
            exclude=tuple(exclude),
            date_formats=date_formats,
            date_order=order,
            timezone=tz,
            placeholders=tuple(str(p) for p in placeholders),
            values=values,
            created_at_fallback=fallback,
            deals=deals,
        )

    def to_dict(self) -> dict[str, Any]:
        """The mapping as plain data, the shape :meth:`from_dict` reads."""
        out: dict[str, Any] = {"name": self.name, "source_system": self.source_system}
        if self.date_order:
            out["date_order"] = self.date_order
        if self.timezone != "UTC":
            out["timezone"] = self.timezone
        if self.created_at_fallback:
            out["created_at_fallback"] = self.created_at_fallback.isoformat()
        if self.placeholders:
            out["placeholders"] = list(self.placeholders)
        out["fields"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.fields.items()}
        out["stage_dates"] = dict(self.stage_dates)
        out["stage_values"] = {k: dict(v) for k, v in self.stage_values.items()}
        out["flags"] = dict(self.flags)
        out["properties"] = {
            "keep": "rest" if self.keep == "rest" else list(self.keep),
            "exclude": list(self.exclude),
        }
        out["date_formats"] = dict(self.date_formats)
        out["values"] = {k: dict(v) for k, v in self.values.items()}
        if self.deals is not None:
            out["deals"] = {**self.deals.columns, "outcome_values": dict(self.deals.outcome_values)}
        return out

    def to_toml(self) -> str:
        """The mapping as a TOML file (round-trips through :func:`load_mapping`)."""
        return dumps_toml(self.to_dict())

    # ---- columns -----------------------------------------------------------------------

    def lead_columns(self) -> set[str]:
        """Every input column the leads part of the mapping uses (normalised names)."""
        cols: set[str] = set()
        for col in self.fields.values():
            cols.update(norm_name(c) for c in ((col,) if isinstance(col, str) else col))
        cols.update(norm_name(c) for c in self.stage_dates.values())
        cols.update(norm_name(c) for c in self.stage_values)
        cols.update(norm_name(c) for c in self.flags)
        return cols

    def deal_columns(self) -> set[str]:
        """Every input column the deals part of the mapping uses (normalised names)."""
        return {norm_name(c) for c in self.deals.columns.values()} if self.deals else set()

    # ---- the roles table (the Data page's editor) ---------------------------------------

    def roles(self, columns: Sequence[str], kind: str = "leads") -> pd.DataFrame:
        """One row per input column with the role this mapping gives it.

        Parameters
        ----------
        columns : sequence of str
            The file's header, as written.
        kind : {'leads', 'deals'}
            Which part of the mapping the file is read with.

        Returns
        -------
        DataFrame
            ``column`` (as in the file), ``role`` (one of :func:`role_options`) and
            ``date_format`` ('auto' or a key of :data:`DATE_FORMATS`).
        """
        role: dict[str, str] = {}
        if kind == "deals":
            for fld, col in (self.deals.columns if self.deals else {}).items():
                role.setdefault(norm_name(col), f"deal: {fld}")
        else:
            for fld, col in self.fields.items():
                for c in (col,) if isinstance(col, str) else col:
                    role.setdefault(norm_name(c), f"lead: {fld}")
            for stage, col in self.stage_dates.items():
                role.setdefault(norm_name(col), f"stage date: {stage}")
            for col in self.stage_values:
                role.setdefault(norm_name(col), "stage values")
            for col, stage in self.flags.items():
                role.setdefault(norm_name(col), f"flag: {stage}")
        excluded = {norm_name(c) for c in self.exclude}
        kept = None if self.keep == "rest" else {norm_name(c) for c in self.keep}
        rows = []
        formats = {norm_name(k): v for k, v in self.date_formats.items()}
        for col in columns:
            key = norm_name(col)
            r = role.get(key)
            if r is None:
                if kind == "leads" and key not in excluded and (kept is None or key in kept):
                    r = "property"
                else:
                    r = "ignore"
            rows.append({"column": col, "role": r, "date_format": formats.get(key, "auto")})
        return pd.DataFrame(rows, columns=["column", "role", "date_format"])

    def with_roles(self, roles: pd.DataFrame, kind: str = "leads") -> Mapping:
        """A copy whose leads (or deals) part is rebuilt from a roles table.

        Parameters
        ----------
        roles : DataFrame
            ``column``, ``role`` and optionally ``date_format``, as :meth:`roles` returns
            and a user corrected it.
        kind : {'leads', 'deals'}
            The part of the mapping to replace.

        Raises
        ------
        MappingError
            A role other than ``lead: name`` given to two columns, an unknown role, or
            no lead id column.
        """
        options = set(role_options(kind))
        seen: dict[str, str] = {}
        fields_: dict[str, str | tuple[str, ...]] = {}
        stage_dates: dict[str, str] = {}
        stage_values: dict[str, dict[str, str]] = {}
        flags: dict[str, str] = {}
        keep: list[str] = []
        exclude: list[str] = []
        deal_cols: dict[str, str] = {}
        formats = {k: v for k, v in self.date_formats.items() if norm_name(k) not in _names(roles)}
        for row in roles.itertuples(index=False):
            col, role = str(row.column), str(row.role)
            fmt = str(getattr(row, "date_format", "auto") or "auto")
            if fmt in DATE_FORMATS:
                formats[col] = fmt
            if role not in options:
                raise MappingError(
                    f"column {col!r}: unknown role {role!r}; expected one of {sorted(options)}"
                )
            if role in seen and role != "lead: name" and role not in ("property", "ignore"):
                raise MappingError(
                    f"columns {seen[role]!r} and {col!r} both have role {role!r}; "
                    "give it to one column"
                )
            seen.setdefault(role, col)
            kind_, _, target = role.partition(": ")
            if role == "property":
                keep.append(col)
            elif role == "ignore":
                exclude.append(col)
            elif kind_ == "lead":
                if target == "name":
                    prev = fields_.get("name")
                    fields_["name"] = (*((prev,) if isinstance(prev, str) else prev or ()), col)
                else:
                    fields_[target] = col
            elif kind_ == "stage date":
                stage_dates[target] = col
            elif role == "stage values":
                stage_values[col] = dict(_lookup(self.stage_values, col) or {})
            elif kind_ == "flag":
                flags[col] = target
            elif kind_ == "deal":
                deal_cols[target] = col
        if isinstance(fields_.get("name"), tuple) and len(fields_["name"]) == 1:
            fields_["name"] = fields_["name"][0]
        if kind == "deals":
            if "lead_id" not in deal_cols:
                raise MappingError("the deals file needs a column with role 'deal: lead_id'")
            old = self.deals.outcome_values if self.deals else {}
            return replace(self, deals=DealMapping(deal_cols, dict(old)), date_formats=formats)
        if "lead_id" not in fields_:
            raise MappingError("the leads file needs a column with role 'lead: lead_id'")
        return replace(
            self,
            fields=fields_,
            stage_dates=stage_dates,
            stage_values=stage_values,
            flags=flags,
            keep=tuple(keep),
            exclude=tuple(exclude),
            date_formats=formats,
        )

    def with_stage_values(self, column: str, table: pd.DataFrame) -> Mapping:
        """A copy whose ``[stage_values]`` for ``column`` is ``table`` (``value``, ``stage``).

        Raises
        ------
        MappingError
            A stage that is not a lifecycle stage.
        """
        values = {str(v): str(s or "") for v, s in zip(table["value"], table["stage"], strict=True)}
        _check_stages([s for s in values.values() if s], f"stage values of {column!r}")
        stage_values = {
            k: v for k, v in self.stage_values.items() if norm_name(k) != norm_name(column)
        }
        stage_values[column] = values
        return replace(self, stage_values=stage_values)


def _names(roles: pd.DataFrame) -> set[str]:
    return {norm_name(c) for c in roles["column"]}


def _lookup(table: AbcMapping[str, Any], column: str) -> Any:
    """``table[column]`` with the column name compared like headers."""
    for key, value in table.items():
        if norm_name(key) == norm_name(column):
            return value
    return None


def role_options(kind: str = "leads") -> list[str]:
    """The roles a column of a leads (or deals) file can have in the Data page's editor."""
    if kind == "deals":
        return ["ignore", *(f"deal: {f}" for f in DEAL_FIELDS)]
    return [
        "property",
        "ignore",
        *(f"lead: {f}" for f in LEAD_FIELDS),
        *(f"stage date: {s}" for s in ALL_STAGES),
        "stage values",
        *(f"flag: {s}" for s in ALL_STAGES),
    ]


def _table(data: AbcMapping[str, Any], key: str, origin: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise MappingError(f"{origin}: [{key}] must be a table, got {value!r}")
    return dict(value)


def _str_table(data: AbcMapping[str, Any], key: str, origin: str) -> dict[str, str]:
    table = _table(data, key, origin)
    bad = [k for k, v in table.items() if not isinstance(v, str)]
    if bad:
        raise MappingError(f"{origin}: [{key}] values must be text; {bad[0]!r} is not")
    return table


def _check_stages(stages: Any, where: str) -> None:
    bad = sorted(set(stages) - set(ALL_STAGES))
    if bad:
        raise MappingError(f"{where}: unknown stage(s) {', '.join(bad)}; expected {ALL_STAGES}")


def _zone(name: str, origin: str = "mapping") -> ZoneInfo | None:
    if name.upper() == "UTC":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MappingError(
            f"{origin}: timezone {name!r} is not an IANA time zone (e.g. Europe/Berlin)"
        ) from exc


def _merge(base: dict[str, Any], over: AbcMapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _preset_data(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise MappingError(f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}")
    text = (
        resources.files("analysis.imports").joinpath("presets", f"{name}.toml").read_text("utf-8")
    )
    return tomllib.loads(text)


def preset(name: str) -> Mapping:
    """The shipped mapping for a HubSpot contacts export or a Salesforce leads report."""
    return Mapping.from_dict(_preset_data(name), origin=f"preset {name}")


def load_mapping(path: Path | str, preset_name: str | None = None) -> Mapping:
    """Read a TOML mapping file, on top of a preset when given (or named by ``extends``).

    Raises
    ------
    MappingError
        The file is missing, not TOML, or names unknown fields, stages or formats.
    """
    path = Path(path)
    if not path.is_file():
        raise MappingError(f"{path}: mapping file not found")
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path.name}: not a readable TOML file ({exc})") from exc
    base_name = preset_name or data.get("extends")
    if base_name is not None:
        data = _merge(_preset_data(str(base_name)), {k: v for k, v in data.items()})
    data.pop("extends", None)
    return Mapping.from_dict(data, origin=path.name)


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (JSON escaping is valid TOML)."""
    return json.dumps(text, ensure_ascii=False)


def dumps_toml(data: AbcMapping[str, Any]) -> str:
    """A small TOML writer for mapping data: strings, lists of strings, nested tables."""
    lines: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        return toml_string(str(v))

    def key(k: str) -> str:
        return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else toml_string(k)

    def table(prefix: str, d: AbcMapping[str, Any]) -> None:
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict)}
        subs = {k: v for k, v in d.items() if isinstance(v, dict)}
        if prefix and (scalars or not subs):
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{key(k)} = {value(v)}")
        if prefix and (scalars or not subs):
            lines.append("")
        for k, v in subs.items():
            table(f"{prefix}.{key(k)}" if prefix else key(k), v)

    table("", data)
    if lines and lines[-1] != "":
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Detecting a mapping from the header
# --------------------------------------------------------------------------------------

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
    """Whether a file is a 'leads' or a 'deals' file under ``mapping``, None when neither.

    A deals file has the deals mapping's lead-id column and more of the deals mapping's
    own columns than of the leads mapping's (columns both use do not count); a file name
    mentioning deals or opportunities breaks a tie. A leads file has the leads mapping's
    lead-id column.
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
    return "leads" if is_lead else None


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
    best: tuple[float, str, str] | None = None
    for name in PRESETS:
        p = preset(name)
        for kind in ("leads", "deals"):
            share = _present(p, columns, kind)
            if classify(columns, p, file_name) == kind and share >= PRESET_SHARE:
                if best is None or share > best[0]:
                    best = (share, name, kind)
    if best is not None:
        return preset(best[1])
    taken: set[str] = set()
    lower = {norm_name(c) for c in columns}
    deal_like = any(h in file_name.lower() for h in _NAME_HINTS) or bool(
        lower & {"opportunity id", "deal id", "amount", "deal stage", "close date"}
    )
    lead_id_col = _find(columns, _DEAL_SYNONYMS["lead_id"], set())
    if deal_like and lead_id_col is not None:
        cols: dict[str, str] = {"lead_id": lead_id_col}
        taken.add(norm_name(lead_id_col))
        for fld, names in _DEAL_SYNONYMS.items():
            if fld == "lead_id":
                continue
            col = _find(columns, names, taken)
            if col is not None:
                cols[fld] = col
                taken.add(norm_name(col))
        return Mapping(name="detected", deals=DealMapping(cols, {}), fields={})
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
    for col in columns:
        key = norm_name(col)
        if key not in taken and key in ("lifecycle stage", "lifecyclestage", "lead status"):
            stage_values[col] = {}
            taken.add(key)
    flags: dict[str, str] = {}
    for col in columns:
        key = norm_name(col)
        if key not in taken and key in ("converted", "is converted", "isconverted"):
            flags[col] = "sql"
            taken.add(key)
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
    table = {value_key(k): v for k, v in (_lookup(mapping.stage_values, column) or {}).items()}
    stages = [table.get(value_key(v), STAGE_WORDS.get(value_key(v), "")) for v in counts.index]
    return pd.DataFrame(
        {"value": counts.index.astype(str), "leads": counts.to_numpy(), "stage": stages}
    )


# --------------------------------------------------------------------------------------
# Reading and parsing values
# --------------------------------------------------------------------------------------


def read_export(path: Path | str) -> pd.DataFrame:
    """Read a flat export (CSV or Parquet) with every cell as text and the header as written.

    Rows are indexed by spreadsheet row number (header = row 1); rows whose cells are all
    empty are left out. Raises :class:`~analysis.ingest.UnusableInput` like
    :func:`analysis.ingest.read_input`.
    """
    path = Path(path)
    data = ingest.read_input(path)
    original = _original_header(path, len(data.columns))
    if original is not None:
        data.columns = original
    return data


def _original_header(path: Path, n: int) -> list[str] | None:
    name = path.name.lower()
    try:
        if name.endswith(ingest.PARQUET_SUFFIXES):
            import pyarrow.parquet as pq

            names = pq.read_schema(path).names
        elif name.endswith(".csv"):
            with open(path, encoding="utf-8-sig", newline="") as fh:
                names = next(csv.reader(fh), [])
        else:
            return None
    except (OSError, ValueError, StopIteration):
        return None
    names = [str(c).strip() or f"unnamed_{i + 1}" for i, c in enumerate(names)]
    return names if len(names) == n else None


def missing_mask(text: pd.Series, extra: Sequence[str] = ()) -> pd.Series:
    """True where a cell is missing: empty, or a placeholder (:data:`PLACEHOLDERS`)."""
    words = PLACEHOLDERS | {str(p).strip().lower() for p in extra}
    return text.str.strip().str.lower().isin(list(words))


def clean_ids(text: pd.Series) -> pd.Series:
    """Ids as text: trimmed, and ``12345.0`` (a spreadsheet's float) read as ``12345``."""
    out = text.str.strip()
    floaty = out.str.fullmatch(r"\d+\.0+").fillna(False).astype(bool)
    return out.where(~floaty, out.str.replace(r"\.0+$", "", regex=True))


def parse_number(text: pd.Series) -> pd.Series:
    """Numbers from text such as ``1,234.5``, ``$1,200``, ``-3``, ``12%``; NaN otherwise."""
    t = text.str.strip()
    plain = t.str.fullmatch(r"[+-]?\d+(?:\.\d+)?").fillna(False).astype(bool)
    num = pd.to_numeric(t.where(plain), errors="coerce").astype(float)
    rest = ~plain & t.str.contains(r"\d", regex=True).fillna(False).astype(bool)
    if rest.any():  # the slow path only for decorated numbers
        r = t[rest].str.replace(r"^[$€£¥]\s*|\s*[$€£¥]$|\s*%$", "", regex=True)
        r = r.str.replace(r"^([+-]?)[$€£¥]\s*", r"\1", regex=True)
        ok = r.str.fullmatch(_NUMBER_RE).fillna(False).astype(bool)
        more = pd.to_numeric(r.where(ok).str.replace(",", "", regex=False), errors="coerce")
        num.loc[rest] = more.astype(float)
    return num.where(np.isfinite(num))


def parse_employees(text: pd.Series) -> pd.Series:
    """Employee counts from text; NaN where the text is not a count.

    A range or band gives its lower bound (``51-200`` -> 51, ``10,001+`` -> 10001), and
    ``1,000`` / ``1.000`` are a thousand.
    """
    m = text.str.strip().str.extract(_EMPLOYEES_RE, expand=True)
    low = m["low"].str.replace(r"[,.]", "", regex=True)
    return pd.to_numeric(low, errors="coerce").astype(float)


@dataclass
class DateColumn:
    """A parsed date column: UTC times, which cells failed, and the format found."""

    values: pd.Series
    bad: pd.Series
    detected: str


def parse_dates(
    text: pd.Series,
    column: str,
    *,
    fmt: str | None = None,
    order: str | None = None,
    timezone: str = "UTC",
    file: str = "",
) -> DateColumn:
    """Parse a date column of a flat export (see "Dates" in the module docstring).

    Parameters
    ----------
    text : Series of str
        Cells, '' for missing (placeholders already blanked).
    column : str
        Column name, for messages.
    fmt : {'iso', 'dmy', 'mdy'}, optional
        The format the mapping names for this column.
    order : {'dmy', 'mdy'}, optional
        The mapping's ``date_order``, used when the column's order cannot be detected.
    timezone : str
        IANA zone of times without an offset.
    file : str
        File name, for messages.

    Returns
    -------
    DateColumn
        ``values`` naive UTC (NaT where missing or bad), ``bad`` True where a non-empty
        cell is not a date in the column's format, ``detected`` the format used ('iso',
        'dmy', 'mdy', 'iso+dmy', 'iso+mdy' or 'empty').

    Raises
    ------
    UnusableInput
        The column mixes day-first and month-first values, or its order cannot be told
        and matters, and no format was named.
    """
    t = text.fillna("").astype(str).str.strip()
    present = t != ""
    iso = t.str.extract(_ISO_RE, expand=True)
    num = t.str.extract(_NUM_RE, expand=True)
    is_iso = iso["y"].notna() & present
    is_num = num["y"].notna() & present & ~is_iso
    a = pd.to_numeric(num["a"], errors="coerce")
    b = pd.to_numeric(num["b"], errors="coerce")
    where = f"{file}: " if file else ""
    if fmt == "iso":
        use = None
    elif fmt in ("dmy", "mdy"):
        use = fmt
    else:
        dmy_only = is_num & (a > 12) & (b <= 12)
        mdy_only = is_num & (b > 12) & (a <= 12)
        if dmy_only.any() and mdy_only.any():
            i, j = dmy_only.idxmax(), mdy_only.idxmax()
            raise UnusableInput(
                f"{where}column {column!r} mixes day-first dates (e.g. {t[i]!r}, row {i}) and "
                f"month-first dates (e.g. {t[j]!r}, row {j}); name its format in the mapping "
                f'([date_formats] "{column}" = "dmy" or "mdy")'
            )
        if dmy_only.any():
            use = "dmy"
        elif mdy_only.any():
            use = "mdy"
        elif (is_num & (a != b)).any():
            if order is None:
                i = (is_num & (a != b)).idxmax()
                raise UnusableInput(
                    f"{where}column {column!r} has dates such as {t[i]!r} (row {i}) that read "
                    "as day-first or month-first, and no value shows which; name its format "
                    f'in the mapping ([date_formats] "{column}" = "dmy" or "mdy", or '
                    'date_order = "dmy" for every column)'
                )
            use = order
        else:
            use = order or "dmy"  # every numeric value has day == month: either reads alike
    parts = {
        "year": pd.to_numeric(iso["y"], errors="coerce"),
        "month": pd.to_numeric(iso["m"], errors="coerce"),
        "day": pd.to_numeric(iso["d"], errors="coerce"),
        "hour": pd.to_numeric(iso["H"], errors="coerce"),
        "minute": pd.to_numeric(iso["M"], errors="coerce"),
        "second": pd.to_numeric(iso["S"], errors="coerce"),
    }
    frac = iso["f"]
    if use is not None:
        day, month = (a, b) if use == "dmy" else (b, a)
        hour = pd.to_numeric(num["H"], errors="coerce")
        ampm = num["ampm"].fillna("").str.lower().str.replace(".", "", regex=False)
        bad_clock = ((ampm != "") & ((hour < 1) | (hour > 12))).fillna(False)
        hour = hour.where(~((ampm == "am") & (hour == 12)), 0)
        hour = hour.where(~((ampm == "pm") & (hour < 12)), hour + 12)
        hour = hour.where(~bad_clock, 99)  # 13:00 PM is not a time: make it fail below
        for k, v in (
            ("year", pd.to_numeric(num["y"], errors="coerce")),
            ("month", month),
            ("day", day),
            ("hour", hour),
            ("minute", pd.to_numeric(num["M"], errors="coerce")),
            ("second", pd.to_numeric(num["S"], errors="coerce")),
        ):
            parts[k] = parts[k].where(~is_num, v)
        frac = frac.where(~is_num, num["f"])
    usable = is_iso | (is_num if use is not None else False)
    comp = pd.DataFrame({k: v.where(usable) for k, v in parts.items()})
    comp[["hour", "minute", "second"]] = comp[["hour", "minute", "second"]].fillna(0)
    comp.loc[~usable, ["year", "month", "day"]] = np.nan
    fine = usable & comp["hour"].between(0, 23) & comp["minute"].between(0, 59)
    fine &= comp["second"].between(0, 59) & comp["year"].between(1678, 2261)
    comp.loc[~fine, ["year", "month", "day"]] = np.nan
    local = pd.to_datetime(comp[list(parts)].astype(float), errors="coerce")
    micros = pd.to_numeric("0" + frac.fillna(""), errors="coerce").fillna(0)
    local = local + pd.to_timedelta((micros * 1e6).round(), unit="us")
    tz_text = iso["tz"].where(is_iso)
    offset = _offset_minutes(tz_text)
    has_offset = offset.notna()
    zone = _zone(timezone)
    utc = local - pd.to_timedelta(offset.fillna(0), unit="min")
    if zone is not None and (~has_offset & local.notna()).any():
        naive = local.where(~has_offset)
        converted = (
            # A wall time repeated when clocks go back is read as standard time; one
            # skipped when they go forward moves to the first valid instant.
            naive.dt.tz_localize(
                zone, ambiguous=np.zeros(len(naive), dtype=bool), nonexistent="shift_forward"
            )
            .dt.tz_convert("UTC")
            .dt.tz_localize(None)
        )
        utc = utc.where(has_offset, converted)
    values = utc.astype("datetime64[us]")
    bad = present & values.isna()
    found = [n for n, on in (("iso", is_iso.any()), (use, use and is_num.any())) if on]
    detected = (
        "+".join(str(f) for f in found) if found else ("unreadable" if present.any() else "empty")
    )
    return DateColumn(values, bad, detected)


def _offset_minutes(tz: pd.Series) -> pd.Series:
    """Minutes east of UTC of 'Z', '+02:00', '-0500', '+05'; NaN where there is none."""
    m = tz.str.extract(r"^(?P<sign>[+-])(?P<h>\d{2}):?(?P<m>\d{2})?$", expand=True)
    minutes = pd.to_numeric(m["h"], errors="coerce") * 60 + pd.to_numeric(
        m["m"], errors="coerce"
    ).fillna(0)
    minutes = minutes.where(m["sign"] != "-", -minutes)
    return minutes.where(tz != "Z", 0.0).where(tz.notna())


def _number_text(v: float) -> str:
    """A parsed number as text for the native checks ('' for NaN): 48000, -500, 0.25."""
    if v != v:
        return ""
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def _iso(ts: pd.Series) -> pd.Series:
    """Naive UTC timestamps as ISO text for the native checks; '' where NaT."""
    text = ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text.where(ts.notna(), "").astype(object).fillna("")


# --------------------------------------------------------------------------------------
# Building parts
# --------------------------------------------------------------------------------------


@dataclass
class _Source:
    """One input file, read and with its kind decided."""

    path: Path
    file: str
    kind: str
    data: pd.DataFrame
    cols: dict[str, str]  # normalised name -> name as written


def _part(
    table: str,
    file: str,
    native: dict[str, pd.Series] | pd.DataFrame,
    raw: pd.DataFrame,
    faults: Sequence[pd.DataFrame] = (),
    *,
    follows: str | None = None,
    sources: dict[str, str] | None = None,
) -> ingest.Part:
    """Run the native value checks on derived text rows, then attach the input context."""
    frame = pd.DataFrame(native, index=raw.index)
    frame = frame.astype(object).where(frame.notna(), "").astype(str)
    part = ingest.check_file(TABLES[table], file, frame)
    part.raw = raw
    if faults:
        part.faults = ingest._concat_faults([part.faults, *faults])
    part.follows = follows
    part.sources = sources
    return part


@dataclass
class _Reader:
    """Reads one file's columns under a mapping, collecting notes."""

    src: _Source
    mapping: Mapping
    notes: list[str]

    def has(self, col: str) -> bool:
        return norm_name(col) in self.src.cols

    def name(self, col: str) -> str:
        return self.src.cols.get(norm_name(col), col)

    def text(self, col: str) -> pd.Series:
        """Cells of an input column, '' where missing or a placeholder."""
        s = self.src.data[self.name(col)].astype(str).str.strip()
        return s.where(~missing_mask(s, self.mapping.placeholders), "")

    def dates(self, col: str) -> DateColumn:
        fmt = _lookup(self.mapping.date_formats, col)
        parsed = parse_dates(
            self.text(col),
            self.name(col),
            fmt=fmt,
            order=self.mapping.date_order,
            timezone=self.mapping.timezone,
            file=self.src.file,
        )
        if parsed.detected not in ("empty", "iso"):
            label = {"dmy": "day first", "mdy": "month first"}
            found = " + ".join(label.get(p, p.upper()) for p in parsed.detected.split("+"))
            how = "as named in the mapping" if fmt else "detected"
            self.notes.append(f"{self.src.file}: dates in {self.name(col)!r} read {found} ({how})")
        return parsed

    def raw(self, *cols: str) -> pd.DataFrame:
        names = [self.name(c) for c in cols if self.has(c)]
        return self.src.data[list(dict.fromkeys(names))]


def _standardise(values: pd.Series, table: dict[str, str] | None) -> pd.Series:
    if not table:
        return values
    lookup = {re.sub(r"\s+", " ", k.strip().casefold()): v for k, v in table.items()}
    keys = values.astype(str).str.strip().str.casefold().str.replace(r"\s+", " ", regex=True)
    mapped = keys.map(lookup)
    return mapped.where(mapped.notna() & (values != ""), values)


def _flag_values(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(True where yes, True where the cell is neither missing nor a yes/no word)."""
    lower = text.str.lower()
    known = lower.isin(list(FLAG_WORDS))
    yes = lower.map(FLAG_WORDS).astype(object).eq(True)
    return yes.astype(bool), (text != "") & ~known


def _leads_parts(r: _Reader, today: date) -> tuple[list[ingest.Part], pd.DataFrame]:
    """Parts for one leads file, and its stage entries (for de-duplicating deal entries)."""
    m, src, file = r.mapping, r.src, r.src.file
    n = len(src.data)
    pos = pd.RangeIndex(n)
    id_col = m.fields["lead_id"]
    assert isinstance(id_col, str)
    lead_id = clean_ids(r.text(id_col)).reset_index(drop=True)
    raw_full = src.data
    native: dict[str, pd.Series] = {"lead_id": lead_id}
    sources: dict[str, str] = {"lead_id": r.name(id_col)}
    faults: list[pd.DataFrame] = []
    missing_cols: list[str] = []

    def col_text(fld: str) -> pd.Series | None:
        spec = m.fields.get(fld)
        if spec is None:
            return None
        cols = (spec,) if isinstance(spec, str) else spec
        have = [c for c in cols if r.has(c)]
        missing_cols.extend(c for c in cols if not r.has(c))
        if not have:
            return None
        sources[fld] = " + ".join(r.name(c) for c in have)
        if len(have) == 1:
            out = r.text(have[0])
        else:
            parts_ = [r.text(c) for c in have]
            out = parts_[0]
            for p in parts_[1:]:
                out = (out + " " + p).str.strip()
        return out.reset_index(drop=True)

    # Dated stage entries come first: a missing create date may fall back on them.
    stage_dates: dict[str, DateColumn] = {}
    for stage, col in m.stage_dates.items():
        if not r.has(col):
            missing_cols.append(col)
            continue
        parsed = r.dates(col)
        stage_dates[stage] = DateColumn(
            parsed.values.reset_index(drop=True),
            parsed.bad.reset_index(drop=True),
            parsed.detected,
        )
    created = pd.Series(pd.NaT, index=pos, dtype="datetime64[us]")
    created_bad = pd.Series(False, index=pos)
    created_given = pd.Series(False, index=pos)
    if "created_at" in m.fields and r.has(str(m.fields["created_at"])):
        col = str(m.fields["created_at"])
        parsed = r.dates(col)
        created = parsed.values.reset_index(drop=True)
        created_bad = parsed.bad.reset_index(drop=True)
        created_given = created.notna() | created_bad
        sources["created_at"] = r.name(col)
        text = r.text(col).reset_index(drop=True)
        says = ingest._value_says("created_at", text, f"is not a date ({DATE_EXAMPLE})")
        faults.append(ingest._fault(created_bad, 1, "created_at", "not a date", says))
    elif "created_at" in m.fields:
        missing_cols.append(str(m.fields["created_at"]))
    # Fallbacks for a missing create date: earliest stage date, then a fixed day.
    earliest = pd.DataFrame({s: d.values for s, d in stage_dates.items()}, index=pos).min(axis=1)
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
    native["created_at"] = _iso(created.where(~created_bad, pd.Timestamp("2000-01-01")))

    for fld in LEAD_FIELDS:
        if fld in ("lead_id", "created_at"):
            continue
        text = col_text(fld)
        if text is None:
            continue
        if fld == "employees":
            num = parse_employees(text)
            text = text.where(num.isna(), num.map(lambda v: f"{v:.0f}" if v == v else ""))
        elif fld == "region":
            text = pd.Series(standard_region(text.where(text != "")).fillna(""), dtype=object)
        native[fld] = _standardise(text, m.values.get(fld))
    if "region" not in m.fields and "country" in native:
        native["region"] = region_of(native["country"].where(native["country"] != "")).fillna("")
    if "email_domain_kind" not in m.fields and "email" in native:
        email = native["email"].str.lower()
        domain = email.str.extract(r"@([^@\s]+)$", expand=False)
        native["email_domain_kind"] = pd.Series(
            np.where(
                domain.isna(),
                "unknown",
                np.where(domain.isin(FREE_EMAIL_DOMAINS), "free", "corporate"),
            ),
            index=pos,
        )
    parts = [
        _part(
            "leads",
            file,
            {k: v.set_axis(raw_full.index) for k, v in native.items()},
            raw_full,
            [f.assign(pos=f["pos"]) for f in faults],
            sources=sources,
        )
    ]

    # Stage entries.
    system = m.source_system
    lead_ids_ix = lead_id.set_axis(raw_full.index)
    order = {s: i for i, s in enumerate(STAGES)}
    dated_ok = {s: d.values.notna() for s, d in stage_dates.items()}
    entries: list[pd.DataFrame] = []
    for stage, parsed in stage_dates.items():
        col = m.stage_dates[stage]
        rows = (parsed.values.notna() | parsed.bad).to_numpy()
        if not rows.any():
            continue
        idx = raw_full.index[rows]
        text = r.text(col).reset_index(drop=True)[rows].reset_index(drop=True)
        bad = parsed.bad[rows].reset_index(drop=True)
        says = ingest._value_says("changed_at", text, f"is not a date ({DATE_EXAMPLE})")
        when = parsed.values[rows].reset_index(drop=True)
        part = _part(
            "stage_changes",
            file,
            {
                "lead_id": lead_ids_ix[idx],
                "stage": pd.Series(stage, index=idx),
                "changed_at": _iso(when.where(~bad, pd.Timestamp("2000-01-01"))).set_axis(idx),
                "source_system": pd.Series(system, index=idx),
            },
            r.raw(id_col, col).loc[idx],
            [ingest._fault(bad, 2, "changed_at", "not a date", says)],
            follows="leads",
            sources={"changed_at": r.name(col), "stage": r.name(col)},
        )
        parts.append(part)
        entries.append(
            pd.DataFrame({"lead_id": lead_ids_ix[idx], "stage": stage, "at": when.to_numpy()})
        )

    # Undated entries: flags and stage values, unless a dated entry covers them.
    covered: dict[str, pd.Series] = {}
    for stage in ALL_STAGES:
        mask = pd.Series(False, index=pos)
        if stage in STAGES:
            for later in STAGES[order[stage] :]:
                if later in dated_ok:
                    mask |= dated_ok[later]
        elif stage in dated_ok:
            mask |= dated_ok[stage]
        covered[stage] = mask
    undated_sources: list[tuple[str, str, pd.Series, pd.Series | None]] = []
    for col, stage in m.flags.items():
        if not r.has(col):
            missing_cols.append(col)
            continue
        text = r.text(col).reset_index(drop=True)
        yes, bad = _flag_values(text)
        undated_sources.append((col, stage, yes, bad))
    for col, table in m.stage_values.items():
        if not r.has(col):
            missing_cols.append(col)
            continue
        text = r.text(col).reset_index(drop=True)
        keys = text.map(value_key)
        lookup = {value_key(k): v for k, v in table.items()}
        stage_of = keys.map(lambda k, known=lookup: known.get(k, STAGE_WORDS.get(k)))
        unknown = (text != "") & stage_of.isna()
        if unknown.any():
            counts = text[unknown].value_counts()
            shown = ", ".join(f"{v!r} ({c})" for v, c in counts.head(5).items())
            r.notes.append(
                f"{file}: {r.name(col)!r} values with no stage (not listed in the mapping): "
                f"{shown}{' …' if len(counts) > 5 else ''}"
            )
        for stage in ALL_STAGES:
            hit = stage_of == stage
            if hit.any():
                undated_sources.append((col, stage, hit, None))
    done: dict[str, pd.Series] = {s: pd.Series(False, index=pos) for s in ALL_STAGES}
    known_dates = pd.DataFrame({s: d.values for s, d in stage_dates.items()}, index=pos)
    for col, stage, yes, bad in undated_sources:
        # An undated "lead" entry would only repeat created_at.
        want = yes & ~covered[stage] & ~done[stage] & (stage != "lead")
        done[stage] |= want
        rows = (want | (bad if bad is not None else False)).to_numpy()
        if not rows.any():
            continue
        if stage in STAGES:
            earlier = [s for s in STAGES[: order[stage]] if s in known_dates]
        else:
            earlier = list(known_dates.columns)
        bound = pd.concat([created, *(known_dates[s] for s in earlier)], axis=1).max(axis=1)
        idx = raw_full.index[rows]
        bound = bound[rows].reset_index(drop=True).astype("datetime64[us]")
        flt = []
        if bad is not None:
            b = bad[rows].reset_index(drop=True)
            text = r.text(col).reset_index(drop=True)[rows].reset_index(drop=True)
            says = ingest._value_says(
                "flag", text, "is not a yes/no value (yes/no, true/false, y/n, 1/0)"
            )
            flt.append(ingest._fault(b, 1, "stage", "not yes/no", says))
        parts.append(
            _part(
                "stage_changes",
                file,
                {
                    "lead_id": lead_ids_ix[idx],
                    "stage": pd.Series(stage, index=idx),
                    "changed_at": _iso(bound).set_axis(idx),
                    "source_system": pd.Series(f"{system} (undated)", index=idx),
                },
                r.raw(id_col, col).loc[idx],
                flt,
                follows="leads",
                sources={"stage": r.name(col), "changed_at": r.name(col)},
            )
        )
        entries.append(
            pd.DataFrame({"lead_id": lead_ids_ix[idx], "stage": stage, "at": bound.to_numpy()})
        )

    # Properties: every other column (or the listed ones), a missing value as NULL.
    used = m.lead_columns()
    excluded = {norm_name(c) for c in m.exclude}
    if m.keep == "rest":
        keep = [c for c in src.data.columns if norm_name(c) not in used | excluded]
    else:
        keep = [r.name(c) for c in m.keep if r.has(c) and norm_name(c) not in excluded]
        absent = [c for c in m.keep if not r.has(c)]
        if absent:
            r.notes.append(f"{file}: property column(s) not in the file: {', '.join(absent)}")
    empty: list[str] = []
    kept: list[str] = []
    for col in keep:
        text = r.text(col)
        if not (text != "").any():
            empty.append(col)
            continue
        kept.append(col)
        number = parse_number(text)
        # Plain numbers pass as written; decorated ones ($1,200) as the number read.
        plain = text.str.fullmatch(r"[+-]?\d+(?:\.\d+)?").fillna(False).astype(bool)
        number_text = text.where(plain, "")
        decorated = ~plain & number.notna()
        if decorated.any():
            number_text = number_text.where(~decorated, number[decorated].map(_number_text))
        parts.append(
            _part(
                "lead_properties",
                file,
                {
                    "lead_id": lead_ids_ix,
                    "name": pd.Series(col, index=raw_full.index),
                    "value": text,
                    "value_number": number_text,
                },
                r.raw(id_col, col),
                follows="leads",
                sources={"value": col, "value_number": col},
            )
        )
    if kept:
        r.notes.append(f"{file}: {len(kept)} column(s) kept as lead properties")
    if empty:
        r.notes.append(f"{file}: empty in every row, not kept: {', '.join(empty)}")
    if missing_cols:
        r.notes.append(
            f"{file}: mapped column(s) not in the file: {', '.join(dict.fromkeys(missing_cols))}"
        )
    stage_rows = (
        pd.concat(entries, ignore_index=True)
        if entries
        else pd.DataFrame(columns=["lead_id", "stage", "at"])
    )
    return parts, stage_rows


def _deals_parts(r: _Reader, lead_entries: pd.DataFrame) -> list[ingest.Part]:
    """Parts for one deals file: opportunities and the stage entries they imply."""
    m, src, file = r.mapping, r.src, r.src.file
    assert m.deals is not None
    cols = m.deals.columns
    pos = pd.RangeIndex(len(src.data))
    raw_full = src.data
    absent = [c for f, c in cols.items() if not r.has(c)]
    if not r.has(cols["lead_id"]):
        raise UnusableInput(f"{file}: no lead id column {cols['lead_id']!r} for the deals")
    date_cols = [cols[f] for f in ("created_at", "closed_at") if f in cols and r.has(cols[f])]
    if not date_cols:
        raise UnusableInput(
            f"{file}: a deals file needs a created or close date column; the mapping names "
            f"{', '.join(cols.get(f, '-') for f in ('created_at', 'closed_at'))}"
        )
    if absent:
        r.notes.append(f"{file}: mapped deal column(s) not in the file: {', '.join(absent)}")

    def text(fld: str) -> pd.Series | None:
        col = cols.get(fld)
        if col is None or not r.has(col):
            return None
        return r.text(col).reset_index(drop=True)

    lead_id = clean_ids(text("lead_id"))
    sources = {
        f: r.name(c)
        for f, c in cols.items()
        if r.has(c) and f in TABLES["opportunities"].column_names
    }
    faults: list[pd.DataFrame] = []

    def dates(fld: str) -> tuple[pd.Series, pd.Series]:
        col = cols.get(fld)
        if col is None or not r.has(col):
            return pd.Series(pd.NaT, index=pos, dtype="datetime64[us]"), pd.Series(False, index=pos)
        parsed = r.dates(col)
        v, b = parsed.values.reset_index(drop=True), parsed.bad.reset_index(drop=True)
        t = r.text(col).reset_index(drop=True)
        order = TABLES["opportunities"].column_names.index(fld)
        says = ingest._value_says(fld, t, f"is not a date ({DATE_EXAMPLE})")
        faults.append(ingest._fault(b, order, fld, "not a date", says))
        return v, b

    created, created_bad = dates("created_at")
    closed, closed_bad = dates("closed_at")
    if "created_at" not in cols or not r.has(cols["created_at"]):
        created = closed
        sources["created_at"] = sources.get("closed_at", "created_at")
        r.notes.append(f"{file}: no deal create date column: a deal's close date stands in")
    outcome = pd.Series("open", index=pos, dtype=object)
    won_t, closed_t = text("won"), text("closed")
    if won_t is not None:
        won, bad = _flag_values(won_t)
        says = ingest._value_says("won", won_t, "is not a yes/no value")
        faults.append(ingest._fault(bad, 5, "outcome", "not yes/no", says))
        sources.setdefault("outcome", r.name(cols["won"]))
        is_closed = won.copy()
        if closed_t is not None:
            c, bad_c = _flag_values(closed_t)
            says = ingest._value_says("closed", closed_t, "is not a yes/no value")
            faults.append(ingest._fault(bad_c, 5, "outcome", "not yes/no", says))
            is_closed |= c
        outcome = pd.Series(np.where(won, "won", np.where(is_closed, "lost", "open")), index=pos)
    elif text("outcome") is not None:
        t = text("outcome")
        lookup = {value_key(k): v for k, v in m.deals.outcome_values.items()}
        keys = t.map(value_key)

        def read(k: str) -> str:
            if k in lookup:
                return lookup[k]
            if k in ("won", "closedwon") or k.endswith("closedwon"):
                return "won"
            if k in ("lost", "closedlost") or k.endswith("closedlost"):
                return "lost"
            return "open"

        outcome = keys.map(read).astype(object)
    elif closed.notna().any():
        r.notes.append(f"{file}: no outcome column: every deal is read as open")
    closed_at = closed.where(outcome.isin(["won", "lost"]))
    if "opportunity_id" in cols and r.has(cols["opportunity_id"]):
        opp_id = clean_ids(text("opportunity_id"))
    else:
        nth = lead_id.groupby(lead_id).cumcount() + 1
        opp_id = (lead_id + "/" + nth.astype(str)).where(lead_id != "", "")
        r.notes.append(f"{file}: no deal id column: deals are called <lead id>/<n>")
    amount_t = text("amount")
    amount = None
    if amount_t is not None:
        num = parse_number(amount_t)
        amount = amount_t.where(num.isna(), num.map(_number_text))
    native = {
        "opportunity_id": opp_id,
        "lead_id": lead_id,
        "created_at": _iso(created.where(~created_bad, pd.Timestamp("2000-01-01"))),
        "amount": amount,
        "closed_at": _iso(closed_at.where(~closed_bad, pd.NaT)),
        "outcome": outcome,
        "lost_reason": text("lost_reason"),
    }
    native = {k: v.set_axis(raw_full.index) for k, v in native.items() if v is not None}
    parts = [_part("opportunities", file, native, raw_full, faults, sources=sources)]
    # Stage entries implied by the deals, minus those the leads file already gives.
    ok = (~created_bad & ~closed_bad & created.notna()).to_numpy()
    implied = [
        ("opportunity", ok, created, False),
        ("customer", ok & (outcome == "won").to_numpy() & closed.notna().to_numpy(), closed, False),
        ("customer", ok & (outcome == "won").to_numpy() & closed.isna().to_numpy(), created, True),
    ]
    seen = set(
        zip(
            lead_entries["lead_id"].astype(str),
            lead_entries["stage"].astype(str),
            pd.to_datetime(lead_entries["at"]).astype("datetime64[us]"),
            strict=True,
        )
    )
    system = m.source_system
    for stage, rows, when, undated in implied:
        keys = list(
            zip(
                lead_id.astype(str),
                [stage] * len(lead_id),
                when.astype("datetime64[us]"),
                strict=True,
            )
        )
        keep = np.zeros(len(rows), dtype=bool)
        for i in np.flatnonzero(rows):
            if keys[i] not in seen:
                seen.add(keys[i])
                keep[i] = True
        if not keep.any():
            continue
        idx = raw_full.index[keep]
        col = cols["closed_at"] if stage == "customer" and not undated else cols.get("created_at")
        col = col if col and r.has(col) else date_cols[0]
        parts.append(
            _part(
                "stage_changes",
                file,
                {
                    "lead_id": lead_id.set_axis(raw_full.index)[idx],
                    "stage": pd.Series(stage, index=idx),
                    "changed_at": _iso(when.set_axis(raw_full.index)[idx]),
                    "source_system": pd.Series(
                        f"{system} (undated)" if undated else system, index=idx
                    ),
                },
                r.raw(cols["lead_id"], col).loc[idx],
                follows="opportunities",
                sources={"changed_at": r.name(col)},
            )
        )
    return parts


# --------------------------------------------------------------------------------------
# The import
# --------------------------------------------------------------------------------------


def resolve_mapping(
    mapping: Mapping | Path | str | None = None, preset_name: str | None = None
) -> Mapping | None:
    """The mapping an import uses.

    A :class:`Mapping` as is, a TOML file (on top of the preset when one is named), the
    preset alone, or None (detect the mapping per file).
    """
    if isinstance(mapping, Mapping):
        return mapping
    if mapping is not None:
        return load_mapping(mapping, preset_name)
    if preset_name is not None:
        return preset(preset_name)
    return None


def import_flat(
    db: Path | str,
    files: Sequence[Path | str],
    *,
    mapping: Mapping | Path | str | None = None,
    preset: str | None = None,
    strict: bool = False,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
    today: date | None = None,
) -> ImportResult:
    """Validate and import flat CRM exports in one batch (see the module docstring).

    Parameters
    ----------
    db : Path or str
        The database file; created when missing (not by a dry run).
    files : sequence of Path or str
        CSV or Parquet exports: leads files and, optionally, deals files.
    mapping : Mapping, Path or str, optional
        A :class:`Mapping` or the path of a TOML mapping file.
    preset : {'hubspot', 'salesforce'}, optional
        A shipped mapping; with ``mapping`` given as a file, the file is read on top of it.
        With neither, the mapping is detected from each file's header
        (:func:`detect_mapping`) and the notes say so.
    strict : bool
        When true, a batch with any refused row writes nothing at all.
    dry_run : bool
        Run every check and write nothing (the Data page's "validate" step).
    progress : callable, optional
        Called with a short line per step.
    today : date, optional
        The import day, used as ``created_at`` of leads without any date (default: today
        in UTC); the mapping's ``created_at_fallback`` wins over it.

    Returns
    -------
    ImportResult
        Rows per table (``leads``, ``lead_properties``, ``stage_changes``,
        ``opportunities``), refused rows naming the input column at fault, and notes
        (mapping used, date formats found, fallbacks, columns not in the file).

    Raises
    ------
    analysis.ingest.UnusableInput
        No files, an unreadable file, a file that is neither a leads nor a deals file
        under the mapping, a date column whose format cannot be told, or a bad mapping
        (:class:`MappingError`); raised before anything is written.
    analysis.store.SchemaError
        The database was written by a newer version or is not a Handoff Health file.
    """
    say = progress or (lambda _step: None)
    started = datetime.now(UTC).replace(tzinfo=None)
    today = today or started.date()
    paths = [Path(f) for f in files]
    if not paths:
        raise UnusableInput("no files to import")
    for path in paths:
        if not path.is_file():
            raise UnusableInput(f"{path}: file not found")
        if ingest._format_of(path) is None:
            raise UnusableInput(
                f"{path.name}: unsupported format; expected a .csv or .parquet file"
            )
    shown = ingest.shown_names(paths)
    chosen = resolve_mapping(mapping, preset)
    notes: list[str] = []
    sources: list[tuple[_Source, Mapping]] = []
    frames = [(path.name, read_export(path)) for path in paths]
    if chosen is None:
        chosen = detect_files_mapping(frames)
        notes.append(f"no mapping given: detected mapping {chosen.name!r} from the header")
    else:
        notes.append(f"mapping {chosen.name!r}")
    for path, file, (_name, data) in zip(paths, shown, frames, strict=True):
        m = chosen
        kind = classify(list(data.columns), m, path.name)
        if kind is None:
            lead_col = m.fields.get("lead_id", "(none)")
            deal_col = m.deals.columns["lead_id"] if m.deals else None
            expected = f"a leads file needs the column {lead_col!r}" + (
                f", a deals file the column {deal_col!r}" if deal_col else ""
            )
            raise UnusableInput(
                f"{file}: not a leads or deals export for mapping {m.name!r}: {expected} "
                f"(the header has: {', '.join(map(str, data.columns)) or 'nothing'})"
            )
        cols = {norm_name(c): str(c) for c in data.columns}
        sources.append((_Source(path, file, kind, data, cols), m))
        say(f"read {file}: {len(data):,} rows, a {kind} file (mapping {m.name!r})")
    parts: list[ingest.Part] = []
    lead_entries: list[pd.DataFrame] = []
    for src, m in sources:
        if src.kind == "leads":
            p, e = _leads_parts(_Reader(src, m, notes), today)
            parts += p
            lead_entries.append(e)
    entries = (
        pd.concat(lead_entries, ignore_index=True)
        if lead_entries
        else pd.DataFrame(columns=["lead_id", "stage", "at"])
    )
    for src, m in sources:
        if src.kind == "deals":
            parts += _deals_parts(_Reader(src, m, notes), entries)
    for note in notes:
        say(note)
    return ingest.apply_parts(
        db,
        parts,
        files=shown,
        notes=notes,
        strict=strict,
        dry_run=dry_run,
        kind="flat import",
        progress=progress,
        started=started,
    )


# --------------------------------------------------------------------------------------
# Lead properties as scoring features
# --------------------------------------------------------------------------------------

PROPERTY_CATALOGUE_SQL = """
SELECT name,
    count(*) FILTER (WHERE value IS NOT NULL) AS leads,
    count(*) FILTER (WHERE value_number IS NOT NULL) AS numeric_leads,
    count(DISTINCT value) AS distinct_values,
    (list(DISTINCT value ORDER BY value) FILTER (WHERE value IS NOT NULL))[1:5] AS examples
FROM lead_properties
GROUP BY name
ORDER BY name
"""

NUMERIC_SHARE = 0.95
"""A property is numeric when at least this share of its non-missing values are numbers."""


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the database has the table (files older than ``lead_properties`` lack it)."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = "
        "current_database()",
        [name],
    ).fetchone()
    return bool(row and row[0])


def property_catalogue(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The lead properties stored, with their kind.

    Returns
    -------
    DataFrame
        One row per property: ``name``, ``kind`` ('numeric' when at least
        :data:`NUMERIC_SHARE` of its values are numbers, else 'categorical'), ``leads``
        (leads with a value), ``distinct_values`` and ``examples`` (up to five values,
        comma-separated). Empty when the database has no ``lead_properties`` table.
    """
    cols = ["name", "kind", "leads", "distinct_values", "examples"]
    if not has_table(con, "lead_properties"):
        return pd.DataFrame(columns=cols)
    df = con.execute(PROPERTY_CATALOGUE_SQL).df()
    if df.empty:
        return pd.DataFrame(columns=cols)
    numeric = (df["leads"] > 0) & (df["numeric_leads"] >= NUMERIC_SHARE * df["leads"])
    df["kind"] = np.where(numeric, "numeric", "categorical")
    df["examples"] = df["examples"].map(lambda v: ", ".join(map(str, list(v))))
    return df[cols]


PROPERTY_VALUES_SQL = """
SELECT lead_id, value, value_number
FROM lead_properties
WHERE name = $name AND value IS NOT NULL
"""


def property_block(
    con: duckdb.DuckDBPyConnection,
    lead_ids: Sequence[str] | np.ndarray,
    names: Sequence[str],
    *,
    max_levels: int = 20,
    quantiles: Sequence[float] = (0.25, 0.5, 0.75),
) -> tuple[np.ndarray, list[str]]:
    """0/1 feature columns from lead properties, aligned with ``lead_ids``.

    A categorical property gives one column per frequent value, ``<name>=<value>`` (the
    ``max_levels`` most frequent values; others and missing are all 0). A numeric
    property gives step columns ``<name>=≥<t>`` at the quartiles of its values (distinct
    thresholds only; missing is 0), so points add up as the value grows.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection to a Handoff Health database with ``lead_properties``.
    lead_ids : sequence of str, length n
        Row order of the result (e.g. :attr:`analysis.features.FeatureMatrix.lead_ids`).
    names : sequence of str
        Property names (:func:`property_catalogue`).
    max_levels : int
        At most this many value columns per categorical property.
    quantiles : sequence of float
        Quantiles (0-1) of a numeric property's values used as thresholds.

    Returns
    -------
    (ndarray of float32, shape (n, k), list of str of length k)
        The columns and their names.
    """
    catalogue = property_catalogue(con).set_index("name")
    unknown = [n for n in names if n not in catalogue.index]
    if unknown:
        raise ValueError(
            f"unknown lead properties {unknown}; stored: {', '.join(catalogue.index) or 'none'}"
        )
    if max_levels < 1:
        raise ValueError(f"max_levels must be at least 1, got {max_levels}")
    index = pd.Index(np.asarray(lead_ids, dtype=object))
    blocks, out_names = [], []
    for name in dict.fromkeys(names):
        rows = con.execute(PROPERTY_VALUES_SQL, {"name": name}).df()
        at = index.get_indexer(rows["lead_id"].astype(object))
        rows = rows.loc[at >= 0]
        at = at[at >= 0]
        if catalogue.loc[name, "kind"] == "numeric":
            num = rows["value_number"].to_numpy(dtype=float)
            fine = np.isfinite(num)
            cuts = (
                sorted(set(np.quantile(num[fine], list(quantiles)).round(6))) if fine.any() else []
            )
            for t in cuts:
                col = np.zeros(len(index), dtype=np.float32)
                col[at[fine & (num >= t)]] = 1.0
                blocks.append(col[:, None])
                out_names.append(f"{name}=≥{t:g}")
        else:
            counts = rows["value"].value_counts()
            levels = sorted(counts.index[:max_levels].astype(str), key=lambda v: (-counts[v], v))
            codes = pd.Index(levels, dtype=object).get_indexer(rows["value"].astype(object))
            block = np.zeros((len(index), len(levels)), dtype=np.float32)
            hit = codes >= 0
            block[at[hit], codes[hit]] = 1.0
            blocks.append(block)
            out_names += [f"{name}={v}" for v in levels]
    if not blocks:
        return np.zeros((len(index), 0), dtype=np.float32), []
    return np.hstack(blocks).astype(np.float32), out_names


def add_property_features(
    fm: Any,
    con: duckdb.DuckDBPyConnection,
    names: Sequence[str],
    *,
    max_levels: int = 20,
) -> Any:
    """A copy of a feature matrix with lead-property columns appended as ``fit`` features.

    Lead properties are a snapshot taken when the export was made, not as of each lead's
    decision point: a property that sales fills in after the handoff leaks the outcome
    into the features. Check :func:`analysis.leakage.property_leakage` before using one.

    Parameters
    ----------
    fm : analysis.features.FeatureMatrix
        The matrix from :func:`analysis.features.build_features`.
    con : DuckDBPyConnection
        The same database.
    names : sequence of str
        Property names to add (see :func:`property_block`).
    max_levels : int
        At most this many value columns per categorical property.

    Returns
    -------
    FeatureMatrix
        Same leads and outcomes; ``X``, ``names`` and ``kinds`` extended.

    Raises
    ------
    ValueError
        A property is unknown, or a new column name is already a feature name.
    """
    block, new = property_block(con, fm.lead_ids, names, max_levels=max_levels)
    clash = sorted(set(new) & set(fm.names))
    if clash:
        raise ValueError(f"property feature names already in the matrix: {clash}")
    X = np.ascontiguousarray(np.hstack([fm.X, block]), dtype=np.float32)
    return replace(
        fm,
        X=X,
        names=(*fm.names, *new),
        kinds=(*fm.kinds, *(["fit"] * len(new))),
    )
