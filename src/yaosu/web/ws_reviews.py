"""The review queues 审核 of the workspace at ``/workspace/reviews``: what waits for a decision,
with the facts needed to take it, and the decision forms.

The data authority (reviewers, platform admins) has four queues: catalog publications,
government share requests, conditional-open applications and admissions. A provider unit's data
officers and chief data officer have one: the requests and applications made to their unit.

Each decision posts through htmx and the answer replaces the item with its outcome. Every
decision first takes the item's row (``get_for_decision``) and checks it still waits for this
stage, so a stale page or a double-submitted form gets a clear "already decided" message.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.catalog.service import dataset_service, resource_service
from yaosu.classification import rules as classification_rules
from yaosu.classification.columns import TYPES
from yaosu.classification.service import OpenCheck, opening_service
from yaosu.identity.access import require
from yaosu.identity.service import admission_service, org_service
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Conflict, Forbidden, Invalid, NotFound
from yaosu.policy.model import DELIVERY_MODES, MASKING_OPS
from yaosu.sharing import rules as sharing_rules
from yaosu.sharing import schemas as sharing_schemas
from yaosu.sharing.service import overdue, request_service
from yaosu.web import i18n
from yaosu.web.common import invalid, lang_of, page_number, render, validated, words
from yaosu.web.workspace import AUTHORITY, PROVIDER, page

router = APIRouter(prefix="/workspace", include_in_schema=False)

QUEUES = require(*sorted(AUTHORITY | PROVIDER))
CATALOG_REVIEW = require(*sorted(AUTHORITY), scope="catalog:write")
REQUEST_REVIEW = require(*sorted(AUTHORITY | PROVIDER), scope="sharing:write")
ADMISSION_REVIEW = require(*sorted(AUTHORITY), scope="identity:write")

AUTHORITY_TABS = ("catalog", "versions", "sharing", "open", "admissions")
PROVIDER_TABS = ("provider",)
PAGE_SIZE = 20
STAGE_OF = {"provider_review": "provider", "authority_review": "authority"}


def tabs_for(subject: Subject) -> list[str]:
    """The queues this subject works: the authority's four, the provider unit's one, or both."""
    tabs: list[str] = []
    if subject.roles & AUTHORITY:
        tabs += AUTHORITY_TABS
    if subject.roles & PROVIDER:
        tabs += PROVIDER_TABS
    return tabs


def _state(status: str, lang: str) -> str:
    return i18n.t(f"rev.state.{status}", lang)


def already_decided(status: str) -> Conflict:
    """A stale page or a second submission: the item is no longer waiting for this decision."""
    return Conflict(
        i18n.t("rev.already_decided", "en", status=_state(status, "en")),
        i18n.t("rev.already_decided", "zh", status=_state(status, "zh")),
        code="already_decided",
        current=status,
    )


def _reason(reason: str, required: bool) -> str | None:
    text = reason.strip()
    if required and not text:
        raise invalid("rev.reason_required", "reason_required")
    return text or None


def _decision(decision: str, reason: str) -> tuple[bool, str | None]:
    """The form's choice, approve or reject, and its reason (required to reject)."""
    if decision not in ("approve", "reject"):
        raise invalid("rev.choose", "decision_required")
    approve = decision == "approve"
    return approve, _reason(reason, required=not approve)


def _optional_int(value: str, label_key: str) -> int | None:
    """A positive whole number from a form field, or None when left empty."""
    text = value.strip()
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise Invalid(
            i18n.t("rev.bad_number", "en", what=i18n.t(label_key, "en")),
            i18n.t("rev.bad_number", "zh", what=i18n.t(label_key, "zh")),
            code="invalid_number",
        )
    return number


# --- what each item shows ----------------------------------------------------------------------
def show_value(value: Any, lang: str) -> str:
    """A catalog value as text: information items by name, lists joined, booleans as yes/no."""
    if value is None or value == "" or value == [] or value == {}:
        return i18n.t("common.none", lang)
    if isinstance(value, bool):
        return i18n.t("common.yes" if value else "common.no", lang)
    if isinstance(value, dict):
        if "name" in value and "type" in value:
            label = value.get("label_zh") or ""
            return f"{value['name']} {label} ({value['type']})".replace("  ", " ")
        return "; ".join(f"{k}: {show_value(v, lang)}" for k, v in value.items())
    if isinstance(value, list):
        return ("、" if lang == "zh" else ", ").join(show_value(v, lang) for v in value)
    return str(value)


