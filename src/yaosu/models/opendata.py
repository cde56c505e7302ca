"""Open-data tables: published open distributions of a version (with their SHA-256 and download
count), public demands 问需于民 with their answers, and reuses 成果展示 built on open data.

Conditional-open applications 有条件开放申请 are share requests with ``channel = "open"``
(``models.sharing.ShareRequest``): the same review, narrowing and grant path."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yaosu.models.base import Base, Id, PortableJSON, created_column, id_column


class OpenDistribution(Base):
    """A downloadable file of an open resource's version: the version de-identified under the
    default policy of its classification, in one format. Immutable, like the version."""

    __tablename__ = "open_distributions"
    __table_args__ = (UniqueConstraint("version_id", "format", "policy_digest"),)

    id: Mapped[str] = id_column()
    resource_id: Mapped[str] = mapped_column(Id, ForeignKey("resources.id"), index=True)
    version_id: Mapped[str] = mapped_column(Id, ForeignKey("dataset_versions.id"))
    format: Mapped[str] = mapped_column(String(16))
    policy_digest: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = created_column()


class PublicDemand(Base):
    """A dataset asked for by the public 问需于民 (OPN-3); demand and answer are public."""

    __tablename__ = "public_demands"

    id: Mapped[str] = id_column()
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    wanted_fields: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    requester_name: Mapped[str | None] = mapped_column(String(100))
    contact: Mapped[str | None] = mapped_column(String(200))  # never shown publicly
    user_id: Mapped[str | None] = mapped_column(Id)
    provider_id: Mapped[str | None] = mapped_column(Id, ForeignKey("organizations.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)  # open|answered|declined
    answer: Mapped[str | None] = mapped_column(Text)
    resource_id: Mapped[str | None] = mapped_column(Id, ForeignKey("resources.id"))
    answered_by: Mapped[str | None] = mapped_column(Id)
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_column()


class Reuse(Base):
    """An app, paper or visualization built on open data 成果展示; shown once approved."""

    __tablename__ = "reuses"

    id: Mapped[str] = id_column()
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # app|paper|visualization|other
    url: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    resource_ids: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    author: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str | None] = mapped_column(Id)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|shown|rejected
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    created_at: Mapped[datetime] = created_column()
