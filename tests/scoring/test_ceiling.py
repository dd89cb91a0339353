"""The gradient-boosted ceiling finds signal the additive points cannot express."""

from __future__ import annotations

import numpy as np

from analysis.scoring.ceiling import fit_ceiling
from tests.scoring.test_model import make_matrix


def test_ceiling_sees_an_interaction_the_points_cannot() -> None:
    """The outcome is likely only when exactly one of a and b is present (an XOR, which no
    sum of points can rank): the boosted model's AUC beats the logistic one by > 0.15;
    on the same split, both are computed on the same test leads."""
    rng = np.random.default_rng(0)
    n = 8000
    X = (rng.random((n, 3)) < 0.5).astype(np.float32)
    xor = (X[:, 0] != X[:, 1]).astype(float)
    y = rng.random(n) < np.where(xor == 1, 0.7, 0.2)
    fm = make_matrix(X, ["a", "b", "c"], reached_sql=y)
    c = fit_ceiling(fm, "sql")
    assert c.method == "time split"
    assert c.auc_boosted - c.auc_logistic > 0.15
    assert c.gap == c.auc_boosted - c.auc_logistic
    assert c.n_test == 2000
