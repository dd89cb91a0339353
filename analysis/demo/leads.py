"""Companies and leads: who arrives, from where, when, and which records are dirty."""

from __future__ import annotations

import re

import numpy as np

from analysis.demo.arrays import DAY, _draw, _lognormal, _World
from analysis.demo.rule import (
    EMPLOYEES_THRESHOLD,
    SENIOR_TITLE_PATTERN,
    TARGET_INDUSTRIES,
    TARGET_REGIONS,
)
from analysis.demo.world import (
    CAMPAIGNS,
    COMPANY_BAND_SHARE,
    COMPANY_CORE,
    COMPANY_PREFIX,
    COMPANY_SUFFIX,
    COUNTRIES,
    COUNTRY_VARIANTS,
    FIRST_NAMES,
    FREE_EMAIL_DOMAINS,
    FREE_EMAIL_SHARE,
    INDUSTRIES,
    INDUSTRY_SHARE,
    INDUSTRY_VARIANTS,
    LAST_NAMES,
    REGION_SHARE,
    REGION_UTC_OFFSET_HOURS,
    REGIONS,
    SEASON,
    SIZE_BANDS,
    SOURCE_BAND_MIX,
    SOURCE_FREE_EMAIL,
    SOURCE_INTEREST,
    SOURCE_SHARE,
    SOURCE_TITLE_MIX,
    SOURCES,
    TITLE_CLASSES,
    TITLES,
    WEEKEND_FACTOR,
    YEARLY_GROWTH,
)

DIRTY_SHARE = {
    "duplicate_leads": 0.006,
    "missing_job_title": 0.005,
    "industry_variants": 0.005,
    "country_variants": 0.005,
}
"""Share of leads made dirty in each way (about 2% of lead rows in all)."""


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
    """Lead attributes, sorted by creation time (lead index = position = id order).

    The steps draw from ``world.rng`` in a fixed order (companies, people, creation times,
    duplicates, emails, dirty labels, interest): reordering them changes every table.
    """
    rng = world.rng
    comp = _make_companies(rng, n)
    people = _draw_people(rng, n, comp)
    created = _creation_times(world, n, people["region"])
    is_dup, dup_rows, orig = _plant_duplicates(world, created, people)
    _unique_emails(rng, people, comp["n"], is_dup, dup_rows, orig)
    c = people["company"]
    industry, country = comp["industry"][c].astype(np.int16), comp["country"][c].astype(np.int16)
    employees = comp["employees"][c]
    labels, dirty = _dirty_labels(rng, n, industry, country)
    tclass, student = people["tclass"], people["student"]
    interest = (
        0.9 * rng.standard_normal(n)
        + SOURCE_INTEREST[people["source"]]
        + 0.25 * (tclass <= TITLE_CLASSES.index("head"))
        + 0.15 * (employees >= EMPLOYEES_THRESHOLD)
        - 0.8 * student
    )
    order = np.argsort(created, kind="stable")
    lead = {
        "created": created,
        "source": people["source"],
        "campaign": people["campaign"],
        "company": c,
        "region": people["region"],
        "country": dirty.pop("country_codes"),
        "industry": dirty.pop("industry_codes"),
        "employees": employees,
        "tclass": tclass,
        "title": people["title"],
        "no_title": dirty.pop("no_title"),
        "student": student,
        "free": people["free"],
        "first": people["first"],
        "last": people["last"],
        "domain": people["domain"],
        "email_num": people["email_num"],
        "interest": interest,
        "is_dup": is_dup,
    }
    lead = {k: v[order] for k, v in lead.items()}
    lead["dirty"] = {"duplicate_leads": len(dup_rows), **dirty}
    lead["labels"] = {
        **labels,
        "company": comp["name"],
        "domain": np.concatenate([comp["domain"], np.array(FREE_EMAIL_DOMAINS, dtype=object)]),
        "campaign": [c for s in SOURCES for c in CAMPAIGNS[s]],
        "title": [t for cls in TITLE_CLASSES for t in TITLES[cls]],
        "first": [x for names in FIRST_NAMES for x in names],
        "last": [x for names in LAST_NAMES for x in names],
    }
    lead["fit"] = _fit_flags(lead)
    return lead


