"""Duties in the workspace: responsibility lists 共享责任清单 (items, overdue ones, linking a
resource) and webhook subscriptions 订阅 on a grant.

Pages are thin over ``responsibility_service`` and ``subscription_service``, with the API's
access: every unit reads its own list (the data authority and auditors any unit's, or the
city's), the data authority adds items, the unit's data officers and CDO (or the authority)
link the resource that fulfils one. A grant's consumer unit subscribes a webhook; the signing
secret is in the answer to that post, once, and never shown again.

Writes post through htmx; their answer is a message for the page's output area plus, out of
band, the part of the page whose state changed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, HttpUrl, ValidationError
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.catalog.service import resource_service
from yaosu.identity.access import require
from yaosu.identity.service import org_service
from yaosu.identity.subject import Subject
from yaosu.kit.timeutil import day_end
from yaosu.sharing import schemas as sharing_schemas
from yaosu.sharing.service import MAX_WEBHOOK_URL, responsibility_service, subscription_service
from yaosu.web import i18n
from yaosu.web.common import fragment, invalid, lang_of, page_number, render, validated, when
from yaosu.web.workspace import AUTHORITY, OVERSIGHT, PROVIDER, page
from yaosu.web.ws_sharing import _Resources, day_of

router = APIRouter(prefix="/workspace", include_in_schema=False)

# The API's access (sharing/endpoints.py): reading needs sharing:read; adding an item is the
# data authority's (reviewers, platform admins); linking and subscribing need sharing:write and
# the service decides who exactly (the item's unit or the authority; the grant's consumer).
READ = require(scope="sharing:read")
WRITE = require(scope="sharing:write")
KEEPER = require(*sorted(AUTHORITY), scope="sharing:write")

PAGE_SIZE = 20
UNIT_KINDS = ("government", "institution")
DELIVERIES = 20


# --- words ---------------------------------------------------------------------------------------
def _helpers(request: Request) -> dict[str, Any]:
    lang = lang_of(request)
    return {
        "when": when,
        "day": day_of,
        "state": lambda s: i18n.t(f"shr.state.{s}", lang),
        "gstate": lambda s: i18n.t(f"shr.gstate.{s}", lang),
    }


# --- responsibility lists ------------------------------------------------------------------------
@dataclass
class ItemRow:
    """A line of the list with the names it is shown by and, for who may link, the unit's
    published resources to choose from."""

    item: sharing_schemas.ResponsibilityItem
    unit: str
    resource: Any | None
    may_link: bool
    choices: list[Any]


@dataclass
class LateRow:
    req: sharing_schemas.ShareRequest
    resource: Any | None
    consumer: str
    provider: str


def may_link(subject: Subject, org_id: str) -> bool:
    """Who the service lets link a resource to an item of ``org_id`` (the form is shown to
    them only; the service checks again)."""
    if "sharing:write" not in subject.scopes:
        return False
    return bool(
        subject.roles & AUTHORITY or (subject.org_id == org_id and subject.roles & PROVIDER)
    )


def _units(session: Session, subject: Subject) -> list[Any]:
    """The units a responsibility list can be kept for: active government units and public
    institutions, by name."""
    units: list[Any] = []
    for kind in UNIT_KINDS:
        rows, _ = org_service.list(session, subject, kind=kind, status="active", limit=1000)
        units.extend(rows)
    return sorted(units, key=lambda o: o.name)


def listing_values(session: Session, subject: Subject, org: str, page_no: int) -> dict[str, Any]:
    """One page of a responsibility list as the page shows it: the unit's (or, for the data
    authority and auditors with no unit chosen, the city's) items, overdue ones flagged, its
    published resources and the requests to it waiting past their deadline."""
    found = responsibility_service.listing(session, subject, org or None)
    start = (page_no - 1) * PAGE_SIZE
    shown = found.items[start : start + PAGE_SIZE]
    late = found.overdue_requests
    names = org_service.names(
        session,
        subject,
        sorted(
            {i.org_id for i in shown}
            | {r.consumer_id for r in late}
            | {r.provider_id for r in late}
            | ({found.org_id} if found.org_id else set())
        ),
    )
    resources = _Resources(session, subject)
    choices: dict[str, list[Any]] = {}

    def published_of(org_id: str) -> list[Any]:
        if org_id not in choices:
            rows, _ = resource_service.listing(
                session, subject, status=["published"], provider_id=org_id, limit=200
            )
            choices[org_id] = list(rows)
        return choices[org_id]

    rows = []
    for i in shown:
        linkable = may_link(subject, i.org_id)
        rows.append(
            ItemRow(
                item=i,
                unit=names.get(i.org_id, i.org_id),
                resource=resources.get(i.resource_id) if i.resource_id else None,
                may_link=linkable,
                choices=published_of(i.org_id) if linkable else [],
            )
        )
    return {
        "listing": found,
        "org": found.org_id or "",
        "unit_name": names.get(found.org_id, found.org_id) if found.org_id else None,
        "rows": rows,
        "late": [
            LateRow(
                req=r,
                resource=resources.get(r.resource_id),
                consumer=names.get(r.consumer_id, r.consumer_id),
                provider=names.get(r.provider_id, r.provider_id),
            )
            for r in late
        ],
        "total": len(found.items),
        "page_no": page_no,
        "pages": max(1, math.ceil(len(found.items) / PAGE_SIZE)),
    }


def _oversees(subject: Subject) -> bool:
    return bool(subject.roles & OVERSIGHT)


@router.get("/responsibilities", response_class=HTMLResponse)
def responsibilities(
    request: Request,
    org: str = Query(default="", max_length=64),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """A unit's sharing responsibility list 共享责任清单: what it must provide, by when and on
    what basis, overdue items flagged, its published resources and the requests to it waiting
    past their deadline. The data authority and auditors choose the unit (or see the city);
    the authority adds items; the unit's officers link the resource that fulfils one."""
    keeper = bool(subject.roles & AUTHORITY) and "sharing:write" in subject.scopes
    units = _units(session, subject) if _oversees(subject) or keeper else []
    return page(
        request,
        "ws/duties/responsibilities.html",
        subject,
        section="responsibilities",
        oversees=_oversees(subject),
        keeper=keeper,
        units=units,
        **listing_values(session, subject, org, page_number(request.query_params.get("page"))),
        **_helpers(request),
    )


