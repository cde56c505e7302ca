"""De-identification 脱敏 operators (SEC-3), compiled to DuckDB SQL and run inside the engine.

A ``MaskingPolicy`` maps column names to rules (``mask``, ``pseudonymize``, ``hash``,
``generalize``, ``suppress``, ``date_shift``). ``check_policy`` refuses a policy that does not fit
the columns of a version — every problem at once — before anything runs. ``compile_columns`` is
the reusable core: one SQL expression per output column plus the parameters it binds, used by
``select_list`` (for any caller that queries a version, such as the data service), by
``export_masked`` (``COPY (SELECT …) TO …`` streamed by DuckDB, atomic rename at the end), by
``mask_table`` (an in-memory Arrow table) and by ``k_anonymity``, which reports the equivalence
classes of chosen quasi-identifiers before and after a generalization plan.

Canonical text: operators that work on text (mask, pseudonymize, hash, the key of a date shift)
read non-text columns as DuckDB's ``CAST(x AS VARCHAR)``: integers in plain decimal
(``13800138000``), doubles in shortest round-trip form (``1.0``, ``0.1``, ``1e+20``), dates
``YYYY-MM-DD``, date-times ``YYYY-MM-DD HH:MM:SS[.ffffff]``, booleans ``true``/``false``. Values
are hashed as their UTF-8 bytes. NULL stays NULL under every operator.

The HMAC key never appears in SQL text: it is bound as a ``?`` parameter — the raw key given to
the ``yaosu_hmac_sha256`` function (the C extension of ``native.py``) or to ``yaosu_hmac_sm3``,
or, where the extension is not built, the padded inner and outer keys of HMAC-SHA256 in SQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import duckdb
import duckdb.func
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from yaosu.classification import native
from yaosu.kit import spreadsheet, validation
from yaosu.kit.errors import Invalid

__all__ = [
    "FORMATS",
    "PARQUET_OPTIONS",
    "CompiledColumn",
    "DateShift",
    "Generalize",
    "Hash",
    "KAnonymityFigures",
    "KAnonymityReport",
    "Mask",
    "MaskRule",
    "MaskedExport",
    "MaskingPolicy",
    "Pseudonymize",
    "Suppress",
    "at_least_as_strong",
    "check_policy",
    "columns_of",
    "compile_columns",
    "connect",
    "export_masked",
    "k_anonymity",
    "mask_table",
    "parse_policy",
    "register_functions",
    "select_list",
    "sm3_available",
]

Format = Literal[
    "resident_id",
    "mobile",
    "bank_card",
    "person_name",
    "email",
    "address",
    "uscc",
    "passport",
    "licence_plate",
    "landline",
]
FORMATS: tuple[str, ...] = get_args(Format)

PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1"
"""DuckDB COPY options of a masked Parquet export: the codec and level of stored versions."""

_COPY_OPTIONS = {
    "parquet": PARQUET_OPTIONS,
    "csv": "FORMAT csv, HEADER true",
    "json": "FORMAT json, ARRAY true",
}


# -- rules -----------------------------------------------------------------------------------------


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mask(_Rule):
    """Replace characters with ``char``, keeping the first ``keep_first`` and last ``keep_last``
    (a value no longer than both together is masked whole), or apply the mask of a ``format``:
    ``resident_id`` 110105********002X, ``mobile`` 138****1234, ``bank_card`` first 6 and last
    4, ``person_name`` 张* / 欧阳**, ``email`` a***@example.com, ``address`` up to the district
    then ***, ``uscc`` first 8 and last 2, ``passport`` first 2 and last 3, ``licence_plate``
    first 2 and last 2, ``landline`` area code and last 4. With a format and ``normalize`` the
    value is first brought to its usual form (mobile without +86 and separators, …)."""

    op: Literal["mask"] = "mask"
    keep_first: int = Field(0, ge=0, le=64)
    keep_last: int = Field(0, ge=0, le=64)
    char: str = Field("*", min_length=1, max_length=1)
    format: Format | None = None
    normalize: bool = True


class Pseudonymize(_Rule):
    """Keyed pseudonym: the first ``length`` hex characters of HMAC(key, value). The same value
    gives the same pseudonym in every dataset masked with the same key, so joins still work.
    ``hmac-sm3`` runs as a Python function over the distinct values and is slower."""

    op: Literal["pseudonymize"] = "pseudonymize"
    algorithm: Literal["hmac-sha256", "hmac-sm3"] = "hmac-sha256"
    length: int = Field(32, ge=16, le=64)
    format: Format | None = None
    normalize: bool = True


class Hash(_Rule):
    """Unkeyed SHA-256 hex of the value. Anyone can hash candidate values and compare, so over a
    small domain (mobiles, resident ids, names) it is reversible by guessing and linkable across
    parties: prefer ``pseudonymize``."""

    op: Literal["hash"] = "hash"
    algorithm: Literal["sha256"] = "sha256"
    length: int = Field(64, ge=16, le=64)
    format: Format | None = None
    normalize: bool = True


GeneralizeKind = Literal[
    "age_band", "birth_year", "birth_month", "address_district", "grid", "number_band"
]


class Generalize(_Rule):
    """Replace a value by a coarser one.

    ``age_band`` (``width`` years, default 10; ``as_of`` date, default the day of the run;
    optional ``top`` for an open band such as ``90+``) from a birth date or an age → ``30-39``;
    ``birth_year`` → integer year, ``birth_month`` → ``YYYY-MM``; ``address_district`` → the
    address up to its 区/县/县级市 (coarser when no district is recognised, NULL when nothing
    is); ``grid`` → coordinates rounded down to ``cell`` degrees (default 0.01), from a numeric
    column or a ``"lng,lat"`` string; ``number_band`` (``width``) → ``100-199`` on integers,
    ``[0.5, 1.0)`` on decimals.
    """

    op: Literal["generalize"] = "generalize"
    kind: GeneralizeKind
    width: float | None = Field(None, gt=0)
    cell: float | None = Field(None, gt=0, le=90)
    as_of: dt.date | None = None
    top: int | None = Field(None, gt=0, le=200)


class Suppress(_Rule):
    """The column becomes NULL and keeps its type; with ``drop`` it is left out altogether."""

    op: Literal["suppress"] = "suppress"
    drop: bool = False


class DateShift(_Rule):
    """Move dates by a fixed number of ``days``, or by a per-row amount in ±``max_days`` (never
    0) derived from the keyed HMAC of ``key_column``: every date of one person moves by the same
    amount, the same in every export. A row whose key is NULL gets a NULL date."""

    op: Literal["date_shift"] = "date_shift"
    days: int | None = Field(None, ge=-36500, le=36500)
    max_days: int | None = Field(None, ge=1, le=3650)
    key_column: str | None = None
    key_format: Format | None = None


MaskRule = Annotated[
    Mask | Pseudonymize | Hash | Generalize | Suppress | DateShift, Field(discriminator="op")
]


class MaskingPolicy(BaseModel):
    """A named set of rules, one per column to de-identify; other columns pass unchanged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    rules: dict[str, MaskRule]


