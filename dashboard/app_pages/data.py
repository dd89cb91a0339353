"""Data: data-quality findings, refused rows per import, and importing a flat CRM export."""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import config, store
from analysis.imports import flat, quality
from analysis.imports.ingest import ImportResult, UnusableInput
from analysis.scoring import leakage
from analysis.store import settings as company_settings
from dashboard import state

ss = st.session_state
EXAMPLES = config.DATA_DIR / "examples"
PRESET_LABELS = {
    "detect": "Detect from the header",
    "hubspot": "HubSpot contacts export",
    "salesforce": "Salesforce leads report",
}
FORMAT_OPTIONS = ["auto", *flat.DATE_FORMATS]

st.title("Data")
st.caption(
    "What needs cleaning in the stored history, which rows imports refused and why, and "
    "an importer for flat CRM exports (HubSpot contacts, Salesforce leads and "
    "opportunities reports). The sidebar filters do not apply here: every check covers "
    "the whole database."
)


# --------------------------------------------------------------------------------------
# Cached reads of uploaded files
# --------------------------------------------------------------------------------------


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=])")


def md(text: object) -> str:
    """User text (file, column, property names, values) made inert for Markdown."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


@st.cache_data(max_entries=16, show_spinner=False)
def read_export(_path: str, key: tuple[str, str]) -> pd.DataFrame:
    """The export at ``_path``, cached by (file name, content digest)."""
    del key  # the cache key only: the path is a fresh temporary one on every run
    return flat.read_export(Path(_path))


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def _save_uploads(uploads: list, folder: Path) -> list[Path]:
    """Write uploaded files beside each other in ``folder`` (the importer reads paths)."""
    paths = []
    for up in uploads:
        path = folder / Path(up.name).name
        path.write_bytes(up.getvalue())
        paths.append(path)
    return paths


def _database_ready() -> bool:
    try:
        state.db_key()
    except FileNotFoundError:
        return False
    return True


# --------------------------------------------------------------------------------------
# Tabs
# --------------------------------------------------------------------------------------

has_db = _database_ready()
if ss.get("data_imported"):
    done = ss["data_imported"]
    st.success(
        f"Imported batch `{done['batch_id']}`: {done['accepted']:,} rows applied, "
        f"{done['refused']:,} refused (kept in the refused rows below). Every page now shows "
        "the new data."
    )

tab_quality, tab_import, tab_refused, tab_audit = st.tabs(
    ["Data quality", "Import a CRM export", "Refused rows", "Who wrote"]
)

with tab_quality:
    if not has_db:
        st.info(
            f"No database at `{config.db_path()}` yet. Import a CRM export in the next tab, "
            "or create the demo history with `handoff generate`."
        )
    else:
        try:
            batches = state.call(quality.import_batches)
            dup_summary = state.call(quality.duplicate_summary)
            missing = state.call(quality.missing_fields)
            variants = state.call(quality.label_variants)
            undated = state.call(quality.undated_stage_entries)
            out_of_order = state.call(quality.out_of_order_history)
            catalogue = state.call(leakage.property_overview)
        except store.SchemaError as exc:
            st.error(md(exc))
            st.stop()
        n_leads = int(missing.loc[missing["among"] == "all leads", "leads"].max())
        either = dup_summary.set_index("rule").loc["either"]
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Leads", f"{n_leads:,}")
        c2.metric(
            "Duplicate leads",
            f"{int(either['extra']):,}",
            help="Leads beyond the first of each group sharing an e-mail address or a name "
            "and company: the rows a merge would remove.",
        )
        c3.metric(
            "Labels to standardise",
            f"{len(variants):,}",
            help="Spellings of industries, countries, sources, campaigns and regions that "
            "mean the same as a more common one.",
        )
        c4.metric("Refused rows (all imports)", f"{int(batches['refused'].sum()):,}")

        st.subheader("Duplicates")
        st.caption(
            "Two leads are the same person when their e-mail addresses match (case and "
            "spaces ignored) or their name and company both match. Groups join both rules; "
            "the first created lead of a group is the original."
        )
        st.dataframe(dup_summary, hide_index=True, key="data_dup_summary")
        if int(either["groups"]):
            with st.expander(f"Show the {int(either['groups']):,} duplicate groups"):
                groups = state.call(quality.duplicate_leads)
                if not state.call(company_settings.load).show_personal_data:
                    groups = quality.mask_personal(groups)
                    st.caption(
                        "Names and e-mail addresses are masked; the setting "
                        "`show_personal_data` shows them."
                    )
                st.dataframe(
                    groups.head(2000),
                    hide_index=True,
                    width="stretch",
                    column_config={
                        "created_at": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")
                    },
                )

        st.subheader("Missing fields")
        st.caption(
            "Leads without a value (empty or a placeholder at import) in a field that an "
            "analysis needs. The owner only matters once a lead is handed to sales."
        )
        st.dataframe(
            missing,
            hide_index=True,
            width="stretch",
            key="data_missing",
            column_config={
                "share": st.column_config.ProgressColumn(
                    "share missing", format="percent", min_value=0.0, max_value=1.0
                ),
                "missing": st.column_config.NumberColumn(format="localized"),
                "leads": st.column_config.NumberColumn(format="localized"),
            },
        )

        st.subheader("Inconsistent labels")
        if variants.empty:
            st.caption("Every label column uses one spelling per value.")
        else:
            st.caption(
                "Spellings that mean the same thing, with the proposed standard (the most "
                "common spelling of the group). Tick the ones to apply and download them as "
                "the `[values]` tables of an import mapping: the next import of your "
                "export stores the standard spelling."
            )
            editable = variants.assign(apply=True)
            edited = st.data_editor(
                editable,
                hide_index=True,
                width="stretch",
                key="data_variants",
                disabled=[c for c in editable.columns if c != "apply"],
                column_config={"apply": st.column_config.CheckboxColumn("apply")},
            )
            chosen = edited.loc[edited["apply"].astype(bool)]
            st.download_button(
                f"Download {len(chosen)} standardisations as mapping TOML",
                quality.standardisation_toml(chosen),
                file_name="standard_labels.toml",
                mime="application/toml",
                key="data_variants_download",
                disabled=chosen.empty,
            )

        if len(undated):
            st.subheader("Stage entries without a date")
            st.caption(
                "Imported from a lifecycle stage, lead status or flag without a date: each "
                "is placed at the latest date known before it (a lower bound), so velocity "
                "through these stages is understated."
            )
            st.dataframe(undated, hide_index=True, key="data_undated")

        if len(out_of_order):
            st.subheader("Facts dated before their lead")
            st.caption(
                "The export dated these stage entries before their lead's creation (for "
                "example a timestamped won date a few days before a date-only first "
                "contact). They are kept and counted, placed at the lead's creation time; "
                "`given_at` is the date the export gave."
            )
            st.dataframe(out_of_order, hide_index=True, width="stretch", key="data_out_of_order")

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
                catalogue,
                hide_index=True,
                width="stretch",
                key="data_catalogue",
                column_config={"auc": st.column_config.NumberColumn("AUC", format="%.2f")},
            )


def _show_result(result: ImportResult, dry_run: bool) -> None:
    accepted = sum(result.accepted.values())
    if dry_run:
        st.markdown(
            f"**Check (dry run)**: {accepted:,} rows would be applied, "
            f"{len(result.refused):,} refused. Nothing was written."
        )
    for warning in flat.warnings_of(result.notes):
        st.warning(md(warning))
    st.dataframe(result.summary(), hide_index=True, key=f"data_summary_{dry_run}")
    for note in result.notes:
        if flat.plan.WARNING not in note:
            st.caption(f"• {md(note)}")
    if len(result.refused):
        st.dataframe(
            result.refused[["table", "file", "row_number", "column", "reason", "raw"]].head(500),
            hide_index=True,
            width="stretch",
            key=f"data_refused_{dry_run}",
        )


def _examples() -> list[str]:
    """Example exports: the files in data/examples, and each real-shape set with a mapping."""
    if not EXAMPLES.is_dir():
        return []
    real = [f"real/{p.stem}" for p in sorted((EXAMPLES / "real").glob("*.toml"))]
    return [*sorted(p.name for p in EXAMPLES.glob("*.csv")), *real]


def _chosen_files(folder: Path) -> tuple[list[Path], Path | None]:
    """The uploaded files (written to ``folder``) or the example picked with its twin, and
    the example's own mapping file when it has one."""
    uploads = st.file_uploader(
        "CRM export files (CSV or Parquet)",
        type=["csv", "parquet"],
        accept_multiple_files=True,
        key="data_upload",
    )
    example = st.selectbox(
        "…or try an example export",
        ["", *_examples()],
        format_func=lambda v: v or "(none)",
        key="data_example",
        disabled=bool(uploads),
    )
    if uploads:
        return _save_uploads(uploads, folder), None
    if example.startswith("real/"):
        stem = example.removeprefix("real/")
        files = sorted((EXAMPLES / "real").glob(f"{stem}_*.csv"))
        return files, EXAMPLES / "real" / f"{stem}.toml"
    if example:
        paths = [EXAMPLES / example]
        twin = EXAMPLES / example.replace("_leads", "_opportunities")
        if twin != paths[0] and twin.exists():
            paths.append(twin)
        return paths, None
    return [], None