def diff_key(key: str, lang: str) -> str:
    """A diff row's key as words: ``fields.sfzh`` reads as "information item sfzh"."""
    if key.startswith("fields."):
        return f"{i18n.t('rev.key.fields', lang)} {key[len('fields.') :]}"
    return i18n.t(f"rev.key.{key}", lang)


def narrowing_parts(
    narrowed: dict[str, Any] | None, labels: dict[str, str], lang: str
) -> list[str]:
    """What a reviewer narrowed (or proposes), clause by clause, in the visitor's language."""
    if not narrowed:
        return []
    sep = "、" if lang == "zh" else ", "
    i = 0 if lang == "zh" else 1
    parts: list[str] = []
    if narrowed.get("fields") is not None:
        names = sep.join(labels.get(f, f) for f in narrowed["fields"])
        parts.append(i18n.t("rev.n.fields", lang, v=names))
    if narrowed.get("masking"):
        masks = sep.join(
            f"{labels.get(f, f)} {MASKING_OPS.get(rule.get('op', ''), (rule.get('op'),) * 2)[i]}"
            for f, rule in narrowed["masking"].items()
        )
        parts.append(i18n.t("rev.n.masking", lang, v=masks))
    if narrowed.get("row_filter"):
        parts.append(i18n.t("rev.n.row_filter", lang, n=len(narrowed["row_filter"])))
    for key in ("term_days", "calls_per_day", "rows_per_day", "rate_per_minute"):
        if narrowed.get(key) is not None:
            parts.append(i18n.t(f"rev.n.{key}", lang, v=f"{narrowed[key]:,}"))
    return parts


@dataclass
class RequestItem:
    """A share request or open application with what the reviewer needs beside it."""

    req: Any
    stage: str
    consumer: str
    provider: str
    resource: Any | None
    labels: dict[str, str]
    fields: list[str]
    term_days: int
    overdue: bool
    decisions: list[dict[str, Any]] = field(default_factory=list)
    # grant masking: per field on offer its class, default and current rule (masking_plan)
    masking: list[dict[str, Any]] = field(default_factory=list)
    law: str | None = None  # the law the request's legal basis names, if any


def request_items(session: Session, subject: Subject, rows: Any) -> list[RequestItem]:
    orgs = org_service.names(
        session, subject, sorted({r.consumer_id for r in rows} | {r.provider_id for r in rows})
    )
    resources: dict[str, Any] = {}
    items = []
    for r in rows:
        if r.resource_id not in resources:
            try:
                resources[r.resource_id] = resource_service.get(session, subject, r.resource_id)
            except NotFound:
                resources[r.resource_id] = None
        resource = resources[r.resource_id]
        labels = {
            f["name"]: f.get("label_zh") or f["name"]
            for f in (resource.fields if resource is not None else []) or []
        }
        narrowed = r.narrowed or {}
        items.append(
            RequestItem(
                req=r,
                stage=STAGE_OF.get(r.status, ""),
                consumer=orgs.get(r.consumer_id, r.consumer_id),
                provider=orgs.get(r.provider_id, r.provider_id),
                resource=resource,
                labels=labels,
                fields=list(narrowed.get("fields") or r.fields),
                term_days=int(narrowed.get("term_days") or r.term_days),
                overdue=overdue(r),
                decisions=list(r.decisions or []),
                masking=[
                    {
                        **m,
                        "names": MASKING_OPS.get(
                            (m["effective"] or {}).get("op", ""),
                            (i18n.t("rev.mask.none", "zh"), i18n.t("rev.mask.none", "en")),
                        ),
                    }
                    for m in request_service.masking_plan(session, r, resource)
                ],
                law=sharing_rules.cited_law(r.legal_basis),
            )
        )
    return items


@dataclass
class ResourceItem:
    resource: Any
    version: Any | None
    first: bool
    check: OpenCheck | None = None  # the publication card: findings, open rules, k


