"""Colour contrast, settled once: the shipped Streamlit theme and the house plotly layout.

WCAG AA asks 4.5:1 for text. The ratios are computed here from the colours themselves
(relative luminance, WCAG 2.x), so a colour change that breaks them fails this test before
any browser runs (tests/dashboard/test_e2e_accessibility.py checks the rendered pages).
"""

from __future__ import annotations

import tomllib

import plotly.graph_objects as go
import pytest

from dashboard.charts import common
from dashboard.charts import rejections as rejection_charts
from dashboard.charts import sla as sla_charts
from tests.paths import ROOT

CONFIG = ROOT / "dashboard" / ".streamlit" / "config.toml"
AA = 4.5
CAPTION_ALPHA = 0.6
"""Streamlit draws captions and help text in the text colour at 60% over the background."""


def luminance(hex_color: str) -> float:
    h = hex_color.lstrip("#")
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str = "#ffffff") -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def blend(fg: str, alpha: float, bg: str = "#ffffff") -> str:
    f, g = fg.lstrip("#"), bg.lstrip("#")
    mix = [
        round(alpha * int(f[i : i + 2], 16) + (1 - alpha) * int(g[i : i + 2], 16))
        for i in (0, 2, 4)
    ]
    return "#" + "".join(f"{c:02x}" for c in mix)


def test_known_ratios() -> None:
    """The formula gives the published values: black on white 21:1, #777 on white 4.48:1;
    Streamlit's default caption grey #828180 is 3.9:1 (what the issue measured)."""
    assert contrast("#000000") == pytest.approx(21.0)
    assert contrast("#777777") == pytest.approx(4.48, abs=0.01)
    assert contrast("#828180") == pytest.approx(3.88, abs=0.01)


def test_theme_captions_and_links_reach_aa() -> None:
    """With the shipped text colour, captions (60% of it over white) reach 4.5:1, and so do
    body text and links."""
    theme = tomllib.loads(CONFIG.read_text())["theme"]
    text, background = theme["textColor"], theme["backgroundColor"]
    assert contrast(blend(text, CAPTION_ALPHA, background), background) >= AA
    assert contrast(text, background) >= AA
    assert contrast(theme["linkColor"], background) >= AA


def test_theme_ships_with_the_package() -> None:
    """The config beside dashboard/app.py is package data, so a wheel install (handoff demo
    in any folder) gets the same theme as `make demo` and the tests."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert ".streamlit/config.toml" in meta["tool"]["setuptools"]["package-data"]["dashboard"]


@pytest.mark.parametrize(
    "color",
    [common.TEXT, common.TEXT_MUTED, common.GOOD, common.BAD, common.NEAR, common.NEUTRAL]
    + common.PALETTE[:6],
)
def test_chart_text_colours_reach_aa(color: str) -> None:
    """Chart text and every colour allowed as text (or under white bar text) reach 4.5:1."""
    assert contrast(color) >= AA


@pytest.mark.parametrize(
    "scale",
    [sla_charts.SLA_HEAT_SCALE, rejection_charts.REASON_HEAT_SCALE],
    ids=["sla", "reasons"],
)
def test_heatmap_cells_keep_dark_text_readable(scale) -> None:
    """Every stop of the heatmap colour scales keeps the cell text (TEXT) at 4.5:1 or more."""
    for _, color in scale:
        assert contrast(common.TEXT, color) >= AA


def test_style_sets_text_colours_on_every_axis_and_colour_bar() -> None:
    """style() writes the text colours into the figure (so Streamlit's grey theme cannot
    win): layout font, each axis' ticks and title (a second y axis too), colour bars, and
    annotations that had no colour."""
    fig = go.Figure()
    fig.add_bar(x=[1, 2], y=[3, 4])
    fig.add_heatmap(z=[[1, 2]], colorbar={"title": "x"})
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right"})
    fig.add_annotation(text="note", x=1, y=1, showarrow=False)
    common.style(fig)
    layout = fig.layout
    assert layout.font.color == common.TEXT
    for axis in (layout.xaxis, layout.yaxis, layout.yaxis2):
        assert axis.tickfont.color == common.TEXT_MUTED
        assert axis.title.font.color == common.TEXT
    assert fig.data[1].colorbar.tickfont.color == common.TEXT_MUTED
    assert layout.annotations[0].font.color == common.TEXT
