"""Whole-number points: the count tables give the float path's what-if numbers exactly."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import store
from analysis.scoring import cache, decay, features, tally, whatif
from analysis.scoring import model as scoring
from analysis.scoring.configs import ScoringConfig
from tests.scoring.test_whatif import REPS, brute_force, random_config, random_matrix

FIELDS = ("mqls", "precision_k", "precision_n", "recall_k", "recall_n", "n_unobserved")
ARRAYS = ("mqls_by_month", "quadrant_leads", "quadrant_mqls", "load", "unrouted_by_month")


def halved(config: ScoringConfig) -> ScoringConfig:
    """The same rule with every point and the threshold halved: the same MQLs and quadrants,
    but fractional points, so it takes the float path (halving is exact in binary)."""
    return ScoringConfig(
        {k: v / 2 for k, v in config.weights.items()}, config.threshold / 2, config.name
    )


def assert_same(a: whatif.ConfigResult, b: whatif.ConfigResult) -> None:
    for name in FIELDS:
        assert getattr(a, name) == getattr(b, name), name
    for name in ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(a.is_mql, b.is_mql)


def test_tally_equals_the_float_path_and_plain_loops() -> None:
    """On random matrices, integer rules (the tally) and the same rules halved (the float
    path) give identical numbers at whole and fractional thresholds, and the MQL count and
    reached count are those of a plain loop over the leads."""
    for seed in range(6):
        fm = random_matrix(seed)
        rng = np.random.default_rng(seed)
        cur = random_config(rng, "c")
        for threshold in (cur.threshold - 7, cur.threshold + 0.5, cur.threshold + 11):
            prop = cur.with_changes(threshold=threshold)
            assert tally.fits(fm, prop) and not tally.fits(fm, halved(prop))
            w = whatif.what_if(fm, cur, prop, "sql", REPS)
            f = whatif.what_if(fm, halved(cur), halved(prop), "sql", REPS)
            assert_same(w.proposed, f.proposed)
            assert (w.changed_in, w.changed_out) == (f.changed_in, f.changed_out)
            loop = brute_force(fm, prop, None)
            assert w.proposed.mqls == loop["mqls"] and w.proposed.precision_k == loop["k"]


def test_threshold_reads_the_right_row() -> None:
    """Scores 0, 5, 5 and 10 (one 0/1 feature worth 5, another worth 5): thresholds 4.5 and
    5 both make 3 MQLs (5, 5, 10), 5.5 makes 1 (10), 11 none, -3 all 4."""
    fm = random_matrix(0, n=4)
    X = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32)
    fm.X = np.zeros((4, fm.X.shape[1]), dtype=np.float32)
    fm.X[:, :2] = X
    fm.decision_at[:] = fm.as_of  # all decided
    rule = ScoringConfig({fm.names[0]: 5, fm.names[1]: 5}, 0)
    lay = tally.layout(fm, fm.decided, fm.observed() & fm.decided, fm.outcome("sql"))
    fit, engagement = whatif.split_scores(fm, rule)
    t = tally.tally(lay, fit, engagement)
    for threshold, mqls in ((4.5, 3), (5, 3), (5.5, 1), (11, 0), (-3, 4)):
        assert int(t.by_status[t.index(threshold)][:3].sum()) == mqls, threshold


@pytest.fixture(scope="module")
def demo(demo_db):
    con = store.connect_read_only(demo_db)
    try:
        fm = features.build_features(con)
        yield fm, scoring.load_config(con), whatif.load_reps(con), decay.engagement_ages(con)
    finally:
        con.close()


def test_demo_numbers_are_identical_on_both_paths(demo) -> None:
    """On the demo (50k leads, the planted rule), every what-if number at five thresholds is
    the same from the tally as from the float path; a faded matrix uses the float path."""
    fm, current, reps, ages = demo
    for step in (-20, -5, 0, 5, 20):
        prop = current.with_changes(threshold=current.threshold + step)
        w = whatif.what_if(fm, current, prop, "sql", reps, 90)
        f = whatif.what_if(fm, halved(current), halved(prop), "sql", reps, 90)
        assert_same(w.proposed, f.proposed)
        assert w.proposed.reps_over_capacity == f.proposed.reps_over_capacity
    faded = decay.decayed(fm, ages, decay.Decay("half-life", 30))
    assert tally.fits(fm, current) and not tally.fits(faded, current)


def test_fast_fade_is_within_its_stated_tolerance(demo) -> None:
    """The one-pass fade equals the per-column float64 factor cast to float32: exactly for
    linear decay, within 1e-6 for a half-life (the faded values lie in 0..1)."""
    fm, _, _, ages = demo
    for fade, tol in ((decay.Decay("linear", 45), 0.0), (decay.Decay("half-life", 7), 1e-6)):
        fast = decay.decayed(fm, ages, fade).X
        slow = fm.X.copy()
        for j, name in enumerate(ages.names):
            if name in fm.names:
                slow[:, fm.index(name)] *= fade.factor(ages.days[:, j]).astype(np.float32)
        assert float(np.max(np.abs(fast - slow))) <= tol
        assert not np.array_equal(fast, fm.X)  # something did fade


def test_peek_and_put_round_trip(tmp_path, monkeypatch) -> None:
    """An entry put under (kind, version, settings) is read back by peek; another settings
    tuple or file version finds nothing."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    version = ("/x.duckdb", 1, 2, 3)
    cache.put("validation", version, ("sql", None), {"auc": 0.61})
    assert cache.peek("validation", version, ("sql", None)) == {"auc": 0.61}
    assert cache.peek("validation", version, ("sql", 30)) is None
    assert cache.peek("validation", ("/x.duckdb", 1, 2, 4), ("sql", None)) is None


