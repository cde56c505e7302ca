"""The shared vocabulary of the auth matrix: who the callers are and what a case says.

Each workspace area keeps its cases in its own ``matrix_<area>.py`` beside this file (a list
named ``CASES``); ``test_auth_matrix`` gathers them and checks that together they name every
route the app serves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fixtures.identity import PASSWORD, make_uscc

ACTIVE = {"admin", "reviewer", "cdo", "officer", "member", "auditor", "readonly"}
EVERYONE = ACTIVE | {"anonymous", "pending", "rejected", "suspended"}
SUBJECTS = sorted(EVERYONE)
# The read-only token carries identity:read and ledger:read only.
CAT_READ = ACTIVE - {"readonly"}
CAT_EDIT = {"admin", "cdo", "officer"}
CAT_REVIEW = {"admin", "reviewer"}
SHARE = ACTIVE - {"readonly"}  # sharing:*, service:call: every login token, not the read-only one
PROVIDERS = {"admin", "reviewer", "cdo", "officer"}
IMPORTANT_READ = {"admin", "reviewer", "cdo", "officer", "auditor"}


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    ids: dict[str, str]


Body = Callable[[World], dict[str, Any]] | None


@dataclass
class Case:
    method: str
    path: str  # a route template; {name} is filled from World.ids or fixed values
    allowed: set[str]
    json: Body = None
    form: Body = None
    csrf: bool = False  # a portal form post: echoes the CSRF cookie, as htmx does


def resource_body() -> dict[str, Any]:
    return {"name": "新资源", "classification_code": "10101001"}


def org_body(w: World) -> dict[str, Any]:
    return {
        "name": "新单位",
        "kind": "government",
        "gov_level": "district",
        "parent_id": w.ids["bureau"],
    }


def admission_body(w: World) -> dict[str, Any]:
    return {
        "org_name": "新运营公司",
        "requested_kind": "operator",
        "uscc": make_uscc(),
        "statement": "申请",
        "contact_username": "new.contact",
        "contact_display_name": "c",
        "contact_password": PASSWORD,
    }


CREDS: Body = lambda w: {"username": "officer.gaj", "password": PASSWORD}  # noqa: E731
REASON: Body = lambda w: {"reason": "测试"}  # noqa: E731
