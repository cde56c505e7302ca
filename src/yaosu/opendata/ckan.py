"""A CKAN-compatible Action API over the open catalog, so CKAN clients (ckanapi, harvesters,
portal widgets) work unchanged: ``GET|POST /api/3/action/{name}`` (and ``/api/action/{name}``,
where ckanapi calls), parameters in the query string, a JSON body or a form.

Every answer is CKAN's envelope ``{"help", "success", "result"}``; errors are
``{"help", "success": false, "error": {"__type", "message", …}}`` with CKAN's status codes.
What is visible is exactly what ``open_catalog`` lists (published, 无条件开放 or 有条件开放);
DataStore rows come from ``open_catalog.source`` — the de-identified columns of downloadable
datasets — so unmasked values never leave, and masked columns are never filtered, searched or
sorted. Mapping and limits: ``docs/ckan.md``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as time_of_day
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import pyarrow as pa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection
from sqlalchemy.orm import Session

import yaosu
from yaosu.api.deps import SAFE_METHODS, SESSION
from yaosu.catalog import rules as catalog_rules
from yaosu.classification import masking
from yaosu.classification import rules as classification_rules
from yaosu.config import get_settings
from yaosu.dataplane.datastore import ROW_ID, Datastore, TableQuery
from yaosu.dataplane.query import Projection
from yaosu.db.uow import transaction
from yaosu.identity.access import PUBLIC
from yaosu.identity.subject import Subject
from yaosu.kit.errors import NotFound, YaosuError
from yaosu.kit.timeutil import aware
from yaosu.ledger.service import ledger_service
from yaosu.models.catalog import Resource
from yaosu.opendata import ratelimit
from yaosu.opendata import rules as open_rules
from yaosu.opendata.schemas import OpenDataset
from yaosu.opendata.service import ListedSummary, open_catalog

router = APIRouter(tags=["CKAN API"])

CKAN_VERSION = "2.10.4"  # the API generation we answer as
LICENSE_ID = "cn-gov-open-data-1.0"
LICENSE = {
    "id": LICENSE_ID,
    "title": "政府数据开放许可 (Government Open Data Licence) 1.0",
    "url": "",
    "status": "active",
    "family": "",
    "maintainer": "",
    "is_generic": False,
    "is_okd_compliant": False,
    "is_osi_compliant": False,
    "od_conformance": "not reviewed",
    "osd_conformance": "not reviewed",
    "domain_content": False,
    "domain_data": True,
    "domain_software": False,
}
FORMATS = {"csv": "CSV", "json": "JSON", "parquet": "PARQUET"}
MAX_ROWS = 1000  # package_search rows (CKAN's ckan.search.rows_max)
MAX_RECORDS = 32000  # datastore_search limit (CKAN's ckan.datastore.search.rows_max)
MAX_INT = 2**31 - 1
MAX_TEXT = 2000
MAX_BODY = 1 << 20
INDEX_FACET_LIMIT = 50  # the search index keeps the top 50 values of each facet
CHUNK = 2000
DEFAULT_SORT = "score desc, metadata_modified desc"

# package_search fields kept by the search index (CKAN name → our facet).
INDEXED = {
    "organization": "provider_id",
    "owner_org": "provider_id",
    "groups": "base_library",
    "open_attribute": "open_attribute",
    "grade": "grade",
    "update_cycle": "update_cycle",
}
# Fields with one value for every package: a term either keeps all or none.
CONSTANT = {
    "license_id": LICENSE_ID,
    "dataset_type": "dataset",
    "type": "dataset",
    "state": "active",
    "capacity": "public",
    "private": "false",
}
FACETABLE = ("organization", "groups", "tags", "res_format", "license_id", *INDEXED)
EXTRAS_SEARCHED = ("open_attribute", "grade", "update_cycle", "resource_code")
SORTABLE = {"score", "metadata_modified", "metadata_created", "name", "title_string", "title"}
_SLUG = re.compile(r"(\d+)-(\d+)")
_ID = re.compile(r"[0-9a-z]{26}")
_RESOURCE_ID = re.compile(r"([0-9a-z]{26})-(csv|json|parquet)")
_TERM = re.compile(
    r"""\s*(?:
        (?P<sign>[+-]?)(?P<field>[A-Za-z_][A-Za-z0-9_.]*):
          (?:"(?P<quoted>(?:[^"\\]|\\.)*)"
            |\[(?P<lo>[^\s\]]+)\s+TO\s+(?P<hi>[^\s\]]+)\s*\]
            |(?P<bare>[^\s"]+))
      | "(?P<phrase>(?:[^"\\]|\\.)*)"
      | (?P<word>\S+)
    )""",
    re.X,
)


# --- errors ----------------------------------------------------------------------------------
class CkanError(Exception):
    """An error in CKAN's shape: its status, ``__type`` and message (and field errors)."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        message_zh: str = "",
        fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message
        self.message_zh, self.fields, self.headers = message_zh, fields or {}, headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"__type": self.kind, "message": self.message}
        if self.message_zh:
            out["message_zh"] = self.message_zh
        out.update(self.fields)
        return out


def invalid(field: str, message: str, message_zh: str) -> CkanError:
    return CkanError(409, "Validation Error", f"{field}: {message}", message_zh, {field: [message]})


def not_found(message: str, message_zh: str) -> CkanError:
    return CkanError(404, "Not Found Error", message, message_zh)


