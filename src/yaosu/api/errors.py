"""One error envelope for the whole API: {"error": {"code", "message", "message_zh"}}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from yaosu.kit import validation
from yaosu.kit.errors import YaosuError

_HTTP_ZH = {
    400: "请求有误。",
    401: "需要登录。",
    403: "没有权限。",
    404: "资源不存在。",
    405: "不支持该请求方法。",
    406: "无法提供所要求的格式。",
    409: "与当前状态冲突。",
    410: "资源已不再提供。",
    411: "缺少请求体长度。",
    413: "请求体过大。",
    414: "请求地址过长。",
    415: "不支持该请求体格式。",
    416: "请求的范围无法满足。",
    422: "请求参数校验失败。",
    429: "请求过于频繁。",
    500: "服务器内部错误。",
    501: "尚未实现该功能。",
    503: "服务暂不可用。",
}


def _envelope(status: int, code: str, message: str, message_zh: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, "message_zh": message_zh}
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    retry = (extra.get("details") or {}).get("retry_after")
    if status == 429 and retry is not None:
        headers["Retry-After"] = str(int(retry))
    return JSONResponse({"error": body}, status_code=status, headers=headers or None)


HtmlRenderer = Callable[[Request, YaosuError], Response]


def _body_model(request: Request) -> type[BaseModel] | None:
    """The schema of the route's JSON body, for its fields' labels."""
    field = getattr(request.scope.get("route"), "body_field", None)
    model = getattr(getattr(field, "field_info", None), "annotation", None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _wants_html(request: Request) -> bool:
    # Web pages (not the APIs, not machine documents such as /catalog.ttl) get an HTML page.
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or "." in path.rsplit("/", 1)[-1]:
        return False
    return request.method in ("GET", "HEAD") or request.headers.get("HX-Request") == "true"


def nul_error() -> YaosuError:
    """NUL is in no name, code or text a person types; PostgreSQL cannot even store it."""
    return YaosuError(
        "The request contains a NUL character (0x00), which no field may hold.",
        "请求中含有 NUL 字符（0x00），任何字段都不能包含该字符。",
        code="nul_character",
    )


def _has_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"%00" in raw.lower()


class RefuseNul:
    """A NUL in the path or query is refused before any route runs: it would reach a file
    system call or PostgreSQL (which cannot store it) as a server error. Web pages get the
    error page, the APIs the envelope."""

    def __init__(self, app: ASGIApp, html: HtmlRenderer | None = None) -> None:
        self.app = app
        self.html = html

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            _has_nul(scope.get("raw_path") or scope["path"].encode())
            or _has_nul(scope.get("query_string") or b"")
        ):
            exc = nul_error()
            request = Request(scope, receive)
            if self.html is not None and _wants_html(request):
                response = self.html(request, exc)
            else:
                response = _envelope(400, exc.code, exc.message, exc.message_zh)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install(app: FastAPI, html: HtmlRenderer | None = None) -> None:
    """Render errors as the JSON envelope, or through ``html`` for web pages."""

    app.add_middleware(RefuseNul, html=html)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        # A NUL inside a JSON or form field reaches PostgreSQL, which refuses it; anything else
        # the database says is a server error, as before.
        if "NUL" not in str(exc.orig):
            raise exc
        error = nul_error()
        if html is not None and _wants_html(request):
            return html(request, error)
        return _envelope(400, error.code, error.message, error.message_zh)

    @app.exception_handler(YaosuError)
    async def _domain(request: Request, exc: YaosuError) -> Response:
        if html is not None and _wants_html(request):
            return html(request, exc)
        return _envelope(
            exc.status,
            exc.code,
            exc.message,
            exc.message_zh,
            **({"details": exc.details} if exc.details else {}),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        # Each field by its label and each reason in zh and en, not pydantic's English.
        message, message_zh, fields = validation.explain(exc.errors(), _body_model(request))
        error = YaosuError(message, message_zh, code="validation_error", fields=fields)
        error.status = 422
        if html is not None and _wants_html(request):
            return html(request, error)
        return _envelope(422, error.code, error.message, error.message_zh, details=error.details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        if html is not None and _wants_html(request):
            error = YaosuError(
                message, _HTTP_ZH.get(exc.status_code, message), code=f"http_{exc.status_code}"
            )
            error.status = exc.status_code
            return html(request, error)
        return _envelope(
            exc.status_code,
            f"http_{exc.status_code}",
            message,
            _HTTP_ZH.get(exc.status_code, message),
        )
