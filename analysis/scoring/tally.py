"""Whole-number points: the what-if at every threshold from one ``np.bincount``.

Query intuition
---------------
When every point of a rule is a whole number and every feature it gives points to holds
whole numbers (the built-in 0/1 features), each lead's fit and engagement scores are whole
numbers. One ``np.bincount`` over the leads, keyed by

    (score, decision month, routing slot)

(leads not decided yet go to one extra cell, counted nowhere), and a second, tiny one keyed
by (score, status), hold everything :func:`analysis.scoring.whatif.what_if` counts at *any*
threshold: the *routing slot* is the lead's owner (one slot per owner) or, without an owner,
its region (one slot per region, one for "region unknown"); the *status* is 0 = outcome
unobserved, 1 = observed and not reached, 2 = reached, 3 = not decided yet. A cumulative sum
over the score axis (highest score first) turns each into "leads scoring at least ``t``", so
a threshold change reads one row of each table:

- would-be MQLs = the row summed; per month = summed over slots;
- precision's numerator (reached) and denominator (observed) = statuses 2 and 1 + 2;
- rep load = the owner slots routed to their rep, plus the region slots spread over the
  reps covering the region (:mod:`analysis.scoring.routing`, the same arithmetic).

A grade band (scores in ``[low, high)``) is the difference of two rows (:func:`between`).

The quadrants use a second, small table keyed by (fit score, engagement score) of the
decided leads: a quadrant and "score >= threshold" are both fixed per cell.

A points change costs the product ``X @ W`` and the counts; a threshold change costs no pass
over the leads. The what-if builds the tables for a set of points the second time it is
asked about those points (a threshold move, a grade cut): a single replay of new points is
cheaper on the float path. The numbers are the float path's exactly (integers counted the
same way; the load is formed by the same additions and the same matrix product), which
the tests check on the demo. Rules with fractional points, faded engagement or numeric
lead properties use the float path (:func:`fits` says which).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

from analysis.scoring.configs import ScoringConfig
from analysis.scoring.matrix import FeatureMatrix
from analysis.scoring.routing import Routing

MAX_CELLS = 8_000_000
"""Largest (score x month x slot) table kept; a wider score range uses the float path."""

STATUSES = 4
"""0 unobserved, 1 observed not reached, 2 reached, 3 not decided."""

_WHOLE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _whole(fm: FeatureMatrix, j: int) -> bool:
    """Whether column ``j`` of ``fm.X`` holds only whole numbers (checked once per column)."""
    known = _WHOLE.setdefault(fm, {})
    if j not in known:
        column = fm.X[:, j]
        known[j] = bool(np.all(np.floor(column) == column))
    return known[j]


def mark_not_whole(fm: FeatureMatrix, columns: list[int]) -> None:
    """Record that ``columns`` of ``fm`` are not whole (a faded copy), sparing the check."""
    known = _WHOLE.setdefault(fm, {})
    for j in columns:
        known[j] = False


def fits(fm: FeatureMatrix, config: ScoringConfig) -> bool:
    """True when ``config``'s scores on ``fm`` are whole numbers (points and columns)."""
    if any(not float(w).is_integer() for w in config.weights.values()):
        return False
    used = sorted((fm.index(n) for n, w in config.weights.items() if w != 0), key=
                  lambda j: (_WHOLE.get(fm, {}).get(j, True), j))  # fmt: skip
    return all(_whole(fm, j) for j in used)  # stops at the first known non-whole column


@dataclass(eq=False)
class Layout:
    """Per lead, its (month, slot) cell and its status; per matrix, window and slots."""

    cell: np.ndarray  # (n,) int32: month * slots + slot, or months * slots when not decided
    status: np.ndarray  # (n,) int32: 0 unobserved, 1 observed not reached, 2 reached, 3 not decided
    decided: np.ndarray  # (n,) int32, 1 when decided
    months: int
    slots: int
    owners: int  # slots [0, owners) are owners, then regions, then "region unknown"


def layout(fm: FeatureMatrix, decided: np.ndarray, observed: np.ndarray, y: np.ndarray) -> Layout:
    """The cell of every lead (``observed`` and ``y`` already restricted to decided leads)."""
    owners = len(fm.owner_labels)
    regions = len(fm.region_labels) + 1
    owner, region = fm.owner_code, fm.region_code
    slot = np.where(owner >= 0, owner, owners + np.where(region < 0, regions - 1, region))
    status = np.where(~decided, 3, np.where(y, 2, np.where(observed, 1, 0))).astype(np.int32)
    slots = owners + regions
    months = len(fm.months)
    cell = np.where(decided, fm.month_code.astype(np.int64) * slots + slot, months * slots)
    return Layout(cell.astype(np.int32), status, decided.astype(np.int32), months, slots, owners)


@dataclass(eq=False)
class Tally:
    """Leads scoring at least each whole score: per (month, slot) and per status.

    Row ``j`` of ``at_least`` and of ``by_status`` counts leads with score
    ``>= high - j + 1`` (row 0 is all zeros, the last row holds every lead): ``at_least``
    the decided leads per (month, slot), flattened; ``by_status`` every lead per status.
    ``quad`` counts decided leads per (fit score - ``fit_low``, engagement score -
    ``eng_low``).
    """

    high: int
    at_least: np.ndarray  # (S + 1, months * slots) int32
    by_status: np.ndarray  # (S + 1, STATUSES) int64
    fit_low: int
    eng_low: int
    quad: np.ndarray  # (F, E) int64

    def index(self, threshold: float) -> int:
        """Row of the leads scoring ``>= threshold``."""
        return min(max(self.high - math.ceil(threshold) + 1, 0), len(self.at_least) - 1)


