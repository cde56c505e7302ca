"""GET /api/v1/health is public: anonymous callers learn whether the node works, not where its
database and storage are; a signed-in platform administrator sees the details."""

from __future__ import annotations

from typing import Any

from tests.fixtures.identity import bearer, create_org, create_user, login
from yaosu.config import get_settings


def test_anonymous_callers_see_flags_only(client: Any) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == {"ok": True}
    assert body["storage"] == {"ok": True} and isinstance(body["ledger"]["size"], int)
    settings = get_settings()
    for secret in (settings.storage_root, str(settings.data_dir), "sqlite", "postgresql"):
        assert secret not in r.text


def test_only_a_platform_admin_sees_paths_and_dialect(client: Any, session: Any) -> None:
    org = create_org(session, "大数据局")
    create_user(session, org, "admin", "platform_admin")
    create_user(session, org, "officer", "data_officer")
    session.flush()
    officer = client.get("/api/v1/health", headers=bearer(login(session, "officer"))).json()
    assert officer["database"] == {"ok": True} and "url" not in officer["storage"]
    admin = client.get("/api/v1/health", headers=bearer(login(session, "admin"))).json()
    dialect = session.get_bind().dialect.name
    assert admin["database"] == {"ok": True, "dialect": dialect}
    assert admin["storage"] == {"ok": True, "url": get_settings().storage_root}
    # A stale or forged token does not break the public answer, nor reveal anything.
    forged = client.get("/api/v1/health", headers=bearer("not-a-token"))
    assert forged.status_code == 200 and forged.json()["database"] == {"ok": True}


def test_no_detail_for_a_stale_token_or_an_admin_of_a_suspended_unit(
    client: Any, session: Any
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from tests.fixtures.identity import SYSTEM
    from yaosu.identity.service import org_service
    from yaosu.kit.timeutil import utcnow
    from yaosu.models.identity import ApiToken

    org = create_org(session, "大数据局")
    create_user(session, org, "admin", "platform_admin")
    session.flush()
    expired = login(session, "admin")
    session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.flush()
    stale = get_settings().storage_root
    for token in (expired, "x" * 5000, "Bearer", "not-a-token"):
        r = client.get("/api/v1/health", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["database"] == {"ok": True}
        assert stale not in r.text
    fresh = login(session, "admin")
    org_service.change_status(session, SYSTEM, org.id, "suspended", "审计")
    session.flush()
    r = client.get("/api/v1/health", headers=bearer(fresh))
    assert r.status_code == 200 and r.json()["storage"] == {"ok": True}
    assert stale not in r.text
