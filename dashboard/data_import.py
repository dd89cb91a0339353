"""The Data page's importer: upload a flat CRM export, check its mapping, dry run, import.

Import stays disabled until a dry run of exactly these files (same names and bytes), this
mapping and this strict choice has run in the session; the dry run says per file and per
table what would be written ("leads.csv: 10 rows → would write 10 leads, 14 properties,
10 stage changes"). After an import the page stays where it was: the section is a keyed
control (``data_tab``), not ``st.tabs``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import config, store
from analysis.imports import counts, flat
from analysis.imports.ingest import ImportResult, UnusableInput
from dashboard import display, state

ss = st.session_state
EXAMPLES = config.DATA_DIR / "examples"
PRESET_LABELS = {
    "detect": "Detect from the header",
    "hubspot": "HubSpot contacts export",
    "salesforce": "Salesforce leads report",
}
FORMAT_OPTIONS = ["auto", *flat.DATE_FORMATS]


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


WRITTEN_NAMES = {
    "file": "File",
    "table": "Table",
    "written": "Rows written",
    "refused": "Rows refused",
    "left_empty": "Values left empty",
}


def _show_result(result: ImportResult, dry_run: bool) -> None:
    """What the batch writes per file and table, its refusals and the values it left empty."""
    refused, empty = len(result.refused), len(result.warnings)
    if dry_run:
        st.markdown(
            f"**Check (dry run)**: nothing was written. {display.fmt_count(refused)} "
            f"row{'' if refused == 1 else 's'} would be refused, "
            f"{display.fmt_count(empty)} value{'' if empty == 1 else 's'} left empty."
        )
    for line in counts.file_lines(result, dry_run=dry_run):
        st.markdown(f"- {md(line)}")
    for warning in flat.warnings_of(result.notes):
        st.warning(md(warning))
    table = counts.per_file(result)
    table["table"] = table["table"].map(display.label)
    for col in ("written", "refused", "left_empty"):
        table[col] = table[col].map(display.fmt_count)
    st.dataframe(
        table.rename(columns=WRITTEN_NAMES),
        hide_index=True,
        key=f"data_summary_{dry_run}",
    )
    for note in result.notes:
        if flat.plan.WARNING not in note:
            st.caption(f"• {md(note)}")
    if empty:
        st.markdown("**Values left empty** (the rows are kept; a bad optional value is not stored)")
        shown = result.warnings[["table", "file", "row_number", "column", "value", "reason"]]
        st.dataframe(
            display.label_frame(shown.head(500), ["table"], {"row_number": "Row"}),
            hide_index=True,
            width="stretch",
            key=f"data_warnings_{dry_run}",
        )
    if refused:
        st.markdown("**Refused rows**")
        shown = result.refused[["table", "file", "row_number", "column", "reason", "raw"]]
        st.dataframe(
            display.label_frame(
                shown.head(500), ["table"], {"row_number": "Row", "raw": "Row as read"}
            ),
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
            "column": st.column_config.TextColumn("Column of the file"),
            "example": st.column_config.TextColumn("Examples"),
            "role": st.column_config.SelectboxColumn(
                "Read as", options=flat.role_options(kind), required=True
            ),
            "date_format": st.column_config.SelectboxColumn(
                "Date format", options=FORMAT_OPTIONS, required=True
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
                "value": st.column_config.TextColumn("Value"),
                "leads": st.column_config.NumberColumn("Leads", format="localized"),
                "stage": st.column_config.SelectboxColumn("Stage", options=["", *flat.ALL_STAGES]),
            },
        )
        mapping = mapping.with_stage_values(col, table_edit)
    return mapping


def _run_import(paths: list[Path], mapping: flat.Mapping, problems: list[str]) -> None:
    """The check and import buttons, and the last check's result.

    Import is enabled only once a dry run of exactly these files (names and bytes), this
    mapping and this strict choice has run in the session.
    """
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
    files = tuple((p.name, _digest(p)) for p in paths)
    signature = (files, mapping.to_toml(), strict)
    checked = ss.get("data_check_result")
    fresh = checked is not None and checked[0] == signature
    writable = state.writes_enabled()
    b1, b2 = st.columns(2)
    check = b1.button("Check (dry run)", key="data_check", disabled=bool(problems))
    if check:
        try:
            with st.spinner("Checking…"):
                result = flat.import_flat(
                    config.db_path(), paths, mapping=mapping, strict=strict, dry_run=True
                )
        except (UnusableInput, store.SchemaError) as exc:
            st.error(md(exc))
            ss.pop("data_check_result", None)
        else:
            ss["data_check_result"] = (signature, result)
        checked = ss.get("data_check_result")
        fresh = checked is not None and checked[0] == signature
    go = b2.button(
        "Import into the database",
        key="data_import",
        type="primary",
        disabled=bool(problems) or not writable or not fresh,
        help=None if fresh else "Run the check (dry run) on these files first.",
    )
    if not writable:
        st.info(state.READ_ONLY_NOTE)
    elif not fresh:
        st.caption("Import is enabled once the check (dry run) has run on exactly these files.")
    done = ss.get("data_imported")
    if done and not fresh and not go:
        st.success(
            f"Imported batch `{done['batch_id']}`: "
            + "; ".join(md(line) for line in done.get("lines", []))
            + f". {done['refused']:,} rows refused (see Refused rows)."
        )
    if go and fresh:
        try:
            with st.spinner("Importing…"):
                result = flat.import_flat(
                    config.db_path(), paths, mapping=mapping, strict=strict, dry_run=False
                )
        except (UnusableInput, store.SchemaError, store.WriterBusy) as exc:
            st.error(md(exc))
        else:
            if result.applied:
                ss["data_imported"] = {
                    "batch_id": result.batch_id,
                    "accepted": sum(result.accepted.values()),
                    "refused": len(result.refused),
                    "lines": counts.file_lines(result, dry_run=False),
                }
                ss.pop("data_check_result", None)
                st.rerun()
            st.warning(
                f"Strict mode: {len(result.refused):,} rows were refused, so nothing was imported."
            )
            _show_result(result, dry_run=False)
            return
    if checked is not None:
        if not fresh:
            st.info("The files or the mapping changed since the last check: check again.")
        else:
            _show_result(checked[1], dry_run=True)


def import_section(folder: Path) -> None:
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
