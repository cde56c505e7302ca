"""Open data end to end over HTTP: what the public sees and downloads (de-identified, hashed,
in the ledger), conditional-open applications through review to a grant used via the data
service, public demands, reuses, developer accounts, rate limits and the portal pages."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows

# Open distributions are recorded in their own transactions, as in production.
from tests.fixtures.committed import committed_client, committed_session  # noqa: F401
from tests.fixtures.identity import PASSWORD, bearer, create_org, create_user, login
from yaosu.config import get_settings
from yaosu.models.catalog import Resource
from yaosu.models.ledger import LedgerEntry
from yaosu.models.opendata import OpenDistribution
from yaosu.opendata.ratelimit import limiter

ROWS = people_rows(60)


def upload(
    client: Any, headers: Any, resource_id: str, rows: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    r = client.post(
        f"/api/v1/resources/{resource_id}/versions?wait=true",
        headers=headers,
        files={"file": ("p.csv", csv_bytes(ROWS if rows is None else rows), "text/csv")},
    )
    assert r.json()["status"] == "succeeded", r.text
    return dict(r.json())


@pytest.fixture
def world(client: Any, session: Session) -> dict[str, Any]:
    mzj = create_org(session, "民政局")
    bureau = create_org(session, "大数据局")
    firm = create_org(session, "普惠金融科技有限公司", kind="enterprise")
    uni = create_org(session, "示范大学", kind="institution")
    create_user(session, mzj, "officer.m", "data_officer")
    create_user(session, mzj, "member.m", "member")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, firm, "fintech", "member")
    create_user(session, uni, "prof", "member")
    create_user(session, firm, "fintech.cdo", "cdo")
    kw: dict[str, Any] = {"share_attribute": "unconditional"}
    opened = create_resource(
        session, mzj, publish=True, name="养老服务对象名录", open_attribute="unconditional", **kw
    )
    cond = create_resource(
        session, mzj, publish=True, name="低保家庭信息", open_attribute="conditional", **kw
    )
    closed = create_resource(
        session, mzj, publish=True, name="社会救助档案", open_attribute="none", **kw
    )
    draft = create_resource(session, mzj, name="养老草稿", open_attribute="unconditional", **kw)
    session.commit()
    tokens = {u: bearer(login(session, u)) for u in ("officer.m", "reviewer", "fintech", "prof")}
    tokens["member.m"] = bearer(login(session, "member.m"))
    tokens["fintech.cdo"] = bearer(login(session, "fintech.cdo"))
    session.commit()  # SQLite: release the write lock before the app writes
    for r in (opened, cond, closed):
        upload(client, tokens["officer.m"], r.id)
    return {
        "open": opened.id,
        "open_code": opened.code,
        "cond": cond.id,
        "closed": closed.id,
        "draft": draft.id,
        "tokens": tokens,
        "session": session,
    }


# --- the public catalog ----------------------------------------------------------------------
def test_search_lists_only_published_open_resources_with_facets(
    client: Any, world: dict[str, Any]
) -> None:
    r = client.get("/api/v1/open/datasets")
    assert r.status_code == 200
    body = r.json()
    ids = {d["id"] for d in body["items"]}
    assert ids == {world["open"], world["cond"]}
    opened = {f["value"]: f["count"] for f in body["facets"]["open_attribute"]}
    assert opened == {"unconditional": 1, "conditional": 1}
    only = client.get("/api/v1/open/datasets?open_attribute=conditional").json()
    assert [d["id"] for d in only["items"]] == [world["cond"]]
    # Asking for 不予开放 through the facet finds nothing.
    assert client.get("/api/v1/open/datasets?open_attribute=none").json()["total"] == 0
    hits = client.get("/api/v1/open/datasets", params={"q": "养老"}).json()
    assert [d["id"] for d in hits["items"]] == [world["open"]]  # not the draft


@pytest.mark.parametrize("which", ["closed", "draft"])
def test_unlisted_resources_are_not_found_even_by_guessing(
    client: Any, world: dict[str, Any], which: str
) -> None:
    rid = world[which]
    for path in ("", "/preview", "/distributions", "/download/csv"):
        r = client.get(f"/api/v1/open/datasets/{rid}{path}")
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "open_dataset_not_found"
    assert client.get(f"/datasets/{rid}").status_code == 404


def test_download_is_de_identified_hashed_recorded_and_counted(
    client: Any, world: dict[str, Any]
) -> None:
    session = world["session"]
    dists = client.get(f"/api/v1/open/datasets/{world['open_code']}/distributions")
    assert dists.status_code == 200, dists.text
    by_format = {d["format"]: d for d in dists.json()}
    assert set(by_format) == {
        "csv",
        "csv-excel",
        "csv-labels",
        "csv-excel-labels",
        "json",
        "parquet",
    }
    r = client.get(by_format["csv"]["url"])
    assert r.status_code == 200
    digest = hashlib.sha256(r.content).hexdigest()
    assert r.headers["x-content-sha256"] == digest == by_format["csv"]["sha256"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8"))))
    assert len(rows) == len(ROWS) == by_format["csv"]["rows"]
    raw_ids = {str(x["sfzh"]) for x in ROWS}
    assert not raw_ids & {row["sfzh"] for row in rows}, "resident IDs left unmasked"
    assert all(re.fullmatch(r"\d{6}\*{8}\d{3}[\dX]", row["sfzh"]) for row in rows)
    # The same file again: same hash, no second ledger entry, two downloads counted.
    again = client.get(by_format["csv"]["url"])
    assert hashlib.sha256(again.content).hexdigest() == digest
    session.expire_all()
    entries = session.execute(
        select(LedgerEntry).where(LedgerEntry.type == "opendata.distribution_published")
    ).scalars()
    assert len(list(entries)) == 6  # one per format
    listed = client.get(f"/api/v1/open/datasets/{world['open']}/distributions").json()
    assert {d["format"]: d["downloads"] for d in listed}["csv"] == 2
    figures = client.get("/api/v1/open/figures").json()
    assert figures["datasets"] == 2 and figures["downloadable"] == 1
    assert figures["downloads"] == 2


def _ledger_sha256(session: Session, fmt: str) -> list[str]:
    """The SHA-256 each ``opendata.distribution_published`` entry names for the open files of
    ``fmt`` (subjects: distribution id, resource id, version id, sha256)."""
    session.expire_all()
    ids = set(
        session.execute(select(OpenDistribution.id).where(OpenDistribution.format == fmt))
        .scalars()
        .all()
    )
    entries = session.execute(
        select(LedgerEntry.entry).where(LedgerEntry.type == "opendata.distribution_published")
    ).scalars()
    subjects = [json.loads(bytes(e))["subjects"] for e in entries]
    session.rollback()  # SQLite: end the read so the app can write
    return [s[3] for s in subjects if s[0] in ids]


def test_excel_csv_is_the_plain_csv_with_a_bom_and_its_own_recorded_hash(
    client: Any, world: dict[str, Any]
) -> None:
    base = f"/api/v1/open/datasets/{world['open']}"
    plain = client.get(f"{base}/download/csv")
    excel = client.get(f"{base}/download/csv-excel")
    assert plain.status_code == excel.status_code == 200, excel.text
    assert not plain.content.startswith(b"\xef\xbb\xbf")  # programs get a BOM-free CSV
    assert excel.content == b"\xef\xbb\xbf" + plain.content
    assert excel.headers["content-type"].startswith("text/csv")
    assert excel.headers["content-disposition"].endswith('.excel.csv"')
    served = hashlib.sha256(excel.content).hexdigest()
    assert excel.headers["x-content-sha256"] == served
    assert excel.headers["x-content-sha256"] != plain.headers["x-content-sha256"]
    # The ledger records the hash of exactly the bytes served, once, for each file.
    assert _ledger_sha256(world["session"], "csv-excel") == [served]
    assert _ledger_sha256(world["session"], "csv") == [plain.headers["x-content-sha256"]]
    listed = {d["format"]: d for d in client.get(f"{base}/distributions").json()}
    assert listed["csv-excel"]["sha256"] == served
    assert listed["csv-excel"]["size_bytes"] == len(excel.content)
    assert listed["csv-excel"]["rows"] == len(ROWS)
    # Excel's reading: Chinese headers and text decode with the BOM stripped.
    rows = list(csv.DictReader(io.StringIO(excel.content.decode("utf-8-sig"))))
    assert len(rows) == len(ROWS) and "sfzh" in rows[0]
    # The portal lists it beside the plain CSV, with the same hash.
    page = client.get(f"/datasets/{world['open']}/downloads").text
    assert f'data-sha256="{served}"' in page and "/download/csv-excel" in page


def test_labelled_csvs_carry_the_catalog_labels_as_their_header(
    client: Any, world: dict[str, Any]
) -> None:
    base = f"/api/v1/open/datasets/{world['open']}"
    plain = client.get(f"{base}/download/csv")
    labelled = client.get(f"{base}/download/csv-labels")
    assert labelled.status_code == 200, labelled.text
    assert labelled.headers["content-disposition"].endswith('.labels.csv"')
    # The header row is the 信息项 labels (身份证号, 姓名; a column without one keeps its
    # name); every row below is the plain CSV's, masked the same.
    head, _, body = labelled.content.decode("utf-8").partition("\n")
    p_head, _, p_body = plain.content.decode("utf-8").partition("\n")
    names = p_head.split(",")
    assert head.split(",") == [{"sfzh": "身份证号", "xm": "姓名"}.get(n, n) for n in names]
    assert body == p_body and "sfzh" in names
    # Its own file, hash and ledger entry; ?header=labels names the same file.
    served = hashlib.sha256(labelled.content).hexdigest()
    assert labelled.headers["x-content-sha256"] == served != plain.headers["x-content-sha256"]
    assert _ledger_sha256(world["session"], "csv-labels") == [served]
    same = client.get(f"{base}/download/csv?header=labels")
    assert same.content == labelled.content
    assert _ledger_sha256(world["session"], "csv-labels") == [served]
    # For Excel: the BOM, then the same labelled text.
    excel = client.get(f"{base}/download/csv-excel?header=labels")
    assert excel.status_code == 200
    assert excel.content == b"\xef\xbb\xbf" + labelled.content
    assert excel.headers["x-content-sha256"] == hashlib.sha256(excel.content).hexdigest()
    assert client.get(f"{base}/download/csv?header=names").content == plain.content
    # Labels only make sense as a CSV header; unknown choices are named.
    bad = client.get(f"{base}/download/json?header=labels")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "header_not_supported"
    bad = client.get(f"{base}/download/csv?header=chinese")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_header"
    # The portal offers both, in either language.
    for lang, word in (("zh", "CSV（中文表头）"), ("en", "CSV with Chinese headers")):
        page = client.get(f"/datasets/{world['open']}/downloads?lang={lang}").text
        assert word in page and "/download/csv-labels" in page, lang


def test_a_relabelled_entry_gets_a_new_labelled_file(client: Any, world: dict[str, Any]) -> None:
    base = f"/api/v1/open/datasets/{world['open']}"
    first = client.get(f"{base}/download/csv-labels")
    session = world["session"]
    resource = session.get(Resource, world["open"])
    assert resource is not None
    resource.fields = [
        {**f, "label_zh": "公民身份号码"} if f["name"] == "sfzh" else f for f in resource.fields
    ]
    session.commit()
    second = client.get(f"{base}/download/csv-labels")
    assert second.content.decode("utf-8").startswith("公民身份号码,")
    assert second.headers["x-content-sha256"] != first.headers["x-content-sha256"]
    assert len(_ledger_sha256(world["session"], "csv-labels")) == 2
    listed = {d["format"]: d for d in client.get(f"{base}/distributions").json()}
    assert listed["csv-labels"]["sha256"] == second.headers["x-content-sha256"]


def test_excel_csv_rewritten_after_loss_has_the_recorded_hash(
    client: Any, world: dict[str, Any]
) -> None:
    url = f"/api/v1/open/datasets/{world['open']}/download/csv-excel"
    first = client.get(url)
    assert first.status_code == 200
    session = world["session"]
    key = session.execute(
        select(OpenDistribution.storage_key).where(
            OpenDistribution.resource_id == world["open"],
            OpenDistribution.format == "csv-excel",
        )
    ).scalar_one()
    session.rollback()
    stored = Path(get_settings().data_dir) / key
    assert stored.name.endswith(".excel.csv")
    stored.unlink()
    again = client.get(url)
    assert again.status_code == 200, again.text
    assert again.content == first.content
    assert again.headers["x-content-sha256"] == hashlib.sha256(again.content).hexdigest()
    assert len(_ledger_sha256(world["session"], "csv-excel")) == 1
    stem = stored.name.split(".")[0]
    leftovers = [p for p in stored.parent.iterdir() if p.name.startswith(f".{stem}")]
    assert leftovers == []  # no temporary or plain intermediate left behind


@pytest.mark.parametrize(
    "fmt", ["xlsx", "CSV-EXCEL", "csv-excel.", "excel.csv", "csv%20", "csv-excel-zh"]
)
def test_unknown_download_formats_are_refused(client: Any, world: dict[str, Any], fmt: str) -> None:
    r = client.get(f"/api/v1/open/datasets/{world['open']}/download/{fmt}")
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["code"] == "unknown_format"
    assert _ledger_sha256(world["session"], fmt) == []


def test_portal_api_snippet_datastore_id_returns_records(
    client: Any, world: dict[str, Any]
) -> None:
    page = client.get(f"/datasets/{world['open']}")
    assert page.status_code == 200
    found = re.search(
        r"/api/3/action/datastore_search\?resource_id=([^&\"]+)&amp;limit=5", page.text
    )
    assert found, "no datastore_search snippet on the dataset page"
    r = client.get(
        "/api/3/action/datastore_search", params={"resource_id": found.group(1), "limit": 5}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and len(body["result"]["records"]) == 5
    # The id names one of the resources CKAN lists for the package.
    package = client.get("/api/3/action/package_show", params={"id": world["open"]}).json()
    assert found.group(1) in {res["id"] for res in package["result"]["resources"]}


def test_a_dataset_without_personal_fields_opens_unchanged(
    client: Any, world: dict[str, Any]
) -> None:
    session = world["session"]
    mzj = session.get(Resource, world["open"]).provider  # type: ignore[union-attr]
    stops = create_resource(
        session,
        mzj,
        publish=True,
        name="公交站点",
        open_attribute="unconditional",
        share_attribute="unconditional",
    )
    session.commit()
    rows = [{"zdmc": f"第{i}站", "xl": f"{i % 7}路", "sx": i % 2} for i in range(40)]
    job = upload(client, world["tokens"]["officer.m"], stops.id, rows)
    got = client.get(f"/api/v1/open/datasets/{stops.id}/download/csv")
    assert got.status_code == 200, got.text
    parsed = list(csv.DictReader(io.StringIO(got.text)))
    assert [r["zdmc"] for r in parsed] == [r["zdmc"] for r in rows]  # nothing to mask
    preview = client.get(f"/api/v1/open/datasets/{stops.id}/preview?limit=2").json()
    assert preview["rows"][0][0] == "第0站"
    assert client.get("/catalog.ttl").status_code == 200
    # The provider's own masked export under the derived (empty) default policy works too.
    export = client.post(
        f"/api/v1/dataset-versions/{job['version_id']}/masked-export",
        headers=world["tokens"]["officer.m"],
        json={"policy": "default", "format": "csv"},
    )
    assert export.status_code == 200, export.text
    # A policy someone writes still needs rules.
    empty = client.post(
        f"/api/v1/dataset-versions/{job['version_id']}/masked-export",
        headers=world["tokens"]["officer.m"],
        json={"rules": {}, "format": "csv"},
    )
    assert empty.status_code == 422


def test_preview_matches_the_download(client: Any, world: dict[str, Any]) -> None:
    preview = client.get(f"/api/v1/open/datasets/{world['open']}/preview?limit=5").json()
    csv_text = client.get(f"/api/v1/open/datasets/{world['open']}/download/csv").text
    first = list(csv.reader(io.StringIO(csv_text)))
    assert preview["columns"] == first[0]
    assert [[str(v) for v in row] for row in preview["rows"]] == first[1:6]
    assert preview["total"] == len(ROWS)


def test_conditional_and_important_data_are_not_downloadable(
    client: Any, world: dict[str, Any]
) -> None:
    r = client.get(f"/api/v1/open/datasets/{world['cond']}/download/csv")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_downloadable"
    assert client.get(f"/api/v1/open/datasets/{world['cond']}/preview").status_code == 403
    session = world["session"]
    session.get(Resource, world["open"]).grade = "important"  # type: ignore[union-attr]
    session.commit()
    r = client.get(f"/api/v1/open/datasets/{world['open']}/download/json")
    assert r.status_code == 403
    assert client.get(f"/api/v1/open/datasets/{world['open']}").json()["downloadable"] is False
    bad = client.get(f"/api/v1/open/datasets/{world['cond']}/download/xlsx")
    assert bad.status_code in (403, 422)


# --- conditional-open applications -----------------------------------------------------------
def _application(w: dict[str, Any], **kw: Any) -> dict[str, Any]:
    body = {
        "resource_id": w["cond"],
        "fields": ["sfzh", "xm", "je"],
        "purpose": "commercial_use",
        "purpose_text": "普惠金融授信模型",
        "term_days": 90,
        "commitment": True,
    }
    body.update(kw)
    return body


def test_application_is_reviewed_and_becomes_a_grant_used_through_the_data_service(
    client: Any, world: dict[str, Any]
) -> None:
    t = world["tokens"]
    r = client.post("/api/v1/open/applications", headers=t["fintech"], json=_application(world))
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["channel"] == "open" and app["status"] == "provider_review"
    assert "sfzh" in app["narrowed"]["masking"]  # personal fields masked by default
    mine = client.get("/api/v1/open/applications", headers=t["fintech"]).json()
    assert [a["id"] for a in mine["items"]] == [app["id"]]
    # The provider's queue shows it on the open channel only.
    queue = client.get("/api/v1/share-requests?channel=open&role=provider", headers=t["officer.m"])
    assert [a["id"] for a in queue.json()["items"]] == [app["id"]]
    assert (
        client.get(
            "/api/v1/share-requests?channel=sharing&role=provider", headers=t["officer.m"]
        ).json()["total"]
        == 0
    )
    # The applicant cannot approve its own application; the provider, then the authority, do.
    own = client.post(
        f"/api/v1/share-requests/{app['id']}/decision", headers=t["fintech"], json={"approve": True}
    )
    assert own.status_code == 403
    step = client.post(
        f"/api/v1/share-requests/{app['id']}/decision",
        headers=t["officer.m"],
        json={"approve": True, "narrowing": {"fields": ["sfzh", "je"]}},
    )
    assert step.json()["status"] == "authority_review", step.text
    done = client.post(
        f"/api/v1/share-requests/{app['id']}/decision",
        headers=t["reviewer"],
        json={"approve": True},
    ).json()
    assert done["status"] == "approved" and done["grant_id"]
    rows = client.get(
        f"/api/v1/services/{done['grant_id']}/rows?limit=5&purpose=commercial_use",
        headers=t["fintech"],
    )
    assert rows.status_code == 200, rows.text
    got = rows.json()["rows"]
    assert len(got) == 5 and set(got[0]) == {"sfzh", "je"}
    assert not {str(x["sfzh"]) for x in ROWS} & {row["sfzh"] for row in got}


@pytest.mark.parametrize(
    ("who", "change", "status", "code"),
    [
        ("fintech", {"resource_id": "open"}, 409, "open_without_application"),
        ("fintech", {"commitment": False}, 422, "commitment_required"),
        ("fintech", {"purpose": "no_such"}, 422, "unknown_purpose"),
        ("fintech", {"fields": ["nope"]}, 422, None),
        (
            "fintech",
            {"research": True, "purpose": "scientific_research", "research_plan": "x" * 30},
            409,
            "research_route_institutions_only",
        ),
        (
            "prof",
            {"research": True, "purpose": "scientific_research"},
            422,
            "research_plan_required",
        ),
        ("officer.m", {}, 403, "use_sharing"),
        ("fintech", {"resource_id": "closed"}, 404, "open_dataset_not_found"),
    ],
)
def test_bad_applications_are_refused_with_their_reason(
    client: Any, world: dict[str, Any], who: str, change: dict[str, Any], status: int, code: str
) -> None:
    body = _application(world, **change)
    if body["resource_id"] in ("open", "closed"):
        body["resource_id"] = world[body["resource_id"]]
    r = client.post("/api/v1/open/applications", headers=world["tokens"][who], json=body)
    assert r.status_code == status, r.text
    if code:
        assert r.json()["error"]["code"] == code
    assert client.get("/api/v1/open/applications", headers=world["tokens"][who]).json()[
        "total"
    ] == (0)


def test_research_route_for_an_institution(client: Any, world: dict[str, Any]) -> None:
    body = _application(
        world,
        purpose="scientific_research",
        research=True,
        research_plan="研究低保家庭收入结构与社会救助政策效果，仅做统计分析。",
    )
    r = client.post("/api/v1/open/applications", headers=world["tokens"]["prof"], json=body)
    assert r.status_code == 201, r.text
    assert r.json()["research_plan"].startswith("研究低保")


# --- demands, reuses, developers -------------------------------------------------------------
def test_public_demand_is_answered_and_the_contact_stays_private(
    client: Any, world: dict[str, Any]
) -> None:
    r = client.post(
        "/api/v1/open/demands",
        json={
            "title": "养老机构床位实时数据",
            "description": "希望开放养老机构床位空余情况",
            "contact": "13800001111",
            "requester_name": "市民王先生",
        },
    )
    assert r.status_code == 201, r.text
    demand = r.json()
    assert "contact" not in demand
    listing = client.get("/api/v1/open/demands").text
    assert "13800001111" not in listing and "养老机构床位" in listing
    t = world["tokens"]
    denied = client.post(
        f"/api/v1/open/demands/{demand['id']}/answer",
        headers=t["member.m"],
        json={"answer": "好"},
    )
    assert denied.status_code == 403
    # An enterprise's chief data officer holds no public data: it does not answer for the city.
    firm = client.post(
        f"/api/v1/open/demands/{demand['id']}/answer",
        headers=t["fintech.cdo"],
        json={"answer": "我们有", "decline": True},
    )
    assert firm.status_code == 403 and firm.json()["error"]["code"] == "answer_not_allowed"
    ok = client.post(
        f"/api/v1/open/demands/{demand['id']}/answer",
        headers=t["officer.m"],
        json={"answer": "已开放养老服务对象名录", "resource_id": world["open"]},
    )
    assert ok.status_code == 200 and ok.json()["status"] == "answered"
    twice = client.post(
        f"/api/v1/open/demands/{demand['id']}/answer",
        headers=t["officer.m"],
        json={"answer": "again"},
    )
    assert twice.status_code == 409
    assert client.get("/api/v1/open/demands?status=answered").json()["total"] == 1


def test_reuse_is_shown_only_after_review(client: Any, world: dict[str, Any]) -> None:
    body = {
        "title": "养老地图",
        "kind": "app",
        "url": "https://example.cn/map",
        "resource_ids": [world["open"]],
        "author": "开发者",
    }
    r = client.post("/api/v1/open/reuses", json=body)
    assert r.status_code == 201 and r.json()["status"] == "pending"
    assert client.get("/api/v1/open/reuses").json()["total"] == 0
    assert client.get("/api/v1/open/reuses?status=pending").status_code == 403
    t = world["tokens"]
    pending = client.get("/api/v1/open/reuses?status=pending", headers=t["reviewer"]).json()
    assert pending["total"] == 1
    decided = client.post(
        f"/api/v1/open/reuses/{r.json()['id']}/decision", headers=t["reviewer"], json={"show": True}
    )
    assert decided.json()["status"] == "shown"
    assert client.get(f"/api/v1/open/reuses?resource_id={world['open']}").json()["total"] == 1
    bad = client.post("/api/v1/open/reuses", json={**body, "resource_ids": [world["closed"]]})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_datasets"
    script = client.post("/api/v1/open/reuses", json={**body, "url": "javascript:alert(1)"})
    assert script.status_code == 422


def test_developer_registers_signs_in_and_makes_an_api_key(
    client: Any, world: dict[str, Any]
) -> None:
    body = {"username": "dev.li", "display_name": "李开发", "password": PASSWORD}
    r = client.post("/api/v1/open/developers", json=body)
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/open/developers", json=body).status_code == 409
    token = client.post(
        "/api/v1/auth/token", data={"username": "dev.li", "password": PASSWORD}
    ).json()["access_token"]
    key = client.post(
        "/api/v1/tokens",
        headers=bearer(token),
        json={"name": "k", "scopes": ["catalog:read", "service:call"]},
    )
    assert key.status_code == 201, key.text
    # A developer may apply for conditional data as an individual.
    applied = client.post(
        "/api/v1/open/applications", headers=bearer(token), json=_application(world)
    )
    assert applied.status_code == 201, applied.text


def test_anonymous_calls_are_rate_limited_and_keys_have_their_own_limit(
    client: Any, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "open_rate_anonymous", 3)
    monkeypatch.setattr(settings, "open_rate_key", 5)
    limiter.reset()
    codes = [client.get("/api/v1/open/figures").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/api/v1/open/datasets")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["code"] == "rate_limited"
    keyed = [
        client.get("/api/v1/open/figures", headers=world["tokens"]["fintech"]).status_code
        for _ in range(6)
    ]
    assert keyed == [200] * 5 + [429]


# --- portal pages ----------------------------------------------------------------------------
def test_portal_pages_render_in_chinese_and_english(client: Any, world: dict[str, Any]) -> None:
    for path in ("/", "/datasets", f"/datasets/{world['open']}", "/organizations", "/demands"):
        zh = client.get(path)
        assert zh.status_code == 200, path
        assert '<html lang="zh-CN">' in zh.text
    en = client.get("/?lang=en")
    assert '<html lang="en">' in en.text and "Open datasets" in en.text
    assert client.cookies.get("yaosu_lang") == "en"
    assert '<html lang="en">' in client.get("/datasets").text  # remembered
    page = client.get(f"/datasets/{world['cond']}").text
    assert 'id="apply-button"' in page and "download/csv" not in page
    downloads = client.get(f"/datasets/{world['open']}/downloads").text
    digest = hashlib.sha256(
        client.get(f"/api/v1/open/datasets/{world['open']}/download/csv").content
    ).hexdigest()
    assert digest in downloads
    missing = client.get("/datasets/nothing-here")
    assert missing.status_code == 404 and "<html" in missing.text


def test_portal_forms_need_the_csrf_token_and_escape_what_they_show(
    client: Any, world: dict[str, Any]
) -> None:
    client.get("/demands")
    form = {"title": "<script>alert(1)</script>", "description": "x' OR 1=1; DROP TABLE demands;--"}
    refused = client.post("/demands", data=form)
    assert refused.status_code == 403
    token = client.cookies.get("yaosu_csrf")
    ok = client.post("/demands", data=form, headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert ok.status_code == 200, ok.text
    page = client.get("/demands").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "DROP TABLE demands" in page  # stored as text, inert
    assert client.get("/api/v1/open/demands").json()["total"] == 1


def test_every_message_has_both_languages_and_templates_use_known_keys() -> None:
    from yaosu.web import i18n

    for key, (zh, en) in i18n.MESSAGES.items():
        assert zh.strip() and en.strip(), key
    templates = Path(i18n.__file__).parent / "templates"
    used = set()
    for f in templates.glob("*.html"):
        used |= set(re.findall(r"""t\('([a-z_.]+)'""", f.read_text(encoding="utf-8")))
    dynamic = {k for k in used if k.endswith(".")}
    assert not (used - dynamic) - set(i18n.MESSAGES), (used - dynamic) - set(i18n.MESSAGES)
