"""Value checks for import rows: one column at a time, vectorised, as fault records.

Each schema column of a file is parsed from text by its type (TIMESTAMP, DATE, TIME,
INTEGER, DOUBLE, BOOLEAN, JSON, text) and every problem becomes a *fault record* (row
position, column order, column, short problem, reason in words). The rules are listed in
:mod:`analysis.imports.ingest` ("Conventions"); :func:`check_file` applies them to one
file and returns a :class:`Part`, the unit the batch core (:mod:`analysis.imports.batch`)
takes from every importer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from analysis.store import Column, Table

TIMESTAMP_EXAMPLE = "e.g. 2024-03-01 14:30 or 2024-03-01T14:30:00+01:00"
EARLIEST_TIMESTAMP = pd.Timestamp("1970-01-01")
"""The earliest timestamp an import accepts (UTC)."""
YEARS_AHEAD = 1
"""How far after today (UTC) an imported timestamp may lie, in years."""
RELATIVE_WORDS = frozenset({"now", "today", "tomorrow", "yesterday"})
"""Words that name a moment relative to the import; refused as timestamps."""
MAX_FIELD_CHARS = 1_000_000
"""A value longer than this (characters) is refused rather than stored."""
MAX_RAW_CELL_CHARS = 1_000
"""A refused row's ``raw`` text keeps at most this many characters of each cell."""
TIME_PATTERN = r"([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
BOOLEAN_WORDS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

ORDER_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "opportunities": (("closed_at", "created_at"),),
}
"""Per table, (later, earlier) timestamp pairs: ``later`` may not precede ``earlier``."""

SOFT_TYPES = ("INTEGER", "DOUBLE", "VARCHAR")
"""Types of the columns whose bad value is left empty and flagged (see :func:`is_soft`)."""
WARNING_COLUMNS = ["pos", "order", "column", "problem", "reason", "value"]
"""A soft fault: a fault record plus the value as given (``Part.soft``)."""


def is_soft(table: Table, col: Column) -> bool:
    """Whether a bad value of ``col`` leaves the field empty instead of refusing the row.

    Optional descriptive fields of a lead and of the facts about it (``leads``, the tables
    that need a lead): a number that does not parse or is below its minimum (employees,
    a touchpoint's value, a deal's amount), or a text outside its allowed values (e-mail
    domain kind, a disposition's reason). Required columns, every timestamp (the dates the
    metrics count and order by) and the settings-like tables (reps, targets, SLA policies,
    scoring models, whose values are rules) stay strict: a bad value refuses the row.
    """
    if col.required or col.type not in SOFT_TYPES:
        return False
    if col.type == "VARCHAR" and col.allowed is None:
        return False
    return table.name == "leads" or table.needs_lead


def _quote(text: pd.Series, limit: int = 60) -> pd.Series:
    """Values as 'text' for messages, long ones shortened."""
    short = text.where(text.str.len() <= limit, text.str.slice(0, limit - 1) + "…")
    return "'" + short + "'"


def _fmt_ts(ts: pd.Series) -> pd.Series:
    """Timestamps as 'YYYY-MM-DD HH:MM' (with seconds when they are not zero)."""
    minutes = ts.dt.strftime("%Y-%m-%d %H:%M")
    seconds = ts.dt.strftime("%Y-%m-%d %H:%M:%S")
    exact = (ts.dt.second == 0) & (ts.dt.microsecond == 0)
    return minutes.where(exact, seconds)


Reason = str | Callable[[pd.Index], object]
"""A refusal reason: fixed text, or a function that words it for the given row positions."""


def _fault(mask: pd.Series, order: int, column: str, problem: str, reason: Reason) -> pd.DataFrame:
    """Fault records for the rows in ``mask``.

    ``reason`` is worded only for those rows, so clean rows cost no string formatting.
    """
    idx = mask.index[mask.to_numpy(dtype=bool)]
    if callable(reason):
        reasons = np.asarray(reason(idx), dtype=object) if len(idx) else []
    else:
        reasons = reason
    return pd.DataFrame(
        {"pos": idx, "order": order, "column": column, "problem": problem, "reason": reasons}
    )


