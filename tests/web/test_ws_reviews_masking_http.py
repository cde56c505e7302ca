"""The per-field masking of the review form over HTTP, on both databases: what each field shows
(its class, its default rule), the choices offered by stage and legal basis, and the refusals —
a general field released without a reason, a sensitive one by the provider or without a law, a
rule that does not fit its column, forged choices — each leaving the request as it was."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.fixtures.catalog import create_resource
from tests.fixtures.classification import csv_bytes, people_rows
from tests.fixtures.identity import SYSTEM, create_org, create_user
from tests.fixtures.web import sign_in
from tests.web.test_ws_reviews_http import post, state, subject
from yaosu.catalog.service import dataset_service
from yaosu.catalog.tasks import run_in_session
from yaosu.policy.model import parse_policy
from yaosu.sharing import schemas as sharing_schemas
from yaosu.sharing.service import grant_service, request_service

LAW = "《中华人民共和国个人信息保护法》第十三条"
# The English message of each refusal (the form's alert carries the message, not the code).
MESSAGES = {
    "unmask_reason_required": "Give the reason to release field",
    "sensitive_unmask_authority_only": "only the data authority may lift its masking",
    "masking_does_not_fit": "A masking rule does not fit its column: mask does not apply",
    "invalid_masking_choice": "is not one the form offers",
    "masking_form_mismatch": "do not match the fields",
    "fields_not_requested": "not on offer: sjhm",
    "legal_basis_names_no_law": "this one names none",
}
FIELDS = ["sfzh", "xm", "zz", "je"]


def ask(resource_id: str, legal_basis: str) -> Any:
    return sharing_schemas.ShareRequestCreate(
        resource_id=resource_id,
        fields=FIELDS,
        purpose="government_service",
        purpose_text="窗口核验",
        legal_basis=legal_basis,
        term_days=365,
    )


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    bureau = create_org(session, "大数据局")
    gaj = create_org(session, "公安局")
    mzj = create_org(session, "民政局")
    create_user(session, bureau, "reviewer", "reviewer")
    create_user(session, gaj, "officer.g", "data_officer")
    create_user(session, mzj, "officer.m", "data_officer")
    res = create_resource(
        session, gaj, publish=True, share_attribute="conditional", share_conditions="仅限政务"
    )
    job = dataset_service.stage_upload(
        session,
        SYSTEM,
        res.id,
        "p.csv",
        lambda p: p.write_bytes(csv_bytes(people_rows(30, 3))),
        {},
    )
    assert run_in_session(session, job.id).status == "succeeded"
    session.commit()
    m = subject(session, "officer.m")
    at_provider = request_service.submit(session, m, ask(res.id, LAW))
    with_law = request_service.submit(session, m, ask(res.id, LAW))
    no_law = request_service.submit(session, m, ask(res.id, "依法履职需要"))
    g = subject(session, "officer.g")
    for req in (with_law, no_law):
        request_service.decide(session, g, req.id, sharing_schemas.Decision(approve=True))
    session.commit()
    return {"at_provider": at_provider.id, "with_law": with_law.id, "no_law": no_law.id}


def form(stage: str, choices: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """An approval as the form posts it: a choice and a reason for every field, in order."""
    choices = choices or {}
    return {
        "decision": "approve",
        "stage": stage,
        "mask_field": FIELDS,
        "mask_op": [choices.get(f, ("keep", ""))[0] for f in FIELDS],
        "unmask_reason": [choices.get(f, ("keep", ""))[1] for f in FIELDS],
    }


def row(page: str, rid: str, field: str) -> str:
    """The masking row of one field in one request's form."""
    card = page[page.index(f'id="rev-req-{rid}"') :]
    start = card.index(f'class="rev-mask-row" data-field="{field}"')
    return card[start : card.index("</tr>", start)]


def refused(
    client: Any, session: Session, rid: str, data: dict[str, Any], code: str, status: int
) -> Any:
    before = state(session, "request", rid)
    r = post(client, f"/workspace/reviews/requests/{rid}/decision", data)
    assert r.status_code == status, r.text
    assert MESSAGES[code] in html.unescape(r.text) and 'role="alert"' in r.text
    assert state(session, "request", rid) == before
    return r


def masked(session: Session, rid: str) -> tuple[dict[str, str], Any]:
    req = request_service.get(session, SYSTEM, rid)
    grant = grant_service.get(session, SYSTEM, req.grant_id or "")
    found = dict(parse_policy(grant.policy).terms.masked), grant.unmasked
    session.rollback()
    return found


