"""The CKAN-compatible Action API, driven by the real ``ckanapi`` client against a real uvicorn
server on a committing database: what is listed and what is not, package_search with words,
facet terms, counts, paging and sorting, the DataStore over de-identified rows, CKAN's error
shapes and status codes, hostile input and the rate limit."""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import ckanapi
import httpx
import pytest
import requests
import uvicorn

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.identity import bearer, create_org, create_user, login
from yaosu.config import get_settings
from yaosu.opendata import ratelimit

ROWS = people_rows(200)
COND_ROWS = people_rows(50, seed=11)
FACETS = ["organization", "groups", "tags", "res_format", "license_id"]


@dataclass
class Node:
    base: str
    ids: dict[str, str]
    orgs: dict[str, str]

    def ckan(self, **kw: Any) -> ckanapi.RemoteCKAN:
        return ckanapi.RemoteCKAN(self.base, **kw)

    def call(self, name: str, method: str = "POST", **kw: Any) -> requests.Response:
        return requests.request(method, f"{self.base}/api/3/action/{name}", timeout=60, **kw)


@pytest.fixture(autouse=True)
def generous_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with an empty limiter (other modules' calls count too) and a limit
    that these tests do not reach, except the one that sets its own."""
    monkeypatch.setattr(get_settings(), "open_rate_anonymous", 100_000)
    ratelimit.limiter.reset()
    yield
    ratelimit.limiter.reset()


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(600):  # readiness only: the tests never depend on how long this takes
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the test server did not start"
    return server, thread, f"http://127.0.0.1:{port}"


def _upload(base: str, headers: dict[str, str], resource_id: str, rows: list[Any]) -> None:
    r = httpx.post(
        f"{base}/api/v1/resources/{resource_id}/versions?wait=true",
        headers=headers,
        files={"file": ("p.csv", csv_bytes(rows), "text/csv")},
        timeout=120,
    )
    assert r.status_code in (200, 201, 202) and r.json()["status"] == "succeeded", r.text


# Publishing and ingest commit, as in production: the module's node runs on its own database
# that really commits, served by uvicorn in a thread, and is shared by the module's tests
# (which only read).
@pytest.fixture(scope="module")
def node(databases: Any, engine: Any) -> Iterator[Node]:
    from yaosu.app import create_app
    from yaosu.db.uow import session_factory

    eng = databases.new(engine.dialect.name)
    session = session_factory(eng)()
    try:
        gaj = create_org(session, "示范市公安局")
        mzj = create_org(session, "示范市民政局")
        rsj = create_org(session, "示范市人社局")
        create_user(session, gaj, "officer.gaj", "data_officer")
        create_user(session, mzj, "officer.mzj", "data_officer")
        people = create_resource(
            session,
            gaj,
            publish=True,
            name="常住人口基本信息",
            summary="全市常住人口的基本身份信息",
            open_attribute="unconditional",
            keywords=["人口", "户籍"],
            fields=[
                {"name": "sfzh", "label_zh": "身份证号", "type": "string"},
                {"name": "xm", "label_zh": "姓名", "type": "string"},
                {"name": "je", "label_zh": "金额", "type": "decimal"},
            ],
        )
        relief = create_resource(
            session,
            mzj,
            publish=True,
            name="低保救助对象名单",
            summary="城乡最低生活保障对象",
            open_attribute="conditional",
            keywords=["民政", "救助"],
        )
        closed = create_resource(
            session,
            gaj,
            publish=True,
            name="在逃人员内部名单",
            summary="仅供内部使用",
            open_attribute="none",
            keywords=["内部专用"],
        )
        firms = create_resource(
            session,
            rsj,
            publish=True,
            name="企业登记信息",
            summary="市场主体登记信息",
            base_library="legal_person",
            open_attribute="unconditional",
            keywords=["企业", "户籍"],
        )
        insurance = create_resource(
            session,
            rsj,
            publish=True,
            name="社会保险参保信息",
            summary="职工参保缴费情况",
            base_library="legal_person",
            open_attribute="unconditional",
            keywords=["社保"],
        )
        session.commit()
        tokens = {u: bearer(login(session, u)) for u in ("officer.gaj", "officer.mzj")}
        session.commit()  # SQLite: release the write lock before the server writes
        ids = {
            "people": people.id,
            "relief": relief.id,
            "closed": closed.id,
            "firms": firms.id,
            "insurance": insurance.id,
            "people_code": people.code,
            "closed_code": closed.code,
        }
        orgs = {"gaj": gaj.id, "mzj": mzj.id, "rsj": rsj.id}
    finally:
        session.close()
    server, thread, base = _serve(create_app(eng))
    try:
        _upload(base, tokens["officer.gaj"], ids["people"], ROWS)
        _upload(base, tokens["officer.mzj"], ids["relief"], COND_ROWS)
        _upload(base, tokens["officer.gaj"], ids["closed"], ROWS)
        yield Node(base, ids, orgs)
    finally:
        server.should_exit = True
        thread.join(30)
        eng.dispose()


def name_of(code: str) -> str:
    return code.replace("/", "-")


def error_of(r: requests.Response) -> dict[str, Any]:
    body = r.json()
    assert body["success"] is False and body["help"].endswith(
        "/api/3/action/help_show?name=" + r.url.rsplit("/", 1)[-1].split("?")[0]
    )
    error: dict[str, Any] = body["error"]
    return error


# --- the site --------------------------------------------------------------------------------
def test_status_help_and_licenses_through_ckanapi(node: Node) -> None:
    ckan = node.ckan()
    status = ckan.action.status_show()
    assert status["ckan_version"].startswith("2.") and "datastore" in status["extensions"]
    assert ckan.action.help_show(name="package_search").startswith("Search open datasets")
    licenses = ckan.action.license_list()
    assert [x["title"] for x in licenses] == ["政府数据开放许可 (Government Open Data Licence) 1.0"]
    with pytest.raises(ckanapi.NotFound):
        ckan.action.help_show(name="package_create")


def test_lists_show_only_what_is_open(node: Node) -> None:
    ckan = node.ckan()
    names = ckan.action.package_list()
    listed = ("people", "relief", "firms", "insurance")
    assert sorted(names) == names and len(names) == 4
    assert name_of(node.ids["people_code"]) in names
    assert name_of(node.ids["closed_code"]) not in names  # 不予开放 never appears
    assert ckan.action.package_list(limit=2, offset=1) == names[1:3]
    orgs = ckan.action.organization_list(all_fields=True, sort="package_count desc")
    assert (orgs[0]["name"], orgs[0]["package_count"]) == (node.orgs["rsj"], 2)
    assert {o["name"] for o in orgs} == set(node.orgs.values())
    shown = ckan.action.organization_show(id=node.orgs["gaj"], include_datasets=True)
    assert shown["title"] == "示范市公安局" and shown["package_count"] == 1
    assert [p["id"] for p in shown["packages"]] == [node.ids["people"]]
    with pytest.raises(ckanapi.NotFound):
        ckan.action.organization_show(id="no-such-org")
    groups = {g["name"]: g for g in ckan.action.group_list(all_fields=True)}
    assert groups["population"]["title"] == "人口基础库"
    assert groups["population"]["package_count"] == 2
    assert groups["legal_person"]["package_count"] == 2
    assert groups["macro_economy"]["package_count"] == 0
    assert ckan.action.group_show(id="legal_person")["package_count"] == 2
    tags = ckan.action.tag_list()
    assert tags == sorted(["人口", "户籍", "民政", "救助", "企业", "社保"])
    assert "内部专用" not in tags
    assert ckan.action.tag_list(query="户") == ["户籍"]
    assert all(node.ids[k] for k in listed)


# --- package_search --------------------------------------------------------------------------
def facet_items(result: dict[str, Any], field: str) -> dict[str, int]:
    items = result["search_facets"][field]["items"]
    assert result["search_facets"][field]["title"] == field
    assert all(set(i) == {"name", "display_name", "count"} for i in items)
    assert result["facets"][field] == {i["name"]: i["count"] for i in items}
    return {i["name"]: i["count"] for i in items}


def test_package_search_words_terms_and_facet_counts(node: Node) -> None:
    ckan = node.ckan()
    everything = ckan.call_action("package_search", {"facet.field": FACETS, "rows": 10})
    assert everything["count"] == 4
    assert node.ids["closed"] not in {p["id"] for p in everything["results"]}
    assert facet_items(everything, "organization") == {
        node.orgs["rsj"]: 2,
        node.orgs["gaj"]: 1,
        node.orgs["mzj"]: 1,
    }
    assert facet_items(everything, "groups") == {"population": 2, "legal_person": 2}
    assert facet_items(everything, "tags") == {
        "户籍": 2,
        "人口": 1,
        "民政": 1,
        "救助": 1,
        "企业": 1,
        "社保": 1,
    }
    assert facet_items(everything, "res_format") == {"CSV": 1, "JSON": 1, "PARQUET": 1}
    assert facet_items(everything, "license_id") == {"cn-gov-open-data-1.0": 4}
    org_items = everything["search_facets"]["organization"]["items"]
    shown = {i["display_name"] for i in org_items}
    assert shown == {"示范市公安局", "示范市民政局", "示范市人社局"}
    group_items = everything["search_facets"]["groups"]["items"]
    assert {i["display_name"] for i in group_items} == {"人口基础库", "法人基础库"}

    words = ckan.action.package_search(q="人口")
    assert [p["id"] for p in words["results"]] == [node.ids["people"]]
    assert ckan.action.package_search(q="在逃")["count"] == 0  # 不予开放: not even by name

    # Index-backed terms (organization, groups) and others (tags, res_format) together.
    fq = f'organization:{node.orgs["gaj"]} AND res_format:CSV tags:"户籍"'
    one = ckan.call_action("package_search", {"fq": fq, "facet.field": FACETS})
    assert [p["id"] for p in one["results"]] == [node.ids["people"]]
    assert facet_items(one, "tags") == {"户籍": 1, "人口": 1}
    two = ckan.call_action(
        "package_search", {"fq": "groups:legal_person", "facet.field": ["organization"]}
    )
    assert two["count"] == 2 and facet_items(two, "organization") == {node.orgs["rsj"]: 2}
    assert ckan.action.package_search(fq="tags:户籍 groups:population")["count"] == 1
    assert ckan.action.package_search(fq="groups:population groups:legal_person")["count"] == 0
    assert ckan.action.package_search(fq="+dataset_type:dataset")["count"] == 4
    conditional = ckan.action.package_search(fq="extras_open_attribute:conditional")
    assert [p["id"] for p in conditional["results"]] == [node.ids["relief"]]
    assert ckan.action.package_search(fq="license_id:other")["count"] == 0
    name = name_of(node.ids["people_code"])
    assert ckan.action.package_search(fq=f"name:{name}")["count"] == 1
    since = ckan.action.package_search(fq="metadata_modified:[2000-01-01T00:00:00Z TO *]")
    assert since["count"] == 4
    assert ckan.action.package_search(fq="metadata_modified:[* TO 2000-01-01]")["count"] == 0
    limited = ckan.call_action("package_search", {"facet.field": ["tags"], "facet.limit": 1})
    assert facet_items(limited, "tags") == {"户籍": 2}


def test_package_search_pages_and_sorts(node: Node) -> None:
    ckan = node.ckan()
    by_name = ckan.action.package_search(sort="name asc", rows=1000)["results"]
    names = [p["name"] for p in by_name]
    assert names == sorted(names) and len(names) == 4
    pages = [ckan.action.package_search(sort="name asc", rows=2, start=s) for s in (0, 2, 4)]
    assert [p["name"] for page in pages for p in page["results"]] == names
    assert all(page["count"] == 4 for page in pages)
    titles = [p["title"] for p in ckan.action.package_search(sort="title_string asc")["results"]]
    assert titles == sorted(titles)
    modified = ckan.action.package_search(sort="metadata_modified desc")["results"]
    stamps = [p["metadata_modified"] for p in modified]
    assert stamps == sorted(stamps, reverse=True)
    # The default: relevance, then the newest first (publication order here).
    default = ckan.action.package_search()
    assert default["sort"] == "score desc, metadata_modified desc"
    assert [p["id"] for p in default["results"]] == [
        node.ids[k] for k in ("insurance", "firms", "relief", "people")
    ]
    assert ckan.action.package_search(rows=100_000)["count"] == 4  # clamped, not refused
    assert ckan.action.package_search(rows=0)["results"] == []


def test_package_show_maps_the_dataset(node: Node) -> None:
    ckan = node.ckan()
    by_id = ckan.action.package_show(id=node.ids["people"])
    by_name = ckan.action.package_show(id=name_of(node.ids["people_code"]))
    by_code = ckan.action.package_show(id=node.ids["people_code"])
    assert by_id == by_name == by_code
    assert by_id["name"] == name_of(node.ids["people_code"])
    assert by_id["title"] == "常住人口基本信息"
    assert by_id["notes"] == "全市常住人口的基本身份信息"
    assert by_id["organization"]["name"] == node.orgs["gaj"]
    assert by_id["organization"]["title"] == "示范市公安局"
    assert [g["name"] for g in by_id["groups"]] == ["population"]
    assert [t["name"] for t in by_id["tags"]] == ["人口", "户籍"]
    assert by_id["license_id"] == "cn-gov-open-data-1.0"
    extras = {e["key"]: e["value"] for e in by_id["extras"]}
    assert extras["open_attribute"] == "unconditional"
    assert extras["update_cycle"] == "daily"
    assert extras["resource_code"] == node.ids["people_code"]
    assert extras["registration_code"].startswith("GZ")
    assert "grade" in extras
    assert by_id["metadata_created"] and by_id["metadata_modified"]
    assert [r["format"] for r in by_id["resources"]] == ["CSV", "JSON", "PARQUET"]
    for res in by_id["resources"]:
        assert res["datastore_active"] is True and res["package_id"] == node.ids["people"]
        got = httpx.get(res["url"], timeout=60)
        assert got.status_code == 200
        assert res["hash"] == f"sha256:{got.headers['X-Content-SHA256']}"
        assert res["size"] == len(got.content)
        assert res["mimetype"] in got.headers["content-type"]
        assert ckan.action.resource_show(id=res["id"]) == res
    # Search results carry the same package, without the files' hash and size.
    found = ckan.action.package_search(fq=f"name:{by_id['name']}")["results"][0]
    assert {k: v for k, v in found.items() if k != "resources"} == {
        k: v for k, v in by_id.items() if k != "resources"
    }
    assert [r["id"] for r in found["resources"]] == [r["id"] for r in by_id["resources"]]


def test_closed_datasets_are_invisible_and_conditional_ones_have_no_data(node: Node) -> None:
    ckan = node.ckan()
    for ident in (node.ids["closed"], node.ids["closed_code"], name_of(node.ids["closed_code"])):
        with pytest.raises(ckanapi.NotFound):
            ckan.action.package_show(id=ident)
    with pytest.raises(ckanapi.NotFound):
        ckan.action.resource_show(id=f"{node.ids['closed']}-csv")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.datastore_search(resource_id=f"{node.ids['closed']}-csv")
    relief = ckan.action.package_show(id=node.ids["relief"])
    assert relief["resources"] == [] and relief["num_resources"] == 0
    extras = {e["key"]: e["value"] for e in relief["extras"]}
    assert extras["open_attribute"] == "conditional"
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.datastore_search(resource_id=f"{node.ids['relief']}-csv")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.resource_show(id=f"{node.ids['relief']}-csv")
    r = node.call("datastore_search", json={"resource_id": f"{node.ids['relief']}-csv"})
    assert r.status_code == 403 and error_of(r)["__type"] == "Authorization Error"
    no_data = ckan.action.package_show(id=node.ids["firms"])
    assert no_data["resources"] == []


# --- datastore_search ------------------------------------------------------------------------
def test_datastore_search_reads_masked_rows(node: Node) -> None:
    ckan = node.ckan()
    rid = f"{node.ids['people']}-csv"
    page = ckan.action.datastore_search(resource_id=rid, limit=5)
    assert page["total"] == 200 and page["total_was_estimated"] is False
    assert len(page["records"]) == 5 and page["limit"] == 5
    types = {f["id"]: f["type"] for f in page["fields"]}
    assert types["_id"] == "int" and types["sfzh"] == "text" and types["je"] == "float8"
    assert [r["_id"] for r in page["records"]] == [1, 2, 3, 4, 5]
    originals = {str(x["sfzh"]) for x in ROWS}
    for rec in page["records"]:
        assert rec["sfzh"] not in originals  # masked in the engine, never raw
    masked = [f for f in page["fields"] if "masked" in f.get("info", {}).get("notes", "")]
    assert "sfzh" in {f["id"] for f in masked}
    sfzh_info = next(f for f in page["fields"] if f["id"] == "sfzh")["info"]
    assert sfzh_info["label"] == "身份证号"
    assert "/action/datastore_search?" in page["_links"]["start"]
    assert "offset=5" in page["_links"]["next"]
    plain = [f["id"] for f in page["fields"] if f["id"] not in {m["id"] for m in masked}]
    assert "je" in plain

    # Equality filters, a text match, a sort and a choice of fields, on plain fields only.
    target = ROWS[17]
    hit = ckan.action.datastore_search(resource_id=rid, filters={"je": target["je"]})
    assert hit["total"] >= 1 and all(r["je"] == target["je"] for r in hit["records"])
    assert 18 in {r["_id"] for r in hit["records"]}
    listed = ckan.action.datastore_search(
        resource_id=rid, filters={"je": [ROWS[0]["je"], ROWS[1]["je"]]}, fields=["_id", "je"]
    )
    assert {r["_id"] for r in listed["records"]} >= {1, 2}
    assert all(set(r) == {"_id", "je"} for r in listed["records"])
    ordered = ckan.action.datastore_search(resource_id=rid, sort="je desc", limit=200)
    amounts = [r["je"] for r in ordered["records"]]
    assert amounts == sorted((float(x["je"]) for x in ROWS), reverse=True)
    paged = ckan.action.datastore_search(resource_id=rid, sort="je desc", limit=10, offset=10)
    assert [r["je"] for r in paged["records"]] == amounts[10:20]
    # Free text matches plain text fields only: never the unmasked value of a masked one.
    assert {"sfzh", "xm", "sjhm"} <= {f["id"] for f in masked} and "ddh" in plain
    order_no = str(ROWS[5]["ddh"])
    part = ckan.action.datastore_search(resource_id=rid, q=order_no[3:9].lower())
    assert part["total"] == sum(order_no[3:9] in str(x["ddh"]) for x in ROWS)
    assert 6 in {r["_id"] for r in part["records"]}
    assert ckan.action.datastore_search(resource_id=rid, q={"ddh": order_no})["total"] == 1
    assert ckan.action.datastore_search(resource_id=rid, q=str(ROWS[0]["xm"]))["total"] == 0
    assert ckan.action.datastore_search(resource_id=rid, q=str(ROWS[0]["sfzh"]))["total"] == 0

    # Formats, the total on demand, the limit clamp.
    lists = ckan.action.datastore_search(
        resource_id=rid, records_format="lists", fields="_id,je", limit=3
    )
    assert lists["records"] == [[i + 1, float(ROWS[i]["je"])] for i in range(3)]
    as_csv = ckan.action.datastore_search(
        resource_id=rid, records_format="csv", fields=["_id", "je"], limit=3, include_total=False
    )
    assert "total" not in as_csv
    assert list(csv.reader(io.StringIO(as_csv["records"]))) == [
        [str(i + 1), str(float(ROWS[i]["je"]))] for i in range(3)
    ]
    clamped = ckan.action.datastore_search(resource_id=rid, limit=10**12)
    assert clamped["limit"] == 32000 and len(clamped["records"]) == 200
    empty = ckan.action.datastore_search(resource_id=rid, offset=10**15)
    assert empty["records"] == [] and empty["total"] == 200
    same = ckan.action.datastore_search(resource_id=f"{node.ids['people']}-parquet", limit=5)
    assert same["records"] == page["records"]


def test_datastore_refuses_masked_and_unknown_fields(node: Node) -> None:
    ckan = node.ckan()
    rid = f"{node.ids['people']}-csv"
    for data in (
        {"filters": {"sfzh": ROWS[0]["sfzh"]}},
        {"sort": "sfzh asc"},
        {"q": {"sfzh": "3706"}},
        {"filters": {"nope": 1}},
        {"fields": ["_id", "nope"]},
        {"sort": "nope"},
        {"filters": {"je": {"$gt": 1}}},
        {"filters": "[1, 2]"},
        {"records_format": "xml"},
        {"limit": -1},
    ):
        with pytest.raises(ckanapi.ValidationError):
            ckan.call_action("datastore_search", {"resource_id": rid, **data})
    r = node.call("datastore_search", json={"resource_id": rid, "sort": "sfzh desc"})
    assert r.status_code == 409
    err = error_of(r)
    assert err["__type"] == "Validation Error" and "masked" in err["message"]
    assert err["sort"] and err["message_zh"]
    with pytest.raises(ckanapi.NotFound):
        ckan.action.datastore_search(resource_id="no-such-resource")


# --- errors, hostile input, limits -----------------------------------------------------------
def test_unknown_actions_bad_parameters_and_bad_bodies(node: Node) -> None:
    r = node.call("package_create", json={"name": "x"})
    assert r.status_code == 400
    err = error_of(r)
    assert err["__type"] == "Bad request - Action name not known"
    assert err["message"] == "Action name not known: package_create"
    r = node.call("package_search", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and error_of(r)["__type"] == "Bad request - JSON Error"
    r = node.call("package_search", data=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    for params in (
        {"rows": "abc"},
        {"rows": "-1"},
        {"start": "1.5"},
        {"facet.field": "[not json"},
        {"facet.field": '["owner_org_name"]'},
        {"sort": "price desc"},
        {"fq": "tags:a OR tags:b"},
        {"fq": "-tags:a"},
        {"fq": "colour:red"},
        {"fq": "metadata_modified:[yesterday TO *]"},
        {"q": "x" * 5000},
    ):
        r = node.call("package_search", method="GET", params=params)
        assert r.status_code == 409, (params, r.text)
        err = error_of(r)
        assert err["__type"] == "Validation Error" and err["message"], params
    r = node.call("package_show", method="GET", params={"id": "no-such-dataset"})
    assert r.status_code == 404 and error_of(r)["__type"] == "Not Found Error"
    r = node.call("package_show", method="GET")
    assert r.status_code == 409 and error_of(r)["id"] == ["Missing value"]


def test_get_form_and_json_calls_agree(node: Node) -> None:
    fq = f"organization:{node.orgs['rsj']}"
    facets = json.dumps(["groups"])
    got = node.call("package_search", method="GET", params={"fq": fq, "facet.field": facets})
    form = node.call("package_search", data={"fq": fq, "facet.field": facets})
    body = node.call("package_search", json={"fq": fq, "facet.field": ["groups"]})
    old = requests.get(f"{node.base}/api/action/package_search", params={"fq": fq}, timeout=60)
    results = [x.json()["result"] for x in (got, form, body, old)]
    assert all(x.status_code == 200 for x in (got, form, body, old))
    assert results[0] == results[1] == results[2]
    assert results[3]["count"] == results[0]["count"] == 2
    only_get = node.ckan(get_only=True)
    assert only_get.action.package_search(fq=fq)["count"] == 2
    assert only_get.call_action("package_search", {"facet.field": ["groups"]})["facets"] == {
        "groups": {"population": 2, "legal_person": 2}
    }


def test_sql_like_input_is_inert(node: Node) -> None:
    ckan = node.ckan()
    rid = f"{node.ids['people']}-csv"
    hostile = "x' OR '1'='1'; DROP TABLE resources; --"
    assert ckan.action.package_search(q="1'; DROP TABLE resources;")["count"] == 0
    with pytest.raises(ckanapi.ValidationError):  # OR is refused, never misread
        ckan.action.package_search(q=hostile)
    assert ckan.action.package_search(fq=f'organization:"{hostile}"')["count"] == 0
    assert ckan.action.package_search(fq=f'tags:"{hostile}"')["count"] == 0
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id=hostile)
    assert ckan.action.datastore_search(resource_id=rid, filters={"je": hostile})["total"] == 0
    assert ckan.action.datastore_search(resource_id=rid, q=hostile)["total"] == 0
    assert ckan.action.datastore_search(resource_id=rid, filters={"_id": "1; --"})["total"] == 0
    for data in (
        {"sort": 'je"; DROP TABLE x; --'},
        {"fields": ["je\" FROM read_csv('/etc/passwd') --"]},
        {"filters": {'je" = 1 OR "1': 1}},
        {"q": {"je') OR true --": "1"}},
    ):
        with pytest.raises(ckanapi.ValidationError):
            ckan.call_action("datastore_search", {"resource_id": rid, **data})
    with pytest.raises(ckanapi.NotFound):
        ckan.action.datastore_search(resource_id=f"{hostile}-csv")
    assert ckan.action.package_search()["count"] == 4  # nothing was harmed
    assert ckan.action.datastore_search(resource_id=rid, limit=0)["total"] == 200


def test_rate_limit_answers_429_in_ckan_shape(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "open_rate_anonymous", 3)
    ratelimit.limiter.reset()
    ckan = node.ckan()
    for _ in range(3):
        ckan.action.status_show()
    r = node.call("status_show")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    err = error_of(r)
    assert err["__type"] == "Rate Limit Error" and "3" in err["message"] and err["message_zh"]
    with pytest.raises(ckanapi.CKANAPIError):
        ckan.action.package_search()


# --- the pieces underneath -------------------------------------------------------------------
def test_catalog_cache_follows_the_ledger(session: Any) -> None:
    from yaosu.opendata.ckan import catalog_cache

    gaj = create_org(session, "示范市公安局")
    before = catalog_cache.summaries(session)
    assert catalog_cache.summaries(session) is before  # kept while the ledger head stands
    create_resource(session, gaj, publish=True, name="新开放数据", open_attribute="unconditional")
    after = catalog_cache.summaries(session)
    assert [s.name for s in after if s.name == "新开放数据"] == ["新开放数据"]
    assert len(after) == len(before) + 1


def test_datastore_refuses_conditions_on_columns_that_are_not_plain(tmp_path: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from yaosu.dataplane.datastore import Datastore, TableQuery
    from yaosu.dataplane.query import Projection
    from yaosu.kit.errors import Invalid

    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"name": ["张三", "李四"], "n": [1, 2]}), path)
    masked = [Projection("name", "left(\"name\", 1) || '*'"), Projection("n", '"n"')]
    store = Datastore(allowed_directories=[str(tmp_path)])
    try:
        page = store.search(TableQuery(str(path), masked, frozenset({"n"}), equals={"n": ["2"]}))
        assert page.table.to_pylist() == [{"_id": 2, "name": "李*", "n": 2}] and page.total == 1
        for query in (
            TableQuery(str(path), masked, frozenset({"n"}), equals={"name": ["张三"]}),
            TableQuery(str(path), masked, frozenset({"n"}), order_by=[("name", False)]),
            TableQuery(str(path), masked, frozenset({"n"}), contains={"name": "张"}),
        ):
            with pytest.raises(Invalid):
                store.search(query)
        # Free text never looks into a masked column.
        assert store.search(TableQuery(str(path), masked, frozenset({"n"}), text="张")).total == 0
        outside = tmp_path.parent / "elsewhere.parquet"
        with pytest.raises(Invalid):
            store.search(TableQuery(str(outside), masked, frozenset({"n"})))
    finally:
        store.close()
