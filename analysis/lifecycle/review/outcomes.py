"""Outcomes of the month: deals closed, where the month's MQLs are now, rejection reasons."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis import filters as flt
from analysis import stats
from analysis.definitions import conversion_label
from analysis.lifecycle import funnel, measurable, rejections
from analysis.lifecycle.review.common import STATUSES, add_months, month_filters, parse_month
from analysis.store import STAGES

# --------------------------------------------------------------------------------------
# Deals and pipeline
# --------------------------------------------------------------------------------------

PIPELINE_STATUS_SQL = """
WITH {entries},
c AS MATERIALIZED (
    SELECT lead_id, mql_at, sql_at, opportunity_at, customer_at
    FROM entries
    WHERE mql_at IS NOT NULL AND mql_at <= $as_of AND {in_month}
),
o AS (
    SELECT lead_id, count(*) AS opps,
        count(*) FILTER (WHERE outcome = 'won' AND closed_at <= $as_of) AS won,
        count(*) FILTER (WHERE outcome = 'lost' AND closed_at <= $as_of) AS lost
    FROM opportunities
    WHERE created_at <= $as_of AND lead_id IN (SELECT lead_id FROM c)
    GROUP BY lead_id
),
ev AS (
    SELECT lead_id, changed_at AS at,
        CASE stage WHEN 'disqualified' THEN 'rejected' ELSE stage END AS status,
        CASE stage WHEN 'mql' THEN 0 WHEN 'sql' THEN 1 WHEN 'nurture' THEN 2 ELSE 3 END AS p
    FROM stage_changes
    WHERE stage IN ('mql', 'sql', 'disqualified', 'nurture')
      AND lead_id IN (SELECT lead_id FROM c)
    UNION ALL
    SELECT lead_id, decided_at,
        CASE outcome WHEN 'accepted' THEN 'sql' WHEN 'nurture' THEN 'nurture'
             ELSE 'rejected' END,
        CASE outcome WHEN 'accepted' THEN 1 WHEN 'nurture' THEN 2 ELSE 3 END
    FROM dispositions
    WHERE lead_id IN (SELECT lead_id FROM c)
),
latest AS (
    SELECT c.lead_id, arg_max(ev.status, {{'at': ev.at, 'p': ev.p}}) AS status
    FROM c
    JOIN ev ON ev.lead_id = c.lead_id AND ev.at >= c.mql_at AND ev.at <= $as_of
    GROUP BY c.lead_id
)
SELECT CASE
        WHEN c.customer_at <= $as_of OR coalesce(o.won, 0) > 0 THEN 'won'
        WHEN coalesce(o.opps, 0) > 0 AND o.lost = o.opps THEN 'lost'
        WHEN c.opportunity_at <= $as_of OR coalesce(o.opps, 0) > 0 THEN 'opportunity'
        ELSE coalesce(latest.status, 'mql')
    END AS status,
    count(*) AS leads