def test_the_provider_form_shows_each_fields_class_and_masking(
    app: Any, world: dict[str, Any]
) -> None:
    page = sign_in(app, "officer.g").get("/workspace/reviews?lang=en").text
    rid = world["at_provider"]
    sfzh, xm, je = (row(page, rid, f) for f in ("sfzh", "xm", "je"))
    assert 'data-pi="sensitive"' in sfzh and 'data-op="mask"' in sfzh and "(default)" in sfzh
    assert 'value="unmask"' not in sfzh and "rev-mask-locked" in sfzh  # the provider cannot
    assert 'data-pi="general"' in xm and 'value="unmask"' in xm
    assert f'id="rev-unmask-{rid}-xm"' in xm
    assert 'data-pi="none"' in je and 'data-op=""' in je and 'value="unmask"' not in je
    zh = sign_in(app, "officer.g").get("/workspace/reviews?lang=zh").text
    assert "敏感个人信息" in row(zh, rid, "sfzh") and "（默认）" in row(zh, rid, "sfzh")


def test_the_provider_releases_a_general_field_only_with_a_reason(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    provider = sign_in(app, "officer.g")
    rid = world["at_provider"]
    for blank in ("", "   "):
        r = refused(
            provider,
            session,
            rid,
            form("provider", {"xm": ("unmask", blank)}),
            "unmask_reason_required",
            422,
        )
        assert "reason" in r.text
    # A choice the form does not offer the provider, posted anyway.
    refused(
        provider,
        session,
        rid,
        form("provider", {"sfzh": ("unmask", "核验")}),
        "sensitive_unmask_authority_only",
        403,
    )
    # A rule that does not fit its column: a mask on the amount (a float).
    refused(
        provider,
        session,
        rid,
        form("provider", {"je": ("mask", "")}),
        "masking_does_not_fit",
        422,
    )
    refused(
        provider,
        session,
        rid,
        form("provider", {"xm": ("hash", "")}),
        "invalid_masking_choice",
        422,
    )
    odd = {**form("provider"), "unmask_reason": ["", ""]}
    refused(provider, session, rid, odd, "masking_form_mismatch", 422)
    stranger = {**form("provider"), "mask_field": ["sfzh", "xm", "zz", "sjhm"]}
    refused(provider, session, rid, stranger, "fields_not_requested", 422)

    ok = post(
        provider,
        f"/workspace/reviews/requests/{rid}/decision",
        form("provider", {"xm": ("unmask", "窗口比对姓名"), "zz": ("suppress", "")}),
    )
    assert ok.status_code == 200 and 'data-outcome="authority_review"' in ok.text
    narrowed = state(session, "request", rid)["narrowed"]
    assert narrowed["unmasked"]["xm"]["reason"] == "窗口比对姓名"
    assert narrowed["masking"] == {"zz": {"op": "suppress"}}
    # The authority's page now shows the provider's decision on each field.
    page = sign_in(app, "reviewer").get("/workspace/reviews?tab=sharing&lang=en").text
    assert "窗口比对姓名" in row(page, rid, "xm") and 'data-op="suppress"' in row(page, rid, "zz")
    stale = post(provider, f"/workspace/reviews/requests/{rid}/decision", form("provider"))
    assert stale.status_code == 409 and "already decided" in stale.text


def test_the_authority_releases_a_sensitive_field_only_when_the_legal_basis_names_a_law(
    app: Any, world: dict[str, Any], session: Session
) -> None:
    reviewer = sign_in(app, "reviewer")
    page = reviewer.get("/workspace/reviews?tab=sharing&lang=en").text
    assert 'value="unmask"' in row(page, world["with_law"], "sfzh")
    assert 'value="unmask"' not in row(page, world["no_law"], "sfzh")
    card = page[page.index(f'id="rev-req-{world["no_law"]}"') :]
    assert "names no law" in card[: card.index("</article>")]
    assert (
        html.escape("《中华人民共和国个人信息保护法》", quote=True) in page
        or "《中华人民共和国个人信息保护法》" in page
    )

    refused(
        reviewer,
        session,
        world["no_law"],
        form("authority", {"sfzh": ("unmask", "核验身份")}),
        "legal_basis_names_no_law",
        422,
    )
    refused(
        reviewer,
        session,
        world["with_law"],
        form("authority", {"sfzh": ("unmask", " ")}),
        "unmask_reason_required",
        422,
    )
    ok = post(
        reviewer,
        f"/workspace/reviews/requests/{world['with_law']}/decision",
        form("authority", {"sfzh": ("unmask", "依法核验身份")}),
    )
    assert ok.status_code == 200 and 'data-outcome="approved"' in ok.text
    got, unmasked = masked(session, world["with_law"])
    assert set(got) == {"xm", "zz"}  # every other personal field stays masked
    assert unmasked["sfzh"]["law"] == "《中华人民共和国个人信息保护法》"
    assert unmasked["sfzh"]["reason"] == "依法核验身份"

    # Approving without touching the masking keeps every personal field masked.
    plain = post(
        reviewer, f"/workspace/reviews/requests/{world['no_law']}/decision", form("authority")
    )
    assert plain.status_code == 200
    got, unmasked = masked(session, world["no_law"])
    assert set(got) == {"sfzh", "xm", "zz"} and unmasked is None
    assert re.search(r'data-outcome="approved"', plain.text)
