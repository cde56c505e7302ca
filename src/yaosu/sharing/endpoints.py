"""Sharing API: share requests and their review, grants (policy, suspend, resume, revoke, usage),
subscriptions, responsibility lists."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, HttpUrl
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.catalog.schemas import Reason
from yaosu.identity.access import require
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Invalid, NotFound
from yaosu.kit.pagination import MAX_LIMIT, Page
from yaosu.policy import describe, filters
from yaosu.policy.model import parse_policy
from yaosu.sharing import schemas
from yaosu.sharing.dataservice import data_service
from yaosu.sharing.service import (
    grant_service,
    request_service,
    request_view,
    responsibility_service,
    subscription_service,
)

router = APIRouter(tags=["sharing"])

READ = require(scope="sharing:read")
WRITE = require(scope="sharing:write")
AUTHORITY = require("reviewer", "platform_admin", scope="sharing:write")


# --- requests --------------------------------------------------------------------------------
@router.post("/share-requests", status_code=201, response_model=schemas.ShareRequest)
def submit_request(
    data: schemas.ShareRequestCreate,
    subject: Subject = Depends(WRITE),
    session: Session = SESSION,
) -> schemas.ShareRequest:
    """File a share request 共享申请. General-grade, unconditionally shared resources are
    approved at once for government units; 不予共享, core and important data are refused with the
    reason; everything else goes to the provider, then the data authority."""
    return request_view(request_service.submit(session, subject, data))


@router.get("/share-requests", response_model=Page[schemas.ShareRequest])
def list_requests(
    role: str | None = Query(default=None, description="consumer or provider"),
    status: str | None = Query(default=None),
    channel: str | None = Query(
        default=None, description="sharing (政务共享) or open (有条件开放申请); both by default"
    ),
    limit: int = Query(default=20, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> Page[schemas.ShareRequest]:
    """Requests made by or to the caller's unit (all, for the data authority), including
    conditional-open applications; overdue ones are flagged."""
    rows, total = request_service.list(
        session, subject, role=role, status=status, limit=limit, offset=offset, channel=channel
    )
    return Page[schemas.ShareRequest](
        items=[request_view(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get("/share-requests/{request_id}", response_model=schemas.ShareRequest)
def get_request(
    request_id: str, subject: Subject = Depends(READ), session: Session = SESSION
) -> schemas.ShareRequest:
    return request_view(request_service.get(session, subject, request_id))


@router.post("/share-requests/{request_id}/decision", response_model=schemas.ShareRequest)
def decide_request(
    request_id: str,
    data: schemas.Decision,
    subject: Subject = Depends(WRITE),
    session: Session = SESSION,
) -> schemas.ShareRequest:
    """Approve (optionally narrowing fields, masking, term, rows, quotas) or refuse with a
    reason — the provider first, then the data authority."""
    return request_view(request_service.decide(session, subject, request_id, data))


@router.post("/share-requests/{request_id}/withdraw", response_model=schemas.ShareRequest)
def withdraw_request(
    request_id: str, subject: Subject = Depends(WRITE), session: Session = SESSION
) -> schemas.ShareRequest:
    return request_view(request_service.withdraw(session, subject, request_id))


# --- grants ----------------------------------------------------------------------------------
def _detail(grant: Any, labels: dict[str, str] | None = None) -> schemas.GrantDetail:
    policy = parse_policy(grant.policy)
    return schemas.GrantDetail(
        **schemas.Grant.model_validate(grant).model_dump(),
        summary=describe.describe(policy, "zh", labels=labels),
        summary_en=describe.describe(policy, "en"),
    )


@router.get("/grants", response_model=Page[schemas.Grant])
def list_grants(
    role: str | None = Query(default=None, description="consumer or provider"),
    status: str | None = Query(default=None),
    limit: int = Query(default=20, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> Page[schemas.Grant]:
    rows, total = grant_service.list(
        session, subject, role=role, status=status, limit=limit, offset=offset
    )
    return Page[schemas.Grant](
        items=[schemas.Grant.model_validate(g) for g in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/grants/{grant_id}", response_model=schemas.GrantDetail)
def get_grant(
    grant_id: str, subject: Subject = Depends(READ), session: Session = SESSION
) -> schemas.GrantDetail:
    """A grant with its ODRL policy and the policy in plain language."""
    grant = grant_service.get(session, subject, grant_id)
    return _detail(grant, grant_service.labels(session, grant))


def _change(target: str) -> Any:
    def endpoint(
        grant_id: str,
        body: Reason,
        subject: Subject = Depends(WRITE),
        session: Session = SESSION,
    ) -> schemas.GrantDetail:
        return _detail(grant_service.change(session, subject, grant_id, target, body.reason))

    return endpoint


router.add_api_route(
    "/grants/{grant_id}/suspend",
    _change("suspended"),
    methods=["POST"],
    response_model=schemas.GrantDetail,
    summary="Suspend a grant (immediate effect)",
)
router.add_api_route(
    "/grants/{grant_id}/resume",
    _change("active"),
    methods=["POST"],
    response_model=schemas.GrantDetail,
    summary="Resume a suspended grant",
)
router.add_api_route(
    "/grants/{grant_id}/revoke",
    _change("revoked"),
    methods=["POST"],
    response_model=schemas.GrantDetail,
    summary="Revoke a grant (immediate, final)",
)


@router.get("/grants/{grant_id}/usage", response_model=schemas.Usage)
def grant_usage(
    grant_id: str,
    days: int = Query(default=30, ge=1, le=366),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> schemas.Usage:
    """Calls, rows, bytes and refusals by reason per day (exact counters)."""
    return grant_service.usage(session, subject, grant_id, days)


class SubscribeBody(BaseModel):
    url: HttpUrl = Field(description="Where signed notifications of new versions go")


@router.post("/grants/{grant_id}/subscriptions", status_code=201, response_model=schemas.Subscribed)
def subscribe(
    grant_id: str,
    body: SubscribeBody,
    subject: Subject = Depends(WRITE),
    session: Session = SESSION,
) -> schemas.Subscribed:
    """Subscribe to new versions; the secret for checking ``X-Yaosu-Signature`` is shown once."""
    sub, secret = subscription_service.subscribe(session, subject, grant_id, str(body.url))
    return schemas.Subscribed(id=sub.id, grant_id=sub.grant_id, url=sub.url, secret=secret)


# --- responsibility lists --------------------------------------------------------------------
@router.get("/responsibilities", response_model=schemas.ResponsibilityList)
def responsibilities(
    org_id: str | None = Query(default=None, description="A unit (default: the caller's)"),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> schemas.ResponsibilityList:
    """A unit's sharing responsibility list 共享责任清单 with overdue items and requests."""
    return responsibility_service.listing(session, subject, org_id)


