"""The demo city's catalog 示范市资源目录: 30+ resources across units and the six base
libraries, some with data (GB18030 CSV, Excel, UTF-8 CSV, JSON) ingested at `yaosu up`."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faker import Faker
from sqlalchemy.orm import Session

from yaosu.catalog import schemas
from yaosu.catalog.service import dataset_service, resource_service
from yaosu.catalog.tasks import run_in_session
from yaosu.classification.schemas import ImportantEntryCreate
from yaosu.classification.service import important_data_service
from yaosu.demo import people, rows
from yaosu.identity.subject import Subject
from yaosu.models.identity import Organization


def f(name: str, label: str, type_: str = "string") -> dict[str, str]:
    return {"name": name, "label_zh": label, "type": type_}


PERSON_FIELDS = [
    f("sfzh", "公民身份号码"),
    f("xm", "姓名"),
    f("xb", "性别"),
    f("csrq", "出生日期", "date"),
    f("mz", "民族"),
    f("lxdh", "联系电话"),
    f("zz", "住址"),
    f("qh", "区划代码"),
]
ENTERPRISE_FIELDS = [
    f("tyshxydm", "统一社会信用代码"),
    f("qymc", "企业名称"),
    f("fddbr", "法定代表人"),
    f("zczb", "注册资本(万元)", "decimal"),
    f("clrq", "成立日期", "date"),
    f("qylx", "企业类型"),
    f("zs", "住所"),
    f("djzt", "登记状态"),
]


@dataclass
class DemoResource:
    provider: str
    name: str
    code: str
    library: str | None
    share: str
    open_: str
    fields: list[dict[str, str]]
    summary: str
    keywords: list[str]
    cycle: str = "daily"
    fmt: str = "table"
    system: str = ""
    data: str | None = None  # generator name; the file is written in that format
    publish: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


GA, RS, SC, WJ, JT, ZR, YB, MZ, SW, ZJ, JY, HB, NY, YJ, TJ, DSJ = (
    "示范市公安局",
    "示范市人力资源和社会保障局",
    "示范市市场监督管理局",
    "示范市卫生健康委员会",
    "示范市交通运输局",
    "示范市自然资源和规划局",
    "示范市医疗保障局",
    "示范市民政局",
    "国家税务总局示范市税务局",
    "示范市住房和城乡建设局",
    "示范市教育局",
    "示范市生态环境局",
    "示范市农业农村局",
    "示范市应急管理局",
    "示范市统计局",
    "示范市大数据局",
)
COND = {"share_conditions": "仅限依法履职需要，按最小必要原则使用"}
NOSHARE = {"share_legal_basis": "《中华人民共和国保守国家秘密法》"}

RESOURCES = [
    DemoResource(
        GA,
        "常住人口基本信息",
        "10101001",
        "population",
        "conditional",
        "none",
        PERSON_FIELDS,
        "全市常住人口的身份、性别、出生日期、民族和住址信息。",
        ["人口", "户籍", "身份"],
        system="人口综合信息系统",
        data="people_gb18030",
        extra=COND,
    ),
    DemoResource(
        GA,
        "户籍迁移登记信息",
        "10101002",
        "population",
        "conditional",
        "none",
        [f("sfzh", "公民身份号码"), f("qrrq", "迁入日期", "date"), f("qcd", "迁出地")],
        "户口迁入迁出登记记录。",
        ["户籍", "迁移"],
        system="人口综合信息系统",
        extra=COND,
    ),
    DemoResource(
        GA,
        "机动车登记信息",
        "20301001",
        None,
        "conditional",
        "none",
        [
            f("hphm", "号牌号码"),
            f("cllx", "车辆类型"),
            f("syr", "所有人"),
            f("djrq", "登记日期", "date"),
        ],
        "机动车注册登记、变更和注销信息。",
        ["车辆", "交通"],
        system="交管业务系统",
        extra=COND,
    ),
    DemoResource(
        MZ,
        "婚姻登记信息",
        "10101003",
        "population",
        "conditional",
        "none",
        [f("nfsfzh", "男方身份号码"), f("vfsfzh", "女方身份号码"), f("djrq", "登记日期", "date")],
        "结婚、离婚登记信息。",
        ["婚姻", "民政"],
        cycle="daily",
        system="婚姻登记系统",
        extra=COND,
    ),
    DemoResource(
        MZ,
        "社会组织登记信息",
        "10201002",
        "legal_person",
        "unconditional",
        "unconditional",
        [f("tyshxydm", "统一社会信用代码"), f("mc", "名称"), f("lx", "类型")],
        "社会团体、民办非企业单位和基金会的登记信息。",
        ["社会组织"],
        cycle="monthly",
    ),
    DemoResource(
        MZ,
        "养老机构名录",
        "20102001",
        None,
        "unconditional",
        "unconditional",
        [f("jgmc", "机构名称"), f("dz", "地址"), f("cws", "床位数", "integer")],
        "全市养老机构名称、地址和床位。",
        ["养老", "民生"],
        cycle="quarterly",
        data="elderly_homes_json",
    ),
    DemoResource(
        SC,
        "企业登记基本信息",
        "10201001",
        "legal_person",
        "unconditional",
        "conditional",
        ENTERPRISE_FIELDS,
        "市场主体登记的企业基本信息。",
        ["企业", "法人", "工商"],
        system="市场主体登记系统",
        data="enterprises_xlsx",
    ),
    DemoResource(
        SC,
        "行政处罚信息",
        "10401001",
        "social_credit",
        "unconditional",
        "unconditional",
        [f("tyshxydm", "统一社会信用代码"), f("cfjg", "处罚结果"), f("cfrq", "处罚日期", "date")],
        "市场监管领域行政处罚决定信息。",
        ["信用", "处罚"],
        cycle="weekly",
    ),
    DemoResource(
        SC,
        "食品经营许可信息",
        "10501001",
        "e_license",
        "unconditional",
        "unconditional",
        [f("xkzh", "许可证号"), f("jyzmc", "经营者名称"), f("yxq", "有效期至", "date")],
        "食品经营许可证电子证照。",
        ["许可", "食品", "证照"],
        cycle="daily",
    ),
    DemoResource(
        RS,
        "社会保险参保信息",
        "20101001",
        None,
        "conditional",
        "none",
        [
            f("sfzh", "公民身份号码"),
            f("xz", "险种"),
            f("cbzt", "参保状态"),
            f("jfjs", "缴费基数", "decimal"),
            f("qh", "行政区划代码"),
        ],
        "企业职工养老、失业、工伤保险参保信息。",
        ["社保", "参保", "就业"],
        system="社会保险信息系统",
        data="insurance_gbk",
        extra=COND,
    ),
    DemoResource(
        RS,
        "职业技能等级证书",
        "10501002",
        "e_license",
        "unconditional",
        "none",
        [f("zsbh", "证书编号"), f("sfzh", "公民身份号码"), f("zy", "职业"), f("dj", "等级")],
        "职业技能等级认定证书电子证照。",
        ["证书", "技能", "证照"],
        cycle="monthly",
    ),
    DemoResource(
        RS,
        "就业失业登记信息",
        "20101002",
        None,
        "conditional",
        "none",
        [f("sfzh", "公民身份号码"), f("djlx", "登记类型"), f("djrq", "登记日期", "date")],
        "就业和失业登记信息。",
        ["就业"],
        extra=COND,
    ),
    DemoResource(
        WJ,
        "医疗机构执业许可信息",
        "10501003",
        "e_license",
        "unconditional",
        "unconditional",
        [
            f("jgmc", "机构名称"),
            f("jglb", "机构类别"),
            f("dz", "地址"),
            f("cws", "床位数", "integer"),
        ],
        "医疗机构执业许可证信息。",
        ["医疗", "医院", "证照"],
        cycle="monthly",
        data="hospitals_csv",
    ),
    DemoResource(
        WJ,
        "出生医学证明信息",
        "10101004",
        "population",
        "conditional",
        "none",
        [f("zmbh", "证明编号"), f("csrq", "出生日期", "date"), f("csdd", "出生地点")],
        "新生儿出生医学证明信息。",
        ["出生", "医学"],
        extra=COND,
    ),
    DemoResource(
        WJ,
        "传染病监测信息",
        "30401001",
        None,
        "none",
        "none",
        [f("bz", "病种"), f("bgs", "报告数", "integer")],
        "法定传染病监测报告。",
        ["疾控"],
        cycle="daily",
        extra=NOSHARE,
    ),
    DemoResource(
        YB,
        "医保定点机构名录",
        "20102002",
        None,
        "unconditional",
        "unconditional",
        [f("jgbm", "机构编码"), f("jgmc", "机构名称"), f("lx", "类型")],
        "医保定点医疗机构和零售药店。",
        ["医保", "定点"],
        cycle="monthly",
    ),
    DemoResource(
        YB,
        "医保结算信息",
        "20101003",
        None,
        "conditional",
        "none",
        [
            f("sfzh", "公民身份号码"),
            f("jsje", "结算金额", "decimal"),
            f("jsrq", "结算日期", "date"),
        ],
        "医保费用结算明细。",
        ["医保", "结算"],
        extra=COND,
    ),
    DemoResource(
        JT,
        "公交站点信息",
        "20301002",
        None,
        "unconditional",
        "unconditional",
        [
            f("zdmc", "站点名称"),
            f("xl", "线路"),
            f("jd", "经度", "decimal"),
            f("wd", "纬度", "decimal"),
        ],
        "全市公交站点位置和线路。",
        ["公交", "交通", "出行"],
        cycle="monthly",
        data="bus_stops_csv",
    ),
    DemoResource(
        JT,
        "道路运输经营许可信息",
        "10501004",
        "e_license",
        "unconditional",
        "unconditional",
        [f("xkzh", "许可证号"), f("yhmc", "业户名称")],
        "道路运输经营许可证。",
        ["运输", "许可"],
    ),
    DemoResource(
        ZR,
        "不动产登记信息",
        "10301001",
        "natural_resources_geo",
        "conditional",
        "none",
        [
            f("bdcdyh", "不动产单元号"),
            f("qlr", "权利人"),
            f("zl", "坐落"),
            f("mj", "面积", "decimal"),
        ],
        "不动产权属登记信息。",
        ["不动产", "房产", "登记"],
        extra=COND,
    ),
    DemoResource(
        ZR,
        "国土空间规划分区",
        "10302001",
        "natural_resources_geo",
        "unconditional",
        "unconditional",
        [f("fqbm", "分区编码"), f("fqmc", "分区名称"), f("mj", "面积", "decimal")],
        "国土空间总体规划功能分区。",
        ["规划", "空间"],
        cycle="yearly",
        fmt="geo",
    ),
    DemoResource(
        ZJ,
        "商品房预售许可信息",
        "10501005",
        "e_license",
        "unconditional",
        "unconditional",
        [f("xkzh", "许可证号"), f("xmmc", "项目名称")],
        "商品房预售许可。",
        ["房地产", "预售"],
    ),
    DemoResource(
        ZJ,
        "住房公积金缴存信息",
        "20101004",
        None,
        "conditional",
        "none",
        [f("sfzh", "公民身份号码"), f("jcje", "缴存金额", "decimal")],
        "个人公积金缴存。",
        ["公积金"],
        extra=COND,
    ),
    DemoResource(
        SW,
        "纳税信用等级信息",
        "10401002",
        "social_credit",
        "unconditional",
        "unconditional",
        [f("tyshxydm", "统一社会信用代码"), f("xydj", "信用等级"), f("nd", "年度", "integer")],
        "企业纳税信用评价结果（A级）。",
        ["纳税", "信用"],
        cycle="yearly",
    ),
    DemoResource(
        SW,
        "企业纳税明细",
        "20201001",
        None,
        "none",
        "none",
        [f("tyshxydm", "统一社会信用代码"), f("se", "税额", "decimal")],
        "企业纳税明细。",
        ["税收"],
        cycle="monthly",
        extra={"share_legal_basis": "《中华人民共和国税收征收管理法》"},
    ),
    DemoResource(
        JY,
        "中小学校名录",
        "20102003",
        None,
        "unconditional",
        "unconditional",
        [f("xxmc", "学校名称"), f("xd", "学段"), f("dz", "地址")],
        "全市中小学校。",
        ["教育", "学校"],
        cycle="yearly",
    ),
    DemoResource(
        JY,
        "学籍信息",
        "20101005",
        None,
        "conditional",
        "none",
        [f("xjh", "学籍号"), f("sfzh", "公民身份号码"), f("xx", "学校")],
        "中小学生学籍。",
        ["学籍", "学生"],
        extra=COND,
    ),
    DemoResource(
        HB,
        "空气质量监测数据",
        "20401001",
        None,
        "unconditional",
        "unconditional",
        [f("zd", "监测站"), f("sj", "时间", "datetime"), f("aqi", "AQI", "integer")],
        "空气质量自动监测站小时数据。",
        ["环境", "空气"],
        cycle="realtime",
        fmt="api",
    ),
    DemoResource(
        NY,
        "农业经营主体名录",
        "10202001",
        "legal_person",
        "unconditional",
        "unconditional",
        [f("ztmc", "主体名称"), f("lx", "类型")],
        "家庭农场和农民合作社。",
        ["农业", "合作社"],
        cycle="quarterly",
    ),
    DemoResource(
        YJ,
        "安全生产许可信息",
        "10501006",
        "e_license",
        "unconditional",
        "unconditional",
        [f("xkzh", "许可证号"), f("qymc", "企业名称")],
        "安全生产许可证。",
        ["安全生产"],
    ),
    DemoResource(
        TJ,
        "国民经济主要指标",
        "10601001",
        "macro_economy",
        "unconditional",
        "unconditional",
        [f("zb", "指标"), f("nd", "年度", "integer"), f("z", "值", "decimal")],
        "地区生产总值等主要经济指标。",
        ["统计", "经济", "GDP"],
        cycle="quarterly",
        data="indicators_csv",
    ),
    DemoResource(
        TJ,
        "人口抽样调查数据",
        "10601002",
        "macro_economy",
        "unconditional",
        "unconditional",
        [f("nd", "年度", "integer"), f("zrk", "总人口", "integer")],
        "人口变动抽样调查。",
        ["统计", "人口"],
        cycle="yearly",
    ),
    DemoResource(
        DSJ,
        "公共数据资源目录",
        "30101001",
        None,
        "unconditional",
        "unconditional",
        [f("zydm", "资源代码"), f("zymc", "资源名称")],
        "全市公共数据资源目录。",
        ["目录"],
        cycle="daily",
        publish=False,
    ),
]


def _write_csv(path: Path, rows: list[dict[str, Any]], encoding: str, delimiter: str = ",") -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)


def _write_xlsx(path: Path, rows: list[dict[str, Any]]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("企业登记")
    ws.append(list(rows[0]))
    for row in rows:
        ws.append(list(row.values()))
    wb.save(path)


def write_data(kind: str, directory: Path, rng: random.Random, fake: Faker) -> Path:
    """Generate one demo data file; returns its path."""
    writers: dict[str, Callable[[], Path]] = {}

    def people_gb18030() -> Path:
        path = directory / "常住人口.csv"
        _write_csv(path, people.people(rng, fake, 2000), "gb18030")
        return path

    def insurance_gbk() -> Path:
        rows = [
            {
                "sfzh": p["sfzh"],
                "xz": rng.choice(["养老", "失业", "工伤"]),
                "cbzt": rng.choice(["参保缴费", "暂停缴费"]),
                "jfjs": rng.randrange(3000, 20000),
                "qh": p["qh"],
            }
            for p in people.people(rng, fake, 1500)
        ]
        path = directory / "社保参保.csv"
        _write_csv(path, rows, "gbk")
        return path

    def enterprises_xlsx() -> Path:
        path = directory / "企业登记.xlsx"
        _write_xlsx(path, people.enterprises(rng, fake, 800))
        return path

    def hospitals_csv() -> Path:
        rows = [
            {
                "jgmc": f"示范市{d}{n}",
                "jglb": n[-4:] if len(n) > 4 else n,
                "dz": people.address(rng, fake, code),
                "cws": rng.randrange(20, 1200),
            }
            for code, d in people.DISTRICTS.items()
            # Five institutions a district. Rows describe places (描述对象, inferred from the
            # name and address columns), so their addresses open unmasked.
            for n in ("人民医院", "中医医院", "妇幼保健院", "社区卫生服务中心", "口腔医院")
        ]
        path = directory / "医疗机构.csv"
        _write_csv(path, rows, "utf-8-sig")
        return path

    def bus_stops_csv() -> Path:
        rows = [
            {
                "zdmc": f"{fake.street_name()}站",
                "xl": f"{rng.randrange(1, 60)}路",
                "jd": round(121.2 + rng.random() * 0.5, 6),
                "wd": round(37.4 + rng.random() * 0.2, 6),
            }
            for _ in range(600)
        ]
        path = directory / "公交站点.tsv"
        _write_csv(path, rows, "utf-8", delimiter="\t")
        return path

    def elderly_homes_json() -> Path:
        rows = [
            {
                "jgmc": f"示范市{fake.last_name()}家养老院",
                "dz": people.address(rng, fake, code),
                "cws": rng.randrange(30, 400),
            }
            for code in people.DISTRICTS
            for _ in range(8)
        ]
        path = directory / "养老机构.json"
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        return path

    def indicators_csv() -> Path:
        rows = [
            {"zb": zb, "nd": year, "z": round(rng.uniform(100, 9000), 2)}
            for year in range(2015, 2026)
            for zb in ("地区生产总值", "一般公共预算收入", "社会消费品零售总额")
        ]
        path = directory / "经济指标.csv"
        _write_csv(path, rows, "utf-8")
        return path

    writers.update(
        people_gb18030=people_gb18030,
        insurance_gbk=insurance_gbk,
        enterprises_xlsx=enterprises_xlsx,
        hospitals_csv=hospitals_csv,
        bus_stops_csv=bus_stops_csv,
        elderly_homes_json=elderly_homes_json,
        indicators_csv=indicators_csv,
    )
    return writers[kind]()


def _write_rows(
    spec: DemoResource, directory: Path, rng: random.Random, fake: Faker
) -> Path | None:
    """A UTF-8 CSV of the rows module's data for ``spec``; None when the demo has none for it."""
    if spec.code == CATALOG_CODE:
        data = rows.resource_catalog([(r.code, r.name) for r in RESOURCES if r.publish])
    elif spec.code in rows.GENERATORS:
        data = rows.GENERATORS[spec.code](rng, fake)
    else:
        return None
    path = directory / f"{spec.code}.csv"
    _write_csv(path, data, "utf-8")
    return path


