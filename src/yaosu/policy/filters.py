"""Caller filters from query parameters, and row filters with caller filters compiled to DuckDB.

Query syntax (PostgREST-like), one parameter per column, repeated parameters ANDed::

    ?district_code=in.370602,370613&age=gte.18&name=eq.张三&age=lt.65

Operators: ``eq``, ``neq``, ``lt``, ``lte``, ``gt``, ``gte``, ``in`` and ``not.in`` (the
policy's ``eq``, ``neq``, ``lt``, ``lteq``, ``gt``, ``gteq``, ``isAnyOf``, ``isNoneOf``).
Literals are typed by the column's type (the data plane's boolean, integer, float, date,
datetime, text). A list of ``in``/``not.in`` is comma-separated, optionally in parentheses;
an item in double quotes may hold commas (``\\"`` and ``\\\\`` escape inside quotes).

NULL never passes a row filter or a caller filter, whatever the operator: a row whose filtered
column is NULL is left out (also under ``neq`` and ``isNoneOf``), so a row filter granting
"only district X" or "all but district X" never lets an unattributed row through.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from yaosu.kit.errors import Invalid
from yaosu.policy.model import SET_OPERATORS, Constraint, Operator

__all__ = [
    "COLUMN_TYPES",
    "MAX_FILTERS",
    "MAX_VALUES",
    "QUERY_OPERATORS",
    "RESERVED_PARAMS",
    "Filter",
    "check_row_filter",
    "coerce",
    "compile_where",
    "holds",
    "parse_filters",
    "parse_literal",
    "quote_ident",
    "row_passes",
]

COLUMN_TYPES: dict[str, tuple[str, str]] = {
    "boolean": ("布尔", "BOOLEAN"),
    "integer": ("整数", "BIGINT"),
    "float": ("数值", "DOUBLE"),
    "date": ("日期", "DATE"),
    "datetime": ("日期时间", "TIMESTAMP"),
    "text": ("文本", "VARCHAR"),
}
"""The data plane's column types: (zh name, DuckDB type of a bound literal)."""

QUERY_OPERATORS: dict[str, str] = {
    "eq": "eq",
    "neq": "neq",
    "lt": "lt",
    "lte": "lteq",
    "gt": "gt",
    "gte": "gteq",
    "in": "isAnyOf",
    "not.in": "isNoneOf",
}
RESERVED_PARAMS = frozenset(
    {"fields", "select", "limit", "offset", "order", "cursor", "page", "page_size", "purpose",
     "format", "mode", "count"}
)  # fmt: skip
"""Query parameters of the data service that are never filters."""
MAX_FILTERS = 64
MAX_VALUES = 1000

_SQL_OPERATORS = {"eq": "=", "neq": "<>", "lt": "<", "lteq": "<=", "gt": ">", "gteq": ">="}
_INT64 = (-(2**63), 2**63 - 1)
_INTEGER_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?")


