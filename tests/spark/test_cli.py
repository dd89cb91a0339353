"""`handoff export`, `handoff import --parquet` and `handoff metrics --engine spark`, run as
real subprocesses on a copy of the small demo database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from analysis.engines import parquet
from tests.paths import ROOT
from tests.spark.compare import differences

SAMPLES = ROOT / "data" / "samples"


def handoff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "handoff", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def count(snapshot: Path, table: str) -> int:
    path = parquet.table_paths(snapshot)[table]
    pattern = path / "*.parquet" if path.is_dir() else path
    con = duckdb.connect()
    return con.execute(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchone()[0]


def test_export_writes_every_table_and_switches_the_pointer(demo_db: Path, tmp_path: Path) -> None:
    """Every table is written with its rows (4,000 demo leads), touchpoints one file per
    month, and CURRENT names the new snapshot; a second export makes a newer one."""
    target = tmp_path / "lake"
    first = handoff("export", "--db", str(demo_db), "--parquet", str(target))
    assert first.returncode == 0, first.stderr
    snap = parquet.current_snapshot(target)
    assert count(snap, "leads") == 4_000
    months = sorted(p.stem for p in (snap / "touchpoints").glob("*.parquet"))
    con = duckdb.connect(str(demo_db), read_only=True)
    expected_months = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT strftime(occurred_at, '%Y-%m') FROM touchpoints ORDER BY 1"
        ).fetchall()
    ]
    assert (
        count(snap, "touchpoints") == con.execute("SELECT count(*) FROM touchpoints").fetchone()[0]
    )
    con.close()
    assert months == expected_months
    second = handoff("export", "--db", str(demo_db), "--parquet", str(target))
    assert second.returncode == 0, second.stderr
    assert parquet.current_snapshot(target) != snap
    assert snap.exists()  # a reader of the old snapshot keeps it


def test_import_into_parquet_publishes_a_new_snapshot(demo_db: Path, tmp_path: Path) -> None:
    """An import with --parquet applies the batch (the 8 sample leads are new ids) and
    switches to a new snapshot; an unusable import (missing file, exit 2) switches nothing."""
    target = tmp_path / "lake"
    parquet.export(demo_db, target)
    before = parquet.current_snapshot(target)
    bad = handoff("import", "--parquet", str(target), str(tmp_path / "missing.csv"))
    assert bad.returncode == 2
    assert parquet.current_snapshot(target) == before
    good = handoff("import", "--parquet", str(target), str(SAMPLES / "leads.csv"))
    assert good.returncode == 0, good.stderr
    after = parquet.current_snapshot(target)
    assert after != before
    assert count(after, "leads") == 4_000 + 8  # data/samples/leads.csv holds 8 leads
    assert count(after, "import_batches") == count(before, "import_batches") + 1
    # The TIME columns come back as TIME after the round trip through Parquet.
    db = tmp_path / "back.duckdb"
    parquet.load_into_duckdb(after, db)
    types = (
        duckdb.connect(str(db))
        .execute(
            "SELECT data_type FROM duckdb_columns() WHERE table_name = 'reps' "
            "AND column_name = 'work_start'"
        )
        .fetchone()
    )
    assert types == ("TIME",)


def test_spark_engine_needs_a_source() -> None:
    """--engine spark without --source exits 2 and says what is missing."""
    result = handoff("metrics", "--engine", "spark")
    assert result.returncode == 2
    assert "--source" in result.stderr


def test_metrics_json_is_the_same_on_spark(demo_db: Path, parquet_source: Path) -> None:
    """`handoff metrics --json` prints the same numbers with --engine spark --source."""
    duck = handoff("metrics", "--db", str(demo_db), "--json")
    assert duck.returncode == 0, duck.stderr
    spark = handoff(
        "metrics",
        "--engine",
        "spark",
        "--source",
        str(parquet_source),
        "--spark-master",
        "local[2]",
        "--json",
    )
    assert spark.returncode == 0, spark.stderr[-2000:]
    expected, got = json.loads(duck.stdout), json.loads(spark.stdout)
    assert expected["volumes"]["lead"] == 4_000
    assert differences(expected, got, "metrics") == []
