"""Every journey of the demo city completes, in headless Chromium on the live demo node, each
step by the demo account whose work it is and through the pages (issue 15, item 5):

- the conditional-open application: an enterprise applies on the portal, the provider's data
  officer and the data authority approve it, and the grant serves rows;
- a share request to each providing unit, filed by a district and decided by that unit's data
  officer (and the authority) where the rules ask for a review, ending with a grant;
- every workspace queue the demo leaves work in, carried to its end: the draft and its
  classification, the publication, the staged version, the admission, the share requests
  waiting for the provider and for the authority, the unit's demand, the public demand, the
  reuse and the overdue responsibility.

The API is used only to find what to act on and to check the end state."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from tests.fixtures.browser import DEMO_PASSWORD, expect_refusal, sign_in

CONSUMER = "officer.dc"  # 示范市东城区 files the share requests


class Api:
    """The node's API as the demo accounts (tokens kept per account), through the page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.tokens: dict[str, str] = {}

    def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            r = self.page.request.post(
                "/api/v1/auth/token", form={"username": username, "password": DEMO_PASSWORD}
            )
            assert r.status == 200, r.text()
            self.tokens[username] = str(r.json()["access_token"])
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def get(self, username: str | None, path: str) -> Any:
        r = self.page.request.get(path, headers=self.headers(username) if username else {})
        assert r.status == 200, (path, r.text())
        return r.json()

    def resources(self) -> list[dict[str, Any]]:
        return list(self.get("reviewer", "/api/v1/resources?limit=200")["items"])

    def resource(self, name: str) -> dict[str, Any]:
        return next(r for r in self.resources() if r["name"] == name)

    def officers(self) -> dict[str, str]:
        """Each unit's data officer: organization id → username."""
        users = self.get("reviewer", "/api/v1/users?limit=200")["items"]
        return {
            u["org_id"]: u["username"]
            for u in sorted(users, key=lambda u: u["username"])
            if "data_officer" in u["roles"] and u["is_active"]
        }

    def request(self, request_id: str) -> dict[str, Any]:
        return dict(self.get("reviewer", f"/api/v1/share-requests/{request_id}"))


def decide(page: Page, anchor: str, outcome: str | re.Pattern[str]) -> None:
    """Approve the queue item ``anchor`` (a request or an admission) and wait for its outcome."""
    item = page.locator(f"#{anchor}")
    item.locator("button[type=submit]").click()
    expect(page.locator(f"#{anchor}[data-outcome]")).to_have_attribute("data-outcome", outcome)


def test_the_conditional_open_application_ends_in_a_grant_that_serves_rows(page: Page) -> None:
    api = Api(page)
    firms = api.resource("企业登记基本信息")
    waiting = next(
        r
        for r in api.get("reviewer", "/api/v1/share-requests?status=authority_review&limit=100")[
            "items"
        ]
        if r["channel"] == "open"
    )

    # The enterprise applies on the portal.
    sign_in(page, "fintech")
    page.goto(f"/datasets/{firms['id']}/apply")
    page.fill("#a-purpose-text", "小微企业经营状况核验，用于普惠信贷审批")
    page.fill("#a-scenario", "普惠金融")
    page.check("#a-commitment")
    page.click("#apply-form button[type=submit]")
    done = page.locator("#apply-done")
    expect(done).to_have_attribute("data-status", "provider_review")
    application = str(done.get_attribute("data-request"))

    # The market regulator's data officer approves it as the provider.
    sign_in(page, "officer.scj", "/workspace/reviews?tab=provider")
    decide(page, f"rev-req-{application}", "authority_review")

    # The data authority approves it, and the application the demo left waiting for it.
    sign_in(page, "reviewer", "/workspace/reviews?tab=open")
    before = int(page.locator("#rev-count-open").inner_text())
    for request_id in (application, waiting["id"]):
        decide(page, f"rev-req-{request_id}", "approved")
        expect(page.locator(f"#rev-req-{request_id} a.rev-grant")).to_be_visible()
    expect(page.locator("#rev-count-open")).to_have_text(str(before - 2))

    # The enterprise sees its grant and the data service serves the granted fields.
    grant = api.request(application)["grant_id"]
    sign_in(page, "fintech", f"/workspace/sharing/grants/{grant}")
    expect(page.locator("h1")).to_contain_text("企业登记基本信息")
    rows = api.get("fintech", f"/api/v1/services/{grant}/rows?limit=5&format=json")
    assert len(rows["rows"] if isinstance(rows, dict) else rows) == 5


