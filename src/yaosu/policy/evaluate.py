"""The one evaluator: ``decide(policy, call)`` for every data-service call.

Order (the first failure is the answer): grant status → prohibitions → permission action →
validity window → purpose → delivery mode → fields (requested fields, filtered and sorted
columns) → filters and sorts on masked fields → daily calls → daily rows (only when none
remain) → rate. A refusal names the rule, the constraint (left operand, operator, right
operand), the actual value and a stable code, with messages in en and zh, never an opaque
denial. An allowed call comes with its obligations: the fields to return, their masking, the
row filter, the rows it may still return.

Row constraints (``yaosu:row.*``) are not decided here: they are obligations, applied in the
engine by ``filters.compile_where``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from yaosu.classification.masking import MaskingPolicy, check_policy
from yaosu.kit.errors import Forbidden, Invalid, TooManyRequests, YaosuError
from yaosu.kit.timeutil import iso, local_zone, seconds_to_midnight
from yaosu.policy.filters import Filter, check_row_filter, holds
from yaosu.policy.model import (
    ACTIONS,
    DELIVERY_MODES,
    MASKING_OPS,
    PURPOSES,
    Constraint,
    Policy,
    day_of,
    includes,
)

__all__ = [
    "REFUSAL_CODES",
    "Action",
    "Call",
    "Decision",
    "DeliveryMode",
    "Failure",
    "GrantStatus",
    "Obligations",
    "Usage",
    "check_columns",
    "compare",
    "decide",
    "rows_remaining",
]

Action = Literal["use", "read", "distribute", "yaosu:compute", "yaosu:export", "yaosu:subscribe"]
DeliveryMode = Literal["api", "file", "subscription"]
GrantStatus = Literal["active", "suspended", "revoked", "expired"]

# code → HTTP-ish status of the refusal.
REFUSAL_CODES: dict[str, int] = {
    "grant_suspended": 403,
    "grant_revoked": 403,
    "grant_expired": 403,
    "action_prohibited": 403,
    "action_not_permitted": 403,
    "outside_window": 403,
    "purpose_not_allowed": 403,
    "delivery_mode_not_allowed": 403,
    "field_not_granted": 403,
    "filter_on_masked_field": 403,
    "sort_on_masked_field": 403,
    "quota_calls_exceeded": 429,
    "quota_rows_exceeded": 429,
    "rate_exceeded": 429,
    "no_fields": 422,
    "unknown_field": 422,
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Usage(_Frozen):
    """Metered use of the grant: calls and rows so far in the current day of the node's zone
    (``YAOSU_TIMEZONE``), calls in the last 60 seconds, and the time of the oldest of those (for
    an exact retry time)."""

    calls_today: int = Field(0, ge=0)
    rows_today: int = Field(0, ge=0)
    calls_last_minute: int = Field(0, ge=0)
    oldest_call_last_minute: AwareDatetime | None = None


class Call(_Frozen):
    """One data-service call under a grant. ``fields`` None asks for every field granted;
    ``filters`` come from ``filters.parse_filters``; ``order`` names the columns the rows are
    sorted by; ``grant_status`` is the grant's state. Every column named anywhere (fields,
    filters, order) must be granted, and filters and sorts may not touch a masked one."""

    action: Action = "read"
    purpose: str | None = None
    at: AwareDatetime
    fields: tuple[str, ...] | None = None
    filters: tuple[Filter, ...] = ()
    order: tuple[str, ...] = ()
    usage: Usage = Usage()
    delivery_mode: DeliveryMode = "api"
    grant_status: GrantStatus = "active"


class Failure(_Frozen):
    """Why a call is refused: the rule (grant, prohibition, permission, or the request itself),
    the constraint that failed and the actual value it was given."""

    rule: Literal["grant", "prohibition", "permission", "request"]
    left_operand: str | None = None
    operator: str | None = None
    right_operand: Any = None
    actual: Any = None
    code: str
    message: str
    message_zh: str


class Obligations(_Frozen):
    """What an allowed call must do: return ``fields`` (in resource order when the columns were
    given), masked by ``masking`` (its rules restricted to those fields; None: nothing to mask),
    only rows passing ``row_filter``, and at most ``max_rows`` rows (None: no rows quota)."""

    fields: tuple[str, ...]
    masking: MaskingPolicy | None
    row_filter: tuple[Constraint, ...]
    max_rows: int | None
    log: bool


class Decision(_Frozen):
    allowed: bool
    status: int
    failed: Failure | None = None
    retry_after: int | None = None
    obligations: Obligations | None = None

    def error(self) -> YaosuError | None:
        """The refusal as a typed error (403 Forbidden, 429 TooManyRequests, 422 Invalid), with
        ``details`` ``failed`` and ``retry_after``; None when allowed."""
        if self.failed is None:
            return None
        kind: type[YaosuError] = {403: Forbidden, 429: TooManyRequests}.get(self.status, Invalid)
        details: dict[str, Any] = {"failed": self.failed.model_dump(mode="json")}
        if self.retry_after is not None:
            details["retry_after"] = self.retry_after
        return kind(self.failed.message, self.failed.message_zh, code=self.failed.code, **details)

    def obliged(self) -> Obligations:
        """The obligations of an allowed call; raises ``error()`` when refused."""
        err = self.error()
        if err is not None:
            raise err
        assert self.obligations is not None
        return self.obligations


def compare(operator: str, actual: Any, right_operand: Any) -> bool:
    """One constraint's test, ``actual operator right_operand``, with Python's comparisons
    (None never satisfies a constraint)."""
    return holds(operator, actual, right_operand)


def rows_remaining(policy: Policy, usage: Usage) -> int | None:
    """Rows the grant may still return today (0 when used up); None without a rows quota."""
    limit = policy.terms.quota.rows_per_day
    return None if limit is None else max(0, limit - usage.rows_today)


# -- deciding --------------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, failure: Failure, retry_after: int | None = None) -> None:
        self.failure = failure
        self.retry_after = retry_after


def _refuse(
    rule: Literal["grant", "prohibition", "permission", "request"],
    code: str,
    en: str,
    zh: str,
    *,
    constraint: Constraint | None = None,
    actual: Any = None,
    retry_after: int | None = None,
    left_operand: str | None = None,
    right_operand: Any = None,
) -> _Refused:
    return _Refused(
        Failure(
            rule=rule,
            left_operand=constraint.left_operand if constraint else left_operand,
            operator=constraint.operator if constraint else None,
            right_operand=constraint.right_operand if constraint else right_operand,
            actual=_plain(actual),
            code=code,
            message=en,
            message_zh=zh,
        ),
        retry_after,
    )


def _plain(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return iso(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, tuple | list | set | frozenset):
        return [_plain(x) for x in v]
    return v


def _actual(c: Constraint, call: Call) -> Any:
    left = c.left_operand
    if left == "dateTime":
        return call.at if isinstance(c.value, dt.datetime) else day_of(call.at)
    if left == "purpose":
        return call.purpose
    if left == "yaosu:deliveryMode":
        return call.delivery_mode
    if left == "yaosu:callsPerDay":
        return call.usage.calls_today + 1
    if left == "yaosu:rowsPerDay":
        return call.usage.rows_today + 1
    if left == "yaosu:ratePerMinute":
        return call.usage.calls_last_minute + 1
    raise AssertionError(left)


def _holds(c: Constraint, call: Call) -> bool:
    return compare(c.operator, _actual(c, call), c.value)


def _constraints(policy: Policy, left: str) -> list[Constraint]:
    return [c for c in policy.permission[0].constraint if c.left_operand == left]


def decide(policy: Policy, call: Call, *, columns: Sequence[str] | None = None) -> Decision:
    """Decide ``call`` under ``policy``. ``columns`` (the version's column names, in order)
    orders the returned fields and drops granted fields the version no longer has."""
    try:
        obligations = _decide(policy, call, columns)
    except _Refused as r:
        return Decision(
            allowed=False,
            status=REFUSAL_CODES[r.failure.code],
            failed=r.failure,
            retry_after=r.retry_after,
        )
    return Decision(allowed=True, status=200, obligations=obligations)


def _decide(policy: Policy, call: Call, columns: Sequence[str] | None) -> Obligations:
    terms = policy.terms
    _grant(policy, call)
    _prohibitions(policy, call)
    if not any(includes(a, call.action) for a in terms.actions):
        raise _refuse(
            "permission",
            "action_not_permitted",
            f"The grant permits {_names(terms.actions, ACTIONS, 1)}, "
            f"not {_name(call.action, ACTIONS, 1)}.",
            f"授权只允许{_names(terms.actions, ACTIONS, 0, '、')}，"
            f"不允许{_name(call.action, ACTIONS, 0)}。",
            left_operand="action",
            right_operand=list(terms.actions),
            actual=call.action,
        )
    for c in _constraints(policy, "dateTime"):
        if not _holds(c, call):
            raise _outside(c, call)
    for c in _constraints(policy, "purpose"):
        if not _holds(c, call):
            raise _purpose(c, call, terms.purposes or frozenset())
    for c in _constraints(policy, "yaosu:deliveryMode"):
        if not _holds(c, call):
            modes = sorted(terms.delivery_modes or (), key=list(DELIVERY_MODES).index)
            raise _refuse(
                "permission",
                "delivery_mode_not_allowed",
                f"The grant does not allow delivery by "
                f"{_name(call.delivery_mode, DELIVERY_MODES, 1)}; "
                f"allowed: {_names(modes, DELIVERY_MODES, 1)}.",
                f"授权不允许以{_name(call.delivery_mode, DELIVERY_MODES, 0)}方式交付；"
                f"允许的方式：{_names(modes, DELIVERY_MODES, 0, '、')}。",
                constraint=c,
                actual=call.delivery_mode,
            )
    fields = _fields(policy, call, columns)
    _masked_filters(policy, call)
    quota = terms.quota
    if quota.calls_per_day is not None:
        c = _constraints(policy, "yaosu:callsPerDay")[0]
        if not _holds(c, call):
            raise _refuse(
                "permission",
                "quota_calls_exceeded",
                f"The daily quota of {quota.calls_per_day:,} calls is used up "
                f"({call.usage.calls_today:,} today); it renews at local midnight "
                f"({_zone()}), in {_until_midnight(call.at)} s.",
                f"每日 {quota.calls_per_day:,} 次调用的配额已用完（今日已调用 "
                f"{call.usage.calls_today:,} 次），将于本地零时（{_zone()}，"
                f"{_until_midnight(call.at)} 秒后）恢复。",
                constraint=c,
                actual=_actual(c, call),
                retry_after=_until_midnight(call.at),
            )
    remaining = rows_remaining(policy, call.usage)
    if remaining == 0:
        c = _constraints(policy, "yaosu:rowsPerDay")[0]
        raise _refuse(
            "permission",
            "quota_rows_exceeded",
            f"The daily quota of {quota.rows_per_day:,} rows is used up; it renews at local "
            f"midnight ({_zone()}), in {_until_midnight(call.at)} s.",
            f"每日 {quota.rows_per_day:,} 行的配额已用完，将于本地零时（{_zone()}，"
            f"{_until_midnight(call.at)} 秒后）恢复。",
            constraint=c,
            actual=_actual(c, call),
            retry_after=_until_midnight(call.at),
        )
    if quota.rate_per_minute is not None:
        c = _constraints(policy, "yaosu:ratePerMinute")[0]
        if not _holds(c, call):
            wait = _rate_wait(call)
            raise _refuse(
                "permission",
                "rate_exceeded",
                f"At most {quota.rate_per_minute:,} calls a minute; retry in {wait} s.",
                f"每分钟最多调用 {quota.rate_per_minute:,} 次，请 {wait} 秒后重试。",
                constraint=c,
                actual=_actual(c, call),
                retry_after=wait,
            )
    masking = terms.masking
    if masking is not None:
        kept = {f: r for f, r in masking.rules.items() if f in fields}
        masking = masking.model_copy(update={"rules": kept}) if kept else None
    return Obligations(
        fields=fields,
        masking=masking,
        row_filter=terms.row_filter,
        max_rows=remaining,
        log=terms.log,
    )


def _grant(policy: Policy, call: Call) -> None:
    status = call.grant_status
    if status == "active":
        return
    uid = policy.uid
    en, zh = {
        "suspended": (
            f"The grant {uid} is suspended; no call is served until it is resumed.",
            f"授权 {uid} 已暂停，恢复前不受理任何调用。",
        ),
        "revoked": (f"The grant {uid} has been revoked.", f"授权 {uid} 已撤销。"),
        "expired": (f"The grant {uid} has expired.", f"授权 {uid} 已过期。"),
    }[status]
    raise _refuse("grant", f"grant_{status}", en, zh, left_operand="status", actual=status)


def _prohibitions(policy: Policy, call: Call) -> None:
    for rule in policy.prohibition:
        if not any(includes(a, call.action) for a in rule.actions):
            continue
        if not all(_holds(c, call) for c in rule.constraint):
            continue
        first = rule.constraint[0] if rule.constraint else None
        when_en = " when " + "; ".join(_text(c) for c in rule.constraint) if first else ""
        when_zh = "（条件：" + "；".join(_text(c) for c in rule.constraint) + "）" if first else ""
        raise _refuse(
            "prohibition",
            "action_prohibited",
            f"The grant prohibits {_name(call.action, ACTIONS, 1)}{when_en}.",
            f"授权禁止{_name(call.action, ACTIONS, 0)}{when_zh}。",
            constraint=first,
            left_operand="action",
            right_operand=list(rule.actions),
            actual=_actual(first, call) if first else call.action,
        )


def _text(c: Constraint) -> str:
    v = c.right_operand
    shown = ", ".join(str(x) for x in v) if isinstance(v, list) else str(v)
    return f"{c.left_operand} {c.operator} {shown}"


def _outside(c: Constraint, call: Call) -> _Refused:
    at, bound, op = iso(call.at), c.right_operand, c.operator
    if op in {"gt", "gteq"}:
        en = f"The grant is valid {'from' if op == 'gteq' else 'after'} {bound}"
        zh = f"授权自 {bound} {'起' if op == 'gteq' else '之后'}生效"
    else:
        en = f"The grant was valid {'until' if op == 'lteq' else 'before'} {bound}"
        zh = f"授权有效期至 {bound}{'' if op == 'lteq' else ' 之前'}"
    en, zh = f"{en}; this call is at {at}.", f"{zh}，本次调用时间为 {at}。"
    return _refuse("permission", "outside_window", en, zh, constraint=c, actual=_actual(c, call))


def _purpose(c: Constraint, call: Call, allowed: frozenset[str]) -> _Refused:
    codes = sorted(allowed, key=list(PURPOSES).index)
    en_list, zh_list = _names(codes, PURPOSES, 1), _names(codes, PURPOSES, 0, "、")
    if call.purpose is None:
        en = f"Declare the purpose of the call; the grant allows {en_list}."
        zh = f"请声明调用用途；授权允许的用途：{zh_list}。"
    else:
        en = f"The grant does not allow the purpose {_name(call.purpose, PURPOSES, 1)}"
        en += f"; allowed: {en_list}."
        zh = f"授权不允许用途“{_name(call.purpose, PURPOSES, 0)}”；允许的用途：{zh_list}。"
    return _refuse("permission", "purpose_not_allowed", en, zh, constraint=c, actual=call.purpose)


def _fields(policy: Policy, call: Call, columns: Sequence[str] | None) -> tuple[str, ...]:
    granted = policy.terms.fields
    allowed = set(granted)
    field_constraint = _constraints(policy, "yaosu:field")[0]
    if call.fields is not None and not call.fields:
        raise _refuse("request", "no_fields", "Ask for at least one field.", "请至少请求一个字段。")
    requested = tuple(dict.fromkeys(call.fields)) if call.fields is not None else granted
    outside = [f for f in requested if f not in allowed]
    if outside:
        raise _refuse(
            "permission",
            "field_not_granted",
            f"Not granted: {_join(outside)}. Granted fields: {_join(granted)}.",
            f"字段 {_join(outside, '、')} 未获授权。已授权字段：{_join(granted, '、')}。",
            constraint=field_constraint,
            actual=outside,
        )
    filtered = [f.column for f in call.filters if f.column not in allowed]
    if filtered:
        outside = list(dict.fromkeys(filtered))
        raise _refuse(
            "permission",
            "field_not_granted",
            f"Cannot filter on {_join(outside)}: not granted. Granted fields: {_join(granted)}.",
            f"不能按字段 {_join(outside, '、')} 筛选：未获授权。"
            f"已授权字段：{_join(granted, '、')}。",
            constraint=field_constraint,
            actual=outside,
        )
    sorted_outside = [c for c in call.order if c not in allowed]
    if sorted_outside:
        outside = list(dict.fromkeys(sorted_outside))
        raise _refuse(
            "permission",
            "field_not_granted",
            f"Cannot sort on {_join(outside)}: not granted. Granted fields: {_join(granted)}.",
            f"不能按字段 {_join(outside, '、')} 排序：未获授权。"
            f"已授权字段：{_join(granted, '、')}。",
            constraint=field_constraint,
            actual=outside,
        )
    if columns is None:
        return requested
    present = set(columns)
    gone = [c for c in call.order if c not in present]
    if gone:
        raise _refuse(
            "request",
            "unknown_field",
            f"Cannot sort on {_join(gone)}: not in this version of the data.",
            f"不能按字段 {_join(gone, '、')} 排序：该数据版本中没有此字段。",
            actual=gone,
        )
    if call.fields is not None:
        missing = [f for f in requested if f not in present]
        if missing:
            raise _refuse(
                "request",
                "unknown_field",
                f"Not in this version of the data: {_join(missing)}.",
                f"该数据版本中没有字段 {_join(missing, '、')}。",
                actual=missing,
            )
    chosen = set(requested)
    return tuple(c for c in columns if c in chosen)


def _masked_filters(policy: Policy, call: Call) -> None:
    masked = policy.terms.masked
    for f in call.filters:
        op = masked.get(f.column)
        if op is None:
            continue
        duty = next(d for d in policy.permission[0].duty if d.target == f.column)
        raise _refuse(
            "permission",
            "filter_on_masked_field",
            f"Cannot filter on {f.column}: the grant has it {MASKING_OPS[op][1]}, and a filter on "
            f"its raw value would reveal it.",
            f"不能按字段 {f.column} 筛选：授权要求对其{MASKING_OPS[op][0]}，"
            "按原值筛选会泄露其内容。",
            left_operand=f.column,
            right_operand=duty.masking,
            actual=f.parameter or f"{f.column} {f.operator} {_plain(f.value)}",
        )
    for column in call.order:
        op = masked.get(column)
        if op is None:
            continue
        duty = next(d for d in policy.permission[0].duty if d.target == column)
        raise _refuse(
            "permission",
            "sort_on_masked_field",
            f"Cannot sort on {column}: the grant has it {MASKING_OPS[op][1]}, and the order of "
            f"its raw values would reveal them.",
            f"不能按字段 {column} 排序：授权要求对其{MASKING_OPS[op][0]}，按原值排序会泄露其内容。",
            left_operand=column,
            right_operand=duty.masking,
            actual=column,
        )


def _until_midnight(at: dt.datetime) -> int:
    """Seconds to the next midnight of the node's zone, when daily quotas renew."""
    return seconds_to_midnight(at)


def _zone() -> str:
    return local_zone().key


def _rate_wait(call: Call) -> int:
    oldest = call.usage.oldest_call_last_minute
    if oldest is None:
        return 60
    return min(60, max(1, math.ceil(60 - (call.at - oldest).total_seconds())))


def _name(code: str, vocab: Mapping[str, tuple[str, str]], lang: int) -> str:
    return vocab[code][lang] if code in vocab else code


def _names(
    codes: Sequence[str], vocab: Mapping[str, tuple[str, str]], lang: int, sep: str = ", "
) -> str:
    return sep.join(_name(c, vocab, lang) for c in codes) or "—"


def _join(items: Sequence[str], sep: str = ", ") -> str:
    return sep.join(items)


# -- fitting a version -----------------------------------------------------------------------------


def check_columns(policy: Policy, columns: Sequence[Mapping[str, Any]]) -> None:
    """Refuse a policy that does not fit a version's columns (``[{"name", "type"}, …]``, the
    data plane's types): granted fields that do not exist, masking rules that cannot run on
    their columns, row filters on missing columns or with values of the wrong type. Raises one
    ``Invalid(code="policy_does_not_fit")`` listing every problem."""
    terms = policy.terms
    names = {str(c["name"]) for c in columns}
    problems: list[dict[str, Any]] = [
        {
            "column": f,
            "problem": "unknown_field",
            "message": f"field {f!r} does not exist",
            "message_zh": f"字段 {f!r} 不存在",
        }
        for f in terms.fields
        if f not in names
    ]
    if terms.masking is not None:
        try:
            check_policy(terms.masking, [dict(c) for c in columns])
        except Invalid as exc:
            # a masked field is a granted one: a missing column is already reported above
            problems += [
                q for q in exc.details.get("problems", []) if q.get("problem") != "unknown_column"
            ]
    problems += check_row_filter(
        terms.row_filter, {str(c["name"]): str(c["type"]) for c in columns}
    )
    if problems:
        n = len(problems)
        raise Invalid(
            f"The policy {policy.uid!r} does not fit the data: {problems[0]['message']}"
            + (f" (and {n - 1} more)" if n > 1 else ""),
            f"授权策略 {policy.uid!r} 与数据不符：{problems[0]['message_zh']}"
            + (f"（另有 {n - 1} 个问题）" if n > 1 else ""),
            code="policy_does_not_fit",
            policy=policy.uid,
            problems=problems,
        )
