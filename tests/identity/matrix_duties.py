"""Auth matrix cases for the workspace's responsibility lists and grant subscriptions pages."""

from __future__ import annotations

from tests.identity.matrix import CAT_REVIEW, SHARE, Case

CASES: list[Case] = [
    # Every unit reads its own list (sharing:read); the data authority keeps the lists.
    Case("GET", "/workspace/responsibilities", SHARE),
    # Another unit's list: the data authority and auditors only.
    Case("GET", "/workspace/responsibilities?org={other}", {"admin", "reviewer", "auditor"}),
    Case(
        "POST",
        "/workspace/responsibilities",
        CAT_REVIEW,
        form=lambda w: {"org_id": w.ids["gaj"], "name": "常住人口信息", "due": "2030-06-30"},
    ),
    # Linking is the item's unit's or the authority's: the service decides, after sharing:write.
    Case(
        "POST",
        "/workspace/responsibilities/{nothing}/link",
        SHARE,
        form=lambda w: {"resource": w.ids["res"]},
    ),
    Case("GET", "/workspace/sharing/grants/{nothing}/subscriptions", SHARE),
    Case(
        "POST",
        "/workspace/sharing/grants/{nothing}/subscriptions",
        SHARE,
        form=lambda w: {"url": "https://example.cn/hook"},
    ),
]
