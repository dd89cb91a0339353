"""Touchpoints: each lead's stream of marketing engagement events."""

from __future__ import annotations

import numpy as np

from analysis import store
from analysis.demo.arrays import (
    DAY,
    _draw,
    _group_cumsum,
    _lognormal,
    _sigmoid,
    _softmax,
    _World,
)
from analysis.demo.world import (
    EMAIL_CAMPAIGN_SHARE,
    EMAIL_CAMPAIGNS,
    PAGE_SECONDS_MEDIAN,
    REGION_UTC_OFFSET_HOURS,
    SOURCES,
    TOUCH_DETAILS,
)

_KINDS = store.TOUCHPOINT_KINDS
_K = {k: i for i, k in enumerate(_KINDS)}
_Z_BINS = 20
_DETAIL_LABELS: tuple[str, ...] = (
    *TOUCH_DETAILS["page_view"],
    *TOUCH_DETAILS["content_download"],
    *TOUCH_DETAILS["form_submit"],
    *EMAIL_CAMPAIGNS,
    "attended",
    "form",
)
_DETAILS = {label: i for i, label in enumerate(_DETAIL_LABELS)}


def _zbin(z: np.ndarray) -> np.ndarray:
    return np.clip(((z + 3.0) / 6.0 * _Z_BINS).astype(np.int64), 0, _Z_BINS - 1)


def _zcenters() -> np.ndarray:
    return -3.0 + (np.arange(_Z_BINS) + 0.5) * 6.0 / _Z_BINS


def _make_touchpoints(world: _World, lead: dict) -> dict[str, np.ndarray]:
    """Touchpoint stream per lead, laid out lead by lead in time order.

    Returns arrays ``lead`` (int32 lead index), ``t`` (seconds), ``kind`` (index into
    TOUCHPOINT_KINDS), ``detail`` (index into :data:`_DETAIL_LABELS`, -1 for none) and
    ``value`` (seconds on page for page views, NaN otherwise). The steps draw from
    ``world.rng`` in a fixed order (counts, times, creating conversions, the stream's
    kinds, details): reordering them changes every table.
    """
    rng = world.rng
    n = len(lead["created"])
    z = lead["interest"]
    persona = lead["student"].astype(np.int64)
    src = lead["source"].astype(np.int64)
    extra = rng.poisson(np.exp(np.log(6.5) + 0.35 * z - 0.5 * persona))
    extra = np.minimum(extra, 60)
    counts = 1 + extra
    total = int(counts.sum())
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    owner = np.repeat(np.arange(n, dtype=np.int32), counts)
    pos = np.arange(total) - np.repeat(starts, counts)
    first = pos == 0
    t = _touch_times(world, lead, extra, owner, starts, counts, first)
    t[first] = lead["created"]

    # Kinds: creating conversion first, then a stream leaning to buying signals with interest.
    zb = _zbin(z)
    kind = np.empty(total, dtype=np.int16)
    detail = np.full(total, -1, dtype=np.int16)
    lead_first = _creating_conversions(rng, (src * _Z_BINS + zb) * 2 + persona)
    kind[first] = _CREATE_KIND[lead_first]
    detail[first] = _CREATE_DETAIL[lead_first]
    ro = owner[~first]
    is_email_src = (src == SOURCES.index("email")).astype(np.int64)
    kind[~first] = _stream_kinds(rng, (zb[ro] * 2 + persona[ro]) * 2 + is_email_src[ro])
    value = _details(rng, z, zb, persona, owner, first, kind, detail)

    keep = t < world.cutoff_s
    return {
        "lead": owner[keep],
        "t": t[keep],
        "kind": kind[keep],
        "detail": detail[keep],
        "value": value[keep],
    }


