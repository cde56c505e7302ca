"""Synthetic but well-formed records of the demo city: resident IDs with valid check characters,
credit codes, phone numbers and addresses in 示范市."""

from __future__ import annotations

import random
from datetime import date, timedelta

from faker import Faker

from yaosu.kit.uscc import ALPHABET, check_character

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
DISTRICTS = {"370602": "东城区", "370603": "西城区", "370671": "高新区"}
STREETS = {
    "370602": ["滨海街道", "芝罘街道"],
    "370603": ["长安街道", "通伸街道"],
    "370671": ["创新街道", "科技街道"],
}


def resident_id(rng: random.Random, region: str, born: date, female: bool) -> str:
    """An 18-digit resident ID (GB 11643) with its ISO 7064 MOD 11-2 check character."""
    seq = rng.randrange(0, 50) * 2 + (0 if female else 1)
    body = f"{region}{born:%Y%m%d}{rng.randrange(0, 10)}{seq:02d}"
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


def uscc(rng: random.Random, region: str, category: str = "91") -> str:
    body = category + region + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + check_character(body)


def mobile(rng: random.Random) -> str:
    return (
        rng.choice(["135", "136", "138", "139", "150", "158", "186", "188", "199"])
        + f"{rng.randrange(0, 10**8):08d}"
    )


def address(rng: random.Random, fake: Faker, region: str) -> str:
    street = rng.choice(STREETS[region])
    return f"示范市{DISTRICTS[region]}{street}{fake.street_name()}{rng.randrange(1, 300)}号"


def people(rng: random.Random, fake: Faker, n: int) -> list[dict[str, str]]:
    rows = []
    for _ in range(n):
        region = rng.choice(list(DISTRICTS))
        female = rng.random() < 0.5
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 80))
        rows.append(
            {
                "sfzh": resident_id(rng, region, born, female),
                "xm": fake.name_female() if female else fake.name_male(),
                "xb": "女" if female else "男",
                "csrq": born.isoformat(),
                "mz": rng.choice(["汉族"] * 18 + ["回族", "满族"]),
                "lxdh": mobile(rng),
                "zz": address(rng, fake, region),
                "qh": region,
            }
        )
    return rows


def enterprises(rng: random.Random, fake: Faker, n: int) -> list[dict[str, object]]:
    rows = []
    trades = ["科技", "商贸", "物流", "食品", "建设"]
    for _ in range(n):
        region = rng.choice(list(DISTRICTS))
        founded = date(1995, 1, 1) + timedelta(days=rng.randrange(0, 365 * 30))
        rows.append(
            {
                "tyshxydm": uscc(rng, region),
                "qymc": f"示范市{fake.company_prefix()}{rng.choice(trades)}有限公司",
                "fddbr": fake.name(),
                "zczb": rng.choice([50, 100, 200, 500, 1000, 5000]),
                "clrq": founded.isoformat(),
                "qylx": rng.choice(["有限责任公司", "股份有限公司", "个人独资企业"]),
                "zs": address(rng, fake, region),
                "djzt": rng.choice(["存续"] * 9 + ["注销"]),
            }
        )
    return rows
