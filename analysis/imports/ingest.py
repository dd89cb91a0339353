"""Import native-format files (CSV or Parquet, one per table) with row-level validation.

Query intuition
---------------
An import is a *batch* of files. Each file belongs to one history table of
:data:`analysis.store.TABLES`, taken from its name (``leads.csv``, ``leads_2024.parquet``)
or from ``--table``. The batch runs in four steps:

1. **Read** every file as text. Problems that make a whole file unusable stop the batch
   before anything is written, with :class:`UnusableInput`: a missing file, a format other
   than CSV (UTF-8, comma-separated, header row) or Parquet, a file that cannot be parsed,
   an unknown table, a header that repeats a column, or a required column that is absent.
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
- **One refusal per row**: ``column`` is the first faulty column in schema order (the key
  columns, comma-separated, for a duplicate key) and ``reason`` lists every value problem
  of the row, separated by "; ". Cross-table rules and the duplicate-key rule are checked
  only for rows whose values are all fine. Refusals name a file by its name, or by the
  path given when two files of the batch share a name.

Steps 3 and 4 are :func:`apply_parts`, the batch core other importers share: the flat
CRM export importer (:mod:`analysis.flat`) derives native rows from each export row and
hands them over as :class:`Part` objects, whose ``follows`` drops derived rows together
with a refused source row and whose ``sources`` make refusals name the export's columns.

Limits: rows already stored are not re-checked. A batch that moves a lead's
``created_at`` later does not refuse that lead's stored stage changes, and no rule ties an
opportunity's ``outcome`` to ``closed_at`` or a disposition's ``reason`` to its
``outcome``.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analysis import store
from analysis.store import TABLES, Column, Table

REFUSED_COLUMNS = ["table", "file", "row_number", "column", "reason", "raw", "problem"]
"""Columns of :attr:`ImportResult.refused`; ``problem`` is a short category of ``reason``."""

FIRST_DATA_ROW = 2
"""Row number of the first data row: the header is row 1, as in a spreadsheet."""

CSV_SUFFIXES = (".csv", ".csv.gz")
ARROW_MAX_COLUMNS = 2_000
"""Files with more columns than this are read by pandas' slower CSV reader."""
PARQUET_SUFFIXES = (".parquet", ".pq")

TIMESTAMP_EXAMPLE = "e.g. 2024-03-01 14:30 or 2024-03-01T14:30:00+01:00"
EARLIEST_TIMESTAMP = pd.Timestamp("1970-01-01")
"""The earliest timestamp an import accepts (UTC)."""
YEARS_AHEAD = 1
"""How far after today (UTC) an imported timestamp may lie, in years."""
RELATIVE_WORDS = frozenset({"now", "today", "tomorrow", "yesterday"})
"""Words that name a moment relative to the import; refused as timestamps."""
MAX_FIELD_CHARS = 1_000_000
"""A value longer than this (characters) is refused rather than stored."""
MAX_RAW_CELL_CHARS = 1_000
"""A refused row's ``raw`` text keeps at most this many characters of each cell."""
TIME_PATTERN = r"([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
BOOLEAN_WORDS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

ORDER_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "opportunities": (("closed_at", "created_at"),),
}
"""Per table, (later, earlier) timestamp pairs: ``later`` may not precede ``earlier``."""

