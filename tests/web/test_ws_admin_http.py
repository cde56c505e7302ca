"""Organizations and users in the workspace over HTTP, on both databases: the directory (search,
filters, pages), registering a unit with the API's checks, a unit's page, suspending, resuming
and recording an exit with a reason, adding users with roles and an initial password, and
deactivating them.

Unhappy paths: callers without the API's roles (403) and signed-out visitors (sign in first), a
bad or taken USCC, a wrong government level or parent, a taken username, a short password, a
chief data officer outside their unit, XSS in names, a stale status change, writes without the
CSRF header, and a deactivated user signing in."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.fixtures.identity import PASSWORD, SYSTEM, create_org, create_user, make_uscc
from tests.fixtures.web import sign_in
from yaosu.identity.service import org_service
from yaosu.models.identity import Organization, User
from yaosu.models.ledger import LedgerEntry

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"


def post(client: Any, url: str, data: Any = None, lang: str = "zh", csrf: bool = True) -> Any:
    """A form post as htmx sends it: the CSRF cookie echoed in the header."""
    headers = {"HX-Request": "true"}
    if csrf:
        headers["X-CSRF-Token"] = client.cookies.get("yaosu_csrf")
    return client.post(f"{url}?lang={lang}", data=data or {}, headers=headers)


def alert(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>(.*?)</', html, re.S)
    assert found, html[:400]
    return unescape(found.group(1)).strip()


def count(session: Session, model: Any, *where: Any) -> int:
    n = session.scalar(select(func.count()).select_from(model).where(*where))
    session.rollback()  # release the snapshot (and SQLite's lock) for the app's writes
    return int(n or 0)


def ledger_types(session: Session) -> list[str]:
    types = list(session.scalars(select(LedgerEntry.type).order_by(LedgerEntry.idx)))
    session.rollback()
    return types


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    city = create_org(session, "示范市人民政府", region_code="370600")
    bureau = create_org(session, "大数据局", parent_id=city.id)
    gaj = create_org(session, "公安局", parent_id=city.id)
    district = create_org(session, "东城区人民政府", gov_level="district", parent_id=city.id)
    audit = create_org(session, "审计局", kind="regulator")
    firm = create_org(session, "普惠金融科技有限公司", kind="enterprise")
    create_user(session, bureau, "admin", "platform_admin")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, gaj, "cdo.gaj", "cdo")
    create_user(session, gaj, "officer.gaj", "data_officer")
    member = create_user(session, gaj, "member.gaj", "member")
    create_user(session, audit, "auditor", "auditor")
    create_user(session, firm, "fintech", "member")
    session.commit()
    return {
        "city": city.id,
        "bureau": bureau.id,
        "gaj": gaj.id,
        "district": district.id,
        "firm": firm.id,
        "firm_uscc": firm.uscc,
        "member": member.id,
    }


def register(client: Any, lang: str = "zh", **kw: Any) -> Any:
    data: dict[str, Any] = {"name": "新登记单位", "kind": "government", "gov_level": "district"}
    data.update(kw)
    return post(client, "/workspace/admin/orgs", data, lang=lang)


def new_user(client: Any, unit: str, lang: str = "zh", **kw: Any) -> Any:
    data: dict[str, Any] = {
        "username": "new.officer",
        "display_name": "新专管员",
        "org_id": unit,
        "roles": ["data_officer"],
        "password": "s3cret-initial-pw",
    }
    data.update(kw)
    return post(client, "/workspace/admin/users", data, lang=lang)


# --- the directory -------------------------------------------------------------------------------
def test_the_admin_sees_the_directory_searches_it_and_pages_through(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    for i in range(22):
        create_org(session, f"测试街道{i:02d}", gov_level="street", parent_id=world["district"])
    session.commit()
    admin = sign_in(app, "admin")
    page = admin.get("/workspace/admin")
    assert page.status_code == 200
    assert 'href="/workspace/admin" aria-current="page"' in page.text  # the menu's admin item
    assert 'data-total="28"' in page.text  # six of the world, 22 streets
    assert page.text.count("data-org=") == 20 and 'id="adm-org-pager"' in page.text
    firm = re.search(rf'<tr data-org="{world["firm"]}".*?</tr>', page.text, re.S)
    assert firm, "the enterprise is on the first page"
    assert "企业" in firm.group() and world["firm_uscc"] in firm.group() and "正常" in firm.group()
    row = re.search(rf'<tr data-org="{world["gaj"]}".*?</tr>', page.text, re.S)
    assert row and "示范市人民政府" in row.group() and "<td>市</td>" in row.group()  # parent, level
    assert 'id="adm-org-form"' in page.text  # the registration form

    second = admin.get("/workspace/admin?tab=orgs&page=2").text
    assert second.count("data-org=") == 8 and "第 2 / 2 页" in second

    found = admin.get("/workspace/admin?q=公安").text
    assert 'data-total="1"' in found and f'data-org="{world["gaj"]}"' in found
    streets = admin.get("/workspace/admin?kind=government&q=街道&page=2").text
    assert 'data-total="22"' in streets and streets.count("data-org=") == 2
    assert "q=%E8%A1%97%E9%81%93" in streets  # the pager keeps the search
    none = admin.get("/workspace/admin?status=suspended").text
    assert 'id="adm-org-empty"' in none

    english = admin.get("/workspace/admin?lang=en").text
    assert "Organizations and users" in english and "Enterprise" in english


def test_every_reader_of_the_api_reads_the_page_but_only_admins_get_the_forms(
    app: Any, world: dict[str, Any]
) -> None:
    reviewer = sign_in(app, "reviewer")
    page = reviewer.get("/workspace/admin")
    assert page.status_code == 200  # GET /api/v1/orgs: any identity:read caller
    assert 'id="adm-org-form"' not in page.text
    assert 'href="/workspace/admin"' not in page.text  # the menu offers it to admins only
    member = sign_in(app, "member.gaj")
    users = member.get("/workspace/admin?tab=users").text
    assert users.count("data-user=") == 1 and 'data-username="member.gaj"' in users
    assert 'id="adm-user-form"' not in users and "adm-deactivate" not in users
    officer = sign_in(app, "officer.gaj").get("/workspace/admin?tab=users").text
    assert officer.count("data-user=") == 3  # a data officer sees the unit's users

    anonymous = TestClient(app).get("/workspace/admin?tab=users", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/workspace/admin%3Ftab%3Dusers"


# --- registering organizations -------------------------------------------------------------------
def test_the_admin_registers_a_unit_and_sees_its_page(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    admin = sign_in(app, "admin")
    made = register(admin, name="西城区人民政府", parent_id=world["city"], region_code="370603")
    assert made.status_code == 204, made.text
    url = made.headers["HX-Redirect"]
    org_id = url.split("/")[-1].split("?")[0]
    assert url == f"/workspace/admin/orgs/{org_id}?created=1"
    page = admin.get(url)
    assert page.status_code == 200
    assert 'id="adm-org-created"' in page.text and "西城区人民政府" in page.text
    assert f'href="/api/v1/orgs/{org_id}/did.json"' in page.text
    assert "did:web:" in page.text and f":org:{org_id}" in page.text
    assert "区县" in page.text and 'href="/workspace/admin/orgs/' + world["city"] in page.text
    assert f'hx-get="/workspace/trail/{org_id}"' in page.text  # the status history
    assert 'id="adm-org-suspend"' in page.text and 'id="adm-org-exit"' in page.text
    assert 'id="adm-org-resume"' not in page.text
    assert 'id="adm-org-add-user"' in page.text
    assert admin.get(f"/api/v1/orgs/{org_id}/did.json").json()["id"].endswith(org_id)
    assert "identity.org_created" in ledger_types(session)

    firm = register(
        admin,
        name="新能源有限公司",
        kind="enterprise",
        gov_level="",
        uscc=" " + make_uscc().lower(),
    )
    assert firm.status_code == 204, firm.text
    firm_page = admin.get(firm.headers["HX-Redirect"]).text
    code = re.search(r'id="adm-org-uscc">([^<]+)<', firm_page)
    assert code and code.group(1) == code.group(1).upper() and len(code.group(1)) == 18

    parent = admin.get(f"/workspace/admin/orgs/{world['city']}").text
    assert 'id="adm-org-children"' in parent and "西城区人民政府" in parent


def test_bad_registrations_say_why_in_both_languages_and_create_nothing(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    admin = sign_in(app, "admin")
    before = count(session, Organization)
    good = make_uscc()
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    bad = register(admin, kind="enterprise", gov_level="", uscc=wrong)
    assert bad.status_code == 422
    assert alert(bad.text) == (
        f"统一社会信用代码 {wrong} 有误：校验位为 {wrong[17]}，按前 17 位计算应为 {good[17]}。"
    )
    english = register(admin, lang="en", kind="enterprise", gov_level="", uscc=wrong)
    assert f"check character is '{wrong[17]}', expected '{good[17]}'" in alert(english.text)
    short = register(admin, kind="enterprise", gov_level="", uscc="91370600")
    assert "应为 18 位，实际为 8 位" in alert(short.text)

    taken = register(admin, kind="enterprise", gov_level="", uscc=world["firm_uscc"])
    assert taken.status_code == 409
    assert alert(taken.text) == f"统一社会信用代码 {world['firm_uscc']} 已被注册。"
    assert "is already registered" in alert(
        register(admin, lang="en", kind="enterprise", gov_level="", uscc=world["firm_uscc"]).text
    )

    cases = {
        "该类机构必须填写统一社会信用代码。": {"kind": "enterprise", "gov_level": ""},
        "政府部门必须指定层级：省、市、区县、街道、社区或网格。": {"gov_level": ""},
        "区县级单位不能隶属于街道级单位。": {"parent_id": _street(session, world)},
        "政府部门的上级必须是政府部门。": {"parent_id": world["firm"]},
        "只有政府部门有层级。": {"kind": "institution"},
        "请选择单位类型。": {"kind": ""},
        "请检查：单位名称（不能为空）": {"name": "  "},
        "第三方服务机构至少需要一种服务类型。": {
            "kind": "service_provider",
            "gov_level": "",
            "uscc": make_uscc(),
        },
    }
    for message, data in cases.items():
        r = register(admin, **data)
        assert r.status_code == 422, (message, r.text)
        assert alert(r.text) == message
    unknown_parent = register(admin, parent_id="01nothing0000000000000000")
    assert unknown_parent.status_code == 404 and "上级机构" in alert(unknown_parent.text)
    assert alert(register(admin, lang="en", gov_level="").text).startswith("A government unit")
    assert count(session, Organization) == before + 1  # only the street made for the case


def _street(session: Session, world: dict[str, Any]) -> str:
    street = create_org(session, "某街道", gov_level="street", parent_id=world["district"])
    session.commit()
    return street.id


def test_only_platform_admins_register_units_and_names_are_escaped(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    before = count(session, Organization)
    for username in ("reviewer", "cdo.gaj", "officer.gaj", "auditor"):
        refused = register(sign_in(app, username), name="越权单位")
        assert refused.status_code == 403, username
        assert "platform_admin" in alert(refused.text)
    assert count(session, Organization) == before

    admin = sign_in(app, "admin")
    made = register(admin, name=XSS, name_en=XSS)
    assert made.status_code == 204
    page = admin.get(made.headers["HX-Redirect"]).text
    assert "<script>alert" not in page and ESCAPED in page
    listing = admin.get("/workspace/admin?q=script").text
    assert "<script>alert" not in listing and ESCAPED in listing


# --- a unit's status -----------------------------------------------------------------------------
def test_suspend_resume_and_exit_with_a_reason_and_a_stale_page_told_so(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    admin = sign_in(app, "admin")
    url = f"/workspace/admin/orgs/{world['gaj']}"
    member = sign_in(app, "member.gaj")

    no_reason = post(admin, f"{url}/suspend", {"reason": "  "})
    assert no_reason.status_code == 422 and alert(no_reason.text) == "请填写理由。"
    assert count(session, Organization, Organization.status == "suspended") == 0

    done = post(admin, f"{url}/suspend", {"reason": f"数据安全检查{XSS}"})
    assert done.status_code == 200, done.text
    assert 'id="adm-org-done"' in done.text and "已暂停。" in done.text
    assert 'id="adm-org-state"' in done.text and 'hx-swap-oob="true"' in done.text
    assert 'data-status="suspended"' in done.text
    assert 'id="adm-org-resume"' in done.text and 'id="adm-org-suspend"' not in done.text
    assert count(session, Organization, Organization.status == "suspended") == 1
    assert "identity.org_suspended" in ledger_types(session)
    assert member.get("/workspace").status_code == 403  # its users can do nothing
    login = TestClient(app).post(
        "/api/v1/auth/session", data={"username": "officer.gaj", "password": PASSWORD}
    )
    assert login.status_code == 403

    again = post(admin, f"{url}/suspend", {"reason": "再次暂停"})
    assert again.status_code == 409
    assert alert(again.text) == "该单位当前状态为“已暂停”，不能执行“暂停”。页面可能已过期，请刷新。"
    english = post(admin, f"{url}/suspend", {"reason": "again"}, lang="en")
    assert "is now “Suspended”; it cannot be changed by “Suspend”" in alert(english.text)

    reviewer = sign_in(app, "reviewer")  # the API lets reviewers change a unit's status too
    resumed = post(reviewer, f"{url}/resume", {"reason": "检查完毕"})
    assert resumed.status_code == 200 and 'data-status="active"' in resumed.text
    assert member.get("/workspace").status_code == 200

    exited = post(admin, f"{url}/exit", {"reason": "机构撤并"})
    assert exited.status_code == 200 and 'data-status="exited"' in exited.text
    assert 'id="adm-org-actions"' not in exited.text  # nothing follows an exit
    stale = post(admin, f"{url}/resume", {"reason": "恢复"})
    assert stale.status_code == 409 and "“已退出”" in alert(stale.text)
    page = admin.get(url).text
    assert 'data-status="exited"' in page and 'id="adm-org-did-doc"' in page


def test_status_changes_need_the_api_roles_and_not_on_ones_own_unit(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    url = f"/workspace/admin/orgs/{world['gaj']}/suspend"
    for username in ("cdo.gaj", "officer.gaj", "auditor", "fintech"):
        refused = post(sign_in(app, username), url, {"reason": "越权"})
        assert refused.status_code == 403, username
    own = post(
        sign_in(app, "admin"), f"/workspace/admin/orgs/{world['bureau']}/suspend", {"reason": "x"}
    )
    assert own.status_code == 403 and alert(own.text) == "不能变更本机构自身的状态。"
    page = sign_in(app, "admin").get(f"/workspace/admin/orgs/{world['bureau']}").text
    assert 'id="adm-org-actions"' not in page  # no buttons for one's own unit
    cdo_page = sign_in(app, "cdo.gaj").get(f"/workspace/admin/orgs/{world['firm']}").text
    assert 'id="adm-org-actions"' not in cdo_page
    missing = sign_in(app, "admin").get("/workspace/admin/orgs/01nothing0000000000000000")
    assert missing.status_code == 404
    assert count(session, Organization, Organization.status != "active") == 0


# --- users ---------------------------------------------------------------------------------------
def test_the_admin_adds_a_user_who_signs_in_and_the_password_is_never_echoed(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    admin = sign_in(app, "admin")
    form = admin.get(f"/workspace/admin?tab=users&org={world['gaj']}")
    assert form.status_code == 200
    assert form.text.count("data-user=") == 3 and 'id="adm-users-org"' in form.text
    assert f'<option value="{world["gaj"]}" selected>' in form.text  # the unit preselected
    assert 'value="platform_admin"' in form.text  # an admin grants every role

    made = new_user(admin, world["gaj"], display_name=f"新专管员{XSS}")
    assert made.status_code == 200, made.text
    assert 'id="adm-user-created"' in made.text and "new.officer" in made.text
    assert "s3cret-initial-pw" not in made.text  # never sent back
    assert 'id="adm-user-form"' in made.text and 'hx-swap-oob="true"' in made.text
    assert "<script>alert" not in made.text and ESCAPED in made.text
    assert "数据专管员" in made.text and "公安局" in made.text
    assert "identity.user_created" in ledger_types(session)

    listing = admin.get(f"/workspace/admin?tab=users&org={world['gaj']}").text
    assert 'data-username="new.officer"' in listing and ESCAPED in listing
    assert "<script>alert" not in listing
    signed = TestClient(app).post(
        "/api/v1/auth/session", data={"username": "new.officer", "password": "s3cret-initial-pw"}
    )
    assert signed.status_code == 204


def test_bad_users_say_why_and_create_nothing(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    admin = sign_in(app, "admin")
    before = count(session, User)
    taken = new_user(admin, world["gaj"], username="member.gaj")
    assert taken.status_code == 409 and alert(taken.text) == "用户名 'member.gaj' 已被占用。"
    english = new_user(admin, world["gaj"], lang="en", username="member.gaj")
    assert alert(english.text) == "The username 'member.gaj' is taken."
    short = new_user(admin, world["gaj"], password="short")
    assert short.status_code == 422 and alert(short.text) == "请检查：初始密码（至少 8 个字符）"
    assert 'value="short"' not in short.text
    short_en = new_user(admin, world["gaj"], lang="en", password="short")
    assert alert(short_en.text) == "Please check: Initial password (at least 8 characters)"
    cases = {
        "请检查：用户名（只能包含字母、数字、点、下划线和连字符）": {"username": "张 三"},
        "请检查：用户名（至少 3 个字符）": {"username": "ab"},
        "请检查：姓名（不能为空）": {"display_name": ""},
        "用户至少需要一个角色。": {"roles": []},
        "未知的角色：superuser。": {"roles": ["superuser"]},
        "请选择用户所在单位。": {"org_id": ""},
    }
    for message, data in cases.items():
        r = new_user(admin, world["gaj"], **data)
        assert r.status_code == 422, (message, r.text)
        assert alert(r.text) == message
    assert count(session, User) == before


def test_a_chief_data_officer_manages_the_own_unit_only(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    cdo = sign_in(app, "cdo.gaj")
    page = cdo.get("/workspace/admin?tab=users").text
    assert page.count("data-user=") == 3  # the unit's users
    options = re.findall(
        r'<option value="([^"]*)"', page.split('id="adm-u-org"')[1].split("</select>")[0]
    )
    assert options == [world["gaj"]]
    assert 'value="reviewer"' not in page and 'value="data_officer"' in page
    assert page.count("adm-deactivate-") == 2  # not the CDO's own account

    made = new_user(cdo, world["gaj"], username="officer2.gaj")
    assert made.status_code == 200, made.text
    before = count(session, User)
    elsewhere = new_user(cdo, world["bureau"], username="intruder")
    assert elsewhere.status_code == 403
    assert alert(elsewhere.text) == "只有平台管理员或本单位首席数据官可以添加用户。"
    privileged = new_user(cdo, world["gaj"], username="self.made", roles=["reviewer"])
    assert privileged.status_code == 403 and "只有平台管理员可以授予" in alert(privileged.text)
    for username in ("officer.gaj", "reviewer", "auditor", "member.gaj"):
        assert new_user(sign_in(app, username), world["gaj"], username="x.y.z").status_code == 403
    assert count(session, User) == before


def test_a_deactivated_user_can_no_longer_sign_in(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    member = sign_in(app, "member.gaj")
    assert member.get("/workspace").status_code == 200
    admin = sign_in(app, "admin")
    url = f"/workspace/admin/users/{world['member']}/deactivate"
    done = post(admin, url)
    assert done.status_code == 200, done.text
    assert "已停用 member.gaj，其令牌已全部吊销。" in done.text
    assert f'id="adm-user-state-{world["member"]}"' in done.text and "hx-swap-oob" in done.text
    assert count(session, User, User.is_active.is_(False)) == 1
    assert "identity.user_deactivated" in ledger_types(session)

    kicked = member.get("/workspace", follow_redirects=False)  # the session was revoked
    assert kicked.status_code == 303 and kicked.headers["location"].startswith("/login")
    again = TestClient(app).post(
        "/api/v1/auth/session", data={"username": "member.gaj", "password": PASSWORD}
    )
    assert again.status_code == 401 and again.json()["error"]["code"] == "account_disabled"
    browser = TestClient(app)
    browser.cookies.set("yaosu_csrf", "t")
    page = browser.post(
        "/login",
        data={"username": "member.gaj", "password": PASSWORD, "next": "/workspace"},
        headers={"HX-Request": "true", "X-CSRF-Token": "t"},
    )
    assert page.status_code == 401 and alert(page.text) == "账号已停用。"

    twice = post(admin, url)
    assert twice.status_code == 409 and alert(twice.text) == "该用户已停用。"
    listing = admin.get(f"/workspace/admin?tab=users&org={world['gaj']}").text
    assert f'id="adm-deactivate-{world["member"]}"' not in listing
    me = re.search(r'data-username="admin"', admin.get("/workspace/admin?tab=users").text)
    assert me
    admin_id = session.scalar(select(User.id).where(User.username == "admin"))
    session.rollback()
    own = post(admin, f"/workspace/admin/users/{admin_id}/deactivate")
    assert own.status_code == 403 and alert(own.text) == "不能停用自己的账号。"
    other_unit = post(sign_in(app, "cdo.gaj"), f"/workspace/admin/users/{admin_id}/deactivate")
    assert other_unit.status_code == 404  # another unit's users are not even visible to a CDO


# --- CSRF ----------------------------------------------------------------------------------------
def test_writes_without_the_csrf_header_are_refused_and_change_nothing(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    admin = sign_in(app, "admin")
    orgs, users = count(session, Organization), count(session, User)
    writes = [
        (
            "/workspace/admin/orgs",
            {"name": "无令牌单位", "kind": "government", "gov_level": "city"},
        ),
        (f"/workspace/admin/orgs/{world['gaj']}/suspend", {"reason": "x"}),
        (
            "/workspace/admin/users",
            {
                "username": "no.csrf",
                "display_name": "n",
                "org_id": world["gaj"],
                "roles": ["member"],
                "password": PASSWORD,
            },
        ),
        (f"/workspace/admin/users/{world['member']}/deactivate", {}),
    ]
    for url, data in writes:
        r = post(admin, url, data, csrf=False)
        assert r.status_code == 403, url
        assert alert(r.text) == "缺少或错误的 CSRF 令牌。"
        forged = admin.post(url, data=data, headers={"X-CSRF-Token": "forged"})
        assert forged.status_code == 403, url
    assert count(session, Organization) == orgs and count(session, User) == users
    assert count(session, Organization, Organization.status != "active") == 0
    assert count(session, User, User.is_active.is_(False)) == 0
    org_service.get(session, SYSTEM, world["gaj"])  # still there, still active
    session.rollback()
