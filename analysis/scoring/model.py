"""The fitted scoring model: what history says each feature is worth.

Query intuition
---------------
The model is a scikit-learn pipeline, ``ColumnTransformer(StandardScaler)`` then an
L2-regularised ``LogisticRegression``, for the chosen outcome (reached ``sql``,
``opportunity`` or ``customer``, optionally within a window after the decision point).
Only leads handed off to sales have an observed outcome, so the model trains and tests on
them and reports how many leads were left out (``n_unobserved``).

:func:`fit_model` runs named steps: the observed leads and their outcome
(:func:`observed_leads`, which says why when no model is possible), the out-of-sample
evaluation (:func:`analysis.scoring.evaluate.evaluate`: a time split on dated history,
stratified k-fold cross-validation when decision times tie), the final fit, coefficients
on the original feature scale with standard errors from the inverse of the penalised
Fisher information ``X'WX + I/C`` (computed on the standardised scale the penalty acts on,
then rescaled) and 95% Wald intervals (:func:`coefficient_table`), and suggested points
``coefficient * POINTS_PER_LOG_ODDS`` with a threshold that keeps the current MQL volume
(:func:`suggest`).

Configurations, scores and storage live in :mod:`analysis.scoring.configs`; their names
are re-exported here for callers that import ``model as scoring``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from analysis.scoring.configs import (  # noqa: F401  (re-exported for `model as scoring`)
    CURRENT_MARKER,
    INSERT_CONFIG_SQL,
    LOAD_CONFIGS_SQL,
    QUADRANTS,
    SCORING_MODEL_COLUMNS,
    STARTER_WEIGHTS,
    ScoringConfig,
    config_from_json,
    config_to_csv,
    config_to_json,
    configs_frame,
    engagement_score,
    fit_score,
    load_config,
    load_configs,
    points_frame,
    quadrant_codes,
    quadrant_thresholds,
    quadrants,
    save_config,
    score,
    split_scores,
)
from analysis.scoring.evaluate import (
    TIME_SPLIT,
    Evaluation,
    FitImpossible,
    auc,
    evaluate,
    fit_check,
)
from analysis.scoring.matrix import FeatureMatrix

POINTS_PER_LOG_ODDS = 20.0
"""Points per unit of log-odds when coefficients become suggested points.

