"""Masking follows meaning, not just shape (issue 15, item 6): what a table's rows describe
描述对象 decides whether coordinates and addresses are personal. Inferred both ways from the
columns, declared in the catalog, corrected by the provider's officers or the data authority
(with a reason, in the ledger); a table of places opens its locations unmasked, a residents'
table keeps its addresses masked. Services and HTTP, on both databases."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.classification.test_publication_check import as_user, ingest, trail
from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, mobile, name
from tests.fixtures.identity import SYSTEM, bearer, create_org, create_user, login
from yaosu.catalog import schemas as catalog_schemas
from yaosu.catalog.service import resource_service
from yaosu.classification import describes, schemas
from yaosu.classification.service import (
    classification_service,
    default_rules,
    opening_service,
)
from yaosu.kit.errors import Forbidden, Invalid
from yaosu.models.catalog import DatasetVersion, Resource

STREETS = ["人民路", "解放路", "胜利路", "建设路", "和平路", "文化路", "中山路", "青年路"]
STOP_FIELDS = [
    {"name": "zdmc", "label_zh": "站点名称"},
    {"name": "xl", "label_zh": "线路"},
    {"name": "jd", "label_zh": "经度", "type": "decimal"},
    {"name": "wd", "label_zh": "纬度", "type": "decimal"},
]
HOME_FIELDS = [
    {"name": "jgmc", "label_zh": "机构名称"},
    {"name": "dz", "label_zh": "地址"},
    {"name": "cws", "label_zh": "床位数", "type": "integer"},
]


def address(rng: random.Random) -> str:
    return f"山东省烟台市芝罘区{rng.choice(STREETS)}{rng.randrange(1, 300)}号"


def stops(n: int = 60, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "zdmc": f"{rng.choice(STREETS)}{i}站",
            "xl": f"{rng.randrange(1, 60)}路",
            "jd": round(121.2 + rng.random() * 0.5, 6),
            "wd": round(37.4 + rng.random() * 0.2, 6),
        }
        for i in range(n)
    ]


def homes(n: int = 40, seed: int = 12) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {"jgmc": f"示范市{i}号养老院", "dz": address(rng), "cws": rng.randrange(30, 400)}
        for i in range(n)
    ]


def residents(n: int = 40, seed: int = 13) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {"xm": name(rng), "lxdh": mobile(rng), "zz": address(rng), "nl": rng.randrange(60, 99)}
        for _ in range(n)
    ]


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    jt = create_org(session, "交通运输局")
    authority = create_org(session, "大数据局")
    other = create_org(session, "人社局")
    return dict(
        jt=jt,
        officer=as_user(create_user(session, jt, "officer.j", "data_officer")),
        reviewer=as_user(create_user(session, authority, "reviewer.d", "reviewer")),
        auditor=as_user(create_user(session, authority, "auditor.d", "auditor")),
        stranger=as_user(create_user(session, other, "officer.r", "data_officer")),
    )


def loaded(
    session: Session, w: dict[str, Any], rows: list[dict[str, Any]], fields: Any, **kw: Any
) -> tuple[Any, Any]:
    """An unconditional-open resource of the transport bureau with one classified version."""
    r = create_resource(
        session,
        w["jt"],
        name=f"开放{random.random()}",
        classification_code="20301002",
        base_library=None,
        share_attribute="unconditional",
        open_attribute="unconditional",
        fields=fields,
        **kw,
    )
    version = ingest(session, w["officer"], r.id, rows)
    return r, classification_service.get(session, SYSTEM, version.id)


def masked(session: Session, vc: Any) -> dict[str, Any]:
    """The default policy of the classification (what grants and exports apply)."""
    version = session.get(DatasetVersion, vc.version_id)
    assert version is not None
    return default_rules(vc, version.columns)


def classes(vc: Any) -> dict[str, str]:
    return {f.column: f.pi_class for f in vc.fields}


# --- inference, without a database ---------------------------------------------------------------
def col(name: str, type_: str | None, label: str | None = None, *contains: str) -> Any:
    return describes.Column(name, label, type_, tuple(contains))


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ([col("zdmc", None, "站点名称"), col("jd", "gps"), col("wd", "gps")], "place"),
        ([col("jgmc", None), col("dz", "address"), col("cws", None)], "place"),
        ([col("school_name", None), col("site", None), col("addr", "address")], "place"),
        ([col("xm", "person_name"), col("zz", "address")], "person"),
        (
            [col("jgmc", None, "机构名称"), col("fzr", "person_name"), col("dz", "address")],
            "person",
        ),
        ([col("mc", None), col("bz", "free_text", None, "mobile"), col("dz", "address")], "person"),
        ([col("tyshxydm", "uscc"), col("mc", None), col("zs", "address")], "organization"),
        ([col("dz", "address"), col("je", None)], None),  # located, but nothing names a place
        ([col("zb", None, "指标"), col("z", None)], None),
    ],
    ids=[
        "stops",
        "homes_pinyin",
        "english",
        "residents",
        "facility_with_a_person",
        "free_text_with_a_phone",
        "enterprises",
        "address_alone",
        "figures",
    ],
)
def test_inference_from_the_columns(columns: list[Any], expected: str | None) -> None:
    found = describes.infer(columns)
    assert found.describes == expected
    assert found.reason_en and found.reason_zh
    if expected == "person":
        assert set(found.columns) <= {"xm", "fzr", "bz"}


def test_only_locations_of_places_lose_their_class() -> None:
    table = classification_service.table()
    assert describes.pi_class(table, "gps", [], "place") == "none"
    assert describes.pi_class(table, "address", [], "place") == "none"
    assert describes.pi_class(table, "gps", [], "person") == "sensitive"
    assert describes.pi_class(table, "gps", [], None) == "sensitive"
    assert describes.pi_class(table, "mobile", [], "place") == "general"
    assert describes.pi_class(table, "free_text", ["address"], "place") == "none"
    assert describes.pi_class(table, "free_text", ["address", "mobile"], "place") == "general"


# --- a table of places, a table of people ------------------------------------------------------
def test_bus_stops_are_places_and_open_their_coordinates_unmasked(
    session: Session, world: dict[str, Any]
) -> None:
    r, vc = loaded(session, world, stops(), STOP_FIELDS)
    assert (vc.describes, vc.describes_source) == ("place", "inferred")
    assert "zdmc" in (vc.describes_reason or "")
    by = {f.column: f for f in vc.fields}
    assert by["jd"].detected_type == "gps" and by["jd"].detected_pi_class == "none"
    assert classes(vc)["jd"] == classes(vc)["wd"] == "none"
    assert vc.proposed_grade == "general_1"
    assert masked(session, vc)["rules"] == {}
    check = opening_service.check(session, r)
    assert check.ok and check.quasi_identifiers == () and check.describes == "place"
    assert all(c.rule is None for c in check.columns)
    entry = [e for e in trail(session, r.id) if e == "classification.version_classified"]
    assert entry


def test_residents_keep_their_addresses_masked(session: Session, world: dict[str, Any]) -> None:
    fields = [
        {"name": "xm", "label_zh": "姓名"},
        {"name": "lxdh", "label_zh": "联系电话"},
        {"name": "zz", "label_zh": "住址"},
        {"name": "nl", "label_zh": "年龄", "type": "integer"},
    ]
    r, vc = loaded(session, world, residents(), fields)
    assert (vc.describes, vc.describes_source) == ("person", "inferred")
    assert classes(vc)["zz"] == "general"
    assert masked(session, vc)["rules"]["zz"]["op"] == "mask"
    check = opening_service.check(session, r)
    assert {c.column: c.op for c in check.columns}["zz"] == "mask"
    assert "zz" in check.quasi_identifiers


def test_a_declared_subject_wins_over_inference(session: Session, world: dict[str, Any]) -> None:
    # Declared people: the stops' coordinates are whereabouts again.
    r, vc = loaded(session, world, stops(), STOP_FIELDS, describes="person")
    assert (vc.describes, vc.describes_source) == ("person", "declared")
    assert classes(vc)["jd"] == "sensitive" and vc.proposed_grade == "general_4"
    assert {c.column: c.op for c in opening_service.check(session, r).columns}["jd"] == "suppress"
    # Declared places: addresses with nothing naming a place are still a place's.
    rows = [{"dz": h["dz"], "cws": h["cws"]} for h in homes()]
    _, vc2 = loaded(session, world, rows, HOME_FIELDS[1:], describes="place")
    assert (vc2.describes, vc2.describes_source) == ("place", "declared")
    assert classes(vc2)["dz"] == "none"


RESIDENT_FIELDS = [
    {"name": "xm", "label_zh": "姓名"},
    {"name": "lxdh", "label_zh": "联系电话"},
    {"name": "zz", "label_zh": "住址"},
    {"name": "nl", "label_zh": "年龄", "type": "integer"},
]


def test_place_is_never_taken_on_trust_for_a_table_of_people(
    session: Session, world: dict[str, Any]
) -> None:
    # Declared: residents said to be places keep their addresses masked; the overruling is said.
    _, vc = loaded(session, world, residents(), RESIDENT_FIELDS, describes="place")
    assert (vc.describes, vc.describes_source) == ("person", "inferred")
    assert "xm" in (vc.describes_reason or "")
    assert classes(vc)["zz"] == "general"
    assert masked(session, vc)["rules"]["zz"]["op"] == "mask"
    # A declaration made after the version was classified is overruled the same way.
    r2, vc2 = loaded(session, world, residents(seed=21), RESIDENT_FIELDS)
    resource_service.update(
        session, world["officer"], r2.id, catalog_schemas.ResourceUpdate(describes="place")
    )
    assert (vc2.describes, vc2.describes_source) == ("person", "inferred")
    assert masked(session, vc2)["rules"]["zz"]["op"] == "mask"
    # A correction to places is refused, by the provider and by the authority alike.
    for who in ("officer", "reviewer"):
        with pytest.raises(Invalid) as caught:
            classification_service.review_describes(
                session,
                world[who],
                vc.version_id,
                schemas.DescribesReview(describes="place", reason="每行是一个社区"),
            )
        assert caught.value.code == "row_subject_conflict"
        assert "xm" in str(caught.value.envelope())
    assert (vc.describes, classes(vc)["zz"]) == ("person", "general")


def test_a_reviewed_place_does_not_carry_over_to_a_version_with_people(
    session: Session, world: dict[str, Any]
) -> None:
    r, vc = loaded(session, world, homes(), HOME_FIELDS)
    classification_service.review_describes(
        session,
        world["officer"],
        vc.version_id,
        schemas.DescribesReview(describes="place", reason="每行是一家养老院"),
    )
    rng = random.Random(5)
    with_people = [{**h, "fzr": name(rng), "lxdh": mobile(rng)} for h in homes(seed=31)]
    version = ingest(session, world["officer"], r.id, with_people)
    nxt = classification_service.get(session, SYSTEM, version.id)
    assert (nxt.describes, nxt.describes_source) == ("person", "inferred")
    assert classes(nxt)["dz"] == "general"


def test_an_unknown_declaration_is_refused(session: Session, world: dict[str, Any]) -> None:
    with pytest.raises(Invalid) as caught:
        create_resource(session, world["jt"], describes="animals")
    assert caught.value.code == "invalid_row_subject"


def test_changing_the_declaration_reclassifies_the_current_version(
    session: Session, world: dict[str, Any]
) -> None:
    r, vc = loaded(session, world, homes(), HOME_FIELDS)
    assert vc.describes == "place" and classes(vc)["dz"] == "none"
    resource_service.update(
        session, world["officer"], r.id, catalog_schemas.ResourceUpdate(describes="person")
    )
    assert (vc.describes, vc.describes_source) == ("person", "declared")
    assert classes(vc)["dz"] == "general" and vc.proposed_grade == "general_2"
    assert "classification.describes_applied" in trail(session, r.id)
    # Cleared, the columns tell again.
    resource_service.update(
        session, world["officer"], r.id, catalog_schemas.ResourceUpdate(describes=None)
    )
    assert (vc.describes, vc.describes_source) == ("place", "inferred")
    assert classes(vc)["dz"] == "none"


# --- correction by the provider's officers and the data authority --------------------------------
def test_a_correction_changes_masking_and_is_in_the_ledger(
    session: Session, world: dict[str, Any]
) -> None:
    r, vc = loaded(session, world, stops(), STOP_FIELDS)
    assert opening_service.check(session, r).ok
    classification_service.review_describes(
        session,
        world["reviewer"],
        vc.version_id,
        schemas.DescribesReview(describes="person", reason="站点数据含个人出行轨迹"),
    )
    assert (vc.describes, vc.describes_source) == ("person", "reviewed")
    assert vc.describes_reason == "站点数据含个人出行轨迹"
    assert classes(vc)["jd"] == "sensitive" and vc.grade == "general_4"
    assert masked(session, vc)["rules"]["jd"] == {"op": "suppress"}
    assert "classification.describes_reviewed" in trail(session, r.id)
    # Back to places, by the provider's officer this time.
    classification_service.review_describes(
        session,
        world["officer"],
        vc.version_id,
        schemas.DescribesReview(describes="place", reason="每行是一个公交站点"),
    )
    assert classes(vc)["jd"] == "none" and vc.proposed_grade == "general_1"


def test_a_corrected_subject_carries_over_to_the_next_version(
    session: Session, world: dict[str, Any]
) -> None:
    r, vc = loaded(session, world, homes(), HOME_FIELDS)
    classification_service.review_describes(
        session,
        world["officer"],
        vc.version_id,
        schemas.DescribesReview(describes="person", reason="院址即院长住址"),
    )
    version = ingest(session, world["officer"], r.id, homes(seed=99))
    nxt = classification_service.get(session, SYSTEM, version.id)
    assert (nxt.describes, nxt.describes_source) == ("person", "reviewed")
    assert classes(nxt)["dz"] == "general"


def test_a_column_correction_in_a_place_table_masks_it(
    session: Session, world: dict[str, Any]
) -> None:
    r, vc = loaded(session, world, homes(), HOME_FIELDS)
    classification_service.review_field(
        session,
        world["officer"],
        vc.version_id,
        schemas.FieldReview(column="dz", pi_class="general", reason="部分为家庭养老床位住址"),
    )
    assert classes(vc)["dz"] == "general"
    assert masked(session, vc)["rules"]["dz"]["op"] == "mask"
    check = opening_service.check(session, r)
    assert {c.column: c.op for c in check.columns}["dz"] == "mask"
    assert "dz" in check.quasi_identifiers


@pytest.mark.parametrize("who", ["stranger", "auditor"])
def test_only_the_provider_and_the_authority_correct(
    session: Session, world: dict[str, Any], who: str
) -> None:
    r, vc = loaded(session, world, stops(), STOP_FIELDS)
    resource_service.submit(session, SYSTEM, r.id)
    resource_service.publish(session, world["reviewer"], r.id)  # readable by every unit
    with pytest.raises(Forbidden):
        classification_service.review_describes(
            session,
            world[who],
            vc.version_id,
            schemas.DescribesReview(describes="person", reason="不对"),
        )
    assert vc.describes == "place"
    assert "classification.describes_reviewed" not in trail(session, r.id)


def test_a_correction_needs_a_known_subject_and_a_reason(
    session: Session, world: dict[str, Any]
) -> None:
    _, vc = loaded(session, world, stops(), STOP_FIELDS)
    with pytest.raises(Invalid) as caught:
        classification_service.review_describes(
            session, world["officer"], vc.version_id, schemas.DescribesReview(describes="x")
        )
    assert caught.value.code == "invalid_row_subject"
    with pytest.raises(Invalid) as caught:
        classification_service.review_describes(
            session, world["officer"], vc.version_id, schemas.DescribesReview(describes="person")
        )
    assert caught.value.code == "reason_required"
    assert vc.describes == "place"


# --- over HTTP -----------------------------------------------------------------------------------
def test_declared_and_corrected_over_http(client: Any, session: Any) -> None:
    jt = create_org(session, "交通局")
    create_user(session, jt, "officer.h", "data_officer")
    create_user(session, jt, "member.h", "member")
    session.commit()
    officer = bearer(login(session, "officer.h"))
    body = {
        "name": "公交站点信息",
        "classification_code": "20301002",
        "fields": STOP_FIELDS,
        "describes": "hamsters",
    }
    r = client.post("/api/v1/resources", headers=officer, json=body)
    assert r.status_code in (400, 422) and r.json()["error"]["code"] == "invalid_row_subject"
    r = client.post("/api/v1/resources", headers=officer, json={**body, "describes": "place"})
    assert r.status_code == 201 and r.json()["describes"] == "place"
    rid = r.json()["id"]
    up = client.post(
        f"/api/v1/resources/{rid}/versions?wait=true",
        headers=officer,
        files={"file": ("s.csv", csv_bytes(stops()), "text/csv")},
    )
    vid = up.json()["version_id"]
    got = client.get(f"/api/v1/dataset-versions/{vid}/classification", headers=officer).json()
    assert (got["describes"], got["describes_source"]) == ("place", "declared")
    url = f"/api/v1/dataset-versions/{vid}/classification/describes"
    member = bearer(login(session, "member.h"))  # of the unit, not one of its officers
    denied = client.post(url, headers=member, json={"describes": "person", "reason": "x"})
    assert denied.status_code == 403
    ok = client.post(url, headers=officer, json={"describes": "person", "reason": "含个人轨迹"})
    assert ok.status_code == 200, ok.text
    by = {f["column"]: f for f in ok.json()["fields"]}
    assert ok.json()["describes_source"] == "reviewed" and by["jd"]["pi_class"] == "sensitive"


# --- the demo city -------------------------------------------------------------------------------
def test_the_demo_facilities_open_their_locations_unmasked(
    client: Any, session: Any, tmp_path: Any
) -> None:
    from yaosu.demo import catalog, city

    orgs = city.load(session)
    catalog.load(session, orgs, tmp_path)
    session.commit()
    by_name = {r.name: r for r in session.query(Resource).all()}
    for name_, columns in (
        ("公交站点信息", ("jd", "wd")),
        ("养老机构名录", ("dz",)),
        ("医疗机构执业许可信息", ("dz",)),
    ):
        r = by_name[name_]
        vc = classification_service.get(session, SYSTEM, r.current_version_id or "")
        assert vc.describes == "place", name_
        view = client.get(f"/api/v1/open/datasets/{r.id}").json()
        masked_ = {f["name"]: f.get("masked") for f in view["fields"]}
        preview = client.get(f"/api/v1/open/datasets/{r.id}/preview").json()
        for column in columns:
            assert not masked_.get(column), (name_, column, masked_)
            values = [row[preview["columns"].index(column)] for row in preview["rows"]]
            assert all(v not in (None, "") and "*" not in str(v) for v in values), values
    # The residents' table keeps addresses personal (and masked in every grant).
    people = by_name["常住人口基本信息"]
    vc = classification_service.get(session, SYSTEM, people.current_version_id or "")
    assert vc.describes == "person" and classes(vc)["zz"] == "general"
    assert "zz" in masked(session, vc)["rules"]
