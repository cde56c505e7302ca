"""README and docs are executed: every shell example of README.md and docs/*.md runs, as written,
against a temporary node, or is marked not runnable with a reason (tests/docs/shell_examples.py
has the convention).

The node is what a reader gets from `make up`: ``yaosu up`` in a fresh directory (SQLite and
local files in ``./.yaosu``, the demo city loaded), on a free loopback port, started once for the
module. The examples run one after another, in reading order, each as its own ``bash -euo
pipefail`` script in that directory (where ``.venv`` and ``examples`` are links to the
repository's), with none of the test suite's ``YAOSU_*`` settings (only ``YAOSU_ARGON2_FAST``, for
speed), ``.venv/bin`` on ``PATH`` and ``YAOSU`` set to the node's address, which is how the README
tells a reader to set it. ``curl``
is the real curl with ``--fail-with-body`` added, so an example whose request the node refuses
(a 400 for an unencoded query) fails instead of printing the refusal and exiting 0.

In CI (``CI=true``) nothing here skips: a missing ``curl`` or ``bash`` fails."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.docs.shell_examples import ROOT, Block, problems, read_blocks, shell_blocks

EXAMPLES = ROOT / "examples"
START_TIMEOUT = 180.0  # seconds for `yaosu up` to migrate, load the demo city and answer
BLOCK_TIMEOUT = 120.0

# 23 is curl's "write error": the reader of a pipe (`| head`) stopped reading, as it may.
_CURL = """#!/bin/sh
# The real curl, but an HTTP error status fails the example (tests/docs/test_docs_examples.py).
"{curl}" --fail-with-body "$@"
rc=$?
[ "$rc" -eq 23 ] && exit 0
exit "$rc"
"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    message = f"`{name}` is not installed; the shell examples of the docs need it"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    directory: Path
    url: str
    env: dict[str, str]
    started_in: float
    timings: list[tuple[str, float]] = field(default_factory=list)


