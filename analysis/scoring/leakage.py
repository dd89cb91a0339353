"""Leakage evidence for lead properties: which imported properties sales filled in later.

Query intuition
---------------
Lead properties (:mod:`analysis.scoring.properties`) are a snapshot of the CRM taken when the export
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
   no signal, 1 a perfect split. Fit features on their own rarely pass 0.7. It comes
   with a 95% interval (Hanley-McNeil, :func:`analysis.scoring.evaluate.auc_interval`)
   so that a few hundred leads are not judged against a hard edge.
2. **Filled in only after the handoff.** The share of leads missing the property among
   leads never handed off against among handed-off leads. A field sales fills in is
   missing for leads sales never saw.
3. **Its name** contains a word of :data:`NAME_HINTS` (status, stage, reason, rating,
   quality, grade, tag, score, owner, ...).

The AUC evidence is *strong* when the lower end of its interval reaches
:data:`STRONG_AUC`, and *moderate* when the AUC reaches :data:`MODERATE_AUC` or the upper
end of its interval reaches :data:`STRONG_AUC` (the data cannot rule the cut out). The
verdict is *likely leakage* when the AUC or the missing gap (:data:`STRONG_GAP`) is
strong, or when the name hints and the AUC or gap (:data:`MODERATE_GAP`) is at least
moderate; *check* when any one of them is moderate or the name hints; *ok* otherwise.
AUCs are shown floored to two decimals (:func:`floor2`), so a 0.7997 reads 0.79, never
the 0.80 of the cut. It is evidence for a person to weigh, not a proof:
a genuinely strong fit property can pass 0.8, and a property marketing collects only on
the forms that lead to a handoff can be missing before it.

The outcome and the handoff come from ``stage_changes`` exactly as the scoring lab reads
them (:data:`analysis.scoring.features.DECISION_SQL`): handed off = an ``mql`` or later stage
change; reached ``sql`` = an ``sql``, ``opportunity`` or ``customer`` change.
"""

from __future__ import annotations

import math
import re

import duckdb
import numpy as np
import pandas as pd

from analysis.scoring.evaluate import auc_interval
from analysis.scoring.features import DECISION_SQL, DEFAULT_HORIZON_DAYS, OUTCOMES
from analysis.scoring.properties import NUMERIC_SHARE, has_table

