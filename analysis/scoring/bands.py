"""Score bands of handed-off leads under the saved current rule, as SQL for breakdowns.

Query intuition
---------------
The funnel and rejection pages break results down by ``score_band``: the score a lead had
at its handoff under the rule in use. That score must be the scoring lab's score, so the
SQL here is assembled from the one feature definition (:data:`analysis.scoring.features.
FEATURES`, the per-feature SQL, and its touchpoint aggregates) and the one rule: the
``scoring_models`` row the lab calls current (the newest row whose id or name says
"current", else the newest row; :func:`analysis.scoring.configs.load_config`), read by the
SQL itself, or :data:`analysis.scoring.configs.STARTER_WEIGHTS` when nothing is saved.

1. ``h``: every handed-off lead and its handoff time (first entry of ``mql`` or, when
   skipped, of the next stage reached).
2. ``tp``: its touchpoints at or before the handoff, folded into the per-lead counts the
   features read.
3. The score: for every feature, its points in the rule's JSON weights (0 when absent)
   times the feature's 0/1 value, summed; the band is :data:`SCORE_BANDS`.

The SQL is self-contained (no bound parameters), because callers embed it in their own
queries. Features that depend on the company's settings (``senior_title``,
``target_region``, ``target_industry``: their SQL takes the settings as parameters) and
imported lead properties are therefore not part of the band score; the band says so in
its label on the pages that show it.
"""

from __future__ import annotations

import json

SCORE_BANDS: tuple[str, ...] = ("<25", "25-49", "50-74", "75+")
"""Bands of the rule score at handoff, in display order."""

CURRENT_RULE_SQL = """
SELECT CAST(weights AS VARCHAR) AS weights
FROM scoring_models
ORDER BY (lower(coalesce(model_id, '')) LIKE '%current%'
          OR lower(coalesce(name, '')) LIKE '%current%') DESC,
    created_at DESC NULLS LAST, model_id
LIMIT 1
"""
"""The current rule's weights (JSON text), chosen as :func:`configs.load_config` does."""


def band_features() -> tuple[str, ...]:
    """Names of the features whose points enter the band score (no settings needed)."""
    from analysis.scoring.features import FEATURES

    return tuple(f.name for f in FEATURES if "$" not in f.sql)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def touch_counts_sql(only: str | None = None, touchpoints: str = "touchpoints") -> str:
    """SQL (a SELECT) of ``lead_id`` and the touchpoint counts the scores read, per lead.

    One row per lead with a first handoff (its first entry into ``mql`` or a later stage,
    the skip rule); each count column of the scoring lab's feature definitions covers the
    lead's touchpoints at or before that handoff (0 when none). Inside
    :func:`analysis.lifecycle.journey.reading` on a fresh file the rows are read from
    ``journey_touches``, where the write session stored this same SELECT.

    Parameters
    ----------
    only : str, optional
        A relation of the caller's query (with a ``lead_id`` column): those leads only.
    touchpoints : str
        The relation to read touchpoints from (a CTE of the caller, or the table); it
        must hold every touchpoint of those leads up to their first handoff.
    """
    from analysis.definitions import HANDOFF_STAGE, reached_at_sql
    from analysis.lifecycle import journey
    from analysis.scoring.features import _DETAILS, _TOUCH_AGGREGATES

    keep = f"AND lead_id IN (SELECT lead_id FROM {only})" if only else ""
    if journey.active():
        return f"SELECT * FROM {journey.TOUCHES} WHERE TRUE {keep}"
    touch = ",\n            ".join(f"{expr} AS {name}" for name, expr in _TOUCH_AGGREGATES)
    counts = ", ".join(f"coalesce(tp.{name}, 0) AS {name}" for name, _ in _TOUCH_AGGREGATES)
    known = ", ".join(f"'{d}'" for d in _DETAILS)
    first_handoff = f"""
        SELECT sc.lead_id, {reached_at_sql(HANDOFF_STAGE, "sc")} AS handoff_at
        FROM stage_changes sc WHERE TRUE {keep}
        GROUP BY sc.lead_id"""
    return f"""
    SELECT h.lead_id, {counts}
    FROM ({first_handoff}
    ) h
    LEFT JOIN (
        SELECT t.lead_id,
            {touch}
        FROM (
            SELECT tt.lead_id, tt.kind, tt.value, tt.occurred_at,
                CASE WHEN tt.detail IN ({known}) THEN tt.detail
                    ELSE lower(trim(tt.detail)) END AS d
            FROM {touchpoints} tt WHERE TRUE {keep}
        ) t
        JOIN ({first_handoff}
        ) hh ON hh.lead_id = t.lead_id AND t.occurred_at <= hh.handoff_at
        GROUP BY t.lead_id
    ) tp ON tp.lead_id = h.lead_id
    WHERE h.handoff_at IS NOT NULL"""


def score_band_sql(
    points: dict[str, float] | None = None,
    only: str | None = None,
    touchpoints: str = "touchpoints",
    leads: str = "leads",
) -> str:
    """SQL (a SELECT) of ``lead_id``, ``score`` and ``score_band`` of every handed-off lead.

    The score adds the points of each feature the lead had at its first handoff: its
    touchpoint counts then (:func:`touch_counts_sql`) and its lead fields.

    Parameters
    ----------
    points : dict of str to float, optional
        Points per feature to use instead of the saved current rule.
    only : str, optional
        A relation of the caller's query (with a ``lead_id`` column): score only those.
    touchpoints : str
        The relation to read touchpoints from (a CTE of the caller, or the table).
    leads : str
        The relation to read the leads' fields from (a CTE of the caller holding at least
        the scored leads, or the table).
    """
    from analysis.scoring.configs import STARTER_WEIGHTS
    from analysis.scoring.features import FEATURES

    if points is None:
        rule = f"coalesce(({CURRENT_RULE_SQL}), {_literal(json.dumps(STARTER_WEIGHTS))})"
    else:
        rule = _literal(json.dumps({k: float(v) for k, v in points.items()}))
    banded = set(band_features())
    used = [f for f in FEATURES if f.name in banded]
    # the rule's JSON is read once (one row of weights), not once per lead and feature
    weights = ",\n            ".join(
        f"coalesce(TRY_CAST(json_extract_string(r.weights, '$.\"{f.name}\"') AS DOUBLE), 0)"
        f' AS "w_{f.name}"'
        for f in used
    )
    terms = "\n            + ".join(
        f'w."w_{f.name}" * CAST(coalesce({f.sql}, false) AS INTEGER)' for f in used
    )
    return f"""
    SELECT s.lead_id, s.score,
        CASE WHEN s.score < 25 THEN '{SCORE_BANDS[0]}' WHEN s.score < 50 THEN '{SCORE_BANDS[1]}'
             WHEN s.score < 75 THEN '{SCORE_BANDS[2]}' ELSE '{SCORE_BANDS[3]}' END AS score_band
    FROM (
        SELECT a.lead_id,
            {terms} AS score
        FROM ({touch_counts_sql(only, touchpoints)}
        ) a
        JOIN {leads} l ON l.lead_id = a.lead_id
        CROSS JOIN (SELECT {weights} FROM (SELECT {rule} AS weights) r) w
    ) s
    """
