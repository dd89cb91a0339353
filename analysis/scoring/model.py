"""Scoring configurations, scores, the fit x engagement quadrants, and the fitted model.

Query intuition
---------------
A *scoring configuration* gives points per feature (negative points allowed) and an MQL
threshold: a lead whose score, the sum of the points of the features it has, is at or
above the threshold would be handed to sales. Scoring a whole history is therefore one
matrix product ``X @ w`` over the :class:`~analysis.features.FeatureMatrix` built once;
nothing is re-queried or refitted when the points change.

The score splits into a **fit score** (points of the ``fit`` features: who they are) and an
**engagement score** (points of the ``engagement`` features: what they did). The 2x2 of
the two gives the four lead categories of DESIGN.md. By default a lead has *good fit* when
its fit score is at least half the MQL threshold and is *sales-ready* when its engagement
score is at least half the threshold. Half each is the neutral split (neither side is
favoured) and it makes the top-left quadrant a subset of the MQLs: fit >= T/2 and
engagement >= T/2 imply fit + engagement >= T. Both quadrant thresholds are parameters.

The **fitted model** is a scikit-learn pipeline, ``ColumnTransformer(StandardScaler)`` then
an L2-regularised ``LogisticRegression``, for the chosen outcome (reached ``sql``,
``opportunity`` or ``customer``, optionally within a window after the decision point).
Only leads handed off to sales have an observed outcome, so the model trains and tests on
them and reports how many leads were left out (``n_unobserved``). Time split: leads are
ordered by decision point; the oldest ``1 - test_fraction`` train the model and the newest
test it (ties on the split instant all go to the test side). The report gives the test AUC,
a calibration table and lift by decile of predicted probability (test set), coefficients
on the original feature scale (for 0/1 features: the change in log-odds when the feature
is present) with standard errors from the inverse of the penalised Fisher information
``X'WX + I/C`` (computed on the standardised scale the penalty acts on, then rescaled) and
95% Wald intervals, and suggested points ``round(coefficient * POINTS_PER_LOG_ODDS)`` with
a threshold that keeps the current MQL volume.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from analysis import store
from analysis.scoring.features import FeatureMatrix

POINTS_PER_LOG_ODDS = 20.0
"""Points per unit of log-odds when coefficients become suggested points.

