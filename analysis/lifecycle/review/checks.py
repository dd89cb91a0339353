"""The four classic handoff health checks, each with its evidence and threshold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from analysis import stats
from analysis.definitions import data_as_of
from analysis.lifecycle import funnel, measurable, sla
from analysis.lifecycle.review.changes import decisions
from analysis.lifecycle.review.common import (
    DEFAULT_SETTINGS,
    DEFAULT_SLA_COMPLIANCE,
    ReviewSettings,
    add_months,
    month_end,
    month_filters,
    parse_month,
    pct,
)
from analysis.lifecycle.review.monthly import month_volumes
from analysis.lifecycle.review.targets import load_targets, target_value

# --------------------------------------------------------------------------------------
# Health checks
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """One number behind a health check: its label, value and unit.

    ``unit`` is ``count``, ``share`` (fraction 0-1), ``money``, ``ratio`` (a plain
    number such as MQLs per rep), ``p`` (a p-value) or ``text``.
    """

    label: str
    value: Any
    unit: str


@dataclass(frozen=True)
class HealthCheck:
    """One of the four classic handoff failures, checked for the month.

    Attributes
    ----------
    key : str
        ``sla``, ``not_sales_ready``, ``too_few_mqls`` or ``too_many_mqls``.
    name : str
        The failure in words ("MQLs not contacted within SLA").
    fired : bool
        True when the month shows the failure.
    assessed : bool
        False when a number or target the check needs is missing; then it cannot fire.
    evidence : tuple of Evidence
        The numbers the verdict rests on.
    threshold : float or None
        The threshold compared with (a share, or a count for MQL volumes).
    rule : str
        The firing rule in words.
    finding : str
        Plain-language finding for the meeting.
    """

    key: str
    name: str
    fired: bool
    assessed: bool
    evidence: tuple[Evidence, ...]
    threshold: float | None
    rule: str
    finding: str


def _below(k: int, n: int, threshold: float, beyond_noise: bool) -> bool:
    """Whether k/n is below ``threshold`` (its whole Wilson interval, when beyond_noise)."""
    if n == 0:
        return False
    if beyond_noise:
        _, high = stats.wilson_interval(k, n)
        return bool(high < threshold)
    return k / n < threshold


def check_sla(
    con: duckdb.DuckDBPyConnection,
    month: date,
    targets: pd.DataFrame,
    settings: ReviewSettings,
    as_of: datetime,
) -> HealthCheck:
    """MQLs not contacted within SLA: the month's compliance below the floor.

    Compliance is :func:`analysis.sla.sla_compliance` over the month's handoffs (all
    tiers, each on its own clock). The floor is ``settings.sla_min_compliance``, else the
    month's ``pct_contacted_in_sla`` target, else :data:`DEFAULT_SLA_COMPLIANCE`. The
    team with the lowest compliance (at least ``settings.min_team_handoffs`` decided
    handoffs) is named in the evidence.
    """
    name = "MQLs not contacted within SLA"
    avail = measurable.availability(con).sla
    if not avail.measurable:
        return HealthCheck("sla", name, False, False, (), None, "needs sales activities",
                           f"Not measurable: {avail.reason}")  # fmt: skip
    f = month_filters(month)
    overall = sla.sla_compliance(con, f, by=None, as_of=as_of)
    target = target_value(targets, month, "pct_contacted_in_sla")
    if settings.sla_min_compliance is not None:
        threshold, source = settings.sla_min_compliance, "settings"
    elif target is not None:
        threshold, source = target, "the month's target"
    else:
        threshold, source = DEFAULT_SLA_COMPLIANCE, "the default floor"
    noise = " and its 95% interval is entirely below it" if settings.beyond_noise else ""
    rule = f"fires when compliance is below {pct(threshold)} ({source}){noise}"
    if overall.empty or int(overall["n"].iloc[0]) == 0:
        return HealthCheck("sla", name, False, False, (), threshold, rule,
                           "No decided MQL handoffs this month: nothing to check.")  # fmt: skip
    r = overall.iloc[0]
    k, n = int(r["k"]), int(r["n"])
    fired = _below(k, n, threshold, settings.beyond_noise)
    teams = sla.sla_compliance(con, f, by="team", as_of=as_of)
    teams = teams[teams["n"] >= settings.min_team_handoffs].sort_values(["rate", "team"])
    evidence = [
        Evidence("compliance", k / n, "share"),
        Evidence("contacted within SLA", k, "count"),
        Evidence("decided handoffs", n, "count"),
        Evidence("95% interval low", float(r["low"]), "share"),
        Evidence("95% interval high", float(r["high"]), "share"),
        Evidence("floor", threshold, "share"),
        Evidence("pending (not yet decidable)", int(r["pending"]), "count"),
    ]
    worst = ""
    if len(teams):
        w = teams.iloc[0]
        evidence += [
            Evidence("worst team", str(w["team"]), "text"),
            Evidence("worst team compliance", float(w["rate"]), "share"),
            Evidence("worst team handoffs", int(w["n"]), "count"),
        ]
        worst = f" Lowest team: {w['team']}, {pct(w['rate'])} ({int(w['k'])} of {int(w['n'])})."
    interval = f"95% interval {pct(r['low'], 1)}–{pct(r['high'], 1)}"
    if fired:
        finding = (
            f"Only {pct(k / n)} of decided MQL handoffs ({k} of {n}) were contacted within "
            f"their SLA target, below the {pct(threshold)} floor ({interval}).{worst} "
            "Leads cool off while they wait: check routing, alerts and rep coverage."
        )
    elif k / n < threshold:
        finding = (
            f"{pct(k / n)} of decided MQL handoffs ({k} of {n}) were contacted within SLA, "
            f"under the {pct(threshold)} floor but within noise ({interval}).{worst}"
        )
    else:
        finding = (
            f"{pct(k / n)} of decided MQL handoffs ({k} of {n}) were contacted within SLA, "
            f"at or above the {pct(threshold)} floor.{worst}"
        )
    return HealthCheck("sla", name, fired, True, tuple(evidence), threshold, rule, finding)


def _conversion_part(
    con: duckdb.DuckDBPyConnection,
    month: date,
    targets: pd.DataFrame,
    settings: ReviewSettings,
    as_of: datetime,
) -> tuple[bool, bool, float | None, list[Evidence], str]:
    """MQL→SQL within the window against its floor: (fired, assessed, floor, evidence, text)."""
    w = settings.conversion_window_days
    t_sql = target_value(targets, month, "sqls")
    t_mql = target_value(targets, month, "mqls")
    if settings.mql_to_sql_min is not None:
        floor: float | None = settings.mql_to_sql_min
    elif t_sql is not None and t_mql:
        floor = min(t_sql / t_mql, 1.0)
    else:
        floor = None
    cohort = funnel.cohort_conversion(con, month_filters(month), "mql", "sql", w, "month", as_of)
    k = int(cohort["k"].sum()) if len(cohort) else 0
    n = int(cohort["n"].sum()) if len(cohort) else 0
    mature = bool(len(cohort) and cohort["mature"].all())
    low = floor is not None and mature and _below(k, n, floor, settings.beyond_noise)
    evidence = [
        Evidence(f"MQL→SQL within {w:g} days", k / n if n else float("nan"), "share"),
        Evidence("MQLs converted", k, "count"),
        Evidence("MQLs in cohort", n, "count"),
        Evidence("cohort mature", "yes" if mature else "no (still converting)", "text"),
    ]
    if floor is not None:
        evidence.append(Evidence("MQL→SQL floor", floor, "share"))
    if floor is None:
        text = "No MQL→SQL floor: set SQL and MQL targets (or a floor) to check conversion."
    elif not n:
        text = "No MQLs this month."
    elif not mature:
        text = (
            f"MQL→SQL is {pct(k / n)} so far ({k} of {n}); the cohort has not had "
            f"{w:g} days yet, so it is not judged against the {pct(floor)} floor."
        )
    elif low:
        text = (
            f"Only {pct(k / n)} of the month's MQLs ({k} of {n}) became SQL within {w:g} "
            f"days, below the {pct(floor)} the targets need."
        )
    else:
        text = (
            f"{pct(k / n)} of the month's MQLs ({k} of {n}) became SQL within {w:g} days "
            f"(floor {pct(floor)})."
        )
    return low, bool(floor is not None and mature and n), floor, evidence, text


def _rejection_part(
    con: duckdb.DuckDBPyConnection, month: date, settings: ReviewSettings
) -> tuple[bool, bool, list[Evidence], str]:
    """The month's rejection share against the baseline: (fired, assessed, evidence, text)."""
    avail = measurable.availability(con).rejections
    if not avail.measurable:
        return False, False, [], f"Rejection share not measurable: {avail.reason}"
    months = settings.rejection_baseline_months
    dec = decisions(con, add_months(month, -months), month)
    this = dec[dec["month"] == pd.Timestamp(month)].iloc[0]
    base = dec[dec["month"] < pd.Timestamp(month)]
    rk, rn = int(this["total"] - this["accepted"]), int(this["total"])
    bk, bn = int((base["total"] - base["accepted"]).sum()), int(base["total"].sum())
    rc = funnel.rate_change(bk, bn, rk, rn, alpha=settings.alpha)
    rising = bool(rn and bn and rc.significant and rc.change > 0)
    evidence = [
        Evidence("rejection share", rc.after_rate, "share"),
        Evidence("dispositions decided", rn, "count"),
        Evidence(f"baseline share (previous {months} months)", rc.before_rate, "share"),
        Evidence("baseline dispositions", bn, "count"),
        Evidence("p-value of the rise", rc.p_value, "p"),
    ]
    turned = f"Sales turned down {pct(rc.after_rate)} of the MQLs it decided on ({rk} of {rn})"
    if not rn:
        text = "Sales recorded no decisions this month."
    elif not bn:
        text = f"{turned}; there are no earlier decisions to compare with."
    elif rising:
        text = (
            f"{turned}, up from {pct(rc.before_rate)} over the previous {months} months "
            f"(p = {rc.p_value:.3f})."
        )
    else:
        text = (
            f"{turned}; the previous {months} months: {pct(rc.before_rate)} — no significant rise."
        )
    return rising, bool(rn and bn), evidence, text


