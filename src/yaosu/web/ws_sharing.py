"""Sharing 共享与授权 in the workspace: the unit's share requests and grants, filing a request
from a resource, tracking it, a grant with its policy in plain words and its usage charts, the
user's API tokens, and the data authority's city overview with the resource ledger export.

Pages are thin over ``request_service``, ``grant_service``, ``token_service`` and the catalog
census. Writes post through htmx (which echoes the CSRF cookie); their answer is a message for
the form's output area plus, out of band, the part of the page whose state changed. A stale
page (a request already withdrawn, a grant already revoked) gets a clear message, not a crash.

Charts: the data is rendered as JSON in ``<script type="application/json">`` blocks that
``static/charts.js`` draws with the vendored Apache ECharts; no inline script, no CDN.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from yaosu.api.deps import SESSION
from yaosu.catalog import census
from yaosu.catalog.service import resource_service
from yaosu.identity import rules as identity_rules
from yaosu.identity import schemas as identity_schemas
from yaosu.identity.access import require
from yaosu.identity.service import org_service, token_service
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Conflict, Forbidden, NotFound
from yaosu.kit.timeutil import aware, local_day, utcnow
from yaosu.policy import describe
from yaosu.policy.model import DELIVERY_MODES, Policy, parse_policy
from yaosu.sharing import rules as sharing_rules
from yaosu.sharing import schemas as sharing_schemas
from yaosu.sharing.service import grant_service, overdue, request_service
from yaosu.web import i18n
from yaosu.web.common import day, invalid, lang_of, page_number, render, validated, when
from yaosu.web.workspace import AUTHORITY, OVERSIGHT, PROVIDER, page

router = APIRouter(prefix="/workspace", include_in_schema=False)

READ = require(scope="sharing:read")
WRITE = require(scope="sharing:write")
# The service decides exactly who may change a grant (the provider's officers, the authority);
# the route already turns away roles that never may.
GRANT_CHANGE = require(*sorted(AUTHORITY | PROVIDER), scope="sharing:write")
TOKENS_READ = require(scope="identity:read")
TOKENS_WRITE = require(scope="identity:write")
OVERVIEW = require(*sorted(OVERSIGHT), scope="sharing:read")

PAGE_SIZE = 20
USAGE_DAYS = 30
ROLES = ("consumer", "provider")
CHANNELS = ("sharing", "open")
# What each grant action makes of the grant, as in the API (POST /grants/{id}/suspend…).
GRANT_ACTIONS = {"suspend": "suspended", "resume": "active", "revoke": "revoked"}
ATTRIBUTES = ("unconditional", "conditional", "none")


# --- words and small views ---------------------------------------------------------------------
def day_of(value: datetime | None) -> str:
    """The node-local day of an instant (see ``common.day``)."""
    return day(value)


def _helpers(request: Request) -> dict[str, Any]:
    lang = lang_of(request)
    i = 0 if lang == "zh" else 1
    return {
        "when": when,
        "day": day_of,
        "state": lambda s: i18n.t(f"shr.state.{s}", lang),
        "gstate": lambda s: i18n.t(f"shr.gstate.{s}", lang),
        "delivery": lambda m: DELIVERY_MODES.get(m, (m, m))[i],
        "sep": "、" if lang == "zh" else ", ",
    }


def _labels(resource: Any | None) -> dict[str, str]:
    """A resource's field names → their Chinese labels (the catalog's information items)."""
    return {
        f["name"]: f["label_zh"]
        for f in (resource.fields if resource is not None else []) or []
        if f.get("label_zh")
    }


class _Resources:
    """Resources by id as the subject may read them, each fetched once (None when hidden)."""

    def __init__(self, session: Session, subject: Subject) -> None:
        self.session, self.subject = session, subject
        self.found: dict[str, Any | None] = {}

    def get(self, resource_id: str) -> Any | None:
        if resource_id not in self.found:
            try:
                self.found[resource_id] = resource_service.get(
                    self.session, self.subject, resource_id
                )
            except NotFound:
                self.found[resource_id] = None
        return self.found[resource_id]


def _org_names(session: Session, subject: Subject, rows: Any) -> dict[str, str]:
    ids = sorted({r.consumer_id for r in rows} | {r.provider_id for r in rows})
    return org_service.names(session, subject, ids)


@dataclass
class Row:
    """A request or grant in a list, with the names it is shown by."""

    item: Any
    resource: Any | None
    consumer: str
    provider: str
    side: str | None
    overdue: bool = False


def _rows(session: Session, subject: Subject, items: Any) -> list[Row]:
    names = _org_names(session, subject, items)
    resources = _Resources(session, subject)
    out = []
    for r in items:
        side = (
            "consumer"
            if r.consumer_id == subject.org_id
            else ("provider" if r.provider_id == subject.org_id else None)
        )
        out.append(
            Row(
                item=r,
                resource=resources.get(r.resource_id),
                consumer=names.get(r.consumer_id, r.consumer_id),
                provider=names.get(r.provider_id, r.provider_id),
                side=side,
                overdue=overdue(r) if hasattr(r, "deadline_at") else False,
            )
        )
    return out


# --- the list ----------------------------------------------------------------------------------
@router.get("/sharing", response_class=HTMLResponse)
def sharing(
    request: Request,
    status: str = Query(default=""),
    role: str = Query(default=""),
    channel: str = Query(default=""),
    gstatus: str = Query(default=""),
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """The unit's share requests (made and received, both channels) filterable by status, with
    deadlines and overdue flags; and its grants on either side with status and validity."""
    status = status if status in sharing_rules.REQUEST_STATES else ""
    role = role if role in ROLES else ""
    channel = channel if channel in CHANNELS else ""
    gstatus = gstatus if gstatus in sharing_rules.GRANT_STATES else ""
    page_no, gpage_no = (
        page_number(request.query_params.get("page")),
        page_number(request.query_params.get("gpage")),
    )
    requests, total = request_service.list(
        session,
        subject,
        role=role or None,
        status=status or None,
        limit=PAGE_SIZE,
        offset=(page_no - 1) * PAGE_SIZE,
        channel=channel or None,
    )
    grants, gtotal = grant_service.list(
        session,
        subject,
        role=role or None,
        status=gstatus or None,
        limit=PAGE_SIZE,
        offset=(gpage_no - 1) * PAGE_SIZE,
    )
    return page(
        request,
        "ws/sharing/index.html",
        subject,
        section="sharing",
        requests=_rows(session, subject, requests),
        total=total,
        grants=_rows(session, subject, grants),
        gtotal=gtotal,
        page_no=page_no,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        gpage_no=gpage_no,
        gpages=max(1, math.ceil(gtotal / PAGE_SIZE)),
        filters={"status": status, "role": role, "channel": channel, "gstatus": gstatus},
        states=list(sharing_rules.REQUEST_STATES),
        gstates=list(sharing_rules.GRANT_STATES),
        roles=ROLES,
        channels=CHANNELS,
        **_helpers(request),
    )


# --- filing a request --------------------------------------------------------------------------
def _sharing_party(session: Session, subject: Subject) -> bool:
    """Government units and public institutions share; others apply on the portal."""
    if subject.org_id is None:
        return False
    return org_service.get(session, subject, subject.org_id).kind in sharing_rules.CONSUMER_KINDS


@router.get("/sharing/new", response_class=HTMLResponse)
def new_request_form(
    request: Request,
    resource: str = Query(default="", max_length=200),
    subject: Subject = Depends(WRITE),
    session: Session = SESSION,
) -> HTMLResponse:
    """The share request form for one resource: fields from its current version (or catalog),
    purpose, legal basis, term and delivery."""
    found = resource_service.get(session, subject, resource) if resource else None
    fields = request_service.requestable_fields(session, found) if found is not None else []
    return page(
        request,
        "ws/sharing/new.html",
        subject,
        section="sharing",
        resource=found,
        fields=fields,
        labels=_labels(found),
        party=_sharing_party(session, subject),
        own=found is not None and found.provider_id == subject.org_id,
        purposes=list(sharing_rules.PURPOSES),
        modes=list(sharing_rules.DELIVERY_MODES),
        **_helpers(request),
    )


def _term(value: str) -> int:
    try:
        days = int(value.strip() or "365")
    except ValueError:
        days = 0
    if not 1 <= days <= sharing_rules.MAX_TERM_DAYS:
        raise invalid("shr.bad_term", "invalid_term")
    return days


@router.post("/sharing/new", response_class=HTMLResponse)
def new_request(
    request: Request,
    resource: str = Form(default=""),
    fields: list[str] = Form(default_factory=list),
    purpose: str = Form(default=""),
    purpose_text: str = Form(default=""),
    scenario: str = Form(default=""),
    legal_basis: str = Form(default=""),
    term_days: str = Form(default="365"),
    delivery_mode: str = Form(default="api"),
    subject: Subject = Depends(WRITE),
    session: Session = SESSION,
) -> HTMLResponse:
    """File the request; the answer says at once whether it was approved automatically (with
    the grant), refused by the rules (with the reason), or sent to review (with the deadline)."""
    if not fields:
        raise invalid("shr.no_fields", "no_fields")
    if not legal_basis.strip():
        raise invalid("shr.basis_required", "legal_basis_required")
    data = validated(
        sharing_schemas.ShareRequestCreate,
        {
            "resource_id": resource,
            "fields": fields,
            "purpose": purpose,
            "purpose_text": purpose_text.strip(),
            "scenario": scenario.strip() or None,
            "legal_basis": legal_basis.strip(),
            "term_days": _term(term_days),
            "delivery_mode": delivery_mode,
        },
    )
    try:
        req = request_service.submit(session, subject, data)
    except Forbidden as exc:
        if exc.code != "not_a_sharing_party":
            raise
        lang = lang_of(request)
        return render(
            request,
            "ws/sharing/_portal.html",
            subject,
            status_code=exc.status,
            message=exc.message if lang == "en" else exc.message_zh,
            resource_id=resource,
        )
    return render(request, "ws/sharing/_filed.html", subject, req=req, **_helpers(request))


# --- one request -------------------------------------------------------------------------------
def _history(req: Any) -> list[dict[str, Any]]:
    """What happened to a request, oldest first: filed, rule check or decisions, closing."""
    steps: list[dict[str, Any]] = [{"stage": "submitted", "at": aware(req.created_at).isoformat()}]
    if req.refusal:
        steps.append({"stage": "rules", "approve": False, "refusal": req.refusal, "at": None})
    for d in req.decisions or []:
        steps.append({**d, "stage": d.get("stage", "")})
    if req.status in ("withdrawn", "expired"):
        steps.append({"stage": req.status, "at": aware(req.updated_at).isoformat()})
    return steps


def _request_values(session: Session, subject: Subject, req: Any) -> dict[str, Any]:
    [row] = _rows(session, subject, [req])
    return {
        "req": req,
        "row": row,
        "labels": _labels(row.resource),
        "history": _history(req),
        "can_withdraw": req.status in sharing_rules.OPEN_STATES
        and req.consumer_id == subject.org_id,
    }


@router.get("/sharing/requests/{request_id}", response_class=HTMLResponse)
def request_detail(
    request_id: str,
    request: Request,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """One request: what was asked, where it stands (deadline, overdue), its history, the
    grant it led to, a withdraw button for the requester while it is open, and its trail."""
    req = request_service.get(session, subject, request_id)
    return page(
        request,
        "ws/sharing/request.html",
        subject,
        section="sharing",
        **_request_values(session, subject, req),
        **_helpers(request),
    )


@router.post("/sharing/requests/{request_id}/withdraw", response_class=HTMLResponse)
def withdraw_request(
    request_id: str,
    request: Request,
    subject: Subject = Depends(WRITE),
    session: Session = SESSION,
) -> HTMLResponse:
    """Withdraw an open request (the requesting unit only)."""
    req = request_service.get_for_decision(session, subject, request_id)
    if req.status not in sharing_rules.OPEN_STATES:
        raise _stale_request(req.status)
    try:
        request_service.withdraw(session, subject, req.id)
    except Conflict as exc:
        raise _stale_request(req.status) from exc
    lang = lang_of(request)
    return render(
        request,
        "ws/sharing/_request_changed.html",
        subject,
        message=i18n.t("shr.withdrawn", lang),
        **_request_values(session, subject, req),
        **_helpers(request),
    )


def _stale_request(status: str) -> Conflict:
    return Conflict(
        i18n.t("shr.request_stale", "en", status=i18n.t(f"shr.state.{status}", "en")),
        i18n.t("shr.request_stale", "zh", status=i18n.t(f"shr.state.{status}", "zh")),
        code="request_state_conflict",
        current=status,
    )


# --- one grant ---------------------------------------------------------------------------------
def _days(days: int) -> list[str]:
    today = local_day(utcnow())  # usage is counted per day of the node's zone
    return [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def refusal_label(code: str, lang: str) -> str:
    key = f"shr.refusal.{code}"
    return i18n.t(key, lang) if key in i18n.MESSAGES else code


def usage_chart(days: Sequence[sharing_schemas.UsageDay], span: int, lang: str) -> dict[str, Any]:
    """Calls, rows and refusals by reason per day over the last ``span`` days (zeros filled
    in), as charts.js draws it: calls and refusals as bars, rows as a line on its own axis."""
    axis = _days(span)
    by_day = {d.day: d for d in days}
    codes = sorted({c for d in days for c in d.refusals})

    def series(pick: Any) -> list[int]:
        return [pick(by_day[x]) if x in by_day else 0 for x in axis]

    return {
        "kind": "series",
        "x": axis,
        "axes": [i18n.t("shr.usage.calls", lang), i18n.t("shr.usage.rows", lang)],
        "series": [
            {
                "name": i18n.t("shr.usage.calls", lang),
                "type": "bar",
                "data": series(lambda d: d.calls),
            },
            {
                "name": i18n.t("shr.usage.rows", lang),
                "type": "line",
                "axis": 1,
                "data": series(lambda d: d.rows),
            },
            *(
                {
                    "name": f"{i18n.t('shr.usage.refusals', lang)}: {refusal_label(c, lang)}",
                    "type": "bar",
                    "stack": "refused",
                    "data": series(lambda d, c=c: d.refusals.get(c, 0)),
                }
                for c in codes
            ),
        ],
        "totals": {
            "calls": sum(d.calls for d in days),
            "rows": sum(d.rows for d in days),
            "refused": sum(sum(d.refusals.values()) for d in days),
        },
    }


def _may_change(subject: Subject, grant: Any) -> bool:
    return bool(
        subject.roles & AUTHORITY
        or (subject.org_id == grant.provider_id and subject.roles & PROVIDER)
    )


REGION_CODE = re.compile(r"\d{6}(\d{3}|\d{6})?")


def region_labels(session: Session, subject: Subject, policy: Policy) -> dict[str, dict[str, str]]:
    """Row-filter values that are region codes (行政区划代码), labelled with the region's
    government unit, so "仅限 qh 为 370602" reads "仅限 示范市东城区"."""
    wanted: dict[str, list[str]] = {}
    for c in policy.terms.row_filter:
        values = c.value if isinstance(c.value, list | tuple) else [c.value]
        codes = [str(v) for v in values if REGION_CODE.fullmatch(str(v))]
        if c.column and codes:
            wanted.setdefault(c.column, []).extend(codes)
    names = org_service.names_by_region(
        session, subject, sorted({v for vs in wanted.values() for v in vs})
    )
    return {
        column: {v: names[v] for v in values if v in names} for column, values in wanted.items()
    }


def _grant_values(session: Session, subject: Subject, grant: Any, lang: str) -> dict[str, Any]:
    [row] = _rows(session, subject, [grant])
    labels = grant_service.labels(session, grant)
    policy = parse_policy(grant.policy)
    return {
        "grant": grant,
        "row": row,
        "summary": describe.describe(
            policy,
            "en" if lang == "en" else "zh",
            labels=labels,
            value_labels=region_labels(session, subject, policy),
        ),
        "policy_json": json.dumps(grant.policy, ensure_ascii=False, indent=2),
        "may_change": _may_change(subject, grant),
        "actions": [
            a
            for a, target in GRANT_ACTIONS.items()
            if target in sharing_rules.GRANT_TRANSITIONS.get(grant.status, frozenset())
        ],
    }


@router.get("/sharing/grants/{grant_id}", response_class=HTMLResponse)
def grant_detail(
    grant_id: str,
    request: Request,
    subject: Subject = Depends(READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """A grant: its policy in plain words (and the ODRL document), its status with the
    provider's actions, usage charts (calls, rows, refusals by reason per day), its trail."""
    grant = grant_service.get(session, subject, grant_id)
    lang = lang_of(request)
    usage = grant_service.usage(session, subject, grant.id, USAGE_DAYS)
    return page(
        request,
        "ws/sharing/grant.html",
        subject,
        section="sharing",
        usage=usage,
        usage_chart=usage_chart(usage.days, USAGE_DAYS, lang),
        usage_days=USAGE_DAYS,
        refusal_label=lambda c: refusal_label(c, lang),
        **_grant_values(session, subject, grant, lang),
        **_helpers(request),
    )


