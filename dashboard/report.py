"""The monthly review as one self-contained HTML file (and, where chromium exists, a PDF).

Query intuition
---------------
There is no query here: :func:`analysis.review.build_review` computes every number, and
this module lays them out in the same sections as the Monthly review page — goals vs
actuals (with the month's funnel and SLA from :func:`analysis.metrics.headline`), health
checks, what changed, outcomes, the reverse-funnel plan — with the page's figures
(:mod:`dashboard.charts.review`, plotly only).

The file needs no network: CSS is inline, and plotly.js is embedded once, with the first
figure (``include_plotlyjs=True``); later figures reuse it (``include_plotlyjs=False``).
Cells that quote a number carry ``data-key`` and ``data-value`` attributes with the raw
value (e.g. ``data-key="volume.mql" data-value="91"``), so a reader — or a test — can
check the report against the engine.
"""

from __future__ import annotations

import html
import math
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from analysis import store
from analysis.lifecycle import review as rv
from dashboard.charts import review as charts

STEP_LABELS = {
    "lead_to_mql": "Lead → MQL",
    "mql_to_sql": "MQL → SQL",
    "sql_to_opportunity": "SQL → opportunity",
    "opportunity_to_customer": "Opportunity → won",
}
STAGE_LABELS = {
    "lead": "Leads",
    "mql": "MQLs",
    "sql": "SQLs",
    "opportunity": "Opportunities",
    "customer": "Customers (won)",
}
VERDICT_TEXT = {
    "up": "▲ up, beyond noise",
    "down": "▼ down, beyond noise",
    "within noise": "within noise",
    "unchanged": "unchanged",
    "not comparable yet": "too early to compare",
    "no data": "no data",
}
CHROMIUM = "/usr/bin/chromium"
NOT_MEASURABLE = "not measurable"
"""What a number the history cannot support shows instead of 0 (page and report alike)."""


# --------------------------------------------------------------------------------------
# Number formats (shared with the page)
# --------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def fmt_count(value: Any) -> str:
    """A count as ``1,234`` (``–`` when missing; fractions rounded)."""
    if _missing(value):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return f"{value:,.0f}"


def fmt_money(value: Any) -> str:
    """An amount as ``852,800`` (the currency of ``opportunities.amount``)."""
    return fmt_count(value)


def fmt_share(value: Any, digits: int = 1) -> str:
    """A share 0-1 as ``80.2%``."""
    if _missing(value):
        return "–"
    return f"{value:.{digits}%}"


def fmt_points(change: Any) -> str:
    """A change between two shares in percentage points: ``+11.1 pts``."""
    if _missing(change):
        return "–"
    return f"{change * 100:+.1f} pts"


