"""Duties in headless Chromium on the live demo node: the public security bureau (officer.gaj)
subscribes a webhook on one of its grants and sees the signing secret once, never after a
reload; the data authority's reviewer adds an item to the human-resources bureau's
responsibility list, overdue from the start, and that bureau's data officer (officer.rsj) links
the published resource that fulfils it. Screenshots: ws-subscriptions, ws-responsibilities."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from tests.fixtures.browser import sign_in
from tests.web.conftest import screenshot

PASSWORD = "yaosu-demo"
XSS = '<img src=x onerror="alert(1)">'


def headers(page: Page, username: str) -> dict[str, str]:
    r = page.request.post("/api/v1/auth/token", form={"username": username, "password": PASSWORD})
    assert r.status == 200, r.text()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def api_get(page: Page, username: str, path: str) -> Any:
    r = page.request.get(path, headers=headers(page, username))
    assert r.status == 200, r.text()
    return r.json()


def sign_out(page: Page) -> None:
    page.click("#logout")
    expect(page.locator("#login-link")).to_be_visible()


def test_the_consumer_subscribes_a_webhook_and_sees_the_secret_once(
    page: Page, console_errors: list[str]
) -> None:
    grants = api_get(page, "officer.gaj", "/api/v1/grants?role=consumer&status=active&limit=50")
    assert grants["items"], "the demo gives 公安局 an active grant"
    grant = grants["items"][0]["id"]
    # A name that never resolves: the node's delivery tick may try it harmlessly.
    url = f"http://hooks.example:9/yaosu/{uuid.uuid4().hex[:12]}"

    sign_in(page, "officer.gaj", f"/workspace/sharing/grants/{grant}")
    panel = page.locator("#shr-subscriptions")
    expect(panel).to_be_visible()  # loaded into the grant page by htmx
    expect(page.locator("#sub-form")).to_be_visible()

    # A URL the browser takes but the API does not: refused with the reason, nothing made.
    page.fill("#sub-url", "ftp://files.example.cn/new-versions")
    page.click("#sub-submit")
    expect(page.locator("#sub-out [role=alert]")).to_contain_text("地址无效")
    assert console_errors and all("status of 422" in e for e in console_errors), console_errors
    console_errors.clear()

    page.fill("#sub-url", url)
    page.click("#sub-submit")
    secret_box = page.locator("#sub-secret")
    expect(secret_box).to_be_visible()
    secret = secret_box.input_value()
    assert len(secret) >= 40
    expect(page.locator("#sub-table")).to_contain_text(url)
    screenshot(page, "ws-subscriptions")

    # Never again: after a reload the subscription is listed, its secret is nowhere.
    page.reload()
    expect(page.locator("#sub-table")).to_contain_text(url)
    expect(page.locator("#sub-secret")).to_have_count(0)
    assert secret not in page.content()


def test_an_item_added_by_the_authority_is_fulfilled_by_the_unit(
    page: Page, console_errors: list[str]
) -> None:
    rsj = api_get(page, "officer.rsj", "/api/v1/auth/me")["org_id"]
    name = f"{XSS}就业困难人员认定信息-{uuid.uuid4().hex[:6]}"
    due = (date.today() - timedelta(days=10)).isoformat()

    sign_in(page, "reviewer", "/workspace/responsibilities")
    expect(page.locator(".ws-nav a.active")).to_have_attribute(
        "href", "/workspace/responsibilities"
    )
    page.select_option("#duty-add-org", rsj)
    page.fill("#duty-add-name", name)
    page.fill("#duty-add-basis", "示范市政务数据共享责任清单（2026年版）")
    page.fill("#duty-add-due", due)
    page.click("#duty-add-submit")
    expect(page.locator("#duty-done")).to_contain_text(name)
    row = page.locator("#duty-table tr[data-item]", has_text=name)
    expect(row).to_have_attribute("data-overdue", "true")
    expect(row.locator(".duty-name")).to_have_text(name)  # shown as text, never run
    expect(row.locator(".duty-name img")).to_have_count(0)
    sign_out(page)

    sign_in(page, "officer.rsj", "/workspace/responsibilities")
    row = page.locator("#duty-table tr[data-item]", has_text=name)
    expect(row).to_have_attribute("data-overdue", "true")
    expect(row.locator(".badge.overdue")).to_be_visible()
    overdue_before = int(page.locator("#duty-overdue-items").get_attribute("data-count") or 0)
    assert overdue_before >= 1
    choice = row.locator("select[name=resource] option:not([value=''])").first
    resource_name = (choice.text_content() or "").strip()
    row.locator("select[name=resource]").select_option(choice.get_attribute("value") or "")
    row.locator("button[type=submit]").click()
    expect(page.locator("#duty-done")).to_contain_text("已完成")
    row = page.locator("#duty-table tr[data-item]", has_text=name)
    expect(row).to_have_attribute("data-fulfilled", "true")
    expect(row.locator(".duty-resource")).to_have_text(resource_name)
    expect(page.locator("#duty-overdue-items")).to_have_attribute(
        "data-count", str(overdue_before - 1)
    )
    screenshot(page, "ws-responsibilities")