def test_fade_of_the_non_zero_entries_equals_the_whole_block(demo) -> None:
    """Fading only the leads that have each engagement feature gives exactly the matrix that
    multiplying every lead's column by its factor gives (a zero stays zero)."""
    fm, _, _, ages = demo
    for fade in (decay.Decay("linear", 45), decay.Decay("half-life", 7)):
        fast = decay.decayed(fm, ages, fade).X
        block = fm.X.copy()
        for j, name in enumerate(ages.names):
            if name in fm.names:
                block[:, fm.index(name)] *= fade.factor32(ages.days[:, j])
        assert np.array_equal(fast, block)


def test_a_faded_copy_replays_like_a_fresh_matrix(demo) -> None:
    """The faded matrix shares its leads' outcomes and routing with the unfaded one; its
    what-if equals that of the same values in a matrix of its own."""
    import dataclasses

    fm, current, reps, ages = demo
    whatif.what_if(fm, current, current, "sql", reps, 90)  # the unfaded context first
    faded = decay.decayed(fm, ages, decay.Decay("half-life", 30))
    alone = dataclasses.replace(fm, X=faded.X.copy())
    tally.mark_not_whole(alone, list(range(alone.X.shape[1])))
    prop = current.with_changes(threshold=current.threshold - 5)
    shared = whatif.what_if(faded, current, prop, "sql", reps, 90)
    fresh = whatif.what_if(alone, current, prop, "sql", reps, 90)
    assert_same(shared.proposed, fresh.proposed)
    assert_same(shared.current, fresh.current)
    assert shared.proposed.mqls != whatif.what_if(fm, current, prop, "sql", reps, 90).proposed.mqls


def test_the_second_look_at_new_points_reads_the_tables_and_agrees() -> None:
    """New whole points replay on the float path first; the same points asked again (a
    threshold move) build the count tables, and both replays give the same numbers."""
    fm = random_matrix(11)
    rng = np.random.default_rng(11)
    cur, prop = random_config(rng, "c"), random_config(rng, "p")
    first = whatif.what_if(fm, cur, prop, "sql", REPS)
    ctx, _ = whatif._context(fm, "sql", None, REPS)
    points = tuple(sorted(prop.weights.items()))
    assert ctx.scored[points][3] is None  # one look: no tables yet
    again = whatif.what_if(fm, cur, prop, "sql", REPS)
    assert ctx.scored[points][3] is not None  # the second look built them
    assert_same(first.proposed, again.proposed)
