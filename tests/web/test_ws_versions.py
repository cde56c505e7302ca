"""Staged versions in headless Chromium, on the live demo node: 公安局's data officer publishes a
resource with data, then uploads a version with a new column; it waits as staged. The data
authority's reviewer finds it in the review queue, is refused a rejection without a reason,
accepts it on the versions tab, then rolls the resource back to the first version with a
reason. Screenshot: ws-resource-versions."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from tests.fixtures.browser import expect_refusal, sign_in
from tests.fixtures.classification import csv_bytes
from tests.web.conftest import screenshot

V1 = [{"bh": f"A{i:03d}", "mc": f"门店{i}"} for i in range(20)]
V2 = [{**r, "bz": "新增"} for r in V1]


def api(page: Any, method: str, url: str, **kw: Any) -> Any:
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "yaosu_csrf")
    r = page.request.fetch(url, method=method, headers={"X-CSRF-Token": csrf}, **kw)
    assert r.status < 300, r.text()
    return r.json() if r.status != 204 else None


def upload(page: Any, rid: str, rows: list[dict[str, Any]]) -> str:
    body = csv_bytes(rows)
    job = api(
        page,
        "POST",
        f"/api/v1/resources/{rid}/versions?wait=true",
        multipart={"file": {"name": "d.csv", "mimeType": "text/csv", "buffer": body}},
    )
    assert job["status"] == "succeeded", job
    return str(job["version_id"])


def test_staged_version_is_reviewed_then_rolled_back(page: Any, console_errors: list[str]) -> None:
    sign_in(page, "officer.gaj")
    created = api(
        page,
        "POST",
        "/api/v1/resources",
        data={
            "name": f"门店登记{uuid.uuid4().hex[:6]}",
            "classification_code": "20101009",
            "summary": "门店登记信息",
            "fields": [{"name": "bh", "label_zh": "编号"}, {"name": "mc", "label_zh": "名称"}],
            "format": "table",
            "update_cycle": "daily",
            "share_attribute": "unconditional",
            "share_method": "api",
            "open_attribute": "none",
        },
    )
    rid = created["id"]
    v1 = upload(page, rid, V1)
    api(page, "POST", f"/api/v1/resources/{rid}/submit")
    sign_in(page, "reviewer")
    api(page, "POST", f"/api/v1/resources/{rid}/publish")
    sign_in(page, "officer.gaj")
    v2 = upload(page, rid, V2)

    # The reviewer's queue lists it; its page says why it waits.
    sign_in(page, "reviewer", then="/workspace/reviews?tab=versions")
    item = page.locator(f"#rev-ver-{v2}")
    expect(item.locator("[data-why=schema_changed]")).to_be_visible()
    item.locator("a.button").click()
    row = page.locator(f"#res-versions tr[data-version='{v2}'] .res-ver-state")
    expect(row).to_have_attribute("data-state", "staged")
    # A rejection needs a reason: the refusal shows under the form, nothing changes.
    page.click(f"#res-reject-{v2} button")
    expect(page.locator(f"#res-decide-out-{v2} [role=alert]")).to_be_visible()
    expect_refusal(console_errors, 422)
    expect(row).to_have_attribute("data-state", "staged")
    screenshot(page, "ws-resource-versions")
    page.fill(f"#res-accept-note-{v2}", "新增备注列，已核对")
    page.click(f"#res-accept-{v2} button")
    current = page.locator(f"#res-versions tr[data-version='{v2}'] .res-ver-state")
    expect(current).to_have_attribute("data-state", "accepted")
    expect(page.locator(f"#res-versions tr[data-version='{v2}'] .badge").first).to_be_visible()
    expect(page.locator("#res-staged")).to_have_count(0)

    # Roll back to version 1, with a reason.
    expect(page.locator("#res-rollback-version")).to_have_value(v1)
    page.click("#res-rollback-form button")
    expect(page.locator("#res-rollback-out [role=alert]")).to_be_visible()
    expect_refusal(console_errors, 422)
    page.fill("#res-rollback-reason", "第二版字段未登记，先回退")
    page.click("#res-rollback-form button")
    expect(page.locator("#res-profile")).to_have_attribute("data-version", v1)
    state = api(page, "GET", f"/api/v1/resources/{rid}")
    assert state["current_version_id"] == v1
