"""What-if replay: volume, precision, recall, rep load, quadrants, changed leads, curves."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from analysis.scoring.model import QUADRANTS, ScoringConfig
from analysis.scoring.whatif import changed_sides, config_threshold_curve, threshold_curve, what_if
from tests.scoring.test_model import make_matrix

DAY = np.timedelta64(1, "D")
NAMES = [
    "senior_title",
    "employees_200plus",
    "target_region",
    "pricing_page",
    "demo_request",
    "careers_only",
    "webinar",
    "email_click",
]
KINDS = ["fit"] * 3 + ["engagement"] * 5
REPS = pd.DataFrame(
    {
        "rep_id": ["R1", "R2", "R3", "R4"],
        "territory": ["EMEA", "EMEA", "APAC", "North America"],
        "capacity": [6, 9, 4, None],
    }
)


def random_matrix(seed: int, n: int = 400):
    """Random leads over ~7 months; some pending, some never handed off, mixed owners."""
    rng = np.random.default_rng(seed)
    X = (rng.random((n, len(NAMES))) < 0.35).astype(np.float32)
    start = np.datetime64("2024-01-01T00:00", "us")
    decision_at = start + (rng.random(n) * 210 * 86_400).astype("int64") * np.timedelta64(1, "s")
    handed_off = rng.random(n) < 0.6
    reached = handed_off & (rng.random(n) < 0.45)
    owner = rng.choice(
        np.array([None, "R1", "R2", "R3", "R9"], dtype=object), n, p=[0.5, 0.15, 0.1, 0.15, 0.1]
    )
    region = rng.choice(np.array([None, "EMEA", "APAC", "LATAM", "North America"], dtype=object), n)
    as_of = start + 200 * DAY  # leads decided in the last ~10 days are pending
    fm = make_matrix(
        X,
        NAMES,
        KINDS,
        decision_at=decision_at,
        handed_off=handed_off,
        reached_sql=reached,
        owner=list(owner),
        region=list(region),
        as_of=as_of,
    )
    # sql reached 0-20 days after the decision point, for window tests
    lag = (rng.random(n) * 20 * 86_400).astype("int64") * np.timedelta64(1, "s")
    fm.sql_at = np.where(reached, decision_at + lag, np.datetime64("NaT", "us"))
    return fm


def random_config(rng: np.random.Generator, name: str) -> ScoringConfig:
    weights = {n: int(rng.integers(-15, 45)) for n in NAMES if rng.random() < 0.8}
    return ScoringConfig(weights, int(rng.integers(10, 60)), name)


def brute_force(fm, config: ScoringConfig, within_days: float | None) -> dict:
    """Every what-if number for one configuration, by a plain loop over the leads."""
    as_of_month = fm.as_of.astype("datetime64[M]")
    out: dict = {
        "mqls": 0,
        "by_month": defaultdict(int),
        "k": 0,
        "n_obs": 0,
        "pos": 0,
        "unobserved": 0,
        "quad_leads": [0] * 4,
        "quad_mqls": [0] * 4,
        "load": defaultdict(float),
        "unrouted": defaultdict(int),
        "mql_ids": set(),
    }
    territory = defaultdict(list)
    for rep, terr in zip(REPS["rep_id"], REPS["territory"], strict=True):
        territory[terr].append(rep)
    half = config.threshold / 2
    for i in range(fm.n):
        decision = fm.decision_at[i]
        if decision > fm.as_of:
            continue
        fit = sum(
            config.weights.get(n, 0) * fm.X[i, j] for j, n in enumerate(NAMES) if KINDS[j] == "fit"
        )
        eng = sum(
            config.weights.get(n, 0) * fm.X[i, j]
            for j, n in enumerate(NAMES)
            if KINDS[j] == "engagement"
        )
        is_mql = fit + eng >= config.threshold
        observed = bool(fm.handed_off[i])
        reached = bool(fm.reached_sql[i])
        if within_days is not None:
            observed = observed and decision + within_days * DAY <= fm.as_of
            reached = reached and fm.sql_at[i] - decision <= within_days * DAY
        quad = (0 if fit >= half else 1) + (0 if eng >= half else 2)
        out["quad_leads"][quad] += 1
        if observed and reached:
            out["pos"] += 1
        if not is_mql:
            continue
        month = decision.astype("datetime64[M]")
        assert month <= as_of_month
        out["mqls"] += 1
        out["mql_ids"].add(fm.lead_ids[i])
        out["by_month"][month] += 1
        out["quad_mqls"][quad] += 1
        if observed:
            out["n_obs"] += 1
            out["k"] += reached
        else:
            out["unobserved"] += 1
        owner, region = fm.owner[i], fm.region[i]
        if owner is not None:
            out["load"][(month, owner)] += 1
        elif territory.get(region):
            for rep in territory[region]:
                out["load"][(month, rep)] += 1 / len(territory[region])
        else:
            out["unrouted"][month] += 1
    return out


def check(result, expected: dict, months: np.ndarray) -> None:
    assert result.mqls == expected["mqls"]
    assert dict(zip(months, result.mqls_by_month.tolist(), strict=True)) == {
        m: expected["by_month"].get(m, 0) for m in months
    }
    assert (result.precision_k, result.precision_n) == (expected["k"], expected["n_obs"])
    assert (result.recall_k, result.recall_n) == (expected["k"], expected["pos"])
    if expected["n_obs"]:
        assert result.precision == pytest.approx(expected["k"] / expected["n_obs"])
        assert result.precision_low <= result.precision <= result.precision_high
    else:
        assert np.isnan(result.precision)
    assert result.recall == pytest.approx(expected["k"] / expected["pos"])
    assert result.n_unobserved == expected["unobserved"]
    assert result.quadrant_leads.tolist() == expected["quad_leads"]
    assert result.quadrant_mqls.tolist() == expected["quad_mqls"]
    load = result.rep_load
    got = {
        (np.datetime64(m, "M"), r): v
        for m, r, v in zip(load["month"], load["rep_id"], load["mqls"], strict=True)
        if v
    }
    assert got.keys() == expected["load"].keys()
    for key, value in expected["load"].items():
        assert got[key] == pytest.approx(value)
    assert dict(zip(months, result.unrouted_by_month.tolist(), strict=True)) == {
        m: expected["unrouted"].get(m, 0) for m in months
    }


@pytest.mark.parametrize("within_days", [None, 7])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_what_if_equals_a_plain_loop(seed: int, within_days: float | None) -> None:
    """Volume, precision, recall, unobserved, quadrants and rep load equal a per-lead loop."""
    fm = random_matrix(seed)
    rng = np.random.default_rng(100 + seed)
    current, proposed = random_config(rng, "current"), random_config(rng, "proposed")
    result = what_if(fm, current, proposed, reps=REPS, within_days=within_days)
    assert result.months[-1] == fm.as_of.astype("datetime64[M]")
    check(result.current, brute_force(fm, current, within_days), result.months)
    check(result.proposed, brute_force(fm, proposed, within_days), result.months)
    assert result.n_pending == int((fm.decision_at > fm.as_of).sum()) > 0
    assert result.complete_month.tolist() == [True] * (len(result.months) - 1) + [False]
    cur_ids = brute_force(fm, current, within_days)["mql_ids"]
    prop_ids = brute_force(fm, proposed, within_days)["mql_ids"]
    assert (result.changed_in, result.changed_out) == (
        len(prop_ids - cur_ids),
        len(cur_ids - prop_ids),
    )
    changed = changed_sides(fm, current, proposed, within_days=within_days)
    assert set(changed["lead_id"]) == cur_ids ^ prop_ids
    assert set(changed.loc[changed["direction"] == "in", "lead_id"]) == prop_ids - cur_ids
    pd.testing.assert_frame_equal(result.changed(fm), changed)


def test_changed_sides_labels_outcomes() -> None:
    """Each switching lead carries its scores, its direction and its observed outcome."""
    names, kinds = ["pricing_page", "demo_request"], ["engagement", "engagement"]
    X = np.array([[1, 0], [0, 1], [1, 0], [0, 0]])
    fm = make_matrix(
        X,
        names,
        kinds,
        handed_off=np.array([True, True, False, True]),
        reached_sql=np.array([True, False, False, False]),
    )
    current = ScoringConfig({"pricing_page": 25, "demo_request": 50}, 50)
    proposed = ScoringConfig({"pricing_page": 30, "demo_request": 20}, 30)
    # lead 0: 25 -> 30, becomes MQL, reached; lead 1: 50 -> 20, drops out, not reached;
    # lead 2: 25 -> 30, becomes MQL, never handed off; lead 3: 0 -> 0, no change.
    got = changed_sides(fm, current, proposed)
    assert got[["lead_id", "current_score", "proposed_score", "direction", "outcome"]].to_dict(
        "records"
    ) == [
        {
            "lead_id": "L000001",
            "current_score": 50.0,
            "proposed_score": 20.0,
            "direction": "out",
            "outcome": "not reached",
        },
        {
            "lead_id": "L000000",
            "current_score": 25.0,
            "proposed_score": 30.0,
            "direction": "in",
            "outcome": "reached",
        },
        {
            "lead_id": "L000002",
            "current_score": 25.0,
            "proposed_score": 30.0,
            "direction": "in",
            "outcome": "unobserved",
        },
    ]


def test_rep_load_by_hand() -> None:
    """Owned MQLs go to the owner; unowned ones are shared by the territory's SDRs."""
    names, kinds = ["demo_request"], ["engagement"]
    # Eight MQLs in January 2024 and one lead below the threshold:
    # - two owned by R1 (an EMEA SDR) -> R1 +2;
    # - three unowned in EMEA: the SDRs R1 and R2 share them, 1.5 each; the EMEA AE (R5)
    #   gets none because the territory has SDRs;
    # - one unowned in LATAM, covered only by an AE (R6) -> R6 +1;
    # - one unowned in APAC and one with no region: nobody covers them -> 2 unrouted.
    # R1 = 2 + 1.5 = 3.5 > capacity 3; R2 = 1.5 <= 2; R6 = 1 <= 1.
    X = np.array([[1]] * 8 + [[0]])
    decision_at = np.array([f"2024-01-0{d}" for d in range(1, 10)], dtype="datetime64[us]")
    fm = make_matrix(
        X,
        names,
        kinds,
        decision_at=decision_at,
        owner=["R1", "R1", None, None, None, None, None, None, None],
        region=["APAC", "APAC", "EMEA", "EMEA", "EMEA", "LATAM", "APAC", None, "EMEA"],
        as_of=np.datetime64("2024-02-15", "us"),
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R5", "R6"],
            "territory": ["EMEA", "EMEA", "EMEA", "LATAM"],
            "role": ["sdr", "sdr", "ae", "ae"],
            "capacity": [3, 2, 10, 1],
        }
    )
    config = ScoringConfig({"demo_request": 10}, 10)
    result = what_if(fm, config, config, reps=reps).proposed
    jan = result.rep_load[result.rep_load["month"] == pd.Timestamp("2024-01-01")]
    jan = jan.set_index("rep_id")
    assert jan["mqls"].to_dict() == {"R1": 3.5, "R2": 1.5, "R5": 0.0, "R6": 1.0}
    assert jan["over_capacity"].to_dict() == {"R1": True, "R2": False, "R5": False, "R6": False}
    assert result.unrouted_by_month.tolist() == [2, 0]
    assert result.reps_over_capacity == 1
    summary = result.rep_summary().set_index("rep_id")
    assert summary.loc["R1", "months_over_capacity"] == 1 and summary.loc["R1", "months"] == 1


