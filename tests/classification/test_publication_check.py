"""Grade and classification decide what may be opened 无条件开放 (issue 21 §3), through the
services on both databases: a publication is refused with the columns left unmasked and the k
that failed; masked, removed and generalized columns pass; sensitive columns are never opened
unmasked whatever a review says; a stale page is refused; and every refusal leaves the resource
as it was."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, mobile, name, resident_id
from tests.fixtures.identity import SYSTEM, create_org, create_user
from yaosu.catalog.service import dataset_service, resource_service, snapshot
from yaosu.catalog.tasks import run_in_session
from yaosu.classification import schemas
from yaosu.classification.service import classification_service, opening_service
from yaosu.config import reset_settings
from yaosu.identity.rules import ALL_SCOPES
from yaosu.identity.service import token_service
from yaosu.identity.subject import Subject
from yaosu.kit.canonical import canonical_json, digest
from yaosu.kit.errors import Conflict, Forbidden, NotFound
from yaosu.ledger.service import ledger_service
from yaosu.models.identity import User


def as_user(user: User) -> Subject:
    return token_service.subject_of(user, ALL_SCOPES, None, "test")


def ingest(session: Session, subject: Subject, resource_id: str, rows: list[dict[str, Any]]) -> Any:
    body = csv_bytes(rows)
    job = dataset_service.stage_upload(
        session, subject, resource_id, "p.csv", lambda p: p.write_bytes(body), {}
    )
    job = run_in_session(session, job.id)
    assert job.status == "succeeded", job.error
    return dataset_service.version(session, SYSTEM, job.version_id or "")


def people(n: int, seed: int = 3) -> list[dict[str, Any]]:
    """Identifiers (masked by the default policy) and no quasi-identifier: k does not apply."""
    rng = random.Random(seed)
    return [
        {"sfzh": resident_id(rng), "xm": name(rng), "sjhm": mobile(rng), "je": i} for i in range(n)
    ]


def cohort(n: int, per_year: int, seed: int = 5) -> list[dict[str, Any]]:
    """Birth dates generalized to the year (a quasi-identifier), ``per_year`` people a year,
    names masked, an IP address (pseudonymized by default: removed when opened)."""
    rng = random.Random(seed)
    return [
        {
            "xm": name(rng),
            "csrq": (
                date(1960 + i // per_year, 1, 1) + timedelta(days=rng.randrange(360))
            ).isoformat(),
            "ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "je": rng.randrange(100, 999),
        }
        for i in range(n)
    ]


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    gaj = create_org(session, "公安局")
    authority = create_org(session, "大数据局")
    other = create_org(session, "人社局")
    return dict(
        gaj=gaj,
        officer=as_user(create_user(session, gaj, "officer.g", "data_officer")),
        reviewer=as_user(create_user(session, authority, "reviewer.d", "reviewer")),
        stranger=as_user(create_user(session, other, "officer.r", "data_officer")),
    )


def submitted(
    session: Session, w: dict[str, Any], rows: list[dict[str, Any]], **kw: Any
) -> tuple[Any, Any]:
    """A never-published 无条件开放 resource with one version, submitted for review."""
    kw.setdefault("open_attribute", "unconditional")
    r = create_resource(
        session, w["gaj"], name=f"开放{random.random()}", share_attribute="unconditional", **kw
    )
    version = ingest(session, w["officer"], r.id, rows)
    resource_service.submit(session, SYSTEM, r.id)
    return r, version


def review(session: Session, w: dict[str, Any], version: Any, column: str, **kw: Any) -> None:
    classification_service.review_field(
        session,
        w["officer"],
        version.id,
        schemas.FieldReview(column=column, reason="业务上不是个人信息", **kw),
    )


def refused(session: Session, w: dict[str, Any], resource: Any, **kw: Any) -> Conflict:
    with pytest.raises(Conflict) as caught:
        resource_service.publish(session, w["reviewer"], resource.id, **kw)
    session.refresh(resource)
    assert resource.status == "submitted" and resource.registration_code is None
    assert "catalog.resource_published" not in trail(session, resource.id)
    return caught.value


def trail(session: Session, subject_id: str) -> list[str]:
    entries, _ = ledger_service.trail(session, subject_id, 500, 0)
    return [e.type for e in entries]


def failing(exc: Conflict) -> dict[str, str]:
    return {c["column"]: c["problem"] for c in exc.details["failing_columns"]}


# --- unmasked personal information ---------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        {"pi_class": "none"},  # "not personal"
        {"type": "none"},  # "no type": the class follows
        {"type": "uscc"},  # another type that is not personal
    ],
    ids=["class_none", "type_none", "type_uscc"],
)
def test_unmasked_name_phone_and_resident_id_are_refused_with_the_columns(
    session: Session, world: dict[str, Any], change: dict[str, str]
) -> None:
    r, version = submitted(session, world, people(40))
    for column in ("xm", "sjhm", "sfzh"):
        review(session, world, version, column, **change)
    exc = refused(session, world, r)
    assert exc.code == "open_check_failed" and exc.status == 409
    assert failing(exc) == {
        "xm": "unmasked",
        "sjhm": "unmasked",
        "sfzh": "sensitive_unmasked",
    }
    for column in ("xm", "sjhm", "sfzh"):
        assert column in exc.message and column in exc.message_zh


def test_one_unmasked_column_among_masked_ones_is_named_alone(
    session: Session, world: dict[str, Any]
) -> None:
    r, version = submitted(session, world, people(40))
    review(session, world, version, "sjhm", pi_class="none")
    exc = refused(session, world, r)
    assert failing(exc) == {"sjhm": "unmasked"}


def test_sensitive_columns_are_refused_even_after_reviews_and_grade_approval(
    session: Session, world: dict[str, Any]
) -> None:
    r, version = submitted(session, world, people(40))
    review(session, world, version, "sfzh", type="none", pi_class="none")
    vc = classification_service.get(session, world["officer"], version.id)
    classification_service.review_grade(
        session,
        world["reviewer"],
        version.id,
        schemas.GradeReview(grade="general_1", reason="审核员认可：可以开放"),
    )
    assert vc.grade == "general_1"
    exc = refused(session, world, r)
    assert failing(exc) == {"sfzh": "sensitive_unmasked"}
    # The platform admin and the system are no different.
    with pytest.raises(Conflict):
        resource_service.publish(session, SYSTEM, r.id)


# --- masked, removed, generalized ----------------------------------------------------------------
def test_masked_removed_and_generalized_columns_are_accepted(
    session: Session, world: dict[str, Any]
) -> None:
    r, version = submitted(session, world, cohort(60, per_year=6))
    check = opening_service.check(session, r)
    ops = {c.column: c.op for c in check.columns}
    assert ops == {"xm": "mask", "csrq": "generalize", "ip": "suppress", "je": None}
    assert check.quasi_identifiers == ("csrq",) and check.k == 6 and check.ok
    resource_service.publish(
        session,
        world["reviewer"],
        r.id,
        version_id=version.id,
        findings_digest=check.digest,
    )
    assert r.status == "published"
    # The ledger entry commits to the check that was passed (its payload digest).
    entries, _ = ledger_service.trail(session, r.id, 50, 0)
    published = next(e for e in entries if e.type == "catalog.resource_published")
    summary = opening_service.check(session, r).summary()
    assert summary["passed"] is True and summary["k"] == 6 and summary["min_k"] == 5
    payload = {
        "version": r.catalog_version,
        "snapshot_sha256": digest(snapshot(r)),
        "publication_check": summary,
    }
    entry = json.loads(bytes(published.entry))
    assert entry["payload_sha256"] == hashlib.sha256(canonical_json(payload)).hexdigest()


def test_masked_identifiers_without_quasi_identifiers_are_accepted(
    session: Session, world: dict[str, Any]
) -> None:
    r, _ = submitted(session, world, people(40))
    check = opening_service.check(session, r)
    assert {c.column: c.op for c in check.columns if c.op} == {
        "sfzh": "mask",
        "xm": "mask",
        "sjhm": "mask",
    }
    assert check.k is None and check.ok
    resource_service.publish(session, world["reviewer"], r.id)
    assert r.status == "published"


# --- k-anonymity ---------------------------------------------------------------------------------
def test_k_below_the_threshold_is_refused_with_the_k(
    session: Session, world: dict[str, Any]
) -> None:
    r, _ = submitted(session, world, cohort(60, per_year=3))
    exc = refused(session, world, r)
    assert exc.details["k"] == 3 and exc.details["min_k"] == 5
    assert exc.details["quasi_identifiers"] == ["csrq"] and not exc.details["failing_columns"]
    assert "k = 3" in exc.message and "k = 3" in exc.message_zh


def test_named_quasi_identifiers_count_and_the_threshold_is_a_setting(
    session: Session, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = cohort(60, per_year=10)
    for i, row in enumerate(rows):
        row["xb"] = "男" if i % 4 else "女"  # sex: a quasi-identifier by its name
    r, _ = submitted(session, world, rows)
    exc = refused(session, world, r)
    assert set(exc.details["quasi_identifiers"]) == {"csrq", "xb"}
    k = exc.details["k"]
    assert 1 <= k < 5
    monkeypatch.setenv("YAOSU_OPEN_MIN_K", str(k))
    reset_settings()
    try:
        resource_service.publish(session, world["reviewer"], r.id)
        assert r.status == "published"
    finally:
        monkeypatch.delenv("YAOSU_OPEN_MIN_K")
        reset_settings()


# --- grade, classification and what the check applies to ----------------------------------------
def test_core_or_important_data_and_unclassified_versions_are_not_opened(
    session: Session, world: dict[str, Any]
) -> None:
    r, version = submitted(session, world, cohort(30, per_year=10))
    classification_service.review_grade(
        session,
        world["reviewer"],
        version.id,
        schemas.GradeReview(grade="important", reason="列入重要数据"),
    )
    exc = refused(session, world, r)
    assert exc.details["grade"] == "important"
    other, version2 = submitted(session, world, cohort(30, per_year=10))
    vc = classification_service.get(session, SYSTEM, version2.id)
    for f in list(vc.fields):
        session.delete(f)
    session.delete(vc)
    session.flush()
    exc = refused(session, world, other)
    assert exc.details["classified"] is False


def test_conditional_and_closed_resources_are_published_as_before(
    session: Session, world: dict[str, Any]
) -> None:
    for attribute in ("conditional", "none"):
        r, version = submitted(session, world, people(20), open_attribute=attribute)
        review(session, world, version, "sfzh", pi_class="none")
        resource_service.publish(session, world["reviewer"], r.id)
        assert r.status == "published"


def test_a_resource_published_without_data_is_checked_when_rows_are_served(
    session: Session, world: dict[str, Any]
) -> None:
    """Opening happens when rows leave: a version that becomes current later, or a review made
    after publication, is checked by the open-data service before any row is served."""
    from yaosu.opendata.service import open_catalog

    r = create_resource(
        session,
        world["gaj"],
        publish=True,
        name="先发布后上传",
        share_attribute="unconditional",
        open_attribute="unconditional",
    )
    version = ingest(session, world["officer"], r.id, people(40))
    session.refresh(r)
    assert r.current_version_id == version.id
    assert open_catalog.source(session, r).policy.name == "open"
    review(session, world, version, "sfzh", pi_class="none")
    with pytest.raises(Forbidden) as caught:
        open_catalog.source(session, r)
    assert caught.value.code == "not_openable"
    assert {c["column"] for c in caught.value.details["failing_columns"]} == {"sfzh"}
    assert open_catalog.view(session, r).downloadable is False


# --- a stale page ------------------------------------------------------------------------------
def test_a_stale_page_is_refused_when_the_findings_or_the_version_changed(
    session: Session, world: dict[str, Any]
) -> None:
    r, version = submitted(session, world, cohort(60, per_year=6))
    shown = opening_service.check(session, r)
    # The findings change after the page was shown (a review; the check would still pass).
    review(session, world, version, "je", type="none", pi_class="general")
    exc = refused(session, world, r, version_id=version.id, findings_digest=shown.digest)
    assert exc.code == "stale_findings"
    # A newer version became current after the page was shown.
    newer = ingest(session, world["officer"], r.id, cohort(60, per_year=6, seed=9))
    session.refresh(r)
    assert r.current_version_id == newer.id
    now = opening_service.check(session, r)
    exc = refused(session, world, r, version_id=version.id, findings_digest=now.digest)
    assert exc.code == "stale_findings" and exc.details["version_id"] == newer.id
    # A forged or garbled digest is stale too; the page of now publishes.
    assert refused(session, world, r, findings_digest="0" * 64).code == "stale_findings"
    resource_service.publish(
        session, world["reviewer"], r.id, version_id=newer.id, findings_digest=now.digest
    )
    assert r.status == "published"


def test_the_card_is_for_the_authority_and_the_provider(
    session: Session, world: dict[str, Any]
) -> None:
    r, _ = submitted(session, world, people(20))
    assert opening_service.card(session, world["reviewer"], r.id).version_id
    assert opening_service.card(session, world["officer"], r.id).version_id
    with pytest.raises(NotFound):  # another unit does not see a submitted entry at all
        opening_service.card(session, world["stranger"], r.id)
    resource_service.publish(session, world["reviewer"], r.id)
    with pytest.raises(Forbidden):  # nor the findings of a published one
        opening_service.card(session, world["stranger"], r.id)
