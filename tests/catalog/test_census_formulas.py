"""The resource ledger 资源台账 export, for Excel: a name someone typed that a spreadsheet would
evaluate is never written as a formula, in the CSV or the XLSX (API and CLI)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.fixtures.catalog import create_resource
from tests.fixtures.identity import bearer, create_org, create_user, login

NAMES = ['=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3", "＝1+1"]
SYSTEMS = ["\t=1+1", "=cmd|' /C calc'!A0", "-2+3", "@x", "+A1"]


def _resources(session: Any) -> None:
    unit = create_org(session, "民政局")
    for name, system in zip(NAMES, SYSTEMS, strict=True):
        create_resource(session, unit, name=name, source_system=system)


def _xlsx_cells(body: bytes) -> dict[str, Any]:
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    return {c.value: c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}


def _assert_xlsx_has_no_formula(body: bytes) -> None:
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    kinds = {c.data_type for row in sheet.iter_rows() for c in row if c.value is not None}
    assert "f" not in kinds
    cells = _xlsx_cells(body)
    for value in NAMES + SYSTEMS:
        # Stored as the text itself, as a string cell that keeps its text when edited.
        assert cells[value].data_type == "s", value
        assert cells[value].quotePrefix, value
    assert not cells["民政局"].quotePrefix  # ordinary text: a plain string cell


def test_census_exports_write_no_formula(client: Any, session: Any) -> None:
    _resources(session)
    bureau = create_org(session, "大数据局")
    create_user(session, bureau, "rev", "reviewer")
    token = bearer(login(session, "rev"))
    session.commit()
    xlsx = client.get("/api/v1/census/export?format=xlsx", headers=token)
    assert xlsx.status_code == 200, xlsx.text
    _assert_xlsx_has_no_formula(xlsx.content)
    got = client.get("/api/v1/census/export?format=csv", headers=token)
    assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"), newline="")))
    cells = {c for row in rows for c in row}
    for value in NAMES + SYSTEMS:
        assert value not in cells and "'" + value in cells, value
    assert "民政局" in cells


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_cli_census_export_writes_no_formula(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    from typer.testing import CliRunner

    from yaosu.cli import app
    from yaosu.config import reset_settings
    from yaosu.db import reset_engines, unit_of_work

    monkeypatch.setenv("YAOSU_DATA_DIR", str(tmp_path / "node"))
    monkeypatch.delenv("YAOSU_DATABASE_URL", raising=False)
    reset_settings()
    reset_engines()
    try:
        assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
        with unit_of_work() as s:
            _resources(s)
        out = tmp_path / f"ledger.{suffix}"
        done = CliRunner().invoke(app, ["census", "export", "--out", str(out)])
        assert done.exit_code == 0, done.output
        if suffix == "xlsx":
            _assert_xlsx_has_no_formula(out.read_bytes())
        else:
            text = out.read_bytes().decode("utf-8-sig")
            cells = {c for row in csv.reader(io.StringIO(text, newline="")) for c in row}
            assert {"'" + v for v in NAMES + SYSTEMS} <= cells
    finally:
        reset_engines()
        reset_settings()
