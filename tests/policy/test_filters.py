"""Caller filters and row filters: the query syntax and its typed literals, every malformed
parameter named, SQL that quotes identifiers and binds every value, NULL never passing, and a
compiled filter selecting in DuckDB exactly the rows the Python reference selects."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yaosu.kit.errors import Invalid
from yaosu.policy.filters import (
    MAX_FILTERS,
    MAX_VALUES,
    Filter,
    check_row_filter,
    coerce,
    compile_where,
    holds,
    parse_filters,
    parse_literal,
    quote_ident,
    row_passes,
)
from yaosu.policy.model import Constraint, row

TYPES = {
    "district_code": "text",
    "age": "integer",
    "score": "float",
    "born": "date",
    "seen": "datetime",
    "active": "boolean",
    "name": "text",
}


def parse(query: dict[str, Any], allowed: Any = None) -> list[Filter]:
    return parse_filters(query, allowed, TYPES)


def problems(query: dict[str, Any], allowed: Any = None) -> list[tuple[str, str]]:
    with pytest.raises(Invalid) as exc:
        parse(query, allowed)
    assert exc.value.code == "invalid_filter"
    return [(p["parameter"], p["problem"]) for p in exc.value.details["problems"]]


# -- parsing ---------------------------------------------------------------------------------------


def test_the_documented_query() -> None:
    filters = parse(
        {
            "district_code": ["in.370602,370613"],
            "age": ["gte.18", "lt.65"],
            "name": ["eq.张三"],
            "limit": ["10"],
            "fields": ["name,age"],
        }
    )
    assert [(f.column, f.operator, f.value, f.parameter) for f in filters] == [
        ("district_code", "isAnyOf", ("370602", "370613"), "district_code=in.370602,370613"),
        ("age", "gteq", 18, "age=gte.18"),
        ("age", "lt", 65, "age=lt.65"),
        ("name", "eq", "张三", "name=eq.张三"),
    ]


@pytest.mark.parametrize(
    ("column", "raw", "operator", "value"),
    [
        ("age", "eq.-7", "eq", -7),
        ("age", "neq. 7 ", "neq", 7),
        ("score", "gt.1e3", "gt", 1000.0),
        ("score", "lte.-.5", "lteq", -0.5),
        ("score", "lt.3", "lt", 3.0),
        ("born", "gte.2000-02-29", "gteq", dt.date(2000, 2, 29)),
        ("seen", "lt.2026-01-02T03:04:05.123456", "lt", dt.datetime(2026, 1, 2, 3, 4, 5, 123456)),
        ("seen", "gt.2026-01-02 03:04", "gt", dt.datetime(2026, 1, 2, 3, 4)),
        ("seen", "gte.2026-01-02", "gteq", dt.datetime(2026, 1, 2)),
        ("active", "eq.TRUE", "eq", True),
        ("active", "in.true,false", "isAnyOf", (True, False)),
        ("name", "eq.", "eq", ""),
        ("name", "eq. a.b,c ", "eq", " a.b,c "),
        ("name", 'eq."q"', "eq", '"q"'),
        ("name", "in.(a,b)", "isAnyOf", ("a", "b")),
        ("name", 'in.("a, b",c,"x\\"y","\\\\")', "isAnyOf", ("a, b", "c", 'x"y', "\\")),
        ("name", 'in.""', "isAnyOf", ("",)),
        ("name", "in.a,,a", "isAnyOf", ("a", "")),
        ("age", "not.in.1,2,1", "isNoneOf", (1, 2)),
    ],
)
def test_operators_and_typed_literals(column: str, raw: str, operator: str, value: Any) -> None:
    (f,) = parse({column: [raw]})
    assert (f.operator, f.value) == (operator, value)
    assert type(f.value) is type(value)


def test_a_single_string_is_one_value() -> None:
    assert parse({"age": "gt.3"})[0].value == 3


@pytest.mark.parametrize(
    ("column", "raw", "problem"),
    [
        ("age", "18", "unknown_operator"),
        ("age", "eq", "unknown_operator"),
        ("age", "like.1", "unknown_operator"),
        ("age", "not.eq.1", "unknown_operator"),
        ("age", "eq.1.5", "bad_value"),
        ("age", "eq.", "bad_value"),
        ("age", f"eq.{2**63}", "bad_value"),
        ("score", "eq.nan", "bad_value"),
        ("score", "eq.inf", "bad_value"),
        ("score", "eq.1e999", "bad_value"),
        ("born", "eq.2001-02-29", "bad_value"),
        ("born", "eq.20010101", "bad_value"),
        ("seen", "eq.2026-01-01T00:00:00+08:00", "bad_value"),
        ("active", "eq.yes", "bad_value"),
        ("name", "in.", "empty_list"),
        ("name", "in.()", "empty_list"),
        ("name", 'in."a', "bad_list"),
        ("name", 'in."a"b', "bad_list"),
        ("age", "in.1,x", "bad_value"),
        ("nope", "eq.1", "unknown_column"),
    ],
)
def test_malformed_filters_name_their_parameter(column: str, raw: str, problem: str) -> None:
    assert problems({column: [raw]}) == [(f"{column}={raw}", problem)]


def test_every_malformed_parameter_is_listed() -> None:
    with pytest.raises(Invalid) as exc:
        parse({"age": ["gte.x", "lt.5"], "nope": ["eq.1"], "name": ["zz.1"]}, allowed=None)
    assert [p["parameter"] for p in exc.value.details["problems"]] == [
        "age=gte.x",
        "nope=eq.1",
        "name=zz.1",
    ]
    assert exc.value.details["parameter"] == "age=gte.x"
    assert exc.value.message.startswith("Cannot filter by age=gte.x: ")
    assert exc.value.message.endswith("(and 2 more)")
    assert "age=gte.x" in exc.value.message_zh


def test_allowed_columns() -> None:
    assert problems({"age": ["eq.1"]}, allowed=["name"]) == [("age=eq.1", "column_not_allowed")]
    assert parse({"name": ["eq.x"]}, allowed=["name"])[0].column == "name"


def test_reserved_parameters_are_not_filters_unless_told() -> None:
    types = {"limit": "integer"}
    assert parse_filters({"limit": ["5"]}, None, types) == []
    (f,) = parse_filters({"limit": ["eq.5"]}, None, types, reserved=())
    assert f.value == 5


def test_limits() -> None:
    many = ",".join(str(i) for i in range(MAX_VALUES + 1))
    assert problems({"age": [f"in.{many}"]})[0][1] == "too_many_values"
    assert problems({"age": [f"gt.{i}" for i in range(MAX_FILTERS + 1)]}) == [
        ("filters", "too_many_filters")
    ]


def test_parse_literal_and_coerce() -> None:
    assert parse_literal("12", "integer") == 12
    with pytest.raises(ValueError, match="not a whole number"):
        parse_literal("x", "integer")
    with pytest.raises(ValueError, match="unknown column type"):
        parse_literal("x", "varchar")
    assert coerce(3, "float") == 3.0 and isinstance(coerce(3, "float"), float)
    assert coerce("2026-01-01", "date") == dt.date(2026, 1, 1)
    assert coerce("2026-01-01T01:02:03", "datetime") == dt.datetime(2026, 1, 1, 1, 2, 3)
    for value, kind in [
        (True, "integer"),
        (1, "boolean"),
        (1, "text"),
        (1.5, "integer"),
        (float("inf"), "float"),
        (dt.datetime(2026, 1, 1), "date"),
        (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "datetime"),
        ("2026-01-01T00:00:00Z", "datetime"),
        (2**63, "integer"),
    ]:
        with pytest.raises(ValueError):
            coerce(value, kind)


@given(st.integers(-(2**63), 2**63 - 1))
def test_integer_literals_round_trip(n: int) -> None:
    assert parse_literal(str(n), "integer") == n


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_literals_round_trip(x: float) -> None:
    assert parse_literal(repr(x), "float") == x


@given(st.dates())
def test_date_literals_round_trip(d: dt.date) -> None:
    if d.year >= 1000:
        assert parse_literal(d.isoformat(), "date") == d


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_quoted_lists_round_trip(items: list[str]) -> None:
    quoted = ",".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in items)
    (f,) = parse({"name": [f"in.{quoted}"]})
    assert f.value == tuple(dict.fromkeys(items))


# -- compiling -------------------------------------------------------------------------------------


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def test_no_filter_at_all() -> None:
    assert compile_where([], [], TYPES) == ("true", [])


def test_identifiers_are_quoted_and_values_bound(con: duckdb.DuckDBPyConnection) -> None:
    odd = 'a "quoted" 名 col; --'
    types = {odd: "text"}
    evil = "x' OR '1'='1"
    sql, params = compile_where(
        [row(odd, "isAnyOf", ["b"])], parse_filters({odd: [f"neq.{evil}"]}, None, types), types
    )
    assert evil not in sql and "'" not in sql
    assert quote_ident(odd) in sql and params == ["b", evil]
    table = pa.table({odd: ["b", "b'", evil, None]})
    con.register("t", table)
    got = con.execute(f"SELECT * FROM t WHERE {sql}", params).fetchall()
    assert got == [("b",)]


def test_a_nul_in_a_column_name_is_refused() -> None:
    with pytest.raises(Invalid):
        quote_ident("a\x00b")


def test_null_never_passes(con: duckdb.DuckDBPyConnection) -> None:
    table = pa.table({"id": [1, 2, 3], "d": ["370602", "370613", None]})
    con.register("t", table)
    types = {"id": "integer", "d": "text"}
    for constraint, expected in [
        (row("d", "eq", "370602"), [1]),
        (row("d", "isAnyOf", ["370602"]), [1]),
        (row("d", "neq", "370602"), [2]),
        (row("d", "isNoneOf", ["370602"]), [2]),
        (row("d", "gt", "3"), [1, 2]),
    ]:
        sql, params = compile_where([constraint], [], types)
        got = [
            r[0]
            for r in con.execute(f"SELECT id FROM t WHERE {sql} ORDER BY id", params).fetchall()
        ]
        assert got == expected, constraint
        rows = [
            {"id": i, "d": d} for i, d in zip([1, 2, 3], ["370602", "370613", None], strict=True)
        ]
        assert [r["id"] for r in rows if row_passes([constraint], [], r, types)] == expected


def test_row_filter_and_caller_filters_are_anded(con: duckdb.DuckDBPyConnection) -> None:
    con.register(
        "t",
        pa.table({"d": ["370602", "370602", "370613"], "age": [17, 30, 40]}),
    )
    types = {"d": "text", "age": "integer"}
    sql, params = compile_where(
        [row("d", "isAnyOf", ["370602"])], parse_filters({"age": ["gte.18"]}, None, types), types
    )
    assert con.execute(f"SELECT d, age FROM t WHERE {sql}", params).fetchall() == [("370602", 30)]


def test_a_row_filter_that_does_not_fit() -> None:
    bad = [row("missing", "eq", "x"), row("age", "eq", "18"), row("born", "lt", "2020/01/01")]
    assert [p["column"] for p in check_row_filter(bad, TYPES)] == ["missing", "age", "born"]
    with pytest.raises(Invalid) as exc:
        compile_where(bad, [], TYPES)
    assert exc.value.code == "row_filter_does_not_fit"
    assert len(exc.value.details["problems"]) == 3
    not_a_row = Constraint(left_operand="purpose", operator="eq", right_operand="statistics")
    assert check_row_filter([not_a_row], TYPES)[0]["problem"] == "does_not_fit"


def test_a_hand_made_filter_is_checked_too() -> None:
    with pytest.raises(Invalid) as exc:
        compile_where([], [Filter(column="age", operator="eq", value="18")], TYPES)
    assert exc.value.code == "invalid_filter"
    with pytest.raises(Invalid):
        compile_where([], [Filter(column="nope", operator="eq", value="18")], TYPES)
    with pytest.raises(Invalid):
        compile_where([], [Filter(column="age", operator="isAnyOf", value=())], TYPES)


# -- the property: DuckDB selects what the Python reference selects --------------------------------

COLUMNS = {
    "n": ("integer", pa.int64(), st.integers(-3, 3)),
    "x": (
        "float",
        pa.float64(),
        st.sampled_from([-1.5, -0.0, 0.0, 0.5, 2.0, math.inf, -math.inf, math.nan]),
    ),
    "d": ("date", pa.date32(), st.dates(dt.date(2026, 1, 1), dt.date(2026, 1, 6))),
    "ts": (
        "datetime",
        pa.timestamp("us"),
        st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, 0, 0, 0, 5)),
    ),
    'the "name" 名': (
        "text",
        pa.string(),
        st.text(st.sampled_from(["a", "b", "é", "名", "😀", "\uffff", " "]), max_size=2),
    ),
    "b": ("boolean", pa.bool_(), st.booleans()),
}
PROPERTY_TYPES = {name: spec[0] for name, spec in COLUMNS.items()}


def _literal(name: str) -> st.SearchStrategy[Any]:
    if name == "x":  # literals are finite
        return st.sampled_from([-1.5, -0.0, 0.0, 0.5, 2.0])
    return COLUMNS[name][2]


@st.composite
def predicates(draw: st.DrawFn) -> tuple[bool, str, str, Any]:
    name = draw(st.sampled_from(list(COLUMNS)))
    ops = ["eq", "neq", "isAnyOf", "isNoneOf"]
    if name != "b":
        ops += ["lt", "lteq", "gt", "gteq"]
    op = draw(st.sampled_from(ops))
    if op in {"isAnyOf", "isNoneOf"}:
        value: Any = draw(st.lists(_literal(name), min_size=1, max_size=3))
    else:
        value = draw(_literal(name))
    return draw(st.booleans()), name, op, value


def _json(value: Any) -> Any:
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value.isoformat() if isinstance(value, dt.date) else value


@st.composite
def tables(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(0, 12))
    return [{name: draw(st.none() | spec[2]) for name, spec in COLUMNS.items()} for _ in range(n)]


_CON = duckdb.connect()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.lists(predicates(), max_size=4))
def test_compiled_filters_select_what_python_selects(
    rows: list[dict[str, Any]], preds: list[tuple[bool, str, str, Any]]
) -> None:
    row_filter = [row(name, op, _json(v)) for is_row, name, op, v in preds if is_row]
    caller = [
        Filter(column=name, operator=op, value=tuple(v) if isinstance(v, list) else v)
        for is_row, name, op, v in preds
        if not is_row
    ]
    arrays = {"__id": pa.array(range(len(rows)), pa.int64())}
    for name, (_, arrow_type, _) in COLUMNS.items():
        arrays[name] = pa.array([r[name] for r in rows], arrow_type)
    _CON.register("t", pa.table(arrays))
    try:
        sql, params = compile_where(row_filter, caller, PROPERTY_TYPES)
        got = [
            r[0]
            for r in _CON.execute(
                f"SELECT __id FROM t WHERE {sql} ORDER BY __id", params
            ).fetchall()
        ]
    finally:
        _CON.unregister("t")
    expected = [i for i, r in enumerate(rows) if row_passes(row_filter, caller, r, PROPERTY_TYPES)]
    assert got == expected


@given(
    st.integers(-5, 5) | st.floats(allow_nan=False), st.integers(-5, 5) | st.floats(allow_nan=False)
)
def test_holds_agrees_with_python_on_numbers(a: float, b: float) -> None:
    assert holds("eq", a, b) == (a == b)
    assert holds("neq", a, b) == (a != b)
    assert holds("lt", a, b) == (a < b)
    assert holds("lteq", a, b) == (a <= b)
    assert holds("gt", a, b) == (a > b)
    assert holds("gteq", a, b) == (a >= b)


@given(st.text(max_size=2), st.lists(st.text(max_size=2), min_size=1, max_size=4))
def test_holds_agrees_with_python_on_sets(a: str, values: list[str]) -> None:
    assert holds("isAnyOf", a, values) == (a in values)
    assert holds("isNoneOf", a, values) == (a not in values)
    assert not holds("isAnyOf", None, values) and not holds("isNoneOf", None, values)
