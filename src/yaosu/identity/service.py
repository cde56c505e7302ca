"""Identity services. Every state change appends its ledger event in the same transaction."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import cache
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yaosu.config import get_node_key, get_settings
from yaosu.identity import repository as repo
from yaosu.identity import rules, schemas
from yaosu.identity.subject import Subject
from yaosu.kit.crypto import (
    ed25519_from_private,
    ed25519_multibase,
    new_ed25519,
    new_token_secret,
    private_bytes,
    seal,
    token_digest,
    unseal,
)
from yaosu.kit.errors import Conflict, Forbidden, Invalid, Unauthenticated, not_found
from yaosu.kit.ids import new_id
from yaosu.kit.passwords import hash_password, verify_password
from yaosu.kit.timeutil import aware, utcnow
from yaosu.kit.uscc import uscc_issue
from yaosu.ledger.events import Actor
from yaosu.ledger.service import ledger_service
from yaosu.models.identity import Admission, ApiToken, Organization, OrgKey, User, UserRole

log = logging.getLogger("yaosu.identity")

PRIVILEGED_ROLES = frozenset({"platform_admin", "reviewer", "auditor"})


def did_for(org_id: str) -> str:
    # did:web encodes a port's colon as %3A.
    return f"did:web:{quote(get_settings().node_domain, safe='')}:org:{org_id}"


def _key_context(org_id: str) -> bytes:
    return f"org-key:{org_id}".encode()


class OrganizationService:
    def create(
        self, session: Session, subject: Subject, data: schemas.OrgCreate, *, status: str = "active"
    ) -> Organization:
        """Register an organization with its DID and a fresh Ed25519 key pair."""
        parent = None
        if data.parent_id:
            parent = repo.get_org(session, data.parent_id)
            if parent is None:
                raise not_found("Parent organization", "上级机构", data.parent_id)
        rules.check_org_shape(
            data.kind,
            data.gov_level,
            parent.kind if parent else None,
            parent.gov_level if parent else None,
            data.service_types,
        )
        if (
            data.kind in rules.ADMITTED_KINDS
            and status == "active"
            and not subject.is_system
            and not subject.has_any("platform_admin")
        ):
            raise Forbidden(
                "Operators and service providers enter through admission (准入).",
                "运营主体和服务机构须通过准入申请加入。",
                code="admission_required",
            )
        self._check_uscc(session, data.kind, data.uscc)
        org_id = new_id()
        org = Organization(
            id=org_id,
            name=data.name,
            name_en=data.name_en,
            kind=data.kind,
            gov_level=data.gov_level,
            parent_id=data.parent_id,
            uscc=data.uscc,
            region_code=data.region_code,
            service_types=sorted(set(data.service_types)),
            status=status,
            did=did_for(org_id),
        )
        session.add(org)
        private, public = new_ed25519()
        session.add(
            OrgKey(
                org_id=org_id,
                public_key=public,
                sealed_private=seal(get_node_key(), private_bytes(private), _key_context(org_id)),
            )
        )
        session.flush()
        ledger_service.record(
            session,
            "identity.org_created",
            subject.actor,
            [org_id],
            schemas.Org.model_validate(org).model_dump(mode="json"),
        )
        return org

    def _check_uscc(self, session: Session, kind: str, uscc: str | None) -> None:
        if uscc is None:
            if kind in rules.USCC_REQUIRED:
                raise Invalid(
                    "This kind of organization needs a unified social credit code.",
                    "该类机构必须填写统一社会信用代码。",
                    code="uscc_required",
                )
            return
        issue = uscc_issue(uscc)
        if issue:
            raise Invalid(
                f"Unified social credit code {uscc!r} is malformed: {issue[0]}.",
                f"统一社会信用代码 {uscc} 有误：{issue[1]}。",
                code="uscc_invalid",
            )
        if repo.org_by_uscc(session, uscc) is not None:
            raise Conflict(
                f"An organization with USCC {uscc} is already registered.",
                f"统一社会信用代码 {uscc} 已被注册。",
                code="uscc_taken",
            )

    def get(self, session: Session, subject: Subject, org_id: str) -> Organization:
        org = repo.readable_org(session, subject, org_id)
        if org is None:
            raise not_found("Organization", "机构", org_id)
        return org

    def names(self, session: Session, subject: Subject, ids: list[str]) -> dict[str, str]:
        """Names of the organizations (of those given) that the subject may see; one query."""
        return repo.readable_org_names(session, subject, ids) if ids else {}

    def names_by_region(
        self, session: Session, subject: Subject, codes: list[str]
    ) -> dict[str, str]:
        """Region code (行政区划代码) → the name of that region's government unit, for the codes
        that have one; e.g. a row filter ``370602`` reads as 示范市东城区."""
        return repo.government_names_by_region(session, subject, codes) if codes else {}

    def list(
        self,
        session: Session,
        subject: Subject,
        *,
        kind: str | None = None,
        parent_id: str | None = None,
        status: str | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Organization], int]:
        return repo.list_orgs(session, subject, kind, parent_id, status, q, limit, offset)

    def change_status(
        self, session: Session, subject: Subject, org_id: str, target: str, reason: str
    ) -> Organization:
        """Suspend, resume or record the exit of an organization."""
        org = self.get(session, subject, org_id)
        if org.id == subject.org_id:
            raise Forbidden(
                "You cannot change your own organization's status.",
                "不能变更本机构自身的状态。",
                code="own_org",
            )
        if org.status in rules.ORG_DECIDED_BY_ADMISSION:
            # Only the admission decision moves a pending unit; resume must not skip it.
            raise Conflict(
                "The organization awaits its admission decision; decide the admission instead.",
                "该机构尚待准入审核，请在准入审核中处理。",
                code="org_awaiting_admission",
            )
        rules.check_transition(rules.ORG_TRANSITIONS, "organization", "机构", org.status, target)
        before = org.status
        org.status = target
        org.updated_at = utcnow()
        session.flush()
        verb = {"suspended": "org_suspended", "active": "org_resumed", "exited": "org_exited"}[
            target
        ]
        ledger_service.record(
            session,
            f"identity.{verb}",
            subject.actor,
            [org.id],
            {"from": before, "to": target, "reason": reason},
        )
        return org

    def active_key(self, org: Organization) -> OrgKey:
        return next(k for k in reversed(org.keys) if k.revoked_at is None)

    def signing_key(self, session: Session, org_id: str) -> Ed25519PrivateKey:
        """The organization's private key, unsealed for one signature (data, certificates)."""
        org = repo.get_org(session, org_id)
        if org is None:
            raise not_found("Organization", "机构", org_id)
        key = self.active_key(org)
        return ed25519_from_private(
            unseal(get_node_key(), key.sealed_private, _key_context(org_id))
        )

    def did_document(self, session: Session, org_id: str) -> dict[str, Any]:
        org = repo.get_org(session, org_id)
        if org is None or org.status in ("pending", "rejected"):
            raise not_found("Organization", "机构", org_id)
        methods = [
            {
                "id": f"{org.did}#{k.id}",
                "type": "Multikey",
                "controller": org.did,
                "publicKeyMultibase": ed25519_multibase(k.public_key),
            }
            for k in org.keys
            if k.revoked_at is None
        ]
        refs = [m["id"] for m in methods]
        return {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": org.did,
            "alsoKnownAs": [f"urn:yaosu:org:{org.id}"],
            "verificationMethod": methods,
            "authentication": refs,
            "assertionMethod": refs,
        }


