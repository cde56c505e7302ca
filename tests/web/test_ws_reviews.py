"""The review queues in headless Chromium on the live demo node: the reviewer works the four
queues (approves one request, rejects another with a reason, publishes a resource, admits an
operator), the insurance bureau approves as provider with narrowing, and a stale page meets an
already decided request. What the tests decide they first create through the API, so other tests
on the same node cannot take it from under them."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.fixtures.browser import expect_refusal, no_dialogs, sign_in
from tests.fixtures.identity import make_uscc
from tests.web.conftest import screenshot

PASSWORD = "yaosu-demo"
XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


class Api:
    """The node's API as the demo users, through the page's request context."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.tokens: dict[str, str] = {}

    def _token(self, username: str) -> str:
        r = self.page.request.post(
            "/api/v1/auth/token", form={"username": username, "password": PASSWORD}
        )
        assert r.status == 200, r.text()
        return str(r.json()["access_token"])

    def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            self.tokens[username] = self._token(username)
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def get(self, username: str, path: str) -> Any:
        r = self.page.request.get(path, headers=self.headers(username))
        assert r.status == 200, r.text()
        return r.json()

    def post(self, username: str | None, path: str, body: dict[str, Any]) -> Any:
        headers = self.headers(username) if username else {}
        r = self.page.request.post(path, data=body, headers=headers)
        assert r.status in (200, 201), r.text()
        return r.json()

    def resource(self, name: str) -> dict[str, Any]:
        found = self.get("reviewer", f"/api/v1/resources?q={name}&limit=50")["items"]
        return next(r for r in found if r["name"] == name)

    def share_request(
        self, username: str, resource_id: str, text: str, fields: list[str]
    ) -> dict[str, Any]:
        body = {
            "resource_id": resource_id,
            "fields": fields,
            "purpose": "public_safety",
            "purpose_text": text,
            "scenario": "流动人口服务",
            "legal_basis": "《政务数据共享条例》第十二条",
            "term_days": 365,
        }
        req = self.post(username, "/api/v1/share-requests", body)
        assert req["status"] == "provider_review", req
        return dict(req)

    def to_authority(self, text: str) -> str:
        """A request of 公安局 for the social-insurance data, approved by 人社局: it waits for
        the data authority."""
        insurance = self.resource("社会保险参保信息")
        req = self.share_request("officer.gaj", insurance["id"], text, ["sfzh", "xz", "cbzt"])
        decided = self.post(
            "officer.rsj", f"/api/v1/share-requests/{req['id']}/decision", {"approve": True}
        )
        assert decided["status"] == "authority_review"
        return str(req["id"])


