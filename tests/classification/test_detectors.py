"""Detectors: valid, invalid-checksum and decoy values per type; the scalar and vectorized views
agree (hypothesis); check characters catch every single-character change."""

from __future__ import annotations

import ipaddress
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from yaosu.classification import detectors as d
from yaosu.classification.detectors import DETECTORS, TYPES, contains_masks, find_in_text
from yaosu.kit.uscc import ALPHABET, check_character

# -- independent reference implementations (the tests' own, not the module's) -----------------


def id_check(body17: str) -> str:
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(body17))
    return "10X98765432"[total % 11]


def luhn_complete(body: str) -> str:
    for last in "0123456789":
        digits = [int(c) for c in body + last]
        total = 0
        for i, x in enumerate(reversed(digits)):
            if i % 2:
                x = x * 2
                x = x - 9 if x > 9 else x
            total += x
        if total % 10 == 0:
            return body + last
    raise AssertionError("unreachable")


provinces = st.sampled_from(["11", "31", "44", "51", "65", "81", "83"])
birthdays = st.dates(min_value=date(1900, 1, 1), max_value=date.today())
resident_ids = st.builds(
    lambda p, rest, born, seq: (lambda body: body + id_check(body))(f"{p}{rest}{born:%Y%m%d}{seq}"),
    provinces,
    st.text("0123456789", min_size=4, max_size=4),
    birthdays,
    st.text("0123456789", min_size=3, max_size=3),
)
uscc_bodies = st.tuples(
    st.sampled_from("159NY"),
    st.sampled_from("123"),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(ALPHABET, min_size=9, max_size=9),
).map("".join)
card_numbers = st.builds(
    lambda prefix, length, digits: luhn_complete((prefix + digits)[: length - 1]),
    st.sampled_from(["62", "4", "51", "55", "2221", "2720", "3528", "9558", "601382"]),
    st.integers(16, 19),
    st.text("0123456789", min_size=18, max_size=18),
)


def valid(code: str, values: list[str | None]) -> list[bool]:
    return d.DETECTORS[code].valid(pa.array(values, type=pa.string())).to_pylist()


# -- known values -------------------------------------------------------------------------------

