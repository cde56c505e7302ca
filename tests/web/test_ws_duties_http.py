"""Duties in the workspace over HTTP, on both databases: responsibility lists 共享责任清单 (a
unit's own list with overdue items and late requests, the data authority adding items, the
unit linking the resource that fulfils one) and webhook subscriptions 订阅 on a grant (the
consumer subscribes and sees the secret once; deliveries with their status and attempts).

Unhappy paths: other roles and other units (403/404), bad input (no name, a bad date, another
unit's resource, bad URLs) answered with a clear message and nothing changed, an inactive
grant, XSS in item names and delivery errors, and writes without the CSRF header."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.identity import SYSTEM, create_org, create_user
from tests.fixtures.web import sign_in
from yaosu.catalog.service import dataset_service
from yaosu.catalog.tasks import run_in_session
from yaosu.identity.rules import ALL_SCOPES
from yaosu.identity.service import token_service
from yaosu.kit.timeutil import utcnow
from yaosu.ledger.service import ledger_service
from yaosu.models.sharing import ResponsibilityItem, Subscription
from yaosu.sharing import schemas
from yaosu.sharing.service import (
    grant_service,
    request_service,
    responsibility_service,
    subscription_service,
)

XSS = '<script>alert("x")</script>人口信息'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;人口信息"


def post(client: Any, url: str, data: Any = None, csrf: bool = True) -> Any:
    """A form post as htmx sends it: the CSRF cookie echoed in the header."""
    headers = {"HX-Request": "true"}
    if csrf:
        headers["X-CSRF-Token"] = client.cookies.get("yaosu_csrf")
    return client.post(url, data=data, headers=headers)


def hx_get(client: Any, url: str) -> Any:
    return client.get(url, headers={"HX-Request": "true"})


def alert(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>(.*?)</', html, re.S)
    assert found, html[:400]
    return unescape(found.group(1)).strip()


def attr(html: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', html)
    assert found, f"no {name} in {html[:400]}"
    return found.group(1)


def count(session: Session, model: Any) -> int:
    """Rows of ``model`` the app committed; the test's transaction ends at once, so the app
    (which queues its writers on the same engine) is never kept waiting."""
    session.rollback()
    n = int(session.execute(select(func.count()).select_from(model)).scalar_one())
    session.rollback()
    return n


def as_user(user: Any) -> Any:
    return token_service.subject_of(user, ALL_SCOPES, None, "test")


def ingest(session: Session, resource_id: str, rows: int = 30, seed: int = 7) -> None:
    data = csv_bytes(people_rows(rows, seed))
    job = dataset_service.stage_upload(
        session, SYSTEM, resource_id, "p.csv", lambda p: p.write_bytes(data), {}
    )
    job = run_in_session(session, job.id)
    assert job.status == "succeeded", job.error


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    bureau = create_org(session, "大数据局")
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    jtj = create_org(session, "交通局")
    audit = create_org(session, "审计局", kind="regulator")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, gaj, "cdo.g", "cdo")
    officer_m = create_user(session, mzj, "officer.m", "data_officer")
    create_user(session, mzj, "member.m", "member")
    create_user(session, jtj, "officer.t", "data_officer")
    create_user(session, audit, "auditor", "auditor")
    shared = create_resource(session, gaj, publish=True, name="户籍人口信息（共享）")
    draft = create_resource(session, gaj, name="出入境证件信息")
    theirs = create_resource(session, mzj, publish=True, name="养老机构信息")
    ingest(session, shared.id)
    done = responsibility_service.add(
        session,
        SYSTEM,
        schemas.ResponsibilityCreate(
            org_id=gaj.id, name="户籍人口信息", due_at=utcnow() + timedelta(days=30)
        ),
    )
    late = responsibility_service.add(
        session,
        SYSTEM,
        schemas.ResponsibilityCreate(
            org_id=gaj.id,
            name="流动人口信息",
            basis="共享责任清单（2026年版）",
            due_at=utcnow() - timedelta(days=3),
        ),
    )
    responsibility_service.add(
        session,
        SYSTEM,
        schemas.ResponsibilityCreate(
            org_id=mzj.id, name="低保救助信息", due_at=utcnow() + timedelta(days=9)
        ),
    )
    req = request_service.submit(
        session,
        as_user(officer_m),
        schemas.ShareRequestCreate(
            resource_id=shared.id,
            fields=["sfzh", "xm"],
            purpose="government_service",
            purpose_text="户籍核验",
            legal_basis="《政务数据共享条例》",
        ),
    )
    assert req.grant_id, req.refusal
    session.commit()
    return {
        "gaj": gaj.id,
        "mzj": mzj.id,
        "jtj": jtj.id,
        "shared": shared.id,
        "draft": draft.id,
        "theirs": theirs.id,
        "done": done.id,
        "late": late.id,
        "grant": req.grant_id,
        "officer_m": officer_m,
    }


# --- responsibility lists ----------------------------------------------------------------------
def test_a_unit_sees_its_own_list_with_overdue_items_and_late_requests(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    # A request to 公安局 left past its review deadline.
    late_req = request_service.submit(
        session,
        as_user(world["officer_m"]),
        schemas.ShareRequestCreate(
            resource_id=world["shared"],
            fields=["sfzh"],
            purpose="government_service",
            purpose_text="核查",
            legal_basis="依据",
        ),
    )
    late_req.status, late_req.auto_approved = "provider_review", False
    late_req.deadline_at = utcnow() - timedelta(days=1)
    session.commit()

    g = sign_in(app, "officer.g")
    page = g.get("/workspace/responsibilities")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'aria-current="page"' in html and 'href="/workspace/responsibilities"' in html
    assert "户籍人口信息" in html and "流动人口信息" in html
    assert "低保救助信息" not in html  # another unit's item
    assert f'data-item="{world["late"]}" data-overdue="true"' in html
    assert f'data-item="{world["done"]}" data-overdue="false"' in html
    assert attr(html, 'id="duty-overdue-items" data-count') == "1"
    assert attr(html, 'id="duty-published" data-count') == "1"
    assert f'data-request="{late_req.id}"' in html  # the late request to the unit
    assert 'id="duty-add-form"' not in html  # units do not add items
    assert f'id="duty-link-{world["late"]}"' in html  # they link their own
    english = g.get("/workspace/responsibilities?lang=en").text
    assert "Responsibility list" in english and "Overdue" in english

    # Another unit's list is refused, with the reason.
    m = sign_in(app, "officer.m")
    other = m.get(f"/workspace/responsibilities?org={world['gaj']}")
    assert other.status_code == 403
    assert "只能查看本单位的共享责任清单" in unescape(other.text)
    own = m.get("/workspace/responsibilities").text
    assert "低保救助信息" in own and "流动人口信息" not in own
    assert f'data-request="{late_req.id}"' not in own
    member = sign_in(app, "member.m").get("/workspace/responsibilities").text
    assert "低保救助信息" in member and 'id="duty-link-' not in member  # reads, cannot link

    # Auditors see the city, and choose a unit.
    a = sign_in(app, "auditor")
    city = a.get("/workspace/responsibilities").text
    assert "低保救助信息" in city and "流动人口信息" in city and 'id="duty-f-org"' in city
    assert 'id="duty-add-form"' not in city and 'id="duty-link-' not in city
    one = a.get(f"/workspace/responsibilities?org={world['mzj']}").text
    assert "低保救助信息" in one and "流动人口信息" not in one


def test_the_data_authority_adds_items_with_names_escaped(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    r = sign_in(app, "reviewer")
    page = r.get("/workspace/responsibilities").text
    assert 'id="duty-add-form"' in page and f'value="{world["gaj"]}"' in page
    before = count(session, ResponsibilityItem)
    added = post(
        r,
        "/workspace/responsibilities",
        {
            "org_id": world["gaj"],
            "name": XSS,
            "basis": "《示范市政务数据共享责任清单》",
            "due": "2030-06-30",
            "view": world["gaj"],
        },
    )
    assert added.status_code == 200, added.text
    assert 'id="duty-done"' in added.text and added.headers["HX-Retarget"] == "#duty-out"
    assert 'id="duty-items"' in added.text and 'hx-swap-oob="true"' in added.text
    assert "<script>alert" not in added.text and ESCAPED in added.text
    assert count(session, ResponsibilityItem) == before + 1
    item = session.execute(
        select(ResponsibilityItem).where(ResponsibilityItem.name == XSS)
    ).scalar_one()
    assert item.org_id == world["gaj"] and item.due_at.date().isoformat() == "2030-06-30"
    entries, _ = ledger_service.trail(session, item.id, 10, 0)
    assert [e.type for e in entries] == ["sharing.responsibility_added"]
    session.rollback()
    listed = sign_in(app, "officer.g").get("/workspace/responsibilities").text
    assert ESCAPED in listed and "<script>alert" not in listed

    # Added with the resource that already fulfils it.
    with_res = post(
        r,
        "/workspace/responsibilities",
        {
            "org_id": world["gaj"],
            "name": "户籍变动信息",
            "due": "2030-01-01",
            "resource": world["shared"],
        },
    )
    assert with_res.status_code == 200, with_res.text
    session.rollback()
    done = session.execute(
        select(ResponsibilityItem).where(ResponsibilityItem.name == "户籍变动信息")
    ).scalar_one()
    assert done.resource_id == world["shared"] and done.fulfilled_at is not None


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"name": "x", "due": "2030-01-01"}, 422, "请选择责任单位"),
        ({"org": True, "name": "  ", "due": "2030-01-01"}, 422, "请填写事项名称"),
        ({"org": True, "name": "x", "due": ""}, 422, "请填写完成期限"),
        ({"org": True, "name": "x", "due": "2030-13-45"}, 422, "完成期限应为日期"),
        ({"org": True, "name": "x" * 201, "due": "2030-01-01"}, 422, "名称（最多 200 个字符）"),
        ({"org_id": "01nothing0000000000000000", "name": "x", "due": "2030-01-01"}, 404, ""),
        ({"org": True, "name": "x", "due": "2030-01-01", "resource": "theirs"}, 422, "不属于"),
    ],
)
def test_bad_items_are_refused_clearly_and_add_nothing(
    app: Any,
    session: Session,
    world: dict[str, Any],
    form: dict[str, Any],
    status: int,
    message: str,
) -> None:
    data = {k: v for k, v in form.items() if k != "org"}
    if form.get("org"):
        data["org_id"] = world["gaj"]
    if data.get("resource") == "theirs":
        data["resource"] = world["theirs"]
    before = count(session, ResponsibilityItem)
    r = post(sign_in(app, "reviewer"), "/workspace/responsibilities", data)
    assert r.status_code == status, r.text
    assert message in alert(r.text)
    assert count(session, ResponsibilityItem) == before


def test_only_the_data_authority_adds_and_writes_need_the_csrf_header(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    form = {"org_id": world["gaj"], "name": "x", "due": "2030-01-01"}
    before = count(session, ResponsibilityItem)
    for username in ("officer.g", "cdo.g", "auditor"):
        r = post(sign_in(app, username), "/workspace/responsibilities", form)
        assert r.status_code == 403, (username, r.text)
        assert 'role="alert"' in r.text
    no_csrf = post(sign_in(app, "reviewer"), "/workspace/responsibilities", form, csrf=False)
    assert no_csrf.status_code == 403 and "CSRF" in unescape(no_csrf.text)
    link = post(
        sign_in(app, "officer.g"),
        f"/workspace/responsibilities/{world['late']}/link",
        {"resource": world["shared"]},
        csrf=False,
    )
    assert link.status_code == 403
    assert count(session, ResponsibilityItem) == before
    session.rollback()
    assert session.get(ResponsibilityItem, world["late"]).resource_id is None  # type: ignore[union-attr]
    session.rollback()
    away = TestClient(app).get("/workspace/responsibilities", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/login?next=")


def test_the_unit_links_the_resource_that_fulfils_an_item(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    g = sign_in(app, "officer.g")
    page = g.get("/workspace/responsibilities").text
    # The choice is the unit's published resources.
    form = page[page.index(f'id="duty-link-{world["late"]}"') :]
    form = form[: form.index("</form>")]
    assert f'value="{world["shared"]}"' in form and world["draft"] not in form

    linked = post(
        g,
        f"/workspace/responsibilities/{world['late']}/link",
        {"resource": world["shared"], "view": "", "page": "1"},
    )
    assert linked.status_code == 200, linked.text
    assert "已完成" in unescape(linked.text) and linked.headers["HX-Retarget"] == "#duty-out"
    assert f'data-item="{world["late"]}" data-overdue="false" data-fulfilled="true"' in linked.text
    assert attr(linked.text, 'id="duty-overdue-items" data-count') == "0"
    session.rollback()
    item = session.get(ResponsibilityItem, world["late"])
    assert item is not None and item.resource_id == world["shared"] and item.fulfilled_at
    entries, _ = ledger_service.trail(session, world["late"], 10, 0)
    assert "sharing.responsibility_linked" in [e.type for e in entries]
    session.rollback()

    # A resource not yet published links, and fulfils the item once it is.
    pending = post(
        sign_in(app, "cdo.g"),
        f"/workspace/responsibilities/{world['done']}/link",
        {"resource": world["draft"]},
    )
    assert pending.status_code == 200, pending.text
    assert "资源发布后" in unescape(pending.text)
    assert (
        f'data-item="{world["done"]}" data-overdue="false" data-fulfilled="false"' in pending.text
    )

    # The data authority links for any unit.
    by_authority = post(
        sign_in(app, "reviewer"),
        f"/workspace/responsibilities/{world['done']}/link",
        {"resource": world["shared"]},
    )
    assert by_authority.status_code == 200, by_authority.text


def test_linking_refuses_other_units_bad_resources_and_unknown_items(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    m = sign_in(app, "officer.m")
    other_unit = post(
        m, f"/workspace/responsibilities/{world['late']}/link", {"resource": world["theirs"]}
    )
    assert other_unit.status_code == 403
    assert "只有本单位或数据主管部门可以关联资源" in alert(other_unit.text)
    g = sign_in(app, "officer.g")
    wrong = post(
        g, f"/workspace/responsibilities/{world['late']}/link", {"resource": world["theirs"]}
    )
    assert wrong.status_code == 422 and "该资源不属于清单所列单位" in alert(wrong.text)
    empty = post(g, f"/workspace/responsibilities/{world['late']}/link", {"resource": " "})
    assert empty.status_code == 422 and "请选择要关联的数据资源" in alert(empty.text)
    english = post(g, f"/workspace/responsibilities/{world['late']}/link?lang=en", {"resource": ""})
    assert "Choose the resource to link." in alert(english.text)
    unknown = post(
        g,
        "/workspace/responsibilities/01nothing0000000000000000/link",
        {"resource": world["shared"]},
    )
    assert unknown.status_code == 404 and 'role="alert"' in unknown.text
    missing = post(g, f"/workspace/responsibilities/{world['late']}/link", {"resource": "nope"})
    assert missing.status_code == 404
    session.rollback()
    item = session.get(ResponsibilityItem, world["late"])
    assert item is not None and item.resource_id is None and item.fulfilled_at is None


# --- subscriptions -----------------------------------------------------------------------------
def test_the_consumer_subscribes_and_sees_the_secret_once(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    grant = world["grant"]
    m = sign_in(app, "officer.m")
    page = m.get(f"/workspace/sharing/grants/{grant}").text
    assert f'hx-get="/workspace/sharing/grants/{grant}/subscriptions"' in page
    frag = hx_get(m, f"/workspace/sharing/grants/{grant}/subscriptions")
    assert frag.status_code == 200 and "<html" not in frag.text
    assert 'id="sub-form"' in frag.text and 'id="sub-none"' in frag.text

    made = post(
        m,
        f"/workspace/sharing/grants/{grant}/subscriptions",
        {"url": "https://mzj.example.cn/hook"},
    )
    assert made.status_code == 200, made.text
    secret = attr(made.text, 'id="sub-secret" class="tok-secret" value')
    assert len(secret) >= 40
    sub_id = attr(made.text, 'id="sub-created" data-subscription')
    assert 'id="sub-list" hx-swap-oob="true"' in made.text
    assert "https://mzj.example.cn/hook" in made.text

    # Never again: not in the fragment, not on the page, not for the provider.
    again = hx_get(m, f"/workspace/sharing/grants/{grant}/subscriptions").text
    assert f'data-subscription="{sub_id}"' in again and secret not in again
    direct = m.get(f"/workspace/sharing/grants/{grant}/subscriptions")
    assert direct.status_code == 200 and 'id="main"' in direct.text and secret not in direct.text
    provider = hx_get(sign_in(app, "officer.g"), f"/workspace/sharing/grants/{grant}/subscriptions")
    assert provider.status_code == 200 and f'data-subscription="{sub_id}"' in provider.text
    assert secret not in provider.text and 'id="sub-form"' not in provider.text

    session.rollback()
    sub = session.get(Subscription, sub_id)
    assert sub is not None and sub.url == "https://mzj.example.cn/hook" and sub.grant_id == grant
    assert subscription_service.secret(sub) == secret.encode()
    entries, _ = ledger_service.trail(session, sub_id, 10, 0)
    assert [e.type for e in entries] == ["sharing.subscribed"]


def test_deliveries_show_their_status_attempts_and_errors_escaped(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    grant = world["grant"]
    subscription_service.subscribe(
        session, as_user(world["officer_m"]), grant, "https://mzj.example.cn/hook"
    )
    ingest(session, world["shared"], rows=5, seed=3)  # a new version: one notification queued

    def down(url: str, body: bytes, headers: dict[str, str]) -> int:
        raise OSError('<b onmouseover="x">refused</b>')

    subscription_service.deliver_pending(session, down)
    session.commit()
    frag = hx_get(sign_in(app, "officer.m"), f"/workspace/sharing/grants/{grant}/subscriptions")
    html = frag.text
    assert 'data-status="pending"' in html
    row = html[html.index("data-delivery=") :]
    row = row[: row.index("</tr>")]
    assert "<td>1</td>" in row  # one attempt so far
    assert "<b onmouseover" not in html and "&lt;b onmouseover=&#34;x&#34;&gt;refused" in html
    assert "待发送" in html


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "请填写接收通知的地址"),
        ("javascript:alert(1)", "地址无效"),
        ("ftp://mzj.example.cn/hook", "地址无效"),
        ("mzj.example.cn/hook", "地址无效"),
        ("https://", "地址无效"),
        ("https://example.cn/" + "a" * 500, "地址过长"),
        # short as typed, over the limit once percent-encoded: the service refuses it
        ("https://example.cn/" + "张" * 160, "最多 500 个"),
    ],
)
def test_bad_urls_are_refused_clearly(
    app: Any, session: Session, world: dict[str, Any], url: str, message: str
) -> None:
    before = count(session, Subscription)
    r = post(
        sign_in(app, "officer.m"),
        f"/workspace/sharing/grants/{world['grant']}/subscriptions",
        {"url": url},
    )
    assert r.status_code == 422, r.text
    assert message in alert(r.text)
    assert count(session, Subscription) == before


def test_subscribing_is_the_consumers_on_an_active_grant_only(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    grant, form = world["grant"], {"url": "https://example.cn/hook"}
    before = count(session, Subscription)
    provider = post(
        sign_in(app, "officer.g"), f"/workspace/sharing/grants/{grant}/subscriptions", form
    )
    assert provider.status_code == 403 and "只有被授权单位可以订阅" in alert(provider.text)
    t = sign_in(app, "officer.t")  # a unit on neither side: the grant does not exist for it
    assert hx_get(t, f"/workspace/sharing/grants/{grant}/subscriptions").status_code == 404
    assert post(t, f"/workspace/sharing/grants/{grant}/subscriptions", form).status_code == 404
    m = sign_in(app, "officer.m")
    no_csrf = post(m, f"/workspace/sharing/grants/{grant}/subscriptions", form, csrf=False)
    assert no_csrf.status_code == 403
    assert count(session, Subscription) == before

    grant_service.change(session, SYSTEM, grant, "suspended", "核查")
    session.commit()
    stale = post(m, f"/workspace/sharing/grants/{grant}/subscriptions", form)
    assert stale.status_code == 409 and "授权不在有效状态" in alert(stale.text)
    frag = hx_get(m, f"/workspace/sharing/grants/{grant}/subscriptions").text
    assert 'id="sub-form"' not in frag and 'id="sub-closed"' in frag
    assert count(session, Subscription) == before


def test_every_word_of_the_area_exists_in_both_languages() -> None:
    from pathlib import Path

    from yaosu.web import i18n, ws_duties

    folder = Path(i18n.__file__).parent / "templates" / "ws" / "duties"
    used = set(re.findall(r'"(ws\.duties\.[a-z_.]+)"', Path(ws_duties.__file__).read_text()))
    for f in folder.glob("*.html"):
        text = f.read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\('([a-z_.]+)'""", text))
        used |= set(re.findall(r"""'(ws\.duties\.[a-z_.]+)'""", text))
    used = {k for k in used if not k.endswith(".")}
    used |= {f"ws.duties.delivery.{s}" for s in ("pending", "delivered", "failed")}
    assert "ws.duties.sub.secret" in used and "ws.duties.bad_url" in used
    missing = used - set(i18n.MESSAGES)
    assert not missing, missing
    assert all(all(i18n.MESSAGES[k]) for k in used)
