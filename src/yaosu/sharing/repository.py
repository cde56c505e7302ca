"""Every query of the sharing domain, including the atomic metering statements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from yaosu.identity.subject import Subject
from yaosu.kit.ids import new_id
from yaosu.models.sharing import (
    Grant,
    GrantRateCall,
    GrantRefusal,
    GrantUsage,
    ResponsibilityItem,
    ShareRequest,
    Subscription,
    WebhookDelivery,
)

STAFF = frozenset({"platform_admin", "reviewer", "auditor"})


def readable_requests(subject: Subject) -> Select[Any]:
    """Staff see every request; a unit sees the requests it made and those made to it."""
    stmt = select(ShareRequest)
    if subject.is_system or subject.roles & STAFF:
        return stmt
    return stmt.where(
        or_(ShareRequest.consumer_id == subject.org_id, ShareRequest.provider_id == subject.org_id)
    )


def lock_request(session: Session, request_id: str) -> None:
    """Hold the request's row until the transaction ends (PostgreSQL ``FOR UPDATE``; SQLite
    writers are already serialized), so two decisions on it cannot both pass the state check."""
    session.execute(
        select(ShareRequest.id).where(ShareRequest.id == request_id).with_for_update()
    ).first()


def readable_grants(subject: Subject) -> Select[Any]:
    stmt = select(Grant)
    if subject.is_system or subject.roles & STAFF:
        return stmt
    return stmt.where(or_(Grant.consumer_id == subject.org_id, Grant.provider_id == subject.org_id))


def page(session: Session, stmt: Select[Any], order: Any, limit: int, offset: int) -> Any:
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(*order).limit(limit).offset(offset)).scalars().all()
    return rows, int(total)


def listing(
    session: Session,
    stmt: Select[Any],
    model: type[ShareRequest] | type[Grant],
    org_id: str | None,
    *,
    role: str | None,
    status: str | None,
    limit: int,
    offset: int,
    channel: str | None = None,
) -> Any:
    """A page of readable requests or grants, newest first, optionally only those the unit
    made (``role`` consumer) or received (provider), and of one status."""
    if role == "consumer":
        stmt = stmt.where(model.consumer_id == org_id)
    elif role == "provider":
        stmt = stmt.where(model.provider_id == org_id)
    if status:
        stmt = stmt.where(model.status == status)
    if channel and model is ShareRequest:
        stmt = stmt.where(ShareRequest.channel == channel)
    return page(session, stmt, (model.created_at.desc(), model.id), limit, offset)


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def ensure_usage_row(session: Session, grant_id: str, day: str) -> None:
    ins = _insert(session)(GrantUsage).values(grant_id=grant_id, day=day, calls=0, rows=0, bytes=0)
    session.execute(ins.on_conflict_do_nothing(index_elements=["grant_id", "day"]))


def take_call(session: Session, grant_id: str, day: str, limit: int | None) -> bool:
    """Count one call if the day's call quota allows it; the check and the increment are one
    UPDATE, so concurrent calls can neither overrun the quota nor lose an increment."""
    ensure_usage_row(session, grant_id, day)
    cond = [GrantUsage.grant_id == grant_id, GrantUsage.day == day]
    if limit is not None:
        cond.append(GrantUsage.calls < limit)
    result = session.execute(
        update(GrantUsage).where(and_(*cond)).values(calls=GrantUsage.calls + 1)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def count_call(
    session: Session,
    grant_id: str,
    day: str,
    rows: int,
    nbytes: int,
    calls_limit: int | None,
    rows_limit: int | None,
) -> bool:
    """Count a finished short call (calls, rows and bytes) in one statement, unless it would
    pass a quota: an upsert whose update is conditional, so it is exact under concurrency."""
    ins = _insert(session)(GrantUsage).values(
        grant_id=grant_id, day=day, calls=1, rows=rows, bytes=nbytes
    )
    cond = []
    if calls_limit is not None:
        cond.append(GrantUsage.calls < calls_limit)
    if rows_limit is not None:
        cond.append(GrantUsage.rows + rows <= rows_limit)
    stmt = ins.on_conflict_do_update(
        index_elements=["grant_id", "day"],
        set_={
            "calls": GrantUsage.calls + 1,
            "rows": GrantUsage.rows + rows,
            "bytes": GrantUsage.bytes + nbytes,
        },
        where=and_(*cond) if cond else None,
    )
    if (calls_limit is not None and calls_limit < 1) or (
        rows_limit is not None and rows > rows_limit
    ):
        return False  # a first call of the day cannot pass these either
    # RETURNING, not rowcount: under contention PostgreSQL's rowcount of an upsert whose
    # conditional update was skipped is not reliable (measured: 16 concurrent calls at a quota
    # of 5 all reported a row).
    return session.execute(stmt.returning(GrantUsage.calls)).first() is not None


def take_rows(session: Session, grant_id: str, day: str, wanted: int, limit: int | None) -> int:
    """Reserve up to ``wanted`` rows of the day's row quota; returns how many were reserved
    (with no quota nothing is reserved: rows are counted when the call settles)."""
    if limit is None:
        return 0
    usage = session.execute(
        select(GrantUsage.rows).where(GrantUsage.grant_id == grant_id, GrantUsage.day == day)
    ).scalar_one()
    n = max(0, min(wanted, limit - int(usage)))
    if n == 0:
        return 0
    result = session.execute(
        update(GrantUsage)
        .where(
            GrantUsage.grant_id == grant_id,
            GrantUsage.day == day,
            GrantUsage.rows + n <= limit,
        )
        .values(rows=GrantUsage.rows + n)
    )
    if not result.rowcount:  # type: ignore[attr-defined]  # raced: try again with fresh figures
        return take_rows(session, grant_id, day, wanted, limit)
    return n


def settle(
    session: Session, grant_id: str, day: str, reserved: int, rows: int, nbytes: int
) -> None:
    """After a call: give back the unused row reservation and add the bytes sent."""
    ensure_usage_row(session, grant_id, day)
    session.execute(
        update(GrantUsage)
        .where(GrantUsage.grant_id == grant_id, GrantUsage.day == day)
        .values(rows=GrantUsage.rows + (rows - reserved), bytes=GrantUsage.bytes + nbytes)
    )


RATE_WINDOW_US = 60_000_000  # the per-minute rate counts calls in the last 60 seconds


def lock_grant(session: Session, grant_id: str) -> None:
    """Hold the grant's row until the transaction ends (PostgreSQL ``FOR NO KEY UPDATE``;
    SQLite writers are already serialized by ``BEGIN IMMEDIATE``), so that admissions of one
    grant run one after another, in every server process. ``NO KEY`` leaves the row's key
    share free: rows that reference the grant (usage, refusals) can still be inserted by other
    transactions, which would otherwise wait on this one while it waits on them. Metering
    transactions take their locks in one order — grant, usage, refusals, ledger head."""
    session.execute(
        select(Grant.id).where(Grant.id == grant_id).with_for_update(key_share=True)
    ).first()


def recent_calls(session: Session, grant_id: str, now_us: int) -> tuple[int, int | None]:
    """Calls admitted in the 60 seconds up to ``now_us`` and the time of the oldest of them."""
    n, oldest = session.execute(
        select(func.count(), func.min(GrantRateCall.at_us)).where(
            GrantRateCall.grant_id == grant_id, GrantRateCall.at_us > now_us - RATE_WINDOW_US
        )
    ).one()
    return int(n), (int(oldest) if oldest is not None else None)


def rate_room(session: Session, grant_id: str, now_us: int, limit: int) -> tuple[bool, int | None]:
    """Whether one more call fits the rate at ``now_us`` (and the oldest call in the window).
    Locks the grant and forgets calls older than the window; call ``record_rate_call`` in the
    same transaction when the call is admitted, so the check and the record are one step."""
    lock_grant(session, grant_id)
    session.execute(
        delete(GrantRateCall).where(
            GrantRateCall.grant_id == grant_id, GrantRateCall.at_us <= now_us - RATE_WINDOW_US
        )
    )
    n, oldest = recent_calls(session, grant_id, now_us)
    return n < limit, oldest


def record_rate_call(session: Session, grant_id: str, now_us: int) -> None:
    session.execute(insert(GrantRateCall).values(id=new_id(), grant_id=grant_id, at_us=now_us))


def count_refusal(session: Session, grant_id: str, day: str, code: str) -> None:
    ins = _insert(session)(GrantRefusal).values(grant_id=grant_id, day=day, code=code, count=1)
    session.execute(
        ins.on_conflict_do_update(
            index_elements=["grant_id", "day", "code"],
            set_={"count": GrantRefusal.count + 1},
        )
    )


def usage(session: Session, grant_id: str, day: str) -> GrantUsage | None:
    return session.get(GrantUsage, (grant_id, day))


def usage_series(session: Session, grant_id: str, since: str) -> Sequence[GrantUsage]:
    return (
        session.execute(
            select(GrantUsage)
            .where(GrantUsage.grant_id == grant_id, GrantUsage.day >= since)
            .order_by(GrantUsage.day)
        )
        .scalars()
        .all()
    )


def refusal_series(session: Session, grant_id: str, since: str) -> Sequence[GrantRefusal]:
    return (
        session.execute(
            select(GrantRefusal)
            .where(GrantRefusal.grant_id == grant_id, GrantRefusal.day >= since)
            .order_by(GrantRefusal.day, GrantRefusal.code)
        )
        .scalars()
        .all()
    )


def subscriptions_of_resource(session: Session, resource_id: str) -> Sequence[Subscription]:
    return (
        session.execute(
            select(Subscription)
            .join(Grant, Grant.id == Subscription.grant_id)
            .where(
                Grant.resource_id == resource_id,
                Grant.status == "active",
                Subscription.active.is_(True),
            )
        )
        .scalars()
        .all()
    )


def subscriptions_of_grant(session: Session, grant_id: str) -> Sequence[Subscription]:
    return (
        session.execute(
            select(Subscription)
            .where(Subscription.grant_id == grant_id)
            .order_by(Subscription.created_at.desc(), Subscription.id)
        )
        .scalars()
        .all()
    )


def deliveries_of_grant(session: Session, grant_id: str, limit: int) -> Sequence[WebhookDelivery]:
    return (
        session.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.grant_id == grant_id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )


def pending_deliveries(session: Session, limit: int = 50) -> Sequence[WebhookDelivery]:
    return (
        session.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
            .order_by(WebhookDelivery.created_at)
            .limit(limit)
        )
        .scalars()
        .all()
    )


def responsibility_items(session: Session, org_id: str | None) -> Sequence[ResponsibilityItem]:
    stmt = select(ResponsibilityItem)
    if org_id is not None:
        stmt = stmt.where(ResponsibilityItem.org_id == org_id)
    return session.execute(stmt.order_by(ResponsibilityItem.due_at)).scalars().all()


def open_requests_to(session: Session, org_id: str | None) -> Sequence[ShareRequest]:
    stmt = select(ShareRequest).where(
        ShareRequest.status.in_(("provider_review", "authority_review"))
    )
    if org_id is not None:
        stmt = stmt.where(ShareRequest.provider_id == org_id)
    return session.execute(stmt.order_by(ShareRequest.deadline_at)).scalars().all()


def lapsed_requests(session: Session, before: datetime) -> Sequence[ShareRequest]:
    """Open requests whose review deadline passed before ``before``."""
    return (
        session.execute(
            select(ShareRequest).where(
                ShareRequest.status.in_(("provider_review", "authority_review")),
                ShareRequest.deadline_at < before,
            )
        )
        .scalars()
        .all()
    )


def count_by_status(session: Session, stmt: Select[Any], model: Any) -> dict[str, int]:
    """How many of the readable requests or grants (``stmt``) are in each status."""
    ids = stmt.with_only_columns(model.id).subquery()
    rows = session.execute(
        select(model.status, func.count())
        .where(model.id.in_(select(ids.c.id)))
        .group_by(model.status)
    ).all()
    return {str(status): int(n) for status, n in rows}


def usage_totals(session: Session, grants: Select[Any], since: str) -> Sequence[Any]:
    """Calls, rows and bytes per day summed over the given grants (a readable-grants query)."""
    ids = grants.with_only_columns(Grant.id).subquery()
    return session.execute(
        select(
            GrantUsage.day,
            func.sum(GrantUsage.calls).label("calls"),
            func.sum(GrantUsage.rows).label("rows"),
            func.sum(GrantUsage.bytes).label("bytes"),
        )
        .where(GrantUsage.grant_id.in_(select(ids.c.id)), GrantUsage.day >= since)
        .group_by(GrantUsage.day)
        .order_by(GrantUsage.day)
    ).all()


def refusal_totals(session: Session, grants: Select[Any], since: str) -> Sequence[Any]:
    """Refused calls per day and reason summed over the given grants."""
    ids = grants.with_only_columns(Grant.id).subquery()
    return session.execute(
        select(GrantRefusal.day, GrantRefusal.code, func.sum(GrantRefusal.count).label("count"))
        .where(GrantRefusal.grant_id.in_(select(ids.c.id)), GrantRefusal.day >= since)
        .group_by(GrantRefusal.day, GrantRefusal.code)
        .order_by(GrantRefusal.day, GrantRefusal.code)
    ).all()
