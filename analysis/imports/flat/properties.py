"""Lead properties stored by flat imports, read back as scoring features.

The scoring lab's property features are being rebuilt in :mod:`analysis.scoring`; these
functions keep their behaviour until then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import duckdb
import numpy as np
import pandas as pd

PROPERTY_CATALOGUE_SQL = """
SELECT name,
    count(*) FILTER (WHERE value IS NOT NULL) AS leads,
    count(*) FILTER (WHERE value_number IS NOT NULL) AS numeric_leads,
    count(DISTINCT value) AS distinct_values,
    (list(DISTINCT value ORDER BY value) FILTER (WHERE value IS NOT NULL))[1:5] AS examples
FROM lead_properties
GROUP BY name
ORDER BY name
"""

NUMERIC_SHARE = 0.95
"""A property is numeric when at least this share of its non-missing values are numbers."""


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the database has the table (files older than ``lead_properties`` lack it)."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = "
        "current_database()",
        [name],
    ).fetchone()
    return bool(row and row[0])


def property_catalogue(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The lead properties stored, with their kind.

    Returns
    -------
    DataFrame
        One row per property: ``name``, ``kind`` ('numeric' when at least
        :data:`NUMERIC_SHARE` of its values are numbers, else 'categorical'), ``leads``
        (leads with a value), ``distinct_values`` and ``examples`` (up to five values,
        comma-separated). Empty when the database has no ``lead_properties`` table.
    """
    cols = ["name", "kind", "leads", "distinct_values", "examples"]
    if not has_table(con, "lead_properties"):
        return pd.DataFrame(columns=cols)
    df = con.execute(PROPERTY_CATALOGUE_SQL).df()
    if df.empty:
        return pd.DataFrame(columns=cols)
    numeric = (df["leads"] > 0) & (df["numeric_leads"] >= NUMERIC_SHARE * df["leads"])
    df["kind"] = np.where(numeric, "numeric", "categorical")
    df["examples"] = df["examples"].map(lambda v: ", ".join(map(str, list(v))))
    return df[cols]


PROPERTY_VALUES_SQL = """
SELECT lead_id, value, value_number
FROM lead_properties
WHERE name = $name AND value IS NOT NULL
"""


def property_block(
    con: duckdb.DuckDBPyConnection,
    lead_ids: Sequence[str] | np.ndarray,
    names: Sequence[str],
    *,
    max_levels: int = 20,
    quantiles: Sequence[float] = (0.25, 0.5, 0.75),
) -> tuple[np.ndarray, list[str]]:
    """0/1 feature columns from lead properties, aligned with ``lead_ids``.

    A categorical property gives one column per frequent value, ``<name>=<value>`` (the
    ``max_levels`` most frequent values; others and missing are all 0). A numeric
    property gives step columns ``<name>=≥<t>`` at the quartiles of its values (distinct
    thresholds only; missing is 0), so points add up as the value grows.

    Parameters
    ----------
    con : DuckDBPyConnection
        Connection to a Handoff Health database with ``lead_properties``.
    lead_ids : sequence of str, length n
        Row order of the result (e.g. :attr:`analysis.features.FeatureMatrix.lead_ids`).
    names : sequence of str
        Property names (:func:`property_catalogue`).
    max_levels : int
        At most this many value columns per categorical property.
    quantiles : sequence of float
        Quantiles (0-1) of a numeric property's values used as thresholds.

    Returns
    -------
    (ndarray of float32, shape (n, k), list of str of length k)
        The columns and their names.
    """
    catalogue = property_catalogue(con).set_index("name")
    unknown = [n for n in names if n not in catalogue.index]
    if unknown:
        raise ValueError(
            f"unknown lead properties {unknown}; stored: {', '.join(catalogue.index) or 'none'}"
        )
    if max_levels < 1:
        raise ValueError(f"max_levels must be at least 1, got {max_levels}")
    index = pd.Index(np.asarray(lead_ids, dtype=object))
    blocks, out_names = [], []
    for name in dict.fromkeys(names):
        rows = con.execute(PROPERTY_VALUES_SQL, {"name": name}).df()
        at = index.get_indexer(rows["lead_id"].astype(object))
        rows = rows.loc[at >= 0]
        at = at[at >= 0]
        if catalogue.loc[name, "kind"] == "numeric":
            num = rows["value_number"].to_numpy(dtype=float)
            fine = np.isfinite(num)
            cuts = (
                sorted(set(np.quantile(num[fine], list(quantiles)).round(6))) if fine.any() else []
            )
            for t in cuts:
                col = np.zeros(len(index), dtype=np.float32)
                col[at[fine & (num >= t)]] = 1.0
                blocks.append(col[:, None])
                out_names.append(f"{name}=≥{t:g}")
        else:
            counts = rows["value"].value_counts()
            levels = sorted(counts.index[:max_levels].astype(str), key=lambda v: (-counts[v], v))
            codes = pd.Index(levels, dtype=object).get_indexer(rows["value"].astype(object))
            block = np.zeros((len(index), len(levels)), dtype=np.float32)
            hit = codes >= 0
            block[at[hit], codes[hit]] = 1.0
            blocks.append(block)
            out_names += [f"{name}={v}" for v in levels]
    if not blocks:
        return np.zeros((len(index), 0), dtype=np.float32), []
    return np.hstack(blocks).astype(np.float32), out_names


def add_property_features(
    fm: Any,
    con: duckdb.DuckDBPyConnection,
    names: Sequence[str],
    *,
    max_levels: int = 20,
) -> Any:
    """A copy of a feature matrix with lead-property columns appended as ``fit`` features.

    Lead properties are a snapshot taken when the export was made, not as of each lead's
    decision point: a property that sales fills in after the handoff leaks the outcome
    into the features. Check :func:`analysis.leakage.property_leakage` before using one.

    Parameters
    ----------
    fm : analysis.features.FeatureMatrix
        The matrix from :func:`analysis.features.build_features`.
    con : DuckDBPyConnection
        The same database.
    names : sequence of str
        Property names to add (see :func:`property_block`).
    max_levels : int
        At most this many value columns per categorical property.

    Returns
    -------
    FeatureMatrix
        Same leads and outcomes; ``X``, ``names`` and ``kinds`` extended.

    Raises
    ------
    ValueError
        A property is unknown, or a new column name is already a feature name.
    """
    block, new = property_block(con, fm.lead_ids, names, max_levels=max_levels)
    clash = sorted(set(new) & set(fm.names))
    if clash:
        raise ValueError(f"property feature names already in the matrix: {clash}")
    X = np.ascontiguousarray(np.hstack([fm.X, block]), dtype=np.float32)
    return replace(
        fm,
        X=X,
        names=(*fm.names, *new),
        kinds=(*fm.kinds, *(["fit"] * len(new))),
    )
