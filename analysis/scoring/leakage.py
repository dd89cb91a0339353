"""Leakage evidence for lead properties: which imported properties sales filled in later.

Query intuition
---------------
Lead properties (:mod:`analysis.flat`) are a snapshot of the CRM taken when the export
was made, not as of each lead's decision point. A property that sales fills in after the
handoff (a lead status, a rating, a disqualification reason, tags) knows the outcome, so
a scoring model that uses it looks excellent on history and is useless on new leads.
Three kinds of evidence point at such a property, each computed per property:

1. **Predicts the outcome on its own.** Among handed-off leads (the only ones whose
   outcome is observed), the single-feature AUC: how often a lead that reached the
   outcome ranks above one that did not when ranked by this property alone (ties count
   half). A categorical property ranks by its value's outcome rate (values held by fewer
   than ``min_count`` handed-off leads are pooled as one value, missing is a value of
   its own; the rate is computed on the same leads, which flatters a property with many
   rare values, hence the pooling); a numeric property ranks by its number (missing
   ranks lowest). The AUC is reported direction-free, ``max(AUC, 1 - AUC)``: 0.5 means
   no signal, 1 a perfect split. Fit features on their own rarely pass 0.7.
2. **Filled in only after the handoff.** The share of leads missing the property among
   leads never handed off against among handed-off leads. A field sales fills in is
   missing for leads sales never saw.
3. **Its name** contains a word of :data:`NAME_HINTS` (status, stage, reason, rating,
   disqualif, ...).

The verdict is *likely leakage* when the AUC reaches :data:`STRONG_AUC` or the missing
gap :data:`STRONG_GAP`, or when the name hints and the AUC or gap is at least moderate
(:data:`MODERATE_AUC`, :data:`MODERATE_GAP`); *check* when any one of them is moderate or
the name hints; *ok* otherwise. It is evidence for a person to weigh, not a proof:
a genuinely strong fit property can pass 0.8, and a property marketing collects only on
the forms that lead to a handoff can be missing before it.

The outcome and the handoff come from ``stage_changes`` exactly as the scoring lab reads
them (:data:`analysis.features.DECISION_SQL`): handed off = an ``mql`` or later stage
change; reached ``sql`` = an ``sql``, ``opportunity`` or ``customer`` change.
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd

from analysis.imports.flat import NUMERIC_SHARE, has_table
from analysis.scoring.features import DECISION_SQL, DEFAULT_HORIZON_DAYS, OUTCOMES

NAME_HINTS: tuple[str, ...] = (
    "status",
    "stage",
    "reason",
    "rating",
    "disqualif",
    "qualif",
    "convert",
    "lost",
    "won",
    "closed",
    "outcome",
    "result",
    "owner",
    "tag",
    "deal",
    "opportunit",
    "sales",
    "contacted",
    "last activity",
    "meeting",
    "score",
)
"""Words (matched lower-cased, anywhere in the name) typical of fields set by sales or by
the CRM after the handoff."""

STRONG_AUC = 0.80
MODERATE_AUC = 0.70
STRONG_GAP = 0.50
MODERATE_GAP = 0.30
"""Evidence thresholds: single-feature AUC (direction-free) and the missing-share gap
(share missing among leads never handed off minus among handed-off leads)."""

LEAKAGE_COLUMNS = [
    "name",
    "kind",
    "verdict",
    "auc",
    "auc_leads",
    "missing_not_handed_off",
    "missing_handed_off",
    "missing_gap",
    "name_hints",
    "evidence",
]

OUTCOME_SQL = (
    DECISION_SQL
    + """
SELECT lead_id, handoff_at IS NOT NULL AS handed_off,
    sql_at IS NOT NULL AS sql,
    opportunity_at IS NOT NULL AS opportunity,
    customer_at IS NOT NULL AS customer
FROM dp
"""
)

PROPERTIES_SQL = """
SELECT lead_id, name, value, value_number
FROM lead_properties
WHERE value IS NOT NULL
"""


def auc(score: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for the 0/1 labels ``y`` (ties count half).

    Returns NaN when ``y`` has only one class. Computed from average ranks
    (Mann-Whitney U / (n1 * n0)).
    """
    y = np.asarray(y, dtype=bool)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = pd.Series(np.asarray(score, dtype=float)).rank(method="average").to_numpy()
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def name_hints(name: str) -> list[str]:
    """The words of :data:`NAME_HINTS` found in a property name (lower-cased)."""
    text = re.sub(r"[_\-]+", " ", name.lower())
    return [h for h in NAME_HINTS if h in text]


def _verdict(auc_: float, gap: float, hints: list[str]) -> str:
    strong = (auc_ >= STRONG_AUC) or (gap >= STRONG_GAP)
    moderate = (auc_ >= MODERATE_AUC) or (gap >= MODERATE_GAP)
    if strong or (hints and moderate):
        return "likely leakage"
    if moderate or hints:
        return "check"
    return "ok"


def _evidence(auc_: float, n: int, miss_not: float, miss_ho: float, hints: list[str]) -> str:
    said = []
    if np.isfinite(auc_):
        said.append(f"AUC {auc_:.2f} on its own ({n:,} handed-off leads)")
    else:
        said.append("AUC not computed (too few handed-off leads or one outcome only)")
    if np.isfinite(miss_not) and np.isfinite(miss_ho):
        said.append(
            f"missing for {miss_not:.0%} of leads never handed off vs {miss_ho:.0%} of "
            "handed-off leads"
        )
    if hints:
        said.append("name mentions " + ", ".join(repr(h) for h in hints))
    return "; ".join(said)