CASES: dict[str, tuple[list[str], list[str]]] = {
    # type: (valid values, invalid values: wrong check characters, near misses and decoys)
    "resident_id": (
        [
            "11010519491231002X",
            "11010519491231002x",
            " 440524188001010014 ",
            "130503670401001",
            "110105-19491231-002X",
            "１１０１０５１９４９１２３１００２Ｘ",
        ],
        [
            "110105194912310021",
            "11010519491231002",
            "91010519491231002X",
            "110105194902300021",
            f"110105{date.today() + timedelta(days=1):%Y%m%d}0021",
            "130503671301001",
            "2024051512345678",
            "110105187901010010",
            "abc",
        ],
    ),
    "mobile": (
        [
            "13812345678",
            "+86 138-1234-5678",
            "0086 13812345678",
            "8613812345678",
            "(+86)13812345678",
            "199 0000 1111",
            "１３８１２３４５６７８",
            "138\u30001234\u30005678",
        ],
        [
            "12812345678",
            "1381234567",
            "138123456789",
            "14012345678",
            "10086",
            "23812345678",
            "+1 13812345678",
        ],
    ),
    "landline": (
        [
            "010-12345678",
            "(0755)8765-4321",
            "0571 88886666",
            "021-61234567转123",
            "+86 10 12345678",
            "0755-8765-4321-123",
            "（０７５５）８７６５－４３２１",
        ],
        ["12345678", "13812345678", "0012345678", "010-123", "8613812345678", "(0755)1234"],
    ),
    "bank_card": (
        ["6222021234567890128", "4111111111111111", "5500 0000 0000 0004", "6212-2622-0200-2207"],
        [
            "6222021234567890123",
            "4111111111111112",
            "1234567812345670",
            "411111111111111",
            "41111111111111111111",
            "7111111111111114",
        ],
    ),
    "uscc": (
        ["91350100M000100Y43", "911100001000079554", "91440300708461136T", "91350100m000100y43"],
        ["91350100M000100Y44", "91350100M000100YI3", "9135", "11010519491231002X"],
    ),
    "email": (
        ["zhang.san@example.com", "li_si+tag@mail.gov.cn", "A1@b-c.io"],
        [
            "zhang@",
            "@example.com",
            "zhang.example.com",
            "zhang@example",
            "a..b@example.com",
            "张三@example.com",
            "a@-b.com",
        ],
    ),
    "passport": (
        ["E12345678", "G87654321", "EA1234567", "e12345678", "DE1234567"],
        ["E1234567", "EI1234567", "A12345678", "E123456789", "SKU-12345"],
    ),
    "hk_macau_permit": (
        ["C12345678", "CA1234567", "W12345678", "H12345678", "M1234567801"],
        ["C1234567", "CO1234567", "H123456789", "X12345678"],
    ),
    "taiwan_permit": (
        ["1234567801(B)", "1234567801（B）", "1234567801(5)"],
        ["12345678", "1234567801", "123456780(B)", "1234567801(BB)"],
    ),
    "licence_plate": (
        ["京A12345", "粤B·D12345", "沪AD12345", "苏E12345F", "京A1234学", "浙a 8888k", "粤Z1234港"],
        ["京I12345", "A12345", "京A1234", "京A123456", "美A12345", "京AO1234"],
    ),
    "ipv4": (
        ["192.168.1.1", "0.0.0.0", "255.255.255.255", " 10.0.0.1 "],
        ["256.1.1.1", "192.168.01.1", "1.2.3", "1.2.3.4.5", "a.b.c.d"],
    ),
    "ipv6": (
        [
            "::1",
            "fe80::1",
            "2001:db8::8a2e:370:7334",
            "::ffff:192.168.1.1",
            "2001:0db8:0000:0000:0000:ff00:0042:8329",
            "1:2:3:4:5:6:7::",
        ],
        ["2001:db8::8a2e::7334", "12345::1", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", ":::", "g::1"],
    ),
    "gps": (
        ["116.397128,39.916527", "39.916527, 116.397128", "-33.86;151.20", "116.39，39.91"],
        ["1,234", "116,39", "200.12,100.15", "116.397128", "abc,def", "116.3,39.9"],
    ),
    "birth_date": (
        ["1990-03-07", "1990/3/7", "19900307", "1990年3月7日", "1900-01-01"],
        [
            "1899-12-31",
            "1990-02-30",
            "1990-13-01",
            f"{date.today() + timedelta(days=1)}",
            "1990-03-07 08:30:00",
            "07/03/1990",
            "1990.03.07",
            "199003071",
        ],
    ),
    "person_name": (
        ["张三", "王小明", "欧阳娜娜", "司马光", "阿卜杜拉·买买提", "张  三", "张\u3000三"],
        [
            "张",
            "张三丰四",
            "华兴科技有限公司",
            "江苏",
            "黄山",
            "李村",
            "北京市",
            "Zhang San",
            "王小明明明",
            "张3",
        ],
    ),
    "address": (
        [
            "北京市朝阳区建国路88号",
            "浙江省杭州市西湖区文三路478号华星大厦5楼",
            "某某县某某镇某某村三组",
            "文三路88号",
            "上海市浦东新区张江路 88号 3栋 201室",
        ],
        [
            "北京市",
            "杭州华兴科技有限公司",
            "北京市朝阳区人民政府",
            "朝阳区",
            "我家住在北京市朝阳区建国路88号。",
            "ab",
        ],
    ),
}


def test_every_type_has_cases_and_a_label() -> None:
    assert set(CASES) == set(DETECTORS)
    assert set(TYPES) == {*DETECTORS, "free_text"}
    for info in TYPES.values():
        assert info.label_zh and info.label_en and info.description


@pytest.mark.parametrize("code", sorted(CASES))
def test_known_values(code: str) -> None:
    good, bad = CASES[code]
    detector = DETECTORS[code]
    assert [detector.is_valid(v) for v in good] == [True] * len(good), code
    assert [detector.is_valid(v) for v in bad] == [False] * len(bad), code
    assert valid(code, [*good, *bad, None]) == [True] * len(good) + [False] * (len(bad) + 1)


def test_weak_forms_only_where_documented() -> None:
    assert DETECTORS["taiwan_permit"].is_weak("12345678")
    assert DETECTORS["taiwan_permit"].is_weak("1234567801")
    assert not DETECTORS["taiwan_permit"].is_weak("123456789")
    assert DETECTORS["gps"].is_weak("116.397128") and DETECTORS["gps"].is_weak("-33")
    assert not DETECTORS["gps"].is_weak("181.5")
    assert DETECTORS["birth_date"].is_weak("1990-03-07 08:30:00")
    assert not DETECTORS["birth_date"].is_weak("1990-02-30 08:30:00")
    assert not DETECTORS["mobile"].is_weak("13812345678")  # a strict value is not also weak
    assert not DETECTORS["email"].is_weak("a(b)@example.com")  # no noisy form for emails


# -- noisy forms: valid only under a hint, and only when the core passes the strict rule -------

ID = "11010519491231002X"
NOISY: dict[str, tuple[list[str], list[str]]] = {
    "person_name": (
        [
            "张三1",
            "李四02",
            "王五 3",
            "赵六（先生）",
            "孙七女士",
            "周八 小姐",
            "吴九(本人)",
            "郑十老师",
            "欧阳娜娜[备用]",
            "*陈明*",
            "刘强_01",
            "杨\t伟",
            "黄\u00a0敏",
            "马\u2003丽",
            "姓名：朱静",
            "name: 胡强",
            "张-三",
            "阿卜杜拉·买买提2",
        ],
        [
            "中山路1",  # a road stays a road: the core must still be a name
            "长安街88",
            "人民医院3",
            "第一中学2",
            "华兴科技有限公司1",
            "杭州1",
            "北京（总部）",
            "先生",
            "女士1",
            "123",
            "（本人）",
            "张三三三三1",
            "N/A",
            "test1",
        ],
    ),
    "mobile": (
        [
            "138.1234.5678",
            "138/1234/5678",
            "138_1234_5678",
            "手机：13812345678",
            "tel:138-1234-5678",
            "TEL 13812345678",
            "13812345678（本人）",
            "13812345678 [备用]",
            "13812345678转",
            "☎13812345678",
            "13812345678\t(手机)",
            "138\u20091234\u20095678",
        ],
        ["12012345678(本人)", "手机：1381234567", "138.1234.56789", "138a12345678", "手机：无"],
    ),
    "landline": (
        ["电话:0571-88886666", "0571/88886666", "(0571)8888-6666 (办)", "Tel 010 12345678"],
        ["电话:88886666", "0571/8888"],
    ),
    "resident_id": (
        [
            f"{ID}(本人)",
            f"身份证：{ID}",
            f"ID{ID}",
            f"{ID[:6]}.{ID[6:14]}.{ID[14:]}",
            f"{ID[:6]}_{ID[6:14]}_{ID[14:].lower()}",
            f"{ID} 【户主】",
            f"{ID[:6]}\u00a0{ID[6:]}",
        ],
        [
            f"{ID[:-1]}1(本人)",  # wrong check character: still wrong
            f"身份证：{ID[:-1]}",
            f"{ID}1",
            "身份证：待补录",
        ],
    ),
    "bank_card": (
        ["6222 0212 3456 7890 128(工行)", "卡号:6222.0212.3456.7890.128"],
        ["6222 0212 3456 7890 129(工行)"],
    ),
}


def test_noisy_forms_are_weak_and_keep_the_strict_rule() -> None:
    assert DETECTORS["resident_id"].is_valid(ID)
    for code, (good, bad) in NOISY.items():
        detector = DETECTORS[code]
        assert [detector.is_valid(v) for v in good] == [False] * len(good), code
        assert [detector.is_weak(v) for v in good] == [True] * len(good), code
        assert [detector.is_weak(v) for v in bad] == [False] * len(bad), code
        as_array = pa.array([*good, *bad, None])
        assert detector.weak_mask(as_array).tolist() == [
            *[True] * len(good),
            *[False] * (len(bad) + 1),
        ]
        assert not detector.valid_mask(as_array).any(), code


@pytest.mark.parametrize(
    ("code", "value"),
    [
        ("person_name", "张\u200b三"),
        ("person_name", "\ufeff李四"),
        ("person_name", "王\u00ad五"),
        ("mobile", "138\u200b1234\u200c5678"),
        ("mobile", "1381234\u20605678"),
        ("resident_id", f"{ID[:9]}\u200d{ID[9:]}"),
        ("email", "zhang\u200bsan@example.com"),
        ("licence_plate", "京A\u200b12345"),
    ],
)
def test_invisible_characters_never_hide_a_value(code: str, value: str) -> None:
    # zero-width characters are dropped by cleaning: no hint needed, both views agree
    assert d.clean(value) == d.clean_array(pa.array([value])).to_pylist()[0]
    assert DETECTORS[code].is_valid(value)
    assert valid(code, [value]) == [True]


def test_a_value_valid_as_resident_id_is_never_a_uscc() -> None:
    # Find resident IDs that also pass the GB 32100 check (about 1 in 31 do).
    both = []
    for seq in range(2000):
        body = f"110105194912{31 - seq % 20:02d}{seq % 1000:03d}"
        code = body + id_check(body)
        if check_character(code[:17]) == code[17]:
            both.append(code)
    assert both, "some resident IDs pass the USCC check"
    for code in both:
        assert DETECTORS["resident_id"].is_valid(code)
        assert not DETECTORS["uscc"].is_valid(code)
    assert valid("uscc", both) == [False] * len(both)


# -- check characters: generated values pass, one changed character fails -------------------


@given(resident_ids, st.data())
def test_resident_id_check_character(code: str, data: st.DataObject) -> None:
    assert DETECTORS["resident_id"].is_valid(code)
    pos = data.draw(st.integers(0, 17))
    new = data.draw(st.sampled_from([c for c in "0123456789X" if c != code[pos]]))
    mutated = code[:pos] + new + code[pos + 1 :]
    assert not DETECTORS["resident_id"].is_valid(mutated)
    assert valid("resident_id", [code, mutated]) == [True, False]


@given(uscc_bodies, st.data())
def test_uscc_check_character(body: str, data: st.DataObject) -> None:
    code = body + check_character(body)
    assume(not DETECTORS["resident_id"].is_valid(code))
    assert DETECTORS["uscc"].is_valid(code)
    pos = data.draw(st.integers(0, 17))
    new = data.draw(st.sampled_from([c for c in ALPHABET if c != code[pos]]))
    mutated = code[:pos] + new + code[pos + 1 :]
    assert not DETECTORS["uscc"].is_valid(mutated)
    assert valid("uscc", [code, mutated]) == [True, False]


@given(card_numbers, st.data())
def test_luhn(card: str, data: st.DataObject) -> None:
    assert DETECTORS["bank_card"].is_valid(card)
    pos = data.draw(st.integers(0, len(card) - 1))
    new = data.draw(st.sampled_from([c for c in "0123456789" if c != card[pos]]))
    mutated = card[:pos] + new + card[pos + 1 :]
    assert not d._luhn(mutated)
    spaced = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
    assert valid("bank_card", [card, spaced]) == [True, True]
    assert d.DETECTORS["bank_card"].valid_mask(pa.array([mutated]))[0] == d.DETECTORS[
        "bank_card"
    ].is_valid(mutated)


# -- the scalar and vectorized views agree ---------------------------------------------------

_ALPHABET = (
    "0123456789Xx+-() ,;.:@#/·_年月日转"
    "ABCDEFGHMWabcdef"
    "京粤沪张王欧阳三明市区路号省县村街公司"
    "\u3000１２３８（）－＠\ufffd\u00a0"
    "\u200b\u00ad\ufeff\t\u2003【】[]*先生女士：=本人"
)
noise = st.text(_ALPHABET, max_size=30)
mobiles = st.builds(
    lambda country, prefix, rest, sep: country + sep.join((prefix, rest[:4], rest[4:])),
    st.sampled_from(["", "+86", "0086 ", "86-"]),
    st.sampled_from(["138", "145", "166", "170", "199", "120", "140"]),
    st.text("0123456789", min_size=8, max_size=8),
    st.sampled_from(["", " ", "-"]),
)
dates = st.builds(
    lambda day, form, time: day.strftime(form) + time,
    st.dates(min_value=date(1890, 1, 1), max_value=date.today() + timedelta(days=3)),
    st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%-m-%-d"]),
    st.sampled_from(["", "", " 08:30:00", "T23:59", " 00:00:00.5+08:00"]),
)
names = st.builds(
    lambda surname, given: surname + given,
    st.sampled_from(["张", "王", "欧阳", "司马", "北", "江"]),
    st.text("三明娜苏市路·小", min_size=0, max_size=3),
)
coordinates = st.builds(
    lambda a, b, sep: f"{a:.{len(str(a))}f}"[:9] + sep + f"{b:.6f}",
    st.floats(-200, 200, allow_nan=False),
    st.floats(-100, 100, allow_nan=False),
    st.sampled_from([",", ", ", ";", "，", ""]),
)
wrapped = st.builds(
    lambda head, value, tail: head + value + tail,
    st.sampled_from(["", "手机：", "tel:", "ID", "*", "姓名: ", "\t"]),
    st.one_of(resident_ids, mobiles, names, card_numbers),
    st.sampled_from(["", "1", "(本人)", "（先生）", "女士", " [备用]", "转", "_01", "x"]),
)
structured = st.one_of(
    wrapped,
    resident_ids,
    uscc_bodies.map(lambda b: b + check_character(b)),
    card_numbers,
    mobiles,
    dates,
    names,
    coordinates,
    st.floats(-200, 200, allow_nan=False).map(str),
    st.text("0123456789", min_size=8, max_size=10),
    st.sampled_from([v for good, _ in CASES.values() for v in good]),
    st.sampled_from([v for _, bad in CASES.values() for v in bad]),
)


def _mutate(value: str, data: st.DataObject) -> str:
    if not value or not data.draw(st.booleans()):
        return value
    pos = data.draw(st.integers(0, len(value) - 1))
    return value[:pos] + data.draw(st.sampled_from(_ALPHABET)) + value[pos + 1 :]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_vectorized_agrees_with_scalar(data: st.DataObject) -> None:
    values = data.draw(st.lists(st.one_of(noise, structured, st.none()), min_size=1, max_size=40))
    values = [None if v is None else _mutate(v, data) for v in values]
    as_array = pa.array(values, type=pa.string())
    for code, detector in DETECTORS.items():
        scalar = [v is not None and detector.is_valid(v) for v in values]
        weak = [v is not None and detector.is_weak(v) for v in values]
        assert detector.valid_mask(as_array).tolist() == scalar, code
        assert detector.weak_mask(as_array).tolist() == weak, code


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(noise, st.one_of(structured, st.just("")), noise), max_size=20))
def test_contains_agrees_with_scalar(parts: list[tuple[str, str, str]]) -> None:
    values = ["".join(p) for p in parts]
    masks = contains_masks(pa.array(values, type=pa.string()))
    for i, value in enumerate(values):
        found = find_in_text(value)
        assert tuple(code for code in d.SEARCHED if masks[code][i]) == found, value


