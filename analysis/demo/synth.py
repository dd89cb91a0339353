"""A seeded, realistic demo history of a B2B company's CRM, with planted effects.

Query intuition
---------------
The generator builds the history the way it happens, one stage after another, each stage
vectorised over all leads at once (numpy arrays, no loop per lead):

1. **Companies and leads.** A pool of companies (country, region, industry, size) is drawn;
   each lead picks a source (volume shares), a campaign within it, a company from the size
   band its source tends to bring, a job title from a seniority mix that depends on the
   source, and a corporate or free email. Creation days follow a growth trend, weekdays,
   seasons and a December dip. A latent *interest* per lead drives its touchpoints. About
   2% of the records are dirty (duplicates, missing titles, odd industry/country labels).
2. **Touchpoints.** Each lead gets a creating conversion at ``created_at`` and then a stream
   of page views, downloads, emails, webinars, forms, chats and demo requests; their kinds
   and details lean towards buying signals (pricing, case studies, BOFU, demo requests) as
   interest grows.
3. **MQL handoff.** Touchpoints are sorted by lead and time, the features of
   :data:`DEMO_RULE` are accumulated per lead (cumulative sums inside each lead's run) and
   the handoff is the first touchpoint at which the rule score reaches the threshold, or a
   demo request (the *hot* tier). MQLs are routed to an SDR of the team covering their
   territory (region).
4. **Sales round.** The first touch waits for the owner's working hours (time zone, work
   start/end, weekdays) plus a heavy-tailed delay, short for hot MQLs; one team breaches
   badly during three consecutive months. 1-6 further attempts follow, then a disposition.
   Acceptance is drawn from a logistic model of fit, engagement and
   ``log(1 + response minutes)``; rejection reasons depend on source and fit. Some nurtured
   leads re-engage and become MQL again (recycling) and get a second round.
5. **Opportunities.** Most accepted leads get an opportunity (a few skip the ``sql``
   stage); amounts depend on the company's size segment; deals close won or lost after weeks
   to months, and those that would close after the end are still open.
6. **Targets, policies, scoring model** rows complete the history, and a truth dictionary
   records every planted number so that analyses can be tested against it.

Everything after the end of history is cut off: no row carries a time at or after the
cut-off (midnight after ``end``, or the current time when ``end`` is not given). All times
are naive UTC. Randomness comes only from ``np.random.default_rng(seed)``, drawn in a fixed
order, so the same seed and end give the same tables.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from analysis import config, store

# --------------------------------------------------------------------------------------
# The scoring rule the demo company uses today
# --------------------------------------------------------------------------------------

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
    "target_regions": ["North America", "EMEA"],
    "target_industries": ["Software", "Financial Services", "Manufacturing"],
}
"""The demo company's current scoring rule: points per feature and the MQL threshold.

A lead becomes MQL at the first touchpoint at which the sum of points of its true features
reaches ``threshold``, or at its first demo request whatever its score (the hot tier)."""

SENIOR_TITLE_PATTERN = r"\b(VP|Vice President|Director|Head of|Chief|CEO|CFO|CTO|CMO|COO|CIO|CRO)\b"
"""Regular expression (case-insensitive) for a senior job title."""
TARGET_REGIONS: tuple[str, ...] = tuple(DEMO_RULE["target_regions"])
TARGET_INDUSTRIES: tuple[str, ...] = tuple(DEMO_RULE["target_industries"])
EMPLOYEES_THRESHOLD = 200
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

# --------------------------------------------------------------------------------------
# Fixed vocabulary of the demo company
# --------------------------------------------------------------------------------------

SOURCES: tuple[str, ...] = (
    "organic_search",
    "paid_search",
    "paid_social",
    "email",
    "events",
    "referral",
    "partner",
    "direct",
)
SOURCE_SHARE = np.array([0.22, 0.16, 0.18, 0.11, 0.07, 0.07, 0.06, 0.13])
SOURCE_INTEREST = np.array([0.0, 0.35, -0.45, 0.1, 0.3, 0.55, 0.4, 0.45])
"""Mean latent interest of a source's leads (standard-normal units)."""
CAMPAIGNS: dict[str, tuple[str, ...]] = {
    "organic_search": ("seo-blog", "seo-product-pages", "seo-comparison-guides"),
    "paid_search": ("search-brand", "search-competitor", "search-generic", "search-retargeting"),
    "paid_social": (
        "linkedin-lead-gen",
        "linkedin-webinar-promo",
        "facebook-ebook",
        "instagram-awareness",
        "social-retargeting",
    ),
    "email": ("newsletter", "nurture-series", "product-launch"),
    "events": ("saas-summit", "regional-roadshow", "partner-conference"),
    "referral": ("customer-referral", "review-sites"),
    "partner": ("reseller-program", "tech-alliance", "agency-partners"),
    "direct": ("direct-traffic", "word-of-mouth"),
}
EMAIL_CAMPAIGNS: tuple[str, ...] = CAMPAIGNS["email"]
EMAIL_CAMPAIGN_SHARE = np.array([0.5, 0.35, 0.15])

REGIONS: tuple[str, ...] = ("North America", "EMEA", "APAC", "LATAM")
REGION_SHARE = np.array([0.44, 0.31, 0.14, 0.11])
REGION_UTC_OFFSET_HOURS = np.array([-5.0, 1.0, 8.0, -3.0])
COUNTRIES: tuple[tuple[str, int, float, str], ...] = (
    # name, region index, weight inside the region, web domain ending
    ("United States", 0, 0.86, ".com"),
    ("Canada", 0, 0.14, ".ca"),
    ("United Kingdom", 1, 0.25, ".co.uk"),
    ("Germany", 1, 0.20, ".de"),
    ("France", 1, 0.12, ".fr"),
    ("Netherlands", 1, 0.10, ".nl"),
    ("Spain", 1, 0.07, ".es"),
    ("Sweden", 1, 0.06, ".se"),
    ("Ireland", 1, 0.05, ".ie"),
    ("Poland", 1, 0.05, ".pl"),
    ("South Africa", 1, 0.05, ".co.za"),
    ("United Arab Emirates", 1, 0.05, ".ae"),
    ("Australia", 2, 0.30, ".com.au"),
    ("India", 2, 0.30, ".in"),
    ("Singapore", 2, 0.15, ".com.sg"),
    ("Japan", 2, 0.15, ".co.jp"),
    ("New Zealand", 2, 0.10, ".co.nz"),
    ("Brazil", 3, 0.45, ".com.br"),
    ("Mexico", 3, 0.30, ".com.mx"),
    ("Argentina", 3, 0.10, ".com.ar"),
    ("Chile", 3, 0.08, ".cl"),
    ("Colombia", 3, 0.07, ".com.co"),
)
COUNTRY_VARIANTS: dict[str, tuple[str, ...]] = {
    "United States": ("USA", "US", "United States of America", "U.S."),
    "United Kingdom": ("UK", "Great Britain", "England"),
    "Germany": ("Deutschland", "germany"),
    "Netherlands": ("The Netherlands", "Holland"),
    "Brazil": ("Brasil",),
    "Canada": ("canada",),
    "Australia": ("australia", "AU"),
    "India": ("india",),
}
"""Inconsistent spellings a CRM collects for the same country (dirty records)."""

INDUSTRIES: tuple[str, ...] = (
    "Software",
    "Financial Services",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Education",
    "Professional Services",
    "Media",
    "Logistics",
    "Public Sector",
)
INDUSTRY_SHARE = np.array([0.22, 0.13, 0.11, 0.12, 0.09, 0.07, 0.11, 0.06, 0.05, 0.04])
INDUSTRY_VARIANTS: dict[str, tuple[str, ...]] = {
    "Software": ("software", "SaaS & Software", "Software & Internet"),
    "Financial Services": ("financial services", "Finance", "FinServ"),
    "Healthcare": ("Health Care", "healthcare"),
    "Manufacturing": ("manufacturing", "Mfg."),
    "Retail": ("retail", "Retail & E-commerce"),
    "Professional Services": ("Consulting",),
}
"""Inconsistent spellings a CRM collects for the same industry (dirty records)."""

SIZE_BANDS = np.array([1, 11, 50, 200, 1000, 5000, 50000])
"""Employee-count band edges: 1-10, 11-49, 50-199, 200-999, 1000-4999, 5000+."""
COMPANY_BAND_SHARE = np.array([0.35, 0.27, 0.18, 0.12, 0.06, 0.02])
SOURCE_BAND_MIX = np.array(
    [
        [0.22, 0.25, 0.22, 0.17, 0.09, 0.05],  # organic_search
        [0.15, 0.22, 0.24, 0.21, 0.12, 0.06],  # paid_search
        [0.38, 0.28, 0.16, 0.10, 0.05, 0.03],  # paid_social
        [0.20, 0.24, 0.22, 0.18, 0.10, 0.06],  # email
        [0.06, 0.14, 0.22, 0.28, 0.18, 0.12],  # events
        [0.10, 0.18, 0.25, 0.25, 0.14, 0.08],  # referral
        [0.08, 0.16, 0.24, 0.27, 0.16, 0.09],  # partner
        [0.20, 0.24, 0.22, 0.18, 0.10, 0.06],  # direct
    ]
)

TITLE_CLASSES: tuple[str, ...] = (
    "c_level",
    "vp",
    "director",
    "head",
    "manager",
    "individual",
    "student",
    "job_seeker",
)
TITLES: dict[str, tuple[str, ...]] = {
    "c_level": (
        "CEO",
        "Chief Executive Officer",
        "CFO",
        "Chief Financial Officer",
        "CTO",
        "CMO",
        "Chief Marketing Officer",
        "COO",
        "Chief Revenue Officer",
        "CIO",
    ),
    "vp": (
        "VP Sales",
        "VP of Marketing",
        "VP Engineering",
        "Vice President, Operations",
        "VP Finance",
        "Senior VP, Revenue",
    ),
    "director": (
        "Director of Marketing",
        "Sales Director",
        "Director, IT",
        "Director of Operations",
        "Finance Director",
        "Demand Generation Director",
    ),
    "head": (
        "Head of Growth",
        "Head of Revenue Operations",
        "Head of Data",
        "Head of Sales",
        "Head of IT",
    ),
    "manager": (
        "Marketing Manager",
        "Sales Operations Manager",
        "IT Manager",
        "Product Manager",
        "Operations Manager",
        "Account Manager",
        "Project Manager",
    ),
    "individual": (
        "Marketing Analyst",
        "Data Analyst",
        "Business Analyst",
        "Software Engineer",
        "Marketing Coordinator",
        "Sales Representative",
        "Consultant",
        "Digital Marketing Specialist",
    ),
    "student": ("Student", "MBA Student", "Graduate Student", "Intern", "Marketing Intern"),
    "job_seeker": ("Job Seeker", "Looking for new opportunities", "Unemployed", "Career Changer"),
}
SOURCE_TITLE_MIX = np.array(
    [
        [0.05, 0.06, 0.09, 0.05, 0.25, 0.38, 0.07, 0.05],  # organic_search
        [0.06, 0.08, 0.12, 0.07, 0.28, 0.33, 0.03, 0.03],  # paid_search
        [0.03, 0.04, 0.06, 0.04, 0.20, 0.37, 0.16, 0.10],  # paid_social
        [0.05, 0.07, 0.11, 0.06, 0.27, 0.38, 0.04, 0.02],  # email
        [0.08, 0.12, 0.16, 0.09, 0.27, 0.26, 0.01, 0.01],  # events
        [0.09, 0.11, 0.15, 0.08, 0.27, 0.27, 0.02, 0.01],  # referral
        [0.07, 0.10, 0.15, 0.08, 0.28, 0.29, 0.02, 0.01],  # partner
        [0.07, 0.08, 0.11, 0.06, 0.26, 0.34, 0.05, 0.03],  # direct
    ]
)
SOURCE_FREE_EMAIL = np.array([0.25, 0.18, 0.45, 0.20, 0.08, 0.12, 0.10, 0.20])
FREE_EMAIL_DOMAINS: tuple[str, ...] = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com")
FREE_EMAIL_SHARE = np.array([0.55, 0.15, 0.18, 0.12])

