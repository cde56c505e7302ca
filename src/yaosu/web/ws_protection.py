"""Data protection 数据安全 in the workspace: the important-data catalog 重要数据目录, named
masking policies 脱敏策略, masked exports of a dataset version and its k-anonymity report.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/workspace", include_in_schema=False)
