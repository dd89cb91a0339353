"""The engine's read workload: the numbers behind every page, the CLI and the scoring lab.

Each entry is ``(name, function(con) -> result)``; the equivalence test runs them on a
DuckDB connection and on a Spark connection over the exported Parquet snapshot and
compares the results, the SQL coverage test records every statement they send, and the
Spark bench times the headline entry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from analysis import filters as flt
from analysis import store
from analysis.definitions import data_as_of
from analysis.imports import quality
from analysis.lifecycle import funnel, measurable, rejections, sla
from analysis.lifecycle import metrics as m
from analysis.lifecycle import review as rv
from analysis.lifecycle.deals import closed_deals
from analysis.scoring import configs, features, leakage, properties, whatif
from analysis.store import settings as company

ALL = flt.Filters()
RANGE = flt.Filters(start=date(2026, 3, 1), end=date(2026, 9, 30))
NARROW = flt.Filters(sources=("webinar", "paid_search", "(not set)"), regions=("EMEA",))
MONTH = "2026-09"
REVIEWED = date(2026, 9, 1)


def _pages() -> list[tuple[str, Callable[[Any], Any]]]:
    return [
        # home
        ("home.table_summary", store.table_summary),
        ("home.availability", measurable.availability),
        ("sidebar.filter_options", flt.filter_options),
        ("sidebar.data_as_of", data_as_of),
        # funnel page
        ("funnel.stage_conversion", lambda c: funnel.stage_conversion(c, ALL)),
        ("funnel.stage_conversion.narrow", lambda c: funnel.stage_conversion(c, NARROW)),
        ("funnel.period_volumes", lambda c: funnel.period_volumes(c, RANGE, "month")),
        ("funnel.period_volumes.week", lambda c: funnel.period_volumes(c, RANGE, "week")),
        ("funnel.month_over_month", lambda c: funnel.month_over_month(c, ALL, "mql", "sql", 30)),
        ("funnel.cohort_matrix", lambda c: funnel.cohort_matrix(c, ALL, "mql", "sql")),
        ("funnel.breakdown.source", lambda c: funnel.breakdown(c, ALL, "source")),
        ("funnel.breakdown.score_band", lambda c: funnel.breakdown(c, ALL, "score_band")),
        ("funnel.velocity", lambda c: funnel.velocity(c, ALL, "mql", "sql")),
        ("funnel.sales_cycle", lambda c: funnel.sales_cycle(c, ALL)),
        # SLA page
        ("sla.compliance.tier", lambda c: sla.sla_compliance(c, ALL, by=("tier",))),
        ("sla.compliance.all", lambda c: sla.sla_compliance(c, ALL, by=None)),
        (
            "sla.compliance.team_month",
            lambda c: sla.sla_compliance(c, RANGE, by=("team", "month"), clock="wall"),
        ),
        ("sla.breach_queue", lambda c: sla.breach_queue(c, None, ALL)),
        ("sla.response_times", lambda c: sla.response_times(c, ALL)),
        ("sla.response_curve", lambda c: sla.response_curve(c, ALL)),
        ("sla.speed_to_lead", lambda c: sla.speed_to_lead(c, ALL)),
        ("sla.attempts", lambda c: sla.attempts_before_disposition(c, ALL, by="outcome")),
        # rejections page
        ("rejections.mix", lambda c: rejections.disposition_mix(c, ALL)),
        ("rejections.mix.source", lambda c: rejections.disposition_mix(c, ALL, by=("source",))),
        ("rejections.mix.month", lambda c: rejections.disposition_mix(c, RANGE, by=("month",))),
        ("rejections.pareto", lambda c: rejections.reason_pareto(c, ALL)),
        ("rejections.recycle", lambda c: rejections.recycle_summary(c, ALL)),
        # monthly review
        ("review.available_months", rv.available_months),
        ("review.default_month", rv.default_month),
        ("review.build", lambda c: rv.build_review(c, MONTH)),
        ("review.plan", lambda c: rv.plan(c, MONTH, 100_000.0)),
        # the review's sections one by one (review.build runs them all, ~90 statements)
        ("review.headline.month", lambda c: m.headline(c, REVIEWED, rv.month_end(REVIEWED))),
        ("review.deals", lambda c: closed_deals(c, date(2025, 9, 1), REVIEWED)),
        ("review.health_checks", lambda c: rv.health_checks(c, REVIEWED)),
        ("review.what_changed", lambda c: rv.what_changed(c, REVIEWED)),
        ("review.pipeline_status", lambda c: rv.pipeline_status(c, REVIEWED)),
        ("review.reason_changes", lambda c: rv.reason_changes(c, REVIEWED)),
        ("review.targets_grid", lambda c: rv.targets_grid(c, date(2026, 1, 1), date(2026, 12, 1))),
        # data page (read side)
        ("data.duplicates", quality.duplicate_summary),
        ("data.missing_fields", quality.missing_fields),
        ("data.label_variants", quality.label_variants),
        ("data.undated", quality.undated_stage_entries),
        ("data.out_of_order", quality.out_of_order_history),
        ("data.refusal_groups", quality.refusal_groups),
        # scoring lab
        ("scoring.configs", configs.load_configs),
        ("scoring.current", configs.load_config),
        ("scoring.reps", whatif.load_reps),
        ("scoring.catalogue", properties.catalogue),
        ("scoring.leakage", lambda c: leakage.property_leakage(c, "sql")),
        ("scoring.settings", company.load),
    ]


def headline(con: Any) -> dict:
    """``handoff metrics --json``'s payload over the whole history."""
    return m.headline(con, None, None)


def headline_by_source(con: Any) -> dict:
    """``handoff metrics --by source`` for one range."""
    return m.headline(con, "2026-03-01", "2026-09-30", by="source")


def feature_matrix(con: Any) -> features.FeatureMatrix:
    """The scoring lab's feature matrix (every lead as of its decision point)."""
    return features.build_features(con, extra_properties=("source",))


WORKLOAD: list[tuple[str, Callable[[Any], Any]]] = [
    ("metrics.headline", headline),
    ("metrics.headline.by_source", headline_by_source),
    ("scoring.features", feature_matrix),
    *_pages(),
]

SLOW = frozenset({"review.build"})
"""The whole monthly review (~90 statements, minutes on Spark local[2]): Spark analyses its
SQL in tests/spark/test_sql_coverage.py; the number-for-number comparison runs its sections
one by one (``review.headline.month`` ... ``review.plan``), which are the same statements.
"""
