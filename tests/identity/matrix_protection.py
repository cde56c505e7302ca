"""Auth matrix cases for the workspace's important-data catalog, masking policies, masked
exports, k-anonymity pages."""

from __future__ import annotations

from typing import Any

from tests.identity.matrix import (
    CAT_EDIT,
    CAT_READ,
    CAT_REVIEW,
    IMPORTANT_READ,
    REASON,
    Body,
    Case,
    World,
)


def entry_form(w: World) -> dict[str, Any]:
    return {"sector": "政务", "name": "人口基础信息", "kind": "important", "code_prefixes": "10101"}


def policy_form(w: World) -> dict[str, Any]:
    return {"name": "matrix-policy", "rules-0-column": "xm", "rules-0-op": "suppress"}


EXPORT: Body = lambda w: {"policy": "default", "format": "csv"}  # noqa: E731
KANON: Body = lambda w: {"quasi": "xm", "k": "2"}  # noqa: E731

CASES: list[Case] = [
    # The page follows GET /api/v1/masking-policies (every catalog reader); its catalog tab
    # follows GET /api/v1/important-data (data officers, CDOs, the authority, auditors).
    Case("GET", "/workspace/protection", CAT_READ),
    Case("GET", "/workspace/protection?tab=important", IMPORTANT_READ),
    Case("POST", "/workspace/protection/important", CAT_REVIEW, form=entry_form),
    Case("GET", "/workspace/protection/important/{nothing}", IMPORTANT_READ),
    Case("POST", "/workspace/protection/important/{nothing}", CAT_REVIEW, form=entry_form),
    Case("POST", "/workspace/protection/important/{nothing}/retire", CAT_REVIEW, form=REASON),
    Case("GET", "/workspace/protection/policies/rule?n=0", CAT_EDIT),
    Case("POST", "/workspace/protection/policies", CAT_EDIT, form=policy_form),
    Case("GET", "/workspace/versions/{nothing}/export", CAT_READ),
    Case("POST", "/workspace/versions/{nothing}/export", CAT_READ, form=EXPORT),
    Case("GET", "/workspace/versions/{nothing}/k-anonymity", CAT_READ),
    Case("POST", "/workspace/versions/{nothing}/k-anonymity", CAT_READ, form=KANON),
]
