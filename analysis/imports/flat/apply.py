"""The flat import: classify each file, build its parts, warn, and apply one batch.

Files are read and classified first (leads, deals or reps file), so unusable input stops
the batch before anything is written. Deals files are read for their owners before the
leads files (a deal's owner becomes its lead's owner), the leads files are built, then
the deals files against the leads' creation times (the batch's and the database's), then
the reps files. The batch core :func:`analysis.imports.ingest.apply_parts` checks and
writes everything in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from analysis import store
from analysis.imports import ingest
from analysis.imports.flat.deals import deal_owners, deals_parts
from analysis.imports.flat.detect import classify, detect_files_mapping
from analysis.imports.flat.leads import ENTRY_COLUMNS, leads_parts
from analysis.imports.flat.mapping import Mapping, load_mapping, preset
from analysis.imports.flat.plan import describe, outcome_warnings
from analysis.imports.flat.rows import Reader, Source, make_part
from analysis.imports.flat.values import clean_ids, read_export
from analysis.imports.flat.vocab import norm_name
from analysis.imports.ingest import ImportResult, UnusableInput

STORED_CREATED_SQL = """
SELECT lead_id, min(created_at) AS created_at
FROM leads
WHERE lead_id IN (SELECT unnest($ids))
GROUP BY lead_id
"""


def resolve_mapping(
    mapping: Mapping | Path | str | None = None, preset_name: str | None = None
) -> Mapping | None:
    """The mapping an import uses.

    A :class:`Mapping` as is, a TOML file (on top of the preset when one is named), the
    preset alone, or None (detect the mapping per file).
    """
    if isinstance(mapping, Mapping):
        return mapping
    if mapping is not None:
        return load_mapping(mapping, preset_name)
    if preset_name is not None:
        return preset(preset_name)
    return None


def _check_paths(paths: Sequence[Path]) -> None:
    if not paths:
        raise UnusableInput("no files to import")
    for path in paths:
        if not path.is_file():
            raise UnusableInput(f"{path}: file not found")
        if ingest._format_of(path) is None:
            raise UnusableInput(
                f"{path.name}: unsupported format; expected a .csv or .parquet file"
            )


def _sources(
    paths: Sequence[Path], shown: Sequence[str], frames: list, m: Mapping, say: Callable
) -> list[Source]:
    """Each file with its kind under the mapping; a file of no kind stops the batch."""
    out = []
    for path, file, (_name, data) in zip(paths, shown, frames, strict=True):
        kind = classify(list(data.columns), m, path.name)
        if kind is None:
            lead_col = m.fields.get("lead_id", "(none)")
            expected = f"a leads file needs the column {lead_col!r}"
            if m.deals:
                expected += f", a deals file the column {m.deals.columns['lead_id']!r}"
            if m.reps:
                expected += f", a reps file the column {m.reps['rep_id']!r}"
            raise UnusableInput(
                f"{file}: not a leads or deals export for mapping {m.name!r}: {expected} "
                f"(the header has: {', '.join(map(str, data.columns)) or 'nothing'})"
            )
        cols = {norm_name(c): str(c) for c in data.columns}
        out.append(Source(path, file, kind, data, cols))
        say(f"read {file}: {len(data):,} rows, a {kind} file (mapping {m.name!r})")
    return out


def stored_created(db: Path | str, ids: Sequence[str]) -> pd.Series:
    """lead_id -> ``created_at`` of the leads already in the database among ``ids``."""
    if not ids or not Path(db).exists():
        return pd.Series(dtype="datetime64[us]")
    con = store.connect_read_only(db)
    try:
        rows = con.execute(STORED_CREATED_SQL, {"ids": list(ids)}).df()
    finally:
        con.close()
    return pd.Series(pd.to_datetime(rows["created_at"]).to_numpy(), index=rows["lead_id"])


def reps_part(r: Reader) -> ingest.Part:
    """``reps`` rows of a reps/teams file (``[reps]``: rep field -> column)."""
    native = {
        fld: (clean_ids(r.text(col)) if fld == "rep_id" else r.text(col))
        for fld, col in r.mapping.reps.items()
        if r.has(col)
    }
    sources = {fld: r.name(col) for fld, col in r.mapping.reps.items() if r.has(col)}
    raw = r.raw(*r.mapping.reps.values())
    return make_part("reps", r.src.file, native, raw, sources=sources)


def _build_parts(
    db: Path | str, sources: list[Source], m: Mapping, notes: list[str], today: date
) -> list[ingest.Part]:
    """Parts of every file: deals' owners first, then leads, deals and reps files."""
    readers = [(src, Reader(src, m, notes)) for src in sources]
    owners = [deal_owners(r) for src, r in readers if src.kind == "deals"]
    owners = [o for o in owners if o is not None]
    owner = pd.concat(owners).groupby(level=0).last() if owners else None
    parts: list[ingest.Part] = []
    entries, created = [], []
    for src, r in readers:
        if src.kind == "leads":
            out = leads_parts(r, today, owner)
            parts += out.parts
            entries.append(out.entries)
            created.append(out.created)
    lead_entries = (
        pd.concat(entries, ignore_index=True) if entries else pd.DataFrame(columns=ENTRY_COLUMNS)
    )
    known = pd.concat(created) if created else pd.Series(dtype="datetime64[us]")
    known = known[~known.index.duplicated(keep="first")]
    deal_ids: set[str] = set()
    for src, r in readers:
        if src.kind == "deals" and m.deals is not None:
            deal_ids |= set(clean_ids(r.text(m.deals.columns["lead_id"])))
    stored = stored_created(db, sorted(deal_ids - set(known.index) - {""}))
    known = pd.concat([known, stored[~stored.index.isin(known.index)]])
    for src, r in readers:
        if src.kind == "deals":
            parts += deals_parts(r, lead_entries, known, today)
        elif src.kind == "reps":
            parts.append(reps_part(r))
    return parts


