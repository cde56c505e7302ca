"""Catalog tables: resources, catalog versions, registrations, dataset versions, ingest jobs,
upload sessions, pull schedules, search terms, demands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yaosu.models.base import Base, Id, PortableJSON, created_column, id_column
from yaosu.models.identity import Organization


class Resource(Base):
    """A data resource 数据资源 in the catalog, with the metadata of CAT-1."""

    __tablename__ = "resources"

    id: Mapped[str] = id_column()
    code: Mapped[str] = mapped_column(String(40), unique=True)
    classification_code: Mapped[str] = mapped_column(String(8), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    provider_id: Mapped[str] = mapped_column(Id, ForeignKey("organizations.id"), index=True)
    provider_code: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str | None] = mapped_column(String(20))
    fields: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    # What one row describes 描述对象 (person, organization, place, event, other); None = not
    # declared (classification infers it from the columns).
    describes: Mapped[str | None] = mapped_column(String(16))
    update_cycle: Mapped[str | None] = mapped_column(String(20))
    base_library: Mapped[str | None] = mapped_column(String(32), index=True)
    theme: Mapped[str | None] = mapped_column(String(100))
    share_attribute: Mapped[str | None] = mapped_column(String(16), index=True)
    share_conditions: Mapped[str | None] = mapped_column(Text)
    share_legal_basis: Mapped[str | None] = mapped_column(Text)
    share_method: Mapped[str | None] = mapped_column(String(16))
    open_attribute: Mapped[str | None] = mapped_column(String(16), index=True)
    source_system: Mapped[str | None] = mapped_column(String(200), index=True)
    authoritative: Mapped[bool] = mapped_column(default=False)
    keywords: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    contact: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    grade: Mapped[str | None] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    catalog_version: Mapped[int] = mapped_column(Integer, default=1)
    return_reason: Mapped[str | None] = mapped_column(Text)
    registration_code: Mapped[str | None] = mapped_column(String(40), unique=True)
    current_version_id: Mapped[str | None] = mapped_column(Id)
    created_by: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()
    published_at: Mapped[datetime | None]

    provider: Mapped[Organization] = relationship(lazy="joined")


class CatalogVersion(Base):
    """Each submitted edit of a resource's metadata, with a readable diff to the previous one."""

    __tablename__ = "catalog_versions"
    __table_args__ = (UniqueConstraint("resource_id", "version"),)

    id: Mapped[str] = id_column()
    resource_id: Mapped[str] = mapped_column(Id, ForeignKey("resources.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    diff: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    created_by: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = created_column()


class Registration(Base):
    """Public data resource registration 公共数据资源登记 with its unified code (CAT-6)."""

    __tablename__ = "registrations"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    resource_id: Mapped[str] = mapped_column(Id, ForeignKey("resources.id"), index=True)
    catalog_version: Mapped[int] = mapped_column(Integer)
    snapshot_sha256: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = created_column()


class CodeSequence(Base):
    """Per-prefix counters for resource and registration codes (locked row = no duplicates)."""

    __tablename__ = "code_sequences"

    prefix: Mapped[str] = mapped_column(String(40), primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger, default=0)


class DatasetVersion(Base):
    """An immutable, content-hashed Parquet version of a resource's data."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("resource_id", "number"),)

    id: Mapped[str] = id_column()
    resource_id: Mapped[str] = mapped_column(Id, ForeignKey("resources.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    rows: Mapped[int] = mapped_column(BigInteger)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    columns: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON)
    profile: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    source: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    # staged (awaiting review) | accepted (may be or become current) | rejected (never served).
    # A new version of a published resource is staged; the resource's ``current_version_id``
    # moves to it only once it is accepted (automatically or by a reviewer).
    state: Mapped[str] = mapped_column(String(16), default="accepted", index=True)
    # How it was decided: initial | automatic | reviewer | rejected.
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Id)
    decided_at: Mapped[datetime | None]
    # Why a staged version waits for a reviewer (schema, classification, grade).
    review_reasons: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    created_by: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = created_column()


class IngestJob(Base):
    """A background ingest (upload, SQL pull, HTTP pull) with visible status and progress."""

    __tablename__ = "ingest_jobs"

    id: Mapped[str] = id_column()
    resource_id: Mapped[str] = mapped_column(Id, ForeignKey("resources.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_total: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON)
    version_id: Mapped[str | None] = mapped_column(Id)
    schedule_id: Mapped[str | None] = mapped_column(Id)
    created_by: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = created_column()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class UploadSession(Base):
    """A chunked, resumable upload: chunks append to a staging file until complete."""

    __tablename__ = "upload_sessions"

    id: Mapped[str] = id_column()
    resource_id: Mapped[str] = mapped_column(Id, ForeignKey("resources.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    options: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(Id)
    created_by: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = created_column()


class PullSchedule(Base):
    """A scheduled pull from a database or HTTP endpoint (cron expression)."""

    __tablename__ = "pull_schedules"

    id: Mapped[str] = id_column()
    resource_id: Mapped[str] = mapped_column(Id, ForeignKey("resources.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    cron: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime]
    last_job_id: Mapped[str | None] = mapped_column(Id)
    created_by: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = created_column()


class SearchTerm(Base):
    """Inverted index of catalog text: CJK bigrams and lower-cased words (same on both DBs)."""

    __tablename__ = "search_terms"
    __table_args__ = (Index("ix_search_terms_resource", "resource_id"),)

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(Id, ForeignKey("resources.id"), primary_key=True)
    weight: Mapped[int] = mapped_column(Integer, default=1)


class Demand(Base):
    """A data demand 数据需求 on the supply-demand list (供需清单)."""

    __tablename__ = "demands"

    id: Mapped[str] = id_column()
    requester_id: Mapped[str] = mapped_column(Id, ForeignKey("organizations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str | None] = mapped_column(String(200))
    wanted_fields: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    provider_id: Mapped[str | None] = mapped_column(Id, ForeignKey("organizations.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_by: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()

    answers: Mapped[list[DemandAnswer]] = relationship(
        lazy="selectin", order_by="DemandAnswer.created_at"
    )


class DemandAnswer(Base):
    __tablename__ = "demand_answers"

    id: Mapped[str] = id_column()
    demand_id: Mapped[str] = mapped_column(Id, ForeignKey("demands.id"), index=True)
    provider_id: Mapped[str] = mapped_column(Id, ForeignKey("organizations.id"))
    decision: Mapped[str] = mapped_column(String(16))  # linked | declined
    resource_id: Mapped[str | None] = mapped_column(Id, ForeignKey("resources.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = created_column()
