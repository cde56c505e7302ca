"""Administration 单位与用户 for the platform admin: organizations (create, suspend, resume,
exit) and users (create, deactivate).
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/workspace", include_in_schema=False)
