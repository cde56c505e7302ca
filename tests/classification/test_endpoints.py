"""The classification API end to end: an upload is classified, a data officer reviews it over
HTTP, masked exports download with their hash, and bad requests get precise errors."""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

import pytest

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.identity import bearer, create_org, create_user, login


@pytest.fixture
def world(client: Any, session: Any) -> dict[str, Any]:
    gaj = create_org(session, "公安局")
    bureau = create_org(session, "大数据局")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, bureau, "reviewer.b", "reviewer")
    create_user(session, create_org(session, "交通局"), "officer.t", "data_officer")
    resource = create_resource(session, gaj, publish=True)
    session.commit()
    officer = bearer(login(session, "officer.g"))
    r = client.post(
        f"/api/v1/resources/{resource.id}/versions?wait=true",
        headers=officer,
        files={"file": ("人口.csv", csv_bytes(people_rows(120), "gb18030"), "text/csv")},
    )
    assert r.json()["status"] == "succeeded", r.text
    return {
        "officer": officer,
        "reviewer": bearer(login(session, "reviewer.b")),
        "outsider": bearer(login(session, "officer.t")),
        "resource": resource.id,
        "version": r.json()["version_id"],
    }


def url(w: dict[str, Any], tail: str = "") -> str:
    return f"/api/v1/dataset-versions/{w['version']}/classification{tail}"


def test_upload_is_classified_and_reviewed_over_http(client: Any, world: Any) -> None:
    body = client.get(url(world), headers=world["officer"]).json()
    by = {f["column"]: f for f in body["fields"]}
    assert by["sfzh"]["type"] == "resident_id" and by["sfzh"]["pi_class"] == "sensitive"
    assert body["grade"] == "general_4" and body["proposal"]["reason_zh"]
    assert client.get(url(world), headers=world["outsider"]).status_code == 403

    r = client.post(
        url(world, "/fields"), headers=world["officer"], json={"column": "zz", "type": "none"}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required"
    assert "理由" in r.json()["error"]["message_zh"]
    r = client.post(
        url(world, "/fields"),
        headers=world["officer"],
        json={"column": "sfzh", "pi_class": "general", "reason": "已做加密处理"},
    )
    assert r.status_code == 200
    assert {f["column"]: f for f in r.json()["fields"]}["sfzh"]["status"] == "changed"
    assert r.json()["grade"] == "general_2"

    r = client.post(
        url(world, "/grade"),
        headers=world["reviewer"],
        json={"grade": "general_4", "reason": "身份证号仍可识别个人"},
    )
    assert r.status_code == 200 and r.json()["status"] == "changed"
    resource = client.get(f"/api/v1/resources/{world['resource']}", headers=world["officer"])
    assert resource.json()["grade"] == "general_4"
    facet = client.get("/api/v1/resources?grade=general_4", headers=world["officer"]).json()
    assert world["resource"] in [i["id"] for i in facet["items"]]


def test_masked_export_downloads_with_its_hash(client: Any, world: Any) -> None:
    r = client.post(
        f"/api/v1/dataset-versions/{world['version']}/masked-export",
        headers=world["officer"],
        json={"policy": "default", "format": "csv"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-content-sha256"] == hashlib.sha256(r.content).hexdigest()
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8"))))
    assert len(rows) == 120 and all("*" in row["sfzh"] for row in rows)
    bad = client.post(
        f"/api/v1/dataset-versions/{world['version']}/masked-export",
        headers=world["officer"],
        json={"rules": {"je": {"op": "mask", "format": "resident_id"}}},
    )
    assert bad.status_code == 422 and "je" in bad.text
    missing = client.post(
        f"/api/v1/dataset-versions/{world['version']}/masked-export",
        headers=world["officer"],
        json={"policy": "no-such-policy"},
    )
    assert missing.status_code == 404


def test_k_anonymity_report(client: Any, world: Any) -> None:
    r = client.post(
        f"/api/v1/dataset-versions/{world['version']}/k-anonymity",
        headers=world["officer"],
        json={
            "quasi_identifiers": ["zz"],
            "k": 5,
            "plan": {"zz": {"op": "generalize", "kind": "address_district"}},
        },
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["before"]["rows"] == 120
    assert report["after"]["smallest_class"] >= report["before"]["smallest_class"]
    assert report["after"]["records_below_k"] <= report["before"]["records_below_k"]
    bad = client.post(
        f"/api/v1/dataset-versions/{world['version']}/k-anonymity",
        headers=world["officer"],
        json={"quasi_identifiers": ["nope"], "k": 5},
    )
    assert bad.status_code == 422


def test_vocabulary_and_important_catalog(client: Any, world: Any) -> None:
    v = client.get("/api/v1/classification/vocabulary", headers=world["officer"]).json()
    assert {"resident_id", "uscc", "free_text"} <= {t["code"] for t in v["types"]}
    assert {g["code"]: g["sharing"] for g in v["grades"]}["important"] == "computation_only"
    assert len(v["rules_digest"]) == 64
    r = client.post(
        "/api/v1/important-data",
        headers=world["reviewer"],
        json={"sector": "政务", "name": "人口基础信息", "code_prefixes": ["10101"]},
    )
    assert r.status_code == 201, r.text
    listed = client.get("/api/v1/important-data", headers=world["officer"]).json()
    assert listed["total"] == 1 and listed["items"][0]["name"] == "人口基础信息"
    rerun = client.post(url(world, "/rerun"), headers=world["officer"])
    assert rerun.json()["grade"] == "important"
    patch = client.patch(
        f"/api/v1/important-data/{r.json()['id']}",
        headers=world["reviewer"],
        json={"code_prefixes": [], "keywords": []},
    )
    assert patch.status_code == 422 and patch.json()["error"]["code"] == "entry_matches_nothing"
