"""The project installs like a library: a built wheel works from any directory."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port, stop_process
from tests.paths import ROOT

IMPORT_NAMES = {"sklearn": "scikit-learn", "yaml": "pyyaml"}
"""Top-level import names whose distribution is named differently."""
PACKAGES = ("analysis", "dashboard", "handoff")


def _declared(extra: str | None = None) -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = meta["optional-dependencies"][extra] if extra else meta["dependencies"]
    names = {re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower() for d in deps}
    return {n.replace("_", "-") for n in names}


def _third_party_imports() -> dict[str, str]:
    """Top-level modules imported by the shipped packages -> first file importing each."""
    stdlib = set(sys.stdlib_module_names)
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in stdlib and top not in PACKAGES and top != "__future__":
                        found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_import_of_the_shipped_code_is_a_declared_dependency():
    """Each third-party module the app imports is named in pyproject's dependencies."""
    declared = _declared()
    # The Spark engine is an extra (`pip install handoff-health[spark]`): its modules may
    # import what that extra declares, and only they (the default path never loads them).
    spark_extra = _declared("spark")
    missing = {
        module: where
        for module, where in _third_party_imports().items()
        if (name := IMPORT_NAMES.get(module, module).lower().replace("_", "-")) not in declared
        and not (where.startswith("analysis/engines/") and name in spark_extra)
    }
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the built wheel (dependencies borrowed from this venv)."""
    base = tmp_path_factory.mktemp("install")
    dist = base / "dist"
    # Built from a copy of what the build reads: setuptools keeps its scratch folders
    # (build/, *.egg-info) beside the sources, and a checkout's leftovers from an earlier
    # build once made it fail with "No such file or directory".
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=src,
        capture_output=True,
        text=True,
    )
    # the build's own words, so a failure says why (it was once seen failing with no clue)
    assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
    (wheel,) = dist.glob("*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Dependencies come from this environment's site-packages as a plain path entry: a
    # path line does not run that folder's .pth files, so the editable checkout stays out.
    (Path(site) / "borrowed_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [py, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    return venv


def test_the_installed_copy_runs_from_an_unrelated_folder(installed: Path, tmp_path: Path):
    """The wheel's code (not the checkout's) generates and describes a database anywhere."""
    env = {k: v for k, v in os.environ.items() if k != "HANDOFF_DB"}
    where = subprocess.run(
        [installed / "bin" / "python", "-c", "import analysis, handoff; print(analysis.__file__)"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert str(installed) in where, where
    gen = subprocess.run(
        [installed / "bin" / "handoff", "generate", "--db", "x.duckdb", "--leads", "300"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert gen.returncode == 0, gen.stderr
    assert (tmp_path / "x.duckdb").exists()
    info = subprocess.run(
        [installed / "bin" / "handoff", "info", "--db", "x.duckdb", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert info.returncode == 0, info.stderr
    assert '"leads"' in info.stdout


def test_the_installed_demo_command_serves_the_dashboard(installed: Path, tmp_path: Path):
    """`handoff demo --db x.duckdb` in a fresh folder generates the file and serves the app."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "HANDOFF_DB"}
    log = open(tmp_path / "demo.log", "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [
            installed / "bin" / "handoff",
            "demo",
            "--db",
            "x.duckdb",
            "--leads",
            "500",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        healthy = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as r:
                    healthy = r.read() == b"ok"
                    break
            except OSError:
                time.sleep(0.5)
        assert healthy, (tmp_path / "demo.log").read_text()
        assert (tmp_path / "x.duckdb").exists()
    finally:
        stop_process(proc)
        log.close()