_POLICY = TypeAdapter(MaskingPolicy)


def parse_policy(data: Any) -> MaskingPolicy:
    """A policy from JSON-like data; shape errors become one ``Invalid`` listing all of them."""
    try:
        policy = _POLICY.validate_python(data)
    except ValidationError as exc:
        problems = [
            {
                "column": _column_of_location(e["loc"]),
                "problem": e["type"],
                "message": f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}",
                "message_zh": f"{'.'.join(str(p) for p in e['loc'])}：{_shape_zh(e)}",
            }
            for e in exc.errors(include_url=False)
        ]
        name = str(data.get("name", "")) if isinstance(data, dict) else ""
        raise _invalid(name, problems) from None
    return policy


def require_rules(policy: MaskingPolicy) -> None:
    """A policy a user writes needs at least one rule (only a derived one may be empty)."""
    if not policy.rules:
        problem = {"column": None, "problem": "no_rules"}
        raise _invalid(
            policy.name,
            [{**problem, "message": "the policy has no rules", "message_zh": "策略没有任何规则"}],
        )


# Pydantic's messages are English; the shape problems a policy author meets, in Chinese.
_SHAPE_ZH = {
    "missing": "缺少此项",
    "extra_forbidden": "不支持此参数",
    "greater_than_equal": "应大于或等于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "应小于或等于 {le}",
    "less_than": "应小于 {lt}",
    "string_too_short": "长度至少为 {min_length}",
    "string_too_long": "长度至多为 {max_length}",
    "literal_error": "应为以下之一：{expected}",
    "union_tag_invalid": "未知的操作 {tag}，应为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少操作 op",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "dict_type": "应为对象",
    "model_type": "应为对象",
}


def _shape_zh(error: Any) -> str:
    template = _SHAPE_ZH.get(error["type"])
    if template is None:
        return validation.reason(error)[1]
    try:
        return template.format(**error.get("ctx", {}))
    except (KeyError, IndexError):
        return validation.reason(error)[1]


def _column_of_location(loc: tuple[Any, ...]) -> str | None:
    return str(loc[1]) if len(loc) > 1 and loc[0] == "rules" else None


# -- column types ----------------------------------------------------------------------------------

_STORED_KINDS = {"boolean", "integer", "float", "date", "datetime", "text"}  # dataplane ColumnType
_ARROW_NAMES = {
    "text": "string",
    "integer": "int64",
    "float": "double",
    "date": "date32[day]",
    "datetime": "timestamp[us]",
    "boolean": "bool",
}


def _kind(type_name: str) -> str:
    """The kind of a stored type, from the dataplane's names or from Arrow's type strings."""
    t = str(type_name).strip().lower()
    if t in _STORED_KINDS:
        return t
    if t in {"string", "large_string", "utf8", "large_utf8", "string_view"}:
        return "text"
    if t.startswith(("int", "uint")) and t.rstrip("0123456789") in {"int", "uint"}:
        return "integer"
    if t in {"double", "float64", "float32", "halffloat", "float16"} or t.startswith("decimal"):
        return "float"
    if t.startswith("date32") or t.startswith("date64"):
        return "date"
    if t.startswith("timestamp"):
        return "datetime"
    if t in {"bool", "boolean"}:
        return "boolean"
    return "other"


def columns_of(schema: pa.Schema) -> list[dict[str, Any]]:
    """Columns as stored on a version (name, Arrow type string, nullable) from an Arrow schema."""
    return [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema]


def _type_name(kind: str, like: str) -> str:
    """A type name for ``kind`` in the vocabulary of ``like`` (dataplane names or Arrow's)."""
    return kind if str(like).strip().lower() in _STORED_KINDS else _ARROW_NAMES[kind]


# -- checking --------------------------------------------------------------------------------------

_TEXTUAL = {"text", "integer", "float", "date", "datetime", "boolean"}
_APPLIES: dict[str, set[str]] = {
    "mask": {"text", "integer"},
    "pseudonymize": _TEXTUAL,
    "hash": _TEXTUAL,
    "suppress": _TEXTUAL | {"other"},
    "date_shift": {"date", "datetime"},
}
# A format mask reads its value as text of that format: on an integer column only the formats
# whose values are digits alone (a resident ID may end in X, a landline starts with 0, the others
# hold letters) can be meant.
_FORMAT_APPLIES: dict[str, set[str]] = {
    f: {"text", "integer"} if f in ("mobile", "bank_card") else {"text"} for f in FORMATS
}
_GENERALIZE_APPLIES: dict[str, set[str]] = {
    "age_band": {"date", "datetime", "text", "integer", "float"},
    "birth_year": {"date", "datetime", "text"},
    "birth_month": {"date", "datetime", "text"},
    "address_district": {"text"},
    "grid": {"integer", "float", "text"},
    "number_band": {"integer", "float"},
}
_KIND_ZH = {
    "text": "文本",
    "integer": "整数",
    "float": "小数",
    "date": "日期",
    "datetime": "日期时间",
    "boolean": "布尔",
    "other": "其他",
}


@cache
def sm3_available() -> bool:
    """Whether the installed OpenSSL (through ``cryptography``) offers SM3 for HMAC."""
    try:
        from cryptography.hazmat.primitives import hashes, hmac

        mac = hmac.HMAC(b"k", hashes.SM3())
        mac.update(b"abc")
        mac.finalize()
    except Exception:
        return False
    return True


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, column: str | None, problem: str, en: str, zh: str) -> None:
        self.items.append({"column": column, "problem": problem, "message": en, "message_zh": zh})


def _invalid(name: str, problems: list[dict[str, Any]]) -> Invalid:
    n = len(problems)
    first_en, first_zh = problems[0]["message"], problems[0]["message_zh"]
    more_en = f" (and {n - 1} more)" if n > 1 else ""
    more_zh = f"（另有 {n - 1} 个问题）" if n > 1 else ""
    return Invalid(
        f"The masking policy {name!r} cannot be used: {first_en}{more_en}",
        f"脱敏策略 {name!r} 无法使用：{first_zh}{more_zh}",
        code="invalid_masking_policy",
        policy=name,
        problems=problems,
    )


