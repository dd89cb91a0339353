"""What-if: replay a proposed scoring configuration against the current one on history.

Query intuition
---------------
Everything here is numpy over a :class:`~analysis.scoring.matrix.FeatureMatrix` built once, so a
change of points or threshold re-runs in milliseconds, with no query and no refit:

1. **Score** every lead under each configuration (``X @ w``, fit and engagement parts from
   the same product). A lead *would be an MQL* when its score is at or above the threshold
   and its decision point lies inside the historical window (at or before the end of the
   data; leads still inside their decision horizon are *pending* and counted apart).
2. **Volume**: would-be MQLs per month of the decision point (``np.bincount`` over
   precomputed month codes), beside the leads actually handed off that month.
3. **Precision** = would-be MQLs that reached the outcome / would-be MQLs whose outcome is
   observed. **Recall** = would-be MQLs that reached the outcome / all leads that reached
   it (observed). An outcome is observed only for leads handed off in reality (sales
   never saw the others, so nobody knows whether they would have converted) and, with a
   conversion window, only once the window has passed. Would-be MQLs without an observed
   outcome are counted as ``n_unobserved`` and left out of both rates: precision on the
   observed part is an estimate that assumes the unobserved would-be MQLs convert like
   the observed ones with the same score, which a new rule reaching never-handed-off
   leads may not.
4. **Rep load**: each would-be MQL goes to the lead's owner when it has one; otherwise it
   is shared evenly among the reps whose ``territory`` equals the lead's ``region``
   (fractional counts, the expected load of a round-robin); a lead with neither is
   *unrouted*. When the reps table gives roles, a territory's SDRs share its MQLs (its
   AEs only when it has no SDR). Load per rep per month is compared with the rep's
   ``capacity``, read as the number of new MQLs a rep can work in a month.
5. **Quadrants**: the 2x2 of fit score against engagement score (see
   :mod:`analysis.scoring.configs`), counted over the decided leads and over the would-be MQLs.

:func:`threshold_curve` (:mod:`analysis.scoring.curve`) gives, for every possible
threshold at once, the MQL count, precision, recall and MQLs per month from one sort of
the scores (or one ``np.bincount`` when the scores are whole numbers).
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from dataclasses import dataclass, field
from functools import cached_property

import duckdb
import numpy as np
import pandas as pd

from analysis.scoring import tally
from analysis.scoring.changed import (  # noqa: F401  (re-exported: the what-if's companions)
    CHANGED_COLUMNS,
    _changed_frame,
    changed_sides,
)
from analysis.scoring.configs import (
    QUADRANTS,
    ScoringConfig,
    quadrant_codes,
    quadrant_thresholds,
    split_scores,
)
from analysis.scoring.curve import (  # noqa: F401  (the curve belongs with the what-if)
    THRESHOLD_CURVE_COLUMNS,
    config_threshold_curve,
    threshold_curve,
)
from analysis.scoring.matrix import FeatureMatrix
from analysis.scoring.routing import (  # noqa: F401  (REP_LOAD_COLUMNS re-exported)
    REP_LOAD_COLUMNS,
    Routing,
    load_frame,
    load_matrix,
    rep_load,
    reps_over_capacity,
    routing_of,
)
from analysis.stats import wilson_interval

REPS_SQL = "SELECT rep_id, name, team, role, territory, capacity FROM reps ORDER BY rep_id"


def load_reps(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The reps table: ``rep_id``, ``name``, ``team``, ``role``, ``territory``, ``capacity``.

    ``capacity`` is the number of MQLs a rep can work (read as per month by the what-if).
    """
    return con.execute(REPS_SQL).df()


