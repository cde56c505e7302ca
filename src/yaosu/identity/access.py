"""Who may call an endpoint: every route declares one ``Access`` and nothing is open by accident.

A caller is identified by a bearer token (``Authorization: Bearer …``) or by the web UI's signed
session cookie. Cookie-authenticated writes must echo the CSRF cookie in ``X-CSRF-Token``.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Depends, Request, Response
from fastapi.security import OAuth2PasswordBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from yaosu.api.deps import SAFE_METHODS, SESSION
from yaosu.config import get_settings
from yaosu.identity import rules
from yaosu.identity.service import auth_service, login_throttle, token_service
from yaosu.identity.subject import Subject
from yaosu.kit.crypto import derive
from yaosu.kit.errors import Forbidden, Unauthenticated
from yaosu.models.identity import ApiToken

SESSION_COOKIE = "yaosu_session"
CSRF_COOKIE = "yaosu_csrf"
CSRF_HEADER = "X-CSRF-Token"

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def cookie_serializer() -> URLSafeTimedSerializer:
    s = get_settings()
    if s.secret_key:
        secret = s.secret_key.encode()
    else:
        from yaosu.config import get_node_key

        secret = derive(get_node_key(), "cookie-signing")
    return URLSafeTimedSerializer(secret, salt="yaosu-session")


@dataclass(frozen=True)
class Access:
    """An endpoint's declared callers: roles (None = any signed-in user), a scope, or public."""

    roles: frozenset[str] | None = None
    scope: str | None = None
    public: bool = False
    # Organization states (besides active) whose users may still call this endpoint.
    inactive_ok: frozenset[str] = frozenset()

    def describe(self) -> str:
        if self.public:
            return "public"
        who = ", ".join(sorted(self.roles)) if self.roles else "any signed-in user"
        return f"{who}; scope {self.scope}" if self.scope else who

    def __call__(
        self,
        request: Request,
        token: str | None = Depends(bearer),
        session: Session = SESSION,
    ) -> Subject | None:
        if self.public:
            # Public endpoints need no identity; a stale cookie must not break them.
            try:
                return _identify(request, token, session)
            except (Unauthenticated, Forbidden):
                return None
        subject = _identify(request, token, session)
        # Known even when refused below: an error page inside the workspace keeps its frame.
        request.state.subject = subject
        if subject is None:
            raise Unauthenticated("Sign in or send a bearer token.", "请先登录或提供访问令牌。")
        rules.require_usable_org(subject.org_status, self.inactive_ok)
        if self.roles is not None:
            rules.require_roles(subject.roles, self.roles)
        if self.scope and self.scope not in subject.scopes:
            raise Forbidden(
                f"The token lacks the scope {self.scope}.",
                f"令牌缺少权限范围 {self.scope}。",
                code="scope_required",
                required=self.scope,
            )
        return subject


def _identify(request: Request, token: str | None, session: Session) -> Subject | None:
    if token:
        return token_service.resolve(session, token, via="api")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        secret = cookie_serializer().loads(cookie, max_age=get_settings().session_ttl)
    except BadSignature as exc:
        raise Unauthenticated(
            "The session cookie is invalid.", "会话无效，请重新登录。", code="session_invalid"
        ) from exc
    subject = token_service.resolve(session, str(secret), via="web")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        expected = request.cookies.get(CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(sent, expected):
            raise Forbidden(
                "Missing or wrong CSRF token.", "缺少或错误的 CSRF 令牌。", code="csrf_failed"
            )
    return subject


def set_session_cookies(response: Response, secret: str) -> None:
    """Start a browser session: the signed, HTTP-only session cookie and a fresh CSRF cookie."""
    ttl = get_settings().session_ttl
    response.set_cookie(
        SESSION_COOKIE,
        cookie_serializer().dumps(secret),
        max_age=ttl,
        httponly=True,
        samesite="lax",
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE, secrets.token_urlsafe(24), max_age=ttl, samesite="strict", path="/"
    )


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def require(
    *roles: str, scope: str | None = None, inactive_ok: frozenset[str] = frozenset()
) -> Access:
    return Access(roles=frozenset(roles) if roles else None, scope=scope, inactive_ok=inactive_ok)


# Applicants follow their admission while pending or after rejection; nothing else.
APPLICANTS = frozenset({"pending", "rejected"})
# Reading who you are and signing out work in every state.
ANY_STATE = frozenset({"pending", "rejected", "suspended", "exited"})


PUBLIC = Access(public=True)


def sign_in(
    request: Request,
    session: Session,
    username: str,
    password: str,
    scopes: list[str] | None,
    *,
    kind: str = "login",
) -> tuple[ApiToken, str]:
    """Every sign-in by password (API token, API session, web form) under the limit against
    password guessing. The attempt is counted and committed first, in its own short unit: the
    sign-in's error would roll it back otherwise, and a wrong password must count. The sign-in
    itself is the request's (second) unit, committed by the request as usual."""
    address = request.client.host if request.client else None
    login_throttle.admit(session, username, address)
    session.commit()
    issued = auth_service.login(session, username, password, scopes, kind=kind)
    login_throttle.succeeded(session, username, address)
    return issued
