"""The public portal in headless Chromium, against a live node with the demo city: search, facet,
open a dataset, preview, download and check the hash, switch language, post a demand, sign in
and apply for conditional data. Any console error fails the test (see conftest)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import screenshot

ELDERLY = "20102001/000001"  # 养老机构名录: 无条件开放, with data (demo city)
FIRMS = "10201001/000001"  # 企业登记基本信息: 有条件开放


def test_search_facet_dataset_preview_download_and_language(page: Any) -> None:
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("[data-figure=datasets]")).not_to_have_text("0")
    screenshot(page, "portal-home")

    page.fill("#home-q", "养老")
    page.click("form.search button")
    expect(page).to_have_url(re.compile(r"/datasets\?q="))
    expect(page.locator("#total")).to_contain_text("个数据集")
    cards = page.locator(".hits .card")
    expect(cards.first).to_be_visible()
    before = cards.count()

    # A facet narrows the results through htmx and lands in the address bar.
    page.locator("[data-facet=open_attribute] a").first.click()
    expect(page).to_have_url(re.compile(r"open_attribute="))
    expect(page.locator("[data-facet=open_attribute] a.active")).to_have_count(1)
    assert page.locator(".hits .card").count() <= before
    screenshot(page, "portal-search")

    page.goto(f"/datasets/{ELDERLY}")
    expect(page.locator("h1")).to_have_text("养老机构名录")
    expect(page.locator("#preview-table tbody tr").first).to_be_visible()
    # The rows describe places (描述对象: place): a care home's address is shown in full.
    expect(page.locator("#preview-table")).to_contain_text("街道")
    expect(page.locator("#preview-table")).not_to_contain_text("***")
    row = page.locator("#downloads-table tr[data-format=csv]")
    expect(row).to_be_visible()
    recorded = row.locator("code.hash").get_attribute("data-sha256")
    screenshot(page, "portal-dataset")

    with page.expect_download() as info:
        row.locator("a.button").click()
    path = info.value.path()
    assert path is not None
    with open(path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == recorded

    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#downloads-h")).to_have_text("Downloads")
    expect(page.locator("#preview-table tbody tr").first).to_be_visible()
    screenshot(page, "portal-dataset-en")
    page.goto("/")  # the choice is remembered
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def test_post_a_public_demand(page: Any) -> None:
    page.goto("/demands")
    title = "公交到站实时数据<script>window.hacked=1</script>"
    page.fill("#d-title", title)
    page.fill("#d-description", "希望开放公交车辆实时到站时间，便于出行。")
    page.fill("#d-contact", "13900001111")
    page.click("#demand-form button[type=submit]")
    expect(page.locator("#demand-thanks")).to_be_visible()
    assert page.evaluate("window.hacked") is None  # shown as text, never run
    page.reload()
    expect(page.locator("#demand-list")).to_contain_text("公交到站实时数据<script>")
    expect(page.locator("#demand-list")).not_to_contain_text("13900001111")
    screenshot(page, "portal-demands")


def test_sign_in_and_apply_for_conditional_data(page: Any) -> None:
    page.goto(f"/datasets/{FIRMS}")
    expect(page.locator("#apply-button")).to_be_visible()
    expect(page.locator("#downloads")).to_have_count(0)
    page.click("#apply-button")
    page.click("#apply-login")
    page.fill("#l-user", "fintech")
    page.fill("#l-pass", "yaosu-demo")
    page.click("#login-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/apply$"))
    expect(page.locator("#logout")).to_be_visible()
    page.select_option("#a-purpose", "commercial_use")
    page.fill("#a-purpose-text", "普惠金融授信风控模型，仅用于企业贷款审批。")
    page.check("#a-commitment")
    page.click("#apply-form button[type=submit]")
    done = page.locator("#apply-done")
    expect(done).to_be_visible()
    assert done.get_attribute("data-status") == "provider_review"
    screenshot(page, "portal-apply")