@dataclass(eq=False)
class ConfigResult:
    """One configuration replayed on history.

    Attributes
    ----------
    config : ScoringConfig
    scores, fit, engagement : ndarray of float64, shape (n,)
        Total, fit and engagement score of every lead of the matrix.
    is_mql : ndarray of bool, shape (n,)
        Would be an MQL: score >= threshold and decision point inside the window.
    mqls : int
        Number of would-be MQLs.
    mqls_by_month : ndarray of int64
        Would-be MQLs per month of ``WhatIf.months``.
    precision, precision_low, precision_high : float
        Share of would-be MQLs with an observed outcome that reached it, with its 95%
        Wilson interval (NaN when no would-be MQL has an observed outcome).
    precision_k, precision_n : int
        Numerator (reached) and denominator (would-be MQLs with observed outcome).
    recall, recall_low, recall_high : float
        Share of all observed leads that reached the outcome that would be MQLs, with its
        95% Wilson interval.
    recall_k, recall_n : int
        Numerator (would-be MQLs that reached it) and denominator (all that reached it).
    n_unobserved : int
        Would-be MQLs whose outcome is unknown (never handed off, or the window has not
        passed): left out of precision and recall.
    quadrant_leads, quadrant_mqls : ndarray of int64, shape (4,)
        Decided leads and would-be MQLs per quadrant (order of ``scoring.QUADRANTS``).
    fit_threshold, engagement_threshold : float
        Quadrant thresholds used.
    load : ndarray of float, shape (months, reps)
        Would-be MQLs routed to each rep (of ``routing``) per month; :attr:`rep_load` is
        the same as a table, built on first use.
    routing : Routing
    complete : ndarray of bool
        Complete months of the window.
    unrouted_by_month : ndarray of int64
        Would-be MQLs per month with no owner and no rep for their region.
    """

    config: ScoringConfig
    scores: np.ndarray
    fit: np.ndarray
    engagement: np.ndarray
    is_mql: np.ndarray
    mqls: int
    mqls_by_month: np.ndarray
    precision: float
    precision_low: float
    precision_high: float
    precision_k: int
    precision_n: int
    recall: float
    recall_low: float
    recall_high: float
    recall_k: int
    recall_n: int
    n_unobserved: int
    quadrant_leads: np.ndarray
    quadrant_mqls: np.ndarray
    fit_threshold: float
    engagement_threshold: float
    load: np.ndarray
    routing: Routing
    complete: np.ndarray
    months: np.ndarray
    unrouted_by_month: np.ndarray

    @cached_property
    def rep_load(self) -> pd.DataFrame:
        """Load per month x rep, as a table built on first use.

        Columns ``month``, ``rep_id``, ``territory``, ``role``, ``capacity``, ``mqls``
        (would-be MQLs routed to the rep that month, fractional where shared by
        territory), ``over_capacity`` (mqls > capacity; False when the capacity is
        unknown), ``complete_month`` (False for the month holding the end of the data).
        """
        return load_frame(self.routing, self.load, self.complete, self.months)

    @property
    def reps_over_capacity(self) -> int:
        """Reps over capacity in at least one complete month."""
        return reps_over_capacity(self.routing, self.load, self.complete)

    def rep_summary(self) -> pd.DataFrame:
        """Per rep over complete months: mean and max MQLs per month, months over capacity.

        Columns ``rep_id``, ``territory``, ``role``, ``capacity``, ``mean_mqls``,
        ``max_mqls``, ``months_over_capacity``, ``months`` (complete months counted).
        """
        load = self.rep_load.loc[self.rep_load["complete_month"]]
        cols = ["rep_id", "territory", "role", "capacity"]
        if load.empty:
            return pd.DataFrame(
                columns=[*cols, "mean_mqls", "max_mqls", "months_over_capacity", "months"]
            )
        return (
            load.groupby("rep_id", sort=True)
            .agg(
                territory=("territory", "first"),
                role=("role", "first"),
                capacity=("capacity", "first"),
                mean_mqls=("mqls", "mean"),
                max_mqls=("mqls", "max"),
                months_over_capacity=("over_capacity", "sum"),
                months=("month", "nunique"),
            )
            .reset_index()
        )


