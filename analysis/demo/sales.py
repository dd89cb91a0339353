"""Sales rounds: first touch, attempts, dispositions, reasons and recycling."""

from __future__ import annotations

import numpy as np

from analysis import store
from analysis.demo.arrays import DAY, _draw, _lognormal, _month_index, _sigmoid, _World
from analysis.demo.handoffs import _business_add
from analysis.demo.rule import EMPLOYEES_THRESHOLD, ENGAGEMENT_FEATURES, FIT_FEATURES
from analysis.demo.touchpoints import _K
from analysis.demo.world import (
    BREACH_CANDIDATES,
    BREACH_MONTHS,
    SOURCES,
    TEAMS_INDEX,
    TITLE_CLASSES,
)

ACCEPTANCE_MODEL: dict[str, float] = {
    "intercept": -1.0,
    "senior_title": 0.9,
    "employees_200plus": 0.7,
    "corporate_email": 0.6,
    "target_region": 0.3,
    "target_industry": 0.5,
    "pricing_page": 0.6,
    "demo_request": 1.0,
    "careers_only": -1.2,
    "blog_over_hour": 0.1,
    "case_study": 0.35,
    "mofu_download": 0.2,
    "bofu_download": 0.6,
    "webinar": 0.3,
    "email_click": 0.15,
    "student_or_job_seeker_title": -2.5,
    "log1p_response_minutes": -0.3,
}
"""True log-odds coefficients of sales accepting a contacted MQL (outcome 'accepted').

Features are 0/1 values at the handoff time; ``log1p_response_minutes`` is
``log(1 + wall-clock minutes from handoff to first sales activity)``. A further 3% of
contacted MQLs are disposed as ``bad_data`` regardless of the model."""


REASONS = store.REJECTION_REASONS
REASON_BASE = {
    "no_budget": 0.18,
    "not_decision_maker": 0.15,
    "no_need": 0.20,
    "bad_timing": 0.18,
    "competitor": 0.08,
    "student_or_job_seeker": 0.02,
    "duplicate": 0.0,
    "wrong_contact_data": 0.0,
    "existing_customer": 0.04,
    "other": 0.08,
}
NURTURE_SHARE_BY_REASON = {
    "no_budget": 0.5,
    "not_decision_maker": 0.3,
    "no_need": 0.4,
    "bad_timing": 0.8,
    "competitor": 0.1,
    "existing_customer": 0.05,
    "other": 0.2,
}
"""Share of non-accepted dispositions with this reason that go to 'nurture' (else 'rejected')."""
BAD_DATA_SHARE = 0.03
NOTES: dict[str, tuple[str, ...]] = {
    "accepted": ("Budget and timeline confirmed", "Discovery call booked", "Wants a demo"),
    "no_budget": ("No budget until next fiscal year", "Budget frozen this quarter"),
    "not_decision_maker": ("Researching for their manager", "Not the buyer, referred us on"),
    "no_need": ("Happy with current process", "Was just browsing"),
    "bad_timing": ("Revisit next quarter", "Mid-migration, call back in six months"),
    "competitor": ("Signed with a competitor last month", "Evaluating a competitor"),
    "student_or_job_seeker": ("Student project", "Looking for a job, not a buyer"),
    "duplicate": ("Duplicate of an existing lead",),
    "wrong_contact_data": ("Phone number invalid", "Email bounced"),
    "existing_customer": ("Already a customer, passed to account management",),
    "other": ("No response after several attempts", "Partner conflict"),
}  # fmt: skip


STAGE_CODES: tuple[str, ...] = store.STAGES + store.SIDE_STAGES
SOURCE_SYSTEMS: tuple[str, ...] = ("marketing_automation", "crm")


