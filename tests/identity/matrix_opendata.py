"""Auth matrix cases for the workspace's open-data operations pages (public demands, reuses)."""

from __future__ import annotations

from tests.identity.matrix import CAT_REVIEW, PROVIDERS, Case

CASES: list[Case] = [
    # Answerers (a providing unit's data officers and CDO, the data authority) see demands;
    # only the data authority sees and decides reuses.
    Case("GET", "/workspace/open", PROVIDERS),
    Case("GET", "/workspace/open?tab=reuses", CAT_REVIEW),
    Case(
        "POST",
        "/workspace/open/demands/{nothing}/answer",
        PROVIDERS,
        form=lambda w: {"outcome": "answered", "answer": "已开放"},
    ),
    Case(
        "POST",
        "/workspace/open/reuses/{nothing}/decision",
        CAT_REVIEW,
        form=lambda w: {"decision": "show"},
    ),
]
