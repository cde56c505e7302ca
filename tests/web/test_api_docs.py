"""The API documentation works with no way out of the node: Swagger UI at /api/docs and ReDoc at
/api/redoc load everything from the node itself (every request to another host is aborted and
recorded, and the pages' Content-Security-Policy allows only the node) and list the
operations."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

LOCAL = {"127.0.0.1", "localhost", "[::1]", "::1"}


@pytest.fixture
def offline(page: Any) -> list[str]:
    """Abort every request that leaves this machine; return the list of what was tried."""
    tried: list[str] = []

    def guard(route: Any) -> None:
        if (urlsplit(route.request.url).hostname or "") in LOCAL:
            route.continue_()
        else:
            tried.append(route.request.url)
            route.abort()

    page.context.route("**/*", guard)
    return tried


def test_swagger_ui_lists_the_operations_offline(page: Any, offline: list[str]) -> None:
    page.goto("/api/docs")
    page.wait_for_selector('.opblock-summary-path[data-path="/api/v1/auth/token"]')
    assert page.locator(".opblock").count() > 50
    assert page.locator('.opblock-summary-path[data-path="/api/v1/orgs"]').count() >= 1
    assert offline == []


def test_redoc_lists_the_operations_offline(
    page: Any, offline: list[str], console_errors: list[str]
) -> None:
    # ReDoc's "API docs by Redocly" link shows the vendor's logo from its CDN: the page's
    # Content-Security-Policy makes the browser refuse it before it reaches the network.
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.goto("/api/redoc")
    page.wait_for_selector('[data-section-id$="login_token_api_v1_auth_token_post"]')
    assert page.locator('[data-section-id*="/operation/"]').count() > 50
    assert offline == []
    assert console_errors and all(
        "violates the following Content Security Policy" in e and "https://cdn.redoc.ly/" in e
        for e in console_errors
    ), console_errors
    console_errors.clear()


def test_the_assets_come_from_the_node(page: Any, live_server: str) -> None:
    for path in ("/api/docs", "/api/redoc"):
        html = page.request.get(live_server + path).text()
        assert "cdn." not in html and "fonts.googleapis" not in html and "/api/docs/assets/" in html
        csp = page.request.get(live_server + path).headers["content-security-policy"]
        assert "default-src 'self'" in csp and "img-src 'self' data:" in csp
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        r = page.request.get(f"{live_server}/api/docs/assets/{asset}")
        assert r.status == 200 and len(r.body()) > 100_000
