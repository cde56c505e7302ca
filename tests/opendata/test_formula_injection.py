"""Spreadsheet formula injection (CSV injection) as a class: no file Yaosu writes for people to
open in Excel or WPS holds a cell the spreadsheet would evaluate, while the plain CSV for
programs keeps the values as they are."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes
from tests.fixtures.committed import committed_client, committed_session  # noqa: F401
from tests.fixtures.identity import bearer, create_org, create_user, login
from yaosu.models.ledger import LedgerEntry
from yaosu.models.opendata import OpenDistribution

# Text values a spreadsheet would evaluate, each with the row number it is in.
HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+1+1",
    "@SUM(A1)",
    "-2+3",
    "\t=1+1",
    "＝1+1",
    " =1+1",
    "=cmd|' /C calc'!A0",
]
# Text values left as they are: ordinary text, and a plain signed number (read as that number).
HARMLESS = ["民政局", "1-2", "-5", "+3.5"]
LABEL = "=cmd|' /C calc'!A0"
SPREADSHEET = ("csv-excel", "csv-labels", "csv-excel-labels")


def evaluated(cell: str) -> bool:
    """Whether Excel or WPS could read ``cell`` of a CSV as a formula: a tab or CR first, or a
    formula sign (ASCII or full-width) after leading white space, unless the cell is a plain
    signed number."""
    if cell[:1] in ("\t", "\r"):
        return True
    first = cell.lstrip(" \t\r\n\u3000\u00a0")[:1]
    if first not in {"=", "+", "-", "@", "＝", "＋", "－", "＠"}:
        return False
    return re.fullmatch(r"[+-][0-9]+(\.[0-9]+)?", cell) is None


ROWS = [
    {"bz": text, "sl": n}
    for text, n in zip(
        HOSTILE + HARMLESS, [-7, 3, -120, 0, 15, -1, 2, 9, 4, -5, 6, -8], strict=True
    )
]


@pytest.fixture
def opened(client: Any, session: Session) -> dict[str, Any]:
    mzj = create_org(session, "民政局")
    create_user(session, mzj, "officer.m", "data_officer")
    resource = create_resource(
        session,
        mzj,
        publish=True,
        name="服务网点备注",
        open_attribute="unconditional",
        share_attribute="unconditional",
        fields=[
            {"name": "bz", "label_zh": LABEL, "type": "string"},
            {"name": "sl", "label_zh": "数量", "type": "integer"},
        ],
    )
    session.commit()
    token = bearer(login(session, "officer.m"))
    session.commit()  # SQLite: release the write lock before the app writes
    r = client.post(
        f"/api/v1/resources/{resource.id}/versions?wait=true",
        headers=token,
        files={"file": ("p.csv", csv_bytes(ROWS), "text/csv")},
    )
    assert r.json()["status"] == "succeeded", r.text
    return {"id": resource.id, "session": session}


def _cells(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def _recorded(session: Session, fmt: str) -> list[str]:
    session.expire_all()
    ids = set(
        session.execute(select(OpenDistribution.id).where(OpenDistribution.format == fmt))
        .scalars()
        .all()
    )
    entries = session.execute(
        select(LedgerEntry.entry).where(LedgerEntry.type == "opendata.distribution_published")
    ).scalars()
    subjects = [json.loads(bytes(e))["subjects"] for e in entries]
    session.rollback()
    return [s[3] for s in subjects if s[0] in ids]


def test_the_plain_csv_keeps_every_value_as_it_is(client: Any, opened: dict[str, Any]) -> None:
    plain = client.get(f"/api/v1/open/datasets/{opened['id']}/download/csv")
    assert plain.status_code == 200, plain.text
    rows = _cells(plain.content)
    assert rows[0] == ["bz", "sl"]
    assert [r[0] for r in rows[1:]] == [r["bz"] for r in ROWS]  # for programs: unchanged
    assert [int(r[1]) for r in rows[1:]] == [r["sl"] for r in ROWS]
    served = hashlib.sha256(plain.content).hexdigest()
    assert plain.headers["x-content-sha256"] == served
    assert _recorded(opened["session"], "csv") == [served]


@pytest.mark.parametrize("fmt", SPREADSHEET)
def test_no_cell_of_a_spreadsheet_csv_would_be_evaluated(
    client: Any, opened: dict[str, Any], fmt: str
) -> None:
    got = client.get(f"/api/v1/open/datasets/{opened['id']}/download/{fmt}")
    assert got.status_code == 200, got.text
    assert got.content.startswith(b"\xef\xbb\xbf") == ("excel" in fmt)
    rows = _cells(got.content)
    assert len(rows) == len(ROWS) + 1
    hits = [(i, cell) for i, row in enumerate(rows) for cell in row if evaluated(cell)]
    assert hits == []
    # The header: the hostile label quoted in the labelled files, the names otherwise.
    assert rows[0] == (["'" + LABEL, "数量"] if "labels" in fmt else ["bz", "sl"])
    # Text: a quote in front of what would run, the value otherwise unchanged; plain signed
    # numbers in the text column and the integer column (negatives included) untouched.
    expected = [("'" + v if v in HOSTILE else v) for v in (r["bz"] for r in ROWS)]
    assert [r[0] for r in rows[1:]] == expected
    assert [r[1] for r in rows[1:]] == [str(r["sl"]) for r in ROWS]
    # What is hashed, listed and recorded is exactly the neutralised bytes served.
    served = hashlib.sha256(got.content).hexdigest()
    assert got.headers["x-content-sha256"] == served
    assert _recorded(opened["session"], fmt) == [served]
    listed = client.get(f"/api/v1/open/datasets/{opened['id']}/distributions").json()
    assert {d["format"]: d["sha256"] for d in listed}[fmt] == served
    plain = client.get(f"/api/v1/open/datasets/{opened['id']}/download/csv")
    assert plain.headers["x-content-sha256"] != served
    assert _cells(plain.content)[1][0] == HOSTILE[0]  # the plain CSV is still the data as is
    if fmt == "csv-excel":
        labelled = client.get(f"/api/v1/open/datasets/{opened['id']}/download/csv-excel-labels")
        # The same rows in both Excel files; only the header row differs.
        assert labelled.content.split(b"\n", 1)[1] == got.content.split(b"\n", 1)[1]
