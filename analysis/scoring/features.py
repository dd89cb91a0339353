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
    job title contains VP, SVP, EVP, Vice President, Director, Head, Chief, CEO, CTO, CFO,
    CMO, COO, CIO, CRO, CISO, C-level, Founder or President as a word, any case.
``employees_200plus`` / ``employees_1000plus``
    company has at least 200 / 1,000 employees.
``corporate_email``
    ``email_domain_kind`` is ``corporate``.
``target_region``
    ``region`` is one of the target regions (default North America and EMEA).
``target_industry``
    ``industry`` is one of the target industries (a parameter; see
    :func:`default_target_industries`).

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
as ``source`` or ``industry`` (the most frequent values only, see ``max_levels``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import duckdb
import numpy as np
import pandas as pd

from analysis.lifecycle.definitions import AS_OF_SQL

OUTCOMES: tuple[str, ...] = ("sql", "opportunity", "customer")
"""Outcomes a lead can have reached after its handoff, in funnel order."""

DEFAULT_HORIZON_DAYS = 30
"""Days after creation that serve as the decision point of a lead never handed off."""

DEFAULT_TARGET_REGIONS: tuple[str, ...] = ("North America", "EMEA")
"""Regions that count as ``target_region`` unless told otherwise."""

EXTRA_PROPERTIES: tuple[str, ...] = (
    "source",
    "campaign",
    "country",
    "region",
    "industry",
    "email_domain_kind",
)
"""Lead columns that ``extra_properties`` may one-hot encode."""

SENIOR_TITLE_PATTERN = (
    r"\b([sea]?vp|vice president|director|head|chief|ceo|cto|cfo|cmo|coo|cio|cro|ciso"
    r"|c-level|founder|co-founder|president)\b"
)
"""Regular expression (matched case-insensitively) that marks a senior job title."""

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


@dataclass(eq=False)
class FeatureMatrix:
    """The feature matrix of every lead, as of its decision point, plus its outcomes.

    Rows are leads sorted by ``lead_id``; every per-lead array below has length ``n``.

    Attributes
    ----------
    lead_ids : ndarray of str, shape (n,)
    X : ndarray of float32, shape (n, p)
        Feature values, 0 or 1 for the built-in features, as of the decision point.
    names : tuple of str, length p
        Column names of ``X``.
    kinds : tuple of str, length p
        ``'fit'`` or ``'engagement'`` per column.
    decision_at : ndarray of datetime64[us], shape (n,)
        Handoff time for handed-off leads, ``created_at + horizon_days`` otherwise (UTC).
    handed_off : ndarray of bool
        True when the lead was ever handed to sales (an ``mql`` or later stage change).
    created_at : ndarray of datetime64[us]
    reached_sql, reached_opportunity, reached_customer : ndarray of bool
        The lead's history shows that stage or a later one (at any time).
    sql_at, opportunity_at, customer_at : ndarray of datetime64[us]
        First entry of the stage (or of the next stage reached when it was skipped), NaT
        when never reached.
    owner, region : ndarray of object
        ``owner_rep_id`` and ``region`` of the lead, None when unknown.
    as_of : numpy.datetime64
        End of the data: the latest timestamp in any history table.
    horizon_days : int
        Decision horizon used for leads never handed off.
    target_regions, target_industries : tuple of str
        Values that made ``target_region`` / ``target_industry`` 1.
    months : ndarray of datetime64[M]
        Every calendar month from the first decision month to the later of the last
        decision month and the month of ``as_of``, ascending.
    month_code : ndarray of int32
        Index into ``months`` of each lead's decision month.
    """

    lead_ids: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    decision_at: np.ndarray
    handed_off: np.ndarray
    created_at: np.ndarray
    reached_sql: np.ndarray
    reached_opportunity: np.ndarray
    reached_customer: np.ndarray
    sql_at: np.ndarray
    opportunity_at: np.ndarray
    customer_at: np.ndarray
    owner: np.ndarray
    region: np.ndarray
    as_of: np.datetime64
    horizon_days: int = DEFAULT_HORIZON_DAYS
    target_regions: tuple[str, ...] = DEFAULT_TARGET_REGIONS
    target_industries: tuple[str, ...] = ()
    months: np.ndarray = field(default_factory=lambda: np.array([], dtype="datetime64[M]"))
    month_code: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int32))

    def __post_init__(self) -> None:
        if len(self.months) == 0 and len(self.decision_at):
            # Every calendar month from the first decision month to the later of the last
            # decision month and the end of the data, gaps included (a month without any
            # decision point is a month with 0 MQLs, not a missing month).
            decision_month = self.decision_at.astype("datetime64[M]")
            first, last = decision_month.min(), decision_month.max()
            if not np.isnat(self.as_of):
                last = max(last, np.datetime64(self.as_of, "M"))
            self.months = np.arange(first, last + 1, dtype="datetime64[M]")
            self.month_code = (decision_month - first).astype(np.int32)

    @property
    def n(self) -> int:
        """Number of leads (rows of ``X``)."""
        return int(self.X.shape[0])

    def index(self, name: str) -> int:
        """Column of ``X`` holding feature ``name``; KeyError listing the known names."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(
                f"unknown feature {name!r}; known features: {', '.join(self.names)}"
            ) from None

    def column(self, name: str) -> np.ndarray:
        """The values of feature ``name`` (a view into ``X``)."""
        return self.X[:, self.index(name)]

    @cached_property
    def _owner_factors(self) -> tuple[np.ndarray, np.ndarray]:
        codes, labels = pd.factorize(self.owner, use_na_sentinel=True)
        return codes.astype(np.int32), np.asarray(labels, dtype=object)

    @cached_property
    def _region_factors(self) -> tuple[np.ndarray, np.ndarray]:
        codes, labels = pd.factorize(self.region, use_na_sentinel=True)
        return codes.astype(np.int32), np.asarray(labels, dtype=object)

    @property
    def owner_code(self) -> np.ndarray:
        """Index of each lead's owner into :attr:`owner_labels`, -1 when unknown (int32)."""
        return self._owner_factors[0]

    @property
    def owner_labels(self) -> np.ndarray:
        """Distinct owner rep ids, in order of first appearance."""
        return self._owner_factors[1]

    @property
    def region_code(self) -> np.ndarray:
        """Index of each lead's region into :attr:`region_labels`, -1 when unknown (int32)."""
        return self._region_factors[0]

    @property
    def region_labels(self) -> np.ndarray:
        """Distinct regions, in order of first appearance."""
        return self._region_factors[1]

    @property
    def decided(self) -> np.ndarray:
        """True when the decision point is at or before the end of the data.

        A lead created less than ``horizon_days`` before the end of the data and not yet
        handed off has its decision point in the future: it belongs to no month of the
        historical window yet.
        """
        return self.decision_at <= self.as_of

    def reached_at(self, name: str) -> np.ndarray:
        """Time the lead reached outcome ``name`` (``'sql'``, ``'opportunity'``, ``'customer'``)."""
        _check_outcome(name)
        return getattr(self, f"{name}_at")

    def outcome(self, name: str, within_days: float | None = None) -> np.ndarray:
        """Whether each lead reached outcome ``name``, optionally within a window.

        Parameters
        ----------
        name : {'sql', 'opportunity', 'customer'}
            The stage; reaching it means the history shows it or any later stage.
        within_days : float, optional
            When given, the stage must have been reached at most this many days after the
            decision point.

        Returns
        -------
        ndarray of bool, shape (n,)
            Use together with :meth:`observed`: a False here is only meaningful where the
            outcome is observed.
        """
        _check_outcome(name)
        reached = getattr(self, f"reached_{name}")
        if within_days is None:
            return reached.copy()
        _check_window(within_days)
        limit = self.decision_at + _days(within_days)
        at = self.reached_at(name)
        return reached & (at <= limit)

    def observed(self, within_days: float | None = None) -> np.ndarray:
        """Whether the outcome of each lead is known.

        Only leads handed off to sales can have been accepted, so leads never handed off
        have no observed outcome. With a window of ``within_days`` days, a lead is also
        unobserved while its decision point is less than ``within_days`` before
        :attr:`as_of` (an immature cohort).
        """
        observed = self.handed_off.copy()
        if within_days is not None:
            _check_window(within_days)
            observed &= self.decision_at + _days(within_days) <= self.as_of
        return observed

    def frame(self, rows: np.ndarray | slice | None = None) -> pd.DataFrame:
        """The matrix as a DataFrame (lead_id, decision_at, handed_off, then features)."""
        sel = slice(None) if rows is None else rows
        out = pd.DataFrame(
            {
                "lead_id": self.lead_ids[sel],
                "decision_at": self.decision_at[sel],
                "handed_off": self.handed_off[sel],
            }
        )
        feats = pd.DataFrame(self.X[sel], columns=list(self.names))
        return pd.concat([out, feats], axis=1)

    def catalogue(self) -> pd.DataFrame:
        """One row per feature: ``feature``, ``kind``, ``description`` and ``share``.

        ``share`` is the share of all leads with the feature present (mean of the column).
        """
        described = {f.name: f.description for f in FEATURES}
        share = self.X.mean(axis=0, dtype=np.float64) if self.n else np.zeros(len(self.names))
        return pd.DataFrame(
            {
                "feature": list(self.names),
                "kind": list(self.kinds),
                "description": [described.get(n, _describe_extra(n)) for n in self.names],
                "share": share,
            }
        )