def _kinds(columns: Sequence[dict[str, Any]]) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for c in columns:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or "type" not in c:
            raise Invalid(
                "Each column needs a name and a type.",
                "每一列都须有名称和类型。",
                code="invalid_columns",
                column=c,
            )
        kinds[c["name"]] = _kind(c["type"])
    return kinds


def check_policy(
    policy: MaskingPolicy, columns: list[dict[str, Any]], *, allow_empty: bool = False
) -> None:
    """Refuse a policy that cannot run on these columns, naming every problem at once.

    ``columns`` are those stored on a dataset version: ``[{"name": …, "type": …}, …]`` with the
    dataplane's type names (text, integer, float, date, datetime, boolean) or Arrow's type
    strings (string, int64, double, date32[day], timestamp[us], bool). Raises
    ``Invalid(code="invalid_masking_policy")`` with ``details["problems"]``: one entry per
    problem with ``column``, ``problem`` (a stable code) and messages in en and zh.
    ``allow_empty`` accepts a policy without rules: the policy derived from a classification
    that found no personal field (nothing to mask), never one a user wrote.
    """
    kinds = _kinds(columns)
    problems = _Problems()
    if not policy.name.strip():
        problems.add(None, "empty_name", "the policy needs a name", "策略须有名称")
    if not policy.rules and not allow_empty:
        problems.add(None, "no_rules", "the policy has no rules", "策略没有任何规则")
    for column, rule in policy.rules.items():
        if column not in kinds:
            problems.add(
                column,
                "unknown_column",
                f"column {column!r} does not exist",
                f"列 {column!r} 不存在",
            )
            continue
        _check_rule(column, rule, kinds[column], kinds, problems)
    dropped = {c for c, r in policy.rules.items() if isinstance(r, Suppress) and r.drop}
    if kinds and set(kinds) <= dropped:
        problems.add(None, "nothing_left", "the policy drops every column", "策略删除了所有列")
    if problems.items:
        raise _invalid(policy.name, problems.items)


def _check_rule(
    column: str, rule: Any, kind: str, kinds: dict[str, str], problems: _Problems
) -> None:
    op = rule.op
    applies = _GENERALIZE_APPLIES[rule.kind] if op == "generalize" else _APPLIES[op]
    label = f"{op} ({rule.kind})" if op == "generalize" else op
    if kind not in applies:
        problems.add(
            column,
            "not_applicable",
            f"{label} does not apply to column {column!r} of type {kind}",
            f"{label} 不适用于{_KIND_ZH[kind]}类型的列 {column!r}",
        )
    if isinstance(rule, Mask):
        if rule.format and kind in applies and kind not in _FORMAT_APPLIES[rule.format]:
            problems.add(
                column,
                "not_applicable",
                f"mask ({rule.format}) does not apply to column {column!r} of type {kind}",
                f"mask ({rule.format}) 不适用于{_KIND_ZH[kind]}类型的列 {column!r}",
            )
        if rule.format and (rule.keep_first or rule.keep_last):
            problems.add(
                column,
                "format_with_keep",
                f"{column!r}: give either a format or keep_first/keep_last, not both",
                f"{column!r}：format 与 keep_first/keep_last 只能二选一",
            )
        if rule.char in {"\n", "\r", "\x00"}:
            problems.add(
                column,
                "bad_char",
                f"{column!r}: the mask character cannot be a control character",
                f"{column!r}：掩码字符不能是控制字符",
            )
    elif isinstance(rule, Pseudonymize):
        if rule.algorithm == "hmac-sm3" and not sm3_available():
            problems.add(
                column,
                "sm3_unavailable",
                f"{column!r}: hmac-sm3 needs SM3, which this server's OpenSSL does not offer",
                f"{column!r}：hmac-sm3 需要 SM3，但本服务器的 OpenSSL 不支持",
            )
    elif isinstance(rule, Generalize):
        _check_generalize(column, rule, problems)
    elif isinstance(rule, DateShift):
        _check_date_shift(column, rule, kinds, problems)


def _check_generalize(column: str, rule: Generalize, problems: _Problems) -> None:
    def unused(param: str) -> None:
        problems.add(
            column,
            "unused_parameter",
            f"{column!r}: {param} does not apply to generalize ({rule.kind})",
            f"{column!r}：{param} 不适用于泛化方式 {rule.kind}",
        )

    if rule.width is not None and rule.kind not in {"age_band", "number_band"}:
        unused("width")
    if rule.cell is not None and rule.kind != "grid":
        unused("cell")
    if rule.as_of is not None and rule.kind != "age_band":
        unused("as_of")
    if rule.top is not None and rule.kind != "age_band":
        unused("top")
    if rule.kind == "number_band" and rule.width is None:
        problems.add(
            column,
            "missing_parameter",
            f"{column!r}: number_band needs a width",
            f"{column!r}：number_band 须指定 width",
        )
    if rule.kind != "age_band":
        return
    width = rule.width if rule.width is not None else 10.0
    if not (width.is_integer() and 1 <= width <= 120):
        problems.add(
            column,
            "bad_parameter",
            f"{column!r}: an age band width is a whole number of years from 1 to 120",
            f"{column!r}：年龄段宽度须为 1 至 120 的整数年",
        )
    elif rule.top is not None and rule.top % int(width):
        problems.add(
            column,
            "bad_parameter",
            f"{column!r}: the open top band starts at a multiple of the width ({int(width)})",
            f"{column!r}：最高年龄段的起点须为宽度（{int(width)}）的整数倍",
        )


def _check_date_shift(
    column: str, rule: DateShift, kinds: dict[str, str], problems: _Problems
) -> None:
    if (rule.days is None) == (rule.max_days is None):
        problems.add(
            column,
            "bad_parameter",
            f"{column!r}: a date shift needs exactly one of days or max_days",
            f"{column!r}：日期偏移须且只须指定 days 或 max_days 之一",
        )
    if rule.days == 0:
        problems.add(
            column,
            "bad_parameter",
            f"{column!r}: a fixed shift of 0 days changes nothing",
            f"{column!r}：固定偏移 0 天不改变任何值",
        )
    if rule.max_days is not None and rule.key_column is None:
        problems.add(
            column,
            "missing_key_column",
            f"{column!r}: max_days needs a key_column to derive each row's shift from",
            f"{column!r}：max_days 须指定 key_column 以推导每行的偏移",
        )
    if rule.days is not None and (rule.key_column is not None or rule.key_format is not None):
        problems.add(
            column,
            "unused_parameter",
            f"{column!r}: a fixed shift takes no key_column or key_format",
            f"{column!r}：固定偏移不使用 key_column 或 key_format",
        )
    if rule.key_column is not None:
        key_kind = kinds.get(rule.key_column)
        if key_kind is None:
            problems.add(
                column,
                "unknown_key_column",
                f"{column!r}: key column {rule.key_column!r} does not exist",
                f"{column!r}：键列 {rule.key_column!r} 不存在",
            )
        elif key_kind not in _TEXTUAL:
            problems.add(
                column,
                "not_applicable",
                f"{column!r}: key column {rule.key_column!r} of type {key_kind} cannot be a key",
                f"{column!r}：{_KIND_ZH[key_kind]}类型的键列 {rule.key_column!r} 不能作为键",
            )