def _change_grant(action: str) -> Any:
    target = GRANT_ACTIONS[action]

    def change(
        grant_id: str,
        request: Request,
        reason: str = Form(default=""),
        subject: Subject = Depends(GRANT_CHANGE),
        session: Session = SESSION,
    ) -> HTMLResponse:
        text = reason.strip()
        if not text:
            raise invalid("shr.reason_required", "reason_required")
        grant = grant_service.get(session, subject, grant_id)
        try:
            grant_service.change(session, subject, grant.id, target, text[:2000])
        except Conflict as exc:
            raise _stale_grant(grant.status, action) from exc
        lang = lang_of(request)
        return render(
            request,
            "ws/sharing/_grant_changed.html",
            subject,
            message=i18n.t(
                "shr.grant.changed", lang, action=i18n.t(f"shr.grant.done.{action}", lang)
            ),
            **_grant_values(session, subject, grant, lang),
            **_helpers(request),
        )

    change.__name__ = f"{action}_grant"
    change.__doc__ = f"{action.capitalize()} a grant with a reason (provider or authority)."
    return change


def _stale_grant(status: str, action: str) -> Conflict:
    def say(lang: str) -> str:
        return i18n.t(
            "shr.grant_stale",
            lang,
            status=i18n.t(f"shr.gstate.{status}", lang),
            action=i18n.t(f"shr.grant.done.{action}", lang),
        )

    return Conflict(say("en"), say("zh"), code="grant_state_conflict", current=status)