def check_sales_ready(
    con: duckdb.DuckDBPyConnection,
    month: date,
    targets: pd.DataFrame,
    settings: ReviewSettings,
    as_of: datetime,
) -> HealthCheck:
    """MQLs not sales-ready: MQL→SQL below target, or the rejection share rising.

    Two signs that the MQL definition is too broad; either fires the check:

    - the month's MQL cohort converted to SQL within ``conversion_window_days`` below
      ``settings.mql_to_sql_min`` (default: target SQLs ÷ target MQLs). Judged only once
      the cohort is mature (every MQL has had the whole window);
    - the rejection share — dispositions decided in the month that did not accept the MQL
      (rejected, nurture, bad data) over all decided — is higher than in the previous
      ``rejection_baseline_months`` months pooled, and the pooled two-proportion test
      says so at ``alpha``. Without any disposition in the history this part is not
      measurable and says so.
    """
    w = settings.conversion_window_days
    low, conv_ok, floor, conv_ev, conv_text = _conversion_part(con, month, targets, settings, as_of)
    rising, rej_ok, rej_ev, rej_text = _rejection_part(con, month, settings)
    fired = bool(low or rising)
    parts = [conv_text, rej_text]
    if fired:
        parts.append("The MQL definition may be too broad: review the scoring threshold.")
    rule = (
        f"fires when MQL→SQL within {w:g} days is below "
        f"{pct(floor) if floor is not None else 'target SQLs ÷ target MQLs'} (mature cohorts"
        f"{', whole interval below' if settings.beyond_noise else ''}), or when the rejection "
        f"share rises significantly (p < {settings.alpha:g}) over the previous "
        f"{settings.rejection_baseline_months} months"
    )
    return HealthCheck(
        "not_sales_ready",
        "MQLs not sales-ready",
        fired,
        bool(conv_ok or rej_ok),
        tuple(conv_ev + rej_ev),
        floor,
        rule,
        " ".join(parts),
    )


