"""Benchmark of the analysis engine: each function cold and warm, and DuckDB vs plain pandas.

"Cold" is the first call on a freshly opened read-only connection (file pages not yet in
DuckDB's buffer pool); "warm" is the median of the following calls. Each function runs
twice: on the base tables ("direct", what a file written by an older version gets) and on
the derived journey tables (:mod:`analysis.lifecycle.journey`, what the pages read).
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import numpy as np
import pandas as pd

from analysis import filters as flt
from analysis import store
from analysis.lifecycle import funnel, journey, metrics, rejections, sla
from analysis.store import STAGES
from tests.bench.sections import Context, timed


def pandas_headline_funnel(
    leads: pd.DataFrame, changes: pd.DataFrame, start: date, end: date
) -> dict[str, tuple[int, int]]:
    """Stage volumes and step conversions for [start, end] with plain pandas.

    The same definitions as :func:`analysis.funnel.entries_cte`: a stage's entry is the
    earliest change to it or any later stage; the lead stage also counts the creation time.
    Returns {stage: (volume, 0)} and {"S_to_T": (k, n)}.
    """
    order = {s: i for i, s in enumerate(STAGES)}
    c = changes[changes["stage"].isin(order)].copy()
    c["rank"] = c["stage"].map(order)
    firsts = c.groupby(["lead_id", "rank"])["changed_at"].min().unstack()
    firsts = firsts.reindex(columns=range(len(STAGES)))
    # reached S at the earliest entry of S or any later stage: reverse fill, cumulative min
    reach = firsts.iloc[:, ::-1].ffill(axis=1).cummin(axis=1).iloc[:, ::-1]
    reach.columns = list(STAGES)
    any_change = changes.groupby("lead_id")["changed_at"].min()
    created = leads.set_index("lead_id")["created_at"]
    reach = reach.reindex(created.index)
    reach["lead"] = np.minimum(created, any_change.reindex(created.index).fillna(created))
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    out: dict[str, tuple[int, int]] = {}
    for s in STAGES:
        out[s] = (int(((reach[s] >= lo) & (reach[s] < hi)).sum()), 0)
    for s, t in [*zip(STAGES, STAGES[1:], strict=False), ("mql", "customer")]:
        cohort = (reach[s] >= lo) & (reach[s] < hi)
        out[f"{s}_to_{t}"] = (int((cohort & reach[t].notna()).sum()), int(cohort.sum()))
    return out


def run(ctx: Context) -> None:
    """Print cold/warm times per analysis function and the DuckDB/pandas ratio."""
    if not ctx.db.exists():
        print(f"no database {ctx.db}: run the generate section first")
        return
    con = store.connect_read_only(ctx.db)
    as_of = flt.data_as_of(con)
    end = as_of.date()
    f = flt.Filters(start=end - timedelta(days=365), end=end)
    month = flt.Filters(start=date(end.year, end.month, 1) - timedelta(days=31), end=end)
    calls = {
        "filter_options": lambda: flt.filter_options(con),
        "period_volumes (month)": lambda: funnel.period_volumes(con, f, "month"),
        "stage_conversion": lambda: funnel.stage_conversion(con, f),
        "step_conversions": lambda: funnel.step_conversions(con, f),
        "cohort_conversion mql->sql 30d": lambda: funnel.cohort_conversion(
            con, f, "mql", "sql", window_days=30
        ),
        "cohort_matrix": lambda: funnel.cohort_matrix(con, f),
        "velocity mql->sql": lambda: funnel.velocity(con, f, "mql", "sql"),
        "breakdown by source": lambda: funnel.breakdown(con, f, "source"),
        "response_times": lambda: sla.response_times(con, f),
        "response_curve (SLA page)": lambda: sla.response_curve(con, f),
        "sla_compliance by team x month": lambda: sla.sla_compliance(con, f, by=("team", "month")),
        "breach_queue": lambda: sla.breach_queue(con, as_of, f),
        "breach_queue 30 d, top 500 (page)": lambda: sla.breach_queue(
            con, as_of, f, max_age_days=30, limit=500
        ),
        "breach_count (SLA page)": lambda: sla.breach_count(con, as_of, f),
        "speed_to_lead": lambda: sla.speed_to_lead(con, f),
        "disposition_mix by source": lambda: rejections.disposition_mix(con, f, by="source"),
        "reason_pareto": lambda: rejections.reason_pareto(con, f),
        "recycle_summary": lambda: rejections.recycle_summary(con, f),
        "headline (last month)": lambda: metrics.headline(con, month.start, month.end),
    }
    fresh = journey.is_fresh(con)
    print(f"journey tables fresh: {fresh}")
    print(f"{'function':<34} {'direct cold':>11} {'warm':>7} {'journey cold':>12} {'warm':>7}")
    for name, fn in calls.items():
        with journey.direct():
            cold, warm = timed(fn, repeat=3)
        with journey.reading(con, fresh=fresh):
            j_cold, j_warm = timed(fn, repeat=3)
        print(f"{name:<34} {cold:11.3f} {warm:7.3f} {j_cold:12.3f} {j_warm:7.3f}")

    t0 = time.perf_counter()
    leads = con.execute("SELECT lead_id, created_at FROM leads").df()
    changes = con.execute("SELECT lead_id, stage, changed_at FROM stage_changes").df()
    load = time.perf_counter() - t0

    # The DuckDB path behind `handoff metrics`: volumes and step conversions in one query.
    def numbers():
        return metrics._funnel_numbers(con, f, None, as_of)

    with journey.direct():
        ours = numbers().iloc[0]
        _, duck = timed(numbers)
    with journey.reading(con, fresh=fresh):
        derived = numbers().iloc[0]
        _, duck_j = timed(numbers)
    t0 = time.perf_counter()
    plain = pandas_headline_funnel(leads, changes, f.start, f.end)
    pandas_s = time.perf_counter() - t0
    pairs = list(metrics.PAIRS)
    same = all(plain[s][0] == int(ours[f"v_{s}"]) for s in STAGES) and all(
        plain[f"{s}_to_{t}"][0] == int(ours[f"k{pairs.index((s, t))}"])
        for s, t in [*zip(STAGES, STAGES[1:], strict=False), ("mql", "customer")]
    )
    same = same and ours.equals(derived)
    print(
        f"\nheadline funnel numbers (volumes + step conversions, 12 months): DuckDB direct "
        f"{duck:.3f} s, journey {duck_j:.3f} s, pandas {pandas_s:.3f} s compute + {load:.3f} s "
        f"load -> journey is {pandas_s / duck_j:.1f}x faster than pandas (compute only), "
        f"{(pandas_s + load) / duck_j:.1f}x with loading (direct: {pandas_s / duck:.1f}x, "
        f"{(pandas_s + load) / duck:.1f}x); numbers {'match' if same else 'DIFFER'}"
    )