def tally(lay: Layout, fit: np.ndarray, engagement: np.ndarray) -> Tally | None:
    """The tables of one set of whole-number scores (None when they would be too large)."""
    f = fit.astype(np.int32)
    e = engagement.astype(np.int32)
    f_low, f_high, e_low, e_high = int(f.min()), int(f.max()), int(e.min()), int(e.max())
    high, n_scores = f_high + e_high, f_high + e_high - f_low - e_low + 1
    size = lay.months * lay.slots + 1  # the last column holds the leads not decided
    width = e_high - e_low + 1
    if max(n_scores + 1, 2) * size > MAX_CELLS or (f_high - f_low + 1) * width * 2 > MAX_CELLS:
        return None
    # Rows from the highest score down, so a running sum is "score >= t".
    rank = np.add(f, e)  # in place from here: no new array per step
    np.subtract(high, rank, out=rank)
    key = np.multiply(rank, size)
    key += lay.cell
    counts = np.bincount(key, minlength=n_scores * size).reshape(n_scores, size)
    at_least = np.zeros((n_scores + 1, size - 1), dtype=np.int32)
    np.cumsum(counts[:, :-1], axis=0, out=at_least[1:])
    rank *= STATUSES
    rank += lay.status
    by_status = np.zeros((n_scores + 1, STATUSES), dtype=np.int64)
    np.cumsum(np.bincount(rank, minlength=n_scores * STATUSES).reshape(n_scores, STATUSES),
              axis=0, out=by_status[1:])  # fmt: skip
    cell = np.subtract(f, f_low, out=key)
    cell *= width
    cell += e
    cell -= e_low
    cell *= 2
    cell += lay.decided
    quad = np.bincount(cell, minlength=(f_high - f_low + 1) * width * 2)[1::2]
    return Tally(high, at_least, by_status, f_low, e_low, quad.reshape(f_high - f_low + 1, width))


def routed(per_slot: np.ndarray, lay: Layout, routing: Routing) -> tuple[np.ndarray, np.ndarray]:
    """(load per month x rep, unrouted per month) of leads counted per (month, slot)."""
    per_slot = per_slot.astype(np.int64)  # as a bincount gives them
    n_months = per_slot.shape[0]
    n_reps = len(routing.rep_ids)
    load = np.zeros((n_months, n_reps))
    if n_reps and lay.owners:
        np.add.at(load, (slice(None), routing.owner_to_rep), per_slot[:, : lay.owners])
    by_region = per_slot[:, lay.owners :]
    if n_reps:
        load += by_region @ routing.share
    return load, by_region[:, ~routing.routable].sum(axis=1).astype(np.int64)


def between(
    t: Tally, lay: Layout, low: float | None, high: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Leads scoring ``>= low`` and ``< high`` (no bound where None).

    Returns the decided leads per (month, slot) as (months, slots) and every lead per status.
    """
    j = len(t.at_least) - 1 if low is None else t.index(low)
    cells, status = t.at_least[j], t.by_status[j]
    if high is not None:
        k = t.index(high)
        cells, status = cells - t.at_least[k], status - t.by_status[k]
    return cells.reshape(lay.months, lay.slots), status


@dataclass(eq=False)
class Counts:
    """What the what-if needs of one threshold, read from a :class:`Tally`."""

    mqls: int
    by_month: np.ndarray  # (months,) int64
    reached: int
    observed: int
    quadrant_leads: np.ndarray  # (4,) int64
    quadrant_mqls: np.ndarray  # (4,) int64
    load: np.ndarray  # (n_months, reps) float
    unrouted: np.ndarray  # (n_months,) int64


def counts(
    t: Tally,
    lay: Layout,
    routing: Routing,
    threshold: float,
    quadrant: tuple[float, float],
    n_months: int,
) -> Counts:
    """The what-if numbers at ``threshold`` (quadrant thresholds ``quadrant`` = (fit, eng))."""
    cells, status = between(t, lay, threshold, None)
    by_month = cells.sum(axis=1)
    load, unrouted = routed(cells[:n_months], lay, routing)
    fit_v = t.fit_low + np.arange(t.quad.shape[0])
    eng_v = t.eng_low + np.arange(t.quad.shape[1])
    code = (fit_v[:, None] < quadrant[0]).astype(np.int64) + 2 * (eng_v[None, :] < quadrant[1])
    mql = (fit_v[:, None] + eng_v[None, :]) >= threshold
    return Counts(
        mqls=int(by_month.sum()),
        by_month=by_month[:n_months].astype(np.int64),
        reached=int(status[2]),
        observed=int(status[1] + status[2]),
        quadrant_leads=np.bincount(code.ravel(), weights=t.quad.ravel(), minlength=4).astype(
            np.int64
        ),
        quadrant_mqls=np.bincount(code[mql], weights=t.quad[mql], minlength=4).astype(np.int64),
        load=load,
        unrouted=unrouted,
    )
