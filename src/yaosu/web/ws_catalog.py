"""The catalog's other workflows in the workspace: demand lists 供需清单 (file, answer, close),
the census 数据普查 with its export and the project acceptance check 项目验收, SQL and HTTP pulls
and their schedules on a resource, retrying a failed ingest job, retiring a resource.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/workspace", include_in_schema=False)
