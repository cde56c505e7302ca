"""The catalog's other workflows in the workspace: demand lists 供需清单 (file, answer, close),
the census 数据普查 with its export and the project acceptance check 项目验收, SQL and HTTP pulls
and their schedules on a resource, retrying a failed ingest job, retiring a resource.

Pages are thin over ``demand_service``, ``dataset_service``, ``resource_service`` and the
``census`` module, with the same callers as the ``/api/v1`` endpoints they stand in for. Writes
post through htmx; their answer is a message for the form's output area plus, out of band, the
part of the page whose state changed. A stale page (a demand already closed, a job no longer
failed, a resource already retired) gets a clear message in the page language.

Pull sources are shown as the ledger records them: a database password never comes back into a
page (``public_params``), and a failure that quoted the address has it masked by the service.
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
from yaosu.catalog import census
from yaosu.catalog import rules as catalog_rules
from yaosu.catalog import schemas as catalog_schemas
from yaosu.catalog.service import (
    dataset_service,
    demand_service,
    public_params,
    resource_service,
)
from yaosu.catalog.tasks import runner
from yaosu.identity.access import require
from yaosu.identity.service import org_service
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Conflict, NotFound
from yaosu.models.catalog import PullSchedule
from yaosu.web import i18n
from yaosu.web.common import (
    blank,
    fragment,
    go,
    invalid,
    lang_of,
    page_number,
    render,
    validated,
    when,
)
from yaosu.web.workspace import AUTHORITY, page

router = APIRouter(prefix="/workspace", include_in_schema=False)

# The same callers as the catalog API endpoints these pages stand in for.
READ = require(scope="catalog:read")
WRITE = require(scope="catalog:write")
EDIT = require("data_officer", "cdo", "platform_admin", scope="catalog:write")
RETIRE = require("data_officer", "cdo", "reviewer", "platform_admin", scope="catalog:write")
ANSWERERS = frozenset({"data_officer", "cdo", "platform_admin"})

PAGE_SIZE = 20
JOB_PAGE = 10
DEMAND_STATES = tuple(catalog_rules.DEMAND_STATES)
CENSUS_TABS = ("counts", "acceptance")
# The census counts shown as tables, each with its vocabulary (None: shown as stored).
BREAKDOWNS = (
    ("status", None),
    ("share_attribute", "share_attribute"),
    ("open_attribute", "open_attribute"),
    ("base_library", "base_library"),
    ("update_cycle", "update_cycle"),
    ("grade", "grade"),
)
PULL_KINDS = ("sql", "http")
PULL_FORMATS = ("csv", "tsv", "json", "ndjson", "xlsx", "parquet")
ENCODINGS = ("utf-8", "gbk", "gb18030")
ACTIVE_JOB = ("queued", "running")
RETRYABLE = ("failed", "cancelled")
RETIRABLE = frozenset(s for s, nxt in catalog_rules.TRANSITIONS.items() if "retired" in nxt)
_SPLIT = re.compile(r"[,，、;；\s]+")


# --- words and small views ---------------------------------------------------------------------
def _conflict(key: str, code: str, current: str, **values: Any) -> Conflict:
    """A stale page or a second submission, with the state named in each language."""
    return Conflict(
        i18n.t(key, "en", **{k: v("en") if callable(v) else v for k, v in values.items()}),
        i18n.t(key, "zh", **{k: v("zh") if callable(v) else v for k, v in values.items()}),
        code=code,
        current=current,
    )


def _helpers(request: Request) -> dict[str, Any]:
    lang = lang_of(request)
    return {
        "when": when,
        "dstate": lambda s: i18n.t(f"ws.catalog.dstate.{s}", lang),
        "rstate": lambda s: i18n.t(f"res.state.{s}", lang),
        "jstate": lambda s: i18n.t(f"res.up.st.{s}", lang),
        "sep": "、" if lang == "zh" else ", ",
    }


# --- demand lists 供需清单 -----------------------------------------------------------------------
def _may_file(subject: Subject) -> bool:
    """A demand is posted by a unit, with the catalog:write scope (as ``POST /demands``)."""
    return subject.org_id is not None and "catalog:write" in subject.scopes


def _providers(session: Session, subject: Subject) -> list[Any]:
    """The government units a demand may be addressed to, by name."""
    orgs, _ = org_service.list(session, subject, kind="government", status="active", limit=200)
    return sorted(orgs, key=lambda o: o.name)


@router.get("/demands", response_class=HTMLResponse)
def demands(
    request: Request,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """The city's demand list, filterable by status and paginated, with the form to post a
    demand for the units that may."""
    asked = request.query_params.get("status") or ""
    status = asked if asked in DEMAND_STATES else ""
    page_no = page_number(request.query_params.get("page"))
    rows, total = demand_service.list(
        session, subject, status or None, PAGE_SIZE, (page_no - 1) * PAGE_SIZE
    )
    ids = sorted({d.requester_id for d in rows} | {d.provider_id for d in rows if d.provider_id})
    may_file = _may_file(subject)
    return page(
        request,
        "ws/catalog/demands.html",
        subject,
        section="demands",
        rows=rows,
        total=total,
        status=status,
        states=DEMAND_STATES,
        page_no=page_no,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        names=org_service.names(session, subject, ids),
        may_file=may_file,
        providers=_providers(session, subject) if may_file else [],
        **_helpers(request),
    )


@router.post("/demands")
def post_demand(
    request: Request,
    title: str = Form(default=""),
    description: str = Form(default=""),
    scenario: str = Form(default=""),
    wanted_fields: str = Form(default=""),
    provider_id: str = Form(default=""),
    subject: Subject = Depends(WRITE),
    session: Session = SESSION,
) -> Response:
    """Post a demand: what is wanted, for which scenario, which fields, optionally of one unit;
    then go to its page."""
    if not title.strip():
        raise invalid("ws.catalog.d.title_required", "title_required")
    if not description.strip():
        raise invalid("ws.catalog.d.description_required", "description_required")
    data = validated(
        catalog_schemas.DemandCreate,
        {
            "title": title.strip(),
            "description": description.strip(),
            "scenario": scenario.strip() or None,
            "wanted_fields": [f for f in _SPLIT.split(wanted_fields) if f],
            "provider_id": provider_id.strip() or None,
        },
    )
    demand = demand_service.post(session, subject, data)
    return go(request, f"/workspace/demands/{demand.id}")


@dataclass
class AnswerRow:
    answer: Any
    provider: str
    resource: Any | None


def _demand_values(session: Session, subject: Subject, demand: Any) -> dict[str, Any]:
    """A demand with its answers (unit and resource names) and what this subject may do."""
    ids = {demand.requester_id} | {a.provider_id for a in demand.answers if a.provider_id}
    if demand.provider_id:
        ids.add(demand.provider_id)
    names = org_service.names(session, subject, sorted(ids))
    answers = []
    for a in demand.answers:
        resource = None
        if a.resource_id:
            try:
                resource = resource_service.get(session, subject, a.resource_id)
            except NotFound:
                resource = None
        answers.append(AnswerRow(a, names.get(a.provider_id, a.provider_id), resource))
    open_ = demand.status != "closed"
    may_answer = (
        open_
        and bool(subject.roles & ANSWERERS)
        and (not demand.provider_id or demand.provider_id == subject.org_id)
    )
    own, _ = (
        resource_service.listing(
            session, subject, status=["published"], provider_id=subject.org_id, limit=200
        )
        if may_answer and subject.org_id
        else ([], 0)
    )
    return {
        "d": demand,
        "names": names,
        "answers": answers,
        "may_answer": may_answer,
        "own_resources": own,
        "may_close": open_
        and "catalog:write" in subject.scopes
        and (demand.requester_id == subject.org_id or bool(subject.roles & AUTHORITY)),
    }


@router.get("/demands/{demand_id}", response_class=HTMLResponse)
def demand_detail(
    demand_id: str,
    request: Request,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """A demand: what is wanted, its answers (linked resources, reasons to decline), the answer
    form for providers and the close button for the requesting unit and the authority."""
    demand = demand_service.get(session, subject, demand_id)
    return page(
        request,
        "ws/catalog/demand.html",
        subject,
        section="demands",
        **_demand_values(session, subject, demand),
        **_helpers(request),
    )


def _demand_changed(
    request: Request, session: Session, subject: Subject, demand_id: str, key: str
) -> HTMLResponse:
    session.flush()
    demand = demand_service.get(session, subject, demand_id)
    session.refresh(demand)
    return render(
        request,
        "ws/catalog/_demand_changed.html",
        subject,
        message=i18n.t(key, lang_of(request)),
        **_demand_values(session, subject, demand),
        **_helpers(request),
    )


def _closed(status: str) -> Conflict:
    return _conflict(
        "ws.catalog.d.stale",
        "demand_closed",
        status,
        status=lambda lang: i18n.t(f"ws.catalog.dstate.{status}", lang),
    )


@router.post("/demands/{demand_id}/answers", response_class=HTMLResponse)
def answer_demand(
    demand_id: str,
    request: Request,
    decision: str = Form(default=""),
    resource_id: str = Form(default=""),
    reason: str = Form(default=""),
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> HTMLResponse:
    """A provider answers: link one of its published resources, or decline with a reason."""
    demand = demand_service.get(session, subject, demand_id)
    if demand.status == "closed":
        raise _closed(demand.status)
    if decision == "link":
        if not resource_id.strip():
            raise invalid("ws.catalog.d.resource_required", "resource_required")
        body: dict[str, Any] = {"resource_id": resource_id.strip()}
    elif decision == "decline":
        if not reason.strip():
            raise invalid("ws.catalog.d.reason_required", "reason_required")
        body = {"reason": reason.strip()}
    else:
        raise invalid("ws.catalog.d.choose", "decision_required")
    data = validated(catalog_schemas.DemandAnswerCreate, body)
    demand_service.answer(session, subject, demand.id, data)
    return _demand_changed(request, session, subject, demand.id, "ws.catalog.d.answered")


@router.post("/demands/{demand_id}/close", response_class=HTMLResponse)
def close_demand(
    demand_id: str,
    request: Request,
    subject: Subject = Depends(WRITE),
    session: Session = SESSION,
) -> HTMLResponse:
    """The requesting unit (or the data authority) closes its demand."""
    demand = demand_service.get(session, subject, demand_id)
    if demand.status == "closed":
        raise _closed(demand.status)
    demand_service.close(session, subject, demand.id)
    return _demand_changed(request, session, subject, demand.id, "ws.catalog.d.closed")


# --- census 数据普查 and the acceptance check 项目验收 ------------------------------------------
def _labelled(kind: str | None, value: str, lang: str) -> str:
    if not value:
        return i18n.t("ws.catalog.c.unset", lang)
    if kind is None:
        return i18n.t(f"res.state.{value}", lang)
    return i18n.vocab(kind, value, lang)


def census_view(session: Session, subject: Subject, org_id: str, lang: str) -> dict[str, Any]:
    """The census counts as tables (label, count), by unit with names, and two charts."""
    counts = census.counts(session, subject, org_id or None)
    everywhere = counts if not org_id else census.counts(session, subject, None)
    by_unit = sorted(everywhere["provider_id"].items(), key=lambda kv: (-kv[1], kv[0]))
    names = org_service.names(session, subject, [k for k, _ in by_unit])
    tables = {
        key: [
            (_labelled(kind, value, lang), n)
            for value, n in sorted(counts[key].items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        for key, kind in BREAKDOWNS
    }
    units = [(k, names.get(k, k), n) for k, n in by_unit]
    shown_units = [(name, n) for k, name, n in units if not org_id or k == org_id]
    charts = {
        "cat-by-status": {
            "kind": "pie",
            "items": [{"name": label, "value": n} for label, n in tables["status"] if n],
        },
        "cat-by-unit": {
            "kind": "series",
            "horizontal": True,
            "x": [name for name, _ in shown_units],
            "series": [
                {
                    "name": i18n.t("ws.catalog.c.resources", lang),
                    "type": "bar",
                    "data": [n for _, n in shown_units],
                }
            ],
        },
    }
    return {
        "counts": counts,
        "tables": tables,
        "units": units,
        "shown_units": shown_units,
        "charts": charts,
        "org_name": names.get(org_id, org_id) if org_id else "",
    }


@router.get("/census", response_class=HTMLResponse)
def census_page(
    request: Request,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """The census 数据普查: resource counts by status and attribute, for the city or one unit,
    with the resource ledger export; and (``?tab=acceptance``) the project acceptance check of
    an information system: each resource catalogued, ingested, registered, or what is missing."""
    lang = lang_of(request)
    asked = request.query_params.get("tab")
    tab = asked if asked in CENSUS_TABS else "counts"
    org_id = (request.query_params.get("org_id") or "").strip()[:64]
    values: dict[str, Any] = {}
    if tab == "counts":
        values = census_view(session, subject, org_id, lang)
    else:
        system = (request.query_params.get("system") or "").strip()
        if len(system) > 200:
            raise invalid("ws.catalog.a.too_long", "system_too_long")
        values = {
            "system": system,
            "systems": census.systems(session, subject),
            "check": census.acceptance(session, subject, system) if system else None,
        }
    return page(
        request,
        "ws/catalog/census.html",
        subject,
        section="census",
        tab=tab,
        tabs=CENSUS_TABS,
        org_id=org_id,
        **values,
        **_helpers(request),
    )


# --- pulls and schedules -----------------------------------------------------------------------
@dataclass
class ScheduleRow:
    schedule: PullSchedule
    source: dict[str, Any]


@dataclass
class JobRow:
    job: Any
    source: dict[str, Any]


def _pull_values(session: Session, subject: Subject, resource: Any, page_no: int) -> dict[str, Any]:
    """The resource's schedules and one page of its jobs, sources without passwords, and the
    choices of the pull form."""
    jobs, total = dataset_service.jobs(
        session, subject, resource.id, JOB_PAGE, (page_no - 1) * JOB_PAGE
    )
    schedules = dataset_service.schedules(session, subject, resource.id)
    editor = resource_service.may_edit(subject, resource)
    return {
        "r": resource,
        "schedules": [ScheduleRow(s, public_params(s.params)) for s in schedules],
        "jobs": [JobRow(j, public_params(j.params)) for j in jobs],
        "job_total": total,
        "job_page": page_no,
        "job_pages": max(1, math.ceil(total / JOB_PAGE)),
        "active": any(j.status in ACTIVE_JOB for j in jobs),
        "may_pull": editor and resource.status != "retired",
        "may_retry": editor and resource.status != "retired",
        "kinds": PULL_KINDS,
        "formats": PULL_FORMATS,
        "encodings": ENCODINGS,
    }


@router.get("/resources/{resource_id}/pulls", response_class=HTMLResponse)
def pulls(
    resource_id: str,
    request: Request,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """A resource's pulls: the form (SQL or HTTP, once now or on a cron schedule), its
    schedules, and its recent ingest jobs with status and progress, failed ones with a retry
    button. ``?part=jobs`` from htmx answers the tables alone (the page polls while a job
    runs)."""
    resource = resource_service.get(session, subject, resource_id)
    values = _pull_values(session, subject, resource, page_number(request.query_params.get("page")))
    if fragment(request) and request.query_params.get("part") == "jobs":
        return render(
            request, "ws/catalog/_pull_tables.html", subject, **values, **_helpers(request)
        )
    return page(
        request,
        "ws/catalog/pulls.html",
        subject,
        section="resources",
        **values,
        **_helpers(request),
    )


@router.post("/resources/{resource_id}/pulls", response_class=HTMLResponse)
def request_pull(
    resource_id: str,
    request: Request,
    kind: str = Form(default=""),
    url: str = Form(default=""),
    table: str = Form(default=""),
    query: str = Form(default=""),
    format: str = Form(default=""),
    encoding: str = Form(default=""),
    cron: str = Form(default=""),
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> HTMLResponse:
    """Pull from a database (SQLAlchemy URL with a table or a query) or an HTTP CSV/JSON
    address: once now (a job), or on a cron schedule."""
    if kind not in PULL_KINDS:
        raise invalid("ws.catalog.p.kind_required", "invalid_pull_kind")
    if not url.strip():
        raise invalid("ws.catalog.p.url_required", "url_required")
    if kind == "sql" and bool(table.strip()) == bool(query.strip()):
        raise invalid("ws.catalog.p.table_or_query", "table_or_query")
    payload = {
        "kind": kind,
        "url": url.strip(),
        "table": blank(table) if kind == "sql" else None,
        "query": blank(query) if kind == "sql" else None,
        "format": blank(format) if kind == "http" else None,
        "encoding": blank(encoding) if kind == "http" else None,
        "cron": " ".join(cron.split()) or None,
    }
    data = validated(catalog_schemas.PullCreate, payload)
    resource = resource_service.get(session, subject, resource_id)
    made = dataset_service.request_pull(session, subject, resource.id, data)
    lang = lang_of(request)
    if isinstance(made, PullSchedule):
        message = i18n.t(
            "ws.catalog.p.scheduled", lang, cron=made.cron, next=when(made.next_run_at)
        )
    else:
        job = runner.dispatch(session, made.id, False)
        message = i18n.t(
            "ws.catalog.p.started", lang, status=i18n.t(f"res.up.st.{job.status}", lang)
        )
    session.flush()
    return render(
        request,
        "ws/catalog/_pull_done.html",
        subject,
        message=message,
        reset_form=True,
        **_pull_values(session, subject, resource, 1),
        **_helpers(request),
    )


@router.post("/jobs/{job_id}/retry", response_class=HTMLResponse)
def retry_job(
    job_id: str,
    request: Request,
    subject: Subject = Depends(EDIT),
    session: Session = SESSION,
) -> HTMLResponse:
    """Run a failed ingest again (a new job); the tables of its resource's pulls come back."""
    job = dataset_service.job(session, subject, job_id)
    if job.status not in RETRYABLE:
        raise _conflict(
            "ws.catalog.p.not_failed",
            "job_not_failed",
            job.status,
            status=lambda lang: i18n.t(f"res.up.st.{job.status}", lang),
        )
    again = dataset_service.retry(session, subject, job.id)
    again = runner.dispatch(session, again.id, False)
    lang = lang_of(request)
    message = i18n.t("ws.catalog.p.retried", lang, status=i18n.t(f"res.up.st.{again.status}", lang))
    session.flush()
    resource = resource_service.get(session, subject, job.resource_id)
    return render(
        request,
        "ws/catalog/_pull_done.html",
        subject,
        message=message,
        **_pull_values(session, subject, resource, 1),
        **_helpers(request),
    )


# --- retiring a resource -----------------------------------------------------------------------
@router.post("/resources/{resource_id}/retire", response_class=HTMLResponse)
def retire_resource(
    resource_id: str,
    request: Request,
    reason: str = Form(default=""),
    subject: Subject = Depends(RETIRE),
    session: Session = SESSION,
) -> HTMLResponse:
    """Retire (撤销) a resource with the reason: its provider's officers or the data authority.
    A second click, or a page that missed a change of state, gets a clear message."""
    text = reason.strip()
    if not text:
        raise invalid("ws.catalog.r.reason_required", "reason_required")
    data = validated(catalog_schemas.Reason, {"reason": text})
    resource = resource_service.get_for_review(session, subject, resource_id)
    if resource.status == "retired":
        raise _conflict("ws.catalog.r.already", "already_retired", resource.status)
    if resource.status not in RETIRABLE:
        raise _conflict(
            "ws.catalog.r.stale",
            "invalid_transition",
            resource.status,
            status=lambda lang: i18n.t(f"res.state.{resource.status}", lang),
        )
    resource_service.retire(session, subject, resource.id, data.reason)
    return render(
        request,
        "ws/catalog/_retired.html",
        subject,
        r=resource,
        reason=data.reason,
        **_helpers(request),
    )
