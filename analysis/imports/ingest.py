"""Import native-format files (CSV or Parquet, one per table) with row-level validation.

Query intuition
---------------
An import is a *batch* of files. Each file belongs to one history table of
:data:`analysis.store.TABLES`, taken from its name (``leads.csv``, ``leads_2024.parquet``)
or from ``--table``. The batch runs in four steps:

1. **Read** every file as text, in chunks of :data:`CHUNK_ROWS` rows (steps 2 to 4 then
   run chunk by chunk inside the one transaction, :mod:`analysis.imports.stream`, so only
   one chunk of text is in memory at a time; the result is the same for any chunk size).
   Problems that make a whole file unusable stop the batch before anything is written,
   with :class:`UnusableInput` (one found past the first chunk aborts the transaction):
   a missing file, a format other than CSV (UTF-8, comma-separated, header row) or
   Parquet, a file that cannot be parsed, an unknown table, a header that repeats a
   column, or a required column that is absent.
2. **Check values**, column by column and vectorised: required values non-empty, types
   parse, values in the allowed list, numbers at or above their minimum, and an
   opportunity's ``closed_at`` not before its ``created_at``.
3. **Check across tables**, in the order of :data:`~analysis.store.TABLES` (leads first):
   a touchpoint, stage change, sales activity, disposition or opportunity needs a lead that
   is in the database or accepted in this same batch, and its timestamp cannot precede that
   lead's ``created_at`` (a lead in the batch replaces the stored one, so its ``created_at``
   is the one that counts). Then duplicate keys: within one batch a key
   (:attr:`~analysis.store.Table.key`) may appear once per table; the first occurrence (in
   file order, then row order) is kept and every later one is refused, naming the row it
   repeats. Refusing rather than letting the later row win makes the ambiguity visible and
   keeps the rule "every accepted row is in the table".
4. **Write** the whole batch through :func:`analysis.store.write_session` in one
   transaction: per table, stored rows whose key matches an accepted row are deleted and
   the accepted rows inserted (an upsert, so importing the same file twice leaves the same
   table; ``NULL`` key parts match each other). Refused rows go to ``import_rejects`` and
   one ``import_batches`` row records the batch. In strict mode a batch with any refused
   row writes nothing at all, not even the rejects: the database file stays byte-for-byte
   as it was.

Conventions
-----------
- **Row numbers** count like a spreadsheet: the header is row 1 and the first data row is
  row 2 (for a CSV without multi-line quoted values, that is also the line number in a text
  editor). Parquet rows are numbered the same way, as if the file were opened as a sheet.
  Rows whose cells are all empty are skipped (neither accepted nor refused) but still count
  for the numbering.
- **Header names** are compared after trimming spaces and lower-casing. Columns the table
  does not have are *ignored*, with a note in :attr:`ImportResult.notes`, in the batch's
  ``note`` and through ``progress``; missing optional columns are stored as ``NULL`` (and
  an upsert replaces the whole stored row, so a re-import without a column clears it).
- **Values** are trimmed; an empty cell is a missing value (``NULL``). Allowed values are
  matched exactly (case-sensitive), as the native format spells them.
- **Timestamps** are ISO 8601 (``2024-03-01``, ``2024-03-01 14:30``,
  ``2024-03-01T14:30:00+01:00``, ``...Z``). A value with an offset or ``Z`` is converted to
  UTC; a value without one is taken to be UTC already. Everything is stored as naive UTC,
  like the rest of the store. Only plausible moments are accepted: from
  :data:`EARLIEST_TIMESTAMP` (1970-01-01) to :data:`YEARS_AHEAD` (one) year after today
  (UTC); relative words (``now``, ``today``, ...) are refused, so a re-import stores the
  same value.
- **Other types**: DATE is ``YYYY-MM-DD``; TIME is ``HH:MM`` or ``HH:MM:SS``; INTEGER a
  whole number that fits 32 bits; DOUBLE a finite number; BOOLEAN one of
  yes/no/true/false/1/0 (any case); JSON valid JSON text, and for a column with a
  :attr:`~analysis.store.Column.shape` that shape (``scoring_models.weights``: an object
  of feature name to number).
- **Size**: a value longer than :data:`MAX_FIELD_CHARS` characters is refused (not
  stored), and a refused row's ``raw`` text keeps at most :data:`MAX_RAW_CELL_CHARS`
  characters of each cell.
- **Optional fields**: a bad value in an optional number or listed-value field of a lead
  or of a fact about it (employees ``lots``, a negative amount, an unknown e-mail domain
  kind; :func:`~analysis.imports.checks.is_soft`) does not refuse the row: the field is
  stored as ``NULL`` and the value is listed in :attr:`ImportResult.warnings` and
  ``import_warnings`` with its file, row, column and reason. Required fields, timestamps
  and the settings-like tables (reps, targets, SLA policies, scoring models) stay strict.
- **One refusal per row**: ``column`` is the first faulty column in schema order (the key
  columns, comma-separated, for a duplicate key) and ``reason`` lists every value problem
  of the row, separated by "; ". Cross-table rules and the duplicate-key rule are checked
  only for rows whose values are all fine. Refusals name a file by its name, or by the
  path given when two files of the batch share a name.

The code lives in three modules, re-exported here: :mod:`~analysis.imports.native`
(step 1, reading), :mod:`~analysis.imports.checks` (step 2, value checks) and
:mod:`~analysis.imports.batch` (steps 3 and 4). Steps 3 and 4 are :func:`apply_parts`,
the batch core other importers share: the flat CRM export importer
(:mod:`analysis.imports.flat`) derives native rows from each export row and
hands them over as :class:`Part` objects, whose ``follows`` drops derived rows together
with a refused source row and whose ``sources`` make refusals name the export's columns.

Limits: rows already stored are not re-checked. A batch that moves a lead's
``created_at`` later does not refuse that lead's stored stage changes, and no rule ties an
opportunity's ``outcome`` to ``closed_at`` or a disposition's ``reason`` to its
``outcome``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from analysis.imports.batch import (
    INSERT_BATCH_SQL,
    INSERT_REJECTS_SQL,
    LEAD_LOOKUP_SQL,
    REFUSED_COLUMNS,
    ImportResult,
    apply_parts,
    new_batch_id,
)
from analysis.imports.checks import (
    BOOLEAN_WORDS,
    EARLIEST_TIMESTAMP,
    FAULT_COLUMNS,
    INT32_MAX,
    INT32_MIN,
    MAX_FIELD_CHARS,
    MAX_RAW_CELL_CHARS,
    ORDER_RULES,
    RELATIVE_WORDS,
    TIME_PATTERN,
    TIMESTAMP_EXAMPLE,
    YEARS_AHEAD,
    Part,
    Reason,
    _check_column,
    _concat_faults,
    _fault,
    _fmt_ts,
    _order_says,
    _parse_timestamps,
    _quote,
    _value_says,
    check_file,
    plausible_range,
)
from analysis.imports.native import (
    CHUNK_ROWS,
    CSV_SUFFIXES,
    FIRST_DATA_ROW,
    PARQUET_SUFFIXES,
    UnusableInput,
    _format_of,
    _read_csv,
    _read_parquet,
    _stem,
    open_input,
    read_input,
    shown_names,
    table_for_file,
)
from analysis.imports.stream import Stream, apply_streams
from analysis.store import TABLES

__all__ = [
    "BOOLEAN_WORDS",
    "CHUNK_ROWS",
    "CSV_SUFFIXES",
    "EARLIEST_TIMESTAMP",
    "FAULT_COLUMNS",
    "FIRST_DATA_ROW",
    "INSERT_BATCH_SQL",
    "INSERT_REJECTS_SQL",
    "INT32_MAX",
    "INT32_MIN",
    "LEAD_LOOKUP_SQL",
    "MAX_FIELD_CHARS",
    "MAX_RAW_CELL_CHARS",
    "ORDER_RULES",
    "PARQUET_SUFFIXES",
    "REFUSED_COLUMNS",
    "RELATIVE_WORDS",
    "TIMESTAMP_EXAMPLE",
    "TIME_PATTERN",
    "YEARS_AHEAD",
    "ImportResult",
    "Part",
    "Reason",
    "UnusableInput",
    "_check_column",
    "_concat_faults",
    "_fault",
    "_fmt_ts",
    "_format_of",
    "_order_says",
    "_parse_timestamps",
    "_quote",
    "_read_csv",
    "_read_parquet",
    "_stem",
    "_value_says",
    "apply_parts",
    "check_file",
    "import_files",
    "new_batch_id",
    "open_input",
    "plausible_range",
    "read_input",
    "shown_names",
    "table_for_file",
]


def import_files(
    db: Path | str,
    files: Sequence[Path | str],
    *,
    table: str | None = None,
    strict: bool = False,
    progress: Callable[[str], None] | None = None,
    chunk_rows: int | None = None,
) -> ImportResult:
    """Validate and import a batch of native-format files in one transaction.

    Parameters
    ----------
    db : Path or str
        The database file; created when missing.
    files : sequence of Path or str
        CSV or Parquet files, each for one table (see :func:`table_for_file`).
    table : str, optional
        Import every file into this table instead of the one its name gives.
    strict : bool
        When true, a batch with any refused row writes nothing at all.
    progress : callable, optional
        Called with a short line per step ("read leads.csv: 1,000 rows for leads").
    chunk_rows : int, optional
        Rows read and applied at a time (default :data:`~analysis.imports.native.CHUNK_ROWS`);
        only one chunk of each file is in memory at once, and the result does not depend on
        it.

    Returns
    -------
    ImportResult
        Rows applied per table, the refused rows with their reasons, and whether the batch
        was applied. See the module docstring for the rules.

    Raises
    ------
    UnusableInput
        No files, a missing or unreadable file, an unknown table, or a missing required
        column; raised before anything is written.
    analysis.store.SchemaError
        The database was written by a newer version or is not a Handoff Health file.
    """
    # Long on purpose: mostly its docstring (exit codes and batch rules).
    say = progress or (lambda _step: None)
    started = datetime.now(UTC).replace(tzinfo=None)
    paths = [Path(f) for f in files]
    if not paths:
        raise UnusableInput("no files to import")
    shown = shown_names(paths)

    # 1. Open every file and check its header first: unusable input stops the batch before
    # any write (a problem later in a file aborts the one transaction, so nothing is
    # written either). Cheap checks (file exists, known format, known table) come first.
    for path in paths:
        if not path.is_file():
            raise UnusableInput(f"{path}: file not found")
        if _format_of(path) is None:
            raise UnusableInput(
                f"{path.name}: unsupported format; expected a .csv or .parquet file"
            )
    targets = [table_for_file(path, table) for path in paths]
    notes: list[str] = []
    streams: list[Stream] = []
    for path, file, name in zip(paths, shown, targets, strict=True):
        spec = TABLES[name]
        header, chunks = open_input(path, chunk_rows)
        missing = [c.name for c in spec.columns if c.required and c.name not in header]
        if missing:
            raise UnusableInput(
                f"{file}: missing required column(s) for table {name}: {', '.join(missing)} "
                f"(the header has: {', '.join(header) or 'nothing'})"
            )
        extra = [c for c in header if c not in spec.column_names]
        if extra:
            note = f"{file}: ignored column(s) that {name} does not have: {', '.join(extra)}"
            notes.append(note)
            say(note)
        streams.append(Stream(file, spec, chunks))
    # 2-4. Check and write chunk by chunk inside one transaction (see analysis.imports.stream).
    return apply_streams(
        db,
        streams,
        files=shown,
        notes=notes,
        strict=strict,
        progress=progress,
        started=started,
    )
