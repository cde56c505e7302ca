"""The review queues over HTTP, on both databases: who sees which queue, the facts each item
shows (escaped), and the decisions — approve, narrow, return, reject with a required reason —
including a stale page, a double submission, the wrong unit and a missing CSRF token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.identity import PASSWORD, SYSTEM, create_org, create_user, make_uscc
from tests.fixtures.web import sign_in
from yaosu.catalog import schemas as catalog_schemas
from yaosu.catalog.service import resource_service
from yaosu.identity import schemas as identity_schemas
from yaosu.identity.service import admission_service, auth_service, token_service
from yaosu.identity.subject import Subject
from yaosu.sharing import rules
from yaosu.sharing import schemas as sharing_schemas
from yaosu.sharing.service import request_service

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


def post(client: Any, url: str, data: dict[str, Any] | None = None, lang: str = "en") -> Any:
    """A form post as htmx sends it: the CSRF cookie echoed in the header."""
    headers = {"X-CSRF-Token": client.cookies["yaosu_csrf"], "HX-Request": "true"}
    return client.post(f"{url}?lang={lang}", data=data or {}, headers=headers)


def subject(session: Session, username: str) -> Subject:
    user = auth_service.authenticate(session, username, PASSWORD)
    return token_service.subject_of(user, frozenset({"sharing:write", "sharing:read"}), None, "t")


def ask(resource_id: str, text: str, fields: list[str] | None = None) -> Any:
    return sharing_schemas.ShareRequestCreate(
        resource_id=resource_id,
        fields=fields or ["sfzh", "xm"],
        purpose="government_service",
        purpose_text=text,
        scenario="窗口办事",
        legal_basis="《政务数据共享条例》",
        term_days=365,
    )


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    bureau = create_org(session, "大数据局")
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    jtj = create_org(session, "交通局")
    uni = create_org(session, "示范大学", kind="institution")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, mzj, "officer.m", "data_officer")
    create_user(session, jtj, "officer.t", "data_officer")
    create_user(session, mzj, "member.m", "member")
    create_user(session, uni, "prof", "member")
    shared = create_resource(
        session, gaj, publish=True, share_attribute="conditional", share_conditions="仅限政务"
    )
    opened = create_resource(
        session,
        gaj,
        publish=True,
        name="户籍人口统计",
        share_attribute="conditional",
        share_conditions="仅限政务",
        open_attribute="conditional",
    )
    # A first submission, and a second catalog version of a published entry (with a diff).
    fresh = create_resource(session, gaj, name=f"新资源{XSS}")
    resource_service.submit(session, SYSTEM, fresh.id)
    edited = create_resource(session, gaj, publish=True, name="机动车登记信息")
    resource_service.update(
        session, SYSTEM, edited.id, catalog_schemas.ResourceUpdate(summary="新增号牌颜色说明")
    )
    admissions = [
        admission_service.apply(
            session,
            identity_schemas.AdmissionCreate(
                org_name=f"运营公司{n}",
                requested_kind="operator",
                uscc=make_uscc(),
                statement=f"资质齐全 {XSS}",
                contact_username=f"op{n}",
                contact_display_name="op",
                contact_password=PASSWORD,
            ),
        )
        for n in (1, 2)
    ]
    session.commit()
    m = subject(session, "officer.m")
    at_provider = request_service.submit(session, m, ask(shared.id, f"低保核验{XSS}"))
    at_authority = [request_service.submit(session, m, ask(shared.id, f"核查{n}")) for n in (1, 2)]
    g = subject(session, "officer.g")
    for req in at_authority:
        request_service.decide(
            session,
            g,
            req.id,
            sharing_schemas.Decision(
                approve=True,
                reason="同意",
                narrowing=sharing_schemas.Narrowing(
                    masking={"sfzh": {"op": "mask", "format": "resident_id"}}
                ),
            ),
        )
    application = request_service.file(
        session,
        subject(session, "prof"),
        ask(opened.id, "人口迁移研究"),
        opened,
        rules.Route("review"),
        channel="open",
        research_plan=f"研究方案 {XSS}",
    )
    request_service.decide(session, g, application.id, sharing_schemas.Decision(approve=True))
    session.commit()
    return {
        "fresh": fresh.id,
        "edited": edited.id,
        "at_provider": at_provider.id,
        "at_authority": [r.id for r in at_authority],
        "application": application.id,
        "admissions": [a.id for a in admissions],
    }


def state(session: Session, kind: str, ident: str) -> dict[str, Any]:
    """Read what the app committed, then end the read (SQLite: a reader would block its writes)."""
    if kind == "request":
        r: Any = request_service.get(session, SYSTEM, ident)
        found = {
            "status": r.status,
            "narrowed": dict(r.narrowed),
            "grant_id": r.grant_id,
            "decisions": len(r.decisions),
        }
    elif kind == "resource":
        r = resource_service.get(session, SYSTEM, ident)
        found = {"status": r.status, "code": r.registration_code}
    else:
        found = {"status": admission_service.get(session, SYSTEM, ident).status}
    session.rollback()
    return found


def counts(html: str) -> dict[str, int]:
    tabs = r'data-tab="(\w+)"[^>]*>[^<]*<span class="badge" id="rev-count-\w+" data-count="(\d+)"'
    return {k: int(v) for k, v in re.findall(tabs, html)}


# --- who sees what ---------------------------------------------------------------------------
def test_the_authority_sees_its_four_queues_with_the_facts(app: Any, world: dict[str, Any]) -> None:
    reviewer = sign_in(app, "reviewer")
    page = reviewer.get("/workspace/reviews")
    assert page.status_code == 200
    assert counts(page.text) == {
        "catalog": 2,
        "versions": 0,  # new versions of published resources (staged), none here
        "sharing": 2,
        "open": 1,
        "admissions": 2,
    }
    assert 'data-tab="catalog"' in page.text and 'id="rev-res-' + world["fresh"] in page.text
    # The second version shows its diff; the first submission says it is new; names escaped.
    assert 'data-key="summary"' in page.text and "新增号牌颜色说明" in page.text
    assert "首次提交" in page.text
    assert ESCAPED in page.text and XSS not in page.text

    sharing = reviewer.get("/workspace/reviews?tab=sharing&lang=en").text
    for rid in world["at_authority"]:
        assert f'id="rev-req-{rid}"' in sharing
        assert f'href="/workspace/sharing/requests/{rid}"' in sharing
    assert "民政局" in sharing and "government services" in sharing
    assert "Deadline" in sharing and "《政务数据共享条例》" in sharing
    assert "Provider review" in sharing  # the provider's earlier decision
    assert "masked" in sharing  # the proposed masking, in words
    assert world["at_provider"] not in sharing  # still with the provider, not in this queue

    opened = reviewer.get("/workspace/reviews?tab=open").text
    assert f'id="rev-req-{world["application"]}"' in opened
    assert "研究方案" in opened and ESCAPED in opened and XSS not in opened

    admissions = reviewer.get("/workspace/reviews?tab=admissions").text
    assert all(f'id="rev-adm-{a}"' in admissions for a in world["admissions"])
    assert "运营公司1" in admissions and ESCAPED in admissions and XSS not in admissions
    assert re.search(r'class="rev-uscc">[0-9A-Z]{18}<', admissions)


def test_the_provider_sees_only_requests_to_its_unit_and_others_are_refused(
    app: Any, world: dict[str, Any]
) -> None:
    provider = sign_in(app, "officer.g")
    page = provider.get("/workspace/reviews")
    assert page.status_code == 200
    assert counts(page.text) == {"provider": 1}
    assert f'id="rev-req-{world["at_provider"]}"' in page.text
    assert ESCAPED in page.text and XSS not in page.text
    refused = provider.get("/workspace/reviews?tab=catalog")
    assert refused.status_code == 403 and 'role="alert"' in refused.text
    # Another unit's officer has an empty queue; a member has none at all.
    other = sign_in(app, "officer.t").get("/workspace/reviews").text
    assert counts(other) == {"provider": 0} and 'id="rev-empty"' in other
    member = sign_in(app, "member.m").get("/workspace/reviews")
    assert member.status_code == 403 and 'role="alert"' in member.text
    from fastapi.testclient import TestClient

    anonymous = TestClient(app).get("/workspace/reviews?tab=sharing", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=/workspace/reviews")


# --- share requests --------------------------------------------------------------------------
def test_the_reviewer_approves_narrowed_and_a_second_decision_is_already_decided(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    reviewer = sign_in(app, "reviewer")
    first, second = world["at_authority"]
    url = f"/workspace/reviews/requests/{first}/decision"
    form = {
        "decision": "approve",
        "stage": "authority",
        "narrow_fields": "true",
        "fields": ["sfzh"],
        "term_days": "90",
        "rows_per_day": "5000",
    }
    r = post(reviewer, url, form)
    assert r.status_code == 200, r.text
    assert r.headers["HX-Retarget"] == f"#rev-req-{first}"
    assert r.headers["HX-Reswap"] == "outerHTML"
    assert 'data-outcome="approved"' in r.text and "/workspace/sharing/grants/" in r.text
    assert re.search(r'id="rev-count-sharing" data-count="1" hx-swap-oob="true"', r.text)
    req = state(session, "request", first)
    assert req["status"] == "approved" and req["grant_id"]
    assert req["narrowed"]["fields"] == ["sfzh"] and req["narrowed"]["term_days"] == 90
    assert req["narrowed"]["rows_per_day"] == 5000 and "sfzh" in req["narrowed"]["masking"]

    # The same form again (a double submission, or a stale page): a clear message, no change.
    again = post(reviewer, url, form)
    assert again.status_code == 409
    assert 'role="alert"' in again.text and "already decided" in again.text
    assert "approved" in again.text
    zh = post(reviewer, url, {**form, "decision": "reject", "reason": "重复"}, lang="zh")
    assert zh.status_code == 409 and "已处理过" in zh.text and "已批准" in zh.text
    assert state(session, "request", first)["decisions"] == 2

    # Rejecting needs a reason, in both languages.
    url2 = f"/workspace/reviews/requests/{second}/decision"
    bare = post(reviewer, url2, {"decision": "reject", "stage": "authority", "reason": "  "})
    assert bare.status_code == 422 and "reason" in bare.text and 'role="alert"' in bare.text
    bare_zh = post(reviewer, url2, {"decision": "reject", "stage": "authority"}, lang="zh")
    assert bare_zh.status_code == 422 and "理由" in bare_zh.text
    no_choice = post(reviewer, url2, {"stage": "authority"})
    assert no_choice.status_code == 422
    done = post(
        reviewer, url2, {"decision": "reject", "stage": "authority", "reason": f"用途不明{XSS}"}
    )
    assert done.status_code == 200 and 'data-outcome="rejected"' in done.text
    assert ESCAPED in done.text and XSS not in done.text
    assert state(session, "request", second)["status"] == "rejected"


def test_the_provider_approves_with_narrowing_within_what_was_asked(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    rid = world["at_provider"]
    url = f"/workspace/reviews/requests/{rid}/decision"
    base = {"decision": "approve", "stage": "provider", "narrow_fields": "true"}
    # Other units cannot decide: one that cannot see it, and the requester itself.
    stranger = post(sign_in(app, "officer.t"), url, {**base, "fields": ["sfzh"]})
    assert stranger.status_code == 404 and 'role="alert"' in stranger.text
    requester = post(sign_in(app, "officer.m"), url, {**base, "fields": ["sfzh"]})
    assert requester.status_code == 403 and "provider" in requester.text
    # The data authority cannot skip the provider either.
    early = post(sign_in(app, "reviewer"), url, {**base, "stage": "", "fields": ["sfzh"]})
    assert early.status_code == 403

    provider = sign_in(app, "officer.g")
    longer = post(provider, url, {**base, "fields": ["sfzh", "xm"], "term_days": "400"})
    assert longer.status_code == 422 and "365" in longer.text
    nothing = post(provider, url, base)
    assert nothing.status_code == 422 and "at least one field" in nothing.text
    extra = post(provider, url, {**base, "fields": ["sfzh", "secret"]})
    assert extra.status_code == 422 and "secret" in extra.text
    bad = post(provider, url, {**base, "fields": ["xm"], "calls_per_day": "-3"})
    assert bad.status_code == 422
    r = post(provider, url, {**base, "fields": ["xm"], "term_days": "180", "reason": "仅提供姓名"})
    assert r.status_code == 200, r.text
    assert 'data-outcome="authority_review"' in r.text and "data authority" in r.text
    req = state(session, "request", rid)
    assert req["status"] == "authority_review"
    assert req["narrowed"]["fields"] == ["xm"] and req["narrowed"]["term_days"] == 180

    # The provider's page was stale: the request has moved on to the authority.
    stale = post(provider, url, {**base, "fields": ["xm"]})
    assert stale.status_code == 409 and "already decided" in stale.text
    # The authority may narrow further, but not give back what the provider withheld.
    reviewer = sign_in(app, "reviewer")
    back = post(reviewer, url, {**base, "stage": "authority", "fields": ["sfzh", "xm"]})
    assert back.status_code == 422 and "sfzh" in back.text
    # Without the narrowing marker (an API-style post) the fields stay as they are.
    ok = post(reviewer, url, {"decision": "approve", "stage": "authority", "term_days": "180"})
    assert ok.status_code == 200 and 'data-outcome="approved"' in ok.text


# --- catalog publications --------------------------------------------------------------------
def test_publish_and_return_resources(app: Any, world: dict[str, Any], session: Session) -> None:
    reviewer = sign_in(app, "reviewer")
    url = f"/workspace/reviews/resources/{world['fresh']}/publish"
    r = post(reviewer, url)
    assert r.status_code == 200 and 'data-outcome="published"' in r.text
    assert r.headers["HX-Retarget"] == f"#rev-res-{world['fresh']}"
    code = state(session, "resource", world["fresh"])["code"]
    assert code and code in r.text
    twice = post(reviewer, url)
    assert twice.status_code == 409 and "already decided" in twice.text
    stale = post(reviewer, f"/workspace/reviews/resources/{world['fresh']}/return", {"reason": "x"})
    assert stale.status_code == 409

    ret = f"/workspace/reviews/resources/{world['edited']}/return"
    missing = post(reviewer, ret, {"reason": ""})
    assert missing.status_code == 422 and "reason" in missing.text
    done = post(reviewer, ret, {"reason": f"摘要不完整{XSS}"})
    assert done.status_code == 200 and 'data-outcome="returned"' in done.text
    assert ESCAPED in done.text and XSS not in done.text
    assert state(session, "resource", world["edited"])["status"] == "returned"
    # Providers cannot publish.
    assert post(sign_in(app, "officer.g"), url).status_code == 403


# --- the publication card 发布审查 ----------------------------------------------------------------
def _with_data(session: Session, name: str, rows: list[dict[str, Any]]) -> tuple[str, str]:
    """A 无条件开放 resource of 公安局 with one version, submitted for review (committed)."""
    from tests.fixtures.classification import csv_bytes
    from yaosu.catalog.service import dataset_service
    from yaosu.catalog.tasks import run_in_session
    from yaosu.models.identity import Organization

    gaj = session.query(Organization).filter_by(name="公安局").one()
    r = create_resource(
        session, gaj, name=name, share_attribute="unconditional", open_attribute="unconditional"
    )
    body = csv_bytes(rows)
    job = dataset_service.stage_upload(
        session, SYSTEM, r.id, "p.csv", lambda p: p.write_bytes(body), {}
    )
    job = run_in_session(session, job.id)
    assert job.status == "succeeded", job.error
    resource_service.submit(session, SYSTEM, r.id)
    session.commit()
    return r.id, job.version_id or ""


def _card(html: str, rid: str) -> str:
    found = re.search(rf'<article[^>]*id="rev-res-{rid}".*?</article>', html, re.S)
    assert found, rid
    return found.group(0)


def _hidden(card: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', card)
    assert found, name
    return found.group(1)


def test_the_publication_card_shows_findings_and_k_and_publishing_follows_it(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    import random

    from tests.fixtures.classification import mobile, name, resident_id
    from yaosu.classification import schemas as cls_schemas
    from yaosu.classification.service import classification_service

    rng = random.Random(11)
    people = [
        {"sfzh": resident_id(rng), "xm": name(rng), "sjhm": mobile(rng), "je": i} for i in range(40)
    ]
    bad, bad_version = _with_data(session, "人口联系方式", people)
    officer = subject(session, "officer.g")
    classification_service.review_field(
        session,
        officer,
        bad_version,
        cls_schemas.FieldReview(column="sjhm", pi_class="none", reason="单位电话"),
    )
    cohort = [
        {"xm": name(rng), "csrq": f"{1960 + i // 6}-0{1 + i % 9}-1{i % 9}", "je": i}
        for i in range(60)
    ]
    good, good_version = _with_data(session, "出生年份统计", cohort)
    session.commit()

    reviewer = sign_in(app, "reviewer")
    page = reviewer.get("/workspace/reviews?tab=catalog&lang=en").text
    card = _card(page, bad)
    assert 'data-passed="false"' in card
    assert re.search(
        r'data-column="sfzh" data-type="resident_id" data-pi="sensitive" '
        r'data-op="mask" data-problem=""',
        card,
    )
    assert re.search(
        r'data-column="sjhm" data-type="mobile" data-pi="general" '
        r'data-op="" data-problem="unmasked"',
        card,
    )
    assert "personal information unmasked" in card
    card = _card(page, good)
    assert 'data-passed="true"' in card and 'data-k="6"' in card and 'data-min-k="5"' in card
    assert re.search(r'data-column="csrq" data-type="birth_date" [^>]*data-op="generalize"', card)
    assert "k = 6" in card and "csrq" in card
    assert _hidden(card, "version_id") == good_version

    # Publishing what fails the check is refused with the columns, from the form as from the API.
    bad_card = _card(page, bad)
    form = {n: _hidden(bad_card, n) for n in ("version_id", "findings_digest")}
    r = post(reviewer, f"/workspace/reviews/resources/{bad}/publish", form)
    assert r.status_code == 409 and "sjhm" in r.text and "sfzh" not in r.text
    zh = post(reviewer, f"/workspace/reviews/resources/{bad}/publish", form, lang="zh")
    assert zh.status_code == 409 and "个人信息未脱敏" in zh.text
    assert state(session, "resource", bad)["status"] == "submitted"

    # A stale page: the findings changed after the card was shown.
    form = {n: _hidden(card, n) for n in ("version_id", "findings_digest")}
    classification_service.review_field(
        session,
        officer,
        good_version,
        cls_schemas.FieldReview(column="je", type="none", pi_class="general", reason="金额"),
    )
    session.commit()
    stale = post(reviewer, f"/workspace/reviews/resources/{good}/publish", form)
    assert stale.status_code == 409 and "changed since" in stale.text
    assert state(session, "resource", good)["status"] == "submitted"
    # The API refuses it the same way, with the stable code.
    from tests.fixtures.identity import bearer, login

    token = bearer(login(session, "reviewer"))
    session.commit()
    api = reviewer.post(f"/api/v1/resources/{good}/publish", json=form, headers=token)
    assert api.status_code == 409 and api.json()["error"]["code"] == "stale_findings"
    fresh = reviewer.get(f"/api/v1/resources/{good}/publication-check", headers=token).json()
    assert fresh["passed"] is True and fresh["k"] == 6
    assert fresh["findings_digest"] != form["findings_digest"]
    # The page of now publishes.
    card = _card(reviewer.get("/workspace/reviews?tab=catalog").text, good)
    assert _hidden(card, "findings_digest") == fresh["findings_digest"]
    form = {n: _hidden(card, n) for n in ("version_id", "findings_digest")}
    ok = post(reviewer, f"/workspace/reviews/resources/{good}/publish", form)
    assert ok.status_code == 200 and 'data-outcome="published"' in ok.text


# --- admissions ------------------------------------------------------------------------------
def test_admissions_are_decided_once_with_a_reason_to_reject(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    reviewer = sign_in(app, "reviewer")
    yes, no = (f"/workspace/reviews/admissions/{a}/decision" for a in world["admissions"])
    r = post(reviewer, yes, {"decision": "approve"})
    assert r.status_code == 200 and 'data-outcome="approved"' in r.text
    assert post(reviewer, yes, {"decision": "approve"}).status_code == 409
    assert post(reviewer, no, {"decision": "reject"}).status_code == 422
    refused = post(reviewer, no, {"decision": "reject", "reason": "资质不全"})
    assert refused.status_code == 200 and "资质不全" in refused.text
    assert state(session, "admission", world["admissions"][1])["status"] == "rejected"
    assert post(sign_in(app, "officer.g"), yes, {"decision": "approve"}).status_code == 403


def test_decisions_need_the_csrf_token(app: Any, world: dict[str, Any], session: Session) -> None:
    reviewer = sign_in(app, "reviewer")
    rid = world["at_authority"][0]
    for url, data in (
        (f"/workspace/reviews/requests/{rid}/decision", {"decision": "approve"}),
        (f"/workspace/reviews/resources/{world['fresh']}/publish", {}),
        (
            f"/workspace/reviews/admissions/{world['admissions'][0]}/decision",
            {"decision": "approve"},
        ),
    ):
        r = reviewer.post(url, data=data, headers={"HX-Request": "true"})
        assert r.status_code == 403 and 'role="alert"' in r.text
        wrong = reviewer.post(url, data=data, headers={"X-CSRF-Token": "forged"})
        assert wrong.status_code == 403
    assert state(session, "request", rid)["status"] == "authority_review"
