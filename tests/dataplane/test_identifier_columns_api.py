"""Identifiers that look like integers reach JSON clients as strings, end to end: a CSV is
uploaded through the API, ingested, and read back through the provider's version profile, the
open-data preview and the data service (issue 21: "13077777868", never 13077777868)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes
from tests.fixtures.committed import committed_client, committed_session  # noqa: F401
from tests.fixtures.identity import bearer, create_org, create_user, login

MOBILES = ["13077777868", "18600001111", "15088886666", "19912345678", "13812345678"]
POSTCODES = ["310000", "100101", "518057", "200233", "610041"]
DIVISIONS = ["330106", "110105", "440305", "510107", "320102"]
ROWS = [
    {
        "xm": "张三",
        "sjhm": MOBILES[i % 5],  # named: sjhm
        "yzbm": POSTCODES[i % 5],  # named: yzbm
        "qh": DIVISIONS[i % 5],  # unnamed: one width of 6 digits
        "tel": "88886666" if i % 3 else MOBILES[i % 5],  # landlines and mobiles
        "rs": 100000 + i * 37,  # a head count of one width, named as a quantity (人数)
        "n": i * 7,  # a plain count
    }
    for i in range(30)
]
TEXT = ("sjhm", "yzbm", "qh", "tel")


@pytest.fixture
def world(client: Any, session: Session) -> dict[str, Any]:
    provider = create_org(session, "邮政管理局")
    consumer = create_org(session, "民政局")
    create_org(session, "大数据局")
    create_user(session, provider, "officer.p", "data_officer")
    create_user(session, consumer, "officer.c", "data_officer")
    rows = [{**r, "rs": str(r["rs"])} for r in ROWS]
    resource = create_resource(
        session,
        provider,
        publish=True,
        name="邮政网点",
        open_attribute="unconditional",
        share_attribute="unconditional",
    )
    session.commit()
    tokens = {u: bearer(login(session, u)) for u in ("officer.p", "officer.c")}
    session.commit()  # SQLite: release the write lock before the app writes
    r = client.post(
        f"/api/v1/resources/{resource.id}/versions?wait=true",
        headers=tokens["officer.p"],
        files={"file": ("p.csv", csv_bytes(rows), "text/csv")},
    )
    assert r.json()["status"] == "succeeded", r.text
    return {"resource": resource.id, "version": r.json()["version_id"], "tokens": tokens}


def test_the_version_stores_identifiers_as_text_and_its_profile_gives_strings(
    client: Any, world: dict[str, Any]
) -> None:
    got = client.get(
        f"/api/v1/dataset-versions/{world['version']}", headers=world["tokens"]["officer.p"]
    )
    assert got.status_code == 200, got.text
    body = got.json()
    types = {c["name"]: c["type"] for c in body["columns"]}
    assert {name: types[name] for name in TEXT} == dict.fromkeys(TEXT, "text")
    assert types["rs"] == "integer" and types["n"] == "integer"
    reasons = {c["name"]: c.get("reason") for c in body["columns"]}
    assert "kept as text" in reasons["sjhm"] and "kept as text" in reasons["qh"]
    sample = body["profile"]["sample"]
    assert sample and all(isinstance(row["sjhm"], str) for row in sample)
    assert {row["sjhm"] for row in sample} <= set(MOBILES)
    assert "13077777868" in {row["sjhm"] for row in sample}
    assert all(isinstance(row["yzbm"], str) and isinstance(row["qh"], str) for row in sample)
    assert all(isinstance(row["rs"], int) and isinstance(row["n"], int) for row in sample)


def test_open_preview_and_data_service_give_strings(client: Any, world: dict[str, Any]) -> None:
    preview = client.get(f"/api/v1/open/datasets/{world['resource']}/preview?limit=10")
    assert preview.status_code == 200, preview.text
    columns = preview.json()["columns"]
    rows = [dict(zip(columns, row, strict=True)) for row in preview.json()["rows"]]
    assert [row["yzbm"] for row in rows] == [r["yzbm"] for r in ROWS[:10]]
    assert [row["qh"] for row in rows] == [r["qh"] for r in ROWS[:10]]
    assert all(isinstance(row["sjhm"], str) for row in rows)  # masked or not: a string
    assert [row["rs"] for row in rows] == [r["rs"] for r in ROWS[:10]]

    req = client.post(
        "/api/v1/share-requests",
        headers=world["tokens"]["officer.c"],
        json={
            "resource_id": world["resource"],
            "fields": ["yzbm", "qh", "tel", "sjhm", "rs"],
            "purpose": "government_service",
            "legal_basis": "《条例》",
            "term_days": 30,
        },
    )
    assert req.status_code == 201 and req.json()["status"] == "approved", req.text
    got = client.get(
        f"/api/v1/services/{req.json()['grant_id']}/rows?limit=100",
        headers=world["tokens"]["officer.c"],
    )
    assert got.status_code == 200, got.text
    served = got.json()["rows"]
    assert len(served) == len(ROWS)
    assert sorted(row["yzbm"] for row in served) == sorted(r["yzbm"] for r in ROWS)
    assert sorted(row["qh"] for row in served) == sorted(r["qh"] for r in ROWS)
    assert all(isinstance(row["tel"], str) and isinstance(row["sjhm"], str) for row in served)
    assert sorted(row["rs"] for row in served) == sorted(r["rs"] for r in ROWS)
