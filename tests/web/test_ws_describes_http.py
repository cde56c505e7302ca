"""What a table's rows describe 描述对象, in the workspace over HTTP: declared on the catalog
form, shown on the classification tab with where it came from, corrected there (with a reason)
by the provider's officers and the data authority but nobody else; a column's class can be
corrected too, and masking follows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.classification.test_describes import STOP_FIELDS, stops
from tests.fixtures.classification import csv_bytes
from tests.fixtures.identity import create_org, create_user
from tests.fixtures.web import sign_in
from tests.web.test_ws_resources_http import alert, classification, csrf, field_row, form, post
from yaosu.models.catalog import Resource


def _describes(html: str) -> tuple[str, str]:
    found = re.search(r'id="cls-describes" data-describes="(\w*)" data-source="(\w*)"', html)
    assert found, html[:400]
    return found.group(1), found.group(2)


@pytest.fixture
def world(session: Session, app: Any) -> dict[str, Any]:
    jt = create_org(session, "交通运输局")
    bureau = create_org(session, "大数据局")
    create_user(session, jt, "officer.j", "data_officer")
    create_user(session, jt, "member.j", "member")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, bureau, "auditor", "auditor")
    session.commit()
    client = sign_in(app, "officer.j")
    data = form(
        classification_code="20301002",
        name="公交站点信息",
        base_library="",
        describes="place",
        field_name=[f["name"] for f in STOP_FIELDS],
        field_label=[f["label_zh"] for f in STOP_FIELDS],
        field_type=[f.get("type", "string") for f in STOP_FIELDS],
        field_description=["" for _ in STOP_FIELDS],
    )
    r = post(client, "/workspace/resources/new", data)
    assert r.status_code in (200, 204, 303), r.text
    rid = session.query(Resource).filter_by(name="公交站点信息").one().id
    session.rollback()  # SQLite: end the read before the app writes
    up = client.post(
        f"/api/v1/resources/{rid}/versions?wait=true",
        headers=csrf(client, htmx=False),
        files={"file": ("stops.csv", csv_bytes(stops()), "text/csv")},
    )
    assert up.json()["status"] == "succeeded", up.text
    return {"rid": rid}


def test_declared_on_the_form_and_corrected_on_the_tab(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    rid = world["rid"]
    client = sign_in(app, "officer.j")
    edit = client.get(f"/workspace/resources/{rid}/edit?lang=zh").text
    assert '<option value="place" selected>地点或设施</option>' in edit
    html, version = classification(client, rid)
    assert _describes(html) == ("place", "declared")
    assert "Places or facilities" in html and 'data-column="jd"' in html
    url = f"/workspace/resources/{rid}/classification/describes"
    no_reason = post(client, url, {"version_id": version, "describes": "person"}, lang="zh")
    assert no_reason.status_code == 422 and "理由" in alert(no_reason.text)
    r = post(client, url, {"version_id": version, "describes": "person", "reason": "含出行轨迹"})
    assert r.status_code == 200, r.text
    assert r.headers["HX-Retarget"] == "#res-classification"
    assert _describes(r.text) == ("person", "reviewed")
    assert "corrected by a reviewer" in r.text and "含出行轨迹" in r.text
    stale = post(client, url, {"version_id": "0" * 26, "describes": "place", "reason": "x"})
    assert stale.status_code == 409


def test_only_the_provider_and_the_authority_correct_on_the_tab(
    app: Any, world: dict[str, Any]
) -> None:
    rid = world["rid"]
    _, version = classification(sign_in(app, "officer.j"), rid)
    url = f"/workspace/resources/{rid}/classification/describes"
    data = {"version_id": version, "describes": "person", "reason": "核对"}
    assert post(sign_in(app, "member.j"), url, data).status_code == 403
    assert post(sign_in(app, "auditor"), url, data).status_code == 403
    r = post(sign_in(app, "reviewer"), url, data)
    assert r.status_code == 200 and _describes(r.text) == ("person", "reviewed")


def test_a_columns_class_is_corrected_on_the_tab(app: Any, world: dict[str, Any]) -> None:
    rid = world["rid"]
    client = sign_in(app, "officer.j")
    html, version = classification(client, rid)
    assert 'data-detected="gps"' in field_row(html, "jd")
    r = post(
        client,
        f"/workspace/resources/{rid}/classification/fields",
        {
            "version_id": version,
            "column": "jd",
            "action": "change",
            "type": "gps",
            "pi_class": "sensitive",
            "reason": "车辆实时位置",
        },
    )
    assert r.status_code == 200, r.text
    assert 'data-status="changed"' in field_row(r.text, "jd")
    api = client.get(f"/api/v1/dataset-versions/{version}/classification").json()
    assert {f["column"]: f["pi_class"] for f in api["fields"]}["jd"] == "sensitive"