FIRST_NAMES: tuple[tuple[str, ...], ...] = (
    (
        "James", "Mary", "Michael", "Jennifer", "David", "Sarah", "Robert", "Emily", "Daniel",
        "Jessica", "Chris", "Ashley", "Kevin", "Megan", "Brian", "Lauren", "Jason", "Rachel",
        "Ryan", "Nicole", "Eric", "Amanda", "Tyler", "Hannah",
    ),
    (
        "Oliver", "Emma", "Lukas", "Sophie", "Lucas", "Hanna", "Thomas", "Julia", "Louis",
        "Chloe", "Jan", "Anna", "Pieter", "Sanne", "Erik", "Elin", "Pablo", "Lucia", "Liam",
        "Aoife", "Ahmed", "Fatima", "Piotr", "Zofia",
    ),
    (
        "Wei", "Mei", "Arjun", "Priya", "Hiroshi", "Yuki", "Jack", "Grace", "Raj", "Ananya",
        "Kenji", "Sakura", "Ethan", "Isla", "Rahul", "Aisha", "Min", "Jia", "Vikram", "Neha",
    ),
    (
        "Joao", "Maria", "Pedro", "Ana", "Mateus", "Juliana", "Carlos", "Camila", "Diego",
        "Valentina", "Gustavo", "Fernanda", "Jose", "Gabriela", "Rafael", "Isabela", "Luis",
        "Sofia", "Andres", "Daniela",
    ),
)  # fmt: skip
LAST_NAMES: tuple[tuple[str, ...], ...] = (
    (
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
        "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White",
        "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright",
    ),
    (
        "Muller", "Schmidt", "Schneider", "Fischer", "Bernard", "Dubois", "Jansen", "Visser",
        "Andersson", "Johansson", "Garcia", "Fernandez", "Murphy", "Kelly", "Nowak",
        "Kowalski", "Evans", "Roberts", "Hughes", "Weber", "Meyer", "Lefebvre", "Bakker",
        "Rossi",
    ),
    (
        "Tan", "Lim", "Lee", "Wong", "Sharma", "Patel", "Singh", "Gupta", "Sato", "Suzuki",
        "Takahashi", "Tanaka", "Nguyen", "Chen", "Wang", "Kumar", "Ng", "Iyer", "Mehta",
        "Watanabe",
    ),
    (
        "Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Rodrigues", "Almeida",
        "Gonzalez", "Hernandez", "Lopez", "Martinez", "Ramirez", "Torres", "Flores", "Rojas",
        "Castro", "Vargas", "Moreno", "Ribeiro",
    ),
)  # fmt: skip
COMPANY_PREFIX: tuple[str, ...] = (
    "Blue", "North", "Bright", "Silver", "Summit", "Clear", "Iron", "Red", "Green", "Swift",
    "Atlas", "Nova", "Pioneer", "Harbor", "Granite", "Cedar", "Maple", "Vertex", "Apex",
    "Horizon", "Golden", "Crystal", "Eagle", "Falcon", "Polar", "Solar", "Lunar", "Urban",
    "Prime", "True", "Bold", "Quantum", "Delta", "Sigma", "Alpine", "Coastal", "Evergreen",
    "Highland", "Liberty", "Meridian", "Oak", "Pacific", "Redwood", "Sterling", "Titan",
    "Union", "Vista", "West", "Zenith", "Orbit",
)  # fmt: skip
COMPANY_CORE: tuple[str, ...] = (
    "River", "Stone", "Bridge", "Field", "Peak", "Wave", "Point", "Path", "Light", "Gate",
    "Forge", "Line", "Works", "Leaf", "Cloud", "Star", "Rock", "Lake", "Ridge", "Bay", "Wind",
    "Fire", "Spring", "Wood", "Hill", "Port", "Brook", "Crest", "Dale", "Glen", "Moor",
    "Shore", "Vale", "View", "Way", "Mark", "Sky", "Sun", "Grove", "Haven", "Mill", "Pine",
    "Rise", "Sail", "Tree", "Well", "Yard", "Arc", "Bloom", "Core",
)  # fmt: skip
COMPANY_SUFFIX: tuple[str, ...] = (
    "Analytics", "Systems", "Logistics", "Health", "Capital", "Labs", "Software", "Group",
    "Partners", "Industries", "Solutions", "Media", "Foods", "Energy", "Retail", "Consulting",
    "Networks", "Robotics", "Bank", "Insurance", "Manufacturing", "Learning", "Digital",
    "Technologies", "Pharma", "Motors", "Ventures", "Holdings", "Studios", "Supply",
)  # fmt: skip

# Teams: name, territory (a region), SDRs and AEs at the 50k-lead scale, and the
# (time zone, work start hour, work end hour) seats its reps are spread over.
TEAMS: tuple[tuple[str, str, int, int, tuple[tuple[str, float, float], ...]], ...] = (
    ("NA East", "North America", 4, 2, (("America/New_York", 8.0, 17.0),)),
    ("NA West", "North America", 3, 2, (("America/Los_Angeles", 8.0, 17.0),)),
    (
        "EMEA",
        "EMEA",
        4,
        2,
        (("Europe/London", 9.0, 17.5), ("Europe/Berlin", 8.5, 17.0)),
    ),
    ("APAC", "APAC", 2, 1, (("Asia/Singapore", 9.0, 18.0), ("Australia/Sydney", 8.5, 17.0))),
    (
        "LATAM",
        "LATAM",
        2,
        1,
        (("America/Sao_Paulo", 9.0, 18.0), ("America/Mexico_City", 8.0, 17.0)),
    ),
)
BREACH_CANDIDATES: tuple[str, ...] = ("NA East", "NA West", "EMEA")
"""Teams big enough for a planted SLA breach to be visible in a small history."""
BREACH_MONTHS = 3

SEASON = np.array([1.05, 1.0, 1.05, 1.0, 1.0, 0.95, 0.88, 0.85, 1.05, 1.08, 1.0, 0.62])
"""Lead-volume multiplier per calendar month (January first); December is the dip."""
DECEMBER_DIP = float(SEASON[11])
WEEKEND_FACTOR = 0.35
YEARLY_GROWTH = 1.25

TOUCH_DETAILS = {
    "page_view": ("pricing", "case_study", "careers", "blog", "product", "home"),
    "content_download": ("tofu", "mofu", "bofu"),
    "form_submit": ("contact", "newsletter"),
}
PAGE_SECONDS_MEDIAN = np.array([60.0, 120.0, 90.0, 150.0, 80.0, 25.0])

ACCEPTANCE_MODEL: dict[str, float] = {
    "intercept": -1.0,
    "senior_title": 0.9,
    "employees_200plus": 0.7,
    "corporate_email": 0.6,
    "target_region": 0.3,
    "target_industry": 0.5,
    "pricing_page": 0.6,
    "demo_request": 1.0,
    "careers_only": -1.2,
    "blog_over_hour": 0.1,
    "case_study": 0.35,
    "mofu_download": 0.2,
    "bofu_download": 0.6,
    "webinar": 0.3,
    "email_click": 0.15,
    "student_or_job_seeker_title": -2.5,
    "log1p_response_minutes": -0.3,
}
"""True log-odds coefficients of sales accepting a contacted MQL (outcome 'accepted').

Features are 0/1 values at the handoff time; ``log1p_response_minutes`` is
``log(1 + wall-clock minutes from handoff to first sales activity)``. A further 3% of
contacted MQLs are disposed as ``bad_data`` regardless of the model."""
OPPORTUNITY_MODEL: dict[str, float] = {
    "intercept": -0.8,
    "senior_title": 0.5,
    "employees_200plus": 0.5,
    "pricing_page": 0.4,
    "demo_request": 0.5,
    "bofu_download": 0.3,
    "target_industry": 0.3,
}
"""Log-odds of an accepted lead getting an opportunity (features at the handoff)."""
WIN_MODEL: dict[str, float] = {
    "intercept": -1.5,
    "senior_title": 0.4,
    "employees_200plus": 0.3,
    "demo_request": 0.5,
    "target_industry": 0.4,
    "case_study": 0.3,
}
"""Log-odds of an opportunity closing won (features at the handoff)."""
SEGMENTS: tuple[str, ...] = ("SMB", "Mid-market", "Enterprise")
SEGMENT_AMOUNT_MEDIAN = np.array([8_000.0, 30_000.0, 110_000.0])
SEGMENT_CYCLE_DAYS_MEDIAN = np.array([30.0, 60.0, 100.0])
LOST_REASONS: tuple[str, ...] = (
    "price",
    "competitor",
    "no_decision",
    "timing",
    "missing_feature",
    "champion_left",
)
LOST_REASON_SHARE = np.array([0.24, 0.22, 0.25, 0.12, 0.12, 0.05])

REASONS = store.REJECTION_REASONS
REASON_BASE = {
    "no_budget": 0.18,
    "not_decision_maker": 0.15,
    "no_need": 0.20,
    "bad_timing": 0.18,
    "competitor": 0.08,
    "student_or_job_seeker": 0.02,
    "duplicate": 0.0,
    "wrong_contact_data": 0.0,
    "existing_customer": 0.04,
    "other": 0.08,
}
NURTURE_SHARE_BY_REASON = {
    "no_budget": 0.5,
    "not_decision_maker": 0.3,
    "no_need": 0.4,
    "bad_timing": 0.8,
    "competitor": 0.1,
    "existing_customer": 0.05,
    "other": 0.2,
}
"""Share of non-accepted dispositions with this reason that go to 'nurture' (else 'rejected')."""
BAD_DATA_SHARE = 0.03
NOTES: dict[str, tuple[str, ...]] = {
    "accepted": ("Budget and timeline confirmed", "Discovery call booked", "Wants a demo"),
    "no_budget": ("No budget until next fiscal year", "Budget frozen this quarter"),
    "not_decision_maker": ("Researching for their manager", "Not the buyer, referred us on"),
    "no_need": ("Happy with current process", "Was just browsing"),
    "bad_timing": ("Revisit next quarter", "Mid-migration, call back in six months"),
    "competitor": ("Signed with a competitor last month", "Evaluating a competitor"),
    "student_or_job_seeker": ("Student project", "Looking for a job, not a buyer"),
    "duplicate": ("Duplicate of an existing lead",),
    "wrong_contact_data": ("Phone number invalid", "Email bounced"),
    "existing_customer": ("Already a customer, passed to account management",),
    "other": ("No response after several attempts", "Partner conflict"),
}  # fmt: skip

DIRTY_SHARE = {
    "duplicate_leads": 0.006,
    "missing_job_title": 0.005,
    "industry_variants": 0.005,
    "country_variants": 0.005,
}
"""Share of leads made dirty in each way (about 2% of lead rows in all)."""

STAGE_CODES: tuple[str, ...] = store.STAGES + store.SIDE_STAGES
SOURCE_SYSTEMS: tuple[str, ...] = ("marketing_automation", "crm")

DAY = 86_400
Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def generate(
    con: duckdb.DuckDBPyConnection,
    *,
    leads: int = 50_000,
    months: int = 24,
    seed: int = 7,
    end: date | None = None,
    progress: Progress | None = None,
) -> dict:
    """Write a complete demo history into an open, writable connection.

    The connection must already have the schema (:func:`analysis.store.create_schema`);
    rows are appended to the history tables, nothing is deleted.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Writable connection with the Handoff Health schema.
    leads : int
        Number of lead rows to write, planted duplicates included (at least 100).
    months : int
        Whole calendar months of history, ending with the month of ``end`` (1-120).
    seed : int
        Seed of ``np.random.default_rng``; the same seed and end give the same tables.
    end : date, optional
        Last day of history. Default: today (UTC), and then nothing is later than now.
    progress : callable, optional
        Called with a short description of each step.

    Returns
    -------
    dict
        The planted truth (JSON-serialisable): seed, dates, row counts per table, the rule,
        the acceptance model, the speed-to-lead effect, the SLA breach, the rejection reason
        mix per source (as drawn, and the planted probabilities behind the draws), the
        December dip and the dirty-record counts.
    """
    if leads < 100:
        raise ValueError(f"leads must be at least 100, got {leads}")
    if not 1 <= months <= 120:
        raise ValueError(f"months must be between 1 and 120, got {months}")
    say = progress or (lambda _step: None)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    if end is None:
        end = now.date()
        cutoff = now
    else:
        if isinstance(end, datetime):
            end = end.date()
        cutoff = datetime(end.year, end.month, end.day) + timedelta(days=1)
    start = _month_start(end, months - 1)
    world = _World(
        rng=np.random.default_rng(seed),
        start_s=_epoch(start),
        cutoff_s=_epoch(cutoff),
        months=months,
        say=say,
    )
    lead = _make_leads(world, leads)
    say(f"{leads:,} leads drawn")
    tp = _make_touchpoints(world, lead)
    say(f"{len(tp['lead']):,} touchpoints drawn")
    reps = _make_reps(world, leads)
    mql = _handoffs(world, lead, tp, reps)
    say(f"{len(mql['lead']):,} MQL handoffs found")
    hist = _sales(world, lead, tp, reps, mql)
    say(
        f"{len(hist.activities['lead']):,} sales activities, "
        f"{len(hist.dispositions['lead']):,} dispositions, "
        f"{len(hist.opps['lead']):,} opportunities"
    )
    _set_capacity(world, reps, hist)
    targets = _targets(world, lead, hist)
    _write(con, world, lead, tp, reps, hist, targets, say)
    counts = {
        name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in store.TABLES
    }
    say("tables written")
    return _truth(world, seed, end, cutoff, start, counts, lead, reps, hist)


