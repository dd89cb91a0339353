"""Grades: up to four score bands (A-D by default) with cut points, and what each band holds.

Query intuition
---------------
A grade scheme cuts the score of a rule into bands, best first: a lead is in band ``i``
when its score is at or above ``cuts[i]`` and below ``cuts[i - 1]`` (band 0 has no upper
limit, the last band no lower limit). Everything below is numpy over the scores of the
decided leads (:attr:`FeatureMatrix.decided`), so moving a cut point re-computes in
milliseconds:

1. **Band of every lead**: one ``np.searchsorted`` of the scores into the ascending cuts.
2. **Counts per band** (leads, leads with an observed outcome, of them reached the
   outcome): three ``np.bincount`` over the band codes.
3. **Conversion rate** = reached / observed in the band, with its 95% Wilson interval;
   **share of conversions captured** = reached in the band / reached in all bands.
   Outcomes are observed only for leads handed off in reality (as in the what-if).
4. **Rep load**: the band's leads routed to reps as the what-if routes MQLs
   (:mod:`analysis.scoring.routing`), as mean leads per rep per complete month over the
   reps that receive any, and the busiest rep's mean.

:func:`suggest_cuts` places the cuts so that the bands hold a target distribution of the
decided leads (e.g. 10/20/30/40%, best band first), or so that the top band fits the
reps' monthly capacity and the other bands split the rest in the given proportions. With
whole-number scores many leads share a score, so the shares reached are the closest the
scores allow, and are reported.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.scoring import whatif
from analysis.scoring.configs import ScoringConfig, config_to_json, score
from analysis.scoring.matrix import FeatureMatrix
from analysis.scoring.routing import Routing, load_matrix
from analysis.scoring.tally import Layout, Tally, between, routed
from analysis.stats import wilson_interval

DEFAULT_NAMES: tuple[str, ...] = ("A", "B", "C", "D")
"""Band names, best first, until the user renames them."""

MAX_BANDS = 4
"""At most this many bands."""

BAND_COLUMNS = [
    "grade",
    "min_score",
    "below_score",
    "leads",
    "share_of_leads",
    "observed",
    "reached",
    "conversion",
    "conversion_low",
    "conversion_high",
    "share_of_conversions",
    "per_month",
    "rep_mean",
    "rep_max",
]


@dataclass(frozen=True)
class GradeScheme:
    """Band names (best first) and the cut points between them.

    Attributes
    ----------
    names : tuple of str
        2 to :data:`MAX_BANDS` band names, best band first.
    cuts : tuple of float
        ``len(names) - 1`` scores, strictly decreasing: band ``i`` holds scores
        ``>= cuts[i]`` (and ``< cuts[i - 1]``); the last band holds everything below the
        last cut.
    """

    names: tuple[str, ...]
    cuts: tuple[float, ...]

    def __post_init__(self) -> None:
        names = tuple(str(n).strip() for n in self.names)
        cuts = tuple(float(c) for c in self.cuts)
        if not 2 <= len(names) <= MAX_BANDS:
            raise ValueError(f"a grade scheme has 2 to {MAX_BANDS} bands, got {len(names)}")
        if any(not n for n in names) or len(set(names)) != len(names):
            raise ValueError(f"band names must be distinct and non-empty, got {list(names)}")
        if len(cuts) != len(names) - 1:
            raise ValueError(
                f"{len(names)} bands need {len(names) - 1} cut points, got {len(cuts)}"
            )
        if any(not math.isfinite(c) for c in cuts):
            raise ValueError(f"cut points must be finite numbers, got {list(cuts)}")
        if any(a <= b for a, b in zip(cuts, cuts[1:], strict=False)):
            raise ValueError(f"cut points must decrease from the best band, got {list(cuts)}")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "cuts", cuts)

    def codes(self, scores: np.ndarray) -> np.ndarray:
        """Band index (0 = best) of every score (int64)."""
        ascending = np.asarray(self.cuts[::-1])
        # number of cuts at or below the score = how many bands it climbed from the bottom
        climbed = np.searchsorted(ascending, np.asarray(scores, dtype=np.float64), side="right")
        return (len(self.cuts) - climbed).astype(np.int64)


def _rep_figures(
    fm: FeatureMatrix, routing: Routing, mask: np.ndarray, n_months: int, complete: np.ndarray
) -> tuple[float, float]:
    """(mean leads per rep per complete month over reps receiving any, busiest rep's mean)."""
    if not complete.any():
        return float("nan"), float("nan")
    load, _ = load_matrix(fm, routing, mask, n_months)
    return _rep_summary(load, complete)


def _rep_summary(load: np.ndarray, complete: np.ndarray) -> tuple[float, float]:
    per_rep = load[complete].mean(axis=0) if load.shape[1] else np.zeros(0)
    per_rep = per_rep[per_rep > 0]
    if len(per_rep) == 0:
        return 0.0, 0.0
    return float(per_rep.mean()), float(per_rep.max())


def band_table(
    fm: FeatureMatrix,
    scores: np.ndarray,
    scheme: GradeScheme,
    outcome: str = "sql",
    within_days: float | None = None,
    routing: Routing | None = None,
) -> pd.DataFrame:
    """What each band of ``scheme`` holds among the decided leads.

    Parameters
    ----------
    fm : FeatureMatrix
        The leads, their decision months, outcomes and owners.
    scores : ndarray of float, shape (n,)
        Score of every lead of ``fm`` under the rule being graded.
    scheme : GradeScheme
        Band names and cut points.
    outcome, within_days
        The outcome that counts as a conversion (as in the what-if).
    routing : Routing, optional
        Who receives each lead (:func:`analysis.scoring.routing.routing_of`); without it
        the rep columns are NaN.

    Returns
    -------
    DataFrame
        One row per band, best first (:data:`BAND_COLUMNS`): ``grade``, ``min_score``
        (NaN for the last band), ``below_score`` (NaN for the first), ``leads``,
        ``share_of_leads`` (of all decided leads), ``observed`` (with a known outcome),
        ``reached``, ``conversion`` = reached / observed with its 95% Wilson interval
        ``conversion_low``/``conversion_high`` (NaN when nothing is observed),
        ``share_of_conversions`` (reached in the band / reached in all bands),
        ``per_month`` (band leads per complete month), ``rep_mean`` and ``rep_max``
        (mean band leads per rep per complete month, over reps that receive any, and the
        busiest rep's).
    """
    decided = fm.decided
    observed = fm.observed(within_days) & decided
    reached = fm.outcome(outcome, within_days) & observed
    k = len(scheme.names)
    code = scheme.codes(scores)
    leads = np.bincount(code[decided], minlength=k)
    n_obs = np.bincount(code[observed], minlength=k)
    n_pos = np.bincount(code[reached], minlength=k)
    total, total_pos = int(leads.sum()), int(n_pos.sum())
    complete = fm.complete_months()
    n_months = len(complete)
    in_complete = decided & (fm.month_code < n_months)
    in_complete[in_complete] = complete[fm.month_code[in_complete]]
    per_month = np.bincount(code[in_complete], minlength=k) / max(int(complete.sum()), 1)
    rows = []
    for i in range(k):
        rep = (float("nan"), float("nan"))
        if routing is not None:
            rep = _rep_figures(fm, routing, decided & (code == i), n_months, complete)
        month = float(per_month[i]) if complete.any() else float("nan")
        counts = (int(leads[i]), int(n_obs[i]), int(n_pos[i]))
        rows.append(_band_row(scheme, i, counts, (total, total_pos), month, rep))
    return pd.DataFrame(rows, columns=BAND_COLUMNS)


def _band_row(
    scheme: GradeScheme,
    i: int,
    counts: tuple[int, int, int],
    totals: tuple[int, int],
    per_month: float,
    rep: tuple[float, float],
) -> dict:
    """Band ``i``'s row of :data:`BAND_COLUMNS`, rates and shares from its counts.

    ``counts`` are the band's (leads, observed, reached), ``totals`` the (leads, reached)
    over all bands, ``rep`` its (mean, busiest) rep load: the one place :func:`band_table`
    and :func:`band_table_tallied` turn counts into a row.
    """
    k = len(scheme.names)
    leads, observed, reached = counts
    total, total_pos = totals
    rate, low, high = _rate(reached, observed)
    return {
        "grade": scheme.names[i],
        "min_score": scheme.cuts[i] if i < k - 1 else float("nan"),
        "below_score": scheme.cuts[i - 1] if i > 0 else float("nan"),
        "leads": leads,
        "share_of_leads": leads / total if total else float("nan"),
        "observed": observed,
        "reached": reached,
        "conversion": rate,
        "conversion_low": low,
        "conversion_high": high,
        "share_of_conversions": reached / total_pos if total_pos else float("nan"),
        "per_month": per_month,
        "rep_mean": rep[0],
        "rep_max": rep[1],
    }


def band_table_tallied(
    counted: tuple[Tally, Layout, Routing | None],
    scheme: GradeScheme,
    complete: np.ndarray,
) -> pd.DataFrame:
    """:func:`band_table` read from the what-if's count tables: no pass over the leads.

    ``counted`` is :func:`analysis.scoring.whatif.tallied` of the graded rule (whole-number
    scores), with its routing (None: the rep columns are NaN); ``complete`` is
    :meth:`FeatureMatrix.complete_months`. A band is the difference of two rows of the
    tables (:func:`analysis.scoring.tally.between`), so a cut point move is a few array
    reads; the numbers equal :func:`band_table`'s (the tests check both against plain loops).
    """
    t, lay, routing = counted
    k = len(scheme.names)
    n_months = len(complete)
    parts = []
    for i in range(k):
        low = scheme.cuts[i] if i < k - 1 else None
        high = scheme.cuts[i - 1] if i > 0 else None
        parts.append(between(t, lay, low, high))
    leads = np.array([int(c.sum()) for c, _ in parts])
    n_pos = np.array([int(s[2]) for _, s in parts])
    total, total_pos = int(leads.sum()), int(n_pos.sum())
    rows = []
    for i, (cells, status) in enumerate(parts):
        rep = (float("nan"), float("nan"))
        if routing is not None and complete.any():
            load, _ = routed(cells[:n_months], lay, routing)
            rep = _rep_summary(load, complete)
        in_complete = cells[:n_months][complete].sum()
        month = float(in_complete / max(int(complete.sum()), 1)) if complete.any() else float("nan")
        counts = (int(leads[i]), int(status[1] + status[2]), int(status[2]))
        rows.append(_band_row(scheme, i, counts, (total, total_pos), month, rep))
    return pd.DataFrame(rows, columns=BAND_COLUMNS)


def rule_bands(
    fm: FeatureMatrix,
    config: ScoringConfig,
    scheme: GradeScheme,
    outcome: str = "sql",
    reps: pd.DataFrame | None = None,
    within_days: float | None = None,
) -> pd.DataFrame:
    """:func:`band_table` of ``config``'s scores, from the what-if's count tables when it can.

    Whole-number scores read :func:`band_table_tallied` (kept per points, so moving a cut
    point makes no pass over the leads); other scores take :func:`band_table` on the
    what-if's kept scores. The reps table routes the leads as in the what-if.
    """
    counted = whatif.tallied(fm, config, outcome, reps, within_days)
    if counted is not None:
        return band_table_tallied(counted, scheme, fm.complete_months())
    scores = whatif.scores(fm, config)
    return band_table(fm, scores, scheme, outcome, within_days, whatif.routing_of(fm, reps))


def _rate(k: int, n: int) -> tuple[float, float, float]:
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    low, high = wilson_interval(k, n)
    return k / n, float(low), float(high)


def _closest_cut(desc: np.ndarray, values: np.ndarray, target: float) -> float:
    """The distinct score whose count of scores >= it is closest to ``target``."""
    counts = np.searchsorted(-desc, -values, side="right")
    return float(values[int(np.argmin(np.abs(counts - target)))])


def suggest_cuts(
    scores: np.ndarray,
    shares: Sequence[float] = (0.1, 0.2, 0.3, 0.4),
    top_count: float | None = None,
) -> tuple[float, ...]:
    """Cut points whose bands hold the target distribution of ``scores``, best band first.

    Parameters
    ----------
    scores : ndarray of float
        Scores of the leads to grade (the decided leads).
    shares : sequence of float
        Target share of leads per band, best first (normalised to sum 1); its length is
        the number of bands.
    top_count : float, optional
        When given, the best band is sized to this many leads (e.g. the reps' monthly
        capacity times the number of months) and the other bands split the remaining
        leads in the proportions of ``shares[1:]``.

    Returns
    -------
    tuple of float
        ``len(shares) - 1`` strictly decreasing cut points, each a score some lead has,
        whose cumulative count of leads at or above it is the closest the scores allow to
        the target. Ties between equal scores can make a band larger than asked; when two
        targets fall on the same score the lower cut moves down one distinct score.
    """
    s = np.asarray(scores, dtype=np.float64)
    w = np.asarray(shares, dtype=np.float64)
    if not 2 <= len(w) <= MAX_BANDS or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"shares must be 2 to {MAX_BANDS} non-negative numbers, got {list(w)}")
    if len(s) == 0:
        return tuple(float(len(w) - 1 - i) for i in range(len(w) - 1))
    w = w / w.sum()
    n = len(s)
    if top_count is not None:
        top = min(max(float(top_count), 0.0), n)
        rest = w[1:] / w[1:].sum() if w[1:].sum() > 0 else np.full(len(w) - 1, 1 / (len(w) - 1))
        targets = top + np.cumsum(rest * (n - top))[:-1]
        targets = np.concatenate([[top], targets])
    else:
        targets = np.cumsum(w)[:-1] * n
    desc = np.sort(s)[::-1]
    values = np.unique(desc)[::-1]  # distinct scores, highest first
    cuts: list[float] = []
    for t in targets:
        cut = _closest_cut(desc, values, t)
        if cuts and cut >= cuts[-1]:
            lower = values[values < cuts[-1]]
            cut = float(lower[0]) if len(lower) else cuts[-1] - 1.0
        cuts.append(cut)
    return tuple(cuts)


