"""Rows for the demo resources that have no file generator of their own (``DemoResource.data``):
every dataset the portal lists (无条件开放, 有条件开放) and the data authority's own catalog get
data, so every open dataset previews and downloads. The rows describe places, licences and
organizations, never people; small tables, written as UTF-8 CSV."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from faker import Faker

from yaosu.demo import people

Rows = list[dict[str, Any]]


def _day(rng: random.Random, start: date, years: int) -> str:
    return (start + timedelta(days=rng.randrange(0, 365 * years))).isoformat()


def _licence(rng: random.Random, prefix: str) -> str:
    return f"{prefix}3706{rng.randrange(10**9):09d}"


def _company(rng: random.Random, fake: Faker, trade: str) -> str:
    return f"示范市{fake.company_prefix()}{trade}有限公司"


def social_orgs(rng: random.Random, fake: Faker) -> Rows:
    kinds = [("51", "社会团体"), ("52", "民办非企业单位"), ("53", "基金会")]
    rows = []
    for n in range(60):
        category, kind = kinds[n % 3]
        rows.append(
            {
                "tyshxydm": people.uscc(rng, "370600", category=category),
                "mc": f"示范市{fake.company_prefix()}{('协会', '服务中心', '基金会')[n % 3]}",
                "lx": kind,
            }
        )
    return rows


def penalties(rng: random.Random, fake: Faker) -> Rows:
    results = ["警告", "罚款", "没收违法所得", "责令停产停业"]
    return [
        {
            "tyshxydm": people.uscc(rng, "370600"),
            "cfjg": rng.choice(results),
            "cfrq": _day(rng, date(2023, 1, 1), 3),
        }
        for _ in range(120)
    ]


def food_licences(rng: random.Random, fake: Faker) -> Rows:
    return [
        {
            "xkzh": _licence(rng, "JY1"),
            "jyzmc": _company(rng, fake, rng.choice(["餐饮", "食品", "商贸"])),
            "yxq": _day(rng, date(2026, 6, 1), 5),
        }
        for _ in range(150)
    ]


def insured_institutions(rng: random.Random, fake: Faker) -> Rows:
    kinds = ["定点医疗机构", "定点零售药店"]
    return [
        {
            "jgbm": f"H3706{rng.randrange(10**6):06d}",
            "jgmc": f"示范市{fake.company_prefix()}{('医院', '大药房')[n % 2]}",
            "lx": kinds[n % 2],
        }
        for n in range(80)
    ]


def transport_licences(rng: random.Random, fake: Faker) -> Rows:
    return [
        {
            "xkzh": f"鲁交运管许可示字{rng.randrange(10**6):06d}号",
            "yhmc": _company(rng, fake, "运输"),
        }
        for _ in range(90)
    ]


def planning_zones(rng: random.Random, fake: Faker) -> Rows:
    names = ["生态保护区", "农田保护区", "城镇发展区", "乡村发展区", "海洋发展区", "矿产能源发展区"]
    return [
        {
            "fqbm": f"370600-{n + 1:03d}",
            "fqmc": names[n % len(names)],
            "mj": round(rng.uniform(5, 900), 2),
        }
        for n in range(36)
    ]


def presale_permits(rng: random.Random, fake: Faker) -> Rows:
    return [
        {
            "xkzh": f"示房预售字（2025）第{n + 1:04d}号",
            "xmmc": f"{fake.street_name()}{rng.choice(['花园', '小区', '公馆'])}{n % 5 + 1}期",
        }
        for n in range(70)
    ]


def tax_credit(rng: random.Random, fake: Faker) -> Rows:
    return [
        {"tyshxydm": people.uscc(rng, "370600"), "xydj": "A", "nd": rng.choice([2023, 2024, 2025])}
        for _ in range(150)
    ]


def schools(rng: random.Random, fake: Faker) -> Rows:
    # Five schools of each stage a district (at least YAOSU_OPEN_MIN_K rows in any class).
    rows = []
    for code, district in people.DISTRICTS.items():
        for stage in ("小学", "初中"):
            for _ in range(5):
                rows.append(
                    {
                        "xxmc": f"示范市{district}{fake.street_name()}{stage}",
                        "xd": stage,
                        "dz": people.address(rng, fake, code),
                    }
                )
    return rows


def air_quality(rng: random.Random, fake: Faker) -> Rows:
    stations = ["东城监测站", "西城监测站", "高新监测站", "滨海监测站"]
    start = datetime(2026, 11, 1)
    return [
        {
            "zd": station,
            "sj": (start + timedelta(hours=h)).isoformat(sep=" "),
            "aqi": rng.randrange(20, 160),
        }
        for station in stations
        for h in range(72)
    ]


def farms(rng: random.Random, fake: Faker) -> Rows:
    kinds = ["家庭农场", "农民专业合作社"]
    return [
        {
            "ztmc": f"示范市{fake.street_name()}{('家庭农场', '果蔬专业合作社')[n % 2]}",
            "lx": kinds[n % 2],
        }
        for n in range(80)
    ]


def safety_licences(rng: random.Random, fake: Faker) -> Rows:
    return [
        {
            "xkzh": f"（鲁）WH安许证字〔2025〕{rng.randrange(10**4):04d}号",
            "qymc": _company(rng, fake, "化工"),
        }
        for _ in range(60)
    ]


def population_survey(rng: random.Random, fake: Faker) -> Rows:
    total = 7_050_000
    rows = []
    for year in range(2010, 2026):
        total += rng.randrange(-20_000, 40_000)
        rows.append({"nd": year, "zrk": total})
    return rows


# Rows by the resource's classification code.
GENERATORS: dict[str, Callable[[random.Random, Faker], Rows]] = {
    "10201002": social_orgs,
    "10401001": penalties,
    "10501001": food_licences,
    "20102002": insured_institutions,
    "10501004": transport_licences,
    "10302001": planning_zones,
    "10501005": presale_permits,
    "10401002": tax_credit,
    "20102003": schools,
    "20401001": air_quality,
    "10202001": farms,
    "10501006": safety_licences,
    "10601002": population_survey,
}


def resource_catalog(specs: list[tuple[str, str]]) -> Rows:
    """The data authority's own dataset: the city's resource catalog (code, name)."""
    return [{"zydm": code, "zymc": name} for code, name in specs]
