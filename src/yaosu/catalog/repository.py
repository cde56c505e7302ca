"""Every catalog query. Reads of resources go through ``readable_resources``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from yaosu.identity.subject import Subject
from yaosu.models.catalog import (
    CatalogVersion,
    CodeSequence,
    DatasetVersion,
    Demand,
    IngestJob,
    PullSchedule,
    Registration,
    Resource,
    SearchTerm,
    UploadSession,
)

CATALOG_STAFF = frozenset({"platform_admin", "reviewer", "auditor"})
FACETS = (
    "provider_id",
    "base_library",
    "share_attribute",
    "open_attribute",
    "grade",
    "format",
    "update_cycle",
)


def readable_resources(subject: Subject) -> Select:
    """Published entries are the city's catalog, visible to every signed-in unit; drafts and
    entries under review only to their provider and to the data authority."""
    stmt = select(Resource)
    if subject.roles & CATALOG_STAFF:
        return stmt
    return stmt.where(or_(Resource.status == "published", Resource.provider_id == subject.org_id))


def readable_resource(session: Session, subject: Subject, resource_id: str) -> Resource | None:
    return session.execute(
        readable_resources(subject).where(Resource.id == resource_id)
    ).scalar_one_or_none()


def lock_resource(session: Session, resource_id: str) -> None:
    """Hold the resource's row until the transaction ends (PostgreSQL ``FOR UPDATE``)."""
    session.execute(select(Resource.id).where(Resource.id == resource_id).with_for_update()).first()


def lock_job(session: Session, job_id: str) -> None:
    """Hold the ingest job's row until the transaction ends (PostgreSQL ``FOR UPDATE``)."""
    session.execute(select(IngestJob.id).where(IngestJob.id == job_id).with_for_update()).first()


def lock_demand(session: Session, demand_id: str) -> None:
    """Hold the demand's row until the transaction ends (PostgreSQL ``FOR UPDATE``)."""
    session.execute(select(Demand.id).where(Demand.id == demand_id).with_for_update()).first()


def get_resource(session: Session, resource_id: str) -> Resource | None:
    return session.get(Resource, resource_id)


def resource_id_by_code(session: Session, code: str) -> str | None:
    found = session.execute(select(Resource.id).where(Resource.code == code)).scalar_one_or_none()
    return str(found) if found else None


def same_entry(
    session: Session, provider_id: str, classification_code: str, name: str
) -> Resource | None:
    """A live (not retired) resource of the unit with this name under this classification."""
    return session.execute(
        select(Resource)
        .where(
            Resource.provider_id == provider_id,
            Resource.classification_code == classification_code,
            Resource.name == name,
            Resource.status != "retired",
        )
        .order_by(Resource.created_at)
        .limit(1)
    ).scalar_one_or_none()


def resource_by_registration(session: Session, code: str) -> tuple[Registration, Resource] | None:
    row = session.execute(
        select(Registration, Resource)
        .join(Resource, Resource.id == Registration.resource_id)
        .where(Registration.code == code)
    ).first()
    return (row[0], row[1]) if row else None


def next_sequence(session: Session, prefix: str) -> int:
    """Allocate the next number for ``prefix``; the row lock serializes concurrent writers."""
    updated = session.execute(
        update(CodeSequence)
        .where(CodeSequence.prefix == prefix)
        .values(last=CodeSequence.last + 1)
        .returning(CodeSequence.last)
    ).scalar_one_or_none()
    if updated is not None:
        return int(updated)
    session.add(CodeSequence(prefix=prefix, last=1))
    session.flush()
    return 1


def catalog_versions(session: Session, resource_id: str) -> list[CatalogVersion]:
    return list(
        session.execute(
            select(CatalogVersion)
            .where(CatalogVersion.resource_id == resource_id)
            .order_by(CatalogVersion.version)
        ).scalars()
    )


