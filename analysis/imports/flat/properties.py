"""Lead properties stored by flat imports: which exist, how many leads have each, their kind.

The scoring lab turns them into features itself (:mod:`analysis.scoring.properties`, with
scikit-learn's ``OneHotEncoder``); this module only describes what was imported.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from analysis.store.schema import has_table

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
