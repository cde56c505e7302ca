"""Signing in on the web over HTTP, on both databases: ``next`` is a path of this site in every
spelling (else a 400, never a broken connection, also under a real uvicorn server), the limit on
sign-in attempts answers the page in both languages with Retry-After, and the open-data rate limit
never stops staff from signing in or out."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.fixtures.identity import PASSWORD, create_org, create_user
from yaosu.config import get_settings
from yaosu.web.common import is_safe_next, safe_next

# Each leaves the site in some browser, proxy or header reading; as the query or form value
# arrives (decoded once).
ATTACKS = [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/x\r\nSet-Cookie: stolen=1",
    "/x\nLocation: https://evil.example",
    "/x\x00y",
    "/x\x7fy",
    "/x\x85y",  # a C1 control
    "/%2f%2fevil.example",
    "/%2F/evil.example",
    "/%5cevil.example",
    "/%5C%5Cevil.example",
    "/%252f%252fevil.example",  # encoded twice
    "/%25252f%25252fevil.example",  # three times
    "/%09/evil.example",
    "/%0d%0aSet-Cookie:%20stolen=1",
    "/%00",
    "/x%0aLocation:%20//evil.example",
    "/%ff%fe",  # not UTF-8
    "/%c0%af",  # an overlong slash
    "/%zz",  # not an escape at all
    "/%",
    "https://evil.example",
    "http:evil.example",
    "HTTPS://evil.example/path",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "%2f%2fevil.example",
    "/／evil.example",  # full-width solidus
    "/＼evil.example",  # full-width reverse solidus
    "/%EF%BC%8Fevil.example",
    "／／evil.example",
    "/﹨evil.example",  # small reverse solidus
    "/.//evil.example",
    "/..//evil.example",
    "/a/../..//evil.example",
    "/%2e/%2fevil.example",
    "/\u200b/evil.example",  # zero-width space
    "/\u202e/elpmaxe.live",  # right-to-left override
    "/" + "a" * 5000,
]
SAFE = {
    "/workspace": "/workspace",
    "/workspace?x=1": "/workspace?x=1",
    "/workspace/resources/01J?tab=fields#top": "/workspace/resources/01J?tab=fields#top",
    "/datasets?q=100%25": "/datasets?q=100%25",
    "/datasets/养老机构": "/datasets/" + quote("养老机构"),
    "/datasets?q=a b": "/datasets?q=a%20b",
    "/api/v1/auth/me": "/api/v1/auth/me",
}


@pytest.fixture
def staff(session: Session) -> None:
    org = create_org(session, "大数据局")
    create_user(session, org, "officer", "data_officer")
    session.commit()


def login_form(client: TestClient, lang: str = "en") -> TestClient:
    assert client.get(f"/login?lang={lang}").status_code == 200  # the CSRF cookie
    return client


def post_login(client: TestClient, next_: str | None, password: str = PASSWORD, **kw: Any) -> Any:
    data = {"username": "officer", "password": password}
    if next_ is not None:
        data["next"] = next_
    headers = {"X-CSRF-Token": client.cookies["yaosu_csrf"], "HX-Request": "true"}
    return client.post("/login", data=data, headers=headers, **kw)


@pytest.mark.parametrize("value", ATTACKS)
def test_unsafe_next_values_are_refused(value: str) -> None:
    assert not is_safe_next(value)


def _browser_target(sent: str) -> tuple[str | None, str]:
    """Where a browser goes for ``sent`` on https://site.example: the URL parser drops tabs and
    newlines, reads a backslash as a slash, and resolves the reference against the page."""
    cleaned = re.sub(r"[\t\n\r]", "", sent).replace("\\", "/")
    for _ in range(4):  # a proxy or server that decodes again must not see another host either
        target = urlsplit(urljoin("https://site.example/login", cleaned))
        if target.hostname != "site.example":
            return target.hostname, cleaned
        cleaned = unquote(cleaned).replace("\\", "/")
    return "site.example", cleaned


@settings(max_examples=400)
@given(st.text(alphabet="/\\\t\r\n%2fF5cC0aAdDe.:／＼\u200b ?#@xy中", max_size=24))
def test_whatever_is_accepted_stays_on_the_site(tail: str) -> None:
    for value in (tail, "/" + tail):
        if is_safe_next(value):
            sent = safe_next(value)
            assert sent.isascii() and sent.startswith("/") and not sent.startswith("//")
            assert _browser_target(sent)[0] == "site.example", (value, sent)


@pytest.mark.parametrize(("value", "sent"), SAFE.items())
def test_paths_of_this_site_pass_as_ascii(value: str, sent: str) -> None:
    assert safe_next(value) == sent
    assert safe_next(sent) == sent  # the login form sends it back as it got it
    assert sent.isascii() and urlsplit(sent).netloc == "" and not sent.startswith("//")


def test_the_login_page_refuses_unsafe_next_with_a_400(app: Any, staff: None) -> None:
    client = TestClient(app)
    for value in ATTACKS:
        r = client.get("/login", params={"next": value, "lang": "en"})
        assert r.status_code == 400, value
        # A NUL is refused for the whole request before the page runs, in the same frame.
        nul = "\x00" in value
        assert ("NUL character" if nul else "must be a path of this site") in r.text, value
    zh = client.get("/login", params={"next": "//evil.example", "lang": "zh"})
    assert zh.status_code == 400 and "登录后返回的地址必须是本站的路径" in zh.text
    fine = client.get("/login", params={"next": "/datasets/养老机构"})
    assert fine.status_code == 200
    assert f'name="next" value="/datasets/{quote("养老机构")}"' in fine.text
    assert 'name="next" value="/workspace"' in client.get("/login").text


def test_signing_in_with_unsafe_next_is_a_400_and_signs_nobody_in(app: Any, staff: None) -> None:
    client = login_form(TestClient(app))
    for value in ATTACKS:
        r = post_login(client, value)
        assert r.status_code == 400, value
        assert "HX-Redirect" not in r.headers and "yaosu_session" not in r.cookies
    for value, sent in SAFE.items():
        r = post_login(client, value)
        assert r.status_code == 204 and r.headers["HX-Redirect"] == sent
    assert post_login(client, None).headers["HX-Redirect"] == "/workspace"


def test_no_link_of_a_page_leads_off_site_from_its_own_path(app: Any) -> None:
    client = TestClient(app)
    ok = client.get("/workspace?x=1", follow_redirects=False)
    assert ok.headers["location"] == "/login?next=/workspace%3Fx%3D1"
    for path in ("//evil.example/x", "//evil.example/workspace", "/%2F%2Fevil.example/"):
        r = client.get("http://testserver" + path, follow_redirects=False)
        assert "evil.example" not in r.headers.get("location", ""), path
        links = re.findall(r'href="([^"]*)"', r.text)
        assert links and not [h for h in links if "evil.example" in h], (path, links)


@pytest.fixture
def served(app: Any) -> Iterator[str]:
    """The app under a real uvicorn server on a free loopback port, for the bytes on the wire."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_header_injection_shapes_get_a_400_on_a_real_server(served: str, staff: None) -> None:
    with httpx.Client(base_url=served, timeout=10) as http:
        http.get("/login")
        csrf = http.cookies["yaosu_csrf"]
        headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
        for value in ("/x\r\nSet-Cookie: stolen=1", "/x\x00y", "/中文\r\n", "//evil.example"):
            r = http.post(
                "/login",
                data={"username": "officer", "password": PASSWORD, "next": value},
                headers=headers,
            )
            assert r.status_code == 400 and "stolen" not in r.headers.get("set-cookie", "")
        # The connection still serves: a sign-in with a path of this site (not ASCII) works.
        r = http.post(
            "/login",
            data={"username": "officer", "password": PASSWORD, "next": "/datasets/养老"},
            headers=headers,
        )
        assert r.status_code == 204 and r.headers["HX-Redirect"] == "/datasets/" + quote("养老")
        for raw in ("%0d%0aSet-Cookie:%20stolen=1", "%2f%2fevil.example", "%ff"):
            r = http.get(f"/login?next={raw}")
            assert r.status_code == 400 and "stolen" not in r.headers.get("set-cookie", "")
    # Raw bytes, as no client library would send them: still one well-formed 400 answer.
    host, port = served.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw_conn:
        raw_conn.sendall(
            b"GET /login?next=/%0D%0ALocation:%20https://evil.example HTTP/1.1\r\n"
            b"Host: x\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := raw_conn.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 400") and b"evil.example" not in head


