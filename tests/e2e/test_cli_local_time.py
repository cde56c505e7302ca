"""The CLI shows the node's local time (``YAOSU_TIMEZONE``) on a committed node of each backend:
a grant's last day is a local day, a new token's expiry is local wall time with its offset, and
both follow the setting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fixtures.classification import people_rows
from tests.fixtures.sharing import grant_on, served_resource
from tests.fixtures.timezone import set_node_zone  # noqa: F401 (the fixture)
from yaosu.cli import app
from yaosu.config import reset_settings
from yaosu.db import reset_engines

# 00:30 on 2027-07-01 in Beijing, still 2027-06-30 in UTC.
LAST = datetime(2027, 6, 30, 16, 30, tzinfo=UTC)


def yaosu(*args: str) -> Any:
    from yaosu.cli.common import console, err_console

    console.width = err_console.width = 250
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def node(fresh_engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from yaosu.db import unit_of_work
    from yaosu.models.sharing import Grant

    monkeypatch.setenv("YAOSU_DATA_DIR", str(tmp_path / "node"))
    monkeypatch.setenv("YAOSU_DATABASE_URL", fresh_engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("YAOSU_CLI_USER", raising=False)
    reset_settings()
    reset_engines()
    with unit_of_work() as s:
        served = served_resource(s, people_rows(5, seed=3), prefix="tz")
        grant = grant_on(s, served, ["xm"])
        s.get(Grant, grant.id).not_after = LAST  # type: ignore[union-attr]
    yield served.username
    from yaosu.cli.common import acting

    acting.set(None)
    reset_engines()
    reset_settings()


def test_cli_shows_local_days_and_times(node: str, node_zone: Any) -> None:
    listed = yaosu("--as", node, "grant", "list")
    assert listed.exit_code == 0, listed.output
    assert "2027-07-01" in listed.output and "2027-06-30" not in listed.output
    made = yaosu("--as", node, "token", "create", "--user", node, "--name", "t", "--scope",
                 "sharing:read", "--days", "30")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert " UTC+8; secret (shown once)" in made.output

    node_zone("UTC")
    listed = yaosu("--as", node, "grant", "list")
    assert "2027-06-30" in listed.output and "2027-07-01" not in listed.output
    made = yaosu("--as", node, "token", "create", "--user", node, "--name", "u", "--scope",
                 "sharing:read", "--days", "30")  # fmt: skip
    assert " UTC; secret (shown once)" in made.output
