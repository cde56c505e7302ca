"""Open-data services: the public catalog and its distributions, conditional-open applications,
public demands, reuses and developer accounts. Every state change appends its ledger entry.

Open files are the current version de-identified under its classification's default policy
(every personal field masked, pseudonymized, generalized or suppressed), written once per
version, policy and format, with their SHA-256 recorded in the ledger. Raw rows never leave.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yaosu.catalog import schemas as catalog_schemas
from yaosu.catalog.service import dataset_service, resource_service
from yaosu.classification import masking
from yaosu.classification.service import (
    classification_service,
    masking_service,
    opening_service,
)
from yaosu.config import get_settings
from yaosu.db.uow import transaction
from yaosu.identity import rules as identity_rules
from yaosu.identity import schemas as identity_schemas
from yaosu.identity.service import org_service, user_service
from yaosu.identity.subject import Subject
from yaosu.kit import spreadsheet
from yaosu.kit.canonical import digest
from yaosu.kit.errors import Conflict, Forbidden, Invalid, not_found
from yaosu.kit.ids import new_id
from yaosu.kit.timeutil import utcnow
from yaosu.ledger.events import Actor
from yaosu.ledger.service import ledger_service
from yaosu.models.catalog import DatasetVersion, Resource
from yaosu.models.identity import Organization, User
from yaosu.models.opendata import OpenDistribution, PublicDemand, Reuse
from yaosu.models.sharing import ShareRequest
from yaosu.opendata import repository as repo
from yaosu.opendata import rules, schemas
from yaosu.sharing import schemas as sharing_schemas
from yaosu.sharing.dataservice import engine
from yaosu.sharing.service import request_service

Sessions = Callable[[bool], Session]

# The public as a caller of catalog services: sees published entries only, holds no role.
ANONYMOUS = Subject(
    user_id="anonymous",
    username="anonymous",
    org_id=None,
    org_status="active",
    roles=frozenset(),
    scopes=frozenset(),
    via="portal",
)
STAFF = frozenset({"reviewer", "platform_admin"})
PROVIDER_ROLES = frozenset({"data_officer", "cdo"})


def portal_actor(subject: Subject | None) -> Actor:
    if subject is None or subject.user_id == ANONYMOUS.user_id:
        return Actor(user=None, org=None, via="portal")
    return subject.actor


@dataclass(frozen=True)
class OpenSource:
    """What open data of a resource is read from: the current version and the SQL of each
    column under the default policy (for previews and the CKAN DataStore)."""

    resource: Resource
    version: DatasetVersion
    path: str
    policy: masking.MaskingPolicy
    policy_digest: str
    columns: list[masking.CompiledColumn]


@dataclass(frozen=True)
class DistributionFile:
    id: str
    format: str
    path: Path
    sha256: str
    size_bytes: int
    rows: int
    version: int
    downloads: int
    filename: str

    @property
    def media_type(self) -> str:
        return rules.DOWNLOAD_FORMATS[self.format]


@dataclass(frozen=True)
class ListedSummary:
    """A listed resource in brief: what listings and facets need, without fields or rows."""

    id: str
    code: str
    name: str
    provider_id: str
    provider_name: str
    base_library: str | None
    open_attribute: str
    grade: str | None
    update_cycle: str | None
    keywords: list[str]
    downloadable: bool
    created_at: datetime
    published_at: datetime | None
    updated_at: datetime


SUMMARY_FACETS = frozenset(
    {"provider_id", "base_library", "open_attribute", "grade", "update_cycle"}
)


class OpenCatalogService:
    """The catalog as the public sees it (OPN-1)."""

    def search(
        self,
        session: Session,
        q: str | None,
        filters: dict[str, list[str]],
        limit: int,
        offset: int,
    ) -> catalog_schemas.SearchResult:
        """Search listed resources (published, 无条件开放 or 有条件开放), with facets."""
        wanted = {k: list(v) for k, v in filters.items() if v}
        opened = [
            v for v in wanted.get("open_attribute", rules.LISTED_OPEN) if v in rules.LISTED_OPEN
        ]
        wanted["open_attribute"] = opened or ["-"]  # "-" matches nothing
        return resource_service.search(session, ANONYMOUS, q, wanted, limit, offset)

    def get(self, session: Session, ident: str) -> Resource:
        """A listed resource by id, resource code or registration code; 404 for anything else
        (不予开放, unpublished), so guessing does not reveal what exists."""
        found = repo.find_listed(session, ident)
        if found is None:
            raise not_found("Open dataset", "开放数据集", ident)
        return found

    def source(self, session: Session, resource: Resource) -> OpenSource:
        """The open rows of a downloadable resource; 403 when it is not open without
        conditions, has no data, is core or important data, or has no classification."""
        version = repo.version(session, resource.current_version_id)
        if not rules.is_downloadable(
            resource.status, resource.open_attribute, resource.grade, version is not None
        ):
            raise Forbidden(
                "This dataset is not open for download: apply for it, or it has no data yet.",
                "该数据集不可直接下载：请提交有条件开放申请，或数据尚未发布。",
                code="not_downloadable",
                open_attribute=resource.open_attribute,
            )
        assert version is not None
        check = opening_service.check(session, resource)
        if not check.classified or check.policy is None:  # unclassified: never opened unseen
            raise Forbidden(
                "The dataset's current version is not classified yet; it is not opened.",
                "该数据集当前版本尚未完成分类分级，暂不开放。",
                code="not_classified",
            )
        if not check.ok:
            # The publication check holds for every version that becomes current and every
            # review after publication, not only at the moment a reviewer published.
            refusal = check.refusal()
            raise Forbidden(
                "This dataset is not opened: " + refusal.message.split(": ", 1)[-1],
                "该数据集暂不开放：" + refusal.message_zh.split("：", 1)[-1],
                code="not_openable",
                **refusal.details,
            )
        policy = check.policy
        storage = dataset_service.storage()
        columns = masking.compile_columns(
            policy, version.columns, masking_service.key(), allow_empty=True
        )
        return OpenSource(
            resource=resource,
            version=version,
            path=str(storage.path(version.storage_key)),
            policy=policy,
            policy_digest=digest(policy.model_dump(mode="json")),
            columns=columns,
        )

    def view(self, session: Session, resource: Resource) -> schemas.OpenDataset:
        version = repo.version(session, resource.current_version_id)
        downloadable = rules.is_downloadable(
            resource.status, resource.open_attribute, resource.grade, version is not None
        )
        masked: dict[str, str] = {}
        if downloadable:
            try:
                masked = {c.name: c.rule or "" for c in self.source(session, resource).columns}
            except Forbidden:
                downloadable = False
        return _dataset_view(resource, version, downloadable, masked)

    def views(self, session: Session, resources: list[Resource]) -> list[schemas.OpenDataset]:
        """Summaries for lists (no per-field masking: that needs each version's policy)."""
        versions = repo.versions_of(
            session, [r.current_version_id for r in resources if r.current_version_id]
        )
        out = []
        for r in resources:
            v = versions.get(r.current_version_id or "")
            ok = rules.is_downloadable(r.status, r.open_attribute, r.grade, v is not None)
            out.append(_dataset_view(r, v, ok, {}))
        return out

    def preview(self, session: Session, resource: Resource, limit: int = 20) -> schemas.Preview:
        """The first rows, de-identified as in the downloads."""
        from yaosu.dataplane.query import Projection, RowQuery

        src = self.source(session, resource)
        projections = [
            Projection(name=c.name, sql=c.sql, params=list(c.params)) for c in src.columns
        ]
        page = engine().page(RowQuery(src.path, projections, limit=max(1, min(limit, 100))))
        table = page.to_table()
        names = table.column_names
        rows = [[_plain(row[n]) for n in names] for row in table.to_pylist()]
        return schemas.Preview(columns=names, rows=rows, total=src.version.rows)

    def distribution(
        self, sessions: Sessions, session: Session, resource: Resource, fmt: str
    ) -> DistributionFile:
        """The open file of the current version in ``fmt``, written on first use (in a
        temporary file renamed into place) and recorded with its SHA-256 in the ledger. A
        labelled CSV (``csv-labels``, ``csv-excel-labels``) has the catalog's information-item
        labels as its header row; its key is the policy and those labels."""
        rules.check_format(fmt)
        src = self.source(session, resource)
        headers = _headers(src, fmt)
        shape = _shape_digest(src, fmt, headers)
        found = repo.distribution(session, src.version.id, fmt, shape)
        if found is not None and _local(found.storage_key).is_file():
            return _file(found, src)
        key = f"open/{src.version.id}-{shape[:16]}.{rules.extension(fmt)}"
        dest = _local(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        excel = rules.LABELLED.get(fmt, fmt) == rules.EXCEL_CSV
        written = dest.with_name(f".{dest.name}.{new_id()}.plain") if excel else dest
        result = masking.export_masked(
            src.path,
            written,
            src.policy,
            src.version.columns,
            masking_service.key(),
            fmt="csv" if excel or fmt in rules.LABELLED else fmt,  # type: ignore[arg-type]
            allow_empty=True,
            headers=headers,
            spreadsheet=fmt in rules.SPREADSHEET_FORMATS,
        )
        if excel:
            # The recorded hash and size are those of the served bytes, BOM included.
            sha256, size = _prefix_bom(written, dest)
            result = masking.MaskedExport(result.rows, sha256, size, result.columns)
        with transaction(sessions(True)) as w:
            existing = repo.distribution(w, src.version.id, fmt, shape)
            if existing is None:
                existing = OpenDistribution(
                    id=new_id(),
                    resource_id=resource.id,
                    version_id=src.version.id,
                    format=fmt,
                    policy_digest=shape,
                    storage_key=key,
                    sha256=result.sha256,
                    size_bytes=result.size_bytes,
                    rows=result.rows,
                    downloads=0,
                )
                w.add(existing)
                try:
                    w.flush()
                except IntegrityError:  # another process wrote it first: theirs stands
                    w.rollback()
                    existing = repo.distribution(w, src.version.id, fmt, shape)
                    assert existing is not None
                    return _file(existing, src)
                ledger_service.record(
                    w,
                    "opendata.distribution_published",
                    portal_actor(None),
                    [existing.id, resource.id, src.version.id, result.sha256],
                    {
                        "format": fmt,
                        "sha256": result.sha256,
                        "rows": result.rows,
                        "size_bytes": result.size_bytes,
                        "version_sha256": src.version.sha256,
                        "policy_digest": src.policy_digest,
                        **({"header": list(headers.values())} if headers else {}),
                    },
                )
            elif existing.sha256 != result.sha256:
                # Same version and policy give the same bytes; a mismatch means the stored
                # file or row was altered. Serve nothing rather than an unverifiable file.
                raise Conflict(
                    "The open file does not match its recorded SHA-256.",
                    "开放文件与登记的 SHA-256 不一致。",
                    code="distribution_mismatch",
                )
            return _file(existing, src)

    def distributions(self, session: Session, resource: Resource) -> list[DistributionFile]:
        """The open files written so far for the current version (others are made on demand)."""
        try:
            src = self.source(session, resource)
        except Forbidden:
            return []
        found = repo.distributions_of(session, src.version.id)
        return sorted(
            (
                _file(d, src)
                for d in found
                if d.format in rules.DOWNLOAD_FORMATS
                and d.policy_digest == _shape_digest(src, d.format, _headers(src, d.format))
            ),
            key=lambda d: list(rules.DOWNLOAD_FORMATS).index(d.format),
        )

    def count_download(self, sessions: Sessions, distribution_id: str) -> None:
        """Downloads are counted (in their own short transaction), not logged one by one:
        the public downloads open data anonymously, and the file itself is in the ledger."""
        with transaction(sessions(True)) as w:
            repo.count_download(w, distribution_id)

    def figures(self, session: Session) -> schemas.Figures:
        return schemas.Figures(**repo.figures(session))

    def providers(self, session: Session) -> list[tuple[Any, int]]:
        return repo.providers(session)

    def provider(self, session: Session, org_id: str) -> Any:
        org = repo.provider(session, org_id)
        if org is None or org.kind not in ("government", "institution"):
            raise not_found("Organization", "机构", org_id)
        return org

    def registration(self, session: Session, code: str) -> tuple[Any, Resource | None]:
        """A registration 登记 (public for every published entry, CAT-6) and its resource when
        that is listed on the portal (None for closed ones: no fields, no data)."""
        reg = resource_service.registration(session, code)
        return reg, repo.find_listed(session, reg.resource_code)

    def listed(
        self, session: Session, limit: int, offset: int, provider_id: str | None = None
    ) -> tuple[list[Resource], int]:
        return repo.listed_page(session, limit, offset, provider_id)

    def get_many(self, session: Session, ids: list[str]) -> list[Resource]:
        """Listed resources by id, in the order given (ids not listed are left out)."""
        return repo.listed_by_ids(session, ids)

    def summaries(
        self,
        session: Session,
        filters: dict[str, list[str]] | None = None,
        ids: list[str] | None = None,
    ) -> list[ListedSummary]:
        """Listed resources in brief, in one query — all of them, or those whose facets
        (provider_id, base_library, open_attribute, grade, update_cycle) take one of the given
        values and, with ``ids``, those ids: for whole-catalog listings and for what the search
        index does not keep (keywords, downloadability, update times), e.g. the CKAN API's
        package_list, tag_list and package_search by tag, format or date."""
        stmt = (
            repo.listed_resources()
            .join(Organization, Organization.id == Resource.provider_id)
            .with_only_columns(
                Resource.id,
                Resource.code,
                Resource.name,
                Resource.provider_id,
                Organization.name,
                Resource.base_library,
                Resource.open_attribute,
                Resource.grade,
                Resource.update_cycle,
                Resource.keywords,
                Resource.status,
                Resource.current_version_id,
                Resource.created_at,
                Resource.published_at,
                Resource.updated_at,
            )
        )
        for facet, values in (filters or {}).items():
            if facet not in SUMMARY_FACETS:
                raise Invalid(
                    f"Unknown facet {facet!r}.", f"未知的筛选项 {facet!r}。", code="invalid_facet"
                )
            stmt = stmt.where(getattr(Resource, facet).in_(list(values)))
        if ids is not None:
            stmt = stmt.where(Resource.id.in_(list(ids)))
        return [
            ListedSummary(
                id=row[0],
                code=row[1],
                name=row[2],
                provider_id=row[3],
                provider_name=row[4],
                base_library=row[5],
                open_attribute=row[6] or "none",
                grade=row[7],
                update_cycle=row[8],
                keywords=list(row[9] or []),
                downloadable=rules.is_downloadable(row[10], row[6], row[7], row[11] is not None),
                created_at=row[12],
                published_at=row[13],
                updated_at=row[14],
            )
            for row in session.execute(stmt).all()
        ]


def _prefix_bom(plain: Path, dest: Path) -> tuple[str, int]:
    """Write ``dest`` as a UTF-8 BOM followed by ``plain`` (then removed), through a temporary
    file renamed into place; the SHA-256 and size of what was written."""
    partial = dest.with_name(f".{dest.name}.{new_id()}.part")
    digest_ = hashlib.sha256(rules.UTF8_BOM)
    size = len(rules.UTF8_BOM)
    try:
        with plain.open("rb") as src, partial.open("wb") as out:
            out.write(rules.UTF8_BOM)
            while chunk := src.read(1 << 20):
                digest_.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
        plain.unlink(missing_ok=True)
    return digest_.hexdigest(), size


def _headers(src: OpenSource, fmt: str) -> dict[str, str] | None:
    """The labelled header of ``fmt`` as written (None for the formats with column names):
    in these files for people, a label a spreadsheet would read as a formula is neutralised."""
    if fmt not in rules.LABELLED:
        return None
    labels = rules.header_labels([c.name for c in src.columns], list(src.resource.fields or []))
    return {name: spreadsheet.neutralise(label) for name, label in labels.items()}


def _shape_digest(src: OpenSource, fmt: str, headers: dict[str, str] | None) -> str:
    """What a distribution's bytes follow besides the version: the policy; for a labelled
    CSV its header (a relabelled catalog entry is a new file, never a stale one); for a file
    for spreadsheets the formula rule it was written under (files written before it are
    never served again)."""
    if fmt not in rules.SPREADSHEET_FORMATS:
        return src.policy_digest
    shape: dict[str, Any] = {"policy_digest": src.policy_digest, "cells": rules.CELL_RULE}
    if headers is not None:
        shape["header"] = headers
    return digest(shape)


def _local(key: str) -> Path:
    return Path(get_settings().data_dir) / key


def _file(d: OpenDistribution, src: OpenSource) -> DistributionFile:
    name = (
        f"{src.resource.code.replace('/', '_')}-v{src.version.number}.{rules.extension(d.format)}"
    )
    return DistributionFile(
        id=d.id,
        format=d.format,
        path=_local(d.storage_key),
        sha256=d.sha256,
        size_bytes=int(d.size_bytes),
        rows=int(d.rows),
        version=src.version.number,
        downloads=int(d.downloads or 0),
        filename=name,
    )


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _dataset_view(
    r: Resource, v: DatasetVersion | None, downloadable: bool, masked: dict[str, str]
) -> schemas.OpenDataset:
    labels = {str(f.get("name")): f for f in r.fields or []}
    names = [c["name"] for c in v.columns] if v is not None else list(labels)
    fields = []
    for name in names:
        info = labels.get(name, {})
        fields.append(
            schemas.OpenField(
                name=name,
                label_zh=info.get("label_zh"),
                type=info.get("type"),
                description=info.get("description"),
                masked=masked.get(name) or None,
            )
        )
    return schemas.OpenDataset(
        id=r.id,
        code=r.code,
        name=r.name,
        name_en=r.name_en,
        summary=r.summary or "",
        provider_id=r.provider_id,
        provider_name=r.provider.name if r.provider else "",
        base_library=r.base_library,
        theme=r.theme,
        open_attribute=r.open_attribute or "none",
        grade=r.grade,
        update_cycle=r.update_cycle,
        format=r.format,
        keywords=list(r.keywords or []),
        registration_code=r.registration_code,
        published_at=r.published_at,
        updated_at=r.updated_at,
        downloadable=downloadable,
        rows=v.rows if v is not None else None,
        version=v.number if v is not None else None,
        version_sha256=v.sha256 if v is not None else None,
        fields=fields,
    )


class ApplicationService:
    """Conditional-open applications 有条件开放申请 (OPN-2): share requests on the ``open``
    channel, reviewed by the provider and then the data authority; approval issues a grant used
    through the data service, like any other."""

    def apply(
        self, session: Session, subject: Subject, data: schemas.ApplicationCreate
    ) -> ShareRequest:
        if not data.commitment:
            raise Invalid(
                "Accept the open-data terms (安全承诺) to apply.",
                "请先阅读并同意数据安全承诺。",
                code="commitment_required",
            )
        if subject.org_id is None:
            raise Invalid(
                "Applications are made by a registered account.",
                "请使用已注册的账号提交申请。",
                code="org_required",
            )
        org = org_service.get(session, subject, subject.org_id)
        # The portal's form reaches here with any signed-in visitor, not through the API's
        # access check: a unit awaiting admission, refused, suspended or gone applies for nothing.
        identity_rules.require_usable_org(org.status)
        if org.kind not in rules.APPLICANT_KINDS:
            raise Forbidden(
                "Government units use government data sharing (share requests).",
                "政务部门请通过政务数据共享提交共享申请。",
                code="use_sharing",
            )
        resource = open_catalog.get(session, data.resource_id)
        rules.check_application(data.purpose, data.research, data.research_plan)
        route = rules.route_application(
            open_attribute=resource.open_attribute,
            grade=resource.grade,
            applicant_kind=org.kind,
            research=data.research,
        )
        if route.code in ("open_without_application", "research_route_institutions_only"):
            raise Conflict(route.message, route.message_zh, code=route.code)
        req = request_service.file(
            session,
            subject,
            sharing_schemas.ShareRequestCreate(
                resource_id=resource.id,
                fields=data.fields,
                purpose=data.purpose,
                purpose_text=data.purpose_text,
                scenario=data.scenario,
                legal_basis="有条件开放申请（OPN-2），申请人已签署数据安全承诺",
                term_days=data.term_days,
                delivery_mode=data.delivery_mode,
            ),
            resource,
            route,
            channel="open",
            research_plan=data.research_plan if data.research else None,
        )
        if req.status == "provider_review":
            # Personal fields are masked unless a reviewer decides otherwise (narrowing only
            # adds masking): open data never leaves as raw personal information by default.
            masks = classification_service.default_masking(session, resource, req.fields)
            if masks:
                req.narrowed = {"masking": masks}
                session.flush()
        return req

    def mine(self, session: Session, subject: Subject, limit: int, offset: int) -> tuple[Any, int]:
        return request_service.list(
            session,
            subject,
            role="consumer",
            status=None,
            limit=limit,
            offset=offset,
            channel="open",
        )


class DemandService:
    """Public demands 问需于民 (OPN-3): anyone asks; a provider or the data authority answers;
    both are public (the requester's contact never is)."""

    def post(
        self, session: Session, subject: Subject | None, data: schemas.DemandCreate
    ) -> PublicDemand:
        demand = PublicDemand(
            id=new_id(),
            title=rules.clean_text(data.title, 200),
            description=rules.clean_text(data.description, 5000),
            wanted_fields=[rules.clean_text(f, 100) for f in data.wanted_fields if f.strip()],
            requester_name=rules.clean_text(data.requester_name, 100) or None,
            contact=rules.clean_text(data.contact, 200) or None,
            user_id=subject.user_id if subject and subject.user_id != ANONYMOUS.user_id else None,
            status="open",
        )
        session.add(demand)
        session.flush()
        ledger_service.record(
            session,
            "opendata.demand_posted",
            portal_actor(subject),
            [demand.id],
            {"title": demand.title, "description": demand.description},
        )
        return demand

    def list(
        self, session: Session, status: str | None, limit: int, offset: int
    ) -> tuple[list[PublicDemand], int]:
        if status and status not in rules.DEMAND_STATES:
            raise Invalid(
                f"Unknown status {status!r}.", f"未知状态 {status!r}。", code="invalid_status"
            )
        return repo.demands(session, status, limit, offset)

    def get(self, session: Session, demand_id: str) -> PublicDemand:
        found = session.get(PublicDemand, demand_id)
        if found is None:
            raise not_found("Demand", "需求", demand_id)
        return found

    def answer(
        self, session: Session, subject: Subject, demand_id: str, data: schemas.DemandAnswer
    ) -> PublicDemand:
        """A government unit's data officer or the data authority answers, linking a listed
        resource or declining with the reason."""
        demand = self.get(session, demand_id)
        # A concurrent answer waits for this one, then sees it answered.
        session.refresh(demand, with_for_update=True)
        is_staff = bool(subject.roles & STAFF)
        unit = session.get(Organization, subject.org_id) if subject.org_id else None
        government = unit is not None and unit.kind in rules.ANSWERING_ORG_KINDS
        if not is_staff and not (subject.roles & PROVIDER_ROLES and government):
            raise Forbidden(
                "Data officers of a providing unit, or the data authority, answer demands.",
                "由数据提供单位的数据专管员或数据主管部门答复需求。",
                code="answer_not_allowed",
            )
        if demand.status != "open":
            raise Conflict(
                "The demand has been answered already.",
                "该需求已答复。",
                code="demand_answered",
                current=demand.status,
            )
        if data.resource_id and data.decline:
            raise Invalid(
                "Link a dataset or decline, not both.",
                "答复时不能既关联数据集又选择暂不开放。",
                code="answer_conflict",
            )
        resource_id = None
        if data.resource_id:
            resource = open_catalog.get(session, data.resource_id)
            if not is_staff and resource.provider_id != subject.org_id:
                raise Forbidden(
                    "A unit links only its own datasets.",
                    "只能关联本单位的数据集。",
                    code="not_provider",
                )
            resource_id = resource.id
        demand.status = "declined" if data.decline else "answered"
        demand.answer = rules.clean_text(data.answer, 5000)
        demand.resource_id = resource_id
        demand.provider_id = subject.org_id
        demand.answered_by = subject.user_id
        demand.answered_at = utcnow()
        session.flush()
        ledger_service.record(
            session,
            f"opendata.demand_{demand.status}",
            subject.actor,
            [demand.id, *([resource_id] if resource_id else [])],
            {"answer": demand.answer, "resource_id": resource_id},
        )
        return demand


class ReuseService:
    """Reuses 成果展示 (OPN-3): apps, papers and visualizations built on open data, shown once
    the data authority has checked them."""

    def submit(self, session: Session, subject: Subject | None, data: schemas.ReuseCreate) -> Reuse:
        listed = repo.listed_by_ids(session, data.resource_ids)
        ids = [r.id for r in listed]
        missing = [i for i in data.resource_ids if i not in ids]
        if missing:
            raise Invalid(
                f"Not open datasets: {', '.join(missing)}.",
                f"以下不是开放数据集：{'、'.join(missing)}。",
                code="unknown_datasets",
                unknown=missing,
            )
        reuse = Reuse(
            id=new_id(),
            title=rules.clean_text(data.title, 200),
            kind=data.kind,
            url=data.url,
            description=rules.clean_text(data.description, 5000),
            resource_ids=ids,
            author=rules.clean_text(data.author, 100),
            user_id=subject.user_id if subject and subject.user_id != ANONYMOUS.user_id else None,
            status="pending",
            details={},
        )
        session.add(reuse)
        session.flush()
        ledger_service.record(
            session,
            "opendata.reuse_submitted",
            portal_actor(subject),
            [reuse.id, *ids],
            {"title": reuse.title, "kind": reuse.kind, "url": reuse.url},
        )
        return reuse

    def list(
        self,
        session: Session,
        subject: Subject | None,
        status: str | None,
        limit: int,
        offset: int,
        resource_id: str | None = None,
    ) -> tuple[list[Reuse], int]:
        """Shown reuses for everyone; pending and rejected ones for the data authority."""
        if status and status not in rules.REUSE_STATES:
            raise Invalid(
                f"Unknown status {status!r}.", f"未知状态 {status!r}。", code="invalid_status"
            )
        status = status or "shown"
        if status != "shown" and not (subject and subject.roles & STAFF):
            raise Forbidden(
                "Only the data authority sees reuses awaiting review.",
                "只有数据主管部门可以查看待审核的成果。",
                code="reviewer_required",
            )
        return repo.reuses(session, status, limit, offset, resource_id)

    def decide(
        self, session: Session, subject: Subject, reuse_id: str, data: schemas.ReuseDecision
    ) -> Reuse:
        reuse = session.get(Reuse, reuse_id)
        if reuse is None:
            raise not_found("Reuse", "成果", reuse_id)
        session.refresh(reuse, with_for_update=True)  # two reviewers: one decision
        if not subject.roles & STAFF:
            raise Forbidden(
                "The data authority's reviewers decide which reuses are shown.",
                "由数据主管部门审核成果展示。",
                code="reviewer_required",
            )
        if reuse.status != "pending":
            raise Conflict(
                "The reuse has been decided already.", "该成果已审核。", code="reuse_decided"
            )
        if not data.show and not (data.reason or "").strip():
            raise Invalid("Give the reason.", "请填写不予展示的理由。", code="reason_required")
        reuse.status = "shown" if data.show else "rejected"
        reuse.reason = data.reason
        session.flush()
        ledger_service.record(
            session,
            f"opendata.reuse_{reuse.status}",
            subject.actor,
            [reuse.id],
            {"reason": data.reason},
        )
        return reuse


class DeveloperService:
    """Developer accounts 开发者账号: an individual's account, active at once, which makes its
    own API keys (tokens) for the open API and may apply for conditional data."""

    def register(self, session: Session, data: schemas.DeveloperCreate) -> User:
        system = Subject.system("portal")
        org = org_service.create(
            session,
            system,
            identity_schemas.OrgCreate(name=data.display_name, kind="individual"),
        )
        return user_service.create(
            session,
            system,
            identity_schemas.UserCreate(
                username=data.username,
                display_name=data.display_name,
                email=data.email,
                password=data.password,
                org_id=org.id,
                roles=["member"],
            ),
        )


open_catalog = OpenCatalogService()
application_service = ApplicationService()
demand_service = DemandService()
reuse_service = ReuseService()
developer_service = DeveloperService()
