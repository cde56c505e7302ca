"""The trail tab in headless Chromium against the live demo node: the browser itself verifies the
checkpoint's Ed25519 signature, each entry's leaf hash and its RFC 9162 inclusion proof, and
shows ✗ when a response is altered in flight (entry bytes, a proof hash, the checkpoint)."""

from __future__ import annotations

import base64
import json
import random
import re
from typing import Any

from playwright.sync_api import Page, Route, expect

from tests.fixtures.browser import sign_in
from tests.web.conftest import screenshot
from yaosu.ledger import merkle

SOCIAL_INSURANCE = "社会保险参保信息"  # a demo resource with requests, grants and a refusal


def resource_id(page: Page, name: str) -> str:
    found = page.request.get("/api/v1/resources", params={"q": name, "limit": 50}).json()
    return next(r["id"] for r in found["items"] if r["name"] == name)


def open_trail(page: Page, subject: str = SOCIAL_INSURANCE) -> str:
    sign_in(page, "reviewer", "/workspace")
    rid = resource_id(page, subject)
    page.goto(f"/workspace/trail/{rid}")
    expect(page.locator("[data-trail] tr[data-entry]").first).to_be_visible()
    return rid


def verify(page: Page) -> None:
    page.locator("[data-trail-verify]").click()
    expect(page.locator("[data-trail]")).to_have_attribute("data-verified", re.compile("ok|bad"))


def test_every_entry_verifies_in_the_browser(page: Page) -> None:
    open_trail(page)
    rows = page.locator("tr[data-entry]")
    n = rows.count()
    assert n >= 10
    verify(page)
    expect(page.locator("[data-trail]")).to_have_attribute("data-verified", "ok")
    expect(page.locator("[data-trail-result]")).to_contain_text(f"全部 {n} 条已验证")
    expect(page.locator('tr[data-verified="ok"]')).to_have_count(n)
    for step in ("signature", "entry", "root"):
        expect(page.locator(f'li[data-step="{step}"][data-ok="true"]')).to_have_count(n)
    key_id = page.locator("[data-trail-key-id]").inner_text()
    first = rows.first.locator("[data-check]")
    expect(first).to_contain_text(f"密钥 ID {key_id}")
    expect(first).to_contain_text("叶哈希")
    expect(first).to_contain_text(re.compile(r"包含证明 \d+ 个哈希"))
    expect(page.locator("[data-trail-checkpoint]")).to_contain_text("树大小")
    screenshot(page, "ws-trail")

    # The leaf hash shown is SHA-256(0x00 ‖ the entry's bytes), as the offline verifier has it.
    index = rows.first.get_attribute("data-entry")
    entry = page.request.get(f"/api/v1/ledger/entries/{index}").body()
    shown = first.locator('li[data-step="leaf"]').get_attribute("title")
    assert shown == merkle.leaf_hash(entry).hex()


def _flip(b64: str) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[0] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_altered_entry_bytes_and_proof_hashes_fail(page: Page) -> None:
    open_trail(page)
    rows = page.locator("tr[data-entry]")
    entry_idx = rows.nth(0).get_attribute("data-entry")
    proof_idx = rows.nth(2).get_attribute("data-entry")

    def alter_entry(route: Route) -> None:
        # Same type, time and subjects, another payload digest: the row still matches, the
        # leaf does not.
        response = route.fetch()
        body = re.sub(
            rb'"payload_sha256":"(.)',
            lambda m: b'"payload_sha256":"' + (b"0" if m.group(1) != b"0" else b"1"),
            response.body(),
            count=1,
        )
        route.fulfill(response=response, body=body)

    def alter_proof(route: Route) -> None:
        response = route.fetch()
        data = response.json()
        data["proof"][0] = _flip(data["proof"][0])
        route.fulfill(response=response, body=json.dumps(data))

    page.route(f"**/api/v1/ledger/entries/{entry_idx}", alter_entry)
    page.route(re.compile(rf"/api/v1/ledger/proof/inclusion\?index={proof_idx}&"), alter_proof)
    verify(page)
    expect(page.locator("[data-trail]")).to_have_attribute("data-verified", "bad")
    expect(page.locator("[data-trail-result]")).to_contain_text("2 / ")
    for idx in (entry_idx, proof_idx):
        row = page.locator(f'tr[data-entry="{idx}"]')
        expect(row).to_have_attribute("data-verified", "bad")
        expect(row.locator('li[data-step="root"]')).to_have_attribute("data-ok", "false")
        expect(row.locator('li[data-step="root"]')).to_contain_text("✗ 根哈希不一致")
        expect(row.locator('li[data-step="signature"]')).to_have_attribute("data-ok", "true")
    expect(page.locator('tr[data-verified="bad"]')).to_have_count(2)
    expect(page.locator('tr[data-verified="ok"]')).to_have_count(rows.count() - 2)

    # Entry bytes that no longer match their row are called out as well.
    page.unroute_all()

    def other_type(route: Route) -> None:
        response = route.fetch()
        body = re.sub(rb'"type":"[a-z_.]+"', b'"type":"catalog.resource_retired"', response.body())
        route.fulfill(response=response, body=body)

    page.route(f"**/api/v1/ledger/entries/{entry_idx}", other_type)
    verify(page)
    row = page.locator(f'tr[data-entry="{entry_idx}"]')
    expect(row.locator('li[data-step="entry"]')).to_have_attribute("data-ok", "false")
    expect(page.locator('tr[data-verified="bad"]')).to_have_count(1)


