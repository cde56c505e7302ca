"""Classification services: classify every new dataset version, propose its grade from the rule
table and the important-data catalog, let the provider's data officer review each field and the
grade, keep the important-data catalog, and export de-identified copies under masking policies.
Every state change appends its ledger entry."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from yaosu.catalog.rules import DESCRIBES
from yaosu.catalog.service import dataset_service, resource_service
from yaosu.classification import describes, grading, masking, rules, schemas
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


def _describe_columns(resource: Resource, fields: Sequence[Any]) -> list[describes.Column]:
    """Columns as row-subject inference sees them: name, catalog label, effective type."""
    labels = {str(f.get("name")): f.get("label_zh") for f in resource.fields or []}
    return [
        describes.Column(f.column, labels.get(f.column), f.type, tuple(f.contains)) for f in fields
    ]


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
        previous = self._previous_review(session, resource, version)
        prior = existing or previous or repo.before_version(session, resource.id, version.number)
        said = self._describes_for(resource, prior, findings)
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
            describes=said[0],
            describes_source=said[1],
            describes_reason=said[2],
        )
        session.add(vc)
        for i, f in enumerate(findings):
            pi = describes.pi_class(table, f.type, f.contains, said[0])
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
        carried = self._carry_fields(vc, previous)
        # A carried column correction can make a column identify people: a place claim falls.
        self._hold_subject(session, actor, vc, resource, table)
        self._propose(session, vc, resource, table)
        carried_grade = self._carry_grade(session, vc, previous)
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
                "describes": {"value": said[0], "source": said[1], "reason": said[2]},
                "fields": [
                    {"column": f.column, "type": f.type, "confidence": f.confidence}
                    for f in vc.fields
                ],
            },
        )
        if previous is not None and (carried or carried_grade):
            ledger_service.record(
                session,
                "classification.review_carried_over",
                actor,
                [version.id, resource.id, previous.version_id],
                {"from_version": previous.version_id, "fields": carried, "grade": carried_grade},
            )
        self._apply_grade(session, actor, vc, resource)
        return vc

    # --- what the rows describe 描述对象 ---------------------------------------------------------
    def _describes_for(
        self,
        resource: Resource,
        prior: VersionClassification | None,
        findings: Sequence[ColumnFinding],
    ) -> tuple[str | None, str, str | None]:
        """The row subject a new classification uses, where it came from, and why: a data
        officer's correction of the version it follows (or re-runs, or, for a resource never
        published, the version before it) carries over; else the catalog's declaration; else
        what the columns tell."""
        columns = _describe_columns(resource, findings)
        claimed: tuple[str | None, str, str | None] | None = None
        if prior is not None and prior.describes_source == "reviewed":
            claimed = prior.describes, "reviewed", prior.describes_reason
        elif resource.describes:
            claimed = resource.describes, "declared", None
        if claimed is not None:
            overrule = describes.overruled(claimed[0], columns)
            if overrule is None:
                return claimed
            return overrule.describes, "inferred", overrule.as_reason()
        found = describes.infer(columns)
        return found.describes, "inferred", found.as_reason()

    def _reapply_describes(
        self,
        session: Session,
        vc: VersionClassification,
        value: str | None,
        source: str,
        reason: str | None,
        table: grading.RuleTable,
    ) -> list[dict[str, Any]]:
        """Set a classification's row subject and recompute each column's detected class under
        it. A column a data officer corrected keeps the class they gave; the others take the
        new class (and wait for review again when it changed). Returns the columns changed."""
        vc.describes, vc.describes_source, vc.describes_reason = value, source, reason
        changed: list[dict[str, Any]] = []
        for f in vc.fields:
            detected = describes.pi_class(table, f.detected_type, f.contains, value)
            if detected == f.detected_pi_class:
                continue
            before = f.pi_class
            f.detected_pi_class = detected
            if f.status != "changed":
                f.pi_class = detected
                f.status = "proposed"
            changed.append(
                {"column": f.column, "before": before, "pi_class": f.pi_class, "status": f.status}
            )
        vc.updated_at = utcnow()
        session.flush()
        return changed

    def review_describes(
        self, session: Session, subject: Subject, version_id: str, data: schemas.DescribesReview
    ) -> VersionClassification:
        """Correct what the version's rows describe (a reason is required). The columns'
        classes, the masking derived from them and the proposed grade follow; the correction is
        in the ledger and carries over to later versions. For the provider's officers and the
        data authority."""
        vc, resource = self._for_review(session, subject, version_id, authority_ok=True)
        if data.describes not in DESCRIBES:
            raise Invalid(
                f"Unknown row subject {data.describes[:40]!r}; allowed: {', '.join(DESCRIBES)}.",
                f"未知的描述对象 {data.describes[:40]!r}，可选：{'、'.join(DESCRIBES.values())}。",
                code="invalid_row_subject",
                allowed=list(DESCRIBES),
            )
        reason = rules.require_reason(data.reason, changed=True)
        overrule = describes.overruled(data.describes, _describe_columns(resource, vc.fields))
        if overrule is not None:
            shown = ", ".join(overrule.columns)
            raise Invalid(
                f"The rows cannot be said to describe places: columns {shown} identify people, "
                "so the addresses and coordinates are theirs. If a detector was wrong, correct "
                "those columns' types first.",
                f"不能将描述对象改为地点：字段 {'、'.join(overrule.columns)} 可识别个人，"
                "地址和坐标即其个人信息。如系识别有误，请先更正这些字段的类型。",
                code="row_subject_conflict",
                columns=list(overrule.columns),
            )
        table = self.table()
        before = {"describes": vc.describes, "source": vc.describes_source}
        columns = self._reapply_describes(session, vc, data.describes, "reviewed", reason, table)
        ledger_service.record(
            session,
            "classification.describes_reviewed",
            subject.actor,
            [vc.version_id, vc.resource_id],
            {
                "before": before,
                "describes": data.describes,
                "reason": reason,
                "columns": columns,
            },
        )
        if self._propose(session, vc, resource, table):
            self._apply_grade(session, subject.actor, vc, resource)
        return vc

    def declared_changed(
        self, session: Session, actor: Actor, resource: Resource, before: str | None
    ) -> None:
        """The catalog's declaration of what the rows describe changed: the current version's
        classification follows it (a cleared declaration falls back to what the columns tell),
        and so does every staged version's waiting to be accepted (else accepting one would
        serve it under the old declaration), in the same transaction. Later versions take it
        when they are classified."""
        if not resource.current_version_id:
            return
        current = session.get(DatasetVersion, resource.current_version_id)
        vc = repo.of_version(session, resource.current_version_id)
        if vc is None or current is None:
            return
        try:
            table = self.table()
        except Invalid:  # a broken node rule table: the next classification applies it
            return
        for one in (vc, *repo.after_version(session, resource.id, current.number)):
            self._follow_declaration(session, actor, resource, one, before, table)

    def _follow_declaration(
        self,
        session: Session,
        actor: Actor,
        resource: Resource,
        vc: VersionClassification,
        before: str | None,
        table: grading.RuleTable,
    ) -> None:
        value: str | None
        reason: str | None
        seen = _describe_columns(resource, vc.fields)
        overrule = describes.overruled(resource.describes, seen)
        if resource.describes and overrule is None:
            value, source, reason = resource.describes, "declared", None
        else:
            found = overrule or describes.infer(seen)
            value, source, reason = found.describes, "inferred", found.as_reason()
        previous = {"describes": vc.describes, "source": vc.describes_source}
        columns = self._reapply_describes(session, vc, value, source, reason, table)
        ledger_service.record(
            session,
            "classification.describes_applied",
            actor,
            [vc.version_id, resource.id],
            {
                "declared_before": before,
                "before": previous,
                "describes": value,
                "source": source,
                "columns": columns,
            },
        )
        if self._propose(session, vc, resource, table):
            self._apply_grade(session, actor, vc, resource)

    def _hold_subject(
        self,
        session: Session,
        actor: Actor,
        vc: VersionClassification,
        resource: Resource,
        table: grading.RuleTable,
    ) -> bool:
        """Check a classification's row subject against its columns as they stand now (after a
        column correction, or one carried over from the version before): a ``place`` that
        columns identifying people contradict is overruled, the columns' classes follow, and
        the overruling is in the ledger. Whatever path set ``place``, it never outlives a
        column that identifies people. Returns whether it was overruled."""
        overrule = describes.overruled(vc.describes, _describe_columns(resource, vc.fields))
        if overrule is None:
            return False
        previous = {"describes": vc.describes, "source": vc.describes_source}
        columns = self._reapply_describes(
            session, vc, overrule.describes, "inferred", overrule.as_reason(), table
        )
        ledger_service.record(
            session,
            "classification.describes_applied",
            actor,
            [vc.version_id, vc.resource_id],
            {
                "declared_before": resource.describes,
                "before": previous,
                "describes": overrule.describes,
                "source": "inferred",
                "columns": columns,
            },
        )
        return True

    # --- carry-over and comparison with the current version ----------------------------------
    def _previous_review(
        self, session: Session, resource: Resource, version: DatasetVersion
    ) -> VersionClassification | None:
        """The classification of the version a new one follows: the resource's current one."""
        if not resource.current_version_id or resource.current_version_id == version.id:
            return None
        return repo.of_version(session, resource.current_version_id)

    def _carry_fields(
        self, vc: VersionClassification, previous: VersionClassification | None
    ) -> list[str]:
        """A data officer's review of a column carries over when the detectors found the same
        there; returns the columns it carried to."""
        if previous is None:
            return []
        before = {f.column: f for f in previous.fields}
        carried = []
        for f in vc.fields:
            old = before.get(f.column)
            if old is None or old.status == "proposed" or _finding(old) != _finding(f):
                continue
            f.type, f.pi_class, f.status = old.type, old.pi_class, old.status
            f.review_reason, f.reviewed_by, f.reviewed_at = (
                old.review_reason,
                old.reviewed_by,
                old.reviewed_at,
            )
            carried.append(f.column)
        return carried

    def _carry_grade(
        self,
        session: Session,
        vc: VersionClassification,
        previous: VersionClassification | None,
    ) -> bool:
        """The grade decision carries over when every column's findings are unchanged and the
        proposal is the one that was decided on."""
        if previous is None or previous.status == "proposed":
            return False
        same = [_finding(f) for f in vc.fields] == [_finding(f) for f in previous.fields]
        if not same or vc.proposed_grade != previous.proposed_grade:
            return False
        vc.grade, vc.status, vc.grade_reason = (
            previous.grade,
            previous.status,
            previous.grade_reason,
        )
        vc.reviewed_by, vc.reviewed_at = previous.reviewed_by, previous.reviewed_at
        session.flush()
        return True

    def compare_with_current(
        self, session: Session, version: DatasetVersion
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Why a staged version needs a reviewer, and the basis of the comparison. No reasons:
        its schema and classification match the current version's and its grade does not rise,
        so it may be accepted automatically."""
        resource = session.get(Resource, version.resource_id)
        assert resource is not None
        current = (
            session.get(DatasetVersion, resource.current_version_id)
            if resource.current_version_id
            else None
        )
        basis: dict[str, Any] = {"compared_with": current.id if current else None}
        if current is None:
            return [_why("no_current")], basis
        reasons: list[dict[str, Any]] = []
        new_schema = {c["name"]: c["type"] for c in version.columns}
        old_schema = {c["name"]: c["type"] for c in current.columns}
        if [c["name"] for c in version.columns] != [c["name"] for c in current.columns] or (
            new_schema != old_schema
        ):
            reasons.append(
                _why(
                    "schema_changed",
                    added=[n for n in new_schema if n not in old_schema],
                    removed=[n for n in old_schema if n not in new_schema],
                    retyped=[
                        n for n in new_schema if n in old_schema and new_schema[n] != old_schema[n]
                    ],
                )
            )
        new_vc, old_vc = repo.of_version(session, version.id), repo.of_version(session, current.id)
        if new_vc is None or old_vc is None:
            reasons.append(_why("unclassified"))
            return reasons, basis
        before = {f.column: f for f in old_vc.fields}
        changed = [
            f.column
            for f in new_vc.fields
            if f.column not in before
            or _finding(before[f.column]) != _finding(f)
            or (before[f.column].type, before[f.column].pi_class) != (f.type, f.pi_class)
        ]
        changed += [c for c in before if c not in {f.column for f in new_vc.fields}]
        if changed:
            reasons.append(_why("classification_changed", columns=changed))
        if (
            new_vc.grade != old_vc.grade
            and rules.higher(new_vc.grade, old_vc.grade) == new_vc.grade
        ):
            reasons.append(_why("grade_rises", previous=old_vc.grade, grade=new_vc.grade))
        basis.update(grade=new_vc.grade, previous_grade=old_vc.grade, schema_sha=len(new_schema))
        return reasons, basis

    def sync_grade(self, session: Session, actor: Actor, resource: Resource) -> None:
        """After the current version changed (accepted, rolled back): the resource's grade is
        that version's."""
        if not resource.current_version_id:
            return
        vc = repo.of_version(session, resource.current_version_id)
        if vc is not None:
            resource_service.set_grade(session, actor, resource, vc.grade, vc.version_id)

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
        return {
            column: rule
            for column, (pi_class, rule) in self.personal_masking(session, resource, fields).items()
            if pi_class == "sensitive"
        }

    def personal_masking(
        self, session: Session, resource: Resource, fields: Sequence[str]
    ) -> dict[str, tuple[str, dict[str, Any]]]:
        """Every personal field among ``fields`` of the resource's current version, as
        classified and reviewed, with its class (``general`` or ``sensitive``) and its rule in
        the resource's ``default`` masking policy: what a reviewed grant masks unless a reviewer
        lifts it. Empty when the resource has no classified version."""
        if not resource.current_version_id:
            return {}
        vc = repo.of_version(session, resource.current_version_id)
        version = session.get(DatasetVersion, resource.current_version_id)
        if vc is None or version is None:
            return {}
        wanted = set(fields)
        rules_ = default_rules(vc, version.columns)["rules"]
        return {
            f.column: (f.pi_class, rules_[f.column])
            for f in vc.fields
            if f.pi_class != "none" and f.column in wanted and f.column in rules_
        }

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
        # A column corrected to a type that identifies people overrules a place claim.
        self._hold_subject(session, subject.actor, vc, resource, table)
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


def _finding(f: FieldClassification) -> tuple[Any, ...]:
    """What the detectors found in a column (not what a reviewer decided)."""
    return (f.column, f.detected_type, f.detected_pi_class, tuple(sorted(f.contains or [])))


# Why a staged version waits for a reviewer (recorded on the version and in the ledger).
_WHY: dict[str, tuple[str, str]] = {
    "no_current": (
        "The resource has no current version to compare with.",
        "资源没有可比对的当前版本。",
    ),
    "schema_changed": (
        "Its columns or their types differ from the current version's.",
        "字段或字段类型与当前版本不同。",
    ),
    "unclassified": (
        "It or the current version has no classification to compare.",
        "该版本或当前版本没有可比对的分类结果。",
    ),
    "classification_changed": (
        "The detectors found something different in some columns.",
        "部分字段的识别结果与当前版本不同。",
    ),
    "grade_rises": ("Its grade is higher than the current version's.", "其级别高于当前版本。"),
}


def _why(code: str, **details: Any) -> dict[str, Any]:
    en, zh = _WHY[code]
    return {"code": code, "message": en, "message_zh": zh, **details}


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


# --- publication checks: what may be opened without conditions 无条件开放 ----------------------
# Operators that leave nothing of a personal value a stranger could use: the value is masked,
# made coarser, or removed. Keyed pseudonyms and unkeyed hashes stay one-to-one with the person
# (linkable across every open dataset of the node, and a hash is reversible by guessing), and a
# date shift keeps the exact dates' order and spacing: none of them is enough for the public.
OPEN_OPS = frozenset({"mask", "generalize", "suppress"})
# Detected types that single a person out in combination (k-anonymity groups by them).
QUASI_TYPES = frozenset({"birth_date", "address", "gps"})
# Column names and catalog labels of quasi-identifiers the detectors have no type for.
_QUASI_ZH = ("性别", "年龄", "民族", "邮编", "邮政编码", "出生", "籍贯", "婚姻")
_QUASI_WORDS = frozenset(
    {"sex", "gender", "age", "zip", "zipcode", "postcode", "postal", "ethnicity", "marital"}
    | {"xb", "nl", "yzbm", "hyzk"}  # pinyin abbreviations: 性别, 年龄, 邮政编码, 婚姻状况
)
_PROBLEMS = {
    "sensitive_unmasked": ("sensitive personal information left unmasked", "敏感个人信息未脱敏"),
    "unmasked": ("personal information left unmasked", "个人信息未脱敏"),
    "unclassified": ("column not classified", "字段未分类"),
}


def is_quasi_name(column: str, label: str | None) -> bool:
    """Whether a column's name or catalog label names a quasi-identifier (sex, age, …)."""
    from yaosu.classification.hints import words

    text = f"{column} {label or ''}"
    return any(w in text for w in _QUASI_ZH) or not _QUASI_WORDS.isdisjoint(words(column))


def open_rules(vc: VersionClassification, columns: list[dict[str, Any]]) -> dict[str, Any]:
    """The policy of unconditional-open distributions: the default policy of the classification,
    where an operator not fit for the public (pseudonymize, hash, date shift) removes the column
    instead."""
    rules_ = default_rules(vc, columns)["rules"]
    out = {
        column: rule if rule.get("op") in OPEN_OPS else {"op": "suppress"}
        for column, rule in rules_.items()
    }
    return {"name": "open", "rules": out}


@dataclass(frozen=True)
class OpenColumn:
    """One column of the current version as the publication card shows it."""

    column: str
    label: str | None
    detected_type: str | None
    type: str | None
    detected_pi_class: str
    pi_class: str
    rule: dict[str, Any] | None  # its rule in the open policy; None = opened as it is
    quasi: bool
    problem: str | None

    @property
    def op(self) -> str | None:
        return str(self.rule.get("op")) if self.rule else None

    @property
    def personal_class(self) -> str:
        """The higher of the detected and the reviewed class: for opening to the public, a
        review may not make a column found personal pass unmasked."""
        order = ("sensitive", "general", "none")
        return min(self.detected_pi_class, self.pi_class, key=order.index)

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "detected_type": self.detected_type,
            "type": self.type,
            "detected_pi_class": self.detected_pi_class,
            "pi_class": self.pi_class,
            "rule": self.rule,
            "quasi_identifier": self.quasi,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class OpenCheck:
    """The publication check of a resource's current version: its findings, the rule each
    column gets in an open distribution, and the k-anonymity of that distribution."""

    resource_id: str
    open_attribute: str | None
    grade: str | None
    version_id: str | None
    version_number: int | None
    rows: int | None
    classified: bool
    columns: tuple[OpenColumn, ...]
    quasi_identifiers: tuple[str, ...]
    k: int | None  # smallest equivalence class of the open distribution (None: no QI)
    min_k: int
    policy: masking.MaskingPolicy | None
    digest: str  # of what the card shows: a stale page is told apart by it
    describes: str | None = None  # what a row describes, as the classification used it
    describes_source: str | None = None

    @property
    def applies(self) -> bool:
        """Only unconditional opening puts rows before the public."""
        return self.open_attribute == "unconditional" and self.version_id is not None

    @property
    def failing(self) -> list[OpenColumn]:
        return [c for c in self.columns if c.problem]

    @property
    def k_failed(self) -> bool:
        return self.k is not None and bool(self.rows) and self.k < self.min_k

    @property
    def grade_closed(self) -> bool:
        return self.grade in rules.IMPORTANT_KINDS

    @property
    def ok(self) -> bool:
        if not self.applies:
            return True
        return self.classified and not self.failing and not self.k_failed and not self.grade_closed

    def view(self) -> dict[str, Any]:
        """The card as the API shows it (``schemas.PublicationCheck``)."""
        return {
            "resource_id": self.resource_id,
            "open_attribute": self.open_attribute,
            "grade": self.grade,
            "version_id": self.version_id,
            "version_number": self.version_number,
            "rows": self.rows,
            "classified": self.classified,
            "describes": self.describes,
            "describes_source": self.describes_source,
            "applies": self.applies,
            "columns": [c.as_dict() for c in self.columns],
            "quasi_identifiers": list(self.quasi_identifiers),
            "k": self.k,
            "min_k": self.min_k,
            "passed": self.ok,
            "findings_digest": self.digest,
        }

    def summary(self) -> dict[str, Any]:
        """What the ledger keeps of the check (and an error's details)."""
        return {
            "version_id": self.version_id,
            "findings_digest": self.digest,
            "classified": self.classified,
            "grade": self.grade,
            "failing_columns": [c.as_dict() for c in self.failing],
            "quasi_identifiers": list(self.quasi_identifiers),
            "k": self.k,
            "min_k": self.min_k,
            "policy_digest": digest(self.policy.model_dump(mode="json")) if self.policy else None,
            "passed": self.ok,
        }

    def refusal(self) -> Conflict:
        """Why the resource may not be opened without conditions, column by column."""
        en: list[str] = []
        zh: list[str] = []
        if not self.classified:
            en.append("its current version is not classified")
            zh.append("当前版本尚未完成分类分级")
        if self.grade_closed:
            en.append(f"it is graded {self.grade} data")
            zh.append("其定级为核心数据或重要数据")
        for c in self.failing:
            p_en, p_zh = _PROBLEMS[c.problem or "unmasked"]
            en.append(f"column {c.column} ({c.detected_type or c.type or '?'}): {p_en}")
            zh.append(f"字段 {c.column}（{c.detected_type or c.type or '?'}）：{p_zh}")
        if self.k_failed:
            qi = ", ".join(self.quasi_identifiers)
            en.append(f"k = {self.k} over {qi}, below the required {self.min_k}")
            zh.append(
                f"准标识符 {'、'.join(self.quasi_identifiers)} 的 k = {self.k}，"
                f"低于要求的 {self.min_k}"
            )
        return Conflict(
            "The resource may not be opened without conditions: " + "; ".join(en) + ".",
            "该资源不得无条件开放：" + "；".join(zh) + "。",
            code="open_check_failed",
            failing_columns=[c.as_dict() for c in self.failing],
            k=self.k,
            min_k=self.min_k,
            quasi_identifiers=list(self.quasi_identifiers),
            classified=self.classified,
            grade=self.grade,
            version_id=self.version_id,
        )


class OpeningService:
    """Publication checks 开放审查 (issue 21 §3): grade and classification decide what may be
    opened without conditions. catalog calls ``check_publication`` when a reviewer publishes;
    opendata calls ``check`` before any open row leaves (a newer version, a changed review)."""

    def __init__(self) -> None:
        self._k: dict[tuple[str, str, tuple[str, ...]], tuple[int, int]] = {}

    def check(self, session: Session, resource: Resource) -> OpenCheck:
        """The findings of the resource's current version, the open rule of each column, and
        the k-anonymity of the open distribution (computed when the resource is 无条件开放)."""
        min_k = get_settings().open_min_k
        version = (
            session.get(DatasetVersion, resource.current_version_id)
            if resource.current_version_id
            else None
        )
        base = dict(
            resource_id=resource.id,
            open_attribute=resource.open_attribute,
            min_k=min_k,
        )
        if version is None:
            return OpenCheck(
                **base,  # type: ignore[arg-type]
                grade=resource.grade,
                version_id=None,
                version_number=None,
                rows=None,
                classified=False,
                columns=(),
                quasi_identifiers=(),
                k=None,
                policy=None,
                digest=digest({"version_id": None}),
            )
        vc = repo.of_version(session, version.id)
        labels = {str(f.get("name")): f.get("label_zh") for f in resource.fields or []}
        if vc is None:
            cols = tuple(
                OpenColumn(
                    c["name"],
                    labels.get(c["name"]),
                    None,
                    None,
                    "none",
                    "none",
                    None,
                    False,
                    "unclassified",
                )
                for c in version.columns
            )
            return OpenCheck(
                **base,  # type: ignore[arg-type]
                grade=resource.grade,
                version_id=version.id,
                version_number=version.number,
                rows=version.rows,
                classified=False,
                columns=cols,
                quasi_identifiers=(),
                k=None,
                policy=None,
                digest=digest({"version_id": version.id, "classified": False}),
            )
        policy = masking.parse_policy(open_rules(vc, version.columns))
        found = {f.column: f for f in vc.fields}
        columns: list[OpenColumn] = []
        for c in version.columns:
            name = c["name"]
            f = found.get(name)
            rule = policy.rules.get(name)
            rule_dict = rule.model_dump(mode="json", exclude_defaults=True) if rule else None
            if rule_dict is not None:
                rule_dict["op"] = rule.op  # type: ignore[union-attr]
            if f is None:
                columns.append(
                    OpenColumn(
                        name,
                        labels.get(name),
                        None,
                        None,
                        "none",
                        "none",
                        rule_dict,
                        False,
                        "unclassified",
                    )
                )
                continue
            removed = rule is not None and rule.op == "suppress"
            personal = f.pi_class != "none" or f.detected_pi_class != "none"
            types = {
                t
                for t in (f.type, f.detected_type)
                if t in QUASI_TYPES and describes.quasi_type(t, vc.describes, personal)
            }
            quasi = not removed and (bool(types) or is_quasi_name(name, labels.get(name)))
            col = OpenColumn(
                name,
                labels.get(name),
                f.detected_type,
                f.type,
                f.detected_pi_class,
                f.pi_class,
                rule_dict,
                quasi,
                None,
            )
            if col.personal_class != "none" and (rule is None or rule.op not in OPEN_OPS):
                problem = "sensitive_unmasked" if col.personal_class == "sensitive" else "unmasked"
                col = replace(col, problem=problem)
            columns.append(col)
        quasi_ids = tuple(c.column for c in columns if c.quasi)
        shown = {
            "version_id": version.id,
            "describes": vc.describes,
            "grade": vc.grade,
            "columns": [c.as_dict() for c in columns],
        }
        k = None
        if quasi_ids and resource.open_attribute == "unconditional":
            k = self._k_of(version, policy, quasi_ids, min_k)
        return OpenCheck(
            **base,  # type: ignore[arg-type]
            grade=vc.grade,
            version_id=version.id,
            version_number=version.number,
            rows=version.rows,
            classified=True,
            columns=tuple(columns),
            quasi_identifiers=quasi_ids,
            k=k,
            policy=policy,
            digest=digest(shown),
            describes=vc.describes,
            describes_source=vc.describes_source,
        )

    def _k_of(
        self,
        version: DatasetVersion,
        policy: masking.MaskingPolicy,
        quasi: tuple[str, ...],
        min_k: int,
    ) -> int:
        """The smallest equivalence class of the open distribution over ``quasi`` (cached per
        version, policy and quasi-identifiers: versions are immutable)."""
        key = (version.id, digest(policy.model_dump(mode="json")), quasi)
        hit = self._k.get(key)
        if hit is None:
            path = dataset_service.storage().path(version.storage_key)
            report = masking.k_anonymity(
                path, list(quasi), min_k, policy, key=masking_service.key()
            )
            final = report.after or report.before
            hit = (final.smallest_class, final.rows)
            if len(self._k) > 512:
                self._k.clear()
            self._k[key] = hit
        return hit[0]

    def card(self, session: Session, subject: Subject, resource_id: str) -> OpenCheck:
        """The publication check of a resource for the data authority and the provider's own
        officers (findings are not for every reader of the catalog)."""
        resource = resource_service.get(session, subject, resource_id)
        if not (subject.is_system or subject.roles & (AUTHORITY | {"auditor"})):
            resource_service.require_editor(subject, resource)
        return self.check(session, resource)

    def check_publication(
        self,
        session: Session,
        subject: Subject,
        resource: Resource,
        version_id: str | None,
        findings_digest: str | None,
    ) -> dict[str, Any]:
        """Refuse a publication made from a stale page (the current version or its findings
        changed since it was shown: ``stale_findings``) and, for 无条件开放, one whose open
        distribution would leave personal information unmasked or fall below k
        (``open_check_failed``). Returns what the ledger records of the check."""
        result = self.check(session, resource)
        stale_version = version_id is not None and version_id != (result.version_id or "")
        if stale_version or (findings_digest is not None and findings_digest != result.digest):
            raise Conflict(
                "The resource's current version or its findings changed since the page was "
                "shown; review the publication card again.",
                "该资源的当前版本或其分类结果在页面显示后已变化，请重新查看发布审查信息。",
                code="stale_findings",
                version_id=result.version_id,
                findings_digest=result.digest,
            )
        if not result.ok:
            raise result.refusal()
        return result.summary()


opening_service = OpeningService()
resource_service.add_publication_check(opening_service.check_publication)
resource_service.add_describes_listener(classification_service.declared_changed)