class UserService:
    def create(self, session: Session, subject: Subject, data: schemas.UserCreate) -> User:
        org = repo.get_org(session, data.org_id)
        if org is None:
            raise not_found("Organization", "机构", data.org_id)
        if not subject.is_system and not rules.may_manage_users_of(
            subject.roles, subject.org_id, org.id
        ):
            raise Forbidden(
                "Only a platform admin, or the unit's chief data officer, may add its users.",
                "只有平台管理员或本单位首席数据官可以添加用户。",
                code="cannot_manage_users",
            )
        roles = rules.check_roles(data.roles)
        if PRIVILEGED_ROLES & set(roles) and not subject.has_any("platform_admin"):
            raise Forbidden(
                "Only a platform admin grants admin, reviewer or auditor roles.",
                "只有平台管理员可以授予管理员、审核员或审计员角色。",
                code="role_not_grantable",
            )
        if repo.user_by_username(session, data.username) is not None:
            raise Conflict(
                f"The username {data.username!r} is taken.",
                f"用户名 {data.username!r} 已被占用。",
                code="username_taken",
            )
        user = User(
            id=new_id(),
            org_id=org.id,
            username=data.username,
            display_name=data.display_name,
            email=data.email,
            password_hash=hash_password(data.password, get_settings().argon2_fast),
            roles=[UserRole(role=r) for r in roles],
        )
        session.add(user)
        try:
            session.flush()
        except IntegrityError as exc:  # a concurrent insert of the same username
            raise Conflict(
                f"The username {data.username!r} is taken.",
                f"用户名 {data.username!r} 已被占用。",
                code="username_taken",
            ) from exc
        ledger_service.record(
            session,
            "identity.user_created",
            subject.actor,
            [user.id, org.id],
            {"username": user.username, "org": org.id, "roles": roles},
        )
        return user

    def get(self, session: Session, subject: Subject, user_id: str) -> User:
        user = repo.readable_user(session, subject, user_id)
        if user is None:
            raise not_found("User", "用户", user_id)
        return user

    def list(
        self,
        session: Session,
        subject: Subject,
        *,
        org_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[User], int]:
        return repo.list_users(session, subject, org_id, limit, offset)

    def deactivate(self, session: Session, subject: Subject, user_id: str) -> User:
        """Disable a user and revoke every token they hold."""
        user = self.get(session, subject, user_id)
        if not subject.is_system and not rules.may_manage_users_of(
            subject.roles, subject.org_id, user.org_id
        ):
            raise Forbidden(
                "Only a platform admin, or the unit's chief data officer, may disable its users.",
                "只有平台管理员或本单位首席数据官可以停用用户。",
                code="cannot_manage_users",
            )
        if user.id == subject.user_id:
            raise Forbidden(
                "You cannot disable your own account.", "不能停用自己的账号。", code="own_account"
            )
        if not user.is_active:
            raise Conflict(
                "The user is already disabled.", "该用户已停用。", code="already_disabled"
            )
        user.is_active = False
        now = utcnow()
        for token in session.query(ApiToken).filter(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
        ):
            token.revoked_at = now
        session.flush()
        ledger_service.record(
            session, "identity.user_deactivated", subject.actor, [user.id, user.org_id], {}
        )
        return user


