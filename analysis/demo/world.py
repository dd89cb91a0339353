"""The demo company's world: sources, campaigns, regions, industries, titles, teams, reps."""

from __future__ import annotations

from typing import Any

import numpy as np

from analysis.demo.arrays import _World

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


TEAMS_INDEX = {t[0]: i for i, t in enumerate(TEAMS)}


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
