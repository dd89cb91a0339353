"""What the fault tests share: the real `handoff` CLI as a subprocess, small native files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT


def handoff(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    """Run `python -m handoff ARGS` from the worktree root; text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "handoff", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        **kw,
    )


def start_handoff(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `python -m handoff ARGS` without waiting (stdout/stderr piped as text)."""
    return subprocess.Popen(
        [sys.executable, "-m", "handoff", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


LEADS_HEADER = "lead_id,created_at,source"


def leads_file(path: Path, prefix: str, n: int, day: str = "2024-03-01") -> Path:
    """A leads.csv with ``n`` leads ``<prefix>-0`` .. ``<prefix>-<n-1>``, all valid."""
    lines = [LEADS_HEADER] + [f"{prefix}-{i},{day} 10:00,web" for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def count_leads(db: Path, prefix: str) -> int:
    """How many leads whose id starts with ``<prefix>-`` the database file holds."""
    from analysis import store

    con = store.connect_read_only(db)
    try:
        (n,) = con.execute(
            "SELECT count(*) FROM leads WHERE lead_id LIKE ?", [f"{prefix}-%"]
        ).fetchone()
    finally:
        con.close()
    return n


def one_line_error(stderr: str) -> str:
    """The single non-empty stderr line that starts with 'error:' (asserts there is one)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr, stderr
    return errors[0]


def temp_files(folder: Path) -> list[str]:
    """Names of writers' temporary copies (``.<name>.*.tmp`` and their WAL) in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)