def _base_mapping(frames: list, folder: Path, example_mapping: Path | None) -> flat.Mapping:
    """The mapping to start from: a preset, one detected from the headers, or a file (an
    uploaded one, else the example's own)."""
    c1, c2 = st.columns(2)
    preset_choice = c1.selectbox(
        "Mapping", list(PRESET_LABELS), format_func=PRESET_LABELS.get, key="data_preset"
    )
    mapping_file = c2.file_uploader(
        "Mapping file (TOML, optional)", type=["toml"], key="data_mapping_file"
    )
    try:
        if mapping_file is not None:
            tpath = folder / Path(mapping_file.name).name
            tpath.write_bytes(mapping_file.getvalue())
            return flat.load_mapping(tpath, None if preset_choice == "detect" else preset_choice)
        if example_mapping is not None:
            return flat.load_mapping(example_mapping)
        if preset_choice == "detect":
            return flat.detect_files_mapping(frames)
        return flat.preset(preset_choice)
    except flat.MappingError as exc:
        st.error(md(exc))
        st.stop()
        raise  # st.stop() raises; this keeps type checkers sure


def _roles_editor(i: int, name: str, df: pd.DataFrame, base, mapping, problems: list):
    """The roles table of one file (and its stage values); the mapping with the edits."""
    kind = flat.classify(list(df.columns), base, name) or "leads"
    st.markdown(f"##### {md(name)} · {len(df):,} rows · read as a **{kind}** file")
    with st.expander("Preview (first rows as read)"):
        st.dataframe(df.head(8), width="stretch", key=f"data_preview_{i}")
    roles = base.roles(list(df.columns), kind)
    roles.insert(
        1,
        "example",
        [
            ", ".join(df[c].loc[df[c].str.strip() != ""].head(3).astype(str))[:60]
            for c in df.columns
        ],
    )
    digest = hashlib.sha1(f"{base.name}|{name}|{kind}|{','.join(df.columns)}".encode()).hexdigest()
    edited = st.data_editor(
        roles,
        hide_index=True,
        width="stretch",
        key=f"data_roles_{digest[:10]}",
        disabled=["column", "example"],
        column_config={
            "role": st.column_config.SelectboxColumn(
                "role", options=flat.role_options(kind), required=True
            ),
            "date_format": st.column_config.SelectboxColumn(
                "date format", options=FORMAT_OPTIONS, required=True
            ),
        },
    )
    try:
        mapping = mapping.with_roles(edited, kind)
    except flat.MappingError as exc:
        problems.append(f"{name}: {exc}")
        return mapping
    if kind != "leads":
        return mapping
    for col in list(mapping.stage_values):
        if col not in df.columns:
            continue
        table = flat.stage_value_table(mapping, col, df[col])
        st.caption(f"Stages read from the values of {md(col)}:")
        table_edit = st.data_editor(
            table,
            hide_index=True,
            key=f"data_stages_{digest[:10]}_{hashlib.sha1(col.encode()).hexdigest()[:8]}",
            disabled=["value", "leads"],
            column_config={
                "stage": st.column_config.SelectboxColumn("stage", options=["", *flat.ALL_STAGES])
            },
        )
        mapping = mapping.with_stage_values(col, table_edit)
    return mapping


