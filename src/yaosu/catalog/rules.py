"""Pure catalog rules: vocabularies, code structure, the publication workflow, diffs. No I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from yaosu.kit.errors import Conflict, Invalid

# 类 (1 digit) 项 (2) 目 (2) 细目 (3): "1", "101", "10102", "10102003".
CLASS_CODE = re.compile(r"^[1-3](\d{2}(\d{2}(\d{3})?)?)?$")
CLASS_ROOTS = {"1": "基础信息资源", "2": "主题信息资源", "3": "部门信息资源"}
SEQUENCE_DIGITS = 6

BASE_LIBRARIES: dict[str, str] = {
    "population": "人口",
    "legal_person": "法人",
    "natural_resources_geo": "自然资源和空间地理",
    "social_credit": "社会信用",
    "e_license": "电子证照",
    "macro_economy": "宏观经济",
}
SHARE_ATTRIBUTES: dict[str, str] = {
    "unconditional": "无条件共享",
    "conditional": "有条件共享",
    "none": "不予共享",
}
OPEN_ATTRIBUTES: dict[str, str] = {
    "unconditional": "无条件开放",
    "conditional": "有条件开放",
    "none": "不予开放",
}
SHARE_METHODS: dict[str, str] = {"api": "接口共享", "file": "文件下载", "database": "库表交换"}
UPDATE_CYCLES: dict[str, str] = {
    "realtime": "实时",
    "daily": "每日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季度",
    "yearly": "每年",
    "irregular": "不定期",
}
FORMATS: dict[str, str] = {
    "table": "数据库表",
    "file": "电子文件",
    "spreadsheet": "电子表格",
    "api": "接口",
    "image": "图像",
    "geo": "空间数据",
}
# What one row of a resource describes 描述对象. It decides what a column means: the address
# of a care home (a place) is not personal information, a resident's address is.
DESCRIBES: dict[str, str] = {
    "person": "个人",
    "organization": "单位",
    "place": "地点或设施",
    "event": "事件",
    "other": "其他",
}
DESCRIBES_EN: dict[str, str] = {
    "person": "people",
    "organization": "organizations",
    "place": "places or facilities",
    "event": "events",
    "other": "other things",
}
FIELD_TYPES = ("string", "integer", "decimal", "boolean", "date", "datetime", "text")

# --- workflow ---------------------------------------------------------------------------------
STATES: dict[str, str] = {
    "draft": "草稿",
    "submitted": "待审核",
    "published": "已发布",
    "returned": "已退回",
    "retired": "已撤销",
}
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"submitted", "retired"}),
    "returned": frozenset({"submitted", "retired"}),
    "submitted": frozenset({"published", "returned"}),
    # An edit of a published entry goes back to review as a new catalog version.
    "published": frozenset({"submitted", "retired"}),
    "retired": frozenset(),
}
EDITABLE = frozenset({"draft", "returned", "published"})


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise Conflict(
            f"The resource is {current}; it cannot become {target}.",
            f"资源当前状态为{STATES.get(current, current)}，不能变为{STATES.get(target, target)}。",
            code="invalid_transition",
            current=current,
            target=target,
        )


def _choice(value: str | None, allowed: Mapping[str, str], what: str, what_zh: str) -> None:
    if value is not None and value not in allowed:
        raise Invalid(
            f"Unknown {what} {value!r}; allowed: {', '.join(allowed)}.",
            f"未知的{what_zh} {value!r}，可选：{'、'.join(allowed.values())}。",
            code=f"invalid_{what.replace(' ', '_')}",
            allowed=list(allowed),
        )


def check_metadata(data: Mapping[str, Any]) -> None:
    """Validate catalog metadata (CAT-1) beyond its shape."""
    code = data.get("classification_code")
    if code is not None and not CLASS_CODE.match(code):
        raise Invalid(
            f"Classification code {code!r} must be 类(1-3) + 项(2) + 目(2) + 细目(3) digits.",
            f"分类代码 {code!r} 应为 类(1-3)+项(2位)+目(2位)+细目(3位) 数字。",
            code="invalid_classification_code",
        )
    _choice(data.get("base_library"), BASE_LIBRARIES, "base library", "基础库")
    _choice(data.get("share_attribute"), SHARE_ATTRIBUTES, "share attribute", "共享属性")
    _choice(data.get("open_attribute"), OPEN_ATTRIBUTES, "open attribute", "开放属性")
    _choice(data.get("share_method"), SHARE_METHODS, "share method", "共享方式")
    _choice(data.get("update_cycle"), UPDATE_CYCLES, "update cycle", "更新周期")
    _choice(data.get("format"), FORMATS, "format", "资源格式")
    _choice(data.get("describes"), DESCRIBES, "row subject", "描述对象")
    share = data.get("share_attribute")
    if share == "conditional" and not (data.get("share_conditions") or "").strip():
        raise Invalid(
            "Conditional sharing (有条件共享) must state its conditions.",
            "有条件共享必须说明共享条件。",
            code="share_conditions_required",
        )
    if share == "none" and not (data.get("share_legal_basis") or "").strip():
        raise Invalid(
            "Not sharing (不予共享) must cite its legal basis.",
            "不予共享必须说明法律法规依据。",
            code="legal_basis_required",
        )
    if share == "none" and data.get("open_attribute") not in (None, "none"):
        raise Invalid(
            "Data that may not be shared between departments cannot be opened to the public.",
            "不予共享的数据不能向社会开放。",
            code="open_exceeds_share",
        )
    fields = data.get("fields")
    if fields is not None:
        check_fields(fields)


def check_fields(fields: list[Mapping[str, Any]]) -> None:
    seen: dict[str, int] = {}
    for pos, f in enumerate(fields, start=1):
        name = (f.get("name") or "").strip()
        if not name:
            raise Invalid(
                f"Information item {pos} has no name.",
                f"第 {pos} 个信息项缺少名称。",
                code="blank_field",
                position=pos,
            )
        if name in seen:
            raise Invalid(
                f"Information items {seen[name]} and {pos} are both named {name!r}.",
                f"第 {seen[name]} 和第 {pos} 个信息项重名：{name!r}。",
                code="duplicate_field",
                positions=[seen[name], pos],
            )
        seen[name] = pos
        if f.get("type") not in FIELD_TYPES:
            raise Invalid(
                f"Information item {name!r} has unknown type {f.get('type')!r}.",
                f"信息项 {name!r} 的类型 {f.get('type')!r} 无效。",
                code="invalid_field_type",
                allowed=list(FIELD_TYPES),
            )


def check_publishable(data: Mapping[str, Any]) -> None:
    """What a catalog entry needs before it can be submitted for review."""
    missing = [
        k
        for k in (
            "classification_code",
            "summary",
            "share_attribute",
            "open_attribute",
            "update_cycle",
            "format",
        )
        if not data.get(k)
    ]
    if not data.get("fields"):
        missing.append("fields")
    if missing:
        raise Invalid(
            f"Complete these before submitting: {', '.join(missing)}.",
            f"提交前请补全：{'、'.join(missing)}。",
            code="incomplete_metadata",
            missing=missing,
        )


def resource_code(classification_code: str, sequence: int) -> str:
    """Resource code = classification code (前段码) + '/' + zero-padded sequence (后段码)."""
    return f"{classification_code}/{sequence:0{SEQUENCE_DIGITS}d}"


def registration_code(region_code: str, year: int, sequence: int) -> str:
    """Unified registration code 公共数据资源登记编码: GZ<region>-<year>-<8-digit sequence>."""
    return f"GZ{region_code}-{year}-{sequence:08d}"


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A readable diff of two catalog snapshots: one row per changed key (fields by name)."""
    out: list[dict[str, Any]] = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if key == "fields" and isinstance(a, list) and isinstance(b, list):
            old = {f["name"]: f for f in a}
            new = {f["name"]: f for f in b}
            for name in [*old, *(n for n in new if n not in old)]:
                if name not in new:
                    out.append({"key": f"fields.{name}", "change": "removed", "before": old[name]})
                elif name not in old:
                    out.append({"key": f"fields.{name}", "change": "added", "after": new[name]})
                elif old[name] != new[name]:
                    out.append(
                        {
                            "key": f"fields.{name}",
                            "change": "changed",
                            "before": old[name],
                            "after": new[name],
                        }
                    )
        elif a != b:
            out.append({"key": key, "change": "changed", "before": a, "after": b})
    return out


# --- demand lists 供需清单 ---------------------------------------------------------------------
DEMAND_STATES = {"open": "待响应", "answered": "已响应", "closed": "已关闭"}
DEMAND_TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"answered", "closed"}),
    "answered": frozenset({"answered", "closed"}),
    "closed": frozenset(),
}