def elapsed_share(month: date, as_of: datetime) -> float:
    """Share of ``month`` covered by the data up to ``as_of`` (1.0 once it has ended)."""
    start = datetime.combine(month, datetime.min.time())
    end = datetime.combine(add_months(month, 1), datetime.min.time())
    if as_of.date() >= month_end(month):
        return 1.0
    return float(min(max((as_of - start) / (end - start), 0.0), 1.0))


def check_too_few(
    month: date,
    mqls: int | None,
    targets: pd.DataFrame,
    settings: ReviewSettings,
    elapsed: float,
) -> HealthCheck:
    """Not enough MQLs: fewer than (1 - mql_shortfall) × the month's MQL target.

    For a month still in progress the target is pro-rated by the elapsed share of the
    month. Not assessed without an MQL target, or when the history has no MQL stage
    (``mqls`` None).
    """
    name = "Not enough MQLs"
    target = target_value(targets, month, "mqls")
    if mqls is None:
        reason = "Not measurable: this history has no MQL stage."
        return HealthCheck("too_few_mqls", name, False, False, (), None, "needs MQL entries",
                           reason)  # fmt: skip
    if target is None:
        return HealthCheck(
            "too_few_mqls",
            name,
            False,
            False,
            (Evidence("MQLs", mqls, "count"),),
            None,
            f"fires when MQLs are below {1 - settings.mql_shortfall:.0%} of the MQL target",
            "No MQL target for this month: set one under Targets to check volume.",
        )
    due = target * elapsed
    floor = due * (1 - settings.mql_shortfall)
    fired = mqls < floor
    evidence = [
        Evidence("MQLs", mqls, "count"),
        Evidence("MQL target", target, "count"),
        Evidence("share of target", mqls / due if due else float("nan"), "share"),
        Evidence("floor", floor, "count"),
    ]
    if elapsed < 1:
        evidence.append(Evidence("share of month elapsed", elapsed, "share"))
    so_far = f" (pro-rated to {elapsed:.0%} of the month)" if elapsed < 1 else ""
    if fired:
        finding = (
            f"{mqls:,} MQLs against a target of {due:,.0f}{so_far}: {pct(mqls / due)} of "
            f"target, under the {1 - settings.mql_shortfall:.0%} floor. The MQL definition "
            "may be too rigid, or nurturing too weak to bring leads to the threshold."
        )
    else:
        finding = f"{mqls:,} MQLs against a target of {due:,.0f}{so_far} ({pct(mqls / due)})."
    rule = f"fires when MQLs are below {1 - settings.mql_shortfall:.0%} of the MQL target"
    return HealthCheck("too_few_mqls", name, fired, True, tuple(evidence), floor, rule, finding)