def default_scheme(fm: FeatureMatrix, config: ScoringConfig) -> GradeScheme:
    """A-D cut at 10/20/30/40% of the decided leads under ``config``."""
    scores = score(fm, config)[fm.decided]
    return GradeScheme(DEFAULT_NAMES, suggest_cuts(scores))


def grades_to_json(scheme: GradeScheme, config: ScoringConfig) -> str:
    """The configuration (as :func:`config_to_json`) with its grades, as JSON text.

    ``grades`` lists the bands best first, each with ``name``, ``min_score`` (inclusive;
    null for the last band) and ``below_score`` (exclusive; null for the first): a CRM
    workflow sets grade X when ``min_score <= score < below_score``.
    """
    data = json.loads(config_to_json(config))
    data["grades"] = _bands(scheme)
    return json.dumps(data, indent=2)


def grades_to_csv(scheme: GradeScheme, config: ScoringConfig) -> str:
    """One row per grade: ``grade``, ``min_score``, ``below_score``, ``rule``, ``threshold``.

    ``min_score`` is inclusive and empty for the last band; ``below_score`` is exclusive
    and empty for the first.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["grade", "min_score", "below_score", "rule", "threshold"])
    for band in _bands(scheme):
        writer.writerow(
            [
                band["name"],
                "" if band["min_score"] is None else f"{band['min_score']:g}",
                "" if band["below_score"] is None else f"{band['below_score']:g}",
                config.model_id or config.name,
                f"{config.threshold:g}",
            ]
        )
    return out.getvalue()


def _bands(scheme: GradeScheme) -> list[dict]:
    k = len(scheme.names)
    return [
        {
            "name": name,
            "min_score": scheme.cuts[i] if i < k - 1 else None,
            "below_score": scheme.cuts[i - 1] if i > 0 else None,
        }
        for i, name in enumerate(scheme.names)
    ]