class TokenService:
    PREFIX = "ys"

    def _issue(
        self,
        session: Session,
        user: User,
        kind: str,
        name: str,
        scopes: list[str],
        ttl: timedelta,
        actor: Subject | None,
    ) -> tuple[ApiToken, str]:
        secret = new_token_secret(self.PREFIX)
        token = ApiToken(
            id=new_id(),
            user_id=user.id,
            name=name,
            kind=kind,
            token_hash=token_digest(secret),
            prefix=secret[:10],
            scopes=scopes,
            expires_at=utcnow() + ttl,
        )
        session.add(token)
        session.flush()
        # A sign-in has no caller yet: the user is the actor of their own login token.
        by = actor.actor if actor else Actor(user=user.id, org=user.org_id, via="login")
        ledger_service.record(
            session,
            "identity.token_issued",
            by,
            [token.id, user.id],
            {
                "kind": kind,
                "name": name,
                "scopes": scopes,
                "expires_at": token.expires_at.isoformat(),
            },
        )
        return token, secret

    def create(
        self, session: Session, subject: Subject, data: schemas.TokenCreate
    ) -> tuple[ApiToken, str]:
        """A personal API token; its scopes cannot exceed the caller's own."""
        if subject.user_id is None:
            raise Forbidden(
                "The system has no user to own a token; pass --user.",
                "系统身份不能持有令牌，请指定用户。",
                code="no_user",
            )
        user = repo.get_user(session, subject.user_id)
        assert user is not None
        scopes = rules.check_scopes(data.scopes, subject.scopes)
        return self._issue(
            session, user, "api", data.name, scopes, timedelta(days=data.expires_in_days), subject
        )

    def create_for(
        self, session: Session, subject: Subject, username: str, data: schemas.TokenCreate
    ) -> tuple[ApiToken, str]:
        """Admin/CLI path: a token for a named user, issued by that user or a platform admin
        (the node itself only while it is being set up, see docs/identity.md)."""
        user = repo.user_by_username(session, username)
        if user is None:
            raise not_found("User", "用户", username)
        if not (
            subject.is_system or subject.user_id == user.id or subject.has_any("platform_admin")
        ):
            raise Forbidden(
                "Only the user themself or a platform admin may create a token for a user.",
                "只有用户本人或平台管理员可以为该用户创建令牌。",
                code="not_token_owner",
            )
        as_user = self.subject_of(user, rules.ALL_SCOPES, None, via=subject.via)
        scopes = rules.check_scopes(data.scopes, as_user.scopes)
        return self._issue(
            session, user, "api", data.name, scopes, timedelta(days=data.expires_in_days), subject
        )

    def list_own(
        self, session: Session, subject: Subject, limit: int = 50, offset: int = 0
    ) -> tuple[list[ApiToken], int]:
        """The caller's own API tokens, newest first."""
        return repo.list_own_tokens(session, subject, limit, offset)

    def list(
        self, session: Session, subject: Subject, limit: int = 50, offset: int = 0
    ) -> tuple[list[ApiToken], int]:
        return repo.list_tokens(session, subject, limit, offset)

    def revoke(self, session: Session, subject: Subject, token_id: str) -> ApiToken:
        token = repo.readable_token(session, subject, token_id)
        if token is None:
            raise not_found("Token", "令牌", token_id)
        if token.revoked_at is not None:
            raise Conflict(
                "The token is already revoked.", "该令牌已被吊销。", code="already_revoked"
            )
        token.revoked_at = utcnow()
        session.flush()
        ledger_service.record(
            session, "identity.token_revoked", subject.actor, [token.id, token.user_id], {}
        )
        return token

    def end_session(self, session: Session, subject: Subject) -> None:
        if subject.token_id is None:
            return
        token = session.get(ApiToken, subject.token_id)
        if token is not None and token.revoked_at is None:
            token.revoked_at = utcnow()
            session.flush()
            ledger_service.record(
                session,
                "identity.token_revoked",
                subject.actor,
                [token.id, token.user_id],
                {"reason": "logout"},
            )

    @staticmethod
    def subject_of(user: User, scopes: frozenset[str], token_id: str | None, via: str) -> Subject:
        return Subject(
            user_id=user.id,
            username=user.username,
            org_id=user.org_id,
            org_status=user.org.status,
            roles=frozenset(user.role_names),
            scopes=frozenset(scopes),
            token_id=token_id,
            via=via,
        )

    def resolve(self, session: Session, secret: str, via: str = "api") -> Subject:
        """Who holds this bearer token, or a precise refusal."""
        token = repo.token_by_hash(session, token_digest(secret))
        if token is None:
            raise Unauthenticated(
                "The token is not recognised.", "令牌无效。", code="token_invalid"
            )
        if token.revoked_at is not None:
            raise Unauthenticated(
                "The token has been revoked.", "令牌已被吊销。", code="token_revoked"
            )
        if aware(token.expires_at) <= utcnow():
            raise Unauthenticated("The token has expired.", "令牌已过期。", code="token_expired")
        user = token.user
        if not user.is_active:
            raise Unauthenticated(
                "The account is disabled.", "账号已停用。", code="account_disabled"
            )
        return self.subject_of(user, frozenset(token.scopes), token.id, via)