@dataclass(eq=False)
class WhatIf:
    """Current and proposed configurations replayed on the same history.

    Attributes
    ----------
    outcome : str
    within_days : float or None
    current, proposed : ConfigResult
    months : ndarray of datetime64[M]
        Months of the historical window (decision months up to the end of the data).
    actual_by_month : ndarray of int64
        Leads actually handed off per month (their handoff month).
    complete_month : ndarray of bool
        False for the month holding the end of the data (partial).
    n_decided : int
        Leads whose decision point is inside the window (the population of the what-if).
    n_pending : int
        Leads created less than the horizon before the end of the data and not handed
        off: no decision point yet, left out.
    n_observed, n_reached : int
        Decided leads with an observed outcome, and of them those that reached it.
    changed_in, changed_out : int
        Leads that would be MQLs only under the proposed / only under the current rule.
    notes : list of str
    """

    outcome: str
    within_days: float | None
    current: ConfigResult
    proposed: ConfigResult
    months: np.ndarray
    actual_by_month: np.ndarray
    complete_month: np.ndarray
    n_decided: int
    n_pending: int
    n_observed: int
    n_reached: int
    changed_in: int
    changed_out: int
    notes: list[str] = field(default_factory=list)

    def monthly(self) -> pd.DataFrame:
        """MQLs per month side by side.

        Columns ``month`` (first day, Timestamp), ``actual`` (leads handed off),
        ``current`` and ``proposed`` (would-be MQLs), ``complete_month``.
        """
        return pd.DataFrame(
            {
                "month": self.months.astype("datetime64[ns]"),
                "actual": self.actual_by_month,
                "current": self.current.mqls_by_month,
                "proposed": self.proposed.mqls_by_month,
                "complete_month": self.complete_month,
            }
        )

    def mqls_per_month(self, result: ConfigResult) -> float:
        """Mean would-be MQLs per month of ``result`` (one of :attr:`current`, :attr:`proposed`).

        Over the complete months, or every month of the window when none is complete
        (:meth:`FeatureMatrix.mqls_months`); NaN when the window has no month.
        """
        months = (
            self.complete_month if self.complete_month.any() else np.ones_like(self.complete_month)
        )
        by_month = result.mqls_by_month[months]
        return float(by_month.mean()) if len(by_month) else float("nan")

    def summary(self) -> pd.DataFrame:
        """Headline numbers, one row each: ``metric``, ``current``, ``proposed``, ``change``.

        Rates are shares (0-1); counts are leads. ``change`` = proposed - current.
        """
        complete = self.complete_month
        rows = []

        def add(metric: str, cur: float, prop: float) -> None:
            rows.append({"metric": metric, "current": cur, "proposed": prop, "change": prop - cur})

        c, p = self.current, self.proposed
        add("MQLs", c.mqls, p.mqls)
        if complete.any():
            add("MQLs per month (complete months)", self.mqls_per_month(c), self.mqls_per_month(p))
        add("precision", c.precision, p.precision)
        add("recall", c.recall, p.recall)
        add("MQLs with observed outcome", c.precision_n, p.precision_n)
        add("MQLs that reached the outcome", c.precision_k, p.precision_k)
        add("MQLs with unobserved outcome", c.n_unobserved, p.n_unobserved)
        add("reps over capacity", c.reps_over_capacity, p.reps_over_capacity)
        for i, label in enumerate(QUADRANTS):
            add(f"MQLs: {label}", int(c.quadrant_mqls[i]), int(p.quadrant_mqls[i]))
        return pd.DataFrame(rows, columns=["metric", "current", "proposed", "change"])

    def changed(self, fm: FeatureMatrix) -> pd.DataFrame:
        """The leads that switch side, as :func:`changed_sides`, reusing the scores here.

        ``fm`` must be the matrix this what-if was computed on.
        """
        c, p = self.current, self.proposed
        if len(c.scores) != fm.n:
            raise ValueError(
                f"this what-if was computed on {len(c.scores):,} leads, the matrix has {fm.n:,}"
            )
        return _changed_frame(
            fm, c.scores, p.scores, c.is_mql, p.is_mql, self.outcome, self.within_days
        )

    def quadrant_table(self) -> pd.DataFrame:
        """Quadrant counts: ``quadrant``, then decided leads and MQLs per configuration."""
        return pd.DataFrame(
            {
                "quadrant": list(QUADRANTS),
                "current_leads": self.current.quadrant_leads,
                "current_mqls": self.current.quadrant_mqls,
                "proposed_leads": self.proposed.quadrant_leads,
                "proposed_mqls": self.proposed.quadrant_mqls,
            }
        )


# --------------------------------------------------------------------------------------
# The what-if
# --------------------------------------------------------------------------------------


