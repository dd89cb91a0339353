"""Peak memory of a native import of one large leads CSV (issue 14, bounded memory).

Writes a leads file of ``BENCH_IMPORT_ROWS`` rows (default 1,000,000) with realistic
columns through DuckDB's ``COPY``, imports it into a new database with ``handoff import``
in a child process, and prints rows, file size, wall time and the child's peak resident
memory. A streaming import keeps the peak roughly flat as the file grows (one chunk of
:data:`analysis.imports.native.CHUNK_ROWS` rows of text at a time, DuckDB under
:data:`analysis.imports.stream.DUCKDB_MEMORY_LIMIT`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

LEADS_SQL = """
COPY (SELECT
  printf('L-%08d', i) AS lead_id,
  strftime(TIMESTAMP '2023-01-01' + INTERVAL (i % 900) DAY + INTERVAL (i % 86400) SECOND,
           '%Y-%m-%dT%H:%M:%SZ') AS created_at,
  ['paid_search', 'webinar', 'organic', 'event', 'referral'][1 + i % 5] AS source,
  'campaign_' || (i % 40) AS campaign,
  ['DE', 'US', 'FR', 'GB', 'NL'][1 + i % 5] AS country,
  ['EMEA', 'North America', 'EMEA', 'EMEA', 'EMEA'][1 + i % 5] AS region,
  ['software', 'manufacturing', 'retail', 'finance'][1 + i % 4] AS industry,
  10 + i % 5000 AS employees,
  ['Head of Marketing', 'VP Operations', 'CTO', 'Analyst'][1 + i % 4] AS job_title,
  printf('R-%02d', i % 20) AS owner_rep_id,
  ['corporate', 'free'][1 + i % 2] AS email_domain_kind,
  'Person ' || i AS name,
  'person' || i || '@example' || (i % 1000) || '.com' AS email,
  'Company ' || (i % 100000) AS company
FROM range(?) t(i)) TO '{path}' (HEADER, DELIMITER ',')
"""


def write_leads(path: Path, rows: int) -> None:
    """A leads CSV of ``rows`` distinct, valid leads (every row is accepted)."""
    import duckdb

    with duckdb.connect(":memory:") as con:
        con.execute(LEADS_SQL.format(path=str(path).replace("'", "''")), [rows])


def peak_of(args: list[str], cwd: Path) -> tuple[float, float, int]:
    """Run ``args``; return (seconds, the child's own peak RSS in MiB, exit code)."""
    t0 = time.perf_counter()
    child = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, child.returncode


def run(workdir: Path, root: Path) -> None:
    """Write the file, import it fresh, print the figures."""
    rows = int(os.environ.get("BENCH_IMPORT_ROWS", "1000000"))
    folder = workdir / "import-memory"
    folder.mkdir(exist_ok=True)
    source = folder / "leads.csv"
    target = folder / "imported.duckdb"
    target.unlink(missing_ok=True)
    write_leads(source, rows)
    size = source.stat().st_size / 2**20
    seconds, rss, code = peak_of(
        [sys.executable, "-m", "handoff", "import", "--db", str(target), str(source)], root
    )
    print(
        f"import {rows:,}-row leads CSV ({size:,.0f} MiB): {seconds:.1f} s, "
        f"peak RSS {rss:,.0f} MiB, exit {code}"
    )
    source.unlink()
    target.unlink(missing_ok=True)


GC_PAUSE_CODE = """
import gc, statistics, time
from dashboard import warm
warm.warm()
warm.warm_pages()
def pause():
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        gc.collect(2)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000
before = pause()
settled = warm.settle_memory() * 1000
print(f"{before:.1f} {pause():.2f} {settled:.0f} {gc.get_freeze_count():d}")
"""


def gc_pause(db: Path, root: Path) -> None:
    """Print what one full garbage collection costs in a warmed server process.

    Streamlit collects after every script run unless ``runner.postScriptGC`` is off, as
    ``handoff serve`` sets it; :func:`dashboard.warm.settle_memory` freezes what the
    warm-up left, so the collections Python still makes no longer walk it.
    """
    out = subprocess.run(
        [sys.executable, "-c", GC_PAUSE_CODE],
        cwd=root,
        env={**os.environ, "HANDOFF_DB": str(db)},
        capture_output=True,
        text=True,
        check=True,
    )
    before, after, settled, frozen = out.stdout.split()[-4:]
    print(
        f"one full garbage collection in the warmed server process: {before} ms "
        f"(Streamlit's default after every script run), {after} ms once settle_memory froze "
        f"the {int(frozen):,} objects the warm-up left (that took {settled} ms, once)"
    )
