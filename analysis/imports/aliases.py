"""Label merges: spellings of one label a user accepted as one value, applied to ``leads``.

Query intuition
---------------
:func:`analysis.imports.quality.label_variants` proposes, per label column of ``leads``
(industry, source, region, country, campaign), which spellings mean the same value
(``software`` and ``SaaS & Software`` -> ``Software``). A proposal the user accepts (on the
Data page or with ``handoff labels accept``) becomes one row of ``label_aliases``:
(column, original spelling, standard spelling, leads changed, when, who).

Accepting *rewrites the stored value*: every lead spelled ``original`` in that column gets
``standard``, in the same write session that records the alias. Later imports apply the
stored aliases to the leads they write (:func:`apply_stored`, called by the batch core), so
a new ``software`` lead is merged too. Rewriting once, rather than mapping at read time,
means every reader (the sidebar's filter options, breakdowns, the funnel, the scoring
features, reports, ``handoff metrics``, the Spark engine) sees one value with no change and
no cost per query. The original spellings stay in ``label_aliases`` (which spellings were
merged into which, and how many leads each covered), so the merge can be audited; an
alias matches the stored text exactly (case and spacing included), so a new spelling is
proposed again rather than guessed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from analysis import store
from analysis.imports import quality

ALIAS_COLUMNS: tuple[str, ...] = ("industry", "source", "region", "country", "campaign")
"""Lead columns whose spellings can be merged."""

MERGE_COLUMNS = ["column", "label", "proposed"]
"""Columns of a merge list: the lead column, the spelling stored now, the one to use."""

ACCEPTED_COLUMNS = ["column", "original", "standard", "leads", "accepted_at", "actor"]

ACCEPTED_SQL = """
SELECT "column", original, standard, leads, accepted_at, actor
FROM label_aliases
ORDER BY "column", standard, original
"""

# `{column}` is always one of ALIAS_COLUMNS (checked), never user text; values are bound.
COUNT_SQL = 'SELECT count(*) FROM leads WHERE "{column}" = $original'
REWRITE_SQL = 'UPDATE leads SET "{column}" = $standard WHERE "{column}" = $original'
APPLY_STORED_SQL = """
UPDATE leads SET "{column}" = a.standard
FROM label_aliases a
WHERE a."column" = $column AND leads."{column}" = a.original
"""
DELETE_ALIAS_SQL = 'DELETE FROM label_aliases WHERE "column" = $column AND original = $original'
RETARGET_SQL = """
UPDATE label_aliases SET standard = $standard
WHERE "column" = $column AND standard = $original
"""
INSERT_ALIAS_SQL = (
    "INSERT INTO label_aliases VALUES ($column, $original, $standard, $leads, $at, $actor)"
)


def proposals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Proposed merges of the alias columns (:func:`quality.label_variants`).

    Returns
    -------
    DataFrame
        ``column``, ``label`` (a spelling stored now), ``leads`` (leads spelled so),
        ``proposed`` (the spelling to merge it into), ``proposed_leads`` (leads already
        spelled that way) and ``rule``.
    """
    return quality.label_variants(con, ALIAS_COLUMNS)


def accepted(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The merges accepted so far (:data:`ACCEPTED_COLUMNS`); empty for older files.

    ``leads`` is the number of leads the merge rewrote when it was accepted.
    """
    if not store.has_table(con, "label_aliases"):
        return pd.DataFrame(columns=ACCEPTED_COLUMNS)
    return con.execute(ACCEPTED_SQL).df()


def check_merges(merges: pd.DataFrame) -> pd.DataFrame:
    """The merges to apply, cleaned: trimmed text, no no-ops, no repeats, no chains.

    Raises ``ValueError`` naming the row for a column that cannot be merged, an empty
    spelling, a spelling given two standards, or a standard that is itself merged away
    (``a -> b`` and ``b -> c``: say ``a -> c``).
    """
    missing = [c for c in MERGE_COLUMNS if c not in merges.columns]
    if missing:
        raise ValueError(f"merges need the columns {MERGE_COLUMNS}, missing {missing}")
    out = merges[MERGE_COLUMNS].astype(str).apply(lambda s: s.str.strip())
    for i, (column, label, proposed) in enumerate(out.itertuples(index=False, name=None)):
        if column not in ALIAS_COLUMNS:
            raise ValueError(
                f"row {i + 1}: column must be one of {', '.join(ALIAS_COLUMNS)}, got {column!r}"
            )
        if not label or not proposed or label.lower() in ("nan", "none"):
            raise ValueError(f"row {i + 1}: both the spelling and its standard are needed")
    out = out.loc[out["label"] != out["proposed"]].drop_duplicates()
    twice = out.duplicated(["column", "label"], keep=False)
    if twice.any():
        column, label = out.loc[twice, ["column", "label"]].iloc[0]
        raise ValueError(f"{column} {label!r} is given more than one standard spelling")
    originals = set(zip(out["column"], out["label"], strict=True))
    for column, label, proposed in out.itertuples(index=False, name=None):
        if (column, proposed) in originals:
            raise ValueError(
                f"{column}: {label!r} -> {proposed!r}, but {proposed!r} is itself merged into "
                "another spelling; merge both into the final one"
            )
    return out.reset_index(drop=True)


def accept(db: Path | str, merges: pd.DataFrame, *, actor: str | None = None) -> pd.DataFrame:
    """Record ``merges`` in ``label_aliases`` and rewrite the leads they cover, in one write.

    Parameters
    ----------
    db : Path or str
        The database file (it must exist).
    merges : DataFrame
        :data:`MERGE_COLUMNS` rows, e.g. the proposals a user ticked or edited.
    actor : str, optional
        Who accepted them, recorded in ``label_aliases`` and ``write_log``.

    Returns
    -------
    DataFrame
        ``column``, ``original``, ``standard`` and ``leads`` (leads rewritten), one row per
        merge applied. A spelling merged before and merged again gets the new standard;
        a standard that is merged away carries its earlier aliases along.
    """
    todo = check_merges(merges)
    who = actor or store.default_actor()
    at = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    with store.write_session(db, actor=who) as con:
        for column, original, standard in todo.itertuples(index=False, name=None):
            (n,) = con.execute(COUNT_SQL.format(column=column), {"original": original}).fetchone()
            con.execute(
                REWRITE_SQL.format(column=column), {"original": original, "standard": standard}
            )
            params = {"column": column, "original": original}
            con.execute(DELETE_ALIAS_SQL, params)
            con.execute(RETARGET_SQL, {**params, "standard": standard})
            con.execute(
                INSERT_ALIAS_SQL,
                {**params, "standard": standard, "leads": n, "at": at, "actor": who},
            )
            rows.append({"column": column, "original": original, "standard": standard, "leads": n})
    return pd.DataFrame(rows, columns=["column", "original", "standard", "leads"])


def apply_stored(con: duckdb.DuckDBPyConnection) -> int:
    """Inside a write session: rewrite every lead spelled like an accepted alias.

    Called by the import batch after it wrote leads, so a new lead spelled ``software``
    is stored as the accepted ``Software``. Returns the number of leads rewritten.
    """
    if not store.has_table(con, "label_aliases"):
        return 0
    changed = 0
    for column in ALIAS_COLUMNS:
        res = con.execute(APPLY_STORED_SQL.format(column=column), {"column": column}).fetchone()
        changed += int(res[0]) if res else 0
    return changed
