"""The company's own settings: who is a good fit, how money is shown, where CRM records live.

Query intuition
---------------
Settings are facts about the company, not about its history, so they live in one small
``settings`` table (``key``, ``value`` as JSON text) in the same file and change through
the same write path as every import. A key that is not stored takes its documented
default; the defaults describe no particular company (no target industries or regions:
features that need them are simply not offered until the user sets them). The demo
generator writes its company's settings as one example (``data/settings/demo.toml``).

Readers call :func:`load` with a read cursor and get a frozen, hashable
:class:`CompanySettings` (safe as a cache key); writers call :func:`save`.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import duckdb

from analysis.store.write import write_session

SETTINGS_DDL = "CREATE TABLE IF NOT EXISTS settings (key VARCHAR PRIMARY KEY, value VARCHAR)"

DEFAULT_SENIOR_TITLE_PATTERN = (
    r"\b(VP|Vice President|Director|Head of|Chief|CEO|CFO|CTO|CMO|COO|CIO|CRO|Owner|Founder)\b"
)
"""Regular expression (case-insensitive) for a senior job title, unless the company sets one."""


@dataclass(frozen=True)
class CompanySettings:
    """What the company says about itself; every field has a neutral default.

    Attributes
    ----------
    target_industries : tuple of str
        Industry labels (as stored in ``leads.industry``) the company sells to. Empty: the
        ``target_industry`` feature is not offered.
    target_regions : tuple of str
        Region labels (``leads.region``) the company sells to. Empty: not offered.
    min_employees : int
        Company size (employees) from which a lead is a good size fit.
    senior_title_pattern : str
        Case-insensitive regular expression for a senior job title.
    currency : str
        ISO 4217 code of ``opportunities.amount`` and revenue targets, for display.
    crm_record_url : str
        Link template to a lead's record in the CRM, with ``{lead_id}`` where the id goes;
        empty: no links.
    show_personal_data : bool
        Whether pages may show names, emails and phone numbers (masked otherwise).
    """

    target_industries: tuple[str, ...] = ()
    target_regions: tuple[str, ...] = ()
    min_employees: int = 200
    senior_title_pattern: str = DEFAULT_SENIOR_TITLE_PATTERN
    currency: str = "USD"
    crm_record_url: str = ""
    show_personal_data: bool = False

    def __post_init__(self) -> None:
        """Check every value; raises ValueError naming the setting and what arrived."""
        for name in ("target_industries", "target_regions"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{name} must be a list of labels, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        if not isinstance(self.min_employees, int) or self.min_employees < 0:
            raise ValueError(
                f"min_employees must be a whole number >= 0, got {self.min_employees!r}"
            )
        try:
            re.compile(self.senior_title_pattern)
        except (re.error, TypeError) as exc:
            raise ValueError(
                f"senior_title_pattern must be a regular expression, got "
                f"{self.senior_title_pattern!r} ({exc})"
            ) from exc
        if not re.fullmatch(r"[A-Z]{3}", str(self.currency)):
            raise ValueError(
                f"currency must be a 3-letter ISO code like USD, got {self.currency!r}"
            )
        if self.crm_record_url and "{lead_id}" not in self.crm_record_url:
            raise ValueError(
                f"crm_record_url must contain {{lead_id}}, got {self.crm_record_url!r}"
            )
        if not isinstance(self.show_personal_data, bool):
            raise ValueError(
                f"show_personal_data must be true or false, got {self.show_personal_data!r}"
            )


DEFAULTS = CompanySettings()
"""The settings of a new install."""
KEYS: tuple[str, ...] = tuple(f.name for f in fields(CompanySettings))
"""The setting names, in display order."""


def from_mapping(values: dict[str, Any], base: CompanySettings = DEFAULTS) -> CompanySettings:
    """``base`` with the given settings replaced; raises ValueError on an unknown name."""
    unknown = sorted(set(values) - set(KEYS))
    if unknown:
        raise ValueError(
            f"unknown setting(s) {', '.join(unknown)}; expected one of {', '.join(KEYS)}"
        )
    clean = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return replace(base, **clean)


def from_toml(text: str, base: CompanySettings = DEFAULTS) -> CompanySettings:
    """Settings from TOML text (top-level keys named as :data:`KEYS`)."""
    return from_mapping(tomllib.loads(text), base)


def to_mapping(settings: CompanySettings) -> dict[str, Any]:
    """Plain JSON-ready values (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()}


def load(con: duckdb.DuckDBPyConnection) -> CompanySettings:
    """The company's settings stored in the database; defaults where nothing is stored.

    A file without a ``settings`` table (written before settings existed) reads as the
    defaults. A stored value that no longer passes its check raises ValueError naming it.
    """
    try:
        rows = con.execute("SELECT key, value FROM settings").fetchall()
    except duckdb.CatalogException:
        return DEFAULTS
    stored = {k: json.loads(v) for k, v in rows if k in KEYS}
    return from_mapping(stored)


def write(con: duckdb.DuckDBPyConnection, settings: CompanySettings) -> None:
    """Store every setting inside an open write session (``con`` from ``write_session``)."""
    con.execute(SETTINGS_DDL)
    for key, value in to_mapping(settings).items():
        con.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [key, json.dumps(value)])


def save(path: Path | str, settings: CompanySettings) -> None:
    """Replace the stored settings of the database at ``path`` through the write path."""
    with write_session(path) as con:
        write(con, settings)