def _make_companies(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """A pool of companies: unique names from three word lists, country, industry, size.

    Returns ``n`` (pool size), per-company arrays ``region``, ``country``, ``industry``,
    ``employees``, ``name``, ``domain``, and the pool sorted by size band (``by_band``,
    ``band_counts``, ``band_start``) so that a lead can pick a company of a given band.
    """
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
    band_counts = np.bincount(comp_band, minlength=len(COMPANY_BAND_SHARE))
    prefix = np.array(COMPANY_PREFIX, dtype=object)[pre]
    corename = np.array(COMPANY_CORE, dtype=object)[core]
    suffix = np.array(COMPANY_SUFFIX, dtype=object)[suf]
    tld = np.array([t for *_, t in COUNTRIES], dtype=object)[comp_country]
    return {
        "n": n_comp,
        "region": comp_region,
        "country": comp_country,
        "industry": comp_industry,
        "employees": comp_emp,
        "by_band": np.argsort(comp_band, kind="stable"),
        "band_counts": band_counts,
        "band_start": np.concatenate([[0], np.cumsum(band_counts)[:-1]]),
        "name": prefix + " " + corename + " " + suffix,
        "domain": np.char.lower((prefix + corename + suffix).astype(str)).astype(object) + tld,
    }


def _draw_people(rng: np.random.Generator, n: int, comp: dict) -> dict[str, np.ndarray]:
    """Per lead: source, campaign, company (by the source's size mix), title, name, email.

    Codes index the flat label lists of :func:`_make_leads` (``labels``); ``domain`` is the
    company's index, or ``comp['n']`` + the free-mail provider's index for a free email.
    """
    src = rng.choice(len(SOURCES), n, p=SOURCE_SHARE).astype(np.int8)
    camp_offsets = np.cumsum([0] + [len(CAMPAIGNS[s]) for s in SOURCES])
    camp_probs = np.zeros((len(SOURCES), camp_offsets[-1]))
    for i, s in enumerate(SOURCES):
        w = 0.62 ** np.arange(len(CAMPAIGNS[s]))
        camp_probs[i, camp_offsets[i] : camp_offsets[i + 1]] = w / w.sum()
    campaign = _draw(rng, src, camp_probs)
    band = _draw(rng, src, SOURCE_BAND_MIX)
    counts = comp["band_counts"][band]
    pick = np.floor(rng.random(n) ** 1.6 * counts).astype(np.int64)
    company = comp["by_band"][comp["band_start"][band] + np.minimum(pick, counts - 1)]
    tclass = _draw(rng, src, SOURCE_TITLE_MIX)
    title_offsets = np.cumsum([0] + [len(TITLES[t]) for t in TITLE_CLASSES])
    title = title_offsets[tclass] + np.floor(rng.random(n) * np.diff(title_offsets)[tclass]).astype(
        np.int64
    )
    student = tclass >= TITLE_CLASSES.index("student")
    free = rng.random(n) < np.where(student, 0.85, SOURCE_FREE_EMAIL[src])
    region = comp["region"][company]
    fn_off = np.cumsum([0] + [len(x) for x in FIRST_NAMES])
    ln_off = np.cumsum([0] + [len(x) for x in LAST_NAMES])
    first = fn_off[region] + np.floor(rng.random(n) * np.diff(fn_off)[region]).astype(np.int64)
    last = ln_off[region] + np.floor(rng.random(n) * np.diff(ln_off)[region]).astype(np.int64)
    free_dom = rng.choice(len(FREE_EMAIL_DOMAINS), n, p=FREE_EMAIL_SHARE)
    email_num = np.where(free & (rng.random(n) < 0.6), rng.integers(10, 100, n), 0)
    return {
        "source": src,
        "campaign": campaign,
        "company": company,
        "tclass": tclass,
        "title": title,
        "student": student,
        "free": free,
        "region": region,
        "first": first,
        "last": last,
        "free_dom": free_dom,
        "email_num": email_num,
    }


def _creation_times(world: _World, n: int, region: np.ndarray) -> np.ndarray:
    """Creation seconds: a day of the window, a local business-ish hour of the lead's region."""
    rng = world.rng
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
    return created


_COPIED_BY_DUPLICATES = (
    "company",
    "tclass",
    "title",
    "student",
    "free",
    "region",
    "first",
    "last",
    "free_dom",
)
"""Person attributes a duplicate copies from its original lead."""


def _plant_duplicates(
    world: _World, created: np.ndarray, people: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dirty records: duplicates copy an earlier lead's person, later in time (in place).

    Returns the duplicate flag per lead, the duplicate rows and the row each one copies.
    """
    rng = world.rng
    n = len(created)
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
    for name in _COPIED_BY_DUPLICATES:
        people[name][dup_rows] = people[name][orig]
    is_dup = np.zeros(n, dtype=bool)
    is_dup[dup_rows] = True
    return is_dup, dup_rows, orig


def _unique_emails(
    rng: np.random.Generator,
    people: dict[str, np.ndarray],
    n_comp: int,
    is_dup: np.ndarray,
    dup_rows: np.ndarray,
    orig: np.ndarray,
) -> None:
    """Unique emails for distinct people: a clash gets a new number until none is left.

    Sets ``people['domain']`` and fixes ``people['email_num']`` in place; a duplicate keeps
    its original's email.
    """
    free, email_num = people["free"], people["email_num"]
    domain_idx = np.where(free, n_comp + people["free_dom"], people["company"])
    person = ((people["first"] * 1000 + people["last"]) * (n_comp + 8) + domain_idx) * 100_000
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
    people["domain"] = domain_idx


def _dirty_labels(
    rng: np.random.Generator, n: int, industry: np.ndarray, country: np.ndarray
) -> tuple[dict[str, list[str]], dict]:
    """Misspelt industry and country labels and missing job titles.

    Codes past the canonical ones point into the variant lists. Returns the label lists
    (``industry``, ``country``) and the dirty counts together with the new codes
    (``industry_codes``, ``country_codes``) and the ``no_title`` mask.
    """
    ind_labels, ind_variant_of = _labels_with_variants(INDUSTRIES, INDUSTRY_VARIANTS)
    cty_labels, cty_variant_of = _labels_with_variants([c for c, *_ in COUNTRIES], COUNTRY_VARIANTS)
    n_ind = int(round(DIRTY_SHARE["industry_variants"] * n))
    n_cty = int(round(DIRTY_SHARE["country_variants"] * n))
    n_title = int(round(DIRTY_SHARE["missing_job_title"] * n))
    industry, ind_dirty = _misspell(rng, industry, ind_variant_of, n_ind)
    country, cty_dirty = _misspell(rng, country, cty_variant_of, n_cty)
    no_title = np.zeros(n, dtype=bool)
    no_title[rng.choice(n, n_title, replace=False)] = True
    dirty = {
        "missing_job_title": n_title,
        "industry_variants": int(ind_dirty),
        "country_variants": int(cty_dirty),
        "industry_codes": industry,
        "country_codes": country,
        "no_title": no_title,
    }
    return {"industry": ind_labels, "country": cty_labels}, dirty


def _fit_flags(lead: dict) -> dict[str, np.ndarray]:
    """The rule's fit features, from the stored values (labels and titles as written)."""
    senior_re = re.compile(SENIOR_TITLE_PATTERN, re.IGNORECASE)
    senior_title = np.array([bool(senior_re.search(t)) for t in lead["labels"]["title"]])
    target_ind = np.array([label in TARGET_INDUSTRIES for label in lead["labels"]["industry"]])
    return {
        "senior_title": senior_title[lead["title"]] & ~lead["no_title"],
        "employees_200plus": lead["employees"] >= EMPLOYEES_THRESHOLD,
        "corporate_email": ~lead["free"],
        "target_region": np.isin(lead["region"], [REGIONS.index(r) for r in TARGET_REGIONS]),
        "target_industry": target_ind[lead["industry"]],
    }


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
