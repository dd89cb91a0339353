"""The threshold curve: MQLs, precision, recall and MQLs per month at every threshold at once.

Query intuition
---------------
For the rule "MQL when score >= t", every possible ``t`` is answered from one pass over
the scores: one ``np.bincount`` when the scores are whole numbers (the usual case with
whole points), else one stable sort, then reverse cumulative sums ("score >= t" counts
everything from the top down to ``t``). Never a loop over thresholds.

MQLs per month use the complete months of the history (:meth:`FeatureMatrix.
complete_months`, the same definition as :meth:`analysis.scoring.whatif.WhatIf.
mqls_per_month`): the would-be MQLs at ``t`` among leads decided in a complete month,
divided by the number of complete months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.scoring.configs import ScoringConfig, split_scores
from analysis.scoring.matrix import FeatureMatrix

THRESHOLD_CURVE_COLUMNS = ["threshold", "mqls", "observed", "reached", "precision", "recall"]
_MAX_BINCOUNT_SPAN = 1 << 22
"""Widest range of whole-number scores the bincount path handles (4M bins)."""


def threshold_curve(
    scores: np.ndarray,
    outcomes: np.ndarray,
    observed: np.ndarray | None = None,
    method: str = "auto",
) -> pd.DataFrame:
    """MQL count, precision and recall at every threshold, from one pass over the scores.

    Parameters
    ----------
    scores : ndarray of float, shape (n,)
        Score of every lead in the population (e.g. the decided leads).
    outcomes : ndarray of bool, shape (n,)
        Reached the outcome. Only counted where ``observed``.
    observed : ndarray of bool, shape (n,), optional
        Outcome known (default: all).
    method : {'auto', 'bincount', 'sort'}
        'auto' uses ``np.bincount`` for whole-number scores spanning at most 4M values
        and one stable sort otherwise; the two give the same table.

    Returns
    -------
    DataFrame
        One row per distinct score value ``t``, ascending, for the rule "MQL when score >=
        t": ``threshold`` (t), ``mqls`` (leads with score >= t), ``observed`` (of them,
        with an observed outcome), ``reached`` (of them, reached the outcome),
        ``precision`` = reached / observed (NaN when 0) and ``recall`` = reached / all
        observed leads that reached the outcome (NaN when there are none).
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(outcomes, dtype=bool)
    obs = np.ones(len(s), dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
    if not (s.shape == y.shape == obs.shape == (len(s),)):
        raise ValueError(
            f"scores, outcomes and observed must be 1-D with the same length, got shapes "
            f"{s.shape}, {y.shape} and {obs.shape}"
        )
    pos = y & obs
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite numbers")
    if len(s) == 0:
        return pd.DataFrame(columns=THRESHOLD_CURVE_COLUMNS)
    if method not in ("auto", "bincount", "sort"):
        raise ValueError(f"method must be 'auto', 'bincount' or 'sort', got {method!r}")
    whole = s.max() - s.min() < _MAX_BINCOUNT_SPAN and np.array_equal(s, np.floor(s))
    if method == "bincount" and not whole:
        raise ValueError("method 'bincount' needs whole-number scores spanning at most 4M values")
    count = _by_bincount if whole and method != "sort" else _by_sort
    thresholds, ge, ge_obs, ge_pos = count(s, obs, pos)
    total_pos = int(pos.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(ge_obs > 0, ge_pos / np.maximum(ge_obs, 1), np.nan)
        recall = ge_pos / total_pos if total_pos else np.full(len(ge), np.nan)
    return pd.DataFrame(
        {
            "threshold": thresholds,
            "mqls": ge.astype(np.int64),
            "observed": ge_obs.astype(np.int64),
            "reached": ge_pos.astype(np.int64),
            "precision": precision,
            "recall": recall,
        },
        columns=THRESHOLD_CURVE_COLUMNS,
    )


def _by_bincount(
    s: np.ndarray, obs: np.ndarray, pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, leads, observed, reached at score >= t) for whole-number scores."""
    lo, hi = s.min(), s.max()
    idx = (s - lo).astype(np.int64)
    size = int(hi - lo) + 1
    count = np.bincount(idx, minlength=size)
    n_obs = np.bincount(idx, weights=obs, minlength=size)
    n_pos = np.bincount(idx, weights=pos, minlength=size)
    present = np.flatnonzero(count)
    # "score >= t" = reverse cumulative sum from the top bin down.
    ge = np.cumsum(count[::-1])[::-1][present]
    ge_obs = np.cumsum(n_obs[::-1])[::-1][present].round().astype(np.int64)
    ge_pos = np.cumsum(n_pos[::-1])[::-1][present].round().astype(np.int64)
    return lo + present.astype(np.float64), ge, ge_obs, ge_pos


def _by_sort(
    s: np.ndarray, obs: np.ndarray, pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The same as :func:`_by_bincount` for any scores, from one stable sort."""
    order = np.argsort(-s, kind="stable")
    desc = s[order]
    c_all = np.arange(1, len(s) + 1)
    c_obs = np.cumsum(obs[order])
    c_pos = np.cumsum(pos[order])
    last = np.flatnonzero(np.append(desc[1:] != desc[:-1], True))  # end of each value
    return desc[last][::-1], c_all[last][::-1], c_obs[last][::-1], c_pos[last][::-1]


def config_threshold_curve(
    fm: FeatureMatrix,
    config: ScoringConfig,
    outcome: str = "sql",
    within_days: float | None = None,
) -> pd.DataFrame:
    """:func:`threshold_curve` of a configuration's points over the decided leads.

    The configuration's own threshold is not used: every threshold is a row.

    Returns
    -------
    DataFrame
        The columns of :func:`threshold_curve` plus ``mqls_per_month``: would-be MQLs at
        that threshold per month, over the months :meth:`FeatureMatrix.mqls_months`
        counts (complete months; every month of the window when none is complete; NaN
        when there is no month).
    """
    decided = fm.decided
    fit, engagement = split_scores(fm, config)
    scores = fit + engagement
    curve = threshold_curve(
        scores[decided],
        fm.outcome(outcome, within_days)[decided],
        fm.observed(within_days)[decided],
    )
    months = fm.mqls_months()
    if curve.empty or not months.any():
        curve["mqls_per_month"] = np.nan
        return curve
    ascending = np.sort(scores[fm.in_mqls_months()])
    curve["mqls_per_month"] = at_or_above(ascending, curve["threshold"]) / int(months.sum())
    return curve


def at_or_above(
    ascending: np.ndarray, thresholds: np.ndarray | pd.Series | list[float]
) -> np.ndarray:
    """How many of the sorted values ``ascending`` are at least each threshold.

    One binary search per threshold.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    return len(ascending) - np.searchsorted(ascending, t, side="left")
