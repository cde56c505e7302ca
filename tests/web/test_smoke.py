"""Smoke tests of the browser-test infrastructure: a live node with the demo city, reached from
headless Chromium (a real navigation and the page's own request context)."""

from __future__ import annotations

import json
from typing import Any

from tests.web.conftest import LiveNode


def test_health_and_openapi_from_the_browser(page: Any, live_node: LiveNode) -> None:
    health = page.request.get("/api/v1/health")
    assert health.status == 200
    body = health.json()
    # Anonymous callers see flags only: no dialect, no storage location.
    assert body["status"] == "ok" and body["database"] == {"ok": True}
    assert body["storage"] == {"ok": True} and str(live_node.data_dir) not in health.text()
    assert body["ledger"]["size"] > 0

    # A real navigation: Chromium renders the JSON document as text.
    response = page.goto("/api/v1/openapi.json")
    assert response is not None and response.status == 200
    spec = json.loads(page.locator("body").inner_text())
    assert spec["info"]["title"] == "Yaosu 要素 API"
    assert {"/api/v1/health", "/api/v1/auth/token", "/api/v1/resources"} <= set(spec["paths"])


def test_demo_city_is_loaded_and_admin_signs_in(page: Any, live_server: str) -> None:
    checkpoint = page.request.get(f"{live_server}/api/v1/ledger/checkpoint")
    assert checkpoint.status == 200
    origin, size = checkpoint.text().splitlines()[:2]
    assert origin.endswith("/ledger") and int(size) > 100  # the demo city's entries

    wrong = page.request.post(
        "/api/v1/auth/token", form={"username": "admin", "password": "not-the-password"}
    )
    assert wrong.status == 401
    token = page.request.post(
        "/api/v1/auth/token", form={"username": "admin", "password": "yaosu-demo"}
    )
    assert token.status == 200, token.text()
    secret = token.json()["access_token"]
    assert secret.startswith("ys_")
    headers = {"Authorization": f"Bearer {secret}"}

    me = page.request.get("/api/v1/auth/me", headers=headers).json()
    assert me["roles"] == ["platform_admin"] and me["org"]["name"] == "示范市大数据局"
    orgs = page.request.get("/api/v1/orgs?kind=government&limit=200", headers=headers).json()
    assert "示范市公安局" in {o["name"] for o in orgs["items"]}
    resources = page.request.get("/api/v1/resources?q=人口", headers=headers)
    assert resources.status == 200 and resources.json()["total"] >= 1


def test_console_errors_are_recorded(page: Any, console_errors: list[str]) -> None:
    page.set_content("<p>示范市</p>")
    page.evaluate("console.error('deliberate')")
    page.evaluate("setTimeout(() => { throw new Error('uncaught on purpose') })")
    page.wait_for_timeout(200)
    assert any("deliberate" in e for e in console_errors), console_errors
    assert any("uncaught on purpose" in e for e in console_errors), console_errors
    console_errors.clear()  # expected here; any other error fails the test in teardown
