"""Lead features as of each lead's decision point, built once and kept as numpy arrays.

Query intuition
---------------
A scoring rule decides, at some moment, whether a lead goes to sales. To replay any rule
on history without leaking the future into it, every lead gets one **decision point**:

- its **handoff time** when it was ever handed off: the first ``mql`` stage change, or,
  when the history skips ``mql``, the first entry of the next stage it did reach (``sql``,
  then ``opportunity``, then ``customer``; DESIGN.md: a skipped stage takes the entry time
  of the next stage reached);
- otherwise its ``created_at`` plus a fixed horizon (``horizon_days``, default 30 days).

One DuckDB query then builds the whole feature matrix: the first entry of every stage per
lead (a grouped ``min ... FILTER``), the decision point from it, the lead's touchpoints
joined on ``occurred_at <= decision_at`` and folded into per-lead counts with grouped
conditional aggregates, and finally one 0/1 column per feature from those counts and the
lead's own attributes. The touchpoint that triggered a handoff usually carries the same
timestamp as the ``mql`` change, and marketing knew it at that moment, so the comparison
is ``<=``. Nothing else enters ``X``: no dispositions, sales activities, opportunities, and
no stage change other than the ones that fix the decision point.

Outcomes are kept apart from ``X``: a lead *reached* ``sql`` when its history shows
``sql`` or any later stage (``opportunity``, ``customer``), at the first entry of that
stage or, when skipped, of the next stage it did reach. Only leads that were handed off
can have been accepted by sales, so an outcome is *observed* only for handed-off leads;
with a conversion window of ``W`` days, a lead is also observed only when its decision
point lies at least ``W`` days before the end of the data (older cohorts are *mature*).

The result, :class:`FeatureMatrix`, holds ``X`` as a ``float32`` array (one row per lead,
sorted by ``lead_id``), so that re-scoring with new points is one matrix product.

Feature catalogue
-----------------
Fit (who they are), from the lead's attributes:

``senior_title``
    job title matches the company's senior-title pattern (settings, any case).
``employees_200plus`` / ``employees_1000plus``
    company has at least 200 / 1,000 employees.
``corporate_email``
    ``email_domain_kind`` is ``corporate``.
``target_region`` / ``target_industry``
    ``region`` / ``industry`` is one of the company's target regions / industries
    (:mod:`analysis.store.settings`); not offered while the settings name none.

Engagement (what they did), from touchpoints up to the decision point (``detail`` compared
lower-cased):

``pricing_page``, ``case_study``, ``product_page``
    at least one page view of that page category.
``careers_only``
    at least one page view, and every page view was of the careers page.
``blog_over_hour``
    blog page views add up to at least 3,600 seconds (``value`` = seconds on page).
``tofu_download``, ``mofu_download``, ``bofu_download``
    at least one content download of that funnel stage.
``demo_request``, ``webinar``, ``email_click``, ``email_open``, ``form_submit``, ``chat``
    at least one touchpoint of that kind.

``extra_properties`` adds one-hot fit columns ``property=value`` for lead attributes such
as ``source`` or ``industry`` (rare values pooled, see :func:`properties.one_hot`), and
``properties`` appends imported lead properties (:mod:`analysis.scoring.properties`).

A built-in feature whose source data the history lacks (no touchpoints, no target
industries in the settings, or simply no lead that has it) is listed in
:attr:`FeatureMatrix.absent` with the reason and is not offered: its column is all 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from analysis.definitions import AS_OF_SQL
from analysis.scoring import properties as props
from analysis.scoring.matrix import (
    DEFAULT_HORIZON_DAYS,
    OUTCOMES,
    FeatureMatrix,
    _check_horizon,
)
from analysis.store import settings as company

__all__ = [
    "DEFAULT_HORIZON_DAYS",
    "FEATURES",
    "OUTCOMES",
    "FeatureMatrix",
    "build_features",
    "decision_points",
]

EXTRA_PROPERTIES: tuple[str, ...] = (
    "source",
    "campaign",
    "country",
    "region",
    "industry",
    "email_domain_kind",
)
"""Lead columns that ``extra_properties`` may one-hot encode."""

BLOG_SECONDS_OVER_HOUR = 3600.0
"""Seconds of blog reading from which ``blog_over_hour`` is 1."""


@dataclass(frozen=True)
class Feature:
    """One column of the feature matrix: its name, kind and definition in SQL."""

    name: str
    kind: str
    sql: str
    description: str


# Each `sql` is a boolean expression over the leads row `l` and the per-lead touchpoint
# counts of DECISION_SQL's `agg` CTE (already 0 for a lead without touchpoints).
FEATURES: tuple[Feature, ...] = (
    Feature(
        "senior_title",
        "fit",
        "regexp_matches(coalesce(l.job_title, ''), $senior_pattern, 'i')",
        "job title names a senior role (VP, Director, Head, C-level, Founder, President)",
    ),
    Feature("employees_200plus", "fit", "l.employees >= 200", "200 or more employees"),
    Feature("employees_1000plus", "fit", "l.employees >= 1000", "1,000 or more employees"),
    Feature(
        "corporate_email",
        "fit",
        "l.email_domain_kind = 'corporate'",
        "email address on a corporate domain",
    ),
    Feature(
        "target_region",
        "fit",
        "list_contains($target_regions, l.region)",
        "region is a target region",
    ),
    Feature(
        "target_industry",
        "fit",
        "list_contains($target_industries, l.industry)",
        "industry is a target industry",
    ),
    Feature("pricing_page", "engagement", "a.pricing_views > 0", "viewed the pricing page"),
    Feature("demo_request", "engagement", "a.demo_requests > 0", "requested a demo"),
    Feature(
        "careers_only",
        "engagement",
        "a.page_views > 0 AND a.careers_views = a.page_views",
        "viewed pages, but only the careers page",
    ),
    Feature(
        "blog_over_hour",
        "engagement",
        f"a.blog_seconds >= {BLOG_SECONDS_OVER_HOUR}",
        "read the blog for an hour or more in total",
    ),
    Feature("case_study", "engagement", "a.case_study_views > 0", "viewed a case study"),
    Feature("product_page", "engagement", "a.product_views > 0", "viewed a product page"),
    Feature("tofu_download", "engagement", "a.tofu_downloads > 0", "downloaded TOFU content"),
    Feature("mofu_download", "engagement", "a.mofu_downloads > 0", "downloaded MOFU content"),
    Feature("bofu_download", "engagement", "a.bofu_downloads > 0", "downloaded BOFU content"),
    Feature("webinar", "engagement", "a.webinars > 0", "attended a webinar"),
    Feature("email_click", "engagement", "a.email_clicks > 0", "clicked a marketing email"),
    Feature("email_open", "engagement", "a.email_opens > 0", "opened a marketing email"),
    Feature("form_submit", "engagement", "a.form_submits > 0", "submitted a form"),
    Feature("chat", "engagement", "a.chats > 0", "started a chat"),
)
"""The built-in features, fit first, in the column order of :attr:`FeatureMatrix.X`."""

_DETAILS: tuple[str, ...] = (
    "pricing",
    "careers",
    "case_study",
    "product",
    "blog",
    "home",
    "tofu",
    "mofu",
    "bofu",
)
"""Touchpoint ``detail`` values as spelled by the native format (others are lower-cased)."""

# Per-lead touchpoint counts; each entry is (column, aggregate over touchpoints `t` with
# `d` = lower-cased detail). Used inside DECISION_SQL's `tp` CTE.
_TOUCH_AGGREGATES: tuple[tuple[str, str], ...] = (
    ("page_views", "count(*) FILTER (WHERE t.kind = 'page_view')"),
    ("pricing_views", "count(*) FILTER (WHERE t.kind = 'page_view' AND t.d = 'pricing')"),
    ("careers_views", "count(*) FILTER (WHERE t.kind = 'page_view' AND t.d = 'careers')"),
    ("case_study_views", "count(*) FILTER (WHERE t.kind = 'page_view' AND t.d = 'case_study')"),
    ("product_views", "count(*) FILTER (WHERE t.kind = 'page_view' AND t.d = 'product')"),
    ("blog_seconds", "sum(t.value) FILTER (WHERE t.kind = 'page_view' AND t.d = 'blog')"),
    ("tofu_downloads", "count(*) FILTER (WHERE t.kind = 'content_download' AND t.d = 'tofu')"),
    ("mofu_downloads", "count(*) FILTER (WHERE t.kind = 'content_download' AND t.d = 'mofu')"),
    ("bofu_downloads", "count(*) FILTER (WHERE t.kind = 'content_download' AND t.d = 'bofu')"),
    ("demo_requests", "count(*) FILTER (WHERE t.kind = 'demo_request')"),
    ("webinars", "count(*) FILTER (WHERE t.kind = 'webinar')"),
    ("email_clicks", "count(*) FILTER (WHERE t.kind = 'email_click')"),
    ("email_opens", "count(*) FILTER (WHERE t.kind = 'email_open')"),
    ("form_submits", "count(*) FILTER (WHERE t.kind = 'form_submit')"),
    ("chats", "count(*) FILTER (WHERE t.kind = 'chat')"),
)

DECISION_SQL = """
WITH firsts AS (
    SELECT lead_id,
        min(changed_at) FILTER (WHERE stage = 'mql') AS mql_at,
        min(changed_at) FILTER (WHERE stage = 'sql') AS sql_first,
        min(changed_at) FILTER (WHERE stage = 'opportunity') AS opportunity_first,
        min(changed_at) FILTER (WHERE stage = 'customer') AS customer_first
    FROM stage_changes
    GROUP BY lead_id
),
dp AS (
    SELECT l.lead_id, l.created_at,
        coalesce(f.mql_at, f.sql_first, f.opportunity_first, f.customer_first) AS handoff_at,
        coalesce(
            f.mql_at, f.sql_first, f.opportunity_first, f.customer_first,
            l.created_at + to_days(CAST($horizon AS INTEGER))
        ) AS decision_at,
        coalesce(f.sql_first, f.opportunity_first, f.customer_first) AS sql_at,
        coalesce(f.opportunity_first, f.customer_first) AS opportunity_at,
        f.customer_first AS customer_at
    FROM leads l
    LEFT JOIN firsts f USING (lead_id)
)
"""
"""Decision point and outcome times per lead (CTE ``dp``); ``$horizon`` is in days."""

DECISION_POINTS_SQL = (
    DECISION_SQL
    + """