def _touch_times(
    world: _World,
    lead: dict,
    extra: np.ndarray,
    owner: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    first: np.ndarray,
) -> np.ndarray:
    """Seconds of every touchpoint (the creating one is set by the caller).

    Sessions of quick page views, separated by gaps of days, laid out on the activity clock
    of the lead's region (busy on weekdays in the daytime, quiet otherwise).
    """
    rng = world.rng
    n, total = len(extra), len(owner)
    horizon = _lognormal(rng, 40.0, 0.9, n) * DAY
    mean_gap = horizon / np.maximum(extra * 0.6, 1.0)
    in_session = rng.random(total) < 0.4
    gap = np.where(
        in_session,
        _lognormal(rng, 90.0, 0.8, total),
        rng.exponential(1.0, total) * mean_gap[owner],
    )
    gap = np.ceil(gap) + 3  # >= 3 activity seconds, i.e. > 1 calendar second apart
    gap[first] = 0
    offset = _group_cumsum(gap, starts, counts)
    t = np.empty(total, dtype=np.int64)
    grid, clocks = _activity_clocks(world)
    region = lead["region"][owner]
    for r, clock in enumerate(clocks):
        m = region == r
        a = np.interp(lead["created"][owner[m]], grid, clock) + offset[m]
        cal = np.interp(a, clock, grid, right=np.inf)
        t[m] = np.where(np.isfinite(cal), np.floor(np.minimum(cal, 2.0**62)), world.cutoff_s)
    return t


_CREATE_KIND = np.array(
    [_K["form_submit"], _K["form_submit"], _K["content_download"], _K["content_download"]]
    + [_K["webinar"], _K["demo_request"], _K["chat"]]
)
"""Kind of each creating conversion (newsletter, contact, tofu, mofu, webinar, demo, chat)."""
_CREATE_DETAIL = np.array(
    [
        _DETAILS["newsletter"],
        _DETAILS["contact"],
        _DETAILS["tofu"],
        _DETAILS["mofu"],
        _DETAILS["attended"],
        _DETAILS["form"],
        -1,
    ]
)
"""Detail of each creating conversion (-1: none)."""


