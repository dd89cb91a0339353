"""Rolling-origin back-test: no fold trains on its test months or on later outcomes."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.scoring.backtest import backtest_table, fold_months, model_folds, training_rows
from analysis.scoring.configs import ScoringConfig, score
from analysis.scoring.evaluate import auc
from tests.scoring.test_model import make_matrix


def monthly_matrix(seed: int = 1, n: int = 6000):
    """Leads over 10 months (Jan-Oct 2024, data to mid-November); sql 0-40 days after."""
    rng = np.random.default_rng(seed)
    X = (rng.random((n, 3)) < [0.3, 0.4, 0.5]).astype(np.float32)
    start = np.datetime64("2024-01-01T00:00", "us")
    decision_at = start + (rng.random(n) * 300 * 86_400).astype("int64") * np.timedelta64(1, "s")
    p = 1 / (1 + np.exp(-(-1.0 + X @ np.array([1.5, 0.8, -0.6]))))
    reached = rng.random(n) < p
    handed_off = rng.random(n) < 0.8
    fm = make_matrix(
        X,
        ["a", "b", "c"],
        decision_at=decision_at,
        handed_off=handed_off,
        reached_sql=reached,
        as_of=np.datetime64("2024-11-15T00:00", "us"),
    )
    lag = (rng.random(n) * 40 * 86_400).astype("int64") * np.timedelta64(1, "s")
    fm.sql_at = np.where(reached, decision_at + lag, np.datetime64("NaT", "us"))
    return fm


def test_folds_never_train_on_their_test_months_or_later_outcomes() -> None:
    """Every training lead is decided before the first test month, handed off by the end
    of the origin, and labelled 'reached' only when it reached SQL by then."""
    fm = monthly_matrix()
    bt = model_folds(fm, "sql", horizon_months=2, min_train_months=3)
    assert len(bt.folds) == 10 - 3 - 1  # origins Mar..Aug with two complete test months
    for f in bt.folds:
        end = (f.origin + 1).astype("datetime64[D]").astype("datetime64[us]")
        assert (f.test_months > f.origin).all()
        assert (fm.decision_at[f.train_rows] < end).all()
        test_month = fm.decision_at[f.test_rows].astype("datetime64[M]")
        assert np.isin(test_month, f.test_months).all()
        assert not np.intersect1d(f.train_rows, f.test_rows).size
        labelled = f.train_rows[f.train_y.astype(bool)]
        assert (fm.sql_at[labelled] < end).all()
        # a lead that reached SQL only after the origin counts as "not reached" then
        late = f.train_rows[~f.train_y.astype(bool)]
        assert not (fm.reached_sql[late] & (fm.sql_at[late] < end)).any()
        assert np.isfinite(f.p_test).all()


def test_training_rows_by_hand() -> None:
    """Origin January: L0 (decided Jan 10, sql Jan 20) trains as reached; L1 (decided
    Jan 12, sql Feb 3) trains as not reached; L2 decided in February is left out; L3 never
    handed off is left out."""
    t = np.array(["2024-01-10", "2024-01-12", "2024-02-02", "2024-01-05"], dtype="datetime64[us]")
    fm = make_matrix(
        np.ones((4, 1), np.float32),
        ["f"],
        decision_at=t,
        handed_off=np.array([1, 1, 1, 0]),
        reached_sql=np.array([1, 1, 1, 0]),
    )
    fm.sql_at = np.array(["2024-01-20", "2024-02-03", "2024-02-05", "NaT"], dtype="datetime64[us]")
    rows, y = training_rows(fm, np.datetime64("2024-01", "M"), "sql", None)
    assert rows.tolist() == [0, 1]
    assert y.tolist() == [1, 0]


def test_backtest_table_equals_a_plain_recount() -> None:
    """Per fold: the rule's volume, precision and AUC among observed test leads, and the
    model's precision among its top-V leads where V is the chosen rule's volume."""
    fm = monthly_matrix(seed=2)
    bt = model_folds(fm, "sql", horizon_months=1, min_train_months=4)
    rule = ScoringConfig({"a": 20, "b": 10, "c": -5}, 15)
    table = backtest_table(bt, fm, {"proposed rule": rule}, "proposed rule")
    s = score(fm, rule)
    for f, (_, r) in zip(
        bt.folds, table.loc[table["who"] == "proposed rule"].iterrows(), strict=True
    ):
        obs = fm.handed_off[f.test_rows]
        y = fm.reached_sql[f.test_rows] & obs
        mql = s[f.test_rows] >= 15
        assert r["volume"] == mql.sum()
        assert r["precision_n"] == (mql & obs).sum()
        assert r["precision_k"] == (mql & y).sum()
        assert r["auc"] == pytest.approx(auc(y[obs].astype(int), s[f.test_rows][obs]))
        m = table.loc[(table["who"] == "model") & (table["origin"] == r["origin"])].iloc[0]
        top = np.argsort(-f.p_test, kind="stable")[: int(mql.sum())]
        assert m["precision_n"] == obs[top].sum()
        assert m["precision_k"] == y[top].sum()
        assert m["expected"] == pytest.approx(f.p_test[obs].mean())


def test_too_short_a_history_says_so() -> None:
    """Two complete months cannot hold three training months: no fold, and a note."""
    fm = make_matrix(np.ones((3, 1), np.float32), ["f"])
    assert fold_months(fm, 1, 3) == []
    bt = model_folds(fm, "sql")
    assert bt.folds == [] and "Too few complete months" in bt.notes[0]


def test_a_pickled_backtest_keeps_no_lead_arrays_and_restores_the_same_table() -> None:
    """The pickled back-test holds the fold models, not the per-lead rows and predictions
    (it is smaller than one fold's test rows alone); restored on the matrix it gives the
    same table, number for number, without refitting."""
    import pickle

    import pandas as pd

    fm = monthly_matrix(seed=3)
    bt = model_folds(fm, "sql", horizon_months=1, min_train_months=4)
    rule = {"proposed rule": ScoringConfig({"a": 20, "b": 10, "c": -5}, 15)}
    before = backtest_table(bt, fm, rule, "proposed rule")
    blob = pickle.dumps(bt)
    rows_bytes = sum(f.train_rows.nbytes + f.test_rows.nbytes + f.p_test.nbytes for f in bt.folds)
    assert len(blob) < rows_bytes
    back = pickle.loads(blob)
    assert all(f.p_test is None and f.model is not None for f in back.folds)
    after = backtest_table(back, fm, rule, "proposed rule")
    pd.testing.assert_frame_equal(after, before, check_exact=True)
    for a, b in zip(back.folds, bt.folds, strict=True):
        assert np.array_equal(a.train_rows, b.train_rows)
        assert np.array_equal(a.p_test, b.p_test)


def test_no_cap_fits_every_training_lead() -> None:
    """With ``max_train=None`` each fold fits on all its training leads; with a cap below
    that, on the cap (the fold still reports every lead it could train on)."""
    fm = monthly_matrix(seed=4)
    full = model_folds(fm, "sql", horizon_months=1, min_train_months=4, max_train=None)
    capped = model_folds(fm, "sql", horizon_months=1, min_train_months=4, max_train=500)
    for f, c in zip(full.folds, capped.folds, strict=True):
        assert f.n_train == c.n_train == len(f.train_rows) > 500
        assert not np.array_equal(f.p_test, c.p_test)  # a different fit
