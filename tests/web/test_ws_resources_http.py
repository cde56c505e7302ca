"""The resources area over HTTP, on both databases: the list by role and filter, registration
with the catalog form and its validation messages in both languages, the resource page's tabs by
role, the classification review (accept, change with a required reason, grade, stale pages),
submission once and only once, editing, CSRF and escaped user text."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.identity import SYSTEM, create_org, create_user
from tests.fixtures.web import sign_in
from yaosu.catalog.service import dataset_service, resource_service
from yaosu.models.catalog import Resource

XSS = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
ROWS = [{"sfzh": r["sfzh"], "xm": r["xm"]} for r in people_rows(120)]


def csrf(client: Any, htmx: bool = True) -> dict[str, str]:
    headers = {"X-CSRF-Token": client.cookies["yaosu_csrf"]}
    if htmx:
        headers["HX-Request"] = "true"
    return headers


def post(client: Any, url: str, data: Any = None, lang: str = "en") -> Any:
    """A form post as htmx sends it: the CSRF cookie echoed in the header."""
    sep = "&" if "?" in url else "?"
    return client.post(f"{url}{sep}lang={lang}", data=data or {}, headers=csrf(client))


def form(**change: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "classification_code": "10101002",
        "name": "流动人口登记信息",
        "name_en": "Floating population",
        "summary": "流动人口登记的基本信息",
        "format": "table",
        "field_name": ["sfzh", "xm", ""],
        "field_label": ["身份证号", "姓名", ""],
        "field_type": ["string", "string", "string"],
        "field_description": ["", "", ""],
        "update_cycle": "daily",
        "base_library": "population",
        "share_attribute": "conditional",
        "share_conditions": "仅限政务服务",
        "share_method": "api",
        "open_attribute": "none",
        "source_system": "流动人口管理系统",
        "authoritative": "true",
        "keywords": "人口，流动、登记",
        "contact_name": "张三",
        "contact_phone": "0535-1234567",
        "contact_email": "zhang@example.cn",
    }
    data.update(change)
    return data


def upload(client: Any, resource_id: str) -> None:
    r = client.post(
        f"/api/v1/resources/{resource_id}/versions?wait=true",
        headers=csrf(client, htmx=False),
        files={"file": ("people.csv", csv_bytes(ROWS, "gb18030"), "text/csv")},
    )
    assert r.status_code == 202 and r.json()["status"] == "succeeded", r.text


def alert(html: str) -> str:
    found = re.search(r'role="alert">(.*?)</p>', html, re.S)
    assert found, html[:500]
    return found.group(1)


@pytest.fixture
def world(session: Session, app: Any) -> dict[str, Any]:
    bureau = create_org(session, "大数据局")
    audit = create_org(session, "审计局", kind="regulator")
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, audit, "auditor", "auditor")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, gaj, "cdo.g", "cdo")
    create_user(session, gaj, "member.g", "member")
    create_user(session, mzj, "officer.m", "data_officer")
    create_user(session, mzj, "member.m", "member")
    published = create_resource(
        session,
        gaj,
        publish=True,
        name="户籍人口信息",
        share_attribute="conditional",
        share_conditions="仅限政务",
    )
    draft = create_resource(session, gaj, name="暂住人口信息")
    submitted = create_resource(session, gaj, name=f"在审资源{XSS}")
    resource_service.submit(session, SYSTEM, submitted.id)
    returned = create_resource(session, gaj, name="退回的资源")
    resource_service.submit(session, SYSTEM, returned.id)
    resource_service.send_back(session, SYSTEM, returned.id, f"请补充摘要{XSS}")
    theirs = create_resource(session, mzj, name="低保家庭草稿")
    session.commit()
    upload(sign_in(app, "officer.g"), draft.id)
    return {
        "published": published.id,
        "draft": draft.id,
        "submitted": submitted.id,
        "returned": returned.id,
        "theirs": theirs.id,
        "gaj": gaj.id,
        "mzj": mzj.id,
    }


def listed(html: str) -> set[str]:
    return set(re.findall(r'<tr data-id="(\w+)"', html))


# --- the list --------------------------------------------------------------------------------
def test_each_role_lists_its_resources_with_filters(app: Any, world: dict[str, Any]) -> None:
    w = world
    officer = sign_in(app, "officer.g")
    page = officer.get("/workspace/resources")
    assert page.status_code == 200
    assert listed(page.text) == {w["published"], w["draft"], w["submitted"], w["returned"]}
    assert 'id="res-register"' in page.text
    assert ESCAPED in page.text and XSS not in page.text
    assert listed(officer.get("/workspace/resources?status=draft").text) == {w["draft"]}
    assert listed(officer.get("/workspace/resources?status=returned").text) == {w["returned"]}
    proposed = officer.get("/workspace/resources?classification=proposed").text
    assert listed(proposed) == {w["draft"]}  # its upload awaits review
    assert f'href="/workspace/resources/{w["draft"]}?tab=classification"' in proposed
    city = officer.get("/workspace/resources?scope=city").text
    assert listed(city) == {w["published"]}
    # Another unit sees its own, and only published entries of others in the city catalog.
    other = sign_in(app, "officer.m")
    assert listed(other.get("/workspace/resources").text) == {w["theirs"]}
    assert listed(other.get("/workspace/resources?scope=city").text) == {w["published"]}
    assert listed(other.get("/workspace/resources?classification=proposed").text) == set()
    # The data authority and auditors see every unit's; they register nothing.
    for name in ("reviewer", "auditor"):
        seen = sign_in(app, name).get("/workspace/resources?lang=en").text
        assert listed(seen) == {
            w["published"],
            w["draft"],
            w["submitted"],
            w["returned"],
            w["theirs"],
        }
        assert 'id="res-register"' not in seen and "All resources" in seen
    member = sign_in(app, "member.m").get("/workspace/resources").text
    assert 'id="res-register"' not in member


def test_the_list_pages_by_twenty(app: Any, world: dict[str, Any], session: Session) -> None:
    mzj = session.get(Resource, world["theirs"])
    assert mzj is not None
    provider = mzj.provider
    for n in range(21):
        create_resource(session, provider, name=f"民政资源{n:02d}")
    session.commit()
    client = sign_in(app, "officer.m")
    first = client.get("/workspace/resources?status=draft").text
    assert len(listed(first)) == 20 and 'rel="next"' in first
    assert 'href="/workspace/resources?status=draft&amp;page=2"' in first
    second = client.get("/workspace/resources?status=draft&page=2").text
    assert len(listed(second)) == 2 and 'rel="prev"' in second
    assert client.get("/workspace/resources?page=abc").status_code == 200


# --- registration ----------------------------------------------------------------------------
def test_register_with_the_full_form(app: Any, world: dict[str, Any]) -> None:
    client = sign_in(app, "officer.g")
    page = client.get("/workspace/resources/new")
    assert page.status_code == 200
    assert 'id="res-field-template"' in page.text and "/static/upload.js" in page.text
    assert 'pattern="[1-3](\\d{2}(\\d{2}(\\d{3})?)?)?"' in page.text  # the browser's own hint
    r = post(client, "/workspace/resources/new", form(name=f"流动人口{XSS}"))
    assert r.status_code == 204, r.text
    target = r.headers["HX-Redirect"]
    assert target.startswith("/workspace/resources/")
    shown = client.get(target).text
    assert ESCAPED in shown and XSS not in shown
    assert "10101002/" in shown and "仅限政务服务" in shown and "流动人口管理系统" in shown
    assert "<code>sfzh</code>" in shown and "<code>xm</code>" in shown
    assert shown.count('class="badge">') >= 3  # the keywords 人口 流动 登记
    assert "zhang@example.cn" in shown
    assert 'data-status="draft"' in shown and 'id="res-submit"' in shown
    # The same form sent twice registers one resource.
    again = post(client, "/workspace/resources/new", form(name=f"流动人口{XSS}"), lang="zh")
    assert again.status_code == 409
    assert "请勿重复登记" in alert(again.text) and "10101002/" in alert(again.text)
    # Without htmx (no JavaScript) the form still lands on the page.
    plain = client.post(
        "/workspace/resources/new",
        data=form(name="无脚本登记"),
        headers=csrf(client, htmx=False),
        follow_redirects=False,
    )
    assert plain.status_code == 303 and plain.headers["location"].startswith("/workspace/")


@pytest.mark.parametrize(
    ("change", "lang", "words"),
    [
        ({"classification_code": "9x"}, "zh", "分类代码"),
        ({"classification_code": "9x"}, "en", "Classification code"),
        ({"name": "  "}, "en", "Resource name (cannot be empty)"),
        ({"name": "  "}, "zh", "资源名称（不能为空）"),
        ({"name": "长" * 201}, "zh", "资源名称（最多 200 个字符）"),
        ({"share_conditions": ""}, "zh", "有条件共享必须说明共享条件"),
        ({"share_conditions": ""}, "en", "Conditional sharing (有条件共享) must state"),
        (
            {"share_attribute": "none", "share_conditions": "", "open_attribute": "unconditional"},
            "en",
            "Not sharing (不予共享) must cite its legal basis",
        ),
        ({"field_name": ["sfzh", "sfzh"], "field_label": ["a", "b"]}, "zh", "重名"),
        (
            {"field_name": ["", "xm"], "field_label": ["身份证号", "姓名"]},
            "zh",
            "信息项第 1 行的字段名（不能为空）",
        ),
        ({"field_type": ["string", "blob", ""]}, "en", "unknown type"),
        ({"format": "paper"}, "zh", "未知的资源格式"),
    ],
)
def test_validation_messages_in_the_page_language(
    app: Any, world: dict[str, Any], change: dict[str, Any], lang: str, words: str
) -> None:
    client = sign_in(app, "officer.g")
    r = post(client, "/workspace/resources/new", form(**change), lang=lang)
    assert r.status_code == 422, r.text
    assert r.headers["HX-Reswap"] == "innerHTML"
    assert words in alert(r.text)


def test_only_a_units_officers_register_and_the_form_needs_csrf(
    app: Any, world: dict[str, Any]
) -> None:
    for name in ("member.m", "reviewer", "auditor"):
        client = sign_in(app, name)
        page = client.get("/workspace/resources/new?lang=en")
        assert page.status_code == 403
        assert "This needs one of the roles" in alert(page.text)
        assert post(client, "/workspace/resources/new", form()).status_code == 403
    client = sign_in(app, "officer.g")
    r = client.post("/workspace/resources/new", data=form(), headers={"HX-Request": "true"})
    assert r.status_code == 403 and "CSRF" in r.text
    anonymous = sign_in(app, "officer.g")
    anonymous.cookies.clear()
    r = anonymous.get("/workspace/resources/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


# --- the resource page -----------------------------------------------------------------------
def tabs(html: str) -> list[str]:
    nav = re.search(r'<nav class="tabs"[^>]*id="res-tabs">(.*?)</nav>', html, re.S)
    assert nav
    return re.findall(r'data-tab="(\w+)"', nav.group(1))


def test_tabs_by_role(app: Any, world: dict[str, Any]) -> None:
    w = world
    officer = sign_in(app, "officer.g")
    page = officer.get(f"/workspace/resources/{w['draft']}").text
    assert tabs(page) == ["overview", "versions", "upload", "classification", "trail"]
    assert 'id="res-request"' not in page  # its own resource
    trail = officer.get(f"/workspace/resources/{w['draft']}?tab=trail").text
    assert f'hx-get="/workspace/trail/{w["draft"]}" hx-trigger="load"' in trail
    # Another unit: the published entry read-only, with the way to request it.
    other = sign_in(app, "officer.m")
    page = other.get(f"/workspace/resources/{w['published']}").text
    assert tabs(page) == ["overview", "trail"]
    assert f'href="/workspace/sharing/new?resource={w["published"]}"' in page
    assert 'id="res-submit"' not in page and 'id="res-edit"' not in page
    for tab in ("versions", "classification", "upload"):
        denied = other.get(f"/workspace/resources/{w['published']}?tab={tab}&lang=en")
        assert denied.status_code == 403, tab
        alert(denied.text)
    assert other.get(f"/workspace/resources/{w['draft']}").status_code == 404
    # A member of the provider unit sees the data, but cannot upload or review.
    member = sign_in(app, "member.g")
    page = member.get(f"/workspace/resources/{w['draft']}?tab=classification").text
    assert tabs(page) == ["overview", "versions", "classification", "trail"]
    assert 'id="cls-readonly"' in page and "cls-accept" not in page
    assert 'id="cls-grade-accept"' not in page
    # The data authority reviews the grade, not the fields.
    reviewer = sign_in(app, "reviewer").get(f"/workspace/resources/{w['draft']}?tab=classification")
    assert 'id="cls-grade-accept"' in reviewer.text and "cls-accept" not in reviewer.text


def test_versions_and_profile(app: Any, world: dict[str, Any]) -> None:
    client = sign_in(app, "officer.g")
    page = client.get(f"/workspace/resources/{world['draft']}?tab=versions&lang=en").text
    assert 'data-number="1"' in page and 'data-rows="120"' in page
    assert "people.csv" in page and "gb18030" in page.lower()
    assert re.search(r'<code class="hash">[0-9a-f]{64}</code>', page)
    assert 'id="res-profile"' in page and 'data-column="sfzh"' in page
    assert 'data-nulls="0"' in page and "Distinct (estimate)" in page
    sample = re.search(r'<table id="res-sample".*?</table>', page, re.S)
    assert sample and ROWS[0]["xm"] in sample.group(0)
    empty = client.get(f"/workspace/resources/{world['returned']}?tab=versions").text
    assert 'id="res-no-versions"' in empty


def test_upload_tab(app: Any, world: dict[str, Any], session: Session) -> None:
    client = sign_in(app, "officer.g")
    page = client.get(f"/workspace/resources/{world['draft']}?tab=upload&lang=en").text
    assert f'data-resource="{world["draft"]}"' in page and "/static/upload.js" in page
    assert '<option value="gb18030">GB18030</option>' in page
    assert 'data-active-job=""' in page  # the job ran; nothing to follow
    assert 'id="upload-words"' in page and '"st.succeeded": "Succeeded"' in page
    assert 'data-status="succeeded"' in page  # the recent jobs
    # A job still queued or running is followed by the page after a reload.
    job = dataset_service.create_job(
        session, SYSTEM, world["draft"], "upload", {"path": "/nowhere.csv", "filename": "b.csv"}
    )
    session.commit()
    page = client.get(f"/workspace/resources/{world['draft']}?tab=upload").text
    assert f'data-active-job="{job.id}"' in page and 'data-status="queued"' in page
    # Only those who may add versions open the tab.
    denied = sign_in(app, "reviewer").get(f"/workspace/resources/{world['draft']}?tab=upload")
    assert denied.status_code == 403


# --- classification review -------------------------------------------------------------------
def classification(client: Any, resource_id: str) -> tuple[str, str]:
    html = client.get(f"/workspace/resources/{resource_id}?tab=classification&lang=en").text
    version = re.search(r'name="version_id" value="(\w+)"', html)
    assert version
    return html, version.group(1)


def field_row(html: str, column: str) -> str:
    row = re.search(rf'<tr id="cls-field-\d+" class="cls-field" data-column="{column}"[^>]*>', html)
    assert row, html[:300]
    return row.group(0)


def test_review_fields_and_grade(app: Any, world: dict[str, Any]) -> None:
    rid = world["draft"]
    client = sign_in(app, "officer.g")
    html, version = classification(client, rid)
    assert 'data-detected="resident_id"' in field_row(html, "sfzh")
    assert 'data-status="proposed"' in field_row(html, "xm")
    url = f"/workspace/resources/{rid}/classification/fields"
    r = post(client, url, {"version_id": version, "column": "sfzh", "action": "accept"})
    assert r.status_code == 200, r.text
    assert r.headers["HX-Retarget"] == "#res-classification"
    assert 'data-status="accepted"' in field_row(r.text, "sfzh")
    assert 'id="cls-done"' in r.text
    # A change needs a reason, checked by the page (and by the service).
    for reason in ("", "   "):
        r = post(
            client,
            url,
            {
                "version_id": version,
                "column": "xm",
                "action": "change",
                "type": "none",
                "reason": reason,
            },
            lang="zh",
        )
        assert r.status_code == 422
        assert "必须填写理由" in alert(r.text)
    r = post(
        client,
        url,
        {
            "version_id": version,
            "column": "xm",
            "action": "change",
            "type": "none",
            "reason": f"化名{XSS}",
        },
    )
    assert r.status_code == 200, r.text
    row = field_row(r.text, "xm")
    assert 'data-status="changed"' in row and 'data-type="none"' in row
    assert ESCAPED in r.text and XSS not in r.text
    bad = post(
        client,
        url,
        {"version_id": version, "column": "xm", "action": "change", "type": "bogus", "reason": "x"},
    )
    assert bad.status_code == 422 and "Unknown type" in alert(bad.text)
    missing = post(client, url, {"version_id": version, "column": "nope", "action": "accept"})
    assert missing.status_code == 404
    # The grade: accept the proposal as the page showed it.
    html, _ = classification(client, rid)
    proposed = re.search(r'data-proposed="(\w+)"', html)
    assert proposed
    grade_url = f"/workspace/resources/{rid}/classification/grade"
    stale = post(client, grade_url, {"version_id": version, "proposed": "core", "action": "accept"})
    assert stale.status_code == 409 and "proposed grade has changed" in alert(stale.text)
    r = post(
        client,
        grade_url,
        {"version_id": version, "proposed": proposed.group(1), "action": "accept"},
    )
    assert r.status_code == 200
    assert re.search(r'id="cls-grade" data-status="accepted"', r.text)
    no_reason = post(
        client,
        grade_url,
        {"version_id": version, "proposed": proposed.group(1), "action": "change", "grade": "core"},
    )
    assert no_reason.status_code == 422 and "Give the reason" in alert(no_reason.text)
    r = post(
        client,
        grade_url,
        {
            "version_id": version,
            "proposed": proposed.group(1),
            "action": "change",
            "grade": "general_4",
            "reason": "涉及户籍",
        },
    )
    assert r.status_code == 200 and 'data-grade="general_4"' in r.text
    assert 'data-status="changed"' in r.text
    # A page from before a newer version is stale.
    old = post(client, url, {"version_id": "0" * 26, "column": "sfzh", "action": "accept"})
    assert old.status_code == 409 and "newer version" in alert(old.text)


def test_review_is_for_the_provider_unit(app: Any, world: dict[str, Any]) -> None:
    rid = world["draft"]
    _, version = classification(sign_in(app, "officer.g"), rid)
    url = f"/workspace/resources/{rid}/classification/fields"
    data = {"version_id": version, "column": "sfzh", "action": "accept"}
    assert post(sign_in(app, "member.g"), url, data).status_code == 403
    assert post(sign_in(app, "reviewer"), url, data).status_code == 403
    assert post(sign_in(app, "officer.m"), url, data).status_code == 404  # a draft of another unit
    no_csrf = sign_in(app, "officer.g").post(url, data=data, headers={"HX-Request": "true"})
    assert no_csrf.status_code == 403
    # The data authority may set the grade.
    html, _ = classification(sign_in(app, "reviewer"), rid)
    proposed = re.search(r'data-proposed="(\w+)"', html)
    assert proposed
    r = post(
        sign_in(app, "reviewer"),
        f"/workspace/resources/{rid}/classification/grade",
        {"version_id": version, "proposed": proposed.group(1), "action": "accept"},
    )
    assert r.status_code == 200


# --- submission and editing --------------------------------------------------------------------
def test_submit_once(app: Any, world: dict[str, Any]) -> None:
    rid = world["draft"]
    client = sign_in(app, "officer.g")
    r = post(client, f"/workspace/resources/{rid}/submit")
    assert r.status_code == 204 and r.headers["HX-Redirect"] == f"/workspace/resources/{rid}"
    page = client.get(f"/workspace/resources/{rid}").text
    assert 'data-status="submitted"' in page and 'id="res-submit"' not in page
    again = post(client, f"/workspace/resources/{rid}/submit", lang="zh")
    assert again.status_code == 409
    assert "不能提交审核（可能已经提交过）" in alert(again.text)
    assert post(sign_in(app, "officer.m"), f"/workspace/resources/{rid}/submit").status_code == 404
    assert post(sign_in(app, "member.g"), f"/workspace/resources/{rid}/submit").status_code == 403


def test_incomplete_entries_are_not_submitted(app: Any, world: dict[str, Any]) -> None:
    client = sign_in(app, "officer.g")
    r = post(client, "/workspace/resources/new", form(summary="", update_cycle=""))
    assert r.status_code == 204
    rid = r.headers["HX-Redirect"].rsplit("/", 1)[1]
    r = post(client, f"/workspace/resources/{rid}/submit", lang="zh")
    assert r.status_code == 422 and "提交前请补全" in alert(r.text)


def test_edit_a_returned_entry_and_submit_it_again(app: Any, world: dict[str, Any]) -> None:
    rid = world["returned"]
    client = sign_in(app, "officer.g")
    page = client.get(f"/workspace/resources/{rid}").text
    assert 'id="res-return-reason"' in page and ESCAPED in page and XSS not in page
    edit = client.get(f"/workspace/resources/{rid}/edit").text
    assert 'value="退回的资源"' in edit and 'name="classification_code"' not in edit
    assert 'value="sfzh"' in edit  # the information items, one row each
    r = post(
        client, f"/workspace/resources/{rid}/edit", form(name="退回的资源", summary="补充后的摘要")
    )
    assert r.status_code == 204, r.text
    assert "补充后的摘要" in client.get(f"/workspace/resources/{rid}").text
    bad = post(client, f"/workspace/resources/{rid}/edit", form(name=""), lang="zh")
    assert bad.status_code == 422 and "资源名称（不能为空）" in alert(bad.text)
    assert post(client, f"/workspace/resources/{rid}/submit").status_code == 204
    frozen = post(client, f"/workspace/resources/{rid}/edit", form(), lang="zh")
    assert frozen.status_code == 409
    assert (
        sign_in(app, "officer.m").get(f"/workspace/resources/{world['published']}/edit").status_code
        == 403
    )


def test_every_word_of_the_area_exists_in_both_languages() -> None:
    from pathlib import Path

    from yaosu.catalog import rules as catalog_rules
    from yaosu.classification import rules as classification_rules
    from yaosu.web import i18n, ws_resources

    folder = Path(i18n.__file__).parent / "templates" / "ws" / "resources"
    used = set()
    for f in folder.glob("*.html"):
        used |= set(re.findall(r"""\bt\('([a-z_.]+)'""", f.read_text(encoding="utf-8")))
    used = {k for k in used if not k.endswith(".")}
    used |= {f"res.state.{s}" for s in catalog_rules.STATES}
    used |= {f"res.state_note.{s}" for s in catalog_rules.STATES}
    used |= {f"res.tab.{t}" for t in ws_resources.TABS}
    used |= {f"res.ftype.{t}" for t in catalog_rules.FIELD_TYPES}
    used |= {f"res.share_method.{m}" for m in catalog_rules.SHARE_METHODS}
    used |= {f"res.cls.status.{s}" for s in classification_rules.REVIEW_STATES}
    used |= {
        f"res.cls.flow.{classification_rules.sharing_flow(g)}" for g in classification_rules.GRADES
    }
    used |= {f"res.up.{w}" for w in ws_resources.UPLOAD_WORDS}
    used |= {f"res.up.st.{s}" for s in ("queued", "running", "succeeded", "failed", "cancelled")}
    schema_keys = ws_resources.catalog_schemas.ResourceCreate.model_fields
    used |= {f"res.f.{k}" for k in schema_keys}
    missing = used - set(i18n.MESSAGES)
    assert not missing, missing
