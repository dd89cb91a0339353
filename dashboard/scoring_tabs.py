"""The Scoring lab's newer tabs: grades, reasons per lead, and the back-test over time.

Each ``*_tab`` function draws one tab from what the page already has (the feature matrix,
the rules, the fitted model); the numbers come from :mod:`analysis.scoring.grades`,
:mod:`analysis.scoring.reasons`, :mod:`analysis.scoring.backtest`,
:mod:`analysis.scoring.ceiling` and :mod:`analysis.scoring.decay`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from analysis.scoring import backtest, grades, reasons, whatif
from analysis.scoring.configs import ScoringConfig
from analysis.scoring.decay import Decay
from analysis.scoring.matrix import FeatureMatrix
from analysis.scoring.model import ModelReport
from dashboard import scoring_jobs as jobs
from dashboard import scoring_labels as labels
from dashboard import state
from dashboard.charts import scoring as charts

ss = st.session_state


def _pct(v: float) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.1%}"


def _num(v: float, digits: int = 1) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:,.{digits}f}"


# --------------------------------------------------------------------------------------
# Grades
# --------------------------------------------------------------------------------------


DEFAULT_TARGETS = {2: "30/70", 3: "20/30/50", 4: "10/20/30/40"}
"""Target distribution offered per number of bands (percent of leads, best band first)."""


def _cut_key(i: int) -> str:
    return f"sl_grade_cut_{i}"


def _apply_cuts(cuts: tuple[float, ...], low: int, high: int) -> None:
    for i, c in enumerate(cuts):
        ss[_cut_key(i)] = int(min(max(math.floor(c), low), high))


def _suggest(
    scores: np.ndarray, n_bands: int, low: int, high: int, top_share: float | None
) -> None:
    """Button callback: place the cuts for the typed distribution (or the capacity)."""
    text = str(ss.get(f"sl_grade_target_{n_bands}", DEFAULT_TARGETS[n_bands]))
    try:
        shares = [float(x) for x in text.replace(",", "/").split("/") if x.strip()]
        if len(shares) != n_bands:
            raise ValueError(f"give {n_bands} shares separated by '/', got {len(shares)}")
        top = None if top_share is None else top_share * len(scores)
        cuts = grades.suggest_cuts(scores, shares, top_count=top)
    except ValueError as exc:
        ss["sl_grade_msg"] = f"No cut points suggested: {exc}."
        return
    _apply_cuts(cuts, low, high)
    ss["sl_grade_msg"] = ""


@st.fragment  # a cut point or a band name reruns this tab only
def grades_tab(
    fm: FeatureMatrix,
    proposed: ScoringConfig,
    reps: pd.DataFrame,
    outcome: str,
    outcome_label: str,
    window: int | None,
    score_range: tuple[int, int],
) -> None:
    """Grade bands of the proposed rule: names, draggable cut points, table, exports."""
    low, high = score_range
    scores = whatif.scores(fm, proposed)  # the what-if's own scores, not a new product
    decided_scores = scores[fm.decided]
    st.caption(
        "Grades cut the proposed rule's score into up to four bands, best first. A lead is in "
        "a band when its score is at or above the band's cut point and below the one above. "
        "Conversion counts only leads handed to sales (the others' outcome is unknown)."
    )
    c1, c2, c3 = st.columns([1, 2, 2])
    n_bands = c1.selectbox("Bands", [2, 3, 4], index=2, key="sl_grade_n")
    names = []
    for i, col in enumerate(st.columns(n_bands)):
        names.append(
            col.text_input(
                f"Name of band {i + 1}", grades.DEFAULT_NAMES[i], key=f"sl_grade_name_{i}"
            )
        )
    if _cut_key(0) not in ss:
        _apply_cuts(grades.suggest_cuts(decided_scores, (0.1, 0.2, 0.3, 0.4)), low, high)
    for i in range(grades.MAX_BANDS - 1):  # keep kept cuts inside a changed score range
        if _cut_key(i) in ss:
            ss[_cut_key(i)] = min(max(int(ss[_cut_key(i)]), low), high)
    target = c2.text_input(
        "Target share per band, best first (%)",
        DEFAULT_TARGETS[n_bands],
        key=f"sl_grade_target_{n_bands}",
        help="e.g. 10/20/30/40: the top band holds 10% of the leads, the next 20%, …",
    )
    capacity = pd.to_numeric(reps.get("capacity", pd.Series(dtype=float)), errors="coerce").sum()
    complete = fm.complete_months()
    in_complete = fm.decided & (fm.month_code < len(complete))
    in_complete[in_complete] = complete[fm.month_code[in_complete]]
    per_month = in_complete.sum() / max(int(complete.sum()), 1)
    by_capacity = c3.toggle(
        f"Size the top band to the reps' capacity ({capacity:,.0f} a month)",
        key="sl_grade_capacity",
        disabled=not capacity or not per_month,
        help="The best band gets as many leads a month as all reps together can work; the "
        "other bands split the rest in the target proportions.",
    )
    top_share = min(1.0, capacity / per_month) if by_capacity and per_month else None
    st.button(
        "Suggest cut points",
        key="sl_grade_suggest",
        on_click=_suggest,
        args=(decided_scores, n_bands, low, high, top_share),
        help=f"Place the cut points so the bands hold “{target}” of the decided leads.",
    )
    if ss.get("sl_grade_msg"):
        st.warning(ss["sl_grade_msg"])
    cols = st.columns(n_bands - 1)
    cuts = [
        col.slider(
            f"{names[i]} from (points)",
            low,
            high,
            step=1,
            key=_cut_key(i),
            help=f"Leads scoring at least this are {names[i]} (unless a higher band takes them).",
        )  # fmt: skip
        for i, col in enumerate(cols)
    ]
    try:
        scheme = grades.GradeScheme(tuple(names), tuple(float(c) for c in cuts))
    except ValueError as exc:
        st.warning(f"These grades cannot be used: {exc}. Drag the cut points apart.")
        return
    table = grades.rule_bands(fm, proposed, scheme, outcome, reps, window)
    display = _band_display(table, outcome_label)
    for col, r, d in zip(
        st.columns(len(table)), table.itertuples(), display.itertuples(), strict=True
    ):
        col.metric(
            f"{r.grade}: {d[2]}",
            f"{r.leads:,} leads",
            f"{_pct(r.share_of_conversions)} of conversions",
            delta_color="off",
            delta_arrow="off",
            help=f"{_pct(r.share_of_leads)} of the decided leads; conversion {d[4]}.",
        )
    st.dataframe(display, hide_index=True, width="stretch", key="sl_grade_table")
    st.plotly_chart(charts.grade_bands(table), key="sl_chart_grades")
    e1, e2 = st.columns(2)
    e1.download_button(
        "Download grades + rule (JSON)",
        grades.grades_to_json(scheme, proposed),
        file_name="scoring-grades.json",
        mime="application/json",
        key="sl_dl_grades_json",
        on_click="ignore",
    )
    e2.download_button(
        "Download grades (CSV)",
        grades.grades_to_csv(scheme, proposed),
        file_name="scoring-grades.csv",
        mime="text/csv",
        key="sl_dl_grades_csv",
        on_click="ignore",
    )


def _band_display(table: pd.DataFrame, outcome_label: str) -> pd.DataFrame:
    def points(lo: float, hi: float) -> str:
        if np.isfinite(lo) and np.isfinite(hi):
            return f"{lo:g} to {hi - 1:g}" if float(lo).is_integer() else f"{lo:g} to < {hi:g}"
        return f"{lo:g} and above" if np.isfinite(lo) else f"below {hi:g}"

    rows = []
    for r in table.itertuples(index=False):
        conv = (
            f"{r.conversion:.1%} ({r.reached:,} of {r.observed:,}; 95% {r.conversion_low:.1%}–"
            f"{r.conversion_high:.1%})"
            if np.isfinite(r.conversion)
            else "unknown: none handed to sales"
        )
        rows.append(
            {
                "grade": r.grade,
                "score (points)": points(r.min_score, r.below_score),
                "leads": f"{r.leads:,} ({_pct(r.share_of_leads)})",
                f"conversion ({outcome_label})": conv,
                "share of all conversions": _pct(r.share_of_conversions),
                "leads per month": _num(r.per_month),
                "per rep per month (mean · busiest)": f"{_num(r.rep_mean)} · {_num(r.rep_max)}",
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Reasons per lead
# --------------------------------------------------------------------------------------


def reasons_tab(fm: FeatureMatrix, proposed: ScoringConfig, report: ModelReport | None) -> None:
    """Search a lead; its strongest reasons under the proposed rule and the model."""
    q = st.text_input(
        "Find a lead by id, name or company", key="sl_reason_q", placeholder="e.g. L000123 or Acme"
    )
    if not q.strip():
        st.caption("Type part of a lead id, a name or a company.")
        return
    found = state.call(reasons.find_leads, q)
    if found.empty:
        st.info(f"No lead's id, name or company contains “{q}”.")
        return
    options = found["lead_id"].astype(str).tolist()
    info = found.set_index("lead_id")
    lead = st.selectbox(
        f"{len(options)} match{'es' if len(options) > 1 else ''}",
        options,
        key="sl_reason_lead",
        format_func=lambda i: " · ".join(
            str(v)
            for v in (i, info.at[i, "name"], info.at[i, "company"])
            if isinstance(v, str) and v
        ),
    )
    row = reasons.row_of(fm, lead)
    if row is None:
        st.info("This lead is not in the scoring lab's history.")
        return
    activity = state.call(reasons.lead_activity, lead, fm.horizon_days)
    rule = reasons.rule_contributions(fm, proposed, row)
    total = float(rule["contribution"].sum())
    a, b = st.columns(2, gap="large")
    with a:
        side = "an MQL" if total >= proposed.threshold else "not an MQL"
        st.markdown(
            f"**Proposed rule: {total:,.0f} points** (threshold {proposed.threshold:g}: {side})"
        )
        _reason_lists(*reasons.in_words(_labelled(rule), activity=activity))
    with b:
        if report is None:
            st.info("No fitted model, so no model reasons.")
            return
        model = reasons.model_contributions(fm, report.coefficients, row)
        logit = report.intercept + float(model["contribution"].sum())
        st.markdown(
            f"**Model: {1 / (1 + math.exp(-logit)):.1%} chance** (log-odds {logit:+.2f} = "
            f"baseline {report.intercept:+.2f} plus the reasons)"
        )
        _reason_lists(
            *reasons.in_words(_labelled(model), unit=" log-odds", activity=activity, digits=2)
        )


def _labelled(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    out["label"] = out["label"].map(labels.words)  # "source is paid_search" -> words
    return out


def _reason_lists(up: list[str], down: list[str]) -> None:
    st.markdown("For: " + ("; ".join(up) if up else "nothing"))
    st.markdown("Against: " + ("; ".join(down) if down else "nothing"))


def changed_with_reasons(
    fm: FeatureMatrix, shown: pd.DataFrame, proposed: ScoringConfig, report: ModelReport | None
) -> pd.DataFrame:
    """The shown "leads that change side" rows with their top reasons, rule and model."""
    rows = reasons.rows_of(fm, shown["lead_id"].to_numpy(dtype=object))
    why = reasons.reasons_for_rows(
        fm, proposed, rows, None if report is None else report.coefficients
    )
    out = shown.reset_index(drop=True).copy()
    out["points for"] = why["rule_up"]
    out["points against"] = why["rule_down"]
    out["model for"] = why["model_up"]
    out["model against"] = why["model_down"]
    return out


# --------------------------------------------------------------------------------------
# Back-test over time, the ceiling, the half-life
# --------------------------------------------------------------------------------------


def backtest_tab(
    key: state.DbKey,
    fm: FeatureMatrix,
    base: FeatureMatrix,
    rules: dict[str, ScoringConfig],
    settings: tuple[str, int | None, tuple[str, ...], Decay],
    report: ModelReport | None,
) -> None:
    """Start (once per data version and settings) and show the background validation."""
    outcome, window, chosen, fade = settings
    k = st.selectbox(
        "Months tested after each origin",
        [1, 2, 3],
        key="sl_bt_k",
        help="Train on the months up to m, test on months m+1 … m+k.",
    )
    job = jobs.validation_job(key, outcome, window, chosen, fade, k, _fm=fm, _base=base)
    if not job.done:
        _progress(job, len(job.result) + len(job.errors))
        if "backtest" not in job.result and "backtest" not in job.errors:
            return
    else:
        st.caption(
            f"Computed in the background in {job.seconds:,.1f} s; kept until the data or these "
            "settings change."
        )
    if "backtest" in job.result:
        bt = job.result["backtest"]
        table = _backtest_table(key, settings, k, _rule_points(rules), bt, fm, rules)
        st.markdown(
            "**Rolling-origin back-test**: for every month, the model trains on the months up "
            "to it (outcomes as known then) and is tested on the next months; the rules are "
            "scored on the same months. The model is judged at the proposed rule's volume."
        )
        st.caption(
            "The proposed rule is scored as it stands: when its points came from the model "
            "fitted on the whole history, it has seen these months, so its line is optimistic; "
            "the model's line is refitted at every origin and is the honest one."
        )
        for note in bt.notes:
            st.caption(note)
        if not table.empty:
            st.plotly_chart(charts.backtest(table), key="sl_chart_backtest")
            st.dataframe(
                _backtest_display(table), hide_index=True, width="stretch", key="sl_backtest_table"
            )
    else:
        st.warning(f"No back-test: {job.errors.get('backtest', 'not computed')}")
    if job.done:
        _ceiling(job, report)
        _half_life(job, fade)


def _rule_points(rules: dict[str, ScoringConfig]) -> tuple:
    """The rules' labels, points and thresholds as a hashable key."""
    return tuple(
        (label, tuple(sorted(cfg.weights.items())), cfg.threshold) for label, cfg in rules.items()
    )


