"""The resources area 数据资源 of the workspace at ``/workspace/resources``: the unit's catalog
entries (every unit's for the data authority and auditors), registration and editing with the
full catalog form (CAT-1), and each resource's page with its tabs — overview and submission for
review, dataset versions with their profiles, the chunked resumable upload (``static/upload.js``
over the JSON API), the classification review and the ledger trail.

Pages are thin over ``resource_service``, ``dataset_service`` and ``classification_service``: the
services decide who may act; the pages only hide the controls the services would refuse.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.catalog import rules as catalog_rules
from yaosu.catalog import schemas as catalog_schemas
from yaosu.catalog import tasks as version_tasks
from yaosu.catalog.service import dataset_service, resource_service
from yaosu.classification import rules as classification_rules
from yaosu.classification import schemas as classification_schemas
from yaosu.classification.service import classification_service
from yaosu.identity.access import require
from yaosu.identity.service import org_service
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Conflict, Invalid, NotFound, not_found
from yaosu.web import i18n
from yaosu.web.common import blank, go, lang_of, page_number, render, validated
from yaosu.web.workspace import AUTHORITY, OVERSIGHT, page

router = APIRouter(prefix="/workspace", include_in_schema=False)

# The same callers as the catalog and classification APIs these pages stand in for.
READ = require(scope="catalog:read")
EDIT = require("data_officer", "cdo", "platform_admin", scope="catalog:write")
GRADE = require("data_officer", "cdo", "reviewer", "platform_admin", scope="catalog:write")
DECIDE = require("reviewer", "platform_admin", scope="catalog:write")
ROLLBACK = require("reviewer", "platform_admin", "cdo", scope="catalog:write")
REGISTRARS = frozenset({"data_officer", "cdo", "platform_admin"})

PAGE_SIZE = 20
STATUSES = tuple(catalog_rules.STATES)
TABS = ("overview", "versions", "upload", "classification", "trail")
ENCODINGS = ("utf-8", "gbk", "gb18030", "big5", "shift_jis", "utf-16")
CHUNK_BYTES = 1 << 20  # upload.js sends chunks of this size (a page may ask for smaller ones)
ACTIVE_JOB = ("queued", "running")
# The words upload.js shows, handed to it in the page (res.up.<name>).
UPLOAD_WORDS = (
    "choose_file",
    "opening",
    "sending",
    "resuming",
    "paused",
    "interrupted",
    "retrying",
    "completing",
    "other_file",
    "done",
    "failed",
    "job_status",
    "job_rows",
    "job_bytes",
    "see_versions",
    "see_classification",
    "retry",
    "st.queued",
    "st.running",
    "st.succeeded",
    "st.failed",
    "st.cancelled",
)
_SPLIT = re.compile(r"[,，、;；\s]+")


def human_size(n: int | None) -> str:
    """Bytes as the page shows them: 950 B, 12.4 KB, 3.1 MB."""
    if n is None:
        return "—"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _helpers(request: Request) -> dict[str, Any]:
    lang = lang_of(request)
    i = 0 if lang == "zh" else 1
    return {
        "state": lambda s: i18n.t(f"res.state.{s}", lang),
        "size": human_size,
        "pi": lambda c: classification_rules.PI_CLASSES.get(c, (c, c))[i],
        "flow": classification_rules.sharing_flow,
    }


# --- the list ----------------------------------------------------------------------------------
@dataclass
class Listing:
    """One page of the list as the template shows it."""

    view: str  # unit, city or proposed
    status: str | None
    rows: list[Any]
    total: int
    page_no: int
    pages: int
    counts: dict[str, int]
    providers: dict[str, str]


def _unit_filter(subject: Subject) -> str | None:
    """The unit's own resources; the data authority and auditors see every unit's."""
    return None if subject.roles & OVERSIGHT else subject.org_id


def listing(session: Session, subject: Subject, params: Any) -> Listing:
    status = params.get("status") if params.get("status") in STATUSES else None
    view = "unit"
    if params.get("classification") == "proposed":
        view = "proposed"
    elif params.get("scope") == "city":
        view = "city"
    page_no = page_number(params.get("page"))
    offset = (page_no - 1) * PAGE_SIZE
    provider = _unit_filter(subject)
    if view == "proposed":
        pairs, total = classification_service.awaiting_review(session, subject, PAGE_SIZE, offset)
        rows = [r for _, r in pairs]
    elif view == "city":
        status = None
        rows, total = resource_service.listing(
            session, subject, status=["published"], limit=PAGE_SIZE, offset=offset
        )
    else:
        rows, total = resource_service.listing(
            session,
            subject,
            status=[status] if status else None,
            provider_id=provider,
            limit=PAGE_SIZE,
            offset=offset,
        )
    counts = {
        s: resource_service.listing(session, subject, status=[s], provider_id=provider, limit=1)[1]
        for s in STATUSES
    }
    counts["proposed"] = classification_service.awaiting_review(session, subject, 1)[1]
    providers = org_service.names(session, subject, sorted({r.provider_id for r in rows}))
    return Listing(
        view=view,
        status=status,
        rows=list(rows),
        total=total,
        page_no=page_no,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        counts=counts,
        providers=providers,
    )


@router.get("/resources", response_class=HTMLResponse)
def resources(
    request: Request,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """The unit's resources by status, those whose classification awaits review, or the city's
    published catalog; paginated. Data officers register new ones from here."""
    found = listing(session, subject, request.query_params)
    return page(
        request,
        "ws/resources/index.html",
        subject,
        section="resources",
        listing=found,
        statuses=STATUSES,
        can_register=bool(subject.roles & REGISTRARS),
        staff=bool(subject.roles & OVERSIGHT),
        **_helpers(request),
    )


# --- the catalog form (register and edit) --------------------------------------------------------
def _choices() -> dict[str, Any]:
    return {
        "formats": list(catalog_rules.FORMATS),
        "update_cycles": list(catalog_rules.UPDATE_CYCLES),
        "base_libraries": list(catalog_rules.BASE_LIBRARIES),
        "share_attributes": list(catalog_rules.SHARE_ATTRIBUTES),
        "share_methods": list(catalog_rules.SHARE_METHODS),
        "open_attributes": list(catalog_rules.OPEN_ATTRIBUTES),
        "describes_choices": list(catalog_rules.DESCRIBES),
        "field_types": list(catalog_rules.FIELD_TYPES),
        "code_pattern": catalog_rules.CLASS_CODE.pattern.strip("^$"),
    }


def _where(loc: list[Any], lang: str) -> str:
    """A validation error's location as the form's words: "信息项第 2 行 名称"."""
    head = str(loc[0]) if loc else ""
    if head == "fields" and len(loc) >= 3:
        return i18n.t("res.err.row", lang, n=int(loc[1]) + 1, what=i18n.t(f"res.fi.{loc[2]}", lang))
    if head == "contact" and len(loc) >= 2:
        return i18n.t(f"res.f.contact_{loc[1]}", lang)
    return i18n.t(f"res.f.{head}", lang)


def _problem(f: dict[str, Any], lang: str) -> str:
    """The reason in the page's language (``kit.validation`` wrote both)."""
    return str(f.get("reason_zh" if lang == "zh" else "reason") or i18n.t("res.err.bad", lang))


