"""The catalog API as a client sees it."""

from __future__ import annotations

from typing import Any

from tests.fixtures.identity import bearer, create_org, create_user, login


def world(session: Any) -> dict[str, Any]:
    gaj = create_org(session, "公安局", region_code="370600")
    bureau = create_org(session, "大数据局")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, bureau, "rev", "reviewer")
    create_user(session, create_org(session, "人社局"), "member.r")
    out = {
        "gaj": gaj,
        "officer": bearer(login(session, "officer.g")),
        "reviewer": bearer(login(session, "rev")),
        "member": bearer(login(session, "member.r")),
    }
    session.commit()
    return out


BODY = {
    "name": "常住人口基本信息",
    "classification_code": "10101001",
    "summary": "全市常住人口",
    "format": "table",
    "update_cycle": "daily",
    "base_library": "population",
    "share_attribute": "unconditional",
    "open_attribute": "unconditional",
    "fields": [{"name": "sfzh", "label_zh": "身份证号", "type": "string"}],
    "keywords": ["人口"],
    "source_system": "人口库",
}


def test_register_review_publish_and_public_lookup(client: Any, session: Any) -> None:
    w = world(session)
    r = client.post("/api/v1/resources", headers=w["officer"], json=BODY)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["code"] == "10101001/000001" and r.json()["status"] == "draft"
    # Another unit does not see the draft.
    assert client.get(f"/api/v1/resources/{rid}", headers=w["member"]).status_code == 404
    assert (
        client.post(f"/api/v1/resources/{rid}/submit", headers=w["officer"]).json()["status"]
        == "submitted"
    )
    r = client.post(
        f"/api/v1/resources/{rid}/return", headers=w["reviewer"], json={"reason": "补充字段"}
    )
    assert r.json()["status"] == "returned" and r.json()["return_reason"] == "补充字段"
    client.post(f"/api/v1/resources/{rid}/submit", headers=w["officer"])
    published = client.post(f"/api/v1/resources/{rid}/publish", headers=w["reviewer"]).json()
    code = published["registration_code"]
    lookup = client.get(f"/api/v1/registrations/{code}")  # public, no token
    assert lookup.status_code == 200 and lookup.json()["name"] == "常住人口基本信息"
    assert client.get("/api/v1/registrations/GZ000000-2026-99999999").status_code == 404
    versions = client.get(f"/api/v1/resources/{rid}/catalog-versions", headers=w["member"]).json()
    assert [v["version"] for v in versions] == [1, 2]
    # Published now: the other unit sees it and finds it by Chinese search.
    hits = client.get("/api/v1/resources", params={"q": "常住人口"}, headers=w["member"]).json()
    assert hits["total"] == 1 and hits["items"][0]["id"] == rid
    assert hits["facets"]["base_library"] == [{"value": "population", "label": "人口", "count": 1}]


def test_bad_metadata_gets_precise_errors(client: Any, session: Any) -> None:
    w = world(session)
    r = client.post(
        "/api/v1/resources",
        headers=w["officer"],
        json={**BODY, "share_attribute": "none", "open_attribute": "none"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "legal_basis_required"
    r = client.post(
        "/api/v1/resources", headers=w["officer"], json={**BODY, "classification_code": "99"}
    )
    assert r.status_code == 422 and "类" in r.json()["error"]["message_zh"]
    r = client.post("/api/v1/resources", headers=w["member"], json=BODY)
    assert r.status_code == 403 and r.json()["error"]["code"] == "role_required"


def test_census_export_and_demands(client: Any, session: Any) -> None:
    w = world(session)
    client.post("/api/v1/resources", headers=w["officer"], json=BODY)
    counts = client.get("/api/v1/census", headers=w["reviewer"]).json()
    assert counts["total"] == 1 and counts["status"] == {"draft": 1}
    csv = client.get("/api/v1/census/export?format=csv", headers=w["reviewer"])
    assert csv.headers["content-type"].startswith("text/csv")
    assert "常住人口基本信息" in csv.content.decode("utf-8-sig")
    xlsx = client.get("/api/v1/census/export?format=xlsx", headers=w["reviewer"])
    assert xlsx.content[:2] == b"PK"
    assert client.get("/api/v1/census/export?format=pdf", headers=w["reviewer"]).status_code == 422
    d = client.post(
        "/api/v1/demands",
        headers=w["member"],
        json={"title": "人口数据", "description": "社保认证", "wanted_fields": ["身份证号"]},
    )
    assert d.status_code == 201
    did = d.json()["id"]
    r = client.post(f"/api/v1/demands/{did}/answers", headers=w["officer"], json={"reason": "暂无"})
    assert r.status_code == 201 and r.json()["status"] == "answered"
    assert r.json()["answers"][0]["decision"] == "declined"
    listed = client.get("/api/v1/demands?status=answered", headers=w["officer"]).json()
    assert listed["total"] == 1
