"""Grades: band metrics against plain loops, cut-point suggestions and exports."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.scoring import whatif
from analysis.scoring.configs import ScoringConfig, score
from analysis.scoring.grades import (
    GradeScheme,
    band_table,
    band_table_tallied,
    grades_to_csv,
    grades_to_json,
    suggest_cuts,
)
from analysis.scoring.routing import routing_of
from analysis.stats import wilson_interval
from tests.scoring.test_whatif import random_config, random_matrix

REPS = pd.DataFrame(
    {
        "rep_id": ["R1", "R2", "R3", "R4"],
        "territory": ["EMEA", "EMEA", "APAC", "North America"],
        "role": ["sdr", "sdr", "sdr", "ae"],
        "capacity": [20, 20, 30, 25],
    }
)


def band_of(value: float, cuts: tuple[float, ...]) -> int:
    for i, c in enumerate(cuts):
        if value >= c:
            return i
    return len(cuts)


@pytest.mark.parametrize("tallied", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_band_table_equals_a_plain_loop(seed: int, tallied: bool) -> None:
    """Leads, observed, reached, conversion (Wilson), share of conversions and leads per
    month of every band equal a lead-by-lead loop, on the pass over the leads and when read
    from the what-if's count tables (whose rep figures equal the pass's exactly)."""
    fm = random_matrix(seed)
    rng = np.random.default_rng(seed)
    config = random_config(rng, "rule")
    s = score(fm, config)
    scheme = GradeScheme(("A", "B", "C", "D"), (60, 30, 5))
    table = band_table(fm, s, scheme, "sql", None, routing_of(fm, REPS))
    if tallied:
        counted = whatif.tallied(fm, config, "sql", REPS)
        assert counted is not None  # whole points: the tables apply
        fast = band_table_tallied(counted, scheme, fm.complete_months())
        pd.testing.assert_frame_equal(fast, table, check_exact=True)
        table = fast
    complete = fm.complete_months()
    complete_months = set(fm.months[: len(complete)][complete].astype(str))
    leads, obs, pos, monthly = [0] * 4, [0] * 4, [0] * 4, [0] * 4
    for i in range(fm.n):
        if fm.decision_at[i] > fm.as_of:
            continue
        b = band_of(float(s[i]), scheme.cuts)
        leads[b] += 1
        if str(fm.decision_at[i].astype("datetime64[M]")) in complete_months:
            monthly[b] += 1
        if fm.handed_off[i]:
            obs[b] += 1
            pos[b] += int(fm.reached_sql[i])
    assert table["leads"].tolist() == leads
    assert table["observed"].tolist() == obs
    assert table["reached"].tolist() == pos
    for b in range(4):
        assert table.loc[b, "share_of_leads"] == pytest.approx(leads[b] / sum(leads))
        assert table.loc[b, "share_of_conversions"] == pytest.approx(pos[b] / sum(pos))
        assert table.loc[b, "per_month"] == pytest.approx(monthly[b] / len(complete_months))
        if obs[b]:
            low, high = wilson_interval(pos[b], obs[b])
            assert table.loc[b, "conversion"] == pytest.approx(pos[b] / obs[b])
            assert table.loc[b, "conversion_low"] == pytest.approx(low)
            assert table.loc[b, "conversion_high"] == pytest.approx(high)
    assert table["share_of_conversions"].sum() == pytest.approx(1.0)
    assert (table["rep_max"] >= table["rep_mean"]).all()


def test_rep_load_of_a_band_by_hand() -> None:
    """Two complete months; band A holds 3 leads owned by R1 in month 1 and 1 lead in
    month 2 -> R1 carries (3 + 1) / 2 = 2 a month; an unowned EMEA lead in month 1 is
    split between R1 and R2 (0.5 each) -> R1 (3.5 + 1) / 2 = 2.25, R2 0.5 / 2 = 0.25;
    mean over the two reps (2.25 + 0.25) / 2 = 1.25, busiest 2.25."""
    from tests.scoring.test_model import make_matrix

    t = np.array(
        ["2024-01-05", "2024-01-06", "2024-01-07", "2024-02-03", "2024-01-09", "2024-01-10"],
        dtype="datetime64[us]",
    )
    X = np.array([[1], [1], [1], [1], [1], [0]], dtype=np.float32)
    fm = make_matrix(
        X,
        ["f"],
        decision_at=t,
        owner=["R1", "R1", "R1", "R1", None, "R2"],
        region=[None, None, None, None, "EMEA", None],
        as_of=np.datetime64("2024-03-15T00:00", "us"),
    )
    scheme = GradeScheme(("A", "B"), (10,))
    table = band_table(
        fm, score(fm, ScoringConfig({"f": 10}, 10)), scheme, routing=routing_of(fm, REPS)
    )
    a = table.iloc[0]
    assert a["leads"] == 5
    assert a["per_month"] == pytest.approx(5 / 2)
    assert a["rep_mean"] == pytest.approx(1.25)
    assert a["rep_max"] == pytest.approx(2.25)


def test_suggested_cuts_meet_the_target_distribution() -> None:
    """On 1,000 distinct scores, 10/20/30/40 puts the cuts at the 900th, 700th and 400th
    score (0-based ascending), so the bands hold exactly 100, 200, 300 and 400 leads."""
    scores = np.arange(1000, dtype=float)
    cuts = suggest_cuts(scores, (0.1, 0.2, 0.3, 0.4))
    assert cuts == (900.0, 700.0, 400.0)
    code = GradeScheme(("A", "B", "C", "D"), cuts).codes(scores)
    assert np.bincount(code).tolist() == [100, 200, 300, 400]


def test_suggested_cuts_for_a_capacity() -> None:
    """top_count=50 sizes the best band to 50 of 1,000 leads; the other 950 split 1:1:2
    (shares 20/20/40 renormalised) -> 237.5, 237.5, 475: cuts at scores 950, 712/713, 475."""
    scores = np.arange(1000, dtype=float)
    cuts = suggest_cuts(scores, (0.1, 0.2, 0.2, 0.4), top_count=50)
    code = GradeScheme(("A", "B", "C", "D"), cuts).codes(scores)
    counts = np.bincount(code)
    assert counts[0] == 50
    assert abs(counts[1] - 237.5) <= 1 and abs(counts[2] - 237.5) <= 1
    assert counts.sum() == 1000


def test_ties_keep_cuts_strictly_decreasing() -> None:
    """With only three distinct scores, four bands still get decreasing cuts."""
    scores = np.array([0] * 50 + [25] * 30 + [75] * 20, dtype=float)
    cuts = suggest_cuts(scores)
    assert all(a > b for a, b in zip(cuts, cuts[1:], strict=False))
    GradeScheme(("A", "B", "C", "D"), cuts)  # valid


@pytest.mark.parametrize(
    ("names", "cuts", "message"),
    [
        (("A",), (), "2 to 4 bands"),
        (("A", "B"), (1, 2), "need 1 cut"),
        (("A", "B", "C"), (10, 20), "decrease"),
        (("A", "A"), (5,), "distinct"),
    ],
)
def test_bad_schemes_are_refused(names, cuts, message) -> None:
    """A scheme says what is wrong with it."""
    with pytest.raises(ValueError, match=message):
        GradeScheme(names, cuts)


def test_exports_carry_the_configuration_and_the_bands() -> None:
    """The JSON holds the points, threshold and bands; the CSV one row per grade with an
    inclusive lower and an exclusive upper score."""
    config = ScoringConfig({"pricing_page": 25, "demo_request": 50}, 60, name="Q3", model_id="q3")
    scheme = GradeScheme(("Hot", "Warm", "Cold"), (75, 40))
    data = json.loads(grades_to_json(scheme, config))
    assert data["weights"] == {"pricing_page": 25.0, "demo_request": 50.0}
    assert data["threshold"] == 60
    assert data["grades"] == [
        {"name": "Hot", "min_score": 75, "below_score": None},
        {"name": "Warm", "min_score": 40, "below_score": 75},
        {"name": "Cold", "min_score": None, "below_score": 40},
    ]
    lines = grades_to_csv(scheme, config).splitlines()
    assert lines == [
        "grade,min_score,below_score,rule,threshold",
        "Hot,75,,q3,60",
        "Warm,40,75,q3,60",
        "Cold,,40,q3,60",
    ]