# The data authority's own resource, the city's resource catalog: left a draft for its data
# officer to submit (the drafts queue), then the reviewers' publication queue.
CATALOG_CODE = "30101001"


# English names and keywords of the demo resources (by classification code), so the portal
# and the catalog answer English queries as well as Chinese ones.
ENGLISH: dict[str, tuple[str, list[str]]] = {
    "10101001": ("Resident population", ["population", "residents", "household registration"]),
    "10101002": ("Household registration transfers", ["household registration", "migration"]),
    "20301001": ("Motor vehicle registrations", ["vehicles", "cars", "transport"]),
    "10101003": ("Marriage registrations", ["marriage", "civil affairs"]),
    "10201002": ("Social organization registrations", ["social organizations", "ngo"]),
    "20102001": ("Elderly care institutions", ["elderly", "elderly care", "nursing homes"]),
    "10201001": ("Enterprise registrations", ["enterprises", "companies", "business"]),
    "10401001": ("Administrative penalties", ["credit", "penalties"]),
    "10501001": ("Food business licences", ["licences", "food", "permits"]),
    "20101001": ("Social insurance enrolment", ["social insurance", "employment"]),
    "10501002": ("Vocational skill certificates", ["certificates", "skills"]),
    "20101002": ("Employment and unemployment registrations", ["employment", "unemployment"]),
    "10501003": ("Medical institution licences", ["hospitals", "medical", "licences"]),
    "10101004": ("Birth medical certificates", ["births", "medical certificates"]),
    "30401001": ("Infectious disease surveillance", ["disease control", "epidemics"]),
    "20102002": ("Designated medical insurance institutions", ["medical insurance", "hospitals"]),
    "20101003": ("Medical insurance settlements", ["medical insurance", "settlements"]),
    "20301002": ("Bus stops", ["bus", "public transport", "transit", "stops"]),
    "10501004": ("Road transport business licences", ["transport", "licences"]),
    "10301001": ("Real estate registrations", ["real estate", "property", "land"]),
    "10302001": ("Territorial spatial planning zones", ["planning", "zoning", "land use"]),
    "10501005": ("Commercial housing pre-sale permits", ["housing", "real estate", "pre-sale"]),
    "20101004": ("Housing provident fund contributions", ["housing provident fund"]),
    "10401002": ("Taxpayer credit ratings", ["tax", "credit"]),
    "20201001": ("Enterprise tax details", ["tax", "enterprises"]),
    "20102003": ("Primary and secondary schools", ["schools", "education"]),
    "20101005": ("Student enrolment records", ["students", "education"]),
    "20401001": ("Air quality monitoring", ["air quality", "environment", "pollution"]),
    "10202001": ("Agricultural business entities", ["agriculture", "cooperatives", "farms"]),
    "10501006": ("Work safety licences", ["work safety", "licences"]),
    "10601001": ("Key economic indicators", ["statistics", "economy"]),
    "10601002": ("Population sample survey", ["statistics", "population", "census"]),
    "30101001": ("Public data resource catalog", ["catalog", "open data"]),
}