@given(st.ip_addresses())
def test_ip_addresses_agree_with_the_standard_library(address: object) -> None:
    assert isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address)
    code = "ipv4" if address.version == 4 else "ipv6"
    forms = {str(address), address.exploded}
    for text in forms:
        assert DETECTORS[code].is_valid(text), text
        assert valid(code, [text]) == [True]


@given(st.text("0123456789abcdefABCDEF:.", max_size=45))
def test_ipv6_shape_matches_the_standard_library(text: str) -> None:
    try:
        ipaddress.IPv6Address(text)
        expected = True
    except ValueError:
        expected = False
    assert DETECTORS["ipv6"].is_valid(text) == expected, text
    assert valid("ipv6", [text]) == [expected]


@given(st.text("0123456789.", max_size=16))
def test_ipv4_shape_matches_the_standard_library(text: str) -> None:
    try:
        ipaddress.IPv4Address(text)
        expected = True
    except ValueError:
        expected = False
    assert DETECTORS["ipv4"].is_valid(text) == expected, text


# -- array plumbing --------------------------------------------------------------------------


def test_arrays_of_every_string_layout() -> None:
    values = [None, "13812345678", "x", "１３９１２３４５６７８", None, "+86 186 1234 5678"]
    expected = [False, True, False, True, False, True]
    plain = pa.array(values, type=pa.string())
    mobile = DETECTORS["mobile"]
    assert mobile.valid_mask(plain).tolist() == expected
    assert mobile.valid_mask(plain.cast(pa.large_string())).tolist() == expected
    assert mobile.valid_mask(plain.cast(pa.string_view())).tolist() == expected
    assert mobile.valid_mask(plain.dictionary_encode()).tolist() == expected
    chunked = pa.chunked_array([plain.slice(0, 2), plain.slice(2, 0), plain.slice(2)])
    assert mobile.valid_mask(chunked).tolist() == expected
    # a slice with an offset: the buffers are read from the slice's own start
    assert mobile.valid_mask(plain.slice(3, 3)).tolist() == expected[3:]
    assert mobile.valid(plain).type == pa.bool_()
    assert mobile.valid_mask(pa.array([], type=pa.string())).tolist() == []
    assert mobile.valid_mask(pa.nulls(3)).tolist() == [False] * 3
    with pytest.raises(TypeError):
        mobile.valid_mask(pa.array([1, 2]))