At 20, a feature that doubles the odds of the outcome (log-odds +0.69) is worth 14 points.
"""

Z_95 = 1.959963984540054
"""Two-sided 95% quantile of the standard normal, for Wald intervals."""


# --------------------------------------------------------------------------------------
# The fitted model
# --------------------------------------------------------------------------------------


@dataclass(eq=False)
class ModelReport:
    """What :func:`fit_model` learnt and how well it predicts newer leads.

    Attributes
    ----------
    outcome : str
        'sql', 'opportunity' or 'customer'.
    evaluation : Evaluation
        Method (time split or stratified k-fold cross-validation, with the reason), AUC
        with its spread and interval, and the leads and outcomes behind it
        (:mod:`analysis.scoring.evaluate`).
    within_days : float or None
        Conversion window after the decision point, None for "ever".
    features : tuple of str
        Model inputs, columns of the feature matrix.
    n_train, n_test : int
        Leads the final model was fitted on, and leads the AUC was computed on (time
        split: the older and the newer part; cross-validation: all of them, each tested
        once by the model fitted on the other folds).
    positives_train, positives_test : int
        Of those, leads that reached the outcome.
    n_unobserved : int
        Leads left out because their outcome is not observed: never handed off
        (``n_not_handed_off``, sales never saw them) or, with a window, handed off too
        recently for the window to have passed (``n_immature``).
    split_at : numpy.datetime64
        Decision time of the first test lead: train = decision_at < split_at (NaT for
        cross-validation).
    auc_test, auc_train : float
        Out-of-sample AUC (``evaluation.auc``) and the AUC on the leads the final model
        was fitted on (NaN when they hold a single class).
    calibration : DataFrame
        Evaluated leads (out of sample) in ten equal-count groups by predicted
        probability, lowest first:
        ``decile`` (1 = lowest), ``n``, ``mean_predicted``, ``observed_rate``
        (share that reached the outcome), ``positives``.
    lift : DataFrame
        The same groups, highest predicted first: ``decile`` (1 = top), ``n``,
        ``positives``, ``observed_rate``, ``lift`` (observed_rate / test base rate) and
        ``cumulative_recall`` (share of all test positives in this and higher deciles).
    coefficients : DataFrame
        One row per feature: ``feature``, ``kind``, ``coef`` (change in log-odds per unit
        of the feature on its original scale: for 0/1 features, having it; for a numeric
        property, one unit more), ``se``,
        ``ci_low``, ``ci_high`` (95% Wald), ``odds_ratio``, ``suggested_points``,
        ``current_points`` (NaN without a current configuration), ``share_train``
        (mean of the feature among training leads). ``se`` is NaN for a feature that is
        constant in the training data (nothing can be learnt about it).
    intercept : float
        Log-odds of a lead with no features, original scale.
    suggested : ScoringConfig
        Points ``coef * points_per_log_odds``, rounded to whole points for 0/1 features
        and to two significant digits per unit for numeric ones, and a threshold that
        keeps the target MQL volume.
    target_volume : int
        MQL count the suggested threshold aims at: the current configuration's would-be
        MQLs among decided leads, or the leads actually handed off when no current
        configuration was given.
    suggested_volume : int
        Would-be MQLs (decided leads) under the suggested configuration.
    points_per_log_odds : float
    pipeline : sklearn Pipeline
        The fitted pipeline (input: DataFrame with the ``features`` columns).
    notes : list of str
        Plain-language remarks (left-out leads, single-class test set, ...).
    """

    outcome: str
    evaluation: Evaluation
    within_days: float | None
    features: tuple[str, ...]
    n_train: int
    n_test: int
    positives_train: int
    positives_test: int
    n_unobserved: int
    n_not_handed_off: int
    n_immature: int
    split_at: np.datetime64
    auc_test: float
    auc_train: float
    calibration: pd.DataFrame
    lift: pd.DataFrame
    coefficients: pd.DataFrame
    intercept: float
    suggested: ScoringConfig
    target_volume: int
    suggested_volume: int
    points_per_log_odds: float
    pipeline: Pipeline
    notes: list[str] = field(default_factory=list)

    def predict_proba(self, fm: FeatureMatrix) -> np.ndarray:
        """Predicted probability of the outcome for every lead of ``fm`` (float64, (n,))."""
        frame = pd.DataFrame(
            fm.X[:, [fm.index(f) for f in self.features]], columns=list(self.features)
        )
        return self.pipeline.predict_proba(frame)[:, 1]


def _groups(order: np.ndarray, k: int = 10) -> list[np.ndarray]:
    return [g for g in np.array_split(order, min(k, len(order))) if len(g)]


def _calibration(p: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    rows = []
    for i, g in enumerate(_groups(np.argsort(p, kind="stable")), start=1):
        rows.append(
            {
                "decile": i,
                "n": len(g),
                "mean_predicted": float(p[g].mean()),
                "observed_rate": float(y[g].mean()),
                "positives": int(y[g].sum()),
            }
        )
    return pd.DataFrame(
        rows, columns=["decile", "n", "mean_predicted", "observed_rate", "positives"]
    )


def _lift(p: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    base = y.mean() if len(y) else np.nan
    total = y.sum()
    rows, cum = [], 0
    for i, g in enumerate(_groups(np.argsort(-p, kind="stable")), start=1):
        pos = int(y[g].sum())
        cum += pos
        rate = pos / len(g)
        rows.append(
            {
                "decile": i,
                "n": len(g),
                "positives": pos,
                "observed_rate": rate,
                "lift": rate / base if base > 0 else np.nan,
                "cumulative_recall": cum / total if total > 0 else np.nan,
            }
        )
    cols = ["decile", "n", "positives", "observed_rate", "lift", "cumulative_recall"]
    return pd.DataFrame(rows, columns=cols)


def _penalised_covariance(
    X: np.ndarray, p_hat: np.ndarray, mean: np.ndarray, scale: np.ndarray, C: float
) -> np.ndarray:
    """Inverse penalised Fisher information on the standardised scale, intercept first.

    ``H = A' W A + diag(0, 1/C, ..., 1/C)`` with ``A = [1, (X - mean) / scale]`` and
    ``W = diag(p (1 - p))``, accumulated in float64 over row chunks of ``X``.
    """
    k = X.shape[1] + 1
    H = np.zeros((k, k))
    w = p_hat * (1 - p_hat)
    step = 200_000
    for start in range(0, X.shape[0], step):
        Z = (X[start : start + step].astype(np.float64) - mean) / scale
        A = np.hstack([np.ones((Z.shape[0], 1)), Z])
        H += (A * w[start : start + step, None]).T @ A
    H[np.arange(1, k), np.arange(1, k)] += 1.0 / C
    return np.linalg.pinv(H)


def threshold_for_volume(scores: np.ndarray, target: int) -> tuple[float, int]:
    """The threshold whose MQL count (scores >= threshold) is closest to ``target``.

    Candidates are the distinct score values (plus one above the maximum, for zero MQLs);
    on a tie the higher threshold wins. Returns (threshold, MQL count at it).
    """
    if len(scores) == 0:
        return 0.0, 0
    desc = np.sort(scores)[::-1]
    values = np.unique(desc)[::-1]  # distinct, highest first
    counts = np.searchsorted(-desc, -values, side="right")  # number of scores >= value
    values = np.append(values[0] + 1, values)
    counts = np.append(0, counts)
    best = int(np.argmin(np.abs(counts - target)))  # first = highest threshold on ties
    return float(values[best]), int(counts[best])


@dataclass(eq=False)
class ObservedLeads:
    """The leads a model can learn from: handed off, with a known outcome."""

    rows: np.ndarray  # matrix rows with an observed outcome
    y: np.ndarray  # outcome (0/1 int8) of every matrix row
    n_not_handed_off: int
    n_immature: int


def observed_leads(fm: FeatureMatrix, outcome: str, within_days: float | None) -> ObservedLeads:
    """Rows with an observed outcome; raises :class:`FitImpossible` saying why none fit."""
    y = fm.outcome(outcome, within_days).astype(np.int8)
    observed = fm.observed(within_days)
    rows = np.flatnonzero(observed)
    fit_check(outcome, int(fm.handed_off.sum()), len(rows), int(y[rows].sum()), within_days)
    return ObservedLeads(
        rows=rows,
        y=y,
        n_not_handed_off=int((~fm.handed_off).sum()),
        n_immature=int((fm.handed_off & ~observed).sum()),
    )


def make_pipeline(names: Sequence[str], C: float, seed: int) -> Pipeline:
    """StandardScaler over every column, then L2 logistic regression (lbfgs)."""
    return Pipeline(
        [
            ("scale", ColumnTransformer([("z", StandardScaler(), list(names))])),
            ("model", LogisticRegression(C=C, max_iter=1000, random_state=seed)),
        ]
    )


def _frame(fm: FeatureMatrix, rows: np.ndarray, cols: list[int], names: tuple) -> pd.DataFrame:
    return pd.DataFrame(fm.X[np.ix_(rows, cols)], columns=list(names))


def coefficient_table(
    pipeline: Pipeline,
    X_train: pd.DataFrame,
    kinds: Sequence[str],
    C: float,
    current: ScoringConfig | None,
    points_per_log_odds: float,
) -> tuple[pd.DataFrame, float, np.ndarray]:
    """(coefficients, intercept, constant mask) on the original scale of each feature."""
    names = list(X_train.columns)
    scaler: StandardScaler = pipeline.named_steps["scale"].named_transformers_["z"]
    model: LogisticRegression = pipeline.named_steps["model"]
    mean, scale = scaler.mean_, scaler.scale_
    constant = scaler.var_ == 0
    b_std = model.coef_[0]
    coef = np.where(constant, 0.0, b_std / scale)
    intercept = float(model.intercept_[0] - np.sum(b_std * mean / scale))
    X = X_train.to_numpy()
    p_train = pipeline.predict_proba(X_train)[:, 1]
    cov = _penalised_covariance(X, p_train, mean, scale, C)
    se = np.where(constant, np.nan, np.sqrt(np.clip(np.diag(cov)[1:], 0, None)) / scale)
    binary = ((X == 0) | (X == 1)).all(axis=0)
    raw = coef * points_per_log_odds
    points = np.where(binary, np.round(raw), [float(f"{v:.2g}") for v in raw]) + 0.0
    table = pd.DataFrame(
        {
            "feature": names,
            "kind": list(kinds),
            "coef": coef,
            "se": se,
            "ci_low": coef - Z_95 * se,
            "ci_high": coef + Z_95 * se,
            "odds_ratio": np.exp(coef),
            "suggested_points": points,
            "current_points": [
                current.weights.get(n, 0.0) if current is not None else np.nan for n in names
            ],
            "share_train": X.mean(axis=0, dtype=np.float64),
        }
    )
    return table, intercept, constant


def suggest(
    fm: FeatureMatrix,
    coefficients: pd.DataFrame,
    current: ScoringConfig | None,
    label: str,
) -> tuple[ScoringConfig, int, int]:
    """(suggested configuration, target MQL volume, its MQL volume) over decided leads.

    The target is the current rule's would-be MQLs, or the leads actually handed off
    when there is no current rule; the threshold is the one closest to it.
    """
    decided = fm.decided
    weights = {
        str(n): float(v)
        for n, v in zip(coefficients["feature"], coefficients["suggested_points"], strict=True)
    }
    if current is not None:
        target = int((score(fm, current)[decided] >= current.threshold).sum())
    else:
        target = int(fm.handed_off.sum())
    threshold, volume = threshold_for_volume(
        score(fm, ScoringConfig(weights, 0.0))[decided], target
    )
    return ScoringConfig(weights, threshold, name=label), target, volume


def _notes(
    fm: FeatureMatrix,
    ev: Evaluation,
    leads: ObservedLeads,
    outcome: str,
    within_days: float | None,
    constant_names: list[str],
    reference: tuple[str, ...] = (),
) -> list[str]:
    if ev.method == "time split":
        first = (
            f"Trained on {len(ev.train):,} handed-off leads decided before "
            f"{str(ev.split_at)[:10]} and tested on the {ev.n_leads:,} decided on or after it."
        )
    else:
        first = (
            f"Evaluated by {ev.method} ({len(ev.fold_aucs)} folds) because {ev.reason}; the "
            f"model shown is fitted on all {ev.n_leads:,} handed-off leads."
        )
    notes = [
        first,
        f"{leads.n_not_handed_off:,} leads were never handed off: sales never saw them, so "
        f"whether they would have reached {outcome!r} is unknown and they were left out.",
        "The model learns from handed-off leads only; for kinds of leads the current rule "
        "never hands off, its suggested points are an extrapolation.",
    ]
    if leads.n_immature:
        notes.append(
            f"{leads.n_immature:,} handed-off leads are too recent for the {within_days:g}-day "
            "window to have passed and were left out."
        )
    if not np.isfinite(ev.auc):
        notes.append("The test part holds a single class, so its AUC is undefined.")
    if constant_names:
        notes.append(
            "Constant in the training data (no coefficient learnt): "
            + ", ".join(constant_names)
            + "."
        )
    if fm.absent:
        notes.append("Not offered (no source data): " + ", ".join(sorted(fm.absent)) + ".")
    if reference:
        notes.append(
            "Reference levels (0 points; the other values' points are relative to them): "
            + ", ".join(reference)
            + "."
        )
    return notes


def _fitter(fm: FeatureMatrix, names: tuple, cols: list[int], C: float, seed: int, fitted: dict):  # noqa: ANN202
    """An :data:`analysis.scoring.evaluate.Fitter` over the matrix rows.

    The last pipeline it fitted is kept in ``fitted["pipeline"]`` (a time split's model
    is then reused as the final one instead of being fitted twice).
    """

    def fit(rows: np.ndarray, y: np.ndarray):  # noqa: ANN202
        pipe = make_pipeline(names, C, seed).fit(_frame(fm, rows, cols, names), y)
        fitted["pipeline"] = pipe
        return lambda r: pipe.predict_proba(_frame(fm, r, cols, names))[:, 1]

    return fit


def _evaluate_and_fit(
    fm: FeatureMatrix,
    names: tuple[str, ...],
    cols: list[int],
    leads: ObservedLeads,
    options: tuple[float, int, float],
) -> tuple[Evaluation, Pipeline, pd.DataFrame, np.ndarray]:
    """(evaluation, final pipeline, its training frame, its outcomes).

    ``options`` = (C, seed, test_fraction). A time split's evaluated model is the final
    model (fitted once); after cross-validation the final model is fitted on every lead.
    """
    C, seed, test_fraction = options
    fitted: dict = {}
    fit = _fitter(fm, names, cols, C, seed, fitted)
    ev = evaluate(fit, leads.rows, fm.decision_at, leads.y, test_fraction, seed)
    X_train, y_train = _frame(fm, ev.train, cols, names), leads.y[ev.train]
    if ev.method == TIME_SPLIT:  # the evaluated model was fitted on exactly these rows
        return ev, fitted["pipeline"], X_train, y_train
    return ev, make_pipeline(names, C, seed).fit(X_train, y_train), X_train, y_train


def _inputs(
    fm: FeatureMatrix,
    features: Sequence[str] | None,
    test_fraction: float,
    C: float,
    current: ScoringConfig | None,
) -> tuple[tuple[str, ...], list[int], tuple[str, ...]]:
    """(feature names, their columns, reference levels left out), after checking arguments."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    if not C > 0:
        raise ValueError(f"C must be positive, got {C}")
    reference = fm.reference_levels() if features is None else ()
    if features is None:
        names = tuple(n for n in fm.offered if n not in reference)
    else:
        names = tuple(features)
    if not names:
        raise FitImpossible(
            "no feature has data in this history (no touchpoints, no fit fields the settings "
            "can use): add imported lead properties as features"
        )
    cols = [fm.index(n) for n in names]  # KeyError listing known names
    if current is not None:
        current.validate(fm.names)
    return names, cols, reference


