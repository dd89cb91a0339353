"""Scoring configurations: points per feature and a threshold, their scores, and storage.

Query intuition
---------------
A *scoring configuration* gives points per feature (negative points allowed) and an MQL
threshold: a lead whose score, the sum of its features' values times their points, is at
or above the threshold would be handed to sales. Scoring a whole history is therefore one
matrix product ``X @ w`` over the :class:`~analysis.scoring.matrix.FeatureMatrix` built
once; nothing is re-queried or refitted when the points change.

The score splits into a **fit score** (points of the ``fit`` features: who they are) and an
**engagement score** (points of the ``engagement`` features: what they did). The 2x2 of
the two gives the four lead categories of DESIGN.md. By default a lead has *good fit* when
its fit score is at least half the MQL threshold and is *sales-ready* when its engagement
score is at least half the threshold. Half each is the neutral split (neither side is
favoured) and it makes the top-left quadrant a subset of the MQLs: fit >= T/2 and
engagement >= T/2 imply fit + engagement >= T. Both quadrant thresholds are parameters.

Saved configurations are rows of ``scoring_models``; the *current rule* is the newest row
whose id or name says "current" (else the newest row). Before any rule is saved, the
score bands of the lifecycle pages use :data:`STARTER_WEIGHTS`, the example of DESIGN.md.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from analysis import store
from analysis.scoring.matrix import FeatureMatrix

STARTER_WEIGHTS: dict[str, float] = {
    "pricing_page": 25.0,
    "demo_request": 50.0,
    "blog_over_hour": 10.0,
    "careers_only": -10.0,
}
"""The example points of DESIGN.md: the rule of the score bands until a rule is saved."""

CURRENT_MARKER = "current"
"""A saved configuration whose ``model_id`` or ``name`` contains this word (any case) is
a candidate for the current rule; the newest such row wins."""

QUADRANTS: tuple[str, ...] = (
    "good fit, sales-ready",
    "poor fit, sales-ready",
    "good fit, not ready",
    "poor fit, not ready",
)
"""Quadrant labels by code: 0 = hand off now, 1 and 2 = nurture, 3 = never route to sales."""

SCORING_MODEL_COLUMNS = store.TABLES["scoring_models"].column_names
"""Columns of the ``scoring_models`` table, in schema (and CSV export) order."""


# --------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoringConfig:
    """Points per feature and an MQL threshold.

    Attributes
    ----------
    weights : dict of str to float
        Points a lead gets for having each feature (0/1 features); negative allowed.
        Features not listed get 0 points.
    threshold : float
        A lead with score >= threshold would be an MQL.
    name : str
        Label for people ("Current rule", "Fitted 2026-10").
    model_id : str
        Identifier of the saved ``scoring_models`` row, '' when not saved.
    """

    weights: Mapping[str, float]
    threshold: float
    name: str = ""
    model_id: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.weights, Mapping):
            raise TypeError(
                f"weights must be a mapping of feature name to points, "
                f"got {type(self.weights).__name__}"
            )
        clean: dict[str, float] = {}
        for key, value in self.weights.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"feature names must be non-empty strings, got {key!r}")
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise TypeError(f"points for {key!r} must be a number, got {value!r}")
            if not math.isfinite(float(value)):
                raise ValueError(f"points for {key!r} must be finite, got {value}")
            clean[key] = float(value)
        if isinstance(self.threshold, bool) or not isinstance(
            self.threshold, int | float | np.number
        ):
            raise TypeError(f"threshold must be a number, got {self.threshold!r}")
        if not math.isfinite(float(self.threshold)):
            raise ValueError(f"threshold must be finite, got {self.threshold}")
        object.__setattr__(self, "weights", clean)
        object.__setattr__(self, "threshold", float(self.threshold))

    def __hash__(self) -> int:
        return hash((tuple(self.weights.items()), self.threshold, self.name, self.model_id))

    def validate(self, names: Sequence[str]) -> None:
        """Raise ValueError when a weight names a feature not in ``names``."""
        known = set(names)
        unknown = [k for k in self.weights if k not in known]
        if unknown:
            raise ValueError(
                f"scoring configuration {self.name or '(unnamed)'!r} gives points to unknown "
                f"feature(s) {', '.join(map(repr, unknown))}; known features: {', '.join(names)}"
            )

    def vector(self, names: Sequence[str]) -> np.ndarray:
        """Points per column, in the order of ``names`` (float32, 0 for unlisted features)."""
        self.validate(names)
        return np.array([self.weights.get(n, 0.0) for n in names], dtype=np.float32)

    def with_changes(
        self,
        weights: Mapping[str, float] | None = None,
        threshold: float | None = None,
        name: str | None = None,
    ) -> ScoringConfig:
        """A copy with some points, the threshold or the name replaced (model_id cleared)."""
        merged = dict(self.weights)
        merged.update(weights or {})
        return ScoringConfig(
            merged,
            self.threshold if threshold is None else threshold,
            self.name if name is None else name,
        )


_THREADPOOLS: list[ThreadpoolController] = []
"""The process's thread pools, scanned once: building a controller reads the loaded
libraries from /proc (~10 ms), far more than the product it guards."""


def _one_blas_thread():  # noqa: ANN202 - a context manager from threadpoolctl
    if not _THREADPOOLS:
        _THREADPOOLS.append(ThreadpoolController())
    return _THREADPOOLS[0].limit(limits=1, user_api="blas")


def _weight_matrix(fm: FeatureMatrix, config: ScoringConfig) -> np.ndarray:
    """(p, 2) float32 points: column 0 fit features only, column 1 engagement only."""
    w = config.vector(fm.names)
    is_fit = np.array([k == "fit" for k in fm.kinds])
    return np.ascontiguousarray(np.column_stack([np.where(is_fit, w, 0), np.where(is_fit, 0, w)]))


def split_scores(fm: FeatureMatrix, config: ScoringConfig) -> tuple[np.ndarray, np.ndarray]:
    """Fit score and engagement score of every lead, from one pass over ``X``.

    Returns
    -------
    fit, engagement : ndarray of float64, shape (n,)
        Sums of the points of the lead's fit features and of its engagement features.
        The sums are formed in float32 (exact for whole points below 2**24).
    """
    W = _weight_matrix(fm, config)
    # A (n, p) x (p, 2) product is memory-bound: one BLAS thread is as fast as two, and
    # does not collapse (10 ms -> 200+ ms at 1M leads) when other processes hold the cores.
    with _one_blas_thread():
        both = fm.X @ W
    return both[:, 0].astype(np.float64), both[:, 1].astype(np.float64)


def score(fm: FeatureMatrix, config: ScoringConfig) -> np.ndarray:
    """Score of every lead: the sum of the points of its features (``X @ w``).

    Returns
    -------
    ndarray of float64, shape (n,)
        Equals ``fit_score + engagement_score``; compare with ``config.threshold``.
    """
    fit, engagement = split_scores(fm, config)
    return fit + engagement


def fit_score(fm: FeatureMatrix, config: ScoringConfig) -> np.ndarray:
    """Points of the lead's fit features (who they are), float64 of shape (n,)."""
    return split_scores(fm, config)[0]


