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
    # Speed-to-lead as it came out: acceptance of first-round contacted MQLs by bucket.
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
    # Breach: median first response of the breach team inside vs outside the breach months.
    team = reps["team"][r1["rep"]]
    touched = r1["first_touch"] >= 0
    in_team = team == TEAMS_INDEX[world.breach_team]
    inside = touched & in_team & r1["breach"]
    outside = touched & in_team & ~r1["breach"]

    def med(sel: np.ndarray) -> float | None:
        return round(float(np.median(r1["response_minutes"][sel])), 1) if sel.any() else None

    # Rejection reason mix per source (non-accepted, non-bad-data dispositions).
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
        # The planted probabilities behind those draws, averaged over the same dispositions.
        probs = REASON_PROBS[_reason_group(lead, d["lead"][here].astype(np.int64))]
        mean = probs.mean(axis=0) if total else np.zeros(len(REASONS))
        expected[name] = {reason: round(float(mean[i]), 4) for i, reason in enumerate(REASONS)}
    # December dip as observed: December leads vs the mean of its neighbours.
    cm = _month_index(lead["created"])
    observed = []
    for m in np.unique(cm):
        if m % 12 == 11 and (m - 1) in cm and (m + 1) in cm:
            observed.append(
                float((cm == m).sum() / (((cm == m - 1).sum() + (cm == m + 1).sum()) / 2))
            )
    n_mql = len(r1["lead"])
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
        "speed_to_lead": {
            "coefficient_log1p_minutes": ACCEPTANCE_MODEL["log1p_response_minutes"],
            "odds_ratio_5_vs_30_minutes": round(
                float(
                    np.exp(
                        ACCEPTANCE_MODEL["log1p_response_minutes"] * (np.log1p(5) - np.log1p(30))
                    )
                ),
                3,
            ),
            "odds_ratio_5_minutes_vs_1_day": round(
                float(
                    np.exp(
                        ACCEPTANCE_MODEL["log1p_response_minutes"] * (np.log1p(5) - np.log1p(1440))
                    )
                ),
                3,
            ),
            "observed_acceptance_by_response": curve,
            "median_response_minutes": {
                "hot": med(touched & r1["hot"]),
                "standard": med(touched & ~r1["hot"]),
            },
        },
        "sla_breach": {
            "team": world.breach_team,
            "months": world.breach_months,
            "median_response_minutes_in_breach": med(inside),
            "median_response_minutes_team_otherwise": med(outside),
        },
        "rejection_reason_mix": mix,
        "rejection_reason_expected": expected,
        "december_dip_factor": DECEMBER_DIP,
        "december_ratio_observed": [round(x, 3) for x in observed],
        "dirty": lead["dirty"],
        "funnel": {
            "mql_handoffs": n_mql,
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
