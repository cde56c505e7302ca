"""The policy of a grant: a document in an ODRL 2.2 subset, parsed and checked as a whole.

A policy is an ODRL ``Agreement`` with exactly one permission (its ``action`` one action or a
list of them, ODRL's compact form), any number of prohibitions, constraints over the left
operands below and duties (``anonymize`` a field with a masking rule, ``log``). Every problem
of a document is found at once and raised as one ``Invalid(code="invalid_policy")`` listing
them all, each with the path of the offending part. A ``Policy`` that exists is valid; its
``terms`` are the pieces the data service needs (fields, masking, row filter, window, quota,
purposes, delivery modes). See docs/policy.md for the format.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from yaosu.classification.masking import MaskingPolicy
from yaosu.classification.masking import parse_policy as parse_masking
from yaosu.kit.errors import Invalid
from yaosu.kit.timeutil import day_start, local_day
from yaosu.kit.validation import reason

__all__ = [
    "ACTIONS",
    "DELIVERY_MODES",
    "DUTY_ACTIONS",
    "LEFT_OPERANDS",
    "MASKING_OPS",
    "ODRL_CONTEXT",
    "OPERATORS",
    "ORDER_OPERATORS",
    "PURPOSES",
    "ROW_PREFIX",
    "SET_OPERATORS",
    "Constraint",
    "Duty",
    "Operator",
    "Policy",
    "Quota",
    "Rule",
    "Terms",
    "Window",
    "build_policy",
    "day_of",
    "includes",
    "parse_policy",
    "row",
]

ODRL_CONTEXT = "http://www.w3.org/ns/odrl.jsonld"


Operator = Literal["eq", "neq", "lt", "lteq", "gt", "gteq", "isAnyOf", "isNoneOf"]
OPERATORS: tuple[str, ...] = get_args(Operator)
SET_OPERATORS = frozenset({"isAnyOf", "isNoneOf"})
ORDER_OPERATORS = frozenset({"lt", "lteq", "gt", "gteq"})

# Actions (zh, en). ODRL 2.2 terms where one fits; every action is included in "use", so a
# permission or prohibition of "use" covers them all.
ACTIONS: dict[str, tuple[str, str]] = {
    "use": ("使用", "use"),
    "read": ("读取", "read"),  # rows through the data-service API
    "distribute": ("分发", "distribute"),  # passing the data on to a third party
    "yaosu:compute": ("计算", "compute"),  # sandbox computation, usable but invisible
    "yaosu:export": ("导出", "export"),  # a file delivery
    "yaosu:subscribe": ("订阅", "subscribe"),  # pushed updates
}

# Purposes 用途: a controlled vocabulary (zh, en).
PURPOSES: dict[str, tuple[str, str]] = {
    "one_thing": ("高效办成一件事", "get one thing done efficiently (joined-up services)"),
    "government_service": ("政务服务", "government services"),
    "data_return": ("数据回流", "data returned to districts and streets"),
    "social_governance": ("社会治理", "social governance"),
    "grassroots_governance": ("基层治理", "grassroots governance"),
    "urban_management": ("城市管理", "city management"),
    "emergency_management": ("应急管理", "emergency management"),
    "public_safety": ("公共安全", "public safety"),
    "public_health": ("公共卫生", "public health"),
    "market_regulation": ("市场监管", "market regulation"),
    "social_security": ("社会保障", "social security"),
    "ecology_environment": ("生态环境", "ecology and environment"),
    "statistics": ("统计分析", "statistics"),
    "decision_support": ("决策支持", "decision support"),
    "scientific_research": ("科学研究", "scientific research"),
    "commercial_use": ("商业利用", "commercial use"),
    "marketing": ("营销推广", "marketing"),
    "system_testing": ("系统测试", "system testing"),
}

DELIVERY_MODES: dict[str, tuple[str, str]] = {
    "api": ("接口", "API"),
    "file": ("文件", "file"),
    "subscription": ("订阅", "subscription"),
}

DUTY_ACTIONS: dict[str, tuple[str, str]] = {
    "anonymize": ("脱敏", "anonymize"),
    "log": ("留痕", "log"),
}

# The classification masking operators a duty may name (zh, en).
MASKING_OPS: dict[str, tuple[str, str]] = {
    "mask": ("掩码", "masked"),
    "pseudonymize": ("假名化", "pseudonymized"),
    "hash": ("哈希", "hashed"),
    "generalize": ("泛化", "generalized"),
    "suppress": ("置空", "suppressed"),
    "date_shift": ("日期偏移", "date-shifted"),
}

ROW_PREFIX = "yaosu:row."

# Left operands and the operators each takes.
_ALL = frozenset(OPERATORS)
_CHOICE = frozenset({"eq", "neq", "isAnyOf", "isNoneOf"})
LEFT_OPERANDS: dict[str, frozenset[str]] = {
    "purpose": _CHOICE,
    "dateTime": ORDER_OPERATORS,
    "yaosu:field": frozenset({"isAnyOf"}),
    ROW_PREFIX + "<column>": _ALL,
    "yaosu:callsPerDay": frozenset({"lteq"}),
    "yaosu:rowsPerDay": frozenset({"lteq"}),
    "yaosu:ratePerMinute": frozenset({"lteq"}),
    "yaosu:deliveryMode": _CHOICE,
}
_ONCE = frozenset(
    {
        "purpose",
        "yaosu:field",
        "yaosu:callsPerDay",
        "yaosu:rowsPerDay",
        "yaosu:ratePerMinute",
        "yaosu:deliveryMode",
    }
)
# Prohibitions constrain the call, never rows or usage.
_IN_PROHIBITION = frozenset({"purpose", "dateTime", "yaosu:deliveryMode"})
_MAX_QUOTA = 10**12

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})"
)


def includes(granted: str, action: str) -> bool:
    """Whether a rule on ``granted`` covers a call doing ``action`` ("use" covers every action)."""
    return granted == action or granted == "use"


def day_of(at: dt.datetime) -> dt.date:
    """The calendar day of an aware instant in the node's time zone (``YAOSU_TIMEZONE``): daily
    quotas renew at its midnight and a date-only validity bound (``"2027-06-30"``) is one of
    its days."""
    return local_day(at)


def _start_of(day: dt.date) -> dt.datetime:
    return day_start(day)


# -- the document ----------------------------------------------------------------------------------


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Constraint(_Node):
    """``leftOperand operator rightOperand``. A JSON-LD value object ``{"@value": …}`` as right
    operand is read as its value. ``value`` is the right operand typed: a date or aware datetime
    for ``dateTime``, a tuple for ``isAnyOf``/``isNoneOf``, else as written."""

    left_operand: str = Field(alias="leftOperand")
    operator: str
    right_operand: Any = Field(alias="rightOperand")
    unit: str | None = None

    _value: Any = PrivateAttr(None)

    @field_validator("right_operand", mode="before")
    @classmethod
    def _unwrap(cls, v: Any) -> Any:
        if isinstance(v, dict) and "@value" in v:
            return v["@value"]
        if isinstance(v, list):
            return [x["@value"] if isinstance(x, dict) and "@value" in x else x for x in v]
        return v

    @model_validator(mode="after")
    def _typed(self) -> Constraint:
        v = self.right_operand
        if self.left_operand == "dateTime" and isinstance(v, str):
            self._value = _instant(v)
        elif isinstance(v, list):
            self._value = tuple(dict.fromkeys(v)) if _hashable(v) else tuple(v)
        else:
            self._value = v
        return self

    @property
    def value(self) -> Any:
        return self._value

    @property
    def column(self) -> str | None:
        """The column of a row constraint (``yaosu:row.<column>``), else None."""
        lo = self.left_operand
        return lo[len(ROW_PREFIX) :] if lo.startswith(ROW_PREFIX) else None


class Duty(_Node):
    """``{"action": "anonymize", "target": <field>, "yaosu:masking": <masking rule>}`` or
    ``{"action": "log"}``."""

    action: str
    target: str | None = None
    masking: dict[str, Any] | None = Field(None, alias="yaosu:masking")


class Rule(_Node):
    action: str | list[str]
    target: str | None = None
    constraint: list[Constraint] = []
    duty: list[Duty] = []

    @property
    def actions(self) -> tuple[str, ...]:
        return (self.action,) if isinstance(self.action, str) else tuple(self.action)


@dataclass(frozen=True)
class Quota:
    calls_per_day: int | None = None
    rows_per_day: int | None = None
    rate_per_minute: int | None = None


@dataclass(frozen=True)
class Window:
    """The validity window as instants: ``start`` inclusive, ``end`` exclusive (None: open)."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def contains(self, at: dt.datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)


