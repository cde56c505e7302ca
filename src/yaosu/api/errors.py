"""One error envelope for the whole API: {"error": {"code", "message", "message_zh"}}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


def install(app: FastAPI) -> None:
    @app.exception_handler(YaosuError)
    async def _domain(_: Request, exc: YaosuError) -> JSONResponse:
        return _envelope(
            exc.status,
            exc.code,
            exc.message,
            exc.message_zh,
            **({"details": exc.details} if exc.details else {}),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
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
        return _envelope(
            422,
            "validation_error",
            f"Invalid request: {where}: {first['msg']}",
            f"请求参数校验失败：{where}：{first['msg']}",
            details={"fields": fields},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        return _envelope(
            exc.status_code,
            f"http_{exc.status_code}",
            message,
            _HTTP_ZH.get(exc.status_code, message),
        )
