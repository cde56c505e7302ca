"""Catalog services: registration and review of resources, dataset versions and ingest jobs,
search, census and demand lists. Every state change appends its ledger entry."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from yaosu.catalog import repository as repo
from yaosu.catalog import rules, schemas, search
from yaosu.catalog.index import index_for
from yaosu.config import get_settings
from yaosu.identity.service import org_service
from yaosu.identity.subject import Subject
from yaosu.kit.canonical import digest
from yaosu.kit.errors import Conflict, Forbidden, Invalid, YaosuError, not_found
from yaosu.kit.ids import new_id
from yaosu.kit.timeutil import local, utcnow
from yaosu.ledger.service import ledger_service
from yaosu.models.catalog import (
    CatalogVersion,
    DatasetVersion,
    Demand,
    DemandAnswer,
    IngestJob,
    PullSchedule,
    Registration,
    Resource,
    UploadSession,
)

EDITORS = frozenset({"data_officer", "cdo"})
REVIEWERS = frozenset({"reviewer", "platform_admin"})
METADATA_KEYS = (
    "name",
    "name_en",
    "classification_code",
    "provider_id",
    "provider_code",
    "summary",
    "format",
    "fields",
    "describes",
    "update_cycle",
    "base_library",
    "theme",
    "share_attribute",
    "share_conditions",
    "share_legal_basis",
    "share_method",
    "open_attribute",
    "source_system",
    "authoritative",
    "keywords",
    "contact",
)


def snapshot(resource: Resource) -> dict[str, Any]:
    """The catalog metadata of a resource, as versioned and registered."""
    return {k: getattr(resource, k) for k in METADATA_KEYS}


def _may_edit(subject: Subject, resource: Resource) -> bool:
    if subject.is_system or "platform_admin" in subject.roles:
        return True
    return bool(subject.roles & EDITORS) and subject.org_id == resource.provider_id


def _require_editor(subject: Subject, resource: Resource) -> None:
    if not _may_edit(subject, resource):
        raise Forbidden(
            "Only the provider unit's data officers and chief data officer may change it.",
            "只有资源提供单位的数据专管员或首席数据官可以修改该资源。",
            code="not_provider",
        )


def _require_reviewer(subject: Subject) -> None:
    if not (subject.is_system or subject.roles & REVIEWERS):
        raise Forbidden(
            "Only the data authority's reviewers decide on publication.",
            "只有数据主管部门审核员可以审核发布。",
            code="reviewer_required",
        )


AUTO_NOTE = "accepted automatically"
_STATE_ZH = {"staged": "待审核", "accepted": "已接受", "rejected": "已驳回"}
_UPLOAD_ZH = {"complete": "完成"}  # an upload is open until it completes
_JOB_ZH = {"running": "入库中", "succeeded": "已完成", "failed": "失败", "cancelled": "已取消"}
# Why a staged version waits for a reviewer, as recorded on the version and in the ledger.
_REASON_WORDS: dict[str, dict[str, str]] = {
    "current_changed": {
        "message": "The current version changed while this one was compared.",
        "message_zh": "比对期间当前版本已变更。",
    },
}


def _state_zh(state: str) -> str:
    return _STATE_ZH.get(state, state)


def _required_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise Invalid(
            "Give the reason; it goes into the ledger.",
            "请填写理由，理由将记入存证账本。",
            code="reason_required",
        )
    return text


# Checks a higher domain adds to every publication (classification: what may be opened, and
# whether the page the reviewer decided on is stale). A registry keeps catalog below
# classification in the layers; publish fails closed when a resource with data would be opened
# and no check is registered. Each returns what the ledger records of it.
PublicationCheck = Callable[
    [Session, Subject, Resource, str | None, str | None], dict[str, Any] | None
]
_publication_checks: list[PublicationCheck] = []
# Called when a resource's declared row subject 描述对象 changed (classification applies it to
# the current version's findings), in the same transaction.
DescribesListener = Callable[[Session, Any, Resource, str | None], None]
_describes_listeners: list[DescribesListener] = []


class ResourceService:
    def add_publication_check(self, check: PublicationCheck) -> None:
        """Register a check every publication passes (called once, at import)."""
        if check not in _publication_checks:
            _publication_checks.append(check)

    def add_describes_listener(self, listener: DescribesListener) -> None:
        """Register what follows a change of a resource's declared row subject (at import)."""
        if listener not in _describes_listeners:
            _describes_listeners.append(listener)

    def register(
        self, session: Session, subject: Subject, data: schemas.ResourceCreate
    ) -> Resource:
        """Register a data resource 数据资源 as a draft catalog entry (CAT-1)."""
        provider_id = data.provider_id or subject.org_id
        if provider_id is None:
            raise Invalid(
                "Name the provider unit.", "请指定资源提供单位。", code="provider_required"
            )
        provider = org_service.get(session, subject, provider_id)
        if not (subject.is_system or "platform_admin" in subject.roles) and (
            provider.id != subject.org_id or not subject.roles & EDITORS
        ):
            raise Forbidden(
                "A unit's data officers register its own resources.",
                "只能由本单位数据专管员或首席数据官登记本单位的资源。",
                code="not_provider",
            )
        payload = data.model_dump(mode="json")
        rules.check_metadata(payload)
        seq = repo.next_sequence(session, f"res:{data.classification_code}")
        resource = Resource(
            id=new_id(),
            code=rules.resource_code(data.classification_code, seq),
            classification_code=data.classification_code,
            name=data.name,
            provider_id=provider.id,
            provider_code=data.provider_code or provider.uscc or provider.region_code,
            status="draft",
            catalog_version=0,
            created_by=subject.user_id,
            **{
                k: payload[k]
                for k in METADATA_KEYS
                if k in payload
                and k not in ("name", "classification_code", "provider_id", "provider_code")
            },
        )
        session.add(resource)
        session.flush()
        self._index(session, resource)
        ledger_service.record(
            session,
            "catalog.resource_registered",
            subject.actor,
            [resource.id, provider.id],
            snapshot(resource),
        )
        return resource

    def _index(self, session: Session, r: Resource) -> None:
        parts = [
            (r.name, 3),
            (r.name_en or "", 3),
            (r.code, 3),
            (" ".join(r.keywords or []), 2),
            (r.summary or "", 1),
            (r.theme or "", 1),
        ]
        parts += [(f"{f.get('name', '')} {f.get('label_zh', '')}", 1) for f in r.fields or []]
        repo.replace_terms(session, r.id, search.weighted_terms(parts))

    def get(self, session: Session, subject: Subject, resource_id: str) -> Resource:
        """A resource by id or by resource code, if the subject may read it."""
        if "/" in resource_id:
            resource_id = repo.resource_id_by_code(session, resource_id) or resource_id
        found = repo.readable_resource(session, subject, resource_id)
        if found is None:
            raise not_found("Resource", "数据资源", resource_id)
        return found

    def get_for_review(self, session: Session, subject: Subject, resource_id: str) -> Resource:
        """The resource with its row held until the transaction ends, so two decisions on one
        submission cannot both pass the state check (``submit``, ``publish`` and ``send_back``
        take it)."""
        if "/" in resource_id:  # a resource code: lock the row it names
            resource_id = repo.resource_id_by_code(session, resource_id) or resource_id
        repo.lock_resource(session, resource_id)
        return self.get(session, subject, resource_id)

    def update(
        self, session: Session, subject: Subject, resource_id: str, data: schemas.ResourceUpdate
    ) -> Resource:
        """Edit metadata. Editing a published entry sends it back to review as a new version."""
        resource = self.get(session, subject, resource_id)
        _require_editor(subject, resource)
        if resource.status not in rules.EDITABLE:
            raise Conflict(
                f"A {resource.status} resource cannot be edited.",
                f"{rules.STATES[resource.status]}的资源不能修改。",
                code="not_editable",
            )
        changes = data.model_dump(mode="json", exclude_unset=True)
        merged = {**snapshot(resource), **changes}
        rules.check_metadata(merged)
        before = snapshot(resource)
        for key, value in changes.items():
            setattr(resource, key, value)
        resource.updated_at = utcnow()
        session.flush()
        self._index(session, resource)
        ledger_service.record(
            session,
            "catalog.resource_edited",
            subject.actor,
            [resource.id],
            {"diff": rules.diff(before, snapshot(resource))},
        )
        if before.get("describes") != resource.describes:
            for listener in _describes_listeners:
                listener(session, subject.actor, resource, before.get("describes"))
        if resource.status == "published":
            self._to_review(session, subject, resource)
        return resource

    def submit(self, session: Session, subject: Subject, resource_id: str) -> Resource:
        """Submit for review by the data authority; records a catalog version with its diff."""
        resource = self.get_for_review(session, subject, resource_id)
        _require_editor(subject, resource)
        rules.check_transition(resource.status, "submitted")
        self._to_review(session, subject, resource)
        return resource

    def _to_review(self, session: Session, subject: Subject, resource: Resource) -> None:
        rules.check_publishable(snapshot(resource))
        previous = repo.latest_catalog_version(session, resource.id)
        current = snapshot(resource)
        if previous is not None and previous.snapshot == current and resource.status != "returned":
            raise Conflict(
                "Nothing changed since the last version.",
                "自上一版本以来没有修改。",
                code="no_changes",
            )
        resource.catalog_version = (previous.version if previous else 0) + 1
        session.add(
            CatalogVersion(
                resource_id=resource.id,
                version=resource.catalog_version,
                snapshot=current,
                diff=rules.diff(previous.snapshot if previous else {}, current),
                created_by=subject.user_id,
            )
        )
        resource.status = "submitted"
        resource.return_reason = None
        resource.updated_at = utcnow()
        session.flush()
        ledger_service.record(
            session,
            "catalog.resource_submitted",
            subject.actor,
            [resource.id],
            {"version": resource.catalog_version, "snapshot_sha256": digest(current)},
        )

    def publish(
        self,
        session: Session,
        subject: Subject,
        resource_id: str,
        *,
        version_id: str | None = None,
        findings_digest: str | None = None,
    ) -> Resource:
        """Publish; the first publication issues the unified registration code (CAT-6).

        ``version_id`` and ``findings_digest`` are what the reviewer's page showed (the
        publication card): when given and the current version or its findings changed since,
        the publication is refused (``stale_findings``). A 无条件开放 resource with data is
        published only if its open distribution passes the publication check
        (``open_check_failed``, see docs/opendata.md)."""
        _require_reviewer(subject)
        resource = self.get_for_review(session, subject, resource_id)
        rules.check_transition(resource.status, "published")
        # publication checks
        if not _publication_checks and (
            resource.current_version_id or version_id or findings_digest
        ):
            raise Conflict(
                "The publication checks are not loaded on this node; nothing is published.",
                "本节点未加载发布审查，暂不能发布。",
                code="publication_check_unavailable",
            )
        checked = [
            c(session, subject, resource, version_id, findings_digest) for c in _publication_checks
        ]
        open_check = next((c for c in checked if c is not None), None)
        resource.status = "published"
        now = utcnow()
        resource.published_at = now
        resource.updated_at = now
        sha = digest(snapshot(resource))
        if resource.registration_code is None:
            region = resource.provider.region_code or "000000"
            seq = repo.next_sequence(session, f"reg:{region}:{now.year}")
            resource.registration_code = rules.registration_code(region, now.year, seq)
            session.add(
                Registration(
                    code=resource.registration_code,
                    resource_id=resource.id,
                    catalog_version=resource.catalog_version,
                    snapshot_sha256=sha,
                )
            )
            session.flush()
            ledger_service.record(
                session,
                "catalog.registration_issued",
                subject.actor,
                [resource.registration_code, resource.id],
                {"code": resource.registration_code, "snapshot_sha256": sha},
            )
        session.flush()
        ledger_service.record(
            session,
            "catalog.resource_published",
            subject.actor,
            [resource.id],
            {
                "version": resource.catalog_version,
                "snapshot_sha256": sha,
                **({"publication_check": open_check} if open_check is not None else {}),
            },
        )
        return resource

    def send_back(
        self, session: Session, subject: Subject, resource_id: str, reason: str
    ) -> Resource:
        """Return to the provider with reasons (退回)."""
        _require_reviewer(subject)
        resource = self.get_for_review(session, subject, resource_id)
        rules.check_transition(resource.status, "returned")
        resource.status = "returned"
        resource.return_reason = reason
        resource.updated_at = utcnow()
        session.flush()
        ledger_service.record(
            session, "catalog.resource_returned", subject.actor, [resource.id], {"reason": reason}
        )
        return resource

    def retire(self, session: Session, subject: Subject, resource_id: str, reason: str) -> Resource:
        resource = self.get(session, subject, resource_id)
        if not subject.roles & REVIEWERS:  # the data authority, or the provider's own officers
            _require_editor(subject, resource)
        rules.check_transition(resource.status, "retired")
        resource.status = "retired"
        resource.updated_at = utcnow()
        session.flush()
        ledger_service.record(
            session, "catalog.resource_retired", subject.actor, [resource.id], {"reason": reason}
        )
        return resource

    def listing(
        self,
        session: Session,
        subject: Subject,
        *,
        status: Sequence[str] | None = None,
        provider_id: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> tuple[list[Resource], int]:
        """Readable resources by status and provider (work lists: drafts, to publish…)."""
        return repo.list_resources(
            session, subject, status=status, provider_id=provider_id, limit=limit, offset=offset
        )

    def published_count(self, session: Session, org_id: str | None) -> int:
        """How many published resources a unit (or, with None, the city) provides."""
        return repo.published_count(session, org_id)

    def require_editor(self, subject: Subject, resource: Resource) -> None:
        """Raise unless the subject is one of the provider unit's data officers (or an admin)."""
        _require_editor(subject, resource)

    def same_entry(
        self, session: Session, subject: Subject, classification_code: str, name: str
    ) -> Resource | None:
        """The subject's unit's live resource of this name and classification, if any: what a
        second registration of the same entry (a form sent twice) would duplicate."""
        if subject.org_id is None:
            return None
        return repo.same_entry(session, subject.org_id, classification_code, name)

    def may_edit(self, subject: Subject, resource: Resource) -> bool:
        """Whether the subject may change the resource (what ``require_editor`` checks): pages
        show the controls only to those the services will let act."""
        return _may_edit(subject, resource)

    def set_grade(
        self, session: Session, actor: Any, resource: Resource, grade: str, version_id: str
    ) -> None:
        """The grade of the current version's classification becomes the resource's grade (a
        search facet, and what sharing checks)."""
        if resource.grade == grade:
            return
        previous, resource.grade = resource.grade, grade
        resource.updated_at = utcnow()
        session.flush()
        ledger_service.record(
            session,
            "catalog.grade_set",
            actor,
            [resource.id, version_id],
            {"grade": grade, "previous": previous},
        )

    def versions(
        self, session: Session, subject: Subject, resource_id: str
    ) -> list[CatalogVersion]:
        self.get(session, subject, resource_id)
        return repo.catalog_versions(session, resource_id)

    def registration(self, session: Session, code: str) -> schemas.Registration:
        """Public lookup of a registration code."""
        found = repo.resource_by_registration(session, code)
        if found is None:
            raise not_found("Registration", "登记编码", code)
        reg, resource = found
        return schemas.Registration(
            code=reg.code,
            resource_code=resource.code,
            name=resource.name,
            provider=resource.provider.name,
            catalog_version=reg.catalog_version,
            snapshot_sha256=reg.snapshot_sha256,
            status=resource.status,
            registered_at=reg.registered_at,
        )

    def search(
        self,
        session: Session,
        subject: Subject,
        q: str | None,
        filters: dict[str, list[str]],
        limit: int,
        offset: int,
    ) -> schemas.SearchResult:
        """Chinese and English search over names (Chinese and English), codes, summaries,
        fields and keywords, with facets; the query is widened by the synonym list."""
        variants = search.expand(q or "")
        # A variant without terms (a synonym of punctuation only) would match everything.
        query_terms = [search.terms(variants[0])]
        query_terms += [t for t in map(search.terms, variants[1:]) if t and t not in query_terms]
        substring = None
        if q and len(query_terms) == 1 and len(query_terms[0]) == 1 and len(query_terms[0][0]) == 1:
            substring, query_terms = query_terms[0][0], [[]]  # one Chinese character: substring
        for key in filters:
            if key not in repo.FACETS:
                raise Invalid(
                    f"Unknown facet {key!r}.", f"未知的筛选项 {key!r}。", code="invalid_facet"
                )
        ids, total, facets = index_for(session).query(
            session, subject, query_terms, substring, filters, limit, offset
        )
        rows = repo.resources_by_ids(session, ids)
        labels = _facet_labels(session, subject, facets.get("provider_id", []))
        return schemas.SearchResult(
            items=[schemas.Resource.model_validate(r) for r in rows],
            total=total,
            limit=limit,
            offset=offset,
            facets={
                key: [
                    schemas.Facet(value=v, label=labels.get((key, v), _label(key, v)), count=c)
                    for v, c in values
                ]
                for key, values in facets.items()
            },
        )


def _label(key: str, value: str) -> str:
    vocab = {
        "base_library": rules.BASE_LIBRARIES,
        "share_attribute": rules.SHARE_ATTRIBUTES,
        "open_attribute": rules.OPEN_ATTRIBUTES,
        "format": rules.FORMATS,
        "update_cycle": rules.UPDATE_CYCLES,
    }.get(key, {})
    return vocab.get(value, value)


def _facet_labels(
    session: Session, subject: Subject, providers: list[tuple[str, int]]
) -> dict[tuple[str, str], str]:
    names = org_service.names(session, subject, [org_id for org_id, _ in providers])
    return {("provider_id", org_id): name for org_id, name in names.items()}


class DatasetService:
    """Dataset versions 数据版本 of a resource and the ingest jobs that make them."""

    def storage(self) -> Any:
        from yaosu.dataplane.storage import Storage

        return Storage(get_settings().storage_root)

    def upload_dir(self) -> Path:
        path = get_settings().data_dir / "uploads"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def versions(
        self, session: Session, subject: Subject, resource_id: str
    ) -> list[DatasetVersion]:
        resource = resource_service.get(session, subject, resource_id)
        self._require_data_access(subject, resource)
        return repo.dataset_versions(session, resource.id)

    def version(self, session: Session, subject: Subject, version_id: str) -> DatasetVersion:
        found = session.get(DatasetVersion, version_id)
        if found is None:
            raise not_found("Dataset version", "数据版本", version_id)
        resource = resource_service.get(session, subject, found.resource_id)
        self._require_data_access(subject, resource)
        return found

    def may_read_data(self, subject: Subject, resource: Resource) -> bool:
        """Whether the subject sees the resource's versions, profiles and jobs (the provider
        unit and the data authority); pages hide what the services would refuse."""
        return bool(
            subject.is_system
            or subject.roles & CATALOG_STAFF
            or subject.org_id == resource.provider_id
        )

    def _require_data_access(self, subject: Subject, resource: Resource) -> None:
        # Raw rows and profiles are the provider's and the data authority's; others get data
        # through grants (the sharing issue), never here.
        if (
            subject.is_system
            or subject.roles & CATALOG_STAFF
            or subject.org_id == resource.provider_id
        ):
            return
        raise Forbidden(
            "Only the provider unit and the data authority see a resource's data.",
            "只有资源提供单位和数据主管部门可以查看资源数据。",
            code="data_access_denied",
        )

    # --- jobs -------------------------------------------------------------------------------
    def create_job(
        self,
        session: Session,
        subject: Subject,
        resource_id: str,
        kind: str,
        params: dict[str, Any],
        schedule_id: str | None = None,
    ) -> IngestJob:
        resource = resource_service.get(session, subject, resource_id)
        _require_editor(subject, resource)
        if resource.status == "retired":
            raise Conflict(
                "A retired resource takes no new data.",
                "已撤销的资源不能再接收数据。",
                code="resource_retired",
            )
        job = IngestJob(
            id=new_id(),
            resource_id=resource.id,
            kind=kind,
            params=params,
            status="queued",
            created_by=subject.user_id,
            schedule_id=schedule_id,
        )
        session.add(job)
        session.flush()
        ledger_service.record(
            session,
            "catalog.ingest_queued",
            subject.actor,
            [job.id, resource.id],
            {"kind": kind, "params": public_params(params)},
        )
        return job

    def job(self, session: Session, subject: Subject, job_id: str) -> IngestJob:
        found = session.get(IngestJob, job_id)
        if found is None:
            raise not_found("Job", "任务", job_id)
        resource = resource_service.get(session, subject, found.resource_id)
        self._require_data_access(subject, resource)
        return found

    def jobs(
        self, session: Session, subject: Subject, resource_id: str, limit: int, offset: int
    ) -> tuple[list[IngestJob], int]:
        resource = resource_service.get(session, subject, resource_id)
        self._require_data_access(subject, resource)
        return repo.jobs_of(session, resource.id, limit, offset)

    def schedules(self, session: Session, subject: Subject, resource_id: str) -> list[PullSchedule]:
        """A resource's scheduled pulls, newest first (provider and data authority only)."""
        resource = resource_service.get(session, subject, resource_id)
        self._require_data_access(subject, resource)
        return repo.schedules_of(session, resource.id)

    def recent_jobs(
        self, session: Session, subject: Subject, limit: int = 10
    ) -> list[tuple[IngestJob, str]]:
        """The newest ingest jobs of the subject's unit (all, for the data authority)."""
        return repo.recent_jobs(session, subject, limit)

    def start_job(self, session: Session, job_id: str) -> IngestJob:
        job = session.get(IngestJob, job_id)
        if job is None:
            raise not_found("Job", "任务", job_id)
        if job.status != "queued":
            raise Conflict(
                f"The job is {job.status}.",
                f"任务{_JOB_ZH.get(job.status, job.status)}，不能再次开始。",
                code="job_not_queued",
            )
        job.status = "running"
        job.started_at = utcnow()
        session.flush()
        return job

    def progress(self, session: Session, job_id: str, rows: int, nbytes: int) -> None:
        job = session.get(IngestJob, job_id)
        if job is not None:
            job.rows_done, job.bytes_done = rows, nbytes

    def fail_job(self, session: Session, job_id: str, error: YaosuError | Exception) -> IngestJob:
        job = session.get(IngestJob, job_id)
        assert job is not None
        job.status = "failed"
        job.finished_at = utcnow()
        if isinstance(error, YaosuError):
            job.error = error.envelope()["error"]
        else:
            job.error = {
                "code": "ingest_failed",
                "message": f"Ingest failed: {error}",
                "message_zh": f"数据接入失败：{error}",
            }
        job.error = _without_secret(job.error, job.params)
        session.flush()
        ledger_service.record(
            session, "catalog.ingest_failed", job_actor(job), [job.id, job.resource_id], job.error
        )
        return job

    def finish_job(self, session: Session, job_id: str, result: Any) -> DatasetVersion:
        """Record a completed ingest as a new version (one transaction). The first version of a
        resource, and any version of a resource never published, becomes current at once. A new
        version of a published resource is *staged*: grants, open data and the portal go on
        serving the current version until the new one is accepted, automatically
        (``accept_automatically``) or by a reviewer (``accept``)."""
        job = session.get(IngestJob, job_id)
        assert job is not None
        # Decisions on one resource's versions queue up behind this lock (its current pointer
        # is read and moved under it).
        repo.lock_resource(session, job.resource_id)
        resource = session.get(Resource, job.resource_id)
        assert resource is not None
        session.refresh(resource)
        staged = resource.published_at is not None and resource.current_version_id is not None
        now = utcnow()
        version = DatasetVersion(
            id=new_id(),
            resource_id=resource.id,
            number=repo.next_version_number(session, resource.id),
            storage_key=result.key,
            sha256=result.sha256,
            rows=result.rows,
            size_bytes=result.size_bytes,
            columns=[_column(c) for c in result.columns],
            profile=_profile(result.profile),
            source={
                "kind": job.kind,
                **public_params(job.params),
                "format": result.source_format,
                "encoding": result.encoding,
            },
            state="staged" if staged else "accepted",
            decision=None if staged else "initial",
            decided_at=None if staged else now,
            review_reasons=[],
            created_by=job.created_by,
        )
        session.add(version)
        if not staged:
            resource.current_version_id = version.id
        resource.updated_at = now
        job.status = "succeeded"
        job.finished_at = now
        job.version_id = version.id
        job.rows_done = result.rows
        session.flush()
        ledger_service.record(
            session,
            "catalog.dataset_version_created",
            job_actor(job),
            [version.id, resource.id, job.id, f"sha256:{result.sha256}"],
            {
                "number": version.number,
                "sha256": result.sha256,
                "rows": result.rows,
                "state": version.state,
            },
        )
        return version

    # --- staging, review and rollback of versions ---------------------------------------------
    def staged(
        self, session: Session, subject: Subject, limit: int = 20, offset: int = 0
    ) -> tuple[list[tuple[DatasetVersion, Resource]], int]:
        """Staged versions waiting for a reviewer: every unit's for the data authority, the
        unit's own for its staff."""
        if subject.is_system or subject.roles & CATALOG_STAFF:
            return repo.staged_versions(session, None, limit, offset)
        if subject.org_id is None:
            return [], 0
        return repo.staged_versions(session, subject.org_id, limit, offset)

    def may_decide(self, subject: Subject) -> bool:
        """Whether the subject accepts or rejects staged versions (the data authority)."""
        return bool(subject.is_system or subject.roles & REVIEWERS)

    def may_roll_back(self, subject: Subject, resource: Resource) -> bool:
        """Whether the subject may point the resource back to another version: the data
        authority's reviewers, or the provider unit's chief data officer 首席数据官."""
        if subject.is_system or subject.roles & REVIEWERS:
            return True
        return "cdo" in subject.roles and subject.org_id == resource.provider_id

    def hold_for_review(
        self,
        session: Session,
        version: DatasetVersion,
        actor: Any,
        reasons: list[dict[str, Any]],
    ) -> None:
        """Keep a staged version waiting for a reviewer, saying why (in the ledger too)."""
        version.review_reasons = reasons
        session.flush()
        ledger_service.record(
            session,
            "catalog.dataset_version_staged",
            actor,
            [version.id, version.resource_id],
            {"number": version.number, "reasons": reasons},
        )

    def accept_automatically(
        self, session: Session, version: DatasetVersion, actor: Any, basis: dict[str, Any]
    ) -> DatasetVersion:
        """Make a staged version current without a reviewer: its schema and classification
        match the current version's and its grade does not rise (``basis`` says so, with the
        version it was compared with). Recorded as "accepted automatically"."""
        resource = self._lock_for_decision(session, version)
        if resource.current_version_id != basis.get("compared_with"):
            # The current version moved since the comparison: a reviewer decides.
            self.hold_for_review(
                session,
                version,
                actor,
                [{"code": "current_changed", **_REASON_WORDS["current_changed"]}],
            )
            return version
        previous = self._make_current(resource, version, "automatic", AUTO_NOTE, None)
        ledger_service.record(
            session,
            "catalog.dataset_version_accepted",
            actor,
            [version.id, resource.id],
            {
                "number": version.number,
                "how": "automatic",
                "note": "accepted automatically",
                "previous": previous,
                "basis": basis,
            },
        )
        return version

    def accept(
        self, session: Session, subject: Subject, version_id: str, reason: str | None = None
    ) -> DatasetVersion:
        """A reviewer accepts a staged version: it becomes the resource's current version."""
        _require_reviewer(subject)
        version = self._staged(session, subject, version_id)
        resource = self._lock_for_decision(session, version)
        if resource.status == "retired":
            raise Conflict(
                "A retired resource takes no new data.",
                "已撤销的资源不能再接收数据。",
                code="resource_retired",
            )
        note = (reason or "").strip() or None
        previous = self._make_current(resource, version, "reviewer", note, subject.user_id)
        ledger_service.record(
            session,
            "catalog.dataset_version_accepted",
            subject.actor,
            [version.id, resource.id],
            {"number": version.number, "how": "reviewer", "previous": previous, "reason": note},
        )
        return version

    def reject(
        self, session: Session, subject: Subject, version_id: str, reason: str
    ) -> DatasetVersion:
        """A reviewer rejects a staged version, with a reason: it is never served."""
        _require_reviewer(subject)
        text = _required_reason(reason)
        version = self._staged(session, subject, version_id)
        self._lock_for_decision(session, version)
        version.state = "rejected"
        version.decision = "rejected"
        version.decision_reason = text
        version.decided_by = subject.user_id
        version.decided_at = utcnow()
        session.flush()
        ledger_service.record(
            session,
            "catalog.dataset_version_rejected",
            subject.actor,
            [version.id, version.resource_id],
            {"number": version.number, "reason": text},
        )
        return version

    def rollback(
        self, session: Session, subject: Subject, resource_id: str, version_id: str, reason: str
    ) -> DatasetVersion:
        """Point the resource back to another accepted version of its own (a reviewer, or the
        provider's chief data officer), with a reason in the ledger; grants, open data and the
        portal then serve that version."""
        resource = resource_service.get_for_review(session, subject, resource_id)
        if not self.may_roll_back(subject, resource):
            raise Forbidden(
                "Only the data authority's reviewers or the provider unit's chief data officer "
                "may roll a resource back to another version.",
                "只有数据主管部门审核员或资源提供单位的首席数据官可以回退数据版本。",
                code="rollback_not_permitted",
            )
        text = _required_reason(reason)
        if resource.status == "retired":
            raise Conflict(
                "A retired resource is not rolled back.",
                "已撤销的资源不能回退版本。",
                code="resource_retired",
            )
        target = session.get(DatasetVersion, version_id) if version_id else None
        if target is None or target.resource_id != resource.id:
            raise Invalid(
                "That is not a version of this resource.",
                "该数据版本不属于此资源。",
                code="version_not_of_resource",
                version_id=version_id,
            )
        if target.id == resource.current_version_id:
            raise Conflict(
                f"Version {target.number} is already the current version.",
                f"版本 {target.number} 已是当前版本。",
                code="already_current",
            )
        if target.state != "accepted":
            raise Conflict(
                f"Version {target.number} was never accepted ({target.state}); a staged version "
                "is accepted by a reviewer, a rejected one is never served.",
                f"版本 {target.number} 未被接受（{_state_zh(target.state)}）："
                "待审核的版本须由审核员接受，被驳回的版本不会提供。",
                code="version_not_accepted",
                state=target.state,
            )
        previous = resource.current_version_id
        resource.current_version_id = target.id
        resource.updated_at = utcnow()
        session.flush()
        ledger_service.record(
            session,
            "catalog.dataset_version_rolled_back",
            subject.actor,
            [resource.id, target.id, *([previous] if previous else [])],
            {"number": target.number, "from": previous, "to": target.id, "reason": text},
        )
        return target

    def _staged(self, session: Session, subject: Subject, version_id: str) -> DatasetVersion:
        version = session.get(DatasetVersion, version_id)
        if version is None:
            raise not_found("Dataset version", "数据版本", version_id)
        resource_service.get(session, subject, version.resource_id)  # readable by the subject
        return version

    def _lock_for_decision(self, session: Session, version: DatasetVersion) -> Resource:
        """Take the resource's and the version's rows, then check the version still waits."""
        repo.lock_resource(session, version.resource_id)
        repo.lock_version(session, version.id)
        session.refresh(version)
        resource = session.get(Resource, version.resource_id)
        assert resource is not None
        session.refresh(resource)
        if version.state != "staged":
            raise Conflict(
                f"Version {version.number} is not waiting for review ({version.state}).",
                f"版本 {version.number} 不在待审核状态（{_state_zh(version.state)}）。",
                code="version_not_staged",
                state=version.state,
            )
        return resource

    def _make_current(
        self,
        resource: Resource,
        version: DatasetVersion,
        how: str,
        reason: str | None,
        by: str | None,
    ) -> str | None:
        previous = resource.current_version_id
        version.state = "accepted"
        version.decision = how
        version.decision_reason = reason
        version.decided_by = by
        version.decided_at = utcnow()
        resource.current_version_id = version.id
        resource.updated_at = utcnow()
        return previous

    def recover(self, session: Session) -> int:
        """After a restart: jobs left running were interrupted; mark them failed (retry is open)
        and remove staging files a killed process left behind (older than an hour, so that a
        second process's ingest in progress is never touched)."""
        self.storage().sweep_staging(3600)
        stale = repo.stale_running_jobs(session)
        for job in stale:
            self.fail_job(
                session,
                job.id,
                Invalid(
                    "The node stopped while this job ran; nothing was kept. Retry it.",
                    "任务运行时节点停止，未保留任何结果，请重试。",
                    code="interrupted",
                ),
            )
        return len(stale)

    def retry(self, session: Session, subject: Subject, job_id: str) -> IngestJob:
        job = self.job(session, subject, job_id)
        repo.lock_job(session, job.id)  # two retries of one job must not both start a job
        session.refresh(job)
        if job.status not in ("failed", "cancelled"):
            raise Conflict(
                "Only a failed job can be retried.", "只能重试失败的任务。", code="job_not_failed"
            )
        if job.kind == "upload" and not Path(job.params.get("path", "")).exists():
            raise Conflict(
                "The uploaded file is gone; upload it again.",
                "上传的文件已不存在，请重新上传。",
                code="upload_gone",
            )
        again = self.create_job(session, subject, job.resource_id, job.kind, job.params)
        job.status = "retried"
        session.flush()
        return again

    # --- uploads ----------------------------------------------------------------------------
    def stage_upload(
        self,
        session: Session,
        subject: Subject,
        resource_id: str,
        filename: str,
        write: Callable[[Path], None],
        options: dict[str, Any],
    ) -> IngestJob:
        """A one-shot upload: the file is staged, then ingested by a job."""
        resource = resource_service.get(session, subject, resource_id)
        _require_editor(subject, resource)
        path = self.upload_dir() / f"{new_id()}-{_safe_name(filename)}"
        write(path)
        return self.create_job(
            session,
            subject,
            resource.id,
            "upload",
            {"path": str(path), "filename": filename, **options},
        )

    def open_upload(
        self, session: Session, subject: Subject, resource_id: str, data: schemas.UploadCreate
    ) -> UploadSession:
        resource = resource_service.get(session, subject, resource_id)
        _require_editor(subject, resource)
        upload = UploadSession(
            id=new_id(),
            resource_id=resource.id,
            filename=data.filename,
            size=data.size,
            status="open",
            created_by=subject.user_id,
            options={
                k: v
                for k, v in (
                    ("format", data.format),
                    ("encoding", data.encoding),
                    ("sheet", data.sheet),
                )
                if v
            },
        )
        session.add(upload)
        session.flush()
        self._chunk_path(upload).touch()
        ledger_service.record(
            session,
            "catalog.upload_opened",
            subject.actor,
            [upload.id, resource.id],
            {"filename": data.filename, "size": data.size},
        )
        return upload

    def _chunk_path(self, upload: UploadSession) -> Path:
        return self.upload_dir() / f"chunked-{upload.id}"

    def upload(self, session: Session, subject: Subject, upload_id: str) -> UploadSession:
        found = repo.upload(session, upload_id)
        if found is None:
            raise not_found("Upload", "上传", upload_id)
        resource = resource_service.get(session, subject, found.resource_id)
        _require_editor(subject, resource)
        return found

    def append_chunk(
        self, session: Session, subject: Subject, upload_id: str, offset: int, chunk: bytes
    ) -> UploadSession:
        """Append bytes at ``offset``; a client that lost track asks GET and resumes there."""
        upload = self.upload(session, subject, upload_id)
        if upload.status != "open":
            raise Conflict(
                f"The upload is {upload.status}.",
                f"该上传已{_UPLOAD_ZH.get(upload.status, upload.status)}。",
                code="upload_closed",
            )
        if offset != upload.received:
            raise Conflict(
                f"Expected a chunk at offset {upload.received}, got {offset}.",
                f"应从偏移 {upload.received} 继续上传，收到的是 {offset}。",
                code="wrong_offset",
                expected=upload.received,
            )
        if upload.received + len(chunk) > upload.size:
            raise Invalid(
                "The chunk goes past the declared size.",
                "分片超出声明的文件大小。",
                code="upload_too_large",
                size=upload.size,
            )
        path = self._chunk_path(upload)
        with path.open("r+b") as fh:
            fh.truncate(upload.received)  # a half-written earlier attempt is discarded
            fh.seek(upload.received)
            fh.write(chunk)
        upload.received += len(chunk)
        session.flush()
        return upload

    def complete_upload(self, session: Session, subject: Subject, upload_id: str) -> IngestJob:
        upload = self.upload(session, subject, upload_id)
        if upload.status != "open":
            raise Conflict(
                f"The upload is {upload.status}.",
                f"该上传已{_UPLOAD_ZH.get(upload.status, upload.status)}。",
                code="upload_closed",
            )
        if upload.received != upload.size:
            raise Conflict(
                f"Only {upload.received} of {upload.size} bytes have arrived.",
                f"仅收到 {upload.received}/{upload.size} 字节。",
                code="upload_incomplete",
                received=upload.received,
            )
        final = self.upload_dir() / f"{upload.id}-{_safe_name(upload.filename)}"
        shutil.move(self._chunk_path(upload), final)
        job = self.create_job(
            session,
            subject,
            upload.resource_id,
            "upload",
            {"path": str(final), "filename": upload.filename, **upload.options},
        )
        upload.status = "complete"
        upload.job_id = job.id
        session.flush()
        return job

    # --- pulls and schedules ------------------------------------------------------------------
    def request_pull(
        self, session: Session, subject: Subject, resource_id: str, data: schemas.PullCreate
    ) -> IngestJob | PullSchedule:
        if data.kind not in ("sql", "http"):
            raise Invalid(
                "A pull is 'sql' or 'http'.", "拉取方式应为 sql 或 http。", code="invalid_pull_kind"
            )
        if data.kind == "sql" and not (bool(data.table) ^ bool(data.query)):
            raise Invalid(
                "A SQL pull names a table or a query (one of them).",
                "数据库拉取需指定表名或查询语句（二选一）。",
                code="table_or_query",
            )
        if data.kind == "sql":
            _check_pull_database(session, data.url)
        else:
            _check_pull_http(data.url)
        params = data.model_dump(exclude={"kind", "cron"}, exclude_none=True)
        if data.cron is None:
            return self.create_job(session, subject, resource_id, data.kind, params)
        resource = resource_service.get(session, subject, resource_id)
        _require_editor(subject, resource)
        schedule = PullSchedule(
            id=new_id(),
            resource_id=resource.id,
            kind=data.kind,
            params=params,
            cron=data.cron,
            next_run_at=next_run(data.cron, utcnow()),
            created_by=subject.user_id,
        )
        session.add(schedule)
        session.flush()
        ledger_service.record(
            session,
            "catalog.pull_scheduled",
            subject.actor,
            [schedule.id, resource.id],
            {"cron": data.cron, **public_params(params)},
        )
        return schedule

    def due_pulls(self, session: Session, now: datetime) -> list[IngestJob]:
        """Queue a job for every schedule that is due, and move it to its next time."""
        jobs = []
        for schedule in repo.due_schedules(session, now):
            creator = Subject.system(via="schedule")
            job = self.create_job(
                session,
                creator,
                schedule.resource_id,
                schedule.kind,
                schedule.params,
                schedule_id=schedule.id,
            )
            schedule.last_job_id = job.id
            schedule.next_run_at = next_run(schedule.cron, now)
            jobs.append(job)
        session.flush()
        return jobs


def _check_pull_database(session: Session, url: str) -> None:
    """A pull reads another system's database, never this node's own store, and only through
    an address the node's policy allows (see ``catalog.pullguard``; checked again at run
    time)."""
    from yaosu.catalog import pullguard

    pullguard.check(url, pullguard.OwnStores.of(session))


def _check_pull_http(url: str) -> None:
    """An HTTP pull names an http(s) address with a host whose addresses the node's policy
    allows (``kit.netguard``); a name that does not resolve now is checked when it runs."""
    from yaosu.kit import netguard

    netguard.check_url(url, netguard.node_policy(), code="pull_forbidden", unresolved_ok=True)


def next_run(cron: str, after: datetime) -> datetime:
    from croniter import CroniterBadCronError, croniter

    try:
        # Schedules read the node's wall clock: "0 3 * * *" is 03:00 local time.
        return croniter(cron, local(after)).get_next(datetime).astimezone(UTC)
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        detail = str(exc).rstrip(".")
        raise Invalid(
            f"Invalid cron expression {cron!r}: {detail}.",
            f"无效的 cron 表达式“{cron}”：应为 5 段（分 时 日 月 周），如 0 3 * * * 表示每天 3 点"
            f"（本地时间）。（{detail}）",
            code="invalid_cron",
        ) from exc


def public_params(params: dict[str, Any]) -> dict[str, Any]:
    """Params as recorded and shown: database passwords never leave the job row."""
    out = dict(params)
    url = out.get("url")
    if isinstance(url, str) and "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        out["url"] = f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    out.pop("path", None)
    return out


def _without_secret(error: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A failure as recorded (job row and ledger): the source's password, if a driver or the
    downloader quoted the address, is masked."""
    url = params.get("url")
    try:
        secret = urlsplit(url).password if isinstance(url, str) and "://" in url else None
    except ValueError:
        secret = None
    if not secret:
        return error
    return {k: v.replace(secret, "***") if isinstance(v, str) else v for k, v in error.items()}


def job_actor(job: IngestJob) -> Any:
    from yaosu.ledger.events import Actor

    return Actor(user=job.created_by, org=None, via="job")


def _column(c: Any) -> dict[str, Any]:
    return {"name": c.name, "type": c.type, "nullable": c.nullable, "reason": c.reason}


def _profile(p: Any) -> dict[str, Any]:
    return p.to_dict()


def _safe_name(filename: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in Path(filename).name)
    return keep[-120:] or "upload"


CATALOG_STAFF = repo.CATALOG_STAFF


class DemandService:
    """Supply-demand lists 供需清单 (CAT-5): units post demands, providers answer."""

    def post(self, session: Session, subject: Subject, data: schemas.DemandCreate) -> Demand:
        if subject.org_id is None:
            raise Forbidden(
                "A demand is posted by a unit.", "需求须由单位提出。", code="unit_required"
            )
        if data.provider_id:
            org_service.get(session, subject, data.provider_id)
        demand = Demand(
            id=new_id(),
            requester_id=subject.org_id,
            title=data.title,
            description=data.description,
            scenario=data.scenario,
            wanted_fields=data.wanted_fields,
            provider_id=data.provider_id,
            status="open",
            created_by=subject.user_id,
        )
        session.add(demand)
        session.flush()
        ledger_service.record(
            session,
            "catalog.demand_posted",
            subject.actor,
            [demand.id, subject.org_id],
            data.model_dump(mode="json"),
        )
        return demand

    def get(self, session: Session, subject: Subject, demand_id: str) -> Demand:
        found = session.execute(
            repo.readable_demands(subject).where(Demand.id == demand_id)
        ).scalar_one_or_none()
        if found is None:
            raise not_found("Demand", "数据需求", demand_id)
        return found

    def list(
        self, session: Session, subject: Subject, status: str | None, limit: int, offset: int
    ) -> tuple[list[Demand], int]:
        return repo.list_demands(session, subject, status, limit, offset)

    def answer(
        self, session: Session, subject: Subject, demand_id: str, data: schemas.DemandAnswerCreate
    ) -> Demand:
        demand = self.get(session, subject, demand_id)
        repo.lock_demand(session, demand.id)  # a concurrent close or answer waits
        session.refresh(demand)
        if demand.status == "closed":
            raise Conflict("The demand is closed.", "该需求已关闭。", code="demand_closed")
        if demand.provider_id and demand.provider_id != subject.org_id and not subject.is_system:
            raise Forbidden(
                "This demand was addressed to another unit.",
                "该需求指定由其他单位响应。",
                code="not_addressee",
            )
        if bool(data.resource_id) == bool(data.reason):
            raise Invalid(
                "Answer with a resource to link, or a reason to decline (one of them).",
                "请关联一个资源，或说明不能满足的理由（二选一）。",
                code="link_or_decline",
            )
        if data.resource_id:
            resource = resource_service.get(session, subject, data.resource_id)
            if resource.provider_id != subject.org_id and not subject.is_system:
                raise Forbidden(
                    "Link your own unit's resources.", "只能关联本单位的资源。", code="not_provider"
                )
            if resource.status != "published":
                raise Conflict(
                    "Only a published resource can answer a demand.",
                    "只能关联已发布的资源。",
                    code="resource_not_published",
                )
        answer = DemandAnswer(
            id=new_id(),
            demand_id=demand.id,
            provider_id=subject.org_id or "",
            decision="linked" if data.resource_id else "declined",
            resource_id=data.resource_id,
            reason=data.reason,
            created_by=subject.user_id,
        )
        session.add(answer)
        demand.status = "answered"
        demand.updated_at = utcnow()
        session.flush()
        session.refresh(demand)
        ledger_service.record(
            session,
            "catalog.demand_answered",
            subject.actor,
            [demand.id, answer.id],
            data.model_dump(mode="json"),
        )
        return demand

    def close(self, session: Session, subject: Subject, demand_id: str) -> Demand:
        demand = self.get(session, subject, demand_id)
        repo.lock_demand(session, demand.id)  # a concurrent close or answer waits
        session.refresh(demand)
        if demand.requester_id != subject.org_id and not subject.roles & REVIEWERS:
            raise Forbidden(
                "Only the requesting unit or the data authority closes a demand.",
                "只有需求提出单位或数据主管部门可以关闭需求。",
                code="not_requester",
            )
        if "closed" not in rules.DEMAND_TRANSITIONS[demand.status]:
            raise Conflict("The demand is already closed.", "该需求已关闭。", code="demand_closed")
        demand.status = "closed"
        demand.updated_at = utcnow()
        session.flush()
        ledger_service.record(session, "catalog.demand_closed", subject.actor, [demand.id], {})
        return demand


resource_service = ResourceService()
dataset_service = DatasetService()
demand_service = DemandService()
