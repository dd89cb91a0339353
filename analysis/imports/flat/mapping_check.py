"""Reading and checking the tables of a mapping file (parsed TOML) into plain values.

:meth:`analysis.imports.flat.Mapping.from_dict` calls :func:`check_mapping`; each helper
checks one table and raises :class:`MappingError` naming the key at fault.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from typing import Any

from analysis.imports.flat.dates import mapping_date, zone
from analysis.imports.flat.vocab import (
    ALL_STAGES,
    DATE_FORMATS,
    DEAL_FIELDS,
    LEAD_FIELDS,
    REP_FIELDS,
    STAGES,
    MappingError,
)

KNOWN_KEYS = frozenset(
    {
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
        "every_lead_reached",
        "deals",
        "reps",
    }
)
"""Top-level keys a mapping file may have."""

DEAL_OPTIONS = frozenset({"outcome_values", "every_row_outcome", "properties", "creates_leads"})
"""Keys of ``[deals]`` that are options rather than deal field -> column."""


def table(data: AbcMapping[str, Any], key: str, origin: str) -> dict[str, Any]:
    """``data[key]`` as a dict (empty when absent)."""
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise MappingError(f"{origin}: [{key}] must be a table, got {value!r}")
    return dict(value)


def str_table(data: AbcMapping[str, Any], key: str, origin: str) -> dict[str, str]:
    """``data[key]`` as a dict of text values."""
    t = table(data, key, origin)
    bad = [k for k, v in t.items() if not isinstance(v, str)]
    if bad:
        raise MappingError(f"{origin}: [{key}] values must be text; {bad[0]!r} is not")
    return t


def check_stages(stages: Any, where: str) -> None:
    """Raise unless every stage is a lifecycle or side stage."""
    bad = sorted(set(stages) - set(ALL_STAGES))
    if bad:
        raise MappingError(f"{where}: unknown stage(s) {', '.join(bad)}; expected {ALL_STAGES}")


def _fields(data: AbcMapping[str, Any], origin: str) -> dict[str, str | tuple[str, ...]]:
    fields_ = table(data, "fields", origin)
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
    return mapped


def _stage_values(data: AbcMapping[str, Any], origin: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for col, t in table(data, "stage_values", origin).items():
        if not isinstance(t, dict):
            raise MappingError(
                f"{origin}: [stage_values.{col!r}] must be a table of value = stage, got {t!r}"
            )
        values = {str(k): str(v) for k, v in t.items()}
        check_stages([v for v in values.values() if v], f"{origin}: [stage_values.{col!r}]")
        out[col] = values
    return out


def keep_spec(value: Any, where: str, default: str = "rest") -> str | tuple[str, ...]:
    """A ``keep`` / ``properties`` value: "rest", or the columns listed ("none" = ())."""
    value = default if value is None else value
    if value == "rest":
        return "rest"
    if value == "none":
        return ()
    if isinstance(value, list) and all(isinstance(c, str) for c in value):
        return tuple(value)
    raise MappingError(f'{where} must be "rest", "none" or a list of columns, got {value!r}')


def _properties(data: AbcMapping[str, Any], origin: str) -> tuple[Any, tuple[str, ...]]:
    props = table(data, "properties", origin)
    extra = sorted(set(props) - {"keep", "exclude"})
    if extra:
        raise MappingError(f"{origin}: [properties] takes keep and exclude, got {extra}")
    keep = keep_spec(props.get("keep"), f"{origin}: [properties] keep")
    exclude = props.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(c, str) for c in exclude):
        raise MappingError(f"{origin}: [properties] exclude must be a list of columns")
    return keep, tuple(exclude)


def _formats(data: AbcMapping[str, Any], origin: str) -> tuple[dict[str, str], str | None, str]:
    date_formats = str_table(data, "date_formats", origin)
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
    zone(tz, origin)
    return date_formats, order, tz


def _values(data: AbcMapping[str, Any], origin: str) -> dict[str, dict[str, str]]:
    values: dict[str, dict[str, str]] = {}
    for key, t in table(data, "values", origin).items():
        if key not in LEAD_FIELDS or not isinstance(t, dict):
            raise MappingError(
                f"{origin}: [values.{key}] must be a lead field ({', '.join(LEAD_FIELDS)}) "
                "holding spelling = standard spelling"
            )
        values[key] = {str(k): str(v) for k, v in t.items()}
    return values


def _every_lead_reached(data: AbcMapping[str, Any], origin: str) -> str | None:
    stage = data.get("every_lead_reached")
    if stage is None:
        return None
    if stage not in STAGES[1:]:
        raise MappingError(
            f"{origin}: every_lead_reached must be one of {', '.join(STAGES[1:])} "
            f"(the stage every row of the leads file had reached), got {stage!r}"
        )
    return str(stage)


def deals_table(data: AbcMapping[str, Any], origin: str) -> dict[str, Any] | None:
    """The ``[deals]`` table checked: ``columns`` and its options, or None when absent."""
    if "deals" not in data:
        return None
    t = table(data, "deals", origin)
    cols = {k: v for k, v in t.items() if k not in DEAL_OPTIONS}
    bad = sorted(set(cols) - set(DEAL_FIELDS))
    if bad or not all(isinstance(v, str) for v in cols.values()):
        raise MappingError(
            f"{origin}: [deals] maps deal fields ({', '.join(DEAL_FIELDS)}) to column "
            f"names; got {', '.join(bad) or 'a value that is not a column name'}"
        )
    if "lead_id" not in cols:
        raise MappingError(f"{origin}: [deals] needs lead_id (the column with the lead id)")
    outcome_values = t.get("outcome_values", {})
    if not isinstance(outcome_values, dict) or not all(
        v in ("won", "lost", "open") for v in outcome_values.values()
    ):
        raise MappingError(
            f'{origin}: [deals.outcome_values] maps values to "won", "lost" or "open"'
        )
    every = t.get("every_row_outcome")
    if every is not None and every not in ("won", "lost", "open"):
        raise MappingError(
            f'{origin}: [deals] every_row_outcome must be "won", "lost" or "open", got {every!r}'
        )
    if every is not None and ({"outcome", "won", "closed"} & set(cols)):
        raise MappingError(
            f"{origin}: [deals] every_row_outcome and an outcome/won/closed column both say "
            "the outcome; keep one"
        )
    creates = t.get("creates_leads", False)
    if not isinstance(creates, bool):
        raise MappingError(f"{origin}: [deals] creates_leads must be true or false")
    return {
        "columns": cols,
        "outcome_values": {str(k): str(v) for k, v in outcome_values.items()},
        "every_row_outcome": every,
        "properties": keep_spec(t.get("properties"), f"{origin}: [deals] properties", "none"),
        "creates_leads": creates,
    }


def reps_table(data: AbcMapping[str, Any], origin: str) -> dict[str, str]:
    """The ``[reps]`` table checked: rep field -> column (empty when absent)."""
    if "reps" not in data:
        return {}
    cols = str_table(data, "reps", origin)
    bad = sorted(set(cols) - set(REP_FIELDS))
    if bad:
        raise MappingError(
            f"{origin}: [reps] names unknown rep field(s) {', '.join(bad)}; "
            f"expected some of: {', '.join(REP_FIELDS)}"
        )
    if "rep_id" not in cols:
        raise MappingError(f"{origin}: [reps] needs rep_id (the column with the rep id)")
    return cols


def check_mapping(data: AbcMapping[str, Any], origin: str = "mapping") -> dict[str, Any]:
    """Every value of a mapping file, checked, as keyword arguments of ``Mapping``.

    Raises
    ------
    MappingError
        An unknown key, field, stage or format, a value of the wrong kind, or a date
        outside the plausible range (see :func:`~analysis.imports.flat.dates.mapping_date`).
    """
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise MappingError(
            f"{origin}: unknown key(s) {', '.join(unknown)}; "
            f"expected: {', '.join(sorted(KNOWN_KEYS))}"
        )
    stage_dates = str_table(data, "stage_dates", origin)
    check_stages(stage_dates.keys(), f"{origin}: [stage_dates]")
    flags = str_table(data, "flags", origin)
    check_stages(flags.values(), f"{origin}: [flags]")
    keep, exclude = _properties(data, origin)
    date_formats, order, tz = _formats(data, origin)
    placeholders = data.get("placeholders", [])
    if not isinstance(placeholders, list):
        raise MappingError(f"{origin}: placeholders must be a list of values")
    fallback = data.get("created_at_fallback")
    return {
        "name": str(data.get("name", "custom")),
        "source_system": str(data.get("source_system", "flat")),
        "fields": _fields(data, origin),
        "stage_dates": stage_dates,
        "stage_values": _stage_values(data, origin),
        "flags": flags,
        "keep": keep,
        "exclude": exclude,
        "date_formats": date_formats,
        "date_order": order,
        "timezone": tz,
        "placeholders": tuple(str(p) for p in placeholders),
        "values": _values(data, origin),
        "created_at_fallback": (
            None if fallback is None else mapping_date(fallback, "created_at_fallback", origin)
        ),
        "every_lead_reached": _every_lead_reached(data, origin),
        "reps": reps_table(data, origin),
    }
