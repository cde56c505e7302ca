"""Administration 单位与用户 at ``/workspace/admin``: the organization directory (register a unit,
see its users, sub-units, DID and trail, suspend, resume or record its exit) and the users
(add one with roles and an initial password, deactivate one).

Thin pages over ``org_service`` and ``user_service`` with the same callers as the identity API:
everyone whose credential carries ``identity:read`` reads the directory and the users the service
lets them see; platform admins register units; admins and reviewers change a unit's status;
admins, and a unit's chief data officer for their own unit, add and deactivate users. The menu
shows the page to platform admins only. Admissions 准入 are decided under ``/workspace/reviews``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.identity import rules as identity_rules
from yaosu.identity import schemas as identity_schemas
from yaosu.identity.access import require
from yaosu.identity.service import PRIVILEGED_ROLES, org_service, user_service
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Conflict, Invalid
from yaosu.kit.pagination import MAX_LIMIT
from yaosu.web import i18n
from yaosu.web.common import blank, go, invalid, lang_of, page_number, render, validated
from yaosu.web.workspace import page

router = APIRouter(prefix="/workspace", include_in_schema=False)

# The same callers as the identity API endpoints these pages stand in for.
READ = require(scope="identity:read")
ORG_CREATE = require("platform_admin", scope="identity:write")
ORG_STATUS = require("platform_admin", "reviewer", scope="identity:write")
USER_MANAGE = require("platform_admin", "cdo", scope="identity:write")

TABS = ("orgs", "users")
PAGE_SIZE = 20
Q_MAX = 100  # as GET /api/v1/orgs?q=
# The page's verbs and the status each leads to (POST /api/v1/orgs/{id}/<verb>).
ORG_ACTIONS = {"suspend": "suspended", "resume": "active", "exit": "exited"}
STATUS_CHANGERS = frozenset({"platform_admin", "reviewer"})
USER_MANAGERS = frozenset({"platform_admin", "cdo"})
# Schema fields as the forms name them, for validation messages.
FORM_FIELDS = {
    "name",
    "name_en",
    "uscc",
    "region_code",
    "username",
    "display_name",
    "email",
    "password",
    "org_id",
    "reason",
}


def _label(prefix: str, lang: str) -> Any:
    def label(value: str | None) -> str:
        if not value:
            return i18n.t("common.none", lang)
        key = f"{prefix}.{value}"
        return i18n.t(key, lang) if key in i18n.MESSAGES else value

    return label


def _helpers(request: Request) -> dict[str, Any]:
    lang = lang_of(request)
    return {
        "kind_label": _label("ws.admin.kind", lang),
        "level_label": _label("ws.admin.level", lang),
        "status_label": _label("ws.admin.status", lang),
        "service_label": _label("ws.admin.svc", lang),
    }


# --- validation messages in the forms' own words -------------------------------------------------
def _problem(entry: dict[str, Any], lang: str) -> str:
    if entry.get("type") == "string_pattern_mismatch":  # the form says which characters
        return i18n.t("ws.admin.err.pattern", lang)
    reason = entry.get("reason_zh" if lang == "zh" else "reason")
    return str(reason or i18n.t("ws.admin.err.bad", lang))


def explained(exc: Invalid) -> Invalid:
    """A schema error naming the form's labels in both languages, e.g. "请检查：密码（至少 8 个
    字符）", instead of the schema's field paths."""
    fields = exc.details.get("fields") or []
    if not fields:
        return exc

    def part(entry: dict[str, Any], lang: str) -> str:
        head = str(entry["loc"][0]) if entry.get("loc") else ""
        where = i18n.t(f"ws.admin.f.{head}", lang) if head in FORM_FIELDS else head
        what = _problem(entry, lang)
        return f"{where}（{what}）" if lang == "zh" else f"{where} ({what})"

    parts = {
        lang: ("；" if lang == "zh" else "; ").join(part(f, lang) for f in fields)
        for lang in i18n.LANGS
    }
    return Invalid(
        i18n.t("ws.admin.err.check", "en", where=parts["en"]),
        i18n.t("ws.admin.err.check", "zh", where=parts["zh"]),
        code=exc.code,
        fields=fields,
    )


