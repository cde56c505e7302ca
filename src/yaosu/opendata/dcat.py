"""DCAT-AP 3 feeds for harvesters, served at the root: ``/catalog.ttl`` and ``/catalog.jsonld``
(paged with Hydra), ``/dataset/{id}.ttl`` and ``/dataset/{id}.jsonld``.

Only what the open portal lists appears (``open_catalog``): 无条件开放 and 有条件开放, never
不予开放. Conditional datasets are metadata only. Every IRI is absolute, built on the request's
base URL. The graph is built with rdflib and serialized by it, so no text is ever pasted into
Turtle or JSON by hand. See docs/dcat.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD
from rdflib.term import Node
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.catalog.rules import BASE_LIBRARIES
from yaosu.config import get_settings
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Forbidden, NotFound, YaosuError, not_found
from yaosu.kit.timeutil import aware
from yaosu.models.catalog import Resource
from yaosu.opendata import rules
from yaosu.opendata.endpoints import rated
from yaosu.opendata.service import DistributionFile, open_catalog

router = APIRouter(tags=["open data (DCAT)"])

ADMS = Namespace("http://www.w3.org/ns/adms#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
EU = "http://publications.europa.eu/resource/authority/"
FREQUENCY = Namespace(EU + "frequency/")
ACCESS_RIGHT = Namespace(EU + "access-right/")
LANGUAGE = Namespace(EU + "language/")
FILE_TYPE = Namespace(EU + "file-type/")
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"

PREFIXES: dict[str, Namespace] = {
    "dcat": Namespace(str(DCAT)),
    "dct": Namespace(str(DCTERMS)),
    "foaf": Namespace(str(FOAF)),
    "skos": Namespace(str(SKOS)),
    "xsd": Namespace(str(XSD)),
    "adms": ADMS,
    "spdx": SPDX,
    "hydra": HYDRA,
}
# JSON-LD is compacted with the same prefixes as the Turtle, so both read alike.
JSONLD_CONTEXT = {prefix: str(ns) for prefix, ns in PREFIXES.items()}

TURTLE = "text/turtle"
JSONLD = "application/ld+json"

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

# Catalog update cycles → the EU frequency vocabulary.
FREQUENCIES: dict[str, str] = {
    "realtime": "CONT",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "yearly": "ANNUAL",
    "irregular": "IRREG",
}
ACCESS_RIGHTS: dict[str, str] = {"unconditional": "PUBLIC", "conditional": "RESTRICTED"}
FILE_TYPES: dict[str, str] = {"csv": "CSV", "json": "JSON", "parquet": "PARQUET"}
BASE_LIBRARIES_EN: dict[str, str] = {
    "population": "Population",
    "legal_person": "Legal persons",
    "natural_resources_geo": "Natural resources and spatial geography",
    "social_credit": "Social credit",
    "e_license": "Electronic licences and certificates",
    "macro_economy": "Macro-economy",
}

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# A resource code in a path: 10101001/000001 written 10101001-000001.
_CODE_SLUG = re.compile(r"^(\w+)-(\d+)$")
_HOST = re.compile(r"^(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


def _doc(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {}}, "description": "DCAT-AP 3"}}


@router.get("/catalog.ttl", response_class=Response, responses=_doc(TURTLE))
def catalog_turtle(
    request: Request,
    page: int = Query(default=1, ge=1),
    per_page: int = Query(default=PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    _: Subject | None = Depends(rated),
    session: Session = SESSION,
) -> Response:
    """The open catalog as DCAT-AP 3 Turtle, one page of datasets at a time (Hydra links)."""
    return _render(_catalog(session, _base(request), "ttl", page, per_page), "ttl")


@router.get("/catalog.jsonld", response_class=Response, responses=_doc(JSONLD))
def catalog_jsonld(
    request: Request,
    page: int = Query(default=1, ge=1),
    per_page: int = Query(default=PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    _: Subject | None = Depends(rated),
    session: Session = SESSION,
) -> Response:
    """The open catalog as DCAT-AP 3 JSON-LD, one page of datasets at a time (Hydra links)."""
    return _render(_catalog(session, _base(request), "jsonld", page, per_page), "jsonld")


@router.get("/dataset/{resource_id}.ttl", response_class=Response, responses=_doc(TURTLE))
def dataset_turtle(
    resource_id: str,
    request: Request,
    _: Subject | None = Depends(rated),
    session: Session = SESSION,
) -> Response:
    """One open dataset as DCAT-AP 3 Turtle, by id, resource code (``10101001-000001``) or
    registration code; downloadable datasets list all their formats with SHA-256."""
    return _render(_dataset_document(request, session, resource_id), "ttl")


@router.get("/dataset/{resource_id}.jsonld", response_class=Response, responses=_doc(JSONLD))
def dataset_jsonld(
    resource_id: str,
    request: Request,
    _: Subject | None = Depends(rated),
    session: Session = SESSION,
) -> Response:
    """One open dataset as DCAT-AP 3 JSON-LD (see the Turtle form)."""
    return _render(_dataset_document(request, session, resource_id), "jsonld")


# --- documents -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Links:
    """The IRIs of one node, all under the request's base URL."""

    base: str

    @property
    def catalog(self) -> URIRef:
        return URIRef(f"{self.base}/catalog")

    @property
    def node(self) -> URIRef:
        return URIRef(f"{self.base}/catalog#publisher")

    @property
    def themes(self) -> URIRef:
        return URIRef(f"{self.base}/catalog#base-libraries")

    def theme(self, code: str) -> URIRef:
        return URIRef(f"{self.base}/catalog#base-library-{quote(code, safe='')}")

    def dataset(self, r: Resource) -> URIRef:
        return URIRef(f"{self.base}/dataset/{quote(r.id, safe='')}")

    def distribution(self, r: Resource, fmt: str) -> URIRef:
        return URIRef(f"{self.dataset(r)}#{fmt}")

    def landing(self, r: Resource) -> URIRef:
        return URIRef(f"{self.base}/datasets/{quote(r.id, safe='')}")

    def download(self, r: Resource, fmt: str) -> URIRef:
        return URIRef(f"{self.base}/api/v1/open/datasets/{quote(r.id, safe='')}/download/{fmt}")

    def page(self, ext: str, page: int, per_page: int) -> URIRef:
        extra = "" if per_page == PAGE_SIZE else f"&per_page={per_page}"
        return URIRef(f"{self.base}/catalog.{ext}?page={page}{extra}")


