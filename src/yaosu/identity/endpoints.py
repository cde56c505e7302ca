"""Identity API: sign-in, organizations and their DIDs, users, API tokens, admission (准入)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.config import get_settings
from yaosu.identity import schemas
from yaosu.identity.access import (
    ANY_STATE,
    APPLICANTS,
    PUBLIC,
    clear_session_cookies,
    require,
    set_session_cookies,
    sign_in,
)
from yaosu.identity.service import (
    admission_service,
    org_service,
    token_service,
    user_service,
)
from yaosu.identity.subject import Subject
from yaosu.kit.pagination import MAX_LIMIT, Page, page_of

router = APIRouter()

ADMINS = ("platform_admin",)
REVIEWERS = ("platform_admin", "reviewer")


# --- sign-in -----------------------------------------------------------------------------------
@router.post("/auth/token", response_model=schemas.AccessToken, tags=["auth"])
def login_token(
    request: Request,
    form: OAuth2PasswordRequestForm = Depends(),
    _: None = Depends(PUBLIC),
    session: Session = SESSION,
) -> schemas.AccessToken:
    """OAuth2 password flow: exchange a username and password for a bearer token. Attempts
    are limited per account and per address against password guessing (429
    ``login_throttled`` with ``Retry-After``); the open-data rate limit does not apply."""
    _token, secret = sign_in(request, session, form.username, form.password, form.scopes or None)
    return schemas.AccessToken(access_token=secret, expires_in=get_settings().access_token_ttl)


@router.post("/auth/session", status_code=204, tags=["auth"])
def login_session(
    request: Request,
    response: Response,
    username: str = Form(),
    password: str = Form(),
    _: None = Depends(PUBLIC),
    session: Session = SESSION,
) -> None:
    """Sign in for the web UI: sets a signed, HTTP-only session cookie and a CSRF cookie. The
    same limit on attempts as ``POST /auth/token``."""
    _token, secret = sign_in(request, session, username, password, None, kind="session")
    set_session_cookies(response, secret)


@router.delete("/auth/session", status_code=204, tags=["auth"])
def logout_session(
    response: Response,
    subject: Subject = Depends(require(inactive_ok=ANY_STATE)),
    session: Session = SESSION,
) -> None:
    """Sign out: revokes the session and clears the cookies."""
    token_service.end_session(session, subject)
    clear_session_cookies(response)


@router.get("/auth/me", response_model=schemas.Me, tags=["auth"])
def me(
    subject: Subject = Depends(require(inactive_ok=ANY_STATE)),
    session: Session = SESSION,
) -> dict[str, Any]:
    """The signed-in user, their organization, roles and the scopes of this token."""
    user = user_service.get(session, subject, subject.user_id or "")
    data = schemas.User.model_validate(user).model_dump()
    return {**data, "org": schemas.Org.model_validate(user.org), "scopes": sorted(subject.scopes)}


# --- organizations -----------------------------------------------------------------------------
@router.get("/orgs", response_model=Page[schemas.Org], tags=["organizations"])
def list_orgs(
    kind: str | None = None,
    parent_id: str | None = None,
    status: str | None = None,
    q: str | None = Query(default=None, max_length=100),
    limit: int = Query(default=50, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    subject: Subject = Depends(require(scope="identity:read")),
    session: Session = SESSION,
) -> Page[schemas.Org]:
    """The organization directory, filterable by kind, parent and status; paginated."""
    items, total = org_service.list(
        session,
        subject,
        kind=kind,
        parent_id=parent_id,
        status=status,
        q=q,
        limit=limit,
        offset=offset,
    )
    return page_of(schemas.Org, items, total, limit, offset)


@router.post("/orgs", status_code=201, response_model=schemas.Org, tags=["organizations"])
def create_org(
    data: schemas.OrgCreate,
    subject: Subject = Depends(require(*ADMINS, scope="identity:write")),
    session: Session = SESSION,
) -> schemas.Org:
    """Register an organization (platform admins). It gets a DID and an Ed25519 key pair."""
    return schemas.Org.model_validate(org_service.create(session, subject, data))


@router.get("/orgs/{org_id}", response_model=schemas.Org, tags=["organizations"])
def get_org(
    org_id: str,
    subject: Subject = Depends(require(scope="identity:read")),
    session: Session = SESSION,
) -> schemas.Org:
    return schemas.Org.model_validate(org_service.get(session, subject, org_id))


def _status_endpoint(target: str, doc: str) -> Any:
    def change(
        org_id: str,
        body: schemas.StatusChange,
        subject: Subject = Depends(require(*REVIEWERS, scope="identity:write")),
        session: Session = SESSION,
    ) -> schemas.Org:
        return schemas.Org.model_validate(
            org_service.change_status(session, subject, org_id, target, body.reason)
        )

    change.__doc__ = doc
    return change


for _verb, _target, _doc in (
    ("suspend", "suspended", "Suspend an organization: its users can do nothing until resumed."),
    ("resume", "active", "Resume a suspended organization."),
    ("exit", "exited", "Record an organization's exit (退出) from the platform."),
):
    router.add_api_route(
        f"/orgs/{{org_id}}/{_verb}",
        _status_endpoint(_target, _doc),
        methods=["POST"],
        response_model=schemas.Org,
        tags=["organizations"],
        name=f"{_verb}_org",
    )


@router.get("/orgs/{org_id}/did.json", tags=["organizations"])
def did_document(
    org_id: str,
    _: None = Depends(PUBLIC),
    session: Session = SESSION,
) -> dict[str, Any]:
    """The organization's DID document (did:web), with its Ed25519 verification keys."""
    return org_service.did_document(session, org_id)