def test_the_sign_in_form_is_throttled_with_retry_after_in_both_languages(
    app: Any, staff: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "login_max_failures", 2)
    client = login_form(TestClient(app))
    for _ in range(2):
        r = post_login(client, "/workspace", password="guess-guess")
        assert r.status_code == 401
    r = post_login(client, "/workspace")
    assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= 900
    assert "Too many failed sign-in attempts" in r.text and "yaosu_session" not in r.cookies
    zh = login_form(TestClient(app), lang="zh")
    r = post_login(zh, "/workspace")
    assert r.status_code == 429 and "登录失败次数过多" in r.text and r.headers["retry-after"]


def test_the_open_data_limit_never_blocks_signing_in_or_out(
    app: Any, staff: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from yaosu.opendata import ratelimit

    monkeypatch.setattr(get_settings(), "open_rate_anonymous", 1)
    monkeypatch.setattr(get_settings(), "open_rate_key", 1)
    ratelimit.limiter.reset()
    try:
        client = login_form(TestClient(app))
        for _ in range(3):
            r = post_login(client, "/workspace")
            assert r.status_code == 204, r.text
            out = client.post(
                "/logout",
                headers={"X-CSRF-Token": client.cookies["yaosu_csrf"], "HX-Request": "true"},
            )
            assert out.status_code == 204, out.text
            login_form(client)
        # The public forms stay under the open-data limit.
        headers = {"X-CSRF-Token": client.cookies["yaosu_csrf"], "HX-Request": "true"}
        posts = [client.post("/reuses", data={}, headers=headers) for _ in range(2)]
        assert posts[-1].status_code == 429
    finally:
        ratelimit.limiter.reset()


def test_parallel_guesses_never_pass_the_limit(
    app: Any, staff: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attempts are counted and committed before the password is checked: twelve guesses at
    once, on a database that really commits, get exactly the three tries the limit allows."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(get_settings(), "login_max_failures", 3)

    def guess(n: int) -> int:
        with TestClient(app) as client:
            data = {"username": "officer", "password": f"guess-{n}"}
            return client.post("/api/v1/auth/token", data=data).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = sorted(pool.map(guess, range(12)))
    assert answers == [401] * 3 + [429] * 9
