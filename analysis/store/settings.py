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
:class:`CompanySettings` (safe as a cache key); writers call :func:`save` (all settings),
:func:`update` (some, the others kept) or, inside a write session they already hold,
:func:`write`. :func:`parse_value` and :func:`to_text` turn one setting into and from the
text a command line or a form carries, and :data:`DESCRIPTIONS` says what each means.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import duckdb

from analysis.store.schema import has_table
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
            if (
                isinstance(value, str)
                or not isinstance(value, list | tuple)
                or not all(isinstance(v, str) and v.strip() for v in value)
            ):
                raise ValueError(f"{name} must be a list of non-empty labels, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        if (
            isinstance(self.min_employees, bool)
            or not isinstance(self.min_employees, int)
            or self.min_employees < 0
        ):
            raise ValueError(
                f"min_employees must be a whole number >= 0, got {self.min_employees!r}"
            )
        if not isinstance(self.senior_title_pattern, str) or not self.senior_title_pattern:
            raise ValueError(
                f"senior_title_pattern must be a non-empty regular expression, got "
                f"{self.senior_title_pattern!r}"
            )
        try:
            re.compile(self.senior_title_pattern)
        except re.error as exc:
            raise ValueError(
                f"senior_title_pattern must be a regular expression, got "
                f"{self.senior_title_pattern!r} ({exc})"
            ) from exc
        if not isinstance(self.currency, str) or not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError(
                f"currency must be a 3-letter ISO code like USD, got {self.currency!r}"
            )
        _check_crm_record_url(self.crm_record_url)
        if not isinstance(self.show_personal_data, bool):
            raise ValueError(
                f"show_personal_data must be true or false, got {self.show_personal_data!r}"
            )


def _check_crm_record_url(url: object) -> None:
    """Raise ValueError unless ``url`` is empty or an http(s) link template with {lead_id}."""
    if not isinstance(url, str):
        raise ValueError(f"crm_record_url must be text, got {url!r}")
    if not url:
        return
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"crm_record_url must start with https:// or http://, got {url!r}")
    if "{lead_id}" not in url:
        raise ValueError(f"crm_record_url must contain {{lead_id}}, got {url!r}")
    try:
        url.format(lead_id="L000001")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"crm_record_url may contain only the placeholder {{lead_id}}, got {url!r}"
        ) from exc


DEFAULTS = CompanySettings()
"""The settings of a new install."""
KEYS: tuple[str, ...] = tuple(f.name for f in fields(CompanySettings))
"""The setting names, in display order."""

DESCRIPTIONS: dict[str, str] = {
    "target_industries": "Industries you sell to (as stored in leads.industry); a lead in one "
    "of them has the target_industry fit feature. Empty: the feature is not offered.",
    "target_regions": "Regions you sell to (as stored in leads.region); a lead in one of them "
    "has the target_region fit feature. Empty: the feature is not offered.",
    "min_employees": "Company size (employees) from which a lead is a good size fit.",
    "senior_title_pattern": "Regular expression (case-insensitive) that marks a senior job "
    "title, for the senior_title fit feature.",
    "currency": "ISO 4217 code of deal amounts and revenue targets, used when money is shown.",
    "crm_record_url": "Link to a lead's record in your CRM, with {lead_id} where the id goes "
    "(https://...); empty: no links.",
    "show_personal_data": "Whether pages may show names, emails and phone numbers (masked "
    "otherwise).",
}
"""What each setting means, in words for the Settings page and ``handoff settings``."""

_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def parse_value(key: str, text: str) -> Any:
    """The value of setting ``key`` from command-line or form text.

    Lists are comma-separated labels (``Software, Retail``) or a JSON array; an empty text
    is the empty list. Booleans are true/false (yes/no, on/off, 1/0). Raises ValueError
    naming the setting when the text cannot be that setting's type (the value itself is
    checked by :class:`CompanySettings`).
    """
    if key not in KEYS:
        raise ValueError(f"unknown setting {key!r}; expected one of {', '.join(KEYS)}")
    kind = type(getattr(DEFAULTS, key))
    text = text.strip()
    if kind is tuple:
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"{key} must be a JSON list or comma-separated labels ({exc})"
                ) from None
            return tuple(value)
        return tuple(part.strip() for part in text.split(",")) if text else ()
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"{key} must be true or false, got {text!r}")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{key} must be a whole number >= 0, got {text!r}") from None
    return text


def to_text(settings: CompanySettings, key: str) -> str:
    """Setting ``key`` as text that :func:`parse_value` reads back to the same value.

    Lists are comma-separated, or a JSON array when a label contains a comma; booleans are
    ``true``/``false``.
    """
    value = getattr(settings, key)
    if isinstance(value, tuple):
        return json.dumps(list(value)) if any("," in v for v in value) else ", ".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
    """Settings from TOML text (top-level keys named as :data:`KEYS`); others keep ``base``.

    Raises ValueError for unreadable TOML (with its line), an unknown key, or a bad value.
    """
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML: {exc}") from None
    return from_mapping(values, base)


def to_mapping(settings: CompanySettings) -> dict[str, Any]:
    """Plain JSON-ready values (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()}


def load(con: duckdb.DuckDBPyConnection) -> CompanySettings:
    """The company's settings stored in the database; defaults where nothing is stored.

    A file without a ``settings`` table (written before settings existed) reads as the
    defaults. A stored value that no longer passes its check raises ValueError naming it.
    """
    if not has_table(con, "settings"):
        return DEFAULTS
    rows = con.execute("SELECT key, value FROM settings").fetchall()
    stored = {}
    for key, text in rows:
        if key not in KEYS:  # written by a newer version: ignored here
            continue
        try:
            stored[key] = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            raise ValueError(f"stored setting {key} is not readable: {text!r}") from None
    return from_mapping(stored)


def write(con: duckdb.DuckDBPyConnection, settings: CompanySettings) -> None:
    """Store every setting inside an open write session (``con`` from ``write_session``)."""
    con.execute(SETTINGS_DDL)
    for key, value in to_mapping(settings).items():
        con.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [key, json.dumps(value)])


def save(path: Path | str, settings: CompanySettings) -> None:
    """Replace the stored settings of the database at ``path`` through the write path."""
    with write_session(path, derive=False) as con:
        write(con, settings)


def update(path: Path | str, values: dict[str, Any]) -> CompanySettings:
    """Change some settings of the database at ``path`` through the write path.

    The other settings keep their stored values. Raises ValueError naming the setting
    before anything is written when a value is refused, FileNotFoundError when ``path``
    does not exist. Returns the settings now stored.
    """
    with write_session(path, derive=False) as con:
        changed = from_mapping(values, load(con))
        write(con, changed)
    return changed