class Filter(BaseModel):
    """One caller filter: ``column operator value``; ``value`` is typed by the column's type,
    a tuple for ``isAnyOf``/``isNoneOf``. ``parameter`` is the query parameter as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    operator: Operator
    value: Any
    parameter: str = ""


def quote_ident(name: str) -> str:
    """A DuckDB identifier: any name (quotes, spaces, Chinese) in double quotes."""
    if "\x00" in name:
        raise Invalid(
            "A column name cannot contain NUL.", "列名不能包含 NUL 字符。", code="invalid_column"
        )
    return '"' + name.replace('"', '""') + '"'


# -- literals --------------------------------------------------------------------------------------


class _Unfit(Exception):
    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh


def _unfit(value: Any, column_type: str) -> _Unfit:
    zh_type = COLUMN_TYPES[column_type][0]
    examples = {
        "boolean": "true or false",
        "integer": "a whole number",
        "float": "a finite number",
        "date": "a date YYYY-MM-DD",
        "datetime": "a date-time YYYY-MM-DD[THH:MM[:SS[.ffffff]]] without offset",
        "text": "text",
    }
    return _Unfit(
        f"{value!r} is not {examples[column_type]} ({column_type} column)",
        f"{value!r} 不是{zh_type}类型的值",
    )


def _known_type(column_type: str) -> None:
    if column_type not in COLUMN_TYPES:
        raise _Unfit(
            f"unknown column type {column_type!r}; known: {', '.join(COLUMN_TYPES)}",
            f"未知的列类型 {column_type!r}；可选：{'、'.join(COLUMN_TYPES)}",
        )


def parse_literal(text: str, column_type: str) -> Any:
    """A query-string literal typed by ``column_type``; ValueError when it does not fit. Text is
    taken as written; other types may have surrounding spaces."""
    try:
        return _parse_literal(text, column_type)
    except _Unfit as exc:
        raise ValueError(exc.en) from None


def _parse_literal(text: str, column_type: str) -> Any:
    _known_type(column_type)
    if column_type == "text":
        return text
    t = text.strip()
    try:
        if column_type == "boolean" and t.lower() in {"true", "false"}:
            return t.lower() == "true"
        if column_type == "integer" and _INTEGER_RE.fullmatch(t):
            return _int64(int(t), text)
        if column_type == "float" and _FLOAT_RE.fullmatch(t) and math.isfinite(float(t)):
            return float(t)
        if column_type == "date" and _DATE_RE.fullmatch(t):
            return dt.date.fromisoformat(t)
        if column_type == "datetime" and _DATETIME_RE.fullmatch(t):
            return dt.datetime.fromisoformat(t)
    except ValueError:
        pass
    raise _unfit(text, column_type)


def _int64(n: int, shown: Any) -> int:
    if not _INT64[0] <= n <= _INT64[1]:
        raise _Unfit(
            f"{shown!r} is out of the 64-bit integer range", f"{shown!r} 超出 64 位整数范围"
        )
    return n


def coerce(value: Any, column_type: str) -> Any:
    """A JSON right operand (or an already typed value) as a value of ``column_type``:
    integer ← int; float ← int or finite float; boolean ← bool; text ← str; date ← ``date`` or
    ``"YYYY-MM-DD"``; datetime ← naive ``datetime`` or ISO text without offset. ValueError when
    it does not fit."""
    try:
        return _coerce(value, column_type)
    except _Unfit as exc:
        raise ValueError(exc.en) from None


def _coerce(value: Any, column_type: str) -> Any:
    _known_type(column_type)
    if column_type == "text" and isinstance(value, str):
        return value
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if not isinstance(value, bool):
        if column_type == "integer" and isinstance(value, int):
            return _int64(value, value)
        if column_type == "float" and isinstance(value, int | float) and math.isfinite(value):
            return float(value)
        if column_type == "date":
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return value
            if isinstance(value, str) and _DATE_RE.fullmatch(value):
                return _parse_literal(value, "date")
        if column_type == "datetime":
            if isinstance(value, dt.datetime) and value.tzinfo is None:
                return value
            if isinstance(value, str) and _DATETIME_RE.fullmatch(value):
                return _parse_literal(value, "datetime")
    raise _unfit(value, column_type)


# -- query parameters ------------------------------------------------------------------------------


def _split_list(text: str) -> list[str]:
    """Items of ``a,b,"c,d"`` (optionally in parentheses); ValueError on a broken quote."""
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    if text == "":
        return []
    items: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            buf: list[str] = []
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(text[i])
                i += 1
            if i >= n:
                raise ValueError("unclosed quote")
            i += 1
            if i < n and text[i] != ",":
                raise ValueError("text after a closing quote")
            items.append("".join(buf))
        else:
            j = text.find(",", i)
            j = n if j < 0 else j
            items.append(text[i:j])
            i = j
        if i >= n:
            return items
        i += 1  # the comma


def parse_filters(
    params: Mapping[str, Sequence[str] | str],
    allowed_columns: Collection[str] | None,
    column_types: Mapping[str, str],
    *,
    reserved: Collection[str] = RESERVED_PARAMS,
) -> list[Filter]:
    """Caller filters from query parameters (name → every value given, e.g. ``{k:
    request.query_params.getlist(k) for k in request.query_params}``); names in ``reserved``
    are skipped. ``column_types`` maps each existing column to its type; ``allowed_columns``
    (None: all of them) are the columns that may be filtered on. Pass the version's columns as
    allowed to leave whether the grant allows a column to ``evaluate.decide``, which refuses
    with the policy's reason. Every problem is raised at once as ``Invalid(code=
    "invalid_filter")``, each naming its parameter."""
    out: list[Filter] = []
    problems: list[dict[str, Any]] = []

    def add(parameter: str, problem: str, en: str, zh: str) -> None:
        problems.append(
            {
                "parameter": parameter,
                "problem": problem,
                "message": f"{parameter}: {en}",
                "message_zh": f"{parameter}：{zh}",
            }
        )

    for name, given in params.items():
        if name in reserved:
            continue
        for raw in [given] if isinstance(given, str) else given:
            parameter = f"{name}={raw}"
            if name not in column_types:
                add(parameter, "unknown_column", f"there is no column {name!r}", f"没有列 {name!r}")
                continue
            if allowed_columns is not None and name not in allowed_columns:
                add(
                    parameter,
                    "column_not_allowed",
                    f"column {name!r} cannot be filtered on",
                    f"列 {name!r} 不可用于筛选",
                )
                continue
            column_type = column_types[name]
            if raw.startswith("not.in."):
                op_name, text = "not.in", raw[len("not.in.") :]
            else:
                op_name, _, text = raw.partition(".")
            if op_name not in QUERY_OPERATORS or (op_name == raw and "." not in raw):
                add(
                    parameter,
                    "unknown_operator",
                    f"write an operator first ({', '.join(QUERY_OPERATORS)}), e.g. {name}=eq.…",
                    f"请先写运算符（{'、'.join(QUERY_OPERATORS)}），如 {name}=eq.…",
                )
                continue
            operator = QUERY_OPERATORS[op_name]
            try:
                if operator in SET_OPERATORS:
                    items = _split_list(text)
                    if not items:
                        add(parameter, "empty_list", "the list is empty", "列表为空")
                        continue
                    if len(items) > MAX_VALUES:
                        add(
                            parameter,
                            "too_many_values",
                            f"at most {MAX_VALUES} values in a list",
                            f"列表最多 {MAX_VALUES} 个值",
                        )
                        continue
                    value: Any = tuple(dict.fromkeys(_parse_literal(x, column_type) for x in items))
                else:
                    value = _parse_literal(text, column_type)
            except _Unfit as exc:
                add(parameter, "bad_value", exc.en, exc.zh)
                continue
            except ValueError as exc:
                add(parameter, "bad_list", f"malformed list: {exc}", f"列表格式有误：{exc}")
                continue
            out.append(Filter(column=name, operator=operator, value=value, parameter=parameter))
    if len(out) > MAX_FILTERS:
        add(
            "filters",
            "too_many_filters",
            f"at most {MAX_FILTERS} filters",
            f"最多 {MAX_FILTERS} 个筛选条件",
        )
    if problems:
        n = len(problems)
        more_en = f" (and {n - 1} more)" if n > 1 else ""
        more_zh = f"（另有 {n - 1} 个问题）" if n > 1 else ""
        raise Invalid(
            f"Cannot filter by {problems[0]['message']}{more_en}",
            f"无法按此筛选：{problems[0]['message_zh']}{more_zh}",
            code="invalid_filter",
            parameter=problems[0]["parameter"],
            problems=problems,
        )
    return out


# -- compilation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Predicate:
    column: str
    column_type: str
    operator: str
    value: Any  # typed; a tuple for the set operators


def _predicates(
    row_filter: Sequence[Constraint], filters: Sequence[Filter], column_types: Mapping[str, str]
) -> list[_Predicate]:
    problems = check_row_filter(row_filter, column_types)
    if problems:
        n = len(problems)
        raise Invalid(
            f"The grant's row filter does not fit the data: {problems[0]['message']}"
            + (f" (and {n - 1} more)" if n > 1 else ""),
            f"授权的行过滤条件与数据不符：{problems[0]['message_zh']}"
            + (f"（另有 {n - 1} 个问题）" if n > 1 else ""),
            code="row_filter_does_not_fit",
            problems=problems,
        )
    out = [
        _Predicate(
            c.column or "", column_types[c.column or ""], c.operator, _typed(c, column_types)
        )
        for c in row_filter
    ]
    bad: list[dict[str, Any]] = []
    for f in filters:
        column_type = column_types.get(f.column)
        try:
            if column_type is None:
                raise _Unfit(f"there is no column {f.column!r}", f"没有列 {f.column!r}")
            value = _typed_value(f.operator, f.value, column_type)
        except _Unfit as exc:
            where = f.parameter or f.column
            bad.append({"parameter": where, "problem": "bad_value", "message": f"{where}: {exc.en}",
                        "message_zh": f"{where}：{exc.zh}"})  # fmt: skip
            continue
        out.append(_Predicate(f.column, column_type, f.operator, value))
    if bad:
        raise Invalid(
            f"Cannot filter by {bad[0]['message']}",
            f"无法按此筛选：{bad[0]['message_zh']}",
            code="invalid_filter",
            problems=bad,
        )
    return out


def _typed_value(operator: str, value: Any, column_type: str) -> Any:
    if operator in SET_OPERATORS:
        if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
            raise _Unfit(f"{operator} takes a non-empty list", f"{operator} 须为非空列表")
        return tuple(dict.fromkeys(_coerce(v, column_type) for v in value))
    return _coerce(value, column_type)


def _typed(c: Constraint, column_types: Mapping[str, str]) -> Any:
    return _typed_value(c.operator, c.right_operand, column_types[c.column or ""])


def check_row_filter(
    row_filter: Sequence[Constraint], column_types: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Problems of a grant's row filter on a version's columns: a column that does not exist,
    an unknown column type, a value that does not fit the column's type (empty when it fits)."""
    problems: list[dict[str, Any]] = []
    for c in row_filter:
        column = c.column
        where = f"{c.left_operand} {c.operator}"
        try:
            if column is None:
                raise _Unfit(
                    f"{c.left_operand} is not a row filter", f"{c.left_operand} 不是行过滤条件"
                )
            if column not in column_types:
                raise _Unfit(f"there is no column {column!r}", f"没有列 {column!r}")
            _typed(c, column_types)
        except _Unfit as exc:
            problems.append(
                {
                    "column": column,
                    "problem": "does_not_fit",
                    "message": f"{where}: {exc.en}",
                    "message_zh": f"{where}：{exc.zh}",
                }
            )
    return problems


