"""Type inference: the rules, the reasons, and properties checked with hypothesis."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yaosu.dataplane.inference import (
    ID_NEIGHBOUR,
    ID_SHARE,
    ID_WIDTH,
    ColumnInfo,
    ColumnType,
    TypeInferrer,
    _fits_one,
    cast_column,
    first_bad,
    name_kind,
)

T = ColumnType


def infer(values: Sequence[str | None], batch: int = 1000, name: str = "c") -> ColumnInfo:
    """Infer one column fed in batches of ``batch`` values."""
    inferrer = TypeInferrer([name])
    for start in range(0, max(len(values), 1), batch):
        chunk = pa.array(values[start : start + batch], pa.string())
        inferrer.update(pa.RecordBatch.from_arrays([chunk], names=[name]))
    return inferrer.columns()[0]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "-20", "0", None], T.INTEGER),
        (["0", "1", "1", "0"], T.INTEGER),  # 0/1 flags stay integers
        (["1.5", "2", "-0.25", "1e10", "3.0E-5"], T.FLOAT),
        (["true", "False", "TRUE"], T.BOOLEAN),
        (["是", "否", None], T.BOOLEAN),
        (["2024-01-05", "1999/12/31", "2024/1/5"], T.DATE),
        (["2024-01-05 10:00:00", "2024-01-05T08:30", "2024-01-06", "2024/1/6 9:05"], T.DATETIME),
        (["2024-01-05 10:00:00.123456"], T.DATETIME),
        (["张三", "1"], T.TEXT),
        ([None, None], T.TEXT),
    ],
)
def test_types(values: list[str | None], expected: ColumnType) -> None:
    assert infer(values).type is expected


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (["110101199003071234", "11010119900307123X"], "more than 15 digits"),
        (["110101199003071234"], "more than 15 digits"),  # no X at all: still text
        (["0001", "0002", "0103"], "leading zero"),
        (["2023-02-29"], "not a valid calendar date"),
    ],
)
def test_identifiers_and_invalid_dates_stay_text_with_a_reason(
    values: list[str], reason: str
) -> None:
    info = infer(values)
    assert info.type is T.TEXT
    assert info.reason is not None and reason in info.reason and info.reason.startswith("row 1:")


# -- identifiers that look like integers stay text ----------------------------------------------

MOBILES = ["13077777868", "13812345678", "18600001111", "19912345678", "15088886666"]


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("c", ["13077777868"]),  # one mobile is enough: 11 digits, 1[3-9]
        ("c", MOBILES * 40),
        ("c", MOBILES * 19 + ["0", None, None, "12"]),  # a few junk rows do not defeat it
        ("c", ["310000", "100101", "518057", "200233"]),  # postal codes: one width of 6
        ("c", ["110105491231002", "320102720315121"]),  # the 15-digit resident ID
        ("c", ["88886666", "13077777868", "62345678", "18600001111"]),  # landlines + mobiles
        ("c", ["6222021234567", "6222029876543"]),  # 13-digit account numbers
        ("c", ["20240105", "19991231"]),  # YYYYMMDD is a date code, not a quantity
        ("手机号", ["123", "4567"]),  # the name says identifier: no shape needed
        ("联系电话", ["88886666", "13077777868", "5"]),
        ("邮编", ["310000", "1"]),
        ("sjhm", ["13077777868", "0"]),
        ("yzbm", ["310000"]),
        ("phoneNumber", ["13077777868", "1"]),
        ("zip_code", ["310000", "52"]),
        ("ID_CARD", ["110105491231002"]),
        ("证件号码", ["110105491231002", "1"]),
        ("银行卡号", ["1", "2"]),
        ("tel_count", MOBILES * 4),  # a quantity name does not outweigh a column of mobiles
        ("手机数量", MOBILES * 4 + ["0"]),
    ],
)
def test_identifier_integers_stay_text(name: str, values: list[str | None]) -> None:
    info = infer(values, batch=7, name=name)
    assert info.type is T.TEXT, info
    assert info.reason is not None and "kept as text" in info.reason
    for batch in (1, 3, 1000):  # the decision does not depend on the batching
        assert infer(values, batch=batch, name=name) == info


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("c", ["1", "20", "300", "4000", "50000", "600000"]),  # counts of every size
        ("c", ["2019", "2020", "2021"]),  # years: 4 digits
        ("c", [str(i) for i in range(1, 2000)]),  # row numbers
        ("c", [str(i) for i in range(1, 1_000_000, 7)]),  # 90% have 6 digits, 9% have 5
        ("c", ["-100000", "-200000", "300000"]),  # negative numbers are quantities
        ("c", MOBILES * 4 + ["0", "1", "2", "3"]),  # 83% mobiles, no hint: below the share
        ("c", ["123456", "7", "89", "1000"]),
        ("金额", ["123456", "234567", "345678"]),  # a quantity name keeps one width integer
        ("人口", ["1200000", "3400000"]),
        ("就诊人数", ["100000", "200000"]),
        ("population", ["1200000", "3400000"]),
        ("total_amount", ["13077777868"]),  # one large amount is not a column of mobiles
        ("total_amount", MOBILES * 3),
        ("电话费", ["130777778", "130777779"]),  # 电话 inside a quantity name
        ("手机数量", ["123456"]),
        ("created_ts", ["1700000000", "1700000123"]),
        ("编号", ["100001", "100002", "7"]),
    ],
)
def test_genuine_integers_stay_integers(name: str, values: list[str]) -> None:
    info = infer(values, batch=5, name=name)
    assert info.type is T.INTEGER and info.reason is None, info


def test_the_reason_names_the_width_the_values_have() -> None:
    assert "one width of 11 digits" in (infer(MOBILES * 40, name="c").reason or "")
    assert "one width of 6 digits" in (infer(["310000", "100101"] * 5, name="c").reason or "")


def test_leading_zero_and_long_digits_still_win_with_their_row() -> None:
    # the older, row-precise reasons are kept when they apply
    info = infer(["310000", "010010"], name="邮编")
    assert info.type is T.TEXT and info.reason == (
        "row 2: '010010' has a leading zero (kept as text to preserve it)"
    )


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("手机号码", ("identifier", "手机")),
        ("cust_phone_no", ("identifier", "phone")),
        ("IDCard", ("identifier", "card")),
        ("lxdh", ("identifier", "lxdh")),
        ("手机号码数量", ("quantity", "数量")),
        ("销量", ("quantity", "量")),
        ("amountFen", ("quantity", "amount")),
        ("手 机", ("identifier", "手机")),  # spaces, invisible characters, full width
        ("邮\u200b编", ("identifier", "邮编")),
        ("ｐｈｏｎｅ", ("identifier", "phone")),
        ("人 数", ("quantity", "人数")),
        ("编号", None),
        ("id", None),
        ("name", None),
    ],
)
def test_name_kind(name: str, said: tuple[str, str] | None) -> None:
    assert name_kind(name) == said


@pytest.mark.parametrize(
    "value", ["1,234", "+5", ".5", "5.", "NaN", "inf", "1e999", "0x10", " 1", "１２"]
)
def test_number_look_alikes_are_text(value: str) -> None:
    assert infer(["1", value]).type is T.TEXT


@pytest.mark.parametrize(
    "value",
    ["20240105", "2024-13-01", "2024-00-10", "0999-01-01", "2024-01-05Z", "2024-01-05 24:00"],
)
def test_date_look_alikes_are_not_dates(value: str) -> None:
    assert infer(["2024-01-01", value]).type not in (T.DATE, T.DATETIME)


def test_late_odd_value_is_reported_with_its_row() -> None:
    values = [str(i) for i in range(60_000)]
    values[49_999] = "N/A"  # row 50,000
    info = infer(values, batch=8192)
    assert info.type is T.TEXT
    assert info.reason == "row 50,000: 'N/A' is not an integer"


def test_widening_to_float_is_explained() -> None:
    info = infer(["1", "2", "2.5", "3"])
    assert info.type is T.FLOAT and info.reason == "row 3: '2.5' is not an integer"
    assert infer(["2.5", "1"]).reason is None  # never looked like integers


def test_nullable_counts_nulls_in_any_batch() -> None:
    assert infer(["1", "2"]).nullable is False
    assert infer(["1"] * 10 + [None], batch=4).nullable is True


def test_first_row_counts_across_leading_null_batches() -> None:
    info = infer([None] * 5 + ["7", "x"], batch=3)
    assert info.type is T.TEXT and info.reason == "row 7: 'x' is not an integer"


def test_cast_column_matches_inference() -> None:
    col = pa.array(["2024/1/5", None, "2024-12-31"])
    assert cast_column(col, T.DATE).to_pylist() == [
        dt.date(2024, 1, 5),
        None,
        dt.date(2024, 12, 31),
    ]
    col = pa.array(["2024/1/5 9:05", "2024-01-06T10:00:00.5"])
    assert cast_column(col, T.DATETIME).to_pylist() == [
        dt.datetime(2024, 1, 5, 9, 5),
        dt.datetime(2024, 1, 6, 10, 0, 0, 500000),
    ]
    assert cast_column(pa.array(["是", "False", None]), T.BOOLEAN).to_pylist() == [
        True,
        False,
        None,
    ]


# -- properties --------------------------------------------------------------------------------

int_text = st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1).map(str)
INTEGER_LIKE = re.compile(r"0|-?[1-9][0-9]{0,14}")
FLOAT_LIKE = re.compile(r"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,3})?")


def looks_like_identifiers(values: list[str]) -> bool:
    """The identifier rule for an unnamed all-integer column, written plainly."""
    widths = Counter(len(v) for v in values if not v.startswith("-"))
    if not widths:
        return False
    mobiles = sum(1 for v in values if re.fullmatch(r"1[3-9][0-9]{9}", v))
    return any(
        widths[w] + (mobiles if w != 11 else 0) >= ID_SHARE * len(values)
        and widths[w - 1] <= ID_NEIGHBOUR * len(values)
        for w in range(ID_WIDTH, 17)
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(int_text, min_size=1, max_size=300), st.integers(1, 50))
def test_integers_round_trip(values: list[str], batch: int) -> None:
    info = infer(values, batch=batch)
    if looks_like_identifiers(values):
        assert info.type is T.TEXT and info.reason and "look like identifiers" in info.reason
    else:
        assert info.type is T.INTEGER and info.reason is None
    # Under a name that says quantity, integers are always integers.
    assert infer(values, batch=batch, name="金额").type is T.INTEGER
    cast = cast_column(pa.array(values), T.INTEGER).to_pylist()
    assert [str(v) for v in cast] == values


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.from_regex(r"1[3-9][0-9]{9}|[1-9][0-9]{5}|[1-9][0-9]{14}", fullmatch=True),
        min_size=1,
        max_size=200,
    ),
    st.integers(1, 50),
)
def test_identifier_shaped_integers_are_always_text(values: list[str], batch: int) -> None:
    # one width (a postal code, an old ID) or mobiles: whatever the mix, whatever the batches
    for width in {len(v) for v in values}:
        if all(len(v) == width or re.fullmatch(r"1[3-9][0-9]{9}", v) for v in values):
            assert infer(values, batch=batch).type is T.TEXT
    assert infer(values, batch=batch, name="手机号码").type is T.TEXT


@settings(max_examples=80, deadline=None)
@given(
    st.lists(int_text, min_size=1, max_size=100),
    st.text(min_size=1, max_size=12).filter(lambda s: not FLOAT_LIKE.fullmatch(s)),
    st.data(),
)
def test_any_non_number_string_forces_text(
    values: list[str], odd: str, data: st.DataObject
) -> None:
    position = data.draw(st.integers(0, len(values)))
    mixed = [*values[:position], odd, *values[position:]]
    info = infer(mixed, batch=7)
    assert info.type is T.TEXT
    if position > 0:  # the integers came first: the reason names the odd value's row
        assert info.reason is not None and info.reason.startswith(f"row {position + 1:,}:")


VALUES = st.one_of(
    st.text(max_size=25),
    st.from_regex(r"-?[0-9]{1,17}(\.[0-9]{1,3})?([eE]-?[0-9]{1,3})?", fullmatch=True),
    st.from_regex(
        r"[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}"
        r"([ T][0-9]{1,2}(:?[0-9]{2}){0,2}(\.[0-9]{1,8})?)?Z?",
        fullmatch=True,
    ),
    st.from_regex(r"[-+]?[0-9]{0,17}\.?[0-9]{0,3}", fullmatch=True),
    st.sampled_from(
        ["true", "TRUE", "tRuE", "是", "否", "0", "00", "1e400", "inf", "-nan", "+1.5", "-.5"]
    ),
)
KINDS = (T.BOOLEAN, T.INTEGER, T.FLOAT, T.DATE, T.DATETIME)


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_single_value_shortcut_agrees_with_the_vectorised_check(value: str) -> None:
    # The one-value pre-check may only reject what the batch check rejects too.
    col = pa.array([value])
    for kind in KINDS:
        vectorised_ok = first_bad(kind, col) < 0
        assert _fits_one(kind, value) == vectorised_ok, (kind, value)
        if vectorised_ok:  # and whatever inference accepts, the cast turns into a value
            assert cast_column(col, kind).null_count == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), VALUES), max_size=12), st.data())
def test_whole_column_checks_find_the_first_misfit(values: list[str | None], data: Any) -> None:
    # The fast whole-column paths must agree with the one-value reference on every position.
    kind = data.draw(st.sampled_from(KINDS))
    col = pa.array(values, pa.string())
    expected = next(
        (i for i, v in enumerate(values) if v is not None and not _fits_one(kind, v)), -1
    )
    assert first_bad(kind, col) == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(st.dates(min_value=dt.date(1000, 1, 1)), min_size=1, max_size=50))
def test_dates_round_trip_in_both_spellings(days: list[dt.date]) -> None:
    spelled = [
        d.isoformat() if i % 2 else f"{d.year}/{d.month}/{d.day}" for i, d in enumerate(days)
    ]
    assert infer(spelled, batch=5).type is T.DATE
    assert cast_column(pa.array(spelled), T.DATE).to_pylist() == days