def resource_items(session: Session, subject: Subject, rows: Any) -> list[ResourceItem]:
    items = []
    for r in rows:
        versions = resource_service.versions(session, subject, r.id)
        current = next((v for v in versions if v.version == r.catalog_version), None)
        check = opening_service.check(session, r)
        items.append(ResourceItem(r, current, first=r.catalog_version <= 1, check=check))
    return items


def _rows(session: Session, subject: Subject, tab: str, limit: int, offset: int) -> tuple[Any, int]:
    """One page of a queue's records, in the services' order, and the queue's total."""
    if tab == "catalog":
        return resource_service.listing(
            session, subject, status=["submitted"], limit=limit, offset=offset
        )
    if tab == "admissions":
        return admission_service.list(
            session, subject, status="submitted", limit=limit, offset=offset
        )
    if tab == "versions":  # new versions of published resources, staged until accepted
        return dataset_service.staged(session, subject, limit, offset)
    return request_service.list(
        session,
        subject,
        role="provider" if tab == "provider" else None,
        status="provider_review" if tab == "provider" else "authority_review",
        limit=limit,
        offset=offset,
        channel=None if tab == "provider" else tab,
    )


def queue(
    session: Session, subject: Subject, tab: str, limit: int, offset: int
) -> tuple[list[Any], int]:
    """One page of a queue as items with their facts, and the queue's total."""
    rows, total = _rows(session, subject, tab, limit, offset)
    if tab == "catalog":
        return resource_items(session, subject, rows), total
    if tab in ("admissions", "versions"):
        return list(rows), total
    return request_items(session, subject, rows), total


def _helpers(request: Request) -> dict[str, Any]:
    lang = lang_of(request)
    i = 0 if lang == "zh" else 1
    return {
        "show": lambda v: show_value(v, lang),
        "diff_key": lambda k: diff_key(k, lang),
        "narrowing": lambda n, labels: narrowing_parts(n, labels, lang),
        "state": lambda s: _state(s, lang),
        "delivery": lambda m: DELIVERY_MODES.get(m, (m, m))[i],
        "ptype": lambda c: (
            (TYPES[c].label_zh if i == 0 else TYPES[c].label_en) if c in TYPES else (c or "—")
        ),
        "pi": lambda c: classification_rules.PI_CLASSES.get(c, (c, c))[i],
        "op": lambda rule: MASKING_OPS.get(rule.get("op", ""), (rule.get("op"),) * 2)[i],
    }


# --- the page ----------------------------------------------------------------------------------
@router.get("/reviews", response_class=HTMLResponse)
def reviews(
    request: Request,
    subject: Subject = Depends(QUEUES),
    session: Session = SESSION,
) -> HTMLResponse:
    """The review queues this subject works, one tab each, with what waits and its deadline."""
    tabs = tabs_for(subject)
    asked = request.query_params.get("tab")
    tab = asked if asked in AUTHORITY_TABS + PROVIDER_TABS else tabs[0]
    if tab not in tabs:
        en, zh = words("rev.not_your_queue")
        raise Forbidden(en, zh, code="not_your_queue")
    page_no = page_number(request.query_params.get("page"))
    counts = {t: _rows(session, subject, t, 1, 0)[1] for t in tabs}
    items, total = queue(session, subject, tab, PAGE_SIZE, (page_no - 1) * PAGE_SIZE)
    return page(
        request,
        "ws/reviews/index.html",
        subject,
        section="reviews",
        tabs=tabs,
        tab=tab,
        counts=counts,
        items=items,
        total=total,
        page_no=page_no,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        **_helpers(request),
    )


def _outcome(
    request: Request,
    session: Session,
    subject: Subject,
    anchor: str,
    tab: str,
    **values: Any,
) -> HTMLResponse:
    """The decided item, replacing the one the form was in, and the queue's new count (out of
    band, into its tab) when the subject works that queue."""
    session.flush()
    count = _rows(session, subject, tab, 1, 0)[1] if tab in tabs_for(subject) else None
    response = render(
        request,
        "ws/reviews/_outcome.html",
        subject,
        anchor=anchor,
        tab=tab if count is not None else None,
        count=count,
        **_helpers(request),
        **values,
    )
    response.headers["HX-Retarget"] = f"#{anchor}"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


