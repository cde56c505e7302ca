"""The sharing loop through the services on both databases: routing (refused, automatic,
reviewed), narrowing by reviewers, grants and their lifecycle, subscriptions with signed
webhooks, responsibility lists — each state change in the ledger."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.identity import SYSTEM, create_org, create_user
from yaosu.catalog.service import dataset_service
from yaosu.catalog.tasks import run_in_session
from yaosu.identity.rules import ALL_SCOPES
from yaosu.identity.service import token_service
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from yaosu.kit.timeutil import utcnow
from yaosu.ledger.service import ledger_service
from yaosu.models import Subscription
from yaosu.policy.model import parse_policy
from yaosu.sharing import schemas, webhook
from yaosu.sharing.service import (
    grant_service,
    overdue,
    request_service,
    responsibility_service,
    subscription_service,
)


def as_user(user: Any) -> Subject:
    return token_service.subject_of(user, ALL_SCOPES, None, "test")


def trail(session: Session, subject_id: str) -> list[str]:
    entries, _ = ledger_service.trail(session, subject_id, 500, 0)
    return [e.type for e in entries]


def ingest(session: Session, resource_id: str, rows: int = 60, seed: int = 7) -> Any:
    job = dataset_service.stage_upload(
        session,
        SYSTEM,
        resource_id,
        "p.csv",
        lambda p: p.write_bytes(csv_bytes(people_rows(rows, seed))),
        {},
    )
    job = run_in_session(session, job.id)
    assert job.status == "succeeded", job.error
    return dataset_service.version(session, SYSTEM, job.version_id or "")


@pytest.fixture
def city(session: Session) -> dict[str, Any]:
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    bureau = create_org(session, "大数据局")
    firm = create_org(session, "某科技公司", kind="enterprise")
    open_res = create_resource(session, gaj, publish=True, share_attribute="unconditional")
    cond_res = create_resource(
        session,
        gaj,
        publish=True,
        name="户籍人口信息",
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
    for r in (open_res, cond_res):
        ingest(session, r.id)
    return dict(
        gaj=gaj,
        mzj=mzj,
        open=open_res,
        cond=cond_res,
        closed=closed,
        provider=as_user(create_user(session, gaj, "officer.gaj", "data_officer")),
        consumer=as_user(create_user(session, mzj, "officer.mzj", "data_officer")),
        reviewer=as_user(create_user(session, bureau, "reviewer", "reviewer")),
        firm=as_user(create_user(session, firm, "dev.firm", "data_officer")),
    )


def ask(resource: Any, **kw: Any) -> schemas.ShareRequestCreate:
    data: dict[str, Any] = dict(
        resource_id=resource.id,
        fields=["sfzh", "xm", "zz"],
        purpose="one_thing",
        purpose_text="新生儿出生一件事",
        legal_basis="《政务数据共享条例》",
        term_days=180,
    )
    data.update(kw)
    return schemas.ShareRequestCreate(**data)


def test_general_unconditional_request_is_approved_automatically(
    session: Session, city: Any
) -> None:
    req = request_service.submit(session, city["consumer"], ask(city["open"]))
    assert req.status == "approved" and req.auto_approved and req.grant_id
    grant = grant_service.get(session, city["consumer"], req.grant_id)
    terms = parse_policy(grant.policy).terms
    assert terms.fields == ("sfzh", "xm", "zz")
    assert terms.purposes == frozenset({"one_thing"})
    assert set(terms.masked) == {"sfzh"}  # the sensitive field is masked by default
    assert (grant.not_after - grant.not_before).days == 180
    types = trail(session, req.id)
    assert types[:2] == ["sharing.request_submitted", "sharing.request_auto_approved"]
    assert "sharing.grant_issued" in trail(session, grant.id)


def test_conditional_request_needs_both_reviews_and_they_may_narrow(
    session: Session, city: Any
) -> None:
    req = request_service.submit(session, city["consumer"], ask(city["cond"]))
    assert req.status == "provider_review" and req.deadline_at is not None
    assert not overdue(req)
    approve = schemas.Decision(
        approve=True,
        narrowing=schemas.Narrowing(
            fields=["sfzh", "xm"],
            masking={"xm": {"op": "mask", "format": "person_name"}},
            term_days=90,
        ),
    )
    with pytest.raises(Forbidden):  # not the provider's officer
        request_service.decide(session, city["consumer"], req.id, approve)
    with pytest.raises(Forbidden):  # the authority comes second
        request_service.decide(session, city["reviewer"], req.id, approve)
    with pytest.raises(Invalid) as widen:
        request_service.decide(
            session,
            city["provider"],
            req.id,
            schemas.Decision(approve=True, narrowing=schemas.Narrowing(fields=["sjhm"])),
        )
    assert widen.value.code == "fields_not_requested"
    req = request_service.decide(session, city["provider"], req.id, approve)
    assert req.status == "authority_review" and req.grant_id is None
    row_filter = [{"leftOperand": "yaosu:row.zz", "operator": "isNoneOf", "rightOperand": ["无"]}]
    req = request_service.decide(
        session,
        city["reviewer"],
        req.id,
        schemas.Decision(
            approve=True,
            narrowing=schemas.Narrowing(row_filter=row_filter, rows_per_day=1000),
        ),
    )
    assert req.status == "approved" and not req.auto_approved
    terms = parse_policy(grant_service.get(session, city["provider"], req.grant_id or "").policy)
    assert terms.terms.fields == ("sfzh", "xm")
    # Every personal field is masked by default after a review (sfzh by its default rule).
    assert terms.terms.masked == {"sfzh": "mask", "xm": "mask"}
    assert terms.terms.quota.rows_per_day == 1000 and len(terms.terms.row_filter) == 1
    with pytest.raises(Conflict):
        request_service.decide(session, city["reviewer"], req.id, approve)
    assert trail(session, req.id).count("sharing.request_approved_by_provider") == 1


def test_refusals_name_their_reason(session: Session, city: Any) -> None:
    req = request_service.submit(session, city["consumer"], ask(city["closed"], fields=["sfzh"]))
    assert req.status == "rejected" and req.refusal is not None
    assert req.refusal["code"] == "not_shared" and "刑事诉讼法" in req.refusal["message_zh"]
    city["open"].grade = "important"
    req = request_service.submit(session, city["consumer"], ask(city["open"]))
    assert req.refusal and req.refusal["code"] == "important_data_computation_only"
    with pytest.raises(Forbidden) as exc:
        request_service.submit(session, city["firm"], ask(city["cond"]))
    assert exc.value.code == "not_a_sharing_party"
    with pytest.raises(Invalid) as unknown:
        request_service.submit(session, city["consumer"], ask(city["cond"], fields=["nope"]))
    assert unknown.value.code == "unknown_fields"
    with pytest.raises(Conflict):
        request_service.submit(session, city["provider"], ask(city["cond"]))  # its own
    refuse = schemas.Decision(approve=False)
    pending = request_service.submit(session, city["consumer"], ask(city["cond"]))
    with pytest.raises(Invalid):
        request_service.decide(session, city["provider"], pending.id, refuse)
    done = request_service.decide(
        session, city["provider"], pending.id, schemas.Decision(approve=False, reason="用途不符")
    )
    assert done.status == "rejected"


def test_withdraw_and_expiry(session: Session, city: Any) -> None:
    a = request_service.submit(session, city["consumer"], ask(city["cond"]))
    with pytest.raises(Forbidden):
        request_service.withdraw(session, city["provider"], a.id)
    assert request_service.withdraw(session, city["consumer"], a.id).status == "withdrawn"
    b = request_service.submit(session, city["consumer"], ask(city["cond"]))
    assert overdue(b, utcnow() + timedelta(days=6))
    assert request_service.expire_lapsed(session, utcnow() + timedelta(days=10)) == 0
    assert request_service.expire_lapsed(session, utcnow() + timedelta(days=40)) == 1
    assert b.status == "expired"


def test_grant_lifecycle(session: Session, city: Any) -> None:
    req = request_service.submit(session, city["consumer"], ask(city["open"]))
    gid = req.grant_id or ""
    with pytest.raises(Forbidden):
        grant_service.change(session, city["consumer"], gid, "suspended", "x")
    g = grant_service.change(session, city["provider"], gid, "suspended", "核查中")
    assert g.status == "suspended"
    assert grant_service.change(session, city["reviewer"], gid, "active", "核查完毕").status == (
        "active"
    )
    assert grant_service.change(session, city["provider"], gid, "revoked", "停用").status == (
        "revoked"
    )
    with pytest.raises(Conflict):
        grant_service.change(session, city["provider"], gid, "active", "再用")
    types = trail(session, gid)
    for t in ("sharing.grant_suspended", "sharing.grant_resumed", "sharing.grant_revoked"):
        assert t in types


def test_subscribers_get_a_signed_webhook_for_each_new_version(session: Session, city: Any) -> None:
    req = request_service.submit(
        session, city["consumer"], ask(city["open"], delivery_mode="subscription")
    )
    gid = req.grant_id or ""
    with pytest.raises(Forbidden):
        subscription_service.subscribe(session, city["provider"], gid, "https://example.cn/h")
    sub, secret = subscription_service.subscribe(
        session, city["consumer"], gid, "https://mzj.example.cn/hook"
    )
    version = ingest(session, city["open"].id, rows=10, seed=9)
    got: list[tuple[str, bytes, dict[str, str]]] = []

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        got.append((url, body, headers))
        return 200

    assert subscription_service.deliver_pending(session, post) == 1
    url, body, headers = got[0]
    assert url == "https://mzj.example.cn/hook"
    webhook.verify(secret.encode(), body, headers[webhook.HEADER])
    payload = json.loads(body)
    assert payload["version_id"] == version.id and payload["grant_id"] == gid
    with pytest.raises(Unauthenticated) as forged:
        webhook.verify(b"forged-secret-forged-secret", body, headers[webhook.HEADER])
    assert forged.value.code == "bad_signature"
    assert subscription_service.deliver_pending(session, post) == 0  # delivered once
    assert "sharing.webhook_delivered" in trail(session, gid)

    failing: list[int] = []

    def down(url: str, body: bytes, headers: dict[str, str]) -> int:
        failing.append(1)
        raise OSError("connection refused")

    ingest(session, city["open"].id, rows=5, seed=11)
    for _ in range(6):
        subscription_service.deliver_pending(session, down)
    assert len(failing) == 5  # five attempts, then marked failed
    assert sub.active


def test_a_webhook_url_longer_than_the_column_is_refused_before_anything_is_stored(
    session: Session, city: Any
) -> None:
    req = request_service.submit(session, city["consumer"], ask(city["open"]))
    gid = req.grant_id or ""
    before = session.scalar(select(func.count()).select_from(Subscription))
    with pytest.raises(Invalid) as refused:
        subscription_service.subscribe(
            session, city["consumer"], gid, "https://mzj.example.cn/" + "a" * 480
        )
    assert refused.value.code == "url_too_long" and "503 characters" in refused.value.message
    assert session.scalar(select(func.count()).select_from(Subscription)) == before
    sub, _ = subscription_service.subscribe(
        session, city["consumer"], gid, "https://mzj.example.cn/" + "a" * 477
    )
    assert len(sub.url) == 500


def test_a_grants_subscriptions_and_deliveries_are_listed_for_its_readers(
    session: Session, city: Any
) -> None:
    req = request_service.submit(session, city["consumer"], ask(city["open"]))
    gid = req.grant_id or ""
    sub, _ = subscription_service.subscribe(
        session, city["consumer"], gid, "https://mzj.example.cn/hook"
    )
    ingest(session, city["open"].id, rows=5, seed=3)
    subscription_service.deliver_pending(session, lambda url, body, headers: 503)
    for reader in ("consumer", "provider", "reviewer"):
        grant, subs, deliveries = subscription_service.of_grant(session, city[reader], gid)
        assert grant.id == gid and [s.id for s in subs] == [sub.id]
        [d] = deliveries
        assert (d.status, d.attempts, d.last_error) == ("pending", 1, "HTTP 503")
    with pytest.raises(NotFound):  # a unit on neither side of the grant
        subscription_service.of_grant(session, city["firm"], gid)


def test_responsibility_list(session: Session, city: Any) -> None:
    item = responsibility_service.add(
        session,
        city["reviewer"],
        schemas.ResponsibilityCreate(
            org_id=city["gaj"].id,
            name="常住人口基本信息",
            basis="共享责任清单（2026）",
            due_at=utcnow() - timedelta(days=1),
        ),
    )
    with pytest.raises(Forbidden):
        responsibility_service.add(
            session,
            city["provider"],
            schemas.ResponsibilityCreate(org_id=city["gaj"].id, name="x", due_at=utcnow()),
        )
    request_service.submit(session, city["consumer"], ask(city["cond"]))
    listing = responsibility_service.listing(session, city["provider"], None)
    assert listing.overdue_items == 1 and listing.published_resources == 3
    assert listing.overdue_requests == []  # the request is not late yet
    with pytest.raises(Forbidden):
        responsibility_service.listing(session, city["consumer"], city["gaj"].id)
    unitless = Subject("u1", "nobody", None, "active", frozenset({"member"}), frozenset())
    with pytest.raises(Forbidden):  # no unit of its own: not the whole city's list either
        responsibility_service.listing(session, unitless, None)
    linked = responsibility_service.fulfil(session, city["provider"], item.id, city["open"].id)
    assert linked.fulfilled_at is not None
    assert responsibility_service.listing(session, city["provider"], None).overdue_items == 0
