"""Open-data operations in the workspace over HTTP, on both databases: a providing unit's data
officer answers a public demand 问需于民 linking its open dataset, the data authority declines
one with the reason, and shows or hides the reuses people submit.

Unhappy paths: roles that never answer or decide (403), another unit's dataset, unknown
demands and datasets, a missing answer or reason, answering twice and deciding a decided reuse
(409 with the service's message), XSS in demand and reuse text, and writes without CSRF."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.identity import create_org, create_user
from tests.fixtures.web import sign_in
from yaosu.ledger.service import ledger_service
from yaosu.models.opendata import PublicDemand, Reuse
from yaosu.opendata import schemas
from yaosu.opendata.service import demand_service, reuse_service

XSS = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


def post(client: Any, url: str, data: Any = None, csrf: bool = True) -> Any:
    """A form post as htmx sends it: the CSRF cookie echoed in the header."""
    headers = {"HX-Request": "true"}
    if csrf:
        headers["X-CSRF-Token"] = client.cookies.get("yaosu_csrf")
    return client.post(url, data=data, headers=headers)


def alert(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>(.*?)</', html, re.S)
    assert found, html[:400]
    return unescape(found.group(1)).strip()


def state(session: Session, model: Any, ident: str) -> tuple[str, Any]:
    """A record's status as the app committed it (the test's transaction ends at once)."""
    session.rollback()
    row = session.get(model, ident)
    assert row is not None
    found = (row.status, getattr(row, "resource_id", None))
    session.rollback()
    return found


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    bureau = create_org(session, "大数据局")
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    audit = create_org(session, "审计局", kind="regulator")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, bureau, "admin", "platform_admin")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, gaj, "cdo.g", "cdo")
    create_user(session, gaj, "member.g", "member")
    create_user(session, mzj, "officer.m", "data_officer")
    create_user(session, audit, "auditor", "auditor")
    ours = create_resource(
        session, gaj, publish=True, name="交通违法处理网点", open_attribute="unconditional"
    )
    theirs = create_resource(
        session, mzj, publish=True, name="养老机构名录", open_attribute="unconditional"
    )
    demand = demand_service.post(
        session,
        None,
        schemas.DemandCreate(
            title=f"{XSS}希望开放违法处理网点",
            description=f"说明{XSS}：需要网点地址和办公时间",
            wanted_fields=[f"{XSS}地址", "办公时间"],
            requester_name=f"{XSS}市民",
            contact="13800000000",
        ),
    )
    other = demand_service.post(
        session, None, schemas.DemandCreate(title="公交到站数据", description="需要实时到站数据")
    )
    reuse = reuse_service.submit(
        session,
        None,
        schemas.ReuseCreate(
            title=f"{XSS}办事地图",
            kind="app",
            url="https://map.example.cn/?q=<b>",
            description=f"{XSS}基于开放数据的地图",
            resource_ids=[ours.id],
            author=f"{XSS}开发者",
        ),
    )
    second = reuse_service.submit(
        session,
        None,
        schemas.ReuseCreate(
            title="养老地图", kind="visualization", resource_ids=[theirs.id], author="某大学"
        ),
    )
    session.commit()
    return {
        "ours": ours,
        "theirs": theirs,
        "demand": demand.id,
        "other": other.id,
        "reuse": reuse.id,
        "second": second.id,
    }


def answer_url(demand_id: str) -> str:
    return f"/workspace/open/demands/{demand_id}/answer"


def decision_url(reuse_id: str) -> str:
    return f"/workspace/open/reuses/{reuse_id}/decision"


# --- the page ----------------------------------------------------------------------------------
def test_a_provider_sees_demands_escaped_and_not_the_reuse_queue(
    app: Any, world: dict[str, Any]
) -> None:
    g = sign_in(app, "officer.g")
    page = g.get("/workspace/open")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'href="/workspace/open" aria-current="page"' in html
    assert f'id="opn-dem-{world["demand"]}"' in html and f'id="opn-dem-{world["other"]}"' in html
    assert "<script>alert" not in html
    assert f"{ESCAPED}希望开放违法处理网点" in html and f"说明{ESCAPED}" in html
    assert f"{ESCAPED}地址" in html and f"{ESCAPED}市民" in html
    assert "13800000000" not in html  # the requester's contact is never shown
    assert 'data-tab="reuses"' not in html
    # The answer form offers the unit's own open datasets.
    datalist = html[html.index('<datalist id="opn-datasets">') : html.index("</datalist>")]
    assert world["ours"].code in datalist and world["theirs"].code not in datalist
    refused = g.get("/workspace/open?tab=reuses")
    assert refused.status_code == 403 and "成果审核由数据主管部门负责" in unescape(refused.text)
    english = g.get("/workspace/open?lang=en").text
    assert "Requests to answer" in english and "Open-data operations" in english


def test_the_data_authority_sees_both_queues(app: Any, world: dict[str, Any]) -> None:
    r = sign_in(app, "reviewer")
    html = r.get("/workspace/open?tab=reuses").text
    assert 'id="opn-count-demands" data-count="2"' in html
    assert 'id="opn-count-reuses" data-count="2"' in html
    assert "<script>alert" not in html and "<b>" not in html
    assert f"{ESCAPED}办事地图" in html and f"{ESCAPED}开发者" in html
    assert f"{ESCAPED}基于开放数据的地图" in html
    assert 'href="https://map.example.cn/?q=&lt;b&gt;"' in html and 'rel="noopener' in html
    assert f'<a href="/datasets/{world["ours"].id}">交通违法处理网点</a>' in html
    datalist = r.get("/workspace/open").text
    assert world["theirs"].code in datalist and world["ours"].code in datalist


@pytest.mark.parametrize("username", ["member.g", "auditor"])
def test_roles_that_never_answer_are_refused(
    app: Any, session: Session, world: dict[str, Any], username: str
) -> None:
    c = sign_in(app, username)
    assert c.get("/workspace/open").status_code == 403
    r = post(c, answer_url(world["demand"]), {"outcome": "answered", "answer": "x"})
    assert r.status_code == 403 and 'role="alert"' in r.text
    d = post(c, decision_url(world["reuse"]), {"decision": "show"})
    assert d.status_code == 403
    assert state(session, PublicDemand, world["demand"])[0] == "open"
    assert state(session, Reuse, world["reuse"])[0] == "pending"


# --- answering demands -------------------------------------------------------------------------
def test_a_provider_answers_linking_its_dataset_once(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    g = sign_in(app, "officer.g")
    r = post(
        g,
        answer_url(world["demand"]),
        {"outcome": "answered", "answer": f"已开放{XSS}，见数据集", "dataset": world["ours"].code},
    )
    assert r.status_code == 200, r.text
    assert r.headers["HX-Retarget"] == f"#opn-dem-{world['demand']}"
    assert r.headers["HX-Reswap"] == "outerHTML"
    assert 'data-outcome="answered"' in r.text and "交通违法处理网点" in r.text
    assert "<script>alert" not in r.text and f"已开放{ESCAPED}" in r.text
    assert 'id="opn-count-demands" data-count="1" hx-swap-oob="true"' in r.text
    assert state(session, PublicDemand, world["demand"]) == ("answered", world["ours"].id)
    entries, _ = ledger_service.trail(session, world["demand"], 10, 0)
    assert "opendata.demand_answered" in [e.type for e in entries]
    session.rollback()

    # Public at once; gone from the queue.
    public = g.get(f"/api/v1/open/demands/{world['demand']}").json()
    assert public["status"] == "answered" and public["answer"].startswith("已开放")
    assert f'id="opn-dem-{world["demand"]}"' not in g.get("/workspace/open").text

    # A second answer (a stale page, a double submission): the service's conflict message.
    again = post(
        sign_in(app, "cdo.g"), answer_url(world["demand"]), {"outcome": "declined", "answer": "x"}
    )
    assert again.status_code == 409 and "该需求已答复" in alert(again.text)
    english = post(
        g, answer_url(world["demand"]) + "?lang=en", {"outcome": "declined", "answer": "x"}
    )
    assert "answered already" in alert(english.text)
    assert state(session, PublicDemand, world["demand"]) == ("answered", world["ours"].id)


def test_the_data_authority_declines_with_the_reason(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    r = post(
        sign_in(app, "reviewer"),
        answer_url(world["other"]),
        {"outcome": "declined", "answer": "实时到站数据暂由运营企业持有，暂不开放"},
    )
    assert r.status_code == 200, r.text
    assert 'data-outcome="declined"' in r.text and "暂不开放" in r.text
    assert state(session, PublicDemand, world["other"]) == ("declined", None)


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"answer": "x"}, 422, "请选择答复方式"),
        ({"outcome": "answered", "answer": "  "}, 422, "请填写答复内容"),
        ({"outcome": "answered", "answer": "x" * 5001}, 422, "请检查：答复（最多 5000 个字符）"),
        ({"outcome": "declined", "answer": "x", "dataset": "ours"}, 422, "不能既关联数据集"),
        (
            {"outcome": "answered", "answer": "x", "dataset": "theirs"},
            403,
            "只能关联本单位的数据集",
        ),
        ({"outcome": "answered", "answer": "x", "dataset": "10101001/999999"}, 404, ""),
    ],
)
def test_bad_answers_are_refused_clearly_and_change_nothing(
    app: Any,
    session: Session,
    world: dict[str, Any],
    form: dict[str, Any],
    status: int,
    message: str,
) -> None:
    data = dict(form)
    if data.get("dataset") in ("ours", "theirs"):
        data["dataset"] = world[data["dataset"]].code
    r = post(sign_in(app, "officer.g"), answer_url(world["demand"]), data)
    assert r.status_code == status, r.text
    assert message in alert(r.text)
    assert state(session, PublicDemand, world["demand"]) == ("open", None)


def test_unknown_demands_and_missing_csrf(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    g = sign_in(app, "officer.g")
    unknown = post(
        g, answer_url("01nothing0000000000000000"), {"outcome": "answered", "answer": "x"}
    )
    assert unknown.status_code == 404 and 'role="alert"' in unknown.text
    no_csrf = post(
        g, answer_url(world["demand"]), {"outcome": "answered", "answer": "x"}, csrf=False
    )
    assert no_csrf.status_code == 403 and "CSRF" in unescape(no_csrf.text)
    r = sign_in(app, "reviewer")
    no_csrf = post(r, decision_url(world["reuse"]), {"decision": "show"}, csrf=False)
    assert no_csrf.status_code == 403
    assert state(session, PublicDemand, world["demand"])[0] == "open"
    assert state(session, Reuse, world["reuse"])[0] == "pending"


# --- deciding reuses ---------------------------------------------------------------------------
def test_the_data_authority_shows_a_reuse_once(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    r = sign_in(app, "reviewer")
    shown = post(r, decision_url(world["reuse"]), {"decision": "show"})
    assert shown.status_code == 200, shown.text
    assert shown.headers["HX-Retarget"] == f"#opn-reuse-{world['reuse']}"
    assert 'data-outcome="shown"' in shown.text and "<script>alert" not in shown.text
    assert 'id="opn-count-reuses" data-count="1" hx-swap-oob="true"' in shown.text
    assert state(session, Reuse, world["reuse"])[0] == "shown"
    entries, _ = ledger_service.trail(session, world["reuse"], 10, 0)
    assert "opendata.reuse_shown" in [e.type for e in entries]
    session.rollback()
    listed = r.get("/api/v1/open/reuses").json()["items"]
    assert [i["id"] for i in listed] == [world["reuse"]]

    again = post(
        sign_in(app, "admin"), decision_url(world["reuse"]), {"decision": "hide", "reason": "重复"}
    )
    assert again.status_code == 409 and "该成果已审核" in alert(again.text)
    assert state(session, Reuse, world["reuse"])[0] == "shown"


def test_hiding_needs_the_reason_and_only_the_authority_decides(
    app: Any, session: Session, world: dict[str, Any]
) -> None:
    r = sign_in(app, "reviewer")
    bare = post(r, decision_url(world["second"]), {"decision": "hide", "reason": " "})
    assert bare.status_code == 422 and "不予展示时请填写理由" in alert(bare.text)
    none = post(r, decision_url(world["second"]), {"reason": "x"})
    assert none.status_code == 422 and "请选择" in alert(none.text)
    for username in ("officer.g", "cdo.g"):
        refused = post(sign_in(app, username), decision_url(world["second"]), {"decision": "show"})
        assert refused.status_code == 403, username
    unknown = post(r, decision_url("01nothing0000000000000000"), {"decision": "show"})
    assert unknown.status_code == 404
    assert state(session, Reuse, world["second"])[0] == "pending"

    hidden = post(
        r, decision_url(world["second"]), {"decision": "hide", "reason": f"链接无法访问{XSS}"}
    )
    assert hidden.status_code == 200, hidden.text
    assert 'data-outcome="rejected"' in hidden.text
    assert f"链接无法访问{ESCAPED}" in hidden.text and "<script>alert" not in hidden.text
    assert state(session, Reuse, world["second"])[0] == "rejected"


def test_every_word_of_the_area_exists_in_both_languages() -> None:
    from pathlib import Path

    from yaosu.opendata import rules
    from yaosu.web import i18n, ws_opendata

    folder = Path(i18n.__file__).parent / "templates" / "ws" / "opendata"
    used = set(re.findall(r'"(ws\.opendata\.[a-z_.]+)"', Path(ws_opendata.__file__).read_text()))
    for f in folder.glob("*.html"):
        used |= set(re.findall(r"""\bt\('([a-z_.]+)'""", f.read_text(encoding="utf-8")))
    used = {k for k in used if not k.endswith(".")}
    used |= {f"ws.opendata.{w}.{t}" for w in ("tab", "empty") for t in ws_opendata.TABS}
    used |= {f"ws.opendata.done.{s}" for s in ("answered", "declined", "shown", "rejected")}
    used |= {f"ws.opendata.state.{s}" for s in ("shown", "rejected")}
    used |= {f"demand.{s}" for s in rules.DEMAND_STATES} | {f"reuse.{k}" for k in rules.REUSE_KINDS}
    assert "ws.opendata.answer_required" in used
    missing = used - set(i18n.MESSAGES)
    assert not missing, missing
