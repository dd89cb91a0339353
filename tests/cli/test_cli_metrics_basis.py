"""`handoff metrics --json` names the definition of its numbers (real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb

from analysis.lifecycle import metrics
from tests.paths import ROOT


def handoff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "handoff", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_metrics_json_names_its_definition_and_follows_it(demo_db):
    """Default: "entered the stage in the period" (stage counts = volumes). --basis created:
    the JSON says so, and its MQL -> SQL k of n is the engine's created-cohort one."""
    rng = ("--from", "2026-06-01", "--to", "2026-06-30")
    entered = json.loads(handoff("metrics", "--db", str(demo_db), *rng, "--json").stdout)
    assert entered["basis"] == "entered"
    assert entered["basis_name"] == "Entered the stage in the period"
    assert entered["stage_counts"] == entered["volumes"]
    created = json.loads(
        handoff("metrics", "--db", str(demo_db), *rng, "--basis", "created", "--json").stdout
    )
    assert created["basis"] == "created"
    assert "created in the period" in created["conversion_basis"]
    con = duckdb.connect(str(demo_db), read_only=True)
    expected = metrics.headline(con, "2026-06-01", "2026-06-30", basis="created")
    con.close()
    assert created["conversions"]["mql_to_sql"] == expected["conversions"]["mql_to_sql"]
    assert created["stage_counts"]["mql"] < created["volumes"]["mql"]


def test_metrics_refuses_an_unknown_definition(demo_db):
    """--basis ever exits 2 naming the two definitions."""
    result = handoff("metrics", "--db", str(demo_db), "--basis", "ever")
    assert result.returncode == 2
    assert "entered, created" in result.stderr
