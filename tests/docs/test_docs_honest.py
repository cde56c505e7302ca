"""The docs say what the code does (datasette's habit): a setting, error code or other name a
page puts in backticks must exist in the code, and every setting the node reads is documented.

No database: these tests read the Markdown and the source tree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yaosu.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "yaosu"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Environment variables that are not node settings: read by the test suite, CI or the bench.
NOT_SETTINGS = {
    "YAOSU_TEST_PG_URL": "the PostgreSQL server the tests use",
    "YAOSU_VECTORS_DIR": "where the ledger test-vector generator writes",
}

# Names of other software that pages mention in backticks on purpose.
EXTERNAL = {
    "package_autocomplete": "a CKAN action ckan.md says is not offered",
    "current_package_list_with_resources": "a CKAN action ckan.md says is not offered",
    "datastore_create": "a CKAN write action ckan.md says is not offered",
    "datastore_info": "a CKAN action ckan.md says is not offered",
    "datastore_search_sql": "a CKAN action ckan.md says is not offered",
    "package_create": "a CKAN write action ckan.md says is not offered",
    "validate_result": "Presidio's recognizer hook, in the bench comparison",
    "run_in_threadpool": "Starlette's helper",
    "to_json": "a library method",
}

_SETTING = re.compile(r"\bYAOSU_[A-Z0-9_]+\b")
_TICKED = re.compile(r"`([^`\n]+)`")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
# Codes built at run time from a stem: `<kind>_not_found`, `org_<status>`, `http_<status>`, ...
_DYNAMIC = (
    re.compile(r"^[a-z_]+_not_found$"),
    re.compile(r"^org_[a-z]+$"),
    re.compile(r"^http_\d{3}$"),
    re.compile(r"^[a-z_]+_state_conflict$"),
    re.compile(r"^invalid_[a-z_]+$"),
    re.compile(r"^masking_[a-z_]+$"),  # `masking_<pydantic error type>` (policy/model.py)
)


def _source_text() -> str:
    parts = [
        p.read_text(encoding="utf-8")
        for p in SRC.rglob("*")
        if p.is_file() and p.suffix in {".py", ".yaml", ".html", ".js", ".c", ".css"}
    ]
    return "\n".join(parts)


def _string_literals(source: str) -> set[str]:
    """Every snake-case string literal of the source: error codes are raised as literals
    (``code="pull_forbidden"``, ``DataplaneError("empty_file", …)``, status tables)."""
    return set(re.findall(r"[\"']([a-z][a-z0-9]*(?:_[a-z0-9]+)+)[\"']", source))


def _settings_env() -> set[str]:
    return {f"YAOSU_{name.upper()}" for name in Settings.model_fields}


def _tables_with_code_column(text: str) -> list[str]:
    """The first cells of every Markdown table whose header's first cell says "code"."""
    cells: list[str] = []
    in_table = False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        first = line.strip("|").split("|")[0].strip()
        if not in_table:
            in_table = first.lower() in {"code", "error code", "错误码"}
            continue
        if set(first) <= {"-", ":", " "}:
            continue
        cells.append(first)
    return cells


SOURCE = _source_text()
CODES = _string_literals(SOURCE)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_documented_setting_exists(page: Path) -> None:
    known = _settings_env() | set(NOT_SETTINGS) | set(re.findall(r"YAOSU_[A-Z0-9_]+", SOURCE))
    missing = sorted(set(_SETTING.findall(page.read_text(encoding="utf-8"))) - known)
    assert not missing, f"{page.name} names settings the code does not read: {missing}"


def test_the_settings_page_lists_exactly_the_settings() -> None:
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(YAOSU_[A-Z0-9_]+)` \|", text, flags=re.M))
    env_reads = set(re.findall(r"environ\.get\(\"(YAOSU_[A-Z0-9_]+)\"", SOURCE))
    assert rows == _settings_env() | env_reads


def test_every_setting_is_documented() -> None:
    documented = set()
    for page in PAGES:
        documented |= set(_SETTING.findall(page.read_text(encoding="utf-8")))
    missing = sorted(_settings_env() - documented)
    assert not missing, f"settings no page documents: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_code_in_an_error_table_is_raised_somewhere(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    unknown = []
    for cell in _tables_with_code_column(text):
        for token in _TICKED.findall(cell):
            if (
                _SNAKE.match(token)
                and token not in CODES
                and not any(d.match(token) for d in _DYNAMIC)
            ):
                unknown.append(token)
    assert not unknown, f"{page.name} lists error codes the code never raises: {unknown}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_snake_case_name_in_backticks_exists_in_the_code(page: Path) -> None:
    """A code, field, setting or function named in backticks is a string the source contains."""
    text = page.read_text(encoding="utf-8")
    unknown = sorted(
        {
            token
            for token in _TICKED.findall(text)
            if _SNAKE.match(token)
            and token not in SOURCE
            and token not in EXTERNAL
            and not any(d.match(token) for d in _DYNAMIC)
        }
    )
    assert not unknown, f"{page.name} names things the code does not have: {unknown}"


def test_the_checks_would_catch_a_made_up_code() -> None:
    fake = "| Code | Meaning |\n|---|---|\n| `no_such_code_anywhere` | x |\n"
    cells = _tables_with_code_column(fake)
    assert cells == ["`no_such_code_anywhere`"]
    assert "no_such_code_anywhere" not in CODES
