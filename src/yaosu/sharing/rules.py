"""Pure sharing rules: the request and grant state machines, purposes, delivery modes and how a
new request is routed (refused, approved automatically, or reviewed). No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from yaosu.kit.errors import Conflict, Invalid
from yaosu.policy import model as policy_model

REQUEST_STATES: dict[str, str] = {
    "provider_review": "待提供单位审核",
    "authority_review": "待数据主管部门审核",
    "approved": "已批准",
    "rejected": "已驳回",
    "withdrawn": "已撤回",
    "expired": "已过期",
}
REQUEST_STATES_EN: dict[str, str] = {
    "provider_review": "with the provider",
    "authority_review": "with the data authority",
    "approved": "approved",
    "rejected": "rejected",
    "withdrawn": "withdrawn",
    "expired": "expired",
}
REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    "provider_review": frozenset({"authority_review", "rejected", "withdrawn", "expired"}),
    "authority_review": frozenset({"approved", "rejected", "withdrawn", "expired"}),
}
OPEN_STATES = frozenset(REQUEST_TRANSITIONS)

GRANT_STATES: dict[str, str] = {
    "active": "有效",
    "suspended": "已暂停",
    "revoked": "已撤销",
    "expired": "已到期",
}
GRANT_TRANSITIONS: dict[str, frozenset[str]] = {
    "active": frozenset({"suspended", "revoked"}),
    "suspended": frozenset({"active", "revoked"}),
}

# Controlled vocabulary of purposes 用途 (the policy's own; commercial ones are not sharing's).
PURPOSES: dict[str, str] = {
    code: zh
    for code, (zh, _) in policy_model.PURPOSES.items()
    if code not in ("commercial_use", "marketing")
}
DELIVERY_MODES: dict[str, str] = {
    "api": "数据服务接口",
    "file": "文件导出",
    "subscription": "订阅新版本",
}
CONSUMER_KINDS = frozenset({"government", "institution"})
REVIEW_DAYS = 5  # each review stage has five days before the request is flagged overdue
MAX_TERM_DAYS = 3 * 365


def check_transition(current: str, target: str, machine: str = "request") -> None:
    table = REQUEST_TRANSITIONS if machine == "request" else GRANT_TRANSITIONS
    names = REQUEST_STATES if machine == "request" else GRANT_STATES
    if target not in table.get(current, frozenset()):
        raise Conflict(
            f"The {machine} is {current}; it cannot become {target}.",
            f"当前状态为「{names.get(current, current)}」，"
            f"不能变为「{names.get(target, target)}」。",
            code=f"{machine}_state_conflict",
            current=current,
            target=target,
        )


# A law or regulation named by its title in book-title marks: 《…法》 (a law, 民法典 too),
# 《…条例》, 《…规定》, 《…办法》, 《…决定》 or 《…细则》, optionally with an edition note in
# brackets (《…法（2021年修正）》); at least two Chinese characters before the kind.
LAW_KINDS = ("法典", "法", "条例", "规定", "办法", "决定", "细则")
_LAW_TITLE = re.compile(
    r"《(?P<title>[^《》\s]*?[\u4e00-\u9fff][^《》\s]*?[\u4e00-\u9fff][^《》\s]*?"
    r"(?:" + "|".join(LAW_KINDS) + r"))(?:[（(][^《》（）()]{1,30}[）)])?》"
)


def cited_law(legal_basis: str | None) -> str | None:
    """The first law or regulation a request's legal basis names by title (``《个人信息保护法》``),
    or None. This is what lets the data authority lift the masking of a sensitive field: a
    bare "依法", a notice (《关于…的通知》) or a plan (《…方案》) names no law."""
    found = _LAW_TITLE.search(legal_basis or "")
    return f"《{found.group('title')}》" if found else None


def check_vocabulary(purpose: str, delivery_mode: str) -> None:
    if purpose not in PURPOSES:
        raise Invalid(
            f"Unknown purpose {purpose!r}; use one of {', '.join(PURPOSES)}.",
            f"未知用途 {purpose!r}，可选：{'、'.join(PURPOSES.values())}。",
            code="unknown_purpose",
            allowed=list(PURPOSES),
        )
    if delivery_mode not in DELIVERY_MODES:
        raise Invalid(
            f"Unknown delivery mode {delivery_mode!r}; use one of {', '.join(DELIVERY_MODES)}.",
            f"未知的提供方式 {delivery_mode!r}。",
            code="unknown_delivery_mode",
            allowed=list(DELIVERY_MODES),
        )


@dataclass(frozen=True)
class Route:
    """Where a new request goes: ``refuse`` (with the reason), ``auto`` or ``review``."""

    decision: str
    code: str = ""
    message: str = ""
    message_zh: str = ""


def route(
    *,
    share_attribute: str | None,
    legal_basis: str | None,
    grade: str | None,
    consumer_kind: str,
) -> Route:
    """不予共享 and core data are refused; important data only reaches computation (which this
    node does not offer yet); general, unconditional data asked for by a government unit is
    approved automatically (001-5); everything else is reviewed by the provider and then the
    data authority."""
    if share_attribute == "none":
        basis = legal_basis or "未注明"
        return Route(
            "refuse",
            "not_shared",
            f"The resource is not shared (不予共享); legal basis: {basis}.",
            f"该资源不予共享，依据：{basis}。",
        )
    if grade == "core":
        return Route(
            "refuse",
            "core_data",
            "Core data 核心数据 is never shared.",
            "核心数据不予共享。",
        )
    if grade == "important":
        return Route(
            "refuse",
            "important_data_computation_only",
            "Important data 重要数据 can be granted only for privacy-preserving computation, "
            "not as raw rows; this node does not offer computation grants yet.",
            "重要数据只能以隐私计算方式使用，不提供原始数据；本节点暂未开放计算授权。",
        )
    if share_attribute == "unconditional" and consumer_kind == "government" and grade:
        return Route("auto")
    return Route("review")
