"""The mapping of a flat export: which column is which field, as data and as TOML.

A :class:`Mapping` is read from a TOML file (:func:`load_mapping`) or a shipped preset
(:func:`preset`), checked by :mod:`~analysis.imports.flat.mapping_check`, and edited on the
Data page through a roles table (:meth:`Mapping.roles`, :meth:`Mapping.with_roles`).
The file format is described in ``docs/importing.md``.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.imports import tomltext
from analysis.imports.flat.mapping_check import check_mapping, check_stages, deals_table
from analysis.imports.flat.vocab import (
    ALL_STAGES,
    DATE_FORMATS,
    DEAL_FIELDS,
    LEAD_FIELDS,
    PRESETS,
    REP_FIELDS,
    MappingError,
    norm_name,
)


def dumps_toml(data: AbcMapping[str, Any]) -> str:
    """A small TOML writer for mapping data (see :func:`analysis.imports.tomltext.dumps`)."""
    return tomltext.dumps(data)


@dataclass
class DealMapping:
    """Which deals-file column is which deal field.

    Attributes
    ----------
    columns : dict of str to str
        Deal field (:data:`DEAL_FIELDS`) -> input column.
    outcome_values : dict of str to str
        Value of the ``outcome`` column -> 'won', 'lost' or 'open'.
    every_row_outcome : {'won', 'lost', 'open'}, optional
        The outcome of every row of the file, for an export with no outcome column (a
        list of won deals).
    properties : 'rest' or tuple of str
        Deal columns kept as lead properties: every column not otherwise mapped
        ('rest') or the listed ones (default none). A lead with several deals keeps the
        values of its last deal in the file.
    creates_leads : bool
        A deal whose lead is in no leads file of the batch nor in the database creates
        its lead (an opportunity-only export): ``created_at`` is the deal's create date
        (else its close date, else the fallback day) and no earlier stage is written.
    """

    columns: dict[str, str] = field(default_factory=dict)
    outcome_values: dict[str, str] = field(default_factory=dict)
    every_row_outcome: str | None = None
    properties: str | tuple[str, ...] = ()
    creates_leads: bool = False


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
    every_lead_reached : str, optional
        A stage every row of the leads file had reached (e.g. 'mql' for a list of leads
        handed to sales); written undated unless a stage date gives it.
    deals : DealMapping, optional
        The deals file's columns.
    reps : dict of str to str
        Rep field (:data:`REP_FIELDS`) -> column of a reps/teams file.
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
    every_lead_reached: str | None = None
    deals: DealMapping | None = None
    reps: dict[str, str] = field(default_factory=dict)

    # ---- construction ------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: AbcMapping[str, Any], origin: str = "mapping") -> Mapping:
        """Build and check a mapping from parsed TOML (``extends`` already resolved)."""
        values = check_mapping(data, origin)
        deals = deals_table(data, origin)
        return cls(**values, deals=DealMapping(**deals) if deals else None)

    def to_dict(self) -> dict[str, Any]:
        """The mapping as plain data, the shape :meth:`from_dict` reads."""
        out: dict[str, Any] = {"name": self.name, "source_system": self.source_system}
        if self.date_order:
            out["date_order"] = self.date_order
        if self.timezone != "UTC":
            out["timezone"] = self.timezone
        if self.created_at_fallback:
            out["created_at_fallback"] = self.created_at_fallback.isoformat()
        if self.every_lead_reached:
            out["every_lead_reached"] = self.every_lead_reached
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
            d = self.deals
            out["deals"] = {**d.columns, "outcome_values": dict(d.outcome_values)}
            if d.every_row_outcome:
                out["deals"]["every_row_outcome"] = d.every_row_outcome
            if d.properties:
                out["deals"]["properties"] = (
                    "rest" if d.properties == "rest" else list(d.properties)
                )
            if d.creates_leads:
                out["deals"]["creates_leads"] = True
        if self.reps:
            out["reps"] = dict(self.reps)
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

    def rep_columns(self) -> set[str]:
        """Every input column the reps part of the mapping uses (normalised names)."""
        return {norm_name(c) for c in self.reps.values()}

    # ---- the roles table (the Data page's editor) ---------------------------------------

    def _role_of(self, kind: str) -> dict[str, str]:
        """Normalised column -> role, for the columns this mapping names (first wins)."""
        role: dict[str, str] = {}
        if kind == "deals":
            for fld, col in (self.deals.columns if self.deals else {}).items():
                role.setdefault(norm_name(col), f"deal: {fld}")
        elif kind == "reps":
            for fld, col in self.reps.items():
                role.setdefault(norm_name(col), f"rep: {fld}")
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
        return role

    def roles(self, columns: Sequence[str], kind: str = "leads") -> pd.DataFrame:
        """One row per input column with the role this mapping gives it.

        Parameters
        ----------
        columns : sequence of str
            The file's header, as written.
        kind : {'leads', 'deals', 'reps'}
            Which part of the mapping the file is read with.

        Returns
        -------
        DataFrame
            ``column`` (as in the file), ``role`` (one of :func:`role_options`) and
            ``date_format`` ('auto' or a key of :data:`DATE_FORMATS`).
        """
        role = self._role_of(kind)
        excluded = {norm_name(c) for c in self.exclude}
        if kind == "deals":
            spec = self.deals.properties if self.deals else ()
        else:
            spec = self.keep if kind == "leads" else ()
        kept = None if spec == "rest" else {norm_name(c) for c in spec}
        rows = []
        formats = {norm_name(k): v for k, v in self.date_formats.items()}
        for col in columns:
            key = norm_name(col)
            r = role.get(key)
            if r is None:
                keepable = kind != "reps" and key not in excluded
                r = "property" if keepable and (kept is None or key in kept) else "ignore"
            rows.append({"column": col, "role": r, "date_format": formats.get(key, "auto")})
        return pd.DataFrame(rows, columns=["column", "role", "date_format"])

    def with_roles(self, roles: pd.DataFrame, kind: str = "leads") -> Mapping:
        """A copy whose leads (or deals, or reps) part is rebuilt from a roles table.

        Parameters
        ----------
        roles : DataFrame
            ``column``, ``role`` and optionally ``date_format``, as :meth:`roles` returns
            and a user corrected it.
        kind : {'leads', 'deals', 'reps'}
            The part of the mapping to replace.

        Raises
        ------
        MappingError
            A role other than ``lead: name`` given to two columns, an unknown role, or
            no lead id (rep id) column.
        """
        b = _RolesBuilder(self, kind)
        for row in roles.itertuples(index=False):
            fmt = str(getattr(row, "date_format", "auto") or "auto")
            b.add(str(row.column), str(row.role), fmt)
        return b.mapping(roles)

    def with_stage_values(self, column: str, table: pd.DataFrame) -> Mapping:
        """A copy whose ``[stage_values]`` for ``column`` is ``table`` (``value``, ``stage``).

        Raises
        ------
        MappingError
            A stage that is not a lifecycle stage.
        """
        values = {str(v): str(s or "") for v, s in zip(table["value"], table["stage"], strict=True)}
        check_stages([s for s in values.values() if s], f"stage values of {column!r}")
        stage_values = {
            k: v for k, v in self.stage_values.items() if norm_name(k) != norm_name(column)
        }
        stage_values[column] = values
        return replace(self, stage_values=stage_values)


class _RolesBuilder:
    """Collects a roles table row by row into the parts of a mapping."""

    def __init__(self, base: Mapping, kind: str) -> None:
        self.base, self.kind = base, kind
        self.options = set(role_options(kind))
        self.seen: dict[str, str] = {}
        self.fields: dict[str, str | tuple[str, ...]] = {}
        self.stage_dates: dict[str, str] = {}
        self.stage_values: dict[str, dict[str, str]] = {}
        self.flags: dict[str, str] = {}
        self.keep: list[str] = []
        self.exclude: list[str] = []
        self.targets: dict[str, str] = {}  # deal or rep field -> column
        self.formats: dict[str, str] = {}

    def add(self, col: str, role: str, fmt: str) -> None:
        if fmt in DATE_FORMATS:
            self.formats[col] = fmt
        if role not in self.options:
            raise MappingError(
                f"column {col!r}: unknown role {role!r}; expected one of {sorted(self.options)}"
            )
        if role in self.seen and role not in ("lead: name", "property", "ignore"):
            raise MappingError(
                f"columns {self.seen[role]!r} and {col!r} both have role {role!r}; "
                "give it to one column"
            )
        self.seen.setdefault(role, col)
        kind_, _, target = role.partition(": ")
        if role == "property":
            self.keep.append(col)
        elif role == "ignore":
            self.exclude.append(col)
        elif kind_ == "lead" and target == "name":
            prev = self.fields.get("name")
            self.fields["name"] = (*((prev,) if isinstance(prev, str) else prev or ()), col)
        elif kind_ == "lead":
            self.fields[target] = col
        elif kind_ == "stage date":
            self.stage_dates[target] = col
        elif role == "stage values":
            self.stage_values[col] = dict(lookup(self.base.stage_values, col) or {})
        elif kind_ == "flag":
            self.flags[col] = target
        elif kind_ in ("deal", "rep"):
            self.targets[target] = col

    def _keep_shared(self, old: dict[str, str]) -> None:
        """Keep the old part's fields whose column still has a role.

        One column can be both ``rep_id`` and ``name``, or ``lead_id`` and
        ``opportunity_id``, but has one role in the editor.
        """
        used = {norm_name(c) for c in self.targets.values()}
        for fld, col in old.items():
            if fld not in self.targets and norm_name(col) in used:
                self.targets[fld] = col

    def mapping(self, roles: pd.DataFrame) -> Mapping:
        base = self.base
        named = {norm_name(c) for c in roles["column"]}
        formats = {k: v for k, v in base.date_formats.items() if norm_name(k) not in named}
        formats.update(self.formats)
        if self.kind == "deals":
            old = base.deals or DealMapping()
            self._keep_shared(old.columns)
            if "lead_id" not in self.targets:
                raise MappingError("the deals file needs a column with role 'deal: lead_id'")
            props = tuple(self.keep) if self.keep else ()
            deals = replace(old, columns=dict(self.targets), properties=props)
            return replace(base, deals=deals, date_formats=formats)
        if self.kind == "reps":
            self._keep_shared(base.reps)
            if "rep_id" not in self.targets:
                raise MappingError("the reps file needs a column with role 'rep: rep_id'")
            return replace(base, reps=dict(self.targets))
        name = self.fields.get("name")
        if isinstance(name, tuple) and len(name) == 1:
            self.fields["name"] = name[0]
        if "lead_id" not in self.fields:
            raise MappingError("the leads file needs a column with role 'lead: lead_id'")
        return replace(
            base,
            fields=self.fields,
            stage_dates=self.stage_dates,
            stage_values=self.stage_values,
            flags=self.flags,
            keep=tuple(self.keep),
            exclude=tuple(self.exclude),
            date_formats=formats,
        )


def lookup(table: AbcMapping[str, Any], column: str) -> Any:
    """``table[column]`` with the column name compared like headers."""
    for key, value in table.items():
        if norm_name(key) == norm_name(column):
            return value
    return None


def role_options(kind: str = "leads") -> list[str]:
    """The roles a column of a leads (deals, reps) file can have in the Data page's editor."""
    if kind == "deals":
        return ["property", "ignore", *(f"deal: {f}" for f in DEAL_FIELDS)]
    if kind == "reps":
        return ["ignore", *(f"rep: {f}" for f in REP_FIELDS)]
    return [
        "property",
        "ignore",
        *(f"lead: {f}" for f in LEAD_FIELDS),
        *(f"stage date: {s}" for s in ALL_STAGES),
        "stage values",
        *(f"flag: {s}" for s in ALL_STAGES),
    ]


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
    return tomltext.loads(text)


def preset(name: str) -> Mapping:
    """The shipped mapping for a HubSpot contacts export or a Salesforce leads report."""
    return Mapping.from_dict(_preset_data(name), origin=f"preset {name}")


def load_mapping(path: Path | str, preset_name: str | None = None) -> Mapping:
    """Read a TOML mapping file, on top of a preset when given (or named by ``extends``).

    Raises
    ------
    MappingError
        The file is missing, not TOML, too large or too deeply nested
        (:mod:`analysis.imports.tomltext`), or names unknown fields, stages or formats.
    """
    path = Path(path)
    if not path.is_file():
        raise MappingError(f"{path}: mapping file not found")
    try:
        data = tomltext.loads(path.read_text("utf-8"))
    except (tomltext.TomlLimitError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path.name}: {exc}") from exc
    base_name = preset_name or data.get("extends")
    if base_name is not None:
        data = _merge(_preset_data(str(base_name)), {k: v for k, v in data.items()})
    data.pop("extends", None)
    return Mapping.from_dict(data, origin=path.name)