def test_the_draft_staged_version_admission_and_classification_queues_end(
    page: Page, console_errors: list[str]
) -> None:
    api = Api(page)

    # The data authority's officer reviews the draft catalog's classification and submits it;
    # a reviewer publishes it.
    catalog = api.resource("公共数据资源目录")
    sign_in(page, "officer.dsj", "/workspace")
    page.click("[data-waiting='ws.dash.count_drafts'] li a")
    expect(page).to_have_url(re.compile(rf"/workspace/resources/{catalog['id']}$"))
    page.goto(f"/workspace/resources/{catalog['id']}?tab=classification")
    page.click("#cls-grade-accept button")
    expect(page.locator("#cls-grade")).to_have_attribute("data-status", "accepted")
    page.goto(f"/workspace/resources/{catalog['id']}")
    page.click("#res-submit button")
    expect(page.locator("#res-status")).to_have_attribute("data-status", "submitted")

    sign_in(page, "reviewer", "/workspace/reviews?tab=catalog")
    page.locator(f"#rev-res-{catalog['id']} .rev-publish button").click()
    expect(page.locator(f"#rev-res-{catalog['id']}[data-outcome]")).to_have_attribute(
        "data-outcome", "published"
    )
    listed = api.get(None, f"/api/v1/open/datasets/{catalog['id']}")
    assert listed["rows"] and listed["downloadable"], listed

    # The staged version of the economic indicators: the reviewer accepts it.
    page.goto("/workspace/reviews?tab=versions")
    indicators = api.resource("国民经济主要指标")
    item = page.locator(f"article[data-resource='{indicators['id']}']").first
    version = str(item.get_attribute("data-version"))
    item.locator("a.button").click()
    page.fill(f"#res-accept-note-{version}", "新增计量单位列，已核对")
    page.click(f"#res-accept-{version} button")
    expect(
        page.locator(f"#res-versions tr[data-version='{version}'] .res-ver-state")
    ).to_have_attribute("data-state", "accepted")
    assert api.resource("国民经济主要指标")["current_version_id"] == version

    # The applicant for admission: refused while pending, admitted by the reviewer, then in.
    sign_in(page, "applicant", "/workspace/reviews?tab=admissions")
    expect(page.locator("main [role=alert]")).to_contain_text(re.compile("待准入|pending"))
    expect_refusal(console_errors, 403)
    sign_in(page, "reviewer", "/workspace/reviews?tab=admissions")
    pending = page.locator("article[data-kind=admission]", has_text="示范数据合规评估有限公司")
    decide(page, str(pending.get_attribute("id")), "approved")
    sign_in(page, "applicant", "/workspace")
    expect(page.locator(".ws-nav")).to_be_visible()

    # The transport bureau's data officer reviews every proposed classification of its unit.
    sign_in(page, "officer.jtj", "/workspace")
    proposals = page.locator("[data-waiting='ws.dash.count_classification'] li a")
    hrefs = [str(a.get_attribute("href")) for a in proposals.all()]
    assert len(hrefs) == 2, hrefs
    for href in hrefs:
        page.goto(href)
        page.click("#cls-grade-accept button")
        expect(page.locator("#cls-grade")).to_have_attribute("data-status", "accepted")
    page.goto("/workspace")
    expect(
        page.locator("[data-waiting='ws.dash.count_classification'] [data-count]")
    ).to_have_attribute("data-count", "0")


def test_the_demand_reuse_and_responsibility_queues_end(page: Page) -> None:
    api = Api(page)

    # 东城区's demand to the public security bureau: answered with a resource, then closed.
    sign_in(page, "officer.gaj", "/workspace/demands?status=open")
    page.locator("#cat-demand-list tr", has_text="辖区户籍迁入迁出数据").locator("a").first.click()
    expect(page.locator("#cat-demand-status")).to_have_attribute("data-status", "open")
    demand_path = urlsplit(page.url).path
    page.select_option("#cat-a-decision", "link")
    option = page.locator("#cat-a-resource option", has_text="户籍迁移登记信息")
    page.select_option("#cat-a-resource", str(option.get_attribute("value")))
    page.click("#cat-a-submit")
    expect(page.locator("#cat-demand-status")).to_have_attribute("data-status", "answered")
    sign_in(page, "officer.dc", demand_path)
    page.click("#cat-demand-close")
    expect(page.locator("#cat-demand-status")).to_have_attribute("data-status", "closed")

    # The public demand for bus stops: the transport bureau answers with its open dataset.
    stops = api.resource("公交站点信息")
    sign_in(page, "officer.jtj", "/workspace/open")
    demand = page.locator("article[data-kind=demand]", has_text="公交站点及线路数据")
    demand.locator("textarea[name=answer]").fill("已开放全市公交站点和线路，按月更新。")
    demand.locator("input[name=dataset]").fill(stops["code"])
    demand.locator("button[type=submit]").click()
    expect(
        page.locator("article[data-outcome=answered]", has_text="公交站点及线路数据")
    ).to_be_visible()

    # The reuse the public submitted: the reviewer shows it, and the portal lists it.
    sign_in(page, "reviewer", "/workspace/open?tab=reuses")
    reuse = page.locator("article[data-kind=reuse]", has_text="示范市养老机构地图")
    reuse.locator("button[type=submit]").click()
    expect(
        page.locator("article[data-outcome=shown]", has_text="示范市养老机构地图")
    ).to_be_visible()
    page.goto("/reuses")
    expect(page.locator("main")).to_contain_text("示范市养老机构地图")

    # The overdue responsibility of the human-resources bureau: linked to its resource.
    target = api.resource("就业失业登记信息")
    sign_in(page, "officer.rsj", "/workspace/responsibilities")
    row = page.locator("#duty-table tr[data-item]", has_text="就业登记信息")
    item = str(row.get_attribute("data-item"))
    page.select_option(f"#duty-res-{item}", target["id"])
    page.click(f"#duty-link-submit-{item}")
    expect(page.locator(f"#duty-table tr[data-item='{item}']")).to_have_attribute(
        "data-fulfilled", "true"
    )


