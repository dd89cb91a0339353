"""Scoring lab: replay proposed scoring points and an MQL threshold on history, side by side."""

from __future__ import annotations

import streamlit as st

from analysis.lifecycle import measurable
from analysis.scoring import configs as scoring
from analysis.scoring import leakage, properties, whatif
from analysis.scoring.configs import ScoringConfig
from analysis.scoring.decay import DECAY_KINDS, Decay
from dashboard import scoring_flow as flow
from dashboard import scoring_labels as labels
from dashboard import scoring_readout as readout
from dashboard import scoring_tabs as tabs
from dashboard import scoring_ui as ui
from dashboard import state
from dashboard.charts import scoring as charts

ss = st.session_state
TABS = [
    "Current vs proposed",
    "Rep load",
    "Grades",
    "Threshold curve",
    "Model quality",
    "Leads that change side",
    "Reasons per lead",
    "Back-test",
    "Saved rules",
]

st.title("Scoring lab")
st.caption(
    "Change the points per feature or the MQL threshold and see what the rule would have "
    "done on your own history: MQLs per month, how many sales would have accepted, how many "
    "eventual wins it would have handed over, and the load on each rep. Features are taken "
    "as of each lead's handoff (or 30 days after creation when it was never handed off). "
    "The sidebar filters do not apply here: the lab replays the whole history."
)

key = state.require_database()
fm = ui.feature_matrix(key)
configs = state.call(scoring.load_configs)
reps = state.call(whatif.load_reps)

if fm.n == 0:
    st.info("The database has no leads yet: import files with `handoff import`.")
    st.stop()

current, saved = ui.current_rule()
if not saved:
    st.info(
        "No scoring configuration is saved yet, so there is no current rule to compare with: "
        "it is shown as a rule with no points (no MQLs). Set points below or use the model's "
        "suggestion, then save it with “Make this the current rule” ticked."
    )


ui.init_state(current)
# Filled once the outcome is chosen (the leakage evidence depends on it), shown up here.
properties_box = st.container()

st.subheader("What counts as a good MQL")
c1, c2, d1, d2 = st.columns([3, 2, 3, 1])
outcome = c1.selectbox(
    "A good MQL is a lead that…",
    list(ui.OUTCOME_LABELS),
    format_func=ui.OUTCOME_LABELS.get,
    key="sl_outcome",
)
window_choice = c2.selectbox(
    "…within",
    ui.WINDOWS,
    format_func=ui.window_label,
    key="sl_window",
    help="Count the outcome only when reached within this many days of the handoff. "
    "Leads handed off more recently than the window are left out of the rates.",
)
outcome_label = ui.OUTCOME_LABELS[outcome]
window = ui.within_days(window_choice)
fade_kind = d1.selectbox(
    "Engagement points fade…",
    DECAY_KINDS,
    format_func=ui.DECAY_LABELS.get,
    key="sl_decay",
    on_change=flow.numbers_first,
    help="Older engagement counts for less, as of each lead's decision point: linear "
    "reaches 0 after N days; by half every N days is a half-life. Fit points never fade.",
)
fade_days = d2.number_input(
    "N (days)", min_value=1, max_value=730, value=30, step=1, key="sl_decay_days",
    disabled=fade_kind == "none", on_change=flow.numbers_first,
)  # fmt: skip
fade = Decay(fade_kind, float(fade_days))

