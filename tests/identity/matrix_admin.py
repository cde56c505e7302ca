"""Auth matrix cases for the workspace's organizations and users pages: the same callers as the
identity API they stand in for (GET /orgs and /users, POST /orgs, /orgs/{id}/suspend|resume|exit,
POST /users and /users/{id}/deactivate)."""

from __future__ import annotations

from tests.identity.matrix import ACTIVE, PASSWORD, REASON, Case

ADMIN = {"admin"}
STATUS = {"admin", "reviewer"}
USERS = {"admin", "cdo"}

CASES: list[Case] = [
    Case("GET", "/workspace/admin", ACTIVE),
    Case("GET", "/workspace/admin?tab=users", ACTIVE),
    Case(
        "POST",
        "/workspace/admin/orgs",
        ADMIN,
        form=lambda w: {
            "name": "新单位",
            "kind": "government",
            "gov_level": "district",
            "parent_id": w.ids["bureau"],
        },
    ),
    Case("GET", "/workspace/admin/orgs/{other}", ACTIVE),
    Case("POST", "/workspace/admin/orgs/{other}/suspend", STATUS, form=REASON),
    Case("POST", "/workspace/admin/orgs/{banned}/resume", STATUS, form=REASON),
    Case("POST", "/workspace/admin/orgs/{other}/exit", STATUS, form=REASON),
    Case(
        "POST",
        "/workspace/admin/users",
        USERS,
        form=lambda w: {
            "username": "new.user",
            "display_name": "n",
            "password": PASSWORD,
            "org_id": w.ids["gaj"],
            "roles": ["member"],
        },
    ),
    Case("POST", "/workspace/admin/users/{member}/deactivate", USERS),
]
