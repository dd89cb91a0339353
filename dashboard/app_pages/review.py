"""Monthly review: goals vs actuals, health checks, changes, outcomes and the revenue plan."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import streamlit as st

from analysis import config, store
from analysis.imports import ingest
from analysis.lifecycle import review as rv
from analysis.store import settings as company_settings
from dashboard import periods_ui as ui
from dashboard import report as rp
from dashboard import review_sections as sections
from dashboard import state, urlstate
from dashboard.sections import draw_open, lazy_tabs
from dashboard.tables import show_table

ss = st.session_state

st.title("Monthly review")
st.caption(
    "The smarketing meeting in one page: goals against actuals, the four classic handoff "
    "failures, what changed beyond noise, where the month's MQLs are now, and what the "
    "revenue goal needs at recent conversion rates. The review covers the whole company "
    "(targets are company-wide), so it has no sidebar filters."
)

state.require_database()
months = state.call(rv.available_months)
currency = state.call(company_settings.load).currency

if not months:
    st.info("The database has no history yet: import files with `handoff import`.")
    st.stop()

# --- controls ---------------------------------------------------------------------------
c_month, c_basis, c_thresholds = st.columns([1, 1.2, 1.8])
default = state.call(rv.default_month)
urlstate.restore("rv_month", "month", parse=rv.parse_month, options=months)
month: date = c_month.selectbox(
    "Month",
    months,
    index=None if "rv_month" in ss else (months.index(default) if default in months else 0),
    format_func=lambda m: (
        rv.month_label(m) + ("" if m != months[0] or m == default else " (running)")
    ),
    key="rv_month",
    help="Calendar month, UTC. Opens on the last complete month that has data.",
)
urlstate.mirror("rv_month", "month", fmt=lambda m: m.strftime("%Y-%m"))
basis = ui.basis_control("rv_basis", c_basis)
urlstate.restore("rv_window", "window", parse=int, options=range(1, 181))
urlstate.restore("rv_shortfall", "shortfall", parse=int, options=range(50, 101))
urlstate.restore("rv_noise", "noise", parse=lambda t: t == "on")
THRESHOLD_PARAMS = {"rv_window": "window", "rv_shortfall": "shortfall", "rv_noise": "noise"}
if "rv_thresholds_open" not in ss:
    # open on a link that sets a threshold; fixed for the session (part of its identity)
    ss["rv_thresholds_open"] = any(p in st.query_params for p in THRESHOLD_PARAMS.values())
# Its four controls are built only while it is open (most visits never change them).
thresholds = c_thresholds.expander(
    "Check thresholds", expanded=ss["rv_thresholds_open"], key="rv_thresholds", on_change="rerun"
)
if thresholds.open:
    with thresholds:
        t1, t2 = st.columns(2)
        sla_floor = t1.number_input(
            "SLA compliance floor (%)",
            min_value=0.0,
            max_value=100.0,
            value=None,
            step=1.0,
            placeholder="the month's target",
            key="rv_sla_floor",
            help="Empty: the month's pct_contacted_in_sla target, else 80%.",
        )
        window = t2.number_input(
            "Conversion window (days)",
            min_value=1,
            max_value=180,
            value=None if "rv_window" in ss else 30,
            key="rv_window",
            help="MQL→SQL and the cohort rates under 'What changed' count conversions within "
            "this many days; a month is judged once all its MQLs have had that long.",
        )
        shortfall = t1.slider(
            "Not enough MQLs below (% of target)",
            50,
            100,
            None if "rv_shortfall" in ss else 90,
            key="rv_shortfall",
        )
        beyond_noise = t2.toggle(
            "Flag shortfalls only beyond noise",
            value=ss.get("rv_noise", True),
            key="rv_noise",
            help="On: a rate counts as below its floor only when its whole 95% interval is below.",
        )
else:
    urlstate.keep(["rv_sla_floor", *THRESHOLD_PARAMS])
    sla_floor = ss.get("rv_sla_floor")
    window, shortfall = ss.get("rv_window", 30), ss.get("rv_shortfall", 90)
    beyond_noise = ss.get("rv_noise", True)
    c_thresholds.caption(
        sections.thresholds_text(sla_floor, window, shortfall, beyond_noise),
    )
urlstate.mirror("rv_window", "window")
urlstate.mirror("rv_shortfall", "shortfall")
urlstate.mirror("rv_noise", "noise", fmt=lambda v: "on" if v else "off")
settings = sections.page_settings(sla_floor, window, shortfall, beyond_noise)
month_iso = month.strftime("%Y-%m")
review = sections.head_of(month, basis)

caveat = rp.month_caveat(review)
if caveat is not None:
    kind, text = caveat
    if kind == "undated":
        st.info(text, icon=":material/event_busy:")
    else:
        st.warning(text, icon=":material/hourglass_top:")

# --- headline: tiles, goals vs actuals, the month's funnel and SLA ------------------------
health_place = sections.tiles(review, currency)
got = sections.MonthCalls(month, settings, basis, review.headline["volumes"].get("mql"))
sections.goals_section(review, basis, got)

# --- the rest ------------------------------------------------------------------------------
checks = got[rv.checks_of]
sections.health_tile(health_place, checks)
sections.checks_section(checks)
sections.changes_section(got[rv.what_changed], settings, month_iso)

# --- outcomes, plan and targets: the open one of the three tabs is drawn ---------------------


def targets_section() -> None:
    """The year's monthly goals in an editor that saves them, and a CSV import."""
    year_first = date(month.year, 1, 1)
    year_last = date(month.year, 12, 1)
    grid_df = state.call(rv.targets_grid, year_first, year_last)
    st.caption(
        f"Monthly goals for {month.year}. Counts are per month; won revenue in the currency of "
        "your opportunity amounts; SLA share as a fraction (0.85 = 85%). Clear a cell to remove "
        "that target. Saving writes a new version of the database; the dashboard reloads it."
    )
    version = ss.get("rv_targets_version", 0)
    count_col = {"min_value": 0.0, "step": 1.0, "format": "%.0f"}
    edited = st.data_editor(
        grid_df,
        key=f"rv_targets_editor_{version}",
        hide_index=True,
        width="stretch",
        num_rows="fixed",
        height=(len(grid_df) + 1) * 35 + 3,
        disabled=["month"],
        column_config={
            "month": st.column_config.TextColumn("Month"),
            **{
                g.metric: st.column_config.NumberColumn(g.label, **count_col)
                for g in rv.GOALS
                if g.unit == "count"
            },
            "won_revenue": st.column_config.NumberColumn(
                "Won revenue", min_value=0.0, step=1000.0, format="%.0f"
            ),
            "pct_contacted_in_sla": st.column_config.NumberColumn(
                "SLA share (0-1)", min_value=0.0, max_value=1.0, step=0.01, format="%.2f"
            ),
        },
    )
    pending = rv.pending_target_changes(grid_df, edited)
    if not state.writes_enabled():
        st.caption(state.READ_ONLY_NOTE)
    s1, s2 = st.columns([1, 4])
    if s1.button(
        f"Save {len(pending)} change{'s' if len(pending) != 1 else ''}",
        key="rv_targets_save",
        type="primary",
        disabled=pending.empty or not state.writes_enabled(),
    ):
        try:
            result = rv.set_targets(config.db_path(), pending)
        except (ValueError, store.SchemaError, FileNotFoundError) as exc:
            ss["rv_targets_msg"] = ("error", f"Targets not saved: {exc}")
        else:
            ss["rv_targets_msg"] = (
                "success",
                f"Saved: {result.upserted} target(s) set, {result.deleted} removed.",
            )
            ss["rv_targets_version"] = version + 1
        st.rerun()
    if "rv_targets_msg" in ss:
        kind, text = ss.pop("rv_targets_msg")
        (st.success if kind == "success" else st.error)(text)

    with st.expander("Import targets from a CSV file"):
        st.markdown(
            "Columns `month` (first day of the month, `YYYY-MM-DD`), `metric` (one of "
            + ", ".join(f"`{g.metric}`" for g in rv.GOALS)
            + ") and `value`. A row replaces the target with the same month and metric."
        )
        long = rv.targets_long(grid_df)
        st.download_button(
            "Download these targets as CSV (a template)",
            data=long.to_csv(index=False).encode("utf-8"),
            file_name=f"targets_{month.year}.csv",
            mime="text/csv",
            key="rv_targets_template",
            on_click="ignore",
        )
        upload = st.file_uploader("Targets CSV", type=["csv"], key="rv_targets_csv")
        if upload is not None and st.button("Import", key="rv_targets_import"):
            with tempfile.TemporaryDirectory(prefix="hh-targets-") as tmp:
                path = Path(tmp) / "targets.csv"
                path.write_bytes(upload.getvalue())
                try:
                    res = ingest.import_files(config.db_path(), [path], table="targets")
                except (ingest.UnusableInput, store.SchemaError, FileNotFoundError) as exc:
                    ss["rv_import_result"] = (str(exc), None)
                else:
                    accepted = sum(res.accepted.values())
                    ss["rv_import_result"] = (
                        f"{accepted:,} target row(s) imported, {len(res.refused):,} refused.",
                        res.refused[["row_number", "column", "reason"]],
                    )
                    ss["rv_targets_version"] = version + 1
            st.rerun()
        if "rv_import_result" in ss:
            text, refused = ss.pop("rv_import_result")
            if refused is None:
                st.error(text)
            else:
                (st.warning if len(refused) else st.success)(text)
                if len(refused):
                    show_table(refused, "rv_targets_refused", "targets_refused.csv")


