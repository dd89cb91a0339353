"""Rolling-origin back-test: how the rules and the model would have done month after month.

Query intuition
---------------
One time split says how a model does on one period. A rolling origin repeats it: for
every complete month ``m`` (the *origin*) with at least ``min_train_months`` months
before it,

- **train** on leads whose decision point falls in a month ``<= m``, with the outcome as
  it was known at the end of month ``m`` (a lead that reached SQL only in month ``m+1``
  counts as "not reached" for the origin ``m``: that is what the history said then), and
  only where it was observable then (handed off by the end of ``m``; with a conversion
  window, the window had passed by then);
- **test** on the leads decided in months ``m+1 .. m+k`` (complete months only), with the
  outcome as observed at the end of the data.

No fold ever trains on a lead decided in one of its own test months, nor on an outcome
recorded after its origin (the leakage test checks both).

:func:`model_folds` fits the logistic model (:func:`analysis.scoring.model.make_pipeline`)
once per origin and keeps its predictions for the test leads; it is the slow part and runs
in the background, cached per database version. :func:`backtest_table` then scores any
rules on the same folds with numpy only, so changing the proposed rule never refits:

- **AUC** of the rule's score (or the model's probability) among test leads with an
  observed outcome;
- **precision at the chosen volume**: for a rule, the share of its MQLs (score >=
  threshold) with an observed outcome that reached it; for the model, the same share
  among its top-``V`` test leads, ``V`` = the proposed rule's MQL count in that period;
- **calibration**: ``expected`` vs ``observed``. For the model, its mean predicted
  probability vs the observed rate among observed test leads; for a rule, its precision
  on the training months (what one would have promised at the origin) vs its precision
  in the test months. ``expected - observed`` far from 0 is drift.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analysis.scoring import whatif
from analysis.scoring.configs import ScoringConfig
from analysis.scoring.evaluate import MIN_PER_CLASS, auc
from analysis.scoring.matrix import FeatureMatrix, _days

BACKTEST_COLUMNS = [
    "origin",
    "test_start",
    "test_end",
    "who",
    "auc",
    "volume",
    "precision",
    "precision_k",
    "precision_n",
    "expected",
    "observed",
    "n_test",
    "n_train",
]


@dataclass(eq=False)
class Fold:
    """One origin of the rolling back-test.

    Attributes
    ----------
    origin : numpy.datetime64
        Last training month (datetime64[M]).
    test_months : ndarray of datetime64[M]
    train_rows : ndarray of int
        Matrix rows the model was fitted on (decided in a month <= origin, observable then).
    train_y : ndarray of int8
        Their outcome as known at the end of the origin month.
    test_rows : ndarray of int
        Matrix rows decided in the test months (observed or not).
    p_test : ndarray of float
        The model's predicted probability for ``test_rows`` (NaN when no model could be
        fitted on this origin).
    model : sklearn Pipeline or None
        The model fitted at this origin (None when none could be).
    n_train : int
        Leads the model could train on (``len(train_rows)``, before any subsample).

    The four arrays follow from the matrix, the origin and the model, so a pickled fold
    leaves them out (a few kilobytes instead of megabytes per fold) and
    :meth:`BackTest.restore` recomputes them, the same numbers, on first use.
    """

    origin: np.datetime64
    test_months: np.ndarray
    train_rows: np.ndarray | None
    train_y: np.ndarray | None
    test_rows: np.ndarray | None
    p_test: np.ndarray | None
    model: object = None
    n_train: int = 0

    def __getstate__(self) -> dict:
        return {**self.__dict__, "train_rows": None, "train_y": None, "test_rows": None,
                "p_test": None}  # fmt: skip


@dataclass(eq=False)
class BackTest:
    """The folds of a rolling-origin back-test and what they predict."""

    outcome: str
    within_days: float | None
    horizon_months: int
    folds: list[Fold] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    names: tuple[str, ...] = ()
    max_train: int | None = None

    def restore(self, fm: FeatureMatrix) -> BackTest:
        """Recompute the per-lead arrays a pickled copy left out (no refit); returns self."""
        test_month = None
        for f in self.folds:
            if f.test_rows is not None:
                continue
            if test_month is None:
                test_month = fm.decision_at.astype("datetime64[M]")
            f.train_rows, f.train_y = training_rows(fm, f.origin, self.outcome, self.within_days)
            f.test_rows = np.flatnonzero(fm.decided & np.isin(test_month, f.test_months))
            f.p_test = _predict(f.model, fm, self.names, f.test_rows)
        return self


def _predict(
    model: object, fm: FeatureMatrix, names: tuple[str, ...], rows: np.ndarray
) -> np.ndarray:
    """The fold model's probabilities for matrix ``rows`` (NaN without a model)."""
    if model is None:
        return np.full(len(rows), np.nan)
    cols = [fm.index(n) for n in names]
    with threadpool_limits(1):
        return model.predict_proba(pd.DataFrame(fm.X[np.ix_(rows, cols)], columns=list(names)))[
            :, 1
        ]