# --- users -------------------------------------------------------------------------------------
@router.get("/users", response_model=Page[schemas.User], tags=["users"])
def list_users(
    org_id: str | None = None,
    limit: int = Query(default=50, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    subject: Subject = Depends(require(scope="identity:read")),
    session: Session = SESSION,
) -> Page[schemas.User]:
    """Users the caller may see: all (admins, reviewers, auditors), their unit's (CDO, data
    officers), or only themselves."""
    items, total = user_service.list(session, subject, org_id=org_id, limit=limit, offset=offset)
    return page_of(schemas.User, items, total, limit, offset)


@router.post("/users", status_code=201, response_model=schemas.User, tags=["users"])
def create_user(
    data: schemas.UserCreate,
    subject: Subject = Depends(require("platform_admin", "cdo", scope="identity:write")),
    session: Session = SESSION,
) -> schemas.User:
    """Add a user (platform admins anywhere; a chief data officer in their own unit)."""
    return schemas.User.model_validate(user_service.create(session, subject, data))


@router.get("/users/{user_id}", response_model=schemas.User, tags=["users"])
def get_user(
    user_id: str,
    subject: Subject = Depends(require(scope="identity:read")),
    session: Session = SESSION,
) -> schemas.User:
    return schemas.User.model_validate(user_service.get(session, subject, user_id))


@router.post("/users/{user_id}/deactivate", response_model=schemas.User, tags=["users"])
def deactivate_user(
    user_id: str,
    subject: Subject = Depends(require("platform_admin", "cdo", scope="identity:write")),
    session: Session = SESSION,
) -> schemas.User:
    """Disable a user and revoke all their tokens."""
    return schemas.User.model_validate(user_service.deactivate(session, subject, user_id))


# --- API tokens --------------------------------------------------------------------------------
@router.get("/tokens", response_model=Page[schemas.Token], tags=["tokens"])
def list_tokens(
    limit: int = Query(default=50, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    subject: Subject = Depends(require(scope="identity:read")),
    session: Session = SESSION,
) -> Page[schemas.Token]:
    """Your API tokens (platform admins see all). Secrets are never shown again."""
    items, total = token_service.list(session, subject, limit, offset)
    return page_of(schemas.Token, items, total, limit, offset)


@router.post("/tokens", status_code=201, response_model=schemas.TokenCreated, tags=["tokens"])
def create_token(
    data: schemas.TokenCreate,
    subject: Subject = Depends(require(scope="identity:write")),
    session: Session = SESSION,
) -> schemas.TokenCreated:
    """Create an API token with chosen scopes and expiry; the secret is shown only once."""
    token, secret = token_service.create(session, subject, data)
    return schemas.TokenCreated(**schemas.Token.model_validate(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", response_model=schemas.Token, tags=["tokens"])
def revoke_token(
    token_id: str,
    subject: Subject = Depends(require(scope="identity:write")),
    session: Session = SESSION,
) -> schemas.Token:
    """Revoke an API token with immediate effect."""
    return schemas.Token.model_validate(token_service.revoke(session, subject, token_id))


# --- admission 准入 ------------------------------------------------------------------------------
@router.post("/admissions", status_code=201, response_model=schemas.Admission, tags=["admission"])
def apply_for_admission(
    data: schemas.AdmissionCreate,
    _: None = Depends(PUBLIC),
    session: Session = SESSION,
) -> schemas.Admission:
    """An operator or service provider applies; its contact account can sign in and follow the
    application but can do nothing else until a reviewer approves."""
    return schemas.Admission.model_validate(admission_service.apply(session, data))


@router.get("/admissions", response_model=Page[schemas.Admission], tags=["admission"])
def list_admissions(
    status: str | None = None,
    limit: int = Query(default=50, ge=1, le=MAX_LIMIT),
    offset: int = Query(default=0, ge=0),
    subject: Subject = Depends(require(scope="identity:read", inactive_ok=APPLICANTS)),
    session: Session = SESSION,
) -> Page[schemas.Admission]:
    """Applications: all for reviewers, admins and auditors; your own organization's otherwise."""
    items, total = admission_service.list(
        session, subject, status=status, limit=limit, offset=offset
    )
    return page_of(schemas.Admission, items, total, limit, offset)


@router.get("/admissions/{admission_id}", response_model=schemas.Admission, tags=["admission"])
def get_admission(
    admission_id: str,
    subject: Subject = Depends(require(scope="identity:read", inactive_ok=APPLICANTS)),
    session: Session = SESSION,
) -> schemas.Admission:
    return schemas.Admission.model_validate(admission_service.get(session, subject, admission_id))


@router.post(
    "/admissions/{admission_id}/approve", response_model=schemas.Admission, tags=["admission"]
)
def approve_admission(
    admission_id: str,
    body: schemas.Decision,
    subject: Subject = Depends(require(*REVIEWERS, scope="identity:write")),
    session: Session = SESSION,
) -> schemas.Admission:
    """Approve: the organization becomes active."""
    return schemas.Admission.model_validate(
        admission_service.decide(session, subject, admission_id, True, body.reason)
    )


@router.post(
    "/admissions/{admission_id}/reject", response_model=schemas.Admission, tags=["admission"]
)
def reject_admission(
    admission_id: str,
    body: schemas.Decision,
    subject: Subject = Depends(require(*REVIEWERS, scope="identity:write")),
    session: Session = SESSION,
) -> schemas.Admission:
    """Reject with a reason: the organization stays out."""
    return schemas.Admission.model_validate(
        admission_service.decide(session, subject, admission_id, False, body.reason)
    )
