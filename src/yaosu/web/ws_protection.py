"""Data protection 数据安全 in the workspace: the important-data catalog 重要数据目录, named
masking policies 脱敏策略, masked exports of a dataset version and its k-anonymity report.

Pages are thin over ``important_data_service`` and ``masking_service``, with the same callers as
``/api/v1/important-data``, ``/api/v1/masking-policies`` and the versions' ``masked-export`` and
``k-anonymity`` endpoints: the services decide, the pages show their refusals in the page's
language (a policy that does not fit lists every problem at once).

The masked export is a real download: ``static/protection.js`` posts the form with the CSRF
header (htmx cannot save a file) and hands the answer to the browser as a file, with the row
count and SHA-256 the API sends in its headers.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, get_args
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from yaosu.api.deps import SESSION
from yaosu.catalog.schemas import Reason
from yaosu.catalog.service import dataset_service, resource_service
from yaosu.classification import masking, schemas
from yaosu.classification.service import (
    classification_service,
    important_data_service,
    masking_service,
)
from yaosu.identity.access import require
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Conflict, Forbidden, Invalid, NotFound
from yaosu.kit.timeutil import aware
from yaosu.web import i18n
from yaosu.web.common import go, lang_of, page_number, render, validated, when
from yaosu.web.workspace import page

router = APIRouter(prefix="/workspace", include_in_schema=False)

# The callers of the classification API's endpoints these pages stand in for.
POLICY_WRITERS = frozenset({"data_officer", "cdo", "platform_admin"})
KEEPERS = frozenset({"reviewer", "platform_admin"})
CATALOG_READERS = frozenset({"data_officer", "cdo", "reviewer", "platform_admin", "auditor"})
READ = require(scope="catalog:read")
EDIT = require(*sorted(POLICY_WRITERS), scope="catalog:write")
KEEP = require(*sorted(KEEPERS), scope="catalog:write")
CATALOG_READ = require(*sorted(CATALOG_READERS), scope="catalog:read")

PAGE_SIZE = 20
TABS = ("important", "policies")
ENTRY_STATUSES = ("active", "retired")
KINDS = ("important", "core")
EXPORT_FORMATS = ("csv", "json", "parquet")
OPS = ("mask", "pseudonymize", "hash", "generalize", "suppress", "date_shift")
# The parameters the form asks for each operator (see docs/masking.md).
PARAMS: dict[str, tuple[str, ...]] = {
    "mask": ("format", "keep_first", "keep_last", "char"),
    "pseudonymize": ("algorithm", "length", "format"),
    "hash": ("length", "format"),
    "generalize": ("kind", "width", "cell", "as_of", "top"),
    "suppress": ("drop",),
    "date_shift": ("days", "max_days", "key_column", "key_format"),
}
INT_PARAMS = frozenset({"keep_first", "keep_last", "length", "top", "days", "max_days"})
NUMBER_PARAMS = frozenset({"width", "cell"})
FORMATS = masking.FORMATS
GENERALIZE_KINDS: tuple[str, ...] = get_args(masking.GeneralizeKind)
ALGORITHMS = ("hmac-sha256", "hmac-sm3")
FIRST_RULES = 3  # blank rule rows on a new form; "add a rule" brings more
MAX_RULES = 200
_RULE_KEY = re.compile(r"^rules-(\d{1,3})-column$")
_SPLIT = re.compile(r"[,，、;；\s]+")
_WHOLE = re.compile(r"^[-+]?\d+$")


# --- words ---------------------------------------------------------------------------------------
def _w(key: str) -> str:
    return f"ws.protection.{key}"


def _invalid(key: str, code: str, **values: Any) -> Invalid:
    return Invalid(
        i18n.t(_w(key), "en", **values), i18n.t(_w(key), "zh", **values), code=code, **values
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def describe_rule(rule: Any, lang: str) -> str:
    """One parsed masking rule in plain words: "masked as a resident ID (first 6 and last 4
    kept)", "generalised to 10-year age bands (90+ together)"."""

    def t(key: str, **values: Any) -> str:
        return i18n.t(_w(key), lang, **values)

    def fmt(name: str | None) -> str:
        return t(f"fmt.{name}") if name else ""

    sep = "；" if lang == "zh" else "; "
    op = rule.op
    if op == "mask":
        if rule.format:
            return t("say.mask_format", format=fmt(rule.format), how=t(f"fmt_how.{rule.format}"))
        if not rule.keep_first and not rule.keep_last:
            return t("say.mask_all", char=rule.char)
        return t("say.mask_keep", first=rule.keep_first, last=rule.keep_last, char=rule.char)
    if op in ("pseudonymize", "hash"):
        text = t(f"say.{op}", algorithm=rule.algorithm.upper(), length=rule.length)
        if rule.format and rule.normalize:
            text += sep + t("say.normalized", format=fmt(rule.format))
        return text
    if op == "generalize":
        values: dict[str, Any] = {
            "width": _number(rule.width) if rule.width is not None else "10",
            "cell": _number(rule.cell) if rule.cell is not None else "0.01",
        }
        text = t(f"say.generalize.{rule.kind}", **values)
        if rule.kind == "age_band" and rule.top:
            text += sep + t("say.age_top", top=rule.top)
        if rule.kind == "age_band" and rule.as_of:
            text += sep + t("say.age_as_of", day=rule.as_of.isoformat())
        return text
    if op == "suppress":
        return t("say.drop" if rule.drop else "say.suppress")
    if op == "date_shift":
        if rule.days is not None:
            return t("say.shift_days", days=f"{rule.days:+d}")
        return t("say.shift_keyed", days=rule.max_days, column=rule.key_column or "")
    return op


