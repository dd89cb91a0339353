"""Reading a flat export and parsing its values: missing cells, ids, numbers, counts.

Every cell is read as text (:func:`read_export`); these helpers turn text into the
native importer's text forms, so the native value checks (:mod:`analysis.imports.ingest`)
run unchanged on the derived rows.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.imports import ingest
from analysis.imports.flat.vocab import PLACEHOLDERS

_NUMBER_RE = r"^[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?$|^[+-]?\.\d+$"
_EMPLOYEES_RE = r"^(?P<low>\d{1,3}(?:[,.]\d{3})+|\d+)\s*(?:(?:-|–|to)\s*[\d,.]+|\+)?$"


def read_export(path: Path | str) -> pd.DataFrame:
    """Read a flat export (CSV or Parquet) with every cell as text and the header as written.

    Rows are indexed by spreadsheet row number (header = row 1); rows whose cells are all
    empty are left out. Raises :class:`~analysis.ingest.UnusableInput` like
    :func:`analysis.ingest.read_input`.
    """
    path = Path(path)
    data = ingest.read_input(path)
    original = _original_header(path, len(data.columns))
    if original is not None:
        data.columns = original
    return data


def _original_header(path: Path, n: int) -> list[str] | None:
    name = path.name.lower()
    try:
        if name.endswith(ingest.PARQUET_SUFFIXES):
            import pyarrow.parquet as pq

            names = pq.read_schema(path).names
        elif name.endswith(".csv"):
            with open(path, encoding="utf-8-sig", newline="") as fh:
                names = next(csv.reader(fh), [])
        else:
            return None
    except (OSError, ValueError, StopIteration):
        return None
    names = [str(c).strip() or f"unnamed_{i + 1}" for i, c in enumerate(names)]
    return names if len(names) == n else None


def missing_mask(text: pd.Series, extra: Sequence[str] = ()) -> pd.Series:
    """True where a cell is missing: empty, or a placeholder (:data:`PLACEHOLDERS`)."""
    words = PLACEHOLDERS | {str(p).strip().lower() for p in extra}
    return text.str.strip().str.lower().isin(list(words))


def clean_ids(text: pd.Series) -> pd.Series:
    """Ids as text: trimmed, and ``12345.0`` (a spreadsheet's float) read as ``12345``."""
    out = text.str.strip()
    floaty = out.str.fullmatch(r"\d+\.0+").fillna(False).astype(bool)
    return out.where(~floaty, out.str.replace(r"\.0+$", "", regex=True))


def parse_number(text: pd.Series) -> pd.Series:
    """Numbers from text such as ``1,234.5``, ``$1,200``, ``-3``, ``12%``; NaN otherwise."""
    t = text.str.strip()
    plain = t.str.fullmatch(r"[+-]?\d+(?:\.\d+)?").fillna(False).astype(bool)
    num = pd.to_numeric(t.where(plain), errors="coerce").astype(float)
    rest = ~plain & t.str.contains(r"\d", regex=True).fillna(False).astype(bool)
    if rest.any():  # the slow path only for decorated numbers
        r = t[rest].str.replace(r"^[$€£¥]\s*|\s*[$€£¥]$|\s*%$", "", regex=True)
        r = r.str.replace(r"^([+-]?)[$€£¥]\s*", r"\1", regex=True)
        ok = r.str.fullmatch(_NUMBER_RE).fillna(False).astype(bool)
        more = pd.to_numeric(r.where(ok).str.replace(",", "", regex=False), errors="coerce")
        num.loc[rest] = more.astype(float)
    return num.where(np.isfinite(num))


def parse_employees(text: pd.Series) -> pd.Series:
    """Employee counts from text; NaN where the text is not a count.

    A range or band gives its lower bound (``51-200`` -> 51, ``10,001+`` -> 10001), and
    ``1,000`` / ``1.000`` are a thousand.
    """
    m = text.str.strip().str.extract(_EMPLOYEES_RE, expand=True)
    low = m["low"].str.replace(r"[,.]", "", regex=True)
    return pd.to_numeric(low, errors="coerce").astype(float)


def _number_text(v: float) -> str:
    """A parsed number as text for the native checks ('' for NaN): 48000, -500, 0.25."""
    if v != v:
        return ""
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def _iso(ts: pd.Series) -> pd.Series:
    """Naive UTC timestamps as ISO text for the native checks; '' where NaT."""
    text = ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text.where(ts.notna(), "").astype(object).fillna("")