def engagement_score(fm: FeatureMatrix, config: ScoringConfig) -> np.ndarray:
    """Points of the lead's engagement features (what they did), float64 of shape (n,)."""
    return split_scores(fm, config)[1]


def quadrant_thresholds(
    config: ScoringConfig,
    fit_threshold: float | None = None,
    engagement_threshold: float | None = None,
) -> tuple[float, float]:
    """(fit, engagement) thresholds of the 2x2; each defaults to half the MQL threshold."""
    half = config.threshold / 2
    return (
        half if fit_threshold is None else float(fit_threshold),
        half if engagement_threshold is None else float(engagement_threshold),
    )


def quadrant_codes(
    fit: np.ndarray, engagement: np.ndarray, fit_threshold: float, engagement_threshold: float
) -> np.ndarray:
    """Quadrant of each lead as an index into :data:`QUADRANTS` (int8).

    0 = good fit (fit >= fit_threshold) and sales-ready (engagement >=
    engagement_threshold), 1 = poor fit and ready, 2 = good fit and not ready, 3 = neither.
    """
    return (fit < fit_threshold).astype(np.int8) + 2 * (engagement < engagement_threshold).astype(
        np.int8
    )


def quadrants(
    fm: FeatureMatrix,
    config: ScoringConfig,
    fit_threshold: float | None = None,
    engagement_threshold: float | None = None,
) -> np.ndarray:
    """Quadrant code (index into :data:`QUADRANTS`) of every lead under ``config``."""
    ft, et = quadrant_thresholds(config, fit_threshold, engagement_threshold)
    fit, engagement = split_scores(fm, config)
    return quadrant_codes(fit, engagement, ft, et)


