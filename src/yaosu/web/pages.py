"""The public portal at ``/`` (OPN-1…OPN-3): server-rendered Jinja2 pages, progressively
enhanced with htmx (served from the package), zh-CN by default with an English switch.

Pages are thin: they call the open-data services and render. Forms post through htmx with the
CSRF cookie echoed in ``X-CSRF-Token`` (double submit), for visitors and signed-in users alike.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.catalog.repository import FACETS
from yaosu.identity.access import (
    clear_session_cookies,
    set_session_cookies,
    sign_in,
)
from yaosu.identity.service import token_service
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Forbidden, Unauthenticated
from yaosu.opendata import rules, schemas
from yaosu.opendata.service import (
    application_service,
    demand_service,
    developer_service,
    open_catalog,
    reuse_service,
)
from yaosu.web import common, i18n

PAGE_SIZE = 10

router = APIRouter(include_in_schema=False)
render, visitor, posting, lang_of = common.render, common.visitor, common.posting, common.lang_of
_fragment, _validated, _safe_next = common.fragment, common.validated, common.safe_next


# --- home and search -------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    subject: Subject | None = Depends(visitor),
    session: Session = SESSION,
) -> HTMLResponse:
    found = open_catalog.search(session, None, {}, 6, 0)
    featured = open_catalog.views(session, [open_catalog.get(session, r.id) for r in found.items])
    return render(
        request,
        "home.html",
        subject,
        figures=open_catalog.figures(session),
        featured=featured,
        libraries=found.facets.get("base_library", []),
    )


@router.get("/datasets", response_class=HTMLResponse)
def datasets(
    request: Request,
    subject: Subject | None = Depends(visitor),
    session: Session = SESSION,
) -> HTMLResponse:
    q = (request.query_params.get("q") or "").strip()[:200] or None
    page = common.page_number(request.query_params.get("page"))
    filters = {k: request.query_params.getlist(k) for k in FACETS if k in request.query_params}
    found = open_catalog.search(session, q, filters, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    items = open_catalog.views(session, [open_catalog.get(session, r.id) for r in found.items])
    pages = max(1, math.ceil(found.total / PAGE_SIZE))
    base = [(k, v) for k in FACETS for v in filters.get(k, [])] + ([("q", q)] if q else [])

    def link(**change: Any) -> str:
        params = list(base)
        for key, value in change.items():
            if key == "toggle":
                facet, val = value
                if (facet, val) in params:
                    params.remove((facet, val))
                else:
                    params.append((facet, val))
            elif key == "page" and value > 1:
                params.append(("page", str(value)))
        return "/datasets" + ("?" + urlencode(params) if params else "")

    facets = {
        key: [
            {
                "value": f.value,
                "label": f.label
                if key == "provider_id"
                else i18n.vocab(key, f.value, lang_of(request)),
                "count": f.count,
                "active": f.value in filters.get(key, []),
                "href": link(toggle=(key, f.value)),
            }
            for f in values
        ]
        for key, values in found.facets.items()
        if key != "share_attribute" and values
    }
    values: dict[str, Any] = {
        "q": q or "",
        "items": items,
        "total": found.total,
        "facets": facets,
        "page": page,
        "pages": pages,
        "prev_href": link(page=page - 1) if page > 1 else None,
        "next_href": link(page=page + 1) if page < pages else None,
        "filtered": bool(base),
    }
    name = "_results.html" if _fragment(request) else "search.html"
    return render(request, name, subject, **values)


# --- a dataset -------------------------------------------------------------------------------
@router.get("/datasets/{ident:path}/preview", response_class=HTMLResponse)
def dataset_preview(
    ident: str,
    request: Request,
    subject: Subject | None = Depends(visitor),
    session: Session = SESSION,
) -> HTMLResponse:
    resource = open_catalog.get(session, ident)
    preview = open_catalog.preview(session, resource, 10)
    return render(request, "_preview.html", subject, preview=preview)


@router.get("/datasets/{ident:path}/downloads", response_class=HTMLResponse)
def dataset_downloads(
    ident: str,
    request: Request,
    subject: Subject | None = Depends(visitor),
    session: Session = SESSION,
) -> HTMLResponse:
    resource = open_catalog.get(session, ident)
    sessions = request.app.state.sessions
    files = [
        open_catalog.distribution(sessions, session, resource, f) for f in rules.DOWNLOAD_FORMATS
    ]
    return render(request, "_downloads.html", subject, files=files, resource=resource)


@router.get("/datasets/{ident:path}/apply", response_class=HTMLResponse)
def apply_form(
    ident: str,
    request: Request,
    subject: Subject | None = Depends(visitor),
    session: Session = SESSION,
) -> HTMLResponse:
    dataset = open_catalog.view(session, open_catalog.get(session, ident))
    return render(
        request,
        "apply.html",
        subject,
        dataset=dataset,
        purposes=list(rules.PURPOSES),
        result=None,
        error=None,
    )


@router.post("/datasets/{ident:path}/apply", response_class=HTMLResponse)
def apply_submit(
    ident: str,
    request: Request,
    fields: list[str] = Form(default_factory=list),
    purpose: str = Form(default=""),
    purpose_text: str = Form(default=""),
    scenario: str = Form(default=""),
    term_days: int = Form(default=180),
    delivery_mode: str = Form(default="api"),
    research: bool = Form(default=False),
    research_plan: str = Form(default=""),
    commitment: bool = Form(default=False),
    subject: Subject | None = Depends(posting),
    session: Session = SESSION,
) -> HTMLResponse:
    if subject is None:
        raise Unauthenticated("Sign in to apply.", "请先登录后再申请。")
    resource = open_catalog.get(session, ident)
    data = _validated(
        schemas.ApplicationCreate,
        {
            "resource_id": resource.id,
            "fields": fields,
            "purpose": purpose,
            "purpose_text": purpose_text,
            "scenario": scenario or None,
            "term_days": term_days,
            "delivery_mode": delivery_mode,
            "research": research,
            "research_plan": research_plan or None,
            "commitment": commitment,
        },
    )
    req = application_service.apply(session, subject, data)
    return render(request, "_apply_result.html", subject, req=req)


@router.get("/datasets/{ident:path}", response_class=HTMLResponse)
def dataset_page(
    ident: str,
    request: Request,
    subject: Subject | None = Depends(visitor),
    session: Session = SESSION,
) -> HTMLResponse:
    resource = open_catalog.get(session, ident)
    dataset = open_catalog.view(session, resource)
    reuses, _ = reuse_service.list(session, None, "shown", 10, 0, resource.id)
    base = str(request.base_url).rstrip("/")
    return render(
        request,
        "dataset.html",
        subject,
        dataset=dataset,
        reuses=reuses,
        base=base,
        quoted=quote(dataset.id),
        datastore_id=quote(rules.datastore_resource_id(dataset.id)),
    )


# --- organizations and registrations ---------------------------------------------------------
@router.get("/organizations", response_class=HTMLResponse)
def organizations(
    request: Request,
    subject: Subject | None = Depends(visitor),
    session: Session = SESSION,
) -> HTMLResponse:
    return render(request, "orgs.html", subject, orgs=open_catalog.providers(session))


@router.get("/organizations/{org_id}", response_class=HTMLResponse)
def organization(
    org_id: str,
    request: Request,
    subject: Subject | None = Depends(visitor),
    session: Session = SESSION,
) -> HTMLResponse:
    org = open_catalog.provider(session, org_id)
    rows, total = open_catalog.listed(session, 200, 0, org.id)
    return render(
        request,
        "org.html",
        subject,
        org=org,
        items=open_catalog.views(session, rows),
        total=total,
    )


@router.get("/registrations/{code}", response_class=HTMLResponse)
def registration(
    code: str,
    request: Request,
    subject: Subject | None = Depends(visitor),
    session: Session = SESSION,
) -> HTMLResponse:
    reg, resource = open_catalog.registration(session, code)
    return render(request, "registration.html", subject, reg=reg, resource=resource)


# --- public demands and reuses ---------------------------------------------------------------
@router.get("/demands", response_class=HTMLResponse)
def demands(
    request: Request,
    subject: Subject | None = Depends(visitor),
    session: Session = SESSION,
) -> HTMLResponse:
    rows, total = demand_service.list(session, None, 50, 0)
    return render(request, "demands.html", subject, demands=rows, total=total)


@router.post("/demands", response_class=HTMLResponse)
def post_demand(
    request: Request,
    title: str = Form(default=""),
    description: str = Form(default=""),
    wanted_fields: str = Form(default=""),
    requester_name: str = Form(default=""),
    contact: str = Form(default=""),
    subject: Subject | None = Depends(posting),
    session: Session = SESSION,
) -> HTMLResponse:
    data = _validated(
        schemas.DemandCreate,
        {
            "title": title,
            "description": description,
            "wanted_fields": _split(wanted_fields),
            "requester_name": requester_name or None,
            "contact": contact or None,
        },
    )
    demand = demand_service.post(session, subject, data)
    return render(request, "_demand_posted.html", subject, demand=demand)


@router.get("/reuses", response_class=HTMLResponse)
def reuses(
    request: Request,
    subject: Subject | None = Depends(visitor),
    session: Session = SESSION,
) -> HTMLResponse:
    rows, total = reuse_service.list(session, None, "shown", 50, 0)
    return render(
        request, "reuses.html", subject, reuses=rows, total=total, kinds=list(rules.REUSE_KINDS)
    )


@router.post("/reuses", response_class=HTMLResponse)
def post_reuse(
    request: Request,
    title: str = Form(default=""),
    kind: str = Form(default="app"),
    url: str = Form(default=""),
    description: str = Form(default=""),
    datasets: str = Form(default=""),
    author: str = Form(default=""),
    subject: Subject | None = Depends(posting),
    session: Session = SESSION,
) -> HTMLResponse:
    ids = [open_catalog.get(session, code).id for code in _split(datasets)]
    data = _validated(
        schemas.ReuseCreate,
        {
            "title": title,
            "kind": kind,
            "url": url or None,
            "description": description,
            "resource_ids": ids,
            "author": author,
        },
    )
    reuse_service.submit(session, subject, data)
    return render(
        request, "_notice.html", subject, message=i18n.t("reuses.thanks", lang_of(request))
    )


# --- accounts --------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, subject: Subject | None = Depends(visitor)) -> HTMLResponse:
    """The sign-in form; ``next`` (a path of this site, else 400) is where it then goes."""
    target = _safe_next(request.query_params.get("next"))
    return render(request, "login.html", subject, next=target)


@router.post("/login")
def login(
    request: Request,
    username: str = Form(default=""),
    password: str = Form(default=""),
    next: str = Form(default="/workspace"),
    _: Subject | None = Depends(common.signing),
    session: Session = SESSION,
) -> Response:
    """Sign in: the same signed session cookie and CSRF cookie as ``POST /auth/session``, under
    the same limit against password guessing (not the open-data rate limit)."""
    target = _safe_next(next)  # refused before the attempt is counted
    _token, secret = sign_in(request, session, username, password, None, kind="session")
    response = Response(status_code=204, headers={"HX-Redirect": target})
    set_session_cookies(response, secret)
    return response


@router.post("/logout")
def logout(
    request: Request,
    subject: Subject | None = Depends(common.signing),
    session: Session = SESSION,
) -> Response:
    if subject is not None:
        token_service.end_session(session, subject)
    response = Response(status_code=204, headers={"HX-Redirect": "/"})
    clear_session_cookies(response)
    return response


@router.get("/developers", response_class=HTMLResponse)
def developers(
    request: Request,
    subject: Subject | None = Depends(visitor),
    session: Session = SESSION,
) -> HTMLResponse:
    tokens = []
    if subject is not None:
        mine, _ = token_service.list(session, subject)
        tokens = [tk for tk in mine if tk.kind == "api" and tk.revoked_at is None]
    return render(request, "developers.html", subject, tokens=tokens)


@router.post("/developers", response_class=HTMLResponse)
def register_developer(
    request: Request,
    username: str = Form(default=""),
    display_name: str = Form(default=""),
    email: str = Form(default=""),
    password: str = Form(default=""),
    subject: Subject | None = Depends(posting),
    session: Session = SESSION,
) -> HTMLResponse:
    data = _validated(
        schemas.DeveloperCreate,
        {
            "username": username,
            "display_name": display_name,
            "email": email or None,
            "password": password,
        },
    )
    user = developer_service.register(session, data)
    message = i18n.t("dev.done", lang_of(request), username=user.username)
    return render(request, "_notice.html", subject, message=message)


@router.post("/developers/keys", response_class=HTMLResponse)
def create_key(
    request: Request,
    name: str = Form(default="open-data"),
    subject: Subject | None = Depends(posting),
    session: Session = SESSION,
) -> HTMLResponse:
    """An API key for the open API: read scopes of the catalog, and the data service of the
    caller's grants (conditional data)."""
    if subject is None:
        raise Unauthenticated("Sign in first.", "请先登录。")
    if subject.org_status != "active":
        raise Forbidden(
            f"Your organization is {subject.org_status}; it can make no API keys.",
            f"您所在机构状态为 {subject.org_status}，不能创建 API 密钥。",
            code=f"org_{subject.org_status}",
        )
    from yaosu.identity import schemas as identity_schemas

    _token, secret = token_service.create(
        session,
        subject,
        identity_schemas.TokenCreate(
            name=(name or "open-data")[:100],
            scopes=["catalog:read", "sharing:read", "service:call"],
        ),
    )
    return render(request, "_key_created.html", subject, secret=secret)


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]