LEAD_LOOKUP_SQL = "SELECT lead_id, min(created_at) AS created_at FROM leads GROUP BY lead_id"
INSERT_BATCH_SQL = "INSERT INTO import_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_REJECTS_SQL = """
INSERT INTO import_rejects
SELECT batch_id, "table", file, row_number, "column", reason, raw FROM rejects_frame
"""


class UnusableInput(Exception):
    """A file the import cannot use at all; raised before anything is written."""


class _StrictRefusal(Exception):
    """Internal: abort the write session of a strict batch that refused rows."""


def new_batch_id(started: datetime, prefix: str = "import") -> str:
    """A batch identifier such as ``import-20240301-143000-3fa2c1`` (UTC start time)."""
    return f"{prefix}-{started:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


@dataclass
class ImportResult:
    """What one import batch did.

    Attributes
    ----------
    batch_id : str
        Identifier of the batch, also stored in ``import_batches`` and ``import_rejects``.
    accepted : dict of str to int
        Per table in the batch, number of rows applied (inserted or replacing a stored row
        with the same key); 0 for every table when a strict batch was refused.
    refused : DataFrame
        One row per refused input row: ``table``, ``file``, ``row_number`` (spreadsheet
        numbering, first data row = 2), ``column`` (the first column at fault), ``reason``
        (every problem found, in words), ``raw`` (the input row as CSV text) and
        ``problem`` (a short category of the first problem, for counting).
    applied : bool
        False when strict mode refused the whole batch and nothing was written.
    notes : list of str
        Remarks that did not refuse rows, e.g. ignored columns.
    """

    batch_id: str
    accepted: dict[str, int]
    refused: pd.DataFrame
    applied: bool
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every row was accepted, 1 when some row was refused."""
        return 0 if self.refused.empty else 1

    def summary(self) -> pd.DataFrame:
        """Accepted and refused row counts per table, refusals broken down by problem.

        Returns
        -------
        DataFrame
            Columns ``table``, ``status`` ('accepted' or 'refused'), ``column`` (column at
            fault, '' for accepted rows), ``problem`` ('' for accepted rows) and ``rows``
            (number of input rows). One accepted line per table of the batch, then one
            line per (table, column, problem) with refusals, in table order.
        """
        order = {name: i for i, name in enumerate(TABLES)}
        lines = [
            {"table": t, "status": "accepted", "column": "", "problem": "", "rows": n}
            for t, n in self.accepted.items()
        ]
        if not self.refused.empty:
            counts = (
                self.refused.groupby(["table", "column", "problem"], sort=False)
                .size()
                .reset_index(name="rows")
            )
            counts.insert(1, "status", "refused")
            lines += counts.to_dict("records")
        out = pd.DataFrame(lines, columns=["table", "status", "column", "problem", "rows"])
        out["_order"] = out["table"].map(order)
        out = out.sort_values(["_order", "status"], kind="stable").drop(columns="_order")
        return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------


def _format_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


def _stem(path: Path) -> str:
    name = path.name.lower()
    for suffix in (*CSV_SUFFIXES, *PARQUET_SUFFIXES):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem.lower()


def table_for_file(path: Path, table: str | None = None) -> str:
    """The history table a file is imported into.

    Parameters
    ----------
    path : Path
        The input file. Its name without the format suffix, lower-cased, must be a table
        name or start with one followed by ``_``, ``-``, ``.`` or a space
        (``leads.csv`` and ``leads_2024.parquet`` both go to ``leads``).
    table : str, optional
        An explicit table (the ``--table`` option); wins over the file name.

    Returns
    -------
    str
        A key of :data:`analysis.store.TABLES`.

    Raises
    ------
    UnusableInput
        When ``table`` is not a known table, or the file name names none.
    """
    known = ", ".join(TABLES)
    if table is not None:
        if table not in TABLES:
            raise UnusableInput(f"unknown table {table!r}; expected one of: {known}")
        return table
    stem = _stem(Path(path))
    matches = [
        name
        for name in TABLES
        if stem == name or (stem.startswith(name) and stem[len(name)] in "_-. ")
    ]
    if not matches:
        raise UnusableInput(
            f"{Path(path).name}: cannot tell which table this file is for; name it after a "
            f"table (e.g. leads.csv, leads_2024.parquet) or pass --table. Tables: {known}"
        )
    return max(matches, key=len)


def _normalise_header(names: Sequence[object], path: Path) -> list[str]:
    header = []
    for i, name in enumerate(names):
        text = "" if name is None else str(name).strip().lower()
        header.append(text or f"unnamed_{i + 1}")
    counts = pd.Series(header).value_counts()
    repeated = sorted(counts.index[counts > 1])
    if repeated:
        raise UnusableInput(
            f"{path.name}: the header names a column more than once: {', '.join(repeated)}"
        )
    return header


def _text_dtype(arrow_type: object) -> pd.StringDtype | None:
    import pyarrow as pa

    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype("pyarrow", na_value=np.nan)
    return None


