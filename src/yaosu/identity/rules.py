"""Pure identity rules: kinds, levels, roles, scopes and the state machines. No I/O."""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from yaosu.kit.errors import Conflict, Forbidden, Invalid, TooManyRequests

# Organization kinds (ID-1) with their Chinese names.
ORG_KINDS: dict[str, str] = {
    "government": "政府部门",
    "institution": "事业单位",
    "enterprise": "企业",
    "operator": "授权运营主体",
    "service_provider": "第三方服务机构",
    "regulator": "监管机构",
    "individual": "个人",
}
# Six government levels 六级, highest first (003-8).
GOV_LEVELS: tuple[str, ...] = ("province", "city", "district", "street", "community", "grid")
GOV_LEVEL_ZH = {
    "province": "省",
    "city": "市",
    "district": "区县",
    "street": "街道",
    "community": "社区",
    "grid": "网格",
}
SERVICE_TYPES: dict[str, str] = {
    "broker": "数据经纪",
    "notary": "公证",
    "insurer": "保险",
    "evaluator": "资产评估",
    "auditor": "审计",
    "compliance_assessor": "合规评估",
    "arbitrator": "仲裁",
}
# Kinds that enter the platform only through admission 准入 (ID-4).
ADMITTED_KINDS = frozenset({"operator", "service_provider"})
# Kinds whose USCC is mandatory.
USCC_REQUIRED = frozenset({"enterprise", "operator", "service_provider"})

ROLES: dict[str, str] = {
    "platform_admin": "平台管理员",
    "reviewer": "数据主管部门审核员",
    "data_officer": "数据专管员",
    "cdo": "首席数据官",
    "member": "成员",
    "auditor": "审计员",
}

# Token scopes. A login token carries every scope; an API token only those it was given.
SCOPES: dict[str, str] = {
    "identity:read": "Read organizations, users and admissions",
    "identity:write": "Change organizations, users, tokens and admissions",
    "ledger:read": "Search the ledger trail",
    "catalog:read": "Search the catalog; read resources, versions and jobs",
    "catalog:write": "Register, edit, review and ingest resources; post and answer demands",
    "ledger:write": "Issue ledger checkpoints",
    "sharing:read": "Read share requests, grants, usage and responsibility lists",
    "sharing:write": "File and review share requests; manage grants and subscriptions",
    "service:call": "Call the data service API through the organization's grants",
}
ALL_SCOPES = frozenset(SCOPES)


def require_roles(have: Iterable[str], needed: Iterable[str]) -> None:
    """The caller holds one of ``needed``: the one role check of the API and the CLI."""
    wanted = frozenset(needed)
    if not frozenset(have) & wanted:
        raise Forbidden(
            f"This needs one of the roles: {', '.join(sorted(wanted))}.",
            f"此操作需要以下角色之一：{'、'.join(sorted(wanted))}。",
            code="role_required",
            required=sorted(wanted),
        )


def require_usable_org(status: str, inactive_ok: Iterable[str] = ()) -> None:
    """Users of a unit that is not active (pending, rejected, suspended, exited) can do nothing,
    except what ``inactive_ok`` allows for those states."""
    if status != "active" and status not in frozenset(inactive_ok):
        zh, en = ORG_STATUS_NAMES.get(status, (status, status))
        raise Forbidden(
            f"Your organization's status is “{en}”; it can do nothing on the platform.",
            f"您所在机构状态为“{zh}”，不能使用平台。",
            code=f"org_{status}",
        )


# --- organization status -------------------------------------------------------------------
ORG_STATUSES = ("pending", "active", "rejected", "suspended", "exited")
# Each status's name (zh, en), as people read it.
ORG_STATUS_NAMES: dict[str, tuple[str, str]] = {
    "pending": ("待准入", "Pending admission"),
    "active": ("正常", "Active"),
    "rejected": ("准入未通过", "Admission refused"),
    "suspended": ("已暂停", "Suspended"),
    "exited": ("已退出", "Exited"),
}
ORG_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"active", "rejected"}),
    "active": frozenset({"suspended", "exited"}),
    "suspended": frozenset({"active", "exited"}),
    "rejected": frozenset(),
    "exited": frozenset(),
}

# A pending unit becomes active or rejected only by its admission decision, never by resume.
ORG_DECIDED_BY_ADMISSION = frozenset({"pending"})

# --- admission -----------------------------------------------------------------------------
ADMISSION_TRANSITIONS: dict[str, frozenset[str]] = {
    "submitted": frozenset({"approved", "rejected"}),
    "approved": frozenset(),
    "rejected": frozenset(),
}


def check_transition(
    machine: dict[str, frozenset[str]], what_en: str, what_zh: str, current: str, target: str
) -> None:
    if target not in machine.get(current, frozenset()):
        raise Conflict(
            f"The {what_en} is {current}; it cannot become {target}.",
            f"{what_zh}当前状态为 {current}，不能变为 {target}。",
            code="invalid_transition",
            current=current,
            target=target,
        )


