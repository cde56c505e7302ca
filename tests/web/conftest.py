"""Browser tests of the web UI: a live node and headless Chromium driven by Playwright.

The browser is always Debian's ``/usr/bin/chromium`` (``.ci/run`` installs it); Playwright's own
browser downloads are never used. Without it these tests skip with a message, except in CI
(``CI`` set) where they fail.

Fixtures:

- ``live_server`` (session) -> ``str``: the base URL (``http://127.0.0.1:<port>``, no trailing
  slash) of a real node, started exactly as ``yaosu up`` starts one — migrated, demo city 示范市
  loaded, a checkpoint, ``create_app(background=True)`` under uvicorn — on its own fresh data
  directory and SQLite database. It runs in a child process, not a thread: the app reads
  process-wide state (cached settings, the engine cache, the ingest runner) that other tests in the
  same worker reset and repoint, so in-process it could neither be isolated nor stay stable.
  Under pytest-xdist each worker that needs it starts its own, on its own free port.
- ``live_node`` (session) -> ``LiveNode``: the same server with its ``data_dir``,
  ``database_url`` (the SQLite file, for tests that check state directly) and ``log`` file.
- ``browser`` (session) -> ``playwright.sync_api.Browser``: headless Chromium.
- ``browser_context_args`` (function) -> ``dict``: keyword arguments of ``browser.new_context``;
  defaults to locale zh-CN, time zone Asia/Shanghai, a 1280x800 viewport and ``base_url`` =
  ``live_server`` (so ``page.goto("/")`` and ``page.request.get("/api/v1/health")`` work).
  Override it in a test module to change them, e.g. ``{**default_context_args(url), "locale":
  "en-US"}``.
- ``console_errors`` (function) -> ``list[str]``: every console error (failed loads included,
  except Chromium's own request for a missing ``/favicon.ico``) and uncaught page error of the
  test's page, as they happen.
- ``page`` (function) -> ``playwright.sync_api.Page``: a new context and page per test. After the
  test, the test fails (as an error in teardown) if ``console_errors`` is not empty; a test that
  provokes an error on purpose asserts on the list and then calls ``console_errors.clear()``.

Helper: ``screenshot(page, name)`` (``from tests.web.conftest import screenshot``) saves a
full-page PNG to ``docs/screenshots/<name>.png`` and returns its path.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page
    from sqlalchemy.orm import Session

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Containers often have a tiny /dev/shm; Chromium then crashes on large pages.
    "--disable-dev-shm-usage",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
# Migrations and the demo city take seconds; a machine running every worker at once is slower.
STARTUP_TIMEOUT = 180.0
DEFAULT_TIMEOUT_MS = 15_000


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI (.ci/run installs it)")
    pytest.skip(f"{what}; the browser tests need it (apt-get install chromium fonts-noto-cjk)")


@dataclass(frozen=True)
class LiveNode:
    url: str
    data_dir: Path
    log: Path

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'yaosu.db'}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _start(root: Path, attempt: int) -> tuple[subprocess.Popen[bytes], LiveNode]:
    port = _free_port()
    data_dir = root / f"node-{attempt}"
    log = root / f"server-{attempt}.log"
    env = {**os.environ, "YAOSU_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    for name in ("YAOSU_DATABASE_URL", "YAOSU_STORAGE_URL", "YAOSU_GRADING_RULES"):
        env.pop(name, None)
    env.setdefault("COLUMNS", "200")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "yaosu", "up", "--host", "127.0.0.1", "--port", str(port)],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, LiveNode(url=f"http://127.0.0.1:{port}", data_dir=data_dir, log=log)


def _wait_ready(proc: subprocess.Popen[bytes], node: LiveNode) -> bool:
    """True once /api/v1/health answers 200; False if the process exited first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            try:
                if http.get(f"{node.url}/api/v1/health").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    _stop(proc)
    pytest.fail(
        f"live server did not answer within {STARTUP_TIMEOUT:.0f}s; log {node.log}:\n"
        + _log_tail(node.log)
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="session")
def live_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNode]:
    """A real node (``yaosu up``) with the demo city, in a child process; see the docstring."""
    root = tmp_path_factory.mktemp("live-server")
    for attempt in range(3):
        proc, node = _start(root, attempt)
        if _wait_ready(proc, node):
            break
        # Exited before answering: another process may have taken the port in between.
        tail = _log_tail(node.log)
        if "address already in use" not in tail.lower() or attempt == 2:
            pytest.fail(f"live server exited with {proc.returncode}; log {node.log}:\n{tail}")
    try:
        yield node
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def live_server(live_node: LiveNode) -> str:
    """Base URL of the live node, e.g. ``http://127.0.0.1:41234``."""
    return live_node.url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed (pip install -e '.[dev]')")
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


def default_context_args(base_url: str) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "viewport": {"width": 1280, "height": 800},
    }


@pytest.fixture
def browser_context_args(live_server: str) -> dict[str, Any]:
    return default_context_args(live_server)


@pytest.fixture
def console_errors() -> list[str]:
    return []


@pytest.fixture
def page(
    browser: Browser, browser_context_args: dict[str, Any], console_errors: list[str]
) -> Iterator[Page]:
    context = browser.new_context(**browser_context_args)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()

    def on_console(msg: ConsoleMessage) -> None:
        url = msg.location.get("url") or ""
        # Chromium asks for /favicon.ico by itself on pages that declare no icon (JSON, say).
        if msg.type == "error" and urlsplit(url).path != "/favicon.ico":
            console_errors.append(f"console.error at {url}: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: console_errors.append(f"uncaught error: {exc}"))
    try:
        yield page
    finally:
        context.close()
    assert not console_errors, "the page logged errors:\n" + "\n".join(console_errors)


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG of ``page`` to ``docs/screenshots/<name>.png``; returns the path."""
    if not _NAME.fullmatch(name) or name.endswith(".png"):
        raise ValueError(f"screenshot name must be a plain file stem, got {name!r}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- HTTP tests of the pages: a database that really commits, as a browser's requests do ------
@pytest.fixture
def session(fresh_engine: Any) -> Iterator[Session]:
    from yaosu.db.uow import session_factory

    s = session_factory(fresh_engine)()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def app(fresh_engine: Any) -> Any:
    from yaosu.app import create_app

    return create_app(fresh_engine)