def fit_model(
    fm: FeatureMatrix,
    outcome: str = "sql",
    within_days: float | None = None,
    test_fraction: float = 0.25,
    C: float = 1.0,
    seed: int = 0,
    *,
    features: Sequence[str] | None = None,
    current: ScoringConfig | None = None,
    points_per_log_odds: float = POINTS_PER_LOG_ODDS,
) -> ModelReport:
    """Fit a regularised logistic regression of the outcome on the features.

    Parameters
    ----------
    fm : FeatureMatrix
        Built once by :func:`analysis.scoring.features.build_features`.
    outcome : {'sql', 'opportunity', 'customer'}
        Reached that stage or a later one.
    within_days : float, optional
        Count the outcome only when reached within this many days of the decision point;
        leads whose window has not passed yet are left out.
    test_fraction : float
        Time split: share of the newest observed leads held out for testing.
    C : float
        Inverse L2 penalty strength on standardised features (smaller = more shrinkage).
    seed : int
        Shuffles the cross-validation folds.
    features : sequence of str, optional
        Columns of ``fm`` to use; default every offered feature
        (:attr:`FeatureMatrix.offered`) except the reference level of each one-hot group
        (:meth:`FeatureMatrix.reference_levels`).
    current : ScoringConfig, optional
        The rule in use: its points appear beside the suggestion and its MQL volume is the
        target of the suggested threshold.
    points_per_log_odds : float
        Scale that turns coefficients into points.

    Raises
    ------
    FitImpossible
        (a ValueError) with the real cause when the history cannot carry a model.
    """
    # Long on purpose: a docstring, then one named step per line of the fit.
    names, cols, reference = _inputs(fm, features, test_fraction, C, current)
    leads = observed_leads(fm, outcome, within_days)
    ev, pipeline, X_train, y_train = _evaluate_and_fit(
        fm, names, cols, leads, (C, seed, test_fraction)
    )
    kinds = [fm.kinds[c] for c in cols]
    coefficients, intercept, constant = coefficient_table(
        pipeline, X_train, kinds, C, current, points_per_log_odds
    )
    label = f"fitted {outcome}" + (f" within {within_days:g} days" if within_days else "")
    suggested, target, volume = suggest(fm, coefficients, current, label)
    constant_names = [n for n, c in zip(names, constant, strict=True) if c]
    return ModelReport(
        outcome=outcome,
        evaluation=ev,
        within_days=within_days,
        features=names,
        n_train=len(ev.train),
        n_test=ev.n_leads,
        positives_train=int(y_train.sum()),
        positives_test=ev.n_outcomes,
        n_unobserved=leads.n_not_handed_off + leads.n_immature,
        n_not_handed_off=leads.n_not_handed_off,
        n_immature=leads.n_immature,
        split_at=ev.split_at,
        auc_test=ev.auc,
        auc_train=auc(y_train, pipeline.predict_proba(X_train)[:, 1]),
        calibration=_calibration(ev.p, ev.y),
        lift=_lift(ev.p, ev.y),
        coefficients=coefficients,
        intercept=intercept,
        suggested=suggested,
        target_volume=target,
        suggested_volume=volume,
        points_per_log_odds=points_per_log_odds,
        pipeline=pipeline,
        notes=_notes(fm, ev, leads, outcome, within_days, constant_names, reference),
    )