def from_yaosu(exc: YaosuError) -> CkanError:
    """Our typed errors in CKAN's shape; 429 keeps its status and Retry-After."""
    if exc.status == 429:
        retry = exc.details.get("retry_after")
        headers = {"Retry-After": str(int(retry))} if retry else {}
        return CkanError(429, "Rate Limit Error", exc.message, exc.message_zh, headers=headers)
    kinds = {
        401: (403, "Authorization Error"),
        403: (403, "Authorization Error"),
        404: (404, "Not Found Error"),
        409: (409, "Validation Error"),
        422: (409, "Validation Error"),
    }
    status, kind = kinds.get(exc.status, (400, "Bad request"))
    return CkanError(status, kind, exc.message, exc.message_zh)


# --- one call --------------------------------------------------------------------------------
@dataclass
class Call:
    """One action call: its parameters, a session that reads, and the request."""

    name: str
    params: dict[str, Any]
    session: Session
    request: Request

    @property
    def base(self) -> str:
        return str(self.request.base_url).rstrip("/")

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.params.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise invalid(key, "Must be a string", "须为字符串")
        value = str(value)
        if len(value) > MAX_TEXT:
            raise invalid(key, f"Longer than {MAX_TEXT} characters", f"超过 {MAX_TEXT} 个字符")
        return value

    def required(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise invalid(key, "Missing value", "缺少该参数")
        return value

    def integer(self, key: str, default: int, maximum: int = MAX_INT) -> int:
        """A natural number; values above ``maximum`` are clamped to it (as CKAN clamps)."""
        value = self.params.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise invalid(key, "Invalid integer", "须为整数")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,100}\s*", value):
            value = int(value)
        if not isinstance(value, int):
            raise invalid(key, "Invalid integer", "须为整数")
        if value < 0:
            raise invalid(key, "Must be a natural number", "须为非负整数")
        return min(value, maximum)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.params.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int | str) and str(value).strip().lower() in ("1", "true", "yes"):
            return True
        if isinstance(value, int | str) and str(value).strip().lower() in ("0", "false", "no"):
            return False
        raise invalid(key, "Must be true or false", "须为 true 或 false")

    def structured(self, key: str) -> Any:
        """A JSON value given as JSON text (query string, form) or as itself (JSON body)."""
        value = self.params.get(key)
        if isinstance(value, str):
            if len(value) > MAX_TEXT * 10:
                raise invalid(key, "Too long", "参数过长")
            try:
                return json.loads(value)
            except ValueError:
                raise invalid(key, "Not valid JSON", "不是有效的 JSON") from None
        return value

    def names(self, key: str) -> list[str] | None:
        """A list of names: a list, a JSON list, or comma-separated text."""
        value = self.params.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            value = (
                self.structured(key)
                if value.lstrip().startswith("[")
                else [v.strip() for v in value.split(",") if v.strip()]
            )
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(key, "Must be a list of names", "须为名称列表")
        return value


ACTIONS: dict[str, Callable[[Call], Any]] = {}


def action(fn: Callable[[Call], Any]) -> Callable[[Call], Any]:
    ACTIONS[fn.__name__] = fn
    return fn


# --- mapping ---------------------------------------------------------------------------------
def slug(code: str) -> str:
    """The CKAN name of a resource code: ``10101001/000001`` → ``10101001-000001``."""
    return code.replace("/", "-").lower()


def ident_of(name: str) -> str:
    """What ``open_catalog.get`` takes for a CKAN name or id (names back to resource codes)."""
    found = _SLUG.fullmatch(name)
    return f"{found.group(1)}/{found.group(2)}" if found else name


def timestamp(value: datetime | None) -> str | None:
    """CKAN's timestamps: ISO 8601 in UTC without an offset."""
    return aware(value).astimezone(UTC).replace(tzinfo=None).isoformat() if value else None


def group_title(code: str) -> str:
    return f"{catalog_rules.BASE_LIBRARIES.get(code, code)}基础库"


def display(field: str, value: str, label: str | None = None) -> str:
    """A facet value's display name, in Chinese where we have one."""
    field = field.removeprefix("extras_")
    if field == "groups":
        return group_title(value)
    if field == "open_attribute":
        return catalog_rules.OPEN_ATTRIBUTES.get(value, value)
    if field == "update_cycle":
        return catalog_rules.UPDATE_CYCLES.get(value, value)
    if field == "grade":
        return classification_rules.GRADES.get(value, (value,))[0]
    if field == "license_id":
        return str(LICENSE["title"])
    return label or value


def organization_dict(org: Any, count: int | None = None) -> dict[str, Any]:
    out = {
        "id": org.id,
        "name": org.id,
        "title": org.name,
        "display_name": org.name,
        "description": org.name_en or "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "image_display_url": "",
        "created": timestamp(org.created_at),
    }
    if count is not None:
        out["package_count"] = count
    return out


def group_dict(code: str, count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": code,
        "name": code,
        "title": group_title(code),
        "display_name": group_title(code),
        "description": "",
        "type": "group",
        "is_organization": False,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "image_display_url": "",
    }
    if count is not None:
        out["package_count"] = count
    return out


