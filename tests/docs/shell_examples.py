"""The shell examples of the README and docs/*.md, read from the Markdown.

Convention (README.md, "Running the examples"):
- A fenced block whose language is ``sh``, ``bash``, ``shell`` or ``console`` is a shell
  example. ``sh``/``bash``/``shell`` blocks are scripts; in a ``console`` block the commands are
  the lines after a ``$ `` prompt (continued by a trailing backslash), the rest is output.
- Every shell example runs in tests/docs/test_docs_examples.py against a temporary node, unless
  the line directly before its opening fence is ``<!-- not-runnable: <reason> -->``.
- Examples reach the node through ``$YAOSU`` (its base URL) and read sample files from
  ``examples/``; the README tells a reader how to set ``YAOSU``.
- A block that looks like shell (its first line is a command we ship or document) must be
  tagged as shell, so it cannot escape the run by having no language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
# A reason says why in words, not just "no".
MIN_REASON = 12

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_MARKER = re.compile(r"^<!--\s*not-runnable:(?P<reason>.*?)-->\s*$")
_MARKER_START = re.compile(r"^<!--\s*not-runnable\b")
# First words of a line that make an untagged block a shell example in disguise.
_SHELL_START = re.compile(
    r"^(\$ |yaosu |curl |ckanapi |make |python3? -m |\. \.venv|export |pip |uvicorn )"
)


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    reason: str | None  # the not-runnable reason, when marked

    @property
    def where(self) -> str:
        return f"{_name(self.page)}:{self.line}"

    @property
    def is_shell(self) -> bool:
        return self.lang.lower() in SHELL_LANGUAGES

    def script(self) -> str:
        """The commands a reader would type, as a script."""
        if self.lang.lower() != "console":
            return self.text
        commands: list[str] = []
        continuing = False
        for line in self.text.splitlines():
            if continuing:
                commands.append(line)
            elif line.startswith("$ "):
                commands.append(line[2:])
            else:
                continue
            continuing = line.rstrip().endswith("\\")
        return "\n".join(commands) + "\n"


@dataclass(frozen=True)
class Problem:
    where: str
    what: str


def read_blocks(page: Path) -> tuple[list[Block], list[Problem]]:
    """Every fenced block of a page, and the convention's problems found while reading it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    problems: list[Problem] = []
    rel = _name(page)
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            if _MARKER_START.match(lines[i]) and not _is_followed_by_fence(lines, i):
                problems.append(
                    Problem(f"{rel}:{i + 1}", "a not-runnable marker not directly before a block")
                )
            i += 1
            continue
        fence, lang = m.group("fence"), m.group("lang")
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        reason = None
        if start > 0 and _MARKER_START.match(lines[start - 1]):
            marker = _MARKER.match(lines[start - 1])
            reason = marker.group("reason").strip() if marker else ""
        block = Block(page, start + 1, lang, "\n".join(body) + "\n", reason)
        if reason is not None and len(reason) < MIN_REASON:
            problems.append(
                Problem(block.where, "not-runnable marker without a reason: write why in words")
            )
        if reason is not None and not block.is_shell:
            problems.append(Problem(block.where, "not-runnable marker on a block that is not sh"))
        if not block.is_shell:
            first = next((ln.strip() for ln in body if ln.strip()), "")
            if _SHELL_START.match(first):
                problems.append(
                    Problem(block.where, f"looks like a shell example; tag it sh: {first!r}")
                )
        blocks.append(block)
    return blocks, problems


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix() if page.is_relative_to(ROOT) else str(page)


def _is_followed_by_fence(lines: list[str], i: int) -> bool:
    return i + 1 < len(lines) and bool(_FENCE.match(lines[i + 1]))


def shell_blocks() -> list[Block]:
    """Every shell example, in reading order: the README first, then docs/ by name."""
    return [b for page in PAGES for b in read_blocks(page)[0] if b.is_shell]


def problems() -> list[Problem]:
    return [p for page in PAGES for p in read_blocks(page)[1]]
