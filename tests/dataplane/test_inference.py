"""Type inference: the rules, the reasons, and properties checked with hypothesis."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yaosu.dataplane.inference import (
    ColumnInfo,
    ColumnType,
    TypeInferrer,
    _fits_one,
    cast_column,
    first_bad,
)

T = ColumnType


def infer(values: Sequence[str | None], batch: int = 1000) -> ColumnInfo:
    """Infer one column fed in batches of ``batch`` values."""
    inferrer = TypeInferrer(["c"])
    for start in range(0, max(len(values), 1), batch):
        chunk = pa.array(values[start : start + batch], pa.string())
        inferrer.update(pa.RecordBatch.from_arrays([chunk], names=["c"]))
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


@settings(max_examples=60, deadline=None)
@given(st.lists(int_text, min_size=1, max_size=300), st.integers(1, 50))
def test_integers_round_trip(values: list[str], batch: int) -> None:
    info = infer(values, batch=batch)
    assert info.type is T.INTEGER and info.reason is None
    cast = cast_column(pa.array(values), T.INTEGER).to_pylist()
    assert [str(v) for v in cast] == values


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