def _read_cells_arrow(path: Path) -> pd.DataFrame | None:
    """Every cell as text through pyarrow's CSV reader, or None when it cannot read the file.

    About four times faster than pandas' reader and half its peak memory. It is used only
    when it reads the file exactly as pandas would (UTF-8, header row included as row 0,
    blank lines as rows of empty cells); any other file (ragged rows, bad bytes, a damaged
    archive) returns None, and :func:`_read_csv` lets pandas read it and word the problem.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(ARROW_MAX_COLUMNS)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, OSError, EOFError, ValueError, zlib.error):
        return None
    if table.num_rows == 0 or any(_text_dtype(t) is None for t in table.schema.types):
        return None
    cells = table.to_pandas(types_mapper=_text_dtype)
    cells.columns = pd.RangeIndex(cells.shape[1])
    return cells


def _read_csv(path: Path) -> pd.DataFrame:
    cells = _read_cells_arrow(path)
    try:
        cells = (
            cells
            if cells is not None
            else pd.read_csv(
                path,
                header=None,
                dtype=str,
                na_filter=False,
                keep_default_na=False,
                skip_blank_lines=False,
                encoding="utf-8-sig",
            )
        )
    except pd.errors.EmptyDataError as exc:
        raise UnusableInput(f"{path.name}: the file is empty (expected a header row)") from exc
    except UnicodeDecodeError as exc:
        raise UnusableInput(
            f"{path.name}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8"
        ) from exc
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise UnusableInput(
            f"{path.name}: the compressed file is damaged or cut short ({exc}); "
            "compress it again or import the plain .csv"
        ) from exc
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise UnusableInput(
            f"{path.name}: not a readable CSV file ({str(exc).strip()}); expected UTF-8 text, "
            "comma-separated, a header row, and as many fields on each row as in the header"
        ) from exc
    header = _normalise_header(cells.iloc[0].tolist(), path)
    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        raise UnusableInput(
            f"{path.name}: the header is one column {header[0]!r}; expected comma-separated "
            "columns (this looks like another separator)"
        )
    data = cells.iloc[1:]
    data.columns = header
    # Frame row i (header at 0) is spreadsheet row i + 1.
    data.index = pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(data), name="row_number")
    return data


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise UnusableInput(f"{path.name}: not a readable Parquet file: {exc}") from exc
    header = _normalise_header(arrow.column_names, path)
    columns = {}
    for name, raw_name in zip(header, arrow.column_names, strict=True):
        chunked = arrow.column(raw_name)
        try:
            text = pc.cast(chunked, pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as exc:
            raise UnusableInput(
                f"{path.name}: column {raw_name!r} has type {chunked.type}, which cannot be "
                "read as text; expected plain values (text, numbers, dates, booleans)"
            ) from exc
        columns[name] = pc.fill_null(text, "").to_pandas().astype(str)
    index = pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + arrow.num_rows, name="row_number")
    data = pd.DataFrame(columns, columns=header)
    data.index = index
    return data


def read_input(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file with every cell as text.

    Parameters
    ----------
    path : Path
        A ``.csv`` (UTF-8, comma-separated, header row; ``.csv.gz`` too) or ``.parquet``
        file.

    Returns
    -------
    DataFrame
        One column per header name (trimmed, lower-cased), every cell a string ('' when
        empty), indexed by ``row_number`` in spreadsheet numbering (first data row = 2).
        Rows whose cells are all empty are left out; the numbering of the others is kept.

    Raises
    ------
    UnusableInput
        The file is missing, of another format, cannot be parsed, or repeats a header name.
    """
    path = Path(path)
    if not path.is_file():
        raise UnusableInput(f"{path}: file not found")
    kind = _format_of(path)
    if kind is None:
        raise UnusableInput(f"{path.name}: unsupported format; expected a .csv or .parquet file")
    data = _read_csv(path) if kind == "csv" else _read_parquet(path)
    if data.shape[1] and len(data):
        blank = np.logical_and.reduce([(data[c].str.strip() == "").to_numpy() for c in data])
        data = data.loc[~blank]
    return data


# --------------------------------------------------------------------------------------
# Value checks (vectorised, one column at a time)
# --------------------------------------------------------------------------------------