def _rate(k: int, n: int) -> tuple[float, float, float]:
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    low, high = wilson_interval(k, n)
    return k / n, float(low), float(high)


@dataclass(eq=False)
class _Context:
    decided: np.ndarray
    y: np.ndarray  # reached the outcome and observed
    observed: np.ndarray
    n_months: int
    complete: np.ndarray
    months: np.ndarray
    routing: Routing
    n_pos: int
    totals: tuple  # (leads handed off per month, decided leads, observed leads)
    layouts: list = field(default_factory=list)  # the tally layout, made on first use
    scored: dict = field(default_factory=dict)  # points -> _scored(), the last few


_SCORED_SIZE = 3
"""Sets of points whose scores a context keeps (the current rule, the proposed, one more)."""


_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per feature matrix: recent contexts and configuration results, so that a slider move
re-evaluates only the proposed rule (the current rule's result and the routing are the
same as on the previous run). Entries go with their matrix."""

_MEMO_SIZE = 8


def _reps_key(reps: pd.DataFrame | None) -> object:
    if reps is None:
        return None
    # The reps table is small (one row per rep): its values as text are a cheap, exact key.
    return (tuple(reps.columns), repr(reps.to_numpy(dtype=object).tolist()))


_MEMO_LOCK = threading.Lock()


def _memo(fm: FeatureMatrix, key: tuple, make):  # noqa: ANN001, ANN202
    """``make()`` once per (matrix, key) among the last few keys (thread-safe)."""
    with _MEMO_LOCK:
        hit = _MEMO.get(fm, {}).get(key)
    if hit is not None:
        return hit
    value = make()
    with _MEMO_LOCK:
        store = _MEMO.setdefault(fm, {})
        if len(store) >= _MEMO_SIZE:
            store.pop(next(iter(store)))
        store[key] = value
    return value


def _context(
    fm: FeatureMatrix, outcome: str, within_days: float | None, reps: pd.DataFrame | None
) -> tuple[_Context, tuple]:
    """(context, its memo key) of a replay."""
    key = ("context", outcome, within_days, _reps_key(reps))
    same = fm.__dict__.get("same_leads_as")  # a faded copy: the same leads, other values

    def make() -> _Context:
        if same is None:
            return _new_context(fm, outcome, within_days, reps)
        # Outcomes, months and routing are the leads', not the values': share them.
        return dataclasses.replace(_context(same, outcome, within_days, reps)[0], scored={})

    return _memo(fm, key, make), key


def _new_context(
    fm: FeatureMatrix, outcome: str, within_days: float | None, reps: pd.DataFrame | None
) -> _Context:
    decided = fm.decided
    observed = fm.observed(within_days) & decided
    y = fm.outcome(outcome, within_days) & observed
    complete = fm.complete_months()
    n_months = len(complete)
    months = fm.months[:n_months]
    actual = fm.handed_off & decided
    actual_by_month = np.bincount(fm.month_code[actual], minlength=len(fm.months))[:n_months]
    totals = (actual_by_month, int(decided.sum()), int(observed.sum()))
    return _Context(decided, y, observed, n_months, complete, months, routing_of(fm, reps),
                    int(y.sum()), totals)  # fmt: skip


_POINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _points(fm: FeatureMatrix, config: ScoringConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fit, engagement, total) scores of ``config``'s points on ``fm``, the last few kept."""
    points = tuple(sorted(config.weights.items()))
    with _MEMO_LOCK:
        hit = _POINTS.get(fm, {}).get(points)
    if hit is None:
        fit, engagement = split_scores(fm, config)
        hit = (fit, engagement, fit + engagement)
        with _MEMO_LOCK:
            kept = _POINTS.setdefault(fm, {})
            while len(kept) >= _SCORED_SIZE:
                kept.pop(next(iter(kept)))
            kept[points] = hit
    return hit


def scores(fm: FeatureMatrix, config: ScoringConfig) -> np.ndarray:
    """Score of every lead under ``config``'s points (:func:`analysis.scoring.configs.score`).

    Kept per (matrix, points) for the last few sets of points, so a threshold move, a grade
    cut or a redraw does not multiply ``X`` again. Shared: do not mutate.
    """
    return _points(fm, config)[2]


