"""Built figures kept across reruns: a chart whose data did not change is not rebuilt.

Building and styling a plotly figure costs about a tenth of a second here (validation of
every property); a rerun caused by a control that does not touch a chart's data (another
tab, a breakdown, a reload) would rebuild it all the same. :func:`figure_cache` keys a
builder's figure on the *values* of its arguments (a DataFrame by its columns, dtypes and
a hash of its rows and index) and returns the figure built for equal arguments before.

The figure is shared between reruns and sessions, so callers must not change it beyond
what is the same for equal arguments (``dashboard.display.chart`` sets the summary the
same arguments always give).
"""

from __future__ import annotations

import functools
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

F = TypeVar("F", bound=Callable[..., Any])

MAX_FIGURES = 32
"""Figures kept per builder (least recently used dropped first)."""


def value_key(value: Any) -> Any:
    """A hashable key equal for equal values (frames by content, not identity)."""
    if isinstance(value, pd.DataFrame | pd.Series):
        frame = value.to_frame() if isinstance(value, pd.Series) else value
        try:
            rows = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
        except TypeError:  # unhashable cells (lists): fall back to the pickled frame
            rows = pickle.dumps(frame)
        return (
            type(value).__name__,
            tuple(map(str, frame.columns)),
            tuple(map(str, frame.dtypes)),
            rows,
        )
    if isinstance(value, dict):
        return ("dict", tuple((value_key(k), value_key(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(value_key(v) for v in value))
    try:
        hash(value)
    except TypeError:
        return ("pickle", pickle.dumps(value))
    return (type(value).__name__, value)


def figure_cache(fn: F) -> F:
    """Decorate a figure builder so equal arguments return the figure built before."""
    store: OrderedDict[Any, Any] = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = (value_key(args), value_key(sorted(kwargs.items())))
        with lock:
            if key in store:
                store.move_to_end(key)
                return store[key]
        fig = fn(*args, **kwargs)
        with lock:
            store[key] = fig
            while len(store) > MAX_FIGURES:
                store.popitem(last=False)
        return fig

    wrapper.cache_clear = store.clear  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