def _value_says(name: str, text: pd.Series, message: str) -> Reason:
    """Reason "<name> '<value>' <message>" for the faulty rows."""
    return lambda idx: (name + " " + _quote(text.loc[idx]) + " " + message).to_numpy()


def _order_says(later: str, late: pd.Series, earlier: str, early: pd.Series) -> Reason:
    """Reason "<later> <time> UTC is before <earlier> <time> UTC" for the faulty rows."""

    def says(idx: pd.Index) -> np.ndarray:
        late_text, early_text = _fmt_ts(late.loc[idx]), _fmt_ts(early.loc[idx])
        return (
            f"{later} " + late_text + f" UTC is before {earlier} " + early_text + " UTC"
        ).to_numpy()

    return says


def plausible_range(today: pd.Timestamp | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(earliest, latest) timestamp an import accepts, naive UTC, both inclusive.

    From :data:`EARLIEST_TIMESTAMP` to the end of the day :data:`YEARS_AHEAD` years after
    ``today`` (default: today, UTC).
    """
    day = (today or pd.Timestamp.now(tz="UTC").tz_convert(None)).normalize()
    latest = day + pd.DateOffset(years=YEARS_AHEAD) + pd.Timedelta(days=1) - pd.Timedelta(1)
    return EARLIEST_TIMESTAMP, latest


def _timestamp_faults(
    name: str, order: int, text: pd.Series, present: pd.Series
) -> tuple[pd.Series, list[pd.DataFrame]]:
    """Parse a TIMESTAMP column; refuse unparseable, relative and implausible values."""
    values = _parse_timestamps(text.where(present))
    relative = present & text.str.lower().isin(RELATIVE_WORDS)
    earliest, latest = plausible_range()
    year = pd.to_numeric(text.str.extract(r"^(\d{4})-\d\d", expand=False), errors="coerce")
    far = present & ~relative & values.isna() & ((year < 1678) | (year > 2261))
    outside = present & ~relative & ((values < earliest) | (values > latest) | far)
    bad = present & ~relative & ~outside & values.isna()
    span = f"{earliest:%Y-%m-%d} .. {latest:%Y-%m-%d} UTC"
    faults = [
        _fault(
            bad,
            order,
            name,
            "not a timestamp",
            _value_says(name, text, f"is not an ISO 8601 timestamp ({TIMESTAMP_EXAMPLE})"),
        ),
        _fault(
            relative,
            order,
            name,
            "relative time",
            _value_says(name, text, "is a relative time; give the date and time it stands for"),
        ),
        _fault(
            outside,
            order,
            name,
            "implausible time",
            _value_says(name, text, f"is outside the accepted range {span}"),
        ),
    ]
    return values.where(~(relative | outside)), faults


def _shape_faults(col: Column, order: int, text: pd.Series, ok: pd.Series) -> list[pd.DataFrame]:
    """Refuse JSON values (already valid JSON) that do not have the column's shape."""
    if col.shape != "object of numbers" or not ok.any():
        return []

    def wrong(value: str) -> bool:
        data = json.loads(value)
        if not isinstance(data, dict):
            return True
        return any(
            isinstance(v, bool)
            or not isinstance(v, int | float)
            or v != v
            or abs(v) == float("inf")
            for v in data.values()
        )

    bad = pd.Series(False, index=text.index)
    bad.loc[ok] = [wrong(v) for v in text.loc[ok]]
    message = 'is not a JSON object of feature name to number (e.g. {"demo_request": 50})'
    return [_fault(bad, order, col.name, "wrong JSON shape", _value_says(col.name, text, message))]


def _parse_timestamps(text: pd.Series) -> pd.Series:
    """ISO 8601 text to naive UTC timestamps; NaT where it does not parse (never raises)."""
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    return parsed.dt.tz_convert(None)


def _json_valid(text: pd.Series) -> pd.Series:
    """True where the text is valid JSON (checked by DuckDB's ``json_valid``)."""
    frame = pd.DataFrame({"i": np.arange(len(text)), "v": text.to_numpy(dtype=object)})
    with duckdb.connect(":memory:") as con:
        con.register("json_frame", frame)
        ok = con.execute("SELECT coalesce(json_valid(v), false) FROM json_frame ORDER BY i")
        flags = np.array([r[0] for r in ok.fetchall()], dtype=bool)
    return pd.Series(flags, index=text.index)


def _check_column(col: Column, order: int, text: pd.Series) -> tuple[pd.Series, list[pd.DataFrame]]:
    """Parse one column and list its faults.

    ``text`` holds trimmed strings ('' = missing). Returns the typed values (missing and
    unparseable values as NA) and fault records.
    """
    name = col.name
    present = text != ""
    faults: list[pd.DataFrame] = []
    if col.required:
        faults.append(_fault(~present, order, name, "empty required value", f"{name} is empty"))
    number: pd.Series | None = None
    bad = pd.Series(False, index=text.index)
    problem = message = ""
    huge = present & (text.str.len() > MAX_FIELD_CHARS)
    if huge.any():
        faults.append(
            _fault(
                huge,
                order,
                name,
                "value too long",
                f"{name} is longer than {MAX_FIELD_CHARS:,} characters",
            )
        )
        present = present & ~huge
        text = text.where(~huge, "")
    if col.type == "TIMESTAMP":
        values, ts_faults = _timestamp_faults(name, order, text, present)
        faults += ts_faults
        bad = present & values.isna()
    elif col.type == "DATE":
        values = pd.to_datetime(text.where(present), format="%Y-%m-%d", errors="coerce")
        bad = present & values.isna()
        problem, message = "not a date", "is not a date YYYY-MM-DD"
    elif col.type == "TIME":
        bad = present & ~text.str.fullmatch(TIME_PATTERN).fillna(False).astype(bool)
        values = text.where(present & ~bad)
        problem, message = "not a time", "is not a time HH:MM or HH:MM:SS"
    elif col.type in ("INTEGER", "DOUBLE"):
        number = pd.to_numeric(text.where(present), errors="coerce").astype(float)
        fine = np.isfinite(number)
        if col.type == "INTEGER":
            fine &= (number == np.round(number)) & number.between(INT32_MIN, INT32_MAX)
            problem, message = "not a whole number", "is not a whole number"
        else:
            problem, message = "not a number", "is not a number"
        bad = present & ~fine
        values = number.where(present & ~bad)
        if col.type == "INTEGER":
            values = values.astype("Int64")
    elif col.type == "BOOLEAN":
        lower = text.str.lower()
        bad = present & ~lower.isin(list(BOOLEAN_WORDS))
        values = lower.map(BOOLEAN_WORDS).astype("boolean")
        problem, message = "not yes/no", "is not one of yes/no/true/false/1/0"
    elif col.type == "JSON":
        bad = present.copy()
        if present.any():
            bad.loc[present] = ~_json_valid(text.loc[present])
        values = text.where(present & ~bad)
        problem, message = "not JSON", "is not valid JSON"
    else:  # text: share the input's memory when nothing is missing (copy-on-write)
        values = text if present.all() else text.where(present)
    if problem:
        faults.append(_fault(bad, order, name, problem, _value_says(name, text, message)))
    ok = present & ~bad
    if col.type == "JSON":
        faults += _shape_faults(col, order, text, ok)
    if col.allowed is not None:
        outside = ok & ~text.isin(list(col.allowed))
        says = _value_says(name, text, "is not one of: " + ", ".join(col.allowed))
        faults.append(_fault(outside, order, name, "value not allowed", says))
    if col.minimum is not None and number is not None:
        low = ok & (number < col.minimum)
        says = _value_says(name, text, f"is below the minimum {col.minimum:g}")
        faults.append(_fault(low, order, name, "below minimum", says))
    return values, faults


FAULT_COLUMNS = ["pos", "order", "column", "problem", "reason"]


def _concat_faults(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate fault records, skipping empty ones (keeps dtypes stable)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(
            {
                c: pd.Series(dtype="int64" if c in ("pos", "order") else object)
                for c in FAULT_COLUMNS
            }
        )
    return pd.concat(frames, ignore_index=True)


@dataclass
class Part:
    """One file's rows for one table after reading and the value checks.

    Attributes
    ----------
    table : Table
        The history table the rows go to.
    file : str
        The file name used in refusals.
    raw : DataFrame
        The input rows as text, indexed by spreadsheet row number; a refused row is
        stored in ``import_rejects.raw`` as these cells joined as CSV.
    values : DataFrame
        Typed values per schema column, positional index (0..n-1, in ``raw`` order).
    faults : DataFrame
        Fault records (``pos``, ``order``, ``column``, ``problem``, ``reason``).
    follows : str, optional
        For rows derived from another table's row of the same file and row number (a
        flat export's stage entries derive from its lead row): when that row is refused
        in table ``follows``, this row is dropped (neither accepted nor refused).
    sources : dict of str to str, optional
        Schema column -> the input column it was read from, when they differ; refusals
        then name the input column and quote it in front of the reason.
    """

    table: Table
    file: str
    raw: pd.DataFrame
    values: pd.DataFrame
    faults: pd.DataFrame
    follows: str | None = None
    sources: dict[str, str] | None = None
    soft: pd.DataFrame | None = None
    """Soft faults (:data:`WARNING_COLUMNS`): bad values of optional fields, already
    emptied in ``values``. A row that is accepted keeps them as warnings; a refused row
    lists them in its reason with its other problems."""


def _trimmed(text: pd.Series) -> pd.Series:
    """``text`` without surrounding spaces; the same series (no copy) when none has any."""
    stripped = text.str.strip()
    return text if stripped.equals(text) else stripped


def check_file(table: Table, file: str, raw: pd.DataFrame) -> Part:
    """Parse every schema column of one file and collect the value faults.

    ``raw`` holds the file's cells as text (see :func:`read_input`); columns the table
    does not have are ignored and missing ones read as empty.
    """
    n = len(raw)
    positions = pd.RangeIndex(n)
    values = pd.DataFrame(index=positions)
    faults: list[pd.DataFrame] = []
    soft: list[pd.DataFrame] = []
    for order, col in enumerate(table.columns):
        if col.name in raw.columns:
            text = _trimmed(raw[col.name].reset_index(drop=True))
        else:
            text = pd.Series("", index=positions, dtype=str)
        col_values, col_faults = _check_column(col, order, text)
        if is_soft(table, col):
            found = _concat_faults(col_faults)
            if len(found):
                col_values = col_values.copy()
                col_values.iloc[found["pos"].to_numpy()] = pd.NA
                soft.append(found.assign(value=text.iloc[found["pos"].to_numpy()].to_numpy()))
            col_faults = []
        values[col.name] = col_values
        faults += col_faults
    for later, earlier in ORDER_RULES.get(table.name, ()):
        before = values[later].notna() & values[earlier].notna()
        before &= values[later] < values[earlier]
        says = _order_says(later, values[later], earlier, values[earlier])
        order = table.column_names.index(later)
        faults.append(_fault(before, order, later, f"{later} before {earlier}", says))
    soft_faults = (
        pd.concat(soft, ignore_index=True) if soft else pd.DataFrame(columns=WARNING_COLUMNS)
    )
    return Part(table, file, raw, values, _concat_faults(faults), soft=soft_faults)