@dataclass(frozen=True)
class Offer:
    """A distribution to describe: its file when written already (else no size or checksum)."""

    format: str
    file: DistributionFile | None


def _catalog(session: Session, links: Links, ext: str, page: int, per_page: int) -> Graph:
    resources, total = open_catalog.listed(session, per_page, (page - 1) * per_page)
    last = max(1, -(-total // per_page))
    if page > last:
        raise not_found("Catalog page", "目录页", page)
    g = _graph()
    node = get_settings().node_name
    cat = links.catalog
    g.add((cat, RDF.type, DCAT.Catalog))
    g.add((cat, DCTERMS.title, Literal(f"{node} 公共数据开放目录", lang="zh")))
    g.add((cat, DCTERMS.title, Literal(f"{node} open data catalog", lang="en")))
    g.add(
        (
            cat,
            DCTERMS.description,
            Literal("本节点无条件开放和有条件开放的公共数据集。", lang="zh"),
        )
    )
    g.add(
        (
            cat,
            DCTERMS.description,
            Literal("Public datasets this node opens, with or without conditions.", lang="en"),
        )
    )
    g.add((cat, DCTERMS.publisher, links.node))
    g.add((links.node, RDF.type, FOAF.Agent))
    g.add((links.node, FOAF.name, Literal(node)))
    g.add((cat, DCTERMS.language, LANGUAGE.ZHO))
    g.add((cat, DCTERMS.language, LANGUAGE.ENG))
    g.add((cat, FOAF.homepage, URIRef(f"{links.base}/")))
    g.add((cat, DCAT.themeTaxonomy, links.themes))
    g.add((links.themes, RDF.type, SKOS.ConceptScheme))
    g.add((links.themes, DCTERMS.title, Literal("基础库", lang="zh")))
    g.add((links.themes, DCTERMS.title, Literal("Base libraries", lang="en")))
    for r in resources:
        g.add((cat, DCAT.dataset, links.dataset(r)))
        _dataset(g, links, r, _existing_offers(session, r))
    # Hydra paging. The view is typed hydra:PartialCollectionView (current Hydra, read by
    # udata) and also hydra:PagedCollection, the class ckanext-dcat's harvester looks for; the
    # links are the current hydra:first/last/next/previous, which both read.
    view = links.page(ext, page, per_page)
    g.add((cat, HYDRA.totalItems, Literal(total, datatype=XSD.nonNegativeInteger)))
    g.add((cat, HYDRA.view, view))
    g.add((view, RDF.type, HYDRA.PartialCollectionView))
    g.add((view, RDF.type, HYDRA.PagedCollection))
    g.add((view, HYDRA.first, links.page(ext, 1, per_page)))
    g.add((view, HYDRA.last, links.page(ext, last, per_page)))
    if page < last:
        g.add((view, HYDRA.next, links.page(ext, page + 1, per_page)))
    if page > 1:
        g.add((view, HYDRA.previous, links.page(ext, page - 1, per_page)))
    return g


def _dataset_document(request: Request, session: Session, ident: str) -> Graph:
    links = _base(request)
    resource = _find(session, ident)
    offers: list[Offer] = []
    if _downloadable(session, resource):
        # A dataset's own document names every format with its checksum, so the files are
        # written here on first use (once per version), as a download would.
        sessions = request.app.state.sessions
        offers = [
            Offer(fmt, open_catalog.distribution(sessions, session, resource, fmt))
            for fmt in rules.FORMATS
        ]
    g = _graph()
    _dataset(g, links, resource, offers)
    return g


def _existing_offers(session: Session, r: Resource) -> list[Offer]:
    """For the catalog: every format of a downloadable dataset, with size and checksum for the
    files written so far. Writing the others here would export each whole dataset three times
    (and append ledger entries) inside one harvester's GET; the download URL writes them."""
    if not _downloadable(session, r):
        return []
    written = {d.format: d for d in open_catalog.distributions(session, r)}
    return [Offer(fmt, written.get(fmt)) for fmt in rules.FORMATS]


def _dataset(g: Graph, links: Links, r: Resource, offers: list[Offer]) -> URIRef:
    ds = links.dataset(r)
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.identifier, Literal(r.code)))
    g.add((ds, DCTERMS.title, Literal(r.name, lang="zh")))
    if r.name_en:
        g.add((ds, DCTERMS.title, Literal(r.name_en, lang="en")))
    g.add((ds, DCTERMS.description, _text(r.summary or r.name)))
    g.add((ds, DCTERMS.publisher, _agent(g, r)))
    for keyword in r.keywords or []:
        if str(keyword).strip():
            g.add((ds, DCAT.keyword, _text(str(keyword))))
    if r.base_library:
        concept = links.theme(r.base_library)
        g.add((ds, DCAT.theme, concept))
        g.add((concept, RDF.type, SKOS.Concept))
        g.add((concept, SKOS.inScheme, links.themes))
        label = BASE_LIBRARIES.get(r.base_library)
        if label:
            g.add((concept, SKOS.prefLabel, Literal(label, lang="zh")))
        label_en = BASE_LIBRARIES_EN.get(r.base_library)
        if label_en:
            g.add((concept, SKOS.prefLabel, Literal(label_en, lang="en")))
    if r.update_cycle in FREQUENCIES:
        g.add((ds, DCTERMS.accrualPeriodicity, FREQUENCY[FREQUENCIES[r.update_cycle]]))
    if r.open_attribute in ACCESS_RIGHTS:
        g.add((ds, DCTERMS.accessRights, ACCESS_RIGHT[ACCESS_RIGHTS[r.open_attribute]]))
    if r.published_at is not None:
        g.add((ds, DCTERMS.issued, _when(r.published_at)))
    g.add((ds, DCTERMS.modified, _when(r.updated_at)))
    g.add((ds, DCAT.landingPage, links.landing(r)))
    g.add((links.landing(r), RDF.type, FOAF.Document))
    if r.registration_code:
        reg = BNode()
        g.add((ds, ADMS.identifier, reg))
        g.add((reg, RDF.type, ADMS.Identifier))
        g.add((reg, SKOS.notation, Literal(r.registration_code)))
        g.add((reg, ADMS.schemaAgency, Literal("公共数据资源登记", lang="zh")))
    for offer in offers:
        g.add((ds, DCAT.distribution, _distribution(g, links, r, offer)))
    return ds


