"""Unusable input gives exit 2 and one line, never a traceback; user text is never markup."""

from __future__ import annotations

import gzip
import os
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from analysis import store
from analysis.imports import ingest
from tests.faults.helpers import count_leads, handoff, leads_file, one_line_error, temp_files
from tests.paths import ROOT


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "h.duckdb"
    assert (
        ingest.import_files(path, [leads_file(tmp_path / "leads_seed.csv", "S", 10)]).exit_code == 0
    )
    return path


def _foreign(path: Path) -> Path:
    path.write_bytes(os.urandom(4096))
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _corrupt(path: Path) -> Path:
    """A real Handoff Health file with its storage header overwritten."""
    ingest.import_files(path, [leads_file(path.with_name("leads_c.csv"), "C", 5)])
    data = bytearray(path.read_bytes())
    data[0:8192] = os.urandom(8192)
    path.write_bytes(bytes(data))
    return path


def _other_duckdb(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    return path


def _text_version(path: Path) -> Path:
    with store.write_session(path, create=True) as con:
        con.execute("UPDATE meta SET value = 'one' WHERE key = 'schema_version'")
    return path


BAD_DATABASES = {
    "foreign": _foreign,
    "empty": _empty,
    "directory": _directory,
    "corrupt": _corrupt,
    "other duckdb": _other_duckdb,
    "non-numeric schema version": _text_version,
}


@pytest.mark.parametrize("kind", list(BAD_DATABASES))
@pytest.mark.parametrize("command", ["info", "import"])
def test_unusable_database_exits_2_with_one_line(tmp_path: Path, kind: str, command: str) -> None:
    """info and import on a foreign, empty, directory, corrupt, non-Handoff or
    text-versioned database: exit 2, one 'error:' line naming the path, file untouched."""
    path = BAD_DATABASES[kind](tmp_path / "bad.duckdb")
    before = path.read_bytes() if path.is_file() else None
    args = ["info", "--db", str(path)]
    if command == "import":
        args = ["import", "--db", str(path), str(leads_file(tmp_path / "leads_n.csv", "N", 3))]
    result = handoff(*args)
    assert result.returncode == 2, result.stderr
    assert "bad.duckdb" in one_line_error(result.stderr)
    if before is not None:
        assert path.read_bytes() == before
    assert temp_files(tmp_path) == []


def test_truncated_and_corrupt_gzip_exit_2(db: Path, tmp_path: Path) -> None:
    """A .csv.gz cut in half and one with garbage bytes are unusable input, not 'Aborted.'."""
    whole = gzip.compress(leads_file(tmp_path / "leads_z.csv", "Z", 2000).read_bytes())
    cut = tmp_path / "leads_cut.csv.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    bad = tmp_path / "leads_bad.csv.gz"
    bad.write_bytes(whole[:10] + b"\x00garbage" * 50)
    before = db.read_bytes()
    for path in (cut, bad):
        result = handoff("import", "--db", str(db), str(path))
        assert result.returncode == 2, result.stderr
        assert path.name in one_line_error(result.stderr)
        assert "Aborted" not in result.stderr
    assert db.read_bytes() == before


def test_disk_full_surfaces_the_io_error_and_keeps_the_file(db: Path, tmp_path: Path) -> None:
    """With the file size limited (ulimit -f) so the new version cannot be written, import
    exits 2 with the I/O error (not 'transaction is aborted'), the file is unchanged and no
    temporary copy is left."""
    big = leads_file(tmp_path / "leads_big.csv", "B", 40_000)
    before = db.read_bytes()
    limit_kib = db.stat().st_size // 1024 + 64  # the copy fits; the grown version does not
    cmd = " ".join(
        shlex.quote(a)
        for a in [sys.executable, "-m", "handoff", "import", "--db", str(db), str(big)]
    )
    result = subprocess.run(
        ["bash", "-c", f"ulimit -f {limit_kib}; exec {cmd}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    line = one_line_error(result.stderr)
    assert "aborted" not in line.lower()
    assert "too large" in line.lower() or "space" in line.lower() or "write" in line.lower(), line
    assert db.read_bytes() == before
    assert temp_files(tmp_path) == []


def test_brackets_in_values_and_headers_are_printed_as_text(db: Path, tmp_path: Path) -> None:
    """A value '[/x]' left empty (an optional field) and a header '[/x]' print literally (no
    MarkupError), with the column in brackets; both leads are kept (exit 0: none refused)."""
    path = tmp_path / "leads_markup.csv"
    path.write_text(
        "lead_id,created_at,email_domain_kind,[/x]\n"
        "M-1,2024-03-01,[/x],[bold]a\n"
        "M-2,2024-03-01,corporate,b\n"
    )
    result = handoff("import", "--db", str(db), str(path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (
        "left empty leads_markup.csv row 2 [email_domain_kind]: email_domain_kind '[/x]'"
        in result.stderr
    )
    assert "ignored column(s) that leads does not have: [/x]" in result.stderr
    assert count_leads(db, "M") == 2


def test_native_refusals_show_the_bracketed_column(db: Path, tmp_path: Path) -> None:
    """'[created_at]' appears in the refused line of an implausible timestamp."""
    path = tmp_path / "leads_future.csv"
    path.write_text("lead_id,created_at\nF-1,9999-12-31\nF-2,now\n")
    result = handoff("import", "--db", str(db), str(path))
    assert result.returncode == 1, result.stderr
    assert (
        "row 2 [created_at]: created_at '9999-12-31' is outside the accepted range" in result.stderr
    )
    assert "row 3 [created_at]: created_at 'now' is a relative time" in result.stderr
    assert count_leads(db, "F") == 0


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_targets_set_refuses_non_finite_values(db: Path, value: str) -> None:
    """`targets set --value nan|inf` is refused (exit 2) instead of removing the goal."""
    before = db.read_bytes()
    result = handoff(
        "targets",
        "set",
        "--db",
        str(db),
        "--month",
        "2024-03",
        "--metric",
        "leads",
        "--value",
        value,
    )
    assert result.returncode == 2, result.stderr
    assert "finite" in one_line_error(result.stderr)
    assert db.read_bytes() == before


def test_serve_refuses_a_public_address_without_the_explicit_flag(db: Path) -> None:
    """`serve --address 0.0.0.0` without --i-know-this-is-public exits 2 before serving."""
    result = handoff("serve", "--db", str(db), "--address", "0.0.0.0", "--port", "1")
    assert result.returncode == 2, result.stderr
    assert "--i-know-this-is-public" in one_line_error(result.stderr)
    help_text = handoff("serve", "--help").stdout
    assert "--allow-writes" in help_text and "--i-know-this-is-public" in help_text
