"""Open-data operations 开放运营 for staff: answering public demands 问需于民 and deciding which
reuses 开放利用成果 the portal shows.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/workspace", include_in_schema=False)
