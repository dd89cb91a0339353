"""Axis steps for small and large time series: one label per period, whole-number counts."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

_MONTHS_PER_TICK = (1, 2, 3, 6, 12)


def time_axis(fig: go.Figure, grain: str, periods: int, **where: Any) -> go.Figure:
    """One tick per period (or every few periods) on a time x axis: never a repeated label.

    Plotly's automatic ticks fall between whole periods when there are few of them, which
    prints ``Oct 2026, Oct 2026, Nov 2026`` for two months; fixed steps by ``grain`` avoid it.
    ``where`` selects subplots (``row=``, ``col=``), as in ``fig.update_xaxes``.
    """
    periods = max(periods, 1)
    if grain in ("month", "quarter", "year"):
        size = {"month": 1, "quarter": 3, "year": 12}[grain]
        step = next((m for m in _MONTHS_PER_TICK if periods * size / m <= 8), 12)
        fig.update_xaxes(
            dtick=f"M{max(step, size)}", tickformat="%b<br>%Y", ticklabelmode="instant", **where
        )
    else:
        days = 7 if grain == "week" else 1
        step = max(1, -(-periods // 8)) * days
        fig.update_xaxes(dtick=step * 86_400_000, tickformat="%d %b<br>%Y", **where)
    return fig


def count_axis(fig: go.Figure, top: float, **where: Any) -> go.Figure:
    """Whole-number ticks on a count y axis: small counts step by 1 (never ``1, 1, 1, 0``)."""
    top = float(top) if top and not np.isnan(top) else 0.0
    if top <= 5:
        fig.update_yaxes(dtick=1, range=[0, max(top, 1) * 1.15], tickformat=",d", **where)
    else:
        fig.update_yaxes(rangemode="tozero", tickformat=",d", **where)
    return fig
