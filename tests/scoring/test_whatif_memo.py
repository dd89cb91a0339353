"""The what-if's kept results never leak between rules, reps or outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.scoring.whatif import evaluate, what_if
from tests.scoring.test_whatif import random_config, random_matrix


def test_kept_results_match_fresh_ones() -> None:
    """Replays with changing current rules, reps and windows on one matrix equal the same
    replays computed from scratch (no kept result is reused for other inputs)."""
    fm = random_matrix(8)
    rng = np.random.default_rng(8)
    reps_a = pd.DataFrame(
        {"rep_id": ["R1", "R2"], "territory": ["EMEA", "APAC"], "capacity": [5, 5]}
    )
    reps_b = reps_a.assign(capacity=[1, 50])
    for i in range(12):
        cur, prop = random_config(rng, "c"), random_config(rng, "p")
        reps = reps_a if i % 2 else reps_b
        window = None if i % 3 else 10.0
        w = what_if(fm, cur, prop, "sql", reps, window)
        fresh_cur = evaluate(random_matrix(8), cur, "sql", reps, window)
        assert w.current.mqls == fresh_cur.mqls
        assert w.current.precision_k == fresh_cur.precision_k
        assert w.current.reps_over_capacity == fresh_cur.reps_over_capacity
        assert np.array_equal(w.current.load, fresh_cur.load)
        assert int(w.current.rep_load["over_capacity"].sum()) == int(
            fresh_cur.rep_load["over_capacity"].sum()
        )