At 20, a feature that doubles the odds of the outcome (log-odds +0.69) is worth 14 points.
"""

Z_95 = 1.959963984540054
"""Two-sided 95% quantile of the standard normal, for Wald intervals."""

CURRENT_MARKER = "current"
"""A saved configuration whose ``model_id`` or ``name`` contains this word (any case) is
a candidate for the current rule; the newest such row wins."""

QUADRANTS: tuple[str, ...] = (
    "good fit, sales-ready",
    "poor fit, sales-ready",
    "good fit, not ready",
    "poor fit, not ready",
)
"""Quadrant labels by code: 0 = hand off now, 1 and 2 = nurture, 3 = never route to sales."""

SCORING_MODEL_COLUMNS = store.TABLES["scoring_models"].column_names
"""Columns of the ``scoring_models`` table, in schema (and CSV export) order."""


# --------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoringConfig:
    """Points per feature and an MQL threshold.

    Attributes
    ----------
    weights : dict of str to float
        Points a lead gets for having each feature (0/1 features); negative allowed.
        Features not listed get 0 points.
    threshold : float
        A lead with score >= threshold would be an MQL.
    name : str
        Label for people ("Current rule", "Fitted 2026-10").
    model_id : str
        Identifier of the saved ``scoring_models`` row, '' when not saved.
    """

    weights: Mapping[str, float]
    threshold: float
    name: str = ""
    model_id: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.weights, Mapping):
            raise TypeError(
                f"weights must be a mapping of feature name to points, "
                f"got {type(self.weights).__name__}"
            )
        clean: dict[str, float] = {}
        for key, value in self.weights.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"feature names must be non-empty strings, got {key!r}")
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise TypeError(f"points for {key!r} must be a number, got {value!r}")
            if not math.isfinite(float(value)):
                raise ValueError(f"points for {key!r} must be finite, got {value}")
            clean[key] = float(value)
        if isinstance(self.threshold, bool) or not isinstance(
            self.threshold, int | float | np.number
        ):
            raise TypeError(f"threshold must be a number, got {self.threshold!r}")
        if not math.isfinite(float(self.threshold)):
            raise ValueError(f"threshold must be finite, got {self.threshold}")
        object.__setattr__(self, "weights", clean)
        object.__setattr__(self, "threshold", float(self.threshold))

    def __hash__(self) -> int:
        return hash((tuple(self.weights.items()), self.threshold, self.name, self.model_id))

    def validate(self, names: Sequence[str]) -> None:
        """Raise ValueError when a weight names a feature not in ``names``."""
        known = set(names)
        unknown = [k for k in self.weights if k not in known]
        if unknown:
            raise ValueError(
                f"scoring configuration {self.name or '(unnamed)'!r} gives points to unknown "
                f"feature(s) {', '.join(map(repr, unknown))}; known features: {', '.join(names)}"
            )

    def vector(self, names: Sequence[str]) -> np.ndarray:
        """Points per column, in the order of ``names`` (float32, 0 for unlisted features)."""
        self.validate(names)
        return np.array([self.weights.get(n, 0.0) for n in names], dtype=np.float32)

    def with_changes(
        self,
        weights: Mapping[str, float] | None = None,
        threshold: float | None = None,
        name: str | None = None,
    ) -> ScoringConfig:
        """A copy with some points, the threshold or the name replaced (model_id cleared)."""
        merged = dict(self.weights)
        merged.update(weights or {})
        return ScoringConfig(
            merged,
            self.threshold if threshold is None else threshold,
            self.name if name is None else name,
        )


def _weight_matrix(fm: FeatureMatrix, config: ScoringConfig) -> np.ndarray:
    """(p, 2) float32 points: column 0 fit features only, column 1 engagement only."""
    w = config.vector(fm.names)
    is_fit = np.array([k == "fit" for k in fm.kinds])
    return np.ascontiguousarray(np.column_stack([np.where(is_fit, w, 0), np.where(is_fit, 0, w)]))


def split_scores(fm: FeatureMatrix, config: ScoringConfig) -> tuple[np.ndarray, np.ndarray]:
    """Fit score and engagement score of every lead, from one pass over ``X``.

    Returns
    -------
    fit, engagement : ndarray of float64, shape (n,)
        Sums of the points of the lead's fit features and of its engagement features.
        The sums are formed in float32 (exact for whole points below 2**24).
    """
    W = _weight_matrix(fm, config)
    # A (n, p) x (p, 2) product is memory-bound: one BLAS thread is as fast as two, and
    # does not collapse (10 ms -> 200+ ms at 1M leads) when other processes hold the cores.
    with threadpool_limits(1, user_api="blas"):
        both = fm.X @ W
    return both[:, 0].astype(np.float64), both[:, 1].astype(np.float64)


def score(fm: FeatureMatrix, config: ScoringConfig) -> np.ndarray:
    """Score of every lead: the sum of the points of its features (``X @ w``).

    Returns
    -------
    ndarray of float64, shape (n,)
        Equals ``fit_score + engagement_score``; compare with ``config.threshold``.
    """
    fit, engagement = split_scores(fm, config)
    return fit + engagement


def fit_score(fm: FeatureMatrix, config: ScoringConfig) -> np.ndarray:
    """Points of the lead's fit features (who they are), float64 of shape (n,)."""
    return split_scores(fm, config)[0]


def engagement_score(fm: FeatureMatrix, config: ScoringConfig) -> np.ndarray:
    """Points of the lead's engagement features (what they did), float64 of shape (n,)."""
    return split_scores(fm, config)[1]


def quadrant_thresholds(
    config: ScoringConfig,
    fit_threshold: float | None = None,
    engagement_threshold: float | None = None,
) -> tuple[float, float]:
    """(fit, engagement) thresholds of the 2x2; each defaults to half the MQL threshold."""
    half = config.threshold / 2
    return (
        half if fit_threshold is None else float(fit_threshold),
        half if engagement_threshold is None else float(engagement_threshold),
    )


def quadrant_codes(
    fit: np.ndarray, engagement: np.ndarray, fit_threshold: float, engagement_threshold: float
) -> np.ndarray:
    """Quadrant of each lead as an index into :data:`QUADRANTS` (int8).

    0 = good fit (fit >= fit_threshold) and sales-ready (engagement >=
    engagement_threshold), 1 = poor fit and ready, 2 = good fit and not ready, 3 = neither.
    """
    return (fit < fit_threshold).astype(np.int8) + 2 * (engagement < engagement_threshold).astype(
        np.int8
    )


