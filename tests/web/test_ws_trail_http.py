"""The trail tab over HTTP, on both databases: the entries naming a subject, newest first and
paginated, with the node's verifier key pinned in the fragment; exactly the callers of the API's
trail search may read it; user text is escaped."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.identity import (
    SYSTEM,
    api_token,
    bearer,
    create_org,
    create_user,
)
from tests.fixtures.web import sign_in
from yaosu.identity.service import org_service
from yaosu.ledger.events import Actor
from yaosu.ledger.service import ledger_service

HX = {"HX-Request": "true"}


def indexes(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-entry="(\d+)"', html)]


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    bureau = create_org(session, "大数据局")
    gaj = create_org(session, "公安局")
    shady = create_org(session, "<b>坏</b>单位")
    banned = create_org(session, "被暂停单位")
    reviewer = create_user(session, bureau, "reviewer", "reviewer")
    officer = create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, shady, "shady.m", "member")
    create_user(session, banned, "member.b", "member")
    resource = create_resource(session, gaj, publish=True)
    # An event by the reviewer and one by a unit whose name is markup, both on the resource.
    ledger_service.record(
        session, "sharing.request_submitted", Actor(reviewer.id, bureau.id, "web"), [resource.id]
    )
    ledger_service.record(
        session, "sharing.request_refused", Actor(None, shady.id, "api"), [resource.id]
    )
    # A subject with 25 entries, for the pages.
    for n in range(25):
        ledger_service.record(session, "test.thing_done", Actor.system("test"), ["busy"], {"n": n})
    readonly = bearer(api_token(session, officer, "identity:read", "ledger:read"))
    catalog_only = bearer(api_token(session, officer, "catalog:read"))
    key = ledger_service.verifier_key(session)  # made on first use: commit it with the rest
    session.commit()
    return {
        "resource": resource.id,
        "banned": banned.id,
        "readonly": readonly,
        "catalog_only": catalog_only,
        "key": key,
    }


def test_the_fragment_lists_the_entries_newest_first_with_the_pinned_key(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    client = sign_in(app, "reviewer")
    r = client.get(f"/workspace/trail/{world['resource']}", headers=HX)
    assert r.status_code == 200
    html = r.text
    assert "<html" not in html  # a fragment, embeddable with hx-get
    rows, total = ledger_service.trail(session, world["resource"], 100, 0)
    assert indexes(html) == sorted((e.idx for e in rows), reverse=True)
    assert total == len(rows) >= 6
    assert f'data-ledger-key="{world["key"]}"' in html
    assert client.get("/api/v1/ledger/key").text.strip() == world["key"]  # the node's own key
    assert "data-trail-verify" in html and '<script src="/static/verify.js" defer>' in html
    # Labels: a bilingual label for known events, the domain for all, the raw type kept.
    assert "资源发布" in html and 'data-domain="catalog"' in html
    assert "catalog.resource_published" in html
    # Each row carries the entry's own type and time, which the browser compares with the bytes.
    newest = max(rows, key=lambda e: e.idx)
    assert f'data-type="{newest.type}"' in html
    # Actors: the reviewer sees "you"; a unit by its (escaped) name; the node as the system.
    assert "您本人" in html
    assert "&lt;b&gt;坏&lt;/b&gt;单位" in html and "<b>坏</b>" not in html
    assert "系统" in html

    en = client.get(f"/workspace/trail/{world['resource']}?lang=en", headers=HX).text
    assert "Resource published" in en and "Verify in the browser" in en
    assert "All {n} {n|entry|entries} verified" in en  # the words verify.js fills


def test_a_direct_visit_gets_the_whole_page(app: Any, world: dict[str, Any]) -> None:
    html = sign_in(app, "officer.g").get(f"/workspace/trail/{world['resource']}").text
    assert html.startswith("<!doctype html>")
    assert 'aria-current="page"' in html and 'href="/workspace"' in html  # the frame's menu
    assert "data-trail-verify" in html and "/static/verify.js" in html


def test_pages_of_twenty(app: Any, world: dict[str, Any], session: Session) -> None:
    client = sign_in(app, "officer.g")
    all_rows, total = ledger_service.trail(session, "busy", 100, 0)
    newest_first = sorted((e.idx for e in all_rows), reverse=True)
    assert total == 25
    first = client.get("/workspace/trail/busy", headers=HX).text
    assert indexes(first) == newest_first[:20]
    assert "共 25 条" in first and "第 1 / 2 页" in first
    assert 'hx-get="/workspace/trail/busy?page=2"' in first and "data-trail-prev" not in first
    second = client.get("/workspace/trail/busy?page=2", headers=HX).text
    assert indexes(second) == newest_first[20:]
    assert 'hx-get="/workspace/trail/busy?page=1"' in second and "data-trail-next" not in second
    beyond = client.get("/workspace/trail/busy?page=9", headers=HX).text
    assert indexes(beyond) == [] and "这一页没有条目" in beyond
    assert 'href="/workspace/trail/busy?page=2"' in beyond  # back to the last page
    assert client.get("/workspace/trail/busy?page=0", headers=HX).status_code == 422


def test_unknown_subjects_and_markup_in_the_address(app: Any, world: dict[str, Any]) -> None:
    client = sign_in(app, "officer.g")
    empty = client.get("/workspace/trail/nothing-here", headers=HX).text
    assert "账本中还没有提及该对象的条目" in empty and "data-trail-verify" not in empty
    evil = client.get("/workspace/trail/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E").text
    assert "<img src=x" not in evil and "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in evil


def test_the_same_callers_as_the_api_trail(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    from fastapi.testclient import TestClient

    path = f"/workspace/trail/{world['resource']}"
    api = f"/api/v1/ledger/trail/{world['resource']}"
    anonymous = TestClient(app)
    visit = anonymous.get(path, follow_redirects=False)
    assert visit.status_code == 303 and visit.headers["location"].startswith("/login?next=")
    embedded = anonymous.get(path, headers=HX)
    assert embedded.status_code == 401 and 'role="alert"' in embedded.text
    assert "data-entry" not in embedded.text

    suspended = sign_in(app, "member.b")
    org_service.change_status(session, SYSTEM, world["banned"], "suspended", "测试")
    session.commit()
    for url in (path, api):
        refused = suspended.get(url, headers=HX)
        assert refused.status_code == 403
        assert "data-entry" not in refused.text

    # A token is read like the API reads it: ledger:read is what the trail needs.
    assert anonymous.get(path, headers={**HX, **world["readonly"]}).status_code == 200
    for url in (path, api):
        no_scope = anonymous.get(url, headers={**HX, **world["catalog_only"]})
        assert no_scope.status_code == 403 and "data-entry" not in no_scope.text

    # Any active member may read it, as through the API: no unit or role is singled out.
    member = sign_in(app, "shady.m")
    assert member.get(api).status_code == 200
    assert indexes(member.get(path, headers=HX).text)