def test_a_forged_or_foreign_checkpoint_fails(page: Page) -> None:
    open_trail(page)
    n = page.locator("tr[data-entry]").count()

    def forged_root(route: Route) -> None:
        response = route.fetch()
        lines = response.text().split("\n")
        lines[2] = base64.b64encode(bytes(32)).decode()  # the signed root, replaced
        route.fulfill(response=response, body="\n".join(lines))

    page.route("**/api/v1/ledger/checkpoint", forged_root)
    verify(page)
    expect(page.locator("[data-trail]")).to_have_attribute("data-verified", "bad")
    expect(page.locator("[data-trail-result]")).to_contain_text("检查点签名无效")
    expect(page.locator('li[data-step="signature"][data-ok="false"]')).to_have_count(n)

    def foreign_signer(route: Route) -> None:
        # Signed by some other key: the pinned key is the only one accepted.
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace("— ", "— other/", 1))

    page.unroute_all()
    page.route("**/api/v1/ledger/checkpoint", foreign_signer)
    verify(page)
    expect(page.locator("[data-trail-result]")).to_contain_text("没有固定公钥的签名")

    page.unroute_all()
    page.locator("[data-trail-verify]").click()  # "verify again", now untouched
    expect(page.locator("[data-trail]")).to_have_attribute("data-verified", "ok")


def test_the_fragment_works_where_htmx_embeds_it(page: Page) -> None:
    sign_in(page, "reviewer", "/workspace?lang=en")
    ids = [resource_id(page, SOCIAL_INSURANCE), resource_id(page, "养老机构名录")]
    # What a resource, request or grant page does: an hx-get on load, twice on one page.
    page.evaluate(
        """ids => ids.forEach(id => {
             const div = document.createElement('div');
             div.className = 'embedded';
             div.setAttribute('hx-get', '/workspace/trail/' + id);
             div.setAttribute('hx-trigger', 'load');
             document.querySelector('#main').appendChild(div);
             htmx.process(div);
           })""",
        ids,
    )
    sections = page.locator(".embedded [data-trail]")
    expect(sections).to_have_count(2)
    second = sections.nth(1)
    second.locator("[data-trail-verify]").click()
    expect(second).to_have_attribute("data-verified", "ok")
    expect(second.locator("[data-trail-result]")).to_contain_text("entries verified")
    expect(sections.nth(0)).not_to_have_attribute("data-verified", re.compile("."))
    assert page.evaluate("document.querySelectorAll('script[src=\"/static/verify.js\"]').length")
    sections.nth(0).locator("[data-trail-verify]").click()
    expect(sections.nth(0)).to_have_attribute("data-verified", "ok")


def _tree(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    nodes = {(0, i): h for i, h in enumerate(leaves)}
    level = 0
    while any(k[0] == level for k in nodes):
        row = sorted(i for lv, i in nodes if lv == level)
        for i in row[::2]:
            if (level, i + 1) in nodes:
                nodes[(level + 1, i // 2)] = merkle.node_hash(
                    nodes[(level, i)], nodes[(level, i + 1)]
                )
        level += 1
    return nodes


def _reader(nodes: dict[tuple[int, int], bytes]) -> merkle.Fetch:
    return lambda ids: {i: nodes[i] for i in ids}


def test_the_browser_fold_agrees_with_the_python_verifier(page: Page) -> None:
    open_trail(page)
    page.wait_for_function("() => !!window.yaosuTrailVerify")
    rng = random.Random(9162)
    cases: list[dict[str, Any]] = []
    for size in range(1, 34):
        leaves = [merkle.leaf_hash(rng.randbytes(12)) for _ in range(size)]
        nodes = _tree(leaves)
        root = merkle.root_of(leaves).hex()
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, _reader(nodes))
            cases.append(
                {
                    "leaf": leaves[index].hex(),
                    "index": index,
                    "size": size,
                    "proof": [p.hex() for p in proof],
                    "root": root,
                }
            )
    results = page.evaluate(
        """async cases => {
             const bytes = h => Uint8Array.from(h.match(/../g) || [], b => parseInt(b, 16));
             const hex = a => a && Array.from(a, b => b.toString(16).padStart(2, '0')).join('');
             const fold = (c, proof) => window.yaosuTrailVerify
               .rootFromProof(bytes(c.leaf), c.index, c.size, proof).then(hex);
             const out = [];
             for (const c of cases) {
               const proof = c.proof.map(bytes);
               const good = await fold(c, proof);
               const short = proof.length ? await fold(c, proof.slice(1)) : null;
               const long = await fold(c, proof.concat([bytes(c.root)]));
               out.push([good === c.root, short, long]);
             }
             return out;
           }""",
        cases,
    )
    assert len(results) == len(cases) == 33 * 34 // 2
    assert all(ok for ok, _, _ in results)
    # A proof one hash short or long never folds to a root (it is rejected, not misread).
    assert all(short is None and long is None for _, short, long in results)
