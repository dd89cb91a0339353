"""Business time, the MQL decision (the rule crossing) and routing to an SDR."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.demo.arrays import DAY, _group_cumsum, _World
from analysis.demo.rule import (
    BLOG_SECONDS_THRESHOLD,
    DEMO_RULE,
    ENGAGEMENT_FEATURES,
    FIT_FEATURES,
)
from analysis.demo.touchpoints import _DETAILS, _K
from analysis.demo.world import REGIONS, TEAMS


def _to_local(t: np.ndarray, tz: np.ndarray, tz_names: list[str]) -> np.ndarray:
    """Local wall-clock seconds of UTC seconds ``t`` in each row's time zone."""
    out = np.empty(len(t), dtype=np.int64)
    for k, name in enumerate(tz_names):
        m = tz == k
        if m.any():
            idx = pd.DatetimeIndex(t[m].astype("datetime64[s]")).tz_localize("UTC")
            out[m] = idx.tz_convert(name).tz_localize(None).as_unit("s").asi8
    return out


def _to_utc(local: np.ndarray, tz: np.ndarray, tz_names: list[str]) -> np.ndarray:
    """UTC seconds of local wall-clock seconds in each row's time zone."""
    out = np.empty(len(local), dtype=np.int64)
    for k, name in enumerate(tz_names):
        m = tz == k
        if m.any():
            idx = pd.DatetimeIndex(local[m].astype("datetime64[s]")).tz_localize(
                name, ambiguous=np.zeros(int(m.sum()), dtype=bool), nonexistent="shift_forward"
            )
            out[m] = idx.tz_convert("UTC").tz_localize(None).as_unit("s").asi8
    return out


def _business_add(t: np.ndarray, minutes: np.ndarray, rep: np.ndarray, reps: dict) -> np.ndarray:
    """UTC seconds after working ``minutes`` of each rep's business time from ``t``.

    A moment outside the rep's working hours (evening, night, weekend) first moves to the
    next working morning in the rep's time zone; the minutes then run only during working
    hours, Monday to Friday. The result is never earlier than ``t``.
    """
    tz, ws, we = reps["tz"][rep], reps["ws"][rep], reps["we"][rep]
    local = _to_local(t, tz, reps["tz_names"])
    day = np.floor_divide(local, DAY)
    minute = (local - day * DAY) / 60.0
    dd = day.astype("datetime64[D]")
    bus = np.is_busday(dd)
    minute = np.where(bus & (minute < ws), ws, minute)
    after = ~bus | (minute >= we)
    dd = np.where(after, np.busday_offset(dd, bus.astype(np.int64), roll="forward"), dd)
    minute = np.where(after, ws, minute)
    length = we - ws
    pos = minute - ws + np.asarray(minutes, dtype=float)
    k = np.floor(pos / length)
    rem = pos - k * length
    dd2 = np.busday_offset(dd, k.astype(np.int64), roll="forward")
    local2 = dd2.astype(np.int64) * DAY + np.ceil((ws + rem) * 60).astype(np.int64)
    return np.maximum(_to_utc(local2, tz, reps["tz_names"]), t)


def _handoffs(world: _World, lead: dict, tp: dict, reps: dict) -> dict[str, np.ndarray]:
    """First MQL crossing per lead (vectorised rule scoring) and its routing to an SDR.

    Returns arrays ``lead``, ``t`` (handoff seconds), ``tp_index`` (the crossing
    touchpoint), ``hot`` (crossed on a demo request) and ``rep`` (owner SDR); the cumulative
    feature flags of every touchpoint are kept in ``tp['flags']`` for later rounds.
    """
    rng = world.rng
    who = tp["lead"]
    n = len(lead["created"])
    counts = np.bincount(who, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    kind, detail = tp["kind"], tp["detail"]
    pv = kind == _K["page_view"]
    cd = kind == _K["content_download"]

    def seen(mask: np.ndarray) -> np.ndarray:
        return _group_cumsum(mask.astype(np.int32), starts, counts) > 0

    n_pv = _group_cumsum(pv.astype(np.int32), starts, counts)
    n_careers = _group_cumsum(
        (pv & (detail == _DETAILS["careers"])).astype(np.int32), starts, counts
    )
    blog_s = np.where(pv & (detail == _DETAILS["blog"]), tp["value"], 0.0)
    flags = {
        "pricing_page": seen(pv & (detail == _DETAILS["pricing"])),
        "demo_request": seen(kind == _K["demo_request"]),
        "careers_only": (n_pv > 0) & (n_careers == n_pv),
        "blog_over_hour": _group_cumsum(blog_s, starts, counts) >= BLOG_SECONDS_THRESHOLD,
        "case_study": seen(pv & (detail == _DETAILS["case_study"])),
        "mofu_download": seen(cd & (detail == _DETAILS["mofu"])),
        "bofu_download": seen(cd & (detail == _DETAILS["bofu"])),
        "webinar": seen(kind == _K["webinar"]),
        "email_click": seen(kind == _K["email_click"]),
    }
    weights = DEMO_RULE["weights"]
    fit_points = np.zeros(n, dtype=np.int32)
    for name in FIT_FEATURES:
        fit_points += weights[name] * lead["fit"][name].astype(np.int32)
    score = fit_points[who].copy()
    for name in ENGAGEMENT_FEATURES:
        score += weights[name] * flags[name].astype(np.int32)
    qualifies = (score >= DEMO_RULE["threshold"]) | flags["demo_request"]
    idx = np.flatnonzero(qualifies)
    firsts = idx[np.r_[True, who[idx][1:] != who[idx][:-1]]] if len(idx) else idx
    tp["flags"] = flags
    tp["starts"], tp["counts"] = starts, counts
    tp["score"] = score
    lead["fit_points"] = fit_points

    mql_lead = who[firsts].astype(np.int64)
    hot = kind[firsts] == _K["demo_request"]
    rep = _route(rng, lead, reps, mql_lead)
    return {"lead": mql_lead, "t": tp["t"][firsts], "tp_index": firsts, "hot": hot, "rep": rep}


def _route(rng: np.random.Generator, lead: dict, reps: dict, leads: np.ndarray) -> np.ndarray:
    """Owner SDR per lead: a team covering the lead's region, a random SDR in it."""
    region = lead["region"][leads]
    team_region = np.array([REGIONS.index(t[1]) for t in TEAMS])
    team = np.empty(len(leads), dtype=np.int64)
    for r in range(len(REGIONS)):
        teams = np.flatnonzero(team_region == r)
        m = region == r
        share = np.array([TEAMS[i][2] for i in teams], dtype=float)
        team[m] = teams[rng.choice(len(teams), int(m.sum()), p=share / share.sum())]
    sdr = reps["role"] == "sdr"
    rep = np.empty(len(leads), dtype=np.int64)
    for k in range(len(TEAMS)):
        pool = np.flatnonzero(sdr & (reps["team"] == k))
        m = team == k
        rep[m] = pool[rng.integers(0, len(pool), int(m.sum()))]
    return rep
