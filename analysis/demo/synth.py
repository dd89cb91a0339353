"""A seeded, realistic demo history of a B2B company's CRM, with planted effects.

Query intuition
---------------
The generator builds the history the way it happens, one stage after another, each stage
vectorised over all leads at once (numpy arrays, no loop per lead):

1. **Companies and leads.** A pool of companies (country, region, industry, size) is drawn;
   each lead picks a source (volume shares), a campaign within it, a company from the size
   band its source tends to bring, a job title from a seniority mix that depends on the
   source, and a corporate or free email. Creation days follow a growth trend, weekdays,
   seasons and a December dip. A latent *interest* per lead drives its touchpoints. About
   2% of the records are dirty (duplicates, missing titles, odd industry/country labels).
2. **Touchpoints.** Each lead gets a creating conversion at ``created_at`` and then a stream
   of page views, downloads, emails, webinars, forms, chats and demo requests; their kinds
   and details lean towards buying signals (pricing, case studies, BOFU, demo requests) as
   interest grows.
3. **MQL handoff.** Touchpoints are sorted by lead and time, the features of
   :data:`DEMO_RULE` are accumulated per lead (cumulative sums inside each lead's run) and
   the handoff is the first touchpoint at which the rule score reaches the threshold, or a
   demo request (the *hot* tier). MQLs are routed to an SDR of the team covering their
   territory (region).
4. **Sales round.** The first touch waits for the owner's working hours (time zone, work
   start/end, weekdays) plus a heavy-tailed delay, short for hot MQLs; one team breaches
   badly during three consecutive months. 1-6 further attempts follow, then a disposition.
   Acceptance is drawn from a logistic model of fit, engagement and
   ``log(1 + response minutes)``; rejection reasons depend on source and fit. Some nurtured
   leads re-engage and become MQL again (recycling) and get a second round.
5. **Opportunities.** Most accepted leads get an opportunity (a few skip the ``sql``
   stage); amounts depend on the company's size segment; deals close won or lost after weeks
   to months, and those that would close after the end are still open.
6. **Targets, policies, scoring model** rows complete the history, and a truth dictionary
   records every planted number so that analyses can be tested against it.

The steps live in one module each: ``world`` (the company's vocabulary, teams and reps),
``rule`` (its settings and scoring rule), ``leads``, ``touchpoints``, ``handoffs`` (the MQL
decision and routing), ``sales`` (rounds, dispositions, recycling), ``opportunities``,
``plans`` (capacity and targets), ``write`` (the inserts) and ``truth``; this module runs
them in order and owns the two entry points, :func:`generate` and :func:`generate_database`.

Everything after the end of history is cut off: no row carries a time at or after the
cut-off (midnight after ``end``, or the current time when ``end`` is not given). All times
are naive UTC. Randomness comes only from ``np.random.default_rng(seed)``, drawn in a fixed
order, so the same seed and end give the same tables.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np

from analysis import config, store
from analysis.demo.arrays import Progress, _epoch, _month_start, _World
from analysis.demo.handoffs import _handoffs
from analysis.demo.leads import _make_leads
from analysis.demo.opportunities import _opportunities
from analysis.demo.plans import _set_capacity, _targets
from analysis.demo.rule import (  # noqa: F401  (re-exported: the demo's rule and settings)
    DEMO_RULE,
    DEMO_SETTINGS,
    ENGAGEMENT_FEATURES,
    FEATURE_DEFINITIONS,
    FIT_FEATURES,
    SENIOR_TITLE_PATTERN,
    TARGET_INDUSTRIES,
    TARGET_REGIONS,
    rule_points,
)
from analysis.demo.sales import _collect, _sales
from analysis.demo.touchpoints import _make_touchpoints
from analysis.demo.truth import _truth
from analysis.demo.world import (  # noqa: F401  (re-exported: the demo's vocabulary)
    COUNTRIES,
    EMAIL_CAMPAIGNS,
    INDUSTRIES,
    REGIONS,
    SOURCES,
    TEAMS,
    _make_reps,
)
from analysis.demo.write import _write
from analysis.store import settings


def generate(
    con: duckdb.DuckDBPyConnection,
    *,
    leads: int = 50_000,
    months: int = 24,
    seed: int = 7,
    end: date | None = None,
    progress: Progress | None = None,
) -> dict:
    """Write a complete demo history into an open, writable connection.

    The connection must already have the schema (:func:`analysis.store.create_schema`);
    rows are appended to the history tables, nothing is deleted.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Writable connection with the Handoff Health schema.
    leads : int
        Number of lead rows to write, planted duplicates included (at least 100).
    months : int
        Whole calendar months of history, ending with the month of ``end`` (1-120).
    seed : int
        Seed of ``np.random.default_rng``; the same seed and end give the same tables.
    end : date, optional
        Last day of history. Default: today (UTC), and then nothing is later than now.
    progress : callable, optional
        Called with a short description of each step.

    Returns
    -------
    dict
        The planted truth (JSON-serialisable): seed, dates, row counts per table, the rule,
        the acceptance model, the speed-to-lead effect, the SLA breach, the rejection reason
        mix per source (as drawn, and the planted probabilities behind the draws), the
        December dip and the dirty-record counts.
    """
    if leads < 100:
        raise ValueError(f"leads must be at least 100, got {leads}")
    if not 1 <= months <= 120:
        raise ValueError(f"months must be between 1 and 120, got {months}")
    say = progress or (lambda _step: None)
    end, cutoff = _end_and_cutoff(end)
    start = _month_start(end, months - 1)
    world = _World(
        rng=np.random.default_rng(seed),
        start_s=_epoch(start),
        cutoff_s=_epoch(cutoff),
        months=months,
        say=say,
    )
    lead = _make_leads(world, leads)
    say(f"{leads:,} leads drawn")
    tp = _make_touchpoints(world, lead)
    say(f"{len(tp['lead']):,} touchpoints drawn")
    reps = _make_reps(world, leads)
    mql = _handoffs(world, lead, tp, reps)
    say(f"{len(mql['lead']):,} MQL handoffs found")
    hist = _sales(world, lead, tp, reps, mql)
    _opportunities(world, lead, tp, reps, hist, hist.rounds)
    _collect(hist)
    say(
        f"{len(hist.activities['lead']):,} sales activities, "
        f"{len(hist.dispositions['lead']):,} dispositions, "
        f"{len(hist.opps['lead']):,} opportunities"
    )
    _set_capacity(world, reps, hist)
    targets = _targets(world, lead, hist)
    _write(con, world, lead, tp, reps, hist, targets, say)
    counts = {
        name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in store.TABLES
    }
    say("tables written")
    return _truth(world, seed, end, cutoff, start, counts, lead, reps, hist)


def _end_and_cutoff(end: date | None) -> tuple[date, datetime]:
    """Last day of history and the cut-off: midnight after ``end``, or now without one."""
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    if end is None:
        return now.date(), now
    if isinstance(end, datetime):
        end = end.date()
    return end, datetime(end.year, end.month, end.day) + timedelta(days=1)


def generate_database(
    path: Path | str,
    *,
    leads: int = 50_000,
    months: int = 24,
    seed: int = 7,
    end: date | None = None,
    progress: Progress | None = None,
) -> dict:
    """Create or replace the database at ``path`` with a demo history and its truth file.

    The history is built fresh in a new file through :func:`analysis.store.write_session`
    (one transaction), which is then renamed over ``path`` in one atomic step, so a
    dashboard reading the old file keeps working and a failure leaves it untouched. One
    ``import_batches`` row (kind ``generate``) records the run, the demo company's settings
    (:data:`analysis.demo.rule.DEMO_SETTINGS`) are stored through
    :func:`analysis.store.settings.write`, and the truth dictionary is written as JSON to
    :func:`analysis.config.truth_path` of ``path``.

    Parameters are those of :func:`generate`. Raises :class:`analysis.store.SchemaError`
    when ``path`` exists but is not a Handoff Health database (it is never overwritten).

    Returns
    -------
    dict
        The planted truth, as written to the truth file.
    """
    path = Path(path)
    if path.exists():  # never replace a file that is not a Handoff Health database
        try:
            store.connect_read_only(path).close()
        except duckdb.Error as exc:
            raise store.SchemaError(
                f"{path}: not a Handoff Health database, refusing to replace it ({exc})"
            ) from exc
    fresh = path.with_name(f".{path.name}.generate-{uuid.uuid4().hex[:8]}.duckdb")
    started = datetime.now(UTC).replace(tzinfo=None)
    batch_id = f"generate-{started:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    try:
        with store.write_session(fresh, create=True) as con:
            truth = generate(con, leads=leads, months=months, seed=seed, end=end, progress=progress)
            settings.write(con, DEMO_SETTINGS)
            rows = sum(truth["counts"].values())
            con.execute(
                "INSERT INTO import_batches VALUES (?, ?, ?, 'generate', NULL, ?, 0, ?)",
                [
                    batch_id,
                    started,
                    datetime.now(UTC).replace(tzinfo=None),
                    rows,
                    f"demo history: seed {seed}, {leads:,} leads, {months} months "
                    f"to {truth['end']}",
                ],
            )
        os.replace(fresh, path)
    finally:
        fresh.unlink(missing_ok=True)
    truth["batch_id"] = batch_id
    target = config.truth_path(path)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(truth, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, target)
    return truth
