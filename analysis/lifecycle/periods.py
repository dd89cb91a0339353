"""Reporting periods: presets, maturity, and comparisons made at the same age.

Query intuition
---------------
A period is a range of whole UTC days, ``start``..``end`` (inclusive). The data ends at
``as_of`` (:func:`analysis.definitions.data_as_of`), so a period that runs past it is only
partly observed (*immature*): its volumes are still growing, and its leads have had less time
to convert than the leads of an older period.

Comparing this period with the previous one (or the same one a year earlier) is therefore
made **at the same age**: the earlier period is replayed as of the moment that lies as far
after its start as ``as_of`` lies after this period's start. Month-aligned periods move by
whole calendar months (November as of 1 December 08:00 is compared with October as of
1 November 08:00), other periods by their length in days. The replay passes the earlier
``as_of`` to :func:`analysis.lifecycle.metrics.funnel_counts`, so only the entries and
conversions known at that age count: month to date can be compared with the same days of
last month in its first week, and a month's conversions (still maturing) with last month's
at the same maturity.

Counts are compared with a test of two Poisson counts over equal time
(:func:`analysis.stats.count_change_test`), rates with the pooled two-proportion z-test
(:func:`analysis.stats.two_proportion_test`); a change is called up or down only when
``p < alpha``.

An earlier period is compared only when the history covers all of it: it must start on or
after the history's first day (the earliest lead's), and the history must be dated at all
(an export without dates puts everything on one day). Otherwise its counts would be zeros
that mean "not recorded", and any month with leads would read "up, beyond noise" against
them; such a comparison is *not measurable*, with the reason, and is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from analysis import filters as flt
from analysis import stats
from analysis.definitions import data_as_of, month_start, next_month
from analysis.lifecycle import measurable, metrics

PRESETS: dict[str, str] = {
    "last_month": "Last month",
    "last_quarter": "Last quarter",
    "month_to_date": "Month to date",
    "quarter_to_date": "Quarter to date",
    "year_to_date": "Year to date",
    "last_12_months": "Last 12 months",
    "all_history": "All history",
    "custom": "Custom",
}
"""Period presets (URL value → words), in the order the sidebar offers them."""

DEFAULT_PRESET = "last_month"
"""The period pages open on: the last complete month."""


def _add_months(day: date, n: int) -> date:
    """First day of the month ``n`` months after the month holding ``day``."""
    index = day.year * 12 + day.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def preset_range(
    preset: str, as_of: date | datetime, first: date | None = None
) -> tuple[date, date]:
    """The days (first, last; inclusive) of ``preset`` for data that ends at ``as_of``.

    "Last" presets end with the last complete month (the month before ``as_of``'s month);
    "to date" presets start at the current month, quarter or year and end on ``as_of``'s day;
    ``all_history`` runs from ``first`` (the first lead's day) to ``as_of``'s day.
    Raises ValueError for ``custom`` or an unknown name.
    """
    today = _as_date(as_of)
    this_month = month_start(today)
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    ranges = {
        "last_month": (_add_months(this_month, -1), this_month - timedelta(days=1)),
        "last_quarter": (_add_months(quarter, -3), quarter - timedelta(days=1)),
        "month_to_date": (this_month, today),
        "quarter_to_date": (quarter, today),
        "year_to_date": (date(today.year, 1, 1), today),
        "last_12_months": (_add_months(this_month, -12), this_month - timedelta(days=1)),
        "all_history": (first or today, today),
    }
    if preset not in ranges:
        raise ValueError(f"preset must be one of {', '.join(ranges)}, got {preset!r}")
    return ranges[preset]


@dataclass(frozen=True)
class Period:
    """A reporting period and how much of it the data covers.

    Attributes
    ----------
    start, end : date
        First and last day (inclusive, UTC).
    as_of : datetime
        The "now" its numbers are counted at (naive UTC).
    months : int
        Whole calendar months it spans when month-aligned (it starts on a 1st and ends on
        a month's last day, or runs past ``as_of``), else 0.
    """

    start: date
    end: date
    as_of: datetime
    months: int

    @property
    def complete(self) -> bool:
        """True when the data reaches past the period's last day (its volumes are final)."""
        return self.as_of >= datetime.combine(self.end + timedelta(days=1), datetime.min.time())

    @property
    def days(self) -> int:
        """Length in days (a month-aligned period to date: its whole calendar months)."""
        if self.months:
            return (_add_months(self.start, self.months) - self.start).days
        return (self.end - self.start).days + 1

    @property
    def observed_days(self) -> float:
        """Days of the period the data covers (fractional; at most :attr:`days`)."""
        start = datetime.combine(self.start, datetime.min.time())
        return max(0.0, min(self.days, (self.as_of - start).total_seconds() / 86400))

    @property
    def label(self) -> str:
        """``November 2026``, ``Q3 2026``, ``Jan 2026 – Dec 2026`` or ``3 Nov – 9 Nov 2026``."""
        if self.months == 1:
            return self.start.strftime("%B %Y")
        if self.months == 3 and self.start.month % 3 == 1:
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        if self.months:
            end = _add_months(self.start, self.months - 1)
            return f"{self.start:%b %Y} – {end:%b %Y}"
        return f"{self.start:%-d %b %Y} – {self.end:%-d %b %Y}"

    def shifted(self, months: int = 0, days: int = 0) -> Period:
        """The period ``months`` calendar months (or ``days`` days) earlier, at the same age.

        Its ``as_of`` moves back by the same amount, so it is counted as it stood when it was
        as old as this one is now.
        """
        if months:
            start = _add_months(self.start, -months)
            end = _add_months(self.start, self.months - months) - timedelta(days=1)
            as_of = (pd.Timestamp(self.as_of) - pd.DateOffset(months=months)).to_pydatetime()
            return replace(self, start=start, end=end, as_of=as_of)
        delta = timedelta(days=days)
        return replace(
            self, start=self.start - delta, end=self.end - delta, as_of=self.as_of - delta
        )

    def previous(self) -> Period:
        """The period just before, as long as this one, at the same age."""
        return self.shifted(months=self.months) if self.months else self.shifted(days=self.days)

    def last_year(self) -> Period:
        """The same period a year earlier, at the same age."""
        return self.shifted(months=12) if self.months else self.shifted(days=364)


def make_period(start: date, end: date, as_of: datetime) -> Period:
    """A :class:`Period` for ``start``..``end`` counted at ``as_of``.

    It is month-aligned when it starts on the 1st and ends on a month's last day or on
    ``as_of``'s day or later (month, quarter or year to date): then comparisons move by its
    number of calendar months.
    """
    months = 0
    runs_on = end >= as_of.date()
    if start.day == 1 and (next_month(end) - timedelta(days=1) == end or runs_on):
        months = (end.year - start.year) * 12 + end.month - start.month + 1
    return Period(start=start, end=end, as_of=as_of, months=months)


def period_of(con: duckdb.DuckDBPyConnection, filters: flt.Filters) -> Period | None:
    """The :class:`Period` of the filters' dates as of the data's end; None with no data.

    An open side of the range takes the first lead's day or the data's last day.
    """
    as_of = data_as_of(con)
    if as_of is None:
        return None
    opts = flt.filter_options(con)
    start = filters.start or opts["first_date"] or as_of.date()
    end = filters.end or as_of.date()
    return make_period(start, end, as_of)


COMPARE_COLUMNS = [
    "stage",
    "measure",
    "value",
    "k",
    "n",
    "prev_value",
    "prev_k",
    "prev_n",
    "change",
    "p_value",
    "verdict",
    "prev_reason",
    "year_value",
    "year_change",
    "year_p_value",
    "year_verdict",
    "year_reason",
]

_NUMBERS = [
    c
    for c in COMPARE_COLUMNS
    if c not in ("stage", "measure") and "_reason" not in c and "verdict" not in c
]


def _verdict(change: float, p: float, alpha: float) -> str:
    if pd.isna(p):
        return "no data"
    if p < alpha:
        return "up" if change > 0 else "down"
    return "within noise"


def coverage_gap(
    earlier: Period, first_day: date | None, dates: measurable.Availability
) -> str | None:
    """Why ``earlier`` cannot be compared with, or None when the history covers all of it.

    ``first_day`` is the history's first day (the earliest lead's), ``dates`` the
    history's :attr:`~analysis.lifecycle.measurable.Measurability.dates`. Not covered: a
    history without dates (its reason), or a period that starts before the first day
    ("the history starts on 06 May 2024, after the start of April 2024").
    """
    if not dates.measurable:
        return dates.reason
    if first_day is None or earlier.start < first_day:
        return (
            "the history starts on "
            + (f"{first_day:%d %b %Y}" if first_day else "no recorded day")
            + f", after the start of {earlier.label}"
        )
    return None


def _not_compared(now: pd.DataFrame, reason: str) -> tuple[list[dict], list[dict]]:
    """:func:`_compare_rows` for an earlier period the history does not cover."""
    counts, rates = [], []
    for cur in now.to_dict("records"):
        counts.append(
            {"value": cur["count"], "verdict": measurable.NOT_MEASURABLE, "reason": reason}
        )
        if pd.isna(cur["next_stage"]):
            rates.append({})
            continue
        rates.append(
            {
                "value": cur["rate"],
                "k": cur["k"],
                "n": cur["n"],
                "verdict": measurable.NOT_MEASURABLE,
                "reason": reason,
            }
        )
    return counts, rates


def _compare_rows(
    now: pd.DataFrame, before: pd.DataFrame, alpha: float
) -> tuple[list[dict], list[dict]]:
    """Rows for counts and rates of ``now`` against ``before`` (both :func:`funnel_counts`)."""
    counts, rates = [], []
    for cur, old in zip(now.to_dict("records"), before.to_dict("records"), strict=True):
        z, p = stats.count_change_test(old["count"], cur["count"])
        counts.append(
            {
                "value": cur["count"],
                "prev_value": old["count"],
                "change": (cur["count"] - old["count"]) / old["count"] if old["count"] else None,
                "p_value": p,
                "verdict": _verdict(cur["count"] - old["count"], p, alpha),
            }
        )
        if pd.isna(cur["next_stage"]):
            rates.append({})
            continue
        z, p = stats.two_proportion_test(old["k"], old["n"], cur["k"], cur["n"])
        change = cur["rate"] - old["rate"]
        rates.append(
            {
                "value": cur["rate"],
                "k": cur["k"],
                "n": cur["n"],
                "prev_value": old["rate"],
                "prev_k": old["k"],
                "prev_n": old["n"],
                "change": change,
                "p_value": p,
                "verdict": _verdict(change, p, alpha),
            }
        )
    return counts, rates


def compare_funnel(
    con: duckdb.DuckDBPyConnection,
    filters: flt.Filters,
    basis: str = "entered",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The period's stage counts and step rates against the previous period and last year.

    Every number uses one definition, ``basis`` (:data:`analysis.lifecycle.metrics.BASES`),
    and both comparison periods are counted at the same age as this one (see the module
    docstring), so an immature period is compared fairly.

    Returns
    -------
    DataFrame
        :data:`COMPARE_COLUMNS`, two rows per stage: ``measure`` ``count`` (``value`` = leads
        counted at the stage; ``change`` relative, e.g. 0.12 = +12%) and ``rate`` (the step to
        the next stage: ``value`` = share, ``k`` of ``n``, ``change`` in share points as a
        fraction; absent for the last stage). ``prev_*`` is the previous period,
        ``year_*`` the same period a year earlier; ``p_value``, ``verdict`` (``up``, ``down``,
        ``within noise``, ``no data``, or ``not measurable`` when the history does not cover
        that period: its values are then NaN and ``prev_reason`` / ``year_reason`` say why,
        see :func:`coverage_gap`). Empty when the database has no data.
    """
    period = period_of(con, filters)
    if period is None:
        return pd.DataFrame(columns=COMPARE_COLUMNS)
    first_day = flt.filter_options(con)["first_date"]
    dates = measurable.availability(con).dates
    earlier = {"prev": period.previous(), "year": period.last_year()}
    gaps = {name: coverage_gap(p, first_day, dates) for name, p in earlier.items()}
    compared = {"now": period} | {n: p for n, p in earlier.items() if gaps[n] is None}
    counted = metrics.funnel_counts_many(
        con, [(filters.with_dates(p.start, p.end), p.as_of) for p in compared.values()], basis
    )
    frames = dict(zip(compared, counted, strict=True))
    now = frames["now"]
    c_prev, r_prev = (
        _compare_rows(now, frames["prev"], alpha)
        if "prev" in frames
        else _not_compared(now, gaps["prev"])
    )
    c_year, r_year = (
        _compare_rows(now, frames["year"], alpha)
        if "year" in frames
        else _not_compared(now, gaps["year"])
    )
    rows = []
    for i, stage in enumerate(now["stage"]):
        for measure, prev, year in (
            ("count", c_prev[i], c_year[i]),
            ("rate", r_prev[i], r_year[i]),
        ):
            if not prev:
                continue
            rows.append(
                {
                    "stage": stage,
                    "measure": measure,
                    **{k: v for k, v in prev.items() if k != "reason"},
                    "prev_reason": prev.get("reason"),
                    "year_value": year.get("prev_value"),
                    "year_change": year.get("change"),
                    "year_p_value": year.get("p_value"),
                    "year_verdict": year["verdict"],
                    "year_reason": year.get("reason"),
                }
            )
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS).astype(dict.fromkeys(_NUMBERS, "float64"))