def latest_catalog_version(session: Session, resource_id: str) -> CatalogVersion | None:
    return session.execute(
        select(CatalogVersion)
        .where(CatalogVersion.resource_id == resource_id)
        .order_by(CatalogVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()


# --- search ------------------------------------------------------------------------------------
def replace_terms(session: Session, resource_id: str, weights: dict[str, int]) -> None:
    session.execute(delete(SearchTerm).where(SearchTerm.resource_id == resource_id))
    if weights:
        session.execute(
            insert(SearchTerm),
            [{"term": t, "resource_id": resource_id, "weight": w} for t, w in weights.items()],
        )


# --- dataset versions, jobs, uploads, schedules ---------------------------------------------------
def dataset_versions(session: Session, resource_id: str) -> list[DatasetVersion]:
    return list(
        session.execute(
            select(DatasetVersion)
            .where(DatasetVersion.resource_id == resource_id)
            .order_by(DatasetVersion.number.desc())
        ).scalars()
    )


def staged_versions(
    session: Session, provider_id: str | None, limit: int, offset: int
) -> tuple[list[tuple[DatasetVersion, Resource]], int]:
    """Staged versions waiting for a reviewer, oldest first (one unit's, or all with None)."""
    stmt = (
        select(DatasetVersion, Resource)
        .join(Resource, Resource.id == DatasetVersion.resource_id)
        .where(DatasetVersion.state == "staged")
    )
    if provider_id is not None:
        stmt = stmt.where(Resource.provider_id == provider_id)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(DatasetVersion.created_at, DatasetVersion.id).limit(limit).offset(offset)
    ).all()
    return [(v, r) for v, r in rows], int(total)


def lock_version(session: Session, version_id: str) -> None:
    """Hold the dataset version's row until the transaction ends (PostgreSQL ``FOR UPDATE``)."""
    session.execute(
        select(DatasetVersion.id).where(DatasetVersion.id == version_id).with_for_update()
    ).first()


def next_version_number(session: Session, resource_id: str) -> int:
    current = session.execute(
        select(func.max(DatasetVersion.number)).where(DatasetVersion.resource_id == resource_id)
    ).scalar_one()
    return int(current or 0) + 1


def jobs_of(
    session: Session, resource_id: str, limit: int, offset: int
) -> tuple[list[IngestJob], int]:
    stmt = select(IngestJob).where(IngestJob.resource_id == resource_id)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(IngestJob.created_at.desc(), IngestJob.id.desc()).limit(limit).offset(offset)
    ).scalars()
    return list(rows), int(total)


def list_resources(
    session: Session,
    subject: Subject,
    *,
    status: Sequence[str] | None,
    provider_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Resource], int]:
    """Readable resources by status and provider, most recently changed first."""
    stmt = readable_resources(subject)
    if status:
        stmt = stmt.where(Resource.status.in_(list(status)))
    if provider_id:
        stmt = stmt.where(Resource.provider_id == provider_id)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(Resource.updated_at.desc(), Resource.id).limit(limit).offset(offset)
    ).scalars()
    return list(rows), int(total)


def recent_jobs(session: Session, subject: Subject, limit: int) -> list[tuple[IngestJob, str]]:
    """The newest ingest jobs the subject may see (its unit's; all for the data authority),
    with their resource's name."""
    stmt = select(IngestJob, Resource.name).join(Resource, Resource.id == IngestJob.resource_id)
    if not subject.roles & CATALOG_STAFF:
        stmt = stmt.where(Resource.provider_id == subject.org_id)
    rows = session.execute(
        stmt.order_by(IngestJob.created_at.desc(), IngestJob.id.desc()).limit(limit)
    ).all()
    return [(job, str(name)) for job, name in rows]


def stale_running_jobs(session: Session) -> list[IngestJob]:
    return list(
        session.execute(
            select(IngestJob).where(IngestJob.status.in_(("queued", "running")))
        ).scalars()
    )


def due_schedules(session: Session, now: Any) -> list[PullSchedule]:
    return list(
        session.execute(
            select(PullSchedule).where(
                PullSchedule.enabled.is_(True), PullSchedule.next_run_at <= now
            )
        ).scalars()
    )


def schedules_of(session: Session, resource_id: str) -> list[PullSchedule]:
    return list(
        session.execute(
            select(PullSchedule)
            .where(PullSchedule.resource_id == resource_id)
            .order_by(PullSchedule.created_at.desc(), PullSchedule.id)
        ).scalars()
    )


def upload(session: Session, upload_id: str) -> UploadSession | None:
    return session.get(UploadSession, upload_id)


