"""The whole workspace journey of issue 8 in headless Chromium, on the live demo node, each step
by the role that owns it and through the pages only (the data-service call excepted, which is
an API client's): a data officer registers a resource and uploads a GB18030 file with the
progress bar, reviews its classification and submits it; the data authority publishes it;
another unit requests it and is approved automatically, makes an API token and calls the data
service; the provider sees the calls on the grant's usage chart; the trail verifies in the
browser. Each role's dashboard is saved to docs/screenshots/role-*.png."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.fixtures.browser import sign_in
from tests.fixtures.classification import csv_bytes, people_rows
from tests.web.conftest import screenshot

ROWS = [{"sfzh": r["sfzh"], "xm": r["xm"], "sjhm": r["sjhm"]} for r in people_rows(200, seed=5)]
GB18030 = csv_bytes(ROWS, "gb18030")


def sign_out(page: Any) -> None:
    page.click("#logout")
    expect(page.locator("#login-link")).to_be_visible()


def register_upload_and_submit(page: Any, name: str) -> str:
    sign_in(page, "officer.gaj", "/workspace")
    screenshot(page, "role-data-officer")
    page.goto("/workspace/resources/new")
    page.fill("#f-code", "20301009")
    page.fill("#f-name", name)
    page.fill("#f-summary", "交通违法处理中的当事人信息，供政务服务核验。")
    page.select_option("#f-format", "table")
    page.select_option("#f-cycle", "daily")
    page.fill("#f-source", "交通违法处理系统")
    page.fill("#f-keywords", "交通、违法")
    rows = page.locator("#res-fields tbody tr")
    for i, (field, label) in enumerate((("sfzh", "身份证号"), ("xm", "姓名"), ("sjhm", "手机号"))):
        if i:
            page.click("#res-field-add")
        rows.nth(i).locator("[name=field_name]").fill(field)
        rows.nth(i).locator("[name=field_label]").fill(label)
    page.select_option("#f-share", "unconditional")
    page.select_option("#f-method", "api")
    page.select_option("#f-open", "none")
    page.click("#res-save")
    expect(page.locator("#res-name")).to_have_text(name)
    resource = page.url.rsplit("/", 1)[-1]

    page.click("#res-tabs [data-tab=upload]")
    expect(page.locator("#res-upload")).to_have_attribute("data-ready", "true")
    page.evaluate("document.getElementById('res-upload').dataset.chunk = '4096'")
    page.select_option("#up-encoding", "gb18030")
    page.set_input_files(
        "#up-file", files=[{"name": "违法当事人.csv", "mimeType": "text/csv", "buffer": GB18030}]
    )
    page.click("#up-start")
    expect(page.locator("#up-progress")).to_have_attribute("value", "100")
    expect(page.locator("#job-status")).to_have_attribute(
        "data-status", "succeeded", timeout=60_000
    )
    expect(page.locator("#job-rows")).to_have_text(str(len(ROWS)))

    page.click("#res-tabs [data-tab=classification]")
    expect(page.locator("tr.cls-field[data-column=sfzh]")).to_have_attribute(
        "data-detected", "resident_id"
    )
    page.click("#cls-grade-accept button")
    grade = page.locator("#cls-grade")
    expect(grade).to_have_attribute("data-status", "accepted")
    assert (grade.get_attribute("data-grade") or "").startswith("general")

    page.click("#res-tabs [data-tab=overview]")
    page.click("#res-submit button")
    expect(page.locator("#res-status")).to_have_attribute("data-status", "submitted")
    sign_out(page)
    return resource


def publish(page: Any, resource: str) -> None:
    sign_in(page, "reviewer", "/workspace")
    screenshot(page, "role-reviewer")
    page.goto("/workspace/reviews?tab=catalog")
    item = page.locator(f"#rev-res-{resource}")
    expect(item).to_be_visible()
    with page.expect_response(re.compile(r"/publish$")) as answer:
        item.locator("form.rev-publish button").click()
    assert answer.value.status == 200, answer.value.text()
    expect(page.locator("[data-outcome=published]")).to_be_visible()
    sign_out(page)


def request_and_call(page: Any, resource: str) -> tuple[str, int]:
    sign_in(page, "officer.mzj", f"/workspace/sharing/new?resource={resource}")
    for field in ("sfzh", "xm"):
        page.check(f"#shr-field-{field}")
    page.select_option("#shr-purpose", "government_service")
    page.fill("#shr-purpose-text", "困难群众救助资格核验")
    page.fill("#shr-basis", "《社会救助暂行办法》")
    page.fill("#shr-term", "30")
    page.click("#shr-submit")
    expect(page.locator("#shr-approved")).to_be_visible()
    grant = page.locator("#shr-filed").get_attribute("data-grant") or ""
    assert grant

    page.goto(f"/workspace/sharing/grants/{grant}")
    summary = page.locator("#grant-summary")
    expect(summary).to_contain_text("身份证号")  # the plain-language policy names the field
    expect(summary).to_contain_text("掩码")  # and its masking

    page.goto("/workspace/tokens")
    page.fill("#tok-name", "救助核验")
    page.check("#tok-scope-service-call")
    page.click("#tok-create")
    secret = page.locator("#tok-secret").input_value()
    assert secret.startswith("ys_")
    calls = 2
    for _ in range(calls):
        r = page.request.get(
            f"/api/v1/services/{grant}/rows",
            params={"limit": 5},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert r.status == 200, r.text()
        rows = r.json()["rows"]
        assert len(rows) == 5 and set(rows[0]) == {"sfzh", "xm"}
        assert rows[0]["sfzh"] not in {str(x["sfzh"]) for x in ROWS}  # masked by default
    page.goto("/workspace")
    screenshot(page, "role-consumer")
    sign_out(page)
    return grant, calls


def test_register_publish_request_call_chart_and_verify(page: Any) -> None:
    name = f"交通违法当事人信息{uuid.uuid4().hex[:6]}"
    resource = register_upload_and_submit(page, name)
    publish(page, resource)
    grant, calls = request_and_call(page, resource)

    # The provider sees the calls on the grant's usage chart.
    sign_in(page, "officer.gaj", f"/workspace/sharing/grants/{grant}")
    expect(page.locator("#usage-total")).to_have_attribute("data-calls", str(calls))
    expect(page.locator("#grant-usage-chart")).to_have_attribute("data-rendered", "true")

    # The resource's trail, verified in the browser against the signed checkpoint.
    page.goto(f"/workspace/trail/{resource}")
    entries = page.locator("[data-trail] tr[data-entry]")
    expect(entries.first).to_be_visible()
    page.locator("[data-trail-verify]").click()
    expect(page.locator("[data-trail]")).to_have_attribute("data-verified", "ok")
    expect(page.locator('tr[data-verified="ok"]')).to_have_count(entries.count())
    sign_out(page)

    # The remaining roles' landing pages, for the README.
    for username, shot in (("auditor", "role-auditor"), ("fintech", "role-enterprise")):
        sign_in(page, username, "/workspace")
        screenshot(page, shot)
        sign_out(page)
