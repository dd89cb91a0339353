"""Print benchmark figures for Handoff Health.

Each section runs its work in a child process where it matters for memory, and reports
wall-clock seconds and the child's peak resident memory (``ru_maxrss``). Sizes come from
environment variables: ``BENCH_LEADS`` (default 1,000,000), ``BENCH_SECTIONS`` (comma list,
default all), ``BENCH_DIR`` (where databases go, default a temp dir), ``BENCH_IMPORT_ROWS`` (rows of
the import-memory section's leads file, default 1,000,000).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import review, sections

sections.SECTIONS.setdefault("review", review.bench)  # the Monthly review and its month changes

ROOT = Path(__file__).resolve().parents[2]


def run_child(args: list[str]) -> tuple[float, float]:
    """Run ``python args...``; return (seconds, peak RSS of the child in MiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def main() -> None:
    """Run the selected sections and print their figures."""
    leads = int(os.environ.get("BENCH_LEADS", "1000000"))
    chosen = [s for s in os.environ.get("BENCH_SECTIONS", "").split(",") if s]
    workdir = Path(os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="handoff-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"# Handoff Health benchmarks — {leads:,} leads, {os.cpu_count()} cores, dir {workdir}")
    ctx = sections.Context(leads=leads, workdir=workdir, run_child=run_child)
    for name, fn in sections.SECTIONS.items():
        if chosen and name not in chosen:
            continue
        print(f"\n## {name}", flush=True)
        fn(ctx)


if __name__ == "__main__":
    main()