class AuthService:
    def acting_user(self, session: Session, username: str, via: str = "cli") -> Subject:
        """The named user a command of the node's shell acts as (``yaosu --as USERNAME``): an
        existing, active account of an active unit, with its own roles and every scope, like a
        signed-in session; the services then check it exactly as they check an API caller."""
        user = repo.user_by_username(session, username)
        if user is None:
            raise Unauthenticated(
                f"There is no user {username!r} on this node; --as and YAOSU_CLI_USER must name "
                "an existing account (see `yaosu user list`).",
                f"本节点没有用户 {username!r}；--as 或 YAOSU_CLI_USER 必须是已有账号"
                "（见 `yaosu user list`）。",
                code="cli_user_unknown",
            )
        if not user.is_active:
            raise Unauthenticated(
                "The account is disabled.", "账号已停用。", code="account_disabled"
            )
        rules.require_usable_org(user.org.status)
        return token_service.subject_of(user, rules.ALL_SCOPES, None, via)

    def admin_exists(self, session: Session) -> bool:
        """Whether the node has an active platform admin (until then it is being set up)."""
        return repo.active_admin_exists(session)

    def authenticate(self, session: Session, username: str, password: str) -> User:
        user = repo.user_by_username(session, username)
        # Verify against a dummy hash when the user is unknown, so timing does not reveal it.
        stored = user.password_hash if user else _dummy_hash()
        if not verify_password(stored, password) or user is None:
            raise Unauthenticated(
                "Wrong username or password.", "用户名或密码错误。", code="invalid_credentials"
            )
        if not user.is_active:
            raise Unauthenticated(
                "The account is disabled.", "账号已停用。", code="account_disabled"
            )
        if user.org.status in ("suspended", "exited"):
            rules.require_usable_org(user.org.status)  # refused, in the status's own words
        return user

    def login(
        self,
        session: Session,
        username: str,
        password: str,
        scopes: list[str] | None,
        kind: str = "login",
    ) -> tuple[ApiToken, str]:
        user = self.authenticate(session, username, password)
        granted = rules.check_scopes(scopes) if scopes else sorted(rules.ALL_SCOPES)
        user.last_login_at = utcnow()
        ttl = get_settings().session_ttl if kind == "session" else get_settings().access_token_ttl
        return token_service._issue(
            session, user, kind, kind, granted, timedelta(seconds=ttl), None
        )