with properties_box:
    stored = state.call(properties.catalogue)
    chosen: tuple[str, ...] = ()
    if stored.empty:
        st.caption(
            "No lead properties were imported, so only the built-in features below can get "
            "points. Flat CRM exports (`handoff import --preset hubspot` or `salesforce`) keep "
            "their other columns as lead properties, which can then be added here."
        )
    else:
        evidence = state.call(leakage.property_leakage, outcome)
        flagged = ui.flagged_properties(evidence)
        options = stored["name"].astype(str).tolist()
        ss.setdefault("sl_keep_props", ui.rule_properties(current.weights, options))
        if "sl_props" not in ss or any(n not in options for n in ss["sl_props"]):
            ss["sl_props"] = [n for n in ss["sl_keep_props"] if n in options]
        title = f"Imported lead properties: {len(options)} available"
        if flagged:
            title += f", {len(flagged)} flagged as likely filled in by sales after the handoff"
        # Open when properties are chosen, or when they are all there is to score with.
        expand = bool(ss["sl_props"]) or not fm.offered
        with st.expander(title, icon="⚠️" if flagged else None, expanded=expand):
            st.caption(
                "Columns of your CRM export that are not mapped to a built-in field. They are a "
                "snapshot taken when the export was made, not as of each lead's handoff: a "
                "field sales fills in later (a status, a rating, tags) already knows the "
                f"outcome. The evidence is computed for “{outcome_label}”."
            )
            st.markdown("**Leakage evidence**, most suspicious first")
            st.dataframe(
                ui.evidence_table(stored, evidence),
                hide_index=True,
                width="stretch",
                key="sl_prop_evidence",
                column_config={
                    "property": st.column_config.TextColumn("property", width=110, pinned=True),
                    "verdict": st.column_config.TextColumn(
                        "verdict", width=100, help="likely leakage, check or ok"
                    ),
                    "auc": st.column_config.NumberColumn(
                        "AUC alone",
                        width=72,
                        format="%.2f",
                        help="Single-feature AUC among handed-off leads (0.5 = no signal, "
                        "1 = splits the outcome perfectly). Fit features alone rarely "
                        "pass 0.7.",
                    ),
                    "missing_never_handed_off": st.column_config.NumberColumn(
                        "missing (no handoff)",
                        width=128,
                        format="percent",
                        help="Share of leads never handed to sales without a value. A "
                        "field sales fills in is missing for leads sales never saw.",
                    ),
                    "missing_handed_off": st.column_config.NumberColumn(
                        "missing (handed off)",
                        width=128,
                        format="percent",
                        help="Share of handed-off leads without a value",
                    ),
                    "evidence": st.column_config.TextColumn("why", width="large"),
                    "leads": st.column_config.NumberColumn("leads with a value", format="%d"),
                },
            )
            selected = st.multiselect(
                "Add as features",
                options,
                format_func=lambda n: ui.property_label(n, evidence),
                key="sl_props",
                placeholder="Choose lead properties",
                help="A categorical property adds one 0/1 feature per frequent value "
                "(name=value, rare values pooled as (other), blanks as (not set)); a numeric "
                "one is used as a number (points per unit; blanks get the median and a "
                "'(missing)' flag); a yes/no one is a flag. They count as fit features and "
                "start with 0 points.",
            )
            ss["sl_keep_props"] = list(selected)
            for name in selected:
                if name in flagged:
                    st.warning(ui.leakage_warning(name, evidence), icon="⚠️")
                    st.checkbox(f"Use “{name}” anyway", key=ui.confirm_key(name))
            confirmed = {n: bool(ss.get(ui.confirm_key(n), False)) for n in selected}
            chosen, waiting = ui.split_choice(selected, evidence, confirmed)
            if waiting:
                st.caption(f"Not added until confirmed: {', '.join(waiting)}.")
            if chosen:
                st.caption(f"Added as features: {', '.join(chosen)}.")

base = ui.matrix(key, chosen)
fm = ui.faded_matrix(key, chosen, fade)
report, why_no_model = ui.model_report(key, outcome, window, chosen, fade)
if why_no_model == ui.FITTING:  # a large history: the numbers first, the model when fitted
    ui.wait_for_model(key, outcome, window, chosen, fade)


def monthly_chart(
    w: whatif.WhatIf,
    names: tuple[str, str] = ("current rule", "proposed rule"),
    *,
    key: str,
    avail: measurable.Measurability,
) -> None:
    """Two rules' would-be MQLs per month, or why a history without dates has no months."""
    gap = readout.monthly_gap(avail)
    if gap:
        st.caption(f"Not measurable: {gap}")
    else:
        st.plotly_chart(charts.monthly_mqls(w.monthly(), names), key=key)