def explained(exc: Invalid) -> Invalid:
    """A schema error naming the form's own labels in both languages, e.g. "请检查：资源名称
    （不能为空）", instead of the schema's field paths."""
    fields = exc.details.get("fields") or []
    if not fields:
        return exc

    def part(f: dict[str, Any], lang: str) -> str:
        where, what = _where(f["loc"], lang), _problem(f, lang)
        return f"{where}（{what}）" if lang == "zh" else f"{where} ({what})"

    parts = {
        lang: ("；" if lang == "zh" else "; ").join(part(f, lang) for f in fields)
        for lang in i18n.LANGS
    }
    return Invalid(
        i18n.t("res.err.check", "en", where=parts["en"]),
        i18n.t("res.err.check", "zh", where=parts["zh"]),
        code=exc.code,
        fields=fields,
    )


def _form_values(resource: Any | None) -> dict[str, Any]:
    if resource is None:
        return {
            "fields": [{"name": "", "label_zh": "", "type": "string", "description": ""}],
            "contact": {},
        }
    values = {k: getattr(resource, k) for k in catalog_schemas.ResourceCreate.model_fields}
    values["fields"] = list(resource.fields or []) or _form_values(None)["fields"]
    values["keywords"] = "、".join(resource.keywords or [])
    values["contact"] = resource.contact or {}
    return values


