"""Imported lead properties as scoring features: numbers, flags and one-hot categories.

Query intuition
---------------
A CRM export keeps its unmapped columns as lead properties (table ``lead_properties``:
``lead_id``, ``name``, ``value`` as text, ``value_number`` when the text is a number).
Each property becomes feature columns of the scoring lab by its kind:

- **numeric** (at least :data:`NUMERIC_SHARE` of its values are numbers): one column with
  the number itself, so points are *per unit* (per visit, per second on site). A lead
  without a number gets the median of the others (imputed) and, when any lead lacks one,
  a 0/1 column ``<name> (missing)`` says which leads were imputed, so missingness can
  carry its own points and is shown, never hidden.
- **boolean** (every value reads as yes/no, true/false, y/n, 1/0): one 0/1 column
  ``<name>=yes``; when values are missing, ``<name> (missing)`` as above.
- **categorical** (anything else): scikit-learn's ``OneHotEncoder`` gives one 0/1 column
  ``<name>=<value>`` per value held by at least ``min_frequency`` leads (at most
  ``max_categories`` columns); rarer values are pooled into ``<name>=(other)``. A missing
  value is its own level, ``(not set)``, which can never equal a real value.

Lead columns of the ``leads`` table (source, industry, ...) are one-hot encoded by the
same :func:`one_hot`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
from sklearn.preprocessing import OneHotEncoder

from analysis.store.schema import has_table

if TYPE_CHECKING:
    from analysis.scoring.matrix import FeatureMatrix

NUMERIC_SHARE = 0.95
"""A property is numeric when at least this share of its non-missing values are numbers."""

NOT_SET = "(not set)"
"""The level of a missing categorical value (never equal to a real value)."""

OTHER = "(other)"
"""The pooled level of values held by fewer than ``min_frequency`` leads."""

MISSING_SUFFIX = " (missing)"
"""Suffix of the 0/1 column that marks leads whose number or flag was imputed."""

MIN_FREQUENCY = 10
"""Default: a categorical value needs at least this many leads for a column of its own."""

MAX_CATEGORIES = 20
"""Default: at most this many columns per categorical property (the pooled one included)."""

TRUE_WORDS = frozenset({"yes", "true", "y", "1", "t", "1.0"})
FALSE_WORDS = frozenset({"no", "false", "n", "0", "f", "0.0"})
"""Values (lower-cased, trimmed) that make a property boolean."""

CATALOGUE_COLUMNS = ["name", "kind", "leads", "distinct_values", "examples"]

CATALOGUE_SQL = """
SELECT name,
    count(*) FILTER (WHERE value IS NOT NULL) AS leads,
    count(*) FILTER (WHERE value_number IS NOT NULL) AS numeric_leads,
    count(DISTINCT value) AS distinct_values,
    count(DISTINCT lower(trim(value))) FILTER (
        WHERE lower(trim(value)) NOT IN ('yes', 'true', 'y', '1', 't', '1.0',
                                         'no', 'false', 'n', '0', 'f', '0.0')) AS non_flag,
    (list(DISTINCT value ORDER BY value) FILTER (WHERE value IS NOT NULL))[1:5] AS examples
FROM lead_properties
GROUP BY name
ORDER BY name
"""

VALUES_SQL = """
SELECT lead_id, value, value_number
FROM lead_properties
WHERE name = $name AND value IS NOT NULL
"""


def catalogue(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The stored lead properties with the kind the scoring lab encodes them as.

    Returns
    -------
    DataFrame
        One row per property, by name: ``name``, ``kind`` ('boolean', 'numeric' or
        'categorical', see the module docstring), ``leads`` (leads with a value),
        ``distinct_values`` and ``examples`` (up to five values, comma-separated). Empty
        when the database has no ``lead_properties`` table.
    """
    if not has_table(con, "lead_properties"):
        return pd.DataFrame(columns=CATALOGUE_COLUMNS)
    df = con.execute(CATALOGUE_SQL).df()
    if df.empty:
        return pd.DataFrame(columns=CATALOGUE_COLUMNS)
    boolean = (df["leads"] > 0) & (df["non_flag"] == 0)
    numeric = (df["leads"] > 0) & (df["numeric_leads"] >= NUMERIC_SHARE * df["leads"])
    df["kind"] = np.where(boolean, "boolean", np.where(numeric, "numeric", "categorical"))
    df["examples"] = df["examples"].map(lambda v: ", ".join(map(str, list(v))))
    return df[CATALOGUE_COLUMNS].reset_index(drop=True)


def one_hot(
    values: np.ndarray | Sequence[object],
    prefix: str,
    *,
    min_frequency: int = MIN_FREQUENCY,
    max_categories: int = MAX_CATEGORIES,
) -> tuple[np.ndarray, list[str]]:
    """One 0/1 column per frequent value, rare values pooled, missing as ``(not set)``.

    Parameters
    ----------
    values : array of object, shape (n,)
        Labels; None or NaN is missing.
    prefix : str
        Column names are ``<prefix>=<value>`` and ``<prefix>=(other)`` for the pool.
    min_frequency, max_categories : int
        Passed to :class:`sklearn.preprocessing.OneHotEncoder`.

    Returns
    -------
    (ndarray of float32, shape (n, k), list of str of length k)
    """
    if min_frequency < 1 or max_categories < 2:
        raise ValueError(
            f"min_frequency must be >= 1 and max_categories >= 2, got {min_frequency} "
            f"and {max_categories}"
        )
    labels = pd.Series(values, dtype=object)
    labels = labels.where(labels.notna(), NOT_SET).astype(str).to_numpy(dtype=object)
    if len(labels) == 0:
        return np.zeros((0, 0), dtype=np.float32), []
    encoder = OneHotEncoder(
        min_frequency=min_frequency,
        max_categories=max_categories,
        handle_unknown="infrequent_if_exist",
        sparse_output=False,
        dtype=np.float32,
    )
    block = encoder.fit_transform(labels.reshape(-1, 1))
    rare = encoder.infrequent_categories_[0]
    rare_set = set() if rare is None else set(rare)
    names = [f"{prefix}={c}" for c in encoder.categories_[0] if c not in rare_set]
    if rare_set:
        names.append(f"{prefix}={OTHER}")
    return np.ascontiguousarray(block, dtype=np.float32), names


