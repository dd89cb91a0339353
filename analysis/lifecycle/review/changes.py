"""What changed since last month: each rate against the previous month, tested for noise."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from analysis import stats
from analysis.definitions import data_as_of
from analysis.lifecycle import funnel, measurable, rejections, sla
from analysis.lifecycle.deals import closed_deals
from analysis.lifecycle.review.common import (
    DEFAULT_SETTINGS,
    ReviewSettings,
    add_months,
    month_filters,
    parse_month,
)
from analysis.store import STAGES

# --------------------------------------------------------------------------------------
# What changed
# --------------------------------------------------------------------------------------

CHANGE_COLUMNS = [
    "key",
    "label",
    "basis",
    "k",
    "n",
    "rate",
    "low",
    "high",
    "prev_k",
    "prev_n",
    "prev_rate",
    "change",
    "p_value",
    "comparable",
    "significant",
    "verdict",
    "reason",
]


def _change_row(
    key: str,
    label: str,
    basis: str,
    now: tuple[int, int],
    before: tuple[int, int],
    comparable: bool,
    alpha: float,
    avail: measurable.Availability | None = None,
) -> dict[str, Any]:
    rc = funnel.rate_change(before[0], before[1], now[0], now[1], alpha=alpha)
    low, high = stats.wilson_interval(now[0], now[1])
    significant = bool(comparable and rc.significant)
    if avail is not None and not avail.measurable:
        verdict = measurable.NOT_MEASURABLE
    elif now[1] == 0 or before[1] == 0:
        verdict = "no data"
    elif not comparable:
        verdict = "not comparable yet"
    elif significant:
        verdict = "up" if rc.change > 0 else "down"
    elif rc.change == 0:
        verdict = "unchanged"
    else:
        verdict = "within noise"
    return {
        "key": key,
        "label": label,
        "basis": basis,
        "k": now[0],
        "n": now[1],
        "rate": rc.after_rate,
        "low": low,
        "high": high,
        "prev_k": before[0],
        "prev_n": before[1],
        "prev_rate": rc.before_rate,
        "change": rc.change,
        "p_value": rc.p_value,
        "comparable": bool(comparable),
        "significant": significant,
        "verdict": verdict,
        "reason": avail.reason if avail is not None else "",
    }


def _cohort_pair(
    con: duckdb.DuckDBPyConnection,
    month: date,
    from_stage: str,
    to_stage: str,
    window_days: float,
    as_of: datetime,
) -> tuple[tuple[int, int], tuple[int, int], bool]:
    """(k, n) of the month's and the previous month's cohorts, and whether comparable."""
    prev = add_months(month, -1)
    df = funnel.month_over_month(
        con, month_filters(prev, month), from_stage, to_stage, window_days, as_of
    )
    rows = {pd.Timestamp(c).date(): r for c, r in zip(df["cohort"], df.itertuples(), strict=True)}
    now, before = rows.get(month), rows.get(prev)
    kn_now = (int(now.k), int(now.n)) if now is not None else (0, 0)
    kn_before = (int(before.k), int(before.n)) if before is not None else (0, 0)
    mature = bool(now is not None and now.mature and before is not None and before.mature)
    return kn_now, kn_before, mature


def decisions(con: duckdb.DuckDBPyConnection, first: date, last: date) -> pd.DataFrame:
    """Per month: all dispositions decided (``total``) and the accepted ones."""
    mix = rejections.disposition_mix(con, month_filters(first, last), by="month")
    months = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="MS")
    if mix.empty:
        return pd.DataFrame({"month": months, "total": 0, "accepted": 0})
    mix["month"] = pd.to_datetime(mix["month"])
    total = mix.groupby("month")["total"].first()
    accepted = mix[mix["outcome"] == "accepted"].groupby("month")["count"].sum()
    out = pd.DataFrame({"total": total, "accepted": accepted}).reindex(months).fillna(0)
    out.index.name = "month"
    return out.astype("int64").reset_index()


def _kn(row: Any) -> tuple[int, int]:
    return (int(row.k), int(row.n)) if row is not None else (0, 0)


def _event_rows(
    con: duckdb.DuckDBPyConnection, month: date, settings: ReviewSettings, as_of: datetime
) -> list[dict[str, Any]]:
    """The ``events`` rows of :func:`what_changed`: SLA, acceptance and win rate.

    A rate the history cannot measure (no activities, no dispositions, no lost deals)
    gets the verdict ``not measurable``, never a comparison of zeros.
    """
    prev = add_months(month, -1)
    avail = measurable.availability(con)
    rows = []
    if avail.sla.measurable:
        sla_df = sla.sla_compliance(con, month_filters(prev, month), by="month", as_of=as_of)
        got = {
            pd.Timestamp(m).date(): r
            for m, r in zip(sla_df["month"], sla_df.itertuples(), strict=True)
        }
        now, before = _kn(got.get(month)), _kn(got.get(prev))
    else:
        now = before = (0, 0)
    rows.append(
        _change_row(
            "sla_compliance",
            "MQLs contacted within SLA",
            "events",
            now,
            before,
            True,
            settings.alpha,
            avail.sla,
        )
    )
    if avail.rejections.measurable:
        dec = decisions(con, prev, month).set_index("month")
        now = (
            int(dec.loc[pd.Timestamp(month), "accepted"]),
            int(dec.loc[pd.Timestamp(month), "total"]),
        )
        before = (
            int(dec.loc[pd.Timestamp(prev), "accepted"]),
            int(dec.loc[pd.Timestamp(prev), "total"]),
        )
    else:
        now = before = (0, 0)
    rows.append(
        _change_row(
            "acceptance",
            "Sales decisions that accepted the MQL",
            "events",
            now,
            before,
            True,
            settings.alpha,
            avail.rejections,
        )
    )
    deals = closed_deals(con, prev, month, as_of).set_index("month")
    d_now, d_prev = deals.loc[pd.Timestamp(month)], deals.loc[pd.Timestamp(prev)]
    rows.append(
        _change_row(
            "win_rate",
            "Win rate of deals closed",
            "events",
            (int(d_now["won"]), int(d_now["won"] + d_now["lost"])),
            (int(d_prev["won"]), int(d_prev["won"] + d_prev["lost"])),
            True,
            settings.alpha,
            avail.win_rate,
        )
    )
    return rows


def what_changed(
    con: duckdb.DuckDBPyConnection,
    month: date | str,
    settings: ReviewSettings = DEFAULT_SETTINGS,
    as_of: datetime | None = None,
) -> pd.DataFrame:
    """Compare the month's rates with the previous month's, each tested for noise.

    Rates compared (``basis`` says which kind):

    - ``cohort``: lead→MQL, MQL→SQL and SQL→opportunity for the leads that entered the
      first stage in each month, converted within ``settings.conversion_window_days``
      (:func:`analysis.funnel.month_over_month`). Only compared when both cohorts are
      mature, i.e. every member has had the whole window.
    - ``events``: SLA compliance of the handoffs of each month (decided handoffs), the
      share of sales decisions (dispositions) that accepted the MQL, and the win rate of
      deals closed in each month (won / (won + lost)). Always comparable.

    Returns
    -------
    DataFrame
        ``key``, ``label``, ``basis``, ``k``, ``n``, ``rate``, ``low``, ``high`` (this
        month, 95% Wilson), ``prev_k``, ``prev_n``, ``prev_rate``, ``change`` (rate minus
        prev_rate, as a fraction), ``p_value`` (pooled two-proportion test, two-sided),
        ``comparable``, ``significant`` (comparable and p < alpha), ``verdict``
        (``up``, ``down``, ``within noise``, ``unchanged``, ``not comparable yet``,
        ``no data`` or ``not measurable``) and ``reason`` (why not measurable, else "").
    """
    month = parse_month(month)
    as_of = as_of or data_as_of(con)
    if as_of is None:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    w = settings.conversion_window_days
    avail = measurable.availability(con)
    rows = []
    for s, t in (("lead", "mql"), ("mql", "sql"), ("sql", "opportunity")):
        now, before, mature = _cohort_pair(con, month, s, t, w, as_of)
        label = f"{_STAGE_LABEL[s]} → {_STAGE_LABEL[t]} within {w:g} days"
        ok = avail.dates
        if STAGES.index(s) < STAGES.index(avail.funnel_start):
            ok = measurable.Availability(
                False, f"this history starts at the {avail.funnel_start} stage."
            )
        rows.append(
            _change_row(f"{s}_to_{t}", label, "cohort", now, before, mature, settings.alpha, ok)
        )
    rows += _event_rows(con, month, settings, as_of)
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


_STAGE_LABEL = {
    "lead": "Lead",
    "mql": "MQL",
    "sql": "SQL",
    "opportunity": "opportunity",
    "customer": "won",
}