def at_least_as_strong(rule: MaskRule, baseline: MaskRule | None) -> bool:
    """Whether ``rule`` reveals no more of a value than ``baseline`` does, so a reviewer may put
    it in the baseline's place without a reason: the same rule; ``suppress`` (nothing leaves);
    a keyed ``pseudonymize`` for anything but a suppression (only equality leaves, and no one
    without the node key can test a guess); a whole-value ``mask`` (no format, nothing kept) for
    another mask (only the length leaves, as with every mask). Anything else — an unkeyed hash,
    a mask keeping more, a coarser or finer generalization, a date shift — counts as revealing
    more. With no baseline every rule is stronger."""
    if baseline is None or rule == baseline or isinstance(rule, Suppress):
        return True
    if isinstance(baseline, Suppress):
        return False
    if isinstance(rule, Pseudonymize):
        return True
    return (
        isinstance(rule, Mask)
        and isinstance(baseline, Mask)
        and rule.format is None
        and rule.keep_first == 0
        and rule.keep_last == 0
    )


# -- SQL building blocks ---------------------------------------------------------------------------


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_SPACES = "' ' || chr(9) || chr(10) || chr(12) || chr(13) || chr(12288)"  # and U+3000
# Two-character surnames, written back to back.
_COMPOUND_PAIRS = (
    "欧阳司马上官诸葛东方皇甫尉迟公孙慕容长孙宇文司徒夏侯轩辕令狐钟离闾丘澹台公冶宗政"
    "濮阳淳于单于太叔申屠赫连独孤南宫万俟呼延端木西门第五拓跋百里东郭左丘梁丘司空司寇"
    "子车颛孙巫马公西漆雕乐正壤驷公良亓官羊舌微生段干公羊谷梁南门东门鲜于闻人仲孙叔孙"
    "即墨"
)
_COMPOUND_SURNAMES = [_COMPOUND_PAIRS[i : i + 2] for i in range(0, len(_COMPOUND_PAIRS), 2)]
# Province (省/自治区/特别行政区), then prefecture (市/自治州/地区/盟), then county level
# (区/县/旗/县级市). Segments exclude the level characters so one segment never swallows the next;
# the county segment also stops at street words (街, 路 after its first character, 号, …) so a
# 小区 after a street is not taken for a district.
_ADDRESS_RE = (
    "^(?:[^省市区县]{2,7}?(?:省|自治区|特别行政区))?"
    "(?:[^省市区县]{1,12}?(?:市|自治州|地区|盟))?"
    "(?:[^省市区县街号巷弄栋楼幢室][^省市区县街路号巷弄栋楼幢室]{0,9}?(?:区|县|旗|市))?"
)
_DATE_FORMATS = (
    "['%Y-%m-%d', '%Y/%m/%d', '%Y%m%d', '%Y年%m月%d日', "
    "'%Y-%m-%d %H:%M:%S', '%Y/%m/%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S']"
)
_KEEP = {
    "resident_id": (6, 4),
    "mobile": (3, 4),
    "bank_card": (6, 4),
    "uscc": (8, 2),
    "passport": (2, 3),
    "licence_plate": (2, 2),
}
_DATE_SHIFT_DOMAIN = "yaosu.date_shift:"  # so a shift is not readable from a pseudonym


# Whitespace (RE2's \s and the ideographic space) and dashes: removed from identifiers.
_SEPARATORS = (" ", "\t", "\n", "\f", "\r", "\u3000", "-")
# +86 / 0086 before a mobile number; before a landline only with the + or 00, since local
# numbers can start with 86.
_MOBILE_PREFIX = _lit(r"^(?:\+?86|0086)(1[0-9]{10})$")  # 13 characters at least
_LANDLINE_PREFIX = _lit(r"^(?:\+86|0086)([0-9]{7,12})$")  # 10 characters at least


def _text(col: str, kind: str) -> str:
    return col if kind == "text" else f"CAST({col} AS VARCHAR)"


def _char(c: str) -> str:
    return _lit(c) if c.isprintable() else f"chr({ord(c)})"


# Each rewrite is guarded by a cheap test, so the common value that needs none costs a scan.
def _strip(t: str, chars: Sequence[str]) -> str:
    guard = " OR ".join(f"contains({t}, {_char(c)})" for c in chars)
    pattern = "'[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]'"
    return f"CASE WHEN {guard} THEN regexp_replace({t}, {pattern}, '', 'g') ELSE {t} END"


def _trim(t: str) -> str:
    # The expression is repeated inside format masks and DuckDB evaluates every copy: guard the
    # (slow, on CJK text) trim with a cheap look at the two ends.
    ends = "IN (' ', chr(9), chr(10), chr(12), chr(13), chr(12288))"
    return (
        f"CASE WHEN left({t}, 1) {ends} OR right({t}, 1) {ends} "
        f"THEN trim({t}, {_SPACES}) ELSE {t} END"
    )


def _drop_prefix(t: str, prefix: str, shortest: int) -> str:
    # Most values are too short to carry a prefix: strlen rules them out before the regex.
    rewritten = f"regexp_replace({t}, {prefix}, '\\1')"
    return (
        f"CASE WHEN strlen({t}) >= {shortest} AND regexp_matches({t}, {prefix}) "
        f"THEN {rewritten} ELSE {t} END"
    )


def _normalized(t: str, kind: str, fmt: str | None, *, linking: bool) -> str:
    """The usual form of a value of ``fmt``; ``linking`` (pseudonyms, hashes, keys) also folds
    what only differs in presentation (case of e-mail, separators of landlines). The canonical
    text of a non-text column has no spaces or separators to remove."""
    text = kind == "text"
    if fmt in {"resident_id", "uscc", "passport", "licence_plate"}:
        chars = _SEPARATORS + (("·", "•", ".") if fmt == "licence_plate" else ())
        return f"upper({_strip(t, chars) if text else t})"
    if fmt == "bank_card":
        return _strip(t, _SEPARATORS) if text else t
    if fmt == "mobile":
        stripped = _strip(t, (*_SEPARATORS, "(", ")")) if text else t
        return _drop_prefix(stripped, _MOBILE_PREFIX, 13)
    if fmt == "landline" and linking:
        stripped = _strip(t, (*_SEPARATORS, "(", ")")) if text else t
        return _drop_prefix(stripped, _LANDLINE_PREFIX, 10)
    # Masks show the value as it is (edge spaces only ever cost masked characters, never reveal
    # one); linking operators trim, so " 张三" and "张三" get the same pseudonym.
    trimmed = _trim(t) if text and linking else t
    if fmt == "email" and linking:
        return f"lower({trimmed})"
    return trimmed


