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

import shutil
import subprocess
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from analysis import store
from analysis.lifecycle import metrics
from analysis.lifecycle import review as rv
from dashboard.charts import review as charts
from dashboard.report_format import (  # noqa: F401  (re-exported for the page)
    NONE_COMPARABLE,
    NOT_MEASURABLE,
    STAGE_LABELS,
    STEP_LABELS,
    change_cells,
    fmt_count,
    fmt_k_of_n,
    fmt_minutes,
    fmt_money,
    fmt_p,
    fmt_points,
    fmt_share,
    fmt_value,
    goal_actual_text,
    health_text,
    month_caveat,
    none_comparable,
    not_measurable_notes,
)
from dashboard.report_sections import (
    CSS,
    DEFINITIONS,
    _changes_table,
    _check_card,
    _e,
    _Figures,
    _funnel_table,
    _goals_section,
    _plan_section,
    _raw,
    _reasons_table,
    _sla_table,
    _status_section,
    _table,
    _td,
)

CHROMIUM = "/usr/bin/chromium"


def _summary_html(r: rv.Review) -> str:
    """Summary tiles, the fired checks and the changes beyond noise."""
    h = r.headline
    deals = r.deals.iloc[0] if len(r.deals) else None
    fired = r.fired
    sla_goal = r.goals.set_index("metric").loc["pct_contacted_in_sla"]
    av = r.availability
    won = int(deals["won"]) if deals is not None else 0
    revenue = float(deals["won_revenue"]) if deals is not None else 0.0
    health, health_note = health_text(r.checks)
    assessed = any(c.assessed for c in r.checks)
    tiles = [
        ("Health problems", health, "checks.fired", len(fired) if assessed else None),
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
    if fired:
        items = "".join(f"<li><b>{_e(c.name)}</b>: {_e(c.finding)}</li>" for c in fired)
        fired_list = f"<ul>{items}</ul>"
    elif assessed:
        fired_list = "<p>No health check fired this month.</p>"
    else:  # nothing could be checked: say why rather than "nothing fired"
        fired_list = f"<p>{_e(health_note)}</p>"
    changed = r.changes[r.changes["significant"]]
    changed_text = (
        "Changed beyond noise since last month: "
        + "; ".join(
            f"{c.label} {fmt_share(c.prev_rate)} → {fmt_share(c.rate)}"
            for c in changed.itertuples(index=False)
        )
        + "."
        if len(changed)
        else NONE_COMPARABLE
        if none_comparable(r.changes)
        else "No rate moved beyond noise since last month."
    )
    return f'<div class="summary">{tiles_html}</div>\n{fired_list}\n<p>{_e(changed_text)}</p>'


def _deals_html(r: rv.Review) -> str:
    """The month's closed deals, each number the history cannot support said so."""
    deals = r.deals.iloc[0] if len(r.deals) else None
    av = r.availability
    revenue = float(deals["won_revenue"]) if deals is not None else 0.0
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
    return _table(
        ["", "Won", "Won revenue", "Lost", "Win rate", "Average won amount"], deals_rows
    ) + "".join(
        f'<p class="note not-measurable">Not measurable: {_e(reason)}</p>'
        for reason in dict.fromkeys(av.reasons().values())
    )


def _goals_figure(r: rv.Review, fig: _Figures) -> str:
    """The goals chart, or why goals cannot be compared (no targets)."""
    if not r.availability.goals.measurable:
        reason = r.availability.goals.reason
        return f'<p class="note not-measurable">Not measurable: {_e(reason)}</p>'
    return fig(charts.goals_chart(r.goals), "goals")


def render_html(r: rv.Review, generated_at: datetime | None = None) -> str:
    """The review as one self-contained HTML document (text).

    Sections, as on the page: summary tiles; goals vs actuals with the month's funnel and
    SLA by tier; health checks; what changed; outcomes (pipeline status of the month's
    MQLs, deals closed, rejection reasons); the reverse-funnel plan; definitions.
    """
    fig = _Figures()
    generated_at = generated_at or datetime.now(UTC).replace(tzinfo=None)
    caveat = month_caveat(r)
    month_note = "" if caveat is None else " " + caveat[1].replace("**", "")
    h = r.headline
    rates_html, needed_html = _plan_section(r.plan)
    p = r.plan
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
{_summary_html(r)}
</section>
<section id="goals"><h2>Goals vs actuals</h2>
{_goals_section(r)}
{_goals_figure(r, fig)}
<h3>The month's funnel</h3>
<p class="note">Definition: {_e(metrics.BASIS_NAMES[r.basis].lower())}. Rates: {
        _e(metrics.basis_sentence(r.basis, "a stage", "the next stage"))
    }.</p>
{_funnel_table(r.funnel, r.basis)}
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
{_deals_html(r)}
<h3>Why sales turned MQLs down</h3>
{_reasons_table(r.reasons, r.availability)}
{fig(charts.reasons_chart(r.reasons), "reasons") if r.availability.rejections.measurable else ""}
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
    basis: str = "entered",
) -> str:
    """The HTML report of ``month`` as text (what the page's download button serves)."""
    review = rv.build_review(
        con, month, settings or rv.ReviewSettings(), revenue_goal, trailing_months, basis
    )
    return render_html(review)


def render_report(
    con: duckdb.DuckDBPyConnection,
    month: date | str,
    out_path: Path | str,
    settings: rv.ReviewSettings | None = None,
    revenue_goal: float | None = None,
    trailing_months: int = 6,
    basis: str = "entered",
) -> Path:
    """Write the review of ``month`` (``YYYY-MM``) as one self-contained HTML file.

    Returns the path written. The file opens offline in any browser (~5 MB: plotly.js is
    embedded once).
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = report_html(con, month, settings, revenue_goal, trailing_months, basis)
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
    basis: str = "entered",
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
            trailing_months=trailing_months, basis=basis,
        )  # fmt: skip
    finally:
        con.close()
    written = [html_path]
    if pdf is not None:
        written.append(render_pdf(html_path, pdf))
    return written