def quadrants(
    fm: FeatureMatrix,
    config: ScoringConfig,
    fit_threshold: float | None = None,
    engagement_threshold: float | None = None,
) -> np.ndarray:
    """Quadrant code (index into :data:`QUADRANTS`) of every lead under ``config``."""
    ft, et = quadrant_thresholds(config, fit_threshold, engagement_threshold)
    fit, engagement = split_scores(fm, config)
    return quadrant_codes(fit, engagement, ft, et)


def points_frame(config: ScoringConfig, fm: FeatureMatrix | None = None) -> pd.DataFrame:
    """Points per feature as a table: ``feature``, ``kind``, ``points``.

    With ``fm``, every feature of the matrix is listed (0 points when the configuration
    does not mention it) in matrix order; without it, only the configured features.
    """
    if fm is None:
        return pd.DataFrame(
            {
                "feature": list(config.weights),
                "kind": [""] * len(config.weights),
                "points": list(config.weights.values()),
            }
        )
    config.validate(fm.names)
    return pd.DataFrame(
        {
            "feature": list(fm.names),
            "kind": list(fm.kinds),
            "points": [config.weights.get(n, 0.0) for n in fm.names],
        }
    )


# --------------------------------------------------------------------------------------
# Stored configurations
# --------------------------------------------------------------------------------------

LOAD_CONFIGS_SQL = """
SELECT model_id, name, created_at, author, CAST(weights AS VARCHAR) AS weights, threshold,
    origin, note
FROM scoring_models
ORDER BY created_at DESC NULLS LAST, model_id
"""


def _parse_weights(text: object, model_id: str) -> dict[str, float]:
    try:
        weights = json.loads(str(text))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"scoring model {model_id!r}: weights are not valid JSON ({exc})"
        ) from None
    if not isinstance(weights, dict):
        raise ValueError(
            f"scoring model {model_id!r}: weights must be a JSON object of feature to points, "
            f"got {type(weights).__name__}"
        )
    return weights