# --- catalog publications ----------------------------------------------------------------------
# Refusals that are the answer itself, not a decision someone else took first.
PUBLICATION_REFUSALS = frozenset(
    {"stale_findings", "open_check_failed", "publication_check_unavailable"}
)


def _stale_guard(run: Callable[[], Any], current: Callable[[], str]) -> Any:
    """Run a decision; a state conflict the pre-check did not see reads as "already decided"."""
    try:
        return run()
    except Conflict as exc:
        if exc.code == "already_decided" or exc.code in PUBLICATION_REFUSALS:
            raise
        raise already_decided(current()) from exc


def _decide_resource(
    request: Request,
    session: Session,
    subject: Subject,
    resource_id: str,
    act: Callable[[str], Any],
) -> HTMLResponse:
    """Publish or return a resource still submitted, and answer with the outcome."""
    resource = resource_service.get_for_review(session, subject, resource_id)
    if resource.status != "submitted":
        raise already_decided(resource.status)
    _stale_guard(lambda: act(resource.id), lambda: resource.status)
    return _outcome(
        request,
        session,
        subject,
        f"rev-res-{resource.id}",
        "catalog",
        kind="resource",
        resource=resource,
    )


@router.post("/reviews/resources/{resource_id}/publish", response_class=HTMLResponse)
def publish_resource(
    resource_id: str,
    request: Request,
    version_id: str = Form(default="", max_length=26),
    findings_digest: str = Form(default="", max_length=64),
    subject: Subject = Depends(CATALOG_REVIEW),
    session: Session = SESSION,
) -> HTMLResponse:
    """Publish a submitted resource; the first publication issues its registration code. The
    form carries the version and findings digest its publication card showed: a page older than
    the current version or its findings is refused (``stale_findings``). A post without them
    (API-style) is checked as the API is: the publication check still holds."""
    return _decide_resource(
        request,
        session,
        subject,
        resource_id,
        lambda rid: resource_service.publish(
            session,
            subject,
            rid,
            version_id=version_id if findings_digest else None,
            findings_digest=findings_digest or None,
        ),
    )


@router.post("/reviews/resources/{resource_id}/return", response_class=HTMLResponse)
def return_resource(
    resource_id: str,
    request: Request,
    reason: str = Form(default=""),
    subject: Subject = Depends(CATALOG_REVIEW),
    session: Session = SESSION,
) -> HTMLResponse:
    """Return a submitted resource to its provider with the reason (退回)."""
    text = _reason(reason, required=True) or ""
    return _decide_resource(
        request,
        session,
        subject,
        resource_id,
        lambda rid: resource_service.send_back(session, subject, rid, text),
    )


# --- share requests and open applications ------------------------------------------------------
def _narrowing(
    item: RequestItem,
    narrow_fields: bool,
    fields: list[str],
    term_days: str,
    calls_per_day: str,
    rows_per_day: str,
    masks: tuple[list[str], list[str], list[str]] = ([], [], []),
) -> sharing_schemas.Narrowing | None:
    """What the form narrows, checked against what is still on offer: fields may only be
    unticked, the term only shortened; quotas are optional; masking per field (grant masking)."""
    changes: dict[str, Any] = {}
    if narrow_fields:
        extra = [f for f in fields if f not in item.fields]
        if extra:
            raise invalid("rev.fields_not_offered", "fields_not_requested", v=", ".join(extra))
        if not fields:
            raise invalid("rev.no_fields", "no_fields")
        if set(fields) != set(item.fields):
            changes["fields"] = [f for f in item.fields if f in set(fields)]
    term = _optional_int(term_days, "rev.term")
    if term is not None:
        if term > item.term_days:
            raise invalid("rev.term_longer", "term_not_shorter", days=item.term_days)
        if term < item.term_days:
            changes["term_days"] = term
    for key, value in (("calls_per_day", calls_per_day), ("rows_per_day", rows_per_day)):
        number = _optional_int(value, f"rev.{key}")
        if number is not None:
            changes[key] = number
    withheld = set(item.fields) - set(changes.get("fields", item.fields))
    changes.update(_mask_choices(item, masks, withheld))
    return validated(sharing_schemas.Narrowing, changes) if changes else None


# grant masking: what each choice of the per-field select asks the service for
MASK_CHOICES: dict[str, dict[str, Any]] = {
    "mask": {"op": "mask"},
    "pseudonymize": {"op": "pseudonymize"},
    "suppress": {"op": "suppress"},
}