# --- census and demands ---------------------------------------------------------------------------
def census_counts(session: Session, subject: Subject, org_id: str | None) -> dict[str, Any]:
    base = readable_resources(subject)
    if org_id:
        base = base.where(Resource.provider_id == org_id)
    ids = base.with_only_columns(Resource.id).subquery()
    out: dict[str, Any] = {
        "total": int(session.execute(select(func.count()).select_from(ids)).scalar_one())
    }
    for key in (
        "status",
        "share_attribute",
        "open_attribute",
        "base_library",
        "update_cycle",
        "grade",
        "provider_id",
    ):
        col = getattr(Resource, key)
        rows = session.execute(
            select(col, func.count()).where(Resource.id.in_(select(ids.c.id))).group_by(col)
        ).all()
        out[key] = {str(v) if v is not None else "": int(c) for v, c in rows}
    ingested = session.execute(
        select(func.count(func.distinct(DatasetVersion.resource_id))).where(
            DatasetVersion.resource_id.in_(select(ids.c.id))
        )
    ).scalar_one()
    out["ingested"] = int(ingested)
    return out


def ledger_rows(session: Session, subject: Subject, org_id: str | None) -> list[Resource]:
    stmt = readable_resources(subject)
    if org_id:
        stmt = stmt.where(Resource.provider_id == org_id)
    return list(session.execute(stmt.order_by(Resource.provider_id, Resource.code)).scalars())


def resources_of_system(session: Session, subject: Subject, system: str) -> list[Resource]:
    return list(
        session.execute(
            readable_resources(subject)
            .where(Resource.source_system == system)
            .order_by(Resource.code)
        ).scalars()
    )


def source_systems(session: Session, subject: Subject) -> list[str]:
    """The information systems 信息系统 named as sources by the resources the subject reads."""
    ids = readable_resources(subject).with_only_columns(Resource.id).subquery()
    rows = session.execute(
        select(Resource.source_system)
        .where(Resource.id.in_(select(ids.c.id)), Resource.source_system.is_not(None))
        .distinct()
        .order_by(Resource.source_system)
    ).scalars()
    return [str(r) for r in rows if r]


def has_versions(session: Session, resource_ids: Sequence[str]) -> set[str]:
    if not resource_ids:
        return set()
    rows = session.execute(
        select(DatasetVersion.resource_id).where(DatasetVersion.resource_id.in_(list(resource_ids)))
    ).scalars()
    return set(rows)


def readable_demands(subject: Subject) -> Select:
    """Demands are visible to every signed-in unit: the list exists to be matched."""
    return select(Demand)


def list_demands(
    session: Session, subject: Subject, status: str | None, limit: int, offset: int
) -> tuple[list[Demand], int]:
    stmt = readable_demands(subject)
    if status:
        stmt = stmt.where(Demand.status == status)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(Demand.created_at.desc(), Demand.id).limit(limit).offset(offset)
    )
    return list(rows.scalars()), int(total)


# --- the in-process search index's reads -------------------------------------------------------
# (id, code, name, provider_id, status, published_at, updated_at, *the other six facets)
INDEX_COLUMNS = (
    Resource.id,
    Resource.code,
    Resource.name,
    Resource.provider_id,
    Resource.status,
    Resource.published_at,
    Resource.updated_at,
    *(getattr(Resource, k) for k in FACETS if k != "provider_id"),
)


def index_rows(session: Session, ids: Sequence[str] | None = None) -> tuple[list[Any], list[Any]]:
    """Resources (search columns) and their terms: all of them, or those with the given ids."""
    stmt = select(*INDEX_COLUMNS)
    terms = select(SearchTerm.resource_id, SearchTerm.term, SearchTerm.weight)
    if ids is not None:
        stmt = stmt.where(Resource.id.in_(list(ids)))
        terms = terms.where(SearchTerm.resource_id.in_(list(ids)))
    return list(session.execute(stmt).all()), list(session.execute(terms).all())


def resources_by_ids(session: Session, ids: Sequence[str]) -> list[Resource]:
    if not ids:
        return []
    found = {
        r.id: r
        for r in session.execute(select(Resource).where(Resource.id.in_(list(ids)))).scalars()
    }
    return [found[i] for i in ids if i in found]


def published_count(session: Session, org_id: str | None) -> int:
    stmt = select(func.count()).select_from(Resource).where(Resource.status == "published")
    if org_id is not None:
        stmt = stmt.where(Resource.provider_id == org_id)
    return int(session.execute(stmt).scalar_one())
