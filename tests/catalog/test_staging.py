"""Staging of new versions of published resources: automatic acceptance when nothing that
matters changed, the reviewers' queue otherwise, accept and reject, carry-over of reviews, and
rollback with its refusals (both databases)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.identity import SYSTEM, bearer, create_org, create_user, login
from yaosu.classification import schemas as cls_schemas
from yaosu.classification.service import important_data_service
from yaosu.ledger.service import ledger_service
from yaosu.models.catalog import DatasetVersion, Resource

ROWS = [{k: v for k, v in r.items() if k in ("xm", "ddh", "je")} for r in people_rows(60)]


def upload(client: Any, headers: Any, rid: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    r = client.post(
        f"/api/v1/resources/{rid}/versions?wait=true",
        headers=headers,
        files={"file": ("p.csv", csv_bytes(rows), "text/csv")},
    )
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    assert job["status"] == "succeeded", job
    return job


def versions(client: Any, headers: Any, rid: str) -> dict[int, dict[str, Any]]:
    r = client.get(f"/api/v1/resources/{rid}/versions", headers=headers)
    assert r.status_code == 200, r.text
    return {v["number"]: v for v in r.json()}


def code(r: Any) -> str:
    return str(r.json()["error"]["code"])


@pytest.fixture
def w(client: Any, session: Any) -> dict[str, Any]:
    gaj = create_org(session, "公安局")
    bureau = create_org(session, "大数据局")
    other = create_org(session, "交通局")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, gaj, "cdo.g", "cdo")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, other, "cdo.t", "cdo")
    res = create_resource(session, gaj, publish=True)
    twin = create_resource(session, gaj, publish=True, name="户籍人口")
    draft = create_resource(session, gaj, name="草稿资源")
    session.commit()
    h = {
        n: bearer(login(session, u))
        for n, u in (
            ("officer", "officer.g"),
            ("cdo", "cdo.g"),
            ("reviewer", "reviewer"),
            ("other_cdo", "cdo.t"),
        )
    }
    session.commit()
    first = upload(client, h["officer"], res.id, ROWS)
    return {"h": h, "res": res.id, "twin": twin.id, "draft": draft.id, "v1": first["version_id"]}


def current_of(session: Any, rid: str) -> str | None:
    session.expire_all()
    resource = session.get(Resource, rid)
    return resource.current_version_id if resource else None


def trail(session: Any, rid: str) -> list[str]:
    return [e.type for e in ledger_service.trail(session, rid, 200, 0)[0]]


def test_first_version_is_current_and_a_matching_one_is_accepted_automatically(
    client: Any, session: Any, w: Any
) -> None:
    rid, h = w["res"], w["h"]
    assert current_of(session, rid) == w["v1"]
    v1 = versions(client, h["officer"], rid)[1]
    assert v1["state"] == "accepted" and v1["decision"] == "initial" and v1["current"]
    job = upload(client, h["officer"], rid, ROWS[::-1][:40])  # other rows, same schema
    v2 = versions(client, h["officer"], rid)[2]
    assert v2["id"] == job["version_id"]
    assert v2["state"] == "accepted" and v2["decision"] == "automatic" and v2["current"]
    assert v2["decision_reason"] == "accepted automatically"
    assert current_of(session, rid) == v2["id"]
    assert "catalog.dataset_version_accepted" in trail(session, rid)
    assert "catalog.dataset_version_staged" not in trail(session, rid)


def test_a_draft_resource_takes_new_versions_without_staging(
    client: Any, session: Any, w: Any
) -> None:
    rid, h = w["draft"], w["h"]
    upload(client, h["officer"], rid, ROWS)
    job = upload(client, h["officer"], rid, [{**r, "extra": 1} for r in ROWS])
    assert current_of(session, rid) == job["version_id"]


def test_grade_rise_stages_the_version_for_the_reviewers_queue(
    client: Any, session: Any, w: Any
) -> None:
    rid, h = w["res"], w["h"]
    important_data_service.create(
        session,
        SYSTEM,
        cls_schemas.ImportantEntryCreate(
            sector="公安", name="人口", kind="important", code_prefixes=["101"]
        ),
    )
    session.commit()
    job = upload(client, h["officer"], rid, ROWS)  # same data; the catalog now lists it
    staged = versions(client, h["officer"], rid)[2]
    assert staged["state"] == "staged" and not staged["current"]
    assert [r["code"] for r in staged["review_reasons"]] == ["grade_rises"]
    assert staged["review_reasons"][0]["grade"] == "important"
    assert current_of(session, rid) == w["v1"]
    session.expire_all()
    assert session.get(Resource, rid).grade != "important"  # the served grade is unchanged
    queue = client.get("/api/v1/staged-versions", headers=h["reviewer"]).json()
    assert [i["version"]["id"] for i in queue["items"]] == [job["version_id"]]
    own = client.get("/api/v1/staged-versions", headers=h["officer"]).json()
    assert own["total"] == 1
    outsider = client.get("/api/v1/staged-versions", headers=h["other_cdo"]).json()
    assert outsider["total"] == 0
    assert "catalog.dataset_version_staged" in trail(session, rid)
    # The reviewer accepts: it goes live and the resource takes its grade.
    r = client.post(
        f"/api/v1/dataset-versions/{job['version_id']}/accept",
        headers=h["reviewer"],
        json={"reason": "已核对"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "accepted" and r.json()["decision"] == "reviewer"
    assert r.json()["current"] is True
    assert current_of(session, rid) == job["version_id"]
    assert session.get(Resource, rid).grade == "important"
    again = client.post(
        f"/api/v1/dataset-versions/{job['version_id']}/accept", headers=h["reviewer"]
    )
    assert again.status_code == 409 and code(again) == "version_not_staged"
    assert client.get("/api/v1/staged-versions", headers=h["reviewer"]).json()["total"] == 0


@pytest.mark.parametrize(
    "rows, expected",
    [
        ([{**r, "extra": "x"} for r in ROWS], "schema_changed"),
        ([{k: v for k, v in r.items() if k != "je"} for r in ROWS], "schema_changed"),
        ([{**r, "je": "n/a"} for r in ROWS], "schema_changed"),  # retyped
        ([{**r, "ddh": p["sfzh"]} for r, p in zip(ROWS, people_rows(60), strict=True)], None),
    ],
    ids=["added", "removed", "retyped", "findings"],
)
def test_changed_schema_or_findings_stage_the_version(
    client: Any, session: Any, w: Any, rows: list[dict[str, Any]], expected: str | None
) -> None:
    rid, h = w["res"], w["h"]
    upload(client, h["officer"], rid, rows)
    staged = versions(client, h["officer"], rid)[2]
    assert staged["state"] == "staged"
    codes = {r["code"] for r in staged["review_reasons"]}
    if expected:
        assert expected in codes
    else:  # resident IDs where order numbers were: findings change and the grade rises
        assert {"classification_changed", "grade_rises"} <= codes
    assert current_of(session, rid) == w["v1"]


def test_reviewer_rejects_a_staged_version_and_only_reviewers_decide(
    client: Any, session: Any, w: Any
) -> None:
    rid, h = w["res"], w["h"]
    vid = upload(client, h["officer"], rid, [{**r, "extra": 1} for r in ROWS])["version_id"]
    for who in ("officer", "cdo", "other_cdo"):
        r = client.post(f"/api/v1/dataset-versions/{vid}/accept", headers=h[who])
        assert r.status_code == 403, (who, r.text)
        r = client.post(
            f"/api/v1/dataset-versions/{vid}/reject", headers=h[who], json={"reason": "x"}
        )
        assert r.status_code == 403, (who, r.text)
    for body in ({}, {"reason": ""}, {"reason": "   \n"}):
        r = client.post(f"/api/v1/dataset-versions/{vid}/reject", headers=h["reviewer"], json=body)
        assert r.status_code == 422 and code(r) == "reason_required", r.text
    r = client.post(
        f"/api/v1/dataset-versions/{vid}/reject", headers=h["reviewer"], json={"reason": "字段有误"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "rejected" and r.json()["decision_reason"] == "字段有误"
    assert current_of(session, rid) == w["v1"]
    r = client.post(f"/api/v1/dataset-versions/{vid}/accept", headers=h["reviewer"])
    assert r.status_code == 409 and code(r) == "version_not_staged"
    assert "catalog.dataset_version_rejected" in trail(session, rid)
    missing = client.post(
        "/api/v1/dataset-versions/01nothing0000000000000000/accept", headers=h["reviewer"]
    )
    assert missing.status_code == 404


def test_rollback_refusals_and_success(client: Any, session: Any, w: Any) -> None:
    rid, h = w["res"], w["h"]
    v2 = upload(client, h["officer"], rid, ROWS[:30])["version_id"]  # accepted automatically
    staged = upload(client, h["officer"], rid, [{**r, "extra": 1} for r in ROWS])["version_id"]
    rejected = upload(client, h["officer"], rid, [{**r, "more": 1} for r in ROWS])["version_id"]
    client.post(
        f"/api/v1/dataset-versions/{rejected}/reject", headers=h["reviewer"], json={"reason": "x"}
    )
    twin_v = upload(client, h["officer"], w["twin"], ROWS)["version_id"]
    url = f"/api/v1/resources/{rid}/rollback"
    ok = {"version_id": w["v1"], "reason": "新版本数据有误"}
    # Unauthorized roles: the provider's data officer, another unit's chief data officer.
    r = client.post(url, headers=h["officer"], json=ok)
    assert r.status_code == 403
    r = client.post(url, headers=h["other_cdo"], json=ok)
    assert r.status_code == 403 and code(r) == "rollback_not_permitted"
    # No reason.
    for reason in ("", "  ", "\t\n"):
        r = client.post(url, headers=h["cdo"], json={"version_id": w["v1"], "reason": reason})
        assert r.status_code == 422 and code(r) == "reason_required", r.text
    r = client.post(url, headers=h["cdo"], json={"version_id": w["v1"]})
    assert r.status_code == 422 and code(r) == "reason_required"
    # A version of another resource, or none at all.
    for vid in (twin_v, "01nothing0000000000000000", "x"):
        r = client.post(url, headers=h["reviewer"], json={"version_id": vid, "reason": "r"})
        assert r.status_code == 422 and code(r) == "version_not_of_resource", r.text
    # Staged, rejected, current.
    for vid in (staged, rejected):
        r = client.post(url, headers=h["reviewer"], json={"version_id": vid, "reason": "r"})
        assert r.status_code == 409 and code(r) == "version_not_accepted", r.text
    r = client.post(url, headers=h["reviewer"], json={"version_id": v2, "reason": "r"})
    assert r.status_code == 409 and code(r) == "already_current"
    assert current_of(session, rid) == v2  # nothing moved
    assert "catalog.dataset_version_rolled_back" not in trail(session, rid)
    # The provider's chief data officer rolls back; then a reviewer rolls forward again.
    r = client.post(url, headers=h["cdo"], json=ok)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == w["v1"] and r.json()["current"] is True
    assert current_of(session, rid) == w["v1"]
    assert "catalog.dataset_version_rolled_back" in trail(session, rid)
    r = client.post(url, headers=h["reviewer"], json={"version_id": v2, "reason": "已修正"})
    assert r.status_code == 200 and current_of(session, rid) == v2


def test_reviews_carry_over_when_findings_are_unchanged(client: Any, session: Any, w: Any) -> None:
    rid, h = w["res"], w["h"]
    base = f"/api/v1/dataset-versions/{w['v1']}/classification"
    r = client.post(
        f"{base}/fields",
        headers=h["officer"],
        json={"column": "xm", "type": "none", "pi_class": "none", "reason": "测试用假名"},
    )
    assert r.status_code == 200, r.text
    vc1 = client.get(base, headers=h["officer"]).json()
    r = client.post(
        f"{base}/grade",
        headers=h["officer"],
        json={"grade": "general_3", "reason": "含姓名，定为三级"},
    )
    assert r.status_code == 200, r.text
    v2 = upload(client, h["officer"], rid, ROWS[5:])["version_id"]
    vc2 = client.get(f"/api/v1/dataset-versions/{v2}/classification", headers=h["officer"]).json()
    f1 = {f["column"]: f for f in vc1["fields"]}
    f2 = {f["column"]: f for f in vc2["fields"]}
    assert f2["xm"]["status"] == "changed" and f2["xm"]["review_reason"] == "测试用假名"
    assert f2["xm"]["pi_class"] == f1["xm"]["pi_class"] == "none"
    assert vc2["grade"] == "general_3" and vc2["status"] == "changed"
    assert vc2["grade_reason"] == "含姓名，定为三级"
    # Same grade as the reviewed current one: accepted automatically.
    assert current_of(session, rid) == v2
    assert "classification.review_carried_over" in trail(session, rid)
    # Different findings in a column: that column's review does not carry over.
    changed = [{**r, "xm": f"编号{i}"} for i, r in enumerate(ROWS)]
    v3 = upload(client, h["officer"], rid, changed)["version_id"]
    vc3 = client.get(f"/api/v1/dataset-versions/{v3}/classification", headers=h["officer"]).json()
    f3 = {f["column"]: f for f in vc3["fields"]}
    assert f3["xm"]["status"] == "proposed"
    assert vc3["status"] == "proposed"
    assert current_of(session, rid) == v2  # the findings changed: staged


def test_staged_version_row_is_never_current_until_accepted(
    client: Any, session: Any, w: Any
) -> None:
    rid, h = w["res"], w["h"]
    vid = upload(client, h["officer"], rid, [{**r, "extra": 1} for r in ROWS])["version_id"]
    session.expire_all()
    assert session.get(DatasetVersion, vid).state == "staged"
    r = client.get(f"/api/v1/dataset-versions/{vid}", headers=h["officer"])
    assert r.json()["state"] == "staged" and r.json()["current"] is False


# --- mojibake through the API: refused, then the override (form field, chunked upload) -----------
TRAD = [{"姓名": f"陳大文{i}", "住址": f"臺北市中正區重慶南路{i}號"} for i in range(40)]


@pytest.mark.parametrize("encoding", ["big5", "shift_jis", "utf-16-le"])
def test_mojibake_upload_is_an_error_and_the_form_field_overrides_it(
    client: Any, session: Any, w: Any, encoding: str
) -> None:
    rid, h = w["draft"], w["h"]
    rows = [{"名前": f"山田{i}", "住所": f"東京都{i}丁目"} for i in range(40)]
    body = csv_bytes(rows if encoding == "shift_jis" else TRAD, encoding)
    r = client.post(
        f"/api/v1/resources/{rid}/versions?wait=true",
        headers=h["officer"],
        files={"file": ("legacy.csv", body, "text/csv")},
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "failed" and job["error"]["code"] == "encoding_mojibake"
    assert job["error"]["details"]["tried"] == ["utf-8", "gb18030"]
    assert "utf-8, gb18030" in job["error"]["message"] and job["error"]["message_zh"]
    assert versions(client, h["officer"], rid) == {}
    r = client.post(
        f"/api/v1/resources/{rid}/versions?wait=true",
        headers=h["officer"],
        files={"file": ("legacy.csv", body, "text/csv")},
        data={"encoding": encoding},
    )
    assert r.json()["status"] == "succeeded", r.text
    version = versions(client, h["officer"], rid)[1]
    assert version["source"]["encoding"] == encoding
    names = [c["name"] for c in version["columns"]]
    assert names == list((rows if encoding == "shift_jis" else TRAD)[0])


def test_chunked_upload_takes_the_encoding_override(client: Any, session: Any, w: Any) -> None:
    rid, h = w["draft"], w["h"]
    body = csv_bytes(TRAD, "big5")
    for encoding, expected in ((None, "failed"), ("big5", "succeeded")):
        opened = client.post(
            f"/api/v1/resources/{rid}/uploads",
            headers=h["officer"],
            json={"filename": "b.csv", "size": len(body), "encoding": encoding},
        )
        assert opened.status_code == 201, opened.text
        uid = opened.json()["id"]
        put = client.put(
            f"/api/v1/uploads/{uid}/chunks?offset=0", headers=h["officer"], content=body
        )
        assert put.status_code == 200, put.text
        done = client.post(f"/api/v1/uploads/{uid}/complete?wait=true", headers=h["officer"])
        assert done.json()["status"] == expected, done.text
    assert [v["source"]["encoding"] for v in versions(client, h["officer"], rid).values()] == [
        "big5"
    ]


@pytest.mark.parametrize("bad", ["\ue000号", "名\ufffd"])
def test_header_with_private_use_or_replacement_is_refused_on_upload(
    client: Any, w: Any, bad: str
) -> None:
    rid, h = w["draft"], w["h"]
    r = client.post(
        f"/api/v1/resources/{rid}/versions?wait=true",
        headers=h["officer"],
        files={"file": ("h.csv", f"ok,{bad}\n1,2\n".encode(), "text/csv")},
    )
    job = r.json()
    assert job["status"] == "failed" and job["error"]["code"] == "header_mojibake", job
    assert versions(client, h["officer"], rid) == {}