for _action in GRANT_ACTIONS:
    router.add_api_route(
        f"/sharing/grants/{{grant_id}}/{_action}",
        _change_grant(_action),
        methods=["POST"],
        response_class=HTMLResponse,
    )


# --- API tokens --------------------------------------------------------------------------------
def _token_state(token: Any) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if aware(token.expires_at) <= utcnow() else "active"


def _token_values(session: Session, subject: Subject) -> dict[str, Any]:
    tokens, total = token_service.list_own(session, subject, limit=200)
    return {
        "tokens": [(tk, _token_state(tk)) for tk in tokens],
        "token_total": total,
        "scopes": [s for s in identity_rules.SCOPES if s in subject.scopes],
    }


@router.get("/tokens", response_class=HTMLResponse)
def tokens(
    request: Request,
    subject: Subject = Depends(TOKENS_READ),
    session: Session = SESSION,
) -> HTMLResponse:
    """The user's API tokens, and a form to make one with scopes up to the user's own."""
    return page(
        request,
        "ws/sharing/tokens.html",
        subject,
        section="tokens",
        **_token_values(session, subject),
        **_helpers(request),
    )


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    name: str = Form(default=""),
    scopes: list[str] = Form(default_factory=list),
    expires_in_days: str = Form(default="90"),
    subject: Subject = Depends(TOKENS_WRITE),
    session: Session = SESSION,
) -> HTMLResponse:
    """Make a token; its secret is shown in the answer, once. Scopes beyond the caller's own
    are refused by the service."""
    if not name.strip():
        raise invalid("shr.tok.no_name", "name_required")
    if not scopes:
        raise invalid("shr.tok.no_scope", "invalid_scope")
    try:
        days = int(expires_in_days.strip() or "90")
    except ValueError:
        days = 0
    if not 1 <= days <= 730:
        raise invalid("shr.tok.bad_days", "invalid_expiry")
    data = validated(
        identity_schemas.TokenCreate,
        {"name": name.strip(), "scopes": scopes, "expires_in_days": days},
    )
    token, secret = token_service.create(session, subject, data)
    return render(
        request,
        "ws/sharing/_token_created.html",
        subject,
        created=token,
        secret=secret,
        **_token_values(session, subject),
        **_helpers(request),
    )


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(
    token_id: str,
    request: Request,
    subject: Subject = Depends(TOKENS_WRITE),
    session: Session = SESSION,
) -> HTMLResponse:
    """Revoke a token with immediate effect; a second revocation says it already is."""
    token_service.revoke(session, subject, token_id)
    return render(
        request,
        "ws/sharing/_token_revoked.html",
        subject,
        **_token_values(session, subject),
        **_helpers(request),
    )