def points_frame(config: ScoringConfig, fm: FeatureMatrix | None = None) -> pd.DataFrame:
    """Points per feature as a table: ``feature``, ``kind``, ``points``.

    With ``fm``, every feature of the matrix is listed (0 points when the configuration
    does not mention it) in matrix order; without it, only the configured features.
    """
    if fm is None:
        return pd.DataFrame(
            {
                "feature": list(config.weights),
                "kind": [""] * len(config.weights),
                "points": list(config.weights.values()),
            }
        )
    config.validate(fm.names)
    return pd.DataFrame(
        {
            "feature": list(fm.names),
            "kind": list(fm.kinds),
            "points": [config.weights.get(n, 0.0) for n in fm.names],
        }
    )


# --------------------------------------------------------------------------------------
# Stored configurations
# --------------------------------------------------------------------------------------

LOAD_CONFIGS_SQL = """
SELECT model_id, name, created_at, author, CAST(weights AS VARCHAR) AS weights, threshold,
    origin, note
FROM scoring_models
ORDER BY created_at DESC NULLS LAST, model_id
"""


def _parse_weights(text: object, model_id: str) -> dict[str, float]:
    try:
        weights = json.loads(str(text))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"scoring model {model_id!r}: weights are not valid JSON ({exc})"
        ) from None
    if not isinstance(weights, dict):
        raise ValueError(
            f"scoring model {model_id!r}: weights must be a JSON object of feature to points, "
            f"got {type(weights).__name__}"
        )
    return weights