def _scored(
    fm: FeatureMatrix, config: ScoringConfig, ctx: _Context, *, counted: bool = False
) -> tuple:
    """(fit, engagement, total scores, tally or None) of ``config``'s points, kept per points.

    A threshold move reuses them. With whole-number points the tally
    (:mod:`analysis.scoring.tally`) answers any threshold without a pass over the leads; it
    is built the second time the same points are asked for (or at once with ``counted``):
    the first replay of new points reads one threshold, which the float path does for less.
    """
    points = tuple(sorted(config.weights.items()))
    with _MEMO_LOCK:
        hit = ctx.scored.get(points)
    if hit is None:
        fit, engagement, total = _points(fm, config)
        hit = [fit, engagement, total, None, tally.fits(fm, config), 0]
        with _MEMO_LOCK:
            while len(ctx.scored) >= _SCORED_SIZE:
                ctx.scored.pop(next(iter(ctx.scored)))
            ctx.scored[points] = hit
    hit[5] += 1
    if hit[3] is None and hit[4] and (counted or hit[5] > 1):
        hit[3] = tally.tally(_layout(fm, ctx), hit[0], hit[1])
        hit[4] = hit[3] is not None  # too wide a score range: the float path from now on
    return hit[0], hit[1], hit[2], hit[3]


def _layout(fm: FeatureMatrix, ctx: _Context) -> tally.Layout:
    """The context's per-lead (month, slot) cells and statuses, made once (same leads: shared)."""
    with _MEMO_LOCK:
        if not ctx.layouts:
            ctx.layouts.append(tally.layout(fm, ctx.decided, ctx.observed, ctx.y))
        return ctx.layouts[0]


def tallied(
    fm: FeatureMatrix,
    config: ScoringConfig,
    outcome: str = "sql",
    reps: pd.DataFrame | None = None,
    within_days: float | None = None,
) -> tuple[tally.Tally, tally.Layout, Routing] | None:
    """The whole-number count tables of ``config``'s points (None when they do not apply).

    The same tables the what-if reads (kept per points), for callers that cut the score at
    other places, such as the grade bands (:func:`analysis.scoring.grades.band_table_tallied`).
    """
    ctx, _ = _context(fm, outcome, within_days, reps)
    counted = _scored(fm, config, ctx, counted=True)[3]
    return None if counted is None else (counted, ctx.layouts[0], ctx.routing)


def _evaluate(
    fm: FeatureMatrix,
    config: ScoringConfig,
    ctx: _Context,
    fit_threshold: float | None,
    engagement_threshold: float | None,
) -> ConfigResult:
    fit, engagement, scores, counted = _scored(fm, config, ctx)
    is_mql = (scores >= config.threshold) & ctx.decided
    ft, et = quadrant_thresholds(config, fit_threshold, engagement_threshold)
    if counted is not None:  # whole-number scores: read the tables, no pass over the leads
        c = tally.counts(counted, ctx.layouts[0], ctx.routing, config.threshold, (ft, et),
                         ctx.n_months)  # fmt: skip
        mqls, by_month, k, n_obs = c.mqls, c.by_month, c.reached, c.observed
        quadrant_leads, quadrant_mqls, load, unrouted = (
            c.quadrant_leads, c.quadrant_mqls, c.load, c.unrouted
        )  # fmt: skip
    else:  # one threshold: count the would-be MQLs' cells (the tally's layout), nothing more
        lay = _layout(fm, ctx)
        rows = np.flatnonzero(is_mql)
        size = lay.months * lay.slots
        cells = np.bincount(lay.cell[rows], minlength=size + 1)[:size]
        cells = cells.reshape(lay.months, lay.slots)
        status = np.bincount(lay.status[rows], minlength=tally.STATUSES)
        mqls = len(rows)
        by_month = cells.sum(axis=1)[: ctx.n_months]
        k, n_obs = int(status[2]), int(status[1] + status[2])
        quad = quadrant_codes(fit, engagement, ft, et)
        quadrant_leads = np.bincount(quad[ctx.decided], minlength=4)
        quadrant_mqls = np.bincount(quad[rows], minlength=4)
        load, unrouted = tally.routed(cells[: ctx.n_months], lay, ctx.routing)
    n_pos = ctx.n_pos
    precision = _rate(k, n_obs)
    recall = _rate(k, n_pos)
    return ConfigResult(
        config=config,
        scores=scores,
        fit=fit,
        engagement=engagement,
        is_mql=is_mql,
        mqls=mqls,
        mqls_by_month=by_month,
        precision=precision[0],
        precision_low=precision[1],
        precision_high=precision[2],
        precision_k=k,
        precision_n=n_obs,
        recall=recall[0],
        recall_low=recall[1],
        recall_high=recall[2],
        recall_k=k,
        recall_n=n_pos,
        n_unobserved=mqls - n_obs,
        quadrant_leads=quadrant_leads,
        quadrant_mqls=quadrant_mqls,
        fit_threshold=ft,
        engagement_threshold=et,
        load=load,
        routing=ctx.routing,
        complete=ctx.complete,
        months=ctx.months,
        unrouted_by_month=unrouted,
    )


