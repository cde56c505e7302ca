"""The catalog's other workflows over HTTP, on both databases: demand lists (post, answer, close,
a second close), the census with its export and the acceptance check, pulls now and on a
schedule (bad cron, bad address, the node's own store, passwords never shown), retrying a failed
job, and retiring a resource (a reason, once) — each by the right role only, with user text
escaped and writes refused without the CSRF token."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.identity import SYSTEM, create_org, create_user
from tests.fixtures.web import sign_in
from yaosu.catalog import schemas
from yaosu.catalog.service import dataset_service, demand_service, resource_service
from yaosu.config import get_settings
from yaosu.ledger.service import ledger_service

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
SECRET = "s3cret-pw"


def post(client: Any, url: str, data: dict[str, Any] | None = None, lang: str = "en") -> Any:
    """A form post as htmx sends it: the CSRF cookie echoed in the header."""
    headers = {"X-CSRF-Token": client.cookies["yaosu_csrf"], "HX-Request": "true"}
    return client.post(f"{url}?lang={lang}", data=data or {}, headers=headers)


def page(client: Any, url: str) -> Any:
    """A page as the browser first loads it (the CSRF cookie comes with it)."""
    r = client.get(url)
    assert r.status_code == 200, r.text
    return r


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    bureau = create_org(session, "大数据局")
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    jtj = create_org(session, "交通局")
    audit = create_org(session, "审计局", kind="regulator")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, mzj, "officer.m", "data_officer")
    create_user(session, mzj, "member.m", "member")
    create_user(session, jtj, "officer.t", "data_officer")
    create_user(session, audit, "auditor", "auditor")
    pub = create_resource(session, gaj, publish=True)
    other = create_resource(
        session, gaj, publish=True, name="机动车登记信息", source_system="交管业务系统"
    )
    draft = create_resource(session, gaj, name="户籍变动记录", source_system="交管业务系统")
    submitted = create_resource(session, gaj, name="出入境记录")
    resource_service.submit(session, SYSTEM, submitted.id)
    mzj_pub = create_resource(
        session, mzj, publish=True, name="低保对象信息", classification_code="10102001"
    )
    session.commit()
    return {
        "gaj": gaj.id,
        "mzj": mzj.id,
        "jtj": jtj.id,
        "pub": pub.id,
        "other": other.id,
        "draft": draft.id,
        "submitted": submitted.id,
        "mzj_pub": mzj_pub.id,
    }


def demand(session: Session, demand_id: str) -> dict[str, Any]:
    """What the app committed, then end the read (SQLite: a reader would block its writes)."""
    d = demand_service.get(session, SYSTEM, demand_id)
    found = {"status": d.status, "answers": [(a.decision, a.resource_id) for a in d.answers]}
    session.rollback()
    return found


def resource_state(session: Session, resource_id: str) -> str:
    status = resource_service.get(session, SYSTEM, resource_id).status
    session.rollback()
    return status


def jobs_of(session: Session, resource_id: str) -> list[Any]:
    jobs, _ = dataset_service.jobs(session, SYSTEM, resource_id, 100, 0)
    found = [(j.kind, j.status) for j in jobs]
    session.rollback()
    return found


def schedules_of(session: Session, resource_id: str) -> list[str]:
    found = [s.cron for s in dataset_service.schedules(session, SYSTEM, resource_id)]
    session.rollback()
    return found


def post_demand(client: Any, **form: str) -> str:
    page(client, "/workspace/demands")
    r = post(client, "/workspace/demands", {"description": "需要数据", **form})
    assert r.status_code == 204, r.text
    match = re.fullmatch(r"/workspace/demands/(\w+)", r.headers["HX-Redirect"])
    assert match, r.headers
    return match.group(1)


# --- demand lists ------------------------------------------------------------------------------
def test_a_demand_is_posted_answered_and_closed_once(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    member = sign_in(app, "member.m")
    listing = page(member, "/workspace/demands").text
    assert 'id="cat-demand-form"' in listing and "公安局" in listing  # the addressee choices
    did = post_demand(
        member,
        title=f"低保核对用人口数据{XSS}",
        description=f"核对低保对象的户籍{XSS}",
        scenario="高效办成一件事",
        wanted_fields="sfzh、xm",
    )
    shown = page(member, f"/workspace/demands/{did}?lang=en").text
    assert ESCAPED in shown and XSS not in shown
    assert "<code>sfzh</code>" in shown and "All units" in shown
    assert 'id="cat-answer-form"' not in shown  # a member does not answer
    assert 'id="cat-demand-close"' in shown  # the requesting unit closes
    assert demand(session, did) == {"status": "open", "answers": []}

    # A provider links one of its published resources; another declines with a reason.
    gaj = sign_in(app, "officer.g")
    form = page(gaj, f"/workspace/demands/{did}").text
    assert 'id="cat-answer-form"' in form and f'value="{world["pub"]}"' in form
    assert world["draft"] not in form and 'id="cat-demand-close"' not in form
    r = post(
        gaj, f"/workspace/demands/{did}/answers", {"decision": "link", "resource_id": world["pub"]}
    )
    assert r.status_code == 200, r.text
    assert 'id="cat-demand-state"' in r.text and 'hx-swap-oob="true"' in r.text
    assert "Your answer is recorded" in r.text and "常住人口基本信息" in r.text
    jtj = sign_in(app, "officer.t")
    page(jtj, f"/workspace/demands/{did}")
    declined = post(
        jtj,
        f"/workspace/demands/{did}/answers",
        {"decision": "decline", "reason": f"无此数据{XSS}"},
    )
    assert declined.status_code == 200 and ESCAPED in declined.text and XSS not in declined.text
    assert demand(session, did) == {
        "status": "answered",
        "answers": [("linked", world["pub"]), ("declined", None)],
    }
    answered = page(member, "/workspace/demands?status=answered").text
    assert f'data-demand="{did}"' in answered
    assert f'data-demand="{did}"' not in page(member, "/workspace/demands?status=open").text

    closed = post(member, f"/workspace/demands/{did}/close")
    assert closed.status_code == 200 and "The demand is closed" in closed.text
    assert 'data-status="closed"' in closed.text and 'id="cat-answer-form"' not in closed.text
    assert demand(session, did)["status"] == "closed"

    # A second click on the stale page, in either language: a clear conflict, nothing changes.
    again = post(member, f"/workspace/demands/{did}/close")
    assert again.status_code == 409 and 'role="alert"' in again.text
    assert "already dealt with" in again.text and "Closed" in again.text
    zh = post(member, f"/workspace/demands/{did}/close", lang="zh")
    assert zh.status_code == 409 and "已处理过" in zh.text and "已关闭" in zh.text
    late = post(gaj, f"/workspace/demands/{did}/answers", {"decision": "decline", "reason": "迟"})
    assert late.status_code == 409 and "already dealt with" in late.text
    assert len(demand(session, did)["answers"]) == 2
    assert f'data-demand="{did}"' in page(member, "/workspace/demands?status=closed").text


def test_demand_forms_check_their_input_and_who_may_act(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    member = sign_in(app, "member.m")
    page(member, "/workspace/demands")
    blank = post(member, "/workspace/demands", {"title": " ", "description": "x"})
    assert blank.status_code == 422 and "title" in blank.text and 'role="alert"' in blank.text
    blank_zh = post(member, "/workspace/demands", {"title": "t", "description": ""}, lang="zh")
    assert blank_zh.status_code == 422 and "需求描述" in blank_zh.text
    long = post(member, "/workspace/demands", {"title": "长" * 201, "description": "x"})
    assert long.status_code == 422
    nowhere = post(
        member, "/workspace/demands", {"title": "t", "description": "d", "provider_id": "nobody"}
    )
    assert nowhere.status_code == 404
    assert demand_service.list(session, SYSTEM, None, 10, 0)[1] == 0
    session.rollback()

    # Addressed to 公安局: only 公安局 may answer, and only with its own published resources.
    did = post_demand(member, title="车辆数据", provider_id=world["gaj"])
    url = f"/workspace/demands/{did}/answers"
    gaj = sign_in(app, "officer.g")
    page(gaj, f"/workspace/demands/{did}")
    assert post(gaj, url).status_code == 422  # neither link nor decline
    no_res = post(gaj, url, {"decision": "link"})
    assert no_res.status_code == 422 and "Choose the resource" in no_res.text
    no_reason = post(gaj, url, {"decision": "decline", "reason": "  "}, lang="zh")
    assert no_reason.status_code == 422 and "理由" in no_reason.text
    foreign = post(gaj, url, {"decision": "link", "resource_id": world["mzj_pub"]})
    assert foreign.status_code == 403 and "own unit" in foreign.text
    unpublished = post(gaj, url, {"decision": "link", "resource_id": world["draft"]})
    assert unpublished.status_code == 409 and "published" in unpublished.text
    jtj = sign_in(app, "officer.t")
    page(jtj, "/workspace/demands")
    assert 'id="cat-answer-form"' not in page(jtj, f"/workspace/demands/{did}").text
    addressee = post(jtj, url, {"decision": "decline", "reason": "无"})
    assert addressee.status_code == 403 and "another unit" in addressee.text
    not_officer = post(member, url, {"decision": "decline", "reason": "无"})
    assert not_officer.status_code == 403 and 'role="alert"' in not_officer.text
    not_requester = post(jtj, f"/workspace/demands/{did}/close")
    assert not_requester.status_code == 403
    assert demand(session, did) == {"status": "open", "answers": []}

    # The data authority may close any demand; a demand id that does not exist is a 404.
    reviewer = sign_in(app, "reviewer")
    page(reviewer, f"/workspace/demands/{did}")
    assert post(reviewer, f"/workspace/demands/{did}/close").status_code == 200
    assert post(reviewer, "/workspace/demands/nothing/close").status_code == 404
    assert reviewer.get("/workspace/demands/nothing").status_code == 404
    anonymous = TestClient(app).get("/workspace/demands", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=/workspace/demands")


def test_the_demand_list_paginates(app: Any, world: dict[str, Any], session: Session) -> None:
    from yaosu.identity.service import auth_service, token_service

    user = auth_service.authenticate(session, "member.m", "correct horse battery")
    who = token_service.subject_of(user, frozenset({"catalog:write"}), None, "t")
    for n in range(23):
        demand_service.post(
            session, who, schemas.DemandCreate(title=f"需求{n:02d}", description="d")
        )
    session.commit()
    member = sign_in(app, "member.m")
    first = page(member, "/workspace/demands").text
    assert first.count("data-demand=") == 20 and 'id="cat-demand-pager"' in first
    assert "共 23 项" in first
    second = page(member, "/workspace/demands?page=2&lang=en").text
    assert second.count("data-demand=") == 3 and "Page 2 of 2" in second
    assert page(member, "/workspace/demands?page=x&status=bogus").text.count("data-demand=") == 20


# --- census and acceptance ---------------------------------------------------------------------
def test_the_census_counts_by_status_attribute_and_unit(app: Any, world: dict[str, Any]) -> None:
    reviewer = sign_in(app, "reviewer")
    html = page(reviewer, "/workspace/census?lang=en").text
    assert re.search(r'data-figure="total">5<', html)
    assert re.search(r'data-figure="published">3<', html)
    assert re.search(r'data-figure="ingested">0<', html)
    assert 'id="cat-t-status"' in html and "Published" in html and "Under review" in html
    assert "公安局" in html and "民政局" in html and 'id="cat-by-unit-data"' in html
    assert 'href="/api/v1/census/export?format=csv"' in html
    # One unit: its counts, and the export of its ledger.
    gaj = page(reviewer, f"/workspace/census?org_id={world['gaj']}").text
    assert re.search(r'data-figure="total">4<', gaj) and "Scope: 公安局" in gaj
    assert f"/api/v1/census/export?format=xlsx&amp;org_id={world['gaj']}" in gaj
    csv = reviewer.get(f"/api/v1/census/export?format=csv&org_id={world['gaj']}")
    assert csv.status_code == 200 and "机动车登记信息" in csv.content.decode("utf-8-sig")
    # A unit sees the city's published catalog and its own entries (as the API counts).
    mzj = page(sign_in(app, "officer.m"), "/workspace/census").text
    assert re.search(r'data-figure="total">3<', mzj)
    auditor = page(sign_in(app, "auditor"), "/workspace/census").text
    assert re.search(r'data-figure="total">5<', auditor)
    anonymous = TestClient(app).get("/workspace/census", follow_redirects=False)
    assert anonymous.status_code == 303


def test_the_acceptance_check_names_what_is_missing(app: Any, world: dict[str, Any]) -> None:
    reviewer = sign_in(app, "reviewer")
    form = page(reviewer, "/workspace/census?tab=acceptance").text
    assert 'id="cat-acceptance-form"' in form and 'id="cat-acceptance"' not in form
    assert '<option value="交管业务系统">' in form and '<option value="人口综合库">' in form
    traffic = page(reviewer, "/workspace/census?tab=acceptance&system=交管业务系统&lang=en").text
    assert 'data-passed="false"' in traffic and "Not passed" in traffic
    rows = dict(re.findall(r'data-resource="(\w+)" data-ok="(\w+)"', traffic))
    assert rows == {world["other"]: "false", world["draft"]: "false"}
    assert "not published, no data ingested, not registered" in traffic  # the draft
    assert 'data-criterion="registered" data-pass="true"' in traffic  # the published one
    unknown = page(reviewer, f"/workspace/census?tab=acceptance&system={XSS}").text
    assert 'id="cat-acceptance-none"' in unknown and ESCAPED in unknown and XSS not in unknown
    long = reviewer.get("/workspace/census?tab=acceptance&system=" + "x" * 201)
    assert long.status_code == 422 and 'role="alert"' in long.text


# --- pulls, schedules, retries -----------------------------------------------------------------
@pytest.fixture
def source_db(tmp_path: Path) -> str:
    db = tmp_path / "source.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE people (sfzh TEXT, xm TEXT, nl INTEGER)")
    con.executemany(
        "INSERT INTO people VALUES (?, ?, ?)",
        [(f"37060219900101{i:04d}", f"李{i}", 30 + i % 10) for i in range(40)],
    )
    con.commit()
    con.close()
    return f"sqlite:///{db}"


def test_pulls_run_now_or_on_a_schedule_and_never_show_a_password(
    app: Any, world: dict[str, Any], session: Session, source_db: str
) -> None:
    rid = world["pub"]
    url = f"/workspace/resources/{rid}/pulls"
    officer = sign_in(app, "officer.g")
    assert 'id="cat-pulls-link"' in page(officer, f"/workspace/resources/{rid}").text
    html = page(officer, url).text
    assert 'id="cat-pull-form"' in html and 'id="cat-no-jobs"' in html

    done = post(officer, url, {"kind": "sql", "url": source_db, "table": "people"})
    assert done.status_code == 200, done.text
    assert (
        "it is now: Succeeded" in done.text
        and 'id="cat-pull-tables" hx-swap-oob="true"' in done.text
    )
    assert jobs_of(session, rid) == [("sql", "succeeded")]

    # A database behind a password: the job fails to connect; the page shows *** only.
    guarded = f"postgresql+psycopg://etl:{SECRET}@pg.example:9/population"
    failed = post(officer, url, {"kind": "sql", "url": guarded, "query": "SELECT 1"})
    assert failed.status_code == 200 and "Failed" in failed.text
    assert SECRET not in failed.text and "etl:***@pg.example:9" in failed.text
    scheduled = post(
        officer, url, {"kind": "sql", "url": guarded, "table": "people", "cron": " 0  3 * * * "}
    )
    assert scheduled.status_code == 200 and "Scheduled (0 3 * * *)" in scheduled.text
    assert SECRET not in scheduled.text
    http = post(
        officer,
        url,
        {"kind": "http", "url": "https://data.example.cn/stops.csv", "cron": "*/30 * * * *"},
        lang="zh",
    )
    assert http.status_code == 200 and "已创建定时拉取" in http.text
    assert schedules_of(session, rid) == ["*/30 * * * *", "0 3 * * *"]
    full = page(officer, f"{url}?lang=en").text
    assert SECRET not in full and full.count("data-schedule=") == 2
    assert "https://data.example.cn/stops.csv" in full and 'data-status="succeeded"' in full
    # Nor does the ledger keep it.
    entries, _ = ledger_service.trail(session, rid, 50, 0)
    assert entries and all(SECRET.encode() not in e.entry for e in entries)
    session.rollback()

    # The data authority sees the page but has no form; another unit is refused.
    staff = page(sign_in(app, "reviewer"), url).text
    assert 'id="cat-pull-form"' not in staff and 'data-status="succeeded"' in staff
    refused = sign_in(app, "officer.m").get(url)
    assert refused.status_code == 403 and 'role="alert"' in refused.text
    assert (
        'id="cat-pulls-link"'
        not in page(sign_in(app, "officer.m"), f"/workspace/resources/{rid}").text
    )


def test_pull_forms_refuse_bad_input_clearly_and_change_nothing(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    rid = world["pub"]
    url = f"/workspace/resources/{rid}/pulls"
    officer = sign_in(app, "officer.g")
    page(officer, url)
    http = {"kind": "http", "url": "http://data.example:9/x.csv"}
    cron = post(officer, url, {**http, "cron": "every day"})
    assert cron.status_code == 422 and "Invalid cron expression" in cron.text
    cron_zh = post(officer, url, {**http, "cron": f"{XSS}"}, lang="zh")
    assert cron_zh.status_code == 422 and "无效的 cron 表达式" in cron_zh.text
    assert "<script>" not in cron_zh.text
    for bad in ("not a url", "ftp://data.example.cn/x.csv", "http:///x.csv"):
        r = post(officer, url, {"kind": "http", "url": bad})
        assert r.status_code == 422 and "Not an HTTP address" in r.text, bad
    zh = post(officer, url, {"kind": "http", "url": "file:///etc/passwd"}, lang="zh")
    assert zh.status_code == 422 and "HTTP 地址无效" in zh.text
    sql = {"kind": "sql", "table": "people"}
    nonsense = post(officer, url, {**sql, "url": "nonsense"})
    assert nonsense.status_code == 422 and "Not a database URL" in nonsense.text
    port = post(officer, url, {**sql, "url": f"postgresql+psycopg://u:{SECRET}@h:xx/db"})
    assert port.status_code == 422 and SECRET not in port.text
    own = f"sqlite:///{get_settings().data_dir / 'yaosu.db'}"
    store = post(officer, url, {**sql, "url": own})
    assert store.status_code == 403 and "own database or data directory" in store.text
    store_zh = post(officer, url, {**sql, "url": own}, lang="zh")
    assert store_zh.status_code == 403 and "不能从本节点自身的数据库" in store_zh.text
    both = post(officer, url, {**sql, "url": "sqlite:////tmp/x.db", "query": "SELECT 1"})
    assert both.status_code == 422 and "table or a query" in both.text
    neither = post(officer, url, {"kind": "sql", "url": "sqlite:////tmp/x.db"})
    assert neither.status_code == 422
    assert post(officer, url, {"url": "http://a/x.csv"}).status_code == 422
    assert post(officer, url, {"kind": "http"}).status_code == 422
    assert jobs_of(session, rid) == [] and schedules_of(session, rid) == []

    # Other callers: a member has no such role; another unit's officer is not the provider.
    member = sign_in(app, "member.m")
    page(member, "/workspace/demands")
    assert post(member, url, http).status_code == 403
    stranger = sign_in(app, "officer.t")
    page(stranger, "/workspace/demands")
    assert post(stranger, url, http).status_code == 403
    reviewer = sign_in(app, "reviewer")
    page(reviewer, "/workspace/demands")
    assert post(reviewer, url, http).status_code == 403
    assert jobs_of(session, rid) == []


def test_a_failed_job_is_retried_once_from_the_page(
    app: Any, world: dict[str, Any], session: Session, source_db: str
) -> None:
    rid = world["pub"]
    url = f"/workspace/resources/{rid}/pulls"
    officer = sign_in(app, "officer.g")
    page(officer, url)
    failed = post(officer, url, {"kind": "http", "url": "http://data.example:9/x.csv"})
    assert failed.status_code == 200 and "Failed" in failed.text
    job_id = re.search(r'data-retry="(\w+)"', failed.text)
    assert job_id, failed.text
    retry = f"/workspace/jobs/{job_id.group(1)}/retry"
    # Others cannot retry it: a member, another unit's officer, the data authority's reviewer.
    for who in ("member.m", "officer.t", "reviewer"):
        client = sign_in(app, who)
        page(client, "/workspace/demands")
        assert post(client, retry).status_code == 403, who
    again = post(officer, retry, lang="zh")
    assert again.status_code == 200 and "已重新执行" in again.text
    assert sorted(jobs_of(session, rid)) == [("http", "failed"), ("http", "retried")]
    # The same page's button again (a stale page, a double click): one retry only.
    twice = post(officer, retry)
    assert twice.status_code == 409 and "only a failed job can be retried" in twice.text.lower()
    ok = post(officer, url, {"kind": "sql", "url": source_db, "table": "people"})
    succeeded = re.search(r'data-job="(\w+)" data-status="succeeded"', ok.text)
    assert succeeded, ok.text
    refused = post(officer, f"/workspace/jobs/{succeeded.group(1)}/retry")
    assert refused.status_code == 409 and "only a failed job can be retried" in refused.text
    assert post(officer, "/workspace/jobs/nothing/retry").status_code == 404
    assert len(jobs_of(session, rid)) == 3


# --- retiring ----------------------------------------------------------------------------------
def test_retiring_needs_a_reason_the_right_role_and_happens_once(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    rid = world["pub"]
    url = f"/workspace/resources/{rid}/retire"
    reviewer = sign_in(app, "reviewer")
    shown = page(reviewer, f"/workspace/resources/{rid}").text
    assert 'id="cat-retire-form"' in shown
    assert (
        'id="cat-retire-form"'
        in page(sign_in(app, "officer.g"), f"/workspace/resources/{rid}").text
    )
    for who in ("member.m", "officer.m", "auditor"):
        client = sign_in(app, who)
        assert 'id="cat-retire-form"' not in page(client, f"/workspace/resources/{rid}").text
        assert post(client, url, {"reason": "不再维护"}).status_code == 403, who
    missing = post(reviewer, url, {"reason": "  "})
    assert missing.status_code == 422 and "needs a reason" in missing.text
    missing_zh = post(reviewer, url, lang="zh")
    assert missing_zh.status_code == 422 and "须说明理由" in missing_zh.text
    assert resource_state(session, rid) == "published"

    done = post(reviewer, url, {"reason": f"系统下线{XSS}"})
    assert done.status_code == 200, done.text
    assert ESCAPED in done.text and XSS not in done.text
    assert 'id="res-status" data-status="retired" hx-swap-oob="true"' in done.text
    assert resource_state(session, rid) == "retired"
    twice = post(reviewer, url, {"reason": "再次"})
    assert twice.status_code == 409 and "already retired" in twice.text
    twice_zh = post(reviewer, url, {"reason": "再次"}, lang="zh")
    assert twice_zh.status_code == 409 and "已撤销" in twice_zh.text
    types = [e.type for e in ledger_service.trail(session, rid, 50, 0)[0]]
    assert types.count("catalog.resource_retired") == 1
    session.rollback()
    # A retired resource takes no pulls; its page offers no more retiring.
    officer = sign_in(app, "officer.g")
    pulls = page(officer, f"/workspace/resources/{rid}/pulls").text
    assert 'id="cat-pull-retired"' in pulls and 'id="cat-pull-form"' not in pulls
    late = post(officer, f"/workspace/resources/{rid}/pulls", {"kind": "http", "url": "http://a/x"})
    assert late.status_code == 409 and "retired" in late.text
    assert 'id="cat-retire-form"' not in page(officer, f"/workspace/resources/{rid}").text

    # A resource under review cannot be retired; the provider retires its own draft.
    stale = post(reviewer, f"/workspace/resources/{world['submitted']}/retire", {"reason": "x"})
    assert stale.status_code == 409 and "cannot be retired" in stale.text
    own = post(officer, f"/workspace/resources/{world['draft']}/retire", {"reason": "重复登记"})
    assert own.status_code == 200 and resource_state(session, world["draft"]) == "retired"
    other_unit = sign_in(app, "officer.m")
    page(other_unit, "/workspace/demands")
    foreign = post(other_unit, f"/workspace/resources/{world['mzj_pub']}/retire", {"reason": "x"})
    assert foreign.status_code == 200  # its own resource
    assert (
        post(
            other_unit, f"/workspace/resources/{world['other']}/retire", {"reason": "x"}
        ).status_code
        == 403
    )


def test_writes_need_the_csrf_token(app: Any, world: dict[str, Any], session: Session) -> None:
    officer = sign_in(app, "officer.g")
    page(officer, "/workspace/demands")
    did = post_demand(officer, title="t")
    for url, data in (
        ("/workspace/demands", {"title": "t", "description": "d"}),
        (f"/workspace/demands/{did}/answers", {"decision": "decline", "reason": "r"}),
        (f"/workspace/demands/{did}/close", {}),
        (f"/workspace/resources/{world['pub']}/pulls", {"kind": "http", "url": "http://a/x"}),
        ("/workspace/jobs/nothing/retry", {}),
        (f"/workspace/resources/{world['pub']}/retire", {"reason": "r"}),
    ):
        r = officer.post(url, data=data, headers={"HX-Request": "true"})
        assert r.status_code == 403 and 'role="alert"' in r.text, url
        forged = officer.post(url, data=data, headers={"X-CSRF-Token": "forged"})
        assert forged.status_code == 403, url
    assert demand(session, did) == {"status": "open", "answers": []}
    assert resource_state(session, world["pub"]) == "published"
    assert jobs_of(session, world["pub"]) == []
    assert demand_service.list(session, SYSTEM, None, 10, 0)[1] == 1


def test_every_page_has_its_words_in_both_languages(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    officer = sign_in(app, "officer.g")
    did = post_demand(officer, title="t", provider_id=world["gaj"])
    post(
        officer,
        f"/workspace/resources/{world['pub']}/pulls",
        {"kind": "http", "url": "http://data.example:9/x"},
    )
    post(
        officer,
        f"/workspace/resources/{world['pub']}/pulls",
        {"kind": "http", "url": "http://a.cn/x", "cron": "0 3 * * *"},
    )
    for lang in ("zh", "en"):
        for url in (
            "/workspace/demands",
            f"/workspace/demands/{did}",
            "/workspace/census",
            "/workspace/census?tab=acceptance&system=人口综合库",
            f"/workspace/resources/{world['pub']}/pulls",
            f"/workspace/resources/{world['pub']}",
        ):
            html = page(officer, f"{url}{'&' if '?' in url else '?'}lang={lang}").text
            assert not re.search(r"\b(ws\.catalog|res\.up\.st|res\.state)\.", html), (lang, url)