@dataclass(frozen=True)
class Terms:
    """What the permission grants, ready for the data service.

    ``fields`` in the order of the document; ``masking`` a ``MaskingPolicy`` (named after the
    policy's uid) for ``masking.compile_columns``, None when no field is masked; ``row_filter``
    the ``yaosu:row.*`` constraints (for ``filters.compile_where``); ``purposes`` and
    ``delivery_modes`` the allowed codes, None when unconstrained."""

    actions: tuple[str, ...]
    fields: tuple[str, ...]
    masking: MaskingPolicy | None
    row_filter: tuple[Constraint, ...]
    window: Window
    quota: Quota
    purposes: frozenset[str] | None
    delivery_modes: frozenset[str] | None
    log: bool

    @property
    def masked(self) -> dict[str, str]:
        """Masked field → its operator (mask, pseudonymize, …)."""
        return {} if self.masking is None else {f: r.op for f, r in self.masking.rules.items()}


class Policy(_Node):
    """An ODRL ``Agreement``: ``uid`` (the grant), ``assigner`` (provider), ``assignee``
    (consumer), ``target`` (the resource), one permission, any prohibitions."""

    context: str | list[Any] = Field(ODRL_CONTEXT, alias="@context")
    kind: str = Field("Agreement", alias="@type")
    uid: str
    assigner: str
    assignee: str
    target: str
    permission: list[Rule]
    prohibition: list[Rule] = []

    _terms: Terms = PrivateAttr()

    @model_validator(mode="after")
    def _analysed(self) -> Policy:
        terms, problems = _analyse(self)
        if problems:
            raise _invalid(self.uid, problems)
        assert terms is not None
        self._terms = terms
        return self

    @property
    def terms(self) -> Terms:
        return self._terms

    def document(self) -> dict[str, Any]:
        """The policy as ODRL JSON, as stored."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def parse_policy(data: Any) -> Policy:
    """A policy from its JSON document; every problem raised at once as one ``Invalid``."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = [
            {
                "path": _path(e["loc"]),
                "problem": e["type"],
                # The reason in each language, not pydantic's English in both.
                "message": f"{_path(e['loc'])}: {reason(e)[0]}",
                "message_zh": f"{_path(e['loc'])}：{reason(e)[1]}",
            }
            for e in exc.errors(include_url=False)
        ]
        uid = data.get("uid") if isinstance(data, dict) else None
        raise _invalid(uid if isinstance(uid, str) else "", problems) from None


