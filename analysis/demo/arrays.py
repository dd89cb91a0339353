"""Shared state of one generation run and the small vectorised helpers every step uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import numpy as np
import pyarrow as pa

DAY = 86_400
Progress = Callable[[str], None]


class _World:
    """Shared state of one generation run: the generator, the time window, progress."""

    def __init__(
        self, rng: np.random.Generator, start_s: int, cutoff_s: int, months: int, say: Progress
    ) -> None:
        self.rng = rng
        self.start_s = start_s
        self.cutoff_s = cutoff_s
        self.months = months
        self.say = say
        self.breach_team = ""
        self.breach_months: list[str] = []
        self.breach_month_index: list[int] = []


def _epoch(moment: date | datetime) -> int:
    """Seconds since 1970-01-01 of a naive UTC date or datetime."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return int((moment - datetime(1970, 1, 1)).total_seconds())


def _month_start(day: date, back: int) -> date:
    """First day of the month ``back`` months before the month of ``day``."""
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def _month_index(seconds: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each timestamp (seconds since epoch)."""
    return seconds.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)


def _draw(rng: np.random.Generator, group: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row, from the probability row of that row's group.

    ``probs`` has shape (groups, categories) with non-negative rows (normalised here);
    ``group`` holds each row's group index. Cumulative rows are laid end to end, shifted by
    the group index, so one ``searchsorted`` serves every group at once.
    """
    probs = np.asarray(probs, dtype=float)
    g, k = probs.shape
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    flat = (np.arange(g)[:, None] + cum).ravel()
    u = rng.random(len(group))
    pos = np.searchsorted(flat, group + u, side="right") - group.astype(np.int64) * k
    return np.clip(pos, 0, k - 1).astype(np.int16)


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def _lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: float, n: int):
    """Log-normal draws with the given median(s)."""
    return np.asarray(median) * np.exp(sigma * rng.standard_normal(n))


def _group_cumsum(x: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum of ``x`` restarted at each group start (groups laid out contiguously).

    ``starts`` and ``counts`` give each group's first position and length; empty groups are
    allowed.
    """
    c = np.cumsum(x)
    if len(x) == 0:
        return c
    before = np.take(c - x, starts, mode="clip")
    return c - np.repeat(before, counts)


def _dict_array(codes: np.ndarray, labels, mask: np.ndarray | None = None) -> pa.Array:
    """Arrow dictionary array (DuckDB reads it as VARCHAR) from integer codes."""
    labels = list(labels)
    itype = np.int8 if len(labels) < 127 else (np.int16 if len(labels) < 32_000 else np.int32)
    idx = pa.array(np.asarray(codes).astype(itype), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(labels, pa.string()))


def _ts(seconds: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Arrow timestamp array from seconds since epoch."""
    return pa.array(np.asarray(seconds, dtype=np.int64).astype("datetime64[s]"), mask=mask)
