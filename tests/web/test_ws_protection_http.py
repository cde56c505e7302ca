"""Data protection over HTTP, on both databases: the important-data catalog (list, filters,
add, edit, retire once, stale forms), masking policies written through the form (checked before
anything is stored, rules in words), masked exports that download really masked files with the
API's headers (and important data refused), and the k-anonymity report — by the right roles
only, with CSRF, and user text escaped."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.identity import SYSTEM, create_org, create_user
from tests.fixtures.web import sign_in
from yaosu.classification import schemas
from yaosu.classification.service import important_data_service, masking_service
from yaosu.ledger.service import ledger_service
from yaosu.models.classification import ImportantDataEntry, MaskingPolicyRecord

XSS = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
# A policy name may not hold spaces or "/": the markup it can carry.
XSS_NAME = "<svg>onload=alert(1)<b>"
XSS_NAME_ESCAPED = "&lt;svg&gt;onload=alert(1)&lt;b&gt;"
ROWS = people_rows(120)


def csrf(client: Any, htmx: bool = True) -> dict[str, str]:
    headers = {"X-CSRF-Token": client.cookies["yaosu_csrf"]}
    if htmx:
        headers["HX-Request"] = "true"
    return headers


def post(client: Any, url: str, data: Any = None, lang: str = "en", htmx: bool = True) -> Any:
    """A form post as htmx (or protection.js) sends it: the CSRF cookie echoed in the header."""
    sep = "&" if "?" in url else "?"
    return client.post(f"{url}{sep}lang={lang}", data=data or {}, headers=csrf(client, htmx))


def upload(client: Any, resource_id: str, body: bytes) -> str:
    r = client.post(
        f"/api/v1/resources/{resource_id}/versions?wait=true",
        headers=csrf(client, htmx=False),
        files={"file": ("people.csv", body, "text/csv")},
    )
    assert r.status_code == 202 and r.json()["status"] == "succeeded", r.text
    return str(r.json()["version_id"])


def alert(page: str) -> str:
    found = re.search(r'role="alert"[^>]*>(.*?)</(?:p|div)>', page, re.S)
    assert found, page[:800]
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1)).strip())


def entry(**kw: Any) -> schemas.ImportantEntryCreate:
    return schemas.ImportantEntryCreate(
        **{"sector": "政务", "name": "人口基础信息", "code_prefixes": ["10101"], **kw}
    )


@pytest.fixture
def world(session: Session, app: Any) -> dict[str, Any]:
    bureau = create_org(session, "大数据局")
    audit = create_org(session, "审计局", kind="regulator")
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, bureau, "admin", "platform_admin")
    create_user(session, audit, "auditor", "auditor")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, gaj, "member.g", "member")
    create_user(session, mzj, "officer.m", "data_officer")
    people = create_resource(session, gaj, publish=True, name="常住人口基本信息")
    estate = create_resource(
        session, gaj, name="不动产登记信息", classification_code="20201001", keywords=["不动产"]
    )
    active = important_data_service.create(
        session, SYSTEM, entry(name=f"不动产登记{XSS}", code_prefixes=[], keywords=["不动产"])
    )
    retired = important_data_service.create(session, SYSTEM, entry(name="已废止的目录条目"))
    important_data_service.retire(session, SYSTEM, retired.id, "目录调整")
    session.commit()
    officer = sign_in(app, "officer.g")
    people_version = upload(officer, people.id, csv_bytes(ROWS))
    estate_version = upload(officer, estate.id, csv_bytes(ROWS[:40]))
    return {
        "people": people.id,
        "people_version": people_version,
        "estate_version": estate_version,
        "active": active.id,
        "retired": retired.id,
        "gaj": gaj.id,
    }


def entry_row(session: Session, entry_id: str) -> dict[str, Any]:
    """What the app committed, read and then released (SQLite: a reader blocks writers)."""
    e = session.get(ImportantDataEntry, entry_id)
    assert e is not None
    session.refresh(e)
    found = {"status": e.status, "name": e.name, "keywords": list(e.keywords)}
    session.rollback()
    return found


def count_entries(session: Session) -> int:
    n = session.query(ImportantDataEntry).count()
    session.rollback()
    return n


def policies_of(session: Session, org_id: str) -> dict[str, dict[str, Any]]:
    found = {
        p.name: dict(p.rules)
        for p in session.query(MaskingPolicyRecord).filter_by(org_id=org_id).all()
    }
    session.rollback()
    return found


def trail(session: Session, subject_id: str) -> list[str]:
    entries, _ = ledger_service.trail(session, subject_id, 500, 0)
    types = [e.type for e in entries]
    session.rollback()
    return types


# --- the important-data catalog --------------------------------------------------------------
def test_the_catalog_by_role_with_filters_and_pages(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    for n in range(20):
        important_data_service.create(session, SYSTEM, entry(name=f"条目{n:02d}"))
    session.commit()
    reviewer = sign_in(app, "reviewer")
    page = reviewer.get("/workspace/protection")
    assert page.status_code == 200
    assert 'data-tab="important"' in page.text and 'data-tab="policies"' in page.text
    assert 'id="pro-add-form"' in page.text  # the authority keeps the catalog
    assert ESCAPED in page.text and XSS not in page.text
    assert "共 22 项" in page.text and 'id="pro-entries-pager"' in page.text
    second = reviewer.get("/workspace/protection?tab=important&page=2").text
    assert len(re.findall(r'<tr data-id="', second)) == 2
    retired = reviewer.get("/workspace/protection?tab=important&status=retired&lang=en").text
    assert re.findall(r'<tr data-id="(\w+)"', retired) == [world["retired"]]
    assert "Retired" in retired and "1 in all" in retired
    active = reviewer.get("/workspace/protection?tab=important&status=active").text
    assert world["retired"] not in active and world["active"] in active

    officer = sign_in(app, "officer.g").get("/workspace/protection?tab=important")
    assert officer.status_code == 200 and world["active"] in officer.text
    assert 'id="pro-add-form"' not in officer.text  # reads, does not keep
    assert sign_in(app, "auditor").get("/workspace/protection").status_code == 200
    # A member reads policies, not the catalog (as GET /api/v1/important-data).
    member = sign_in(app, "member.g")
    page = member.get("/workspace/protection")
    assert page.status_code == 200 and 'data-tab="important"' not in page.text
    refused = member.get("/workspace/protection?tab=important&lang=en")
    assert refused.status_code == 403 and "data officers" in alert(refused.text)
    signed_out = app_client(app).get("/workspace/protection", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login?next=")


def app_client(app: Any) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(app)


def test_the_authority_adds_an_entry_and_bad_ones_change_nothing(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    reviewer = sign_in(app, "reviewer")
    before = count_entries(session)
    form = {
        "sector": "交通",
        "region_code": "370600",
        "name": f"车辆轨迹{XSS}",
        "kind": "core",
        "code_prefixes": "",
        "keywords": "轨迹，卡口、 车辆",
        "basis": "《数据安全法》",
    }
    done = post(reviewer, "/workspace/protection/important", form)
    assert done.status_code == 204, done.text
    url = done.headers["HX-Redirect"]
    entry_id = url.rsplit("/", 1)[1]
    assert url == f"/workspace/protection/important/{entry_id}"
    stored = entry_row(session, entry_id)
    assert stored["keywords"] == ["轨迹", "卡口", "车辆"] and stored["status"] == "active"
    shown = reviewer.get(url)
    assert shown.status_code == 200 and ESCAPED in shown.text and XSS not in shown.text
    assert "核心数据" in shown.text and 'id="pro-edit-form"' in shown.text
    assert "classification.important_entry_added" in trail(session, entry_id)

    # Nothing to match by: the service's reason, in the page's language; nothing stored.
    nothing = post(reviewer, "/workspace/protection/important", {**form, "keywords": ""}, "zh")
    assert nothing.status_code == 422
    assert "至少需要一个分类代码前缀、资源代码或关键词" in alert(nothing.text)
    unnamed = post(reviewer, "/workspace/protection/important", {**form, "name": " "})
    assert unnamed.status_code == 422 and alert(unnamed.text) == "Please check: Name."
    unnamed_zh = post(reviewer, "/workspace/protection/important", {**form, "name": ""}, "zh")
    assert alert(unnamed_zh.text) == "请检查：名称。"
    # The wrong role, and a post without the CSRF header.
    officer = sign_in(app, "officer.g")
    assert post(officer, "/workspace/protection/important", form).status_code == 403
    forged = reviewer.post("/workspace/protection/important", data=form)
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert count_entries(session) == before + 1


def test_edit_retire_once_and_stale_forms(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    reviewer = sign_in(app, "reviewer")
    url = f"/workspace/protection/important/{world['active']}"
    page = reviewer.get(url)
    seen = re.search(r'name="seen" value="([^"]+)"', page.text)
    assert seen, page.text[:500]
    form = {
        "seen": seen.group(1),
        "sector": "自然资源",
        "name": "不动产登记信息",
        "kind": "important",
        "keywords": "不动产、房屋",
        "description": "",
    }
    saved = post(reviewer, url, form, "zh")
    assert saved.status_code == 200 and "已保存修改" in saved.text
    assert 'id="pro-entry-state"' in saved.text and 'hx-swap-oob="true"' in saved.text
    assert entry_row(session, world["active"])["keywords"] == ["不动产", "房屋"]
    # The same form again: the entry changed since that page was loaded.
    stale = post(reviewer, url, {**form, "name": "别的名字"})
    assert stale.status_code == 409 and "changed after you opened" in alert(stale.text)
    assert entry_row(session, world["active"])["name"] == "不动产登记信息"

    # Retiring needs a reason; the officer may not; a second retirement is a conflict.
    empty = post(reviewer, f"{url}/retire", {"reason": "  "}, "zh")
    assert empty.status_code == 422 and "请填写废止理由" in alert(empty.text)
    officer = sign_in(app, "officer.g")
    assert post(officer, f"{url}/retire", {"reason": "x"}).status_code == 403
    assert reviewer.post(f"{url}/retire", data={"reason": "x"}).status_code == 403  # no CSRF
    assert entry_row(session, world["active"])["status"] == "active"
    retired = post(reviewer, f"{url}/retire", {"reason": f"目录调整{XSS}"}, "zh")
    assert retired.status_code == 200 and "条目已废止" in retired.text
    assert 'data-status="retired"' in retired.text and 'id="pro-retire-form"' not in retired.text
    assert entry_row(session, world["active"])["status"] == "retired"
    again = post(reviewer, f"{url}/retire", {"reason": "再次废止"}, "zh")
    assert again.status_code == 409 and "不能再次废止" in alert(again.text)
    edit = post(reviewer, url, {**form, "seen": ""}, "en")
    assert edit.status_code == 409 and "retired" in alert(edit.text)
    assert trail(session, world["active"]).count("classification.important_entry_retired") == 1
    # Readers see the entry without the forms; a missing entry is a 404.
    auditor = sign_in(app, "auditor").get(url)
    assert auditor.status_code == 200 and 'id="pro-edit-form"' not in auditor.text
    assert "pro-entry-retired" in auditor.text
    assert sign_in(app, "member.g").get(url).status_code == 403
    assert reviewer.get("/workspace/protection/important/01nothing").status_code == 404


# --- masking policies ------------------------------------------------------------------------
def rules_form(*rows: dict[str, str], **extra: str) -> dict[str, str]:
    data = dict(extra)
    for n, row in enumerate(rows):
        data.update({f"rules-{n}-{k}": v for k, v in row.items()})
    return data


def test_a_policy_written_in_the_form_is_stored_and_shown_in_words(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    officer = sign_in(app, "officer.g")
    # The operator's parameters come with its row.
    row = officer.get("/workspace/protection/policies/rule?n=4&rules-4-op=mask&rules-4-column=xm")
    assert row.status_code == 200 and 'name="rules-4-keep_first"' in row.text
    assert 'name="rules-4-format"' in row.text and 'value="xm"' in row.text
    assert "pro-rule-add-box" not in row.text
    added = officer.get("/workspace/protection/policies/rule?n=5&add=true")
    assert 'hx-swap-oob="true"' in added.text and "n=6" in added.text
    generalize = officer.get("/workspace/protection/policies/rule?n=1&rules-1-op=generalize")
    assert 'name="rules-1-kind"' in generalize.text and 'name="rules-1-width"' in generalize.text

    form = rules_form(
        {"column": "sfzh", "op": "mask", "keep_first": "3", "keep_last": "2", "char": "#"},
        {"column": "sjhm", "op": "pseudonymize", "algorithm": "hmac-sha256", "length": "16"},
        {"column": "", "op": ""},  # a blank row is skipped
        {"column": "zz", "op": "generalize", "kind": "address_district", "width": ""},
        {"column": f"备注{XSS}", "op": "suppress", "drop": "true"},
        name="gaj-release",
        description=f"对外共享{XSS}",
    )
    done = post(officer, "/workspace/protection/policies", form)
    assert done.status_code == 204, done.text
    assert done.headers["HX-Redirect"].startswith("/workspace/protection?tab=policies&created=")
    stored = policies_of(session, world["gaj"])["gaj-release"]
    assert stored == {
        "sfzh": {"op": "mask", "keep_first": 3, "keep_last": 2, "char": "#"},
        "sjhm": {"op": "pseudonymize", "algorithm": "hmac-sha256", "length": 16},
        "zz": {"op": "generalize", "kind": "address_district"},
        f"备注{XSS}": {"op": "suppress", "drop": True},
    }
    zh = officer.get("/workspace/protection?tab=policies").text
    assert "掩码：保留前 3 位、后 2 位，其余以“#”替换" in zh
    assert "HMAC-SHA256 密钥假名" in zh and "地址泛化到区县" in zh and "从结果中删除该列" in zh
    assert ESCAPED in zh and XSS not in zh
    en = officer.get("/workspace/protection?tab=policies&lang=en").text
    assert "keeping the first 3 and last 2 characters" in en
    assert "address generalised to its district" in en

    # A second save of the same name, and the reserved name: conflicts, nothing more stored.
    twice = post(officer, "/workspace/protection/policies", form, "zh")
    assert twice.status_code == 409 and "已存在名为" in alert(twice.text)
    reserved = post(officer, "/workspace/protection/policies", {**form, "name": "default"})
    assert reserved.status_code == 409 and "reserved" in alert(reserved.text)
    assert set(policies_of(session, world["gaj"])) == {"gaj-release"}


def test_a_bad_policy_is_refused_with_its_reasons_before_anything_is_stored(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    officer = sign_in(app, "officer.g")
    url = "/workspace/protection/policies"
    # The shape: a pseudonym of 5 characters, an operator that does not exist.
    short = rules_form({"column": "sjhm", "op": "pseudonymize", "length": "5"}, name="p1")
    refused = post(officer, url, short)
    assert refused.status_code == 422 and "length" in alert(refused.text)
    assert 'data-code="invalid_masking_policy"' in refused.text
    unknown = post(officer, url, rules_form({"column": "x", "op": "scramble"}, name="p1"))
    assert unknown.status_code == 422 and "Choose an operation" in alert(unknown.text)
    # Written for a version: checked against its columns, every problem at once.
    fit = rules_form(
        {"column": "nope", "op": "suppress"},
        {"column": "xm", "op": "generalize", "kind": "number_band", "width": "10"},
        {"column": "sfzh", "op": "mask", "format": "resident_id", "keep_first": "2"},
        name="p2",
        version=world["people_version"],
    )
    problems = post(officer, url, fit, "zh")
    assert problems.status_code == 422, problems.text
    items = [html.unescape(i) for i in re.findall(r"<li>(.*?)</li>", problems.text)]
    assert len(items) == 3, items
    assert any("'nope' 不存在" in i for i in items)
    assert any("number_band" in i and "不适用" in i for i in items)
    assert any("二选一" in i for i in items)
    # Form-level mistakes: no rule, a column twice, a rule without a column, a bad name.
    empty = post(officer, url, rules_form({"column": "", "op": ""}, name="p3"), "zh")
    assert empty.status_code == 422 and "至少需要一条规则" in alert(empty.text)
    twice = rules_form({"column": "xm", "op": "suppress"}, {"column": "xm", "op": "hash"}, name="p")
    assert "appears twice" in alert(post(officer, url, twice).text)
    headless = post(officer, url, rules_form({"column": "", "op": "hash"}, name="p4"))
    assert "Rule 1 names no column" in alert(headless.text)
    spaced = post(officer, url, rules_form({"column": "xm", "op": "hash"}, name="a b"))
    assert spaced.status_code == 422 and alert(spaced.text) == "Please check: Policy name."
    # The wrong role (the authority does not write a unit's policies), and no CSRF header.
    good = rules_form({"column": "xm", "op": "suppress"}, name="p5")
    assert post(sign_in(app, "reviewer"), url, good).status_code == 403
    assert post(sign_in(app, "member.g"), url, good).status_code == 403
    assert officer.post(url, data=good).status_code == 403
    assert policies_of(session, world["gaj"]) == {}


def test_a_policy_written_for_a_version_goes_back_to_its_export(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    officer = sign_in(app, "officer.g")
    vid = world["people_version"]
    form_page = officer.get(f"/workspace/protection?tab=policies&version={vid}")
    assert form_page.status_code == 200 and 'id="pro-policy-for"' in form_page.text
    assert '<option value="sfzh"' in form_page.text  # the version's columns to choose from
    # Another unit's version cannot be written for.
    other = sign_in(app, "officer.m").get(f"/workspace/protection?tab=policies&version={vid}")
    assert other.status_code == 403
    form = rules_form({"column": "sfzh", "op": "suppress"}, name=XSS_NAME, version=vid)
    done = post(officer, "/workspace/protection/policies", form)
    assert done.status_code == 204, done.text
    policy_id = done.headers["HX-Redirect"].split("policy=")[1]
    assert done.headers["HX-Redirect"].startswith(f"/workspace/versions/{vid}/export?policy=")
    export = officer.get(f"/workspace/versions/{vid}/export?policy={policy_id}")
    assert re.search(rf'value="{policy_id}"[^>]*checked', export.text)
    assert XSS_NAME_ESCAPED in export.text and XSS_NAME not in export.text


# --- masked export ---------------------------------------------------------------------------
def download(client: Any, vid: str, policy: str, fmt: str = "csv") -> Any:
    return post(client, f"/workspace/versions/{vid}/export", {"policy": policy, "format": fmt})


def test_the_masked_export_downloads_a_really_masked_file(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    officer = sign_in(app, "officer.g")
    vid = world["people_version"]
    page = officer.get(f"/workspace/versions/{vid}/export")
    assert page.status_code == 200 and 'id="pro-export-form"' in page.text
    assert "data-download" in page.text and "/static/protection.js" in page.text
    assert "按身份证号掩码（保留前 6 位和后 4 位）" in page.text  # the default policy in words
    assert 'id="pro-new-policy"' in page.text

    got = download(officer, vid, "default")
    assert got.status_code == 200, got.text
    assert got.headers["X-Content-SHA256"] == hashlib.sha256(got.content).hexdigest()
    assert got.headers["X-Row-Count"] == "120"
    assert (
        "attachment" in got.headers["content-disposition"]
        and "-masked.csv" in (got.headers["content-disposition"])
    )
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8"))))
    first = str(ROWS[0]["sfzh"])
    assert rows[0]["sfzh"] == first[:6] + "*" * 8 + first[-4:]
    assert first not in got.text and str(ROWS[0]["sjhm"]) not in got.text
    assert rows[0]["ddh"] == ROWS[0]["ddh"]  # not personal: passed unchanged
    assert "classification.masked_export" in trail(session, vid)

    # A saved policy, by its id, as JSON.
    policy = masking_service.create(
        session,
        classification_subject(session, "officer.g"),
        schemas.MaskingPolicyCreate(
            name="ids-only", rules={"sfzh": {"op": "mask", "keep_first": 2, "keep_last": 1}}
        ),
    )
    session.commit()
    named = download(officer, vid, policy.id, "json")
    assert named.status_code == 200 and named.headers["content-type"].startswith("application/json")
    data = named.json()
    assert data[0]["sfzh"] == first[:2] + "*" * 15 + first[-1:]
    assert data[0]["xm"] == ROWS[0]["xm"]  # this policy leaves names as they are
    # The provider unit's member reads the data as the API allows; the auditor too.
    assert download(sign_in(app, "member.g"), vid, "default").status_code == 200


def classification_subject(session: Session, username: str) -> Any:
    from tests.fixtures.identity import PASSWORD
    from yaosu.identity.rules import ALL_SCOPES
    from yaosu.identity.service import auth_service, token_service

    user = auth_service.authenticate(session, username, PASSWORD)
    return token_service.subject_of(user, ALL_SCOPES, None, "test")


def test_export_refusals_show_clearly(app: Any, session: Session, world: dict[str, Any]) -> None:
    officer = sign_in(app, "officer.g")
    vid = world["people_version"]
    # Important data: the page says so instead of offering the form; the post is refused.
    estate = world["estate_version"]
    page = officer.get(f"/workspace/versions/{estate}/export")
    assert page.status_code == 200 and 'data-grade="important"' in page.text
    assert 'id="pro-export-refused"' in page.text and 'id="pro-export-form"' not in page.text
    assert "重要数据和核心数据不得以数据行形式导出" in page.text
    refused = download(officer, estate, "default")
    assert refused.status_code == 403 and "not even masked" in alert(refused.text)
    api = officer.post(
        f"/api/v1/dataset-versions/{estate}/masked-export",
        headers=csrf(officer, htmx=False),
        json={"policy": "default", "format": "csv"},
    )
    assert api.status_code == 403 and api.json()["error"]["code"] == "important_data_not_exported"
    assert "classification.masked_export" not in trail(session, estate)
    # Another unit: no access to the data, on the page and the post.
    other = sign_in(app, "officer.m")
    assert other.get(f"/workspace/versions/{vid}/export").status_code == 403
    denied = download(other, vid, "default")
    assert denied.status_code == 403 and "Only the provider unit" in alert(denied.text)
    # A policy that does not fit this version's columns, one that does not exist, no CSRF.
    misfit = masking_service.create(
        session,
        classification_subject(session, "officer.g"),
        schemas.MaskingPolicyCreate(name="other-data", rules={"tyshxydm": {"op": "suppress"}}),
    )
    session.commit()
    bad = download(officer, vid, misfit.id)
    assert bad.status_code == 422 and "'tyshxydm' does not exist" in alert(bad.text)
    assert download(officer, vid, "no-such-policy").status_code == 404
    assert (
        officer.post(f"/workspace/versions/{vid}/export", data={"policy": "default"}).status_code
        == 403
    )
    assert trail(session, vid).count("classification.masked_export") == 0


# --- k-anonymity -----------------------------------------------------------------------------
def test_the_k_anonymity_report_in_plain_words(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    officer = sign_in(app, "officer.g")
    vid = world["people_version"]
    page = officer.get(f"/workspace/versions/{vid}/k-anonymity")
    assert page.status_code == 200 and 'data-column="zz"' in page.text
    assert '<option value="default">' in page.text

    url = f"/workspace/versions/{vid}/k-anonymity"
    report = post(officer, url, {"quasi": ["zz"], "k": "5", "policy": "default"}, "zh")
    assert report.status_code == 200, report.text
    text = report.text
    assert 'data-k="5"' in text and 'data-satisfied="true"' in text
    # As it is, almost every address is its own class; the default policy keeps only the
    # district of every address, so all 120 records fall into one class.
    assert re.search(r'data-figure="rows">.*?data-value="120".*?data-value="120"', text, re.S)
    assert re.search(
        r'data-figure="smallest_class">.*?data-value="1".*?data-value="120"', text, re.S
    )
    assert "不满足" not in text and "满足 5-匿名" in text
    assert "存在被重新识别的风险" in text  # the "before" sentence

    plain = post(officer, url, {"quasi": ["sfzh", "xm"], "k": "2"}, "en").text
    assert 'data-satisfied="false"' in plain and "Not 2-anonymous" in plain
    assert (
        "the 120 records in them (100.0%) are at risk" in plain and "under the policy" not in plain
    )
    # Bad input: no quasi-identifier, k out of range, an unknown column; the wrong unit; CSRF.
    none = post(officer, url, {"k": "5"}, "zh")
    assert none.status_code == 422 and "请至少选择一个准标识符" in alert(none.text)
    assert post(officer, url, {"quasi": ["zz"], "k": "1"}).status_code == 422
    unknown = post(officer, url, {"quasi": ["nope"], "k": "2"})
    assert unknown.status_code == 422 and "'nope' does not exist" in alert(unknown.text)
    assert post(sign_in(app, "officer.m"), url, {"quasi": ["zz"], "k": "2"}).status_code == 403
    assert officer.post(url, data={"quasi": ["zz"], "k": "2"}).status_code == 403
    # Important data may not leave, but its k-anonymity may be checked.
    estate = post(
        officer,
        f"/workspace/versions/{world['estate_version']}/k-anonymity",
        {"quasi": ["zz"], "k": "2"},
    )
    assert estate.status_code == 200 and 'data-figure="rows"' in estate.text


def test_the_versions_tab_links_to_export_and_k_anonymity(app: Any, world: dict[str, Any]) -> None:
    officer = sign_in(app, "officer.g")
    page = officer.get(f"/workspace/resources/{world['people']}?tab=versions").text
    vid = world["people_version"]
    assert f'href="/workspace/versions/{vid}/export"' in page
    assert f'href="/workspace/versions/{vid}/k-anonymity"' in page


# --- rules in words --------------------------------------------------------------------------
def test_every_rule_reads_in_both_languages() -> None:
    from yaosu.web.ws_protection import FORMATS, GENERALIZE_KINDS, describe_rules

    rules: dict[str, dict[str, Any]] = {
        "a": {"op": "mask", "keep_first": 1, "keep_last": 0},
        "b": {"op": "mask"},
        "c": {"op": "pseudonymize", "algorithm": "hmac-sm3", "format": "mobile"},
        "d": {"op": "hash", "length": 20},
        "e": {"op": "generalize", "kind": "age_band", "width": 5, "top": 90, "as_of": "2026-01-01"},
        "f": {"op": "suppress"},
        "g": {"op": "date_shift", "days": -3},
        "h": {"op": "date_shift", "max_days": 30, "key_column": "sfzh"},
        **{f"fmt-{f}": {"op": "mask", "format": f} for f in FORMATS},
        **{f"kind-{k}": {"op": "generalize", "kind": k, "width": 2} for k in GENERALIZE_KINDS},
    }
    for lang in ("zh", "en"):
        words = dict(describe_rules(rules, lang))
        assert list(words) == list(rules)
        assert not [w for w in words.values() if "ws.protection" in w or "{" in w], words
    zh, en = dict(describe_rules(rules, "zh")), dict(describe_rules(rules, "en"))
    assert zh["a"] == "掩码：保留前 1 位、后 0 位，其余以“*”替换" and zh["b"] == "全部以“*”掩码"
    assert "HMAC-SM3" in zh["c"] and "先按手机号规范化" in zh["c"]
    assert en["e"] == (
        "generalised to 5-year age bands; 90 and over in one band; ages as of 2026-01-01"
    )
    assert en["g"] == "dates moved by -3 days" and "keyed by sfzh" in en["h"]
    assert zh["fmt-resident_id"] == "按身份证号掩码（保留前 6 位和后 4 位）"
    # A stored rule that no longer parses is shown as it is, not hidden.
    assert describe_rules({"x": {"op": "scramble"}}, "en") == [("x", "{'op': 'scramble'}")]