SELECT lead_id, created_at, handoff_at, decision_at, handoff_at IS NOT NULL AS handed_off
FROM dp
ORDER BY lead_id
"""
)


def _matrix_sql(extra: Sequence[str]) -> str:
    touch = ",\n        ".join(f"{expr} AS {name}" for name, expr in _TOUCH_AGGREGATES)
    counts = ",\n        ".join(
        f"coalesce(tp.{name}, 0) AS {name}" for name, _ in _TOUCH_AGGREGATES
    )
    # All built-in features are 0/1: pack them into the bits of one BIGINT (bit i =
    # FEATURES[i]) so that a single column crosses from DuckDB to numpy.
    bits = "\n        + ".join(
        f"(CAST(coalesce({f.sql}, false) AS BIGINT) << {i})" for i, f in enumerate(FEATURES)
    )
    known = ", ".join(f"'{d}'" for d in _DETAILS)
    # `extra` holds names from EXTRA_PROPERTIES only (checked by the caller), never input.
    extras = "".join(f', l."{p}" AS "x_{p}"' for p in extra)
    return (
        DECISION_SQL
        + f""",
tp AS (
    SELECT t.lead_id,
        {touch}
    FROM (
        SELECT tt.lead_id, tt.kind, tt.value,
            -- lower/trim only the values not already spelled as the vocabulary (fast path)
            CASE WHEN tt.detail IN ({known}) THEN tt.detail
                ELSE lower(trim(tt.detail)) END AS d
        FROM touchpoints tt
        JOIN dp ON tt.lead_id = dp.lead_id AND tt.occurred_at <= dp.decision_at
    ) t
    GROUP BY t.lead_id
),
agg AS (
    SELECT dp.*,
        {counts}
    FROM dp
    LEFT JOIN tp USING (lead_id)
)
SELECT a.lead_id, a.created_at, a.decision_at, a.handoff_at IS NOT NULL AS handed_off,
    a.sql_at, a.opportunity_at, a.customer_at,
    l.owner_rep_id, l.region{extras},
    {bits} AS feature_bits
