"""The column decision: clean, messy and dirty columns, decoys, hints that move confidence but
never decide, free text, bad input, Parquet streaming."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yaosu.classification.columns import (
    TYPES,
    ColumnFinding,
    as_text,
    classify_parquet,
    classify_table,
    finding_mask,
    temporal_birth_mask,
)
from yaosu.classification.detectors import DETECTORS
from yaosu.classification.hints import Hint, hint_for, words
from yaosu.kit.errors import Invalid
from yaosu.kit.uscc import ALPHABET, check_character

N = 300


def id_check(body17: str) -> str:
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(body17))
    return "10X98765432"[total % 11]


def resident_id(rng: random.Random) -> str:
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 70))
    body = f"{rng.choice(['11', '32', '44', '51'])}{rng.randrange(10**4):04d}{born:%Y%m%d}"
    body += f"{rng.randrange(1000):03d}"
    return body + id_check(body)


def luhn(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    for last in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(body + last)):
            x = int(ch) * (2 if i % 2 else 1)
            total += x - 9 if x > 9 else x
        if total % 10 == 0:
            return body + last
    raise AssertionError


def uscc(rng: random.Random) -> str:
    body = "91" + rng.choice(["110105", "440305"]) + "".join(rng.choices(ALPHABET, k=9))
    return body + check_character(body)


def mobile(rng: random.Random) -> str:
    return rng.choice(["138", "186", "199", "150"]) + f"{rng.randrange(10**8):08d}"


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def column(make: object, n: int = N, seed: int = 7) -> list[object]:
    rng = random.Random(seed)
    assert callable(make)
    return [make(rng) for _ in range(n)]


VALUES = {
    "resident_id": lambda r: resident_id(r),
    "mobile": lambda r: mobile(r),
    "landline": lambda r: (
        f"0{r.choice(['10', '21', '755', '571'])}-{r.randrange(2, 9)}{digits(r, 7)}"
    ),
    "bank_card": lambda r: luhn(r, r.choice(["622202", "4", "53"]), r.choice([16, 19])),
    "uscc": lambda r: uscc(r),
    "email": lambda r: f"user{r.randrange(10**5)}@example.com",
    "passport": lambda r: r.choice(["E", "G"]) + digits(r, 8),
    "hk_macau_permit": lambda r: "C" + digits(r, 8),
    "licence_plate": lambda r: r.choice("京沪粤苏") + r.choice("ABCDE") + digits(r, 5),
    "ipv4": lambda r: ".".join(str(r.randrange(256)) for _ in range(4)),
    "ipv6": lambda r: "2001:db8::" + ":".join(f"{r.randrange(65536):x}" for _ in range(3)),
    "gps": lambda r: f"{r.uniform(73, 135):.6f},{r.uniform(18, 53):.6f}",
    "birth_date": lambda r: f"{date(1940, 1, 1) + timedelta(days=r.randrange(30000))}",
    "person_name": lambda r: (
        r.choice("王李张刘陈杨") + r.choice("伟芳娜敏静强") + r.choice(["", "明"])
    ),
    "address": lambda r: (
        f"{r.choice(['北京市朝阳区', '浙江省杭州市西湖区'])}"
        f"{r.choice(['人民路', '文三路'])}{r.randrange(1, 999)}号"
    ),
}


def classify(**columns: object) -> dict[str, ColumnFinding]:
    table = pa.table(columns)  # type: ignore[arg-type]
    return {f.column: f for f in classify_table(table)}


# -- clean, messy and dirty columns -----------------------------------------------------------


def test_clean_columns_are_classified_from_their_values_alone() -> None:
    names = {code: f"c{i}" for i, code in enumerate(VALUES)}  # names that hint nothing
    found = classify(**{names[code]: column(make) for code, make in VALUES.items()})
    for code, name in names.items():
        finding = found[name]
        assert finding.type == code, (code, finding.reason)
        assert finding.valid == finding.non_null == N
        assert finding.hint is None
        assert finding.confidence == pytest.approx(DETECTORS[code].ceiling)
    assert found[names["birth_date"]].confidence == pytest.approx(0.6)  # dates: moderate only
    assert "at most 60%" in found[names["birth_date"]].reason


def test_messy_formats() -> None:
    rng = random.Random(3)
    mobiles = [
        rng.choice(["+86 {}-{}-{}", "0086{}{}{}", "({}) {} {}", "86-{}{}{}", "{} {} {}"]).format(
            m[:3], m[3:7], m[7:]
        )
        for m in column(VALUES["mobile"])
    ]
    fullwidth = [m.translate({0x30 + i: 0xFF10 + i for i in range(10)}) for m in mobiles[:50]]
    ids = [i.lower() if i.endswith("X") else i for i in column(VALUES["resident_id"], 600)]
    cards = [
        " ".join(c[i : i + 4] for i in range(0, len(c), 4)) for c in column(VALUES["bank_card"])
    ]
    found = classify(phone=mobiles + fullwidth, ident=ids[: N + 50], card=cards + cards[:50])
    assert found["phone"].type == "mobile" and found["phone"].valid == N + 50
    assert any(i.endswith("x") for i in ids[: N + 50])
    assert found["ident"].type == "resident_id" and found["ident"].valid == N + 50
    assert found["card"].type == "bank_card" and found["card"].valid == N + 50


def test_a_few_dirty_values_do_not_change_the_type_but_do_not_count() -> None:
    values = column(VALUES["resident_id"], 97)
    dirty = ["110105194912310021", "待补录", "123"]  # (placeholders such as 未知: below)
    found = classify(col=[*values, *dirty, None, None])["col"]
    assert found.type == "resident_id"
    assert (found.non_null, found.valid) == (100, 97)
    assert found.confidence == pytest.approx(0.97)
    assert "97 of 100" in found.reason and "97 个" in found.reason_zh


# -- decoys -------------------------------------------------------------------------------------


def test_decoys_are_not_flagged() -> None:
    rng = random.Random(11)
    failing = []
    for value in column(VALUES["resident_id"]):
        wrong = "0123456789X".replace(value[-1], "")[rng.randrange(10)]
        failing.append(value[:-1] + wrong)
    start = datetime(2015, 1, 1)
    decoys = {
        "ref": failing,
        "order_no": [f"2024{rng.randrange(101, 1231):04d}{digits(rng, 10)}" for _ in range(N)],
        "txn": ["62" + digits(rng, 17) for _ in range(N)],
        "amount": [round(rng.uniform(0, 1e5), 2) for _ in range(N)],
        "amount_text": [f"{rng.uniform(1e3, 1e5):,.2f}" for _ in range(N)],
        "serial": ["SN" + digits(rng, 10) for _ in range(N)],
        "product": [
            f"SKU-{rng.choice('ABC')}{rng.choice('XYZ')}-{digits(rng, 5)}" for _ in range(N)
        ],
        "eleven": [
            f"{rng.choice([10, 11, 12, *range(20, 100)])}{digits(rng, 9)}" for _ in range(N)
        ],
        "company": [
            f"{rng.choice(['杭州', '深圳'])}{rng.choice(['华兴', '恒通'])}科技有限公司"
            for _ in range(N)
        ],
        "stamp": [start + timedelta(seconds=rng.randrange(10**8) + 1) for _ in range(N)],
        "stamp_text": [f"{start + timedelta(seconds=rng.randrange(10**8))}" for _ in range(N)],
        "digits": [digits(rng, rng.randrange(6, 21)) for _ in range(N)],
        "count": [rng.randrange(500) for _ in range(N)],
        "status": [rng.choice(["存续", "注销", "在业"]) for _ in range(N)],
        "身份证号": failing,  # a name alone never decides
    }
    for name, finding in classify(**decoys).items():
        assert finding.type is None, (name, finding.reason)
        assert finding.valid == 0 and finding.confidence == 0.0
        assert finding.reason and finding.reason_zh


# -- hints --------------------------------------------------------------------------------------


def test_a_matching_hint_raises_confidence() -> None:
    births = column(VALUES["birth_date"])
    names = column(VALUES["person_name"])
    found = classify(d=births, 出生日期=births, csrq=births, col=names, xm=names)
    assert found["d"].type == found["出生日期"].type == found["csrq"].type == "birth_date"
    assert found["d"].confidence == pytest.approx(0.6)
    assert found["出生日期"].confidence == found["csrq"].confidence == 1.0
    assert found["出生日期"].hint == "birth_date" and "name agrees" in found["出生日期"].reason
    assert found["col"].confidence == pytest.approx(0.85)
    assert found["xm"].confidence == 1.0


def test_a_contrary_hint_lowers_confidence() -> None:
    births = column(VALUES["birth_date"])
    phones = column(VALUES["mobile"])
    found = classify(下单日期=births, 订单号=phones, email=phones)
    assert found["下单日期"].type is None  # 0.6 × 0.75 < 0.5
    assert found["订单号"].type == "mobile"
    assert found["订单号"].confidence == pytest.approx(0.75)
    assert "non-personal" in found["订单号"].reason
    assert found["email"].type == "mobile" and found["email"].hint == "email"
    assert "suggests email address" in found["email"].reason


def test_a_hint_never_decides_alone() -> None:
    rng = random.Random(5)
    junk = [rng.choice(["无", "n/a", "123", digits(rng, 18)]) for _ in range(N)]
    found = classify(身份证号=junk, 手机号=["暂无"] * N)
    assert found["身份证号"].type is None
    assert found["身份证号"].hint == "resident_id"
    assert found["手机号"].type is None
    assert "none of the sampled values" in found["手机号"].reason


def test_weak_forms_need_a_hint() -> None:
    rng = random.Random(9)
    permits = [digits(rng, 8) for _ in range(N)]
    latitudes = [rng.uniform(18, 53) for _ in range(N)]
    found = classify(台胞证号=permits, num=permits, 纬度=latitudes, lng=latitudes, score=latitudes)
    assert found["台胞证号"].type == "taiwan_permit" and found["台胞证号"].valid == N
    assert found["num"].type is None and "name hint" in found["num"].reason
    assert found["纬度"].type == found["lng"].type == "gps"
    assert found["score"].type is None and "name hint" in found["score"].reason


def test_landline_or_mobile_under_a_generic_phone_name() -> None:
    found = classify(联系电话=column(VALUES["landline"]), lxdh=column(VALUES["mobile"]))
    assert found["联系电话"].type == "landline" and found["联系电话"].hint == "landline"
    assert found["lxdh"].type == "mobile" and found["lxdh"].hint == "mobile"


# -- noise does not hide personal data (issue 21) -----------------------------------------------

JUNK = ["未知", "N/A", "-", "无", "测试", "123", "暂无", "test"]


def noisy_names(n: int, seed: int = 21) -> list[str]:
    """A third clean names, half names with noise around or inside, the rest junk rows."""
    rng = random.Random(seed)
    forms = [
        "{}1",
        "{}02",
        "{} 3",
        "{}（先生）",
        "{}女士",
        "{} 小姐",
        "{}(本人)",
        "*{}*",
        "{}_01",
        "姓名：{}",
        "{}\u200b",
    ]
    out = []
    for i in range(n):
        name = VALUES["person_name"](rng)
        if i % 6 in (0, 1):
            out.append(name)
        elif i % 6 == 2:
            out.append(name[0] + rng.choice([" ", "\u3000", "\t", "\u00a0", "\u200b"]) + name[1:])
        elif i % 6 in (3, 4):
            out.append(rng.choice(forms).format(name))
        else:
            out.append(rng.choice(JUNK))
    return out


@pytest.mark.parametrize(
    "header",
    [
        *["姓名", "xm", "name", "联系人", "负责人", "客户姓名", "fullName", "收件人"],
        *["姓 名", "姓\u200b名", "ＸＭ", "联系人（必填）"],  # a header hiding its meaning
    ],
)
def test_a_noisy_name_column_under_a_name_hint_is_a_name_column(header: str) -> None:
    values = noisy_names(N)
    found = classify(**{header: values})[header]
    assert found.type == "person_name", found.reason
    assert found.hint == "person_name"
    junk = sum(1 for v in values if v in JUNK)
    assert found.valid == N - junk  # every noisy name counts, no junk row does
    mask = finding_mask(pa.array(values), found)  # masking reaches the noisy values too
    assert [bool(m) for m in mask] == [v not in JUNK for v in values]


def test_noise_needs_the_hint() -> None:
    values = noisy_names(N)
    found = classify(c=values)["c"]
    clean = sum(1 for v in values if DETECTORS["person_name"].is_valid(v))
    assert found.valid in (0, clean)  # without a hint only the strict names count


@pytest.mark.parametrize(
    ("header", "code", "wrap"),
    [
        ("联系电话", "mobile", ["{}", "{}（本人）", "手机：{}", "{}转", "tel:{}", "{}\t[备用]"]),
        ("sjhm", "mobile", ["{}", "{} (手机)", "☎{}", "TEL {}"]),
        ("身份证号", "resident_id", ["{}", "{}(户主)", "身份证：{}", "ID{}", "{} 【本人】"]),
        ("sfzh", "resident_id", ["{}", "{}（本人）"]),
    ],
)
def test_noisy_phones_and_ids_under_their_hint(header: str, code: str, wrap: list[str]) -> None:
    rng = random.Random(4)
    base = column(VALUES[code])
    values = []
    for i, v in enumerate(base):
        if code == "mobile" and i % 3 == 0:
            v = f"{v[:3]}.{v[3:7]}.{v[7:]}"
        if code == "resident_id" and i % 3 == 0:
            v = f"{v[:6]} {v[6:14]} {v[14:].lower()}"
        values.append(rng.choice(wrap).format(v) if i % 5 else rng.choice(JUNK))
    found = classify(**{header: values})[header]
    assert found.type == code, found.reason
    assert found.valid == sum(1 for i in range(N) if i % 5)
    # the same values under a neutral name: the wrapped ones do not count
    neutral = classify(c=values)["c"]
    assert neutral.valid < found.valid


def test_padding_with_placeholders_does_not_hide_a_column() -> None:
    names = column(VALUES["person_name"], 60)
    ids = column(VALUES["resident_id"], 60)
    pad = ["无", "-", "N/A", "未知", "暂无", "null", "—", "/"] * 30  # 240 rows of nothing
    found = classify(姓名=names + pad, 证件=ids + pad, col=ids + pad)
    assert found["姓名"].type == "person_name" and found["姓名"].valid == 60
    assert found["证件"].type == "resident_id" and found["col"].type == "resident_id"
    assert found["col"].confidence == pytest.approx(1.0)
    assert "240 placeholders" in found["col"].reason and "240 个" in found["col"].reason_zh


@pytest.mark.parametrize("header", ["姓名", "name", "联系人", "负责人", "xm"])
def test_decoys_under_a_name_hint_stay_unclassified(header: str) -> None:
    rng = random.Random(8)
    decoys = {
        "facilities": ["第一人民医院", "市图书馆", "中心小学", "人民公园", "体育中心", "科技馆"],
        "streets": ["中山路", "解放大道", "长安街", "人民路88号", "文三路1", "建设街2"],
        "companies": ["杭州华兴科技有限公司", "深圳恒通贸易有限公司1", "华润万家超市"],
        "stations": ["西湖站", "火车东站1", "杭州南站（高铁）"],
        "products": ["SKU-AX-12345", "iPhone 15", "P40 Pro"],
    }
    for kind, pool in decoys.items():
        values = [rng.choice(pool) + rng.choice(["", "1", " 2", "（总部）"]) for _ in range(N)]
        values += ["无"] * 50  # padding changes nothing
        found = classify(**{header: values})[header]
        assert found.type is None, (kind, found.reason)
        assert found.valid == 0


# -- free text ----------------------------------------------------------------------------------


def test_free_text_with_identifiers_inside() -> None:
    rng = random.Random(1)
    notes = []
    for i in range(N):
        if i % 3 == 0:
            notes.append(f"客户来电，电话{mobile(rng)}，请回电")
        elif i % 3 == 1:
            notes.append(f"已核验身份证{resident_id(rng)}，信息无误")
        else:
            notes.append("资料齐全，予以受理。")
    found = classify(remark=notes, 说明=["资料齐全，予以受理。"] * N)
    assert found["remark"].type == "free_text"
    assert found["remark"].contains == ("resident_id", "mobile")
    assert found["remark"].valid == 200
    assert "mobile phone number (100)" in found["remark"].reason
    assert found["说明"].type is None and "no identifier" in found["说明"].reason


def test_identifiers_beyond_the_sample_are_found() -> None:
    notes = ["市民建议增加公交班次"] * 5000
    notes[4321] = "联系人手机13812345678"
    found = classify_table(pa.table({"notes": notes}), sample_size=50)[0]
    assert found.type == "free_text" and found.contains == ("mobile",) and found.valid == 1


# -- numbers, dates, timestamps -----------------------------------------------------------------


def test_numeric_columns() -> None:
    phones = [int(m) for m in column(VALUES["mobile"])]
    ids = [int(i) for i in column(VALUES["resident_id"], 600) if not i.endswith("X")][:N]
    births = [int(b.replace("-", "")) for b in column(VALUES["birth_date"])]
    found = classify(
        phone=pa.array(phones, pa.int64()),
        phone_float=pa.array([float(p) for p in phones]),
        ident=pa.array(ids, pa.int64()),
        csrq=pa.array(births, pa.int32()),
        price=pa.array([float(p) / 100 for p in phones]),
    )
    assert found["phone"].type == found["phone_float"].type == "mobile"
    assert found["ident"].type == "resident_id" and found["ident"].valid == N
    assert found["csrq"].type == "birth_date"
    assert found["price"].type is None


def test_dates_and_timestamps() -> None:
    births = [date(1950, 1, 1) + timedelta(days=i * 80) for i in range(N)]
    midnight = [datetime(b.year, b.month, b.day) for b in births]
    with_time = [d + timedelta(hours=9, minutes=30) for d in midnight]
    found = classify(
        born=pa.array(births, pa.date32()),
        at=pa.array(midnight, pa.timestamp("us")),
        logged=pa.array(with_time, pa.timestamp("ms")),
        出生时间=pa.array(with_time, pa.timestamp("s", tz="Asia/Shanghai")),
    )
    assert found["born"].type == found["at"].type == "birth_date"
    assert found["born"].confidence == pytest.approx(0.6)
    assert found["logged"].type is None
    assert found["出生时间"].type == "birth_date" and found["出生时间"].confidence == 1.0


@settings(max_examples=60)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.datetimes(min_value=datetime(1890, 1, 1), max_value=datetime(2100, 1, 1)),
            st.dates(min_value=date(1899, 12, 1), max_value=date.today() + timedelta(days=5)).map(
                lambda d: datetime(d.year, d.month, d.day)
            ),
        ),
        max_size=30,
    ),
    st.sampled_from(["s", "ms", "us", "ns"]),
    st.sampled_from([None, "Asia/Shanghai", "America/New_York"]),
    st.booleans(),
)
def test_the_temporal_shortcut_agrees_with_the_text_path(
    values: list[datetime | None], unit: str, tz: str | None, hinted: bool
) -> None:
    stamps = pa.array(values, pa.timestamp(unit))
    if tz:
        stamps = stamps.cast(pa.timestamp(unit, tz=tz))
    dates = pa.array([v.date() if v else None for v in values], pa.date32())
    birth = DETECTORS["birth_date"]
    for array in (stamps, dates):
        text = as_text(array)
        expected = birth.valid_mask(text) | (birth.weak_mask(text) if hinted else False)
        assert temporal_birth_mask(array, hinted).tolist() == expected.tolist()


# -- bad input ----------------------------------------------------------------------------------


def test_bad_input_gives_unclassified_findings() -> None:
    rng = random.Random(2)
    junk = [
        "".join(chr(rng.randrange(32, 0x9FFF)) for _ in range(rng.randrange(1, 30)))
        for _ in range(N)
    ]
    table = pa.table(
        {
            "junk": junk,
            "mixed": [
                rng.choice([resident_id(rng), "abc", "13812345678", None, "地址"]) for _ in range(N)
            ],
            "nulls": pa.array([None] * N, pa.string()),
            "nothing": pa.nulls(N),
            "huge": ["1" * 1_000_000, "张" * 400_000, None] + ["x"] * (N - 3),
            "bytes": pa.array([b"\x00\xff" + bytes([i % 256]) for i in range(N)]),
            "lists": pa.array([[1, 2]] * N),
            "structs": pa.array([{"a": 1}] * N),
            "flags": pa.array([True] * N),
            "clock": pa.array([1000] * N, pa.time32("s")),
            "broken": ["\ufffd\ufffd" + str(i) for i in range(N)],
        }
    )
    found = {f.column: f for f in classify_table(table)}
    assert list(found) == table.column_names
    for name, finding in found.items():
        assert finding.type is None, (name, finding.reason)
        assert finding.reason and finding.reason_zh
        json.dumps(finding.as_dict(), ensure_ascii=False)
    assert "all 300 values are null" in found["nulls"].reason
    assert "全部" in found["nothing"].reason_zh
    assert "binary" in found["bytes"].reason and found["bytes"].non_null == N
    assert "nested" in found["lists"].reason and "嵌套" in found["structs"].reason_zh
    assert "boolean" in found["flags"].reason
    assert "time32" in found["clock"].reason


def test_empty_table() -> None:
    table = pa.table({"身份证号": pa.array([], pa.string()), "n": pa.array([], pa.int64())})
    found = classify_table(table)
    assert [f.column for f in found] == ["身份证号", "n"]
    assert all(f.type is None and f.non_null == 0 for f in found)
    assert found[0].reason == "the table has no rows" and found[0].reason_zh == "表中没有数据行"
    assert classify_table(pa.table({})) == []


def test_string_layouts_and_missing_or_duplicate_columns() -> None:
    ids = pa.array(column(VALUES["resident_id"]))
    table = pa.table(
        [ids.cast(pa.large_string()), ids.dictionary_encode(), ids.cast(pa.string_view()), ids],
        names=["large", "dict", "view", "large"],
    )
    found = classify_table(table, columns=["view", "nope", "dict", "large"])
    assert [f.column for f in found] == ["view", "nope", "dict", "large"]
    assert found[0].type == found[2].type == "resident_id"
    assert found[1].reason == "no such column" and found[1].reason_zh == "没有这一列"
    assert found[3].type is None and "not unique" in found[3].reason


# -- Parquet --------------------------------------------------------------------------------------


def _sample_table() -> pa.Table:
    rng = random.Random(4)
    notes = [f"电话{mobile(rng)}" if i % 4 == 0 else "正常办理" for i in range(N)]
    return pa.table(
        {
            "姓名": column(VALUES["person_name"]),
            "sfzh": column(VALUES["resident_id"]),
            "备注": notes,
            "amount": [float(i) for i in range(N)],
            "born": pa.array([date(1960, 1, 1) + timedelta(days=i) for i in range(N)]),
            "when": pa.array([datetime(2020, 1, 1, tzinfo=UTC)] * N),
        }
    )


def test_parquet_streaming_gives_the_same_findings_as_the_table(tmp_path: object) -> None:
    table = _sample_table()
    path = f"{tmp_path}/t.parquet"
    pq.write_table(table, path, row_group_size=64)
    expected = classify_table(table)
    assert classify_parquet(path, batch_rows=37) == expected
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    buffer.seek(0)
    assert classify_parquet(buffer) == expected
    subset = classify_parquet(path, columns=["备注", "missing", "sfzh"])
    assert [f.column for f in subset] == ["备注", "missing", "sfzh"]
    assert subset[0].type == "free_text" and subset[2].type == "resident_id"
    assert subset[1].reason == "no such column"


def test_parquet_sample_is_spread_over_row_groups(tmp_path: object) -> None:
    ids = column(VALUES["resident_id"], 1000)
    values: list[str | None] = ["待补录"] * 100 + ids[100:]
    path = f"{tmp_path}/spread.parquet"
    pq.write_table(pa.table({"c": values}), path, row_group_size=100)
    found = classify_parquet(path, sample_size=200)[0]
    assert found.type == "resident_id" and found.valid == 900
    # and a column whose values are null in every sampled head is still read to the end
    late: list[str | None] = [None] * 990 + ids[:10]
    pq.write_table(pa.table({"c": late}), path, row_group_size=1000)
    assert classify_parquet(path, sample_size=10, batch_rows=100)[0].type == "resident_id"


def test_unreadable_source_is_a_typed_error(tmp_path: object) -> None:
    path = f"{tmp_path}/not.parquet"
    with open(path, "wb") as out:
        out.write(b"id,name\n1,a\n")
    with pytest.raises(Invalid) as caught:
        classify_parquet(path)
    assert caught.value.code == "classification_unreadable"


# -- the public shapes ------------------------------------------------------------------------


def test_finding_mask_and_as_dict() -> None:
    table = _sample_table()
    findings = {f.column: f for f in classify_table(table)}
    ids = findings["sfzh"]
    assert finding_mask(table.column("sfzh"), ids).all()
    notes = findings["备注"]
    mask = finding_mask(table.column("备注"), notes)
    assert mask.sum() == notes.valid == N // 4
    assert not finding_mask(table.column("amount"), findings["amount"]).any()
    body = findings["备注"].as_dict()
    assert json.loads(json.dumps(body, ensure_ascii=False)) == body
    assert set(body) == {
        "column",
        "type",
        "confidence",
        "non_null",
        "valid",
        "contains",
        "hint",
        "reason",
        "reason_zh",
    }
    assert body["contains"] == ["mobile"] and body["type"] in TYPES


def test_masks_on_large_columns_are_vectorized() -> None:
    ids = np.array(column(VALUES["resident_id"], 2000), dtype=object)
    big = pa.array(np.tile(ids, 50))  # 100,000 values
    finding = classify_table(pa.table({"sfzh": big}), batch_rows=8192)[0]
    assert finding.type == "resident_id" and finding.valid == 100_000


# -- column-name hints ------------------------------------------------------------------------

HINTS = {
    # Chinese
    "身份证号": ("resident_id",),
    "公民身份号码": ("resident_id",),
    "身份证地址": ("address",),
    "手机号": ("mobile",),
    "联系电话": ("mobile", "landline"),
    "联系人电话": ("mobile", "landline"),
    "联系人": ("person_name",),
    "姓名": ("person_name",),
    "家庭地址": ("address",),
    "出生日期": ("birth_date",),
    "出生地": ("address",),
    "统一社会信用代码": ("uscc",),
    "车牌号": ("licence_plate",),
    "经度": ("gps",),
    "纬度": ("gps",),
    "电子邮箱": ("email",),
    "证件号码": ("resident_id", "passport", "hk_macau_permit", "taiwan_permit"),
    "备注": ("free_text",),
    # English, any case style
    "id_card": ("resident_id",),
    "IDCard": ("resident_id",),
    "mobilePhone": ("mobile",),
    "phone_number": ("mobile", "landline"),
    "first_name": ("person_name",),
    "home_address": ("address",),
    "email_address": ("email",),
    "IPAddress": ("ipv4", "ipv6"),
    "birthDate": ("birth_date",),
    "lat": ("gps",),
    "Longitude": ("gps",),
    "credit_code": ("uscc",),
    # pinyin abbreviations, whole words only
    "sfzh": ("resident_id",),
    "cust_sfzhm": ("resident_id",),
    "zjhm": ("resident_id", "passport", "hk_macau_permit", "taiwan_permit"),
    "xm": ("person_name",),
    "lxdh": ("mobile", "landline"),
    "sjhm": ("mobile",),
    "dh": ("mobile", "landline"),
    "dz": ("address",),
    "jtdz": ("address",),
    "csrq": ("birth_date",),
    "tyshxydm": ("uscc",),
    "xydm": ("uscc",),
    "cph": ("licence_plate",),
    "yx": ("email",),
    "jd": ("gps",),
    "wd": ("gps",),
}
COUNTERS = [
    "订单号",
    "金额",
    "下单日期",
    "企业名称",
    "company_name",
    "order_id",
    "id",
    "amount",
    "created_at",
    "serial_no",
    "ddh",
    "lsh",
]
NOTHING = ["username", "filename", "col1", "c", "状态", "xmld", "djzt", ""]


def test_hints_for_names() -> None:
    for name, types in HINTS.items():
        hint = hint_for(name)
        assert hint.types == types, name
        assert hint.type == types[0] and not hint.counter and hint.word
    for name in COUNTERS:
        hint = hint_for(name)
        assert hint.counter and hint.types == (), name
    for name in NOTHING:
        assert hint_for(name) == Hint(), name
    assert words("birthDate_ofIDCard") == ["birth", "date", "of", "id", "card"]
