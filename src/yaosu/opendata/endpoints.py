"""Open-data API (``/api/v1/open``): the public catalog, previews and downloads with their
SHA-256, conditional-open applications, public demands, reuses and developer accounts.

Public calls are rate-limited per address, or per user with an API key (``ratelimit``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.catalog.repository import FACETS
from yaosu.identity import schemas as identity_schemas
from yaosu.identity.access import PUBLIC, require
from yaosu.identity.subject import Subject
from yaosu.kit.pagination import MAX_LIMIT, Page
from yaosu.opendata import ratelimit, rules, schemas
from yaosu.opendata.service import (
    application_service,
    demand_service,
    developer_service,
    open_catalog,
    reuse_service,
)
from yaosu.sharing import schemas as sharing_schemas
from yaosu.sharing.service import request_view

router = APIRouter(prefix="/open", tags=["open data"])

APPLY = require(scope="sharing:write")
APPLICATIONS = require(scope="sharing:read")
ANSWER = require(scope="catalog:write")
REVIEW = require("reviewer", "platform_admin", scope="catalog:write")


def rated(request: Request, subject: Subject | None = Depends(PUBLIC)) -> Subject | None:
    """A public call, counted against the caller's per-minute limit."""
    ratelimit.check(
        subject.user_id if subject else None, request.client.host if request.client else None
    )
    return subject


def facet_filters(request: Request) -> dict[str, list[str]]:
    return {k: request.query_params.getlist(k) for k in FACETS if k in request.query_params}


