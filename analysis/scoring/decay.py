"""Decay of engagement points: old engagement counts for less, as of the decision point.

Query intuition
---------------
An engagement feature (pricing page, demo request, webinar, ...) is 1 when the lead did it
at least once before its decision point. With decay, its value becomes a factor between
0 and 1 that depends on the **age** of the most recent qualifying touchpoint: days from
that touchpoint to the lead's decision point (its handoff, or ``created_at`` + horizon).

- ``none``: factor 1 (the plain 0/1 feature);
- ``linear`` over ``N`` days: ``max(0, 1 - age / N)``;
- ``half-life`` of ``N`` days: ``0.5 ** (age / N)``.

:func:`engagement_ages` computes the ages with one DuckDB query: the decision point CTE of
:mod:`analysis.scoring.features`, touchpoints joined on ``occurred_at <= decision_at``, and
one ``max(occurred_at) FILTER (...)`` per engagement feature. Fit features and imported
properties never decay. :func:`decayed` multiplies the engagement columns of the feature
matrix by their factors (one vectorised pass), so the what-if, the curve, the grades and
the model all run unchanged on the decayed matrix.

:func:`suggest_half_life` compares fits: for each half-life of a grid (and no decay), the
logistic model (:func:`analysis.scoring.model.make_pipeline`) is fitted on the decayed
features and scored by its **out-of-sample log-loss** on the same evaluation as the
model (time split: the older 75% of observed leads train, the newer 25% test; stratified
5-fold cross-validation when decision times tie). The half-life with the lowest
held-out log-loss is suggested: a grid search on held-out likelihood, i.e. the profile
likelihood of the half-life evaluated out of sample.
"""

from __future__ import annotations

import dataclasses
import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analysis.scoring import tally, whatif
from analysis.scoring.configs import ScoringConfig
from analysis.scoring.evaluate import FitImpossible, evaluate
from analysis.scoring.features import DECISION_SQL
from analysis.scoring.matrix import DEFAULT_HORIZON_DAYS, FeatureMatrix, _check_horizon

DECAY_KINDS: tuple[str, ...] = ("none", "linear", "half-life")
"""How engagement points fade with age."""

AGE_CONDITIONS: dict[str, str] = {
    "pricing_page": "t.kind = 'page_view' AND t.d = 'pricing'",
    "demo_request": "t.kind = 'demo_request'",
    "careers_only": "t.kind = 'page_view' AND t.d = 'careers'",
    "blog_over_hour": "t.kind = 'page_view' AND t.d = 'blog'",
    "case_study": "t.kind = 'page_view' AND t.d = 'case_study'",
    "product_page": "t.kind = 'page_view' AND t.d = 'product'",
    "tofu_download": "t.kind = 'content_download' AND t.d = 'tofu'",
    "mofu_download": "t.kind = 'content_download' AND t.d = 'mofu'",
    "bofu_download": "t.kind = 'content_download' AND t.d = 'bofu'",
    "webinar": "t.kind = 'webinar'",
    "email_click": "t.kind = 'email_click'",
    "email_open": "t.kind = 'email_open'",
    "form_submit": "t.kind = 'form_submit'",
    "chat": "t.kind = 'chat'",
}
"""The touchpoints whose most recent one dates each engagement feature (``t.d`` is the
lower-cased detail). ``careers_only`` is dated by the last careers page view and
``blog_over_hour`` by the last blog view."""

HALF_LIFE_GRID: tuple[float | None, ...] = (None, 7, 14, 30, 60, 90, 180, 365)
"""Half-lives (days) compared by :func:`suggest_half_life`; None = no decay."""


def _ages_sql(one_lead: bool) -> str:
    lasts = ",\n        ".join(
        f'max(t.occurred_at) FILTER (WHERE {cond}) AS "{name}"'
        for name, cond in AGE_CONDITIONS.items()
    )
    ages = ",\n    ".join(
        f'epoch(dp.decision_at) - epoch(tp."{n}") AS "{n}"' for n in AGE_CONDITIONS
    )
    where = "WHERE dp.lead_id = $lead" if one_lead else ""
    return (
        DECISION_SQL
        + f""",
tp AS (
    SELECT t.lead_id,
        {lasts}
    FROM (
        SELECT tt.lead_id, tt.kind, tt.occurred_at, lower(trim(tt.detail)) AS d
        FROM touchpoints tt
        JOIN dp ON tt.lead_id = dp.lead_id AND tt.occurred_at <= dp.decision_at
    ) t
    GROUP BY t.lead_id
)
SELECT dp.lead_id,
    {ages}
FROM dp
LEFT JOIN tp USING (lead_id)
{where}
ORDER BY dp.lead_id
"""
    )


@dataclass(eq=False)
class EngagementAges:
    """Days from the most recent qualifying touchpoint to the decision point.

    Attributes
    ----------
    lead_ids : ndarray of str, shape (n,)
        Sorted as :attr:`FeatureMatrix.lead_ids`.
    names : tuple of str
        Engagement features, columns of ``days``.
    days : ndarray of float32, shape (n, len(names))
        Age in days (>= 0); NaN when the lead has no such touchpoint before its decision.
    """

    lead_ids: np.ndarray
    names: tuple[str, ...]
    days: np.ndarray