def _path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "policy"


def _invalid(uid: str, problems: list[dict[str, Any]]) -> Invalid:
    n = len(problems)
    more_en = f" (and {n - 1} more)" if n > 1 else ""
    more_zh = f"（另有 {n - 1} 个问题）" if n > 1 else ""
    return Invalid(
        f"The policy {uid!r} cannot be used: {problems[0]['message']}{more_en}",
        f"授权策略 {uid!r} 无法使用：{problems[0]['message_zh']}{more_zh}",
        code="invalid_policy",
        policy=uid,
        problems=problems,
    )


# -- checking --------------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, path: str, problem: str, en: str, zh: str) -> None:
        self.items.append(
            {
                "path": path,
                "problem": problem,
                "message": f"{path}: {en}",
                "message_zh": f"{path}：{zh}",
            }
        )


class _Bad:
    """A right operand that could not be typed (reported by the check)."""


_BAD = _Bad()


def _instant(text: str) -> dt.date | dt.datetime | _Bad:
    if _DATE_RE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return _BAD
    if _DATETIME_RE.fullmatch(text):
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return _BAD
    return _BAD


def _hashable(values: Sequence[Any]) -> bool:
    return all(isinstance(v, str | int | float | bool) or v is None for v in values)


def _scalar_kind(v: Any) -> str | None:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "number"
    if isinstance(v, float):
        return "number" if math.isfinite(v) else None
    if isinstance(v, str):
        return "text"
    return None


def _operand_of(left: str) -> str | None:
    if left.startswith(ROW_PREFIX):
        return ROW_PREFIX + "<column>"
    return left if left in LEFT_OPERANDS else None


