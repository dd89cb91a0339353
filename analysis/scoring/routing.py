"""Routing of would-be MQLs to reps, and the resulting load per rep per month.

Query intuition
---------------
Each would-be MQL goes to the lead's owner when it has one; otherwise it is shared evenly
among the reps whose ``territory`` equals the lead's ``region`` (fractional counts, the
expected load of a round-robin); a lead with neither is *unrouted*. When the reps table
gives roles, a territory's SDRs share its MQLs (its AEs only when it has no SDR). The load
is two ``np.bincount`` passes (owned by month x rep; unowned by month x region, then
spread by the region -> rep share matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.scoring.matrix import FeatureMatrix

REP_LOAD_COLUMNS = [
    "month",
    "rep_id",
    "territory",
    "role",
    "capacity",
    "mqls",
    "over_capacity",
    "complete_month",
]


@dataclass(eq=False)
class Routing:
    """Rep list and the shares that route an owner's or a region's MQLs to reps."""

    rep_ids: np.ndarray  # (R,) rep ids: the reps table, then owners missing from it
    territory: np.ndarray  # (R,) object
    role: np.ndarray  # (R,) object, None when unknown
    capacity: np.ndarray  # (R,) float, NaN when unknown
    owner_to_rep: np.ndarray  # (n_owner_labels,) int, index into rep_ids
    share: np.ndarray  # (n_region_labels + 1, R) float: share of an unowned MQL per rep
    routable: np.ndarray  # (n_region_labels + 1,) bool: some rep covers the region


def routing_of(fm: FeatureMatrix, reps: pd.DataFrame | None) -> Routing:
    """Who receives the MQLs of each owner and of each region (see the module docstring)."""
    owner_labels = fm.owner_labels
    region_labels = fm.region_labels
    if reps is None:
        reps = pd.DataFrame({"rep_id": [], "territory": [], "capacity": []})
    missing = [c for c in ("rep_id", "territory", "capacity") if c not in reps.columns]
    if missing:
        raise ValueError(
            f"reps needs columns rep_id, territory, capacity; missing {', '.join(missing)}"
        )
    rep_ids = [str(r) for r in reps["rep_id"]]
    territory = [None if pd.isna(t) else str(t) for t in reps["territory"]]
    capacity = [np.nan if pd.isna(c) else float(c) for c in reps["capacity"]]
    roles = (
        [None if pd.isna(r) else str(r) for r in reps["role"]]
        if "role" in reps.columns
        else [None] * len(rep_ids)
    )
    position = {r: i for i, r in enumerate(rep_ids)}
    for owner in owner_labels:
        if owner not in position:  # an owner absent from the reps table: capacity unknown
            position[owner] = len(rep_ids)
            rep_ids.append(owner)
            territory.append(None)
            capacity.append(np.nan)
            roles.append(None)
    owner_to_rep = np.array([position[o] for o in owner_labels], dtype=np.int64)
    n_reps = len(rep_ids)
    share = np.zeros((len(region_labels) + 1, n_reps))  # last row: region unknown
    in_table = len(reps)
    for g, region in enumerate(region_labels):
        covering = [i for i in range(in_table) if territory[i] == region]
        sdrs = [i for i in covering if roles[i] == "sdr"]
        covering = sdrs or covering  # MQLs go to the territory's SDRs when it has any
        if covering:
            share[g, covering] = 1.0 / len(covering)
    return Routing(
        rep_ids=np.array(rep_ids, dtype=object),
        territory=np.array(territory, dtype=object),
        role=np.array(roles, dtype=object),
        capacity=np.array(capacity, dtype=np.float64),
        owner_to_rep=owner_to_rep,
        share=share,
        routable=share.sum(axis=1) > 0,
    )


def load_matrix(
    fm: FeatureMatrix, routing: Routing, is_mql: np.ndarray, n_months: int
) -> tuple[np.ndarray, np.ndarray]:
    """(MQLs per month x rep as a float array (n_months, R), unrouted MQLs per month)."""
    n_reps = len(routing.rep_ids)
    n_regions = routing.share.shape[0]
    load = np.zeros((n_months, n_reps))
    owner_code, region_code, month = fm.owner_code, fm.region_code, fm.month_code
    mql_rows = np.flatnonzero(is_mql)
    owned = mql_rows[owner_code[mql_rows] >= 0]
    if n_reps and len(owned):
        key = month[owned].astype(np.int64) * n_reps + routing.owner_to_rep[owner_code[owned]]
        load += np.bincount(key, minlength=n_months * n_reps)[: n_months * n_reps].reshape(
            n_months, n_reps
        )
    unowned = mql_rows[owner_code[mql_rows] < 0]
    region = np.where(region_code[unowned] < 0, n_regions - 1, region_code[unowned])
    key = month[unowned].astype(np.int64) * n_regions + region
    by_region = np.bincount(key, minlength=n_months * n_regions)[: n_months * n_regions].reshape(
        n_months, n_regions
    )
    if n_reps:
        load += by_region @ routing.share
    unrouted = by_region[:, ~routing.routable].sum(axis=1)
    return load, unrouted.astype(np.int64)


def load_frame(
    routing: Routing, load: np.ndarray, complete: np.ndarray, months: np.ndarray
) -> pd.DataFrame:
    """The load of :func:`load_matrix` as REP_LOAD_COLUMNS (one row per month x rep)."""
    n_months, n_reps = load.shape
    frame = pd.DataFrame(
        {
            "month": np.repeat(months.astype("datetime64[ns]"), n_reps),
            "rep_id": np.tile(routing.rep_ids, n_months),
            "territory": np.tile(routing.territory, n_months),
            "role": np.tile(routing.role, n_months),
            "capacity": np.tile(routing.capacity, n_months),
            "mqls": load.ravel(),
            "complete_month": np.repeat(complete, n_reps),
        },
        columns=[c for c in REP_LOAD_COLUMNS if c != "over_capacity"],
    )
    with np.errstate(invalid="ignore"):
        frame.insert(6, "over_capacity", (frame["mqls"] > frame["capacity"]).to_numpy())
    return frame


def reps_over_capacity(routing: Routing, load: np.ndarray, complete: np.ndarray) -> int:
    """Reps over capacity in at least one complete month (unknown capacity never is)."""
    with np.errstate(invalid="ignore"):
        over = (load > routing.capacity[None, :]) & complete[:, None]
    return int(over.any(axis=0).sum())


def rep_load(
    fm: FeatureMatrix,
    routing: Routing,
    is_mql: np.ndarray,
    n_months: int,
    complete: np.ndarray,
    months: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """(load per month x rep as REP_LOAD_COLUMNS, unrouted MQLs per month)."""
    load, unrouted = load_matrix(fm, routing, is_mql, n_months)
    return load_frame(routing, load, complete, months), unrouted