def check_org_shape(
    kind: str,
    gov_level: str | None,
    parent_kind: str | None,
    parent_level: str | None,
    service_types: Iterable[str],
) -> None:
    if kind not in ORG_KINDS:
        raise Invalid(
            f"Unknown organization kind {kind!r}.",
            f"未知的机构类型 {kind!r}。",
            code="invalid_org_kind",
            allowed=sorted(ORG_KINDS),
        )
    if kind == "government":
        if gov_level not in GOV_LEVELS:
            raise Invalid(
                "A government unit needs a level: "
                "province, city, district, street, community or grid.",
                "政府部门必须指定层级：省、市、区县、街道、社区或网格。",
                code="invalid_gov_level",
            )
        if parent_kind is not None:
            if parent_kind != "government" or parent_level is None:
                raise Invalid(
                    "A government unit's parent must be a government unit.",
                    "政府部门的上级必须是政府部门。",
                    code="invalid_parent",
                )
            if GOV_LEVELS.index(parent_level) > GOV_LEVELS.index(gov_level):
                raise Invalid(
                    f"A {gov_level}-level unit cannot sit under a {parent_level}-level unit.",
                    f"{GOV_LEVEL_ZH[gov_level]}级单位不能隶属于{GOV_LEVEL_ZH[parent_level]}级单位。",
                    code="invalid_parent",
                )
    elif gov_level is not None:
        raise Invalid(
            "Only government units have a level.", "只有政府部门有层级。", code="invalid_gov_level"
        )
    unknown = sorted(set(service_types) - set(SERVICE_TYPES))
    if unknown:
        raise Invalid(
            f"Unknown service types: {', '.join(unknown)}.",
            f"未知的服务类型：{'、'.join(unknown)}。",
            code="invalid_service_type",
        )
    if kind == "service_provider" and not list(service_types):
        raise Invalid(
            "A service provider names at least one service type.",
            "第三方服务机构至少需要一种服务类型。",
            code="invalid_service_type",
        )


def check_roles(roles: Iterable[str]) -> list[str]:
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise Invalid(
            f"Unknown roles: {', '.join(unknown)}.",
            f"未知的角色：{'、'.join(unknown)}。",
            code="invalid_role",
            allowed=sorted(ROLES),
        )
    if not roles:
        raise Invalid(
            "A user needs at least one role.", "用户至少需要一个角色。", code="invalid_role"
        )
    return roles


def check_scopes(requested: Iterable[str], allowed: Iterable[str] = ALL_SCOPES) -> list[str]:
    requested = sorted(set(requested))
    unknown = [s for s in requested if s not in SCOPES]
    if unknown:
        raise Invalid(
            f"Unknown scopes: {', '.join(unknown)}.",
            f"未知的权限范围：{'、'.join(unknown)}。",
            code="invalid_scope",
            allowed=sorted(SCOPES),
        )
    beyond = [s for s in requested if s not in set(allowed)]
    if beyond:
        raise Forbidden(
            f"A token cannot carry scopes its creator lacks: {', '.join(beyond)}.",
            f"令牌的权限范围不能超出创建者自身：{'、'.join(beyond)}。",
            code="scope_exceeds",
        )
    if not requested:
        raise Invalid(
            "A token needs at least one scope.", "令牌至少需要一个权限范围。", code="invalid_scope"
        )
    return requested


def may_manage_users_of(roles: frozenset[str], actor_org: str | None, target_org: str) -> bool:
    """Platform admins manage every organization's users; a CDO manages their own unit's."""
    if "platform_admin" in roles:
        return True
    return "cdo" in roles and actor_org == target_org


def sees_all_users(roles: frozenset[str]) -> bool:
    return bool(roles & {"platform_admin", "auditor", "reviewer"})


def sees_own_org_users(roles: frozenset[str]) -> bool:
    return bool(roles & {"cdo", "data_officer"})


# --- the limit on sign-in attempts (password guessing) ------------------------------------------
def client_network(address: str | None) -> str:
    """The part of a client address that one party controls: an IPv4 address as it is, an IPv6
    address by its /64 (one host gets a whole /64, so single addresses would be free to
    rotate); anything unparsable as one "unknown" bucket."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def login_attempt_keys(username: str, address: str | None) -> list[tuple[str, str]]:
    """(scope, key) of the two counters a sign-in attempt adds to: the account named (whether or
    not it exists, so the limit says nothing about which accounts exist) and the client's
    network. Keys are SHA-256 digests: no username or address is stored."""

    def digest(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    return [
        ("account", digest("account:" + username)),
        ("address", digest("address:" + client_network(address))),
    ]


def login_wait(
    window_start: datetime, attempts: int, limit: int, window_s: int, now: datetime
) -> int:
    """Seconds until a counter may be tried again: 0 while under ``limit`` in its window (or the
    window is over), else until its window ends. A lock always ends with its window, so a
    guesser can slow the real user down but never lock them out for good."""
    ends = window_start + timedelta(seconds=window_s)
    if ends <= now or attempts < limit:
        return 0
    return max(1, math.ceil((ends - now).total_seconds()))


def login_throttled(wait: int) -> TooManyRequests:
    """The one answer for too many attempts, the same for every account, known or not."""
    return TooManyRequests(
        f"Too many failed sign-in attempts; try again in {wait} s.",
        f"登录失败次数过多，请 {wait} 秒后再试。",
        code="login_throttled",
        retry_after=wait,
    )