@st.cache_data(max_entries=8, show_spinner=False)
def _backtest_table(
    key: state.DbKey,
    settings: tuple,
    k: int,
    points: tuple,
    _bt: backtest.BackTest,
    _fm: FeatureMatrix,
    _rules: dict[str, ScoringConfig],
) -> pd.DataFrame:
    """:func:`analysis.scoring.backtest.backtest_table`, kept per data version, settings,
    months tested and the rules' points: scoring the rules on every fold took most of a
    rerun of this tab (0.6–0.8 s at a million leads) while none of them had changed."""
    return backtest.backtest_table(_bt, _fm, _rules, "proposed rule")


@st.fragment(run_every=1.0)
def _progress(job: jobs.Job, finished: int) -> None:
    """The job's progress, polled every second; the page reruns when a step finishes."""
    if job.done or len(job.result) + len(job.errors) != finished:
        st.rerun()
    st.progress(job.progress, text=f"Validating in the background: {job.step} ({job.progress:.0%})")
    st.caption(
        "The rest of the page stays usable; this tab fills in step by step: the back-test "
        "first, then the gradient-boosted ceiling and the half-life search."
    )


def _backtest_display(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "test month": table["test_start"].dt.strftime("%b %Y"),
            "who": table["who"],
            "AUC": table["auc"].map(lambda v: _num(v, 3)),
            "MQLs": table["volume"].map(lambda v: f"{v:,}"),
            "precision": [
                f"{_pct(p)} ({k:,} of {n:,})"
                for p, k, n in zip(
                    table["precision"], table["precision_k"], table["precision_n"], strict=True
                )
            ],
            "expected": table["expected"].map(_pct),
            "observed": table["observed"].map(_pct),
            "trained on": table["n_train"].map(lambda v: f"{v:,} leads"),
        }
    )