def fmt_p(p: Any) -> str:
    """A p-value: ``0.017``, ``<0.001``."""
    if _missing(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_minutes(minutes: Any) -> str:
    """Minutes as ``42 min``, ``3.5 h`` or ``2.1 d``."""
    if _missing(minutes):
        return "–"
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 1440:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


def fmt_value(value: Any, unit: str) -> str:
    """``value`` in its unit: ``count``, ``money``, ``share``, ``ratio``, ``p`` or ``text``."""
    if unit == "share":
        return fmt_share(value)
    if unit in ("count", "money"):
        return fmt_count(value)
    if unit == "ratio":
        return "–" if _missing(value) else f"{value:,.1f}"
    if unit == "p":
        return fmt_p(value)
    return "–" if _missing(value) else str(value)


def goal_actual_text(goal: Any) -> str:
    """A goals-table row's actual (``80.0% (77 of 96)`` for shares; not measurable says so)."""
    if not goal.measurable:
        return NOT_MEASURABLE
    text = fmt_value(goal.actual, goal.unit)
    return text + (f" ({fmt_k_of_n(goal.k, goal.n)})" if goal.unit == "share" else "")


def fmt_k_of_n(k: Any, n: Any) -> str:
    """``77 of 96``."""
    if _missing(k) or _missing(n):
        return "–"
    return f"{int(k):,} of {int(n):,}"


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


def _funnel_table(funnel: pd.DataFrame) -> str:
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
        rows.append(_td(r.label, cls="text") + _td(entered, f"volume.{r.stage}", r.entered) + conv)
    return _table(
        ["Stage", "Entered this month", "Next step", "Reached so far", "Rate", "95% interval"],
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
        rows.append(
            _td(c.label, cls="text")
            + _td(fmt_share(c.prev_rate) + f" ({fmt_k_of_n(c.prev_k, c.prev_n)})")
            + _td(fmt_share(c.rate) + f" ({fmt_k_of_n(c.k, c.n)})", f"change.{c.key}.rate", c.rate)
            + _td(fmt_points(c.change))
            + _td(fmt_p(c.p_value))
            + _td(
                VERDICT_TEXT.get(c.verdict, c.verdict), f"change.{c.key}.verdict", c.verdict, "text"
            )
        )
        classes.append("sig" if c.significant else "")
    return _table(
        ["Rate", "Previous month", "This month", "Change", "p-value", "Verdict"], rows, classes
    )


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
    return (
        f'<div class="two"><div>{_status_table(r.status)}</div>'
        f"<div>{fig(charts.status_chart(r.status), 'status')}</div></div>"
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


def render_html(r: rv.Review, generated_at: datetime | None = None) -> str:
    """The review as one self-contained HTML document (text).

    Sections, as on the page: summary tiles; goals vs actuals with the month's funnel and
    SLA by tier; health checks; what changed; outcomes (pipeline status of the month's
    MQLs, deals closed, rejection reasons); the reverse-funnel plan; definitions.
    """
    fig = _Figures()
    generated_at = generated_at or datetime.now(UTC).replace(tzinfo=None)
    h = r.headline
    deals = r.deals.iloc[0] if len(r.deals) else None
    fired = r.fired
    sla_goal = r.goals.set_index("metric").loc["pct_contacted_in_sla"]
    av = r.availability
    won = int(deals["won"]) if deals is not None else 0
    revenue = float(deals["won_revenue"]) if deals is not None else 0.0
    month_note = (
        ""
        if r.complete
        else f" The month is still in progress: the data covers {r.elapsed:.0%} of it."
    )
    tiles = [
        ("Health problems", f"{len(fired)} of {len(r.checks)}", "checks.fired", len(fired)),
        (
            "MQLs",
            fmt_count(h["volumes"]["mql"]) if h["volumes"]["mql"] is not None else NOT_MEASURABLE,
            "tile.mqls",
            h["volumes"]["mql"],
        ),
        (
            "Contacted within SLA",
            fmt_share(sla_goal["actual"]) if av.sla.measurable else NOT_MEASURABLE,
            "tile.sla",
            sla_goal["actual"],
        ),
        ("Deals won", fmt_count(won), "tile.deals_won", won),
        (
            "Won revenue",
            fmt_money(revenue) if av.revenue.measurable else NOT_MEASURABLE,
            "tile.won_revenue",
            revenue if av.revenue.measurable else None,
        ),
    ]
    tiles_html = "".join(
        f'<div class="tile"><div class="label">{_e(label)}</div>'
        f'<div class="value" data-key="{_e(key)}" data-value="{_e(_raw(v))}">{_e(text)}</div></div>'
        for label, text, key, v in tiles
    )
    fired_list = (
        "<ul>" + "".join(f"<li><b>{_e(c.name)}</b>: {_e(c.finding)}</li>" for c in fired) + "</ul>"
        if fired
        else "<p>No health check fired this month.</p>"
    )
    changed = r.changes[r.changes["significant"]]
    changed_text = (
        "Changed beyond noise since last month: "
        + "; ".join(
            f"{c.label} {fmt_share(c.prev_rate)} → {fmt_share(c.rate)}"
            for c in changed.itertuples(index=False)
        )
        + "."
        if len(changed)
        else "No rate moved beyond noise since last month."
    )
    rates_html, needed_html = _plan_section(r.plan)
    p = r.plan
    deals_rows = []
    if deals is not None:
        deals_rows.append(
            _td("Closed this month", cls="text")
            + _td(fmt_count(deals["won"]), "deals.won", deals["won"])
            + (
                _td(fmt_money(revenue), "deals.won_revenue", revenue)
                if av.revenue.measurable
                else _td(NOT_MEASURABLE, "deals.won_revenue", None)
            )
            + (
                _td(fmt_count(deals["lost"]), "deals.lost", deals["lost"])
                + _td(fmt_share(deals["win_rate"]), "deals.win_rate", deals["win_rate"])
                if av.win_rate.measurable
                else _td(NOT_MEASURABLE, "deals.lost", None)
                + _td(NOT_MEASURABLE, "deals.win_rate", None)
            )
            + _td(fmt_money(deals["avg_won_amount"]) if av.revenue.measurable else NOT_MEASURABLE)
        )
    deals_html = _table(
        ["", "Won", "Won revenue", "Lost", "Win rate", "Average won amount"], deals_rows
    ) + "".join(
        f'<p class="note not-measurable">Not measurable: {_e(reason)}</p>'
        for reason in dict.fromkeys(av.reasons().values())
    )
    checks_html = "".join(_check_card(c) for c in r.checks)
    defs = "".join(f"<dt>{_e(t)}</dt><dd>{_e(d)}</dd>" for t, d in DEFINITIONS)
    resp = h["response_minutes"] or {"responded": None, "median": None, "p90": None}
    body = f"""
<main>
<header>
<h1>Monthly smarketing review: {_e(r.label)}</h1>
<p class="meta">Handoff Health · {r.first:%Y-%m-%d} to {r.last:%Y-%m-%d} (UTC) · data up to
{r.as_of:%Y-%m-%d %H:%M} UTC · generated {generated_at:%Y-%m-%d %H:%M} UTC.{_e(month_note)}</p>
<nav><a href="#summary">Summary</a><a href="#goals">Goals vs actuals</a>
<a href="#health">Health checks</a><a href="#changes">What changed</a>
<a href="#outcomes">Outcomes</a><a href="#plan">Plan</a><a href="#defs">Definitions</a></nav>
</header>
<section id="summary"><h2>Summary</h2>
<div class="summary">{tiles_html}</div>
{fired_list}
<p>{_e(changed_text)}</p>
</section>
<section id="goals"><h2>Goals vs actuals</h2>
{_goals_section(r)}
{fig(charts.goals_chart(r.goals), "goals")}
<h3>The month's funnel</h3>
<p class="note">Rates: {_e(rv.FUNNEL_BASIS)}.</p>
{_funnel_table(r.funnel)}
<h3>Response to handoffs</h3>
{_sla_table(h)}
<p class="note">{fmt_count(resp["responded"])} handoffs answered; median first response
{fmt_minutes(resp["median"])} (p90 {fmt_minutes(resp["p90"])}) on the wall clock.</p>
</section>
<section id="health"><h2>Health checks</h2>
<div class="checks">{checks_html}</div>
</section>
<section id="changes"><h2>What changed since last month</h2>
{_changes_table(r.changes)}
<p class="note">Highlighted rows changed beyond noise (p &lt; {r.settings.alpha:g}). Cohort rates
count conversions within {r.settings.conversion_window_days:g} days and are compared only once
both cohorts have had that long.</p>
</section>
<section id="outcomes"><h2>Outcomes</h2>
<h3>Where this month's MQLs are now</h3>
{_status_section(r, fig)}
<h3>Deals closed this month</h3>
{deals_html}
<h3>Why sales turned MQLs down</h3>
{_reasons_table(r.reasons, r.availability)}
{fig(charts.reasons_chart(r.reasons), "reasons")}
</section>
<section id="plan"><h2>Reverse-funnel plan</h2>
<p>Revenue goal <b data-key="plan.revenue_goal" data-value="{_e(_raw(p.revenue_goal))}">{
        _e(fmt_money(p.revenue_goal))
    }</b> a month ({_e(p.goal_source)}) at an average won amount of
<b data-key="plan.avg_won_amount" data-value="{_e(_raw(p.avg_won_amount))}">{
        _e(fmt_money(p.avg_won_amount))
    }</b> ({p.won_deals:,} won deals). {_e(p.note)}</p>
<div class="two"><div>{rates_html}</div><div>{needed_html}</div></div>
{fig(charts.plan_chart(p.needed), "plan")}
</section>
<section id="defs"><h2>Definitions</h2><dl class="defs">{defs}</dl></section>
</main>"""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Monthly review · {_e(r.label)} · Handoff Health</title>"
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def report_html(
    con: duckdb.DuckDBPyConnection,
    month: date | str,
    settings: rv.ReviewSettings | None = None,
    revenue_goal: float | None = None,
    trailing_months: int = 6,
) -> str:
    """The HTML report of ``month`` as text (what the page's download button serves)."""
    review = rv.build_review(
        con, month, settings or rv.ReviewSettings(), revenue_goal, trailing_months
    )
    return render_html(review)


def render_report(
    con: duckdb.DuckDBPyConnection,
    month: date | str,
    out_path: Path | str,
    settings: rv.ReviewSettings | None = None,
    revenue_goal: float | None = None,
    trailing_months: int = 6,
) -> Path:
    """Write the review of ``month`` (``YYYY-MM``) as one self-contained HTML file.

    Returns the path written. The file opens offline in any browser (~5 MB: plotly.js is
    embedded once).
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = report_html(con, month, settings, revenue_goal, trailing_months)
    out.write_text(text, encoding="utf-8")
    return out


def chromium_path() -> str | None:
    """The chromium executable used for PDFs (``/usr/bin/chromium`` or one on PATH)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def render_pdf(html_path: Path | str, pdf_path: Path | str, timeout: float = 90) -> Path:
    """Print an HTML report to PDF with headless chromium (no network, no download).

    Raises RuntimeError when no chromium is installed or printing fails.
    """
    exe = chromium_path()
    if exe is None:
        raise RuntimeError("PDF export needs chromium (e.g. apt-get install chromium); none found")
    src, dst = Path(html_path).resolve(), Path(pdf_path).resolve()
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hh-pdf-") as profile:
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            "--virtual-time-budget=10000",
            f"--print-to-pdf={dst}",
            src.as_uri(),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0 or not dst.exists() or dst.stat().st_size == 0:
        raise RuntimeError(
            f"chromium could not print {src.name} to PDF (exit {done.returncode}): "
            f"{done.stderr.strip()[-300:]}"
        )
    return dst


def report_cli(
    db: Path | str,
    month: str,
    out: Path | str,
    pdf: Path | str | None = None,
    revenue_goal: float | None = None,
    trailing_months: int = 6,
) -> list[Path]:
    """What ``handoff report`` runs: open ``db`` read-only, write the HTML (and PDF).

    Returns the files written. Raises FileNotFoundError / :class:`analysis.store.SchemaError`
    for an unusable database, ValueError for a bad month or an empty database and
    RuntimeError when the PDF cannot be printed.
    """
    con = store.connect_read_only(db)
    try:
        html_path = render_report(
            con, rv.parse_month(month), out, revenue_goal=revenue_goal,
            trailing_months=trailing_months,
        )  # fmt: skip
    finally:
        con.close()
    written = [html_path]
    if pdf is not None:
        written.append(render_pdf(html_path, pdf))
    return written