@router.get("/resources/new", response_class=HTMLResponse)
def new_resource(request: Request, subject: Subject = Depends(EDIT)) -> HTMLResponse:
    """The catalog form (CAT-1) for a new resource of the user's unit."""
    return page(
        request,
        "ws/resources/form.html",
        subject,
        section="resources",
        resource=None,
        values=_form_values(None),
        **_choices(),
    )


def catalog_form(
    name: str = Form(default=""),
    name_en: str = Form(default=""),
    summary: str = Form(default=""),
    format: str = Form(default=""),
    field_name: list[str] = Form(default_factory=list),
    field_label: list[str] = Form(default_factory=list),
    field_type: list[str] = Form(default_factory=list),
    field_description: list[str] = Form(default_factory=list),
    update_cycle: str = Form(default=""),
    base_library: str = Form(default=""),
    describes: str = Form(default=""),
    theme: str = Form(default=""),
    share_attribute: str = Form(default=""),
    share_conditions: str = Form(default=""),
    share_legal_basis: str = Form(default=""),
    share_method: str = Form(default=""),
    open_attribute: str = Form(default=""),
    source_system: str = Form(default=""),
    authoritative: bool = Form(default=False),
    keywords: str = Form(default=""),
    contact_name: str = Form(default=""),
    contact_phone: str = Form(default=""),
    contact_email: str = Form(default=""),
) -> dict[str, Any]:
    """The catalog form (registration and editing) as metadata: empty choices are "not given",
    rows left entirely blank are dropped, keywords split on commas, 、 or spaces."""
    rows = []
    count = max(len(field_name), len(field_label), len(field_type), len(field_description))

    def at(values: list[str], i: int) -> str:
        return values[i].strip() if i < len(values) else ""

    for i in range(count):
        row = {
            "name": at(field_name, i),
            "label_zh": at(field_label, i),
            "type": at(field_type, i) or "string",
            "description": at(field_description, i),
        }
        if row["name"] or row["label_zh"] or row["description"]:
            rows.append(row)
    return {
        "name": name.strip(),
        "name_en": blank(name_en),
        "summary": summary.strip(),
        "format": blank(format),
        "fields": rows,
        "describes": blank(describes),
        "update_cycle": blank(update_cycle),
        "base_library": blank(base_library),
        "theme": blank(theme),
        "share_attribute": blank(share_attribute),
        "share_conditions": blank(share_conditions),
        "share_legal_basis": blank(share_legal_basis),
        "share_method": blank(share_method),
        "open_attribute": blank(open_attribute),
        "source_system": blank(source_system),
        "authoritative": authoritative,
        "keywords": [k for k in _SPLIT.split(keywords) if k],
        "contact": {
            "name": contact_name.strip(),
            "phone": contact_phone.strip(),
            "email": contact_email.strip(),
        },
    }