def _keep_mask(t: str, first: int, last: int, char: str) -> str:
    c = _lit(char)
    if first + last == 0:
        return f"repeat({c}, length({t}))"
    # concat builds the string once (|| twice would copy it twice); a NULL falls to the ELSE
    # branch, where repeat keeps it NULL (concat would make it '').
    return (
        f"CASE WHEN length({t}) > {first + last} THEN concat(left({t}, {first}), "
        f"repeat({c}, length({t}) - {first + last}), right({t}, {last})) "
        f"ELSE repeat({c}, length({t})) END"
    )


def _format_mask(t: str, fmt: str, char: str) -> str:
    c = _lit(char)
    if fmt in _KEEP:
        return _keep_mask(t, *_KEEP[fmt], char)
    if fmt == "person_name":
        # One RE2 match per value, not a comparison per compound surname; it is the condition
        # of a branch per surname length, so it is not evaluated again for the length.
        compound = _lit("^(" + "|".join(_COMPOUND_SURNAMES) + ").")
        return (
            f"CASE WHEN length({t}) <= 1 THEN repeat({c}, length({t})) "
            f"WHEN regexp_matches({t}, {compound}) "
            f"THEN left({t}, 2) || repeat({c}, length({t}) - 2) "
            f"ELSE left({t}, 1) || repeat({c}, length({t}) - 1) END"
        )
    if fmt == "email":
        at = f"strpos({t}, '@')"
        return (
            f"CASE WHEN {at} > 1 THEN left({t}, 1) || repeat({c}, 3) || substr({t}, {at}) "
            f"WHEN {at} = 1 THEN repeat({c}, 3) || {t} "
            f"ELSE {_keep_mask(t, 1, 0, char)} END"
        )
    if fmt == "address":
        return f"regexp_extract({t}, {_lit(_ADDRESS_RE)}, 0) || repeat({c}, 3)"
    if fmt == "landline":
        area = f"regexp_extract({t}, '^(?:\\+?86[- ]?)?\\(?0[0-9]{{2,3}}\\)?[- ]', 0)"
        rest = f"substr({t}, length({area}) + 1)"
        return f"{area} || {_keep_mask(rest, 0, 4, char)}"
    raise AssertionError(fmt)


def _left(digest: str, length: int) -> str:
    return digest if length == 64 else f"left({digest}, {int(length)})"


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's (K ⊕ ipad, K ⊕ opad), K the key padded (or first hashed) to 64 bytes."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)


class _Builder:
    """Builds expressions for one compilation; parameters are appended in textual order."""

    def __init__(self, key: bytes, kinds: dict[str, str]) -> None:
        self.key = key
        self.kinds = kinds
        self._pads: tuple[bytes, bytes] | None = None

    def hmac(self, message: str, algorithm: str, params: list[Any], length: int = 64) -> str:
        """The first ``length`` hex digits of the keyed digest of ``message``."""
        if algorithm == "hmac-sm3":
            params.append(self.key)
            return _left(f"{_SM3_FUNCTION}(?::BLOB, {message})", length)
        if native.available():  # the same digests, several times faster (native.py)
            params.append(self.key)
            return f"{native.FUNCTION}(?::BLOB, {message}, {int(length)})"
        if self._pads is None:
            self._pads = _hmac_pads(self.key)
        inner, outer = self._pads
        params += [outer, inner]  # the outer pad comes first in the text
        return _left(f"sha256(?::BLOB || unhex(sha256(?::BLOB || encode({message}))))", length)

    def expression(self, column: str, rule: Any) -> tuple[str, list[Any], str]:
        """(SQL, parameters, output kind) of one rule on one column."""
        col = _ident(column)
        kind = self.kinds[column]
        params: list[Any] = []
        if isinstance(rule, Mask):
            t = _text(col, kind)
            if rule.format is None:
                return _keep_mask(t, rule.keep_first, rule.keep_last, rule.char), params, "text"
            if rule.normalize:
                t = _normalized(t, kind, rule.format, linking=False)
            return _format_mask(t, rule.format, rule.char), params, "text"
        if isinstance(rule, Pseudonymize | Hash):
            t = _text(col, kind)
            if rule.normalize:
                t = _normalized(t, kind, rule.format, linking=True)
            if isinstance(rule, Hash):
                sql = _left(f"sha256(encode({t}))", rule.length)
            else:
                sql = self.hmac(t, rule.algorithm, params, rule.length)
            return sql, params, "text"
        if isinstance(rule, Generalize):
            sql, out_kind = _generalize(col, kind, rule)
            return sql, params, out_kind
        if isinstance(rule, Suppress):
            return f"CASE WHEN false THEN {col} END", params, kind
        if isinstance(rule, DateShift):
            return self._date_shift(col, kind, rule, params), params, kind
        raise AssertionError(rule)

    def _date_shift(self, col: str, kind: str, rule: DateShift, params: list[Any]) -> str:
        if rule.days is not None:
            shift = str(rule.days)
        else:
            assert rule.key_column is not None and rule.max_days is not None
            key_kind = self.kinds[rule.key_column]
            key_text = _text(_ident(rule.key_column), key_kind)
            key = _normalized(key_text, key_kind, rule.key_format, linking=True)
            digest = self.hmac(f"{_lit(_DATE_SHIFT_DOMAIN)} || {key}", "hmac-sha256", params, 8)
            m = rule.max_days
            draw = f"CAST(CAST('0x' || {digest} AS BIGINT) % {2 * m} AS INTEGER)"
            # 0..2m-1 onto -m..-1 and 1..m: never 0, so every date moves. The lambda names the
            # draw once: written twice, its HMAC (and its bound parameters) would be too.
            shift = f"list_transform([{draw}], lambda r: r - {m} + CAST(r >= {m} AS INTEGER))[1]"
        if kind == "date":
            return f"{col} + {shift}"
        return f"{col} + to_days({shift})"


def _as_date(col: str, kind: str) -> str:
    if kind == "text":
        return f"CAST(try_strptime({_trim(col)}, {_DATE_FORMATS}) AS DATE)"
    return f"CAST({col} AS DATE)"


def _decimals(step: float) -> int:
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return min(max(-int(exponent), 0), 10)


