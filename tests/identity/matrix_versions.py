"""Auth matrix cases for staged dataset versions and rollback: the API and the workspace.

Accepting and rejecting a staged version is the data authority's (reviewers, platform admins);
a rollback also the provider unit's chief data officer (the service checks the unit); the queue
of staged versions is readable by every catalog reader (each sees its unit's, the authority
all)."""

from __future__ import annotations

from tests.identity.matrix import CAT_READ, CAT_REVIEW, REASON, Case

ROLLBACK = CAT_REVIEW | {"cdo"}


def _rollback(w: object) -> dict[str, str]:
    return {"version_id": "01nothing0000000000000000", "reason": "测试"}


CASES: list[Case] = [
    Case("GET", "/api/v1/staged-versions", CAT_READ),
    Case("POST", "/api/v1/dataset-versions/{nothing}/accept", CAT_REVIEW),
    Case("POST", "/api/v1/dataset-versions/{nothing}/reject", CAT_REVIEW, json=REASON),
    Case("POST", "/api/v1/resources/{res}/rollback", ROLLBACK, json=_rollback),
    Case("POST", "/workspace/resources/{res}/versions/{nothing}/accept", CAT_REVIEW),
    Case("POST", "/workspace/resources/{res}/versions/{nothing}/reject", CAT_REVIEW, form=REASON),
    Case("POST", "/workspace/resources/{res}/rollback", ROLLBACK, form=_rollback),
]
