"""Classification tables: per-version results with per-field findings and their review, the
important-data catalog 重要数据目录, and named masking policies 脱敏策略."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yaosu.models.base import Base, Id, PortableJSON, created_column, id_column


class VersionClassification(Base):
    """The classification of one dataset version: proposed grade, reviewed grade, the rule table
    used (by digest) and the important-data catalog entries that matched."""

    __tablename__ = "version_classifications"

    id: Mapped[str] = id_column()
    version_id: Mapped[str] = mapped_column(
        Id, ForeignKey("dataset_versions.id"), unique=True, index=True
    )
    resource_id: Mapped[str] = mapped_column(Id, ForeignKey("resources.id"), index=True)
    rows: Mapped[int] = mapped_column(BigInteger)
    proposed_grade: Mapped[str] = mapped_column(String(16))
    proposal: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    grade: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # proposed | accepted | changed
    grade_reason: Mapped[str | None] = mapped_column(Text)
    catalog_entries: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    rules_digest: Mapped[str] = mapped_column(String(80))
    # What a row describes 描述对象 as this classification used it, and where that came from:
    # declared (the catalog), inferred (from the columns) or reviewed (a data officer's
    # correction). Coordinates and addresses in rows about places are not personal.
    describes: Mapped[str | None] = mapped_column(String(16))
    describes_source: Mapped[str | None] = mapped_column(String(16))
    describes_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(Id)
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()

    fields: Mapped[list[FieldClassification]] = relationship(
        lazy="selectin", order_by="FieldClassification.position"
    )


class FieldClassification(Base):
    """What the detectors found in one column, and what the data officer decided."""

    __tablename__ = "field_classifications"
    __table_args__ = (UniqueConstraint("classification_id", "column"),)

    id: Mapped[str] = id_column()
    classification_id: Mapped[str] = mapped_column(
        Id, ForeignKey("version_classifications.id"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(300))
    detected_type: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    non_null: Mapped[int] = mapped_column(BigInteger, default=0)
    valid: Mapped[int] = mapped_column(BigInteger, default=0)
    contains: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    hint: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    reason_zh: Mapped[str] = mapped_column(Text, default="")
    detected_pi_class: Mapped[str] = mapped_column(String(16))
    type: Mapped[str | None] = mapped_column(String(32), index=True)
    pi_class: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # proposed | accepted | changed
    review_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(Id)
    reviewed_at: Mapped[datetime | None]


class ImportantDataEntry(Base):
    """An entry of the node's important-data catalog 重要数据目录, kept by the data authority.
    A resource matches when its classification code starts with one of ``code_prefixes``, its
    resource code is listed, or its name contains one of ``keywords``."""

    __tablename__ = "important_data_entries"

    id: Mapped[str] = id_column()
    sector: Mapped[str] = mapped_column(String(100), index=True)
    region_code: Mapped[str | None] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))  # important | core
    code_prefixes: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    resource_codes: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    basis: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # active | retired
    created_by: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()


class MaskingPolicyRecord(Base):
    """A named masking policy 脱敏策略 (rules per column), owned by an organization."""

    __tablename__ = "masking_policies"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(Id, ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = created_column()