def _floor_to(x: str, step: float) -> str:
    # the small epsilon keeps 0.3 / 0.1 = 2.9999999999999996 in the band of 0.3
    return f"round(floor({x} / {step!r} + 1e-9) * {step!r}, {_decimals(step)})"


def _generalize(col: str, kind: str, rule: Generalize) -> tuple[str, str]:
    if rule.kind in {"birth_year", "birth_month"}:
        date = _as_date(col, kind)
        if rule.kind == "birth_year":
            return f"year({date})", "integer"
        return f"strftime({date}, '%Y-%m')", "text"
    if rule.kind == "age_band":
        width = int(rule.width or 10)
        if kind in {"integer", "float"}:
            age = f"TRY_CAST(floor({col}) AS BIGINT)"  # NaN and ±inf give NULL
            future = f"{age} < 0"
        else:
            as_of = f"DATE '{rule.as_of.isoformat()}'" if rule.as_of else "current_date"
            born = _as_date(col, kind)
            age = f"date_sub('year', {born}, {as_of})"
            # Compared as dates: date_sub counts a birth date under a year ahead as age 0.
            future = f"{born} > {as_of}"
        low = f"(({age}) // {width}) * {width}"
        label = (
            f"CAST({age} AS VARCHAR)"
            if width == 1
            else f"CAST({low} AS VARCHAR) || '-' || CAST({low} + {width - 1} AS VARCHAR)"
        )
        top = f"WHEN {age} >= {rule.top} THEN '{rule.top}+' " if rule.top else ""
        return f"CASE WHEN {future} THEN NULL {top}ELSE {label} END", "text"
    if rule.kind == "address_district":
        return f"nullif(regexp_extract({col}, {_lit(_ADDRESS_RE)}, 0), '')", "text"
    if rule.kind == "grid":
        cell = rule.cell or 0.01
        if kind != "text":
            return _floor_to(f"CAST({col} AS DOUBLE)", cell), "float"
        parts = f"string_split(replace(replace({col}, '，', ','), ' ', ''), ',')"
        d = _decimals(cell)
        lng = _floor_to(f"try_cast({parts}[1] AS DOUBLE)", cell)
        lat = _floor_to(f"try_cast({parts}[2] AS DOUBLE)", cell)
        return f"CASE WHEN len({parts}) = 2 THEN printf('%.{d}f,%.{d}f', {lng}, {lat}) END", "text"
    if rule.kind == "number_band":
        assert rule.width is not None
        w = rule.width
        if kind == "integer" and w.is_integer():
            low = f"TRY_CAST(floor({col} / {int(w)}) AS BIGINT) * {int(w)}"
            return f"CAST({low} AS VARCHAR) || '-' || CAST({low} + {int(w) - 1} AS VARCHAR)", "text"
        low = _floor_to(f"CAST({col} AS DOUBLE)", w)
        high = f"round({low} + {w!r}, {_decimals(w)})"
        return f"'[' || CAST({low} AS VARCHAR) || ', ' || CAST({high} AS VARCHAR) || ')'", "text"
    raise AssertionError(rule.kind)


# -- compilation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledColumn:
    """One output column: its SQL expression over the source columns, the parameters the
    expression binds (in the order of its ``?``), and the column as it will be stored."""

    name: str
    sql: str
    params: list[Any]
    column: dict[str, Any]
    rule: str | None  # the operator applied, None for a column passed unchanged

    @property
    def select_item(self) -> str:
        return f"{self.sql} AS {_ident(self.name)}" if self.rule else _ident(self.name)


def compile_columns(
    policy: MaskingPolicy, columns: list[dict[str, Any]], key: bytes, *, allow_empty: bool = False
) -> list[CompiledColumn]:
    """Check the policy, then compile it: one entry per kept column, in the order of
    ``columns``. Policies using hmac-sm3 need ``register_functions`` on the connection."""
    check_policy(policy, columns, allow_empty=allow_empty)
    if not isinstance(key, bytes | bytearray) or not key:
        raise Invalid("The masking key is empty.", "脱敏密钥为空。", code="invalid_masking_key")
    builder = _Builder(bytes(key), _kinds(columns))
    compiled = []
    for c in columns:
        name = c["name"]
        rule = policy.rules.get(name)
        if rule is None:
            compiled.append(CompiledColumn(name, _ident(name), [], dict(c), None))
            continue
        if isinstance(rule, Suppress) and rule.drop:
            continue
        sql, params, kind = builder.expression(name, rule)
        column = dict(c)
        if kind != builder.kinds[name]:
            column["type"] = _type_name(kind, c["type"])
        if isinstance(rule, Suppress | Generalize | DateShift):
            column["nullable"] = True  # unparsable values and missing keys give NULL
        column["masking"] = rule.op
        compiled.append(CompiledColumn(name, sql, params, column, rule.op))
    return compiled


def select_list(
    policy: MaskingPolicy, columns: list[dict[str, Any]], key: bytes
) -> tuple[str, list[Any]]:
    """The DuckDB SELECT list applying ``policy`` — every column in order, masked expressions
    ``AS`` their column, dropped columns left out — and the parameters its ``?`` bind, in order.

    Use as ``con.execute(f"SELECT {sql} FROM t WHERE …", params + where_params)``. The key is
    bound as parameters, never written into the SQL text. A policy with hmac-sm3 needs
    ``register_functions(con)`` first (``connect()`` does it).
    """
    compiled = compile_columns(policy, columns, key)
    return _select(compiled)


def _select(
    compiled: Sequence[CompiledColumn], headers: Mapping[str, str] | None = None
) -> tuple[str, list[Any]]:
    params: list[Any] = []
    for c in compiled:
        params += c.params
    if headers:
        items = [
            f"{c.sql if c.rule else _ident(c.name)} AS {_ident(headers.get(c.name, c.name))}"
            for c in compiled
        ]
        return ", ".join(items), params
    return ", ".join(c.select_item for c in compiled), params


# -- HMAC-SM3 as a DuckDB function ---------------------------------------------------------------

_SM3_FUNCTION = "yaosu_hmac_sm3"
_SM3_CACHE_LIMIT = 200_000