def resources_of(
    c: Call, r: Resource, view: OpenDataset, files: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The current version's open files as CKAN resources (none unless downloadable). ``files``
    are the written distributions, with their hash and size (None in search results)."""
    if not view.downloadable:
        return []
    out = []
    for position, fmt in enumerate(FORMATS):
        f = (files or {}).get(fmt)
        out.append(
            {
                "id": open_rules.datastore_resource_id(r.id, fmt),
                "package_id": r.id,
                "position": position,
                "name": f"{r.name} ({FORMATS[fmt]})",
                "description": f"第 {view.version} 版，已按默认策略脱敏 (version {view.version}, "
                "de-identified under the default policy)",
                "format": FORMATS[fmt],
                "mimetype": open_rules.FORMATS[fmt].split(";")[0],
                "url": f"{c.base}/api/v1/open/datasets/{r.id}/download/{fmt}",
                "url_type": None,
                "hash": f"sha256:{f.sha256}" if f else "",
                "size": f.size_bytes if f else None,
                "datastore_active": True,
                "state": "active",
                "resource_type": None,
                "created": timestamp(r.created_at),
                "last_modified": timestamp(r.updated_at),
                "metadata_modified": timestamp(r.updated_at),
            }
        )
    return out


def package_dict(
    c: Call, r: Resource, view: OpenDataset, files: dict[str, Any] | None
) -> dict[str, Any]:
    """A listed resource as a CKAN package."""
    resources = resources_of(c, r, view, files)
    extras = {
        "resource_code": r.code,
        "registration_code": r.registration_code,
        "grade": r.grade,
        "update_cycle": r.update_cycle,
        "open_attribute": r.open_attribute,
        "theme": r.theme,
        "name_en": r.name_en,
        "rows": str(view.rows) if view.rows is not None else None,
    }
    keywords = list(dict.fromkeys(r.keywords or []))
    return {
        "id": r.id,
        "name": slug(r.code),
        "title": r.name,
        "notes": r.summary or "",
        "type": "dataset",
        "state": "active",
        "private": False,
        "isopen": r.open_attribute == "unconditional",
        "license_id": LICENSE_ID,
        "license_title": LICENSE["title"],
        "license_url": LICENSE["url"],
        "author": view.provider_name,
        "author_email": None,
        "maintainer": view.provider_name,
        "maintainer_email": None,
        "url": "",
        "version": str(view.version) if view.version is not None else None,
        "metadata_created": timestamp(r.created_at),
        "metadata_modified": timestamp(r.updated_at),
        "creator_user_id": None,
        "owner_org": r.provider_id,
        "organization": organization_dict(r.provider) if r.provider else None,
        "groups": [group_dict(r.base_library)] if r.base_library else [],
        "tags": [
            {"id": k, "name": k, "display_name": k, "state": "active", "vocabulary_id": None}
            for k in keywords
        ],
        "num_tags": len(keywords),
        "extras": [{"key": k, "value": v} for k, v in extras.items() if v is not None],
        "resources": resources,
        "num_resources": len(resources),
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


def show_package(c: Call, r: Resource) -> dict[str, Any]:
    """One package with its open files written (on first use) so that their hash and size are
    real; not downloadable packages have no files."""
    view = open_catalog.view(c.session, r)
    files: dict[str, Any] = {}
    if view.downloadable:
        sessions = c.request.app.state.sessions
        for fmt in FORMATS:
            files[fmt] = open_catalog.distribution(sessions, c.session, r, fmt)
    return package_dict(c, r, view, files)


def packages(c: Call, ids: list[str]) -> list[dict[str, Any]]:
    resources = open_catalog.get_many(c.session, ids)
    views = open_catalog.views(c.session, resources)
    return [package_dict(c, r, v, None) for r, v in zip(resources, views, strict=True)]


def find_package(c: Call, key: str = "id") -> Resource:
    ident = c.required(key)
    if _ID.fullmatch(ident):  # an id: one primary-key lookup
        found = open_catalog.get_many(c.session, [ident])
        if found:
            return found[0]
    try:
        return open_catalog.get(c.session, ident_of(ident))
    except NotFound:
        raise not_found("Dataset not found", "数据集不存在") from None


def find_resource(c: Call, key: str) -> tuple[Resource, str]:
    """The package of a CKAN resource id (``<dataset id>-<format>``) and the format."""
    found = _RESOURCE_ID.fullmatch(c.required(key))
    listed = open_catalog.get_many(c.session, [found.group(1)]) if found else []
    if not found or not listed:
        raise not_found("Resource not found", "资源不存在")
    return listed[0], found.group(2)


# --- package_search --------------------------------------------------------------------------
@dataclass
class Plan:
    """A parsed search: free text, index filters, and tests the index cannot do."""

    words: list[str]
    indexed: dict[str, list[str]]
    tests: list[Callable[[ListedSummary], bool]]
    impossible: bool = False


def formats_of(s: ListedSummary) -> list[str]:
    return list(FORMATS.values()) if s.downloadable else []


def parse_time(value: str, field: str) -> datetime | None:
    if value == "*":
        return None
    if value.upper() == "NOW":
        return datetime.now(UTC)
    try:
        return aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise invalid(
            field, f"Not a date-time: {value[:40]!r}", "不是有效的日期时间（ISO 8601）"
        ) from None


def add_term(plan: Plan, field: str, value: str | tuple[str, str], param: str) -> None:
    """One ``field:value`` term, ANDed with the rest."""
    name = field.removeprefix("extras_")
    if name != field and name not in EXTRAS_SEARCHED:
        name = field  # not an extra we search by: refused below
    if isinstance(value, tuple):
        if name not in ("metadata_modified", "metadata_created"):
            raise invalid(
                param,
                f"Ranges are supported on metadata_modified and metadata_created, not {field}",
                "范围查询仅支持 metadata_modified 和 metadata_created",
            )
        lo, hi = (parse_time(v, param) for v in value)
        attr = "updated_at" if name == "metadata_modified" else "created_at"

        def in_range(s: ListedSummary, attr: str = attr) -> bool:
            t = aware(getattr(s, attr))
            return (lo is None or t >= lo) and (hi is None or t <= hi)

        plan.tests.append(in_range)
        return
    if name in CONSTANT:
        if value not in ("*", CONSTANT[name]):
            plan.impossible = True
        return
    if name in INDEXED and value != "*":
        ours = INDEXED[name]
        if plan.indexed.get(ours, [value]) != [value]:
            plan.impossible = True  # one package has one value of each
        plan.indexed[ours] = [value]
        return
    tests: dict[str, Callable[[ListedSummary], bool]] = {
        "tags": lambda s: bool(s.keywords) if value == "*" else value in s.keywords,
        "res_format": lambda s: (
            bool(formats_of(s)) if value == "*" else value.upper() in formats_of(s)
        ),
        "name": lambda s: slug(s.code) == value,
        "id": lambda s: s.id == value,
        "resource_code": lambda s: s.code == value,
    }
    if name in INDEXED:  # field:* — the package has a value
        attr = INDEXED[name]
        tests[name] = lambda s: getattr(s, attr) is not None
    if name not in tests:
        raise invalid(
            param,
            f"Unknown field {field!r}; search by organization, groups, tags, res_format, "
            "license_id, name, id, open_attribute, grade, update_cycle, metadata_modified",
            f"未知字段 {field!r}",
        )
    plan.tests.append(tests[name])


def parse_query(plan: Plan, text: str, param: str) -> None:
    """Solr-style terms: ``field:value``, ``field:"quoted"``, ``field:[a TO b]`` and words,
    joined by spaces or AND. OR, NOT and negation are refused rather than misread."""
    for m in _TERM.finditer(text):
        word = m.group("word")
        negated = m.group("sign") == "-" or (word or "").startswith(("-", "!"))
        if (negated and word != "-") or (word and word.upper() in ("OR", "NOT", "||")):
            raise invalid(
                param,
                "Only AND of terms is supported (no OR, NOT or -term)",
                "仅支持以 AND 连接的条件（不支持 OR、NOT 或排除条件）",
            )
        if word is not None:
            if word.upper() not in ("AND", "&&", "*:*", "*"):
                plan.words.append(word)
        elif m.group("phrase") is not None:
            plan.words.append(_unescape(m.group("phrase")))
        elif m.group("lo") is not None:
            add_term(plan, m.group("field"), (m.group("lo"), m.group("hi")), param)
        else:
            quoted = m.group("quoted")
            value = _unescape(quoted) if quoted is not None else _unescape(m.group("bare"))
            add_term(plan, m.group("field"), value, param)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_sort(text: str) -> list[tuple[str, bool]]:
    keys = []
    for part in text.split(","):
        bits = part.split()
        if not bits:
            continue
        field, direction = bits[0], (bits[1].lower() if len(bits) > 1 else "asc")
        if field not in SORTABLE or direction not in ("asc", "desc") or len(bits) > 2:
            raise invalid(
                "sort",
                f"Cannot sort by {part.strip()[:60]!r}; use score, metadata_modified, "
                "metadata_created, name or title_string with asc or desc",
                "不支持的排序方式",
            )
        keys.append((field, direction == "desc"))
    return keys


def facet_items(
    counts: list[tuple[str, str, int]], limit: int, mincount: int
) -> list[tuple[str, str, int]]:
    items = sorted((x for x in counts if x[2] >= mincount), key=lambda x: (-x[2], x[0]))
    return items if limit < 0 else items[:limit]


def facet_output(
    fields: list[str], counts: dict[str, list[tuple[str, str, int]]], limit: int, mincount: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    facets: dict[str, Any] = {}
    search_facets: dict[str, Any] = {}
    for field in fields:
        items = facet_items(counts.get(field, []), limit, mincount)
        facets[field] = {name: n for name, _, n in items}
        search_facets[field] = {
            "title": field,
            "items": [{"name": name, "display_name": d, "count": n} for name, d, n in items],
        }
    return facets, search_facets


def summary_facets(field: str, found: list[ListedSummary]) -> list[tuple[str, str, int]]:
    name = field.removeprefix("extras_")
    labels: dict[str, str] = {}
    counts: Counter[str]
    if name == "organization":
        counts = Counter(s.provider_id for s in found)
        labels = {s.provider_id: s.provider_name for s in found}
    elif name == "tags":
        counts = Counter(k for s in found for k in set(s.keywords))
    elif name == "res_format":
        counts = Counter({f: sum(s.downloadable for s in found) for f in FORMATS.values()})
    elif name == "license_id":
        counts = Counter({LICENSE_ID: len(found)})
    else:
        attr = INDEXED[name]
        counts = Counter(v for s in found if (v := getattr(s, attr)) is not None)
    return [(v, display(field, v, labels.get(v)), n) for v, n in counts.items() if n]


def index_order(found: list[ListedSummary]) -> list[ListedSummary]:
    """The search index's order without words: newest publication first, then resource code."""
    found = sorted(found, key=lambda s: s.code)
    return sorted(
        found, key=lambda s: -aware(s.published_at).timestamp() if s.published_at else 0.0
    )


def matching_ids(c: Call, text: str, indexed: dict[str, list[str]]) -> Iterator[list[str]]:
    """Every package the index matches for ``text``, best first, in chunks."""
    seen = 0
    while True:
        found = open_catalog.search(c.session, text, indexed, CHUNK, seen)
        if not found.items:
            return
        yield [r.id for r in found.items]
        seen += len(found.items)
        if seen >= found.total:
            return


class CatalogCache:
    """The whole listed catalog in brief, in the search index's order, kept between calls for
    whole-catalog reads (package_list, tag_list, package_search by tag, format or date without
    index terms): reading and decoding ten thousand rows takes a quarter of a second.

    It is read again when the ledger's head moves — every catalog, data and grade change
    appends an entry, and the head's leaf hash tells a world rolled back from a new one of the
    same size — or after MAX_AGE_S, for changes made outside the services. The head is read
    before the rows, so the rows are at least as new as the key they are kept under."""

    MAX_AGE_S = 300.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[tuple[int, bytes], float, list[ListedSummary]]] = {}

    def summaries(self, session: Session) -> list[ListedSummary]:
        size = ledger_service.size(session)
        head = (size, ledger_service.entry(session, size - 1).leaf_hash if size else b"")
        bind = session.get_bind()
        key = str(bind.engine.url if isinstance(bind, Connection) else bind.url)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] == head and time.monotonic() - kept[1] < self.MAX_AGE_S:
            return kept[2]
        rows = index_order(open_catalog.summaries(session))
        with self._lock:
            while len(self._kept) >= 4 and key not in self._kept:
                self._kept.pop(next(iter(self._kept)))
            self._kept[key] = (head, time.monotonic(), rows)
        return rows