REPS_SQL = "SELECT rep_id, coalesce(nullif(name, ''), rep_id) AS name, role, capacity FROM reps"


def check_too_many(
    con: duckdb.DuckDBPyConnection,
    month: date,
    settings: ReviewSettings,
    elapsed: float,
    as_of: datetime,
) -> HealthCheck:
    """Too many MQLs: more handoffs than the SDRs' combined monthly capacity.

    Handoffs are the month's ``mql`` changes (recycled leads count again: each is work
    for a rep), from :func:`analysis.sla.response_times`. Capacity is ``reps.capacity``,
    read as the handoffs a rep can work in a month, summed over the reps with role
    ``sdr`` (all reps when none has that role), pro-rated for a month in progress. Reps
    whose own handoffs exceed their capacity are listed in the finding.
    """
    name = "Too many MQLs"
    handoffs_ok = measurable.availability(con).handoffs
    if not handoffs_ok.measurable:
        return HealthCheck("too_many_mqls", name, False, False, (), None, "needs MQL handoffs",
                           f"Not measurable: {handoffs_ok.reason}")  # fmt: skip
    handoffs = sla.response_times(con, month_filters(month), as_of=as_of)
    reps = con.execute(REPS_SQL).df()
    sdrs = reps[reps["role"] == "sdr"] if (reps["role"] == "sdr").any() else reps
    cap = sdrs["capacity"].dropna()
    total = len(handoffs)
    rule = "fires when MQL handoffs exceed the SDRs' combined monthly capacity" + (
        f" by more than {settings.capacity_tolerance:.0%}" if settings.capacity_tolerance else ""
    )
    if cap.empty:
        return HealthCheck(
            "too_many_mqls",
            name,
            False,
            False,
            (Evidence("MQL handoffs", total, "count"),),
            None,
            rule,
            "No rep has a capacity recorded: set reps.capacity to check load.",
        )
    capacity = float(cap.sum()) * elapsed
    limit = capacity * (1 + settings.capacity_tolerance)
    fired = total > limit
    per_rep = handoffs.groupby("owner_rep_id").size()
    load = sdrs.assign(handoffs=sdrs["rep_id"].map(per_rep).fillna(0).astype("int64"))
    load = load[load["capacity"].notna()]
    over = load[load["handoffs"] > load["capacity"] * elapsed].sort_values(
        "handoffs", ascending=False
    )
    unassigned = int(handoffs["owner_rep_id"].isna().sum())
    evidence = [
        Evidence("MQL handoffs", total, "count"),
        Evidence("SDRs with a capacity", len(cap), "count"),
        Evidence("combined capacity", capacity, "count"),
        Evidence("handoffs per SDR", total / len(cap), "ratio"),
        Evidence("capacity per SDR", capacity / len(cap), "ratio"),
        Evidence("SDRs over their own capacity", len(over), "count"),
        Evidence("handoffs without an owner", unassigned, "count"),
    ]
    names = ", ".join(
        f"{r.name} ({int(r.handoffs)} for {r.capacity * elapsed:.0f})"
        for r in over.head(5).itertuples()
    )
    over_text = f" Over their own capacity: {names}." if len(over) else ""
    if fired:
        finding = (
            f"{total:,} MQL handoffs for {len(cap)} SDRs who can work {capacity:,.0f} "
            f"({total / len(cap):.1f} per rep against {capacity / len(cap):.1f}): more MQLs "
            f"than sales can follow up.{over_text} Raise the threshold or add capacity."
        )
    else:
        finding = (
            f"{total:,} MQL handoffs for {len(cap)} SDRs who can work {capacity:,.0f} "
            f"({total / len(cap):.1f} per rep against {capacity / len(cap):.1f}).{over_text}"
        )
    return HealthCheck("too_many_mqls", name, fired, True, tuple(evidence), limit, rule, finding)


def health_checks(
    con: duckdb.DuckDBPyConnection,
    month: date | str,
    settings: ReviewSettings = DEFAULT_SETTINGS,
    as_of: datetime | None = None,
    head: Mapping[str, Any] | None = None,
) -> tuple[HealthCheck, ...]:
    """The four classic handoff failures for the month, in a fixed order.

    See :func:`check_sla`, :func:`check_sales_ready`, :func:`check_too_few` and
    :func:`check_too_many`. MQLs for the volume check are the month's MQL volume of
    :func:`analysis.metrics.headline` (leads that first became MQL in the month).
    """
    month = parse_month(month)
    as_of = as_of or data_as_of(con)
    if as_of is None:
        raise ValueError("the database holds no history yet: nothing to review")
    targets = load_targets(con, month, month)
    elapsed = elapsed_share(month, as_of)
    volumes = head["volumes"] if head else month_volumes(con, month)
    mqls = volumes.get("mql")
    return (
        check_sla(con, month, targets, settings, as_of),
        check_sales_ready(con, month, targets, settings, as_of),
        check_too_few(month, mqls, targets, settings, elapsed),
        check_too_many(con, month, settings, elapsed, as_of),
    )