def _sm3_function() -> Callable[[pa.Array, pa.Array], pa.Array]:
    """An Arrow function HMAC-SM3(key, value) → hex, computed once per distinct value of each
    batch and remembered (up to a limit) for the connection's life."""
    remembered: dict[tuple[bytes, str], str] = {}
    lock = threading.Lock()

    def hmac_sm3(keys: pa.Array, values: pa.Array) -> pa.Array:
        if len(values) == 0:
            return pa.array([], pa.string())
        distinct_keys = pc.unique(pc.drop_null(keys)).to_pylist()
        if len(distinct_keys) > 1:
            raise ValueError("yaosu_hmac_sm3 takes one key per query")
        key = bytes(distinct_keys[0]) if distinct_keys else b""
        from cryptography.hazmat.primitives import hashes, hmac  # imported on first use

        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        encoded = pc.dictionary_encode(values)
        base = hmac.HMAC(key, hashes.SM3())
        digests = []
        with lock:
            for value in encoded.dictionary.to_pylist():
                digest = remembered.get((key, value))
                if digest is None:
                    mac = base.copy()
                    mac.update(value.encode("utf-8"))
                    digest = mac.finalize().hex()
                    if len(remembered) >= _SM3_CACHE_LIMIT:
                        remembered.clear()
                    remembered[(key, value)] = digest
                digests.append(digest)
        return pc.take(pa.array(digests, pa.string()), encoded.indices)

    return hmac_sm3


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Register the functions compiled policies may call (``yaosu_hmac_sm3``, and
    ``yaosu_hmac_sha256`` where the C extension is built) on ``con``. (Whether SM3 is available
    is for ``check_policy`` to say; registering costs nothing.)"""
    blob, text = duckdb.sqltype("BLOB"), duckdb.sqltype("VARCHAR")
    functions: list[tuple[str, Callable[..., pa.Array], list[Any]]] = [
        (_SM3_FUNCTION, _sm3_function(), [blob, text])
    ]
    if native.available():
        functions.append(
            (native.FUNCTION, native.duckdb_function, [blob, text, duckdb.sqltype("INTEGER")])
        )
    for name, function, arguments in functions:
        con.create_function(
            name, function, arguments, text, type=duckdb.func.ARROW, side_effects=False
        )


def connect(paths: Sequence[str] = ()) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB with the masking functions, that can touch only ``paths`` on
    disk (nothing else: no extension downloads, no other files) and cannot be reconfigured."""
    con = duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    try:
        con.execute("SET enable_progress_bar = true")  # for query_progress(); never printed
        con.execute("SET enable_progress_bar_print = false")
        con.execute("SET allowed_paths = ?", [list(paths)])
        con.execute("SET enable_external_access = false")
        register_functions(con)
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


# -- running ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaskedExport:
    """A written masked copy: row count, SHA-256 and size of the file, and its columns."""

    rows: int
    sha256: str
    size_bytes: int
    columns: list[dict[str, Any]]


def export_masked(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    policy: MaskingPolicy,
    columns: list[dict[str, Any]],
    key: bytes,
    *,
    fmt: Literal["parquet", "csv", "json"] = "parquet",
    progress: Callable[[int], None] | None = None,
    allow_empty: bool = False,
    headers: Mapping[str, str] | None = None,
    spreadsheet: bool = False,
) -> MaskedExport:
    """Write ``src`` (a local Parquet version) to ``dest`` under ``policy``, streamed by DuckDB.
    ``headers`` renames output columns (a CSV's header row of catalog labels); the values are
    the same. ``spreadsheet`` (a CSV for people to open in Excel or WPS) neutralises every
    header cell and text value a spreadsheet would read as a formula (``kit.spreadsheet``:
    ``'`` in front); numbers, dates and booleans are written as they are.

    The policy is checked before anything is written; the output goes to a temporary file next
    to ``dest`` that is renamed into place only once complete, so a refusal or a failure leaves
    nothing at ``dest``. ``progress`` receives the approximate number of rows done while the
    copy runs (from a helper thread, about four times a second), and the total at the end.
    """
    compiled = compile_columns(policy, columns, key, allow_empty=allow_empty)
    if fmt not in _COPY_OPTIONS:
        raise Invalid(
            f"Cannot export as {fmt!r}; choose parquet, csv or json.",
            f"无法导出为 {fmt!r}；请选择 parquet、csv 或 json。",
            code="unknown_format",
        )
    sql, params = _select(compiled, None if spreadsheet else headers)
    query = f"SELECT {sql} FROM read_parquet(?)"
    if spreadsheet:
        query = f"SELECT {_neutralised(compiled, headers)} FROM ({query})"
    target = Path(dest)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    copy = f"COPY ({query}) TO ? ({_COPY_OPTIONS[fmt]}, USE_TMP_FILE false)"
    try:
        con = connect([os.fspath(src), os.fspath(partial)])
        try:
            with _reporting(con, src, progress):
                row = con.execute(copy, [*params, os.fspath(src), os.fspath(partial)]).fetchone()
        finally:
            con.close()
        rows = int(row[0]) if row else 0
        digest, size = _sha256_and_sync(partial)
        if progress is not None:
            progress(rows)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    return MaskedExport(rows, digest, size, [c.column for c in compiled])


def _neutralised(compiled: Sequence[CompiledColumn], headers: Mapping[str, str] | None) -> str:
    """The outer SELECT list of a spreadsheet CSV: over the masked columns (by name, so no
    parameter is repeated), text columns through the formula rule, every header cell through
    it too."""
    items = []
    for c in compiled:
        ref = _ident(c.name)
        value = spreadsheet.neutralise_sql(ref) if _kind(c.column["type"]) == "text" else ref
        label = spreadsheet.neutralise((headers or {}).get(c.name, c.name))
        items.append(f"{value} AS {_ident(label)}")
    return ", ".join(items)


@contextlib.contextmanager
def _reporting(
    con: duckdb.DuckDBPyConnection,
    src: str | os.PathLike[str],
    progress: Callable[[int], None] | None,
) -> Iterator[None]:
    """While the block runs, poll DuckDB's query progress and report rows done (approximate).
    A callback that raises interrupts the query, and its exception is raised here."""
    if progress is None:
        yield
        return
    total = pq.read_metadata(src).num_rows
    stop = threading.Event()
    failed: list[BaseException] = []

    def poll() -> None:
        last = -1
        while not stop.wait(0.25):
            percent = con.query_progress()
            done = int(total * min(percent, 100.0) / 100) if percent >= 0 else 0
            if done > last:
                last = done
                try:
                    progress(done)
                except BaseException as exc:
                    failed.append(exc)
                    con.interrupt()
                    return

    watcher = threading.Thread(target=poll, name="mask-progress", daemon=True)
    watcher.start()
    try:
        yield
    except duckdb.Error:
        if not failed:
            raise
    finally:
        stop.set()
        watcher.join()
    if failed:
        raise failed[0]