def _describe_extra(name: str) -> str:
    prop, _, value = name.partition("=")
    return f"{prop} is {value}"


def _days(days: float) -> np.timedelta64:
    return np.timedelta64(int(round(days * 86_400_000_000)), "us")


def _check_outcome(name: str) -> None:
    if name not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {name!r}")


def _check_window(within_days: float) -> None:
    if not np.isfinite(within_days) or within_days < 0:
        raise ValueError(f"within_days must be a non-negative number of days, got {within_days}")


def _check_horizon(horizon_days: int) -> None:
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int | np.integer):
        raise TypeError(f"horizon_days must be a whole number of days, got {horizon_days!r}")
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be at least 1 day, got {horizon_days}")


def default_target_industries() -> tuple[str, ...]:
    """Target industries of the demo rule, or () when the demo generator is not present.

    Reads ``target_industries`` from ``analysis.synth.DEMO_RULE`` when that module exists;
    real installations pass their own list to :func:`build_features`.
    """
    try:
        from analysis.demo import synth
    except ImportError:
        return ()
    rule = getattr(synth, "DEMO_RULE", None) or {}
    return tuple(str(v) for v in rule.get("target_industries", ()))


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


def _one_hot(values: np.ndarray, prop: str, max_levels: int) -> tuple[np.ndarray, list[str]]:
    series = pd.Series(_strings(values), dtype=object)
    counts = series.value_counts(dropna=True)
    levels = sorted(counts.index[:max_levels].astype(str), key=lambda v: (-counts[v], v))
    codes = pd.Index(levels, dtype=object).get_indexer(series)  # -1: other or NULL
    block = np.zeros((len(series), len(levels)), dtype=np.float32)
    rows = np.flatnonzero(codes >= 0)
    block[rows, codes[rows]] = 1.0
    return block, [f"{prop}={v}" for v in levels]


