"""Identity services on SQLite and PostgreSQL: happy paths, and bad input that changes nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.fixtures.identity import PASSWORD, SYSTEM, create_org, create_user, login, make_uscc
from yaosu.identity import schemas
from yaosu.identity.service import (
    admission_service,
    auth_service,
    org_service,
    token_service,
    user_service,
)
from yaosu.kit.crypto import public_bytes
from yaosu.kit.errors import Conflict, Forbidden, Invalid, Unauthenticated
from yaosu.kit.timeutil import utcnow
from yaosu.ledger.service import ledger_service
from yaosu.models.identity import ApiToken, Organization, User
from yaosu.models.ledger import LedgerEntry


def counts(session):
    return tuple(
        session.execute(select(func.count()).select_from(m)).scalar_one()
        for m in (Organization, User, ApiToken, LedgerEntry)
    )


def test_org_gets_did_and_a_sealed_key_that_signs(session):
    org = create_org(session, "示范市公安局")
    assert org.did == f"did:web:yaosu.localhost:org:{org.id}"
    key = org_service.signing_key(session, org.id)
    assert public_bytes(key.public_key()) == org_service.active_key(org).public_key
    assert org_service.active_key(org).sealed_private != b""
    key.public_key().verify(key.sign(b"data"), b"data")
    doc = org_service.did_document(session, org.id)
    assert doc["id"] == org.did
    assert doc["verificationMethod"][0]["publicKeyMultibase"].startswith("z6Mk")
    trail, _ = ledger_service.trail(session, org.id, 10, 0)
    assert [e.type for e in trail] == ["identity.org_created"]


def test_malformed_uscc_is_refused_and_changes_nothing(session):
    before = counts(session)
    good = make_uscc()
    bad = good[:17] + ("0" if good[17] != "0" else "1")  # the same code, a wrong check character
    with pytest.raises(Invalid) as exc:
        org_service.create(
            session, SYSTEM, schemas.OrgCreate(name="坏代码公司", kind="enterprise", uscc=bad)
        )
    assert exc.value.code == "uscc_invalid"
    assert "check character" in exc.value.message and "校验" not in exc.value.message
    assert counts(session) == before


def test_duplicate_uscc_and_username_conflict(session):
    code = make_uscc()
    org = create_org(session, "甲公司", kind="enterprise", uscc=code)
    with pytest.raises(Conflict, match="already registered"):
        create_org(session, "乙公司", kind="enterprise", uscc=code)
    create_user(session, org, "zhang")
    before = counts(session)
    with pytest.raises(Conflict) as exc:
        create_user(session, org, "zhang")
    assert exc.value.code == "username_taken"
    assert counts(session) == before


def test_enterprises_need_a_uscc(session):
    with pytest.raises(Invalid, match="needs a unified social credit code"):
        org_service.create(session, SYSTEM, schemas.OrgCreate(name="无码公司", kind="enterprise"))


def test_login_wrong_password_and_unknown_user_look_the_same(session):
    org = create_org(session)
    create_user(session, org, "li.lei")
    for username, password in (("li.lei", "wrong-password"), ("nobody", PASSWORD)):
        with pytest.raises(Unauthenticated) as exc:
            auth_service.login(session, username, password, None)
        assert exc.value.code == "invalid_credentials"


def test_tokens_expire_and_revoke(session):
    org = create_org(session)
    user = create_user(session, org, "wang")
    secret = login(session, "wang")
    subject = token_service.resolve(session, secret)
    assert subject.user_id == user.id and subject.org_id == org.id
    token = session.get(ApiToken, subject.token_id)
    token.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(Unauthenticated) as exc:
        token_service.resolve(session, secret)
    assert exc.value.code == "token_expired"
    api_token, api_secret = token_service.create(
        session, subject, schemas.TokenCreate(name="etl", scopes=["identity:read"])
    )
    assert token_service.resolve(session, api_secret).scopes == frozenset({"identity:read"})
    token_service.revoke(session, subject, api_token.id)
    with pytest.raises(Unauthenticated) as exc:
        token_service.resolve(session, api_secret)
    assert exc.value.code == "token_revoked"
    with pytest.raises(Conflict):
        token_service.revoke(session, subject, api_token.id)
    with pytest.raises(Unauthenticated) as exc:
        token_service.resolve(session, "ys_forged-token")
    assert exc.value.code == "token_invalid"


def test_token_scopes_cannot_exceed_the_callers(session):
    org = create_org(session)
    create_user(session, org, "zhao")
    narrow = token_service.resolve(
        session, auth_service.login(session, "zhao", PASSWORD, ["identity:read"])[1]
    )
    with pytest.raises(Forbidden) as exc:
        token_service.create(
            session, narrow, schemas.TokenCreate(name="x", scopes=["identity:write"])
        )
    assert exc.value.code == "scope_exceeds"


def test_tokens_are_stored_hashed(session):
    org = create_org(session)
    create_user(session, org, "qian")
    secret = login(session, "qian")
    stored = session.execute(select(ApiToken.token_hash)).scalars().all()
    assert secret not in stored and all(len(h) == 64 for h in stored)


def test_suspended_org_cannot_log_in_and_resume_restores(session):
    org = create_org(session)
    create_user(session, org, "sun.li")
    org_service.change_status(session, SYSTEM, org.id, "suspended", "违规")
    with pytest.raises(Forbidden) as exc:
        auth_service.login(session, "sun.li", PASSWORD, None)
    assert exc.value.code == "org_suspended"
    org_service.change_status(session, SYSTEM, org.id, "active", "整改完成")
    assert login(session, "sun.li")
    types = [e.type for e in ledger_service.trail(session, org.id, 10, 0)[0]]
    assert types == [
        "identity.org_created",
        "identity.user_created",
        "identity.org_suspended",
        "identity.org_resumed",
    ]


def test_cdo_manages_only_own_unit_and_cannot_grant_privileged_roles(session):
    a, b = create_org(session, "甲局"), create_org(session, "乙局")
    cdo = create_user(session, a, "cdo.a", "cdo")
    subject = token_service.resolve(session, login(session, "cdo.a"))
    user_service.create(
        session,
        subject,
        schemas.UserCreate(username="a.member", display_name="m", password=PASSWORD, org_id=a.id),
    )
    with pytest.raises(Forbidden):
        user_service.create(
            session,
            subject,
            schemas.UserCreate(
                username="b.member", display_name="m", password=PASSWORD, org_id=b.id
            ),
        )
    with pytest.raises(Forbidden) as exc:
        user_service.create(
            session,
            subject,
            schemas.UserCreate(
                username="a.admin",
                display_name="m",
                password=PASSWORD,
                org_id=a.id,
                roles=["platform_admin"],
            ),
        )
    assert exc.value.code == "role_not_grantable"
    assert cdo.role_names == ["cdo"]


def test_deactivated_user_loses_tokens(session):
    org = create_org(session)
    user = create_user(session, org, "zhou")
    secret = login(session, "zhou")
    user_service.deactivate(session, SYSTEM, user.id)
    with pytest.raises(Unauthenticated):
        token_service.resolve(session, secret)
    with pytest.raises(Unauthenticated) as exc:
        auth_service.login(session, "zhou", PASSWORD, None)
    assert exc.value.code == "account_disabled"


def admission_request(**kw):
    data = dict(
        org_name="示范运营公司",
        requested_kind="operator",
        uscc=make_uscc(),
        statement="具备运营资质",
        contact_username="op.contact",
        contact_display_name="联系人",
        contact_password=PASSWORD,
    )
    data.update(kw)
    return schemas.AdmissionCreate(**data)


def test_admission_approve_activates_the_org(session):
    admission = admission_service.apply(session, admission_request())
    assert admission.org.status == "pending" and admission.status == "submitted"
    pending = token_service.resolve(session, login(session, "op.contact"))
    assert pending.org_status == "pending"
    reviewer_org = create_org(session, "大数据局")
    create_user(session, reviewer_org, "rev", "reviewer")
    reviewer = token_service.resolve(session, login(session, "rev"))
    admission_service.decide(session, reviewer, admission.id, True, None)
    assert admission.org.status == "active" and admission.decided_by == reviewer.user_id
    with pytest.raises(Conflict):
        admission_service.decide(session, reviewer, admission.id, False, "again")
    types = [e.type for e in ledger_service.trail(session, admission.id, 10, 0)[0]]
    assert types == ["identity.admission_submitted", "identity.admission_approved"]


def test_resume_cannot_skip_admission(session):
    """Resuming a pending unit would activate it without its admission being decided."""
    admission = admission_service.apply(session, admission_request())
    bureau = create_org(session, "大数据局")
    create_user(session, bureau, "adm", "platform_admin")
    admin = token_service.resolve(session, login(session, "adm"))
    for target in ("active", "exited", "suspended"):
        with pytest.raises(Conflict) as caught:
            org_service.change_status(session, admin, admission.org_id, target, "跳过准入")
        assert caught.value.code == "org_awaiting_admission"
    assert admission.org.status == "pending" and admission.status == "submitted"


def test_admission_rejection_needs_reason_and_keeps_org_out(session):
    admission = admission_service.apply(
        session,
        admission_request(
            requested_kind="service_provider",
            service_types=["notary"],
            contact_username="np.contact",
        ),
    )
    with pytest.raises(Invalid, match="needs a reason"):
        admission_service.decide(session, SYSTEM, admission.id, False, None)
    admission_service.decide(session, SYSTEM, admission.id, False, "资质不全")
    # The applicant may still sign in to read the decision; the API refuses everything else.
    subject = token_service.resolve(session, login(session, "np.contact"))
    assert subject.org_status == "rejected"
    assert admission_service.get(session, subject, admission.id).reason == "资质不全"


def test_admission_only_for_operators_and_providers(session):
    with pytest.raises(Invalid):
        admission_service.apply(session, admission_request(requested_kind="enterprise"))


def test_a_failed_unit_of_work_leaves_no_state_and_no_entry(engine):
    from yaosu.db import unit_of_work

    # A real commit/rollback cycle on its own connection: nothing half-made survives.
    with pytest.raises(Invalid), unit_of_work(engine) as s:
        org_service.create(
            s, SYSTEM, schemas.OrgCreate(name="半成品单位", kind="government", gov_level="city")
        )
        assert ledger_service.size(s) >= 1
        raise Invalid("boom", "失败")
    with unit_of_work(engine, write=False) as s:
        assert (
            s.execute(select(Organization).where(Organization.name == "半成品单位")).first() is None
        )
        assert (
            ledger_service.size(s)
            == s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
        )
