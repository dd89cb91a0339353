"""The one place that owns paths and settings.

The database path comes from the ``HANDOFF_DB`` environment variable when it is set, and
otherwise is ``data/demo.duckdb`` in the project folder.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_DB = DATA_DIR / "demo.duckdb"


def db_path() -> Path:
    """Path of the database the dashboard and the command line use by default."""
    env = os.environ.get("HANDOFF_DB")
    return Path(env).expanduser().resolve() if env else DEFAULT_DB


def truth_path(db: Path | str) -> Path:
    """Path of the planted-truth JSON written next to a generated database.

    ``data/demo.duckdb`` has its truth in ``data/demo.truth.json``.
    """
    db = Path(db)
    return db.with_name(db.stem + ".truth.json")