catalog_cache = CatalogCache()


@action
def package_search(c: Call) -> dict[str, Any]:
    """Search open datasets.

    :param q: words (Chinese or English; all must match) and ``field:value`` terms
    :param fq: ``field:value`` / ``field:"quoted value"`` / ``field:[from TO to]`` terms joined
        by spaces or AND, on organization, groups, tags, res_format, license_id, name, id,
        open_attribute, grade, update_cycle, metadata_modified, metadata_created
    :param rows: results per page (default 10, at most 1000)
    :param start: offset of the first result
    :param sort: ``score desc, metadata_modified desc`` (default), ``metadata_modified desc``,
        ``metadata_created desc``, ``name asc``, ``title_string asc`` …
    :param facet.field: a JSON list of fields to count (those above that have values)
    :param facet.limit: values per facet (default 50, -1 for all)
    :param facet.mincount: the least count shown (default 1)
    :returns: ``count``, ``results``, ``facets``, ``search_facets``, ``sort``
    """
    plan = Plan([], {}, [])
    for key in ("q", "fq"):
        parse_query(plan, c.text(key) or "", key)
    fq_list = c.structured("fq_list")
    if fq_list is not None:
        if not isinstance(fq_list, list) or not all(isinstance(x, str) for x in fq_list):
            raise invalid("fq_list", "Must be a list of strings", "须为字符串列表")
        if len(fq_list) > 100 or any(len(fq) > MAX_TEXT for fq in fq_list):
            raise invalid("fq_list", "Too many or too long terms", "条件过多或过长")
        for fq in fq_list:
            parse_query(plan, fq, "fq_list")
    rows = c.integer("rows", 10, MAX_ROWS)
    start = c.integer("start", 0)
    sort_text = " ".join((c.text("sort") or DEFAULT_SORT).split())
    keys = parse_sort(sort_text)
    fields = c.names("facet.field") or []
    if not c.boolean("facet", True):
        fields = []
    unknown = [f for f in fields if f not in FACETABLE and f.removeprefix("extras_") not in INDEXED]
    if unknown:
        raise invalid("facet.field", f"Cannot count {unknown[0][:60]!r}", "不支持该分面字段")
    raw_limit = c.params.get("facet.limit")
    limit = -1 if str(raw_limit).strip() == "-1" else c.integer("facet.limit", 50)
    mincount = c.integer("facet.mincount", 1)
    text = " ".join(plan.words) or None
    index_order_asked = [k for k, _ in keys] in (["score"], ["score", "metadata_modified"]) and all(
        d for _, d in keys
    )
    on_index = {f.removeprefix("extras_") for f in fields} <= {*INDEXED, "license_id"}
    fast = not plan.tests and on_index and index_order_asked
    fast = fast and (not fields or 0 <= limit <= INDEX_FACET_LIMIT)
    counts: dict[str, list[tuple[str, str, int]]] = {}
    if plan.impossible:
        total, ids = 0, []
    elif fast:
        found = open_catalog.search(c.session, text, plan.indexed, rows, start)
        total, ids = found.total, [r.id for r in found.items]
        for field in fields:
            name = field.removeprefix("extras_")
            if name == "license_id":
                counts[field] = [(LICENSE_ID, display(field, LICENSE_ID), total)] if total else []
                continue
            counts[field] = [
                (f.value, display(field, f.value, f.label), f.count)
                for f in found.facets.get(INDEXED[name], [])
            ]
    else:
        if text:
            matched = []
            for chunk in matching_ids(c, text, plan.indexed):
                by_id = {s.id: s for s in open_catalog.summaries(c.session, ids=chunk)}
                matched += [by_id[i] for i in chunk if i in by_id]
        elif plan.indexed:
            matched = index_order(open_catalog.summaries(c.session, plan.indexed))
        else:
            matched = catalog_cache.summaries(c.session)
        matched = [s for s in matched if all(t(s) for t in plan.tests)]
        if not index_order_asked:
            matched = sort_summaries(matched, keys)
        total, ids = len(matched), [s.id for s in matched[start : start + rows]]
        counts = {f: summary_facets(f, matched) for f in fields}
    facets, search_facets = facet_output(fields, counts, limit, mincount)
    return {
        "count": total,
        "sort": sort_text,
        "results": packages(c, ids),
        "facets": facets,
        "search_facets": search_facets,
    }


