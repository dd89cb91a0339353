"""The Data page's label merges: proposed spellings to merge, accepted and applied to the leads.

The user ticks (and may edit the standard of) each proposed merge; "Merge" records them in
``label_aliases`` and rewrites the stored leads in one write
(:func:`analysis.imports.aliases.accept`), so the sidebar's filter options, breakdowns and
every page see one value. Writing needs ``handoff serve --allow-writes``; read-only, the
page says so and offers the same merges as a mapping file and a ``handoff labels`` command.
"""

from __future__ import annotations

import shlex

import pandas as pd
import streamlit as st

from analysis import config, store
from analysis.imports import aliases, quality
from dashboard import display, state

NAMES = {
    "apply": "Merge",
    "column": "Column",
    "label": "Spelling now",
    "leads": "Leads",
    "proposed": "Merge into",
    "proposed_leads": "Leads already so",
    "rule": "Why",
}
"""Column headings of the proposals editor (stored name -> words)."""


def _command(chosen: pd.DataFrame) -> str:
    args = ["handoff", "labels", "accept", "--db", str(config.db_path())]
    for column, label, proposed in chosen[aliases.MERGE_COLUMNS].itertuples(index=False):
        args += ["--merge", f"{column}:{label}={proposed}"]
    return shlex.join(args)


def labels_section(proposals: pd.DataFrame) -> None:
    """The proposals editor, the Merge button (or the read-only note) and accepted merges."""
    st.subheader("Inconsistent labels")
    if proposals.empty:
        st.caption("Every label column uses one spelling per value.")
    else:
        st.caption(
            "Spellings that mean the same value, with the proposed standard (the most common "
            "spelling of the group). Untick a merge you do not want, or type another "
            "standard. Merging rewrites the stored leads and remembers the merge, so later "
            "imports are merged too and every filter lists one value."
        )
        shown = proposals.assign(apply=True)[list(NAMES)]
        shown["column"] = shown["column"].map(display.label)
        edited = st.data_editor(
            shown.rename(columns=NAMES),
            hide_index=True,
            width="stretch",
            key="data_variants",
            disabled=[NAMES[c] for c in NAMES if c not in ("apply", "proposed")],
            column_config={
                NAMES["apply"]: st.column_config.CheckboxColumn(NAMES["apply"]),
                NAMES["leads"]: st.column_config.NumberColumn(format="localized"),
                NAMES["proposed_leads"]: st.column_config.NumberColumn(format="localized"),
            },
        )
        chosen = proposals.assign(
            apply=edited[NAMES["apply"]].astype(bool).to_numpy(),
            proposed=edited[NAMES["proposed"]].astype(str).str.strip().to_numpy(),
        )
        chosen = chosen.loc[chosen["apply"] & (chosen["proposed"] != "")]
        _merge_controls(chosen)
    done = state.call(aliases.accepted)
    if len(done):
        st.markdown("**Merged so far**")
        table = done.assign(column=done["column"].map(display.label))
        st.dataframe(
            display.label_frame(
                table,
                names={
                    "original": "Spelling merged",
                    "standard": "Into",
                    "leads": "Leads rewritten",
                    "accepted_at": "Merged (UTC)",
                    "actor": "By",
                },
            ),
            hide_index=True,
            width="stretch",
            key="data_aliases",
        )


def _merge_controls(chosen: pd.DataFrame) -> None:
    n = len(chosen)
    c1, c2 = st.columns(2)
    writable = state.writes_enabled()
    merge = c1.button(
        f"Merge {n:,} spelling{'' if n == 1 else 's'}",
        key="data_merge",
        type="primary",
        disabled=not writable or chosen.empty,
    )
    c2.download_button(
        f"Download {n:,} as mapping TOML",
        quality.standardisation_toml(chosen),
        file_name="standard_labels.toml",
        mime="application/toml",
        key="data_variants_download",
        disabled=chosen.empty,
    )
    if not writable:
        st.info(
            "This dashboard is read-only. Merge from the command line (or start it with "
            "`handoff serve --allow-writes`):"
        )
        if not chosen.empty:
            st.code(_command(chosen), language="bash", wrap_lines=True)
    if merge and writable:
        try:
            done = aliases.accept(
                config.db_path(), chosen[aliases.MERGE_COLUMNS], actor=state.write_actor()
            )
        except (ValueError, FileNotFoundError, store.SchemaError, store.WriterBusy) as exc:
            st.error(str(exc))
            return
        st.session_state.pop("data_variants", None)  # the proposals changed: fresh editor
        st.session_state["data_merged"] = (
            f"Merged {len(done):,} spellings: {int(done['leads'].sum()):,} leads rewritten. "
            "Every filter and breakdown now lists one value per group."
        )
        st.rerun()
