"""RFC 9162 §2.1 Merkle tree hashing, compact ranges, proofs and proof verification.

A perfect subtree is addressed as ``(level, index)``: it covers the leaves
``[index * 2**level, (index + 1) * 2**level)``, and level 0 holds leaf hashes.
Only perfect subtrees are ever stored; the hash of an incomplete subtree on the
right edge of a tree is recomputed by folding its perfect decomposition.

Proof generation reads stored nodes through a ``fetch`` callback that receives
every needed node id in one batch, so a database-backed caller issues a single
query per proof. The proofs produced are exactly the RFC 9162 §2.1.3 inclusion
and §2.1.4 consistency proofs; verification follows §2.1.3.2 and §2.1.4.2.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "Fetch",
    "MissingNodeError",
    "NodeId",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_fetch",
    "root_from_inclusion_proof",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]
"""A perfect subtree ``(level, index)``."""

Fetch = Callable[[Sequence[NodeId]], Mapping[NodeId, bytes]]
"""Batched node reader: given node ids, returns their stored hashes."""


class ProofError(ValueError):
    """A Merkle proof (or its parameters) failed verification."""


class MissingNodeError(LookupError):
    """The fetch callback did not return a node that proof generation needs."""


def leaf_hash(entry: bytes) -> bytes:
    """Return the RFC 9162 leaf hash ``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """Reference Merkle Tree Hash straight from the recursive RFC 9162 definition.

    Slow (it rehashes everything); meant for tests and cross-checks.
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split_point(n)
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


# --------------------------------------------------------------------------
# Internal helpers
# --------------------------------------------------------------------------


def _check_int(name: str, value: int, *, exc: type[ValueError] = ValueError) -> None:
    # bool is an int subclass; accepting True as a size would hide caller bugs.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise exc(f"{name} must be non-negative, got {value}")


def _split_point(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (requires n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_ids(begin: int, end: int) -> list[NodeId]:
    """Perfect subtrees covering ``[begin, end)``, left to right (largest first).

    ``begin`` must be aligned so that every piece is a real perfect subtree,
    which holds for every range produced by the RFC 9162 recursive split.
    """
    ids: list[NodeId] = []
    pos = begin
    width = end - begin
    for level in range(width.bit_length() - 1, -1, -1):
        if (width >> level) & 1:
            if pos % (1 << level):
                raise AssertionError(f"range [{begin}, {end}) is not subtree-aligned")
            ids.append((level, pos >> level))
            pos += 1 << level
    return ids


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Combine the perfect decomposition of a range into its Merkle hash (right to left)."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def _fetch_nodes(fetch: Fetch, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
    """Call ``fetch`` once for ``ids`` (not at all if empty) and validate the answer."""
    if not ids:
        return {}
    got = fetch(tuple(ids))
    nodes: dict[NodeId, bytes] = {}
    for node_id in ids:
        h = got.get(node_id)
        if h is None:
            level, index = node_id
            raise MissingNodeError(f"fetch did not return node (level={level}, index={index})")
        if len(h) != HASH_SIZE:
            raise MissingNodeError(
                f"fetch returned {len(h)} bytes for node {node_id}, expected {HASH_SIZE}"
            )
        nodes[node_id] = bytes(h)
    return nodes


def _hashes_for_ranges(ranges: Sequence[tuple[int, int]], fetch: Fetch) -> list[bytes]:
    """Merkle hash of each range, reading all needed perfect subtrees in one fetch."""
    per_range = [_range_ids(begin, end) for begin, end in ranges]
    wanted = list(dict.fromkeys(node_id for ids in per_range for node_id in ids))
    nodes = _fetch_nodes(fetch, wanted)
    return [_fold([nodes[node_id] for node_id in ids]) for ids in per_range]


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose hashes form PATH(index, D[0:size]), bottom-up (RFC 9162 §2.1.3.1)."""
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split_point(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    # The recursion emits the deepest sibling first; we walked top-down.
    ranges.reverse()
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose hashes form PROOF(old, D[0:new]) (RFC 9162 §2.1.4.1 SUBPROOF)."""
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, new_size
    complete = True  # the "b" flag: is the current subtree part of the old tree's view
    # Invariant: lo < old_size <= hi.
    while old_size != hi:
        k = _split_point(hi - lo)
        if old_size <= lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            complete = False
    if not complete:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def _inclusion_proof_length(index: int, size: int) -> int:
    # Nodes below the point where the paths to `index` and `size - 1` diverge
    # ("inner"), plus one left sibling per set bit above it ("border").
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner + border


def _consistency_proof_length(old_size: int, new_size: int) -> int:
    inner = ((old_size - 1) ^ (new_size - 1)).bit_length()
    border = ((old_size - 1) >> inner).bit_count()
    shift = (old_size & -old_size).bit_length() - 1  # trailing zeros of old_size
    # For a power-of-two old tree its root is known to the verifier and omitted.
    seed = 0 if old_size == 1 << shift else 1
    return seed + (inner - shift) + border


def _check_proof_elements(kind: str, proof: Sequence[bytes]) -> None:
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise ProofError(f"{kind} proof element {i} is {len(h)} bytes, expected {HASH_SIZE}")


def _same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def _short(h: bytes) -> str:
    return h.hex() if h else "<empty>"


# --------------------------------------------------------------------------
# Compact range (the append frontier)
# --------------------------------------------------------------------------


class CompactRange:
    """The right frontier of a tree: one hash per perfect subtree of its binary decomposition.

    For a tree of size ``n`` this holds ``popcount(n)`` hashes, ordered left to
    right (largest subtree first). It is enough to append leaves and to compute
    the root, so a log only has to load it once and can then grow in memory.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        _check_int("size", size)
        if len(hashes) != size.bit_count():
            raise ValueError(
                f"a compact range of size {size} needs {size.bit_count()} hashes, got {len(hashes)}"
            )
        for i, h in enumerate(hashes):
            if len(h) != HASH_SIZE:
                raise ValueError(f"hash {i} is {len(h)} bytes, expected {HASH_SIZE}")
        self._size = size
        self._hashes = [bytes(h) for h in hashes]

    @staticmethod
    def ids_for_size(size: int) -> list[NodeId]:
        """Node ids of the frontier of a tree of ``size`` leaves, left to right."""
        _check_int("size", size)
        return _range_ids(0, size)

    @classmethod
    def from_fetch(cls, size: int, fetch: Fetch) -> CompactRange:
        """Load the frontier of a stored tree with one batched fetch."""
        ids = cls.ids_for_size(size)
        nodes = _fetch_nodes(fetch, ids)
        return cls(size, [nodes[node_id] for node_id in ids])

    @property
    def size(self) -> int:
        """Number of leaves in the tree."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """Frontier hashes, aligned with :meth:`ids_for_size` of :attr:`size`."""
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Append one leaf hash; return every newly completed perfect subtree.

        The result always starts with the leaf itself ``(0, old_size, leaf)`` and
        continues with each parent that the append completes, bottom-up, so the
        caller can persist exactly these nodes.
        """
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash is {len(leaf)} bytes, expected {HASH_SIZE}")
        index = self._size
        acc = bytes(leaf)
        created = [(0, index, acc)]
        level = 0
        # Each trailing one-bit of the old size is a same-height left sibling to merge with.
        while (index >> level) & 1:
            acc = node_hash(self._hashes.pop(), acc)
            level += 1
            created.append((level, index >> level, acc))
        self._hashes.append(acc)
        self._size += 1
        return created

    def root(self) -> bytes:
        """The Merkle Tree Hash of the tree (``EMPTY_ROOT`` when empty)."""
        return _fold(self._hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


# --------------------------------------------------------------------------
# Proof generation
# --------------------------------------------------------------------------


def root_from_fetch(size: int, fetch: Fetch) -> bytes:
    """Root hash of the stored tree of ``size`` leaves (one batched fetch)."""
    _check_int("size", size)
    ids = _range_ids(0, size)
    nodes = _fetch_nodes(fetch, ids)
    return _fold([nodes[node_id] for node_id in ids])


def inclusion_proof(index: int, size: int, fetch: Fetch) -> list[bytes]:
    """RFC 9162 inclusion proof for leaf ``index`` in the tree of ``size`` leaves.

    ``fetch`` is called at most once (not at all for a one-leaf tree) with the
    perfect-subtree ids the proof needs.
    """
    _check_int("index", index)
    _check_int("size", size)
    if index >= size:
        raise ValueError(f"leaf index {index} is out of range for tree size {size}")
    return _hashes_for_ranges(_inclusion_ranges(index, size), fetch)


def consistency_proof(old_size: int, new_size: int, fetch: Fetch) -> list[bytes]:
    """RFC 9162 consistency proof from the tree of ``old_size`` to that of ``new_size``.

    Equal sizes give an empty proof. ``old_size`` must be at least 1: a proof
    from the empty tree proves nothing, and :func:`verify_consistency` rejects it.
    ``fetch`` is called at most once.
    """
    _check_int("old_size", old_size)
    _check_int("new_size", new_size)
    if old_size > new_size:
        raise ValueError(f"old tree size {old_size} is larger than new tree size {new_size}")
    if old_size == 0:
        raise ValueError("a consistency proof from the empty tree (old_size 0) is meaningless")
    if old_size == new_size:
        return []
    return _hashes_for_ranges(_consistency_ranges(old_size, new_size), fetch)


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """Recompute the tree root implied by an inclusion proof (RFC 9162 §2.1.3.2).

    Raises :class:`ProofError` if the parameters are out of range or the proof
    has the wrong shape; the caller compares the result with a trusted root.
    """
    _check_int("index", index, exc=ProofError)
    _check_int("size", size, exc=ProofError)
    if index >= size:
        raise ProofError(f"leaf index {index} is out of range for tree size {size}")
    if len(leaf) != HASH_SIZE:
        raise ProofError(f"leaf hash is {len(leaf)} bytes, expected {HASH_SIZE}")
    want = _inclusion_proof_length(index, size)
    if len(proof) != want:
        raise ProofError(
            f"wrong inclusion proof length: got {len(proof)} hashes, expected {want} "
            f"for leaf index {index} in tree size {size}"
        )
    _check_proof_elements("inclusion", proof)

    fn, sn = index, size - 1
    r = bytes(leaf)
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # Skip levels where this node is the last one and has no right sibling.
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` (a leaf hash) is at ``index`` in the tree of ``size`` with ``root``.

    Raises :class:`ProofError` on any failure.
    """
    got = root_from_inclusion_proof(leaf, index, size, proof)
    if not _same(got, root):
        raise ProofError(
            f"inclusion proof for leaf index {index} in tree size {size} leads to root "
            f"{got.hex()}, expected {_short(root)}"
        )


def verify_consistency(
    old_size: int,
    new_size: int,
    proof: Sequence[bytes],
    old_root: bytes,
    new_root: bytes,
) -> None:
    """Check that the tree of ``new_size``/``new_root`` extends ``old_size``/``old_root``.

    Implements RFC 9162 §2.1.4.2 with the edge cases of transparency-dev/merkle:
    equal sizes need an empty proof and equal roots, and a proof from the empty
    tree is rejected as meaningless. Raises :class:`ProofError` on any failure.
    """
    _check_int("old_size", old_size, exc=ProofError)
    _check_int("new_size", new_size, exc=ProofError)
    if old_size > new_size:
        raise ProofError(f"old tree size {old_size} is larger than new tree size {new_size}")
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree (old size 0) is meaningless")
    if old_size == new_size:
        if proof:
            raise ProofError(
                f"tree sizes are equal ({old_size}) but the proof is not empty "
                f"({len(proof)} hashes)"
            )
        if not _same(old_root, new_root):
            raise ProofError(
                f"tree sizes are equal ({old_size}) but roots differ: "
                f"{_short(old_root)} != {_short(new_root)}"
            )
        return
    if not proof:
        raise ProofError(f"empty consistency proof from tree size {old_size} to {new_size}")
    want = _consistency_proof_length(old_size, new_size)
    if len(proof) != want:
        raise ProofError(
            f"wrong consistency proof length: got {len(proof)} hashes, expected {want} "
            f"from tree size {old_size} to {new_size}"
        )
    _check_proof_elements("consistency", proof)
    for label, root in (("old", old_root), ("new", new_root)):
        if len(root) != HASH_SIZE:
            raise ProofError(f"{label} root is {len(root)} bytes, expected {HASH_SIZE}")

    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is a perfect subtree; its root is the proof's implicit first node.
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the root")
    if not _same(fr, old_root):
        raise ProofError(
            f"consistency proof does not match the old root for tree size {old_size}: "
            f"computed {fr.hex()}, expected {old_root.hex()}"
        )
    if not _same(sr, new_root):
        raise ProofError(
            f"consistency proof does not match the new root for tree size {new_size}: "
            f"computed {sr.hex()}, expected {new_root.hex()}"
        )