def sort_summaries(found: list[ListedSummary], keys: list[tuple[str, bool]]) -> list[ListedSummary]:
    rank = {s.id: i for i, s in enumerate(found)}
    ordered = list(found)
    getters: dict[str, Callable[[ListedSummary], Any]] = {
        "score": lambda s: -rank[s.id],
        "metadata_modified": lambda s: aware(s.updated_at),
        "metadata_created": lambda s: aware(s.created_at),
        "name": lambda s: slug(s.code),
        "title_string": lambda s: s.name,
        "title": lambda s: s.name,
    }
    for field, desc in reversed(keys):  # stable sorts, last key first
        ordered.sort(key=getters[field], reverse=desc)
    return ordered


# --- the other catalog actions ---------------------------------------------------------------
@action
def package_show(c: Call) -> dict[str, Any]:
    """A dataset by id, CKAN name (``10101001-000001``), resource code or registration code,
    with its open files (hash and size) when it is downloadable.

    :param id: the dataset's id or name
    """
    return show_package(c, find_package(c))


@action
def package_list(c: Call) -> list[str]:
    """The names of every open dataset, in name order.

    :param limit: how many (default all)
    :param offset: from where
    """
    names = sorted(slug(s.code) for s in catalog_cache.summaries(c.session))
    offset = c.integer("offset", 0)
    limit = c.integer("limit", len(names))
    return names[offset : offset + limit]


