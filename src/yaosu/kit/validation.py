"""Payload validation errors in people's words, zh-CN and en.

Pydantic says what is wrong in English (``String should have at least 3 characters``). Each of
its errors carries a stable ``type`` and a context (``min_length``, ``expected``…); from those
this module writes the reason in both languages, and names the field by its label: the schema's
own (``Field(title="Purpose", json_schema_extra={"title_zh": "用途"})``) or, for the field
names every domain shares, the vocabulary below. Our own validators raise ``Unfit`` so that
their reasons come in both languages too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from yaosu.kit.wording import fill


class Unfit(ValueError):
    """A validator's refusal with its reason in both languages (English first, as pydantic's
    own messages); pydantic reports it as a ``value_error``."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh


# pydantic error type -> (zh, en); values come from the error's context.
REASONS: dict[str, tuple[str, str]] = {
    "missing": ("必须填写", "required"),
    "empty": ("不能为空", "cannot be empty"),
    "string_too_short": (
        "至少 {min_length} 个字符",
        "at least {min_length} {min_length|character|characters}",
    ),
    "string_too_long": (
        "最多 {max_length} 个字符",
        "at most {max_length} {max_length|character|characters}",
    ),
    "too_short": ("至少 {min_length} 项", "at least {min_length} {min_length|item|items}"),
    "too_long": ("最多 {max_length} 项", "at most {max_length} {max_length|item|items}"),
    "string_pattern_mismatch": ("格式不正确", "not in the expected format"),
    "string_type": ("应为文本", "must be text"),
    "string_unicode": ("应为有效的 Unicode 文本", "must be valid Unicode text"),
    "int_parsing": ("应为整数", "must be a whole number"),
    "int_type": ("应为整数", "must be a whole number"),
    "int_from_float": ("应为整数，不能有小数", "must be a whole number, without a fraction"),
    "float_parsing": ("应为数字", "must be a number"),
    "float_type": ("应为数字", "must be a number"),
    "decimal_parsing": ("应为数字", "must be a number"),
    "decimal_type": ("应为数字", "must be a number"),
    "finite_number": ("应为有限的数字", "must be a finite number"),
    "bool_parsing": ("应为“是”或“否”", "must be true or false"),
    "bool_type": ("应为“是”或“否”", "must be true or false"),
    "greater_than": ("必须大于 {gt}", "must be greater than {gt}"),
    "greater_than_equal": ("不能小于 {ge}", "must be at least {ge}"),
    "less_than": ("必须小于 {lt}", "must be less than {lt}"),
    "less_than_equal": ("不能大于 {le}", "must be at most {le}"),
    "multiple_of": ("应为 {multiple_of} 的倍数", "must be a multiple of {multiple_of}"),
    "literal_error": ("只能是以下之一：{expected}", "must be one of: {expected}"),
    "enum": ("只能是以下之一：{expected}", "must be one of: {expected}"),
    "date_parsing": ("应为日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)"),
    "date_type": ("应为日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": ("应为日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)"),
    "date_from_datetime_inexact": ("应为日期，不能带时刻", "must be a date without a time"),
    "datetime_parsing": (
        "应为日期时间（ISO 8601，如 2026-01-31T09:00:00+08:00）",
        "must be a date and time (ISO 8601, such as 2026-01-31T09:00:00+08:00)",
    ),
    "datetime_type": (
        "应为日期时间（ISO 8601，如 2026-01-31T09:00:00+08:00）",
        "must be a date and time (ISO 8601, such as 2026-01-31T09:00:00+08:00)",
    ),
    "datetime_from_date_parsing": (
        "应为日期时间（ISO 8601，如 2026-01-31T09:00:00+08:00）",
        "must be a date and time (ISO 8601, such as 2026-01-31T09:00:00+08:00)",
    ),
    "timezone_aware": ("须带时区（如 +08:00）", "must carry a time zone (such as +08:00)"),
    "dict_type": ("应为对象", "must be an object"),
    "model_type": ("应为对象", "must be an object"),
    "model_attributes_type": ("应为对象", "must be an object"),
    "list_type": ("应为列表", "must be a list"),
    "set_type": ("应为列表", "must be a list"),
    "tuple_type": ("应为列表", "must be a list"),
    "uuid_parsing": ("应为 UUID", "must be a UUID"),
    "uuid_type": ("应为 UUID", "must be a UUID"),
    "url_parsing": ("应为网址", "must be a URL"),
    "url_type": ("应为网址", "must be a URL"),
    "url_scheme": ("网址应以 {expected_schemes} 开头", "must be a URL starting {expected_schemes}"),
    "url_too_long": ("网址过长", "too long for a URL"),
    "json_invalid": ("不是合法的 JSON（{error}）", "not valid JSON ({error})"),
    "json_type": ("应为 JSON 文本", "must be JSON text"),
    "extra_forbidden": ("不是可接受的字段", "not a field this request accepts"),
    "union_tag_invalid": ("类型不可识别：{tag}", "unknown kind: {tag}"),
    "union_tag_not_found": ("缺少类型字段 {discriminator}", "{discriminator} missing"),
    "none_required": ("应为空", "must be empty"),
    "bytes_type": ("应为文本", "must be text"),
    "value_error": ("取值无效", "not valid"),
    "assertion_error": ("取值无效", "not valid"),
    "invalid": ("取值无效", "not valid"),
}

# Field names every domain's schemas share, with their labels (zh, en). A schema names its own
# with Field(title=..., json_schema_extra={"title_zh": ...}); that label wins.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "name": ("名称", "Name"),
    "name_en": ("英文名称", "English name"),
    "code": ("代码", "Code"),
    "title": ("标题", "Title"),
    "summary": ("摘要", "Summary"),
    "description": ("描述", "Description"),
    "keywords": ("关键词", "Keywords"),
    "kind": ("类型", "Kind"),
    "type": ("类型", "Type"),
    "status": ("状态", "Status"),
    "reason": ("理由", "Reason"),
    "answer": ("答复", "Answer"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "display_name": ("姓名", "Display name"),
    "email": ("电子邮箱", "E-mail"),
    "phone": ("电话", "Phone"),
    "contact": ("联系方式", "Contact"),
    "contact_username": ("联系人用户名", "Contact's username"),
    "contact_display_name": ("联系人姓名", "Contact's name"),
    "contact_email": ("联系人电子邮箱", "Contact's e-mail"),
    "contact_password": ("联系人密码", "Contact's password"),
    "roles": ("角色", "Roles"),
    "scopes": ("权限范围", "Scopes"),
    "org_id": ("单位", "Organization"),
    "parent_id": ("上级单位", "Parent unit"),
    "gov_level": ("政府层级", "Government level"),
    "uscc": ("统一社会信用代码", "Unified social credit code"),
    "region_code": ("行政区划代码", "Region code"),
    "service_types": ("服务类型", "Service types"),
    "resource_id": ("数据资源", "Resource"),
    "resource_ids": ("数据资源", "Resources"),
    "resource_codes": ("资源代码", "Resource codes"),
    "provider_id": ("提供单位", "Provider"),
    "version_id": ("数据版本", "Dataset version"),
    "grant_id": ("授权", "Grant"),
    "fields": ("数据项", "Fields"),
    "columns": ("列", "Columns"),
    "column": ("列", "Column"),
    "label": ("名称", "Label"),
    "label_zh": ("中文名称", "Chinese label"),
    "label_en": ("英文名称", "English label"),
    "nullable": ("可为空", "Nullable"),
    "purpose": ("用途", "Purpose"),
    "purpose_text": ("用途说明", "Purpose in detail"),
    "scenario": ("应用场景", "Scenario"),
    "legal_basis": ("法律依据", "Legal basis"),
    "basis": ("依据", "Basis"),
    "term_days": ("使用期限（天）", "Term (days)"),
    "delivery_mode": ("提供方式", "Delivery"),
    "research": ("科研通道", "Research route"),
    "research_plan": ("研究方案", "Research plan"),
    "commitment": ("数据安全承诺", "Security commitment"),
    "base_library": ("基础库", "Base library"),
    "share_attribute": ("共享属性", "Share attribute"),
    "share_conditions": ("共享条件", "Share conditions"),
    "share_legal_basis": ("共享依据", "Legal basis for sharing"),
    "share_method": ("共享方式", "Share method"),
    "open_attribute": ("开放属性", "Open attribute"),
    "update_cycle": ("更新周期", "Update cycle"),
    "format": ("资源格式", "Format"),
    "grade": ("数据级别", "Grade"),
    "classification_code": ("分类代码", "Classification code"),
    "theme": ("主题", "Theme"),
    "sector": ("行业领域", "Sector"),
    "source_system": ("来源系统", "Source system"),
    "url": ("网址", "URL"),
    "author": ("作者", "Author"),
    "datasets": ("数据集", "Datasets"),
    "wanted_fields": ("希望包含的数据项", "Wanted fields"),
    "requester_name": ("称呼", "Your name"),
    "calls_per_day": ("每日调用次数", "Calls a day"),
    "rows_per_day": ("每日行数", "Rows a day"),
    "rate_per_minute": ("每分钟调用次数", "Calls a minute"),
    "row_filter": ("行过滤", "Row filter"),
    "masking": ("脱敏", "Masking"),
    "policy": ("策略", "Policy"),
    "narrowing": ("收窄条件", "Narrowing"),
    "approve": ("是否通过", "Approve"),
    "show": ("是否展示", "Show"),
    "expires_in_days": ("有效期（天）", "Valid for (days)"),
    "expires_in": ("有效期", "Valid for"),
    "limit": ("条数", "Limit"),
    "offset": ("起始位置", "Offset"),
    "q": ("搜索词", "Search words"),
    "page": ("页码", "Page"),
    "encoding": ("字符编码", "Encoding"),
    "sheet": ("工作表", "Sheet"),
    "table": ("数据表", "Table"),
    "system": ("系统", "System"),
    "cron": ("定时表达式", "Schedule"),
    "due_at": ("截止时间", "Due"),
    "k": ("k 值", "k"),
    "min_k": ("最小 k 值", "Minimum k"),
    "quasi_identifiers": ("准标识符", "Quasi-identifiers"),
    "secret": ("密钥", "Secret"),
    "body": ("请求体", "Request body"),
}

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _choices(expected: str) -> tuple[str, str]:
    """pydantic's ``'a', 'b' or 'c'`` as ``a、b、c`` and ``a, b, c``."""
    values = _QUOTED.findall(expected) or [expected]
    return "、".join(values), ", ".join(values)


def reason(error: Mapping[str, Any]) -> tuple[str, str]:
    """One pydantic error's reason as (en, zh)."""
    kind = str(error.get("type", ""))
    ctx = dict(error.get("ctx") or {})
    cause = ctx.get("error")
    if kind in ("value_error", "assertion_error") and isinstance(cause, Unfit):
        return cause.message, cause.message_zh
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        kind = "empty"
    zh, en = REASONS.get(kind, REASONS["invalid"])
    values = {k: v for k, v in ctx.items() if isinstance(v, str | int | float)}
    if "expected" in ctx:
        values_zh = {**values, "expected": _choices(str(ctx["expected"]))[0]}
        values_en = {**values, "expected": _choices(str(ctx["expected"]))[1]}
    else:
        values_zh = values_en = values
    try:
        return fill(en, **values_en), fill(zh, **values_zh)
    except (KeyError, IndexError, ValueError):  # a context this pydantic does not give
        return REASONS["invalid"][1], REASONS["invalid"][0]


def _field_label(model: type[BaseModel] | None, name: str) -> tuple[str, str] | None:
    if model is not None:
        for field_name, info in model.model_fields.items():
            if name not in (field_name, info.alias):
                continue
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            zh = extra.get("title_zh")
            if info.title and isinstance(zh, str):
                return zh, info.title
    return FIELD_LABELS.get(name)


def _inner(model: type[BaseModel] | None, name: str) -> type[BaseModel] | None:
    """The model a field of ``model`` holds (directly, in a list or optional), if any."""
    if model is None:
        return None
    for field_name, info in model.model_fields.items():
        if name in (field_name, info.alias):
            stack: list[Any] = [info.annotation]
            while stack:
                t = stack.pop()
                if isinstance(t, type) and issubclass(t, BaseModel):
                    return t
                stack.extend(getattr(t, "__args__", ()))
    return None


def label(loc: Sequence[Any], model: type[BaseModel] | None = None) -> tuple[str, str, str]:
    """Where an error is: (path, English label, Chinese label). The path drops the leading
    ``body``/``query``/``path`` part; list positions are counted from 1 in the labels."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    path = ".".join(str(p) for p in parts)
    if not parts:
        zh, en = FIELD_LABELS["body"]
        return path, en, zh
    en_parts: list[str] = []
    zh_parts: list[str] = []
    current = model
    for part in parts:
        if isinstance(part, int):
            en_parts.append(f"item {part + 1}")
            zh_parts.append(f"第 {part + 1} 项")
            continue
        name = str(part)
        found = _field_label(current, name)
        zh, en = found or (name, name)
        en_parts.append(en)
        zh_parts.append(zh)
        current = _inner(current, name)
    return path, " › ".join(en_parts), " › ".join(zh_parts)


# What an error report holds at most, whatever the payload: a 10,000-key body gives 10,000
# pydantic errors and each names a key the client chose (any length). The report keeps the
# first errors, each name clipped, and counts the rest — its size is bounded, not a multiple
# of the request's.
MAX_ENTRIES = 20
MAX_NAME = 64


def _clip(part: Any) -> Any:
    """A path part as reported: a position as is, a name cut to ``MAX_NAME`` characters."""
    if isinstance(part, int):
        return part
    name = str(part)
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"


def explain(
    errors: Sequence[Mapping[str, Any]], model: type[BaseModel] | None = None
) -> tuple[str, str, list[dict[str, Any]]]:
    """pydantic's errors as (English message, Chinese message, one entry per error with the
    field's path and labels and the reason in both languages). At most ``MAX_ENTRIES``
    entries, names clipped to ``MAX_NAME`` characters; the messages count the rest."""
    entries: list[dict[str, Any]] = []
    for e in errors[:MAX_ENTRIES]:
        loc = [_clip(p) for p in e.get("loc", ())[:MAX_ENTRIES]]
        # A body that is not JSON is located by its character position, not by a field.
        path, label_en, label_zh = label(loc[:1] if e.get("type") == "json_invalid" else loc, model)
        why_en, why_zh = reason(e)
        entries.append(
            {
                "loc": loc,
                "field": path,
                "label": label_en,
                "label_zh": label_zh,
                "type": str(e.get("type", "")),
                "reason": why_en,
                "reason_zh": why_zh,
            }
        )
    en = "; ".join(f"{x['label']} ({x['reason']})" for x in entries[:5])
    zh = "；".join(f"{x['label_zh']}（{x['reason_zh']}）" for x in entries[:5])
    more = len(errors) - 5
    if more > 0:
        en += fill("; and {n} more {n|problem|problems}", n=more)
        zh += f"；另有 {more} 处问题"
    return (
        f"Please check: {en}." if entries else "The request is not valid.",
        f"请检查：{zh}。" if entries else "请求参数校验失败。",
        entries,
    )
