"""The words of flat imports: placeholders, flag and stage spellings, field lists.

Shared by every module of :mod:`analysis.imports.flat`; nothing here reads a file.
"""

from __future__ import annotations

import re

from analysis.imports import ingest
from analysis.imports.ingest import UnusableInput
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
        "(not set)",
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
    "owner_rep_id",
)
"""Deal fields a mapping's ``[deals]`` table may name; ``won``/``closed`` are yes/no;
``owner_rep_id`` is the rep who owns the deal, stored as the lead's owner."""

REP_FIELDS: tuple[str, ...] = tuple(TABLES["reps"].column_names)
"""Rep fields a mapping's ``[reps]`` table may name (the ``reps`` table's columns)."""

ALL_STAGES: tuple[str, ...] = STAGES + SIDE_STAGES
DATE_FORMATS: dict[str, str] = {
    "iso": "ISO (YYYY-MM-DD)",
    "dmy": "day first (DD-MM-YYYY)",
    "mdy": "month first (MM/DD/YYYY)",
}
"""Date formats a mapping may name for a column."""


NOT_SET = "(not set)"
"""How a missing value is shown. Stored as ``NULL`` (never as text), so it cannot equal a
real value such as the literal ``unknown``; a cell reading ``(not set)`` is missing too. A
``[values.<field>]`` table may relabel missing values with the key ``""`` or ``"(not set)"``."""


class MappingError(UnusableInput):
    """A mapping file or table that cannot be used; raised before anything is read."""


def norm_name(name: object) -> str:
    """Header comparison key: trimmed and lower-cased (as :func:`ingest.read_input` does)."""
    return str(name).strip().lower()


def value_key(value: object) -> str:
    """Value comparison key: lower-cased, letters and digits only.

    ``Closed - Won`` and ``closedwon`` share the key ``closedwon``.
    """
    return re.sub(r"[^0-9a-z]", "", str(value).casefold())