FROM c
LEFT JOIN o ON o.lead_id = c.lead_id
LEFT JOIN latest ON latest.lead_id = c.lead_id
GROUP BY 1
"""


def pipeline_status(
    con: duckdb.DuckDBPyConnection, month: date | str, as_of: datetime | None = None
) -> pd.DataFrame:
    """Where the month's MQLs are now: one status per lead, as of ``as_of``.

    The population is the leads that first became MQL in the month (the same count as
    the month's MQL volume). Each lead gets the first status that applies:

    1. ``won``: it reached ``customer`` or has an opportunity closed won;
    2. ``lost``: it has opportunities and all of them closed lost;
    3. ``opportunity``: it reached ``opportunity`` (an open deal);
    4. otherwise its latest event at or after its first handoff decides: a ``sql`` stage
       change or an ``accepted`` disposition → ``sql``; ``nurture`` (stage or
       disposition) → ``nurture``; ``disqualified``, a ``rejected`` or ``bad_data``
       disposition → ``rejected``; a new ``mql`` change (recycled) → ``mql``; at equal
       times a decision outranks a stage change;
    5. ``mql``: nothing happened yet since the handoff (still waiting for sales).

    Returns
    -------
    DataFrame
        One row per status of :data:`STATUSES` in that order: ``status``, ``label``,
        ``leads`` (count, 0 when none) and ``share`` (of the month's MQLs; NaN when none).
    """
    month = parse_month(month)
    as_of = as_of or flt.data_as_of(con)
    keys = [s for s, _ in STATUSES]
    if as_of is None:
        got = pd.Series(dtype="int64")
    else:
        f = month_filters(month)
        cte, params = funnel.entries_cte(f)
        in_month, date_params = f.date_sql("mql_at")
        sql = PIPELINE_STATUS_SQL.format(entries=cte, in_month=in_month)
        got = flt.query_df(con, sql, {**params, **date_params, "as_of": as_of}).set_index("status")[
            "leads"
        ]
    leads = np.array([int(got.get(k, 0)) for k in keys], dtype="int64")
    total = leads.sum()
    return pd.DataFrame(
        {
            "status": keys,
            "label": [label for _, label in STATUSES],
            "leads": leads,
            "share": leads / total if total else np.nan,
        }
    )


STATUS_NEEDS: dict[str, str] = {
    "lost": "win_rate",
    "rejected": "rejections",
    "nurture": "rejections",
}
"""The statuses a history can lack the records of, and the availability that records them
(:class:`analysis.lifecycle.measurable.Measurability` fields): ``lost`` needs lost deals,
``rejected`` and ``nurture`` sales dispositions (or such stage changes)."""


def recorded_statuses(
    status: pd.DataFrame, avail: measurable.Measurability
) -> tuple[pd.DataFrame, list[str]]:
    """The rows of :func:`pipeline_status` this history can record, and why any is left out.

    A status with no lead whose records the history lacks (no lost deals: no lead can be
    ``lost``; no dispositions and no such stage change: none ``rejected`` or ``nurture``)
    would read 0 where nothing was recorded: it is left out, and one sentence per reason
    names it (``Not measurable: lost: this history records no lost deals, …``). A status
    with leads stays, whatever the history lacks (they were recorded another way).
    ``avail`` is the history's :class:`~analysis.lifecycle.measurable.Measurability`.
    """
    missing = {
        key: getattr(avail, need)
        for key, need in STATUS_NEEDS.items()
        if not getattr(avail, need).measurable
    }
    left_out = status["status"].isin(list(missing)) & (status["leads"] == 0)
    labels_by_reason: dict[str, list[str]] = {}
    for row in status[left_out].itertuples(index=False):
        labels_by_reason.setdefault(missing[row.status].reason, []).append(row.label)
    notes = [
        f"Not measurable: {' and '.join(labels)}: {reason}"
        for reason, labels in labels_by_reason.items()
    ]
    return status[~left_out].reset_index(drop=True), notes


# --------------------------------------------------------------------------------------
# Rejection reasons
# --------------------------------------------------------------------------------------


def reason_changes(
    con: duckdb.DuckDBPyConnection, month: date | str, alpha: float = 0.05
) -> pd.DataFrame:
    """Rejection reasons of the month against the previous month.

    Both months come from :func:`analysis.rejections.reason_pareto` (dispositions other
    than ``accepted`` decided in the month, by reason). A reason's share is its count over
    all non-accepted dispositions of that month; the change in share is tested with the
    pooled two-proportion test.

    Returns
    -------
    DataFrame
        ``reason``, ``count``, ``share`` (this month), ``prev_count``, ``prev_share``,
        ``change`` (share minus prev_share), ``p_value``, ``significant`` (p < alpha)
        and ``direction`` (``up``/``down`` when significant, else ``""``). Sorted by
        count, then previous count, largest first.
    """
    month = parse_month(month)
    prev = add_months(month, -1)
    now = rejections.reason_pareto(con, month_filters(month))
    before = rejections.reason_pareto(con, month_filters(prev))
    n_now = int(now["count"].sum())
    n_before = int(before["count"].sum())
    df = pd.merge(
        now[["reason", "count"]],
        before[["reason", "count"]].rename(columns={"count": "prev_count"}),
        on="reason",
        how="outer",
    )
    cols = ["reason", "count", "share", "prev_count", "prev_share", "change", "p_value"]
    if df.empty:
        return pd.DataFrame(columns=[*cols, "significant", "direction"])
    df = df.fillna({"count": 0, "prev_count": 0}).astype({"count": "int64", "prev_count": "int64"})
    with np.errstate(divide="ignore", invalid="ignore"):
        df["share"] = df["count"] / n_now if n_now else np.nan
        df["prev_share"] = df["prev_count"] / n_before if n_before else np.nan
    df["change"] = df["share"] - df["prev_share"]
    _, p = stats.two_proportion_test(df["prev_count"], n_before, df["count"], n_now)
    df["p_value"] = np.asarray(p, dtype="float64")
    df["significant"] = df["p_value"] < alpha
    df["direction"] = np.where(df["significant"], np.where(df["change"] > 0, "up", "down"), "")
    df = df.sort_values(["count", "prev_count", "reason"], ascending=[False, False, True])
    return df[[*cols, "significant", "direction"]].reset_index(drop=True)


STAGE_LABELS: dict[str, str] = {
    "lead": "Leads",
    "mql": "MQLs",
    "sql": "SQLs",
    "opportunity": "Opportunities",
    "customer": "Customers (won)",
}
"""Display names of the funnel stages (plural, as volumes)."""

FUNNEL_COLUMNS = [
    "stage",
    "label",
    "entered",
    "from",
    "to",
    "step",
    "k",
    "n",
    "rate",
    "low",
    "high",
    "measurable",
    "reason",
]


def funnel_table(block: Mapping[str, Any]) -> pd.DataFrame:
    """The month's funnel as a tidy table, from a :func:`analysis.metrics.headline` block.

    One row per stage: its count under the block's ``basis`` (``entered``: leads that first
    entered it in the period; ``created``: leads created in the period that reached it) and
    the conversion to the next stage (of those leads, ``k`` of ``n`` reached the next one by
    the end of the data; :data:`analysis.lifecycle.metrics.BASES`). The page and the HTML
    report both show this table.

    Returns
    -------
    DataFrame
        :data:`FUNNEL_COLUMNS`: ``stage``, ``label``, ``entered`` (NaN when not
        measurable), ``from``, ``to``, ``step`` (``MQL → SQL``; empty for the last stage),
        ``k``, ``n``, ``rate``, ``low``, ``high`` (NaN for the last stage),
        ``measurable`` and ``reason``.
    """
    rows = []
    volumes, conversions = block.get("stage_counts") or block["volumes"], block["conversions"]
    for i, stage in enumerate(STAGES):
        nxt = STAGES[i + 1] if i + 1 < len(STAGES) else None
        conv = conversions.get(f"{stage}_to_{nxt}") if nxt else None
        entered = volumes.get(stage)
        rows.append(
            {
                "stage": stage,
                "label": STAGE_LABELS[stage],
                "entered": np.nan if entered is None else float(entered),
                "from": stage if nxt else "",
                "to": nxt or "",
                "step": f"{_short(stage)} → {_short(nxt)}" if nxt else "",
                **{c: (conv or {}).get(c, np.nan) for c in ("k", "n", "rate", "low", "high")},
                "measurable": entered is not None,
                "reason": volumes.get(f"{stage}_reason", ""),
            }
        )
    out = pd.DataFrame(rows, columns=FUNNEL_COLUMNS)
    return out.astype({c: "float64" for c in ("entered", "k", "n", "rate", "low", "high")})


def _short(stage: str | None) -> str:
    return {"mql": "MQL", "sql": "SQL", "customer": "won"}.get(
        stage or "", (stage or "").capitalize()
    )


FUNNEL_BASIS = (
    conversion_label("cohort", "mql", "sql")
    .replace("MQL", "a stage", 1)
    .replace("SQL", "the next stage", 1)
)
"""What the funnel table's rates mean, in words (the cohort meaning)."""
