"""The DCAT-AP 3 feeds, parsed back with rdflib on both databases: the catalog lists exactly what
the portal lists, access rights follow the open attribute, distributions carry the SHA-256 of
the very file a download returns, the JSON-LD catalog pages with Hydra links, closed and unknown
datasets are 404, Chinese text keeps its language tag, and hostile names stay valid Turtle."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.identity import SYSTEM, create_org
from yaosu.catalog.service import dataset_service
from yaosu.catalog.tasks import run_in_session
from yaosu.opendata import ratelimit
from yaosu.opendata.dcat import ACCESS_RIGHT, ADMS, FREQUENCY, HYDRA, SPDX

# Open namespaces: rdflib's closed ones warn when pytest inspects the module.
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
BASE = "http://testserver"
IANA = "https://www.iana.org/assignments/media-types/"
HOSTILE = 'Evil "name" <script>alert(1)</script>\nline two """ \\ end"'


@pytest.fixture(autouse=True)
def _no_rate_limit() -> Iterator[None]:
    # Many calls per test from one address: start every test with an empty window.
    ratelimit.limiter.reset()
    yield
    ratelimit.limiter.reset()


def ingest(session: Session, resource_id: str, rows: int = 40) -> None:
    job = dataset_service.stage_upload(
        session,
        SYSTEM,
        resource_id,
        "p.csv",
        lambda p: p.write_bytes(csv_bytes(people_rows(rows))),
        {},
    )
    job = run_in_session(session, job.id)
    assert job.status == "succeeded", job.error


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    gaj = create_org(session, "公安局", name_en="Public Security Bureau")
    free = create_resource(
        session,
        gaj,
        publish=True,
        name="常住人口基本信息",
        name_en="Resident population",
        open_attribute="unconditional",
        update_cycle="monthly",
        keywords=["人口", "census"],
    )
    cond = create_resource(
        session,
        gaj,
        publish=True,
        name="户籍人口信息",
        open_attribute="conditional",
        update_cycle="realtime",
        base_library="legal_person",
    )
    hostile = create_resource(
        session,
        gaj,
        publish=True,
        name=HOSTILE,
        summary='描述 """ <b>x</b>\r\n"',
        open_attribute="unconditional",
        update_cycle="irregular",
        keywords=['"""', "<script>"],
    )
    closed = create_resource(session, gaj, publish=True, name="侦查信息", open_attribute="none")
    draft = create_resource(session, gaj, name="草稿目录", open_attribute="unconditional")
    for r in (free, cond, closed):
        ingest(session, r.id)
    session.commit()
    return dict(gaj=gaj, free=free, cond=cond, hostile=hostile, closed=closed, draft=draft)


def iri(r: Any) -> URIRef:
    return URIRef(f"{BASE}/dataset/{r.id}")


def fetch(client: Any, path: str) -> Graph:
    """GET an RDF document, check its media type, and parse it."""
    resp = client.get(path)
    assert resp.status_code == 200, resp.text
    if path.split("?")[0].endswith(".ttl"):
        assert resp.headers["content-type"] == "text/turtle; charset=utf-8"
        return Graph().parse(data=resp.content.decode("utf-8"), format="turtle")
    assert resp.headers["content-type"] == "application/ld+json"
    return Graph().parse(data=resp.content.decode("utf-8"), format="json-ld")


def listed(g: Graph) -> set[Any]:
    (catalog,) = g.subjects(RDF.type, DCAT.Catalog)
    return set(g.objects(catalog, DCAT.dataset))


def one(g: Graph, s: Any, p: Any) -> Any:
    values = list(g.objects(s, p))
    assert len(values) == 1, (s, p, values)
    return values[0]


def distributions(g: Graph, dataset: Any) -> dict[str, Any]:
    out = {}
    for d in g.objects(dataset, DCAT.distribution):
        out[str(one(g, d, DCAT.mediaType)).removeprefix(IANA)] = d
    return out


