"""The demo company's settings and scoring rule: the simulator's ground truth for who is an MQL.

The company-level facts the rule needs (target industries and regions, the size threshold,
the senior-title pattern, the currency) are one :class:`~analysis.store.settings.CompanySettings`,
:data:`DEMO_SETTINGS`, which the generator stores in every demo database; the example file
``data/settings/demo.toml`` mirrors it (a test checks they agree). The numpy copy of the
rule here is the simulator's own: it decides who becomes an MQL while the history is drawn,
and it reads its targets and title pattern from :data:`DEMO_SETTINGS` so that the stored
settings reproduce its fit flags.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.store.settings import CompanySettings

DEMO_SETTINGS = CompanySettings(
    target_industries=("Software", "Financial Services", "Manufacturing"),
    target_regions=("North America", "EMEA"),
    min_employees=200,
    senior_title_pattern=(
        r"\b(VP|Vice President|Director|Head of|Chief|CEO|CFO|CTO|CMO|COO|CIO|CRO)\b"
    ),
    currency="USD",
)
"""The demo company's settings, as written into every generated database."""

FIT_FEATURES: tuple[str, ...] = (
    "senior_title",
    "employees_200plus",
    "corporate_email",
    "target_region",
    "target_industry",
)
ENGAGEMENT_FEATURES: tuple[str, ...] = (
    "pricing_page",
    "demo_request",
    "careers_only",
    "blog_over_hour",
    "case_study",
    "mofu_download",
    "bofu_download",
    "webinar",
    "email_click",
)
DEMO_RULE: dict[str, Any] = {
    "weights": {
        "senior_title": 15,
        "employees_200plus": 10,
        "corporate_email": 5,
        "target_region": 5,
        "target_industry": 10,
        "pricing_page": 25,
        "demo_request": 50,
        "careers_only": -10,
        "blog_over_hour": 10,
        "case_study": 10,
        "mofu_download": 10,
        "bofu_download": 20,
        "webinar": 15,
        "email_click": 5,
    },
    "threshold": 60.0,
    "fit_features": list(FIT_FEATURES),
    "engagement_features": list(ENGAGEMENT_FEATURES),
    "target_regions": list(DEMO_SETTINGS.target_regions),
    "target_industries": list(DEMO_SETTINGS.target_industries),
}
"""The demo company's current scoring rule: points per feature and the MQL threshold.

A lead becomes MQL at the first touchpoint at which the sum of points of its true features
reaches ``threshold``, or at its first demo request whatever its score (the hot tier)."""

SENIOR_TITLE_PATTERN = DEMO_SETTINGS.senior_title_pattern
"""Regular expression (case-insensitive) for a senior job title."""
TARGET_REGIONS: tuple[str, ...] = tuple(DEMO_RULE["target_regions"])
TARGET_INDUSTRIES: tuple[str, ...] = tuple(DEMO_RULE["target_industries"])
EMPLOYEES_THRESHOLD = DEMO_SETTINGS.min_employees
BLOG_SECONDS_THRESHOLD = 3600.0

FEATURE_DEFINITIONS: dict[str, str] = {
    "senior_title": f"job_title matches {SENIOR_TITLE_PATTERN} (case-insensitive); "
    "a missing title is not senior",
    "employees_200plus": f"employees >= {EMPLOYEES_THRESHOLD}",
    "corporate_email": "email_domain_kind = 'corporate'",
    "target_region": f"region in {list(TARGET_REGIONS)}",
    "target_industry": f"industry exactly one of {list(TARGET_INDUSTRIES)} as stored "
    "(misspelt labels do not match)",
    "pricing_page": "any page_view with detail 'pricing' so far",
    "demo_request": "any demo_request so far",
    "careers_only": "at least one page_view so far and every one of them has detail 'careers'",
    "blog_over_hour": "sum of value (seconds) of page_views with detail 'blog' so far >= 3600",
    "case_study": "any page_view with detail 'case_study' so far",
    "mofu_download": "any content_download with detail 'mofu' so far",
    "bofu_download": "any content_download with detail 'bofu' so far",
    "webinar": "any webinar touchpoint so far",
    "email_click": "any email_click so far",
}
"""How each rule feature is computed from a lead and its touchpoints at or before a time."""


def rule_points(features: pd.DataFrame, rule: dict | None = None) -> pd.Series:
    """Rule score of each row of 0/1 (or boolean) feature columns.

    Parameters
    ----------
    features : DataFrame
        One column per feature named in ``rule['weights']`` (missing columns count as 0).
    rule : dict, optional
        A rule shaped like :data:`DEMO_RULE`; default :data:`DEMO_RULE`.

    Returns
    -------
    Series of float
        Sum of the points of the true features, per row.
    """
    rule = rule or DEMO_RULE
    score = pd.Series(0.0, index=features.index)
    for name, points in rule["weights"].items():
        if name in features:
            score += features[name].astype(float) * float(points)
    return score