def test_offsets_of_a_sliced_fullwidth_array() -> None:
    values = pa.array(
        ["ａ", None, "１１０１０５１９４９１２３１００２Ｘ", "abc", "11010519491231002X"]
    )
    for start in range(5):
        part = values.slice(start)
        expected = [v is not None and d.RESIDENT_ID.is_valid(v) for v in part.to_pylist()]
        assert d.RESIDENT_ID.valid_mask(part).tolist() == expected
    folded = d.clean_array(values).to_pylist()
    assert folded == ["a", None, "11010519491231002X", "abc", "11010519491231002X"]


def test_bad_values_do_not_crash() -> None:
    huge = "1" * 1_000_000
    values = pa.array([huge, "\ufffd\ufffd", "1381234\ufffd678", "", "\x00", None])
    for detector in DETECTORS.values():
        assert detector.valid_mask(values).tolist() == [False] * 6
        assert not detector.is_valid(huge)
    assert all(not m.any() for m in contains_masks(values).values())
    assert not DETECTORS["mobile"].is_valid(None)
    assert not DETECTORS["mobile"].is_valid(13812345678)


# -- free text ---------------------------------------------------------------------------------


def test_identifiers_found_inside_text() -> None:
    text = [
        "客户张三，电话13812345678，身份证号11010519491231002X，请尽快联系",
        "联系邮箱 zhang.san@example.com；车牌京A12345",
        "卡号 6222 0212 3456 7890 128 已冻结",
        "统一社会信用代码91350100M000100Y43的企业",
        "订单号2024051513812345678已发货",  # a mobile-like run inside a longer number
        "编号110105194912310021（校验位错误）",
        "来访IP 192.168.1.10，座机(0755)8765-4321",
        "护照E12345678 / 通行证C12345678",
        "先是一个无效号码110105194912310021，然后是11010519491231002X",
        "无敏感信息",
    ]
    assert [find_in_text(t) for t in text] == [
        ("resident_id", "mobile"),
        ("email", "licence_plate"),
        ("bank_card",),
        ("uscc",),
        (),
        (),
        ("landline", "ipv4"),
        ("passport", "hk_macau_permit"),
        ("resident_id",),
        (),
    ]
    masks = contains_masks(pa.array(text))
    for i, t in enumerate(text):
        assert tuple(c for c in d.SEARCHED if masks[c][i]) == find_in_text(t)


def test_a_resident_id_in_text_is_not_also_a_bank_card() -> None:
    # 44… IDs start like a Visa card; about one in ten passes Luhn.
    ids = []
    for seq in range(200):
        body = f"440305198001{seq % 28 + 1:02d}{seq:03d}"
        code = body + id_check(body)
        if d._luhn(code):
            ids.append(code)
    assert ids
    for code in ids:
        assert find_in_text(f"身份证{code}号") == ("resident_id",)


def test_helpers_agree_on_calendar() -> None:
    years = np.array([2000, 1900, 2024, 2023, 1990], dtype=np.int64)
    months = np.array([2, 2, 2, 2, 4], dtype=np.int64)
    days = np.array([29, 29, 29, 29, 31], dtype=np.int64)
    vector = d._calendar(years, months, days, 18000101).tolist()
    scalar = [
        d._date_ok(int(y), int(m), int(x), 18000101)
        for y, m, x in zip(years, months, days, strict=True)
    ]
    assert vector == scalar == [True, False, True, False, False]
