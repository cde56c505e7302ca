"""The ledger on SQLite and PostgreSQL: appends in the caller's transaction, checkpoints, proofs,
tamper detection, and concurrent writers."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from yaosu.db import unit_of_work
from yaosu.ledger import merkle, note
from yaosu.ledger.events import Actor, Event
from yaosu.ledger.service import ledger_service
from yaosu.models.ledger import LedgerCheckpoint, LedgerEntry, LedgerNode, node_key

ACTOR = Actor(user="u1", org="o1", via="test")


def fill(session: Any, n: int, start: int = 0) -> list[int]:
    return ledger_service.record_many(
        session,
        [
            Event("test.thing_happened", ACTOR, (f"s{i % 7}",), {"i": i})
            for i in range(start, start + n)
        ],
    )


def test_entries_are_canonical_json_with_a_payload_digest_only(session: Any) -> None:
    idx = ledger_service.record(
        session, "test.thing_happened", ACTOR, ["r1"], {"name": "张三", "id": 1}
    )
    raw = bytes(ledger_service.entry(session, idx).entry)
    assert "张三".encode() not in raw  # personal data stays in the domain tables
    assert raw.startswith(b'{"actor":{"org":"o1","user":"u1","via":"test"},"payload_sha256":"')
    with pytest.raises(ValueError, match="verb_past"):
        ledger_service.record(session, "NotAType", ACTOR, [], {})


def test_stored_nodes_reproduce_the_reference_root_and_proofs_verify(session: Any) -> None:
    fill(session, 77)
    size = ledger_service.size(session)
    leaves = [
        merkle.leaf_hash(bytes(e))
        for e in session.execute(select(LedgerEntry.entry).order_by(LedgerEntry.idx)).scalars()
    ]
    assert len(leaves) == size
    root = ledger_service.root(session, size)
    assert root == merkle.root_of(leaves)
    for index in (0, 1, 31, size - 1):
        proof = ledger_service.inclusion_proof(session, index, size)
        merkle.verify_inclusion(leaves[index], index, size, proof, root)
    for old in (1, 2, 32, size - 1, size):
        proof = ledger_service.consistency_proof(session, old, size)
        merkle.verify_consistency(old, size, proof, merkle.root_of(leaves[:old]), root)


def test_checkpoint_is_a_signed_note_that_opens_with_the_published_key(session: Any) -> None:
    fill(session, 5)
    cp = ledger_service.checkpoint(session)
    verifier = note.parse_verifier_key(ledger_service.verifier_key(session))
    body, signers = note.open_note(cp.note, [verifier])
    parsed = note.parse_checkpoint(body)
    assert signers == ["test.yaosu.localhost/ledger"]
    assert parsed.origin == "test.yaosu.localhost/ledger"
    assert parsed.size == ledger_service.size(session) and parsed.root == bytes(cp.root)
    assert ledger_service.checkpoint(session).note == cp.note  # same size: same checkpoint


def test_rolled_back_state_change_leaves_no_entry(fresh_engine: Any) -> None:
    with unit_of_work(fresh_engine) as s:
        fill(s, 3)
    with pytest.raises(RuntimeError), unit_of_work(fresh_engine) as s:
        fill(s, 4)
        raise RuntimeError("the state change failed")
    with unit_of_work(fresh_engine, write=False) as s:
        assert ledger_service.size(s) == 3
        assert s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == 3
        assert ledger_service.verify(s).ok


def _tampered(session: Any) -> Any:
    fill(session, 40)
    ledger_service.checkpoint(session)
    fill(session, 10, start=40)
    ledger_service.checkpoint(session)
    assert ledger_service.verify(session).ok
    return session


def test_verify_locates_an_altered_entry(session: Any) -> None:
    _tampered(session)
    entry = bytes(ledger_service.entry(session, 17).entry).replace(b'"s3"', b'"s4"')
    session.execute(update(LedgerEntry).where(LedgerEntry.idx == 17).values(entry=entry))
    report = ledger_service.verify(session)
    assert not report.ok and report.first_bad_index == 17


def test_verify_locates_a_deleted_entry(session: Any) -> None:
    _tampered(session)
    session.execute(delete(LedgerEntry).where(LedgerEntry.idx == 23))
    report = ledger_service.verify(session)
    assert not report.ok and report.first_bad_index == 23
    assert "entry 23 is missing" in report.problems[0]


def test_verify_locates_reordered_entries(session: Any) -> None:
    _tampered(session)
    a, b = (
        bytes(ledger_service.entry(session, 5).entry),
        bytes(ledger_service.entry(session, 9).entry),
    )
    session.execute(update(LedgerEntry).where(LedgerEntry.idx == 5).values(entry=b"x"))
    session.execute(update(LedgerEntry).where(LedgerEntry.idx == 9).values(entry=a))
    session.execute(update(LedgerEntry).where(LedgerEntry.idx == 5).values(entry=b))
    report = ledger_service.verify(session)
    assert not report.ok and report.first_bad_index == 5


def test_verify_catches_a_rewritten_history_against_signed_checkpoints(session: Any) -> None:
    """An attacker who rewrites an entry and recomputes every stored hash still cannot match the
    signed checkpoints: verification names the range between checkpoints."""
    _tampered(session)
    forged = bytes(ledger_service.entry(session, 44).entry).replace(b'"test.', b'"fake.')
    session.execute(update(LedgerEntry).where(LedgerEntry.idx == 44).values(entry=forged))
    leaves = [
        merkle.leaf_hash(bytes(e))
        for e in session.execute(select(LedgerEntry.entry).order_by(LedgerEntry.idx)).scalars()
    ]
    cr = merkle.CompactRange()
    session.execute(update(LedgerEntry).where(LedgerEntry.idx == 44).values(leaf_hash=leaves[44]))
    for leaf in leaves:
        for level, idx, h in cr.append(leaf):
            if level:
                session.execute(
                    update(LedgerNode).where(LedgerNode.id == node_key(level, idx)).values(hash=h)
                )
    report = ledger_service.verify(session)
    assert not report.ok and report.first_bad_index == 40
    assert "entries 40..49" in " ".join(report.problems)


def test_verify_catches_a_forged_checkpoint(session: Any) -> None:
    _tampered(session)
    cp = session.execute(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size)).scalars().first()
    lines = cp.note.split("\n")
    lines[1] = str(int(lines[1]) - 1)
    session.execute(
        update(LedgerCheckpoint)
        .where(LedgerCheckpoint.size == cp.size)
        .values(note="\n".join(lines))
    )
    report = ledger_service.verify(session)
    assert not report.ok and "signature" in report.problems[0]


def test_proof_arguments_outside_the_log_are_refused(session: Any) -> None:
    fill(session, 3)
    size = ledger_service.size(session)
    from yaosu.kit.errors import Invalid

    with pytest.raises(Invalid, match="not between 1"):
        ledger_service.inclusion_proof(session, 0, size + 1)
    with pytest.raises(Invalid, match="outside"):
        ledger_service.inclusion_proof(session, size, size)
    with pytest.raises(Invalid, match="consistency"):
        ledger_service.consistency_proof(session, 0, size)


def test_concurrent_writers_get_no_gaps_and_no_duplicates(fresh_engine: Any) -> None:
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for i in range(15):
                with unit_of_work(fresh_engine) as s:
                    ledger_service.record(s, "test.thing_happened", ACTOR, [f"w{w}"], {"i": i})
                    if i % 5 == 0:
                        fill(s, 3)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with unit_of_work(fresh_engine, write=False) as s:
        expected = 6 * (15 + 3 * 3)
        assert ledger_service.size(s) == expected
        idx = list(s.execute(select(LedgerEntry.idx).order_by(LedgerEntry.idx)).scalars())
        assert idx == list(range(expected))
        assert ledger_service.verify(s).ok
