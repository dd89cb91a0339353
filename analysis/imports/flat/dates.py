"""Dates in flat exports: per-column format detection and parsing to naive UTC.

A flat export writes dates as ISO text or as day and month numbers with a 4-digit year.
Whether ``a/b/yyyy`` is day-first or month-first is decided per column from the values
that show it (a first number over 12 means day-first, a second over 12 month-first); see
:func:`parse_dates` and "Dates" in ``docs/importing.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from analysis.imports.flat.vocab import MappingError
from analysis.imports.ingest import UnusableInput

DATE_EXAMPLE = "e.g. 2024-03-14, 14-03-2024, 03/14/2024 or 3/14/2024 2:35 PM"

EARLIEST_DATE = date(1970, 1, 1)
"""Earliest date a mapping may name (``created_at_fallback``); later than any CRM's start."""

LATEST_AHEAD_DAYS = 366
"""A date a mapping names may be at most this many days after today (one year)."""

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
_PARTS = ("year", "month", "day", "hour", "minute", "second")


def zone(name: str, origin: str = "mapping") -> ZoneInfo | None:
    """The IANA zone called ``name`` (None for UTC).

    Raises
    ------
    MappingError
        ``name`` is not an IANA zone.
    """
    if name.upper() == "UTC":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MappingError(
            f"{origin}: timezone {name!r} is not an IANA time zone (e.g. Europe/Berlin)"
        ) from exc


def mapping_date(value: object, key: str, origin: str, today: date | None = None) -> date:
    """A date named in a mapping, checked to be plausible.

    Parameters
    ----------
    value : date, datetime or str
        The TOML value (``2024-01-01`` unquoted is a date, quoted a string).
    key : str
        The mapping key, for messages.
    origin : str
        The mapping's name, for messages.
    today : date, optional
        Default: today in UTC.

    Returns
    -------
    date
        Between :data:`EARLIEST_DATE` and today + :data:`LATEST_AHEAD_DAYS` days.

    Raises
    ------
    MappingError
        Not a date ``YYYY-MM-DD`` (relative words such as ``now`` or ``today`` included),
        or outside the plausible range.
    """
    today = today or datetime.now(UTC).date()
    got = value
    if isinstance(got, datetime):
        got = got.date()
    elif isinstance(got, str):
        try:
            got = date.fromisoformat(got.strip())
        except ValueError:
            got = None
    if not isinstance(got, date):
        raise MappingError(f"{origin}: {key} must be a date YYYY-MM-DD, got {value!r}")
    latest = date.fromordinal(today.toordinal() + LATEST_AHEAD_DAYS)
    if not EARLIEST_DATE <= got <= latest:
        raise MappingError(
            f"{origin}: {key} = {got.isoformat()} is outside the plausible range "
            f"{EARLIEST_DATE.isoformat()} .. {latest.isoformat()} (today + 1 year)"
        )
    return got


@dataclass
class DateColumn:
    """A parsed date column: UTC times, which cells failed, and the format found."""

    values: pd.Series
    bad: pd.Series
    detected: str


def _numeric_order(
    t: pd.Series, is_num: pd.Series, a: pd.Series, b: pd.Series, column: str, where: str, order
) -> str:
    """'dmy' or 'mdy' for the column's a/b/yyyy values, from the values that show it."""
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
        return "dmy"
    if mdy_only.any():
        return "mdy"
    if (is_num & (a != b)).any():
        if order is None:
            i = (is_num & (a != b)).idxmax()
            raise UnusableInput(
                f"{where}column {column!r} has dates such as {t[i]!r} (row {i}) that read "
                "as day-first or month-first, and no value shows which; name its format "
                f'in the mapping ([date_formats] "{column}" = "dmy" or "mdy", or '
                'date_order = "dmy" for every column)'
            )
        return str(order)
    return str(order or "dmy")  # every numeric value has day == month: either reads alike


