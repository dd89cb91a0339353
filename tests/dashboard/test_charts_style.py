"""The house style is applied quickly and exactly as plotly's own validated path would."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from dashboard.charts import common


def _figure() -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=["A", "B", "C"], y=[3, 1, 2], name="leads")
    fig.add_scatter(x=["A", "B", "C"], y=[0.5, 0.25, 0.75], name="rate", yaxis="y2")
    fig.add_heatmap(z=[[1, 2], [3, 4]], xaxis="x2", yaxis="y3")
    fig.add_annotation(text="note", x="A", y=3)
    return fig


def test_style_gives_the_same_figure_as_the_validated_template() -> None:
    """It gives the figure the registered plotly_white template with every property the
    validated ``update_layout(template=...)`` gives, and the house settings on top."""
    fast = common.style(_figure(), title="Leads")
    slow = _figure()
    slow.update_layout(template="plotly_white")
    common.style(slow, title="Leads")
    assert json.loads(fast.to_json()) == json.loads(slow.to_json())
    assert fast.layout.template.layout.plot_bgcolor == "white"
    assert fast.layout.title.text == "Leads"


def test_style_leaves_validation_on_for_later_changes() -> None:
    """A later change with a wrong property is still refused: validation is off only while
    the template is assigned."""
    fig = common.style(_figure())
    try:
        fig.update_layout(no_such_property=1)
    except ValueError:
        return
    raise AssertionError("an unknown layout property was accepted after style()")
