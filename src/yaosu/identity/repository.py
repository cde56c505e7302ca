"""Every identity query. Reads of users and admissions go through ``readable_*`` filters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, delete, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yaosu.identity import rules
from yaosu.identity.subject import Subject
from yaosu.models.identity import (
    Admission,
    ApiToken,
    LoginAttempt,
    Organization,
    User,
    UserRole,
)


def page(session: Session, stmt: Select, limit: int, offset: int) -> tuple[list, int]:
    total = session.execute(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    ).scalar_one()
    items = list(session.execute(stmt.limit(limit).offset(offset)).scalars().unique())
    return items, int(total)


# --- organizations -----------------------------------------------------------------------------
def get_org(session: Session, org_id: str) -> Organization | None:
    return session.get(Organization, org_id)


def org_by_uscc(session: Session, uscc: str) -> Organization | None:
    return session.execute(
        select(Organization).where(Organization.uscc == uscc)
    ).scalar_one_or_none()


def readable_orgs(subject: Subject) -> Select:
    """The organization directory is visible to every active member of the platform; pending
    and rejected applicants are visible only to reviewers and admins."""
    stmt = select(Organization)
    if not subject.has_any("platform_admin", "reviewer", "auditor"):
        stmt = stmt.where(
            or_(
                Organization.status.in_(("active", "suspended", "exited")),
                Organization.id == subject.org_id,
            )
        )
    return stmt


def list_orgs(
    session: Session,
    subject: Subject,
    kind: str | None,
    parent_id: str | None,
    status: str | None,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Organization], int]:
    stmt = readable_orgs(subject)
    if kind:
        stmt = stmt.where(Organization.kind == kind)
    if parent_id:
        stmt = stmt.where(Organization.parent_id == parent_id)
    if status:
        stmt = stmt.where(Organization.status == status)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Organization.name.like(like), Organization.name_en.like(like)))
    return page(session, stmt.order_by(Organization.created_at, Organization.id), limit, offset)


def readable_org(session: Session, subject: Subject, org_id: str) -> Organization | None:
    return session.execute(
        readable_orgs(subject).where(Organization.id == org_id)
    ).scalar_one_or_none()


def readable_org_names(session: Session, subject: Subject, ids: list[str]) -> dict[str, str]:
    rows = session.execute(
        readable_orgs(subject)
        .with_only_columns(Organization.id, Organization.name)
        .where(Organization.id.in_(ids))
    ).all()
    return {str(i): str(n) for i, n in rows}


def government_names_by_region(
    session: Session, subject: Subject, codes: list[str]
) -> dict[str, str]:
    """For each region code, the name of the first registered government unit of that region
    (its people's government, registered before its bureaus)."""
    rows = session.execute(
        readable_orgs(subject)
        .with_only_columns(Organization.region_code, Organization.name)
        .where(Organization.kind == "government", Organization.region_code.in_(codes))
        .order_by(Organization.created_at, Organization.id)
    ).all()
    found: dict[str, str] = {}
    for code, name in rows:
        found.setdefault(str(code), str(name))
    return found


# --- users -------------------------------------------------------------------------------------
def readable_users(subject: Subject) -> Select:
    stmt = select(User)
    if rules.sees_all_users(subject.roles):
        return stmt
    if rules.sees_own_org_users(subject.roles):
        return stmt.where(User.org_id == subject.org_id)
    return stmt.where(User.id == subject.user_id)


def list_users(
    session: Session, subject: Subject, org_id: str | None, limit: int, offset: int
) -> tuple[list[User], int]:
    stmt = readable_users(subject)
    if org_id:
        stmt = stmt.where(User.org_id == org_id)
    return page(session, stmt.order_by(User.created_at, User.id), limit, offset)


def readable_user(session: Session, subject: Subject, user_id: str) -> User | None:
    return session.execute(readable_users(subject).where(User.id == user_id)).scalar_one_or_none()


def user_by_username(session: Session, username: str) -> User | None:
    if "\x00" in username:  # no account has one (PostgreSQL refuses NUL in text: a 500)
        return None
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def get_user(session: Session, user_id: str) -> User | None:
    return session.get(User, user_id)


def active_admin_exists(session: Session) -> bool:
    stmt = (
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.is_active.is_(True), UserRole.role == "platform_admin")
        .limit(1)
    )
    return session.execute(stmt).first() is not None


