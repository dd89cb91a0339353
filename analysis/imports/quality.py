"""Data-quality findings: duplicate leads, missing fields, inconsistent labels, refused rows.

Query intuition
---------------
Each finding is one small query over ``leads`` (or the import bookkeeping) plus, where
the rule is easier to say in Python than in SQL, a little pandas on the few rows that
come back:

- **Duplicates**: two leads are the same person when their e-mail addresses are equal
  after trimming and lower-casing, or when both their name and their company are
  (trimmed, lower-cased, inner spaces collapsed). The pairs found by either rule are
  joined into groups (connected components), so A=B by e-mail and B=C by name+company
  make one group of three. In a group, the lead created first is the *original*; the
  others are *extra* rows.
- **Missing fields**: per lead column that some analysis needs, how many leads have it
  empty (``NULL`` or blank) and what that costs (:data:`FIELD_USES`).
- **Inconsistent labels**: the distinct values of a label column (industry, country,
  source, ...) are grouped when they mean the same thing, and every label of a group is
  proposed to become the group's most frequent spelling. Three rules, in this order:
  *case/spacing* (equal after lower-casing, ``&`` read as "and", punctuation, a leading
  "the" and all spaces removed: ``Health Care`` = ``healthcare``, ``U.S.`` = ``US``),
  *alias* (a reference table of names for the same country or industry:
  :data:`COUNTRY_REFERENCE`, :data:`INDUSTRY_ALIASES`, e.g. ``USA`` = ``United
  States``) and *contains* (for columns other than country: a label whose words include
  every word of exactly one other label at least :data:`CONTAINS_RATIO` times as
  frequent, e.g. ``SaaS & Software`` -> ``Software``). The proposals are suggestions to
  review; :func:`standardisation_toml` turns accepted ones into the ``[values]`` table of
  an import mapping (:mod:`analysis.imports.flat`), so the next import stores the standard
  spelling.
- **Refused rows**: ``import_rejects`` per batch, with the batch's counts from
  ``import_batches``.
- **History order**: undated and out-of-order stage entries
  (:mod:`analysis.imports.history_findings`, re-exported here).

Databases written before ``lead_properties`` existed are read as they are: nothing here
needs that table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd

from analysis.imports.history_findings import (  # noqa: F401  (re-exported)
    out_of_order_history,
    undated_stage_entries,
)
from analysis.imports.personal import PERSONAL_COLUMNS, mask_personal  # noqa: F401
from analysis.imports.tomltext import toml_string

REGIONS: tuple[str, ...] = ("North America", "EMEA", "APAC", "LATAM")
"""Sales regions as the analyses spell them."""

COUNTRY_REFERENCE: dict[str, tuple[str, tuple[str, ...]]] = {
    # canonical name: (region, other names and ISO 3166 alpha-2/alpha-3 codes)
    "United States": (
        "North America",
        ("US", "USA", "U.S.", "U.S.A.", "United States of America", "America"),
    ),
    "Canada": ("North America", ("CA", "CAN")),
    "United Kingdom": (
        "EMEA",
        ("UK", "GB", "GBR", "U.K.", "Great Britain", "England", "Scotland", "Wales"),
    ),
    "Germany": ("EMEA", ("DE", "DEU", "Deutschland")),
    "France": ("EMEA", ("FR", "FRA")),
    "Netherlands": ("EMEA", ("NL", "NLD", "Holland", "The Netherlands")),
    "Spain": ("EMEA", ("ES", "ESP", "España", "Espana")),
    "Sweden": ("EMEA", ("SE", "SWE", "Sverige")),
    "Ireland": ("EMEA", ("IE", "IRL")),
    "Poland": ("EMEA", ("PL", "POL", "Polska")),
    "South Africa": ("EMEA", ("ZA", "ZAF")),
    "United Arab Emirates": ("EMEA", ("AE", "ARE", "UAE", "U.A.E.")),
    "Italy": ("EMEA", ("IT", "ITA", "Italia")),
    "Switzerland": ("EMEA", ("CH", "CHE", "Schweiz", "Suisse")),
    "Austria": ("EMEA", ("AT", "AUT", "Österreich", "Osterreich")),
    "Belgium": ("EMEA", ("BE", "BEL", "België", "Belgique")),
    "Denmark": ("EMEA", ("DK", "DNK", "Danmark")),
    "Norway": ("EMEA", ("NO", "NOR", "Norge")),
    "Finland": ("EMEA", ("FI", "FIN", "Suomi")),
    "Portugal": ("EMEA", ("PT", "PRT")),
    "Israel": ("EMEA", ("IL", "ISR")),
    "Saudi Arabia": ("EMEA", ("SA", "SAU", "KSA")),
    "Turkey": ("EMEA", ("TR", "TUR", "Türkiye", "Turkiye")),
    "Czech Republic": ("EMEA", ("CZ", "CZE", "Czechia")),
    "Nigeria": ("EMEA", ("NG", "NGA")),
    "Kenya": ("EMEA", ("KE", "KEN")),
    "Egypt": ("EMEA", ("EG", "EGY")),
    "Australia": ("APAC", ("AU", "AUS")),
    "India": ("APAC", ("IN", "IND")),
    "Singapore": ("APAC", ("SG", "SGP")),
    "Japan": ("APAC", ("JP", "JPN")),
    "New Zealand": ("APAC", ("NZ", "NZL")),
    "China": ("APAC", ("CN", "CHN", "PRC")),
    "Hong Kong": ("APAC", ("HK", "HKG")),
    "South Korea": ("APAC", ("KR", "KOR", "Korea", "Republic of Korea")),
    "Indonesia": ("APAC", ("ID", "IDN")),
    "Malaysia": ("APAC", ("MY", "MYS")),
    "Philippines": ("APAC", ("PH", "PHL")),
    "Vietnam": ("APAC", ("VN", "VNM", "Viet Nam")),
    "Thailand": ("APAC", ("TH", "THA")),
    "Brazil": ("LATAM", ("BR", "BRA", "Brasil")),
    "Mexico": ("LATAM", ("MX", "MEX", "México")),
    "Argentina": ("LATAM", ("AR", "ARG")),
    "Chile": ("LATAM", ("CL", "CHL")),
    "Colombia": ("LATAM", ("CO", "COL")),
    "Peru": ("LATAM", ("PE", "PER", "Perú")),
}
"""Countries the label rules and the region lookup know: canonical name -> (region, aliases)."""

INDUSTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "Software": ("Computer Software", "SaaS"),
    "Financial Services": ("Finance", "FinServ", "Financial"),
    "Healthcare": ("Hospital & Health Care", "Health"),
    "Manufacturing": ("Mfg", "Mfg."),
    "Professional Services": ("Consulting", "Management Consulting"),
    "Education": ("Higher Education", "Education Management"),
    "Public Sector": ("Government", "Government Administration"),
}
"""Other names for the same industry: canonical name -> aliases."""

CONTAINS_RATIO = 2.0
"""A label is proposed to become a label whose words it contains only when that label has
at least this many times as many leads."""

LABEL_COLUMNS: tuple[str, ...] = ("industry", "country", "source", "campaign", "region")
"""Lead columns :func:`label_variants` looks at by default."""

FIELD_USES: dict[str, str] = {
    "source": "funnel breakdowns by source; rejection analysis",
    "campaign": "funnel breakdowns by campaign",
    "country": "region lookup; funnel breakdowns by country",
    "region": "target_region scoring feature; breakdowns by region",
    "industry": "target_industry scoring feature; breakdowns by industry",
    "employees": "employees_200plus / employees_1000plus features; company-size bands",
    "job_title": "senior_title scoring feature",
    "owner_rep_id": "SLA response times, rep load and capacity checks",
    "email_domain_kind": "corporate_email scoring feature",
    "email": "duplicate detection",
    "name": "duplicate detection (with company)",
    "company": "duplicate detection (with name)",
}
"""Lead columns that analyses need, and what a missing value costs."""

_STOPWORDS = frozenset({"and", "of", "the", "&"})


# --------------------------------------------------------------------------------------
# Label normalisation
# --------------------------------------------------------------------------------------


def label_key(label: str) -> str:
    """Comparison key of a label: case, ``&``/"and", punctuation, "the" and spaces ignored.

    ``"Health Care"`` and ``"healthcare"`` share the key ``healthcare``; ``"U.S."`` and
    ``"US"`` share ``us``; ``"The Netherlands"`` is ``netherlands``.
    """
    text = str(label).casefold().replace("&", " and ").replace("_", " ")
    text = re.sub(r"[^\w\s]", "", text)
    words = text.split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return "".join(words)


def _words(label: str) -> frozenset[str]:
    text = str(label).casefold().replace("&", " ").replace("_", " ").replace("-", "")
    text = re.sub(r"[^\w\s]", " ", text)
    return frozenset(w for w in text.split() if w not in _STOPWORDS)


def _alias_table(column: str) -> dict[str, str]:
    """Label key -> canonical name, for the column's reference table (empty when none)."""
    table: dict[str, str] = {}
    if column == "country":
        for name, (_region, aliases) in COUNTRY_REFERENCE.items():
            for alias in (name, *aliases):
                table[label_key(alias)] = name
    elif column == "industry":
        for name, aliases in INDUSTRY_ALIASES.items():
            for alias in (name, *aliases):
                table[label_key(alias)] = name
    return table


