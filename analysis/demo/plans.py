"""What the company planned: rep capacity and monthly targets, close to what happened."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.demo.arrays import _month_index, _World
from analysis.demo.sales import STAGE_CODES, _History


def _set_capacity(world: _World, reps: dict, hist: _History) -> None:
    """Capacity per rep: about 1.15 x its median monthly load, rounded up to a multiple of 5.

    SDRs are loaded with MQL handoffs, AEs with opportunities; a busy month above capacity
    is then possible but not the rule.
    """
    loads = []
    for r in hist.rounds:
        loads.append((r["rep"], _month_index(r["handoff"])))
    loads.append((hist.opps["ae"], _month_index(hist.opps["created"])))
    rep = np.concatenate([x for x, _ in loads])
    month = np.concatenate([y for _, y in loads])
    if len(rep) == 0:
        reps["capacity"][:] = 5
        return
    first = _month_index(np.array([world.start_s]))[0]
    n_months = int(_month_index(np.array([world.cutoff_s - 1]))[0] - first + 1)
    grid = np.zeros((len(reps["id"]), n_months))
    np.add.at(grid, (rep, month - first), 1)
    median = np.median(grid, axis=1)
    reps["capacity"] = np.maximum(5, np.ceil(median * 1.15 / 5) * 5).astype(np.int64)


TARGET_METRICS = (
    "leads",
    "mqls",
    "sqls",
    "opportunities",
    "deals_won",
    "won_revenue",
    "pct_contacted_in_sla",
)


def _targets(world: _World, lead: dict, hist: _History) -> pd.DataFrame:
    """Monthly goals: a smoothed plan close to (never equal to) what happened."""
    rng = world.rng
    first = int(_month_index(np.array([world.start_s]))[0])
    last = int(_month_index(np.array([world.cutoff_s - 1]))[0])
    nm = last - first + 1
    months = np.arange(first, last + 1)

    def per_month(t: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        idx = _month_index(t) - first
        return np.bincount(idx, weights=weights, minlength=nm)[:nm].astype(float)

    rows = hist.stage_rows
    stage = rows["stage"]
    actual = {"leads": per_month(lead["created"])}
    for metric, stage_name in (("mqls", "mql"), ("sqls", "sql")):
        sel = stage == STAGE_CODES.index(stage_name)
        ld, t = rows["lead"][sel], rows["t"][sel]
        o = np.lexsort((t, ld))
        firsts = o[np.r_[True, ld[o][1:] != ld[o][:-1]]] if len(o) else o
        actual[metric] = per_month(t[firsts])
    opp = hist.opps
    actual["opportunities"] = per_month(opp["created"])
    won = opp["outcome"] == 1
    actual["deals_won"] = per_month(opp["closed"][won])
    actual["won_revenue"] = per_month(opp["closed"][won], opp["amount"][won])
    # Elapsed share of the last month: scale the partial month up to a full one.
    bounds = np.array([last, last + 1], dtype="datetime64[M]").astype("datetime64[s]")
    last_start, next_start = bounds.astype(np.int64)
    elapsed = (world.cutoff_s - last_start) / (next_start - last_start)
    out = []
    for metric in TARGET_METRICS[:-1]:
        a = actual[metric].copy()
        a[-1] = a[-1] / max(elapsed, 0.05)
        plan = a * np.exp(rng.normal(0.03, 0.08, nm))
        step = 1000.0 if metric == "won_revenue" else (5.0 if plan.mean() > 200 else 1.0)
        plan = np.maximum(np.round(plan / step) * step, step)
        plan = np.where(plan == actual[metric], plan + step, plan)
        out.append(pd.DataFrame({"month": months, "metric": metric, "value": plan}))
    year = (months - first) // 12
    sla_goal = np.minimum(0.85 + 0.03 * year, 0.95)
    out.append(pd.DataFrame({"month": months, "metric": TARGET_METRICS[-1], "value": sla_goal}))
    targets = pd.concat(out, ignore_index=True)
    targets["month"] = targets["month"].to_numpy().astype("datetime64[M]").astype("datetime64[D]")
    return targets