def _quote(text: pd.Series, limit: int = 60) -> pd.Series:
    """Values as 'text' for messages, long ones shortened."""
    short = text.where(text.str.len() <= limit, text.str.slice(0, limit - 1) + "…")
    return "'" + short + "'"


def _fmt_ts(ts: pd.Series) -> pd.Series:
    """Timestamps as 'YYYY-MM-DD HH:MM' (with seconds when they are not zero)."""
    minutes = ts.dt.strftime("%Y-%m-%d %H:%M")
    seconds = ts.dt.strftime("%Y-%m-%d %H:%M:%S")
    exact = (ts.dt.second == 0) & (ts.dt.microsecond == 0)
    return minutes.where(exact, seconds)


Reason = str | Callable[[pd.Index], object]
"""A refusal reason: fixed text, or a function that words it for the given row positions."""


def _fault(mask: pd.Series, order: int, column: str, problem: str, reason: Reason) -> pd.DataFrame:
    """Fault records for the rows in ``mask``.

    ``reason`` is worded only for those rows, so clean rows cost no string formatting.
    """
    idx = mask.index[mask.to_numpy(dtype=bool)]
    if callable(reason):
        reasons = np.asarray(reason(idx), dtype=object) if len(idx) else []
    else:
        reasons = reason
    return pd.DataFrame(
        {"pos": idx, "order": order, "column": column, "problem": problem, "reason": reasons}
    )


def _value_says(name: str, text: pd.Series, message: str) -> Reason:
    """Reason "<name> '<value>' <message>" for the faulty rows."""
    return lambda idx: (name + " " + _quote(text.loc[idx]) + " " + message).to_numpy()


def _order_says(later: str, late: pd.Series, earlier: str, early: pd.Series) -> Reason:
    """Reason "<later> <time> UTC is before <earlier> <time> UTC" for the faulty rows."""

    def says(idx: pd.Index) -> np.ndarray:
        late_text, early_text = _fmt_ts(late.loc[idx]), _fmt_ts(early.loc[idx])
        return (
            f"{later} " + late_text + f" UTC is before {earlier} " + early_text + " UTC"
        ).to_numpy()

    return says