def _choice(resources: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The resource of a unit to ask for: one its data officer reviews (有条件共享) if the unit
    has one the rules let through, else one shared without conditions (approved at once)."""
    usable = [
        r
        for r in resources
        if r["status"] == "published"
        and r["share_attribute"] != "none"
        and r["grade"] not in ("important", "core")
    ]
    usable.sort(key=lambda r: (r["share_attribute"] != "conditional", r["code"]))
    return usable[0] if usable else None


def test_a_share_request_to_each_provider_ends_in_a_grant(page: Page) -> None:
    api = Api(page)
    officers = api.officers()
    me = api.get(CONSUMER, "/api/v1/auth/me")["org_id"]
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for r in api.resources():
        by_unit.setdefault(r["provider_id"], []).append(r)
    by_unit.pop(me, None)
    assert set(by_unit) <= set(officers), "every providing unit has a data officer"

    # 东城区 files one request to every providing unit, through the form.
    sign_in(page, CONSUMER, "/workspace/sharing")
    filed: dict[str, str] = {}  # request id → provider unit
    for unit, resources in sorted(by_unit.items()):
        resource = _choice(resources)
        if resource is None:
            continue
        page.goto(f"/workspace/sharing/new?resource={resource['id']}")
        page.locator("#shr-fields input[name=fields]").first.check()
        page.fill("#shr-purpose-text", f"东城区网格化服务管理核验（{resource['name']}）")
        page.fill("#shr-basis", "《政务数据共享条例》第十二条")
        page.click("#shr-submit")
        out = page.locator("#shr-filed")
        expect(out).to_have_attribute("data-status", re.compile("approved|provider_review"))
        filed[str(out.get_attribute("data-request"))] = unit
    assert len(set(filed.values())) == len(by_unit) >= 15

    # Each provider's data officer approves what waits for the unit (the demo's waiting
    # request to 人社局 included).
    insurance = api.resource("社会保险参保信息")
    demo_waiting = [
        r["id"]
        for r in api.get("reviewer", "/api/v1/share-requests?status=provider_review&limit=100")[
            "items"
        ]
        if r["resource_id"] == insurance["id"]
    ]
    reviewing = {
        rid: unit for rid, unit in filed.items() if api.request(rid)["status"] == "provider_review"
    }
    reviewing.update({rid: insurance["provider_id"] for rid in demo_waiting})
    assert reviewing, "some units review their requests themselves"
    for unit in sorted(set(reviewing.values())):
        sign_in(page, officers[unit], "/workspace/reviews?tab=provider")
        for rid in sorted(r for r, u in reviewing.items() if u == unit):
            decide(page, f"rev-req-{rid}", re.compile("authority_review|approved"))

    # The data authority decides everything now waiting for it in the sharing queue.
    sign_in(page, "reviewer", "/workspace/reviews?tab=sharing")
    authority = [
        r["id"]
        for r in api.get("reviewer", "/api/v1/share-requests?status=authority_review&limit=100")[
            "items"
        ]
        if r["channel"] == "sharing"
    ]
    for rid in authority:
        decide(page, f"rev-req-{rid}", "approved")
    expect(page.locator("#rev-count-sharing")).to_have_text("0")

    for rid in [*filed, *demo_waiting]:
        ended = api.request(rid)
        assert ended["status"] == "approved" and ended["grant_id"], ended
    # The consumer's dashboard has nothing left waiting on others.
    sign_in(page, CONSUMER, "/workspace")
    expect(page.locator("[data-waiting='ws.dash.count_my_requests']")).to_have_count(0)
