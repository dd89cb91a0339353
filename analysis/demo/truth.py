"""The planted truth: every number the generator planted, as a JSON-ready dictionary."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np

from analysis.demo.arrays import _month_index, _World
from analysis.demo.opportunities import OPPORTUNITY_MODEL, WIN_MODEL
from analysis.demo.rule import DEMO_RULE, FEATURE_DEFINITIONS
from analysis.demo.sales import (
    ACCEPTANCE_MODEL,
    BAD_DATA_SHARE,
    DISPOSITION_CODES,
    REASON_PROBS,
    REASONS,
    _History,
    _reason_group,
)
from analysis.demo.world import DECEMBER_DIP, SOURCES, TEAMS, TEAMS_INDEX

RESPONSE_BUCKETS = (0.0, 5.0, 15.0, 60.0, 240.0, 1440.0, 4320.0, np.inf)
RESPONSE_BUCKET_LABELS = ("0-5m", "5-15m", "15-60m", "1-4h", "4-24h", "1-3d", "3d+")


def _truth(
    world: _World,
    seed: int,
    end: date,
    cutoff: datetime,
    start: date,
    counts: dict[str, int],
    lead: dict,
    reps: dict,
    hist: _History,
) -> dict:
    """The planted truth as a JSON-serialisable dictionary."""
    r1 = hist.rounds[0]
    mix, expected = _reason_mix(lead, hist)
    return {
        "seed": seed,
        "end": end.isoformat(),
        "start": start.isoformat(),
        "cutoff": cutoff.isoformat(sep=" "),
        "months": world.months,
        "counts": counts,
        "rule": DEMO_RULE,
        "feature_definitions": FEATURE_DEFINITIONS,
        "acceptance_model": {
            "outcome": "disposition outcome 'accepted' of a contacted MQL (first round)",
            "coefficients": ACCEPTANCE_MODEL,
            "features": "rule features (0/1) at the handoff time, "
            "student_or_job_seeker_title (Student/Intern/Job Seeker/... titles), "
            "log1p_response_minutes = log(1 + wall-clock minutes to first sales activity)",
            "bad_data_share": BAD_DATA_SHARE,
        },
        "opportunity_model": OPPORTUNITY_MODEL,
        "win_model": WIN_MODEL,
        "speed_to_lead": _speed_to_lead(r1),
        "sla_breach": _sla_breach(world, reps, r1),
        "rejection_reason_mix": mix,
        "rejection_reason_expected": expected,
        "december_dip_factor": DECEMBER_DIP,
        "december_ratio_observed": _december_ratios(lead),
        "dirty": lead["dirty"],
        "funnel": {
            "mql_handoffs": len(r1["lead"]),
            "hot_handoffs": int(r1["hot"].sum()),
            "recycled_mqls": hist.recycled,
            "never_contacted": int((r1["first_touch"] < 0).sum()),
            "accepted": int(sum((r["outcome"] == 0).sum() for r in hist.rounds)),
            "opportunities": int(len(hist.opps["lead"])),
            "won": int((hist.opps["outcome"] == 1).sum()),
        },
        "teams": [
            {"team": t[0], "territory": t[1], "reps": int((reps["team"] == i).sum())}
            for i, t in enumerate(TEAMS)
        ],
    }


def _median_response(r1: dict, sel: np.ndarray) -> float | None:
    """Median first-round response minutes of the selected handoffs (None when none)."""
    return round(float(np.median(r1["response_minutes"][sel])), 1) if sel.any() else None


def _odds_ratio(minutes: float, versus: float) -> float:
    """Planted odds ratio of acceptance, first touch after ``minutes`` vs after ``versus``."""
    coef = ACCEPTANCE_MODEL["log1p_response_minutes"]
    return round(float(np.exp(coef * (np.log1p(minutes) - np.log1p(versus)))), 3)


def _speed_to_lead(r1: dict) -> dict:
    """Planted speed-to-lead effect and, as it came out, acceptance by response bucket."""
    disposed = r1["outcome"] >= 0
    resp = r1["response_minutes"][disposed]
    acc = r1["outcome"][disposed] == DISPOSITION_CODES["accepted"]
    bucket = np.digitize(resp, RESPONSE_BUCKETS[1:-1], right=False)
    curve = {}
    for b, label in enumerate(RESPONSE_BUCKET_LABELS):
        sel = bucket == b
        curve[label] = {
            "mqls": int(sel.sum()),
            "accepted_share": round(float(acc[sel].mean()), 4) if sel.any() else None,
        }
    touched = r1["first_touch"] >= 0
    return {
        "coefficient_log1p_minutes": ACCEPTANCE_MODEL["log1p_response_minutes"],
        "odds_ratio_5_vs_30_minutes": _odds_ratio(5, 30),
        "odds_ratio_5_minutes_vs_1_day": _odds_ratio(5, 1440),
        "observed_acceptance_by_response": curve,
        "median_response_minutes": {
            "hot": _median_response(r1, touched & r1["hot"]),
            "standard": _median_response(r1, touched & ~r1["hot"]),
        },
    }


def _sla_breach(world: _World, reps: dict, r1: dict) -> dict:
    """Breach team and months; its median first response inside vs outside the breach."""
    team = reps["team"][r1["rep"]]
    touched = r1["first_touch"] >= 0
    in_team = team == TEAMS_INDEX[world.breach_team]
    return {
        "team": world.breach_team,
        "months": world.breach_months,
        "median_response_minutes_in_breach": _median_response(r1, touched & in_team & r1["breach"]),
        "median_response_minutes_team_otherwise": _median_response(
            r1, touched & in_team & ~r1["breach"]
        ),
    }


def _reason_mix(lead: dict, hist: _History) -> tuple[dict, dict]:
    """Rejection reason mix per source (rejected and nurtured dispositions), drawn and planted.

    The planted mix is the probabilities behind those draws, averaged over the same
    dispositions.
    """
    d = hist.dispositions
    src = lead["source"][d["lead"].astype(np.int64)]
    sel = (d["outcome"] == DISPOSITION_CODES["rejected"]) | (
        d["outcome"] == DISPOSITION_CODES["nurture"]
    )
    mix, expected = {}, {}
    for s, name in enumerate(SOURCES):
        here = sel & (src == s)
        r = d["reason"][here]
        total = len(r)
        mix[name] = {
            reason: round(float((r == i).sum() / total), 4) if total else 0.0
            for i, reason in enumerate(REASONS)
        }
        probs = REASON_PROBS[_reason_group(lead, d["lead"][here].astype(np.int64))]
        mean = probs.mean(axis=0) if total else np.zeros(len(REASONS))
        expected[name] = {reason: round(float(mean[i]), 4) for i, reason in enumerate(REASONS)}
    return mix, expected


def _december_ratios(lead: dict) -> list[float]:
    """December dip as observed: December leads vs the mean of its two neighbour months."""
    cm = _month_index(lead["created"])
    observed = []
    for m in np.unique(cm):
        if m % 12 == 11 and (m - 1) in cm and (m + 1) in cm:
            observed.append(
                float((cm == m).sum() / (((cm == m - 1).sum() + (cm == m + 1).sum()) / 2))
            )
    return [round(x, 3) for x in observed]