def describe_rules(rules: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """A policy's rules as (column, words), in the order they were written. Stored policies
    were checked when saved; a rule that no longer parses is shown as it is stored."""
    try:
        parsed = masking.parse_policy({"name": "shown", "rules": rules}).rules
    except Invalid:
        return [(column, str(rule)) for column, rule in rules.items()]
    return [(column, describe_rule(rule, lang)) for column, rule in parsed.items()]


def _helpers(request: Request) -> dict[str, Any]:
    lang = lang_of(request)
    return {
        "describe": lambda rules: describe_rules(rules or {}, lang),
        "when": when,
        "sep": "、" if lang == "zh" else ", ",
        "percent": lambda share: f"{share * 100:.1f}%",
        "num": lambda n: f"{n:,}",
    }


def _problems(request: Request, exc: Invalid) -> HTMLResponse:
    """A refused policy or report with every problem the check found, in the page language."""
    lang = lang_of(request)
    problems = exc.details.get("problems") or []
    response = render(
        request,
        "ws/protection/_problems.html",
        None,
        status_code=exc.status,
        message=exc.message if lang == "en" else exc.message_zh,
        problems=[p.get("message") if lang == "en" else p.get("message_zh") for p in problems],
        code=exc.code,
    )
    response.headers["HX-Reswap"] = "innerHTML"
    return response


def _form_checked(exc: Invalid, labels: dict[str, str]) -> Invalid:
    """A schema error naming the form's own labels in both languages."""
    fields = exc.details.get("fields") or []
    if not fields:
        return exc
    heads = [str(f["loc"][0]) if f["loc"] else "" for f in fields]
    where = {
        lang: ("、" if lang == "zh" else ", ").join(
            dict.fromkeys(i18n.t(_w(labels.get(h, h)), lang) for h in heads)
        )
        for lang in i18n.LANGS
    }
    return Invalid(
        i18n.t(_w("err.check"), "en", where=where["en"]),
        i18n.t(_w("err.check"), "zh", where=where["zh"]),
        code=exc.code,
        fields=fields,
    )


# --- the page and its tabs -----------------------------------------------------------------------
def tabs_for(subject: Subject) -> list[str]:
    """The important-data catalog for its readers; every catalog reader sees the policies."""
    if subject.is_system or subject.roles & CATALOG_READERS:
        return list(TABS)
    return ["policies"]


@dataclass
class RuleRow:
    """One row of the policy form: a column, its operator and that operator's parameters."""

    n: int
    column: str = ""
    op: str = ""
    values: dict[str, str] = field(default_factory=dict)


def _choices() -> dict[str, Any]:
    return {
        "ops": OPS,
        "params": PARAMS,
        "formats": FORMATS,
        "kinds": GENERALIZE_KINDS,
        "algorithms": ALGORITHMS,
    }


def _version_context(session: Session, subject: Subject, version_id: str) -> dict[str, Any]:
    """A version a policy is written for: its columns to choose from, checked on save."""
    if not version_id:
        return {"version": None, "resource": None, "columns": []}
    version = dataset_service.version(session, subject, version_id)
    resource = resource_service.get(session, subject, version.resource_id)
    return {
        "version": version,
        "resource": resource,
        "columns": [str(c["name"]) for c in version.columns],
    }


def _entries_values(
    session: Session, subject: Subject, request: Request, status: str
) -> dict[str, Any]:
    page_no = page_number(request.query_params.get("page"))
    rows, total = important_data_service.listing(
        session, subject, status or None, PAGE_SIZE, (page_no - 1) * PAGE_SIZE
    )
    return {
        "entries": list(rows),
        "total": total,
        "page_no": page_no,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "status": status,
        "statuses": ENTRY_STATUSES,
        "kinds": KINDS,
        "may_keep": subject.is_system or bool(subject.roles & KEEPERS),
    }


def _policies_values(
    session: Session, subject: Subject, request: Request, version_id: str
) -> dict[str, Any]:
    page_no = page_number(request.query_params.get("page"))
    policies = list(masking_service.policies(session, subject))
    total = len(policies)
    shown = policies[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE]
    return {
        "policies": shown,
        "total": total,
        "page_no": page_no,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "may_write": bool(subject.roles & POLICY_WRITERS) and subject.org_id is not None,
        "rows": [RuleRow(n) for n in range(FIRST_RULES)],
        "next_row": FIRST_RULES,
        "created": request.query_params.get("created", ""),
        **_version_context(session, subject, version_id),
        **_choices(),
    }


@router.get("/protection", response_class=HTMLResponse)
def protection(
    request: Request,
    tab: str = Query(default=""),
    status: str = Query(default=""),
    version: str = Query(default="", max_length=64),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """Data protection: the important-data catalog (list by status, add an entry) and the
    unit's masking policies with their rules in words (and the form to write one)."""
    tabs = tabs_for(subject)
    tab = tab if tab in TABS else tabs[0]
    if tab == "important":
        status = status if status in ENTRY_STATUSES else ""
        values = _entries_values(session, subject, request, status)
    else:
        values = _policies_values(session, subject, request, version)
    return page(
        request,
        "ws/protection/index.html",
        subject,
        section="protection",
        tab=tab,
        tabs=tabs,
        **values,
        **_helpers(request),
    )


# --- the important-data catalog ------------------------------------------------------------------
ENTRY_LABELS = {
    "sector": "entry.sector",
    "region_code": "entry.region_code",
    "name": "entry.name",
    "description": "entry.description",
    "kind": "entry.kind",
    "code_prefixes": "entry.code_prefixes",
    "resource_codes": "entry.resource_codes",
    "keywords": "entry.keywords",
    "basis": "entry.basis",
}


def entry_form(
    sector: str = Form(default=""),
    region_code: str = Form(default=""),
    name: str = Form(default=""),
    description: str = Form(default=""),
    kind: str = Form(default="important"),
    code_prefixes: str = Form(default=""),
    resource_codes: str = Form(default=""),
    keywords: str = Form(default=""),
    basis: str = Form(default=""),
) -> dict[str, Any]:
    """The entry form as the API's body: lists split on commas, 、 or spaces; blanks not given."""

    def split(text: str) -> list[str]:
        return [part for part in _SPLIT.split(text) if part]

    return {
        "sector": sector.strip(),
        "region_code": region_code.strip() or None,
        "name": name.strip(),
        "description": description.strip(),
        "kind": kind,
        "code_prefixes": split(code_prefixes),
        "resource_codes": split(resource_codes),
        "keywords": split(keywords),
        "basis": basis.strip() or None,
    }


@router.post("/protection/important")
def add_entry(
    request: Request,
    payload: dict[str, Any] = Depends(entry_form),
    subject: Subject = Depends(KEEP),
    session: Session = SESSION,
) -> Response:
    """Add an entry to the important-data catalog (the data authority); then go to it."""
    try:
        data = validated(schemas.ImportantEntryCreate, payload)
    except Invalid as exc:
        raise _form_checked(exc, ENTRY_LABELS) from None
    entry = important_data_service.create(session, subject, data)
    return go(request, f"/workspace/protection/important/{entry.id}")


def _seen(entry: Any) -> str:
    """The version of an entry a form was filled from (its last change)."""
    return aware(entry.updated_at).isoformat()


def _entry_values(subject: Subject, entry: Any) -> dict[str, Any]:
    return {
        "entry": entry,
        "seen": _seen(entry),
        "kinds": KINDS,
        "may_keep": (subject.is_system or bool(subject.roles & KEEPERS))
        and entry.status == "active",
    }


@router.get("/protection/important/{entry_id}", response_class=HTMLResponse)
def entry_page(
    entry_id: str,
    request: Request,
    subject: Subject = Depends(CATALOG_READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """One catalog entry: what it matches and on what basis, the edit and retire forms for the
    data authority while it is active, and its ledger trail."""
    entry = important_data_service.get(session, subject, entry_id)
    return page(
        request,
        "ws/protection/entry.html",
        subject,
        section="protection",
        **_entry_values(subject, entry),
        **_helpers(request),
    )


def _entry_changed(request: Request, subject: Subject, entry: Any, key: str) -> HTMLResponse:
    return render(
        request,
        "ws/protection/_entry_changed.html",
        subject,
        message=i18n.t(_w(key), lang_of(request)),
        **_entry_values(subject, entry),
        **_helpers(request),
    )


def _stale(entry: Any, seen: str) -> None:
    """A form filled from an older state of the entry (someone changed it since)."""
    if entry.status == "active" and seen and seen != _seen(entry):
        raise Conflict(
            i18n.t(_w("entry.stale"), "en"),
            i18n.t(_w("entry.stale"), "zh"),
            code="entry_changed",
        )


@router.post("/protection/important/{entry_id}", response_class=HTMLResponse)
def edit_entry(
    entry_id: str,
    request: Request,
    seen: str = Form(default=""),
    payload: dict[str, Any] = Depends(entry_form),
    subject: Subject = Depends(KEEP),
    session: Session = SESSION,
) -> HTMLResponse:
    """Save the entry's changes (the data authority). A retired entry, or one changed since
    the form was loaded, gets a conflict message."""
    try:
        data = validated(schemas.ImportantEntryUpdate, payload)
    except Invalid as exc:
        raise _form_checked(exc, ENTRY_LABELS) from None
    entry = important_data_service.get(session, subject, entry_id)
    _stale(entry, seen)
    entry = important_data_service.update(session, subject, entry.id, data)
    return _entry_changed(request, subject, entry, "entry.saved")


@router.post("/protection/important/{entry_id}/retire", response_class=HTMLResponse)
def retire_entry(
    entry_id: str,
    request: Request,
    reason: str = Form(default=""),
    subject: Subject = Depends(KEEP),
    session: Session = SESSION,
) -> HTMLResponse:
    """Retire the entry with the reason (recorded in the ledger); a second retire is refused."""
    text = reason.strip()
    if not text:
        raise _invalid("entry.reason_required", "reason_required")
    body = validated(Reason, {"reason": text})
    entry = important_data_service.retire(session, subject, entry_id, body.reason)
    return _entry_changed(request, subject, entry, "entry.retired_now")


# --- masking policies ----------------------------------------------------------------------------
POLICY_LABELS = {"name": "pol.name", "description": "pol.description", "rules": "pol.rules"}


async def form_data(request: Request) -> dict[str, str]:
    """The posted form as plain strings (a policy's rule rows are named by their number)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _value(param: str, raw: str) -> Any:
    """A parameter as the policy stores it; what does not parse is left for the check to name."""
    if param in INT_PARAMS and _WHOLE.match(raw):
        return int(raw)
    if param in NUMBER_PARAMS:
        try:
            number = float(raw)
        except ValueError:
            return raw
        return int(number) if number.is_integer() else number
    if param == "drop":
        return raw == "true"
    return raw


def rules_from_form(form: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The rule rows of the form as the policy's rules, in row order. A row left blank is
    skipped; a row with a column but no operator, or a column named twice, is refused."""
    numbers = sorted({int(m.group(1)) for k in form if (m := _RULE_KEY.match(k))})
    rules: dict[str, dict[str, Any]] = {}
    for place, n in enumerate(numbers[:MAX_RULES], start=1):
        column = form.get(f"rules-{n}-column", "").strip()
        op = form.get(f"rules-{n}-op", "").strip()
        if not column and not op:
            continue
        if not column:
            raise _invalid("pol.err.no_column", "rule_without_column", row=place)
        if op not in OPS:
            raise _invalid("pol.err.no_op", "rule_without_op", column=column)
        if column in rules:
            raise _invalid("pol.err.twice", "column_named_twice", column=column)
        rule: dict[str, Any] = {"op": op}
        for param in PARAMS[op]:
            raw = form.get(f"rules-{n}-{param}", "").strip()
            if raw and not (param == "drop" and raw != "true"):
                rule[param] = _value(param, raw)
        rules[column] = rule
    if not rules:
        raise _invalid("pol.err.no_rules", "no_rules")
    return rules


@router.get("/protection/policies/rule", response_class=HTMLResponse)
def rule_row(
    request: Request,
    n: int = Query(default=0, ge=0, le=999),
    add: bool = Query(default=False),
    version: str = Query(default="", max_length=64),
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> HTMLResponse:
    """One rule row of the policy form with the parameters of its operator (htmx swaps it in
    when the operator changes); ``add`` also moves the "add a rule" button on."""
    params = request.query_params
    op = params.get(f"rules-{n}-op", "")
    row = RuleRow(n, params.get(f"rules-{n}-column", "").strip(), op if op in OPS else "")
    return render(
        request,
        "ws/protection/_rule.html",
        subject,
        row=row,
        add=add,
        next_row=n + 1,
        **_version_context(session, subject, version),
        **_choices(),
    )


@router.post("/protection/policies")
def create_policy(
    request: Request,
    form: dict[str, str] = Depends(form_data),
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> Response:
    """Save a named policy for the user's unit. Its rules are checked before anything is
    stored (by the service; written for a version, also against that version's columns)."""
    rules = rules_from_form(form)
    try:
        data = validated(
            schemas.MaskingPolicyCreate,
            {
                "name": form.get("name", "").strip(),
                "description": form.get("description", "").strip(),
                "rules": rules,
            },
        )
    except Invalid as exc:
        raise _form_checked(exc, POLICY_LABELS) from None
    context = _version_context(session, subject, form.get("version", "").strip())
    version = context["version"]
    try:
        if version is not None:
            policy = masking.parse_policy({"name": data.name, "rules": data.rules})
            masking.check_policy(policy, version.columns)
        record = masking_service.create(session, subject, data)
    except Invalid as exc:
        if exc.code == "invalid_masking_policy":
            return _problems(request, exc)
        raise
    if version is not None:
        return go(request, f"/workspace/versions/{version.id}/export?policy={quote(record.id)}")
    return go(request, f"/workspace/protection?tab=policies&created={quote(record.id)}")


# --- a version: masked export and k-anonymity ----------------------------------------------------
def _version_values(session: Session, subject: Subject, version_id: str) -> dict[str, Any]:
    """A version with its resource, its classification (if any), the unit's saved policies and
    the policy derived from the classification (None when there is none)."""
    version = dataset_service.version(session, subject, version_id)
    resource = resource_service.get(session, subject, version.resource_id)
    try:
        vc = classification_service.get(session, subject, version.id)
    except NotFound:
        vc = None
    try:
        default = masking_service.resolve(session, subject, version, "default", None)
    except Invalid:
        default = None
    return {
        "version": version,
        "resource": resource,
        "vc": vc,
        "columns": [str(c["name"]) for c in version.columns],
        "policies": list(masking_service.policies(session, subject)),
        "default_rules": default.model_dump(mode="json", exclude_none=True)["rules"]
        if default is not None
        else None,
        "may_write": bool(subject.roles & POLICY_WRITERS) and subject.org_id is not None,
    }


def _chosen(values: dict[str, Any], asked: str) -> str:
    """The policy a page opens with: one named in the link (by id or name), else default."""
    for p in values["policies"]:
        if asked in (p.id, p.name):
            return str(p.id)
    return "default"


@router.get("/versions/{version_id}/export", response_class=HTMLResponse)
def export_form(
    version_id: str,
    request: Request,
    policy: str = Query(default="", max_length=200),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """The masked export of a version: the policy (derived from its classification, or a
    saved one, each in words) and the format. Important and core data say they cannot leave."""
    values = _version_values(session, subject, version_id)
    refusal = None
    try:
        masking_service.require_exportable(session, values["version"])
    except Forbidden as exc:
        refusal = exc.message if lang_of(request) == "en" else exc.message_zh
    return page(
        request,
        "ws/protection/export.html",
        subject,
        section="resources",
        refusal=refusal,
        chosen=_chosen(values, policy),
        formats=EXPORT_FORMATS,
        **values,
        **_helpers(request),
    )


@router.post("/versions/{version_id}/export")
def export(
    version_id: str,
    request: Request,
    policy: str = Form(default="default"),
    format: str = Form(default="csv"),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> Response:
    """The de-identified file itself, as the API sends it: the SHA-256 of the file in
    ``X-Content-SHA256``, its rows in ``X-Row-Count``; recorded in the ledger."""
    data = validated(
        schemas.MaskedExportRequest, {"policy": policy.strip() or "default", "format": format}
    )
    try:
        out = masking_service.export(session, subject, version_id, data.policy, None, data.format)
    except Invalid as exc:
        if exc.code == "invalid_masking_policy":
            return _problems(request, exc)
        raise
    return FileResponse(
        out.path,
        media_type=out.media_type,
        filename=out.filename,
        headers={"X-Content-SHA256": out.sha256, "X-Row-Count": str(out.rows)},
        background=BackgroundTask(os.unlink, out.path),
    )


@router.get("/versions/{version_id}/k-anonymity", response_class=HTMLResponse)
def k_anonymity_form(
    version_id: str,
    request: Request,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """The k-anonymity check of a version: quasi-identifier columns, k, and optionally a policy
    whose rules are tried on them."""
    values = _version_values(session, subject, version_id)
    return page(
        request,
        "ws/protection/kanon.html",
        subject,
        section="resources",
        **values,
        **_helpers(request),
    )


@router.post("/versions/{version_id}/k-anonymity", response_class=HTMLResponse)
def k_anonymity(
    version_id: str,
    request: Request,
    quasi: list[str] = Form(default_factory=list),
    k: str = Form(default="5"),
    policy: str = Form(default=""),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """The report: the smallest equivalence class (the k the data achieves), the classes and
    records below k, before and (with a policy) after its rules."""
    version = dataset_service.version(session, subject, version_id)
    if not quasi:
        raise _invalid("kanon.err.no_quasi", "no_quasi_identifiers")
    number = int(k.strip()) if _WHOLE.match(k.strip()) else 0
    if not 2 <= number <= 10_000:
        raise _invalid("kanon.err.k", "invalid_k")
    plan = None
    plan_name = None
    try:
        if policy.strip():
            chosen = masking_service.resolve(session, subject, version, policy.strip(), None)
            plan_name = chosen.name
            plan = chosen.model_dump(mode="json", exclude_none=True)["rules"] or None
        data = validated(
            schemas.KAnonymityRequest, {"quasi_identifiers": quasi, "k": number, "plan": plan}
        )
        report = masking_service.k_anonymity(session, subject, version.id, data)
    except Invalid as exc:
        if exc.code in ("invalid_masking_policy", "invalid_k_anonymity"):
            return _problems(request, exc)
        raise
    return render(
        request,
        "ws/protection/_kanon_report.html",
        subject,
        report=report,
        plan_name=plan_name,
        **_helpers(request),
    )
