"""Reading native files: CSV (also ``.csv.gz``) or Parquet, every cell as text.

:func:`read_input` returns a file's cells as strings with spreadsheet row numbers;
:func:`table_for_file` says which history table a file is for. A file that cannot be used
at all raises :class:`UnusableInput` before anything is written.
"""

from __future__ import annotations

import contextlib
import gzip
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.store import TABLES

FIRST_DATA_ROW = 2
"""Row number of the first data row: the header is row 1, as in a spreadsheet."""

CSV_SUFFIXES = (".csv", ".csv.gz")
ARROW_MAX_COLUMNS = 2_000
"""Files with more columns than this are read by pandas' slower CSV reader."""
PARQUET_SUFFIXES = (".parquet", ".pq")


class UnusableInput(Exception):
    """A file the import cannot use at all; raised before anything is written."""


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


PANDAS_CSV_TEXT: dict[str, object] = {
    "header": None,
    "dtype": str,
    "na_filter": False,
    "keep_default_na": False,
    "skip_blank_lines": False,
    "encoding": "utf-8-sig",
}
"""pandas' CSV options for reading every cell as text, header row included."""


@contextlib.contextmanager
def _csv_errors(path: Path) -> Iterator[None]:
    """Turn a CSV reader's failure into :class:`UnusableInput` worded for the user."""
    try:
        yield
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


def _csv_header(cells: pd.DataFrame, path: Path) -> list[str]:
    """The checked header (first row of ``cells``); refuses a one-column other-separator file."""
    header = _normalise_header(cells.iloc[0].tolist(), path)
    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        raise UnusableInput(
            f"{path.name}: the header is one column {header[0]!r}; expected comma-separated "
            "columns (this looks like another separator)"
        )
    return header


def _read_csv(path: Path) -> pd.DataFrame:
    cells = _read_cells_arrow(path)
    if cells is None:
        with _csv_errors(path):
            cells = pd.read_csv(path, **PANDAS_CSV_TEXT)
    header = _csv_header(cells, path)
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


def shown_names(paths: Sequence[Path]) -> list[str]:
    """How refusals name each file: its name, or its path when two files share a name."""
    names = [p.name for p in paths]
    return [str(p) if names.count(p.name) > 1 else p.name for p in paths]


# --------------------------------------------------------------------------------------
# Streaming: a file read in chunks, so an import holds one chunk of text at a time
# --------------------------------------------------------------------------------------

CHUNK_ROWS = 250_000
"""Rows per chunk when an import streams a file (see :func:`open_input`)."""


class _ArrowCannot(Exception):
    """Internal: pyarrow's reader cannot read this file as pandas would; use pandas."""


def _arrow_cell_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Cells as text (header row included as row 0), by pyarrow's streaming CSV reader.

    Raises :class:`_ArrowCannot` where :func:`_read_cells_arrow` would return None.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    def frame(batches: list[pa.RecordBatch]) -> pd.DataFrame:
        cells = pa.Table.from_batches(batches).to_pandas(types_mapper=_text_dtype)
        cells.columns = pd.RangeIndex(cells.shape[1])
        return cells

    try:
        reader = pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(ARROW_MAX_COLUMNS)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        if any(_text_dtype(t) is None for t in reader.schema.types):
            raise _ArrowCannot
        pending: list[pa.RecordBatch] = []
        rows = total = 0
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            # The first chunk is one block: the header is known before much is read.
            if rows >= chunk_rows or total == 0:
                total += rows
                yield frame(pending)
                pending, rows = [], 0
        if pending and rows:
            total += rows
            yield frame(pending)
        if total == 0:
            raise _ArrowCannot
    except (pa.ArrowException, OSError, EOFError, ValueError, zlib.error) as exc:
        raise _ArrowCannot from exc


def _pandas_cell_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Cells as text (header row included), by pandas' chunked reader; words its failures."""
    with _csv_errors(path), pd.read_csv(path, **PANDAS_CSV_TEXT, chunksize=chunk_rows) as reader:
        yield from reader


