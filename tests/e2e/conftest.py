"""Browser tests: a real `streamlit run` on a free port, driven by Debian's Chromium via Playwright.

Where no browser is installed the tests skip with a reason, except in CI (CI=true), where a missing
browser is a failure: CI installs Debian's `chromium` before it runs the tests.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = Path(os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "screenshots"
BROWSER_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _require_browser() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI needs Debian's chromium at {CHROMIUM} for the browser tests (apt-get install chromium)")
    pytest.skip(f"no browser at {CHROMIUM}: install Debian's chromium to run the browser tests")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `streamlit run app.py` subprocess on its own port and database copy."""

    def __init__(self, db_path: Path, log_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "WORKBENCH_DB": str(db_path), "PYTHONPATH": str(ROOT)}
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app.py"),
                "--server.port",
                str(self.port),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early, see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"streamlit did not become healthy within {timeout} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture
def fresh_server(demo_db_path, tmp_path):
    """A new server on a private copy of the demo database: nothing has run in it yet."""
    _require_browser()
    db = tmp_path / "e2e.duckdb"
    shutil.copy(demo_db_path, db)
    server = Server(db, tmp_path / "streamlit.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_server(demo_db_path, tmp_path_factory):
    """One server for a module's read-mostly tests."""
    _require_browser()
    folder = tmp_path_factory.mktemp("e2e")
    db = folder / "e2e.duckdb"
    shutil.copy(demo_db_path, db)
    server = Server(db, folder / "streamlit.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the browser tests skip without Playwright's browser anyway
    PlaywrightTimeout = TimeoutError  # noqa: A001


def wait_for_app(page) -> None:
    """Wait until the app is connected and the script has finished its run (Streamlit's own e2e signal)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=90_000)
    # The title is drawn by the run itself, so once it is there "not running" means the run has ended
    # (before the first run starts the app also reports "not running").
    page.wait_for_selector("h1", timeout=90_000)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000)
    # Widgets whose code is loaded on demand show a placeholder until it has arrived.
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=30_000)


def current(scope, key: str):
    """The element with widget/element ``key`` from the current run only, inside ``scope`` (a page or a locator).

    While a rerun draws, Streamlit keeps the previous run's elements on screen marked ``data-stale``
    until the run ends; when an element moves, the stale copy and the new one both carry the key's
    CSS class for a moment, which would make a plain ``.st-key-…`` locator match two elements.
    """
    css_class = "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())  # odd characters become '-'
    return scope.locator(f".{css_class}:not([data-stale='true'])")


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG once every plotly chart on the page has drawn (charts render after the script)."""
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
            ".every(c => c.querySelector('.main-svg'))",
            timeout=20_000,
        )
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
