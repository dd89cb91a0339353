"""Reasons per lead: which features gave it its points and its model log-odds, in words.

Query intuition
---------------
A rule's score is a sum, ``score = sum_j points_j * x_j``, and the logistic model's
log-odds are a sum too, ``log-odds = intercept + sum_j coef_j * x_j`` (coefficients on
the original scale of each feature, :attr:`ModelReport.coefficients`). So every lead's
number splits exactly into one contribution per feature; the reasons are the largest
positive and the largest negative ones, and they add up to the lead's score (rule) or,
with the intercept, to its log-odds (model).

The words come from the feature's description; for a single lead, :func:`lead_activity`
adds what the lead actually did before its decision point (how many times, how many of
them in the week before, how long ago the last one), e.g. "viewed the pricing page 3×,
2 in the week before the decision point: +25".

:func:`find_leads` searches leads by id, name or company (case-insensitive substring,
bound as a parameter).
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import numpy as np
import pandas as pd

from analysis.scoring.configs import ScoringConfig
from analysis.scoring.decay import AGE_CONDITIONS
from analysis.scoring.features import DECISION_SQL
from analysis.scoring.matrix import DEFAULT_HORIZON_DAYS, FeatureMatrix

CONTRIBUTION_COLUMNS = ["feature", "label", "value", "contribution"]

FIND_LEADS_SQL = """
SELECT lead_id, name, company, created_at
FROM leads
WHERE lead_id ILIKE $pattern OR coalesce(name, '') ILIKE $pattern
   OR coalesce(company, '') ILIKE $pattern
ORDER BY (lead_id ILIKE $exact) DESC, lead_id
LIMIT $limit
"""
"""Leads whose id, name or company contains the search text (any case)."""


def rows_of(fm: FeatureMatrix, lead_ids: object) -> np.ndarray:
    """Rows of ``lead_ids`` in the matrix (int64), -1 for an id it does not hold.

    Rows are sorted by lead id (DuckDB's byte order, which is Python's string order), so
    this is one binary search per id; an id found elsewhere (unsorted input) is scanned.
    """
    ids = np.asarray(
        list(lead_ids) if not isinstance(lead_ids, np.ndarray) else lead_ids, dtype=object
    )
    out = np.full(len(ids), -1, dtype=np.int64)
    if fm.n == 0 or len(ids) == 0:
        return out
    pos = np.minimum(np.searchsorted(fm.lead_ids, ids), fm.n - 1)
    hit = fm.lead_ids[pos] == ids
    out[hit] = pos[hit]
    for k in np.flatnonzero(~hit):
        found = np.flatnonzero(fm.lead_ids == ids[k])
        out[k] = found[0] if len(found) else -1
    return out


def row_of(fm: FeatureMatrix, lead_id: str) -> int | None:
    """Row of one lead id in the matrix, None when absent."""
    row = int(rows_of(fm, [lead_id])[0])
    return None if row < 0 else row


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_leads(con: duckdb.DuckDBPyConnection, text: str, limit: int = 20) -> pd.DataFrame:
    """Leads whose id, name or company contains ``text`` (any case), exact id first.

    Returns
    -------
    DataFrame
        ``lead_id``, ``name``, ``company``, ``created_at``; at most ``limit`` rows, empty
        for an empty search.
    """
    text = text.strip()
    if not text:
        return pd.DataFrame(columns=["lead_id", "name", "company", "created_at"])
    pattern = f"%{_escape_like(text)}%"
    return con.execute(
        FIND_LEADS_SQL.replace("ILIKE $pattern", "ILIKE $pattern ESCAPE '\\'"),
        {"pattern": pattern, "exact": _escape_like(text), "limit": int(limit)},
    ).df()


def _activity_sql() -> str:
    parts = []
    for name, cond in AGE_CONDITIONS.items():
        parts.append(f'count(*) FILTER (WHERE {cond}) AS "{name}__n"')
        parts.append(
            f"count(*) FILTER (WHERE {cond} AND t.occurred_at >= t.decision_at - INTERVAL 7 DAY)"
            f' AS "{name}__week"'
        )
        parts.append(
            f"(epoch(any_value(t.decision_at)) - epoch(max(t.occurred_at) FILTER (WHERE {cond})))"
            f' / 86400.0 AS "{name}__age"'
        )
    cols = ",\n    ".join(parts)
    return (
        DECISION_SQL
        + f"""