class _History:
    """Row arrays of the sales-side tables, filled round by round."""

    def __init__(self, cutoff_s: int) -> None:
        self.cutoff_s = cutoff_s
        self.stages: list[tuple] = []  # (lead, stage code, t, system code)
        self.acts: list[tuple] = []  # (lead, rep, t, kind code)
        self.disps: list[tuple] = []  # (lead, rep, t, outcome code, reason code, note code)
        self.owner: np.ndarray | None = None
        self.activities: dict[str, np.ndarray] = {}
        self.dispositions: dict[str, np.ndarray] = {}
        self.opps: dict[str, np.ndarray] = {}
        self.rounds: list[dict[str, np.ndarray]] = []
        self.recycled = 0

    def stage(self, leads, stage: str, t, system: str = "crm") -> None:
        """Record stage changes, dropping those at or after the cut-off."""
        keep = np.asarray(t) < self.cutoff_s
        leads, t = np.asarray(leads)[keep], np.asarray(t)[keep]
        self.stages.append(
            (
                leads,
                np.full(len(leads), STAGE_CODES.index(stage), dtype=np.int8),
                t,
                np.full(len(leads), SOURCE_SYSTEMS.index(system), dtype=np.int8),
            )
        )

    def act(self, leads, rep, t, kind) -> None:
        """Record sales activities, dropping those at or after the cut-off."""
        keep = np.asarray(t) < self.cutoff_s
        self.acts.append(
            (
                np.asarray(leads)[keep],
                np.asarray(rep)[keep],
                np.asarray(t)[keep],
                np.broadcast_to(np.asarray(kind, dtype=np.int8), keep.shape)[keep],
            )
        )


def _note_labels() -> tuple[list[str], dict[str, np.ndarray]]:
    labels: list[str] = []
    codes: dict[str, np.ndarray] = {}
    for key, texts in NOTES.items():
        codes[key] = np.arange(len(labels), len(labels) + len(texts))
        labels.extend(texts)
    return labels, codes


_NOTE_LABELS, _NOTE_CODES = _note_labels()


def _features_at(lead: dict, tp: dict, leads: np.ndarray, tp_index: np.ndarray) -> dict:
    """0/1 rule features (and the student flag) of leads as of touchpoint ``tp_index``."""
    feats = {name: lead["fit"][name][leads].astype(float) for name in FIT_FEATURES}
    for name in ENGAGEMENT_FEATURES:
        feats[name] = tp["flags"][name][tp_index].astype(float)
    feats["student_or_job_seeker_title"] = lead["student"][leads].astype(float)
    return feats


def _linear(model: dict[str, float], feats: dict[str, np.ndarray], n: int) -> np.ndarray:
    out = np.full(n, model["intercept"])
    for name, coef in model.items():
        if name in feats:
            out = out + coef * feats[name]
    return out