def _csv_cell_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Cells as text in chunks: pyarrow when it can, else pandas from where pyarrow stopped."""
    done = 0
    try:
        for cells in _arrow_cell_chunks(path, chunk_rows):
            done += len(cells)
            yield cells
        return
    except _ArrowCannot:
        pass
    skip = done  # rows pyarrow already gave; pandas re-reads them to word the problem
    for cells in _pandas_cell_chunks(path, chunk_rows):
        if skip >= len(cells):
            skip -= len(cells)
            continue
        yield cells.iloc[skip:]
        skip = 0


def _parquet_chunks(path: Path, chunk_rows: int) -> tuple[list[str], Iterator[pd.DataFrame]]:
    """Header and text chunks of a Parquet file, read by record batches."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
        names = source.schema_arrow.names
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise UnusableInput(f"{path.name}: not a readable Parquet file: {exc}") from exc
    header = _normalise_header(names, path)
    for raw_name, field in zip(names, source.schema_arrow, strict=True):
        try:
            pc.cast(pa.array([], type=field.type), pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as exc:
            raise UnusableInput(
                f"{path.name}: column {raw_name!r} has type {field.type}, which cannot be "
                "read as text; expected plain values (text, numbers, dates, booleans)"
            ) from exc

    def chunks() -> Iterator[pd.DataFrame]:
        try:
            for batch in source.iter_batches(batch_size=chunk_rows):
                columns = {}
                for name, raw_name in zip(header, names, strict=True):
                    text = pc.cast(batch.column(raw_name), pa.string())
                    columns[name] = pc.fill_null(text, "").to_pandas().astype(str)
                yield pd.DataFrame(columns, columns=header)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise UnusableInput(f"{path.name}: not a readable Parquet file: {exc}") from exc

    return header, chunks()


def open_input(
    path: Path, chunk_rows: int | None = None
) -> tuple[list[str], Iterator[pd.DataFrame]]:
    """Open a CSV or Parquet file for reading in chunks, every cell as text.

    Parameters
    ----------
    path : Path
        As for :func:`read_input`.
    chunk_rows : int, optional
        Input rows per chunk (default :data:`CHUNK_ROWS`).

    Returns
    -------
    tuple of (list of str, iterator of DataFrame)
        The normalised header (read now), and the data in chunks as :func:`read_input`
        returns it: the same columns, the same spreadsheet row numbers (counted across the
        whole file), all-empty rows left out. A problem found later in the file raises
        :class:`UnusableInput` from the iterator.

    Raises
    ------
    UnusableInput
        As for :func:`read_input`, for problems found at the start of the file.
    """
    path = Path(path)
    size = chunk_rows or CHUNK_ROWS
    if not path.is_file():
        raise UnusableInput(f"{path}: file not found")
    kind = _format_of(path)
    if kind is None:
        raise UnusableInput(f"{path.name}: unsupported format; expected a .csv or .parquet file")
    if kind == "parquet":
        header, frames = _parquet_chunks(path, size)
        first: pd.DataFrame | None = None
    else:
        cells = _csv_cell_chunks(path, size)
        first = next(cells, None)
        if first is None or len(first) == 0:
            raise UnusableInput(f"{path.name}: the file is empty (expected a header row)")
        header = _csv_header(first, path)
        first = first.iloc[1:]
        frames = cells

    def chunks() -> Iterator[pd.DataFrame]:
        start = FIRST_DATA_ROW
        pending = [first] if first is not None else []
        for data in _pieces(_chain(pending, frames), size):
            data = data.copy(deep=False)
            data.columns = header
            data.index = pd.RangeIndex(start, start + len(data), name="row_number")
            start += len(data)
            if data.shape[1] and len(data):
                blank = np.logical_and.reduce(
                    [(data[c].str.strip() == "").to_numpy() for c in data]
                )
                data = data.loc[~blank]
            yield data

    return header, chunks()


def _chain(first: list[pd.DataFrame], rest: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    yield from first
    yield from rest


def _pieces(frames: Iterator[pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
    """The frames cut into pieces of at most ``size`` rows (an empty frame stays one)."""
    for whole in frames:
        for at in range(0, max(len(whole), 1), size):
            yield whole.iloc[at : at + size]