NAME_HINTS: tuple[str, ...] = (
    "status",
    "stage",
    "reason",
    "rating",
    "quality",
    "grade",
    "rank",
    "priority",
    "disposition",
    "assigned",
    "activity",
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
    "auc_low",
    "auc_high",
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


def floor2(value: float) -> float:
    """``value`` floored to two decimals (0.7997 -> 0.79); NaN stays NaN."""
    return math.floor(value * 100 + 1e-9) / 100 if math.isfinite(value) else float("nan")


def _verdict(auc_: float, low: float, high: float, gap: float, hints: list[str]) -> str:
    """'likely leakage', 'check' or 'ok' (NaN AUC or gap count as no evidence)."""
    fine = math.isfinite(auc_)
    strong = (fine and low >= STRONG_AUC) or (gap >= STRONG_GAP)
    moderate = (
        (fine and (auc_ >= MODERATE_AUC or high >= STRONG_AUC)) or (gap >= MODERATE_GAP) or strong
    )
    if strong or (hints and moderate):
        return "likely leakage"
    if moderate or hints:
        return "check"
    return "ok"


def _evidence(
    auc_: tuple[float, float, float],
    n: int,
    miss_not: float,
    miss_ho: float,
    hints: list[str],
    why_no_auc: str = "too few handed-off leads or one outcome only",
) -> str:
    said = []
    value, low, high = auc_
    if np.isfinite(value):
        said.append(
            f"AUC {floor2(value):.2f} on its own (95% {floor2(low):.2f}-{floor2(high):.2f}, "
            f"{n:,} handed-off leads)"
        )
    else:
        said.append(f"AUC not computed ({why_no_auc})")
    if np.isfinite(miss_not) and np.isfinite(miss_ho):
        said.append(
            f"missing for {miss_not:.0%} of leads never handed off vs {miss_ho:.0%} of "
            "handed-off leads"
        )
    if hints:
        said.append("name mentions " + ", ".join(repr(h) for h in hints))
    return "; ".join(said)


def _single_auc(value: pd.DataFrame, y: np.ndarray, numeric: bool, min_count: int) -> float:
    """Direction-free AUC of one property among handed-off leads (module docstring, 1.)."""
    if numeric:
        score = value["value_number"].to_numpy(dtype=float, na_value=np.nan)
        score = np.where(np.isfinite(score), score, -np.inf)
    else:
        level = value["value"].astype(object).where(value["value"].notna(), "(missing)")
        counts = level.value_counts()
        level = level.where(level.map(counts) >= min_count, "(rare)")
        rate = pd.Series(y, index=level.index).groupby(level.to_numpy()).mean()
        score = level.map(rate).to_numpy(dtype=float)
    raw = auc(score, y)
    return max(raw, 1 - raw)


def _why_no_auc(y: np.ndarray, min_leads: int, outcome: str) -> str:
    """Why the single-property AUC cannot be computed, in words ('' when it can)."""
    stage = {"sql": "SQL", "opportunity": "the opportunity stage"}.get(outcome, "customer")
    if len(y) < min_leads:
        return f"only {len(y):,} handed-off leads; at least {min_leads} are needed"
    if y.all():
        return (
            f"every handed-off lead reached {stage}, so nothing tells them apart; if only "
            "converted leads count as handed off, mark every row of the export as handed off"
        )
    if not y.any():
        return f"no handed-off lead reached {stage}"
    return ""


def _row(
    name: str,
    numeric: bool,
    a: float,
    y: np.ndarray,
    miss_not: float,
    miss_ho: float,
    why_no_auc: str = "",
) -> dict:
    """One row of :func:`property_leakage`."""
    n_pos = int(y.sum())
    low, high = auc_interval(a, n_pos, len(y) - n_pos)
    hints = name_hints(name)
    gap = miss_not - miss_ho if np.isfinite(miss_not) and np.isfinite(miss_ho) else np.nan
    return {
        "name": name,
        "kind": "numeric" if numeric else "categorical",
        "verdict": _verdict(a, low, high, gap if np.isfinite(gap) else 0.0, hints),
        "auc": a,
        "auc_low": low,
        "auc_high": high,
        "auc_leads": len(y) if np.isfinite(a) else 0,
        "missing_not_handed_off": miss_not,
        "missing_handed_off": miss_ho,
        "missing_gap": gap,
        "name_hints": ", ".join(hints),
        "evidence": _evidence((a, low, high), len(y), miss_not, miss_ho, hints, why_no_auc),
    }


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
        computed), ``auc_low`` / ``auc_high`` (its 95% interval), ``auc_leads``
        (handed-off leads it was computed on),
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
        numeric = group["value_number"].notna().mean() >= NUMERIC_SHARE
        a = float("nan")
        if len(ho) >= min_leads and 0 < y.sum() < len(y):
            a = _single_auc(group.reindex(ho.index), y, numeric, min_count)
        why = _why_no_auc(y, min_leads, outcome)
        rows.append(_row(str(name), numeric, a, y, miss_not, miss_ho, why))
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
        :func:`analysis.scoring.properties.catalogue` (``name``, ``kind``, ``leads``,
        ``distinct_values``, ``examples``) plus ``verdict``, ``auc`` and ``evidence`` from
        :func:`property_leakage` (keyword arguments are passed on), in catalogue order.
    """
    from analysis.scoring.properties import catalogue as property_catalogue

    catalogue = property_catalogue(con)
    evidence = property_leakage(con, outcome, **kwargs)[["name", "verdict", "auc", "evidence"]]
    return catalogue.merge(evidence, on="name", how="left")
