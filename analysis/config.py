"""The one place that owns paths.

The database path comes from the ``HANDOFF_DB`` environment variable when it is set, and
otherwise is ``data/demo.duckdb`` under the current directory (so ``make demo`` in a
checkout and ``handoff demo`` in any folder of an installed copy behave the same). The
company's own settings are not paths: they live in the database
(:mod:`analysis.store.settings`).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The source checkout (or the site-packages folder of an installed copy)."""
DATA_DIR = PROJECT_ROOT / "data"
"""Data assets of a source checkout (example exports, samples); absent in an installed copy."""
DEFAULT_DB_NAME = Path("data") / "demo.duckdb"
"""The database used when neither ``--db`` nor ``HANDOFF_DB`` names one, under the cwd."""


def db_path() -> Path:
    """Path of the database the dashboard and the command line use by default."""
    env = os.environ.get("HANDOFF_DB")
    return Path(env).expanduser().resolve() if env else (Path.cwd() / DEFAULT_DB_NAME)


def truth_path(db: Path | str) -> Path:
    """Path of the planted-truth JSON written next to a generated database.

    ``data/demo.duckdb`` has its truth in ``data/demo.truth.json``.
    """
    db = Path(db)
    return db.with_name(db.stem + ".truth.json")
