"""Sharing tables: share requests 共享申请, grants 授权 with their policy, exact per-day usage and
refusal counters, subscriptions and webhook deliveries, responsibility items 共享责任清单."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yaosu.models.base import Base, Id, PortableJSON, created_column, id_column


class ShareRequest(Base):
    """A consumer unit's request for a published resource, through provider and authority
    review (or approved automatically)."""

    __tablename__ = "share_requests"

    id: Mapped[str] = id_column()
    resource_id: Mapped[str] = mapped_column(Id, ForeignKey("resources.id"), index=True)
    provider_id: Mapped[str] = mapped_column(Id, ForeignKey("organizations.id"), index=True)
    consumer_id: Mapped[str] = mapped_column(Id, ForeignKey("organizations.id"), index=True)
    fields: Mapped[list[str]] = mapped_column(PortableJSON)
    purpose: Mapped[str] = mapped_column(String(32))
    purpose_text: Mapped[str] = mapped_column(Text, default="")
    scenario: Mapped[str | None] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    term_days: Mapped[int] = mapped_column(Integer)
    delivery_mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), index=True)
    # "sharing" (政务共享, between government units) or "open" (有条件开放 application).
    channel: Mapped[str] = mapped_column(String(16), default="sharing", index=True)
    research_plan: Mapped[str | None] = mapped_column(Text)
    auto_approved: Mapped[bool] = mapped_column(default=False)
    deadline_at: Mapped[datetime | None]
    decisions: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    narrowed: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    refusal: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON)
    grant_id: Mapped[str | None] = mapped_column(Id)
    requested_by: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()


class Grant(Base):
    """What a consumer may do with a resource: an ODRL policy checked on every call."""

    __tablename__ = "grants"

    id: Mapped[str] = id_column()
    request_id: Mapped[str | None] = mapped_column(Id, index=True)
    resource_id: Mapped[str] = mapped_column(Id, ForeignKey("resources.id"), index=True)
    provider_id: Mapped[str] = mapped_column(Id, ForeignKey("organizations.id"), index=True)
    consumer_id: Mapped[str] = mapped_column(Id, ForeignKey("organizations.id"), index=True)
    policy: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    status: Mapped[str] = mapped_column(String(16), index=True)  # active|suspended|revoked
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    delivery_mode: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Personal fields released without their default masking by a reviewer, each with the
    # reason (field → {reason, pi_class, stage, by, at, law}); None when nothing was lifted.
    unmasked: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON)
    created_by: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()


class GrantUsage(Base):
    """Calls, rows and bytes of a grant on one day of the node's time zone (``YAOSU_TIMEZONE``);
    incremented atomically in SQL."""

    __tablename__ = "grant_usage"

    grant_id: Mapped[str] = mapped_column(Id, ForeignKey("grants.id"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD (node-local)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class GrantRefusal(Base):
    """Refused calls of a grant per day and reason code (for usage charts and risk alerts)."""

    __tablename__ = "grant_refusals"

    grant_id: Mapped[str] = mapped_column(Id, ForeignKey("grants.id"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    code: Mapped[str] = mapped_column(String(48), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class GrantRateCall(Base):
    """One call admitted under a grant's per-minute rate, kept for 60 seconds: the sliding window
    that every server process shares (admission reads and writes it under the grant's lock)."""

    __tablename__ = "grant_rate_calls"

    id: Mapped[str] = id_column()
    grant_id: Mapped[str] = mapped_column(Id, ForeignKey("grants.id"), index=True)
    at_us: Mapped[int] = mapped_column(BigInteger)  # admission time, microseconds since epoch


class Subscription(Base):
    """A consumer's webhook for new versions of a granted resource; the HMAC secret is sealed
    under the node key."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = id_column()
    grant_id: Mapped[str] = mapped_column(Id, ForeignKey("grants.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_column()


class WebhookDelivery(Base):
    """One signed notification of a new version to a subscriber, with its attempts."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = id_column()
    subscription_id: Mapped[str] = mapped_column(Id, ForeignKey("subscriptions.id"), index=True)
    grant_id: Mapped[str] = mapped_column(Id, index=True)
    version_id: Mapped[str] = mapped_column(Id)
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_column()
    delivered_at: Mapped[datetime | None]


class ResponsibilityItem(Base):
    """A line of a unit's sharing responsibility list 共享责任清单: data it must provide, by when,
    on what basis; fulfilled when a published resource is linked."""

    __tablename__ = "responsibility_items"

    id: Mapped[str] = id_column()
    org_id: Mapped[str] = mapped_column(Id, ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    basis: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime]
    resource_id: Mapped[str | None] = mapped_column(Id, ForeignKey("resources.id"))
    created_by: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = created_column()
    fulfilled_at: Mapped[datetime | None]