def _ceiling(job: jobs.Job, report: ModelReport | None) -> None:
    st.markdown("**How much signal the points leave on the table**")
    if "ceiling" not in job.result:
        st.info(f"No ceiling: {job.errors.get('ceiling', 'not computed')}")
        return
    c = job.result["ceiling"]
    a, b, d = st.columns(3)
    a.metric("AUC, logistic model (points)", _num(c.auc_logistic, 3))
    b.metric("AUC, gradient-boosted ceiling", _num(c.auc_boosted, 3))
    d.metric("Left on the table", f"{c.gap:+.3f}")
    if c.gap <= 0.005:
        st.success(
            "The ceiling ranks no better than the points: these features' signal is additive, "
            "and the points already capture it."
        )
    st.caption(
        f"Same features, same {c.method} ({c.n_test:,} test leads; each fit on at most "
        f"{c.n_train_used:,} leads). The gradient-boosted model can use interactions and "
        "non-linear effects that points cannot; it is a yardstick only, never turned into points."
    )


def _half_life(job: jobs.Job, fade: Decay) -> None:
    st.markdown("**Which decay fits best**")
    if "half_life" not in job.result:
        st.info(f"No half-life suggestion: {job.errors.get('half_life', 'not computed')}")
        return
    t = job.result["half_life"]
    best = t.loc[t["best"]].iloc[0]
    says = (
        "no decay"
        if not np.isfinite(best["half_life"])
        else f"a half-life of {best['half_life']:g} days"
    )
    st.markdown(
        f"The model predicts newer leads best with **{says}** (lowest held-out log-loss, "
        f"{best['log_loss']:.4f}). Now in use: {fade.describe()}."
    )
    st.caption(
        "Method: the logistic model is refitted with engagement faded by each half-life of the "
        f"grid and scored by its out-of-sample log-loss ({t['method'].iloc[0]}); the lowest wins."
    )
    shown = pd.DataFrame(
        {
            "half-life": ["none" if not np.isfinite(h) else f"{h:g} days" for h in t["half_life"]],
            "held-out log-loss": t["log_loss"].map(lambda v: f"{v:.4f}"),
            "AUC": t["auc"].map(lambda v: _num(v, 3)),
            "best": np.where(t["best"], "✓ best", ""),
        }
    )
    st.dataframe(shown, hide_index=True, key="sl_half_life_table")