def _checked(model: type[Any], data: dict[str, Any]) -> Any:
    try:
        return validated(model, data)
    except Invalid as exc:
        raise explained(exc) from None


# --- choices the forms offer (the services decide again) -----------------------------------------
def _all_orgs(session: Session, subject: Subject, **filters: Any) -> list[Any]:
    """Every organization of the directory matching ``filters``, page by page."""
    found: list[Any] = []
    while True:
        rows, total = org_service.list(
            session, subject, limit=MAX_LIMIT, offset=len(found), **filters
        )
        found.extend(rows)
        if not rows or len(found) >= total:
            return found


def may_create_org(subject: Subject) -> bool:
    return "platform_admin" in subject.roles and "identity:write" in subject.scopes


def may_change_status(subject: Subject) -> bool:
    return bool(subject.roles & STATUS_CHANGERS) and "identity:write" in subject.scopes


def may_manage_users_of(subject: Subject, org_id: str) -> bool:
    return "identity:write" in subject.scopes and identity_rules.may_manage_users_of(
        subject.roles, subject.org_id, org_id
    )


def _org_choices(session: Session, subject: Subject) -> dict[str, Any]:
    """What the registration form offers: kinds, levels, service types, government parents."""
    if not may_create_org(subject):
        return {}
    return {
        "kinds": list(identity_rules.ORG_KINDS),
        "levels": list(identity_rules.GOV_LEVELS),
        "service_types": list(identity_rules.SERVICE_TYPES),
        "parents": _all_orgs(session, subject, kind="government", status="active"),
    }


def _user_choices(session: Session, subject: Subject, preselect: str | None) -> dict[str, Any]:
    """What the user form offers: the units this subject may add users to, and the roles."""
    if not subject.roles & USER_MANAGERS or "identity:write" not in subject.scopes:
        return {}
    if "platform_admin" in subject.roles:
        units = _all_orgs(session, subject, status="active")
        roles = list(identity_rules.ROLES)
    else:
        units = [org_service.get(session, subject, subject.org_id or "")]
        roles = [r for r in identity_rules.ROLES if r not in PRIVILEGED_ROLES]
    return {"units": units, "roles": roles, "preselect": preselect or subject.org_id}


# --- the page ------------------------------------------------------------------------------------
@dataclass
class OrgListing:
    rows: list[Any]
    total: int
    page_no: int
    pages: int
    q: str
    kind: str | None
    status: str | None
    parents: dict[str, str]


@dataclass
class UserListing:
    rows: list[Any]
    total: int
    page_no: int
    pages: int
    org: Any | None


def org_listing(session: Session, subject: Subject, params: Any) -> OrgListing:
    q = (params.get("q") or "").strip()[:Q_MAX]
    kind = params.get("kind") if params.get("kind") in identity_rules.ORG_KINDS else None
    status = params.get("status") if params.get("status") in identity_rules.ORG_STATUSES else None
    page_no = page_number(params.get("page"))
    rows, total = org_service.list(
        session,
        subject,
        kind=kind,
        status=status,
        q=q or None,
        limit=PAGE_SIZE,
        offset=(page_no - 1) * PAGE_SIZE,
    )
    parents = org_service.names(
        session, subject, sorted({r.parent_id for r in rows if r.parent_id})
    )
    return OrgListing(
        rows=list(rows),
        total=total,
        page_no=page_no,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        q=q,
        kind=kind,
        status=status,
        parents=parents,
    )