_COUNTRY_KEYS = _alias_table("country")
_REGION_KEYS = {label_key(r): r for r in REGIONS} | {
    "na": "North America",
    "northamerica": "North America",
    "europe": "EMEA",
    "emea": "EMEA",
    "apac": "APAC",
    "asiapacific": "APAC",
    "latam": "LATAM",
    "latinamerica": "LATAM",
    "southamerica": "LATAM",
}


def canonical_country(values: pd.Series) -> pd.Series:
    """Canonical country name of each value (``USA`` -> ``United States``), None if unknown."""
    keys = values.astype(object).map(lambda v: label_key(v) if isinstance(v, str) else "")
    return keys.map(_COUNTRY_KEYS).astype(object).where(lambda s: s.notna(), None)


def region_of(countries: pd.Series) -> pd.Series:
    """Sales region of each country (any spelling in :data:`COUNTRY_REFERENCE`), else None."""
    regions = {name: region for name, (region, _aliases) in COUNTRY_REFERENCE.items()}
    return canonical_country(countries).map(regions).astype(object).where(lambda s: s.notna(), None)


def standard_region(values: pd.Series) -> pd.Series:
    """A region value spelled as :data:`REGIONS` (``Europe`` -> ``EMEA``); others unchanged."""
    keys = values.astype(object).map(lambda v: label_key(v) if isinstance(v, str) else "")
    return keys.map(_REGION_KEYS).astype(object).where(lambda s: s.notna(), values.astype(object))


