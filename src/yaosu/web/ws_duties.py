"""Duties in the workspace: responsibility lists 共享责任清单 (items, overdue ones, linking a
resource) and webhook subscriptions 订阅 on a grant.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/workspace", include_in_schema=False)
