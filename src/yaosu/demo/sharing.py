"""The demo city's sharing: requests in every state, an automatic and a reviewed grant, data
returned to a district through a row filter (数据回流), a responsibility list, and real metered
calls through the data service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yaosu.identity.rules import ALL_SCOPES
from yaosu.identity.service import token_service
from yaosu.identity.subject import Subject
from yaosu.kit.timeutil import utcnow
from yaosu.models.catalog import Resource
from yaosu.models.identity import Organization, User
from yaosu.sharing import schemas
from yaosu.sharing.dataservice import data_service
from yaosu.sharing.service import grant_service, request_service, responsibility_service

CITY = "示范市"


def _user(session: Session, username: str) -> Subject:
    user = session.execute(select(User).where(User.username == username)).scalar_one()
    return token_service.subject_of(user, ALL_SCOPES, None, "demo")


def _resource(session: Session, name: str) -> Resource:
    return session.execute(select(Resource).where(Resource.name == name)).scalar_one()


def _ask(resource: Resource, fields: list[str], purpose: str, text: str) -> Any:
    return schemas.ShareRequestCreate(
        resource_id=resource.id,
        fields=fields,
        purpose=purpose,
        purpose_text=text,
        legal_basis="《政务数据共享条例》第十二条",
        term_days=365,
    )


def load(session: Session, orgs: dict[str, Organization]) -> dict[str, str]:
    """File and decide the demo requests; returns the ids of the two demo grants."""
    system = Subject.system(via="demo")
    mzj = _user(session, "officer.mzj")
    dc = _user(session, "officer.dc")
    rsj = _user(session, "officer.rsj")
    gaj = _user(session, "officer.gaj")
    reviewer = _user(session, "reviewer")
    homes = _resource(session, "养老机构名录")
    insurance = _resource(session, "社会保险参保信息")
    people = _resource(session, "常住人口基本信息")
    hospitals = _resource(session, "医疗机构执业许可信息")

    # Automatic: general grade, unconditional, a government consumer (001-5).
    auto = request_service.submit(
        session,
        gaj,
        _ask(homes, ["jgmc", "dz", "cws"], "public_safety", "养老机构消防安全检查"),
    )
    # Reviewed by both, narrowed to one district: the data returns to 东城区 (数据回流).
    back = request_service.submit(
        session,
        dc,
        _ask(insurance, ["sfzh", "xz", "cbzt", "qh"], "data_return", "东城区社保参保数据回流"),
    )
    request_service.decide(
        session,
        rsj,
        back.id,
        schemas.Decision(
            approve=True,
            reason="同意回流本区数据",
            narrowing=schemas.Narrowing(masking={"sfzh": {"op": "mask", "format": "resident_id"}}),
        ),
    )
    request_service.decide(
        session,
        reviewer,
        back.id,
        schemas.Decision(
            approve=True,
            reason="仅限东城区",
            narrowing=schemas.Narrowing(
                row_filter=[
                    {
                        "leftOperand": "yaosu:row.qh",
                        "operator": "isAnyOf",
                        "rightOperand": ["370602"],  # 东城区 (region codes are text)
                    }
                ],
                rows_per_day=10_000,
                calls_per_day=1_000,
            ),
        ),
    )
    # Refused by the rules: the population base data is important data.
    request_service.submit(
        session, mzj, _ask(people, ["sfzh", "xm"], "social_security", "低保资格核验")
    )
    # Waiting for the provider, and waiting for the authority.
    request_service.submit(
        session, mzj, _ask(insurance, ["sfzh", "cbzt"], "social_security", "困难群众参保核查")
    )
    waiting = request_service.submit(
        session, gaj, _ask(insurance, ["sfzh", "xz"], "public_safety", "流动人口服务管理")
    )
    request_service.decide(session, rsj, waiting.id, schemas.Decision(approve=True))
    # Refused by the provider, and withdrawn by the requester.
    no = request_service.submit(
        session, mzj, _ask(insurance, ["sfzh", "jfjs"], "statistics", "收入结构分析")
    )
    request_service.decide(
        session,
        rsj,
        no.id,
        schemas.Decision(approve=False, reason="缴费基数属敏感信息，统计分析请使用汇总数据"),
    )
    gone = request_service.submit(
        session, dc, _ask(insurance, ["sfzh", "cbzt"], "social_security", "辖区参保摸底")
    )
    request_service.withdraw(session, dc, gone.id)
    # A second automatic grant: a district reads the city's licensed medical institutions.
    request_service.submit(
        session, dc, _ask(hospitals, ["jgmc", "dz"], "public_health", "辖区医疗资源摸底")
    )
    # The human-resources bureau's responsibility list, one item done, one overdue.
    rs_org = orgs[f"{CITY}人力资源和社会保障局"].id
    responsibility_service.add(
        session,
        system,
        schemas.ResponsibilityCreate(
            org_id=rs_org,
            name="社会保险参保信息",
            basis="示范市政务数据共享责任清单（2026年版）",
            due_at=utcnow() + timedelta(days=30),
            resource_id=insurance.id,
        ),
    )
    responsibility_service.add(
        session,
        system,
        schemas.ResponsibilityCreate(
            org_id=rs_org,
            name="就业登记信息",
            basis="示范市政务数据共享责任清单（2026年版）",
            due_at=utcnow() - timedelta(days=15),
        ),
    )
    assert auto.grant_id and back.grant_id
    grant_service.get(session, system, auto.grant_id)
    return {"auto": auto.grant_id, "data_return": back.grant_id}


def exercise(sessions: Callable[[bool], Session], grants: dict[str, str]) -> int:
    """Real, metered calls through the data service (after the demo is committed): the public
    security bureau reads the care homes; 东城区 reads its returned rows. Returns calls made."""
    calls = 0
    for grant_key, username, fmt in (
        ("auto", "officer.gaj", "json"),
        ("auto", "officer.gaj", "csv"),
        ("data_return", "officer.dc", "json"),
        ("data_return", "officer.dc", "arrow"),
    ):
        s = sessions(False)  # a read session, like a GET request; metering writes on its own
        try:
            subject = _user(s, username)
            body = data_service.rows(
                sessions,
                s,
                subject,
                grants[grant_key],
                fields=None,
                params={},
                purpose=None,
                order=[],
                limit=50,
                cursor=None,
                fmt=fmt,
            )
            for _ in body:
                pass
            s.commit()
            calls += 1
        finally:
            s.close()
    return calls
