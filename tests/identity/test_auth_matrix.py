"""Every endpoint × every kind of caller, allowed and denied.

The matrix (the cases below and each workspace area's ``matrix_<area>.py``) must name every
route the app serves (a test checks), so a new endpoint cannot ship without declaring who may
call it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import compile_path

from tests.fixtures.catalog import create_resource
from tests.fixtures.identity import (
    PASSWORD,
    SYSTEM,
    api_token,
    bearer,
    create_org,
    create_user,
    login,
    make_uscc,
)
from tests.identity import (
    matrix_admin,
    matrix_catalog,
    matrix_duties,
    matrix_opendata,
    matrix_protection,
    matrix_versions,
)
from tests.identity.matrix import (
    ACTIVE,
    CAT_EDIT,
    CAT_READ,
    CAT_REVIEW,
    CREDS,
    EVERYONE,
    IMPORTANT_READ,
    PROVIDERS,
    REASON,
    SHARE,
    SUBJECTS,
    Case,
    World,
    admission_body,
    org_body,
    resource_body,
)
from yaosu.identity import schemas
from yaosu.identity.access import Access
from yaosu.identity.service import admission_service, org_service, token_service
from yaosu.ledger.service import ledger_service


def build_world(session: Any) -> World:
    bureau = create_org(session, "大数据局")
    gaj = create_org(session, "公安局")
    audit = create_org(session, "审计局", kind="regulator")
    other = create_org(session, "交通局")
    banned = create_org(session, "被暂停单位")
    create_user(session, bureau, "admin", "platform_admin")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, gaj, "cdo.gaj", "cdo")
    create_user(session, gaj, "officer.gaj", "data_officer")
    member = create_user(session, gaj, "member.gaj", "member")
    create_user(session, audit, "auditor", "auditor")
    create_user(session, banned, "member.banned")
    pending = admission_service.apply(
        session,
        schemas.AdmissionCreate(
            org_name="待审运营公司",
            requested_kind="operator",
            uscc=make_uscc(),
            statement="申请",
            contact_username="pending.op",
            contact_display_name="p",
            contact_password=PASSWORD,
        ),
    )
    rejected = admission_service.apply(
        session,
        schemas.AdmissionCreate(
            org_name="被拒服务机构",
            requested_kind="service_provider",
            service_types=["insurer"],
            uscc=make_uscc(),
            statement="申请",
            contact_username="rejected.sp",
            contact_display_name="r",
            contact_password=PASSWORD,
        ),
    )
    admission_service.decide(session, SYSTEM, rejected.id, False, "资质不全")
    headers = {
        name: bearer(login(session, username))
        for name, username in [
            ("admin", "admin"),
            ("reviewer", "reviewer"),
            ("cdo", "cdo.gaj"),
            ("officer", "officer.gaj"),
            ("member", "member.gaj"),
            ("auditor", "auditor"),
            ("pending", "pending.op"),
            ("rejected", "rejected.sp"),
            ("suspended", "member.banned"),
        ]
    }
    headers["readonly"] = bearer(api_token(session, member, "identity:read", "ledger:read"))
    headers["anonymous"] = {}
    org_service.change_status(session, SYSTEM, banned.id, "suspended", "测试")
    member_subject = token_service.subject_of(member, frozenset({"identity:write"}), None, "test")
    tok, _ = token_service.create(
        session, member_subject, schemas.TokenCreate(name="x", scopes=["identity:write"])
    )
    resource = create_resource(session, gaj, publish=True)
    ledger_service.checkpoint(session)
    session.commit()
    return World(
        headers,
        {
            "bureau": bureau.id,
            "gaj": gaj.id,
            "other": other.id,
            "banned": banned.id,
            "member": member.id,
            "token": tok.id,
            "pending_adm": pending.id,
            "res": resource.id,
            "regcode": resource.registration_code or "",
            "nothing": "01nothing0000000000000000",
        },
    )


CASES = [
    Case("GET", "/api/v1/health", EVERYONE),
    Case("POST", "/api/v1/auth/token", EVERYONE, form=CREDS),
    Case("POST", "/api/v1/auth/session", EVERYONE, form=CREDS),
    Case("DELETE", "/api/v1/auth/session", EVERYONE - {"anonymous"}),
    Case("GET", "/api/v1/auth/me", EVERYONE - {"anonymous"}),
    Case("GET", "/api/v1/orgs", ACTIVE),
    Case("POST", "/api/v1/orgs", {"admin"}, json=org_body),
    Case("GET", "/api/v1/orgs/{other}", ACTIVE),
    Case("POST", "/api/v1/orgs/{other}/suspend", {"admin", "reviewer"}, json=REASON),
    Case("POST", "/api/v1/orgs/{banned}/resume", {"admin", "reviewer"}, json=REASON),
    Case("POST", "/api/v1/orgs/{other}/exit", {"admin", "reviewer"}, json=REASON),
    Case("GET", "/api/v1/orgs/{gaj}/did.json", EVERYONE),
    Case("GET", "/org/{gaj}/did.json", EVERYONE),
    Case("GET", "/api/v1/users", ACTIVE),
    Case(
        "POST",
        "/api/v1/users",
        {"admin", "cdo"},
        json=lambda w: {
            "username": "new.user",
            "display_name": "n",
            "password": PASSWORD,
            "org_id": w.ids["gaj"],
        },
    ),
    Case("GET", "/api/v1/users/{member}", ACTIVE),
    Case("POST", "/api/v1/users/{member}/deactivate", {"admin", "cdo"}),
    Case("GET", "/api/v1/tokens", ACTIVE),
    Case(
        "POST",
        "/api/v1/tokens",
        ACTIVE - {"readonly"},
        json=lambda w: {"name": "t", "scopes": ["identity:read"]},
    ),
    Case("DELETE", "/api/v1/tokens/{token}", ACTIVE - {"readonly"}),
    Case("POST", "/api/v1/admissions", EVERYONE, json=admission_body),
    Case("GET", "/api/v1/admissions", ACTIVE | {"pending", "rejected"}),
    Case("GET", "/api/v1/admissions/{pending_adm}", ACTIVE | {"pending", "rejected"}),
    Case("POST", "/api/v1/admissions/{pending_adm}/approve", {"admin", "reviewer"}, json=REASON),
    Case("POST", "/api/v1/admissions/{pending_adm}/reject", {"admin", "reviewer"}, json=REASON),
    Case("GET", "/api/v1/ledger/checkpoint", EVERYONE),
    Case("POST", "/api/v1/ledger/checkpoint", {"admin", "auditor"}),
    Case("GET", "/api/v1/ledger/key", EVERYONE),
    Case("GET", "/api/v1/ledger/entries/{zero}", EVERYONE),
    Case("GET", "/api/v1/ledger/proof/inclusion?index=0&size=2", EVERYONE),
    Case("GET", "/api/v1/ledger/proof/consistency?from=1&to=2", EVERYONE),
    Case("GET", "/api/v1/ledger/trail/{gaj}", ACTIVE),
    Case("GET", "/", EVERYONE),
    # catalog
    Case("POST", "/api/v1/resources", CAT_EDIT, json=lambda w: resource_body()),
    Case("GET", "/api/v1/resources?q=人口", CAT_READ),
    Case("GET", "/api/v1/resources/{res}", CAT_READ),
    Case("PATCH", "/api/v1/resources/{res}", CAT_EDIT, json=lambda w: {"summary": "新"}),
    Case("POST", "/api/v1/resources/{res}/submit", CAT_EDIT),
    Case("POST", "/api/v1/resources/{res}/publish", CAT_REVIEW),
    Case("POST", "/api/v1/resources/{res}/return", CAT_REVIEW, json=REASON),
    Case("POST", "/api/v1/resources/{res}/retire", CAT_EDIT | CAT_REVIEW, json=REASON),
    Case("GET", "/api/v1/resources/{res}/catalog-versions", CAT_READ),
    Case("GET", "/api/v1/registrations/{regcode}", EVERYONE),
    Case("GET", "/api/v1/resources/{res}/versions", CAT_READ),
    Case("GET", "/api/v1/dataset-versions/{nothing}", CAT_READ),
    Case("POST", "/api/v1/resources/{res}/versions", CAT_EDIT),
    Case(
        "POST",
        "/api/v1/resources/{res}/uploads",
        CAT_EDIT,
        json=lambda w: {"filename": "a.csv", "size": 10},
    ),
    Case("GET", "/api/v1/uploads/{nothing}", CAT_EDIT),
    Case("PUT", "/api/v1/uploads/{nothing}/chunks?offset=0", CAT_EDIT),
    Case("POST", "/api/v1/uploads/{nothing}/complete", CAT_EDIT),
    Case(
        "POST",
        "/api/v1/resources/{res}/pulls",
        CAT_EDIT,
        json=lambda w: {"kind": "http", "url": "http://data.example/data.csv", "cron": "0 3 * * *"},
    ),
    Case("GET", "/api/v1/jobs/{nothing}", CAT_READ),
    Case("GET", "/api/v1/resources/{res}/jobs", CAT_READ),
    Case("POST", "/api/v1/jobs/{nothing}/retry", CAT_EDIT),
    Case("GET", "/api/v1/census", CAT_READ),
    Case("GET", "/api/v1/census/export?format=xlsx", CAT_READ),
    Case("GET", "/api/v1/acceptance?system=人口综合库", CAT_READ),
    Case("POST", "/api/v1/demands", CAT_READ, json=lambda w: {"title": "t", "description": "d"}),
    Case("GET", "/api/v1/demands", CAT_READ),
    Case("GET", "/api/v1/demands/{nothing}", CAT_READ),
    Case("POST", "/api/v1/demands/{nothing}/answers", CAT_EDIT, json=lambda w: {"reason": "无"}),
    Case("POST", "/api/v1/demands/{nothing}/close", CAT_READ),
    # classification
    Case("GET", "/api/v1/classification/vocabulary", CAT_READ),
    # the publication card: the data authority and provider officers (auditors read too)
    Case("GET", "/api/v1/resources/{nothing}/publication-check", IMPORTANT_READ),
    Case("GET", "/api/v1/dataset-versions/{nothing}/classification", CAT_READ),
    Case("POST", "/api/v1/dataset-versions/{nothing}/classification/rerun", CAT_EDIT),
    Case(
        "POST",
        "/api/v1/dataset-versions/{nothing}/classification/fields",
        CAT_EDIT,
        json=lambda w: {"column": "sfzh"},
    ),
    Case(
        "POST",
        "/api/v1/dataset-versions/{nothing}/classification/grade",
        CAT_EDIT | {"reviewer"},
        json=lambda w: {"grade": "general_2"},
    ),
    Case(
        "POST",
        "/api/v1/dataset-versions/{nothing}/classification/describes",
        CAT_EDIT | {"reviewer"},
        json=lambda w: {"describes": "place", "reason": "行描述设施"},
    ),
    Case(
        "POST",
        "/api/v1/dataset-versions/{nothing}/masked-export",
        CAT_READ,
        json=lambda w: {"policy": "default"},
    ),
    Case(
        "POST",
        "/api/v1/dataset-versions/{nothing}/k-anonymity",
        CAT_READ,
        json=lambda w: {"quasi_identifiers": ["xm"], "k": 2},
    ),
    Case("GET", "/api/v1/important-data", IMPORTANT_READ),
    Case("GET", "/api/v1/important-data/{nothing}", IMPORTANT_READ),
    Case(
        "POST",
        "/api/v1/important-data",
        CAT_REVIEW,
        json=lambda w: {"sector": "政务", "name": "人口", "code_prefixes": ["101"]},
    ),
    Case("PATCH", "/api/v1/important-data/{nothing}", CAT_REVIEW, json=lambda w: {"name": "n"}),
    Case("POST", "/api/v1/important-data/{nothing}/retire", CAT_REVIEW, json=REASON),
    # sharing and the data service
    Case("POST", "/api/v1/share-requests", SHARE, json=lambda w: {"resource_id": "x"}),
    Case("GET", "/api/v1/share-requests", SHARE),
    Case("GET", "/api/v1/share-requests/{nothing}", SHARE),
    Case(
        "POST", "/api/v1/share-requests/{nothing}/decision", SHARE, json=lambda w: {"approve": True}
    ),
    Case("POST", "/api/v1/share-requests/{nothing}/withdraw", SHARE),
    Case("GET", "/api/v1/grants", SHARE),
    Case("GET", "/api/v1/grants/{nothing}", SHARE),
    Case("POST", "/api/v1/grants/{nothing}/suspend", SHARE, json=REASON),
    Case("POST", "/api/v1/grants/{nothing}/resume", SHARE, json=REASON),
    Case("POST", "/api/v1/grants/{nothing}/revoke", SHARE, json=REASON),
    Case("GET", "/api/v1/grants/{nothing}/usage", SHARE),
    Case(
        "POST",
        "/api/v1/grants/{nothing}/subscriptions",
        SHARE,
        json=lambda w: {"url": "https://example.cn/hook"},
    ),
    Case("GET", "/api/v1/responsibilities", SHARE),
    Case("POST", "/api/v1/responsibilities", CAT_REVIEW, json=lambda w: {"org_id": "x"}),
    Case(
        "POST",
        "/api/v1/responsibilities/{nothing}/link",
        SHARE,
        json=lambda w: {"resource_id": w.ids["res"]},
    ),
    Case("GET", "/api/v1/services/{nothing}/rows", SHARE),
    Case("GET", "/api/v1/services/{nothing}/lookup?key=1", SHARE),
    Case("GET", "/api/v1/services/{nothing}/schema", SHARE),
    Case("GET", "/api/v1/services/{nothing}/export", SHARE),
    # open data: the public catalog, applications, demands, reuses, developers
    Case("GET", "/api/v1/open/datasets", EVERYONE),
    Case("GET", "/api/v1/open/datasets/{res}", EVERYONE),
    Case("GET", "/api/v1/open/datasets/{res}/preview", EVERYONE),
    Case("GET", "/api/v1/open/datasets/{res}/distributions", EVERYONE),
    Case("GET", "/api/v1/open/datasets/{res}/download/csv", EVERYONE),
    Case("GET", "/api/v1/open/figures", EVERYONE),
    Case("GET", "/api/v1/open/organizations", EVERYONE),
    Case("POST", "/api/v1/open/applications", SHARE, json=lambda w: {"resource_id": "x"}),
    Case("GET", "/api/v1/open/applications", SHARE),
    Case("POST", "/api/v1/open/demands", EVERYONE, json=lambda w: {"title": "x"}),
    Case("GET", "/api/v1/open/demands", EVERYONE),
    Case("GET", "/api/v1/open/demands/{nothing}", EVERYONE),
    Case("POST", "/api/v1/open/demands/{nothing}/answer", SHARE, json=lambda w: {"answer": "x"}),
    Case("POST", "/api/v1/open/reuses", EVERYONE, json=lambda w: {"title": "x"}),
    Case("GET", "/api/v1/open/reuses", EVERYONE),
    Case("POST", "/api/v1/open/reuses/{nothing}/decision", CAT_REVIEW, json=lambda w: {"show": 1}),
    Case("POST", "/api/v1/open/developers", EVERYONE, json=lambda w: {"username": "x"}),
    # the CKAN Action API
    Case("GET", "/api/3/action/status_show", EVERYONE),
    Case("POST", "/api/3/action/status_show", EVERYONE, json=lambda w: {}),
    Case("GET", "/api/action/status_show", EVERYONE),
    Case("POST", "/api/action/status_show", EVERYONE, json=lambda w: {}),
    # DCAT-AP feeds
    Case("GET", "/catalog.ttl", EVERYONE),
    Case("GET", "/catalog.jsonld", EVERYONE),
    Case("GET", "/dataset/{res}.ttl", EVERYONE),
    Case("GET", "/dataset/{res}.jsonld", EVERYONE),
    # the portal's pages and forms
    Case("GET", "/", EVERYONE),
    Case("GET", "/datasets", EVERYONE),
    Case("GET", "/datasets/{res}", EVERYONE),
    Case("GET", "/datasets/{res}/preview", EVERYONE),
    Case("GET", "/datasets/{res}/downloads", EVERYONE),
    Case("GET", "/datasets/{res}/apply", EVERYONE),
    Case("POST", "/datasets/{res}/apply", EVERYONE - {"anonymous"}, csrf=True),
    Case("GET", "/organizations", EVERYONE),
    Case("GET", "/organizations/{gaj}", EVERYONE),
    Case("GET", "/registrations/{regcode}", EVERYONE),
    Case("GET", "/demands", EVERYONE),
    Case("POST", "/demands", EVERYONE, csrf=True),
    Case("GET", "/reuses", EVERYONE),
    Case("POST", "/reuses", EVERYONE, csrf=True),
    Case("GET", "/login", EVERYONE),
    Case("POST", "/login", EVERYONE, form=CREDS, csrf=True),
    Case("POST", "/logout", EVERYONE, csrf=True),
    Case("GET", "/developers", EVERYONE),
    Case("POST", "/developers", EVERYONE, csrf=True),
    Case("POST", "/developers/keys", SHARE, csrf=True),
    # the workspace
    Case("GET", "/workspace", ACTIVE),
    Case("GET", "/workspace/trail/{gaj}", ACTIVE),
    Case("GET", "/workspace/reviews", PROVIDERS),
    Case("POST", "/workspace/reviews/resources/{res}/publish", CAT_REVIEW),
    Case("POST", "/workspace/reviews/resources/{res}/return", CAT_REVIEW, form=REASON),
    Case("POST", "/workspace/reviews/requests/{nothing}/decision", PROVIDERS, form=REASON),
    Case("POST", "/workspace/reviews/admissions/{pending_adm}/decision", CAT_REVIEW, form=REASON),
    Case("GET", "/workspace/sharing", SHARE),
    Case("GET", "/workspace/sharing/new?resource={res}", SHARE),
    Case("POST", "/workspace/sharing/new", SHARE),
    Case("GET", "/workspace/sharing/requests/{nothing}", SHARE),
    Case("POST", "/workspace/sharing/requests/{nothing}/withdraw", SHARE),
    Case("GET", "/workspace/sharing/grants/{nothing}", SHARE),
    *(
        Case("POST", f"/workspace/sharing/grants/{{nothing}}/{action}", PROVIDERS, form=REASON)
        for action in ("suspend", "resume", "revoke")
    ),
    Case("GET", "/workspace/tokens", ACTIVE),
    Case("POST", "/workspace/tokens", SHARE),
    Case("POST", "/workspace/tokens/{token}/revoke", SHARE),
    Case("GET", "/workspace/overview", {"admin", "reviewer", "auditor"}),
    Case("GET", "/workspace/resources", CAT_READ),
    Case("GET", "/workspace/resources/new", CAT_EDIT),
    Case("POST", "/workspace/resources/new", CAT_EDIT),
    Case("GET", "/workspace/resources/{res}", CAT_READ),
    Case("GET", "/workspace/resources/{res}/edit", CAT_EDIT),
    Case("POST", "/workspace/resources/{res}/edit", CAT_EDIT),
    Case("POST", "/workspace/resources/{res}/submit", CAT_EDIT),
    Case("POST", "/workspace/resources/{res}/classification/fields", CAT_EDIT),
    Case(
        "POST",
        "/workspace/resources/{res}/classification/grade",
        PROVIDERS,
    ),
    Case(
        "POST",
        "/workspace/resources/{res}/classification/describes",
        PROVIDERS,
    ),
    Case("GET", "/api/v1/masking-policies", CAT_READ),
    Case(
        "POST",
        "/api/v1/masking-policies",
        CAT_EDIT,
        json=lambda w: {"name": "p1", "rules": {"xm": {"op": "suppress"}}},
    ),
]


ALL_CASES = [
    *CASES,
    *matrix_catalog.CASES,
    *matrix_protection.CASES,
    *matrix_duties.CASES,
    *matrix_opendata.CASES,
    *matrix_admin.CASES,
    *matrix_versions.CASES,
]


def _template(case: Case) -> str:
    return case.path.split("?")[0]


@pytest.mark.parametrize("case", ALL_CASES, ids=[f"{c.method} {c.path}" for c in ALL_CASES])
def test_matrix(case: Case, client: Any, session: Any, connection: Any) -> None:
    world = build_world(session)
    ids = {**world.ids, "zero": "0"}
    path = case.path.format(**ids)
    outcomes = {}
    for name in SUBJECTS:
        savepoint = connection.begin_nested()  # each call starts from the same world
        headers = dict(world.headers[name])
        if case.csrf:
            client.cookies.set("yaosu_csrf", "matrix-csrf")
            headers["X-CSRF-Token"] = "matrix-csrf"
        try:
            r = client.request(
                case.method,
                path,
                headers=headers,
                json=case.json(world) if case.json else None,
                data=case.form(world) if case.form else None,
                follow_redirects=False,
            )
        finally:
            savepoint.rollback()
            client.cookies.clear()
        if r.status_code == 303 and r.headers.get("location", "").startswith("/login?next="):
            # A web page sends an unauthenticated visitor to sign in instead of a bare 401.
            outcomes[name] = (401, "redirected to sign in", True)
            continue
        # The API answers with the error envelope; web pages with a page naming the error.
        explained = "message_zh" in r.text or 'role="alert"' in r.text
        outcomes[name] = (r.status_code, r.text[:200], explained)
    for name, (status, text, explained) in outcomes.items():
        if name in case.allowed:
            assert status not in (401, 403), f"{name} should be allowed: {status} {text}"
            assert status < 500, f"{name}: {status} {text}"
        else:
            expected = 401 if name == "anonymous" else 403
            assert status == expected, f"{name} should get {expected}: {status} {text}"
            assert explained, text


def test_matrix_names_every_route_and_every_route_declares_access(app: Any) -> None:
    from yaosu.app import API_PREFIX, API_ROUTERS, ROOT_ROUTERS

    routes = [(API_PREFIX + r.path, r) for router in API_ROUTERS for r in router.routes]
    routes += [(r.path, r) for router in ROOT_ROUTERS for r in router.routes]
    routes += [(r.path, r) for r in app.routes if isinstance(r, APIRoute)]
    served = set()
    for path, route in routes:
        if not isinstance(route, APIRoute):
            continue
        for method in route.methods - {"HEAD"}:
            served.add((method, path))
        assert _declares_access(route.dependant), f"{path} declares no Access"
    # The matrix itself proves the routes are reachable where we think they are: each case's
    # concrete path is resolved as the app resolves a request: the first route that matches.
    named = {_served_by(routes, c) for c in ALL_CASES}
    assert served == named, f"unlisted: {served - named}; stale: {named - served}"


def _served_by(routes: list[tuple[str, Any]], case: Case) -> tuple[str, str]:
    path = _template(case).format_map(_Zero())
    for template, route in routes:
        if isinstance(route, APIRoute) and case.method in route.methods:
            regex, _, _ = compile_path(template)
            if regex.match(path):
                return case.method, template
    return case.method, f"(no route) {path}"


class _Zero(dict[str, str]):
    """Every placeholder as ``0``, which fits any path parameter (ids, codes, integers)."""

    def __missing__(self, key: str) -> str:
        return "0"


def _declares_access(dependant: Any) -> bool:
    return any(isinstance(d.call, Access) or _declares_access(d) for d in dependant.dependencies)
