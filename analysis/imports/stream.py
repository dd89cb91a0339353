"""The native import applied chunk by chunk inside one write session (bounded memory).

Query intuition: the same rules as :func:`analysis.imports.batch.apply_parts` (steps 3 and
4 of :mod:`analysis.imports.ingest`), but the files arrive in chunks of rows and only one
chunk is held at a time. The whole batch is still one transaction: every chunk is checked
and upserted inside the one open :func:`analysis.store.write_session`, so a failure (or a
strict batch with a refused row) throws the whole batch away. What the all-at-once core
knows from holding every row, the stream asks the open transaction:

- **Known lead**: a chunk's lead ids are looked up in ``leads`` as the transaction sees it,
  which already holds this batch's accepted leads (tables go leads first, so a later
  chunk's children see every lead of the batch).
- **Duplicate keys**: every accepted row's key, file and row number go into a temporary
  table per history table; a later row with the same key (``NULL`` parts equal) is
  refused naming that row, exactly as within one chunk. The first occurrence wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from analysis import store
from analysis.imports.batch import (
    REFUSED_COLUMNS,
    WARNED_COLUMNS,
    ImportResult,
    _as_arrow,
    _check_duplicates,
    _check_leads,
    _concat_frames,
    _concat_refused,
    _refusals,
    _StrictRefusal,
    _TableBatch,
    _warnings,
    new_batch_id,
    order_written,
    record_batch,
)
from analysis.imports.checks import _fault, _fmt_ts, check_file
from analysis.store import TABLES, Table

DUCKDB_MEMORY_LIMIT = "500MB"
"""DuckDB's memory limit while a batch streams: above it, the buffers of rows already
written are evicted to the database file instead of staying resident."""

CHUNK_LEADS_SQL = """
SELECT l.lead_id, min(l.created_at) AS created_at
FROM leads l JOIN chunk_lead_ids c ON l.lead_id = c.lead_id
GROUP BY l.lead_id
"""


@dataclass
class Stream:
    """One input file to stream: its shown name, target table and chunks of text rows."""

    file: str
    table: Table
    chunks: Iterator[pd.DataFrame]


def _lead_created(con: duckdb.DuckDBPyConnection, lead_ids: pd.Series) -> pd.Series:
    """created_at of the given leads as the open transaction sees them, by lead id."""
    ids = pd.DataFrame({"lead_id": pd.Series(lead_ids.dropna().unique(), dtype=object)})
    chunk_lead_ids = ids  # noqa: F841  (read by DuckDB's scan of Python variables)
    found = con.execute(CHUNK_LEADS_SQL).df()
    return pd.Series(
        pd.to_datetime(found["created_at"]).to_numpy(), index=found["lead_id"].astype(object)
    )


def _seen_name(table: Table) -> str:
    return f"_import_seen_{table.name}"


def _key_match(table: Table, left: str, right: str) -> str:
    types = {c.name: c.type for c in table.columns}
    return " AND ".join(
        f'CAST({left}."{k}" AS {types[k]}) IS NOT DISTINCT FROM {right}."{k}"' for k in table.key
    )


def _describe(rows: pd.DataFrame, key: Sequence[str]) -> pd.Series:
    """'k=v, k2=v2' per row, worded as the duplicate-key refusal words it."""
    described = None
    for k in key:
        v = rows[k]
        text = _fmt_ts(v) if pd.api.types.is_datetime64_any_dtype(v) else v.astype(str)
        part = k + "=" + text.where(v.notna(), "(empty)")
        described = part if described is None else described + ", " + part
    return described


def _check_seen(con: duckdb.DuckDBPyConnection, batch: _TableBatch) -> None:
    """Refuse clean rows whose key an earlier chunk of the batch already imported."""
    table, key = batch.table, list(batch.table.key)
    rows = batch.values.loc[batch.clean(), key]
    if rows.empty:
        return
    chunk_keys = _as_arrow(rows.reset_index(names="_pos"))  # noqa: F841  (scanned below)
    hits = con.execute(
        f'SELECT c._pos, s.file, s."row" FROM chunk_keys c '
        f"JOIN {_seen_name(table)} s ON {_key_match(table, 'c', 's')}"
    ).df()
    if hits.empty:
        return
    hits = hits.set_index("_pos").sort_index()
    reason = (
        "duplicate key ("
        + _describe(rows.loc[hits.index], key)
        + "): row "
        + hits["row"].astype(str)
        + " of "
        + hits["file"]
        + " has the same key and is the one imported"
    )
    mask = pd.Series(batch.values.index.isin(hits.index), index=batch.values.index)
    order = table.column_names.index(key[0])
    batch.add(
        _fault(mask, order, ", ".join(key), "duplicate key", lambda i: reason.loc[i].to_numpy())
    )


def _remember(con: duckdb.DuckDBPyConnection, table: Table, kept: pd.DataFrame, file: str) -> None:
    """Record the keys (and file, row) of rows this batch imported, for later chunks."""
    key = list(table.key)
    staged = kept[key].reset_index(drop=True).assign(_file=file, _row=kept["_row"].to_numpy())
    kept_keys = _as_arrow(staged)  # noqa: F841  (scanned below)
    types = {c.name: c.type for c in table.columns}
    select = ", ".join(f'CAST(k."{c}" AS {types[c]})' for c in key)
    con.execute(f"INSERT INTO {_seen_name(table)} SELECT {select}, _file, _row FROM kept_keys k")


def _upsert(con: duckdb.DuckDBPyConnection, table: Table, rows: pd.DataFrame) -> None:
    """Delete stored rows whose key matches one of ``rows``, then insert ``rows``.

    The rows are scanned as a Python variable, not registered: a registered view (or a
    temporary table) dropped inside the transaction lives on until it ends, with the
    chunk it holds, and memory would grow with the file again.
    """
    staged_rows = _as_arrow(rows[table.column_names].reset_index(drop=True))  # noqa: F841
    match = " AND ".join(f't."{k}" IS NOT DISTINCT FROM s."{k}"' for k in table.key)
    con.execute(
        f"DELETE FROM {table.name} t WHERE EXISTS (SELECT 1 FROM staged_rows s WHERE {match})"
    )
    select = ", ".join(f'CAST(s."{c.name}" AS {c.type})' for c in table.columns)
    cols = ", ".join(f'"{c}"' for c in table.column_names)
    con.execute(f"INSERT INTO {table.name} ({cols}) SELECT {select} FROM staged_rows s")


def _apply_chunk(
    con: duckdb.DuckDBPyConnection, stream: Stream, raw: pd.DataFrame
) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    """Check one chunk against the transaction and upsert its accepted rows.

    Returns the number of rows applied, the chunk's refusals and its warnings (values of
    optional fields left empty in applied rows).
    """
    table = stream.table
    batch = _TableBatch(table, [check_file(table, stream.file, raw)])
    if table.needs_lead:
        _check_leads(batch, _lead_created(con, batch.values["lead_id"]))
    _check_seen(con, batch)  # first against earlier chunks, then within this one
    _check_duplicates(batch)
    refused = _refusals(batch)
    clean = batch.clean()
    kept = batch.values if clean.all() else batch.values.loc[clean]
    if len(kept):
        _upsert(con, table, kept)
        _remember(con, table, kept, stream.file)
    return len(kept), refused, _warnings(batch)


def apply_streams(
    db: Path | str,
    streams: Sequence[Stream],
    *,
    files: Sequence[str],
    notes: list[str] | None = None,
    strict: bool = False,
    progress: Callable[[str], None] | None = None,
    started: datetime | None = None,
) -> ImportResult:
    """Check and write a batch of streamed native files in one transaction.

    Parameters
    ----------
    db : Path or str
        The database file; created when missing.
    streams : sequence of Stream
        The files, in batch order; they are applied in table order (leads first), then
        in this order.
    files, notes, strict, progress, started
        As for :func:`analysis.imports.batch.apply_parts`.

    Returns
    -------
    ImportResult
        The same result :func:`~analysis.imports.batch.apply_parts` gives for the same
        rows: refusals in table, file and row order; ``accepted`` counts applied rows.
    """
    # Long on purpose: the whole batch is one transaction inside one write session, and
    # keeping it in one function keeps the all-or-nothing boundary visible in one place.
    say = progress or (lambda _step: None)
    started = started or datetime.now(UTC).replace(tzinfo=None)
    batch_id = new_batch_id(started)
    notes = list(notes or [])
    order = {name: i for i, name in enumerate(TABLES)}
    ordered = sorted(streams, key=lambda s: order[s.table.name])
    accepted: dict[str, int] = {}
    refused_frames: list[pd.DataFrame] = []
    refused = pd.DataFrame(columns=REFUSED_COLUMNS)
    warned_frames: list[pd.DataFrame] = []
    warned = pd.DataFrame(columns=WARNED_COLUMNS)
    written: list[pd.DataFrame] = []
    file_rows: dict[str, int] = {}
    try:
        with store.write_session(db, create=True) as con:
            con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
            for i, stream in enumerate(ordered):
                table = stream.table
                if table.name not in accepted:
                    accepted[table.name] = 0
                    before = sum(len(f) for f in refused_frames)
                    con.execute(
                        f"CREATE TEMP TABLE {_seen_name(table)} AS SELECT "
                        + ", ".join(f'"{k}"' for k in table.key)
                        + f", ''::VARCHAR AS file, 0::BIGINT AS \"row\" FROM {table.name} LIMIT 0"
                    )
                read = 0
                for raw in stream.chunks:
                    applied, chunk_refused, chunk_warned = _apply_chunk(con, stream, raw)
                    accepted[table.name] += applied
                    refused_frames.append(chunk_refused)
                    warned_frames.append(chunk_warned)
                    written.append(
                        pd.DataFrame({"file": [stream.file], "table": table.name, "rows": applied})
                    )
                    read += len(raw)
                file_rows[stream.file] = file_rows.get(stream.file, 0) + read
                say(f"read {stream.file}: {read:,} rows for {table.name}")
                last = i + 1 == len(ordered) or ordered[i + 1].table.name != table.name
                if last:
                    con.execute(f"DROP TABLE {_seen_name(table)}")
                    n_refused = sum(len(f) for f in refused_frames) - before
                    say(
                        f"checked {table.name}: {accepted[table.name]:,} accepted, "
                        f"{n_refused:,} refused"
                    )
            refused = _concat_refused(refused_frames)
            warned = _concat_frames(warned_frames, WARNED_COLUMNS)
            if strict and len(refused):
                raise _StrictRefusal
            record_batch(con, batch_id, refused, started, "import", files, accepted, notes, warned)
    except _StrictRefusal:
        say(f"strict: {len(refused):,} rows refused, nothing written")
        nothing = order_written(written, files).assign(rows=0)
        return ImportResult(
            batch_id, dict.fromkeys(accepted, 0), refused, False, notes, warned, nothing, file_rows
        )
    say(f"wrote batch {batch_id}: {sum(accepted.values()):,} rows, {len(refused):,} refused")
    return ImportResult(
        batch_id, accepted, refused, True, notes, warned, order_written(written, files), file_rows
    )