def _numeric_parts(num: pd.DataFrame, use: str, a: pd.Series, b: pd.Series) -> dict:
    """Year, month, day and clock of a/b/yyyy values read in order ``use``."""
    day, month = (a, b) if use == "dmy" else (b, a)
    hour = pd.to_numeric(num["H"], errors="coerce")
    ampm = num["ampm"].fillna("").str.lower().str.replace(".", "", regex=False)
    bad_clock = ((ampm != "") & ((hour < 1) | (hour > 12))).fillna(False)
    hour = hour.where(~((ampm == "am") & (hour == 12)), 0)
    hour = hour.where(~((ampm == "pm") & (hour < 12)), hour + 12)
    hour = hour.where(~bad_clock, 99)  # 13:00 PM is not a time: make it fail below
    return {
        "year": pd.to_numeric(num["y"], errors="coerce"),
        "month": month,
        "day": day,
        "hour": hour,
        "minute": pd.to_numeric(num["M"], errors="coerce"),
        "second": pd.to_numeric(num["S"], errors="coerce"),
    }


def _local_times(parts: dict, frac: pd.Series, usable: pd.Series) -> pd.Series:
    """Wall-clock timestamps from components; NaT where unusable or impossible."""
    comp = pd.DataFrame({k: v.where(usable) for k, v in parts.items()})
    comp[["hour", "minute", "second"]] = comp[["hour", "minute", "second"]].fillna(0)
    comp.loc[~usable, ["year", "month", "day"]] = np.nan
    fine = usable & comp["hour"].between(0, 23) & comp["minute"].between(0, 59)
    fine &= comp["second"].between(0, 59) & comp["year"].between(1678, 2261)
    comp.loc[~fine, ["year", "month", "day"]] = np.nan
    local = pd.to_datetime(comp[list(_PARTS)].astype(float), errors="coerce")
    micros = pd.to_numeric("0" + frac.fillna(""), errors="coerce").fillna(0)
    return local + pd.to_timedelta((micros * 1e6).round(), unit="us")


def _to_utc(local: pd.Series, tz_text: pd.Series, timezone: str) -> pd.Series:
    """Naive UTC from wall-clock times, their offsets where written, else ``timezone``."""
    offset = _offset_minutes(tz_text)
    has_offset = offset.notna()
    tz = zone(timezone)
    utc = local - pd.to_timedelta(offset.fillna(0), unit="min")
    if tz is not None and (~has_offset & local.notna()).any():
        naive = local.where(~has_offset)
        converted = (
            # A wall time repeated when clocks go back is read as standard time; one
            # skipped when they go forward moves to the first valid instant.
            naive.dt.tz_localize(
                tz, ambiguous=np.zeros(len(naive), dtype=bool), nonexistent="shift_forward"
            )
            .dt.tz_convert("UTC")
            .dt.tz_localize(None)
        )
        utc = utc.where(has_offset, converted)
    return utc.astype("datetime64[us]")


def parse_dates(
    text: pd.Series,
    column: str,
    *,
    fmt: str | None = None,
    order: str | None = None,
    timezone: str = "UTC",
    file: str = "",
) -> DateColumn:
    """Parse a date column of a flat export (see "Dates" in ``docs/importing.md``).

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
    if fmt == "iso":
        use = None
    elif fmt in ("dmy", "mdy"):
        use = fmt
    else:
        use = _numeric_order(t, is_num, a, b, column, f"{file}: " if file else "", order)
    iso_keys = dict(zip(_PARTS, ("y", "m", "d", "H", "M", "S"), strict=True))
    parts = {k: pd.to_numeric(iso[c], errors="coerce") for k, c in iso_keys.items()}
    frac = iso["f"]
    if use is not None:
        for k, v in _numeric_parts(num, use, a, b).items():
            parts[k] = parts[k].where(~is_num, v)
        frac = frac.where(~is_num, num["f"])
    usable = is_iso | (is_num if use is not None else False)
    values = _to_utc(_local_times(parts, frac, usable), iso["tz"].where(is_iso), timezone)
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
