"""The HTML pieces of the monthly review report: styles, cells with raw values, sections.

Cells that quote a number carry ``data-key`` and ``data-value`` attributes with the raw
value, so a reader (or a test) can check the report against the engine.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from analysis.lifecycle import review as rv
from dashboard.charts import review as charts
from dashboard.report_format import (
    NOT_MEASURABLE,
    _missing,
    change_cells,
    fmt_count,
    fmt_k_of_n,
    fmt_minutes,
    fmt_p,
    fmt_points,
    fmt_share,
    fmt_value,
    goal_actual_text,
    not_measurable_notes,
)

# --------------------------------------------------------------------------------------
# HTML pieces
# --------------------------------------------------------------------------------------

CSS = """
:root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --bad: #c62828; --good: #2e7d32;
        --blue: #2171b5; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 60px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 36px 0 10px; padding-bottom: 6px;
     border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
p.meta, .note { color: var(--muted); font-size: 13px; }
nav { margin: 14px 0 8px; font-size: 14px; }
nav a { color: var(--blue); margin-right: 14px; text-decoration: none; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 4px; font-size: 14px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: right;
         vertical-align: top; }
th { background: var(--bg); font-weight: 600; color: var(--muted); }
th:first-child, td:first-child { text-align: left; }
td.text { text-align: left; }
tr.sig td { background: #fff8e1; }
.below { color: var(--bad); font-weight: 600; }
.above { color: var(--good); font-weight: 600; }
.near { color: #b26a00; font-weight: 600; }
.summary { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin: 16px 0; }
.tile { background: var(--bg); border-radius: 8px; padding: 10px 14px; }
.tile .label { font-size: 13px; color: var(--muted); }
.tile .value { font-size: 24px; font-weight: 650; }
.checks { display: grid; grid-template-columns: repeat(2, 1fr); gap: 14px; }
.check { border: 1px solid var(--line); border-left: 6px solid var(--good); border-radius: 8px;
         padding: 10px 14px; page-break-inside: avoid; }
.check.fired { border-left-color: var(--bad); }
.check.unassessed { border-left-color: #9e9e9e; }
.check h3 { margin: 0 0 6px; }
.badge { display: inline-block; font-size: 12px; font-weight: 700; padding: 1px 8px;
         border-radius: 10px; color: #fff; background: var(--good); margin-left: 6px; }
.fired .badge { background: var(--bad); }
.unassessed .badge { background: #9e9e9e; }
.check table { font-size: 13px; }
.check .rule { color: var(--muted); font-size: 12px; }
.figure { margin: 6px 0 10px; page-break-inside: avoid; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
dl.defs dt { font-weight: 600; margin-top: 8px; }
dl.defs dd { margin: 2px 0 0 0; color: var(--muted); font-size: 14px; }
@media (max-width: 800px) { .summary, .checks, .two { grid-template-columns: 1fr; } }
@media print { main { padding: 0; } h2 { page-break-after: avoid; }
                section { page-break-inside: auto; } }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _raw(value: Any) -> str:
    """The raw value of a ``data-value`` attribute (empty when missing)."""
    if _missing(value):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _td(text: str, key: str | None = None, value: Any = None, cls: str | None = None) -> str:
    attrs = ""
    if key is not None:
        attrs += f' data-key="{_e(key)}" data-value="{_e(_raw(value))}"'
    if cls:
        attrs += f' class="{cls}"'
    return f"<td{attrs}>{_e(text)}</td>"


def _table(header: Iterable[str], rows: Iterable[str], row_classes: Iterable[str] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    classes = list(row_classes)
    body = "".join(
        f'<tr class="{classes[i]}">{r}</tr>' if i < len(classes) and classes[i] else f"<tr>{r}</tr>"
        for i, r in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Figures:
    """Turns figures into HTML: plotly.js embedded with the first one only."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, fig: Any, name: str) -> str:
        first = self.count == 0
        self.count += 1
        div = fig.to_html(
            full_html=False,
            include_plotlyjs=True if first else False,
            div_id=f"fig-{name}",
            config={"displaylogo": False, "responsive": True},
        )
        return f'<div class="figure">{div}</div>'


def _goals_section(r: rv.Review) -> str:
    rows, classes = [], []
    for g in r.goals.itertuples(index=False):
        pct = g.pct_of_target
        cls = "" if _missing(pct) else ("above" if pct >= 1 else "near" if pct >= 0.9 else "below")
        actual = goal_actual_text(g)
        rows.append(
            _td(g.label, cls="text")
            + _td(actual, f"goal.{g.metric}.actual", g.actual)
            + _td(fmt_value(g.target, g.unit), f"goal.{g.metric}.target", g.target)
            + _td(fmt_share(pct, 0), f"goal.{g.metric}.pct_of_target", pct, cls or None)
            + _td(
                fmt_value(g.previous_month, g.unit), f"goal.{g.metric}.previous", g.previous_month
            )
            + _td(fmt_value(g.last_year, g.unit), f"goal.{g.metric}.last_year", g.last_year)
        )
        classes.append("")
    prev = rv.add_months(r.month, -1)
    last_year = rv.add_months(r.month, -12)
    return _table(
        ["Goal", "Actual", "Target", "% of target", f"{prev:%b %Y}", f"{last_year:%b %Y}"],
        rows,
        classes,
    )


def _funnel_table(funnel: pd.DataFrame, basis: str = "entered") -> str:
    """The month's funnel under ``basis`` (its count column named by the definition)."""
    key_prefix = "volume" if basis == "entered" else "count"
    rows = []
    for r in funnel.itertuples(index=False):
        entered = fmt_count(r.entered) if r.measurable else NOT_MEASURABLE
        if r.step and r.measurable:
            key = f"{r.stage}_to_{r.to}"
            conv = (
                _td(r.step, cls="text")
                + _td(fmt_k_of_n(r.k, r.n), f"conv.{key}.k", r.k)
                + _td(fmt_share(r.rate), f"conv.{key}.rate", r.rate)
                + _td(f"{fmt_share(r.low)} – {fmt_share(r.high)}")
            )
        else:
            conv = _td(r.step, cls="text") + _td("") + _td("") + _td("")
        rows.append(
            _td(r.label, cls="text") + _td(entered, f"{key_prefix}.{r.stage}", r.entered) + conv
        )
    counted = "Entered this month" if basis == "entered" else "Created this month, reached it"
    return _table(
        ["Stage", counted, "Next step", "Reached so far", "Rate", "95% interval"],
        rows,
    )


def _sla_table(h: dict) -> str:
    if h["sla"] is None:
        return f'<p class="note not-measurable">Not measurable: {_e(h["sla_reason"])}</p>'
    rows = []
    for t in h["sla"]:
        rows.append(
            _td(t["tier"], cls="text")
            + _td(fmt_minutes(t["target_minutes"]))
            + _td(fmt_k_of_n(t["k"], t["n"]), f"sla.{t['tier']}.k", t["k"])
            + _td(fmt_share(t["rate"]), f"sla.{t['tier']}.rate", t["rate"])
            + _td(f"{fmt_share(t['low'])} – {fmt_share(t['high'])}")
            + _td(fmt_count(t["pending"]), f"sla.{t['tier']}.pending", t["pending"])
            + _td(fmt_minutes(t["median_minutes"]))
            + _td(fmt_minutes(t["p90_minutes"]))
        )
    if not rows:
        return '<p class="note">No MQL handoffs this month.</p>'
    return _table(
        [
            "SLA tier",
            "Target",
            "Within target",
            "Compliance",
            "95% interval",
            "Pending",
            "Median response",
            "p90 response",
        ],
        rows,
    )


def _check_card(c: rv.HealthCheck) -> str:
    state = "fired" if c.fired else ("ok" if c.assessed else "unassessed")
    badge = {"fired": "problem", "ok": "healthy", "unassessed": "not assessed"}[state]
    rows = "".join(
        "<tr>"
        + _td(e.label, cls="text")
        + _td(fmt_value(e.value, e.unit), f"check.{c.key}.{e.label}", e.value)
        + "</tr>"
        for e in c.evidence
    )
    return (
        f'<div class="check {state}" data-check="{_e(c.key)}" data-fired="{str(c.fired).lower()}">'
        f'<h3>{_e(c.name)}<span class="badge">{badge}</span></h3>'
        f"<p>{_e(c.finding)}</p>"
        f"<table><tbody>{rows}</tbody></table>"
        f'<p class="rule">Rule: {_e(c.rule)}.</p></div>'
    )


def _changes_table(changes: pd.DataFrame) -> str:
    rows, classes = [], []
    for c in changes.itertuples(index=False):
        text = change_cells(c)
        rows.append(
            _td(c.label, cls="text")
            + _td(text["previous"])
            + _td(text["this_month"], f"change.{c.key}.rate", c.rate)
            + _td(text["change"])
            + _td(text["p_value"])
            + _td(text["verdict"], f"change.{c.key}.verdict", c.verdict, "text")
        )
        classes.append("sig" if c.significant else "")
    notes = "".join(
        f'<p class="note">Not measurable: {_e(n)}</p>' for n in not_measurable_notes(changes)
    )
    table = _table(
        ["Rate", "Previous month", "This month", "Change", "p-value", "Verdict"], rows, classes
    )
    return table + notes


def _status_table(status: pd.DataFrame) -> str:
    rows = [
        _td(s.label, cls="text")
        + _td(fmt_count(s.leads), f"status.{s.status}", s.leads)
        + _td(fmt_share(s.share))
        for s in status.itertuples(index=False)
    ]
    total = int(status["leads"].sum())
    rows.append(_td("all MQLs of the month", cls="text") + _td(fmt_count(total)) + _td(""))
    return _table(["Status now", "MQLs", "Share"], rows)


def _status_section(r: rv.Review, fig: _Figures) -> str:
    if not r.availability.handoffs.measurable:
        reason = r.availability.handoffs.reason
        return f'<p class="note not-measurable">Not measurable: {_e(reason)}</p>'
    status, notes = rv.recorded_statuses(r.status, r.availability)
    return (
        f'<div class="two"><div>{_status_table(status)}</div>'
        f"<div>{fig(charts.status_chart(status), 'status')}</div></div>"
        + "".join(f'<p class="note not-measurable">{_e(n)}</p>' for n in notes)
    )


def _reasons_table(reasons: pd.DataFrame, avail: Any) -> str:
    if not avail.rejections.measurable:
        return f'<p class="note not-measurable">Not measurable: {_e(avail.rejections.reason)}</p>'
    if reasons.empty:
        return '<p class="note">No rejections recorded in these two months.</p>'
    rows, classes = [], []
    for x in reasons.itertuples(index=False):
        rows.append(
            _td(x.reason, cls="text")
            + _td(fmt_count(x.count), f"reason.{x.reason}.count", x.count)
            + _td(fmt_share(x.share))
            + _td(fmt_count(x.prev_count))
            + _td(fmt_share(x.prev_share))
            + _td(fmt_points(x.change))
            + _td(fmt_p(x.p_value))
        )
        classes.append("sig" if x.significant else "")
    return _table(
        ["Reason", "This month", "Share", "Previous month", "Share", "Change", "p-value"],
        rows,
        classes,
    )


def _ceil(x: Any) -> Any:
    return x if _missing(x) or math.isinf(x) else math.ceil(x - 1e-9)


def _plan_section(p: rv.Plan) -> tuple[str, str]:
    rate_rows = [
        _td(r.label, cls="text")
        + _td(fmt_k_of_n(r.k, r.n))
        + _td(fmt_share(r.rate), f"plan.rate.{r.step}", r.rate)
        + _td(f"{fmt_share(r.low)} – {fmt_share(r.high)}")
        for r in p.rates.itertuples(index=False)
    ]
    rates = _table(["Rate", "k of n", "Rate", "95% interval"], rate_rows)
    need_rows = []
    for s in p.needed.itertuples(index=False):
        gap_cls = None if _missing(s.gap) else ("above" if s.gap >= 0 else "below")
        need_rows.append(
            _td(s.label, cls="text")
            + _td(fmt_count(s.needed_whole), f"plan.needed.{s.stage}", s.needed)
            + _td(f"{fmt_count(_ceil(s.low))} – {fmt_count(_ceil(s.high))}")
            + _td(fmt_count(s.actual), f"plan.actual.{s.stage}", s.actual)
            + _td(
                ("+" if not _missing(s.gap) and s.gap >= 0 else "") + fmt_count(s.gap),
                f"plan.gap.{s.stage}",
                s.gap,
                gap_cls,
            )  # fmt: skip
        )
    needed = _table(["Per month", "Needed", "Range (95%)", "This month", "Gap"], need_rows)
    return rates, needed


DEFINITIONS = (
    (
        "Volumes",
        "Leads that first entered each stage during the month (a skipped stage counts at "
        "the next stage reached).",
    ),
    (
        "Reached so far",
        "Of the leads that entered a stage this month, how many reached the next one by the "
        "end of the data; recent cohorts are still converting.",
    ),
    (
        "SLA compliance",
        "Share of decided MQL handoffs first touched by sales within their tier's target; "
        "handoffs still inside their target without a touch are pending and left out.",
    ),
    (
        "Where MQLs are now",
        "Each lead that first became MQL this month, by its status today: won, lost, open "
        "opportunity, then its latest decision (SQL, nurture, rejected — rejected includes "
        "bad data and disqualified), else still MQL (waiting for sales, or recycled).",
    ),
    (
        "Deals won, won revenue",
        "Leads that reached the customer stage during the month (whether or not an "
        "opportunity row exists), and the sum of their won opportunities' amounts.",
    ),
    (
        "Not measurable",
        "A number this history cannot support (no sales activities, dispositions, amounts, "
        "targets or dates) is shown as not measurable with the reason, never as 0.",
    ),
    (
        "Beyond noise",
        "A change is called out only when a pooled two-proportion test gives p < 0.05; a "
        "rate is below a floor beyond noise when its whole 95% Wilson interval is below it.",
    ),
    (
        "Reverse-funnel plan",
        "Revenue goal ÷ average won amount ÷ win rate ÷ SQL→opportunity ÷ MQL→SQL ÷ "
        "lead→MQL; the range divides by the rates' interval bounds.",
    ),
)