def test_the_reviewer_works_the_four_queues(page: Page, console_errors: list[str]) -> None:
    api = Api(page)
    dialogs = no_dialogs(page)
    approve_id = api.to_authority("流动人口服务管理（审核通过）")
    reject_id = api.to_authority(f"用途待核实{XSS}")
    draft = api.post(
        "officer.gaj",
        "/api/v1/resources",
        {
            "name": "临时身份证明签发信息",
            "classification_code": "20301003",
            "summary": "临时身份证明的签发记录。",
            "format": "table",
            "fields": [
                {"name": "sfzh", "label_zh": "公民身份号码", "type": "string"},
                {"name": "qfrq", "label_zh": "签发日期", "type": "date"},
            ],
            "update_cycle": "daily",
            "share_attribute": "conditional",
            "share_conditions": "仅限依法履职需要",
            "share_method": "api",
            "open_attribute": "none",
        },
    )
    api.post("officer.gaj", f"/api/v1/resources/{draft['id']}/submit", {})
    admission = api.post(
        None,
        "/api/v1/admissions",
        {
            "org_name": "示范数据服务有限公司",
            "requested_kind": "operator",
            "uscc": make_uscc(),
            "statement": f"具备数据安全管理能力认证。{XSS}",
            "contact_username": "op.review.test",
            "contact_display_name": "联系人",
            "contact_password": "a-long-password",
        },
    )

    sign_in(page, "reviewer", "/workspace")
    page.click("[data-waiting='ws.dash.count_requests'] h3 a")
    expect(page).to_have_url(re.compile(r"/workspace/reviews\?tab=sharing$"))
    expect(page.locator("#rev-tabs a.active")).to_have_attribute("data-tab", "sharing")
    item = page.locator(f"#rev-req-{approve_id}")
    expect(item).to_be_visible()
    expect(item.locator(".rev-consumer")).to_have_text("示范市公安局")
    expect(item.locator(".rev-deadline time")).to_be_visible()
    expect(item.locator(".rev-decisions")).to_contain_text("提供单位审核")
    rejected = page.locator(f"#rev-req-{reject_id}")
    expect(rejected.locator(".rev-purpose-text")).to_contain_text("<script>alert(2)</script>")
    screenshot(page, "ws-reviews")

    waiting = int(page.locator("#rev-count-sharing").inner_text())
    # Approve, narrowed: withhold 险种, shorten the term, and release the resident ID unmasked
    # (sensitive: the authority may, as the legal basis names a regulation) — with a reason.
    item.locator("details.rev-narrow summary").click()
    item.locator(f"#rev-field-{approve_id}-xz").uncheck()
    item.locator(f"#rev-term-{approve_id}").fill("180")
    expect(item.locator(".rev-mask-row[data-field=sfzh]")).to_have_attribute("data-pi", "sensitive")
    expect(item.locator(".rev-law")).to_contain_text("《政务数据共享条例》")
    item.locator(f"#rev-mask-{approve_id}-sfzh").select_option("unmask")
    item.locator("button[type=submit]").click()
    expect(item.locator(".rev-out [role=alert]")).to_contain_text("理由")
    expect(item.locator("button[type=submit]")).to_be_enabled()
    expect_refusal(console_errors, 422)
    item.locator(f"#rev-unmask-{approve_id}-sfzh").fill("依法核验参保人身份")
    item.locator("button[type=submit]").click()
    done = page.locator(f"#rev-req-{approve_id}")
    expect(done).to_have_attribute("data-outcome", "approved")
    expect(done.locator(".rev-result")).to_contain_text("已批准")
    expect(done.locator("a.rev-grant")).to_be_visible()
    expect(page.locator("#rev-count-sharing")).to_have_text(str(waiting - 1))
    approved = api.get("reviewer", f"/api/v1/share-requests/{approve_id}")
    assert approved["narrowed"]["fields"] == ["sfzh", "cbzt"]
    assert approved["narrowed"]["term_days"] == 180 and approved["grant_id"]
    grant = api.get("reviewer", f"/api/v1/grants/{approved['grant_id']}")
    assert grant["unmasked"]["sfzh"]["reason"] == "依法核验参保人身份"

    # Reject: the reason is required, and the message says so; then with the reason.
    rejected.locator(f"#rev-reject-{reject_id}").check()
    rejected.locator("button[type=submit]").click()
    expect(rejected.locator(".rev-out [role=alert]")).to_contain_text("理由")
    expect(rejected.locator("button[type=submit]")).to_be_enabled()
    expect_refusal(console_errors, 422)
    rejected.locator(f"#rev-reason-{reject_id}").fill("用途说明不足，请补充具体业务场景")
    rejected.locator("button[type=submit]").click()
    expect(rejected).to_have_attribute("data-outcome", "rejected")
    expect(rejected.locator(".rev-result")).to_contain_text("用途说明不足")

    # Publish the submitted resource: its registration code is shown.
    page.click("#rev-tabs a[data-tab=catalog]")
    resource = page.locator(f"#rev-res-{draft['id']}")
    expect(resource.locator("[data-share]")).to_contain_text("有条件共享")
    expect(resource).to_contain_text("首次提交")
    resource.locator(".rev-publish button").click()
    expect(resource).to_have_attribute("data-outcome", "published")
    expect(resource.locator(".rev-result")).to_contain_text(re.compile(r"GZ\d{6}-\d{4}-\d{8}"))

    # Admit the operator; its statement is shown as text, never run.
    page.click("#rev-tabs a[data-tab=admissions]")
    adm = page.locator(f"#rev-adm-{admission['id']}")
    expect(adm.locator(".rev-statement")).to_contain_text('<img src=x onerror="alert(1)">')
    expect(adm.locator(".rev-uscc")).to_have_text(re.compile(r"^[0-9A-Z]{18}$"))
    adm.locator("button[type=submit]").click()
    expect(adm).to_have_attribute("data-outcome", "approved")
    page.click("#rev-tabs a[data-tab=open]")
    expect(page.locator("#rev-queue")).to_have_attribute("data-tab", "open")
    assert dialogs == []


