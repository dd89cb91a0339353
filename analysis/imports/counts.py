"""What an import (or its dry run) writes, said per input file and per table.

One export row becomes several stored rows (a lead, its properties, its stage entries), so
"34 rows" for a 10-row file means nothing to its reader. These helpers word an
:class:`~analysis.imports.batch.ImportResult` file by file: the rows the file has first,
then what each table gets from it ("leads.csv: 10 rows → 10 leads, 14 properties,
10 stage changes"), what was refused and which values were left empty.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from analysis import store
from analysis.imports.batch import ImportResult
from analysis.store import TABLES

NOUNS: dict[str, tuple[str, str]] = {
    "leads": ("lead", "leads"),
    "lead_properties": ("property", "properties"),
    "touchpoints": ("touchpoint", "touchpoints"),
    "stage_changes": ("stage change", "stage changes"),
    "sales_activities": ("sales activity", "sales activities"),
    "dispositions": ("disposition", "dispositions"),
    "opportunities": ("opportunity", "opportunities"),
    "reps": ("rep", "reps"),
    "targets": ("target", "targets"),
    "sla_policies": ("SLA policy", "SLA policies"),
    "scoring_models": ("scoring model", "scoring models"),
}
"""Each table's stored row in words (singular, plural)."""

PER_FILE_COLUMNS = ["file", "table", "written", "refused", "left_empty"]


def counted(n: int, table: str) -> str:
    """``n`` rows of ``table`` in words: ``1 lead``, ``14 properties``, ``1,019 leads``."""
    one, many = NOUNS.get(table, (table, table))
    return f"{n:,} {one if n == 1 else many}"


def _files(result: ImportResult) -> list[str]:
    seen = [*result.file_rows, *result.written["file"], *result.refused["file"]]
    return list(dict.fromkeys(str(f) for f in seen))


def per_file(result: ImportResult) -> pd.DataFrame:
    """Rows written, refused and with a value left empty, per input file and table.

    Returns
    -------
    DataFrame
        :data:`PER_FILE_COLUMNS`: ``written`` (rows applied, or in a dry run that would
        be), ``refused`` (rows refused), ``left_empty`` (values of optional fields left
        empty in written rows); files in input order, tables in import order.
    """
    keys = ["file", "table"]
    written = result.written.groupby(keys, sort=False)["rows"].sum().rename("written")
    refused = result.refused.groupby(keys, sort=False).size().rename("refused")
    empty = result.warnings.groupby(keys, sort=False).size().rename("left_empty")
    out = pd.concat([written, refused, empty], axis=1).fillna(0).astype("int64").reset_index()
    if out.empty:
        return pd.DataFrame(columns=PER_FILE_COLUMNS)
    out.columns = PER_FILE_COLUMNS
    file_order = {f: i for i, f in enumerate(_files(result))}
    table_order = {t: i for i, t in enumerate(TABLES)}
    out = out.assign(_f=out["file"].map(file_order), _t=out["table"].map(table_order))
    out = out.sort_values(["_f", "_t"], kind="stable").drop(columns=["_f", "_t"])
    return out.reset_index(drop=True)


def file_lines(result: ImportResult, *, dry_run: bool) -> list[str]:
    """One sentence per input file: its rows, then what each table gets from it.

    E.g. ``leads.csv: 10 rows → would write 10 leads, 14 properties, 10 stage changes;
    refused 1 lead; 1 value left empty (the row is kept)``.
    """
    table = per_file(result)
    verb = "would write" if dry_run else "wrote"
    lines = []
    for file in _files(result):
        mine = table.loc[table["file"] == file]
        parts = [counted(n, t) for t, n in zip(mine["table"], mine["written"], strict=True) if n]
        rows = result.file_rows.get(file)
        head = f"{file}: {rows:,} row{'' if rows == 1 else 's'}" if rows is not None else file
        line = f"{head} → {verb} {', '.join(parts) if parts else 'nothing'}"
        refused = [counted(n, t) for t, n in zip(mine["table"], mine["refused"], strict=True) if n]
        if refused:
            line += f"; refused {', '.join(refused)}"
        empty = int(mine["left_empty"].sum())
        if empty:
            line += f"; {empty:,} value{'' if empty == 1 else 's'} left empty (the row is kept)"
        lines.append(line)
    return lines


STORED_WARNINGS_SQL = """
SELECT w.batch_id, w."table", w.file, w.row_number, w."column", w.value, w.reason
FROM import_warnings w
ORDER BY w.batch_id DESC, w.file, w.row_number, w."column"
LIMIT $limit
"""


def stored_warnings(con: duckdb.DuckDBPyConnection, limit: int = 1000) -> pd.DataFrame:
    """Values imports left empty in rows they kept, newest batch first (``import_warnings``).

    Returns
    -------
    DataFrame
        ``batch_id``, ``table``, ``file``, ``row_number`` (header = row 1), ``column`` (the
        input column), ``value`` (as given) and ``reason``; empty for files written before
        the table existed.
    """
    if not store.has_table(con, "import_warnings"):
        return pd.DataFrame(
            columns=["batch_id", "table", "file", "row_number", "column", "value", "reason"]
        )
    return con.execute(STORED_WARNINGS_SQL, {"limit": int(limit)}).df()
