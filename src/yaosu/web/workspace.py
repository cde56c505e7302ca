"""The workspace 工作台 at ``/workspace`` for staff users: the frame (navigation by role) and each
role's dashboard with what waits for it. The areas (resources, reviews, sharing, tokens, trail,
overview) have their own modules; all are thin pages over the domain services.

Signed-in pages use the session cookie (``Access``); htmx echoes the CSRF cookie on writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.catalog.service import dataset_service, resource_service
from yaosu.classification.service import classification_service
from yaosu.identity.access import require
from yaosu.identity.service import admission_service
from yaosu.identity.subject import Subject
from yaosu.sharing.service import grant_service, overdue, request_service
from yaosu.web.common import render

router = APIRouter(prefix="/workspace", include_in_schema=False)

SIGNED_IN = require()
AUTHORITY = frozenset({"reviewer", "platform_admin"})
PROVIDER = frozenset({"data_officer", "cdo"})
OVERSIGHT = frozenset({"reviewer", "platform_admin", "auditor"})


@dataclass(frozen=True)
class NavItem:
    key: str
    href: str


def nav_for(subject: Subject) -> list[NavItem]:
    """The workspace menu: what this subject's roles can use (each page checks again)."""
    items = [
        NavItem("ws.nav.dashboard", "/workspace"),
        NavItem("ws.nav.resources", "/workspace/resources"),
        NavItem("ws.nav.demands", "/workspace/demands"),
    ]
    if subject.roles & (AUTHORITY | PROVIDER):
        items.append(NavItem("ws.nav.reviews", "/workspace/reviews"))
    if subject.roles & (AUTHORITY | PROVIDER | OVERSIGHT):
        items.append(NavItem("ws.nav.protection", "/workspace/protection"))
    items.append(NavItem("ws.nav.sharing", "/workspace/sharing"))
    items.append(NavItem("ws.nav.responsibilities", "/workspace/responsibilities"))
    if subject.roles & (AUTHORITY | PROVIDER):
        items.append(NavItem("ws.nav.open", "/workspace/open"))
    items.append(NavItem("ws.nav.tokens", "/workspace/tokens"))
    if subject.roles & OVERSIGHT:
        items.append(NavItem("ws.nav.overview", "/workspace/overview"))
        items.append(NavItem("ws.nav.census", "/workspace/census"))
    if "platform_admin" in subject.roles:
        items.append(NavItem("ws.nav.admin", "/workspace/admin"))
    return items


def page(request: Request, name: str, subject: Subject, **values: Any) -> HTMLResponse:
    """A workspace page: the frame's menu and the current section, then the template."""
    return render(request, name, subject, nav=nav_for(subject), **values)


@dataclass
class Waiting:
    """One kind of work waiting for the user: a count, the first items, where to act."""

    key: str
    count: int
    href: str
    items: list[dict[str, Any]]


def _request_items(rows: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "label": r.purpose_text or r.purpose,
            "href": f"/workspace/sharing/requests/{r.id}",
            "deadline": r.deadline_at,
            "overdue": overdue(r),
        }
        for r in rows
    ]


def dashboard_for(session: Session, subject: Subject) -> dict[str, Any]:
    """What waits for this subject, by role: review queues for the data authority, the unit's
    reviews, drafts and classifications for providers, its own requests and grants for all."""
    waiting: list[Waiting] = []
    if subject.roles & AUTHORITY:
        res, n = resource_service.listing(session, subject, status=["submitted"], limit=5)
        waiting.append(
            Waiting(
                "ws.dash.count_reviews",
                n,
                "/workspace/reviews?tab=catalog",
                [
                    {"id": r.id, "label": r.name, "href": f"/workspace/resources/{r.id}"}
                    for r in res
                ],
            )
        )
        for channel, key in (
            ("sharing", "ws.dash.count_requests"),
            ("open", "ws.dash.count_applications"),
        ):
            rows, n = request_service.list(
                session,
                subject,
                role=None,
                status="authority_review",
                limit=5,
                offset=0,
                channel=channel,
            )
            waiting.append(
                Waiting(key, n, f"/workspace/reviews?tab={channel}", _request_items(rows))
            )
        adm, n = admission_service.list(session, subject, status="submitted", limit=5)
        waiting.append(
            Waiting(
                "ws.dash.count_admissions",
                n,
                "/workspace/reviews?tab=admissions",
                [
                    {"id": a.id, "label": a.org.name, "href": "/workspace/reviews?tab=admissions"}
                    for a in adm
                ],
            )
        )
    if subject.roles & PROVIDER:
        rows, n = request_service.list(
            session, subject, role="provider", status="provider_review", limit=5, offset=0
        )
        waiting.append(
            Waiting(
                "ws.dash.count_requests", n, "/workspace/reviews?tab=provider", _request_items(rows)
            )
        )
        pending, n = classification_service.awaiting_review(session, subject, 5)
        waiting.append(
            Waiting(
                "ws.dash.count_classification",
                n,
                "/workspace/resources?classification=proposed",
                [
                    {
                        "id": r.id,
                        "label": r.name,
                        "href": f"/workspace/resources/{r.id}?tab=classification",
                    }
                    for _, r in pending
                ],
            )
        )
        drafts, n = resource_service.listing(
            session, subject, status=["draft", "returned"], provider_id=subject.org_id, limit=5
        )
        waiting.append(
            Waiting(
                "ws.dash.count_drafts",
                n,
                "/workspace/resources?status=draft",
                [
                    {"id": r.id, "label": r.name, "href": f"/workspace/resources/{r.id}"}
                    for r in drafts
                ],
            )
        )
    mine, _ = request_service.list(
        session, subject, role="consumer", status=None, limit=50, offset=0
    )
    open_mine = [r for r in mine if r.status in ("provider_review", "authority_review")]
    waiting.append(
        Waiting(
            "ws.dash.count_my_requests",
            len(open_mine),
            "/workspace/sharing",
            _request_items(open_mine[:5]),
        )
    )
    grants, n_grants = grant_service.list(
        session, subject, role="consumer", status="active", limit=5, offset=0
    )
    ingests = (
        dataset_service.recent_jobs(session, subject, 8)
        if subject.roles & (PROVIDER | OVERSIGHT)
        else []
    )
    overdue_total = sum(1 for w in waiting for i in w.items if i.get("overdue"))
    return {
        "waiting": [w for w in waiting if w.count or w.key != "ws.dash.count_my_requests"],
        "grants": grants,
        "grant_count": n_grants,
        "ingests": ingests,
        "overdue": overdue_total,
    }


@router.get("", response_class=HTMLResponse)
def dashboard(
    request: Request,
    subject: Subject = Depends(SIGNED_IN),
    session: Session = SESSION,
) -> HTMLResponse:
    """Each role's landing page: what waits for it, overdue items, recent ingests."""
    return page(
        request,
        "ws/dashboard.html",
        subject,
        section="dashboard",
        **dashboard_for(session, subject),
    )
