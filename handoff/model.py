"""`handoff model fit`: fit the scoring model on a database and print how good it is.

Prints the evaluation (method, AUC with its spread and interval, leads and outcomes behind
it), the coefficients, the suggested points and the leakage verdict of every lead property
used. Without ``--property``, every stored property not flagged as likely leakage is used;
a flagged one is used only when named. Exit 2 with a one-line reason when no model can be
fitted (nobody handed off, too few outcomes, ...).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from analysis import store
from analysis.scoring import features, leakage
from analysis.scoring import model as scoring
from analysis.scoring.properties import catalogue
from handoff.common import DbOption, fail, open_read_only, out

# Options and error exit as handoff.cli spells them; defined here so that this module
# does not import handoff.cli, which imports it to register the command (no cycle).
model_app = typer.Typer(help="The scoring model: fit it on your history.", no_args_is_help=True)

OUTCOME_ALIASES = {
    "won": "customer",
    "customer": "customer",
    "sql": "sql",
    "opportunity": "opportunity",
}


def _number(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _chosen_properties(evidence: Any, stored: list[str], named: list[str]) -> list[str]:
    unknown = [n for n in named if n not in stored]
    if unknown:
        fail(f"unknown lead properties {', '.join(unknown)}; stored: {', '.join(stored) or 'none'}")
    if named:
        return list(dict.fromkeys(named))
    flagged = set(evidence.loc[evidence["verdict"] == "likely leakage", "name"])
    return [n for n in stored if n not in flagged]


def fit_summary(db: Path, outcome: str, named: list[str]) -> dict[str, Any]:
    """The fitted model as plain JSON-ready values (see the module docstring)."""
    con = open_read_only(db)  # the configured engine (DuckDB file or Spark over Parquet)
    try:
        stored = catalogue(con)["name"].astype(str).tolist()
        evidence = leakage.property_leakage(con, outcome)
        chosen = _chosen_properties(evidence, stored, named)
        fm = features.build_features(con, properties=chosen)
        try:
            current = scoring.load_config(con)
        except LookupError:
            current = None
    finally:
        con.close()
    report = scoring.fit_model(fm, outcome, current=current)
    ev = report.evaluation
    verdicts = evidence.set_index("name") if len(evidence) else None
    return {
        "db": str(db),
        "outcome": outcome,
        "evaluation": {
            "method": ev.method,
            "why": ev.reason,
            "auc": _number(ev.auc),
            "auc_std": _number(ev.auc_std),
            "auc_low": _number(ev.auc_low),
            "auc_high": _number(ev.auc_high),
            "fold_aucs": [_number(a) for a in ev.fold_aucs],
            "n_leads": ev.n_leads,
            "n_outcomes": ev.n_outcomes,
            "n_not_handed_off": report.n_not_handed_off,
        },
        "coefficients": [
            {k: (_number(v) if isinstance(v, float) else v) for k, v in row.items()}
            for row in report.coefficients[
                ["feature", "kind", "coef", "se", "ci_low", "ci_high", "suggested_points"]
            ].to_dict("records")
        ],
        "intercept": report.intercept,
        "suggested": {
            "threshold": report.suggested.threshold,
            "points": report.suggested.weights,
            "mqls": report.suggested_volume,
            "target_mqls": report.target_volume,
        },
        "properties": [
            {
                "name": name,
                "verdict": str(verdicts.loc[name, "verdict"]) if verdicts is not None else None,
                "auc": _number(verdicts.loc[name, "auc"]) if verdicts is not None else None,
                "evidence": str(verdicts.loc[name, "evidence"]) if verdicts is not None else "",
            }
            for name in chosen
        ],
        "not_offered": dict(fm.absent),
        "notes": report.notes,
    }


def _print_text(summary: dict[str, Any]) -> None:
    ev = summary["evaluation"]
    auc = "not defined" if ev["auc"] is None else f"{ev['auc']:.3f}"
    spread = "" if ev["auc_std"] is None else f" ± {ev['auc_std']:.3f}"
    interval = "" if ev["auc_low"] is None else f" (95% {ev['auc_low']:.3f}–{ev['auc_high']:.3f})"
    out.print(f"outcome: reached {summary['outcome']}", highlight=False)
    out.print(f"evaluation: {ev['method']} ({ev['why']})", highlight=False)
    out.print(
        f"AUC {auc}{spread}{interval} on {ev['n_leads']:,} leads, {ev['n_outcomes']:,} outcomes",
        highlight=False,
    )
    out.print("coefficients (log-odds per unit) and suggested points:", highlight=False)
    for row in summary["coefficients"]:
        coef = "–" if row["coef"] is None else f"{row['coef']:+.3f}"
        out.print(f"  {row['feature']:<40} {coef:>8}  {row['suggested_points']:g}", highlight=False)
    out.print(f"suggested threshold: {summary['suggested']['threshold']:g}", highlight=False)
    for prop in summary["properties"]:
        out.print(
            f"property {prop['name']}: {prop['verdict']} – {prop['evidence']}", highlight=False
        )


@model_app.command("fit")
def fit(
    db: DbOption,
    outcome: Annotated[
        str, typer.Option(help="Stage to predict: sql, opportunity, customer (or won).")
    ] = "customer",
    prop: Annotated[
        list[str] | None,
        typer.Option("--property", help="Lead property to use (repeat); default: all not flagged."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Fit the scoring model and print its evaluation, points and leakage verdicts."""
    stage = OUTCOME_ALIASES.get(outcome.lower())
    if stage is None:
        fail(f"--outcome must be sql, opportunity, customer or won, got {outcome!r}")
    if not db.exists():
        fail(f"database not found: {db}")
    try:
        summary = fit_summary(db, stage, list(prop or []))
    except scoring.FitImpossible as exc:
        fail(f"no model can be fitted: {exc}")
    except (store.SchemaError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        _print_text(summary)