def _reader_env(directory: Path, url: str, shim: Path) -> dict[str, str]:
    """The environment of a reader's shell: none of the suite's YAOSU_* settings (but one)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("YAOSU_") and k not in {"VIRTUAL_ENV", "PYTHONHOME"}
    }
    venv_bin = Path(sys.prefix) / "bin"
    env["PATH"] = os.pathsep.join([str(shim), str(venv_bin), env.get("PATH", "")])
    env["YAOSU"] = url
    # Cheap password hashing (a setting for tests only): the demo city's accounts and each
    # sign-in cost milliseconds instead of seconds; nothing an example shows depends on it.
    env["YAOSU_ARGON2_FAST"] = "1"
    env["HOME"] = str(directory)
    env.setdefault("LANG", "C.UTF-8")
    for name in ("NO_PROXY", "no_proxy"):  # the node is on loopback, never behind a proxy
        env[name] = ",".join(filter(None, [env.get(name), "127.0.0.1", "localhost"]))
    return env


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    _tool("bash")
    curl = _tool("curl")
    directory = tmp_path_factory.mktemp("docs-node")
    (directory / ".venv").symlink_to(Path(sys.prefix))
    (directory / "examples").symlink_to(EXAMPLES)
    shim = directory / ".shim"
    shim.mkdir()
    (shim / "curl").write_text(_CURL.format(curl=curl), encoding="utf-8")
    (shim / "curl").chmod(0o755)

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = _reader_env(directory, url, shim)
    log = (directory / "up.log").open("wb")
    began = time.monotonic()
    server = subprocess.Popen(
        ["yaosu", "up", "--host", "127.0.0.1", "--port", str(port)],
        cwd=directory,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(server, url, directory / "up.log")
        yield Node(directory, url, env, time.monotonic() - began)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_healthy(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Until GET /api/v1/health answers ok (the demo city is loaded before the server listens)."""
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        while True:
            if server.poll() is not None:
                pytest.fail(f"`yaosu up` exited {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if client.get(f"{url}/api/v1/health").json().get("status") == "ok":
                    return
            except (httpx.TransportError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"`yaosu up` not healthy in {START_TIMEOUT:.0f} s:\n{log.read_text()}")
            time.sleep(0.2)  # the next health probe; the loop waits on the answer, not the clock


def _run(block: Block, node: Node) -> str | None:
    """Run one example; None when it passed, else what went wrong."""
    script = node.directory / ".example.sh"
    script.write_text(block.script(), encoding="utf-8")
    env = dict(node.env, PS4=f"+ {block.where}+$LINENO: ")
    began = time.monotonic()
    try:
        done = subprocess.run(
            ["bash", "-euxo", "pipefail", str(script)],
            cwd=node.directory,
            env=env,
            capture_output=True,
            timeout=BLOCK_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"{block.where}: still running after {BLOCK_TIMEOUT:.0f} s"
    node.timings.append((block.where, time.monotonic() - began))
    if done.returncode == 0:
        return None
    out = done.stdout.decode("utf-8", "replace")[-1500:]
    err = done.stderr.decode("utf-8", "replace")[-2500:]
    return (
        f"{block.where}: exited {done.returncode}\n--- example ---\n{block.text}"
        f"--- stdout (tail) ---\n{out}\n--- stderr with the trace (tail) ---\n{err}"
    )


def test_every_shell_example_runs_or_says_why(node: Node) -> None:
    blocks = shell_blocks()
    runnable = [b for b in blocks if b.reason is None]
    assert runnable, "no runnable shell example found: is the README where it was?"
    failures = [f for f in (_run(b, node) for b in runnable) if f]
    timings = ", ".join(f"{where} {secs:.1f}s" for where, secs in node.timings)
    print(f"\nnode up in {node.started_in:.1f}s; examples: {timings}")
    assert not failures, "\n\n".join(failures)


def test_the_examples_convention_is_kept() -> None:
    """Markers carry a reason and sit on a shell block; shell-looking blocks are tagged."""
    found = problems()
    assert not found, "\n".join(f"{p.where}: {p.what}" for p in found)


def test_examples_directory_holds_what_the_examples_read() -> None:
    """Every file the examples name under examples/ exists, and every file there is used."""
    text = "\n".join(b.text for b in shell_blocks())
    shipped = {p.relative_to(ROOT).as_posix() for p in EXAMPLES.rglob("*") if p.is_file()}
    named = {
        word.strip("\"'") for word in text.split() if word.strip("\"'").startswith("examples/")
    }
    assert named, "no example reads a file from examples/"
    assert named <= shipped, f"examples name files that are not shipped: {named - shipped}"
    assert shipped <= named, f"files in examples/ that no example uses: {shipped - named}"


def test_the_convention_catches_what_it_should(tmp_path: Path) -> None:
    """The reader of the convention itself: a marker without a reason, a stray marker, an
    untagged shell block; console blocks run their prompted commands only."""
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- not-runnable: -->\n```sh\nmake up\n```\n\n"
        "<!-- not-runnable: a marker with nothing under it -->\n\ntext\n\n"
        "```\nyaosu ledger verify\n```\n\n"
        "<!-- not-runnable: serves until it is stopped -->\n```bash\nyaosu up\n```\n\n"
        "```console\n$ yaosu ledger verify \\\n    --help\nok: 3 entries\n$ echo done\ndone\n```\n",
        encoding="utf-8",
    )
    blocks, found = read_blocks(page)
    whats = sorted(p.what.split(":")[0] for p in found)
    assert whats == [
        "a not-runnable marker not directly before a block",
        "looks like a shell example; tag it sh",
        "not-runnable marker without a reason",
    ]
    shell = [b for b in blocks if b.is_shell]
    assert [b.reason for b in shell] == ["", "serves until it is stopped", None]
    assert shell[2].script() == "yaosu ledger verify \\\n    --help\necho done\n"