def evaluate(
    fm: FeatureMatrix,
    config: ScoringConfig,
    outcome: str = "sql",
    reps: pd.DataFrame | None = None,
    within_days: float | None = None,
    fit_threshold: float | None = None,
    engagement_threshold: float | None = None,
) -> ConfigResult:
    """Replay one configuration on history (see :func:`what_if` for the definitions)."""
    ctx, _ = _context(fm, outcome, within_days, reps)
    return _evaluate(fm, config, ctx, fit_threshold, engagement_threshold)


def what_if(
    fm: FeatureMatrix,
    current: ScoringConfig,
    proposed: ScoringConfig,
    outcome: str = "sql",
    reps: pd.DataFrame | None = None,
    within_days: float | None = None,
    fit_threshold: float | None = None,
    engagement_threshold: float | None = None,
) -> WhatIf:
    """Replay the current and a proposed configuration on the same history.

    Parameters
    ----------
    fm : FeatureMatrix
        Built once by :func:`analysis.scoring.features.build_features`.
    current, proposed : ScoringConfig
        Points and thresholds to compare; unknown feature names raise ValueError.
    outcome : {'sql', 'opportunity', 'customer'}
        What counts as a good MQL: the lead reached that stage or a later one.
    reps : DataFrame, optional
        The reps table (:func:`load_reps`: ``rep_id``, ``territory``, ``capacity``) for
        the load per rep; without it only owners are listed, with unknown capacity.
    within_days : float, optional
        Count the outcome only when reached within this many days of the decision point.
    fit_threshold, engagement_threshold : float, optional
        Quadrant thresholds; default half of each configuration's MQL threshold.

    Returns
    -------
    WhatIf
    """
    ctx, ctx_key = _context(fm, outcome, within_days, reps)
    cur = _memo(
        fm,
        ("current", ctx_key, current, fit_threshold, engagement_threshold),
        lambda: _evaluate(fm, current, ctx, fit_threshold, engagement_threshold),
    )
    prop = _evaluate(fm, proposed, ctx, fit_threshold, engagement_threshold)
    actual_by_month, n_decided, n_observed = ctx.totals
    notes = [
        f"{prop.n_unobserved:,} of the proposed rule's {prop.mqls:,} MQLs (and "
        f"{cur.n_unobserved:,} of the current rule's {cur.mqls:,}) were never handed off "
        "or are too recent, so whether they would have reached "
        f"{outcome!r} is unknown; precision and recall leave them out.",
    ]
    n_pending = fm.n - n_decided
    if n_pending:
        notes.append(
            f"{n_pending:,} leads are younger than the {fm.horizon_days}-day horizon and not "
            "handed off yet; they have no decision point and are left out."
        )
    return WhatIf(
        outcome=outcome,
        within_days=within_days,
        current=cur,
        proposed=prop,
        months=ctx.months,
        actual_by_month=actual_by_month,
        complete_month=ctx.complete,
        n_decided=n_decided,
        n_pending=n_pending,
        n_observed=n_observed,
        n_reached=int(ctx.y.sum()),
        changed_in=int((prop.is_mql & ~cur.is_mql).sum()),
        changed_out=int((cur.is_mql & ~prop.is_mql).sum()),
        notes=notes,
    )
