"""Words over HTTP, on both databases: workspace pages in Chinese show roles and states by their
Chinese names (never a raw code such as ``provider_review``); a refusal inside the workspace keeps
the workspace's frame; English counts are singular or plural as they should be."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.identity import PASSWORD, SYSTEM, create_org, create_user
from tests.fixtures.sharing import grant_on, served_resource
from tests.fixtures.web import sign_in
from yaosu.catalog import rules as catalog_rules
from yaosu.catalog.service import resource_service
from yaosu.classification import rules as classification_rules
from yaosu.identity import rules as identity_rules
from yaosu.opendata import rules as open_rules
from yaosu.sharing import rules as sharing_rules
from yaosu.sharing import schemas as sharing_schemas
from yaosu.sharing.service import request_service

# Every role and state code a workspace page may show.
CODES = frozenset(
    {
        *identity_rules.ROLES,
        *identity_rules.ORG_STATUSES,
        *sharing_rules.REQUEST_STATES,
        *sharing_rules.GRANT_STATES,
        *catalog_rules.STATES,
        *catalog_rules.DEMAND_STATES,
        *open_rules.DEMAND_STATES,
        *open_rules.REUSE_STATES,
        *classification_rules.REVIEW_STATES,
        "queued",
        "running",
        "succeeded",
        "failed",
        "cancelled",
    }
)
SNAKE = frozenset(c for c in CODES if "_" in c)


class _Text(HTMLParser):
    """The text a reader sees: text nodes outside scripts, styles, templates and <code>
    (identifiers shown as identifiers on purpose), plus the ``title`` of the page."""

    HIDDEN = frozenset({"script", "style", "template", "code", "pre", "textarea"})

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth and data.strip():
            self.parts.append(data.strip())


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def raw_codes(text: str, codes: frozenset[str]) -> set[str]:
    return {c for c in codes if re.search(rf"(?<![\w:./-]){re.escape(c)}(?![\w:./-])", text)}


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    bureau = create_org(session, "大数据局")
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    create_org(session, "待准入企业", kind="enterprise", status="pending")
    create_user(session, bureau, "admin", "platform_admin", "reviewer")
    create_user(session, bureau, "shen.ji", "auditor")
    create_user(session, gaj, "officer.g", "data_officer", "cdo")
    create_user(session, mzj, "officer.m", "data_officer")
    create_user(session, mzj, "member.m", "member")
    published = create_resource(
        session, gaj, publish=True, share_attribute="conditional", share_conditions="仅限政务"
    )
    submitted = create_resource(session, gaj, name="待发布资源")
    resource_service.submit(session, SYSTEM, submitted.id)
    create_resource(session, gaj, name="草稿资源")
    served = served_resource(session, [{"sfzh": "110101199001011234", "xm": "张三"}])
    grant = grant_on(session, served, ["xm"])
    session.commit()
    from yaosu.identity.service import auth_service, token_service

    user = auth_service.authenticate(session, "officer.m", PASSWORD)
    subject = token_service.subject_of(
        user, frozenset({"sharing:write", "sharing:read"}), None, "test"
    )
    req = request_service.submit(
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
    return {
        "request": req.id,
        "grant": grant.id,
        "published": published.id,
        "submitted": submitted.id,
        "gaj": gaj.id,
        "consumer": served.username,
    }


def _pages(w: dict[str, Any]) -> dict[str, list[str]]:
    return {
        "admin": [
            "/workspace",
            "/workspace/admin?tab=users",
            "/workspace/admin?tab=orgs",
            f"/workspace/admin/orgs/{w['gaj']}",
            "/workspace/reviews?tab=catalog",
            "/workspace/reviews?tab=sharing",
            "/workspace/reviews?tab=open",
            "/workspace/reviews?tab=admissions",
            "/workspace/resources",
            f"/workspace/resources/{w['submitted']}",
            "/workspace/sharing",
            f"/workspace/sharing/requests/{w['request']}",
            "/workspace/overview",
            "/workspace/census",
            "/workspace/protection",
            "/workspace/demands",
            "/workspace/responsibilities",
            "/workspace/open",
            "/workspace/tokens",
        ],
        "officer.g": [
            "/workspace",
            "/workspace/reviews?tab=provider",
            f"/workspace/resources/{w['published']}",
            f"/workspace/resources/{w['published']}?tab=versions",
            f"/workspace/resources/{w['published']}?tab=classification",
            f"/workspace/sharing/requests/{w['request']}",
        ],
        "officer.m": ["/workspace", "/workspace/sharing"],
        w["consumer"]: [
            "/workspace",
            "/workspace/sharing",
            f"/workspace/sharing/grants/{w['grant']}",
        ],
        "shen.ji": ["/workspace", "/workspace/overview", "/workspace/protection"],
    }


def test_workspace_pages_in_chinese_show_no_raw_role_or_state_codes(
    app: Any, world: dict[str, Any]
) -> None:
    found: dict[str, set[str]] = {}
    for username, urls in _pages(world).items():
        client = sign_in(app, username)
        for url in urls:
            r = client.get(url, params={"lang": "zh"})
            assert r.status_code == 200, (username, url, r.status_code)
            text = visible(r.text)
            leaks = raw_codes(text, CODES)
            if leaks:
                found[f"{username} {url}"] = leaks
    assert not found, found


def test_roles_show_their_names_in_each_language(app: Any, world: dict[str, Any]) -> None:
    client = sign_in(app, "admin")
    zh = visible(client.get("/workspace/admin", params={"tab": "users", "lang": "zh"}).text)
    assert identity_rules.ROLES["data_officer"] in zh and "data_officer" not in zh
    en = visible(client.get("/workspace/admin", params={"tab": "users", "lang": "en"}).text)
    assert "Data officer" in en and "data_officer" not in en


def test_the_scan_sees_a_raw_code() -> None:
    # The helpers above find what they look for, and skip identifiers shown as code.
    html = "<p>状态：provider_review</p><code>data_officer</code><script>x='cdo'</script>"
    assert raw_codes(visible(html), CODES) == {"provider_review"}
    assert raw_codes("scope sharing:read, grade_x", SNAKE) == set()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_refusal_inside_the_workspace_keeps_the_frame(
    app: Any, world: dict[str, Any], lang: str
) -> None:
    client = sign_in(app, "member.m")
    r = client.get("/workspace/overview", params={"lang": lang})
    assert r.status_code == 403
    html = r.text
    assert 'class="ws-nav"' in html and 'id="who"' in html and 'id="logout"' in html
    assert 'href="/workspace/sharing"' in html  # the member's own menu
    assert 'href="/workspace/overview"' not in html  # …and not the page it may not use
    assert re.search(r'<p class="error" id="ws-error" data-code="[a-z_]+" role="alert">', html)
    back = "返回工作台" if lang == "zh" else "Back to the workspace"
    assert back in html
    # A missing page inside the workspace keeps the frame too.
    missing = client.get("/workspace/resources/01nothing0000000000000000", params={"lang": lang})
    assert missing.status_code == 404 and 'class="ws-nav"' in missing.text
    # Outside the workspace, and for visitors, nothing changes.
    assert sign_in(app, "member.m").get("/datasets/nothing").status_code == 404
    from fastapi.testclient import TestClient

    visitor = TestClient(app).get("/workspace/overview", follow_redirects=False)
    assert visitor.status_code == 303 and visitor.headers["location"].startswith("/login")


def test_a_refused_htmx_request_inside_the_workspace_is_a_fragment(
    app: Any, world: dict[str, Any]
) -> None:
    client = sign_in(app, "member.m")
    r = client.get("/workspace/overview", headers={"HX-Request": "true"})
    assert r.status_code == 403 and 'class="ws-nav"' not in r.text and 'role="alert"' in r.text


@pytest.mark.parametrize(
    ("n", "words"), [(0, "0 resources"), (1, "1 resource"), (2, "2 resources")]
)
def test_english_counts_agree_with_their_number(
    app: Any, session: Session, n: int, words: str
) -> None:
    unit = create_org(session, "统计局")
    create_user(session, unit, "officer.t", "data_officer")
    for i in range(n):
        create_resource(session, unit, name=f"资源{i}")
    session.commit()
    page = sign_in(app, "officer.t").get(
        "/workspace/resources", params={"lang": "en", "provider_id": unit.id}
    )
    assert page.status_code == 200
    text = visible(page.text)
    assert re.search(rf"(?<!\d){words}\b", text), text[:2000]


# --- validation errors of the API and of the portal ---------------------------------------------
PYDANTIC_ENGLISH = ("Field required", "Input should", "String should", "Value error")


def test_api_validation_errors_name_fields_and_reasons_in_both_languages(
    client: Any, session: Session
) -> None:
    from tests.fixtures.identity import bearer, login

    unit = create_org(session, "大数据局")
    create_user(session, unit, "admin", "platform_admin")
    headers = bearer(login(session, "admin"))
    session.commit()
    r = client.post(
        "/api/v1/orgs", headers=headers, json={"kind": "government", "region_code": "1" * 13}
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    fields = {f["field"]: f for f in err["details"]["fields"]}
    assert fields["name"]["label_zh"] == "名称" and fields["name"]["reason_zh"] == "必须填写"
    region = fields["region_code"]
    assert (region["label"], region["reason"]) == ("Region code", "at most 12 characters")
    assert region["reason_zh"] == "最多 12 个字符"
    assert "行政区划代码（最多 12 个字符）" in err["message_zh"]
    assert not any(words in r.text for words in PYDANTIC_ENGLISH)

    broken = client.post(
        "/api/v1/orgs",
        headers={**headers, "Content-Type": "application/json"},
        content=b'{"name": ',
    )
    assert broken.status_code == 422
    entry = broken.json()["error"]["details"]["fields"][0]
    assert entry["type"] == "json_invalid" and entry["label_zh"] == "请求体"

    query = client.get("/api/v1/resources", params={"limit": "many"}, headers=headers)
    assert query.status_code == 422
    entry = query.json()["error"]["details"]["fields"][0]
    assert (entry["field"], entry["label_zh"], entry["reason_zh"]) == ("limit", "条数", "应为整数")


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh", "请检查：称呼（最多 100 个字符）"),
        ("en", "Please check: Your name (at most 100 characters)"),
    ],
)
def test_a_portal_form_shows_validation_errors_in_the_page_language(
    client: Any, session: Session, lang: str, words: str
) -> None:
    client.get("/demands")
    token = client.cookies.get("yaosu_csrf")
    r = client.post(
        f"/demands?lang={lang}",
        data={"title": "公交实时到站", "description": "需要公交数据", "requester_name": "长" * 101},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert r.status_code == 422
    assert words in r.text and not any(w in r.text for w in PYDANTIC_ENGLISH)


def test_the_portal_registration_page_shows_the_state_by_name(
    client: Any, session: Session
) -> None:
    unit = create_org(session, "公安局")
    resource = create_resource(session, unit, publish=True)
    session.commit()
    zh = visible(client.get(f"/registrations/{resource.registration_code}?lang=zh").text)
    assert "已发布" in zh and not raw_codes(zh, CODES)
    en = visible(client.get(f"/registrations/{resource.registration_code}?lang=en").text)
    assert "Published" in en