@router.post("/responsibilities", status_code=201, response_model=schemas.ResponsibilityItem)
def add_responsibility(
    data: schemas.ResponsibilityCreate,
    subject: Subject = Depends(AUTHORITY),
    session: Session = SESSION,
) -> schemas.ResponsibilityItem:
    return schemas.ResponsibilityItem.model_validate(
        responsibility_service.add(session, subject, data)
    )


class LinkBody(BaseModel):
    resource_id: str


@router.post("/responsibilities/{item_id}/link", response_model=schemas.ResponsibilityItem)
def link_responsibility(
    item_id: str,
    body: LinkBody,
    subject: Subject = Depends(WRITE),
    session: Session = SESSION,
) -> schemas.ResponsibilityItem:
    """Link the published resource that fulfils an item."""
    return schemas.ResponsibilityItem.model_validate(
        responsibility_service.fulfil(session, subject, item_id, body.resource_id)
    )


# --- data service API ------------------------------------------------------------------------
CALL = require(scope="service:call")
MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "arrow": "application/vnd.apache.arrow.stream",
}


def _format(request: Request, fmt: str | None) -> str:
    if fmt:
        if fmt not in MEDIA:
            raise Invalid(
                f"Unknown format {fmt!r}; use json, csv or arrow.",
                f"未知格式 {fmt!r}，可选 json、csv、arrow。",
                code="unknown_format",
            )
        return fmt
    accept = request.headers.get("accept", "")
    if "application/vnd.apache.arrow.stream" in accept:
        return "arrow"
    if "text/csv" in accept:
        return "csv"
    return "json"