def _breach_months(world: _World) -> list[int]:
    """Month indices (since 1970-01) of the planted SLA breach: 3 consecutive months."""
    first = int(_month_index(np.array([world.start_s]))[0])
    last = int(_month_index(np.array([world.cutoff_s - 1]))[0])
    span = last - first + 1
    if span <= BREACH_MONTHS:
        return list(range(first, last + 1))
    low = max(1, span // 3)
    high = max(low + 1, span - BREACH_MONTHS)  # the last breach month is not the newest
    begin = first + int(world.rng.integers(low, high))
    return list(range(begin, begin + BREACH_MONTHS))


def _sales(world: _World, lead: dict, tp: dict, reps: dict, mql: dict) -> _History:
    """Stage changes, sales activities and dispositions of every MQL, recycled ones included.

    Opportunities come next (:func:`analysis.demo.opportunities._opportunities`), then
    :func:`_collect` turns the recorded rows into arrays.
    """
    rng = world.rng
    hist = _History(world.cutoff_s)
    n = len(lead["created"])
    hist.stage(np.arange(n), "lead", lead["created"], "marketing_automation")
    owner = np.full(n, -1, dtype=np.int64)
    owner[mql["lead"]] = mql["rep"]
    hist.owner = owner

    breach_team = BREACH_CANDIDATES[int(rng.integers(0, len(BREACH_CANDIDATES)))]
    breach_months = _breach_months(world)
    world.breach_team = breach_team
    world.breach_months = [
        str(np.datetime64(m, "M")) for m in np.array(breach_months, dtype="datetime64[M]")
    ]
    world.breach_month_index = breach_months

    # Round 1: every first handoff.
    hist.stage(mql["lead"], "mql", mql["t"], "marketing_automation")
    r1 = _sales_round(world, lead, tp, reps, hist, mql, round_no=1)
    # Recycling: nurtured leads that re-engage 2+ weeks later become MQL again.
    nur = r1["outcome"] == DISPOSITION_CODES["nurture"]
    nl, nt = r1["lead"][nur], r1["decided"][nur]
    key = tp["lead"].astype(np.int64) * (1 << 40) + (tp["t"] - world.start_s)
    q = nl * (1 << 40) + (nt + 14 * DAY - world.start_s)
    posn = np.searchsorted(key, q, side="left")
    ok = posn < len(key)
    ok[ok] = tp["lead"][posn[ok]] == nl[ok]
    ok &= rng.random(len(nl)) < 0.8
    second = {
        "lead": nl[ok],
        "t": tp["t"][posn[ok]],
        "tp_index": posn[ok],
        "hot": tp["kind"][posn[ok]] == _K["demo_request"],
        "rep": owner[nl[ok]],
    }
    hist.stage(second["lead"], "mql", second["t"], "marketing_automation")
    r2 = _sales_round(world, lead, tp, reps, hist, second, round_no=2)
    hist.rounds = [r1, r2]
    hist.recycled = int(len(second["lead"]))
    return hist


DISPOSITION_CODES = {o: i for i, o in enumerate(store.DISPOSITION_OUTCOMES)}
_ACT = {k: i for i, k in enumerate(store.ACTIVITY_KINDS)}


def _sales_round(
    world: _World, lead: dict, tp: dict, reps: dict, hist: _History, h: dict, round_no: int
) -> dict[str, np.ndarray]:
    """One handoff round: first touch, attempts, disposition; returns the round's outcomes.

    Returned arrays (one per handoff): ``lead``, ``rep``, ``handoff``, ``first_touch``
    (seconds, -1 when never touched before the cut-off), ``response_minutes`` (NaN when not
    touched), ``decided`` (-1 when no disposition), ``outcome`` (index into
    DISPOSITION_OUTCOMES, -1 when none), ``tp_index``, ``hot``.
    """
    rng = world.rng
    m = len(h["lead"])
    leads, rep, t0, hot = h["lead"], h["rep"], h["t"], h["hot"]
    team = reps["team"][rep]
    month = _month_index(t0)
    breach = (team == TEAMS_INDEX[world.breach_team]) & np.isin(month, world.breach_month_index)
    never = rng.random(m) < (0.04 if round_no == 1 else 0.06)
    # The last week's queue: some fresh MQLs are simply not worked yet at the cut-off.
    queued = (t0 > world.cutoff_s - 7 * DAY) & (rng.random(m) < 0.2)
    median = np.where(hot, 4.0, 45.0) * reps["speed"][rep]
    median = np.where(breach, np.where(hot, 300.0, 1500.0), median)
    delay = np.maximum(_lognormal(rng, median, 1.1, m), 1.0)
    first = _business_add(t0, delay, rep, reps)
    touched = ~never & ~queued & (first < world.cutoff_s)
    resp = np.where(touched, (first - t0) / 60.0, np.nan)

    feats = _features_at(lead, tp, leads, h["tp_index"])
    feats["log1p_response_minutes"] = np.log1p(np.nan_to_num(resp))
    p_accept = _sigmoid(_linear(ACCEPTANCE_MODEL, feats, m))
    accepted = rng.random(m) < p_accept
    dup = lead["is_dup"][leads]
    bad = (rng.random(m) < BAD_DATA_SHARE) | (dup & (rng.random(m) < 0.8))
    accepted &= ~bad

    last = _attempts(rng, hist, reps, leads, rep, first, touched, accepted)
    decided = _business_add(last, np.maximum(_lognormal(rng, 45.0, 1.0, m), 1.0), rep, reps)
    decided = np.maximum(decided, last + 60)
    disposed = touched & (decided < world.cutoff_s)

    outcome, reason, note = _dispositions(rng, lead, leads, disposed, accepted, bad, round_no)
    d = np.flatnonzero(disposed)
    hist.disps.append((leads[d], rep[d], decided[d], outcome[d], reason[d], note[d]))
    to_stage = {
        DISPOSITION_CODES["rejected"]: "disqualified",
        DISPOSITION_CODES["bad_data"]: "disqualified",
        DISPOSITION_CODES["nurture"]: "nurture",
    }
    for code, stage in to_stage.items():
        sel = disposed & (outcome == code)
        hist.stage(leads[sel], stage, decided[sel])
    return {
        "lead": leads,
        "rep": rep,
        "handoff": t0,
        "first_touch": np.where(touched, first, -1),
        "response_minutes": resp,
        "decided": np.where(disposed, decided, -1),
        "outcome": outcome,
        "tp_index": h["tp_index"],
        "hot": hot,
        "breach": breach,
        "p_accept": p_accept,
    }


def _attempts(
    rng: np.random.Generator,
    hist: _History,
    reps: dict,
    leads: np.ndarray,
    rep: np.ndarray,
    first: np.ndarray,
    touched: np.ndarray,
    accepted: np.ndarray,
) -> np.ndarray:
    """Record the first touch, then 1-6 more attempts spread over working days.

    Returns the seconds of each handoff's last attempt (its first touch when untouched).
    """
    m = len(leads)
    kind_first = np.where(rng.random(m) < 0.55, _ACT["call"], _ACT["email"])
    hist.act(leads[touched], rep[touched], first[touched], kind_first[touched])
    more = 1 + rng.binomial(5, np.where(accepted, 0.15, 0.45))
    last = first.copy()
    for k in range(1, 7):
        doing = touched & (more >= k)
        gap = np.maximum(_lognormal(rng, 420.0, 0.9, m), 5.0)
        nxt = _business_add(last, gap, rep, reps)
        nxt = np.maximum(nxt, last + 60)
        kind = np.where(rng.random(m) < 0.55, _ACT["call"], _ACT["email"])
        kind = np.where(accepted & (more == k), _ACT["meeting"], kind)
        hist.act(leads[doing], rep[doing], nxt[doing], kind[doing])
        last = np.where(doing, nxt, last)
    return last


def _dispositions(
    rng: np.random.Generator,
    lead: dict,
    leads: np.ndarray,
    disposed: np.ndarray,
    accepted: np.ndarray,
    bad: np.ndarray,
    round_no: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcome, reason and note codes per handoff (-1 where none).

    Bad data is a duplicate or wrong contact data; other non-accepted MQLs get a reason
    drawn from :data:`REASON_PROBS` and go to nurture with that reason's share (halved in
    the second round), else are rejected; 40% of disposed MQLs carry a note.
    """
    m = len(leads)
    dup = lead["is_dup"][leads]
    outcome = np.full(m, -1, dtype=np.int64)
    reason = np.full(m, -1, dtype=np.int64)
    outcome[disposed & accepted] = DISPOSITION_CODES["accepted"]
    is_bad = disposed & bad
    outcome[is_bad] = DISPOSITION_CODES["bad_data"]
    reason[is_bad] = np.where(
        dup[is_bad] | (rng.random(int(is_bad.sum())) < 0.25),
        REASONS.index("duplicate"),
        REASONS.index("wrong_contact_data"),
    )
    other = disposed & ~accepted & ~bad
    oi = np.flatnonzero(other)
    reason[oi] = _draw(rng, _reason_group(lead, leads[oi]), REASON_PROBS)
    p_nurture = NURTURE_BY_CODE[reason[oi]]
    if round_no == 2:
        p_nurture = p_nurture * 0.5
    outcome[oi] = np.where(
        rng.random(len(oi)) < p_nurture, DISPOSITION_CODES["nurture"], DISPOSITION_CODES["rejected"]
    )
    note_key = np.where(outcome == DISPOSITION_CODES["accepted"], 0, reason + 1)
    note = np.full(m, -1, dtype=np.int64)
    has_note = disposed & (rng.random(m) < 0.4)
    note_first = np.array([_NOTE_CODES["accepted"][0]] + [_NOTE_CODES[r][0] for r in REASONS])
    note_count = np.array([len(NOTES["accepted"])] + [len(NOTES[r]) for r in REASONS])
    pick = np.floor(rng.random(m) * note_count[note_key]).astype(np.int64)
    note[has_note] = (note_first[note_key] + pick)[has_note]
    return outcome, reason, note


def _reason_table() -> tuple[np.ndarray, np.ndarray]:
    """Reason probabilities per group (source x company size x title group x interest)."""
    base = np.array([REASON_BASE[r] for r in REASONS])
    table = np.zeros((len(SOURCES), 3, 3, 2, len(REASONS)))
    ri = {r: i for i, r in enumerate(REASONS)}
    for s, source in enumerate(SOURCES):
        for size in range(3):  # 0 under 50 employees, 1 50-199, 2 200 and more
            for tg in range(3):  # 0 senior, 1 junior, 2 student or job seeker
                for low in range(2):
                    w = base.copy()
                    w[ri["no_budget"]] *= (3.0, 1.0, 0.6)[size]
                    w[ri["not_decision_maker"]] *= (0.4, 3.0, 1.0)[tg]
                    if tg == 2:
                        w[ri["student_or_job_seeker"]] *= 40.0
                    if low:
                        w[ri["no_need"]] *= 1.6
                        w[ri["bad_timing"]] *= 1.3
                    if source == "paid_social":  # lead-gen forms filled in by anyone
                        w[ri["student_or_job_seeker"]] *= 30.0
                        w[ri["no_need"]] *= 1.3
                    if source == "events":
                        w[ri["bad_timing"]] *= 1.4
                    if source in ("referral", "partner"):
                        w[ri["existing_customer"]] *= 2.0
                        w[ri["competitor"]] *= 1.3
                    if source == "paid_search":
                        w[ri["competitor"]] *= 1.6
                    table[s, size, tg, low] = w / w.sum()
    nurture = np.array([NURTURE_SHARE_BY_REASON.get(r, 0.0) for r in REASONS])
    return table.reshape(-1, len(REASONS)), nurture


REASON_PROBS, NURTURE_BY_CODE = _reason_table()


def _reason_group(lead: dict, leads: np.ndarray) -> np.ndarray:
    """Row of :data:`REASON_PROBS` for each lead: source, size, title group, low interest."""
    emp = lead["employees"][leads]
    size = np.where(emp < 50, 0, np.where(emp < EMPLOYEES_THRESHOLD, 1, 2))
    tclass = lead["tclass"][leads]
    tg = np.where(lead["student"][leads], 2, np.where(tclass <= TITLE_CLASSES.index("head"), 0, 1))
    low = (lead["interest"][leads] < 0).astype(np.int64)
    src = lead["source"][leads].astype(np.int64)
    return ((src * 3 + size) * 3 + tg) * 2 + low


def _collect(hist: _History) -> None:
    """Concatenate the per-round row lists into arrays."""

    def cat(parts, names):
        if not parts:
            return {n: np.array([]) for n in names}
        return {n: np.concatenate([p[i] for p in parts]) for i, n in enumerate(names)}

    hist.stage_rows = cat(hist.stages, ("lead", "stage", "t", "system"))
    hist.activities = cat(hist.acts, ("lead", "rep", "t", "kind"))
    hist.dispositions = cat(hist.disps, ("lead", "rep", "t", "outcome", "reason", "note"))
