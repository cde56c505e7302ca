"""Data protection in headless Chromium on the live demo node: the social-insurance bureau writes
a masking policy through the form for its data and downloads a masked export with it (the file
really is masked, and its hash is the one shown); the public-security bureau, whose population
data is important data and may not leave, runs a k-anonymity report on it instead."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from playwright.sync_api import Page, expect

from tests.fixtures.browser import sign_in
from tests.web.conftest import screenshot

PASSWORD = "yaosu-demo"


class Api:
    """The node's API as a demo user, through the page's request context."""

    def __init__(self, page: Page, username: str) -> None:
        r = page.request.post(
            "/api/v1/auth/token", form={"username": username, "password": PASSWORD}
        )
        assert r.status == 200, r.text()
        self.page = page
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}

    def get(self, path: str) -> Any:
        r = self.page.request.get(path, headers=self.headers)
        assert r.status == 200, r.text()
        return r.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        r = self.page.request.post(path, data=body, headers=self.headers)
        assert r.status == 200, r.text()
        return r.json()

    def resource(self, name: str) -> dict[str, Any]:
        found = self.get(f"/api/v1/resources?q={quote(name)}&limit=50")["items"]
        return dict(next(r for r in found if r["name"] == name))


def choose_rule(page: Page, n: int, column: str, op: str) -> None:
    """Pick a rule row's column and operation; htmx brings the operation's parameters."""
    page.select_option(f"#pro-rule-{n}-column", column)
    page.select_option(f"#pro-rule-{n}-op", op)
    expect(page.locator(f"#pro-rule-{n} .pro-param").first).to_be_visible()


def test_a_policy_written_in_the_browser_masks_the_export(
    page: Page, console_errors: list[str]
) -> None:
    api = Api(page, "officer.rsj")
    insurance = api.resource("社会保险参保信息")
    vid = insurance["current_version_id"]
    originals = api.get(f"/api/v1/dataset-versions/{vid}")
    sign_in(page, "officer.rsj", f"/workspace/resources/{insurance['id']}?tab=versions")
    page.click(f'tr[data-version="{vid}"] .pro-export-link')
    expect(page.locator("#pro-export-form")).to_be_visible()
    page.click("#pro-new-policy")
    expect(page.locator("#pro-policy-for")).to_be_visible()

    name = f"社保脱敏-{uuid.uuid4().hex[:6]}"
    page.fill("#pro-policy-name", name)
    page.fill("#pro-policy-description", "参保信息对外提供")
    choose_rule(page, 0, "sfzh", "mask")
    page.fill("#pro-rule-0-keep_first", "4")
    page.fill("#pro-rule-0-keep_last", "2")
    choose_rule(page, 1, "jfjs", "generalize")
    page.select_option("#pro-rule-1-kind", "number_band")
    page.fill("#pro-rule-1-width", "1000")
    page.click("#pro-rule-add")
    expect(page.locator("#pro-rule-3")).to_be_visible()
    expect(page.locator("#pro-rule-add")).to_have_attribute("hx-get", re.compile(r"n=4"))
    choose_rule(page, 3, "cbzt", "suppress")
    page.select_option("#pro-rule-3-drop", "true")
    page.locator("#pro-rule-2 .pro-rule-remove").click()  # the blank row is not needed
    expect(page.locator("#pro-rule-2")).to_have_count(0)
    page.click("#pro-policy-submit")

    # Back on the export page, the new policy chosen and told in words.
    page.wait_for_url(re.compile(rf"/workspace/versions/{vid}/export\?policy="))
    chosen = page.locator(f'input[name=policy][data-name="{name}"]')
    expect(chosen).to_be_checked()
    choice = page.locator(".pro-choice", has=chosen)
    expect(choice).to_contain_text("掩码：保留前 4 位、后 2 位")
    expect(choice).to_contain_text("数值泛化为宽 1000 的区间")
    expect(choice).to_contain_text("从结果中删除该列")
    page.select_option("#pro-export-format", "csv")
    screenshot(page, "ws-masked-export")
    with page.expect_download() as info:
        page.click("#pro-export-submit")
    download = info.value
    assert download.suggested_filename.endswith("-masked.csv")
    body = Path(download.path()).read_bytes()
    done = page.locator("#pro-export-done")
    expect(done).to_contain_text(hashlib.sha256(body).hexdigest())
    expect(done).to_contain_text("1,500")

    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert len(rows) == originals["rows"] == 1500
    assert "cbzt" not in rows[0]  # dropped
    for row in rows[:50]:
        assert re.fullmatch(r"\d{4}\*{12}[0-9X]{2}", row["sfzh"]), row
        assert re.fullmatch(r"\d+000-\d+999", row["jfjs"]), row
        assert row["xz"] in ("养老", "失业", "工伤")  # not in the policy: unchanged
    # The export is in the version's ledger trail.
    trail = api.get(f"/api/v1/ledger/trail/{vid}?limit=100")
    assert "classification.masked_export" in [e["type"] for e in trail["items"]]
    assert not console_errors


def test_a_k_anonymity_report_on_important_data(page: Page, console_errors: list[str]) -> None:
    api = Api(page, "officer.gaj")
    people = api.resource("常住人口基本信息")
    vid = people["current_version_id"]
    quasi = ["xb", "csrq", "qh"]
    expected = api.post(
        f"/api/v1/dataset-versions/{vid}/k-anonymity", {"quasi_identifiers": quasi, "k": 5}
    )
    sign_in(page, "officer.gaj", f"/workspace/versions/{vid}/export")
    # The population data is important data: its rows do not leave, masked or not.
    expect(page.locator("#pro-export-refused")).to_contain_text("重要数据")
    expect(page.locator("#pro-export-form")).to_have_count(0)
    page.click(f'a[href="/workspace/versions/{vid}/k-anonymity"]')
    expect(page.locator("#pro-kanon-form")).to_be_visible()
    for column in quasi:
        page.check(f'#pro-kanon-quasi input[data-column="{column}"]')
    page.fill("#pro-kanon-k", "5")
    page.select_option("#pro-kanon-policy", "default")
    page.click("#pro-kanon-submit")

    result = page.locator("#pro-kanon-result")
    expect(result).to_be_visible()
    expect(result).to_have_attribute("data-k", "5")
    before = expected["before"]
    expect(page.locator('tr[data-figure="rows"] td').first).to_have_attribute(
        "data-value", str(before["rows"])
    )
    expect(page.locator('tr[data-figure="smallest_class"] td').first).to_have_attribute(
        "data-value", str(before["smallest_class"])
    )
    expect(page.locator('tr[data-figure="records_below_k"] td').first).to_have_attribute(
        "data-value", str(before["records_below_k"])
    )
    expect(page.locator('tr[data-figure="rows"] td')).to_have_count(2)  # before and after
    words = page.locator("#pro-kanon-words-before")
    expect(words).to_contain_text(f"{before['rows']:,} 条记录分为 {before['classes']:,} 个等价类")
    if before["records_below_k"]:
        expect(words).to_contain_text("存在被重新识别的风险")
    verdict = "满足 5-匿名" if result.get_attribute("data-satisfied") == "true" else "不满足 5-匿名"
    expect(page.locator("#pro-kanon-verdict")).to_contain_text(verdict)
    screenshot(page, "ws-k-anonymity")
    assert not console_errors
