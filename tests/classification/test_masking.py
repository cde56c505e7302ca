"""De-identification operators: each operator's values (NULLs, Chinese text, edge cases), format
masks, keyed pseudonyms equal to Python's HMAC and stable across tables, SM3, generalizations,
date shifts, policy refusal before anything is written, exports and the SQL they compile to."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yaosu.classification import masking
from yaosu.classification.masking import (
    DateShift,
    Generalize,
    Hash,
    Mask,
    MaskingPolicy,
    Pseudonymize,
    Suppress,
    check_policy,
    columns_of,
    export_masked,
    mask_table,
    parse_policy,
    register_functions,
    select_list,
)
from yaosu.kit.errors import Invalid

KEY = b"node-secret-for-tests-0123456789"
SPACES = " \t\n\f\r\u3000"


def masked(
    values: list[Any], rule: Any, *, type: pa.DataType | None = None, key: bytes = KEY
) -> list[Any]:
    """The values of one column after ``rule``."""
    table = pa.table({"c": pa.array(values, type=type)})
    policy = MaskingPolicy(name="t", rules={"c": rule})
    return mask_table(table, policy, columns_of(table.schema), key).column("c").to_pylist()


def reference_hmac(value: str, key: bytes = KEY, length: int = 32) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:length]


def problems(exc: pytest.ExceptionInfo[Invalid]) -> list[tuple[str | None, str]]:
    return [(p["column"], p["problem"]) for p in exc.value.details["problems"]]


# -- mask ------------------------------------------------------------------------------------------


def test_mask_keeps_first_and_last_characters_of_chinese_text_and_nulls() -> None:
    rule = Mask(keep_first=2, keep_last=1)
    assert masked(["广东省深圳市", "abcdef", None, ""], rule) == ["广东***市", "ab***f", None, ""]


def test_mask_masks_values_no_longer_than_the_kept_parts_whole() -> None:
    rule = Mask(keep_first=3, keep_last=4)
    assert masked(["1234567", "123", "12345678"], rule) == ["*******", "***", "123*5678"]


def test_mask_without_keep_masks_everything_and_takes_any_single_character() -> None:
    assert masked(["张三丰", "ab"], Mask()) == ["***", "**"]
    assert masked(["abc"], Mask(char="某")) == ["某某某"]
    assert masked(["abc"], Mask(keep_first=1, char="'")) == ["a''"]


def test_mask_reads_integers_as_their_decimal_text() -> None:
    assert masked([13800138000, None], Mask(keep_first=3, keep_last=4), type=pa.int64()) == [
        "138****8000",
        None,
    ]


def test_resident_id_mask_keeps_region_and_last_four_after_normalising() -> None:
    values = [
        "110105199001010021",
        "11010519900101002x",
        " 110105 19900101 002X ",
        "110105900101002",
    ]
    assert masked(values, Mask(format="resident_id")) == [
        "110105********0021",
        "110105********002X",
        "110105********002X",
        "110105*****1002",
    ]


def test_mobile_mask_drops_country_code_and_separators() -> None:
    values = ["13812341234", "+86 138-1234-1234", "0086 13812341234", "8613812341234", None]
    assert masked(values, Mask(format="mobile")) == ["138****1234"] * 4 + [None]
    assert masked([13812341234], Mask(format="mobile"), type=pa.int64()) == ["138****1234"]


def test_bank_card_mask_keeps_first_six_and_last_four() -> None:
    values = ["6222021234567890123", "6222 0212 3456 7890"]
    assert masked(values, Mask(format="bank_card")) == ["622202*********0123", "622202******7890"]


def test_person_name_mask_keeps_the_surname_including_compound_surnames() -> None:
    values = ["张三", "王小明", "欧阳修平", "诸葛亮", "欧阳", "李", "John Smith", None]
    assert masked(values, Mask(format="person_name")) == [
        "张*",
        "王**",
        "欧阳**",
        "诸葛*",
        "欧*",  # two characters: surname 欧, given name 阳
        "*",
        "J*********",
        None,
    ]


def test_email_mask_keeps_first_character_and_domain() -> None:
    values = ["alice@example.com", "a@b.cn", "@x.com", "not-an-email"]
    assert masked(values, Mask(format="email")) == [
        "a***@example.com",
        "a***@b.cn",
        "***@x.com",
        "n***********",
    ]


def test_address_mask_keeps_up_to_the_district() -> None:
    values = [
        "广东省深圳市南山区粤海街道科技园路1号",
        "北京市朝阳区建国路88号",
        "江苏省苏州市昆山市玉山镇",
        "科技园路1号",
    ]
    assert masked(values, Mask(format="address")) == [
        "广东省深圳市南山区***",
        "北京市朝阳区***",
        "江苏省苏州市昆山市***",
        "***",
    ]


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("uscc", "91440300MA5FXXXX3X", "91440300********3X"),
        ("passport", "E12345678", "E1****678"),
        ("passport", "e 1234 5678", "E1****678"),
        ("licence_plate", "粤B12345", "粤B***45"),
        ("licence_plate", "粤b·D12345", "粤B****45"),
        ("landline", "0755-86001234", "0755-****1234"),
        ("landline", "(010) 12345678", "(010) ****5678"),
        ("landline", "01012345678", "*******5678"),
        ("landline", "1234", "****"),
    ],
)
def test_other_format_masks(fmt: str, value: str, expected: str) -> None:
    assert masked([value], Mask(format=fmt)) == [expected]


def test_format_mask_without_normalising_masks_the_value_as_given() -> None:
    assert masked(["+86 13812341234"], Mask(format="mobile", normalize=False)) == [
        "+86********1234"
    ]


# -- pseudonymize and hash -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(st.text(max_size=80), min_size=1, max_size=30),
    key=st.binary(min_size=1, max_size=100),
    length=st.integers(16, 64),
)
def test_pseudonym_is_hmac_sha256_of_the_utf8_value(
    values: list[str], key: bytes, length: int
) -> None:
    rule = Pseudonymize(length=length, normalize=False)
    assert masked(values, rule, key=key) == [reference_hmac(v, key, length) for v in values]


@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.text(alphabet=st.sampled_from("张三李四ab \t\u3000\f"), max_size=12)))
def test_default_normalisation_trims_whitespace_before_hashing(values: list[str]) -> None:
    expected = [reference_hmac(v.strip(SPACES)) for v in values]
    assert masked(values, Pseudonymize(), type=pa.string()) == expected


def test_pseudonym_is_the_same_in_every_table_so_joins_work() -> None:
    people = pa.table({"姓名": ["张三", "李四"], "身份证号": ["11010519900101002X", None]})
    visits = pa.table(
        {
            "日期": pa.array([dt.date(2024, 1, 1)] * 3),
            "证件": [" 11010519900101002x", "110105199001010021", "11010519900101002X"],
        }
    )
    rule = Pseudonymize(format="resident_id")
    a = mask_table(
        people,
        MaskingPolicy(name="a", rules={"身份证号": rule}),
        columns_of(people.schema),
        KEY,
    )
    b = mask_table(
        visits, MaskingPolicy(name="b", rules={"证件": rule}), columns_of(visits.schema), KEY
    )
    left = a.column("身份证号").to_pylist()
    right = b.column("证件").to_pylist()
    assert left[0] == right[0] == right[2] == reference_hmac("11010519900101002X")
    assert left[1] is None
    assert right[1] != right[0]
    assert masked(["11010519900101002X"], rule, key=b"another key") != [left[0]]


def test_mobile_pseudonym_is_the_same_for_text_and_integer_columns() -> None:
    as_text = masked(["+86 138-1234-1234", "13812341234"], Pseudonymize(format="mobile"))
    as_int = masked([13812341234, 8613812341234], Pseudonymize(format="mobile"), type=pa.int64())
    assert set(as_text) == set(as_int) == {reference_hmac("13812341234")}


def test_email_pseudonym_ignores_case_and_landline_separators() -> None:
    emails = masked(["Alice@Example.com ", "alice@example.com"], Pseudonymize(format="email"))
    assert emails[0] == emails[1] == reference_hmac("alice@example.com")
    phones = masked(["0755-8600 1234", "+86 075586001234"], Pseudonymize(format="landline"))
    assert phones[0] == phones[1] == reference_hmac("075586001234")


def test_non_text_columns_are_hashed_as_their_canonical_text() -> None:
    assert masked([dt.date(1990, 1, 2)], Pseudonymize(), type=pa.date32()) == [
        reference_hmac("1990-01-02")
    ]
    assert masked([1.5], Pseudonymize(), type=pa.float64()) == [reference_hmac("1.5")]
    assert masked([True], Pseudonymize(), type=pa.bool_()) == [reference_hmac("true")]


def test_keys_longer_than_a_block_are_hashed_first_as_hmac_requires() -> None:
    long_key = bytes(range(100))
    assert masked(["x"], Pseudonymize(), key=long_key) == [reference_hmac("x", long_key)]


@pytest.mark.skipif(not masking.sm3_available(), reason="OpenSSL without SM3")
def test_sm3_pseudonym_is_hmac_sm3_over_distinct_values() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import hmac as chmac

    assert hashlib.new("sm3", b"abc").hexdigest().startswith("66c7f0f462eeedd9d1f2d46bdc10e4e2")

    def reference(value: str) -> str:
        mac = chmac.HMAC(KEY, hashes.SM3())
        mac.update(value.encode())
        return mac.finalize().hex()[:32]

    values = [f"用户{i % 5000}" for i in range(20_000)] + [None, "张三"]
    out = masked(values, Pseudonymize(algorithm="hmac-sm3"))
    assert out[:5000] == [reference(f"用户{i}") for i in range(5000)]
    assert out[5000:10000] == out[:5000]
    assert out[-2:] == [None, reference("张三")]
    assert out[-1] == hmac.new(KEY, "张三".encode(), "sm3").hexdigest()[:32]
    assert out[-1] != masked(["张三"], Pseudonymize())[0]


def test_sm3_is_refused_when_openssl_lacks_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(masking, "sm3_available", lambda: False)
    policy = MaskingPolicy(name="p", rules={"c": Pseudonymize(algorithm="hmac-sm3")})
    with pytest.raises(Invalid) as exc:
        check_policy(policy, [{"name": "c", "type": "text"}])
    assert problems(exc) == [("c", "sm3_unavailable")]


def test_hash_is_unkeyed_sha256() -> None:
    assert masked(["张三", None], Hash()) == [hashlib.sha256("张三".encode()).hexdigest(), None]
    assert masked(["张三"], Hash(length=16), key=b"other") == [
        hashlib.sha256("张三".encode()).hexdigest()[:16]
    ]


# -- generalize ------------------------------------------------------------------------------------

AS_OF = dt.date(2024, 6, 15)


def test_age_band_from_dates_date_times_and_strings() -> None:
    rule = Generalize(kind="age_band", width=10, as_of=AS_OF)
    dates = [dt.date(1990, 6, 15), dt.date(1990, 6, 16), dt.date(2030, 1, 1), None]
    assert masked(dates, rule, type=pa.date32()) == ["30-39", "30-39", None, None]
    assert masked([dt.date(1994, 6, 16)], rule, type=pa.date32()) == ["20-29"]
    # Born after the reference day, even by less than a year: no age at all, not 0-9.
    soon = [AS_OF + dt.timedelta(days=1), AS_OF + dt.timedelta(days=90), AS_OF]
    assert masked(soon, rule, type=pa.date32()) == [None, None, "0-9"]
    stamps = [dt.datetime(1960, 1, 1, 8, 30)]
    assert masked(stamps, rule, type=pa.timestamp("us")) == ["60-69"]
    texts = ["1990-06-15", "1990/6/15", "19900615", "1990年6月15日", "1990-06-15 10:00:00", "bad"]
    assert masked(texts, rule) == ["30-39"] * 5 + [None]


def test_age_band_from_ages_with_an_open_top_band_and_width_one() -> None:
    rule = Generalize(kind="age_band", width=5, top=90)
    assert masked([0, 4, 5, 89, 90, 104, -1, None], rule, type=pa.int64()) == [
        "0-4",
        "0-4",
        "5-9",
        "85-89",
        "90+",
        "90+",
        None,
        None,
    ]
    assert masked([33.9, float("nan")], Generalize(kind="age_band", width=1)) == ["33", None]


def test_birth_year_and_month() -> None:
    dates = pa.array([dt.date(1990, 3, 7), None])
    assert masked(dates.to_pylist(), Generalize(kind="birth_year"), type=pa.date32()) == [
        1990,
        None,
    ]
    assert masked(["1990/3/7", "x"], Generalize(kind="birth_month")) == ["1990-03", None]
    table = pa.table({"d": dates})
    out = mask_table(
        table,
        MaskingPolicy(name="p", rules={"d": Generalize(kind="birth_year")}),
        columns_of(table.schema),
        KEY,
    )
    assert out.schema.field("d").type == pa.int64()


def test_address_district() -> None:
    values = [
        "广东省深圳市南山区粤海街道科技园路1号",
        "上海市浦东新区张江镇",
        "新疆维吾尔自治区阿克苏地区阿克苏市解放路",
        "湖北省恩施土家族苗族自治州恩施市",
        "内蒙古自治区锡林郭勒盟锡林浩特市",
        "浙江省台州市路桥区",
        "重庆市巫山县",
        "黑龙江省哈尔滨市道里区",
        "广东省东莞市南城街道鸿福路小区",  # no district level: keeps the city
        "科技园路1号",
        None,
    ]
    assert masked(values, Generalize(kind="address_district")) == [
        "广东省深圳市南山区",
        "上海市浦东新区",
        "新疆维吾尔自治区阿克苏地区阿克苏市",
        "湖北省恩施土家族苗族自治州恩施市",
        "内蒙古自治区锡林郭勒盟锡林浩特市",
        "浙江省台州市路桥区",
        "重庆市巫山县",
        "黑龙江省哈尔滨市道里区",
        "广东省东莞市",
        None,
        None,
    ]


def test_grid_rounds_coordinates_down_to_the_cell() -> None:
    rule = Generalize(kind="grid", cell=0.01)
    assert masked([22.5431, -31.2, 0.3, None], rule) == [22.54, -31.2, 0.3, None]
    assert masked([22.5431], Generalize(kind="grid", cell=0.25)) == [22.5]
    pairs = ["113.9345,22.5431", "116.4， 39.9", "bad", "1,2,3", None]
    assert masked(pairs, rule) == ["113.93,22.54", "116.40,39.90", None, None, None]


def test_number_band() -> None:
    assert masked([150, 100, 99, -5, None], Generalize(kind="number_band", width=100)) == [
        "100-199",
        "100-199",
        "0-99",
        "-100--1",
        None,
    ]
    assert masked([0.3, 1.25], Generalize(kind="number_band", width=0.1)) == [
        "[0.3, 0.4)",
        "[1.2, 1.3)",
    ]


# -- suppress and date shift -----------------------------------------------------------------------


def test_suppress_keeps_the_type_and_drop_removes_the_column() -> None:
    table = pa.table({"a": ["x", "y"], "d": pa.array([dt.date(2020, 1, 1), None]), "n": [1, 2]})
    policy = MaskingPolicy(name="p", rules={"d": Suppress(), "n": Suppress(drop=True)})
    out = mask_table(table, policy, columns_of(table.schema), KEY)
    assert out.column_names == ["a", "d"]
    assert out.schema.field("d").type == pa.date32()
    assert out.column("d").to_pylist() == [None, None]
    assert out.column("a").to_pylist() == ["x", "y"]


def test_fixed_date_shift_on_dates_and_date_times() -> None:
    assert masked([dt.date(2024, 3, 1), None], DateShift(days=-1), type=pa.date32()) == [
        dt.date(2024, 2, 29),
        None,
    ]
    assert masked([dt.datetime(2024, 1, 1, 12)], DateShift(days=40), type=pa.timestamp("us")) == [
        dt.datetime(2024, 2, 10, 12)
    ]


def expected_shift(person: str, max_days: int, key: bytes = KEY) -> int:
    digest = hmac.new(key, f"yaosu.date_shift:{person}".encode(), hashlib.sha256).hexdigest()
    draw = int(digest[:8], 16) % (2 * max_days)
    return draw - max_days + (draw >= max_days)


def test_keyed_date_shift_moves_every_date_of_a_person_alike_and_reproducibly() -> None:
    people = [f"1101051990010100{i:02d}" for i in range(40)]
    base = dt.date(2020, 1, 1)
    table = pa.table(
        {
            "证件": people * 2 + [None],
            "入院": pa.array([base] * 80 + [base]),
            "出院": pa.array([dt.datetime(2020, 1, 5, 9)] * 80 + [None]),
        }
    )
    rule = DateShift(max_days=30, key_column="证件")
    policy = MaskingPolicy(name="p", rules={"入院": rule, "出院": rule})
    out = mask_table(table, policy, columns_of(table.schema), KEY).to_pydict()
    shifts = [(d - base).days for d in out["入院"][:80]]
    assert shifts[:40] == shifts[40:] == [expected_shift(p, 30) for p in people]
    assert all(1 <= abs(s) <= 30 for s in shifts)
    assert len(set(shifts)) > 10
    assert [(d - dt.datetime(2020, 1, 5, 9)).days for d in out["出院"][:80]] == shifts
    assert out["入院"][80] is None  # no key, no date
    again = mask_table(table, policy, columns_of(table.schema), KEY).to_pydict()
    assert again == out
    other = mask_table(table, policy, columns_of(table.schema), b"other key").to_pydict()
    assert other["入院"] != out["入院"]
    # its own HMAC domain: the shift is not a function of the person's published pseudonym
    naive = [int(reference_hmac(p, length=8), 16) % 60 for p in people]
    assert [n - 30 + (n >= 30) for n in naive] != shifts[:40]


# -- policy checks ---------------------------------------------------------------------------------

STORED = [
    {"name": "姓名", "type": "text", "nullable": True, "reason": None},
    {"name": "出生日期", "type": "date", "nullable": True, "reason": None},
    {"name": "年龄", "type": "integer", "nullable": False, "reason": None},
    {"name": "收入", "type": "float", "nullable": True, "reason": None},
    {"name": "登记时间", "type": "datetime", "nullable": True, "reason": None},
    {"name": "有效", "type": "boolean", "nullable": True, "reason": None},
]
ARROW = [
    {"name": "姓名", "type": "string"},
    {"name": "出生日期", "type": "date32[day]"},
    {"name": "年龄", "type": "int64"},
    {"name": "收入", "type": "double"},
    {"name": "登记时间", "type": "timestamp[us]"},
    {"name": "有效", "type": "bool"},
]


@pytest.mark.parametrize("columns", [STORED, ARROW], ids=["dataplane-types", "arrow-types"])
def test_a_valid_policy_passes_with_either_type_vocabulary(columns: list[dict[str, Any]]) -> None:
    policy = MaskingPolicy(
        name="ok",
        rules={
            "姓名": Mask(format="person_name"),
            "出生日期": Generalize(kind="age_band"),
            "年龄": Generalize(kind="number_band", width=10),
            "收入": Generalize(kind="grid", cell=0.5),
            "登记时间": DateShift(max_days=10, key_column="姓名"),
            "有效": Suppress(),
        },
    )
    check_policy(policy, columns)
    compiled = masking.compile_columns(policy, columns, KEY)
    types = {c.name: c.column["type"] for c in compiled}
    if columns is STORED:
        assert types == {
            "姓名": "text",
            "出生日期": "text",
            "年龄": "text",
            "收入": "float",
            "登记时间": "datetime",
            "有效": "boolean",
        }
    else:
        assert types["出生日期"] == "string" and types["登记时间"] == "timestamp[us]"
    assert all(c.column["masking"] == policy.rules[c.name].op for c in compiled)


def test_operators_on_the_wrong_type_are_refused() -> None:
    policy = MaskingPolicy(
        name="p",
        rules={
            "出生日期": Mask(keep_first=1),
            "姓名": DateShift(days=3),
            "年龄": Generalize(kind="address_district"),
            "有效": Generalize(kind="number_band", width=2),
        },
    )
    with pytest.raises(Invalid) as exc:
        check_policy(policy, STORED)
    assert exc.value.code == "invalid_masking_policy"
    assert exc.value.status == 422
    assert sorted(problems(exc)) == [
        ("出生日期", "not_applicable"),
        ("姓名", "not_applicable"),
        ("年龄", "not_applicable"),
        ("有效", "not_applicable"),
    ]


def test_all_problems_are_reported_together_in_both_languages() -> None:
    policy = MaskingPolicy(
        name=" ",
        rules={
            "电话": Mask(format="mobile"),
            "姓名": Mask(format="person_name", keep_first=1),
            "年龄": Generalize(kind="number_band"),
            "出生日期": Generalize(kind="birth_year", width=5, cell=0.1),
            "登记时间": DateShift(max_days=5),
            "收入": Generalize(kind="age_band", width=2.5),
            "有效": Generalize(kind="age_band", top=85),
        },
    )
    with pytest.raises(Invalid) as exc:
        check_policy(policy, STORED)
    assert problems(exc) == [
        (None, "empty_name"),
        ("电话", "unknown_column"),
        ("姓名", "format_with_keep"),
        ("年龄", "missing_parameter"),
        ("出生日期", "unused_parameter"),
        ("出生日期", "unused_parameter"),
        ("登记时间", "missing_key_column"),
        ("收入", "bad_parameter"),
        ("有效", "not_applicable"),
        ("有效", "bad_parameter"),
    ]
    assert "(and 9 more)" in exc.value.message
    assert "另有 9 个问题" in exc.value.message_zh
    assert all(p["message"] and p["message_zh"] for p in exc.value.details["problems"])


def test_date_shift_parameters_are_checked() -> None:
    policy = MaskingPolicy(
        name="p",
        rules={
            "出生日期": DateShift(),
            "登记时间": DateShift(days=0, max_days=3, key_column="无此列"),
        },
    )
    with pytest.raises(Invalid) as exc:
        check_policy(policy, STORED)
    assert problems(exc) == [
        ("出生日期", "bad_parameter"),
        ("登记时间", "bad_parameter"),
        ("登记时间", "bad_parameter"),
        ("登记时间", "unused_parameter"),
        ("登记时间", "unknown_key_column"),
    ]


def test_empty_policies_and_policies_dropping_everything_are_refused() -> None:
    with pytest.raises(Invalid) as exc:
        check_policy(MaskingPolicy(name="p", rules={}), STORED)
    assert problems(exc) == [(None, "no_rules")]
    everything = {c["name"]: Suppress(drop=True) for c in STORED}
    with pytest.raises(Invalid) as exc:
        check_policy(MaskingPolicy(name="p", rules=everything), STORED)
    assert problems(exc) == [(None, "nothing_left")]


def test_parse_policy_turns_shape_errors_into_one_invalid() -> None:
    policy = parse_policy({"name": "p", "rules": {"姓名": {"op": "mask", "format": "person_name"}}})
    assert policy.rules["姓名"] == Mask(format="person_name")
    with pytest.raises(Invalid) as exc:
        parse_policy(
            {
                "name": "p",
                "rules": {
                    "a": {"op": "pseudonymize", "length": 8},
                    "b": {"op": "scramble"},
                    "c": {"op": "mask", "colour": "red"},
                },
            }
        )
    assert exc.value.code == "invalid_masking_policy"
    assert {p["column"] for p in exc.value.details["problems"]} == {"a", "b", "c"}


def test_an_empty_key_is_refused() -> None:
    policy = MaskingPolicy(name="p", rules={"姓名": Pseudonymize()})
    with pytest.raises(Invalid) as exc:
        select_list(policy, STORED, b"")
    assert exc.value.code == "invalid_masking_key"


# -- the compiled SQL ------------------------------------------------------------------------------


def test_select_list_quotes_names_binds_the_key_and_runs_on_any_query() -> None:
    odd = ['say "hi"', "姓 名", "a,b", "plain"]
    columns = [{"name": n, "type": "text"} for n in odd]
    policy = MaskingPolicy(
        name="p",
        rules={
            'say "hi"': Pseudonymize(),
            "姓 名": Mask(format="person_name"),
            "a,b": Suppress(drop=True),
        },
    )
    key = b"\x01\x02secret\xff" * 3
    sql, params = select_list(policy, columns, key)
    secrets = [key.decode("latin-1"), key.hex(), *(p.hex() for p in params)]
    assert all(isinstance(p, bytes) for p in params)
    assert not [s for s in secrets if s in sql]
    assert sql.count("?") == len(params)
    table = pa.table({'say "hi"': ["x"], "姓 名": ["张三"], "a,b": ["gone"], "plain": ["kept"]})
    con = duckdb.connect()
    try:
        register_functions(con)  # the pseudonym may call yaosu_hmac_sha256 (native.py)
        con.register("src", table)
        out = con.execute(f"SELECT {sql} FROM src WHERE plain = ?", [*params, "kept"]).fetchall()
        description = [d[0] for d in con.description]
    finally:
        con.close()
    assert description == ['say "hi"', "姓 名", "plain"]
    assert out == [(reference_hmac("x", key), "张*", "kept")]


# -- exports ---------------------------------------------------------------------------------------


@pytest.fixture()
def version(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    table = pa.table(
        {
            "身份证号": ["11010519900101002X", "440305198512120011", None] * 100,
            "手机": pa.array([13812341234, 13900001111, None] * 100),
            "出生日期": pa.array([dt.date(1990, 1, 1), dt.date(1985, 12, 12), None] * 100),
            "金额": [1.5, 2.0, None] * 100,
        }
    )
    path = tmp_path / "version.parquet"
    pq.write_table(table, path, row_group_size=50)
    return path, columns_of(table.schema)


POLICY = MaskingPolicy(
    name="export",
    rules={
        "身份证号": Mask(format="resident_id"),
        "手机": Pseudonymize(format="mobile"),
        "出生日期": Generalize(kind="birth_year"),
    },
)


def test_export_parquet_writes_the_masked_copy_with_its_hash(
    version: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    src, columns = version
    dest = tmp_path / "out" / "masked.parquet"
    dest.parent.mkdir()
    seen: list[int] = []
    result = export_masked(src, dest, POLICY, columns, KEY, progress=seen.append)
    assert result.rows == 300
    assert seen[-1] == 300 and seen == sorted(seen)
    data = dest.read_bytes()
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size_bytes == len(data)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["masked.parquet"]
    table = pq.read_table(dest)
    assert table.column("身份证号").to_pylist()[:3] == [
        "110105********002X",
        "440305********0011",
        None,
    ]
    assert table.column("手机").to_pylist()[0] == reference_hmac("13812341234")
    assert table.column("出生日期").to_pylist()[:3] == [1990, 1985, None]
    assert table.column("金额").to_pylist()[:3] == [1.5, 2.0, None]
    assert [c["type"] for c in result.columns] == ["string", "string", "int64", "double"]
    assert pq.read_metadata(dest).row_group(0).column(0).compression == "ZSTD"


def test_export_csv_and_json(version: tuple[Path, list[dict[str, Any]]], tmp_path: Path) -> None:
    src, columns = version
    csv = export_masked(src, tmp_path / "m.csv", POLICY, columns, KEY, fmt="csv")
    read = pacsv.read_csv(tmp_path / "m.csv").to_pydict()
    assert csv.rows == 300 and read["身份证号"][0] == "110105********002X"
    js = export_masked(src, str(tmp_path / "m.json"), POLICY, columns, KEY, fmt="json")
    rows = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert js.rows == len(rows) == 300
    assert rows[2] == {"身份证号": None, "手机": None, "出生日期": None, "金额": None}
    assert rows[0]["手机"] == reference_hmac("13812341234")


def test_a_refused_policy_writes_nothing(
    version: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    src, columns = version
    out = tmp_path / "out"
    out.mkdir()
    bad = MaskingPolicy(name="bad", rules={"出生日期": Mask(), "无此列": Suppress()})
    with pytest.raises(Invalid) as exc:
        export_masked(src, out / "masked.parquet", bad, columns, KEY)
    assert problems(exc) == [("出生日期", "not_applicable"), ("无此列", "unknown_column")]
    assert list(out.iterdir()) == []


def test_a_failure_midway_leaves_nothing_and_keeps_an_existing_file(tmp_path: Path) -> None:
    rows = 200_000
    table = pa.table({"v": [f"value-{i}" for i in range(rows)], "n": list(range(rows))})
    src = tmp_path / "broken.parquet"
    pq.write_table(table, src, row_group_size=20_000, compression="zstd")
    meta = pq.read_metadata(src)
    last = meta.row_group(meta.num_row_groups - 1).column(0)
    data = bytearray(src.read_bytes())
    start = last.data_page_offset + 40
    data[start : start + 2000] = bytes(2000)  # corrupt the last row group's pages
    src.write_bytes(bytes(data))
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "masked.parquet"
    dest.write_bytes(b"previous export")
    policy = MaskingPolicy(name="p", rules={"v": Pseudonymize()})
    with pytest.raises(duckdb.Error):
        export_masked(src, dest, policy, columns_of(table.schema), KEY)
    assert [p.name for p in out.iterdir()] == ["masked.parquet"]
    assert dest.read_bytes() == b"previous export"


def test_a_failing_progress_callback_also_leaves_nothing(
    version: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    src, columns = version

    def fail(done: int) -> None:
        if done == 300:
            raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        export_masked(src, tmp_path / "m.parquet", POLICY, columns, KEY, progress=fail)
    assert not [p for p in tmp_path.iterdir() if p.name != "version.parquet"]


def test_a_callback_failing_while_the_copy_runs_interrupts_it(tmp_path: Path) -> None:
    src = tmp_path / "big.parquet"
    con = duckdb.connect()
    try:
        con.execute(
            "COPY (SELECT 'person-' || i AS v FROM range(3000000) t(i)) TO ? (FORMAT parquet)",
            [str(src)],
        )
    finally:
        con.close()
    calls: list[int] = []

    def fail(done: int) -> None:
        calls.append(done)
        raise RuntimeError("client went away")

    policy = MaskingPolicy(name="p", rules={"v": Pseudonymize()})
    with pytest.raises(RuntimeError, match="client went away"):
        export_masked(
            src,
            tmp_path / "m.parquet",
            policy,
            [{"name": "v", "type": "string"}],
            KEY,
            progress=fail,
        )
    assert len(calls) == 1 and calls[0] < 3_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.parquet"]


def test_unknown_export_format_is_refused(
    version: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    src, columns = version
    with pytest.raises(Invalid) as exc:
        export_masked(src, tmp_path / "m.xlsx", POLICY, columns, KEY, fmt="xlsx")  # type: ignore[arg-type]
    assert exc.value.code == "unknown_format"
    assert not (tmp_path / "m.xlsx").exists()


def test_the_engine_cannot_reach_other_files(tmp_path: Path) -> None:
    con = masking.connect([str(tmp_path / "allowed.parquet")])
    try:
        with pytest.raises(duckdb.Error):
            con.execute("SELECT * FROM read_csv('/etc/passwd')")
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
    finally:
        con.close()


# -- k-anonymity -----------------------------------------------------------------------------------


def people() -> pa.Table:
    """Ten records; by (性别, 出生日期, 地址) the classes are, by hand:
    (男, 1990-01-01, 南山区…1号) ×3, (男, 1990-05-05, 南山区…2号) ×1, (女, 1985-02-02, 朝阳区) ×2,
    (女, 1985-08-08, 朝阳区) ×1, (女, NULL, 朝阳区) ×2, (NULL, NULL, NULL) ×1."""
    nan_row = (None, None, None)
    rows = (
        [("男", dt.date(1990, 1, 1), "广东省深圳市南山区科技园路1号")] * 3
        + [("男", dt.date(1990, 5, 5), "广东省深圳市南山区科技园路2号")]
        + [("女", dt.date(1985, 2, 2), "北京市朝阳区建国路")] * 2
        + [("女", dt.date(1985, 8, 8), "北京市朝阳区建国路")]
        + [("女", None, "北京市朝阳区建国路")] * 2
        + [nan_row]
    )
    sex, birth, address = zip(*rows, strict=True)
    return pa.table(
        {
            "性别": list(sex),
            "出生日期": pa.array(birth, pa.date32()),
            "地址": list(address),
            "手机": [f"1380000000{i}" for i in range(10)],
        }
    )


QIS = ["性别", "出生日期", "地址"]


def test_k_anonymity_before_and_after_a_generalization_plan(tmp_path: Path) -> None:
    plan = MaskingPolicy(
        name="plan",
        rules={
            "出生日期": Generalize(kind="birth_year"),
            "地址": Generalize(kind="address_district"),
            "手机": Pseudonymize(),  # not a quasi-identifier: no effect on the figures
        },
    )
    path = tmp_path / "people.parquet"
    pq.write_table(people(), path)
    for src in (people(), path, str(path)):
        report = masking.k_anonymity(src, QIS, 2, plan)
        assert report.before.model_dump() == {
            "quasi_identifiers": QIS,
            "rows": 10,
            "classes": 6,
            "smallest_class": 1,
            "classes_below_k": 3,
            "records_below_k": 3,
            "share_below_k": 0.3,
        }
        assert (report.rows, report.classes, report.smallest_class) == (10, 6, 1)
        assert (report.records_below_k, report.share_below_k) == (3, 0.3)
        # after: (男, 1990, 南山区) ×4, (女, 1985, 朝阳区) ×3, (女, NULL, 朝阳区) ×2, (NULL…) ×1
        assert report.after is not None
        assert report.after.model_dump() == {
            "quasi_identifiers": QIS,
            "rows": 10,
            "classes": 4,
            "smallest_class": 1,
            "classes_below_k": 1,
            "records_below_k": 1,
            "share_below_k": 0.1,
        }
        assert not report.satisfied
    assert masking.k_anonymity(people(), QIS, 2).after is None


def test_k_anonymity_with_suppressed_and_dropped_quasi_identifiers() -> None:
    plan = MaskingPolicy(
        name="plan",
        rules={"出生日期": Suppress(), "地址": Suppress(drop=True)},
    )
    report = masking.k_anonymity(people(), QIS, 3, plan)
    assert report.after is not None
    # by 性别 alone (出生日期 all NULL, 地址 gone): 男 ×4, 女 ×5, NULL ×1
    assert report.after.quasi_identifiers == ["性别", "出生日期"]
    assert (report.after.classes, report.after.smallest_class) == (3, 1)
    assert report.after.records_below_k == 1
    everything = MaskingPolicy(
        name="plan",
        rules={q: Suppress(drop=True) for q in QIS},
    )
    all_alike = masking.k_anonymity(people(), QIS, 10, everything).after
    assert all_alike is not None
    assert (all_alike.classes, all_alike.smallest_class, all_alike.records_below_k) == (1, 10, 0)


def test_k_anonymity_of_a_pseudonymised_identifier_does_not_depend_on_the_key() -> None:
    plan = MaskingPolicy(name="plan", rules={"手机": Pseudonymize(length=16)})
    report = masking.k_anonymity(people(), ["手机"], 1, plan)
    assert report.after is not None
    assert report.after.classes == report.before.classes == 10
    assert report.satisfied


def test_k_anonymity_of_an_empty_table() -> None:
    report = masking.k_anonymity(people().slice(0, 0), QIS, 5)
    assert (report.rows, report.classes, report.smallest_class, report.share_below_k) == (
        0,
        0,
        0,
        0.0,
    )
    assert report.satisfied


def test_invalid_quasi_identifiers_are_refused() -> None:
    with pytest.raises(Invalid) as exc:
        masking.k_anonymity(people(), ["性别", "无此列", "性别"], 0)
    assert exc.value.code == "invalid_k_anonymity"
    assert problems(exc) == [(None, "bad_k"), ("无此列", "unknown_column"), ("性别", "duplicate")]
    with pytest.raises(Invalid) as exc:
        masking.k_anonymity(people(), [], 2)
    assert problems(exc) == [(None, "no_quasi_identifiers")]
    bad_plan = MaskingPolicy(name="plan", rules={"性别": Generalize(kind="number_band", width=2)})
    with pytest.raises(Invalid) as exc:
        masking.k_anonymity(people(), QIS, 2, bad_plan)
    assert exc.value.code == "invalid_masking_policy"
