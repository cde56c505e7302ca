"""Sharing in the workspace over HTTP, on both databases: filing a share request from a resource
(approved automatically, refused by the rules, or reviewed), tracking and withdrawing it, a
grant's page with its policy in plain words, its usage and the provider's actions, API tokens,
and the data authority's overview with the resource ledger export.

Unhappy paths: another unit's grant, a non-provider changing a grant, a change without a reason,
double revocation and withdrawal, token scopes beyond the caller's, enterprises, XSS in the
purpose text, and writes without the CSRF header."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.identity import (
    PASSWORD,
    SYSTEM,
    api_token,
    bearer,
    create_org,
    create_user,
)
from tests.fixtures.web import sign_in
from yaosu.catalog.service import dataset_service
from yaosu.catalog.tasks import run_in_session
from yaosu.models.sharing import ShareRequest

XSS = '<script>alert("x")</script>户籍核验'


def post(client: Any, url: str, data: Any = None, csrf: bool = True) -> Any:
    """A form post as htmx sends it: the CSRF cookie echoed in the header."""
    headers = {"HX-Request": "true"}
    if csrf:
        headers["X-CSRF-Token"] = client.cookies.get("yaosu_csrf")
    return client.post(url, data=data, headers=headers)


def ingest(session: Session, resource_id: str, rows: list[dict[str, Any]] | None = None) -> None:
    data = csv_bytes(rows or people_rows(40))
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
    firm = create_org(session, "普惠金融科技有限公司", kind="enterprise")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, mzj, "officer.m", "data_officer")
    member = create_user(session, mzj, "member.m", "member")
    create_user(session, jtj, "officer.t", "data_officer")
    create_user(session, audit, "auditor", "auditor")
    create_user(session, firm, "fintech", "member")
    shared = create_resource(session, gaj, publish=True, name="户籍人口信息（共享）")
    cond = create_resource(
        session,
        gaj,
        publish=True,
        name="流动人口信息",
        share_attribute="conditional",
        share_conditions="仅限政务服务",
    )
    closed = create_resource(
        session,
        gaj,
        publish=True,
        name="侦查信息",
        share_attribute="none",
        share_legal_basis="《刑事诉讼法》",
    )
    for r in (shared, cond):
        ingest(session, r.id)
    session.commit()
    limited = api_token(session, member, "identity:read", "identity:write")
    session.commit()  # SQLite: release the write lock before the app writes
    return {
        "shared": shared.id,
        "cond": cond.id,
        "closed": closed.id,
        "limited": limited,
        "session": session,
    }


def file_request(client: Any, resource_id: str, **kw: Any) -> Any:
    data: dict[str, Any] = {
        "resource": resource_id,
        "fields": ["sfzh", "xm", "zz"],
        "purpose": "government_service",
        "purpose_text": "户籍核验",
        "legal_basis": "《政务数据共享条例》",
        "term_days": "180",
        "delivery_mode": "api",
    }
    data.update(kw)
    return post(client, "/workspace/sharing/new", data)


def attr(html: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', html)
    assert found, f"no {name} in {html[:400]}"
    return found.group(1)


def alert(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>(.*?)</', html, re.S)
    assert found, html[:400]
    return unescape(found.group(1)).strip()


def usage_json(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="grant-usage-data">(.*?)</script>', html)
    assert found, "no usage data block"
    return dict(json.loads(found.group(1)))


# --- filing and tracking -----------------------------------------------------------------------
def test_a_government_unit_files_a_request_approved_automatically_and_uses_the_grant(
    app: Any, world: dict[str, Any]
) -> None:
    m = sign_in(app, "officer.m")
    form = m.get(f"/workspace/sharing/new?resource={world['shared']}")
    assert form.status_code == 200
    assert 'value="sfzh"' in form.text and 'value="ddh"' in form.text  # the version's columns
    assert "身份证号" in form.text  # with the catalog's labels
    assert "高效办成一件事" in form.text  # purposes by their labels
    filed = file_request(m, world["shared"])
    assert filed.status_code == 200, filed.text
    assert 'id="shr-approved"' in filed.text
    grant_id = attr(filed.text, "data-grant")
    assert f'href="/workspace/sharing/grants/{grant_id}"' in filed.text

    page = m.get(f"/workspace/sharing/grants/{grant_id}")
    assert page.status_code == 200
    summary = unescape(re.search(r'id="grant-summary"[^>]*>(.*?)</p>', page.text).group(1))  # type: ignore[union-attr]
    assert summary.startswith("字段 身份证号、姓名、zz")
    assert "身份证号 掩码" in summary and "用途 政务服务" in summary and "至 " in summary
    assert '"permission"' in unescape(page.text)  # the ODRL document, collapsible
    assert 'hx-get="/workspace/trail/' + grant_id + '"' in page.text
    assert 'id="grant-suspend"' not in page.text  # the consumer does not manage the grant
    assert usage_json(page.text)["totals"]["calls"] == 0
    english = m.get(f"/workspace/sharing/grants/{grant_id}?lang=en").text
    assert "fields 身份证号, 姓名, zz" in unescape(english)

    # Two calls with a token made on the tokens page, then the provider sees them.
    made = post(m, "/workspace/tokens", {"name": "svc", "scopes": ["service:call"]})
    assert made.status_code == 200, made.text
    secret = attr(made.text, "value")
    assert secret.startswith("ys_")
    for _ in range(2):
        call = m.get(f"/api/v1/services/{grant_id}/rows?limit=5", headers=bearer(secret))
        assert call.status_code == 200, call.text
    g = sign_in(app, "officer.g")
    provider_page = g.get(f"/workspace/sharing/grants/{grant_id}")
    assert provider_page.status_code == 200
    usage = usage_json(provider_page.text)
    assert usage["totals"]["calls"] == 2 and usage["series"][0]["data"][-1] == 2
    assert 'id="grant-suspend"' in provider_page.text and 'id="grant-revoke"' in provider_page.text

    listing = m.get("/workspace/sharing").text
    assert f'data-grant="{grant_id}"' in listing and "户籍人口信息（共享）" in listing


def test_refused_by_the_rules_with_the_reason_and_user_text_escaped(
    app: Any, world: dict[str, Any]
) -> None:
    m = sign_in(app, "officer.m")
    refused = file_request(m, world["closed"], fields=["sfzh"], purpose_text=XSS)
    assert refused.status_code == 200
    assert 'data-code="not_shared"' in refused.text
    assert "该资源不予共享，依据：《刑事诉讼法》" in unescape(refused.text)
    req_id = attr(refused.text, "data-request")
    page = m.get(f"/workspace/sharing/requests/{req_id}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)" in page
    assert 'data-stage="rules"' in page and 'id="shr-withdraw"' not in page
    listing = m.get("/workspace/sharing?status=rejected").text
    assert "<script>alert" not in listing and f'data-request="{req_id}"' in listing
    assert 'data-request="' in listing and 'data-status="approved"' not in listing


def test_a_reviewed_request_is_tracked_withdrawn_once_and_only_by_its_unit(
    app: Any, world: dict[str, Any]
) -> None:
    m = sign_in(app, "officer.m")
    filed = file_request(m, world["cond"], fields=["sfzh", "xm"])
    assert 'id="shr-review"' in filed.text
    req_id = attr(filed.text, "data-request")
    page = m.get(f"/workspace/sharing/requests/{req_id}").text
    assert 'id="shr-req-deadline"' in page and 'id="shr-withdraw"' in page
    assert "待提供单位审核" in page

    # The provider sees it but cannot withdraw it.
    g = sign_in(app, "officer.g")
    assert 'id="shr-withdraw"' not in g.get(f"/workspace/sharing/requests/{req_id}").text
    denied = post(g, f"/workspace/sharing/requests/{req_id}/withdraw")
    assert denied.status_code == 403
    assert alert(denied.text) == "只有申请单位可以撤回申请。"

    # Overdue requests are flagged in the list.
    session = world["session"]
    req = session.get(ShareRequest, req_id)
    assert req is not None
    from yaosu.kit.timeutil import utcnow

    req.deadline_at = utcnow().replace(year=utcnow().year - 1)
    session.commit()
    listing = m.get("/workspace/sharing?role=consumer&status=provider_review").text
    assert 'data-overdue="true"' in listing and 'class="shr-overdue"' in listing

    done = post(m, f"/workspace/sharing/requests/{req_id}/withdraw")
    assert done.status_code == 200, done.text
    assert 'id="shr-req-done"' in done.text and 'hx-swap-oob="true"' in done.text
    assert 'data-status="withdrawn"' in done.text and 'id="shr-withdraw"' not in done.text
    again = post(m, f"/workspace/sharing/requests/{req_id}/withdraw")
    assert again.status_code == 409
    assert "当前为「已撤回」，不能撤回" in alert(again.text)
    page = m.get(f"/workspace/sharing/requests/{req_id}?lang=en").text
    assert 'data-stage="withdrawn"' in page and "Withdrawn by the requester" in page


def test_enterprises_are_sent_to_the_portal_and_bad_forms_are_explained(
    app: Any, world: dict[str, Any]
) -> None:
    f = sign_in(app, "fintech")
    form = f.get(f"/workspace/sharing/new?resource={world['shared']}").text
    assert 'id="shr-enterprise"' in form and 'id="shr-new-form"' not in form
    assert f'href="/datasets/{world["shared"]}/apply"' in form
    refused = file_request(f, world["shared"])
    assert refused.status_code == 403
    assert 'data-code="not_a_sharing_party"' in refused.text
    assert f'href="/datasets/{world["shared"]}/apply"' in refused.text

    m = sign_in(app, "officer.m")
    no_fields = file_request(m, world["shared"], fields=[])
    assert no_fields.status_code == 422 and alert(no_fields.text) == "请至少勾选一个字段。"
    no_basis = file_request(m, world["shared"], legal_basis="  ")
    assert no_basis.status_code == 422 and alert(no_basis.text) == "请填写共享依据。"
    bad_term = file_request(m, world["shared"], term_days="9999")
    assert bad_term.status_code == 422
    unknown = file_request(m, world["shared"], fields=["nope"])
    assert unknown.status_code == 422 and "nope" in alert(unknown.text)
    assert (
        'id="shr-own"'
        in sign_in(app, "officer.g").get(f"/workspace/sharing/new?resource={world['shared']}").text
    )
    assert 'id="shr-no-resource"' in m.get("/workspace/sharing/new").text


# --- grants ------------------------------------------------------------------------------------
def test_only_the_provider_changes_a_grant_with_a_reason_and_double_revoke_is_explained(
    app: Any, world: dict[str, Any]
) -> None:
    m = sign_in(app, "officer.m")
    grant_id = attr(file_request(m, world["shared"]).text, "data-grant")
    url = f"/workspace/sharing/grants/{grant_id}"

    # Another unit cannot see the grant at all.
    t = sign_in(app, "officer.t")
    hidden = t.get(url)
    assert hidden.status_code == 404 and 'role="alert"' in hidden.text
    assert post(t, f"{url}/suspend", {"reason": "x"}).status_code == 404
    # The consumer's officer and a member may not change it.
    consumer = post(m, f"{url}/suspend", {"reason": "测试"})
    assert consumer.status_code == 403
    assert alert(consumer.text) == "只有资源提供单位和数据主管部门可以变更授权。"
    assert post(sign_in(app, "member.m"), f"{url}/suspend", {"reason": "x"}).status_code == 403

    g = sign_in(app, "officer.g")
    no_reason = post(g, f"{url}/revoke", {"reason": "   "})
    assert no_reason.status_code == 422 and alert(no_reason.text) == "变更授权时必须填写理由。"
    suspended = post(g, f"{url}/suspend", {"reason": "<b>核查</b>使用情况"})
    assert suspended.status_code == 200, suspended.text
    assert 'data-status="suspended"' in suspended.text and 'id="grant-resume"' in suspended.text
    assert "&lt;b&gt;核查&lt;/b&gt;" in suspended.text
    # A call on a suspended grant is refused and shows up as a refusal by reason.
    secret = attr(
        post(m, "/workspace/tokens", {"name": "s", "scopes": ["service:call"]}).text, "value"
    )
    assert m.get(f"/api/v1/services/{grant_id}/rows", headers=bearer(secret)).status_code == 403
    usage = usage_json(g.get(url).text)
    assert usage["totals"]["refused"] == 1
    assert any("授权已暂停" in s["name"] for s in usage["series"])
    assert post(g, f"{url}/resume", {"reason": "核查完毕"}).status_code == 200
    revoked = post(g, f"{url}/revoke", {"reason": "停止使用"})
    assert revoked.status_code == 200 and 'data-status="revoked"' in revoked.text
    assert 'id="grant-actions"' not in revoked.text  # nothing left to do
    again = post(g, f"{url}/revoke", {"reason": "再次撤销"})
    assert again.status_code == 409
    assert alert(again.text) == "该授权当前为「已撤销」，不能撤销。请刷新页面查看最新状态。"
    english = post(g, f"{url}/revoke?lang=en", {"reason": "again"})
    assert "The grant is revoked now; it cannot be revoked." in alert(english.text)


def test_a_row_filter_on_region_codes_reads_as_the_region(app: Any, world: dict[str, Any]) -> None:
    from yaosu.identity.service import auth_service, token_service
    from yaosu.models.identity import Organization
    from yaosu.sharing import schemas
    from yaosu.sharing.service import request_service

    session = world["session"]
    create_org(session, "东城区人民政府", gov_level="district", region_code="370602")
    provider = session.query(Organization).filter_by(name="公安局").one()
    rows = [{"qh": 370602 + i % 2, "xm": f"张{i}"} for i in range(20)]
    res = create_resource(
        session,
        provider,
        publish=True,
        name="社区人口",
        share_attribute="conditional",
        share_conditions="仅限本辖区",
        fields=[{"name": "qh", "label_zh": "行政区划", "type": "string"}],
    )
    ingest(session, res.id, rows)
    consumer = token_service.subject_of(
        auth_service.authenticate(session, "officer.m", PASSWORD),
        frozenset({"sharing:write", "sharing:read"}),
        None,
        "test",
    )
    req = request_service.submit(
        session,
        consumer,
        schemas.ShareRequestCreate(
            resource_id=res.id, fields=["qh", "xm"], purpose="data_return", legal_basis="《条例》"
        ),
    )
    request_service.decide(session, SYSTEM, req.id, schemas.Decision(approve=True))
    narrowing = schemas.Narrowing(
        row_filter=[
            {"leftOperand": "yaosu:row.qh", "operator": "isAnyOf", "rightOperand": ["370602"]}
        ],
        rows_per_day=10_000,
    )
    request_service.decide(
        session, SYSTEM, req.id, schemas.Decision(approve=True, narrowing=narrowing)
    )
    session.commit()
    page = sign_in(app, "officer.m").get(f"/workspace/sharing/grants/{req.grant_id}").text
    summary = unescape(re.search(r'id="grant-summary"[^>]*>(.*?)</p>', page).group(1))  # type: ignore[union-attr]
    assert "字段 行政区划、xm" in summary
    assert "仅限 东城区人民政府" in summary and "每日 10,000 行" in summary


def test_writes_without_the_csrf_header_are_refused(app: Any, world: dict[str, Any]) -> None:
    m = sign_in(app, "officer.m")
    assert file_request(m, world["shared"], **{}).status_code == 200
    grant_id = attr(file_request(m, world["shared"]).text, "data-grant")
    for url, data in (
        ("/workspace/sharing/new", {"resource": world["shared"], "fields": ["xm"]}),
        ("/workspace/tokens", {"name": "x", "scopes": ["service:call"]}),
        (f"/workspace/sharing/grants/{grant_id}/suspend", {"reason": "x"}),
        ("/workspace/tokens/anything/revoke", None),
    ):
        r = post(m, url, data, csrf=False)
        assert r.status_code == 403, (url, r.text)
        assert "CSRF" in r.text


# --- tokens ------------------------------------------------------------------------------------
def test_tokens_are_made_shown_once_and_revoked_once(app: Any, world: dict[str, Any]) -> None:
    m = sign_in(app, "officer.m")
    page = m.get("/workspace/tokens")
    assert page.status_code == 200 and 'id="tok-none"' in page.text
    assert 'value="service:call"' in page.text
    made = post(m, "/workspace/tokens", {"name": "<i>nightly</i>", "scopes": ["sharing:read"]})
    assert made.status_code == 200, made.text
    secret = attr(made.text, "value")
    token_id = attr(made.text, "data-token")
    assert "&lt;i&gt;nightly&lt;/i&gt;" in made.text
    listed = m.get("/workspace/tokens").text
    assert secret not in listed and f'data-token="{token_id}"' in listed  # shown once only
    assert m.get("/api/v1/share-requests", headers=bearer(secret)).status_code == 200

    bad = post(
        m, "/workspace/tokens", {"name": "x", "scopes": ["sharing:read"], "expires_in_days": "0"}
    )
    assert bad.status_code == 422
    assert post(m, "/workspace/tokens", {"name": "x"}).status_code == 422  # no scope
    unknown = post(m, "/workspace/tokens", {"name": "x", "scopes": ["root"]})
    assert unknown.status_code == 422

    revoked = post(m, f"/workspace/tokens/{token_id}/revoke")
    assert revoked.status_code == 200 and 'data-state="revoked"' in revoked.text
    assert m.get("/api/v1/share-requests", headers=bearer(secret)).status_code == 401
    again = post(m, f"/workspace/tokens/{token_id}/revoke")
    assert again.status_code == 409 and alert(again.text) == "该令牌已被吊销。"
    # Another user's token is not theirs to revoke.
    assert (
        post(sign_in(app, "officer.g"), f"/workspace/tokens/{token_id}/revoke").status_code == 404
    )


def test_token_scopes_are_limited_to_the_callers(app: Any, world: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(app)
    limited = bearer(world["limited"])  # identity:read and identity:write only
    page = client.get("/workspace/tokens", headers=limited)
    assert page.status_code == 200
    assert 'value="identity:read"' in page.text and 'value="service:call"' not in page.text
    beyond = client.post(
        "/workspace/tokens",
        data={"name": "more", "scopes": ["identity:read", "service:call"]},
        headers={**limited, "HX-Request": "true"},
    )
    assert beyond.status_code == 403
    assert alert(beyond.text) == "令牌的权限范围不能超出创建者自身：service:call。"
    within = client.post(
        "/workspace/tokens",
        data={"name": "same", "scopes": ["identity:read"]},
        headers={**limited, "HX-Request": "true"},
    )
    assert within.status_code == 200


# --- the overview ------------------------------------------------------------------------------
def test_the_overview_counts_the_city_and_exports_the_ledger(
    app: Any, world: dict[str, Any]
) -> None:
    m = sign_in(app, "officer.m")
    grant_id = attr(file_request(m, world["shared"]).text, "data-grant")
    file_request(m, world["cond"])
    secret = attr(
        post(m, "/workspace/tokens", {"name": "s", "scopes": ["service:call"]}).text, "value"
    )
    assert m.get(f"/api/v1/services/{grant_id}/rows", headers=bearer(secret)).status_code == 200
    assert m.get("/workspace/overview").status_code == 403

    reviewer = sign_in(app, "reviewer")
    page = reviewer.get("/workspace/overview")
    assert page.status_code == 200
    charts = {
        key: json.loads(body)
        for key, body in re.findall(
            r'<script type="application/json" id="(ov-[a-z-]+)-data">(.*?)</script>', page.text
        )
    }
    assert set(charts) == {"ov-by-unit", "ov-by-attribute", "ov-requests", "ov-grants", "ov-daily"}
    assert charts["ov-by-unit"]["x"] == ["公安局"] and charts["ov-by-unit"]["series"][0][
        "data"
    ] == [3]
    requests = dict(
        zip(charts["ov-requests"]["x"], charts["ov-requests"]["series"][0]["data"], strict=True)
    )
    assert requests["已批准"] == 1 and requests["待提供单位审核"] == 1
    assert charts["ov-grants"]["items"] == [{"name": "有效", "value": 1}]
    assert charts["ov-daily"]["totals"]["calls"] == 1
    assert 'data-figure="resources">3<' in page.text
    assert 'href="/api/v1/census/export?format=csv"' in page.text

    # The ledger downloads with the page's cookie, as the links do.
    csv_file = reviewer.get("/api/v1/census/export?format=csv")
    assert csv_file.status_code == 200 and csv_file.headers["content-type"].startswith("text/csv")
    assert csv_file.content.decode("utf-8-sig").startswith("资源代码,资源名称,提供单位")
    xlsx = reviewer.get("/api/v1/census/export?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert sign_in(app, "auditor").get("/workspace/overview").status_code == 200
    english = reviewer.get("/workspace/overview?lang=en").text
    assert "Resources by unit" in english and "approved" in english