@action
def resource_show(c: Call) -> dict[str, Any]:
    """One open file of a dataset (``<dataset id>-csv|json|parquet``), with its hash and size.

    :param id: the resource id
    """
    r, fmt = find_resource(c, "id")
    package = show_package(c, r)
    for res in package["resources"]:
        if res["id"] == f"{r.id}-{fmt}":
            return dict(res)
    raise not_found("Resource not found", "资源不存在")


def _listing(c: Call, items: list[dict[str, Any]]) -> list[Any]:
    """organization_list and group_list: sorted, paged, names or whole dicts."""
    sort = " ".join((c.text("sort") or "title asc").split())
    bits = sort.split()
    field, desc = bits[0], len(bits) > 1 and bits[1].lower() == "desc"
    if field not in ("name", "title", "package_count") or len(bits) > 2:
        raise invalid(
            "sort", "Sort by name, title or package_count", "可按 name、title、package_count 排序"
        )
    items = sorted(items, key=lambda x: (x[field], x["name"]), reverse=desc)
    offset = c.integer("offset", 0)
    items = items[offset : offset + c.integer("limit", len(items))]
    if c.boolean("all_fields", False):
        return items
    return [x["name"] for x in items]


@action
def organization_list(c: Call) -> list[Any]:
    """Units that publish open datasets (the CKAN name is the unit's id).

    :param all_fields: whole organizations with package_count instead of names
    :param sort: ``title asc`` (default), ``name``, ``package_count desc`` …
    :param limit: how many
    :param offset: from where
    """
    items = [organization_dict(org, n) for org, n in open_catalog.providers(c.session)]
    return _listing(c, items)


@action
def organization_show(c: Call) -> dict[str, Any]:
    """A unit and how many open datasets it publishes.

    :param id: the organization's id (its CKAN name)
    :param include_datasets: also its first 1000 datasets (default false)
    """
    org_id = c.required("id")
    try:
        org = open_catalog.provider(c.session, org_id)
    except NotFound:
        raise not_found("Organization not found", "机构不存在") from None
    include = c.boolean("include_datasets", False)
    found = open_catalog.search(
        c.session, None, {"provider_id": [org.id]}, MAX_ROWS if include else 0, 0
    )
    out = organization_dict(org, found.total)
    if include:
        out["packages"] = packages(c, [r.id for r in found.items])
    return out


def _group_counts(c: Call) -> dict[str, int]:
    found = open_catalog.search(c.session, None, {}, 0, 0)
    return {f.value: f.count for f in found.facets.get("base_library", [])}


@action
def group_list(c: Call) -> list[Any]:
    """The six base libraries 基础库 as groups (人口, 法人, 自然资源和空间地理, 社会信用, 电子证照,
    宏观经济).

    :param all_fields: whole groups with package_count instead of names
    :param sort: ``title asc`` (default), ``name``, ``package_count desc`` …
    """
    counts = _group_counts(c)
    return _listing(c, [group_dict(k, counts.get(k, 0)) for k in catalog_rules.BASE_LIBRARIES])


@action
def group_show(c: Call) -> dict[str, Any]:
    """A base library as a group.

    :param id: the group's name (e.g. ``population``)
    :param include_datasets: also its first 1000 datasets (default false)
    """
    code = c.required("id")
    if code not in catalog_rules.BASE_LIBRARIES:
        raise not_found("Group not found", "分组不存在")
    include = c.boolean("include_datasets", False)
    found = open_catalog.search(
        c.session, None, {"base_library": [code]}, MAX_ROWS if include else 0, 0
    )
    out = group_dict(code, found.total)
    if include:
        out["packages"] = packages(c, [r.id for r in found.items])
    return out


@action
def tag_list(c: Call) -> list[Any]:
    """The keywords of open datasets, as tags.

    :param query: only tags containing this text
    :param all_fields: tag dicts instead of names
    """
    if c.text("vocabulary_id"):
        raise not_found("Vocabulary not found", "词表不存在")
    query = (c.text("query") or c.text("q") or "").lower()
    tags = sorted({k for s in catalog_cache.summaries(c.session) for k in s.keywords})
    tags = [t for t in tags if query in t.lower()]
    if c.boolean("all_fields", False):
        return [{"id": t, "name": t, "display_name": t, "vocabulary_id": None} for t in tags]
    return tags


@action
def license_list(c: Call) -> list[dict[str, Any]]:
    """The licence every open dataset is published under."""
    return [dict(LICENSE)]


@action
def status_show(c: Call) -> dict[str, Any]:
    """What this site is: the CKAN API generation it answers as, and its extensions."""
    return {
        "site_title": "要素开放数据 Yaosu open data",
        "site_description": "城市公共数据开放 (CKAN-compatible Action API)",
        "site_url": c.base,
        "ckan_version": CKAN_VERSION,
        "locale_default": "zh_Hans_CN",
        "error_emails_to": None,
        "extensions": ["datastore"],
        "yaosu_version": yaosu.__version__,
    }


