"""Opportunities: SQL stages, deals, their amounts, AE activities and closing stages."""

from __future__ import annotations

import numpy as np

from analysis.demo.arrays import DAY, _lognormal, _sigmoid, _World
from analysis.demo.handoffs import _business_add
from analysis.demo.rule import EMPLOYEES_THRESHOLD
from analysis.demo.sales import _ACT, DISPOSITION_CODES, _features_at, _History, _linear
from analysis.demo.world import TEAMS

OPPORTUNITY_MODEL: dict[str, float] = {
    "intercept": -0.8,
    "senior_title": 0.5,
    "employees_200plus": 0.5,
    "pricing_page": 0.4,
    "demo_request": 0.5,
    "bofu_download": 0.3,
    "target_industry": 0.3,
}
"""Log-odds of an accepted lead getting an opportunity (features at the handoff)."""
WIN_MODEL: dict[str, float] = {
    "intercept": -1.5,
    "senior_title": 0.4,
    "employees_200plus": 0.3,
    "demo_request": 0.5,
    "target_industry": 0.4,
    "case_study": 0.3,
}
"""Log-odds of an opportunity closing won (features at the handoff)."""
SEGMENTS: tuple[str, ...] = ("SMB", "Mid-market", "Enterprise")
SEGMENT_AMOUNT_MEDIAN = np.array([8_000.0, 30_000.0, 110_000.0])
SEGMENT_CYCLE_DAYS_MEDIAN = np.array([30.0, 60.0, 100.0])
LOST_REASONS: tuple[str, ...] = (
    "price",
    "competitor",
    "no_decision",
    "timing",
    "missing_feature",
    "champion_left",
)
LOST_REASON_SHARE = np.array([0.24, 0.22, 0.25, 0.12, 0.12, 0.05])


def _opportunities(
    world: _World, lead: dict, tp: dict, reps: dict, hist: _History, rounds: list[dict]
) -> None:
    """SQL stages, opportunities, AE activities and closing stages for accepted MQLs."""
    rng = world.rng
    accepted = DISPOSITION_CODES["accepted"]
    leads = np.concatenate([r["lead"][r["outcome"] == accepted] for r in rounds])
    decided = np.concatenate([r["decided"][r["outcome"] == accepted] for r in rounds])
    sdr = np.concatenate([r["rep"][r["outcome"] == accepted] for r in rounds])
    tpi = np.concatenate([r["tp_index"][r["outcome"] == accepted] for r in rounds])
    m = len(leads)
    skip = rng.random(m) < 0.03  # mql -> opportunity without an sql row
    hist.stage(leads[~skip], "sql", decided[~skip])
    feats = _features_at(lead, tp, leads, tpi)
    p_opp = _sigmoid(_linear(OPPORTUNITY_MODEL, feats, m))
    has_opp = skip | (rng.random(m) < p_opp)
    # The AE of the SDR's team takes the deal.
    ae = np.empty(m, dtype=np.int64)
    team = reps["team"][sdr]
    for k in range(len(TEAMS)):
        pool = np.flatnonzero((reps["role"] == "ae") & (reps["team"] == k))
        sel = team == k
        ae[sel] = pool[rng.integers(0, len(pool), int(sel.sum()))]
    wait = np.where(skip, _lognormal(rng, 60.0, 0.8, m), _lognormal(rng, 1400.0, 0.9, m))
    created = _business_add(decided, wait, ae, reps)
    created = np.maximum(created, decided + 60)
    opened = has_opp & (created < world.cutoff_s)
    # SQLs without an opportunity: most are disqualified a few weeks later.
    no_opp = ~has_opp & ~skip
    drop = no_opp & (rng.random(m) < 0.55)
    later = decided + (_lognormal(rng, 25.0, 0.6, m) * DAY).astype(np.int64)
    hist.stage(leads[drop], "disqualified", later[drop])

    o = np.flatnonzero(opened)
    o = o[np.argsort(created[o], kind="stable")]
    lo, co, ao = leads[o], created[o], ae[o]
    k = len(o)
    emp = lead["employees"][lo]
    seg = np.where(emp >= 1000, 2, np.where(emp >= EMPLOYEES_THRESHOLD, 1, 0))
    amount = np.round(_lognormal(rng, SEGMENT_AMOUNT_MEDIAN[seg], 0.5, k), -2)
    cycle = _lognormal(rng, SEGMENT_CYCLE_DAYS_MEDIAN[seg], 0.6, k)
    closed = co + np.maximum(cycle * DAY, 3 * DAY).astype(np.int64)
    fo = {name: v[o] for name, v in feats.items()}
    won = rng.random(k) < _sigmoid(_linear(WIN_MODEL, fo, k))
    is_closed = closed < world.cutoff_s
    # Codes index OPPORTUNITY_OUTCOMES: 0 open, 1 won, 2 lost.
    outcome = np.where(is_closed, np.where(won, 1, 2), 0)
    lost = outcome == 2
    lost_reason = np.where(lost, rng.choice(len(LOST_REASONS), k, p=LOST_REASON_SHARE), -1)
    hist.stage(lo, "opportunity", co)
    hist.act(lo, ao, co, _ACT["meeting"])
    demo_t = _business_add(co, _lognormal(rng, 900.0, 0.8, k), ao, reps)
    demo_t = np.maximum(demo_t, co + 60)
    show = demo_t < np.where(is_closed, closed, world.cutoff_s)
    hist.act(lo[show], ao[show], demo_t[show], _ACT["demo"])
    hist.stage(lo[outcome == 1], "customer", closed[outcome == 1])
    after = rng.random(k)
    hist.stage(lo[lost & (after < 0.45)], "nurture", closed[lost & (after < 0.45)])
    back = lost & (after >= 0.45) & (after < 0.7)
    hist.stage(lo[back], "disqualified", closed[back])
    hist.opps = {
        "lead": lo,
        "created": co,
        "amount": amount,
        "closed": np.where(is_closed, closed, -1),
        "outcome": outcome,
        "lost_reason": lost_reason,
        "ae": ao,
        "segment": seg,
    }
