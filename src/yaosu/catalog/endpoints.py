"""Catalog API: resources and their review, registrations, dataset versions, ingest, search,
census and demand lists."""

from __future__ import annotations

import shutil
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.catalog import census, schemas
from yaosu.catalog.service import dataset_service, demand_service, resource_service
from yaosu.catalog.tasks import accept_version as accept_version_task
from yaosu.catalog.tasks import reject_version as reject_version_task
from yaosu.catalog.tasks import rollback as rollback_task
from yaosu.catalog.tasks import runner
from yaosu.identity.access import PUBLIC, require
from yaosu.identity.subject import Subject
from yaosu.kit.pagination import MAX_LIMIT, Page, page_of
from yaosu.models.catalog import PullSchedule

router = APIRouter(tags=["catalog"])

READ = require(scope="catalog:read")
EDIT = require("data_officer", "cdo", "platform_admin", scope="catalog:write")
REVIEW = require("reviewer", "platform_admin", scope="catalog:write")
# Rollback: the data authority, or the provider's chief data officer (the service checks the unit).
ROLLBACK = require("reviewer", "platform_admin", "cdo", scope="catalog:write")


def _r(resource: Any) -> schemas.Resource:
    return schemas.Resource.model_validate(resource)


# --- resources -------------------------------------------------------------------------------
@router.post("/resources", status_code=201, response_model=schemas.Resource)
def register_resource(
    data: schemas.ResourceCreate,
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> schemas.Resource:
    """Register a data resource (draft) with its catalog metadata (CAT-1)."""
    return _r(resource_service.register(session, subject, data))


@router.get("/resources", response_model=schemas.SearchResult)
def search_resources(
    q: str | None = Query(default=None, max_length=200, description="Chinese or English words"),
    provider_id: list[str] = Query(default=[]),
    base_library: list[str] = Query(default=[]),
    share_attribute: list[str] = Query(default=[]),
    open_attribute: list[str] = Query(default=[]),
    grade: list[str] = Query(default=[]),
    format: list[str] = Query(default=[]),
    update_cycle: list[str] = Query(default=[]),
    limit: int = Query(default=20, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> schemas.SearchResult:
    """Search and browse the catalog with facets (provider, base library, share and open
    attributes, grade, format, update cycle); paginated."""
    filters = {
        "provider_id": provider_id,
        "base_library": base_library,
        "share_attribute": share_attribute,
        "open_attribute": open_attribute,
        "grade": grade,
        "format": format,
        "update_cycle": update_cycle,
    }
    return resource_service.search(session, subject, q, filters, limit, offset)


@router.get("/resources/{resource_id}", response_model=schemas.Resource)
def get_resource(
    resource_id: str, subject: Subject = Depends(READ), session: Session = SESSION
) -> schemas.Resource:
    return _r(resource_service.get(session, subject, resource_id))


@router.patch("/resources/{resource_id}", response_model=schemas.Resource)
def update_resource(
    resource_id: str,
    data: schemas.ResourceUpdate,
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> schemas.Resource:
    """Edit metadata; a published entry goes back to review as a new catalog version."""
    return _r(resource_service.update(session, subject, resource_id, data))


@router.post("/resources/{resource_id}/submit", response_model=schemas.Resource)
def submit_resource(
    resource_id: str, subject: Subject = Depends(EDIT), session: Session = SESSION
) -> schemas.Resource:
    """Submit for review by the data authority."""
    return _r(resource_service.submit(session, subject, resource_id))


@router.post("/resources/{resource_id}/publish", response_model=schemas.Resource)
def publish_resource(
    resource_id: str,
    body: schemas.PublishSeen | None = None,
    subject: Subject = Depends(REVIEW),
    session: Session = SESSION,
) -> schemas.Resource:
    """Publish (data authority); the first publication issues the registration code. A
    无条件开放 resource with data must pass the publication check (409 ``open_check_failed``);
    send the ``version_id`` and ``findings_digest`` you reviewed (``GET
    /resources/{id}/publication-check``) to be refused when they changed (409
    ``stale_findings``)."""
    seen = body or schemas.PublishSeen()
    return _r(
        resource_service.publish(
            session,
            subject,
            resource_id,
            version_id=seen.version_id,
            findings_digest=seen.findings_digest,
        )
    )


@router.post("/resources/{resource_id}/return", response_model=schemas.Resource)
def return_resource(
    resource_id: str,
    body: schemas.Reason,
    subject: Subject = Depends(REVIEW),
    session: Session = SESSION,
) -> schemas.Resource:
    """Return to the provider with reasons."""
    return _r(resource_service.send_back(session, subject, resource_id, body.reason))


@router.post("/resources/{resource_id}/retire", response_model=schemas.Resource)
def retire_resource(
    resource_id: str,
    body: schemas.Reason,
    subject: Subject = Depends(
        require("data_officer", "cdo", "reviewer", "platform_admin", scope="catalog:write")
    ),
    session: Session = SESSION,
) -> schemas.Resource:
    """Retire (撤销) a resource."""
    return _r(resource_service.retire(session, subject, resource_id, body.reason))


@router.get(
    "/resources/{resource_id}/catalog-versions", response_model=list[schemas.CatalogVersion]
)
def catalog_versions(
    resource_id: str, subject: Subject = Depends(READ), session: Session = SESSION
) -> list[schemas.CatalogVersion]:
    """Every submitted version of the catalog entry with its diff to the one before."""
    return [
        schemas.CatalogVersion.model_validate(v)
        for v in resource_service.versions(session, subject, resource_id)
    ]


@router.get("/registrations/{code}", response_model=schemas.Registration)
def registration(
    code: str, _: None = Depends(PUBLIC), session: Session = SESSION
) -> schemas.Registration:
    """Public lookup of a unified registration code 登记编码 (CAT-6)."""
    return resource_service.registration(session, code)


# --- data: versions, uploads, pulls, jobs -------------------------------------------------------
@router.get("/resources/{resource_id}/versions", response_model=list[schemas.DatasetVersion])
def dataset_versions(
    resource_id: str, subject: Subject = Depends(READ), session: Session = SESSION
) -> list[schemas.DatasetVersion]:
    """Immutable dataset versions, newest first, each with its state (staged, accepted,
    rejected) and whether it is the current one (provider and data authority only)."""
    versions = dataset_service.versions(session, subject, resource_id)
    current = resource_service.get(session, subject, resource_id).current_version_id
    out = [schemas.DatasetVersion.model_validate(v) for v in versions]
    for v in out:
        v.current = v.id == current
    return out


@router.get("/dataset-versions/{version_id}", response_model=schemas.DatasetVersionDetail)
def dataset_version(
    version_id: str, subject: Subject = Depends(READ), session: Session = SESSION
) -> schemas.DatasetVersionDetail:
    """A version with its profile: row count, nulls, distinct estimate, min/max, sample."""
    version = dataset_service.version(session, subject, version_id)
    out = schemas.DatasetVersionDetail.model_validate(version)
    out.current = _is_current(session, subject, version)
    return out


def _is_current(session: Session, subject: Subject, version: Any) -> bool:
    resource = resource_service.get(session, subject, version.resource_id)
    return resource.current_version_id == version.id


def _version_out(session: Session, subject: Subject, version: Any) -> schemas.DatasetVersion:
    out = schemas.DatasetVersion.model_validate(version)
    out.current = _is_current(session, subject, version)
    return out


@router.get("/staged-versions", response_model=Page[schemas.StagedVersion])
def staged_versions(
    limit: int = Query(default=20, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> Page[schemas.StagedVersion]:
    """New versions of published resources waiting for a reviewer, oldest first (every
    unit's for the data authority, the unit's own for its staff)."""
    rows, total = dataset_service.staged(session, subject, limit, offset)
    items = [
        schemas.StagedVersion(
            version=schemas.DatasetVersion.model_validate(v),
            resource_id=r.id,
            resource_code=r.code,
            resource_name=r.name,
            provider_id=r.provider_id,
        )
        for v, r in rows
    ]
    return Page[schemas.StagedVersion](items=items, total=total, limit=limit, offset=offset)


@router.post("/dataset-versions/{version_id}/accept", response_model=schemas.DatasetVersion)
def accept_version(
    version_id: str,
    body: schemas.VersionAccept | None = None,
    subject: Subject = Depends(REVIEW),
    session: Session = SESSION,
) -> schemas.DatasetVersion:
    """Accept a staged version (data authority): it becomes current and grants, open data
    and the portal serve it. 409 ``version_not_staged`` when it is not waiting."""
    reason = body.reason if body else None
    return _version_out(session, subject, accept_version_task(session, subject, version_id, reason))


@router.post("/dataset-versions/{version_id}/reject", response_model=schemas.DatasetVersion)
def reject_version(
    version_id: str,
    body: schemas.VersionReject,
    subject: Subject = Depends(REVIEW),
    session: Session = SESSION,
) -> schemas.DatasetVersion:
    """Reject a staged version with a reason (data authority): it is never served."""
    version = reject_version_task(session, subject, version_id, body.reason)
    return _version_out(session, subject, version)


@router.post("/resources/{resource_id}/rollback", response_model=schemas.DatasetVersion)
def rollback_resource(
    resource_id: str,
    body: schemas.Rollback,
    subject: Subject = Depends(ROLLBACK),
    session: Session = SESSION,
) -> schemas.DatasetVersion:
    """Point the resource back to one of its earlier accepted versions, with a reason (a
    reviewer, or the provider unit's chief data officer 首席数据官); grants then serve it."""
    version = rollback_task(session, subject, resource_id, body.version_id, body.reason)
    return _version_out(session, subject, version)


@router.post("/resources/{resource_id}/versions", status_code=202, response_model=schemas.Job)
def upload_version(
    resource_id: str,
    file: UploadFile = File(description="CSV, TSV, Excel (.xlsx), JSON, NDJSON or Parquet"),
    format: str | None = Form(default=None),
    encoding: str | None = Form(
        default=None, description="Override detection: utf-8, gbk, gb18030"
    ),
    sheet: str | None = Form(default=None),
    wait: bool = Query(default=False, description="Ingest before answering (small files)"),
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> schemas.Job:
    """Upload a file as a new version. The ingest runs as a job; poll ``/jobs/{id}``."""

    def write(path: Any) -> None:
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out, length=1 << 20)

    options = {k: v for k, v in (("format", format), ("encoding", encoding), ("sheet", sheet)) if v}
    job = dataset_service.stage_upload(
        session, subject, resource_id, file.filename or "upload", write, options
    )
    return schemas.Job.model_validate(runner.dispatch(session, job.id, wait))


@router.post("/resources/{resource_id}/uploads", status_code=201, response_model=schemas.Upload)
def open_upload(
    resource_id: str,
    data: schemas.UploadCreate,
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> schemas.Upload:
    """Start a chunked, resumable upload of a large file."""
    return schemas.Upload.model_validate(
        dataset_service.open_upload(session, subject, resource_id, data)
    )


@router.get("/uploads/{upload_id}", response_model=schemas.Upload)
def get_upload(
    upload_id: str, subject: Subject = Depends(EDIT), session: Session = SESSION
) -> schemas.Upload:
    """How many bytes have arrived: resume from ``received``."""
    return schemas.Upload.model_validate(dataset_service.upload(session, subject, upload_id))


@router.put("/uploads/{upload_id}/chunks", response_model=schemas.Upload)
async def put_chunk(
    upload_id: str,
    request: Request,
    offset: int = Query(ge=0),
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> schemas.Upload:
    """Append the request body at ``offset`` (409 with the expected offset otherwise)."""
    chunk = await request.body()
    return schemas.Upload.model_validate(
        dataset_service.append_chunk(session, subject, upload_id, offset, chunk)
    )


@router.post("/uploads/{upload_id}/complete", status_code=202, response_model=schemas.Job)
def complete_upload(
    upload_id: str,
    wait: bool = Query(default=False),
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> schemas.Job:
    """All bytes are in: ingest them as a new version."""
    job = dataset_service.complete_upload(session, subject, upload_id)
    return schemas.Job.model_validate(runner.dispatch(session, job.id, wait))


@router.post("/resources/{resource_id}/pulls", status_code=202)
def request_pull(
    resource_id: str,
    data: schemas.PullCreate,
    wait: bool = Query(default=False),
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> dict[str, Any]:
    """Pull from a database (SQLAlchemy URL + table or query) or an HTTP CSV/JSON endpoint, now
    or on a cron schedule."""
    made = dataset_service.request_pull(session, subject, resource_id, data)
    if isinstance(made, PullSchedule):
        return {"schedule": schemas.Schedule.model_validate(made).model_dump(mode="json")}
    job = runner.dispatch(session, made.id, wait)
    return {"job": schemas.Job.model_validate(job).model_dump(mode="json")}


@router.get("/jobs/{job_id}", response_model=schemas.Job)
def get_job(
    job_id: str, subject: Subject = Depends(READ), session: Session = SESSION
) -> schemas.Job:
    """An ingest job's status and progress."""
    return schemas.Job.model_validate(dataset_service.job(session, subject, job_id))


@router.get("/resources/{resource_id}/jobs", response_model=Page[schemas.Job])
def list_jobs(
    resource_id: str,
    limit: int = Query(default=20, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> Page[schemas.Job]:
    items, total = dataset_service.jobs(session, subject, resource_id, limit, offset)
    return page_of(schemas.Job, items, total, limit, offset)


@router.post("/jobs/{job_id}/retry", status_code=202, response_model=schemas.Job)
def retry_job(
    job_id: str,
    wait: bool = Query(default=False),
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> schemas.Job:
    """Run a failed ingest again."""
    job = dataset_service.retry(session, subject, job_id)
    return schemas.Job.model_validate(runner.dispatch(session, job.id, wait))


# --- census 普查 / 台账 and acceptance -----------------------------------------------------
@router.get("/census")
def census_counts(
    org_id: str | None = None,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> dict[str, Any]:
    """Resource counts by status and attribute, for one unit or the whole city."""
    return census.counts(session, subject, org_id)


@router.get("/census/export")
def census_export(
    format: str = Query(default="csv", pattern="^(csv|xlsx)$"),
    org_id: str | None = None,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> Response:
    """The resource ledger 资源台账 as CSV or Excel."""
    body, media, name = census.export(session, subject, org_id, format)
    return Response(
        body, media_type=media, headers={"Content-Disposition": f"attachment; filename={name}"}
    )


@router.get("/acceptance", response_model=schemas.Acceptance)
def acceptance(
    system: str = Query(min_length=1, max_length=200),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> schemas.Acceptance:
    """Project acceptance check: are an information system's resources catalogued, ingested
    and registered?"""
    return census.acceptance(session, subject, system)


# --- demand lists 供需清单 -----------------------------------------------------------------------
@router.post("/demands", status_code=201, response_model=schemas.Demand)
def post_demand(
    data: schemas.DemandCreate,
    subject: Subject = Depends(require(scope="catalog:write")),
    session: Session = SESSION,
) -> schemas.Demand:
    """Post a data demand: what is wanted, for which scenario, which fields."""
    return schemas.Demand.model_validate(demand_service.post(session, subject, data))


@router.get("/demands", response_model=Page[schemas.Demand])
def list_demands(
    status: str | None = None,
    limit: int = Query(default=20, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> Page[schemas.Demand]:
    items, total = demand_service.list(session, subject, status, limit, offset)
    return page_of(schemas.Demand, items, total, limit, offset)


@router.get("/demands/{demand_id}", response_model=schemas.Demand)
def get_demand(
    demand_id: str, subject: Subject = Depends(READ), session: Session = SESSION
) -> schemas.Demand:
    return schemas.Demand.model_validate(demand_service.get(session, subject, demand_id))


@router.post("/demands/{demand_id}/answers", status_code=201, response_model=schemas.Demand)
def answer_demand(
    demand_id: str,
    data: schemas.DemandAnswerCreate,
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> schemas.Demand:
    """A provider answers: link one of its resources, or decline with a reason."""
    return schemas.Demand.model_validate(demand_service.answer(session, subject, demand_id, data))


@router.post("/demands/{demand_id}/close", response_model=schemas.Demand)
def close_demand(
    demand_id: str,
    subject: Subject = Depends(require(scope="catalog:write")),
    session: Session = SESSION,
) -> schemas.Demand:
    """The requesting unit (or the data authority) closes its demand."""
    return schemas.Demand.model_validate(demand_service.close(session, subject, demand_id))