def plausible_range(today: pd.Timestamp | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(earliest, latest) timestamp an import accepts, naive UTC, both inclusive.

    From :data:`EARLIEST_TIMESTAMP` to the end of the day :data:`YEARS_AHEAD` years after
    ``today`` (default: today, UTC).
    """
    day = (today or pd.Timestamp.now(tz="UTC").tz_convert(None)).normalize()
    latest = day + pd.DateOffset(years=YEARS_AHEAD) + pd.Timedelta(days=1) - pd.Timedelta(1)
    return EARLIEST_TIMESTAMP, latest


def _timestamp_faults(
    name: str, order: int, text: pd.Series, present: pd.Series
) -> tuple[pd.Series, list[pd.DataFrame]]:
    """Parse a TIMESTAMP column; refuse unparseable, relative and implausible values."""
    values = _parse_timestamps(text.where(present))
    relative = present & text.str.lower().isin(RELATIVE_WORDS)
    earliest, latest = plausible_range()
    year = pd.to_numeric(text.str.extract(r"^(\d{4})-\d\d", expand=False), errors="coerce")
    far = present & ~relative & values.isna() & ((year < 1678) | (year > 2261))
    outside = present & ~relative & ((values < earliest) | (values > latest) | far)
    bad = present & ~relative & ~outside & values.isna()
    span = f"{earliest:%Y-%m-%d} .. {latest:%Y-%m-%d} UTC"
    faults = [
        _fault(
            bad,
            order,
            name,
            "not a timestamp",
            _value_says(name, text, f"is not an ISO 8601 timestamp ({TIMESTAMP_EXAMPLE})"),
        ),
        _fault(
            relative,
            order,
            name,
            "relative time",
            _value_says(name, text, "is a relative time; give the date and time it stands for"),
        ),
        _fault(
            outside,
            order,
            name,
            "implausible time",
            _value_says(name, text, f"is outside the accepted range {span}"),
        ),
    ]
    return values.where(~(relative | outside)), faults


def _shape_faults(col: Column, order: int, text: pd.Series, ok: pd.Series) -> list[pd.DataFrame]:
    """Refuse JSON values (already valid JSON) that do not have the column's shape."""
    if col.shape != "object of numbers" or not ok.any():
        return []

    def wrong(value: str) -> bool:
        data = json.loads(value)
        if not isinstance(data, dict):
            return True
        return any(
            isinstance(v, bool)
            or not isinstance(v, int | float)
            or v != v
            or abs(v) == float("inf")
            for v in data.values()
        )

    bad = pd.Series(False, index=text.index)
    bad.loc[ok] = [wrong(v) for v in text.loc[ok]]
    message = 'is not a JSON object of feature name to number (e.g. {"demo_request": 50})'
    return [_fault(bad, order, col.name, "wrong JSON shape", _value_says(col.name, text, message))]


def _parse_timestamps(text: pd.Series) -> pd.Series:
    """ISO 8601 text to naive UTC timestamps; NaT where it does not parse (never raises)."""
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    return parsed.dt.tz_convert(None)


def _json_valid(text: pd.Series) -> pd.Series:
    """True where the text is valid JSON (checked by DuckDB's ``json_valid``)."""
    frame = pd.DataFrame({"i": np.arange(len(text)), "v": text.to_numpy(dtype=object)})
    with duckdb.connect(":memory:") as con:
        con.register("json_frame", frame)
        ok = con.execute("SELECT coalesce(json_valid(v), false) FROM json_frame ORDER BY i")
        flags = np.array([r[0] for r in ok.fetchall()], dtype=bool)
    return pd.Series(flags, index=text.index)


def _check_column(col: Column, order: int, text: pd.Series) -> tuple[pd.Series, list[pd.DataFrame]]:
    """Parse one column and list its faults.

    ``text`` holds trimmed strings ('' = missing). Returns the typed values (missing and
    unparseable values as NA) and fault records.
    """
    name = col.name
    present = text != ""
    faults: list[pd.DataFrame] = []
    if col.required:
        faults.append(_fault(~present, order, name, "empty required value", f"{name} is empty"))
    number: pd.Series | None = None
    bad = pd.Series(False, index=text.index)
    problem = message = ""
    huge = present & (text.str.len() > MAX_FIELD_CHARS)
    if huge.any():
        faults.append(
            _fault(
                huge,
                order,
                name,
                "value too long",
                f"{name} is longer than {MAX_FIELD_CHARS:,} characters",
            )
        )
        present = present & ~huge
        text = text.where(~huge, "")
    if col.type == "TIMESTAMP":
        values, ts_faults = _timestamp_faults(name, order, text, present)
        faults += ts_faults
        bad = present & values.isna()
    elif col.type == "DATE":
        values = pd.to_datetime(text.where(present), format="%Y-%m-%d", errors="coerce")
        bad = present & values.isna()
        problem, message = "not a date", "is not a date YYYY-MM-DD"
    elif col.type == "TIME":
        bad = present & ~text.str.fullmatch(TIME_PATTERN).fillna(False).astype(bool)
        values = text.where(present & ~bad)
        problem, message = "not a time", "is not a time HH:MM or HH:MM:SS"
    elif col.type in ("INTEGER", "DOUBLE"):
        number = pd.to_numeric(text.where(present), errors="coerce").astype(float)
        fine = np.isfinite(number)
        if col.type == "INTEGER":
            fine &= (number == np.round(number)) & number.between(INT32_MIN, INT32_MAX)
            problem, message = "not a whole number", "is not a whole number"
        else:
            problem, message = "not a number", "is not a number"
        bad = present & ~fine
        values = number.where(present & ~bad)
        if col.type == "INTEGER":
            values = values.astype("Int64")
    elif col.type == "BOOLEAN":
        lower = text.str.lower()
        bad = present & ~lower.isin(list(BOOLEAN_WORDS))
        values = lower.map(BOOLEAN_WORDS).astype("boolean")
        problem, message = "not yes/no", "is not one of yes/no/true/false/1/0"
    elif col.type == "JSON":
        bad = present.copy()
        if present.any():
            bad.loc[present] = ~_json_valid(text.loc[present])
        values = text.where(present & ~bad)
        problem, message = "not JSON", "is not valid JSON"
    else:  # text: share the input's memory when nothing is missing (copy-on-write)
        values = text if present.all() else text.where(present)
    if problem:
        faults.append(_fault(bad, order, name, problem, _value_says(name, text, message)))
    ok = present & ~bad
    if col.type == "JSON":
        faults += _shape_faults(col, order, text, ok)
    if col.allowed is not None:
        outside = ok & ~text.isin(list(col.allowed))
        says = _value_says(name, text, "is not one of: " + ", ".join(col.allowed))
        faults.append(_fault(outside, order, name, "value not allowed", says))
    if col.minimum is not None and number is not None:
        low = ok & (number < col.minimum)
        says = _value_says(name, text, f"is below the minimum {col.minimum:g}")
        faults.append(_fault(low, order, name, "below minimum", says))
    return values, faults


FAULT_COLUMNS = ["pos", "order", "column", "problem", "reason"]


def _concat_faults(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate fault records, skipping empty ones (keeps dtypes stable)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(
            {
                c: pd.Series(dtype="int64" if c in ("pos", "order") else object)
                for c in FAULT_COLUMNS
            }
        )
    return pd.concat(frames, ignore_index=True)


@dataclass
class Part:
    """One file's rows for one table after reading and the value checks.

    Attributes
    ----------
    table : Table
        The history table the rows go to.
    file : str
        The file name used in refusals.
    raw : DataFrame
        The input rows as text, indexed by spreadsheet row number; a refused row is
        stored in ``import_rejects.raw`` as these cells joined as CSV.
    values : DataFrame
        Typed values per schema column, positional index (0..n-1, in ``raw`` order).
    faults : DataFrame
        Fault records (``pos``, ``order``, ``column``, ``problem``, ``reason``).
    follows : str, optional
        For rows derived from another table's row of the same file and row number (a
        flat export's stage entries derive from its lead row): when that row is refused
        in table ``follows``, this row is dropped (neither accepted nor refused).
    sources : dict of str to str, optional
        Schema column -> the input column it was read from, when they differ; refusals
        then name the input column and quote it in front of the reason.
    """

    table: Table
    file: str
    raw: pd.DataFrame
    values: pd.DataFrame
    faults: pd.DataFrame
    follows: str | None = None
    sources: dict[str, str] | None = None


def _trimmed(text: pd.Series) -> pd.Series:
    """``text`` without surrounding spaces; the same series (no copy) when none has any."""
    stripped = text.str.strip()
    return text if stripped.equals(text) else stripped


def check_file(table: Table, file: str, raw: pd.DataFrame) -> Part:
    """Parse every schema column of one file and collect the value faults.

    ``raw`` holds the file's cells as text (see :func:`read_input`); columns the table
    does not have are ignored and missing ones read as empty.
    """
    n = len(raw)
    positions = pd.RangeIndex(n)
    values = pd.DataFrame(index=positions)
    faults: list[pd.DataFrame] = []
    for order, col in enumerate(table.columns):
        if col.name in raw.columns:
            text = _trimmed(raw[col.name].reset_index(drop=True))
        else:
            text = pd.Series("", index=positions, dtype=str)
        values[col.name], col_faults = _check_column(col, order, text)
        faults += col_faults
    for later, earlier in ORDER_RULES.get(table.name, ()):
        before = values[later].notna() & values[earlier].notna()
        before &= values[later] < values[earlier]
        says = _order_says(later, values[later], earlier, values[earlier])
        order = table.column_names.index(later)
        faults.append(_fault(before, order, later, f"{later} before {earlier}", says))
    return Part(table, file, raw, values, _concat_faults(faults))


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

    def __post_init__(self) -> None:
        frames, faults, offset = [], [], 0
        for i, part in enumerate(self.parts):
            v = part.values.copy(deep=False)  # copy-on-write: columns are shared, not copied
            v.index = v.index + offset
            v["_part"] = i
            v["_row"] = part.raw.index.to_numpy()
            frames.append(v)
            f = part.faults.copy()
            f["pos"] = f["pos"] + offset
            faults.append(f)
            offset += len(part.values)
        self.values = pd.concat(frames)
        self.faults = _concat_faults(faults)

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
    f = batch.faults.sort_values(["pos", "order"], kind="stable")
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


def _concat_refused(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=REFUSED_COLUMNS)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def _upsert(con: duckdb.DuckDBPyConnection, table: Table, rows: pd.DataFrame) -> None:
    """Delete stored rows whose key matches one of ``rows``, then insert ``rows``."""
    staged = rows[table.column_names].reset_index(drop=True)
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


def import_files(
    db: Path | str,
    files: Sequence[Path | str],
    *,
    table: str | None = None,
    strict: bool = False,
    progress: Callable[[str], None] | None = None,
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
    say = progress or (lambda _step: None)
    started = datetime.now(UTC).replace(tzinfo=None)
    paths = [Path(f) for f in files]
    if not paths:
        raise UnusableInput("no files to import")
    shown = shown_names(paths)

    # 1. Read everything first: unusable input stops the batch before any write. Cheap
    # checks (file exists, known format, known table) come before reading any file.
    for path in paths:
        if not path.is_file():
            raise UnusableInput(f"{path}: file not found")
        if _format_of(path) is None:
            raise UnusableInput(
                f"{path.name}: unsupported format; expected a .csv or .parquet file"
            )
    targets = [table_for_file(path, table) for path in paths]
    notes: list[str] = []
    parts: list[Part] = []
    for path, file, name in zip(paths, shown, targets, strict=True):
        spec = TABLES[name]
        raw = read_input(path)
        missing = [c.name for c in spec.columns if c.required and c.name not in raw.columns]
        if missing:
            raise UnusableInput(
                f"{file}: missing required column(s) for table {name}: {', '.join(missing)} "
                f"(the header has: {', '.join(raw.columns) or 'nothing'})"
            )
        extra = [c for c in raw.columns if c not in spec.column_names]
        if extra:
            note = f"{file}: ignored column(s) that {name} does not have: {', '.join(extra)}"
            notes.append(note)
            say(note)
        parts.append(check_file(spec, file, raw))
        say(f"read {file}: {len(raw):,} rows for {name}")
    return apply_parts(
        db,
        parts,
        files=shown,
        notes=notes,
        strict=strict,
        progress=progress,
        started=started,
    )


def shown_names(paths: Sequence[Path]) -> list[str]:
    """How refusals name each file: its name, or its path when two files share a name."""
    names = [p.name for p in paths]
    return [str(p) if names.count(p.name) > 1 else p.name for p in paths]


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

    Returns
    -------
    ImportResult
    """
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

    def check(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
        nonlocal refused
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
        for name, batch in by_table.items():
            gone = dropped.get(name)
            if gone is not None:
                batch.faults = batch.faults.loc[~batch.faults["pos"].isin(gone)]
                batch.values = batch.values.drop(index=gone)
            clean = batch.clean()
            keep[name] = batch.values if clean.all() else batch.values.loc[clean]
            refused_frames.append(_refusals(batch))
            accepted[name] = len(keep[name])
            say(
                f"checked {name}: {accepted[name]:,} accepted, "
                f"{len(batch.values) - accepted[name]:,} refused"
            )
        refused = _concat_refused(refused_frames)
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
        return ImportResult(batch_id, accepted, refused, False, notes)
    try:
        with store.write_session(db, create=True) as con:
            keep = check(con)
            if strict and len(refused):
                raise _StrictRefusal
            # Write: upserts, rejects, the batch record.
            for name, rows in keep.items():
                if len(rows):
                    _upsert(con, TABLES[name], rows)
            if len(refused):
                con.register("rejects_frame", refused.assign(batch_id=batch_id))
                con.execute(INSERT_REJECTS_SQL)
                con.unregister("rejects_frame")
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
    except _StrictRefusal:
        say(f"strict: {len(refused):,} rows refused, nothing written")
        return ImportResult(batch_id, dict.fromkeys(accepted, 0), refused, False, notes)
    say(f"wrote batch {batch_id}: {sum(accepted.values()):,} rows, {len(refused):,} refused")
    return ImportResult(batch_id, accepted, refused, True, notes)
