"""Errors raised by the data plane: all are 422 `Invalid` with a stable code.

Each message names the problem and where it is (line, column, byte offset, sheet, item), in
English and Chinese; the same location is repeated in ``details`` for programs.
"""

from __future__ import annotations

from typing import Any

from yaosu.kit.errors import Invalid

__all__ = ["Cancelled", "DataplaneError", "fmt_int", "quote_value"]


class DataplaneError(Invalid):
    """Input data could not be read, decoded, or stored as a dataset version."""

    code = "dataplane_invalid"

    def __init__(self, code: str, message: str, message_zh: str, **details: Any) -> None:
        super().__init__(message, message_zh, code=code, **details)


class Cancelled(DataplaneError):
    """The caller asked an ingest to stop; nothing was committed."""

    def __init__(self) -> None:
        super().__init__(
            "cancelled",
            "The ingest was cancelled; nothing was stored.",
            "导入已取消，未保存任何数据。",
        )


def fmt_int(n: int) -> str:
    """Format a count or position with thousands separators (``1,234``)."""
    return f"{n:,}"


def quote_value(value: object, limit: int = 40) -> str:
    """Quote a cell value for an error message, shortened so messages stay readable."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "'" + text.replace("\n", "\\n").replace("\r", "\\r") + "'"
