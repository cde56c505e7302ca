"""Sharing in the workspace in headless Chromium, on the live demo node: a government unit
(officer.mzj, 民政局) files a share request for another unit's general-grade, unconditionally
shared resource and is approved at once; it makes an API token on the tokens page and calls the
data service with it; the provider's data officer sees the calls on the grant's usage chart
and suspends and resumes the grant; the data authority's reviewer sees the city overview and
downloads the resource ledger. Screenshots: ws-tokens, ws-grant, ws-overview."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.fixtures.browser import sign_in
from tests.web.conftest import screenshot

PASSWORD = "yaosu-demo"
XSS = '<img src=x onerror="alert(1)">辖区医疗资源摸底'


def token_for(http: httpx.Client, username: str) -> dict[str, str]:
    r = http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def api_get(http: httpx.Client, path: str, headers: dict[str, str], **params: Any) -> Any:
    r = http.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def settle(page: Any, path: str, ready: str) -> None:
    """Open ``path``: a write answered with 2xx is committed, so ``ready`` is there at once."""
    page.goto(path)
    expect(page.locator(ready).first).to_be_visible()


@pytest.fixture(scope="module")
def demo(live_server: str) -> dict[str, Any]:
    """From the demo's own automatic approvals: a general-grade, unconditionally shared resource
    of another unit than 民政局, the fields asked for then, and a data officer of its provider
    (made by the platform admin when the demo unit has none)."""
    with httpx.Client(base_url=live_server, timeout=30) as http:
        mzj = api_get(http, "/api/v1/auth/me", token_for(http, "officer.mzj"))["org_id"]
        found = api_get(
            http,
            "/api/v1/share-requests",
            token_for(http, "reviewer"),
            status="approved",
            channel="sharing",
            limit=200,
        )["items"]
        auto = next(r for r in found if r["auto_approved"] and r["provider_id"] != mzj)
        admin = token_for(http, "admin")
        users = api_get(http, "/api/v1/users", admin, org_id=auto["provider_id"])["items"]
        officer = next((u["username"] for u in users if "data_officer" in u["roles"]), None)
        if officer is None:
            officer = "officer.shr-" + auto["provider_id"][-6:].lower()
            made = http.post(
                "/api/v1/users",
                json={
                    "username": officer,
                    "display_name": "数据专管员",
                    "password": PASSWORD,
                    "org_id": auto["provider_id"],
                    "roles": ["data_officer"],
                },
                headers=admin,
            )
            assert made.status_code == 201, made.text
    return {"resource": auto["resource_id"], "fields": auto["fields"], "provider": officer}


def sign_out(page: Any) -> None:
    page.click("#logout")
    expect(page.locator("#login-link")).to_be_visible()


def chart_data(page: Any, block: str) -> dict[str, Any]:
    return dict(json.loads(page.locator(f"#{block}").text_content() or "{}"))


def test_request_auto_approved_token_calls_and_the_providers_usage_chart(
    page: Any, demo: dict[str, Any], console_errors: list[str]
) -> None:
    # 民政局 files the request from the resource and is approved at once.
    sign_in(page, "officer.mzj", f"/workspace/sharing/new?resource={demo['resource']}")
    for field in demo["fields"]:
        page.check(f"#shr-field-{field}")
    page.select_option("#shr-purpose", "public_health")
    page.fill("#shr-purpose-text", XSS)
    page.fill("#shr-basis", "《政务数据共享条例》第十二条")
    page.fill("#shr-term", "90")
    page.click("#shr-submit")
    expect(page.locator("#shr-approved")).to_be_visible()
    grant = page.locator("#shr-filed").get_attribute("data-grant")
    assert grant

    # Tracking it: the purpose text is shown as text, never run.
    request_id = page.locator("#shr-filed").get_attribute("data-request")
    settle(page, f"/workspace/sharing/requests/{request_id}", "#shr-req-status")
    expect(page.locator("#shr-req-status")).to_have_text("已批准")
    expect(page.locator("#shr-req-purpose-text")).to_have_text(XSS)
    expect(page.locator("#shr-req-purpose-text img")).to_have_count(0)
    expect(page.locator("#shr-req-grant")).to_have_text(grant)
    expect(page.locator("[data-trail]")).to_be_visible()

    # An API token for the data service, whose secret is shown once.
    page.goto("/workspace/tokens")
    page.fill("#tok-name", "数据服务调用")
    page.check("#tok-scope-service-call")
    page.click("#tok-create")
    expect(page.locator("#tok-secret")).to_have_value(re.compile(r"^ys_"))
    secret = page.locator("#tok-secret").input_value()
    token_id = page.locator("#tok-created").get_attribute("data-token")
    settle(page, "/workspace/tokens", f"#tok-table tr[data-token='{token_id}'][data-state=active]")
    expect(page.locator("#tok-secret")).to_have_count(0)
    assert secret not in page.content()
    screenshot(page, "ws-tokens")

    calls = 3
    for _ in range(calls):
        r = page.request.get(
            f"/api/v1/services/{grant}/rows",
            params={"limit": 10},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert r.status == 200, r.text()
        assert r.json()["rows"]
    sign_out(page)

    # The provider's data officer sees the calls on the grant's usage chart.
    sign_in(page, demo["provider"], f"/workspace/sharing/grants/{grant}")
    expect(page.locator("#grant-summary")).to_contain_text("字段")
    expect(page.locator("#grant-summary")).to_contain_text("用途 公共卫生")
    usage = chart_data(page, "grant-usage-data")
    assert usage["totals"]["calls"] == calls
    assert usage["series"][0]["data"][-1] == calls  # today, on the chart's last day
    expect(page.locator("#grant-usage-chart")).to_have_attribute("data-rendered", "true")
    expect(page.locator("#grant-usage-chart canvas").first).to_be_visible()
    expect(page.locator("#usage-total")).to_have_attribute("data-calls", str(calls))

    # Suspend and resume through the page: each needs the reason typed in the form.
    page.fill("#grant-reason", "核查调用情况")
    page.click("#grant-suspend")
    expect(page.locator("#grant-status")).to_have_text("已暂停")
    expect(page.locator("#grant-status-reason")).to_have_text("核查调用情况")
    page.click("#grant-resume")
    expect(page.locator("#shr-grant-out [role=alert]")).to_contain_text("必须填写理由")
    assert len(console_errors) == 1 and "422" in console_errors[0]  # the refused form post
    console_errors.clear()
    page.fill("#grant-reason", "核查完毕")
    page.click("#grant-resume")
    expect(page.locator("#grant-status")).to_have_text("有效")
    settle(page, f"/workspace/sharing/grants/{grant}", "#shr-grant-state[data-status=active]")
    expect(page.locator("#grant-usage-chart")).to_have_attribute("data-rendered", "true")
    screenshot(page, "ws-grant")
    sign_out(page)


def test_the_reviewer_sees_the_city_overview_and_downloads_the_ledger(page: Any) -> None:
    sign_in(page, "reviewer", "/workspace/overview")
    for chart in ("ov-by-unit", "ov-by-attribute", "ov-requests", "ov-grants", "ov-daily"):
        expect(page.locator(f"#{chart}")).to_have_attribute("data-rendered", "true")
        expect(page.locator(f"#{chart} canvas").first).to_be_visible()
    assert chart_data(page, "ov-daily-data")["totals"]["calls"] >= 4  # the demo's own calls
    assert len(chart_data(page, "ov-by-unit-data")["x"]) > 10
    expect(page.locator("[data-figure=resources]")).not_to_have_text("0")
    screenshot(page, "ws-overview")
    with page.expect_download() as info:
        page.click("#ov-export-csv")
    download = info.value
    assert download.suggested_filename == "resource-ledger.csv"
    with open(download.path(), encoding="utf-8-sig") as f:
        assert f.readline().startswith("资源代码,资源名称,提供单位")