def test_unobserved_mqls_are_counted_and_said() -> None:
    """Would-be MQLs never handed off are left out of precision and counted in a note."""
    fm = make_matrix(
        np.array([[1], [1], [1], [0]]),
        ["pricing_page"],
        handed_off=np.array([True, False, False, True]),
        reached_sql=np.array([True, False, False, True]),
    )
    config = ScoringConfig({"pricing_page": 10}, 10)
    result = what_if(fm, config, config)
    # 3 MQLs; 1 observed and reached -> precision 1/1; recall 1 of 2 reached
    assert (result.proposed.mqls, result.proposed.n_unobserved) == (3, 2)
    assert (result.proposed.precision, result.proposed.recall) == (1.0, 0.5)
    assert "2 of the proposed rule's 3 MQLs" in result.notes[0]
    summary = result.summary().set_index("metric")
    assert summary.loc["MQLs with unobserved outcome", "proposed"] == 2
    assert summary.loc[f"MQLs: {QUADRANTS[1]}", "proposed"] == 3  # no fit points: poor fit


# --- threshold curve --------------------------------------------------------------------------


def curve_by_brute_force(scores, outcomes, observed) -> pd.DataFrame:
    rows = []
    total = sum(1 for y, o in zip(outcomes, observed, strict=True) if y and o)
    for t in sorted(set(scores.tolist())):
        mql = [s >= t for s in scores]
        n_obs = sum(1 for m, o in zip(mql, observed, strict=True) if m and o)
        k = sum(1 for m, y, o in zip(mql, outcomes, observed, strict=True) if m and y and o)
        rows.append(
            {
                "threshold": t,
                "mqls": sum(mql),
                "observed": n_obs,
                "reached": k,
                "precision": k / n_obs if n_obs else np.nan,
                "recall": k / total if total else np.nan,
            }
        )
    return pd.DataFrame(rows)


