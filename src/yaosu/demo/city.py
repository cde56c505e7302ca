"""Build the demo city through the services (so every demo record has its ledger entry)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from faker import Faker
from sqlalchemy.orm import Session

from yaosu.config import get_settings
from yaosu.demo import people
from yaosu.identity import rules, schemas
from yaosu.identity.service import admission_service, org_service, user_service
from yaosu.identity.subject import Subject
from yaosu.models.identity import Admission, Organization

CITY = ("示范市", "Demo City", "370600")
DISTRICTS = [
    ("示范市东城区", "Dongcheng District", "370602", [("东城区滨海街道", "Binhai Street")]),
    ("示范市西城区", "Xicheng District", "370603", [("西城区长安街道", "Chang'an Street")]),
    ("示范市高新区", "High-tech Zone", "370671", [("高新区创新街道", "Chuangxin Street")]),
]
# City departments; the 大数据局 is the data authority.
DEPARTMENTS = [
    ("示范市大数据局", "Big Data Bureau"),
    ("示范市公安局", "Public Security Bureau"),
    ("示范市人力资源和社会保障局", "Human Resources and Social Security Bureau"),
    ("示范市市场监督管理局", "Market Regulation Administration"),
    ("示范市卫生健康委员会", "Health Commission"),
    ("示范市交通运输局", "Transport Bureau"),
    ("示范市自然资源和规划局", "Natural Resources and Planning Bureau"),
    ("示范市医疗保障局", "Healthcare Security Administration"),
    ("示范市民政局", "Civil Affairs Bureau"),
    ("国家税务总局示范市税务局", "Taxation Bureau"),
    ("示范市住房和城乡建设局", "Housing and Urban-Rural Development Bureau"),
    ("示范市教育局", "Education Bureau"),
    ("示范市生态环境局", "Ecology and Environment Bureau"),
    ("示范市农业农村局", "Agriculture and Rural Affairs Bureau"),
    ("示范市应急管理局", "Emergency Management Bureau"),
    ("示范市统计局", "Statistics Bureau"),
]
ENTERPRISES = [
    ("示范市城市大数据运营有限公司", "Demo City Data Operations Co., Ltd.", "operator", []),
    ("示范数据交易服务有限公司", "Demo Data Brokerage Co., Ltd.", "service_provider", ["broker"]),
    ("示范公证处", "Demo Notary Office", "service_provider", ["notary"]),
    (
        "示范资产评估事务所",
        "Demo Asset Appraisal Firm",
        "service_provider",
        ["evaluator", "auditor"],
    ),
    ("示范市普惠金融科技有限公司", "Demo Inclusive Fintech Co., Ltd.", "enterprise", []),
    ("示范智慧物流有限公司", "Demo Smart Logistics Co., Ltd.", "enterprise", []),
    ("示范医疗科技股份有限公司", "Demo Medtech Co., Ltd.", "enterprise", []),
]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    org: str
    description: str


# Every other unit that provides data has its data officer 数据专管员 too, so each journey
# that needs the provider (reviews of share requests and applications, classification, demands)
# has someone to take it.
OFFICERS = {
    "示范市市场监督管理局": ("officer.scj", "市场监管局"),
    "示范市卫生健康委员会": ("officer.wjw", "卫健委"),
    "示范市交通运输局": ("officer.jtj", "交通运输局"),
    "示范市自然资源和规划局": ("officer.zrj", "自然资源和规划局"),
    "示范市医疗保障局": ("officer.ybj", "医保局"),
    "国家税务总局示范市税务局": ("officer.swj", "税务局"),
    "示范市住房和城乡建设局": ("officer.zjj", "住建局"),
    "示范市教育局": ("officer.jyj", "教育局"),
    "示范市生态环境局": ("officer.hbj", "生态环境局"),
    "示范市农业农村局": ("officer.nyj", "农业农村局"),
    "示范市应急管理局": ("officer.yjj", "应急管理局"),
    "示范市统计局": ("officer.tjj", "统计局"),
    "示范市大数据局": ("officer.dsj", "大数据局"),
}
ACCOUNTS = [
    DemoAccount("admin", "platform_admin", "示范市大数据局", "Platform admin 平台管理员"),
    DemoAccount(
        "reviewer", "reviewer", "示范市大数据局", "Data-authority reviewer 数据主管部门审核员"
    ),
    DemoAccount("cdo.gaj", "cdo", "示范市公安局", "Chief data officer 首席数据官 (公安局)"),
    DemoAccount("officer.gaj", "data_officer", "示范市公安局", "Data officer 数据专管员 (公安局)"),
    DemoAccount(
        "officer.rsj",
        "data_officer",
        "示范市人力资源和社会保障局",
        "Data officer 数据专管员 (人社局)",
    ),
    DemoAccount("member.wjw", "member", "示范市卫生健康委员会", "Member 成员 (卫健委)"),
    DemoAccount("officer.mzj", "data_officer", "示范市民政局", "Data officer 数据专管员 (民政局)"),
    DemoAccount(
        "officer.dc", "data_officer", "示范市东城区", "Data officer 数据专管员 (东城区, 数据回流)"
    ),
    DemoAccount("auditor", "auditor", "示范市审计局", "Auditor 审计员 (审计局, regulator)"),
    DemoAccount(
        "operator", "cdo", "示范市城市大数据运营有限公司", "Authorized operator 授权运营主体"
    ),
    DemoAccount(
        "broker", "cdo", "示范数据交易服务有限公司", "Data broker 数据经纪 (service provider)"
    ),
    DemoAccount("notary", "cdo", "示范公证处", "Notary 公证 (service provider)"),
    DemoAccount(
        "appraiser", "cdo", "示范资产评估事务所", "Asset appraiser 资产评估 (service provider)"
    ),
    DemoAccount("fintech", "member", "示范市普惠金融科技有限公司", "Enterprise member 企业用户"),
    *(
        DemoAccount(username, "data_officer", org, f"Data officer 数据专管员 ({short})")
        for org, (username, short) in OFFICERS.items()
    ),
    # An applicant whose admission 准入 waits in the reviewers' queue: it signs in, but its unit
    # can do nothing until a reviewer admits it.
    DemoAccount(
        "applicant",
        "cdo",
        "示范数据合规评估有限公司",
        "Applicant for admission 准入申请人 (pending until a reviewer admits it)",
    ),
]
# Applicants for admission left waiting (name, English name, kind, service types).
PENDING = [
    (
        "示范数据合规评估有限公司",
        "Demo Data Compliance Assessment Co., Ltd.",
        "service_provider",
        ["compliance_assessor"],
    ),
]


def load(session: Session, seed: int = 20261122) -> dict[str, Organization]:
    """Create the demo city. Returns organizations by Chinese name."""
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    system = Subject.system(via="demo")
    password = get_settings().demo_password
    orgs: dict[str, Organization] = {}

    def org(data: schemas.OrgCreate) -> Organization:
        orgs[data.name] = org_service.create(session, system, data)
        return orgs[data.name]

    province = org(
        schemas.OrgCreate(
            name="示范省人民政府",
            name_en="Demo Province",
            kind="government",
            gov_level="province",
            region_code="370000",
        )
    )
    city = org(
        schemas.OrgCreate(
            name=f"{CITY[0]}人民政府",
            name_en=f"{CITY[1]} Government",
            kind="government",
            gov_level="city",
            parent_id=province.id,
            region_code=CITY[2],
        )
    )
    for name, name_en in DEPARTMENTS:
        org(
            schemas.OrgCreate(
                name=name,
                name_en=name_en,
                kind="government",
                gov_level="city",
                parent_id=city.id,
                region_code=CITY[2],
            )
        )
    for name, name_en, code, streets in DISTRICTS:
        district = org(
            schemas.OrgCreate(
                name=name,
                name_en=name_en,
                kind="government",
                gov_level="district",
                parent_id=city.id,
                region_code=code,
            )
        )
        for sname, sname_en in streets:
            street = org(
                schemas.OrgCreate(
                    name=sname,
                    name_en=sname_en,
                    kind="government",
                    gov_level="street",
                    parent_id=district.id,
                    region_code=code,
                )
            )
            community = org(
                schemas.OrgCreate(
                    name=f"{sname}{fake.last_name()}家社区",
                    name_en=f"{sname_en} Community",
                    kind="government",
                    gov_level="community",
                    parent_id=street.id,
                    region_code=code,
                )
            )
            org(
                schemas.OrgCreate(
                    name=f"{community.name}第一网格",
                    name_en=f"{sname_en} Grid 1",
                    kind="government",
                    gov_level="grid",
                    parent_id=community.id,
                    region_code=code,
                )
            )
    org(
        schemas.OrgCreate(
            name="示范市审计局", name_en="Audit Bureau", kind="regulator", region_code=CITY[2]
        )
    )
    org(
        schemas.OrgCreate(
            name="示范市信息技术研究院",
            name_en="Demo IT Research Institute",
            kind="institution",
            uscc=people.uscc(rng, CITY[2], category="12"),
            region_code=CITY[2],
        )
    )
    org(schemas.OrgCreate(name=f"个人用户 {fake.name()}", name_en="Individual", kind="individual"))

    # Enterprises register directly; operators and service providers pass admission 准入.
    reviewer_subject: Subject | None = None
    for name, name_en, kind, services in ENTERPRISES:
        uscc = people.uscc(rng, CITY[2])
        if kind == "enterprise":
            org(
                schemas.OrgCreate(
                    name=name, name_en=name_en, kind=kind, uscc=uscc, region_code=CITY[2]
                )
            )
            continue
        statement = f"{name}申请成为平台{rules.ORG_KINDS[kind]}。"
        entry = (name, name_en, kind, services)
        admission = _apply(session, entry, uscc, statement, (fake.name(), password))
        if reviewer_subject is None:
            reviewer_subject = _reviewer(session, orgs, password)
        admission_service.decide(
            session, reviewer_subject, admission.id, True, "资质齐全，同意准入。"
        )
        orgs[name] = admission.org
    for name, name_en, kind, services in PENDING:
        statement = f"{name}申请成为平台{rules.ORG_KINDS[kind]}，提供数据合规评估服务。"
        entry = (name, name_en, kind, services)
        uscc = people.uscc(rng, CITY[2])
        admission = _apply(session, entry, uscc, statement, (fake.name(), password))
        orgs[name] = admission.org

    admitted = {e[0] for e in ENTERPRISES if e[2] != "enterprise"} | {p[0] for p in PENDING}
    for acct in ACCOUNTS:
        if acct.username in ("admin", "reviewer") or acct.org in admitted:
            continue
        user_service.create(
            session,
            system,
            schemas.UserCreate(
                username=acct.username,
                display_name=fake.name(),
                password=password,
                org_id=orgs[acct.org].id,
                roles=[acct.role],
            ),
        )
    return orgs


def _apply(
    session: Session,
    entry: tuple[str, str, str, Any],
    uscc: str,
    statement: str,
    contact: tuple[str, str],
) -> Admission:
    """An admission application 准入申请 by a demo unit, its demo account as the contact."""
    name, name_en, kind, services = entry
    display_name, password = contact
    return admission_service.apply(
        session,
        schemas.AdmissionCreate(
            org_name=name,
            org_name_en=name_en,
            requested_kind=kind,
            uscc=uscc,
            service_types=services,
            statement=statement,
            contact_username=next(a.username for a in ACCOUNTS if a.org == name),
            contact_display_name=display_name,
            contact_password=password,
        ),
    )


def _reviewer(session: Session, orgs: dict[str, Organization], password: str) -> Subject:
    """Create the admin and reviewer accounts first; admissions are decided by the reviewer."""
    system = Subject.system(via="demo")
    bureau = orgs["示范市大数据局"]
    user_service.create(
        session,
        system,
        schemas.UserCreate(
            username="admin",
            display_name="平台管理员",
            password=password,
            org_id=bureau.id,
            roles=["platform_admin"],
        ),
    )
    reviewer = user_service.create(
        session,
        system,
        schemas.UserCreate(
            username="reviewer",
            display_name="数据局审核员",
            password=password,
            org_id=bureau.id,
            roles=["reviewer"],
        ),
    )
    return Subject(
        reviewer.id,
        reviewer.username,
        bureau.id,
        "active",
        frozenset({"reviewer"}),
        frozenset({"identity:write"}),
        via="demo",
    )