# The demo city's important-data catalog 重要数据目录 (kept by the data authority).
IMPORTANT_ENTRIES = [
    ImportantEntryCreate(
        sector="政务",
        region_code="370600",
        name="全市人口基础信息",
        description="全市常住人口身份、户籍和住址等基础信息，汇聚后规模大、敏感度高。",
        kind="important",
        code_prefixes=["10101"],
        basis="《数据安全法》第二十一条；GB/T 43697-2024 附录G",
    ),
    ImportantEntryCreate(
        sector="自然资源",
        region_code="370600",
        name="不动产登记信息",
        description="不动产权属、抵押和查封登记信息。",
        kind="important",
        keywords=["不动产"],
        basis="《数据安全法》第二十一条",
    ),
]


def load(
    session: Session,
    orgs: dict[str, Organization],
    data_dir: Path,
    seed: int = 20261122,
    ingest: bool = True,
) -> list[Any]:
    """Register, publish and (where the demo has data) ingest the demo resources."""
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    system = Subject.system(via="demo")
    # A stream of its own for the rows module, so the file generators' data stays as it was.
    rows_rng = random.Random(seed + 1)
    rows_fake = Faker("zh_CN")
    rows_fake.seed_instance(seed + 1)
    data_dir.mkdir(parents=True, exist_ok=True)
    for entry in IMPORTANT_ENTRIES:  # before ingest, so the grades see them
        important_data_service.create(session, system, entry)
    made = []
    for spec in RESOURCES:
        name_en, keywords_en = ENGLISH.get(spec.code, (None, []))
        data = schemas.ResourceCreate(
            name=spec.name,
            name_en=name_en,
            classification_code=spec.code,
            provider_id=orgs[spec.provider].id,
            summary=spec.summary,
            format=spec.fmt,
            fields=spec.fields,
            update_cycle=spec.cycle,
            base_library=spec.library,
            share_attribute=spec.share,
            share_method="api",
            open_attribute=spec.open_,
            keywords=[*spec.keywords, *(k for k in keywords_en if k not in spec.keywords)],
            source_system=spec.system or None,
            authoritative=spec.library is not None,
            contact=schemas.Contact(
                name=fake.name(), phone="0535-" + f"{rng.randrange(10**7):07d}"
            ),
            **spec.extra,
        )
        resource = resource_service.register(session, system, data)
        if spec.publish:
            resource_service.submit(session, system, resource.id)
            resource_service.publish(session, system, resource.id)
        path: Path | None = None
        if ingest and spec.data:
            path = write_data(spec.data, data_dir, rng, fake)
        elif ingest:  # every listed open dataset (and the catalog itself) has data to show
            path = _write_rows(spec, data_dir, rows_rng, rows_fake)
        if path is not None:
            job = dataset_service.create_job(
                session,
                system,
                resource.id,
                "upload",
                {"path": str(path), "filename": path.name, "keep": True},
            )
            run_in_session(session, job.id)
        made.append(resource)
    return made
