"""Organizations and users in headless Chromium on the live demo node: the platform admin
registers an enterprise through the form (a wrong USCC check character is refused first, with
the reason), adds a user to it, and the new user signs in. The names are unique to the test, so
other tests on the same node cannot collide with them."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.fixtures.browser import expect_refusal, no_dialogs, sign_in
from tests.fixtures.identity import make_uscc

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def test_the_admin_registers_a_unit_adds_a_user_and_the_user_signs_in(
    page: Page, console_errors: list[str]
) -> None:
    dialogs = no_dialogs(page)
    tag = uuid.uuid4().hex[:8]
    name = f"示范市新材料科技有限公司{tag}{XSS}"
    username = f"officer.new{tag}"
    secret = f"Initial-{tag}-pw"
    good = make_uscc("91370602")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")

    sign_in(page, "admin", "/workspace/admin")
    expect(page.locator('.ws-nav a[href="/workspace/admin"]')).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("#adm-org-table tbody tr").first).to_be_visible()
    page.fill("#adm-o-name", name)
    page.select_option("#adm-o-kind", "enterprise")
    page.fill("#adm-o-uscc", wrong)
    page.click("#adm-org-create")
    refusal = page.locator("#adm-org-out [role=alert]")
    expect(refusal).to_contain_text(f"校验位为 {wrong[17]}，按前 17 位计算应为 {good[17]}")
    expect_refusal(console_errors, 422)

    page.fill("#adm-o-uscc", good.lower())
    page.click("#adm-org-create")
    expect(page.locator("#adm-org-created")).to_be_visible()
    expect(page.locator("#adm-org-name")).to_contain_text(f"{tag}<img src=x")  # shown as text
    expect(page.locator("#adm-org-uscc")).to_have_text(good)
    expect(page.locator("#adm-org-status")).to_have_text("正常")
    org_id = page.url.split("/orgs/")[1].split("?")[0]
    expect(page.locator("#adm-org-did-doc")).to_have_attribute(
        "href", f"/api/v1/orgs/{org_id}/did.json"
    )
    expect(page.locator("[data-trail] [data-type='identity.org_created']")).to_have_count(1)

    page.click("#adm-org-add-user")
    expect(page.locator("#adm-u-org")).to_have_value(org_id)
    page.fill("#adm-u-username", username)
    page.fill("#adm-u-display", f"新专管员{tag}")
    page.check("#adm-u-role-data_officer")
    page.fill("#adm-u-password", secret)
    page.click("#adm-user-create")
    created = page.locator("#adm-user-created")
    expect(created).to_contain_text(username)
    expect(created).to_contain_text("数据专管员")
    assert secret not in page.content()
    expect(page.locator("#adm-u-password")).to_have_value("")  # a fresh form
    expect(page.locator("#adm-u-org")).to_have_value(org_id)

    page.click("#adm-user-created-list")
    expect(page.locator(f'tr[data-username="{username}"]')).to_contain_text("新专管员")

    page.click("#logout")
    page.wait_for_url("**/")
    sign_in(page, username, "/workspace", password=secret)
    expect(page.locator("h1")).to_be_visible()
    assert page.url.endswith("/workspace")
    assert not dialogs, dialogs
