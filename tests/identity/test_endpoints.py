"""The identity API as a client sees it: envelopes, sign-in, cookies and CSRF, DIDs, pagination."""

from __future__ import annotations

from typing import Any

from tests.fixtures.identity import PASSWORD, api_token, bearer, create_org, create_user, login
from yaosu.identity.access import CSRF_COOKIE, CSRF_HEADER


def setup_admin(session: Any) -> tuple[Any, dict[str, str]]:
    org = create_org(session, "大数据局")
    create_user(session, org, "admin", "platform_admin")
    headers = bearer(login(session, "admin"))
    session.commit()
    return org, headers


def test_oauth2_password_flow(client: Any, session: Any) -> None:
    setup_admin(session)
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"])).json()
    assert me["username"] == "admin" and me["roles"] == ["platform_admin"]
    assert me["org"]["name"] == "大数据局" and me["created_at"].endswith("Z")


def test_wrong_password_gets_401_envelope_in_both_languages(client: Any, session: Any) -> None:
    setup_admin(session)
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope-nope"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {
        "error": {
            "code": "invalid_credentials",
            "message": "Wrong username or password.",
            "message_zh": "用户名或密码错误。",
        }
    }


def test_forged_and_missing_tokens(client: Any, session: Any) -> None:
    setup_admin(session)
    r = client.get("/api/v1/orgs", headers=bearer("ys_forged"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_invalid"
    r = client.get("/api/v1/orgs")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"


def test_scope_is_enforced_with_a_precise_message(client: Any, session: Any) -> None:
    org, _ = setup_admin(session)
    user = create_user(session, org, "etl.bot", "platform_admin")
    read_only = bearer(api_token(session, user, "identity:read"))
    session.commit()
    r = client.post("/api/v1/orgs", headers=read_only, json={"name": "x", "kind": "regulator"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "scope_required"
    assert "identity:write" in r.json()["error"]["message"]


def test_validation_errors_use_the_envelope(client: Any, session: Any) -> None:
    _, headers = setup_admin(session)
    r = client.post("/api/v1/orgs", headers=headers, json={"kind": "government"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    # Fields by their labels, reasons in both languages: not pydantic's "Field required".
    assert "Name (required)" in err["message"] and "名称（必须填写）" in err["message_zh"]
    name = next(f for f in err["details"]["fields"] if f["field"] == "name")
    assert name["type"] == "missing" and name["reason_zh"] == "必须填写"
    assert "Field required" not in r.text


def test_malformed_uscc_and_duplicate_username(client: Any, session: Any) -> None:
    org, headers = setup_admin(session)
    r = client.post(
        "/api/v1/orgs",
        headers=headers,
        json={"name": "坏公司", "kind": "enterprise", "uscc": "91370600MA3C00000X"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "uscc_invalid"
    r = client.post(
        "/api/v1/users",
        headers=headers,
        json={"username": "admin", "display_name": "x", "password": PASSWORD, "org_id": org.id},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "username_taken"
    r = client.get("/api/v1/orgs/nope", headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "organization_not_found"


def test_create_list_and_paginate_orgs(client: Any, session: Any) -> None:
    bureau, headers = setup_admin(session)
    for i in range(5):
        r = client.post(
            "/api/v1/orgs",
            headers=headers,
            json={
                "name": f"区{i}",
                "kind": "government",
                "gov_level": "district",
                "parent_id": bureau.id,
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["did"].startswith("did:web:yaosu.localhost:org:")
    page = client.get("/api/v1/orgs?kind=government&limit=2&offset=2", headers=headers).json()
    assert page["total"] == 6 and page["limit"] == 2 and len(page["items"]) == 2
    assert [o["name"] for o in page["items"]] == ["区1", "区2"]
    r = client.get("/api/v1/orgs?limit=1000", headers=headers)
    assert r.status_code == 422


def test_did_document_is_public_and_resolvable(client: Any, session: Any) -> None:
    org, _ = setup_admin(session)
    doc = client.get(f"/api/v1/orgs/{org.id}/did.json").json()
    assert doc["id"] == org.did
    assert doc["assertionMethod"] == [doc["verificationMethod"][0]["id"]]
    assert client.get(f"/org/{org.id}/did.json").json() == doc


def test_cookie_session_requires_csrf_for_writes(client: Any, session: Any) -> None:
    setup_admin(session)
    r = client.post("/api/v1/auth/session", data={"username": "admin", "password": PASSWORD})
    assert r.status_code == 204
    assert client.get("/api/v1/auth/me").json()["username"] == "admin"
    body = {"name": "t", "scopes": ["identity:read"]}
    r = client.post("/api/v1/tokens", json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = client.post("/api/v1/tokens", json=body, headers={CSRF_HEADER: client.cookies[CSRF_COOKIE]})
    assert r.status_code == 201 and r.json()["token"].startswith("ys_")
    r = client.delete("/api/v1/auth/session", headers={CSRF_HEADER: client.cookies[CSRF_COOKIE]})
    assert r.status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_tampered_cookie_is_refused(client: Any, session: Any) -> None:
    setup_admin(session)
    client.post("/api/v1/auth/session", data={"username": "admin", "password": PASSWORD})
    client.cookies.set("yaosu_session", client.cookies["yaosu_session"][:-2] + "xx")
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_invalid"


def test_token_secret_shown_once_and_revocation_is_immediate(client: Any, session: Any) -> None:
    _, headers = setup_admin(session)
    created = client.post(
        "/api/v1/tokens", headers=headers, json={"name": "etl", "scopes": ["identity:read"]}
    )
    secret = created.json()["token"]
    listed = client.get("/api/v1/tokens", headers=headers).json()
    assert listed["total"] == 1 and "token" not in listed["items"][0]
    assert client.get("/api/v1/orgs", headers=bearer(secret)).status_code == 200
    client.delete(f"/api/v1/tokens/{created.json()['id']}", headers=headers)
    r = client.get("/api/v1/orgs", headers=bearer(secret))
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"


def test_suspended_org_can_do_nothing(client: Any, session: Any) -> None:
    _, headers = setup_admin(session)
    other = create_org(session, "交通局")
    create_user(session, other, "jt.member")
    member = bearer(login(session, "jt.member"))
    session.commit()
    r = client.post(
        f"/api/v1/orgs/{other.id}/suspend", headers=headers, json={"reason": "安全事件"}
    )
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    r = client.get("/api/v1/orgs", headers=member)
    assert r.status_code == 403 and r.json()["error"]["code"] == "org_suspended"
    r = client.post("/api/v1/auth/token", data={"username": "jt.member", "password": PASSWORD})
    assert r.status_code == 403


def test_admission_journey_over_http(client: Any, session: Any) -> None:
    bureau, _ = setup_admin(session)
    create_user(session, bureau, "reviewer", "reviewer")
    reviewer = bearer(login(session, "reviewer"))
    session.commit()
    from tests.fixtures.identity import make_uscc

    r = client.post(
        "/api/v1/admissions",
        json={
            "org_name": "示范运营公司",
            "requested_kind": "operator",
            "uscc": make_uscc(),
            "statement": "资质",
            "contact_username": "op.lead",
            "contact_display_name": "负责人",
            "contact_password": PASSWORD,
        },
    )
    assert r.status_code == 201, r.text
    adm = r.json()
    applicant = bearer(
        client.post(
            "/api/v1/auth/token", data={"username": "op.lead", "password": PASSWORD}
        ).json()["access_token"]
    )
    assert (
        client.get(f"/api/v1/admissions/{adm['id']}", headers=applicant).json()["status"]
        == "submitted"
    )
    assert client.get("/api/v1/orgs", headers=applicant).json()["error"]["code"] == "org_pending"
    r = client.post(
        f"/api/v1/admissions/{adm['id']}/approve", headers=reviewer, json={"reason": "同意"}
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert client.get("/api/v1/orgs", headers=applicant).status_code == 200
    r = client.post(
        f"/api/v1/admissions/{adm['id']}/reject", headers=reviewer, json={"reason": "x"}
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"


def test_users_see_only_what_their_role_allows(client: Any, session: Any) -> None:
    a, _ = setup_admin(session)
    b = create_org(session, "乙局")
    create_user(session, b, "cdo.b", "cdo")
    create_user(session, b, "member.b")
    create_user(session, a, "member.a")
    cdo_b, member_b = bearer(login(session, "cdo.b")), bearer(login(session, "member.b"))
    session.commit()

    def names(h: dict[str, str]) -> list[str]:
        return sorted(u["username"] for u in client.get("/api/v1/users", headers=h).json()["items"])

    assert names(cdo_b) == ["cdo.b", "member.b"]
    assert names(member_b) == ["member.b"]


def test_health_and_openapi(client: Any) -> None:
    health = client.get("/api/v1/health").json()
    assert health["status"] == "ok" and health["database"]["ok"] and health["storage"]["ok"]
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/orgs" in spec["paths"] and "/api/v1/ledger/checkpoint" in spec["paths"]
    assert client.get("/api/docs").status_code == 200