def generate_database(
    path: Path | str,
    *,
    leads: int = 50_000,
    months: int = 24,
    seed: int = 7,
    end: date | None = None,
    progress: Progress | None = None,
) -> dict:
    """Create or replace the database at ``path`` with a demo history and its truth file.

    The history is built fresh in a new file through :func:`analysis.store.write_session`
    (one transaction), which is then renamed over ``path`` in one atomic step, so a
    dashboard reading the old file keeps working and a failure leaves it untouched. One
    ``import_batches`` row (kind ``generate``) records the run, and the truth dictionary is
    written as JSON to :func:`analysis.config.truth_path` of ``path``.

    Parameters are those of :func:`generate`. Raises :class:`analysis.store.SchemaError`
    when ``path`` exists but is not a Handoff Health database (it is never overwritten).

    Returns
    -------
    dict
        The planted truth, as written to the truth file.
    """
    path = Path(path)
    if path.exists():  # never replace a file that is not a Handoff Health database
        try:
            store.connect_read_only(path).close()
        except duckdb.Error as exc:
            raise store.SchemaError(
                f"{path}: not a Handoff Health database, refusing to replace it ({exc})"
            ) from exc
    fresh = path.with_name(f".{path.name}.generate-{uuid.uuid4().hex[:8]}.duckdb")
    started = datetime.now(UTC).replace(tzinfo=None)
    batch_id = f"generate-{started:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    try:
        with store.write_session(fresh, create=True) as con:
            truth = generate(con, leads=leads, months=months, seed=seed, end=end, progress=progress)
            rows = sum(truth["counts"].values())
            con.execute(
                "INSERT INTO import_batches VALUES (?, ?, ?, 'generate', NULL, ?, 0, ?)",
                [
                    batch_id,
                    started,
                    datetime.now(UTC).replace(tzinfo=None),
                    rows,
                    f"demo history: seed {seed}, {leads:,} leads, {months} months "
                    f"to {truth['end']}",
                ],
            )
        os.replace(fresh, path)
    finally:
        fresh.unlink(missing_ok=True)
    truth["batch_id"] = batch_id
    target = config.truth_path(path)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(truth, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, target)
    return truth


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


# --------------------------------------------------------------------------------------
# Small vectorised helpers
# --------------------------------------------------------------------------------------


class _World:
    """Shared state of one generation run: the generator, the time window, progress."""

    def __init__(
        self, rng: np.random.Generator, start_s: int, cutoff_s: int, months: int, say: Progress
    ) -> None:
        self.rng = rng
        self.start_s = start_s
        self.cutoff_s = cutoff_s
        self.months = months
        self.say = say
        self.breach_team = ""
        self.breach_months: list[str] = []
        self.breach_month_index: list[int] = []


def _epoch(moment: date | datetime) -> int:
    """Seconds since 1970-01-01 of a naive UTC date or datetime."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return int((moment - datetime(1970, 1, 1)).total_seconds())


def _month_start(day: date, back: int) -> date:
    """First day of the month ``back`` months before the month of ``day``."""
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def _month_index(seconds: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each timestamp (seconds since epoch)."""
    return seconds.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)


