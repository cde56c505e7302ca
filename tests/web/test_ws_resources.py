"""The provider's part of the journey in headless Chromium, on the live demo node: 公安局's data
officer registers a resource with the catalog form, uploads a GB18030 CSV through the chunked
upload with its progress bar, sees the version and its profile, reviews the classification
(accepts one field, corrects another with a reason, accepts the grade) and submits it for
review. Then the unhappy paths: a chunk lost to the network and resumed, an upload that
survives a reload, markup in a resource name, and a member who may not register.
Screenshots: ws-resource-upload, ws-resource-classification."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.fixtures.browser import sign_in
from tests.fixtures.classification import csv_bytes, people_rows
from tests.web.conftest import screenshot

ROWS = [{"sfzh": r["sfzh"], "xm": r["xm"]} for r in people_rows(300, seed=11)]
CSV = csv_bytes(ROWS, "gb18030")
CHUNKS = re.compile(r"/api/v1/uploads/\w+/chunks\?offset=\d+$")
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:6]}"


def register_by_api(page: Any, name: str) -> str:
    """A fresh draft of the signed-in unit, through the JSON API with the page's cookies."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "yaosu_csrf")
    r = page.request.post(
        "/api/v1/resources",
        data={
            "name": name,
            "classification_code": "10101009",
            "fields": [
                {"name": "sfzh", "label_zh": "身份证号"},
                {"name": "xm", "label_zh": "姓名"},
            ],
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status == 201, r.text()
    return str(r.json()["id"])


def choose_file(page: Any, name: str = "流动人口.csv") -> None:
    page.set_input_files("#up-file", files=[{"name": name, "mimeType": "text/csv", "buffer": CSV}])


def open_upload(page: Any, resource_id: str, chunk: int) -> None:
    page.goto(f"/workspace/resources/{resource_id}?tab=upload")
    expect(page.locator("#res-upload")).to_have_attribute("data-ready", "true")
    # Small chunks, so that this small file goes up in many pieces.
    page.evaluate(f"document.getElementById('res-upload').dataset.chunk = '{chunk}'")


def offset_of(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["offset"][0])


def expect_ingested(page: Any) -> None:
    expect(page.locator("#up-progress")).to_have_attribute("value", "100")
    expect(page.locator("#up-percent")).to_have_text("100%")
    expect(page.locator("#job-status")).to_have_attribute(
        "data-status", "succeeded", timeout=60_000
    )
    expect(page.locator("#job-rows")).to_have_text(f"{len(ROWS)}")
    expect(page.locator("#job-links")).to_be_visible()


def network_failures(console_errors: list[str]) -> None:
    """The chunks the test cut off show as failed loads; nothing else may have gone wrong."""
    assert console_errors and all("ERR_FAILED" in e for e in console_errors), console_errors
    console_errors.clear()


def test_register_upload_review_and_submit(page: Any, console_errors: list[str]) -> None:
    sign_in(page, "officer.gaj", "/workspace/resources")
    page.click("#res-register")
    expect(page).to_have_url(re.compile(r"/workspace/resources/new$"))
    name = unique("流动人口登记信息")
    page.fill("#f-code", "9")
    page.fill("#f-name", name)
    page.fill("#f-name-en", "Floating population registration")
    page.fill("#f-summary", "全市流动人口登记的基本身份信息，用于政务服务中的身份核验。")
    page.select_option("#f-format", "table")
    page.select_option("#f-cycle", "daily")
    page.select_option("#f-library", "population")
    page.fill("#f-source", "流动人口管理系统")
    page.fill("#f-keywords", "人口、流动，登记")
    page.check("#f-authoritative")
    rows = page.locator("#res-fields tbody tr")
    expect(rows).to_have_count(1)
    rows.nth(0).locator("[name=field_name]").fill("sfzh")
    rows.nth(0).locator("[name=field_label]").fill("身份证号")
    page.click("#res-field-add")
    rows.nth(1).locator("[name=field_name]").fill("xm")
    rows.nth(1).locator("[name=field_label]").fill("姓名")
    page.click("#res-field-add")
    expect(rows).to_have_count(3)
    rows.nth(2).locator(".res-field-remove").click()
    expect(rows).to_have_count(2)
    page.select_option("#f-share", "conditional")
    page.select_option("#f-method", "api")
    page.select_option("#f-open", "none")
    page.fill("#f-contact-name", "张警官")
    page.fill("#f-contact-phone", "0535-6651234")
    page.fill("#f-contact-email", "data@gaj.example.cn")

    # The browser's own check: a classification code of the wrong shape never leaves the page.
    page.click("#res-save")
    assert page.eval_on_selector("#f-code", "e => e.validity.patternMismatch")
    expect(page).to_have_url(re.compile(r"/workspace/resources/new$"))
    # The catalog's rule, from the server: conditional sharing states its conditions.
    page.fill("#f-code", "10101003")
    with page.expect_response(re.compile(r"/workspace/resources/new$")) as answer:
        page.click("#res-save")
    assert answer.value.status == 422
    expect(page.locator("#res-form-errors [role=alert]")).to_contain_text(
        "有条件共享必须说明共享条件"
    )
    assert len(console_errors) == 1 and "status of 422" in console_errors[0], console_errors
    console_errors.clear()  # the browser reports the refused form as a failed load
    page.fill("#f-conditions", "仅限公安、人社部门办理户籍和社保业务时核验身份")
    page.click("#res-save")
    expect(page).to_have_url(re.compile(r"/workspace/resources/\w+$"))
    expect(page.locator("#res-name")).to_have_text(name)
    expect(page.locator("#res-status")).to_have_attribute("data-status", "draft")
    expect(page.locator("#res-field-list tbody tr")).to_have_count(2)

    # The upload: GB18030, in chunks, with the progress bar, then the ingest job.
    page.click("#res-tabs [data-tab=upload]")
    expect(page.locator("#res-upload")).to_have_attribute("data-ready", "true")
    page.evaluate("document.getElementById('res-upload').dataset.chunk = '2048'")
    page.select_option("#up-encoding", "gb18030")
    choose_file(page)
    chunks: list[int] = []
    page.on("request", lambda r: chunks.append(offset_of(r.url)) if CHUNKS.search(r.url) else None)
    page.click("#up-start")
    expect_ingested(page)
    assert len(chunks) == -(-len(CSV) // 2048) and chunks == sorted(chunks)
    screenshot(page, "ws-resource-upload")

    # The version and its profile.
    page.click("#job-versions")
    version = page.locator("#res-versions tr[data-number='1']")
    expect(version.locator("[data-rows]")).to_have_attribute("data-rows", str(len(ROWS)))
    expect(version).to_contain_text("gb18030")
    expect(page.locator("#res-profile-rows")).to_have_text(f"{len(ROWS)}")
    for column in ("sfzh", "xm"):
        nulls = page.locator(f"#res-profile-columns tr[data-column={column}] [data-nulls]")
        expect(nulls).to_have_attribute("data-nulls", "0")
    expect(page.locator("#res-sample")).to_contain_text(ROWS[0]["xm"])

    # Classification: accept the resident ID, correct the name with a reason, accept the grade.
    page.click("#res-tabs [data-tab=classification]")
    sfzh = page.locator("tr.cls-field[data-column=sfzh]")
    xm = page.locator("tr.cls-field[data-column=xm]")
    expect(sfzh).to_have_attribute("data-detected", "resident_id")
    expect(xm).to_have_attribute("data-detected", "person_name")
    sfzh.locator("form.cls-accept button").click()
    expect(sfzh).to_have_attribute("data-status", "accepted")
    expect(page.locator("#cls-done")).to_be_visible()
    xm.locator("details summary").click()
    xm.locator("select[name=type]").select_option("none")
    xm.locator("form.cls-change button").click()
    assert xm.locator("textarea[name=reason]").evaluate("e => e.validity.valueMissing")
    xm.locator("textarea[name=reason]").fill("测试数据中的姓名均为化名，不是个人信息")
    xm.locator("form.cls-change button").click()
    expect(xm).to_have_attribute("data-status", "changed")
    expect(xm).to_have_attribute("data-type", "none")
    expect(xm).to_contain_text("均为化名")
    grade = page.locator("#cls-grade")
    proposed = grade.get_attribute("data-proposed")
    page.click("#cls-grade-accept button")
    expect(grade).to_have_attribute("data-status", "accepted")
    expect(grade).to_have_attribute("data-grade", proposed or "")
    screenshot(page, "ws-resource-classification")

    # Submit for review, once.
    page.click("#res-tabs [data-tab=overview]")
    page.click("#res-submit button")
    expect(page.locator("#res-status")).to_have_attribute("data-status", "submitted")
    expect(page.locator("#res-submit")).to_have_count(0)


def test_a_chunk_lost_to_the_network_is_sent_again(page: Any, console_errors: list[str]) -> None:
    sign_in(page, "officer.gaj")
    rid = register_by_api(page, unique("断点续传测试"))
    open_upload(page, rid, 2048)
    sent: list[int] = []
    cut: list[int] = []

    def lose_one(route: Any) -> None:
        offset = offset_of(route.request.url)
        sent.append(offset)
        if offset == 4096 and not cut:
            cut.append(offset)
            route.abort("failed")
        else:
            route.continue_()

    page.route(CHUNKS, lose_one)
    choose_file(page)
    page.click("#up-start")
    expect_ingested(page)
    assert cut == [4096] and sent.count(4096) == 2  # the same bytes again, nothing skipped
    assert sent == sorted(sent) and sent[-1] == (len(CSV) - 1) // 2048 * 2048
    network_failures(console_errors)


def test_an_upload_survives_a_reload(page: Any, console_errors: list[str]) -> None:
    sign_in(page, "officer.gaj")
    rid = register_by_api(page, unique("刷新续传测试"))
    open_upload(page, rid, 2048)
    # The network goes away after two chunks: a few retries, then the page asks to resume.
    page.route(
        CHUNKS,
        lambda route: (
            route.abort("failed") if offset_of(route.request.url) >= 4096 else route.continue_()
        ),
    )
    choose_file(page)
    page.click("#up-start")
    expect(page.locator("#up-resume")).to_be_visible()
    expect(page.locator("#up-error")).to_contain_text("网络中断")
    saved = page.evaluate(f"JSON.parse(localStorage.getItem('yaosu.upload.{rid}'))")
    assert saved["name"] == "流动人口.csv" and saved["size"] == len(CSV)
    assert page.request.get(f"/api/v1/uploads/{saved['id']}").json()["received"] == 4096
    page.unroute(CHUNKS)
    network_failures(console_errors)

    # After a reload the page knows where it stopped; the same file carries on from there.
    page.reload()
    upload = page.locator("#res-upload")
    expect(upload).to_have_attribute("data-paused", "true")
    expect(upload).to_have_attribute("data-received", "4096")
    expect(page.locator("#up-status")).to_contain_text("流动人口.csv")
    percent = 4096 * 100 // len(CSV)
    expect(page.locator("#up-progress")).to_have_attribute("value", str(percent))
    page.evaluate("document.getElementById('res-upload').dataset.chunk = '2048'")
    sent: list[int] = []
    page.on("request", lambda r: sent.append(offset_of(r.url)) if CHUNKS.search(r.url) else None)
    choose_file(page)
    page.click("#up-start")
    expect_ingested(page)
    assert sent[0] == 4096
    # Once ingested, a reload starts afresh.
    page.reload()
    expect(upload).to_have_attribute("data-ready", "true")
    expect(page.locator("#up-progress")).to_have_attribute("value", "0")
    expect(page.locator("#res-jobs tr[data-status=succeeded]")).to_have_count(1)


def test_markup_in_a_name_is_shown_as_text(page: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, "officer.gaj", "/workspace/resources/new")
    page.fill("#f-code", "10101003")
    page.fill("#f-name", XSS)
    page.locator("#res-fields [name=field_name]").fill("sfzh")
    page.click("#res-save")
    expect(page).to_have_url(re.compile(r"/workspace/resources/\w+$"))
    expect(page.locator("#res-name")).to_have_text(XSS)
    expect(page.locator("#res-name img, #res-name script")).to_have_count(0)
    page.goto("/workspace/resources?status=draft")
    expect(page.locator("#res-list")).to_contain_text('<script>alert("x")</script>')
    expect(page.locator("#res-list img")).to_have_count(0)
    assert dialogs == []


def test_a_member_may_not_register(page: Any, console_errors: list[str]) -> None:
    sign_in(page, "member.wjw", "/workspace/resources")
    expect(page.locator("#res-list")).to_be_visible()
    expect(page.locator("#res-register")).to_have_count(0)
    response = page.goto("/workspace/resources/new")
    assert response is not None and response.status == 403
    expect(page.locator("[role=alert]")).to_contain_text("此操作需要以下角色之一")
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "yaosu_csrf")
    r = page.request.post(
        "/workspace/resources/new",
        form={"classification_code": "10101003", "name": "越权登记"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert r.status == 403 and 'role="alert"' in r.text()
    assert all("403" in e for e in console_errors), console_errors
    console_errors.clear()