@pytest.mark.parametrize("ext", ["ttl", "jsonld"])
def test_catalog_lists_exactly_the_listed_datasets(client: Any, world: Any, ext: str) -> None:
    g = fetch(client, f"/catalog.{ext}")
    assert listed(g) == {iri(world["free"]), iri(world["cond"]), iri(world["hostile"])}
    assert set(g.subjects(RDF.type, DCAT.Dataset)) == listed(g)
    for absent in ("closed", "draft"):
        assert (iri(world[absent]), None, None) not in g
    (catalog,) = g.subjects(RDF.type, DCAT.Catalog)
    titles = {(t.language, str(t)) for t in g.objects(catalog, DCTERMS.title)}
    assert {lang for lang, _ in titles} == {"zh", "en"}
    assert any("公共数据开放目录" in text for _, text in titles)
    assert set(g.objects(catalog, DCTERMS.language)) == {
        URIRef("http://publications.europa.eu/resource/authority/language/ZHO"),
        URIRef("http://publications.europa.eu/resource/authority/language/ENG"),
    }
    publisher = one(g, catalog, DCTERMS.publisher)
    assert str(one(g, publisher, FOAF.name)) == "test.yaosu.localhost"  # the node name
    assert one(g, catalog, FOAF.homepage) == URIRef(f"{BASE}/")


def test_access_rights_frequency_and_metadata_follow_the_catalog(client: Any, world: Any) -> None:
    g = fetch(client, "/catalog.ttl")
    free, cond, hostile = iri(world["free"]), iri(world["cond"]), iri(world["hostile"])
    assert one(g, free, DCTERMS.accessRights) == ACCESS_RIGHT.PUBLIC
    assert one(g, cond, DCTERMS.accessRights) == ACCESS_RIGHT.RESTRICTED
    assert one(g, free, DCTERMS.accrualPeriodicity) == FREQUENCY.MONTHLY
    assert one(g, cond, DCTERMS.accrualPeriodicity) == FREQUENCY.CONT
    assert one(g, hostile, DCTERMS.accrualPeriodicity) == FREQUENCY.IRREG
    assert one(g, free, DCTERMS.identifier) == Literal(world["free"].code)
    assert one(g, free, DCAT.landingPage) == URIRef(f"{BASE}/datasets/{world['free'].id}")
    for prop in (DCTERMS.issued, DCTERMS.modified):
        assert one(g, free, prop).datatype == XSD.dateTime
    registration = one(g, free, ADMS.identifier)
    assert str(one(g, registration, SKOS.notation)) == world["free"].registration_code
    theme = one(g, cond, DCAT.theme)
    assert Literal("法人", lang="zh") in set(g.objects(theme, SKOS.prefLabel))
    assert one(g, free, DCAT.theme) != theme  # population vs legal_person
    # The provider: a foaf:Agent named by its did:web identifier, shared by its datasets.
    agent = one(g, free, DCTERMS.publisher)
    assert agent == URIRef(world["gaj"].did) and str(agent).startswith("did:web:")
    assert one(g, cond, DCTERMS.publisher) == agent
    assert (agent, RDF.type, FOAF.Agent) in g
    assert str(one(g, agent, DCTERMS.identifier)) == world["gaj"].did
    # Conditional data is metadata only; unconditional downloadable data names every format.
    assert distributions(g, cond) == {}
    assert set(distributions(g, free)) == {
        "text/csv",
        "application/json",
        "application/vnd.apache.parquet",
    }
    assert distributions(g, hostile) == {}  # no data yet


