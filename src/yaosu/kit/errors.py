"""Errors are types: each carries an HTTP status, a stable code and zh-CN/en messages.

Services raise these; the HTTP layer renders them as
``{"error": {"code", "message", "message_zh"}}`` and the CLI prints them.
"""

from __future__ import annotations

from typing import Any


class YaosuError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(
        self, message: str, message_zh: str, *, code: str | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh
        if code:
            self.code = code
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable (errors cross process boundaries: jobs, benchmarks) with code and details.
        return (_rebuild, (type(self), self.message, self.message_zh, self.code, self.details))

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
        }
        if self.details:
            body["details"] = self.details
        return {"error": body}


class BadRequest(YaosuError):
    """The request itself is malformed or unsafe (a value no form of ours would send)."""

    status = 400
    code = "bad_request"


class Unauthenticated(YaosuError):
    status = 401
    code = "unauthenticated"


class Forbidden(YaosuError):
    status = 403
    code = "forbidden"


class NotFound(YaosuError):
    status = 404
    code = "not_found"


class Conflict(YaosuError):
    status = 409
    code = "conflict"


class Invalid(YaosuError):
    """Domain validation failed (payload shape errors stay FastAPI's 422 too)."""

    status = 422
    code = "invalid"


class TooManyRequests(YaosuError):
    status = 429
    code = "too_many_requests"


def not_found(kind_en: str, kind_zh: str, ident: object) -> NotFound:
    return NotFound(
        f"{kind_en} {ident} does not exist.",
        f"{kind_zh} {ident} 不存在。",
        code=f"{kind_en.lower().replace(' ', '_')}_not_found",
    )


def _rebuild(
    cls: type[YaosuError], message: str, message_zh: str, code: str, details: dict[str, Any]
) -> YaosuError:
    return cls(message, message_zh, code=code, **details)
