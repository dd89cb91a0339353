"""The `handoff` command line, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.paths import ROOT


def handoff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "handoff", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["generate", "import", "info", "metrics", "serve", "demo"])
def test_every_command_has_help(command):
    """Every command answers --help with its usage."""
    result = handoff(command, "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout and "--db" in result.stdout


def test_info_json_matches_database(demo_db, demo_truth):
    """`info --json` reports the schema version and the row counts the generator wrote."""
    result = handoff("info", "--db", str(demo_db), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["schema_version"] == 1
    assert payload["tables"]["leads"]["rows"] == demo_truth["counts"]["leads"]
    assert payload["tables"]["leads"]["first"] < payload["tables"]["leads"]["last"]
    assert payload["last_batches"][0]["kind"] == "generate"


def test_info_on_missing_file_exits_2_with_one_line(tmp_path):
    """A missing database gives exit code 2 and a one-line reason naming the file."""
    result = handoff("info", "--db", str(tmp_path / "nope.duckdb"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "nope.duckdb" in lines[0]


def test_import_exit_codes(tmp_path):
    """Import exits 0 for clean samples, 1 when rows are refused, 2 for a missing file."""
    db = tmp_path / "h.duckdb"
    samples = sorted((ROOT / "data" / "samples").glob("*.csv"))
    assert samples, "data/samples holds the example import files"
    ok = handoff("import", "--db", str(db), *map(str, samples))
    assert ok.returncode == 0, ok.stderr
    dirty = sorted((ROOT / "data" / "samples" / "dirty").glob("*.csv"))
    bad = handoff("import", "--db", str(db), *map(str, dirty))
    assert bad.returncode == 1, bad.stderr
    missing = handoff("import", "--db", str(db), str(tmp_path / "leads.csv"))
    assert missing.returncode == 2
    assert "leads.csv" in missing.stderr


def test_generate_small_history_is_deterministic(tmp_path):
    """The same seed and end date write the same history."""
    counts = []
    for name in ("a", "b"):
        db = tmp_path / f"{name}.duckdb"
        result = handoff(
            "generate",
            "--db",
            str(db),
            "--leads",
            "500",
            "--months",
            "3",
            "--seed",
            "5",
            "--end",
            "2026-06-30",
        )
        assert result.returncode == 0, result.stderr
        truth = json.loads((tmp_path / f"{name}.truth.json").read_text())
        counts.append(truth["counts"])
    assert counts[0] == counts[1]
    assert counts[0]["leads"] >= 500


def test_metrics_json_equals_the_engine(demo_db):
    """`metrics --json` prints exactly what metrics.headline computes for the range."""
    from analysis import store
    from analysis.lifecycle import metrics

    result = handoff("metrics", "--db", str(demo_db), "--from", "2026-06-01", "--to", "2026-06-30")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    expected = metrics.headline(store.connect_read_only(demo_db), "2026-06-01", "2026-06-30")
    assert printed == json.loads(json.dumps(expected))
    assert printed["volumes"]["lead"] > 0
    assert printed["conversions"]["mql_to_sql"]["n"] == printed["volumes"]["mql"]


def test_metrics_by_dimension_and_bad_input(demo_db):
    """`--by source` adds one group per source; an unknown dimension exits 2 naming it."""
    result = handoff("metrics", "--db", str(demo_db), "--by", "source")
    assert result.returncode == 0, result.stderr
    groups = json.loads(result.stdout)["groups"]
    assert len(groups) >= 6
    assert sum(g["volumes"]["lead"] for g in groups) == json.loads(result.stdout)["volumes"]["lead"]
    bad = handoff("metrics", "--db", str(demo_db), "--by", "colour")
    assert bad.returncode == 2 and "colour" in bad.stderr


def test_report_writes_offline_html_and_refuses_bad_month(demo_db, tmp_path):
    """`report` writes one HTML file with plotly embedded; a bad month exits 2 naming it."""
    out = tmp_path / "review.html"
    result = handoff("report", "--db", str(demo_db), "--month", "2026-09", "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "September 2026" in text or "2026-09" in text
    assert "<script src=" not in text
    bad = handoff("report", "--db", str(demo_db), "--month", "Sept", "--out", str(out))
    assert bad.returncode == 2 and "Sept" in bad.stderr


def test_targets_set_and_clear(demo_db, tmp_path):
    """`targets set` upserts one goal through the write path and `--clear` removes it."""
    import shutil

    import duckdb

    db = tmp_path / "t.duckdb"
    shutil.copy(demo_db, db)

    def goal() -> list:
        con = duckdb.connect(str(db), read_only=True)
        rows = con.execute(
            "SELECT value FROM targets WHERE month = DATE '2027-01-01' AND metric = 'mqls'"
        ).fetchall()
        con.close()
        return rows

    ok = handoff("targets", "set", "--db", str(db), "--month", "2027-01", "--metric", "mqls",
                 "--value", "321")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert goal() == [(321.0,)]
    cleared = handoff("targets", "set", "--db", str(db), "--month", "2027-01", "--metric", "mqls",
                      "--clear")  # fmt: skip
    assert cleared.returncode == 0, cleared.stderr
    assert goal() == []
    both = handoff("targets", "set", "--db", str(db), "--month", "2027-01", "--metric", "mqls")
    assert both.returncode == 2


def test_import_flat_exports_with_presets(tmp_path):
    """Flat exports import with --preset: clean exits 0, dirty exits 1 naming the refused rows,
    and --dry-run checks without creating the database."""
    examples = ROOT / "data" / "examples"
    db = tmp_path / "flat.duckdb"
    dry = handoff("import", "--db", str(db), "--preset", "hubspot", "--dry-run",
                  str(examples / "hubspot_contacts_dirty.csv"))  # fmt: skip
    assert dry.returncode == 1 and not db.exists()
    assert "row 8" in dry.stderr
    clean = handoff("import", "--db", str(db), "--preset", "hubspot",
                    str(examples / "hubspot_contacts.csv"))  # fmt: skip
    assert clean.returncode == 0, clean.stderr
    dirty = handoff("import", "--db", str(db), "--preset", "salesforce",
                    str(examples / "salesforce_leads_dirty.csv"))  # fmt: skip
    assert dirty.returncode == 1
    assert "refused salesforce_leads_dirty.csv row" in dirty.stderr
    unknown = handoff("import", "--db", str(db), "--preset", "pipedrive",
                      str(examples / "hubspot_contacts.csv"))  # fmt: skip
    assert unknown.returncode == 2 and "pipedrive" in unknown.stderr


def test_info_names_who_wrote_last(tmp_path):
    """After an import run as HANDOFF_ACTOR=nightly-sync, `info` prints and returns that
    actor as the last write; a write_log row names the import's batch."""
    import os

    db = tmp_path / "h.duckdb"
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,created_at\nA-1,2024-03-01\n")
    env = {**os.environ, "HANDOFF_ACTOR": "nightly-sync"}
    done = subprocess.run(
        [sys.executable, "-m", "handoff", "import", "--db", str(db), str(leads)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    text = handoff("info", "--db", str(db))
    assert "by nightly-sync" in text.stdout
    payload = json.loads(handoff("info", "--db", str(db), "--json").stdout)
    (write,) = payload["last_writes"]
    assert write["actor"] == "nightly-sync"
    assert write["batches"] == payload["last_batches"][0]["batch_id"]