def _due(value: str) -> datetime:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise invalid("ws.duties.bad_due", "invalid_due") from None
    return day_end(day)  # a due date is the end of that day in the node's time zone


def _changed(
    request: Request,
    session: Session,
    subject: Subject,
    message: str,
    view: str,
    page_no: int,
) -> HTMLResponse:
    """The answer to a change: the message for the page's output area, and the list again
    (out of band) as the page showed it."""
    session.flush()
    response = render(
        request,
        "ws/duties/_changed.html",
        subject,
        message=message,
        **listing_values(session, subject, view, page_no),
        **_helpers(request),
    )
    response.headers["HX-Retarget"] = "#duty-out"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


@router.post("/responsibilities", response_class=HTMLResponse)
def add_responsibility(
    request: Request,
    org_id: str = Form(default=""),
    name: str = Form(default=""),
    basis: str = Form(default=""),
    due: str = Form(default=""),
    resource: str = Form(default=""),
    view: str = Form(default=""),
    subject: Subject = Depends(KEEPER),
    session: Session = SESSION,
) -> HTMLResponse:
    """Add an item to a unit's list (the data authority), optionally with the resource that
    already fulfils it."""
    if not org_id.strip():
        raise invalid("ws.duties.unit_required", "org_required")
    if not name.strip():
        raise invalid("ws.duties.name_required", "name_required")
    if not due.strip():
        raise invalid("ws.duties.due_required", "due_required")
    data = validated(
        sharing_schemas.ResponsibilityCreate,
        {
            "org_id": org_id.strip(),
            "name": name.strip(),
            "basis": basis.strip(),
            "due_at": _due(due),
            "resource_id": resource.strip() or None,
        },
    )
    item = responsibility_service.add(session, subject, data)
    lang = lang_of(request)
    return _changed(
        request,
        session,
        subject,
        i18n.t("ws.duties.added", lang, name=item.name),
        view.strip(),
        1,
    )