def engagement_ages(
    con: duckdb.DuckDBPyConnection, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> EngagementAges:
    """Age of every lead's engagement, per feature, as of its decision point.

    Parameters
    ----------
    con : DuckDBPyConnection
        A Handoff Health database.
    horizon_days : int
        Decision point of leads never handed off (days after creation), as for the
        feature matrix.
    """
    _check_horizon(horizon_days)
    cols = con.execute(_ages_sql(False), {"horizon": int(horizon_days)}).fetchnumpy()
    names = tuple(AGE_CONDITIONS)
    days = (
        np.column_stack(
            [np.ma.filled(np.ma.asarray(cols[n], dtype=np.float64), np.nan) for n in names]
        )
        / 86_400.0
        if len(cols["lead_id"])
        else np.zeros((0, len(names)))
    )
    lead_ids = np.ma.filled(np.ma.asarray(cols["lead_id"], dtype=object), None)
    return EngagementAges(np.asarray(lead_ids, dtype=object), names, days.astype(np.float32))


@dataclass(frozen=True)
class Decay:
    """How engagement points fade: ``kind`` in :data:`DECAY_KINDS`, ``days`` = N."""

    kind: str = "none"
    days: float = 30.0

    def __post_init__(self) -> None:
        if self.kind not in DECAY_KINDS:
            raise ValueError(f"decay must be one of {', '.join(DECAY_KINDS)}, got {self.kind!r}")
        if self.kind != "none" and not (math.isfinite(self.days) and self.days > 0):
            raise ValueError(f"decay days must be a positive number, got {self.days}")

    def factor(self, age_days: np.ndarray) -> np.ndarray:
        """Factor (0-1) per age in days; 1 where the age is NaN (nothing to fade)."""
        age = np.asarray(age_days, dtype=np.float64)
        if self.kind == "none":
            out = np.ones_like(age)
        elif self.kind == "linear":
            out = np.clip(1.0 - age / self.days, 0.0, 1.0)
        else:
            out = np.power(0.5, age / self.days)
        return np.where(np.isnan(age), 1.0, out)

    def factor32(self, age_days: np.ndarray) -> np.ndarray:
        """:meth:`factor` computed in float32 for a whole (leads x features) block at once.

        A few times faster on a million leads. Linear decay equals :meth:`factor` cast to
        float32 exactly; a half-life is computed as ``exp2(-age / N)`` in float32 and agrees
        with it within 1e-6 (absolute, on a factor between 0 and 1), which the tests check.
        """
        if self.kind == "linear":
            return self.factor(age_days).astype(np.float32)
        age = np.asarray(age_days, dtype=np.float32)
        if self.kind == "none":
            return np.ones_like(age)
        out = age / np.float32(-self.days)
        np.exp2(out, out=out)
        np.copyto(out, np.float32(1.0), where=np.isnan(out))  # no age: nothing to fade
        return out

    def describe(self) -> str:
        """In words: 'no decay', 'linear over 60 days', 'half-life 30 days'."""
        if self.kind == "none":
            return "no decay"
        if self.kind == "linear":
            return f"linear over {self.days:g} days"
        return f"half-life {self.days:g} days"


_NONZERO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per matrix: per ages table (by id), the faded columns' non-zero rows and their ages."""


def _nonzero_ages(
    fm: FeatureMatrix, ages: EngagementAges
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(faded columns of ``fm``, flat indices of their non-zero entries, those entries' ages).

    Gathered once per (matrix, ages): a lead without a feature has 0 in its column, and 0
    times any factor stays 0, so only these entries change with the decay. The indices
    are in memory order of ``X`` (row by row), so the fade reads and writes ``X`` in order.
    """
    kept = _NONZERO.setdefault(fm, {})
    hit = kept.get(id(ages))
    if hit is not None and hit[0] is ages:
        return hit[1]
    if len(ages.lead_ids) != fm.n or not np.array_equal(ages.lead_ids, fm.lead_ids):
        raise ValueError("the engagement ages are not from the same leads as the matrix")
    present = [(j, fm.index(name)) for j, name in enumerate(ages.names) if name in fm.names]
    cols = [c for _, c in present]
    p = fm.X.shape[1]
    flat, days = [], []
    for j, c in present:
        rows = np.flatnonzero(fm.X[:, c])
        flat.append(rows * p + c)
        days.append(ages.days[rows, j])
    flat_all = np.concatenate(flat) if flat else np.zeros(0, dtype=np.int64)
    order = np.argsort(flat_all, kind="stable")
    days_all = np.concatenate(days)[order] if days else np.zeros(0, dtype=np.float32)
    out = (cols, flat_all[order], np.ascontiguousarray(days_all, dtype=np.float32))
    kept[id(ages)] = (ages, out)
    return out


def decayed(fm: FeatureMatrix, ages: EngagementAges, decay: Decay) -> FeatureMatrix:
    """A copy of ``fm`` whose engagement columns are multiplied by their decay factors.

    ``ages`` must come from the same database as ``fm`` (same leads). With ``kind='none'``
    the matrix itself is returned. Only the non-zero entries of the engagement columns are
    multiplied (a zero stays zero), so a decay change costs a copy of ``X`` and one factor
    per (lead, feature it has), not per lead and feature; the values equal the whole
    block's (:meth:`Decay.factor32` is element by element; the tests check).
    """
    if decay.kind == "none":
        return fm
    cols, flat, days = _nonzero_ages(fm, ages)
    X = fm.X.copy()
    values = X.reshape(-1)  # a view: X is C-contiguous
    values[flat] *= decay.factor32(days)
    out = dataclasses.replace(fm, X=X, months=fm.months, month_code=fm.month_code)
    for cached in ("_owner_factors", "_region_factors"):  # same leads: reuse, not recompute
        if cached in fm.__dict__:
            out.__dict__[cached] = fm.__dict__[cached]
    out.__dict__["same_leads_as"] = fm.__dict__.get("same_leads_as", fm)  # what-if context
    tally.mark_not_whole(out, cols)  # faded points are fractions: the float path
    return out


def volume_effect(
    base: FeatureMatrix, faded: FeatureMatrix, config: ScoringConfig
) -> tuple[float, float]:
    """Would-be MQLs per month under ``config`` without and with decay.

    Over the months :meth:`FeatureMatrix.mqls_months` counts (complete months), as the
    what-if's "MQLs per month"; NaN when the window has no month.
    """
    months = base.mqls_months()
    if not months.any():
        return float("nan"), float("nan")
    counted = base.in_mqls_months()
    out = []
    for m in (base, faded):
        scores = whatif.scores(m, config)  # the what-if's kept scores: no new product
        out.append(float(((scores >= config.threshold) & counted).sum() / months.sum()))
    return out[0], out[1]


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def suggest_half_life(
    fm: FeatureMatrix,
    ages: EngagementAges,
    outcome: str = "sql",
    within_days: float | None = None,
    grid: Sequence[float | None] = HALF_LIFE_GRID,
    *,
    max_train: int = 300_000,
    seed: int = 0,
    progress: Callable[[float, str], None] | None = None,
) -> pd.DataFrame:
    """Held-out log-loss of the logistic model for each half-life of ``grid``.

    Parameters
    ----------
    fm, ages
        The undecayed feature matrix and the engagement ages of the same leads.
    outcome, within_days
        The outcome the model predicts.
    grid : sequence of float or None
        Half-lives in days; None = no decay.
    max_train : int
        At most this many training leads per fit (a fixed random subset), to bound time.
    seed : int
        Seed of the training subset, the solver and the folds.
    progress : callable, optional
        Called as ``progress(share_done, text)``.

    Returns
    -------
    DataFrame
        One row per grid value: ``half_life`` (NaN = no decay), ``log_loss`` (mean
        out-of-sample log-loss, lower is better), ``auc``, ``method`` (time split or
        cross-validation), ``best`` (True on the lowest log-loss).
    """
    from analysis.scoring.model import make_pipeline, observed_leads

    leads = observed_leads(fm, outcome, within_days)
    names = tuple(n for n in fm.offered if n not in fm.reference_levels())
    cols = [fm.index(n) for n in names]
    rng = np.random.default_rng(seed)
    rows_out = []
    for i, h in enumerate(grid):
        if progress:
            progress(i / len(grid), f"half-life {h or 'none'}")
        m = decayed(fm, ages, Decay("none") if h is None else Decay("half-life", float(h)))

        def fit(rows: np.ndarray, y: np.ndarray, m: FeatureMatrix = m):  # noqa: ANN202
            if len(rows) > max_train:
                keep = np.sort(rng.choice(len(rows), max_train, replace=False))
                rows, y = rows[keep], y[keep]
            pipe = make_pipeline(names, 1.0, seed)
            with threadpool_limits(1):  # one BLAS thread: more spin against the page
                pipe.fit(pd.DataFrame(m.X[np.ix_(rows, cols)], columns=list(names)), y)
            return lambda r: pipe.predict_proba(
                pd.DataFrame(m.X[np.ix_(r, cols)], columns=list(names))
            )[:, 1]

        ev = evaluate(fit, leads.rows, fm.decision_at, leads.y, 0.25, seed)
        rows_out.append(
            {
                "half_life": float("nan") if h is None else float(h),
                "log_loss": _log_loss(ev.y.astype(np.float64), ev.p),
                "auc": ev.auc,
                "method": ev.method,
            }
        )
    if progress:
        progress(1.0, "done")
    out = pd.DataFrame(rows_out)
    if out.empty:
        raise FitImpossible("no half-life to compare")
    out["best"] = out["log_loss"] == out["log_loss"].min()
    return out