# --- the data authority's overview -------------------------------------------------------------
def _bar(
    names: list[str], values: list[int], label: str, horizontal: bool = False
) -> dict[str, Any]:
    return {
        "kind": "series",
        "x": names,
        "horizontal": horizontal,
        "series": [{"name": label, "type": "bar", "data": values}],
    }


def _pie(items: list[tuple[str, int]]) -> dict[str, Any]:
    return {"kind": "pie", "items": [{"name": n, "value": v} for n, v in items if v]}


def overview_charts(
    session: Session, subject: Subject, lang: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The city's figures and the overview's charts, in ``lang``."""
    counts = census.counts(session, subject, None)
    by_unit = sorted(counts["provider_id"].items(), key=lambda kv: (-kv[1], kv[0]))
    names = org_service.names(session, subject, [k for k, _ in by_unit])
    unset = i18n.t("shr.ov.unset", lang)

    def attribute(kind: str, value: str) -> str:
        return i18n.vocab(kind, value, lang) if value else unset

    values = [*ATTRIBUTES]
    if counts["share_attribute"].get("") or counts["open_attribute"].get(""):
        values.append("")
    requests = request_service.count_by_status(session, subject)
    grants = grant_service.count_by_status(session, subject)
    daily = grant_service.daily_totals(session, subject, USAGE_DAYS)
    usage = usage_chart(daily, USAGE_DAYS, lang)
    charts = {
        "ov-by-unit": _bar(
            [names.get(k, k) for k, _ in by_unit],
            [v for _, v in by_unit],
            i18n.t("shr.ov.resources", lang),
            horizontal=True,
        ),
        "ov-by-attribute": {
            "kind": "series",
            "x": [attribute("share_attribute", v) for v in values],
            "series": [
                {
                    "name": i18n.t("shr.ov.share", lang),
                    "type": "bar",
                    "data": [counts["share_attribute"].get(v, 0) for v in values],
                },
                {
                    "name": i18n.t("shr.ov.open", lang),
                    "type": "bar",
                    "data": [counts["open_attribute"].get(v, 0) for v in values],
                },
            ],
        },
        "ov-requests": _bar(
            [i18n.t(f"shr.state.{s}", lang) for s in sharing_rules.REQUEST_STATES],
            [requests.get(s, 0) for s in sharing_rules.REQUEST_STATES],
            i18n.t("shr.ov.requests", lang),
            horizontal=True,
        ),
        "ov-grants": _pie(
            [
                (i18n.t(f"shr.gstate.{s}", lang), grants.get(s, 0))
                for s in sharing_rules.GRANT_STATES
            ]
        ),
        "ov-daily": usage,
    }
    figures = {
        "resources": counts["total"],
        "ingested": counts.get("ingested", 0),
        "requests": sum(requests.values()),
        "active_grants": grants.get("active", 0),
        "calls": usage["totals"]["calls"],
    }
    return figures, charts


@router.get("/overview", response_class=HTMLResponse)
def overview(
    request: Request,
    subject: Subject = Depends(OVERVIEW),
    session: Session = SESSION,
) -> HTMLResponse:
    """City-wide counts for the data authority and auditors: resources by unit and attribute,
    requests by state, grants by status, data-service calls per day; the resource ledger
    export (资源台账) as CSV and Excel."""
    figures, charts = overview_charts(session, subject, lang_of(request))
    return page(
        request,
        "ws/sharing/overview.html",
        subject,
        section="overview",
        figures=figures,
        charts=charts,
        usage_days=USAGE_DAYS,
    )