@action
def help_show(c: Call) -> str:
    """The documentation of an action.

    :param name: the action's name
    """
    name = c.required("name")
    fn = ACTIONS.get(name)
    if fn is None:
        raise not_found(f"Action function not found: {name[:60]}", "没有该操作")
    return fn.__doc__ or ""


# --- datastore_search ------------------------------------------------------------------------
_stores: dict[str, Datastore] = {}
_stores_lock = threading.Lock()


def datastore() -> Datastore:
    """The DuckDB that reads open rows (one per storage root; tests switch data directories)."""
    root = get_settings().storage_root
    with _stores_lock:
        if root not in _stores:
            while len(_stores) >= 4:
                _stores.pop(next(iter(_stores))).close()
            _stores[root] = Datastore(allowed_directories=[root], setup=masking.register_functions)
        return _stores[root]


def ckan_type(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float8"
    if pa.types.is_decimal(t):
        return "numeric"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    return "json" if pa.types.is_nested(t) else "text"


def plain_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time_of_day):
        return value.isoformat()
    if isinstance(value, list | dict):
        return value
    return str(value)


def _column_names(c: Call, key: str, known: list[str], allow_row_id: bool = True) -> list[str]:
    names = c.names(key) or []
    for n in names:
        if n not in known and not (allow_row_id and n == ROW_ID):
            raise invalid(key, f"Field {n[:60]!r} not in table", f"字段 {n[:60]!r} 不存在")
    return names


@action
def datastore_search(c: Call) -> dict[str, Any]:
    """Rows of a downloadable dataset, de-identified as in its files.

    :param resource_id: ``<dataset id>-csv`` (or ``-json``, ``-parquet``)
    :param filters: a JSON object of field → value (or list of values), equality
    :param q: text any text field contains, or a JSON object field → text (case-insensitive)
    :param fields: the fields to return (list or comma-separated), default all
    :param sort: ``field [asc|desc], …``
    :param limit: rows (default 100, at most 32000)
    :param offset: from where
    :param records_format: ``objects`` (default), ``lists``, ``csv`` or ``tsv``
    :param include_total: count the matching rows (default true)

    Masked fields are returned masked, and cannot be filtered, searched or sorted (409).
    """
    resource, _ = find_resource(c, "resource_id")
    resource_id = c.required("resource_id")
    source = open_catalog.source(c.session, resource)  # 403 unless downloadable
    # A stored column named like the row number is left out: ``_id`` is CKAN's, as there.
    columns = {col.name: col for col in source.columns if col.name != ROW_ID}
    known = list(columns)
    plain = frozenset(n for n, col in columns.items() if col.rule is None)

    def refuse_masked(key: str, name: str) -> None:
        if name != ROW_ID and name not in plain:
            raise invalid(
                key,
                f"Field {name!r} is masked; masked fields cannot be filtered, searched or sorted",
                f"字段 {name!r} 已脱敏，不能用于筛选、搜索或排序",
            )

    filters = c.structured("filters") or {}
    if not isinstance(filters, dict):
        raise invalid("filters", "Must be a JSON object", "须为 JSON 对象")
    equals: dict[str, list[Any]] = {}
    for name, value in filters.items():
        if name not in columns and name != ROW_ID:
            raise invalid("filters", f"Field {name[:60]!r} not in table", "字段不存在")
        refuse_masked("filters", name)
        values = value if isinstance(value, list) else [value]
        if len(values) > 1000 or not all(
            v is None or isinstance(v, bool | int | float | str) for v in values
        ):
            raise invalid("filters", "Values must be scalars or lists of scalars", "取值须为标量")
        equals[name] = values
    q = c.params.get("q")
    if isinstance(q, str) and q.lstrip().startswith("{"):
        q = c.structured("q")
    text: str | None = None
    contains: dict[str, str] = {}
    if isinstance(q, dict):
        for name, value in q.items():
            if name not in columns:
                raise invalid("q", f"Field {name[:60]!r} not in table", "字段不存在")
            refuse_masked("q", name)
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise invalid("q", "Search text must be a string", "搜索内容须为字符串")
            contains[name] = str(value)[:MAX_TEXT]
    elif q not in (None, ""):
        text = c.text("q")
    order: list[tuple[str, bool]] = []
    for part in (c.text("sort") or "").split(","):
        bits = part.strip().rsplit(None, 1)
        if not bits:
            continue
        desc = len(bits) == 2 and bits[1].lower() == "desc"
        name = bits[0] if len(bits) == 2 and bits[1].lower() in ("asc", "desc") else part.strip()
        name = name.strip().strip('"')
        if name not in columns and name != ROW_ID:
            raise invalid("sort", f"Field {name[:60]!r} not in table", "排序字段不存在")
        refuse_masked("sort", name)
        order.append((name, desc))
    wanted = list(dict.fromkeys(_column_names(c, "fields", known))) or [ROW_ID, *known]
    records_format = c.text("records_format", "objects")
    if records_format not in ("objects", "lists", "csv", "tsv"):
        raise invalid(
            "records_format", "Use objects, lists, csv or tsv", "可选 objects、lists、csv、tsv"
        )
    limit = c.integer("limit", 100, MAX_RECORDS)
    offset = c.integer("offset", 0)
    include_total = c.boolean("include_total", True)
    projections = [
        Projection(name=n, sql=columns[n].sql, params=list(columns[n].params))
        for n in wanted
        if n != ROW_ID
    ]
    page = datastore().search(
        TableQuery(
            path=source.path,
            columns=projections,
            plain=plain,
            equals=equals,
            text=text,
            contains=contains,
            order_by=order,
            limit=limit,
            offset=offset,
            count=include_total,
        )
    )
    table = page.table.select(wanted)
    labels = {str(f.get("name")): f for f in resource.fields or []}
    fields = []
    for f in table.schema:
        entry: dict[str, Any] = {"id": f.name, "type": ckan_type(f.type)}
        info = {
            "label": labels.get(f.name, {}).get("label_zh") or "",
            "notes": labels.get(f.name, {}).get("description") or "",
        }
        rule = columns[f.name].rule if f.name in columns else None
        if rule:
            info["notes"] = f"{info['notes']} 已脱敏 (masked: {rule})".strip()
        if f.name != ROW_ID and any(info.values()):
            entry["info"] = {k: v for k, v in info.items() if v}
        fields.append(entry)
    rows = [[plain_value(v) for v in row.values()] for row in table.to_pylist()]
    records: Any
    if records_format == "objects":
        records = [dict(zip(wanted, row, strict=True)) for row in rows]
    elif records_format == "lists":
        records = rows
    else:
        buf = io.StringIO()
        writer = csv.writer(
            buf, delimiter="," if records_format == "csv" else "\t", lineterminator="\n"
        )
        writer.writerows([["" if v is None else v for v in row] for row in rows])
        records = buf.getvalue()
    links = _links(c, resource_id, offset, limit)
    out: dict[str, Any] = {
        "resource_id": resource_id,
        "fields": fields,
        "records": records,
        "records_format": records_format,
        "limit": limit,
        "offset": offset,
        "include_total": include_total,
        "_links": links,
    }
    echoed = {"filters": filters, "q": q, "sort": c.text("sort")}
    out.update({k: v for k, v in echoed.items() if v not in (None, "", {})})
    if page.total is not None:
        out["total"] = page.total
        out["total_was_estimated"] = False
    return out


