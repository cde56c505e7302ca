"""Organizations, users, roles, API tokens, organization keys and admissions (准入)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yaosu.models.base import Base, Id, PortableJSON, created_column, id_column


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    gov_level: Mapped[str | None] = mapped_column(String(16))
    parent_id: Mapped[str | None] = mapped_column(Id, ForeignKey("organizations.id"), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    region_code: Mapped[str | None] = mapped_column(String(12))
    service_types: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    status: Mapped[str] = mapped_column(String(16), index=True)
    did: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()

    keys: Mapped[list[OrgKey]] = relationship(back_populates="org", order_by="OrgKey.created_at")


class OrgKey(Base):
    """An organization's Ed25519 key pair; the private half is sealed with the node key."""

    __tablename__ = "org_keys"

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(Id, ForeignKey("organizations.id"), index=True)
    algorithm: Mapped[str] = mapped_column(String(16), default="Ed25519")
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_private: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = created_column()
    revoked_at: Mapped[datetime | None]

    org: Mapped[Organization] = relationship(back_populates="keys")


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(Id, ForeignKey("organizations.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_column()
    last_login_at: Mapped[datetime | None]

    roles: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )
    org: Mapped[Organization] = relationship(lazy="joined")

    @property
    def role_names(self) -> list[str]:
        return [r.role for r in self.roles]


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[str] = mapped_column(Id, ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class ApiToken(Base):
    """A bearer token: random, shown once, stored as its SHA-256, scoped and expiring."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_kind", "user_id", "kind"),)

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(Id, ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # api | login | session
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    created_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class Admission(Base):
    """An application for admission 准入 as an authorized operator or service provider."""

    __tablename__ = "admissions"

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(Id, ForeignKey("organizations.id"), index=True)
    requested_kind: Mapped[str] = mapped_column(String(32))
    service_types: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    statement: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)
    submitted_at: Mapped[datetime] = created_column()
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(Id, ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)

    org: Mapped[Organization] = relationship(lazy="joined")


class LoginAttempt(Base):
    """Sign-in attempts counted in a fixed window, per account and per address, against password
    guessing; shared by every server process. ``key`` is the SHA-256 of the username or address
    (no personal data is kept), ``attempts`` those not cleared by a successful sign-in."""

    __tablename__ = "login_attempts"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)  # account | address
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