def _codes(
    c: Constraint, path: str, vocab: Mapping[str, Any], what: tuple[str, str], p: _Problems
) -> frozenset[str] | None:
    """The allowed codes of a choice constraint (purpose, delivery mode)."""
    v = c.right_operand
    if c.operator in SET_OPERATORS:
        if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
            p.add(
                path,
                "bad_right_operand",
                f"{c.operator} takes a non-empty list of {what[1]} codes",
                f"{c.operator} 的右操作数须为非空的{what[0]}代码列表",
            )
            return None
        values = set(v)
    elif not isinstance(v, str):
        p.add(
            path,
            "bad_right_operand",
            f"{c.operator} takes one {what[1]} code",
            f"{c.operator} 的右操作数须为一个{what[0]}代码",
        )
        return None
    else:
        values = {v}
    unknown = sorted(values - set(vocab))
    if unknown:
        p.add(
            path,
            f"unknown_{what[1].replace(' ', '_')}",
            f"unknown {what[1]} {', '.join(unknown)}; known: {', '.join(vocab)}",
            f"未知的{what[0]} {'、'.join(unknown)}；可选：{'、'.join(vocab)}",
        )
        return None
    if c.operator in {"neq", "isNoneOf"}:
        return frozenset(vocab) - values
    return frozenset(values)


def _check_constraint(c: Constraint, path: str, in_prohibition: bool, p: _Problems) -> bool:
    """Check one constraint's operand, operator, unit and right operand; True when sound."""
    operand = _operand_of(c.left_operand)
    problems = len(p.items)
    if operand is None:
        p.add(
            path,
            "unknown_left_operand",
            f"unknown left operand {c.left_operand!r}; known: {', '.join(LEFT_OPERANDS)}",
            f"未知的左操作数 {c.left_operand!r}；可选：{'、'.join(LEFT_OPERANDS)}",
        )
        return False
    if in_prohibition and operand not in _IN_PROHIBITION:
        p.add(
            path,
            "operand_not_in_prohibition",
            f"a prohibition can constrain only {', '.join(sorted(_IN_PROHIBITION))}",
            f"禁止规则只能约束 {'、'.join(sorted(_IN_PROHIBITION))}",
        )
        return False
    if c.operator not in OPERATORS:
        p.add(
            path,
            "unknown_operator",
            f"unknown operator {c.operator!r}; known: {', '.join(OPERATORS)}",
            f"未知的运算符 {c.operator!r}；可选：{'、'.join(OPERATORS)}",
        )
        return False
    if c.operator not in LEFT_OPERANDS[operand]:
        takes = ", ".join(o for o in OPERATORS if o in LEFT_OPERANDS[operand])
        p.add(
            path,
            "operator_not_supported",
            f"{c.left_operand} takes {takes}, not {c.operator}",
            f"{c.left_operand} 只支持 {takes}，不支持 {c.operator}",
        )
        return False
    if c.unit is not None:
        p.add(
            path,
            "unit_not_supported",
            "no unit: the left operand says it (per day, per minute)",
            "不设单位：左操作数已表明单位（每日、每分钟）",
        )
    v = c.right_operand
    if operand == "dateTime":
        if not isinstance(c.value, dt.date) or not 1900 <= c.value.year <= 9998:
            p.add(
                path,
                "bad_right_operand",
                "dateTime takes a date (YYYY-MM-DD) or a date-time with its offset, "
                "years 1900 to 9998",
                "dateTime 的右操作数须为日期（YYYY-MM-DD）或带时区偏移的日期时间，"
                "年份在 1900 至 9998 之间",
            )
    elif operand == "yaosu:field":
        if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
            p.add(
                path,
                "bad_right_operand",
                "yaosu:field takes a non-empty list of field names",
                "yaosu:field 的右操作数须为非空的字段名列表",
            )
    elif operand in {"yaosu:callsPerDay", "yaosu:rowsPerDay", "yaosu:ratePerMinute"}:
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= _MAX_QUOTA:
            p.add(
                path,
                "bad_right_operand",
                f"{c.left_operand} takes a whole number from 1 to {_MAX_QUOTA:,}",
                f"{c.left_operand} 的右操作数须为 1 至 {_MAX_QUOTA:,} 的整数",
            )
    elif operand == ROW_PREFIX + "<column>":
        _check_row(c, path, p)
    return len(p.items) == problems


