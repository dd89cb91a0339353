"""The batch core every importer shares: cross-table rules, duplicate keys, one write.

Query intuition: see steps 3 and 4 in :mod:`analysis.imports.ingest`. Importers hand over
:class:`~analysis.imports.checks.Part` objects (rows after the value checks);
:func:`apply_parts` checks them against the database and each other, then writes the batch
(upserts, ``import_rejects``, one ``import_batches`` row) through
:func:`analysis.store.write_session` in one transaction.
"""

from __future__ import annotations

import contextlib
import csv
import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analysis import store
from analysis.imports.checks import (
    MAX_RAW_CELL_CHARS,
    WARNING_COLUMNS,
    Part,
    _concat_faults,
    _fault,
    _fmt_ts,
    _order_says,
    _value_says,
)
from analysis.imports.result import (
    REFUSED_COLUMNS,
    WARNED_COLUMNS,
    WRITTEN_COLUMNS,
    ImportResult,
)
from analysis.store import TABLES, Table

__all__ = [
    "INSERT_BATCH_SQL",
    "INSERT_REJECTS_SQL",
    "INSERT_WARNINGS_SQL",
    "LEAD_LOOKUP_SQL",
    "REFUSED_COLUMNS",
    "WARNED_COLUMNS",
    "WRITTEN_COLUMNS",
    "ImportResult",
    "apply_parts",
    "new_batch_id",
    "order_written",
    "record_batch",
]

LEAD_LOOKUP_SQL = "SELECT lead_id, min(created_at) AS created_at FROM leads GROUP BY lead_id"
INSERT_BATCH_SQL = "INSERT INTO import_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_REJECTS_SQL = """
INSERT INTO import_rejects
SELECT batch_id, "table", file, row_number, "column", reason, raw FROM rejects_frame
"""
INSERT_WARNINGS_SQL = """
INSERT INTO import_warnings
SELECT batch_id, "table", file, row_number, "column", value, reason FROM warnings_frame
"""


class _StrictRefusal(Exception):
    """Internal: abort the write session of a strict batch that refused rows."""


def new_batch_id(started: datetime, prefix: str = "import") -> str:
    """A batch identifier such as ``import-20240301-143000-3fa2c1`` (UTC start time)."""
    return f"{prefix}-{started:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


# --------------------------------------------------------------------------------------
# Cross-table checks and refusals
# --------------------------------------------------------------------------------------


@dataclass
class _TableBatch:
    """All files of one table, concatenated: typed values plus where each row came from."""

    table: Table
    parts: list[Part]
    values: pd.DataFrame = field(init=False)
    faults: pd.DataFrame = field(init=False)
    soft: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        frames, faults, soft, offset = [], [], [], 0
        for i, part in enumerate(self.parts):
            v = part.values.copy(deep=False)  # copy-on-write: columns are shared, not copied
            v.index = v.index + offset
            v["_part"] = i
            v["_row"] = part.raw.index.to_numpy()
            frames.append(v)
            f = part.faults.copy()
            f["pos"] = f["pos"] + offset
            faults.append(f)
            if part.soft is not None and len(part.soft):
                soft.append(part.soft.assign(pos=part.soft["pos"] + offset))
            offset += len(part.values)
        self.values = pd.concat(frames)
        self.faults = _concat_faults(faults)
        self.soft = (
            pd.concat(soft, ignore_index=True) if soft else pd.DataFrame(columns=WARNING_COLUMNS)
        )

    def clean(self) -> pd.Series:
        """True for rows with no fault so far."""
        return ~self.values.index.isin(self.faults["pos"].unique())

    def add(self, fault: pd.DataFrame) -> None:
        """Record more faults."""
        self.faults = _concat_faults([self.faults, fault])


def _check_leads(batch: _TableBatch, lead_created: pd.Series) -> None:
    """Refuse child rows without a known lead or dated before the lead's creation."""
    table = batch.table
    clean = pd.Series(batch.clean(), index=batch.values.index)
    lead_ids = batch.values["lead_id"]
    found = lead_created.reindex(lead_ids.astype(object).to_numpy())
    created = pd.Series(pd.to_datetime(found.to_numpy()), index=lead_ids.index)
    unknown = clean & created.isna()
    order = table.column_names.index("lead_id")
    says = _value_says(
        "lead_id", lead_ids, "is neither in the database nor among the leads accepted in this batch"
    )
    batch.add(_fault(unknown, order, "lead_id", "unknown lead", says))
    when = table.time_column
    if when is None:
        return
    early = clean & ~unknown & (batch.values[when] < created)
    says = _order_says(when, batch.values[when], "the lead's created_at", created)
    batch.add(
        _fault(early, table.column_names.index(when), when, "before the lead's creation", says)
    )


