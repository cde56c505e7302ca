"""Classification services: classify every new dataset version, propose its grade from the rule
table and the important-data catalog, let the provider's data officer review each field and the
grade, keep the important-data catalog, and export de-identified copies under masking policies.
Every state change appends its ledger entry."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from yaosu.catalog.service import dataset_service, resource_service
from yaosu.classification import grading, masking, rules, schemas
from yaosu.classification import repository as repo
from yaosu.classification.columns import TYPES, ColumnFinding, classify_parquet
from yaosu.config import get_node_key, get_settings
from yaosu.identity.subject import Subject
from yaosu.kit.canonical import digest
from yaosu.kit.crypto import derive
from yaosu.kit.errors import Conflict, Forbidden, Invalid, not_found
from yaosu.kit.ids import new_id
from yaosu.kit.timeutil import utcnow
from yaosu.ledger.events import Actor
from yaosu.ledger.service import ledger_service
from yaosu.models.catalog import DatasetVersion, Resource
from yaosu.models.classification import (
    FieldClassification,
    ImportantDataEntry,
    MaskingPolicyRecord,
    VersionClassification,
)

log = logging.getLogger("yaosu.classification")

AUTHORITY = frozenset({"reviewer", "platform_admin"})
CATALOG_READERS = frozenset({"reviewer", "platform_admin", "auditor", "data_officer", "cdo"})


def _authority(subject: Subject) -> None:
    if not (subject.is_system or subject.roles & AUTHORITY):
        raise Forbidden(
            "Only the data authority keeps the important-data catalog.",
            "只有数据主管部门可以维护重要数据目录。",
            code="authority_required",
        )


class ClassificationService:
    """Findings and grades of dataset versions (SEC-1, SEC-2)."""

    def __init__(self) -> None:
        self._table: tuple[tuple[str, float], grading.RuleTable] | None = None

    # --- the rule table ---------------------------------------------------------------------
    def rule_file(self) -> Path | None:
        s = get_settings()
        if s.grading_rules is not None:
            return Path(s.grading_rules)
        candidate = Path(s.data_dir) / "grading.yaml"
        return candidate if candidate.exists() else None

    def table(self) -> grading.RuleTable:
        """The node's rule table, re-read when its file changes."""
        path = self.rule_file()
        stamp = (str(path), path.stat().st_mtime if path and path.exists() else 0.0)
        if self._table is None or self._table[0] != stamp:
            self._table = (stamp, grading.load(TYPES, path))
        return self._table[1]

    def vocabulary(self) -> schemas.Vocabulary:
        table = self.table()
        return schemas.Vocabulary(
            types=[
                schemas.TypeInfo(
                    code=t.code,
                    label_zh=t.label_zh,
                    label_en=t.label_en,
                    description=t.description,
                    pi_class=table.types[t.code]["pi_class"],
                )
                for t in TYPES.values()
            ],
            grades=[
                schemas.GradeInfo(code=g, label_zh=zh, label_en=en, sharing=rules.sharing_flow(g))
                for g, (zh, en) in rules.GRADES.items()
            ],
            rules_name=table.name,
            rules_source=table.source,
            rules_digest=table.digest,
            rules=[
                {
                    "id": r.id,
                    "grade": r.grade,
                    "when": r.when,
                    "reason": r.reason_en,
                    "reason_zh": r.reason_zh,
                }
                for r in table.rules
            ],
        )

    # --- classify ---------------------------------------------------------------------------
    def compute(self, storage: Any, key: str) -> list[ColumnFinding] | None:
        """Run the detectors over a stored version (no database work: call it outside the
        transaction). None when the file could not be read; the version stays unclassified."""
        try:
            with storage.open(key) as fh:
                return classify_parquet(fh)
        except Exception:  # a classifier fault must not lose the ingested version
            log.exception("classification of %s failed", key)
            return None

    def record(
        self,
        session: Session,
        version: DatasetVersion,
        findings: Sequence[ColumnFinding] | None,
        actor: Actor,
    ) -> VersionClassification | None:
        """Store the findings of a version, propose its grade and, for the current version, make
        it the resource's grade."""
        resource = session.get(Resource, version.resource_id)
        assert resource is not None
        problem = "the classifier could not read the version"
        table = None
        if findings is not None:
            try:
                table = self.table()
            except Invalid as exc:  # a broken node rule table must not lose the version
                problem = exc.message
        if findings is None or table is None:
            ledger_service.record(
                session,
                "classification.version_unclassified",
                actor,
                [version.id, resource.id],
                {"reason": problem},
            )
            return None
        existing = repo.of_version(session, version.id)
        if existing is not None:
            for old in list(existing.fields):
                session.delete(old)
            session.delete(existing)
            session.flush()
        vc = VersionClassification(
            id=new_id(),
            version_id=version.id,
            resource_id=resource.id,
            rows=version.rows,
            proposed_grade="general_1",
            proposal={},
            grade="general_1",
            status="proposed",
            catalog_entries=[],
            rules_digest=table.digest,
        )
        session.add(vc)
        for i, f in enumerate(findings):
            pi = table.pi_class(f.type, f.contains)
            session.add(
                FieldClassification(
                    id=new_id(),
                    classification_id=vc.id,
                    position=i,
                    column=f.column,
                    detected_type=f.type,
                    confidence=round(float(f.confidence), 4),
                    non_null=f.non_null,
                    valid=f.valid,
                    contains=list(f.contains),
                    hint=f.hint,
                    reason=f.reason,
                    reason_zh=f.reason_zh,
                    detected_pi_class=pi,
                    type=f.type,
                    pi_class=pi,
                    status="proposed",
                )
            )
        session.flush()
        session.refresh(vc)
        self._propose(session, vc, resource, table)
        ledger_service.record(
            session,
            "classification.version_classified",
            actor,
            [version.id, resource.id],
            {
                "grade": vc.proposed_grade,
                "rule": vc.proposal.get("rule_id"),
                "rules_digest": table.digest,
                "catalog_entries": vc.catalog_entries,
                "fields": [
                    {"column": f.column, "type": f.type, "confidence": f.confidence}
                    for f in vc.fields
                ],
            },
        )
        self._apply_grade(session, actor, vc, resource)
        return vc

    def _propose(
        self,
        session: Session,
        vc: VersionClassification,
        resource: Resource,
        table: grading.RuleTable,
    ) -> bool:
        """(Re)compute the proposal from the fields' effective types; True if it changed."""
        matched = important_data_service.matching(session, resource)
        facts = grading.facts_for(
            table,
            [
                (f.type, f.contains if f.type == f.detected_type else [], f.pi_class)
                for f in vc.fields
            ],
            vc.rows,
            [resource.base_library or "", resource.theme or ""],
            {e.kind for e in matched},
        )
        proposal = grading.propose(table, facts)
        changed = proposal.grade != vc.proposed_grade or not vc.proposal
        vc.proposal = proposal.as_dict()
        vc.proposed_grade = proposal.grade
        vc.catalog_entries = [e.id for e in matched]
        vc.rules_digest = table.digest
        if vc.status == "proposed" or changed:
            # A changed proposal needs a fresh review; the earlier one stays in the ledger.
            vc.grade = proposal.grade
            vc.status = "proposed"
            vc.grade_reason = None
        vc.updated_at = utcnow()
        session.flush()
        return changed

    def _apply_grade(
        self, session: Session, actor: Actor, vc: VersionClassification, resource: Resource
    ) -> None:
        if resource.current_version_id == vc.version_id:
            resource_service.set_grade(session, actor, resource, vc.grade, vc.version_id)

    def classify(
        self, session: Session, subject: Subject, version_id: str
    ) -> VersionClassification:
        """Run the detectors again (e.g. after the rule table or the catalog changed). Earlier
        reviews are dropped from the tables; the ledger keeps them."""
        version = dataset_service.version(session, subject, version_id)
        resource = resource_service.get(session, subject, version.resource_id)
        resource_service.require_editor(subject, resource)
        self.table()  # a broken rule table is the caller's error here, not a silent skip
        findings = self.compute(dataset_service.storage(), version.storage_key)
        if findings is None:
            raise Invalid(
                "The version could not be read for classification.",
                "无法读取该数据版本进行分类。",
                code="classification_failed",
            )
        vc = self.record(session, version, findings, subject.actor)
        assert vc is not None
        return vc

    def default_masking(
        self, session: Session, resource: Resource, fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Masking for the sensitive fields among ``fields`` of the resource's current version
        (each with its type's default operator): what an automatic grant applies."""
        if not resource.current_version_id:
            return {}
        vc = repo.of_version(session, resource.current_version_id)
        version = session.get(DatasetVersion, resource.current_version_id)
        if vc is None or version is None:
            return {}
        wanted = set(fields)
        sensitive = [f for f in vc.fields if f.pi_class == "sensitive" and f.column in wanted]
        rules_ = default_rules(vc, version.columns)["rules"]
        return {f.column: rules_[f.column] for f in sensitive if f.column in rules_}

    def key_column(self, session: Session, version_id: str, among: Sequence[str]) -> str | None:
        """The natural key of a version among some fields: a resident-ID, else a credit-code
        field, as classified."""
        vc = repo.of_version(session, version_id)
        wanted = set(among)
        for kind in ("resident_id", "uscc"):
            for f in vc.fields if vc else []:
                if f.type == kind and f.column in wanted:
                    return f.column
        return None

    def awaiting_review(
        self, session: Session, subject: Subject, limit: int = 20, offset: int = 0
    ) -> tuple[list[tuple[VersionClassification, Resource]], int]:
        """Proposals waiting for a data officer's review: the unit's, or all for the authority."""
        staff = subject.is_system or bool(subject.roles & {"reviewer", "platform_admin", "auditor"})
        return repo.awaiting_review(session, None if staff else subject.org_id, limit, offset)

    # --- read -------------------------------------------------------------------------------
    def get(self, session: Session, subject: Subject, version_id: str) -> VersionClassification:
        version = dataset_service.version(session, subject, version_id)
        vc = repo.of_version(session, version.id)
        if vc is None:
            raise not_found("Classification of version", "数据版本的分类结果", version_id)
        return vc

    # --- review -----------------------------------------------------------------------------
    def _for_review(
        self, session: Session, subject: Subject, version_id: str, authority_ok: bool = False
    ) -> tuple[VersionClassification, Resource]:
        vc = self.get(session, subject, version_id)
        resource = resource_service.get(session, subject, vc.resource_id)
        if not (authority_ok and subject.roles & AUTHORITY):
            resource_service.require_editor(subject, resource)
        return vc, resource

    def review_field(
        self, session: Session, subject: Subject, version_id: str, data: schemas.FieldReview
    ) -> VersionClassification:
        """Accept or correct one column's type and personal-information class. A correction
        needs a reason; the dataset's proposal is recomputed from the corrected fields."""
        vc, resource = self._for_review(session, subject, version_id)
        table = self.table()
        field = next((f for f in vc.fields if f.column == data.column), None)
        if field is None:
            raise not_found("Column", "字段", data.column)
        new_type = field.type
        if data.type is not None:
            new_type = None if data.type == "none" else data.type
            if new_type is not None and new_type not in TYPES:
                raise Invalid(
                    f"Unknown type {data.type!r}.",
                    f"未知的字段类型 {data.type!r}。",
                    code="unknown_type",
                    allowed=[*TYPES, "none"],
                )
        if data.pi_class is not None:
            new_pi = rules.check_pi_class(data.pi_class)
        elif new_type != field.type:
            contains = field.contains if new_type == field.detected_type else []
            new_pi = table.pi_class(new_type, contains)
        else:
            new_pi = field.pi_class
        changed = new_type != field.detected_type or new_pi != field.detected_pi_class
        reason = rules.require_reason(data.reason, changed=changed)
        before = {"type": field.type, "pi_class": field.pi_class, "status": field.status}
        field.type, field.pi_class = new_type, new_pi
        field.status = "changed" if changed else "accepted"
        field.review_reason = reason
        field.reviewed_by = subject.user_id
        field.reviewed_at = utcnow()
        session.flush()
        ledger_service.record(
            session,
            "classification.field_reviewed",
            subject.actor,
            [vc.version_id, vc.resource_id],
            {
                "column": field.column,
                "detected": {"type": field.detected_type, "pi_class": field.detected_pi_class},
                "before": before,
                "after": {"type": new_type, "pi_class": new_pi, "status": field.status},
                "reason": reason,
            },
        )
        if self._propose(session, vc, resource, table):
            self._apply_grade(session, subject.actor, vc, resource)
        return vc

    def review_grade(
        self, session: Session, subject: Subject, version_id: str, data: schemas.GradeReview
    ) -> VersionClassification:
        """Accept the proposed grade or set another one (with a reason, in the ledger)."""
        vc, resource = self._for_review(session, subject, version_id, authority_ok=True)
        grade = rules.check_grade(data.grade)
        changed = grade != vc.proposed_grade
        reason = rules.require_reason(data.reason, changed=changed)
        lowered = changed and rules.higher(grade, vc.proposed_grade) == vc.proposed_grade
        # Listing in the important-data catalog is the authority's call, not the provider's.
        listed = vc.proposed_grade in rules.IMPORTANT_KINDS and bool(vc.catalog_entries)
        if lowered and listed and not (subject.roles & AUTHORITY or subject.is_system):
            raise Forbidden(
                "The resource is in the important-data catalog; only the data authority "
                "may grade it lower.",
                "该资源已列入重要数据目录，只有数据主管部门可以调低其级别。",
                code="catalog_listed",
            )
        previous = vc.grade
        vc.grade = grade
        vc.status = rules.review_state(vc.proposed_grade, grade)
        vc.grade_reason = reason
        vc.reviewed_by = subject.user_id
        vc.reviewed_at = utcnow()
        vc.updated_at = utcnow()
        session.flush()
        ledger_service.record(
            session,
            "classification.grade_reviewed",
            subject.actor,
            [vc.version_id, vc.resource_id],
            {"proposed": vc.proposed_grade, "before": previous, "grade": grade, "reason": reason},
        )
        self._apply_grade(session, subject.actor, vc, resource)
        return vc


class ImportantDataService:
    """The important-data catalog 重要数据目录: entries per sector and region, kept by the data
    authority; a matching resource is proposed as important (or core) data."""

    def listing(
        self,
        session: Session,
        subject: Subject,
        status: str | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[ImportantDataEntry], int]:
        if not (subject.is_system or subject.roles & CATALOG_READERS):
            raise Forbidden(
                "The important-data catalog is for data officers and the data authority.",
                "重要数据目录仅供数据专管员和数据主管部门查看。",
                code="catalog_readers_only",
            )
        return repo.entries(session, status=status, limit=limit, offset=offset)

    def get(self, session: Session, subject: Subject, entry_id: str) -> ImportantDataEntry:
        self.listing(session, subject, None, 1, 0)  # same readers
        entry = session.get(ImportantDataEntry, entry_id)
        if entry is None:
            raise not_found("Important-data catalog entry", "重要数据目录条目", entry_id)
        return entry

    def create(
        self, session: Session, subject: Subject, data: schemas.ImportantEntryCreate
    ) -> ImportantDataEntry:
        _authority(subject)
        _check_matchers(data.code_prefixes, data.resource_codes, data.keywords)
        entry = ImportantDataEntry(
            id=new_id(),
            status="active",
            created_by=subject.user_id,
            **data.model_dump(),
        )
        session.add(entry)
        session.flush()
        ledger_service.record(
            session,
            "classification.important_entry_added",
            subject.actor,
            [entry.id],
            data.model_dump(mode="json"),
        )
        return entry

    def update(
        self,
        session: Session,
        subject: Subject,
        entry_id: str,
        data: schemas.ImportantEntryUpdate,
    ) -> ImportantDataEntry:
        _authority(subject)
        entry = self.get(session, subject, entry_id)
        rules.check_entry_status(entry.status, "edited")
        changes = data.model_dump(exclude_unset=True)
        for key, value in changes.items():
            if value is None and key in ("sector", "name", "kind"):
                continue
            setattr(entry, key, value if value is not None else _empty(key))
        _check_matchers(entry.code_prefixes, entry.resource_codes, entry.keywords)
        entry.updated_at = utcnow()
        session.flush()
        ledger_service.record(
            session,
            "classification.important_entry_updated",
            subject.actor,
            [entry.id],
            {k: v for k, v in data.model_dump(mode="json", exclude_unset=True).items()},
        )
        return entry

    def retire(
        self, session: Session, subject: Subject, entry_id: str, reason: str
    ) -> ImportantDataEntry:
        _authority(subject)
        entry = self.get(session, subject, entry_id)
        rules.check_entry_status(entry.status, "retired")
        entry.status = "retired"
        entry.updated_at = utcnow()
        session.flush()
        ledger_service.record(
            session,
            "classification.important_entry_retired",
            subject.actor,
            [entry.id],
            {"reason": reason},
        )
        return entry

    def matching(self, session: Session, resource: Resource) -> list[ImportantDataEntry]:
        out = []
        for e in repo.active_entries(session):
            if (
                any(resource.classification_code.startswith(p) for p in e.code_prefixes)
                or resource.code in e.resource_codes
                or any(k and k in resource.name for k in e.keywords)
            ):
                out.append(e)
        return out


def _empty(key: str) -> Any:
    return [] if key in ("code_prefixes", "resource_codes", "keywords") else None


def _check_matchers(prefixes: list[str], codes: list[str], keywords: list[str]) -> None:
    if not any(prefixes) and not any(codes) and not any(keywords):
        raise Invalid(
            "An entry needs at least one code prefix, resource code or keyword to match by.",
            "目录条目至少需要一个分类代码前缀、资源代码或关键词用于匹配。",
            code="entry_matches_nothing",
        )


@dataclass(frozen=True)
class ExportFile:
    path: Path
    filename: str
    media_type: str
    rows: int
    sha256: str


MEDIA = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv", "json": "application/json"}


class MaskingService:
    """Named masking policies 脱敏策略 and de-identified exports of versions (SEC-3)."""

    def key(self) -> bytes:
        """The node's pseudonymization secret: the same input gets the same pseudonym in every
        dataset of this node, so masked tables still join."""
        return derive(get_node_key(), "pseudonym-v1")

    def policies(self, session: Session, subject: Subject) -> Sequence[MaskingPolicyRecord]:
        return repo.policies(session, None if subject.is_system else subject.org_id)

    def create(
        self, session: Session, subject: Subject, data: schemas.MaskingPolicyCreate
    ) -> MaskingPolicyRecord:
        if subject.org_id is None:
            raise Invalid(
                "A policy belongs to an organization; sign in as its user.",
                "脱敏策略属于某个单位，请以该单位用户身份登录。",
                code="org_required",
            )
        if data.name == "default":
            raise Conflict(
                "The name 'default' is reserved for the policy derived from classification.",
                "名称 default 保留给按分类结果自动生成的策略。",
                code="policy_name_reserved",
            )
        if repo.policy_by_name(session, subject.org_id, data.name) is not None:
            raise Conflict(
                f"A policy named {data.name!r} already exists.",
                f"已存在名为 {data.name!r} 的脱敏策略。",
                code="policy_exists",
            )
        masking.require_rules(masking.parse_policy({"name": data.name, "rules": data.rules}))
        record = MaskingPolicyRecord(
            id=new_id(),
            org_id=subject.org_id,
            name=data.name,
            description=data.description,
            rules=data.rules,
            created_by=subject.user_id,
        )
        session.add(record)
        session.flush()
        ledger_service.record(
            session,
            "classification.masking_policy_created",
            subject.actor,
            [record.id, subject.org_id],
            {"name": data.name, "rules": data.rules},
        )
        return record

    def resolve(
        self,
        session: Session,
        subject: Subject,
        version: DatasetVersion,
        name: str | None,
        inline: dict[str, Any] | None,
    ) -> Any:
        """The policy to apply: inline rules, a saved policy by name or id, or ``default``."""
        if inline is not None:
            return masking.parse_policy({"name": "inline", "rules": inline})
        if not name or name == "default":
            vc = repo.of_version(session, version.id)
            if vc is None:
                raise Invalid(
                    "The version has no classification; name a policy or send rules.",
                    "该版本尚无分类结果，请指定脱敏策略或提供脱敏规则。",
                    code="classification_missing",
                )
            return masking.parse_policy(default_rules(vc, version.columns))
        record = session.get(MaskingPolicyRecord, name)
        if record is None and subject.org_id is not None:
            record = repo.policy_by_name(session, subject.org_id, name)
        if record is None and subject.is_system:
            found = [p for p in repo.policies(session, None) if p.name == name]
            record = found[0] if len(found) == 1 else None
        if record is None or not (subject.is_system or record.org_id == subject.org_id):
            raise not_found("Masking policy", "脱敏策略", name)
        return masking.parse_policy({"name": record.name, "rules": record.rules})

    def require_exportable(self, session: Session, version: DatasetVersion) -> None:
        """Important and core data never leave as rows, masked or not (SEC-4: usable but
        invisible); an unclassified version counts as general until reviewed."""
        vc = repo.of_version(session, version.id)
        grade = vc.grade if vc is not None else None
        if rules.sharing_flow(grade) == "policy":
            return
        assert grade is not None
        en, zh = rules.GRADES[grade][1], rules.GRADES[grade][0]
        raise Forbidden(
            f"This version is graded {en.lower()}: important and core data do not leave the "
            "platform as rows, not even masked.",
            f"该版本定级为{zh}：重要数据和核心数据不得以数据行形式导出，脱敏后亦然。",
            code="important_data_not_exported",
            grade=grade,
        )

    def export(
        self,
        session: Session,
        subject: Subject,
        version_id: str,
        policy_name: str | None,
        inline: dict[str, Any] | None,
        fmt: str,
        dest: Path | None = None,
    ) -> ExportFile:
        """Write a de-identified copy of a version; the policy is checked against the version's
        columns before anything is written. Recorded in the ledger with the output's SHA-256."""
        version = dataset_service.version(session, subject, version_id)
        self.require_exportable(session, version)
        policy = self.resolve(session, subject, version, policy_name, inline)
        derived = inline is None and (not policy_name or policy_name == "default")
        masking.check_policy(policy, version.columns, allow_empty=derived)
        storage = dataset_service.storage()
        if dest is None:
            folder = Path(get_settings().data_dir) / "exports"
            folder.mkdir(parents=True, exist_ok=True)
            dest = folder / f"{new_id()}.{fmt}"
        result = masking.export_masked(
            storage.path(version.storage_key),
            str(dest),
            policy,
            version.columns,
            self.key(),
            fmt=fmt,  # type: ignore[arg-type]
            allow_empty=derived,
        )
        resource = session.get(Resource, version.resource_id)
        assert resource is not None
        ledger_service.record(
            session,
            "classification.masked_export",
            subject.actor,
            [version.id, version.resource_id],
            {
                "policy": policy.name,
                "policy_digest": digest(policy.model_dump(mode="json")),
                "format": fmt,
                "rows": result.rows,
                "sha256": result.sha256,
            },
        )
        filename = f"{resource.code.replace('/', '_')}-v{version.number}-masked.{fmt}"
        return ExportFile(dest, filename, MEDIA[fmt], result.rows, result.sha256)

    def k_anonymity(
        self, session: Session, subject: Subject, version_id: str, data: schemas.KAnonymityRequest
    ) -> masking.KAnonymityReport:
        version = dataset_service.version(session, subject, version_id)
        plan = None
        if data.plan:
            plan = masking.parse_policy({"name": "plan", "rules": data.plan})
            masking.check_policy(plan, version.columns)
        path = dataset_service.storage().path(version.storage_key)
        return masking.k_anonymity(path, data.quasi_identifiers, data.k, plan)


# Format-aware default operators per detected type, for the "default" policy.
DEFAULT_OPS: dict[str, dict[str, Any]] = {
    "resident_id": {"op": "mask", "format": "resident_id"},
    "mobile": {"op": "mask", "format": "mobile"},
    "landline": {"op": "mask", "format": "landline"},
    "bank_card": {"op": "mask", "format": "bank_card"},
    "email": {"op": "mask", "format": "email"},
    "passport": {"op": "mask", "format": "passport"},
    "hk_macau_permit": {"op": "mask", "keep_first": 1, "keep_last": 2},
    "taiwan_permit": {"op": "mask", "keep_first": 1, "keep_last": 2},
    "licence_plate": {"op": "mask", "format": "licence_plate"},
    "person_name": {"op": "mask", "format": "person_name"},
    "address": {"op": "mask", "format": "address"},
    "ipv4": {"op": "pseudonymize"},
    "ipv6": {"op": "pseudonymize"},
    "birth_date": {"op": "generalize", "kind": "birth_year"},
    "gps": {"op": "suppress"},
    "free_text": {"op": "suppress"},
}


def default_rules(vc: VersionClassification, columns: list[dict[str, Any]]) -> dict[str, Any]:
    """The policy derived from a classification: every personal field gets its type's
    format-aware operator, or is suppressed where that operator does not fit its stored type."""
    out: dict[str, Any] = {}
    for f in vc.fields:
        if f.pi_class == "none":
            continue
        op = dict(DEFAULT_OPS.get(f.type or "", {"op": "suppress"}))
        try:
            masking.check_policy(
                masking.parse_policy({"name": "probe", "rules": {f.column: op}}), columns
            )
        except Invalid:
            op = {"op": "suppress"}
        out[f.column] = op
    return {"name": "default", "rules": out}


classification_service = ClassificationService()
important_data_service = ImportantDataService()
masking_service = MaskingService()