def _creating_conversions(rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    """The conversion that created each lead (index into :data:`_CREATE_KIND`).

    ``group`` is (source x interest bin) x persona, as :func:`_make_touchpoints` builds it.
    """
    zc = _zcenters()
    create_logit = np.array(
        [  # newsletter, contact, tofu, mofu, webinar, demo, chat
            [1.0, 0.0, 1.0, -0.5, -2.5, -3.2, -1.8],
            [-0.5, 0.8, 0.5, 0.0, -2.5, -2.0, -1.5],
            [-0.5, -1.0, 1.8, 0.2, -0.8, -4.0, -3.0],
            [-1.0, 0.0, 0.8, 0.8, 0.3, -2.8, -2.5],
            [-1.5, 1.5, -1.0, -1.0, 0.5, -2.5, -3.0],
            [-1.5, 1.5, -0.5, -0.5, -1.5, -1.5, -2.0],
            [-1.5, 1.5, -0.5, 0.0, -0.5, -2.0, -2.5],
            [0.0, 1.0, -0.5, -0.5, -2.0, -1.8, -1.0],
        ]
    )
    create_slope = np.array([0.0, 0.3, -0.1, 0.2, 0.1, 0.8, 0.2])
    create_persona = np.array([0.5, -1.0, 0.3, 0.0, 0.0, -3.0, -0.5])
    logits = (
        create_logit[:, None, None, :]
        + create_slope * zc[None, :, None, None]
        + create_persona * np.arange(2)[None, None, :, None]
    )
    probs = _softmax(logits).reshape(-1, 7)
    return _draw(rng, group, probs)


def _stream_kinds(rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    """Kind of every later touchpoint; ``group`` is (interest bin x persona) x email source."""
    zc = _zcenters()
    base = np.array([2.2, 0.2, 1.0, -0.2, -1.6, -1.8, -4.6, -3.0])
    slope = np.array([0.0, 0.15, 0.0, 0.3, 0.35, 0.2, 0.9, 0.4])
    email_src = np.array([0.0, 0.0, 0.7, 0.5, 0.0, 0.0, 0.0, 0.0])
    pers = np.array([0.8, 0.0, -0.3, -0.5, -1.0, 0.0, -3.0, -1.0])
    logits = (
        base
        + slope * zc[:, None, None, None]
        + pers * np.arange(2)[None, :, None, None]
        + email_src * np.arange(2)[None, None, :, None]
    )
    probs = _softmax(logits).reshape(-1, len(_KINDS))
    return _draw(rng, group, probs)


def _details(
    rng: np.random.Generator,
    z: np.ndarray,
    zb: np.ndarray,
    persona: np.ndarray,
    owner: np.ndarray,
    first: np.ndarray,
    kind: np.ndarray,
    detail: np.ndarray,
) -> np.ndarray:
    """Fill ``detail`` in place (pages, content stage, form, email campaign); return ``value``.

    ``value`` is the seconds on page of page views (blog readers differ), NaN otherwise.
    """
    zc = _zcenters()
    value = np.full(len(kind), np.nan)
    n = len(z)
    pv = kind == _K["page_view"]
    page_logit = np.array([-1.3, -1.6, -2.6, 0.5, 0.3, 0.4])
    page_slope = np.array([0.7, 0.5, -0.2, -0.1, 0.2, 0.0])
    page_pers = np.array([-2.0, -1.5, 4.0, 0.0, -0.5, 0.0])
    logits = page_logit + page_slope * zc[:, None, None] + page_pers * np.arange(2)[None, :, None]
    probs = _softmax(logits).reshape(-1, 6)
    pv_owner = owner[pv]
    page = _draw(rng, zb[pv_owner] * 2 + persona[pv_owner], probs)
    detail[pv] = _DETAILS["pricing"] + page
    reader = np.exp(0.7 * rng.standard_normal(n))
    median = PAGE_SECONDS_MEDIAN[page] * np.where(
        page == 3, reader[pv_owner], 1.0
    )  # blog readers differ
    value[pv] = np.maximum(np.round(_lognormal(rng, median, 0.9, int(pv.sum()))), 3.0)

    cd = (kind == _K["content_download"]) & ~first
    stage_logit = np.array([1.0, 0.0, -1.3]) + np.array([-0.3, 0.2, 0.6]) * zc[:, None]
    detail[cd] = _DETAILS["tofu"] + _draw(rng, zb[owner[cd]], _softmax(stage_logit))
    fs = (kind == _K["form_submit"]) & ~first
    p_contact = _sigmoid(-1.0 + 0.5 * z[owner[fs]])
    detail[fs] = np.where(
        rng.random(int(fs.sum())) < p_contact, _DETAILS["contact"], _DETAILS["newsletter"]
    )
    em = (kind == _K["email_open"]) | (kind == _K["email_click"])
    detail[em] = _DETAILS[EMAIL_CAMPAIGNS[0]] + rng.choice(
        len(EMAIL_CAMPAIGNS), int(em.sum()), p=EMAIL_CAMPAIGN_SHARE
    )
    detail[kind == _K["webinar"]] = _DETAILS["attended"]
    detail[kind == _K["demo_request"]] = _DETAILS["form"]
    return value


def _activity_clocks(world: _World) -> tuple[np.ndarray, list[np.ndarray]]:
    """Hour grid (UTC seconds) and, per region, cumulative activity seconds at each point.

    Leads are busier on weekdays between 08:00 and 19:00 their local time and quiet at
    night and at weekends. A clock maps calendar time to *activity* time (its slope is the
    hour's relative busyness, 1 on average), so gaps drawn in activity time and mapped back
    land mostly in busy hours while the order of events is kept.
    """
    first = world.start_s - world.start_s % 3600
    grid = np.arange(first, world.cutoff_s + 2 * 3600, 3600, dtype=np.int64)
    clocks = []
    for offset in REGION_UTC_OFFSET_HOURS:
        local = grid[:-1] + int(offset * 3600)
        hour = (local // 3600) % 24
        weekday = np.is_busday(np.floor_divide(local, DAY).astype("datetime64[D]"))
        daytime = (hour >= 8) & (hour < 19)
        w = np.where(weekday, np.where(daytime, 1.0, 0.15), np.where(daytime, 0.3, 0.05))
        w = w / w.mean()
        clocks.append(np.concatenate([[0.0], np.cumsum(w * 3600.0)]))
    return grid.astype(float), clocks