def _check_duplicates(batch: _TableBatch) -> None:
    """Refuse every later row that repeats the key of an earlier clean row."""
    key = list(batch.table.key)
    clean = batch.values.loc[batch.clean(), key]
    if clean.empty:
        return
    dup = clean.duplicated(subset=key, keep="first")
    if not dup.any():
        return
    pos = pd.Series(clean.index, index=clean.index)
    first = pos.groupby([clean[k] for k in key], dropna=False).transform("first")[dup]
    files = pd.Series([p.file for p in batch.parts])
    rows = clean.loc[dup]
    first_file = pd.Series(
        files.loc[batch.values.loc[first, "_part"].to_numpy()].to_numpy(), index=rows.index
    )
    first_row = pd.Series(batch.values.loc[first, "_row"].astype(str).to_numpy(), index=rows.index)
    described = None
    for k in key:
        v = rows[k]
        text = _fmt_ts(v) if pd.api.types.is_datetime64_any_dtype(v) else v.astype(str)
        part = k + "=" + text.where(v.notna(), "(empty)")
        described = part if described is None else described + ", " + part
    reason = (
        "duplicate key ("
        + described
        + "): row "
        + first_row
        + " of "
        + first_file
        + " has the same key and is the one imported"
    )
    mask = pd.Series(False, index=batch.values.index)
    mask.loc[rows.index] = True
    order = batch.table.column_names.index(key[0])
    batch.add(_fault(mask, order, ", ".join(key), "duplicate key", reason))


