"""Classification through the services on both databases: every ingest is classified and graded,
the important-data catalog raises grades, data officers review fields and grades with reasons
in the ledger, and masked exports are correct, consistent and refused before writing."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.identity import SYSTEM, create_org, create_user
from yaosu.catalog.service import dataset_service
from yaosu.catalog.tasks import run_in_session
from yaosu.classification import schemas
from yaosu.classification.service import (
    classification_service,
    important_data_service,
    masking_service,
)
from yaosu.config import get_settings
from yaosu.identity.rules import ALL_SCOPES
from yaosu.identity.service import token_service
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Conflict, Forbidden, Invalid
from yaosu.ledger.service import ledger_service
from yaosu.models.identity import User


def as_user(user: User) -> Subject:
    return token_service.subject_of(user, ALL_SCOPES, None, "test")


def ingest(session: Session, subject: Subject, resource_id: str, body: bytes, name: str) -> Any:
    job = dataset_service.stage_upload(
        session, subject, resource_id, name, lambda p: p.write_bytes(body), {}
    )
    job = run_in_session(session, job.id)
    assert job.status == "succeeded", job.error
    return dataset_service.version(session, SYSTEM, job.version_id or "")


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    gaj = create_org(session, "公安局")
    authority = create_org(session, "大数据局")
    other = create_org(session, "人社局")
    officer = as_user(create_user(session, gaj, "officer.g", "data_officer"))
    reviewer = as_user(create_user(session, authority, "reviewer.d", "reviewer"))
    stranger = as_user(create_user(session, other, "officer.r", "data_officer"))
    resource = create_resource(session, gaj, publish=True)
    version = ingest(session, officer, resource.id, csv_bytes(people_rows(300)), "people.csv")
    return dict(
        officer=officer,
        reviewer=reviewer,
        stranger=stranger,
        resource=resource,
        version=version,
        gaj=gaj,
    )


def trail(session: Session, subject_id: str) -> list[str]:
    entries, _ = ledger_service.trail(session, subject_id, 500, 0)
    return [e.type for e in entries]


def fields(vc: Any) -> dict[str, Any]:
    return {f.column: f for f in vc.fields}


def entry(**kw: Any) -> schemas.ImportantEntryCreate:
    return schemas.ImportantEntryCreate(
        **{"sector": "政务", "name": "人口基础信息", "code_prefixes": ["10101"], **kw}
    )


def test_ingest_classifies_and_grades_the_version(session: Session, world: Any) -> None:
    vc = classification_service.get(session, world["officer"], world["version"].id)
    f = fields(vc)
    assert f["sfzh"].type == "resident_id" and f["sfzh"].pi_class == "sensitive"
    assert f["sfzh"].valid == f["sfzh"].non_null == 300 and f["sfzh"].confidence > 0.95
    assert f["sjhm"].type == "mobile" and f["sjhm"].pi_class == "general"
    assert f["xm"].type == "person_name"
    assert f["ddh"].type is None and f["je"].type is None  # decoys
    assert {x.status for x in vc.fields} == {"proposed"}
    assert vc.proposed_grade == vc.grade == "general_4"
    assert vc.proposal["rule_id"] == "sensitive_personal"
    assert world["resource"].grade == "general_4"  # the current version's grade is the facet
    assert "classification.version_classified" in trail(session, world["version"].id)
    assert "catalog.grade_set" in trail(session, world["resource"].id)


def test_important_data_catalog_raises_the_grade(session: Session, world: Any) -> None:
    e = important_data_service.create(session, world["reviewer"], entry())
    vc = classification_service.classify(session, world["officer"], world["version"].id)
    assert vc.grade == "important" and vc.catalog_entries == [e.id]
    assert vc.proposal["rule_id"] == "important_catalog"
    assert "sensitive_personal" in vc.proposal["matched"]
    assert world["resource"].grade == "important"
    # The provider may not grade a catalogued resource lower; the data authority may.
    low = schemas.GradeReview(grade="general_4", reason="仅含脱敏后字段")
    with pytest.raises(Forbidden) as exc:
        classification_service.review_grade(session, world["officer"], world["version"].id, low)
    assert exc.value.code == "catalog_listed"
    vc = classification_service.review_grade(session, world["reviewer"], world["version"].id, low)
    assert vc.grade == "general_4" and vc.status == "changed"
    # Retiring the entry takes it out of later proposals.
    important_data_service.retire(session, world["reviewer"], e.id, "目录调整")
    vc = classification_service.classify(session, world["officer"], world["version"].id)
    assert vc.grade == "general_4" and vc.catalog_entries == []
    with pytest.raises(Conflict):
        important_data_service.retire(session, world["reviewer"], e.id, "again")


def test_only_the_authority_keeps_the_catalog(session: Session, world: Any) -> None:
    with pytest.raises(Forbidden):
        important_data_service.create(session, world["officer"], entry())
    with pytest.raises(Invalid) as exc:
        important_data_service.create(session, world["reviewer"], entry(code_prefixes=[]))
    assert exc.value.code == "entry_matches_nothing"
    rows, total = important_data_service.listing(session, world["officer"], None, 10, 0)
    assert total == 0 and list(rows) == []


def test_field_review_needs_a_reason_and_regrades(session: Session, world: Any) -> None:
    vid = world["version"].id
    officer = world["officer"]
    with pytest.raises(Invalid) as exc:
        classification_service.review_field(
            session, officer, vid, schemas.FieldReview(column="sfzh", type="none")
        )
    assert exc.value.code == "reason_required"
    vc = classification_service.review_field(
        session, officer, vid, schemas.FieldReview(column="xm")
    )
    assert fields(vc)["xm"].status == "accepted"
    for column in ("sfzh",):
        vc = classification_service.review_field(
            session,
            officer,
            vid,
            schemas.FieldReview(column=column, type="none", reason="测试号段，非真实身份证号"),
        )
    f = fields(vc)["sfzh"]
    assert (f.type, f.pi_class, f.status) == (None, "none", "changed")
    assert f.detected_type == "resident_id"
    assert vc.proposed_grade == vc.grade == "general_2"  # name and mobile remain
    assert trail(session, vid).count("classification.field_reviewed") == 2
    with pytest.raises(Invalid):
        classification_service.review_field(
            session, officer, vid, schemas.FieldReview(column="xm", type="fingerprint", reason="x")
        )
    with pytest.raises(Exception) as missing:
        classification_service.review_field(
            session, officer, vid, schemas.FieldReview(column="nope")
        )
    assert getattr(missing.value, "status", None) == 404


def test_grade_review(session: Session, world: Any) -> None:
    vid = world["version"].id
    vc = classification_service.review_grade(
        session, world["officer"], vid, schemas.GradeReview(grade="general_4")
    )
    assert vc.status == "accepted" and vc.grade_reason is None
    with pytest.raises(Invalid):
        classification_service.review_grade(
            session, world["officer"], vid, schemas.GradeReview(grade="general_1")
        )
    with pytest.raises(Invalid):
        classification_service.review_grade(
            session, world["officer"], vid, schemas.GradeReview(grade="top", reason="x")
        )
    vc = classification_service.review_grade(
        session,
        world["officer"],
        vid,
        schemas.GradeReview(grade="important", reason="涉及重点人员"),
    )
    assert (vc.grade, vc.status, world["resource"].grade) == ("important", "changed", "important")


def test_other_units_see_and_review_nothing(session: Session, world: Any) -> None:
    vid = world["version"].id
    with pytest.raises(Forbidden):
        classification_service.get(session, world["stranger"], vid)
    with pytest.raises(Forbidden):
        classification_service.review_field(
            session, world["stranger"], vid, schemas.FieldReview(column="xm")
        )
    with pytest.raises(Forbidden):
        masking_service.export(session, world["stranger"], vid, "default", None, "csv")


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))


def test_default_masked_export_masks_every_personal_field(session: Session, world: Any) -> None:
    vid = world["version"].id
    out = masking_service.export(session, world["officer"], vid, "default", None, "csv")
    try:
        rows = read_csv(out.path)
    finally:
        out.path.unlink()
    src = people_rows(300)
    assert out.rows == len(rows) == 300
    for masked, original in zip(rows, src, strict=True):
        assert re.fullmatch(r"\d{6}\*{8}[\dX]{4}", masked["sfzh"])
        assert masked["sfzh"][:6] == str(original["sfzh"])[:6]
        assert masked["sfzh"][-4:] == str(original["sfzh"])[-4:]
        assert masked["sjhm"] != original["sjhm"] and "*" in masked["sjhm"]
        assert masked["ddh"] == original["ddh"]  # not personal: untouched
    assert "classification.masked_export" in trail(session, vid)


def test_pseudonyms_are_consistent_across_versions(session: Session, world: Any) -> None:
    rules = {"sfzh": {"op": "pseudonymize"}}
    v2 = ingest(
        session,
        world["officer"],
        world["resource"].id,
        csv_bytes(list(reversed(people_rows(300)))),
        "again.csv",
    )
    outs = [
        masking_service.export(session, world["officer"], v, None, rules, "csv")
        for v in (world["version"].id, v2.id)
    ]
    try:
        a, b = (read_csv(o.path) for o in outs)
    finally:
        for o in outs:
            o.path.unlink()
    assert [r["sfzh"] for r in a] == [r["sfzh"] for r in reversed(b)]
    assert all(len(r["sfzh"]) >= 16 and r["sfzh"] != "" for r in a)
    assert len({r["sfzh"] for r in a}) == 300


def test_invalid_policy_is_refused_before_anything_is_written(session: Session, world: Any) -> None:
    folder = Path(get_settings().data_dir) / "exports"
    before = set(folder.glob("*")) if folder.exists() else set()
    with pytest.raises(Invalid):
        masking_service.export(
            session,
            world["officer"],
            world["version"].id,
            None,
            {"no_such_column": {"op": "suppress"}},
            "csv",
        )
    after = set(folder.glob("*")) if folder.exists() else set()
    assert after == before


def test_saved_policies(session: Session, world: Any) -> None:
    officer = world["officer"]
    data = schemas.MaskingPolicyCreate(
        name="对外提供", rules={"xm": {"op": "mask", "format": "person_name"}}
    )
    p = masking_service.create(session, officer, data)
    assert [x.name for x in masking_service.policies(session, officer)] == ["对外提供"]
    assert masking_service.policies(session, world["stranger"]) == []
    with pytest.raises(Conflict):
        masking_service.create(session, officer, data)
    with pytest.raises(Conflict):
        masking_service.create(
            session, officer, schemas.MaskingPolicyCreate(name="default", rules=data.rules)
        )
    with pytest.raises(Invalid):
        masking_service.create(
            session,
            officer,
            schemas.MaskingPolicyCreate(name="bad", rules={"xm": {"op": "explode"}}),
        )
    with pytest.raises(Invalid) as empty:  # a policy a user writes needs a rule
        masking_service.create(session, officer, schemas.MaskingPolicyCreate(name="空", rules={}))
    assert [p["problem"] for p in empty.value.details["problems"]] == ["no_rules"]
    with pytest.raises(Invalid) as short:  # shape problems are told in Chinese too
        masking_service.create(
            session,
            officer,
            schemas.MaskingPolicyCreate(
                name="短", rules={"xm": {"op": "pseudonymize", "length": 4}}
            ),
        )
    assert "应大于或等于 16" in short.value.message_zh
    out = masking_service.export(session, officer, world["version"].id, p.name, None, "csv")
    try:
        rows = read_csv(out.path)
    finally:
        out.path.unlink()
    assert all(r["xm"].endswith("*") for r in rows)
    assert rows[0]["sfzh"] == people_rows(1)[0]["sfzh"]  # only xm is masked by this policy


def test_a_broken_node_rule_table_leaves_versions_unclassified_not_lost(
    session: Session, world: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "grading.yaml"
    broken.write_text("groups: {a: [group:b], b: [group:a]}\n", encoding="utf-8")
    monkeypatch.setattr(get_settings(), "grading_rules", broken)
    v2 = ingest(session, world["officer"], world["resource"].id, csv_bytes(people_rows(5)), "p.csv")
    assert v2.rows == 5  # the version landed
    with pytest.raises(Exception) as exc:
        classification_service.get(session, world["officer"], v2.id)
    assert getattr(exc.value, "status", None) == 404
    assert "classification.version_unclassified" in trail(session, v2.id)
    with pytest.raises(Invalid) as refused:
        classification_service.classify(session, world["officer"], v2.id)
    assert "cycle" in refused.value.message
    monkeypatch.setattr(get_settings(), "grading_rules", None)
    assert classification_service.classify(session, world["officer"], v2.id).rows == 5
