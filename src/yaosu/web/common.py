"""What every web page shares: templates, the visitor's language, rendering with the CSRF and
language cookies, form guards, form validation and error pages.

Forms post through htmx, which echoes the CSRF cookie in ``X-CSRF-Token`` (double submit). For
signed-in users the ``Access`` dependency checks it; for public forms ``form_guard`` does.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError

from yaosu.identity.access import CSRF_COOKIE, CSRF_HEADER, PUBLIC
from yaosu.identity.subject import Subject
from yaosu.kit.errors import Forbidden, Invalid, YaosuError
from yaosu.kit.timeutil import aware
from yaosu.opendata import ratelimit
from yaosu.web import i18n

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))
LANG_COOKIE = "yaosu_lang"
M = TypeVar("M", bound=BaseModel)


def lang_of(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in i18n.LANGS:
        return asked
    return i18n.normalize(request.cookies.get(LANG_COOKIE))


def csrf_token(request: Request) -> str:
    token = request.cookies.get(CSRF_COOKIE)
    return token or request.state.__dict__.setdefault("new_csrf", secrets.token_urlsafe(24))


def render(
    request: Request,
    name: str,
    subject: Subject | None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """Render a template with the words, the user, the CSRF token and the language switch."""
    lang = lang_of(request)
    csrf = csrf_token(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    switch = "en" if lang == "zh" else "zh"
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    context = {
        "request": request,
        "lang": lang,
        "html_lang": i18n.HTML_LANG[lang],
        "t": lambda key, **kw: i18n.t(key, lang, **kw),
        "vocab": lambda kind, value: i18n.vocab(kind, value, lang),
        "user": subject,
        "csrf": csrf,
        "here": here,
        "switch_url": request.url.path + "?" + urlencode([*query, ("lang", switch)], doseq=True),
        **values,
    }
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    if request.cookies.get(CSRF_COOKIE) != csrf:
        response.set_cookie(CSRF_COOKIE, csrf, samesite="strict", path="/")
    if request.query_params.get("lang") in i18n.LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


def form_guard(request: Request) -> None:
    """A public form post must echo the CSRF cookie in X-CSRF-Token (htmx sends it)."""
    sent = request.headers.get(CSRF_HEADER, "")
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden(
            "The page has expired (CSRF check failed); reload it and try again.",
            "页面已过期（CSRF 校验失败），请刷新后重试。",
            code="csrf_failed",
        )


def visitor(request: Request, subject: Subject | None = Depends(PUBLIC)) -> Subject | None:
    return subject


def posting(request: Request, subject: Subject | None = Depends(PUBLIC)) -> Subject | None:
    """A public form post: CSRF checked, rate-limited like the open API."""
    form_guard(request)
    ratelimit.check(
        subject.user_id if subject else None, request.client.host if request.client else None
    )
    return subject


def fragment(request: Request) -> bool:
    """An htmx request: answer with a fragment, not a whole page."""
    return request.headers.get("HX-Request") == "true"


def validated(model: type[M], data: dict[str, Any]) -> M:
    """A form as its API schema; what does not fit is a 422 naming the fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise Invalid(
            f"Please check: {where}.",
            f"请检查以下内容：{where}。",
            code="validation_error",
            fields=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()],
        ) from None


def safe_next(value: str | None) -> str:
    """Only same-site paths: never an open redirect to another host."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def render_error(request: Request, exc: YaosuError) -> Response:
    """Errors on web pages as a page (or a fragment for htmx), in the visitor's language; a
    page that needs a signed-in user sends the visitor to sign in first."""
    if exc.status == 401 and not fragment(request) and request.method == "GET":
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(here)}", status_code=303)
    lang = lang_of(request)
    message = exc.message if lang == "en" else exc.message_zh
    if fragment(request):
        response = render(request, "_error.html", None, status_code=exc.status, message=message)
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "error.html", None, status_code=exc.status, message=message, exc=exc)


# --- small pieces every workspace area uses ------------------------------------------------------
MAX_PAGE = 10_000


def words(key: str, **values: Any) -> tuple[str, str]:
    """One message in (English, Chinese), for errors that carry both."""
    return i18n.t(key, "en", **values), i18n.t(key, "zh", **values)


def invalid(key: str, code: str, **values: Any) -> Invalid:
    """A 422 whose messages are the catalog's words for ``key``."""
    en, zh = words(key, **values)
    return Invalid(en, zh, code=code)


def page_number(value: str | None) -> int:
    """A ``?page=`` value as 1..MAX_PAGE; anything else is the first page."""
    try:
        return max(1, min(MAX_PAGE, int(value or 1)))
    except ValueError:
        return 1


def blank(value: str) -> str | None:
    """A form field, stripped; empty is None."""
    return value.strip() or None


def go(request: Request, url: str) -> Response:
    """After a successful form: htmx follows HX-Redirect; a plain form post gets a 303."""
    if fragment(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def when(value: Any) -> str:
    """An instant as the workspace shows it: UTC, to the minute."""
    return aware(value).strftime("%Y-%m-%d %H:%M") + " UTC" if value else "—"