def compile_where(
    row_filter: Sequence[Constraint],
    filters: Sequence[Filter],
    column_types: Mapping[str, str],
) -> tuple[str, list[Any]]:
    """A DuckDB boolean expression of the grant's row filter AND the caller's filters, with
    ``?`` placeholders and the values they bind, in order: ``con.execute(f"SELECT … FROM t
    WHERE {sql}", [*select_params, *params])``. Identifiers are quoted; values are never part of
    the text. No filter at all gives ``("true", [])``."""
    parts: list[str] = []
    params: list[Any] = []
    for p in _predicates(row_filter, filters, column_types):
        col = quote_ident(p.column)
        cast = f"CAST(? AS {COLUMN_TYPES[p.column_type][1]})"
        if p.operator in SET_OPERATORS:
            keyword = "IN" if p.operator == "isAnyOf" else "NOT IN"
            test = f"{col} {keyword} ({', '.join([cast] * len(p.value))})"
            params.extend(p.value)
        else:
            test = f"{col} {_SQL_OPERATORS[p.operator]} {cast}"
            params.append(p.value)
        parts.append(f"coalesce({test}, false)")  # NULL never passes
    return (" AND ".join(parts) if parts else "true"), params


def _key(v: Any) -> Any:
    """DuckDB's order of floats: NaN equals itself and is above every other value."""
    if isinstance(v, float):
        return (1, 0.0) if math.isnan(v) else (0, v)
    if isinstance(v, int) and not isinstance(v, bool):
        return (0, v)
    return v