@router.post("/responsibilities/{item_id}/link", response_class=HTMLResponse)
def link_responsibility(
    item_id: str,
    request: Request,
    resource: str = Form(default=""),
    view: str = Form(default=""),
    page_no: str = Form(default="1", alias="page"),
    subject: Subject = Depends(WRITE),
    session: Session = SESSION,
) -> HTMLResponse:
    """Link the resource that fulfils an item (the item's unit, or the data authority); the
    item is fulfilled when the resource is published."""
    if not resource.strip():
        raise invalid("ws.duties.resource_required", "resource_required")
    item = responsibility_service.fulfil(session, subject, item_id, resource.strip())
    lang = lang_of(request)
    key = "ws.duties.linked" if item.fulfilled_at is not None else "ws.duties.linked_pending"
    return _changed(
        request,
        session,
        subject,
        i18n.t(key, lang, name=item.name),
        view.strip(),
        page_number(page_no),
    )


# --- subscriptions on a grant --------------------------------------------------------------------
class _Hook(BaseModel):
    url: HttpUrl


def _hook_url(value: str) -> str:
    """The address as the API takes it (an absolute http or https URL), or a clear refusal."""
    text = value.strip()
    if not text:
        raise invalid("ws.duties.url_required", "url_required")
    if len(text) > MAX_WEBHOOK_URL:  # the service checks again after normalisation
        raise invalid("ws.duties.url_long", "url_too_long", n=MAX_WEBHOOK_URL)
    try:
        return str(_Hook.model_validate({"url": text}).url)
    except ValidationError:
        raise invalid("ws.duties.bad_url", "invalid_url") from None


def _subscription_values(session: Session, subject: Subject, grant_id: str) -> dict[str, Any]:
    grant, subs, deliveries = subscription_service.of_grant(session, subject, grant_id, DELIVERIES)
    return {
        "grant": grant,
        "subs": subs,
        "urls": {s.id: s.url for s in subs},
        "deliveries": deliveries,
        "may_subscribe": grant.consumer_id == subject.org_id
        and grant.status == "active"
        and "sharing:write" in subject.scopes,
        "consumer_side": grant.consumer_id == subject.org_id,
    }


@router.get("/sharing/grants/{grant_id}/subscriptions", response_class=HTMLResponse)
def subscriptions(
    grant_id: str,
    request: Request,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """A grant's webhook subscriptions and its recent deliveries (status, attempts, last error),
    with the form to add one for the consumer unit. The grant page embeds it (htmx); a direct
    visit gets it inside the frame."""
    values = _subscription_values(session, subject, grant_id)
    if fragment(request):
        return render(
            request, "ws/duties/_subscriptions.html", subject, **values, **_helpers(request)
        )
    return page(
        request,
        "ws/duties/subscriptions.html",
        subject,
        section="sharing",
        **values,
        **_helpers(request),
    )


@router.post("/sharing/grants/{grant_id}/subscriptions", response_class=HTMLResponse)
def subscribe(
    grant_id: str,
    request: Request,
    url: str = Form(default=""),
    subject: Subject = Depends(WRITE),
    session: Session = SESSION,
) -> HTMLResponse:
    """Subscribe a webhook to new versions (the grant's consumer unit, while it is active). The
    answer carries the signing secret, once; it is never shown again."""
    address = _hook_url(url)
    sub, secret = subscription_service.subscribe(session, subject, grant_id, address)
    session.flush()
    return render(
        request,
        "ws/duties/_subscribed.html",
        subject,
        created=sub,
        secret=secret,
        **_subscription_values(session, subject, sub.grant_id),
        **_helpers(request),
    )