class AdmissionService:
    def apply(self, session: Session, data: schemas.AdmissionCreate) -> Admission:
        """Create the applicant organization (pending), its contact user, and the application."""
        if data.requested_kind not in rules.ADMITTED_KINDS:
            raise Invalid(
                "Admission is for operators and service providers only.",
                "准入申请仅适用于运营主体和第三方服务机构。",
                code="invalid_admission_kind",
            )
        applicant = Subject.system(via="admission")
        org = org_service.create(
            session,
            applicant,
            schemas.OrgCreate(
                name=data.org_name,
                name_en=data.org_name_en,
                kind=data.requested_kind,
                uscc=data.uscc,
                service_types=data.service_types,
            ),
            status="pending",
        )
        user = user_service.create(
            session,
            applicant,
            schemas.UserCreate(
                username=data.contact_username,
                display_name=data.contact_display_name,
                email=data.contact_email,
                password=data.contact_password,
                org_id=org.id,
                roles=["cdo"],
            ),
        )
        admission = Admission(
            id=new_id(),
            org_id=org.id,
            requested_kind=data.requested_kind,
            service_types=sorted(set(data.service_types)),
            statement=data.statement,
            status="submitted",
        )
        session.add(admission)
        session.flush()
        actor = Actor(user=user.id, org=org.id, via="admission")
        ledger_service.record(
            session,
            "identity.admission_submitted",
            actor,
            [admission.id, org.id],
            schemas.Admission.model_validate(admission).model_dump(mode="json"),
        )
        return admission

    def get(self, session: Session, subject: Subject, admission_id: str) -> Admission:
        found = repo.readable_admission(session, subject, admission_id)
        if found is None:
            raise not_found("Admission", "准入申请", admission_id)
        return found

    def get_for_decision(self, session: Session, subject: Subject, admission_id: str) -> Admission:
        """The application with its row held until the transaction ends (see ``decide``)."""
        repo.lock_admission(session, admission_id)
        return self.get(session, subject, admission_id)

    def list(
        self,
        session: Session,
        subject: Subject,
        *,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Admission], int]:
        return repo.list_admissions(session, subject, status, limit, offset)

    def decide(
        self,
        session: Session,
        subject: Subject,
        admission_id: str,
        approve: bool,
        reason: str | None,
    ) -> Admission:
        admission = self.get_for_decision(session, subject, admission_id)
        target = "approved" if approve else "rejected"
        if not approve and not reason:
            raise Invalid(
                "A rejection needs a reason.", "驳回必须说明理由。", code="reason_required"
            )
        rules.check_transition(
            rules.ADMISSION_TRANSITIONS, "admission", "准入申请", admission.status, target
        )
        admission.status = target
        admission.decided_at = utcnow()
        admission.decided_by = subject.user_id
        admission.reason = reason
        org = admission.org
        rules.check_transition(
            rules.ORG_TRANSITIONS,
            "organization",
            "机构",
            org.status,
            "active" if approve else "rejected",
        )
        org.status = "active" if approve else "rejected"
        org.updated_at = utcnow()
        session.flush()
        ledger_service.record(
            session,
            f"identity.admission_{target}",
            subject.actor,
            [admission.id, org.id],
            {"reason": reason},
        )
        return admission