def _distribution(g: Graph, links: Links, r: Resource, offer: Offer) -> URIRef:
    fmt = offer.format
    dist = links.distribution(r, fmt)
    url = links.download(r, fmt)
    media = rules.FORMATS[fmt].split(";")[0].strip()
    g.add((dist, RDF.type, DCAT.Distribution))
    g.add((dist, DCTERMS.title, Literal(f"{r.name}（{fmt.upper()}）", lang="zh")))
    g.add((dist, DCAT.accessURL, url))
    g.add((dist, DCAT.downloadURL, url))
    g.add((dist, DCAT.mediaType, URIRef(IANA_MEDIA_TYPES + media)))
    g.add((dist, DCTERMS.format, FILE_TYPE[FILE_TYPES[fmt]]))
    if offer.file is not None:
        g.add(
            (
                dist,
                DCAT.byteSize,
                Literal(offer.file.size_bytes, datatype=XSD.nonNegativeInteger),
            )
        )
        checksum = BNode()
        g.add((dist, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((checksum, SPDX.checksumValue, Literal(offer.file.sha256, datatype=XSD.hexBinary)))
    return dist


def _agent(g: Graph, r: Resource) -> Node:
    """The provider as a foaf:Agent, named by its did:web identifier when it has one."""
    org = r.provider
    agent: Node = URIRef(org.did) if org.did else BNode()
    g.add((agent, RDF.type, FOAF.Agent))
    g.add((agent, FOAF.name, Literal(org.name, lang="zh")))
    if org.name_en:
        g.add((agent, FOAF.name, Literal(org.name_en, lang="en")))
    if org.did:
        g.add((agent, DCTERMS.identifier, Literal(org.did)))
    return agent


# --- helpers ---------------------------------------------------------------------------------
def _find(session: Session, ident: str) -> Resource:
    """A listed resource by id, registration code, resource code, or the code's slug form."""
    try:
        return open_catalog.get(session, ident)
    except NotFound:
        slug = _CODE_SLUG.match(ident)
        if slug is None:
            raise
        try:
            return open_catalog.get(session, f"{slug[1]}/{slug[2]}")
        except NotFound:
            raise not_found("Open dataset", "开放数据集", ident) from None


def _downloadable(session: Session, r: Resource) -> bool:
    try:
        open_catalog.source(session, r)
    except Forbidden:  # conditional, no data, core or important data, not classified yet
        return False
    return True


def _base(request: Request) -> Links:
    """The request's base URL, refused when its host could not stand in an IRI (the Host
    header is the caller's to choose)."""
    parts = urlsplit(str(request.base_url))
    if parts.scheme not in ("http", "https") or not _HOST.match(parts.netloc):
        raise YaosuError(
            "The request's host is not a valid host name.",
            "请求的主机名无效。",
            code="invalid_host",
        )
    path = quote(parts.path.rstrip("/"), safe="/-._~%")
    return Links(f"{parts.scheme}://{parts.netloc}{path}")


def _graph() -> Graph:
    g = Graph(bind_namespaces="none")
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns)
    return g


def _text(value: str) -> Literal:
    """Free text tagged Chinese when it has Chinese characters; untagged otherwise."""
    return Literal(value, lang="zh" if _CJK.search(value) else None)


def _when(value: datetime) -> Literal:
    return Literal(aware(value).isoformat(), datatype=XSD.dateTime)


def _render(g: Graph, ext: str) -> Response:
    if ext == "ttl":
        body = g.serialize(format="turtle")
        media = TURTLE
    else:
        body = g.serialize(format="json-ld", context=JSONLD_CONTEXT, auto_compact=True)
        media = JSONLD
    return Response(
        body.encode("utf-8"),
        media_type=media,
        headers={"Cache-Control": "public, max-age=300"},
    )