def load_configs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Saved scoring configurations, newest first.

    Returns
    -------
    DataFrame
        Columns of ``scoring_models``: ``model_id``, ``name``, ``created_at`` (UTC),
        ``author``, ``weights`` (JSON text), ``threshold``, ``origin`` (manual/fitted),
        ``note``; plus ``current`` (bool), True on the row :func:`load_config` returns
        when no ``model_id`` is given.
    """
    out = con.execute(LOAD_CONFIGS_SQL).df()
    out["current"] = False
    if len(out):
        out.loc[_current_row(out), "current"] = True
    return out


def _current_row(rows: pd.DataFrame) -> int:
    marked = rows["model_id"].fillna("").str.lower().str.contains(CURRENT_MARKER) | rows[
        "name"
    ].fillna("").str.lower().str.contains(CURRENT_MARKER)
    # Rows are newest first, so the first marked row is the newest one.
    return int(np.flatnonzero(marked.to_numpy())[0]) if marked.any() else 0


def _config_from_row(row: pd.Series) -> ScoringConfig:
    return ScoringConfig(
        _parse_weights(row["weights"], row["model_id"]),
        float(row["threshold"]),
        name=str(row["name"] or row["model_id"]),
        model_id=str(row["model_id"]),
    )


def load_config(con: duckdb.DuckDBPyConnection, model_id: str | None = None) -> ScoringConfig:
    """One saved configuration: ``model_id``, or by default the current rule.

    The current rule is the newest row (by ``created_at``) whose ``model_id`` or ``name``
    contains "current" (any case); when no row is marked so, the newest row of all.
    Raises LookupError when the table is empty or ``model_id`` is not in it.
    """
    rows = load_configs(con)
    if rows.empty:
        raise LookupError("no saved scoring configuration: the scoring_models table is empty")
    if model_id is None:
        return _config_from_row(rows.loc[rows["current"]].iloc[0])
    hit = rows.loc[rows["model_id"] == model_id]
    if hit.empty:
        raise LookupError(
            f"no scoring configuration with model_id {model_id!r}; saved: "
            f"{', '.join(rows['model_id'].astype(str))}"
        )
    return _config_from_row(hit.iloc[0])


def config_to_json(config: ScoringConfig) -> str:
    """The configuration as JSON text: ``{"name", "model_id", "threshold", "weights"}``."""
    return json.dumps(
        {
            "name": config.name,
            "model_id": config.model_id,
            "threshold": config.threshold,
            "weights": config.weights,
        },
        indent=2,
    )


def config_from_json(text: str) -> ScoringConfig:
    """Read a configuration written by :func:`config_to_json`."""
    data = json.loads(text)
    if not isinstance(data, dict) or "weights" not in data or "threshold" not in data:
        raise ValueError(
            "expected a JSON object with 'weights' and 'threshold', "
            f"got {type(data).__name__} with keys {sorted(data) if isinstance(data, dict) else []}"
        )
    return ScoringConfig(
        data["weights"],
        data["threshold"],
        name=str(data.get("name", "")),
        model_id=str(data.get("model_id", "")),
    )


def config_to_csv(
    config: ScoringConfig,
    *,
    model_id: str | None = None,
    author: str = "",
    note: str = "",
    origin: str = "manual",
    created_at: datetime | None = None,
) -> str:
    """The configuration as a one-row ``scoring_models.csv`` that ``handoff import`` accepts.

    Columns in schema order (``model_id,name,created_at,author,weights,threshold,origin,
    note``); ``weights`` is JSON text; ``created_at`` is ISO 8601 UTC (now by default; a
    naive value is taken to be UTC).
    """
    when = _utc_naive(created_at)
    mid = model_id or config.model_id or _new_model_id(config, when)
    row = {
        "model_id": mid,
        "name": config.name or mid,
        "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "author": author,
        "weights": json.dumps(config.weights),
        "threshold": _number_text(config.threshold),
        "origin": origin,
        "note": note,
    }
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SCORING_MODEL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    return buf.getvalue()


def _utc_naive(when: datetime | None) -> datetime:
    """``when`` as naive UTC (a naive value is taken to be UTC already); now by default."""
    if when is None:
        return datetime.now(UTC).replace(tzinfo=None)
    if when.tzinfo is None:
        return when
    return when.astimezone(UTC).replace(tzinfo=None)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _new_model_id(config: ScoringConfig, when: datetime) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", config.name.lower()).strip("-") or "config"
    return f"{slug[:40]}-{when.strftime('%Y%m%d%H%M%S')}"


INSERT_CONFIG_SQL = "INSERT INTO scoring_models VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def save_config(
    db_path: Path | str,
    config: ScoringConfig,
    note: str = "",
    author: str = "",
    *,
    origin: str = "manual",
    model_id: str | None = None,
    created_at: datetime | None = None,
    make_current: bool = False,
) -> str:
    """Save a configuration as a new ``scoring_models`` row; returns its ``model_id``.

    The write goes through :func:`analysis.store.write_session` (a copy of the file is
    written and swapped in), so it is safe while the dashboard reads the file. Saved rows
    are history: an existing ``model_id`` is never overwritten (ValueError). Without
    ``model_id`` one is made from the name and the UTC time.

    The current rule changes everyone's numbers, so it changes only on purpose: a name or
    ``model_id`` containing "current" is refused (ValueError) unless ``make_current`` is
    true, and ``make_current`` marks the saved row as the new current rule (its name gets
    the "current: " prefix when it lacks the marker; see :func:`load_config`).
    """
    marked = CURRENT_MARKER in f"{config.name or ''} {model_id or config.model_id or ''}".lower()
    if marked and not make_current:
        raise ValueError(
            f'"{CURRENT_MARKER}" is reserved for the rule everyone sees: choose another name, '
            "or make this configuration the current rule explicitly"
        )
    if make_current and not marked:
        config = config.with_changes(name=f"{CURRENT_MARKER}: {config.name or 'rule'}")
    allowed = store.TABLES["scoring_models"].column("origin").allowed or ()
    if origin not in allowed:
        raise ValueError(f"origin must be one of {', '.join(allowed)}, got {origin!r}")
    when = _utc_naive(created_at)
    mid = model_id or config.model_id or _new_model_id(config, when)
    with store.write_session(db_path, derive=False) as con:
        (taken,) = con.execute(
            "SELECT count(*) FROM scoring_models WHERE model_id = ?", [mid]
        ).fetchone()
        if taken and model_id is not None:
            raise ValueError(f"a scoring configuration with model_id {mid!r} already exists")
        base, k = mid, 1
        while taken:
            k += 1
            mid = f"{base}-{k}"
            (taken,) = con.execute(
                "SELECT count(*) FROM scoring_models WHERE model_id = ?", [mid]
            ).fetchone()
        con.execute(
            INSERT_CONFIG_SQL,
            [
                mid,
                config.name or mid,
                when,
                author or None,
                json.dumps(config.weights),
                config.threshold,
                origin,
                note or None,
            ],
        )
    return mid


def configs_frame(configs: Iterable[ScoringConfig], fm: FeatureMatrix) -> pd.DataFrame:
    """Points of several configurations side by side: ``feature``, ``kind``, one column each.

    Column names are the configuration names (or ``config 1``, ``config 2``, ...).
    """
    out = pd.DataFrame({"feature": list(fm.names), "kind": list(fm.kinds)})
    for i, config in enumerate(configs, start=1):
        config.validate(fm.names)
        out[config.name or f"config {i}"] = [config.weights.get(n, 0.0) for n in fm.names]
    return out
