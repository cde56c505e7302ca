"""The ledger service: append events inside the caller's transaction, checkpoint, prove, verify."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from yaosu.config import get_node_key, get_settings
from yaosu.kit.crypto import ed25519_from_private, new_ed25519, private_bytes, seal, unseal
from yaosu.kit.errors import Invalid, NotFound
from yaosu.kit.timeutil import utcnow
from yaosu.ledger import merkle, note
from yaosu.ledger import repository as repo
from yaosu.ledger.events import Actor, Event
from yaosu.models.ledger import LedgerCheckpoint, LedgerEntry, NodeKey, node_key

EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
KEY_PURPOSE = "ledger"


@dataclass
class VerifyReport:
    ok: bool
    size: int
    checkpoints: int
    first_bad_index: int | None = None
    problems: list[str] = field(default_factory=list)


class LedgerService:
    def origin(self) -> str:
        return f"{get_settings().node_name}/ledger"

    # --- append ----------------------------------------------------------------------------
    def record(
        self,
        session: Session,
        type: str,
        actor: Actor,
        subjects: Iterable[str],
        payload: dict[str, object] | None = None,
    ) -> int:
        """Append one event in the caller's transaction; returns its index."""
        return self.record_many(session, [Event(type, actor, tuple(subjects), payload or {})])[0]

    def record_many(self, session: Session, events: Sequence[Event]) -> list[int]:
        if not events:
            return []
        for ev in events:
            if not EVENT_TYPE.match(ev.type):
                raise ValueError(f"event type {ev.type!r} is not 'domain.verb_past'")
        start = repo.reserve(session, len(events))
        frontier = merkle.CompactRange(start, self._frontier(session, start))
        now = utcnow()
        entries: list[dict[str, object]] = []
        nodes: list[dict[str, object]] = []
        subjects: list[dict[str, object]] = []
        for offset, ev in enumerate(events):
            idx = start + offset
            data = ev.entry_bytes(now)
            leaf = merkle.leaf_hash(data)
            entries.append(
                {"idx": idx, "entry": data, "leaf_hash": leaf, "type": ev.type, "time": now}
            )
            for level, nidx, h in frontier.append(leaf):
                if level > 0:
                    nodes.append({"id": node_key(level, nidx), "hash": h})
            subjects.extend({"subject_id": s, "idx": idx} for s in dict.fromkeys(ev.subjects))
        repo.insert_batch(session, entries, nodes, subjects)
        return [start + i for i in range(len(events))]

    def _frontier(self, session: Session, size: int) -> list[bytes]:
        """Hashes of the perfect subtrees covering [0, size), left to right."""
        ids = merkle.CompactRange.ids_for_size(size)
        found = repo.fetch_nodes(session, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise RuntimeError(
                f"ledger nodes missing for size {size}: {missing}; run `yaosu ledger verify`"
            )
        return [found[i] for i in ids]

    # --- reads -----------------------------------------------------------------------------
    def size(self, session: Session) -> int:
        return repo.size(session)

    def root(self, session: Session, size: int) -> bytes:
        return merkle.root_from_fetch(size, lambda ids: repo.fetch_nodes(session, ids))

    def entry(self, session: Session, index: int) -> LedgerEntry:
        found = repo.entry(session, index)
        if found is None:
            raise NotFound(
                f"Ledger entry {index} does not exist.",
                f"账本条目 {index} 不存在。",
                code="ledger_entry_not_found",
            )
        return found

    def subjects_since(self, session: Session, start: int, type_prefix: str) -> set[str]:
        """Ids named by entries at or after ``start`` whose type starts with ``type_prefix``.

        Appends hold the head lock until commit, so indexes follow commit order: a reader that
        remembers the size it saw can later ask exactly what changed since (its own session's
        uncommitted entries included)."""
        return repo.subjects_since(session, start, type_prefix)

    def trail(
        self, session: Session, subject_id: str, limit: int, offset: int
    ) -> tuple[list[LedgerEntry], int]:
        return repo.entries_by_subject(session, subject_id, limit, offset)

    def recent_trail(
        self, session: Session, subject_id: str, limit: int, offset: int
    ) -> tuple[list[LedgerEntry], int]:
        """The entries naming a subject, newest first (the workspace's trail tab); readable by
        the same callers as :meth:`trail`."""
        return repo.entries_by_subject(session, subject_id, limit, offset, newest_first=True)

    def inclusion_proof(self, session: Session, index: int, size: int) -> list[bytes]:
        self._check_size(session, size)
        if not 0 <= index < size:
            raise Invalid(
                f"Index {index} is outside a tree of size {size}.",
                f"索引 {index} 超出大小为 {size} 的树。",
                code="ledger_bad_index",
            )
        return merkle.inclusion_proof(index, size, lambda ids: repo.fetch_nodes(session, ids))

    def consistency_proof(self, session: Session, old: int, new: int) -> list[bytes]:
        self._check_size(session, new)
        if not 1 <= old <= new:
            raise Invalid(
                f"Cannot prove consistency from size {old} to size {new}.",
                f"无法证明从大小 {old} 到 {new} 的一致性。",
                code="ledger_bad_range",
            )
        return merkle.consistency_proof(old, new, lambda ids: repo.fetch_nodes(session, ids))

    def _check_size(self, session: Session, size: int) -> None:
        current = repo.size(session)
        if size < 1 or size > current:
            raise Invalid(
                f"Tree size {size} is not between 1 and the log size {current}.",
                f"树大小 {size} 不在 1 到日志大小 {current} 之间。",
                code="ledger_bad_size",
            )

    # --- keys and checkpoints ----------------------------------------------------------------
    def _key(self, session: Session) -> tuple[str, Ed25519PrivateKey, bytes]:
        stored = repo.signing_key(session, KEY_PURPOSE)
        if stored is None:
            private, public = new_ed25519()
            stored = NodeKey(
                purpose=KEY_PURPOSE,
                name=self.origin(),
                public_key=public,
                sealed_private=seal(get_node_key(), private_bytes(private), b"node-key:ledger"),
            )
            repo.add_signing_key(session, stored)
        raw = unseal(get_node_key(), stored.sealed_private, b"node-key:ledger")
        return stored.name, ed25519_from_private(raw), bytes(stored.public_key)

    def verifier_key(self, session: Session) -> str:
        name, _, public = self._key(session)
        return note.verifier_key(name, public)

    def checkpoint(self, session: Session) -> LedgerCheckpoint:
        """Sign a checkpoint at the current size (reused when one exists at that size)."""
        size = repo.size(session)
        existing = repo.checkpoint_at(session, size)
        if existing is not None:
            return existing
        name, private, _ = self._key(session)
        root = self.root(session, size)
        body = note.format_checkpoint(self.origin(), size, root)
        return repo.add_checkpoint(
            session, size, root, note.sign_note(body, name, private), utcnow()
        )

    def latest_checkpoint(self, session: Session) -> LedgerCheckpoint:
        cp = repo.latest_checkpoint(session)
        if cp is None or cp.size < repo.size(session):
            cp = self.checkpoint(session)
        return cp

    # --- verification of the whole store -------------------------------------------------------
    def verify(
        self, session: Session, progress: Callable[[int, int], None] | None = None
    ) -> VerifyReport:
        """Recompute every leaf, node and checkpoint root from the stored entries."""
        size = repo.size(session)
        report = VerifyReport(ok=True, size=size, checkpoints=0)
        stored_cps = {cp.size: cp for cp in repo.checkpoints(session)}
        verifier = note.parse_verifier_key(self.verifier_key(session)) if stored_cps else None
        roots: dict[int, bytes] = {}
        if 0 in stored_cps:
            roots[0] = merkle.EMPTY_ROOT
        cr = merkle.CompactRange(0, [])
        expected = 0
        pending: list[tuple[int, int, bytes]] = []

        # Exact findings (a leaf or a missing entry) outrank an interior node, which outranks a
        # checkpoint that only bounds the damage to a range.
        found: dict[int, int] = {}

        def fail(idx: int, msg: str, rank: int = 0) -> None:
            report.ok = False
            report.problems.append(msg)
            found[rank] = min(idx, found.get(rank, idx))

        def flush_nodes() -> None:
            by_level: dict[int, list[tuple[int, bytes]]] = {}
            for level, nidx, h in pending:
                by_level.setdefault(level, []).append((nidx, h))
            for level, items in sorted(by_level.items()):
                stored = repo.nodes_in_range(session, level, items[0][0], items[-1][0])
                for nidx, h in items:
                    got = stored.get(nidx)
                    if got != h:
                        first_leaf = nidx << level
                        what = "missing" if got is None else "does not match the entries"
                        fail(
                            first_leaf,
                            f"node ({level},{nidx}) {what} (covers leaf {first_leaf})",
                            0 if level == 0 else 1,
                        )
            pending.clear()

        for idx, data, stored_leaf in repo.iter_entries(session):
            if idx != expected:
                fail(expected, f"entry {expected} is missing (next stored entry is {idx})")
                break
            leaf = merkle.leaf_hash(data)
            if leaf != stored_leaf:
                fail(idx, f"entry {idx} does not match its stored leaf hash")
            pending.extend(n for n in cr.append(leaf) if n[0] > 0)
            expected += 1
            if expected in stored_cps:
                roots[expected] = cr.root()
            if len(pending) >= 20000:
                flush_nodes()
            if progress is not None:
                progress(expected, size)
        flush_nodes()
        if report.ok and expected != size:
            fail(expected, f"the head says {size} entries but {expected} are stored")

        previous: LedgerCheckpoint | None = None
        for cp_size in sorted(stored_cps):
            cp = stored_cps[cp_size]
            report.checkpoints += 1
            try:
                assert verifier is not None
                body, _ = note.open_note(cp.note, [verifier])
                parsed = note.parse_checkpoint(body)
            except ValueError as exc:
                fail(
                    max(cp_size - 1, 0),
                    f"checkpoint {cp_size}: signature or format invalid ({exc})",
                    2,
                )
                continue
            if parsed.size != cp_size or parsed.root != bytes(cp.root):
                fail(
                    max(cp_size - 1, 0),
                    f"checkpoint {cp_size}: stored fields differ from its signed note",
                    2,
                )
            recomputed = roots.get(cp_size)
            if recomputed is not None and recomputed != parsed.root:
                lo = previous.size if previous else 0
                fail(
                    lo,
                    f"checkpoint {cp_size}: signed root does not match entries; "
                    f"the change lies in entries {lo}..{cp_size - 1}",
                    2,
                )
            if previous is not None and previous.size > 0 and recomputed is not None and report.ok:
                proof = self.consistency_proof(session, previous.size, cp_size)
                try:
                    merkle.verify_consistency(
                        previous.size, cp_size, proof, bytes(previous.root), parsed.root
                    )
                except ValueError as exc:
                    fail(
                        previous.size,
                        f"checkpoints {previous.size}→{cp_size} are not consistent ({exc})",
                        2,
                    )
            previous = cp
        if found:
            report.first_bad_index = found[min(found)]
        return report


ledger_service = LedgerService()