FROM agg a
JOIN leads l USING (lead_id)
ORDER BY a.lead_id
"""
    )


def decision_points(
    con: duckdb.DuckDBPyConnection, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> pd.DataFrame:
    """Decision point of every lead.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection to a Handoff Health database.
    horizon_days : int
        Days after ``created_at`` used as the decision point of leads never handed off.

    Returns
    -------
    DataFrame
        One row per lead, sorted by ``lead_id``: ``lead_id``, ``created_at``,
        ``handoff_at`` (first ``mql`` stage change, or the first later stage when ``mql``
        was skipped; NaT when never handed off), ``decision_at`` (``handoff_at``, else
        ``created_at + horizon_days``) and ``handed_off`` (bool). Times are naive UTC.
    """
    _check_horizon(horizon_days)
    return con.execute(DECISION_POINTS_SQL, {"horizon": int(horizon_days)}).df()


def _filled(values: np.ndarray, fill: object) -> np.ndarray:
    if isinstance(values, np.ma.MaskedArray):
        return values.filled(fill)
    return np.asarray(values)


def _strings(values: np.ndarray) -> np.ndarray:
    """Object array of str with None for NULL (``filled(None)`` would give '?')."""
    if isinstance(values, np.ma.MaskedArray):
        out = np.array(values.data, dtype=object)
        out[np.ma.getmaskarray(values)] = None
        return out
    return np.asarray(values, dtype=object)


def _unpack_bits(bits: np.ndarray, p: int) -> np.ndarray:
    """(n, p) float32 matrix of bits 0..p-1 of each integer (bit i -> column i)."""
    as_bytes = np.ascontiguousarray(bits, dtype="<u8").view(np.uint8).reshape(-1, 8)
    unpacked = np.unpackbits(as_bytes, axis=1, bitorder="little")[:, :p]
    return unpacked.astype(np.float32)


def _unavailable(
    X: np.ndarray, settings: company.CompanySettings, touchpoints: int
) -> dict[str, str]:
    """Built-in features this history cannot measure (or no lead has), with the reason."""
    absent: dict[str, str] = {}
    zero = ~X.any(axis=0) if X.shape[0] else np.ones(X.shape[1], dtype=bool)
    for i, f in enumerate(FEATURES):
        if f.kind == "engagement" and touchpoints == 0:
            absent[f.name] = "not measurable: this history has no touchpoints"
        elif f.name == "target_region" and not settings.target_regions:
            absent[f.name] = "not offered: no target regions in the company's settings"
        elif f.name == "target_industry" and not settings.target_industries:
            absent[f.name] = "not offered: no target industries in the company's settings"
        elif zero[i]:
            absent[f.name] = "not offered: no lead in this history has it (column all 0)"
    return absent


def _lead_columns(
    cols: dict, extra: Sequence[str], min_frequency: int, max_categories: int
) -> tuple[list[np.ndarray], list[str], dict[str, str]]:
    """One-hot blocks of the chosen ``leads`` columns (:data:`EXTRA_PROPERTIES`)."""
    blocks, names, described = [], [], {}
    for prop in extra:
        block, block_names = props.one_hot(
            _strings(cols[f"x_{prop}"]),
            prop,
            min_frequency=min_frequency,
            max_categories=max_categories,
        )
        blocks.append(block)
        names += block_names
        described.update({n: f"{prop} is {n[len(prop) + 1 :]}" for n in block_names})
    return blocks, names, described


def build_features(
    con: duckdb.DuckDBPyConnection,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    extra_properties: Sequence[str] = (),
    *,
    properties: Sequence[str] = (),
    settings: company.CompanySettings | None = None,
    min_frequency: int = props.MIN_FREQUENCY,
    max_categories: int = props.MAX_CATEGORIES,
) -> FeatureMatrix:
    """Build the feature matrix of every lead as of its decision point.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection to a Handoff Health database (read-only is enough).
    horizon_days : int
        Decision point of a lead never handed off, in days after its ``created_at``.
    extra_properties : sequence of str
        Lead columns to one-hot encode as additional fit features named
        ``property=value`` (allowed: :data:`EXTRA_PROPERTIES`).
    properties : sequence of str
        Imported lead properties to append (:func:`analysis.scoring.properties.add_properties`).
    settings : CompanySettings, optional
        Target regions and industries and the senior-title pattern; default the
        company's settings stored in the database (:func:`analysis.store.settings.load`).
    min_frequency, max_categories : int
        Pooling of rare values in one-hot columns (see :func:`properties.one_hot`).

    Returns
    -------
    FeatureMatrix
        ``X`` uses only lead attributes and touchpoints with ``occurred_at`` at or before
        the decision point (and the chosen lead properties); outcomes are separate arrays.
        Built-in features whose source data is missing are listed in ``absent``.
    """
    _check_horizon(horizon_days)
    unknown = [p for p in extra_properties if p not in EXTRA_PROPERTIES]
    if unknown:
        raise ValueError(
            f"extra_properties must be lead columns among {', '.join(EXTRA_PROPERTIES)}, "
            f"got {', '.join(map(repr, unknown))}"
        )
    settings = company.load(con) if settings is None else settings
    extra = list(dict.fromkeys(extra_properties))
    cols = con.execute(_matrix_sql(extra), _params(settings, horizon_days)).fetchnumpy()
    (as_of,) = con.execute(AS_OF_SQL).fetchone()
    (touchpoints,) = con.execute("SELECT count(*) FROM touchpoints").fetchone()

    builtin = _unpack_bits(_filled(cols["feature_bits"], 0), len(FEATURES))
    blocks, extra_names, described = _lead_columns(cols, extra, min_frequency, max_categories)
    described.update({f.name: f.description for f in FEATURES})
    fm = FeatureMatrix(
        lead_ids=_strings(cols["lead_id"]),
        X=np.ascontiguousarray(np.hstack([builtin, *blocks]), dtype=np.float32),
        names=(*(f.name for f in FEATURES), *extra_names),
        kinds=(*(f.kind for f in FEATURES), *(["fit"] * len(extra_names))),
        **_times(cols),
        handed_off=_filled(cols["handed_off"], False).astype(bool),
        owner=_strings(cols["owner_rep_id"]),
        region=_strings(cols["region"]),
        as_of=np.datetime64(as_of, "us") if as_of is not None else np.datetime64("NaT", "us"),
        horizon_days=int(horizon_days),
        target_regions=settings.target_regions,
        target_industries=settings.target_industries,
        described=described,
        absent=_unavailable(builtin, settings, int(touchpoints)),
        one_hot_groups={p: tuple(n for n in extra_names if n.startswith(f"{p}=")) for p in extra},
    )
    if properties:
        fm = props.add_properties(
            fm, con, properties, min_frequency=min_frequency, max_categories=max_categories
        )
    # Factorise owners and regions now, so that the first what-if is as fast as the next.
    _ = fm.owner_code, fm.region_code
    return fm


def _params(settings: company.CompanySettings, horizon_days: int) -> dict:
    return {
        "horizon": int(horizon_days),
        "senior_pattern": settings.senior_title_pattern,
        # An empty VARCHAR[] parameter needs its type spelled out; a never-matching value
        # keeps the parameter typed without changing any row.
        "target_regions": list(settings.target_regions) or [None],
        "target_industries": list(settings.target_industries) or [None],
    }


def _times(cols: dict) -> dict[str, np.ndarray]:
    """Creation, decision and outcome times (datetime64[us], NaT when absent)."""
    nat = np.datetime64("NaT", "us")
    times = {
        k: _filled(cols[k], nat).astype("datetime64[us]")
        for k in ("created_at", "decision_at", "sql_at", "opportunity_at", "customer_at")
    }
    for stage in OUTCOMES:
        times[f"reached_{stage}"] = ~np.isnat(times[f"{stage}_at"])
    return times