def _run_import(paths: list[Path], mapping: flat.Mapping, problems: list[str]) -> None:
    """The check and import buttons, and the last check's result."""
    st.download_button(
        "Download this mapping (TOML)",
        mapping.to_toml(),
        file_name=f"{mapping.name}_mapping.toml",
        mime="application/toml",
        key="data_mapping_download",
        help="Use it with `handoff import --mapping FILE.toml` for the next export.",
    )
    strict = st.checkbox(
        "Strict: import nothing when any row is refused", key="data_strict", value=False
    )
    b1, b2 = st.columns(2)
    check = b1.button("Check (dry run)", key="data_check", disabled=bool(problems))
    writable = state.writes_enabled()
    go = b2.button(
        "Import into the database",
        key="data_import",
        type="primary",
        disabled=bool(problems) or not writable,
    )
    if not writable:
        st.info(state.READ_ONLY_NOTE)
    files = tuple((p.name, _digest(p)) for p in paths)
    signature = (files, mapping.to_toml(), strict)
    if check or go:
        try:
            with st.spinner("Checking…" if check else "Importing…"):
                result = flat.import_flat(
                    config.db_path(), paths, mapping=mapping, strict=strict, dry_run=bool(check)
                )
        except (UnusableInput, store.SchemaError) as exc:
            st.error(md(exc))
        else:
            if check:
                ss["data_check_result"] = (signature, result)
            elif result.applied:
                ss["data_imported"] = {
                    "batch_id": result.batch_id,
                    "accepted": sum(result.accepted.values()),
                    "refused": len(result.refused),
                }
                ss.pop("data_check_result", None)
                st.rerun()
            else:
                st.warning(
                    f"Strict mode: {len(result.refused):,} rows were refused, so nothing "
                    "was imported."
                )
                _show_result(result, dry_run=False)
    checked = ss.get("data_check_result")
    if checked is not None:
        if checked[0] != signature:
            st.info("The files or the mapping changed since the last check: check again.")
        else:
            _show_result(checked[1], dry_run=True)