def _raw_text(raw: pd.DataFrame) -> list[str]:
    """Each row of ``raw`` as one CSV line (header order), for ``import_rejects.raw``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="")
    out = []
    cap = MAX_RAW_CELL_CHARS
    for row in raw.itertuples(index=False, name=None):
        buf.seek(0)
        buf.truncate()
        writer.writerow(
            [c if not isinstance(c, str) or len(c) <= cap else c[:cap] + "…" for c in row]
        )
        out.append(buf.getvalue())
    return out


def _refusals(batch: _TableBatch) -> pd.DataFrame:
    """One refusal record per faulty row of the table."""
    if batch.faults.empty:
        return pd.DataFrame(columns=REFUSED_COLUMNS)
    # A refused row's reason lists every problem, the optional fields' ones included.
    also = batch.soft.loc[batch.soft["pos"].isin(batch.faults["pos"]), batch.faults.columns]
    f = _concat_faults([batch.faults, also]) if len(also) else batch.faults
    f = f.sort_values(["pos", "order"], kind="stable")
    if any(p.sources for p in batch.parts):
        f = _relabel(batch, f)
    grouped = f.groupby("pos", sort=True)
    first = grouped[["column", "problem"]].first()
    reasons = grouped["reason"].agg("; ".join)
    where = batch.values.loc[first.index, ["_part", "_row"]]
    raws = pd.Series("", index=first.index, dtype=object)
    for i, part in enumerate(batch.parts):
        sel = where.index[where["_part"].to_numpy() == i]
        if len(sel):
            rows = where.loc[sel, "_row"].to_numpy()
            raws.loc[sel] = _raw_text(part.raw.loc[rows])
    files = pd.Series([p.file for p in batch.parts])
    return pd.DataFrame(
        {
            "table": batch.table.name,
            "file": files.loc[where["_part"].to_numpy()].to_numpy(),
            "row_number": where["_row"].to_numpy(dtype="int64"),
            "column": first["column"].to_numpy(),
            "reason": reasons.to_numpy(),
            "raw": raws.to_numpy(),
            "problem": first["problem"].to_numpy(),
        },
        columns=REFUSED_COLUMNS,
    )


def _relabel(batch: _TableBatch, faults: pd.DataFrame) -> pd.DataFrame:
    """Name the input columns of parts read under other names (see :attr:`Part.sources`)."""
    faults = faults.copy()
    part_of = batch.values.loc[faults["pos"].to_numpy(), "_part"].to_numpy()
    for i, part in enumerate(batch.parts):
        if not part.sources:
            continue
        mine = part_of == i
        for schema_col, input_col in part.sources.items():
            hit = mine & (faults["column"] == schema_col).to_numpy()
            if hit.any():
                faults.loc[hit, "reason"] = input_col + ": " + faults.loc[hit, "reason"]
                faults.loc[hit, "column"] = input_col
    return faults


def _warnings(batch: _TableBatch) -> pd.DataFrame:
    """One warning per value left empty in a row that is kept (no fault, not dropped)."""
    soft = batch.soft
    if soft.empty:
        return pd.DataFrame(columns=WARNED_COLUMNS)
    soft = soft.loc[soft["pos"].isin(batch.values.index) & ~soft["pos"].isin(batch.faults["pos"])]
    if soft.empty:
        return pd.DataFrame(columns=WARNED_COLUMNS)
    soft = soft.sort_values(["pos", "order"], kind="stable")
    if any(p.sources for p in batch.parts):
        soft = _relabel(batch, soft)
    where = batch.values.loc[soft["pos"].to_numpy(), ["_part", "_row"]]
    files = pd.Series([p.file for p in batch.parts])
    return pd.DataFrame(
        {
            "table": batch.table.name,
            "file": files.loc[where["_part"].to_numpy()].to_numpy(),
            "row_number": where["_row"].to_numpy(dtype="int64"),
            "column": soft["column"].to_numpy(),
            "value": soft["value"].astype(str).str.slice(0, MAX_RAW_CELL_CHARS).to_numpy(),
            "reason": soft["reason"].to_numpy() + "; left empty, the row is kept",
            "problem": soft["problem"].to_numpy(),
        },
        columns=WARNED_COLUMNS,
    )


def _written(batch: _TableBatch, kept: pd.DataFrame) -> pd.DataFrame:
    """Rows kept per input file of one table (files in batch order)."""
    files = [p.file for p in batch.parts]
    counts = np.bincount(kept["_part"].to_numpy(dtype="int64"), minlength=len(files))
    per_file: dict[str, int] = {}
    for file, n in zip(files, counts, strict=True):
        per_file[file] = per_file.get(file, 0) + int(n)
    return pd.DataFrame(
        {"file": list(per_file), "table": batch.table.name, "rows": list(per_file.values())},
        columns=WRITTEN_COLUMNS,
    )


def order_written(written: list[pd.DataFrame], files: Sequence[str]) -> pd.DataFrame:
    """Per (file, table) counts summed over chunks, in input-file order then table order."""
    frames = [w for w in written if len(w)]
    if not frames:
        return pd.DataFrame(columns=WRITTEN_COLUMNS)
    out = pd.concat(frames).groupby(["file", "table"], sort=False, as_index=False)["rows"].sum()
    file_order = {f: i for i, f in enumerate(files)}
    table_order = {t: i for i, t in enumerate(TABLES)}
    out["_f"] = out["file"].map(file_order).fillna(len(files))
    out["_t"] = out["table"].map(table_order)
    out = out.sort_values(["_f", "_t"], kind="stable").drop(columns=["_f", "_t"])
    return out.astype({"rows": "int64"}).reset_index(drop=True)


def _concat_refused(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return _concat_frames(frames, REFUSED_COLUMNS)


def _concat_frames(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def _as_arrow(frame: pd.DataFrame) -> object:
    """``frame`` as an Arrow table (text columns without copying), for DuckDB to scan.

    DuckDB's pandas scan turns text columns into Python strings first; its Arrow scan
    reads the buffers directly, which keeps a large import's peak memory down. Falls back
    to the frame itself when a column has no Arrow form.
    """
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return frame


def _upsert(con: duckdb.DuckDBPyConnection, table: Table, rows: pd.DataFrame) -> None:
    """Delete stored rows whose key matches one of ``rows``, then insert ``rows``."""
    staged = _as_arrow(rows[table.column_names].reset_index(drop=True))
    con.register("staged_rows", staged)
    try:
        match = " AND ".join(f't."{k}" IS NOT DISTINCT FROM s."{k}"' for k in table.key)
        con.execute(
            f"DELETE FROM {table.name} t WHERE EXISTS (SELECT 1 FROM staged_rows s WHERE {match})"
        )
        select = ", ".join(f'CAST(s."{c.name}" AS {c.type})' for c in table.columns)
        cols = ", ".join(f'"{c}"' for c in table.column_names)
        con.execute(f"INSERT INTO {table.name} ({cols}) SELECT {select} FROM staged_rows s")
    except BaseException:
        # The real error (e.g. disk full) must surface, not a later "transaction aborted".
        with contextlib.suppress(duckdb.Error):
            con.unregister("staged_rows")
        raise
    con.unregister("staged_rows")


def _drop_followers(by_table: dict[str, _TableBatch]) -> dict[str, np.ndarray]:
    """Per table, positions of rows whose source row was refused in the table they follow."""
    if not any(p.follows for batch in by_table.values() for p in batch.parts):
        return {}
    refused_at: dict[str, set[tuple[str, int]]] = {}
    for name, batch in by_table.items():
        bad = batch.values.loc[~batch.clean(), ["_part", "_row"]]
        files = [p.file for p in batch.parts]
        refused_at[name] = {
            (files[int(i)], int(r))
            for i, r in zip(bad["_part"].to_numpy(), bad["_row"].to_numpy(), strict=True)
        }
    dropped: dict[str, np.ndarray] = {}
    for name, batch in by_table.items():
        drop = np.zeros(len(batch.values), dtype=bool)
        part_of = batch.values["_part"].to_numpy()
        rows = batch.values["_row"].to_numpy()
        for i, part in enumerate(batch.parts):
            gone = refused_at.get(part.follows or "", set())
            if not gone:
                continue
            mine = np.flatnonzero(part_of == i)
            hit = np.fromiter(((part.file, int(r)) in gone for r in rows[mine]), bool, len(mine))
            drop[mine[hit]] = True
        if drop.any():
            dropped[name] = batch.values.index.to_numpy()[drop]
    return dropped


def record_batch(
    con: duckdb.DuckDBPyConnection,
    batch_id: str,
    refused: pd.DataFrame,
    started: datetime,
    kind: str,
    files: Sequence[str],
    accepted: dict[str, int],
    notes: Sequence[str],
    warnings: pd.DataFrame | None = None,
) -> None:
    """Inside a write session: store the batch's refused rows and its ``import_batches`` row.

    Also stores the values it left empty (``import_warnings``) and, when it wrote leads,
    applies the accepted label merges to them (:mod:`analysis.imports.aliases`).
    """
    from analysis.imports import aliases  # late: aliases imports this module's neighbours

    if len(refused):
        con.register("rejects_frame", refused.assign(batch_id=batch_id))
        con.execute(INSERT_REJECTS_SQL)
        con.unregister("rejects_frame")
    if warnings is not None and len(warnings):
        con.register("warnings_frame", warnings.assign(batch_id=batch_id))
        con.execute(INSERT_WARNINGS_SQL)
        con.unregister("warnings_frame")
    if accepted.get("leads"):
        aliases.apply_stored(con)
    finished = datetime.now(UTC).replace(tzinfo=None)
    con.execute(
        INSERT_BATCH_SQL,
        [
            batch_id,
            started,
            finished,
            kind,
            ", ".join(files),
            sum(accepted.values()),
            len(refused),
            "; ".join(notes) or None,
        ],
    )


def apply_parts(
    db: Path | str,
    parts: Sequence[Part],
    *,
    files: Sequence[str],
    notes: list[str] | None = None,
    strict: bool = False,
    dry_run: bool = False,
    kind: str = "import",
    progress: Callable[[str], None] | None = None,
    started: datetime | None = None,
    file_rows: dict[str, int] | None = None,
) -> ImportResult:
    """Check a batch of already-read parts across tables and write it in one transaction.

    This is the batch core shared by every importer: the cross-table rules (known lead,
    not before the lead's creation), the duplicate-key rule, the rows dropped with a
    refused source row (:attr:`Part.follows`), then the upserts, ``import_rejects`` and
    the ``import_batches`` record, all through :func:`analysis.store.write_session`.

    Parameters
    ----------
    db : Path or str
        The database file; created when missing (not by a dry run).
    parts : sequence of Part
        Rows per (file, table) after the value checks (:func:`check_file`).
    files : sequence of str
        File names recorded in ``import_batches.files``.
    notes : list of str, optional
        Remarks kept in :attr:`ImportResult.notes` and the batch's ``note``.
    strict : bool
        When true, a batch with any refused row writes nothing at all.
    dry_run : bool
        When true, run every check against the database opened read-only and write
        nothing; :attr:`ImportResult.accepted` then counts the rows that would be applied.
    kind : str
        ``import_batches.kind`` of the batch (``import`` for native files).
    progress : callable, optional
        Called with a short line per step.
    started : datetime, optional
        Start time of the batch (naive UTC); default now.
    file_rows : dict of str to int, optional
        Data rows of each input file, for :attr:`ImportResult.file_rows`.

    Returns
    -------
    ImportResult
    """
    # Long on purpose: the whole batch (checks, rejects, upserts, bookkeeping) is one
    # transaction inside one write session; keeping it in one function keeps the
    # all-or-nothing boundary visible in one place.
    say = progress or (lambda _step: None)
    started = started or datetime.now(UTC).replace(tzinfo=None)
    batch_id = new_batch_id(started)
    notes = list(notes or [])
    by_table = {
        name: _TableBatch(spec, [p for p in parts if p.table.name == name])
        for name, spec in TABLES.items()
        if any(p.table.name == name for p in parts)
    }
    accepted: dict[str, int] = {}
    refused = pd.DataFrame(columns=REFUSED_COLUMNS)
    warned = pd.DataFrame(columns=WARNED_COLUMNS)
    written = pd.DataFrame(columns=WRITTEN_COLUMNS)

    def check(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
        nonlocal refused, warned, written
        # Cross-table rules, leads first so children see this batch's leads.
        stored = con.execute(LEAD_LOOKUP_SQL).df()
        lead_created = pd.Series(
            pd.to_datetime(stored["created_at"]).to_numpy(),
            index=stored["lead_id"].astype(object),
        )
        for name, batch in by_table.items():
            if batch.table.needs_lead:
                _check_leads(batch, lead_created)
            _check_duplicates(batch)
            if name == "leads":
                mine = batch.values.loc[batch.clean(), ["lead_id", "created_at"]]
                if len(mine):
                    mine = mine.set_index(mine["lead_id"].astype(object))
                    lead_created = pd.concat(
                        [mine["created_at"], lead_created[~lead_created.index.isin(mine.index)]]
                    )
        dropped = _drop_followers(by_table)
        keep: dict[str, pd.DataFrame] = {}
        refused_frames: list[pd.DataFrame] = []
        warned_frames, written_frames = [], []
        for name, batch in by_table.items():
            gone = dropped.get(name)
            if gone is not None:
                batch.faults = batch.faults.loc[~batch.faults["pos"].isin(gone)]
                batch.values = batch.values.drop(index=gone)
            clean = batch.clean()
            keep[name] = batch.values if clean.all() else batch.values.loc[clean]
            refused_frames.append(_refusals(batch))
            warned_frames.append(_warnings(batch))
            written_frames.append(_written(batch, keep[name]))
            accepted[name] = len(keep[name])
            say(
                f"checked {name}: {accepted[name]:,} accepted, "
                f"{len(batch.values) - accepted[name]:,} refused"
            )
        refused = _concat_refused(refused_frames)
        warned = _concat_frames(warned_frames, WARNED_COLUMNS)
        written = order_written(written_frames, files)
        return keep

    if dry_run:
        if Path(db).exists():
            con = store.connect_read_only(db)
        else:
            con = duckdb.connect(":memory:")
            store.create_schema(con)
        try:
            check(con)
        finally:
            con.close()
        say(f"dry run: {sum(accepted.values()):,} rows would be applied, {len(refused):,} refused")
        return ImportResult(
            batch_id, accepted, refused, False, notes, warned, written, dict(file_rows or {})
        )
    try:
        with store.write_session(db, create=True) as con:
            keep = check(con)
            if strict and len(refused):
                raise _StrictRefusal
            # Write: upserts, rejects, the batch record.
            for name, rows in keep.items():
                if len(rows):
                    _upsert(con, TABLES[name], rows)
            record_batch(con, batch_id, refused, started, kind, files, accepted, notes, warned)
    except _StrictRefusal:
        say(f"strict: {len(refused):,} rows refused, nothing written")
        nothing = written.assign(rows=0)
        return ImportResult(
            batch_id,
            dict.fromkeys(accepted, 0),
            refused,
            False,
            notes,
            warned,
            nothing,
            dict(file_rows or {}),
        )
    say(f"wrote batch {batch_id}: {sum(accepted.values()):,} rows, {len(refused):,} refused")
    return ImportResult(
        batch_id, accepted, refused, True, notes, warned, written, dict(file_rows or {})
    )