def import_flat(
    db: Path | str,
    files: Sequence[Path | str],
    *,
    mapping: Mapping | Path | str | None = None,
    preset: str | None = None,
    strict: bool = False,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
    today: date | None = None,
) -> ImportResult:
    """Validate and import flat CRM exports in one batch (see ``docs/importing.md``).

    Parameters
    ----------
    db : Path or str
        The database file; created when missing (not by a dry run).
    files : sequence of Path or str
        CSV or Parquet exports: leads files and, optionally, deals and reps files.
    mapping : Mapping, Path or str, optional
        A :class:`Mapping` or the path of a TOML mapping file.
    preset : {'hubspot', 'salesforce'}, optional
        A shipped mapping; with ``mapping`` given as a file, the file is read on top of it.
        With neither, the mapping is detected from each file's header
        (:func:`detect_mapping`) and the notes say so.
    strict : bool
        When true, a batch with any refused row writes nothing at all.
    dry_run : bool
        Run every check and write nothing (the Data page's "validate" step).
    progress : callable, optional
        Called with a short line per step.
    today : date, optional
        The import day, used as ``created_at`` of leads (and deals) without any date
        (default: today in UTC); the mapping's ``created_at_fallback`` wins over it.

    Returns
    -------
    ImportResult
        Rows per table (``leads``, ``lead_properties``, ``stage_changes``,
        ``opportunities``, ``reps``), refused rows naming the input column at fault, and
        notes (mapping used and what it means, date formats found, fallbacks, columns not
        in the file, and warnings starting "warning: " when no lead is handed off or
        nothing reaches an outcome: :func:`analysis.imports.flat.plan.outcome_warnings`).

    Raises
    ------
    analysis.ingest.UnusableInput
        No files, an unreadable file, a file that is neither a leads, deals nor reps file
        under the mapping, a date column whose format cannot be told, or a bad mapping
        (:class:`MappingError`); raised before anything is written.
    analysis.store.SchemaError
        The database was written by a newer version or is not a Handoff Health file.
    """
    # Long on purpose: mostly its docstring (the mapping's meaning); the body is named steps.
    say = progress or (lambda _step: None)
    started = datetime.now(UTC).replace(tzinfo=None)
    today = today or started.date()
    paths = [Path(f) for f in files]
    _check_paths(paths)
    shown = ingest.shown_names(paths)
    chosen = resolve_mapping(mapping, preset)
    notes: list[str] = []
    frames = [(path.name, read_export(path)) for path in paths]
    if chosen is None:
        chosen = detect_files_mapping(frames)
        notes.append(f"no mapping given: detected mapping {chosen.name!r} from the header")
    else:
        notes.append(f"mapping {chosen.name!r}")
    notes += [f"mapping says: {line}" for line in describe(chosen)]
    sources = _sources(paths, shown, frames, chosen, say)
    parts = _build_parts(db, sources, chosen, notes, today)
    notes += outcome_warnings(parts)
    for note in notes:
        say(note)
    return ingest.apply_parts(
        db,
        parts,
        files=shown,
        notes=notes,
        strict=strict,
        dry_run=dry_run,
        kind="flat import",
        progress=progress,
        started=started,
        file_rows={src.file: len(src.data) for src in sources},
    )