class LoginThrottleService:
    """The limit on sign-in attempts against password guessing (``YAOSU_LOGIN_*``): attempts
    count per account and per client network in a fixed window, in the database, so every
    server process sees the same counts. An attempt counts before its password is checked (so
    a burst of parallel guesses cannot slip past the limit); a successful sign-in then takes it
    back and clears the account's count. Not in the ledger: these are counters, not platform
    state, and a guesser must not be able to grow the public log; a lock is logged."""

    def admit(self, session: Session, username: str, address: str | None) -> None:
        """Count one attempt, or raise 429 ``login_throttled`` with Retry-After when the
        account or the address has used its attempts in this window."""
        s = get_settings()
        now = utcnow()
        repo.prune_login_attempts(session, now - timedelta(seconds=s.login_window))
        limits = {"account": s.login_max_failures, "address": s.login_max_failures_address}
        rows = [
            repo.hold_login_attempt(session, scope, key, now)
            for scope, key in rules.login_attempt_keys(username, address)
        ]
        wait = 0
        for row in rows:
            if aware(row.window_start) + timedelta(seconds=s.login_window) <= now:
                row.window_start, row.attempts = now, 0
            wait = max(
                wait,
                rules.login_wait(
                    aware(row.window_start), row.attempts, limits[row.scope], s.login_window, now
                ),
            )
        if wait:
            log.warning("sign-in refused for %s s: too many attempts", wait)
            raise rules.login_throttled(wait)
        for row in rows:
            row.attempts += 1
        session.flush()

    def succeeded(self, session: Session, username: str, address: str | None) -> None:
        """A successful sign-in: the account's count starts again; the address's loses this
        attempt (other failures from that network still count)."""
        now = utcnow()
        for scope, key in rules.login_attempt_keys(username, address):
            row = repo.hold_login_attempt(session, scope, key, now)
            row.attempts = 0 if scope == "account" else max(0, row.attempts - 1)
        session.flush()


@cache
def _dummy_hash() -> str:
    """Made at the first sign-in, not at import: a strong argon2 hash costs a noticeable part of
    a second, which every `yaosu` command would otherwise pay at start."""
    return hash_password("not-a-real-password-" + new_id())


org_service = OrganizationService()
user_service = UserService()
token_service = TokenService()
auth_service = AuthService()
admission_service = AdmissionService()
login_throttle = LoginThrottleService()
