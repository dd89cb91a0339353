"""The analyses recover what the demo generator planted.

Each check runs on two generated histories: the shared small demo database (4,000 leads,
12 months) and a larger one (20,000 leads, 24 months, another seed), so a pass is not a
lucky draw of one seed. The generator writes what it planted into the truth file beside
each database (``analysis.synth``): the SLA breach team and months, the acceptance model's
penalty on slow responses, and the per-source mix of rejection reasons.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis import config, stats, store
from analysis import filters as flt
from analysis.demo import synth
from analysis.lifecycle import rejections, sla

ALL = flt.Filters()
MIN_CELL = 10
"""Team x month cells with fewer decided handoffs are too noisy to rank."""


@pytest.fixture(scope="module")
def larger_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recovery") / "larger.duckdb"
    synth.generate_database(path, leads=20_000, months=24, seed=5, end=datetime.date(2026, 10, 31))
    return path


@pytest.fixture(scope="module", params=["demo", "larger"])
def history(request, demo_db: Path) -> tuple[duckdb.DuckDBPyConnection, dict]:
    path = demo_db if request.param == "demo" else request.getfixturevalue("larger_db")
    con = store.connect_read_only(path)
    truth = json.loads(config.truth_path(path).read_text())
    yield con, truth
    con.close()


def test_breach_team_and_months_have_the_lowest_compliance(history):
    """The three worst team x month cells (with enough handoffs) are exactly the planted
    breach team in the planted breach months, each clearly below the team's other months."""
    con, truth = history
    breach = truth["sla_breach"]
    cells = sla.sla_compliance(con, ALL, by=["team", "month"])
    cells = cells[cells["n"] >= MIN_CELL].sort_values("rate")
    worst = cells.head(3)
    assert set(worst["team"]) == {breach["team"]}
    assert sorted(worst["month"].dt.strftime("%Y-%m")) == breach["months"]
    # the team outside the breach months, pooled, is far above every breach cell
    team = cells[cells["team"] == breach["team"]]
    rest = team[~team["month"].dt.strftime("%Y-%m").isin(breach["months"])]
    rest_low, _ = stats.wilson_interval(int(rest["k"].sum()), int(rest["n"].sum()))
    assert (worst["high"] < rest_low).all()


def test_conversion_falls_with_response_time(history):
    """MQL->SQL conversion of the fastest band (0-5 min) is above the slowest (3 d+) with
    non-overlapping 95% intervals, and the bands' rates fall overall (planted coefficient
    -0.3 per log(1 + minutes))."""
    con, truth = history
    assert truth["speed_to_lead"]["coefficient_log1p_minutes"] < 0
    curve = sla.speed_to_lead(con, ALL, outcome="sql", clock="wall")
    bands = curve[curve["bucket"] != "no response"].reset_index(drop=True)
    fastest, slowest = bands.iloc[0], bands.iloc[-1]
    assert (fastest["bucket"], slowest["bucket"]) == ("0-5 min", "3 d+")
    assert fastest["rate"] > slowest["rate"]
    assert fastest["low"] > slowest["high"]
    # rank correlation of band order with rate: strongly negative
    ranks = bands["rate"].rank().to_numpy()
    assert np.corrcoef(np.arange(len(bands)), ranks)[0, 1] < -0.8


def test_rejection_reason_mix_per_source_matches_the_truth(history):
    """The reason mix per source of rejected and nurtured dispositions, from
    disposition_mix, equals the generator's own count (the truth file rounds to 4
    decimals), and the planted paid-social effect (student / job-seeker form fills)
    stands out with intervals clear of every other source."""
    con, truth = history
    mix = rejections.disposition_mix(con, ALL, by="source")
    mix = mix[mix["outcome"].isin(["rejected", "nurture"])]
    counts = mix.pivot_table(index="source", columns="reason", values="count", aggfunc="sum")
    counts = counts.fillna(0)
    totals = counts.sum(axis=1)
    shares = counts.div(totals, axis=0)
    planted = pd.DataFrame(truth["rejection_reason_mix"]).T  # source x reason
    got = shares.reindex(index=planted.index, columns=planted.columns, fill_value=0.0)
    # within the truth file's rounding, far inside any sampling error (3 sigma of a
    # binomial share with n = the source's total is >= 0.02 for every source here)
    assert np.abs(got - planted).to_numpy().max() <= 5e-5 + 1e-12
    sigma3 = 3 * np.sqrt(planted * (1 - planted)).div(np.sqrt(totals[planted.index]), axis=0)
    assert ((got - planted).abs() <= sigma3 + 1e-4).all().all()

    # Against the planted probabilities (not the draws): each share within 4 sigma of the
    # expected share, over 8 sources x 10 reasons.
    expected = pd.DataFrame(truth["rejection_reason_expected"]).T
    exp = expected.reindex(index=planted.index, columns=planted.columns)
    sigma = np.sqrt(exp * (1 - exp)).div(np.sqrt(totals[planted.index]), axis=0)
    assert ((got - exp).abs() <= 4 * sigma + 1e-3).all().all()

    students = counts["student_or_job_seeker"]
    low, high = stats.wilson_interval(students, totals)
    others = high.drop("paid_social")
    assert low["paid_social"] > others.max()
