"""How well a fitted scoring model ranks leads it did not learn from: time split or k-fold.

Query intuition
---------------
A model is judged on leads it was not fitted on, and the AUC (the chance that a lead that
reached the outcome is ranked above one that did not) is reported with its spread and the
number of leads and outcomes behind it.

- **Time split** (:data:`TIME_SPLIT`) when the history is dated: leads are ordered by
  decision point, the oldest ``1 - test_fraction`` train the model and the newest test it
  (ties on the split instant go to the test side), as scoring is used: on newer leads.
  The spread is a 95% interval for the test AUC from the Hanley-McNeil standard error.
- **Stratified k-fold cross-validation** (:data:`CROSS_VALIDATION`) when decision times
  tie (an export without dates puts every lead on one day) or the time split would leave
  too few older leads of either kind: ``StratifiedKFold(k, shuffle=True,
  random_state=seed)`` keeps the outcome share in every fold; each lead is predicted once
  by the model fitted on the other folds. The AUC is the mean of the fold AUCs, its spread
  their standard deviation, and the 95% interval uses all leads (each was tested once).

:func:`fit_check` states the real cause when no evaluation is possible (nobody handed off,
too few leads that reached the outcome, or too few that did not).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

TIME_SPLIT = "time split"
CROSS_VALIDATION = "stratified k-fold cross-validation"
"""Names of the evaluation methods, as reported in :attr:`Evaluation.method`."""

MIN_PER_CLASS = 10
"""Leads of each kind (reached the outcome, did not) needed to fit and evaluate a model."""

N_SPLITS = 5
"""Folds of the cross-validation (fewer when a class has fewer leads)."""

Z_95 = 1.959963984540054
"""Two-sided 95% quantile of the standard normal."""

STAGE_WORDS = {
    "sql": "the SQL stage",
    "opportunity": "the opportunity stage",
    "customer": "the customer stage",
}


class FitImpossible(ValueError):
    """No model can be fitted or evaluated on this history; the message says why."""


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC of scores ``p`` for 0/1 labels ``y``; NaN when a class is missing."""
    if len(y) == 0 or np.min(y) == np.max(y):
        return float("nan")
    return float(roc_auc_score(y, p))


def auc_interval(value: float, n_pos: int, n_neg: int) -> tuple[float, float]:
    """95% interval of an AUC from the Hanley-McNeil (1982) standard error, clipped to 0-1.

    ``se^2 = (A(1-A) + (n1-1)(Q1-A^2) + (n0-1)(Q2-A^2)) / (n1 n0)`` with
    ``Q1 = A/(2-A)`` and ``Q2 = 2A^2/(1+A)``. NaN when the AUC is NaN or a class is empty.
    """
    if not math.isfinite(value) or n_pos < 1 or n_neg < 1:
        return float("nan"), float("nan")
    q1, q2 = value / (2 - value), 2 * value**2 / (1 + value)
    var = (value * (1 - value) + (n_pos - 1) * (q1 - value**2) + (n_neg - 1) * (q2 - value**2)) / (
        n_pos * n_neg
    )
    se = math.sqrt(max(var, 0.0))
    return max(0.0, value - Z_95 * se), min(1.0, value + Z_95 * se)


def fit_check(
    outcome: str,
    n_handed_off: int,
    n_observed: int,
    n_positive: int,
    within_days: float | None = None,
) -> None:
    """Raise :class:`FitImpossible` with the real cause when the leads cannot carry a model.

    Parameters
    ----------
    outcome : str
        The stage predicted ('sql', 'opportunity', 'customer').
    n_handed_off : int
        Leads ever handed to sales.
    n_observed : int
        Of them, leads whose outcome is known (the conversion window has passed).
    n_positive : int
        Of those, leads that reached the outcome.
    within_days : float, optional
        The conversion window, for the message.
    """
    stage = STAGE_WORDS.get(outcome, repr(outcome))
    if n_handed_off == 0:
        raise FitImpossible(
            "no lead was handed off: map a handoff/MQL date or mark all rows as handed off"
        )
    if n_observed == 0:
        raise FitImpossible(
            f"all {n_handed_off:,} handed-off leads are too recent for the {within_days:g}-day "
            "window to have passed: choose a shorter window or 'any time'"
        )
    if n_positive < MIN_PER_CLASS:
        raise FitImpossible(
            f"only {n_positive:,} leads reached {stage}; at least {MIN_PER_CLASS} are needed"
        )
    negative = n_observed - n_positive
    if negative < MIN_PER_CLASS:
        raise FitImpossible(
            f"only {negative:,} of the {n_observed:,} handed-off leads did not reach {stage}; "
            f"at least {MIN_PER_CLASS} are needed. If only converted leads count as handed "
            "off, mark every row of the export as handed off"
        )


@dataclass(eq=False)
class Evaluation:
    """The out-of-sample evaluation of a model.

    Attributes
    ----------
    method : str
        :data:`TIME_SPLIT` or :data:`CROSS_VALIDATION`.
    reason : str
        Why that method, in words.
    auc : float
        Test AUC (time split) or mean fold AUC (cross-validation).
    auc_std : float
        Standard error (time split, Hanley-McNeil) or standard deviation of the fold AUCs.
    auc_low, auc_high : float
        95% interval of the AUC.
    n_leads, n_outcomes : int
        Leads the AUC was computed on, and of them those that reached the outcome.
    fold_aucs : tuple of float
        One AUC per fold (cross-validation), empty for a time split.
    y, p : ndarray
        Outcome (0/1) and out-of-sample predicted probability of the evaluated leads.
    train : ndarray of int
        Rows of the matrix the final model is fitted on.
    split_at : numpy.datetime64
        Decision time of the first test lead (NaT for cross-validation).
    """

    method: str
    reason: str
    auc: float
    auc_std: float
    auc_low: float
    auc_high: float
    n_leads: int
    n_outcomes: int
    fold_aucs: tuple[float, ...]
    y: np.ndarray
    p: np.ndarray
    train: np.ndarray
    split_at: np.datetime64


