"""What every web page shares: templates, the visitor's language, rendering with the CSRF and
language cookies, form guards, form validation and error pages.

Forms post through htmx, which echoes the CSRF cookie in ``X-CSRF-Token`` (double submit). For
signed-in users the ``Access`` dependency checks it; for public forms ``form_guard`` does.
"""

from __future__ import annotations

import hmac
import re
import secrets
import string
import unicodedata
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError

from yaosu.identity.access import CSRF_COOKIE, CSRF_HEADER, PUBLIC
from yaosu.identity.subject import Subject
from yaosu.kit import validation
from yaosu.kit.errors import BadRequest, Forbidden, Invalid, YaosuError
from yaosu.kit.timeutil import iso, local_date_text, local_text
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
    here = here if is_safe_next(here) else "/"  # "sign in and come back" links only to here
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
        # Relative to the page itself: a path such as //host/x must not become a link off-site.
        "switch_url": "?" + urlencode([*query, ("lang", switch)], doseq=True),
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


def signing(request: Request, subject: Subject | None = Depends(PUBLIC)) -> Subject | None:
    """A sign-in or sign-out form post: CSRF checked, and never counted against the open-data
    rate limit (staff sign-in has its own limit against password guessing, per account and per
    address: see docs/identity.md)."""
    form_guard(request)
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
        message, message_zh, fields = validation.explain(exc.errors(), model)
        raise Invalid(message, message_zh, code="validation_error", fields=fields) from None


# --- where to go after signing in: a path of this site, nothing else -----------------------------
NEXT_MAX = 2048
# The ASCII characters a URI reference may hold as they are; anything else is percent-encoded.
_URI_ASCII = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%"
_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Unicode categories never in a path we send: controls, format characters (zero-width, bidi
# overrides), surrogates, private use, unassigned, line and paragraph separators.
_BANNED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _unsafe_layer(layer: str) -> bool:
    """One spelling of the target (as sent, or decoded once more, or NFKC-folded) leaves the
    site: not a single-slash path, a backslash (browsers read it as a slash), a control or
    invisible character, or a dot segment (``/.//host`` collapses to ``//host``)."""
    if not layer.startswith("/") or layer[1:2] in ("/", "\\"):
        return True
    if "\\" in layer or any(unicodedata.category(c) in _BANNED_CATEGORIES for c in layer):
        return True
    path = re.split(r"[?#]", layer, maxsplit=1)[0]
    return any(part in (".", "..") for part in path.split("/"))


def is_safe_next(value: str) -> bool:
    """Whether ``value`` (a query or form value, so already decoded once) is a path of this
    site in every reading a browser or a proxy might give it: as sent, percent-decoded again
    (any number of times) and with full-width or compatibility characters folded (NFKC)."""
    if len(value) > NEXT_MAX or _ESCAPE.search(value):
        return False
    layer = value
    for _ in range(8):
        if _unsafe_layer(layer) or _unsafe_layer(unicodedata.normalize("NFKC", layer)):
            return False
        try:
            decoded = unquote(layer, errors="strict")
        except UnicodeDecodeError:  # a percent-escape that is not UTF-8
            return False
        if decoded == layer:
            return True
        layer = decoded
    return False  # encoded deeper than any link of ours


def safe_next(value: str | None, default: str = "/workspace") -> str:
    """The address to go to after signing in: a path of this site only, never another host
    (no open redirect), returned percent-encoded in ASCII so it is always a valid header value.
    Anything else is a 400 ``unsafe_next``: no form or link of ours sends it."""
    if not value:
        return default
    if not is_safe_next(value):
        raise BadRequest(
            "The address to return to after signing in must be a path of this site "
            "(such as /workspace).",
            "登录后返回的地址必须是本站的路径（例如 /workspace）。",
            code="unsafe_next",
        )
    return quote(value, safe=_URI_ASCII)


def render_error(request: Request, exc: YaosuError) -> Response:
    """Errors on web pages as a page (or a fragment for htmx), in the visitor's language; a
    page that needs a signed-in user sends the visitor to sign in first."""
    if exc.status == 401 and not fragment(request) and request.method == "GET":
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        back = f"?next={quote(here)}" if is_safe_next(here) else ""
        return RedirectResponse(f"/login{back}", status_code=303)
    lang = lang_of(request)
    message = exc.message if lang == "en" else exc.message_zh
    subject = getattr(request.state, "subject", None)
    if fragment(request):
        response = render(request, "_error.html", None, status_code=exc.status, message=message)
        response.headers["HX-Reswap"] = "innerHTML"
    elif subject is not None and request.url.path.startswith("/workspace"):
        # Inside the workspace a refusal keeps the frame (menu, user, sign-out) around it.
        from yaosu.web.workspace import nav_for  # the workspace's pages import this module

        response = render(
            request,
            "ws/error.html",
            subject,
            status_code=exc.status,
            message=message,
            exc=exc,
            nav=nav_for(subject),
            section="error",  # no menu item is current
        )
    else:
        response = render(
            request, "error.html", None, status_code=exc.status, message=message, exc=exc
        )
    retry = exc.details.get("retry_after")
    if exc.status == 429 and retry is not None:  # pages say when to come back, like the API
        response.headers["Retry-After"] = str(int(retry))
    return response


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


def when(value: Any, seconds: bool = False) -> str:
    """An instant as pages show it: the node's local time to the minute (or second), with its
    offset (``2026-12-08 00:00 UTC+8``); an ISO 8601 text is read first."""
    return local_text(value or None, seconds=seconds)


def day(value: Any) -> str:
    """The node-local calendar day of an instant (``2026-12-08``)."""
    return local_date_text(value or None)


# Templates write {{ x.created_at|localtime }} and {{ x.created_at|localdate }}; the <time
# datetime="…"> attribute keeps the ISO 8601 instant with its offset.
templates.env.filters["localtime"] = when
templates.env.filters["localdate"] = day
templates.env.filters["isotime"] = iso
