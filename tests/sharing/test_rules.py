"""The sharing state machines and request routing, without a database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yaosu.kit.errors import Conflict, Invalid, Unauthenticated
from yaosu.sharing import rules, webhook


@pytest.mark.parametrize(
    ("share", "grade", "kind", "decision", "code"),
    [
        ("none", "general_1", "government", "refuse", "not_shared"),
        ("unconditional", "core", "government", "refuse", "core_data"),
        ("conditional", "important", "government", "refuse", "important_data_computation_only"),
        ("unconditional", "general_4", "government", "auto", ""),
        ("unconditional", "general_1", "institution", "review", ""),
        ("unconditional", None, "government", "review", ""),  # ungraded: a person decides
        ("conditional", "general_2", "government", "review", ""),
    ],
)
def test_route(share: str, grade: str | None, kind: str, decision: str, code: str) -> None:
    r = rules.route(
        share_attribute=share, legal_basis="《条例》第十条", grade=grade, consumer_kind=kind
    )
    assert (r.decision, r.code) == (decision, code)
    if decision == "refuse":
        assert r.message and r.message_zh
    if code == "not_shared":
        assert "《条例》第十条" in r.message_zh


def test_state_machines() -> None:
    rules.check_transition("provider_review", "authority_review")
    rules.check_transition("authority_review", "approved")
    for done in ("approved", "rejected", "withdrawn", "expired"):
        with pytest.raises(Conflict):
            rules.check_transition(done, "approved")
    with pytest.raises(Conflict):
        rules.check_transition("provider_review", "approved")  # no skipping the authority
    rules.check_transition("active", "suspended", machine="grant")
    rules.check_transition("suspended", "active", machine="grant")
    with pytest.raises(Conflict) as exc:
        rules.check_transition("revoked", "active", machine="grant")
    assert exc.value.code == "grant_state_conflict"


def test_vocabulary() -> None:
    rules.check_vocabulary("one_thing", "api")
    with pytest.raises(Invalid):
        rules.check_vocabulary("marketing", "api")
    with pytest.raises(Invalid):
        rules.check_vocabulary("one_thing", "fax")


@given(body=st.binary(max_size=2000), secret=st.binary(min_size=16, max_size=64))
def test_webhook_signatures_verify_and_forgeries_fail(body: bytes, secret: bytes) -> None:
    header = webhook.sign(secret, body, at=1_800_000_000)
    webhook.verify(secret, body, header, now=1_800_000_100)
    with pytest.raises(Unauthenticated):
        webhook.verify(secret, body + b"x", header, now=1_800_000_100)
    with pytest.raises(Unauthenticated):
        webhook.verify(secret[::-1] + b"!", body, header, now=1_800_000_100)
    with pytest.raises(Unauthenticated) as stale:
        webhook.verify(secret, body, header, now=1_800_001_000)
    assert stale.value.code == "stale_signature"


def test_malformed_signature_header() -> None:
    for header in ("", "t=abc,v1=00", "v1=00", "garbage"):
        with pytest.raises(Unauthenticated) as exc:
            webhook.verify(b"k" * 16, b"{}", header, now=0)
        assert exc.value.code == "bad_signature"
