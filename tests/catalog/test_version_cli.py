"""`yaosu resource versions | accept-version | reject-version | rollback` and `resource ingest
--encoding` on a committed node of each backend: mojibake refused with the encodings tried, the
override read right, staged versions decided by reviewers, rollback refused without the role or
a reason."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from yaosu.cli import app
from yaosu.config import reset_settings
from yaosu.db import reset_engines

HEADER = ["姓名", "住址"]
ROWS = [[f"陳大文{i}", f"臺北市中正區重慶南路{i}號"] for i in range(40)]


def csv_file(path: Path, rows: list[list[str]], encoding: str, header: list[str] = HEADER) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def yaosu(*args: str) -> Any:
    from yaosu.cli.common import console, err_console

    console.width = err_console.width = 250
    reset_settings()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        reset_settings()


@pytest.fixture
def node(fresh_engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from tests.fixtures.catalog import create_resource
    from tests.fixtures.identity import create_org, create_user
    from yaosu.db import unit_of_work

    monkeypatch.setenv("YAOSU_DATA_DIR", str(tmp_path / "node"))
    monkeypatch.setenv("YAOSU_DATABASE_URL", fresh_engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("YAOSU_CLI_USER", raising=False)
    reset_settings()
    reset_engines()
    with unit_of_work() as s:
        gaj = create_org(s, "公安局")
        bureau = create_org(s, "大数据局")
        create_user(s, gaj, "officer.gaj", "data_officer")
        create_user(s, gaj, "cdo.gaj", "cdo")
        create_user(s, bureau, "reviewer", "reviewer")
        code = create_resource(s, gaj, publish=True).code
    yield code
    from yaosu.cli.common import acting

    acting.set(None)
    reset_engines()
    reset_settings()


def version_ids(code: str) -> dict[int, tuple[str, str]]:
    from yaosu.catalog.service import dataset_service, resource_service
    from yaosu.db import unit_of_work
    from yaosu.identity.subject import Subject

    with unit_of_work(write=False) as s:
        res = resource_service.get(s, Subject.system(via="test"), code)
        return {
            v.number: (v.id, v.state)
            for v in dataset_service.versions(s, Subject.system(via="test"), res.id)
        }


def current(code: str) -> str | None:
    from yaosu.catalog.service import resource_service
    from yaosu.db import unit_of_work
    from yaosu.identity.subject import Subject

    with unit_of_work(write=False) as s:
        return resource_service.get(s, Subject.system(via="test"), code).current_version_id


def test_ingest_refuses_mojibake_and_reads_the_override(node: str, tmp_path: Path) -> None:
    first = csv_file(tmp_path / "v1.csv", ROWS, "gb18030")
    r = yaosu("--as", "officer.gaj", "resource", "ingest", node, str(first))
    assert r.exit_code == 0, r.output
    for name, encoding in (("big5.csv", "big5"), ("u16.csv", "utf-16-le")):
        path = csv_file(tmp_path / name, ROWS[::-1], encoding)
        before = len(version_ids(node))
        r = yaosu("--as", "officer.gaj", "resource", "ingest", node, str(path))
        assert r.exit_code == 1, r.output
        assert "encoding_mojibake" in r.output and "utf-8, gb18030" in r.output
        assert len(version_ids(node)) == before  # an error, not a version
        r = yaosu(
            "--as", "officer.gaj", "resource", "ingest", node, str(path), "--encoding", encoding
        )
        assert r.exit_code == 0, r.output
        assert "accepted automatically" in r.output  # the same schema and findings
    assert [state for _, state in version_ids(node).values()] == ["accepted"] * 3
    pua = tmp_path / "pua.csv"
    pua.write_bytes("姓名,\ue000\ue001\n1,2\n".encode())
    r = yaosu("--as", "officer.gaj", "resource", "ingest", node, str(pua), "--encoding", "utf-8")
    assert r.exit_code == 1 and "header_mojibake" in r.output


def test_versions_accept_reject_and_rollback_from_the_shell(node: str, tmp_path: Path) -> None:
    v1 = csv_file(tmp_path / "v1.csv", ROWS, "utf-8")
    assert yaosu("--as", "officer.gaj", "resource", "ingest", node, str(v1)).exit_code == 0
    wider = csv_file(tmp_path / "v2.csv", [[*r, "x"] for r in ROWS], "utf-8", [*HEADER, "备注"])
    r = yaosu("--as", "officer.gaj", "resource", "ingest", node, str(wider))
    assert r.exit_code == 0 and "staged for review" in r.output, r.output
    r = yaosu("--as", "officer.gaj", "resource", "ingest", node, str(wider))
    assert r.exit_code == 0
    ids = version_ids(node)
    assert [s for _, s in ids.values()] == ["staged", "staged", "accepted"]
    listing = yaosu("resource", "versions", node)
    assert listing.exit_code == 0 and "schema_changed" in listing.output, listing.output
    staged_a, staged_b = ids[2][0], ids[3][0]
    # Only reviewers decide; a rejection needs a reason.
    r = yaosu("--as", "officer.gaj", "resource", "accept-version", staged_a)
    assert r.exit_code == 1 and "reviewer_required" in r.output
    r = yaosu("--as", "reviewer", "resource", "reject-version", staged_b)
    assert r.exit_code == 1 and "reason_required" in r.output
    r = yaosu("--as", "reviewer", "resource", "reject-version", staged_b, "--reason", "重复上传")
    assert r.exit_code == 0, r.output
    r = yaosu("--as", "reviewer", "resource", "accept-version", staged_a, "--reason", "已核对")
    assert r.exit_code == 0 and "now current" in r.output, r.output
    assert current(node) == staged_a
    # Rollback: not the data officer; not without a reason; not to the rejected version.
    r = yaosu("--as", "officer.gaj", "resource", "rollback", node, "1", "--reason", "r")
    assert r.exit_code == 1 and "rollback_not_permitted" in r.output
    r = yaosu("--as", "cdo.gaj", "resource", "rollback", node, "1")
    assert r.exit_code == 1 and "reason_required" in r.output
    r = yaosu("--as", "cdo.gaj", "resource", "rollback", node, "3", "--reason", "r")
    assert r.exit_code == 1 and "version_not_accepted" in r.output
    r = yaosu("--as", "cdo.gaj", "resource", "rollback", node, "9", "--reason", "r")
    assert r.exit_code == 1 and "version_not_of_resource" in r.output
    assert current(node) == staged_a
    r = yaosu("--as", "cdo.gaj", "resource", "rollback", node, "1", "--reason", "第二版有误")
    assert r.exit_code == 0 and "now serves version 1" in r.output, r.output
    assert current(node) == ids[1][0]
