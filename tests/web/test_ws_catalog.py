"""The catalog's workflows in headless Chromium on the live demo node: 民政局 posts a demand to
公安局, 公安局 answers it with one of its published resources and 民政局 closes it; the data
authority's reviewer reads the census (counts, charts, the ledger export) and runs the
acceptance check of an information system. Screenshots: ws-demand, ws-census."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from tests.fixtures.browser import no_dialogs, sign_in
from tests.web.conftest import screenshot

PASSWORD = "yaosu-demo"
XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def test_a_demand_is_posted_answered_by_the_provider_and_closed(page: Page) -> None:
    dialogs = no_dialogs(page)
    title = f"养老服务对象户籍核验 {time.time_ns()} {XSS}"

    sign_in(page, "officer.mzj", "/workspace/demands")
    expect(page.locator(".ws-nav a.active")).to_have_attribute("href", "/workspace/demands")
    page.fill("#cat-d-title", title)
    page.fill("#cat-d-description", "核验养老服务对象的户籍和居住地。")
    page.fill("#cat-d-scenario", "高效办成一件事")
    page.fill("#cat-d-fields", "sfzh、xm、zz")
    page.select_option("#cat-d-provider", label="示范市公安局")
    page.click("#cat-d-submit")
    expect(page).to_have_url(re.compile(r"/workspace/demands/\w+$"))
    demand_url = urlsplit(page.url).path
    expect(page.locator("#cat-demand-title")).to_have_text(title)
    expect(page.locator("#cat-demand-status")).to_have_attribute("data-status", "open")
    expect(page.locator("#cat-demand-requester")).to_have_text("示范市民政局")
    expect(page.locator("#cat-answer-form")).to_have_count(0)

    # 公安局's officer answers with one of its published resources.
    sign_in(page, "officer.gaj", demand_url)
    form = page.locator("#cat-answer-form")
    expect(form).to_be_visible()
    page.select_option("#cat-a-decision", "link")
    page.select_option("#cat-a-resource", index=1)
    linked = page.locator("#cat-a-resource option:checked").inner_text()
    page.click("#cat-a-submit")
    expect(page.locator("#cat-demand-done")).to_be_visible()
    expect(page.locator("#cat-demand-status")).to_have_attribute("data-status", "answered")
    answer = page.locator("#cat-demand-answers li")
    expect(answer).to_have_count(1)
    expect(answer).to_have_attribute("data-decision", "linked")
    expect(answer).to_contain_text(linked.split(" (")[0])
    expect(page.locator("#cat-demand-close")).to_have_count(0)  # not the requester

    # 民政局 closes it; the list shows it closed.
    sign_in(page, "officer.mzj", demand_url)
    expect(page.locator("#cat-demand-answers li")).to_have_count(1)
    screenshot(page, "ws-demand")
    page.click("#cat-demand-close")
    expect(page.locator("#cat-demand-status")).to_have_attribute("data-status", "closed")
    expect(page.locator("#cat-demand-done")).to_contain_text("需求已关闭")
    expect(page.locator("#cat-demand-close")).to_have_count(0)
    page.goto("/workspace/demands?status=closed")
    row = page.locator("#cat-demand-list tr", has_text=title)
    expect(row).to_have_attribute("data-status", "closed")
    assert dialogs == []


def test_the_reviewer_reads_the_census_and_checks_acceptance(page: Page) -> None:
    sign_in(page, "reviewer", "/workspace/census")
    expect(page.locator(".ws-nav a.active")).to_have_attribute("href", "/workspace/census")
    total = int(page.locator("[data-figure=total]").inner_text().replace(",", ""))
    assert total >= 33  # the demo city's catalog, and what other tests added
    assert int(page.locator("[data-figure=ingested]").inner_text()) >= 7
    published = page.locator("#cat-t-status tr", has_text="已发布").locator("[data-count]")
    assert int(published.get_attribute("data-count") or 0) > 0
    expect(page.locator("#cat-t-unit")).to_contain_text("示范市公安局")
    for chart in ("cat-by-status", "cat-by-unit"):
        expect(page.locator(f"#{chart}")).to_have_attribute("data-rendered", "true")
        expect(page.locator(f"#{chart} canvas").first).to_be_visible()
    screenshot(page, "ws-census")
    with page.expect_download() as info:
        page.click("#cat-export-csv")
    with open(info.value.path(), encoding="utf-8-sig") as f:
        assert f.readline().startswith("资源代码,资源名称,提供单位")

    # One unit's census.
    gaj = page.locator("#cat-census-org option", has_text=re.compile(r"^示范市公安局 \("))
    page.select_option("#cat-census-org", value=gaj.get_attribute("value"))
    page.click("#cat-census-filter button[type=submit]")
    expect(page.locator("#cat-census-scope")).to_contain_text("示范市公安局")
    assert int(page.locator("[data-figure=total]").inner_text()) < total

    # The acceptance check of the population system: each criterion, pass or fail.
    page.click("#cat-census-tabs a[data-tab=acceptance]")
    expect(page.locator("#cat-acceptance-form")).to_be_visible()
    page.fill("#cat-a-system", "人口综合信息系统")
    page.click("#cat-a-check")
    result = page.locator("#cat-acceptance")
    expect(result).to_be_visible()
    rows = page.locator("#cat-acceptance-table tbody tr")
    assert rows.count() >= 1
    expect(rows.first.locator("[data-criterion=catalogued]")).to_be_visible()
    verdict = result.get_attribute("data-passed")
    failing = page.locator("#cat-acceptance-table tr[data-ok=false]").count()
    assert (verdict == "true") == (failing == 0)
    page.fill("#cat-a-system", "不存在的系统")
    page.click("#cat-a-check")
    expect(page.locator("#cat-acceptance")).to_have_attribute("data-passed", "false")
    expect(page.locator("#cat-acceptance-none")).to_contain_text("不存在的系统")


def test_pulls_are_run_polled_retried_scheduled_and_the_resource_retired(
    page: Page, console_errors: list[str]
) -> None:
    token = page.request.post(
        "/api/v1/auth/token", form={"username": "officer.gaj", "password": PASSWORD}
    ).json()["access_token"]
    made = page.request.post(
        "/api/v1/resources",
        headers={"Authorization": f"Bearer {token}"},
        data={"name": f"卡口过车记录 {time.time_ns()}", "classification_code": "20301009"},
    )
    assert made.status == 201, made.text()
    rid = made.json()["id"]

    sign_in(page, "officer.gaj", f"/workspace/resources/{rid}")
    page.click("#cat-pulls-link")
    expect(page).to_have_url(re.compile(rf"/workspace/resources/{rid}/pulls$"))
    # Nothing listens on port 9: the job fails on the worker; the page polls until it has.
    page.select_option("#cat-p-kind", "http")
    page.fill("#cat-p-url", "http://kakou.example:9/kakou.csv")
    page.click("#cat-p-submit")
    expect(page.locator("#cat-pull-done")).to_be_visible()
    failed = page.locator("#cat-job-table tr[data-status=failed]")
    expect(failed).to_have_count(1, timeout=30_000)
    expect(failed.locator(".cat-error")).to_contain_text("kakou.csv")
    failed.locator("button[data-retry]").click()
    expect(page.locator("#cat-pull-done")).to_contain_text("已重新执行")
    # The old job is marked retried (it cannot be retried twice); the new one fails in turn.
    retried = page.locator("#cat-job-table tr[data-status=retried]")
    expect(retried).to_have_count(1)
    expect(retried).to_contain_text("已重试")
    expect(retried.locator("button[data-retry]")).to_have_count(0)
    expect(page.locator("#cat-job-table tbody tr")).to_have_count(2)
    expect(failed).to_have_count(1, timeout=30_000)
    # A database on a schedule: its password never comes back into the page.
    page.select_option("#cat-p-kind", "sql")
    page.fill("#cat-p-url", "postgresql+psycopg://etl:s3cret-pw@db.kakou.example/kakou")
    page.fill("#cat-p-table", "guoche")
    page.fill("#cat-p-cron", "0 2 * * *")
    page.click("#cat-p-submit")
    expect(page.locator("#cat-schedule-table tr[data-schedule]")).to_have_count(1)
    expect(page.locator("#cat-schedule-table")).to_contain_text("etl:***@db.kakou.example")
    # After each pull the form is fresh again: the address with its password is gone.
    expect(page.locator("#cat-p-url")).to_have_value("")
    assert "s3cret-pw" not in page.content()
    # A bad cron expression: a clear message, in the page language.
    page.select_option("#cat-p-kind", "http")
    page.fill("#cat-p-url", "https://data.example.cn/kakou.csv")
    page.fill("#cat-p-cron", "每天")
    page.click("#cat-p-submit")
    expect(page.locator("#cat-pull-out [role=alert]")).to_contain_text("无效的 cron 表达式")
    assert console_errors and all("status of 422" in e for e in console_errors), console_errors
    console_errors.clear()
    expect(page.locator("#cat-schedule-table tr[data-schedule]")).to_have_count(1)
    screenshot(page, "ws-pulls")

    # The data authority retires it from the resource page, with a reason.
    sign_in(page, "reviewer", f"/workspace/resources/{rid}")
    page.click("#cat-retire summary")
    page.fill("#cat-retire-reason", "重复登记")
    page.click("#cat-retire-submit")
    expect(page.locator("#cat-retired")).to_contain_text("重复登记")
    expect(page.locator("#res-status")).to_have_attribute("data-status", "retired")
