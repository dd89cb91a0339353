"""Data: what is stored, what needs cleaning, label merges, refused rows, and the importer.

The section is a keyed control (``data_tab``, in the URL as ``?tab=``), not ``st.tabs``:
only the chosen section is computed, and after an import or a merge the page reruns on
the section the user was on. The importer lives in :mod:`dashboard.data_import`, the label
merges in :mod:`dashboard.data_labels`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import config, store
from analysis.imports import aliases, counts, quality
from analysis.scoring import leakage
from analysis.store import settings as company_settings
from dashboard import display, state, urlstate
from dashboard.data_import import import_section, md
from dashboard.data_labels import labels_section

ss = st.session_state
SECTIONS = {
    "quality": "Data quality",
    "tables": "Tables",
    "import": "Import a CRM export",
    "refused": "Refused rows",
    "audit": "Who wrote",
}

WHEN = "YYYY-MM-DD HH:mm"

st.title("Data")
st.caption(
    "What is stored, what needs cleaning, which rows imports refused and why, and an "
    "importer for flat CRM exports (HubSpot contacts, Salesforce leads and opportunities "
    "reports). Every check covers the whole database."
)


def _database_ready() -> bool:
    try:
        state.db_key()
    except FileNotFoundError:
        return False
    return True


has_db = _database_ready()
for flash in ("data_merged",):
    if flash in ss:
        st.success(ss.pop(flash))
if ss.get("data_imported") and ss.get("data_tab") != "import":
    done = ss["data_imported"]
    st.success(
        f"Imported batch `{done['batch_id']}`: "
        + "; ".join(md(line) for line in done.get("lines", []))
        + f". {done['refused']:,} rows refused (see Refused rows). Every page now shows the "
        "new data."
    )

urlstate.restore("data_tab", "tab", options=list(SECTIONS))
if ss.get("data_tab") not in SECTIONS:
    ss["data_tab"] = "quality"
section = st.segmented_control(
    "Section",
    list(SECTIONS),
    format_func=SECTIONS.get,
    key="data_tab",
    required=True,
    label_visibility="collapsed",
)
urlstate.mirror("data_tab", "tab")


def _no_database() -> None:
    st.info(
        f"No database at `{config.db_path()}` yet. Import a CRM export (section "
        f"“{SECTIONS['import']}”), or create the demo history with `handoff generate`."
    )


# --------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------


def quality_section() -> None:
    """Headline counts, duplicates, missing fields, label merges and other findings."""
    try:
        batches = state.call(quality.import_batches)
        dup_summary = state.call(quality.duplicate_summary)
        missing = state.call(quality.missing_fields)
        variants = state.call(aliases.proposals)
        undated = state.call(quality.undated_stage_entries)
        out_of_order = state.call(quality.out_of_order_history)
        catalogue = state.call(leakage.property_overview)
    except store.SchemaError as exc:
        st.error(md(exc))
        st.stop()
    n_leads = int(missing.loc[missing["among"] == "all leads", "leads"].max())
    either = dup_summary.set_index("rule").loc["either"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Leads", display.fmt_count(n_leads))
    c2.metric(
        "Duplicate leads",
        display.fmt_count(int(either["extra"])),
        help="Leads beyond the first of each group sharing an e-mail address or a name "
        "and company: the rows a merge would remove.",
    )
    c3.metric(
        "Labels to standardise",
        display.fmt_count(len(variants)),
        help="Spellings of industries, countries, sources, campaigns and regions that "
        "mean the same as a more common one.",
    )
    c4.metric("Refused rows (all imports)", display.fmt_count(int(batches["refused"].sum())))
    _duplicates(dup_summary, either)
    _missing(missing)
    labels_section(variants)
    _findings(undated, out_of_order, catalogue)


def _duplicates(dup_summary: pd.DataFrame, either: pd.Series) -> None:
    st.subheader("Duplicates")
    st.caption(
        "Two leads are the same person when their e-mail addresses match (case and "
        "spaces ignored) or their name and company both match. Groups join both rules; "
        "the first created lead of a group is the original."
    )
    st.dataframe(
        display.label_frame(
            dup_summary,
            ["rule"],
            {"rule": "Rule", "groups": "Groups", "leads": "Leads", "extra": "Extra leads"},
        ),
        hide_index=True,
        key="data_dup_summary",
    )
    if int(either["groups"]):
        with st.expander(f"Show the {int(either['groups']):,} duplicate groups"):
            groups = state.call(quality.duplicate_leads)
            if not state.call(company_settings.load).show_personal_data:
                groups = quality.mask_personal(groups)
                st.caption(
                    "Names and e-mail addresses are masked; the setting "
                    "“Show personal data” shows them."
                )
            st.dataframe(
                display.label_frame(groups.head(2000)),
                hide_index=True,
                width="stretch",
                column_config={
                    display.label("created_at"): st.column_config.DatetimeColumn(format=WHEN)
                },
            )


def _missing(missing: pd.DataFrame) -> None:
    st.subheader("Missing fields")
    st.caption(
        "Leads without a value (empty or a placeholder at import) in a field that an "
        "analysis needs. The owner only matters once a lead is handed to sales."
    )
    st.dataframe(
        display.label_frame(
            missing,
            ["field"],
            {"share": "Share missing", "used_for": "Used for", "among": "Among"},
        ),
        hide_index=True,
        width="stretch",
        key="data_missing",
        column_config={
            "Share missing": st.column_config.ProgressColumn(
                format="percent", min_value=0.0, max_value=1.0
            ),
            "Missing": st.column_config.NumberColumn(format="localized"),
            "Leads": st.column_config.NumberColumn(format="localized"),
        },
    )


def _findings(undated: pd.DataFrame, out_of_order: pd.DataFrame, catalogue: pd.DataFrame) -> None:
    """Stage entries without a date, facts dated before their lead, lead properties."""
    if len(undated):
        st.subheader("Stage entries without a date")
        st.caption(
            "Imported from a lifecycle stage, lead status or flag without a date: each "
            "is placed at the latest date known before it (a lower bound), so velocity "
            "through these stages is understated."
        )
        st.dataframe(display.label_frame(undated, ["stage"]), hide_index=True, key="data_undated")

    if len(out_of_order):
        st.subheader("Facts dated before their lead")
        st.caption(
            "The export dated these stage entries before their lead's creation (for "
            "example a timestamped won date a few days before a date-only first "
            "contact). They are kept and counted, placed at the lead's creation time; "
            "“Given at” is the date the export gave."
        )
        st.dataframe(
            display.label_frame(out_of_order, ["stage"], {"lead_created_at": "Lead created"}),
            hide_index=True,
            width="stretch",
            key="data_out_of_order",
        )

    st.subheader("Lead properties")
    if catalogue.empty:
        st.caption(
            "No custom properties stored. A flat import keeps every column it does not "
            "map as a lead property, usable as a feature in the scoring lab."
        )
    else:
        st.caption(
            "Custom columns kept from flat imports; the scoring lab can use them as "
            "features. A property sales fills in after the handoff (a status, a rating, "
            "a reason) knows the outcome: the verdict weighs how well it predicts "
            "reaching SQL on its own (AUC among handed-off leads), whether it is "
            "missing mostly for leads never handed off, and its name."
        )
        st.dataframe(
            display.label_frame(catalogue),
            hide_index=True,
            width="stretch",
            key="data_catalogue",
            column_config={"AUC": st.column_config.NumberColumn(format="%.2f")},
        )


def tables_section() -> None:
    """The table inventory: rows and date range per table, and the last imports."""
    summary = state.call(store.table_summary)
    st.subheader("Tables")
    st.caption(
        "Every table of the database with its rows and the range of its main date "
        "(lead creation, stage change, activity … in UTC)."
    )
    when = {
        f"{edge.capitalize()} event": summary[edge].map(
            lambda t: display.MISSING if pd.isna(t) else f"{t:%Y-%m-%d %H:%M}"
        )
        for edge in ("first", "last")
    }
    shown = pd.DataFrame(
        {
            "Table": summary["table"].map(display.label),
            "Rows": summary["rows"].map(display.fmt_count),
            **when,
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=(len(shown) + 1) * 35 + 3,
        key="data_tables",
        column_config={"Rows": st.column_config.TextColumn(width="small")},
    )
    batches = state.call(store.import_batches, 10)
    st.subheader("Last imports")
    if batches.empty:
        st.caption("No import batches recorded.")
        return
    _batches_table(batches, "data_last_imports")


def _batches_table(batches: pd.DataFrame, key: str) -> None:
    shown = batches.assign(
        kind=batches["kind"].map(display.label),
        accepted=batches["accepted"].map(display.fmt_count),
        refused=batches["refused"].map(display.fmt_count),
    )
    st.dataframe(
        display.label_frame(
            shown,
            names={
                "started_at": "Started (UTC)",
                "finished_at": "Finished (UTC)",
                "kind": "Kind",
                "accepted": "Rows applied",
                "refused": "Rows refused",
            },
        ),
        hide_index=True,
        width="stretch",
        key=key,
        column_config={
            "Started (UTC)": st.column_config.DatetimeColumn(format=WHEN),
            "Finished (UTC)": st.column_config.DatetimeColumn(format=WHEN),
        },
    )


def refused_section() -> None:
    """Import batches, their refused rows grouped and listed, and values left empty."""
    batches = state.call(quality.import_batches)
    st.caption(
        "Every import is one batch, applied in one transaction. Rows a batch refused are "
        "kept with the file, the row number (the header is row 1), the column at fault "
        "and the reason. A bad value in an optional field (an employee count of “lots”) "
        "does not refuse its row: the field is left empty and listed under values left "
        "empty."
    )
    _batches_table(batches, "data_batches")
    warned = state.call(counts.stored_warnings)
    with_refusals = batches.loc[batches["refused"] > 0, "batch_id"].tolist()
    if not with_refusals:
        st.caption("No import refused any row.")
    else:
        batch = st.selectbox("Import batch", with_refusals, key="data_batch")
        groups = state.call(quality.refusal_groups)
        st.dataframe(
            display.label_frame(
                groups.loc[groups["batch_id"] == batch].drop(columns="batch_id"),
                ["table"],
                {"first_row": "First row", "example": "Example reason"},
            ),
            hide_index=True,
            width="stretch",
            key="data_refusal_groups",
        )
        rows = state.call(quality.refused_rows, batch)
        if not state.call(company_settings.load).show_personal_data:
            rows = quality.mask_personal(rows)
        st.dataframe(
            display.label_frame(
                rows.drop(columns="batch_id"),
                ["table"],
                {"row_number": "Row", "raw": "Row as read"},
            ),
            hide_index=True,
            width="stretch",
            key="data_refused_rows",
        )
    st.subheader("Values left empty")
    if warned.empty:
        st.caption("No import left a value empty.")
    else:
        st.dataframe(
            display.label_frame(warned, ["table"], {"row_number": "Row"}),
            hide_index=True,
            width="stretch",
            key="data_warned_rows",
        )


def audit_section() -> None:
    """Who wrote the database, when and from where."""
    st.caption(
        "Every write to the database (imports, label merges, targets, settings, saved "
        "scoring rules, generated demos) with when, who and from where, newest first. The "
        "dashboard writes only when served with `handoff serve --allow-writes`."
    )
    log = state.call(store.write_log, 50)
    if log.empty:
        st.caption("No write recorded yet (files written before the log existed).")
        return
    names = {
        "written_at": "Written (UTC)",
        "actor": "Who",
        "host": "Host",
        "pid": "Process",
        "batches": "Import batches",
    }
    st.dataframe(
        display.label_frame(log, names=names),
        hide_index=True,
        width="stretch",
        key="data_write_log",
        column_config={
            "Written (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "Process": st.column_config.NumberColumn(format="%d"),
        },
    )


if section == "import":
    # Uploads are written to a temporary folder removed at the end of every run.
    with tempfile.TemporaryDirectory(prefix="handoff-upload-") as upload_dir:
        import_section(Path(upload_dir))
elif not has_db:
    _no_database()
elif section == "quality":
    quality_section()
elif section == "tables":
    tables_section()
elif section == "refused":
    refused_section()
else:
    audit_section()
