"""The Funnel page through Streamlit's AppTest, against the small demo database.

Expected numbers come from calling :mod:`analysis.funnel` directly with the filters the
sidebar gets from ``?period=all_history&basis=created``: the whole history (first lead date
to the last recorded fact), counted as created-lead cohorts.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest, app_test

from analysis import filters as flt
from analysis.lifecycle import funnel
from dashboard import display
from tests.paths import APP

PAGE = "app_pages/funnel.py"
ALL = {"period": "all_history", "basis": "created"}
"""The whole history, counted as one cohort of created leads (what stage_conversion counts)."""
PLURAL = {"lead": "Leads", "mql": "MQLs", "sql": "SQLs", "opportunity": "Opportunities"}
PLURAL["customer"] = "Customers"


@pytest.fixture(scope="module")
def con(demo_db: Path):
    c = duckdb.connect(str(demo_db), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def everything(con) -> flt.Filters:
    """The sidebar's default filters: the whole history, no dimension restriction."""
    opts = flt.filter_options(con)
    return flt.Filters(start=opts["first_date"], end=opts["last_date"])


class RecordingStorage(MemoryMediaFileStorage):
    """Streamlit's in-memory media storage that also keeps every file for the test to read.

    AppTest drops its media manager after each run, so the bytes behind a download
    button are otherwise out of reach.
    """

    files: dict[str, tuple[bytes, str | None]] = {}

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        file_id = super().load_and_get_id(path_or_data, mimetype, kind, filename)
        RecordingStorage.files[file_id] = (self.get_file(file_id).content, filename)
        return file_id


def download(at, key: str) -> tuple[bytes, str | None]:
    """(bytes, file name) the download button ``key`` serves; its URL is /mock/media/<id>.csv."""
    url = at.download_button(key=key).proto.url
    return RecordingStorage.files[Path(url).stem]


def array(value) -> np.ndarray:
    """A plotly JSON array, plain or typed (``{"dtype", "bdata", "shape"}``), as numpy."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if "shape" in value:
            out = out.reshape([int(d) for d in str(value["shape"]).split(",")])
        return out
    return np.array(value, dtype=float)


def table_with_first_column(at, name: str) -> pd.DataFrame:
    """The grid whose first column is ``name``."""
    found = [df.value for df in at.dataframe if df.value.columns[0] == name]
    assert len(found) == 1, [list(df.value.columns[:2]) for df in at.dataframe]
    return found[0]


@pytest.fixture(scope="module")
def sections(demo_db: Path):
    """``sections("breakdown")``: one run of the Funnel page with default filters and that
    section's tab open, made once per module and shared by the read-only tests.

    Download buttons go through :class:`RecordingStorage` so their bytes can be read.
    """
    runs: dict[str, AppTest] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HANDOFF_DB", str(demo_db))
        mp.setattr(app_test, "MemoryMediaFileStorage", RecordingStorage)

        def open_section(code: str) -> AppTest:
            if code not in runs:
                at = AppTest.from_file(APP, default_timeout=60)
                at.query_params.update({**ALL, "section": code})
                at.run()
                at.switch_page(PAGE).run()
                assert not at.exception, [e.value for e in at.exception]
                runs[code] = at
            return runs[code]

        yield open_section


@pytest.fixture(scope="module")
def funnel_page(sections) -> AppTest:
    """The Funnel page as a first visit opens it (the stage entries tab)."""
    return sections("volumes")


def chart_keys(at) -> list[str]:
    return [c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")]


def figures(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_funnel_counts_equal_stage_conversion(funnel_page, con, everything):
    """Each stage's count, its k-of-n caption and the funnel bars equal stage_conversion."""
    at = funnel_page
    expected = funnel.stage_conversion(con, everything)
    shown = {m.label: m.value for m in at.metric}
    pairs = zip(expected["stage"], expected["reached"], strict=True)
    assert shown == {PLURAL[s]: f"{int(r):,}" for s, r in pairs}
    # the MQL caption quotes the lead -> MQL step as "k of n"
    mql = expected.set_index("stage").loc["mql"]
    captions = [c.value for c in at.caption]
    assert any(f"{int(mql.reached):,} of {int(mql.step_n):,}" in c for c in captions), captions
    funnel_fig = next(f for f in figures(at) if f["data"][0]["type"] == "funnel")
    assert array(funnel_fig["data"][0]["x"]).tolist() == [int(v) for v in expected.reached]
    assert chart_keys(at) == ["fu_funnel_chart", "fu_volumes_chart"]


@pytest.mark.parametrize(
    ("code", "chart"),
    [
        ("volumes", "fu_volumes_chart"),
        ("trends", "fu_trend_chart"),
        ("heatmap", "fu_heatmap"),
        ("breakdown", "fu_breakdown_chart"),
        ("velocity", "fu_velocity_chart"),
    ],
)
def test_only_the_open_section_is_drawn(sections, code: str, chart: str):
    """Below the funnel, only the open tab's section runs: the page draws the funnel and
    that section's chart, nothing else, and the URL names the section."""
    at = sections(code)
    assert chart_keys(at) == ["fu_funnel_chart", chart]
    assert at.query_params["section"] == code