SELECT {cols}
FROM (
    SELECT tt.kind, tt.occurred_at, lower(trim(tt.detail)) AS d, dp.decision_at
    FROM touchpoints tt
    JOIN dp ON tt.lead_id = dp.lead_id AND tt.occurred_at <= dp.decision_at
    WHERE tt.lead_id = $lead
) t
"""
    )


def lead_activity(
    con: duckdb.DuckDBPyConnection, lead_id: str, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> pd.DataFrame:
    """What one lead did before its decision point, per engagement feature.

    Returns
    -------
    DataFrame
        One row per engagement feature the lead has a touchpoint for: ``feature``,
        ``count`` (touchpoints before the decision point), ``last_week`` (of them, in the
        7 days before it), ``days_ago`` (age of the most recent one, in days).
    """
    row = con.execute(_activity_sql(), {"lead": lead_id, "horizon": int(horizon_days)}).fetchone()
    names = list(AGE_CONDITIONS)
    out = []
    for i, name in enumerate(names):
        n, week, age = row[3 * i], row[3 * i + 1], row[3 * i + 2]
        if n:
            out.append({"feature": name, "count": int(n), "last_week": int(week), "days_ago": age})
    return pd.DataFrame(out, columns=["feature", "count", "last_week", "days_ago"])


def rule_contributions(fm: FeatureMatrix, config: ScoringConfig, row: int) -> pd.DataFrame:
    """Points each feature gives lead ``row`` under ``config`` (they sum to its score).

    Returns
    -------
    DataFrame
        ``feature``, ``label`` (its description), ``value`` (the lead's value: 0/1, or the
        decay factor, or a number), ``contribution`` (points = value x points per unit);
        only features with a non-zero contribution, largest first.
    """
    w = config.vector(fm.names).astype(np.float64)
    x = fm.X[row].astype(np.float64)
    return _table(fm, x, w * x)


def model_contributions(fm: FeatureMatrix, coefficients: pd.DataFrame, row: int) -> pd.DataFrame:
    """Log-odds each feature adds for lead ``row``.

    With the model's intercept they sum to the lead's log-odds. ``coefficients`` is
    :attr:`ModelReport.coefficients`; columns as :func:`rule_contributions`, the
    contribution in log-odds.
    """
    coef = coefficients.set_index("feature")["coef"]
    w = np.array([float(coef.get(n, 0.0)) for n in fm.names])
    x = fm.X[row].astype(np.float64)
    return _table(fm, x, w * x)


def _table(fm: FeatureMatrix, x: np.ndarray, contribution: np.ndarray) -> pd.DataFrame:
    keep = np.flatnonzero(contribution != 0)
    order = keep[np.argsort(-contribution[keep], kind="stable")]
    return pd.DataFrame(
        {
            "feature": [fm.names[j] for j in order],
            "label": [fm.described.get(fm.names[j]) or fm.names[j] for j in order],
            "value": x[order],
            "contribution": contribution[order],
        },
        columns=CONTRIBUTION_COLUMNS,
    )


def _activity_words(feature: str, activity: Mapping[str, Mapping]) -> str:
    a = activity.get(feature)
    if not a or a["count"] <= 0:
        return ""
    text = f" {a['count']}×"
    if a["last_week"]:
        text += f", {a['last_week']} in the week before the decision point"
    elif a["days_ago"] is not None and np.isfinite(a["days_ago"]):
        text += f", last {a['days_ago']:.0f} days before the decision point"
    return text


def in_words(
    table: pd.DataFrame,
    top: int = 3,
    unit: str = "",
    activity: pd.DataFrame | None = None,
    digits: int = 0,
) -> tuple[list[str], list[str]]:
    """(positive reasons, negative reasons) as short phrases, largest first.

    ``table`` is :func:`rule_contributions` or :func:`model_contributions`; ``unit`` is
    appended to each number (e.g. " log-odds"); ``activity`` (:func:`lead_activity`)
    adds counts and recency; ``digits`` is the number of decimals shown.
    """
    acts = {} if activity is None else activity.set_index("feature").to_dict("index")

    def phrase(r: pd.Series) -> str:
        words = r["label"] + _activity_words(r["feature"], acts)
        if 0 < r["value"] < 1 and r["feature"] in AGE_CONDITIONS:
            words += f" (faded to {r['value']:.0%})"
        return f"{words}: {r['contribution']:+,.{digits}f}{unit}"

    pos = [phrase(r) for _, r in table.loc[table["contribution"] > 0].head(top).iterrows()]
    neg_rows = table.loc[table["contribution"] < 0].sort_values("contribution").head(top)
    neg = [phrase(r) for _, r in neg_rows.iterrows()]
    return pos, neg


def reasons_for_rows(
    fm: FeatureMatrix,
    config: ScoringConfig,
    rows: np.ndarray,
    coefficients: pd.DataFrame | None = None,
    top: int = 2,
) -> pd.DataFrame:
    """Short reasons for many leads (the "leads that change side" table).

    Returns
    -------
    DataFrame
        One row per entry of ``rows``: ``lead_id``, ``rule_up`` / ``rule_down`` (the
        ``top`` largest positive / negative point contributions under ``config``, joined
        by "; "), ``model_up`` / ``model_down`` (the same for the model's log-odds, empty
        without ``coefficients``).
    """
    rows = np.asarray(rows, dtype=np.int64)
    w = config.vector(fm.names).astype(np.float64)
    labels = np.array([fm.described.get(n) or n for n in fm.names], dtype=object)
    X = fm.X[rows].astype(np.float64)
    rule_up, rule_down = _top_words(X * w, labels, top, 0, "")
    if coefficients is not None:
        coef = coefficients.set_index("feature")["coef"]
        b = np.array([float(coef.get(n, 0.0)) for n in fm.names])
        model_up, model_down = _top_words(X * b, labels, top, 2, "")
    else:
        model_up = model_down = [""] * len(rows)
    return pd.DataFrame(
        {
            "lead_id": fm.lead_ids[rows],
            "rule_up": rule_up,
            "rule_down": rule_down,
            "model_up": model_up,
            "model_down": model_down,
        }
    )


def _top_words(
    C: np.ndarray, labels: np.ndarray, top: int, digits: int, unit: str
) -> tuple[list[str], list[str]]:
    up, down = [], []
    for c in C:
        pos = np.flatnonzero(c > 0)
        neg = np.flatnonzero(c < 0)
        pos = pos[np.argsort(-c[pos], kind="stable")][:top]
        neg = neg[np.argsort(c[neg], kind="stable")][:top]
        up.append("; ".join(f"{labels[j]}: {c[j]:+,.{digits}f}{unit}" for j in pos))
        down.append("; ".join(f"{labels[j]}: {c[j]:+,.{digits}f}{unit}" for j in neg))
    return up, down
