"""Every open-data query. Public reads of resources go through ``listed_resources``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from yaosu.models.catalog import DatasetVersion, Registration, Resource
from yaosu.models.identity import Organization
from yaosu.models.opendata import OpenDistribution, PublicDemand, Reuse
from yaosu.models.sharing import ShareRequest
from yaosu.opendata.rules import LISTED_OPEN


def listed_resources() -> Select[Any]:
    """What the public may see: published, 无条件开放 or 有条件开放."""
    return select(Resource).where(
        Resource.status == "published", Resource.open_attribute.in_(LISTED_OPEN)
    )


def find_listed(session: Session, ident: str) -> Resource | None:
    """A listed resource by id, resource code or registration code."""
    # One unique-key lookup at a time: an OR over three keys makes SQLite scan by status.
    for key in (Resource.id, Resource.code, Resource.registration_code):
        found = session.execute(listed_resources().where(key == ident)).scalars().first()
        if found is not None:
            return found
    return None


def listed_by_ids(session: Session, ids: Sequence[str]) -> list[Resource]:
    if not ids:
        return []
    found = {
        r.id: r
        for r in session.execute(listed_resources().where(Resource.id.in_(list(ids)))).scalars()
    }
    return [found[i] for i in ids if i in found]


def listed_page(
    session: Session, limit: int, offset: int, provider_id: str | None = None
) -> tuple[list[Resource], int]:
    stmt = listed_resources()
    if provider_id:
        stmt = stmt.where(Resource.provider_id == provider_id)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(Resource.code).limit(limit).offset(offset)).scalars()
    return list(rows), int(total)


def version(session: Session, version_id: str | None) -> DatasetVersion | None:
    return session.get(DatasetVersion, version_id) if version_id else None


def versions_of(session: Session, ids: Sequence[str]) -> dict[str, DatasetVersion]:
    if not ids:
        return {}
    rows = session.execute(select(DatasetVersion).where(DatasetVersion.id.in_(list(ids))))
    return {v.id: v for v in rows.scalars()}


def providers(session: Session) -> list[tuple[Organization, int]]:
    """Organizations with listed resources, and how many."""
    listed = listed_resources().subquery()
    stmt = (
        select(Organization, func.count(listed.c.id))
        .join(listed, listed.c.provider_id == Organization.id)
        .group_by(Organization.id)
        .order_by(func.count(listed.c.id).desc(), Organization.name)
    )
    return [(org, int(n)) for org, n in session.execute(stmt).all()]


def provider(session: Session, org_id: str) -> Organization | None:
    return session.get(Organization, org_id)


def distribution(
    session: Session, version_id: str, fmt: str, policy_digest: str
) -> OpenDistribution | None:
    return session.execute(
        select(OpenDistribution).where(
            OpenDistribution.version_id == version_id,
            OpenDistribution.format == fmt,
            OpenDistribution.policy_digest == policy_digest,
        )
    ).scalar_one_or_none()


def distributions_of(session: Session, version_id: str) -> list[OpenDistribution]:
    """Every open file written of a version (under any policy: the caller keeps the current)."""
    return list(
        session.execute(
            select(OpenDistribution).where(OpenDistribution.version_id == version_id)
        ).scalars()
    )


def count_download(session: Session, distribution_id: str) -> None:
    session.execute(
        update(OpenDistribution)
        .where(OpenDistribution.id == distribution_id)
        .values(downloads=OpenDistribution.downloads + 1)
    )


def registration(session: Session, code: str) -> Registration | None:
    return session.get(Registration, code)


def figures(session: Session) -> dict[str, int]:
    listed = listed_resources().subquery()
    datasets, providers_n = session.execute(
        select(func.count(listed.c.id), func.count(func.distinct(listed.c.provider_id)))
    ).one()
    downloadable, rows = session.execute(
        select(func.count(DatasetVersion.id), func.coalesce(func.sum(DatasetVersion.rows), 0))
        .join(listed, listed.c.current_version_id == DatasetVersion.id)
        .where(listed.c.open_attribute == "unconditional")
    ).one()
    downloads = session.execute(
        select(func.coalesce(func.sum(OpenDistribution.downloads), 0))
    ).scalar_one()
    applications = session.execute(
        select(func.count()).select_from(ShareRequest).where(ShareRequest.channel == "open")
    ).scalar_one()
    demands = session.execute(select(func.count()).select_from(PublicDemand)).scalar_one()
    reuses = session.execute(
        select(func.count()).select_from(Reuse).where(Reuse.status == "shown")
    ).scalar_one()
    return {
        "datasets": int(datasets),
        "downloadable": int(downloadable),
        "providers": int(providers_n),
        "rows": int(rows),
        "downloads": int(downloads),
        "applications": int(applications),
        "demands": int(demands),
        "reuses": int(reuses),
    }


def demands(
    session: Session, status: str | None, limit: int, offset: int
) -> tuple[list[PublicDemand], int]:
    stmt = select(PublicDemand)
    if status:
        stmt = stmt.where(PublicDemand.status == status)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(PublicDemand.created_at.desc(), PublicDemand.id).limit(limit).offset(offset)
    ).scalars()
    return list(rows), int(total)


def reuses(
    session: Session, status: str | None, limit: int, offset: int, resource_id: str | None = None
) -> tuple[list[Reuse], int]:
    stmt = select(Reuse)
    if status:
        stmt = stmt.where(Reuse.status == status)
    rows_all = list(session.execute(stmt.order_by(Reuse.created_at.desc(), Reuse.id)).scalars())
    if resource_id:  # resource ids are a JSON list: filtered here, the same on both databases
        rows_all = [r for r in rows_all if resource_id in (r.resource_ids or [])]
    return rows_all[offset : offset + limit], len(rows_all)