def property_leakage(
    con: duckdb.DuckDBPyConnection,
    outcome: str = "sql",
    *,
    min_count: int = 10,
    min_leads: int = 20,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> pd.DataFrame:
    """Evidence, per lead property, that sales filled it in after the handoff.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection to a Handoff Health database.
    outcome : {'sql', 'opportunity', 'customer'}
        The outcome the scoring lab predicts.
    min_count : int
        Values of a categorical property held by fewer handed-off leads than this are
        pooled into one value for the AUC.
    min_leads : int
        The AUC is computed only with at least this many handed-off leads and both
        outcomes present.
    horizon_days : int
        Passed to the decision-point query; it does not change who is handed off.

    Returns
    -------
    DataFrame
        One row per property, most suspicious first: ``name``, ``kind`` ('numeric' or
        'categorical'), ``verdict`` ('likely leakage', 'check', 'ok'), ``auc``
        (direction-free single-feature AUC among handed-off leads, NaN when not
        computed), ``auc_leads`` (handed-off leads it was computed on),
        ``missing_not_handed_off`` and ``missing_handed_off`` (share of those leads
        without a value, NaN for an empty group), ``missing_gap`` (the first minus the
        second), ``name_hints`` (comma-separated words of :data:`NAME_HINTS`) and
        ``evidence`` (the same in words). Empty when there are no lead properties.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    if not has_table(con, "lead_properties"):
        return pd.DataFrame(columns=LEAKAGE_COLUMNS)
    props = con.execute(PROPERTIES_SQL).df()
    if props.empty:
        return pd.DataFrame(columns=LEAKAGE_COLUMNS)
    leads = con.execute(OUTCOME_SQL, {"horizon": int(horizon_days)}).df()
    leads = leads.set_index(leads["lead_id"].astype(object))
    handed = leads["handed_off"].astype(bool)
    n_ho, n_not = int(handed.sum()), int((~handed).sum())
    ho = leads.loc[handed]
    y = ho[outcome].astype(bool).to_numpy()
    rows = []
    for name, group in props.groupby("name", sort=True):
        group = group.drop_duplicates("lead_id")
        group.index = pd.Index(group["lead_id"].astype(object))
        has = leads.index.isin(group.index)
        miss_ho = 1 - has[handed.to_numpy()].mean() if n_ho else float("nan")
        miss_not = 1 - has[~handed.to_numpy()].mean() if n_not else float("nan")
        numbers = group["value_number"]
        numeric = numbers.notna().mean() >= NUMERIC_SHARE
        value = group.reindex(ho.index)
        a = float("nan")
        if len(ho) >= min_leads and 0 < y.sum() < len(y):
            if numeric:
                score = value["value_number"].to_numpy(dtype=float)
                score = np.where(np.isfinite(score), score, -np.inf)
            else:
                level = value["value"].astype(object).where(value["value"].notna(), "(missing)")
                counts = level.value_counts()
                level = level.where(level.map(counts) >= min_count, "(rare)")
                rate = pd.Series(y, index=level.index).groupby(level.to_numpy()).mean()
                score = level.map(rate).to_numpy(dtype=float)
            raw = auc(score, y)
            a = max(raw, 1 - raw)
        hints = name_hints(str(name))
        gap = miss_not - miss_ho if np.isfinite(miss_not) and np.isfinite(miss_ho) else np.nan
        rows.append(
            {
                "name": name,
                "kind": "numeric" if numeric else "categorical",
                "verdict": _verdict(
                    a if np.isfinite(a) else 0.0, gap if np.isfinite(gap) else 0.0, hints
                ),
                "auc": a,
                "auc_leads": len(ho) if np.isfinite(a) else 0,
                "missing_not_handed_off": miss_not,
                "missing_handed_off": miss_ho,
                "missing_gap": gap,
                "name_hints": ", ".join(hints),
                "evidence": _evidence(a, len(ho), miss_not, miss_ho, hints),
            }
        )
    out = pd.DataFrame(rows, columns=LEAKAGE_COLUMNS)
    severity = out["verdict"].map({"likely leakage": 0, "check": 1, "ok": 2})
    out = out.assign(_s=severity, _a=out["auc"].fillna(0))
    out = out.sort_values(["_s", "_a", "name"], ascending=[True, False, True])
    return out.drop(columns=["_s", "_a"]).reset_index(drop=True)


def property_overview(
    con: duckdb.DuckDBPyConnection, outcome: str = "sql", **kwargs: int
) -> pd.DataFrame:
    """The stored lead properties with their leakage verdict, for listing.

    Returns
    -------
    DataFrame
        :func:`analysis.flat.property_catalogue` (``name``, ``kind``, ``leads``,
        ``distinct_values``, ``examples``) plus ``verdict``, ``auc`` and ``evidence`` from
        :func:`property_leakage` (keyword arguments are passed on), in catalogue order.
    """
    from analysis.imports.flat import property_catalogue

    catalogue = property_catalogue(con)
    evidence = property_leakage(con, outcome, **kwargs)[["name", "verdict", "auc", "evidence"]]
    return catalogue.merge(evidence, on="name", how="left")