def _mask_choices(
    item: RequestItem, masks: tuple[list[str], list[str], list[str]], withheld: set[str]
) -> dict[str, Any]:
    """The per-field masking choices of the form as the API's ``masking`` and ``unmask``:
    ``keep`` changes nothing, ``unmask`` lifts a default mask with its reason (the service
    decides whether it may), the others add a rule. Fields withheld in the same form are left
    out; a choice for a field not on offer or not on the menu is refused."""
    names, ops, reasons = masks
    if not (len(names) == len(ops) == len(reasons)):
        raise invalid("rev.mask.mismatch", "masking_form_mismatch")
    rules: dict[str, dict[str, Any]] = {}
    lifts: dict[str, str] = {}
    for name, op, reason in zip(names, ops, reasons, strict=True):
        if name not in item.fields:
            raise invalid("rev.fields_not_offered", "fields_not_requested", v=name)
        if op == "keep" or name in withheld:
            continue
        if op == "unmask":
            lifts[name] = reason
        elif op in MASK_CHOICES:
            rules[name] = dict(MASK_CHOICES[op])
        else:
            raise invalid("rev.mask.bad_choice", "invalid_masking_choice", v=name)
    return {
        **({"masking": rules} if rules else {}),
        **({"unmask": lifts} if lifts else {}),
    }


@router.post("/reviews/requests/{request_id}/decision", response_class=HTMLResponse)
def decide_request(
    request_id: str,
    request: Request,
    decision: str = Form(default=""),
    stage: str = Form(default=""),
    reason: str = Form(default=""),
    narrow_fields: bool = Form(default=False),
    fields: list[str] = Form(default_factory=list),
    term_days: str = Form(default=""),
    calls_per_day: str = Form(default=""),
    rows_per_day: str = Form(default=""),
    mask_field: list[str] = Form(default_factory=list),
    mask_op: list[str] = Form(default_factory=list),
    unmask_reason: list[str] = Form(default_factory=list),
    subject: Subject = Depends(REQUEST_REVIEW),
    session: Session = SESSION,
) -> HTMLResponse:
    """Approve (possibly narrowed) or reject with a reason, as the provider or the authority.
    Each field on offer has a masking choice (``mask_field``/``mask_op``/``unmask_reason``,
    in the same order): keep, a stronger rule, or release unmasked with a reason."""
    approve, text = _decision(decision, reason)
    req = request_service.get_for_decision(session, subject, request_id)
    current = STAGE_OF.get(req.status)
    if current is None or (stage and stage != current):
        raise already_decided(req.status)
    [item] = request_items(session, subject, [req])
    narrowing = (
        _narrowing(
            item,
            narrow_fields,
            fields,
            term_days,
            calls_per_day,
            rows_per_day,
            (mask_field, mask_op, unmask_reason),
        )
        if approve
        else None
    )
    data = sharing_schemas.Decision(approve=approve, reason=text, narrowing=narrowing)
    _stale_guard(lambda: request_service.decide(session, subject, req.id, data), lambda: req.status)
    return _outcome(
        request,
        session,
        subject,
        f"rev-req-{req.id}",
        "provider" if current == "provider" else req.channel,
        kind="request",
        req=req,
        item=item,
    )


# --- admissions --------------------------------------------------------------------------------
@router.post("/reviews/admissions/{admission_id}/decision", response_class=HTMLResponse)
def decide_admission(
    admission_id: str,
    request: Request,
    decision: str = Form(default=""),
    reason: str = Form(default=""),
    subject: Subject = Depends(ADMISSION_REVIEW),
    session: Session = SESSION,
) -> HTMLResponse:
    """Admit an operator or service provider, or reject its application with a reason."""
    approve, text = _decision(decision, reason)
    admission = admission_service.get_for_decision(session, subject, admission_id)
    if admission.status != "submitted":
        raise already_decided(admission.status)
    _stale_guard(
        lambda: admission_service.decide(session, subject, admission.id, approve, text),
        lambda: admission.status,
    )
    return _outcome(
        request,
        session,
        subject,
        f"rev-adm-{admission.id}",
        "admissions",
        kind="admission",
        admission=admission,
    )