def _check_row(c: Constraint, path: str, p: _Problems) -> None:
    if not c.column or "\x00" in c.column:
        p.add(path, "bad_left_operand", "name the row column", "须写明行过滤的列名")
    v = c.right_operand
    if c.operator in SET_OPERATORS:
        kinds = {_scalar_kind(x) for x in v} if isinstance(v, list) else {None}
        if not v or None in kinds:
            p.add(
                path,
                "bad_right_operand",
                f"{c.operator} takes a non-empty list of strings, numbers or booleans",
                f"{c.operator} 的右操作数须为非空的字符串、数值或布尔值列表",
            )
        elif len(kinds) > 1:
            p.add(
                path,
                "mixed_types",
                f"the values of {c.operator} are of one type",
                f"{c.operator} 的取值须为同一类型",
            )
        return
    kind = _scalar_kind(v)
    if kind is None:
        p.add(
            path,
            "bad_right_operand",
            f"{c.operator} takes one string, number or boolean",
            f"{c.operator} 的右操作数须为一个字符串、数值或布尔值",
        )
    elif kind == "boolean" and c.operator in ORDER_OPERATORS:
        p.add(
            path,
            "bad_right_operand",
            f"booleans are not ordered: use eq or neq, not {c.operator}",
            f"布尔值不可比较大小：请用 eq 或 neq，而非 {c.operator}",
        )


def _check_actions(rule: Rule, path: str, p: _Problems) -> None:
    actions = rule.actions
    if not actions:
        p.add(path, "no_action", "name at least one action", "须指定至少一个操作")
    for a in actions:
        if a not in ACTIONS:
            p.add(
                path,
                "unknown_action",
                f"unknown action {a!r}; known: {', '.join(ACTIONS)}",
                f"未知的操作 {a!r}；可选：{'、'.join(ACTIONS)}",
            )


