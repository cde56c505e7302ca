"""Property and unit tests for the RFC 9162 Merkle core."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yaosu.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MissingNodeError,
    NodeId,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_fetch,
    root_from_inclusion_proof,
    root_of,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 300


class Tree:
    """A log built with CompactRange whose emitted nodes back a recording fetch."""

    def __init__(self, entries: Sequence[bytes]) -> None:
        self.leaves = [leaf_hash(e) for e in entries]
        self.store: dict[NodeId, bytes] = {}
        self.roots = [EMPTY_ROOT]  # roots[k] is the root of the first k leaves
        self.compact = CompactRange()
        for h in self.leaves:
            for level, index, node in self.compact.append(h):
                assert (level, index) not in self.store, "node emitted twice"
                self.store[(level, index)] = node
            self.roots.append(self.compact.root())
        self.calls: list[tuple[NodeId, ...]] = []

    @property
    def size(self) -> int:
        return len(self.leaves)

    def fetch(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        self.calls.append(tuple(ids))
        return {node_id: self.store[node_id] for node_id in ids}

    def check_fetches(self, size: int, proof_len: int) -> None:
        """One batched fetch (none for an empty proof), small, and inside the tree."""
        calls, self.calls = self.calls, []
        if proof_len == 0:
            assert calls == []
            return
        assert len(calls) == 1
        ids = calls[0]
        assert len(ids) == len(set(ids))
        assert len(ids) <= 2 * (size - 1).bit_length() + 2
        for level, index in ids:
            assert (index + 1) << level <= size, "fetched a node outside the tree"


def _entries(seed: bytes, n: int) -> list[bytes]:
    # Index prefix keeps leaves distinct, so moving a proof to another index must fail.
    return [i.to_bytes(4, "big") + seed for i in range(n)]


trees = st.builds(
    lambda seed, n: Tree(_entries(seed, n)),
    st.binary(max_size=16),
    st.integers(min_value=1, max_value=MAX_SIZE),
)


def _flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --------------------------------------------------------------------------
# Reference proofs straight from the recursive RFC 9162 definitions
# --------------------------------------------------------------------------


def _ref_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*_ref_path(m, leaves[:k]), root_of(leaves[k:])]
    return [*_ref_path(m - k, leaves[k:]), root_of(leaves[:k])]


def _ref_subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root_of(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*_ref_subproof(m, leaves[:k], complete), root_of(leaves[k:])]
    return [*_ref_subproof(m - k, leaves[k:], False), root_of(leaves[:k])]


@pytest.mark.parametrize("n", range(1, 34))
def test_proofs_match_rfc_definition_exhaustively(n: int) -> None:
    tree = Tree(_entries(b"exhaustive", n))
    for m in range(n):
        proof = inclusion_proof(m, n, tree.fetch)
        assert proof == _ref_path(m, tree.leaves)
        tree.check_fetches(n, len(proof))
        verify_inclusion(tree.leaves[m], m, n, proof, tree.roots[n])
    for m in range(1, n + 1):
        proof = consistency_proof(m, n, tree.fetch)
        assert proof == (_ref_subproof(m, tree.leaves, True) if m < n else [])
        tree.check_fetches(n, len(proof))
        verify_consistency(m, n, proof, tree.roots[m], tree.roots[n])


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=24), min_size=0, max_size=MAX_SIZE))
def test_compact_range_root_matches_reference(entries: list[bytes]) -> None:
    tree = Tree(entries)
    for k in range(tree.size + 1):
        assert tree.roots[k] == root_of(tree.leaves[:k])
    assert root_from_fetch(tree.size, tree.fetch) == tree.roots[-1]
    # Every stored node is the hash of exactly the leaves it covers.
    for (level, index), h in tree.store.items():
        assert h == root_of(tree.leaves[index << level : (index + 1) << level])


@settings(max_examples=60, deadline=None)
@given(trees, st.integers(min_value=0))
def test_compact_range_resumes_from_stored_frontier(tree: Tree, cut: int) -> None:
    cut %= tree.size + 1
    resumed = CompactRange.from_fetch(cut, tree.fetch)
    assert resumed.size == cut and resumed.root() == tree.roots[cut]
    assert [tree.store[i] for i in CompactRange.ids_for_size(cut)] == list(resumed.hashes)
    for i in range(cut, tree.size):
        for level, index, h in resumed.append(tree.leaves[i]):
            assert tree.store[(level, index)] == h
    assert resumed.root() == tree.roots[-1]


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_inclusion_proof_verifies_and_resists_tampering(tree: Tree, data: st.DataObject) -> None:
    n = tree.size
    size = data.draw(st.integers(min_value=1, max_value=n), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    proof = inclusion_proof(index, size, tree.fetch)
    tree.check_fetches(size, len(proof))
    leaf, root = tree.leaves[index], tree.roots[size]
    verify_inclusion(leaf, index, size, proof, root)
    assert root_from_inclusion_proof(leaf, index, size, proof) == root

    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    if proof:
        i = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="element")
        bad = [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, bad, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, _flip(root, bit))
    with pytest.raises(ProofError):
        verify_inclusion(_flip(leaf, bit), index, size, proof, root)

    other_index = data.draw(st.integers(min_value=0, max_value=2 * n), label="other index")
    if other_index != index:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, other_index, size, proof, root)
    # A different size is checked against that size's true root (roots pin sizes).
    other_size = data.draw(st.integers(min_value=0, max_value=n), label="other size")
    if other_size != size:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, other_size, proof, tree.roots[other_size])
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, [*proof, proof[0] if proof else leaf], root)
    if proof:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, proof[:-1], root)


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_consistency_proof_verifies_and_resists_tampering(tree: Tree, data: st.DataObject) -> None:
    n = tree.size
    new = data.draw(st.integers(min_value=1, max_value=n), label="new size")
    old = data.draw(st.integers(min_value=1, max_value=new), label="old size")
    proof = consistency_proof(old, new, tree.fetch)
    tree.check_fetches(new, len(proof))
    old_root, new_root = tree.roots[old], tree.roots[new]
    verify_consistency(old, new, proof, old_root, new_root)

    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
    if proof:
        i = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="element")
        bad = [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
        with pytest.raises(ProofError):
            verify_consistency(old, new, bad, old_root, new_root)
        with pytest.raises(ProofError):
            verify_consistency(old, new, proof[:-1], old_root, new_root)
    with pytest.raises(ProofError):
        verify_consistency(old, new, proof, _flip(old_root, bit), new_root)
    with pytest.raises(ProofError):
        verify_consistency(old, new, proof, old_root, _flip(new_root, bit))
    with pytest.raises(ProofError):
        verify_consistency(old, new, [*proof, new_root], old_root, new_root)

    other_old = data.draw(st.integers(min_value=0, max_value=n), label="other old")
    if other_old != old:
        with pytest.raises(ProofError):
            verify_consistency(other_old, new, proof, tree.roots[other_old], new_root)
    other_new = data.draw(st.integers(min_value=0, max_value=n), label="other new")
    if other_new != new:
        with pytest.raises(ProofError):
            verify_consistency(old, other_new, proof, old_root, tree.roots[other_new])


# --------------------------------------------------------------------------
# Unit tests: hashing, argument checking, fetch contract
# --------------------------------------------------------------------------


def test_hash_domain_separation() -> None:
    import hashlib

    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert root_of([]) == EMPTY_ROOT
    assert root_of([a]) == a
    assert root_of([a, b, a]) == node_hash(node_hash(a, b), a)


def test_ids_for_size() -> None:
    assert CompactRange.ids_for_size(0) == []
    assert CompactRange.ids_for_size(1) == [(0, 0)]
    assert CompactRange.ids_for_size(8) == [(3, 0)]
    assert CompactRange.ids_for_size(13) == [(3, 0), (2, 2), (0, 12)]
    assert CompactRange.ids_for_size(7) == [(2, 0), (1, 2), (0, 6)]


def test_append_reports_completed_subtrees() -> None:
    cr = CompactRange()
    hashes = [leaf_hash(bytes([i])) for i in range(8)]
    created = [[(lv, ix) for lv, ix, _ in cr.append(h)] for h in hashes]
    assert created == [
        [(0, 0)],
        [(0, 1), (1, 0)],
        [(0, 2)],
        [(0, 3), (1, 1), (2, 0)],
        [(0, 4)],
        [(0, 5), (1, 2)],
        [(0, 6)],
        [(0, 7), (1, 3), (2, 1), (3, 0)],
    ]
    assert cr.size == 8 and len(cr.hashes) == 1
    assert CompactRange().root() == EMPTY_ROOT


def test_compact_range_rejects_bad_state() -> None:
    h = leaf_hash(b"x")
    with pytest.raises(ValueError, match="needs 2 hashes"):
        CompactRange(3, [h])
    with pytest.raises(ValueError, match="32"):
        CompactRange(1, [b"short"])
    with pytest.raises(ValueError, match="non-negative"):
        CompactRange(-1, [])
    with pytest.raises(ValueError, match="32"):
        CompactRange().append(b"not a hash")


def test_generation_argument_errors() -> None:
    tree = Tree(_entries(b"args", 5))
    with pytest.raises(ValueError, match="out of range"):
        inclusion_proof(5, 5, tree.fetch)
    with pytest.raises(ValueError, match="out of range"):
        inclusion_proof(0, 0, tree.fetch)
    with pytest.raises(ValueError, match="non-negative"):
        inclusion_proof(-1, 5, tree.fetch)
    with pytest.raises(ValueError, match="larger than"):
        consistency_proof(4, 3, tree.fetch)
    with pytest.raises(ValueError, match="empty tree"):
        consistency_proof(0, 3, tree.fetch)
    with pytest.raises(TypeError):
        inclusion_proof(True, 5, tree.fetch)
    assert consistency_proof(3, 3, tree.fetch) == []
    assert inclusion_proof(0, 1, tree.fetch) == []
    assert tree.calls == []
    assert root_from_fetch(0, tree.fetch) == EMPTY_ROOT


def test_missing_node_is_reported() -> None:
    tree = Tree(_entries(b"missing", 6))
    with pytest.raises(MissingNodeError, match="did not return node"):
        inclusion_proof(0, 6, lambda ids: {})
    with pytest.raises(MissingNodeError, match="bytes"):
        consistency_proof(3, 6, lambda ids: {i: b"x" for i in ids})
    # Nodes of a larger tree are never needed for a smaller one.
    with pytest.raises(KeyError):
        tree.fetch([(3, 0)])


def test_verification_messages() -> None:
    tree = Tree(_entries(b"msgs", 7))
    proof = inclusion_proof(2, 7, tree.fetch)
    leaf, root = tree.leaves[2], tree.roots[7]
    with pytest.raises(ProofError, match="out of range"):
        verify_inclusion(leaf, 7, 7, proof, root)
    with pytest.raises(ProofError, match="wrong inclusion proof length: got 4 hashes, expected 3"):
        verify_inclusion(leaf, 2, 7, [*proof, root], root)
    with pytest.raises(ProofError, match="leaf hash is 3 bytes"):
        verify_inclusion(b"abc", 2, 7, proof, root)
    with pytest.raises(ProofError, match="element 1 is 0 bytes"):
        verify_inclusion(leaf, 2, 7, [proof[0], b"", proof[2]], root)
    with pytest.raises(ProofError, match="leads to root"):
        verify_inclusion(leaf, 2, 7, proof, tree.roots[6])

    cproof = consistency_proof(3, 7, tree.fetch)
    with pytest.raises(ProofError, match="larger than"):
        verify_consistency(7, 3, cproof, tree.roots[7], tree.roots[3])
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 7, [], EMPTY_ROOT, tree.roots[7])
    with pytest.raises(ProofError, match=r"equal .* not empty"):
        verify_consistency(7, 7, cproof, tree.roots[7], tree.roots[7])
    with pytest.raises(ProofError, match="roots differ"):
        verify_consistency(7, 7, [], tree.roots[7], tree.roots[6])
    with pytest.raises(ProofError, match="empty consistency proof"):
        verify_consistency(3, 7, [], tree.roots[3], tree.roots[7])
    with pytest.raises(ProofError, match="wrong consistency proof length"):
        verify_consistency(3, 7, cproof[1:], tree.roots[3], tree.roots[7])
    with pytest.raises(ProofError, match="old root"):
        verify_consistency(3, 7, cproof, tree.roots[2], tree.roots[7])
    with pytest.raises(ProofError, match="new root"):
        verify_consistency(3, 7, cproof, tree.roots[3], tree.roots[6])
    verify_consistency(7, 7, [], tree.roots[7], tree.roots[7])
