"""One definition per number: the command line, the pages' engine calls and the HTML
report agree on the same generated history.

``handoff metrics --json`` and ``handoff report`` run as real subprocesses on the demo
database; the Funnel page's calls (:func:`funnel.period_volumes`,
:func:`funnel.cohort_conversion`) and the Monthly review's (:func:`review.build_review`)
run in process. Month: September 2026, the review's default (the last complete month).
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analysis import filters as flt
from analysis import store
from analysis.lifecycle import deals, funnel, review
from analysis.store import STAGES
from tests.paths import ROOT

MONTH = date(2026, 9, 1)
LAST = date(2026, 9, 30)


def run_cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "handoff", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def cli(demo_db) -> dict:
    out = run_cli("metrics", "--db", str(demo_db), "--from", "2026-09-01", "--to", "2026-09-30")
    return json.loads(out)


@pytest.fixture(scope="module")
def report_cells(demo_db, tmp_path_factory) -> dict[str, str]:
    out: Path = tmp_path_factory.mktemp("consistency") / "review.html"
    run_cli("report", "--db", str(demo_db), "--month", "2026-09", "--out", str(out))
    text = out.read_text(encoding="utf-8")
    found = re.findall(r'data-key="([^"]+)" data-value="([^"]*)"', text)
    return {html.unescape(k): html.unescape(v) for k, v in found}


@pytest.fixture(scope="module")
def engine(demo_db) -> dict:
    con = store.connect_read_only(demo_db)
    try:
        f = flt.Filters(start=MONTH, end=LAST)
        return {
            "default_month": review.default_month(con),
            "review": review.build_review(con, "2026-09"),
            "volumes": funnel.period_volumes(con, f, "month"),
            "mql_sql": funnel.cohort_conversion(con, f, "mql", "sql", None, "month"),
            "deals": deals.deal_summary(con, f),
        }
    finally:
        con.close()


def test_the_review_opens_on_the_month_compared(engine) -> None:
    """The month compared here is the one the review page opens on."""
    assert engine["default_month"] == MONTH


def test_volumes_agree(cli, engine, report_cells) -> None:
    """Stage volumes of September: CLI = Funnel page (period volumes) = review = report."""
    vol = engine["volumes"]
    page = dict(zip(vol["stage"], vol["entries"], strict=True))
    table = engine["review"].funnel.set_index("stage")["entered"]
    for stage in STAGES:
        n = cli["volumes"][stage]
        assert n > 0, stage
        assert page[stage] == n, stage
        assert engine["review"].headline["volumes"][stage] == n, stage
        assert table[stage] == n, stage
        assert int(report_cells[f"volume.{stage}"]) == n, stage


def test_mql_to_sql_agrees(cli, engine, report_cells) -> None:
    """MQL → SQL (cohort of September's MQLs, reached SQL by the data's end, no window):
    the same k and n from the CLI, the Funnel page's cohort call, the review's funnel
    table and the report.
    """
    c = cli["conversions"]["mql_to_sql"]
    assert cli["conversion_basis"].startswith("cohort:")
    page = engine["mql_sql"].iloc[0]
    assert (int(page["k"]), int(page["n"])) == (c["k"], c["n"])
    row = engine["review"].funnel.set_index("stage").loc["mql"]
    assert (row["k"], row["n"]) == (c["k"], c["n"])
    assert int(report_cells["conv.mql_to_sql.k"]) == c["k"]
    assert float(report_cells["conv.mql_to_sql.rate"]) == pytest.approx(c["rate"])


def test_won_deals_and_amount_agree(cli, engine, report_cells) -> None:
    """Deals won in September and their amount: CLI = deal summary = the review's closed
    deals and goals = the report's tiles and deals row.
    """
    won, amount = cli["won"], cli["won_amount"]
    assert won > 0 and amount > 0
    d = engine["deals"].iloc[0]
    assert (int(d["won"]), float(d["won_amount"])) == (won, pytest.approx(amount))
    r = engine["review"]
    assert int(r.deals.iloc[0]["won"]) == won
    assert float(r.deals.iloc[0]["won_revenue"]) == pytest.approx(amount)
    goals = r.goals.set_index("metric")["actual"]
    assert goals["deals_won"] == won and goals["won_revenue"] == pytest.approx(amount)
    assert int(report_cells["deals.won"]) == won == int(report_cells["tile.deals_won"])
    assert float(report_cells["deals.won_revenue"]) == pytest.approx(amount)
    w = cli["win_rate"]
    assert (w["k"], w["n"]) == (int(d["win_k"]), int(d["win_n"]))
    assert pd.notna(r.deals.iloc[0]["win_rate"])