def _import_tab(folder: Path) -> None:
    """Upload -> mapping -> roles -> check -> import; uploads live in ``folder``."""
    st.markdown(
        "Upload a flat export: one row per lead (and optionally a second file with deals "
        "keyed by the lead id, or a reps/teams file). Check the detected mapping, correct "
        "it, run the check, then import. The database file is replaced atomically; nothing "
        "changes unless the import succeeds."
    )
    paths, example_mapping = _chosen_files(folder)
    if not paths:
        st.info("Upload a file (or pick an example) to see how it would be imported.")
        return
    frames = []
    try:
        for path in paths:
            frames.append((path.name, read_export(str(path), (path.name, _digest(path)))))
    except UnusableInput as exc:
        st.error(md(exc))
        return
    base = _base_mapping(frames, folder, example_mapping)
    st.caption(f"Mapping in use: **{md(base.name)}**.")
    mapping, problems = base, []
    for i, (name, df) in enumerate(frames):
        mapping = _roles_editor(i, name, df, base, mapping, problems)
    for problem in problems:
        st.error(md(problem))
    meaning = flat.describe(mapping)
    if meaning:
        st.markdown(
            "**What this mapping says**\n\n" + "\n".join(f"- {md(line)}" for line in meaning)
        )
    _run_import(paths, mapping, problems)


with tab_import:
    # Uploads are written to a temporary folder removed at the end of every run.
    with tempfile.TemporaryDirectory(prefix="handoff-upload-") as upload_dir:
        _import_tab(Path(upload_dir))

with tab_refused:
    if not has_db:
        st.info("No database yet.")
    else:
        batches = state.call(quality.import_batches)
        st.caption(
            "Every import is one batch, applied in one transaction. Rows a batch refused are "
            "kept with the file, the row number (the header is row 1), the column at fault "
            "and the reason."
        )
        st.dataframe(
            batches,
            hide_index=True,
            width="stretch",
            key="data_batches",
            column_config={
                "finished_at": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                "accepted": st.column_config.NumberColumn(format="localized"),
                "refused": st.column_config.NumberColumn(format="localized"),
            },
        )
        with_refusals = batches.loc[batches["refused"] > 0, "batch_id"].tolist()
        if not with_refusals:
            st.caption("No import refused any row.")
        else:
            batch = st.selectbox("Batch", with_refusals, key="data_batch")
            groups = state.call(quality.refusal_groups)
            st.dataframe(
                groups.loc[groups["batch_id"] == batch].drop(columns="batch_id"),
                hide_index=True,
                width="stretch",
                key="data_refusal_groups",
            )
            rows = state.call(quality.refused_rows, batch)
            if not state.call(company_settings.load).show_personal_data:
                rows = quality.mask_personal(rows)
            st.dataframe(
                rows.drop(columns="batch_id"),
                hide_index=True,
                width="stretch",
                key="data_refused_rows",
            )

with tab_audit:
    if not has_db:
        st.info("No database yet.")
    else:
        st.caption(
            "Every write to the database (imports, targets, settings, saved scoring rules, "
            "generated demos) with when, who and from where, newest first. The dashboard "
            "writes only when served with `handoff serve --allow-writes`."
        )
        log = state.call(store.write_log, 50)
        if log.empty:
            st.caption("No write recorded yet (files written before the log existed).")
        else:
            st.dataframe(
                log,
                hide_index=True,
                width="stretch",
                key="data_write_log",
                column_config={
                    "written_at": st.column_config.DatetimeColumn(
                        "Written (UTC)", format="YYYY-MM-DD HH:mm:ss"
                    ),
                    "actor": "Who",
                    "host": "Host",
                    "pid": st.column_config.NumberColumn("Process", format="%d"),
                    "batches": "Import batches",
                },
            )
