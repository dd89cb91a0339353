"""Cached resources and small table helpers for the Scoring lab page.

The feature matrix (one row per lead, ~20 float32 columns) is built once per version of
the database file, through the dashboard's one cached connection (:func:`dashboard.state.
cursor`), and kept with ``st.cache_resource``: it is never pickled, copied or mutated.
Imported lead properties chosen as features extend a copy of it
(:func:`analysis.scoring.properties.add_properties`), kept the same way per (database
version, sorted property names), so the default path (no properties) stays the one
cached matrix. The fitted model is kept per (database version, outcome,
window, properties). Everything that depends on the points or the threshold is numpy
over that matrix (:func:`analysis.scoring.whatif.what_if`), so moving a slider never re-queries
or refits.

The helpers below only reshape what :mod:`analysis.scoring.whatif` and :mod:`analysis.scoring.model`
return into tables for display; the numbers themselves come from there.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterable, Mapping, Sequence

import duckdb
import numpy as np
import pandas as pd
import streamlit as st

from analysis import config
from analysis.scoring import cache, decay, features, leakage, properties, whatif
from analysis.scoring import configs as scoring
from analysis.scoring.configs import ScoringConfig
from analysis.scoring.matrix import FeatureMatrix
from analysis.scoring.model import ModelReport, fit_model
from dashboard import scoring_flow as flow
from dashboard import scoring_jobs as jobs
from dashboard import scoring_labels as labels
from dashboard import state

OUTCOME_LABELS: dict[str, str] = {
    "sql": "reached SQL",
    "opportunity": "reached opportunity",
    "customer": "became customer",
}
"""Outcome codes of :data:`analysis.scoring.features.OUTCOMES` and how the page names them."""

WINDOWS: tuple[int, ...] = (0, 30, 60, 90, 180, 365)
"""Conversion windows offered (days after the decision point); 0 = any time."""

EDITOR_COLUMNS = [
    "label",
    "feature",
    "kind",
    "current",
    "proposed",
    "suggested",
    "share",
    "description",
]
"""Columns of the points editor, in display order."""

NO_RULE_NAME = "no saved rule"

EDITOR_ROWS = 30
"""The points editor shows at most this many rows at once and scrolls beyond."""

EDITOR_ROW_PX = 35
"""Height in pixels of a row of the points editor and of its header (Streamlit's own)."""

EDITOR_WIDTHS = {"label": 150, "kind": 100, "current": 60, "proposed": 90, "suggested": 56}
"""Widths in pixels of the points editor's narrow columns, in display order."""

Properties = tuple[str, ...]
"""Names of imported lead properties chosen as features, sorted (a cache key)."""

FLAGGED = "likely leakage"
"""The :func:`analysis.scoring.leakage.property_leakage` verdict that needs an explicit
confirmation before the property is used as a feature."""

EVIDENCE_COLUMNS = [
    "property",
    "verdict",
    "auc",
    "missing_never_handed_off",
    "missing_handed_off",
    "evidence",
    "kind",
    "leads",
    "examples",
]
"""Columns of the leakage evidence table, in display order."""


def window_label(days: int) -> str:
    """'any time' (0) or 'within N days'."""
    return f"within {days} days" if days else "any time"


def within_days(days: int) -> int | None:
    """The ``within_days`` argument of the engine for a window choice (0 = None)."""
    return int(days) if days else None


def editor_key(version: int, properties: Sequence[str] = ()) -> str:
    """Widget key of the points editor; a new version starts from fresh, unedited data.

    The chosen lead properties are part of the key (as a short digest) because they change
    the editor's rows: edits are kept by row position, so a new set of rows needs a fresh
    editor (which starts from the proposed points kept in ``sl_base``). Without properties
    the key is ``sl_points_<version>``.
    """
    if not properties:
        return f"sl_points_{version}"
    digest = hashlib.sha1("\x1f".join(sorted(properties)).encode()).hexdigest()[:8]
    return f"sl_points_{version}_{digest}"


def confirm_key(name: str) -> str:
    """Widget key of the "use it anyway" checkbox of a flagged lead property."""
    return f"sl_prop_ok_{name}"


# --------------------------------------------------------------------------------------
# Page state: the proposed points and threshold survive reruns and page switches
# --------------------------------------------------------------------------------------


def init_state(current: ScoringConfig) -> None:
    """Start the proposed rule from the current one, once per session.

    ``sl_base`` holds the proposed points, ``sl_keep_threshold`` the proposed threshold
    (kept outside the slider's own state, which Streamlit drops when the page is left or
    the slider's range changes) and ``sl_points_version`` the editor's key suffix. The
    page adds ``sl_editor_base``: the points a points editor was created from, which its
    data keeps while edits pile up in its own state.
    """
    ss = st.session_state
    ss.setdefault("sl_base", dict(current.weights))
    ss.setdefault("sl_keep_threshold", current.threshold)
    ss.setdefault("sl_points_version", 0)


def seed_threshold(low: int, high: int) -> None:
    """Give the threshold slider its kept value when it is new or its range changed."""
    ss = st.session_state
    if ss.get("sl_range") != (low, high) or "sl_threshold" not in ss:
        ss["sl_range"] = (low, high)
        ss["sl_threshold"] = min(max(math.ceil(ss["sl_keep_threshold"]), low), high)


def apply_rule(weights: dict[str, float], threshold: float, say: str = "") -> None:
    """Button callback: put a rule into the editor and on the slider, edits discarded.

    ``say`` is shown once on the next run (e.g. that the threshold moved, and why).
    """
    ss = st.session_state
    if say:
        ss["sl_applied_msg"] = say
    ss["sl_base"] = dict(weights)
    ss["sl_keep_threshold"] = float(threshold)
    ss["sl_points_version"] = ss.get("sl_points_version", 0) + 1
    ss.pop("sl_range", None)


def save_proposed(proposed: ScoringConfig, origin: str) -> None:
    """Button callback: save the proposed rule under the typed name as a new saved row.

    Writes through :func:`analysis.scoring.configs.save_config` (the store's write path, which
    swaps a new file in); the dashboard's own connection stays read-only and reconnects
    on the next rerun because the file version changed. The outcome is left in
    ``sl_save_msg`` as (kind, text) for the page to show.
    """
    ss = st.session_state
    name = ss.get("sl_save_name", "").strip()
    if not name:
        ss["sl_save_msg"] = ("error", "Give the configuration a name before saving.")
        return
    try:
        model_id = scoring.save_config(
            config.db_path(),
            proposed.with_changes(name=name),
            note=ss.get("sl_save_note", "").strip(),
            author=ss.get("sl_save_author", "").strip(),
            origin=origin,
            make_current=bool(ss.get("sl_save_current", False)),
        )
    except (OSError, ValueError, RuntimeError, duckdb.Error) as exc:
        ss["sl_save_msg"] = ("error", f"The configuration was not saved: {exc}")
        return
    ss["sl_save_msg"] = ("success", f"Saved as `{model_id}` ({name}).")
    ss["sl_save_name"] = ""
    ss["sl_save_note"] = ""


# --------------------------------------------------------------------------------------
# Cached resources
# --------------------------------------------------------------------------------------


@st.cache_resource(
    max_entries=1, show_spinner="Building the lead features (once per data version)…"
)
def feature_matrix(key: state.DbKey) -> FeatureMatrix:
    """The feature matrix of database version ``key``; shared, never to be mutated.

    Also kept on disk (:mod:`analysis.scoring.cache`, keyed by the file's path, inode,
    mtime and size), so the first visit after a server restart reads it instead of
    rebuilding it.
    """

    def build() -> FeatureMatrix:
        con = state.cursor()
        try:
            return features.build_features(con)
        finally:
            con.close()

    fm, _ = cache.cached(
        "matrix", cache.file_version(key[0]), (features.DEFAULT_HORIZON_DAYS,), build
    )
    # Factorised owners and regions are cached properties: make sure they are filled.
    _ = fm.owner_code, fm.region_code
    return fm


@st.cache_resource(max_entries=4, show_spinner="Adding the chosen lead properties…")
def _matrix_with_properties(key: state.DbKey, chosen: Properties) -> FeatureMatrix:
    con = state.cursor()
    try:
        return properties.add_properties(feature_matrix(key), con, chosen)
    finally:
        con.close()


def matrix(key: state.DbKey, chosen: Iterable[str] = ()) -> FeatureMatrix:
    """The feature matrix of version ``key`` with the chosen lead properties appended.

    Without properties this is :func:`feature_matrix` itself; with them, a copy extended
    by :func:`analysis.scoring.properties.add_properties` (numbers per unit with a missing
    flag, yes/no flags, one-hot values with rare ones pooled), cached per (version, sorted
    names). Shared, never to be mutated.
    """
    props = tuple(sorted(set(chosen)))
    return _matrix_with_properties(key, props) if props else feature_matrix(key)


@st.cache_resource(max_entries=1, show_spinner="Dating the engagement (once per data version)…")
def engagement_ages(key: state.DbKey, horizon_days: int) -> decay.EngagementAges:
    """Age of every lead's engagement at its decision point, for database version ``key``.

    Kept on disk as well, like :func:`feature_matrix`.
    """

    def build() -> decay.EngagementAges:
        con = state.cursor()
        try:
            return decay.engagement_ages(con, horizon_days)
        finally:
            con.close()

    ages, _ = cache.cached("ages", cache.file_version(key[0]), (horizon_days,), build)
    return ages


@st.cache_resource(max_entries=3, show_spinner="Fading engagement points…")
def _decayed(key: state.DbKey, chosen: Properties, fade: decay.Decay) -> FeatureMatrix:
    base = matrix(key, chosen)
    return decay.decayed(base, engagement_ages(key, base.horizon_days), fade)


def faded_matrix(
    key: state.DbKey, chosen: Iterable[str] = (), fade: decay.Decay | None = None
) -> FeatureMatrix:
    """:func:`matrix` with engagement faded by ``fade`` (the matrix itself without decay).

    Kept per (version, properties, decay); a decay change costs one pass over ``X``.
    """
    if fade is None or fade.kind == "none":
        return matrix(key, chosen)
    return _decayed(key, tuple(sorted(set(chosen))), fade)


DECAY_LABELS = {
    "none": "never (no decay)",
    "linear": "linearly over N days",
    "half-life": "by half every N days",
}
"""How the decay choice reads on the page."""


@st.cache_resource(max_entries=4, show_spinner=False)
def catalogue(key: state.DbKey, chosen: Properties = ()) -> pd.DataFrame:
    """:meth:`FeatureMatrix.catalogue` of :func:`matrix`: the offered features only."""
    return matrix(key, chosen).catalogue()


def current_rule() -> tuple[ScoringConfig, bool]:
    """The current rule (:func:`analysis.scoring.load_config`) and whether one is saved.

    Without any saved configuration the current rule gives no points and a threshold of
    1, so it makes no MQLs.
    """
    try:
        return state.call(scoring.load_config), True
    except LookupError:
        return ScoringConfig({}, 1.0, name=NO_RULE_NAME), False


BACKGROUND_FIT_LEADS = 200_000
"""From this many leads a model the page has not fitted yet is fitted in a background thread
(seconds at a million leads) while the numbers show; below it the fit takes under a second
and the page waits for it."""

FITTING = (
    "it is being fitted in the background for these settings (a few seconds at this size); "
    "this part fills in when it is done"
)
"""The reason :func:`model_report` gives while the fit runs in the background."""


_ONE_FIT_AT_A_TIME = threading.Lock()
"""Model fits queue behind each other: several decay or outcome changes in a row would
otherwise fit at once, and their threads (sharing the interpreter with the page's run) hold
back the numbers of the change the user made last."""


@st.cache_resource(max_entries=8, show_spinner=False)
def _model_job(
    key: state.DbKey,
    outcome: str,
    within_days: int | None,
    properties: Properties,
    fade: decay.Decay | None,
) -> jobs.Job:
    """The fit of one (database version, outcome, window, properties, decay), started once.

    Kept on disk too (:mod:`analysis.scoring.cache`), so a restarted server reads the model
    instead of refitting it. The job's ``result["report"]`` is the :class:`ModelReport`, or
    its ``errors["report"]`` the reason no model could be fitted.
    """
    fm = faded_matrix(key, properties, fade)
    current, saved = current_rule()
    rule = (tuple(sorted(current.weights.items())), current.threshold) if saved else None
    settings = (outcome, within_days, tuple(properties), fade, rule)

    def work(job: jobs.Job) -> None:
        try:
            with _ONE_FIT_AT_A_TIME:
                job.result["report"], _ = cache.cached(
                    "model",
                    cache.file_version(key[0]),
                    settings,
                    lambda: fit_model(fm, outcome, within_days, current=current if saved else None),
                )
        except ValueError as exc:
            job.errors["report"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - raised again on the page that asks
            job.errors["report"] = exc

    return jobs.start(work, "scoring-fit", run=False)  # started by the page or model_report


def model_report(
    key: state.DbKey,
    outcome: str,
    within_days: int | None,
    properties: Properties = (),
    fade: decay.Decay | None = None,
    *,
    wait: bool = False,
) -> tuple[ModelReport | None, str]:
    """(fitted report, '') or (None, why there is none) for version ``key``.

    The model is fitted on :func:`faded_matrix` (the built-in features plus the chosen
    lead properties, engagement faded by ``fade``). Kept per (database version: path,
    inode and modification time of the file; outcome; window; properties; decay), so
    revisits and slider moves never refit. From :data:`BACKGROUND_FIT_LEADS` leads a new
    fit runs in the background unless ``wait``: the reason is then :data:`FITTING`.
    """
    job = _model_job(key, outcome, within_days, tuple(properties), fade)
    if not job.done and (wait or feature_matrix(key).n < BACKGROUND_FIT_LEADS):
        job.wait()  # starts it
    if not job.done:
        return None, FITTING
    error = job.errors.get("report")
    if isinstance(error, Exception):
        raise error
    return job.result.get("report"), error or ""


def start_model_fit(
    key: state.DbKey,
    outcome: str,
    within_days: int | None,
    properties: Properties = (),
    fade: decay.Decay | None = None,
) -> None:
    """Start the background fit :func:`model_report` made for these settings (once).

    The page calls it after its numbers are drawn, so a decay or outcome change shows its
    numbers before a fit of seconds takes a share of the cores.
    """
    _model_job(key, outcome, within_days, tuple(properties), fade).run()


@st.fragment(run_every=1.0)
def wait_for_model(*args: object) -> None:
    """While :func:`model_report` of ``args`` is fitted in the background: say so, then rerun.

    Its own reruns (a second later) start the fit too, should the page have stopped early.
    """
    if flow.in_fragment_rerun():
        start_model_fit(*args)
    if model_report(*args)[1] != FITTING:
        st.rerun()
    st.caption("⏳ The model for these settings " + FITTING + ".")


def default_model_args(key: state.DbKey) -> tuple:
    """:func:`model_report`'s arguments as the page first asks for them (warmed after serve)."""
    return (key, next(iter(OUTCOME_LABELS)), within_days(WINDOWS[0]), (), decay.Decay("none", 30.0))


@st.cache_data(max_entries=32, show_spinner=False)
def threshold_curve(
    key: state.DbKey,
    weights: tuple[tuple[str, float], ...],
    outcome: str,
    within_days: int | None,
    properties: Properties = (),
    fade: decay.Decay | None = None,
) -> pd.DataFrame:
    """:func:`analysis.scoring.whatif.config_threshold_curve` of a set of points.

    On :func:`faded_matrix` of version ``key`` with the chosen lead ``properties``.
    """
    return whatif.config_threshold_curve(
        faded_matrix(key, properties, fade), ScoringConfig(dict(weights), 0.0), outcome, within_days
    )


# --------------------------------------------------------------------------------------
# Tables for display
# --------------------------------------------------------------------------------------


def points_table(
    key: state.DbKey,
    current: ScoringConfig,
    proposed: dict[str, float],
    report: ModelReport | None,
    properties: Properties = (),
) -> pd.DataFrame:
    """The points editor's data: one row per feature of the matrix.

    ``current`` and ``proposed`` are points (0 when a configuration does not mention the
    feature), ``suggested`` the model's points (NaN without a model), ``share`` the share
    of all leads that have the feature. Columns of the chosen lead ``properties`` follow
    the built-in features.
    """
    cat = catalogue(key, properties)
    suggested = (
        dict(
            zip(
                report.coefficients["feature"], report.coefficients["suggested_points"], strict=True
            )
        )
        if report is not None
        else {}
    )
    names = list(cat["feature"])
    return pd.DataFrame(
        {
            "label": [labels.feature_label(n) for n in names],
            "feature": names,
            "kind": list(cat["kind"]),
            "current": [float(current.weights.get(n, 0.0)) for n in names],
            "suggested": [float(suggested.get(n, np.nan)) for n in names],
            "proposed": [float(proposed.get(n, 0.0)) for n in names],
            "share": cat["share"].to_numpy(),
            "description": list(cat["description"]),
        },
        columns=EDITOR_COLUMNS,
    )


def absent_note(fm: FeatureMatrix) -> str:
    """Which built-in features are not offered and why, grouped by reason ('' when none)."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in fm.absent.items():
        by_reason.setdefault(reason, []).append(name)
    parts = [f"{', '.join(names)} ({reason})" for reason, names in by_reason.items()]
    return "Not offered: " + "; ".join(parts) + "." if parts else ""


def weights_from_table(table: pd.DataFrame) -> dict[str, float]:
    """Proposed points per feature from the edited table (an emptied cell counts as 0)."""
    points = pd.to_numeric(table["proposed"], errors="coerce").fillna(0.0)
    return {str(f): float(p) for f, p in zip(table["feature"], points, strict=True)}


def threshold_range(fm: FeatureMatrix, *configs: ScoringConfig) -> tuple[int, int]:
    """Slider range (whole points) covering every lead's score and every threshold.

    From the lowest score any lead reaches under any of ``configs`` (at most 0) to the
    highest (at least 100), widened to multiples of 10.
    """
    low, high = 0.0, 100.0
    for c in configs:
        scores = whatif.scores(fm, c)  # kept per points: the what-if reuses them
        if len(scores):
            low = min(low, float(scores.min()))
            high = max(high, float(scores.max()) + 1)
        low, high = min(low, c.threshold), max(high, c.threshold)
    return int(math.floor(low / 10) * 10), int(math.ceil(high / 10) * 10)


def same_points(a: ScoringConfig, b: ScoringConfig) -> bool:
    """True when two configurations give the same points (0 = absent) and threshold."""
    keys = set(a.weights) | set(b.weights)
    return a.threshold == b.threshold and all(
        a.weights.get(k, 0.0) == b.weights.get(k, 0.0) for k in keys
    )


def config_labels(configs: pd.DataFrame) -> dict[str, str]:
    """``model_id`` -> 'name · YYYY-MM-DD · origin' (with 'current' on the current rule)."""
    out = {}
    for row in configs.itertuples(index=False):
        when = "" if pd.isna(row.created_at) else f" · {row.created_at:%Y-%m-%d %H:%M}"
        mark = " · current rule" if row.current else ""
        out[str(row.model_id)] = f"{row.name or row.model_id}{when} · {row.origin}{mark}"
    return out


def export_csv(config: ScoringConfig, configs: pd.DataFrame) -> str:
    """:func:`analysis.scoring.config_to_csv` of a configuration, reproducing its saved row."""
    row = configs.loc[configs["model_id"] == config.model_id]
    if row.empty:
        return scoring.config_to_csv(config)
    r = row.iloc[0]
    return scoring.config_to_csv(
        config,
        author="" if pd.isna(r["author"]) else str(r["author"]),
        note="" if pd.isna(r["note"]) else str(r["note"]),
        origin=str(r["origin"]),
        created_at=None
        if pd.isna(r["created_at"])
        else pd.Timestamp(r["created_at"]).to_pydatetime(),
    )


def file_stem(config: ScoringConfig) -> str:
    """A file name stem for a configuration's exports."""
    text = config.model_id or config.name or "scoring-config"
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text).strip("-") or "config"


# --------------------------------------------------------------------------------------
# Imported lead properties as features, behind the leakage evidence
# --------------------------------------------------------------------------------------


def evidence_table(catalogue: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """The leakage evidence per lead property, for display, most suspicious first.

    Parameters
    ----------
    catalogue : DataFrame
        :func:`analysis.scoring.properties.catalogue` (``name``, ``kind``, ``leads``,
        ``examples``).
    evidence : DataFrame
        :func:`analysis.scoring.leakage.property_leakage`, most suspicious first.

    Returns
    -------
    DataFrame
        Columns :data:`EVIDENCE_COLUMNS`: ``property``, ``verdict``, ``auc`` (single-feature
        AUC among handed-off leads floored to two decimals, so 0.7997 never shows as the
        0.80 cut; NaN when not computed), ``missing_never_handed_off`` /
        ``missing_handed_off`` (share of those leads without a value, 0-1), ``evidence``
        (the reason in words), ``kind``, ``leads`` (leads with a value) and ``examples``.
        Properties in the catalogue but not in ``evidence`` come last with no verdict.
    """
    info = catalogue.set_index("name")[["leads", "examples"]]
    rows = evidence.rename(
        columns={
            "name": "property",
            "missing_not_handed_off": "missing_never_handed_off",
        }
    )
    rows = rows.join(info, on="property")
    rows["auc"] = rows["auc"].map(leakage.floor2)  # never rounded up to the cut
    rest = catalogue.loc[~catalogue["name"].isin(evidence["name"])]
    if len(rest):
        rows = pd.concat(
            [rows, rest.rename(columns={"name": "property"})], ignore_index=True, sort=False
        )
    return rows.reindex(columns=EVIDENCE_COLUMNS).reset_index(drop=True)


def flagged_properties(evidence: pd.DataFrame) -> list[str]:
    """Properties whose verdict is :data:`FLAGGED`, in the evidence's order."""
    return evidence.loc[evidence["verdict"] == FLAGGED, "name"].astype(str).tolist()


def property_label(name: str, evidence: pd.DataFrame) -> str:
    """How the property picker lists a property: its name, marked when not 'ok'.

    ``⚠️ Lead Status`` (likely leakage), ``Partner Tier (check)``, ``Visits``. Kept short:
    the picker's chips are narrow, and the evidence table beside it says the rest.
    """
    verdict = evidence.loc[evidence["name"] == name, "verdict"]
    if verdict.empty or verdict.iloc[0] == "ok":
        return name
    return f"⚠️ {name}" if verdict.iloc[0] == FLAGGED else f"{name} ({verdict.iloc[0]})"


def leakage_warning(name: str, evidence: pd.DataFrame) -> str:
    """The warning shown when a flagged property is selected: its name and its evidence."""
    row = evidence.loc[evidence["name"] == name].iloc[0]
    return (
        f"**{name}** looks like a field sales fills in after the handoff "
        f"({row['verdict']}): {row['evidence']}. Points for it would score leads on what "
        "sales already decided, so the replay and the model look better on history than "
        "they can be on new leads. It is not added until you confirm."
    )


def split_choice(
    selected: Sequence[str], evidence: pd.DataFrame, confirmed: Mapping[str, bool]
) -> tuple[Properties, list[str]]:
    """The selected properties that may be used now, and the flagged ones still waiting.

    A property with the verdict :data:`FLAGGED` is used only when ``confirmed[name]`` is
    true; every other selected property is used as is.

    Returns
    -------
    (tuple of str, list of str)
        The properties to add as features (sorted, the cache key of :func:`matrix`) and
        the flagged properties selected but not confirmed (in selection order).
    """
    flagged = set(flagged_properties(evidence))
    waiting = [n for n in selected if n in flagged and not confirmed.get(n, False)]
    use = tuple(sorted({n for n in selected if n not in waiting}))
    return use, waiting


def rule_properties(weights: Mapping[str, float], names: Iterable[str]) -> list[str]:
    """Lead properties (of ``names``) whose columns get points in ``weights``.

    A weight named ``<property>`` (a number), ``<property> (missing)`` or
    ``<property>=<value>`` belongs to that property; the page preselects these so that a
    saved rule using properties can be replayed.
    """

    def owns(name: str, key: str) -> bool:
        return key in (name, f"{name}{properties.MISSING_SUFFIX}") or key.startswith(f"{name}=")

    return [n for n in names if any(owns(n, k) and v != 0 for k, v in weights.items())]