def test_dataset_document_checksums_are_those_of_the_downloads(client: Any, world: Any) -> None:
    g = fetch(client, f"/dataset/{world['free'].id}.ttl")
    ds = iri(world["free"])
    assert set(g.subjects(RDF.type, DCAT.Dataset)) == {ds}
    found = distributions(g, ds)
    assert set(found) == {"text/csv", "application/json", "application/vnd.apache.parquet"}
    for media, dist in found.items():
        fmt = {"text/csv": "csv", "application/json": "json"}.get(media, "parquet")
        url = str(one(g, dist, DCAT.downloadURL))
        assert url == f"{BASE}/api/v1/open/datasets/{world['free'].id}/download/{fmt}"
        assert one(g, dist, DCAT.accessURL) == URIRef(url)
        assert str(one(g, dist, DCTERMS["format"])).endswith("/file-type/" + fmt.upper())
        body = client.get(url.removeprefix(BASE))
        assert body.status_code == 200, body.text
        size = one(g, dist, DCAT.byteSize)
        assert size.datatype == XSD.nonNegativeInteger and int(size) == len(body.content)
        checksum = one(g, dist, SPDX.checksum)
        assert one(g, checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
        value = one(g, checksum, SPDX.checksumValue)
        assert str(value) == hashlib.sha256(body.content).hexdigest()
        assert value.datatype == XSD.hexBinary
    # The same document in JSON-LD is the same graph (blank nodes aside).
    assert isomorphic(fetch(client, f"/dataset/{world['free'].id}.jsonld"), g)


def test_catalog_gives_checksums_only_for_files_already_written(client: Any, world: Any) -> None:
    def checksums() -> dict[str, Any]:
        g = fetch(client, "/catalog.jsonld")
        out = {}
        for media, dist in distributions(g, iri(world["free"])).items():
            sums = [
                str(v)
                for c in g.objects(dist, SPDX.checksum)
                for v in g.objects(c, SPDX.checksumValue)
            ]
            out[media] = sums
        return out

    assert checksums() == {
        m: [] for m in ("text/csv", "application/json", "application/vnd.apache.parquet")
    }
    body = client.get(f"/api/v1/open/datasets/{world['free'].id}/download/csv")
    assert body.status_code == 200
    after = checksums()
    assert after["text/csv"] == [hashlib.sha256(body.content).hexdigest()]
    assert after["application/json"] == [] and after["application/vnd.apache.parquet"] == []


@pytest.mark.parametrize("ext", ["ttl", "jsonld"])
def test_dataset_is_found_by_id_code_slug_and_registration_code(
    client: Any, world: Any, ext: str
) -> None:
    r = world["cond"]
    slug = r.code.replace("/", "-")
    assert "/" in r.code and r.registration_code
    for ident in (r.id, slug, r.registration_code):
        g = fetch(client, f"/dataset/{ident}.{ext}")
        assert set(g.subjects(RDF.type, DCAT.Dataset)) == {iri(r)}
        assert one(g, iri(r), DCTERMS.accessRights) == ACCESS_RIGHT.RESTRICTED
        assert distributions(g, iri(r)) == {}  # conditional: metadata only


@pytest.mark.parametrize("ext", ["ttl", "jsonld"])
def test_closed_unpublished_and_unknown_datasets_are_404(client: Any, world: Any, ext: str) -> None:
    closed = world["closed"]
    for ident in (
        closed.id,
        closed.code.replace("/", "-"),
        closed.registration_code,
        world["draft"].id,
        "01nothing0000000000000000",
        "99999999-000001",
    ):
        resp = client.get(f"/dataset/{ident}.{ext}")
        assert resp.status_code == 404, (ident, resp.text)
        assert resp.json()["error"]["code"] == "open_dataset_not_found"
        assert "message_zh" in resp.json()["error"]
    assert client.get(f"/dataset/{world['free'].id}.xml").status_code == 404


def test_jsonld_catalog_pages_with_hydra_links(client: Any, world: Any) -> None:
    pages = {}
    for n in (1, 2):
        g = fetch(client, f"/catalog.jsonld?page={n}&per_page=2")
        (catalog,) = g.subjects(RDF.type, DCAT.Catalog)
        assert int(one(g, catalog, HYDRA.totalItems)) == 3
        view = one(g, catalog, HYDRA.view)
        assert view == URIRef(f"{BASE}/catalog.jsonld?page={n}&per_page=2")
        assert {HYDRA.PartialCollectionView, HYDRA.PagedCollection} <= set(
            g.objects(view, RDF.type)
        )
        assert one(g, view, HYDRA.first) == URIRef(f"{BASE}/catalog.jsonld?page=1&per_page=2")
        assert one(g, view, HYDRA.last) == URIRef(f"{BASE}/catalog.jsonld?page=2&per_page=2")
        pages[n] = (g, view)
    (g1, v1), (g2, v2) = pages[1], pages[2]
    assert one(g1, v1, HYDRA.next) == v2 and list(g1.objects(v1, HYDRA.previous)) == []
    assert one(g2, v2, HYDRA.previous) == v1 and list(g2.objects(v2, HYDRA.next)) == []
    first, second = listed(g1), listed(g2)
    assert len(first) == 2 and len(second) == 1 and not first & second
    assert first | second == {iri(world[k]) for k in ("free", "cond", "hostile")}
    # The default page size holds all three on one page, which has no next page.
    g = fetch(client, "/catalog.jsonld")
    view = one(g, next(iter(g.subjects(RDF.type, DCAT.Catalog))), HYDRA.view)
    assert view == URIRef(f"{BASE}/catalog.jsonld?page=1")
    assert len(listed(g)) == 3 and list(g.objects(view, HYDRA.next)) == []
    assert client.get("/catalog.jsonld?page=3&per_page=2").status_code == 404
    assert client.get("/catalog.jsonld?page=0").status_code == 422


@pytest.mark.parametrize("ext", ["ttl", "jsonld"])
def test_chinese_text_keeps_its_language_tags(client: Any, world: Any, ext: str) -> None:
    g = fetch(client, f"/dataset/{world['free'].id}.{ext}")
    ds = iri(world["free"])
    assert set(g.objects(ds, DCTERMS.title)) == {
        Literal("常住人口基本信息", lang="zh"),
        Literal("Resident population", lang="en"),
    }
    assert one(g, ds, DCTERMS.description) == Literal("全市常住人口的基本身份信息", lang="zh")
    assert set(g.objects(ds, DCAT.keyword)) == {Literal("人口", lang="zh"), Literal("census")}
    agent = one(g, ds, DCTERMS.publisher)
    assert set(g.objects(agent, FOAF.name)) == {
        Literal("公安局", lang="zh"),
        Literal("Public Security Bureau", lang="en"),
    }


@pytest.mark.parametrize("ext", ["ttl", "jsonld"])
def test_hostile_names_stay_valid_documents(client: Any, world: Any, ext: str) -> None:
    for path in (f"/dataset/{world['hostile'].id}.{ext}", f"/catalog.{ext}"):
        g = fetch(client, path)  # parses, or the test fails
        ds = iri(world["hostile"])
        assert one(g, ds, DCTERMS.title) == Literal(HOSTILE, lang="zh")
        assert one(g, ds, DCTERMS.description) == Literal('描述 """ <b>x</b>\r\n"', lang="zh")
        assert set(g.objects(ds, DCAT.keyword)) == {Literal('"""'), Literal("<script>")}
        # Nothing in the name turned into triples of its own.
        assert set(g.subjects(RDF.type, DCAT.Dataset)) <= {
            iri(world[k]) for k in ("free", "cond", "hostile")
        }


def test_iris_are_built_on_the_request_host_and_odd_hosts_are_refused(
    client: Any, world: Any
) -> None:
    resp = client.get("/catalog.ttl", headers={"Host": "open.example.gov.cn:8443"})
    g = Graph().parse(data=resp.text, format="turtle")
    assert URIRef(f"http://open.example.gov.cn:8443/dataset/{world['free'].id}") in listed(g)
    # Starlette already drops Host values with IRI-breaking characters; what it lets through
    # but a host name never holds is refused rather than written into IRIs.
    resp = client.get("/catalog.ttl", headers={"Host": "evil%22.example"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_host"
    resp = client.get("/catalog.ttl", headers={"Host": 'evil.example> <x"'})
    assert resp.status_code == 200 and "evil" not in resp.text