# --------------------------------------------------------------------------------------
# Inconsistent labels
# --------------------------------------------------------------------------------------

LABEL_COUNTS_SQL = """
SELECT {column} AS label, count(*) AS leads
FROM leads
WHERE {column} IS NOT NULL AND trim({column}) <> ''
GROUP BY 1
"""

VARIANT_COLUMNS = ["column", "label", "leads", "proposed", "proposed_leads", "rule"]


def propose_labels(counts: pd.Series, column: str, *, contains: bool | None = None) -> pd.DataFrame:
    """Group the spellings of one label column and propose one spelling per group.

    Parameters
    ----------
    counts : Series of int
        Number of leads per distinct label (index: the label as stored).
    column : str
        The lead column the labels come from; ``country`` and ``industry`` use their
        reference alias tables.
    contains : bool, optional
        Apply the *contains* rule; default: for every column except ``country`` (country
        names nest: "Guinea" / "Papua New Guinea").

    Returns
    -------
    DataFrame
        One row per label that should change: ``column``, ``label``, ``leads`` (leads
        with that label), ``proposed`` (the spelling to use), ``proposed_leads`` (leads
        already spelled that way) and ``rule`` ('case/spacing', 'alias' or 'contains'),
        sorted by proposed label then leads, most first.
    """
    if contains is None:
        contains = column != "country"
    counts = counts[counts > 0]
    if counts.empty:
        return pd.DataFrame(columns=VARIANT_COLUMNS)
    aliases = _alias_table(column)
    labels = pd.DataFrame({"label": counts.index.astype(str), "leads": counts.to_numpy()})
    labels["key"] = labels["label"].map(label_key)
    labels["group"] = labels["key"].map(lambda k: "alias:" + aliases[k] if k in aliases else k)
    # Most leads first; on a tie, the reference table's own name, then alphabetical.
    canonical = set(aliases.values())
    labels["reference"] = labels["label"].isin(canonical)
    labels = labels.sort_values(
        ["leads", "reference", "label"], ascending=[False, False, True], kind="stable"
    )
    head = labels.groupby("group", sort=False).first()
    labels["proposed"] = labels["group"].map(head["label"])
    labels["rule"] = np.where(
        labels["key"] == labels["proposed"].map(label_key), "case/spacing", "alias"
    )
    if contains:
        groups = labels.groupby("group", sort=False).agg(
            proposed=("proposed", "first"), leads=("leads", "sum")
        )
        words = {g: _words(p) for g, p in groups["proposed"].items()}
        target: dict[str, str] = {}
        for g, row in groups.iterrows():
            mine = words[g]
            hosts = [
                h
                for h, other in groups.iterrows()
                if h != g
                and words[h]
                and words[h] < mine
                and other["leads"] >= CONTAINS_RATIO * row["leads"]
            ]
            if len(hosts) == 1:
                target[g] = hosts[0]
        moved = labels["group"].isin(list(target))
        labels.loc[moved, "proposed"] = labels.loc[moved, "group"].map(
            lambda g: groups.loc[target[g], "proposed"]
        )
        labels.loc[moved, "rule"] = "contains"
    out = labels.loc[labels["label"] != labels["proposed"]].copy()
    by_label = dict(zip(labels["label"], labels["leads"], strict=True))
    out["proposed_leads"] = out["proposed"].map(by_label).fillna(0).astype("int64")
    out["column"] = column
    out = out.sort_values(["proposed", "leads", "label"], ascending=[True, False, True])
    return out[VARIANT_COLUMNS].reset_index(drop=True)