def load_configs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Saved scoring configurations, newest first.

    Returns
    -------
    DataFrame
        Columns of ``scoring_models``: ``model_id``, ``name``, ``created_at`` (UTC),
        ``author``, ``weights`` (JSON text), ``threshold``, ``origin`` (manual/fitted),
        ``note``; plus ``current`` (bool), True on the row :func:`load_config` returns
        when no ``model_id`` is given.
    """
    out = con.execute(LOAD_CONFIGS_SQL).df()
    out["current"] = False
    if len(out):
        out.loc[_current_row(out), "current"] = True
    return out


def _current_row(rows: pd.DataFrame) -> int:
    marked = rows["model_id"].fillna("").str.lower().str.contains(CURRENT_MARKER) | rows[
        "name"
    ].fillna("").str.lower().str.contains(CURRENT_MARKER)
    # Rows are newest first, so the first marked row is the newest one.
    return int(np.flatnonzero(marked.to_numpy())[0]) if marked.any() else 0


def _config_from_row(row: pd.Series) -> ScoringConfig:
    return ScoringConfig(
        _parse_weights(row["weights"], row["model_id"]),
        float(row["threshold"]),
        name=str(row["name"] or row["model_id"]),
        model_id=str(row["model_id"]),
    )


def load_config(con: duckdb.DuckDBPyConnection, model_id: str | None = None) -> ScoringConfig:
    """One saved configuration: ``model_id``, or by default the current rule.

    The current rule is the newest row (by ``created_at``) whose ``model_id`` or ``name``
    contains "current" (any case); when no row is marked so, the newest row of all.
    Raises LookupError when the table is empty or ``model_id`` is not in it.
    """
    rows = load_configs(con)
    if rows.empty:
        raise LookupError("no saved scoring configuration: the scoring_models table is empty")
    if model_id is None:
        return _config_from_row(rows.loc[rows["current"]].iloc[0])
    hit = rows.loc[rows["model_id"] == model_id]
    if hit.empty:
        raise LookupError(
            f"no scoring configuration with model_id {model_id!r}; saved: "
            f"{', '.join(rows['model_id'].astype(str))}"
        )
    return _config_from_row(hit.iloc[0])


def config_to_json(config: ScoringConfig) -> str:
    """The configuration as JSON text: ``{"name", "model_id", "threshold", "weights"}``."""
    return json.dumps(
        {
            "name": config.name,
            "model_id": config.model_id,
            "threshold": config.threshold,
            "weights": config.weights,
        },
        indent=2,
    )


def config_from_json(text: str) -> ScoringConfig:
    """Read a configuration written by :func:`config_to_json`."""
    data = json.loads(text)
    if not isinstance(data, dict) or "weights" not in data or "threshold" not in data:
        raise ValueError(
            "expected a JSON object with 'weights' and 'threshold', "
            f"got {type(data).__name__} with keys {sorted(data) if isinstance(data, dict) else []}"
        )
    return ScoringConfig(
        data["weights"],
        data["threshold"],
        name=str(data.get("name", "")),
        model_id=str(data.get("model_id", "")),
    )


def config_to_csv(
    config: ScoringConfig,
    *,
    model_id: str | None = None,
    author: str = "",
    note: str = "",
    origin: str = "manual",
    created_at: datetime | None = None,
) -> str:
    """The configuration as a one-row ``scoring_models.csv`` that ``handoff import`` accepts.

    Columns in schema order (``model_id,name,created_at,author,weights,threshold,origin,
    note``); ``weights`` is JSON text; ``created_at`` is ISO 8601 UTC (now by default; a
    naive value is taken to be UTC).
    """
    when = _utc_naive(created_at)
    mid = model_id or config.model_id or _new_model_id(config, when)
    row = {
        "model_id": mid,
        "name": config.name or mid,
        "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "author": author,
        "weights": json.dumps(config.weights),
        "threshold": _number_text(config.threshold),
        "origin": origin,
        "note": note,
    }
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SCORING_MODEL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    return buf.getvalue()


def _utc_naive(when: datetime | None) -> datetime:
    """``when`` as naive UTC (a naive value is taken to be UTC already); now by default."""
    if when is None:
        return datetime.now(UTC).replace(tzinfo=None)
    if when.tzinfo is None:
        return when
    return when.astimezone(UTC).replace(tzinfo=None)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _new_model_id(config: ScoringConfig, when: datetime) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", config.name.lower()).strip("-") or "config"
    return f"{slug[:40]}-{when.strftime('%Y%m%d%H%M%S')}"


INSERT_CONFIG_SQL = "INSERT INTO scoring_models VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def save_config(
    db_path: Path | str,
    config: ScoringConfig,
    note: str = "",
    author: str = "",
    *,
    origin: str = "manual",
    model_id: str | None = None,
    created_at: datetime | None = None,
) -> str:
    """Save a configuration as a new ``scoring_models`` row; returns its ``model_id``.

    The write goes through :func:`analysis.store.write_session` (a copy of the file is
    written and swapped in), so it is safe while the dashboard reads the file. Saved rows
    are history: an existing ``model_id`` is never overwritten (ValueError). Without
    ``model_id`` one is made from the name and the UTC time. To make a configuration the
    current rule, give it a name containing "current" (see :func:`load_config`).
    """
    allowed = store.TABLES["scoring_models"].column("origin").allowed or ()
    if origin not in allowed:
        raise ValueError(f"origin must be one of {', '.join(allowed)}, got {origin!r}")
    when = _utc_naive(created_at)
    mid = model_id or config.model_id or _new_model_id(config, when)
    with store.write_session(db_path) as con:
        (taken,) = con.execute(
            "SELECT count(*) FROM scoring_models WHERE model_id = ?", [mid]
        ).fetchone()
        if taken and model_id is not None:
            raise ValueError(f"a scoring configuration with model_id {mid!r} already exists")
        base, k = mid, 1
        while taken:
            k += 1
            mid = f"{base}-{k}"
            (taken,) = con.execute(
                "SELECT count(*) FROM scoring_models WHERE model_id = ?", [mid]
            ).fetchone()
        con.execute(
            INSERT_CONFIG_SQL,
            [
                mid,
                config.name or mid,
                when,
                author or None,
                json.dumps(config.weights),
                config.threshold,
                origin,
                note or None,
            ],
        )
    return mid


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
    within_days : float or None
        Conversion window after the decision point, None for "ever".
    features : tuple of str
        Model inputs, columns of the feature matrix.
    n_train, n_test : int
        Leads with an observed outcome in the older (train) and newer (test) part.
    positives_train, positives_test : int
        Of those, leads that reached the outcome.
    n_unobserved : int
        Leads left out because their outcome is not observed: never handed off
        (``n_not_handed_off``, sales never saw them) or, with a window, handed off too
        recently for the window to have passed (``n_immature``).
    split_at : numpy.datetime64
        Decision time of the first test lead: train = decision_at < split_at.
    auc_test, auc_train : float
        Area under the ROC curve (NaN when the part holds a single class).
    calibration : DataFrame
        Test leads in ten equal-count groups by predicted probability, lowest first:
        ``decile`` (1 = lowest), ``n``, ``mean_predicted``, ``observed_rate``
        (share that reached the outcome), ``positives``.
    lift : DataFrame
        The same groups, highest predicted first: ``decile`` (1 = top), ``n``,
        ``positives``, ``observed_rate``, ``lift`` (observed_rate / test base rate) and
        ``cumulative_recall`` (share of all test positives in this and higher deciles).
    coefficients : DataFrame
        One row per feature: ``feature``, ``kind``, ``coef`` (change in log-odds per unit
        of the feature on its original scale: for 0/1 features, having it), ``se``,
        ``ci_low``, ``ci_high`` (95% Wald), ``odds_ratio``, ``suggested_points``,
        ``current_points`` (NaN without a current configuration), ``share_train``
        (mean of the feature among training leads). ``se`` is NaN for a feature that is
        constant in the training data (nothing can be learnt about it).
    intercept : float
        Log-odds of a lead with no features, original scale.
    suggested : ScoringConfig
        Points ``round(coef * points_per_log_odds)`` and a threshold that keeps the
        target MQL volume.
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


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    if len(y) == 0 or y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, p))


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
    """Fit a regularised logistic regression of the outcome on the features (time split).

    Parameters
    ----------
    fm : FeatureMatrix
        Built once by :func:`analysis.features.build_features`.
    outcome : {'sql', 'opportunity', 'customer'}
        Reached that stage or a later one.
    within_days : float, optional
        Count the outcome only when reached within this many days of the decision point;
        leads whose window has not passed yet are left out.
    test_fraction : float
        Share of the observed leads, the newest by decision time, held out for testing.
    C : float
        Inverse L2 penalty strength of ``LogisticRegression`` on standardised features
        (smaller = stronger shrinkage).
    seed : int
        ``random_state`` of the estimator (the lbfgs solver is deterministic, so the fit
        does not depend on it).
    features : sequence of str, optional
        Columns of ``fm`` to use; default all.
    current : ScoringConfig, optional
        The rule in use: its points appear beside the suggestion and its MQL volume is the
        target of the suggested threshold.
    points_per_log_odds : float
        Scale that turns coefficients into points.

    Returns
    -------
    ModelReport
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    if not C > 0:
        raise ValueError(f"C must be positive, got {C}")
    names = tuple(fm.names if features is None else features)
    cols = [fm.index(n) for n in names]  # KeyError listing known names
    if current is not None:
        current.validate(fm.names)

    y_all = fm.outcome(outcome, within_days)
    observed = fm.observed(within_days)
    n_not_handed_off = int((~fm.handed_off).sum())
    n_immature = int((fm.handed_off & ~observed).sum())
    rows = np.flatnonzero(observed)
    if len(rows) < 20:
        raise ValueError(
            f"fitting needs at least 20 leads with an observed outcome, got {len(rows)} "
            f"({n_not_handed_off} never handed off, {n_immature} too recent)"
        )
    rows = rows[np.argsort(fm.decision_at[rows], kind="stable")]
    split_at = fm.decision_at[rows[int(len(rows) * (1 - test_fraction))]]
    train = rows[fm.decision_at[rows] < split_at]
    test = rows[fm.decision_at[rows] >= split_at]
    y_train, y_test = y_all[train].astype(int), y_all[test].astype(int)
    if len(train) == 0 or y_train.min() == y_train.max():
        raise ValueError(
            f"the training part ({len(train)} leads before {split_at}) needs leads that "
            f"reached {outcome!r} and leads that did not; it has {int(y_train.sum())} that did"
        )

    X_train = pd.DataFrame(fm.X[np.ix_(train, cols)], columns=list(names))
    X_test = pd.DataFrame(fm.X[np.ix_(test, cols)], columns=list(names))
    pipeline = Pipeline(
        [
            ("scale", ColumnTransformer([("z", StandardScaler(), list(names))])),
            ("model", LogisticRegression(C=C, max_iter=1000, random_state=seed)),
        ]
    )
    pipeline.fit(X_train, y_train)
    p_train = pipeline.predict_proba(X_train)[:, 1]
    p_test = pipeline.predict_proba(X_test)[:, 1]

    scaler: StandardScaler = pipeline.named_steps["scale"].named_transformers_["z"]
    model: LogisticRegression = pipeline.named_steps["model"]
    mean, scale = scaler.mean_, scaler.scale_
    constant = scaler.var_ == 0
    b_std = model.coef_[0]
    coef = np.where(constant, 0.0, b_std / scale)
    intercept = float(model.intercept_[0] - np.sum(b_std * mean / scale))
    cov = _penalised_covariance(X_train.to_numpy(), p_train, mean, scale, C)
    se = np.sqrt(np.clip(np.diag(cov)[1:], 0, None)) / scale
    se = np.where(constant, np.nan, se)

    points = np.round(coef * points_per_log_odds) + 0.0  # + 0.0 turns -0.0 into 0.0
    kinds = [fm.kinds[c] for c in cols]
    coefficients = pd.DataFrame(
        {
            "feature": list(names),
            "kind": kinds,
            "coef": coef,
            "se": se,
            "ci_low": coef - Z_95 * se,
            "ci_high": coef + Z_95 * se,
            "odds_ratio": np.exp(coef),
            "suggested_points": points,
            "current_points": [
                current.weights.get(n, 0.0) if current is not None else np.nan for n in names
            ],
            "share_train": X_train.to_numpy().mean(axis=0, dtype=np.float64),
        }
    )

    decided = fm.decided
    suggested_weights = {n: float(v) for n, v in zip(names, points, strict=True)}
    if current is not None:
        target = int((score(fm, current)[decided] >= current.threshold).sum())
    else:
        target = int(fm.handed_off.sum())
    draft = ScoringConfig(suggested_weights, 0.0)
    threshold, volume = threshold_for_volume(score(fm, draft)[decided], target)
    label = f"fitted {outcome}" + (f" within {within_days:g} days" if within_days else "")
    suggested = ScoringConfig(suggested_weights, threshold, name=label)

    notes = [
        f"Trained on {len(train):,} handed-off leads decided before {str(split_at)[:10]} and "
        f"tested on the {len(test):,} decided on or after it.",
        f"{n_not_handed_off:,} leads were never handed off: sales never saw them, so whether "
        f"they would have reached {outcome!r} is unknown and they were left out.",
    ]
    notes.append(
        "The model learns from handed-off leads only; for kinds of leads the current rule "
        "never hands off, its suggested points are an extrapolation."
    )
    if n_immature:
        notes.append(
            f"{n_immature:,} handed-off leads are too recent for the {within_days:g}-day "
            "window to have passed and were left out."
        )
    if np.isnan(auc_test := _auc(y_test, p_test)):
        notes.append("The test part holds a single class, so its AUC is undefined.")
    if constant.any():
        notes.append(
            "Constant in the training data (no coefficient learnt): "
            + ", ".join(n for n, c in zip(names, constant, strict=True) if c)
            + "."
        )
    return ModelReport(
        outcome=outcome,
        within_days=within_days,
        features=names,
        n_train=len(train),
        n_test=len(test),
        positives_train=int(y_train.sum()),
        positives_test=int(y_test.sum()),
        n_unobserved=n_not_handed_off + n_immature,
        n_not_handed_off=n_not_handed_off,
        n_immature=n_immature,
        split_at=split_at,
        auc_test=auc_test,
        auc_train=_auc(y_train, p_train),
        calibration=_calibration(p_test, y_test),
        lift=_lift(p_test, y_test),
        coefficients=coefficients,
        intercept=intercept,
        suggested=suggested,
        target_volume=target,
        suggested_volume=volume,
        points_per_log_odds=points_per_log_odds,
        pipeline=pipeline,
        notes=notes,
    )


def configs_frame(configs: Iterable[ScoringConfig], fm: FeatureMatrix) -> pd.DataFrame:
    """Points of several configurations side by side: ``feature``, ``kind``, one column each.

    Column names are the configuration names (or ``config 1``, ``config 2``, ...).
    """
    out = pd.DataFrame({"feature": list(fm.names), "kind": list(fm.kinds)})
    for i, config in enumerate(configs, start=1):
        config.validate(fm.names)
        out[config.name or f"config {i}"] = [config.weights.get(n, 0.0) for n in fm.names]
    return out