draw_open(
    lazy_tabs(
        "rv_section",
        {"outcomes": "Outcomes", "plan": "Reverse-funnel plan", "targets": "Targets"},
        implied={"trailing": "plan"},
    ),
    {
        "outcomes": lambda: sections.outcomes_section(
            review, got[rv.pipeline_status], got[rv.reason_changes], currency
        ),
        "plan": lambda: sections.planner_section(month_iso, review.label, settings, currency),
        "targets": targets_section,
    },
)

# --- report -----------------------------------------------------------------------------
st.header("Report")
st.caption(
    "This page's sections and numbers in one file; its plan uses the revenue goal and "
    "window last set in the Reverse-funnel plan tab above (the defaults until then)."
)


def report_bytes() -> bytes:
    """The HTML report with the page's settings and the plan's last goal and window (run
    when the button is clicked), read through the page's engine connection (the DuckDB
    file, or Spark over Parquet)."""
    revenue_goal, trailing = sections.plan_choice(month_iso)
    con = state.cursor()
    try:
        return rp.report_html(con, month_iso, settings, revenue_goal, trailing, basis).encode(
            "utf-8"
        )
    finally:
        con.close()


def report_pdf() -> bytes:
    """The same report printed to PDF by headless chromium."""
    with tempfile.TemporaryDirectory(prefix="hh-report-") as tmp:
        html_path = Path(tmp) / "review.html"
        html_path.write_bytes(report_bytes())
        return rp.render_pdf(html_path, Path(tmp) / "review.pdf").read_bytes()


b1, b2, _ = st.columns([3, 2, 4])
b1.download_button(
    "Download HTML report",
    data=report_bytes,
    file_name=f"monthly_review_{month_iso}.html",
    mime="text/html",
    key="rv_report_html",
    icon=":material/download:",
    on_click="ignore",
    help="One self-contained file with these sections and numbers; opens offline.",
)
if rp.chromium_path():
    b2.download_button(
        "Download PDF",
        data=report_pdf,
        file_name=f"monthly_review_{month_iso}.pdf",
        mime="application/pdf",
        key="rv_report_pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
        help="The HTML report printed by headless chromium (takes a few seconds).",
    )