def label_variants(
    con: duckdb.DuckDBPyConnection, columns: Sequence[str] = LABEL_COLUMNS
) -> pd.DataFrame:
    """Inconsistent spellings in label columns of ``leads``, with a proposed standard.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection to a Handoff Health database.
    columns : sequence of str
        Lead columns to look at (names from :data:`LABEL_COLUMNS` or other text columns
        of ``leads``).

    Returns
    -------
    DataFrame
        The rows of :func:`propose_labels` for every column, in the given column order.
    """
    known = {c.name for c in _lead_columns()}
    frames = []
    for column in columns:
        if column not in known:
            raise ValueError(f"columns must be lead columns, got {column!r}")
        # `column` is one of the schema's own names (checked above), never user input.
        rows = con.execute(LABEL_COUNTS_SQL.format(column=f'"{column}"')).df()
        counts = pd.Series(rows["leads"].to_numpy(), index=rows["label"].astype(str))
        frames.append(propose_labels(counts, column))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=VARIANT_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def standardisation_toml(proposals: pd.DataFrame) -> str:
    """The ``[values.<column>]`` tables of an import mapping that apply ``proposals``.

    Parameters
    ----------
    proposals : DataFrame
        Rows of :func:`label_variants` (``column``, ``label``, ``proposed``), e.g. the
        ones a user ticked.

    Returns
    -------
    str
        TOML text such as ``[values.industry]`` / ``"SaaS & Software" = "Software"``, to
        paste into a mapping file (see :mod:`analysis.imports.flat`).
    """
    lines: list[str] = []
    for column, rows in proposals.groupby("column", sort=False):
        lines.append(f"[values.{column}]")
        for label, proposed in zip(rows["label"], rows["proposed"], strict=True):
            lines.append(f"{toml_string(str(label))} = {toml_string(str(proposed))}")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Duplicates
# --------------------------------------------------------------------------------------

DUPLICATE_CANDIDATES_SQL = """
WITH norm AS (
    SELECT lead_id, created_at, name, email, company, source,
        nullif(lower(trim(email)), '') AS email_key,
        CASE WHEN nullif(trim(name), '') IS NOT NULL AND nullif(trim(company), '') IS NOT NULL
            THEN lower(regexp_replace(trim(name), '\\s+', ' ', 'g')) || ' @ '
                || lower(regexp_replace(trim(company), '\\s+', ' ', 'g'))
        END AS person_key
    FROM leads
),
email_dups AS (SELECT email_key FROM norm WHERE email_key IS NOT NULL
               GROUP BY 1 HAVING count(*) > 1),
person_dups AS (SELECT person_key FROM norm WHERE person_key IS NOT NULL
                GROUP BY 1 HAVING count(*) > 1)
SELECT n.*,
    coalesce(n.email_key IN (SELECT email_key FROM email_dups), false) AS by_email,
    coalesce(n.person_key IN (SELECT person_key FROM person_dups), false) AS by_person
FROM norm n
WHERE n.email_key IN (SELECT email_key FROM email_dups)
   OR n.person_key IN (SELECT person_key FROM person_dups)
ORDER BY n.created_at, n.lead_id
"""