def _sha256_and_sync(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        os.fsync(f.fileno())
    return digest.hexdigest(), size


def mask_table(
    table: pa.Table, policy: MaskingPolicy, columns: list[dict[str, Any]], key: bytes
) -> pa.Table:
    """The same masking on an in-memory Arrow table (same expressions as ``export_masked``)."""
    compiled = compile_columns(policy, columns, key)
    sql, params = _select(compiled)
    con = connect()
    try:
        con.register("__yaosu_masking_source", table)
        return con.sql(f"SELECT {sql} FROM __yaosu_masking_source", params=params).to_arrow_table()
    finally:
        con.close()


# -- k-anonymity -----------------------------------------------------------------------------------
# Records sharing the values of every quasi-identifier form an equivalence class (NULL is a value
# of its own: GROUP BY puts NULLs together). Data is k-anonymous when its smallest class has at
# least k records. With a plan, the figures are computed on the plan's compiled expressions — the
# very ones a masked export runs.


class KAnonymityFigures(BaseModel):
    """Equivalence-class figures of one state of the data."""

    quasi_identifiers: list[str]
    rows: int
    classes: int
    smallest_class: int
    classes_below_k: int
    records_below_k: int
    share_below_k: float


class KAnonymityReport(BaseModel):
    """``before``: the data as it is; ``after``: under the plan (None without one). The
    figures of ``before`` are also readable on the report itself (``report.smallest_class``)."""

    k: int
    quasi_identifiers: list[str]
    before: KAnonymityFigures
    after: KAnonymityFigures | None = None

    @property
    def rows(self) -> int:
        return self.before.rows

    @property
    def classes(self) -> int:
        return self.before.classes

    @property
    def smallest_class(self) -> int:
        return self.before.smallest_class

    @property
    def records_below_k(self) -> int:
        return self.before.records_below_k

    @property
    def share_below_k(self) -> float:
        return self.before.share_below_k

    @property
    def satisfied(self) -> bool:
        """Whether the data as it will be released (after the plan, if any) is k-anonymous."""
        final = self.after or self.before
        return final.rows == 0 or final.smallest_class >= self.k


def k_anonymity(
    src: str | os.PathLike[str] | pa.Table,
    quasi_identifiers: list[str],
    k: int,
    plan: MaskingPolicy | None = None,
    *,
    key: bytes | None = None,
) -> KAnonymityReport:
    """k-anonymity of ``src`` (a local Parquet file or an Arrow table) over
    ``quasi_identifiers``, and with ``plan`` (a masking policy; its rules on the
    quasi-identifiers matter) the same figures after applying it.

    Keyed operators need no real key here: pseudonyms are one-to-one, so the classes do not
    depend on the key, and a random one is used unless ``key`` is given. A keyed date shift
    does depend on it: pass the export's key for the exact figures.
    """
    if isinstance(src, pa.Table):
        columns = columns_of(src.schema)
    else:
        src = os.fspath(src)
        columns = columns_of(pq.read_schema(src))
    _check(quasi_identifiers, k, {c["name"] for c in columns})
    before_items = [_ident(q) for q in quasi_identifiers]
    after: tuple[list[str], list[str], list[Any]] | None = None
    if plan is not None:
        if key is None and _needs_key(plan):
            key = os.urandom(32)
        compiled = {
            c.name: c for c in compile_columns(plan, columns, key or b"unused: no keyed rule")
        }
        kept = [q for q in quasi_identifiers if q in compiled]  # a dropped column groups nothing
        params: list[Any] = []
        for q in kept:
            params += compiled[q].params
        after = (kept, [compiled[q].sql for q in kept], params)

    con = connect([] if isinstance(src, pa.Table) else [src])
    try:
        if isinstance(src, pa.Table):
            con.register("__yaosu_kanon_source", src)
            source, source_params = "__yaosu_kanon_source", []
        else:
            source, source_params = "read_parquet(?)", [src]
        before = _figures(con, quasi_identifiers, before_items, [], source, source_params, k)
        report = KAnonymityReport(k=k, quasi_identifiers=list(quasi_identifiers), before=before)
        if after is not None:
            kept, expressions, params = after
            report.after = _figures(con, kept, expressions, params, source, source_params, k)
    finally:
        con.close()
    return report


def _check(quasi_identifiers: list[str], k: int, names: set[str]) -> None:
    problems: list[dict[str, Any]] = []

    def add(column: str | None, problem: str, en: str, zh: str) -> None:
        problems.append({"column": column, "problem": problem, "message": en, "message_zh": zh})

    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        add(None, "bad_k", "k is a whole number of at least 1", "k 须为不小于 1 的整数")
    if not quasi_identifiers:
        add(None, "no_quasi_identifiers", "name at least one quasi-identifier", "须指定准标识符")
    seen: set[str] = set()
    for q in quasi_identifiers:
        if q not in names:
            add(q, "unknown_column", f"column {q!r} does not exist", f"列 {q!r} 不存在")
        if q in seen:
            add(q, "duplicate", f"column {q!r} is named twice", f"列 {q!r} 重复")
        seen.add(q)
    if problems:
        n = len(problems)
        more_en = f" (and {n - 1} more)" if n > 1 else ""
        more_zh = f"（另有 {n - 1} 个问题）" if n > 1 else ""
        raise Invalid(
            f"Cannot compute k-anonymity: {problems[0]['message']}{more_en}",
            f"无法计算 k-匿名：{problems[0]['message_zh']}{more_zh}",
            code="invalid_k_anonymity",
            problems=problems,
        )


def _needs_key(plan: MaskingPolicy) -> bool:
    return any(
        isinstance(r, Pseudonymize) or (isinstance(r, DateShift) and r.max_days is not None)
        for r in plan.rules.values()
    )


def _figures(
    con: Any,
    names: list[str],
    expressions: list[str],
    params: list[Any],
    source: str,
    source_params: list[Any],
    k: int,
) -> KAnonymityFigures:
    if expressions:
        inner = ", ".join(f"{e} AS q{i}" for i, e in enumerate(expressions))
        groups = ", ".join(f"q{i}" for i in range(len(expressions)))
        classes = f"SELECT count(*) AS n FROM (SELECT {inner} FROM {source}) GROUP BY {groups}"
    else:  # every quasi-identifier dropped: all records are alike
        classes = f"SELECT count(*) AS n FROM {source} HAVING count(*) > 0"
    row = con.execute(
        f"""SELECT count(*), coalesce(sum(n), 0), coalesce(min(n), 0),
                   count(*) FILTER (WHERE n < {int(k)}),
                   coalesce(sum(n) FILTER (WHERE n < {int(k)}), 0)
            FROM ({classes})""",
        [*params, *source_params],
    ).fetchone()
    n_classes, rows, smallest, classes_below, below = (int(v) for v in row)
    return KAnonymityFigures(
        quasi_identifiers=list(names),
        rows=rows,
        classes=n_classes,
        smallest_class=smallest,
        classes_below_k=classes_below,
        records_below_k=below,
        share_below_k=below / rows if rows else 0.0,
    )
