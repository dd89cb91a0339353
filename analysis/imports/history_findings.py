"""Data-quality findings about the history's order: undated and out-of-order stage entries.

Query intuition
---------------
A flat import keeps facts a real CRM export holds even when they are imperfect, and
marks them in ``stage_changes.source_system`` (see ``docs/importing.md``):

- ``<system> (undated)``: the entry had no date of its own and sits at the latest date
  known before it (a lower bound);
- ``<system> (out of order, was <time>)``: the export dated the entry before its lead's
  creation (e.g. a timestamped won date two days before a date-only first contact); it
  is kept, counted, and sits at the lead's creation time, and ``<time>`` is the date the
  export gave.

Each finding is one query over those marks, with the lead's ``created_at`` beside it.
"""

from __future__ import annotations

import duckdb
import pandas as pd

UNDATED_SQL = """
SELECT source_system, stage, count(*) AS entries
FROM stage_changes
WHERE source_system LIKE '%(undated)'
GROUP BY ALL
ORDER BY source_system, stage
"""

OUT_OF_ORDER_SQL = """
SELECT s.lead_id, s.stage,
    TRY_CAST(regexp_extract(s.source_system, 'was ([0-9: -]+)\\)$', 1) AS TIMESTAMP) AS given_at,
    l.created_at AS lead_created_at,
    s.changed_at AS stored_at,
    s.source_system
FROM stage_changes s
LEFT JOIN leads l USING (lead_id)
WHERE s.source_system LIKE '%(out of order, was %'
ORDER BY s.lead_id, s.changed_at, s.stage
"""


def undated_stage_entries(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Stage entries imported from a flat export without a date of their own.

    A flat import places such an entry at the latest date known before it and marks its
    ``source_system`` with ``(undated)``; velocity that starts or ends at one of them is
    understated.

    Returns
    -------
    DataFrame
        ``source_system``, ``stage`` and ``entries`` (number of stage changes).
    """
    return con.execute(UNDATED_SQL).df()


def out_of_order_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Stage entries the export dated before their lead's creation, kept and listed.

    Returns
    -------
    DataFrame
        One row per entry: ``lead_id``, ``stage``, ``given_at`` (the date the export
        gave), ``lead_created_at``, ``stored_at`` (the lead's creation time, where the
        entry is counted), ``days_early`` (``lead_created_at - given_at`` in days, a
        float) and ``source_system``. Empty when the history has none.
    """
    df = con.execute(OUT_OF_ORDER_SQL).df()
    early = pd.to_datetime(df["lead_created_at"]) - pd.to_datetime(df["given_at"])
    df.insert(4, "days_early", (early.dt.total_seconds() / 86400).round(2))
    return df
