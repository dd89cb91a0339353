"""Paths the tests share, so a test file's place in tests/ does not change what it reads."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
ARTIFACTS = ROOT / "artifacts"
EXAMPLES = ROOT / "data" / "examples"
SAMPLES = ROOT / "data" / "samples"
NOTEBOOKS = ROOT / "notebooks"
