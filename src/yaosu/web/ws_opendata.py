"""Open-data operations 开放运营 for staff: answering public demands 问需于民 and deciding which
reuses 开放利用成果 the portal shows.

Two tabs at ``/workspace/open``: the public demands waiting for an answer (a providing unit's
data officers and CDO, and the data authority, answer: linking an open dataset or declining
with the reason) and the reuses waiting for a decision (the data authority shows or hides them,
with the reason to hide). Pages are thin over ``demand_service`` and ``reuse_service`` with the
API's access; each answer replaces the item with its outcome, and a second answer to the same
item (a stale page, a double submission) gets the service's "already answered" message.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.identity.access import require
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Forbidden
from yaosu.opendata import schemas as open_schemas
from yaosu.opendata.service import demand_service, open_catalog, reuse_service
from yaosu.web.common import invalid, page_number, render, validated, when, words
from yaosu.web.workspace import AUTHORITY, PROVIDER, page
from yaosu.web.ws_sharing import day_of

router = APIRouter(prefix="/workspace", include_in_schema=False)

# The API's access (opendata/endpoints.py): answering needs catalog:write and the service lets
# only a providing unit's data officers and CDO, or the data authority, answer; deciding reuses
# is the data authority's. The route already turns away roles that never may.
OPEN = require(*sorted(AUTHORITY | PROVIDER))
ANSWER = require(*sorted(AUTHORITY | PROVIDER), scope="catalog:write")
REVIEW = require(*sorted(AUTHORITY), scope="catalog:write")

TABS = ("demands", "reuses")
PAGE_SIZE = 20
SUGGESTIONS = 200  # open datasets offered in the answer form's list


def tabs_for(subject: Subject) -> list[str]:
    """Demands for every answerer; reuses for the data authority only."""
    return list(TABS) if subject.roles & AUTHORITY else ["demands"]


def _rows(session: Session, subject: Subject, tab: str, limit: int, offset: int) -> Any:
    if tab == "reuses":
        return reuse_service.list(session, subject, "pending", limit, offset)
    return demand_service.list(session, "open", limit, offset)


def _dataset_names(session: Session, reuses: Any) -> dict[str, Any]:
    ids = sorted({i for r in reuses for i in (r.resource_ids or [])})
    return {r.id: r for r in open_catalog.get_many(session, ids)} if ids else {}


def _suggestions(session: Session, subject: Subject) -> list[Any]:
    """Open datasets to link in an answer: the unit's own for a provider, any for the data
    authority (the service checks the choice again)."""
    own = None if subject.roles & AUTHORITY else subject.org_id
    rows, _ = open_catalog.listed(session, SUGGESTIONS, 0, own)
    return list(rows)


def _helpers() -> dict[str, Any]:
    return {"when": when, "day": day_of}


@router.get("/open", response_class=HTMLResponse)
def open_operations(
    request: Request,
    subject: Subject = Depends(OPEN),
    session: Session = SESSION,
) -> HTMLResponse:
    """Public demands waiting for an answer and reuses waiting for a decision, one tab each,
    newest first as the public lists order them."""
    tabs = tabs_for(subject)
    asked = request.query_params.get("tab")
    tab = asked if asked in TABS else tabs[0]
    if tab not in tabs:
        en, zh = words("ws.opendata.not_your_tab")
        raise Forbidden(en, zh, code="reviewer_required")
    page_no = page_number(request.query_params.get("page"))
    counts = {t: _rows(session, subject, t, 1, 0)[1] for t in tabs}
    items, total = _rows(session, subject, tab, PAGE_SIZE, (page_no - 1) * PAGE_SIZE)
    return page(
        request,
        "ws/opendata/index.html",
        subject,
        section="open",
        tabs=tabs,
        tab=tab,
        counts=counts,
        items=items,
        total=total,
        page_no=page_no,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        datasets=_dataset_names(session, items) if tab == "reuses" else {},
        suggestions=_suggestions(session, subject) if tab == "demands" else [],
        **_helpers(),
    )


def _outcome(
    request: Request, session: Session, subject: Subject, anchor: str, tab: str, **values: Any
) -> HTMLResponse:
    """The decided item, replacing the one its form was in, and the tab's new count (out of
    band)."""
    session.flush()
    response = render(
        request,
        "ws/opendata/_outcome.html",
        subject,
        anchor=anchor,
        tab=tab,
        count=_rows(session, subject, tab, 1, 0)[1],
        **_helpers(),
        **values,
    )
    response.headers["HX-Retarget"] = f"#{anchor}"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


@router.post("/open/demands/{demand_id}/answer", response_class=HTMLResponse)
def answer_demand(
    demand_id: str,
    request: Request,
    outcome: str = Form(default=""),
    answer: str = Form(default=""),
    dataset: str = Form(default=""),
    subject: Subject = Depends(ANSWER),
    session: Session = SESSION,
) -> HTMLResponse:
    """Answer a public demand once: link an open dataset that meets it (optional), or decline
    with the reason. The answer is public."""
    if outcome not in ("answered", "declined"):
        raise invalid("ws.opendata.choose", "decision_required")
    if not answer.strip():
        raise invalid("ws.opendata.answer_required", "answer_required")
    data = validated(
        open_schemas.DemandAnswer,
        {
            "answer": answer.strip(),
            "resource_id": dataset.strip() or None,
            "decline": outcome == "declined",
        },
    )
    demand = demand_service.answer(session, subject, demand_id, data)
    linked = open_catalog.get_many(session, [demand.resource_id]) if demand.resource_id else []
    return _outcome(
        request,
        session,
        subject,
        f"opn-dem-{demand.id}",
        "demands",
        kind="demand",
        demand=demand,
        linked=linked[0] if linked else None,
    )


@router.post("/open/reuses/{reuse_id}/decision", response_class=HTMLResponse)
def decide_reuse(
    reuse_id: str,
    request: Request,
    decision: str = Form(default=""),
    reason: str = Form(default=""),
    subject: Subject = Depends(REVIEW),
    session: Session = SESSION,
) -> HTMLResponse:
    """Show a reuse on the portal, or hide it with the reason (the data authority)."""
    if decision not in ("show", "hide"):
        raise invalid("ws.opendata.choose", "decision_required")
    show = decision == "show"
    text = reason.strip()
    if not show and not text:
        raise invalid("ws.opendata.reason_required", "reason_required")
    data = validated(open_schemas.ReuseDecision, {"show": show, "reason": text or None})
    reuse = reuse_service.decide(session, subject, reuse_id, data)
    return _outcome(
        request,
        session,
        subject,
        f"opn-reuse-{reuse.id}",
        "reuses",
        kind="reuse",
        reuse=reuse,
    )
