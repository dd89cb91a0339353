"""A gradient-boosted ceiling beside the logistic model: the signal the points leave out.

Query intuition
---------------
Points are a linear, additive rule: the logistic model whose coefficients become points
cannot use interactions ("a pricing view counts only for large companies") or
non-linear effects. scikit-learn's ``HistGradientBoostingClassifier`` can. Fitted on
the **same features and the same split** as the logistic model (time split, or the same
stratified k-fold cross-validation when decision times tie), its out-of-sample AUC is a
ceiling of what these features can rank; the gap between the two AUCs is how much signal
the points leave on the table. It is never turned into points: it is only a yardstick.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from analysis.scoring.evaluate import auc, evaluate
from analysis.scoring.matrix import FeatureMatrix


@dataclass(frozen=True)
class Ceiling:
    """Out-of-sample AUCs of the logistic model and of the gradient-boosted ceiling.

    Attributes
    ----------
    method : str
        The evaluation both used (time split or cross-validation).
    auc_logistic, auc_boosted : float
    gap : float
        ``auc_boosted - auc_logistic``: ranking the points cannot express.
    n_test : int
        Leads the AUCs were computed on.
    n_train_used : int
        Training leads per fit (subsampled to ``max_train``).
    """

    method: str
    auc_logistic: float
    auc_boosted: float
    gap: float
    n_test: int
    n_train_used: int


def fit_ceiling(
    fm: FeatureMatrix,
    outcome: str = "sql",
    within_days: float | None = None,
    *,
    max_train: int = 200_000,
    seed: int = 0,
) -> Ceiling:
    """Fit logistic and gradient-boosted models on the same split; both AUCs.

    Raises :class:`analysis.scoring.evaluate.FitImpossible` when no model can be fitted.
    """
    from analysis.scoring.model import make_pipeline, observed_leads

    leads = observed_leads(fm, outcome, within_days)
    names = tuple(n for n in fm.offered if n not in fm.reference_levels())
    cols = [fm.index(n) for n in names]
    rng = np.random.default_rng(seed)
    used: list[int] = []

    def _sub(rows: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(rows) > max_train:
            keep = np.sort(rng.choice(len(rows), max_train, replace=False))
            rows, y = rows[keep], y[keep]
        used.append(len(rows))
        return rows, y

    def logistic(rows: np.ndarray, y: np.ndarray):  # noqa: ANN202
        rows, y = _sub(rows, y)
        pipe = make_pipeline(names, 1.0, seed)
        with threadpool_limits(1):  # one BLAS thread: more spin against the page
            pipe.fit(pd.DataFrame(fm.X[np.ix_(rows, cols)], columns=list(names)), y)
        return lambda r: pipe.predict_proba(
            pd.DataFrame(fm.X[np.ix_(r, cols)], columns=list(names))
        )[:, 1]

    def boosted(rows: np.ndarray, y: np.ndarray):  # noqa: ANN202
        rows, y = _sub(rows, y)
        model = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
        # One OpenMP thread: on a shared 2-core machine two threads spin against other
        # processes and the fit gets many times slower.
        with threadpool_limits(1, user_api="openmp"):
            model.fit(fm.X[np.ix_(rows, cols)], y)

        def predict(r: np.ndarray) -> np.ndarray:
            with threadpool_limits(1, user_api="openmp"):
                return model.predict_proba(fm.X[np.ix_(r, cols)])[:, 1]

        return predict

    lin = evaluate(logistic, leads.rows, fm.decision_at, leads.y, 0.25, seed)
    gbm = evaluate(boosted, leads.rows, fm.decision_at, leads.y, 0.25, seed)
    a_lin = auc(lin.y, lin.p)  # pooled out-of-sample predictions, as for the ceiling
    a_gbm = auc(gbm.y, gbm.p)
    return Ceiling(
        method=lin.method,
        auc_logistic=float(a_lin),
        auc_boosted=float(a_gbm),
        gap=float(a_gbm - a_lin),
        n_test=lin.n_leads,
        n_train_used=max(used) if used else 0,
    )