def _draw(rng: np.random.Generator, group: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row, from the probability row of that row's group.

    ``probs`` has shape (groups, categories) with non-negative rows (normalised here);
    ``group`` holds each row's group index. Cumulative rows are laid end to end, shifted by
    the group index, so one ``searchsorted`` serves every group at once.
    """
    probs = np.asarray(probs, dtype=float)
    g, k = probs.shape
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    flat = (np.arange(g)[:, None] + cum).ravel()
    u = rng.random(len(group))
    pos = np.searchsorted(flat, group + u, side="right") - group.astype(np.int64) * k
    return np.clip(pos, 0, k - 1).astype(np.int16)


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def _lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: float, n: int):
    """Log-normal draws with the given median(s)."""
    return np.asarray(median) * np.exp(sigma * rng.standard_normal(n))


def _group_cumsum(x: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum of ``x`` restarted at each group start (groups laid out contiguously).

    ``starts`` and ``counts`` give each group's first position and length; empty groups are
    allowed.
    """
    c = np.cumsum(x)
    if len(x) == 0:
        return c
    before = np.take(c - x, starts, mode="clip")
    return c - np.repeat(before, counts)


def _dict_array(codes: np.ndarray, labels, mask: np.ndarray | None = None) -> pa.Array:
    """Arrow dictionary array (DuckDB reads it as VARCHAR) from integer codes."""
    labels = list(labels)
    itype = np.int8 if len(labels) < 127 else (np.int16 if len(labels) < 32_000 else np.int32)
    idx = pa.array(np.asarray(codes).astype(itype), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(labels, pa.string()))


def _ts(seconds: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Arrow timestamp array from seconds since epoch."""
    return pa.array(np.asarray(seconds, dtype=np.int64).astype("datetime64[s]"), mask=mask)


# --------------------------------------------------------------------------------------
# 1. Companies and leads
# --------------------------------------------------------------------------------------


def _creation_days(world: _World) -> tuple[np.ndarray, np.ndarray]:
    """Days of the window (seconds at midnight) and the chance a lead is created on each."""
    first = world.start_s // DAY
    last = (world.cutoff_s - 1) // DAY
    days = np.arange(first, last + 1, dtype=np.int64)
    dd = days.astype("datetime64[D]")
    month = dd.astype("datetime64[M]").astype(np.int64) % 12
    years = (days - first) / 365.25
    weight = SEASON[month] * YEARLY_GROWTH**years
    weight = weight * np.where(np.is_busday(dd), 1.0, WEEKEND_FACTOR)
    return days * DAY, weight / weight.sum()


def _make_leads(world: _World, n: int) -> dict[str, np.ndarray]:
    """Lead attributes, sorted by creation time (lead index = position = id order)."""
    rng = world.rng
    # Companies: unique names from three word lists, country, industry, size.
    a, b, c = len(COMPANY_PREFIX), len(COMPANY_CORE), len(COMPANY_SUFFIX)
    n_comp = int(np.clip(n // 8, 60, a * b * c))
    code = rng.permutation(a * b * c)[:n_comp]
    pre, core, suf = code // (b * c), (code // c) % b, code % c
    comp_region = rng.choice(len(REGIONS), n_comp, p=REGION_SHARE)
    country_region = np.array([r for _, r, _, _ in COUNTRIES])
    country_w = np.array([w for _, _, w, _ in COUNTRIES])
    cprobs = np.array([np.where(country_region == r, country_w, 0.0) for r in range(len(REGIONS))])
    comp_country = _draw(rng, comp_region, cprobs)
    comp_industry = rng.choice(len(INDUSTRIES), n_comp, p=INDUSTRY_SHARE)
    comp_band = rng.choice(len(COMPANY_BAND_SHARE), n_comp, p=COMPANY_BAND_SHARE)
    comp_band[: len(COMPANY_BAND_SHARE)] = np.arange(len(COMPANY_BAND_SHARE))
    lo, hi = np.log(SIZE_BANDS[comp_band]), np.log(SIZE_BANDS[comp_band + 1] - 1)
    comp_emp = np.exp(lo + (hi - lo) * rng.random(n_comp)).round().astype(np.int32)
    order = np.argsort(comp_band, kind="stable")
    band_counts = np.bincount(comp_band, minlength=len(COMPANY_BAND_SHARE))
    band_start = np.concatenate([[0], np.cumsum(band_counts)[:-1]])
    prefix = np.array(COMPANY_PREFIX, dtype=object)[pre]
    corename = np.array(COMPANY_CORE, dtype=object)[core]
    suffix = np.array(COMPANY_SUFFIX, dtype=object)[suf]
    comp_name = prefix + " " + corename + " " + suffix
    tld = np.array([t for *_, t in COUNTRIES], dtype=object)[comp_country]
    comp_domain = np.char.lower((prefix + corename + suffix).astype(str)).astype(object) + tld

    # Leads: source, campaign, company (by the source's size mix), title, email kind.
    src = rng.choice(len(SOURCES), n, p=SOURCE_SHARE).astype(np.int8)
    camp_offsets = np.cumsum([0] + [len(CAMPAIGNS[s]) for s in SOURCES])
    n_camp = camp_offsets[-1]
    camp_probs = np.zeros((len(SOURCES), n_camp))
    for i, s in enumerate(SOURCES):
        w = 0.62 ** np.arange(len(CAMPAIGNS[s]))
        camp_probs[i, camp_offsets[i] : camp_offsets[i + 1]] = w / w.sum()
    campaign = _draw(rng, src, camp_probs)
    band = _draw(rng, src, SOURCE_BAND_MIX)
    pick = np.floor(rng.random(n) ** 1.6 * band_counts[band]).astype(np.int64)
    comp = order[band_start[band] + np.minimum(pick, band_counts[band] - 1)]
    tclass = _draw(rng, src, SOURCE_TITLE_MIX)
    title_offsets = np.cumsum([0] + [len(TITLES[t]) for t in TITLE_CLASSES])
    title = title_offsets[tclass] + np.floor(rng.random(n) * np.diff(title_offsets)[tclass]).astype(
        np.int64
    )
    student = tclass >= TITLE_CLASSES.index("student")
    free = rng.random(n) < np.where(student, 0.85, SOURCE_FREE_EMAIL[src])
    region = comp_region[comp]
    fn_off = np.cumsum([0] + [len(x) for x in FIRST_NAMES])
    ln_off = np.cumsum([0] + [len(x) for x in LAST_NAMES])
    first = fn_off[region] + np.floor(rng.random(n) * np.diff(fn_off)[region]).astype(np.int64)
    last = ln_off[region] + np.floor(rng.random(n) * np.diff(ln_off)[region]).astype(np.int64)
    free_dom = rng.choice(len(FREE_EMAIL_DOMAINS), n, p=FREE_EMAIL_SHARE)
    email_num = np.where(free & (rng.random(n) < 0.6), rng.integers(10, 100, n), 0)

    # Creation time: a day of the window, a local business-ish hour of the lead's region.
    day_s, day_p = _creation_days(world)
    day = day_s[rng.choice(len(day_s), n, p=day_p)]
    local_hour = np.where(rng.random(n) < 0.85, rng.normal(13.0, 3.0, n), rng.random(n) * 24)
    hour = np.mod(local_hour - REGION_UTC_OFFSET_HOURS[region], 24.0)
    created = day + (hour * 3600).astype(np.int64)
    created = np.maximum(created, world.start_s)
    late = created >= world.cutoff_s
    created[late] = day[late] + (rng.random(late.sum()) * (world.cutoff_s - day[late])).astype(
        np.int64
    )

    # Dirty records: duplicates copy an earlier lead's person, later in time.
    n_dup = int(round(DIRTY_SHARE["duplicate_leads"] * n))
    dup_rows = rng.choice(n, n_dup, replace=False)
    others = np.setdiff1d(np.arange(n), dup_rows)
    orig = others[rng.integers(0, len(others), n_dup)]
    gap = (_lognormal(rng, 40.0, 0.8, n_dup) * DAY).astype(np.int64)
    dup_created = created[orig] + gap
    room = np.maximum(world.cutoff_s - created[orig] - 1, 0)
    over = dup_created >= world.cutoff_s
    dup_created[over] = created[orig][over] + (rng.random(over.sum()) * room[over]).astype(np.int64)
    created[dup_rows] = dup_created
    for arr in (comp, tclass, title, student, free, region, first, last, free_dom):
        arr[dup_rows] = arr[orig]
    is_dup = np.zeros(n, dtype=bool)
    is_dup[dup_rows] = True

    # Unique emails for distinct people: a clash gets a new number until none is left.
    domain_idx = np.where(free, n_comp + free_dom, comp)
    person = ((first * 1000 + last) * (n_comp + 8) + domain_idx) * 100_000
    clean = np.flatnonzero(~is_dup)
    for attempt in range(50):
        ck = person[clean] + email_num[clean]
        o = np.argsort(ck, kind="stable")
        sk = ck[o]
        again = o[np.r_[False, sk[1:] == sk[:-1]]]
        if not len(again):
            break
        email_num[clean[again]] = rng.integers(2, 100 * (attempt + 1), len(again))
    email_num[dup_rows] = email_num[orig]

    industry = comp_industry[comp].astype(np.int16)
    country = comp_country[comp].astype(np.int16)
    employees = comp_emp[comp]
    # Dirty labels (codes past the canonical ones point into the variant lists).
    ind_labels, ind_variant_of = _labels_with_variants(INDUSTRIES, INDUSTRY_VARIANTS)
    cty_labels, cty_variant_of = _labels_with_variants([c for c, *_ in COUNTRIES], COUNTRY_VARIANTS)
    n_ind = int(round(DIRTY_SHARE["industry_variants"] * n))
    n_cty = int(round(DIRTY_SHARE["country_variants"] * n))
    n_title = int(round(DIRTY_SHARE["missing_job_title"] * n))
    industry, ind_dirty = _misspell(rng, industry, ind_variant_of, n_ind)
    country, cty_dirty = _misspell(rng, country, cty_variant_of, n_cty)
    no_title = np.zeros(n, dtype=bool)
    no_title[rng.choice(n, n_title, replace=False)] = True
    interest = (
        0.9 * rng.standard_normal(n)
        + SOURCE_INTEREST[src]
        + 0.25 * (tclass <= TITLE_CLASSES.index("head"))
        + 0.15 * (employees >= EMPLOYEES_THRESHOLD)
        - 0.8 * student
    )

    order = np.argsort(created, kind="stable")
    lead = {
        "created": created,
        "source": src,
        "campaign": campaign,
        "company": comp,
        "region": region,
        "country": country,
        "industry": industry,
        "employees": employees,
        "tclass": tclass,
        "title": title,
        "no_title": no_title,
        "student": student,
        "free": free,
        "first": first,
        "last": last,
        "domain": domain_idx,
        "email_num": email_num,
        "interest": interest,
        "is_dup": is_dup,
    }
    lead = {k: v[order] for k, v in lead.items()}
    lead["dirty"] = {
        "duplicate_leads": n_dup,
        "missing_job_title": n_title,
        "industry_variants": int(ind_dirty),
        "country_variants": int(cty_dirty),
    }
    lead["labels"] = {
        "industry": ind_labels,
        "country": cty_labels,
        "company": comp_name,
        "domain": np.concatenate([comp_domain, np.array(FREE_EMAIL_DOMAINS, dtype=object)]),
        "campaign": [c for s in SOURCES for c in CAMPAIGNS[s]],
        "title": [t for cls in TITLE_CLASSES for t in TITLES[cls]],
        "first": [x for names in FIRST_NAMES for x in names],
        "last": [x for names in LAST_NAMES for x in names],
    }
    # Rule fit features, from the stored values (labels as written, titles as written).
    senior_re = re.compile(SENIOR_TITLE_PATTERN, re.IGNORECASE)
    senior_title = np.array([bool(senior_re.search(t)) for t in lead["labels"]["title"]])
    target_ind = np.array([label in TARGET_INDUSTRIES for label in ind_labels])
    lead["fit"] = {
        "senior_title": senior_title[lead["title"]] & ~lead["no_title"],
        "employees_200plus": lead["employees"] >= EMPLOYEES_THRESHOLD,
        "corporate_email": ~lead["free"],
        "target_region": np.isin(lead["region"], [REGIONS.index(r) for r in TARGET_REGIONS]),
        "target_industry": target_ind[lead["industry"]],
    }
    return lead


def _labels_with_variants(
    canonical, variants: dict[str, tuple[str, ...]]
) -> tuple[list[str], dict[int, np.ndarray]]:
    """Label list (canonical first, then variants) and, per canonical code, its variant codes."""
    labels = list(canonical)
    variant_of: dict[int, np.ndarray] = {}
    for name, alts in variants.items():
        codes = []
        for alt in alts:
            codes.append(len(labels))
            labels.append(alt)
        variant_of[labels.index(name)] = np.array(codes)
    return labels, variant_of


def _misspell(
    rng: np.random.Generator, codes: np.ndarray, variant_of: dict[int, np.ndarray], k: int
) -> tuple[np.ndarray, int]:
    """Replace about ``k`` labels that have variants by a random variant; return the count."""
    codes = codes.copy()
    eligible = np.flatnonzero(np.isin(codes, list(variant_of)))
    chosen = rng.choice(eligible, min(k, len(eligible)), replace=False)
    base = codes[chosen]
    n_var = np.zeros(int(codes.max()) + 1, dtype=np.int64)
    first_var = np.zeros_like(n_var)
    for canon, alts in variant_of.items():
        if canon < len(n_var):
            n_var[canon] = len(alts)
            first_var[canon] = alts[0]
    pick = np.floor(rng.random(len(chosen)) * n_var[base]).astype(np.int64)
    codes[chosen] = first_var[base] + pick  # variant codes of one label are consecutive
    return codes, len(chosen)


# --------------------------------------------------------------------------------------
# 2. Touchpoints
# --------------------------------------------------------------------------------------

_KINDS = store.TOUCHPOINT_KINDS
_K = {k: i for i, k in enumerate(_KINDS)}
_Z_BINS = 20


def _zbin(z: np.ndarray) -> np.ndarray:
    return np.clip(((z + 3.0) / 6.0 * _Z_BINS).astype(np.int64), 0, _Z_BINS - 1)


def _zcenters() -> np.ndarray:
    return -3.0 + (np.arange(_Z_BINS) + 0.5) * 6.0 / _Z_BINS


def _make_touchpoints(world: _World, lead: dict) -> dict[str, np.ndarray]:
    """Touchpoint stream per lead, laid out lead by lead in time order.

    Returns arrays ``lead`` (int32 lead index), ``t`` (seconds), ``kind`` (index into
    TOUCHPOINT_KINDS), ``detail`` (index into :func:`_detail_labels`, -1 for none) and
    ``value`` (seconds on page for page views, NaN otherwise).
    """
    rng = world.rng
    n = len(lead["created"])
    z = lead["interest"]
    persona = lead["student"].astype(np.int64)
    src = lead["source"].astype(np.int64)
    extra = rng.poisson(np.exp(np.log(6.5) + 0.35 * z - 0.5 * persona))
    extra = np.minimum(extra, 60)
    counts = 1 + extra
    total = int(counts.sum())
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    owner = np.repeat(np.arange(n, dtype=np.int32), counts)
    pos = np.arange(total) - np.repeat(starts, counts)
    first = pos == 0

    # Times: sessions of quick page views, separated by gaps of days, laid out on the
    # activity clock of the lead's region (busy on weekdays in the daytime, quiet otherwise).
    horizon = _lognormal(rng, 40.0, 0.9, n) * DAY
    mean_gap = horizon / np.maximum(extra * 0.6, 1.0)
    in_session = rng.random(total) < 0.4
    gap = np.where(
        in_session,
        _lognormal(rng, 90.0, 0.8, total),
        rng.exponential(1.0, total) * mean_gap[owner],
    )
    gap = np.ceil(gap) + 3  # >= 3 activity seconds, i.e. > 1 calendar second apart
    gap[first] = 0
    offset = _group_cumsum(gap, starts, counts)
    t = np.empty(total, dtype=np.int64)
    grid, clocks = _activity_clocks(world)
    region = lead["region"][owner]
    for r, clock in enumerate(clocks):
        m = region == r
        a = np.interp(lead["created"][owner[m]], grid, clock) + offset[m]
        cal = np.interp(a, clock, grid, right=np.inf)
        t[m] = np.where(np.isfinite(cal), np.floor(np.minimum(cal, 2.0**62)), world.cutoff_s)
    t[first] = lead["created"]

    # Kinds: creating conversion first, then a stream leaning to buying signals with interest.
    zc = _zcenters()
    zb = _zbin(z)
    kind = np.empty(total, dtype=np.int16)
    detail = np.full(total, -1, dtype=np.int16)
    create_logit = np.array(
        [  # newsletter, contact, tofu, mofu, webinar, demo, chat
            [1.0, 0.0, 1.0, -0.5, -2.5, -3.2, -1.8],
            [-0.5, 0.8, 0.5, 0.0, -2.5, -2.0, -1.5],
            [-0.5, -1.0, 1.8, 0.2, -0.8, -4.0, -3.0],
            [-1.0, 0.0, 0.8, 0.8, 0.3, -2.8, -2.5],
            [-1.5, 1.5, -1.0, -1.0, 0.5, -2.5, -3.0],
            [-1.5, 1.5, -0.5, -0.5, -1.5, -1.5, -2.0],
            [-1.5, 1.5, -0.5, 0.0, -0.5, -2.0, -2.5],
            [0.0, 1.0, -0.5, -0.5, -2.0, -1.8, -1.0],
        ]
    )
    create_slope = np.array([0.0, 0.3, -0.1, 0.2, 0.1, 0.8, 0.2])
    create_persona = np.array([0.5, -1.0, 0.3, 0.0, 0.0, -3.0, -0.5])
    logits = (
        create_logit[:, None, None, :]
        + create_slope * zc[None, :, None, None]
        + create_persona * np.arange(2)[None, None, :, None]
    )
    probs = _softmax(logits).reshape(-1, 7)
    lead_first = _draw(rng, (src * _Z_BINS + zb) * 2 + persona, probs)
    create_kind = np.array(
        [_K["form_submit"], _K["form_submit"], _K["content_download"], _K["content_download"]]
        + [_K["webinar"], _K["demo_request"], _K["chat"]]
    )
    d = _DETAILS
    create_detail = np.array(
        [d["newsletter"], d["contact"], d["tofu"], d["mofu"], d["attended"], d["form"], -1]
    )
    kind[first] = create_kind[lead_first]
    detail[first] = create_detail[lead_first]

    rest = ~first
    ro = owner[rest]
    base = np.array([2.2, 0.2, 1.0, -0.2, -1.6, -1.8, -4.6, -3.0])
    slope = np.array([0.0, 0.15, 0.0, 0.3, 0.35, 0.2, 0.9, 0.4])
    email_src = np.array([0.0, 0.0, 0.7, 0.5, 0.0, 0.0, 0.0, 0.0])
    pers = np.array([0.8, 0.0, -0.3, -0.5, -1.0, 0.0, -3.0, -1.0])
    logits = (
        base
        + slope * zc[:, None, None, None]
        + pers * np.arange(2)[None, :, None, None]
        + email_src * np.arange(2)[None, None, :, None]
    )
    probs = _softmax(logits).reshape(-1, len(_KINDS))
    is_email_src = (src == SOURCES.index("email")).astype(np.int64)
    group = (zb[ro] * 2 + persona[ro]) * 2 + is_email_src[ro]
    kind[rest] = _draw(rng, group, probs)

    # Details.
    value = np.full(total, np.nan)
    pv = kind == _K["page_view"]
    page_logit = np.array([-1.3, -1.6, -2.6, 0.5, 0.3, 0.4])
    page_slope = np.array([0.7, 0.5, -0.2, -0.1, 0.2, 0.0])
    page_pers = np.array([-2.0, -1.5, 4.0, 0.0, -0.5, 0.0])
    logits = page_logit + page_slope * zc[:, None, None] + page_pers * np.arange(2)[None, :, None]
    probs = _softmax(logits).reshape(-1, 6)
    pv_owner = owner[pv]
    page = _draw(rng, zb[pv_owner] * 2 + persona[pv_owner], probs)
    detail[pv] = _DETAILS["pricing"] + page
    reader = np.exp(0.7 * rng.standard_normal(n))
    median = PAGE_SECONDS_MEDIAN[page] * np.where(
        page == 3, reader[pv_owner], 1.0
    )  # blog readers differ
    value[pv] = np.maximum(np.round(_lognormal(rng, median, 0.9, int(pv.sum()))), 3.0)

    cd = (kind == _K["content_download"]) & ~first
    stage_logit = np.array([1.0, 0.0, -1.3]) + np.array([-0.3, 0.2, 0.6]) * zc[:, None]
    detail[cd] = _DETAILS["tofu"] + _draw(rng, zb[owner[cd]], _softmax(stage_logit))
    fs = (kind == _K["form_submit"]) & ~first
    p_contact = _sigmoid(-1.0 + 0.5 * z[owner[fs]])
    detail[fs] = np.where(
        rng.random(int(fs.sum())) < p_contact, _DETAILS["contact"], _DETAILS["newsletter"]
    )
    em = (kind == _K["email_open"]) | (kind == _K["email_click"])
    detail[em] = _DETAILS[EMAIL_CAMPAIGNS[0]] + rng.choice(
        len(EMAIL_CAMPAIGNS), int(em.sum()), p=EMAIL_CAMPAIGN_SHARE
    )
    detail[kind == _K["webinar"]] = _DETAILS["attended"]
    detail[kind == _K["demo_request"]] = _DETAILS["form"]

    keep = t < world.cutoff_s
    return {
        "lead": owner[keep],
        "t": t[keep],
        "kind": kind[keep],
        "detail": detail[keep],
        "value": value[keep],
    }


def _activity_clocks(world: _World) -> tuple[np.ndarray, list[np.ndarray]]:
    """Hour grid (UTC seconds) and, per region, cumulative activity seconds at each point.

    Leads are busier on weekdays between 08:00 and 19:00 their local time and quiet at
    night and at weekends. A clock maps calendar time to *activity* time (its slope is the
    hour's relative busyness, 1 on average), so gaps drawn in activity time and mapped back
    land mostly in busy hours while the order of events is kept.
    """
    first = world.start_s - world.start_s % 3600
    grid = np.arange(first, world.cutoff_s + 2 * 3600, 3600, dtype=np.int64)
    clocks = []
    for offset in REGION_UTC_OFFSET_HOURS:
        local = grid[:-1] + int(offset * 3600)
        hour = (local // 3600) % 24
        weekday = np.is_busday(np.floor_divide(local, DAY).astype("datetime64[D]"))
        daytime = (hour >= 8) & (hour < 19)
        w = np.where(weekday, np.where(daytime, 1.0, 0.15), np.where(daytime, 0.3, 0.05))
        w = w / w.mean()
        clocks.append(np.concatenate([[0.0], np.cumsum(w * 3600.0)]))
    return grid.astype(float), clocks


_DETAIL_LABELS: tuple[str, ...] = (
    *TOUCH_DETAILS["page_view"],
    *TOUCH_DETAILS["content_download"],
    *TOUCH_DETAILS["form_submit"],
    *EMAIL_CAMPAIGNS,
    "attended",
    "form",
)
_DETAILS = {label: i for i, label in enumerate(_DETAIL_LABELS)}


# --------------------------------------------------------------------------------------
# 3. Reps, working hours and MQL handoffs
# --------------------------------------------------------------------------------------


def _make_reps(world: _World, leads: int) -> dict[str, Any]:
    """The sales roster: SDRs and AEs per team, scaled with the history size."""
    scale = int(np.clip(round(leads / 100_000), 1, 10))
    rows = []
    for team_i, (team, territory, n_sdr, n_ae, seats) in enumerate(TEAMS):
        for role, count in (("sdr", n_sdr * scale), ("ae", n_ae * scale)):
            for k in range(count):
                tz, ws, we = seats[k % len(seats)]
                rows.append((team_i, team, territory, role, tz, ws, we))
    tz_names = sorted({r[4] for r in rows})
    region_of_team = [REGIONS.index(t[1]) for t in TEAMS]
    names, per_region = [], [0] * len(REGIONS)
    for r in rows:
        reg = region_of_team[r[0]]
        k = per_region[reg]
        per_region[reg] += 1
        fnames, lnames = FIRST_NAMES[reg], LAST_NAMES[reg]
        names.append(
            f"{fnames[(k * 7) % len(fnames)]} {lnames[(k * 7 + k // len(fnames)) % len(lnames)]}"
        )
    width = max(3, len(str(len(rows))))
    reps = {
        "id": [f"R{i + 1:0{width}d}" for i in range(len(rows))],
        "name": names,
        "team": np.array([r[0] for r in rows]),
        "role": np.array([r[3] for r in rows]),
        "territory": [r[2] for r in rows],
        "tz_names": tz_names,
        "tz": np.array([tz_names.index(r[4]) for r in rows]),
        "ws": np.array([r[5] * 60 for r in rows]),
        "we": np.array([r[6] * 60 for r in rows]),
        "speed": np.exp(0.35 * world.rng.standard_normal(len(rows))),
    }
    reps["capacity"] = np.zeros(len(rows), dtype=np.int64)
    return reps


def _to_local(t: np.ndarray, tz: np.ndarray, tz_names: list[str]) -> np.ndarray:
    """Local wall-clock seconds of UTC seconds ``t`` in each row's time zone."""
    out = np.empty(len(t), dtype=np.int64)
    for k, name in enumerate(tz_names):
        m = tz == k
        if m.any():
            idx = pd.DatetimeIndex(t[m].astype("datetime64[s]")).tz_localize("UTC")
            out[m] = idx.tz_convert(name).tz_localize(None).as_unit("s").asi8
    return out


def _to_utc(local: np.ndarray, tz: np.ndarray, tz_names: list[str]) -> np.ndarray:
    """UTC seconds of local wall-clock seconds in each row's time zone."""
    out = np.empty(len(local), dtype=np.int64)
    for k, name in enumerate(tz_names):
        m = tz == k
        if m.any():
            idx = pd.DatetimeIndex(local[m].astype("datetime64[s]")).tz_localize(
                name, ambiguous=np.zeros(int(m.sum()), dtype=bool), nonexistent="shift_forward"
            )
            out[m] = idx.tz_convert("UTC").tz_localize(None).as_unit("s").asi8
    return out


def _business_add(t: np.ndarray, minutes: np.ndarray, rep: np.ndarray, reps: dict) -> np.ndarray:
    """UTC seconds after working ``minutes`` of each rep's business time from ``t``.

    A moment outside the rep's working hours (evening, night, weekend) first moves to the
    next working morning in the rep's time zone; the minutes then run only during working
    hours, Monday to Friday. The result is never earlier than ``t``.
    """
    tz, ws, we = reps["tz"][rep], reps["ws"][rep], reps["we"][rep]
    local = _to_local(t, tz, reps["tz_names"])
    day = np.floor_divide(local, DAY)
    minute = (local - day * DAY) / 60.0
    dd = day.astype("datetime64[D]")
    bus = np.is_busday(dd)
    minute = np.where(bus & (minute < ws), ws, minute)
    after = ~bus | (minute >= we)
    dd = np.where(after, np.busday_offset(dd, bus.astype(np.int64), roll="forward"), dd)
    minute = np.where(after, ws, minute)
    length = we - ws
    pos = minute - ws + np.asarray(minutes, dtype=float)
    k = np.floor(pos / length)
    rem = pos - k * length
    dd2 = np.busday_offset(dd, k.astype(np.int64), roll="forward")
    local2 = dd2.astype(np.int64) * DAY + np.ceil((ws + rem) * 60).astype(np.int64)
    return np.maximum(_to_utc(local2, tz, reps["tz_names"]), t)


def _handoffs(world: _World, lead: dict, tp: dict, reps: dict) -> dict[str, np.ndarray]:
    """First MQL crossing per lead (vectorised rule scoring) and its routing to an SDR.

    Returns arrays ``lead``, ``t`` (handoff seconds), ``tp_index`` (the crossing
    touchpoint), ``hot`` (crossed on a demo request) and ``rep`` (owner SDR); the cumulative
    feature flags of every touchpoint are kept in ``tp['flags']`` for later rounds.
    """
    rng = world.rng
    who = tp["lead"]
    n = len(lead["created"])
    counts = np.bincount(who, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    kind, detail = tp["kind"], tp["detail"]
    pv = kind == _K["page_view"]
    cd = kind == _K["content_download"]

    def seen(mask: np.ndarray) -> np.ndarray:
        return _group_cumsum(mask.astype(np.int32), starts, counts) > 0

    n_pv = _group_cumsum(pv.astype(np.int32), starts, counts)
    n_careers = _group_cumsum(
        (pv & (detail == _DETAILS["careers"])).astype(np.int32), starts, counts
    )
    blog_s = np.where(pv & (detail == _DETAILS["blog"]), tp["value"], 0.0)
    flags = {
        "pricing_page": seen(pv & (detail == _DETAILS["pricing"])),
        "demo_request": seen(kind == _K["demo_request"]),
        "careers_only": (n_pv > 0) & (n_careers == n_pv),
        "blog_over_hour": _group_cumsum(blog_s, starts, counts) >= BLOG_SECONDS_THRESHOLD,
        "case_study": seen(pv & (detail == _DETAILS["case_study"])),
        "mofu_download": seen(cd & (detail == _DETAILS["mofu"])),
        "bofu_download": seen(cd & (detail == _DETAILS["bofu"])),
        "webinar": seen(kind == _K["webinar"]),
        "email_click": seen(kind == _K["email_click"]),
    }
    weights = DEMO_RULE["weights"]
    fit_points = np.zeros(n, dtype=np.int32)
    for name in FIT_FEATURES:
        fit_points += weights[name] * lead["fit"][name].astype(np.int32)
    score = fit_points[who].copy()
    for name in ENGAGEMENT_FEATURES:
        score += weights[name] * flags[name].astype(np.int32)
    qualifies = (score >= DEMO_RULE["threshold"]) | flags["demo_request"]
    idx = np.flatnonzero(qualifies)
    firsts = idx[np.r_[True, who[idx][1:] != who[idx][:-1]]] if len(idx) else idx
    tp["flags"] = flags
    tp["starts"], tp["counts"] = starts, counts
    tp["score"] = score
    lead["fit_points"] = fit_points

    mql_lead = who[firsts].astype(np.int64)
    hot = kind[firsts] == _K["demo_request"]
    rep = _route(rng, lead, reps, mql_lead)
    return {"lead": mql_lead, "t": tp["t"][firsts], "tp_index": firsts, "hot": hot, "rep": rep}


def _route(rng: np.random.Generator, lead: dict, reps: dict, leads: np.ndarray) -> np.ndarray:
    """Owner SDR per lead: a team covering the lead's region, a random SDR in it."""
    region = lead["region"][leads]
    team_region = np.array([REGIONS.index(t[1]) for t in TEAMS])
    team = np.empty(len(leads), dtype=np.int64)
    for r in range(len(REGIONS)):
        teams = np.flatnonzero(team_region == r)
        m = region == r
        share = np.array([TEAMS[i][2] for i in teams], dtype=float)
        team[m] = teams[rng.choice(len(teams), int(m.sum()), p=share / share.sum())]
    sdr = reps["role"] == "sdr"
    rep = np.empty(len(leads), dtype=np.int64)
    for k in range(len(TEAMS)):
        pool = np.flatnonzero(sdr & (reps["team"] == k))
        m = team == k
        rep[m] = pool[rng.integers(0, len(pool), int(m.sum()))]
    return rep


# --------------------------------------------------------------------------------------
# 4-5. Sales rounds, dispositions, opportunities
# --------------------------------------------------------------------------------------


class _History:
    """Row arrays of the sales-side tables, filled round by round."""

    def __init__(self, cutoff_s: int) -> None:
        self.cutoff_s = cutoff_s
        self.stages: list[tuple] = []  # (lead, stage code, t, system code)
        self.acts: list[tuple] = []  # (lead, rep, t, kind code)
        self.disps: list[tuple] = []  # (lead, rep, t, outcome code, reason code, note code)
        self.owner: np.ndarray | None = None
        self.activities: dict[str, np.ndarray] = {}
        self.dispositions: dict[str, np.ndarray] = {}
        self.opps: dict[str, np.ndarray] = {}
        self.rounds: list[dict[str, np.ndarray]] = []
        self.recycled = 0

    def stage(self, leads, stage: str, t, system: str = "crm") -> None:
        """Record stage changes, dropping those at or after the cut-off."""
        keep = np.asarray(t) < self.cutoff_s
        leads, t = np.asarray(leads)[keep], np.asarray(t)[keep]
        self.stages.append(
            (
                leads,
                np.full(len(leads), STAGE_CODES.index(stage), dtype=np.int8),
                t,
                np.full(len(leads), SOURCE_SYSTEMS.index(system), dtype=np.int8),
            )
        )

    def act(self, leads, rep, t, kind) -> None:
        """Record sales activities, dropping those at or after the cut-off."""
        keep = np.asarray(t) < self.cutoff_s
        self.acts.append(
            (
                np.asarray(leads)[keep],
                np.asarray(rep)[keep],
                np.asarray(t)[keep],
                np.broadcast_to(np.asarray(kind, dtype=np.int8), keep.shape)[keep],
            )
        )


def _note_labels() -> tuple[list[str], dict[str, np.ndarray]]:
    labels: list[str] = []
    codes: dict[str, np.ndarray] = {}
    for key, texts in NOTES.items():
        codes[key] = np.arange(len(labels), len(labels) + len(texts))
        labels.extend(texts)
    return labels, codes


_NOTE_LABELS, _NOTE_CODES = _note_labels()


def _features_at(lead: dict, tp: dict, leads: np.ndarray, tp_index: np.ndarray) -> dict:
    """0/1 rule features (and the student flag) of leads as of touchpoint ``tp_index``."""
    feats = {name: lead["fit"][name][leads].astype(float) for name in FIT_FEATURES}
    for name in ENGAGEMENT_FEATURES:
        feats[name] = tp["flags"][name][tp_index].astype(float)
    feats["student_or_job_seeker_title"] = lead["student"][leads].astype(float)
    return feats


def _linear(model: dict[str, float], feats: dict[str, np.ndarray], n: int) -> np.ndarray:
    out = np.full(n, model["intercept"])
    for name, coef in model.items():
        if name in feats:
            out = out + coef * feats[name]
    return out


def _breach_months(world: _World) -> list[int]:
    """Month indices (since 1970-01) of the planted SLA breach: 3 consecutive months."""
    first = int(_month_index(np.array([world.start_s]))[0])
    last = int(_month_index(np.array([world.cutoff_s - 1]))[0])
    span = last - first + 1
    if span <= BREACH_MONTHS:
        return list(range(first, last + 1))
    low = max(1, span // 3)
    high = max(low + 1, span - BREACH_MONTHS)  # the last breach month is not the newest
    begin = first + int(world.rng.integers(low, high))
    return list(range(begin, begin + BREACH_MONTHS))


def _sales(world: _World, lead: dict, tp: dict, reps: dict, mql: dict) -> _History:
    """Stage changes, sales activities, dispositions and opportunities for every MQL."""
    rng = world.rng
    hist = _History(world.cutoff_s)
    n = len(lead["created"])
    hist.stage(np.arange(n), "lead", lead["created"], "marketing_automation")
    owner = np.full(n, -1, dtype=np.int64)
    owner[mql["lead"]] = mql["rep"]
    hist.owner = owner

    breach_team = BREACH_CANDIDATES[int(rng.integers(0, len(BREACH_CANDIDATES)))]
    breach_months = _breach_months(world)
    world.breach_team = breach_team
    world.breach_months = [
        str(np.datetime64(m, "M")) for m in np.array(breach_months, dtype="datetime64[M]")
    ]
    world.breach_month_index = breach_months

    # Round 1: every first handoff.
    hist.stage(mql["lead"], "mql", mql["t"], "marketing_automation")
    r1 = _sales_round(world, lead, tp, reps, hist, mql, round_no=1)
    # Recycling: nurtured leads that re-engage 2+ weeks later become MQL again.
    nur = r1["outcome"] == DISPOSITION_CODES["nurture"]
    nl, nt = r1["lead"][nur], r1["decided"][nur]
    key = tp["lead"].astype(np.int64) * (1 << 40) + (tp["t"] - world.start_s)
    q = nl * (1 << 40) + (nt + 14 * DAY - world.start_s)
    posn = np.searchsorted(key, q, side="left")
    ok = posn < len(key)
    ok[ok] = tp["lead"][posn[ok]] == nl[ok]
    ok &= rng.random(len(nl)) < 0.8
    second = {
        "lead": nl[ok],
        "t": tp["t"][posn[ok]],
        "tp_index": posn[ok],
        "hot": tp["kind"][posn[ok]] == _K["demo_request"],
        "rep": owner[nl[ok]],
    }
    hist.stage(second["lead"], "mql", second["t"], "marketing_automation")
    r2 = _sales_round(world, lead, tp, reps, hist, second, round_no=2)
    hist.rounds = [r1, r2]
    hist.recycled = int(len(second["lead"]))
    _opportunities(world, lead, tp, reps, hist, [r1, r2])
    _collect(hist)
    return hist


DISPOSITION_CODES = {o: i for i, o in enumerate(store.DISPOSITION_OUTCOMES)}
_ACT = {k: i for i, k in enumerate(store.ACTIVITY_KINDS)}


def _sales_round(
    world: _World, lead: dict, tp: dict, reps: dict, hist: _History, h: dict, round_no: int
) -> dict[str, np.ndarray]:
    """One handoff round: first touch, attempts, disposition; returns the round's outcomes.

    Returned arrays (one per handoff): ``lead``, ``rep``, ``handoff``, ``first_touch``
    (seconds, -1 when never touched before the cut-off), ``response_minutes`` (NaN when not
    touched), ``decided`` (-1 when no disposition), ``outcome`` (index into
    DISPOSITION_OUTCOMES, -1 when none), ``tp_index``, ``hot``.
    """
    rng = world.rng
    m = len(h["lead"])
    leads, rep, t0, hot = h["lead"], h["rep"], h["t"], h["hot"]
    team = reps["team"][rep]
    month = _month_index(t0)
    breach = (team == TEAMS_INDEX[world.breach_team]) & np.isin(month, world.breach_month_index)
    never = rng.random(m) < (0.04 if round_no == 1 else 0.06)
    # The last week's queue: some fresh MQLs are simply not worked yet at the cut-off.
    queued = (t0 > world.cutoff_s - 7 * DAY) & (rng.random(m) < 0.2)
    median = np.where(hot, 4.0, 45.0) * reps["speed"][rep]
    median = np.where(breach, np.where(hot, 300.0, 1500.0), median)
    delay = np.maximum(_lognormal(rng, median, 1.1, m), 1.0)
    first = _business_add(t0, delay, rep, reps)
    touched = ~never & ~queued & (first < world.cutoff_s)
    resp = np.where(touched, (first - t0) / 60.0, np.nan)

    feats = _features_at(lead, tp, leads, h["tp_index"])
    feats["log1p_response_minutes"] = np.log1p(np.nan_to_num(resp))
    p_accept = _sigmoid(_linear(ACCEPTANCE_MODEL, feats, m))
    accepted = rng.random(m) < p_accept
    dup = lead["is_dup"][leads]
    bad = (rng.random(m) < BAD_DATA_SHARE) | (dup & (rng.random(m) < 0.8))
    accepted &= ~bad

    # Attempts: the first touch, then 1-6 more spread over working days.
    kind_first = np.where(rng.random(m) < 0.55, _ACT["call"], _ACT["email"])
    hist.act(leads[touched], rep[touched], first[touched], kind_first[touched])
    more = 1 + rng.binomial(5, np.where(accepted, 0.15, 0.45))
    last = first.copy()
    for k in range(1, 7):
        doing = touched & (more >= k)
        gap = np.maximum(_lognormal(rng, 420.0, 0.9, m), 5.0)
        nxt = _business_add(last, gap, rep, reps)
        nxt = np.maximum(nxt, last + 60)
        kind = np.where(rng.random(m) < 0.55, _ACT["call"], _ACT["email"])
        kind = np.where(accepted & (more == k), _ACT["meeting"], kind)
        hist.act(leads[doing], rep[doing], nxt[doing], kind[doing])
        last = np.where(doing, nxt, last)
    decided = _business_add(last, np.maximum(_lognormal(rng, 45.0, 1.0, m), 1.0), rep, reps)
    decided = np.maximum(decided, last + 60)
    disposed = touched & (decided < world.cutoff_s)

    # Outcome and reason.
    outcome = np.full(m, -1, dtype=np.int64)
    reason = np.full(m, -1, dtype=np.int64)
    outcome[disposed & accepted] = DISPOSITION_CODES["accepted"]
    is_bad = disposed & bad
    outcome[is_bad] = DISPOSITION_CODES["bad_data"]
    reason[is_bad] = np.where(
        dup[is_bad] | (rng.random(int(is_bad.sum())) < 0.25),
        REASONS.index("duplicate"),
        REASONS.index("wrong_contact_data"),
    )
    other = disposed & ~accepted & ~bad
    oi = np.flatnonzero(other)
    reason[oi] = _draw(rng, _reason_group(lead, leads[oi]), REASON_PROBS)
    p_nurture = NURTURE_BY_CODE[reason[oi]]
    if round_no == 2:
        p_nurture = p_nurture * 0.5
    outcome[oi] = np.where(
        rng.random(len(oi)) < p_nurture, DISPOSITION_CODES["nurture"], DISPOSITION_CODES["rejected"]
    )
    note_key = np.where(outcome == DISPOSITION_CODES["accepted"], 0, reason + 1)
    note = np.full(m, -1, dtype=np.int64)
    has_note = disposed & (rng.random(m) < 0.4)
    note_first = np.array([_NOTE_CODES["accepted"][0]] + [_NOTE_CODES[r][0] for r in REASONS])
    note_count = np.array([len(NOTES["accepted"])] + [len(NOTES[r]) for r in REASONS])
    pick = np.floor(rng.random(m) * note_count[note_key]).astype(np.int64)
    note[has_note] = (note_first[note_key] + pick)[has_note]
    d = np.flatnonzero(disposed)
    hist.disps.append((leads[d], rep[d], decided[d], outcome[d], reason[d], note[d]))
    to_stage = {
        DISPOSITION_CODES["rejected"]: "disqualified",
        DISPOSITION_CODES["bad_data"]: "disqualified",
        DISPOSITION_CODES["nurture"]: "nurture",
    }
    for code, stage in to_stage.items():
        sel = disposed & (outcome == code)
        hist.stage(leads[sel], stage, decided[sel])
    return {
        "lead": leads,
        "rep": rep,
        "handoff": t0,
        "first_touch": np.where(touched, first, -1),
        "response_minutes": resp,
        "decided": np.where(disposed, decided, -1),
        "outcome": outcome,
        "tp_index": h["tp_index"],
        "hot": hot,
        "breach": breach,
        "p_accept": p_accept,
    }


TEAMS_INDEX = {t[0]: i for i, t in enumerate(TEAMS)}


def _reason_table() -> tuple[np.ndarray, np.ndarray]:
    """Reason probabilities per group (source x company size x title group x interest)."""
    base = np.array([REASON_BASE[r] for r in REASONS])
    table = np.zeros((len(SOURCES), 3, 3, 2, len(REASONS)))
    ri = {r: i for i, r in enumerate(REASONS)}
    for s, source in enumerate(SOURCES):
        for size in range(3):  # 0 under 50 employees, 1 50-199, 2 200 and more
            for tg in range(3):  # 0 senior, 1 junior, 2 student or job seeker
                for low in range(2):
                    w = base.copy()
                    w[ri["no_budget"]] *= (3.0, 1.0, 0.6)[size]
                    w[ri["not_decision_maker"]] *= (0.4, 3.0, 1.0)[tg]
                    if tg == 2:
                        w[ri["student_or_job_seeker"]] *= 40.0
                    if low:
                        w[ri["no_need"]] *= 1.6
                        w[ri["bad_timing"]] *= 1.3
                    if source == "paid_social":  # lead-gen forms filled in by anyone
                        w[ri["student_or_job_seeker"]] *= 30.0
                        w[ri["no_need"]] *= 1.3
                    if source == "events":
                        w[ri["bad_timing"]] *= 1.4
                    if source in ("referral", "partner"):
                        w[ri["existing_customer"]] *= 2.0
                        w[ri["competitor"]] *= 1.3
                    if source == "paid_search":
                        w[ri["competitor"]] *= 1.6
                    table[s, size, tg, low] = w / w.sum()
    nurture = np.array([NURTURE_SHARE_BY_REASON.get(r, 0.0) for r in REASONS])
    return table.reshape(-1, len(REASONS)), nurture


REASON_PROBS, NURTURE_BY_CODE = _reason_table()


def _reason_group(lead: dict, leads: np.ndarray) -> np.ndarray:
    """Row of :data:`REASON_PROBS` for each lead: source, size, title group, low interest."""
    emp = lead["employees"][leads]
    size = np.where(emp < 50, 0, np.where(emp < EMPLOYEES_THRESHOLD, 1, 2))
    tclass = lead["tclass"][leads]
    tg = np.where(lead["student"][leads], 2, np.where(tclass <= TITLE_CLASSES.index("head"), 0, 1))
    low = (lead["interest"][leads] < 0).astype(np.int64)
    src = lead["source"][leads].astype(np.int64)
    return ((src * 3 + size) * 3 + tg) * 2 + low


def _opportunities(
    world: _World, lead: dict, tp: dict, reps: dict, hist: _History, rounds: list[dict]
) -> None:
    """SQL stages, opportunities, AE activities and closing stages for accepted MQLs."""
    rng = world.rng
    accepted = DISPOSITION_CODES["accepted"]
    leads = np.concatenate([r["lead"][r["outcome"] == accepted] for r in rounds])
    decided = np.concatenate([r["decided"][r["outcome"] == accepted] for r in rounds])
    sdr = np.concatenate([r["rep"][r["outcome"] == accepted] for r in rounds])
    tpi = np.concatenate([r["tp_index"][r["outcome"] == accepted] for r in rounds])
    m = len(leads)
    skip = rng.random(m) < 0.03  # mql -> opportunity without an sql row
    hist.stage(leads[~skip], "sql", decided[~skip])
    feats = _features_at(lead, tp, leads, tpi)
    p_opp = _sigmoid(_linear(OPPORTUNITY_MODEL, feats, m))
    has_opp = skip | (rng.random(m) < p_opp)
    # The AE of the SDR's team takes the deal.
    ae = np.empty(m, dtype=np.int64)
    team = reps["team"][sdr]
    for k in range(len(TEAMS)):
        pool = np.flatnonzero((reps["role"] == "ae") & (reps["team"] == k))
        sel = team == k
        ae[sel] = pool[rng.integers(0, len(pool), int(sel.sum()))]
    wait = np.where(skip, _lognormal(rng, 60.0, 0.8, m), _lognormal(rng, 1400.0, 0.9, m))
    created = _business_add(decided, wait, ae, reps)
    created = np.maximum(created, decided + 60)
    opened = has_opp & (created < world.cutoff_s)
    # SQLs without an opportunity: most are disqualified a few weeks later.
    no_opp = ~has_opp & ~skip
    drop = no_opp & (rng.random(m) < 0.55)
    later = decided + (_lognormal(rng, 25.0, 0.6, m) * DAY).astype(np.int64)
    hist.stage(leads[drop], "disqualified", later[drop])

    o = np.flatnonzero(opened)
    o = o[np.argsort(created[o], kind="stable")]
    lo, co, ao = leads[o], created[o], ae[o]
    k = len(o)
    emp = lead["employees"][lo]
    seg = np.where(emp >= 1000, 2, np.where(emp >= EMPLOYEES_THRESHOLD, 1, 0))
    amount = np.round(_lognormal(rng, SEGMENT_AMOUNT_MEDIAN[seg], 0.5, k), -2)
    cycle = _lognormal(rng, SEGMENT_CYCLE_DAYS_MEDIAN[seg], 0.6, k)
    closed = co + np.maximum(cycle * DAY, 3 * DAY).astype(np.int64)
    fo = {name: v[o] for name, v in feats.items()}
    won = rng.random(k) < _sigmoid(_linear(WIN_MODEL, fo, k))
    is_closed = closed < world.cutoff_s
    # Codes index OPPORTUNITY_OUTCOMES: 0 open, 1 won, 2 lost.
    outcome = np.where(is_closed, np.where(won, 1, 2), 0)
    lost = outcome == 2
    lost_reason = np.where(lost, rng.choice(len(LOST_REASONS), k, p=LOST_REASON_SHARE), -1)
    hist.stage(lo, "opportunity", co)
    hist.act(lo, ao, co, _ACT["meeting"])
    demo_t = _business_add(co, _lognormal(rng, 900.0, 0.8, k), ao, reps)
    demo_t = np.maximum(demo_t, co + 60)
    show = demo_t < np.where(is_closed, closed, world.cutoff_s)
    hist.act(lo[show], ao[show], demo_t[show], _ACT["demo"])
    hist.stage(lo[outcome == 1], "customer", closed[outcome == 1])
    after = rng.random(k)
    hist.stage(lo[lost & (after < 0.45)], "nurture", closed[lost & (after < 0.45)])
    back = lost & (after >= 0.45) & (after < 0.7)
    hist.stage(lo[back], "disqualified", closed[back])
    hist.opps = {
        "lead": lo,
        "created": co,
        "amount": amount,
        "closed": np.where(is_closed, closed, -1),
        "outcome": outcome,
        "lost_reason": lost_reason,
        "ae": ao,
        "segment": seg,
    }


def _collect(hist: _History) -> None:
    """Concatenate the per-round row lists into arrays."""

    def cat(parts, names):
        if not parts:
            return {n: np.array([]) for n in names}
        return {n: np.concatenate([p[i] for p in parts]) for i, n in enumerate(names)}

    hist.stage_rows = cat(hist.stages, ("lead", "stage", "t", "system"))
    hist.activities = cat(hist.acts, ("lead", "rep", "t", "kind"))
    hist.dispositions = cat(hist.disps, ("lead", "rep", "t", "outcome", "reason", "note"))


def _set_capacity(world: _World, reps: dict, hist: _History) -> None:
    """Capacity per rep: about 1.15 x its median monthly load, rounded up to a multiple of 5.

    SDRs are loaded with MQL handoffs, AEs with opportunities; a busy month above capacity
    is then possible but not the rule.
    """
    loads = []
    for r in hist.rounds:
        loads.append((r["rep"], _month_index(r["handoff"])))
    loads.append((hist.opps["ae"], _month_index(hist.opps["created"])))
    rep = np.concatenate([x for x, _ in loads])
    month = np.concatenate([y for _, y in loads])
    if len(rep) == 0:
        reps["capacity"][:] = 5
        return
    first = _month_index(np.array([world.start_s]))[0]
    n_months = int(_month_index(np.array([world.cutoff_s - 1]))[0] - first + 1)
    grid = np.zeros((len(reps["id"]), n_months))
    np.add.at(grid, (rep, month - first), 1)
    median = np.median(grid, axis=1)
    reps["capacity"] = np.maximum(5, np.ceil(median * 1.15 / 5) * 5).astype(np.int64)


# --------------------------------------------------------------------------------------
# 6. Targets
# --------------------------------------------------------------------------------------

TARGET_METRICS = (
    "leads",
    "mqls",
    "sqls",
    "opportunities",
    "deals_won",
    "won_revenue",
    "pct_contacted_in_sla",
)


def _targets(world: _World, lead: dict, hist: _History) -> pd.DataFrame:
    """Monthly goals: a smoothed plan close to (never equal to) what happened."""
    rng = world.rng
    first = int(_month_index(np.array([world.start_s]))[0])
    last = int(_month_index(np.array([world.cutoff_s - 1]))[0])
    nm = last - first + 1
    months = np.arange(first, last + 1)

    def per_month(t: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        idx = _month_index(t) - first
        return np.bincount(idx, weights=weights, minlength=nm)[:nm].astype(float)

    rows = hist.stage_rows
    stage = rows["stage"]
    actual = {"leads": per_month(lead["created"])}
    for metric, stage_name in (("mqls", "mql"), ("sqls", "sql")):
        sel = stage == STAGE_CODES.index(stage_name)
        ld, t = rows["lead"][sel], rows["t"][sel]
        o = np.lexsort((t, ld))
        firsts = o[np.r_[True, ld[o][1:] != ld[o][:-1]]] if len(o) else o
        actual[metric] = per_month(t[firsts])
    opp = hist.opps
    actual["opportunities"] = per_month(opp["created"])
    won = opp["outcome"] == 1
    actual["deals_won"] = per_month(opp["closed"][won])
    actual["won_revenue"] = per_month(opp["closed"][won], opp["amount"][won])
    # Elapsed share of the last month: scale the partial month up to a full one.
    bounds = np.array([last, last + 1], dtype="datetime64[M]").astype("datetime64[s]")
    last_start, next_start = bounds.astype(np.int64)
    elapsed = (world.cutoff_s - last_start) / (next_start - last_start)
    out = []
    for metric in TARGET_METRICS[:-1]:
        a = actual[metric].copy()
        a[-1] = a[-1] / max(elapsed, 0.05)
        plan = a * np.exp(rng.normal(0.03, 0.08, nm))
        step = 1000.0 if metric == "won_revenue" else (5.0 if plan.mean() > 200 else 1.0)
        plan = np.maximum(np.round(plan / step) * step, step)
        plan = np.where(plan == actual[metric], plan + step, plan)
        out.append(pd.DataFrame({"month": months, "metric": metric, "value": plan}))
    year = (months - first) // 12
    sla_goal = np.minimum(0.85 + 0.03 * year, 0.95)
    out.append(pd.DataFrame({"month": months, "metric": TARGET_METRICS[-1], "value": sla_goal}))
    targets = pd.concat(out, ignore_index=True)
    targets["month"] = targets["month"].to_numpy().astype("datetime64[M]").astype("datetime64[D]")
    return targets


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

INSERT_LEADS_SQL = """
INSERT INTO leads
SELECT 'L' || lpad(CAST(i AS VARCHAR), $w, '0'), created_at, source, campaign, country,
       region, industry, employees, job_title, owner_rep_id, email_domain_kind,
       first || ' ' || last,
       lower(first) || '.' || lower(last)
           || CASE WHEN num > 0 THEN CAST(num AS VARCHAR) ELSE '' END || '@' || domain,
       company
FROM leads_frame
"""
INSERT_TOUCHPOINTS_SQL = """
INSERT INTO touchpoints
SELECT 'L' || lpad(CAST(i AS VARCHAR), $w, '0'), occurred_at, kind, detail, value
FROM touchpoints_frame
"""
INSERT_STAGES_SQL = """
INSERT INTO stage_changes
SELECT 'L' || lpad(CAST(i AS VARCHAR), $w, '0'), stage, changed_at, source_system
FROM stages_frame
"""
INSERT_ACTIVITIES_SQL = """
INSERT INTO sales_activities
SELECT 'L' || lpad(CAST(i AS VARCHAR), $w, '0'), rep_id, occurred_at, kind
FROM activities_frame
"""
INSERT_DISPOSITIONS_SQL = """
INSERT INTO dispositions
SELECT 'L' || lpad(CAST(i AS VARCHAR), $w, '0'), rep_id, decided_at, outcome, reason, note
FROM dispositions_frame
"""
INSERT_OPPORTUNITIES_SQL = """
INSERT INTO opportunities
SELECT 'O' || lpad(CAST(o AS VARCHAR), $w, '0'), 'L' || lpad(CAST(i AS VARCHAR), $w, '0'),
       created_at, amount, closed_at, outcome, lost_reason
FROM opportunities_frame
"""
INSERT_SLA_SQL = """
INSERT INTO sla_policies VALUES
    ('hot', 'demo_request', 15, false),
    ('standard', 'default', 1440, false)
"""
INSERT_MODEL_SQL = (
    "INSERT INTO scoring_models VALUES ('demo-current', 'Current rule', ?, ?, ?, ?, 'manual', ?)"
)


def _write(
    con: duckdb.DuckDBPyConnection,
    world: _World,
    lead: dict,
    tp: dict,
    reps: dict,
    hist: _History,
    targets: pd.DataFrame,
    say: Progress,
) -> None:
    """Bulk-insert every table from Arrow frames (``register`` + ``INSERT ... SELECT``)."""
    n = len(lead["created"])
    width = max(6, len(str(n)))
    labels = lead["labels"]
    owner = hist.owner
    rep_ids = reps["id"]

    def insert(name: str, sql: str, table: pa.Table) -> None:
        con.register(name, table)
        try:
            con.execute(sql, {"w": width})
        finally:
            con.unregister(name)

    first_l = np.array(labels["first"], dtype=object)
    insert(
        "leads_frame",
        INSERT_LEADS_SQL,
        pa.table(
            {
                "i": pa.array(np.arange(1, n + 1, dtype=np.int32)),
                "created_at": _ts(lead["created"]),
                "source": _dict_array(lead["source"], SOURCES),
                "campaign": _dict_array(lead["campaign"], labels["campaign"]),
                "country": _dict_array(lead["country"], labels["country"]),
                "region": _dict_array(lead["region"], REGIONS),
                "industry": _dict_array(lead["industry"], labels["industry"]),
                "employees": pa.array(lead["employees"].astype(np.int32)),
                "job_title": _dict_array(lead["title"], labels["title"], mask=lead["no_title"]),
                "owner_rep_id": _dict_array(np.maximum(owner, 0), rep_ids, mask=owner < 0),
                "email_domain_kind": _dict_array(
                    lead["free"].astype(np.int8), ["corporate", "free"]
                ),
                "first": _dict_array(lead["first"], first_l),
                "last": _dict_array(lead["last"], labels["last"]),
                "num": pa.array(lead["email_num"].astype(np.int32)),
                "domain": _dict_array(lead["domain"], labels["domain"]),
                "company": _dict_array(lead["company"], labels["company"]),
            }
        ),
    )
    say("leads written")
    detail = tp["detail"]
    insert(
        "touchpoints_frame",
        INSERT_TOUCHPOINTS_SQL,
        pa.table(
            {
                "i": pa.array(tp["lead"] + 1),
                "occurred_at": _ts(tp["t"]),
                "kind": _dict_array(tp["kind"], _KINDS),
                "detail": _dict_array(np.maximum(detail, 0), _DETAIL_LABELS, mask=detail < 0),
                "value": pa.array(tp["value"], from_pandas=True),
            }
        ),
    )
    say("touchpoints written")
    s = hist.stage_rows
    insert(
        "stages_frame",
        INSERT_STAGES_SQL,
        pa.table(
            {
                "i": pa.array(s["lead"].astype(np.int32) + 1),
                "stage": _dict_array(s["stage"], STAGE_CODES),
                "changed_at": _ts(s["t"]),
                "source_system": _dict_array(s["system"], SOURCE_SYSTEMS),
            }
        ),
    )
    a = hist.activities
    insert(
        "activities_frame",
        INSERT_ACTIVITIES_SQL,
        pa.table(
            {
                "i": pa.array(a["lead"].astype(np.int32) + 1),
                "rep_id": _dict_array(a["rep"], rep_ids),
                "occurred_at": _ts(a["t"]),
                "kind": _dict_array(a["kind"], store.ACTIVITY_KINDS),
            }
        ),
    )
    d = hist.dispositions
    insert(
        "dispositions_frame",
        INSERT_DISPOSITIONS_SQL,
        pa.table(
            {
                "i": pa.array(d["lead"].astype(np.int32) + 1),
                "rep_id": _dict_array(d["rep"], rep_ids),
                "decided_at": _ts(d["t"]),
                "outcome": _dict_array(d["outcome"], store.DISPOSITION_OUTCOMES),
                "reason": _dict_array(np.maximum(d["reason"], 0), REASONS, mask=d["reason"] < 0),
                "note": _dict_array(np.maximum(d["note"], 0), _NOTE_LABELS, mask=d["note"] < 0),
            }
        ),
    )
    o = hist.opps
    lost = o["lost_reason"]
    insert(
        "opportunities_frame",
        INSERT_OPPORTUNITIES_SQL,
        pa.table(
            {
                "o": pa.array(np.arange(1, len(o["lead"]) + 1, dtype=np.int32)),
                "i": pa.array(o["lead"].astype(np.int32) + 1),
                "created_at": _ts(o["created"]),
                "amount": pa.array(o["amount"].astype(float)),
                "closed_at": _ts(np.maximum(o["closed"], 0), mask=o["closed"] < 0),
                "outcome": _dict_array(o["outcome"], store.OPPORTUNITY_OUTCOMES),
                "lost_reason": _dict_array(np.maximum(lost, 0), LOST_REASONS, mask=lost < 0),
            }
        ),
    )
    say("stage changes, activities, dispositions, opportunities written")
    tz_names = reps["tz_names"]
    reps_frame = pd.DataFrame(
        {
            "rep_id": rep_ids,
            "name": reps["name"],
            "team": [TEAMS[k][0] for k in reps["team"]],
            "role": reps["role"],
            "territory": reps["territory"],
            "capacity": reps["capacity"].astype(np.int32),
            "timezone": [tz_names[k] for k in reps["tz"]],
            "work_start": [_clock(x) for x in reps["ws"]],
            "work_end": [_clock(x) for x in reps["we"]],
        }
    )
    con.register("reps_frame", reps_frame)
    con.execute("INSERT INTO reps SELECT * FROM reps_frame")
    con.unregister("reps_frame")
    con.register("targets_frame", targets)
    con.execute("INSERT INTO targets SELECT month, metric, value FROM targets_frame")
    con.unregister("targets_frame")
    con.execute(INSERT_SLA_SQL)
    created = datetime(1970, 1, 1) + timedelta(seconds=world.start_s)
    con.execute(
        INSERT_MODEL_SQL,
        [
            created,
            "Marketing Ops",
            json.dumps(DEMO_RULE["weights"]),
            DEMO_RULE["threshold"],
            "The rule in production: fit and engagement points; a demo request is always an MQL.",
        ],
    )


def _clock(minutes: float) -> time:
    """A ``datetime.time`` from minutes after midnight."""
    m = int(round(minutes))
    return time(m // 60, m % 60)


# --------------------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------------------

RESPONSE_BUCKETS = (0.0, 5.0, 15.0, 60.0, 240.0, 1440.0, 4320.0, np.inf)
RESPONSE_BUCKET_LABELS = ("0-5m", "5-15m", "15-60m", "1-4h", "4-24h", "1-3d", "3d+")


def _truth(
    world: _World,
    seed: int,
    end: date,
    cutoff: datetime,
    start: date,
    counts: dict[str, int],
    lead: dict,
    reps: dict,
    hist: _History,
) -> dict:
    """The planted truth as a JSON-serialisable dictionary."""
    r1 = hist.rounds[0]
    # Speed-to-lead as it came out: acceptance of first-round contacted MQLs by bucket.
    disposed = r1["outcome"] >= 0
    resp = r1["response_minutes"][disposed]
    acc = r1["outcome"][disposed] == DISPOSITION_CODES["accepted"]
    bucket = np.digitize(resp, RESPONSE_BUCKETS[1:-1], right=False)
    curve = {}
    for b, label in enumerate(RESPONSE_BUCKET_LABELS):
        sel = bucket == b
        curve[label] = {
            "mqls": int(sel.sum()),
            "accepted_share": round(float(acc[sel].mean()), 4) if sel.any() else None,
        }
    # Breach: median first response of the breach team inside vs outside the breach months.
    team = reps["team"][r1["rep"]]
    touched = r1["first_touch"] >= 0
    in_team = team == TEAMS_INDEX[world.breach_team]
    inside = touched & in_team & r1["breach"]
    outside = touched & in_team & ~r1["breach"]

    def med(sel: np.ndarray) -> float | None:
        return round(float(np.median(r1["response_minutes"][sel])), 1) if sel.any() else None

    # Rejection reason mix per source (non-accepted, non-bad-data dispositions).
    d = hist.dispositions
    src = lead["source"][d["lead"].astype(np.int64)]
    sel = (d["outcome"] == DISPOSITION_CODES["rejected"]) | (
        d["outcome"] == DISPOSITION_CODES["nurture"]
    )
    mix, expected = {}, {}
    for s, name in enumerate(SOURCES):
        here = sel & (src == s)
        r = d["reason"][here]
        total = len(r)
        mix[name] = {
            reason: round(float((r == i).sum() / total), 4) if total else 0.0
            for i, reason in enumerate(REASONS)
        }
        # The planted probabilities behind those draws, averaged over the same dispositions.
        probs = REASON_PROBS[_reason_group(lead, d["lead"][here].astype(np.int64))]
        mean = probs.mean(axis=0) if total else np.zeros(len(REASONS))
        expected[name] = {reason: round(float(mean[i]), 4) for i, reason in enumerate(REASONS)}
    # December dip as observed: December leads vs the mean of its neighbours.
    cm = _month_index(lead["created"])
    observed = []
    for m in np.unique(cm):
        if m % 12 == 11 and (m - 1) in cm and (m + 1) in cm:
            observed.append(
                float((cm == m).sum() / (((cm == m - 1).sum() + (cm == m + 1).sum()) / 2))
            )
    n_mql = len(r1["lead"])
    return {
        "seed": seed,
        "end": end.isoformat(),
        "start": start.isoformat(),
        "cutoff": cutoff.isoformat(sep=" "),
        "months": world.months,
        "counts": counts,
        "rule": DEMO_RULE,
        "feature_definitions": FEATURE_DEFINITIONS,
        "acceptance_model": {
            "outcome": "disposition outcome 'accepted' of a contacted MQL (first round)",
            "coefficients": ACCEPTANCE_MODEL,
            "features": "rule features (0/1) at the handoff time, "
            "student_or_job_seeker_title (Student/Intern/Job Seeker/... titles), "
            "log1p_response_minutes = log(1 + wall-clock minutes to first sales activity)",
            "bad_data_share": BAD_DATA_SHARE,
        },
        "opportunity_model": OPPORTUNITY_MODEL,
        "win_model": WIN_MODEL,
        "speed_to_lead": {
            "coefficient_log1p_minutes": ACCEPTANCE_MODEL["log1p_response_minutes"],
            "odds_ratio_5_vs_30_minutes": round(
                float(
                    np.exp(
                        ACCEPTANCE_MODEL["log1p_response_minutes"] * (np.log1p(5) - np.log1p(30))
                    )
                ),
                3,
            ),
            "odds_ratio_5_minutes_vs_1_day": round(
                float(
                    np.exp(
                        ACCEPTANCE_MODEL["log1p_response_minutes"] * (np.log1p(5) - np.log1p(1440))
                    )
                ),
                3,
            ),
            "observed_acceptance_by_response": curve,
            "median_response_minutes": {
                "hot": med(touched & r1["hot"]),
                "standard": med(touched & ~r1["hot"]),
            },
        },
        "sla_breach": {
            "team": world.breach_team,
            "months": world.breach_months,
            "median_response_minutes_in_breach": med(inside),
            "median_response_minutes_team_otherwise": med(outside),
        },
        "rejection_reason_mix": mix,
        "rejection_reason_expected": expected,
        "december_dip_factor": DECEMBER_DIP,
        "december_ratio_observed": [round(x, 3) for x in observed],
        "dirty": lead["dirty"],
        "funnel": {
            "mql_handoffs": n_mql,
            "hot_handoffs": int(r1["hot"].sum()),
            "recycled_mqls": hist.recycled,
            "never_contacted": int((r1["first_touch"] < 0).sum()),
            "accepted": int(sum((r["outcome"] == 0).sum() for r in hist.rounds)),
            "opportunities": int(len(hist.opps["lead"])),
            "won": int((hist.opps["outcome"] == 1).sum()),
        },
        "teams": [
            {"team": t[0], "territory": t[1], "reps": int((reps["team"] == i).sum())}
            for i, t in enumerate(TEAMS)
        ],
    }