@router.post("/resources/new")
def register_resource(
    request: Request,
    classification_code: str = Form(default=""),
    payload: dict[str, Any] = Depends(catalog_form),
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> Response:
    """Register the resource as a draft of the user's unit; then go to its page."""
    payload["classification_code"] = classification_code.strip()
    try:
        data = validated(catalog_schemas.ResourceCreate, payload)
    except Invalid as exc:
        raise explained(exc) from None
    twin = resource_service.same_entry(session, subject, data.classification_code, data.name)
    if twin is not None:  # a form sent twice, or an entry registered already
        raise Conflict(
            i18n.t("res.already_registered", "en", code=twin.code),
            i18n.t("res.already_registered", "zh", code=twin.code),
            code="already_registered",
            resource_id=twin.id,
        )
    resource = resource_service.register(session, subject, data)
    return go(request, f"/workspace/resources/{resource.id}")


@router.get("/resources/{resource_id}/edit", response_class=HTMLResponse)
def edit_resource(
    resource_id: str,
    request: Request,
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> HTMLResponse:
    """The catalog form filled with the resource's metadata (draft, returned or published)."""
    resource = resource_service.get(session, subject, resource_id)
    resource_service.require_editor(subject, resource)
    return page(
        request,
        "ws/resources/form.html",
        subject,
        section="resources",
        resource=resource,
        values=_form_values(resource),
        **_choices(),
    )


@router.post("/resources/{resource_id}/edit")
def update_resource(
    resource_id: str,
    request: Request,
    payload: dict[str, Any] = Depends(catalog_form),
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> Response:
    """Save the metadata; a published entry goes back to review as a new catalog version."""
    try:
        data = validated(catalog_schemas.ResourceUpdate, payload)
    except Invalid as exc:
        raise explained(exc) from None
    resource = resource_service.get_for_review(session, subject, resource_id)
    resource_service.update(session, subject, resource.id, data)
    return go(request, f"/workspace/resources/{resource.id}")


# --- the resource page ---------------------------------------------------------------------------
def tabs_for(subject: Subject, resource: Any) -> list[str]:
    """The tabs this subject may open: data tabs for the provider unit and the data authority,
    the upload for those who may add versions."""
    data_ok = dataset_service.may_read_data(subject, resource)
    editor = resource_service.may_edit(subject, resource)
    return [
        t
        for t, shown in (
            ("overview", True),
            ("versions", data_ok),
            ("upload", editor),
            ("classification", data_ok),
            ("trail", True),
        )
        if shown
    ]


def _versions(session: Session, subject: Subject, resource: Any, wanted: str | None) -> Any:
    versions = dataset_service.versions(session, subject, resource.id)
    chosen = None
    if versions:
        vid = wanted if wanted in {v.id for v in versions} else versions[0].id
        chosen = dataset_service.version(session, subject, vid)
    targets = [v for v in versions if v.state == "accepted" and v.id != resource.current_version_id]
    return {
        "versions": versions,
        "chosen": chosen,
        "may_decide": dataset_service.may_decide(subject) and resource.status != "retired",
        "may_roll_back": dataset_service.may_roll_back(subject, resource)
        and resource.status != "retired",
        "rollback_targets": targets,
    }


def _upload(session: Session, subject: Subject, resource: Any, lang: str) -> Any:
    resource_service.require_editor(subject, resource)
    jobs, _ = dataset_service.jobs(session, subject, resource.id, 5, 0)
    active = next((j for j in jobs if j.status in ACTIVE_JOB), None)
    return {
        "jobs": jobs,
        "active_job": active,
        "encodings": ENCODINGS,
        "chunk_bytes": CHUNK_BYTES,
        "upload_words": {w: i18n.t(f"res.up.{w}", lang) for w in UPLOAD_WORDS},
    }


@dataclass
class ClassificationView:
    """The current version's classification and what this subject may do with it."""

    resource: Any
    version: Any | None
    vc: Any | None
    types: list[Any]
    grades: list[Any]
    may_fields: bool
    may_grade: bool
    describes_choices: tuple[str, ...] = tuple(catalog_rules.DESCRIBES)


def classification_view(session: Session, subject: Subject, resource: Any) -> ClassificationView:
    version = vc = None
    if resource.current_version_id:
        version = dataset_service.version(session, subject, resource.current_version_id)
        try:
            vc = classification_service.get(session, subject, version.id)
        except NotFound:
            vc = None  # the classifier could not read it; the ledger says so
    else:
        dataset_service.versions(session, subject, resource.id)  # the data-access check
    vocabulary = classification_service.vocabulary()
    editor = resource_service.may_edit(subject, resource)
    return ClassificationView(
        resource=resource,
        version=version,
        vc=vc,
        types=vocabulary.types,
        grades=vocabulary.grades,
        may_fields=editor,
        may_grade=editor or bool(subject.roles & AUTHORITY),
    )


def _type_label(types: list[Any], lang: str) -> Any:
    labels = {t.code: (t.label_zh if lang == "zh" else t.label_en) for t in types}

    def label(code: str | None) -> str:
        if code is None:
            return i18n.t("res.cls.no_type", lang)
        return labels.get(code, code)

    return label


@router.get("/resources/{resource_id}", response_class=HTMLResponse)
def resource_page(
    resource_id: str,
    request: Request,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """A resource with its tabs: overview, versions and profiles, upload, classification and
    the ledger trail (``?tab=``)."""
    resource = resource_service.get(session, subject, resource_id)
    tabs = tabs_for(subject, resource)
    asked = request.query_params.get("tab")
    tab = asked if asked in TABS else "overview"
    values: dict[str, Any] = {}
    if tab == "versions":
        values = _versions(session, subject, resource, request.query_params.get("version"))
    elif tab == "upload":
        values = _upload(session, subject, resource, lang_of(request))
    elif tab == "classification":
        view = classification_view(session, subject, resource)
        values = {"cv": view, "type_label": _type_label(view.types, lang_of(request))}
    provider = org_service.names(session, subject, [resource.provider_id])
    mine = subject.org_id == resource.provider_id
    return page(
        request,
        "ws/resources/resource.html",
        subject,
        section="resources",
        r=resource,
        tab=tab,
        tabs=tabs,
        provider_name=provider.get(resource.provider_id, resource.provider_id),
        may_edit=resource_service.may_edit(subject, resource),
        can_submit=resource_service.may_edit(subject, resource)
        and resource.status in ("draft", "returned"),
        can_request=resource.status == "published"
        and not mine
        and resource.share_attribute in ("unconditional", "conditional"),
        **values,
        **_helpers(request),
    )


def _not_submittable(status: str) -> Conflict:
    """A stale page or a second click: the resource is no longer a draft to submit."""
    return Conflict(
        i18n.t("res.not_submittable", "en", status=i18n.t(f"res.state.{status}", "en")),
        i18n.t("res.not_submittable", "zh", status=i18n.t(f"res.state.{status}", "zh")),
        code="not_submittable",
        current=status,
    )


@router.post("/resources/{resource_id}/submit")
def submit_resource(
    resource_id: str,
    request: Request,
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> Response:
    """Submit a draft (or a returned entry) for the data authority's review."""
    resource = resource_service.get_for_review(session, subject, resource_id)
    resource_service.require_editor(subject, resource)
    if resource.status not in ("draft", "returned"):
        raise _not_submittable(resource.status)
    resource_service.submit(session, subject, resource.id)
    return go(request, f"/workspace/resources/{resource.id}")


# --- classification review -----------------------------------------------------------------------
def _words_error(kind: type[Invalid] | type[Conflict], key: str, code: str, **kw: Any) -> Any:
    return kind(i18n.t(key, "en", **kw), i18n.t(key, "zh", **kw), code=code)


def _current(session: Session, subject: Subject, resource_id: str, version_id: str) -> Any:
    """The resource, if the version the page showed is still its current one."""
    resource = resource_service.get_for_review(session, subject, resource_id)
    if not version_id or version_id != resource.current_version_id:
        raise _words_error(Conflict, "res.cls.stale_version", "stale_version")
    return resource


def _required_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise _words_error(Invalid, "res.cls.reason_required", "reason_required")
    return text


def _classification_fragment(
    request: Request, session: Session, subject: Subject, resource: Any, done: str
) -> HTMLResponse:
    """The re-rendered tab, replacing the one the form was in."""
    view = classification_view(session, subject, resource)
    response = render(
        request,
        "ws/resources/_classification.html",
        subject,
        cv=view,
        type_label=_type_label(view.types, lang_of(request)),
        done=done,
        **_helpers(request),
    )
    response.headers["HX-Retarget"] = "#res-classification"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


@router.post("/resources/{resource_id}/classification/fields", response_class=HTMLResponse)
def review_field(
    resource_id: str,
    request: Request,
    version_id: str = Form(default=""),
    column: str = Form(default=""),
    action: str = Form(default="accept"),
    type: str = Form(default=""),
    pi_class: str = Form(default=""),
    reason: str = Form(default=""),
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> HTMLResponse:
    """Accept a field's detected type, or change it or its personal-information class (any
    change needs a reason)."""
    resource = _current(session, subject, resource_id, version_id)
    vc = classification_service.get(session, subject, version_id)
    field = next((f for f in vc.fields if f.column == column), None)
    if field is None:
        raise not_found("Column", "字段", column)
    if action == "change":
        if not type:
            raise _words_error(Invalid, "res.cls.type_required", "type_required")
        data = validated(
            classification_schemas.FieldReview,
            {
                "column": column,
                "type": type,
                "pi_class": pi_class or None,
                "reason": _required_reason(reason),
            },
        )
    else:
        data = classification_schemas.FieldReview(column=column, type=field.detected_type or "none")
    classification_service.review_field(session, subject, version_id, data)
    return _classification_fragment(request, session, subject, resource, f"field:{column}")


@router.post("/resources/{resource_id}/classification/grade", response_class=HTMLResponse)
def review_grade(
    resource_id: str,
    request: Request,
    version_id: str = Form(default=""),
    proposed: str = Form(default=""),
    action: str = Form(default="accept"),
    grade: str = Form(default=""),
    reason: str = Form(default=""),
    subject: Subject = Depends(GRADE),
    session: Session = SESSION,
) -> HTMLResponse:
    """Accept the proposed grade, or set another one with a reason."""
    resource = _current(session, subject, resource_id, version_id)
    vc = classification_service.get(session, subject, version_id)
    if proposed != vc.proposed_grade:  # the proposal moved since the page was shown
        raise _words_error(Conflict, "res.cls.stale_proposal", "stale_proposal")
    if action == "change":
        data = validated(
            classification_schemas.GradeReview,
            {"grade": grade, "reason": _required_reason(reason)},
        )
    else:
        data = classification_schemas.GradeReview(grade=vc.proposed_grade)
    classification_service.review_grade(session, subject, version_id, data)
    return _classification_fragment(request, session, subject, resource, "grade")


@router.post("/resources/{resource_id}/classification/describes", response_class=HTMLResponse)
def review_describes(
    resource_id: str,
    request: Request,
    version_id: str = Form(default=""),
    describes: str = Form(default=""),
    reason: str = Form(default=""),
    subject: Subject = Depends(GRADE),
    session: Session = SESSION,
) -> HTMLResponse:
    """Correct what the table's rows describe 描述对象, with a reason (in the ledger)."""
    resource = _current(session, subject, resource_id, version_id)
    data = validated(
        classification_schemas.DescribesReview,
        {"describes": describes, "reason": _required_reason(reason)},
    )
    classification_service.review_describes(session, subject, version_id, data)
    return _classification_fragment(request, session, subject, resource, "describes")


# --- staged versions: accept or reject; rollback -------------------------------------------------
def _version_of(session: Session, subject: Subject, resource_id: str, version_id: str) -> Any:
    """The version the form named, if it belongs to the resource the page showed."""
    resource = resource_service.get(session, subject, resource_id)
    versions = {v.id: v for v in dataset_service.versions(session, subject, resource.id)}
    if version_id not in versions:
        raise _words_error(Invalid, "res.ver.not_this_resource", "version_not_of_resource")
    return resource, versions[version_id]


@router.post("/resources/{resource_id}/versions/{version_id}/accept")
def accept_version(
    resource_id: str,
    version_id: str,
    request: Request,
    reason: str = Form(default=""),
    subject: Subject = Depends(DECIDE),
    session: Session = SESSION,
) -> Response:
    """Accept a staged version (the data authority): it becomes current and is served."""
    resource, version = _version_of(session, subject, resource_id, version_id)
    version_tasks.accept_version(session, subject, version.id, reason.strip() or None)
    return go(request, f"/workspace/resources/{resource.id}?tab=versions&version={version.id}")


@router.post("/resources/{resource_id}/versions/{version_id}/reject")
def reject_version(
    resource_id: str,
    version_id: str,
    request: Request,
    reason: str = Form(default=""),
    subject: Subject = Depends(DECIDE),
    session: Session = SESSION,
) -> Response:
    """Reject a staged version with a reason (the data authority): it is never served."""
    resource, version = _version_of(session, subject, resource_id, version_id)
    version_tasks.reject_version(session, subject, version.id, _required_reason(reason))
    return go(request, f"/workspace/resources/{resource.id}?tab=versions&version={version.id}")


@router.post("/resources/{resource_id}/rollback")
def rollback_version(
    resource_id: str,
    request: Request,
    version_id: str = Form(default=""),
    reason: str = Form(default=""),
    subject: Subject = Depends(ROLLBACK),
    session: Session = SESSION,
) -> Response:
    """Serve an earlier accepted version again (a reviewer, or the provider's chief data
    officer), with the reason in the ledger."""
    resource = resource_service.get(session, subject, resource_id)
    back = version_tasks.rollback(session, subject, resource.id, version_id, reason)
    return go(request, f"/workspace/resources/{resource.id}?tab=versions&version={back.id}")
