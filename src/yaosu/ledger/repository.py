"""Every query of the ledger. Nothing here knows about domains."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from yaosu.models.ledger import (
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHead,
    LedgerNode,
    LedgerSubject,
    NodeKey,
    node_key,
)

NodeId = tuple[int, int]


def reserve(session: Session, count: int) -> int:
    """Lock the head row and reserve ``count`` indexes; returns the first one.

    The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite), so concurrent
    writers queue here until this transaction ends: no gaps, no duplicate indexes.
    """
    new_size = session.execute(
        update(LedgerHead)
        .where(LedgerHead.id == 1)
        .values(size=LedgerHead.size + count)
        .returning(LedgerHead.size)
    ).scalar_one()
    return int(new_size) - count


def size(session: Session) -> int:
    return int(session.execute(select(LedgerHead.size).where(LedgerHead.id == 1)).scalar_one())


def fetch_nodes(session: Session, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
    """Any set of perfect-subtree nodes in at most two primary-key lookups."""
    leaves = [idx for level, idx in ids if level == 0]
    keys = {node_key(level, idx): (level, idx) for level, idx in ids if level > 0}
    found: dict[NodeId, bytes] = {}
    if leaves:
        rows = session.execute(
            select(LedgerEntry.idx, LedgerEntry.leaf_hash).where(LedgerEntry.idx.in_(leaves))
        )
        found.update({(0, int(i)): bytes(h) for i, h in rows})
    if keys:
        stored = session.execute(
            select(LedgerNode.id, LedgerNode.hash).where(LedgerNode.id.in_(list(keys)))
        )
        found.update({keys[int(k)]: bytes(h) for k, h in stored})
    return found


def insert_batch(
    session: Session,
    entries: Sequence[Mapping[str, object]],
    nodes: Sequence[Mapping[str, object]],
    subjects: Sequence[Mapping[str, object]],
) -> None:
    # Core executemany on the tables: no ORM unit-of-work bookkeeping for append-only rows.
    tables: tuple[tuple[Table, Sequence[Mapping[str, object]]], ...] = (
        (cast(Table, LedgerEntry.__table__), entries),
        (cast(Table, LedgerNode.__table__), nodes),
        (cast(Table, LedgerSubject.__table__), subjects),
    )
    for table, rows in tables:
        if rows:
            session.execute(insert(table), list(rows))


def entry(session: Session, idx: int) -> LedgerEntry | None:
    return session.get(LedgerEntry, idx)


def entries_range(session: Session, start: int, stop: int) -> list[tuple[int, bytes]]:
    rows = session.execute(
        select(LedgerEntry.idx, LedgerEntry.entry)
        .where(LedgerEntry.idx >= start, LedgerEntry.idx < stop)
        .order_by(LedgerEntry.idx)
    )
    return [(int(i), bytes(e)) for i, e in rows]


def iter_entries(session: Session, batch: int = 5000) -> Iterator[tuple[int, bytes, bytes]]:
    """(index, entry bytes, stored leaf hash) in index order, read in batches."""
    last = -1
    while True:
        rows = session.execute(
            select(LedgerEntry.idx, LedgerEntry.entry, LedgerEntry.leaf_hash)
            .where(LedgerEntry.idx > last)
            .order_by(LedgerEntry.idx)
            .limit(batch)
        ).all()
        if not rows:
            return
        for i, e, h in rows:
            yield int(i), bytes(e), bytes(h)
        last = int(rows[-1][0])


def nodes_in_range(session: Session, level: int, lo: int, hi: int) -> dict[int, bytes]:
    rows = session.execute(
        select(LedgerNode.id, LedgerNode.hash).where(
            LedgerNode.id >= node_key(level, lo), LedgerNode.id <= node_key(level, hi)
        )
    )
    base = node_key(level, 0)
    return {int(k) - base: bytes(h) for k, h in rows}


def entries_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one())


def entries_by_subject(
    session: Session, subject_id: str, limit: int, offset: int, newest_first: bool = False
) -> tuple[list[LedgerEntry], int]:
    base = select(LedgerSubject.idx).where(LedgerSubject.subject_id == subject_id)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = session.execute(
        select(LedgerEntry)
        .where(LedgerEntry.idx.in_(base))
        .order_by(LedgerEntry.idx.desc() if newest_first else LedgerEntry.idx)
        .limit(limit)
        .offset(offset)
    ).scalars()
    return list(rows), int(total)


def subjects_since(session: Session, start: int, type_prefix: str) -> set[str]:
    rows = session.execute(
        select(LedgerSubject.subject_id)
        .join(LedgerEntry, LedgerEntry.idx == LedgerSubject.idx)
        .where(LedgerSubject.idx >= start, LedgerEntry.type.startswith(type_prefix))
        .distinct()
    ).scalars()
    return set(rows)


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    return session.execute(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)
    ).scalar_one_or_none()


def checkpoint_at(session: Session, size_: int) -> LedgerCheckpoint | None:
    return session.get(LedgerCheckpoint, size_)


def checkpoints(session: Session) -> list[LedgerCheckpoint]:
    return list(session.execute(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size)).scalars())


def add_checkpoint(
    session: Session, size_: int, root: bytes, note: str, at: datetime
) -> LedgerCheckpoint:
    cp = LedgerCheckpoint(size=size_, root=root, note=note, created_at=at)
    session.add(cp)
    session.flush()
    return cp


def signing_key(session: Session, purpose: str) -> NodeKey | None:
    return session.get(NodeKey, purpose)


def add_signing_key(session: Session, key: NodeKey) -> None:
    session.add(key)
    session.flush()