def test_a_link_naming_a_sections_control_opens_that_section(app_at):
    """A link with ``?breakdown=region`` and no section opens the Breakdown tab on region;
    one with ``?window=60`` opens the cohort trends."""
    at = app_at(PAGE, query={**ALL, "breakdown": "region"})
    assert chart_keys(at)[-1] == "fu_breakdown_chart"
    assert at.selectbox(key="fu_dim").value == "region"
    at = app_at(PAGE, query={**ALL, "window": "60"})
    assert chart_keys(at)[-1] == "fu_trend_chart"
    assert at.selectbox(key="fu_window").value == 60


def test_breakdown_selector_changes_the_table(app_at, con, everything):
    """Picking another dimension redraws the breakdown table with that dimension's rows."""
    at = app_at(PAGE, query={**ALL, "section": "breakdown"})
    by_source = table_with_first_column(at, "source")
    # sources are shown in words (paid_search -> Paid search)
    expected_sources = [display.label(v) for v in flt.filter_options(con)["sources"]]
    assert sorted(by_source["source"]) == sorted(expected_sources)
    assert not any("_" in v for v in by_source["source"])
    at.selectbox(key="fu_dim").set_value("region").run()
    assert not at.exception
    by_region = table_with_first_column(at, "region")
    expected = funnel.breakdown(con, everything, "region")
    assert list(by_region["region"]) == list(expected["region"])
    assert list(by_region["mqls"]) == list(expected["mqls"])
    np.testing.assert_allclose(by_region["mql_to_sql"], expected["mql_to_sql"], equal_nan=True)


def test_csv_downloads_equal_the_tables(sections):
    """Every download button serves exactly the table drawn above it, as CSV."""
    tables = (
        ("volumes", "fu_funnel", "Stage", "funnel_created.csv"),
        ("breakdown", "fu_breakdown", "source", "funnel_by_source.csv"),
        ("velocity", "fu_velocity", "step", "funnel_velocity.csv"),
    )
    for code, key, first, filename in tables:
        at = sections(code)
        shown = table_with_first_column(at, first)
        data, name = download(at, f"{key}_csv")
        assert name == filename
        downloaded = pd.read_csv(io.BytesIO(data))
        assert len(downloaded) == len(shown) > 0
        pd.testing.assert_frame_equal(
            downloaded, shown.reset_index(drop=True), check_dtype=False, check_exact=False
        )


def test_changes_are_called_out_only_when_significant(sections, con, everything):
    """The callouts are exactly the significant month-over-month changes (mature cohorts)."""
    at = sections("trends")
    expected = []
    for step in (("mql", "sql"), ("sql", "opportunity")):
        mom = funnel.month_over_month(con, everything, *step, window_days=30)
        expected += [
            f"{c:%b %Y} cohort" for c in mom.loc[mom["significant"].astype(bool), "cohort"]
        ]
    callouts = [m.value for m in at.markdown if m.value.startswith((":green[▲]", ":red[▼]"))]
    assert len(callouts) == len(expected)
    for month in expected:
        assert any(month in c for c in callouts), (month, callouts)
    if not expected:
        assert any(m.value.startswith("None:") for m in at.markdown)


def test_heatmap_greys_exactly_the_immature_cells(sections, con, everything):
    """The grey layer of the heatmap holds the immature cells of cohort_matrix, no others."""
    at = sections("heatmap")
    matrix = funnel.cohort_matrix(con, everything, "mql", "sql")
    heat = [f for f in figures(at) if any(d["type"] == "heatmap" for d in f["data"])][0]
    mature_z, immature_z = (array(d["z"]).astype(float) for d in heat["data"][:2])
    assert np.isfinite(immature_z).sum() == int((~matrix["mature"].astype(bool)).sum())
    assert np.isfinite(mature_z).sum() == int(matrix["mature"].astype(bool).sum())
    # each cohort's immature cell is its last one (the running month)
    rows = np.isfinite(immature_z).sum(axis=1)
    assert (rows == 1).all()


def test_window_selector_changes_the_cohort_trends(app_at):
    """A 90-day conversion window retitles the trend panels and keeps the page error-free."""
    at = app_at(PAGE, query={**ALL, "section": "trends"})
    at.selectbox(key="fu_window").set_value(90).run()
    assert not at.exception
    titles = [
        a["text"]
        for f in figures(at)
        for a in f["layout"].get("annotations", [])
        if "within" in a.get("text", "")
    ]
    assert titles == ["MQL → SQL within 90 days", "SQL → Opportunity within 90 days"]