SCORE_KINDS = {
    "ties": lambda rng, n: rng.integers(-5, 6, n).astype(float) * 10,  # many ties
    "negative": lambda rng, n: -rng.integers(1, 200, n).astype(float),
    "wide": lambda rng, n: rng.integers(-10_000, 10_000, n).astype(float),
    "float": lambda rng, n: np.round(rng.normal(0, 20, n), 1),
    "constant": lambda rng, n: np.full(n, 25.0),
}


@pytest.mark.parametrize("kind", list(SCORE_KINDS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_threshold_curve_equals_per_threshold_recomputation(kind: str, seed: int) -> None:
    """For every threshold, count, precision and recall equal a direct recomputation."""
    rng = np.random.default_rng(seed)
    n = 300
    scores = SCORE_KINDS[kind](rng, n)
    outcomes = rng.random(n) < 0.3
    observed = rng.random(n) < 0.7
    expected = curve_by_brute_force(scores, outcomes, observed)
    got = threshold_curve(scores, outcomes, observed)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    by_sort = threshold_curve(scores, outcomes, observed, method="sort")
    pd.testing.assert_frame_equal(by_sort, expected, check_dtype=False)
    if kind != "float":
        by_bins = threshold_curve(scores, outcomes, observed, method="bincount")
        pd.testing.assert_frame_equal(by_bins, expected, check_dtype=False)


def test_threshold_curve_edge_cases() -> None:
    """No positives gives NaN recall; mismatched lengths and NaN scores are refused."""
    got = threshold_curve(np.array([1.0, 2.0]), np.array([False, False]))
    assert got["recall"].isna().all() and got["precision"].tolist() == [0.0, 0.0]
    assert threshold_curve(np.array([]), np.array([], bool)).empty
    with pytest.raises(ValueError, match="same length"):
        threshold_curve(np.array([1.0, 2.0]), np.array([True]))
    with pytest.raises(ValueError, match="finite"):
        threshold_curve(np.array([1.0, np.nan]), np.array([True, False]))
    with pytest.raises(ValueError, match="needs whole-number scores"):
        threshold_curve(np.array([1.5]), np.array([True]), method="bincount")


def test_config_threshold_curve_matches_what_if_at_the_threshold() -> None:
    """The curve's row at a configuration's threshold equals that what-if's numbers."""
    fm = random_matrix(5)
    config = ScoringConfig({"pricing_page": 20, "demo_request": 40, "senior_title": 15}, 35)
    curve = config_threshold_curve(fm, config).set_index("threshold")
    result = what_if(fm, config, config).current
    at = curve.loc[curve.index[curve.index >= config.threshold].min()]
    assert at["mqls"] == result.mqls
    assert (at["reached"], at["observed"]) == (result.precision_k, result.precision_n)
    assert at["recall"] == pytest.approx(result.recall)


def _plain_complete_months(fm) -> list[str]:
    """Calendar months (YYYY-MM) from the first decision month up to, not including, the
    month of the end of the data: the complete months, by a plain loop over dates."""
    first = min(str(d)[:7] for d in fm.decision_at)
    end = str(fm.as_of)[:7]
    months, (y, m) = [], map(int, first.split("-"))
    while f"{y:04d}-{m:02d}" < end:
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


@pytest.mark.parametrize("seed", [3, 11])
def test_curve_mqls_per_month_counts_complete_months_by_hand(seed: int) -> None:
    """MQLs per month at threshold t = decided leads of complete months scoring >= t / months.

    Decisions run from 2024-01 to 2024-07 and the data ends 2024-07-19, so the complete
    months are 2024-01 to 2024-06: six of them.
    """
    fm = random_matrix(seed)
    rng = np.random.default_rng(seed)
    config = random_config(rng, "proposed")
    months = _plain_complete_months(fm)
    assert months == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    points = [config.weights.get(n, 0) for n in NAMES]
    scores = [sum(p * x for p, x in zip(points, row, strict=True)) for row in fm.X.tolist()]
    curve = config_threshold_curve(fm, config)
    for _, row in curve.iloc[:: max(1, len(curve) // 7)].iterrows():
        count = sum(
            1
            for i in range(fm.n)
            if fm.decision_at[i] <= fm.as_of
            and str(fm.decision_at[i])[:7] in months
            and scores[i] >= row["threshold"]
        )
        assert row["mqls_per_month"] == pytest.approx(count / len(months))


def test_what_if_mqls_per_month_is_the_mean_over_complete_months_by_hand() -> None:
    """WhatIf.mqls_per_month: would-be MQLs decided in complete months / complete months."""
    fm = random_matrix(4)
    rng = np.random.default_rng(4)
    current, proposed = random_config(rng, "current"), random_config(rng, "proposed")
    w = what_if(fm, current, proposed)
    months = _plain_complete_months(fm)
    for config, result in ((current, w.current), (proposed, w.proposed)):
        points = [config.weights.get(n, 0) for n in NAMES]
        count = 0
        for i, row in enumerate(fm.X.tolist()):
            score = sum(p * x for p, x in zip(points, row, strict=True))
            month = str(fm.decision_at[i])[:7]
            if fm.decision_at[i] <= fm.as_of and month in months and score >= config.threshold:
                count += 1
        assert w.mqls_per_month(result) == pytest.approx(count / len(months))