def _month_end(month: np.datetime64) -> np.datetime64:
    return (month + 1).astype("datetime64[D]").astype("datetime64[us]")


def training_rows(
    fm: FeatureMatrix, origin: np.datetime64, outcome: str, within_days: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, outcome known at the end of ``origin``) of the leads a fold may train on."""
    end = _month_end(origin)
    decided_then = fm.decision_at < end
    observable = fm.handed_off & decided_then
    reached_at = fm.reached_at(outcome)
    known = ~np.isnat(reached_at) & (reached_at < end)
    if within_days is not None:
        limit = fm.decision_at + _days(within_days)
        observable &= limit <= end
        known &= reached_at <= limit
    rows = np.flatnonzero(observable)
    return rows, known[rows].astype(np.int8)


def fold_months(
    fm: FeatureMatrix, horizon_months: int = 1, min_train_months: int = 3
) -> list[tuple[np.datetime64, np.ndarray]]:
    """(origin, test months) of every fold over the complete months of the history."""
    complete = fm.complete_months()
    months = fm.months[: len(complete)][complete]
    out = []
    for i in range(min_train_months - 1, len(months) - 1):
        test = months[i + 1 : i + 1 + horizon_months]
        if len(test) == horizon_months:
            out.append((months[i], test))
    return out


def model_folds(
    fm: FeatureMatrix,
    outcome: str = "sql",
    within_days: float | None = None,
    horizon_months: int = 1,
    min_train_months: int = 3,
    *,
    max_train: int | None = 200_000,
    C: float = 1.0,
    seed: int = 0,
    progress: Callable[[float, str], None] | None = None,
) -> BackTest:
    """Fit the logistic model once per origin and predict its test months.

    Parameters
    ----------
    fm : FeatureMatrix
        The feature matrix (built once per database version).
    outcome, within_days
        The outcome predicted (as for :func:`analysis.scoring.model.fit_model`).
    horizon_months : int
        ``k``: months tested after each origin.
    min_train_months : int
        First origin: the month that has this many complete months up to it.
    max_train : int or None
        At most this many training leads per fit (a fixed random subset), to bound time;
        None fits on every training lead. At 1M leads no origin has more than ~170k
        training leads, so the default cap changes nothing there (``make bench`` prints
        the AUCs with and without it).
    C : float
        Inverse L2 penalty, as for the fitted model.
    seed : int
        Seed of the training subset and of the solver.
    progress : callable, optional
        ``progress(share_done, text)`` after each fold.
    """
    from analysis.scoring.model import make_pipeline

    names = tuple(n for n in fm.offered if n not in fm.reference_levels())
    cols = [fm.index(n) for n in names]
    bt = BackTest(outcome, within_days, horizon_months)
    plan = fold_months(fm, horizon_months, min_train_months)
    if not plan:
        bt.notes.append(
            f"Too few complete months for a back-test: it needs {min_train_months} to train "
            f"and {horizon_months} to test."
        )
    rng = np.random.default_rng(seed)
    decided = fm.decided
    test_month = fm.decision_at.astype("datetime64[M]")
    bt.names, bt.max_train = names, max_train
    for i, (origin, test_months) in enumerate(plan):
        if progress:
            progress(i / len(plan), f"origin {str(origin)}")
        rows, y = training_rows(fm, origin, outcome, within_days)
        test_rows = np.flatnonzero(decided & np.isin(test_month, test_months))
        n_pos = int(y.sum())
        pipe = None
        if names and min(n_pos, len(y) - n_pos) >= MIN_PER_CLASS and len(test_rows):
            fit_rows, fit_y = rows, y
            if max_train is not None and len(rows) > max_train:
                keep = np.sort(rng.choice(len(rows), max_train, replace=False))
                fit_rows, fit_y = rows[keep], y[keep]
            pipe = make_pipeline(names, C, seed)
            # One BLAS thread: on a shared 2-core machine more threads spin against the
            # page and other processes, and every fit gets slower, not faster.
            with threadpool_limits(1):
                pipe.fit(pd.DataFrame(fm.X[np.ix_(fit_rows, cols)], columns=list(names)), fit_y)
        else:
            bt.notes.append(f"No model for origin {origin}: too few leads of one kind.")
        p = _predict(pipe, fm, names, test_rows)
        bt.folds.append(Fold(origin, test_months, rows, y, test_rows, p, pipe, len(rows)))
    if progress:
        progress(1.0, "done")
    return bt


def _precision(mask: np.ndarray, observed: np.ndarray, y: np.ndarray) -> tuple[float, int, int]:
    n = int((mask & observed).sum())
    k = int((mask & observed & y).sum())
    return (k / n if n else float("nan")), k, n


def backtest_table(
    bt: BackTest, fm: FeatureMatrix, rules: Mapping[str, ScoringConfig], chosen: str
) -> pd.DataFrame:
    """Rules and the model on every fold, one row per (fold, who).

    Parameters
    ----------
    bt : BackTest
        From :func:`model_folds` on the same matrix.
    fm : FeatureMatrix
        The matrix the folds index.
    rules : mapping of str to ScoringConfig
        Rules to score, by label (e.g. "current rule", "proposed rule").
    chosen : str
        Label in ``rules`` whose MQL count per test period is the model's volume.

    Returns
    -------
    DataFrame
        :data:`BACKTEST_COLUMNS`: ``origin``, ``test_start``, ``test_end`` (first days of
        the months, Timestamps), ``who`` (a rule label or "model"), ``auc``, ``volume``
        (MQLs among the test leads), ``precision`` with ``precision_k`` of
        ``precision_n``, ``expected`` / ``observed`` (calibration, see the module
        docstring), ``n_test`` (test leads with an observed outcome), ``n_train``.
    """
    bt.restore(fm)
    observed_all = fm.observed(bt.within_days)
    y_all = fm.outcome(bt.outcome, bt.within_days) & observed_all
    scores = {label: whatif.scores(fm, cfg) for label, cfg in rules.items()}
    rows = []
    for f in bt.folds:
        obs = observed_all[f.test_rows]
        y = y_all[f.test_rows]
        train_y = f.train_y.astype(bool)
        base = {
            "origin": pd.Timestamp(f.origin),
            "test_start": pd.Timestamp(f.test_months[0]),
            "test_end": pd.Timestamp(f.test_months[-1]),
            "n_test": int(obs.sum()),
            "n_train": f.n_train,
        }
        volume = len(f.test_rows)
        for label, cfg in rules.items():
            s = scores[label]
            mql = s[f.test_rows] >= cfg.threshold
            prec, k, n = _precision(mql, obs, y)
            train_mql = s[f.train_rows] >= cfg.threshold  # every training row is observed
            n_tr = int(train_mql.sum())
            expected = float((train_mql & train_y).sum() / n_tr) if n_tr else float("nan")
            if label == chosen:
                volume = int(mql.sum())
            rows.append(
                {
                    **base,
                    "who": label,
                    "auc": auc(y[obs].astype(int), s[f.test_rows][obs]),
                    "volume": int(mql.sum()),
                    "precision": prec,
                    "precision_k": k,
                    "precision_n": n,
                    "expected": expected,
                    "observed": prec,
                }
            )
        rows.append({**base, "who": "model", **_model_row(f, obs, y, volume)})
    return pd.DataFrame(rows, columns=BACKTEST_COLUMNS)


def _model_row(f: Fold, obs: np.ndarray, y: np.ndarray, volume: int) -> dict:
    if not np.isfinite(f.p_test).all() or len(f.p_test) == 0:
        nan = float("nan")
        return {"auc": nan, "volume": volume, "precision": nan, "precision_k": 0,
                "precision_n": 0, "expected": nan, "observed": nan}  # fmt: skip
    top = np.zeros(len(f.p_test), dtype=bool)
    top[np.argsort(-f.p_test, kind="stable")[:volume]] = True
    prec, k, n = _precision(top, obs, y)
    rate = float(y[obs].mean()) if obs.any() else float("nan")
    return {
        "auc": auc(y[obs].astype(int), f.p_test[obs]),
        "volume": volume,
        "precision": prec,
        "precision_k": k,
        "precision_n": n,
        "expected": float(f.p_test[obs].mean()) if obs.any() else float("nan"),
        "observed": rate,
    }
