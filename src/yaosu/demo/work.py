"""Work waiting in every workspace queue of the demo city, each item one a demo account can take
to its end: a staged version for the reviewers, a conditional-open application at the data
authority, a unit's demand for a provider, a public demand and a reuse on the portal. (The
share requests waiting for the provider and the authority, the draft resource, the proposed
classifications, the overdue responsibility and the pending admission come from the other demo
modules.)"""

from __future__ import annotations

import random
from pathlib import Path

from faker import Faker
from sqlalchemy.orm import Session

from yaosu.catalog import schemas as catalog_schemas
from yaosu.catalog.service import dataset_service, demand_service
from yaosu.catalog.tasks import run_in_session
from yaosu.demo import catalog
from yaosu.demo.sharing import _resource, _user
from yaosu.identity.subject import Subject
from yaosu.models.identity import Organization
from yaosu.opendata import schemas as open_schemas
from yaosu.opendata.service import application_service, reuse_service
from yaosu.opendata.service import demand_service as public_demands
from yaosu.sharing import schemas as sharing_schemas
from yaosu.sharing.service import request_service


def load(session: Session, orgs: dict[str, Organization], data_dir: Path) -> None:
    system = Subject.system(via="demo")
    rng = random.Random(20261207)
    fake = Faker("zh_CN")
    fake.seed_instance(20261207)

    # A new version of the economic indicators with a unit column: the schema changed, so it
    # is staged until a reviewer accepts it (审核 → 新版本).
    indicators = _resource(session, "国民经济主要指标")
    path = data_dir / "经济指标-新版.csv"
    catalog._write_csv(
        path,
        [
            {"zb": zb, "nd": year, "z": round(rng.uniform(100, 9000), 2), "dw": "亿元"}
            for year in range(2015, 2027)
            for zb in ("地区生产总值", "一般公共预算收入", "社会消费品零售总额")
        ],
        "utf-8",
    )
    job = dataset_service.create_job(
        session,
        system,
        indicators.id,
        "upload",
        {"path": str(path), "filename": path.name, "keep": True},
    )
    run_in_session(session, job.id)

    # A conditional-open application the provider approved: it waits for the data authority.
    enterprises = _resource(session, "企业登记基本信息")
    fintech = _user(session, "fintech")
    application = application_service.apply(
        session,
        fintech,
        open_schemas.ApplicationCreate(
            resource_id=enterprises.id,
            fields=["tyshxydm", "qymc", "zczb", "clrq", "djzt"],
            purpose="commercial_use",
            purpose_text="小微企业普惠授信的准入核验",
            scenario="普惠金融",
            term_days=180,
            commitment=True,
        ),
    )
    request_service.decide(
        session,
        _user(session, "officer.scj"),
        application.id,
        sharing_schemas.Decision(approve=True, reason="字段符合最小必要原则"),
    )

    # 东城区 asks the public security bureau for household-registration transfers (供需清单).
    demand_service.post(
        session,
        _user(session, "officer.dc"),
        catalog_schemas.DemandCreate(
            title="辖区户籍迁入迁出数据",
            description="社区网格化服务管理需要掌握辖区人口迁入迁出情况。",
            scenario="基层治理",
            wanted_fields=["公民身份号码", "迁入日期", "迁出地"],
            provider_id=orgs["示范市公安局"].id,
        ),
    )

    # The public asks for data on the portal (问需于民) and shows what it built (成果展示).
    public_demands.post(
        session,
        None,
        open_schemas.DemandCreate(
            title="公交站点及线路数据",
            description="希望开放全市公交站点位置和途经线路，方便开发出行应用。",
            wanted_fields=["站点名称", "线路", "经纬度"],
            requester_name=fake.name(),
        ),
    )
    reuse_service.submit(
        session,
        None,
        open_schemas.ReuseCreate(
            title="示范市养老机构地图",
            kind="app",
            url="https://example.org/elderly-map",
            description="在地图上查找附近的养老机构和床位。",
            resource_ids=[_resource(session, "养老机构名录").id],
            author=fake.name(),
        ),
    )
