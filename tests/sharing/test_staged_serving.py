"""What grants, open data and the portal serve while a new version is staged, once it is
accepted, and after a rollback: always the resource's current version, called through the real
data service and the open-data API on a committed database of each backend."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.committed import (  # noqa: F401 (fixtures)
    committed_client,
    committed_session,
    upload,
)
from tests.fixtures.identity import bearer, create_org, create_user, login

V1 = [{"bh": f"A{i:03d}", "mc": f"第一版{i}", "sl": i} for i in range(30)]
V2 = [{"bh": f"B{i:03d}", "mc": f"第二版{i}", "sl": i, "bz": "新增列"} for i in range(45)]


@pytest.fixture
def world(client: Any, session: Session) -> dict[str, Any]:
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    bureau = create_org(session, "大数据局")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, gaj, "cdo.g", "cdo")
    create_user(session, mzj, "officer.m", "data_officer")
    create_user(session, bureau, "reviewer", "reviewer")
    res = create_resource(
        session,
        gaj,
        publish=True,
        name="门店登记",
        share_attribute="unconditional",
        open_attribute="unconditional",
        fields=[{"name": "bh", "label_zh": "编号", "type": "string"}],
    )
    session.commit()
    h = {
        n: bearer(login(session, u))
        for n, u in (
            ("provider", "officer.g"),
            ("cdo", "cdo.g"),
            ("consumer", "officer.m"),
            ("reviewer", "reviewer"),
        )
    }
    session.commit()
    v1 = upload(client, h["provider"], res.id, V1)
    req = client.post(
        "/api/v1/share-requests",
        headers=h["consumer"],
        json={
            "resource_id": res.id,
            "fields": ["bh", "mc", "sl"],
            "purpose": "government_service",
            "legal_basis": "《条例》",
            "term_days": 30,
        },
    )
    assert req.status_code == 201 and req.json()["status"] == "approved", req.text
    return {"h": h, "res": res.id, "v1": v1, "grant": req.json()["grant_id"]}


def served(client: Any, w: dict[str, Any]) -> set[str]:
    r = client.get(f"/api/v1/services/{w['grant']}/rows?limit=500", headers=w["h"]["consumer"])
    assert r.status_code == 200, r.text
    return {str(row["bh"])[0] for row in r.json()["rows"]}


def portal(client: Any, w: dict[str, Any]) -> tuple[set[str], int]:
    r = client.get(f"/api/v1/open/datasets/{w['res']}/preview")
    assert r.status_code == 200, r.text
    body = r.json()
    at = body["columns"].index("bh")
    return {str(row[at])[0] for row in body["rows"]}, int(body["total"])


def test_grants_and_open_data_serve_only_accepted_versions(client: Any, world: Any) -> None:
    w = world
    assert served(client, w) == {"A"}
    assert portal(client, w) == ({"A"}, 30)
    staged = upload(client, w["h"]["provider"], w["res"], V2)  # a new column: staged
    info = client.get(f"/api/v1/dataset-versions/{staged}", headers=w["h"]["provider"]).json()
    assert info["state"] == "staged"
    assert served(client, w) == {"A"}  # the staged version is not served
    assert portal(client, w) == ({"A"}, 30)
    schema = client.get(f"/api/v1/services/{w['grant']}/schema", headers=w["h"]["consumer"])
    assert "bz" not in {f["name"] for f in schema.json()["fields"]}
    r = client.post(f"/api/v1/dataset-versions/{staged}/accept", headers=w["h"]["reviewer"])
    assert r.status_code == 200, r.text
    assert served(client, w) == {"B"}
    assert portal(client, w) == ({"B"}, 45)
    # The provider's chief data officer rolls back: grants and open data serve version 1 again.
    r = client.post(
        f"/api/v1/resources/{w['res']}/rollback",
        headers=w["h"]["cdo"],
        json={"version_id": w["v1"], "reason": "第二版数据有误"},
    )
    assert r.status_code == 200, r.text
    assert served(client, w) == {"A"}
    assert portal(client, w) == ({"A"}, 30)


def test_a_rejected_version_is_never_served(client: Any, world: Any) -> None:
    w = world
    staged = upload(client, w["h"]["provider"], w["res"], V2)
    r = client.post(
        f"/api/v1/dataset-versions/{staged}/reject",
        headers=w["h"]["reviewer"],
        json={"reason": "新增列未登记"},
    )
    assert r.status_code == 200, r.text
    assert served(client, w) == {"A"}
    assert portal(client, w) == ({"A"}, 30)
    r = client.post(
        f"/api/v1/resources/{w['res']}/rollback",
        headers=w["h"]["reviewer"],
        json={"version_id": staged, "reason": "强行上线"},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "version_not_accepted"
    assert served(client, w) == {"A"}