# The lab below is one fragment: a threshold, a point or a grade cut changes only what it
# affects (numbers, then the open tab), not the outcome choice and properties above. It is
# one long function because the tabs share its locals (the what-if, the rules, the model).
@st.fragment
def lab() -> None:  # noqa: C901, PLR0912, PLR0915
    """Points editor, threshold, proposed vs current, and the tabs."""
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("Points per feature")
        if not fm.offered:
            st.info(
                "No built-in feature has data in this history (see below why): add imported "
                "lead properties as features under “Imported lead properties” to score leads."
            )
        editor = ui.editor_key(ss["sl_points_version"], chosen)
        if editor not in ss:  # a new editor: first visit, another rule, the page left and back
            ss["sl_editor_base"] = dict(ss["sl_base"])
        edited = st.data_editor(
            # the points the editor started from, not the latest: its data stays the same
            # while edits pile up, so the browser keeps the grid and sends no edit twice
            ui.points_table(key, current, ss["sl_editor_base"], report, chosen),
            key=editor,
            on_change=flow.numbers_first,
            hide_index=True,
            num_rows="fixed",
            disabled=[c for c in ui.EDITOR_COLUMNS if c != "proposed"],
            width="stretch",
            height=(min(max(len(fm.offered), 1), ui.EDITOR_ROWS) + 1) * ui.EDITOR_ROW_PX + 3,
            column_config={
                "label": st.column_config.TextColumn(
                    "feature", width=ui.EDITOR_WIDTHS["label"], pinned=True
                ),
                "feature": None,
                "kind": st.column_config.TextColumn(
                    "kind",
                    width=ui.EDITOR_WIDTHS["kind"],
                    help="fit: who they are; engagement: what they did",
                ),
                "current": st.column_config.NumberColumn(
                    "current",
                    width=ui.EDITOR_WIDTHS["current"],
                    format="%g",
                    help=f"Points of the current rule ({current.name})",
                ),
                "proposed": st.column_config.NumberColumn(
                    "proposed ✏️",
                    width=ui.EDITOR_WIDTHS["proposed"],
                    format="%g",
                    step=0.01,
                    help="Your points (per unit for a number): edit to replay",
                ),
                "suggested": st.column_config.NumberColumn(
                    "model",
                    width=ui.EDITOR_WIDTHS["suggested"],
                    format="%g",
                    help="Points the fitted model suggests",
                ),
                "share": st.column_config.NumberColumn(
                    "leads with it",
                    format="%.3g",
                    help="Share of all leads that have it (0-1, e.g. 0.25 = a quarter of the "
                    "leads); for a number, its mean",
                ),
                "description": st.column_config.TextColumn("what it means"),
            },
        )
        weights = ui.weights_from_table(edited)
        if fm.absent:
            st.caption(ui.absent_note(fm))
        ss["sl_base"] = weights

    with right:
        draft = ScoringConfig(weights, ss["sl_keep_threshold"])
        low, high = ui.threshold_range(fm, current, draft)
        ui.seed_threshold(low, high)
        threshold = st.slider(
            "MQL threshold (points)",
            min_value=low,
            max_value=high,
            step=1,
            key="sl_threshold",
            on_change=flow.numbers_first,
            help=f"A lead whose score reaches the threshold becomes an MQL. "
            f"Current rule: {current.threshold:g} points.",
        )
        ss["sl_keep_threshold"] = float(threshold)
        proposed = ScoringConfig(weights, float(threshold), name="proposed")
        b1, b2 = st.columns([3, 2])
        b1.button(
            "Use the model's suggested points"
            + (f" (threshold → {report.suggested.threshold:g})" if report else ""),
            key="sl_suggest",
            on_click=ui.apply_rule,
            args=(
                report.suggested.weights,
                report.suggested.threshold,
                readout.suggestion_note(report, threshold),
            )
            if report
            else ({}, 0.0),
            disabled=report is None,
            width="stretch",
            help="Points from the fitted model; the threshold moves to the one that keeps today's "
            "MQL volume, and the page says so."
            if report
            else f"No model: {why_no_model}",
        )
        b2.button(
            "Reset to current rule",
            key="sl_reset",
            on_click=ui.apply_rule,
            args=(current.weights, current.threshold),
            width="stretch",
        )

        if ss.get("sl_applied_msg"):
            st.info(ss.pop("sl_applied_msg"), icon="ℹ️")
        try:
            w = whatif.what_if(fm, current, proposed, outcome, reps, window)
        except ValueError as exc:
            st.error(
                f"The rule cannot be replayed on these features: {exc}. A rule that gives points "
                "to imported lead properties needs them added under “Imported lead properties”."
            )
            st.stop()
        st.subheader("Proposed vs current")
        if w.n_decided == 0:
            st.info("No lead has reached its decision point yet, so there is nothing to replay.")
            st.stop()
        avail = state.call(measurable.availability)
        metrics = readout.headline(w, outcome_label, avail)
        for row in (metrics[0:2], metrics[2:4], metrics[4:6]):
            for col, metric in zip(st.columns(2), row, strict=True):
                col.metric(**metric)
        if w.proposed.mqls == 0:
            st.info(
                "The proposed rule makes no MQL in this history: give features points, or "
                "lower the threshold, to see what it would do.",
                icon=":material/info:",
            )
        elif w.proposed.n_unobserved or w.current.n_unobserved:
            st.warning(readout.unobserved_note(w, outcome_label), icon="⚠️")
        if fade.kind != "none":
            st.caption(readout.decay_note(base, fm, proposed, fade))
        for note in w.notes[1:]:
            st.caption(note)
    flow.rerun_for_the_rest()  # a threshold move: the numbers are out, now the rest

    (
        tab_compare,
        tab_reps,
        tab_grades,
        tab_curve,
        tab_model,
        tab_changed,
        tab_reasons,
        tab_backtest,
        tab_saved,
    ) = st.tabs(TABS, key="sl_tab", on_change="rerun")

    with tab_compare:
        if tab_compare.open:
            a, b = st.columns(2, gap="large")
            with a:
                st.markdown("**Side by side**")
                st.table(readout.comparison_table(w, avail=avail).set_index("measure"))
            with b:
                st.markdown("**MQLs per month**")
                monthly_chart(w, key="sl_chart_monthly", avail=avail)
            st.markdown(
                "**Fit × engagement quadrants**: good fit = fit points at least half the "
                "threshold, sales-ready = engagement points at least half the threshold"
            )
            st.plotly_chart(
                charts.quadrants(
                    w.quadrant_table(),
                    [
                        ("current", w.current.fit_threshold, w.current.engagement_threshold),
                        ("proposed", w.proposed.fit_threshold, w.proposed.engagement_threshold),
                    ],
                ),
                key="sl_chart_quadrants",
            )
            st.caption("Each rep's MQLs against their capacity: the Rep load tab.")

    # Drawn on demand: a bar per busy rep and rule with labels, and a table, cost the
    # browser about 0.5 s of every reload at 1M when they were on the first tab.
    with tab_reps:
        if tab_reps.open:
            st.markdown("**Rep load against capacity**")
            load = labels.with_rep_names(readout.rep_comparison(w), labels.rep_names(reps))
            if load.empty:
                st.info("No rep would receive MQLs: no lead has an owner or a rep for its region.")
            else:
                shown = readout.busiest(load)
                st.plotly_chart(charts.rep_load(shown), key="sl_chart_reps")
                if len(shown) < len(load):
                    st.caption(
                        f"The {len(shown)} busiest of {len(load)} reps (most MQLs per month "
                        "under either rule); every rep over capacity is listed below."
                    )
                over = load.loc[load["proposed_months_over"] > 0]
                if len(over):
                    st.markdown(
                        f"**{len(over)} reps would be over capacity** in at least one complete "
                        "month under the proposed rule:"
                    )
                    st.dataframe(
                        readout.over_capacity_table(over), hide_index=True, width="stretch"
                    )
                else:
                    st.success("No rep would be over capacity in any complete month.")

    with tab_grades:
        if tab_grades.open:
            tabs.grades_tab(fm, proposed, reps, outcome, outcome_label, window, (low, high))

    with tab_curve:
        if tab_curve.open:
            curve = ui.threshold_curve(
                key, tuple(sorted(weights.items())), outcome, window, chosen, fade
            )
            if curve.empty:
                st.info("No decided lead to draw the curve from.")
            else:
                st.plotly_chart(
                    charts.threshold_curve(curve, current.threshold, threshold, outcome_label),
                    key="sl_chart_curve",
                )
                st.caption(
                    "The curve uses the proposed points; both thresholds are marked on it (the "
                    "current threshold with the proposed points). Precision and recall count only "
                    "MQLs whose outcome is known; MQLs per month are over complete months."
                )

    with tab_model:
        if tab_model.open:
            if report is None:
                st.warning(f"The model could not be fitted: {why_no_model}")
            else:
                ev = report.evaluation
                st.markdown(
                    f"**Evaluated by {ev.method}**: {ev.reason}. AUC {ev.auc:.3f} on "
                    f"{ev.n_leads:,} leads, {ev.n_outcomes:,} of them {outcome_label}."
                )
                for col, metric in zip(
                    st.columns(4), readout.evaluation_metrics(report, outcome_label), strict=True
                ):
                    col.metric(**metric)
                for note in report.notes:
                    st.caption(note)
                a, b = st.columns(2, gap="large")
                with a:
                    st.markdown("**Calibration** (leads not used to fit)")
                    st.plotly_chart(
                        charts.calibration(report.calibration, outcome_label),
                        key="sl_chart_calibration",
                    )
                with b:
                    st.markdown(
                        "**Lift by tenth of predicted probability** (leads not used to fit)"
                    )
                    st.plotly_chart(charts.lift(report.lift), key="sl_chart_lift")
                st.markdown(
                    "**Coefficients** (hollow marker: constant in training, nothing learnt)"
                )
                st.plotly_chart(charts.coefficients(report.coefficients), key="sl_chart_coef")

    with tab_changed:
        if tab_changed.open:
            changed = w.changed(fm)
            if changed.empty:
                st.info("No lead changes side: both rules pick the same MQLs.")
            else:
                st.markdown(
                    f"**{w.changed_in:,}** leads would become MQLs under the proposed rule and "
                    f"**{w.changed_out:,}** would stop being MQLs. “unobserved”: never handed to "
                    "sales (or too recent), so the outcome is unknown."
                )
                st.dataframe(readout.changed_counts(changed), hide_index=True)
                st.download_button(
                    f"Download all {len(changed):,} as CSV",
                    data=lambda: changed.to_csv(index=False),
                    file_name="leads-changing-side.csv",
                    mime="text/csv",
                    key="sl_dl_changed",
                    on_click="ignore",
                )
                shown = tabs.changed_with_reasons(fm, changed.head(1000), proposed, report)
                shown["owner"] = shown["owner"].map(labels.rep_names(reps)).fillna(shown["owner"])
                st.caption(
                    f"Largest score changes first; showing {len(shown):,} of {len(changed):,}, "
                    "each with its strongest reasons under the proposed rule (points) and the "
                    "model (log-odds)."
                )
                st.dataframe(
                    shown,
                    hide_index=True,
                    width="stretch",
                    column_config={
                        "decision_at": st.column_config.DatetimeColumn(
                            "decision point (UTC)", format="YYYY-MM-DD HH:mm"
                        ),
                        "lead_id": st.column_config.TextColumn("lead"),
                        "owner": st.column_config.TextColumn("owner (rep)"),
                        "current_score": st.column_config.NumberColumn(
                            "current points", format="%g"
                        ),
                        "proposed_score": st.column_config.NumberColumn(
                            "proposed points", format="%g"
                        ),
                    },
                )

    with tab_reasons:
        if tab_reasons.open:
            tabs.reasons_tab(fm, proposed, report)

    with tab_backtest:
        if tab_backtest.open:
            tabs.backtest_tab(
                key,
                fm,
                base,
                {"current rule": current, "proposed rule": proposed},
                (outcome, window, chosen, fade),
                report,
            )

    with tab_saved:
        if tab_saved.open:
            saved_labels = ui.config_labels(configs)
            a, b = st.columns(2, gap="large")
            with a:
                st.markdown("**Save the proposed configuration**")
                writable = state.writes_enabled()
                if not writable:
                    st.info(state.READ_ONLY_NOTE)
                st.text_input(
                    "Name",
                    key="sl_save_name",
                    help="“current” is reserved: use the checkbox below to change the current "
                    "rule.",
                )
                st.text_input("Author (optional)", key="sl_save_author")
                st.text_area("Note", key="sl_save_note", height=80)
                st.checkbox(
                    "Make this the current rule (the rule every page and every user sees)",
                    key="sl_save_current",
                )
                matches_model = report is not None and ui.same_points(proposed, report.suggested)
                if st.button(
                    "Save",
                    key="sl_save",
                    type="primary",
                    on_click=ui.save_proposed,
                    args=(proposed, "fitted" if matches_model else "manual"),
                    disabled=not writable,
                ):
                    st.rerun()  # a save swaps a new file in: the whole page reads it
                if "sl_save_msg" in ss:
                    kind, text = ss.pop("sl_save_msg")
                    (st.success if kind == "success" else st.error)(text)
            with b:
                if configs.empty:
                    st.info("No saved configuration yet.")
                else:
                    st.markdown("**Load a saved configuration into the editor**")
                    picked_id = st.selectbox(
                        "Saved configuration",
                        list(saved_labels),
                        format_func=saved_labels.get,
                        key="sl_load",
                    )
                    loaded = state.call(scoring.load_config, picked_id)
                    st.button(
                        "Load into the editor",
                        key="sl_load_apply",
                        on_click=ui.apply_rule,
                        args=(loaded.weights, loaded.threshold),
                    )
                st.markdown("**Export**")
                options = ["proposed", *saved_labels]
                picked = st.selectbox(
                    "Configuration to export",
                    options,
                    format_func=lambda k: (
                        "the proposed rule (unsaved)" if k == "proposed" else saved_labels[k]
                    ),
                    key="sl_export",
                )
                export = (
                    proposed if picked == "proposed" else state.call(scoring.load_config, picked)
                )
                e1, e2 = st.columns(2)
                e1.download_button(
                    "Download JSON",
                    scoring.config_to_json(export),
                    file_name=f"{ui.file_stem(export)}.json",
                    mime="application/json",
                    key="sl_dl_json",
                    on_click="ignore",
                    width="stretch",
                )
                e2.download_button(
                    "Download CSV",
                    ui.export_csv(export, configs),
                    file_name=f"{ui.file_stem(export)}.csv",
                    mime="text/csv",
                    key="sl_dl_csv",
                    help="A one-row scoring_models.csv that `handoff import` accepts.",
                    on_click="ignore",
                    width="stretch",
                )
            if not configs.empty:
                st.markdown("**Saved rules**")
                st.dataframe(
                    configs.drop(columns=["weights"]),
                    hide_index=True,
                    width="stretch",
                    column_config={
                        "created_at": st.column_config.DatetimeColumn(
                            "created (UTC)", format="YYYY-MM-DD HH:mm"
                        )
                    },
                )
            if len(configs) >= 2:
                st.markdown("**Compare two saved configurations**")
                ids = list(saved_labels)
                c1, c2 = st.columns(2)
                first = c1.selectbox("First", ids, format_func=saved_labels.get, key="sl_cmp_a")
                second = c2.selectbox(
                    "Second", ids, index=1, format_func=saved_labels.get, key="sl_cmp_b"
                )
                cfg_a = state.call(scoring.load_config, first)
                cfg_b = state.call(scoring.load_config, second)
                try:
                    pair = whatif.what_if(fm, cfg_a, cfg_b, outcome, reps, window)
                except ValueError as exc:
                    st.error(f"These configurations cannot be replayed on these features: {exc}")
                else:
                    names = (f"first: {cfg_a.name}", f"second: {cfg_b.name}")
                    st.table(readout.comparison_table(pair, names, avail).set_index("measure"))
                    st.warning(
                        readout.unobserved_note(pair, outcome_label, ("first", "second")), icon="⚠️"
                    )
                    monthly_chart(pair, names, key="sl_chart_pair", avail=avail)
            elif not configs.empty:
                st.caption("Save a second configuration to compare two saved ones.")


lab()
ui.start_model_fit(key, outcome, window, chosen, fade)  # after the numbers: see the function
