"""A dashboard served with a shared secret asks every session for it before any page runs."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect
from streamlit.testing.v1 import AppTest

from tests.browser import assert_no_exception, wait_for_app
from tests.conftest import free_port, stop_process
from tests.paths import APP, ROOT

SECRET = "correct horse battery staple"


@pytest.fixture()
def guarded(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOFF_DB", str(demo_db))
    monkeypatch.setenv("HANDOFF_SHARED_SECRET", SECRET)


def test_no_page_runs_before_the_password(guarded: None) -> None:
    """Without the password only the sign-in form shows: no navigation, no numbers."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_input(key="auth_password").value == ""
    assert not at.metric  # the home page's numbers are not computed


def test_a_wrong_password_is_refused_and_the_right_one_opens_home(guarded: None) -> None:
    """A wrong password says so and stays on the form; the right one opens Home."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="auth_password").input("guess")
    at.button[0].click().run()
    assert "not the password" in at.error[0].value
    assert not at.metric
    at.text_input(key="auth_password").input(SECRET)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.metric, "Home's numbers show once signed in"


def test_serve_binds_publicly_with_a_password_file_and_refuses_an_empty_one(
    demo_db: Path, tmp_path: Path
) -> None:
    """An empty --password-file exits 2 with one line; a non-loopback address with a
    password file needs no --i-know-this-is-public (checked up to the empty-file refusal)."""
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    run = subprocess.run(
        [sys.executable, "-m", "handoff", "serve", "--db", str(demo_db)]
        + ["--address", "0.0.0.0", "--port", "1", "--password-file", str(empty)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "is empty" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.e2e
def test_sign_in_in_a_real_browser(demo_db: Path, tmp_path: Path, page) -> None:
    """Served on 0.0.0.0 with a password file, chromium sees the form, then Home."""
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET + "\n")
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "handoff", "serve", "--db", str(demo_db)]
            + ["--address", "0.0.0.0", "--port", str(port), "--password-file", str(secret_file)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as r:
                        if r.read() == b"ok":
                            break
                except OSError:
                    time.sleep(0.3)
            page.goto(f"http://127.0.0.1:{port}")
            field = page.get_by_label("Password", exact=True)
            expect(field).to_be_visible()
            field.fill(SECRET)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
            wait_for_app(page)
            assert_no_exception(page)
        finally:
            stop_process(proc)