def holds(operator: str, actual: Any, value: Any) -> bool:
    """``actual operator value`` with the engine's semantics: None (NULL) never holds, NaN equals
    itself and is above every number; ``value`` is a collection for isAnyOf/isNoneOf."""
    if actual is None:
        return False
    a = _key(actual)
    if operator == "isAnyOf":
        return any(a == _key(v) for v in value)
    if operator == "isNoneOf":
        return all(a != _key(v) for v in value)
    b = _key(value)
    if operator == "eq":
        return bool(a == b)
    if operator == "neq":
        return bool(a != b)
    if operator == "lt":
        return bool(a < b)
    if operator == "lteq":
        return bool(a <= b)
    if operator == "gt":
        return bool(a > b)
    if operator == "gteq":
        return bool(a >= b)
    raise AssertionError(operator)


def row_passes(
    row_filter: Sequence[Constraint],
    filters: Sequence[Filter],
    row: Mapping[str, Any],
    column_types: Mapping[str, str],
) -> bool:
    """Whether one row (column → Python value, None for NULL) passes, by the same rules as
    ``compile_where`` runs in DuckDB: for a pushed row, or to state the semantics in tests."""
    return all(
        holds(p.operator, row.get(p.column), p.value)
        for p in _predicates(row_filter, filters, column_types)
    )
