"""Built figures are reused for equal data and rebuilt for changed data."""

from __future__ import annotations

import pandas as pd

from dashboard.charts import funnel as charts
from dashboard.charts.memo import figure_cache, value_key


def _counts(mql: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stage": ["lead", "mql"],
            "count": [100, mql],
            "entered": [100, mql],
            "next_stage": ["mql", None],
            "k": [mql, float("nan")],
            "n": [100, float("nan")],
            "rate": [mql / 100, float("nan")],
            "low": [0.1, float("nan")],
            "high": [0.3, float("nan")],
        }
    )


def test_equal_frames_give_the_same_figure_and_changed_ones_a_new_one() -> None:
    """Two separately built but equal frames return the one figure built first (no
    rebuild); a frame with one number changed (20 -> 21 MQLs) gets a new figure, whose
    JSON is what the undecorated builder makes."""
    first = charts.basis_funnel_chart(_counts(20), "Entered", "September 2026")
    again = charts.basis_funnel_chart(_counts(20), "Entered", "September 2026")
    assert again is first
    changed = charts.basis_funnel_chart(_counts(21), "Entered", "September 2026")
    assert changed is not first
    fresh = charts.basis_funnel_chart.__wrapped__(_counts(21), "Entered", "September 2026")
    assert changed.to_json() == fresh.to_json()
    relabelled = charts.basis_funnel_chart(_counts(20), "Entered", "October 2026")
    assert relabelled is not first


def test_keys_tell_frames_apart_by_values_columns_and_dtypes() -> None:
    """Frames equal in values but not in a column name or dtype have different keys; a
    NaN equals a NaN; lists and dicts of frames are keyed by their content."""
    a = pd.DataFrame({"x": [1, 2]})
    assert value_key(a) == value_key(pd.DataFrame({"x": [1, 2]}))
    assert value_key(a) != value_key(pd.DataFrame({"y": [1, 2]}))
    assert value_key(a) != value_key(pd.DataFrame({"x": [1.0, 2.0]}))
    nan = pd.DataFrame({"x": [float("nan")]})
    assert value_key(nan) == value_key(nan.copy())
    assert value_key({("mql", "sql"): a}) == value_key({("mql", "sql"): a.copy()})
    assert value_key([a]) != value_key([a.assign(x=[1, 3])])


def test_the_cache_keeps_the_most_recent_figures_only() -> None:
    """After more distinct calls than it keeps, the oldest is built again."""
    built = []

    @figure_cache
    def build(n: int) -> list[int]:
        built.append(n)
        return [n]

    for n in range(40):
        build(n)
    build(39)
    assert built.count(39) == 1
    build(0)
    assert built.count(0) == 2
