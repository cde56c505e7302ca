"""Classification benchmark (issue SEC-1: find personal and enterprise identifiers in columns).

Generates, with its own vectorized generator (numpy and Arrow compute; nothing from
``yaosu.demo``), a labeled table of 1,000,000 rows (50,000 with --quick) written as Parquet
(row groups of 100,000) to a temporary directory: one column per identifier type — in messy
formats (+86, dashes and spaces in mobiles, lowercase x in IDs, spaced bank cards, four date
notations, 15-digit IDs, new-energy plates…), with about 2% nulls, about 3% dirty values
labelled as negatives, and a few hard positives the detectors are documented not to accept
(landlines without an area code, rare surnames, addresses with neither a division marker nor a
street number), which show up as false negatives — plus a free-text column with identifiers
inside sentences, and decoy columns (18-digit numbers failing the check character, order and
transaction numbers, amounts,
serials, product codes, random 11-digit numbers not starting with 1[3-9], company names,
timestamps, order dates, random digit strings).

Prints:
- the column decisions: column → predicted type and confidence, against the expected type;
- value-level precision, recall and F1 per type: a value is predicted type T when its column
  was classified T and the value validates as T (for free_text: when its column is free_text
  and the value contains one of the types found); structured types against F1 ≥ 0.99;
- our throughput: UTF-8 megabytes of the text values per second of ``classify_parquet`` over
  the whole file (numeric and date columns are classified too but not counted as bytes), and
  over the five columns the Presidio baseline sees;
- Presidio on a 100,000-row slice (2,000 with --quick) of those five columns (resident ID,
  mobile, USCC, bank card, email), cell by cell, with equivalent custom Chinese
  ``PatternRecognizer``s — same shapes, and ``validate_result`` runs the same check character,
  Luhn and date checks as ours — its MB/s, its precision and recall on the slice, and the ratio
  ours / Presidio (target ≥ 100×).

Presidio needs an NLP engine and spaCy models cannot be downloaded here (only PyPI is
reachable). Pattern recognizers use no NLP output, so two set-ups without a model are timed:
``NoOpNlpEngine`` (Presidio's documented engine for registries of self-contained recognizers;
the fastest Presidio can be, so the ratio against it is a lower bound), and a blank spaCy "zh"
pipeline saved to a temporary directory and loaded by path through ``NlpEngineProvider``
(tokenization only, what a spaCy deployment pays at least; timed on a fifth of the slice in a
full run, as its findings are the same). The ratio uses the faster one.
When presidio-analyzer is not installed, the baseline is skipped with a message.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yaosu.classification.columns import ColumnFinding, classify_parquet, finding_mask
from yaosu.classification.detectors import DETECTORS, SEARCHED, TYPES, contains_masks

SEED = 20240515
STRUCTURED = (
    "resident_id",
    "mobile",
    "landline",
    "bank_card",
    "uscc",
    "email",
    "passport",
    "hk_macau_permit",
    "taiwan_permit",
    "licence_plate",
    "ipv4",
    "ipv6",
    "gps",
    "birth_date",
)
PRESIDIO_COLUMNS = {
    "身份证号": "resident_id",
    "sjhm": "mobile",
    "tyshxydm": "uscc",
    "银行卡号": "bank_card",
    "邮箱": "email",
}

# -- the generator's own vocabulary ---------------------------------------------------------

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
)
COMPOUND = ["欧阳", "司马", "诸葛", "上官", "东方", "皇甫"]
RARE_SURNAMES = list("禤仉妫笪佴琚眭厍")
GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红玲芬燕彬鹏辉建国志文斌宇浩然婷雪琳晨欣怡梓涵子轩博雨泽思远佳琪诗雅俊嘉懿"
)
MINORITY = ["阿卜杜拉", "买买提", "古丽", "艾力", "热依拉", "努尔", "阿依古丽", "吐尔逊"]
CITIES = [
    "北京市",
    "上海市",
    "广东省广州市",
    "广东省深圳市",
    "浙江省杭州市",
    "四川省成都市",
    "湖北省武汉市",
    "江苏省南京市",
    "山东省烟台市",
]
DISTRICTS = [
    "朝阳区",
    "海淀区",
    "浦东新区",
    "天河区",
    "南山区",
    "西湖区",
    "武侯区",
    "江汉区",
    "芝罘区",
]
ROADS = ["人民路", "解放大道", "中山路", "建设街", "新华路", "长安街", "科技园路", "文三路"]
COUNTIES = ["临安县", "长丰县", "蓬莱县"]
TOWNS = ["城关镇", "新桥镇", "河口乡"]
VILLAGES = ["王家村", "李庄村", "东湖村"]
PLATE_PROVINCES = list("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")
LETTERS = list("ABCDEFGHJKLMNPQRSTUVWXYZ")
ID_PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44]
ID_PROVINCES += [45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65]
MOBILE_PREFIXES = [f"13{i}" for i in range(10)] + ["150", "151", "152", "157", "158", "159"]
MOBILE_PREFIXES += ["166", "176", "177", "180", "181", "186", "188", "189", "191", "198", "199"]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
PINYIN = ["zhangsan", "lisi", "wangwu", "zhaoliu", "chenjing", "liuyang", "huangwei", "xiaoming"]
DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "sina.com", "example.gov.cn", "foxmail.com"]
SENTENCES = [
    "客户反映路灯不亮，已派单处理。",
    "办理进度正常，等待审核。",
    "资料齐全，予以受理。",
    "来电咨询社保缴纳政策，已解答。",
    "现场核查无异常",
    "申请材料缺少盖章页，已退回补正。",
    "市民建议增加公交班次",
]
COMPANY_WORDS = ["华兴", "恒通", "瑞丰", "鼎盛", "宏达", "新创", "金桥", "联合"]
TRADES = ["科技", "商贸", "物流", "食品", "建设", "咨询"]


class Gen:
    """Vectorized building blocks: digit matrices, picks, joins, weighted choices."""

    def __init__(self, rows: int, seed: int) -> None:
        self.n = rows
        self.rng = np.random.default_rng(seed)

    def mask(self, p: float) -> np.ndarray:
        return self.rng.random(self.n) < p

    def ints(self, lo: int, hi: int) -> np.ndarray:
        return self.rng.integers(lo, hi, self.n)

    def digits(self, k: int) -> Any:
        return text(self.rng.integers(48, 58, (self.n, k), dtype=np.uint8))

    def pick(self, options: list[str]) -> Any:
        return pa.array(options, type=pa.string()).take(pa.array(self.ints(0, len(options))))

    def number(self, lo: int, hi: int, width: int = 0) -> Any:
        out = pc.cast(pa.array(self.ints(lo, hi)), pa.string())
        return pc.utf8_lpad(out, width, padding="0") if width else out

    def choose(self, weights: list[float], *alternatives: Any) -> Any:
        which = self.rng.choice(len(weights), self.n, p=np.array(weights) / sum(weights))
        return pc.choose(pa.array(which.astype(np.int8)), *alternatives)

    def nulls(self, values: Any, p: float = 0.02) -> tuple[Any, np.ndarray]:
        null = self.mask(p)
        return pc.if_else(pa.array(null), pa.scalar(None, values.type), values), ~null


def text(matrix: np.ndarray) -> Any:
    """An (n, k) uint8 byte matrix → a string array of its rows."""
    matrix = np.ascontiguousarray(matrix, dtype=np.uint8)
    raw = matrix.view(f"S{matrix.shape[1]}").ravel()
    return pa.array(raw, type=pa.binary(matrix.shape[1])).cast(pa.binary()).cast(pa.string())


def join(*parts: Any) -> Any:
    return pc.binary_join_element_wise(*parts, "")


def digit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


def ymd(g: Gen, first: str, last: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    start, end = np.datetime64(first), np.datetime64(last)
    days = start + g.rng.integers(0, int((end - start).astype(int)), g.n).astype("timedelta64[D]")
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    return (
        years.astype(int) + 1970,
        (months - years).astype(int) + 1,
        (days - months).astype(int) + 1,
    )


def separated(values: Any, cuts: list[int], sep: str) -> Any:
    """Insert ``sep`` at the given character positions (positions beyond the end are skipped)."""
    parts, start = [], 0
    length = pc.utf8_length(values)
    for cut in [*cuts, 10**6]:
        piece = pc.utf8_slice_codeunits(values, start, cut)
        if start:
            parts.append(pc.if_else(pc.greater(length, start), sep, ""))
        parts.append(piece)
        start = cut
    return join(*parts)


# -- identifiers ----------------------------------------------------------------------------


def resident_ids(g: Gen, dirty: float = 0.03, old: float = 0.02) -> tuple[Any, np.ndarray]:
    """18-digit IDs (MOD 11-2 check, some with lowercase x), some 15-digit; ``dirty`` share with
    a wrong check character. Returns (values, valid)."""
    provinces = np.array(ID_PROVINCES)[g.ints(0, len(ID_PROVINCES))]
    year, month, day = ymd(g, "1930-01-01", "2015-12-31")
    body = np.hstack(
        [
            digit_matrix(provinces, 2),
            digit_matrix(g.ints(0, 10000), 4),
            digit_matrix(year, 4),
            digit_matrix(month, 2),
            digit_matrix(day, 2),
            digit_matrix(g.ints(0, 1000), 3),
        ]
    )
    weights = np.array([2 ** (17 - i) % 11 for i in range(17)])
    check_index = (body @ weights) % 11
    broken = g.mask(dirty)
    wrong = (check_index + g.ints(1, 11)) % 11
    check = np.frombuffer(b"10X98765432", dtype=np.uint8)[np.where(broken, wrong, check_index)]
    check = np.where((check == ord("X")) & g.mask(0.3), ord("x"), check)
    long_form = text(np.hstack([body + 48, check[:, None]]))
    short_cols = [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16]
    short_form = text(body[:, short_cols] + 48)
    is_old = g.mask(old) & (year < 2000)
    values = pc.if_else(pa.array(is_old), short_form, long_form)
    return values, is_old | ~broken


def mobiles(g: Gen) -> tuple[Any, Any]:
    """(plain 11-digit mobiles, the same split 3-4-4 with spaces)."""
    prefix, a, b = g.pick(MOBILE_PREFIXES), g.digits(4), g.digits(4)
    return join(prefix, a, b), join(prefix, " ", a, " ", b)


def messy_mobiles(g: Gen) -> tuple[Any, np.ndarray]:
    prefix, a, b = g.pick(MOBILE_PREFIXES), g.digits(4), g.digits(4)
    plain = join(prefix, a, b)
    values = g.choose(
        [55, 10, 10, 5, 5, 10, 5],
        plain,
        join("+86 ", prefix, " ", a, " ", b),
        join(prefix, "-", a, "-", b),
        join("0086", plain),
        join("86", plain),
        join(prefix, " ", a, " ", b),
        join("+86-", plain),
    )
    broken = g.mask(0.03)
    values = pc.if_else(pa.array(broken), join("12", g.digits(9)), values)
    return values, ~broken


def landlines(g: Gen) -> tuple[Any, np.ndarray]:
    three = g.mask(0.5)
    area = pc.if_else(
        pa.array(three),
        g.pick(["010", "020", "021", "022", "023", "024", "025", "027", "028", "029"]),
        g.pick(["0571", "0755", "0512", "0532", "0731", "0591", "0871", "0851", "0931", "0311"]),
    )
    local = join(g.pick(list("2345678")), g.digits(7))
    local = pc.if_else(pa.array(~three & g.mask(0.3)), pc.utf8_slice_codeunits(local, 0, 7), local)
    head, tail = pc.utf8_slice_codeunits(local, 0, -4), pc.utf8_slice_codeunits(local, -4)
    values = g.choose(
        [40, 20, 20, 10, 10],
        join(area, "-", local),
        join("(", area, ")", head, "-", tail),
        join(area, " ", local),
        join(area, "-", local, "转", g.number(1, 1000)),
        join("+86 ", pc.utf8_slice_codeunits(area, 1), " ", local),
    )
    # hard positives: 1% local numbers without their area code, which we do not accept
    values = pc.if_else(pa.array(g.mask(0.01)), join(g.pick(list("2345678")), g.digits(7)), values)
    broken = g.mask(0.03)
    values = pc.if_else(pa.array(broken), g.digits(5), values)
    return values, ~broken


def luhn_cards(g: Gen, length: int, broken: np.ndarray) -> Any:
    body = g.rng.integers(0, 10, (g.n, length - 1))
    prefixes = ["622202", "622848", "621700", "623668", "601382", "4", "51", "53", "55", "9558"]
    which = g.ints(0, len(prefixes))
    for i, prefix in enumerate(prefixes):
        rows = which == i
        body[np.ix_(rows, np.arange(len(prefix)))] = [int(c) for c in prefix]
    position = length - 1 - np.arange(length - 1)  # from the right, the check digit is 0
    doubled = np.where(position % 2 == 1, body * 2, body)
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    check = (10 - doubled.sum(axis=1) % 10) % 10
    check = np.where(broken, (check + g.ints(1, 10)) % 10, check)
    return text(np.hstack([body, check[:, None]]) + 48)


def bank_cards(g: Gen) -> tuple[Any, np.ndarray]:
    broken = g.mask(0.03)
    cards = pc.if_else(pa.array(g.mask(0.7)), luhn_cards(g, 16, broken), luhn_cards(g, 19, broken))
    spaced = separated(cards, [4, 8, 12, 16], " ")
    return pc.if_else(pa.array(g.mask(0.3)), spaced, cards), ~broken


def usccs(g: Gen) -> tuple[Any, np.ndarray]:
    head = g.pick(["91", "92", "93", "59", "19", "Y1"])
    region = g.pick(["110105", "310115", "440305", "330106", "510107", "370602", "420103"])
    alphabet = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
    org_index = g.rng.integers(0, 31, (g.n, 9))
    first17 = join(head, region, text(alphabet[org_index]))
    raw = np.frombuffer(pc.cast(first17, pa.binary()).buffers()[2], dtype=np.uint8)
    chars = raw[: g.n * 17].reshape(g.n, 17)
    lookup = np.zeros(256, dtype=np.int64)
    lookup[alphabet] = np.arange(31)
    check = (31 - (lookup[chars] @ np.array(USCC_WEIGHTS)) % 31) % 31
    broken = g.mask(0.03)
    check = np.where(broken, (check + g.ints(1, 31)) % 31, check)
    values = join(first17, text(alphabet[check][:, None]))
    values = pc.if_else(pa.array(g.mask(0.05)), pc.utf8_lower(values), values)
    return values, ~broken


def emails(g: Gen) -> tuple[Any, np.ndarray]:
    user = join(g.pick(PINYIN), g.pick([".", "_", ""]), g.number(1, 100000))
    values = join(user, "@", g.pick(DOMAINS))
    values = pc.if_else(pa.array(g.mask(0.05)), pc.utf8_upper(values), values)
    broken = g.mask(0.03)
    bad = g.choose([1, 1, 1], join(user, ".", g.pick(DOMAINS)), join(user, "@"), join("@", user))
    return pc.if_else(pa.array(broken), bad, values), ~broken


def passports(g: Gen) -> tuple[Any, np.ndarray]:
    letter = g.pick([c for c in LETTERS if c not in "IO"])
    values = g.choose(
        [60, 20, 20], join("E", g.digits(8)), join("E", letter, g.digits(7)), join("G", g.digits(8))
    )
    broken = g.mask(0.03)
    return pc.if_else(pa.array(broken), join("E", g.digits(6)), values), ~broken


def hk_macau_permits(g: Gen) -> tuple[Any, np.ndarray]:
    letter = g.pick([c for c in LETTERS if c not in "IO"])
    values = g.choose(
        [60, 20, 10, 10],
        join("C", g.digits(8)),
        join("C", letter, g.digits(7)),
        join("H", g.digits(8)),
        join("M", g.digits(10)),
    )
    broken = g.mask(0.03)
    return pc.if_else(pa.array(broken), join("C", g.digits(6)), values), ~broken


def taiwan_permits(g: Gen) -> tuple[Any, np.ndarray]:
    values = g.choose(
        [70, 15, 15], g.digits(8), g.digits(10), join(g.digits(10), "(", g.pick(list("ABCDE")), ")")
    )
    broken = g.mask(0.03)
    return pc.if_else(pa.array(broken), join("TW", g.digits(5)), values), ~broken


def plates(g: Gen) -> Any:
    province, office = g.pick(PLATE_PROVINCES), g.pick([c for c in LETTERS if c not in "IO"])
    sep = g.choose([60, 30, 10], pa.scalar(""), pa.scalar("·"), pa.scalar(" "))
    serial = g.choose(
        [70, 15, 10, 5],
        join(g.digits(4), g.pick([*"0123456789", *"ABCDEFGHJK"])),
        join(g.pick(["D", "F"]), g.pick([*"0123456789", *"ABC"]), g.digits(4)),
        join(g.digits(5), g.pick(["D", "F"])),
        join(g.digits(4), g.pick(["学", "警", "挂"])),
    )
    return join(province, office, sep, serial)


def licence_plates(g: Gen) -> tuple[Any, np.ndarray]:
    broken = g.mask(0.03)
    bad = g.choose(
        [1, 1], join("ABC", g.digits(4)), join(g.pick(PLATE_PROVINCES), "I", g.digits(5))
    )
    return pc.if_else(pa.array(broken), bad, plates(g)), ~broken


def ipv4s(g: Gen) -> tuple[Any, np.ndarray]:
    octets = [g.number(0, 256) for _ in range(4)]
    values = join(octets[0], ".", octets[1], ".", octets[2], ".", octets[3])
    broken = g.mask(0.03)
    bad = join(g.number(256, 1000), ".", octets[1], ".", octets[2], ".", octets[3])
    return pc.if_else(pa.array(broken), bad, values), ~broken


def ipv6s(g: Gen) -> tuple[Any, np.ndarray]:
    hexes = pa.array([f"{i:x}" for i in range(65536)])

    def group(width: int = 0) -> Any:
        out = hexes.take(pa.array(g.ints(0, 65536)))
        return pc.utf8_lpad(out, width, padding="0") if width else out

    full = join(*[x for i in range(8) for x in ((":",) if i else ()) + (group(4),)])
    values = g.choose(
        [30, 30, 20, 20],
        full,
        join("2001:db8::", group(), ":", group(), ":", group()),
        join("fe80::", group(), ":", group(), ":", group(), ":", group()),
        join(*[x for i in range(8) for x in ((":",) if i else ()) + (group(),)]),
    )
    broken = g.mask(0.03)
    return pc.if_else(pa.array(broken), join("2001:db8::zz:", group()), values), ~broken


def coordinate(g: Gen, lo: float, hi: float) -> tuple[np.ndarray, Any]:
    value = g.rng.uniform(lo, hi, g.n)
    whole = np.floor(value).astype(np.int64)
    micro = np.floor((value - whole) * 1e6).astype(np.int64)
    as_text = join(
        pc.cast(pa.array(whole), pa.string()),
        ".",
        pc.utf8_lpad(pc.cast(pa.array(micro), pa.string()), 6, padding="0"),
    )
    return whole + micro / 1e6, as_text


def gps_pairs(g: Gen) -> tuple[Any, np.ndarray]:
    _, lng = coordinate(g, 73, 135)
    _, lat = coordinate(g, 18, 53)
    values = g.choose([70, 30], join(lng, ",", lat), join(lat, ", ", lng))
    broken = g.mask(0.03)
    bad = g.choose([1, 1], pa.scalar("未知"), join("200.123456,", lat))
    return pc.if_else(pa.array(broken), bad, values), ~broken


def birth_dates(g: Gen) -> tuple[Any, np.ndarray]:
    year, month, day = ymd(g, "1930-01-01", "2020-12-31")
    y, m, d = (pc.cast(pa.array(x), pa.string()) for x in (year, month, day))
    mm, dd = pc.utf8_lpad(m, 2, padding="0"), pc.utf8_lpad(d, 2, padding="0")
    values = g.choose(
        [40, 20, 20, 20],
        join(y, "-", mm, "-", dd),
        join(y, "/", m, "/", d),
        join(y, mm, dd),
        join(y, "年", m, "月", d, "日"),
    )
    broken = g.mask(0.03)
    bad = g.choose([1, 1, 1], join(y, "-02-30"), pa.scalar("未知"), pa.scalar("2999-01-01"))
    return pc.if_else(pa.array(broken), bad, values), ~broken


def names(g: Gen) -> Any:
    given = pc.if_else(pa.array(g.mask(0.6)), join(g.pick(GIVEN), g.pick(GIVEN)), g.pick(GIVEN))
    return g.choose(
        [95, 3, 2],
        join(g.pick(SURNAMES), given),
        join(g.pick(COMPOUND), given),
        join(g.pick(MINORITY), "·", g.pick(MINORITY)),
    )


def person_names(g: Gen) -> tuple[Any, np.ndarray]:
    # hard positives: 2% rare surnames outside the detector's list
    rare = join(g.pick(RARE_SURNAMES), g.pick(GIVEN), g.pick(GIVEN))
    values = pc.if_else(pa.array(g.mask(0.02)), rare, names(g))
    broken = g.mask(0.03)
    bad = g.pick(["未知", "不详", "测试", "N/A", "张三三三三", "test"])
    return pc.if_else(pa.array(broken), bad, values), ~broken


def addresses(g: Gen) -> tuple[Any, np.ndarray]:
    street = join(g.pick(CITIES), g.pick(DISTRICTS), g.pick(ROADS), g.number(1, 1000), "号")
    building = join(g.number(1, 30), "栋", g.number(1, 6), "单元", g.number(101, 2500), "室")
    urban = pc.if_else(pa.array(g.mask(0.4)), join(street, building), street)
    rural = join(g.pick(COUNTIES), g.pick(TOWNS), g.pick(VILLAGES), g.number(1, 12), "组")
    values = pc.if_else(pa.array(g.mask(0.1)), rural, urban)
    # hard positives: 2% addresses with neither a division marker nor a street number
    bare = g.choose(
        [1, 1],
        join(g.pick(VILLAGES), g.number(1, 12), "组"),
        join(g.pick(["海淀黄庄", "和平", "安贞"]), "南里", g.number(1, 30), "号楼"),
    )
    values = pc.if_else(pa.array(g.mask(0.02)), bare, values)
    broken = g.mask(0.03)
    return pc.if_else(pa.array(broken), g.pick(["不详", "暂无", "见备注", "—"]), values), ~broken


def free_text(g: Gen) -> tuple[Any, dict[str, np.ndarray]]:
    ids, ids_ok = resident_ids(g, dirty=0.0, old=0.0)
    bad_ids, _ = resident_ids(g, dirty=1.0, old=0.0)
    mobile, mobile_spaced = mobiles(g)
    card, card_ok = bank_cards(g)
    mail = join(g.pick(PINYIN), g.number(1, 1000), "@", g.pick(DOMAINS))
    name = names(g)
    weights = [55, 10, 8, 6, 5, 5, 6, 5]
    which = g.rng.choice(len(weights), g.n, p=np.array(weights) / sum(weights))
    values = pc.choose(
        pa.array(which.astype(np.int8)),
        g.pick(SENTENCES),
        join("客户", name, "来电咨询，联系电话", mobile, "。"),
        join("已核验身份证", ids, "，信息无误"),
        join("请将发票发送至", mail, "，谢谢"),
        join("退款已原路退回银行卡", card),
        join("车辆", plates(g), "在路口违停，已通知车主"),
        join(name, "，手机", mobile_spaced, "，身份证号", ids),
        join("证件号", bad_ids, "核验未通过"),
    )
    truth = {code: np.zeros(g.n, dtype=bool) for code in SEARCHED}
    truth["mobile"] = (which == 1) | (which == 6)
    truth["resident_id"] = ((which == 2) | (which == 6)) & ids_ok
    truth["email"] = which == 3
    truth["bank_card"] = (which == 4) & card_ok
    truth["licence_plate"] = which == 5
    return values, truth


# -- decoys ---------------------------------------------------------------------------------


def random_digit_strings(g: Gen, shortest: int, longest: int) -> Any:
    lengths = g.ints(shortest, longest + 1)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    data = g.rng.integers(48, 58, int(offsets[-1]), dtype=np.uint8)
    return pa.StringArray.from_buffers(g.n, pa.py_buffer(offsets), pa.py_buffer(data))


def decoys(g: Gen) -> dict[str, Any]:
    failing_ids, _ = resident_ids(g, dirty=1.0, old=0.0)
    year, month, day = ymd(g, "2015-01-01", "2024-12-31")
    stamp = join(
        pc.cast(pa.array(year), pa.string()),
        pc.utf8_lpad(pc.cast(pa.array(month), pa.string()), 2, padding="0"),
        pc.utf8_lpad(pc.cast(pa.array(day), pa.string()), 2, padding="0"),
    )
    first_two = np.array([10, 11, 12, *range(20, 100)])[g.ints(0, 83)]
    seconds = g.ints(0, 10 * 365 * 86400)
    return {
        "dabh": failing_ids,  # 档案编号: 18 digits, ID-shaped, wrong check character
        "订单号": join(stamp, g.digits(10)),
        "流水号": join("62", g.digits(17)),  # UnionPay-like 19 digits, 1 in 10 passes Luhn
        "金额": pa.array(np.round(g.rng.uniform(0, 100000, g.n), 2)),
        "金额文本": pc.utf8_replace_slice(
            pc.cast(pa.array(np.round(g.rng.uniform(10000, 99999, g.n), 2)), pa.string()), 2, 2, ","
        ),
        "serial_no": join("SN", g.digits(10)),
        "product_code": join("SKU-", g.pick(LETTERS), g.pick(LETTERS), "-", g.digits(5)),
        "random11": join(pc.cast(pa.array(first_two), pa.string()), g.digits(9)),
        "企业名称": join(
            g.pick(["杭州", "深圳", "成都", "烟台"]),
            g.pick(COMPANY_WORDS),
            g.pick(TRADES),
            "有限公司",
        ),
        "updated_at": pa.array(
            np.datetime64("2015-01-01T00:00:00") + (seconds + 1).astype("timedelta64[s]")
        ),
        "登记时间": pc.strftime(
            pa.array(np.datetime64("2015-01-01T00:00:00") + seconds.astype("timedelta64[s]")),
            format="%Y-%m-%d %H:%M:%S",
        ),
        "下单日期": pa.array(
            np.datetime64("2020-01-01") + g.ints(0, 1800).astype("timedelta64[D]")
        ).cast(pa.date32()),
        "random_digits": random_digit_strings(g, 6, 20),
        "djzt": g.pick(["存续", "注销", "在业", "吊销"]),
        "数量": pa.array(g.ints(0, 500)),
    }


def generate(folder: Path, rows: int) -> tuple[Path, dict[str, tuple[str | None, Any]]]:
    """Write the labeled table; returns the path and, per column, (expected type, truth) where
    truth is a boolean mask (a dict of masks per contained type for free text)."""
    g = Gen(rows, SEED)
    columns: dict[str, Any] = {}
    labels: dict[str, tuple[str | None, Any]] = {}

    def add(
        name: str, code: str | None, values: Any, truth: Any = None, nulls: bool = True
    ) -> None:
        if nulls:
            values, present = g.nulls(values)
            if truth is not None and not isinstance(truth, dict):
                truth = truth & present
            elif isinstance(truth, dict):
                truth = {k: v & present for k, v in truth.items()}
        columns[name] = values
        labels[name] = (code, truth if truth is not None else np.zeros(rows, dtype=bool))

    add("身份证号", "resident_id", *resident_ids(g))
    add("sjhm", "mobile", *messy_mobiles(g))
    ints_broken = g.mask(0.03)
    mobile_ints = np.array([int(p) for p in MOBILE_PREFIXES])[g.ints(0, len(MOBILE_PREFIXES))]
    mobile_ints = mobile_ints * 10**8 + g.ints(0, 10**8)
    mobile_ints = np.where(ints_broken, g.ints(10**10, 13 * 10**9), mobile_ints)
    add("联系手机", "mobile", pa.array(mobile_ints), ~ints_broken)
    add("固定电话", "landline", *landlines(g))
    add("银行卡号", "bank_card", *bank_cards(g))
    add("tyshxydm", "uscc", *usccs(g))
    add("邮箱", "email", *emails(g))
    add("护照号码", "passport", *passports(g))
    add("港澳通行证", "hk_macau_permit", *hk_macau_permits(g))
    add("台胞证号", "taiwan_permit", *taiwan_permits(g))
    add("车牌号", "licence_plate", *licence_plates(g))
    add("ip", "ipv4", *ipv4s(g))
    add("ipv6", "ipv6", *ipv6s(g))
    add("坐标", "gps", *gps_pairs(g))
    lng, _ = coordinate(g, 73, 135)
    lat, _ = coordinate(g, 18, 53)
    add("经度", "gps", pa.array(lng), np.ones(rows, dtype=bool))
    add("纬度", "gps", pa.array(lat), np.ones(rows, dtype=bool))
    add("出生日期", "birth_date", *birth_dates(g))
    born_days = np.datetime64("1930-01-01") + g.ints(0, 33000).astype("timedelta64[D]")
    add("csrq", "birth_date", pa.array(born_days).cast(pa.date32()), np.ones(rows, dtype=bool))
    add("姓名", "person_name", *person_names(g))
    add("地址", "address", *addresses(g))
    add("备注", "free_text", *free_text(g))
    for name, values in decoys(g).items():
        add(name, None, values)

    table = pa.table(columns)
    path = folder / "labeled.parquet"
    pq.write_table(table, path, row_group_size=100_000)
    return path, labels


# -- scoring --------------------------------------------------------------------------------


class Score:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0

    def add(self, predicted: np.ndarray, truth: np.ndarray) -> None:
        self.tp += int((predicted & truth).sum())
        self.fp += int((predicted & ~truth).sum())
        self.fn += int((~predicted & truth).sum())

    def figures(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def evaluate(
    table: Any, findings: list[ColumnFinding], labels: dict[str, tuple[str | None, Any]]
) -> tuple[dict[str, Score], dict[str, Score]]:
    """Value-level scores per type, and per type contained in free text."""
    scores = {code: Score() for code in TYPES}
    inside = {code: Score() for code in SEARCHED}
    for finding in findings:
        expected, truth = labels[finding.column]
        column = table.column(finding.column)
        predicted = finding_mask(column, finding)
        none = np.zeros(len(predicted), dtype=bool)
        if isinstance(truth, dict):
            any_truth = np.logical_or.reduce(list(truth.values()))
            found = contains_masks(column, finding.contains) if finding.type == "free_text" else {}
            for code in SEARCHED:
                inside[code].add(found.get(code, none), truth[code])
            truth = any_truth
        for code, score in scores.items():
            score.add(
                predicted if finding.type == code else none,
                truth if expected == code else none,
            )
    return scores, inside


# -- Presidio -------------------------------------------------------------------------------


def presidio_engines(folder: Path) -> dict[str, Any] | str:
    """The analyzers to time, or why there are none."""
    try:
        from presidio_analyzer import (
            AnalyzerEngine,
            Pattern,
            PatternRecognizer,
            RecognizerRegistry,
        )
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError as exc:
        return f"presidio-analyzer is not importable ({exc})"

    class Checked(PatternRecognizer):
        """A PatternRecognizer whose validate_result runs one of our scalar checks."""

        def __init__(self, code: str, entity: str, regex: str) -> None:
            super().__init__(
                supported_entity=entity,
                supported_language="zh",
                patterns=[Pattern(entity.lower(), regex, 0.5)],
            )
            self.code = code

        def validate_result(self, pattern_text: str) -> bool:
            return bool(DETECTORS[self.code].is_valid(pattern_text))

    recognizers = [
        (
            "resident_id",
            "CN_RESIDENT_ID",
            r"(?<![0-9A-Za-z])(?:[1-9]\d{16}[\dXx]|[1-9]\d{14})(?![0-9A-Za-z])",
        ),
        ("mobile", "CN_MOBILE", r"(?<!\d)(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)"),
        (
            "uscc",
            "CN_USCC",
            r"(?<![0-9A-Za-z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Za-z])",
        ),
        ("bank_card", "CN_BANK_CARD", r"(?<!\d)(?:\d[ -]?){15,18}\d(?!\d)"),
        ("email", "EMAIL_ADDRESS", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,24}"),
    ]

    def registry() -> Any:
        reg = RecognizerRegistry(supported_languages=["zh"])
        for code, entity, regex in recognizers:
            reg.add_recognizer(Checked(code, entity, regex))
        return reg

    engines: dict[str, Any] = {}
    try:
        from presidio_analyzer.nlp_engine import NoOpNlpEngine

        engines["no-op NLP"] = AnalyzerEngine(
            registry=registry(),
            nlp_engine=NoOpNlpEngine(models=[{"lang_code": "zh", "model_name": "none"}]),
            supported_languages=["zh"],
        )
    except ImportError:
        pass
    try:
        import spacy

        model = folder / "spacy-zh-blank"
        spacy.blank("zh").to_disk(model)
        provider = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "zh", "model_name": str(model)}],
            }
        )
        engines["blank spaCy zh"] = AnalyzerEngine(
            registry=registry(), nlp_engine=provider.create_engine(), supported_languages=["zh"]
        )
    except Exception as exc:
        print(f"presidio with a blank spaCy pipeline unavailable: {type(exc).__name__}: {exc}")
    return engines or "no Presidio NLP engine could be built without a model download"


ENTITY_TYPE = {
    "CN_RESIDENT_ID": "resident_id",
    "CN_MOBILE": "mobile",
    "CN_USCC": "uscc",
    "CN_BANK_CARD": "bank_card",
    "EMAIL_ADDRESS": "email",
}


def run_presidio(
    engine: Any, cells: dict[str, list[str | None]]
) -> tuple[float, int, dict[str, list[set[str]]]]:
    """Analyse every non-null cell; returns (seconds, UTF-8 bytes, per column the set of types
    found per cell)."""
    found: dict[str, list[set[str]]] = {}
    size = 0
    started = time.perf_counter()
    for name, values in cells.items():
        column_found: list[set[str]] = []
        for cell in values:
            if cell is None:
                column_found.append(set())
                continue
            size += len(cell.encode())
            results = engine.analyze(text=cell, language="zh")
            column_found.append({ENTITY_TYPE[r.entity_type] for r in results if r.score > 0})
        found[name] = column_found
    return time.perf_counter() - started, size, found


# -- report ---------------------------------------------------------------------------------


def text_bytes(table: Any, names: list[str] | None = None) -> int:
    total = 0
    for name in names or table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            total += int(pc.sum(pc.binary_length(column)).as_py() or 0)
    return total


def print_scores(title: str, scores: dict[str, Score], codes: list[str], target: bool) -> None:
    print(title)
    print(f"  {'type':<16} {'TP':>9} {'FP':>7} {'FN':>7} {'precision':>9} {'recall':>7} {'F1':>7}")
    for code in codes:
        score = scores[code]
        p, r, f1 = score.figures()
        mark = ""
        if target and code in STRUCTURED:
            mark = "  ok (≥ 0.99)" if f1 >= 0.99 else "  BELOW 0.99"
        print(
            f"  {code:<16} {score.tp:>9,} {score.fp:>7,} {score.fn:>7,} {p:>9.4f} {r:>7.4f} "
            f"{f1:>7.4f}{mark}"
        )


def main(quick: bool = False) -> None:
    rows = 50_000 if quick else 1_000_000
    slice_rows = 2_000 if quick else 100_000
    print(f"== classify: {rows:,}-row labeled table, one column per type + decoys (SEC-1)")
    tmp = Path(tempfile.mkdtemp(prefix="yaosu-bench-classify-"))
    try:
        started = time.perf_counter()
        path, labels = generate(tmp, rows)
        table = pq.read_table(path)
        size = text_bytes(table)
        print(
            f"generated in {time.perf_counter() - started:.1f}s: {table.num_columns} columns, "
            f"parquet {path.stat().st_size / 1e6:,.1f} MB, text values {size / 1e6:,.1f} MB"
        )

        runs = 1 if quick else 3
        best = float("inf")
        findings: list[ColumnFinding] = []
        for _ in range(runs):
            started = time.perf_counter()
            findings = classify_parquet(path)
            best = min(best, time.perf_counter() - started)
        ours = size / best / 1e6
        print(
            f"classify_parquet, whole file (best of {runs}): {best:.2f}s, "
            f"{ours:,.1f} MB/s of text, "
            f"{rows * table.num_columns / best / 1e6:,.1f} M cells/s"
        )
        five = list(PRESIDIO_COLUMNS)
        five_size = text_bytes(table, five)
        best_five = float("inf")
        for _ in range(runs):
            started = time.perf_counter()
            classify_parquet(path, columns=five)
            best_five = min(best_five, time.perf_counter() - started)
        ours_five = five_size / best_five / 1e6
        print(f"classify_parquet, the 5 Presidio columns: {best_five:.2f}s, {ours_five:,.1f} MB/s")

        print("\ncolumn decisions:")
        print(f"  {'column':<14} {'expected':<16} {'predicted':<16} {'conf':>5}  contains / hint")
        for f in findings:
            expected = labels[f.column][0]
            verdict = "" if f.type == expected else "   <-- differs"
            extra = ",".join(f.contains) if f.contains else (f.hint or "")
            print(
                f"  {f.column:<14} {expected or '-':<16} {f.type or '-':<16} "
                f"{f.confidence:>5.2f}  {extra}{verdict}"
            )

        scores, inside = evaluate(table, findings, labels)
        print()
        print_scores(
            "value-level precision / recall per type:",
            scores,
            [c for c in TYPES if scores[c].tp + scores[c].fp + scores[c].fn],
            True,
        )
        print_scores("identifiers inside the free-text column:", inside, list(SEARCHED), False)
        structured = [scores[c].figures()[2] for c in STRUCTURED]
        print(
            f"structured types at F1 ≥ 0.99: {sum(f >= 0.99 for f in structured)}/{len(structured)}"
        )

        print(f"\n== Presidio baseline: {slice_rows:,} rows × {len(five)} columns, cell by cell")
        engines = presidio_engines(tmp)
        if isinstance(engines, str):
            print(f"baseline skipped: {engines}; install it with `pip install presidio-analyzer`")
            print("(or `make bench`, which installs the [bench] extra)")
            return
        cells = {name: table.column(name).slice(0, slice_rows).to_pylist() for name in five}
        best_rate, best_label = 0.0, ""
        presidio_found: dict[str, list[set[str]]] = {}
        for number, (label, engine) in enumerate(engines.items()):
            # The first set-up sees the whole slice (its findings give Presidio's precision and
            # recall); the others are only timed, on a fifth of it in a full run.
            rows_here = slice_rows if number == 0 or quick else slice_rows // 5
            part = {name: values[:rows_here] for name, values in cells.items()}
            seconds, analysed, found = run_presidio(engine, part)
            rate = analysed / seconds / 1e6
            print(
                f"presidio ({label}, {rows_here:,} rows): {seconds:.2f}s, {rate:,.3f} MB/s, "
                f"{rows_here * len(five) / seconds:,.0f} cells/s"
            )
            if number == 0:
                presidio_found = found
            if rate > best_rate:
                best_rate, best_label = rate, label
        ratio = ours_five / best_rate
        print(
            f"ratio ours / presidio ({best_label}), same 5 columns: {ratio:,.0f}× (target ≥ 100×)"
        )
        print(f"ratio ours (whole file) / presidio ({best_label}): {ours / best_rate:,.0f}×")

        ours_slice = {code: Score() for code in PRESIDIO_COLUMNS.values()}
        theirs = {code: Score() for code in PRESIDIO_COLUMNS.values()}
        by_column = {f.column: f for f in findings}
        for name in five:
            expected, truth = labels[name]
            truth = truth[:slice_rows]
            ours_mask = finding_mask(table.column(name).slice(0, slice_rows), by_column[name])
            for code in ours_slice:
                none = np.zeros(slice_rows, dtype=bool)
                mine = ours_mask if by_column[name].type == code else none
                ours_slice[code].add(mine, truth if expected == code else none)
                presidio_mask = np.array([code in s for s in presidio_found[name]], dtype=bool)
                theirs[code].add(presidio_mask, truth if expected == code else none)
        print(f"\nprecision / recall on the slice (presidio {best_label} | ours):")
        for code in ours_slice:
            p1, r1, f1 = theirs[code].figures()
            p2, r2, f2 = ours_slice[code].figures()
            print(
                f"  {code:<12} presidio P {p1:.4f} R {r1:.4f} F1 {f1:.4f} | "
                f"ours P {p2:.4f} R {r2:.4f} F1 {f2:.4f}"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
