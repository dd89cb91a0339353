"""Compare what the engine returns on DuckDB with what it returns on Spark.

Exactness, stated once:

- counts, labels, dates, booleans: identical;
- floats (rates, intervals, amounts, minutes, quantiles): within :data:`REL` relative or
  :data:`ABS` absolute. Spark's ``percentile`` is exact and interpolates like DuckDB's
  ``quantile_cont``; the two engines may add the same numbers in another order, which
  moves the last bits of a sum, hence the tolerance rather than equality;
- rows of a frame: the same rows; when the query gives no order, after sorting both on
  their non-float columns.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

REL = 1e-9
"""Relative tolerance for floats."""
ABS = 1e-9
"""Absolute tolerance for floats near zero."""


def _is_nan(x: Any) -> bool:
    try:
        return x is None or x is pd.NaT or (isinstance(x, float) and math.isnan(x)) or pd.isna(x)
    except (TypeError, ValueError):
        return False


def _scalar(a: Any) -> Any:
    if isinstance(a, np.generic):
        a = a.item()
    if isinstance(a, pd.Timestamp):
        a = a.to_pydatetime()
    if isinstance(a, datetime) and a.tzinfo is not None:
        a = a.replace(tzinfo=None)
    return a


def same_scalar(a: Any, b: Any) -> bool:
    """Whether two cell values agree (floats within tolerance, NULL equals NULL)."""
    a, b = _scalar(a), _scalar(b)
    if isinstance(a, list | tuple | np.ndarray) or isinstance(b, list | tuple | np.ndarray):
        if not (
            isinstance(a, list | tuple | np.ndarray) and isinstance(b, list | tuple | np.ndarray)
        ):
            return False
        return len(a) == len(b) and all(same_scalar(x, y) for x, y in zip(a, b, strict=True))
    if _is_nan(a) or _is_nan(b):
        return _is_nan(a) and _is_nan(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        return math.isclose(a, b, rel_tol=REL, abs_tol=ABS)
    if isinstance(a, datetime) and isinstance(b, date) and not isinstance(b, datetime):
        return False
    return a == b


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in df.columns if not pd.api.types.is_float_dtype(df[c])]
    if not keys or df.empty:
        return df.reset_index(drop=True)
    text = df[keys].astype(str)
    order = np.lexsort([text[c].to_numpy() for c in reversed(keys)])
    return df.iloc[order].reset_index(drop=True)


def frame_differences(a: pd.DataFrame, b: pd.DataFrame, where: str) -> list[str]:
    """Differences between two frames (columns, row count, then cell by cell)."""
    if list(a.columns) != list(b.columns):
        return [f"{where}: columns {list(a.columns)} vs {list(b.columns)}"]
    if len(a) != len(b):
        return [f"{where}: {len(a)} rows vs {len(b)}"]
    out = []
    for ordered in (False, True):
        x, y = (
            (_sorted(a), _sorted(b))
            if ordered
            else (a.reset_index(drop=True), b.reset_index(drop=True))
        )
        out = [
            f"{where}[{i}, {c!r}]: {x.at[i, c]!r} vs {y.at[i, c]!r}"
            for c in x.columns
            for i in range(len(x))
            if not same_scalar(x.at[i, c], y.at[i, c])
        ]
        if not out:
            return []
    return out[:20]


def differences(a: Any, b: Any, where: str = "result") -> list[str]:
    """Every place where ``a`` (DuckDB) and ``b`` (Spark) disagree, as readable lines."""
    if isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame):
        return frame_differences(a, b, where)
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        return frame_differences(a.to_frame(), b.to_frame(), where)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        if type(a) is not type(b):
            return [f"{where}: {type(a).__name__} vs {type(b).__name__}"]
        return [
            d
            for f in dataclasses.fields(a)
            for d in differences(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
        ]
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(map(str, set(a) ^ set(b)))} differ"]
        return [d for k in a for d in differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items vs {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{where}[{i}]")
        ]
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.shape != b.shape:
            return [f"{where}: shape {a.shape} vs {b.shape}"]
        if a.dtype.kind in "fc" and b.dtype.kind in "fc":
            ok = np.isclose(a, b, rtol=REL, atol=ABS, equal_nan=True)
            bad = np.argwhere(~ok)
            return [f"{where}{tuple(i)}: {a[tuple(i)]!r} vs {b[tuple(i)]!r}" for i in bad[:10]]
        flat_a, flat_b = a.ravel(), b.ravel()
        bad = [i for i in range(flat_a.size) if not same_scalar(flat_a[i], flat_b[i])]
        return [f"{where}[{i}]: {flat_a[i]!r} vs {flat_b[i]!r}" for i in bad[:10]]
    if callable(a) and callable(b):
        return []
    return [] if same_scalar(a, b) else [f"{where}: {a!r} vs {b!r}"]