DUPLICATE_COLUMNS = [
    "group",
    "lead_id",
    "created_at",
    "name",
    "email",
    "company",
    "source",
    "match",
    "original",
]


def _components(pairs_a: np.ndarray, pairs_b: np.ndarray, n: int) -> np.ndarray:
    """Connected-component label (smallest member index) of each of ``n`` nodes."""
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(pairs_a.tolist(), pairs_b.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)], dtype=np.int64)


def duplicate_leads(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Leads that look like the same person, grouped.

    Returns
    -------
    DataFrame
        One row per lead in a duplicate group: ``group`` (1, 2, ... in order of the
        group's first creation), ``lead_id``, ``created_at``, ``name``, ``email``,
        ``company``, ``source``, ``match`` (the rules that put the lead in its group:
        'email', 'name + company' or both) and ``original`` (True for the group's first
        created lead, False for the extra rows). Sorted by group, then creation.
    """
    rows = con.execute(DUPLICATE_CANDIDATES_SQL).df()
    if rows.empty:
        return pd.DataFrame(columns=DUPLICATE_COLUMNS)
    n = len(rows)
    idx = pd.Series(np.arange(n))
    pairs = []
    for key in ("email_key", "person_key"):
        keyed = rows[key].notna()
        first = idx[keyed].groupby(rows.loc[keyed, key].to_numpy()).transform("min")
        pairs.append((first.to_numpy(), idx[keyed].to_numpy()))
    a = np.concatenate([p[0] for p in pairs])
    b = np.concatenate([p[1] for p in pairs])
    comp = _components(a, b, n)
    # Rows are sorted by creation, so the smallest index of a component is its original
    # and component labels sort in order of first creation.
    rows["group"] = pd.Series(comp).rank(method="dense").astype("int64").to_numpy()
    rows["original"] = comp == np.arange(n)
    by_email = rows["by_email"].to_numpy(dtype=bool)
    by_person = rows["by_person"].to_numpy(dtype=bool)
    rows["match"] = np.select(
        [by_email & by_person, by_email],
        ["email, name + company", "email"],
        "name + company",
    )
    out = rows.sort_values(["group", "created_at", "lead_id"], kind="stable")
    return out[DUPLICATE_COLUMNS].reset_index(drop=True)


def duplicate_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """How many duplicate groups and extra rows each rule finds.

    Returns
    -------
    DataFrame
        Rows for 'email', 'name + company' and 'either' (the groups of
        :func:`duplicate_leads`): ``rule``, ``groups`` (number of groups of two or more
        leads), ``leads`` (leads in those groups) and ``extra`` (leads beyond the first
        of each group: the rows a merge would remove).
    """
    rows = con.execute(DUPLICATE_CANDIDATES_SQL).df()
    out = []
    for rule, key in (("email", "email_key"), ("name + company", "person_key")):
        flag = "by_email" if key == "email_key" else "by_person"
        sel = rows.loc[rows[flag]] if len(rows) else rows
        groups = sel[key].nunique() if len(sel) else 0
        out.append({"rule": rule, "groups": groups, "leads": len(sel), "extra": len(sel) - groups})
    dups = duplicate_leads(con)
    groups = int(dups["group"].nunique()) if len(dups) else 0
    out.append(
        {"rule": "either", "groups": groups, "leads": len(dups), "extra": len(dups) - groups}
    )
    return pd.DataFrame(out, columns=["rule", "groups", "leads", "extra"])


# --------------------------------------------------------------------------------------
# Missing fields
# --------------------------------------------------------------------------------------


def _lead_columns():
    from analysis.store import TABLES

    return TABLES["leads"].columns


HANDED_OFF_FIELDS: tuple[str, ...] = ("owner_rep_id",)
"""Fields only handed-off leads need (a lead gets an owner when it goes to sales)."""

HANDED_OFF_SQL = """
SELECT DISTINCT lead_id FROM stage_changes
WHERE stage IN ('mql', 'sql', 'opportunity', 'customer')
"""


def missing_fields(
    con: duckdb.DuckDBPyConnection, fields: Sequence[str] = tuple(FIELD_USES)
) -> pd.DataFrame:
    """How many leads lack each field that analyses need.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection to a Handoff Health database.
    fields : sequence of str
        Lead columns to check (default: the keys of :data:`FIELD_USES`).

    Returns
    -------
    DataFrame
        One row per field: ``field``, ``missing`` (leads with the field NULL or blank;
        for ``email_domain_kind`` also 'unknown'), ``leads`` (the leads that need the
        field: all leads, or for :data:`HANDED_OFF_FIELDS` the leads handed off, i.e.
        with an ``mql`` or later stage change), ``among`` ('all leads' or 'handed-off
        leads'), ``share`` (missing / leads; 0 when there are none) and ``used_for``
        (what the field feeds), largest share first.
    """
    known = {c.name: c.type for c in _lead_columns()}
    bad = [f for f in fields if f not in known]
    if bad:
        raise ValueError(f"fields must be lead columns ({', '.join(known)}), got {bad}")
    rows = []
    for among, sel in (
        ("all leads", [f for f in fields if f not in HANDED_OFF_FIELDS]),
        ("handed-off leads", [f for f in fields if f in HANDED_OFF_FIELDS]),
    ):
        if not sel:
            continue
        parts = []
        for f in sel:
            # Column names come from the schema (checked above), never from input.
            blank = f" OR trim(\"{f}\") = ''" if known[f] == "VARCHAR" else ""
            if f == "email_domain_kind":
                blank += " OR \"email_domain_kind\" = 'unknown'"
            parts.append(f'count(*) FILTER (WHERE "{f}" IS NULL{blank}) AS "{f}"')
        where = f"WHERE lead_id IN ({HANDED_OFF_SQL})" if among != "all leads" else ""
        row = (
            con.execute(f"SELECT count(*) AS n, {', '.join(parts)} FROM leads {where}").df().iloc[0]
        )
        n = int(row["n"])
        rows += [{"field": f, "missing": int(row[f]), "leads": n, "among": among} for f in sel]
    out = pd.DataFrame(rows, columns=["field", "missing", "leads", "among"])
    out["share"] = np.where(out["leads"] > 0, out["missing"] / out["leads"].clip(lower=1), 0.0)
    out["used_for"] = out["field"].map(FIELD_USES).fillna("")
    out = out.sort_values(["share", "missing", "field"], ascending=[False, False, True])
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Import batches and refused rows
# --------------------------------------------------------------------------------------

BATCHES_SQL = """
SELECT b.batch_id, b.finished_at, b.kind, b.files, b.accepted, b.refused, b.note
FROM import_batches b
ORDER BY b.finished_at DESC NULLS LAST, b.batch_id
"""

REFUSAL_GROUPS_SQL = """
SELECT r.batch_id, r."table", r.file, r."column", count(*) AS rows,
    min(r.row_number) AS first_row, arg_min(r.reason, r.row_number) AS example
FROM import_rejects r
GROUP BY ALL
ORDER BY r.batch_id, rows DESC, r."table", r."column"
"""

REFUSED_ROWS_SQL = """
SELECT r.batch_id, r."table", r.file, r.row_number, r."column", r.reason, r.raw
FROM import_rejects r
WHERE $batch_id IS NULL OR r.batch_id = $batch_id
ORDER BY r.batch_id, r.file, r.row_number, r."table"
LIMIT $limit
"""


def import_batches(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every import batch, newest first.

    Returns
    -------
    DataFrame
        ``batch_id``, ``finished_at`` (UTC), ``kind`` ('generate', 'import' for native
        files, 'flat import'), ``files``, ``accepted`` and ``refused`` (row counts as
        recorded by the batch) and ``note``.
    """
    return con.execute(BATCHES_SQL).df()


def refusal_groups(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Refused rows counted per batch, table, file and column, with an example reason.

    Returns
    -------
    DataFrame
        ``batch_id``, ``table``, ``file``, ``column`` (the input column at fault),
        ``rows`` (refused rows), ``first_row`` (the smallest row number, spreadsheet
        numbering) and ``example`` (the reason given for that row).
    """
    return con.execute(REFUSAL_GROUPS_SQL).df()


def refused_rows(
    con: duckdb.DuckDBPyConnection, batch_id: str | None = None, limit: int = 1000
) -> pd.DataFrame:
    """Refused input rows with their reasons, optionally of one batch.

    Returns
    -------
    DataFrame
        ``batch_id``, ``table``, ``file``, ``row_number`` (header = row 1), ``column``,
        ``reason`` and ``raw`` (the input row as CSV text), at most ``limit`` rows.
    """
    return con.execute(REFUSED_ROWS_SQL, {"batch_id": batch_id, "limit": int(limit)}).df()
