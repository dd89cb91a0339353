"""The leads that switch side between two rules, largest score change first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.scoring.configs import ScoringConfig, split_scores
from analysis.scoring.matrix import FeatureMatrix

CHANGED_COLUMNS = [
    "lead_id",
    "decision_at",
    "region",
    "owner",
    "current_score",
    "proposed_score",
    "direction",
    "outcome",
]


def changed_sides(
    fm: FeatureMatrix,
    current: ScoringConfig,
    proposed: ScoringConfig,
    outcome: str = "sql",
    within_days: float | None = None,
) -> pd.DataFrame:
    """The leads that would switch side between the current and the proposed rule.

    Returns
    -------
    DataFrame
        One row per decided lead that is an MQL under exactly one of the two rules, the
        largest score changes first: ``lead_id``, ``decision_at``, ``region``, ``owner``,
        ``current_score``, ``proposed_score`` (points), ``direction`` ('in' = becomes an
        MQL under the proposed rule, 'out' = stops being one) and ``outcome``
        ('reached', 'not reached', or 'unobserved' when never handed off or too recent).
    """
    cur = split_scores(fm, current)
    prop = split_scores(fm, proposed)
    cur_score, prop_score = cur[0] + cur[1], prop[0] + prop[1]
    decided = fm.decided
    cur_mql = (cur_score >= current.threshold) & decided
    prop_mql = (prop_score >= proposed.threshold) & decided
    return _changed_frame(fm, cur_score, prop_score, cur_mql, prop_mql, outcome, within_days)


def _changed_frame(
    fm: FeatureMatrix,
    cur_score: np.ndarray,
    prop_score: np.ndarray,
    cur_mql: np.ndarray,
    prop_mql: np.ndarray,
    outcome: str,
    within_days: float | None,
) -> pd.DataFrame:
    rows = np.flatnonzero(cur_mql != prop_mql)
    observed = fm.observed(within_days)[rows]
    reached = fm.outcome(outcome, within_days)[rows]
    label = np.where(~observed, "unobserved", np.where(reached, "reached", "not reached"))
    out = pd.DataFrame(
        {
            "lead_id": fm.lead_ids[rows],
            "decision_at": fm.decision_at[rows],
            "region": fm.region[rows],
            "owner": fm.owner[rows],
            "current_score": cur_score[rows],
            "proposed_score": prop_score[rows],
            "direction": np.where(prop_mql[rows], "in", "out"),
            "outcome": label,
        },
        columns=CHANGED_COLUMNS,
    )
    change = np.abs(out["proposed_score"] - out["current_score"]).to_numpy()
    order = np.lexsort((out["lead_id"].to_numpy(dtype=str), -change))
    return out.iloc[order].reset_index(drop=True)
