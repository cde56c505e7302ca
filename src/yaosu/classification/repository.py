"""Every query of the classification domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yaosu.models.catalog import DatasetVersion, Resource
from yaosu.models.classification import (
    ImportantDataEntry,
    MaskingPolicyRecord,
    VersionClassification,
)


def of_version(session: Session, version_id: str) -> VersionClassification | None:
    return session.execute(
        select(VersionClassification).where(VersionClassification.version_id == version_id)
    ).scalar_one_or_none()


def before_version(session: Session, resource_id: str, number: int) -> VersionClassification | None:
    """The classification of the resource's latest classified version numbered below
    ``number``."""
    return session.execute(
        select(VersionClassification)
        .join(DatasetVersion, DatasetVersion.id == VersionClassification.version_id)
        .where(DatasetVersion.resource_id == resource_id, DatasetVersion.number < number)
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    ).scalar_one_or_none()


def after_version(
    session: Session, resource_id: str, number: int
) -> Sequence[VersionClassification]:
    """The classifications of the resource's versions numbered above ``number`` (staged
    versions not yet accepted), oldest first."""
    return (
        session.execute(
            select(VersionClassification)
            .join(DatasetVersion, DatasetVersion.id == VersionClassification.version_id)
            .where(DatasetVersion.resource_id == resource_id, DatasetVersion.number > number)
            .order_by(DatasetVersion.number)
        )
        .scalars()
        .all()
    )


def entries(
    session: Session, *, status: str | None, limit: int, offset: int
) -> tuple[Sequence[ImportantDataEntry], int]:
    stmt = select(ImportantDataEntry)
    if status:
        stmt = stmt.where(ImportantDataEntry.status == status)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = (
        session.execute(
            stmt.order_by(ImportantDataEntry.sector, ImportantDataEntry.name, ImportantDataEntry.id)
            .limit(limit)
            .offset(offset)
        )
        .scalars()
        .all()
    )
    return rows, int(total)


def active_entries(session: Session) -> Sequence[ImportantDataEntry]:
    return (
        session.execute(select(ImportantDataEntry).where(ImportantDataEntry.status == "active"))
        .scalars()
        .all()
    )


def policies(session: Session, org_id: str | None) -> Sequence[MaskingPolicyRecord]:
    stmt = select(MaskingPolicyRecord).where(MaskingPolicyRecord.active.is_(True))
    if org_id is not None:
        stmt = stmt.where(MaskingPolicyRecord.org_id == org_id)
    return session.execute(stmt.order_by(MaskingPolicyRecord.name)).scalars().all()


def policy_by_name(session: Session, org_id: str, name: str) -> MaskingPolicyRecord | None:
    return session.execute(
        select(MaskingPolicyRecord).where(
            MaskingPolicyRecord.org_id == org_id,
            MaskingPolicyRecord.name == name,
            MaskingPolicyRecord.active.is_(True),
        )
    ).scalar_one_or_none()


def awaiting_review(
    session: Session, org_id: str | None, limit: int, offset: int = 0
) -> tuple[list[tuple[VersionClassification, Resource]], int]:
    """Proposed classifications of current versions, of one provider unit (or all)."""
    stmt = (
        select(VersionClassification, Resource)
        .join(Resource, Resource.current_version_id == VersionClassification.version_id)
        .where(VersionClassification.status == "proposed")
    )
    if org_id is not None:
        stmt = stmt.where(Resource.provider_id == org_id)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(Resource.code).limit(limit).offset(offset)).all()
    return [(vc, r) for vc, r in rows], int(total)
