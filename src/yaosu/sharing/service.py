"""Sharing services: share requests and their review, grants and their lifecycle, usage,
subscriptions to new versions, and responsibility lists. Every state change appends its
ledger entry; the data service calls themselves live in ``dataservice``."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from yaosu.catalog.service import resource_service
from yaosu.classification import masking
from yaosu.classification.service import classification_service
from yaosu.config import get_node_key
from yaosu.identity.service import did_for, org_service
from yaosu.identity.subject import Subject
from yaosu.kit import netguard
from yaosu.kit.crypto import seal, unseal
from yaosu.kit.errors import Conflict, Forbidden, Invalid, not_found
from yaosu.kit.ids import new_id
from yaosu.kit.timeutil import aware, day_end, local_day, utcnow
from yaosu.ledger.events import Actor
from yaosu.ledger.service import ledger_service
from yaosu.models.catalog import DatasetVersion, Resource
from yaosu.models.sharing import (
    Grant,
    ResponsibilityItem,
    ShareRequest,
    Subscription,
    WebhookDelivery,
)
from yaosu.policy import evaluate
from yaosu.policy import model as policy_model
from yaosu.sharing import repository as repo
from yaosu.sharing import rules, schemas, webhook

PROVIDER_REVIEWERS = frozenset({"data_officer", "cdo"})
AUTHORITY = frozenset({"reviewer", "platform_admin"})
SECRET_CONTEXT = b"yaosu-webhook-secret"


def _fields_of(session: Session, resource: Resource) -> list[str]:
    """The resource's field names: its current version's columns, else its catalog items."""
    if resource.current_version_id:
        version = session.get(DatasetVersion, resource.current_version_id)
        if version is not None:
            return [c["name"] for c in version.columns]
    return [f["name"] for f in resource.fields or []]


def _columns_of(session: Session, resource: Resource) -> list[dict[str, Any]]:
    """The resource's columns with their types: its current version's, else its catalog's
    information items (whose type names the masking check reads alike)."""
    if resource.current_version_id:
        version = session.get(DatasetVersion, resource.current_version_id)
        if version is not None:
            return [dict(c) for c in version.columns]
    return [{"name": f["name"], "type": f.get("type") or "string"} for f in resource.fields or []]


def _lift_holds(entry: Any, pi_class: str) -> bool:
    """Whether a recorded lifting of a default mask still holds for the field's class now: a
    reason for a general field; the data authority, a cited law and a reason for a sensitive
    one."""
    if not isinstance(entry, dict) or not str(entry.get("reason") or "").strip():
        return False
    if pi_class == "sensitive":
        return entry.get("stage") == "authority" and bool(entry.get("law"))
    return pi_class == "general"


lift_holds = _lift_holds  # the data service applies it to the version it serves


def _check_fields(wanted: Sequence[str], available: Sequence[str]) -> list[str]:
    unknown = [f for f in wanted if f not in available]
    if unknown:
        raise Invalid(
            f"Unknown fields: {', '.join(unknown)}.",
            f"资源中没有这些字段：{'、'.join(unknown)}。",
            code="unknown_fields",
            unknown=unknown,
            available=list(available),
        )
    return [f for f in available if f in set(wanted)]


class ShareRequestService:
    """Share requests 共享申请 (SHR-1…SHR-3)."""

    def submit(
        self, session: Session, subject: Subject, data: schemas.ShareRequestCreate
    ) -> ShareRequest:
        """File a request; it is refused, approved automatically, or sent to review at once."""
        consumer = self._consumer(session, subject)
        if consumer.kind not in rules.CONSUMER_KINDS:
            raise Forbidden(
                "Government data sharing is between government units and public institutions; "
                "others apply for conditional open data.",
                "政务数据共享仅面向政务部门和事业单位；其他主体请申请有条件开放数据。",
                code="not_a_sharing_party",
            )
        rules.check_vocabulary(data.purpose, data.delivery_mode)
        resource = resource_service.get(session, subject, data.resource_id)
        route = rules.route(
            share_attribute=resource.share_attribute,
            legal_basis=resource.share_legal_basis,
            grade=resource.grade,
            consumer_kind=consumer.kind,
        )
        return self.file(session, subject, data, resource, route)

    def _consumer(self, session: Session, subject: Subject) -> Any:
        if subject.org_id is None:
            raise Invalid(
                "A request is made by a unit; sign in as one of its users.",
                "共享申请须由单位用户提出。",
                code="org_required",
            )
        return org_service.get(session, subject, subject.org_id)

    def file(
        self,
        session: Session,
        subject: Subject,
        data: schemas.ShareRequestCreate,
        resource: Resource,
        route: rules.Route,
        *,
        channel: str = "sharing",
        research_plan: str | None = None,
    ) -> ShareRequest:
        """File a request already routed by its channel's rules: government sharing (``submit``)
        or a conditional-open application (``opendata``), which share review and grants."""
        consumer = self._consumer(session, subject)
        if resource.status != "published":
            raise Conflict(
                "Only published resources can be requested.",
                "只能申请已发布的数据资源。",
                code="resource_not_published",
            )
        if resource.provider_id == consumer.id:
            raise Conflict(
                "A unit does not request its own resource.",
                "不能申请本单位自己的资源。",
                code="own_resource",
            )
        fields = _check_fields(data.fields, _fields_of(session, resource))
        now = utcnow()
        req = ShareRequest(
            id=new_id(),
            resource_id=resource.id,
            provider_id=resource.provider_id,
            consumer_id=consumer.id,
            fields=fields,
            purpose=data.purpose,
            purpose_text=data.purpose_text,
            scenario=data.scenario,
            legal_basis=data.legal_basis,
            term_days=data.term_days,
            delivery_mode=data.delivery_mode,
            channel=channel,
            research_plan=research_plan,
            status="provider_review",
            deadline_at=day_end(now + timedelta(days=rules.REVIEW_DAYS)),
            decisions=[],
            narrowed={},
            requested_by=subject.user_id,
            created_at=now,
            updated_at=now,
        )
        session.add(req)
        session.flush()
        ledger_service.record(
            session,
            "sharing.request_submitted",
            subject.actor,
            [req.id, resource.id, consumer.id],
            {
                "channel": channel,
                "fields": fields,
                "purpose": data.purpose,
                "legal_basis": data.legal_basis,
                "term_days": data.term_days,
                "delivery_mode": data.delivery_mode,
                "research_plan": research_plan,
            },
        )
        if route.decision == "refuse":
            self._close(session, req, "rejected", Actor(user=None, org=None, via="rules"))
            req.refusal = {
                "code": route.code,
                "message": route.message,
                "message_zh": route.message_zh,
            }
            req.deadline_at = None
            ledger_service.record(
                session,
                "sharing.request_refused",
                Actor(user=None, org=None, via="rules"),
                [req.id, resource.id],
                req.refusal,
            )
        elif route.decision == "auto":
            req.auto_approved = True
            req.status = "approved"
            req.deadline_at = None
            req.decisions = [
                {"stage": "auto", "approve": True, "at": now.isoformat(), "rule": "001-5"}
            ]
            masking = classification_service.default_masking(session, resource, fields)
            req.narrowed = {"masking": masking} if masking else {}
            session.flush()
            ledger_service.record(
                session,
                "sharing.request_auto_approved",
                Actor(user=None, org=None, via="rules"),
                [req.id, resource.id],
                {"rule": "general grade, unconditional share, government consumer (001-5)"},
            )
            grant_service.issue(session, Actor(user=None, org=None, via="rules"), req, resource)
        return req

    def _close(self, session: Session, req: ShareRequest, status: str, actor: Actor) -> None:
        rules.check_transition(req.status, status)
        req.status = status
        req.updated_at = utcnow()
        session.flush()

    def get(self, session: Session, subject: Subject, request_id: str) -> ShareRequest:
        found = session.execute(
            repo.readable_requests(subject).where(ShareRequest.id == request_id)
        ).scalar_one_or_none()
        if found is None:
            raise not_found("Share request", "共享申请", request_id)
        return found

    def get_for_decision(self, session: Session, subject: Subject, request_id: str) -> ShareRequest:
        """The request with its row held until the transaction ends, so a double-submitted form
        or two reviewers at once see each other's decision rather than race it (``decide`` and
        ``withdraw`` take it; pages that check the stage first may take it earlier)."""
        repo.lock_request(session, request_id)
        return self.get(session, subject, request_id)

    def list(
        self,
        session: Session,
        subject: Subject,
        *,
        role: str | None,
        status: str | None,
        limit: int,
        offset: int,
        channel: str | None = None,
    ) -> tuple[Sequence[ShareRequest], int]:
        return repo.listing(
            session,
            repo.readable_requests(subject),
            ShareRequest,
            subject.org_id,
            role=role,
            status=status,
            limit=limit,
            offset=offset,
            channel=channel,
        )

    def decide(
        self, session: Session, subject: Subject, request_id: str, data: schemas.Decision
    ) -> ShareRequest:
        """The provider's review, then the data authority's; either may narrow what is given
        (fields, masking, term, row filter, quotas) or refuse with a reason."""
        req = self.get_for_decision(session, subject, request_id)
        if req.status == "provider_review":
            stage = "provider"
            if not (
                subject.is_system
                or "platform_admin" in subject.roles
                or (subject.org_id == req.provider_id and subject.roles & PROVIDER_REVIEWERS)
            ):
                raise Forbidden(
                    "The provider unit's data officers review this request first.",
                    "该申请须先由资源提供单位的数据专管员审核。",
                    code="provider_review_required",
                )
        elif req.status == "authority_review":
            stage = "authority"
            if not (subject.is_system or subject.roles & AUTHORITY):
                raise Forbidden(
                    "The data authority's reviewers decide at this stage.",
                    "该阶段由数据主管部门审核。",
                    code="authority_review_required",
                )
        else:
            raise Conflict(
                f"The request is {rules.REQUEST_STATES_EN[req.status]}; "
                "there is nothing to decide.",
                f"该申请状态为「{rules.REQUEST_STATES[req.status]}」，无需审核。",
                code="request_state_conflict",
                current=req.status,
            )
        if not data.approve and not (data.reason or "").strip():
            raise Invalid(
                "Give the reason for the refusal.", "请填写驳回理由。", code="reason_required"
            )
        narrowed = dict(req.narrowed or {})
        if data.approve and data.narrowing is not None:
            narrowed = self._narrow(session, subject, req, stage, narrowed, data.narrowing)
        now = utcnow()
        req.decisions = [
            *req.decisions,
            {
                "stage": stage,
                "approve": data.approve,
                "reason": data.reason,
                "by": subject.user_id,
                "at": now.isoformat(),
                "narrowing": data.narrowing.model_dump(exclude_none=True)
                if data.narrowing
                else None,
            },
        ]
        req.narrowed = narrowed
        target = (
            "rejected"
            if not data.approve
            else ("authority_review" if stage == "provider" else "approved")
        )
        rules.check_transition(req.status, target)
        req.status = target
        req.updated_at = now
        req.deadline_at = (
            day_end(now + timedelta(days=rules.REVIEW_DAYS))
            if target == "authority_review"
            else None
        )
        session.flush()
        ledger_service.record(
            session,
            f"sharing.request_{'approved' if data.approve else 'rejected'}_by_{stage}",
            subject.actor,
            [req.id, req.resource_id],
            {"reason": data.reason, "narrowed": narrowed},
        )
        if target == "approved":
            resource = session.get(Resource, req.resource_id)
            assert resource is not None
            masking, lifted = self.reviewed_masking(session, req, resource, narrowed)
            grant_service.issue(
                session,
                subject.actor,
                req,
                resource,
                narrowed={**narrowed, "masking": masking},
                unmasked=lifted,
            )
        return req

    # --- masking of reviewed grants -------------------------------------------------------------
    def reviewed_masking(
        self, session: Session, req: ShareRequest, resource: Resource, narrowed: dict[str, Any]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """The masking a reviewed grant carries, and the fields lifted from it with their
        reasons: every personal field of the grant masked by the resource's default policy,
        except the ones a reviewer lifted with a reason that still holds for the field's class
        now (a field reclassified as sensitive since is masked again), with the reviewers' own
        rules on top."""
        fields = list(narrowed.get("fields", req.fields))
        personal = classification_service.personal_masking(session, resource, fields)
        lifted = {
            f: entry
            for f, entry in (narrowed.get("unmasked") or {}).items()
            if f in personal and _lift_holds(entry, personal[f][0])
        }
        masking = {f: rule for f, (_, rule) in personal.items() if f not in lifted}
        masking.update(narrowed.get("masking") or {})
        return {f: r for f, r in masking.items() if f in fields}, lifted

    def masking_plan(
        self, session: Session, req: ShareRequest, resource: Resource | None
    ) -> Sequence[dict[str, Any]]:
        """Per field still on offer: its personal-information class, its default rule, the rule
        a grant issued now would carry, and the lifting decision if any — what a review form
        shows beside each field."""
        narrowed = dict(req.narrowed or {})
        fields = list(narrowed.get("fields", req.fields))
        if resource is None:
            return [
                {"field": f, "pi_class": "none", "default": None, "effective": None} for f in fields
            ]
        personal = classification_service.personal_masking(session, resource, fields)
        masking, lifted = self.reviewed_masking(session, req, resource, narrowed)
        return [
            {
                "field": f,
                "pi_class": personal[f][0] if f in personal else "none",
                "default": personal[f][1] if f in personal else None,
                "effective": masking.get(f),
                "reviewer_rule": f in (narrowed.get("masking") or {}),
                "unmasked": lifted.get(f),
            }
            for f in fields
        ]

    def _unmask(
        self,
        subject: Subject,
        req: ShareRequest,
        stage: str,
        narrowed: dict[str, Any],
        offered: Sequence[str],
        personal: dict[str, tuple[str, dict[str, Any]]],
        n: schemas.Narrowing,
    ) -> dict[str, dict[str, Any]]:
        """Check each field a reviewer lifts from the default masking and record why."""
        entries: dict[str, dict[str, Any]] = {}
        earlier_rules = narrowed.get("masking") or {}
        for f, reason in (n.unmask or {}).items():
            if f not in offered:
                raise Invalid(
                    f"Field {f!r} is not among the fields on offer.",
                    f"字段 {f!r} 不在本次审核的字段范围内。",
                    code="fields_not_requested",
                    field=f,
                )
            if f in (n.masking or {}):
                raise Invalid(
                    f"Field {f!r} is both masked and unmasked in this decision.",
                    f"字段 {f!r} 在同一审核意见中既被脱敏又被取消脱敏。",
                    code="masking_conflict",
                    field=f,
                )
            if f not in personal:
                raise Invalid(
                    f"Field {f!r} holds no personal information; it is not masked by default.",
                    f"字段 {f!r} 不含个人信息，默认不脱敏，无需取消。",
                    code="not_masked_by_default",
                    field=f,
                )
            pi_class = personal[f][0]
            law = None
            if pi_class == "sensitive":
                if stage != "authority":
                    raise Forbidden(
                        f"Field {f!r} is sensitive personal information (敏感个人信息): only "
                        "the data authority may lift its masking.",
                        f"字段 {f!r} 属于敏感个人信息，只有数据主管部门可以决定取消脱敏。",
                        code="sensitive_unmask_authority_only",
                        field=f,
                    )
                law = rules.cited_law(req.legal_basis)
                if law is None:
                    raise Invalid(
                        f"Field {f!r} is sensitive personal information: its masking is lifted "
                        "only when the request's legal basis names a law or regulation by its "
                        "title (《…法》, 《…条例》…); this one names none.",
                        f"字段 {f!r} 属于敏感个人信息：仅当申请的法律依据以书名号列明法律法规"
                        "（如《…法》《…条例》）时才可取消脱敏，本申请未列明。",
                        code="legal_basis_names_no_law",
                        field=f,
                    )
            if f in earlier_rules:
                raise Invalid(
                    f"An earlier review masked field {f!r}; a later stage can only narrow.",
                    f"字段 {f!r} 已由前一审核环节要求脱敏，后续环节只能进一步收窄。",
                    code="masked_by_earlier_review",
                    field=f,
                )
            text = reason.strip()
            if not text:
                raise Invalid(
                    f"Give the reason to release field {f!r} without masking.",
                    f"取消字段 {f!r} 的脱敏须填写理由。",
                    code="unmask_reason_required",
                    field=f,
                )
            entries[f] = {
                "reason": text,
                "pi_class": pi_class,
                "stage": stage,
                "by": subject.user_id,
                "at": utcnow().isoformat(),
                "law": law,
            }
        return entries

    def _masking(
        self,
        session: Session,
        req: ShareRequest,
        resource: Resource,
        narrowed: dict[str, Any],
        offered: Sequence[str],
        personal: dict[str, tuple[str, dict[str, Any]]],
        wanted: dict[str, dict[str, Any]],
    ) -> dict[str, dict[str, Any]]:
        """Check a reviewer's masking rules: on fields on offer, fit for the columns' types, and
        never revealing more than the rule they replace (the default one, or an earlier
        reviewer's); the lifting of a default goes through ``unmask`` with its reason."""
        not_offered = [f for f in wanted if f not in offered]
        if not_offered:
            raise Invalid(
                f"A reviewer masks only fields on offer; not on offer: {', '.join(not_offered)}.",
                f"只能对本次审核范围内的字段设置脱敏；以下字段不在范围内：{'、'.join(not_offered)}。",
                code="fields_not_requested",
                unknown=not_offered,
            )
        parsed = masking.parse_policy({"name": "review", "rules": wanted})
        columns = _columns_of(session, resource)
        try:
            masking.check_policy(parsed, columns)
        except Invalid as exc:
            problems = exc.details.get("problems", [])
            first = problems[0] if problems else {"message": exc.message, "message_zh": ""}
            raise Invalid(
                f"A masking rule does not fit its column: {first['message']}.",
                f"脱敏规则与字段类型不符：{first.get('message_zh') or exc.message_zh}。",
                code="masking_does_not_fit",
                problems=problems,
            ) from None
        earlier = narrowed.get("masking") or {}
        lifted = narrowed.get("unmasked") or {}
        for f, rule in parsed.rules.items():
            if f in earlier:
                baseline: dict[str, Any] | None = earlier[f]
            elif f in personal and not _lift_holds(lifted.get(f), personal[f][0]):
                baseline = personal[f][1]  # a lift that no longer holds is no lift
            else:
                baseline = None
            base = (
                masking.parse_policy({"name": "base", "rules": {f: baseline}}).rules[f]
                if baseline is not None
                else None
            )
            if not masking.at_least_as_strong(rule, base):
                raise Invalid(
                    f"The rule for {f!r} would reveal more than its current masking "
                    f"({(baseline or {}).get('op')}); a reviewer can only narrow. To release "
                    "a personal field, unmask it with a reason.",
                    f"字段 {f!r} 的脱敏规则弱于现有规则（{(baseline or {}).get('op')}），"
                    "审核只能收窄；如须取消个人信息字段的脱敏，请填写理由取消脱敏。",
                    code="masking_not_narrower",
                    field=f,
                    current=baseline,
                )
        return dict(wanted)

    def _narrow(
        self,
        session: Session,
        subject: Subject,
        req: ShareRequest,
        stage: str,
        narrowed: dict[str, Any],
        n: schemas.Narrowing,
    ) -> dict[str, Any]:
        resource = session.get(Resource, req.resource_id)
        assert resource is not None
        if n.fields is not None:
            extra = [f for f in n.fields if f not in req.fields]
            if extra:
                raise Invalid(
                    f"A reviewer can only narrow the fields; not requested: {', '.join(extra)}.",
                    f"审核只能缩小字段范围；以下字段未申请：{'、'.join(extra)}。",
                    code="fields_not_requested",
                )
            narrowed["fields"] = [f for f in req.fields if f in set(n.fields)]
        if n.term_days is not None:
            if n.term_days > narrowed.get("term_days", req.term_days):
                raise Invalid(
                    "A reviewer can only shorten the term.",
                    "审核只能缩短使用期限。",
                    code="term_not_shorter",
                )
            narrowed["term_days"] = n.term_days
        offered = list(narrowed.get("fields", req.fields))
        personal = classification_service.personal_masking(session, resource, offered)
        if n.unmask:
            lifts = self._unmask(subject, req, stage, narrowed, offered, personal, n)
            narrowed["unmasked"] = {**(narrowed.get("unmasked") or {}), **lifts}
        if n.masking:
            rules_ = self._masking(session, req, resource, narrowed, offered, personal, n.masking)
            narrowed["masking"] = {**(narrowed.get("masking") or {}), **rules_}
        if n.row_filter is not None:
            narrowed["row_filter"] = [*narrowed.get("row_filter", []), *n.row_filter]
        for key in ("calls_per_day", "rows_per_day", "rate_per_minute"):
            value = getattr(n, key)
            if value is not None:
                narrowed[key] = min(value, narrowed.get(key, value))
        # Check the would-be policy now, so a bad masking rule or filter is refused here.
        effective, _ = self.reviewed_masking(session, req, resource, narrowed)
        grant_service.compose(session, req, resource, {**narrowed, "masking": effective}, "check")
        return narrowed

    def requestable_fields(self, session: Session, resource: Resource) -> Sequence[str]:
        """The field names a request for ``resource`` may ask for: its current version's
        columns, else its catalog's information items."""
        return _fields_of(session, resource)

    def count_by_status(self, session: Session, subject: Subject) -> dict[str, int]:
        """How many readable requests (both channels) are in each status."""
        return repo.count_by_status(session, repo.readable_requests(subject), ShareRequest)

    def withdraw(self, session: Session, subject: Subject, request_id: str) -> ShareRequest:
        req = self.get_for_decision(session, subject, request_id)
        if subject.org_id != req.consumer_id and not subject.is_system:
            raise Forbidden(
                "Only the requesting unit withdraws its request.",
                "只有申请单位可以撤回申请。",
                code="not_requester",
            )
        self._close(session, req, "withdrawn", subject.actor)
        req.deadline_at = None
        ledger_service.record(
            session, "sharing.request_withdrawn", subject.actor, [req.id, req.resource_id], {}
        )
        return req

    def expire_lapsed(self, session: Session, now: datetime, grace_days: int = 30) -> int:
        """Requests left unreviewed ``grace_days`` past their deadline expire."""
        lapsed = repo.lapsed_requests(session, now - timedelta(days=grace_days))
        actor = Actor(user=None, org=None, via="scheduler")
        for req in lapsed:
            self._close(session, req, "expired", actor)
            req.deadline_at = None
            ledger_service.record(
                session, "sharing.request_expired", actor, [req.id, req.resource_id], {}
            )
        return len(lapsed)


def _since(days: int) -> str:
    return (local_day(utcnow()) - timedelta(days=days - 1)).isoformat()


def _usage_days(used: Sequence[Any], refused: Sequence[Any]) -> list[schemas.UsageDay]:
    """Usage rows (``day, calls, rows, bytes``) and refusal rows (``day, code, count``) merged
    into one entry per day that has either."""
    refusals: dict[str, dict[str, int]] = {}
    for r in refused:
        refusals.setdefault(r.day, {})[r.code] = int(r.count)
    by_day = {u.day: u for u in used}
    out = []
    for day in sorted(set(by_day) | set(refusals)):
        u = by_day.get(day)
        out.append(
            schemas.UsageDay(
                day=day,
                calls=int(u.calls) if u else 0,
                rows=int(u.rows) if u else 0,
                bytes=int(u.bytes) if u else 0,
                refusals=refusals.get(day, {}),
            )
        )
    return out


def overdue(req: ShareRequest, now: datetime | None = None) -> bool:
    return bool(
        req.status in rules.OPEN_STATES
        and req.deadline_at is not None
        and aware(req.deadline_at) < (now or utcnow())
    )


class GrantService:
    """Grants 授权 and their policy (ODRL) — issued on approval, suspended, resumed, revoked."""

    def compose(
        self,
        session: Session,
        req: ShareRequest,
        resource: Resource,
        narrowed: dict[str, Any],
        grant_id: str,
        start: datetime | None = None,
    ) -> tuple[dict[str, Any], datetime, datetime]:
        start = start or utcnow()
        term = int(narrowed.get("term_days", req.term_days))
        # Valid to the end of the term's last day in the node's zone, as the document says.
        end = day_end(start + timedelta(days=term))
        built = policy_model.build_policy(
            uid=f"urn:yaosu:grant:{grant_id}",
            assigner=did_for(req.provider_id),
            assignee=did_for(req.consumer_id),
            target=f"urn:yaosu:resource:{resource.id}",
            fields=list(narrowed.get("fields", req.fields)),
            masking=dict(narrowed.get("masking", {})),
            row_filter=list(narrowed.get("row_filter", [])),
            purposes=[req.purpose],
            # Whole local days in the document ("至 2027-06-30"); the grant row keeps instants.
            not_before=local_day(start),
            not_after=local_day(end),
            calls_per_day=narrowed.get("calls_per_day"),
            rows_per_day=narrowed.get("rows_per_day"),
            rate_per_minute=narrowed.get("rate_per_minute"),
            delivery_modes=[req.delivery_mode, "api"] if req.delivery_mode != "api" else ["api"],
        )
        if resource.current_version_id:  # refuse now what could never run on the data
            version = session.get(DatasetVersion, resource.current_version_id)
            if version is not None:
                evaluate.check_columns(built, version.columns)
        return built.document(), start, end

    def issue(
        self,
        session: Session,
        actor: Actor,
        req: ShareRequest,
        resource: Resource,
        *,
        narrowed: dict[str, Any] | None = None,
        unmasked: dict[str, dict[str, Any]] | None = None,
    ) -> Grant:
        """Issue the grant of an approved request: its policy from ``narrowed`` (the request's
        own by default; a reviewed request passes its masking already resolved) and the fields
        released without masking, with their reasons."""
        grant_id = new_id()
        terms = (req.narrowed or {}) if narrowed is None else narrowed
        doc, start, end = self.compose(session, req, resource, terms, grant_id)
        grant = Grant(
            id=grant_id,
            request_id=req.id,
            resource_id=resource.id,
            provider_id=req.provider_id,
            consumer_id=req.consumer_id,
            policy=doc,
            status="active",
            not_before=start,
            not_after=end,
            delivery_mode=req.delivery_mode,
            unmasked=unmasked or None,
            created_by=actor.user,
        )
        session.add(grant)
        req.grant_id = grant.id
        session.flush()
        ledger_service.record(
            session,
            "sharing.grant_issued",
            actor,
            [grant.id, req.id, resource.id, req.consumer_id],
            {"policy": doc, "unmasked": unmasked} if unmasked else {"policy": doc},
        )
        return grant

    def labels(self, session: Session, grant: Grant) -> dict[str, str]:
        """Chinese labels of the resource's fields, for the plain-language policy."""
        resource = session.get(Resource, grant.resource_id)
        return {
            f["name"]: f["label_zh"]
            for f in (resource.fields if resource else []) or []
            if f.get("label_zh")
        }

    def get(self, session: Session, subject: Subject, grant_id: str) -> Grant:
        found = session.execute(
            repo.readable_grants(subject).where(Grant.id == grant_id)
        ).scalar_one_or_none()
        if found is None:
            raise not_found("Grant", "授权", grant_id)
        return found

    def list(
        self,
        session: Session,
        subject: Subject,
        *,
        role: str | None,
        status: str | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[Grant], int]:
        return repo.listing(
            session,
            repo.readable_grants(subject),
            Grant,
            subject.org_id,
            role=role,
            status=status,
            limit=limit,
            offset=offset,
        )

    def change(
        self, session: Session, subject: Subject, grant_id: str, target: str, reason: str
    ) -> Grant:
        """Suspend, resume or revoke, with immediate effect: the next call is decided on the new
        status. The provider unit's officers and the data authority may do it."""
        grant = self.get(session, subject, grant_id)
        if not (
            subject.is_system
            or subject.roles & AUTHORITY
            or (subject.org_id == grant.provider_id and subject.roles & PROVIDER_REVIEWERS)
        ):
            raise Forbidden(
                "Only the provider unit and the data authority change a grant.",
                "只有资源提供单位和数据主管部门可以变更授权。",
                code="grant_owner_required",
            )
        rules.check_transition(grant.status, target, machine="grant")
        before, grant.status = grant.status, target
        grant.status_reason = reason
        grant.updated_at = utcnow()
        session.flush()
        verb = {"suspended": "suspended", "active": "resumed", "revoked": "revoked"}[target]
        ledger_service.record(
            session,
            f"sharing.grant_{verb}",
            subject.actor,
            [grant.id, grant.resource_id, grant.consumer_id],
            {"before": before, "reason": reason},
        )
        return grant

    def usage(self, session: Session, subject: Subject, grant_id: str, days: int) -> schemas.Usage:
        grant = self.get(session, subject, grant_id)
        since = _since(days)
        return schemas.Usage(
            grant_id=grant.id,
            days=_usage_days(
                repo.usage_series(session, grant.id, since),
                repo.refusal_series(session, grant.id, since),
            ),
        )

    def daily_totals(
        self, session: Session, subject: Subject, days: int
    ) -> Sequence[schemas.UsageDay]:
        """Data-service calls, rows, bytes and refusals per day summed over every grant the
        subject may read (the whole city for the data authority and auditors)."""
        grants = repo.readable_grants(subject)
        since = _since(days)
        return _usage_days(
            repo.usage_totals(session, grants, since),
            repo.refusal_totals(session, grants, since),
        )

    def count_by_status(self, session: Session, subject: Subject) -> dict[str, int]:
        """How many readable grants are in each status."""
        return repo.count_by_status(session, repo.readable_grants(subject), Grant)


MAX_WEBHOOK_URL = 500
"""Characters a subscription's URL may have (the column's size), after normalisation."""


def _check_webhook_url(url: str) -> None:
    """A webhook goes to an http(s) address the node's policy allows (``kit.netguard``: no
    loopback, link-local or metadata address, private ones only when ``YAOSU_PULL_ALLOW``
    lists them); checked again at every delivery."""
    netguard.check_url(url, netguard.node_policy(), code="webhook_forbidden", unresolved_ok=True)


class SubscriptionService:
    """Webhooks for new versions of granted resources, signed with a per-subscription secret."""

    def create(
        self, session: Session, actor: Actor, grant: Grant, url: str
    ) -> tuple[Subscription, str]:
        if len(url) > MAX_WEBHOOK_URL:
            raise Invalid(
                f"The webhook URL has {len(url)} characters; at most {MAX_WEBHOOK_URL} are kept.",
                f"回调地址有 {len(url)} 个字符，最多 {MAX_WEBHOOK_URL} 个。",
                code="url_too_long",
            )
        _check_webhook_url(url)
        secret = secrets.token_urlsafe(32)
        sub = Subscription(
            id=new_id(),
            grant_id=grant.id,
            url=url,
            secret_sealed=seal(get_node_key(), secret.encode(), SECRET_CONTEXT),
        )
        session.add(sub)
        session.flush()
        ledger_service.record(
            session, "sharing.subscribed", actor, [sub.id, grant.id], {"url": url}
        )
        return sub, secret

    def subscribe(
        self, session: Session, subject: Subject, grant_id: str, url: str
    ) -> tuple[Subscription, str]:
        grant = grant_service.get(session, subject, grant_id)
        if subject.org_id != grant.consumer_id:
            raise Forbidden(
                "Only the consumer unit subscribes through its grant.",
                "只有被授权单位可以订阅。",
                code="not_consumer",
            )
        if grant.status != "active":
            raise Conflict("The grant is not active.", "授权不在有效状态。", code="grant_inactive")
        return self.create(session, subject.actor, grant, url)

    def of_grant(
        self, session: Session, subject: Subject, grant_id: str, deliveries: int = 20
    ) -> tuple[Grant, Sequence[Subscription], Sequence[WebhookDelivery]]:
        """A grant's subscriptions and its most recent deliveries (status, attempts, last
        error), for whoever may read the grant. Secrets stay sealed: they are shown once, when
        made."""
        grant = grant_service.get(session, subject, grant_id)
        return (
            grant,
            repo.subscriptions_of_grant(session, grant.id),
            repo.deliveries_of_grant(session, grant.id, deliveries),
        )

    def secret(self, sub: Subscription) -> bytes:
        return unseal(get_node_key(), sub.secret_sealed, SECRET_CONTEXT)

    def version_published(self, session: Session, version: DatasetVersion) -> int:
        """Queue a signed notification for every active subscription of the resource."""
        count = 0
        for sub in repo.subscriptions_of_resource(session, version.resource_id):
            body = json.dumps(
                {
                    "event": "dataset_version.published",
                    "grant_id": sub.grant_id,
                    "resource_id": version.resource_id,
                    "version_id": version.id,
                    "number": version.number,
                    "sha256": version.sha256,
                    "rows": version.rows,
                    "pull": f"/api/v1/services/{sub.grant_id}/rows",
                },
                ensure_ascii=False,
                sort_keys=True,
            )
            session.add(
                WebhookDelivery(
                    id=new_id(),
                    subscription_id=sub.id,
                    grant_id=sub.grant_id,
                    version_id=version.id,
                    body=body,
                    signature="",
                    status="pending",
                )
            )
            count += 1
        session.flush()
        return count

    def deliver_pending(self, session: Session, post: Any, limit: int = 50) -> int:
        """Send pending notifications with ``post(url, body, headers) -> status code``; a
        delivery is retried up to five times, then marked failed. Each send is metered and in
        the ledger."""
        sent = 0
        for d in repo.pending_deliveries(session, limit):
            sub = session.get(Subscription, d.subscription_id)
            assert sub is not None
            d.signature = webhook.sign(self.secret(sub), d.body.encode())
            d.attempts += 1
            try:
                status = post(
                    sub.url,
                    d.body.encode(),
                    {"Content-Type": "application/json", webhook.HEADER: d.signature},
                )
                ok = 200 <= int(status) < 300
                d.last_error = None if ok else f"HTTP {status}"
            except Exception as exc:  # any network failure is recorded and retried
                ok, d.last_error = False, f"{type(exc).__name__}: {exc}"[:500]
            if ok:
                d.status, d.delivered_at = "delivered", utcnow()
                sent += 1
                day = local_day(d.delivered_at).isoformat()  # usage days are the node's
                repo.ensure_usage_row(session, d.grant_id, day)
                repo.settle(session, d.grant_id, day, 0, 0, len(d.body.encode()))
                ledger_service.record(
                    session,
                    "sharing.webhook_delivered",
                    Actor(user=None, org=None, via="webhook"),
                    [d.id, d.grant_id, d.version_id],
                    {"url": sub.url, "attempts": d.attempts},
                )
            elif d.attempts >= 5:
                d.status = "failed"
        session.flush()
        return sent


class ResponsibilityService:
    """Responsibility lists 共享责任清单 (SHR-5)."""

    def add(
        self, session: Session, subject: Subject, data: schemas.ResponsibilityCreate
    ) -> ResponsibilityItem:
        if not (subject.is_system or subject.roles & AUTHORITY):
            raise Forbidden(
                "The data authority keeps the responsibility lists.",
                "共享责任清单由数据主管部门维护。",
                code="authority_required",
            )
        org_service.get(session, subject, data.org_id)
        item = ResponsibilityItem(
            id=new_id(),
            org_id=data.org_id,
            name=data.name,
            basis=data.basis,
            due_at=aware(data.due_at),
            created_by=subject.user_id,
        )
        session.add(item)
        if data.resource_id:
            self._link(session, subject, item, data.resource_id)
        session.flush()
        ledger_service.record(
            session,
            "sharing.responsibility_added",
            subject.actor,
            [item.id, data.org_id],
            data.model_dump(mode="json"),
        )
        return item

    def _link(
        self, session: Session, subject: Subject, item: ResponsibilityItem, resource_id: str
    ) -> None:
        resource = resource_service.get(session, subject, resource_id)
        if resource.provider_id != item.org_id:
            raise Invalid(
                "The resource belongs to another unit.",
                "该资源不属于清单所列单位。",
                code="wrong_provider",
            )
        item.resource_id = resource.id
        item.fulfilled_at = utcnow() if resource.status == "published" else None

    def fulfil(
        self, session: Session, subject: Subject, item_id: str, resource_id: str
    ) -> ResponsibilityItem:
        item = session.get(ResponsibilityItem, item_id)
        if item is None:
            raise not_found("Responsibility item", "责任清单事项", item_id)
        if not (
            subject.is_system
            or subject.roles & AUTHORITY
            or (subject.org_id == item.org_id and subject.roles & PROVIDER_REVIEWERS)
        ):
            raise Forbidden(
                "Only the unit itself or the data authority links its resources.",
                "只有本单位或数据主管部门可以关联资源。",
                code="not_responsible_unit",
            )
        self._link(session, subject, item, resource_id)
        session.flush()
        ledger_service.record(
            session,
            "sharing.responsibility_linked",
            subject.actor,
            [item.id, item.org_id, resource_id],
            {"fulfilled": item.fulfilled_at is not None},
        )
        return item

    def listing(
        self, session: Session, subject: Subject, org_id: str | None
    ) -> schemas.ResponsibilityList:
        staff = subject.is_system or subject.roles & repo.STAFF
        if org_id is None and not staff:
            org_id = subject.org_id
        if not staff and (org_id is None or org_id != subject.org_id):
            # A user of no unit has no list of its own, and never the whole city's.
            raise Forbidden(
                "A unit sees its own responsibility list.",
                "只能查看本单位的共享责任清单。",
                code="own_list_only",
            )
        now = utcnow()
        items = []
        for i in repo.responsibility_items(session, org_id):
            view = schemas.ResponsibilityItem.model_validate(i)
            view.overdue = i.fulfilled_at is None and aware(i.due_at) < now
            items.append(view)
        counts = resource_service.published_count(session, org_id)
        late = [r for r in repo.open_requests_to(session, org_id) if overdue(r, now)]
        return schemas.ResponsibilityList(
            org_id=org_id,
            items=items,
            published_resources=counts,
            overdue_items=sum(1 for i in items if i.overdue),
            overdue_requests=[request_view(r) for r in late],
        )


def request_view(req: ShareRequest) -> schemas.ShareRequest:
    view = schemas.ShareRequest.model_validate(req)
    view.overdue = overdue(req)
    return view


request_service = ShareRequestService()
grant_service = GrantService()
subscription_service = SubscriptionService()
responsibility_service = ResponsibilityService()
