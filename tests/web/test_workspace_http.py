"""The workspace frame and dashboards over HTTP, on both databases: each role lands on its own
dashboard with what waits for it; visitors are sent to sign in; inactive units are refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.identity import PASSWORD, SYSTEM, create_org, create_user
from tests.fixtures.web import sign_in
from yaosu.catalog.service import resource_service
from yaosu.identity.service import org_service
from yaosu.sharing import schemas as sharing_schemas
from yaosu.sharing.service import request_service


def waiting(html: str) -> dict[str, int]:
    found = re.findall(r'data-waiting="([^"]+)".*?data-count="(\d+)"', html, re.S)
    return {k: int(v) for k, v in found}


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    bureau = create_org(session, "大数据局")
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, mzj, "officer.m", "data_officer")
    create_user(session, mzj, "member.m", "member")
    published = create_resource(
        session, gaj, publish=True, share_attribute="conditional", share_conditions="仅限政务"
    )
    submitted = create_resource(session, gaj, name="<b>待发布</b>资源")
    resource_service.submit(session, SYSTEM, submitted.id)
    create_resource(session, gaj, name="草稿资源")
    session.commit()
    from yaosu.identity.service import auth_service, token_service

    user = auth_service.authenticate(session, "officer.m", PASSWORD)
    subject = token_service.subject_of(
        user, frozenset({"sharing:write", "sharing:read"}), None, "test"
    )
    request_service.submit(
        session,
        subject,
        sharing_schemas.ShareRequestCreate(
            resource_id=published.id,
            fields=["sfzh"],
            purpose="government_service",
            purpose_text="户籍核验",
            legal_basis="《条例》",
        ),
    )
    session.commit()
    return {"submitted": submitted.id, "gaj": gaj.id}


def test_each_role_sees_what_waits_for_it(app: Any, world: dict[str, Any]) -> None:
    reviewer = sign_in(app, "reviewer").get("/workspace")
    assert reviewer.status_code == 200
    assert waiting(reviewer.text)["ws.dash.count_reviews"] == 1
    assert "&lt;b&gt;待发布&lt;/b&gt;资源" in reviewer.text  # user text is escaped
    assert 'href="/workspace/reviews"' in reviewer.text  # the authority's menu has reviews
    assert 'href="/workspace/overview"' in reviewer.text

    provider = sign_in(app, "officer.g").get("/workspace").text
    counts = waiting(provider)
    assert counts["ws.dash.count_requests"] == 1  # the request made to 公安局
    assert counts["ws.dash.count_drafts"] == 1
    assert "ws.dash.count_reviews" not in counts  # not the authority's queue
    assert 'href="/workspace/overview"' not in provider

    consumer = waiting(sign_in(app, "officer.m").get("/workspace").text)
    assert consumer["ws.dash.count_my_requests"] == 1

    member = sign_in(app, "member.m").get("/workspace").text
    assert 'href="/workspace/reviews"' not in member


def test_visitors_are_sent_to_sign_in_and_inactive_units_refused(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    from fastapi.testclient import TestClient

    anonymous = TestClient(app).get("/workspace?x=1", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/workspace%3Fx%3D1"
    client = sign_in(app, "officer.g")
    org_service.change_status(session, SYSTEM, world["gaj"], "suspended", "测试")
    session.commit()
    refused = client.get("/workspace")
    assert refused.status_code == 403 and 'role="alert"' in refused.text


def test_the_dashboard_speaks_english_too(app: Any, world: dict[str, Any]) -> None:
    client = sign_in(app, "reviewer")
    page = client.get("/workspace?lang=en").text
    assert '<html lang="en">' in page and "Resources to publish" in page
    assert "Hello, reviewer" in page
