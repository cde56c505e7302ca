"""One error envelope for the whole API: {"error": {"code", "message", "message_zh"}}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from yaosu.kit.errors import YaosuError

_HTTP_ZH = {
    400: "请求有误。",
    401: "需要登录。",
    403: "没有权限。",
    404: "资源不存在。",
    405: "不支持该请求方法。",
    409: "与当前状态冲突。",
    422: "请求参数校验失败。",
    429: "请求过于频繁。",
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


def _wants_html(request: Request) -> bool:
    # Web pages (not the APIs, not machine documents such as /catalog.ttl) get an HTML page.
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or "." in path.rsplit("/", 1)[-1]:
        return False
    return request.method in ("GET", "HEAD") or request.headers.get("HX-Request") == "true"


def install(app: FastAPI, html: HtmlRenderer | None = None) -> None:
    """Render errors as the JSON envelope, or through ``html`` for web pages."""

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
        fields = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        first = fields[0] if fields else {"loc": [], "msg": ""}
        where = ".".join(first["loc"][1:] or first["loc"])
        error = YaosuError(
            f"Invalid request: {where}: {first['msg']}",
            f"请求参数校验失败：{where}：{first['msg']}",
            code="validation_error",
            fields=fields,
        )
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