@router.get("/datasets", response_model=schemas.OpenSearch)
def search_datasets(
    request: Request,
    q: str | None = Query(default=None, max_length=200, description="Chinese or English words"),
    limit: int = Query(default=20, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    _: Subject | None = Depends(rated),
    session: Session = SESSION,
) -> schemas.OpenSearch:
    """Search open datasets (无条件开放 and 有条件开放) with facets; filter with
    ``?provider_id=…&base_library=…&open_attribute=…&grade=…&format=…&update_cycle=…``."""
    found = open_catalog.search(session, q, facet_filters(request), limit, offset)
    resources = [open_catalog.get(session, r.id) for r in found.items]
    return schemas.OpenSearch(
        items=open_catalog.views(session, resources),
        total=found.total,
        limit=limit,
        offset=offset,
        facets={k: [f.model_dump() for f in v] for k, v in found.facets.items()},
    )


@router.get("/datasets/{ident:path}/preview", response_model=schemas.Preview)
def preview(
    ident: str,
    limit: int = Query(default=20, ge=1, le=100),
    _: Subject | None = Depends(rated),
    session: Session = SESSION,
) -> schemas.Preview:
    """The first rows of an open dataset, de-identified as in its downloads."""
    return open_catalog.preview(session, open_catalog.get(session, ident), limit)


@router.get("/datasets/{ident:path}/distributions", response_model=list[schemas.Distribution])
def distributions(
    ident: str,
    request: Request,
    _: Subject | None = Depends(rated),
    session: Session = SESSION,
) -> list[schemas.Distribution]:
    """The open files of a dataset in every format, each with its SHA-256 (written on first
    use and recorded in the ledger)."""
    resource = open_catalog.get(session, ident)
    sessions = request.app.state.sessions
    out = []
    for fmt in rules.DOWNLOAD_FORMATS:
        d = open_catalog.distribution(sessions, session, resource, fmt)
        out.append(_distribution_view(resource.id, d))
    return out


@router.get("/datasets/{ident:path}/download/{fmt}", response_class=FileResponse)
def download(
    ident: str,
    fmt: str,
    request: Request,
    header: str | None = Query(
        default=None,
        description="CSV header row: names (column names, the default) or labels (the "
        "catalog's information-item labels 中文表头; the same as csv-labels, csv-excel-labels)",
    ),
    _: Subject | None = Depends(rated),
    session: Session = SESSION,
) -> FileResponse:
    """Download an open dataset as csv, csv-excel (CSV with a UTF-8 BOM, for Excel), json or
    parquet; csv-labels and csv-excel-labels (or ``?header=labels``) carry the catalog's
    Chinese labels as the header row. In those three files for spreadsheets a cell Excel or WPS
    would evaluate as a formula (=, +, -, @, tab, CR …) starts with ' instead; csv carries the
    values unchanged. ``X-Content-SHA256`` carries the file's hash, as recorded in the ledger;
    datasets that are not open are 403."""
    fmt = rules.with_header(fmt, header)
    resource = open_catalog.get(session, ident)
    sessions = request.app.state.sessions
    d = open_catalog.distribution(sessions, session, resource, fmt)
    open_catalog.count_download(sessions, d.id)
    return FileResponse(
        d.path,
        media_type=d.media_type,
        filename=d.filename,
        headers={"X-Content-SHA256": d.sha256, "Cache-Control": "public, max-age=300"},
    )


@router.get("/datasets/{ident:path}", response_model=schemas.OpenDataset)
def get_dataset(
    ident: str, _: Subject | None = Depends(rated), session: Session = SESSION
) -> schemas.OpenDataset:
    """An open dataset by id, resource code or registration code: metadata, fields with their
    Chinese labels and masking, grade, update cycle, registration code."""
    return open_catalog.view(session, open_catalog.get(session, ident))


@router.get("/figures", response_model=schemas.Figures)
def figures(_: Subject | None = Depends(rated), session: Session = SESSION) -> schemas.Figures:
    """The portal's headline figures."""
    return open_catalog.figures(session)


@router.get("/organizations")
def organizations(
    _: Subject | None = Depends(rated), session: Session = SESSION
) -> list[dict[str, Any]]:
    """Units with open datasets, and how many each."""
    return [
        {"id": org.id, "name": org.name, "name_en": org.name_en, "datasets": n}
        for org, n in open_catalog.providers(session)
    ]


# --- conditional-open applications -----------------------------------------------------------
@router.post("/applications", status_code=201, response_model=sharing_schemas.ShareRequest)
def apply(
    data: schemas.ApplicationCreate,
    subject: Subject = Depends(APPLY),
    session: Session = SESSION,
) -> sharing_schemas.ShareRequest:
    """Apply for a 有条件开放 dataset (OPN-2), as an enterprise, a developer or an institution
    (research route). The provider, then the data authority, review it as a share request on
    the ``open`` channel; approval issues a grant used through the data service."""
    return request_view(application_service.apply(session, subject, data))


@router.get("/applications", response_model=Page[sharing_schemas.ShareRequest])
def my_applications(
    limit: int = Query(default=20, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    subject: Subject = Depends(APPLICATIONS),
    session: Session = SESSION,
) -> Page[sharing_schemas.ShareRequest]:
    """The caller's unit's applications, newest first."""
    rows, total = application_service.mine(session, subject, limit, offset)
    return Page[sharing_schemas.ShareRequest](
        items=[request_view(r) for r in rows], total=total, limit=limit, offset=offset
    )


# --- public demands --------------------------------------------------------------------------
@router.post("/demands", status_code=201, response_model=schemas.PublicDemand)
def post_demand(
    data: schemas.DemandCreate,
    subject: Subject | None = Depends(rated),
    session: Session = SESSION,
) -> Any:
    """Ask for a dataset 问需于民 (OPN-3); no account needed. The contact is never shown."""
    return demand_service.post(session, subject, data)


@router.get("/demands", response_model=Page[schemas.PublicDemand])
def list_demands(
    status: str | None = Query(default=None, description="open, answered or declined"),
    limit: int = Query(default=20, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    _: Subject | None = Depends(rated),
    session: Session = SESSION,
) -> Page[schemas.PublicDemand]:
    rows, total = demand_service.list(session, status, limit, offset)
    return Page[schemas.PublicDemand](
        items=[schemas.PublicDemand.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/demands/{demand_id}", response_model=schemas.PublicDemand)
def get_demand(
    demand_id: str, _: Subject | None = Depends(rated), session: Session = SESSION
) -> Any:
    return demand_service.get(session, demand_id)


@router.post("/demands/{demand_id}/answer", response_model=schemas.PublicDemand)
def answer_demand(
    demand_id: str,
    data: schemas.DemandAnswer,
    subject: Subject = Depends(ANSWER),
    session: Session = SESSION,
) -> Any:
    """Answer a public demand: link an open dataset, or decline with the reason."""
    return demand_service.answer(session, subject, demand_id, data)


# --- reuses ----------------------------------------------------------------------------------
@router.post("/reuses", status_code=201, response_model=schemas.Reuse)
def submit_reuse(
    data: schemas.ReuseCreate,
    subject: Subject | None = Depends(rated),
    session: Session = SESSION,
) -> Any:
    """Submit an app, paper or visualization built on open data; shown once reviewed."""
    return reuse_service.submit(session, subject, data)


@router.get("/reuses", response_model=Page[schemas.Reuse])
def list_reuses(
    status: str | None = Query(default=None, description="shown (default); pending, rejected"),
    resource_id: str | None = Query(default=None),
    limit: int = Query(default=20, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    subject: Subject | None = Depends(rated),
    session: Session = SESSION,
) -> Page[schemas.Reuse]:
    rows, total = reuse_service.list(session, subject, status, limit, offset, resource_id)
    return Page[schemas.Reuse](
        items=[schemas.Reuse.model_validate(r) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post("/reuses/{reuse_id}/decision", response_model=schemas.Reuse)
def decide_reuse(
    reuse_id: str,
    data: schemas.ReuseDecision,
    subject: Subject = Depends(REVIEW),
    session: Session = SESSION,
) -> Any:
    return reuse_service.decide(session, subject, reuse_id, data)


# --- developers ------------------------------------------------------------------------------
@router.post("/developers", status_code=201, response_model=identity_schemas.User)
def register_developer(
    data: schemas.DeveloperCreate,
    _: Subject | None = Depends(rated),
    session: Session = SESSION,
) -> Any:
    """Register a developer account 开发者账号; then sign in and create API keys
    (``POST /api/v1/tokens``) for higher rate limits, or apply for conditional data."""
    return developer_service.register(session, data)


def _distribution_view(resource_id: str, d: Any) -> schemas.Distribution:
    return schemas.Distribution(
        format=d.format,
        media_type=d.media_type,
        url=f"/api/v1/open/datasets/{resource_id}/download/{d.format}",
        sha256=d.sha256,
        size_bytes=d.size_bytes,
        rows=d.rows,
        version=d.version,
        downloads=d.downloads,
    )