def _aligned(
    con: duckdb.DuckDBPyConnection, name: str, index: pd.Index
) -> tuple[np.ndarray, np.ndarray]:
    """(text, number) per lead of ``index`` for property ``name``; None/NaN when absent."""
    rows = con.execute(VALUES_SQL, {"name": name}).df()
    at = index.get_indexer(rows["lead_id"].astype(object))
    keep = at >= 0
    text = np.full(len(index), None, dtype=object)
    number = np.full(len(index), np.nan)
    text[at[keep]] = rows["value"].to_numpy(dtype=object)[keep]
    number[at[keep]] = rows["value_number"].to_numpy(dtype=float, na_value=np.nan)[keep]
    return text, number


def _with_missing(
    name: str, column: np.ndarray, missing: np.ndarray, label: str
) -> tuple[np.ndarray, list[str], dict[str, str]]:
    """The column, plus a missing-indicator column when any value is missing."""
    cols, names = [column], [label]
    described = {}
    if missing.any():
        cols.append(missing.astype(np.float32))
        names.append(f"{name}{MISSING_SUFFIX}")
        described[names[-1]] = (
            f"Imported property {name}: no value ({missing.mean():.0%} of leads; "
            "their value was filled in as described on the row above)"
        )
    return np.column_stack(cols).astype(np.float32), names, described


def encode_property(
    con: duckdb.DuckDBPyConnection,
    lead_ids: np.ndarray,
    name: str,
    kind: str,
    *,
    min_frequency: int = MIN_FREQUENCY,
    max_categories: int = MAX_CATEGORIES,
) -> tuple[np.ndarray, list[str], dict[str, str]]:
    """Feature columns of one property, rows aligned with ``lead_ids``.

    Returns
    -------
    (ndarray of float32, shape (n, k), list of str, dict of str to str)
        The columns, their names and a description of each for people.
    """
    text, number = _aligned(con, name, pd.Index(np.asarray(lead_ids, dtype=object)))
    if kind == "numeric":
        missing = ~np.isfinite(number)
        fill = float(np.median(number[~missing])) if (~missing).any() else 0.0
        block, names, described = _with_missing(
            name, np.where(missing, fill, number), missing, name
        )
        described[name] = f"Imported property {name}, a number: points are per unit" + (
            f"; a missing value counts as the median, {fill:g}" if missing.any() else ""
        )
        return block, names, described
    if kind == "boolean":
        words = pd.Series(text, dtype=object).str.strip().str.lower()
        yes = words.isin(TRUE_WORDS).to_numpy()
        missing = words.isna().to_numpy()
        label = f"{name}=yes"
        block, names, described = _with_missing(name, yes.astype(np.float32), missing, label)
        described[label] = f"Imported property {name} is yes (a missing value counts as no)"
        return block, names, described
    block, names = one_hot(text, name, min_frequency=min_frequency, max_categories=max_categories)
    described = {}
    for col in names:
        value = col[len(name) + 1 :]
        described[col] = (
            f"Imported property {name}: a value held by fewer than {min_frequency} leads"
            if value == OTHER
            else f"Imported property {name} is {value}"
        )
    return block, names, described


def add_properties(
    fm: FeatureMatrix,
    con: duckdb.DuckDBPyConnection,
    names: Sequence[str],
    *,
    min_frequency: int = MIN_FREQUENCY,
    max_categories: int = MAX_CATEGORIES,
) -> FeatureMatrix:
    """A copy of the feature matrix with the lead properties ``names`` appended as fit features.

    Lead properties are a snapshot taken when the export was made, not as of each lead's
    decision point: check :func:`analysis.scoring.leakage.property_leakage` first.

    Raises
    ------
    ValueError
        A property is not stored, or one of its column names is already a feature.
    """
    cat = catalogue(con).set_index("name")
    unknown = [n for n in names if n not in cat.index]
    if unknown:
        raise ValueError(
            f"unknown lead properties {unknown}; stored: {', '.join(cat.index) or 'none'}"
        )
    blocks, new, described = [fm.X], [], dict(fm.described)
    groups = dict(fm.one_hot_groups)
    for name in dict.fromkeys(names):
        kind = str(cat.loc[name, "kind"])
        block, cols, text = encode_property(
            con,
            fm.lead_ids,
            name,
            kind,
            min_frequency=min_frequency,
            max_categories=max_categories,
        )
        if kind == "categorical":
            groups[name] = tuple(cols)
        blocks.append(block)
        new += cols
        described.update(text)
    clash = sorted(set(new) & set(fm.names))
    if clash:
        raise ValueError(f"property feature names already in the matrix: {clash}")
    return replace(
        fm,
        X=np.ascontiguousarray(np.hstack(blocks), dtype=np.float32),
        names=(*fm.names, *new),
        kinds=(*fm.kinds, *(["fit"] * len(new))),
        described=described,
        properties=(*fm.properties, *dict.fromkeys(names)),
        one_hot_groups=groups,
    )
