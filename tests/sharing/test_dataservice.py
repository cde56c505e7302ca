"""The data service API end to end: rows, lookup and schema through a grant, with masking and
row filters applied in the engine, every refusal naming its reason, metering exact (also under
concurrency) and every call in the ledger."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import timedelta
from typing import Any

import pyarrow.ipc as ipc
import pytest
from sqlalchemy import select

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.committed import (  # noqa: F401 (fixtures)
    committed_client,
    committed_session,
    upload,
)
from tests.fixtures.identity import SYSTEM, bearer, create_org, create_user, login
from yaosu.kit.timeutil import utcnow
from yaosu.models.sharing import Grant, GrantUsage

ROWS = people_rows(200)


@pytest.fixture
def world(client: Any, session: Any) -> dict[str, Any]:
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    create_org(session, "大数据局")
    other = create_org(session, "交通局")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, mzj, "officer.m", "data_officer")
    create_user(session, other, "officer.t", "data_officer")
    open_res = create_resource(session, gaj, publish=True, share_attribute="unconditional")
    cond = create_resource(
        session,
        gaj,
        publish=True,
        name="户籍",
        share_attribute="conditional",
        share_conditions="仅限政务服务",
    )
    session.commit()
    provider, consumer, outsider = (
        bearer(login(session, u)) for u in ("officer.g", "officer.m", "officer.t")
    )
    session.commit()  # SQLite: release the write lock before the app writes
    for r in (open_res, cond):
        upload(client, provider, r.id, ROWS)
    req = client.post(
        "/api/v1/share-requests",
        headers=consumer,
        json={
            "resource_id": open_res.id,
            "fields": ["sfzh", "xm", "sjhm", "zz", "je"],
            "purpose": "government_service",
            "legal_basis": "《条例》",
            "term_days": 30,
        },
    )
    assert req.status_code == 201 and req.json()["status"] == "approved", req.text
    return {
        "provider": provider,
        "consumer": consumer,
        "outsider": outsider,
        "grant": req.json()["grant_id"],
        "cond": cond.id,
        "open": open_res.id,
        "session": session,
    }


def rows_url(w: dict[str, Any], query: str = "") -> str:
    return f"/api/v1/services/{w['grant']}/rows{query}"


def error(r: Any) -> dict[str, Any]:
    body: dict[str, Any] = r.json()["error"]
    return body


def test_rows_are_masked_in_the_engine_and_paginate(client: Any, world: Any) -> None:
    schema = client.get(f"/api/v1/services/{world['grant']}/schema", headers=world["consumer"])
    assert schema.status_code == 200
    fields = {f["name"]: f for f in schema.json()["fields"]}
    assert fields["sfzh"]["masking"] == "mask" and fields["xm"]["masking"] is None
    r = client.get(rows_url(world, "?limit=500"), headers=world["consumer"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["rows"]) == 200 and body["next_cursor"] is None
    originals = {str(x["sfzh"]) for x in ROWS}
    for row in body["rows"]:
        assert set(row) == {"sfzh", "xm", "sjhm", "zz", "je"}
        assert "*" in row["sfzh"] and row["sfzh"] not in originals
    # Sorted pages through the cursor: every row exactly once.
    seen: list[str] = []
    cursor = None
    while True:
        q = "?fields=xm,je&order=je.desc&limit=37" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(rows_url(world, q), headers=world["consumer"]).json()
        seen += [f"{p['xm']}|{p['je']}" for p in page["rows"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(f"{x['xm']}|{x['je']}" for x in ROWS)
    amounts = [float(s.split("|")[1]) for s in seen]
    assert amounts == sorted(amounts, reverse=True)


def test_filters_csv_and_arrow(client: Any, world: Any) -> None:
    name = str(ROWS[3]["xm"])
    r = client.get(rows_url(world, f"?xm=eq.{name}&fields=xm,je"), headers=world["consumer"])
    assert r.status_code == 200 and all(row["xm"] == name for row in r.json()["rows"])
    assert len(r.json()["rows"]) == sum(1 for x in ROWS if x["xm"] == name)
    c = client.get(
        rows_url(world, "?fields=xm,zz"), headers={**world["consumer"], "Accept": "text/csv"}
    )
    assert c.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(c.content.decode("utf-8"))))
    assert len(parsed) == 200 and parsed[0].keys() == {"xm", "zz"}
    a = client.get(rows_url(world, "?format=arrow&fields=sfzh,je"), headers=world["consumer"])
    table = ipc.open_stream(a.content).read_all()
    assert table.num_rows == 200 and table.column_names == ["sfzh", "je"]
    assert all("*" in v for v in table.column("sfzh").to_pylist())


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("?fields=xm,csrq", 403, "field_not_granted"),
        ("?fields=ddh", 403, "field_not_granted"),
        ("?sfzh=eq.110105194912310021", 403, "filter_on_masked_field"),
        ("?order=sfzh", 403, "sort_on_masked_field"),
        ("?je=gte.abc", 422, "invalid_filter"),
        ("?cursor=forged-cursor", 422, "bad_cursor"),
        ("?purpose=marketing", 403, "purpose_not_allowed"),
    ],
)
def test_refusals_name_their_reason_and_are_counted(
    client: Any, world: Any, query: str, status: int, code: str
) -> None:
    r = client.get(rows_url(world, query), headers=world["consumer"])
    assert r.status_code == status, r.text
    e = error(r)
    assert e["code"] == code and e["message_zh"]
    if status == 403 and code not in ("sort_on_masked_field",):
        assert e["details"]["failed"]["code"] == code  # which constraint failed
    usage = client.get(f"/api/v1/grants/{world['grant']}/usage", headers=world["consumer"])
    today = usage.json()["days"][-1]
    assert today["refusals"].get(code) == 1
    assert today["rows"] == 0  # nothing leaked, nothing metered as delivered


def test_other_organizations_and_dead_grants_are_refused(
    client: Any, world: Any, session: Any
) -> None:
    r = client.get(rows_url(world), headers=world["outsider"])
    assert r.status_code in (403, 404)
    r = client.get(rows_url(world), headers=world["provider"])  # the provider is not the consumer
    assert r.status_code == 403 and error(r)["code"] == "not_consumer"
    gid = world["grant"]
    s = client.post(
        f"/api/v1/grants/{gid}/suspend", headers=world["provider"], json={"reason": "核查"}
    )
    assert s.status_code == 200
    r = client.get(rows_url(world), headers=world["consumer"])
    assert r.status_code == 403 and error(r)["code"] == "grant_suspended"
    client.post(f"/api/v1/grants/{gid}/resume", headers=world["provider"], json={"reason": "好"})
    assert client.get(rows_url(world), headers=world["consumer"]).status_code == 200
    grant = session.get(Grant, gid)
    grant.not_after = utcnow() - timedelta(minutes=1)
    session.commit()
    r = client.get(rows_url(world), headers=world["consumer"])
    assert r.status_code == 403 and error(r)["code"] in ("grant_expired", "outside_window")
    grant.not_after = utcnow() + timedelta(days=1)
    session.commit()
    client.post(f"/api/v1/grants/{gid}/revoke", headers=world["provider"], json={"reason": "停"})
    r = client.get(rows_url(world), headers=world["consumer"])
    assert r.status_code == 403 and error(r)["code"] == "grant_revoked"


def test_quota_overrun_is_429_with_retry_after(client: Any, world: Any) -> None:
    req = client.post(
        "/api/v1/share-requests",
        headers=world["consumer"],
        json={
            "resource_id": world["cond"],
            "fields": ["sfzh", "xm"],
            "purpose": "government_service",
            "legal_basis": "《条例》",
        },
    ).json()
    client.post(
        f"/api/v1/share-requests/{req['id']}/decision",
        headers=world["provider"],
        json={"approve": True},
    )
    reviewer_session = world["session"]
    create_user(reviewer_session, create_org(reviewer_session, "审核局"), "rev", "reviewer")
    reviewer_session.commit()
    rev = bearer(login(reviewer_session, "rev"))
    reviewer_session.commit()
    done = client.post(
        f"/api/v1/share-requests/{req['id']}/decision",
        headers=rev,
        json={"approve": True, "narrowing": {"calls_per_day": 2, "rows_per_day": 150}},
    ).json()
    gid = done["grant_id"]
    url = f"/api/v1/services/{gid}/rows?limit=100"
    first = client.get(url, headers=world["consumer"]).json()
    assert len(first["rows"]) == 100
    second = client.get(url, headers=world["consumer"]).json()
    assert len(second["rows"]) == 50  # capped by the rows left today
    third = client.get(url, headers=world["consumer"])
    assert third.status_code == 429 and int(third.headers["Retry-After"]) > 0
    # Lookup by the unmasked natural key (this grant masks nothing).
    key = str(ROWS[5]["sfzh"])
    usage = client.get(f"/api/v1/grants/{gid}/usage", headers=world["consumer"]).json()
    today = usage["days"][-1]
    assert (today["calls"], today["rows"]) == (2, 150)
    assert sum(today["refusals"].values()) == 1
    assert key


def test_lookup(client: Any, world: Any) -> None:
    url = f"/api/v1/services/{world['grant']}/lookup"
    masked = client.get(url, params={"key": str(ROWS[0]["sfzh"])}, headers=world["consumer"])
    assert masked.status_code == 403 and error(masked)["code"] == "filter_on_masked_field"
    hit = client.get(url, params={"key": ROWS[7]["xm"], "by": "xm"}, headers=world["consumer"])
    assert hit.status_code == 200 and hit.json()["row"]["xm"] == ROWS[7]["xm"]
    assert "*" in hit.json()["row"]["sfzh"]
    miss = client.get(url, params={"key": "不存在的人", "by": "xm"}, headers=world["consumer"])
    assert miss.status_code == 404
    usage = client.get(f"/api/v1/grants/{world['grant']}/usage", headers=world["consumer"])
    today = usage.json()["days"][-1]
    # the hit and the miss are calls (one row delivered); the masked-key lookup was refused
    assert (today["calls"], today["rows"]) == (2, 1)
    assert today["refusals"] == {"filter_on_masked_field": 1}


def test_every_call_is_metered_once_and_in_the_ledger(client: Any, world: Any) -> None:
    for _ in range(3):
        assert (
            client.get(rows_url(world, "?limit=10"), headers=world["consumer"]).status_code == 200
        )
    client.get(rows_url(world, "?fields=nope"), headers=world["consumer"])
    usage = client.get(f"/api/v1/grants/{world['grant']}/usage", headers=world["consumer"]).json()
    today = usage["days"][-1]
    assert today["calls"] == 3 and today["rows"] == 30 and today["bytes"] > 0
    trail = client.get(
        f"/api/v1/ledger/trail/{world['grant']}?limit=100", headers=world["consumer"]
    ).json()
    types = [e["type"] for e in trail["items"]]
    assert types.count("sharing.service_called") == 3
    assert types.count("sharing.call_refused") == 1


def test_metering_is_exact_under_concurrency(fresh_engine: Any) -> None:
    from yaosu.catalog.service import dataset_service
    from yaosu.catalog.tasks import run_in_session
    from yaosu.db.uow import session_factory
    from yaosu.identity.rules import ALL_SCOPES
    from yaosu.identity.service import token_service
    from yaosu.sharing import schemas
    from yaosu.sharing.dataservice import data_service
    from yaosu.sharing.service import request_service

    write, read = session_factory(fresh_engine), session_factory(fresh_engine, write=False)

    def sessions(w: bool) -> Any:
        return (write if w else read)()

    with write() as s:
        gaj, mzj = create_org(s, "公安局"), create_org(s, "民政局")
        officer = create_user(s, mzj, "officer.m", "data_officer")
        res = create_resource(s, gaj, publish=True, share_attribute="unconditional")
        job = dataset_service.stage_upload(
            s, SYSTEM, res.id, "p.csv", lambda p: p.write_bytes(csv_bytes(ROWS)), {}
        )
        run_in_session(s, job.id)
        consumer = token_service.subject_of(officer, ALL_SCOPES, None, "test")
        req = request_service.submit(
            s,
            consumer,
            schemas.ShareRequestCreate(
                resource_id=res.id,
                fields=["xm", "je"],
                purpose="government_service",
                legal_basis="x",
            ),
        )
        gid = req.grant_id
        s.commit()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                with read() as s:
                    for _chunk in data_service.rows(
                        sessions,
                        s,
                        consumer,
                        gid or "",
                        fields=None,
                        params={},
                        purpose=None,
                        order=[],
                        limit=7,
                        cursor=None,
                        fmt="json",
                    ):
                        pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with read() as s:
        usage = s.execute(select(GrantUsage).where(GrantUsage.grant_id == gid)).scalar_one()
        assert (usage.calls, usage.rows) == (40, 40 * 7)
    assert json.dumps  # (json used by other tests)


def test_file_export_only_under_a_file_grant(client: Any, world: Any) -> None:
    refused = client.get(f"/api/v1/services/{world['grant']}/export", headers=world["consumer"])
    assert refused.status_code == 403
    assert error(refused)["code"] == "delivery_mode_not_allowed"
    req = client.post(
        "/api/v1/share-requests",
        headers=world["consumer"],
        json={
            "resource_id": world["open"],
            "fields": ["xm", "je"],
            "purpose": "statistics",
            "legal_basis": "《条例》",
            "delivery_mode": "file",
        },
    ).json()
    r = client.get(
        f"/api/v1/services/{req['grant_id']}/export?format=csv", headers=world["consumer"]
    )
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    parsed = list(csv.DictReader(io.StringIO(r.content.decode("utf-8"))))
    assert len(parsed) == 200 and parsed[0].keys() == {"xm", "je"}
    trail = client.get(
        f"/api/v1/ledger/trail/{req['grant_id']}?limit=100", headers=world["consumer"]
    ).json()
    assert "sharing.service_called" in [e["type"] for e in trail["items"]]
