"""Open-data operations in headless Chromium on the live demo node: a visitor asks for a dataset
on the portal (问需于民), a providing unit's data officer answers it in the workspace linking
the unit's open dataset, and the answer is public on the portal at once. Screenshot:
ws-open-demands."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import Page, expect

from tests.fixtures.browser import sign_in
from tests.web.conftest import screenshot

PASSWORD = "yaosu-demo"
XSS = "<script>window.hacked=1</script>"
OFFICERS = ("officer.gaj", "officer.rsj", "officer.mzj", "officer.dc")


def api_get(page: Page, path: str, username: str | None = None) -> Any:
    headers = {}
    if username:
        r = page.request.post(
            "/api/v1/auth/token", form={"username": username, "password": PASSWORD}
        )
        assert r.status == 200, r.text()
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = page.request.get(path, headers=headers)
    assert r.status == 200, r.text()
    return r.json()


def officer_with_open_data(page: Page) -> tuple[str, dict[str, Any]]:
    """A demo data officer whose unit has an open dataset, and that dataset."""
    datasets = api_get(page, "/api/v1/open/datasets?limit=100")["items"]
    for username in OFFICERS:
        org = api_get(page, "/api/v1/auth/me", username)["org_id"]
        own = [d for d in datasets if d["provider_id"] == org]
        if own:
            return username, own[0]
    raise AssertionError("the demo city has open datasets of a unit with a data officer")


def test_a_provider_answers_a_public_demand(page: Page, console_errors: list[str]) -> None:
    officer, dataset = officer_with_open_data(page)
    title = f"{XSS}希望开放{dataset['name']}-{uuid.uuid4().hex[:6]}"

    # A visitor asks on the portal.
    page.goto("/demands")
    page.fill("#d-title", title)
    page.fill("#d-description", "希望按月更新，便于研究。")
    page.fill("#d-contact", "13900002222")
    page.click("#demand-form button[type=submit]")
    expect(page.locator("#demand-thanks")).to_be_visible()

    # The providing unit's officer answers it in the workspace.
    sign_in(page, officer, "/workspace/open")
    expect(page.locator(".ws-nav a.active")).to_have_attribute("href", "/workspace/open")
    item = page.locator("article[data-kind=demand]", has_text=title)
    expect(item.locator(".opn-title")).to_have_text(title)  # shown as text, never run
    assert page.evaluate("window.hacked") is None
    expect(item).not_to_contain_text("13900002222")
    waiting = int(page.locator("#opn-count-demands").get_attribute("data-count") or 0)
    item.locator("textarea[name=answer]").fill("已开放，见所附数据集；按月更新。")
    item.locator("input[name=dataset]").fill(dataset["code"])
    screenshot(page, "ws-open-demands")
    item.locator("button[type=submit]").click()

    done = page.locator("article[data-outcome=answered]", has_text=title)
    expect(done).to_be_visible()
    expect(done.locator(".opn-linked")).to_have_text(dataset["name"])
    expect(page.locator("#opn-count-demands")).to_have_attribute("data-count", str(waiting - 1))

    # Public at once.
    page.goto("/demands")
    answered = page.locator("#demand-list li.demand", has_text=title)
    expect(answered.locator(".answer")).to_contain_text("已开放，见所附数据集")
    expect(answered.locator(f'a[href="/datasets/{dataset["id"]}"]')).to_be_visible()
