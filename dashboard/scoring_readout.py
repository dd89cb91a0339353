"""The scoring lab's read-outs: headline metrics, side-by-side tables and notes, as text.

Only formatting: every number comes from :mod:`analysis.scoring.whatif` (the replay) and
:mod:`analysis.scoring.model` (the fitted model's evaluation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.lifecycle.measurable import Measurability
from analysis.scoring import decay, whatif
from analysis.scoring.configs import ScoringConfig
from analysis.scoring.matrix import FeatureMatrix
from analysis.scoring.model import ModelReport
from dashboard import display


def _pct(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.1%}"


def _rate(value: float, k: int, n: int) -> str:
    if not np.isfinite(value):
        return "– (no MQL with a known outcome)"
    return f"{value:.1%} ({k:,} of {n:,})"


def _interval(low: float, high: float) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "–"
    return f"{low:.1%} – {high:.1%}"


def _capacity_gap(avail: Measurability | None) -> str | None:
    """Why reps over capacity cannot be counted on this history (no recorded capacity, or
    no dates to make months of), or None when it can (``avail`` None: assume it can)."""
    if avail is None:
        return None
    return next((a.reason for a in (avail.capacity, avail.dates) if not a.measurable), None)


def monthly_gap(avail: Measurability | None) -> str | None:
    """Why MQLs per month cannot be computed on this history (it has no dates), or None."""
    return None if avail is None or avail.dates.measurable else avail.dates.reason


def comparison_table(
    w: whatif.WhatIf,
    labels: tuple[str, str] = ("current rule", "proposed rule"),
    avail: Measurability | None = None,
) -> pd.DataFrame:
    """Current vs proposed, one row per headline number, as display text.

    Columns ``measure`` and one per rule, named by ``labels``. ``avail`` (what the history
    can measure; default: everything) makes MQLs per month and reps over capacity read
    "not measurable" where the history has no dates or no recorded capacities, as the
    headline cards do, never a 0 that only means the data is missing.
    """
    c, p = w.current, w.proposed
    nm = (display.NOT_MEASURABLE, display.NOT_MEASURABLE)
    per_month = (f"{w.mqls_per_month(c):,.1f}", f"{w.mqls_per_month(p):,.1f}")
    over = (f"{c.reps_over_capacity:,}", f"{p.reps_over_capacity:,}")
    rows: list[tuple[str, str, str]] = [
        ("MQLs per month (complete months)", *(nm if monthly_gap(avail) else per_month)),
        ("MQLs in the whole history", f"{c.mqls:,}", f"{p.mqls:,}"),
        (
            "Precision: MQLs that reached the outcome",
            _rate(c.precision, c.precision_k, c.precision_n),
            _rate(p.precision, p.precision_k, p.precision_n),
        ),
        (
            "· 95% interval",
            _interval(c.precision_low, c.precision_high),
            _interval(p.precision_low, p.precision_high),
        ),
        (
            "Recall: leads that reached it and were MQLs",
            _rate(c.recall, c.recall_k, c.recall_n),
            _rate(p.recall, p.recall_k, p.recall_n),
        ),
        (
            "· 95% interval",
            _interval(c.recall_low, c.recall_high),
            _interval(p.recall_low, p.recall_high),
        ),
        (
            "MQLs never handed to sales (outcome unknown)",
            f"{c.n_unobserved:,}",
            f"{p.n_unobserved:,}",
        ),
        ("Reps over capacity in a complete month", *(nm if _capacity_gap(avail) else over)),
        ("Threshold (points)", f"{c.config.threshold:g}", f"{p.config.threshold:g}"),
    ]
    return pd.DataFrame(rows, columns=["measure", *labels])


REP_COLUMNS = [
    "rep_id",
    "territory",
    "role",
    "capacity",
    "current_mean",
    "proposed_mean",
    "current_max",
    "proposed_max",
    "current_months_over",
    "proposed_months_over",
    "months",
]


CHART_REPS = 40
"""The rep load chart shows at most this many reps (the busiest): a bar per rep and rule for
hundreds of reps is a heavy figure to redraw on every threshold move, and unreadable."""


def busiest(load: pd.DataFrame, n: int = CHART_REPS) -> pd.DataFrame:
    """The ``n`` rows of :func:`rep_comparison` with the most MQLs per month under either
    rule (every row when there are fewer), in their original order."""
    if len(load) <= n:
        return load
    most = load[["current_mean", "proposed_mean"]].max(axis=1)
    keep = most.sort_values(ascending=False, kind="stable").index[:n]
    return load.loc[load.index.isin(keep)]


def rep_comparison(w: whatif.WhatIf) -> pd.DataFrame:
    """Per rep over complete months, current beside proposed.

    Columns ``rep_id``, ``territory``, ``role``, ``capacity`` (MQLs a rep can work per
    month), ``current_mean`` / ``proposed_mean`` (mean MQLs per month), ``current_max`` /
    ``proposed_max``, ``current_months_over`` / ``proposed_months_over`` (complete months
    above capacity) and ``months``. Reps with no MQL under either rule are left out.
    """
    cur, prop = w.current.rep_summary(), w.proposed.rep_summary()
    if cur.empty:
        return pd.DataFrame(columns=REP_COLUMNS)
    both = cur.merge(
        prop[["rep_id", "mean_mqls", "max_mqls", "months_over_capacity"]],
        on="rep_id",
        suffixes=("_c", "_p"),
    )
    out = pd.DataFrame(
        {
            "rep_id": both["rep_id"],
            "territory": both["territory"],
            "role": both["role"],
            "capacity": both["capacity"],
            "current_mean": both["mean_mqls_c"],
            "proposed_mean": both["mean_mqls_p"],
            "current_max": both["max_mqls_c"],
            "proposed_max": both["max_mqls_p"],
            "current_months_over": both["months_over_capacity_c"].astype(int),
            "proposed_months_over": both["months_over_capacity_p"].astype(int),
            "months": both["months"],
        },
        columns=REP_COLUMNS,
    )
    busy = (out["current_max"] > 0) | (out["proposed_max"] > 0)
    return out.loc[busy].reset_index(drop=True)


def changed_counts(changed: pd.DataFrame) -> pd.DataFrame:
    """Leads changing side by direction and outcome: ``direction``, ``reached``,
    ``not reached``, ``unobserved``, ``total``."""
    labels = ["reached", "not reached", "unobserved"]
    table = (
        pd.crosstab(changed["direction"], changed["outcome"])
        .reindex(index=["in", "out"], columns=labels, fill_value=0)
        .fillna(0)
        .astype(int)
    )
    table["total"] = table.sum(axis=1)
    table.index = ["become MQLs (in)", "stop being MQLs (out)"]
    return table.rename_axis("direction").reset_index()


def evaluation_metrics(report: ModelReport, outcome_label: str) -> list[dict]:
    """``st.metric`` arguments for the model's evaluation: AUC with spread, leads, method.

    The AUC is out of sample: the newer leads of a time split, or each lead once by the
    model fitted on the other folds of a stratified k-fold cross-validation.
    """
    ev = report.evaluation
    cv = ev.method != "time split"
    spread = f" ± {ev.auc_std:.3f}" if np.isfinite(ev.auc_std) else ""
    interval = (
        f"95% interval {ev.auc_low:.3f}–{ev.auc_high:.3f}. " if np.isfinite(ev.auc_low) else ""
    )
    folds = ", ".join(f"{a:.3f}" for a in ev.fold_aucs)
    return [
        {
            "label": "AUC (cross-validated)" if cv else "AUC (newer leads)",
            "value": "–" if not np.isfinite(ev.auc) else f"{ev.auc:.3f}{spread}",
            "help": f"{interval}0.5 = no better than chance. "
            + (
                f"Fold AUCs: {folds}; ± is their standard deviation."
                if cv
                else f"Training AUC {report.auc_train:.3f}; ± is the standard error."
            ),
        },
        {
            "label": "Leads evaluated",
            "value": f"{ev.n_leads:,}",
            "help": f"{ev.n_outcomes:,} of them {outcome_label}.",
        },
        {
            "label": "Outcomes behind it",
            "value": f"{ev.n_outcomes:,}",
            "help": f"Evaluated leads that {outcome_label}.",
        },
        {
            "label": "Evaluation",
            "value": "k-fold CV" if cv else f"time split {str(ev.split_at)[:10]}",
            "help": f"{ev.method}: {ev.reason}.",
        },
    ]


def _metric(
    label: str,
    value: str,
    change: float | None,
    change_text: str,
    current_text: str,
    better: str,
    help_text: str,
) -> dict:
    """``st.metric`` arguments: a change coloured by ``better`` ('up', 'down' or 'none')."""
    if change is None or not np.isfinite(change):
        return {"label": label, "value": value, "help": help_text}
    color = (
        "off" if change == 0 or better == "none" else ("normal" if better == "up" else "inverse")
    )
    return {
        "label": label,
        "value": value,
        "delta": change_text,
        "delta_color": color,
        "delta_arrow": "auto" if change else "off",
        "delta_description": f"vs current {current_text}",
        "help": help_text,
    }


def headline(
    w: whatif.WhatIf, outcome_label: str, avail: Measurability | None = None
) -> list[dict]:
    """Keyword arguments of ``st.metric`` for the proposed rule's headline numbers.

    Each value is the proposed rule's; each delta says how it differs from the current one.
    ``avail`` (what the history can measure; default: everything) turns the per-month
    cards honest on exports that lack their data: a history without dates shows the
    would-be MQLs of the whole history instead of a per-month mean, and reps over capacity
    reads "not measurable" without dates or recorded capacities (never a 0 that only means
    no capacity was recorded).
    """
    c, p = w.current, w.proposed
    undated = monthly_gap(avail)
    if undated:
        label, spec, prop_n, cur_n = "MQLs in the history", ",", p.mqls, c.mqls
        about = f"Would-be MQLs of the whole history. MQLs per month is not measurable: {undated}"
    else:
        label, spec = "MQLs per month", ",.1f"
        prop_n, cur_n = w.mqls_per_month(p), w.mqls_per_month(c)
        about = (
            "Mean would-be MQLs per complete month of the decision point "
            f"({p.mqls:,} MQLs in the whole history, current rule {c.mqls:,})."
        )
    out = [
        _metric(
            label,
            "–" if not np.isfinite(prop_n) else f"{prop_n:{spec}}",
            prop_n - cur_n,
            f"{prop_n - cur_n:+{spec}}",
            f"{cur_n:{spec}}",
            "none",
            about,
        )
    ]
    for name, prop, cur, what in (
        ("Precision", p.precision, c.precision, "share of MQLs with a known outcome that"),
        ("Recall", p.recall, c.recall, "share of all leads with a known outcome that"),
    ):
        tail = outcome_label if name == "Precision" else f"{outcome_label} that were MQLs"
        out.append(
            _metric(
                name,
                _pct(prop),
                prop - cur,
                f"{(prop - cur) * 100:+.1f} pts",
                _pct(cur),
                "up",
                f"{what.capitalize()} {tail}.",
            )
        )
    over = p.reps_over_capacity - c.reps_over_capacity
    gap = _capacity_gap(avail)
    out.append(
        _metric(
            "Reps over capacity",
            f"{p.reps_over_capacity:,}",
            over,
            f"{over:+,}",
            f"{c.reps_over_capacity:,}",
            "down",
            "Reps whose would-be MQLs exceed their capacity in at least one complete month.",
        )
        if gap is None
        else {
            "label": "Reps over capacity",
            "value": display.card_value(display.NOT_MEASURABLE),
            "help": f"Not measurable: {gap}",
        }
    )
    moved = w.changed_in + w.changed_out
    out.append(
        {
            "label": "Leads that change side",
            "value": f"{moved:,}",
            "delta": f"{w.changed_in:,} in, {w.changed_out:,} out",
            "delta_color": "off",
            "delta_arrow": "off",
            "help": "In: MQL only under the proposed rule. Out: MQL only under the current rule.",
        }
    )
    unknown = p.n_unobserved - c.n_unobserved
    out.append(
        _metric(
            "MQLs with unknown outcome",
            f"{p.n_unobserved:,}",
            unknown,
            f"{unknown:+,}",
            f"{c.n_unobserved:,}",
            "none",
            "Would-be MQLs never handed to sales (or too recent for the window): "
            "left out of precision and recall.",
        )
    )
    return out


def unobserved_note(
    w: whatif.WhatIf,
    outcome_label: str,
    names: tuple[str, str] = ("current rule", "proposed rule"),
) -> str:
    """Plain-language count of would-be MQLs whose outcome nobody observed.

    ``names`` name the two rules of ``w`` (current, proposed) in the text.
    """
    c, p = w.current, w.proposed
    share = f" ({p.n_unobserved / p.mqls:.0%})" if p.mqls else ""
    why = (
        "were never handed to sales"
        if w.within_days is None
        else f"were never handed to sales or are too recent for the {w.within_days:g}-day window"
    )
    return (
        f"**{p.n_unobserved:,} of the {names[1]}'s {p.mqls:,} MQLs{share} {why}**, so "
        f"nobody knows whether they would have {outcome_label}. Precision and recall count "
        f"only the {p.precision_n:,} with a known outcome and assume nothing about the rest. "
        f"The {names[0]}: {c.n_unobserved:,} of {c.mqls:,}."
    )


def suggestion_note(report: ModelReport, threshold_now: float) -> str:
    """What "Use the model's suggested points" did to the threshold, said out loud."""
    new = report.suggested.threshold
    kept = (
        f"{report.suggested_volume:,} MQLs in the history, against {report.target_volume:,} today"
    )
    if new == threshold_now:
        return (
            f"The model's points are in the editor; the threshold stays at {new:g} points ({kept})."
        )
    return (
        f"The model's points are in the editor, and the threshold moved from "
        f"{threshold_now:g} to {new:g} points: on the model's scale that keeps today's MQL "
        f"volume ({kept}). Drag the slider to choose another."
    )


def decay_note(
    base: FeatureMatrix, faded: FeatureMatrix, proposed: ScoringConfig, fade: decay.Decay
) -> str:
    """The effect of the decay on the proposed rule's MQLs per month, in words."""
    without, with_decay = decay.volume_effect(base, faded, proposed)
    if not (np.isfinite(without) and np.isfinite(with_decay)):
        return f"Engagement fades ({fade.describe()}); the proposed numbers above include it."
    return (
        f"Engagement fades ({fade.describe()}): the proposed rule makes {with_decay:,.1f} MQLs "
        f"per month with it, {without:,.1f} without it ({with_decay - without:+,.1f}). Every "
        "number on this page (both rules, the curve, the grades, the model) uses the faded points."
    )


def over_capacity_table(over: pd.DataFrame) -> pd.DataFrame:
    """The reps over capacity, by name, with headers in words and one number format."""
    return pd.DataFrame(
        {
            "rep": over["rep"] if "rep" in over.columns else over["rep_id"],
            "territory": over["territory"].fillna("(not set)"),
            "role": over["role"].fillna("(not set)").str.upper(),
            "capacity a month": over["capacity"].map(lambda v: f"{v:,.0f}"),
            "MQLs a month, current (mean · max)": [
                f"{a:,.1f} · {b:,.0f}"
                for a, b in zip(over["current_mean"], over["current_max"], strict=True)
            ],
            "MQLs a month, proposed (mean · max)": [
                f"{a:,.1f} · {b:,.0f}"
                for a, b in zip(over["proposed_mean"], over["proposed_max"], strict=True)
            ],
            "months over capacity, proposed": over["proposed_months_over"].map(lambda v: f"{v:,}"),
        }
    )
