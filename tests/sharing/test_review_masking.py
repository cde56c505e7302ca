"""Masking of grants issued after a review, on both databases: every personal field masked by the
resource's default policy; a general field lifted only with a reason (kept on the request, the
grant and in the ledger); a sensitive one only by the data authority and only when the request's
legal basis names a law; a reviewer's own rule never revealing more than the one it replaces;
rules that do not fit their column's type refused at the decision — each refusal leaving the
request exactly as it was. The conditional-open channel and stale decisions too."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.identity import SYSTEM, bearer, create_org, create_user, login
from yaosu.catalog.service import dataset_service
from yaosu.catalog.tasks import run_in_session
from yaosu.classification import masking
from yaosu.classification import schemas as classification_schemas
from yaosu.classification.masking import Mask, Pseudonymize, Suppress
from yaosu.classification.service import classification_service
from yaosu.identity.rules import ALL_SCOPES
from yaosu.identity.service import token_service
from yaosu.identity.subject import Subject
from yaosu.kit.canonical import canonical_json
from yaosu.kit.errors import Conflict, Forbidden, Invalid
from yaosu.ledger.service import ledger_service
from yaosu.models.ledger import LedgerEntry
from yaosu.opendata import schemas as open_schemas
from yaosu.opendata.service import application_service
from yaosu.policy.model import parse_policy
from yaosu.sharing import rules, schemas
from yaosu.sharing.service import grant_service, request_service

PERSONAL = {"sfzh", "xm", "sjhm", "zz"}  # sfzh sensitive; name, mobile, address general


def as_user(user: Any) -> Subject:
    return token_service.subject_of(user, ALL_SCOPES, None, "test")


def ingest(session: Session, resource_id: str, rows: list[dict[str, object]]) -> Any:
    job = dataset_service.stage_upload(
        session, SYSTEM, resource_id, "p.csv", lambda p: p.write_bytes(csv_bytes(rows)), {}
    )
    job = run_in_session(session, job.id)
    assert job.status == "succeeded", job.error
    return dataset_service.version(session, SYSTEM, job.version_id or "")


@pytest.fixture
def city(session: Session) -> dict[str, Any]:
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    bureau = create_org(session, "大数据局")
    firm = create_org(session, "某科技公司", kind="enterprise")
    cond = create_resource(
        session,
        gaj,
        publish=True,
        name="户籍人口信息",
        share_attribute="conditional",
        share_conditions="仅限政务服务",
        open_attribute="conditional",
    )
    rows = people_rows(40, 5)
    for n, row in enumerate(rows):
        row["nl"] = 20 + n  # an integer column
    version = ingest(session, cond.id, rows)
    catalog_only = create_resource(
        session,
        gaj,
        publish=True,
        name="证件号码（整数存储）",
        share_attribute="conditional",
        share_conditions="仅限政务服务",
        fields=[
            {"name": "zjhm", "label_zh": "证件号码", "type": "integer"},
            {"name": "bz", "label_zh": "备注", "type": "string"},
        ],
    )
    return dict(
        cond=cond,
        version=version,
        catalog_only=catalog_only,
        provider=as_user(create_user(session, gaj, "officer.gaj", "data_officer")),
        consumer=as_user(create_user(session, mzj, "officer.mzj", "data_officer")),
        reviewer=as_user(create_user(session, bureau, "reviewer", "reviewer")),
        admin=as_user(create_user(session, bureau, "admin", "platform_admin")),
        firm=as_user(create_user(session, firm, "dev.firm", "data_officer")),
    )


def ask(
    session: Session,
    city: Any,
    legal_basis: str = "《中华人民共和国个人信息保护法》第十三条",
    **kw: Any,
) -> Any:
    data: dict[str, Any] = dict(
        resource_id=city["cond"].id,
        fields=["sfzh", "xm", "sjhm", "zz", "je", "nl"],
        purpose="government_service",
        purpose_text="窗口核验",
        legal_basis=legal_basis,
        term_days=180,
    )
    data.update(kw)
    return request_service.submit(session, city["consumer"], schemas.ShareRequestCreate(**data))


def approve(**narrowing: Any) -> schemas.Decision:
    return schemas.Decision(
        approve=True, reason="同意", narrowing=schemas.Narrowing(**narrowing) if narrowing else None
    )


def snapshot(req: Any) -> tuple[Any, ...]:
    return (req.status, json.dumps(req.narrowed, sort_keys=True), len(req.decisions), req.grant_id)


def refused(session: Session, who: Subject, req: Any, decision: schemas.Decision) -> Any:
    """Decide, expect a refusal, and check the request is exactly as it was."""
    before = snapshot(req)
    with pytest.raises((Invalid, Forbidden, Conflict)) as exc:
        request_service.decide(session, who, req.id, decision)
    session.refresh(req)
    assert snapshot(req) == before
    return exc.value


def grant_of(session: Session, city: Any, req: Any) -> Any:
    return grant_service.get(session, city["provider"], req.grant_id or "")


def masked(session: Session, city: Any, req: Any) -> dict[str, str]:
    return dict(parse_policy(grant_of(session, city, req).policy).terms.masked)


def payload_recorded(session: Session, subject_id: str, type_: str, payload: Any) -> bool:
    """Whether the ledger holds an entry of ``type_`` about the subject with this payload."""
    digest = hashlib.sha256(canonical_json(payload)).hexdigest()
    entries, _ = ledger_service.trail(session, subject_id, 500, 0)
    return any(
        e.type == type_
        and json.loads(session.get(LedgerEntry, e.idx).entry)["payload_sha256"]  # type: ignore[union-attr]
        == digest
        for e in entries
    )


# --- the default -------------------------------------------------------------------------------
def test_a_reviewed_grant_masks_every_personal_field_by_default(
    session: Session, city: Any
) -> None:
    req = ask(session, city)
    request_service.decide(session, city["provider"], req.id, approve())
    request_service.decide(session, city["reviewer"], req.id, approve())
    assert req.status == "approved"
    got = masked(session, city, req)
    assert set(got) == PERSONAL  # je and nl hold no personal information
    default = classification_service.personal_masking(session, city["cond"], req.fields)
    policy = parse_policy(grant_of(session, city, req).policy).terms.masking
    assert policy is not None
    for f in PERSONAL:  # each by its rule in the resource's default masking policy
        assert (
            policy.rules[f]
            == masking.parse_policy({"name": "d", "rules": {f: default[f][1]}}).rules[f]
        )
    assert default["sfzh"][0] == "sensitive" and default["xm"][0] == "general"
    assert grant_of(session, city, req).unmasked is None


def test_narrowing_fields_keeps_the_remaining_personal_fields_masked(
    session: Session, city: Any
) -> None:
    req = ask(session, city)
    request_service.decide(session, city["provider"], req.id, approve(fields=["xm", "je"]))
    request_service.decide(session, city["reviewer"], req.id, approve(term_days=30))
    assert masked(session, city, req) == {"xm": "mask"}


# --- general personal fields --------------------------------------------------------------------
@pytest.mark.parametrize("reason", ["", "   ", "\u3000\n\t"])
def test_lifting_a_general_field_without_a_reason_is_refused(
    session: Session, city: Any, reason: str
) -> None:
    req = ask(session, city)
    exc = refused(session, city["provider"], req, approve(unmask={"xm": reason}))
    assert exc.code == "unmask_reason_required" and exc.message_zh
    assert exc.details["field"] == "xm"
    request_service.decide(session, city["provider"], req.id, approve())
    exc = refused(session, city["reviewer"], req, approve(unmask={"zz": reason}))
    assert exc.code == "unmask_reason_required"


def test_a_general_field_lifted_with_a_reason_is_recorded_on_the_grant_and_in_the_ledger(
    session: Session, city: Any
) -> None:
    req = ask(session, city)
    why = "窗口核验须比对申请人姓名"
    request_service.decide(session, city["provider"], req.id, approve(unmask={"xm": f"  {why} "}))
    lift = req.narrowed["unmasked"]["xm"]
    assert lift["reason"] == why and lift["pi_class"] == "general" and lift["stage"] == "provider"
    assert lift["by"] == city["provider"].user_id and lift["law"] is None
    assert payload_recorded(
        session,
        req.id,
        "sharing.request_approved_by_provider",
        {"reason": "同意", "narrowed": req.narrowed},
    )
    request_service.decide(session, city["reviewer"], req.id, approve())
    assert set(masked(session, city, req)) == PERSONAL - {"xm"}
    grant = grant_of(session, city, req)
    assert grant.unmasked == {"xm": lift}
    assert schemas.Grant.model_validate(grant).unmasked == {"xm": lift}  # in the API's view
    assert payload_recorded(
        session,
        grant.id,
        "sharing.grant_issued",
        {"policy": grant.policy, "unmasked": {"xm": lift}},
    )


# --- sensitive personal fields ------------------------------------------------------------------
def test_only_the_data_authority_lifts_a_sensitive_field(session: Session, city: Any) -> None:
    req = ask(session, city)
    for who in ("provider", "admin"):  # a platform admin deciding at the provider's stage too
        exc = refused(session, city[who], req, approve(unmask={"sfzh": "核验需要"}))
        assert exc.code == "sensitive_unmask_authority_only" and exc.status == 403
    request_service.decide(session, city["provider"], req.id, approve())
    exc = refused(session, city["reviewer"], req, approve(unmask={"sfzh": " "}))
    assert exc.code == "unmask_reason_required"
    request_service.decide(
        session, city["reviewer"], req.id, approve(unmask={"sfzh": "依法核验身份"})
    )
    grant = grant_of(session, city, req)
    assert "sfzh" not in masked(session, city, req)
    assert grant.unmasked is not None
    entry = grant.unmasked["sfzh"]
    assert entry["stage"] == "authority" and entry["pi_class"] == "sensitive"
    assert entry["law"] == "《中华人民共和国个人信息保护法》"


@pytest.mark.parametrize(
    "basis",
    [
        "依法履职需要",
        "根据相关法律法规",
        "《关于开展居民身份核验工作的通知》",
        "《窗口服务实施方案》",
        "《法》",
        "《X法》",
        "<<个人信息保护法>>",
        "个人信息保护法",
    ],
)
def test_a_sensitive_field_stays_masked_when_the_legal_basis_names_no_law(
    session: Session, city: Any, basis: str
) -> None:
    req = ask(session, city, legal_basis=basis)
    request_service.decide(session, city["provider"], req.id, approve())
    exc = refused(session, city["reviewer"], req, approve(unmask={"sfzh": "核验需要"}))
    assert exc.code == "legal_basis_names_no_law" and "《" in exc.message_zh
    # A general field can still be lifted with a reason on such a basis.
    request_service.decide(session, city["reviewer"], req.id, approve(unmask={"xm": "比对姓名"}))
    assert set(masked(session, city, req)) == PERSONAL - {"xm"}


@pytest.mark.parametrize(
    ("basis", "law"),
    [
        ("《政务数据共享条例》", "《政务数据共享条例》"),
        ("依据《中华人民共和国民法典》第一千零三十四条", "《中华人民共和国民法典》"),
        ("《居民身份证法（2011年修正）》第十三条", "《居民身份证法》"),
        ("《山东省公共数据开放办法》", "《山东省公共数据开放办法》"),
        ("见《通知》及《数据安全法》", "《数据安全法》"),
    ],
)
def test_what_names_a_law(basis: str, law: str) -> None:
    assert rules.cited_law(basis) == law


# --- a reviewer's own rules -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "rule"),
    [
        ("sfzh", {"op": "mask", "keep_first": 64, "keep_last": 64}),
        ("sfzh", {"op": "hash"}),
        ("sfzh", {"op": "mask", "keep_first": 1, "keep_last": 1}),
        ("xm", {"op": "mask", "keep_first": 5}),
        ("zz", {"op": "generalize", "kind": "address_district"}),
        ("sjhm", {"op": "hash", "length": 16}),
    ],
)
def test_a_rule_revealing_more_than_the_default_is_refused(
    session: Session, city: Any, field: str, rule: dict[str, Any]
) -> None:
    req = ask(session, city)
    exc = refused(session, city["provider"], req, approve(masking={field: rule}))
    assert exc.code == "masking_not_narrower" and exc.details["field"] == field


def test_stronger_rules_are_taken_and_a_later_stage_cannot_weaken_them(
    session: Session, city: Any
) -> None:
    req = ask(session, city)
    request_service.decide(
        session,
        city["provider"],
        req.id,
        approve(
            masking={
                "sfzh": {"op": "suppress"},
                "xm": {"op": "pseudonymize"},
                "sjhm": {"op": "mask"},
                "je": {"op": "suppress"},  # a non-personal field may be masked at will
            }
        ),
    )
    for rule in ({"op": "pseudonymize"}, {"op": "mask"}):
        exc = refused(session, city["reviewer"], req, approve(masking={"sfzh": rule}))
        assert exc.code == "masking_not_narrower"
    exc = refused(session, city["reviewer"], req, approve(unmask={"xm": "比对姓名"}))
    assert exc.code == "masked_by_earlier_review" and exc.status == 422
    request_service.decide(session, city["reviewer"], req.id, approve())
    assert masked(session, city, req) == {
        "sfzh": "suppress",
        "xm": "pseudonymize",
        "sjhm": "mask",
        "zz": "mask",
        "je": "suppress",
    }


def test_unmask_requests_that_make_no_sense_are_refused(session: Session, city: Any) -> None:
    req = ask(session, city)
    exc = refused(session, city["provider"], req, approve(unmask={"je": "金额无需脱敏"}))
    assert exc.code == "not_masked_by_default"
    exc = refused(session, city["provider"], req, approve(unmask={"ddh": "未申请"}))
    assert exc.code == "fields_not_requested"
    exc = refused(
        session,
        city["provider"],
        req,
        approve(fields=["sfzh", "je"], unmask={"xm": "已被收窄"}),
    )
    assert exc.code == "fields_not_requested"
    exc = refused(
        session,
        city["provider"],
        req,
        approve(unmask={"xm": "比对"}, masking={"xm": {"op": "suppress"}}),
    )
    assert exc.code == "masking_conflict"
    exc = refused(session, city["provider"], req, approve(masking={"ddh": {"op": "suppress"}}))
    assert exc.code == "fields_not_requested"


# --- rules that do not fit the column's type ---------------------------------------------------
@pytest.mark.parametrize(
    "rule",
    [
        {"nl": {"op": "mask", "format": "resident_id"}},  # a resident-ID mask on an integer
        {"nl": {"op": "mask", "format": "person_name"}},
        {"je": {"op": "mask", "format": "resident_id"}},  # on a float
        {"xm": {"op": "date_shift", "days": 3}},  # a date shift on text
        {"nl": {"op": "generalize", "kind": "address_district"}},
    ],
)
def test_a_masking_rule_that_does_not_fit_the_column_type_is_refused_at_the_decision(
    session: Session, city: Any, rule: dict[str, Any]
) -> None:
    req = ask(session, city)
    exc = refused(session, city["provider"], req, approve(masking=rule))
    assert exc.code == "masking_does_not_fit" and exc.status == 422
    [column] = rule
    assert [(p["column"], p["problem"]) for p in exc.details["problems"]] == [
        (column, "not_applicable")
    ]
    request_service.decide(session, city["provider"], req.id, approve())
    exc = refused(session, city["reviewer"], req, approve(masking=rule))  # nor at the 2nd stage
    assert exc.code == "masking_does_not_fit"
    assert grant_service.list(session, SYSTEM, role=None, status=None, limit=5, offset=0)[1] == 0


def test_mobile_and_bank_card_masks_still_fit_an_integer_column(
    session: Session, city: Any
) -> None:
    req = ask(session, city)
    request_service.decide(
        session,
        city["provider"],
        req.id,
        approve(masking={"nl": {"op": "mask", "format": "mobile"}}),
    )
    assert req.narrowed["masking"]["nl"]["format"] == "mobile"


def test_a_malformed_rule_is_refused_with_its_shape_problem(session: Session, city: Any) -> None:
    req = ask(session, city)
    exc = refused(session, city["provider"], req, approve(masking={"xm": {"op": "unmask"}}))
    assert exc.code == "invalid_masking_policy"


def test_without_a_version_the_rule_is_checked_against_the_catalog_types(
    session: Session, city: Any
) -> None:
    req = ask(session, city, resource_id=city["catalog_only"].id, fields=["zjhm", "bz"])
    exc = refused(
        session,
        city["provider"],
        req,
        approve(masking={"zjhm": {"op": "mask", "format": "resident_id"}}),
    )
    assert exc.code == "masking_does_not_fit"
    request_service.decide(
        session, city["provider"], req.id, approve(masking={"bz": {"op": "mask"}})
    )


def test_format_masks_and_their_column_types() -> None:
    policy = masking.parse_policy(
        {"name": "p", "rules": {c: {"op": "mask", "format": f} for c, f in FORMAT_CASES}}
    )
    with pytest.raises(Invalid) as exc:
        masking.check_policy(policy, [{"name": c, "type": "int64"} for c, _ in FORMAT_CASES])
    bad = {p["column"] for p in exc.value.details["problems"]}
    assert bad == {c for c, f in FORMAT_CASES if f not in ("mobile", "bank_card")}
    masking.check_policy(policy, [{"name": c, "type": "string"} for c, _ in FORMAT_CASES])


FORMAT_CASES = [(f"c{i}", f) for i, f in enumerate(masking.FORMATS)]


def test_what_counts_as_at_least_as_strong() -> None:
    strong = masking.at_least_as_strong
    fmt = Mask(format="resident_id")
    assert strong(fmt, fmt) and strong(Suppress(), fmt) and strong(Pseudonymize(), fmt)
    assert strong(Mask(), fmt) and strong(Mask(), None)
    assert not strong(Mask(keep_first=1), fmt) and not strong(Mask(format="mobile"), fmt)
    assert not strong(Pseudonymize(), Suppress()) and not strong(Mask(), Suppress())
    hashed = masking.parse_policy({"name": "h", "rules": {"a": {"op": "hash"}}}).rules["a"]
    assert not strong(hashed, fmt) and strong(Pseudonymize(), hashed)


# --- conditional-open applications ----------------------------------------------------------------
def test_a_conditional_open_grant_masks_personal_fields_and_never_lifts_a_sensitive_one(
    session: Session, city: Any
) -> None:
    app = application_service.apply(
        session,
        city["firm"],
        open_schemas.ApplicationCreate(
            resource_id=city["cond"].id,
            fields=["sfzh", "xm", "zz", "je"],
            purpose="commercial_use",
            purpose_text="普惠金融授信模型",
            term_days=90,
            commitment=True,
        ),
    )
    assert app.channel == "open" and app.status == "provider_review"
    exc = refused(session, city["provider"], app, approve(unmask={"zz": ""}))
    assert exc.code == "unmask_reason_required"
    exc = refused(session, city["provider"], app, approve(unmask={"sfzh": "模型需要"}))
    assert exc.code == "sensitive_unmask_authority_only"
    request_service.decide(session, city["provider"], app.id, approve(unmask={"zz": "按地址授信"}))
    exc = refused(session, city["reviewer"], app, approve(unmask={"sfzh": "模型需要"}))
    assert exc.code == "legal_basis_names_no_law"  # the platform's commitment names no law
    request_service.decide(session, city["reviewer"], app.id, approve())
    assert set(masked(session, city, app)) == {"sfzh", "xm"}
    assert grant_of(session, city, app).unmasked["zz"]["reason"] == "按地址授信"


# --- stale decisions ------------------------------------------------------------------------------
def test_a_lift_that_no_longer_holds_when_the_grant_is_issued_is_ignored(
    session: Session, city: Any
) -> None:
    req = ask(session, city)
    request_service.decide(session, city["provider"], req.id, approve(unmask={"xm": "比对姓名"}))
    # Before the authority decides, the provider's officer reclassifies xm as sensitive.
    classification_service.review_field(
        session,
        city["provider"],
        city["version"].id,
        classification_schemas.FieldReview(column="xm", pi_class="sensitive", reason="复核"),
    )
    # Nor may a weaker rule slip in where the lapsed lift was.
    exc = refused(session, city["reviewer"], req, approve(masking={"xm": {"op": "hash"}}))
    assert exc.code == "masking_not_narrower"
    request_service.decide(session, city["reviewer"], req.id, approve())
    assert masked(session, city, req)["xm"] == "mask"  # the provider's lift no longer holds
    assert grant_of(session, city, req).unmasked is None


def test_a_decided_request_is_not_decided_again(session: Session, city: Any) -> None:
    req = ask(session, city)
    request_service.decide(session, city["provider"], req.id, approve(unmask={"xm": "比对"}))
    request_service.decide(session, city["reviewer"], req.id, approve(unmask={"sfzh": "核验"}))
    grant = grant_of(session, city, req)
    for who in ("provider", "reviewer"):
        exc = refused(session, city[who], req, approve(unmask={"zz": "再次"}))
        assert exc.code == "request_state_conflict"
    assert grant_of(session, city, req).unmasked == grant.unmasked


# --- over the API ---------------------------------------------------------------------------------
def test_the_decision_endpoint_takes_unmask_and_answers_refusals_with_their_codes(
    client: Any, session: Session, city: Any
) -> None:
    req = ask(session, city)
    session.commit()
    provider = bearer(login(session, "officer.gaj"))
    reviewer = bearer(login(session, "reviewer"))
    url = f"/api/v1/share-requests/{req.id}/decision"

    def decide(headers: dict[str, str], narrowing: dict[str, Any]) -> Any:
        return client.post(url, headers=headers, json={"approve": True, "narrowing": narrowing})

    for narrowing, status, code in (
        ({"unmask": {"sfzh": "核验"}}, 403, "sensitive_unmask_authority_only"),
        ({"unmask": {"xm": ""}}, 422, "unmask_reason_required"),
        ({"masking": {"nl": {"op": "mask", "format": "resident_id"}}}, 422, "masking_does_not_fit"),
        ({"masking": {"sfzh": {"op": "hash"}}}, 422, "masking_not_narrower"),
    ):
        r = decide(provider, narrowing)
        assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    assert decide(provider, {"unmask": {"xm": "x" * 2001}}).status_code == 422
    assert decide(provider, {"unmask": {"xm": 3}}).status_code == 422
    r = decide(provider, {"unmask": {"xm": "比对姓名"}})
    assert r.status_code == 200 and r.json()["narrowed"]["unmasked"]["xm"]["reason"] == "比对姓名"
    r = decide(reviewer, {"unmask": {"sfzh": "依法核验"}})
    assert r.status_code == 200, r.text
    grant = client.get(f"/api/v1/grants/{r.json()['grant_id']}", headers=reviewer).json()
    assert set(grant["unmasked"]) == {"xm", "sfzh"}
    assert grant["unmasked"]["sfzh"]["law"] == "《中华人民共和国个人信息保护法》"
    again = decide(reviewer, {})
    assert again.status_code == 409 and again.json()["error"]["code"] == "request_state_conflict"