def _order(text: str | None) -> list[tuple[str, bool]]:
    out = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, _, direction = (
            part.rpartition(".")
            if part.endswith((".asc", ".desc"))
            else (
                part,
                "",
                "asc",
            )
        )
        out.append((name, direction == "desc"))
    return out


def _fields(text: str | None) -> list[str] | None:
    return [f.strip() for f in text.split(",") if f.strip()] if text else None


@router.get(
    "/services/{grant_id}/rows",
    responses={200: {"content": {m: {} for m in MEDIA.values()}}},
)
def service_rows(
    grant_id: str,
    request: Request,
    fields: str | None = Query(default=None, description="Comma-separated granted fields"),
    order: str | None = Query(default=None, description="e.g. age.desc,name"),
    limit: int = Query(default=1000, ge=1, le=1_000_000),
    cursor: str | None = Query(default=None),
    purpose: str | None = Query(default=None),
    format: str | None = Query(default=None, description="json, csv or arrow (or use Accept)"),
    subject: Subject = Depends(CALL),
    session: Session = SESSION,
) -> StreamingResponse:
    """Rows of the granted resource — within the grant's fields, masking and row filter —
    with filters (``column=op.value``, e.g. ``district_code=in.370602,370613``), sort and cursor
    pagination; JSON, CSV or Arrow IPC stream. Every call is metered and in the ledger."""
    fmt = _format(request, format)
    params = {
        k: request.query_params.getlist(k)
        for k in request.query_params
        if k not in filters.RESERVED_PARAMS
    }
    body = data_service.rows(
        request.app.state.sessions,
        session,
        subject,
        grant_id,
        fields=_fields(fields),
        params=params,
        purpose=purpose,
        order=_order(order),
        limit=limit,
        cursor=cursor,
        fmt=fmt,
    )
    return StreamingResponse(body, media_type=MEDIA[fmt])


@router.get(
    "/services/{grant_id}/export",
    responses={200: {"content": {m: {} for m in MEDIA.values()}}},
)
def service_export(
    grant_id: str,
    request: Request,
    fields: str | None = Query(default=None),
    purpose: str | None = Query(default=None),
    format: str = Query(default="csv", description="csv, json or arrow"),
    subject: Subject = Depends(CALL),
    session: Session = SESSION,
) -> StreamingResponse:
    """The whole granted view as one file, under a grant whose delivery mode is file export
    (文件导出); metered and logged like any call."""
    fmt = _format(request, format)
    body = data_service.rows(
        request.app.state.sessions,
        session,
        subject,
        grant_id,
        fields=_fields(fields),
        params={},
        purpose=purpose,
        order=[],
        limit=1_000_000_000,
        cursor=None,
        fmt=fmt,
        delivery="file",
    )
    ext = {"json": "json", "csv": "csv", "arrow": "arrows"}[fmt]
    return StreamingResponse(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="grant-{grant_id}.{ext}"'},
    )


@router.get("/services/{grant_id}/lookup")
def service_lookup(
    grant_id: str,
    request: Request,
    key: str = Query(min_length=1, max_length=200, description="e.g. a resident ID or USCC"),
    by: str | None = Query(default=None, description="Key field (default: the natural key)"),
    fields: str | None = Query(default=None),
    purpose: str | None = Query(default=None),
    subject: Subject = Depends(CALL),
    session: Session = SESSION,
) -> dict[str, Any]:
    """One entity by key; 404 when there is none (the call is still metered)."""
    found = data_service.lookup(
        request.app.state.sessions,
        session,
        subject,
        grant_id,
        by=by,
        key=key,
        fields=_fields(fields),
        purpose=purpose,
    )
    if found is None:
        raise NotFound("No entity with that key.", "未找到该键对应的记录。", code="no_such_entity")
    return {"row": found}


@router.get("/services/{grant_id}/schema")
def service_schema(
    grant_id: str, subject: Subject = Depends(CALL), session: Session = SESSION
) -> dict[str, Any]:
    """The granted fields, their types after masking, the row filter and the version served."""
    return data_service.schema(session, subject, grant_id)
