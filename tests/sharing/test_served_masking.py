"""A grant masks every personal field of the version it serves, whatever that version is: the
masking a grant carries is decided when it is issued, against the classification of that moment,
so a grant issued before any data arrived, or before a version whose granted field turned out to
hold personal information, would otherwise serve it raw. At every call the served version's
personal fields that the grant neither masks nor lifted with a recorded reason are masked by the
default policy (and may not be filtered, sorted or looked up by). Real data service, committed
database of each backend."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import mobile, resident_id
from tests.fixtures.committed import (  # noqa: F401 (fixtures)
    committed_client,
    committed_session,
    upload,
)
from tests.fixtures.identity import bearer, create_org, create_user, login

RNG = random.Random(21)
IDS = [resident_id(RNG) for _ in range(40)]
MOBILES = [mobile(RNG) for _ in range(40)]
PEOPLE = [{"bh": f"A{i:03d}", "sfzh": IDS[i], "sjhm": MOBILES[i], "sl": i} for i in range(40)]
PLAIN = [{"bh": f"A{i:03d}", "bz": f"备注{i % 3}", "sl": i} for i in range(40)]
# The same columns, but the remark now holds resident IDs.
TURNED = [{"bh": f"B{i:03d}", "bz": IDS[i], "sl": i} for i in range(40)]


def world(client: Any, session: Session, fields: list[str], catalog: list[str]) -> dict[str, Any]:
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    bureau = create_org(session, "大数据局")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, mzj, "officer.m", "data_officer")
    create_user(session, bureau, "reviewer", "reviewer")
    res = create_resource(
        session,
        gaj,
        publish=True,
        name="人员登记",
        share_attribute="unconditional",
        fields=[{"name": n, "label_zh": n, "type": "string"} for n in catalog],
    )
    session.commit()
    h = {
        n: bearer(login(session, u))
        for n, u in (("provider", "officer.g"), ("consumer", "officer.m"), ("reviewer", "reviewer"))
    }
    session.commit()
    return {"h": h, "res": res.id, "fields": fields}


def request(client: Any, w: dict[str, Any]) -> str:
    req = client.post(
        "/api/v1/share-requests",
        headers=w["h"]["consumer"],
        json={
            "resource_id": w["res"],
            "fields": w["fields"],
            "purpose": "government_service",
            "legal_basis": "《政务数据共享条例》",
            "term_days": 30,
        },
    )
    assert req.status_code == 201, req.text
    body = req.json()
    for who in ("provider", "reviewer"):  # reviewed when the grade is not known yet
        if body["status"] == "approved":
            break
        r = client.post(
            f"/api/v1/share-requests/{body['id']}/decision",
            headers=w["h"][who],
            json={"approve": True, "reason": "同意"},
        )
        assert r.status_code == 200, r.text
        body = r.json()
    assert body["status"] == "approved", body
    return str(body["grant_id"])


def rows(client: Any, w: dict[str, Any], grant: str, query: str = "") -> Any:
    return client.get(f"/api/v1/services/{grant}/rows?limit=500{query}", headers=w["h"]["consumer"])


def test_a_grant_issued_before_any_data_masks_the_personal_fields_that_arrive(
    client: Any, session: Session
) -> None:
    w = world(client, session, ["bh", "sfzh", "sjhm", "sl"], ["bh", "sfzh", "sjhm", "sl"])
    grant = request(client, w)  # no data yet: nothing was classified at issue
    upload(client, w["h"]["provider"], w["res"], PEOPLE)
    r = rows(client, w, grant)
    assert r.status_code == 200, r.text
    got = r.json()["rows"]
    assert len(got) == 40
    assert not {str(x["sfzh"]) for x in got} & set(IDS)
    assert not {str(x["sjhm"]) for x in got} & set(MOBILES)
    assert {x["bh"] for x in got} == {p["bh"] for p in PEOPLE}  # the rest as it is
    # The schema says so.
    schema = client.get(f"/api/v1/services/{grant}/schema", headers=w["h"]["consumer"]).json()
    masked = {f["name"]: f["masking"] for f in schema["fields"]}
    assert masked["sfzh"] and masked["sjhm"] and not masked["bh"]
    # Nothing of the raw values is reachable by filtering, sorting or looking up.
    for query in (f"&sfzh=eq.{IDS[0]}", "&sjhm=like.138*", "&order=sfzh.asc"):
        r = rows(client, w, grant, query)
        assert r.status_code == 403, (query, r.text)
        assert r.json()["error"]["code"] in ("filter_on_masked_field", "sort_on_masked_field")
    r = client.get(
        f"/api/v1/services/{grant}/lookup",
        params={"by": "sfzh", "key": IDS[0]},
        headers=w["h"]["consumer"],
    )
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "filter_on_masked_field"


def test_a_granted_field_that_turns_personal_in_a_new_version_is_masked(
    client: Any, session: Session
) -> None:
    w = world(client, session, ["bh", "bz", "sl"], ["bh", "bz", "sl"])
    upload(client, w["h"]["provider"], w["res"], PLAIN)
    grant = request(client, w)
    assert {x["bz"] for x in rows(client, w, grant).json()["rows"]} == {"备注0", "备注1", "备注2"}
    staged = upload(client, w["h"]["provider"], w["res"], TURNED)
    info = client.get(f"/api/v1/dataset-versions/{staged}", headers=w["h"]["provider"]).json()
    if info["state"] == "staged":  # the findings changed: a reviewer accepts it
        r = client.post(f"/api/v1/dataset-versions/{staged}/accept", headers=w["h"]["reviewer"])
        assert r.status_code == 200, r.text
    got = rows(client, w, grant).json()["rows"]
    assert {x["bh"][0] for x in got} == {"B"}
    assert not {str(x["bz"]) for x in got} & set(IDS)
    r = rows(client, w, grant, f"&bz=eq.{IDS[3]}")
    assert r.status_code == 403 and r.json()["error"]["code"] == "filter_on_masked_field"