def build_features(
    con: duckdb.DuckDBPyConnection,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    extra_properties: Sequence[str] = (),
    *,
    target_industries: Sequence[str] | None = None,
    target_regions: Sequence[str] = DEFAULT_TARGET_REGIONS,
    max_levels: int = 20,
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
    target_industries : sequence of str, optional
        Industries that make ``target_industry`` 1; default
        :func:`default_target_industries`.
    target_regions : sequence of str
        Regions that make ``target_region`` 1.
    max_levels : int
        At most this many of the most frequent values per extra property get a column.

    Returns
    -------
    FeatureMatrix
        ``X`` uses only lead attributes and touchpoints with ``occurred_at`` at or before
        the decision point; outcomes are separate arrays.
    """
    _check_horizon(horizon_days)
    unknown = [p for p in extra_properties if p not in EXTRA_PROPERTIES]
    if unknown:
        raise ValueError(
            f"extra_properties must be lead columns among {', '.join(EXTRA_PROPERTIES)}, "
            f"got {', '.join(map(repr, unknown))}"
        )
    if max_levels < 1:
        raise ValueError(f"max_levels must be at least 1, got {max_levels}")
    extra = list(dict.fromkeys(extra_properties))
    industries = (
        default_target_industries() if target_industries is None else tuple(target_industries)
    )
    regions = tuple(target_regions)
    params = {
        "horizon": int(horizon_days),
        "senior_pattern": SENIOR_TITLE_PATTERN,
        # An empty VARCHAR[] parameter needs its type spelled out; a never-matching value
        # keeps the parameter typed without changing any row.
        "target_regions": list(regions) or [None],
        "target_industries": list(industries) or [None],
    }
    cols = con.execute(_matrix_sql(extra), params).fetchnumpy()
    (as_of,) = con.execute(AS_OF_SQL).fetchone()

    blocks = [_unpack_bits(_filled(cols["feature_bits"], 0), len(FEATURES))]
    names = [f.name for f in FEATURES]
    kinds = [f.kind for f in FEATURES]
    for prop in extra:
        block, block_names = _one_hot(cols[f"x_{prop}"], prop, max_levels)
        blocks.append(block)
        names += block_names
        kinds += ["fit"] * len(block_names)
    X = np.ascontiguousarray(np.hstack(blocks), dtype=np.float32)

    nat = np.datetime64("NaT", "us")
    times = {
        k: _filled(cols[k], nat).astype("datetime64[us]")
        for k in ("created_at", "decision_at", "sql_at", "opportunity_at", "customer_at")
    }
    fm = FeatureMatrix(
        lead_ids=_strings(cols["lead_id"]),
        X=X,
        names=tuple(names),
        kinds=tuple(kinds),
        decision_at=times["decision_at"],
        handed_off=_filled(cols["handed_off"], False).astype(bool),
        created_at=times["created_at"],
        reached_sql=~np.isnat(times["sql_at"]),
        reached_opportunity=~np.isnat(times["opportunity_at"]),
        reached_customer=~np.isnat(times["customer_at"]),
        sql_at=times["sql_at"],
        opportunity_at=times["opportunity_at"],
        customer_at=times["customer_at"],
        owner=_strings(cols["owner_rep_id"]),
        region=_strings(cols["region"]),
        as_of=np.datetime64(as_of, "us") if as_of is not None else nat,
        horizon_days=int(horizon_days),
        target_regions=regions,
        target_industries=industries,
    )
    # Factorise owners and regions now, so that the first what-if is as fast as the next.
    _ = fm.owner_code, fm.region_code
    return fm