def test_the_provider_approves_with_narrowing_and_other_units_are_refused(
    page: Page, console_errors: list[str]
) -> None:
    api = Api(page)
    insurance = api.resource("社会保险参保信息")
    req = api.share_request(
        "officer.mzj", insurance["id"], "困难群众参保核查", ["sfzh", "xz", "cbzt"]
    )

    # 公安局's officer works no provider queue for this request, and no authority queue at all.
    sign_in(page, "officer.gaj", "/workspace/reviews")
    expect(page.locator("#rev-tabs a[data-tab=provider]")).to_be_visible()
    expect(page.locator(f"#rev-req-{req['id']}")).to_have_count(0)
    response = page.goto("/workspace/reviews?tab=sharing")
    assert response is not None and response.status == 403
    expect(page.locator("[role=alert]")).to_be_visible()
    expect_refusal(console_errors, 403)
    page.context.clear_cookies()

    sign_in(page, "officer.rsj", "/workspace/reviews")
    expect(page.locator("#rev-tabs a.active")).to_have_attribute("data-tab", "provider")
    expect(page.locator("#rev-tabs a[data-tab=catalog]")).to_have_count(0)
    item = page.locator(f"#rev-req-{req['id']}")
    expect(item.locator(".rev-consumer")).to_have_text("示范市民政局")
    item.locator("details.rev-narrow summary").click()
    item.locator(f"#rev-field-{req['id']}-xz").uncheck()
    item.locator(f"#rev-term-{req['id']}").fill("90")
    item.locator(f"#rev-rows-{req['id']}").fill("2000")
    # The resident ID is sensitive: the provider cannot release it, only mask it more strongly.
    sfzh = item.locator(f"#rev-mask-{req['id']}-sfzh")
    expect(sfzh.locator("option[value=unmask]")).to_have_count(0)
    expect(item.locator(".rev-mask-row[data-field=sfzh] .rev-mask-locked")).to_be_visible()
    sfzh.select_option("pseudonymize")
    item.locator(f"#rev-reason-{req['id']}").fill("险种不属于核查所需")
    item.locator("button[type=submit]").click()
    expect(item).to_have_attribute("data-outcome", "authority_review")
    expect(item.locator(".rev-result")).to_contain_text("转数据主管部门审核")
    expect(item.locator(".rev-narrowed")).to_contain_text("90")
    moved = api.get("officer.rsj", f"/api/v1/share-requests/{req['id']}")
    assert moved["status"] == "authority_review"
    assert moved["narrowed"]["fields"] == ["sfzh", "cbzt"]
    assert moved["narrowed"]["term_days"] == 90 and moved["narrowed"]["rows_per_day"] == 2000
    assert moved["narrowed"]["masking"]["sfzh"] == {"op": "pseudonymize"}


def test_a_stale_page_meets_an_already_decided_request(
    page: Page, console_errors: list[str]
) -> None:
    api = Api(page)
    rid = api.to_authority("重复审核测试")
    sign_in(page, "reviewer", "/workspace/reviews?tab=sharing")
    stale = page.context.new_page()
    stale.on(
        "console",
        lambda msg: (
            console_errors.append(f"stale page: {msg.text}") if msg.type == "error" else None
        ),
    )
    stale.goto("/workspace/reviews?tab=sharing")
    form = page.locator(f"#rev-form-{rid}")
    assert form.get_attribute("hx-disabled-elt") == "find button[type=submit]"

    page.locator(f"#rev-form-{rid} button[type=submit]").click()
    expect(page.locator(f"#rev-req-{rid}")).to_have_attribute("data-outcome", "approved")

    # The other tab still shows the form: deciding there says it is already decided.
    old = stale.locator(f"#rev-req-{rid}")
    old.locator(f"#rev-reject-{rid}").check()
    old.locator(f"#rev-reason-{rid}").fill("迟到的驳回")
    old.locator("button[type=submit]").click()
    alert = old.locator(".rev-out [role=alert]")
    expect(alert).to_contain_text("已处理过")
    expect(alert).to_contain_text("已批准")
    expect_refusal(console_errors, 409)
    assert api.get("reviewer", f"/api/v1/share-requests/{rid}")["status"] == "approved"
    stale.close()