Fitter = Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray]]
"""fit(rows, y) -> predict(rows): fits a model on matrix rows, returns its predictor."""


def time_split_rows(
    rows: np.ndarray, decision_at: np.ndarray, y: np.ndarray, test_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.datetime64, str]:
    """(train, test, split_at, why not) for a time split; ``why not`` is '' when usable.

    ``rows`` are matrix rows with an observed outcome, ``y`` their outcome.
    """
    order = np.argsort(decision_at[rows], kind="stable")
    rows, y = rows[order], y[order]
    split_at = decision_at[rows[int(len(rows) * (1 - test_fraction))]]
    is_train = decision_at[rows] < split_at
    train, test = rows[is_train], rows[~is_train]
    distinct = len(np.unique(decision_at[rows]))
    if distinct == 1:
        return (
            train,
            test,
            split_at,
            (
                f"all {len(rows):,} leads share one decision time (no dates), so no older leads "
                "can train a model for newer ones"
            ),
        )
    y_train, y_test = y[is_train], y[~is_train]
    smallest = min(int(y_train.sum()), int((1 - y_train).sum()))
    if smallest < MIN_PER_CLASS or y_test.min() == y_test.max():
        return (
            train,
            test,
            split_at,
            (
                f"decision times tie: the time split at {str(split_at)[:10]} leaves "
                f"{len(train):,} older leads ({smallest} of the rarer kind) and {len(test):,} newer"
            ),
        )
    return train, test, split_at, ""


def evaluate_time_split(
    fit: Fitter, train: np.ndarray, test: np.ndarray, y_of: np.ndarray, split_at: np.datetime64
) -> Evaluation:
    """Fit on ``train`` rows, test on ``test`` rows; ``y_of`` is the outcome of every row."""
    predict = fit(train, y_of[train])
    y, p = y_of[test], predict(test)
    value = auc(y, p)
    n_pos = int(y.sum())
    low, high = auc_interval(value, n_pos, len(y) - n_pos)
    return Evaluation(
        method=TIME_SPLIT,
        reason="the history is dated: older leads train the model, newer leads test it",
        auc=value,
        auc_std=(high - low) / (2 * Z_95) if math.isfinite(low) else float("nan"),
        auc_low=low,
        auc_high=high,
        n_leads=len(y),
        n_outcomes=n_pos,
        fold_aucs=(),
        y=y,
        p=p,
        train=train,
        split_at=split_at,
    )


def evaluate_cross_validation(
    fit: Fitter, rows: np.ndarray, y_of: np.ndarray, seed: int, reason: str
) -> Evaluation:
    """Stratified k-fold cross-validation over ``rows`` (shuffled with ``seed``)."""
    y = y_of[rows]
    k = int(min(N_SPLITS, y.sum(), len(y) - y.sum()))
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    p = np.zeros(len(rows))
    fold_aucs = []
    for fit_idx, test_idx in folds.split(np.zeros(len(rows)), y):
        predict = fit(rows[fit_idx], y[fit_idx])
        p[test_idx] = predict(rows[test_idx])
        fold_aucs.append(auc(y[test_idx], p[test_idx]))
    value = float(np.mean(fold_aucs))
    n_pos = int(y.sum())
    low, high = auc_interval(value, n_pos, len(y) - n_pos)
    return Evaluation(
        method=CROSS_VALIDATION,
        reason=reason,
        auc=value,
        auc_std=float(np.std(fold_aucs, ddof=1)) if k > 1 else float("nan"),
        auc_low=low,
        auc_high=high,
        n_leads=len(y),
        n_outcomes=n_pos,
        fold_aucs=tuple(float(a) for a in fold_aucs),
        y=y,
        p=p,
        train=rows,
        split_at=np.datetime64("NaT", "us"),
    )


def evaluate(
    fit: Fitter,
    rows: np.ndarray,
    decision_at: np.ndarray,
    y_of: np.ndarray,
    test_fraction: float = 0.25,
    seed: int = 0,
) -> Evaluation:
    """Time split when the history allows it, stratified k-fold otherwise (see module doc).

    Parameters
    ----------
    fit : callable
        ``fit(rows, y) -> predict(rows)``.
    rows : ndarray of int
        Matrix rows with an observed outcome.
    decision_at : ndarray of datetime64, shape (n,)
        Decision point of every matrix row.
    y_of : ndarray of int, shape (n,)
        Outcome (0/1) of every matrix row.
    test_fraction : float
        Share of the newest leads tested by a time split.
    seed : int
        Shuffle seed of the cross-validation folds.
    """
    train, test, split_at, why_not = time_split_rows(rows, decision_at, y_of[rows], test_fraction)
    if not why_not:
        return evaluate_time_split(fit, train, test, y_of, split_at)
    return evaluate_cross_validation(fit, rows, y_of, seed, why_not)
