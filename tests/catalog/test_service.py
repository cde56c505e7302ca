"""Catalog services on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.catalog import create_resource, resource_data
from tests.fixtures.identity import SYSTEM, create_org, create_user, login
from yaosu.catalog import schemas
from yaosu.catalog.census import acceptance, export
from yaosu.catalog.service import demand_service, resource_service
from yaosu.identity.service import token_service
from yaosu.kit.errors import Conflict, Forbidden, Invalid
from yaosu.ledger.service import ledger_service


def subject_for(session: Any, org: Any, username: str, *roles: str) -> Any:
    create_user(session, org, username, *roles)
    return token_service.resolve(session, login(session, username))


def test_register_submit_publish_issues_codes_and_trail(session: Any) -> None:
    gaj = create_org(session, "公安局", region_code="370600")
    officer = subject_for(session, gaj, "officer.g", "data_officer")
    r = resource_service.register(session, officer, resource_data())
    assert r.status == "draft" and r.code == "10101001/000001" and r.provider_id == gaj.id
    second = resource_service.register(session, officer, resource_data(name="户籍迁移信息"))
    assert second.code == "10101001/000002"
    resource_service.submit(session, officer, r.id)
    reviewer = subject_for(session, create_org(session, "大数据局"), "rev.c", "reviewer")
    resource_service.publish(session, reviewer, r.id)
    assert r.status == "published" and r.registration_code.startswith("GZ370600-")
    reg = resource_service.registration(session, r.registration_code)
    assert reg.name == "常住人口基本信息" and reg.provider == "公安局" and reg.catalog_version == 1
    types = [e.type for e in ledger_service.trail(session, r.id, 20, 0)[0]]
    assert types == [
        "catalog.resource_registered",
        "catalog.resource_submitted",
        "catalog.registration_issued",
        "catalog.resource_published",
    ]


def test_only_the_provider_edits_and_only_reviewers_publish(session: Any) -> None:
    gaj, rsj = create_org(session, "公安局"), create_org(session, "人社局")
    r = create_resource(session, gaj, publish=True)
    other = subject_for(session, rsj, "officer.r", "data_officer")
    with pytest.raises(Forbidden) as exc:
        resource_service.update(session, other, r.id, schemas.ResourceUpdate(summary="x"))
    assert exc.value.code == "not_provider"
    with pytest.raises(Forbidden):
        resource_service.register(session, other, resource_data(provider_id=gaj.id))
    officer = subject_for(session, gaj, "officer.g", "data_officer")
    resource_service.update(session, officer, r.id, schemas.ResourceUpdate(summary="新摘要"))
    with pytest.raises(Forbidden) as exc:
        resource_service.publish(session, officer, r.id)
    assert exc.value.code == "reviewer_required"


def test_drafts_are_hidden_from_other_units(session: Any) -> None:
    gaj, rsj = create_org(session, "公安局"), create_org(session, "人社局")
    draft = create_resource(session, gaj)
    published = create_resource(session, gaj, publish=True, name="已发布资源")
    other = subject_for(session, rsj, "member.r", "member")
    with pytest.raises(Exception) as exc:
        resource_service.get(session, other, draft.id)
    assert "does not exist" in str(exc.value)
    assert resource_service.get(session, other, published.id).id == published.id


def test_return_then_resubmit_and_edit_of_published_creates_version_with_diff(session: Any) -> None:
    gaj = create_org(session, "公安局")
    r = create_resource(session, gaj)
    resource_service.submit(session, SYSTEM, r.id)
    resource_service.send_back(session, SYSTEM, r.id, "字段说明不全")
    assert r.status == "returned" and r.return_reason == "字段说明不全"
    resource_service.submit(session, SYSTEM, r.id)
    resource_service.publish(session, SYSTEM, r.id)
    code = r.registration_code
    resource_service.update(
        session,
        SYSTEM,
        r.id,
        schemas.ResourceUpdate(
            summary="更新后的摘要",
            fields=[{"name": "sfzh", "label_zh": "公民身份号码", "type": "string"}],
        ),
    )
    assert r.status == "submitted" and r.catalog_version == 3
    versions = resource_service.versions(session, SYSTEM, r.id)
    assert [v.version for v in versions] == [1, 2, 3]
    keys = {d["key"]: d["change"] for d in versions[-1].diff}
    assert keys == {"summary": "changed", "fields.sfzh": "changed", "fields.xm": "removed"}
    resource_service.publish(session, SYSTEM, r.id)
    assert r.registration_code == code  # the registration code is for life


def test_incomplete_and_invalid_metadata(session: Any) -> None:
    gaj = create_org(session, "公安局")
    with pytest.raises(Invalid) as exc:
        resource_service.register(
            session, SYSTEM, resource_data(provider_id=gaj.id, share_attribute="conditional")
        )
    assert exc.value.code == "share_conditions_required"
    r = create_resource(session, gaj, summary="", fields=[])
    with pytest.raises(Invalid) as exc:
        resource_service.submit(session, SYSTEM, r.id)
    assert exc.value.code == "incomplete_metadata"
    assert r.status == "draft"
    resource_service.retire(session, SYSTEM, r.id, "重复登记")
    with pytest.raises(Conflict):
        resource_service.update(session, SYSTEM, r.id, schemas.ResourceUpdate(summary="x"))


def test_search_in_chinese_with_facets(session: Any) -> None:
    gaj, rsj = create_org(session, "公安局"), create_org(session, "人社局")
    create_resource(session, gaj, publish=True)
    create_resource(
        session,
        gaj,
        publish=True,
        name="机动车登记信息",
        base_library="legal_person",
        keywords=["车辆"],
        open_attribute="unconditional",
        summary="机动车档案",
    )
    create_resource(
        session,
        rsj,
        publish=True,
        name="社会保险参保信息",
        base_library="population",
        share_attribute="conditional",
        share_conditions="仅限社保业务",
        keywords=["社保"],
        summary="参保登记",
    )
    res = resource_service.search(session, SYSTEM, "人口", {}, 20, 0)
    assert [r.name for r in res.items] == ["常住人口基本信息"]
    res = resource_service.search(session, SYSTEM, "登记信息", {}, 20, 0)
    assert [r.name for r in res.items] == ["机动车登记信息"]  # 参保登记 lacks the bigram 记信
    res = resource_service.search(session, SYSTEM, "信息", {"base_library": ["population"]}, 20, 0)
    assert sorted(r.name for r in res.items) == ["常住人口基本信息", "社会保险参保信息"]
    assert {f.value: f.count for f in res.facets["share_attribute"]} == {
        "unconditional": 1,
        "conditional": 1,
    }
    providers = {f.label: f.count for f in res.facets["provider_id"]}
    assert providers == {"公安局": 1, "人社局": 1}
    assert resource_service.search(session, SYSTEM, "sfzh", {}, 20, 0).total == 3  # field names
    assert resource_service.search(session, SYSTEM, "车", {}, 20, 0).total == 1  # one character
    assert resource_service.search(session, SYSTEM, "不存在的词", {}, 20, 0).total == 0
    with pytest.raises(Invalid):
        resource_service.search(session, SYSTEM, None, {"colour": ["red"]}, 20, 0)


def test_census_export_and_acceptance(session: Any) -> None:
    gaj = create_org(session, "公安局")
    create_resource(session, gaj, publish=True)
    create_resource(session, gaj, name="草稿资源", source_system="其他系统")
    body, media, _ = export(session, SYSTEM, gaj.id, "csv")
    assert media.startswith("text/csv")
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("资源代码,资源名称,提供单位")
    assert "常住人口基本信息" in text and "草稿资源" in text
    xlsx, _, name = export(session, SYSTEM, None, "xlsx")
    assert xlsx[:2] == b"PK" and name.endswith(".xlsx")
    check = acceptance(session, SYSTEM, "人口综合库")
    assert not check.passed and check.resources[0].catalogued and not check.resources[0].ingested
    assert any("未汇聚" in p for p in check.problems)
    assert not acceptance(session, SYSTEM, "没有的系统").passed


def test_demand_lifecycle(session: Any) -> None:
    gaj, rsj = create_org(session, "公安局"), create_org(session, "人社局")
    published = create_resource(session, gaj, publish=True)
    asker = subject_for(session, rsj, "officer.r", "data_officer")
    demand = demand_service.post(
        session,
        asker,
        schemas.DemandCreate(
            title="需要人口数据",
            description="用于社保资格认证",
            scenario="高效办成一件事",
            wanted_fields=["身份证号"],
            provider_id=gaj.id,
        ),
    )
    answerer = subject_for(session, gaj, "officer.g", "data_officer")
    with pytest.raises(Invalid):
        demand_service.answer(session, answerer, demand.id, schemas.DemandAnswerCreate())
    demand_service.answer(
        session, answerer, demand.id, schemas.DemandAnswerCreate(resource_id=published.id)
    )
    assert demand.status == "answered" and demand.answers[0].decision == "linked"
    with pytest.raises(Forbidden):
        demand_service.close(session, answerer, demand.id)
    demand_service.close(session, asker, demand.id)
    with pytest.raises(Conflict):
        demand_service.answer(session, answerer, demand.id, schemas.DemandAnswerCreate(reason="x"))
