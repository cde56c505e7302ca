"""Private set intersection (kit/psi.py): the protocol's answer equals the plaintext
intersection, count-only mode hides which, every bad point class is refused, sessions are
answered once, and two sessions blind the same key differently."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yaosu.kit import psi
from yaosu.kit.uscc import check_character

FIELD_P = 2**255 - 19
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _run(consumer: list[str], node: list[str], kind: str, mode: psi.Mode) -> psi.PsiResult:
    client = psi.PsiClient(consumer, kind)
    reply = psi.answer(client.request, node, kind, mode)
    return client.finish(reply, mode)


def _encode(n: int) -> bytes:
    return n.to_bytes(32, "little")


def _off_group_point() -> bytes:
    # Canonical (even, < p) field elements that decode to no group element: about half of them.
    for s in range(2, 10_000, 2):
        point = _encode(s)
        if psi.point_issue(point) == "off_group":
            return point
    raise AssertionError("no off-group encoding found")


def _valid_point() -> bytes:
    return psi.hash_keys(["13800138000"], "phone").points[0]


# --- the answer ----------------------------------------------------------------------------
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sets(st.integers(0, 400), max_size=60),
    st.sets(st.integers(0, 400), max_size=60),
)
def test_intersection_equals_plaintext(mine: set[int], theirs: set[int]) -> None:
    consumer = [f"key-{i}" for i in sorted(mine)]
    node = [f"key-{i}" for i in sorted(theirs)]
    result = _run(consumer, node, "text", "intersection")
    expected = {i for i, k in enumerate(consumer) if k in set(node)}
    assert result.matched is not None
    assert set(result.matched) == expected
    assert result.count == len(expected)


def test_matched_indices_point_into_the_consumers_list_with_duplicates_and_invalid_keys() -> None:
    consumer = ["138 0013 8000", "bad", "+86 139-0000-0001", None, "13800138000", "021-12345678"]
    node = ["13800138000", "02112345678", "13700000000"]
    result = _run(consumer, node, "phone", "intersection")
    assert result.matched == [0, 4, 5]
    assert set(result.invalid) == {1, 3}


def test_count_only_mode_gives_the_count_and_no_positions() -> None:
    consumer = [f"k{i}" for i in range(50)]
    node = [f"k{i}" for i in range(30, 90)]
    result = _run(consumer, node, "text", "count")
    assert result.count == 20
    assert result.matched is None


def test_count_only_reply_is_shuffled_so_positions_cannot_be_recovered() -> None:
    # In count mode the node shuffles the consumer's re-blinded points: unblinding them in
    # request order no longer lines up with the keys.
    consumer = [f"k{i}" for i in range(200)]
    client = psi.PsiClient(consumer, "text")
    reply = psi.answer(client.request, consumer[:100], "text", "count")
    ordered = psi.answer(client.request, consumer[:100], "text", "intersection")
    assert client.finish(reply, "count").count == 100
    assert reply.consumer != ordered.consumer
    unblinded = psi.blind(reply.consumer, psi.invert_scalar(client._secret), side="node")
    node = set(reply.node)
    positions = [i for i, p in enumerate(unblinded) if p in node]
    assert positions != list(range(100))  # (probability of a fixed shuffle: 1/200!)


def test_node_set_is_shuffled() -> None:
    node = [f"k{i}" for i in range(100)]
    client = psi.PsiClient(node, "text")
    reply = psi.answer(client.request, node, "text", "intersection")
    unblinded = psi.blind(reply.consumer, psi.invert_scalar(client._secret), side="node")
    assert set(unblinded) == set(reply.node)
    assert unblinded != reply.node


def test_sessions_blind_the_same_key_unlinkably() -> None:
    keys = ["91350100M000100Y43"]
    first = psi.PsiClient(keys, "uscc").request
    second = psi.PsiClient(keys, "uscc").request
    assert first != second  # the consumer's fresh scalar
    a = psi.answer(first, keys, "uscc", "intersection").node
    b = psi.answer(first, keys, "uscc", "intersection").node
    assert a != b  # the node's fresh scalar: nothing repeats across sessions


# --- bad points --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: b"\x01" * 31, "length"),
        (lambda: b"\x02" * 33, "length"),
        (lambda: "not bytes", "length"),
        (lambda: _encode(FIELD_P + 1), "non_canonical"),  # even, but ≥ p
        (lambda: _encode(2**255 + 2), "non_canonical"),  # top bit set
        (lambda: _encode(1), "non_canonical"),  # odd: "negative"
        (lambda: bytes(32), "identity"),
        (_off_group_point, "off_group"),
    ],
)
def test_each_bad_point_class_is_refused_by_the_node(make: object, reason: str) -> None:
    bad = make()  # type: ignore[operator]
    request = [_valid_point(), bad, _valid_point()]
    with pytest.raises(psi.PsiBadPoint) as caught:
        psi.answer(request, ["13800138000"], "phone", "intersection")
    assert caught.value.code == "psi_bad_point"
    assert caught.value.details == {"index": 1, "reason": reason}


@pytest.mark.parametrize("reason", ["identity", "off_group", "non_canonical", "length"])
def test_each_bad_point_class_is_refused_by_the_consumer(reason: str) -> None:
    bad = {
        "identity": bytes(32),
        "off_group": _off_group_point(),
        "non_canonical": _encode(FIELD_P + 1),
        "length": b"\x00" * 16,
    }[reason]
    client = psi.PsiClient(["a", "b"], "text")
    reply = psi.answer(client.request, ["a"], "text", "intersection")
    for forged in (
        psi.ServerReply(reply.consumer, [*reply.node, bad], 0),
        psi.ServerReply([reply.consumer[0], bad], reply.node, 0),
    ):
        with pytest.raises(psi.PsiBadPoint) as caught:
            client.finish(forged, "intersection")
        assert caught.value.details["reason"] == reason


def test_a_bad_point_deep_in_a_threaded_batch_is_named_by_its_position() -> None:
    points = psi.hash_keys([f"k{i}" for i in range(3_000)], "text", workers=3).points
    assert points == psi.hash_keys([f"k{i}" for i in range(3_000)], "text", workers=1).points
    points[2_500] = _off_group_point()
    with pytest.raises(psi.PsiBadPoint) as caught:
        psi.blind(points, psi.random_scalar(), workers=3)
    assert caught.value.details == {"index": 2_500, "reason": "off_group"}


def test_a_reply_with_the_wrong_number_of_points_is_refused() -> None:
    client = psi.PsiClient(["a", "b"], "text")
    reply = psi.answer(client.request, ["a"], "text", "intersection")
    with pytest.raises(psi.PsiBadReply):
        client.finish(psi.ServerReply(reply.consumer[:1], reply.node, 0), "intersection")


def test_random_bytes_are_refused_or_accepted_consistently_with_libsodium() -> None:
    for _ in range(200):
        point = secrets.token_bytes(32)
        issue = psi.point_issue(point)
        if issue is None:
            assert psi.blind([point], psi.random_scalar())
        else:
            with pytest.raises(psi.PsiBadPoint):
                psi.blind([point], psi.random_scalar())


# --- keys --------------------------------------------------------------------------------------
def _resident_id(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return (
        first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]
    )


def test_key_normalisation() -> None:
    rid = _resident_id("11010519491231002")
    assert psi.normalise("resident_id", rid.lower()) == rid
    assert psi.normalise("resident_id", "１１０１０５ 1949-1231-002" + rid[-1]) == rid  # full-width
    fifteen = "110105491231002"  # first-generation card, born 1949
    assert psi.normalise("resident_id", fifteen) == _resident_id("11010519491231002")
    usc = "91350100M000100Y4" + check_character("91350100M000100Y4")
    assert psi.normalise("uscc", usc.lower()[:9] + "-" + usc[9:]) == usc
    assert psi.normalise("phone", "+86 138-0013-8000") == "13800138000"
    assert psi.normalise("phone", "0086 13800138000") == "13800138000"
    assert psi.normalise("phone", "(021) 1234 5678") == "02112345678"
    assert psi.normalise("text", "  X ") == "X"


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("resident_id", "110105194912310021"),  # wrong check digit
        ("resident_id", "1101051949"),
        ("uscc", "91350100M000100Y40"),
        ("phone", "12345"),
        ("phone", "138001380001"),
        ("text", "   "),
    ],
)
def test_invalid_keys_are_skipped_or_refused_when_strict(kind: str, value: str) -> None:
    assert psi.hash_keys([value], kind).invalid.keys() == {0}
    with pytest.raises(psi.PsiBadKey) as caught:
        psi.hash_keys(["ok" if kind == "text" else value, value], kind, strict=True)
    assert caught.value.details["kind"] == kind


def test_same_key_written_differently_matches_and_kinds_are_separated() -> None:
    assert _run(["+86 13800138000"], ["138-0013-8000"], "phone", "count").count == 1
    a = psi.hash_keys(["13800138000"], "phone").points
    b = psi.hash_keys(["13800138000"], "text").points
    assert a != b  # domain separation by kind


def test_unknown_kind_and_mode_are_refused() -> None:
    with pytest.raises(psi.PsiBadKey):
        psi.hash_keys(["x"], "email")
    with pytest.raises(psi.PsiBadKey):
        psi.open_session("email", "count", now=NOW, ttl=timedelta(minutes=5))
    with pytest.raises(Exception) as caught:
        psi.answer([], [], "text", "everything")  # type: ignore[arg-type]
    assert getattr(caught.value, "code", None) == "invalid"


# --- sessions ----------------------------------------------------------------------------------
def test_session_is_answered_once() -> None:
    session = psi.open_session("phone", "intersection", now=NOW, ttl=timedelta(minutes=10))
    assert session.state == "open" and len(session.id) == 32
    psi.admit(session, nonce=session.nonce, now=NOW)
    done = psi.answered(session)
    with pytest.raises(psi.PsiSessionReplayed) as caught:
        psi.admit(done, nonce=session.nonce, now=NOW)
    assert caught.value.code == "psi_session_replayed"
    assert caught.value.status == 409


def test_closed_expired_and_foreign_sessions_are_refused() -> None:
    session = psi.open_session("phone", "count", now=NOW, ttl=timedelta(minutes=10))
    with pytest.raises(psi.PsiSessionClosed):
        psi.admit(psi.close(session), nonce=session.nonce, now=NOW)
    with pytest.raises(psi.PsiSessionClosed):
        psi.admit(session, nonce=session.nonce, now=NOW + timedelta(minutes=10))
    with pytest.raises(psi.PsiSessionMismatch):
        psi.admit(session, nonce=session.nonce + "x", now=NOW)
    other = psi.open_session("phone", "count", now=NOW, ttl=timedelta(minutes=10))
    assert (other.id, other.nonce) != (session.id, session.nonce)
    with pytest.raises(psi.PsiSessionMismatch):
        psi.admit(session, nonce=other.nonce, now=NOW)