def _bound(c: Constraint) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(start inclusive, end exclusive) of one dateTime constraint."""
    v = c.value
    tick = dt.timedelta(microseconds=1)
    if isinstance(v, dt.datetime):
        if c.operator in {"gteq", "gt"}:
            return (v if c.operator == "gteq" else v + tick), None
        return None, (v if c.operator == "lt" else v + tick)
    day = dt.timedelta(days=1)
    if c.operator in {"gteq", "gt"}:
        return _start_of(v if c.operator == "gteq" else v + day), None
    return None, _start_of(v if c.operator == "lt" else v + day)


def _window(constraints: list[tuple[str, Constraint]], p: _Problems) -> Window:
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    for _, c in constraints:
        s, e = _bound(c)
        if s is not None:
            start = s if start is None else max(start, s)
        if e is not None:
            end = e if end is None else min(end, e)
    if start is not None and end is not None and start >= end:
        paths = ", ".join(path for path, _ in constraints)
        p.add(
            constraints[-1][0],
            "empty_window",
            f"the validity window is empty: no instant meets {paths}",
            f"有效期为空：没有任何时刻同时满足 {paths}",
        )
    return Window(start, end)


def _analyse(policy: Policy) -> tuple[Terms | None, list[dict[str, Any]]]:
    p = _Problems()
    ctx = policy.context
    if not (ctx == ODRL_CONTEXT or (isinstance(ctx, list) and ODRL_CONTEXT in ctx)):
        p.add(
            "@context",
            "bad_context",
            f"the context is {ODRL_CONTEXT}",
            f"@context 须为 {ODRL_CONTEXT}",
        )
    if policy.kind != "Agreement":
        p.add(
            "@type", "bad_type", "a grant's policy is an Agreement", "授权策略的类型须为 Agreement"
        )
    for name in ("uid", "assigner", "assignee", "target"):
        if not getattr(policy, name).strip():
            p.add(name, "empty", "must not be empty", "不能为空")
    if len(policy.permission) != 1:
        p.add(
            "permission",
            "one_permission",
            f"a policy has exactly one permission (list several actions in it), not "
            f"{len(policy.permission)}",
            f"策略须有且只有一条许可（多个操作可列于同一许可中），而非 {len(policy.permission)} 条",
        )
    for i, rule in enumerate(policy.prohibition):
        path = f"prohibition[{i}]"
        _check_actions(rule, path, p)
        _check_target(rule, policy.target, path, p)
        if rule.duty:
            p.add(path, "duty_in_prohibition", "a prohibition has no duties", "禁止规则不带义务")
        for j, c in enumerate(rule.constraint):
            _check_constraint(c, f"{path}.constraint[{j}]", True, p)
    if not policy.permission:
        return None, p.items
    terms = _analyse_permission(policy, policy.permission[0], p)
    return (terms if not p.items else None), p.items


def _check_target(rule: Rule, target: str, path: str, p: _Problems) -> None:
    if rule.target is not None and rule.target != target:
        p.add(
            f"{path}.target",
            "target_mismatch",
            f"the rule's target {rule.target!r} is not the policy's {target!r}",
            f"规则的目标 {rule.target!r} 与策略的目标 {target!r} 不一致",
        )


def _analyse_permission(policy: Policy, rule: Rule, p: _Problems) -> Terms:
    base = "permission[0]"
    _check_actions(rule, base, p)
    _check_target(rule, policy.target, base, p)
    seen: dict[str, str] = {}
    fields: tuple[str, ...] = ()
    has_fields = False
    rows: list[Constraint] = []
    window: list[tuple[str, Constraint]] = []
    quota: dict[str, int] = {}
    purposes: frozenset[str] | None = None
    modes: frozenset[str] | None = None
    for j, c in enumerate(rule.constraint):
        path = f"{base}.constraint[{j}]"
        left = c.left_operand
        if left in _ONCE:
            if left in seen:
                p.add(
                    path,
                    "duplicate_constraint",
                    f"{left} is already constrained at {seen[left]}",
                    f"{left} 已在 {seen[left]} 约束过",
                )
                continue
            seen[left] = path
        if not _check_constraint(c, path, False, p):
            has_fields |= left == "yaosu:field"
            continue
        if left == "yaosu:field":
            has_fields = True
            fields = tuple(dict.fromkeys(c.right_operand))
        elif left == "dateTime":
            window.append((path, c))
        elif left == "purpose":
            purposes = _codes(c, path, PURPOSES, ("用途", "purpose"), p)
        elif left == "yaosu:deliveryMode":
            modes = _codes(c, path, DELIVERY_MODES, ("交付方式", "delivery mode"), p)
        elif c.column is not None:
            rows.append(c)
        else:
            quota[left] = c.right_operand
    if not has_fields:
        p.add(
            base,
            "missing_fields",
            "the permission lists its fields: a yaosu:field isAnyOf [...] constraint",
            "许可须列明字段：yaosu:field isAnyOf [...] 约束",
        )
    rules, log = _duties(policy, rule, set(fields), p)
    masking_policy: MaskingPolicy | None = None
    if rules:
        try:
            masking_policy = parse_masking({"name": policy.uid or "policy", "rules": rules})
        except Invalid as exc:
            where = {f: path for f, (_, path) in _anonymize_paths(rule).items()}
            for q in exc.details.get("problems", []):
                path = where.get(q.get("column") or "", f"{base}.duty")
                p.add(path, f"masking_{q['problem']}", q["message"], q["message_zh"])
    return Terms(
        actions=tuple(dict.fromkeys(rule.actions)),
        fields=fields,
        masking=masking_policy,
        row_filter=tuple(rows),
        window=_window(window, p),
        quota=Quota(
            calls_per_day=quota.get("yaosu:callsPerDay"),
            rows_per_day=quota.get("yaosu:rowsPerDay"),
            rate_per_minute=quota.get("yaosu:ratePerMinute"),
        ),
        purposes=purposes,
        delivery_modes=modes,
        log=log,
    )


def _anonymize_paths(rule: Rule) -> dict[str, tuple[Duty, str]]:
    return {
        d.target: (d, f"permission[0].duty[{k}]")
        for k, d in enumerate(rule.duty)
        if d.action == "anonymize" and d.target
    }


def _duties(
    policy: Policy, rule: Rule, fields: set[str], p: _Problems
) -> tuple[dict[str, Any], bool]:
    rules: dict[str, Any] = {}
    log = False
    for k, d in enumerate(rule.duty):
        path = f"permission[0].duty[{k}]"
        if d.action == "log":
            log = True
            if d.target is not None or d.masking is not None:
                p.add(
                    path,
                    "bad_duty",
                    "a log duty takes no target or masking",
                    "留痕义务不带目标或脱敏规则",
                )
        elif d.action == "anonymize":
            if not d.target or d.masking is None:
                p.add(
                    path,
                    "bad_duty",
                    "an anonymize duty names its target field and its yaosu:masking rule",
                    "脱敏义务须写明目标字段及其 yaosu:masking 规则",
                )
            elif d.target in rules:
                p.add(
                    path,
                    "duplicate_masking",
                    f"field {d.target!r} is already masked by an earlier duty",
                    f"字段 {d.target!r} 已由前面的义务脱敏",
                )
            elif fields and d.target not in fields:
                p.add(
                    path,
                    "masked_field_not_granted",
                    f"field {d.target!r} is masked but not among the fields granted",
                    f"字段 {d.target!r} 设有脱敏，但不在授权字段之内",
                )
            else:
                rules[d.target] = d.masking
        else:
            p.add(
                path,
                "unknown_duty",
                f"unknown duty {d.action!r}; known: {', '.join(DUTY_ACTIONS)}",
                f"未知的义务 {d.action!r}；可选：{'、'.join(DUTY_ACTIONS)}",
            )
    return rules, log


# -- building --------------------------------------------------------------------------------------


def row(column: str, operator: str, value: Any) -> Constraint:
    """A row-filter constraint on ``column`` (``isAnyOf``/``isNoneOf`` take an iterable)."""

    def plain(v: Any) -> Any:  # dates as their ISO text, as in the JSON document
        return v.isoformat() if isinstance(v, dt.date) else v

    if operator in SET_OPERATORS and not isinstance(value, str | bytes):
        value = [plain(v) for v in value]
    else:
        value = plain(value)
    return Constraint(left_operand=ROW_PREFIX + column, operator=operator, right_operand=value)


def _constraint(left: str, operator: str, right: Any) -> dict[str, Any]:
    return {"leftOperand": left, "operator": operator, "rightOperand": right}


def _bound_text(value: dt.date | dt.datetime) -> str:
    return value.isoformat()


def build_policy(
    uid: str,
    assigner: str,
    assignee: str,
    target: str,
    *,
    fields: Sequence[str],
    actions: str | Sequence[str] = "use",
    masking: Mapping[str, Any] | None = None,
    row_filter: Sequence[Constraint | Mapping[str, Any]] = (),
    purposes: Sequence[str] | None = None,
    not_before: dt.date | dt.datetime | None = None,
    not_after: dt.date | dt.datetime | None = None,
    calls_per_day: int | None = None,
    rows_per_day: int | None = None,
    rate_per_minute: int | None = None,
    delivery_modes: Sequence[str] | None = None,
    prohibited_actions: Sequence[str] = (),
    log: bool = True,
) -> Policy:
    """A policy from plain arguments, checked like any document.

    ``masking`` maps a field to its rule (a dict or a ``classification.masking`` rule);
    ``row_filter`` holds constraints (``row("district_code", "isAnyOf", [...])`` or their
    JSON); ``not_before`` and ``not_after`` are inclusive (a date is a whole day of the node's
    zone, a datetime must be aware); ``prohibited_actions`` become prohibitions without
    constraints."""
    constraints: list[dict[str, Any]] = [_constraint("yaosu:field", "isAnyOf", list(fields))]
    for c in row_filter:
        constraints.append(
            c.model_dump(mode="json", by_alias=True, exclude_none=True)
            if isinstance(c, Constraint)
            else dict(c)
        )
    if purposes is not None:
        constraints.append(_constraint("purpose", "isAnyOf", list(purposes)))
    if delivery_modes is not None:
        constraints.append(_constraint("yaosu:deliveryMode", "isAnyOf", list(delivery_modes)))
    if not_before is not None:
        constraints.append(_constraint("dateTime", "gteq", _bound_text(not_before)))
    if not_after is not None:
        constraints.append(_constraint("dateTime", "lteq", _bound_text(not_after)))
    for left, n in (
        ("yaosu:callsPerDay", calls_per_day),
        ("yaosu:rowsPerDay", rows_per_day),
        ("yaosu:ratePerMinute", rate_per_minute),
    ):
        if n is not None:
            constraints.append(_constraint(left, "lteq", n))
    duties: list[dict[str, Any]] = []
    for field, rule in (masking or {}).items():
        if isinstance(rule, BaseModel):
            rule = rule.model_dump(mode="json", exclude_none=True)
        duties.append({"action": "anonymize", "target": field, "yaosu:masking": dict(rule)})
    if log:
        duties.append({"action": "log"})
    action: str | list[str] = actions if isinstance(actions, str) else list(actions)
    if isinstance(action, list) and len(action) == 1:
        action = action[0]
    return parse_policy(
        {
            "@context": ODRL_CONTEXT,
            "@type": "Agreement",
            "uid": uid,
            "assigner": assigner,
            "assignee": assignee,
            "target": target,
            "permission": [{"action": action, "constraint": constraints, "duty": duties}],
            "prohibition": [{"action": a} for a in prohibited_actions],
        }
    )