def _links(c: Call, resource_id: str, offset: int, limit: int) -> dict[str, str]:
    """``start`` and ``next`` as GET URLs of this search (paths, as CKAN gives them)."""
    params: dict[str, str] = {}
    for key, value in c.params.items():
        if key == "offset" or value is None:
            continue
        params[key] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    params["resource_id"] = resource_id
    path = c.request.url.path
    start = f"{path}?{urlencode(params)}"
    return {"start": start, "next": f"{path}?{urlencode({**params, 'offset': offset + limit})}"}


# --- the route -------------------------------------------------------------------------------
async def payload(request: Request) -> dict[str, Any] | CkanError:
    """The call's parameters: the query string, and a POST's JSON body or form. Errors are
    returned, not raised, so that the action answers them in CKAN's shape."""
    params: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        params[key] = values[0] if len(values) == 1 else values
    if request.method != "POST":
        return params
    body = await request.body()
    if len(body) > MAX_BODY:
        return CkanError(400, "Bad request", "The request body is too large", "请求体过大")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        for key in form:
            values = [v for v in form.getlist(key) if isinstance(v, str)]
            if values:
                params[key] = values[0] if len(values) == 1 else values
        return params
    if not body.strip():
        return params
    try:
        data = json.loads(body)
    except ValueError as exc:
        return CkanError(
            400, "Bad request - JSON Error", f"JSON Error: {exc}", "请求体不是有效的 JSON"
        )
    if not isinstance(data, dict):
        return CkanError(
            400,
            "Bad request - JSON Error",
            "JSON Error: expected an object",
            "请求体须为 JSON 对象",
        )
    params.update(data)
    return params


@contextmanager
def reads(request: Request, session: Session) -> Iterator[Session]:
    """A session for the action, which only reads. A POST's request session is a writing one
    (on SQLite it holds the node's writer lock once used, e.g. to resolve a token): end that
    transaction and read in a reading one, so that an open file written on first use (in its
    own short writing transaction) never waits on this request."""
    if request.method in SAFE_METHODS:
        yield session
        return
    session.commit()
    with transaction(request.app.state.sessions(False)) as reading:
        yield reading


def ckan_action(
    name: str,
    request: Request,
    params: dict[str, Any] | CkanError = Depends(payload),
    subject: Subject | None = Depends(PUBLIC),
    session: Session = SESSION,
) -> JSONResponse:
    """CKAN Action API: ``package_search``, ``package_show``, ``package_list``,
    ``resource_show``, ``organization_list``, ``organization_show``, ``group_list``,
    ``group_show``, ``tag_list``, ``license_list``, ``datastore_search``, ``status_show``,
    ``help_show``. Parameters in the query string, a JSON body or a form; rate-limited like
    the open API."""
    help_url = f"{str(request.base_url).rstrip('/')}/api/3/action/help_show?name={quote(name)}"
    try:
        ratelimit.check(
            subject.user_id if subject else None, request.client.host if request.client else None
        )
        if isinstance(params, CkanError):
            raise params
        fn = ACTIONS.get(name)
        if fn is None:
            raise CkanError(
                400,
                "Bad request - Action name not known",
                f"Action name not known: {name[:100]}",
                "未知的操作名称",
            )
        with reads(request, session) as reading:
            result = fn(Call(name, params, reading, request))
        return JSONResponse({"help": help_url, "success": True, "result": result})
    except YaosuError as exc:
        error = from_yaosu(exc)
    except CkanError as exc:
        error = exc
    return JSONResponse(
        {"help": help_url, "success": False, "error": error.body()},
        status_code=error.status,
        headers=error.headers,
    )


for _path, _documented in (("/api/3/action/{name}", True), ("/api/action/{name}", False)):
    for _method in ("GET", "POST"):
        router.add_api_route(
            _path,
            ckan_action,
            methods=[_method],
            response_class=JSONResponse,
            include_in_schema=_documented,
            operation_id=f"ckan_action_{_method.lower()}" if _documented else None,
        )