def user_listing(session: Session, subject: Subject, params: Any) -> UserListing:
    org = org_service.get(session, subject, params["org"]) if params.get("org") else None
    page_no = page_number(params.get("page"))
    rows, total = user_service.list(
        session,
        subject,
        org_id=org.id if org else None,
        limit=PAGE_SIZE,
        offset=(page_no - 1) * PAGE_SIZE,
    )
    return UserListing(
        rows=list(rows),
        total=total,
        page_no=page_no,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        org=org,
    )


@router.get("/admin", response_class=HTMLResponse)
def admin(
    request: Request,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """The organization directory (``?tab=orgs``: search, kind, status; paginated) with the
    registration form for platform admins, or the users this subject may see (``?tab=users``,
    ``&org=`` for one unit) with the form to add one for admins and chief data officers."""
    params = request.query_params
    tab = params.get("tab") if params.get("tab") in TABS else TABS[0]
    values: dict[str, Any] = {"tab": tab}
    if tab == "orgs":
        values["orgs"] = org_listing(session, subject, params)
        values["all_kinds"] = list(identity_rules.ORG_KINDS)
        values["all_statuses"] = list(identity_rules.ORG_STATUSES)
        values.update(_org_choices(session, subject))
        values["may_create"] = may_create_org(subject)
    else:
        listing = user_listing(session, subject, params)
        values["users"] = listing
        values.update(_user_choices(session, subject, listing.org.id if listing.org else None))
    return page(
        request,
        "ws/admin/index.html",
        subject,
        section="admin",
        may_manage=lambda org_id: may_manage_users_of(subject, org_id),
        **values,
        **_helpers(request),
    )


@router.post("/admin/orgs")
def create_org(
    request: Request,
    name: str = Form(default=""),
    name_en: str = Form(default=""),
    kind: str = Form(default=""),
    gov_level: str = Form(default=""),
    parent_id: str = Form(default=""),
    uscc: str = Form(default=""),
    region_code: str = Form(default=""),
    service_types: list[str] = Form(default_factory=list),
    subject: Subject = Depends(ORG_CREATE),
    session: Session = SESSION,
) -> Response:
    """Register an organization (platform admins), with the API's checks: kind, government
    level and parent, the USCC and its check character, a USCC already registered. It gets its
    DID and key pair; then go to its page."""
    if not kind.strip():
        raise invalid("ws.admin.err.kind", "invalid_org_kind")
    data = _checked(
        identity_schemas.OrgCreate,
        {
            "name": name.strip(),
            "name_en": blank(name_en),
            "kind": kind.strip(),
            "gov_level": blank(gov_level),
            "parent_id": blank(parent_id),
            "uscc": blank(uscc),
            "region_code": blank(region_code),
            "service_types": [s for s in service_types if s.strip()],
        },
    )
    org = org_service.create(session, subject, data)
    return go(request, f"/workspace/admin/orgs/{org.id}?created=1")


# --- one organization ----------------------------------------------------------------------------
def _org_values(session: Session, subject: Subject, org: Any) -> dict[str, Any]:
    return {
        "org": org,
        "may_change": may_change_status(subject) and org.id != subject.org_id,
        "actions": [
            verb
            for verb, target in ORG_ACTIONS.items()
            if target in identity_rules.ORG_TRANSITIONS.get(org.status, frozenset())
            and org.status != "pending"  # a pending unit is decided by admission, not here
        ],
    }


@router.get("/admin/orgs/{org_id}", response_class=HTMLResponse)
def org_detail(
    org_id: str,
    request: Request,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """An organization: its facts, DID and DID document, its users and sub-units, its status
    with the actions admins and reviewers may take, and its trail (status changes included)."""
    org = org_service.get(session, subject, org_id)
    users, user_total = user_service.list(session, subject, org_id=org.id, limit=PAGE_SIZE)
    children, child_total = org_service.list(session, subject, parent_id=org.id, limit=PAGE_SIZE)
    parent = org_service.names(session, subject, [org.parent_id]) if org.parent_id else {}
    return page(
        request,
        "ws/admin/org.html",
        subject,
        section="admin",
        parent_name=parent.get(org.parent_id or ""),
        users=users,
        user_total=user_total,
        children=children,
        child_total=child_total,
        created=request.query_params.get("created") == "1",
        may_add_user=may_manage_users_of(subject, org.id) and org.status == "active",
        may_manage=lambda oid: may_manage_users_of(subject, oid),
        **_org_values(session, subject, org),
        **_helpers(request),
    )


def _stale_org(status: str, action: str) -> Conflict:
    def say(lang: str) -> str:
        return i18n.t(
            "ws.admin.org_stale",
            lang,
            status=i18n.t(f"ws.admin.status.{status}", lang),
            action=i18n.t(f"ws.admin.act.{action}", lang),
        )

    return Conflict(say("en"), say("zh"), code="org_state_conflict", current=status)


def _change_org(action: str) -> Any:
    target = ORG_ACTIONS[action]

    def change(
        org_id: str,
        request: Request,
        reason: str = Form(default=""),
        subject: Subject = Depends(ORG_STATUS),
        session: Session = SESSION,
    ) -> HTMLResponse:
        if not reason.strip():
            raise invalid("ws.admin.reason_required", "reason_required")
        body = _checked(identity_schemas.StatusChange, {"reason": reason.strip()})
        org = org_service.get(session, subject, org_id)
        try:
            org_service.change_status(session, subject, org.id, target, body.reason)
        except Conflict as exc:
            raise _stale_org(org.status, action) from exc
        lang = lang_of(request)
        return render(
            request,
            "ws/admin/_org_changed.html",
            subject,
            message=i18n.t(
                "ws.admin.org_changed", lang, action=i18n.t(f"ws.admin.act.{action}", lang)
            ),
            **_org_values(session, subject, org),
            **_helpers(request),
        )

    change.__name__ = f"{action}_org"
    change.__doc__ = f"{action.capitalize()} an organization with a reason (admins, reviewers)."
    return change


for _action in ORG_ACTIONS:
    router.add_api_route(
        f"/admin/orgs/{{org_id}}/{_action}",
        _change_org(_action),
        methods=["POST"],
        response_class=HTMLResponse,
    )


# --- users ---------------------------------------------------------------------------------------
@router.post("/admin/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    username: str = Form(default=""),
    display_name: str = Form(default=""),
    email: str = Form(default=""),
    org_id: str = Form(default=""),
    roles: list[str] = Form(default_factory=list),
    password: str = Form(default=""),
    subject: Subject = Depends(USER_MANAGE),
    session: Session = SESSION,
) -> HTMLResponse:
    """Add a user with roles and an initial password (platform admins anywhere, a chief data
    officer in their own unit). The answer names the user and a fresh, empty form: the password
    is never sent back."""
    if not org_id.strip():
        raise invalid("ws.admin.err.org", "org_required")
    data = _checked(
        identity_schemas.UserCreate,
        {
            "username": username.strip(),
            "display_name": display_name.strip(),
            "email": blank(email),
            "org_id": org_id.strip(),
            "roles": roles,
            "password": password,
        },
    )
    user = user_service.create(session, subject, data)
    return render(
        request,
        "ws/admin/_user_created.html",
        subject,
        created=user,
        **_user_choices(session, subject, user.org_id),
    )


@router.post("/admin/users/{user_id}/deactivate", response_class=HTMLResponse)
def deactivate_user(
    user_id: str,
    request: Request,
    subject: Subject = Depends(USER_MANAGE),
    session: Session = SESSION,
) -> HTMLResponse:
    """Deactivate a user: they can no longer sign in and every token they hold is revoked. A
    second deactivation says the user already is."""
    user = user_service.deactivate(session, subject, user_id)
    return render(request, "ws/admin/_user_deactivated.html", subject, u=user)