# --- tokens ------------------------------------------------------------------------------------
def token_by_hash(session: Session, digest: str) -> ApiToken | None:
    return session.execute(
        select(ApiToken).where(ApiToken.token_hash == digest)
    ).scalar_one_or_none()


def readable_tokens(subject: Subject) -> Select:
    stmt = select(ApiToken).where(ApiToken.kind == "api")
    if subject.has_any("platform_admin"):
        return stmt
    return stmt.where(ApiToken.user_id == subject.user_id)


def list_tokens(
    session: Session, subject: Subject, limit: int, offset: int
) -> tuple[list[ApiToken], int]:
    return page(
        session, readable_tokens(subject).order_by(ApiToken.created_at, ApiToken.id), limit, offset
    )


def list_own_tokens(
    session: Session, subject: Subject, limit: int, offset: int
) -> tuple[list[ApiToken], int]:
    """The subject's own API tokens (even a platform admin's page lists only theirs)."""
    stmt = select(ApiToken).where(ApiToken.kind == "api", ApiToken.user_id == subject.user_id)
    return page(session, stmt.order_by(ApiToken.created_at.desc(), ApiToken.id), limit, offset)


def readable_token(session: Session, subject: Subject, token_id: str) -> ApiToken | None:
    return session.execute(
        readable_tokens(subject).where(ApiToken.id == token_id)
    ).scalar_one_or_none()


# --- admissions --------------------------------------------------------------------------------
def readable_admissions(subject: Subject) -> Select:
    stmt = select(Admission)
    if subject.has_any("platform_admin", "reviewer", "auditor"):
        return stmt
    return stmt.where(Admission.org_id == subject.org_id)


def list_admissions(
    session: Session, subject: Subject, status: str | None, limit: int, offset: int
) -> tuple[list[Admission], int]:
    stmt = readable_admissions(subject)
    if status:
        stmt = stmt.where(Admission.status == status)
    return page(session, stmt.order_by(Admission.submitted_at, Admission.id), limit, offset)


def lock_admission(session: Session, admission_id: str) -> None:
    """Hold the admission's row until the transaction ends (PostgreSQL ``FOR UPDATE``)."""
    session.execute(
        select(Admission.id).where(Admission.id == admission_id).with_for_update()
    ).first()


def readable_admission(session: Session, subject: Subject, admission_id: str) -> Admission | None:
    return session.execute(
        readable_admissions(subject).where(Admission.id == admission_id)
    ).scalar_one_or_none()


def count_orgs(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(Organization)).scalar_one())


# --- sign-in attempts ----------------------------------------------------------------------------
def hold_login_attempt(session: Session, scope: str, key: str, now: datetime) -> LoginAttempt:
    """The counter of (scope, key), made on first use and held until the transaction ends: an
    upsert that takes the row lock on PostgreSQL (SQLite writers are serialized anyway), so
    concurrent attempts on one account or address count one after the other."""
    make = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = make(LoginAttempt).values(scope=scope, key=key, window_start=now, attempts=0)
    stmt = stmt.on_conflict_do_update(
        index_elements=["scope", "key"], set_={"attempts": LoginAttempt.attempts}
    )
    session.execute(stmt)
    return session.execute(
        select(LoginAttempt)
        .where(LoginAttempt.scope == scope, LoginAttempt.key == key)
        .execution_options(populate_existing=True)
    ).scalar_one()


def prune_login_attempts(session: Session, before: datetime, batch: int = 100) -> None:
    """Forget counters whose window began before ``before`` (a few at a time, skipping rows
    another sign-in holds)."""
    doomed = (
        select(LoginAttempt.scope, LoginAttempt.key)
        .where(LoginAttempt.window_start < before)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(LoginAttempt)
        .where(tuple_(LoginAttempt.scope, LoginAttempt.key).in_(doomed))
        .execution_options(synchronize_session=False)
    )
